/*
 * hpa.c: the HorizontalPodAutoscaler controller (autoscaling/v2) as a state machine.
 * Each function cites the kubernetes/kubernetes function it follows, from
 * pkg/controller/podautoscaler/horizontal.go and replica_calculator.go.
 */
#include "sim/k8s/hpa.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* horizontal.go: scaleUpLimitFactor, scaleUpLimitMinimum (legacy path) */
static const double scale_up_limit_factor = 2.0;
static const double scale_up_limit_minimum = 4.0;

/* timestampedRecommendation */
struct hpa_rec {
    int32_t replicas;
    int64_t t_us;
};

/* timestampedScaleEvent: replicaChange is the absolute change */
struct hpa_event {
    int32_t change;
    int64_t t_us;
    bool outdated;
};

struct hpa {
    struct hpa_config cfg;   /* query texts dropped: the controller does not need them */
    double tol_up, tol_down; /* Tolerances{scaleUp, scaleDown} */
    bool have_recs;          /* recommendations[key] != nil (recordInitialRecommendation) */
    struct hpa_rec *recs;    /* the slice a.recommendations[key], same order */
    size_t n_recs, cap_recs;
    struct hpa_event *up, *down; /* a.scaleUpEvents[key], a.scaleDownEvents[key] */
    size_t n_up, cap_up, n_down, cap_down;
    int64_t last_now_us;
    bool synced;
};

/* ---- config ------------------------------------------------------------------------- */

/* pkg/apis/autoscaling/v2/defaults.go defaultHPAScaleUpRules */
void hpa_rules_default_scale_up(struct hpa_rules *r)
{
    memset(r, 0, sizeof *r);
    r->stabilization_window_s = 0; /* scaleUpStabilizationSeconds */
    r->select_policy = HPA_SELECT_MAX;
    r->n_policies = 2;
    r->policies[0] = (struct hpa_policy){HPA_POLICY_PODS, 4, 15};      /* scaleUpLimitMinimumPods */
    r->policies[1] = (struct hpa_policy){HPA_POLICY_PERCENT, 100, 15}; /* scaleUpLimitPercent */
}

/* defaults.go defaultHPAScaleDownRules: the window stays nil, filled by the controller
 * (maybeInitScaleDownStabilizationWindow) */
void hpa_rules_default_scale_down(struct hpa_rules *r)
{
    memset(r, 0, sizeof *r);
    r->stabilization_window_s = HPA_WINDOW_UNSET;
    r->select_policy = HPA_SELECT_MAX;
    r->n_policies = 1;
    r->policies[0] = (struct hpa_policy){HPA_POLICY_PERCENT, 100, 15}; /* scaleDownLimitPercent */
}

void hpa_config_init(struct hpa_config *c)
{
    memset(c, 0, sizeof *c);
    c->min_replicas = 1; /* SetDefaults_HorizontalPodAutoscaler */
    c->max_replicas = 0;
    hpa_rules_default_scale_up(&c->behavior.scale_up);
    hpa_rules_default_scale_down(&c->behavior.scale_down);
    /* pkg/controller/podautoscaler/config/v1alpha1/defaults.go */
    c->sync_period_us = 15 * 1000000LL;
    c->tolerance = 0.1;
    c->downscale_stabilization_s = 300;
}

void hpa_config_release(struct hpa_config *c)
{
    for (size_t i = 0; i < c->n_metrics && i < HPA_MAX_METRICS; i++) {
        free(c->metrics[i].query.text);
        free(c->metrics[i].query.file);
        c->metrics[i].query.text = NULL;
        c->metrics[i].query.file = NULL;
    }
}

