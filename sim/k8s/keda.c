/*
 * keda.c: the KEDA ScaledObject polling loop, metrics adapter and fallback. Each
 * function cites the kedacore/keda function it follows.
 */
#include "sim/k8s/keda.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the cache keeps for a trigger with useCachedMetrics (metricscache.MetricsRecord). */
struct keda_record {
    bool present;
    bool active;   /* IsActive */
    bool err;      /* ScalerError != nil */
    int64_t milli; /* Metric (when !err) */
};

struct keda_trigger_state {
    int32_t failures; /* status.health[metric].numberOfFailures */
    struct keda_record record;
};

struct keda {
    struct keda_config cfg; /* names and queries dropped */
    int64_t created_us;
    bool has_last_active;
    int64_t last_active_us;
    struct keda_trigger_state st[KEDA_MAX_TRIGGERS];
};

/* ---- config ------------------------------------------------------------------------- */

void keda_config_init(struct keda_config *c)
{
    memset(c, 0, sizeof *c);
    c->polling_interval_us = 30 * 1000000LL; /* withtriggers_types.go defaultPollingInterval */
    c->cooldown_period_us = 300 * 1000000LL; /* scale_executor.go defaultCooldownPeriod */
    c->initial_cooldown_period_us = 0;       /* defaultInitialCooldownPeriod */
    c->min_replica_count = 0;
    c->max_replica_count = 100; /* defaultHPAMaxReplicas */
    c->fallback_behavior = KEDA_FALLBACK_STATIC;
    hpa_rules_default_scale_up(&c->behavior.scale_up);
    hpa_rules_default_scale_down(&c->behavior.scale_down);
}

void keda_config_release(struct keda_config *c)
{
    for (size_t i = 0; i < c->n_triggers && i < KEDA_MAX_TRIGGERS; i++) {
        struct keda_trigger *t = &c->triggers[i];
        free(t->name);
        free(t->query.text);
        free(t->query.file);
        t->name = NULL;
        t->query.text = t->query.file = NULL;
    }
}

/* GetHPAMinReplicas */
static int32_t hpa_min_replicas(const struct keda_config *c)
{
    return c->min_replica_count > 0 ? c->min_replica_count : 1;
}

int keda_config_check(const struct keda_config *c, struct sim_err *err)
{
    if (c->polling_interval_us < 1000000)
        return sim_err_set(err, SIM_EINVAL, "'pollingInterval' must be >= 1 (s)");
    if (c->cooldown_period_us < 0 || c->initial_cooldown_period_us < 0)
        return sim_err_set(err, SIM_EINVAL, "cooldown periods must be >= 0 (s)");
    if (c->min_replica_count < 0 || c->max_replica_count < 1)
        return sim_err_set(err, SIM_EINVAL,
                           "'minReplicaCount' must be >= 0 and 'maxReplicaCount' >= 1");
    if (c->min_replica_count > c->max_replica_count)
        return sim_err_set(err, SIM_EINVAL,
                           "'minReplicaCount' (%" PRId32 ") must be <= 'maxReplicaCount' (%" PRId32
                           ")",
                           c->min_replica_count, c->max_replica_count);
    /* CheckReplicaCountBoundsAreValid: idle < the HPA's minimum (0 when min is unset) */
    int32_t min = c->has_min_replica_count ? hpa_min_replicas(c) : 0;
    if (c->has_idle_replica_count && (c->idle_replica_count < 0 || c->idle_replica_count >= min))
        return sim_err_set(err, SIM_EINVAL,
                           "'idleReplicaCount' (%" PRId32 ") must be >= 0 and < "
                           "'minReplicaCount' (%" PRId32 ")",
                           c->idle_replica_count, min);
    if (c->has_fallback && (c->fallback_failure_threshold < 0 || c->fallback_replicas < 0))
        return sim_err_set(err, SIM_EINVAL,
                           "'fallback.failureThreshold' and 'fallback.replicas' must be >= 0");
    if (c->n_triggers < 1 || c->n_triggers > KEDA_MAX_TRIGGERS)
        return sim_err_set(err, SIM_EINVAL, "'triggers' must hold 1 to %d triggers, got %zu",
                           KEDA_MAX_TRIGGERS, c->n_triggers);
    for (size_t i = 0; i < c->n_triggers; i++)
        if (hpa_milli_from_double(c->triggers[i].threshold) < 1)
            return sim_err_set(err, SIM_EINVAL,
                               "'triggers.%zu' threshold must round to at least 0.001", i);
    struct hpa_config h;
    keda_hpa_config(c, &h);
    return hpa_config_check(&h, err);
}

