/* cmd_report.c: `llmcap report`: charts, Markdown and HTML for one run of a database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/db.h"
#include "reports/report.h"
#include "cli/cli.h"

int cmd_report(int argc, char **argv); /* cli/cli.h */

enum { OPT_RUN, OPT_OUTPUT, OPT_QUIET, OPT_PLAN };

static const struct cli_opt report_opts[] = {
    [OPT_RUN] = {"run", 'r', "ID", "the run to report (default: the last run in DB)"},
    [OPT_OUTPUT] = {"output", 'o', "DIR", "folder for report.md, report.html and the charts"},
    [OPT_QUIET] = {"quiet", 'q', NULL, "print nothing but errors and warnings"},
    [OPT_PLAN] = {"plan", 0, "ID|last", "report a `llmcap plan` instead: Pareto chart and tables"},
};

/* gnuplot ran and failed: the text report is there and says so; the exit code tells a
 * script that the charts it asked for are not. */
static int charts_failed(const struct report_result *res, const char *out_dir,
                         const char *written, const char *charts)
{
    fprintf(stderr, "llmcap: %s: error: %s; %s were written without %s\n", out_dir,
            res->gnuplot_failed, written, charts);
    return EXIT_RUNTIME;
}

int cmd_report(int argc, char **argv)
{
    struct cli_args a;
    int rc = cli_parse(argc, argv, report_opts, sizeof report_opts / sizeof report_opts[0],
                       "DB [--run ID | --plan ID|last] -o DIR",
                       "Write the report of one run: SLOs, cost ($ per 1M tokens, projected "
                       "month, idle and loading share), findings, charts (gnuplot, PNG and "
                       "SVG), as report.md and a self-contained report.html.",
                       &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    struct report_options opt = {0, NULL, NULL};
    bool quiet = false, plan = false;
    int64_t plan_id = 0;
    for (size_t i = 0; i < a.n_opts; i++) {
        const char *v = a.opts[i].value;
        switch (a.opts[i].which) {
        case OPT_RUN: {
            char *end;
            long long id = strtoll(v, &end, 10);
            if (!*v || *end || id <= 0)
                return cli_usage_error(argv[0], "'--run' must be a run id >= 1, got '%s'", v);
            opt.run_id = id;
            break;
        }
        case OPT_OUTPUT:
            opt.out_dir = v;
            break;
        case OPT_QUIET:
            quiet = true;
            break;
        case OPT_PLAN: {
            plan = true;
            if (strcmp(v, "last") == 0)
                break;
            char *end;
            long long id = strtoll(v, &end, 10);
            if (!*v || *end || id <= 0)
                return cli_usage_error(argv[0],
                                       "'--plan' must be a plan id >= 1 or 'last', got '%s'", v);
            plan_id = id;
            break;
        }
        }
    }
    if (a.n_pos != 1)
        return cli_usage_error(
            argv[0], a.n_pos ? "expected one database, got %zu" : "expected a database%.0zu",
            a.n_pos);
    if (!opt.out_dir)
        return cli_usage_error(argv[0], "'-o DIR' is required (the folder for the report)");
    struct sim_err err = {0};
    struct db *db = db_open_readonly(a.pos[0], &err);
    if (!db)
        return cli_error(&err);
    struct report_result res;
    if (plan) {
        rc = report_write_plan(db, &opt, plan_id, &res, &err);
        db_close(db);
        if (rc != SIM_OK)
            return cli_error(&err);
        if (res.gnuplot_missing)
            fprintf(stderr, "llmcap: report: warning: gnuplot is not installed, so the plan "
                            "report has no chart; install the Debian package gnuplot-nox\n");
        if (res.gnuplot_failed[0])
            return charts_failed(&res, opt.out_dir, "plan.md and plan.html", "the chart");
        if (!quiet)
            printf("%s/plan.html\n%s/plan.md\nplan %lld, %zu chart%s\n", opt.out_dir,
                   opt.out_dir, (long long)res.run_id, res.n_charts,
                   res.n_charts == 1 ? "" : "s");
        return EXIT_OK;
    }
    rc = report_write(db, &opt, &res, &err);
    db_close(db);
    if (rc != SIM_OK)
        return cli_error(&err);
    if (res.n_runs > 1 && opt.run_id <= 0)
        fprintf(stderr,
                "llmcap: report: note: %s holds %zu runs; reporting the last, run %lld "
                "(choose one with --run ID)\n",
                a.pos[0], res.n_runs, (long long)res.run_id);
    if (res.gnuplot_missing)
        fprintf(stderr, "llmcap: report: warning: gnuplot is not installed, so the report has "
                        "no charts; install the Debian package gnuplot-nox (apt-get install "
                        "gnuplot-nox) and run llmcap report again\n");
    if (res.gnuplot_failed[0])
        return charts_failed(&res, opt.out_dir, "report.md and report.html", "charts");
    if (!quiet) {
        printf("%s/report.html\n%s/report.md\n", opt.out_dir, opt.out_dir);
        printf("run %lld: SLOs %s", (long long)res.run_id,
               res.n_slo == 0 ? "none"
               : res.slo_pass ? "PASS"
                              : "FAIL");
        printf(", %zu finding%s, %zu chart%s\n", res.n_findings, res.n_findings == 1 ? "" : "s",
               res.n_charts, res.n_charts == 1 ? "" : "s");
    }
    return EXIT_OK;
}
