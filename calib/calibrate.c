/* calibrate.c: replay measured benchmark runs and fit the step model (see calibrate.h). */
#include "calib/calibrate.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models/calibration.h"
#include "models/catalog.h"
#include "sim/config/ynode.h"
#include "sim/core/sha256.h"
#include "sim/sim.h"

/* ---- parameters: prior, bounds, which are free ------------------------------------- */

/* The fit starts from this prior (not from the committed parameters, so a calibration
 * is a function of its runs alone); parameters the fit does not move keep it. Bounds are
 * physical: fractions of a peak below 1, times from 0 to well above any published
 * figure. */
static const struct roof_params prior = {
    .gemm_mfu = 0.55,
    .mem_eff = 0.75,
    .attn_mem_eff = 0.80,
    .attn_mfu = 0.58,
    .layer_us = 10.0,
    .launch_us = 40.0,
    .host_us = 1000.0,
    .host_seq_us = 20.0,
    .frontend_us = 10000.0,
    .allreduce_latency_us = 20.0,
    .link_eff = 0.70,
    .gemm_mfu_q = 0.55,
    .gemm_half_gflop = 1.0,
    .gemm_half_gflop_q = 1.0,
    .frontend_req_us = 1000.0,
};
/* F_half up to 100 GFLOP: a GEMM of 100 GFLOP (a 4096-token prefill of an 8B model's
 * gate_up at TP 1) would then reach only half its large-size rate; the API server's time
 * per request up to 20 ms. */
static const double lo_b[ROOF_N_PARAMS] = {0.15, 0.30, 0.30, 0.10, 0.0, 0.0,  0.0, 0.0,
                                           0.0,  0.0,  0.20, 0.10, 0.0, 0.0,  0.0};
static const double hi_b[ROOF_N_PARAMS] = {0.95,    0.98,  0.98,     0.95,  300.0,
                                           300.0,   30000.0, 500.0,  300000.0, 300.0,
                                           1.0,     0.95,  100.0,    100.0, 20000.0};
/* gemm_mfu, mem_eff, layer_us, host_us, host_seq_us, frontend_us, allreduce_latency_us,
 * link_eff (per GPU type with a TP > 1 run: the all-reduce's share of the link); attn_mem_eff,
 * attn_mfu and launch_us (eager steps of these runs are long prefills, never launch-bound)
 * keep the prior */
static const bool default_free[ROOF_N_PARAMS] = {true, true, false, false, true,
                                                 false, true, true, true, true,
                                                 true, true, true, true, true};

#define REG_LAMBDA 1e-3 /* pull toward the prior in logit space: breaks flat directions */
#define HUBER_DELTA 0.10
#define FIT_TOL 1e-2

const char *calib_metric_name(enum calib_metric m)
{
    static const char *const n[CM_N] = {"ttft", "tpot", "output_throughput"};
    return (unsigned)m < CM_N ? n[m] : "?";
}

/* ---- reading ------------------------------------------------------------------------ */

static char *read_all(const char *path, size_t *len, struct sim_err *err)
{
    char *text = NULL;
    if (ynode_read_file(path, &text, len, err))
        return NULL;
    return text;
}

/* A numeric array member of `o` of exactly n entries (n < 0: any, set *n_out). */
static int num_array(const char *file, const cJSON *o, const char *key, int n, int *n_out,
                     double **out, struct sim_err *err)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsArray(a))
        return sim_err_at(err, SIM_EINVAL, file, 0, 0,
                          "expected a benchmark result (vllm bench serve --save-result or "
                          "benchmark_serving.py) with a '%s' list, found %s",
                          key, a ? "another type" : "none");
    int len = cJSON_GetArraySize(a);
    if (n >= 0 && len != n)
        return sim_err_at(err, SIM_EINVAL, file, 0, 0,
                          "'%s' has %d entries, 'input_lens' has %d: every per-request list "
                          "must have one entry per request",
                          key, len, n);
    if (len <= 0 || len > 10000000)
        return sim_err_at(err, SIM_EINVAL, file, 0, 0, "'%s' must list 1 to 10000000 requests",
                          key);
    double *v = calloc((size_t)len, sizeof *v);
    if (!v)
        return sim_err_set(err, SIM_ENOMEM, "out of memory");
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble < 0.0) {
            free(v);
            return sim_err_at(err, SIM_EINVAL, file, 0, 0,
                              "'%s' entry %d must be a number >= 0", key, i);
        }
        v[i++] = it->valuedouble;
    }
    *out = v;
    if (n_out)
        *n_out = len;
    return SIM_OK;
}

