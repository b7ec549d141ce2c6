/*
 * autoscaler.c: KEDA and the HPA in the run. The scenario's pasted ScaledObject or HPA is
 * read (sim/config/manifest.c), its PromQL queries are parsed against the metrics a replica
 * exposes, and the controllers (sim/k8s/keda.c, sim/k8s/hpa.c) are driven on their own clocks:
 * KEDA polls every pollingInterval for activation and scale to zero, the HPA syncs every
 * 15 s, each querying what Prometheus scraped (sim/k8s/scrape.c). Every evaluation is a row
 * in scaling_events; a decision to scale sets the Deployment's spec.replicas.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/k8s/autoscaler.h"
#include "sim/k8s/hpa.h"
#include "sim/k8s/keda.h"
#include "sim/config/manifest.h"
#include "sim/k8s/promql.h"
#include "sim/sim_int.h"

/* Retention of the metric store: long enough for any query's window (the store grows it
 * to the longest range a query uses). */
#define TSDB_RETENTION_US ((int64_t)600 * 1000000)

struct autoscaler {
    bool is_keda;
    struct keda_config kcfg;
    struct hpa_config hcfg;
    struct keda *keda;
    struct hpa *hpa;
    size_t n; /* triggers (KEDA) or metrics (HPA) */
    struct promql_expr *expr[HPA_MAX_METRICS];
    struct keda_sample live[HPA_MAX_METRICS];
    struct hpa_metric_value mv[HPA_MAX_METRICS];
    double shown[HPA_MAX_METRICS]; /* values for the scaling_events row */
    struct hpa_pod *pods;          /* Pods metrics: one per pod of the Deployment */
    int32_t cap_pods;
    char names[HPA_MAX_METRICS][64];
};

static int parse_queries(struct deployment *d, struct autoscaler *a, struct sim_err *err)
{
    struct sim *s = d->s;
    size_t n_labels;
    const char *const *labels = scrape_label_names(&n_labels);
    struct promql_label_value fixed[SCRAPE_N_FIXED];
    scrape_fixed_labels(d, fixed);
    for (size_t i = 0; i < a->n; i++) {
        const struct pos_text *q = a->is_keda ? &a->kcfg.triggers[i].query
                                              : &a->hcfg.metrics[i].query;
        a->expr[i] = promql_parse(q->text, q->file, q->line, q->col, err);
        if (!a->expr[i])
            return err ? err->code : SIM_EINVAL;
        int rc = promql_check_labels(a->expr[i], labels, n_labels, err);
        if (rc == SIM_OK)
            rc = promql_check_values(a->expr[i], fixed, SCRAPE_N_FIXED, err);
        if (rc == SIM_OK)
            rc = promql_register(a->expr[i], s->tsdb, err);
        if (rc != SIM_OK)
            return rc;
        if (a->is_keda && a->kcfg.triggers[i].name)
            snprintf(a->names[i], sizeof a->names[i], "%s", a->kcfg.triggers[i].name);
        else
            snprintf(a->names[i], sizeof a->names[i], "s%zu-prometheus", i);
    }
    return SIM_OK;
}

