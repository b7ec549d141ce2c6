/* roofline.c: per-operator roofline step times from the catalogs (see roofline.h). */
#include "models/roofline.h"

#include <math.h>
#include <string.h>

#include "models/mutil.h"

/*
 * The committed parameters, one set per GPU architecture the fit saw. Produced by
 * `llmcap calibrate scenarios/calibrate-example.yaml -o models/calibrations/lambda-vllm-0.6.json`
 * on the published vLLM 0.6 runs in models/calibration-data/ (SOURCES.md), with the
 * version-specific terms (multi-step scheduling) those runs had; the same parameters then
 * drive any vLLM version the scenario names (docs/latency-models.md). Parameters the fit
 * leaves free are marked; the others are fixed priors.
 */
static const struct {
    const char *arch;
    struct roof_params p;
} roof_fitted[] = {
#include "models/roof_fitted.inc"
};

#define N_FITTED (sizeof roof_fitted / sizeof roof_fitted[0])

const char *const roof_param_names[ROOF_N_PARAMS] = {
    "gemm_mfu",   "mem_eff",  "attn_mem_eff", "attn_mfu",  "layer_us",          "launch_us",
    "host_us",    "host_seq_us", "frontend_us", "allreduce_latency_us", "link_eff",
    "gemm_mfu_q", "gemm_half_gflop", "gemm_half_gflop_q", "frontend_req_us"};

bool roof_param_is_frac(int i)
{
    return i < 4 || i == 10 || i == 11;
}

bool roof_param_optional(int i)
{
    return i >= 11 && i < ROOF_N_PARAMS;
}

void roof_params_fill_optional(struct roof_params *p, const bool *present)
{
    /* without a size curve and a serial front end: what the first step model did */
    if (!present[11])
        p->gemm_mfu_q = p->gemm_mfu;
    if (!present[12])
        p->gemm_half_gflop = 0.0;
    if (!present[13])
        p->gemm_half_gflop_q = 0.0;
    if (!present[14])
        p->frontend_req_us = 0.0;
}

double *roof_param_ref(struct roof_params *p, int i)
{
    double *f[ROOF_N_PARAMS] = {&p->gemm_mfu,    &p->mem_eff,     &p->attn_mem_eff,
                                &p->attn_mfu,    &p->layer_us,    &p->launch_us,
                                &p->host_us,     &p->host_seq_us, &p->frontend_us,
                                &p->allreduce_latency_us, &p->link_eff,
                                &p->gemm_mfu_q,  &p->gemm_half_gflop, &p->gemm_half_gflop_q,
                                &p->frontend_req_us};
    return (i >= 0 && i < ROOF_N_PARAMS) ? f[i] : NULL;
}

static const char roof_note[] = ROOF_FIT_NOTE;

void roof_params_fitted(const struct cat_gpu *g, struct roof_params *out)
{
    for (size_t i = 0; g && i < N_FITTED; i++)
        if (!strcmp(g->arch, roof_fitted[i].arch)) {
            *out = roof_fitted[i].p;
            return;
        }
    /* an architecture the fit did not see: the mean of the fitted sets */
    memset(out, 0, sizeof *out);
    const size_t n_fitted = N_FITTED;
    const double w = 1.0 / (double)n_fitted;
    for (size_t i = 0; i < n_fitted; i++) {
        struct roof_params q = roof_fitted[i].p;
        for (int k = 0; k < ROOF_N_PARAMS; k++)
            *roof_param_ref(out, k) += w * *roof_param_ref(&q, k);
    }
}

const char *roof_params_fit_note(void)
{
    return roof_note;
}

static int need(double x, const char *field, const struct cat_gpu *g, struct sim_err *err)
{
    if (isfinite(x) && x > 0.0)
        return SIM_OK;
    return mu_err_set(err, SIM_EINVAL,
                      "the roofline needs '%s' of gpu '%s' (no published figure): calibrate "
                      "this GPU: a latency table measured on it (kernels/run_on_gpu.sh), or "
                      "'%s' in a user catalog fitted with llmcap calibrate (docs/catalog.md)",
                      field, g->id, field);
}

int roof_params_check(const struct roof_params *p, struct sim_err *err)
{
    struct roof_params q = *p;
    for (int i = 0; i < ROOF_N_PARAMS; i++) {
        double v = *roof_param_ref(&q, i);
        bool frac = roof_param_is_frac(i);
        if (frac && !(v > 0.0 && v <= 1.0))
            return mu_err_set(err, SIM_EINVAL,
                              "roofline '%s' must be in (0, 1] (fraction), got '%g'",
                              roof_param_names[i], v);
        if (!frac && !(v >= 0.0 && isfinite(v)))
            return mu_err_set(err, SIM_EINVAL, "roofline '%s' must be >= 0 (us), got '%g'",
                              roof_param_names[i], v);
    }
    return SIM_OK;
}

