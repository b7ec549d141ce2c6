/* latency.c: the constant, linear, roofline and table step-time models and the factory. */
#include "models/latency.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/calibration.h"
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

static int check_coef(const char *key, double v, double max, struct sim_err *err)
{
    if (!(v >= 0.0 && v <= max))
        return mu_err_set(err, SIM_EINVAL, "'%s' must be in [0, %.15g], got '%g'", key, max,
                           v);
    return SIM_OK;
}

struct lat_model *lat_constant_new(double prefill_per_token_us, double decode_iteration_ms,
                                   struct sim_err *err)
{
    if (check_coef("engine.latency.constant.prefill_per_token_us", prefill_per_token_us,
                   LAT_PER_ITEM_US_MAX, err) ||
        check_coef("engine.latency.constant.decode_iteration_ms", decode_iteration_ms,
                   LAT_STEP_MS_MAX, err))
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
    if (check_coef("engine.latency.linear.fixed_ms", fixed_ms, LAT_STEP_MS_MAX, err) ||
        check_coef("engine.latency.linear.per_prefill_token_us", per_prefill_token_us,
                   LAT_PER_ITEM_US_MAX, err) ||
        check_coef("engine.latency.linear.per_decode_seq_us", per_decode_seq_us,
                   LAT_PER_ITEM_US_MAX, err) ||
        check_coef("engine.latency.linear.per_context_token_ns", per_context_token_ns,
                   LAT_PER_CONTEXT_NS_MAX, err))
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

/* ---- vLLM versions and the step model around the GPU work ------------------------ */

int lat_vllm_version_parse(const char *s, int *major, int *minor)
{
    if (!s)
        return SIM_EINVAL;
    if (*s == 'v' || *s == 'V')
        s++;
    char *end;
    long ma = strtol(s, &end, 10);
    if (end == s || *end != '.' || ma < 0 || ma > 99)
        return SIM_EINVAL;
    const char *m = end + 1;
    long mi = strtol(m, &end, 10);
    if (end == m || mi < 0 || mi > 999)
        return SIM_EINVAL;
    if (*end == '.') { /* patch level: digits, then an optional local tag (0.6.3.post1) */
        const char *pt = end + 1;
        (void)strtol(pt, &end, 10);
        if (end == pt)
            return SIM_EINVAL;
    }
    if (*end && *end != '.' && *end != '+' && *end != '-')
        return SIM_EINVAL;
    *major = (int)ma;
    *minor = (int)mi;
    return SIM_OK;
}

static bool version_at_least(const struct lat_exec_terms *t, int major, int minor)
{
    return t->major > major || (t->major == major && t->minor >= minor);
}

void lat_exec_resolve(const struct lat_exec *x, struct lat_exec_terms *out)
{
    memset(out, 0, sizeof *out);
    out->major = LAT_VLLM_CURRENT_MAJOR;
    out->minor = LAT_VLLM_CURRENT_MINOR;
    if (x && (x->vllm_major || x->vllm_minor)) {
        out->major = x->vllm_major;
        out->minor = x->vllm_minor;
    }
    int32_t seqs = x && x->max_num_seqs > 0 ? x->max_num_seqs : 256;
    /* V1 is the default engine from vLLM 0.8 (VLLM_USE_V1=1 by default) */
    out->v1 = version_at_least(out, 0, 8);
    /* async scheduling on by default (vllm PR #27614, release 0.12) */
    out->async_sched = version_at_least(out, 0, 12);
    out->graphs = !(x && x->enforce_eager);
    out->graph_mixed = out->v1;
    if (!out->graphs)
        return;
    int32_t max;
    if (out->v1) {
        /* vllm/config/vllm.py: max_graph_size = min(max_num_seqs * 2, 512); sizes
         * [1, 2, 4] + range(8, 256, 8) + range(256, max_graph_size + 1, 16) */
        max = seqs * 2 < 512 ? seqs * 2 : 512;
    } else {
        /* vLLM 0.6 worker/model_runner.py: _BATCH_SIZES_TO_CAPTURE = [1, 2, 4] +
         * [8 * i for i in range(1, 33)], captured up to the padded min(max_num_seqs, 256) */
        max = seqs < 256 ? seqs : 256;
    }
    int32_t n = 0;
    for (int32_t v = 1; v <= 4 && n < LAT_MAX_CAPTURE; v *= 2)
        out->sizes[n++] = v;
    for (int32_t v = 8; v < 256 && n < LAT_MAX_CAPTURE; v += 8)
        out->sizes[n++] = v;
    if (out->v1) {
        for (int32_t v = 256; v <= max && n < LAT_MAX_CAPTURE; v += 16)
            out->sizes[n++] = v;
    } else if (n < LAT_MAX_CAPTURE) {
        out->sizes[n++] = 256;
    }
    /* keep the sizes up to the first one >= max (vLLM pads max up to a captured size) */
    int32_t keep = n;
    for (int32_t i = 0; i < n; i++)
        if (out->sizes[i] >= max) {
            keep = i + 1;
            break;
        }
    out->n_sizes = keep;
}

bool lat_exec_graphed(const struct lat_exec_terms *t, int64_t tokens, bool decode_only,
                      int64_t *padded)
{
    *padded = tokens;
    if (!t->graphs || t->n_sizes == 0 || (!decode_only && !t->graph_mixed) ||
        tokens > t->sizes[t->n_sizes - 1])
        return false;
    int32_t lo = 0, hi = t->n_sizes - 1; /* first size >= tokens */
    while (lo < hi) {
        int32_t mid = (lo + hi) / 2;
        if (t->sizes[mid] >= tokens)
            hi = mid;
        else
            lo = mid + 1;
    }
    *padded = t->sizes[lo];
    return true;
}

/* What every catalog-backed model adds to its GPU operator time. */
struct step_terms {
    struct lat_exec_terms x;
    double layers;
    double launch_us, host_us, host_seq_us;
};

/* Padding of the batch's tokens to a capture size (0 when eager), and whether eager. */
static double step_pad(const struct step_terms *st, const struct lat_batch *b, bool *eager)
{
    int64_t T = b->prefill_tokens + b->n_decode, padded;
    *eager = !lat_exec_graphed(&st->x, T, b->n_prefill == 0, &padded);
    return (double)(padded - T);
}

/* The iteration: GPU work (operators, plus launches when eager), then the host's work
 * for the step, or both overlapped under async scheduling. */
static double step_assemble(const struct step_terms *st, const struct lat_batch *b,
                            double gpu_ops_us, bool eager)
{
    /* launches are asynchronous: an eager step takes the longer of the GPU's work and the
     * CPU's launching of it (launch-bound only when the kernels are short) */
    double launch = eager ? st->layers * st->launch_us : 0.0;
    double gpu = gpu_ops_us > launch ? gpu_ops_us : launch;
    double host = st->host_us + st->host_seq_us * (double)(b->n_prefill + b->n_decode);
    if (st->x.async_sched)
        return gpu > host ? gpu : host;
    return gpu + host;
}

static void step_terms_init(struct step_terms *st, const struct lat_context *ctx,
                            const struct roof_params *p, double layers)
{
    lat_exec_resolve(ctx ? &ctx->exec : NULL, &st->x);
    st->layers = layers;
    st->launch_us = p->launch_us;
    st->host_us = p->host_us;
    st->host_seq_us = p->host_seq_us;
}

/* A one-line summary of the version terms for provenance strings. */
static void exec_note(const struct step_terms *st, char *out, size_t n)
{
    snprintf(out, n, "vLLM %d.%d %s%s, %s", st->x.major, st->x.minor, st->x.v1 ? "V1" : "V0",
             st->x.async_sched ? " async scheduling" : "",
             st->x.graphs ? "CUDA graphs" : "eager");
}

/* The step model's parameters for ctx: the calibration's for ctx->gpu when one is given,
 * else the committed fit for the GPU's architecture. */
static int step_params(const struct lat_context *ctx, const struct cat_gpu *g,
                       struct roof_params *p, char *note, size_t n, struct sim_err *err)
{
    if (ctx && ctx->params) {
        if (roof_params_check(ctx->params, err))
            return SIM_EINVAL;
        *p = *ctx->params;
        snprintf(note, n, "parameters under calibration");
        return SIM_OK;
    }
    if (ctx && ctx->calibration && ctx->calibration[0])
        return cal_params_for(ctx->calibration, g ? g->id : (ctx->gpu ? ctx->gpu : ""), p,
                              note, n, err);
    roof_params_fitted(g, p);
    snprintf(note, n, "%s", roof_params_fit_note());
    return SIM_OK;
}

/* ---- roofline --------------------------------------------------------------------- */

struct lat_roof {
    struct lat_model base;
    struct roofline r;
    struct step_terms st;
};

static double roof_step_us(const struct lat_model *m, const struct lat_batch *b)
{
    const struct lat_roof *l = (const struct lat_roof *)m;
    if (b->prefill_tokens + b->n_decode <= 0)
        return 0.0;
    bool eager;
    double pad = step_pad(&l->st, b, &eager);
    struct roof_work w = {(double)b->n_prefill,        (double)b->prefill_tokens,
                          (double)b->prefill_kv_tokens, (double)b->prefill_qk_pairs,
                          (double)b->n_decode,          (double)b->decode_kv_tokens,
                          pad};
    return step_assemble(&l->st, b, roofline_iter_us(&l->r, &w), eager);
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
        !(*g = ctx->gpu_entry ? ctx->gpu_entry : catalog_gpu(ctx->catalog, ctx->gpu, err)))
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
    struct roof_params p;
    char note[700], xnote[96];
    if (resolve(ctx, &m, &g, &d, &kv_bytes, err) ||
        step_params(ctx, g, &p, note, sizeof note, err))
        return NULL;
    struct lat_roof *l = calloc(1, sizeof *l);
    if (!l) {
        mu_err_set(err, SIM_ENOMEM, "out of memory");
        return NULL;
    }
    if (roofline_init(&l->r, m, g, d, kv_bytes, ctx->tensor_parallel_size, &p, err)) {
        free(l);
        return NULL;
    }
    step_terms_init(&l->st, ctx, &p, m->num_layers);
    exec_note(&l->st, xnote, sizeof xnote);
    l->base.ops = &roof_ops;
    l->base.kind = LAT_ROOFLINE;
    l->base.frontend_us = p.frontend_us;
    l->base.frontend_req_us = p.frontend_req_us;
    snprintf(l->base.provenance, sizeof l->base.provenance,
             "%s: roofline v%d (%s %s kv %dB tp%d on %s; %s; %.400s)%s",
             ctx->calibration && ctx->calibration[0] ? "calibrated" : "modelled", ROOF_VERSION,
             m->id, mem_dtype_name(d), kv_bytes, ctx->tensor_parallel_size, g->id, xnote, note,
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
/* Any batch of up to this many tokens (and sequences) has its per-layer GEMMs and
 * lm_head memoised: prefill and mixed steps repeat token counts too. */
#define TABLE_TOK_MEMO_MAX 16384

struct lat_table {
    struct lat_model base;
    struct lat_tab t;
    double layers;
    bool roof_ar; /* TP > 1 and no allreduce grid: the roofline's */
    struct roofline ar;
    double *memo; /* memo[n]: the terms of a decode-only batch of n, NaN until computed */
    double *layer_memo; /* layer_memo[T]: table_layer_gemms at T tokens, NaN until computed */
    double *head_memo;  /* head_memo[S]: lm_head at S sequences, NaN until computed */
    struct step_terms st;
    double layer_us; /* GPU time per layer outside the tabled operators */
};

/* The memo slot for an integral x in [0, TABLE_TOK_MEMO_MAX] (every batch's token and
 * sequence counts are), or NULL. */
static double *tok_slot(double *memo, double x)
{
    if (!memo || !(x >= 0.0 && x <= TABLE_TOK_MEMO_MAX) || x != floor(x))
        return NULL;
    return &memo[(size_t)x];
}

/* Per layer GEMMs and all-reduce at T tokens. */
static double table_layer_gemms(const struct lat_table *l, double T)
{
    const struct lat_tab *t = &l->t;
    double *slot = tok_slot(l->layer_memo, T);
    if (slot && !isnan(*slot))
        return *slot;
    double layer = lat_grid1_eval(&t->gemm[TAB_QKV], T) + lat_grid1_eval(&t->gemm[TAB_O], T) +
                   lat_grid1_eval(&t->gemm[TAB_GATE_UP], T) +
                   lat_grid1_eval(&t->gemm[TAB_DOWN], T);
    if (t->tp > 1)
        layer += 2.0 * (l->roof_ar ? roofline_allreduce_us(&l->ar, T)
                                   : lat_grid1_eval(&t->allreduce, T));
    if (slot)
        *slot = layer;
    return layer;
}

/* lm_head at S sampled sequences. */
static double table_lm_head(const struct lat_table *l, double S)
{
    double *slot = tok_slot(l->head_memo, S);
    if (slot && !isnan(*slot))
        return *slot;
    double v = lat_grid1_eval(&l->t.gemm[TAB_LM_HEAD], S);
    if (slot)
        *slot = v;
    return v;
}

/* Everything of a step that depends only on the token count T and the sampling count S
 * (not on the attention): per layer GEMMs and all-reduce, lm_head and overhead. */
static double table_token_terms(const struct lat_table *l, double T, double S)
{
    return l->layers * (table_layer_gemms(l, T) + l->layer_us) + table_lm_head(l, S) +
           l->t.overhead_us;
}

static double table_step_us(const struct lat_model *m, const struct lat_batch *b)
{
    const struct lat_table *l = (const struct lat_table *)m;
    const struct lat_tab *t = &l->t;
    double T = (double)(b->prefill_tokens + b->n_decode);
    double S = (double)b->n_prefill + (double)b->n_decode;
    if (T <= 0.0)
        return 0.0;
    bool eager;
    T += step_pad(&l->st, b, &eager);
    if (b->n_prefill == 0 && b->n_decode <= TABLE_MEMO_MAX && l->memo) {
        double *memo = &l->memo[b->n_decode];
        if (isnan(*memo))
            *memo = table_token_terms(l, T, S);
        double nb = (double)b->n_decode;
        return step_assemble(&l->st, b,
                             *memo + l->layers * lat_grid2_eval(&t->decode, nb,
                                                                (double)b->decode_kv_tokens / nb),
                             eager);
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
    return step_assemble(&l->st, b, l->layers * layer + table_token_terms(l, T, S), eager);
}

static void table_free(struct lat_model *m)
{
    struct lat_table *l = (struct lat_table *)m;
    lat_tab_release(&l->t);
    free(l->memo);
    free(l->layer_memo);
    free(l->head_memo);
    free(l);
}

static const struct lat_model_ops table_ops = {table_step_us, table_free};

/* table_step_us over a decode run: the batch's token terms, padding and attention cell
 * for its size found once, the attention row walked as the context grows. */
static void table_decode_steps(const struct lat_table *l, int32_t n, int64_t kv0, int32_t k,
                               double *out)
{
    struct lat_batch b = {0};
    b.n_decode = n;
    b.decode_kv_tokens = kv0 + n;
    double T = (double)(b.prefill_tokens + b.n_decode);
    double S = (double)b.n_prefill + (double)b.n_decode;
    if (T <= 0.0) {
        for (int32_t i = 0; i < k; i++)
            out[i] = 0.0;
        return;
    }
    bool eager;
    T += step_pad(&l->st, &b, &eager);
    double tok;
    if (b.n_decode <= TABLE_MEMO_MAX && l->memo) {
        double *memo = &l->memo[b.n_decode];
        if (isnan(*memo))
            *memo = table_token_terms(l, T, S);
        tok = *memo;
    } else {
        tok = table_token_terms(l, T, S);
    }
    double nb = (double)n;
    struct lat_grid2_row row;
    lat_grid2_row_init(&row, &l->t.decode, nb);
    for (int32_t i = 1; i <= k; i++) {
        /* b's other fields, all step_assemble reads, are the same at every iteration */
        double attn = lat_grid2_row_eval(&row, (double)(kv0 + (int64_t)n * i) / nb);
        out[i - 1] = step_assemble(&l->st, &b, tok + l->layers * attn, eager);
    }
}

void lat_decode_steps_us(const struct lat_model *m, int32_t n, int64_t kv0, int32_t k,
                         double *out)
{
    if (m->ops == &table_ops) {
        table_decode_steps((const struct lat_table *)m, n, kv0, k, out);
        return;
    }
    for (int32_t i = 1; i <= k; i++) {
        struct lat_batch b = {0};
        b.n_decode = n;
        b.decode_kv_tokens = kv0 + (int64_t)n * i;
        out[i - 1] = lat_step_us(m, &b);
    }
}

/* The table must describe what the scenario runs. */
static int table_matches(const struct lat_tab *t, const char *path,
                         const struct lat_context *ctx, struct sim_err *err)
{
    int kv_ctx = 2, kv_tab = 2;
    /* another model name is accepted when the catalog gives both the same shape (below):
     * llama-3.1-70b runs on a llama-3-70b table */
    if (ctx->model && mu_strcasecmp(t->model, ctx->model) && !ctx->catalog)
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
    if (ctx->block_size > 0 && t->block_size != ctx->block_size)
        return mu_err_at(err, SIM_EINVAL, path, 0, 0,
                         "table was measured with block_size %d, the engine uses %d "
                         "('engine.block_size'): attention times depend on it; use a table "
                         "for block_size %d or set engine.block_size: %d",
                         t->block_size, ctx->block_size, ctx->block_size, t->block_size);
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
                return mu_strcasecmp(t->model, ctx->model)
                           ? mu_err_at(err, SIM_EINVAL, path, 0, 0,
                                       "table is for model '%s', the scenario runs '%s' (a "
                                       "different shape: model.%s %d, not %d)",
                                       t->model, ctx->model, names[i], got[i], want[i])
                           : mu_err_at(err, SIM_EINVAL, path, 0, 0,
                                       "table's model.%s is %d, catalog model '%s' has %d",
                                       names[i], got[i], m->id, want[i]);
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
    l->layer_memo = malloc((TABLE_TOK_MEMO_MAX + 1) * sizeof *l->layer_memo);
    l->head_memo = malloc((TABLE_TOK_MEMO_MAX + 1) * sizeof *l->head_memo);
    for (size_t i = 0; i <= TABLE_TOK_MEMO_MAX; i++) {
        if (l->layer_memo)
            l->layer_memo[i] = NAN;
        if (l->head_memo)
            l->head_memo[i] = NAN;
    }
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
    /* the step model's terms: a calibration's when given, else the table's own, else
     * the committed fit for the GPU (the catalog's architecture) */
    struct roof_params p;
    char cal_note[700] = "";
    const struct cat_gpu *g = NULL;
    if (ctx && ctx->catalog && ctx->gpu) {
        struct sim_err e2 = {0};
        g = ctx->gpu_entry ? ctx->gpu_entry : catalog_gpu(ctx->catalog, ctx->gpu, &e2);
    }
    bool cal = ctx && ((ctx->calibration && ctx->calibration[0]) || ctx->params);
    if (cal) {
        if (step_params(ctx, g, &p, cal_note, sizeof cal_note, err))
            goto fail;
    } else {
        roof_params_fitted(g, &p);
        if (!g) /* no catalog: only what the table says */
            p.layer_us = p.launch_us = p.host_us = p.host_seq_us = p.frontend_us =
                p.frontend_req_us = 0.0;
        if (t->has_layer_us)
            p.layer_us = t->layer_us;
        if (t->has_launch_us)
            p.launch_us = t->launch_us;
        if (t->has_host_us)
            p.host_us = t->host_us;
        if (t->has_host_seq_us)
            p.host_seq_us = t->host_seq_us;
        if (t->has_frontend_us)
            p.frontend_us = t->frontend_us;
    }
    l->layer_us = p.layer_us;
    step_terms_init(&l->st, ctx, &p, t->layers);
    l->base.frontend_us = p.frontend_us;
    l->base.frontend_req_us = p.frontend_req_us;
    l->base.ops = &table_ops;
    l->base.kind = LAT_TABLE;
    char xnote[96];
    exec_note(&l->st, xnote, sizeof xnote);
    char extra[1024];
    snprintf(extra, sizeof extra, "; %.96s%s%.700s", xnote, cal ? "; host terms " : "",
             cal_note);
    const char *ar_note = l->roof_ar ? "; all-reduce from the roofline" : "";
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    switch (t->prov) {
    case LAT_PROV_MEASURED:
        snprintf(l->base.provenance, sizeof l->base.provenance,
                 "measured: %.60s, driver %.20s, CUDA %.12s, %.10s, %.40s (%.80s)%s%.300s",
                 t->prov_gpu, t->prov_driver, t->prov_cuda, t->prov_date, t->prov_tool, base,
                 ar_note, extra);
        break;
    case LAT_PROV_PUBLISHED:
        snprintf(l->base.provenance, sizeof l->base.provenance,
                 "published: %.160s (%.80s)%s%.300s", t->prov_source, base, ar_note, extra);
        break;
    case LAT_PROV_ROOFLINE:
        snprintf(l->base.provenance, sizeof l->base.provenance,
                 "modelled: roofline table %.80s (%.300s)%s%.300s", base, t->prov_note, ar_note,
                 extra);
        break;
    }
    return &l->base;
fail:
    lat_tab_release(&l->t);
    free(l->memo);
    free(l->layer_memo);
    free(l->head_memo);
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

static bool same_shape(const struct cat_model *a, const struct cat_model *b)
{
    return a->num_layers == b->num_layers && a->hidden_size == b->hidden_size &&
           a->num_heads == b->num_heads && a->num_kv_heads == b->num_kv_heads &&
           a->head_dim == b->head_dim && a->intermediate_size == b->intermediate_size &&
           a->vocab_size == b->vocab_size && a->num_experts == b->num_experts &&
           a->experts_top_k == b->experts_top_k && a->qkv_bias == b->qkv_bias;
}

static bool readable(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    fclose(f);
    return true;
}

int lat_table_find(char *out, size_t n, const char *dir, const struct lat_context *ctx)
{
    if (lat_table_default_path(out, n, dir, ctx))
        return SIM_EINVAL;
    if (readable(out))
        return SIM_OK;
    const struct cat_model *m = NULL;
    if (ctx->catalog && ctx->model) {
        struct sim_err e2 = {0};
        m = catalog_model(ctx->catalog, ctx->model, &e2);
    }
    char path[LAT_PATH_MAX];
    for (size_t i = 0; m && i < catalog_n_models(ctx->catalog); i++) {
        const struct cat_model *o = catalog_model_at(ctx->catalog, i);
        if (o == m || !same_shape(o, m))
            continue;
        struct lat_context c2 = *ctx;
        c2.model = o->id;
        if (lat_table_default_path(path, sizeof path, dir, &c2) == SIM_OK && readable(path) &&
            strlen(path) < n) {
            memcpy(out, path, strlen(path) + 1);
            return SIM_OK;
        }
    }
    lat_table_default_path(out, n, dir, ctx);
    return SIM_ENOENT;
}

struct lat_model *lat_model_from_spec(const struct lat_spec *spec,
                                      const struct lat_context *ctx, struct sim_err *err)
{
    switch (spec->kind) {
    case LAT_CONSTANT:
        return lat_constant_new(spec->prefill_per_token_us, spec->decode_iteration_ms, err);
    case LAT_LINEAR: {
        struct lat_model *m = lat_linear_new(spec->fixed_ms, spec->per_prefill_token_us,
                                             spec->per_decode_seq_us, spec->per_context_token_ns,
                                             err);
        if (m && (check_coef("engine.latency.linear.frontend_ms", spec->frontend_ms,
                                  LAT_STEP_MS_MAX, err) ||
                  check_coef("engine.latency.linear.frontend_request_ms",
                             spec->frontend_request_ms, LAT_STEP_MS_MAX, err))) {
            lat_model_free(m);
            return NULL;
        }
        if (m) {
            m->frontend_us = spec->frontend_ms * 1000.0;
            m->frontend_req_us = spec->frontend_request_ms * 1000.0;
        }
        return m;
    }
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
    int rc = lat_table_find(path, sizeof path, lat_tables_dir(), ctx);
    if (rc == SIM_EINVAL) {
        mu_err_set(err, SIM_EINVAL, "latency table path is too long");
        return NULL;
    }
    if (rc) {
        mu_err_set(err, SIM_ENOENT,
                   "no latency table for '%s' %s tp%d on '%s' (nor for a model of the same "
                   "shape): looked for '%s'; measure one with llmcap-kbench, give "
                   "'engine.latency.table', or use 'engine.latency.model: roofline'",
                   ctx->model ? ctx->model : "", ctx->dtype ? ctx->dtype : "",
                   ctx->tensor_parallel_size, ctx->gpu ? ctx->gpu : "", path);
        return NULL;
    }
    return lat_table_new(path, ctx, err);
}