int autoscaler_init(struct deployment *d, int32_t *initial_replicas, struct sim_err *err)
{
    struct sim *s = d->s;
    const struct fleet_spec *f = &d->sc->fleet;
    if (!f->scaled_object && !f->hpa)
        return SIM_OK;
    struct autoscaler *a = calloc(1, sizeof *a);
    if (!a)
        return sim_err_set(err, SIM_ENOMEM, "out of memory for the autoscaler");
    d->autoscaler = a;
    keda_config_init(&a->kcfg);
    hpa_config_init(&a->hcfg);
    int rc;
    /* its name in messages: the scenario's path to it (deployments.N. for a list item) */
    const char *kind = f->scaled_object ? "scaledObject" : "horizontalPodAutoscaler";
    char key[96];
    if (d->sc->deployment[0])
        snprintf(key, sizeof key, "deployments.%d.fleet.autoscaler.%s", (int)d->id, kind);
    else
        snprintf(key, sizeof key, "fleet.autoscaler.%s", kind);
    if (f->scaled_object) {
        a->is_keda = true;
        rc = manifest_read_scaledobject_ig(f->scaled_object, key, &a->kcfg, &s->ignored, err);
        if (rc != SIM_OK)
            return rc;
        keda_hpa_config(&a->kcfg, &a->hcfg);
        a->n = a->kcfg.n_triggers;
    } else {
        rc = manifest_read_hpa_ig(f->hpa, key, &a->hcfg, &s->ignored, err);
        if (rc != SIM_OK)
            return rc;
        a->n = a->hcfg.n_metrics;
    }
    if (!s->tsdb) /* one Prometheus for the cluster */
        s->tsdb = tsdb_new(s->sc->fleet.scrape_interval_us, TSDB_RETENTION_US, err);
    if (!s->tsdb)
        return err ? err->code : SIM_ENOMEM;
    if ((rc = parse_queries(d, a, err)) != SIM_OK)
        return rc;
    if (a->is_keda) {
        a->keda = keda_new(&a->kcfg, 0, err);
        if (!a->keda)
            return err ? err->code : SIM_ENOMEM;
        /* The run starts in steady state: the object was active a moment ago. */
        keda_assume_active(a->keda, 0);
    }
    a->hpa = hpa_new(&a->hcfg, err);
    if (!a->hpa)
        return err ? err->code : SIM_ENOMEM;
    /* The run starts in steady state at the HPA's minimum (for KEDA max(1, min)). */
    *initial_replicas = a->hcfg.min_replicas;
    return SIM_OK;
}

void autoscaler_release(struct deployment *d)
{
    struct autoscaler *a = d->autoscaler;
    if (!a)
        return;
    for (size_t i = 0; i < HPA_MAX_METRICS; i++)
        promql_free(a->expr[i]);
    keda_free(a->keda);
    hpa_free(a->hpa);
    keda_config_release(&a->kcfg);
    if (!a->is_keda)
        hpa_config_release(&a->hcfg);
    free(a->pods);
    free(a);
    d->autoscaler = NULL;
}

/* ---- queries ------------------------------------------------------------------------- */

/* What KEDA's Prometheus scaler gets for trigger i now: one value, nothing, or an error
 * (a failed query or more than one series). */
static struct keda_sample keda_query(struct deployment *d, struct autoscaler *a, size_t i)
{
    struct sim *s = d->s;
    struct promql_value v;
    struct keda_sample out = {KEDA_SAMPLE_ERROR, 0.0};
    if (promql_eval(a->expr[i], s->tsdb, s->now_us, &v, NULL) != SIM_OK)
        return out;
    if (v.type == PROMQL_SCALAR || v.n > 1)
        return out; /* KEDA cannot decode a scalar; more than one series is an error */
    if (v.n == 0) {
        out.kind = KEDA_SAMPLE_EMPTY;
        return out;
    }
    out.kind = KEDA_SAMPLE_VALUE;
    out.value = v.samples[0].v;
    return out;
}

static enum hpa_pod_state pod_state(const struct replica *rp)
{
    switch (rp->phase) {
    case POD_PENDING:
    case POD_PULLING:
        return HPA_POD_PENDING; /* phase Pending: the image is not there yet */
    case POD_LOADING:
    case POD_STARTING:
    case POD_READY:
        return HPA_POD_MISSING; /* Running; RUNNING once a metric sample is found */
    default:
        return HPA_POD_IGNORED; /* being deleted */
    }
}

/* An HPA metric read through the custom/external metrics API (prometheus-adapter): the
 * selector's series, summed (External, Object) or per pod (Pods). */
