/*
 * plan_db.h: a plan's results in the results database (reports/db.h; table plan_results,
 * reports/schema.sql).
 */
#ifndef LLMCAP_PLAN_PLAN_DB_H
#define LLMCAP_PLAN_PLAN_DB_H

#include <stddef.h>
#include <stdint.h>

#include "sim/core/err.h"

struct db;
struct scenario;
struct plan_result;

/* How a plan was run, for plan_meta. */
struct plan_db_info {
    unsigned shard_i, shard_n;  /* --shard i/N (N 0 or 1: the whole plan) */
    size_t n_configs;           /* results of the whole (unsharded) plan */
    int32_t verify_candidates;  /* plan.verify.candidates */
};

/* Write a plan's results as one plan (all rows or none): plan_results, plan_billing and
 * plan_meta (plan_key, shard "i/N", n_configs, verify_candidates, scenario_path). `best`
 * is the index of the answer or -1; a shard has none. *plan_id gets the new plan's id.
 * SIM_EIO + err. */
int plan_db_write(struct db *db, const struct scenario *sc, const struct plan_result *r,
                  size_t n, long best, const struct plan_db_info *info, int64_t *plan_id,
                  struct sim_err *err);

struct plan_shared;

/* Write a shared cluster's plan (plan/shared.h) as one plan: every (deployment,
 * configuration) as plan_results/plan_billing rows (plan_shared_configs names the
 * deployment), the cheapest layouts (plan_shared_layouts, plan_shared_choices,
 * plan_shared_groups) and plan_meta (shared_deployments, separate_usd_per_hour,
 * layout_search). SIM_EIO + err. */
int plan_db_write_shared(struct db *db, const struct scenario *sc, const struct plan_shared *s,
                         int64_t *plan_id, struct sim_err *err);

/* The plan key (64 hex digits): SHA-256 of the scenario's bytes, overrides, seed and this
 * build (reports/db.h db_run_key): the shards of one plan share it. */
void plan_db_key(const struct scenario *sc, char hex[65]);

#define PLAN_DB_MAX_SHARDS 1024

struct plan_merge_stats {
    size_t n_plans;    /* plans (whole or shards) in the input */
    size_t n_added;    /* copied */
    size_t n_present;  /* skipped: the same plan key and shard is already there */
    size_t n_unkeyed;  /* plans written before plan_meta: not merged */
    size_t n_combined; /* combined plans added: every shard of a plan is now there */
    int64_t combined_id; /* the last combined plan's id */
};

/* Copy every plan of the database `in_path` that `out` does not hold yet (by plan key and
 * shard), then, for every plan whose N shards are all in `out` and not combined yet, add
 * the combined plan (shard "all"): the union of the shards' rows, its verification
 * verdicts, answer and Pareto frontier decided as the unsharded plan decides them. One
 * transaction. SIM_OK, SIM_EINVAL (shards that do not add up to the plan) or SIM_EIO. */
int plan_db_merge(struct db *out, const char *in_path, struct plan_merge_stats *st,
                  struct sim_err *err);

#endif
