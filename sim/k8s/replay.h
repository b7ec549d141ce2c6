/*
 * replay.h: run the autoscaler alone over a recorded metric series
 * (`llmcap autoscale replay`).
 *
 * The series is a CSV file with a header: `t_s` (seconds, strictly increasing), one value
 * column per trigger / metric in manifest order (or a single value column that feeds
 * every trigger), and optionally `ready_replicas` last. A value cell is a number, `NaN`,
 * `+Inf`/`-Inf`, empty (the query returned no series) or `error` (the query failed).
 * Each evaluation uses the last row at or before its time; the run starts at the first
 * row and ends at the last. KEDA polls at t0, t0 + pollingInterval, ...; the HPA syncs
 * at t0 + 15 s, t0 + 30 s, ... (its first sync waits one period after creation); at the
 * same instant KEDA goes first. Replicas follow each decision at once and are all ready
 * unless `ready_replicas` says otherwise (clamped to the current count).
 *
 * Or the series is a Prometheus query_range response (a file starting with '{'):
 * {"status":"success","data":{"resultType":"matrix","result":[{"metric":{...},
 * "values":[[unix_s,"v"],...]}]}}, one series feeding every trigger, on the step given
 * by the smallest gap between points; a step with no point is an empty result.
 *
 * Output: CSV with the header
 *   t_s,source,<value columns>,ready_replicas,current_replicas,raw_desired,desired,reason
 * one row per KEDA poll (source `keda`) and per HPA sync (source `hpa`).
 */
#ifndef LLMCAP_SIM_REPLAY_H
#define LLMCAP_SIM_REPLAY_H

#include <stdint.h>
#include <stdio.h>

#include "sim/core/err.h"
#include "sim/k8s/hpa.h"
#include "sim/k8s/keda.h"

struct replay_opts {
    const char *scaledobject_path; /* exactly one of scaledobject_path, hpa_path */
    const char *hpa_path;
    const char *series_path;
    int32_t initial_replicas; /* -1: KEDA minReplicaCount, or HPA minReplicas */
};

/* Load the manifest and replay the series into `out`. SIM_EINVAL / SIM_ENOENT for bad
 * input (err at file:line:col), SIM_EIO when writing fails. */
int autoscale_replay(const struct replay_opts *o, FILE *out, struct sim_err *err);

/* The same with configs already read: exactly one of `so` and `hpa` is not NULL. */
int autoscale_replay_configs(const struct keda_config *so, const struct hpa_config *hpa,
                             const char *series_path, int32_t initial_replicas, FILE *out,
                             struct sim_err *err);

#endif
