/*
 * stats.c: the statistics of one stream of requests (stats.h).
 */
#include "sim/stats.h"

#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/core/err.h"

#define SLO_WINDOW_US ((int64_t)60 * 1000000)

void run_stats_init(struct run_stats *st, const struct slo_item *slo, size_t n)
{
    memset(st, 0, sizeof *st);
    st->ttft_lim = st->tpot_lim = INFINITY;
    for (size_t i = 0; i < n; i++) {
        const struct slo_item *it = &slo[i];
        if (it->metric == SLO_TTFT && it->target < st->ttft_lim) {
            st->ttft_lim = it->target;
            st->ttft_lim_q = it->quantile;
        }
        if (it->metric == SLO_TPOT && it->target < st->tpot_lim)
            st->tpot_lim = it->target;
    }
}

void run_stats_free(struct run_stats *st)
{
    free(st->ttft);
    free(st->tpot);
    free(st->e2e);
    free(st->queue);
    free(st->win_n);
    free(st->win_over);
    gaphist_free(&st->itl);
    st->ttft = st->tpot = st->e2e = st->queue = NULL;
    st->win_n = st->win_over = NULL;
    st->n_ok = st->n_tpot = st->cap_ok = st->n_win = 0;
    st->order_owed = 0;
}

static bool push_stat(struct run_stats *s, double ttft, double tpot, double e2e, double queue,
                      bool has_tpot)
{
    if (s->counts_only) {
        s->n_ok++;
        s->n_tpot += has_tpot;
        return true;
    }
    if (s->n_ok == s->cap_ok) {
        size_t cap = s->cap_ok ? s->cap_ok * 2 : 4096;
        double *a = sim_reallocarray(s->ttft, cap, sizeof *a);
        if (!a)
            return false;
        s->ttft = a;
        a = sim_reallocarray(s->e2e, cap, sizeof *a);
        if (!a)
            return false;
        s->e2e = a;
        a = sim_reallocarray(s->queue, cap, sizeof *a);
        if (!a)
            return false;
        s->queue = a;
        a = sim_reallocarray(s->tpot, cap, sizeof *a);
        if (!a)
            return false;
        s->tpot = a;
        s->cap_ok = cap;
    }
    s->ttft[s->n_ok] = ttft;
    s->e2e[s->n_ok] = e2e;
    s->queue[s->n_ok] = queue;
    s->n_ok++;
    if (has_tpot)
        s->tpot[s->n_tpot++] = tpot;
    return true;
}

static void slo_window_add(struct run_stats *s, int64_t arrival_us, bool over)
{
    size_t w = (size_t)(arrival_us / SLO_WINDOW_US);
    if (w >= s->n_win) {
        size_t n = s->n_win ? s->n_win : 64;
        while (n <= w)
            n *= 2;
        uint32_t *a = sim_reallocarray(s->win_n, n, sizeof *a);
        if (!a)
            return;
        s->win_n = a;
        a = sim_reallocarray(s->win_over, n, sizeof *a);
        if (!a)
            return;
        s->win_over = a;
        memset(s->win_n + s->n_win, 0, (n - s->n_win) * sizeof *a);
        memset(s->win_over + s->n_win, 0, (n - s->n_win) * sizeof *a);
        s->n_win = n;
    }
    s->win_n[w]++;
    s->win_over[w] += over;
}

bool run_stats_ok(struct run_stats *st, const struct stats_ok *r)
{
    st->itl_ok_sum_us += r->itl_sum_us;
    st->itl_ok_n += (uint64_t)r->itl_n;
    if (st->ttft_lim < INFINITY)
        slo_window_add(st, r->arrival_us, r->ttft > st->ttft_lim);
    /* Goodput (DistServe): requests that met every per-request latency SLO. */
    if (r->ttft <= st->ttft_lim && (!r->has_tpot || r->tpot <= st->tpot_lim)) {
        st->n_good++;
        st->good_output_tokens += (uint64_t)r->output_tokens;
    }
    return push_stat(st, r->ttft, r->tpot, r->e2e, r->queue, r->has_tpot);
}

/* Minutes whose arrivals missed the TTFT SLO (more than 1 - q of them over the target),
 * and the longest run of such minutes: how long the fleet took to recover. */
