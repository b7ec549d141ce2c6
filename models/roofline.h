/*
 * roofline.h: the roofline step-time model, per operator.
 *
 * One iteration on one tensor-parallel shard is the sum of its operators, each bound by
 * compute or by memory traffic (time = max(FLOPs / rate, bytes / bandwidth)):
 *
 *   layers x [ qkv + o + gate_up + down      GEMMs at T = prefill + decode tokens
 *            + decode attention              KV bytes read / compute
 *            + prefill attention             causal pairs / KV bytes
 *            + 2 all-reduces                 latency + bytes / link, when TP > 1
 *            + layer_us ]                    norms, rotary, residuals (GPU time)
 *   + lm_head (S = sequences sampling)
 *
 * That is the GPU work (roofline_iter_us). The step model around it (models/latency.c,
 * docs/latency-models.md) adds what vLLM adds: kernel launches (layers x launch_us) when
 * the batch runs eagerly instead of as a CUDA graph, and the host's scheduling, sampling
 * and output processing (host_us + host_seq_us per scheduled sequence) either after the
 * GPU work or overlapped with it (async scheduling); frontend_us (API server, tokeniser)
 * is added to each request's TTFT and end-to-end time, not to the iteration.
 *
 * The committed parameters (struct roof_params) were fitted by `llmcap calibrate` on the
 * published vLLM runs in models/calibration-data/ (docs/latency-models.md gives the fit
 * and the held-out errors). Quantization changes both the rate (FP8/INT8 tensor
 * cores where the GPU has them) and the weight bytes (models/memory.h). MoE layers
 * count the active experts' FLOPs and the bytes of the experts a batch touches.
 *
 * The model is plain data: roofline_init() precomputes every per-model constant, and
 * roofline_iter_us() does a few dozen flops with no allocation.
 */
#ifndef LLMCAP_MODELS_ROOFLINE_H
#define LLMCAP_MODELS_ROOFLINE_H

#include <stdbool.h>

#include "models/catalog.h"
#include "models/memory.h"
#include "sim/core/err.h"

/* Version of the formulas; bump when they change (it is part of the provenance). */
#define ROOF_VERSION 2

/* PCIe 4.0 x16 per direction ([D] 16 GT/s x 16 lanes x 128/130 / 8 = 31.5 GB/s), used for
 * all-reduce when the catalog has no GPU interconnect bandwidth. */
#define ROOF_PCIE_GB_PER_S 31.5

struct roof_params {
    double gemm_mfu;             /* (0,1]: fraction of the dense tensor peak in GEMMs */
    double mem_eff;              /* (0,1]: fraction of memory bandwidth streaming weights */
    double attn_mem_eff;         /* (0,1]: fraction of memory bandwidth reading the KV cache */
    double attn_mfu;             /* (0,1]: fraction of the 16-bit peak in attention math */
    double layer_us;             /* >= 0: GPU time per layer outside the GEMMs and attention */
    double launch_us;            /* >= 0: per layer, kernel launches of an eager iteration */
    double host_us;              /* >= 0: host time per iteration (schedule, prepare, sample) */
    double host_seq_us;          /* >= 0: host time per scheduled sequence */
    double frontend_us;          /* >= 0: per request: API server, tokeniser, detokeniser */
    double allreduce_latency_us; /* >= 0: fixed cost of one all-reduce */
    double link_eff;             /* (0,1]: fraction of the interconnect bandwidth a ring gets */
    /* GEMM efficiency by size and dtype (Hockney's r_inf, n_1/2): a GEMM of F FLOPs runs
     * at peak x mfu x F / (F + F_half), so its compute time is (F + F_half) / (peak x mfu) */
    double gemm_mfu_q;           /* (0,1]: gemm_mfu of quantized linear layers (fp8/int8/int4
                                    weights), of the peak they run at */
    double gemm_half_gflop;      /* >= 0: F_half of 16-bit GEMMs, GFLOP */
    double gemm_half_gflop_q;    /* >= 0: F_half of quantized GEMMs, GFLOP */
    double frontend_req_us;      /* >= 0: API-server work per request, processor-shared */
};

/* Number of fields of struct roof_params, and their names in its order (CAL.json keys). */
#define ROOF_N_PARAMS 15
/* Whether parameter i is a fraction in (0, 1] (else a time or size >= 0). */
bool roof_param_is_frac(int i);
/* Parameters added after the first calibration files: a CAL.json may lack them (then
 * roof_param_default_from gives their value from the others). */
