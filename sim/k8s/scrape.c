/*
 * scrape.c: what Prometheus would have seen. Every scrape interval each replica whose
 * server is up is scraped: its vLLM gauges, counters and histograms and its GPU's DCGM
 * utilisation go into the metric store that KEDA and the HPA query (only the metrics some
 * query reads are materialised), and the main gauges go to the `samples` table.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/k8s/promql.h"
#include "sim/sim_int.h"

/* Label names every replica series carries; queries may filter on these only. */
static const char *const replica_labels[] = {"namespace",  "job",    "pod", "container",
                                             "instance",   "model_name", "engine", "le"};

/* The shortest decimal that reads back as `v`, as Python's repr and Go's
 * strconv.FormatFloat(v, 'g', -1) write bucket bounds ("0.001", "2.5", "+Inf"); a whole
 * number gets ".0" as prometheus_client writes it ("1.0"). */
static void format_le(double v, char *buf, size_t n)
{
    if (isinf(v)) {
        snprintf(buf, n, "+Inf");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (!strpbrk(buf, ".eEn"))
        strncat(buf, ".0", n - strlen(buf) - 1);
}

/* Series ids of one pod: for each metric, its value series (gauges, counters) or its
 * n_buckets + 1 bucket series then _sum and _count (histograms); -1 when not wanted. */
static size_t n_series_slots(void)
{
    size_t n = 0;
    for (int m = 0; m < M_N_METRICS; m++) {
        const struct metric_def *md = &sim_metric_defs[m];
        n += md->type == METRIC_HISTOGRAM ? md->n_buckets + 3 : 1;
    }
    return n;
}

/* The series of a deployment's gateway (no pod labels). */
static int gateway_series(struct deployment *d, struct sim_err *err)
{
    struct sim *s = d->s;
    char name[128];
    /* one gateway per deployment: its series carry the model it serves when there are
     * several */
    struct tsdb_labels none = {0};
    if (s->n_deps > 1)
        none = (struct tsdb_labels){1, {{"model_name", d->model_label}}};
    d->gw_sid[0] = d->gw_sid[1] = -1;
    if (!s->tsdb)
        return SIM_OK;
    if (s->want[M_GATEWAY_WAITING]) {
        d->gw_sid[0] = tsdb_series(s->tsdb, sim_metric_defs[M_GATEWAY_WAITING].name, &none);
        if (d->gw_sid[0] < 0)
            return sim_err_set(err, SIM_ENOMEM, "out of memory for metric series");
    }
    if (s->want[M_GATEWAY_REQUESTS]) {
        snprintf(name, sizeof name, "%s_total", sim_metric_defs[M_GATEWAY_REQUESTS].name);
        d->gw_sid[1] = tsdb_series(s->tsdb, name, &none);
        if (d->gw_sid[1] < 0)
            return sim_err_set(err, SIM_ENOMEM, "out of memory for metric series");
    }
    return SIM_OK;
}

int scrape_init(struct sim *s, struct sim_err *err)
{
    for (int m = 0; m < M_N_METRICS; m++)
        s->want[m] = s->tsdb && tsdb_wants(s->tsdb, sim_metric_defs[m].name);
    for (int32_t i = 0; i < s->n_deps; i++) {
        int rc = gateway_series(s->deps[i], err);
        if (rc != SIM_OK)
            return rc;
    }
    return SIM_OK;
}

void scrape_release(struct sim *s)
{
    tsdb_free(s->tsdb);
    s->tsdb = NULL;
}

void scrape_pod_release(struct replica *rp)
{
    for (int m = 0; m < M_N_METRICS; m++) {
        if (rp->hist[m]) {
            free(rp->hist[m]->counts);
            free(rp->hist[m]);
            rp->hist[m] = NULL;
        }
    }
    free(rp->sid);
    rp->sid = NULL;
}

/* Histograms are kept for a pod from its creation, so observations made while it
 * serves are all counted. Called when the pod's server comes up. */
int scrape_pod_up(struct replica *rp)
{
    struct deployment *d = rp->dep;
    struct sim *s = d->s;
    if (!s->tsdb)
        return SIM_OK;
    for (int m = 0; m < M_N_METRICS; m++) {
        const struct metric_def *md = &sim_metric_defs[m];
        if (!s->want[m] || md->type != METRIC_HISTOGRAM || rp->hist[m])
            continue;
        struct hist *h = calloc(1, sizeof *h);
        if (!h)
            return SIM_ENOMEM;
        h->bounds = md->buckets;
        h->n_bounds = md->n_buckets;
        h->counts = calloc(md->n_buckets + 1, sizeof *h->counts);
        if (!h->counts) {
            free(h);
            return SIM_ENOMEM;
        }
        rp->hist[m] = h;
    }
    size_t slots = n_series_slots();
    rp->sid = malloc(slots * sizeof *rp->sid);
    if (!rp->sid)
        return SIM_ENOMEM;
    for (size_t i = 0; i < slots; i++)
        rp->sid[i] = -1;
    char pod[96], instance[112], name[160], le[40];
    scrape_pod_name(d, rp->idx, pod, sizeof pod);
    snprintf(instance, sizeof instance, "%s:8000", pod);
    const struct fleet_spec *f = &d->sc->fleet;
    struct tsdb_labels lb = {7,
                             {{"namespace", f->namespace_},
                              {"job", f->job},
                              {"pod", pod},
                              {"container", f->container},
                              {"instance", instance},
                              {"model_name", d->model_label},
                              {"engine", "0"}}};
    size_t slot = 0;
    for (int m = 0; m < M_N_METRICS; m++) {
        const struct metric_def *md = &sim_metric_defs[m];
        size_t width = md->type == METRIC_HISTOGRAM ? md->n_buckets + 3 : 1;
        if (!s->want[m] || m == M_GATEWAY_WAITING || m == M_GATEWAY_REQUESTS) {
            slot += width;
            continue;
        }
        if (md->type == METRIC_GAUGE) {
            rp->sid[slot] = tsdb_series(s->tsdb, md->name, &lb);
        } else if (md->type == METRIC_COUNTER) {
            snprintf(name, sizeof name, "%s_total", md->name);
            rp->sid[slot] = tsdb_series(s->tsdb, name, &lb);
        } else {
            snprintf(name, sizeof name, "%s_bucket", md->name);
            struct tsdb_labels bl = lb;
            bl.n = 8;
            bl.l[7].name = "le";
            bl.l[7].value = le;
            for (size_t b = 0; b <= md->n_buckets; b++) {
                format_le(b < md->n_buckets ? md->buckets[b] : INFINITY, le, sizeof le);
                rp->sid[slot + b] = tsdb_series(s->tsdb, name, &bl);
            }
            snprintf(name, sizeof name, "%s_sum", md->name);
            rp->sid[slot + md->n_buckets + 1] = tsdb_series(s->tsdb, name, &lb);
            snprintf(name, sizeof name, "%s_count", md->name);
            rp->sid[slot + md->n_buckets + 2] = tsdb_series(s->tsdb, name, &lb);
        }
        for (size_t i = 0; i < width; i++)
            if (rp->sid[slot + i] < 0)
                return SIM_ENOMEM;
        slot += width;
    }
    return SIM_OK;
}

void scrape_pod_gone(struct replica *rp)
{
    const struct sim *s = rp->dep->s;
    if (s->tsdb && rp->sid) {
        size_t slots = n_series_slots();
        for (size_t i = 0; i < slots; i++)
            if (rp->sid[i] >= 0)
                tsdb_mark_stale(s->tsdb, rp->sid[i], s->now_us);
    }
    scrape_pod_release(rp);
}

static int64_t engine_busy_now(const struct sim *s, const struct engine *e)
{
    return e->busy_us + (e->busy && e->step_ev ? s->now_us - e->step_start_us : 0);
}

static void emit_sample(const struct deployment *d, const char *metric, int32_t replica, double v)
{
    struct sim *s = d->s;
    const struct sim_sink *sink = s->opt.sink;
    if (!sink || !sink->sample || !s->sc->record.samples || s->stopping)
        return;
    struct rec_sample row = {s->now_us, metric, replica, v, sim_rec_deployment(d)};
    int rc = sink->sample(sink->ctx, &row);
    if (rc != SIM_OK && s->sink_rc == SIM_OK) {
        s->sink_rc = rc;
        sim_err_set(&s->sink_err, rc, "could not record a metric sample");
        s->stopping = true;
    }
}

static void scrape_pod(struct deployment *d, struct replica *rp)
{
    struct sim *s = d->s;
    const struct engine *e = &rp->eng;
    double running, waiting, kv;
    engine_gauges(rp, &running, &waiting, &kv);
    int64_t busy = engine_busy_now(s, e);
    double interval = (double)d->sc->fleet.scrape_interval_us;
    double util = interval > 0 ? 100.0 * (double)(busy - rp->busy_us_scraped) / interval : 0.0;
    if (util > 100.0)
        util = 100.0; /* a pod up for less than a whole interval */
    rp->busy_us_scraped = busy;

    emit_sample(d, "vllm:num_requests_running", rp->seq, running);
    emit_sample(d, "vllm:num_requests_waiting", rp->seq, waiting);
    emit_sample(d, "vllm:kv_cache_usage_perc", rp->seq, kv);
    emit_sample(d, "DCGM_FI_DEV_GPU_UTIL", rp->seq, util);

    if (!s->tsdb || !rp->sid)
        return;
    const double value[M_N_METRICS] = {
        [M_NUM_REQUESTS_RUNNING] = running,
        [M_NUM_REQUESTS_WAITING] = waiting,
        [M_KV_CACHE_USAGE] = kv,
        [M_NUM_PREEMPTIONS] = (double)e->n_preemptions,
        [M_PROMPT_TOKENS] = (double)e->prompt_tokens_total,
        [M_GENERATION_TOKENS] = (double)e->generation_tokens_total,
        [M_REQUEST_SUCCESS] = (double)e->success_total,
        [M_PREFIX_CACHE_QUERIES] = (double)e->prefix_queries_total,
        [M_PREFIX_CACHE_HITS] = (double)e->prefix_hits_total,
        [M_GPU_UTIL] = util,
    };
    size_t slot = 0;
    for (int m = 0; m < M_N_METRICS; m++) {
        const struct metric_def *md = &sim_metric_defs[m];
        if (md->type != METRIC_HISTOGRAM) {
            if (rp->sid[slot] >= 0)
                tsdb_append(s->tsdb, rp->sid[slot], s->now_us, value[m]);
            slot++;
            continue;
        }
        const struct hist *h = rp->hist[m];
        if (h) {
            uint64_t cum = 0;
            for (size_t b = 0; b <= md->n_buckets; b++) {
                cum += h->counts[b];
                tsdb_append(s->tsdb, rp->sid[slot + b], s->now_us, (double)cum);
            }
            tsdb_append(s->tsdb, rp->sid[slot + md->n_buckets + 1], s->now_us, h->sum);
            tsdb_append(s->tsdb, rp->sid[slot + md->n_buckets + 2], s->now_us, (double)h->n);
        }
        slot += md->n_buckets + 3;
    }
}

void scrape_all(struct deployment *d)
{
    struct sim *s = d->s;
    for (int32_t i = 0; i < d->n_pods && !s->stopping; i++) {
        struct replica *rp = d->pods[i];
        /* Prometheus scrapes a pod while its server is up. */
        if (rp->phase == POD_READY || rp->phase == POD_TERMINATING)
            scrape_pod(d, rp);
    }
    if (s->tsdb) {
        if (d->gw_sid[0] >= 0)
            tsdb_append(s->tsdb, d->gw_sid[0], s->now_us, (double)d->gateway.n);
        if (d->gw_sid[1] >= 0)
            tsdb_append(s->tsdb, d->gw_sid[1], s->now_us, (double)d->gateway_requests_total);
    }
    int32_t starting = 0, pending = 0;
    for (int32_t i = 0; i < d->n_pods; i++) {
        enum pod_phase ph = d->pods[i]->phase;
        starting += ph == POD_PULLING || ph == POD_LOADING || ph == POD_STARTING;
        pending += ph == POD_PENDING;
    }
    static const char *const names[5] = {"llmcap:gateway_requests_waiting",
                                         "llmcap:replicas_desired", "llmcap:replicas_ready",
                                         "llmcap:replicas_starting", "llmcap:replicas_pending"};
    const double v[5] = {(double)d->gateway.n, (double)d->desired, (double)d->n_ready_pods,
                         (double)starting, (double)pending};
    for (int k = 0; k < 5; k++) /* several deployments: whose, in the row's deployment */
        emit_sample(d, names[k], -1, v[k]);
}

const char *const *scrape_label_names(size_t *n)
{
    *n = sizeof replica_labels / sizeof replica_labels[0];
    return replica_labels;
}

void scrape_pod_name(const struct deployment *d, int32_t idx, char *buf, size_t n)
{
    snprintf(buf, n, "%s-%d", d->sc->fleet.pod_prefix, (int)idx);
}

void scrape_fixed_labels(const struct deployment *d, struct promql_label_value *out)
{
    const struct fleet_spec *f = &d->sc->fleet;
    out[0] = (struct promql_label_value){"namespace", f->namespace_,
                                         "(set 'fleet.metrics.labels.namespace')"};
    out[1] = (struct promql_label_value){"job", f->job, "(set 'fleet.metrics.labels.job')"};
    out[2] = (struct promql_label_value){"container", f->container,
                                         "(set 'fleet.metrics.labels.container')"};
    out[3] = (struct promql_label_value){
        "model_name", d->model_label,
        d->sc->model.served_model_name[0]
            ? "(from 'model.served_model_name')"
            : "(vLLM's default --served-model-name, the model's Hugging Face id: set "
              "'model.served_model_name' to the name the deployment serves)"};
    out[4] = (struct promql_label_value){"engine", "0", "(vLLM V1 labels its one engine \"0\")"};
}
