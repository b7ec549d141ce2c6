/*
 * findings.h: what a reviewer should notice in a run, found by a few plain detectors over
 * the run's data (reports/rundata.h), each stated with its numbers:
 *
 *   - latency SLO breaches: runs of consecutive windows (by arrival time) whose TTFT or
 *     TPOT quantile is above the SLO's target, with what went on meanwhile (arrival
 *     spike against the median rate, replicas starting and ready, queue growth, KV cache
 *     full, a spot interruption shortly before);
 *   - requests that timed out at the gateway, were rejected, failed or were unfinished;
 *   - preemption bursts (windows with many times the mean preemptions);
 *   - spot interruptions; how long new replicas took to become Ready;
 *   - a large idle or loading share of the bill;
 *   - an autoscaler that was never active while an SLO failed (often a trigger query
 *     whose labels match no series, so the fleet never scaled);
 *   - in a run of several deployments, each SLO a deployment missed, with its value and
 *     target and the minutes its TTFT was above target (the windows above mix every
 *     deployment's requests, so a deployment's SLO is not placed in time).
 *
 * Times are run time (seconds from the run's start), written h:mm:ss. Pure functions of
 * the data: the same run gives the same findings, in the same order.
 */
#ifndef LLMCAP_REPORTS_FINDINGS_H
#define LLMCAP_REPORTS_FINDINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "reports/rundata.h"

enum finding_kind {
    FIND_SLO_BREACH,
    FIND_TIMEOUT,
    FIND_REJECTED,
    FIND_FAILED,
    FIND_UNFINISHED,
    FIND_PREEMPTION,
    FIND_SPOT,
    FIND_STARTUP,
    FIND_IDLE,
    FIND_LOADING,
    FIND_AUTOSCALER_INACTIVE,
};

struct finding {
    enum finding_kind kind;
    bool warn;         /* a problem, not just a fact */
    double t0_s, t1_s; /* the interval it is about; NaN when none */
    char text[768];    /* one sentence, Markdown-safe plain text */
};

/* At most this many breach intervals are told one by one per SLO. */
enum { FIND_MAX_BREACHES = 3 };

/* Fill out[0..max) with the run's findings (rd loaded with RD_SERIES) and return how many
 * there are (at most max). */
size_t findings_detect(const struct run_data *rd, struct finding *out, size_t max);

/* "h:mm:ss" of run time t (seconds, rounded down). */
void fmt_clock(char *buf, size_t n, double t_s);

/* A duration in words: "45 s", "4 min 10 s", "2 h 05 min". */
void fmt_duration(char *buf, size_t n, double s);

/* A latency: "212 ms", "2 s", "48.4 s" (3 significant digits, no trailing zeros). */
void fmt_latency(char *buf, size_t n, double s);

/* An SLO's target or actual value in its unit: "0.1%" for a fraction (unit "frac"; NaN
 * writes `missing`), else a latency as fmt_latency() writes it. */
void fmt_slo_value(char *buf, size_t n, const char *unit, double v, const char *missing);

#endif
