/*
 * report.h: the report of one run, for a person reviewing capacity and cost.
 *
 * report_write() reads a run from the results database and writes into a folder:
 *
 *   report.md    the headline (SLOs pass or fail, $ per 1M output tokens, cost projected
 *                to a month, idle and loading share of the bill), findings, SLO, cost,
 *                latency and fleet tables, the charts, and the run's provenance
 *   report.html  the same as one self-contained page (charts inlined as SVG data: URIs)
 *   NAME.png, NAME.svg   the charts (gnuplot): fleet, queue, ttft, tpot, kv_cache, cost,
 *                latency_cdf
 *   charts.gp, data/NAME.tsv  the gnuplot script and the data it draws, to redraw or restyle
 *
 * The files depend on the database alone (nothing of the moment the report is made), so
 * the same database gives the same bytes. Without gnuplot the text report is still
 * written, with a note saying which package to install.
 */
#ifndef LLMCAP_REPORTS_REPORT_H
#define LLMCAP_REPORTS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reports/db.h"
#include "sim/core/err.h"

struct report_options {
    int64_t run_id;      /* <= 0: the last run in the database */
    const char *out_dir; /* created when missing (one level) */
    const char *gnuplot; /* program to run; NULL: "gnuplot" from PATH */
};

struct report_result {
    int64_t run_id;
    size_t n_runs;        /* runs in the database */
    bool gnuplot_missing; /* no charts: gnuplot is not installed */
    /* no charts: "gnuplot failed on SCRIPT: ITS LAST MESSAGE"; "" when it did not fail.
     * The text report is written all the same; the caller decides what that means. */
    char gnuplot_failed[512];
    size_t n_charts;      /* charts drawn (each as PNG and SVG) */
    size_t n_findings;
    bool slo_pass; /* every SLO passed (true when there are none) */
    size_t n_slo;
};

/* Write the report of one run. SIM_OK; SIM_ENOENT + err when the run does not exist,
 * SIM_EINVAL when the database holds no run, SIM_EIO when a file cannot be written or
 * gnuplot cannot be started. A missing or failing gnuplot is not an error here: the text
 * report is written without charts and result->gnuplot_missing or ->gnuplot_failed say
 * why. */
int report_write(struct db *db, const struct report_options *opt, struct report_result *result,
                 struct sim_err *err);

/* Write the report of plan `plan_id` (<= 0: the last plan) of `db`: plan.md, plan.html
 * and the cost-against-TTFT Pareto chart (pareto.png/.svg) in opt->out_dir. result->run_id
 * gets the plan's id, n_charts, gnuplot_missing and gnuplot_failed are set. SIM_ENOENT + err when the
 * database holds no such plan. */
int report_write_plan(struct db *db, const struct report_options *opt, int64_t plan_id,
                      struct report_result *result, struct sim_err *err);

/* "$3,514", "$412", "$1.62": whole dollars with thousands separators from $1000, cents
 * below $100. */
void fmt_usd(char *buf, size_t n, double usd);

#endif
