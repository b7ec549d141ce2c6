/*
 * cli.h: shared pieces of the llmcap command line (cli/main.c and sim/cmd_*.c).
 *
 * Each subcommand has one static const table of options that drives both getopt_long
 * and its --help text. Errors are printed as "llmcap: WHERE: error: MESSAGE" on stderr;
 * exit codes: 0 ok, 1 an SLO or check failed, 2 bad usage or bad input, 3 runtime or I/O
 * failure. Progress goes to stderr only when it is a terminal; machine-readable output
 * goes to stdout and is never mixed with it.
 */
#ifndef LLMCAP_SIM_CLI_H
#define LLMCAP_SIM_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "sim/core/err.h"

enum { EXIT_OK = 0, EXIT_CHECK_FAILED = 1, EXIT_USAGE = 2, EXIT_RUNTIME = 3 };

struct cli_opt {
    const char *name; /* long name */
    int short_name;   /* 0 when none */
    const char *arg;  /* argument placeholder, NULL for flags */
    const char *help;
};

/* A parsed command line: options by table index, in order, and positional arguments. */
struct cli_args {
    size_t n_pos;
    char **pos;
    size_t n_opts;
    struct {
        int which; /* index into the table */
        const char *value;
    } opts[256];
};

/* Parse argv (argv[0] is the subcommand) against `table` (n entries). On a usage error
 * prints it with `usage` and returns EXIT_USAGE; on --help prints the help and returns
 * -1; else 0. */
int cli_parse(int argc, char **argv, const struct cli_opt *table, size_t n,
              const char *usage, const char *summary, struct cli_args *out);

struct scenario;

/* scenario_load() and the planner's check of the `plan:` section (plan_check), which the
 * scenario reader leaves to the planner: every command reports a bad plan at load. Same
 * contract as scenario_load(). */
int cli_load_scenario(struct scenario *sc, const char *path, const char *const *sets,
                      size_t n_sets, struct sim_err *err);

/* Print "llmcap: <formatted error>" on stderr and return its exit code. */
int cli_error(const struct sim_err *e);

/* Print "llmcap: <cmd>: error: <msg>" for a usage error and return EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* SIGINT/SIGTERM set this flag to the signal's number (installed by cli_install_signals). */
extern volatile sig_atomic_t cli_stop;
void cli_install_signals(void);

/* Wall-clock seconds from a monotonic clock (for wall times and progress only). */
double cli_wall_s(void);

/* An output written whole or not at all: cli_atomic_open() creates a temporary file
 * beside `path` (in `tmp`, `tmp_size` bytes; the mode a plain open would give) and
 * returns it, or NULL with `err` set; cli_atomic_close() closes it and, when `rc` is
 * SIM_OK, renames it over `path`, else (or on a failure) removes it. Returns the final rc. */
FILE *cli_atomic_open(const char *path, char *tmp, size_t tmp_size, struct sim_err *err);
int cli_atomic_close(FILE *out, const char *tmp, const char *path, int rc, struct sim_err *err);

/* Write `s` as a JSON string literal (quotes and escapes included). */
void cli_json_string(FILE *f, const char *s);

/* Subcommands. */
int cmd_run(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_catalog(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_trace_prom(int argc, char **argv); /* trace from-prometheus */
int cmd_autoscale(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);

#endif