static int check_rules(const struct hpa_rules *r, const char *name, bool down, struct sim_err *err)
{
    if (!(r->stabilization_window_s >= 0 && r->stabilization_window_s <= 3600) &&
        !(down && r->stabilization_window_s == HPA_WINDOW_UNSET))
        return sim_err_set(err, SIM_EINVAL,
                           "'behavior.%s.stabilizationWindowSeconds' must be in [0, 3600] "
                           "(s), got '%" PRId32 "'",
                           name, r->stabilization_window_s);
    if (r->n_policies < 1 || r->n_policies > HPA_MAX_POLICIES)
        return sim_err_set(err, SIM_EINVAL, "'behavior.%s.policies' must hold 1 to %d policies",
                           name, HPA_MAX_POLICIES);
    for (size_t i = 0; i < r->n_policies; i++) {
        const struct hpa_policy *p = &r->policies[i];
        if (p->value <= 0)
            return sim_err_set(err, SIM_EINVAL,
                               "'behavior.%s.policies.%zu.value' must be > 0, got '%" PRId32 "'",
                               name, i, p->value);
        if (p->period_s <= 0 || p->period_s > 1800)
            return sim_err_set(err, SIM_EINVAL,
                               "'behavior.%s.policies.%zu.periodSeconds' must be in [1, 1800] "
                               "(s), got '%" PRId32 "'",
                               name, i, p->period_s);
    }
    if (r->has_tolerance && !(r->tolerance >= 0.0 && isfinite(r->tolerance)))
        return sim_err_set(err, SIM_EINVAL, "'behavior.%s.tolerance' must be >= 0, got '%g'", name,
                           r->tolerance);
    return SIM_OK;
}

int hpa_config_check(const struct hpa_config *c, struct sim_err *err)
{
    if (c->min_replicas < 1)
        return sim_err_set(err, SIM_EINVAL, "'minReplicas' must be >= 1, got '%" PRId32 "'",
                           c->min_replicas);
    if (c->max_replicas < c->min_replicas)
        return sim_err_set(err, SIM_EINVAL,
                           "'maxReplicas' must be >= 'minReplicas' (%" PRId32 "), got '%" PRId32
                           "'",
                           c->min_replicas, c->max_replicas);
    if (c->n_metrics < 1 || c->n_metrics > HPA_MAX_METRICS)
        return sim_err_set(err, SIM_EINVAL, "'metrics' must hold 1 to %d metrics, got %zu",
                           HPA_MAX_METRICS, c->n_metrics);
    for (size_t i = 0; i < c->n_metrics; i++)
        if (c->metrics[i].target_milli <= 0)
            return sim_err_set(err, SIM_EINVAL, "'metrics.%zu' target must be > 0", i);
    if (c->has_behavior) {
        int rc = check_rules(&c->behavior.scale_up, "scaleUp", false, err);
        if (!rc)
            rc = check_rules(&c->behavior.scale_down, "scaleDown", true, err);
        if (rc)
            return rc;
    }
    if (c->sync_period_us <= 0)
        return sim_err_set(err, SIM_EINVAL, "the HPA sync period must be > 0");
    if (!(c->tolerance >= 0.0 && isfinite(c->tolerance)))
        return sim_err_set(err, SIM_EINVAL, "the HPA tolerance must be >= 0");
    if (c->downscale_stabilization_s < 0)
        return sim_err_set(err, SIM_EINVAL, "the HPA downscale stabilization must be >= 0");
    return SIM_OK;
}

int64_t hpa_milli_from_double(double v)
{
    /* scaler.go quantityFromFloat64: resource.MustParse(fmt.Sprintf("%.3f", value)) */
    if (isnan(v) || isinf(v) || v < 0.0)
        return 0;
    if (v >= 9.2e15)
        return INT64_MAX;
    char buf[64];
    snprintf(buf, sizeof buf, "%.3f", v);
    char *dot = strchr(buf, '.');
    int64_t whole = 0, frac = 0;
    for (char *p = buf; p != dot && *p; p++)
        whole = whole * 10 + (*p - '0');
    if (dot)
        for (char *p = dot + 1; *p; p++)
            frac = frac * 10 + (*p - '0');
    return whole * 1000 + frac;
}

/* ---- histories ---------------------------------------------------------------------- */

static int grow(void **v, size_t *cap, size_t size)
{
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = sim_reallocarray(*v, ncap, size);
    if (!p)
        return SIM_ENOMEM;
    *v = p;
    *cap = ncap;
    return SIM_OK;
}

static int32_t longest_period(const struct hpa_rules *r)
{
    /* getLongestPolicyPeriod */
    int32_t p = 0;
    for (size_t i = 0; i < r->n_policies; i++)
        if (r->policies[i].period_s > p)
            p = r->policies[i].period_s;
    return p;
}

/* Entries a history can hold in steady state: one per sync over its span, plus slack
 * for the entry being replaced and the initial recommendation. */
static size_t span_cap(int64_t span_s, int64_t sync_us)
{
    return (size_t)(span_s * 1000000LL / sync_us) + 4;
}

