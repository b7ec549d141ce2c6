/*
 * plan_db.c: a plan's results in the results database, through the database's generic
 * writer (reports/db.h): plan_results (reports/schema.sql), and the planner's own tables
 * plan_billing and plan_meta (created here, so that files written before them take
 * them too). A sharded plan (`plan --shard i/N`) is written as a plan of its own; merging
 * the N shards' databases (`llmcap merge`) adds the combined plan, which equals the plan
 * run unsharded.
 */
#include "plan/plan_db.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <stdio.h>

#include "plan/plan.h"
#include "plan/shared.h"
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
        db_int(x->index),
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
    (void)i;
    return db_exec(db,
                   "INSERT INTO plan_results VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                   "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, "
                   "?26, ?27, ?28, ?29, ?30, ?31, ?32)",
                   v, 32, err);
}

static const char plan_tables_sql[][640] = {
    "CREATE TABLE IF NOT EXISTS plan_billing ("
    " plan_id INTEGER NOT NULL, config_index INTEGER NOT NULL,"
    " billing TEXT NOT NULL CHECK (billing IN ('whole_nodes', 'gpu_share')),"
    " node_type TEXT, gpus_per_node INTEGER, nodes INTEGER, node_hours REAL,"
    " usd_per_node_hour REAL, est_cost_usd_per_hour REAL,"
    " verify TEXT NOT NULL CHECK (verify IN ('none', 'pass', 'fail')),"
    " verified_cost_usd REAL, verified_usd_per_hour REAL, verified_usd_per_mtok REAL,"
    " verified_ttft_p95_s REAL, verify_note TEXT,"
    " PRIMARY KEY (plan_id, config_index)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS plan_meta ("
    " plan_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (plan_id, key)) WITHOUT ROWID",
};

static const char *const verify_names[] = {"none", "pass", "fail"};

static int write_billing(struct db *db, int64_t plan_id, const struct plan_result *x,
                         struct sim_err *err)
{
    bool priced = x->node_type[0] != 0;
    bool v = x->verify != PLAN_VERIFY_NONE;
    struct db_value val[15] = {
        db_int(plan_id),
        db_int(x->index),
        db_text(x->billing == PLAN_BILL_GPU_SHARE ? "gpu_share" : "whole_nodes"),
        db_text(priced ? x->node_type : NULL),
        opt_int(priced, x->gpus_per_node),
        opt_int(x->feasible && x->billing == PLAN_BILL_WHOLE_NODES, x->nodes),
        db_real(x->feasible ? x->node_hours : NAN),
        db_real(priced ? x->usd_per_node_hour : NAN),
        db_real(x->valid ? x->est_cost_usd_per_hour : NAN),
        db_text(verify_names[x->verify]),
        db_real(v ? x->verified_cost_usd : NAN),
        db_real(v ? x->verified_usd_per_hour : NAN),
        db_real(v ? x->verified_usd_per_mtok : NAN),
        db_real(v ? x->verified_ttft_p95_s : NAN),
        db_text(x->verify_note[0] ? x->verify_note : NULL),
    };
    return db_exec(db,
                   "INSERT INTO plan_billing VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                   "?11, ?12, ?13, ?14, ?15)",
                   val, 15, err);
}

static int write_meta(struct db *db, int64_t plan_id, const char *key, const char *value,
                      struct sim_err *err)
{
    struct db_value v[3] = {db_int(plan_id), db_text(key), db_text(value)};
    return db_exec(db, "INSERT INTO plan_meta VALUES (?1, ?2, ?3)", v, 3, err);
}

static int create_tables(struct db *db, struct sim_err *err)
{
    int rc = SIM_OK;
    for (size_t i = 0; rc == SIM_OK && i < sizeof plan_tables_sql / sizeof plan_tables_sql[0];
         i++)
        rc = db_exec(db, plan_tables_sql[i], NULL, 0, err);
    return rc;
}

static int next_plan_id(struct db *db, int64_t *id, struct sim_err *err)
{
    int64_t max_id = 0;
    int rc = db_query(db, "SELECT max(plan_id) FROM plan_results", NULL, 0, max_id_cb, &max_id,
                      err);
    *id = max_id + 1;
    return rc;
}

