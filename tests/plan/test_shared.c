/* llmcap plan over a shared cluster (plan/shared.h) against answers worked out by hand. */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "models/catalog.h"
#include "plan/plan.h"
#include "plan/shared.h"
#include "sim/config/scenario.h"
#include "sim/sim.h"

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
    struct catalog *cat = sim_load_catalog(&sc, err);
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

Test(plan_shared, mig_slices_beat_whole_gpus_for_a_small_model)
{
    /* tests/fixtures/plan/shared_mig.yaml: 6 one-GPU pods on test-a.h100 ($3/h, one H100).
     * Whole GPUs: 6 nodes, $18/h. all-3g.40gb: 2 slices a GPU, 3 nodes, $9/h.
     * all-2g.20gb: 3 slices a GPU, 2 nodes, $6/h: the answer, both deployments on it. */
    struct plan_shared s;
    struct sim_err err = {0};
    cr_assert_eq(run_shared(FIXTURES "/plan/shared_mig.yaml", NULL, 0, &s, &err), SIM_OK, "%s",
                 err.msg);
    cr_assert_eq(s.n_res, 6);
    for (size_t i = 0; i < s.n_res; i++)
        cr_assert(s.res[i].feasible, "%s: %s", s.res[i].mig, s.res[i].reason);
    cr_assert_eq(s.best, 0);
    const struct plan_layout *b = &s.layout[0];
    cr_assert_float_eq(b->usd_per_hour, 6.0, 1e-9);
    cr_assert_eq(b->n_groups, 1);
    cr_assert_str_eq(b->group[0].mig, "2g.20gb");
    cr_assert_eq(b->group[0].units_per_node, 3);
    cr_assert_eq(b->group[0].nodes, 2);
    cr_assert_eq(b->verify, PLAN_VERIFY_NONE, "no provisioner: not verified");
    /* each alone: 3 pods on one all-2g.20gb node, $3/h */
    cr_assert_float_eq(s.separate_usd_per_hour, 6.0, 1e-9);
    /* the whole-GPU layout is the most expensive: 6 nodes, $18/h */
    bool whole = false;
    for (size_t k = 0; k < s.n_layouts; k++)
        if (s.layout[k].n_groups == 1 && !s.layout[k].group[0].mig[0]) {
            whole = true;
            cr_assert_float_eq(s.layout[k].usd_per_hour, 18.0, 1e-9);
            cr_assert_eq(k, s.n_layouts - 1);
        }
    cr_assert(whole);
    cr_assert_float_eq(s.layout[1].usd_per_hour, 9.0, 1e-9);
    plan_shared_free(&s);
}

