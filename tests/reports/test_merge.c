/* llmcap merge: every table of every run, new run ids, idempotence, refusals; run keys. */
#include "helpers.h"

static const char *const tables[] = {"runs",        "requests",       "samples", "summary",
                                     "slo_results", "scaling_events", "pods",    "nodes"};

static double rows(const char *db, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    return query_num(db, sql);
}

/* burst.yaml into A (it fills every table: autoscaler, pods, nodes), steady.yaml into B */
static void two_dbs(const char *dir, char *a, char *b, size_t n)
{
    snprintf(a, n, "%s/a.db", dir);
    snprintf(b, n, "%s/b.db", dir);
    cr_assert_leq(llmcap(dir, "", "run %s -o %s --quiet", BURST, a), 1);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", STEADY, b), 0);
}

Test(merge, copies_every_table_of_every_run_with_new_run_ids)
{
    char dir[256], a[1100], b[1100], m[1100];
    make_tmp(dir, sizeof dir, "merge");
    two_dbs(dir, a, b, sizeof a);
    snprintf(m, sizeof m, "%s/m.db", dir);
    cr_assert_eq(llmcap(dir, "", "merge %s %s %s", m, a, b), 0);
    char *out = out_of(dir, "out");
    char want[16384];
    snprintf(want, sizeof want,
             "%s: 1 run, 1 added (runs 1 to 1), 0 already in %s\n"
             "%s: 1 run, 1 added (runs 2 to 2), 0 already in %s\n"
             "%s: 2 runs added, 0 already there\n",
             a, m, b, m, m);
    cr_assert_str_eq(out, want);
    free(out);
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        double in = rows(a, tables[i]) + rows(b, tables[i]);
        cr_assert_float_eq(rows(m, tables[i]), in, 0.0, "%s", tables[i]);
    }
    cr_assert_gt(rows(a, "nodes"), 0, "burst.yaml has nodes");
    cr_assert_gt(rows(a, "scaling_events"), 0, "burst.yaml has an autoscaler");
    /* B's run is run 2 in M, with the same rows */
    char *x = dump(b, "SELECT request_id, arrival_s, ttft_s, tpot_s, e2e_s, outcome FROM requests "
                      "WHERE run_id = 1 ORDER BY request_id");
    char *y = dump(m, "SELECT request_id, arrival_s, ttft_s, tpot_s, e2e_s, outcome FROM requests "
                      "WHERE run_id = 2 ORDER BY request_id");
    cr_assert(!strcmp(x, y));
    free(x);
    free(y);
    x = dump(a, "SELECT t_s, metric, replica, value FROM samples WHERE run_id = 1 ORDER BY rowid");
    y = dump(m, "SELECT t_s, metric, replica, value FROM samples WHERE run_id = 1 ORDER BY rowid");
    cr_assert(!strcmp(x, y), "samples keep their order");
    free(x);
    free(y);
    rm_tree(dir);
}

Test(merge, merging_twice_adds_nothing)
{
    char dir[256], a[1100], b[1100], m[1100];
    make_tmp(dir, sizeof dir, "merge2");
    two_dbs(dir, a, b, sizeof a);
    snprintf(m, sizeof m, "%s/m.db", dir);
    cr_assert_eq(llmcap(dir, "", "merge %s %s %s", m, a, b), 0);
    double before[8];
    for (size_t i = 0; i < 8; i++)
        before[i] = rows(m, tables[i]);
    cr_assert_eq(llmcap(dir, "", "merge %s %s %s %s", m, b, a, m), 0);
    char *out = out_of(dir, "out");
    char want[16384];
    snprintf(want, sizeof want,
             "%s: 1 run, 0 added, 1 already in %s\n"
             "%s: 1 run, 0 added, 1 already in %s\n"
             "%s: 2 runs, 0 added, 2 already in %s\n"
             "%s: 0 runs added, 4 already there\n",
             b, m, a, m, m, m, m);
    cr_assert_str_eq(out, want);
    free(out);
    for (size_t i = 0; i < 8; i++)
        cr_assert_float_eq(rows(m, tables[i]), before[i], 0.0, "%s grew", tables[i]);
    rm_tree(dir);
}

