/* memory.c: weight, activation and KV-cache sizing as vLLM does it (see memory.h). */
#include "models/memory.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "models/mutil.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

static const char *const dtype_names[] = {"bf16", "fp16", "fp8", "int8", "int4-awq",
                                          "int4-gptq"};

int mem_dtype_parse(const char *name, enum mem_dtype *out)
{
    for (int i = 0; i < (int)(sizeof dtype_names / sizeof dtype_names[0]); i++)
        if (name && !strcmp(name, dtype_names[i])) {
            *out = (enum mem_dtype)i;
            return SIM_OK;
        }
    return SIM_EINVAL;
}

const char *mem_dtype_name(enum mem_dtype d)
{
    return (unsigned)d < sizeof dtype_names / sizeof dtype_names[0] ? dtype_names[d] : "?";
}

double mem_linear_bytes_per_param(enum mem_dtype d)
{
    switch (d) {
    case MEM_BF16:
    case MEM_FP16:
        return 2.0;
    case MEM_FP8:
    case MEM_INT8:
        return 1.0;
    case MEM_INT4_AWQ:
    case MEM_INT4_GPTQ:
        /* 4-bit weights + per group of 128: a 16-bit scale and a 4-bit zero point */
        return 0.5 + (2.0 + 0.5) / 128.0;
    }
    return 2.0;
}

int mem_kv_dtype_bytes(const char *kv, int *bytes)
{
    if (!kv || !strcmp(kv, "auto") || !strcmp(kv, "bf16") || !strcmp(kv, "fp16")) {
        *bytes = 2;
        return SIM_OK;
    }
    if (!strcmp(kv, "fp8") || !strcmp(kv, "fp8_e4m3") || !strcmp(kv, "fp8_e5m2")) {
        *bytes = 1;
        return SIM_OK;
    }
    return SIM_EINVAL;
}

int mem_check_tp(const struct cat_model *m, int tp, struct sim_err *err)
{
    if (tp < 1 || tp > 64)
        return mu_err_set(err, SIM_EINVAL,
                          "'tensor_parallel_size' must be in [1, 64] (GPUs), got '%d'", tp);
    if (m->num_heads % tp)
        return mu_err_set(err, SIM_EINVAL,
                          "'tensor_parallel_size' must divide the %d attention heads of '%s', "
                          "got '%d'",
                          m->num_heads, m->id, tp);
    if (m->num_kv_heads % tp && tp % m->num_kv_heads)
        return mu_err_set(err, SIM_EINVAL,
                          "'tensor_parallel_size' must divide or be a multiple of the %d KV "
                          "heads of '%s', got '%d'",
                          m->num_kv_heads, m->id, tp);
    return SIM_OK;
}

void mem_shard_shape(const struct cat_model *m, int tp, struct mem_shard *s)
{
    double h = m->hidden_size, d = m->head_dim, I = m->intermediate_size;
    s->tp = tp;
    s->q_heads = m->num_heads / tp;
    s->kv_heads = m->num_kv_heads >= tp ? m->num_kv_heads / tp : 1;
    double q = s->q_heads * d, kv = s->kv_heads * d;
    s->attn_linear = h * q + 2.0 * h * kv + q * h;
    s->expert_linear = 3.0 * h * I / tp;
    s->mlp_linear = s->expert_linear * (m->num_experts ? m->num_experts : 1);
    s->layer_16bit = 2.0 * h + (m->qkv_bias ? q + 2.0 * kv : 0.0) +
                     (m->num_experts ? h * m->num_experts : 0.0);
    s->embed = (double)m->vocab_size * h / tp;
    s->lm_head = m->tie_word_embeddings ? 0.0 : s->embed;
    s->final_norm = h;
}

double mem_weight_bytes_per_gpu(const struct cat_model *m, enum mem_dtype d, int tp)
{
    struct mem_shard s;
    mem_shard_shape(m, tp, &s);
    double lin = mem_linear_bytes_per_param(d);
    return m->num_layers * ((s.attn_linear + s.mlp_linear) * lin + s.layer_16bit * 2.0) +
           (s.embed + s.lm_head + s.final_norm) * 2.0;
}

double mem_weight_bytes_total(const struct cat_model *m, enum mem_dtype d)
{
    return mem_weight_bytes_per_gpu(m, d, 1);
}