static double num_or(const cJSON *o, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static double median_of(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    gsl_sort(v, 1, n);
    return gsl_stats_median_from_sorted_data(v, 1, n);
}

/* Read a result file into r (arrays, measured metrics). */
static int read_result(struct calib_run *r, struct sim_err *err)
{
    size_t len = 0;
    char *text = read_all(r->path, &len, err);
    if (!text)
        return err ? err->code : SIM_EIO;
    char hex[65];
    sha256_hex(text, len, hex);
    memcpy(r->sha256, hex, sizeof hex);
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return sim_err_at(err, SIM_EINVAL, r->path, 0, 0,
                          "expected a benchmark result JSON object (vllm bench serve "
                          "--save-result or benchmark_serving.py), found %s",
                          root ? "another JSON value" : "text that is not JSON");
    }
    int rc, n = 0;
    double *in = NULL, *out = NULL, *ttft = NULL;
    if ((rc = num_array(r->path, root, "input_lens", -1, &n, &in, err)) ||
        (rc = num_array(r->path, root, "output_lens", n, NULL, &out, err)) ||
        (rc = num_array(r->path, root, "ttfts", n, NULL, &ttft, err)))
        goto done;
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(root, "errors");
    if (errs && cJSON_IsArray(errs) && cJSON_GetArraySize(errs) != n) {
        rc = sim_err_at(err, SIM_EINVAL, r->path, 0, 0,
                        "'errors' has %d entries, 'input_lens' has %d: every per-request list "
                        "must have one entry per request",
                        cJSON_GetArraySize(errs), n);
        goto done;
    }
    const cJSON *itls = cJSON_GetObjectItemCaseSensitive(root, "itls");
    if (itls && (!cJSON_IsArray(itls) || cJSON_GetArraySize(itls) != n)) {
        rc = sim_err_at(err, SIM_EINVAL, r->path, 0, 0,
                        "'itls' has %d entries, 'input_lens' has %d: every per-request list "
                        "must have one entry per request",
                        cJSON_IsArray(itls) ? cJSON_GetArraySize(itls) : -1, n);
        goto done;
    }
    /* a failed run (requests with errors, or nothing generated) is not performance data */
    double completed = num_or(root, "completed", n);
    double total_out = 0.0;
    for (int i = 0; i < n; i++)
        total_out += out[i];
    int n_err = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, errs)
    {
        if (cJSON_IsString(e) && e->valuestring[0])
            n_err++;
    }
    if (completed < n || total_out <= 0.0 || n_err > 0) {
        rc = sim_err_at(err, SIM_EINVAL, r->path, 0, 0,
                        "a failed run: %g of %d requests completed, %d with errors, %g output "
                        "tokens; its latencies are not performance data: leave it out of the "
                        "spec",
                        completed, n, n_err, total_out);
        goto done;
    }
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(root, "request_rate");
    bool inf = !rate || (cJSON_IsString(rate) && !strcmp(rate->valuestring, "inf")) ||
               (cJSON_IsNumber(rate) && isinf(rate->valuedouble));
    if (!inf) {
        rc = sim_err_at(err, SIM_EINVAL, r->path, 0, 0,
                        "the run was sent at a finite request_rate: its arrival times are not "
                        "in the result file, so it cannot be replayed as sent (only bursts, "
                        "request_rate inf, are)");
        goto done;
    }
    r->n = n;
    r->input_lens = malloc((size_t)n * sizeof *r->input_lens);
    r->output_lens = malloc((size_t)n * sizeof *r->output_lens);
    r->ttfts = ttft;
    ttft = NULL;
    if (!r->input_lens || !r->output_lens) {
        rc = sim_err_set(err, SIM_ENOMEM, "out of memory");
        goto done;
    }
    double *tt = malloc((size_t)n * sizeof *tt);
    if (!tt) {
        rc = sim_err_set(err, SIM_ENOMEM, "out of memory");
        goto done;
    }
    size_t k = 0;
    r->n_empty = 0;
    for (int i = 0; i < n; i++) {
        if (in[i] < 1.0 || in[i] > 1e7 || out[i] > 1e7) {
            free(tt);
            rc = sim_err_at(err, SIM_EINVAL, r->path, 0, 0,
                            "request %d: input_lens %g / output_lens %g out of range", i, in[i],
                            out[i]);
            goto done;
        }
        r->input_lens[i] = (int32_t)in[i];
        r->output_lens[i] = (int32_t)out[i];
        if (out[i] > 0.0)
            tt[k++] = r->ttfts[i];
        else
            r->n_empty++;
    }
    r->measured.v[CM_TTFT] = median_of(tt, k);
    free(tt);
    double tpot_ms = num_or(root, "median_tpot_ms", NAN);
    r->measured.v[CM_TPOT] = tpot_ms * 1e-3;
    double thr = num_or(root, "output_throughput", NAN);
    if (!isfinite(thr)) {
        double dur = num_or(root, "duration", NAN);
        thr = dur > 0.0 ? total_out / dur : NAN;
    }
    r->measured.v[CM_THROUGHPUT] = thr;
    if (!isfinite(r->measured.v[CM_TPOT]) || !(r->measured.v[CM_THROUGHPUT] > 0.0) ||
        !(r->measured.v[CM_TTFT] > 0.0)) {
        rc = sim_err_at(err, SIM_EINVAL, r->path, 0, 0,
                        "expected the summary keys 'median_tpot_ms' and 'output_throughput' (or "
                        "'duration') of a benchmark result, with TTFTs > 0");
        goto done;
    }
    rc = SIM_OK;
done:
    free(in);
    free(out);
    free(ttft);
    cJSON_Delete(root);
    return rc;
}

static const char *const top_keys[] = {"name", "runs", "fit", NULL};
static const char *const run_keys[] = {"result", "model", "engine", "load", NULL};
static const char *const load_keys[] = {"request_rate", "max_concurrency", NULL};
static const char *const fit_keys[] = {"params", "max_iterations", NULL};

