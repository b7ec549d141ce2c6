/*
 * Schema 3: the rows of a run of several deployments name their deployment (requests,
 * pods, samples, scaling_events), so that SQL can select one deployment's rows; a
 * single-deployment run writes NULL there. A version-2 file is migrated when llmcap opens
 * it to write (and a version-2 input merged): its rows of single-deployment runs keep
 * NULL, and the deployment of its multi-deployment samples and scaling events, which
 * version 2 kept in the metric name and the source, moves into the column.
 */
#include <stdint.h>

#include "helpers.h"

#define TWO FIXTURES "/multi/two_autoscaled.yaml"

/* A number from `sql` with ?1 bound to `arg`. */
static double q(const char *db, const char *sql, const char *arg)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(h));
    sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
    double v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

/* Each deployment's request and pod rows: as many as its deployment_summary counts. */
static void rows_match_summary(const char *db, int run)
{
    static const char *const deps[] = {"chat", "code"};
    char sql[512];
    for (int k = 0; k < 2; k++) {
        snprintf(sql, sizeof sql,
                 "SELECT (SELECT count(*) FROM requests WHERE run_id = %d AND deployment = '%s') "
                 "- (SELECT value FROM deployment_summary WHERE run_id = %d AND deployment = "
                 "'%s' AND key = 'requests_total')",
                 run, deps[k], run, deps[k]);
        cr_assert_float_eq(query_num(db, sql), 0.0, 0.0, "%s requests", deps[k]);
        snprintf(sql, sizeof sql,
                 "SELECT (SELECT count(*) FROM pods WHERE run_id = %d AND deployment = '%s') - "
                 "(SELECT value FROM deployment_summary WHERE run_id = %d AND deployment = '%s' "
                 "AND key = 'pods_created')",
                 run, deps[k], run, deps[k]);
        cr_assert_float_eq(query_num(db, sql), 0.0, 0.0, "%s pods", deps[k]);
    }
}

