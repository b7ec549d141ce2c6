/* llmcap report through the CLI, on runs of the real simulator (tests/fixtures/reports). */
#include <math.h>

#include "helpers.h"

static const char *const charts[] = {"fleet",    "queue", "ttft",       "tpot",
                                     "kv_cache", "cost",  "latency_cdf"};

/* Run `scenario` into DIR/r.db (exit 0 or 1: an SLO may fail) and report it into DIR/out. */
static void run_and_report(const char *dir, const char *scenario)
{
    int rc = llmcap(dir, "", "run %s -o %s/r.db --quiet", scenario, dir);
    cr_assert_leq(rc, 1, "llmcap run exited %d", rc);
    rc = llmcap(dir, "", "report %s/r.db -o %s/out", dir, dir);
    char *err = out_of(dir, "err");
    cr_assert_eq(rc, 0, "llmcap report exited %d: %s", rc, err);
    free(err);
}

static char *read_in(const char *dir, const char *name)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/out/%s", dir, name);
    char *s = slurp(p, NULL);
    cr_assert_not_null(s, "%s is missing", p);
    return s;
}

static double summary(const char *dir, const char *key)
{
    char db[1100], sql[256];
    snprintf(db, sizeof db, "%s/r.db", dir);
    snprintf(sql, sizeof sql, "SELECT value FROM summary WHERE key = '%s'", key);
    return query_num(db, sql);
}