struct hpa *hpa_new(const struct hpa_config *cfg, struct sim_err *err)
{
    if (hpa_config_check(cfg, err))
        return NULL;
    struct hpa *h = sim_calloc(1, sizeof *h);
    if (!h)
        goto nomem;
    h->cfg = *cfg;
    for (size_t i = 0; i < h->cfg.n_metrics; i++)
        h->cfg.metrics[i].query = (struct pos_text){NULL, NULL, 0, 0};
    struct hpa_config *c = &h->cfg;
    /* maybeInitScaleDownStabilizationWindow */
    if (c->has_behavior && c->behavior.scale_down.stabilization_window_s == HPA_WINDOW_UNSET)
        c->behavior.scale_down.stabilization_window_s = c->downscale_stabilization_s;
    /* tolerances: the controller flag, overridden per direction by the behavior
     * (HPAConfigurableTolerance, beta and on by default since 1.34) */
    h->tol_up = h->tol_down = c->tolerance;
    if (c->has_behavior && c->behavior.scale_up.has_tolerance)
        h->tol_up = c->behavior.scale_up.tolerance;
    if (c->has_behavior && c->behavior.scale_down.has_tolerance)
        h->tol_down = c->behavior.scale_down.tolerance;

    int64_t win = c->downscale_stabilization_s;
    if (c->has_behavior) {
        win = c->behavior.scale_up.stabilization_window_s;
        if (c->behavior.scale_down.stabilization_window_s > win)
            win = c->behavior.scale_down.stabilization_window_s;
    }
    h->cap_recs = span_cap(win, c->sync_period_us);
    h->recs = sim_calloc(h->cap_recs, sizeof *h->recs);
    if (!h->recs)
        goto nomem;
    if (c->has_behavior) {
        /* a scale-down policy also reads scale-up events over its own period, and the
         * other way round: size both for the longest period of either direction */
        int64_t lp = longest_period(&c->behavior.scale_up);
        if (longest_period(&c->behavior.scale_down) > lp)
            lp = longest_period(&c->behavior.scale_down);
        h->cap_up = h->cap_down = span_cap(lp, c->sync_period_us);
        h->up = sim_calloc(h->cap_up, sizeof *h->up);
        h->down = sim_calloc(h->cap_down, sizeof *h->down);
        if (!h->up || !h->down)
            goto nomem;
    }
    return h;
nomem:
    hpa_free(h);
    sim_err_set(err, SIM_ENOMEM, "out of memory for the HPA controller");
    return NULL;
}

void hpa_free(struct hpa *h)
{
    if (!h)
        return;
    free(h->recs);
    free(h->up);
    free(h->down);
    free(h);
}

const struct hpa_config *hpa_config_of(const struct hpa *h)
{
    return &h->cfg;
}

/* Store into slot `old` (>= 0) or append: the "foundOldSample" pattern. */
static int store_rec(struct hpa *h, long old, int32_t replicas, int64_t now_us)
{
    if (old >= 0) {
        h->recs[old] = (struct hpa_rec){replicas, now_us};
        return SIM_OK;
    }
    if (h->n_recs == h->cap_recs && grow((void **)&h->recs, &h->cap_recs, sizeof *h->recs))
        return SIM_ENOMEM;
    h->recs[h->n_recs++] = (struct hpa_rec){replicas, now_us};
    return SIM_OK;
}

/* recordInitialRecommendation: the first reconcile seeds the history with the current
 * count, so a scale-down right after creation still waits for the window. */
static int record_initial(struct hpa *h, int32_t current, int64_t now_us)
{
    if (h->have_recs)
        return SIM_OK;
    h->have_recs = true;
    return store_rec(h, -1, current, now_us);
}

/* getReplicasChangePerPeriod: events strictly after now - period */
static int32_t change_in_period(const struct hpa_event *ev, size_t n, int32_t period_s,
                                int64_t now_us)
{
    int64_t cutoff = now_us - (int64_t)period_s * 1000000LL;
    int32_t sum = 0;
    for (size_t i = 0; i < n; i++)
        if (ev[i].t_us > cutoff)
            sum += ev[i].change;
    return sum;
}

/* storeScaleEvent with markScaleEventsOutdated: events before now - longest period of
 * that direction are marked outdated; the last outdated one is overwritten, else the
 * event is appended. Outdated events still count in getReplicasChangePerPeriod until
 * they are overwritten, exactly as in the controller. */
