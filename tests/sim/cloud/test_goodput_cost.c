/* The cost of goodput tokens, and a bill that says its run failed its SLOs. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "models/catalog.h"
#include "sim/config/scenario.h"
#include "sim/sim.h"

/* tests/fixtures/plan/verify.yaml with 2 on-demand replicas and TTFT p95 <= 520 ms:
 * requests every 0.1 s, round robin, so each replica gets one every 0.2 s and holds it
 * 0.25 s (100 prompt tokens x 1 ms + 15 decode iterations x 10 ms). The k-th request of a
 * replica (from 0) arrives at 0.2k, starts at 0.25k, has its first token 0.1 s later:
 * TTFT = 0.05k + 0.1 s, within 0.52 s for k <= 8. 9 requests a replica, 18 in all, 16
 * output tokens each: 288 goodput tokens of 600 x 16 = 9600. Each pod on its own
 * one-GPU test-a.h100 node ($3/h). */
static const char *const sets[] = {
    "fleet.replicas=2",
    "slo={ttft_p95: 520ms}",
    "cluster.karpenter.nodePool.spec.template.spec.requirements.0.values=[on-demand]",
    "cluster.karpenter.nodePool.spec.template.spec.requirements.1={key: "
    "node.kubernetes.io/instance-type, operator: In, values: [test-a.h100]}",
};

Test(goodput_cost, is_the_bill_over_the_tokens_of_requests_within_the_slos)
{
    struct scenario sc;
    struct sim_err err = {0};
    cr_assert_eq(scenario_load(&sc, FIXTURES "/plan/verify.yaml", sets, 4, &err), SIM_OK, "%s: %s",
                 err.where, err.msg);
    struct catalog *cat = sim_load_catalog(&sc, &err);
    cr_assert_not_null(cat, "%s", err.msg);
    struct sim_options opt = {.catalog = cat};
    struct sim *s = sim_new(&sc, &opt, &err);
    cr_assert_not_null(s, "%s", err.msg);
    cr_assert_eq(sim_run(s, &err), SIM_OK, "%s", err.msg);
    const struct sim_result *r = sim_result(s);
    cr_assert_eq(r->output_tokens, 9600);
    cr_assert_eq(r->goodput_output_tokens, 288);
    cr_assert_not(r->slo_pass);
    cr_assert(r->cost.billed);
    cr_assert_eq(r->cost.n_spot_interruptions, 0);
    /* 2 on-demand nodes at $3/h until the run ends: replica 1's last request (its k = 299,
     * arriving at 59.9 s) starts at 0.1 + 0.25 x 299 = 74.85 s and ends at 75.1 s, billed
     * per second rounded up: 76 s each. */
    cr_assert_float_eq(r->cost.usd, 2 * 3.0 * 76 / 3600, 1e-9);
    cr_assert_float_eq(r->cost.usd_per_mtok_goodput, r->cost.usd / 288e-6, 1e-9);
    cr_assert_float_eq(r->cost.usd_per_mtok_output, r->cost.usd / 9600e-6, 1e-9);
    sim_free(s);
    catalog_free(cat);
    scenario_release(&sc);
}

Test(goodput_cost, the_run_summary_says_the_bill_is_for_a_run_that_failed_its_slos)
{
    char cmd[2048], path[128];
    snprintf(path, sizeof path, "/tmp/llmcap-test-goodput-%ld.out", (long)getpid());
    snprintf(cmd, sizeof cmd,
             "%s run %s --set fleet.replicas=2 --set 'slo={ttft_p95: 520ms}' "
             "--set 'cluster.karpenter.nodePool.spec.template.spec.requirements.0.values="
             "[on-demand]' --no-progress >%s 2>&1",
             LLMCAP_BIN, FIXTURES "/plan/verify.yaml", path);
    int status = system(cmd);
    cr_assert(WIFEXITED(status));
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[1024];
    bool failed = false, goodput = false;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "  cost  ") && strstr(line, "for a run that FAILED its SLOs"))
            failed = true;
        if (strstr(line, "per 1M goodput tokens"))
            goodput = true;
    }
    fclose(f);
    cr_assert(failed && goodput, "see %s", path);
    remove(path);
}
