/*
 * Schema 1 -> 2: a database written before request classes (outcome CHECK without 'shed',
 * no class columns) is migrated when llmcap opens it to write: its runs stay as they were
 * (class NULL), the next run's shed requests and per-class SLO rows go in.
 */
#include <stdint.h>

#include "helpers.h"

static int64_t q_int(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s", sql);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Turn a version-2 file back into what version 1 wrote (its requests table as schema 1
 * declared it, no slo_results.class). */
static void downgrade(const char *path)
{
    sqlite3 *h = NULL;
    cr_assert_eq(sqlite3_open(path, &h), SQLITE_OK);
    const char *sql =
        "BEGIN;"
        "ALTER TABLE requests RENAME TO r2;"
        "CREATE TABLE requests (run_id INTEGER NOT NULL REFERENCES runs(run_id),"
        " request_id INTEGER NOT NULL, arrival_s REAL NOT NULL, prompt_tokens INTEGER NOT NULL,"
        " output_tokens INTEGER NOT NULL, generated_tokens INTEGER NOT NULL, replica INTEGER,"
        " first_token_s REAL, finish_s REAL NOT NULL, ttft_s REAL, tpot_s REAL,"
        " e2e_s REAL NOT NULL, preemptions INTEGER NOT NULL, retries INTEGER NOT NULL,"
        " outcome TEXT NOT NULL CHECK (outcome IN"
        " ('ok', 'timeout', 'rejected', 'failed', 'unfinished')),"
        " PRIMARY KEY (run_id, request_id)) WITHOUT ROWID;"
        "INSERT INTO requests SELECT run_id, request_id, arrival_s, prompt_tokens,"
        " output_tokens, generated_tokens, replica, first_token_s, finish_s, ttft_s, tpot_s,"
        " e2e_s, preemptions, retries, outcome FROM r2;"
        "DROP TABLE r2;"
        "ALTER TABLE slo_results DROP COLUMN class;"
        "PRAGMA user_version = 1;"
        "COMMIT;";
    char *msg = NULL;
    cr_assert_eq(sqlite3_exec(h, sql, NULL, NULL, &msg), SQLITE_OK, "%s", msg ? msg : "");
    sqlite3_close(h);
}

Test(migrate, a_version_1_database_takes_shed_requests_and_classes)
{
    char dir[256], db[300];
    make_tmp(dir, sizeof dir, "migrate");
    snprintf(db, sizeof db, "%s/r.db", dir);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", STEADY, db), 0);
    downgrade(db);
    /* exit 1: its SLOs fail (it is overloaded on purpose) */
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", FIXTURES "/reports/classes.yaml", db),
                 1);
    sqlite3 *h = NULL;
    cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
    cr_assert_eq(q_int(h, "PRAGMA user_version"), 3); /* 1 -> 2 -> 3 */
    /* run 1 as it was: 200 requests, no class */
    cr_assert_eq(q_int(h, "SELECT count(*) FROM requests WHERE run_id = 1 AND class IS NULL"),
                 200);
    cr_assert_eq(q_int(h, "SELECT count(*) FROM slo_results WHERE run_id = 1"), 3);
    /* run 2: every request has its class; the shed ones are batch requests */
    cr_assert_eq(q_int(h, "SELECT count(*) FROM requests WHERE run_id = 2 AND class IS NULL"),
                 0);
    int64_t shed = q_int(h, "SELECT count(*) FROM requests WHERE run_id = 2 AND outcome = 'shed'");
    cr_assert_gt(shed, 0);
    cr_assert_eq(q_int(h, "SELECT count(*) FROM requests WHERE run_id = 2 AND outcome = 'shed' "
                          "AND class = 'batch'"),
                 shed);
    cr_assert_eq(q_int(h, "SELECT value FROM summary WHERE run_id = 2 AND "
                          "key = 'class.batch.requests_shed'"),
                 shed);
    /* run-wide ttft_p95 plus one SLO per class, keyed CLASS.slo */
    cr_assert_eq(q_int(h, "SELECT count(*) FROM slo_results WHERE run_id = 2"), 3);
    cr_assert_eq(q_int(h, "SELECT count(*) FROM slo_results WHERE run_id = 2 AND "
                          "slo = 'batch.error_rate' AND class = 'batch'"),
                 1);
    sqlite3_close(h);
    /* a version-1 input merges into a version-2 output: class NULL */
    char old[300];
    snprintf(old, sizeof old, "%s/old.db", dir);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet --seed 5", STEADY, old), 0);
    downgrade(old);
    char merged[300];
    snprintf(merged, sizeof merged, "%s/m.db", dir);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", FIXTURES "/reports/classes.yaml", merged),
                 1);
    cr_assert_eq(llmcap(dir, "", "merge %s %s", merged, old), 0, "%s", out_of(dir, "err"));
    cr_assert_eq(sqlite3_open(merged, &h), SQLITE_OK);
    cr_assert_eq(q_int(h, "SELECT count(*) FROM requests WHERE run_id = 2 AND class IS NULL"),
                 200);
    sqlite3_close(h);
    rm_tree(dir);
}
