/* Karpenter against hand-computed timelines: batching, instance choice, launch and
 * readiness, insufficient capacity, limits, consolidation, expiry under a PDB, and a spot
 * interruption with its replacement. Start-up phases as in test_fleet.c: pull 120 s, load
 * 5 s, warm init 40 s (165 s from scheduling to Ready on a node without the image). */
#include <math.h>

#include "test_cluster_harness.h"

#define EPS 1e-9

/* A NodePool (karpenter.sh/v1) around `reqs` (requirement lines) and `disruption`. */
#define NODEPOOL(reqs, disruption, extra)                                                  \
    "cluster:\n"                                                                           \
    "  cloud: aws\n"                                                                       \
    "  karpenter:\n"                                                                       \
    "    nodePool:\n"                                                                      \
    "      apiVersion: karpenter.sh/v1\n"                                                  \
    "      kind: NodePool\n"                                                               \
    "      metadata: {name: gpu}\n"                                                        \
    "      spec:\n"                                                                        \
    "        template:\n"                                                                  \
    "          spec:\n"                                                                    \
    "            requirements:\n" reqs "        disruption: " disruption "\n" extra

#define REQ "            - "
#define XL_ONLY REQ "{key: node.kubernetes.io/instance-type, operator: In, values: [g6e.xlarge]}\n"
#define L40S REQ "{key: karpenter.k8s.aws/instance-gpu-name, operator: In, values: [l40s]}\n"
#define SPOT_ONLY REQ "{key: karpenter.sh/capacity-type, operator: In, values: [spot]}\n"
#define MIXED REQ "{key: karpenter.sh/capacity-type, operator: In, values: [spot, on-demand]}\n"
#define LAUNCH_90 "    launch_to_ready: 90s\n"

static struct ch c;

Test(cluster_karpenter, spike_to_first_new_ready_replica_adds_each_phase)
{
    /* Scale 1 -> 2 at 10 s. The pending pod opens the batch window, which closes 1 s after
     * the last trigger (11 s): the NodeClaim is requested at 11 s, launched after
     * request_to_launch 2 s (13 s), Ready after launch_to_ready 90 s (103 s), registered
     * registered_to_ready 20 s before that (83 s). The pod binds at 103 s, pulls 120 s
     * (223 s), loads 5 s (228 s), initialises 40 s: Ready at 268 s, 258 s after the spike. */
    ch_setup(&c, "l40s", 1,
             NODEPOOL(XL_ONLY, "{consolidateAfter: Never}",
                      "    request_to_launch: 2s\n" LAUNCH_90 "    registered_to_ready: 20s\n"));
    struct wl_request reqs[] = {h_req(500, 100, 2)};
    struct change chg[] = {{10, 2}};
    ch_run(&c, reqs, 1, chg, 1);
    const struct rec_node *n = ch_node(&c, 1);
    cr_assert_str_eq(n->instance_type, "g6e.xlarge");
    cr_assert_str_eq(n->capacity_type, "on-demand"); /* no capacity-type requirement */
    cr_assert_float_eq(S(n->requested_us), 11, EPS);
    cr_assert_float_eq(S(n->launched_us), 13, EPS);
    cr_assert_float_eq(S(n->registered_us), 83, EPS);
    cr_assert_float_eq(S(n->ready_us), 103, EPS);
    cr_assert_eq(n->terminated_us, -1);
    const struct rec_pod *p = ch_pod(&c, 1);
    cr_assert_eq(p->node_id, 1);
    cr_assert_float_eq(S(p->scheduled_us), 103, EPS);
    cr_assert_float_eq(S(p->pulled_us), 223, EPS);
    cr_assert_float_eq(S(p->loaded_us), 228, EPS);
    cr_assert_float_eq(S(p->ready_us), 268, EPS);
    ch_free(&c);
}

Test(cluster_karpenter, batch_window_extends_one_second_per_trigger)
{
    /* New pods at 10, 10.6 and 11.2 s: each resets the 1 s idle timer, so the window
     * closes at 12.2 s and all three NodeClaims are requested then. */
    ch_setup(&c, "l40s", 1, NODEPOOL(XL_ONLY, "{consolidateAfter: Never}", LAUNCH_90));
    struct wl_request reqs[] = {h_req(30, 100, 2)};
    struct change chg[] = {{10, 2}, {10.6, 3}, {11.2, 4}};
    ch_run(&c, reqs, 1, chg, 3);
    for (int32_t id = 1; id <= 3; id++)
        cr_assert_float_eq(S(ch_node(&c, id)->requested_us), 12.2, EPS, "node %d", id);
    ch_free(&c);
}

