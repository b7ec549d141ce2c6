/* kbench.c: llmcap-kbench, the GPU micro-benchmark that measures one model shard's
 * operator latencies (cuBLAS GEMMs, paged decode and prefill attention) into a latency
 * table (docs/latency-tables.md), and checks the kernels against the CPU reference. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "kernels/cuda/kcheck.h"
#include "kernels/cuda/kern.h"
#include "kernels/ktable.h"

#ifndef LLMCAP_VERSION
#define LLMCAP_VERSION "0.0.0"
#endif
#ifndef LLMCAP_GIT_DESCRIBE
#define LLMCAP_GIT_DESCRIBE "unknown"
#endif

#define KB_MAX_REPS 1000

enum kb_opt {
    OPT_MODEL = 'm',
    OPT_OUTPUT = 'o',
    OPT_TP = 't',
    OPT_HELP = 'h',
    OPT_NAME = 256,
    OPT_LAYERS,
    OPT_HIDDEN,
    OPT_HEADS,
    OPT_KV_HEADS,
    OPT_HEAD_DIM,
    OPT_INTERMEDIATE,
    OPT_VOCAB,
    OPT_DTYPE,
    OPT_BLOCK_SIZE,
    OPT_GEMM_TOKENS,
    OPT_DECODE_BATCH,
    OPT_DECODE_CONTEXT,
    OPT_PREFILL_TOKENS,
    OPT_PREFILL_CONTEXT,
    OPT_WARMUP,
    OPT_REPS,
    OPT_NO_L2_FLUSH,
    OPT_PARTITION,
    OPT_GPU_CATALOG,
    OPT_DEVICE,
    OPT_SEED,
    OPT_QUICK,
    OPT_CHECK,
    OPT_LIST_DEVICES,
    OPT_VERSION,
};

struct kb_opt_spec {
    const char *name;
    int has_arg;
    int id;
    const char *arg;
    const char *help;
};

/* One table drives both getopt_long and --help. */
static const struct kb_opt_spec kb_opts[] = {
    {"model", required_argument, OPT_MODEL, "NAME",
     "built-in model shape: llama-3-8b (default) or llama-3-70b"},
    {"name", required_argument, OPT_NAME, "NAME", "model name for a custom shape"},
    {"layers", required_argument, OPT_LAYERS, "N", "custom shape: decoder layers"},
    {"hidden", required_argument, OPT_HIDDEN, "N", "custom shape: hidden size"},
    {"heads", required_argument, OPT_HEADS, "N", "custom shape: query heads (whole model)"},
    {"kv-heads", required_argument, OPT_KV_HEADS, "N", "custom shape: KV heads (whole model)"},
    {"head-dim", required_argument, OPT_HEAD_DIM, "N", "custom shape: head dimension (64|128)"},
    {"intermediate", required_argument, OPT_INTERMEDIATE, "N", "custom shape: MLP size"},
    {"vocab", required_argument, OPT_VOCAB, "N", "custom shape: vocabulary size"},
    {"tp", required_argument, OPT_TP, "N", "tensor-parallel size; one shard is measured (1)"},
    {"dtype", required_argument, OPT_DTYPE, "bf16|fp16", "weights, activations, KV (bf16)"},
    {"block-size", required_argument, OPT_BLOCK_SIZE, "16|32", "KV-cache block size (16)"},
    {"gemm-tokens", required_argument, OPT_GEMM_TOKENS, "LIST", "GEMM token grid"},
    {"decode-batch", required_argument, OPT_DECODE_BATCH, "LIST", "decode batch grid"},
    {"decode-context", required_argument, OPT_DECODE_CONTEXT, "LIST", "decode context grid"},
    {"prefill-tokens", required_argument, OPT_PREFILL_TOKENS, "LIST", "prefill chunk grid"},
    {"prefill-context", required_argument, OPT_PREFILL_CONTEXT, "LIST",
     "prefill cached-context grid (may start at 0)"},
    {"warmup", required_argument, OPT_WARMUP, "N", "untimed runs per point (5)"},
    {"reps", required_argument, OPT_REPS, "N", "timed runs per point; the median is kept (20)"},
    {"no-l2-flush", no_argument, OPT_NO_L2_FLUSH, NULL,
     "do not overwrite the L2 cache before each timed run"},
    {"partition", required_argument, OPT_PARTITION, "N",
     "decode partition tokens (0 = the kernel's choice per point)"},
    {"gpu-catalog", required_argument, OPT_GPU_CATALOG, "ID",
     "llmcap catalog id of the GPU (default: from the device name)"},
    {"device", required_argument, OPT_DEVICE, "N", "CUDA device index (0)"},
    {"seed", required_argument, OPT_SEED, "N", "seed of the random inputs (1)"},
    {"output", required_argument, OPT_OUTPUT, "FILE", "write the table here (default stdout)"},
    {"quick", no_argument, OPT_QUICK, NULL, "small grids, 2 warm-up and 5 timed runs"},
    {"check", no_argument, OPT_CHECK, NULL,
     "compare the CUDA kernels with the CPU reference; exit 1 on a mismatch"},
    {"list-devices", no_argument, OPT_LIST_DEVICES, NULL, "list CUDA devices and exit"},
    {"version", no_argument, OPT_VERSION, NULL, "print the version and exit"},
    {"help", no_argument, OPT_HELP, NULL, "this help"},
};

#define KB_N_OPTS (sizeof kb_opts / sizeof kb_opts[0])

/* Grids of docs/latency-tables.md, and the --quick ones. */
static const int32_t kb_gemm_tokens[] = {1,   2,   4,   8,    16,   32,   64,
                                         128, 256, 512, 1024, 2048, 4096, 8192};
