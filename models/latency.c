/* latency.c: the constant, linear, roofline and table step-time models and the factory. */
#include "models/latency.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/catalog.h"
#include "models/memory.h"
#include "models/mutil.h"
#include "models/roofline.h"
#include "models/table_int.h"

#ifndef LLMCAP_TABLES_DIR
#define LLMCAP_TABLES_DIR "models/tables"
#endif

struct lat_constant {
    struct lat_model base;
    double prefill_per_token_us;
    double decode_iteration_us;
};

struct lat_linear {
    struct lat_model base;
    double fixed_us;
    double per_prefill_token_us;
    double per_decode_seq_us;
    double per_context_token_us;
};

static double constant_step_us(const struct lat_model *m, const struct lat_batch *b)
{
    const struct lat_constant *c = (const struct lat_constant *)m;
    return (double)b->prefill_tokens * c->prefill_per_token_us +
           (b->n_decode > 0 ? c->decode_iteration_us : 0.0);
}

static double linear_step_us(const struct lat_model *m, const struct lat_batch *b)
{
    const struct lat_linear *l = (const struct lat_linear *)m;
    return l->fixed_us + l->per_prefill_token_us * (double)b->prefill_tokens +
           l->per_decode_seq_us * (double)b->n_decode +
           l->per_context_token_us * (double)(b->prefill_kv_tokens + b->decode_kv_tokens);
}

static void plain_free(struct lat_model *m)
{
    free(m);
}

static const struct lat_model_ops constant_ops = {constant_step_us, plain_free};
static const struct lat_model_ops linear_ops = {linear_step_us, plain_free};

void lat_model_free(struct lat_model *m)
{
    if (m)
        m->ops->free(m);
}

static int check_coef(const char *key, double v, struct sim_err *err)
{
    if (!isfinite(v) || v < 0.0)
        return mu_err_set(err, SIM_EINVAL, "'%s' must be a finite number >= 0, got '%g'",
                           key, v);
    return SIM_OK;
}

struct lat_model *lat_constant_new(double prefill_per_token_us, double decode_iteration_ms,
                                   struct sim_err *err)
{
    if (check_coef("engine.latency.constant.prefill_per_token_us", prefill_per_token_us,
                   err) ||
        check_coef("engine.latency.constant.decode_iteration_ms", decode_iteration_ms, err))
        return NULL;
    struct lat_constant *c = calloc(1, sizeof *c);
    if (!c) {
        mu_err_set(err, SIM_ENOMEM, "out of memory");
        return NULL;
    }
    c->base.ops = &constant_ops;
    c->base.kind = LAT_CONSTANT;
    snprintf(c->base.provenance, sizeof c->base.provenance,
             "modelled: constant (scenario: %.17g us per prefill token, %.17g ms per "
             "decode iteration)",
             prefill_per_token_us, decode_iteration_ms);
    c->prefill_per_token_us = prefill_per_token_us;
    c->decode_iteration_us = decode_iteration_ms * 1000.0;
    return &c->base;
}

struct lat_model *lat_linear_new(double fixed_ms, double per_prefill_token_us,
                                 double per_decode_seq_us, double per_context_token_ns,
                                 struct sim_err *err)
{
    if (check_coef("engine.latency.linear.fixed_ms", fixed_ms, err) ||
        check_coef("engine.latency.linear.per_prefill_token_us", per_prefill_token_us,
                   err) ||
        check_coef("engine.latency.linear.per_decode_seq_us", per_decode_seq_us, err) ||
        check_coef("engine.latency.linear.per_context_token_ns", per_context_token_ns, err))
        return NULL;
    struct lat_linear *l = calloc(1, sizeof *l);
    if (!l) {
        mu_err_set(err, SIM_ENOMEM, "out of memory");
        return NULL;
    }
    l->base.ops = &linear_ops;
    l->base.kind = LAT_LINEAR;
    snprintf(l->base.provenance, sizeof l->base.provenance,
             "modelled: linear (scenario: fixed %.17g ms, %.17g us/prefill token, "
             "%.17g us/decode seq, %.17g ns/context token)",
             fixed_ms, per_prefill_token_us, per_decode_seq_us, per_context_token_ns);
    l->fixed_us = fixed_ms * 1000.0;
    l->per_prefill_token_us = per_prefill_token_us;
    l->per_decode_seq_us = per_decode_seq_us;
    l->per_context_token_us = per_context_token_ns / 1000.0;
    return &l->base;
}