static struct hpa_metric_value hpa_query(struct deployment *d, struct autoscaler *a, size_t i,
                                         bool *empty)
{
    struct sim *s = d->s;
    struct hpa_metric_value mv = {0};
    struct promql_value v;
    a->shown[i] = NAN;
    *empty = false;
    if (promql_eval(a->expr[i], s->tsdb, s->now_us, &v, NULL) != SIM_OK ||
        v.type != PROMQL_VECTOR)
        return mv;
    *empty = v.n == 0;
    if (a->hcfg.metrics[i].source != HPA_SOURCE_PODS) {
        if (v.n == 0)
            return mv; /* "no metrics returned from external metrics API" */
        double sum = 0;
        for (size_t k = 0; k < v.n; k++)
            sum += v.samples[k].v;
        mv.ok = true;
        mv.milli = hpa_milli_from_double(sum);
        a->shown[i] = sum;
        return mv;
    }
    if (d->n_pods > a->cap_pods) {
        struct hpa_pod *p = sim_reallocarray(a->pods, (size_t)d->cap_pods, sizeof *p);
        if (!p)
            return mv;
        a->pods = p;
        a->cap_pods = d->cap_pods;
    }
    size_t n = 0;
    int32_t pod_label = tsdb_str_find(s->tsdb, "pod");
    double sum = 0;
    size_t counted = 0;
    for (int32_t k = 0; k < d->n_pods; k++) {
        const struct replica *rp = d->pods[k];
        if (rp->phase == POD_GONE)
            continue;
        struct hpa_pod *hp = &a->pods[n++];
        hp->state = pod_state(rp);
        hp->milli = 0;
        if (hp->state != HPA_POD_MISSING || rp->phase != POD_READY || pod_label < 0)
            continue;
        char name[96];
        scrape_pod_name(d, rp->idx, name, sizeof name);
        int32_t want = tsdb_str_find(s->tsdb, name);
        for (size_t j = 0; want >= 0 && j < v.n; j++) {
            if (tsdb_lset_get(&v.samples[j].labels, pod_label) == want) {
                hp->state = HPA_POD_RUNNING;
                hp->milli = hpa_milli_from_double(v.samples[j].v);
                sum += v.samples[j].v;
                counted++;
                break;
            }
        }
    }
    mv.ok = true;
    mv.pods = a->pods;
    mv.n_pods = n;
    a->shown[i] = counted ? sum / (double)counted : NAN;
    return mv;
}

/* ---- scaling_events rows --------------------------------------------------------------- */

/* Count an evaluation: `active` as sim_result says, and whether a query matched no
 * series (`empty[i]` per trigger or metric). Appends "; query 'NAME' matched no series"
 * for each such query to `reason` into `buf`. */
static const char *count_eval(struct deployment *d, struct autoscaler *a, bool active, const bool *empty,
                              const char *reason, char *buf, size_t n)
{
    bool any = false;
    size_t off = (size_t)snprintf(buf, n, "%s", reason);
    for (size_t i = 0; i < a->n; i++) {
        if (!empty[i])
            continue;
        any = true;
        if (off < n)
            off += (size_t)snprintf(buf + off, n - off, "; query '%s' matched no series",
                                    a->names[i]);
    }
    d->res.autoscaler_evals++;
    d->res.autoscaler_active_evals += active;
    d->res.autoscaler_empty_evals += any;
    return buf;
}

static void record(struct deployment *d, struct autoscaler *a, const char *source, int32_t current,
                   int32_t raw, int32_t desired, const char *reason)
{
    struct sim *s = d->s;
    const struct sim_sink *sink = s->opt.sink;
    if (!sink || !sink->scaling_event || s->stopping)
        return;
    char values[1024];
    size_t off = 0;
    off += (size_t)snprintf(values + off, sizeof values - off, "{");
    for (size_t i = 0; i < a->n && off < sizeof values; i++) {
        double v = a->shown[i];
        if (isnan(v) || isinf(v))
            off += (size_t)snprintf(values + off, sizeof values - off, "%s\"%s\": null",
                                    i ? ", " : "", a->names[i]);
        else
            off += (size_t)snprintf(values + off, sizeof values - off, "%s\"%s\": %.17g",
                                    i ? ", " : "", a->names[i], v);
    }
    if (off < sizeof values)
        snprintf(values + off, sizeof values - off, "}");
    struct rec_scaling_event ev = {s->now_us, source,  values, current,
                                   raw,       desired, reason, sim_rec_deployment(d)};
    int rc = sink->scaling_event(sink->ctx, &ev);
    if (rc != SIM_OK && s->sink_rc == SIM_OK) {
        s->sink_rc = rc;
        sim_err_set(&s->sink_err, rc, "could not record a scaling event");
        s->stopping = true;
    }
}

static int32_t ready_count(const struct deployment *d)
{
    return d->n_ready_pods;
}

