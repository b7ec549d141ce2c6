/*
 * cmd_check.c: `llmcap check`: run scenarios as a CI gate. Each scenario is run by this
 * same program (`llmcap run`) into a private database; its SLO verdicts and, with
 * --baseline, its headline metrics against the same scenario's run in the baseline
 * database decide the exit code, and --junit writes them as JUnit XML.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/db.h"
#include "reports/findings.h"
#include "reports/headline.h"
#include "reports/junit.h"
#include "reports/rundata.h"
#include "reports/runner.h"
#include "cli/cli.h"
#include "sim/config/scenario.h"

int cmd_check(int argc, char **argv); /* cli/cli.h */

enum { OPT_JUNIT, OPT_BASELINE, OPT_TOLERANCE, OPT_SET, OPT_OUTPUT, OPT_JOBS, OPT_QUIET };

static const struct cli_opt check_opts[] = {
    [OPT_JUNIT] = {"junit", 0, "FILE", "write the results as JUnit XML"},
    [OPT_BASELINE] = {"baseline", 'b', "DB",
                      "compare with the same scenario's last run in this database"},
    [OPT_TOLERANCE] = {"tolerance", 't', "PCT",
                       "allowed worsening against the baseline, percent (default 5)"},
    [OPT_SET] = {"set", 's', "PATH=VALUE", "override a field of every scenario (repeatable)"},
    [OPT_OUTPUT] = {"output", 'o', "DB", "also keep the runs in this database"},
    [OPT_JOBS] = {"jobs", 'j', "N", "run N scenarios at a time (default 1)"},
    [OPT_QUIET] = {"quiet", 'q', NULL, "print nothing but errors"},
};

enum { MAX_SETS = 128, MAX_SCENARIOS = 256 };

struct item {
    const char *path;
    bool loaded; /* the scenario file and overrides are valid */
    struct sim_err load_err;
    char name[256], key[65];
    char db[4200]; /* its private database */
    char *argv[8 + 2 * MAX_SETS];
    struct runner_job job;
};

/* The baseline run of a scenario: the same name, preferring the same overrides and labels,
 * then the latest. */
static int find_baseline(void *ctx, const struct db_value *c, int n)
{
    (void)n;
    *(int64_t *)ctx = c[0].i;
    return 1;
}

static void fmt_value(char *buf, size_t n, const struct hl_metric *m, double v)
{
    char x[48];
    hl_format(x, sizeof x, m, v);
    const char *u = hl_unit_name(m->unit);
    snprintf(buf, n, "%s%s%s", x, *u && strcmp(u, "%") ? " " : "", u);
}

static void check_slos(struct junit *j, struct junit_suite *s, const struct run_data *rd,
                       const char *cls, char *summary, size_t n_summary, size_t *n_fail)
{
    char name[256], msg[512], tg[32], ac[32];
    for (size_t i = 0; i < rd->n_slo; i++) {
        const struct rd_slo *x = &rd->slo[i];
        fmt_slo_value(tg, sizeof tg, x->unit, x->target, "-");
        fmt_slo_value(ac, sizeof ac, x->unit, x->actual, "not measured");
        snprintf(name, sizeof name, "%s <= %s", x->slo, tg);
        if (x->pass) {
            junit_case(j, s, cls, name, JUNIT_PASS, NULL, NULL, NULL);
            continue;
        }
        (*n_fail)++;
        snprintf(msg, sizeof msg, "%s is %s, above the target %s", x->slo, ac, tg);
        junit_case(j, s, cls, name, JUNIT_FAILURE, "slo", msg, NULL);
        size_t len = strlen(summary);
        snprintf(summary + len, n_summary - len, "%s%s %s > %s", len ? "; " : "", x->slo, ac, tg);
    }
}

/* The gated metrics of `rd` against `base`: the run's (dep "") or, in a run of several
 * deployments, one deployment's (dep "chat": cases and messages name "chat.KEY"; a metric
 * neither run defines for it is left out rather than skipped). */
