/*
 * scenario.c: load a scenario file, apply --set overrides, and bind every section strictly
 * to struct scenario (unknown keys, wrong types, out-of-range values and contradictions
 * are errors at file:line:col). The schema is documented in docs/scenario.md.
 */
#include "sim/config/scenario.h"
#include "sim/config/podres.h"
#include "sim/config/schedcfg.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/core/evq.h"
#include "sim/core/sha256.h"

/* ---- binding context ---------------------------------------------------------------- */

struct bind {
    struct scenario *sc;
    struct sim_err *err;
};

/* A map being bound: `map` is NULL when the section is absent or null (then every field
 * keeps its default); `at` is where "'x.y' is required" points (the section's key, or the
 * nearest ancestor's; NULL for the file itself). */
struct sect {
    const struct ynode *map;
    const struct ynode *at;
    char ctx[160];
};

static int fail_at(struct bind *b, const struct ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(struct bind *b, const struct ynode *at, const char *fmt, ...)
{
    char msg[sizeof b->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (at)
        return sim_err_at(b->err, SIM_EINVAL, at->file, at->line, at->col, "%s", msg);
    return sim_err_at(b->err, SIM_EINVAL, b->sc->path, 0, 0, "%s", msg);
}

static void key_of(const struct sect *s, const char *name, char *key, size_t n)
{
    ynode_join_key(key, n, s->ctx, name);
}

/* The value of `name` in `s`, or NULL when absent. Fills `key` with the dotted name. */
static const struct ynode *field(const struct sect *s, const char *name, char *key, size_t n)
{
    key_of(s, name, key, n);
    return ynode_get(s->map, name);
}

static bool has(const struct sect *s, const char *name)
{
    return ynode_get(s->map, name) != NULL;
}

/* Open the sub-map `name` of `parent`, checking its keys against `allowed`. */
static int sect_open(struct bind *b, const struct sect *parent, const char *name,
                     const char *const *allowed, struct sect *out)
{
    const struct ynode *node = ynode_get(parent->map, name);
    const struct ynode *key = ynode_key(parent->map, name);
    key_of(parent, name, out->ctx, sizeof out->ctx);
    out->at = key ? key : parent->at;
    out->map = NULL;
    if (!node || ynode_is_null(node))
        return SIM_OK;
    int rc = ynode_check_keys(node, out->ctx, allowed, b->err);
    if (rc)
        return rc;
    out->map = node;
    return SIM_OK;
}

/* A sequence item as a section ("workload.rate_profile.steps.1"). */
static int item_open(struct bind *b, const struct ynode *item, const char *seq_ctx, size_t i,
                     const char *const *allowed, struct sect *out)
{
    char index[24];
    snprintf(index, sizeof index, "%zu", i);
    ynode_join_key(out->ctx, sizeof out->ctx, seq_ctx, index);
    out->at = item;
    out->map = item;
    return ynode_check_keys(item, out->ctx, allowed, b->err);
}

/* "'x.y' is required" (+ " with ...") when `name` is absent from `s`. */
static int need(struct bind *b, const struct sect *s, const char *name, const char *why)
{
    if (has(s, name))
        return SIM_OK;
    char key[256];
    key_of(s, name, key, sizeof key);
    if (why)
        return fail_at(b, s->at, "'%s' is required %s", key, why);
    return fail_at(b, s->at, "'%s' is required", key);
}

/* "'x.y' applies only to ..." at the key, when `name` is present in `s`. */
static int only_for(struct bind *b, const struct sect *s, const char *name, const char *what)
{
    const struct ynode *k = ynode_key(s->map, name);
    if (!k)
        return SIM_OK;
    char key[256];
    key_of(s, name, key, sizeof key);
    return fail_at(b, k, "'%s' applies only to %s", key, what);
}

/* ---- field readers: absent fields keep their defaults ------------------------------- */

static int rd_num(struct bind *b, const struct sect *s, const char *name, double min, bool min_open,
                  double max, bool max_open, const char *unit, double *out)
{
    char key[256];
    const struct ynode *n = field(s, name, key, sizeof key);
    if (!n)
        return SIM_OK;
    struct ynode_range r = {min, max, min_open, max_open, unit};
    return ynode_as_number(n, key, &r, out, b->err);
}

/* > 0 with a unit: the most common range. */
static int rd_pos(struct bind *b, const struct sect *s, const char *name, const char *unit,
                  double *out)
{
    return rd_num(b, s, name, 0.0, true, INFINITY, false, unit, out);
}

static int rd_i64(struct bind *b, const struct sect *s, const char *name, int64_t min, int64_t max,
                  const char *unit, int64_t *out)
{
    char key[256];
    const struct ynode *n = field(s, name, key, sizeof key);
    if (!n)
        return SIM_OK;
    return ynode_as_int64_unit(n, key, min, max, unit, out, b->err);
}

static int rd_int(struct bind *b, const struct sect *s, const char *name, int min, int max,
                  const char *unit, int *out)
{
    int64_t v = *out;
    int rc = rd_i64(b, s, name, min, max, unit, &v);
    if (rc == SIM_OK)
        *out = (int)v;
    return rc;
}

static int rd_dur(struct bind *b, const struct sect *s, const char *name, int64_t min_us,
                  int64_t *out)
{
    char key[256];
    const struct ynode *n = field(s, name, key, sizeof key);
    if (!n)
        return SIM_OK;
    return ynode_as_duration_us(n, key, min_us, INT64_MAX, 0, out, b->err);
}

static int rd_bool(struct bind *b, const struct sect *s, const char *name, bool *out)
{
    char key[256];
    const struct ynode *n = field(s, name, key, sizeof key);
    if (!n)
        return SIM_OK;
    return ynode_as_bool(n, key, out, b->err);
}

static int rd_enum(struct bind *b, const struct sect *s, const char *name, const char *const *names,
                   int *out)
{
    char key[256];
    const struct ynode *n = field(s, name, key, sizeof key);
    if (!n)
        return SIM_OK;
    return ynode_as_enum(n, key, names, out, b->err);
}

/* A string into a fixed buffer; `allow_empty` for fields where "" means "unset". */
static int str_into(struct bind *b, const struct ynode *n, const char *key, bool allow_empty,
                    char *out, size_t cap)
{
    const char *v;
    int rc = ynode_as_string(n, key, &v, b->err);
    if (rc)
        return rc;
    if (!v[0] && !allow_empty)
        return fail_at(b, n, "'%s' must not be empty", key);
    if (strlen(v) >= cap)
        return fail_at(b, n, "'%s' must be at most %zu characters long, got %zu characters", key,
                       cap - 1, strlen(v));
    memcpy(out, v, strlen(v) + 1);
    return SIM_OK;
}

static int rd_str(struct bind *b, const struct sect *s, const char *name, bool allow_empty,
                  char *out, size_t cap)
{
    char key[256];
    const struct ynode *n = field(s, name, key, sizeof key);
    if (!n)
        return SIM_OK;
    return str_into(b, n, key, allow_empty, out, cap);
}

/* A path from the file is relative to the scenario's folder; one from --set is relative
 * to the current directory, as command-line paths are. Existence is not checked here:
 * the readers do that when they open the file. */
static int path_into(struct bind *b, const struct ynode *n, const char *key, char *out, size_t cap)
{
    char rel[SC_PATH_MAX];
    rel[0] = '\0';
    int rc = str_into(b, n, key, false, rel, sizeof rel);
    if (rc)
        return rc;
    if (!strcmp(n->file, "--set")) {
        memcpy(out, rel, strlen(rel) + 1);
        return SIM_OK;
    }
    if (rel[0] != '/' && strlen(b->sc->dir) + 1 + strlen(rel) >= cap)
        return fail_at(b, n,
                       "'%s' must be at most %zu characters long once resolved against "
                       "'%s'",
                       key, cap - 1, b->sc->dir);
    scenario_resolve_path(b->sc, rel, out, cap);
    return SIM_OK;
}

static int rd_path(struct bind *b, const struct sect *s, const char *name, char *out, size_t cap)
{
    char key[256];
    const struct ynode *n = field(s, name, key, sizeof key);
    if (!n)
        return SIM_OK;
    return path_into(b, n, key, out, cap);
}

/* ---- vocabularies ---------------------------------------------------------------------- */

static const char *const top_keys[] = {
    "name",   "seed",  "duration", "drain_timeout", "workload", "model",  "engine",
    "router", "fleet", "cluster",  "cost",          "slo",      "record", "plan",
    "deployments", NULL};
static const char *const deployment_keys[] = {"name",  "model", "engine",   "router",
                                              "fleet", "slo",   "workload", NULL};

static const char *const workload_keys[] = {"trace",         "arrivals",      "clients",
                                            "rate_profile",  "prompt_tokens", "output_tokens",
                                            "count",         "prefix",        "classes",
                                            NULL};
static const char *const class_keys[] = {"name",          "share",         "priority",
                                         "sheddable",     "prompt_tokens", "output_tokens",
                                         "slo",           NULL};
static const char *const clients_keys[] = {"concurrency", "think_time", NULL};
static const char *const think_keys[] = {"dist", "value", "mean", NULL};
static const char *const think_dists[] = {"constant", "exponential", NULL};
static const char *const prefix_keys[] = {"system_prompts", "documents", "sessions", NULL};
static const char *const prefix_pool_keys[] = {"count", "tokens", "zipf_s", "share_frac", NULL};
static const char *const session_keys[] = {"turns", "think_time", "max_context_tokens", NULL};
static const char *const trace_keys[] = {"path",          "format",  "time_scale",  "rate_scale",
                                         "window",        "columns", "time_format", "model",
                                         "skip_bad_rows", "hash_block_tokens",
                                         "prefix_group_tokens", NULL};
static const char *const trace_column_keys[] = {"arrival", "prompt_tokens", "output_tokens",
                                                "model",   "session",       "class",
                                                "prefix_group", NULL};
static const char *const time_formats[] = {"auto", "s", "ms", "us", "iso8601", NULL};
static const char *const window_keys[] = {"start", "end", NULL};
static const char *const trace_formats[] = {"auto", "azure", "mooncake", "csv", NULL};
static const char *const arrivals_keys[] = {"process", "rate_per_s", "cv", NULL};
static const char *const processes[] = {"poisson", "gamma", "constant", NULL};
static const char *const rate_profile_keys[] = {"diurnal", "steps", "spikes", NULL};
static const char *const diurnal_keys[] = {"amplitude_frac", "period", "peak_at", NULL};
static const char *const step_keys[] = {"at", "rate_per_s", NULL};
static const char *const spike_keys[] = {"at", "duration", "factor", NULL};

static const char *const len_keys[] = {"dist",  "value", "min",    "max", "mean",
                                       "sigma", "path",  "column", NULL};
static const char *const len_dists[] = {"constant",  "uniform",   "exponential",
                                        "lognormal", "empirical", NULL};
static const char *const len_constant_keys[] = {"value", NULL};
static const char *const len_uniform_keys[] = {"min", "max", NULL};
static const char *const len_exponential_keys[] = {"mean", NULL};
static const char *const len_lognormal_keys[] = {"mean", "sigma", NULL};
static const char *const len_empirical_keys[] = {"path", "column", NULL};
static const char *const *const len_dist_keys[] = {len_constant_keys, len_uniform_keys,
                                                   len_exponential_keys, len_lognormal_keys,
                                                   len_empirical_keys};

static const char *const model_keys[] = {"name",    "dtype",             "kv_cache_dtype",
                                         "catalog", "served_model_name", NULL};
static const char *const dtypes[] = {"bf16", "fp16", "fp8", "int8", "int4-awq", "int4-gptq", NULL};
static const char *const kv_dtypes[] = {"auto", "fp8", NULL};

static const char *const engine_keys[] = {"kind",
                                          "gpu",
                                          "tensor_parallel_size",
                                          "max_num_seqs",
                                          "max_num_batched_tokens",
                                          "enable_chunked_prefill",
                                          "enable_prefix_caching",
                                          "block_size",
                                          "gpu_memory_utilization",
                                          "max_model_len",
                                          "num_gpu_blocks",
                                          "batch_size",
                                          "latency",
                                          "startup",
                                          "termination",
                                          "readiness",
                                          "vllm_version",
                                          "enforce_eager",
                                          "num_scheduler_steps",
                                          "scheduling_policy",
                                          NULL};
static const char *const scheduling_policies[] = {"fcfs", "priority", NULL};
static const char *const engine_kinds[] = {"vllm", "static", NULL};
static const char *const latency_keys[] = {"model",  "table",       "constant",
                                           "linear", "calibration", NULL};
static const char *const latency_models[] = {"constant", "linear", "roofline", "table", NULL};
static const char *const lat_constant_keys[] = {"prefill_per_token_us", "decode_iteration_ms",
                                                NULL};
static const char *const lat_linear_keys[] = {"fixed_ms",          "frontend_ms",
                                              "frontend_request_ms", "per_prefill_token_us",
                                              "per_decode_seq_us", "per_context_token_ns",
                                              NULL};
static const char *const startup_keys[] = {"image_gib",        "image_pull_gib_per_s",
                                           "image_prepulled",  "weights_from",
                                           "weights_gib",      "engine_init",
                                           "engine_init_cold", "compile_cache",
                                           NULL};
static const char *const compile_cache_names[] = {"warm", "cold", "per-node", NULL};
static const char *const weights_custom_keys[] = {"gib_per_s", NULL};
static const char *const termination_keys[] = {"grace_period", "pre_stop", "shutdown_timeout",
                                               "on_unfinished", NULL};
static const char *const readiness_keys[] = {"initial_delay", "period", "failure_threshold",
                                             NULL};

/* Weight-load throughputs of the Run:ai Model Streamer 0.6.0 loading Llama-3-8B BF16 on
 * AWS g5.12xlarge (run-ai/runai-model-streamer docs/src/benchmarks.md @ 001e5881):
 * EBS gp3 1.03 GiB/s, S3 3.51 GiB/s. No local-NVMe figure was published; local-nvme
 * borrows the EBS io2 figure (1.96 GiB/s) as an assumption. */
static const char *const weight_presets[] = {"network-volume", "s3-streamer", "local-nvme", NULL};
static const double weight_preset_gib_per_s[] = {1.03, 3.51, 1.96};

static const char *const router_keys[] = {"policy",         "queue_timeout",
                                          "max_outstanding_per_replica",
                                          "endpoint_delay", "client_timeout",
                                          "retry",          "endpoint_picker", "load_factor",
                                          "semantic_cache", NULL};
static const char *const semantic_cache_keys[] = {"hit_frac", "latency", "groups", NULL};
static const char *const semantic_group_keys[] = {"group", "hit_frac", NULL};
static const char *const epp_keys[] = {"queue_weight", "kv_cache_weight", "prefix_weight",
                                       "refresh_interval", "lru_capacity_per_server",
                                       "max_prefix_blocks", "queue_depth_threshold",
                                       "kv_cache_util_threshold",
                                       "metrics_staleness_threshold", NULL};
static const char *const retry_keys[] = {"attempts", "backoff", "max_backoff", "jitter", "on",
                                         NULL};
static const char *const retry_on_names[] = {"aborted", "timeout", "5xx", NULL};
static const char *const router_policies[] = {"round_robin",     "least_outstanding",
                                              "endpoint_picker", "prefix_affinity",
                                              "session_affinity", NULL};

static const char *const fleet_keys[] = {"replicas", "max_gpus", "metrics", "autoscaler", "pod",
                                         NULL};
static const char *const pod_keys[] = {"annotations", "volumes", "resources", "nodeSelector",
                                       "tolerations", "affinity", "topologySpreadConstraints",
                                       NULL};
static const char *const metrics_keys[] = {"scrape_interval", "namespace", "labels", NULL};
static const char *const metric_label_keys[] = {"namespace", "job", "container", "pod", NULL};
static const char *const autoscaler_keys[] = {"scaledObject", "horizontalPodAutoscaler", NULL};

static const char *const cost_keys[] = {"managed_api_usd_per_mtok", NULL};

struct slo_name {
    const char *key;
    enum slo_metric metric;
    double quantile;
};
/* Most used first: did_you_mean() takes the first of equally close names, so 'ttft_p96'
 * suggests 'ttft_p95' rather than 'ttft_p90'. */
static const struct slo_name slo_table[] = {
    {"ttft_p95", SLO_TTFT, 0.95},   {"ttft_p99", SLO_TTFT, 0.99},
    {"ttft_p90", SLO_TTFT, 0.9},    {"ttft_p50", SLO_TTFT, 0.5},
    {"ttft_p999", SLO_TTFT, 0.999}, {"tpot_p95", SLO_TPOT, 0.95},
    {"tpot_p99", SLO_TPOT, 0.99},   {"tpot_p90", SLO_TPOT, 0.9},
    {"tpot_p50", SLO_TPOT, 0.5},    {"tpot_p999", SLO_TPOT, 0.999},
    {"e2e_p95", SLO_E2E, 0.95},     {"e2e_p99", SLO_E2E, 0.99},
    {"e2e_p90", SLO_E2E, 0.9},      {"e2e_p50", SLO_E2E, 0.5},
    {"e2e_p999", SLO_E2E, 0.999},   {"error_rate", SLO_ERROR_RATE, 0.0},
};
#define N_SLO_NAMES (sizeof slo_table / sizeof slo_table[0])
static const char *const slo_keys[N_SLO_NAMES + 1] = {
    "ttft_p95", "ttft_p99", "ttft_p90", "ttft_p50",   "ttft_p999", "tpot_p95",
    "tpot_p99", "tpot_p90", "tpot_p50", "tpot_p999",  "e2e_p95",   "e2e_p99",
    "e2e_p90",  "e2e_p50",  "e2e_p999", "error_rate", NULL};

static const char *const record_keys[] = {"requests", "sample_frac", "samples", NULL};
static const char *const rec_requests_names[] = {"full", "sample", "none", NULL};

/* ---- workload ------------------------------------------------------------------------ */

static int bind_len(struct bind *b, const struct sect *parent, const char *name,
                    const char *driver, struct len_spec *out)
{
    struct sect s;
    int rc = sect_open(b, parent, name, len_keys, &s);
    if (rc)
        return rc;
    if (!s.map)
        return need(b, parent, name, driver);
    int d = 0;
    if ((rc = need(b, &s, "dist", "(constant, uniform, exponential, lognormal or empirical)")) ||
        (rc = rd_enum(b, &s, "dist", len_dists, &d)))
        return rc;
    out->dist = (enum len_dist)d;
    const char *const *mine = len_dist_keys[d];
    for (size_t i = 0; i < s.map->n; i++) {
        const char *k = s.map->keys[i]->value;
        bool ok = !strcmp(k, "dist");
        for (size_t j = 0; mine[j] && !ok; j++)
            ok = !strcmp(k, mine[j]);
        if (ok)
            continue;
        char takes[64] = "";
        for (size_t j = 0; mine[j]; j++)
            snprintf(takes + strlen(takes), sizeof takes - strlen(takes), "%s%s", j ? ", " : "",
                     mine[j]);
        return fail_at(b, s.map->keys[i], "'%s.%s' does not apply to dist %s (it takes: %s)", s.ctx,
                       k, len_dists[d], takes);
    }
    char why[48];
    snprintf(why, sizeof why, "with dist %s", len_dists[d]);
    int64_t v;
    switch (out->dist) {
    case LEN_CONSTANT:
        v = 0;
        if ((rc = need(b, &s, "value", why)) ||
            (rc = rd_i64(b, &s, "value", 1, INT64_MAX, "tokens", &v)))
            return rc;
        out->value = (double)v;
        return SIM_OK;
    case LEN_UNIFORM: {
        int64_t lo = 0, hi = 0;
        if ((rc = need(b, &s, "min", why)) || (rc = need(b, &s, "max", why)) ||
            (rc = rd_i64(b, &s, "min", 1, INT64_MAX, "tokens", &lo)) ||
            (rc = rd_i64(b, &s, "max", 1, INT64_MAX, "tokens", &hi)))
            return rc;
        if (hi < lo) {
            const struct ynode *n = ynode_get(s.map, "max");
            return fail_at(b, n, "'%s.max' must be >= '%s.min' (%" PRId64 " tokens), got '%s'",
                           s.ctx, s.ctx, lo, n->value);
        }
        out->min = (double)lo;
        out->max = (double)hi;
        return SIM_OK;
    }
    case LEN_EXPONENTIAL:
        if ((rc = need(b, &s, "mean", why)))
            return rc;
        return rd_pos(b, &s, "mean", "tokens", &out->mean);
    case LEN_LOGNORMAL:
        if ((rc = need(b, &s, "mean", why)) || (rc = need(b, &s, "sigma", why)) ||
            (rc = rd_pos(b, &s, "mean", "tokens", &out->mean)))
            return rc;
        return rd_num(b, &s, "sigma", 0.0, true, 10.0, false, NULL, &out->sigma);
    case LEN_EMPIRICAL:
        if ((rc = need(b, &s, "path", why)) || (rc = need(b, &s, "column", why)) ||
            (rc = rd_path(b, &s, "path", out->path, sizeof out->path)))
            return rc;
        return rd_str(b, &s, "column", false, out->column, sizeof out->column);
    }
    return SIM_OK;
}

/* workload.trace.columns, time_format and model: a CSV read by its own column names. */
static int bind_trace_columns(struct bind *b, const struct sect *t, struct workload_spec *wl)
{
    struct sect c;
    int rc, tf = 0;
    struct trace_columns *cols = &wl->columns;
    if ((rc = sect_open(b, t, "columns", trace_column_keys, &c)))
        return rc;
    if (!has(t, "columns")) {
        if ((rc = only_for(b, t, "time_format", "a trace read by 'columns'")) ||
            (rc = only_for(b, t, "model", "a trace read by 'columns' with a 'model' column")))
            return rc;
        return SIM_OK;
    }
    if (wl->format != TRACE_AUTO && wl->format != TRACE_CSV)
        return only_for(b, t, "columns", "format csv (or auto)");
    const char *why = "with 'columns' (the name of that column in the file's header)";
    if ((rc = need(b, &c, "arrival", why)) || (rc = need(b, &c, "prompt_tokens", why)) ||
        (rc = need(b, &c, "output_tokens", why)) ||
        (rc = rd_str(b, &c, "arrival", false, cols->arrival, sizeof cols->arrival)) ||
        (rc = rd_str(b, &c, "prompt_tokens", false, cols->prompt, sizeof cols->prompt)) ||
        (rc = rd_str(b, &c, "output_tokens", false, cols->output, sizeof cols->output)) ||
        (rc = rd_str(b, &c, "model", false, cols->model, sizeof cols->model)) ||
        (rc = rd_str(b, &c, "session", false, cols->session, sizeof cols->session)) ||
        (rc = rd_str(b, &c, "class", false, cols->class_, sizeof cols->class_)) ||
        (rc = rd_str(b, &c, "prefix_group", false, cols->prefix_group,
                     sizeof cols->prefix_group)) ||
        (rc = rd_enum(b, t, "time_format", time_formats, &tf)) ||
        (rc = rd_str(b, t, "model", false, wl->trace_model, sizeof wl->trace_model)))
        return rc;
    wl->format = TRACE_CSV;
    wl->time_format = (enum trace_time_format)tf;
    const char *names[7] = {cols->arrival, cols->prompt,  cols->output,      cols->model,
                            cols->session, cols->class_, cols->prefix_group};
    for (int i = 0; i < 7; i++)
        for (int j = 0; j < i; j++)
            if (names[i][0] && !strcmp(names[i], names[j]))
                return fail_at(b, ynode_get(c.map, trace_column_keys[i]),
                               "'%s.%s' and '%s.%s' name the same column '%s'", c.ctx,
                               trace_column_keys[j], c.ctx, trace_column_keys[i], names[i]);
    if (wl->trace_model[0] && !cols->model[0])
        return fail_at(b, ynode_key(t->map, "model"),
                       "'%s.model' picks rows by the model column: set '%s.model' too", t->ctx,
                       c.ctx);
    return SIM_OK;
}

static int bind_trace(struct bind *b, const struct sect *w, struct workload_spec *wl)
{
    struct sect t, win;
    int rc, fmt = 0;
    if ((rc = sect_open(b, w, "trace", trace_keys, &t)))
        return rc;
    wl->kind = WL_TRACE;
    int hbt = wl->hash_block_tokens;
    if ((rc = need(b, &t, "path", NULL)) ||
        (rc = rd_path(b, &t, "path", wl->trace_path, sizeof wl->trace_path)) ||
        (rc = rd_enum(b, &t, "format", trace_formats, &fmt)) ||
        (rc = rd_num(b, &t, "time_scale", 0.0, true, 1e6, false, NULL, &wl->time_scale)) ||
        (rc = rd_num(b, &t, "rate_scale", 0.0, true, 1000.0, false, NULL, &wl->rate_scale)) ||
        (rc = rd_bool(b, &t, "skip_bad_rows", &wl->skip_bad_rows)) ||
        (rc = rd_int(b, &t, "hash_block_tokens", 1, 1 << 20, "tokens", &hbt)) ||
        (rc = sect_open(b, &t, "window", window_keys, &win)) ||
        (rc = rd_dur(b, &win, "start", 0, &wl->window_start_us)) ||
        (rc = rd_dur(b, &win, "end", 0, &wl->window_end_us)))
        return rc;
    wl->format = (enum trace_format)fmt;
    wl->hash_block_tokens = hbt;
    if ((rc = bind_trace_columns(b, &t, wl)) ||
        (rc = rd_int(b, &t, "prefix_group_tokens", 1, INT_MAX, "tokens",
                     &wl->prefix_group_tokens)))
        return rc;
    if (wl->prefix_group_tokens > 0 && !wl->columns.prefix_group[0])
        return fail_at(b, ynode_key(t.map, "prefix_group_tokens"),
                       "'%s.prefix_group_tokens' needs the group's column: set "
                       "'%s.columns.prefix_group'",
                       t.ctx, t.ctx);
    if (has(&win, "end") && wl->window_end_us <= wl->window_start_us) {
        char start[48];
        const struct ynode *n = ynode_get(win.map, "end");
        return fail_at(b, n, "'%s.end' must be > '%s.start' (%s), got '%s'", win.ctx, win.ctx,
                       format_duration_us(wl->window_start_us, start, sizeof start), n->value);
    }
    /* the synthetic generator's keys make no sense with a trace: say so */
    static const char *const synthetic_only[] = {"rate_profile", "prompt_tokens", "output_tokens",
                                                 "count", "prefix", NULL};
    for (size_t i = 0; synthetic_only[i]; i++)
        if ((rc = only_for(b, w, synthetic_only[i],
                           i == 0 ? "a synthetic workload ('arrivals'), not to a trace"
                                  : "a synthetic workload ('arrivals' or 'clients'), not to a "
                                    "trace")))
            return rc;
    /* closed loop: the clients set the pace, the trace's timestamps are ignored */
    if (wl->clients.concurrency > 0)
        if ((rc = only_for(b, &t, "time_scale",
                           "a timed trace replay, not with 'workload.clients' (the clients "
                           "set the pace; timestamps are ignored)")) ||
            (rc = only_for(b, &t, "rate_scale",
                           "a timed trace replay, not with 'workload.clients' (the clients "
                           "set the load: change 'concurrency')")))
            return rc;
    return SIM_OK;
}

static int bind_steps(struct bind *b, const struct sect *rp, struct workload_spec *wl)
{
    char key[256];
    const struct ynode *seq = field(rp, "steps", key, sizeof key);
    if (!seq || ynode_is_null(seq))
        return SIM_OK;
    if (seq->kind != YNODE_SEQ)
        return fail_at(b, seq, "expected a sequence for '%s', found %s", key, ynode_kind_name(seq));
    wl->steps = sim_calloc(seq->n, sizeof *wl->steps);
    if (!wl->steps)
        return sim_err_set(b->err, SIM_ENOMEM, "out of memory");
    for (size_t i = 0; i < seq->n; i++) {
        struct sect it;
        struct rate_step *st = &wl->steps[i];
        int rc;
        if ((rc = item_open(b, seq->items[i], key, i, step_keys, &it)) ||
            (rc = need(b, &it, "at", NULL)) || (rc = need(b, &it, "rate_per_s", NULL)) ||
            (rc = rd_dur(b, &it, "at", 0, &st->at_us)) ||
            (rc = rd_num(b, &it, "rate_per_s", 0.0, true, 1e9, false, "req/s",
                         &st->rate_per_s)))
            return rc;
        wl->n_steps = i + 1;
        if (i > 0 && st->at_us <= st[-1].at_us) {
            char prev[48];
            const struct ynode *n = ynode_get(it.map, "at");
            return fail_at(b, n, "'%s.at' must be after '%s.%zu.at' (%s), got '%s'", it.ctx, key,
                           i - 1, format_duration_us(st[-1].at_us, prev, sizeof prev), n->value);
        }
    }
    return SIM_OK;
}

static int bind_spikes(struct bind *b, const struct sect *rp, struct workload_spec *wl)
{
    char key[256];
    const struct ynode *seq = field(rp, "spikes", key, sizeof key);
    if (!seq || ynode_is_null(seq))
        return SIM_OK;
    if (seq->kind != YNODE_SEQ)
        return fail_at(b, seq, "expected a sequence for '%s', found %s", key, ynode_kind_name(seq));
    wl->spikes = sim_calloc(seq->n, sizeof *wl->spikes);
    if (!wl->spikes)
        return sim_err_set(b->err, SIM_ENOMEM, "out of memory");
    for (size_t i = 0; i < seq->n; i++) {
        struct sect it;
        struct rate_spike *sp = &wl->spikes[i];
        int rc;
        if ((rc = item_open(b, seq->items[i], key, i, spike_keys, &it)) ||
            (rc = need(b, &it, "at", NULL)) || (rc = need(b, &it, "duration", NULL)) ||
            (rc = need(b, &it, "factor", NULL)) || (rc = rd_dur(b, &it, "at", 0, &sp->at_us)) ||
            (rc = rd_dur(b, &it, "duration", 1, &sp->duration_us)) ||
            (rc = rd_num(b, &it, "factor", 0.0, true, 1e6, false, "rate multiplier",
                         &sp->factor)))
            return rc;
        wl->n_spikes = i + 1;
        if (i > 0 && sp->at_us < sp[-1].at_us) {
            char prev[48];
            const struct ynode *n = ynode_get(it.map, "at");
            return fail_at(b, n, "'%s.at' must not be before '%s.%zu.at' (%s), got '%s'", it.ctx,
                           key, i - 1, format_duration_us(sp[-1].at_us, prev, sizeof prev),
                           n->value);
        }
    }
    return SIM_OK;
}

static int bind_prefix_pool(struct bind *b, const struct sect *px, const char *name,
                            struct prefix_pool_spec *out)
{
    struct sect s;
    int rc = sect_open(b, px, name, prefix_pool_keys, &s);
    if (rc || !s.map)
        return rc;
    out->share_frac = 1.0;
    if ((rc = need(b, &s, "count", NULL)) ||
        (rc = rd_int(b, &s, "count", 1, 10000000, "prompts", &out->count)) ||
        (rc = bind_len(b, &s, "tokens", NULL, &out->tokens)) ||
        (rc = rd_num(b, &s, "zipf_s", 0.0, false, 10.0, false, NULL, &out->zipf_s)) ||
        (rc = rd_num(b, &s, "share_frac", 0.0, false, 1.0, false, NULL, &out->share_frac)))
        return rc;
    return SIM_OK;
}

static int bind_prefix(struct bind *b, const struct sect *w, struct prefix_spec *px)
{
    struct sect p, se;
    int rc;
    if ((rc = sect_open(b, w, "prefix", prefix_keys, &p)) || !p.map)
        return rc;
    if ((rc = bind_prefix_pool(b, &p, "system_prompts", &px->system)) ||
        (rc = bind_prefix_pool(b, &p, "documents", &px->documents)) ||
        (rc = sect_open(b, &p, "sessions", session_keys, &se)))
        return rc;
    if (se.map) {
        px->sessions.on = true;
        px->sessions.think_time_us = 30000000;
        if ((rc = bind_len(b, &se, "turns", NULL, &px->sessions.turns)) ||
            (rc = rd_dur(b, &se, "think_time", 0, &px->sessions.think_time_us)) ||
            (rc = rd_int(b, &se, "max_context_tokens", 0, INT_MAX, "tokens",
                         &px->sessions.max_context_tokens)))
            return rc;
    }
    return SIM_OK;
}

/* The synthetic requests' lengths and count (`driver`: what requires them). */
static int bind_requests(struct bind *b, const struct sect *w, const char *driver,
                         struct workload_spec *wl)
{
    int rc;
    if ((rc = bind_len(b, w, "prompt_tokens", driver, &wl->prompt)) ||
        (rc = bind_len(b, w, "output_tokens", driver, &wl->output)) ||
        (rc = rd_i64(b, w, "count", 1, INT64_MAX, "requests", &wl->count)) ||
        (rc = bind_prefix(b, w, &wl->prefix)))
        return rc;
    if (wl->count == 0 && b->sc->duration_us < 0)
        return fail_at(b, w->at, "a synthetic workload needs 'count' or 'duration'");
    return SIM_OK;
}

static int bind_arrivals(struct bind *b, const struct sect *w, struct workload_spec *wl)
{
    struct sect a, rp, di;
    int rc, proc = 0;
    if ((rc = sect_open(b, w, "arrivals", arrivals_keys, &a)))
        return rc;
    wl->kind = WL_SYNTHETIC;
    if ((rc = rd_enum(b, &a, "process", processes, &proc)) ||
        (rc = need(b, &a, "rate_per_s", NULL)) ||
        (rc = rd_num(b, &a, "rate_per_s", 0.0, true, 1e9, false, "req/s", &wl->rate_per_s)))
        return rc;
    wl->process = (enum arrival_process)proc;
    if (wl->process == ARR_GAMMA) {
        if ((rc = need(b, &a, "cv", "with process gamma")) ||
            (rc = rd_num(b, &a, "cv", 0.0, true, 100.0, false, "coefficient of variation",
                         &wl->cv)))
            return rc;
    } else if ((rc = only_for(b, &a, "cv", "process gamma"))) {
        return rc;
    }
    if ((rc = sect_open(b, w, "rate_profile", rate_profile_keys, &rp)) ||
        (rc = sect_open(b, &rp, "diurnal", diurnal_keys, &di)))
        return rc;
    if (di.map) {
        wl->diurnal = true;
        if ((rc = need(b, &di, "amplitude_frac", NULL)) ||
            (rc = rd_num(b, &di, "amplitude_frac", 0.0, false, 1.0, true, NULL,
                         &wl->diurnal_amplitude_frac)) ||
            (rc = rd_dur(b, &di, "period", 1, &wl->diurnal_period_us)) ||
            (rc = rd_dur(b, &di, "peak_at", 0, &wl->diurnal_peak_at_us)))
            return rc;
    }
    if ((rc = bind_steps(b, &rp, wl)) || (rc = bind_spikes(b, &rp, wl)))
        return rc;
    return bind_requests(b, w, "with 'arrivals'", wl);
}

/* The think time: a duration ("2s", a constant) or {dist: constant, value: 2s} or
 * {dist: exponential, mean: 2s}. */
static int bind_think(struct bind *b, const struct sect *c, struct clients_spec *cl)
{
    char key[256];
    const struct ynode *n = field(c, "think_time", key, sizeof key);
    if (!n || n->kind != YNODE_MAP)
        return rd_dur(b, c, "think_time", 0, &cl->think_time_us);
    struct sect t;
    int rc, d = 0;
    if ((rc = sect_open(b, c, "think_time", think_keys, &t)) ||
        (rc = need(b, &t, "dist", "(constant or exponential)")) ||
        (rc = rd_enum(b, &t, "dist", think_dists, &d)))
        return rc;
    cl->think = (enum think_dist)d;
    const char *mine = cl->think == THINK_CONSTANT ? "value" : "mean";
    const char *other = cl->think == THINK_CONSTANT ? "mean" : "value";
    char why[48];
    snprintf(why, sizeof why, "with dist %s", think_dists[d]);
    if ((rc = only_for(b, &t, other, cl->think == THINK_CONSTANT ? "dist exponential"
                                                                  : "dist constant")) ||
        (rc = need(b, &t, mine, why)))
        return rc;
    return rd_dur(b, &t, mine, cl->think == THINK_CONSTANT ? 0 : 1, &cl->think_time_us);
}

/* workload.clients: closed-loop clients, beside a trace or the synthetic lengths. */
static int bind_clients(struct bind *b, const struct sect *w, struct workload_spec *wl)
{
    struct sect c;
    int64_t n = 0;
    int rc;
    if ((rc = sect_open(b, w, "clients", clients_keys, &c)) ||
        (rc = need(b, &c, "concurrency", "(the number of clients)")) ||
        (rc = rd_i64(b, &c, "concurrency", 1, 1000000, "clients", &n)) ||
        (rc = bind_think(b, &c, &wl->clients)))
        return rc;
    wl->clients.concurrency = (int32_t)n;
    return SIM_OK;
}

/* Synthetic requests sent by closed-loop clients: lengths and count, no arrival process. */
static int bind_client_requests(struct bind *b, const struct sect *w, struct workload_spec *wl)
{
    int rc;
    wl->kind = WL_SYNTHETIC;
    if ((rc = only_for(b, w, "rate_profile", "'arrivals' (an open-loop rate), not to 'clients'")))
        return rc;
    return bind_requests(b, w, "with 'clients'", wl);
}

static int bind_slo_items(struct bind *b, const struct sect *s, struct slo_item *items,
                          size_t *n);

/* workload.classes: a sequence of request classes (class_spec). */
static int bind_classes(struct bind *b, const struct sect *w, struct workload_spec *wl)
{
    char key[256];
    const struct ynode *seq = field(w, "classes", key, sizeof key);
    if (!seq || ynode_is_null(seq))
        return SIM_OK;
    if (seq->kind != YNODE_SEQ)
        return fail_at(b, seq, "expected a sequence for '%s', found %s", key, ynode_kind_name(seq));
    if (seq->n > CLASS_MAX)
        return fail_at(b, seq->items[CLASS_MAX], "'%s' has at most %d classes, found %zu", key,
                       CLASS_MAX, seq->n);
    double sum = 0;
    for (size_t i = 0; i < seq->n; i++) {
        struct sect it, slo;
        struct class_spec *c = &wl->classes[i];
        int rc;
        if ((rc = item_open(b, seq->items[i], key, i, class_keys, &it)) ||
            (rc = need(b, &it, "name", NULL)) || (rc = need(b, &it, "share", NULL)) ||
            (rc = rd_str(b, &it, "name", false, c->name, sizeof c->name)) ||
            (rc = rd_num(b, &it, "share", 0.0, false, 1.0, false, "fraction of requests",
                         &c->share)) ||
            (rc = rd_int(b, &it, "priority", INT_MIN / 2, INT_MAX / 2, NULL, &c->priority)) ||
            (rc = rd_bool(b, &it, "sheddable", &c->sheddable)))
            return rc;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(wl->classes[j].name, c->name))
                return fail_at(b, ynode_get(it.map, "name"),
                               "'%s.name' '%s' is already the name of '%s.%zu'", it.ctx, c->name,
                               key, j);
        bool hp = has(&it, "prompt_tokens"), ho = has(&it, "output_tokens");
        if (hp != ho)
            return fail_at(b, ynode_key(it.map, hp ? "prompt_tokens" : "output_tokens"),
                           "'%s' needs both 'prompt_tokens' and 'output_tokens' (or neither: "
                           "the workload's)",
                           it.ctx);
        if (hp) {
            if (wl->kind == WL_TRACE)
                return only_for(b, &it, "prompt_tokens",
                                "a synthetic workload ('arrivals' or 'clients'), not to a trace "
                                "(its rows give the lengths)");
            c->own_lengths = true;
            if ((rc = bind_len(b, &it, "prompt_tokens", NULL, &c->prompt)) ||
                (rc = bind_len(b, &it, "output_tokens", NULL, &c->output)))
                return rc;
        }
        if ((rc = sect_open(b, &it, "slo", slo_keys, &slo)))
            return rc;
        if (slo.map && (rc = bind_slo_items(b, &slo, c->slo, &c->n_slo)))
            return rc;
        sum += c->share;
        wl->n_classes = (int)i + 1;
    }
    if (fabs(sum - 1.0) > 1e-9)
        return fail_at(b, seq, "the shares of '%s' must add up to 1, found %.9g", key, sum);
    return SIM_OK;
}

static int bind_workload(struct bind *b, const struct sect *top)
{
    struct sect w;
    int rc = sect_open(b, top, "workload", workload_keys, &w);
    if (rc)
        return rc;
    const struct ynode *tk = ynode_key(w.map, "trace"), *ak = ynode_key(w.map, "arrivals");
    const struct ynode *ck = ynode_key(w.map, "clients");
    bool trace = tk && !ynode_is_null(ynode_get(w.map, "trace"));
    bool arrivals = ak && !ynode_is_null(ynode_get(w.map, "arrivals"));
    bool clients = ck && !ynode_is_null(ynode_get(w.map, "clients"));
    /* What drives arrivals: a trace's timestamps, the arrival process, or the clients (a
     * trace beside 'clients' only gives the requests, in order). Exactly one. */
    int drivers = (trace && !clients) + arrivals + clients;
    if (drivers != 1) {
        const struct ynode *at = w.at;
        if (drivers > 1) { /* point at the later of the two that clash */
            const struct ynode *x = arrivals ? ak : tk, *y = clients ? ck : tk;
            at = (y->line > x->line || (y->line == x->line && y->col > x->col)) ? y : x;
        }
        return fail_at(b, at,
                       "'workload' needs exactly one of 'trace' (timed), 'arrivals' or "
                       "'clients' to drive arrivals");
    }
    if (clients && (rc = bind_clients(b, &w, &b->sc->workload)))
        return rc;
    if (trace)
        rc = bind_trace(b, &w, &b->sc->workload);
    else
        rc = clients ? bind_client_requests(b, &w, &b->sc->workload)
                     : bind_arrivals(b, &w, &b->sc->workload);
    if (rc)
        return rc;
    if ((rc = bind_classes(b, &w, &b->sc->workload)))
        return rc;
    const struct trace_columns *cols = &b->sc->workload.columns;
    if (cols->class_[0] && b->sc->workload.n_classes == 0)
        return fail_at(b, ynode_key(w.map, "trace"),
                       "'workload.trace.columns.class' needs 'workload.classes' (the names the "
                       "column holds)");
    return SIM_OK;
}

/* ---- model and engine ---------------------------------------------------------------- */

static int bind_model(struct bind *b, const struct sect *top)
{
    struct model_spec *m = &b->sc->model;
    struct sect s;
    int rc, dt = 0, kv = 0;
    if ((rc = sect_open(b, top, "model", model_keys, &s)) || (rc = need(b, &s, "name", NULL)) ||
        (rc = rd_str(b, &s, "name", false, m->name, sizeof m->name)) ||
        (rc = rd_path(b, &s, "catalog", m->catalog_path, sizeof m->catalog_path)) ||
        (rc = rd_str(b, &s, "served_model_name", false, m->served_model_name,
                     sizeof m->served_model_name)))
        return rc;
    if (has(&s, "dtype")) {
        if ((rc = rd_enum(b, &s, "dtype", dtypes, &dt)))
            return rc;
        snprintf(m->dtype, sizeof m->dtype, "%s", dtypes[dt]);
    }
    if (has(&s, "kv_cache_dtype")) {
        if ((rc = rd_enum(b, &s, "kv_cache_dtype", kv_dtypes, &kv)))
            return rc;
        snprintf(m->kv_cache_dtype, sizeof m->kv_cache_dtype, "%s", kv_dtypes[kv]);
    }
    return SIM_OK;
}

static bool is_integer_text(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static int bind_num_gpu_blocks(struct bind *b, const struct sect *e, struct engine_spec *en)
{
    char key[256];
    const struct ynode *n = field(e, "num_gpu_blocks", key, sizeof key);
    if (!n)
        return SIM_OK;
    if (n->kind == YNODE_SCALAR && !strcmp(n->value, "auto")) {
        en->num_gpu_blocks = 0;
        return SIM_OK;
    }
    if (n->kind == YNODE_SCALAR && !n->quoted && is_integer_text(n->value))
        return ynode_as_int64_unit(n, key, 1, INT64_MAX, "blocks", &en->num_gpu_blocks, b->err);
    if (n->kind != YNODE_SCALAR || ynode_is_null(n))
        return fail_at(b, n, "expected 'auto' or an integer for '%s', found %s", key,
                       ynode_kind_name(n));
    return fail_at(b, n, "'%s' must be 'auto' or an integer >= 1 (blocks), got '%s'", key,
                   n->value);
}

static int bind_block_size(struct bind *b, const struct sect *e, struct engine_spec *en)
{
    char key[256];
    const struct ynode *n = field(e, "block_size", key, sizeof key);
    if (!n)
        return SIM_OK;
    int64_t v = 0;
    int rc = ynode_as_int64_unit(n, key, INT64_MIN, INT64_MAX, "tokens", &v, b->err);
    if (rc)
        return rc;
    static const int64_t allowed[] = {1, 8, 16, 32, 64, 128};
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (v == allowed[i]) {
            en->block_size = (int)v;
            return SIM_OK;
        }
    return fail_at(b, n, "'%s' must be one of 1, 8, 16, 32, 64, 128 (tokens), got '%s'", key,
                   n->value);
}

static int bind_latency(struct bind *b, const struct sect *e, struct lat_spec *lat)
{
    struct sect s, c, l;
    int rc, model = 0;
    if ((rc = sect_open(b, e, "latency", latency_keys, &s)) ||
        (rc = need(b, &s, "model", "(constant, linear, roofline or table)")) ||
        (rc = rd_enum(b, &s, "model", latency_models, &model)))
        return rc;
    lat->kind = (enum lat_kind)model;
    if (lat->kind == LAT_TABLE) {
        if ((rc = rd_path(b, &s, "table", lat->table_path, sizeof lat->table_path)))
            return rc;
    } else if ((rc = only_for(b, &s, "table", "model table"))) {
        return rc;
    }
    if (lat->kind == LAT_TABLE || lat->kind == LAT_ROOFLINE) {
        if ((rc = rd_path(b, &s, "calibration", lat->calibration_path,
                          sizeof lat->calibration_path)))
            return rc;
    } else if ((rc = only_for(b, &s, "calibration", "model roofline or table"))) {
        return rc;
    }
    if ((rc = sect_open(b, &s, "constant", lat_constant_keys, &c)) ||
        (rc = sect_open(b, &s, "linear", lat_linear_keys, &l)))
        return rc;
    if (lat->kind == LAT_CONSTANT) {
        if ((rc = need(b, &s, "constant", "with model constant")) ||
            (rc = need(b, &c, "prefill_per_token_us", NULL)) ||
            (rc = need(b, &c, "decode_iteration_ms", NULL)) ||
            (rc = rd_num(b, &c, "prefill_per_token_us", 0, false, LAT_PER_ITEM_US_MAX, false,
                         "us", &lat->prefill_per_token_us)) ||
            (rc = rd_num(b, &c, "decode_iteration_ms", 0, false, LAT_STEP_MS_MAX, false, "ms",
                         &lat->decode_iteration_ms)))
            return rc;
    } else if ((rc = only_for(b, &s, "constant", "model constant"))) {
        return rc;
    }
    if (lat->kind == LAT_LINEAR) {
        if ((rc = need(b, &s, "linear", "with model linear")) ||
            (rc = rd_num(b, &l, "fixed_ms", 0, false, LAT_STEP_MS_MAX, false, "ms",
                         &lat->fixed_ms)) ||
            (rc = rd_num(b, &l, "per_prefill_token_us", 0, false, LAT_PER_ITEM_US_MAX, false,
                         "us", &lat->per_prefill_token_us)) ||
            (rc = rd_num(b, &l, "per_decode_seq_us", 0, false, LAT_PER_ITEM_US_MAX, false, "us",
                         &lat->per_decode_seq_us)) ||
            (rc = rd_num(b, &l, "per_context_token_ns", 0, false, LAT_PER_CONTEXT_NS_MAX, false,
                         "ns", &lat->per_context_token_ns)) ||
            (rc = rd_num(b, &l, "frontend_ms", 0, false, LAT_STEP_MS_MAX, false, "ms",
                         &lat->frontend_ms)) ||
            (rc = rd_num(b, &l, "frontend_request_ms", 0, false, LAT_STEP_MS_MAX, false, "ms",
                         &lat->frontend_request_ms)))
            return rc;
    } else if ((rc = only_for(b, &s, "linear", "model linear"))) {
        return rc;
    }
    return SIM_OK;
}

static int bind_startup(struct bind *b, const struct sect *e, struct startup_spec *st)
{
    struct sect s;
    int rc;
    int cc = (int)st->compile_cache;
    if ((rc = sect_open(b, e, "startup", startup_keys, &s)) ||
        (rc = rd_pos(b, &s, "image_gib", "GiB", &st->image_gib)) ||
        (rc = rd_pos(b, &s, "image_pull_gib_per_s", "GiB/s", &st->image_pull_gib_per_s)) ||
        (rc = rd_bool(b, &s, "image_prepulled", &st->image_prepulled)) ||
        (rc = rd_pos(b, &s, "weights_gib", "GiB", &st->weights_gib)) ||
        (rc = rd_dur(b, &s, "engine_init", 0, &st->engine_init_us)) ||
        (rc = rd_dur(b, &s, "engine_init_cold", 0, &st->engine_init_cold_us)) ||
        (rc = rd_enum(b, &s, "compile_cache", compile_cache_names, &cc)))
        return rc;
    st->compile_cache = (enum compile_cache)cc;
    char key[256];
    const struct ynode *wf = field(&s, "weights_from", key, sizeof key);
    if (!wf)
        return SIM_OK;
    if (wf->kind == YNODE_MAP) {
        struct sect c;
        if ((rc = sect_open(b, &s, "weights_from", weights_custom_keys, &c)) ||
            (rc = need(b, &c, "gib_per_s", NULL)) ||
            (rc = rd_pos(b, &c, "gib_per_s", "GiB/s", &st->weights_gib_per_s)))
            return rc;
        snprintf(st->weights_from, sizeof st->weights_from, "custom");
        return SIM_OK;
    }
    if (wf->kind == YNODE_SEQ || ynode_is_null(wf))
        return fail_at(b, wf, "expected a preset name or {gib_per_s: N} for '%s', found %s", key,
                       ynode_kind_name(wf));
    int p = 0;
    if ((rc = ynode_as_enum(wf, key, weight_presets, &p, b->err)))
        return rc;
    snprintf(st->weights_from, sizeof st->weights_from, "%s", weight_presets[p]);
    st->weights_gib_per_s = weight_preset_gib_per_s[p];
    return SIM_OK;
}

/* engine.vllm_version, enforce_eager and num_scheduler_steps: the version-specific terms
 * (docs/latency-models.md, "vLLM versions"). */
static int bind_vllm_version(struct bind *b, const struct sect *e, struct engine_spec *en)
{
    char key[256];
    int rc;
    const struct ynode *v = field(e, "vllm_version", key, sizeof key);
    if (v) {
        char text[32];
        if ((rc = str_into(b, v, key, false, text, sizeof text)))
            return rc;
        if (lat_vllm_version_parse(text, &en->vllm_major, &en->vllm_minor))
            return fail_at(b, v, "'%s' must be a vLLM release like '0.6.0' or '0.10.1', got '%s'",
                           key, text);
        if (en->vllm_major == 0 && en->vllm_minor < 5)
            return fail_at(b, v,
                           "'%s' %s is older than the versions llmcap models (0.5 and later)", key,
                           text);
        snprintf(en->vllm_version, sizeof en->vllm_version, "%s", text);
    }
    if ((rc = rd_bool(b, e, "enforce_eager", &en->enforce_eager)) ||
        (rc = rd_int(b, e, "num_scheduler_steps", 1, 256, "steps", &en->num_scheduler_steps)))
        return rc;
    bool v0 = v && en->vllm_major == 0 && en->vllm_minor < 8;
    if (v0 && !has(e, "enable_chunked_prefill"))
        en->enable_chunked_prefill = false; /* V0's default below max_model_len 32K */
    if (en->num_scheduler_steps > 1) {
        const struct ynode *k = ynode_key(e->map, "num_scheduler_steps");
        if (!(v0 && en->vllm_minor >= 6))
            return fail_at(b, k,
                           "'engine.num_scheduler_steps' > 1 is vLLM 0.6-0.7 multi-step "
                           "scheduling (removed with the V0 engine): set 'engine.vllm_version' "
                           "to the 0.6 or 0.7 release measured, or leave it at 1");
        if (en->enable_chunked_prefill)
            return fail_at(b, k,
                           "'engine.num_scheduler_steps' > 1 with 'enable_chunked_prefill: "
                           "true' is not modelled (vLLM 0.6.0 multi-step did not support "
                           "chunked prefill)");
    }
    return SIM_OK;
}

/* engine.termination. `on_unfinished` (the gateway re-queued or failed what was left at
 * the grace period's end) is gone: vLLM aborts at SIGTERM and the client retries. */
static int bind_termination(struct bind *b, const struct sect *e, struct termination_spec *t)
{
    struct sect s;
    int rc;
    if ((rc = sect_open(b, e, "termination", termination_keys, &s)) ||
        (rc = rd_dur(b, &s, "grace_period", 0, &t->grace_period_us)) ||
        (rc = rd_dur(b, &s, "pre_stop", 0, &t->pre_stop_us)) ||
        (rc = rd_dur(b, &s, "shutdown_timeout", 0, &t->shutdown_timeout_us)))
        return rc;
    char key[256];
    const struct ynode *onu = field(&s, "on_unfinished", key, sizeof key);
    if (onu)
        return fail_at(b, onu,
                       "'%s' was removed: vLLM aborts in-flight requests at SIGTERM unless "
                       "'engine.termination.shutdown_timeout' is set, and clients retry as "
                       "'router.retry' says",
                       key);
    return SIM_OK;
}

static int bind_engine(struct bind *b, const struct sect *top)
{
    struct engine_spec *en = &b->sc->engine;
    struct sect e;
    int rc, kind = 0, policy = en->priority_scheduling ? 1 : 0;
    if ((rc = sect_open(b, top, "engine", engine_keys, &e)) ||
        (rc = rd_enum(b, &e, "kind", engine_kinds, &kind)) ||
        (rc = rd_str(b, &e, "gpu", true, en->gpu, sizeof en->gpu)) ||
        (rc = rd_int(b, &e, "tensor_parallel_size", 1, 64, "GPUs", &en->tensor_parallel_size)) ||
        (rc = rd_int(b, &e, "max_num_seqs", 1, 65536, "sequences", &en->max_num_seqs)) ||
        (rc = rd_int(b, &e, "max_num_batched_tokens", 1, 1048576, "tokens",
                     &en->max_num_batched_tokens)) ||
        (rc = rd_bool(b, &e, "enable_chunked_prefill", &en->enable_chunked_prefill)) ||
        (rc = rd_bool(b, &e, "enable_prefix_caching", &en->enable_prefix_caching)) ||
        (rc = rd_enum(b, &e, "scheduling_policy", scheduling_policies, &policy)) ||
        (rc = bind_block_size(b, &e, en)) ||
        (rc = rd_num(b, &e, "gpu_memory_utilization", 0.0, true, 1.0, false,
                     "fraction of GPU memory", &en->gpu_memory_utilization)) ||
        (rc = rd_int(b, &e, "max_model_len", 1, 10000000, "tokens", &en->max_model_len)) ||
        (rc = bind_num_gpu_blocks(b, &e, en)))
        return rc;
    en->kind = (enum engine_kind)kind;
    en->priority_scheduling = policy == 1;
    if (en->priority_scheduling && en->kind == ENGINE_STATIC)
        return fail_at(b, ynode_key(e.map, "scheduling_policy"),
                       "'engine.scheduling_policy: priority' applies only to kind vllm");
    if ((rc = bind_vllm_version(b, &e, en)))
        return rc;
    if (en->kind == ENGINE_STATIC) {
        if ((rc = rd_int(b, &e, "batch_size", 1, INT_MAX, "requests", &en->static_batch_size)))
            return rc;
    } else if ((rc = only_for(b, &e, "batch_size", "kind static"))) {
        return rc;
    }
    if ((rc = bind_latency(b, &e, &en->latency)) || (rc = bind_startup(b, &e, &en->startup)) ||
        (rc = bind_termination(b, &e, &en->termination)))
        return rc;
    struct sect r;
    if ((rc = sect_open(b, &e, "readiness", readiness_keys, &r)) ||
        (rc = rd_dur(b, &r, "initial_delay", 0, &en->readiness.initial_delay_us)) ||
        (rc = rd_dur(b, &r, "period", 1000000, &en->readiness.period_us)) ||
        (rc = rd_int(b, &r, "failure_threshold", 1, 1000000, "probes",
                     &en->readiness.failure_threshold)))
        return rc;
    return SIM_OK;
}

/* ---- router, fleet, cluster, cost ------------------------------------------------------ */

/* router.retry: {attempts, backoff, max_backoff, jitter, on: [aborted, timeout, 5xx]}. */
static int bind_retry(struct bind *b, const struct sect *router, struct retry_spec *rt)
{
    struct sect s;
    int rc;
    if ((rc = sect_open(b, router, "retry", retry_keys, &s)) ||
        (rc = rd_int(b, &s, "attempts", 0, 100, "retries", &rt->attempts)) ||
        (rc = rd_dur(b, &s, "backoff", 0, &rt->backoff_us)) ||
        (rc = rd_dur(b, &s, "max_backoff", 0, &rt->max_backoff_us)) ||
        (rc = rd_num(b, &s, "jitter", 0.0, false, 1.0, false, "fraction", &rt->jitter)))
        return rc;
    if (rt->max_backoff_us < rt->backoff_us)
        return fail_at(b, s.at, "'%s.max_backoff' must be at least '%s.backoff'", s.ctx, s.ctx);
    char key[256];
    const struct ynode *on = field(&s, "on", key, sizeof key);
    if (!on || ynode_is_null(on))
        return SIM_OK;
    if (on->kind != YNODE_SEQ)
        return fail_at(b, on, "expected a list of aborted, timeout, 5xx for '%s', found %s", key,
                       ynode_kind_name(on));
    rt->on_aborted = rt->on_5xx = rt->on_timeout = false;
    for (size_t i = 0; i < on->n; i++) {
        int k = 0;
        if ((rc = ynode_as_enum(on->items[i], key, retry_on_names, &k, b->err)))
            return rc;
        if (k == 0)
            rt->on_aborted = true;
        else if (k == 1)
            rt->on_timeout = true;
        else
            rt->on_5xx = true;
    }
    return SIM_OK;
}

static int bind_semantic_groups(struct bind *b, const struct sect *sem, struct router_spec *r);

static int bind_router(struct bind *b, const struct sect *top)
{
    struct router_spec *r = &b->sc->router;
    struct sect s;
    int rc, pol = (int)r->policy;
    if ((rc = sect_open(b, top, "router", router_keys, &s)) ||
        (rc = rd_enum(b, &s, "policy", router_policies, &pol)) ||
        (rc = rd_dur(b, &s, "queue_timeout", 1, &r->queue_timeout_us)) ||
        (rc = rd_int(b, &s, "max_outstanding_per_replica", 0, INT_MAX, "requests",
                     &r->max_outstanding_per_replica)) ||
        (rc = rd_dur(b, &s, "endpoint_delay", 0, &r->endpoint_delay_us)) ||
        (rc = rd_dur(b, &s, "client_timeout", 0, &r->client_timeout_us)) ||
        (rc = bind_retry(b, &s, &r->retry)) ||
        (rc = rd_num(b, &s, "load_factor", 1.0, false, 100.0, false, NULL, &r->load_factor)))
        return rc;
    r->policy = (enum router_policy)pol;
    struct sect e, sem;
    if ((rc = sect_open(b, &s, "semantic_cache", semantic_cache_keys, &sem)) ||
        (rc = rd_num(b, &sem, "hit_frac", 0.0, false, 1.0, false, NULL,
                     &r->semantic_cache.hit_frac)) ||
        (rc = rd_dur(b, &sem, "latency", 0, &r->semantic_cache.latency_us)) ||
        (rc = bind_semantic_groups(b, &sem, r)))
        return rc;
    if ((rc = sect_open(b, &s, "endpoint_picker", epp_keys, &e)) ||
        (rc = rd_num(b, &e, "queue_weight", 0.0, false, 1000.0, false, NULL,
                     &r->epp.queue_weight)) ||
        (rc = rd_num(b, &e, "kv_cache_weight", 0.0, false, 1000.0, false, NULL,
                     &r->epp.kv_cache_weight)) ||
        (rc = rd_num(b, &e, "prefix_weight", 0.0, false, 1000.0, false, NULL,
                     &r->epp.prefix_weight)) ||
        (rc = rd_dur(b, &e, "refresh_interval", 1000, &r->epp.refresh_interval_us)) ||
        (rc = rd_int(b, &e, "lru_capacity_per_server", 1, 100000000, "blocks",
                     &r->epp.lru_capacity_per_server)) ||
        (rc = rd_int(b, &e, "max_prefix_blocks", 1, 65536, "blocks",
                     &r->epp.max_prefix_blocks)) ||
        (rc = rd_int(b, &e, "queue_depth_threshold", 1, INT_MAX, "requests",
                     &r->epp.queue_depth_threshold)) ||
        (rc = rd_num(b, &e, "kv_cache_util_threshold", 0.0, true, 1.0, true, NULL,
                     &r->epp.kv_cache_util_threshold)) ||
        (rc = rd_dur(b, &e, "metrics_staleness_threshold", 1, &r->epp.metrics_staleness_us)))
        return rc;
    if (e.map && r->policy != ROUTER_ENDPOINT_PICKER)
        return fail_at(b, e.at, "'router.endpoint_picker' applies only to 'policy: "
                                "endpoint_picker'");
    return SIM_OK;
}

/* router.semantic_cache.groups: [{group: NAME, hit_frac: F}, ...]. */
static int bind_semantic_groups(struct bind *b, const struct sect *sem, struct router_spec *r)
{
    char key[256];
    const struct ynode *seq = field(sem, "groups", key, sizeof key);
    if (!seq || ynode_is_null(seq))
        return SIM_OK;
    if (seq->kind != YNODE_SEQ)
        return fail_at(b, seq, "expected a sequence for '%s', found %s", key, ynode_kind_name(seq));
    if (seq->n > SEMANTIC_GROUPS_MAX)
        return fail_at(b, seq->items[SEMANTIC_GROUPS_MAX], "'%s' has at most %d groups, found %zu",
                       key, SEMANTIC_GROUPS_MAX, seq->n);
    for (size_t i = 0; i < seq->n; i++) {
        struct sect it;
        int rc;
        if ((rc = item_open(b, seq->items[i], key, i, semantic_group_keys, &it)) ||
            (rc = need(b, &it, "group", NULL)) || (rc = need(b, &it, "hit_frac", NULL)) ||
            (rc = rd_str(b, &it, "group", false, r->semantic_cache.group[i],
                         sizeof r->semantic_cache.group[i])) ||
            (rc = rd_num(b, &it, "hit_frac", 0.0, false, 1.0, false, NULL,
                         &r->semantic_cache.group_hit_frac[i])))
            return rc;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(r->semantic_cache.group[j], r->semantic_cache.group[i]))
                return fail_at(b, ynode_get(it.map, "group"),
                               "'%s.group' '%s' is already listed at '%s.%zu'", it.ctx,
                               r->semantic_cache.group[i], key, j);
        r->semantic_cache.n_groups = (int)i + 1;
    }
    return SIM_OK;
}

/* A pasted Kubernetes object, or {file: path} loaded from the scenario's folder (already
 * expanded when a --set reached into it). */
static int bind_kube(struct bind *b, const struct sect *s, const char *name,
                     const struct ynode **out)
{
    char key[256];
    const struct ynode *n = field(s, name, key, sizeof key);
    if (!n || ynode_is_null(n))
        return SIM_OK;
    if (n->kind != YNODE_MAP)
        return fail_at(b, n, "expected a map for '%s', found %s", key, ynode_kind_name(n));
    if (n->n != 1 || strcmp(n->keys[0]->value, "file")) {
        *out = n;
        return SIM_OK;
    }
    struct ynode *root = NULL;
    int rc = scenario_include(b->sc, n->items[0], key, &root, b->err);
    *out = root;
    return rc;
}

/* A string-valued map (metadata.annotations): the value of `name`, or NULL. */
static int annotation(struct bind *b, const struct ynode *annots, const char *ctx,
                      const char *name, const struct ynode **out)
{
    *out = NULL;
    const struct ynode *v = annots ? ynode_get(annots, name) : NULL;
    if (!v)
        return SIM_OK;
    if (v->kind != YNODE_SCALAR || ynode_is_null(v))
        return fail_at(b, v, "expected a string for '%s.%s', found %s", ctx, name,
                       ynode_kind_name(v));
    *out = v;
    return SIM_OK;
}

/* Is `name` in the comma-separated list `list`? */
static bool in_csv(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == n && !strncmp(p, name, n))
            return true;
        if (!c)
            break;
        p = c + 1;
    }
    return false;
}

