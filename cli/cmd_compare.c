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

enum { OPT_JSON };

static const struct cli_opt compare_opts[] = {
    [OPT_JSON] = {"json", 0, NULL, "print one JSON object instead of the table"},
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
                       "A.db[:RUN] B.db[:RUN] [...] [--json]",
                       "Line up the SLO verdicts and headline metrics (latency, errors, "
                       "throughput, fleet, cost) of runs, each against the first, with the "
                       "change in absolute terms and in percent. Without :RUN, a database's "
                       "last run is used.",
                       &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    bool json = false;
    for (size_t i = 0; i < a.n_opts; i++)
        if (a.opts[i].which == OPT_JSON)
            json = true;
    if (a.n_pos < 2)
        return cli_usage_error(argv[0], "expected two runs or more (DB[:RUN]), got %zu", a.n_pos);
    if (a.n_pos > MAX_RUNS)
        return cli_usage_error(argv[0], "at most %d runs at once, got %zu", MAX_RUNS, a.n_pos);
    struct run_data rd[MAX_RUNS];
    struct cmp_run runs[MAX_RUNS];
    size_t n = 0;
    struct sim_err err = {0};
    int code = EXIT_OK;
    for (size_t i = 0; i < a.n_pos; i++) {
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
        if (json)
            compare_print_json(stdout, runs, n);
        else
            compare_print_text(stdout, runs, n);
        if (fflush(stdout) != 0)
            code = EXIT_RUNTIME;
    }
    for (size_t i = 0; i < n; i++)
        run_data_release(&rd[i]);
    return code;
}
