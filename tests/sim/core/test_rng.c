/* Random streams: independent per purpose, reproducible per seed. */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>

#include "sim/core/rng.h"

static void init(void)
{
    gsl_set_error_handler_off();
}

TestSuite(rng, .init = init);

Test(rng, same_seed_same_draws)
{
    struct rng_set *a = rng_set_new(42), *b = rng_set_new(42);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(rng_uniform(a, RNG_ARRIVALS), rng_uniform(b, RNG_ARRIVALS));
    rng_set_free(a);
    rng_set_free(b);
}

Test(rng, draws_in_one_stream_do_not_shift_another)
{
    struct rng_set *a = rng_set_new(7), *b = rng_set_new(7);
    for (int i = 0; i < 1000; i++)
        (void)rng_uniform(a, RNG_PROMPT_TOKENS); /* extra draws in one purpose only */
    for (int i = 0; i < 100; i++)
        cr_assert_eq(rng_exponential(a, RNG_ARRIVALS, 2.5), rng_exponential(b, RNG_ARRIVALS, 2.5));
    rng_set_free(a);
    rng_set_free(b);
}

Test(rng, stream_seeds_differ_and_are_never_zero)
{
    for (unsigned i = 0; i < RNG_N; i++) {
        cr_assert_neq(rng_stream_seed(0, i), 0);
        for (unsigned j = i + 1; j < RNG_N; j++)
            cr_assert_neq(rng_stream_seed(42, i), rng_stream_seed(42, j));
    }
    /* Pinned against an independent Python splitmix64 (upper 32 bits of the mix of
     * master + 0x9e3779b97f4a7c15 * (id + 1)): a change to seeding breaks determinism
     * across versions and must be noticed. */
    cr_assert_eq(rng_stream_seed(42, 0), 3184996902u);
    cr_assert_eq(rng_stream_seed(42, 5), 3729011194u);
    cr_assert_eq(rng_stream_seed(0, 0), 3793791033u);
}