static const int32_t kb_decode_batch[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
static const int32_t kb_decode_context[] = {128, 256, 512, 1024, 2048, 4096, 8192, 16384};
static const int32_t kb_prefill_tokens[] = {16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192};
static const int32_t kb_prefill_context[] = {0, 512, 1024, 2048, 4096, 8192};
static const int32_t kb_quick_gemm[] = {1, 16, 256, 2048};
static const int32_t kb_quick_batch[] = {1, 16, 64};
static const int32_t kb_quick_context[] = {128, 1024, 4096};
static const int32_t kb_quick_prefill[] = {16, 256, 2048};
static const int32_t kb_quick_prefill_ctx[] = {0, 1024};

#define KB_SET_GRID(g, arr) kt_grid_set((g), (arr), sizeof(arr) / sizeof((arr)[0]))

struct kb_config {
    struct kt_model model;
    bool custom[7]; /* which custom-shape flags were given */
    bool have_model_flag;
    int32_t tp;
    enum kern_dtype dtype;
    int32_t block_size;
    struct kt_grid gemm_tokens, decode_batch, decode_context, prefill_tokens, prefill_context;
    bool grid_given[5];
    int32_t warmup, reps;
    bool warmup_given, reps_given;
    bool l2_flush;
    int32_t partition;
    char gpu_catalog[64];
    int device;
    uint64_t seed;
    const char *output;
    bool quick, check, list_devices;
};

static void kb_usage(FILE *f)
{
    fprintf(f, "usage: llmcap-kbench [options]\n"
               "Measures one tensor-parallel shard's GEMM, decode- and prefill-attention times\n"
               "on this GPU and writes a latency table (docs/latency-tables.md).\n\n");
    for (size_t i = 0; i < KB_N_OPTS; i++) {
        char left[48];
        if (kb_opts[i].id < 256)
            snprintf(left, sizeof left, "-%c, --%s%s%s", kb_opts[i].id, kb_opts[i].name,
                     kb_opts[i].arg ? " " : "", kb_opts[i].arg ? kb_opts[i].arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", kb_opts[i].name, kb_opts[i].arg ? " " : "",
                     kb_opts[i].arg ? kb_opts[i].arg : "");
        fprintf(f, "  %-34s %s\n", left, kb_opts[i].help);
    }
    fprintf(f, "\nLIST is comma-separated and strictly increasing, e.g. 1,8,64.\n"
               "Exit status: 0 ok, 1 a --check mismatch, 2 bad usage, 3 no GPU or a CUDA "
               "failure.\n");
}

static int kb_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int kb_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "llmcap-kbench: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(try 'llmcap-kbench --help')\n");
    va_end(ap);
    return 2;
}

static int kb_parse_int(const char *text, const char *key, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end || errno || v < min || v > max) {
        fprintf(stderr, "llmcap-kbench: error: '--%s' must be an integer in %ld..%ld, got '%s'\n",
                key, min, max, text);
        return 2;
    }
    *out = v;
    return 0;
}

