/*
 * tsdb.h: a small in-memory time-series store of what Prometheus scraped from the
 * simulated replicas, read by the PromQL evaluator (sim/k8s/promql.h).
 *
 * A series is a metric name as exposed (e.g. "vllm:num_requests_waiting",
 * "vllm:time_to_first_token_seconds_bucket") plus a label set. Every string is interned
 * in the store, so callers may pass temporaries. Each series keeps its samples in a ring
 * buffer sized at creation from retention / scrape interval (plus slack): creating a
 * series may allocate, appending never does. Samples older than the ring holds are
 * dropped, oldest first.
 *
 * Only metrics that some registered query reads need to be stored at all: queries
 * register their metrics with tsdb_want() (promql_register() does it), and the scraper
 * asks tsdb_wants() before it materialises a metric's series.
 *
 * Times are simulated int64 microseconds. Semantics follow Prometheus 3: an instant
 * selector at t sees the newest sample in (t - lookback, t], unless that sample is a
 * staleness marker; a range selector [r] at t sees the samples in (t - r, t], markers
 * left out.
 */
#ifndef LLMCAP_SIM_TSDB_H
#define LLMCAP_SIM_TSDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/core/err.h"

/* Prometheus' default lookback delta (--query.lookback-delta): 5 minutes. */
#define TSDB_LOOKBACK_US ((int64_t)300 * 1000000)

/* Most labels one series may carry (the metric name is not a label here). */
#define TSDB_MAX_LABELS 8

/* A label set as callers write it: names and values are borrowed for the call only.
 * Order does not matter; a label with an empty value is the same as no label (as in
 * Prometheus); the same name twice is a caller bug (SIM_ASSERT). */
struct tsdb_label {
    const char *name;
    const char *value;
};
struct tsdb_labels {
    size_t n;
    struct tsdb_label l[TSDB_MAX_LABELS];
};

/* A label set as stored: interned string ids (see tsdb_str()), sorted by label name. */
struct tsdb_lpair {
    int32_t name;
    int32_t value;
};
struct tsdb_lset {
    uint32_t n;
    struct tsdb_lpair p[TSDB_MAX_LABELS];
};

struct tsdb;

/*
 * New empty store for targets scraped every `scrape_interval_us`, keeping at least
 * `retention_us` of samples per series (queries raise it with tsdb_retain()). Both must be
 * > 0. Caller owns: tsdb_free(). NULL + err on bad arguments (SIM_EINVAL) or OOM.
 */
struct tsdb *tsdb_new(int64_t scrape_interval_us, int64_t retention_us, struct sim_err *err);
void tsdb_free(struct tsdb *db); /* NULL is a no-op */

/*
 * Keep at least `retention_us` from now on (never lowers it). Rings of existing series
 * grow at once, keeping their samples. SIM_ENOMEM (+ err) when they cannot.
 */
int tsdb_retain(struct tsdb *db, int64_t retention_us, struct sim_err *err);

/* The retention and the ring size (samples per series) in force. */
int64_t tsdb_retention_us(const struct tsdb *db);
size_t tsdb_ring_cap(const struct tsdb *db);

/* Note that a query reads metric `base_metric` (its metric_def.name, e.g.
 * "vllm:time_to_first_token_seconds" for all its _bucket/_sum/_count series).
 * SIM_ENOMEM + err on OOM. */
int tsdb_want(struct tsdb *db, const char *base_metric, struct sim_err *err);

/* True when some query registered `base_metric` with tsdb_want(). It hashes the name:
 * ask once per metric when the scrape loop is set up, not at every scrape. */
bool tsdb_wants(const struct tsdb *db, const char *base_metric);

/*
 * The id (>= 0) of the series `name` + `labels`, created empty when new; -1 on OOM. Ids
 * are dense, in creation order, and stay valid for the life of the store; callers
 * cache them (one lookup per series, not per scrape).
 */
int32_t tsdb_series(struct tsdb *db, const char *name, const struct tsdb_labels *labels);

/*
 * Append a sample. Times must not decrease within a series (SIM_ASSERT); a sample at
 * the same time as the newest replaces it. Never allocates.
 */
void tsdb_append(struct tsdb *db, int32_t id, int64_t t_us, double v);

/*
 * The target went away at `t_us`: like Prometheus' staleness marker, instant selectors
 * at or after `t_us` no longer see the series (until a newer sample is appended), and
 * range selectors skip the marker.
 */
void tsdb_mark_stale(struct tsdb *db, int32_t id, int64_t t_us);

/* ---- Read side (the PromQL evaluator) ---- */

/* Number of series in the store. */
size_t tsdb_n_series(const struct tsdb *db);

/* The id of interned string `s`, or -1 when no series or query has used it. */
int32_t tsdb_str_find(const struct tsdb *db, const char *s);

/* Interned string `id` (borrowed: lives with db). */
const char *tsdb_str(const struct tsdb *db, int32_t id);

/* Interned string `id` read as a Prometheus float ("0.25", "+Inf", ...), NaN when it is
 * not one; computed once when the string is interned (for histogram `le` labels). */
double tsdb_str_num(const struct tsdb *db, int32_t id);

/* The ids of the series named `name_id`, in creation order, `*n` of them (NULL and 0
 * when none). Borrowed: valid until the next tsdb_series() call. */
const int32_t *tsdb_family(const struct tsdb *db, int32_t name_id, size_t *n);

/* A series' metric name (string id) and label set (borrowed: lives with db). */
int32_t tsdb_series_name(const struct tsdb *db, int32_t id);
const struct tsdb_lset *tsdb_series_labels(const struct tsdb *db, int32_t id);

/* The value id of label `name_id` in `ls`, or -1 when absent. */
int32_t tsdb_lset_get(const struct tsdb_lset *ls, int32_t name_id);

/*
 * Instant selector: the newest sample at or before `t_us` and after
 * `t_us - lookback_us`. False when there is none or it is a staleness marker; else true
 * with `*v` (and `*t_sample_us` when not NULL).
 */
bool tsdb_instant(const struct tsdb *db, int32_t id, int64_t t_us, int64_t lookback_us,
                  double *v, int64_t *t_sample_us);

/* Range selector iteration: samples with from_excl_us < t <= to_incl_us, oldest first,
 * staleness markers skipped. The iterator is a plain value (no allocation) and is
 * invalidated by any append to the series. */
struct tsdb_iter {
    const int64_t *t;
    const double *v;
    uint32_t cap;
    uint32_t pos;  /* physical index of the next sample */
    uint32_t left; /* samples left, markers included */
};
void tsdb_range(const struct tsdb *db, int32_t id, int64_t from_excl_us, int64_t to_incl_us,
                struct tsdb_iter *it);
bool tsdb_iter_next(struct tsdb_iter *it, int64_t *t_us, double *v);

#endif