static int read_load(const struct ynode *run, const char *ctx, struct calib_run *r,
                     struct sim_err *err)
{
    const struct ynode *load = ynode_get(run, "load");
    char key[192];
    if (!load)
        return sim_err_at(err, SIM_EINVAL, run->file, run->line, run->col,
                          "'%s.load' is required ({request_rate: inf} for a burst)", ctx);
    snprintf(key, sizeof key, "%s.load", ctx);
    int rc = ynode_check_keys(load, key, load_keys, err);
    if (rc)
        return rc;
    r->max_concurrency = 0;
    const struct ynode *rate = ynode_get(load, "request_rate");
    if (!rate || !rate->value || (strcmp(rate->value, "inf") && strcmp(rate->value, ".inf")))
        return sim_err_at(err, SIM_EINVAL, (rate ? rate : load)->file, (rate ? rate : load)->line,
                          (rate ? rate : load)->col,
                          "'%s.request_rate' must be 'inf' (every request sent at once, as "
                          "benchmark_serving does with --request-rate inf); a finite rate's "
                          "arrival times are not in the result file, so it cannot be replayed "
                          "as sent",
                          key);
    const struct ynode *mc = ynode_get(load, "max_concurrency");
    if (mc) {
        int64_t v;
        snprintf(key, sizeof key, "%s.load.max_concurrency", ctx);
        if ((rc = ynode_as_int64(mc, key, 1, 1000000, &v, err)))
            return rc;
        /* vllm bench serve --max-concurrency N: N clients, each sends its next request
         * when its previous one ended (workload.clients, no think time) */
        r->max_concurrency = (int32_t)v;
        r->sc.workload.clients.concurrency = (int32_t)v;
        r->sc.workload.clients.think = THINK_CONSTANT;
        r->sc.workload.clients.think_time_us = 0;
    }
    return SIM_OK;
}

int calib_load(struct calib *c, const char *spec_path, struct sim_err *err)
{
    memset(c, 0, sizeof *c);
    gsl_set_error_handler_off();
    snprintf(c->spec_path, sizeof c->spec_path, "%s", spec_path);
    memcpy(c->free_param, default_free, sizeof c->free_param);
    c->max_iterations = 3000;
    size_t len = 0;
    char *text = read_all(spec_path, &len, err);
    if (!text)
        return err ? err->code : SIM_EIO;
    sha256_hex(text, len, c->spec_sha256);
    free(text);
    struct ydoc *doc = ydoc_load_file(spec_path, err);
    if (!doc)
        return err && err->code ? err->code : SIM_EINVAL;
    const struct ynode *root = ydoc_root(doc);
    int rc = ynode_check_keys(root, "", top_keys, err);
    const struct ynode *runs = rc ? NULL : ynode_get(root, "runs");
    if (!rc && (!runs || runs->kind != YNODE_SEQ || runs->n == 0))
        rc = sim_err_at(err, SIM_EINVAL, spec_path, runs ? runs->line : 0, runs ? runs->col : 0,
                        "'runs' must be a list of measured runs ({result, model, engine, "
                        "load})");
    const struct ynode *fit = rc ? NULL : ynode_get(root, "fit");
    if (!rc && fit && !(rc = ynode_check_keys(fit, "fit", fit_keys, err))) {
        const struct ynode *ps = ynode_get(fit, "params");
        if (ps) {
            if (ps->kind != YNODE_SEQ || ps->n == 0)
                rc = sim_err_at(err, SIM_EINVAL, ps->file, ps->line, ps->col,
                                "'fit.params' must be a list of parameter names");
            for (size_t i = 0; !rc && i < ROOF_N_PARAMS; i++)
                c->free_param[i] = false;
            const char *names[ROOF_N_PARAMS + 1]; /* NULL-terminated for ynode_as_enum */
            for (int i = 0; i < ROOF_N_PARAMS; i++)
                names[i] = roof_param_names[i];
            names[ROOF_N_PARAMS] = NULL;
            for (size_t i = 0; !rc && i < ps->n; i++) {
                int which = 0;
                rc = ynode_as_enum(ps->items[i], "fit.params", names, &which, err);
                if (!rc)
                    c->free_param[which] = true;
            }
        }
        const struct ynode *mi = ynode_get(fit, "max_iterations");
        int64_t v = c->max_iterations;
        if (!rc && mi && !(rc = ynode_as_int64(mi, "fit.max_iterations", 10, 100000, &v, err)))
            c->max_iterations = (int)v;
    }
    if (!rc) {
        c->runs = calloc(runs->n, sizeof *c->runs);
        if (!c->runs)
            rc = sim_err_set(err, SIM_ENOMEM, "out of memory");
    }
    for (size_t i = 0; !rc && runs && i < runs->n; i++) {
        const struct ynode *run = runs->items[i];
        char ctx[64];
        snprintf(ctx, sizeof ctx, "runs.%zu", i);
        struct calib_run *r = &c->runs[c->n_runs];
        if ((rc = ynode_check_keys(run, ctx, run_keys, err)))
            break;
        const struct ynode *res = ynode_get(run, "result");
        const char *rel = NULL;
        char key[96];
        snprintf(key, sizeof key, "%s.result", ctx);
        if (!res) {
            rc = sim_err_at(err, SIM_EINVAL, run->file, run->line, run->col,
                            "'%s' is required (a benchmark result JSON)", key);
            break;
        }
        if ((rc = ynode_as_string(res, key, &rel, err)) ||
            (rc = scenario_bind_deployment(&r->sc, spec_path, run, ctx, err)))
            break;
        c->n_runs++;
        scenario_resolve_path(&r->sc, rel, r->path, sizeof r->path);
        const char *base = strrchr(r->path, '/');
        snprintf(r->name, sizeof r->name, "%.120s", base ? base + 1 : r->path);
        if (!r->sc.engine.gpu[0]) {
            rc = sim_err_at(err, SIM_EINVAL, run->file, run->line, run->col,
                            "'%s.engine.gpu' is required: the calibration is per GPU type", ctx);
            break;
        }
        r->sc.record.samples = false;
        snprintf(r->config, sizeof r->config, "%.60s/%.90s/%.15s/tp%d", r->sc.engine.gpu,
                 r->sc.model.name, r->sc.model.dtype, r->sc.engine.tensor_parallel_size);
        if ((rc = read_load(run, ctx, r, err)))
            break;
        if ((rc = read_result(r, err))) {
            if (rc == SIM_ENOENT && err && !strcmp(err->where, r->path))
                sim_err_at(err, SIM_EINVAL, res->file, res->line, res->col,
                           "result file '%s' not found", r->path);
            break;
        }
    }
    ydoc_free(doc);
    if (!rc) {
        c->catalog = catalog_new(NULL, err);
        if (!c->catalog)
            rc = err && err->code ? err->code : SIM_ENOMEM;
    }
    /* every run's model and GPU must be in the catalog; group the GPU types */
    for (int i = 0; !rc && i < c->n_runs; i++) {
        struct calib_run *r = &c->runs[i];
        struct sim_err e2 = {0};
        const struct cat_gpu *g = catalog_gpu(c->catalog, r->sc.engine.gpu, &e2);
        if (!g || !catalog_model(c->catalog, r->sc.model.name, &e2)) {
            rc = sim_err_at(err, SIM_EINVAL, spec_path, 0, 0, "runs.%d (%s): %s", i, r->name,
                            e2.msg);
            break;
        }
        snprintf(r->gpu, sizeof r->gpu, "%s", g->id);
        int k = 0;
        while (k < c->n_gpus && strcmp(c->gpus[k].gpu, g->id))
            k++;
        if (k == c->n_gpus) {
            if (c->n_gpus == (int)(sizeof c->gpus / sizeof c->gpus[0])) {
                rc = sim_err_at(err, SIM_EINVAL, spec_path, 0, 0, "more than %d GPU types",
                                c->n_gpus);
                break;
            }
            snprintf(c->gpus[k].gpu, sizeof c->gpus[k].gpu, "%s", g->id);
            snprintf(c->gpus[k].arch, sizeof c->gpus[k].arch, "%s", g->arch);
            c->n_gpus++;
        }
        c->gpus[k].n_runs++;
    }
    if (rc)
        calib_release(c);
    return rc;
}

