/*
 * keda: the ScaledObject polling loop, the metrics adapter and the fallback, against
 * decisions worked out by hand from kedacore/keda (scale_scaledobjects.go RequestScale,
 * scaleToZeroOrIdle, fallback.go GetMetricsWithFallback / doFallback,
 * prometheus_scaler.go). Times in the comments are seconds from the ScaledObject's
 * creation; polls every 30 s from t = 0.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sim/k8s/hpa.h"
#include "sim/k8s/keda.h"

#define S(x) ((int64_t)(x)*1000000LL)

static struct keda_config one_trigger(double threshold, double activation)
{
    struct keda_config c;
    keda_config_init(&c);
    c.max_replica_count = 10;
    c.n_triggers = 1;
    c.triggers[0].metric_type = KEDA_METRIC_AVERAGE_VALUE;
    c.triggers[0].threshold = threshold;
    c.triggers[0].activation_threshold = activation;
    c.triggers[0].ignore_null_values = true;
    return c;
}

static struct keda *make(const struct keda_config *c)
{
    struct sim_err e = {0};
    struct keda *k = keda_new(c, 0, &e);
    cr_assert_not_null(k, "%s", e.msg);
    return k;
}

static struct keda_sample val(double v)
{
    return (struct keda_sample){KEDA_SAMPLE_VALUE, v};
}

static const struct keda_sample failed = {KEDA_SAMPLE_ERROR, 0.0};

static struct keda_poll_out poll1(struct keda *k, int64_t t_s, int32_t cur, struct keda_sample s)
{
    struct keda_poll_out o;
    keda_poll(k, S(t_s), cur, cur, &s, &o);
    return o;
}

/* ---- activation and cooldown ------------------------------------------------------------ */

Test(keda, activation_is_strictly_greater_than_the_threshold)
{
    /* activationThreshold 5: a value of exactly 5 is not active (val > 5 is false), the
     * target stays at 0; 5.001 activates it to 1 (minReplicaCount 0 -> 1). */
    struct keda_config c = one_trigger(10, 5);
    struct keda *k = make(&c);
    struct keda_poll_out o = poll1(k, 0, 0, val(5.0));
    cr_assert_not(o.active);
    cr_assert_eq(o.desired, 0);
    cr_assert_eq(o.why, KEDA_WHY_INACTIVE);
    o = poll1(k, 30, 0, val(5.001));
    cr_assert(o.active);
    cr_assert(o.scaled);
    cr_assert_eq(o.desired, 1);
    cr_assert_str_eq(o.reason, "activate: scale from 0 to 1");
    int64_t t;
    cr_assert(keda_last_active(k, &t));
    cr_assert_eq(t, S(30));
    keda_free(k);
}

Test(keda, activation_goes_to_min_replica_count_when_above_zero)
{
    struct keda_config c = one_trigger(10, 0);
    c.has_min_replica_count = true;
    c.min_replica_count = 3;
    c.has_idle_replica_count = true;
    c.idle_replica_count = 0;
    struct keda *k = make(&c);
    struct keda_poll_out o = poll1(k, 0, 0, val(1));
    cr_assert_eq(o.desired, 3); /* scaleFromZeroOrIdle: minReplicaCount when > 0 */
    keda_free(k);
}

Test(keda, cooldown_scales_to_zero_on_the_first_poll_strictly_after_it)
{
    /* Active at t=0, 30, 60 (value 3 > 0): lastActiveTime 60. Inactive from t=90. The
     * condition is lastActive + 300 < now: at 360 it is 360 < 360, false; the next poll,
     * 390, scales to 0. */
    struct keda_config c = one_trigger(10, 0);
    struct keda *k = make(&c);
    int32_t cur = 0;
    for (int64_t t = 0; t <= 60; t += 30)
        cur = poll1(k, t, cur, val(3)).desired;
    cr_assert_eq(cur, 1);
    cur = 4; /* the HPA scaled it meanwhile; KEDA only cares about 0 <-> 1 */
    struct keda_poll_out o;
    for (int64_t t = 90; t <= 360; t += 30) {
        o = poll1(k, t, cur, val(0));
        cr_assert_eq(o.desired, 4, "t=%lld", (long long)t);
        cr_assert_eq(o.why, KEDA_WHY_COOLDOWN);
    }
    cr_assert_str_eq(o.reason,
                     "scale in to 0 held by cooldown (last active at 60s, cooldown 300s)");
    o = poll1(k, 390, cur, val(0));
    cr_assert_eq(o.desired, 0);
    cr_assert_eq(o.why, KEDA_WHY_DEACTIVATE);
    cr_assert_str_eq(o.reason, "cooldown over: scale in to 0 (last active at 60s, cooldown 300s)");
    keda_free(k);
}