/* Pods of the Deployment that are not being deleted: what status.replicas counts. */
static int32_t status_replicas(const struct deployment *d)
{
    int32_t n = 0;
    for (int32_t i = 0; i < d->n_pods; i++) {
        enum pod_phase ph = d->pods[i]->phase;
        n += ph != POD_TERMINATING && ph != POD_GONE;
    }
    return n;
}

/* ---- the controllers' clocks ------------------------------------------------------------ */

static void keda_tick(struct sim *s, void *obj, uint64_t arg)
{
    (void)arg;
    struct deployment *d = obj;
    struct autoscaler *a = d->autoscaler;
    bool empty[HPA_MAX_METRICS];
    for (size_t i = 0; i < a->n; i++) {
        a->live[i] = keda_query(d, a, i);
        a->shown[i] = a->live[i].kind == KEDA_SAMPLE_VALUE ? a->live[i].value : NAN;
        empty[i] = a->live[i].kind == KEDA_SAMPLE_EMPTY;
    }
    struct keda_poll_out out;
    keda_poll(a->keda, s->now_us, d->desired, ready_count(d), a->live, &out);
    char reason[512];
    record(d, a, "keda", out.current_replicas, out.target_replicas, out.desired,
           count_eval(d, a, out.active, empty, out.reason, reason, sizeof reason));
    if (out.scaled)
        fleet_set_desired(d, out.desired);
    evq_push(s->q, s->now_us + a->kcfg.polling_interval_us, PRIO_CONTROL, keda_tick, d, 0);
}

static void hpa_tick(struct sim *s, void *obj, uint64_t arg)
{
    (void)arg;
    struct deployment *d = obj;
    struct autoscaler *a = d->autoscaler;
    int32_t current = d->desired;
    bool empty[HPA_MAX_METRICS] = {false}, all_ok = true;
    for (size_t i = 0; i < a->n; i++) {
        if (a->is_keda) {
            /* The HPA asks KEDA's metrics server, which queries live unless
             * useCachedMetrics (then the last poll's value). */
            struct keda_sample live = {KEDA_SAMPLE_ERROR, 0.0};
            if (!keda_uses_cache(a->keda, i))
                live = keda_query(d, a, i);
            a->mv[i] = keda_hpa_metric(a->keda, i, current, ready_count(d), &live);
            a->shown[i] = a->mv[i].ok ? (double)a->mv[i].milli / 1000.0 : NAN;
        } else {
            a->mv[i] = hpa_query(d, a, i, &empty[i]);
            all_ok = all_ok && a->mv[i].ok && !empty[i];
        }
    }
    struct hpa_sync_in in = {s->now_us, current, status_replicas(d), ready_count(d), a->mv};
    struct hpa_decision dec;
    hpa_sync(a->hpa, &in, &dec);
    /* With KEDA the polls are the evaluations counted (its queries' emptiness shows
     * there); the HPA's own syncs count when it reads Prometheus itself. */
    char reason[512];
    const char *why = a->is_keda ? dec.reason
                                 : count_eval(d, a, all_ok, empty, dec.reason, reason,
                                              sizeof reason);
    record(d, a, "hpa", dec.current_replicas, dec.raw_desired, dec.desired, why);
    if (dec.rescale)
        fleet_set_desired(d, dec.desired);
    evq_push(s->q, s->now_us + a->hcfg.sync_period_us, PRIO_CONTROL, hpa_tick, d, 0);
}

void autoscaler_start(struct deployment *d)
{
    struct sim *s = d->s;
    struct autoscaler *a = d->autoscaler;
    if (!a)
        return;
    /* Controllers run on their own clocks, out of phase with the scrapes (at 0, S, 2S,
     * ...): polls and syncs come half a scrape interval after a scrape, so queries see
     * data S/2 old, the average lag of unsynchronised loops. */
    int64_t phase = d->sc->fleet.scrape_interval_us / 2;
    if (a->is_keda)
        evq_push(s->q, phase, PRIO_CONTROL, keda_tick, d, 0);
    evq_push(s->q, phase + a->hcfg.sync_period_us, PRIO_CONTROL, hpa_tick, d, 0);
}