/*
 * fleet.pod: {annotations: {...}, volumes: [...]} as in the Deployment's pod template.
 * Read: karpenter.sh/do-not-disrupt ("true" or a duration), the cluster autoscaler's
 * safe-to-evict and safe-to-evict-local-volumes, controller.kubernetes.io/pod-deletion-cost;
 * other annotations cannot change the run and are ignored. A volume is local storage for
 * the cluster autoscaler when it is a hostPath or an emptyDir whose medium is not Memory
 * (cluster-autoscaler utils/drain isLocalVolume); other volume kinds are ignored.
 */
static int bind_pod(struct bind *b, const struct sect *fleet, struct pod_spec *p)
{
    struct sect s;
    int rc;
    if ((rc = sect_open(b, fleet, "pod", pod_keys, &s)))
        return rc;
    if (s.map && (rc = schedcfg_pod(s.map, s.ctx, &p->sched, b->err)))
        return rc;
    char key[256];
    const struct ynode *an = field(&s, "annotations", key, sizeof key);
    if (an && !ynode_is_null(an) && an->kind != YNODE_MAP)
        return fail_at(b, an, "expected a map for '%s', found %s", key, ynode_kind_name(an));
    if (an && ynode_is_null(an))
        an = NULL;
    const struct ynode *v;
    if ((rc = annotation(b, an, key, "karpenter.sh/do-not-disrupt", &v)))
        return rc;
    if (v && !strcmp(v->value, "true"))
        p->do_not_disrupt_us = -1;
    else if (v && strcmp(v->value, "false") &&
             (rc = ynode_as_duration_us(v, "karpenter.sh/do-not-disrupt", 1, INT64_MAX, 0,
                                        &p->do_not_disrupt_us, b->err)))
        return rc;
    if ((rc = annotation(b, an, key, "cluster-autoscaler.kubernetes.io/safe-to-evict", &v)))
        return rc;
    if (v)
        p->safe_to_evict = !strcmp(v->value, "true") ? 1 : !strcmp(v->value, "false") ? 0 : -1;
    const struct ynode *lv;
    if ((rc = annotation(b, an, key, "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes",
                         &lv)) ||
        (rc = annotation(b, an, key, "controller.kubernetes.io/pod-deletion-cost", &v)))
        return rc;
    if (v) {
        /* An annotation is a string: "-50" (PodDeletionCost: an int32). */
        char *end;
        errno = 0;
        long long cost = strtoll(v->value, &end, 10);
        if (!v->value[0] || *end || errno || cost < INT32_MIN || cost > INT32_MAX)
            return fail_at(b, v,
                           "'controller.kubernetes.io/pod-deletion-cost' must be an int32 "
                           "in a string, got '%s'",
                           v->value);
        p->deletion_cost = (int32_t)cost;
    }
    /* the vLLM container's resources: the GPU resource it requests (gpushare.h) */
    const struct ynode *res = field(&s, "resources", key, sizeof key);
    if ((rc = gpushare_pod_resources_read(res, key, &p->gpu, b->err)) ||
        (rc = podres_read(res, key, &p->res, b->err)))
        return rc;
    const struct ynode *vols = field(&s, "volumes", key, sizeof key);
    if (!vols || ynode_is_null(vols))
        return SIM_OK;
    if (vols->kind != YNODE_SEQ)
        return fail_at(b, vols, "expected a list of volumes for '%s', found %s", key,
                       ynode_kind_name(vols));
    for (size_t i = 0; i < vols->n; i++) {
        const struct ynode *vol = vols->items[i];
        if (vol->kind != YNODE_MAP)
            return fail_at(b, vol, "expected a volume (a map) in '%s', found %s", key,
                           ynode_kind_name(vol));
        const struct ynode *name = ynode_get(vol, "name");
        if (!name || name->kind != YNODE_SCALAR || ynode_is_null(name))
            return fail_at(b, vol, "a volume in '%s' needs a 'name'", key);
        const struct ynode *ed = ynode_get(vol, "emptyDir");
        const struct ynode *medium = ed && ed->kind == YNODE_MAP ? ynode_get(ed, "medium") : NULL;
        bool local = ynode_get(vol, "hostPath") ||
                     (ed && !(medium && medium->value && !strcmp(medium->value, "Memory")));
        if (local && !(lv && in_csv(lv->value, name->value)))
            p->local_storage = true;
    }
    return SIM_OK;
}