static int store_event(struct hpa *h, bool up, int32_t change, int64_t now_us)
{
    const struct hpa_rules *r = up ? &h->cfg.behavior.scale_up : &h->cfg.behavior.scale_down;
    struct hpa_event **v = up ? &h->up : &h->down;
    size_t *n = up ? &h->n_up : &h->n_down, *cap = up ? &h->cap_up : &h->cap_down;
    int64_t cutoff = now_us - (int64_t)longest_period(r) * 1000000LL;
    long old = -1;
    for (size_t i = 0; i < *n; i++) {
        if ((*v)[i].t_us < cutoff)
            (*v)[i].outdated = true;
        if ((*v)[i].outdated)
            old = (long)i;
    }
    struct hpa_event e = {change, now_us, false};
    if (old >= 0) {
        (*v)[old] = e;
        return SIM_OK;
    }
    if (*n == *cap && grow((void **)v, cap, sizeof **v))
        return SIM_ENOMEM;
    (*v)[(*n)++] = e;
    return SIM_OK;
}

/* ---- replica calculator --------------------------------------------------------------- */

/* Tolerances.isWithin */
static bool within(const struct hpa *h, double r)
{
    return (1.0 - h->tol_down) <= r && r <= (1.0 + h->tol_up);
}

static int32_t ceil_i32(double x)
{
    double c = ceil(x);
    if (!(c < (double)INT32_MAX)) /* also NaN: Go's conversion is undefined there too */
        return INT32_MAX;
    if (c < (double)INT32_MIN)
        return INT32_MIN;
    return (int32_t)c;
}

enum { PROP_OK = 0, PROP_FAILED = 1 };

struct proposal {
    int32_t replicas;
    bool tolerance; /* the "within tolerance" branch gave it */
};

/* getUsageRatioReplicaCount (Value targets of External and Object metrics) */
static int usage_ratio_count(const struct hpa *h, const struct hpa_sync_in *in, double ratio,
                             struct proposal *p)
{
    int32_t current = in->spec_replicas;
    if (current != 0) {
        if (within(h, ratio)) {
            *p = (struct proposal){current, true};
            return PROP_OK;
        }
        /* getReadyPodsCount: "no pods returned by selector" when there is no pod */
        if (in->status_replicas <= 0)
            return PROP_FAILED;
        double f = ratio * (double)in->ready_replicas;
        p->replicas = f > (double)INT32_MAX ? INT32_MAX : ceil_i32(f);
        p->tolerance = false;
        return PROP_OK;
    }
    /* scale to zero or n pods depending on usageRatio */
    *p = (struct proposal){ceil_i32(ratio), false};
    return PROP_OK;
}

/* GetExternalPerPodMetricReplicas / GetObjectPerPodMetricReplicas (AverageValue) */
static int per_pod_count(const struct hpa *h, const struct hpa_sync_in *in, int64_t usage,
                         int64_t target, struct proposal *p)
{
    int32_t status = in->status_replicas;
    *p = (struct proposal){status, true};
    /* usage / (target * statusReplicas); statusReplicas 0 gives +Inf or NaN in Go,
     * neither within tolerance */
    bool in_tol = false;
    if (status > 0)
        in_tol = within(h, (double)usage / ((double)target * (double)status));
    if (!in_tol) {
        double f = ceil((double)usage / (double)target);
        p->replicas = f > (double)INT32_MAX ? INT32_MAX : (int32_t)f;
        p->tolerance = false;
    }
    return PROP_OK;
}

/* metricsclient.GetMetricUsageRatio: the integer average in milli-units over target */
static double usage_ratio(const int64_t *sum_n, int64_t target)
{
    int64_t avg = sum_n[0] / sum_n[1];
    return (double)avg / (double)target;
}