void plan_db_key(const struct scenario *sc, char hex[65])
{
    /* A plan is a pure function of the scenario's bytes, its overrides and this build. */
    struct db_run_identity id = {sc->sha256,          sc->overrides, "{\"llmcap\": \"plan\"}",
                                 sc->seed,            db_llmcap_version(),
                                 db_git_describe()};
    db_run_key(&id, hex);
}

static int write_body(struct db *db, const struct scenario *sc, const struct plan_result *r,
                      size_t n, long best, const struct plan_db_info *info, int64_t *plan_id,
                      struct sim_err *err)
{
    char created[32], key[65], shard[32], buf[32];
    db_utc_now(created, sizeof created);
    plan_db_key(sc, key);
    snprintf(shard, sizeof shard, "%u/%u", info->shard_n > 1 ? info->shard_i : 0,
             info->shard_n > 1 ? info->shard_n : 1);
    int rc = create_tables(db, err);
    if (rc == SIM_OK)
        rc = next_plan_id(db, plan_id, err);
    for (size_t i = 0; rc == SIM_OK && i < n; i++)
        if ((rc = write_row(db, sc, *plan_id, i, &r[i], info->shard_n > 1 ? -1 : best, created,
                            err)) == SIM_OK)
            rc = write_billing(db, *plan_id, &r[i], err);
    if (rc == SIM_OK)
        rc = write_meta(db, *plan_id, "plan_key", key, err);
    if (rc == SIM_OK)
        rc = write_meta(db, *plan_id, "shard", shard, err);
    snprintf(buf, sizeof buf, "%zu", info->n_configs);
    if (rc == SIM_OK)
        rc = write_meta(db, *plan_id, "n_configs", buf, err);
    snprintf(buf, sizeof buf, "%d", info->verify_candidates);
    if (rc == SIM_OK)
        rc = write_meta(db, *plan_id, "verify_candidates", buf, err);
    if (rc == SIM_OK)
        rc = write_meta(db, *plan_id, "scenario_path", sc->path, err);
    return rc;
}

int plan_db_write(struct db *db, const struct scenario *sc, const struct plan_result *r,
                  size_t n, long best, const struct plan_db_info *info, int64_t *plan_id,
                  struct sim_err *err)
{
    int rc = db_begin_write(db, err);
    if (rc != SIM_OK)
        return rc;
    if ((rc = write_body(db, sc, r, n, best, info, plan_id, err)) != SIM_OK) {
        db_rollback_write(db);
        return rc;
    }
    return db_commit_write(db, err);
}

/* ---- a shared cluster's plan (plan/shared.h) ---- */

static const char shared_tables_sql[][560] = {
    "CREATE TABLE IF NOT EXISTS plan_shared_configs ("
    " plan_id INTEGER NOT NULL, config_index INTEGER NOT NULL, deployment TEXT NOT NULL,"
    " mig TEXT, PRIMARY KEY (plan_id, config_index)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS plan_shared_layouts ("
    " plan_id INTEGER NOT NULL, rank INTEGER NOT NULL, usd_per_hour REAL NOT NULL,"
    " nodes INTEGER NOT NULL, is_best INTEGER NOT NULL,"
    " verify TEXT NOT NULL CHECK (verify IN ('none', 'pass', 'fail')), verify_note TEXT,"
    " verified_cost_usd REAL, verified_usd_per_hour REAL,"
    " PRIMARY KEY (plan_id, rank)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS plan_shared_choices ("
    " plan_id INTEGER NOT NULL, rank INTEGER NOT NULL, deployment TEXT NOT NULL,"
    " config_index INTEGER NOT NULL, replicas INTEGER NOT NULL, node_type TEXT NOT NULL,"
    " mig TEXT, verified_pass INTEGER, verified_ttft_p95_s REAL, verified_tpot_p95_s REAL,"
    " verified_usd REAL, PRIMARY KEY (plan_id, rank, deployment)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS plan_shared_groups ("
    " plan_id INTEGER NOT NULL, rank INTEGER NOT NULL, node_type TEXT NOT NULL, mig TEXT,"
    " gpus_per_node INTEGER NOT NULL, units_per_node INTEGER NOT NULL,"
    " used_units INTEGER NOT NULL, nodes INTEGER NOT NULL, usd_per_node_hour REAL NOT NULL,"
    " exact INTEGER NOT NULL, PRIMARY KEY (plan_id, rank, node_type, mig)) WITHOUT ROWID",
};