Test(plan_shared, the_cli_writes_the_layouts_and_the_report_shows_the_saving)
{
    char dir[] = "/tmp/llmcap-test-shared-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "%s plan %s -j 2 -o %s/p.db > %s/out.txt 2>&1 && %s report %s/p.db --plan last "
             "-o %s/rep > /dev/null 2>&1",
             LLMCAP_BIN, FIXTURES "/plan/shared_pack.yaml", dir, dir, LLMCAP_BIN, dir, dir);
    int status = system(cmd);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", cmd);
    char path[512], buf[16384];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    cr_assert(strstr(buf, "$    16.00/h   1 node : 1 x test-8.h100 (6 of 8 GPUs)"), "%s", buf);
    cr_assert(strstr(buf, "sharing saves $2.00/h (11.1%)"), "%s", buf);
    snprintf(path, sizeof path, "%s/rep/plan.md", dir);
    f = fopen(path, "r");
    cr_assert_not_null(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    cr_assert(strstr(buf, "$16.00 an hour on 1 x test-8.h100 (6 of 8 GPUs)"), "%s", buf);
    cr_assert(strstr(buf, "would cost $18.00 an hour: sharing the cluster saves $2.00 an hour "
                          "(11.1%)"),
              "%s", buf);
    cr_assert(strstr(buf, "| chat | test-8.h100 tp1 bf16 seqs=1 | 3 |"), "%s", buf);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(plan_shared, plan_check_refuses_at_load_what_a_shared_plan_does_not_model)
{
    /* plan_check runs at load (validate, run): the refusals point at the key. */
    struct {
        const char *set, *msg;
    } cases[] = {
        {"plan.spot_share=[0, 1]", "'plan.spot_share' is not modelled in a shared plan"},
        {"plan.billing=gpu_share", "'plan.billing: gpu_share' bills a share of nodes"},
        {"plan.deployments={chta: {}}", "'plan.deployments.chta': the scenario has no deployment"},
        {"plan.deployments={chat: {search: {max_runs: 5}}}",
         "'plan.deployments.chat.search': a deployment's own space gives instances"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct scenario sc;
        struct sim_err err = {0};
        const char *sets[] = {cases[i].set};
        cr_assert_eq(scenario_load(&sc, FIXTURES "/plan/shared_pack.yaml", sets, 1, &err), SIM_OK,
                     "%s", err.msg);
        cr_assert_eq(plan_check(&sc, &err), SIM_EINVAL, "%s", cases[i].set);
        scenario_release(&sc);
        cr_assert(strstr(err.msg, cases[i].msg), "%s: %s", cases[i].set, err.msg);
        cr_assert(strstr(err.where, "--set:1:"), "%s: %s", cases[i].set, err.where);
    }
    /* plan.mig in a single-deployment plan: its billing is per GPU, not per slice */
    struct scenario sc;
    struct sim_err err = {0};
    const char *sets[] = {"plan.mig=[3g.40gb]"};
    cr_assert_eq(scenario_load(&sc, FIXTURES "/plan/two_gpus.yaml", sets, 1, &err), SIM_OK, "%s",
                 err.msg);
    cr_assert_eq(plan_check(&sc, &err), SIM_EINVAL);
    scenario_release(&sc);
    cr_assert(strstr(err.msg, "'plan.mig' is searched by the plan of a cluster's deployments"),
              "%s", err.msg);
}

/* ---- the branch-and-bound against exhaustive search ---- */

struct lcg {
    uint64_t s;
};

static unsigned next_u(struct lcg *g, unsigned n)
{
    g->s = g->s * 6364136223846793005u + 1442695040888963407u;
    return (unsigned)((g->s >> 33) % n);
}

/* The bill of one pick by brute force: group pods by (instance, MIG), pack each group
 * exactly, price the nodes. */
static double brute_bill(const struct plan_result *res, const size_t *pick, size_t nd,
                         const struct catalog *cat)
{
    double usd = 0;
    bool done[8] = {false};
    for (size_t d = 0; d < nd; d++) {
        if (done[d])
            continue;
        const struct plan_result *a = &res[pick[d]];
        const struct cat_instance *in = catalog_instance(cat, a->instance, NULL);
        int units = a->mig[0] ? in->n_gpus * 2 : in->n_gpus; /* 3g.40gb: 2 a GPU */
        int sizes[64];
        size_t n = 0;
        for (size_t e = d; e < nd; e++) {
            const struct plan_result *b = &res[pick[e]];
            if (strcmp(b->instance, a->instance) || strcmp(b->mig, a->mig))
                continue;
            done[e] = true;
            for (int k = 0; k < b->replicas; k++)
                sizes[n++] = b->mig[0] ? 1 : b->tp;
        }
        bool exact;
        usd += plan_pack(sizes, n, units, &exact) * in->on_demand_usd_per_hour;
    }
    return usd;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

Test(plan_shared, branch_and_bound_keeps_the_same_cheapest_layouts_as_exhaustive_search)
{
    struct sim_err err = {0};
    struct catalog *cat = catalog_new(NULL, &err);
    cr_assert_not_null(cat);
    cr_assert_eq(catalog_add_file(cat, FIXTURES "/plan/catalog.json", &err), SIM_OK, "%s",
                 err.msg);
    const char *inst[3] = {"test-a.h100", "test-b.l40s", "test-8.h100"};
    const int gpus[3] = {1, 1, 8};
    struct lcg g = {42};
    enum { ND = 4, NC = 6 };
    uint64_t pruned = 0;
    for (int trial = 0; trial < 40; trial++) {
        struct plan_result res[ND * NC];
        memset(res, 0, sizeof res);
        for (size_t d = 0; d < ND; d++)
            for (size_t c = 0; c < NC; c++) {
                struct plan_result *r = &res[d * NC + c];
                bool dup;
                do {
                    unsigned k = next_u(&g, 3);
                    snprintf(r->instance, sizeof r->instance, "%s", inst[k]);
                    bool mig = k != 1 && next_u(&g, 3) == 0;
                    snprintf(r->mig, sizeof r->mig, "%s", mig ? "3g.40gb" : "");
                    r->tp = mig ? 1 : 1 << next_u(&g, gpus[k] == 8 ? 4 : 1);
                    r->replicas = 1 + (int)next_u(&g, 6);
                    dup = false;
                    for (size_t e = d * NC; e < d * NC + c && !dup; e++)
                        dup = !strcmp(res[e].instance, r->instance) &&
                              !strcmp(res[e].mig, r->mig) && res[e].tp == r->tp &&
                              res[e].replicas == r->replicas;
                } while (dup);
                r->deployment = (int32_t)d;
                r->index = (uint32_t)(d * NC + c);
                r->feasible = true;
                r->valid = true;
            }
        struct plan_shared o;
        memset(&o, 0, sizeof o);
        o.n_deps = ND;
        o.res = res;
        o.n_res = ND * NC;
        cr_assert_eq(plan_shared_layouts(&o, cat, &err), SIM_OK, "%s", err.msg);
        cr_assert(o.complete);
        pruned += o.pruned;
        /* every pick, priced by brute force */
        double all[NC * NC * NC * NC];
        size_t n = 0, pick[ND];
        for (size_t a = 0; a < NC; a++)
            for (size_t b = 0; b < NC; b++)
                for (size_t c = 0; c < NC; c++)
                    for (size_t e = 0; e < NC; e++) {
                        pick[0] = a;
                        pick[1] = NC + b;
                        pick[2] = 2 * NC + c;
                        pick[3] = 3 * NC + e;
                        all[n++] = brute_bill(res, pick, ND, cat);
                    }
        qsort(all, n, sizeof all[0], cmp_double);
        cr_assert_eq(o.n_layouts, PLAN_MAX_LAYOUTS);
        for (size_t k = 0; k < o.n_layouts; k++)
            cr_assert_float_eq(o.layout[k].usd_per_hour, all[k], 1e-9,
                               "trial %d, layout %zu: %g against %g", trial, k,
                               o.layout[k].usd_per_hour, all[k]);
    }
    cr_assert_gt(pruned, 0, "the bound cut something over 40 trials");
    catalog_free(cat);
}
Test(plan_shared, a_layout_over_two_instance_types_verifies_with_pods_pinned_to_them)
{
    /* chat only on test-8.h100, code only on test-a.h100: one layout, 1 x test-8 ($16/h,
     * 3 of 8 GPUs) + 3 x test-a ($9/h) = $25/h. Under Karpenter each deployment's pods land
     * on their own type (nodeSelector): 4 nodes. */
    const char *sets[] = {"plan.deployments={chat: {instances: [test-8.h100]}, "
                          "code: {instances: [test-a.h100]}}"};
    struct plan_shared s;
    struct sim_err err = {0};
    cr_assert_eq(run_shared(FIXTURES "/plan/shared_pack.yaml", sets, 1, &s, &err), SIM_OK,
                 "%s", err.msg);
    cr_assert_eq(s.n_layouts, 1);
    const struct plan_layout *l = &s.layout[0];
    cr_assert_float_eq(l->usd_per_hour, 25.0, 1e-9);
    cr_assert_eq(l->nodes, 4);
    cr_assert_eq(l->verify, PLAN_VERIFY_PASS, "%s", l->verify_note);
    cr_assert(strstr(l->verify_note, "4 nodes"), "%s", l->verify_note);
    plan_shared_free(&s);
}

Test(plan_shared, memory_requests_bind_in_the_vector_packing)
{
    /* Nodes of 8 units and 100 bytes; four 1-unit pods of 40 bytes: the units fit one
     * node, the memory two at a node (80 <= 100 < 120): 2 nodes, the memory's lower bound
     * ceil(160 / 100) = 2, so proven. A pod of 101 bytes fits no node. */
    struct plan_item cap = {8, 0, 100, 0},
                     pods[4] = {{1, 0, 40, 0}, {1, 0, 40, 0}, {1, 0, 40, 0}, {1, 0, 40, 0}};
    bool exact = false;
    cr_assert_eq(plan_pack_items_ffd(pods, 4, cap), 2);
    cr_assert_eq(plan_pack_items(pods, 4, cap, &exact), 2);
    cr_assert(exact);
    struct plan_item big = {1, 0, 101, 0};
    cr_assert_eq(plan_pack_items(&big, 1, cap, &exact), -1);
    /* cpu too: 3 pods of 3000m on 8000m nodes, 2 a node */
    struct plan_item ccap = {8, 8000, 0, 0},
                     cpods[3] = {{1, 3000, 0, 0}, {1, 3000, 0, 0}, {1, 3000, 0, 0}};
    cr_assert_eq(plan_pack_items(cpods, 3, ccap, &exact), 2);
}

Test(plan_shared, the_nodes_max_pods_bind_in_the_vector_packing)
{
    /* Nodes of 8 units with room for 7 pods (maxPods less the DaemonSet pods): eight 1-unit
     * pods fill the units of one node but not its pods, 2 nodes (lower bound ceil(8 / 7) =
     * 2, proven); with room for 8 pods, 1 node. Pods of 4, 2, 1, 1 units on nodes with
     * room for 2 pods: 4 + 2 | 1 + 1, 2 nodes where the units alone say 1. No room: -1. */
    struct plan_item cap = {8, 0, 0, 7}, one[8];
    for (int i = 0; i < 8; i++)
        one[i] = (struct plan_item){1, 0, 0, 1};
    bool exact = false;
    cr_assert_eq(plan_pack_items_ffd(one, 8, cap), 2);
    cr_assert_eq(plan_pack_items(one, 8, cap, &exact), 2);
    cr_assert(exact);
    cap.pods = 8;
    cr_assert_eq(plan_pack_items(one, 8, cap, &exact), 1);
    struct plan_item two = {8, 0, 0, 2},
                     mixed[4] = {{1, 0, 0, 1}, {4, 0, 0, 1}, {1, 0, 0, 1}, {2, 0, 0, 1}};
    cr_assert_eq(plan_pack_items(mixed, 4, two, &exact), 2);
    cr_assert(exact);
    two.pods = 0;
    cr_assert_eq(plan_pack_items(mixed, 4, two, &exact), -1);
}

Test(plan_shared, a_memory_request_forces_an_extra_node_in_the_shared_layout)
{
    /* shared_pack.yaml with chat's pods requesting 200Gi (204800 MiB). test-8.h100's
     * allocatable memory (AWS formula, tests/plan/test_plan.c) is 483401 MiB: 2 chat pods a
     * node; test-a.h100's, 65536 - 4916 - 1465 - 100 = 59055 MiB, holds none (chat there is
     * no candidate). Both on test-8: chat, chat | chat + code x 3 (5 units, 409600 MiB):
     * 2 nodes, $32/h (by GPU units alone: 1 node, $16/h), proven by memory's lower bound
     * ceil(614400 / 483401) = 2. Chat on test-8 (2 nodes) + code on 3 x test-a: $41/h, as
     * the separate clusters ($32 + $9). */
    const char *sets[] = {"deployments.0.fleet.pod={resources: {requests: {memory: 200Gi}}}"};
    struct plan_shared s;
    struct sim_err err = {0};
    cr_assert_eq(run_shared(FIXTURES "/plan/shared_pack.yaml", sets, 1, &s, &err), SIM_OK,
                 "%s", err.msg);
    cr_assert_eq(s.n_layouts, 2, "chat has no test-a candidate");
    const struct plan_layout *b = &s.layout[0];
    cr_assert_float_eq(b->usd_per_hour, 32.0, 1e-9);
    cr_assert_eq(b->nodes, 2);
    cr_assert_eq(b->n_groups, 1);
    cr_assert_str_eq(b->group[0].node_type, "test-8.h100");
    cr_assert_eq(b->group[0].used_units, 6);
    cr_assert(b->group[0].exact);
    cr_assert_float_eq(s.layout[1].usd_per_hour, 41.0, 1e-9);
    cr_assert_float_eq(s.separate_usd_per_hour, 41.0, 1e-9);
    cr_assert_str_eq(s.res[s.separate[0]].node_type, "test-8.h100");
    cr_assert_eq(s.res[s.separate[0]].nodes, 2);
    cr_assert_float_eq(s.res[s.separate[0]].usd_per_replica_hour, 8.0, 1e-9);
    plan_shared_free(&s);
}

Test(plan_shared, the_nodes_pods_bind_the_shared_layout)
{
    /* shared_pack.yaml (chat and code 3 TP-1 pods each) with 107 DaemonSet pods against the
     * AWS nodes' default maxPods 110 (np_instance_allocatable): 3 pods a node. Both on
     * test-8.h100: 6 pods, 2 nodes, $32/h (by GPUs: 1 node, $16/h); chat on test-8 (1 node)
     * + code on 3 x test-a.h100 ($3/h): $25/h; both on test-a: 6 x $3 = $18/h, the best.
     * Alone, chat is cheapest on test-a too: 3 x $3 = $9/h. */
    const char *sets[] = {"cluster.daemonset_requests={pods: 107}"};
    struct plan_shared s;
    struct sim_err err = {0};
    cr_assert_eq(run_shared(FIXTURES "/plan/shared_pack.yaml", sets, 1, &s, &err), SIM_OK,
                 "%s", err.msg);
    cr_assert_float_eq(s.layout[0].usd_per_hour, 18.0, 1e-9);
    cr_assert_eq(s.layout[0].nodes, 6);
    cr_assert_eq(s.layout[0].n_groups, 1);
    cr_assert_str_eq(s.layout[0].group[0].node_type, "test-a.h100");
    bool both_on_8 = false;
    for (size_t i = 0; i < s.n_layouts; i++)
        if (s.layout[i].n_groups == 1 && !strcmp(s.layout[i].group[0].node_type, "test-8.h100")) {
            both_on_8 = true;
            cr_assert_eq(s.layout[i].nodes, 2);
            cr_assert_float_eq(s.layout[i].usd_per_hour, 32.0, 1e-9);
            cr_assert(s.layout[i].group[0].exact);
        }
    cr_assert(both_on_8);
    cr_assert_float_eq(s.separate_usd_per_hour, 18.0, 1e-9);
    plan_shared_free(&s);
}

Test(plan_shared, the_daemonsets_requests_take_their_share_of_every_node)
{
    /* As above, with DaemonSets requesting 74000Mi on every node: test-8.h100 has
     * 483401 - 74000 = 409401 MiB left, 1 MiB short of two 200Gi (409600 MiB) pods: one chat
     * pod a node. Both on test-8: chat + code x 3 | chat | chat = 3 nodes, $48/h; chat alone
     * 3 nodes, $48/h, $16 a replica-hour. */
    const char *sets[] = {"deployments.0.fleet.pod={resources: {requests: {memory: 200Gi}}}",
                          "cluster.daemonset_requests={memory: 74000Mi}"};
    struct plan_shared s;
    struct sim_err err = {0};
    cr_assert_eq(run_shared(FIXTURES "/plan/shared_pack.yaml", sets, 2, &s, &err), SIM_OK,
                 "%s", err.msg);
    cr_assert_float_eq(s.layout[0].usd_per_hour, 48.0, 1e-9);
    cr_assert_eq(s.layout[0].nodes, 3);
    cr_assert_eq(s.res[s.separate[0]].nodes, 3);
    cr_assert_float_eq(s.res[s.separate[0]].usd_per_replica_hour, 16.0, 1e-9);
    plan_shared_free(&s);
}
