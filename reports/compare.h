/*
 * compare.h: runs side by side: the SLO verdicts and the headline metrics
 * (reports/headline.h) of each run, with each run's change against the first (absolute
 * and in percent), as an aligned text table, a Markdown table or JSON. Runs of several
 * deployments are also compared deployment by deployment (matched by name): each one's
 * SLOs met, its headline metrics over its own requests and its share of the bill. In the tables a
 * metric's values and changes share one number of decimals. The output depends only on the
 * runs' data: the same databases give the same bytes.
 */
#ifndef LLMCAP_REPORTS_COMPARE_H
#define LLMCAP_REPORTS_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "reports/headline.h"
#include "reports/rundata.h"

struct cmp_run {
    const char *db_label;      /* how the user named the database (borrowed) */
    const struct run_data *rd; /* loaded with RD_HEADLINE (borrowed) */
};

/* Write the comparison of runs[0..n) (n >= 1; runs[0] is the baseline) to `out`. */
void compare_print_text(FILE *out, const struct cmp_run *runs, size_t n);
void compare_print_json(FILE *out, const struct cmp_run *runs, size_t n);
/* The same table as compare_print_text in GitHub-flavoured Markdown (a CI job's step
 * summary: `llmcap compare ... --format md >> "$GITHUB_STEP_SUMMARY"`). */
void compare_print_md(FILE *out, const struct cmp_run *runs, size_t n);

/* The change from base to v in percent as printed: "+50.0%", "n/a" when base is 0 and v
 * is not; "" when either is NaN. */
void compare_fmt_delta_pct(char *buf, size_t n, double base, double v);

#endif
