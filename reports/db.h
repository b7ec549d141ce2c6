/*
 * db.h: the SQLite results database (schema in reports/schema.sql).
 *
 * One file holds many runs. db_open() creates the schema in a new or empty file, accepts
 * an llmcap database of this or an older schema version, and refuses anything else
 * (another SQLite file, a file that is not SQLite, a newer schema) without writing to
 * it. A run is written in one transaction: db_begin_run() takes the write lock, the sink
 * streams request rows and samples through prepared statements, db_finish_run() adds
 * the run row, the summary and the SLO verdicts and commits; db_abort_run() rolls back,
 * leaving the file as it was.
 */
#ifndef LLMCAP_REPORTS_DB_H
#define LLMCAP_REPORTS_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/core/err.h"
#include "sim/record.h"
#include "sim/sim.h"

#define DB_SCHEMA_VERSION 3
#define DB_APPLICATION_ID 0x4C4C4D43 /* 'LLMC' */

struct db;

/* Open (creating if needed) the database at `path`. Caller owns: db_close(). NULL + err
 * (SIM_EINVAL for a file that is not an llmcap database, SIM_EIO for I/O problems). */
struct db *db_open(const char *path, struct sim_err *err);

/* Close; an open run is rolled back. NULL is a no-op. */
void db_close(struct db *db);

/* What a run row records besides the results. Strings are borrowed for the call. */
struct db_run_info {
    const struct scenario *sc;
    const char *labels_json; /* NULL: "{}" */
    const char *latency_model;
    /* A run of several deployments (sim_n_deployments() > 1): each one's row, summary and
     * SLO verdicts go to `deployments`, `deployment_summary`, `deployment_slo_results`;
     * NULL or one deployment: nothing there. */
    const struct sim *sim;
};

/* Start a run: BEGIN IMMEDIATE (waiting up to 5 s for another writer), pick the run id.
 * SIM_EIO + err when the database is locked, read-only or failing. */
int db_begin_run(struct db *db, int64_t *run_id, struct sim_err *err);

/* The sink that writes the current run's rows (borrowed from db). */
const struct sim_sink *db_sink(struct db *db);

/* Write the run row, summary and SLO results, then COMMIT. On failure the run is rolled
 * back and SIM_EIO returned. */
int db_finish_run(struct db *db, const struct db_run_info *info, const struct sim_result *r,
                  double wall_s, struct sim_err *err);

/* Writers of rows other than a run's (plans: plan/plan_db.c) use a write transaction:
 * db_begin_write() takes the write lock (BEGIN IMMEDIATE, waiting up to 5 s), db_exec()
 * runs statements, db_commit_write() commits (on failure rolls back) or
 * db_rollback_write() leaves the file as it was. SIM_EIO + err. */
int db_begin_write(struct db *db, struct sim_err *err);
int db_commit_write(struct db *db, struct sim_err *err);
void db_rollback_write(struct db *db);

/* The current UTC time as ISO 8601 ("2026-12-06T16:05:00Z"), as created_utc records it. */
void db_utc_now(char *buf, size_t n);

/* Roll back the current run (no-op when none is open). */
void db_abort_run(struct db *db);

/* The first error the sink hit (for messages), or NULL. */
const struct sim_err *db_sink_error(const struct db *db);

/* ---- run identity ---------------------------------------------------------------------- */

/* What makes two runs the same run: a run is a pure function of these. Strings are
 * borrowed; NULL overrides mean "", NULL labels "{}". */
struct db_run_identity {
    const char *scenario_sha256;
    const char *overrides;   /* the --set list as recorded ("k=v;k=v") */
    const char *labels_json; /* as given to --labels */
    uint64_t seed;
    const char *llmcap_version;
    const char *git_describe;
};

/* The run key stored in runs.run_key: SHA-256 (64 lower-case hex digits and a NUL) of the
 * identity's fields. db_finish_run() appends a run whatever its key; db_merge() skips a
 * run whose key is already there. */