bool roof_param_optional(int i);
void roof_params_fill_optional(struct roof_params *p, const bool *present);
extern const char *const roof_param_names[ROOF_N_PARAMS];
double *roof_param_ref(struct roof_params *p, int i);

/* Check every field against its physical range; SIM_EINVAL + err naming the field. */
int roof_params_check(const struct roof_params *p, struct sim_err *err);

/*
 * The committed, fitted parameters for GPU `g`: the set fitted for g's architecture
 * (cat_gpu.arch) when the fit saw that architecture (hopper, ampere), else the mean of
 * the fitted sets. See roofline.c for the fit's output.
 */
void roof_params_fitted(const struct cat_gpu *g, struct roof_params *out);

/* "fitted on ... (date)": one line for provenance strings. */
const char *roof_params_fit_note(void);

enum roof_gemm { ROOF_QKV, ROOF_O, ROOF_GATE_UP, ROOF_DOWN, ROOF_LM_HEAD, ROOF_N_GEMM };

/* Everything step time needs, precomputed. Rates are per microsecond. */
struct roofline {
    int layers;
    int tp;
    /* per GEMM op: FLOPs per token, weight bytes, activation bytes per token */
    double g_flops_per_token[ROOF_N_GEMM];
    double g_weight_bytes[ROOF_N_GEMM];
    double g_act_bytes_per_token[ROOF_N_GEMM];
    bool g_is_expert[ROOF_N_GEMM]; /* MoE expert GEMM: bytes scale with touched experts */
    double g_rate[ROOF_N_GEMM];    /* FLOP/us the op reaches at large sizes */
    double g_half_flops[ROOF_N_GEMM]; /* Hockney's F_half of the op's kernel class */
    int n_experts;                 /* 0 = dense */
    int top_k;
    double mem_rate;               /* B/us for weights and activations */
    double attn_mem_rate;          /* B/us for the KV cache */
    double attn_rate;              /* FLOP/us for attention math */
    double kv_bytes_per_token;     /* one layer, one shard */
    double attn_flops_per_pair;    /* one layer: 4 * q_heads * head_dim */
    double q_bytes_per_token;      /* one layer: q in and attention output out, 16-bit */
    double ar_bytes_per_token;     /* hidden * 2 */
    double ar_ring_factor;         /* 2 (tp - 1) / tp */
    double link_rate;              /* B/us */
    bool link_assumed;             /* no interconnect in the catalog: PCIe 4.0 x16 assumed */
    double layer_us;
    double allreduce_latency_us;
};

/*
 * Precompute the model for `m` in `dtype` on `g` with `kv_bytes` per KV element and
 * tensor parallelism `tp`; `p` NULL means roof_params_fitted(g). SIM_EINVAL + err when
 * the catalog lacks a number the roofline needs (e.g. the tensor throughput of a10g),
 * naming the field and the fix (a user catalog file), or when the GPU cannot run dtype.
 */
int roofline_init(struct roofline *r, const struct cat_model *m, const struct cat_gpu *g,
                  enum mem_dtype dtype, int kv_bytes, int tp, const struct roof_params *p,
                  struct sim_err *err);

/* One iteration's work with real-valued counts (the validation's steady states use
 * fractional sequences); same meaning as struct lat_batch. pad_tokens: tokens added to
 * reach a CUDA-graph capture size (they go through the GEMMs and all-reduces). */
struct roof_work {
    double n_prefill;
    double prefill_tokens;
    double prefill_kv_tokens;
    double prefill_qk_pairs;
    double n_decode;
    double decode_kv_tokens;
    double pad_tokens;
};

/* GPU time of one iteration in microseconds (operators + layers x layer_us; no launch
 * or host time); 0 for an empty batch. */
double roofline_iter_us(const struct roofline *r, const struct roof_work *w);

/* Per-operator times (microseconds), as written into roofline latency tables. */
double roofline_gemm_us(const struct roofline *r, enum roof_gemm op, double tokens);
double roofline_decode_attn_us(const struct roofline *r, double batch, double context_tokens);
double roofline_prefill_attn_us(const struct roofline *r, double tokens, double context_tokens);
double roofline_allreduce_us(const struct roofline *r, double tokens);

#endif
