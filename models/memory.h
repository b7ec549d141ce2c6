/*
 * memory.h: GPU memory sizing as vLLM (V1 engine, v0.21+) does it.
 *
 * vLLM sizes its paged KV cache once at start-up: it loads the weights, runs one dummy
 * forward pass with max_num_batched_tokens tokens (profile_run) plus a dummy sampler
 * pass, measures the peak, estimates the CUDA-graph memory, and gives the KV cache what
 * is left of gpu_memory_utilization x total memory:
 *
 *   num_gpu_blocks = floor((total * gpu_memory_utilization - weights_per_gpu
 *                           - activation_peak - cudagraph_reserve - non_torch)
 *                          / (block_size * kv_bytes_per_token_per_gpu))
 *
 * This module computes each term from the catalogs; docs/latency-models.md ("Memory")
 * gives the formulas, their sources and the constants below. All byte counts are per
 * GPU (one tensor-parallel shard) unless the name says total. Nothing here allocates.
 */
#ifndef LLMCAP_MODELS_MEMORY_H
#define LLMCAP_MODELS_MEMORY_H

#include <stdint.h>

#include "models/catalog.h"
#include "sim/core/err.h"

enum mem_dtype {
    MEM_BF16,
    MEM_FP16,
    MEM_FP8,      /* W8A8 on GPUs with FP8 tensor cores, W8A16 (Marlin) elsewhere */
    MEM_INT8,     /* W8A8 */
    MEM_INT4_AWQ, /* W4A16, group size 128 */
    MEM_INT4_GPTQ /* W4A16, group size 128 */
};

/* Parse "bf16" | "fp16" | "fp8" | "int8" | "int4-awq" | "int4-gptq" (exact, lower case).
 * Returns SIM_OK or SIM_EINVAL (err not touched: the caller knows the key). */
int mem_dtype_parse(const char *name, enum mem_dtype *out);
const char *mem_dtype_name(enum mem_dtype d);

/*
 * Bytes per parameter of a quantized linear layer: 2 for bf16/fp16, 1 for fp8/int8
 * (per-tensor or per-channel scales are negligible), 0.5 + (2 + 0.5)/128 = 0.51953125
 * for int4 (a 16-bit scale and a 4-bit zero point per group of 128 weights; GPTQ's
 * act-order index is left out). Embeddings, lm_head, norms, biases and the MoE router
 * stay 16-bit in every dtype, as vLLM loads them.
 */
double mem_linear_bytes_per_param(enum mem_dtype d);

/* Bytes per KV element: "auto" (the activation dtype, 16-bit), "bf16", "fp16" -> 2;
 * "fp8", "fp8_e4m3", "fp8_e5m2" -> 1. SIM_EINVAL for anything else. */
int mem_kv_dtype_bytes(const char *kv_cache_dtype, int *bytes);

/* Check that `tp` can shard `m` as vLLM requires: num_heads % tp == 0 and either
 * num_kv_heads % tp == 0 or tp % num_kv_heads == 0 (KV heads are then replicated).
 * SIM_EINVAL + err naming 'tensor_parallel_size'. */
int mem_check_tp(const struct cat_model *m, int tp, struct sim_err *err);

/* Per-shard shape and parameter counts of a model under tensor parallelism `tp`
 * (mem_check_tp must have passed). Counts are parameters, not bytes. */
struct mem_shard {
    int tp;
    int q_heads;           /* num_heads / tp */
    int kv_heads;          /* max(1, num_kv_heads / tp) (replicated when fewer than tp) */
    double attn_linear;    /* q, k, v, o weights of one layer on one shard */
    double mlp_linear;     /* gate, up, down of one layer on one shard, ALL experts */
    double expert_linear;  /* one expert's gate, up, down on one shard (= mlp for dense) */
    double layer_16bit;    /* norms, q/k/v biases and the MoE router of one layer */
    double embed;          /* vocab_size * hidden / tp (vocab-parallel) */
    double lm_head;        /* same, 0 when tied to the embedding */
    double final_norm;     /* hidden_size */
};

