/* The ITL distribution (sim/core/gaphist.h) against the exact sorted-sample answer. */
#include <criterion/criterion.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>

#include "sim/core/gaphist.h"

Test(gaphist, empty_is_nan)
{
    struct gaphist h = {0};
    cr_assert(isnan(gaphist_quantile(&h, 0.5)));
    gaphist_free(&h);
}

Test(gaphist, small_values_and_single_valued_buckets_are_exact)
{
    /* {10 x3, 30} (ms as us): type-7 median 10000, p99 at index 2.97 = 29400 */
    struct gaphist h = {0};
    gaphist_add(&h, 10000, 3);
    gaphist_add(&h, 30000, 1);
    cr_assert_float_eq(gaphist_quantile(&h, 0.5), 10000.0, 1e-9);
    cr_assert_float_eq(gaphist_quantile(&h, 0.99), 29400.0, 1e-9);
    cr_assert_float_eq(gaphist_quantile(&h, 1.0), 30000.0, 1e-9);
    cr_assert_float_eq(gaphist_quantile(&h, 0.0), 10000.0, 1e-9);
    cr_assert_eq(h.n, 4);
    cr_assert_eq(h.max_us, 30000);
    cr_assert_float_eq(h.total_us, 60000.0, 1e-9);
    gaphist_free(&h);
    /* below 2048 us every value is its own bucket */
    struct gaphist g = {0};
    double v[2047];
    for (int i = 0; i < 2047; i++) {
        gaphist_add(&g, i + 1, 1);
        v[i] = i + 1;
    }
    const double qs[] = {0.01, 0.333, 0.5, 0.9, 0.99};
    for (size_t i = 0; i < 5; i++)
        cr_assert_float_eq(gaphist_quantile(&g, qs[i]),
                           gsl_stats_quantile_from_sorted_data(v, 1, 2047, qs[i]), 1e-9);
    gaphist_free(&g);
}

Test(gaphist, quantiles_within_a_tenth_of_a_percent)
{
    /* lognormal gaps around 20 ms with a long tail up to seconds */
    enum { N = 100000 };
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 7);
    double *v = malloc(N * sizeof *v);
    struct gaphist h = {0};
    for (int i = 0; i < N; i++) {
        int64_t us = (int64_t)llround(gsl_ran_lognormal(r, log(20000.0), 1.0));
        v[i] = (double)us;
        gaphist_add(&h, us, 1);
    }
    gsl_sort(v, 1, N);
    const double qs[] = {0.01, 0.1, 0.5, 0.9, 0.99, 0.999};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        double want = gsl_stats_quantile_from_sorted_data(v, 1, N, qs[i]);
        double got = gaphist_quantile(&h, qs[i]);
        cr_assert(fabs(got - want) <= 1e-3 * want, "q %.3f: %.1f vs %.1f", qs[i], got, want);
    }
    cr_assert_float_eq(h.total_us / (double)h.n, gsl_stats_mean(v, 1, N), 1e-6);
    cr_assert_float_eq((double)h.max_us, v[N - 1], 0.0);
    free(v);
    gsl_rng_free(r);
    gaphist_free(&h);
}
