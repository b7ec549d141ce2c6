/* cmd_export.c: `llmcap export DB --table T --format csv|jsonl [--run N] [-o FILE]`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "reports/db.h"
#include "reports/export.h"
#include "reports/rundata.h"

enum { OPT_TABLE, OPT_FORMAT, OPT_RUN, OPT_DEPLOYMENT, OPT_OUT };

static const struct cli_opt export_opts[] = {
    [OPT_TABLE] = {"table", 't', "TABLE",
                   "runs, requests, samples, summary, slo_results, scaling_events, pods, "
                   "nodes, deployments, deployment_summary or deployment_slo_results "
                   "(required)"},
    [OPT_FORMAT] = {"format", 'f', "FORMAT", "csv (RFC 4180, the default) or jsonl"},
    [OPT_RUN] = {"run", 'r', "N", "only run N (default: every run in the database)"},
    [OPT_DEPLOYMENT] = {"deployment", 'd', "NAME",
                        "only the rows of deployment NAME of runs of several deployments "
                        "(tables with a deployment column)"},
    [OPT_OUT] = {"output", 'o', "FILE", "write FILE (whole or not at all) instead of stdout"},
};

int cmd_export(int argc, char **argv)
{
    struct cli_args a;
    int rc = cli_parse(argc, argv, export_opts, sizeof export_opts / sizeof export_opts[0],
                       "DB --table TABLE [--format csv|jsonl] [--run N] [--deployment NAME] "
                       "[-o FILE]",
                       "Write one table of a results database as CSV or JSON Lines, for "
                       "spreadsheets, pandas, DuckDB or Grafana. Parquet: convert the CSV "
                       "(docs/sqlite.md says how, and why llmcap does not write it).",
                       &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    const char *table = NULL, *outp = NULL, *deployment = NULL;
    enum export_format fmt = EXPORT_CSV;
    int64_t run = 0;
    for (size_t i = 0; i < a.n_opts; i++) {
        const char *v = a.opts[i].value;
        switch (a.opts[i].which) {
        case OPT_TABLE: {
            bool known = false;
            for (size_t k = 0; export_tables[k]; k++)
                known |= !strcmp(v, export_tables[k]);
            if (!known)
                return cli_usage_error(argv[0],
                                       "'--table' must be one of runs, requests, samples, "
                                       "summary, slo_results, scaling_events, pods, nodes, "
                                       "deployments, deployment_summary, "
                                       "deployment_slo_results, got '%s'",
                                       v);
            table = v;
            break;
        }
        case OPT_FORMAT:
            if (!strcmp(v, "csv"))
                fmt = EXPORT_CSV;
            else if (!strcmp(v, "jsonl"))
                fmt = EXPORT_JSONL;
            else if (!strcmp(v, "parquet"))
                return cli_usage_error(argv[0],
                                       "'--format parquet' is not written by llmcap (no C "
                                       "Parquet library is packaged in Debian): export csv and "
                                       "convert it, e.g. duckdb -c \"COPY (FROM 'x.csv') TO "
                                       "'x.parquet'\"");
            else
                return cli_usage_error(argv[0], "'--format' must be csv or jsonl, got '%s'", v);
            break;
        case OPT_RUN: {
            char *end;
            errno = 0;
            long long id = strtoll(v, &end, 10);
            if (!*v || *end || errno || id <= 0)
                return cli_usage_error(argv[0], "'--run' must be a run id >= 1, got '%s'", v);
            run = id;
            break;
        }
        case OPT_DEPLOYMENT:
            deployment = v;
            break;
        case OPT_OUT:
            outp = v;
            break;
        }
    }
    if (a.n_pos != 1)
        return cli_usage_error(argv[0], "expected one database, got %zu", a.n_pos);
    if (!table)
        return cli_usage_error(argv[0], "'--table' is required");
    struct sim_err err = {0};
    struct db *db = db_open_readonly(a.pos[0], &err);
    if (!db)
        return cli_error(&err);
    if (run > 0) {
        int64_t id = 0;
        if (run_pick(db, run, &id, NULL, &err) != SIM_OK) {
            db_close(db);
            return cli_error(&err);
        }
    }
    if (deployment && export_check_deployment(db, table, run, deployment, &err) != SIM_OK) {
        db_close(db);
        return cli_error(&err);
    }
    FILE *out = stdout;
    char tmp[4096] = "";
    if (outp) {
        /* a temporary file beside FILE, renamed over it once complete */
        if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", outp) >= (int)sizeof tmp) {
            db_close(db);
            return cli_usage_error(argv[0], "'-o': the path is too long");
        }
        if (!(out = cli_atomic_open(outp, tmp, sizeof tmp, &err))) {
            db_close(db);
            return cli_error(&err);
        }
    }
    uint64_t n = 0;
    rc = export_table(db, table, run, deployment, fmt, out, &n, &err);
    db_close(db);
    if (outp)
        rc = cli_atomic_close(out, tmp, outp, rc, &err);
    if (rc != SIM_OK)
        return cli_error(&err);
    if (outp)
        fprintf(stderr, "llmcap export: %llu rows of '%s' to %s\n", (unsigned long long)n, table,
                outp);
    return EXIT_OK;
}
