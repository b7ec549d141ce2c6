/*
 * keda.h: a KEDA ScaledObject (keda.sh/v1alpha1) as a pure, deterministic state machine.
 *
 * KEDA does two things for a ScaledObject, and both are here:
 *  - the operator's polling loop (keda_poll, every pollingInterval): query every trigger,
 *    decide activity, scale 0 -> minReplicaCount (or 1) on activity, and back to 0 (or
 *    idleReplicaCount) once no trigger has been active for cooldownPeriod;
 *  - the metrics adapter (keda_hpa_metric), which the HPA queries at each of its syncs:
 *    the trigger's value in milli-units, or an error, or the fallback's synthetic value.
 * The 1 <-> N scaling is the HPA's (sim/k8s/hpa.h), built from the ScaledObject by
 * keda_hpa_config() as KEDA builds its HPA. Queries are evaluated by the caller; KEDA
 * sees their results (struct keda_sample) and applies the Prometheus scaler's rules
 * (ignoreNullValues, activationThreshold, milli conversion).
 *
 * Sources: kedacore/keda pkg/scaling/scale_handler.go, pkg/scaling/executor/
 * scale_scaledobjects.go, pkg/fallback/fallback.go, pkg/scalers/prometheus_scaler.go,
 * pkg/scalers/scaler.go, controllers/keda/hpa.go, apis/keda/v1alpha1. See
 * docs/autoscaling-semantics.md.
 */
#ifndef LLMCAP_SIM_KEDA_H
#define LLMCAP_SIM_KEDA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/core/err.h"
#include "sim/k8s/hpa.h"

#define KEDA_MAX_TRIGGERS HPA_MAX_METRICS

enum keda_metric_type { KEDA_METRIC_AVERAGE_VALUE, KEDA_METRIC_VALUE };

enum keda_fallback_behavior {
    KEDA_FALLBACK_STATIC,                     /* fallback.replicas */
    KEDA_FALLBACK_CURRENT_REPLICAS,           /* spec.replicas now */
    KEDA_FALLBACK_CURRENT_REPLICAS_IF_HIGHER, /* max(spec.replicas, fallback.replicas) */
    KEDA_FALLBACK_CURRENT_REPLICAS_IF_LOWER,  /* min(spec.replicas, fallback.replicas) */
};

/* One `type: prometheus` trigger. */
struct keda_trigger {
    char *name;                        /* triggers[].name, or NULL (heap) */
    enum keda_metric_type metric_type; /* triggers[].metricType, default AverageValue */
    double threshold;                  /* metadata.threshold, > 0 */
    double activation_threshold;       /* metadata.activationThreshold, default 0 */
    bool ignore_null_values;           /* metadata.ignoreNullValues, default true */
    bool use_cached_metrics;           /* triggers[].useCachedMetrics, default false */
    struct pos_text query;             /* metadata.query and where it was written */
};

struct keda_config {
    int64_t polling_interval_us;        /* pollingInterval, default 30 s */
    int64_t cooldown_period_us;         /* cooldownPeriod, default 300 s */
    int64_t initial_cooldown_period_us; /* initialCooldownPeriod, default 0 */
    bool has_min_replica_count;
    int32_t min_replica_count; /* default 0 */
    int32_t max_replica_count; /* default 100 */
    bool has_idle_replica_count;
    int32_t idle_replica_count;
    bool has_fallback;
    int32_t fallback_failure_threshold; /* >= 0 */
    int32_t fallback_replicas;          /* >= 0 */
    enum keda_fallback_behavior fallback_behavior;
    bool pause_scale_in;          /* annotation autoscaling.keda.sh/paused-scale-in */
    bool pause_scale_out;         /* annotation autoscaling.keda.sh/paused-scale-out */
    bool has_behavior;            /* advanced.horizontalPodAutoscalerConfig.behavior set */
    struct hpa_behavior behavior; /* defaulted as the API server stores the HPA */
    size_t n_triggers;
    struct keda_trigger triggers[KEDA_MAX_TRIGGERS];
};

/* An empty config with KEDA's defaults (no triggers). */
void keda_config_init(struct keda_config *c);

/* Free the trigger names and query texts (not `c`). */
void keda_config_release(struct keda_config *c);

/* Check a config built by hand as KEDA's CRD schema and webhook do (no location). */
int keda_config_check(const struct keda_config *c, struct sim_err *err);

/*
 * The HPA KEDA creates for the ScaledObject (controllers/keda/hpa.go
 * newHPAForScaledObject): minReplicas max(1, minReplicaCount), maxReplicas
 * maxReplicaCount, one External metric per trigger with the threshold as its
 * AverageValue or Value target, the behavior passed through (nil stays nil: the legacy
 * path), scaleDown / scaleUp selectPolicy Disabled under the paused-scale-in / -out
 * annotations, and the controller defaults. The metrics carry no query text: their
 * values come from keda_hpa_metric(). Nothing to release.
 */