void keda_hpa_config(const struct keda_config *c, struct hpa_config *out)
{
    hpa_config_init(out);
    out->min_replicas = hpa_min_replicas(c);
    out->max_replicas = c->max_replica_count;
    out->n_metrics = c->n_triggers;
    for (size_t i = 0; i < c->n_triggers && i < HPA_MAX_METRICS; i++) {
        /* prometheus_scaler.go GetMetricSpecForScaling: an External metric
         * "s{i}-prometheus" with GetMetricTargetMili(metricType, threshold) */
        struct hpa_metric_spec *m = &out->metrics[i];
        m->source = HPA_SOURCE_EXTERNAL;
        m->target_type = c->triggers[i].metric_type == KEDA_METRIC_VALUE ? HPA_TARGET_VALUE
                                                                         : HPA_TARGET_AVERAGE_VALUE;
        m->target_milli = hpa_milli_from_double(c->triggers[i].threshold);
    }
    out->has_behavior = c->has_behavior;
    out->behavior = c->behavior;
    /* hpa.go: the pause annotations make a behavior (defaulted by the API server) with
     * the direction's selectPolicy Disabled */
    if ((c->pause_scale_in || c->pause_scale_out) && !out->has_behavior) {
        out->has_behavior = true;
        hpa_rules_default_scale_up(&out->behavior.scale_up);
        hpa_rules_default_scale_down(&out->behavior.scale_down);
    }
    if (c->pause_scale_in)
        out->behavior.scale_down.select_policy = HPA_SELECT_DISABLED;
    if (c->pause_scale_out)
        out->behavior.scale_up.select_policy = HPA_SELECT_DISABLED;
}

/* ---- runtime ------------------------------------------------------------------------ */

struct keda *keda_new(const struct keda_config *cfg, int64_t created_us, struct sim_err *err)
{
    if (keda_config_check(cfg, err))
        return NULL;
    struct keda *k = sim_calloc(1, sizeof *k);
    if (!k) {
        sim_err_set(err, SIM_ENOMEM, "out of memory for the KEDA ScaledObject");
        return NULL;
    }
    k->cfg = *cfg;
    for (size_t i = 0; i < k->cfg.n_triggers; i++) {
        k->cfg.triggers[i].name = NULL;
        k->cfg.triggers[i].query = (struct pos_text){NULL, NULL, 0, 0};
    }
    k->created_us = created_us;
    return k;
}

void keda_free(struct keda *k)
{
    free(k);
}

void keda_assume_active(struct keda *k, int64_t t_us)
{
    k->has_last_active = true;
    k->last_active_us = t_us;
}

const struct keda_config *keda_config_of(const struct keda *k)
{
    return &k->cfg;
}

int32_t keda_failures(const struct keda *k, size_t i)
{
    SIM_ASSERT(i < k->cfg.n_triggers);
    return k->st[i].failures;
}

bool keda_last_active(const struct keda *k, int64_t *t_us)
{
    if (k->has_last_active && t_us)
        *t_us = k->last_active_us;
    return k->has_last_active;
}

bool keda_uses_cache(const struct keda *k, size_t i)
{
    SIM_ASSERT(i < k->cfg.n_triggers);
    return k->cfg.triggers[i].use_cached_metrics && k->st[i].record.present;
}

/* prometheus_scaler.go ExecutePromQuery's handling of the answer, then
 * GetMetricsAndActivity: false on a query error. */
static bool query_value(const struct keda_trigger *t, const struct keda_sample *s, double *v)
{
    switch (s->kind) {
    case KEDA_SAMPLE_ERROR:
        return false;
    case KEDA_SAMPLE_EMPTY: /* "the result is empty" */
        *v = 0.0;
        return t->ignore_null_values;
    case KEDA_SAMPLE_VALUE:
        if (isnan(s->value) || isinf(s->value)) { /* "prometheus query returns NaN" */
            *v = 0.0;
            return t->ignore_null_values;
        }
        *v = s->value;
        return true;
    }
    return false;
}

/* The metric after fallback.GetMetricsWithFallback. */
struct fb_result {
    bool ok;       /* err == nil */
    bool fallback; /* the synthetic value */
    int64_t milli;
};

