/* llmcap plan against answers worked out by hand. */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "models/catalog.h"
#include "plan/plan.h"
#include "sim/config/scenario.h"
#include "sim/sim.h"

static void init(void)
{
    gsl_set_error_handler_off();
}

TestSuite(plan, .init = init, .timeout = 120);

static size_t run_plan(const char *path, const char *const *sets, size_t n_sets,
                       struct plan_result **res, int expect_rc)
{
    struct scenario sc;
    struct sim_err err = {0};
    cr_assert_eq(scenario_load(&sc, path, sets, n_sets, &err), SIM_OK, "%s: %s", err.where,
                 err.msg);
    struct catalog *cat = sim_load_catalog(&sc, &err);
    cr_assert_not_null(cat, "%s", err.msg);
    struct plan_options opt = {.jobs = 2, .catalog = cat};
    size_t n = 0;
    int rc = plan_run(&sc, &opt, res, &n, &err);
    cr_assert_eq(rc, expect_rc, "%s: %s", err.where, err.msg);
    catalog_free(cat);
    scenario_release(&sc);
    return n;
}

Test(plan, two_gpu_types_fixed_load_constant_latency_picks_the_cheaper_one_at_three_replicas)
{
    /* 10 requests/s, evenly spaced; one request at a time per replica, holding it for
     * 100 x 1 ms (prefill) + 15 x 10 ms (decode) = 0.25 s; TTFT p95 <= 0.5 s.
     * One replica keeps up while requests come at most every 0.25 s: with the trace's time
     * compressed by x, every 0.1/x s, so x* = 0.4 (above it the queue grows and TTFT
     * explodes). The fleet needs ceil(1/0.4) = 3 replicas (2 would see a request every
     * 0.2 s). Latency does not depend on the GPU here, so both types need 3; the L40S
     * instance ($2/h) beats the H100 one ($3/h): 3 x $2 = $6/h. */
    struct plan_result *r = NULL;
    size_t n = run_plan(FIXTURES "/plan/two_gpus.yaml", NULL, 0, &r, SIM_OK);
    cr_assert_eq(n, 2);
    long best = plan_best(r, n);
    cr_assert_eq(best, 1);
    cr_assert_str_eq(r[best].instance, "test-b.l40s");
    cr_assert_eq(r[best].replicas, 3);
    cr_assert_float_eq(r[best].usd_per_hour, 6.0, 1e-9);
    /* the search stops within its 1% tolerance below the true 0.4 */
    cr_assert_leq(r[best].max_rate_scale, 0.4 + 1e-9);
    cr_assert_geq(r[best].max_rate_scale, 0.4 * 0.99 - 1e-9);
    cr_assert_eq(r[0].replicas, 3);
    cr_assert_float_eq(r[0].usd_per_hour, 9.0, 1e-9);
    /* TTFT is the prefill alone: 0.1 s. */
    cr_assert_float_eq(r[best].ttft_p95_s, 0.1, 1e-9);
    cr_assert(r[best].pareto);
    cr_assert_not(r[0].pareto, "the H100 option costs more for the same latency");
    free(r);
}

Test(plan, a_space_where_nothing_meets_the_slo_has_no_best)
{
    /* A TTFT target below the 0.1 s prefill: no fleet can meet it. */
    const char *sets[] = {"slo.ttft_p95=50ms"};
    struct plan_result *r = NULL;
    size_t n = run_plan(FIXTURES "/plan/two_gpus.yaml", sets, 1, &r, SIM_OK);
    cr_assert_eq(plan_best(r, n), -1);
    for (size_t i = 0; i < n; i++) {
        cr_assert_not(r[i].feasible);
        cr_assert(strstr(r[i].reason, "misses ttft_p95"), "reason: %s", r[i].reason);
    }
    free(r);
}

Test(plan, the_cli_exits_1_with_a_message_when_nothing_qualifies)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s plan %s --set slo.ttft_p95=50ms -j 1 >/dev/null 2>%s",
             LLMCAP_BIN, FIXTURES "/plan/two_gpus.yaml", "/tmp/llmcap-test-plan.err");
    int status = system(cmd);
    cr_assert(WIFEXITED(status));
    cr_assert_eq(WEXITSTATUS(status), 1);
    FILE *f = fopen("/tmp/llmcap-test-plan.err", "r");
    char line[512] = {0};
    cr_assert_not_null(fgets(line, sizeof line, f));
    fclose(f);
    cr_assert_str_eq(line, "llmcap: plan: no configuration in the search space meets every "
                           "SLO\n");
}

Test(plan, configurations_that_cannot_hold_the_model_are_pruned_with_the_reason)
{
    /* Llama-3-70B: 131.4 GiB of weights in bf16 against 48 GB; in int4-AWQ about 37 GiB,
     * which fits. */
    struct plan_result *r = NULL;
    size_t n = run_plan(FIXTURES "/plan/too_big.yaml", NULL, 0, &r, SIM_OK);
    cr_assert_eq(n, 2);
    cr_assert_not(r[0].fits);
    cr_assert_eq(r[0].search_runs, 0, "pruned before any run");
    cr_assert(strstr(r[0].reason, "does not fit") && strstr(r[0].reason, "llama-3-70b"),
              "reason: %s", r[0].reason);
    cr_assert(r[1].fits, "int4: %s", r[1].reason);
    free(r);
}

Test(plan, unknown_plan_keys_are_errors_of_the_plan_check_with_a_suggestion)
{
    /* The scenario reader leaves `plan:` to the planner; plan_check points at the key. */
    struct scenario sc;
    struct sim_err err = {0};
    cr_assert_eq(scenario_load(&sc, FIXTURES "/plan/bad_plan_key.yaml", NULL, 0, &err), SIM_OK,
                 "%s", err.msg);
    cr_assert_eq(plan_check(&sc, &err), SIM_EINVAL);
    scenario_release(&sc);
    cr_assert_str_eq(err.where, FIXTURES "/plan/bad_plan_key.yaml:12:3");
    cr_assert_str_eq(err.msg, "unknown key 'tensor_parallel_sizes' in 'plan' (did you mean "
                              "'tensor_parallel_size'?)");
}

/* Exit code and first stderr line of `llmcap ARGS`. */
static int cli_first_line(const char *args, char *line, size_t n)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s >/dev/null 2>/tmp/llmcap-test-plan-cli.err", LLMCAP_BIN,
             args);
    int status = system(cmd);
    cr_assert(WIFEXITED(status));
    FILE *f = fopen("/tmp/llmcap-test-plan-cli.err", "r");
    cr_assert_not_null(f);
    line[0] = 0;
    if (!fgets(line, (int)n, f))
        line[0] = 0;
    fclose(f);
    return WEXITSTATUS(status);
}

Test(plan, validate_and_run_report_a_bad_plan_section_at_its_position)
{
    char line[1024];
    const char *cmds[] = {"validate", "run"};
    for (size_t i = 0; i < 2; i++) {
        char args[1024];
        snprintf(args, sizeof args, "%s %s", cmds[i], FIXTURES "/plan/bad_plan_key.yaml");
        cr_assert_eq(cli_first_line(args, line, sizeof line), 2, "%s", cmds[i]);
        cr_assert(strstr(line, "bad_plan_key.yaml:12:3: ") &&
                      strstr(line, "unknown key 'tensor_parallel_sizes' in 'plan'"),
                  "%s: %s", cmds[i], line);
    }
}