int roofline_init(struct roofline *r, const struct cat_model *m, const struct cat_gpu *g,
                  enum mem_dtype dtype, int kv_bytes, int tp, const struct roof_params *p,
                  struct sim_err *err)
{
    struct roof_params fitted;
    if (!p) {
        roof_params_fitted(g, &fitted);
        p = &fitted;
    }
    memset(r, 0, sizeof *r);
    int rc = roof_params_check(p, err);
    if (rc == SIM_OK)
        rc = mem_check_tp(m, tp, err);
    if (rc == SIM_OK)
        rc = need(g->bandwidth_gb_per_s, "bandwidth_gb_per_s", g, err);
    if (rc)
        return rc;
    if (kv_bytes != 1 && kv_bytes != 2)
        return mu_err_set(err, SIM_EINVAL, "KV element size must be 1 or 2 bytes, got '%d'",
                          kv_bytes);

    /* 16-bit tensor peak: bf16 unless the dtype is fp16 or the GPU has no bf16 */
    double peak16;
    if (dtype == MEM_FP16) {
        peak16 = g->fp16_tflops;
        if ((rc = need(peak16, "fp16_tflops", g, err)))
            return rc;
    } else if (dtype == MEM_BF16 && !g->bf16_supported) {
        return mu_err_set(err, SIM_EINVAL, "gpu '%s' has no bf16 support: use dtype 'fp16'",
                          g->id);
    } else {
        peak16 = g->bf16_supported ? g->bf16_tflops : g->fp16_tflops;
        if ((rc = need(peak16, g->bf16_supported ? "bf16_tflops" : "fp16_tflops", g, err)))
            return rc;
    }
    /* the linear layers' peak: W8A8 on FP8/INT8 tensor cores, else 16-bit math */
    double peak_lin = peak16;
    if (dtype == MEM_FP8 && g->fp8_supported) {
        peak_lin = g->fp8_tflops;
        if ((rc = need(peak_lin, "fp8_tflops", g, err)))
            return rc;
    } else if (dtype == MEM_INT8 && g->int8_supported) {
        peak_lin = g->int8_tops;
        if ((rc = need(peak_lin, "int8_tops", g, err)))
            return rc;
    }

    struct mem_shard s;
    mem_shard_shape(m, tp, &s);
    double h = m->hidden_size, d = m->head_dim, I = m->intermediate_size;
    double wb = mem_linear_bytes_per_param(dtype);
    double qdim = s.q_heads * d, kvdim = s.kv_heads * d;
    int E = m->num_experts, k = m->experts_top_k;

    r->layers = m->num_layers;
    r->tp = tp;
    r->n_experts = E;
    r->top_k = k;

    /* K x N of each GEMM on one shard */
    const double K[ROOF_N_GEMM] = {h, qdim, h, I / tp, h};
    const double N[ROOF_N_GEMM] = {qdim + 2.0 * kvdim, h, 2.0 * I / tp, h,
                                   (double)m->vocab_size / tp};
    for (int op = 0; op < ROOF_N_GEMM; op++) {
        bool expert = E > 0 && (op == ROOF_GATE_UP || op == ROOF_DOWN);
        double mult = expert ? k : 1.0; /* each token visits top_k experts */
        r->g_is_expert[op] = expert;
        r->g_flops_per_token[op] = mult * 2.0 * K[op] * N[op];
        r->g_act_bytes_per_token[op] = mult * (K[op] + N[op]) * 2.0;
        r->g_weight_bytes[op] = K[op] * N[op] * (op == ROOF_LM_HEAD ? 2.0 : wb);
        /* quantized weights: W8A8 kernels at the FP8/INT8 peak, or weight-only kernels
         * (Marlin, AWQ/GPTQ) at the 16-bit peak; either is its own kernel class */
        bool quant = op != ROOF_LM_HEAD && dtype != MEM_BF16 && dtype != MEM_FP16;
        r->g_rate[op] = (op == ROOF_LM_HEAD ? peak16 : peak_lin) * 1e6 *
                        (quant ? p->gemm_mfu_q : p->gemm_mfu);
        r->g_half_flops[op] = (quant ? p->gemm_half_gflop_q : p->gemm_half_gflop) * 1e9;
    }
    if (m->qkv_bias)
        r->g_weight_bytes[ROOF_QKV] += N[ROOF_QKV] * 2.0;
    /* the MoE router (h x E, 16-bit) is under 0.1% of a layer's bytes: left out */