static void slo_windows(const struct run_stats *s, struct sim_result *res)
{
    double total = 0, run = 0, longest = 0;
    for (size_t w = 0; w < s->n_win; w++) {
        bool breach = s->win_n[w] > 0 &&
                      (double)s->win_over[w] > (1.0 - s->ttft_lim_q) * (double)s->win_n[w];
        if (breach) {
            total += 60.0;
            run += 60.0;
            if (run > longest)
                longest = run;
        } else if (s->win_n[w] > 0) {
            run = 0;
        }
    }
    res->slo_breach_s = s->ttft_lim < INFINITY ? total : NAN;
    res->slo_breach_longest_s = s->ttft_lim < INFINITY ? longest : NAN;
}

/*
 * The latency summary: the mean, maximum and quantiles of each metric's values (TTFT,
 * TPOT, e2e, queue), bit for bit what GSL 2.7.1 gives (gsl_stats_mean, gsl_stats_max, and
 * gsl_stats_quantile_from_sorted_data on the sorted values), but fast on the tens of
 * millions of values of a week:
 * - GSL's mean is a running mean in long double, `mean += (x[i] - mean) / (i + 1)`
 *   (statistics/mean_source.c), a chain of dependent divisions. The metrics' chains run
 *   interleaved in one loop (scan_series), each with exactly those operations and types,
 *   so each gives GSL's value while the divisions of one overlap those of the others.
 * - A quantile is linear interpolation between two order statistics (quantile_source.c,
 *   Hyndman-Fan type 7). Any exact selection finds the same order statistics: here radix
 *   selection on keys that order the doubles, its first level counted in the mean's loop,
 *   which also copies aside the values of the buckets a sample says hold the wanted
 *   order statistics (guess_buckets); the finer levels read those copies (descend,
 *   select_ranks), or all the values again when the guess missed. Instead of quickselect
 *   over the whole array for each quantile. The interpolation is GSL's (interpolate).
 * Two doubles that compare equal but differ in bits (-0.0 and +0.0) would make the order
 * statistic's bits depend on the algorithm, and NaN has no order: a metric that may hold
 * either (summary_radix) is summarised by GSL itself, as before (neither occurs in a run:
 * times are differences of whole microseconds, scaled, none negative).
 *
 * Earlier versions took the quantiles by gsl_stats_select in place, and that reordering
 * is part of the results: the cluster's mean is the running mean over the deployments'
 * arrays one after another in the order those selections left them. The summary here
 * reads the arrays without reordering them and records the reordering as owed
 * (run_stats.order_owed); settle_order() makes it, with the same gsl_stats_select calls,
 * before anything whose result depends on the order (the cluster's summary, a further
 * selection). A run of one deployment never pays it.
 */

/* GSL's interpolation between the order statistics a and b (quantile_source.c). */
static double interpolate(double a, double b, double delta)
{
    return (1 - delta) * a + delta * b;
}

/* The order statistic below the q-quantile of n values, GSL's arithmetic; *delta: the
 * weight of the one after it. */
static size_t quantile_lhs(double q, size_t n, double *delta)
{
    const double index = q * (double)(n - 1);
    const size_t lhs = (size_t)index;
    *delta = index - (double)lhs;
    return lhs;
}

/*
 * The lhs-th smallest of v[0..n) (the largest if lhs >= n - 1) by gsl_stats_select, which
 * puts it at v[lhs] with smaller values before it and larger after. *lo: v[0..*lo) are
 * known to hold the *lo smallest values (0 when nothing is known), so the selection runs
 * over v[*lo..n) only; set to lhs for the next, higher order statistic.
 */
static double select_lhs(double *v, size_t n, size_t *lo, size_t lhs)
{
    const size_t from = lhs >= *lo ? *lo : 0;
    if (lhs >= n - 1)
        return gsl_stats_select(v + from, 1, n - from, n - 1 - from);
    double a = gsl_stats_select(v + from, 1, n - from, lhs - from);
    *lo = lhs; /* v[0..lhs) now hold the lhs smallest values */
    return a;
}

/* The q-quantile of v[0..n) as gsl_stats_quantile_from_sorted_data defines it, by
 * selection (select_lhs; reorders v); the order statistic after lhs is the smallest value
 * after it. */
static double select_quantile_from(double *v, size_t n, size_t *lo, double q)
{
    if (n == 0)
        return NAN;
    double delta;
    const size_t lhs = quantile_lhs(q, n, &delta);
    double a = select_lhs(v, n, lo, lhs);
    if (lhs >= n - 1)
        return a;
    double b = v[lhs + 1];
    for (size_t i = lhs + 2; i < n; i++)
        if (v[i] < b)
            b = v[i];
    return interpolate(a, b, delta);
}

