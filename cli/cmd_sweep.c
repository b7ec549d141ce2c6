/*
 * cmd_sweep.c: `llmcap sweep`: one scenario over a grid of --set values. Every point of
 * the grid (or of one shard of it) is run by this same program (`llmcap run --set ...
 * --labels {...}`) into a private database, N at a time, and merged into the output in
 * grid order, so the output does not depend on which point finished first. Points already
 * in the output (same run key) are not run again: an interrupted sweep resumes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/db.h"
#include "reports/rundata.h"
#include "reports/runner.h"
#include "reports/sweep.h"
#include "cli/cli.h"
#include "sim/config/scenario.h"

int cmd_sweep(int argc, char **argv); /* cli/cli.h */

enum { OPT_VARY, OPT_SET, OPT_JOBS, OPT_OUTPUT, OPT_SHARD, OPT_QUIET, OPT_NO_PROGRESS };

static const struct cli_opt sweep_opts[] = {
    [OPT_VARY] = {"vary", 'v', "PATH=V1,V2,...", "a grid axis: these values of PATH (repeatable)"},
    [OPT_SET] = {"set", 's', "PATH=VALUE", "override a field at every point (repeatable)"},
    [OPT_JOBS] = {"jobs", 'j', "N", "run N points at a time (default: the processors)"},
    [OPT_OUTPUT] = {"output", 'o', "DB", "the database the runs are merged into"},
    [OPT_SHARD] = {"shard", 0, "I/N", "run only the points p with p % N == I (I from 0)"},
    [OPT_QUIET] = {"quiet", 'q', NULL, "print nothing but errors"},
    [OPT_NO_PROGRESS] = {"no-progress", 0, NULL, "no progress line on a terminal"},
};

enum { MAX_SETS = 128 };

struct point {
    size_t index; /* in the grid */
    char *labels; /* JSON */
    char **sets;  /* fixed --set, then one per axis */
    char key[65];
    int64_t run_id; /* in the output, once there */
    bool present;   /* already in the output before the sweep */
    bool done, merged;
    int exit_code;
    char db[4200];
    char *argv[8 + 2 * (MAX_SETS + 64)];
};

struct sweep_ctx {
    struct point *pts;
    size_t n_pts;
    size_t *job_point; /* job index -> point index */
    size_t next_merge;
    size_t n_done, n_to_run;
    struct db *out;
    struct sim_err err;
    int merge_rc;
    bool progress;
};

static void merge_ready(struct sweep_ctx *c)
{
    while (c->next_merge < c->n_pts) {
        struct point *p = &c->pts[c->next_merge];
        if (p->present) {
            c->next_merge++;
            continue;
        }
        if (!p->done)
            return;
        if (c->merge_rc == SIM_OK &&
            (p->exit_code == EXIT_OK || p->exit_code == EXIT_CHECK_FAILED)) {
            struct db_merge_stats st;
            c->merge_rc = db_merge(c->out, p->db, &st, &c->err);
            if (c->merge_rc == SIM_OK) {
                p->merged = true;
                if (db_find_run_key(c->out, p->key, &p->run_id, &c->err) != 1)
                    p->run_id = 0;
            }
        }
        unlink(p->db);
        c->next_merge++;
    }
}

static void on_done(void *ctx, size_t job, const struct runner_job *j)
{
    struct sweep_ctx *c = ctx;
    struct point *p = &c->pts[c->job_point[job]];
    p->done = true;
    p->exit_code = j->exit_code;
    c->n_done++;
    if (c->progress) {
        fprintf(stderr, "\r  sweep: %zu of %zu points done", c->n_done, c->n_to_run);
        fflush(stderr);
    }
    merge_ready(c);
}

static void free_points(struct point *pts, size_t n, size_t n_axes, size_t n_fixed)
{
    for (size_t i = 0; i < n; i++) {
        free(pts[i].labels);
        if (pts[i].sets)
            for (size_t a = 0; a < n_axes; a++)
                free(pts[i].sets[n_fixed + a]);
        free(pts[i].sets);
    }
    free(pts);
}