Test(keda, min_replica_count_one_never_scales_to_zero)
{
    /* minReplicaCount 1, no idle: an inactive trigger matches no scale-in case in
     * RequestScale (current > 0 && min == 0 is false), so nothing happens. */
    struct keda_config c = one_trigger(10, 0);
    c.has_min_replica_count = true;
    c.min_replica_count = 1;
    struct keda *k = make(&c);
    for (int64_t t = 0; t <= 3600; t += 30) {
        struct keda_poll_out o = poll1(k, t, 2, val(0));
        cr_assert_eq(o.desired, 2);
        cr_assert_eq(o.why, KEDA_WHY_INACTIVE);
    }
    /* below min with no activity: set to min */
    struct keda_poll_out o = poll1(k, 3630, 0, val(0));
    cr_assert_eq(o.desired, 1);
    cr_assert_eq(o.why, KEDA_WHY_TO_MIN);
    keda_free(k);
}

Test(keda, never_active_target_scales_in_after_the_initial_cooldown)
{
    /* lastActiveTime nil: CreationTimestamp (0) + initialCooldownPeriod (60) < now: false
     * at 60, true at 90. */
    struct keda_config c = one_trigger(10, 0);
    c.initial_cooldown_period_us = S(60);
    struct keda *k = make(&c);
    cr_assert_eq(poll1(k, 60, 2, val(0)).desired, 2);
    struct keda_poll_out o = poll1(k, 90, 2, val(0));
    cr_assert_eq(o.desired, 0);
    cr_assert_str_eq(o.reason,
                     "scale in to 0: never active (created at 0s, initialCooldownPeriod 60s)");
    keda_free(k);
}

Test(keda, idle_replica_count_is_the_scale_in_target)
{
    /* idleReplicaCount 0, min 2: inactive at 2 after the cooldown -> 0 (idle), active at
     * 0 -> 2. */
    struct keda_config c = one_trigger(10, 0);
    c.has_min_replica_count = true;
    c.min_replica_count = 2;
    c.has_idle_replica_count = true;
    c.idle_replica_count = 0;
    c.cooldown_period_us = S(60);
    struct keda *k = make(&c);
    cr_assert_eq(poll1(k, 0, 2, val(1)).desired, 2);  /* active: lastActive 0 */
    cr_assert_eq(poll1(k, 60, 2, val(0)).desired, 2); /* 0 + 60 < 60 false */
    cr_assert_eq(poll1(k, 90, 2, val(0)).desired, 0);
    cr_assert_eq(poll1(k, 120, 0, val(1)).desired, 2);
    keda_free(k);
}

Test(keda, null_values_are_zero_unless_ignore_null_values_is_false)
{
    struct keda_config c = one_trigger(10, 0);
    struct keda *k = make(&c);
    struct keda_sample empty = {KEDA_SAMPLE_EMPTY, 0.0};
    struct keda_poll_out o;
    keda_poll(k, 0, 0, 0, &empty, &o);
    cr_assert_not(o.error); /* 0, not active */
    cr_assert_not(o.active);
    keda_free(k);
    c.triggers[0].ignore_null_values = false;
    k = make(&c);
    keda_poll(k, 0, 0, 0, &empty, &o);
    cr_assert(o.error);
    struct keda_sample nan = val(NAN);
    keda_poll(k, 30, 0, 0, &nan, &o);
    cr_assert(o.error);
    keda_free(k);
}