    double bw = g->bandwidth_gb_per_s * 1e3; /* GB/s -> B/us */
    r->mem_rate = bw * p->mem_eff;
    r->attn_mem_rate = bw * p->attn_mem_eff;
    /* attention math runs on FP8 tensor cores when the KV cache is FP8 and the GPU has
     * them (TensorRT-LLM's FP8 context FMHA, FlashAttention-3 FP8), else in 16 bits */
    double peak_attn = peak16;
    if (kv_bytes == 1 && g->fp8_supported && isfinite(g->fp8_tflops) && g->fp8_tflops > 0.0)
        peak_attn = g->fp8_tflops;
    r->attn_rate = peak_attn * 1e6 * p->attn_mfu;
    r->kv_bytes_per_token = 2.0 * kvdim * kv_bytes;
    r->attn_flops_per_pair = 4.0 * qdim;
    r->q_bytes_per_token = 2.0 * qdim * 2.0;
    r->ar_bytes_per_token = h * 2.0;
    r->ar_ring_factor = tp > 1 ? 2.0 * (tp - 1) / tp : 0.0;
    double link = g->interconnect_gb_per_s;
    r->link_assumed = !(isfinite(link) && link > 0.0);
    if (r->link_assumed)
        link = ROOF_PCIE_GB_PER_S;
    r->link_rate = link * 1e3 * p->link_eff;
    r->layer_us = p->layer_us;
    r->allreduce_latency_us = tp > 1 ? p->allreduce_latency_us : 0.0;
    return SIM_OK;
}

/* Expected number of distinct experts a batch of T tokens touches when each token picks
 * top_k of E experts uniformly: E (1 - (1 - k/E)^T). */
static double touched_experts(const struct roofline *r, double T)
{
    double miss = 1.0 - (double)r->top_k / r->n_experts;
    return r->n_experts * (1.0 - pow(miss, T));
}

double roofline_gemm_us(const struct roofline *r, enum roof_gemm op, double T)
{
    if (T <= 0.0)
        return 0.0;
    double w = r->g_weight_bytes[op];
    if (r->g_is_expert[op])
        w *= touched_experts(r, T);
    /* Hockney: the rate saturates with the GEMM's size, r(F) = r_inf F / (F + F_half) */
    double t_c = (T * r->g_flops_per_token[op] + r->g_half_flops[op]) / r->g_rate[op];
    double t_m = (w + T * r->g_act_bytes_per_token[op]) / r->mem_rate;
    return t_c > t_m ? t_c : t_m;
}

static double attn_us(const struct roofline *r, double pairs, double kv_tokens, double q_tokens)
{
    double t_c = pairs * r->attn_flops_per_pair / r->attn_rate;
    double t_m = (kv_tokens * r->kv_bytes_per_token + q_tokens * r->q_bytes_per_token) /
                 r->attn_mem_rate;
    return t_c > t_m ? t_c : t_m;
}

double roofline_decode_attn_us(const struct roofline *r, double batch, double ctx)
{
    if (batch <= 0.0)
        return 0.0;
    return attn_us(r, batch * ctx, batch * ctx, batch);
}

double roofline_prefill_attn_us(const struct roofline *r, double tokens, double ctx)
{
    if (tokens <= 0.0)
        return 0.0;
    double pairs = tokens * ctx + tokens * (tokens + 1.0) / 2.0;
    return attn_us(r, pairs, ctx + tokens, tokens);
}

double roofline_allreduce_us(const struct roofline *r, double T)
{
    if (r->tp <= 1 || T <= 0.0)
        return 0.0;
    return r->allreduce_latency_us + r->ar_ring_factor * T * r->ar_bytes_per_token / r->link_rate;
}

double roofline_iter_us(const struct roofline *r, const struct roof_work *w)
{
    double S = w->n_prefill + w->n_decode;
    if (w->prefill_tokens + w->n_decode <= 0.0)
        return 0.0;
    double T = w->prefill_tokens + w->n_decode + w->pad_tokens;
    double layer = roofline_gemm_us(r, ROOF_QKV, T) + roofline_gemm_us(r, ROOF_O, T) +
                   roofline_gemm_us(r, ROOF_GATE_UP, T) + roofline_gemm_us(r, ROOF_DOWN, T) +
                   2.0 * roofline_allreduce_us(r, T) + r->layer_us;
    if (w->n_decode > 0.0)
        layer += attn_us(r, w->decode_kv_tokens, w->decode_kv_tokens, w->n_decode);
    if (w->prefill_tokens > 0.0)
        layer += attn_us(r, w->prefill_qk_pairs, w->prefill_kv_tokens, w->prefill_tokens);
    return r->layers * layer + roofline_gemm_us(r, ROOF_LM_HEAD, S);
}
