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
 * The q-quantile of v[0..n) as gsl_stats_quantile_from_sorted_data defines it (linear
 * interpolation between order statistics, Hyndman-Fan type 7), exactly, but by selection
 * instead of a full sort: gsl_stats_select puts the k-th smallest value at v[k] with
 * smaller ones before it and larger ones after, so the next order statistic is the
 * smallest value after k. Reorders v. *lo: v[0..*lo) are known to hold the *lo smallest
 * values (0 when nothing is known), so the selection runs over v[*lo..n) only; set to
 * this quantile's lower order statistic for the next, higher quantile.
 */
static double select_quantile_from(double *v, size_t n, size_t *lo, double q)
{
    if (n == 0)
        return NAN;
    /* The same arithmetic as GSL's quantile_source.c, so results match it bit for bit. */
    const double index = q * (double)(n - 1);
    const size_t lhs = (size_t)index;
    const double delta = index - (double)lhs;
    const size_t from = lhs >= *lo ? *lo : 0;
    if (lhs >= n - 1)
        return gsl_stats_select(v + from, 1, n - from, n - 1 - from);
    double a = gsl_stats_select(v + from, 1, n - from, lhs - from);
    *lo = lhs; /* v[0..lhs) now hold the lhs smallest values */
    double b = v[lhs + 1];
    for (size_t i = lhs + 2; i < n; i++)
        if (v[i] < b)
            b = v[i];
    return (1 - delta) * a + delta * b;
}

double stats_select_quantile(double *v, size_t n, double q)
{
    size_t lo = 0;
    return select_quantile_from(v, n, &lo, q);
}

static void latency_stats(double *v, size_t n, struct latency_stats *out)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    if (n == 0) {
        out->mean_s = out->max_s = NAN;
        for (int i = 0; i < SIM_NQ; i++)
            out->q_s[i] = NAN;
        return;
    }
    out->mean_s = gsl_stats_mean(v, 1, n);
    out->max_s = gsl_stats_max(v, 1, n);
    /* The quantiles in increasing order: each selection partitions v at its order
     * statistic, so the next one selects among the values above it only (the k-th
     * smallest of the whole is the (k - lo)-th of v[lo..n) once v[0..lo) are the lo
     * smallest): the same values with a fraction of the work. */
    size_t lo = 0;
    for (int i = 0; i < SIM_NQ; i++)
        out->q_s[i] = select_quantile_from(v, n, &lo, sim_quantiles[i]);
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
    slo_windows(st, res);
    latency_stats(st->ttft, st->n_ok, &res->ttft);
    latency_stats(st->tpot, st->n_tpot, &res->tpot);
    latency_stats(st->e2e, st->n_ok, &res->e2e);
    latency_stats(st->queue, st->n_ok, &res->queue);
    itl_stats(st, &res->itl);
    res->goodput_output_tokens = st->good_output_tokens;
    res->ok_output_tokens = st->ok_output_tokens;
}

enum { V_TTFT, V_TPOT, V_E2E, V_QUEUE };

/* One metric's values of every part, one after another (malloc'd; *n their count). */
static double *concat_values(struct run_stats *const *parts, size_t n_parts, int which,
                             size_t *n, bool *oom)
{
    size_t total = 0;
    for (size_t i = 0; i < n_parts; i++)
        total += which == V_TPOT ? parts[i]->n_tpot : parts[i]->n_ok;
    *n = total;
    if (total == 0)
        return NULL;
    double *v = sim_reallocarray(NULL, total, sizeof *v);
    if (!v) {
        *oom = true;
        *n = 0;
        return NULL;
    }
    size_t at = 0;
    for (size_t i = 0; i < n_parts; i++) {
        const struct run_stats *p = parts[i];
        const double *src = which == V_TTFT   ? p->ttft
                            : which == V_TPOT ? p->tpot
                            : which == V_E2E  ? p->e2e
                                              : p->queue;
        size_t k = which == V_TPOT ? p->n_tpot : p->n_ok;
        if (k)
            memcpy(v + at, src, k * sizeof *v);
        at += k;
    }
    return v;
}

bool run_stats_fill_merged(struct run_stats *st, struct run_stats *const *parts, size_t n,
                           struct sim_result *res)
{
    struct latency_stats *out[] = {&res->ttft, &res->tpot, &res->e2e, &res->queue};
    bool oom = false;
    slo_windows(st, res);
    for (int m = V_TTFT; m <= V_QUEUE; m++) {
        size_t k = 0;
        double *v = concat_values(parts, n, m, &k, &oom);
        latency_stats(v, k, out[m]);
        free(v);
    }
    itl_stats(st, &res->itl);
    res->goodput_output_tokens = st->good_output_tokens;
    res->ok_output_tokens = st->ok_output_tokens;
    return !oom;
}

double run_stats_quantile(struct run_stats *st, enum slo_metric m, double q)
{
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
