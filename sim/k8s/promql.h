/*
 * promql.h: the subset of PromQL that KEDA Prometheus triggers and HPA external metrics
 * are written in, parsed once at load time and evaluated as instant queries against the
 * scraped store (sim/k8s/tsdb.h).
 *
 * Supported (docs/promql.md has the full list and examples):
 *   - selectors `name{l="v", l!="v", l=~"re", l!~"re"}`, ranges `[5m]` (ms s m h d w y,
 *     combined as in `1h30m`), `offset 5m`;
 *   - `sum avg min max count`, with `by (..)` / `without (..)` before or after the
 *     arguments;
 *   - `+ - * / % ^`, unary minus, parentheses, numbers; vector-vector arithmetic matches
 *     series one-to-one on identical label sets (no on/ignoring/group_left);
 *   - rate irate increase delta, avg/min/max/sum/count/last_over_time with Prometheus'
 *     extrapolation and counter-reset handling; histogram_quantile with Prometheus'
 *     bucket interpolation; scalar vector clamp clamp_min clamp_max abs ceil floor round
 *     sqrt exp ln log2 log10.
 * Every metric name is checked against sim/k8s/metrics.h at parse time.
 *
 * Evaluation reuses buffers kept inside the expression: once the series and vector sizes
 * stop growing, promql_eval() does not allocate. An expression is not thread-safe (it
 * holds those buffers), and results borrow them.
 */
#ifndef LLMCAP_SIM_PROMQL_H
#define LLMCAP_SIM_PROMQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/core/err.h"
#include "sim/k8s/tsdb.h"

enum promql_type {
    PROMQL_SCALAR,
    PROMQL_VECTOR, /* instant vector */
    PROMQL_MATRIX, /* range vector: only ever an argument, never a query's result */
};

/* One element of an instant vector. Label ids are the store's (tsdb_str()). */
struct promql_sample {
    int32_t name; /* metric name string id; -1 once dropped (rate(), sum, arithmetic...) */
    struct tsdb_lset labels;
    double v;
};

/* An instant query's result. */
struct promql_value {
    enum promql_type type; /* PROMQL_SCALAR or PROMQL_VECTOR */
    double scalar;         /* PROMQL_SCALAR */
    size_t n;              /* PROMQL_VECTOR: number of series (0 = empty result) */
    const struct promql_sample *samples; /* n of them; borrowed: valid until the next
                                            promql_eval*() of the same expression */
};

struct promql_expr;

/*
 * Parse `text`. `file`, `line` and `col` locate the query's first character in the
 * scenario file: errors point at the offending token as file:line:(col + its offset)
 * (on a later line of a multi-line query, line + n and the column within that line of
 * the text). NULL + err (SIM_EINVAL) on a syntax error, an unsupported construct, an
 * unknown metric, a type error or a query whose result is a range vector; SIM_ENOMEM on
 * OOM. `file` may be NULL. Caller owns: promql_free().
 */
struct promql_expr *promql_parse(const char *text, const char *file, long line, long col,
                                 struct sim_err *err);
void promql_free(struct promql_expr *e); /* NULL is a no-op */

/* The query text as given (borrowed: lives with e). */
const char *promql_text(const struct promql_expr *e);

/* PROMQL_SCALAR or PROMQL_VECTOR: what every evaluation returns. */
enum promql_type promql_result_type(const struct promql_expr *e);

/* How far back from the evaluation time the query reads: the largest of each selector's
 * range (or the 5 min lookback of an instant selector) plus its offset. */
int64_t promql_lookback_us(const struct promql_expr *e);

/*
 * Prepare `e` to run against `db`: tsdb_want() for each metric it reads, tsdb_retain()
 * for promql_lookback_us(), and bind e's caches to db. Call it once per expression and
 * store, before the scrapes start. SIM_ENOMEM + err on OOM.
 */
int promql_register(const struct promql_expr *e, struct tsdb *db, struct sim_err *err);

/*
 * Evaluate `e` as an instant query at `t_us` (Prometheus' /api/v1/query?time=t). An
 * expression caches which series its selectors match, for one store: evaluating against
 * another store than the last one resets that cache, but a new store may get the address
 * of a freed one, so call promql_register() with a store that replaces another before
 * evaluating against it. Returns SIM_OK and fills `out`; SIM_EINVAL + err (at the
 * operator) when vector arithmetic finds more than one series with the same labels on a
 * side, as Prometheus fails the query then (this subset cannot produce such vectors
 * today); SIM_ENOMEM + err on OOM.
 */
int promql_eval(const struct promql_expr *e, const struct tsdb *db, int64_t t_us,
                struct promql_value *out, struct sim_err *err);

/*
 * What KEDA's Prometheus scaler (pkg/scalers/prometheus_scaler.go ExecutePromQuery) makes
 * of the instant query at `t_us`: the single series' value in `*value`. An empty result,
 * or a NaN or Inf value, reads as 0 when `ignore_null_values` is true (KEDA's default)
 * and is an error otherwise; more than one series is an error; a scalar result is an
 * error (KEDA cannot decode it: wrap it in vector()). The value is not clamped: KEDA
 * clamps negatives to 0 only when it hands the metric to the HPA, after the activation
 * check. Errors: SIM_EINVAL + err (the query's location) for what KEDA would report as
 * a failed query (count it towards fallback.failureThreshold); SIM_ENOMEM on OOM.
 */
int promql_eval_keda(const struct promql_expr *e, const struct tsdb *db, int64_t t_us,
                     bool ignore_null_values, double *value, struct sim_err *err);

/*
 * Optional lint: fail (SIM_EINVAL + err at the matcher) when a selector requires a label
 * that the simulated series never carry, which would make it select nothing, e.g.
 * `{namespace="llm"}` when `labels` is {"pod", "model_name", "engine"}. A matcher
 * "requires" its label when it cannot match the empty value ('=' with a non-empty value,
 * '=~' with a regex that does not match ""). `le` counts as known on _bucket series.
 */
int promql_check_labels(const struct promql_expr *e, const char *const *labels, size_t n,
                        struct sim_err *err);

/* A label the deployment's series all carry with one value (`namespace`, `job`,
 * `container`, `model_name`, `engine`), and a hint for the message that says where
 * that value comes from ("set 'model.served_model_name' ..."). */
struct promql_label_value {
    const char *name;
    const char *value;
    const char *hint; /* may be NULL */
};

/*
 * Fail (SIM_EINVAL + err at the matcher) when a matcher on one of the labels in `lv`
 * cannot match the value the deployment's series carry, so its selector could never
 * select a series: `{model_name="meta-llama/Llama-3.1-8B-Instruct"}` against series
 * labelled model_name="meta-llama/Meta-Llama-3-8B-Instruct". The message names the
 * matcher and the value that exists. Labels not in `lv` (pod, instance, le) are not
 * checked. llmcap's own gateway series (`llmcap:...`) carry no label, so any matcher on
 * them that cannot match the empty value fails too.
 */
int promql_check_values(const struct promql_expr *e, const struct promql_label_value *lv,
                        size_t n, struct sim_err *err);

/* Write `s` as `name{l1="v1", l2="v2"}` (name left out when dropped) into buf (at most n
 * bytes, NUL-terminated, truncated if needed); returns buf. */
char *promql_format_sample(const struct tsdb *db, const struct promql_sample *s, char *buf,
                           size_t n);

#endif
