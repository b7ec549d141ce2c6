/* The latency summary (sim/stats.c: interleaved running means, radix selection) against
 * GSL bit for bit: gsl_stats_mean and gsl_stats_max over the values in arrival order,
 * gsl_stats_quantile_from_sorted_data over them sorted, on random values with and without
 * ties, n = 0..5, large n, and awkward values (negative, infinite, subnormal, huge, wide
 * exponents). Values GSL's selection alone can order (NaN, -0.0 beside +0.0) take GSL's
 * path as before; and the arrays end in the order earlier versions' selection left them,
 * which the cluster's mean depends on. */
#include <criterion/criterion.h>
#include <float.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/stats.h"

static uint64_t rng_state;

static uint64_t next_u64(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double u01(void)
{
    return (double)(next_u64() >> 11) * 0x1p-53;
}

enum kind {
    K_UNIFORM,   /* [0, 3), no ties */
    K_TIES,      /* seven levels */
    K_MICROS,    /* whole microseconds, log-spread over 1 us .. 100 s, as a run's times */
    K_AWKWARD,   /* negative, +-inf, subnormal, DBL_MAX, +0.0, tiny */
    K_BITS,      /* random bit patterns (every exponent), NaN and -0.0 left out */
    K_CONST,     /* one value */
    K_TWO,       /* two neighbouring doubles */
    K_CLUSTERED, /* most values within a few ulps (a huge first-level bucket) */
    K_NEGATIVE,  /* all below zero */
    K_N
};

static double draw(enum kind k)
{
    switch (k) {
    case K_UNIFORM:
        return u01() * 3.0;
    case K_TIES:
        return (double)(next_u64() % 7) * 0.125;
    case K_MICROS:
        return (double)llround(pow(10.0, u01() * 8.0)) * 1e-6;
    case K_AWKWARD: {
        static const double pick[] = {-1.5, -INFINITY, INFINITY, 0x1p-1074, DBL_MAX, 0.0,
                                      1e-300, -DBL_MIN, 3.0, 2.5, -0x1p-1070};
        uint64_t r = next_u64();
        return r % 3 ? pick[(r >> 8) % (sizeof pick / sizeof *pick)] : u01() - 0.5;
    }
    case K_BITS:
        for (;;) {
            uint64_t u = next_u64();
            double x;
            memcpy(&x, &u, sizeof x);
            if (!isnan(x) && u != UINT64_C(0x8000000000000000))
                return x;
        }
    case K_CONST:
        return 0.25;
    case K_TWO:
        return next_u64() % 2 ? 1.0 : nextafter(1.0, 2.0);
    case K_CLUSTERED:
        return next_u64() % 16 ? 1.0 + (double)(next_u64() % 9) * DBL_EPSILON : u01() * 4;
    case K_NEGATIVE:
        return -(double)(next_u64() % 5000) * 1e-3 - 0x1p-1074;
    case K_N:
        break;
    }
    return 0;
}

static bool same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Every field of got against GSL over v[0..n) in that order, bit for bit. */
static void expect_gsl(const double *v, size_t n, const struct latency_stats *got,
                       const char *what)
{
    cr_assert_eq(got->n, n, "%s", what);
    if (n == 0) {
        cr_assert(isnan(got->mean_s) && isnan(got->max_s), "%s", what);
        for (int i = 0; i < SIM_NQ; i++)
            cr_assert(isnan(got->q_s[i]), "%s", what);
        return;
    }
    double mean = gsl_stats_mean(v, 1, n), max = gsl_stats_max(v, 1, n);
    cr_assert(same_bits(got->mean_s, mean), "%s n %zu: mean %a, GSL %a", what, n, got->mean_s,
              mean);
    cr_assert(same_bits(got->max_s, max), "%s n %zu: max %a, GSL %a", what, n, got->max_s,
              max);
    double *s = malloc(n * sizeof *s);
    cr_assert_not_null(s);
    memcpy(s, v, n * sizeof *s);
    gsl_sort(s, 1, n);
    for (int i = 0; i < SIM_NQ; i++) {
        double q = gsl_stats_quantile_from_sorted_data(s, 1, n, sim_quantiles[i]);
        cr_assert(same_bits(got->q_s[i], q), "%s n %zu q %g: %a, GSL %a", what, n,
                  sim_quantiles[i], got->q_s[i], q);
    }
    free(s);
}

/* The four metrics of n requests: ttft, e2e, queue of kinds k, k+1, k+2; tpot (of kind
 * k+3) for two requests in three, so its count differs. */
struct metrics {
    double *v[4]; /* ttft, tpot, e2e, queue, in arrival order */
    size_t n[4];
};

static void make(struct metrics *m, size_t n, enum kind k)
{
    for (int j = 0; j < 4; j++) {
        m->v[j] = malloc((n ? n : 1) * sizeof *m->v[j]);
        cr_assert_not_null(m->v[j]);
        m->n[j] = 0;
    }
    for (size_t i = 0; i < n; i++) {
        m->v[0][m->n[0]++] = draw(k);
        m->v[2][m->n[2]++] = draw((enum kind)((k + 1) % K_N));
        m->v[3][m->n[3]++] = draw((enum kind)((k + 2) % K_N));
        if (i % 3 != 2)
            m->v[1][m->n[1]++] = draw((enum kind)((k + 3) % K_N));
    }
}

static void push(struct run_stats *st, const struct metrics *m)
{
    for (size_t i = 0, t = 0; i < m->n[0]; i++) {
        bool has_tpot = i % 3 != 2;
        struct stats_ok ok = {.arrival_us = (int64_t)i, .ttft = m->v[0][i],
                              .tpot = has_tpot ? m->v[1][t] : 0.0, .e2e = m->v[2][i],
                              .queue = m->v[3][i], .has_tpot = has_tpot};
        t += has_tpot;
        cr_assert(run_stats_ok(st, &ok));
    }
}

static void drop(struct metrics *m)
{
    for (int j = 0; j < 4; j++)
        free(m->v[j]);
}

static void expect_all(const struct metrics *m, const struct sim_result *r, const char *what)
{
    expect_gsl(m->v[0], m->n[0], &r->ttft, what);
    expect_gsl(m->v[1], m->n[1], &r->tpot, what);
    expect_gsl(m->v[2], m->n[2], &r->e2e, what);
    expect_gsl(m->v[3], m->n[3], &r->queue, what);
}

/* n requests of kind k summarised (run_stats_fill) against GSL. */
static void check(size_t n, enum kind k, const char *what)
{
    struct metrics m;
    make(&m, n, k);
    struct run_stats st;
    run_stats_init(&st, NULL, 0);
    push(&st, &m);
    static struct sim_result res;
    memset(&res, 0, sizeof res);
    run_stats_fill(&st, &res);
    expect_all(&m, &res, what);
    run_stats_free(&st);
    drop(&m);
}

Test(stats_summary, equals_gsl_bit_for_bit_on_every_kind_and_size)
{
    static const size_t sizes[] = {0, 1, 2, 3, 4, 5, 31, 32, 33, 34, 100, 1001, 70001};
    static const char *const names[K_N] = {"uniform", "ties", "micros",    "awkward", "bits",
                                           "const",   "two",  "clustered", "negative"};
    for (int k = 0; k < K_N; k++)
        for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
            rng_state = (uint64_t)k * 1000 + z;
            check(sizes[z], (enum kind)k, names[k]);
        }
}