void mem_shard_shape(const struct cat_model *m, int tp, struct mem_shard *out);

/* Bytes of weights on one shard for `d` (see mem_linear_bytes_per_param). */
double mem_weight_bytes_per_gpu(const struct cat_model *m, enum mem_dtype d, int tp);

/* Bytes of weights of the whole model (all shards, replicated parts counted once). */
double mem_weight_bytes_total(const struct cat_model *m, enum mem_dtype d);

/* KV bytes per token on one shard: 2 (K and V) * layers * kv_heads_per_shard * head_dim
 * * kv_bytes. */
double mem_kv_bytes_per_token(const struct cat_model *m, int tp, int kv_bytes);

/* Documented constants (docs/latency-models.md, "Memory"). */
#define MEM_CUDAGRAPH_RESERVE_BYTES (1024.0 * 1024.0 * 1024.0)     /* 1 GiB */
#define MEM_NON_TORCH_TP1_BYTES (128.0 * 1024.0 * 1024.0)         /* 128 MiB */
#define MEM_NON_TORCH_TPN_BYTES (512.0 * 1024.0 * 1024.0)         /* 512 MiB with NCCL */
#define MEM_SAMPLER_BYTES_PER_LOGIT 20.0 /* fp32 logits, probs, sorted values, int64 index */

/*
 * vLLM's OpenAI-server defaults: max_num_seqs 1024 and max_num_batched_tokens 8192 when
 * the GPU has >= 70 GiB and is not an A100, else 256 and 2048.
 */
void mem_default_limits(const struct cat_gpu *g, int *max_num_seqs,
                        int *max_num_batched_tokens);

/* What the scenario says; 0 means "vLLM's default" for the three limits. */
struct mem_config {
    const struct cat_model *model;
    const struct cat_gpu *gpu;
    enum mem_dtype dtype;
    const char *kv_cache_dtype;  /* "auto", "fp8", ... */
    int tensor_parallel_size;
    double gpu_memory_utilization; /* (0, 1] */
    int block_size;              /* tokens per KV block, e.g. 16 */
    int max_num_seqs;
    int max_num_batched_tokens;
    int64_t max_model_len;
};

/* The result, per GPU; all limits resolved. */
struct mem_plan {
    int max_num_seqs;
    int max_num_batched_tokens;
    int64_t max_model_len;
    int kv_bytes;                   /* per element */
    double gpu_bytes;               /* total memory of one GPU (cat_gpu.memory_bytes) */
    double budget_bytes;            /* gpu_bytes * gpu_memory_utilization */
    double weight_bytes;            /* per GPU */
    double weight_bytes_total;      /* whole model */
    double activation_peak_bytes;   /* max(forward peak, sampler peak) */
    double cudagraph_bytes;
    double non_torch_bytes;
    double kv_cache_bytes;          /* budget - the four above */
    double kv_bytes_per_token;      /* per GPU */
    int64_t num_gpu_blocks;
    int64_t kv_capacity_tokens;     /* num_gpu_blocks * block_size */
};

/*
 * Size the KV cache. SIM_OK and `p` filled, or SIM_EINVAL + err saying why it cannot fit
 * and what would (larger tensor_parallel_size, a quantized dtype, a smaller
 * max_model_len, ...), e.g. "'llama-3-70b' in bf16 needs 131.4 GiB of weights; one
 * h100-sxm-80gb gives vLLM 72.0 GiB at gpu_memory_utilization 0.90: use
 * tensor_parallel_size >= 2, or dtype 'fp8' or 'int4-awq'". The exact wording is fixed
 * by tests/models/test_memory.c.
 */
int mem_plan_compute(struct mem_plan *p, const struct mem_config *cfg, struct sim_err *err);

#endif