static int write_layout(struct db *db, int64_t id, const struct plan_shared *s, size_t k,
                        struct sim_err *err)
{
    const struct plan_layout *l = &s->layout[k];
    bool v = l->verify != PLAN_VERIFY_NONE;
    struct db_value lv[9] = {
        db_int(id), db_int((int64_t)k), db_real(l->usd_per_hour), db_int(l->nodes),
        db_int((long)k == s->best), db_text(verify_names[l->verify]),
        db_text(l->verify_note[0] ? l->verify_note : NULL),
        db_real(v ? l->verified_cost_usd : NAN), db_real(v ? l->verified_usd_per_hour : NAN),
    };
    int rc = db_exec(db,
                     "INSERT INTO plan_shared_layouts VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                     lv, 9, err);
    for (size_t d = 0; rc == SIM_OK && d < s->n_deps; d++) {
        const struct plan_result *r = &s->res[l->choice[d]];
        const struct plan_dep_verdict *dv = &l->dep[d];
        struct db_value cv[11] = {
            db_int(id), db_int((int64_t)k), db_text(s->deployment[d]), db_int(r->index),
            db_int(r->replicas), db_text(r->node_type), db_text(r->mig[0] ? r->mig : NULL),
            opt_int(v, dv->pass), db_real(v ? dv->ttft_p95_s : NAN),
            db_real(v ? dv->tpot_p95_s : NAN), db_real(v ? dv->usd : NAN),
        };
        rc = db_exec(db,
                     "INSERT INTO plan_shared_choices VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                     "?9, ?10, ?11)",
                     cv, 11, err);
    }
    for (size_t g = 0; rc == SIM_OK && g < l->n_groups; g++) {
        const struct plan_group *x = &l->group[g];
        struct db_value gv[10] = {
            db_int(id), db_int((int64_t)k), db_text(x->node_type), db_text(x->mig),
            db_int(x->gpus_per_node), db_int(x->units_per_node), db_int(x->used_units),
            db_int(x->nodes), db_real(x->usd_per_node_hour), db_int(x->exact),
        };
        rc = db_exec(db,
                     "INSERT INTO plan_shared_groups VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                     "?10)",
                     gv, 10, err);
    }
    return rc;
}

int plan_db_write_shared(struct db *db, const struct scenario *sc, const struct plan_shared *s,
                         int64_t *plan_id, struct sim_err *err)
{
    int rc = db_begin_write(db, err);
    if (rc != SIM_OK)
        return rc;
    struct plan_db_info info = {0, 1, s->n_res, s->verify_candidates};
    rc = write_body(db, sc, s->res, s->n_res, -1, &info, plan_id, err);
    for (size_t i = 0; rc == SIM_OK && i < sizeof shared_tables_sql / sizeof shared_tables_sql[0];
         i++)
        rc = db_exec(db, shared_tables_sql[i], NULL, 0, err);
    for (size_t i = 0; rc == SIM_OK && i < s->n_res; i++) {
        const struct plan_result *r = &s->res[i];
        struct db_value v[4] = {db_int(*plan_id), db_int(r->index),
                                db_text(s->deployment[r->deployment]),
                                db_text(r->mig[0] ? r->mig : NULL)};
        rc = db_exec(db, "INSERT INTO plan_shared_configs VALUES (?1, ?2, ?3, ?4)", v, 4, err);
    }
    for (size_t k = 0; rc == SIM_OK && k < s->n_layouts; k++)
        rc = write_layout(db, *plan_id, s, k, err);
    char buf[64];
    snprintf(buf, sizeof buf, "%zu", s->n_deps);
    if (rc == SIM_OK)
        rc = write_meta(db, *plan_id, "shared_deployments", buf, err);
    snprintf(buf, sizeof buf, "%.17g", s->separate_usd_per_hour);
    if (rc == SIM_OK && !isnan(s->separate_usd_per_hour))
        rc = write_meta(db, *plan_id, "separate_usd_per_hour", buf, err);
    snprintf(buf, sizeof buf, "%llu searched, %llu pruned, %s",
             (unsigned long long)s->searched, (unsigned long long)s->pruned,
             s->complete ? "complete" : "stopped at the step budget");
    if (rc == SIM_OK)
        rc = write_meta(db, *plan_id, "layout_search", buf, err);
    if (rc != SIM_OK) {
        db_rollback_write(db);
        return rc;
    }
    return db_commit_write(db, err);
}

