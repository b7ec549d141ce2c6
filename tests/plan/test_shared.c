/* llmcap plan over a shared cluster (plan/shared.h) against answers worked out by hand. */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/catalog.h"
#include "plan/plan.h"
#include "plan/shared.h"
#include "sim/config/scenario.h"

static void init(void)
{
    gsl_set_error_handler_off();
}

TestSuite(plan_shared, .init = init, .timeout = 120);

static int run_shared(const char *path, const char *const *sets, size_t n_sets,
                      struct plan_shared *s, struct sim_err *err)
{
    struct scenario sc;
    cr_assert_eq(scenario_load(&sc, path, sets, n_sets, err), SIM_OK, "%s: %s", err->where,
                 err->msg);
    cr_assert(plan_is_shared(&sc));
    struct catalog *cat = plan_shared_catalog(&sc, err);
    cr_assert_not_null(cat, "%s", err->msg);
    struct plan_options opt = {.jobs = 2, .catalog = cat};
    int rc = plan_shared_run(&sc, &opt, s, err);
    catalog_free(cat);
    scenario_release(&sc);
    return rc;
}

Test(plan_shared, two_models_pack_onto_one_8_gpu_node_for_less_than_separate_clusters)
{
    /* tests/fixtures/plan/shared_pack.yaml: each deployment needs 3 one-GPU replicas.
     * Separate: 3 x test-a.h100 ($3/h) each = $9/h, $18/h for both. Shared: the 6 pods on
     * one test-8.h100 = $16/h. Then both on test-a (6 nodes, $18/h), then the mixed
     * layouts, $16 + $9 = $25/h each. */
    struct plan_shared s;
    struct sim_err err = {0};
    cr_assert_eq(run_shared(FIXTURES "/plan/shared_pack.yaml", NULL, 0, &s, &err), SIM_OK,
                 "%s", err.msg);
    cr_assert_eq(s.n_deps, 2);
    cr_assert_eq(s.n_res, 4);
    cr_assert_eq(s.n_layouts, 4, "2 x 2 choices");
    cr_assert_eq(s.best, 0);
    const struct plan_layout *b = &s.layout[0];
    cr_assert_float_eq(b->usd_per_hour, 16.0, 1e-9);
    cr_assert_eq(b->nodes, 1);
    cr_assert_eq(b->n_groups, 1);
    cr_assert_str_eq(b->group[0].node_type, "test-8.h100");
    cr_assert_eq(b->group[0].used_units, 6);
    cr_assert(b->group[0].exact);
    for (size_t d = 0; d < 2; d++) {
        cr_assert_eq(s.res[b->choice[d]].replicas, 3);
        cr_assert_str_eq(s.res[b->choice[d]].node_type, "test-8.h100");
        cr_assert(b->dep[d].pass, "deployment %zu under the cluster model", d);
    }
    cr_assert_eq(b->verify, PLAN_VERIFY_PASS, "%s", b->verify_note);
    /* separate clusters: $9/h each on 3 one-GPU nodes */
    cr_assert_float_eq(s.separate_usd_per_hour, 18.0, 1e-9);
    for (size_t d = 0; d < 2; d++) {
        cr_assert_str_eq(s.res[s.separate[d]].node_type, "test-a.h100");
        cr_assert_eq(s.res[s.separate[d]].nodes, 3);
    }
    cr_assert_float_eq(s.layout[1].usd_per_hour, 18.0, 1e-9);
    cr_assert_eq(s.layout[1].nodes, 6);
    cr_assert_float_eq(s.layout[2].usd_per_hour, 25.0, 1e-9);
    cr_assert_float_eq(s.layout[3].usd_per_hour, 25.0, 1e-9);
    cr_assert_eq(s.layout[1].verify, PLAN_VERIFY_NONE, "verification stops at a pass");
    plan_shared_free(&s);
}

Test(plan_shared, a_bound_at_or_above_the_kept_layouts_prunes_nothing_needed)
{
    /* With one pool per deployment forced, exactly one layout exists. */
    const char *sets[] = {"plan.deployments={chat: {instances: [test-a.h100]}, "
                          "code: {instances: [test-a.h100]}}"};
    struct plan_shared s;
    struct sim_err err = {0};
    cr_assert_eq(run_shared(FIXTURES "/plan/shared_pack.yaml", sets, 1, &s, &err), SIM_OK,
                 "%s", err.msg);
    cr_assert_eq(s.n_res, 2);
    cr_assert_eq(s.n_layouts, 1);
    cr_assert_float_eq(s.layout[0].usd_per_hour, 18.0, 1e-9);
    cr_assert_float_eq(s.separate_usd_per_hour, 18.0, 1e-9, "nothing to share on 1-GPU nodes");
    plan_shared_free(&s);
}

Test(plan_shared, ffd_is_beaten_by_the_exact_packing_on_a_hand_worked_case)
{
    /* Nodes of 12 units, pods of 6, 5, 4, 4, 3, 2 (24 units: at least 2 nodes). FFD:
     * 6+5 | 4+4+3 | 2 = 3 nodes. Exact: 6+4+2 | 5+4+3 = 2 nodes. */
    int sizes[] = {4, 2, 6, 3, 5, 4};
    cr_assert_eq(plan_pack_ffd(sizes, 6, 12), 3);
    bool exact = false;
    cr_assert_eq(plan_pack(sizes, 6, 12, &exact), 2);
    cr_assert(exact);
    /* Power-of-two pod sizes on 8-GPU nodes: FFD meets ceil(sum / 8). */
    int tp[] = {4, 2, 1, 1, 4, 2, 2};
    cr_assert_eq(plan_pack(tp, 7, 8, &exact), 2);
    cr_assert(exact);
    int big[] = {9};
    cr_assert_eq(plan_pack(big, 1, 8, &exact), -1, "a pod larger than a node");
}

Test(plan_shared, a_deployment_the_scenario_lacks_is_an_error_at_its_key)
{
    const char *sets[] = {"plan.deployments={chta: {tensor_parallel_size: [1]}}"};
    struct plan_shared s;
    struct sim_err err = {0};
    cr_assert_eq(run_shared(FIXTURES "/plan/shared_pack.yaml", sets, 1, &s, &err), SIM_EINVAL);
    cr_assert(strstr(err.msg, "'plan.deployments.chta': the scenario has no deployment of that "
                              "name"),
              "%s", err.msg);
    cr_assert(strstr(err.where, "--set:1:"), "%s", err.where);
}

Test(plan_shared, a_pool_outside_the_clusters_is_refused)
{
    const char *sets[] = {"plan.deployments={chat: {instances: [test-b.l40s]}}"};
    struct plan_shared s;
    struct sim_err err = {0};
    cr_assert_eq(run_shared(FIXTURES "/plan/shared_pack.yaml", sets, 1, &s, &err), SIM_EINVAL);
    cr_assert(strstr(err.msg, "'test-b.l40s' is not among the cluster's pools"), "%s", err.msg);
}