void keda_hpa_config(const struct keda_config *c, struct hpa_config *out);

/* ---- runtime ------------------------------------------------------------------------ */

/* The result of one instant query, as the caller's PromQL evaluation gave it. */
enum keda_sample_kind {
    KEDA_SAMPLE_VALUE, /* one series: `value` (NaN and Inf allowed) */
    KEDA_SAMPLE_EMPTY, /* no series */
    KEDA_SAMPLE_ERROR, /* the query failed (Prometheus down, more than one series, ...) */
};

struct keda_sample {
    enum keda_sample_kind kind;
    double value;
};

enum keda_why {
    KEDA_WHY_ACTIVATE,     /* active at 0 (or below min when idle): scale up */
    KEDA_WHY_ACTIVE,       /* active: lastActiveTime refreshed */
    KEDA_WHY_ACTIVE_ERROR, /* active but a trigger failed: nothing, lastActive kept */
    KEDA_WHY_ERROR,        /* no trigger active and a trigger failed: nothing */
    KEDA_WHY_DEACTIVATE,   /* cooldown over: scale to idleReplicaCount / min / 0 */
    KEDA_WHY_COOLDOWN,     /* scale-in waits for the cooldown */
    KEDA_WHY_TO_MIN,       /* inactive and below minReplicaCount: set to min */
    KEDA_WHY_INACTIVE,     /* nothing to do */
    KEDA_WHY_PAUSED,       /* the scale it would do is paused by annotation */
};

struct keda_poll_out {
    int64_t now_us;
    bool active;          /* any trigger active (fallback counts as active) */
    bool error;           /* any trigger failed (after fallback) */
    bool fallback_active; /* any trigger serves its fallback value */
    int32_t current_replicas;
    int32_t target_replicas; /* what KEDA's rule asks for (current when nothing) */
    int32_t desired;         /* spec.replicas after the poll */
    bool scaled;             /* desired != current: a scale write */
    enum keda_why why;
    char reason[160];
};

struct keda;

/* A ScaledObject created at `created_us` (its CreationTimestamp; initialCooldownPeriod
 * counts from it). The config is copied (names and queries are not). Caller owns:
 * keda_free(). NULL + err on an invalid config or no memory. */
struct keda *keda_new(const struct keda_config *cfg, int64_t created_us, struct sim_err *err);

void keda_free(struct keda *k); /* NULL is a no-op */

/* Start as if the ScaledObject had last been active at `t_us` (a run that begins in
 * steady state, with traffic flowing): scale to zero then waits for the cooldown. */
void keda_assume_active(struct keda *k, int64_t t_us);

const struct keda_config *keda_config_of(const struct keda *k);

/*
 * One iteration of the operator's scale loop at `now_us` (checkScalers ->
 * getScaledObjectState -> RequestScale): `samples` holds one result per trigger, in
 * order; `current_replicas` is the target's spec.replicas, `ready_replicas` its Running
 * and Ready pods (for a Value fallback). Updates fallback health, lastActiveTime and
 * cached metrics; fills *out. The caller applies out->desired when out->scaled.
 */
void keda_poll(struct keda *k, int64_t now_us, int32_t current_replicas, int32_t ready_replicas,
               const struct keda_sample *samples, struct keda_poll_out *out);

/*
 * What the HPA gets for trigger `i` when it queries the external metrics API
 * (GetScaledObjectMetrics): the value of `live` (the query evaluated now) or, with
 * useCachedMetrics and a record from a poll, the cached record; then the fallback
 * (fallback.GetMetricsWithFallback), which counts failures. `ok` false is an error for
 * the HPA. Pass the result to hpa_sync() as metric `i` of keda_hpa_config().
 */
struct hpa_metric_value keda_hpa_metric(struct keda *k, size_t i, int32_t current_replicas,
                                        int32_t ready_replicas, const struct keda_sample *live);

/* True when keda_hpa_metric() for trigger `i` would read the poll's cache and ignore
 * `live` (so the caller may skip evaluating the query). */
bool keda_uses_cache(const struct keda *k, size_t i);

/* Consecutive failures counted for trigger `i` (status.health[...].numberOfFailures). */
int32_t keda_failures(const struct keda *k, size_t i);

/* status.lastActiveTime: true and *t_us when set. */
bool keda_last_active(const struct keda *k, int64_t *t_us);

/* Short names for CSV output: "activate", "cooldown", ... */
const char *keda_why_name(enum keda_why why);

#endif