void calib_release(struct calib *c)
{
    for (int i = 0; c->runs && i < c->n_runs; i++) {
        free(c->runs[i].input_lens);
        free(c->runs[i].output_lens);
        free(c->runs[i].ttfts);
        scenario_release(&c->runs[i].sc);
    }
    free(c->runs);
    catalog_free(c->catalog);
    memset(c, 0, sizeof *c);
}

/* ---- replay ------------------------------------------------------------------------- */

struct replay_src {
    const struct calib_run *r;
    int32_t next;
};

static int replay_next(void *ctx, struct wl_request *out, struct sim_err *err)
{
    (void)err;
    struct replay_src *s = ctx;
    if (s->next >= s->r->n)
        return 0;
    int32_t i = s->next++;
    memset(out, 0, sizeof *out);
    /* request_rate inf: every request due at once, in file order (with max_concurrency,
     * each goes out when one of the clients is free) */
    out->arrival_us = 0;
    out->prompt_tokens = s->r->input_lens[i];
    /* a request that returned no text generated one token (EOS) and ended */
    out->output_tokens = s->r->output_lens[i] > 0 ? s->r->output_lens[i] : 1;
    return 1;
}

struct replay_sink {
    int32_t n;
    int64_t *first, *finish, *arrival;
    int32_t bad;
};

static int replay_request(void *ctx, const struct rec_request *q)
{
    struct replay_sink *k = ctx;
    if (q->id >= (uint64_t)k->n)
        return SIM_OK;
    if (q->outcome != OUTCOME_OK)
        k->bad++;
    k->first[q->id] = q->first_token_us;
    k->finish[q->id] = q->finish_us;
    k->arrival[q->id] = q->arrival_us;
    return SIM_OK;
}

static int replay_sample(void *ctx, const struct rec_sample *s)
{
    (void)ctx;
    (void)s;
    return SIM_OK;
}

static int replay_pod(void *ctx, const struct rec_pod *p)
{
    (void)ctx;
    (void)p;
    return SIM_OK;
}

static int replay_scaling(void *ctx, const struct rec_scaling_event *e)
{
    (void)ctx;
    (void)e;
    return SIM_OK;
}

int calib_replay(const struct calib *c, const struct calib_run *r, const struct roof_params *p,
                 struct calib_metrics *m, double *ttft_s, double *e2e_s, struct sim_err *err)
{
    struct replay_src src = {r, 0};
    struct sim_source source = {&src, replay_next};
    struct replay_sink k = {r->n, NULL, NULL, NULL, 0};
    k.first = malloc((size_t)r->n * sizeof *k.first);
    k.finish = malloc((size_t)r->n * sizeof *k.finish);
    k.arrival = malloc((size_t)r->n * sizeof *k.arrival);
    double *tmp = malloc((size_t)r->n * sizeof *tmp);
    int rc = SIM_OK;
    struct sim *s = NULL;
    if (!k.first || !k.finish || !k.arrival || !tmp) {
        rc = sim_err_set(err, SIM_ENOMEM, "out of memory");
        goto done;
    }
    for (int32_t i = 0; i < r->n; i++)
        k.first[i] = k.finish[i] = k.arrival[i] = -1;
    struct sim_sink sink = {.ctx = &k,
                            .request = replay_request,
                            .sample = replay_sample,
                            .pod = replay_pod,
                            .scaling_event = replay_scaling};
    struct sim_options opt = {.sink = &sink, .source = &source, .catalog = c->catalog,
                              .lat_params = p};
    s = sim_new(&r->sc, &opt, err);
    if (!s) {
        rc = err && err->code ? err->code : SIM_EINVAL;
        goto done;
    }
    if ((rc = sim_run(s, err)))
        goto done;
    if (k.bad) {
        rc = sim_err_set(err, SIM_EIO, "%s: %d requests did not finish in the replay", r->name,
                         k.bad);
        goto done;
    }
    size_t n = 0;
    int64_t end = 0;
    double tokens = 0.0;
    for (int32_t i = 0; i < r->n; i++) {
        if (k.finish[i] > end)
            end = k.finish[i];
        tokens += r->output_lens[i];
        /* from when the request was sent (0 in a burst; a client's turn otherwise) */
        if (ttft_s)
            ttft_s[i] = (double)(k.first[i] - k.arrival[i]) * 1e-6;
        if (e2e_s)
            e2e_s[i] = (double)(k.finish[i] - k.arrival[i]) * 1e-6;
        if (r->output_lens[i] > 0)
            tmp[n++] = (double)(k.first[i] - k.arrival[i]) * 1e-6;
    }
    m->v[CM_TTFT] = median_of(tmp, n);
    n = 0;
    for (int32_t i = 0; i < r->n; i++)
        if (r->output_lens[i] > 1)
            tmp[n++] = (double)(k.finish[i] - k.first[i]) * 1e-6 / (r->output_lens[i] - 1);
    m->v[CM_TPOT] = median_of(tmp, n);
    m->v[CM_THROUGHPUT] = end > 0 ? tokens / ((double)end * 1e-6) : NAN;
done:
    sim_free(s);
    free(k.first);
    free(k.finish);
    free(k.arrival);
    free(tmp);
    return rc;
}

