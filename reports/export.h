/*
 * export.h: a results table as CSV (RFC 4180) or JSON Lines, for spreadsheets, pandas,
 * DuckDB, BigQuery, Grafana's CSV datasource: `llmcap export DB --table T`.
 *
 * Rows stream from SQLite to the file one at a time (memory does not grow with the
 * table), in the order they were written (run, then request id, pod id, node id, key, or
 * insertion order for samples and scaling events), so the same database gives the same
 * bytes. Columns are the table's own (docs/sqlite.md), in schema order.
 */
#ifndef LLMCAP_REPORTS_EXPORT_H
#define LLMCAP_REPORTS_EXPORT_H

#include <stdint.h>
#include <stdio.h>

#include "reports/db.h"
#include "sim/core/err.h"

enum export_format { EXPORT_CSV, EXPORT_JSONL };

/* The tables that can be exported, NULL-terminated: runs, requests, samples, summary,
 * slo_results, scaling_events, pods, nodes. */
extern const char *const export_tables[];

/*
 * Write `table` (one of export_tables) of every run, or of run `run_id` only (> 0), and
 * of every deployment or of `deployment` only (not NULL; export_check_deployment()), to
 * `out`. `nodes` gets a `zone_name` column after `zone`: the zone ID's name in the run's
 * run_notes 'zone_names' (reports/zones.h), NULL where the run does not name it.
 * - CSV: a header line of the column names, then one record per row; fields holding a
 *   comma, a quote, CR, LF or leading/trailing blanks are quoted ("" for a quote);
 *   records end with CRLF (RFC 4180 section 2); NULL is an empty field; numbers are
 *   written to round-trip exactly (%.17g).
 * - JSONL: one JSON object per line (cJSON), column name -> value, NULL -> null; the
 *   JSON text columns (samples.labels, scaling_events.metric_values, runs.labels_json)
 *   are nested as objects.
 * Returns SIM_OK, SIM_EINVAL for an unknown table (err lists the known ones), SIM_EIO
 * when the database cannot be read or `out` cannot be written, SIM_ENOMEM.
 */
int export_table(struct db *db, const char *table, int64_t run_id, const char *deployment,
                 enum export_format fmt, FILE *out, uint64_t *n_rows, struct sim_err *err);

/* Whether `deployment` can select rows of `table` (of run `run_id` when > 0): the table
 * has a deployment column (schema 3: requests, samples, scaling_events, pods, and the
 * deployment tables) and the database holds that deployment. SIM_OK, or SIM_EINVAL +
 * err saying which tables can, or which deployments there are; SIM_EIO. */
int export_check_deployment(struct db *db, const char *table, int64_t run_id,
                            const char *deployment, struct sim_err *err);

#endif