const char *lat_kind_name(enum lat_kind k)
{
    switch (k) {
    case LAT_CONSTANT:
        return "constant";
    case LAT_LINEAR:
        return "linear";
    case LAT_ROOFLINE:
        return "roofline";
    case LAT_TABLE:
        return "table";
    }
    return "?";
}

/* ---- roofline --------------------------------------------------------------------- */

struct lat_roof {
    struct lat_model base;
    struct roofline r;
};

static double roof_step_us(const struct lat_model *m, const struct lat_batch *b)
{
    const struct lat_roof *l = (const struct lat_roof *)m;
    struct roof_work w = {(double)b->n_prefill,        (double)b->prefill_tokens,
                          (double)b->prefill_kv_tokens, (double)b->prefill_qk_pairs,
                          (double)b->n_decode,          (double)b->decode_kv_tokens};
    return roofline_iter_us(&l->r, &w);
}

static const struct lat_model_ops roof_ops = {roof_step_us, plain_free};

/* Resolve ctx's names in its catalog. */
static int resolve(const struct lat_context *ctx, const struct cat_model **m,
                   const struct cat_gpu **g, enum mem_dtype *d, int *kv_bytes,
                   struct sim_err *err)
{
    if (!ctx || !ctx->catalog)
        return mu_err_set(err, SIM_EINVAL, "the roofline needs the model and GPU catalogs");
    if (!(*m = catalog_model(ctx->catalog, ctx->model, err)) ||
        !(*g = catalog_gpu(ctx->catalog, ctx->gpu, err)))
        return err ? err->code : SIM_EINVAL;
    if (mem_dtype_parse(ctx->dtype, d))
        return mu_err_set(err, SIM_EINVAL,
                          "'model.dtype' must be 'bf16', 'fp16', 'fp8', 'int8', 'int4-awq' or "
                          "'int4-gptq', got '%s'",
                          ctx->dtype ? ctx->dtype : "");
    if (mem_kv_dtype_bytes(ctx->kv_dtype, kv_bytes))
        return mu_err_set(err, SIM_EINVAL,
                          "'model.kv_cache_dtype' must be 'auto', 'bf16', 'fp16', 'fp8', "
                          "'fp8_e4m3' or 'fp8_e5m2', got '%s'",
                          ctx->kv_dtype);
    return SIM_OK;
}

struct lat_model *lat_roofline_new(const struct lat_context *ctx, struct sim_err *err)
{
    const struct cat_model *m = NULL;
    const struct cat_gpu *g = NULL;
    enum mem_dtype d = MEM_BF16;
    int kv_bytes = 2;
    if (resolve(ctx, &m, &g, &d, &kv_bytes, err))
        return NULL;
    struct lat_roof *l = calloc(1, sizeof *l);
    if (!l) {
        mu_err_set(err, SIM_ENOMEM, "out of memory");
        return NULL;
    }
    if (roofline_init(&l->r, m, g, d, kv_bytes, ctx->tensor_parallel_size, NULL, err)) {
        free(l);
        return NULL;
    }
    l->base.ops = &roof_ops;
    l->base.kind = LAT_ROOFLINE;
    snprintf(l->base.provenance, sizeof l->base.provenance,
             "modelled: roofline v%d (%s %s kv %dB tp%d on %s; %s)%s", ROOF_VERSION, m->id,
             mem_dtype_name(d), kv_bytes, ctx->tensor_parallel_size, g->id,
             roof_params_fit_note(),
             l->r.link_assumed && ctx->tensor_parallel_size > 1
                 ? "; all-reduce over an assumed PCIe 4.0 x16 link"
                 : "");
    return &l->base;
}