/* fleet.metrics.labels: the Kubernetes labels of the scraped vLLM series. Namespace,
 * container and pod follow Kubernetes' rules for names (DNS-1123 labels: a-z, 0-9, '-',
 * at most 63); a job is any text (a PodMonitor's is "namespace/name"). */
static int bind_metric_labels(struct bind *b, const struct sect *m)
{
    struct fleet_spec *f = &b->sc->fleet;
    struct sect l;
    int rc;
    if ((rc = sect_open(b, m, "labels", metric_label_keys, &l)))
        return rc;
    if (has(&l, "namespace") && has(m, "namespace"))
        return fail_at(b, ynode_key(l.map, "namespace"),
                       "'fleet.metrics.labels.namespace' and 'fleet.metrics.namespace' both set "
                       "the namespace: keep one");
    char *const out[] = {f->namespace_, f->job, f->container, f->pod_prefix};
    for (size_t i = 0; metric_label_keys[i]; i++) {
        char key[256];
        const struct ynode *n = field(&l, metric_label_keys[i], key, sizeof key);
        if (!n)
            continue;
        if ((rc = str_into(b, n, key, false, out[i], 64)))
            return rc;
        bool is_name = strcmp(metric_label_keys[i], "job") != 0; /* job: any text */
        for (const char *p = out[i]; is_name && *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                  (*p == '-' && p != out[i] && p[1])))
                return fail_at(b, n,
                               "'%s' must be a Kubernetes name (lower-case letters, digits and "
                               "'-', not at either end), got '%s'",
                               key, out[i]);
    }
    return SIM_OK;
}