/* ---- merging plans ------------------------------------------------------------------------ */

struct id_list {
    int64_t id[4096];
    char key[4096][65];
    char shard[4096][32];
    size_t n;
};

static int plans_cb(void *ctx, const struct db_value *c, int n)
{
    (void)n;
    struct id_list *l = ctx;
    if (l->n == sizeof l->id / sizeof l->id[0])
        return SIM_EINVAL;
    l->id[l->n] = c[0].i;
    snprintf(l->key[l->n], sizeof l->key[l->n], "%s", c[1].s ? c[1].s : "");
    snprintf(l->shard[l->n], sizeof l->shard[l->n], "%s", c[2].s ? c[2].s : "");
    l->n++;
    return 0;
}

static int list_plans(struct db *db, const char *schema, struct id_list *l, struct sim_err *err)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT k.plan_id, k.value, s.value FROM %splan_meta k JOIN %splan_meta s "
             "ON s.plan_id = k.plan_id AND s.key = 'shard' WHERE k.key = 'plan_key' "
             "ORDER BY k.plan_id",
             schema, schema);
    l->n = 0;
    int rc = db_query(db, sql, NULL, 0, plans_cb, l, err);
    if (rc == SIM_EINVAL)
        return sim_err_set(err, SIM_EINVAL, "more than %zu plans in one database",
                           sizeof l->id / sizeof l->id[0]);
    return rc;
}

static int count_cb(void *ctx, const struct db_value *c, int n)
{
    (void)n;
    *(int64_t *)ctx = c[0].type == DB_NULL ? 0 : c[0].i;
    return 0;
}

static int has_table(struct db *db, const char *schema, const char *table, bool *yes,
                     struct sim_err *err)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %ssqlite_master WHERE name = ?1", schema);
    struct db_value v = db_text(table);
    int64_t n = 0;
    int rc = db_query(db, sql, &v, 1, count_cb, &n, err);
    *yes = n > 0;
    return rc;
}

#define PLAN_RESULT_COLS                                                                       \
    "config_index, created_utc, scenario_name, scenario_sha256, label, instance_type, gpu, "   \
    "tensor_parallel_size, dtype, max_num_seqs, max_num_batched_tokens, spot_share_frac, "     \
    "min_replicas, threshold, scale_down_window_s, fits, feasible, reason, max_rate_scale, "   \
    "search_runs, replicas, replica_hours, usd_per_hour, cost_usd, usd_per_mtok, ttft_p95_s, " \
    "tpot_p95_s, error_rate_frac, slo_margin_frac, pareto, best"
#define PLAN_BILLING_COLS                                                                      \
    "config_index, billing, node_type, gpus_per_node, nodes, node_hours, usd_per_node_hour, "  \
    "est_cost_usd_per_hour, verify, verified_cost_usd, verified_usd_per_hour, "                \
    "verified_usd_per_mtok, verified_ttft_p95_s, verify_note"

/* Copy the rows of plan `from` in `schema`.`table` ("psrc." or "" for the output) into
 * plan `to` of the output's table. */
static int copy_rows(struct db *db, const char *table, const char *cols, const char *schema,
                     int64_t from, int64_t to, struct sim_err *err)
{
    char sql[1024];
    snprintf(sql, sizeof sql, "INSERT INTO %s (plan_id, %s) SELECT ?2, %s FROM %s%s WHERE "
                              "plan_id = ?1",
             table, cols, cols, schema, table);
    struct db_value v[2] = {db_int(from), db_int(to)};
    return db_exec(db, sql, v, 2, err);
}

/* A shared cluster's plan tables (shared_tables_sql, in that order) and their columns
 * besides plan_id. */
static const char *const shared_tables[][2] = {
    {"plan_shared_configs", "config_index, deployment, mig"},
    {"plan_shared_layouts", "rank, usd_per_hour, nodes, is_best, verify, verify_note, "
                            "verified_cost_usd, verified_usd_per_hour"},
    {"plan_shared_choices", "rank, deployment, config_index, replicas, node_type, mig, "
                            "verified_pass, verified_ttft_p95_s, verified_tpot_p95_s, "
                            "verified_usd"},
    {"plan_shared_groups", "rank, node_type, mig, gpus_per_node, units_per_node, used_units, "
                           "nodes, usd_per_node_hour, exact"},
};

