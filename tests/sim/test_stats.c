/* The run's latency statistics (sim/stats.c): quantiles by selection, each after the
 * previous one, against GSL's quantile of the sorted values, bit for bit; and a run of
 * several deployments (counts only) against the same over their values together. */
#include <criterion/criterion.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/stats.h"

/* Values with many ties (a few distinct levels) or none, n requests. */
static void fill(double *v, size_t n, unsigned seed, bool ties)
{
    srand(seed);
    for (size_t i = 0; i < n; i++)
        v[i] = ties ? (double)(rand() % 7) * 0.125 : (double)rand() / RAND_MAX * 3.0;
}

static void expect_quantiles(const double *v, size_t n, const struct latency_stats *got)
{
    double *s = malloc(n * sizeof *s);
    cr_assert_not_null(s);
    memcpy(s, v, n * sizeof *s);
    gsl_sort(s, 1, n);
    cr_assert_eq(got->n, n);
    for (int i = 0; i < SIM_NQ; i++) {
        double want = gsl_stats_quantile_from_sorted_data(s, 1, n, sim_quantiles[i]);
        cr_assert_eq(got->q_s[i], want, "n %zu q %g: %.17g, GSL %.17g", n, sim_quantiles[i],
                     got->q_s[i], want);
    }
    cr_assert_eq(got->max_s, s[n - 1]);
    free(s);
}

static void push(struct run_stats *st, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct stats_ok ok = {.arrival_us = (int64_t)i, .ttft = v[i], .tpot = v[i] / 10,
                              .e2e = v[i] + 1, .queue = v[i] / 2, .has_tpot = true};
        cr_assert(run_stats_ok(st, &ok));
    }
}

Test(stats, quantiles_by_successive_selection_equal_gsls_of_the_sorted_values)
{
    static const size_t sizes[] = {1, 2, 3, 10, 99, 100, 101, 1000, 4097};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
        for (int ties = 0; ties < 2; ties++) {
            size_t n = sizes[k];
            double *v = malloc(n * sizeof *v);
            cr_assert_not_null(v);
            fill(v, n, (unsigned)(n * 2 + (size_t)ties), ties);
            struct run_stats st;
            run_stats_init(&st, NULL, 0);
            push(&st, v, n);
            struct sim_result res;
            memset(&res, 0, sizeof res);
            run_stats_fill(&st, &res);
            expect_quantiles(v, n, &res.ttft);
            run_stats_free(&st);
            free(v);
        }
}

Test(stats, several_deployments_count_once_and_take_quantiles_over_all_values)
{
    enum { NA = 1234, NB = 567 };
    double v[NA + NB];
    fill(v, NA + NB, 7, false);
    struct run_stats a, b, all;
    run_stats_init(&a, NULL, 0);
    run_stats_init(&b, NULL, 0);
    run_stats_init(&all, NULL, 0);
    all.counts_only = true;
    push(&a, v, NA);
    push(&b, v + NA, NB);
    push(&all, v, NA + NB);
    cr_assert_null(all.ttft, "a counts-only statistics keeps no values");
    cr_assert_eq(all.n_ok, NA + NB);
    struct sim_result ra, rb, r;
    memset(&ra, 0, sizeof ra);
    memset(&rb, 0, sizeof rb);
    memset(&r, 0, sizeof r);
    run_stats_fill(&a, &ra); /* the deployments first, as the run does (reorders) */
    run_stats_fill(&b, &rb);
    struct run_stats *parts[] = {&a, &b};
    cr_assert(run_stats_fill_merged(&all, parts, 2, &r));
    expect_quantiles(v, NA + NB, &r.ttft);
    cr_assert_float_eq(r.ttft.mean_s, gsl_stats_mean(v, 1, NA + NB), 1e-12);
    run_stats_free(&a);
    run_stats_free(&b);
    run_stats_free(&all);
}

Test(stats, an_slos_quantile_is_the_summarys_when_the_summary_took_it)
{
    enum { N = 1001 };
    double v[N];
    fill(v, N, 11, false);
    struct run_stats st;
    run_stats_init(&st, NULL, 0);
    push(&st, v, N);
    struct sim_result res;
    memset(&res, 0, sizeof res);
    run_stats_fill(&st, &res);
    double *s = malloc(N * sizeof *s);
    cr_assert_not_null(s);
    memcpy(s, v, sizeof v);
    gsl_sort(s, 1, N);
    /* p95 TTFT: the summary's; p97.5 (not one of sim_quantiles): selected; both GSL's */
    cr_assert_eq(run_stats_slo_quantile(&st, &res, SLO_TTFT, 0.95),
                 gsl_stats_quantile_from_sorted_data(s, 1, N, 0.95));
    cr_assert_eq(run_stats_slo_quantile(&st, &res, SLO_TTFT, 0.975),
                 gsl_stats_quantile_from_sorted_data(s, 1, N, 0.975));
    for (size_t i = 0; i < N; i++)
        s[i] = s[i] + 1; /* e2e = ttft + 1, same order */
    cr_assert_eq(run_stats_slo_quantile(&st, &res, SLO_E2E, 0.99),
                 gsl_stats_quantile_from_sorted_data(s, 1, N, 0.99));
    free(s);
    run_stats_free(&st);
}