Test(cluster_karpenter, batch_window_closes_ten_seconds_after_it_opened)
{
    /* A new pod every 0.9 s from 10 s: the idle timer never runs out, and the window closes
     * at its 10 s maximum (20 s) with the 12 pods created at 10.0, 10.9, ..., 19.9 s. */
    ch_setup(&c, "l40s", 1, NODEPOOL(XL_ONLY, "{consolidateAfter: Never}", LAUNCH_90));
    struct change chg[16];
    for (int k = 0; k < 16; k++)
        chg[k] = (struct change){10 + 0.9 * k, 2 + k};
    struct wl_request reqs[] = {h_req(40, 100, 2)};
    ch_run(&c, reqs, 1, chg, 16);
    int at20 = 0;
    for (size_t i = 0; i < c.n_nodes; i++)
        at20 += c.nodes[i].requested_us == 20000000;
    cr_assert_eq(at20, 12);
    ch_free(&c);
}

Test(cluster_karpenter, one_pod_gets_the_cheapest_type_that_fits)
{
    /* Allowed: g6e.xlarge (1 GPU, $1.861/h), g6e.12xlarge (4, $10.49264), g6e.48xlarge (8,
     * $30.13118) on-demand. One pod fits all three; the cheapest is g6e.xlarge. */
    ch_setup(&c, "l40s", 1, NODEPOOL(L40S, "{consolidateAfter: Never}", LAUNCH_90));
    struct wl_request reqs[] = {h_req(30, 100, 2)};
    struct change chg[] = {{10, 2}};
    ch_run(&c, reqs, 1, chg, 1);
    cr_assert_str_eq(ch_node(&c, 1)->instance_type, "g6e.xlarge");
    cr_assert_float_eq(ch_node(&c, 1)->price_usd_per_hour, 1.861, EPS);
    ch_free(&c);
}

Test(cluster_karpenter, pods_of_one_batch_are_packed_before_the_price_is_compared)
{
    /* Three pods in one batch: Karpenter's scheduler puts them on one NodeClaim while some
     * type can hold them all (g6e.12xlarge or .48xlarge), then launches the cheapest of
     * those: one g6e.12xlarge ($10.49264/h), not three g6e.xlarge ($5.583/h). */
    ch_setup(&c, "l40s", 1, NODEPOOL(L40S, "{consolidateAfter: Never}", LAUNCH_90));
    struct wl_request reqs[] = {h_req(30, 100, 2)};
    struct change chg[] = {{10, 4}};
    ch_run(&c, reqs, 1, chg, 1);
    cr_assert_eq(c.n_nodes, 2);
    cr_assert_str_eq(ch_node(&c, 1)->instance_type, "g6e.12xlarge");
    ch_free(&c);
}

Test(cluster_karpenter, nine_pods_fill_the_largest_type_then_open_a_second_claim)
{
    /* Nine pods: the first claim takes pods while a type still fits (up to 8 on
     * g6e.48xlarge); the ninth opens a new claim, whose cheapest fit is g6e.xlarge. */
    ch_setup(&c, "l40s", 1, NODEPOOL(L40S, "{consolidateAfter: Never}", LAUNCH_90));
    struct wl_request reqs[] = {h_req(30, 100, 2)};
    struct change chg[] = {{10, 10}};
    ch_run(&c, reqs, 1, chg, 1);
    cr_assert_eq(c.n_nodes, 3);
    cr_assert_str_eq(ch_node(&c, 1)->instance_type, "g6e.48xlarge");
    cr_assert_str_eq(ch_node(&c, 2)->instance_type, "g6e.xlarge");
    ch_free(&c);
}

Test(cluster_karpenter, spot_is_preferred_in_its_cheapest_zone)
{
    /* Spot and on-demand allowed: spot wins (getCapacityType); g6e.xlarge spot is cheapest
     * in use1-az2 ($0.9154 against az1 1.1975, az4 0.9599, az6 1.0492). */
    ch_setup(&c, "l40s", 1, NODEPOOL(XL_ONLY MIXED, "{consolidateAfter: Never}", LAUNCH_90));
    struct wl_request reqs[] = {h_req(30, 100, 2)};
    ch_run(&c, reqs, 1, NULL, 0);
    const struct rec_node *n = ch_node(&c, 0);
    cr_assert_str_eq(n->capacity_type, "spot");
    cr_assert_str_eq(n->zone, "use1-az2");
    cr_assert_float_eq(n->price_usd_per_hour, 0.9154, EPS);
    ch_free(&c);
}

Test(cluster_karpenter, insufficient_spot_capacity_falls_back_to_on_demand_and_is_cached)
{
    /* Every g6e.xlarge spot offering has no capacity. At 11 s the launch tries the four
     * spot zones by price (4 errors, each cached 3 min) and launches on-demand at once.
     * At 101 s the cache still holds them: on-demand with no new error. At 201 s they have
     * expired (11 + 180 = 191 s) and are tried again: 4 more errors. */
    ch_setup(&c, "l40s", 1,
             NODEPOOL(XL_ONLY MIXED, "{consolidateAfter: Never}",
                      LAUNCH_90 "  insufficient_capacity:\n"
                                "    offerings: [{instance_type: g6e.xlarge, capacity_type: spot, "
                                "from: 5s}]\n"));
    struct wl_request reqs[] = {h_req(300, 100, 2)};
    struct change chg[] = {{10, 2}, {100, 3}, {200, 4}};
    ch_run(&c, reqs, 1, chg, 3);
    cr_assert_str_eq(ch_node(&c, 0)->capacity_type, "spot"); /* initial, before the window */
    for (int32_t id = 1; id <= 3; id++)
        cr_assert_str_eq(ch_node(&c, id)->capacity_type, "on-demand", "node %d", id);
    cr_assert_float_eq(S(ch_node(&c, 1)->requested_us), 11, EPS);
    cr_assert_eq(sim_result(c.s)->cost.n_ice_errors, 8);
    ch_free(&c);
}