Test(deployments_db, every_row_names_its_deployment)
{
    char dir[256], db[512];
    make_tmp(dir, sizeof dir, "depdb");
    snprintf(db, sizeof db, "%s/r.db", dir);
    /* exit 1: chat misses its TTFT SLO while its new pods start */
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", TWO, db), 1, "%s", out_of(dir, "err"));
    cr_assert_float_eq(query_num(db, "PRAGMA user_version"), 3.0, 0.0);
    rows_match_summary(db, 1);
    /* every request and pod is one deployment's; chat scaled out and in, code did not */
    cr_assert_float_eq(query_num(db, "SELECT count(*) FROM requests WHERE deployment IS NULL"),
                       0.0, 0.0);
    cr_assert_float_eq(query_num(db, "SELECT count(*) FROM pods WHERE deployment IS NULL"), 0.0,
                       0.0);
    cr_assert_gt(q(db, "SELECT count(*) FROM pods WHERE deployment = ?1", "chat"), 2.0);
    cr_assert_gt(q(db, "SELECT count(*) FROM pods WHERE deployment = ?1 AND end_reason = "
                       "'scaled-in'",
                   "chat"),
                 0.0);
    cr_assert_float_eq(q(db, "SELECT count(*) FROM pods WHERE deployment = ?1", "code"), 1.0,
                       0.0);
    /* a request's replica is a pod of its own deployment */
    cr_assert_float_eq(query_num(db, "SELECT count(*) FROM requests r JOIN pods p ON p.run_id = "
                                     "r.run_id AND p.pod_id = r.replica WHERE p.deployment IS NOT "
                                     "r.deployment"),
                       0.0, 0.0);
    /* autoscaler evaluations: the controller in source, whose in deployment; both
     * ScaledObjects poll on the same 30 s clock, so equal counts */
    cr_assert_float_eq(query_num(db, "SELECT count(*) FROM scaling_events WHERE source NOT IN "
                                     "('keda', 'hpa') OR deployment IS NULL"),
                       0.0, 0.0);
    cr_assert_gt(q(db, "SELECT count(*) FROM scaling_events WHERE deployment = ?1", "code"),
                 0.0);
    cr_assert_float_eq(
        query_num(db, "SELECT count(*) FROM scaling_events WHERE deployment = 'chat'"),
        query_num(db, "SELECT count(*) FROM scaling_events WHERE deployment = 'code'"), 0.0);
    /* samples: plain metric names; a replica's and a deployment's series name it,
     * the cluster's (nodes, cost) do not */
    cr_assert_float_eq(query_num(db, "SELECT count(*) FROM samples WHERE metric LIKE '%{%'"),
                       0.0, 0.0);
    cr_assert_float_eq(query_num(db, "SELECT count(*) FROM samples WHERE metric = "
                                     "'llmcap:nodes' AND deployment IS NOT NULL"),
                       0.0, 0.0);
    cr_assert_float_eq(query_num(db, "SELECT count(*) FROM samples WHERE metric LIKE 'vllm:%' "
                                     "AND deployment IS NULL"),
                       0.0, 0.0);
    /* the deployment's own replicas_ready series peaks at its replicas_peak_ready */
    cr_assert_float_eq(
        q(db, "SELECT max(value) FROM samples WHERE metric = 'llmcap:replicas_ready' AND "
              "deployment = ?1",
          "chat"),
        q(db, "SELECT value FROM deployment_summary WHERE deployment = ?1 AND key = "
              "'replicas_peak_ready'",
          "chat"),
        0.0);
    /* llmcap export --deployment: that deployment's rows, as many as its summary says */
    char path[600];
    snprintf(path, sizeof path, "%s/chat.csv", dir);
    cr_assert_eq(llmcap(dir, "", "export %s --table requests --run 1 --deployment chat -o %s", db,
                        path),
                 0, "%s", out_of(dir, "err"));
    char *csv = slurp(path, NULL);
    cr_assert_not_null(csv);
    cr_assert_float_eq((double)count_of(csv, "\r\n") - 1,
                       q(db, "SELECT value FROM deployment_summary WHERE deployment = ?1 AND "
                             "key = 'requests_total'",
                         "chat"),
                       0.0);
    cr_assert_eq(count_of(csv, ",code\r\n"), 0);
    free(csv);
    /* tables without the column, and deployments the run does not have: exit 2 */
    cr_assert_eq(llmcap(dir, "", "export %s --table nodes --deployment chat", db), 2);
    char *err = out_of(dir, "err");
    cr_assert_not_null(strstr(err, "table 'nodes' has no deployment column"), "%s", err);
    free(err);
    cr_assert_eq(llmcap(dir, "", "export %s --table pods --run 1 --deployment chatt", db), 2);
    err = out_of(dir, "err");
    cr_assert_not_null(strstr(err, "run 1 has no deployment 'chatt' (its deployments: chat, "
                                   "code)"),
                       "%s", err);
    free(err);
    /* a single-deployment run: NULL everywhere */
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", STEADY, db), 0);
    cr_assert_float_eq(query_num(db, "SELECT count(*) FROM requests WHERE run_id = 2 AND "
                                     "deployment IS NOT NULL"),
                       0.0, 0.0);
    cr_assert_float_eq(query_num(db, "SELECT count(*) FROM pods WHERE run_id = 2 AND "
                                     "deployment IS NOT NULL"),
                       0.0, 0.0);
    cr_assert_gt(query_num(db, "SELECT count(*) FROM requests WHERE run_id = 2"), 0.0);
    rm_tree(dir);
}

/* Turn a version-3 file back into what version 2 wrote: no deployment columns, a
 * multi-deployment run's scaling-event sources "chat/keda" and its deployments' series
 * 'llmcap:replicas_ready{deployment="chat"}'. */