static int bind_fleet(struct bind *b, const struct sect *top)
{
    struct fleet_spec *f = &b->sc->fleet;
    struct sect s, m, a;
    int rc;
    if ((rc = sect_open(b, top, "fleet", fleet_keys, &s)) ||
        (rc = rd_int(b, &s, "replicas", 0, 100000, "replicas", &f->replicas)) ||
        (rc = rd_int(b, &s, "max_gpus", 0, INT_MAX, "GPUs", &f->max_gpus)) ||
        (rc = sect_open(b, &s, "metrics", metrics_keys, &m)) ||
        (rc = rd_dur(b, &m, "scrape_interval", 1000000, &f->scrape_interval_us)) ||
        (rc = rd_str(b, &m, "namespace", false, f->namespace_, sizeof f->namespace_)) ||
        (rc = bind_metric_labels(b, &m)) ||
        (rc = sect_open(b, &s, "autoscaler", autoscaler_keys, &a)) ||
        (rc = bind_kube(b, &a, "scaledObject", &f->scaled_object)) ||
        (rc = bind_kube(b, &a, "horizontalPodAutoscaler", &f->hpa)) ||
        (rc = bind_pod(b, &s, &f->pod)))
        return rc;
    if (f->scaled_object && f->hpa) {
        const struct ynode *k1 = ynode_key(a.map, "scaledObject");
        const struct ynode *k2 = ynode_key(a.map, "horizontalPodAutoscaler");
        const struct ynode *later =
            (k2->line > k1->line || (k2->line == k1->line && k2->col > k1->col)) ? k2 : k1;
        return fail_at(b, later,
                       "'fleet.autoscaler' takes at most one of 'scaledObject' or "
                       "'horizontalPodAutoscaler'");
    }
    bool autoscaled = f->scaled_object || f->hpa;
    const struct ynode *rk = ynode_get(s.map, "replicas");
    if (autoscaled && rk)
        return fail_at(b, rk,
                       "'fleet.replicas' sets a fixed fleet and cannot be combined with "
                       "'fleet.autoscaler' (the autoscaler's minimum sets the start)");
    if (!autoscaled && f->replicas == 0)
        return fail_at(b, rk ? rk : s.at,
                       "'fleet.replicas' is 0 and there is no 'fleet.autoscaler': no replica "
                       "would ever serve");
    int64_t tp = b->sc->engine.tensor_parallel_size;
    int64_t need_gpus = autoscaled ? tp : tp * f->replicas;
    if (f->max_gpus > 0 && need_gpus > f->max_gpus) {
        const struct ynode *mg = ynode_get(s.map, "max_gpus");
        if (autoscaled)
            return fail_at(b, mg,
                           "'fleet.max_gpus' (%d) is less than one replica's "
                           "'engine.tensor_parallel_size' (%" PRId64 " GPUs)",
                           f->max_gpus, tp);
        return fail_at(b, mg,
                       "'fleet.max_gpus' (%d) is less than 'fleet.replicas' x "
                       "'engine.tensor_parallel_size' (%" PRId64 " GPUs)",
                       f->max_gpus, need_gpus);
    }
    return SIM_OK;
}