/* ---- table ------------------------------------------------------------------------ */

/* Decode-only batches of up to this many sequences have their token-count terms (GEMMs,
 * lm_head, all-reduce, overhead) memoised: a simulation evaluates millions of decode
 * iterations whose batch size repeats. */
#define TABLE_MEMO_MAX 4096

struct lat_table {
    struct lat_model base;
    struct lat_tab t;
    double layers;
    bool roof_ar; /* TP > 1 and no allreduce grid: the roofline's */
    struct roofline ar;
    double *memo; /* memo[n]: the terms of a decode-only batch of n, NaN until computed */
};

/* Everything of a step that depends only on the token count T and the sampling count S
 * (not on the attention): per layer GEMMs and all-reduce, lm_head and overhead. */
static double table_token_terms(const struct lat_table *l, double T, double S)
{
    const struct lat_tab *t = &l->t;
    double layer = lat_grid1_eval(&t->gemm[TAB_QKV], T) + lat_grid1_eval(&t->gemm[TAB_O], T) +
                   lat_grid1_eval(&t->gemm[TAB_GATE_UP], T) +
                   lat_grid1_eval(&t->gemm[TAB_DOWN], T);
    if (t->tp > 1)
        layer += 2.0 * (l->roof_ar ? roofline_allreduce_us(&l->ar, T)
                                   : lat_grid1_eval(&t->allreduce, T));
    return l->layers * layer + lat_grid1_eval(&t->gemm[TAB_LM_HEAD], S) + t->overhead_us;
}

static double table_step_us(const struct lat_model *m, const struct lat_batch *b)
{
    const struct lat_table *l = (const struct lat_table *)m;
    const struct lat_tab *t = &l->t;
    double T = (double)(b->prefill_tokens + b->n_decode);
    double S = (double)b->n_prefill + (double)b->n_decode;
    if (T <= 0.0)
        return 0.0;
    if (b->n_prefill == 0 && b->n_decode <= TABLE_MEMO_MAX && l->memo) {
        double *memo = &l->memo[b->n_decode];
        if (isnan(*memo))
            *memo = table_token_terms(l, T, S);
        double nb = (double)b->n_decode;
        return *memo + l->layers * lat_grid2_eval(&t->decode, nb,
                                                  (double)b->decode_kv_tokens / nb);
    }
    double layer = 0.0;
    if (b->n_decode > 0) {
        double nb = (double)b->n_decode;
        layer += lat_grid2_eval(&t->decode, nb, (double)b->decode_kv_tokens / nb);
    }
    if (b->n_prefill > 0) {
        /* the mean chunk, scaled to the batch's causal pairs (exact for equal chunks) */
        double np = (double)b->n_prefill;
        double len = (double)b->prefill_tokens / np;
        double start = (double)b->prefill_kv_tokens / np - len;
        if (start < 0.0)
            start = 0.0;
        double pairs = len * start + len * (len + 1.0) / 2.0;
        double scale = pairs > 0.0 ? (double)b->prefill_qk_pairs / (np * pairs) : 1.0;
        layer += np * scale * lat_grid2_eval(&t->prefill, len, start);
    }
    return l->layers * layer + table_token_terms(l, T, S);
}

static void table_free(struct lat_model *m)
{
    struct lat_table *l = (struct lat_table *)m;
    lat_tab_release(&l->t);
    free(l->memo);
    free(l);
}

static const struct lat_model_ops table_ops = {table_step_us, table_free};

