/* cmd_compare.c: `llmcap compare`: the headline metrics of runs side by side. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "reports/compare.h"
#include "reports/db.h"
#include "reports/rundata.h"
#include "cli/cli.h"

int cmd_compare(int argc, char **argv); /* cli/cli.h */

enum { OPT_JSON, OPT_FORMAT };

static const struct cli_opt compare_opts[] = {
    [OPT_JSON] = {"json", 0, NULL, "print one JSON object instead of the table (--format json)"},
    [OPT_FORMAT] = {"format", 'f', "FORMAT",
                    "text (default), md (a Markdown table, e.g. for a CI step summary) or json"},
};

enum { MAX_RUNS = 32 };

/* "results.db:3" -> path "results.db", run 3; a path that exists as given is taken whole. */
static int split_spec(const char *cmd, const char *spec, char *path, size_t n, int64_t *run)
{
    struct stat st;
    *run = 0;
    snprintf(path, n, "%s", spec);
    const char *colon = strrchr(spec, ':');
    if (stat(spec, &st) == 0 || !colon)
        return 0;
    const char *d = colon + 1;
    char *end;
    long long id = strtoll(d, &end, 10);
    if (!*d || *end || id <= 0)
        return cli_usage_error(cmd, "'%s': expected DB or DB:RUN with a run id >= 1", spec);
    snprintf(path, n, "%.*s", (int)(colon - spec), spec);
    *run = id;
    return 0;
}

int cmd_compare(int argc, char **argv)
{
    struct cli_args a;
    int rc = cli_parse(argc, argv, compare_opts, sizeof compare_opts / sizeof compare_opts[0],
                       "DB | A.db[:RUN] B.db[:RUN] [...] [--format text|md|json]",
                       "Line up the SLO verdicts and headline metrics (latency, errors, "
                       "throughput, fleet, cost) of runs, each against the first, with the "
                       "change in absolute terms and in percent. One database alone: all its "
                       "runs (a sweep's, or runs appended with -o). Otherwise, without :RUN, "
                       "a database's last run is used.",
                       &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    enum { FMT_TEXT, FMT_MD, FMT_JSON } fmt = FMT_TEXT;
    for (size_t i = 0; i < a.n_opts; i++) {
        const char *v = a.opts[i].value;
        if (a.opts[i].which == OPT_JSON || !strcmp(v, "json"))
            fmt = FMT_JSON;
        else if (!strcmp(v, "text"))
            fmt = FMT_TEXT;
        else if (!strcmp(v, "md"))
            fmt = FMT_MD;
        else
            return cli_usage_error(argv[0], "'--format' must be text, md or json, got '%s'", v);
    }
    if (a.n_pos == 0)
        return cli_usage_error(argv[0], "expected a database, or two runs or more (DB[:RUN])");
    if (a.n_pos > MAX_RUNS)
        return cli_usage_error(argv[0], "at most %d runs at once, got %zu", MAX_RUNS, a.n_pos);
    struct run_data rd[MAX_RUNS];
    struct cmp_run runs[MAX_RUNS];
    size_t n = 0;
    struct sim_err err = {0};
    int code = EXIT_OK;
    char one_path[1024];
    int64_t one_run = 0;
    if (a.n_pos == 1 && (rc = split_spec(argv[0], a.pos[0], one_path, sizeof one_path,
                                         &one_run)) != 0)
        return rc;
    if (a.n_pos == 1 && one_run > 0)
        return cli_usage_error(argv[0], "expected two runs or more: '%s' names one", a.pos[0]);
    if (a.n_pos == 1) {
        /* one database: every run in it, in run order */
        struct db *db = db_open_readonly(one_path, &err);
        if (!db)
            return cli_error(&err);
        int64_t *ids = NULL;
        size_t n_ids = 0;
        rc = run_ids(db, &ids, &n_ids, &err);
        if (rc == SIM_OK && n_ids < 2)
            rc = sim_err_at(&err, SIM_EINVAL, one_path, 0, 0,
                            "the database holds %zu run%s: compare needs two or more (name "
                            "other databases as well)",
                            n_ids, n_ids == 1 ? "" : "s");
        if (rc == SIM_OK && n_ids > MAX_RUNS)
            rc = sim_err_at(&err, SIM_EINVAL, one_path, 0, 0,
                            "the database holds %zu runs, more than the %d compare lines up: "
                            "name them as DB:RUN",
                            n_ids, MAX_RUNS);
        for (size_t i = 0; rc == SIM_OK && i < n_ids; i++) {
            rc = run_data_load(db, ids[i], RD_HEADLINE, &rd[n], &err);
            if (rc == SIM_OK) {
                runs[n].db_label = a.pos[0];
                runs[n].rd = &rd[n];
                n++;
            }
        }
        free(ids);
        db_close(db);
        if (rc != SIM_OK)
            code = cli_error(&err);
    }
    for (size_t i = 0; a.n_pos > 1 && code == EXIT_OK && i < a.n_pos; i++) {
        char path[1024];
        int64_t want;
        if ((rc = split_spec(argv[0], a.pos[i], path, sizeof path, &want)) != 0) {
            code = rc;
            break;
        }
        struct db *db = db_open_readonly(path, &err);
        if (!db) {
            code = cli_error(&err);
            break;
        }
        int64_t id = 0;
        rc = run_pick(db, want, &id, NULL, &err);
        if (rc == SIM_OK)
            rc = run_data_load(db, id, RD_HEADLINE, &rd[n], &err);
        db_close(db);
        if (rc != SIM_OK) {
            code = cli_error(&err);
            break;
        }
        runs[n].db_label = a.pos[i];
        runs[n].rd = &rd[n];
        n++;
    }
    if (code == EXIT_OK) {
        if (fmt == FMT_JSON)
            compare_print_json(stdout, runs, n);
        else if (fmt == FMT_MD)
            compare_print_md(stdout, runs, n);
        else
            compare_print_text(stdout, runs, n);
        if (fflush(stdout) != 0)
            code = EXIT_RUNTIME;
    }
    for (size_t i = 0; i < n; i++)
        run_data_release(&rd[i]);
    return code;
}