/* Copy plan `from` of the input (schema psrc) into plan `to` of the output: its results,
 * bills and facts, and a shared cluster's plan its layouts (plan_shared_*, created in the
 * output when the input has them). */
static int copy_plan(struct db *db, int64_t from, int64_t to, struct sim_err *err)
{
    int rc = copy_rows(db, "plan_results", PLAN_RESULT_COLS, "psrc.", from, to, err);
    if (rc == SIM_OK)
        rc = copy_rows(db, "plan_billing", PLAN_BILLING_COLS, "psrc.", from, to, err);
    if (rc == SIM_OK)
        rc = copy_rows(db, "plan_meta", "key, value", "psrc.", from, to, err);
    for (size_t i = 0; rc == SIM_OK && i < sizeof shared_tables / sizeof shared_tables[0]; i++) {
        bool has = false;
        if ((rc = has_table(db, "psrc.", shared_tables[i][0], &has, err)) != SIM_OK || !has)
            continue;
        if ((rc = db_exec(db, shared_tables_sql[i], NULL, 0, err)) == SIM_OK)
            rc = copy_rows(db, shared_tables[i][0], shared_tables[i][1], "psrc.", from, to, err);
    }
    return rc;
}

struct rows {
    struct plan_result *r;
    size_t n, cap;
};

static int rows_cb(void *ctx, const struct db_value *c, int n)
{
    (void)n;
    struct rows *x = ctx;
    if (x->n == x->cap)
        return SIM_ENOMEM;
    struct plan_result *r = &x->r[x->n++];
    memset(r, 0, sizeof *r);
    r->index = (uint32_t)c[0].i;
    r->feasible = c[1].i != 0;
    r->usd_per_hour = c[2].d;
    r->ttft_p95_s = c[3].d;
    r->verify = !c[4].s || !strcmp(c[4].s, "none") ? PLAN_VERIFY_NONE
                : !strcmp(c[4].s, "pass")          ? PLAN_VERIFY_PASS
                                                   : PLAN_VERIFY_FAIL;
    return 0;
}

static int meta_int(struct db *db, int64_t plan_id, const char *key, int64_t *out,
                    struct sim_err *err)
{
    struct db_value v[2] = {db_int(plan_id), db_text(key)};
    *out = -1;
    return db_query(db, "SELECT CAST(value AS INTEGER) FROM plan_meta WHERE plan_id = ?1 AND key = ?2",
                    v, 2, count_cb, out, err);
}

/*
 * Decide plan `id` (its rows all written) as an unsharded run would have: verification
 * tries the feasible results in plan_rank_cmp() order until one passes or
 * `verify_candidates` were tried; a shard tried its own cheapest, which include every one
 * the whole plan tries (a shard stops only at a pass, or after as many failures as the
 * whole plan allows), so the verdicts are there; verdicts past that point are dropped.
 * Then the answer and the Pareto frontier are marked.
 */
