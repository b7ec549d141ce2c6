/*
 * stats.h: the statistics of one stream of requests (a run, one deployment of it, or one
 * class of requests): TTFT, TPOT, end-to-end and queueing times of OK requests, goodput
 * against the SLO targets, inter-token latency, and per-minute windows of the TTFT SLO.
 * Arrays grow by doubling (no allocation per request once grown).
 */
#ifndef LLMCAP_SIM_STATS_H
#define LLMCAP_SIM_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/config/scenario.h"
#include "sim/core/gaphist.h"
#include "sim/sim.h"

struct run_stats {
    double *ttft, *tpot, *e2e, *queue; /* seconds, OK requests */
    size_t n_ok, n_tpot, cap_ok;
    uint64_t n_good;             /* OK requests within the TTFT and TPOT SLO targets */
    uint64_t good_output_tokens; /* their output tokens (the cost of goodput) */
    struct gaphist itl;          /* every inter-token gap streamed (us) */
    int64_t itl_ok_sum_us;       /* gaps of OK requests: vLLM's mean ITL */
    uint64_t itl_ok_n;
    uint64_t ok_output_tokens;   /* output tokens of OK requests (semantic hits excluded) */
    /* Per-minute windows (by arrival) of the strictest TTFT SLO: requests, and how many
     * missed the target; a window breaches when more than (1 - q) of them missed. */
    uint32_t *win_n, *win_over;
    size_t n_win;
    double ttft_lim_q;
    double ttft_lim, tpot_lim; /* strictest TTFT/TPOT SLO targets (s), or INFINITY */
    /* Counts only, no per-request arrays: the run's statistics over several deployments,
     * whose values are the deployments' own arrays (run_stats_fill_merged), so a week of
     * two deployments keeps each request's times once, not twice. */
    bool counts_only;
    /* Bit m (TTFT, TPOT, e2e, queue): that array's summary was taken without reordering
     * it, and owes the reordering earlier versions' selection made (stats.c). */
    unsigned order_owed;
};

/* An OK request's times (seconds) and what counts for goodput and ITL. */
struct stats_ok {
    int64_t arrival_us;
    double ttft, tpot, e2e, queue;
    bool has_tpot;
    int32_t output_tokens;
    int64_t itl_sum_us, itl_n;
};

/* Empty statistics against the strictest TTFT and TPOT targets of slo[0..n). */
void run_stats_init(struct run_stats *st, const struct slo_item *slo, size_t n);
void run_stats_free(struct run_stats *st);
/* One OK request. false: out of memory. */
bool run_stats_ok(struct run_stats *st, const struct stats_ok *r);
/* One inter-token gap streamed (any request). */
static inline void run_stats_gap(struct run_stats *st, int64_t gap_us)
{
    gaphist_add(&st->itl, gap_us, 1);
}
/* Fill res's ttft, tpot, e2e, queue, itl, goodput count and SLO windows (may reorder the
 * arrays). */
void run_stats_fill(struct run_stats *st, struct sim_result *res);
/* run_stats_fill for counts-only statistics (counts_only) whose values are those of
 * parts[0..n) together (may reorder their arrays). false: out of memory. */
bool run_stats_fill_merged(struct run_stats *st, struct run_stats *const *parts, size_t n,
                           struct sim_result *res);
/* The q-quantile of one SLO metric's values (TTFT, TPOT or e2e), NaN without values. */
double run_stats_quantile(struct run_stats *st, enum slo_metric m, double q);
/* run_stats_quantile after run_stats_fill(st, res): a quantile run_stats_fill already
 * took (one of sim_quantiles) is read from res (the same value), any other selected. */
double run_stats_slo_quantile(struct run_stats *st, const struct sim_result *res,
                              enum slo_metric m, double q);
/* As gsl_stats_quantile_from_sorted_data on v sorted, by selection (reorders v). */
double stats_select_quantile(double *v, size_t n, double q);

#endif