Test(report, writes_every_chart_and_the_headline_equals_the_summary_table)
{
    char dir[256];
    make_tmp(dir, sizeof dir, "report");
    run_and_report(dir, BURST);
    char *out = out_of(dir, "out");
    cr_assert(strstr(out, "run 1: SLOs FAIL, "), "%s", out);
    free(out);
    for (size_t i = 0; i < sizeof charts / sizeof charts[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s.png", charts[i]);
        char *png = read_in(dir, name);
        cr_assert(!memcmp(png, "\x89PNG", 4), "%s is not a PNG", name);
        free(png);
        snprintf(name, sizeof name, "%s.svg", charts[i]);
        char *svg = read_in(dir, name);
        cr_assert(strstr(svg, "<svg"), "%s is not an SVG", name);
        free(svg);
    }
    char *gp = read_in(dir, "charts.gp"), *tsv = read_in(dir, "data/windows.tsv");
    free(gp);
    free(tsv);

    /* The headline is the summary table's numbers: SLOs 1 of 3 (error rate and TTFT fail,
     * TPOT passes), $ per 1M output tokens to the 0.01 cent, the month in whole dollars
     * with a thousands separator, the idle and loading shares of cost_usd. */
    char db[1100];
    snprintf(db, sizeof db, "%s/r.db", dir);
    double pass = query_num(db, "SELECT sum(pass) FROM slo_results");
    double n_slo = query_num(db, "SELECT count(*) FROM slo_results");
    cr_assert_float_eq(pass, 1.0, 0.0);
    cr_assert_float_eq(n_slo, 3.0, 0.0);
    char *md = read_in(dir, "report.md"), *html = read_in(dir, "report.html");
    char want[256];
    cr_assert(strstr(md, "| **FAIL** (1 of 3 met) |"), "%s", md);
    snprintf(want, sizeof want, "**$%.4f**", summary(dir, "cost_usd_per_mtok_output"));
    cr_assert(strstr(md, want), "%s not in the headline", want);
    double month = summary(dir, "cost_usd_per_month");
    long m = lround(month);
    cr_assert(m >= 1000 && m < 1000000, "month %g: adjust the test's formatting", month);
    snprintf(want, sizeof want, "**$%ld,%03ld**", m / 1000, m % 1000);
    cr_assert(strstr(md, want), "%s not in the headline", want);
    double cost = summary(dir, "cost_usd");
    snprintf(want, sizeof want, "**%.1f%% / %.1f%%**", 100 * summary(dir, "cost_idle_usd") / cost,
             100 * summary(dir, "cost_loading_usd") / cost);
    cr_assert(strstr(md, want), "%s not in the headline", want);
    snprintf(want, sizeof want, "spot $%.2f, on-demand $%.2f", summary(dir, "cost_spot_usd"),
             summary(dir, "cost_on_demand_usd"));
    cr_assert(strstr(md, want), "%s not in the cost table", want);
    /* the page holds the same numbers and every chart, inlined */
    snprintf(want, sizeof want, "$%.4f", summary(dir, "cost_usd_per_mtok_output"));
    cr_assert(strstr(html, want));
    cr_assert_eq(count_of(html, "src=\"data:image/svg+xml;base64,"), 7);
    cr_assert_null(strstr(html, "<script"));
    cr_assert_null(strstr(html, "http://"), "the page must not load anything");
    free(md);
    free(html);
    rm_tree(dir);
}

Test(report, flags_the_spike_the_scenario_puts_at_five_minutes)
{
    /* burst.yaml: a 4x spike at 5 min while 2 replicas serve; new replicas need minutes
     * (node launch, a 12 GiB image at 0.1 GiB/s, 40 s of engine init) */
    char dir[256];
    make_tmp(dir, sizeof dir, "findings");
    run_and_report(dir, BURST);
    char *md = read_in(dir, "report.md");
    cr_assert(strstr(md, "- **p95 TTFT above its 2 s SLO for "), "%s", md);
    /* the window the spike starts in, or the next one (the queue takes seconds to grow) */
    cr_assert(strstr(md, "from 0:05:00 to ") || strstr(md, "from 0:05:10 to "), "%s", md);
    cr_assert(strstr(md, "replicas were starting (2 ready)"), "%s", md);
    cr_assert(strstr(md, "the queue grew from 0 to "), "%s", md);
    cr_assert(strstr(md, "spot interruptions reclaimed nodes at "), "%s", md);
    cr_assert(strstr(md, "replicas started during the run"), "%s", md);
    free(md);
    rm_tree(dir);
}

Test(report, is_the_same_bytes_for_the_same_database)
{
    char dir[256];
    make_tmp(dir, sizeof dir, "determinism");
    run_and_report(dir, BURST);
    cr_assert_eq(llmcap(dir, "", "report %s/r.db -o %s/again -q", dir, dir), 0);
    const char *files[] = {"report.md",         "report.html",    "charts.gp", "data/windows.tsv",
                           "data/cdf_ttft.tsv", "fleet.svg",      "fleet.png", "cost.png",
                           "ttft.svg",          "latency_cdf.png"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char a[1200], b[1200];
        size_t la = 0, lb = 0;
        snprintf(a, sizeof a, "%s/out/%s", dir, files[i]);
        snprintf(b, sizeof b, "%s/again/%s", dir, files[i]);
        char *x = slurp(a, &la), *y = slurp(b, &lb);
        cr_assert(x && y, "%s", files[i]);
        cr_assert(la == lb && !memcmp(x, y, la), "%s differs between two reports", files[i]);
        free(x);
        free(y);
    }
    rm_tree(dir);
}

Test(report, says_so_when_the_run_has_no_cost_model)
{
    char dir[256];
    make_tmp(dir, sizeof dir, "nocost");
    run_and_report(dir, STEADY);
    char *md = read_in(dir, "report.md");
    cr_assert(strstr(md, "| **PASS** (3 of 3 met) | **-** (no cost model in this run) |"), "%s",
              md);
    cr_assert(strstr(md, "Cost accumulated by capacity type: no chart, no cost model in this "
                         "run (no node provisioner: cluster.karpenter or cluster.aks)."));
    cr_assert(strstr(md, "Nothing to flag"), "steady.yaml has nothing wrong: %s", md);
    char p[1200];
    snprintf(p, sizeof p, "%s/out/cost.png", dir);
    cr_assert(!file_exists(p));
    snprintf(p, sizeof p, "%s/out/ttft.png", dir);
    cr_assert(file_exists(p));
    free(md);
    rm_tree(dir);
}

Test(report, without_gnuplot_writes_the_text_and_names_the_package)
{
    char dir[256], env[512];
    make_tmp(dir, sizeof dir, "nognuplot");
    cr_assert_eq(llmcap(dir, "", "run %s -o %s/r.db --quiet", STEADY, dir), 0);
    snprintf(env, sizeof env, "PATH=%s/empty", dir); /* no gnuplot to be found */
    cr_assert_eq(llmcap(dir, env, "report %s/r.db -o %s/out", dir, dir), 0);
    char *err = out_of(dir, "err");
    cr_assert_str_eq(err, "llmcap: report: warning: gnuplot is not installed, so the report has "
                          "no charts; install the Debian package gnuplot-nox (apt-get install "
                          "gnuplot-nox) and run llmcap report again\n");
    char *md = read_in(dir, "report.md"), *html = read_in(dir, "report.html");
    cr_assert(strstr(md, "Install the Debian package gnuplot-nox"));
    cr_assert(strstr(html, "Install the Debian package gnuplot-nox"));
    cr_assert(strstr(md, "| **PASS** (3 of 3 met) |"));
    char p[1200];
    snprintf(p, sizeof p, "%s/out/fleet.png", dir);
    cr_assert(!file_exists(p));
    snprintf(p, sizeof p, "%s/out/charts.gp", dir);
    cr_assert(file_exists(p), "the script stays, to draw the charts later");
    free(err);
    free(md);
    free(html);
    rm_tree(dir);
}

/* A gnuplot that starts and fails (here: a script that leaves a half-written PNG behind and
 * exits 1 with gnuplot's kind of message, or dies of a signal): the text report is written
 * and says why there are no charts, nothing half-drawn is left, exit code 3. */
static void fake_gnuplot(const char *dir, const char *body)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/bin", dir);
    cr_assert_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/bin/gnuplot", dir);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    cr_assert_eq(chmod(p, 0755), 0);
}

