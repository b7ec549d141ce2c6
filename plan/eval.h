/*
 * eval.h: the planner's evaluation of one configuration, shared by the single-deployment
 * plan (plan/plan.c) and the shared-cluster plan (plan/shared.c). Internal to plan/.
 */
#ifndef LLMCAP_PLAN_EVAL_H
#define LLMCAP_PLAN_EVAL_H

#include <stdbool.h>
#include <stddef.h>

#include "plan/plan.h"

struct scenario;
struct catalog;
struct sim_result;

/* One hardware choice of a plan. */
struct plan_hw {
    char instance[64];
    char gpu[64];
    int gpus_per_instance; /* 0: priced per GPU (plan.gpus) */
    double od_usd_per_gpu_hour, spot_usd_per_gpu_hour; /* NaN: no price */
};

/* One point of the search space: the configuration part of r filled, its hardware. */
struct plan_config {
    struct plan_result r;
    size_t hw;
};

struct plan_space {
    struct plan_hw hw[PLAN_MAX_CHOICES];
    size_t n_hw;
    struct plan_config *cfg; /* owned */
    size_t n_cfg;
    bool autoscaled, keda;
};

/* Build the cartesian product of `p` for the scenario (or deployment) `sc`, whose fleet,
 * SLOs, GPU and dtype are the defaults. SIM_EINVAL + err on an unknown instance or GPU. */
int plan_build_space(const struct scenario *sc, const struct plan_spec *p,
                     const struct catalog *cat, struct plan_space *sp, struct sim_err *err);

#define MAX_SETS 160

/* --set overrides for one run. */
struct plan_sets {
    char buf[MAX_SETS][256];
    const char *ptr[MAX_SETS];
    size_t n;
};

void plan_add_set(struct plan_sets *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The scenario's own --set overrides ("k=v;k=v"). */
void plan_base_sets(const struct scenario *sc, struct plan_sets *s);
/* The configuration's overrides, every key under `prefix` ("" or "deployments.N."); `sc`
 * is the deployment the keys describe. */
void plan_config_sets(const struct scenario *sc, const char *prefix,
                      const struct plan_space *sp, const struct plan_result *r,
                      struct plan_sets *s);

/* The smallest (target - actual) / target over a run's SLOs (>= 0: all met), and the SLO
 * that set it. */
double plan_slo_margin(const struct sim_result *res);
const char *plan_worst_slo(const struct sim_result *res);

/* Evaluate configuration `c` (prune, rate search, size and check a fixed fleet): of the
 * scenario itself (dep < 0) or of its deployment `dep` run alone. */
void plan_evaluate(const struct scenario *base, int dep, const struct plan_space *sp,
                   struct plan_config *c, const struct plan_spec *p, const struct catalog *cat);

/* Evaluate items [0, n) for which mine(i) holds in `jobs` worker processes: eval(i, out)
 * fills out[i]. progress and stop as in plan_options. SIM_EINTR, SIM_EIO + err. */
int plan_workers(size_t n, bool (*mine)(size_t i, void *ctx),
                 void (*eval)(size_t i, struct plan_result *out, void *ctx), void *ctx,
                 struct plan_result *out, const struct plan_options *opt,
                 struct sim_err *err);

#endif
