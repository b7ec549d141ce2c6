/*
 * headline.h: the headline metrics of a run that `llmcap compare` lines up and `llmcap
 * check` gates on, with their units and which way is worse.
 *
 * Regression rule (check --baseline): a metric marked `gate` regresses when it is worse
 * than the baseline by more than the tolerance (a percentage of the baseline's value)
 * and by more than its floor (an absolute amount, so that 0 -> 0.0001 is not an
 * infinite percentage). Latencies, error rate, SLO-breach time and cost are worse when
 * higher; throughput and goodput when lower. A metric missing or undefined (NULL) in
 * either run is not compared (cost without a cost model, TPOT without multi-token
 * requests).
 */
#ifndef LLMCAP_REPORTS_HEADLINE_H
#define LLMCAP_REPORTS_HEADLINE_H

#include <stdbool.h>
#include <stddef.h>

#include "reports/rundata.h"

enum hl_unit {
    HL_S,
    HL_FRAC,
    HL_REQ_PER_S,
    HL_TOK_PER_S,
    HL_USD,
    HL_USD_PER_MTOK,
    HL_COUNT,
    HL_MIN
};

enum hl_dir {
    HL_NEUTRAL,      /* neither way is worse (fleet size, counts) */
    HL_HIGHER_WORSE, /* latency, errors, cost */
    HL_LOWER_WORSE,  /* throughput, goodput */
};

struct hl_metric {
    const char *key;   /* summary key, or a derived one (cost_idle_frac, cost_loading_frac) */
    const char *label; /* for people */
    enum hl_unit unit;
    enum hl_dir dir;
    bool gate;    /* counts as a regression in `llmcap check --baseline` */
    double floor; /* smallest change (in the metric's unit) that can be a regression */
};

extern const struct hl_metric hl_metrics[];
extern const size_t hl_n_metrics;

/* The metric's value in the run (NaN when missing or undefined). */
double hl_value(const struct run_data *rd, const struct hl_metric *m);

/* The unit as printed ("s", "%", "req/s", "tok/s", "USD", "USD/1M tok", "", "min"). */
const char *hl_unit_name(enum hl_unit u);

/* The value for people in the metric's unit (fractions as percentages, seconds as
 * minutes for HL_MIN), "-" for NaN; `scale` gives the factor applied. */
void hl_format(char *buf, size_t n, const struct hl_metric *m, double v);
double hl_display_scale(const struct hl_metric *m);

/* Whether `now` regressed from `base` beyond `tolerance_pct`; false when either is NaN.
 * *limit gets the largest value (or smallest, for HL_LOWER_WORSE) that passes. */
bool hl_regressed(const struct hl_metric *m, double base, double now, double tolerance_pct,
                  double *limit);

/* "worse", "better" or "" for a change from base to now. */
const char *hl_verdict(const struct hl_metric *m, double base, double now);

#endif
