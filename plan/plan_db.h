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

/* Write a plan's results as one plan (all rows or none). `best` is the index of the
 * cheapest feasible result or -1. *plan_id gets the new plan's id. SIM_EIO + err. */
int plan_db_write(struct db *db, const struct scenario *sc, const struct plan_result *r,
                  size_t n, long best, int64_t *plan_id, struct sim_err *err);

#endif