/* calcPlainMetricReplicas (Pods metrics) with groupPods' grouping */
static int plain_metric_count(const struct hpa *h, const struct hpa_sync_in *in,
                              const struct hpa_metric_value *m, int64_t target, struct proposal *p)
{
    int32_t current = in->spec_replicas;
    if (m->n_pods == 0) /* "no pods returned by selector while calculating replica count" */
        return PROP_FAILED;
    int64_t ready = 0, unready = 0, missing = 0, sum = 0;
    for (size_t i = 0; i < m->n_pods; i++) {
        switch (m->pods[i].state) {
        case HPA_POD_RUNNING:
            ready++;
            sum += m->pods[i].milli;
            break;
        case HPA_POD_MISSING:
            missing++;
            break;
        case HPA_POD_PENDING:
            unready++;
            break;
        case HPA_POD_IGNORED:
            break;
        }
    }
    if (ready == 0) /* "did not receive metrics for targeted pods (pods might be unready)" */
        return PROP_FAILED;
    int64_t sn[2] = {sum, ready};
    double ratio = usage_ratio(sn, target);
    bool up_with_unready = unready > 0 && ratio > 1.0;
    if (!up_with_unready && missing == 0) {
        if (within(h, ratio)) {
            *p = (struct proposal){current, true};
            return PROP_OK;
        }
        *p = (struct proposal){ceil_i32(ratio * (double)ready), false};
        return PROP_OK;
    }
    int64_t n = ready;
    if (missing > 0) {
        if (ratio < 1.0) { /* scale-down: missing pods use exactly the target */
            sum += missing * target;
            n += missing;
        } else if (ratio > 1.0) { /* scale-up: missing pods use 0 */
            n += missing;
        }
    }
    if (up_with_unready) /* scale-up: unready pods use 0 */
        n += unready;
    int64_t sn2[2] = {sum, n};
    double nratio = usage_ratio(sn2, target);
    if (within(h, nratio) || (ratio < 1.0 && nratio > 1.0) || (ratio > 1.0 && nratio < 1.0)) {
        /* too small a change, or the new ratio flips the direction */
        *p = (struct proposal){current, within(h, nratio)};
        return PROP_OK;
    }
    int32_t nr = ceil_i32(nratio * (double)n);
    if ((nratio < 1.0 && nr > current) || (nratio > 1.0 && nr < current)) {
        *p = (struct proposal){current, false};
        return PROP_OK;
    }
    *p = (struct proposal){nr, false};
    return PROP_OK;
}

/* computeReplicasForMetric */
static int metric_proposal(const struct hpa *h, const struct hpa_sync_in *in, size_t i,
                           struct proposal *p)
{
    const struct hpa_metric_spec *s = &h->cfg.metrics[i];
    const struct hpa_metric_value *m = &in->metrics[i];
    if (!m->ok)
        return PROP_FAILED;
    switch (s->source) {
    case HPA_SOURCE_PODS:
        return plain_metric_count(h, in, m, s->target_milli, p);
    case HPA_SOURCE_EXTERNAL:
    case HPA_SOURCE_OBJECT:
        if (s->target_type == HPA_TARGET_AVERAGE_VALUE)
            return per_pod_count(h, in, m->milli, s->target_milli, p);
        return usage_ratio_count(h, in, (double)m->milli / (double)s->target_milli, p);
    }
    return PROP_FAILED;
}

/* ---- normalisation ------------------------------------------------------------------ */

/* stabilizeRecommendation (behavior nil): the max over the downscale window; entries
 * strictly before now - window are stale and get overwritten */
static int32_t stabilize_legacy(struct hpa *h, int32_t desired, int64_t now_us, int *rc)
{
    int32_t best = desired;
    int64_t cutoff = now_us - (int64_t)h->cfg.downscale_stabilization_s * 1000000LL;
    long old = -1;
    for (size_t i = 0; i < h->n_recs; i++) {
        if (h->recs[i].t_us < cutoff)
            old = (long)i;
        else if (h->recs[i].replicas > best)
            best = h->recs[i].replicas;
    }
    *rc = store_rec(h, old, desired, now_us);
    return best;
}

/* stabilizeRecommendationWithBehaviors: up = min over entries strictly after
 * now - upWindow, down = max over entries strictly after now - downWindow, both with
 * the current raw value; the result is current clamped into [up, down] */
static int32_t stabilize_behavior(struct hpa *h, int32_t current, int32_t desired, int64_t now_us,
                                  int32_t *up_out, int32_t *down_out, int *rc)
{
    const struct hpa_behavior *b = &h->cfg.behavior;
    int64_t up_cut = now_us - (int64_t)b->scale_up.stabilization_window_s * 1000000LL;
    int64_t down_cut = now_us - (int64_t)b->scale_down.stabilization_window_s * 1000000LL;
    int32_t up = desired, down = desired;
    long old = -1;
    for (size_t i = 0; i < h->n_recs; i++) {
        const struct hpa_rec *r = &h->recs[i];
        if (r->t_us > up_cut && r->replicas < up)
            up = r->replicas;
        if (r->t_us > down_cut && r->replicas > down)
            down = r->replicas;
        if (r->t_us < up_cut && r->t_us < down_cut)
            old = (long)i;
    }
    int32_t rec = current;
    if (rec < up)
        rec = up;
    if (rec > down)
        rec = down;
    *rc = store_rec(h, old, desired, now_us);
    *up_out = up;
    *down_out = down;
    return rec;
}