Test(report, failing_gnuplot_still_writes_the_text_and_exits_3)
{
    char dir[256], env[512];
    make_tmp(dir, sizeof dir, "badgnuplot");
    cr_assert_eq(llmcap(dir, "", "run %s -o %s/r.db --quiet", STEADY, dir), 0);
    fake_gnuplot(dir, "printf 'PNG half' > fleet.png\n"
                      "echo 'gnuplot> set terminal pngcairo' >&2\n"
                      "echo '\"charts.gp\" line 3: unknown or ambiguous terminal type' >&2\n"
                      "exit 1");
    snprintf(env, sizeof env, "PATH=%s/bin", dir);
    cr_assert_eq(llmcap(dir, env, "report %s/r.db -o %s/out", dir, dir), 3);
    char *err = out_of(dir, "err"), want[1200];
    snprintf(want, sizeof want,
             "llmcap: %s/out: error: gnuplot failed on charts.gp: \"charts.gp\" line 3: unknown "
             "or ambiguous terminal type; report.md and report.html were written without "
             "charts\n",
             dir);
    cr_assert_str_eq(err, want);
    char *md = read_in(dir, "report.md"), *html = read_in(dir, "report.html");
    cr_assert(strstr(md, "Charts were not drawn: gnuplot failed on charts.gp: "), "%s", md);
    cr_assert(strstr(html, "Charts were not drawn: gnuplot failed on charts.gp: "));
    cr_assert(strstr(md, "| **PASS** (3 of 3 met) |"), "the headline is there");
    cr_assert(!strstr(md, "fleet.png"), "no chart is shown");
    char p[1200];
    snprintf(p, sizeof p, "%s/out/fleet.png", dir);
    cr_assert(!file_exists(p), "the half-written chart was left behind");
    snprintf(p, sizeof p, "%s/out/charts.gp", dir);
    cr_assert(file_exists(p), "the script stays, to see the error");
    free(err);
    free(md);
    free(html);

    /* gnuplot killed by a signal: the same, with the signal named */
    snprintf(p, sizeof p, "%s/bin/gnuplot", dir);
    cr_assert_eq(unlink(p), 0);
    snprintf(p, sizeof p, "%s/bin", dir);
    cr_assert_eq(rmdir(p), 0);
    fake_gnuplot(dir, "kill -SEGV $$");
    cr_assert_eq(llmcap(dir, env, "report %s/r.db -o %s/out", dir, dir), 3);
    err = out_of(dir, "err");
    snprintf(want, sizeof want,
             "llmcap: %s/out: error: gnuplot failed on charts.gp: killed by signal 11; "
             "report.md and report.html were written without charts\n",
             dir);
    cr_assert_str_eq(err, want);
    free(err);
    rm_tree(dir);
}