static int decide(struct db *db, int64_t id, size_t n_rows, int64_t verify_candidates,
                  struct sim_err *err)
{
    struct rows x = {calloc(n_rows ? n_rows : 1, sizeof *x.r), 0, n_rows};
    if (!x.r)
        return sim_err_set(err, SIM_ENOMEM, "out of memory for %zu plan rows", n_rows);
    struct db_value pid = db_int(id);
    int rc = db_query(db,
                      "SELECT p.config_index, p.feasible, p.usd_per_hour, p.ttft_p95_s, b.verify "
                      "FROM plan_results p LEFT JOIN plan_billing b USING (plan_id, config_index) "
                      "WHERE p.plan_id = ?1 ORDER BY p.config_index",
                      &pid, 1, rows_cb, &x, err);
    if (rc == SIM_ENOMEM)
        rc = sim_err_set(err, SIM_EINVAL, "plan %lld has more rows than its shards said",
                         (long long)id);
    struct plan_result **o = calloc(x.n ? x.n : 1, sizeof *o);
    size_t no = 0;
    for (size_t i = 0; o && i < x.n; i++)
        if (x.r[i].feasible)
            o[no++] = &x.r[i];
    if (rc == SIM_OK && !o)
        rc = sim_err_set(err, SIM_ENOMEM, "out of memory");
    if (rc == SIM_OK) {
        for (size_t i = 1; i < no; i++) /* insertion sort: a few hundred rows */
            for (size_t j = i; j > 0 && plan_rank_cmp(o[j], o[j - 1]) < 0; j--) {
                struct plan_result *t = o[j];
                o[j] = o[j - 1];
                o[j - 1] = t;
            }
        bool stop = false;
        for (size_t k = 0; k < no; k++) {
            bool tried = !stop && (int64_t)k < verify_candidates;
            if (!tried && o[k]->verify != PLAN_VERIFY_NONE) {
                o[k]->verify = PLAN_VERIFY_NONE;
                struct db_value v[2] = {db_int(id), db_int(o[k]->index)};
                rc = db_exec(db,
                             "UPDATE plan_billing SET verify = 'none', verified_cost_usd = NULL, "
                             "verified_usd_per_hour = NULL, verified_usd_per_mtok = NULL, "
                             "verified_ttft_p95_s = NULL, verify_note = NULL "
                             "WHERE plan_id = ?1 AND config_index = ?2",
                             v, 2, err);
                if (rc != SIM_OK)
                    break;
            }
            stop = stop || o[k]->verify == PLAN_VERIFY_PASS;
        }
    }
    if (rc == SIM_OK) {
        plan_mark_pareto(x.r, x.n);
        long best = plan_best(x.r, x.n);
        for (size_t i = 0; rc == SIM_OK && i < x.n; i++) {
            struct db_value v[4] = {db_int(x.r[i].pareto), db_int((long)i == best), db_int(id),
                                    db_int(x.r[i].index)};
            rc = db_exec(db,
                         "UPDATE plan_results SET pareto = ?1, best = ?2 "
                         "WHERE plan_id = ?3 AND config_index = ?4",
                         v, 4, err);
        }
    }
    free(o);
    free(x.r);
    return rc;
}

/* Combine the shards of plan key `key` (N of them, all present) into one new plan. */
static int combine(struct db *db, const struct id_list *l, const char *key, unsigned n_shards,
                   struct plan_merge_stats *st, struct sim_err *err)
{
    int64_t ids[PLAN_DB_MAX_SHARDS];
    unsigned have = 0;
    bool done = false;
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->key[i], key))
            continue;
        unsigned si, sn;
        if (!strcmp(l->shard[i], "all"))
            done = true;
        else if (sscanf(l->shard[i], "%u/%u", &si, &sn) == 2 && sn == n_shards && si < sn) {
            bool dup = false;
            for (size_t j = 0; j < i; j++)
                dup = dup || (!strcmp(l->key[j], key) && !strcmp(l->shard[j], l->shard[i]));
            if (!dup && have < PLAN_DB_MAX_SHARDS)
                ids[have++] = l->id[i];
        }
    }
    if (done || have < n_shards)
        return SIM_OK;
    int64_t to, n_configs = -1, vc = -1;
    int rc = next_plan_id(db, &to, err);
    for (unsigned k = 0; rc == SIM_OK && k < have; k++) {
        rc = copy_rows(db, "plan_results", PLAN_RESULT_COLS, "", ids[k], to, err);
        if (rc == SIM_OK)
            rc = copy_rows(db, "plan_billing", PLAN_BILLING_COLS, "", ids[k], to, err);
    }
    if (rc == SIM_OK)
        rc = meta_int(db, ids[0], "n_configs", &n_configs, err);
    if (rc == SIM_OK)
        rc = meta_int(db, ids[0], "verify_candidates", &vc, err);
    int64_t n_rows = 0;
    struct db_value pid = db_int(to);
    if (rc == SIM_OK)
        rc = db_query(db, "SELECT count(DISTINCT config_index) FROM plan_results WHERE plan_id = ?1",
                      &pid, 1, count_cb, &n_rows, err);
    if (rc == SIM_OK && n_rows != n_configs)
        rc = sim_err_set(err, SIM_EINVAL,
                         "the %u shards of plan %.12s hold %lld of its %lld configurations",
                         n_shards, key, (long long)n_rows, (long long)n_configs);
    if (rc == SIM_OK)
        rc = decide(db, to, (size_t)n_rows, vc, err);
    if (rc == SIM_OK) {
        struct db_value v[2] = {db_int(ids[0]), db_int(to)};
        rc = db_exec(db,
                     "INSERT INTO plan_meta (plan_id, key, value) SELECT ?2, key, "
                     "CASE key WHEN 'shard' THEN 'all' ELSE value END FROM plan_meta "
                     "WHERE plan_id = ?1",
                     v, 2, err);
    }
    if (rc == SIM_OK) {
        st->n_combined++;
        st->combined_id = to;
    }
    return rc;
}

