/*
 * latency.h: the step-time interface: how long one engine iteration takes.
 *
 * The engine model describes each iteration (one forward pass over a continuous batch)
 * as a struct lat_batch; a latency model turns it into microseconds. Models: `constant`
 * (a fixed prefill time per token and a fixed time per decode iteration), `linear`
 * (fixed + per prefill token + per decode sequence + per context token), `roofline`
 * (per-operator compute/bandwidth bounds from the catalogs) and `table` (measured or
 * published per-operator times, interpolated). Every model carries its provenance
 * string, which the run records: a modelled number is never presented as a measurement.
 */
#ifndef LLMCAP_MODELS_LATENCY_H
#define LLMCAP_MODELS_LATENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/core/err.h"

enum lat_kind { LAT_CONSTANT, LAT_LINEAR, LAT_ROOFLINE, LAT_TABLE };

#define LAT_PATH_MAX 1024

/* Upper bounds on the numbers a scenario or a table gives a step-time model, far above
 * any real engine and small enough that a step's time stays finite and inside the
 * simulated clock (sim/core/evq.h): a step's fixed part at most an hour, a cost per
 * token or per sequence at most a second, per context token at most a millisecond. A
 * batch large enough to push a step past the clock anyway is refused at run time. */
#define LAT_STEP_MS_MAX 3600000.0
#define LAT_PER_ITEM_US_MAX 1000000.0
#define LAT_PER_CONTEXT_NS_MAX 1000000.0
/* A table cell or overhead in microseconds: at most an hour. */
#define LAT_TABLE_US_MAX 3600000000.0

/* What the scenario says under engine.latency (units in the names). */
struct lat_spec {
    enum lat_kind kind;
    char table_path[LAT_PATH_MAX]; /* table: JSON file, resolved; "" = look it up */
    char calibration_path[LAT_PATH_MAX]; /* roofline/table: CAL.json, resolved; "" = none */
    /* constant */
    double prefill_per_token_us;
    double decode_iteration_ms;
    /* linear */
    double fixed_ms;
    double per_prefill_token_us;
    double per_decode_seq_us;
    double per_context_token_ns;
    double frontend_ms; /* linear: per request, added to TTFT and e2e (API server) */
    double frontend_request_ms; /* linear: API-server work per request (shared by those it holds) */
};

/*
 * One iteration's batch. A prefill chunk of `len` new tokens starting at position
 * `start` (tokens already in the KV cache) contributes 1 to n_prefill, len to
 * prefill_tokens, start + len to prefill_kv_tokens and len*start + len*(len+1)/2 to
 * prefill_qk_pairs (causal query-key pairs). A decoding sequence whose KV cache holds L
 * tokens after this step's token is appended contributes 1 to n_decode and L to
 * decode_kv_tokens.
 */
struct lat_batch {
    int32_t n_prefill;
    int64_t prefill_tokens;
    int64_t prefill_kv_tokens;
    int64_t prefill_qk_pairs;
    int32_t n_decode;
    int64_t decode_kv_tokens;
};

struct lat_model;
struct catalog;     /* models/catalog.h */
struct roof_params; /* models/roofline.h */

struct lat_model_ops {
    /* Iteration time in microseconds (>= 0) for a non-empty batch. */
    double (*step_us)(const struct lat_model *m, const struct lat_batch *b);
    void (*free)(struct lat_model *m);
};

/* Implementations embed this as their first member. */
struct lat_model {
    const struct lat_model_ops *ops;
    enum lat_kind kind;
    /* "modelled: linear (scenario coefficients)", "measured: H100 SXM 80GB, driver ...",
     * "published: <source>", "modelled: roofline (...)". */
    char provenance[768];
    /* Per request, outside the iteration: API server, tokeniser and detokeniser time the
     * engine adds to each request's TTFT and end-to-end time (0 for constant/linear). */
    double frontend_us;
    /* Per request, the API server's own time (HTTP, tokenising, queueing the request): it
     * serves one request at a time, so a burst queues there (0 for constant/linear). */
    double frontend_req_us;
};

static inline double lat_step_us(const struct lat_model *m, const struct lat_batch *b)
{
    return m->ops->step_us(m, b);
}

/* The step times of k decode-only iterations of n sequences whose KV caches hold
 * kv0 + n * i tokens at iteration i = 1..k: out[i - 1] is lat_step_us() of that batch,
 * bit for bit, at a fraction of the cost for the table model (a decode run's steps). */
void lat_decode_steps_us(const struct lat_model *m, int32_t n, int64_t kv0, int32_t k,
                         double *out);

/* Free a model from any constructor below (NULL is a no-op). */
void lat_model_free(struct lat_model *m);

/* Constant model: step = prefill_tokens * prefill_per_token_us
 *                       + (n_decode > 0 ? decode_iteration_ms * 1000 : 0).
 * Caller owns: lat_model_free(). NULL + err on bad parameters or OOM. */
struct lat_model *lat_constant_new(double prefill_per_token_us, double decode_iteration_ms,
                                   struct sim_err *err);

/* Linear model: step = fixed_ms*1000 + per_prefill_token_us*prefill_tokens
 *   + per_decode_seq_us*n_decode + per_context_token_ns/1000*(prefill_kv_tokens +
 *   decode_kv_tokens). Caller owns: lat_model_free(). */
struct lat_model *lat_linear_new(double fixed_ms, double per_prefill_token_us,
                                 double per_decode_seq_us, double per_context_token_ns,
                                 struct sim_err *err);

/*
 * How vLLM runs the model: the version-specific terms of the step model
 * (docs/latency-models.md, "vLLM versions"). All zero means current vLLM
 * (LAT_VLLM_CURRENT) with CUDA graphs and the default max_num_seqs.
 */