static int bind_cluster(struct bind *b, const struct ynode *root)
{
    const struct ynode *n = ynode_get(root, "cluster");
    if (!n || ynode_is_null(n))
        return SIM_OK;
    if (n->kind != YNODE_MAP)
        return fail_at(b, n, "expected a map for 'cluster', found %s", ynode_kind_name(n));
    b->sc->cluster.node = n;
    return gpushare_spec_read(n, &b->sc->cluster.sharing, b->err);
}

/* The SLO lines of the map `s` into items[] (*n of them). */
static int bind_slo_items(struct bind *b, const struct sect *s, struct slo_item *items, size_t *n)
{
    int rc;
    for (size_t i = 0; i < s->map->n; i++) {
        const char *k = s->map->keys[i]->value;
        const struct slo_name *sn = NULL;
        for (size_t j = 0; j < N_SLO_NAMES && !sn; j++)
            if (!strcmp(slo_table[j].key, k))
                sn = &slo_table[j];
        SIM_ASSERT(sn && *n < SLO_MAX); /* keys were checked; no duplicates */
        struct slo_item *it = &items[*n];
        char key[320];
        ynode_join_key(key, sizeof key, s->ctx, k);
        if (sn->metric == SLO_ERROR_RATE) {
            if ((rc = ynode_as_frac(s->map->items[i], key, 0.0, 1.0, &it->target, b->err)))
                return rc;
        } else {
            int64_t us = 0;
            if ((rc = ynode_as_duration_us(s->map->items[i], key, 1, INT64_MAX, 0, &us, b->err)))
                return rc;
            it->target = (double)us / 1e6;
        }
        snprintf(it->key, sizeof it->key, "%s", k);
        it->metric = sn->metric;
        it->quantile = sn->quantile;
        (*n)++;
    }
    return SIM_OK;
}