Test(cluster_karpenter, nodepool_gpu_limit_leaves_pods_pending)
{
    /* limits nvidia.com/gpu: 2 with one 1-GPU node: of three new pods one gets a node; the
     * other two stay Pending (retried every 10 s, still over the limit). */
    ch_setup(&c, "l40s", 1,
             NODEPOOL(XL_ONLY, "{consolidateAfter: Never}\n        limits: {nvidia.com/gpu: 2}",
                      LAUNCH_90));
    struct wl_request reqs[] = {h_req(400, 100, 2)};
    struct change chg[] = {{10, 4}};
    ch_run(&c, reqs, 1, chg, 1);
    cr_assert_eq(c.n_nodes, 2);
    cr_assert_eq(ch_pod(&c, 2)->node_id, -1);
    cr_assert_eq(ch_pod(&c, 3)->node_id, -1);
    ch_free(&c);
}

Test(cluster_karpenter, empty_node_is_consolidated_after_consolidate_after_and_validation)
{
    /* WhenEmpty, consolidateAfter 60 s. Node 1 comes for the scale-up at 10 s (requested
     * 11 s); the scale-in at 400 s removes its idle pod at once: its last pod event is 400 s.
     * The disruption pass every 10 s finds it consolidatable at 460 s; the command is
     * re-validated 15 s later and the node deleted at 475 s. */
    ch_setup(&c, "l40s", 1,
             NODEPOOL(XL_ONLY, "{consolidationPolicy: WhenEmpty, consolidateAfter: 60s}",
                      LAUNCH_90));
    struct wl_request reqs[] = {h_req(600, 100, 2)};
    struct change chg[] = {{10, 2}, {400, 1}};
    ch_run(&c, reqs, 1, chg, 2);
    const struct rec_node *n = ch_node(&c, 1);
    cr_assert_float_eq(S(n->terminated_us), 475, EPS);
    cr_assert_str_eq(n->end_reason, "consolidation-empty");
    cr_assert_eq(ch_node(&c, 0)->terminated_us, -1);
    ch_free(&c);
}

Test(cluster_karpenter, underutilized_node_is_replaced_by_a_cheaper_type)
{
    /* WhenEmptyOrUnderutilized, consolidateAfter 60 s. Three initial pods share one
     * g6e.12xlarge; the scale-in at 10 s leaves one pod on it. At 70 s it is a candidate:
     * its pod fits nowhere else, so one new NodeClaim for it whose types cheaper than
     * $10.49264/h are g6e.xlarge only. Validated at 85 s, the replacement is requested
     * then and Ready at 175 s; only then is the old node drained: its pod is evicted at
     * 175 s (idle: gone at once) and the node removed; the new pod binds to the new node at
     * 175 s and is Ready at 340 s. */
    ch_setup(&c, "l40s", 3,
             NODEPOOL(L40S,
                      "{consolidationPolicy: WhenEmptyOrUnderutilized, consolidateAfter: 60s}",
                      LAUNCH_90));
    struct wl_request reqs[] = {h_req(400, 100, 2)};
    struct change chg[] = {{10, 1}};
    ch_run(&c, reqs, 1, chg, 1);
    cr_assert_str_eq(ch_node(&c, 0)->instance_type, "g6e.12xlarge");
    const struct rec_node *r = ch_node(&c, 1);
    cr_assert_str_eq(r->instance_type, "g6e.xlarge");
    cr_assert_float_eq(S(r->requested_us), 85, EPS);
    cr_assert_float_eq(S(r->ready_us), 175, EPS);
    cr_assert_float_eq(S(ch_node(&c, 0)->terminated_us), 175, EPS);
    cr_assert_str_eq(ch_node(&c, 0)->end_reason, "consolidation-replaced");
    const struct rec_pod *p = ch_pod(&c, 3);
    cr_assert_eq(p->node_id, 1);
    cr_assert_float_eq(S(p->ready_us), 340, EPS);
    ch_free(&c);
}