static void check_regressions(struct junit *j, struct junit_suite *s, const struct run_data *rd,
                              const struct run_data *base, double tol, const char *cls,
                              const char *dep, char *summary, size_t n_summary, size_t *n_fail)
{
    char name[256], msg[640], detail[640], a[64], b[64], lim[64], pct[32], key[160];
    for (size_t k = 0; k < hl_n_metrics; k++) {
        const struct hl_metric *m = &hl_metrics[k];
        if (!m->gate)
            continue;
        double now = hl_value(rd, m), was = hl_value(base, m), limit;
        if (*dep && isnan(now) && isnan(was))
            continue;
        snprintf(key, sizeof key, "%s%s%s", dep, *dep ? "." : "", m->key);
        snprintf(name, sizeof name, "%s within %g%% of baseline run %lld", key, tol,
                 (long long)base->run_id);
        if (isnan(now) || isnan(was)) {
            snprintf(msg, sizeof msg, "%s is undefined in %s (%s)", key,
                     isnan(now) && isnan(was) ? "both runs"
                     : isnan(now)             ? "this run"
                                              : "the baseline",
                     m->unit == HL_USD || m->unit == HL_USD_PER_MTOK ? "no cost model"
                                                                     : "nothing to measure");
            junit_case(j, s, cls, name, JUNIT_SKIPPED, NULL, msg, NULL);
            continue;
        }
        bool bad = hl_regressed(m, was, now, tol, &limit);
        fmt_value(a, sizeof a, m, now);
        fmt_value(b, sizeof b, m, was);
        fmt_value(lim, sizeof lim, m, limit);
        if (was != 0)
            snprintf(pct, sizeof pct, "%+.1f%%", (now - was) / fabs(was) * 100);
        else
            snprintf(pct, sizeof pct, "from 0");
        snprintf(detail, sizeof detail,
                 "%s: %s in this run, %s in baseline run %lld (%s); %s "
                 "is worse; the limit is %s",
                 m->label, a, b, (long long)base->run_id, pct,
                 m->dir == HL_LOWER_WORSE ? "lower" : "higher", lim);
        if (!bad) {
            junit_case(j, s, cls, name, JUNIT_PASS, NULL, NULL, NULL);
            continue;
        }
        (*n_fail)++;
        snprintf(msg, sizeof msg,
                 "%s regressed: %s against %s in the baseline (%s, more than "
                 "the %g%% tolerance)",
                 key, a, b, pct, tol);
        junit_case(j, s, cls, name, JUNIT_FAILURE, "regression", msg, detail);
        size_t len = strlen(summary);
        snprintf(summary + len, n_summary - len, "%s%s %s (%s, limit %s)", len ? "; " : "", key, a,
                 pct, lim);
    }
}

