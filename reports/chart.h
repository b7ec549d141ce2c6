/*
 * chart.h: charts drawn by gnuplot, which runs as a separate program at report time and
 * is never linked.
 *
 * The report writes the charts' data files and one gnuplot script; chart_begin() and
 * chart_end() frame each chart in the script so that it is drawn twice, as NAME.png
 * (pngcairo) and NAME.svg, with the same settings. chart_run() runs the script. When
 * gnuplot is not installed (the Debian package is gnuplot-nox) or fails, it says so and
 * the caller goes on without charts.
 */
#ifndef LLMCAP_REPORTS_CHART_H
#define LLMCAP_REPORTS_CHART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "sim/core/err.h"

/* Chart size in pixels (PNG and SVG alike). */
enum { CHART_WIDTH = 1000, CHART_HEIGHT = 400 };

/* Start chart `name` in script `gp`: terminal pngcairo, output NAME.png, title, grid,
 * data-file settings (tab-separated; NaN, a missing value, leaves a gap). */
void chart_begin(FILE *gp, const char *name, const char *title);

/* End chart `name`: draw the same plot again as NAME.svg, close it, reset. */
void chart_end(FILE *gp, const char *name);

/* Write `s` as a gnuplot single-quoted string. */
void chart_quote(FILE *gp, const char *s);

/* Run `gnuplot` (a program name looked up in PATH, or a path; NULL for "gnuplot") on the
 * script file `script` with `dir` as its working directory. SIM_OK, with *missing set
 * when gnuplot could not be started because it is not installed, or with `failed` set to
 * "gnuplot failed on SCRIPT: LAST LINE" (gnuplot's last message) when it ran and failed
 * (a non-zero exit or a signal); either way the caller goes on without charts. `failed`
 * (`n_failed` bytes) is "" otherwise. SIM_EIO + err when gnuplot cannot be started for
 * another reason (no pipes, no process, a gnuplot that is there but cannot be run). */
int chart_run(const char *dir, const char *script, const char *gnuplot, bool *missing,
              char *failed, size_t n_failed, struct sim_err *err);

#endif