Test(cluster_karpenter, expiry_drains_pod_by_pod_within_the_pdb)
{
    /* expireAfter 5m, PDB maxUnavailable 1, two replicas on two initial nodes expiring at
     * 300 s. Node 0's pod is evicted at once (2 ready, 1 allowed to go); node 1's eviction
     * is refused until the replacement is Ready: pod 2 binds to a node requested at 301 s
     * and Ready at 391 s, and is Ready at 556 s. The refused eviction is retried after
     * 0.1, 0.2, 0.4, ... s, capped at 10 s: at 300.1, 300.3, 300.7, 301.5, 303.1, 306.3,
     * 312.7, then every 10 s: 552.7 is still too early, 562.7 s succeeds. */
    ch_setup(&c, "l40s", 2,
             "cluster:\n"
             "  cloud: aws\n"
             "  karpenter:\n"
             "    nodePool:\n"
             "      apiVersion: karpenter.sh/v1\n"
             "      kind: NodePool\n"
             "      spec:\n"
             "        template:\n"
             "          spec:\n"
             "            requirements:\n" XL_ONLY "            expireAfter: 5m\n"
             "        disruption: {consolidateAfter: Never}\n" LAUNCH_90
             "  podDisruptionBudget:\n"
             "    apiVersion: policy/v1\n"
             "    kind: PodDisruptionBudget\n"
             "    metadata: {name: vllm}\n"
             "    spec: {maxUnavailable: 1, selector: {matchLabels: {app: vllm}}}\n");
    struct wl_request reqs[] = {h_req(590, 100, 2)};
    ch_run(&c, reqs, 1, NULL, 0);
    cr_assert_float_eq(S(ch_pod(&c, 0)->terminating_us), 300, EPS);
    cr_assert_str_eq(ch_pod(&c, 0)->end_reason, "expired");
    cr_assert_float_eq(S(ch_pod(&c, 2)->ready_us), 556, EPS);
    cr_assert_float_eq(S(ch_pod(&c, 1)->terminating_us), 562.7, 1e-6);
    cr_assert_float_eq(S(ch_node(&c, 0)->terminated_us), 300, EPS);
    cr_assert_str_eq(ch_node(&c, 0)->end_reason, "expired");
    cr_assert_float_eq(S(ch_node(&c, 1)->terminated_us), 562.7, 1e-6);
    ch_free(&c);
}

Test(cluster_karpenter, spot_notice_drains_the_node_and_a_replacement_arrives)
{
    /* Spot only, two replicas on two g6e.xlarge spot nodes in use1-az2. A request at 290 s
     * on pod 0 runs 0.01 + 1999 x 0.01 = 20 s (to 310 s). The notice for node 0 comes at
     * 300 s (scripted): its pod stops taking work, finishes the request at 310 s and goes;
     * Karpenter terminates the drained node then (before the 420 s reclaim). The
     * replacement pod (created at 300 s) is batched until 301 s; the interrupted offering
     * is cached as unavailable, so the NodeClaim lands in the next cheapest zone, use1-az4
     * ($0.9599), Ready at 391 s; the pod is Ready at 556 s. */
    ch_setup(&c, "l40s", 2,
             NODEPOOL(XL_ONLY SPOT_ONLY, "{consolidateAfter: Never}",
                      LAUNCH_90 "  spot:\n    interruptions: [{at: 300s}]\n"));
    struct wl_request reqs[] = {h_req(290, 100, 2000), h_req(600, 100, 2)};
    ch_run(&c, reqs, 2, NULL, 0);
    cr_assert_eq(c.out.rows[0].replica, 0);
    cr_assert_eq(c.out.rows[0].outcome, OUTCOME_OK);
    cr_assert_float_eq(S(c.out.rows[0].finish_us), 310, EPS);
    const struct rec_pod *p0 = ch_pod(&c, 0);
    cr_assert_float_eq(S(p0->terminating_us), 300, EPS);
    cr_assert_float_eq(S(p0->terminated_us), 310, EPS);
    cr_assert_str_eq(p0->end_reason, "spot-interruption");
    const struct rec_node *n0 = ch_node(&c, 0);
    cr_assert_float_eq(S(n0->terminated_us), 310, EPS);
    cr_assert_str_eq(n0->end_reason, "spot-interruption");
    const struct rec_node *n2 = ch_node(&c, 2);
    cr_assert_str_eq(n2->zone, "use1-az4");
    cr_assert_float_eq(S(n2->requested_us), 301, EPS);
    cr_assert_float_eq(S(n2->ready_us), 391, EPS);
    cr_assert_float_eq(S(ch_pod(&c, 2)->ready_us), 556, EPS);
    cr_assert_eq(sim_result(c.s)->cost.n_spot_interruptions, 1);
    ch_free(&c);
}

Test(cluster_karpenter, pods_still_running_at_the_end_of_the_notice_are_cut)
{
    /* Grace 200 s, longer than the 120 s notice: the request at 290 s (7000 tokens at
     * 20 ms a step: 140 s, to 430 s) is still running on the interrupted node at 420 s,
     * when the instance is reclaimed:
     * the pod's grace was cut to the notice, so the request is retried elsewhere and the
     * node ends at 420 s. */
    ch_setup(&c, "l40s", 2,
             NODEPOOL(XL_ONLY SPOT_ONLY, "{consolidateAfter: Never}",
                      LAUNCH_90 "  spot:\n    interruptions: [{at: 300s}]\n"));
    c.sc.engine.termination.grace_period_us = 200000000;
    c.sc.engine.latency.decode_iteration_ms = 20;
    struct wl_request reqs[] = {h_req(290, 100, 7000), h_req(900, 100, 2)};
    ch_run(&c, reqs, 2, NULL, 0);
    cr_assert_float_eq(S(ch_pod(&c, 0)->terminated_us), 420, EPS);
    cr_assert_float_eq(S(ch_node(&c, 0)->terminated_us), 420, EPS);
    cr_assert_eq(c.out.rows[0].retries, 1);
    cr_assert_eq(c.out.rows[0].outcome, OUTCOME_OK);
    ch_free(&c);
}