static int bind_slo(struct bind *b, const struct sect *top)
{
    struct sect s;
    int rc = sect_open(b, top, "slo", slo_keys, &s);
    if (rc || !s.map)
        return rc;
    return bind_slo_items(b, &s, b->sc->slo, &b->sc->n_slo);
}

static int bind_record(struct bind *b, const struct sect *top)
{
    struct record_spec *r = &b->sc->record;
    struct sect s;
    int rc, req = (int)r->requests;
    if ((rc = sect_open(b, top, "record", record_keys, &s)) ||
        (rc = rd_enum(b, &s, "requests", rec_requests_names, &req)) ||
        (rc = rd_num(b, &s, "sample_frac", 0.0, true, 1.0, false, NULL, &r->sample_frac)) ||
        (rc = rd_bool(b, &s, "samples", &r->samples)))
        return rc;
    r->requests = (enum rec_requests)req;
    return SIM_OK;
}

/* A deployment's name: a DNS-1123 label (a Deployment's metadata.name and its pods'
 * prefix), at most 63 characters. */
static bool dns_label(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

/*
 * `deployments:` (a list). Each item is bound into its own scenario, which starts as the
 * file's run settings (seed, duration, cluster, cost, record) and takes the item's model,
 * engine, router, fleet, slo and workload with the single-deployment rules. A top-level
 * `workload` is then one trace routed by its model column, and no deployment has its own.
 */
static int bind_deployments(struct bind *b, const struct sect *top, const struct ynode *deps)
{
    struct scenario *sc = b->sc;
    static const char *const per_dep[] = {"model", "engine", "router", "fleet", "slo", NULL};
    for (size_t i = 0; per_dep[i]; i++)
        if (ynode_key(top->map, per_dep[i]))
            return fail_at(b, ynode_key(top->map, per_dep[i]),
                           "'%s' belongs in each deployment when the file has 'deployments'",
                           per_dep[i]);
    if (deps->kind != YNODE_SEQ || deps->n == 0)
        return fail_at(b, deps, "expected a non-empty list for 'deployments', found %s",
                       deps->kind == YNODE_SEQ ? "an empty list" : ynode_kind_name(deps));
    if (deps->n > 64)
        return fail_at(b, deps->items[64], "'deployments' holds at most 64 deployments, got %zu",
                       deps->n);
    int rc;
    const struct ynode *wk = ynode_key(top->map, "workload");
    if (wk) {
        if ((rc = bind_workload(b, top)))
            return rc;
        const struct workload_spec *w = &sc->workload;
        if (w->kind != WL_TRACE || !w->columns.model[0] || w->trace_model[0] ||
            w->clients.concurrency > 0)
            return fail_at(b, wk,
                           "a top-level 'workload' beside 'deployments' is one timed trace "
                           "routed by its model column: give 'workload.trace.columns.model' "
                           "(and no 'workload.trace.model' or 'clients'), or give each "
                           "deployment its own 'workload'");
        sc->shared_trace = true;
    }
    sc->deployments = calloc(deps->n, sizeof *sc->deployments);
    if (!sc->deployments)
        return sim_err_set(b->err, SIM_ENOMEM, "out of memory");
    int64_t scrape_us = -1;
    for (size_t i = 0; i < deps->n; i++) {
        const struct ynode *item = deps->items[i];
        struct scenario *d = &sc->deployments[i];
        scenario_defaults(d);
        sc->n_deployments = i + 1;
        memcpy(d->path, sc->path, sizeof d->path);
        memcpy(d->dir, sc->dir, sizeof d->dir);
        memcpy(d->sha256, sc->sha256, sizeof d->sha256);
        memcpy(d->name, sc->name, sizeof d->name);
        memcpy(d->overrides, sc->overrides, sizeof d->overrides);
        d->seed = sc->seed;
        d->duration_us = sc->duration_us;
        d->drain_timeout_us = sc->drain_timeout_us;
        d->cluster = sc->cluster;
        d->cost = sc->cost;
        d->record = sc->record;
        d->doc = sc->doc; /* borrowed */
        d->root = item;
        struct bind db = {d, b->err};
        struct sect ds;
        if (item->kind != YNODE_MAP)
            return fail_at(b, item, "expected a map for 'deployments.%zu', found %s", i,
                           ynode_kind_name(item));
        if ((rc = item_open(&db, item, "deployments", i, deployment_keys, &ds)) ||
            (rc = need(&db, &ds, "name", NULL)) ||
            (rc = rd_str(&db, &ds, "name", false, d->deployment, sizeof d->deployment)))
            return rc;
        const struct ynode *nk = ynode_get(item, "name");
        if (!dns_label(d->deployment))
            return fail_at(b, nk,
                           "'%s.name' must be a DNS-1123 label (lowercase letters, digits and "
                           "'-', at most 63, starting and ending with a letter or digit), got "
                           "'%s'",
                           ds.ctx, nk->value);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(sc->deployments[j].deployment, d->deployment))
                return fail_at(b, nk, "two deployments are named '%s' (deployments.%zu and %zu)",
                               d->deployment, j, i);
        snprintf(d->fleet.pod_prefix, sizeof d->fleet.pod_prefix, "%s", d->deployment);
        if (sc->shared_trace) { /* what feeds it, for its summary (the run reads it once) */
            d->workload = sc->workload;
            d->workload.steps = NULL;
            d->workload.spikes = NULL;
            d->workload.n_steps = d->workload.n_spikes = 0;
        }
        const struct ynode *dwk = ynode_key(item, "workload");
        if (sc->shared_trace && dwk)
            return fail_at(b, dwk,
                           "'%s.workload': the top-level 'workload' trace feeds every "
                           "deployment (routed by its model column); give one or the other",
                           ds.ctx);
        if (!sc->shared_trace && !dwk)
            return fail_at(b, item,
                           "'%s.workload' is required (or a top-level 'workload' trace with a "
                           "model column for every deployment)",
                           ds.ctx);
        if ((!sc->shared_trace && (rc = bind_workload(&db, &ds))) ||
            (rc = bind_model(&db, &ds)) || (rc = bind_engine(&db, &ds)) ||
            (rc = bind_router(&db, &ds)) || (rc = bind_fleet(&db, &ds)) ||
            (rc = bind_slo(&db, &ds)))
            return rc;
        const struct ynode *fl = ynode_get(item, "fleet");
        const struct ynode *mg = fl ? ynode_get(fl, "max_gpus") : NULL;
        if (mg)
            return fail_at(b, mg,
                           "'%s.fleet.max_gpus' caps one fleet's implicit nodes; deployments "
                           "share the scenario's 'cluster': give it node pools instead",
                           ds.ctx);
        /* One Prometheus scrapes every deployment's pods on one clock. */
        const struct ynode *met = fl ? ynode_get(fl, "metrics") : NULL;
        const struct ynode *si = met ? ynode_get(met, "scrape_interval") : NULL;
        if (scrape_us >= 0 && d->fleet.scrape_interval_us != scrape_us)
            return fail_at(b, si ? si : item,
                           "'%s.fleet.metrics.scrape_interval' differs from deployments.0's: "
                           "one Prometheus scrapes every deployment on one interval "
                           "(different intervals are not modelled)",
                           ds.ctx);
        if (scrape_us < 0)
            scrape_us = d->fleet.scrape_interval_us;
    }
    /* The run's own clock for scrapes and the metric store (sim.c, autoscaler.c). */
    sc->fleet.scrape_interval_us = scrape_us;
    return SIM_OK;
}