double mem_kv_bytes_per_token(const struct cat_model *m, int tp, int kv_bytes)
{
    int kvh = m->num_kv_heads >= tp ? m->num_kv_heads / tp : 1;
    return 2.0 * m->num_layers * kvh * m->head_dim * kv_bytes;
}

void mem_default_limits(const struct cat_gpu *g, int *max_num_seqs, int *max_num_batched_tokens)
{
    bool a100 = !strncmp(g->id, "a100", 4);
    if (g->memory_bytes >= 70.0 * GIB && !a100) {
        *max_num_seqs = 1024;
        *max_num_batched_tokens = 8192;
    } else {
        *max_num_seqs = 256;
        *max_num_batched_tokens = 2048;
    }
}

/*
 * Activation peak of profile_run: a forward pass over T = max_num_batched_tokens tokens
 * and a sampler pass over R = min(max_num_seqs, T) sequences. The forward peak is the
 * live 16-bit activations of the widest stage of one layer: residual + normed input
 * (2h per token) plus either the attention stage (q, k, v and the attention output) or
 * the MLP stage (gate/up output 2I/tp and the activated I/tp, times top_k plus the
 * expert outputs for MoE). The sampler keeps the T x h hidden states and R x vocab
 * logits with MEM_SAMPLER_BYTES_PER_LOGIT bytes each.
 */
static double activation_peak(const struct cat_model *m, const struct mem_shard *s, int T, int R)
{
    double h = m->hidden_size, d = m->head_dim, I = m->intermediate_size;
    double attn = 2.0 * h + (s->q_heads + 2.0 * s->kv_heads) * d + s->q_heads * d;
    double mlp;
    if (m->num_experts)
        mlp = 2.0 * h + m->experts_top_k * (3.0 * I / s->tp + h);
    else
        mlp = 2.0 * h + 3.0 * I / s->tp;
    double fwd = (double)T * 2.0 * (attn > mlp ? attn : mlp);
    double sampler =
        (double)T * h * 2.0 + (double)R * m->vocab_size * MEM_SAMPLER_BYTES_PER_LOGIT;
    return fwd > sampler ? fwd : sampler;
}

enum fit { FIT_OK, FIT_WEIGHTS, FIT_NO_KV, FIT_MODEL_LEN };

/* The computation without messages; cfg's limits must already be resolved. */
static enum fit plan_core(struct mem_plan *p, const struct mem_config *cfg, int kv_bytes)
{
    const struct cat_model *m = cfg->model;
    int tp = cfg->tensor_parallel_size;
    struct mem_shard s;
    mem_shard_shape(m, tp, &s);
    p->max_num_seqs = cfg->max_num_seqs;
    p->max_num_batched_tokens = cfg->max_num_batched_tokens;
    p->max_model_len = cfg->max_model_len;
    p->kv_bytes = kv_bytes;
    p->gpu_bytes = cfg->gpu->memory_bytes;
    p->budget_bytes = p->gpu_bytes * cfg->gpu_memory_utilization;
    p->weight_bytes = mem_weight_bytes_per_gpu(m, cfg->dtype, tp);
    p->weight_bytes_total = mem_weight_bytes_total(m, cfg->dtype);
    int R = cfg->max_num_seqs < cfg->max_num_batched_tokens ? cfg->max_num_seqs
                                                           : cfg->max_num_batched_tokens;
    p->activation_peak_bytes = activation_peak(m, &s, cfg->max_num_batched_tokens, R);
    p->cudagraph_bytes = MEM_CUDAGRAPH_RESERVE_BYTES;
    p->non_torch_bytes = tp > 1 ? MEM_NON_TORCH_TPN_BYTES : MEM_NON_TORCH_TP1_BYTES;
    p->kv_cache_bytes = p->budget_bytes - p->weight_bytes - p->activation_peak_bytes -
                        p->cudagraph_bytes - p->non_torch_bytes;
    p->kv_bytes_per_token = mem_kv_bytes_per_token(m, tp, kv_bytes);
    p->num_gpu_blocks = 0;
    p->kv_capacity_tokens = 0;
    if (p->weight_bytes >= p->budget_bytes)
        return FIT_WEIGHTS;
    if (p->kv_cache_bytes <= 0.0)
        return FIT_NO_KV;
    p->num_gpu_blocks =
        (int64_t)floor(p->kv_cache_bytes / (cfg->block_size * p->kv_bytes_per_token));
    p->kv_capacity_tokens = p->num_gpu_blocks * cfg->block_size;
    if (p->num_gpu_blocks <= 0)
        return FIT_NO_KV;
    if (p->kv_capacity_tokens < p->max_model_len)
        return FIT_MODEL_LEN;
    return FIT_OK;
}

