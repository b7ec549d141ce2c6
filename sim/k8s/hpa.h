/*
 * hpa.h: the Kubernetes HorizontalPodAutoscaler (autoscaling/v2) controller as a pure,
 * deterministic state machine.
 *
 * One `struct hpa` is one HPA object as kube-controller-manager keeps it: the spec, the
 * history of unstabilised recommendations and the scale-up / scale-down events that the
 * behavior policies read. hpa_sync() is one reconcile (horizontal.go
 * reconcileAutoscaler), called every sync period (15 s by default) with the target's
 * spec.replicas, status.replicas, ready pods and the value of each metric as the metrics
 * APIs returned it (already evaluated: a value in milli-units, or a failure). It returns
 * a decision record: the raw recommendation, the stabilised and rate-limited result, and
 * a short reason. No time source, no randomness, no allocation per sync in steady state.
 *
 * The rules follow kubernetes/kubernetes pkg/controller/podautoscaler (horizontal.go,
 * replica_calculator.go) and pkg/apis/autoscaling/v2/defaults.go; docs/autoscaling-
 * semantics.md lists them with the functions they come from. CPU and memory (Resource and
 * ContainerResource metrics) are not simulated and are rejected when the manifest is read.
 */
#ifndef LLMCAP_SIM_HPA_H
#define LLMCAP_SIM_HPA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/core/err.h"

#define HPA_MAX_METRICS 16
#define HPA_MAX_POLICIES 8
#define HPA_WINDOW_UNSET (-1) /* scaleDown.stabilizationWindowSeconds nil: controller flag */

/* Text from a manifest with where it was: a PromQL query (KEDA) or a metric selector
 * (HPA), kept for the PromQL evaluator. Heap strings, owned by the config holding them;
 * text is NULL when there is none. */
struct pos_text {
    char *text;
    char *file;
    long line, col; /* 1-based position of the scalar */
};

enum hpa_metric_source {
    HPA_SOURCE_EXTERNAL, /* external.metric: one value for the whole target */
    HPA_SOURCE_PODS,     /* pods.metric: one value per pod */
    HPA_SOURCE_OBJECT,   /* object.metric: one value of a described object */
};

enum hpa_target_type { HPA_TARGET_VALUE, HPA_TARGET_AVERAGE_VALUE };

enum hpa_select_policy { HPA_SELECT_MAX, HPA_SELECT_MIN, HPA_SELECT_DISABLED };

enum hpa_policy_type { HPA_POLICY_PODS, HPA_POLICY_PERCENT };

struct hpa_policy {
    enum hpa_policy_type type;
    int32_t value;    /* pods, or percent of the replicas at the start of the period */
    int32_t period_s; /* (0, 1800] */
};

/* HPAScalingRules after defaulting (every field set, as the API server stores it). */
struct hpa_rules {
    int32_t stabilization_window_s; /* [0, 3600], or HPA_WINDOW_UNSET (scale-down only) */
    enum hpa_select_policy select_policy;
    size_t n_policies; /* >= 1 */
    struct hpa_policy policies[HPA_MAX_POLICIES];
    bool has_tolerance; /* behavior.scale{Up,Down}.tolerance (HPAConfigurableTolerance) */
    double tolerance;
};

struct hpa_behavior {
    struct hpa_rules scale_up, scale_down;
};

/* What SetDefaults_HorizontalPodAutoscalerBehavior fills for a rules block that is
 * absent: scaleUp {window 0, Max, Pods 4/15s, Percent 100/15s}; scaleDown {window unset
 * (the controller's --horizontal-pod-autoscaler-downscale-stabilization), Max,
 * Percent 100/15s}. */
void hpa_rules_default_scale_up(struct hpa_rules *r);
void hpa_rules_default_scale_down(struct hpa_rules *r);

struct hpa_metric_spec {
    enum hpa_metric_source source;
    enum hpa_target_type target_type; /* Pods: always AverageValue */
    int64_t target_milli;             /* the target quantity's MilliValue(), > 0 */
    struct pos_text query;            /* the metric selector "name{k=\"v\"}", or NULL
                                         text when the values come from KEDA */
};

struct hpa_config {
    int32_t min_replicas; /* spec.minReplicas, >= 1 */
    int32_t max_replicas; /* spec.maxReplicas, >= min_replicas */
    size_t n_metrics;     /* >= 1 */
    struct hpa_metric_spec metrics[HPA_MAX_METRICS];
    bool has_behavior; /* false: spec.behavior nil, the legacy path */
    struct hpa_behavior behavior;
    /* kube-controller-manager flags */
    int64_t sync_period_us;            /* --horizontal-pod-autoscaler-sync-period, 15 s */
    double tolerance;                  /* --horizontal-pod-autoscaler-tolerance, 0.1 */
    int32_t downscale_stabilization_s; /* --horizontal-pod-autoscaler-downscale-
                                          stabilization, 300 s */
};