static int kb_parse(int argc, char **argv, struct kb_config *c)
{
    struct option lopts[KB_N_OPTS + 1];
    char shortopts[64] = "";
    size_t ns = 0;
    for (size_t i = 0; i < KB_N_OPTS; i++) {
        lopts[i].name = kb_opts[i].name;
        lopts[i].has_arg = kb_opts[i].has_arg;
        lopts[i].flag = NULL;
        lopts[i].val = kb_opts[i].id;
        if (kb_opts[i].id < 256) {
            shortopts[ns++] = (char)kb_opts[i].id;
            if (kb_opts[i].has_arg)
                shortopts[ns++] = ':';
        }
    }
    lopts[KB_N_OPTS] = (struct option){0};
    shortopts[ns] = '\0';

    memset(c, 0, sizeof *c);
    struct sim_err err = {0};
    if (kt_model_builtin("llama-3-8b", &c->model, &err))
        return 3;
    c->tp = 1;
    c->dtype = KERN_BF16;
    c->block_size = 16;
    c->warmup = 5;
    c->reps = 20;
    c->l2_flush = true;
    c->seed = 1;
    int32_t *custom_field[7] = {&c->model.num_layers, &c->model.hidden_size,
                                &c->model.num_heads,  &c->model.num_kv_heads,
                                &c->model.head_dim,   &c->model.intermediate_size,
                                &c->model.vocab_size};
    char custom_name[64] = "";
    const char *model_name = "llama-3-8b";
    int opt, idx;
    long v;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, shortopts, lopts, &idx)) != -1) {
        int rc = 0;
        switch (opt) {
        case OPT_MODEL:
            model_name = optarg;
            c->have_model_flag = true;
            break;
        case OPT_NAME:
            snprintf(custom_name, sizeof custom_name, "%s", optarg);
            break;
        case OPT_LAYERS:
        case OPT_HIDDEN:
        case OPT_HEADS:
        case OPT_KV_HEADS:
        case OPT_HEAD_DIM:
        case OPT_INTERMEDIATE:
        case OPT_VOCAB:
            if ((rc = kb_parse_int(optarg, lopts[idx].name, 1, 1 << 24, &v)))
                return rc;
            *custom_field[opt - OPT_LAYERS] = (int32_t)v;
            c->custom[opt - OPT_LAYERS] = true;
            break;
        case OPT_TP:
            if ((rc = kb_parse_int(optarg, "tp", 1, 64, &v)))
                return rc;
            c->tp = (int32_t)v;
            break;
        case OPT_DTYPE:
            if (strcmp(optarg, "bf16") == 0)
                c->dtype = KERN_BF16;
            else if (strcmp(optarg, "fp16") == 0)
                c->dtype = KERN_FP16;
            else
                return kb_usage_error("'--dtype' must be 'bf16' or 'fp16', got '%s'", optarg);
            break;
        case OPT_BLOCK_SIZE:
            if (strcmp(optarg, "16") != 0 && strcmp(optarg, "32") != 0)
                return kb_usage_error("'--block-size' must be 16 or 32 (tokens), got '%s'", optarg);
            c->block_size = (int32_t)atoi(optarg);
            break;
        case OPT_GEMM_TOKENS:
        case OPT_DECODE_BATCH:
        case OPT_DECODE_CONTEXT:
        case OPT_PREFILL_TOKENS:
        case OPT_PREFILL_CONTEXT: {
            struct kt_grid *grids[5] = {&c->gemm_tokens, &c->decode_batch, &c->decode_context,
                                        &c->prefill_tokens, &c->prefill_context};
            int k = opt - OPT_GEMM_TOKENS;
            char key[40];
            snprintf(key, sizeof key, "--%s", lopts[idx].name);
            int32_t min = opt == OPT_PREFILL_CONTEXT ? 0 : 1;
            int32_t max = opt == OPT_DECODE_BATCH ? 4096 : 131072;
            if (kt_grid_parse(optarg, key, min, max, grids[k], &err)) {
                fprintf(stderr, "llmcap-kbench: error: %s\n", err.msg);
                return 2;
            }
            c->grid_given[k] = true;
            break;
        }
        case OPT_WARMUP:
            if ((rc = kb_parse_int(optarg, "warmup", 0, 1000, &v)))
                return rc;
            c->warmup = (int32_t)v;
            c->warmup_given = true;
            break;
        case OPT_REPS:
            if ((rc = kb_parse_int(optarg, "reps", 1, KB_MAX_REPS, &v)))
                return rc;
            c->reps = (int32_t)v;
            c->reps_given = true;
            break;
        case OPT_NO_L2_FLUSH:
            c->l2_flush = false;
            break;
        case OPT_PARTITION:
            if ((rc = kb_parse_int(optarg, "partition", 0, KERN_DECODE_MAX_PARTITION, &v)))
                return rc;
            c->partition = (int32_t)v;
            break;
        case OPT_GPU_CATALOG:
            snprintf(c->gpu_catalog, sizeof c->gpu_catalog, "%s", optarg);
            break;
        case OPT_DEVICE:
            if ((rc = kb_parse_int(optarg, "device", 0, 64, &v)))
                return rc;
            c->device = (int)v;
            break;
        case OPT_SEED:
            if ((rc = kb_parse_int(optarg, "seed", 0, 2147483647L, &v)))
                return rc;
            c->seed = (uint64_t)v;
            break;
        case OPT_OUTPUT:
            c->output = optarg;
            break;
        case OPT_QUICK:
            c->quick = true;
            break;
        case OPT_CHECK:
            c->check = true;
            break;
        case OPT_LIST_DEVICES:
            c->list_devices = true;
            break;
        case OPT_VERSION:
            printf("llmcap-kbench %s (%s)\n", LLMCAP_VERSION, LLMCAP_GIT_DESCRIBE);
            exit(0);
        case OPT_HELP:
            kb_usage(stdout);
            exit(0);
        default:
            return kb_usage_error("unknown or incomplete option '%s'",
                                  argv[optind - 1 < argc ? optind - 1 : argc - 1]);
        }
    }
    if (optind < argc)
        return kb_usage_error("unexpected argument '%s'", argv[optind]);

    bool any_custom = false;
    for (int i = 0; i < 7; i++)
        any_custom |= c->custom[i];
    if (any_custom) {
        for (int i = 0; i < 7; i++)
            if (!c->custom[i])
                return kb_usage_error("a custom shape needs all of --layers --hidden --heads "
                                      "--kv-heads --head-dim --intermediate --vocab");
        if (c->have_model_flag)
            return kb_usage_error("give either --model or a custom shape, not both");
        if (!custom_name[0])
            return kb_usage_error("a custom shape needs --name");
        snprintf(c->model.name, sizeof c->model.name, "%s", custom_name);
    } else if (kt_model_builtin(model_name, &c->model, &err)) {
        fprintf(stderr, "llmcap-kbench: error: %s\n", err.msg);
        return 2;
    }
    if (c->model.head_dim != 64 && c->model.head_dim != 128)
        return kb_usage_error("'--head-dim' must be 64 or 128 for the CUDA kernels, got '%d'",
                              (int)c->model.head_dim);

    struct kt_grid *grids[5] = {&c->gemm_tokens, &c->decode_batch, &c->decode_context,
                                &c->prefill_tokens, &c->prefill_context};
    if (c->quick) {
        const int32_t *q[5] = {kb_quick_gemm, kb_quick_batch, kb_quick_context, kb_quick_prefill,
                               kb_quick_prefill_ctx};
        const size_t qn[5] = {4, 3, 3, 3, 2};
        for (int i = 0; i < 5; i++)
            if (!c->grid_given[i])
                kt_grid_set(grids[i], q[i], qn[i]);
        if (!c->warmup_given)
            c->warmup = 2;
        if (!c->reps_given)
            c->reps = 5;
    } else {
        if (!c->grid_given[0])
            KB_SET_GRID(grids[0], kb_gemm_tokens);
        if (!c->grid_given[1])
            KB_SET_GRID(grids[1], kb_decode_batch);
        if (!c->grid_given[2])
            KB_SET_GRID(grids[2], kb_decode_context);
        if (!c->grid_given[3])
            KB_SET_GRID(grids[3], kb_prefill_tokens);
        if (!c->grid_given[4])
            KB_SET_GRID(grids[4], kb_prefill_context);
    }
    struct kt_shard sh;
    if (kt_shard_make(&c->model, c->tp, &sh, &err)) {
        fprintf(stderr, "llmcap-kbench: error: %s\n", err.msg);
        return 2;
    }
    if (c->partition && c->partition % c->block_size != 0)
        return kb_usage_error("'--partition' must be a multiple of the block size (%d), got '%d'",
                              (int)c->block_size, (int)c->partition);
    return 0;
}