/* ---- the fit ------------------------------------------------------------------------ */

static bool run_has_tp(const struct calib_run *r)
{
    return r->sc.engine.tensor_parallel_size > 1;
}

static bool run_is_quantized(const struct calib_run *r)
{
    const char *d = r->sc.model.dtype;
    return d[0] && strcmp(d, "bf16") != 0 && strcmp(d, "fp16") != 0;
}

/* The fit is joint over all runs it is given: the fractions of a GPU's peak (gemm_mfu,
 * mem_eff, attn_mem_eff, attn_mfu, link_eff) are per GPU type; the times (layer_us,
 * launch_us, host_us, host_seq_us, frontend_us, allreduce_latency_us) are shared: the
 * same vLLM software on each, and one configuration alone cannot separate them. */
static bool per_gpu_param(int i)
{
    return roof_param_is_frac(i) && strcmp(roof_param_names[i], "gemm_mfu_q") != 0;
}

#define MAX_FREE (ROOF_N_PARAMS * 16)

struct fitctx {
    const struct calib *c;
    const int *runs; /* indexes into c->runs */
    int n_runs;
    int free_idx[MAX_FREE]; /* parameter */
    int free_gpu[MAX_FREE]; /* its GPU type (index into c->gpus), -1: shared */
    bool q_free[16];        /* gemm_mfu_q is fitted for GPU type g (it has quantized runs) */
    double x0[MAX_FREE];    /* logit of the prior */
    int n_free;
    bool failed;
    struct sim_err err;
};

