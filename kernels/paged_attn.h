/*
 * paged_attn.h: paged attention over a block-structured KV cache, and its CPU reference.
 *
 * This header fixes the memory layout that the CUDA kernels in kernels/cuda/ and the CPU
 * reference in kernels/paged_attn_ref.c share (docs/kernels.md has the full description):
 *
 *   k_cache, v_cache   [num_blocks][block_size][num_kv_heads][head_dim], row-major. This is
 *                      vLLM's FlashAttention-backend layout (one of the two halves of its
 *                      [2, num_blocks, block_size, num_kv_heads, head_size] cache) and
 *                      FlashInfer's "NHD" paged layout.
 *   block tables       int32 physical block ids; token t of a sequence lives in physical
 *                      block table[t / block_size], slot t % block_size.
 *   q, out (decode)    [num_seqs][num_heads][head_dim]: one new token per sequence.
 *   q, out (prefill)   [num_tokens][num_heads][head_dim]: a chunk of one sequence.
 *
 * Grouped-query attention: query head h reads KV head h / (num_heads / num_kv_heads).
 * Decode: the query of sequence s attends to its context_lens[s] cached tokens (the new
 * token's K and V are already in the cache, as in vLLM). Prefill: a chunk of num_tokens
 * new tokens follows num_cached cached ones; all num_cached + num_tokens tokens' K and V
 * are in the cache, and new token i (position num_cached + i) attends to positions
 * 0 .. num_cached + i (causal).
 *
 * The reference works in float inputs with double accumulation and an exact two-pass
 * softmax; it is the yardstick for the GPU kernels, not a fast path. It allocates nothing.
 */
#ifndef LLMCAP_KERNELS_PAGED_ATTN_H
#define LLMCAP_KERNELS_PAGED_ATTN_H

#include <stdint.h>

/* The CUDA sources (C++) include this header too; sim/core/err.h is C11 (_Noreturn). */
#if defined(__cplusplus) && !defined(_Noreturn)
#define _Noreturn [[noreturn]]
#define LLMCAP_PAGED_ATTN_UNDEF_NORETURN
#endif
#ifdef __cplusplus
extern "C" {
#endif
#include "sim/core/err.h"
#ifdef LLMCAP_PAGED_ATTN_UNDEF_NORETURN
#undef _Noreturn
#undef LLMCAP_PAGED_ATTN_UNDEF_NORETURN
#endif

/* Largest head_dim the reference accepts (its accumulator lives on the stack). */
#define PAGED_ATTN_MAX_HEAD_DIM 256

struct paged_attn_shape {
    int32_t num_heads;    /* query heads (per tensor-parallel shard) */
    int32_t num_kv_heads; /* KV heads; num_heads must be a multiple */
    int32_t head_dim;     /* elements per head */
    int32_t block_size;   /* tokens per KV-cache block */
    float scale;          /* softmax scale, usually 1 / sqrt(head_dim) */
};

/* A shape with scale = 1 / sqrt(head_dim). Checks nothing. */
struct paged_attn_shape paged_attn_shape_make(int32_t num_heads, int32_t num_kv_heads,
                                              int32_t head_dim, int32_t block_size);

/*
 * Check a shape: counts >= 1, head_dim <= PAGED_ATTN_MAX_HEAD_DIM, num_heads a multiple of
 * num_kv_heads, scale finite and > 0. Returns SIM_OK or SIM_EINVAL with `err` filled.
 */
int paged_attn_check_shape(const struct paged_attn_shape *s, struct sim_err *err);

/*
 * Decode attention for num_seqs sequences, one query token each.
 * `block_tables` is [num_seqs][max_blocks_per_seq]; only the first
 * ceil(context_lens[s] / block_size) entries of row s are read, and each must be in
 * [0, num_blocks). context_lens[s] must be in 1 .. max_blocks_per_seq * block_size.
 * Writes out[num_seqs][num_heads][head_dim]. Returns SIM_OK or SIM_EINVAL (nothing
 * written past the first bad sequence is meaningful).
 */
int paged_attn_decode_ref(const struct paged_attn_shape *s, int32_t num_seqs, const float *q,
                          const float *k_cache, const float *v_cache, int32_t num_blocks,
                          const int32_t *block_tables, int32_t max_blocks_per_seq,
                          const int32_t *context_lens, float *out, struct sim_err *err);

/*
 * Causal prefill attention for one sequence: num_tokens (>= 1) new tokens after
 * num_cached (>= 0) cached ones. `block_table` has at least
 * ceil((num_cached + num_tokens) / block_size) entries, each in [0, num_blocks).
 * Writes out[num_tokens][num_heads][head_dim]. Returns SIM_OK or SIM_EINVAL.
 */
int paged_attn_prefill_ref(const struct paged_attn_shape *s, int32_t num_tokens, int32_t num_cached,
                           const float *q, const float *k_cache, const float *v_cache,
                           int32_t num_blocks, const int32_t *block_table, float *out,
                           struct sim_err *err);

#ifdef __cplusplus
}
#endif

#endif