/* An empty config with the controller defaults (min 1, max 0: fill it, no metrics, no
 * behavior, sync 15 s, tolerance 0.1, downscale stabilisation 300 s). */
void hpa_config_init(struct hpa_config *c);

/* Free the query texts (not `c`). */
void hpa_config_release(struct hpa_config *c);

/* Check a config built by hand: ranges as the Kubernetes API validates them. */
int hpa_config_check(const struct hpa_config *c, struct sim_err *err);

/* A Kubernetes quantity's MilliValue() for a double as the metrics APIs produce it
 * (KEDA's quantityFromFloat64: "%.3f", so rounded to the nearest thousandth; NaN, Inf
 * and negative values give 0). */
int64_t hpa_milli_from_double(double v);

/* ---- one reconcile ------------------------------------------------------------------ */

/* A pod as groupPods() sorts it for a Pods metric. */
enum hpa_pod_state {
    HPA_POD_RUNNING, /* running and its metric is in the API: counted ("ready") */
    HPA_POD_MISSING, /* running, no metric sample: "missing" */
    HPA_POD_PENDING, /* phase Pending: "unready" */
    HPA_POD_IGNORED, /* being deleted or failed: left out */
};

struct hpa_pod {
    enum hpa_pod_state state;
    int64_t milli; /* the metric (RUNNING only) */
};

/* The value of one metric at this sync, as the metrics API answered. */
struct hpa_metric_value {
    bool ok;                    /* false: the API returned an error (no value) */
    int64_t milli;              /* External / Object: the metric summed over its series */
    const struct hpa_pod *pods; /* Pods: every pod of the target (borrowed) */
    size_t n_pods;
};

struct hpa_sync_in {
    int64_t now_us;          /* non-decreasing from call to call */
    int32_t spec_replicas;   /* scale.spec.replicas ("currentReplicas") */
    int32_t status_replicas; /* scale.status.replicas */
    int32_t ready_replicas;  /* pods Running and Ready (External/Object Value targets) */
    const struct hpa_metric_value *metrics; /* one per config metric, in order */
};

enum hpa_why {
    HPA_WHY_SCALING_DISABLED, /* spec.replicas 0 and minReplicas != 0 */
    HPA_WHY_ABOVE_MAX,        /* spec.replicas > maxReplicas: set to max, no metrics */
    HPA_WHY_BELOW_MIN,        /* spec.replicas < minReplicas: set to min, no metrics */
    HPA_WHY_METRICS_FAILED,   /* all failed, or some failed and the rest scale down */
    HPA_WHY_WITHIN_TOLERANCE, /* every metric within tolerance: no change */
    HPA_WHY_NO_CHANGE,        /* recommendation equals the current count */
    HPA_WHY_SCALE_UP,         /* to the recommendation */
    HPA_WHY_SCALE_DOWN,
    HPA_WHY_UP_LIMITED,    /* by a policy, maxReplicas or the legacy rate */
    HPA_WHY_DOWN_LIMITED,  /* by a policy or minReplicas */
    HPA_WHY_UP_HELD,       /* by the scale-up stabilisation window */
    HPA_WHY_DOWN_HELD,     /* by the scale-down stabilisation window */
    HPA_WHY_UP_DISABLED,   /* scaleUp.selectPolicy Disabled */
    HPA_WHY_DOWN_DISABLED, /* scaleDown.selectPolicy Disabled */
};

struct hpa_decision {
    int64_t now_us;
    int32_t current_replicas; /* spec.replicas seen */
    int32_t raw_desired;      /* max over metric proposals; -1 when not computed */
    int32_t stabilized;       /* after the stabilisation window; -1 when not computed */
    int32_t desired;          /* spec.replicas after this sync */
    bool rescale;             /* desired != current_replicas: a scale write */
    enum hpa_why why;
    int metric;       /* index of the metric that gave raw_desired, or -1 */
    int n_failed;     /* metrics whose value was not ok */
    char reason[160]; /* "scale up limited by policy Pods 4/15s" */
};

struct hpa;

/* A controller for `cfg` (copied; the query texts are not). Caller owns: hpa_free().
 * NULL + err on an invalid config or no memory. */
struct hpa *hpa_new(const struct hpa_config *cfg, struct sim_err *err);

void hpa_free(struct hpa *h); /* NULL is a no-op */

/* The config in use (borrowed). */
const struct hpa_config *hpa_config_of(const struct hpa *h);

/*
 * One reconcile at in->now_us. Fills *out. Returns SIM_OK, or SIM_ENOMEM when a history
 * had to grow and could not (only when syncs come faster than the sync period the
 * histories were sized for).
 */
int hpa_sync(struct hpa *h, const struct hpa_sync_in *in, struct hpa_decision *out);

/* Short names for CSV output: "scale_up", "down_held", ... */
const char *hpa_why_name(enum hpa_why why);

#endif