/* --- timing ---------------------------------------------------------------------- */

struct kb_bench {
    cudaStream_t stream;
    cudaEvent_t start[KB_MAX_REPS], stop[KB_MAX_REPS];
    void *flush;
    size_t flush_bytes;
    int32_t warmup, reps;
    double samples[KB_MAX_REPS];
};

typedef cudaError_t (*kb_op_fn)(void *ctx);

/*
 * Median time of one operation, in microseconds: `warmup` untimed runs, then `reps` runs,
 * each between two CUDA events on the stream and each preceded (outside the events) by a
 * write over twice the L2 cache, so no run finds its inputs in L2 left by the previous
 * one, as in a real forward pass where other layers' data pass through L2 in between.
 */
static cudaError_t kb_time(struct kb_bench *b, kb_op_fn fn, void *ctx, double *median_us)
{
    cudaError_t rc;
    for (int32_t i = 0; i < b->warmup; i++)
        if ((rc = fn(ctx)) != cudaSuccess)
            return rc;
    for (int32_t r = 0; r < b->reps; r++) {
        if (b->flush &&
            (rc = cudaMemsetAsync(b->flush, r & 0xff, b->flush_bytes, b->stream)) != cudaSuccess)
            return rc;
        if ((rc = cudaEventRecord(b->start[r], b->stream)) != cudaSuccess)
            return rc;
        if ((rc = fn(ctx)) != cudaSuccess)
            return rc;
        if ((rc = cudaEventRecord(b->stop[r], b->stream)) != cudaSuccess)
            return rc;
    }
    if ((rc = cudaStreamSynchronize(b->stream)) != cudaSuccess)
        return rc;
    for (int32_t r = 0; r < b->reps; r++) {
        float ms = 0.0f;
        if ((rc = cudaEventElapsedTime(&ms, b->start[r], b->stop[r])) != cudaSuccess)
            return rc;
        b->samples[r] = 1000.0 * (double)ms;
    }
    *median_us = kt_median(b->samples, (size_t)b->reps);
    return cudaSuccess;
}

struct kb_gemm_ctx {
    cublasHandle_t handle;
    cudaDataType_t type;
    int m, n, k; /* cuBLAS column-major: C[m x n] = A^T[m x k] B[k x n] */
    const void *w, *x;
    void *y;
    cublasStatus_t status;
};

/* Y[tokens][n] = X[tokens][k] W[n][k]^T, row-major, as torch.nn.functional.linear does;
 * column-major that is Y^T = W^T^T X^T, i.e. op(A) = A^T with A = W (ld k). */
