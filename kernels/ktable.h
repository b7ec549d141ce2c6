/*
 * ktable.h: what llmcap-kbench measures and how it writes it down: model shapes per
 * tensor-parallel shard, the GEMM shapes of a decoder layer, sweep grids, the median, and
 * the latency table in the JSON format of docs/latency-tables.md.
 *
 * Pure C with no GPU and no JSON library: the harness writes the table with fprintf
 * (fixed key order, %.17g for every double) so that it builds with nvcc and a C compiler
 * alone on a bare GPU machine. tests/kernels/test_ktable.c parses the output with cJSON.
 */
#ifndef LLMCAP_KERNELS_KTABLE_H
#define LLMCAP_KERNELS_KTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* sim/core/err.h is C11 (_Noreturn); keep this header usable from C++ too. */
#if defined(__cplusplus) && !defined(_Noreturn)
#define _Noreturn [[noreturn]]
#define LLMCAP_KTABLE_UNDEF_NORETURN
#endif
#ifdef __cplusplus
extern "C" {
#endif
#include "sim/core/err.h"
#ifdef LLMCAP_KTABLE_UNDEF_NORETURN
#undef _Noreturn
#undef LLMCAP_KTABLE_UNDEF_NORETURN
#endif

#define KT_MAX_GRID 32 /* points per grid axis */

/* A whole model's shape, as a latency table's "model" object stores it. */
struct kt_model {
    char name[64];
    int32_t num_layers;
    int32_t hidden_size;
    int32_t num_heads;
    int32_t num_kv_heads;
    int32_t head_dim;
    int32_t intermediate_size;
    int32_t vocab_size;
};

/* Number of built-in shapes and their names ("llama-3-8b", "llama-3-70b"). */
size_t kt_model_builtin_count(void);
const char *kt_model_builtin_name(size_t i);

/* Fill `m` with the built-in shape called `name`; SIM_ENOENT (message lists the names)
 * when there is none. */
int kt_model_builtin(const char *name, struct kt_model *m, struct sim_err *err);

/* Check a model shape (every count >= 1, num_heads a multiple of num_kv_heads, name set). */
int kt_model_check(const struct kt_model *m, struct sim_err *err);

/*
 * One tensor-parallel shard, as vLLM splits a Llama layer over `tp` GPUs: query heads,
 * intermediate size and vocabulary are divided by tp (the vocabulary rounded up); KV
 * heads are divided when tp divides them and replicated (one per shard) when num_kv_heads
 * divides tp, as vLLM does; anything else is rejected.
 */
struct kt_shard {
    int32_t tp;
    int32_t num_heads;    /* per shard */
    int32_t num_kv_heads; /* per shard */
    int32_t head_dim;
    int32_t hidden_size;       /* not split */
    int32_t intermediate_size; /* per shard */
    int32_t vocab_size;        /* per shard, ceil(vocab / tp) */
};

int kt_shard_make(const struct kt_model *m, int32_t tp, struct kt_shard *sh, struct sim_err *err);

/* The linear layers of one decoder layer plus the LM head, in table order. */
enum kt_gemm { KT_QKV, KT_O, KT_GATE_UP, KT_DOWN, KT_LM_HEAD, KT_GEMM_N };

/* Y[tokens x n] = X[tokens x k] * W^T with W stored [n][k] (torch.nn.Linear). */
struct kt_gemm_shape {
    int64_t n;
    int64_t k;
};

struct kt_gemm_shape kt_gemm_shape_of(const struct kt_shard *sh, enum kt_gemm g);
const char *kt_gemm_name(enum kt_gemm g); /* "qkv_proj", ... as in the table */

/* A sweep axis: strictly increasing integers. */
struct kt_grid {
    size_t n;
    int32_t v[KT_MAX_GRID];
};

/*
 * Parse a comma-separated list ("1,2,4") named `key` (for messages) into `g`: 1 to
 * KT_MAX_GRID strictly increasing integers in [min, max]. SIM_EINVAL otherwise.
 */
int kt_grid_parse(const char *text, const char *key, int32_t min, int32_t max, struct kt_grid *g,
                  struct sim_err *err);

/* Copy `n` values into `g` (n <= KT_MAX_GRID, checked by the caller). */
void kt_grid_set(struct kt_grid *g, const int32_t *v, size_t n);

/* Median of x[0..n-1] (n >= 1; the mean of the middle two for even n). Sorts x. */
double kt_median(double *x, size_t n);

/*
 * The catalog id llmcap uses for a device name as the CUDA driver reports it
 * ("NVIDIA H100 80GB HBM3" -> "h100-sxm-80gb"), or NULL when the name is not known.
 */
const char *kt_gpu_catalog_id(const char *device_name);

/*
 * The driver version from the text of /proc/driver/nvidia/version ("... Kernel Module
 * 550.54.15 ..."): copies it into out (size n) and returns 0, or returns -1 when the text
 * has none.
 */
int kt_parse_nvrm_version(const char *text, char *out, size_t n);

/* "12.4" from cudaDriverGetVersion/cudaRuntimeGetVersion's 12040. */
void kt_cuda_version_string(int version, char *out, size_t n);

/* Where a measured table came from. Every string is NUL-terminated. */
struct kt_provenance {
    char gpu[256];        /* cudaDeviceProp.name */
    char gpu_catalog[64]; /* llmcap catalog id */
    char driver[64];      /* kernel module version, or the driver API version */
    char cuda[32];        /* CUDA runtime version */
    char date[16];        /* YYYY-MM-DD, UTC */
    char tool[64];        /* "llmcap-kbench 0.1.0" */
    char git[64];         /* git describe of the harness */
    int32_t warmup;
    int32_t repetitions;
    bool l2_flush;
    uint64_t seed;
    int32_t decode_partition_tokens; /* 0 = chosen per point */
    char decode_kernel[160];
    char prefill_kernel[160];
    char gemm[160];
    char note[512];
};

/* One latency table: one model shard, dtype and block size on one GPU. */
struct kt_table {
    struct kt_provenance prov;
    struct kt_model model;
    char dtype[8]; /* "bf16" or "fp16"; the KV cache has the same dtype */
    int32_t tensor_parallel_size;
    int32_t block_size;
    struct kt_grid gemm_tokens;
    double gemm_us[KT_GEMM_N][KT_MAX_GRID];
    struct kt_grid decode_batch, decode_context;
    double decode_us[KT_MAX_GRID][KT_MAX_GRID]; /* [batch][context] */
    struct kt_grid prefill_tokens, prefill_context;
    double prefill_us[KT_MAX_GRID][KT_MAX_GRID]; /* [tokens][context] */
};

/*
 * Check `t` against the rules of docs/latency-tables.md (grids strictly increasing and
 * positive, prefill context may start at 0, every time finite and > 0, the measured
 * provenance fields present, date YYYY-MM-DD) and write it to `f` as JSON with provenance
 * kind "measured". Returns SIM_OK, SIM_EINVAL (nothing written) or SIM_EIO.
 */
int kt_table_write(FILE *f, const struct kt_table *t, struct sim_err *err);

#ifdef __cplusplus
}
#endif

#endif