Test(keda, a_failing_trigger_without_fallback_blocks_scale_to_zero)
{
    /* Not active and a scaler error, no fallback: RequestScale's "isError && Fallback
     * == nil" case does nothing, even long after the cooldown. */
    struct keda_config c = one_trigger(10, 0);
    struct keda *k = make(&c);
    poll1(k, 0, 0, val(1));
    for (int64_t t = 30; t <= 900; t += 30) {
        struct keda_poll_out o = poll1(k, t, 1, failed);
        cr_assert_eq(o.desired, 1);
        cr_assert_str_eq(o.reason, "trigger failed: no change");
    }
    keda_free(k);
}

Test(keda, an_error_while_active_keeps_the_old_last_active_time)
{
    /* Two triggers: one active, one failing: RequestScale's isError case, lastActiveTime
     * stays at 0 (the last clean active poll). */
    struct keda_config c = one_trigger(10, 0);
    c.n_triggers = 2;
    c.triggers[1] = c.triggers[0];
    struct keda *k = make(&c);
    struct keda_sample s[2] = {val(1), val(1)};
    struct keda_poll_out o;
    keda_poll(k, 0, 0, 0, s, &o);
    cr_assert_eq(o.desired, 1);
    s[1] = failed;
    keda_poll(k, 30, 1, 1, s, &o);
    cr_assert(o.active);
    cr_assert(o.error);
    cr_assert_eq(o.why, KEDA_WHY_ACTIVE_ERROR);
    int64_t t;
    cr_assert(keda_last_active(k, &t));
    cr_assert_eq(t, 0);
    keda_free(k);
}

Test(keda, any_active_trigger_activates)
{
    struct keda_config c = one_trigger(10, 5);
    c.n_triggers = 2;
    c.triggers[1] = c.triggers[0];
    c.triggers[1].activation_threshold = 100;
    struct keda *k = make(&c);
    struct keda_sample s[2] = {val(6), val(50)}; /* 6 > 5 active; 50 > 100 not */
    struct keda_poll_out o;
    keda_poll(k, 0, 0, 0, s, &o);
    cr_assert(o.active);
    cr_assert_eq(o.desired, 1);
    keda_free(k);
}

/* ---- fallback --------------------------------------------------------------------------- */

Test(keda, fallback_starts_on_the_failure_after_the_threshold_and_resets_on_success)
{
    /* failureThreshold 3, replicas 6, AverageValue 5: failures 1, 2, 3 are errors for the
     * HPA; the 4th (4 > 3) returns target x replicas = 5 x 6 = 30 (30000 milli), which the
     * HPA turns into ceil(30/5) = 6. A success resets the count: the next failure is 1. */
    struct keda_config c = one_trigger(5, 0);
    c.has_fallback = true;
    c.fallback_failure_threshold = 3;
    c.fallback_replicas = 6;
    struct keda *k = make(&c);
    for (int i = 1; i <= 3; i++) {
        struct hpa_metric_value m = keda_hpa_metric(k, 0, 2, 2, &failed);
        cr_assert_not(m.ok, "failure %d", i);
        cr_assert_eq(keda_failures(k, 0), i);
    }
    struct hpa_metric_value m = keda_hpa_metric(k, 0, 2, 2, &failed);
    cr_assert(m.ok);
    cr_assert_eq(m.milli, 30000);
    struct keda_sample ok = val(12);
    m = keda_hpa_metric(k, 0, 2, 2, &ok);
    cr_assert(m.ok);
    cr_assert_eq(m.milli, 12000);
    cr_assert_eq(keda_failures(k, 0), 0);
    cr_assert_not(keda_hpa_metric(k, 0, 2, 2, &failed).ok);
    cr_assert_eq(keda_failures(k, 0), 1);

    /* the HPA computes exactly fallback.replicas from the synthetic value */
    struct hpa_config hc;
    keda_hpa_config(&c, &hc);
    struct sim_err e = {0};
    struct hpa *h = hpa_new(&hc, &e);
    cr_assert_not_null(h);
    struct hpa_metric_value fb = {true, 30000, NULL, 0};
    struct hpa_sync_in in = {S(15), 2, 2, 2, &fb};
    struct hpa_decision d;
    cr_assert_eq(hpa_sync(h, &in, &d), SIM_OK);
    cr_assert_eq(d.raw_desired, 6);
    hpa_free(h);
    keda_free(k);
}