int cmd_sweep(int argc, char **argv)
{
    struct cli_args a;
    int rc = cli_parse(argc, argv, sweep_opts, sizeof sweep_opts / sizeof sweep_opts[0],
                       "SCENARIO --vary PATH=V1,V2,... [--vary ...] [-j N] -o DB [--shard I/N]",
                       "Run the scenario at every point of the grid of --vary values (their "
                       "cartesian product, the first --vary varying slowest), N processes at a "
                       "time, each point a run labelled with its values, merged into DB in grid "
                       "order. Points already in DB are skipped.",
                       &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    struct sweep sw;
    sweep_init(&sw);
    const char *fixed[MAX_SETS];
    size_t n_fixed = 0;
    const char *output = NULL;
    unsigned shard_i = 0, shard_n = 1;
    int jobs = runner_cpus();
    bool quiet = false, progress = true;
    struct sim_err err = {0};
    for (size_t i = 0; i < a.n_opts; i++) {
        const char *v = a.opts[i].value;
        switch (a.opts[i].which) {
        case OPT_VARY:
            if (sweep_add_axis(&sw, v, &err) != SIM_OK) {
                sweep_release(&sw);
                return cli_error(&err);
            }
            if (sw.n_axes > 64) {
                sweep_release(&sw);
                return cli_usage_error(argv[0], "at most 64 --vary axes");
            }
            break;
        case OPT_SET:
            if (n_fixed == MAX_SETS) {
                sweep_release(&sw);
                return cli_usage_error(argv[0], "too many --set options (at most %d)", MAX_SETS);
            }
            fixed[n_fixed++] = v;
            break;
        case OPT_JOBS: {
            char *end;
            long n = strtol(v, &end, 10);
            if (!*v || *end || n < 1 || n > 1024) {
                sweep_release(&sw);
                return cli_usage_error(argv[0], "'--jobs' must be 1 to 1024, got '%s'", v);
            }
            jobs = (int)n;
            break;
        }
        case OPT_OUTPUT:
            output = v;
            break;
        case OPT_SHARD:
            if (sweep_parse_shard(v, &shard_i, &shard_n, &err) != SIM_OK) {
                sweep_release(&sw);
                return cli_error(&err);
            }
            break;
        case OPT_QUIET:
            quiet = true;
            break;
        case OPT_NO_PROGRESS:
            progress = false;
            break;
        }
    }
    if (a.n_pos != 1) {
        sweep_release(&sw);
        return cli_usage_error(argv[0],
                               a.n_pos ? "expected one scenario file, got %zu"
                                       : "expected a scenario file%.0zu",
                               a.n_pos);
    }
    if (!output) {
        sweep_release(&sw);
        return cli_usage_error(argv[0], "'-o DB' is required (the database of the sweep)");
    }
    const char *scenario = a.pos[0];
    size_t n_grid = sweep_points(&sw);
    size_t n_pts = 0;
    for (size_t p = 0; p < n_grid; p++)
        n_pts += sweep_in_shard(p, shard_i, shard_n);
    struct point *pts = calloc(n_pts ? n_pts : 1, sizeof *pts);
    size_t *job_point = calloc(n_pts ? n_pts : 1, sizeof *job_point);
    struct runner_job *rjobs = calloc(n_pts ? n_pts : 1, sizeof *rjobs);
    struct db *out = NULL;
    char tmp[4096] = "";
    int code = EXIT_OK;
    if (!pts || !job_point || !rjobs) {
        code = cli_error(&(struct sim_err){SIM_ENOMEM, "", "out of memory"});
        goto done;
    }
    /* Every point's scenario is checked before anything runs. */
    size_t k = 0;
    for (size_t p = 0; p < n_grid; p++) {
        if (!sweep_in_shard(p, shard_i, shard_n))
            continue;
        struct point *pt = &pts[k++];
        pt->index = p;
        pt->labels = sweep_labels_json(&sw, p);
        pt->sets = calloc(n_fixed + sw.n_axes + 1, sizeof *pt->sets);
        if (!pt->labels || !pt->sets) {
            code = cli_error(&(struct sim_err){SIM_ENOMEM, "", "out of memory"});
            goto done;
        }
        for (size_t s = 0; s < n_fixed; s++)
            pt->sets[s] = (char *)fixed[s];
        for (size_t ax = 0; ax < sw.n_axes; ax++) {
            char buf[4096];
            sweep_point_set(&sw, p, ax, buf, sizeof buf);
            if (!(pt->sets[n_fixed + ax] = strdup(buf))) {
                code = cli_error(&(struct sim_err){SIM_ENOMEM, "", "out of memory"});
                goto done;
            }
        }
        struct scenario sc;
        if (cli_load_scenario(&sc, scenario, (const char *const *)pt->sets,
                              n_fixed + sw.n_axes, &err) != SIM_OK) {
            code = cli_error(&err);
            fprintf(stderr, "llmcap: sweep: in point %zu of the grid: %s\n", p, pt->labels);
            goto done;
        }
        struct db_run_identity id = {sc.sha256, sc.overrides,        pt->labels,
                                     sc.seed,   db_llmcap_version(), db_git_describe()};
        db_run_key(&id, pt->key);
        scenario_release(&sc);
    }
    if (!(out = db_open(output, &err))) {
        code = cli_error(&err);
        goto done;
    }
    if (runner_tmpdir("llmcap-sweep", tmp, sizeof tmp, &err) != SIM_OK) {
        tmp[0] = '\0';
        code = cli_error(&err);
        goto done;
    }
    size_t n_jobs = 0;
    for (size_t i = 0; i < n_pts; i++) {
        struct point *pt = &pts[i];
        int found = db_find_run_key(out, pt->key, &pt->run_id, &err);
        if (found < 0) {
            code = cli_error(&err);
            goto done;
        }
        if (found == 1) {
            pt->present = true;
            continue;
        }
        snprintf(pt->db, sizeof pt->db, "%s/point-%zu.db", tmp, pt->index);
        size_t q = 0;
        pt->argv[q++] = (char *)"run";
        pt->argv[q++] = (char *)scenario;
        for (size_t s = 0; s < n_fixed + sw.n_axes; s++) {
            pt->argv[q++] = (char *)"--set";
            pt->argv[q++] = pt->sets[s];
        }
        pt->argv[q++] = (char *)"--labels";
        pt->argv[q++] = pt->labels;
        pt->argv[q++] = (char *)"-o";
        pt->argv[q++] = pt->db;
        pt->argv[q++] = (char *)"--quiet";
        pt->argv[q++] = (char *)"--no-progress";
        pt->argv[q] = NULL;
        rjobs[n_jobs].argv = pt->argv;
        job_point[n_jobs++] = i;
    }
    struct sweep_ctx c = {
        pts,    n_pts, job_point, 0,      0,
        n_jobs, out,   {0},       SIM_OK, progress && !quiet && isatty(STDERR_FILENO)};
    cli_install_signals();
    double t0 = cli_wall_s();
    rc = runner_run(rjobs, n_jobs, jobs, on_done, &c, &cli_stop, &err);
    double wall = cli_wall_s() - t0;
    merge_ready(&c);
    if (c.progress)
        fprintf(stderr, "\r%60s\r", "");
    if (rc != SIM_OK) {
        code = cli_error(&err);
        goto done;
    }
    if (c.merge_rc != SIM_OK) {
        code = cli_error(&c.err);
        goto done;
    }
    size_t n_failed = 0, n_present = 0;
    bool bad_input = false;
    for (size_t i = 0; i < n_pts; i++) {
        n_present += pts[i].present;
        if (!pts[i].present && !pts[i].merged) {
            n_failed++;
            bad_input |= pts[i].exit_code == EXIT_USAGE;
        }
    }
    if (!quiet) {
        printf("llmcap sweep: %s, %zu point%s", scenario, n_grid, n_grid == 1 ? "" : "s");
        if (shard_n > 1)
            printf(" (shard %u/%u: %zu of them)", shard_i, shard_n, n_pts);
        printf(" into %s; %zu run, %zu already there, %zu failed; %.2f s wall with %d job%s\n",
               output, n_jobs - n_failed, n_present, n_failed, wall, jobs, jobs == 1 ? "" : "s");
        printf("  %5s  %6s  %-10s  %s\n", "point", "run", "SLOs", "labels");
        for (size_t i = 0; i < n_pts; i++) {
            struct point *pt = &pts[i];
            char slos[32] = "-", run[32] = "-";
            if (pt->present || pt->merged) {
                struct run_data rd;
                snprintf(run, sizeof run, "%lld", (long long)pt->run_id);
                if (run_data_load(out, pt->run_id, RD_HEADLINE, &rd, &err) == SIM_OK) {
                    size_t pass = 0;
                    for (size_t s = 0; s < rd.n_slo; s++)
                        pass += rd.slo[s].pass;
                    if (rd.n_slo)
                        snprintf(slos, sizeof slos, "%s %zu/%zu",
                                 pass == rd.n_slo ? "PASS" : "FAIL", pass, rd.n_slo);
                    run_data_release(&rd);
                }
            } else {
                snprintf(slos, sizeof slos, "exit %d", pt->exit_code);
            }
            printf("  %5zu  %6s  %-10s  %s\n", pt->index, run, slos, pt->labels);
        }
    }
    if (n_failed)
        fprintf(stderr,
                "llmcap: sweep: error: %zu point%s failed (their errors are above); "
                "run the sweep again to retry them\n",
                n_failed, n_failed == 1 ? "" : "s");
    code = n_failed ? (bad_input ? EXIT_USAGE : EXIT_RUNTIME) : EXIT_OK;
done:
    if (tmp[0])
        runner_rmdir(tmp);
    db_close(out);
    free_points(pts, n_pts, sw.n_axes, n_fixed);
    free(job_point);
    free(rjobs);
    sweep_release(&sw);
    return code;
}