Test(cluster_karpenter, same_seed_gives_the_same_nodes)
{
    /* Lognormal latencies, a spot rate and ICE draws: two runs with seed 7 agree exactly;
     * seed 8 differs. */
    const char *yaml = NODEPOOL(XL_ONLY MIXED, "{consolidateAfter: 30s}",
                                "    launch_to_ready: {median: 90s, p95: 4m}\n"
                                "  spot: {interruption_rate_per_hour: 2}\n"
                                "  insufficient_capacity: {probability: 0.3}\n");
    struct wl_request reqs[] = {h_req(3000, 100, 2)};
    struct change chg[] = {{10, 4}, {900, 2}, {1500, 5}};
    int64_t ready[3][16];
    size_t n[3];
    for (int run = 0; run < 3; run++) {
        ch_setup(&c, "l40s", 2, yaml);
        c.sc.seed = run < 2 ? 7 : 8;
        ch_run(&c, reqs, 1, chg, 3);
        n[run] = c.n_nodes;
        for (size_t i = 0; i < c.n_nodes && i < 16; i++)
            ready[run][i] = c.nodes[i].ready_us;
        ch_free(&c);
    }
    cr_assert_eq(n[0], n[1]);
    for (size_t i = 0; i < n[0] && i < 16; i++)
        cr_assert_eq(ready[0][i], ready[1][i]);
    bool differs = n[0] != n[2];
    for (size_t i = 0; !differs && i < n[0] && i < 16; i++)
        differs = ready[0][i] != ready[2][i];
    cr_assert(differs);
}

Test(cluster_karpenter, an_extra_initial_replica_gets_an_initial_node)
{
    /* The nodes made for fleet.replicas (1) are full; one more initial replica (as an
     * autoscaler's minimum might place) gets a node there at t = 0, Ready at once. */
    ch_setup(&c, "l40s", 1, NODEPOOL(XL_ONLY, "{consolidateAfter: Never}", LAUNCH_90));
    struct wl_request reqs[] = {h_req(10, 100, 2)};
    struct sim *s = ch_build(&c, reqs, 1, NULL, 0);
    struct sim_err err = {0};
    struct node *n = cluster_initial_node(s, s->deps[0], &err);
    cr_assert_not_null(n, "%s", err.msg);
    cr_assert_eq(n->id, 1);
    cr_assert_eq(n->state, NODE_READY);
    cr_assert_eq(n->ready_us, 0);
    ch_go(&c);
    ch_free(&c);
}

Test(cluster_karpenter, scale_in_empties_the_packed_node_first)
{
    /* g5.12xlarge (4 x A10G), TP 1. The run starts with pod 0 on node 0; 1 -> 5 at 10 s:
     * pods 1-3 bind to node 0's three free GPUs at once, pod 4 waits for node 1. 5 -> 4
     * at 1000 s, every pod Ready: pod 4 is the newest, but node 0 holds 4 active pods of
     * the ReplicaSet against node 1's one, so a pod of node 0 goes (ActivePodsWithRanks
     * rule 5, doubled up) and pod 4 stays. Newest-first would have left node 0 full and
     * node 1 with one pod. */
    ch_setup(&c, "a10g", 1,
             NODEPOOL(REQ "{key: node.kubernetes.io/instance-type, operator: In, "
                          "values: [g5.12xlarge]}\n",
                      "{consolidateAfter: Never}", LAUNCH_90));
    struct wl_request reqs[] = {h_req(1100, 100, 2)};
    struct change chg[] = {{10, 5}, {1000, 4}};
    ch_run(&c, reqs, 1, chg, 2);
    for (int32_t id = 0; id < 4; id++)
        cr_assert_eq(ch_pod(&c, id)->node_id, 0, "pod %d", id);
    cr_assert_eq(ch_pod(&c, 4)->node_id, 1);
    cr_assert_lt(S(ch_pod(&c, 4)->ready_us), 1000);
    cr_assert_null(ch_pod(&c, 4)->end_reason);
    int deleted = 0;
    for (int32_t id = 0; id < 4; id++)
        if (ch_pod(&c, id)->end_reason) {
            deleted++;
            cr_assert_float_eq(S(ch_pod(&c, id)->terminated_us), 1000, EPS);
        }
    cr_assert_eq(deleted, 1);
    ch_free(&c);
}