Test(keda, polls_and_hpa_queries_count_failures_together)
{
    /* Both the poll loop and the HPA's metric requests go through
     * GetMetricsWithFallback: poll (1), HPA (2), HPA (3), poll (4 > 3: fallback, and the
     * trigger counts as active). */
    struct keda_config c = one_trigger(5, 0);
    c.has_fallback = true;
    c.fallback_failure_threshold = 3;
    c.fallback_replicas = 6;
    struct keda *k = make(&c);
    struct keda_poll_out o = poll1(k, 0, 1, failed);
    cr_assert(o.error);
    cr_assert_str_eq(o.reason, "trigger failed: no change until the fallback applies");
    keda_hpa_metric(k, 0, 1, 1, &failed);
    keda_hpa_metric(k, 0, 1, 1, &failed);
    cr_assert_eq(keda_failures(k, 0), 3);
    o = poll1(k, 30, 1, failed);
    cr_assert(o.fallback_active);
    cr_assert(o.active);
    cr_assert_not(o.error);
    cr_assert_str_eq(o.reason, "active (fallback)");
    keda_free(k);
}

Test(keda, fallback_value_metric_divides_by_ready_replicas)
{
    /* metricType Value, target 5, fallback 6, 4 ready: int64(5 x 1000 x 6/4) = 7500
     * milli; the HPA's Value rule gives ceil(7500/5000 x 4) = 6. With 0 ready doFallback
     * fails and the HPA gets an error. */
    struct keda_config c = one_trigger(5, 0);
    c.triggers[0].metric_type = KEDA_METRIC_VALUE;
    c.has_fallback = true;
    c.fallback_failure_threshold = 0;
    c.fallback_replicas = 6;
    struct keda *k = make(&c);
    struct hpa_metric_value m = keda_hpa_metric(k, 0, 4, 4, &failed);
    cr_assert(m.ok);
    cr_assert_eq(m.milli, 7500);
    struct hpa_config hc;
    keda_hpa_config(&c, &hc);
    struct sim_err e = {0};
    struct hpa *h = hpa_new(&hc, &e);
    struct hpa_sync_in in = {S(15), 4, 4, 4, &m};
    struct hpa_decision d;
    cr_assert_eq(hpa_sync(h, &in, &d), SIM_OK);
    cr_assert_eq(d.desired, 6);
    hpa_free(h);
    cr_assert_not(keda_hpa_metric(k, 0, 4, 0, &failed).ok);
    keda_free(k);
}