struct lat_exec {
    int vllm_major, vllm_minor; /* 0.0: LAT_VLLM_CURRENT */
    bool enforce_eager;         /* no CUDA graphs */
    int32_t max_num_seqs;       /* bounds the capture sizes; 0: 256 */
};

#define LAT_VLLM_CURRENT_MAJOR 0
#define LAT_VLLM_CURRENT_MINOR 21
#define LAT_VLLM_CURRENT "0.21"

/* The resolved terms. */
#define LAT_MAX_CAPTURE 128
struct lat_exec_terms {
    int major, minor;
    bool v1;          /* the V1 engine (vLLM >= 0.8) */
    bool async_sched; /* async scheduling: host work overlaps the GPU (V1, >= 0.12) */
    bool graphs;      /* CUDA graphs (not enforce_eager) */
    bool graph_mixed; /* V1 piecewise graphs also cover prefill and mixed batches */
    int32_t n_sizes;
    int32_t sizes[LAT_MAX_CAPTURE]; /* capture sizes, ascending */
};

/* Resolve `x` (NULL = current vLLM, defaults) into `out`. */
void lat_exec_resolve(const struct lat_exec *x, struct lat_exec_terms *out);

/* Whether a batch of `tokens` tokens (`decode_only`: no prefill) runs as a CUDA graph,
 * and the captured size it is padded to (*padded = tokens when it runs eagerly). */
bool lat_exec_graphed(const struct lat_exec_terms *t, int64_t tokens, bool decode_only,
                      int64_t *padded);

/* Parse "0.6", "0.6.3", "v0.10.1": SIM_OK or SIM_EINVAL. */
int lat_vllm_version_parse(const char *s, int *major, int *minor);

/* What a catalog-backed model (roofline, table) needs to know about the deployment. */
struct lat_context {
    const char *model;    /* catalog name, e.g. "llama-3-8b" */
    const char *gpu;      /* catalog name, e.g. "h100-sxm-80gb" */
    const char *dtype;    /* "bf16", "fp8", "int8", "int4-awq", "int4-gptq" */
    const char *kv_dtype; /* "auto" or "fp8" */
    int tensor_parallel_size;
    const struct catalog *catalog; /* may be NULL for constant/linear */
    struct lat_exec exec;          /* vLLM version and flags (zero: current vLLM) */
    const char *calibration;       /* CAL.json path or NULL: replaces the fitted terms */
    const struct roof_params *params; /* NULL, or parameters being fitted (llmcap calibrate):
                                         they replace the calibration and the fitted ones */
    int block_size; /* the engine's KV block size (tokens) a table must match; 0: unchecked */
    const struct cat_gpu *gpu_entry; /* when set, the GPU itself (a MIG slice's, models/mig.h)
                                        instead of looking `gpu` up in the catalog */
};

/*
 * Roofline model (models/roofline.h) with the fitted efficiencies for ctx->model in
 * ctx->dtype on ctx->tensor_parallel_size x ctx->gpu, all looked up in ctx->catalog
 * (required). Provenance "modelled: roofline v1 (...)". Caller owns: lat_model_free().
 * NULL + err for unknown names (with suggestions), a bad dtype, a tensor_parallel_size
 * that does not divide the heads, or a GPU whose catalog entry lacks a number the
 * roofline needs.
 */
struct lat_model *lat_roofline_new(const struct lat_context *ctx, struct sim_err *err);

/*
 * Table model from the JSON latency table at `path` (docs/latency-tables.md; lookups and
 * out-of-grid rules in docs/latency-models.md). The table must be for ctx's model, dtype,
 * KV dtype and tensor_parallel_size (and, when ctx->catalog is set, have the catalog's
 * shape); a TP > 1 table without `allreduce` uses the roofline's all-reduce, which needs
 * ctx->catalog. `ctx` NULL skips those checks (a TP > 1 table then needs `allreduce`).
 * Provenance "measured: ...", "published: ..." or "modelled: roofline table ...".
 * Caller owns: lat_model_free(). NULL + err (file:line:col for a bad table).
 */
struct lat_model *lat_table_new(const char *path, const struct lat_context *ctx,
                                struct sim_err *err);

/* Folder of the shipped tables: $LLMCAP_TABLES_DIR when set and not empty, else the
 * folder compiled in (models/tables). Borrowed. */
const char *lat_tables_dir(void);

/* The default table path for ctx: "<dir>/<gpu>.<model>.<dtype>[.tp<N>].json" (names lower
 * case, no suffix for TP 1). SIM_OK, or SIM_EINVAL when it does not fit in n bytes. */
int lat_table_default_path(char *out, size_t n, const char *dir, const struct lat_context *ctx);

/* The table for ctx in `dir`: its default path when that file exists, else the default
 * path of a catalog model of the same shape (ctx->catalog; llama-3.1-70b finds the
 * llama-3-70b table). SIM_OK with the path in out; SIM_ENOENT (out: ctx's own default
 * path) when there is none; SIM_EINVAL when a path does not fit in n bytes. */
int lat_table_find(char *out, size_t n, const char *dir, const struct lat_context *ctx);

/*
 * Build the model a scenario asks for. Caller owns: lat_model_free(). NULL + err when the
 * spec cannot be honoured. `table` with an empty table_path looks for
 * lat_table_find(lat_tables_dir()); when there is no such file the error
 * names it and suggests `model: roofline` (the factory never falls back on its own).
 */
struct lat_model *lat_model_from_spec(const struct lat_spec *spec,
                                      const struct lat_context *ctx, struct sim_err *err);

const char *lat_kind_name(enum lat_kind k);

#endif
