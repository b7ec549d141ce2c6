/*
 * workload.h: where requests come from, streamed one at a time.
 *
 * A workload is either a trace replay (Azure LLM inference CSV 2023/2024, Mooncake JSONL,
 * plain CSV) or a synthetic generator (Poisson, Gamma or constant-rate arrivals with the
 * rate modulated by a diurnal curve, steps and spikes; prompt and output lengths from
 * constant, uniform, exponential, lognormal or empirical distributions). Either way the
 * simulator pulls the next request only when it needs it: nothing is loaded whole, and
 * memory does not grow with the trace.
 */
#ifndef LLMCAP_SIM_WORKLOAD_H
#define LLMCAP_SIM_WORKLOAD_H

#include <stdint.h>
#include <stdio.h>

#include "sim/core/err.h"
#include "sim/core/rng.h"
#include "sim/config/scenario.h"
#include "sim/serving/kvcache.h"

/* One request as it arrives at the gateway. */
struct wl_request {
    int64_t arrival_us; /* simulated time from the run's start, non-decreasing */
    int32_t prompt_tokens;
    int32_t output_tokens;
    const uint32_t *hash_ids; /* Mooncake prefix-block hashes (borrowed: valid until the
                                 next workload_next call), or NULL */
    uint32_t n_hash_ids;
    uint64_t session_id;      /* hash of the trace's session column (FNV-1a 64), 0 = none */
    struct kv_prefix prefix;  /* shared segments of the prompt (synthetic structure), n = 0:
                                 none; used when there are no hash_ids */
    uint64_t source_line;     /* 1-based line in the trace file; 0 for synthetic */
    int32_t cls;              /* index in workload.classes; 0 without classes */
    uint64_t group;           /* prefix group (semantic cache): workload_group_key() of the
                                 trace's prefix_group column, or of "system_prompt:K" for a
                                 synthetic request with system prompt K (1 = most popular);
                                 0 = none */
    int32_t model; /* workload_open_routed(): index of the row's model among the names
                      given, -1 for a model none of them is; 0 otherwise */
};

/* The key of a prefix group's name (FNV-1a 64; never 0). */
uint64_t workload_group_key(const char *s, size_t n);

struct workload;

/*
 * Open the workload `spec` describes. Arrivals at or after `duration_us` are not
 * produced (-1: no limit). Random draws use `rng` (RNG_ARRIVALS, RNG_PROMPT_TOKENS,
 * RNG_OUTPUT_TOKENS, RNG_TRACE_SCALE), borrowed for the workload's life. Caller owns:
 * workload_close(). NULL + err on a missing or unreadable file, a bad header, or bad
 * parameters.
 */
struct workload *workload_open(const struct workload_spec *spec, int64_t duration_us,
                               struct rng_set *rng, struct sim_err *err);
/* As workload_open(), for a trace whose model column routes each request: every row is
 * kept (whatever its model) and wl_request.model is the index of its model among
 * models[0..n_models), or -1 (the spec's trace needs columns.model). */
struct workload *workload_open_routed(const struct workload_spec *spec, int64_t duration_us,
                                      struct rng_set *rng, const char *const *models,
                                      size_t n_models, struct sim_err *err);

/* Next request into `*out`: returns 1, or 0 at the end, or a negative SIM_E* code with
 * err naming file:line for a malformed row (unless skip_bad_rows). */
int workload_next(struct workload *w, struct wl_request *out, struct sim_err *err);

/* Rows skipped as malformed (skip_bad_rows) and rows outside the window so far. */
uint64_t workload_skipped_rows(const struct workload *w);

/* Rows (trace) that had 0 prompt or 0 output tokens, raised to 1 token: a request has at
 * least one prompt token and generates at least one token. Counted once per row. */
uint64_t workload_zero_token_rows(const struct workload *w);

/* How a trace was read, for the run's record: rows of other models left out, the unit of a
 * mapped arrival column in seconds (NAN for ISO 8601, fixed formats, synthetic load), and
 * a note ("gzip; time iso8601 (auto: ...)"; "" when there is nothing to say). `w` may be
 * NULL (no workload: zeros). */
void workload_trace_info(const struct workload *w, uint64_t *other_model_rows,
                         double *time_unit_s, char *note, size_t note_cap);

void workload_close(struct workload *w); /* NULL is a no-op */

/* ---- raw trace reading (also used by `llmcap trace`) ---------------------------- */