Test(cluster_karpenter, a_spot_notice_evicts_only_what_the_pdb_allows)
{
    /* As pods_still_running_at_the_end_of_the_notice_are_cut (grace 200 s, notice 120 s at
     * 300 s, a request on pod 0 from 290 s to 430 s) with a PDB minAvailable 2 over the two
     * replicas: disruptionsAllowed = 2 - 2 = 0, so the eviction of pod 0 is refused at
     * 300 s and at every retry (0.1 s doubling to 10 s). Pod 0 serves until the instance is
     * reclaimed at 420 s: it is deleted then (terminating and gone at 420 s), its request
     * is cut and retried, and only then does the ReplicaSet create the replacement pod 2. */
    ch_setup(&c, "l40s", 2,
             NODEPOOL(XL_ONLY SPOT_ONLY, "{consolidateAfter: Never}",
                      LAUNCH_90 "  spot:\n    interruptions: [{at: 300s}]\n"
                      "  podDisruptionBudget: {minAvailable: 2}\n"));
    c.sc.engine.termination.grace_period_us = 200000000;
    c.sc.engine.latency.decode_iteration_ms = 20;
    struct wl_request reqs[] = {h_req(290, 100, 7000), h_req(900, 100, 2)};
    ch_run(&c, reqs, 2, NULL, 0);
    cr_assert_float_eq(S(ch_pod(&c, 0)->terminating_us), 420, EPS);
    cr_assert_float_eq(S(ch_pod(&c, 0)->terminated_us), 420, EPS);
    cr_assert_float_eq(S(ch_node(&c, 0)->terminated_us), 420, EPS);
    cr_assert_float_eq(S(ch_pod(&c, 2)->created_us), 420, EPS);
    cr_assert_null(ch_pod(&c, 1)->end_reason);
    cr_assert_eq(c.out.rows[0].retries, 1);
    cr_assert_eq(c.out.rows[0].outcome, OUTCOME_OK);
    ch_free(&c);
}

Test(cluster_karpenter, a_spot_notice_evicts_at_once_when_the_pdb_allows)
{
    /* The same with maxUnavailable 1: pod 0 is evicted at 300 s (the replacement pod 2 is
     * created then) and gets the notice's 120 s as its grace: the request (to 430 s) is
     * cut at 420 s. */
    ch_setup(&c, "l40s", 2,
             NODEPOOL(XL_ONLY SPOT_ONLY, "{consolidateAfter: Never}",
                      LAUNCH_90 "  spot:\n    interruptions: [{at: 300s}]\n"
                      "  podDisruptionBudget: {maxUnavailable: 1}\n"));
    c.sc.engine.termination.grace_period_us = 200000000;
    c.sc.engine.latency.decode_iteration_ms = 20;
    struct wl_request reqs[] = {h_req(290, 100, 7000), h_req(900, 100, 2)};
    ch_run(&c, reqs, 2, NULL, 0);
    cr_assert_float_eq(S(ch_pod(&c, 0)->terminating_us), 300, EPS);
    cr_assert_float_eq(S(ch_pod(&c, 0)->terminated_us), 420, EPS);
    cr_assert_float_eq(S(ch_pod(&c, 2)->created_us), 300, EPS);
    cr_assert_eq(c.out.rows[0].retries, 1);
    ch_free(&c);
}

Test(cluster_karpenter, gpu_node_start_up_is_boot_then_driver_and_device_plugin)
{
    /* The split start-up: the NodeClaim requested at 11 s (batch window), launched at
     * 13 s, registered after a 50 s boot (63 s), GPUs allocatable 90 s later (153 s): the
     * pod binds then, pulls 12 GiB at 0.1 GiB/s (273 s), loads (278 s), initialises
     * (318 s). */
    ch_setup(&c, "l40s", 1,
             NODEPOOL(XL_ONLY, "{consolidateAfter: Never}",
                      "    request_to_launch: 2s\n    launch_to_registered: 50s\n"
                      "    registered_to_ready: 90s\n"));
    struct wl_request reqs[] = {h_req(500, 100, 2)};
    struct change chg[] = {{10, 2}};
    ch_run(&c, reqs, 1, chg, 1);
    const struct rec_node *n = ch_node(&c, 1);
    cr_assert_float_eq(S(n->launched_us), 13, EPS);
    cr_assert_float_eq(S(n->registered_us), 63, EPS);
    cr_assert_float_eq(S(n->ready_us), 153, EPS);
    const struct rec_pod *p = ch_pod(&c, 1);
    cr_assert_float_eq(S(p->scheduled_us), 153, EPS);
    cr_assert_float_eq(S(p->pulled_us), 273, EPS);
    cr_assert_float_eq(S(p->ready_us), 318, EPS);
    ch_free(&c);
}

