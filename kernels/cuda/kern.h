/*
 * kern.h: llmcap's CUDA attention kernels, callable from C.
 *
 * The layouts are those of kernels/paged_attn.h, with fp16 or bf16 elements; the kernels
 * accumulate in fp32 and write their output in the input dtype. Pointers are device
 * pointers; every launch goes on `stream` and returns without waiting. Supported: head_dim
 * 64 or 128, block_size 16 or 32, num_heads any multiple of num_kv_heads.
 *
 * Decode: one thread block per (sequence, KV head, group of up to 8 query heads sharing
 * it, partition of the context). A partition of up to KERN_DECODE_MAX_PARTITION tokens is
 * done in one block; longer contexts are split (flash-decoding) and a second kernel
 * combines the partitions, which needs a workspace (kern_decode_workspace_bytes()).
 * Prefill: a FlashAttention-2-style kernel on tensor cores (mma.sync m16n8k16), one block
 * per (64 query rows, head[, slice of the keys]), online softmax, causal mask; short chunks
 * after long contexts split the keys over blocks and merge them (split-KV).
 * docs/kernels.md has the details.
 *
 * Errors: cudaSuccess, cudaErrorInvalidValue for a shape or argument the kernels do not
 * handle, or the CUDA error of the launch.
 */
#ifndef LLMCAP_KERNELS_CUDA_KERN_H
#define LLMCAP_KERNELS_CUDA_KERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#include "kernels/paged_attn.h"

#ifdef __cplusplus
extern "C" {
#endif

enum kern_dtype { KERN_FP16 = 0, KERN_BF16 = 1 };

/* "fp16" or "bf16". */
const char *kern_dtype_name(enum kern_dtype dt);

/* The longest context slice one decode block handles (tokens). */
#define KERN_DECODE_MAX_PARTITION 512

/* Whether the kernels handle `s` (checks only the shape, not memory). */
bool kern_shape_supported(const struct paged_attn_shape *s);

/*
 * The decode partition (tokens per block, a multiple of 128 in 128..512) used for a batch:
 * 512, halved while fewer than two blocks per multiprocessor would run.
 */
int32_t kern_decode_partition_tokens(const struct paged_attn_shape *s, int32_t num_seqs,
                                     int32_t max_context_len, int num_sms);

/* Workspace for kern_decode() (0 when no context is longer than one partition). */
size_t kern_decode_workspace_bytes(const struct paged_attn_shape *s, int32_t num_seqs,
                                   int32_t max_context_len, int32_t partition_tokens);

/*
 * Decode attention: out[num_seqs][num_heads][head_dim] from one query token per sequence.
 * `partition_tokens` must be a multiple of block_size in block_size..512 (0 = pick with
 * kern_decode_partition_tokens() on the current device); `max_context_len` bounds every
 * context_lens[s] (each >= 1). `workspace` holds at least kern_decode_workspace_bytes().
 */
cudaError_t kern_decode(const struct paged_attn_shape *s, enum kern_dtype dt, void *out,
                        const void *q, const void *k_cache, const void *v_cache,
                        const int32_t *block_tables, int32_t max_blocks_per_seq,
                        const int32_t *context_lens, int32_t num_seqs, int32_t max_context_len,
                        int32_t partition_tokens, void *workspace, size_t workspace_bytes,
                        cudaStream_t stream);

/*
 * The number of KV splits kern_prefill() uses for a chunk when asked to choose: 1 when
 * the chunk's query tiles x heads already fill the GPU (or the context is short), else
 * enough to give about two blocks per multiprocessor, each split at least 4 key tiles.
 */
int32_t kern_prefill_splits(const struct paged_attn_shape *s, int32_t num_tokens,
                            int32_t num_cached, int num_sms);

/* Workspace for kern_prefill() with `kv_splits` splits (0 when it needs none). */
size_t kern_prefill_workspace_bytes(const struct paged_attn_shape *s, int32_t num_tokens,
                                    int32_t num_cached, int32_t kv_splits);

/*
 * Causal prefill of one sequence: num_tokens (>= 1) new tokens after num_cached (>= 0)
 * cached ones; all their K and V are in the cache. out[num_tokens][num_heads][head_dim].
 * `kv_splits`: 1 = one pass over the keys, n = keys split n ways and merged by a second
 * kernel (needs kern_prefill_workspace_bytes() of workspace), 0 = kern_prefill_splits()
 * on the current device.
 */
cudaError_t kern_prefill(const struct paged_attn_shape *s, enum kern_dtype dt, void *out,
                         const void *q, const void *k_cache, const void *v_cache,
                         const int32_t *block_table, int32_t num_tokens, int32_t num_cached,
                         int32_t kv_splits, void *workspace, size_t workspace_bytes,
                         cudaStream_t stream);

/* Convert n floats to the dtype (round to nearest even), and back. */
cudaError_t kern_from_f32(void *dst, enum kern_dtype dt, const float *src, size_t n,
                          cudaStream_t stream);
cudaError_t kern_to_f32(float *dst, const void *src, enum kern_dtype dt, size_t n,
                        cudaStream_t stream);

/* Fill n elements with uniform values in [lo, hi) from a counter-based hash of (seed, i). */
cudaError_t kern_fill_uniform(void *dst, enum kern_dtype dt, size_t n, uint64_t seed, float lo,
                              float hi, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