Test(report, a_full_disk_leaves_no_report_folder_behind)
{
    /* The file-size limit stands in for a full disk: every write past 4 KiB fails (EFBIG,
     * with SIGXFSZ ignored as the shell passes it on). The report exits 3 and removes the
     * folder it created (issue 13 point 5). */
    char dir[256], p[1200];
    make_tmp(dir, sizeof dir, "fulldisk");
    cr_assert_eq(llmcap(dir, "", "run %s -o %s/r.db --quiet", STEADY, dir), 0);
    cr_assert_eq(llmcap(dir, "trap '' XFSZ; ulimit -f 4;", "report %s/r.db -o %s/out", dir, dir),
                 3);
    char *err = out_of(dir, "err");
    cr_assert(strstr(err, "error: cannot write: File too large"), "%s", err);
    free(err);
    snprintf(p, sizeof p, "%s/out", dir);
    struct stat st;
    cr_assert_neq(stat(p, &st), 0, "a failed report left %s", p);
    rm_tree(dir);
}

Test(report, errors_name_the_run_the_option_and_the_file)
{
    char dir[256];
    make_tmp(dir, sizeof dir, "errors");
    cr_assert_eq(llmcap(dir, "", "run %s -o %s/r.db --quiet", STEADY, dir), 0);
    char want[1200];
    cr_assert_eq(llmcap(dir, "", "report %s/r.db --run 5 -o %s/out", dir, dir), 2);
    char *err = out_of(dir, "err");
    snprintf(want, sizeof want,
             "llmcap: %s/r.db: error: no run 5 in the database (its runs are 1 to 1)\n", dir);
    cr_assert_str_eq(err, want);
    free(err);
    cr_assert_eq(llmcap(dir, "", "report %s/r.db", dir), 2);
    err = out_of(dir, "err");
    cr_assert_str_eq(err, "llmcap: report: error: '-o DIR' is required (the folder for the "
                          "report)\nTry 'llmcap report --help'.\n");
    free(err);
    cr_assert_eq(llmcap(dir, "", "report %s/r.db --run x -o %s/out", dir, dir), 2);
    err = out_of(dir, "err");
    cr_assert_str_eq(err, "llmcap: report: error: '--run' must be a run id >= 1, got 'x'\n"
                          "Try 'llmcap report --help'.\n");
    free(err);
    cr_assert_eq(llmcap(dir, "", "report %s -o %s/out", STEADY, dir), 2);
    err = out_of(dir, "err");
    snprintf(want, sizeof want, "llmcap: %s: error: not an llmcap database (not a SQLite file)\n",
             STEADY);
    cr_assert_str_eq(err, want);
    free(err);
    rm_tree(dir);
}

/* The page as a person sees it: rendered by headless Chromium, the screenshot is not blank
 * and the page's text is in the DOM. */