/* The table must describe what the scenario runs. */
static int table_matches(const struct lat_tab *t, const char *path,
                         const struct lat_context *ctx, struct sim_err *err)
{
    int kv_ctx = 2, kv_tab = 2;
    if (ctx->model && mu_strcasecmp(t->model, ctx->model))
        return mu_err_at(err, SIM_EINVAL, path, 0, 0,
                         "table is for model '%s', the scenario runs '%s'", t->model,
                         ctx->model);
    if (ctx->dtype && mu_strcasecmp(t->dtype, ctx->dtype))
        return mu_err_at(err, SIM_EINVAL, path, 0, 0,
                         "table is for dtype '%s', the scenario uses '%s'", t->dtype, ctx->dtype);
    if (t->tp != ctx->tensor_parallel_size)
        return mu_err_at(err, SIM_EINVAL, path, 0, 0,
                         "table is for tensor_parallel_size %d, the scenario uses %d", t->tp,
                         ctx->tensor_parallel_size);
    if (mem_kv_dtype_bytes(t->kv_dtype, &kv_tab) ||
        (ctx->kv_dtype && mem_kv_dtype_bytes(ctx->kv_dtype, &kv_ctx)) || kv_tab != kv_ctx)
        return mu_err_at(err, SIM_EINVAL, path, 0, 0,
                         "table is for kv_cache_dtype '%s', the scenario uses '%s'", t->kv_dtype,
                         ctx->kv_dtype ? ctx->kv_dtype : "auto");
    if (t->prov_gpu_catalog[0] && ctx->gpu && mu_strcasecmp(t->prov_gpu_catalog, ctx->gpu))
        return mu_err_at(err, SIM_EINVAL, path, 0, 0,
                         "table was taken on gpu '%s', the scenario uses '%s'",
                         t->prov_gpu_catalog, ctx->gpu);
    if (ctx->catalog && ctx->model) {
        const struct cat_model *m = catalog_model(ctx->catalog, ctx->model, err);
        if (!m)
            return err ? err->code : SIM_ENOENT;
        const int want[] = {m->num_layers, m->hidden_size, m->num_heads, m->num_kv_heads,
                            m->head_dim, m->intermediate_size, m->vocab_size};
        const int got[] = {t->layers, t->hidden, t->heads, t->kv_heads, t->head_dim,
                           t->intermediate, t->vocab};
        const char *names[] = {"num_layers", "hidden_size", "num_heads", "num_kv_heads",
                               "head_dim", "intermediate_size", "vocab_size"};
        for (int i = 0; i < 7; i++)
            if (want[i] != got[i])
                return mu_err_at(err, SIM_EINVAL, path, 0, 0,
                                 "table's model.%s is %d, catalog model '%s' has %d", names[i],
                                 got[i], m->id, want[i]);
    }
    return SIM_OK;
}

struct lat_model *lat_table_new(const char *path, const struct lat_context *ctx,
                                struct sim_err *err)
{
    struct lat_table *l = calloc(1, sizeof *l);
    if (!l) {
        mu_err_set(err, SIM_ENOMEM, "out of memory");
        return NULL;
    }
    if (lat_tab_load(&l->t, path, err)) {
        free(l);
        return NULL;
    }
    l->memo = malloc((TABLE_MEMO_MAX + 1) * sizeof *l->memo);
    if (l->memo)
        for (size_t i = 0; i <= TABLE_MEMO_MAX; i++)
            l->memo[i] = NAN; /* filled on first use; without it, no memo */
    struct lat_tab *t = &l->t;
    if (ctx && table_matches(t, path, ctx, err))
        goto fail;
    l->layers = t->layers;
    if (t->tp > 1 && !t->has_allreduce) {
        const struct cat_model *m = NULL;
        const struct cat_gpu *g = NULL;
        enum mem_dtype d = MEM_BF16;
        int kv_bytes = 2;
        if (resolve(ctx, &m, &g, &d, &kv_bytes, err) ||
            roofline_init(&l->ar, m, g, d, kv_bytes, t->tp, NULL, err))
            goto fail;
        l->roof_ar = true;
    }
    l->base.ops = &table_ops;
    l->base.kind = LAT_TABLE;
    const char *ar_note = l->roof_ar ? "; all-reduce from the roofline" : "";
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    switch (t->prov) {
    case LAT_PROV_MEASURED:
        snprintf(l->base.provenance, sizeof l->base.provenance,
                 "measured: %.60s, driver %.20s, CUDA %.12s, %.10s, %.40s (%.80s)%s", t->prov_gpu,
                 t->prov_driver, t->prov_cuda, t->prov_date, t->prov_tool, base, ar_note);
        break;
    case LAT_PROV_PUBLISHED:
        snprintf(l->base.provenance, sizeof l->base.provenance, "published: %.160s (%.80s)%s",
                 t->prov_source, base, ar_note);
        break;
    case LAT_PROV_ROOFLINE:
        snprintf(l->base.provenance, sizeof l->base.provenance,
                 "modelled: roofline table %.80s (%.400s)%s", base, t->prov_note, ar_note);
        break;
    }
    return &l->base;
fail:
    lat_tab_release(&l->t);
    free(l->memo);
    free(l);
    return NULL;
}