static double logistic(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

static int gpu_index(const struct calib *c, const char *gpu)
{
    for (int g = 0; g < c->n_gpus; g++)
        if (!strcmp(c->gpus[g].gpu, gpu))
            return g;
    return -1;
}

/* The parameters of GPU type g at point x. */
static void params_of(const struct fitctx *f, const gsl_vector *x, int g, struct roof_params *p)
{
    *p = prior;
    for (int j = 0; j < f->n_free; j++) {
        if (f->free_gpu[j] >= 0 && f->free_gpu[j] != g)
            continue;
        int i = f->free_idx[j];
        *roof_param_ref(p, i) =
            lo_b[i] + (hi_b[i] - lo_b[i]) * logistic(gsl_vector_get(x, (size_t)j) + f->x0[j]);
    }
    /* no quantized run on this GPU type: its quantized GEMMs are taken to reach the 16-bit
     * fraction of their peak (nothing to fit them on) */
    if (g >= 0 && g < 16 && !f->q_free[g])
        p->gemm_mfu_q = p->gemm_mfu;
}

static double soft_l1(double r)
{
    double z = r / HUBER_DELTA;
    return 2.0 * HUBER_DELTA * HUBER_DELTA * (sqrt(1.0 + z * z) - 1.0);
}

static double run_loss(const struct calib_metrics *sim, const struct calib_metrics *meas)
{
    double l = 0.0;
    for (int m = 0; m < CM_N; m++) {
        if (!(sim->v[m] > 0.0) || !isfinite(sim->v[m]))
            return 1e6;
        l += soft_l1(log(sim->v[m] / meas->v[m]));
    }
    return l;
}

static double objective(const gsl_vector *x, void *ctx)
{
    struct fitctx *f = ctx;
    double loss = 0.0;
    for (int k = 0; k < f->n_runs; k++) {
        const struct calib_run *r = &f->c->runs[f->runs[k]];
        struct roof_params p;
        params_of(f, x, gpu_index(f->c, r->gpu), &p);
        struct calib_metrics m;
        struct sim_err e = {0};
        if (calib_replay(f->c, r, &p, &m, NULL, NULL, &e)) {
            if (!f->failed)
                f->err = e;
            f->failed = true;
            return 1e9;
        }
        loss += run_loss(&m, &r->measured);
    }
    for (int j = 0; j < f->n_free; j++) {
        double v = gsl_vector_get(x, (size_t)j);
        loss += REG_LAMBDA * v * v;
    }
    return loss;
}

static void add_free(struct fitctx *f, int i, int g)
{
    double v = *roof_param_ref((struct roof_params *)&prior, i);
    double u = (v - lo_b[i]) / (hi_b[i] - lo_b[i]);
    f->free_idx[f->n_free] = i;
    f->free_gpu[f->n_free] = g;
    f->x0[f->n_free] = log(u / (1.0 - u));
    f->n_free++;
}

/* Fit the free parameters on runs[0..n); out[g] gets GPU type g's parameters. SIM_EIO
 * when it does not converge, or a replay's error. */
static int fit_runs(const struct calib *c, const int *runs, int n, struct roof_params *out,
                    double *loss, int *iters, struct sim_err *err)
{
    struct fitctx f = {.c = c, .runs = runs, .n_runs = n};
    bool any_tp = false, any_q = false, has_gpu[16] = {false}, has_tp[16] = {false};
    for (int k = 0; k < n; k++) {
        const struct calib_run *r = &c->runs[runs[k]];
        bool q = run_is_quantized(r);
        any_tp = any_tp || run_has_tp(r);
        any_q = any_q || q;
        has_gpu[gpu_index(c, r->gpu)] = true;
        has_tp[gpu_index(c, r->gpu)] = has_tp[gpu_index(c, r->gpu)] || run_has_tp(r);
    }
    for (int i = 0; i < ROOF_N_PARAMS; i++) {
        if (!c->free_param[i])
            continue;
        if (!strcmp(roof_param_names[i], "allreduce_latency_us") && !any_tp)
            continue; /* no run has an all-reduce: nothing to fit it on */
        if (!strcmp(roof_param_names[i], "gemm_half_gflop_q") && !any_q)
            continue; /* no run has quantized weights */
        if (!strcmp(roof_param_names[i], "gemm_mfu_q")) {
            /* one curve per dtype class, shared by the GPU types: the fraction of the
             * quantized path's peak (W8A8 at the FP8 peak, weight-only at the 16-bit
             * peak) */
            if (any_q) {
                add_free(&f, i, -1);
                for (int g = 0; g < c->n_gpus && g < 16; g++)
                    f.q_free[g] = true;
            }
            continue;
        }
        if (!per_gpu_param(i)) {
            add_free(&f, i, -1);
            continue;
        }
        /* the link's efficiency only where an all-reduce ran (TP > 1 on that GPU type) */
        bool link = !strcmp(roof_param_names[i], "link_eff");
        for (int g = 0; g < c->n_gpus; g++)
            if (has_gpu[g] && (!link || has_tp[g]))
                add_free(&f, i, g);
    }
    for (int g = 0; g < c->n_gpus; g++)
        out[g] = prior;
    *loss = 0.0;
    *iters = 0;
    if (f.n_free == 0)
        return SIM_OK;
    gsl_multimin_function fn = {objective, (size_t)f.n_free, &f};
    gsl_vector *x = gsl_vector_calloc((size_t)f.n_free);
    gsl_vector *step = gsl_vector_alloc((size_t)f.n_free);
    gsl_multimin_fminimizer *m =
        gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, (size_t)f.n_free);
    if (!x || !step || !m) {
        gsl_vector_free(x);
        gsl_vector_free(step);
        if (m)
            gsl_multimin_fminimizer_free(m);
        return sim_err_set(err, SIM_ENOMEM, "out of memory");
    }
    gsl_vector_set_all(step, 1.0);
    gsl_multimin_fminimizer_set(m, &fn, x, step);
    int status = GSL_CONTINUE, it = 0;
    while (status == GSL_CONTINUE && it < c->max_iterations && !f.failed) {
        it++;
        if (gsl_multimin_fminimizer_iterate(m))
            break;
        status = gsl_multimin_test_size(gsl_multimin_fminimizer_size(m), FIT_TOL);
    }
    int rc = SIM_OK;
    if (f.failed) {
        *err = f.err;
        rc = err->code ? err->code : SIM_EIO;
    } else if (status != GSL_SUCCESS) {
        rc = sim_err_set(err, SIM_EIO,
                         "the fit did not converge in %d iterations (simplex size %.3g, "
                         "tolerance %.3g): raise fit.max_iterations, fit fewer parameters "
                         "(fit.params) or add runs",
                         it, gsl_multimin_fminimizer_size(m), FIT_TOL);
    } else {
        for (int g = 0; g < c->n_gpus; g++)
            params_of(&f, gsl_multimin_fminimizer_x(m), g, &out[g]);
        *loss = gsl_multimin_fminimizer_minimum(m);
        *iters = it;
    }
    gsl_multimin_fminimizer_free(m);
    gsl_vector_free(x);
    gsl_vector_free(step);
    return rc;
}

int calib_fit(struct calib *c, FILE *log, struct sim_err *err)
{
    int *idx = malloc((size_t)c->n_runs * sizeof *idx);
    if (!idx)
        return sim_err_set(err, SIM_ENOMEM, "out of memory");
    struct roof_params p[16];
    double loss;
    int iters, rc;
    for (int i = 0; i < c->n_runs; i++)
        idx[i] = i;
    rc = fit_runs(c, idx, c->n_runs, p, &loss, &iters, err);
    for (int g = 0; !rc && g < c->n_gpus; g++) {
        c->gpus[g].p = p[g];
        c->gpus[g].loss = loss;
        c->gpus[g].iterations = iters;
    }
    if (!rc && log)
        fprintf(log, "fitted %d GPU types on %d runs: loss %.4g after %d iterations\n",
                c->n_gpus, c->n_runs, loss, iters);
    for (int k = 0; !rc && k < c->n_runs; k++) {
        struct calib_run *r = &c->runs[k];
        rc = calib_replay(c, r, &c->gpus[gpu_index(c, r->gpu)].p, &r->fitted, NULL, NULL, err);
    }
    /* leave one configuration out: fit on every other configuration, predict it */
    for (int k = 0; !rc && k < c->n_runs; k++) {
        const struct calib_run *held = &c->runs[k];
        bool first = true;
        for (int j = 0; j < k; j++)
            first = first && strcmp(c->runs[j].config, held->config);
        if (!first)
            continue;
        int n = 0;
        bool same_gpu = false;
        for (int j = 0; j < c->n_runs; j++)
            if (strcmp(c->runs[j].config, held->config)) {
                idx[n++] = j;
                same_gpu = same_gpu || !strcmp(c->runs[j].gpu, held->gpu);
            }
        if (n == 0 || !same_gpu)
            continue; /* nothing left to fit its GPU's efficiencies on */
        rc = fit_runs(c, idx, n, p, &loss, &iters, err);
        for (int j = 0; !rc && j < c->n_runs; j++) {
            struct calib_run *r = &c->runs[j];
            if (strcmp(r->config, held->config))
                continue;
            rc = calib_replay(c, r, &p[gpu_index(c, r->gpu)], &r->held_out, NULL, NULL, err);
            r->has_held_out = !rc;
        }
        if (log && !rc)
            fprintf(log, "  held out %s: fitted on %d other runs (%d iterations)\n",
                    held->config, n, iters);
    }
    free(idx);
    return rc;
}