Test(report, renders_in_headless_chromium)
{
    if (system("command -v chromium >/dev/null 2>&1") != 0)
        cr_skip_test("chromium is not installed (Debian package chromium): the page was not "
                     "rendered");
    char dir[256];
    make_tmp(dir, sizeof dir, "chromium");
    run_and_report(dir, BURST);
    char cmd[4096];
    const char *flags = "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                        "--disable-background-networking --disable-component-update "
                        "--disable-sync";
    snprintf(cmd, sizeof cmd,
             "timeout 120 chromium %s --user-data-dir=%s/profile --screenshot=%s/shot.png "
             "--window-size=1280,2000 file://%s/out/report.html >/dev/null 2>&1",
             flags, dir, dir, dir);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd,
             "timeout 120 chromium %s --user-data-dir=%s/profile --dump-dom "
             "file://%s/out/report.html >%s/dom.html 2>/dev/null",
             flags, dir, dir, dir);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    char p[1200];
    size_t n = 0;
    snprintf(p, sizeof p, "%s/shot.png", dir);
    char *png = slurp(p, &n);
    cr_assert_not_null(png);
    cr_assert(!memcmp(png, "\x89PNG", 4));
    /* A blank 1280x2000 page compresses to a few kB; headline cards, tables and charts to
     * hundreds. */
    cr_assert_gt(n, 100000, "the screenshot is %zu bytes: is the page blank?", n);
    free(png);
    snprintf(p, sizeof p, "%s/dom.html", dir);
    char *dom = slurp(p, NULL);
    char want[64];
    snprintf(want, sizeof want, "$%.4f", summary(dir, "cost_usd_per_mtok_output"));
    cr_assert(strstr(dom, "llmcap report: burst (run 1)"));
    cr_assert(strstr(dom, "Findings"));
    cr_assert(strstr(dom, "p95 TTFT above its 2 s SLO"));
    cr_assert(strstr(dom, want));
    cr_assert_eq(count_of(dom, "<img "), 7);
    free(dom);
    rm_tree(dir);
}

Test(report, says_what_it_cannot_examine_without_request_rows)
{
    char dir[256];
    make_tmp(dir, sizeof dir, "norows");
    cr_assert_eq(
        llmcap(dir, "", "run %s -o %s/r.db --quiet --set record.requests=none", STEADY, dir), 0);
    cr_assert_eq(llmcap(dir, "", "report %s/r.db -o %s/out", dir, dir), 0);
    char *md = read_in(dir, "report.md");
    cr_assert(strstr(md, "> The run recorded no request rows (record.requests: none), so latency "
                         "per window, timeouts by time and preemption bursts could not be "
                         "examined"),
              "%s", md);
    cr_assert(strstr(md, "TTFT per window against the SLO: no chart, no request rows recorded "
                         "(record.requests)."));
    /* the totals still come from the summary: 200 requests, all ok */
    cr_assert(strstr(md, "| requests | 200: ok 200, timeout 0, rejected 0, failed 0, unfinished "
                         "0 |"),
              "%s", md);
    free(md);
    rm_tree(dir);
}

Test(report, splits_the_failed_requests_by_cause)
{
    /* A client that gives up after 1 ms, never retrying: every request that is not
     * answered within 1 ms fails as client_timeout; the report counts them beside the
     * aborted and 5xx ones, as the requests table stores them. */
    char dir[256], db[600], want[200];
    make_tmp(dir, sizeof dir, "fails");
    snprintf(db, sizeof db, "%s/r.db", dir);
    cr_assert_eq(llmcap(dir, "",
                        "run %s -o %s --quiet --set router.client_timeout=1ms "
                        "--set router.retry.attempts=0",
                        STEADY, db),
                 1); /* the SLOs fail */
    double n = query_num(db, "SELECT count(*) FROM requests WHERE outcome = 'client_timeout'");
    cr_assert_gt(n, 0);
    cr_assert_float_eq(query_num(db, "SELECT value FROM summary WHERE key = "
                                     "'requests_client_timeout'"),
                       n, 0.0);
    cr_assert_eq(llmcap(dir, "", "report %s -o %s/out", db, dir), 0);
    char *md = read_in(dir, "report.md");
    snprintf(want, sizeof want, "| failed requests | aborted by vLLM 0, 5xx 0, client timeout %.0f |",
             n);
    cr_assert(strstr(md, want), "%s", md);
    free(md);
    rm_tree(dir);
}