/* calculateScaleUpLimitWithScalingRules / calculateScaleDownLimitWithBehaviors. Returns
 * the limit and the index of the policy that set it (-1 for Disabled). */
static int32_t policy_limit(const struct hpa *h, bool upward, int32_t current, int64_t now_us,
                            int *which)
{
    const struct hpa_rules *r = upward ? &h->cfg.behavior.scale_up : &h->cfg.behavior.scale_down;
    *which = -1;
    if (r->select_policy == HPA_SELECT_DISABLED)
        return current;
    /* scale-up: Max takes the largest proposal, Min the smallest; scale-down: Max takes
     * the smallest (most change), Min the largest */
    bool take_max = upward == (r->select_policy == HPA_SELECT_MAX);
    int32_t result = take_max ? INT32_MIN : INT32_MAX;
    for (size_t i = 0; i < r->n_policies; i++) {
        const struct hpa_policy *p = &r->policies[i];
        int32_t added = change_in_period(h->up, h->n_up, p->period_s, now_us);
        int32_t deleted = change_in_period(h->down, h->n_down, p->period_s, now_us);
        int32_t start = current - added + deleted;
        int32_t prop;
        if (upward) {
            if (p->type == HPA_POLICY_PODS)
                prop = start + p->value;
            else /* rounded up so that a small count still grows */
                prop = ceil_i32((double)start * (1.0 + (double)p->value / 100.0));
        } else {
            if (p->type == HPA_POLICY_PODS)
                prop = start - p->value;
            else /* int32() truncates toward zero */
                prop = (int32_t)((double)start * (1.0 - (double)p->value / 100.0));
        }
        if (take_max ? prop > result : prop < result) {
            result = prop;
            *which = (int)i;
        }
    }
    return result;
}

static const char *policy_type_name(enum hpa_policy_type t)
{
    return t == HPA_POLICY_PODS ? "Pods" : "Percent";
}

