/* llmcap check: exit codes, JUnit content and validity, regressions against a baseline. */
#include "helpers.h"

#define BAD FIXTURES "/reports/bad_rate.yaml"
#define XSD FIXTURES "/reports/junit.xsd"

static char *junit(const char *dir)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/j.xml", dir);
    char *x = slurp(p, NULL);
    cr_assert_not_null(x, "no JUnit file");
    return x;
}

/* The file is valid against the JUnit schema CI systems read (when xmllint is there). */
static void validates(const char *dir)
{
    if (system("command -v xmllint >/dev/null 2>&1") != 0)
        return; /* the counts and elements are still checked by each test */
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "xmllint --noout --schema %s %s/j.xml 2>%s/xmllint.txt", XSD, dir,
             dir);
    cr_assert_eq(system(cmd), 0, "the JUnit file does not validate (see %s/xmllint.txt)", dir);
}

Test(check, passes_when_every_slo_passes)
{
    char dir[256];
    make_tmp(dir, sizeof dir, "checkpass");
    cr_assert_eq(llmcap(dir, "", "check %s --junit %s/j.xml", STEADY, dir), 0);
    char *out = out_of(dir, "out"), *x = junit(dir);
    cr_assert_str_eq(out, "steady: PASS (3 of 3 SLOs met)\n");
    /* one suite; test cases: the run and the 3 SLOs */
    cr_assert(strstr(x, "<testsuites name=\"llmcap check\" tests=\"4\" failures=\"0\" "
                        "errors=\"0\">"),
              "%s", x);
    cr_assert_eq(count_of(x, "<testcase "), 4);
    cr_assert(strstr(x, "<testcase classname=\"llmcap.steady.slo\" name=\"tpot_p95 &lt;= 30 "
                        "ms\"/>"));
    validates(dir);
    free(out);
    free(x);
    rm_tree(dir);
}

Test(check, fails_with_exit_1_when_an_slo_fails)
{
    char dir[256];
    make_tmp(dir, sizeof dir, "checkslo");
    /* TPOT is 20 ms (one decode iteration); an SLO of 15 ms fails */
    cr_assert_eq(llmcap(dir, "", "check %s --set slo.tpot_p95=15ms --junit %s/j.xml", STEADY, dir),
                 1);
    char *out = out_of(dir, "out"), *x = junit(dir);
    cr_assert_str_eq(out, "steady: FAIL: tpot_p95 20 ms > 15 ms\n");
    cr_assert(strstr(x, "tests=\"4\" failures=\"1\" errors=\"0\""), "%s", x);
    cr_assert(strstr(x, "<failure type=\"slo\" message=\"tpot_p95 is 20 ms, above the target 15 "
                        "ms\"/>"),
              "%s", x);
    validates(dir);
    free(out);
    free(x);
    rm_tree(dir);
}

Test(check, a_regression_beyond_the_tolerance_fails_against_the_baseline)
{
    char dir[256];
    make_tmp(dir, sizeof dir, "checkbase");
    cr_assert_eq(llmcap(dir, "", "run %s -o %s/base.db --quiet", STEADY, dir), 0);
    /* 25 ms decode iterations instead of 20: TPOT p95 and p99 0.020 -> 0.025 s (+25%,
     * limit 0.021 s at 5%); end to end 0.010 + 9 x 0.020 = 0.190 -> 0.010 + 9 x 0.025 =
     * 0.235 s (+23.7%, limit 0.1995 s). TTFT (the prefill) does not change; throughput
     * falls by 0.045%; the SLOs (TPOT 30 ms) still pass. */
    cr_assert_eq(llmcap(dir, "",
                        "check %s --baseline %s/base.db --junit %s/j.xml --set "
                        "engine.latency.constant.decode_iteration_ms=25",
                        STEADY, dir, dir),
                 1);
    char *out = out_of(dir, "out"), *x = junit(dir);
    cr_assert_str_eq(out, "steady: FAIL: tpot_p95_s 0.025 s (+25.0%, limit 0.021 s); tpot_p99_s "
                          "0.025 s (+25.0%, limit 0.021 s); e2e_p95_s 0.235 s (+23.7%, limit "
                          "0.1995 s)\n");
    /* the run, 3 SLOs, 11 regression checks of which 2 (cost) are skipped: no cost model */
    cr_assert(strstr(x, "tests=\"15\" failures=\"3\" errors=\"0\" skipped=\"2\""), "%s", x);
    cr_assert_eq(count_of(x, "<failure type=\"regression\""), 3);
    cr_assert(strstr(x, "message=\"tpot_p95_s regressed: 0.025 s against 0.02 s in the baseline "
                        "(+25.0%, more than the 5% tolerance)\""),
              "%s", x);
    cr_assert(strstr(x, "<skipped message=\"cost_usd is undefined in both runs (no cost "
                        "model)\"/>"));
    cr_assert(strstr(x, "<property name=\"baseline_run_id\" value=\"1\"/>"));
    validates(dir);
    free(out);
    free(x);
    /* at 30% the same changes pass */
    cr_assert_eq(llmcap(dir, "",
                        "check %s --baseline %s/base.db --tolerance 30 --set "
                        "engine.latency.constant.decode_iteration_ms=25",
                        STEADY, dir),
                 0);
    out = out_of(dir, "out");
    cr_assert_str_eq(out, "steady: PASS (3 of 3 SLOs met; no regression against baseline run "
                          "1)\n");
    free(out);
    rm_tree(dir);
}

