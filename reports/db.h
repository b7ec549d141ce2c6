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

#include "sim/err.h"
#include "sim/record.h"
#include "sim/sim.h"

#define DB_SCHEMA_VERSION 1
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

struct plan_result;

/* Write a plan's results as one plan (all rows or none). `best` is the index of the
 * cheapest feasible result or -1. *plan_id gets the new plan's id. SIM_EIO + err. */
int db_write_plan(struct db *db, const struct scenario *sc, const struct plan_result *r,
                  size_t n, long best, int64_t *plan_id, struct sim_err *err);

/* Roll back the current run (no-op when none is open). */
void db_abort_run(struct db *db);

/* The first error the sink hit (for messages), or NULL. */
const struct sim_err *db_sink_error(const struct db *db);

#endif