static int bind_all(struct bind *b, const struct ynode *root)
{
    struct scenario *sc = b->sc;
    struct sect top = {.map = root, .at = NULL, .ctx = ""};
    struct sect cost;
    int64_t seed = (int64_t)sc->seed;
    int rc;
    if ((rc = ynode_check_keys(root, "", top_keys, b->err)) ||
        (rc = rd_str(b, &top, "name", false, sc->name, sizeof sc->name)) ||
        (rc = rd_i64(b, &top, "seed", 0, INT64_MAX, NULL, &seed)) ||
        (rc = rd_dur(b, &top, "duration", 1, &sc->duration_us)) ||
        (rc = rd_dur(b, &top, "drain_timeout", 0, &sc->drain_timeout_us)))
        return rc;
    sc->seed = (uint64_t)seed;
    if (sc->duration_us > 0 && sc->drain_timeout_us > SIM_CLOCK_MAX_US - sc->duration_us) {
        /* each fits the clock; the drain deadline is their sum */
        const struct ynode *at = ynode_get(root, "drain_timeout");
        return fail_at(b, at ? at : ynode_get(root, "duration"),
                       "'duration' plus 'drain_timeout' must be at most " SIM_CLOCK_MAX_TEXT
                       " (the simulated clock's range), got '%s' + '%s'",
                       ynode_get(root, "duration")->value,
                       at ? at->value : "1h (the default drain_timeout)");
    }
    const struct ynode *deps = ynode_get(root, "deployments");
    if (deps && !ynode_is_null(deps)) {
        if ((rc = bind_cluster(b, root)) || (rc = sect_open(b, &top, "cost", cost_keys, &cost)) ||
            (rc = rd_num(b, &cost, "managed_api_usd_per_mtok", 0.0, false, INFINITY, false,
                         "USD per 1M tokens", &sc->cost.managed_api_usd_per_mtok)) ||
            (rc = bind_record(b, &top)))
            return rc;
        return bind_deployments(b, &top, deps);
    }
    if ((rc = bind_workload(b, &top)) || (rc = bind_model(b, &top)) ||
        (rc = bind_engine(b, &top)) || (rc = bind_router(b, &top)) || (rc = bind_fleet(b, &top)) ||
        (rc = bind_cluster(b, root)) || (rc = sect_open(b, &top, "cost", cost_keys, &cost)) ||
        (rc = rd_num(b, &cost, "managed_api_usd_per_mtok", 0.0, false, INFINITY, false,
                     "USD per 1M tokens", &sc->cost.managed_api_usd_per_mtok)) ||
        (rc = bind_slo(b, &top)) || (rc = bind_record(b, &top)))
        return rc;
    /* `plan:` is the planner's to read and check (plan/plan.h plan_check); the loaded
     * document keeps it (scenario_node(sc, "plan")). */
    return SIM_OK;
}

/* ---- public ------------------------------------------------------------------------- */

void scenario_defaults(struct scenario *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->seed = 1;
    sc->duration_us = -1;
    sc->drain_timeout_us = 3600000000;

    struct workload_spec *w = &sc->workload;
    w->kind = WL_SYNTHETIC;
    w->format = TRACE_AUTO;
    w->time_scale = 1.0;
    w->rate_scale = 1.0;
    w->window_start_us = 0;
    w->window_end_us = -1;
    w->process = ARR_POISSON;
    w->hash_block_tokens = 512; /* the Mooncake traces' block (FAST25-release/README.md) */
    w->diurnal_period_us = 24 * 3600000000LL;
    w->diurnal_peak_at_us = 14 * 3600000000LL;

    snprintf(sc->model.dtype, sizeof sc->model.dtype, "bf16");
    snprintf(sc->model.kv_cache_dtype, sizeof sc->model.kv_cache_dtype, "auto");

    struct engine_spec *e = &sc->engine;
    e->kind = ENGINE_VLLM;
    e->tensor_parallel_size = 1;
    e->enable_chunked_prefill = true;
    e->enable_prefix_caching = true; /* vLLM V1's default (vllm/engine/arg_utils.py) */
    e->block_size = 16;
    e->gpu_memory_utilization = 0.90;
    e->static_batch_size = 8;
    e->latency.kind = LAT_ROOFLINE; /* required in a file; code-built scenarios get this */
    e->startup.image_gib = 12.0;
    e->startup.image_pull_gib_per_s = 0.1;
    snprintf(e->startup.weights_from, sizeof e->startup.weights_from, "s3-streamer");
    e->startup.weights_gib_per_s = 3.51;
    e->startup.engine_init_us = 40000000;
    e->startup.engine_init_cold_us = 240000000;
    e->startup.compile_cache = CACHE_WARM;
    /* Kubernetes: terminationGracePeriodSeconds 30, no preStop hook; vLLM v0.18+:
     * --shutdown-timeout 0 (abort in-flight requests at SIGTERM). */
    e->termination.grace_period_us = 30000000;
    e->termination.pre_stop_us = 0;
    e->termination.shutdown_timeout_us = 0;
    /* Kubernetes probe defaults (core/v1 Probe): initialDelaySeconds 0, periodSeconds 10,
     * failureThreshold 3. */
    e->readiness.initial_delay_us = 0;
    e->readiness.period_us = 10000000;
    e->readiness.failure_threshold = 3;
    e->num_scheduler_steps = 1;

    /* kubernetes-sigs/gateway-api-inference-extension v1.2.0 (52ed3ab): the chart's
     * default scheduling profile (config/charts/inferencepool/templates/epp-config.yaml:
     * queue-scorer 2, kv-cache-utilization-scorer 2, prefix-cache-scorer 3), the EPP's
     * --refresh-metrics-interval, the prefix plugin's defaults
     * (scheduling/framework/plugins/multi/prefix/plugin.go) and the saturation detector's
     * (saturationdetector/config.go: queue depth 5, KV cache 0.8, staleness 200 ms). */
    sc->router.epp = (struct epp_spec){.queue_weight = 2,
                                       .kv_cache_weight = 2,
                                       .prefix_weight = 3,
                                       .refresh_interval_us = 50000,
                                       .lru_capacity_per_server = 31250,
                                       .max_prefix_blocks = 256,
                                       .queue_depth_threshold = 5,
                                       .kv_cache_util_threshold = 0.8,
                                       .metrics_staleness_us = 200000};
    sc->router.load_factor = 1.25;
    sc->router.semantic_cache.latency_us = 10000; /* an embedding plus a vector lookup */
    sc->router.policy = ROUTER_LEAST_OUTSTANDING;
    sc->router.queue_timeout_us = 60000000;
    /* Modelled: the EndpointSlice update reaching the proxy/gateway (kube-proxy's
     * iptables minSyncPeriod is 1 s). */
    sc->router.endpoint_delay_us = 1000000;
    /* The OpenAI Python SDK (openai-python src/openai/_constants.py): DEFAULT_TIMEOUT
     * 600 s, DEFAULT_MAX_RETRIES 2, INITIAL_RETRY_DELAY 0.5 s, MAX_RETRY_DELAY 8 s, jitter
     * 1 - 0.25 * random(); it retries connection errors, timeouts and 5xx. */
    sc->router.retry.attempts = 2;
    sc->router.retry.backoff_us = 500000;
    sc->router.retry.max_backoff_us = 8000000;
    sc->router.retry.jitter = 0.25;
    sc->router.retry.on_aborted = true;
    sc->router.retry.on_5xx = true;
    sc->router.retry.on_timeout = true;
    sc->router.client_timeout_us = 600000000;

    sc->fleet.replicas = 1;
    sc->fleet.pod.safe_to_evict = -1;
    sc->fleet.scrape_interval_us = 15000000;
    snprintf(sc->fleet.namespace_, sizeof sc->fleet.namespace_, "default");
    snprintf(sc->fleet.job, sizeof sc->fleet.job, "vllm");
    snprintf(sc->fleet.container, sizeof sc->fleet.container, "vllm");
    snprintf(sc->fleet.pod_prefix, sizeof sc->fleet.pod_prefix, "vllm");

    sc->record.requests = REC_REQUESTS_FULL;
    sc->record.sample_frac = 0.01;
    sc->record.samples = true;
}