Test(check, bad_input_is_exit_2_and_an_error_case_while_the_others_still_run)
{
    char dir[256], want[1200];
    make_tmp(dir, sizeof dir, "checkbad");
    cr_assert_eq(
        llmcap(dir, "", "check %s %s --junit %s/j.xml -o %s/keep.db", STEADY, BAD, dir, dir), 2);
    char *err = out_of(dir, "err"), *out = out_of(dir, "out"), *x = junit(dir);
    snprintf(want, sizeof want,
             "llmcap: %s:4:45: error: 'workload.arrivals.rate_per_s' must be in (0, 1000000000] "
             "(req/s), got '-2'\n",
             BAD);
    cr_assert_str_eq(err, want);
    snprintf(want, sizeof want,
             "steady: PASS (3 of 3 SLOs met)\n%s: ERROR: not a valid scenario (the error is "
             "above)\n",
             BAD);
    cr_assert_str_eq(out, want);
    cr_assert(strstr(x, "tests=\"5\" failures=\"0\" errors=\"1\""), "%s", x);
    cr_assert(strstr(x, "<error type=\"bad-input\" message=\""), "%s", x);
    validates(dir);
    char db[1100];
    snprintf(db, sizeof db, "%s/keep.db", dir);
    cr_assert_float_eq(query_num(db, "SELECT count(*) FROM runs"), 1.0, 0.0);
    free(err);
    free(out);
    free(x);
    rm_tree(dir);
}

Test(check, keeps_its_runs_and_counts_a_failing_scenario_among_passing_ones)
{
    char dir[256];
    make_tmp(dir, sizeof dir, "checkkeep");
    /* burst.yaml misses its TTFT and error-rate SLOs (the spike, over-long prompts) */
    cr_assert_eq(
        llmcap(dir, "", "check %s %s -j 2 -o %s/keep.db --junit %s/j.xml", STEADY, BURST, dir, dir),
        1);
    char *x = junit(dir);
    cr_assert_eq(count_of(x, "<testsuite "), 2);
    cr_assert(strstr(x, "<testsuites name=\"llmcap check\" tests=\"8\" failures=\"2\" "
                        "errors=\"0\">"),
              "%s", x);
    validates(dir);
    char db[1100];
    snprintf(db, sizeof db, "%s/keep.db", dir);
    char *names = dump(db, "SELECT run_id, scenario_name FROM runs ORDER BY run_id");
    cr_assert_str_eq(names, "1|steady|\n2|burst|\n", "runs are kept in the scenarios' order");
    free(names);
    free(x);
    rm_tree(dir);
}

Test(check, usage_errors_say_what_is_expected)
{
    char dir[256];
    make_tmp(dir, sizeof dir, "checkusage");
    cr_assert_eq(llmcap(dir, "", "check %s --tolerance -1", STEADY), 2);
    char *err = out_of(dir, "err");
    cr_assert_str_eq(err, "llmcap: check: error: '--tolerance' must be a percentage >= 0, got "
                          "'-1'\nTry 'llmcap check --help'.\n");
    free(err);
    cr_assert_eq(llmcap(dir, "", "check"), 2);
    err = out_of(dir, "err");
    cr_assert_str_eq(err, "llmcap: check: error: expected one scenario file or more\nTry 'llmcap "
                          "check --help'.\n");
    free(err);
    cr_assert_eq(llmcap(dir, "", "check %s --baseline %s", STEADY, STEADY), 2);
    err = out_of(dir, "err");
    char want[1200];
    snprintf(want, sizeof want, "llmcap: %s: error: not an llmcap database (not a SQLite file)\n",
             STEADY);
    cr_assert_str_eq(err, want);
    free(err);
    rm_tree(dir);
}