void db_run_key(const struct db_run_identity *id, char hex[65]);

/* This build's version and git describe, as db_finish_run() records them. */
const char *db_llmcap_version(void);
const char *db_git_describe(void);

/* 1 and *run_id (when not NULL) when a run with `key` is in the database, 0 when not,
 * SIM_EIO + err when it cannot be read. */
int db_find_run_key(struct db *db, const char *key, int64_t *run_id, struct sim_err *err);

/* ---- reading --------------------------------------------------------------------------- */

/* Open an existing llmcap database for reading only; nothing is ever written to it.
 * Caller owns: db_close(). NULL + err: SIM_ENOENT when there is no such file,
 * SIM_EINVAL when it is not an llmcap database (not SQLite, another program's SQLite
 * file, an empty file, a directory) or was written by a newer schema, SIM_EIO when it
 * cannot be read. A read-only handle cannot begin runs or merge. */
struct db *db_open_readonly(const char *path, struct sim_err *err);

/* The path the database was opened with (borrowed). */
const char *db_path(const struct db *db);

enum db_type { DB_NULL, DB_INT, DB_REAL, DB_TEXT };

/* One value of a row or a query parameter. DB_INT sets i and d; DB_REAL sets d (and i,
 * truncated); DB_TEXT sets s, which in a row is borrowed until the callback returns;
 * DB_NULL sets d to NaN. */
struct db_value {
    enum db_type type;
    int64_t i;
    double d;
    const char *s;
};

struct db_value db_int(int64_t i);
struct db_value db_real(double d);       /* NaN gives DB_NULL */
struct db_value db_text(const char *s);  /* NULL gives DB_NULL */

#define DB_MAX_COLUMNS 64

/* Called for each row; a non-zero return stops the query and is returned by db_query(). */
typedef int (*db_row_fn)(void *ctx, const struct db_value *cols, int n_cols);

/* Run one SQL statement (the schema is reports/schema.sql) with parameters ?1..?n bound
 * from params[0..n_params), calling fn for every row (at most DB_MAX_COLUMNS columns).
 * SIM_OK, fn's non-zero value, or SIM_EIO + err ("cannot read the database: ..."). */
int db_query(struct db *db, const char *sql, const struct db_value *params, int n_params,
             db_row_fn fn, void *ctx, struct sim_err *err);

/* Whether `table` has a column `col` (a file of an older schema opened read-only lacks
 * the newer ones: requests.deployment before version 3). */
bool db_has_column(struct db *db, const char *table, const char *col);

/* Run one statement that returns no rows (INSERT, UPDATE) with parameters ?1..?n.
 * SIM_OK or SIM_EIO + err ("cannot write the database: ..."). */
int db_exec(struct db *db, const char *sql, const struct db_value *params, int n_params,
            struct sim_err *err);

/* ---- merging --------------------------------------------------------------------------- */

struct db_merge_stats {
    size_t n_runs;      /* runs in the input */
    size_t n_added;     /* copied, with new run ids */
    size_t n_present;   /* skipped: a run with the same key is already there */
    size_t n_plan_rows; /* plan_results rows in the input, which are not merged */
    int64_t first_id, last_id; /* run ids given to the added runs (when n_added > 0) */
};

/* Copy every run of the llmcap database `in_path` that `out` does not hold yet (by run
 * key) into `out`, with all its rows (requests, samples, summary, slo_results,
 * scaling_events, pods, nodes), in the input's run order, giving them the next free run
 * ids. One transaction: on failure nothing of this input is added. Merging the same
 * input twice adds nothing; merging `out` into itself adds nothing. SIM_OK, or SIM_ENOENT
 * / SIM_EINVAL (the input is missing or not an llmcap database, or lacks a column) /
 * SIM_EIO + err. */
int db_merge(struct db *out, const char *in_path, struct db_merge_stats *st,
             struct sim_err *err);

#endif