int cmd_check(int argc, char **argv)
{
    struct cli_args a;
    int rc = cli_parse(argc, argv, check_opts, sizeof check_opts / sizeof check_opts[0],
                       "SCENARIO... [--junit FILE] [--baseline DB] [--tolerance PCT] "
                       "[--set PATH=VALUE]...",
                       "Run each scenario and check it: every SLO must pass and, with "
                       "--baseline, no headline metric may be worse than the same scenario's "
                       "run in the baseline database by more than the tolerance (latency p95 "
                       "and p99, error rate, SLO-breach minutes and cost up; throughput and "
                       "goodput down). Exit code 0 when all pass, 1 when a check fails, 2 on "
                       "bad input, 3 on a runtime failure.",
                       &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    const char *junit_path = NULL, *baseline = NULL, *output = NULL;
    const char *sets[MAX_SETS];
    size_t n_sets = 0;
    double tol = 5.0;
    int jobs = 1;
    bool quiet = false;
    for (size_t i = 0; i < a.n_opts; i++) {
        const char *v = a.opts[i].value;
        char *end;
        switch (a.opts[i].which) {
        case OPT_JUNIT:
            junit_path = v;
            break;
        case OPT_BASELINE:
            baseline = v;
            break;
        case OPT_OUTPUT:
            output = v;
            break;
        case OPT_TOLERANCE:
            errno = 0;
            tol = strtod(v, &end);
            if (!*v || *end || errno || !(tol >= 0) || tol > 1e6)
                return cli_usage_error(argv[0],
                                       "'--tolerance' must be a percentage >= 0, "
                                       "got '%s'",
                                       v);
            break;
        case OPT_SET:
            if (n_sets == MAX_SETS)
                return cli_usage_error(argv[0], "too many --set options (at most %d)", MAX_SETS);
            sets[n_sets++] = v;
            break;
        case OPT_JOBS: {
            long n = strtol(v, &end, 10);
            if (!*v || *end || n < 1 || n > 256)
                return cli_usage_error(argv[0], "'--jobs' must be 1 to 256, got '%s'", v);
            jobs = (int)n;
            break;
        }
        case OPT_QUIET:
            quiet = true;
            break;
        }
    }
    if (a.n_pos == 0)
        return cli_usage_error(argv[0], "expected one scenario file or more");
    if (a.n_pos > MAX_SCENARIOS)
        return cli_usage_error(argv[0], "at most %d scenarios at once, got %zu", MAX_SCENARIOS,
                               a.n_pos);

    struct sim_err err = {0};
    struct db *base_db = NULL, *out_db = NULL;
    if (baseline && !(base_db = db_open_readonly(baseline, &err)))
        return cli_error(&err);
    if (output && !(out_db = db_open(output, &err))) {
        db_close(base_db);
        return cli_error(&err);
    }
    char tmp[4096];
    if (runner_tmpdir("llmcap-check", tmp, sizeof tmp, &err) != SIM_OK) {
        db_close(base_db);
        db_close(out_db);
        return cli_error(&err);
    }
    size_t n = a.n_pos;
    struct item *items = calloc(n, sizeof *items);
    struct runner_job *rjobs = calloc(n, sizeof *rjobs);
    size_t *job_item = calloc(n, sizeof *job_item);
    int code = EXIT_OK;
    bool bad_input = false, runtime = false, failed = false;
    struct junit j;
    junit_init(&j, "llmcap check");
    if (!items || !rjobs || !job_item) {
        code = cli_error(&(struct sim_err){SIM_ENOMEM, "", "out of memory"});
        goto out;
    }
    /* Check every scenario and its overrides first: bad input stops nothing else, but is
     * reported before the runs start. */
    size_t n_jobs = 0;
    for (size_t i = 0; i < n; i++) {
        struct item *it = &items[i];
        it->path = a.pos[i];
        struct scenario sc;
        if (cli_load_scenario(&sc, it->path, sets, n_sets, &it->load_err) != SIM_OK) {
            cli_error(&it->load_err);
            bad_input = true;
            continue;
        }
        it->loaded = true;
        snprintf(it->name, sizeof it->name, "%s", sc.name);
        struct db_run_identity id = {sc.sha256, sc.overrides,        "{}",
                                     sc.seed,   db_llmcap_version(), db_git_describe()};
        db_run_key(&id, it->key);
        scenario_release(&sc);
        snprintf(it->db, sizeof it->db, "%s/%zu.db", tmp, i);
        size_t k = 0;
        it->argv[k++] = (char *)"run";
        it->argv[k++] = (char *)it->path;
        for (size_t s = 0; s < n_sets; s++) {
            it->argv[k++] = (char *)"--set";
            it->argv[k++] = (char *)sets[s];
        }
        it->argv[k++] = (char *)"-o";
        it->argv[k++] = it->db;
        it->argv[k++] = (char *)"--quiet";
        it->argv[k++] = (char *)"--no-progress";
        it->argv[k] = NULL;
        rjobs[n_jobs].argv = it->argv;
        job_item[n_jobs++] = i;
    }
    cli_install_signals();
    rc = runner_run(rjobs, n_jobs, jobs, NULL, NULL, &cli_stop, &err);
    if (rc != SIM_OK) {
        code = cli_error(&err);
        goto out;
    }
    for (size_t q = 0; q < n_jobs; q++)
        items[job_item[q]].job = rjobs[q];

    for (size_t i = 0; i < n; i++) {
        struct item *it = &items[i];
        const char *sname = it->loaded ? it->name : it->path;
        struct junit_suite *s = junit_suite(&j, sname);
        char cls[300], msg[1200], summary[2048] = "";
        junit_property(&j, s, "scenario", it->path);
        snprintf(cls, sizeof cls, "llmcap.%s", sname);
        if (!it->loaded) {
            char line[1024];
            sim_err_format(&it->load_err, line, sizeof line);
            junit_case(&j, s, cls, "run", JUNIT_ERROR, "bad-input", line, NULL);
            if (!quiet)
                printf("%s: ERROR: not a valid scenario (the error is above)\n", it->path);
            continue;
        }
        int ec = it->job.exit_code;
        if (ec != EXIT_OK && ec != EXIT_CHECK_FAILED) {
            snprintf(msg, sizeof msg,
                     "llmcap run %s exited with code %d (its message is in the "
                     "log above)",
                     it->path, ec);
            junit_case(&j, s, cls, "run", JUNIT_ERROR, "run", msg, NULL);
            if (ec == EXIT_USAGE)
                bad_input = true;
            else
                runtime = true;
            if (!quiet)
                printf("%s: ERROR: %s\n", sname, msg);
            continue;
        }
        struct db *db = db_open_readonly(it->db, &err);
        int64_t run_id = 0;
        struct run_data rd;
        if (!db || db_find_run_key(db, it->key, &run_id, &err) != 1 ||
            run_data_load(db, run_id, RD_HEADLINE, &rd, &err) != SIM_OK) {
            if (!err.code)
                sim_err_at(&err, SIM_EIO, it->db, 0, 0, "the run is not in its database");
            code = cli_error(&err);
            db_close(db);
            goto out;
        }
        db_close(db);
        s->time_s = rd.wall_s;
        char seed[32];
        snprintf(seed, sizeof seed, "%lld", (long long)rd.seed);
        junit_property(&j, s, "seed", seed);
        junit_property(&j, s, "scenario_sha256", rd.scenario_sha256);
        junit_property(&j, s, "overrides", rd.overrides);
        junit_property(&j, s, "llmcap_version", rd.llmcap_version);
        junit_property(&j, s, "git_describe", rd.git_describe);
        junit_case(&j, s, cls, "run", JUNIT_PASS, NULL, NULL, NULL);
        size_t n_fail = 0;
        char slo_cls[320], reg_cls[320];
        snprintf(slo_cls, sizeof slo_cls, "%s.slo", cls);
        snprintf(reg_cls, sizeof reg_cls, "%s.regression", cls);
        check_slos(&j, s, &rd, slo_cls, summary, sizeof summary, &n_fail);
        char base_note[256] = "";
        if (base_db) {
            int64_t bid = 0;
            struct db_value p[3] = {db_text(rd.scenario_name), db_text(rd.overrides),
                                    db_text(rd.labels_json)};
            rc = db_query(base_db,
                          "SELECT run_id FROM runs WHERE scenario_name = ?1 ORDER BY "
                          "(overrides = ?2 AND labels_json = ?3) DESC, run_id DESC LIMIT 1",
                          p, 3, find_baseline, &bid, &err);
            if (rc < 0) {
                run_data_release(&rd);
                code = cli_error(&err);
                goto out;
            }
            if (rc != 1) { /* no run of this scenario in the baseline */
                snprintf(msg, sizeof msg, "no run of scenario '%s' in the baseline %s",
                         rd.scenario_name, baseline);
                junit_case(&j, s, reg_cls, "baseline", JUNIT_SKIPPED, NULL, msg, NULL);
                snprintf(base_note, sizeof base_note, "; no baseline run");
            } else {
                struct run_data base;
                if (run_data_load(base_db, bid, RD_HEADLINE, &base, &err) != SIM_OK) {
                    run_data_release(&rd);
                    code = cli_error(&err);
                    goto out;
                }
                char bid_s[32];
                snprintf(bid_s, sizeof bid_s, "%lld", (long long)bid);
                junit_property(&j, s, "baseline_run_id", bid_s);
                size_t before = n_fail;
                check_regressions(&j, s, &rd, &base, tol, reg_cls, "", summary, sizeof summary,
                                  &n_fail);
                /* each deployment against the baseline's deployment of that name */
                for (size_t q = 0; q < rd.n_deps; q++)
                    for (size_t r = 0; r < base.n_deps; r++) {
                        if (strcmp(rd.deps[q].name, base.deps[r].name))
                            continue;
                        struct run_data dn = run_data_deployment_view(&rd, &rd.deps[q]);
                        struct run_data db_ = run_data_deployment_view(&base, &base.deps[r]);
                        check_regressions(&j, s, &dn, &db_, tol, reg_cls, rd.deps[q].name,
                                          summary, sizeof summary, &n_fail);
                    }
                snprintf(base_note, sizeof base_note, "; %s against baseline run %lld",
                         n_fail == before ? "no regression" : "regressed", (long long)bid);
                run_data_release(&base);
            }
        }
        if (n_fail)
            failed = true;
        if (!quiet) {
            size_t passed = 0;
            for (size_t k = 0; k < rd.n_slo; k++)
                passed += rd.slo[k].pass;
            if (n_fail)
                printf("%s: FAIL: %s\n", sname, summary);
            else
                printf("%s: PASS (%zu of %zu SLOs met%s)\n", sname, passed, rd.n_slo, base_note);
        }
        run_data_release(&rd);
        if (out_db) {
            struct db_merge_stats st;
            if (db_merge(out_db, it->db, &st, &err) != SIM_OK) {
                code = cli_error(&err);
                goto out;
            }
        }
    }
    if (j.oom) {
        code = cli_error(&(struct sim_err){SIM_ENOMEM, "", "out of memory"});
        goto out;
    }
    if (junit_path) {
        FILE *f = fopen(junit_path, "w");
        int e = f ? 0 : errno;
        if (f) {
            if (junit_write(f, &j) != 0)
                e = errno ? errno : EIO;
            if (fclose(f) != 0 && !e)
                e = errno ? errno : EIO;
        }
        if (e) {
            sim_err_at(&err, SIM_EIO, junit_path, 0, 0, "cannot write: %s", strerror(e));
            code = cli_error(&err);
            goto out;
        }
    }
    code = bad_input ? EXIT_USAGE : runtime ? EXIT_RUNTIME : failed ? EXIT_CHECK_FAILED : EXIT_OK;
out:
    junit_release(&j);
    free(items);
    free(rjobs);
    free(job_item);
    runner_rmdir(tmp);
    db_close(base_db);
    db_close(out_db);
    return code;
}