/* fallback.go GetMetricsWithFallback + doFallback for trigger i, given the raw result. */
static struct fb_result with_fallback(struct keda *k, size_t i, bool raw_ok, int64_t raw_milli,
                                      int32_t current, int32_t ready)
{
    const struct keda_config *c = &k->cfg;
    struct keda_trigger_state *st = &k->st[i];
    if (raw_ok) {
        if (c->has_fallback) /* UpdateHealthStatus: Happy, 0 failures */
            st->failures = 0;
        return (struct fb_result){true, false, raw_milli};
    }
    if (!c->has_fallback)
        return (struct fb_result){false, false, 0};
    st->failures++;                                      /* IncrementFailure */
    if (!(st->failures > c->fallback_failure_threshold)) /* strictly greater */
        return (struct fb_result){false, false, 0};
    int64_t fb = c->fallback_replicas;
    double replicas;
    switch (c->fallback_behavior) {
    case KEDA_FALLBACK_CURRENT_REPLICAS:
        replicas = (double)current;
        break;
    case KEDA_FALLBACK_CURRENT_REPLICAS_IF_HIGHER:
        replicas = (double)(current > fb ? current : fb);
        break;
    case KEDA_FALLBACK_CURRENT_REPLICAS_IF_LOWER:
        replicas = (double)(current < fb ? current : fb);
        break;
    case KEDA_FALLBACK_STATIC:
    default:
        replicas = (double)fb;
        break;
    }
    const struct keda_trigger *t = &c->triggers[i];
    if (t->metric_type == KEDA_METRIC_VALUE) {
        if (ready == 0) /* "readyReplicas is zero, cannot do fallback": an error */
            return (struct fb_result){false, false, 0};
        replicas /= (double)ready;
    }
    /* normalisationValue = target.AsApproximateFloat64(): the "%.3f" quantity
     * {milli, scale -3} is milli * Pow10(-3); the value is int64(nv*1000*replicas) */
    double nv = (double)hpa_milli_from_double(t->threshold) * 1e-3;
    double v = nv * 1000.0 * replicas;
    int64_t milli = v >= 9.2e18 ? INT64_MAX : (int64_t)v;
    return (struct fb_result){true, true, milli};
}

/* Microseconds as exact seconds: "60s", "1.5s". */
static void fmt_s(int64_t us, char *buf, size_t n)
{
    const char *sign = us < 0 ? "-" : "";
    uint64_t a = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
    uint64_t whole = a / 1000000u, frac = a % 1000000u;
    if (!frac) {
        snprintf(buf, n, "%s%" PRIu64 "s", sign, whole);
        return;
    }
    int digits = 6;
    while (frac % 10u == 0) {
        frac /= 10u;
        digits--;
    }
    snprintf(buf, n, "%s%" PRIu64 ".%0*" PRIu64 "s", sign, whole, digits, frac);
}