/* ", or dtype 'fp8' or 'int4-awq'"-style alternatives that would fit. */
static void suggestions(char *buf, size_t n, const struct mem_config *cfg, int kv_bytes)
{
    size_t used = 0;
    buf[0] = '\0';
    struct mem_plan q;
    static const int tps[] = {2, 4, 8};
    for (size_t i = 0; i < sizeof tps / sizeof tps[0]; i++) {
        struct mem_config alt = *cfg;
        if (tps[i] <= cfg->tensor_parallel_size || mem_check_tp(cfg->model, tps[i], NULL))
            continue;
        alt.tensor_parallel_size = tps[i];
        if (plan_core(&q, &alt, kv_bytes) == FIT_OK) {
            int w = snprintf(buf, n, "tensor_parallel_size >= %d", tps[i]);
            used = w > 0 ? (size_t)w : 0;
            break;
        }
    }
    enum mem_dtype cands[2];
    size_t nc = 0;
    if ((cfg->dtype == MEM_BF16 || cfg->dtype == MEM_FP16) && cfg->gpu->fp8_supported)
        cands[nc++] = MEM_FP8;
    if (cfg->dtype != MEM_INT4_AWQ && cfg->dtype != MEM_INT4_GPTQ)
        cands[nc++] = MEM_INT4_AWQ;
    const char *fit_names[2];
    size_t nf = 0;
    for (size_t i = 0; i < nc; i++) {
        struct mem_config alt = *cfg;
        alt.dtype = cands[i];
        if (plan_core(&q, &alt, kv_bytes) == FIT_OK)
            fit_names[nf++] = mem_dtype_name(cands[i]);
    }
    if (nf && used < n) {
        int w = snprintf(buf + used, n - used, "%sdtype '%s'%s%s%s", used ? ", or " : "",
                         fit_names[0], nf > 1 ? " or '" : "", nf > 1 ? fit_names[1] : "",
                         nf > 1 ? "'" : "");
        (void)w; /* the last part: nothing is appended after it */
    }
}