/* ---- output ------------------------------------------------------------------------- */

static double rel_err(double sim, double meas)
{
    return sim / meas - 1.0;
}

static cJSON *metrics_json(const struct calib_metrics *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "ttft_median_ms", m->v[CM_TTFT] * 1e3);
    cJSON_AddNumberToObject(o, "tpot_median_ms", m->v[CM_TPOT] * 1e3);
    cJSON_AddNumberToObject(o, "output_tokens_per_s", m->v[CM_THROUGHPUT]);
    return o;
}

static cJSON *errors_json(const struct calib_metrics *sim, const struct calib_metrics *meas)
{
    cJSON *o = cJSON_CreateObject();
    for (int m = 0; m < CM_N; m++)
        cJSON_AddNumberToObject(o, calib_metric_name((enum calib_metric)m),
                                rel_err(sim->v[m], meas->v[m]));
    return o;
}

/* Median |relative error| of metric m over the runs of `regime` requests (0: all), fitted
 * or held out; NAN when there is none. */
static double median_abs(const struct calib *c, int regime, enum calib_metric m, bool held)
{
    double v[256];
    size_t n = 0;
    for (int i = 0; i < c->n_runs && n < 256; i++) {
        const struct calib_run *r = &c->runs[i];
        if (regime && r->n != regime)
            continue;
        if (held && !r->has_held_out)
            continue;
        v[n++] = fabs(rel_err((held ? &r->held_out : &r->fitted)->v[m], r->measured.v[m]));
    }
    return median_of(v, n);
}