Test(cluster_karpenter, do_not_disrupt_keeps_the_node_out_of_consolidation)
{
    /* As underutilized_node_is_replaced_by_a_cheaper_type, with the pods annotated
     * karpenter.sh/do-not-disrupt: "true": the g6e.12xlarge is never a candidate, no
     * replacement is launched. With "5m" instead, the protection ends 300 s after the
     * pods' start (0 s): the disruption pass at 300 s picks it, validation 15 s later
     * confirms it, and the replacement is requested at 315 s. */
    ch_setup(&c, "l40s", 3,
             NODEPOOL(L40S,
                      "{consolidationPolicy: WhenEmptyOrUnderutilized, consolidateAfter: 60s}",
                      LAUNCH_90));
    c.sc.fleet.pod.do_not_disrupt_us = -1;
    struct wl_request reqs[] = {h_req(600, 100, 2)};
    struct change chg[] = {{10, 1}};
    ch_run(&c, reqs, 1, chg, 1);
    cr_assert_eq(c.n_nodes, 1);
    cr_assert_eq(ch_node(&c, 0)->terminated_us, -1);
    ch_free(&c);

    ch_setup(&c, "l40s", 3,
             NODEPOOL(L40S,
                      "{consolidationPolicy: WhenEmptyOrUnderutilized, consolidateAfter: 60s}",
                      LAUNCH_90));
    c.sc.fleet.pod.do_not_disrupt_us = 300000000;
    ch_run(&c, reqs, 1, chg, 1);
    const struct rec_node *r = ch_node(&c, 1);
    cr_assert_float_eq(S(r->requested_us), 315, EPS);
    cr_assert_str_eq(ch_node(&c, 0)->end_reason, "consolidation-replaced");
    ch_free(&c);
}

Test(cluster_karpenter, a_scheduled_budget_blocks_disruption_within_its_window)
{
    /* As empty_node_is_consolidated_after_consolidate_after_and_validation, with t = 0 at
     * 2026-03-02T08:00:00Z and a second budget {nodes: 0, schedule: '0 8 * * *', duration:
     * 10m}: active while a hit lies in (t - 10 min, t], i.e. from 0 s to 599 s. The node is
     * consolidatable from 460 s but no disruption is allowed until the pass at 600 s; the
     * command is validated 15 s later: deleted at 615 s. */
    ch_setup(&c, "l40s", 1,
             "cluster:\n"
             "  cloud: aws\n"
             "  start_time: 2026-03-02T08:00:00Z\n"
             "  karpenter:\n"
             "    nodePool:\n"
             "      apiVersion: karpenter.sh/v1\n"
             "      kind: NodePool\n"
             "      spec:\n"
             "        template:\n"
             "          spec:\n"
             "            requirements:\n" XL_ONLY
             "        disruption:\n"
             "          consolidationPolicy: WhenEmpty\n"
             "          consolidateAfter: 60s\n"
             "          budgets:\n"
             "          - {nodes: '10%'}\n"
             "          - {nodes: '0', schedule: '0 8 * * *', duration: 10m}\n" LAUNCH_90);
    struct wl_request reqs[] = {h_req(700, 100, 2)};
    struct change chg[] = {{10, 2}, {400, 1}};
    ch_run(&c, reqs, 1, chg, 2);
    const struct rec_node *n = ch_node(&c, 1);
    cr_assert_float_eq(S(n->terminated_us), 615, EPS);
    cr_assert_str_eq(n->end_reason, "consolidation-empty");
    ch_free(&c);
}

/* Two NodePools: an on-demand floor (weight 100, at most 16 GPUs) and spot (weight 10),
 * listed spot first: the provisioner orders them by weight. */
#define P5 REQ "{key: node.kubernetes.io/instance-type, operator: In, values: [p5.48xlarge]}\n"
#define FLOOR_AND_SPOT(spot_disruption)                                                    \
    "cluster:\n"                                                                           \
    "  cloud: aws\n"                                                                       \
    "  karpenter:\n"                                                                       \
    "    nodePools:\n"                                                                     \
    "    - apiVersion: karpenter.sh/v1\n"                                                  \
    "      kind: NodePool\n"                                                               \
    "      metadata: {name: spot}\n"                                                       \
    "      spec:\n"                                                                        \
    "        weight: 10\n"                                                                 \
    "        template:\n"                                                                  \
    "          spec:\n"                                                                    \
    "            requirements:\n" P5 SPOT_ONLY "        disruption: " spot_disruption "\n"  \
    "    - apiVersion: karpenter.sh/v1\n"                                                  \
    "      kind: NodePool\n"                                                               \
    "      metadata: {name: on-demand}\n"                                                  \
    "      spec:\n"                                                                        \
    "        weight: 100\n"                                                                \
    "        template:\n"                                                                  \
    "          spec:\n"                                                                    \
    "            requirements:\n" P5 "        disruption: {consolidateAfter: Never}\n"     \
    "        limits: {nvidia.com/gpu: 16}\n" LAUNCH_90