double stats_select_quantile(double *v, size_t n, double q)
{
    size_t lo = 0;
    return select_quantile_from(v, n, &lo, q);
}

/* The mean, maximum and quantiles of v[0..n) as earlier versions took them (GSL;
 * reorders v). */
static void summary_gsl(double *v, size_t n, struct latency_stats *out)
{
    out->mean_s = gsl_stats_mean(v, 1, n);
    out->max_s = gsl_stats_max(v, 1, n);
    /* The quantiles in increasing order: each selection partitions v at its order
     * statistic, so the next one selects among the values above it only. */
    size_t lo = 0;
    for (int i = 0; i < SIM_NQ; i++)
        out->q_s[i] = select_quantile_from(v, n, &lo, sim_quantiles[i]);
}

/* Reorders v[0..n) as summary_gsl does (the same selections, no result). */
static void gsl_order(double *v, size_t n)
{
    size_t lo = 0;
    for (int i = 0; i < SIM_NQ && n > 0; i++) {
        double delta;
        (void)select_lhs(v, n, &lo, quantile_lhs(sim_quantiles[i], n, &delta));
    }
}

enum { V_TTFT, V_TPOT, V_E2E, V_QUEUE, V_N };

static double *metric_values(const struct run_stats *st, int m, size_t *n)
{
    *n = m == V_TPOT ? st->n_tpot : st->n_ok;
    return m == V_TTFT ? st->ttft : m == V_TPOT ? st->tpot : m == V_E2E ? st->e2e : st->queue;
}

/* Makes the reordering the summary owes (see above). */
static void settle_order(struct run_stats *st)
{
    for (int m = 0; m < V_N; m++)
        if (st->order_owed & 1u << m) {
            size_t n;
            double *v = metric_values(st, m, &n);
            gsl_order(v, n);
        }
    st->order_owed = 0;
}

/* One metric's values: the arrays seg[0..nseg) (len[i] values each) one after another,
 * n in all. */
struct series {
    double *const *seg;
    const size_t *len;
    size_t nseg, n;
};

/* Keys that order the doubles: for x, y not NaN, x < y if and only if key(x) < key(y),
 * -0.0 just below +0.0 (positive: the sign bit set; negative: every bit flipped). */
#define KEY_SIGN (UINT64_C(1) << 63)
#define KEY_NEG_INF UINT64_C(0x000fffffffffffff) /* below it: negative NaNs */
#define KEY_POS_INF UINT64_C(0xfff0000000000000) /* above it: positive NaNs */
#define KEY_NEG_ZERO UINT64_C(0x7fffffffffffffff)

static inline uint64_t dkey(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u ^ ((0 - (u >> 63)) | KEY_SIGN);
}