Test(merge, refuses_files_that_are_not_llmcap_databases)
{
    char dir[256], a[1100], b[1100], m[1100], p[1100], want[2400];
    make_tmp(dir, sizeof dir, "mergebad");
    two_dbs(dir, a, b, sizeof a);
    snprintf(m, sizeof m, "%s/m.db", dir);
    cr_assert_eq(llmcap(dir, "", "merge %s %s", m, a), 0);
    /* a text file */
    cr_assert_eq(llmcap(dir, "", "merge %s %s", m, STEADY), 2);
    char *err = out_of(dir, "err");
    snprintf(want, sizeof want, "llmcap: %s: error: not an llmcap database (not a SQLite file)\n",
             STEADY);
    cr_assert_str_eq(err, want);
    free(err);
    /* another program's SQLite database */
    snprintf(p, sizeof p, "%s/other.db", dir);
    sqlite3 *h;
    cr_assert_eq(sqlite3_open(p, &h), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(h, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    cr_assert_eq(llmcap(dir, "", "merge %s %s %s", m, b, p), 2);
    err = out_of(dir, "err");
    /* every input is checked before anything is written: B is not merged either */
    snprintf(want, sizeof want,
             "llmcap: %s: error: not an llmcap database (a SQLite file of another program)\n",
             p);
    cr_assert_str_eq(err, want);
    free(err);
    /* an empty file, a missing one */
    snprintf(p, sizeof p, "%s/empty.db", dir);
    fclose(fopen(p, "w"));
    cr_assert_eq(llmcap(dir, "", "merge %s %s", m, p), 2);
    err = out_of(dir, "err");
    snprintf(want, sizeof want, "llmcap: %s: error: not an llmcap database (an empty file)\n", p);
    cr_assert_str_eq(err, want);
    free(err);
    snprintf(p, sizeof p, "%s/missing.db", dir);
    cr_assert_eq(llmcap(dir, "", "merge %s %s", m, p), 2);
    err = out_of(dir, "err");
    snprintf(want, sizeof want, "llmcap: %s: error: cannot open: no such file\n", p);
    cr_assert_str_eq(err, want);
    free(err);
    /* the output holds A, nothing else */
    cr_assert_float_eq(rows(m, "runs"), 1.0, 0.0);
    cr_assert_eq(llmcap(dir, "", "merge %s", m), 2);
    /* a merge into a new file that exits 2 leaves no file behind (issue 13 point 5) */
    char n[1100];
    snprintf(n, sizeof n, "%s/new.db", dir);
    cr_assert_eq(llmcap(dir, "", "merge %s %s %s", n, a, STEADY), 2);
    cr_assert(!file_exists(n), "merge exited 2 but left %s", n);
    rm_tree(dir);
}

Test(merge, a_run_written_again_is_appended_and_a_merge_keeps_one_copy_per_key)
{
    char dir[256], db[1100], m[1100];
    make_tmp(dir, sizeof dir, "runkey");
    snprintf(db, sizeof db, "%s/x.db", dir);
    snprintf(m, sizeof m, "%s/m.db", dir);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", STEADY, db), 0);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", STEADY, db), 0);
    /* `run -o` appends (the database contract): two runs with the same identity */
    char *r = dump(db, "SELECT run_id FROM runs");
    cr_assert_str_eq(r, "1|\n2|\n");
    free(r);
    cr_assert_float_eq(query_num(db, "SELECT count(DISTINCT run_key) FROM runs"), 1.0, 0.0);
    /* another seed or other labels are other identities */
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet --seed 2", STEADY, db), 0);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet --labels '{\"k\": 1}'", STEADY, db), 0);
    cr_assert_float_eq(rows(db, "runs"), 4.0, 0.0);
    cr_assert_float_eq(query_num(db, "SELECT count(DISTINCT run_key) FROM runs"), 3.0, 0.0);
    /* a merge copies each identity once */
    cr_assert_eq(llmcap(dir, "", "merge %s %s", m, db), 0);
    cr_assert_float_eq(rows(m, "runs"), 3.0, 0.0);
    rm_tree(dir);
}

