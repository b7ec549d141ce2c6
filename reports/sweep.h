/*
 * sweep.h: the grid of a parameter sweep and its slices.
 *
 * Each axis is one `--vary PATH=V1,V2,...`; the grid is their cartesian product in a fixed
 * order: row-major, the first axis varying slowest (point 0 takes every axis's first
 * value, point 1 the last axis's second value, ...). Values are split at commas that are
 * not inside brackets, braces or quotes, so a value may be a YAML flow collection
 * (`slo={ttft_p95: 1s, tpot_p95: 100ms}`). A shard i/N is the points whose index p has
 * p % N == i: a deterministic slice, the same on every machine.
 */
#ifndef LLMCAP_REPORTS_SWEEP_H
#define LLMCAP_REPORTS_SWEEP_H

#include <stdbool.h>
#include <stddef.h>

#include "sim/core/err.h"

struct sweep_axis {
    char *path;
    char **values;
    size_t n_values;
};

struct sweep {
    struct sweep_axis *axes;
    size_t n_axes;
};

void sweep_init(struct sweep *s);
void sweep_release(struct sweep *s);

/* Add the axis "PATH=V1,V2,...". SIM_EINVAL + err (where "--vary") when it has no '=', an
 * empty path, an empty value, a path given twice, or the grid would exceed 1,000,000
 * points; SIM_ENOMEM. */
int sweep_add_axis(struct sweep *s, const char *spec, struct sim_err *err);

/* Number of points (1 with no axis). */
size_t sweep_points(const struct sweep *s);

/* The --set assignment of point p on axis a ("PATH=VALUE") into buf. */
void sweep_point_set(const struct sweep *s, size_t p, size_t a, char *buf, size_t n);

/* The labels JSON of point p: {"PATH": VALUE, ...} in axis order; a value is a JSON
 * number when it is written as one, true/false for those words, a string otherwise.
 * Caller frees; NULL on OOM. */
char *sweep_labels_json(const struct sweep *s, size_t p);

/* Parse "i/N" (0 <= i < N <= 100000). SIM_EINVAL + err (where "--shard"). */
int sweep_parse_shard(const char *spec, unsigned *i, unsigned *n, struct sim_err *err);

/* Whether point p belongs to shard i/N. */
bool sweep_in_shard(size_t p, unsigned i, unsigned n);

#endif