Test(stats_summary, large_arrays_with_huge_buckets_equal_gsl)
{
    /* 400 000 values: a run's spread, and values within a few ulps of 1 (a first-level
     * bucket too large to copy aside: selected in place) */
    static const enum kind kinds[] = {K_MICROS, K_CLUSTERED, K_NEGATIVE};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        rng_state = 77 + k;
        check(400000, kinds[k], "large");
    }
}

Test(stats_summary, a_sample_that_misleads_costs_time_not_a_result)
{
    /* The summary guesses from every (n / 16384)-th value where the quantiles lie and
     * copies those values aside as it goes; here those values are unlike the others,
     * so the guess misses (the wanted values are elsewhere), or marks a value nearly
     * all the others share (more copies than it made room for). */
    enum { N = 300000, STEP = N / 16384 };
    double *v = malloc(N * sizeof *v);
    cr_assert_not_null(v);
    for (int c = 0; c < 2; c++) {
        rng_state = 3 + (uint64_t)c;
        for (size_t i = 0; i < N; i++)
            v[i] = i % STEP ? (c == 0 ? 2.0 + u01() : 0.5) : (c == 0 ? 1.0 : u01());
        struct run_stats st;
        run_stats_init(&st, NULL, 0);
        for (size_t i = 0; i < N; i++) {
            struct stats_ok ok = {.ttft = v[i], .tpot = v[i], .e2e = v[i], .queue = v[i],
                                  .has_tpot = true};
            cr_assert(run_stats_ok(&st, &ok));
        }
        struct sim_result res;
        memset(&res, 0, sizeof res);
        run_stats_fill(&st, &res);
        expect_gsl(v, N, &res.ttft, c == 0 ? "missed" : "overflowed");
        expect_gsl(v, N, &res.queue, c == 0 ? "missed" : "overflowed");
        run_stats_free(&st);
    }
    free(v);
}

/* Earlier versions' summary of v[0..n) (GSL's selection, in place): the maximum and
 * quantiles it gave, and the order it left v in. */
static void old_summary(double *v, size_t n, double *max, double *q)
{
    *max = n ? gsl_stats_max(v, 1, n) : NAN;
    size_t lo = 0;
    for (int i = 0; i < SIM_NQ && n > 0; i++) {
        const double index = sim_quantiles[i] * (double)(n - 1);
        const size_t lhs = (size_t)index;
        const double delta = index - (double)lhs;
        const size_t from = lhs >= lo ? lo : 0;
        if (lhs >= n - 1) {
            q[i] = gsl_stats_select(v + from, 1, n - from, n - 1 - from);
            continue;
        }
        double a = gsl_stats_select(v + from, 1, n - from, lhs - from);
        lo = lhs;
        double b = v[lhs + 1];
        for (size_t j = lhs + 2; j < n; j++)
            if (v[j] < b)
                b = v[j];
        q[i] = (1 - delta) * a + delta * b;
    }
}