Test(check, a_scenario_missing_from_the_baseline_is_checked_on_its_slos_alone)
{
    char dir[256], want[1200];
    make_tmp(dir, sizeof dir, "checknobase");
    cr_assert_leq(llmcap(dir, "", "run %s -o %s/base.db --quiet", BURST, dir), 1);
    cr_assert_eq(
        llmcap(dir, "", "check %s --baseline %s/base.db --junit %s/j.xml", STEADY, dir, dir), 0);
    char *out = out_of(dir, "out"), *x = junit(dir);
    cr_assert_str_eq(out, "steady: PASS (3 of 3 SLOs met; no baseline run)\n");
    snprintf(want, sizeof want,
             "<testcase classname=\"llmcap.steady.regression\" name=\"baseline\">\n"
             "      <skipped message=\"no run of scenario &apos;steady&apos; in the baseline "
             "%s/base.db\"/>",
             dir);
    cr_assert(strstr(x, want), "%s", x);
    cr_assert(strstr(x, "tests=\"5\" failures=\"0\" errors=\"0\" skipped=\"1\""), "%s", x);
    validates(dir);
    free(out);
    free(x);
    rm_tree(dir);
}

/* A run of several deployments is gated on every deployment's SLOs (split_three_one: code's
 * TPOT SLO of 10 ms is below its 20 ms decode iteration; chat's and code's TTFT SLOs of
 * 2 s pass), one test case each, named DEPLOYMENT.slo. Loosening code's target by name to
 * 50 ms passes the gate. */
Test(check, gates_on_every_deployments_slos)
{
    char dir[256];
    make_tmp(dir, sizeof dir, "checkdeps");
    cr_assert_eq(llmcap(dir, "", "check " SPLIT3 " --junit %s/j.xml", dir), 1);
    char *out = out_of(dir, "out"), *x = junit(dir);
    cr_assert_str_eq(out, "split-three-one: FAIL: code.tpot_p95 21.3 ms > 10 ms\n");
    static const char *const want[] = {
        "tests=\"4\" failures=\"1\" errors=\"0\"",
        "<testcase classname=\"llmcap.split-three-one.slo\" name=\"chat.ttft_p95 &lt;= 2 s\"/>",
        "<testcase classname=\"llmcap.split-three-one.slo\" name=\"code.ttft_p95 &lt;= 2 s\"/>",
        "<failure type=\"slo\" message=\"code.tpot_p95 is 21.3 ms, above the target 10 ms\"/>"};
    has_all(x, want, sizeof want / sizeof want[0]);
    validates(dir);
    free(out);
    free(x);
    cr_assert_eq(llmcap(dir, "", "check " SPLIT3 " --set deployments.code.slo.tpot_p95=50ms"), 0);
    out = out_of(dir, "out");
    cr_assert_str_eq(out, "split-three-one: PASS (3 of 3 SLOs met)\n");
    free(out);
    rm_tree(dir);
}

/* Against a baseline, each deployment's gated metrics are checked too (DEPLOYMENT.KEY):
 * chat's decode iteration from 20 to 30 ms makes its TPOT p95 about 1.5 times the
 * baseline's (30.3 against 20.2 ms), far past 5%; code's engine is unchanged and its
 * TPOT p95 passes. */
Test(check, gates_each_deployment_against_the_baseline)
{
    char dir[256];
    make_tmp(dir, sizeof dir, "checkdepbase");
    cr_assert_eq(llmcap(dir, "", "run " SPLIT3 " -q -o %s/base.db", dir), 1);
    cr_assert_eq(llmcap(dir, "",
                        "check " SPLIT3 " --set deployments.code.slo.tpot_p95=50ms --set "
                        "deployments.chat.engine.latency.constant.decode_iteration_ms=30 "
                        "--baseline %s/base.db --junit %s/j.xml",
                        dir, dir),
                 1);
    char *x = junit(dir), *out = out_of(dir, "out");
    static const char *const want[] = {
        "name=\"chat.tpot_p95_s within 5% of baseline run 1\">\n      <failure "
        "type=\"regression\" message=\"chat.tpot_p95_s regressed: 0.03041 s against 0.0202 s "
        "in the baseline (+50.5%",
        "<testcase classname=\"llmcap.split-three-one.regression\" name=\"code.tpot_p95_s "
        "within 5% of baseline run 1\"/>"};
    has_all(x, want, sizeof want / sizeof want[0]);
    cr_assert(strstr(out, "; chat.tpot_p95_s 0.03041 s (+50.5%, limit 0.02121 s);"), "%s", out);
    validates(dir);
    free(x);
    free(out);
    rm_tree(dir);
}