static cudaError_t kb_gemm_op(void *p)
{
    struct kb_gemm_ctx *g = p;
    const float alpha = 1.0f, beta = 0.0f;
    g->status = cublasGemmEx(g->handle, CUBLAS_OP_T, CUBLAS_OP_N, g->m, g->n, g->k, &alpha, g->w,
                             g->type, g->k, g->x, g->type, g->k, &beta, g->y, g->type, g->m,
                             CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    return g->status == CUBLAS_STATUS_SUCCESS ? cudaSuccess : cudaErrorUnknown;
}

struct kb_decode_ctx {
    struct paged_attn_shape shape;
    enum kern_dtype dtype;
    void *out;
    const void *q, *k, *v;
    const int32_t *tables, *lens;
    int32_t max_blocks, num_seqs, max_len, partition;
    void *ws;
    size_t ws_bytes;
    cudaStream_t stream;
};

static cudaError_t kb_decode_op(void *p)
{
    struct kb_decode_ctx *d = p;
    return kern_decode(&d->shape, d->dtype, d->out, d->q, d->k, d->v, d->tables, d->max_blocks,
                       d->lens, d->num_seqs, d->max_len, d->partition, d->ws, d->ws_bytes,
                       d->stream);
}

struct kb_prefill_ctx {
    struct paged_attn_shape shape;
    enum kern_dtype dtype;
    void *out;
    const void *q, *k, *v;
    const int32_t *table;
    int32_t num_tokens, num_cached, splits;
    void *ws;
    size_t ws_bytes;
    cudaStream_t stream;
};

static cudaError_t kb_prefill_op(void *p)
{
    struct kb_prefill_ctx *d = p;
    return kern_prefill(&d->shape, d->dtype, d->out, d->q, d->k, d->v, d->table, d->num_tokens,
                        d->num_cached, d->splits, d->ws, d->ws_bytes, d->stream);
}

/* --- the run ----------------------------------------------------------------------- */

static int kb_cuda_fail(const char *what, cudaError_t rc)
{
    fprintf(stderr, "llmcap-kbench: error: %s: %s\n", what, cudaGetErrorString(rc));
    return 3;
}

#define KB_CUDA(call)                                                                              \
    do {                                                                                           \
        cudaError_t kb_rc_ = (call);                                                               \
        if (kb_rc_ != cudaSuccess) {                                                               \
            status = kb_cuda_fail(#call, kb_rc_);                                                  \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

static int kb_list_devices(void)
{
    int n = 0;
    cudaError_t rc = cudaGetDeviceCount(&n);
    if (rc != cudaSuccess || n < 1) {
        fprintf(stderr, "llmcap-kbench: error: no CUDA device (%s)\n",
                rc == cudaSuccess ? "none found" : cudaGetErrorString(rc));
        return 3;
    }
    for (int i = 0; i < n; i++) {
        struct cudaDeviceProp p;
        if ((rc = cudaGetDeviceProperties(&p, i)) != cudaSuccess)
            return kb_cuda_fail("cudaGetDeviceProperties", rc);
        const char *id = kt_gpu_catalog_id(p.name);
        printf("%d\t%s\t%s\tsm_%d%d\t%d SMs\t%.1f GiB\n", i, p.name, id ? id : "-", p.major,
               p.minor, p.multiProcessorCount, (double)p.totalGlobalMem / (1024.0 * 1024 * 1024));
    }
    return 0;
}

static int kb_check(void)
{
    const struct kcheck_case *cases;
    size_t n = kcheck_cases(&cases);
    const enum kern_dtype dts[2] = {KERN_BF16, KERN_FP16};
    int failed = 0, total = 0;
    for (int di = 0; di < 2; di++) {
        for (size_t i = 0; i < n; i++) {
            struct kcheck_result r;
            struct sim_err err = {0};
            total++;
            int rc = kcheck_run(&cases[i], dts[di], 1000 + i, &r, &err);
            if (rc) {
                fprintf(stderr, "llmcap-kbench: check %-42s %s: error: %s\n", cases[i].name,
                        kern_dtype_name(dts[di]), err.msg);
                failed++;
                if (rc == SIM_EIO)
                    return 3;
                continue;
            }
            fprintf(stderr,
                    "llmcap-kbench: check %-42s %s: max |err| %.3g (tol %.3g, max |ref| "
                    "%.3g) %s\n",
                    cases[i].name, kern_dtype_name(dts[di]), r.max_abs_err, r.tolerance,
                    r.max_abs_ref, r.pass ? "ok" : "MISMATCH");
            failed += !r.pass;
        }
    }
    if (failed) {
        fprintf(stderr, "llmcap-kbench: check: %d of %d cases failed\n", failed, total);
        return 1;
    }
    fprintf(stderr, "llmcap-kbench: check: all %d cases passed\n", total);
    return 0;
}

static void kb_date_utc(char *out, size_t n)
{
    time_t now = time(NULL); /* provenance of a measurement, not model code */
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, n, "%Y-%m-%d", &tm);
}

static void kb_driver_version(char *out, size_t n)
{
    FILE *f = fopen("/proc/driver/nvidia/version", "r");
    if (f) {
        char text[4096];
        size_t len = fread(text, 1, sizeof text - 1, f);
        text[len] = '\0';
        fclose(f);
        if (kt_parse_nvrm_version(text, out, n) == 0)
            return;
    }
    int v = 0;
    char api[32] = "unknown";
    if (cudaDriverGetVersion(&v) == cudaSuccess)
        kt_cuda_version_string(v, api, sizeof api);
    snprintf(out, n, "CUDA driver API %s", api);
}

static double kb_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* progress display only */
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int32_t kb_grid_max(const struct kt_grid *g)
{
    return g->v[g->n - 1];
}

static int kb_measure(const struct kb_config *c)
{
    int status = 0;
    struct kt_table *t = calloc(1, sizeof *t);
    struct kb_bench *b = calloc(1, sizeof *b);
    cublasHandle_t handle = NULL;
    void *w = NULL, *x = NULL, *y = NULL, *kc = NULL, *vc = NULL, *q = NULL, *o = NULL, *ws = NULL;
    size_t ws_bytes = 0;
    int32_t *tables = NULL, *lens = NULL, *htables = NULL, *hlens = NULL;
    int n_events = 0;
    FILE *out = NULL;
    char tmp_path[4096] = "";
    struct sim_err err = {0};
    if (!t || !b) {
        fprintf(stderr, "llmcap-kbench: error: out of memory\n");
        free(t);
        free(b);
        return 3;
    }

    struct kt_shard sh;
    if (kt_shard_make(&c->model, c->tp, &sh, &err)) {
        fprintf(stderr, "llmcap-kbench: error: %s\n", err.msg);
        status = 2;
        goto done;
    }
    struct cudaDeviceProp prop;
    KB_CUDA(cudaSetDevice(c->device));
    KB_CUDA(cudaGetDeviceProperties(&prop, c->device));
    if (prop.major < 8) {
        fprintf(stderr,
                "llmcap-kbench: error: '%s' has compute capability %d.%d; the kernels need "
                "8.0 or newer\n",
                prop.name, prop.major, prop.minor);
        status = 3;
        goto done;
    }

    /* provenance */
    struct kt_provenance *pv = &t->prov;
    snprintf(pv->gpu, sizeof pv->gpu, "%s", prop.name);
    if (c->gpu_catalog[0]) {
        snprintf(pv->gpu_catalog, sizeof pv->gpu_catalog, "%s", c->gpu_catalog);
    } else {
        const char *id = kt_gpu_catalog_id(prop.name);
        if (!id) {
            fprintf(stderr,
                    "llmcap-kbench: error: no llmcap catalog id known for '%s': pass "
                    "--gpu-catalog ID\n",
                    prop.name);
            status = 2;
            goto done;
        }
        snprintf(pv->gpu_catalog, sizeof pv->gpu_catalog, "%s", id);
    }
    kb_driver_version(pv->driver, sizeof pv->driver);
    int rt = 0;
    KB_CUDA(cudaRuntimeGetVersion(&rt));
    kt_cuda_version_string(rt, pv->cuda, sizeof pv->cuda);
    kb_date_utc(pv->date, sizeof pv->date);
    snprintf(pv->tool, sizeof pv->tool, "llmcap-kbench %s", LLMCAP_VERSION);
    snprintf(pv->git, sizeof pv->git, "%s", LLMCAP_GIT_DESCRIBE);
    pv->warmup = c->warmup;
    pv->repetitions = c->reps;
    pv->l2_flush = c->l2_flush;
    pv->seed = c->seed;
    pv->decode_partition_tokens = c->partition;
    snprintf(pv->decode_kernel, sizeof pv->decode_kernel,
             "llmcap paged decode: block per (seq, kv head, <=8 q heads, partition), 4 warps, "
             "fp32 softmax, split-k above one partition");
    snprintf(pv->prefill_kernel, sizeof pv->prefill_kernel,
             "llmcap paged prefill: FlashAttention-2 style, mma.sync m16n8k16, 64x64 tiles, "
             "causal, split-kv for short chunks");
    snprintf(pv->gemm, sizeof pv->gemm,
             "cublasGemmEx %s in/out, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT, Y = X W^T",
             kern_dtype_name(c->dtype));
    snprintf(pv->note, sizeof pv->note,
             "one tensor-parallel shard (tp %d: %d query heads, %d kv heads, intermediate %d, "
             "vocab %d per shard) on one GPU; no all-reduce measured; %d SMs, L2 %d KiB; "
             "compute capability %d.%d",
             (int)sh.tp, (int)sh.num_heads, (int)sh.num_kv_heads, (int)sh.intermediate_size,
             (int)sh.vocab_size, prop.multiProcessorCount, prop.l2CacheSize / 1024, prop.major,
             prop.minor);
    t->model = c->model;
    snprintf(t->dtype, sizeof t->dtype, "%s", kern_dtype_name(c->dtype));
    t->tensor_parallel_size = c->tp;
    t->block_size = c->block_size;
    t->gemm_tokens = c->gemm_tokens;
    t->decode_batch = c->decode_batch;
    t->decode_context = c->decode_context;
    t->prefill_tokens = c->prefill_tokens;
    t->prefill_context = c->prefill_context;

    fprintf(stderr,
            "llmcap-kbench: %s (%s), %s %s tp %d (shard: %d q heads, %d kv heads), block %d, "
            "%d warm-up + %d timed runs per point\n",
            pv->gpu, pv->gpu_catalog, c->model.name, t->dtype, (int)c->tp, (int)sh.num_heads,
            (int)sh.num_kv_heads, (int)c->block_size, (int)c->warmup, (int)c->reps);

    /* setup */
    b->warmup = c->warmup;
    b->reps = c->reps;
    KB_CUDA(cudaStreamCreateWithFlags(&b->stream, cudaStreamNonBlocking));
    for (; n_events < c->reps; n_events++) {
        KB_CUDA(cudaEventCreate(&b->start[n_events]));
        cudaError_t erc = cudaEventCreate(&b->stop[n_events]);
        if (erc != cudaSuccess) {
            cudaEventDestroy(b->start[n_events]);
            status = kb_cuda_fail("cudaEventCreate", erc);
            goto done;
        }
    }
    if (c->l2_flush) {
        b->flush_bytes = 2 * (size_t)(prop.l2CacheSize > 0 ? prop.l2CacheSize : 64 << 20);
        KB_CUDA(cudaMalloc(&b->flush, b->flush_bytes));
    }
    const enum kern_dtype dt = c->dtype;
    const cudaDataType_t ctype = dt == KERN_BF16 ? CUDA_R_16BF : CUDA_R_16F;
    const double t0 = kb_now_s();

    /* GEMMs */
    {
        int64_t max_wn = 0, max_k = 0, max_n = 0;
        for (int g = 0; g < KT_GEMM_N; g++) {
            struct kt_gemm_shape s = kt_gemm_shape_of(&sh, (enum kt_gemm)g);
            max_wn = s.n * s.k > max_wn ? s.n * s.k : max_wn;
            max_k = s.k > max_k ? s.k : max_k;
            max_n = s.n > max_n ? s.n : max_n;
        }
        const int64_t max_m = kb_grid_max(&c->gemm_tokens);
        KB_CUDA(cudaMalloc(&w, (size_t)max_wn * 2));
        KB_CUDA(cudaMalloc(&x, (size_t)(max_m * max_k) * 2));
        KB_CUDA(cudaMalloc(&y, (size_t)(max_m * max_n) * 2));
        KB_CUDA(
            kern_fill_uniform(w, dt, (size_t)max_wn, c->seed * 16 + 1, -0.05f, 0.05f, b->stream));
        KB_CUDA(kern_fill_uniform(x, dt, (size_t)(max_m * max_k), c->seed * 16 + 2, -1.0f, 1.0f,
                                  b->stream));
        if (cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS ||
            cublasSetStream(handle, b->stream) != CUBLAS_STATUS_SUCCESS) {
            fprintf(stderr, "llmcap-kbench: error: cannot create a cuBLAS handle\n");
            status = 3;
            goto done;
        }
        struct kb_gemm_ctx g = {.handle = handle, .type = ctype, .w = w, .x = x, .y = y};
        const size_t npts = (size_t)KT_GEMM_N * c->gemm_tokens.n;
        size_t pt = 0;
        for (int gi = 0; gi < KT_GEMM_N; gi++) {
            struct kt_gemm_shape s = kt_gemm_shape_of(&sh, (enum kt_gemm)gi);
            for (size_t i = 0; i < c->gemm_tokens.n; i++) {
                g.m = (int)s.n;
                g.n = (int)c->gemm_tokens.v[i];
                g.k = (int)s.k;
                double us;
                cudaError_t rc = kb_time(b, kb_gemm_op, &g, &us);
                if (rc != cudaSuccess) {
                    if (g.status != CUBLAS_STATUS_SUCCESS)
                        fprintf(stderr, "llmcap-kbench: error: cublasGemmEx %s: status %d\n",
                                kt_gemm_name((enum kt_gemm)gi), (int)g.status);
                    else
                        kb_cuda_fail("gemm", rc);
                    status = 3;
                    goto done;
                }
                t->gemm_us[gi][i] = us;
                fprintf(stderr, "[gemm %3zu/%zu] %-12s tokens %5d  n %6d k %6d  %10.2f us\n", ++pt,
                        npts, kt_gemm_name((enum kt_gemm)gi), (int)g.n, g.m, g.k, us);
            }
        }
        cublasDestroy(handle);
        handle = NULL;
        cudaFree(y);
        cudaFree(x);
        cudaFree(w);
        y = x = w = NULL;
    }

    /* the KV cache: enough blocks for the largest decode batch at the longest context and
     * for the longest prefill; one random permutation of blocks serves every point */
    struct paged_attn_shape shape =
        paged_attn_shape_make(sh.num_heads, sh.num_kv_heads, sh.head_dim, c->block_size);
    const int32_t bs = c->block_size;
    const int32_t max_b = kb_grid_max(&c->decode_batch);
    const int32_t max_c = kb_grid_max(&c->decode_context);
    const int32_t max_pre = kb_grid_max(&c->prefill_tokens) + kb_grid_max(&c->prefill_context);
    const int32_t dec_blocks_per_seq = (max_c + bs - 1) / bs;
    const int32_t pre_blocks = (max_pre + bs - 1) / bs;
    int64_t num_blocks = (int64_t)max_b * dec_blocks_per_seq;
    if (num_blocks < pre_blocks)
        num_blocks = pre_blocks;
    const size_t tok_elems = (size_t)shape.num_kv_heads * (size_t)shape.head_dim;
    const size_t cache_elems = (size_t)num_blocks * (size_t)bs * tok_elems;
    {
        size_t free_b = 0, total_b = 0;
        KB_CUDA(cudaMemGetInfo(&free_b, &total_b));
        if (2 * cache_elems * 2 + ((size_t)1 << 30) > free_b) {
            fprintf(stderr,
                    "llmcap-kbench: error: the KV cache for batch %d x context %d needs %.1f "
                    "GiB, the GPU has %.1f GiB free: use smaller --decode-batch or "
                    "--decode-context\n",
                    (int)max_b, (int)max_c, (double)(4 * cache_elems) / (1 << 30),
                    (double)free_b / (1 << 30));
            status = 2;
            goto done;
        }
    }
    KB_CUDA(cudaMalloc(&kc, cache_elems * 2));
    KB_CUDA(cudaMalloc(&vc, cache_elems * 2));
    KB_CUDA(kern_fill_uniform(kc, dt, cache_elems, c->seed * 16 + 3, -1.0f, 1.0f, b->stream));
    KB_CUDA(kern_fill_uniform(vc, dt, cache_elems, c->seed * 16 + 4, -1.0f, 1.0f, b->stream));
    htables = malloc((size_t)num_blocks * sizeof *htables);
    hlens = malloc((size_t)max_b * sizeof *hlens);
    if (!htables || !hlens) {
        fprintf(stderr, "llmcap-kbench: error: out of memory\n");
        status = 3;
        goto done;
    }
    {
        uint64_t st = c->seed * 0x9e3779b97f4a7c15ull + 5;
        for (int64_t i = 0; i < num_blocks; i++)
            htables[i] = (int32_t)i;
        for (int64_t i = num_blocks - 1; i > 0; i--) { /* Fisher-Yates, xorshift64 */
            st ^= st << 13;
            st ^= st >> 7;
            st ^= st << 17;
            int64_t k = (int64_t)(st % (uint64_t)(i + 1));
            int32_t tmp = htables[i];
            htables[i] = htables[k];
            htables[k] = tmp;
        }
    }
    KB_CUDA(cudaMalloc((void **)&tables, (size_t)num_blocks * sizeof *tables));
    KB_CUDA(cudaMalloc((void **)&lens, (size_t)max_b * sizeof *lens));
    /* everything on the benchmark stream: it does not wait for the legacy default stream */
    KB_CUDA(cudaMemcpyAsync(tables, htables, (size_t)num_blocks * sizeof *tables,
                            cudaMemcpyHostToDevice, b->stream));
    const int32_t max_q_rows =
        max_b > kb_grid_max(&c->prefill_tokens) ? max_b : kb_grid_max(&c->prefill_tokens);
    const size_t q_elems = (size_t)max_q_rows * (size_t)shape.num_heads * (size_t)shape.head_dim;
    KB_CUDA(cudaMalloc(&q, q_elems * 2));
    KB_CUDA(cudaMalloc(&o, q_elems * 2));
    KB_CUDA(kern_fill_uniform(q, dt, q_elems, c->seed * 16 + 6, -1.0f, 1.0f, b->stream));
    KB_CUDA(cudaStreamSynchronize(b->stream));

    /* decode */
    {
        size_t ws_max = 0;
        for (size_t bi = 0; bi < c->decode_batch.n; bi++)
            for (size_t ci = 0; ci < c->decode_context.n; ci++) {
                int32_t nb = c->decode_batch.v[bi], ctx = c->decode_context.v[ci];
                int32_t p = c->partition ? c->partition
                                         : kern_decode_partition_tokens(&shape, nb, ctx,
                                                                        prop.multiProcessorCount);
                size_t wsb = kern_decode_workspace_bytes(&shape, nb, ctx, p);
                ws_max = wsb > ws_max ? wsb : ws_max;
            }
        if (ws_max) {
            KB_CUDA(cudaMalloc(&ws, ws_max));
            ws_bytes = ws_max;
        }
        struct kb_decode_ctx d = {.shape = shape,
                                  .dtype = dt,
                                  .out = o,
                                  .q = q,
                                  .k = kc,
                                  .v = vc,
                                  .tables = tables,
                                  .lens = lens,
                                  .max_blocks = dec_blocks_per_seq,
                                  .ws = ws,
                                  .ws_bytes = ws_max,
                                  .stream = b->stream};
        const size_t npts = c->decode_batch.n * c->decode_context.n;
        size_t pt = 0;
        for (size_t bi = 0; bi < c->decode_batch.n; bi++) {
            for (size_t ci = 0; ci < c->decode_context.n; ci++) {
                d.num_seqs = c->decode_batch.v[bi];
                d.max_len = c->decode_context.v[ci];
                d.partition = c->partition
                                  ? c->partition
                                  : kern_decode_partition_tokens(&shape, d.num_seqs, d.max_len,
                                                                 prop.multiProcessorCount);
                for (int32_t s = 0; s < d.num_seqs; s++)
                    hlens[s] = d.max_len;
                KB_CUDA(cudaMemcpyAsync(lens, hlens, (size_t)d.num_seqs * sizeof *lens,
                                        cudaMemcpyHostToDevice, b->stream));
                double us;
                KB_CUDA(kb_time(b, kb_decode_op, &d, &us));
                t->decode_us[bi][ci] = us;
                fprintf(stderr,
                        "[decode %3zu/%zu] batch %4d context %6d partition %3d  %10.2f us\n", ++pt,
                        npts, (int)d.num_seqs, (int)d.max_len, (int)d.partition, us);
            }
        }
    }

    /* prefill: one sequence, its blocks the first ones of the permutation */
    {
        size_t ws_max = 0;
        for (size_t ti = 0; ti < c->prefill_tokens.n; ti++)
            for (size_t ci = 0; ci < c->prefill_context.n; ci++) {
                int32_t nt = c->prefill_tokens.v[ti], nc = c->prefill_context.v[ci];
                int32_t sp = kern_prefill_splits(&shape, nt, nc, prop.multiProcessorCount);
                size_t wsb = kern_prefill_workspace_bytes(&shape, nt, nc, sp);
                ws_max = wsb > ws_max ? wsb : ws_max;
            }
        if (ws_max > ws_bytes) {
            cudaFree(ws);
            ws = NULL;
            KB_CUDA(cudaMalloc(&ws, ws_max));
            ws_bytes = ws_max;
        }
        struct kb_prefill_ctx pf = {.shape = shape,
                                    .dtype = dt,
                                    .out = o,
                                    .q = q,
                                    .k = kc,
                                    .v = vc,
                                    .table = tables,
                                    .ws = ws,
                                    .ws_bytes = ws_bytes,
                                    .stream = b->stream};
        const size_t npts = c->prefill_tokens.n * c->prefill_context.n;
        size_t pt = 0;
        for (size_t ti = 0; ti < c->prefill_tokens.n; ti++) {
            for (size_t ci = 0; ci < c->prefill_context.n; ci++) {
                pf.num_tokens = c->prefill_tokens.v[ti];
                pf.num_cached = c->prefill_context.v[ci];
                pf.splits = kern_prefill_splits(&shape, pf.num_tokens, pf.num_cached,
                                                prop.multiProcessorCount);
                double us;
                KB_CUDA(kb_time(b, kb_prefill_op, &pf, &us));
                t->prefill_us[ti][ci] = us;
                fprintf(stderr,
                        "[prefill %3zu/%zu] tokens %5d context %6d kv splits %2d  %10.2f us\n",
                        ++pt, npts, (int)pf.num_tokens, (int)pf.num_cached, (int)pf.splits, us);
            }
        }
    }
    fprintf(stderr, "llmcap-kbench: measured in %.1f s\n", kb_now_s() - t0);

    /* write: to a temporary file renamed into place, so a failure leaves no table */
    if (c->output) {
        snprintf(tmp_path, sizeof tmp_path, "%s.tmp", c->output);
        out = fopen(tmp_path, "w");
        if (!out) {
            fprintf(stderr, "llmcap-kbench: error: cannot write '%s': %s\n", tmp_path,
                    strerror(errno));
            tmp_path[0] = '\0';
            status = 3;
            goto done;
        }
    }
    int wrc = kt_table_write(out ? out : stdout, t, &err);
    if (out) {
        if (fclose(out) != 0 && wrc == SIM_OK)
            wrc = SIM_EIO;
        out = NULL;
    }
    if (wrc != SIM_OK) {
        fprintf(stderr, "llmcap-kbench: error: %s\n",
                err.msg[0] ? err.msg : "cannot write the table");
        status = 3;
        goto done;
    }
    if (c->output) {
        if (rename(tmp_path, c->output) != 0) {
            fprintf(stderr, "llmcap-kbench: error: cannot rename '%s' to '%s': %s\n", tmp_path,
                    c->output, strerror(errno));
            status = 3;
            goto done;
        }
        tmp_path[0] = '\0';
        fprintf(stderr, "llmcap-kbench: wrote %s\n", c->output);
    }

done:
    if (out)
        fclose(out);
    if (tmp_path[0])
        remove(tmp_path);
    if (handle)
        cublasDestroy(handle);
    cudaFree(ws);
    cudaFree(o);
    cudaFree(q);
    cudaFree(lens);
    cudaFree(tables);
    cudaFree(vc);
    cudaFree(kc);
    cudaFree(y);
    cudaFree(x);
    cudaFree(w);
    cudaFree(b->flush);
    for (int i = 0; i < n_events; i++) {
        cudaEventDestroy(b->start[i]);
        cudaEventDestroy(b->stop[i]);
    }
    if (b->stream)
        cudaStreamDestroy(b->stream);
    free(hlens);
    free(htables);
    free(b);
    free(t);
    return status;
}

int main(int argc, char **argv)
{
    struct kb_config c;
    int rc = kb_parse(argc, argv, &c);
    if (rc)
        return rc;
    if (c.list_devices)
        return kb_list_devices();
    int n = 0;
    cudaError_t crc = cudaGetDeviceCount(&n);
    if (crc != cudaSuccess || n < 1) {
        fprintf(stderr,
                "llmcap-kbench: error: no CUDA device (%s): nothing measured, no table "
                "written\n",
                crc == cudaSuccess ? "none found" : cudaGetErrorString(crc));
        return 3;
    }
    if (c.device >= n)
        return kb_usage_error("'--device' must be below the device count (%d), got '%d'", n,
                              c.device);
    if (c.check) {
        if ((crc = cudaSetDevice(c.device)) != cudaSuccess)
            return kb_cuda_fail("cudaSetDevice", crc);
        return kb_check();
    }
    return kb_measure(&c);
}
