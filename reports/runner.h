/*
 * runner.h: run llmcap subcommands as child processes of this same program
 * (/proc/self/exe), a few at a time, for `llmcap sweep` and `llmcap check`.
 *
 * Each job is an argument vector ("run", SCENARIO, "--set", ..., "-o", DB). Children
 * inherit stderr, so their error messages reach the user as they are; their stdout goes
 * to /dev/null. Independent runs in separate processes use every core and cannot disturb
 * one another; each writes its own database, which the caller merges in a fixed order so
 * that the result does not depend on which job finished first.
 */
#ifndef LLMCAP_REPORTS_RUNNER_H
#define LLMCAP_REPORTS_RUNNER_H

#include <signal.h>
#include <stddef.h>

#include "sim/core/err.h"

struct runner_job {
    char **argv;   /* NULL-terminated; argv[0] is the subcommand (borrowed) */
    int exit_code; /* set when the job ends: its exit status, 128 + signal, or -1 when it
                      could not be started */
};

/* Called in the parent as each job ends, in the order they end. */
typedef void (*runner_done_fn)(void *ctx, size_t index, const struct runner_job *job);

/* Run jobs[0..n) with at most `parallel` (>= 1) at a time, in index order. SIM_OK when all
 * ran (whatever their exit codes), SIM_EINTR when *stop became non-zero (running
 * children get SIGTERM and are waited for; jobs not started keep exit_code -1), SIM_EIO
 * + err when /proc/self/exe cannot be read. */
int runner_run(struct runner_job *jobs, size_t n, int parallel, runner_done_fn done, void *ctx,
               volatile sig_atomic_t *stop, struct sim_err *err);

/* Number of processors online (at least 1): the default parallelism. */
int runner_cpus(void);

/* A fresh private folder under $TMPDIR (or /tmp) named PREFIX-XXXXXX, into `out`.
 * SIM_EIO + err. */
int runner_tmpdir(const char *prefix, char *out, size_t n, struct sim_err *err);

/* Remove the files in folder `dir` (not recursive) and the folder itself. */
void runner_rmdir(const char *dir);

#endif
