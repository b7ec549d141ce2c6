/*
 * promrange.h: a Prometheus HTTP API query_range response, as `curl .../api/v1/query_range`
 * or `promtool query range -o json` save it:
 *   {"status":"success","data":{"resultType":"matrix","result":[{"metric":{...},
 *    "values":[[unix_s,"v"],...]}, ...]}}
 * read whole (Prometheus returns at most 11,000 points per series). Used by
 * `llmcap autoscale replay` (one series) and `llmcap trace from-prometheus` (any number).
 */
#ifndef LLMCAP_SIM_PROMRANGE_H
#define LLMCAP_SIM_PROMRANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/core/err.h"
#include "sim/k8s/keda.h"

#define PROM_TEXT_MAX 64

/* A point of a series: its time, its value (NaN, +Inf, -Inf included) and its text. */
struct prom_point {
    int64_t t_us;
    struct keda_sample s;
    char text[PROM_TEXT_MAX];
};

struct prom_series {
    struct prom_point *pts; /* times strictly increasing */
    size_t n_pts;
    /* the series' `le` label (a histogram bucket's upper bound, +Inf as INFINITY) */
    bool has_le;
    double le;
};

struct prom_matrix {
    struct prom_series *series;
    size_t n_series;
    int64_t t0_us, t_end_us; /* the first and last point of any series */
    int64_t step_us;         /* the smallest gap between points of a series; 1 if none */
};

/*
 * Read `path` into `m`. Every series needs at least one point; every point lies on the grid
 * t0 + k * step (a missed evaluation shows as a gap, never as an offset). When `one_why`
 * is not NULL the result must hold exactly one series, and the error says "the result
 * holds N series, but <one_why>". Bad input: SIM_EINVAL at file:line:col. Free with
 * prom_matrix_free() (also after an error).
 */
int prom_matrix_load(const char *path, const char *one_why, struct prom_matrix *m,
                     struct sim_err *err);
void prom_matrix_free(struct prom_matrix *m);

/* A sample value's digits as Go's strconv.FormatFloat writes them:
 * [-+]?digits[.digits][e[-+]digits] (no hex, no spaces). */
bool prom_number_text(const char *s);

#endif
