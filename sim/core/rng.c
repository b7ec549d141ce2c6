/* rng.c: per-purpose GSL random streams seeded by splitmix64(master, stream id). */
#include "sim/core/rng.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>

struct rng_set {
    gsl_rng *g[RNG_N];
};

unsigned long rng_stream_seed(uint64_t master, unsigned id)
{
    uint64_t z = master + 0x9e3779b97f4a7c15u * (id + 1u); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    uint32_t s = (uint32_t)((z ^ (z >> 31)) >> 32); /* GSL uses 32-bit seeds */
    return s ? s : 1u;                              /* 0 means "default seed" */
}

struct rng_set *rng_set_new(uint64_t master_seed)
{
    struct rng_set *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    for (unsigned i = 0; i < RNG_N; i++) {
        r->g[i] = gsl_rng_alloc(gsl_rng_mt19937);
        if (!r->g[i]) {
            rng_set_free(r);
            return NULL;
        }
        gsl_rng_set(r->g[i], rng_stream_seed(master_seed, i));
    }
    return r;
}

void rng_set_free(struct rng_set *r)
{
    if (!r)
        return;
    for (unsigned i = 0; i < RNG_N; i++)
        gsl_rng_free(r->g[i]);
    free(r);
}

double rng_uniform(struct rng_set *r, enum rng_stream s)
{
    return gsl_rng_uniform(r->g[s]);
}

double rng_uniform_pos(struct rng_set *r, enum rng_stream s)
{
    return gsl_rng_uniform_pos(r->g[s]);
}

unsigned long rng_uniform_int(struct rng_set *r, enum rng_stream s, unsigned long n)
{
    return gsl_rng_uniform_int(r->g[s], n);
}

double rng_exponential(struct rng_set *r, enum rng_stream s, double mean)
{
    return gsl_ran_exponential(r->g[s], mean);
}

double rng_gamma(struct rng_set *r, enum rng_stream s, double shape, double scale)
{
    return gsl_ran_gamma(r->g[s], shape, scale);
}

double rng_lognormal(struct rng_set *r, enum rng_stream s, double zeta, double sigma)
{
    return gsl_ran_lognormal(r->g[s], zeta, sigma);
}

double rng_gaussian(struct rng_set *r, enum rng_stream s, double sigma)
{
    return gsl_ran_gaussian_ziggurat(r->g[s], sigma);
}