const char *lat_tables_dir(void)
{
    const char *env = getenv("LLMCAP_TABLES_DIR");
    return (env && env[0]) ? env : LLMCAP_TABLES_DIR;
}

int lat_table_default_path(char *out, size_t n, const char *dir, const struct lat_context *ctx)
{
    char gpu[CAT_ID_MAX], model[CAT_ID_MAX], dtype[32], tp[16] = "";
    mu_lower_copy(gpu, ctx->gpu ? ctx->gpu : "", sizeof gpu);
    mu_lower_copy(model, ctx->model ? ctx->model : "", sizeof model);
    mu_lower_copy(dtype, ctx->dtype ? ctx->dtype : "", sizeof dtype);
    if (ctx->tensor_parallel_size > 1)
        snprintf(tp, sizeof tp, ".tp%d", ctx->tensor_parallel_size);
    int w = snprintf(out, n, "%s/%s.%s.%s%s.json", dir, gpu, model, dtype, tp);
    return (w < 0 || (size_t)w >= n) ? SIM_EINVAL : SIM_OK;
}

struct lat_model *lat_model_from_spec(const struct lat_spec *spec,
                                      const struct lat_context *ctx, struct sim_err *err)
{
    switch (spec->kind) {
    case LAT_CONSTANT:
        return lat_constant_new(spec->prefill_per_token_us, spec->decode_iteration_ms, err);
    case LAT_LINEAR:
        return lat_linear_new(spec->fixed_ms, spec->per_prefill_token_us,
                              spec->per_decode_seq_us, spec->per_context_token_ns, err);
    case LAT_ROOFLINE:
        return lat_roofline_new(ctx, err);
    case LAT_TABLE:
        break;
    }
    if (spec->table_path[0])
        return lat_table_new(spec->table_path, ctx, err);
    if (!ctx) {
        mu_err_set(err, SIM_EINVAL, "a latency table lookup needs the model and the GPU");
        return NULL;
    }
    char path[LAT_PATH_MAX];
    if (lat_table_default_path(path, sizeof path, lat_tables_dir(), ctx)) {
        mu_err_set(err, SIM_EINVAL, "latency table path is too long");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        mu_err_set(err, SIM_ENOENT,
                   "no latency table for '%s' %s tp%d on '%s': looked for '%s'; measure one "
                   "with llmcap-kbench, give 'engine.latency.table', or use "
                   "'engine.latency.model: roofline'",
                   ctx->model ? ctx->model : "", ctx->dtype ? ctx->dtype : "",
                   ctx->tensor_parallel_size, ctx->gpu ? ctx->gpu : "", path);
        return NULL;
    }
    fclose(f);
    return lat_table_new(path, ctx, err);
}