/* One row as the file has it, before windowing and scaling. */
struct trace_row {
    int64_t t_us;  /* arrival relative to the file's first row */
    int64_t abs_t_us; /* absolute time as written (epoch us for Azure, file units else) */
    int32_t prompt_tokens;
    int32_t output_tokens;
    const uint32_t *hash_ids; /* borrowed until the next call; NULL when none */
    uint32_t n_hash_ids;
    uint64_t session_id; /* FNV-1a 64 of the session column's text; 0 = no session */
    int32_t cls;         /* index of the class column's name in trace_opts.class_names;
                            -1 = no class column or an empty field */
    uint64_t group;      /* workload_group_key() of the prefix_group column; 0 = none */
    uint64_t line; /* 1-based (of the row's first line when a quoted field spans lines) */
    int32_t model; /* with trace_opts.route_models: the index of the row's model there, -1
                      for another model; else 0 */
};

struct trace_reader;

/* How to read a trace beyond its format. */
struct trace_opts {
    enum trace_format format;            /* TRACE_AUTO: detect from the first line */
    const struct trace_columns *columns; /* NULL or no arrival column: the format's own
                                            header; else a CSV with these column names */
    enum trace_time_format time_format;  /* of the mapped arrival column */
    const char *const *class_names;      /* the class column's allowed values */
    int n_class_names;
    const char *model;                   /* mapped model column: keep only this model's rows
                                            (NULL or "": all rows, which must name one
                                            model, unless routed) */
    const char *const *route_models;     /* keep every row and tell its model's index here
                                            (trace_row.model); NULL: not routed */
    size_t n_route_models;
};

/* Open `path` (plain, gzip or zstd: told by its first bytes) as `o` says. Caller owns:
 * trace_close(). */
struct trace_reader *trace_open_opts(const char *path, const struct trace_opts *o,
                                     struct sim_err *err);

/* Open `path` as `format` (TRACE_AUTO: detect from the header / first line). Caller
 * owns: trace_close(). */
struct trace_reader *trace_open(const char *path, enum trace_format format,
                                struct sim_err *err);
/* 1 = row read, 0 = end of file, < 0 = malformed (err: "path:line:col: ..."). With
 * `skip_bad`, malformed rows are counted and skipped instead. */
int trace_next(struct trace_reader *r, struct trace_row *row, bool skip_bad,
               struct sim_err *err);
enum trace_format trace_detected_format(const struct trace_reader *r);
uint64_t trace_bad_rows(const struct trace_reader *r);
/* Rows of other models skipped (trace_opts.model). */
uint64_t trace_other_model_rows(const struct trace_reader *r);
/* How the arrival times were read, once the first row was: "s", "ms", "us", "iso8601"
 * for a mapped CSV, with the reason when time_format was auto ("ms (auto: ...)"); ""
 * for the fixed formats and before the first row. */
const char *trace_time_note(const struct trace_reader *r);
/* "plain", "gzip" or "zstd". */
const char *trace_compression(const struct trace_reader *r);
void trace_close(struct trace_reader *r); /* NULL is a no-op */

const char *trace_format_name(enum trace_format f);

/* ---- `llmcap trace stats FILE` ------------------------------------------------------ */

/* Summary of one token column, as the file has it (0 counts kept). */
struct trace_len_stats {
    uint64_t sum_tokens;
    int32_t min_tokens, max_tokens;
    double mean_tokens;
    double p50_tokens, p90_tokens, p99_tokens; /* linear interpolation between order
                                                  statistics (GSL, R type 7) */
    uint64_t n_zero; /* rows with 0 in this column */
};

struct trace_stats {
    enum trace_format format; /* as detected */
    uint64_t n_rows;
    uint64_t n_bad_rows;   /* malformed rows skipped (only with skip_bad) */
    int64_t first_abs_us;  /* first and last timestamps as written (trace_row.abs_t_us) */
    int64_t last_abs_us;
    int64_t duration_us;   /* last - first */
    double mean_rate_per_s; /* (n_rows - 1) / duration: one over the mean inter-arrival
                               time; 0 when duration is 0 */
    uint64_t n_hash_ids;   /* hash_ids over all rows (Mooncake), else 0 */
    uint64_t n_sessions;   /* distinct session ids (mapped session column), else 0 */
    uint64_t n_other_model; /* rows of other models skipped (trace_opts.model) */
    char compression[8];   /* plain | gzip | zstd */
    char time_note[320];   /* trace_time_note() */
    struct trace_len_stats prompt, output;
};

/*
 * Read the whole trace `path` (as `o` says) and fill `st`. The token
 * columns are held in memory for the percentiles (an offline tool). Prints nothing.
 * Returns SIM_OK, or the first error as trace_next() reports it (unless skip_bad);
 * SIM_EINVAL for a trace with no rows.
 */
int trace_stats_read(const char *path, const struct trace_opts *o, bool skip_bad,
                     struct trace_stats *st, struct sim_err *err);

#endif