Test(keda, fallback_behaviors_pick_from_current_and_fallback_replicas)
{
    /* target 1 (1000 milli per replica): current 8, fallback 6 */
    static const struct {
        enum keda_fallback_behavior b;
        int64_t want;
    } cases[] = {
        {KEDA_FALLBACK_STATIC, 6000},
        {KEDA_FALLBACK_CURRENT_REPLICAS, 8000},
        {KEDA_FALLBACK_CURRENT_REPLICAS_IF_HIGHER, 8000},
        {KEDA_FALLBACK_CURRENT_REPLICAS_IF_LOWER, 6000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct keda_config c = one_trigger(1, 0);
        c.has_fallback = true;
        c.fallback_replicas = 6;
        c.fallback_behavior = cases[i].b;
        struct keda *k = make(&c);
        struct hpa_metric_value m = keda_hpa_metric(k, 0, 8, 8, &failed);
        cr_assert_eq(m.milli, cases[i].want, "case %zu", i);
        keda_free(k);
    }
}

Test(keda, cached_metrics_serve_the_polled_value)
{
    /* useCachedMetrics: the HPA gets the value of the last poll, not the live one. */
    struct keda_config c = one_trigger(5, 0);
    c.triggers[0].use_cached_metrics = true;
    struct keda *k = make(&c);
    struct keda_sample live = val(40);
    cr_assert_not(keda_uses_cache(k, 0));
    cr_assert_eq(keda_hpa_metric(k, 0, 1, 1, &live).milli, 40000); /* no record yet */
    poll1(k, 0, 1, val(12.5));
    cr_assert(keda_uses_cache(k, 0));
    cr_assert_eq(keda_hpa_metric(k, 0, 1, 1, &live).milli, 12500);
    keda_free(k);
}

Test(keda, cached_fallback_value_resets_the_failure_count)
{
    /* KEDA re-runs GetMetricsWithFallback on a cached record: a record that holds the
     * fallback value carries no error, so the HPA's read marks the metric healthy again
     * (numberOfFailures 0), and the next failing poll starts over at 1. */
    struct keda_config c = one_trigger(5, 0);
    c.triggers[0].use_cached_metrics = true;
    c.has_fallback = true;
    c.fallback_failure_threshold = 1;
    c.fallback_replicas = 3;
    struct keda *k = make(&c);
    poll1(k, 0, 1, failed);                           /* 1 */
    struct keda_poll_out o = poll1(k, 30, 1, failed); /* 2 > 1: fallback */
    cr_assert(o.fallback_active);
    struct hpa_metric_value m = keda_hpa_metric(k, 0, 1, 1, &failed);
    cr_assert(m.ok);
    cr_assert_eq(m.milli, 15000);
    cr_assert_eq(keda_failures(k, 0), 0);
    o = poll1(k, 60, 1, failed);
    cr_assert_not(o.fallback_active);
    cr_assert_eq(keda_failures(k, 0), 1);
    keda_free(k);
}

/* ---- the HPA KEDA builds ---------------------------------------------------------------- */

Test(keda, hpa_config_follows_new_hpa_for_scaled_object)
{
    struct keda_config c = one_trigger(0.5, 0);
    c.n_triggers = 2;
    c.triggers[1] = c.triggers[0];
    c.triggers[1].metric_type = KEDA_METRIC_VALUE;
    c.triggers[1].threshold = 2.0004;
    struct hpa_config h;
    keda_hpa_config(&c, &h);
    cr_assert_eq(h.min_replicas, 1); /* max(1, minReplicaCount 0) */
    cr_assert_eq(h.max_replicas, 10);
    cr_assert_eq(h.n_metrics, 2);
    cr_assert_eq(h.metrics[0].source, HPA_SOURCE_EXTERNAL);
    cr_assert_eq(h.metrics[0].target_type, HPA_TARGET_AVERAGE_VALUE);
    cr_assert_eq(h.metrics[0].target_milli, 500);
    cr_assert_eq(h.metrics[1].target_type, HPA_TARGET_VALUE);
    cr_assert_eq(h.metrics[1].target_milli, 2000); /* "%.3f" of 2.0004 */
    cr_assert_not(h.has_behavior);                 /* nil stays nil: the legacy path */
    c.pause_scale_in = true;
    keda_hpa_config(&c, &h);
    cr_assert(h.has_behavior);
    cr_assert_eq(h.behavior.scale_down.select_policy, HPA_SELECT_DISABLED);
    cr_assert_eq(h.behavior.scale_up.select_policy, HPA_SELECT_MAX);
    cr_assert_eq(h.behavior.scale_up.n_policies, 2);
}

Test(keda, pause_scale_in_keeps_the_target_up)
{
    struct keda_config c = one_trigger(10, 0);
    c.pause_scale_in = true;
    struct keda *k = make(&c);
    struct keda_poll_out o = poll1(k, 600, 3, val(0));
    cr_assert_eq(o.desired, 3);
    cr_assert_eq(o.why, KEDA_WHY_PAUSED);
    keda_free(k);
}

Test(keda, config_check_rejects_idle_not_below_min)
{
    struct keda_config c = one_trigger(10, 0);
    c.has_min_replica_count = true;
    c.min_replica_count = 1;
    c.has_idle_replica_count = true;
    c.idle_replica_count = 1;
    struct sim_err e = {0};
    cr_assert_null(keda_new(&c, 0, &e));
    cr_assert_str_eq(e.msg, "'idleReplicaCount' (1) must be >= 0 and < 'minReplicaCount' (1)");
}