Test(stats_summary, nan_and_signed_zeros_are_summarised_as_gsls_selection_did)
{
    for (int c = 0; c < 2; c++) {
        enum { N = 5000 };
        rng_state = 5 + (uint64_t)c;
        double *v = malloc(N * sizeof *v), *old = malloc(N * sizeof *old);
        cr_assert(v && old);
        for (size_t i = 0; i < N; i++) {
            uint64_t r = next_u64() % 10;
            v[i] = c == 0 ? (r == 0 ? NAN : u01()) : (r < 4 ? -0.0 : r < 8 ? 0.0 : u01());
        }
        memcpy(old, v, N * sizeof *v);
        double max, q[SIM_NQ], mean = gsl_stats_mean(v, 1, N);
        old_summary(old, N, &max, q);
        struct run_stats st;
        run_stats_init(&st, NULL, 0);
        for (size_t i = 0; i < N; i++) {
            struct stats_ok ok = {.ttft = v[i], .e2e = v[i], .queue = v[i]};
            cr_assert(run_stats_ok(&st, &ok));
        }
        struct sim_result res;
        memset(&res, 0, sizeof res);
        run_stats_fill(&st, &res);
        cr_assert(same_bits(res.ttft.mean_s, mean));
        cr_assert(same_bits(res.ttft.max_s, max), "%a %a", res.ttft.max_s, max);
        for (int i = 0; i < SIM_NQ; i++)
            cr_assert(same_bits(res.ttft.q_s[i], q[i]), "case %d q %d: %a, was %a", c, i,
                      res.ttft.q_s[i], q[i]);
        cr_assert(memcmp(st.ttft, old, N * sizeof *old) == 0, "left as GSL's selection left it");
        run_stats_free(&st);
        free(v);
        free(old);
    }
}

Test(stats_summary, the_cluster_sees_the_deployments_values_in_the_order_they_always_had)
{
    /* Two deployments, the first with an SLO quantile the summary does not take (a further
     * selection, after the summary's); the cluster's mean runs over their arrays as
     * earlier versions' selections left them, bit for bit. */
    enum { NA = 30011, NB = 7919 };
    rng_state = 99;
    struct metrics ma, mb;
    make(&ma, NA, K_MICROS);
    make(&mb, NB, K_UNIFORM);
    struct run_stats a, b, all;
    run_stats_init(&a, NULL, 0);
    run_stats_init(&b, NULL, 0);
    run_stats_init(&all, NULL, 0);
    all.counts_only = true;
    push(&a, &ma);
    push(&all, &ma);
    push(&b, &mb);
    push(&all, &mb);
    static struct sim_result ra, rb, r;
    memset(&ra, 0, sizeof ra);
    memset(&rb, 0, sizeof rb);
    memset(&r, 0, sizeof r);
    run_stats_fill(&a, &ra);
    run_stats_fill(&b, &rb);
    expect_all(&ma, &ra, "deployment a");
    expect_all(&mb, &rb, "deployment b");
    double q975 = run_stats_quantile(&a, SLO_TTFT, 0.975);
    struct run_stats *parts[] = {&a, &b};
    cr_assert(run_stats_fill_merged(&all, parts, 2, &r));

    /* earlier versions: each deployment's summary reordered its arrays, then the SLO's
     * selection reordered a's TTFT; the cluster's values are those arrays one after
     * another */
    double max, q[SIM_NQ];
    struct metrics *m[] = {&ma, &mb};
    struct run_stats *st[] = {&a, &b};
    for (int d = 0; d < 2; d++)
        for (int j = 0; j < 4; j++)
            old_summary(m[d]->v[j], m[d]->n[j], &max, q);
    cr_assert(same_bits(q975, stats_select_quantile(ma.v[0], ma.n[0], 0.975)));
    const struct latency_stats *got[] = {&r.ttft, &r.tpot, &r.e2e, &r.queue};
    for (int j = 0; j < 4; j++) {
        size_t n = ma.n[j] + mb.n[j];
        double *cat = malloc(n * sizeof *cat);
        cr_assert_not_null(cat);
        memcpy(cat, ma.v[j], ma.n[j] * sizeof *cat);
        memcpy(cat + ma.n[j], mb.v[j], mb.n[j] * sizeof *cat);
        expect_gsl(cat, n, got[j], "cluster");
        for (int d = 0; d < 2; d++) {
            const double *arr = j == 0 ? st[d]->ttft : j == 1 ? st[d]->tpot
                                : j == 2 ? st[d]->e2e : st[d]->queue;
            cr_assert(memcmp(arr, m[d]->v[j], m[d]->n[j] * sizeof *arr) == 0,
                      "deployment %d metric %d: the order earlier versions left", d, j);
        }
        free(cat);
    }
    run_stats_free(&a);
    run_stats_free(&b);
    run_stats_free(&all);
    drop(&ma);
    drop(&mb);
}