void scenario_release(struct scenario *sc)
{
    for (size_t i = 0; i < sc->n_deployments; i++) {
        sc->deployments[i].doc = NULL; /* borrowed */
        scenario_release(&sc->deployments[i]);
    }
    free(sc->deployments);
    sc->deployments = NULL;
    sc->n_deployments = 0;
    free(sc->workload.steps);
    sc->workload.steps = NULL;
    sc->workload.n_steps = 0;
    free(sc->workload.spikes);
    sc->workload.spikes = NULL;
    sc->workload.n_spikes = 0;
    sc->fleet.scaled_object = NULL;
    sc->fleet.hpa = NULL;
    sc->cluster.node = NULL;
    ydoc_free(sc->doc);
    sc->doc = NULL;
}

void scenario_resolve_path(const struct scenario *sc, const char *rel, char *out, size_t n)
{
    if (rel[0] == '/' || !sc->dir[0] || !strcmp(sc->dir, "."))
        snprintf(out, n, "%s", rel);
    else if (sc->dir[strlen(sc->dir) - 1] == '/')
        snprintf(out, n, "%s%s", sc->dir, rel);
    else
        snprintf(out, n, "%s/%s", sc->dir, rel);
}

const char *slo_metric_name(enum slo_metric m)
{
    switch (m) {
    case SLO_TTFT:
        return "ttft";
    case SLO_TPOT:
        return "tpot";
    case SLO_E2E:
        return "e2e";
    case SLO_ERROR_RATE:
        return "error_rate";
    }
    return "?";
}

/* Folder and default name ("scenarios/chat.yaml" -> "scenarios", "chat"). */
static void split_path(struct scenario *sc)
{
    const char *slash = strrchr(sc->path, '/');
    if (!slash)
        snprintf(sc->dir, sizeof sc->dir, ".");
    else if (slash == sc->path)
        snprintf(sc->dir, sizeof sc->dir, "/");
    else
        snprintf(sc->dir, sizeof sc->dir, "%.*s", (int)(slash - sc->path), sc->path);
    const char *base = slash ? slash + 1 : sc->path;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    if (len >= sizeof sc->name)
        len = sizeof sc->name - 1;
    memcpy(sc->name, base, len);
    sc->name[len] = '\0';
}

int scenario_include(const struct scenario *sc, const struct ynode *file, const char *key,
                     struct ynode **out, struct sim_err *err)
{
    *out = NULL;
    char fkey[300], path[SC_PATH_MAX];
    snprintf(fkey, sizeof fkey, "%s.file", key);
    const char *rel;
    int rc = ynode_as_string(file, fkey, &rel, err);
    if (rc)
        return rc;
    if (!rel[0])
        return sim_err_at(err, SIM_EINVAL, file->file, file->line, file->col,
                          "'%s' must not be empty", fkey);
    bool from_set = !strcmp(file->file, "--set");
    if (strlen(rel) >= sizeof path ||
        (!from_set && rel[0] != '/' && strlen(sc->dir) + 1 + strlen(rel) >= sizeof path))
        return sim_err_at(err, SIM_EINVAL, file->file, file->line, file->col,
                          "'%s' must be at most %zu characters long once resolved against '%s'",
                          fkey, sizeof path - 1, from_set ? "." : sc->dir);
    /* A path from the file is relative to the scenario's folder; one from --set to the
     * current directory, as command-line paths are. */
    if (from_set)
        snprintf(path, sizeof path, "%s", rel);
    else
        scenario_resolve_path(sc, rel, path, sizeof path);
    struct ynode *root = ydoc_include_file(sc->doc, path, err);
    if (!root) {
        /* an unreadable file: point at the `file:` value that named it */
        if (!strcmp(err->where, path))
            snprintf(err->where, sizeof err->where, "%s:%ld:%ld", file->file, file->line,
                     file->col);
        return err->code != SIM_OK ? err->code : SIM_EIO;
    }
    if (root->kind != YNODE_MAP)
        return sim_err_at(err, SIM_EINVAL, root->file, root->line, root->col,
                          "expected a map in '%s' for '%s', found %s", path, key,
                          ynode_kind_name(root));
    *out = root;
    return SIM_OK;
}

/* The places that take `{file: ...}` includes, for --set to reach into. */
static const char *const include_sites[] = {
    "fleet.autoscaler.scaledObject", "fleet.autoscaler.horizontalPodAutoscaler",
    "cluster.karpenter.nodePool",    "cluster.karpenter.nodeClass",
    "cluster.aks.autoscalerProfile", "cluster.aks.priorityExpander",
    "cluster.podDisruptionBudget",   NULL};

static int set_include(void *ctx, const char *at, const struct ynode *file, struct ynode **root,
                       struct sim_err *err)
{
    *root = NULL;
    /* A deployment's own sites: "deployments.N.fleet..." or "deployments.NAME.fleet..." */
    static const char deps[] = "deployments.";
    const char *site = at;
    if (!strncmp(at, deps, sizeof deps - 1) && strchr(at + sizeof deps - 1, '.'))
        site = strchr(at + sizeof deps - 1, '.') + 1;
    for (size_t i = 0; include_sites[i]; i++)
        if (!strcmp(include_sites[i], site) && (site == at || !strncmp(site, "fleet.", 6)))
            return scenario_include(ctx, file, at, root, err);
    /* each AKS node pool: cluster.aks.nodePools.N (az aks nodepool show output) */
    static const char pools[] = "cluster.aks.nodePools.";
    if (!strncmp(at, pools, sizeof pools - 1) && at[sizeof pools - 1] &&
        strspn(at + sizeof pools - 1, "0123456789") == strlen(at + sizeof pools - 1))
        return scenario_include(ctx, file, at, root, err);
    return SIM_OK;
}

static int add_override(struct scenario *sc, const char *set, struct sim_err *err)
{
    size_t used = strlen(sc->overrides);
    size_t need = used + (used ? 1 : 0) + strlen(set);
    if (need >= sizeof sc->overrides)
        return sim_err_at(err, SIM_EINVAL, "--set", 0, 0,
                          "--set overrides are too long to record (more than %zu characters "
                          "in all)",
                          sizeof sc->overrides - 1);
    if (used)
        sc->overrides[used++] = ';';
    memcpy(sc->overrides + used, set, strlen(set) + 1);
    return SIM_OK;
}

int scenario_bind_deployment(struct scenario *sc, const char *file, const struct ynode *map,
                             const char *ctx, struct sim_err *err)
{
    scenario_defaults(sc);
    if (strlen(file) >= sizeof sc->path)
        return sim_err_set(err, SIM_EINVAL, "path is too long (at most %zu characters)",
                           sizeof sc->path - 1);
    memcpy(sc->path, file, strlen(file) + 1);
    split_path(sc);
    struct bind b = {sc, err};
    struct sect top = {.map = map, .at = map, .ctx = ""};
    snprintf(top.ctx, sizeof top.ctx, "%s", ctx ? ctx : "");
    int rc;
    if ((rc = bind_model(&b, &top)) || (rc = bind_engine(&b, &top)))
        return rc;
    return SIM_OK;
}

/* The top-level key an assignment "a.b.c=v" starts with ("a"), in `key`; false when too
 * long to be one. */
static bool set_top_key(const char *set, char *key, size_t cap)
{
    size_t len = strcspn(set, ".=");
    if (len == 0 || len >= cap)
        return false;
    memcpy(key, set, len);
    key[len] = '\0';
    return true;
}

/*
 * A bind error after `set` created a top-level section that each deployment has (the
 * file has `deployments:` and no such top-level key): the user most likely meant one
 * deployment's, so the message ends with the assignment under the first deployment's
 * name and the names there are. Where and code are kept; a message with no room for the
 * hint keeps what fits.
 */
static void hint_deployments(const struct ydoc *doc, const char *set, struct sim_err *err)
{
    const struct ynode *deps = ynode_get(ydoc_root(doc), "deployments");
    if (!deps || deps->kind != YNODE_SEQ || deps->n == 0)
        return;
    char names[256] = "";
    const char *first = NULL;
    size_t used = 0;
    for (size_t i = 0; i < deps->n; i++) {
        const struct ynode *nm =
            deps->items[i]->kind == YNODE_MAP ? ynode_get(deps->items[i], "name") : NULL;
        if (!nm || nm->kind != YNODE_SCALAR || !nm->value[0])
            continue;
        if (!first)
            first = nm->value;
        int w = snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "", nm->value);
        if (w < 0 || (size_t)w >= sizeof names - used) {
            snprintf(names + used, sizeof names - used, ", ...");
            break;
        }
        used += (size_t)w;
    }
    if (!first)
        return;
    size_t len = strlen(err->msg);
    snprintf(err->msg + len, sizeof err->msg - len,
             "; did you mean --set deployments.%s.%s (deployments: %s)?", first, set, names);
}

int scenario_load(struct scenario *sc, const char *path, const char *const *sets, size_t n_sets,
                  struct sim_err *err)
{
    struct sim_err local;
    if (!err)
        err = &local;
    sim_err_clear(err);
    scenario_defaults(sc);
    if (strlen(path) >= sizeof sc->path)
        return sim_err_set(err, SIM_EINVAL, "scenario path is too long (at most %zu characters)",
                           sizeof sc->path - 1);
    memcpy(sc->path, path, strlen(path) + 1);
    split_path(sc);

    char *text;
    size_t len;
    int rc = ynode_read_file(path, &text, &len, err);
    if (rc)
        return rc;
    sha256_hex(text, len, sc->sha256);
    sc->doc = ydoc_load_string(path, text, len, err);
    free(text);
    if (!sc->doc)
        return err->code ? err->code : SIM_EINVAL;

    /* the first --set that created a top-level section each deployment has (a hint) */
    const char *per_dep_set = NULL;
    for (size_t i = 0; i < n_sets; i++) {
        char top[32];
        bool per_dep = false;
        if (!per_dep_set && set_top_key(sets[i], top, sizeof top) && strcmp(top, "name") &&
            !ynode_get(ydoc_root(sc->doc), top))
            for (size_t k = 0; deployment_keys[k] && !per_dep; k++)
                per_dep = !strcmp(deployment_keys[k], top);
        if ((rc = ydoc_set_with(sc->doc, sets[i], set_include, sc, err)) ||
            (rc = add_override(sc, sets[i], err)))
            goto fail;
        if (per_dep)
            per_dep_set = sets[i];
    }
    struct bind b = {sc, err};
    if ((rc = bind_all(&b, ydoc_root(sc->doc)))) {
        if (per_dep_set && rc == SIM_EINVAL)
            hint_deployments(sc->doc, per_dep_set, err);
        goto fail;
    }
    return SIM_OK;
fail:
    scenario_release(sc);
    return rc;
}

const struct ynode *scenario_node(const struct scenario *sc, const char *path)
{
    if (!sc->doc)
        return NULL;
    const struct ynode *n = sc->root ? sc->root : ydoc_root(sc->doc);
    char seg[128];
    const char *p = path;
    while (n && *p) {
        size_t len = strcspn(p, ".");
        if (len >= sizeof seg)
            return NULL;
        memcpy(seg, p, len);
        seg[len] = '\0';
        n = ynode_get(n, seg);
        p += len;
        if (*p == '.')
            p++;
    }
    return n;
}

int scenario_locate(const struct scenario *sc, const char *path, struct sim_err *err)
{
    if (!err || err->where[0])
        return err ? err->code : SIM_OK;
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s", path);
    for (;;) {
        const struct ynode *n = scenario_node(sc, prefix);
        if (n && n->file) {
            char buf[sizeof err->where];
            int len = snprintf(buf, sizeof buf, ":%ld:%ld", n->line, n->col);
            size_t fl = strlen(n->file), room = sizeof err->where - 1 - (size_t)len;
            if (fl > room)
                fl = room;
            memcpy(err->where, n->file, fl);
            memcpy(err->where + fl, buf, (size_t)len + 1);
            return err->code;
        }
        char *dot = strrchr(prefix, '.');
        if (!dot)
            break;
        *dot = '\0';
    }
    size_t n = strlen(sc->path);
    if (n >= sizeof err->where)
        n = sizeof err->where - 1;
    memcpy(err->where, sc->path, n);
    err->where[n] = '\0';
    return err->code;
}