int mem_plan_compute(struct mem_plan *p, const struct mem_config *cfg0, struct sim_err *err)
{
    struct mem_config cfg = *cfg0;
    const struct cat_model *m = cfg.model;
    const struct cat_gpu *g = cfg.gpu;
    memset(p, 0, sizeof *p);
    if (!(cfg.gpu_memory_utilization > 0.0 && cfg.gpu_memory_utilization <= 1.0))
        return mu_err_set(err, SIM_EINVAL,
                          "'gpu_memory_utilization' must be in (0, 1] (fraction), got '%g'",
                          cfg.gpu_memory_utilization);
    if (cfg.block_size < 1 || cfg.block_size > 1024)
        return mu_err_set(err, SIM_EINVAL, "'block_size' must be in [1, 1024] (tokens), got '%d'",
                          cfg.block_size);
    int rc = mem_check_tp(m, cfg.tensor_parallel_size, err);
    if (rc)
        return rc;
    int kv_bytes;
    if (mem_kv_dtype_bytes(cfg.kv_cache_dtype, &kv_bytes))
        return mu_err_set(err, SIM_EINVAL,
                          "'kv_cache_dtype' must be 'auto', 'bf16', 'fp16', 'fp8', 'fp8_e4m3' "
                          "or 'fp8_e5m2', got '%s'",
                          cfg.kv_cache_dtype);
    if (isnan(g->memory_bytes) || g->memory_bytes <= 0.0)
        return mu_err_set(err, SIM_EINVAL, "gpu '%s' has no memory size in the catalog", g->id);
    int def_seqs, def_tokens;
    mem_default_limits(g, &def_seqs, &def_tokens);
    if (cfg.max_num_seqs == 0)
        cfg.max_num_seqs = def_seqs;
    if (cfg.max_num_batched_tokens == 0)
        cfg.max_num_batched_tokens = def_tokens;
    if (cfg.max_num_seqs < 1)
        return mu_err_set(err, SIM_EINVAL, "'max_num_seqs' must be >= 1 (sequences), got '%d'",
                          cfg.max_num_seqs);
    if (cfg.max_num_batched_tokens < 1)
        return mu_err_set(err, SIM_EINVAL,
                          "'max_num_batched_tokens' must be >= 1 (tokens), got '%d'",
                          cfg.max_num_batched_tokens);
    if (cfg.max_model_len == 0) {
        if (m->max_position_embeddings <= 0)
            return mu_err_set(err, SIM_EINVAL,
                              "model '%s' has no max_position_embeddings in the catalog: set "
                              "'max_model_len' (tokens)",
                              m->id);
        cfg.max_model_len = m->max_position_embeddings;
    } else if (cfg.max_model_len < 1 ||
               (m->max_position_embeddings > 0 &&
                cfg.max_model_len > m->max_position_embeddings)) {
        return mu_err_set(err, SIM_EINVAL,
                          "'max_model_len' must be in [1, %lld] (tokens, the max positions of "
                          "'%s'), got '%lld'",
                          (long long)m->max_position_embeddings, m->id,
                          (long long)cfg.max_model_len);
    }

    enum fit f = plan_core(p, &cfg, kv_bytes);
    if (f == FIT_OK)
        return SIM_OK;

    char sugg[160];
    suggestions(sugg, sizeof sugg, &cfg, kv_bytes);
    int tp = cfg.tensor_parallel_size;
    char what[96];
    if (tp > 1)
        snprintf(what, sizeof what, "of weights per GPU at tensor_parallel_size %d", tp);
    else
        snprintf(what, sizeof what, "of weights");
    char fix[200];
    switch (f) {
    case FIT_WEIGHTS:
        if (sugg[0])
            snprintf(fix, sizeof fix, "use %s", sugg);
        else
            snprintf(fix, sizeof fix,
                     "no tensor_parallel_size up to 8 or 4-bit dtype fits on this gpu");
        return mu_err_set(err, SIM_EINVAL,
                          "'%s' in %s needs %.1f GiB %s; one %s gives vLLM %.1f GiB at "
                          "gpu_memory_utilization %.2f: %s",
                          m->id, mem_dtype_name(cfg.dtype), p->weight_bytes / GIB, what, g->id,
                          p->budget_bytes / GIB, cfg.gpu_memory_utilization, fix);
    case FIT_NO_KV:
        snprintf(fix, sizeof fix, "use %s%sa smaller max_num_batched_tokens", sugg,
                 sugg[0] ? ", or " : "");
        return mu_err_set(err, SIM_EINVAL,
                          "no memory is left for the KV cache of '%s' in %s on %s: weights "
                          "%.1f GiB + activations %.1f GiB + CUDA graphs and other %.1f GiB "
                          "exceed the %.1f GiB vLLM may use at gpu_memory_utilization %.2f: %s",
                          m->id, mem_dtype_name(cfg.dtype), g->id, p->weight_bytes / GIB,
                          p->activation_peak_bytes / GIB,
                          (p->cudagraph_bytes + p->non_torch_bytes) / GIB, p->budget_bytes / GIB,
                          cfg.gpu_memory_utilization, fix);
    case FIT_MODEL_LEN:
        snprintf(fix, sizeof fix, "set max_model_len <= %lld%s%s",
                 (long long)p->kv_capacity_tokens, sugg[0] ? ", or use " : "", sugg);
        return mu_err_set(err, SIM_EINVAL,
                          "max_model_len %lld of '%s' does not fit: only %lld tokens of KV "
                          "cache (%.2f GiB) fit on each %s at gpu_memory_utilization %.2f: %s",
                          (long long)cfg.max_model_len, m->id,
                          (long long)p->kv_capacity_tokens, p->kv_cache_bytes / GIB, g->id,
                          cfg.gpu_memory_utilization, fix);
    case FIT_OK:
        break;
    }
    return SIM_OK;
}