/* The distinct request counts of the runs (the regimes: 10-request bursts, ...). */
static int regimes(const struct calib *c, int *out, int max)
{
    int n = 0;
    for (int i = 0; i < c->n_runs; i++) {
        bool seen = false;
        for (int j = 0; j < n; j++)
            seen = seen || out[j] == c->runs[i].n;
        if (!seen && n < max)
            out[n++] = c->runs[i].n;
    }
    for (int i = 1; i < n; i++) /* ascending */
        for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
            int t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

int calib_write(const struct calib *c, const char *path, struct sim_err *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", CAL_FORMAT);
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON_AddStringToObject(root, "created_by", "llmcap calibrate");
    cJSON_AddStringToObject(root, "spec", c->spec_path);
    cJSON_AddStringToObject(root, "spec_sha256", c->spec_sha256);
    cJSON *files = cJSON_AddArrayToObject(root, "fitted_on");
    for (int i = 0; i < c->n_runs; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "file", c->runs[i].path);
        cJSON_AddStringToObject(f, "sha256", c->runs[i].sha256);
        cJSON_AddItemToArray(files, f);
    }
    cJSON *fp = cJSON_AddArrayToObject(root, "free_params");
    for (int i = 0; i < ROOF_N_PARAMS; i++)
        if (c->free_param[i])
            cJSON_AddItemToArray(fp, cJSON_CreateString(roof_param_names[i]));
    cJSON *gpus = cJSON_AddObjectToObject(root, "gpus");
    for (int g = 0; g < c->n_gpus; g++) {
        const struct calib_gpu *cg = &c->gpus[g];
        cJSON *o = cJSON_AddObjectToObject(gpus, cg->gpu);
        cJSON_AddStringToObject(o, "arch", cg->arch);
        cJSON_AddNumberToObject(o, "runs", cg->n_runs);
        cJSON_AddNumberToObject(o, "loss", cg->loss);
        cJSON_AddNumberToObject(o, "iterations", cg->iterations);
        cJSON *ps = cJSON_AddObjectToObject(o, "params");
        struct roof_params p = cg->p;
        for (int i = 0; i < ROOF_N_PARAMS; i++)
            cJSON_AddNumberToObject(ps, roof_param_names[i], *roof_param_ref(&p, i));
    }
    cJSON *runs = cJSON_AddArrayToObject(root, "runs");
    for (int i = 0; i < c->n_runs; i++) {
        const struct calib_run *r = &c->runs[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", r->name);
        cJSON_AddStringToObject(o, "configuration", r->config);
        cJSON_AddNumberToObject(o, "requests", r->n);
        cJSON_AddNumberToObject(o, "requests_without_text", r->n_empty);
        cJSON_AddItemToObject(o, "measured", metrics_json(&r->measured));
        cJSON_AddItemToObject(o, "fitted", metrics_json(&r->fitted));
        cJSON_AddItemToObject(o, "fit_error", errors_json(&r->fitted, &r->measured));
        if (r->has_held_out)
            cJSON_AddItemToObject(o, "held_out_error", errors_json(&r->held_out, &r->measured));
        cJSON_AddItemToArray(runs, o);
    }
    cJSON *sum = cJSON_AddArrayToObject(root, "summary");
    int reg[16];
    int nreg = regimes(c, reg, 16);
    for (int k = 0; k < nreg; k++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "requests", reg[k]);
        for (int h = 0; h < 2; h++) {
            cJSON *e = cJSON_AddObjectToObject(o, h ? "held_out_median_abs_error"
                                                    : "fit_median_abs_error");
            for (int m = 0; m < CM_N; m++) {
                double v = median_abs(c, reg[k], (enum calib_metric)m, h == 1);
                if (isfinite(v))
                    cJSON_AddNumberToObject(e, calib_metric_name((enum calib_metric)m), v);
                else
                    cJSON_AddNullToObject(e, calib_metric_name((enum calib_metric)m));
            }
        }
        cJSON_AddItemToArray(sum, o);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return sim_err_set(err, SIM_ENOMEM, "out of memory");
    char tmp[SC_PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    int rc = SIM_OK;
    if (!f) {
        rc = sim_err_at(err, SIM_EIO, tmp, 0, 0, "cannot write: %s", strerror(errno));
    } else {
        bool ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF;
        ok = (fclose(f) == 0) && ok;
        if (!ok || rename(tmp, path) != 0) {
            rc = sim_err_at(err, SIM_EIO, path, 0, 0, "cannot write: %s", strerror(errno));
            unlink(tmp);
        }
    }
    cJSON_free(text);
    return rc;
}

static void row(FILE *out, const char *name, int n, const struct calib_metrics *meas,
                const struct calib_metrics *sim)
{
    fprintf(out, "  %-40s %4d", name, n);
    for (int m = 0; m < CM_N; m++) {
        double scale = m == CM_THROUGHPUT ? 1.0 : 1e3;
        fprintf(out, "  %8.1f %8.1f %+6.1f%%", meas->v[m] * scale, sim->v[m] * scale,
                100.0 * rel_err(sim->v[m], meas->v[m]));
    }
    fputc('\n', out);
}

void calib_print(const struct calib *c, FILE *out)
{
    for (int g = 0; g < c->n_gpus; g++) {
        const struct calib_gpu *cg = &c->gpus[g];
        struct roof_params p = cg->p;
        fprintf(out, "%s (%s, %d runs; joint loss %.4g):", cg->gpu, cg->arch, cg->n_runs,
                cg->loss);
        for (int i = 0; i < ROOF_N_PARAMS; i++)
            fprintf(out, "%s %s %.4g%s", i ? "," : "", roof_param_names[i],
                    *roof_param_ref(&p, i), c->free_param[i] ? "" : " (fixed)");
        fputc('\n', out);
    }
    for (int h = 0; h < 2; h++) {
        fprintf(out, h ? "\nleave one configuration out (fitted on every other "
                         "configuration):\n"
                       : "\nfit error per run (TTFT and TPOT medians in ms, output tok/s):\n");
        fprintf(out, "  %-40s %4s  %8s %8s %7s  %8s %8s %7s  %8s %8s %7s\n", "run", "reqs", "ttft", "sim", "err", "tpot", "sim", "err", "tok/s",
                "sim", "err");
        for (int i = 0; i < c->n_runs; i++) {
            const struct calib_run *r = &c->runs[i];
            if (h && !r->has_held_out)
                fprintf(out, "  %-40s %4d  (no other configuration on this GPU)\n", r->name,
                        r->n);
            else
                row(out, r->name, r->n, &r->measured, h ? &r->held_out : &r->fitted);
        }
    }
    int reg[16];
    int nreg = regimes(c, reg, 16);
    fprintf(out, "\nmedian |error| per regime         ttft   tpot   output tok/s\n");
    for (int k = 0; k < nreg; k++)
        for (int h = 0; h < 2; h++) {
            fprintf(out, "  %4d-request runs, %-9s", reg[k], h ? "held out" : "fit");
            for (int m = 0; m < CM_N; m++)
                fprintf(out, " %6.1f%%", 100.0 * median_abs(c, reg[k], (enum calib_metric)m, h));
            fputc('\n', out);
        }
}

int calib_write_defaults(const struct calib *c, const char *path, struct sim_err *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return sim_err_at(err, SIM_EIO, path, 0, 0, "cannot write: %s", strerror(errno));
    fprintf(f, "/* roof_fitted.inc: written by `llmcap calibrate --emit-defaults` (models/"
               "calibrations/); do\n * not edit by hand. {arch, {gemm_mfu, mem_eff, "
               "attn_mem_eff, attn_mfu, layer_us,\n * launch_us, host_us, host_seq_us, "
               "frontend_us, allreduce_latency_us, link_eff,\n * gemm_mfu_q, gemm_half_gflop, "
               "gemm_half_gflop_q, frontend_req_us}} */\n");
    fprintf(f, "#define ROOF_FIT_NOTE \"fitted by llmcap calibrate on %d published vLLM 0.6 "
               "runs (models/calibration-data)\"\n",
            c->n_runs);
    for (int g = 0; g < c->n_gpus; g++) {
        bool dup = false;
        for (int h = 0; h < g; h++)
            dup = dup || !strcmp(c->gpus[h].arch, c->gpus[g].arch);
        if (dup)
            continue; /* one set per architecture: the first GPU type's */
        struct roof_params p = c->gpus[g].p;
        fprintf(f, "{\"%s\", {", c->gpus[g].arch);
        for (int i = 0; i < ROOF_N_PARAMS; i++)
            fprintf(f, "%s%.6g", i ? ", " : "", *roof_param_ref(&p, i));
        fprintf(f, "}}, /* %s */\n", c->gpus[g].gpu);
    }
    if (fclose(f))
        return sim_err_at(err, SIM_EIO, path, 0, 0, "cannot write: %s", strerror(errno));
    return SIM_OK;
}
