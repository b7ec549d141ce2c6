/*
 * kcheck.h: the CUDA kernels against the CPU reference (kernels/paged_attn.h) on random
 * inputs. Used by `llmcap-kbench --check`, by tests/kernels/cuda (on a GPU) and by
 * tests/kernels/emu (the same kernel source run on the CPU).
 *
 * Inputs: q uniform in [-8, 8] (scores with a standard deviation near 2.7, so softmaxes
 * are peaked and outputs are not tiny averages), K and V in [-1, 1],
 * rounded to the dtype on the device and read back, so the reference sees exactly the
 * values the kernel sees. Block tables are a random permutation of the physical blocks;
 * every cache slot no sequence owns (unused blocks, slots past a context) holds NaN, so a
 * kernel that reads past a context or a table is caught.
 *
 * Tolerance: |gpu - ref| <= kcheck_tolerance(dtype) for every output element. Outputs are
 * convex combinations of V (|out| <= 1). The kernels round twice at most: the output to
 * the dtype (half an ulp: 2^-9 for bf16, 2^-12 for fp16, relative) and, in prefill, the
 * softmax weights to the dtype before the P.V tensor-core product (again at most half an
 * ulp of each weight, so at most that relative error of sum |p v| <= 1). The rest is fp32
 * accumulation (~1e-6). So the worst case is ~2^-8 (bf16) or ~2^-11 (fp16); the tolerance
 * is twice that: 8e-3 for bf16 and 1e-3 for fp16.
 */
#ifndef LLMCAP_KERNELS_CUDA_KCHECK_H
#define LLMCAP_KERNELS_CUDA_KCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/cuda/kern.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KCHECK_MAX_SEQS 16

enum kcheck_kind { KCHECK_DECODE, KCHECK_PREFILL };

struct kcheck_case {
    const char *name;
    enum kcheck_kind kind;
    int32_t num_heads, num_kv_heads, head_dim, block_size;
    /* decode */
    int32_t num_seqs;
    int32_t context_lens[KCHECK_MAX_SEQS];
    int32_t partition_tokens; /* 0: the kernel's own choice */
    /* prefill */
    int32_t num_tokens, num_cached;
    int32_t kv_splits; /* 0: the kernel's own choice */
};

struct kcheck_result {
    double max_abs_err; /* over all output elements; +inf when an output is not finite */
    double max_abs_ref; /* the largest |reference| value, for scale */
    double tolerance;
    size_t n_values;
    bool pass;
};

/* The cases `llmcap-kbench --check` runs: realistic head counts, long and ragged contexts,
 * forced and automatic split-K (decode) and split-KV (prefill), GQA ratios 1, 3, 4, 8 and
 * 16. Borrowed, static. */
size_t kcheck_cases(const struct kcheck_case **cases);

/* Small cases with the same coverage, for the CPU emulation (tests/kernels/emu). */
size_t kcheck_small_cases(const struct kcheck_case **cases);

double kcheck_tolerance(enum kern_dtype dt);

/*
 * Run one case in one dtype on the current device: random inputs from `seed`, the kernel,
 * the reference, the comparison. Returns SIM_OK with `r` filled (r->pass says whether it
 * matched), SIM_EINVAL for a case the kernels or the reference reject, or SIM_EIO for a
 * CUDA failure (message names the CUDA error).
 */
int kcheck_run(const struct kcheck_case *c, enum kern_dtype dt, uint64_t seed,
               struct kcheck_result *r, struct sim_err *err);

#ifdef __cplusplus
}
#endif

#endif