static void set_why(struct keda_poll_out *o, enum keda_why why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_why(struct keda_poll_out *o, enum keda_why why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    o->why = why;
    vsnprintf(o->reason, sizeof o->reason, fmt, ap);
    va_end(ap);
}

/* scale_scaledobjects.go scaleToZeroOrIdle */
static void scale_to_zero_or_idle(struct keda *k, int64_t now_us, struct keda_poll_out *o)
{
    const struct keda_config *c = &k->cfg;
    /* getIdleOrMinimumReplicaCount */
    int32_t to = c->has_idle_replica_count ? c->idle_replica_count : c->min_replica_count;
    o->target_replicas = to;
    if (c->pause_scale_in) {
        set_why(o, KEDA_WHY_PAUSED, "scale in to %" PRId32 " paused by annotation", to);
        return;
    }
    char a[48], b[48];
    if (!k->has_last_active) {
        /* LastActiveTime nil: CreationTimestamp + initialCooldownPeriod before now */
        fmt_s(k->created_us, a, sizeof a);
        fmt_s(c->initial_cooldown_period_us, b, sizeof b);
        if (k->created_us + c->initial_cooldown_period_us < now_us) {
            o->desired = to;
            set_why(o, KEDA_WHY_DEACTIVATE,
                    "scale in to %" PRId32 ": never active (created at %s, initialCooldownPeriod "
                    "%s)",
                    to, a, b);
        } else {
            set_why(o, KEDA_WHY_COOLDOWN,
                    "scale in to %" PRId32 " held by initialCooldownPeriod (created at %s, %s)", to,
                    a, b);
        }
        return;
    }
    fmt_s(k->last_active_us, a, sizeof a);
    fmt_s(c->cooldown_period_us, b, sizeof b);
    if (k->last_active_us + c->cooldown_period_us < now_us) { /* strictly before now */
        o->desired = to;
        set_why(o, KEDA_WHY_DEACTIVATE,
                "cooldown over: scale in to %" PRId32 " (last active at %s, cooldown %s)", to, a,
                b);
    } else {
        set_why(o, KEDA_WHY_COOLDOWN,
                "scale in to %" PRId32 " held by cooldown (last active at %s, cooldown %s)", to, a,
                b);
    }
}

void keda_poll(struct keda *k, int64_t now_us, int32_t current, int32_t ready,
               const struct keda_sample *samples, struct keda_poll_out *o)
{
    const struct keda_config *c = &k->cfg;
    SIM_ASSERT(current >= 0 && ready >= 0);
    memset(o, 0, sizeof *o);
    o->now_us = now_us;
    o->current_replicas = current;
    o->target_replicas = current;
    o->desired = current;

    /* getScaledObjectState / getScalerState: every trigger, then any active, any error */
    bool active = false, error = false, fb_active = false;
    for (size_t i = 0; i < c->n_triggers; i++) {
        const struct keda_trigger *t = &c->triggers[i];
        double v = 0.0;
        bool raw_ok = query_value(t, &samples[i], &v);
        /* GetMetricsAndActivity: activity is val > activationThreshold, strictly */
        bool metric_active = raw_ok && v > t->activation_threshold;
        struct fb_result r =
            with_fallback(k, i, raw_ok, raw_ok ? hpa_milli_from_double(v) : 0, current, ready);
        bool active_or_fb = r.fallback || metric_active;
        if (t->use_cached_metrics)
            k->st[i].record = (struct keda_record){true, active_or_fb, !r.ok, r.milli};
        if (!r.ok) {
            error = true;
            continue;
        }
        if (r.fallback)
            fb_active = true;
        if (active_or_fb)
            active = true;
    }
    o->active = active;
    o->error = error;
    o->fallback_active = fb_active;

    /* scale_scaledobjects.go RequestScale (the paused / force-activation annotations
     * are rejected when the manifest is read) */
    int32_t min = c->min_replica_count;
    if (active) {
        if ((c->has_idle_replica_count && current < min) || current == 0) {
            /* scaleFromZeroOrIdle */
            int32_t to = min > 0 ? min : 1;
            o->target_replicas = to;
            if (c->pause_scale_out) {
                set_why(o, KEDA_WHY_PAUSED, "activation to %" PRId32 " paused by annotation", to);
            } else {
                o->desired = to;
                k->has_last_active = true;
                k->last_active_us = now_us;
                set_why(o, KEDA_WHY_ACTIVATE, "activate: scale from %" PRId32 " to %" PRId32,
                        current, to);
            }
        } else if (error) {
            set_why(o, KEDA_WHY_ACTIVE_ERROR,
                    "active but a trigger failed: lastActiveTime not refreshed");
        } else {
            k->has_last_active = true;
            k->last_active_us = now_us;
            set_why(o, KEDA_WHY_ACTIVE, fb_active ? "active (fallback)" : "active");
        }
    } else if (error && c->has_fallback && c->fallback_replicas != 0) {
        set_why(o, KEDA_WHY_ERROR, "trigger failed: no change until the fallback applies");
    } else if (error && !c->has_fallback) {
        set_why(o, KEDA_WHY_ERROR, "trigger failed: no change");
    } else if ((c->has_idle_replica_count && current > c->idle_replica_count) ||
               (current > 0 && min == 0)) {
        scale_to_zero_or_idle(k, now_us, o);
    } else if (!c->has_idle_replica_count && current < min) {
        o->target_replicas = min;
        o->desired = min;
        set_why(o, KEDA_WHY_TO_MIN, "inactive below minReplicaCount: set to %" PRId32, min);
    } else {
        set_why(o, KEDA_WHY_INACTIVE, "inactive");
    }
    o->scaled = o->desired != current;
}

struct hpa_metric_value keda_hpa_metric(struct keda *k, size_t i, int32_t current, int32_t ready,
                                        const struct keda_sample *live)
{
    const struct keda_config *c = &k->cfg;
    SIM_ASSERT(i < c->n_triggers);
    const struct keda_trigger *t = &c->triggers[i];
    bool raw_ok;
    int64_t raw_milli = 0;
    const struct keda_record *rec = &k->st[i].record;
    if (t->use_cached_metrics && rec->present) {
        /* scale_handler.go GetScaledObjectMetrics: rawMetrics, rawErr from the record
         * (already through the fallback once) go through the fallback again */
        raw_ok = !rec->err;
        raw_milli = rec->milli;
    } else {
        double v = 0.0;
        raw_ok = query_value(t, live, &v);
        if (raw_ok)
            raw_milli = hpa_milli_from_double(v); /* GenerateMetricInMili */
    }
    struct fb_result r = with_fallback(k, i, raw_ok, raw_milli, current, ready);
    struct hpa_metric_value m;
    memset(&m, 0, sizeof m);
    m.ok = r.ok;
    m.milli = r.milli;
    return m;
}

const char *keda_why_name(enum keda_why why)
{
    static const char *const names[] = {
        [KEDA_WHY_ACTIVATE] = "activate",
        [KEDA_WHY_ACTIVE] = "active",
        [KEDA_WHY_ACTIVE_ERROR] = "active_error",
        [KEDA_WHY_ERROR] = "error",
        [KEDA_WHY_DEACTIVATE] = "deactivate",
        [KEDA_WHY_COOLDOWN] = "cooldown",
        [KEDA_WHY_TO_MIN] = "to_min",
        [KEDA_WHY_INACTIVE] = "inactive",
        [KEDA_WHY_PAUSED] = "paused",
    };
    if ((size_t)why < sizeof names / sizeof names[0] && names[why])
        return names[why];
    return "unknown";
}