static void downgrade(const char *path)
{
    sqlite3 *h = NULL;
    cr_assert_eq(sqlite3_open(path, &h), SQLITE_OK);
    const char *sql =
        "BEGIN;"
        "UPDATE scaling_events SET source = deployment || '/' || source WHERE deployment IS "
        "NOT NULL;"
        "UPDATE samples SET metric = metric || '{deployment=\"' || deployment || '\"}' WHERE "
        "deployment IS NOT NULL AND replica IS NULL;"
        "ALTER TABLE requests DROP COLUMN deployment;"
        "ALTER TABLE pods DROP COLUMN deployment;"
        "ALTER TABLE samples DROP COLUMN deployment;"
        "ALTER TABLE scaling_events DROP COLUMN deployment;"
        "PRAGMA user_version = 2;"
        "COMMIT;";
    char *msg = NULL;
    cr_assert_eq(sqlite3_exec(h, sql, NULL, NULL, &msg), SQLITE_OK, "%s", msg ? msg : "");
    sqlite3_close(h);
}

/* What the migration must give back for run `run` of `db`, a two_autoscaled run written
 * by version 2 (whose snapshot before the downgrade is `ref`, run `ref_run`). */
static void recovered_like(const char *db, int run, const char *ref, int ref_run)
{
    char sql[512];
    for (int v = 0; v < 2; v++) {
        if (v == 0)
            snprintf(sql, sizeof sql,
                     "SELECT t_s, source, deployment, desired FROM scaling_events WHERE "
                     "run_id = %d ORDER BY rowid",
                     run);
        else
            snprintf(sql, sizeof sql,
                     "SELECT t_s, metric, coalesce(replica, -1), deployment, value FROM samples "
                     "WHERE run_id = %d ORDER BY rowid",
                     run);
        char *got = dump(db, sql);
        if (v == 0)
            snprintf(sql, sizeof sql,
                     "SELECT t_s, source, deployment, desired FROM scaling_events WHERE "
                     "run_id = %d ORDER BY rowid",
                     ref_run);
        else /* version 2 did not record a replica's deployment in its samples */
            snprintf(sql, sizeof sql,
                     "SELECT t_s, metric, coalesce(replica, -1), CASE WHEN replica IS NULL THEN "
                     "deployment END, value FROM samples WHERE run_id = %d ORDER BY rowid",
                     ref_run);
        char *want = dump(ref, sql);
        cr_assert_str_eq(got, want, "view %d", v);
        free(got);
        free(want);
    }
    /* requests and pods: version 2 did not record them; NULL, every row kept */
    snprintf(sql, sizeof sql,
             "SELECT count(*), count(deployment) FROM requests WHERE run_id = %d", run);
    char *a = dump(db, sql);
    snprintf(sql, sizeof sql, "SELECT count(*), 0 FROM requests WHERE run_id = %d", ref_run);
    char *b = dump(ref, sql);
    cr_assert_str_eq(a, b);
    free(a);
    free(b);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pods WHERE run_id = %d AND deployment IS "
                              "NOT NULL", run);
    cr_assert_float_eq(query_num(db, sql), 0.0, 0.0);
}

Test(deployments_db, a_version_2_file_is_migrated_and_merged)
{
    char dir[256], db[512], ref[512], out[512];
    make_tmp(dir, sizeof dir, "depmig");
    snprintf(db, sizeof db, "%s/old.db", dir);
    snprintf(ref, sizeof ref, "%s/ref.db", dir);
    snprintf(out, sizeof out, "%s/out.db", dir);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", STEADY, db), 0);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", TWO, db), 1);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", STEADY, ref), 0);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", TWO, ref), 1);
    downgrade(db);
    cr_assert_float_eq(query_num(db, "SELECT count(*) FROM scaling_events WHERE source LIKE "
                                     "'chat/%'"),
                       query_num(ref, "SELECT count(*) FROM scaling_events WHERE deployment = "
                                      "'chat'"),
                       0.0);
    /* a version-2 input merges into a version-3 output */
    cr_assert_eq(llmcap(dir, "", "merge %s %s --quiet", out, db), 0, "%s", out_of(dir, "err"));
    recovered_like(out, 2, ref, 2);
    /* reading does not migrate; writing does, then appends */
    cr_assert_eq(llmcap(dir, "", "export %s --table requests --run 1 -o %s/x.csv", db, dir), 0,
                 "%s", out_of(dir, "err"));
    cr_assert_float_eq(query_num(db, "PRAGMA user_version"), 2.0, 0.0);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet --seed 12", TWO, db), 1);
    cr_assert_float_eq(query_num(db, "PRAGMA user_version"), 3.0, 0.0);
    recovered_like(db, 2, ref, 2);
    /* run 1 (one deployment) as version 3 writes it: NULL */
    cr_assert_float_eq(query_num(db, "SELECT count(*) FROM samples WHERE run_id = 1 AND "
                                     "deployment IS NOT NULL"),
                       0.0, 0.0);
    cr_assert_float_eq(query_num(db, "SELECT count(*) FROM scaling_events WHERE run_id = 1 AND "
                                     "deployment IS NOT NULL"),
                       0.0, 0.0);
    /* the new run's rows carry their deployment */
    rows_match_summary(db, 3);
    rm_tree(dir);
}