int plan_db_merge(struct db *out, const char *in_path, struct plan_merge_stats *st,
                  struct sim_err *err)
{
    memset(st, 0, sizeof *st);
    struct db_value path = db_text(in_path);
    int rc = db_exec(out, "ATTACH DATABASE ?1 AS psrc", &path, 1, err);
    if (rc != SIM_OK)
        return rc;
    bool src_meta = false, src_results = false;
    struct id_list *lists = calloc(2, sizeof *lists);
    if (!lists) {
        db_exec(out, "DETACH DATABASE psrc", NULL, 0, err);
        return sim_err_set(err, SIM_ENOMEM, "out of memory for the plan lists");
    }
    struct id_list *in = &lists[0], *have = &lists[1];
    if ((rc = has_table(out, "psrc.", "plan_meta", &src_meta, err)) == SIM_OK)
        rc = has_table(out, "psrc.", "plan_results", &src_results, err);
    if (rc == SIM_OK && src_results && !src_meta) {
        /* Plans written before plan_meta: no key to merge them by. */
        int64_t n = 0;
        rc = db_query(out, "SELECT count(DISTINCT plan_id) FROM psrc.plan_results", NULL, 0,
                      count_cb, &n, err);
        st->n_unkeyed = (size_t)n;
    }
    if (rc != SIM_OK || !src_meta) {
        free(lists);
        db_exec(out, "DETACH DATABASE psrc", NULL, 0, err);
        return rc;
    }
    rc = list_plans(out, "psrc.", in, err);
    if (rc == SIM_OK)
        rc = db_begin_write(out, err);
    if (rc != SIM_OK) {
        free(lists);
        db_exec(out, "DETACH DATABASE psrc", NULL, 0, err);
        return rc;
    }
    if ((rc = create_tables(out, err)) == SIM_OK)
        rc = list_plans(out, "", have, err);
    st->n_plans = in->n;
    for (size_t i = 0; rc == SIM_OK && i < in->n; i++) {
        bool present = false;
        for (size_t j = 0; j < have->n && !present; j++)
            present = !strcmp(have->key[j], in->key[i]) && !strcmp(have->shard[j], in->shard[i]);
        if (present) {
            st->n_present++;
            continue;
        }
        int64_t to;
        if ((rc = next_plan_id(out, &to, err)) == SIM_OK &&
            (rc = copy_plan(out, in->id[i], to, err)) == SIM_OK) {
            st->n_added++;
            if (have->n < sizeof have->id / sizeof have->id[0]) {
                have->id[have->n] = to;
                memcpy(have->key[have->n], in->key[i], sizeof have->key[0]);
                memcpy(have->shard[have->n], in->shard[i], sizeof have->shard[0]);
                have->n++;
            }
        }
    }
    /* Every plan key whose N shards are all here now gets its combined plan. */
    for (size_t i = 0; rc == SIM_OK && i < have->n; i++) {
        unsigned si, sn;
        if (sscanf(have->shard[i], "%u/%u", &si, &sn) == 2 && sn > 1 && sn <= PLAN_DB_MAX_SHARDS)
            rc = combine(out, have, have->key[i], sn, st, err);
        if (rc == SIM_OK && st->n_combined)
            rc = list_plans(out, "", have, err); /* the combined plan is listed now */
    }
    if (rc == SIM_OK)
        rc = db_commit_write(out, err);
    else
        db_rollback_write(out);
    free(lists);
    struct sim_err e2 = {0};
    db_exec(out, "DETACH DATABASE psrc", NULL, 0, &e2);
    return rc;
}