Test(merge, a_database_from_before_run_keys_is_merged_and_upgraded)
{
    char dir[256], old[1100], m[1100];
    make_tmp(dir, sizeof dir, "legacy");
    snprintf(old, sizeof old, "%s/old.db", dir);
    snprintf(m, sizeof m, "%s/m.db", dir);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", STEADY, old), 0);
    char *key = dump(old, "SELECT run_key FROM runs");
    sqlite3 *h;
    cr_assert_eq(sqlite3_open(old, &h), SQLITE_OK);
    /* the runs table as it was before run_key */
    cr_assert_eq(sqlite3_exec(h,
                              "CREATE TABLE old_runs AS SELECT run_id, status, created_utc, "
                              "scenario_name, scenario_path, scenario_sha256, overrides, "
                              "labels_json, seed, llmcap_version, git_describe, gsl_version, "
                              "sqlite_version, latency_model, latency_provenance, trace_path, "
                              "wall_s, sim_end_s, n_events, n_requests FROM runs; DROP TABLE "
                              "runs; ALTER TABLE old_runs RENAME TO runs",
                              NULL, NULL, NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(h));
    sqlite3_close(h);
    /* the key is computed from the identity columns: the same as the one written */
    cr_assert_eq(llmcap(dir, "", "merge %s %s", m, old), 0);
    cr_assert_eq(llmcap(dir, "", "merge %s %s", m, old), 0);
    char *merged = dump(m, "SELECT run_key FROM runs");
    cr_assert_str_eq(merged, key);
    free(merged);
    /* writing into the old file adds the column and its keys, then appends the run */
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", STEADY, old), 0);
    char *now = dump(old, "SELECT run_id, run_key FROM runs");
    char want[400];
    snprintf(want, sizeof want, "1|%s2|%s", key, key);
    cr_assert_str_eq(now, want);
    free(now);
    free(key);
    rm_tree(dir);
}

/* Schema version 1 allowed outcomes ok, timeout, rejected, failed and unfinished only;
 * version 2 splits failed into aborted, 5xx and client_timeout and adds shed. Writing into
 * a version-1 file rebuilds its requests table (SQLite cannot alter a CHECK) and keeps
 * every row. */
Test(merge, a_version_1_database_is_migrated_when_written)
{
    char dir[256], old[1100], m[1100];
    make_tmp(dir, sizeof dir, "v1");
    snprintf(old, sizeof old, "%s/old.db", dir);
    snprintf(m, sizeof m, "%s/m.db", dir);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", STEADY, old), 0);
    double n1 = query_num(old, "SELECT count(*) FROM requests");
    cr_assert_gt(n1, 1.0);
    sqlite3 *h;
    cr_assert_eq(sqlite3_open(old, &h), SQLITE_OK);
    /* the requests table of version 1, one row failed as version 1 stored it */
    cr_assert_eq(sqlite3_exec(h,
                              "CREATE TABLE r1 (run_id INTEGER NOT NULL REFERENCES runs(run_id), "
                              "request_id INTEGER NOT NULL, arrival_s REAL NOT NULL, "
                              "prompt_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, "
                              "generated_tokens INTEGER NOT NULL, replica INTEGER, "
                              "first_token_s REAL, finish_s REAL NOT NULL, ttft_s REAL, "
                              "tpot_s REAL, e2e_s REAL NOT NULL, preemptions INTEGER NOT NULL, "
                              "retries INTEGER NOT NULL, outcome TEXT NOT NULL CHECK (outcome "
                              "IN ('ok', 'timeout', 'rejected', 'failed', 'unfinished')), "
                              "PRIMARY KEY (run_id, request_id)) WITHOUT ROWID; "
                              "INSERT INTO r1 SELECT run_id, request_id, arrival_s, "
                              "prompt_tokens, output_tokens, generated_tokens, replica, "
                              "first_token_s, finish_s, ttft_s, tpot_s, e2e_s, preemptions, "
                              "retries, outcome FROM requests; DROP TABLE requests; "
                              "ALTER TABLE r1 RENAME TO requests; "
                              "UPDATE requests SET outcome = 'failed' WHERE request_id = 0; "
                              "PRAGMA user_version = 1",
                              NULL, NULL, NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(h));
    cr_assert_neq(sqlite3_exec(h, "UPDATE requests SET outcome = 'aborted' WHERE request_id = 1",
                               NULL, NULL, NULL),
                  SQLITE_OK);
    sqlite3_close(h);
    /* a version-1 file reads and merges as it is */
    cr_assert_eq(llmcap(dir, "", "merge %s %s", m, old), 0);
    cr_assert_float_eq(query_num(m, "SELECT count(*) FROM requests WHERE outcome = 'failed'"),
                       1.0, 0.0);
    /* writing into it migrates it, then appends the run */
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", STEADY, old), 0);
    cr_assert_float_eq(query_num(old, "PRAGMA user_version"), 3.0, 0.0); /* 1 -> 2 -> 3 */
    cr_assert_float_eq(query_num(old, "SELECT count(*) FROM requests"), 2 * n1, 0.0);
    cr_assert_float_eq(query_num(old, "SELECT count(*) FROM requests WHERE outcome = 'failed'"),
                       1.0, 0.0);
    cr_assert_float_eq(query_num(old, "SELECT count(*) FROM sqlite_master WHERE name LIKE "
                                      "'requests%'"),
                       1.0, 0.0);
    cr_assert_eq(sqlite3_open(old, &h), SQLITE_OK);
    const char *ok[] = {"aborted", "5xx", "client_timeout", "shed"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char sql[160];
        snprintf(sql, sizeof sql, "UPDATE requests SET outcome = '%s' WHERE request_id = %zu",
                 ok[i], i + 1);
        cr_assert_eq(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK, "%s", ok[i]);
    }
    cr_assert_neq(sqlite3_exec(h, "UPDATE requests SET outcome = 'lost' WHERE request_id = 1",
                               NULL, NULL, NULL),
                  SQLITE_OK);
    sqlite3_close(h);
    rm_tree(dir);
}