/* A shared cluster's plan (plan_shared_*) is merged with its plan: the same rows under
 * the new plan id, once however often it is merged, and the report of the merged plan
 * gives the same answer. */
Test(deployments_db, merge_copies_a_shared_plans_layouts)
{
    char dir[256], p[512], m[512];
    make_tmp(dir, sizeof dir, "depplan");
    snprintf(p, sizeof p, "%s/p.db", dir);
    snprintf(m, sizeof m, "%s/m.db", dir);
    cr_assert_eq(llmcap(dir, "", "plan %s -j 2 -o %s", FIXTURES "/plan/shared_pack.yaml", p), 0,
                 "%s", out_of(dir, "err"));
    /* the output already holds a run and a plan of its own: the merged plan is plan 2 */
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", STEADY, m), 0);
    cr_assert_eq(llmcap(dir, "", "plan %s -j 2 -o %s --set seed=3",
                        FIXTURES "/plan/shared_pack.yaml", m),
                 0, "%s", out_of(dir, "err"));
    for (int pass = 0; pass < 2; pass++)
        cr_assert_eq(llmcap(dir, "", "merge %s %s --quiet", m, p), 0, "%s", out_of(dir, "err"));
    static const char *const tables[][2] = {
        {"plan_shared_configs", "config_index, deployment, mig"},
        {"plan_shared_layouts", "rank, usd_per_hour, nodes, is_best, verify, verify_note, "
                                "verified_cost_usd, verified_usd_per_hour"},
        {"plan_shared_choices", "rank, deployment, config_index, replicas, node_type, mig, "
                                "verified_pass, verified_ttft_p95_s, verified_tpot_p95_s, "
                                "verified_usd"},
        {"plan_shared_groups", "rank, node_type, mig, gpus_per_node, units_per_node, "
                               "used_units, nodes, usd_per_node_hour, exact"}};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[512];
        snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE plan_id = 1 ORDER BY 1, 2, 3",
                 tables[i][1], tables[i][0]);
        char *want = dump(p, sql);
        snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE plan_id = 2 ORDER BY 1, 2, 3",
                 tables[i][1], tables[i][0]);
        char *got = dump(m, sql);
        cr_assert_gt(strlen(want), 0, "%s is empty", tables[i][0]);
        cr_assert_str_eq(got, want, "%s", tables[i][0]);
        free(want);
        free(got);
        snprintf(sql, sizeof sql, "SELECT count(DISTINCT plan_id) FROM %s", tables[i][0]);
        cr_assert_float_eq(query_num(m, sql), 2.0, 0.0, "%s: plans 1 and 2, once", tables[i][0]);
    }
    cr_assert_eq(llmcap(dir, "", "report %s --plan 2 -o %s/rep", m, dir), 0, "%s",
                 out_of(dir, "err"));
    char path[600];
    snprintf(path, sizeof path, "%s/rep/plan.md", dir);
    char *md = slurp(path, NULL);
    cr_assert_not_null(md);
    cr_assert_not_null(strstr(md, "$16.00 an hour on 1 x test-8.h100 (6 of 8 GPUs)"), "%s", md);
    cr_assert_not_null(strstr(md, "sharing the cluster saves $2.00 an hour (11.1%)"), "%s", md);
    free(md);
    rm_tree(dir);
}