static inline double key_value(uint64_t k)
{
    uint64_t u = k ^ (((k >> 63) - 1) | KEY_SIGN);
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* The first level of the radix selection counts each metric's values in the scan, by
 * their key's leading 20 bits (hist[key >> L0_SHIFT]): 256 buckets per power of two, so
 * a wanted order statistic's bucket holds a small part of the values. Only the buckets
 * the values reach are touched (the histogram is calloc'd: its pages, zero, are mapped
 * as they are written). */
#define L0_SHIFT 44
/* A first-level bucket marked before the scan (guess_buckets): the scan copies its values
 * aside. Counts stay below it (fewer than 2^31 values). */
#define CAND UINT32_C(0x80000000)

/* One metric's pass: GSL's running mean so far (over i values), the least and greatest
 * keys, the first level's histogram (hist[key >> L0_SHIFT]), and the values of the
 * buckets marked CAND, copy[0..n_copy) (n_copy > cap_copy: not all fitted; copy is
 * &spare, cap_copy 1, when none are taken). */
struct scan {
    long double mean;
    size_t i;
    uint64_t kmin, kmax;
    uint32_t *hist;
    double *copy, spare;
    size_t n_copy, cap_copy;
};

/* m scans (1 to 4) over len more values each, x[j][0..len) for s[j]: independent chains
 * in one loop. mean: exactly GSL's step (the same operations on the same types). */
static inline void scan_lanes(struct scan *const *s, const double *const *x, int m, size_t len)
{
    long double mean[V_N];
    uint64_t kmin[V_N], kmax[V_N];
    uint32_t *hist[V_N];
    double *copy[V_N];
    size_t n_copy[V_N], cap_copy[V_N];
    for (int j = 0; j < m; j++) {
        mean[j] = s[j]->mean;
        hist[j] = s[j]->hist;
        copy[j] = s[j]->copy;
        n_copy[j] = s[j]->n_copy;
        cap_copy[j] = s[j]->cap_copy;
        kmin[j] = s[j]->kmin;
        kmax[j] = s[j]->kmax;
    }
    for (size_t k = 0; k < len; k++)
        for (int j = 0; j < m; j++) {
            const double v = x[j][k];
            const size_t i = s[j]->i + k;
            mean[j] += (v - mean[j]) / (i + 1);
            const uint64_t key = dkey(v);
            kmin[j] = key < kmin[j] ? key : kmin[j];
            kmax[j] = key > kmax[j] ? key : kmax[j];
            const uint32_t c = hist[j][key >> L0_SHIFT]++;
            /* every value goes to the next free slot (the last once full), which only a
             * marked bucket's value takes: no branch */
            copy[j][n_copy[j] < cap_copy[j] ? n_copy[j] : cap_copy[j] - 1] = v;
            n_copy[j] += c >> 31;
        }
    for (int j = 0; j < m; j++) {
        s[j]->mean = mean[j];
        s[j]->i += len;
        s[j]->kmin = kmin[j];
        s[j]->kmax = kmax[j];
        s[j]->n_copy = n_copy[j];
    }
}

/* scan_lanes with m a constant in each call, so that the compiler keeps each lane in
 * registers. */
static void scan_run(struct scan *const *s, const double *const *x, int m, size_t len)
{
    switch (m) {
    case 4:
        scan_lanes(s, x, 4, len);
        break;
    case 3:
        scan_lanes(s, x, 3, len);
        break;
    case 2:
        scan_lanes(s, x, 2, len);
        break;
    default:
        scan_lanes(s, x, 1, len);
        break;
    }
}

/* Scans metrics ser[0..V_N) into out[0..V_N) (each with its hist and copies set), their
 * chains interleaved: stretches where each metric still has values in its current
 * array. */
static void scan_series(const struct series *ser, struct scan *out)
{
    size_t seg[V_N] = {0}, off[V_N] = {0};
    for (;;) {
        struct scan *s[V_N];
        const double *x[V_N];
        int lane_of[V_N], m = 0;
        size_t len = SIZE_MAX;
        for (int j = 0; j < V_N; j++) {
            const struct series *sr = &ser[j];
            while (seg[j] < sr->nseg && off[j] == sr->len[seg[j]]) {
                seg[j]++;
                off[j] = 0;
            }
            if (seg[j] == sr->nseg)
                continue;
            size_t left = sr->len[seg[j]] - off[j];
            len = left < len ? left : len;
            s[m] = &out[j];
            x[m] = sr->seg[seg[j]] + off[j];
            lane_of[m++] = j;
        }
        if (m == 0)
            return;
        scan_run(s, x, m, len);
        for (int l = 0; l < m; l++)
            off[lane_of[l]] += len;
    }
}

enum {
    MAX_RANKS = 2 * SIM_NQ, /* the order statistics of the quantiles */
    HIST_BITS = 16,         /* at most 2^16 buckets a level below the first */
    SORT_MAX = 32,          /* so few values: sorted */
};
#define GATHER_MAX ((size_t)1 << 18) /* a bucket with more is selected from in place */

static unsigned bit_width(uint64_t x)
{
    unsigned w = 0;
    for (; x; x >>= 1)
        w++;
    return w;
}

static void select_ranks(uint32_t *work, const struct series *s, uint64_t lo, uint64_t hi,
                         size_t count, const size_t *rank, size_t nr, uint64_t *key);

/*
 * Radix selection, one level: key[j] = the key of the rank[j]-th smallest (from 0) of the
 * values of s whose keys lie in [lo, lo + span] (rank[0..nr) ascending, distinct), once
 * they are counted in hist[(key - lo) >> shift] (all in buckets b0..b1). Finds the buckets
 * of the wanted ranks, copies their values aside in one pass over s, taking each bucket's
 * exact key range, and goes on within each bucket (select_ranks, on work[], 2^HIST_BITS
 * counters; it may be hist). A bucket too large to copy (GATHER_MAX: the copies take at
 * most 16 MiB, or when memory runs out) is selected from in place: the values of s in its
 * key range. marked: NULL, or a part of s that holds every value of the buckets marked
 * CAND in hist; read instead of s when it holds every wanted bucket.
 */
static void descend(uint32_t *hist, uint32_t *work, const struct series *s,
                    const struct series *marked, uint64_t lo, uint64_t span, unsigned shift,
                    size_t b0, size_t b1, const size_t *rank, size_t nr, uint64_t *key)
{
    /* The buckets of the wanted ranks; hist[] becomes each one's number among them (from
     * 1), 0 for the others. */
    struct bucket {
        size_t base, count, r0, r1; /* values below it; in it; its ranks r0..r1 */
        uint64_t lo, hi;            /* its keys' range */
        size_t at, fill;            /* its copies: buf[at..at + fill) */
        bool copy;
    } w[MAX_RANKS];
    size_t nw = 0, cum = 0, j = 0, b = b0, total = 0;
    bool all_marked = marked != NULL;
    for (; b < b1 && j < nr; b++) {
        size_t c = hist[b] & ~CAND;
        bool mark = hist[b] & CAND;
        hist[b] = 0;
        if (rank[j] < cum + c) {
            all_marked = all_marked && mark;
            struct bucket *x = &w[nw++];
            *x = (struct bucket){.base = cum, .count = c, .r0 = j, .lo = UINT64_MAX};
            while (j < nr && rank[j] < cum + c)
                j++;
            x->r1 = j;
            x->copy = c <= GATHER_MAX;
            x->at = total;
            total += x->copy ? c : 0;
            hist[b] = (uint32_t)nw;
        }
        cum += c;
    }
    SIM_ASSERT(j == nr);
    memset(hist + b, 0, (b1 - b) * sizeof *hist);
    double *buf = total ? calloc(total, sizeof *buf) : NULL;
    for (size_t i = 0; i < nw; i++)
        w[i].copy = w[i].copy && buf;
    if (all_marked)
        s = marked;
    for (size_t g = 0; g < s->nseg; g++) {
        const double *v = s->seg[g];
        for (size_t i = 0, n = s->len[g]; i < n; i++) {
            uint64_t k = dkey(v[i]), d = k - lo;
            uint32_t at = d <= span ? hist[d >> shift] : 0;
            if (at) {
                struct bucket *x = &w[at - 1];
                x->lo = k < x->lo ? k : x->lo;
                x->hi = k > x->hi ? k : x->hi;
                if (x->copy)
                    buf[x->at + x->fill++] = v[i];
            }
        }
    }
    for (size_t i = 0; i < nw; i++) {
        struct bucket *x = &w[i];
        size_t sub[MAX_RANKS];
        for (size_t r = x->r0; r < x->r1; r++)
            sub[r - x->r0] = rank[r] - x->base;
        double *copies = x->copy ? buf + x->at : NULL;
        const struct series in_buf = {&copies, &x->count, 1, x->count};
        select_ranks(work, x->copy ? &in_buf : s, x->lo, x->hi, x->count, sub, x->r1 - x->r0,
                     key + x->r0);
    }
    free(buf);
}

/*
 * Radix selection: key[j] = the key of the rank[j]-th smallest (from 0) of the count
 * values of s whose keys lie in [lo, hi] (rank[0..nr) ascending, distinct, < count): a
 * range of one key is done, a few values are sorted, others are counted by the leading
 * bits of key - lo into work[] (about one bucket per value, at most 2^HIST_BITS) and
 * selected from bucket by bucket (descend). Each level narrows the key range at least
 * 2^5-fold: a few levels.
 */
static void select_ranks(uint32_t *work, const struct series *s, uint64_t lo, uint64_t hi,
                         size_t count, const size_t *rank, size_t nr, uint64_t *key)
{
    const uint64_t span = hi - lo;
    if (span == 0) {
        for (size_t j = 0; j < nr; j++)
            key[j] = lo;
        return;
    }
    if (count <= SORT_MAX) {
        uint64_t a[SORT_MAX] = {0};
        size_t m = 0;
        for (size_t g = 0; g < s->nseg; g++)
            for (size_t i = 0; i < s->len[g]; i++) {
                uint64_t k = dkey(s->seg[g][i]);
                if (k - lo <= span && m < SORT_MAX)
                    a[m++] = k;
            }
        SIM_ASSERT(m == count);
        for (size_t i = 1; i < m; i++) /* insertion sort */
            for (size_t p = i; p > 0 && a[p - 1] > a[p]; p--) {
                uint64_t t = a[p];
                a[p] = a[p - 1];
                a[p - 1] = t;
            }
        for (size_t j = 0; j < nr; j++)
            key[j] = a[rank[j]];
        return;
    }
    unsigned bits = bit_width(count) - 1;
    bits = bits < HIST_BITS ? bits : HIST_BITS;
    const unsigned width = bit_width(span);
    const unsigned shift = width > bits ? width - bits : 0;
    const size_t nb = (size_t)(span >> shift) + 1;
    memset(work, 0, nb * sizeof *work);
    for (size_t g = 0; g < s->nseg; g++) {
        const double *v = s->seg[g];
        for (size_t i = 0, n = s->len[g]; i < n; i++) {
            uint64_t d = dkey(v[i]) - lo;
            if (d <= span)
                work[d >> shift]++;
        }
    }
    descend(work, work, s, NULL, lo, span, shift, 0, nb, rank, nr, key);
}

/* The order statistics the quantiles of n > 0 values need (GSL's arithmetic: the one
 * below each, and the one after it): rank[0..return), ascending, distinct. */
static size_t wanted_ranks(size_t n, size_t *rank)
{
    size_t m = 0;
    for (int i = 0; i < SIM_NQ; i++) {
        double delta;
        size_t lhs = quantile_lhs(sim_quantiles[i], n, &delta);
        size_t r[2] = {lhs < n - 1 ? lhs : n - 1, lhs + 1};
        for (int t = 0; t < (lhs < n - 1 ? 2 : 1); t++) { /* insert r[t] */
            size_t p = m;
            while (p > 0 && rank[p - 1] > r[t])
                p--;
            if (p > 0 && rank[p - 1] == r[t])
                continue;
            memmove(rank + p + 1, rank + p, (m - p) * sizeof *rank);
            rank[p] = r[t];
            m++;
        }
    }
    return m;
}

enum { SAMPLE_N = 16384 };

/*
 * Before the scan: marks (CAND) the first-level buckets where the wanted ranks' values
 * probably lie, and gives the scan room to copy their values, so that the selection need
 * not read every value again. descend checks that every wanted bucket was marked and
 * otherwise reads all the values, so a wrong guess costs time, never a result. The guess:
 * SAMPLE_N values evenly spaced through the arrays, counted in the histogram; the buckets
 * holding the sample's ranks within four binomial standard deviations of each wanted
 * rank's share are marked, and twice their share of the sample sizes the copies (address
 * space: only the pages written take memory). For 16 or more values per sample value:
 * fewer are cheap to read again.
 */
static void guess_buckets(const struct series *s, struct scan *a, const size_t *rank,
                          size_t nr)
{
    const size_t n = s->n, step = n / SAMPLE_N;
    if (n < 16 * (size_t)SAMPLE_N || n >= CAND)
        return;
    uint64_t smin = UINT64_MAX, smax = 0;
    for (size_t t = 0, g = 0, base = 0; t < SAMPLE_N; t++) {
        size_t i = t * step;
        while (i >= base + s->len[g])
            base += s->len[g++];
        uint64_t k = dkey(s->seg[g][i - base]);
        smin = k < smin ? k : smin;
        smax = k > smax ? k : smax;
        a->hist[k >> L0_SHIFT]++;
    }
    double lo[MAX_RANKS], hi[MAX_RANKS]; /* sample positions to cover */
    for (size_t j = 0; j < nr; j++) {
        double q = (double)rank[j] / (double)n, p = q * SAMPLE_N;
        double w = 4 * sqrt(SAMPLE_N * q * (1 - q)) + 4;
        lo[j] = p - w;
        hi[j] = p + w;
    }
    size_t cum = 0, marked = 0;
    for (size_t b = (size_t)(smin >> L0_SHIFT); b <= (size_t)(smax >> L0_SHIFT); b++) {
        size_t c = a->hist[b];
        bool mark = false; /* within a window, with the empty buckets inside it */
        for (size_t j = 0; j < nr && !mark; j++)
            mark = (double)(cum + c) > lo[j] && (double)cum <= hi[j];
        a->hist[b] = mark ? CAND : 0;
        marked += mark ? c : 0;
        cum += c;
    }
    size_t cap = 2 * (marked + 8) * step;
    double *copy = malloc(cap * sizeof *copy);
    if (copy) {
        a->copy = copy;
        a->cap_copy = cap;
    }
}

/* The maximum and quantiles of s's values from scan a (its histogram counted) by radix
 * selection, work[]: 2^HIST_BITS counters. false: not done, as the values may hold NaN
 * or -0.0 (their keys' range reaches beyond the infinities', or spans -0.0's: then also
 * when negative and positive values alone are there), or too many to count (the caller
 * falls back to GSL). */
static bool summary_radix(const struct series *s, const struct scan *a, uint32_t *work,
                          struct latency_stats *out)
{
    const size_t n = s->n;
    if (a->kmin < KEY_NEG_INF || a->kmax > KEY_POS_INF ||
        (a->kmin <= KEY_NEG_ZERO && a->kmax >= KEY_NEG_ZERO) || n >= CAND)
        return false;
    size_t rank[MAX_RANKS];
    const size_t m = wanted_ranks(n, rank);
    uint64_t key[MAX_RANKS];
    const struct series marked = {&a->copy, &a->n_copy, 1, a->n_copy};
    if (a->kmin == a->kmax)
        for (size_t j = 0; j < m; j++)
            key[j] = a->kmin;
    else
        descend(a->hist, work, s, a->copy != &a->spare && a->n_copy <= a->cap_copy ? &marked : NULL, 0,
                UINT64_MAX, L0_SHIFT, (size_t)(a->kmin >> L0_SHIFT),
                (size_t)(a->kmax >> L0_SHIFT) + 1, rank, m, key);
    for (int i = 0; i < SIM_NQ; i++) {
        double delta, os[2] = {0, 0};
        size_t lhs = quantile_lhs(sim_quantiles[i], n, &delta);
        size_t want[2] = {lhs < n - 1 ? lhs : n - 1, lhs + 1};
        for (int t = 0; t < 2; t++)
            for (size_t p = 0; p < m; p++)
                if (rank[p] == want[t])
                    os[t] = key_value(key[p]);
        out->q_s[i] = lhs >= n - 1 ? os[0] : interpolate(os[0], os[1], delta);
    }
    out->mean_s = (double)a->mean; /* gsl_stats_mean's return */
    out->max_s = key_value(a->kmax);
    return true;
}

/* The summaries of the metrics ser[0..V_N) into out[]: the count of each, and the mean,
 * maximum and quantiles where radix selection can take them (not when memory runs out).
 * Returns the metrics left for GSL (bit m for metric m). */
static unsigned summarize(const struct series *ser, struct latency_stats *const *out)
{
    const size_t nl0 = (size_t)1 << (64 - L0_SHIFT);
    uint32_t *hist = calloc(V_N * nl0, sizeof *hist);
    uint32_t *work = malloc(((size_t)1 << HIST_BITS) * sizeof *work);
    const bool fast = hist && work;
    struct scan a[V_N];
    for (int m = 0; m < V_N; m++) {
        a[m] = (struct scan){.kmin = UINT64_MAX,
                             .hist = fast ? hist + (size_t)m * nl0 : NULL,
                             .cap_copy = 1};
        a[m].copy = &a[m].spare;
        size_t rank[MAX_RANKS];
        if (fast && ser[m].n > 0)
            guess_buckets(&ser[m], &a[m], rank, wanted_ranks(ser[m].n, rank));
    }
    if (fast)
        scan_series(ser, a);
    unsigned left = 0;
    for (int m = 0; m < V_N; m++) {
        struct latency_stats *o = out[m];
        memset(o, 0, sizeof *o);
        o->n = ser[m].n;
        if (ser[m].n == 0) {
            o->mean_s = o->max_s = NAN;
            for (int i = 0; i < SIM_NQ; i++)
                o->q_s[i] = NAN;
        } else if (!fast || !summary_radix(&ser[m], &a[m], work, o)) {
            left |= 1u << m;
        }
    }
    for (int m = 0; m < V_N; m++)
        if (a[m].copy != &a[m].spare)
            free(a[m].copy);
    free(work);
    free(hist);
    return left;
}

/* ITL: the mean over OK requests' gaps (vLLM's definition), the quantiles and the
 * maximum over every streamed gap (gaphist.h). Seconds. */
static void itl_stats(const struct run_stats *s, struct latency_stats *out)
{
    memset(out, 0, sizeof *out);
    out->n = s->itl_ok_n;
    out->mean_s = s->itl_ok_n ? (double)s->itl_ok_sum_us / (double)s->itl_ok_n * 1e-6 : NAN;
    for (int i = 0; i < SIM_NQ; i++)
        out->q_s[i] = gaphist_quantile(&s->itl, sim_quantiles[i]) * 1e-6;
    out->max_s = s->itl.n ? (double)s->itl.max_us * 1e-6 : NAN;
}

void run_stats_fill(struct run_stats *st, struct sim_result *res)
{
    settle_order(st); /* a second summary sees the order the first left */
    slo_windows(st, res);
    double *v[V_N];
    size_t n[V_N];
    struct series ser[V_N];
    for (int m = 0; m < V_N; m++) {
        v[m] = metric_values(st, m, &n[m]);
        ser[m] = (struct series){&v[m], &n[m], 1, n[m]};
    }
    struct latency_stats *out[V_N] = {&res->ttft, &res->tpot, &res->e2e, &res->queue};
    unsigned left = summarize(ser, out);
    for (int m = 0; m < V_N; m++) {
        if (left & 1u << m)
            summary_gsl(v[m], n[m], out[m]); /* reorders: nothing owed */
        else
            st->order_owed |= 1u << m;
    }
    itl_stats(st, &res->itl);
    res->goodput_output_tokens = st->good_output_tokens;
    res->ok_output_tokens = st->ok_output_tokens;
}

/* One metric's values of every part, one after another (malloc'd). */
static double *concat_values(const struct series *s)
{
    double *v = sim_reallocarray(NULL, s->n, sizeof *v);
    if (!v)
        return NULL;
    size_t at = 0;
    for (size_t i = 0; i < s->nseg; i++) {
        if (s->len[i])
            memcpy(v + at, s->seg[i], s->len[i] * sizeof *v);
        at += s->len[i];
    }
    return v;
}

bool run_stats_fill_merged(struct run_stats *st, struct run_stats *const *parts, size_t n,
                           struct sim_result *res)
{
    struct latency_stats *out[V_N] = {&res->ttft, &res->tpot, &res->e2e, &res->queue};
    bool ok = true;
    slo_windows(st, res);
    double **seg = sim_reallocarray(NULL, n ? V_N * n : 1, sizeof *seg);
    size_t *len = sim_reallocarray(NULL, n ? V_N * n : 1, sizeof *len);
    struct series ser[V_N];
    for (int m = 0; m < V_N; m++)
        ser[m] = (struct series){seg ? seg + (size_t)m * n : NULL, len ? len + (size_t)m * n : NULL,
                                 0, 0};
    if (seg && len) {
        for (size_t i = 0; i < n; i++) {
            settle_order(parts[i]); /* the order earlier versions' summaries left */
            for (int m = 0; m < V_N; m++) {
                struct series *s = &ser[m];
                seg[(size_t)m * n + i] = metric_values(parts[i], m, &len[(size_t)m * n + i]);
                s->n += len[(size_t)m * n + i];
            }
        }
        for (int m = 0; m < V_N; m++)
            ser[m].nseg = n;
    } else {
        ok = false; /* no values: NaN */
    }
    unsigned left = summarize(ser, out);
    for (int m = 0; m < V_N; m++)
        if (left & 1u << m) {
            double *v = concat_values(&ser[m]);
            if (v) {
                summary_gsl(v, ser[m].n, out[m]);
            } else {
                ok = false;
                struct latency_stats *o = out[m];
                o->n = 0;
                o->mean_s = o->max_s = NAN;
                for (int i = 0; i < SIM_NQ; i++)
                    o->q_s[i] = NAN;
            }
            free(v);
        }
    free(seg);
    free(len);
    itl_stats(st, &res->itl);
    res->goodput_output_tokens = st->good_output_tokens;
    res->ok_output_tokens = st->ok_output_tokens;
    return ok;
}

double run_stats_quantile(struct run_stats *st, enum slo_metric m, double q)
{
    settle_order(st); /* this selection reorders after the summary's, as it always did */
    switch (m) {
    case SLO_TTFT:
        return stats_select_quantile(st->ttft, st->n_ok, q);
    case SLO_TPOT:
        return stats_select_quantile(st->tpot, st->n_tpot, q);
    case SLO_E2E:
        return stats_select_quantile(st->e2e, st->n_ok, q);
    case SLO_ERROR_RATE:
        break;
    }
    return NAN;
}

double run_stats_slo_quantile(struct run_stats *st, const struct sim_result *res,
                              enum slo_metric m, double q)
{
    const struct latency_stats *ls = m == SLO_TTFT   ? &res->ttft
                                     : m == SLO_TPOT ? &res->tpot
                                     : m == SLO_E2E  ? &res->e2e
                                                     : NULL;
    for (int i = 0; ls && i < SIM_NQ; i++)
        if (q == sim_quantiles[i])
            return ls->q_s[i];
    return run_stats_quantile(st, m, q);
}