Test(cluster_karpenter, the_heavier_nodepool_is_used_up_to_its_limits_then_the_next)
{
    /* TP 8: one replica per p5.48xlarge (8 H100s). Three initial replicas: the first two
     * NodeClaims come from the on-demand pool (weight 100): 8 + 8 = 16 GPUs, its limit;
     * the third does not fit its remaining 0 GPUs (filterByRemainingResources) and comes
     * from the spot pool, in its cheapest zone ($17.6289/h against $55.04/h on-demand).
     * Scale 3 -> 5 at 10 s: the batch closes at 11 s, the on-demand pool is full, both new
     * NodeClaims are spot, requested at 11 s and Ready at 101 s. */
    ch_setup(&c, "h100-sxm-80gb", 3, FLOOR_AND_SPOT("{consolidateAfter: Never}"));
    c.sc.engine.tensor_parallel_size = 8;
    struct wl_request reqs[] = {h_req(400, 100, 2)};
    struct change chg[] = {{10, 5}};
    ch_run(&c, reqs, 1, chg, 1);
    cr_assert_eq(c.n_nodes, 5);
    for (int32_t id = 0; id < 5; id++) {
        const struct rec_node *n = ch_node(&c, id);
        cr_assert_str_eq(n->instance_type, "p5.48xlarge");
        cr_assert_str_eq(n->capacity_type, id < 2 ? "on-demand" : "spot", "node %d", id);
        cr_assert_float_eq(n->price_usd_per_hour, id < 2 ? 55.04 : 17.6289, 1e-9);
        cr_assert_float_eq(S(n->requested_us), id < 3 ? 0 : 11, EPS);
    }
    cr_assert_float_eq(S(ch_node(&c, 4)->ready_us), 101, EPS);
    cr_assert_eq(ch_pod(&c, 3)->node_id, 3);
    cr_assert_eq(ch_pod(&c, 4)->node_id, 4);
    ch_free(&c);
}

Test(cluster_karpenter, each_nodepool_consolidates_by_its_own_disruption_settings)
{
    /* As above, then 5 -> 3 at 300 s: the ReplicaSet deletes the two pods Ready most
     * recently (pods 3 and 4, Ready at 101 + 165 = 266 s), idle, gone at once. Their spot
     * nodes are empty from 300 s; the spot pool (WhenEmpty, consolidateAfter 60 s, budget
     * 100%) deletes both at the pass at 360 s after the 15 s validation: 375 s. The
     * on-demand pool's consolidateAfter: Never keeps its nodes whatever happens. */
    ch_setup(&c, "h100-sxm-80gb", 3,
             FLOOR_AND_SPOT("{consolidationPolicy: WhenEmpty, consolidateAfter: 60s, "
                            "budgets: [{nodes: '100%'}]}"));
    c.sc.engine.tensor_parallel_size = 8;
    struct wl_request reqs[] = {h_req(500, 100, 2)};
    struct change chg[] = {{10, 5}, {300, 3}};
    ch_run(&c, reqs, 1, chg, 2);
    cr_assert_eq(c.n_nodes, 5);
    for (int32_t id = 3; id < 5; id++) {
        cr_assert_float_eq(S(ch_node(&c, id)->terminated_us), 375, EPS, "node %d", id);
        cr_assert_str_eq(ch_node(&c, id)->end_reason, "consolidation-empty");
    }
    for (int32_t id = 0; id < 3; id++)
        cr_assert_eq(ch_node(&c, id)->terminated_us, -1, "node %d", id);
    ch_free(&c);
}

Test(cluster_karpenter, a_pool_out_of_capacity_leaves_its_pods_to_the_next_pool)
{
    /* Spot first this time: a spot pool (weight 100) and an on-demand pool (weight 10),
     * p5.48xlarge has no spot capacity. Scale 1 -> 2 at 10 s: the batch closes at 11 s,
     * the NodeClaim comes from the spot pool, every spot offering fails and is cached for
     * 3 min, and the spot-only pool has no on-demand to fall back to. The pod is retried
     * 10 s later (21 s), the window closes at 22 s and the on-demand pool, the first with
     * an available offering now, launches it. */
    ch_setup(&c, "h100-sxm-80gb", 1,
             "cluster:\n"
             "  cloud: aws\n"
             "  karpenter:\n"
             "    nodePools:\n"
             "    - apiVersion: karpenter.sh/v1\n"
             "      kind: NodePool\n"
             "      metadata: {name: spot}\n"
             "      spec:\n"
             "        weight: 100\n"
             "        template:\n"
             "          spec:\n"
             "            requirements:\n" P5 SPOT_ONLY
             "        disruption: {consolidateAfter: Never}\n"
             "    - apiVersion: karpenter.sh/v1\n"
             "      kind: NodePool\n"
             "      metadata: {name: on-demand}\n"
             "      spec:\n"
             "        weight: 10\n"
             "        template:\n"
             "          spec:\n"
             "            requirements:\n" P5 "        disruption: {consolidateAfter: Never}\n"
             LAUNCH_90
             "  insufficient_capacity:\n"
             "    offerings: [{instance_type: p5.48xlarge, capacity_type: spot, from: 5s}]\n");
    c.sc.engine.tensor_parallel_size = 8;
    struct wl_request reqs[] = {h_req(400, 100, 2)};
    struct change chg[] = {{10, 2}};
    ch_run(&c, reqs, 1, chg, 1);
    cr_assert_eq(c.n_nodes, 2);
    cr_assert_str_eq(ch_node(&c, 0)->capacity_type, "spot"); /* initial: no error at t = 0 */
    const struct rec_node *n = ch_node(&c, 1);
    cr_assert_str_eq(n->capacity_type, "on-demand");
    cr_assert_float_eq(S(n->requested_us), 22, EPS);
    cr_assert_gt(sim_result(c.s)->cost.n_ice_errors, 0);
    ch_free(&c);
}