static void set_why(struct hpa_decision *d, enum hpa_why why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_why(struct hpa_decision *d, enum hpa_why why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    d->why = why;
    vsnprintf(d->reason, sizeof d->reason, fmt, ap);
    va_end(ap);
}

/* normalizeDesiredReplicas + convertDesiredReplicasWithRules (behavior nil) */
static int normalize_legacy(struct hpa *h, int32_t current, int32_t raw, int64_t now_us,
                            struct hpa_decision *d)
{
    int rc;
    int32_t min = h->cfg.min_replicas, max = h->cfg.max_replicas;
    int32_t stab = stabilize_legacy(h, raw, now_us, &rc);
    d->stabilized = stab;
    /* calculateScaleUpLimit */
    double lim_d = fmax(scale_up_limit_factor * (double)current, scale_up_limit_minimum);
    int32_t limit = (int32_t)lim_d;
    int32_t max_allowed = max > limit ? limit : max;
    bool rate_limits = max > limit;
    int32_t out = stab;
    if (stab < min)
        out = min;
    else if (stab > max_allowed)
        out = max_allowed;
    d->desired = out;
    int32_t win = h->cfg.downscale_stabilization_s;
    if (out > current && out < stab) {
        if (rate_limits)
            set_why(d, HPA_WHY_UP_LIMITED, "scale up limited by max(2x%" PRId32 ", 4) = %" PRId32,
                    current, out);
        else
            set_why(d, HPA_WHY_UP_LIMITED, "scale up limited by maxReplicas %" PRId32, max);
    } else if (out > current && stab > raw) {
        set_why(d, HPA_WHY_SCALE_UP,
                "scale up to the highest recent recommendation (max %" PRId32 " over %" PRId32 "s)",
                stab, win);
    } else if (out > current) {
        set_why(d, HPA_WHY_SCALE_UP, "scale up");
    } else if (stab > raw && raw < current) {
        set_why(d, HPA_WHY_DOWN_HELD,
                "scale down held by stabilization window (max %" PRId32 " over %" PRId32 "s)", stab,
                win);
    } else if (out < current && out > stab) { // NOLINT(bugprone-branch-clone): kept in the HPA's order
        set_why(d, HPA_WHY_DOWN_LIMITED, "scale down limited by minReplicas %" PRId32, min);
    } else if (out < current) {
        set_why(d, HPA_WHY_SCALE_DOWN, "scale down");
    } else if (raw > current) {
        set_why(d, HPA_WHY_UP_LIMITED, "scale up limited by maxReplicas %" PRId32, max);
    } else if (raw < current) {
        set_why(d, HPA_WHY_DOWN_LIMITED, "scale down limited by minReplicas %" PRId32, min);
    } else {
        set_why(d, HPA_WHY_NO_CHANGE, "no change");
    }
    return rc;
}

/* normalizeDesiredReplicasWithBehaviors: stabilise, then convertDesiredReplicasWithBehaviorRate */
static int normalize_behavior(struct hpa *h, int32_t current, int32_t raw, int64_t now_us,
                              struct hpa_decision *d)
{
    int rc;
    const struct hpa_behavior *b = &h->cfg.behavior;
    int32_t min = h->cfg.min_replicas, max = h->cfg.max_replicas;
    int32_t up_rec, down_rec;
    int32_t stab = stabilize_behavior(h, current, raw, now_us, &up_rec, &down_rec, &rc);
    d->stabilized = stab;
    int32_t out = stab;
    int which = -1;
    enum { LIM_NONE, LIM_POLICY, LIM_BOUND } lim = LIM_NONE;
    if (stab > current) {
        int32_t limit = policy_limit(h, true, current, now_us, &which);
        if (limit < current) /* no further scale-up until the events age out */
            limit = current;
        int32_t max_allowed = max;
        bool by_policy = false;
        if (max_allowed > limit) {
            max_allowed = limit;
            by_policy = true;
        }
        if (stab > max_allowed) {
            out = max_allowed;
            lim = by_policy ? LIM_POLICY : LIM_BOUND;
        }
    } else if (stab < current) {
        int32_t limit = policy_limit(h, false, current, now_us, &which);
        if (limit > current)
            limit = current;
        int32_t min_allowed = min;
        bool by_policy = false;
        if (min_allowed < limit) {
            min_allowed = limit;
            by_policy = true;
        }
        if (stab < min_allowed) {
            out = min_allowed;
            lim = by_policy ? LIM_POLICY : LIM_BOUND;
        }
    }
    d->desired = out;
    if (lim != LIM_NONE) {
        bool upward = stab > current;
        const struct hpa_rules *r = upward ? &b->scale_up : &b->scale_down;
        const char *dir = upward ? "up" : "down";
        if (lim == LIM_BOUND)
            set_why(d, upward ? HPA_WHY_UP_LIMITED : HPA_WHY_DOWN_LIMITED,
                    "scale %s limited by %s %" PRId32, dir, upward ? "maxReplicas" : "minReplicas",
                    upward ? max : min);
        else if (r->select_policy == HPA_SELECT_DISABLED)
            set_why(d, upward ? HPA_WHY_UP_DISABLED : HPA_WHY_DOWN_DISABLED,
                    "scale %s disabled by selectPolicy Disabled", dir);
        else
            set_why(d, upward ? HPA_WHY_UP_LIMITED : HPA_WHY_DOWN_LIMITED,
                    "scale %s limited by policy %s %" PRId32 "/%" PRId32 "s", dir,
                    policy_type_name(r->policies[which].type), r->policies[which].value,
                    r->policies[which].period_s);
    } else if (stab != raw && raw > current) {
        set_why(d, HPA_WHY_UP_HELD,
                "scale up held by stabilization window (min %" PRId32 " over %" PRId32 "s)", up_rec,
                b->scale_up.stabilization_window_s);
    } else if (stab != raw && raw < current) {
        set_why(d, HPA_WHY_DOWN_HELD,
                "scale down held by stabilization window (max %" PRId32 " over %" PRId32 "s)",
                down_rec, b->scale_down.stabilization_window_s);
    } else if (out > current) {
        set_why(d, HPA_WHY_SCALE_UP, "scale up");
    } else if (out < current) {
        set_why(d, HPA_WHY_SCALE_DOWN, "scale down");
    } else {
        set_why(d, HPA_WHY_NO_CHANGE, "no change");
    }
    return rc;
}

/* ---- reconcile ---------------------------------------------------------------------- */

int hpa_sync(struct hpa *h, const struct hpa_sync_in *in, struct hpa_decision *d)
{
    SIM_ASSERT(!h->synced || in->now_us >= h->last_now_us);
    SIM_ASSERT(in->spec_replicas >= 0 && in->status_replicas >= 0 && in->ready_replicas >= 0);
    h->synced = true;
    h->last_now_us = in->now_us;
    const struct hpa_config *c = &h->cfg;
    int32_t current = in->spec_replicas;
    memset(d, 0, sizeof *d);
    d->now_us = in->now_us;
    d->current_replicas = current;
    d->raw_desired = -1;
    d->stabilized = -1;
    d->desired = current;
    d->metric = -1;

    int rc = record_initial(h, current, in->now_us);
    if (rc)
        return rc;
    if (current == 0 && c->min_replicas != 0) {
        set_why(d, HPA_WHY_SCALING_DISABLED, "scaling disabled: the target has 0 replicas");
        return SIM_OK;
    }
    int32_t desired;
    if (current > c->max_replicas) {
        desired = c->max_replicas;
        set_why(d, HPA_WHY_ABOVE_MAX, "above maxReplicas: set to %" PRId32, desired);
    } else if (current < c->min_replicas) {
        desired = c->min_replicas;
        set_why(d, HPA_WHY_BELOW_MIN, "below minReplicas: set to %" PRId32, desired);
    } else {
        /* computeReplicasForMetrics: the max over valid metrics */
        int32_t replicas = 0;
        int n_failed = 0, best = -1;
        bool best_tol = false;
        for (size_t i = 0; i < c->n_metrics; i++) {
            struct proposal p;
            if (metric_proposal(h, in, i, &p) != PROP_OK) {
                n_failed++;
                continue;
            }
            if (replicas == 0 || p.replicas > replicas) {
                replicas = p.replicas;
                best = (int)i;
                best_tol = p.tolerance;
            }
        }
        d->n_failed = n_failed;
        if ((size_t)n_failed >= c->n_metrics || (n_failed > 0 && replicas < current)) {
            if ((size_t)n_failed >= c->n_metrics)
                set_why(d, HPA_WHY_METRICS_FAILED, "metrics failed: no change");
            else
                set_why(d, HPA_WHY_METRICS_FAILED,
                        "%d of %zu metrics failed and the rest would scale down: no change",
                        n_failed, c->n_metrics);
            return SIM_OK;
        }
        d->metric = best;
        desired = 0;
        if (replicas > desired)
            desired = replicas;
        d->raw_desired = desired;
        rc = c->has_behavior ? normalize_behavior(h, current, desired, in->now_us, d)
                             : normalize_legacy(h, current, desired, in->now_us, d);
        if (rc)
            return rc;
        if (d->why == HPA_WHY_NO_CHANGE && best_tol && desired == current)
            set_why(d, HPA_WHY_WITHIN_TOLERANCE, "within tolerance");
        desired = d->desired;
        if (n_failed > 0) {
            size_t len = strlen(d->reason);
            snprintf(d->reason + len, sizeof d->reason - len, " (%d of %zu metrics failed)",
                     n_failed, c->n_metrics);
        }
    }
    d->desired = desired;
    d->rescale = desired != current;
    if (d->rescale && c->has_behavior) /* storeScaleEvent: only with a behavior */
        rc = store_event(h, desired > current,
                         desired > current ? desired - current : current - desired, in->now_us);
    return rc;
}

const char *hpa_why_name(enum hpa_why why)
{
    static const char *const names[] = {
        [HPA_WHY_SCALING_DISABLED] = "scaling_disabled",
        [HPA_WHY_ABOVE_MAX] = "above_max",
        [HPA_WHY_BELOW_MIN] = "below_min",
        [HPA_WHY_METRICS_FAILED] = "metrics_failed",
        [HPA_WHY_WITHIN_TOLERANCE] = "within_tolerance",
        [HPA_WHY_NO_CHANGE] = "no_change",
        [HPA_WHY_SCALE_UP] = "scale_up",
        [HPA_WHY_SCALE_DOWN] = "scale_down",
        [HPA_WHY_UP_LIMITED] = "up_limited",
        [HPA_WHY_DOWN_LIMITED] = "down_limited",
        [HPA_WHY_UP_HELD] = "up_held",
        [HPA_WHY_DOWN_HELD] = "down_held",
        [HPA_WHY_UP_DISABLED] = "up_disabled",
        [HPA_WHY_DOWN_DISABLED] = "down_disabled",
    };
    if ((size_t)why < sizeof names / sizeof names[0] && names[why])
        return names[why];
    return "unknown";
}
