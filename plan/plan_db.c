/*
 * plan_db.c: a plan's results in the results database (table plan_results, schema in
 * reports/schema.sql), through the database's generic writer (reports/db.h).
 */
#include "plan/plan_db.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include "plan/plan.h"
#include "reports/db.h"
#include "sim/config/scenario.h"

static int max_id_cb(void *ctx, const struct db_value *c, int n)
{
    (void)n;
    *(int64_t *)ctx = c[0].type == DB_NULL ? 0 : c[0].i;
    return 0;
}

static struct db_value opt_int(bool present, int64_t v)
{
    return present ? db_int(v) : db_text(NULL);
}

static int write_row(struct db *db, const struct scenario *sc, int64_t plan_id, size_t i,
                     const struct plan_result *x, long best, const char *created,
                     struct sim_err *err)
{
    char label[256];
    plan_label(x, label, sizeof label);
    struct db_value v[32] = {
        db_int(plan_id),
        db_int((int64_t)i),
        db_text(created),
        db_text(sc->name),
        db_text(sc->sha256),
        db_text(label),
        db_text(x->instance[0] ? x->instance : NULL),
        db_text(x->gpu),
        db_int(x->tp),
        db_text(x->dtype),
        opt_int(x->max_num_seqs > 0, x->max_num_seqs),
        opt_int(x->max_batched > 0, x->max_batched),
        db_real(x->spot_share),
        opt_int(x->min_replicas >= 0, x->min_replicas),
        db_real(x->threshold),
        opt_int(x->window_s >= 0, x->window_s),
        db_int(x->fits),
        db_int(x->feasible),
        db_text(x->reason),
        db_real(x->fits && !x->autoscaled ? x->max_rate_scale : NAN),
        db_int(x->search_runs),
        opt_int(x->feasible, x->replicas),
        db_real(x->feasible ? x->replica_hours : NAN),
        db_real(x->usd_per_hour),
        db_real(x->cost_usd),
        db_real(x->usd_per_mtok),
        db_real(x->feasible ? x->ttft_p95_s : NAN),
        db_real(x->feasible ? x->tpot_p95_s : NAN),
        db_real(x->feasible ? x->error_rate : NAN),
        db_real(x->feasible ? x->margin : NAN),
        db_int(x->pareto),
        db_int((long)i == best),
    };
    return db_exec(db,
                   "INSERT INTO plan_results VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                   "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, "
                   "?26, ?27, ?28, ?29, ?30, ?31, ?32)",
                   v, 32, err);
}

int plan_db_write(struct db *db, const struct scenario *sc, const struct plan_result *r,
                  size_t n, long best, int64_t *plan_id, struct sim_err *err)
{
    int rc = db_begin_write(db, err);
    if (rc != SIM_OK)
        return rc;
    int64_t max_id = 0;
    char created[32];
    db_utc_now(created, sizeof created);
    rc = db_query(db, "SELECT max(plan_id) FROM plan_results", NULL, 0, max_id_cb, &max_id,
                  err);
    *plan_id = max_id + 1;
    for (size_t i = 0; rc == SIM_OK && i < n; i++)
        rc = write_row(db, sc, *plan_id, i, &r[i], best, created, err);
    if (rc != SIM_OK) {
        db_rollback_write(db);
        return rc;
    }
    return db_commit_write(db, err);
}
