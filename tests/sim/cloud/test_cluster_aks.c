/* The cluster autoscaler as AKS runs it, against hand-computed timelines: the 30 s wait
 * for GPU pods and the scan interval before a scale-up, scale-down only after the
 * unneeded time and not within scale-down-delay-after-add, expanders, failed and slow
 * nodes with group backoff, and a spot eviction. Scans run at 0, 10, 20, ... s; start-up
 * phases as in test_fleet.c (165 s from scheduling to Ready on a new node). */
#include "test_cluster_harness.h"

#define EPS 1e-9

#define AKS(profile, pools, extra)                                                         \
    "cluster:\n"                                                                           \
    "  cloud: azure\n"                                                                     \
    "  aks:\n"                                                                             \
    "    autoscalerProfile: " profile "\n"                                                 \
    "    nodePools:\n" pools "    provision_to_ready: 5m\n" extra

#define GPU_POOL                                                                           \
    "    - {name: gpu, vmSize: Standard_NC24ads_A100_v4, minCount: 1, maxCount: 4, count: 1}\n"

static struct ch c;

Test(cluster_aks, gpu_pods_wait_30_s_then_the_next_scan_scales_up)
{
    /* Two pods pending from 100 s. The scans at 100, 110 and 120 s wait (the oldest GPU
     * pod is younger than 30 s: allPodsAreNew); the scan at 130 s adds 2 nodes (one A100
     * each), Ready after provision_to_ready 5 m (430 s); pods Ready 165 s later (595 s). */
    ch_setup(&c, "a100-pcie-80gb", 1, AKS("{scan-interval: 10s}", GPU_POOL, ""));
    struct wl_request reqs[] = {h_req(800, 100, 2)};
    struct change chg[] = {{100, 3}};
    ch_run(&c, reqs, 1, chg, 1);
    for (int32_t id = 1; id <= 2; id++) {
        const struct rec_node *n = ch_node(&c, id);
        cr_assert_str_eq(n->instance_type, "Standard_NC24ads_A100_v4");
        cr_assert_float_eq(S(n->requested_us), 130, EPS);
        cr_assert_float_eq(S(n->ready_us), 430, EPS);
    }
    cr_assert_float_eq(S(ch_pod(&c, 1)->ready_us), 595, EPS);
    cr_assert_float_eq(S(ch_pod(&c, 2)->ready_us), 595, EPS);
    ch_free(&c);
}

Test(cluster_aks, pool_scales_down_only_after_the_unneeded_time)
{
    /* As above; at 700 s the Deployment goes back to 1 and the two new pods go: their
     * nodes are empty (GPU utilization 0 < 0.5) from the scan at 700 s. With
     * scale-down-unneeded-time 10m they are deleted at the scan at 1300 s, together
     * (empty nodes in bulk), not before; node 0 (utilization 1) stays. */
    ch_setup(&c, "a100-pcie-80gb", 1,
             AKS("{scan-interval: 10s, scale-down-unneeded-time: 10m}", GPU_POOL, ""));
    struct wl_request reqs[] = {h_req(1400, 100, 2)};
    struct change chg[] = {{100, 3}, {700, 1}};
    ch_run(&c, reqs, 1, chg, 2);
    for (int32_t id = 1; id <= 2; id++) {
        const struct rec_node *n = ch_node(&c, id);
        cr_assert_float_eq(S(n->terminated_us), 1300, EPS, "node %d", id);
        cr_assert_str_eq(n->end_reason, "scale-down");
    }
    cr_assert_eq(ch_node(&c, 0)->terminated_us, -1);
    ch_free(&c);
}

Test(cluster_aks, no_scale_down_within_delay_after_add)
{
    /* scale-down-unneeded-time 1m: the scale-in at 460 s leaves nodes 1 and 2 empty (their
     * pods were still pulling), unneeded from 460 s and deletable from 520 s, but the
     * scale-up at 130 s holds every scale-down until 130 + 10 m = 730 s. */
    ch_setup(&c, "a100-pcie-80gb", 1,
             AKS("{scale-down-unneeded-time: 1m, scale-down-delay-after-add: 10m}", GPU_POOL,
                 ""));
    struct wl_request reqs[] = {h_req(900, 100, 2)};
    struct change chg[] = {{100, 3}, {460, 1}};
    ch_run(&c, reqs, 1, chg, 2);
    cr_assert_float_eq(S(ch_node(&c, 1)->terminated_us), 730, EPS);
    cr_assert_float_eq(S(ch_node(&c, 2)->terminated_us), 730, EPS);
    ch_free(&c);
}

Test(cluster_aks, scale_down_respects_min_count)
{
    /* minCount 2, count 3, one replica: the two idle nodes are unneeded from 0 s; at the
     * scan at 600 s only one may go (the pool would fall below 2). */
    ch_setup(&c, "a100-pcie-80gb", 1,
             AKS("{}",
                 "    - {name: gpu, vmSize: Standard_NC24ads_A100_v4, minCount: 2, maxCount: 4, "
                 "count: 3}\n",
                 ""));
    struct wl_request reqs[] = {h_req(900, 100, 2)};
    ch_run(&c, reqs, 1, NULL, 0);
    int gone = 0;
    for (size_t i = 0; i < c.n_nodes; i++)
        if (c.nodes[i].terminated_us >= 0) {
            gone++;
            cr_assert_float_eq(S(c.nodes[i].terminated_us), 600, EPS);
        }
    cr_assert_eq(gone, 1);
    ch_free(&c);
}

#define TWO_POOLS                                                                          \
    "    - {name: gpua, vmSize: Standard_NC24ads_A100_v4, minCount: 0, maxCount: 4, count: 1}\n" \
    "    - {name: gpub, vmSize: Standard_NC48ads_A100_v4, minCount: 0, maxCount: 4, count: 0}\n"

Test(cluster_aks, least_waste_picks_the_pool_with_fewest_idle_gpus)
{
    /* One pending pod: a 1-GPU node wastes nothing, a 2-GPU node half of itself. */
    ch_setup(&c, "a100-pcie-80gb", 1, AKS("{expander: least-waste}", TWO_POOLS, ""));
    struct wl_request reqs[] = {h_req(500, 100, 2)};
    struct change chg[] = {{10, 2}};
    ch_run(&c, reqs, 1, chg, 1);
    cr_assert_str_eq(ch_node(&c, 1)->instance_type, "Standard_NC24ads_A100_v4");
    ch_free(&c);
}

Test(cluster_aks, priority_expander_takes_the_highest_matching_pool)
{
    /* priorities: 10 for '.*', 50 for 'b$': gpub wins. */
    ch_setup(&c, "a100-pcie-80gb", 1,
             AKS("{expander: priority}", TWO_POOLS,
                 "    priorityExpander: {10: ['.*'], 50: ['b$']}\n"));
    struct wl_request reqs[] = {h_req(500, 100, 2)};
    struct change chg[] = {{10, 2}};
    ch_run(&c, reqs, 1, chg, 1);
    cr_assert_str_eq(ch_node(&c, 1)->instance_type, "Standard_NC48ads_A100_v4");
    ch_free(&c);
}

Test(cluster_aks, price_expander_prefers_the_spot_pool)
{
    /* Same VM size, Regular at $3.673/h against Spot at $0.444433/h. */
    ch_setup(&c, "a100-pcie-80gb", 1,
             AKS("{expander: price}",
                 "    - {name: od, vmSize: Standard_NC24ads_A100_v4, minCount: 0, maxCount: 4, "
                 "count: 1}\n"
                 "    - {name: spot, vmSize: Standard_NC24ads_A100_v4, minCount: 0, maxCount: 4, "
                 "count: 0, priority: Spot}\n",
                 ""));
    ch_tolerate_spot(&c);
    struct wl_request reqs[] = {h_req(500, 100, 2)};
    struct change chg[] = {{10, 2}};
    ch_run(&c, reqs, 1, chg, 1);
    cr_assert_str_eq(ch_node(&c, 1)->capacity_type, "spot");
    cr_assert_float_eq(ch_node(&c, 1)->price_usd_per_hour, 0.444433, EPS);
    ch_free(&c);
}

Test(cluster_aks, failed_spot_allocation_backs_off_and_falls_back_to_regular)
{
    /* The priority expander prefers the spot pool, which has no capacity: the node asked
     * for at 40 s (pod pending since 10 s) fails; the scan at 50 s removes it and backs the
     * group off, and scales the regular pool at once. */
    ch_setup(&c, "a100-pcie-80gb", 1,
             AKS("{expander: priority}",
                 "    - {name: od, vmSize: Standard_NC24ads_A100_v4, minCount: 0, maxCount: 4, "
                 "count: 1}\n"
                 "    - {name: spot, vmSize: Standard_NC24ads_A100_v4, minCount: 0, maxCount: 4, "
                 "count: 0, priority: Spot}\n",
                 "    priorityExpander: {10: [od], 50: [spot]}\n"
                 "  insufficient_capacity:\n"
                 "    offerings: [{instance_type: Standard_NC24ads_A100_v4, "
                 "capacity_type: spot}]\n"));
    ch_tolerate_spot(&c);
    struct wl_request reqs[] = {h_req(600, 100, 2)};
    struct change chg[] = {{10, 2}};
    ch_run(&c, reqs, 1, chg, 1);
    const struct rec_node *f = ch_node(&c, 1);
    cr_assert_str_eq(f->capacity_type, "spot");
    cr_assert_float_eq(S(f->requested_us), 40, EPS);
    cr_assert_float_eq(S(f->terminated_us), 50, EPS);
    cr_assert_str_eq(f->end_reason, "insufficient-capacity");
    cr_assert_eq(f->launched_us, -1);
    cr_assert_float_eq(f->cost_usd, 0.0, EPS);
    const struct rec_node *o = ch_node(&c, 2);
    cr_assert_str_eq(o->capacity_type, "on-demand");
    cr_assert_float_eq(S(o->requested_us), 50, EPS);
    ch_free(&c);
}

Test(cluster_aks, node_that_never_registers_is_removed_after_max_node_provision_time)
{
    /* provision_to_ready 20m > max-node-provision-time 15m: the node asked for at 130 s
     * never registers; the first scan after 130 + 900 = 1030 s (1040 s) removes it and backs
     * the group off 5 m; the next scale-up is at 1340 s. */
    ch_setup(&c, "a100-pcie-80gb", 1,
             "cluster:\n"
             "  cloud: azure\n"
             "  aks:\n"
             "    nodePools:\n" GPU_POOL "    provision_to_ready: 20m\n");
    struct wl_request reqs[] = {h_req(1400, 100, 2)};
    struct change chg[] = {{100, 2}};
    ch_run(&c, reqs, 1, chg, 1);
    const struct rec_node *n = ch_node(&c, 1);
    cr_assert_float_eq(S(n->requested_us), 130, EPS);
    cr_assert_float_eq(S(n->terminated_us), 1040, EPS);
    cr_assert_str_eq(n->end_reason, "max-node-provision-time");
    cr_assert_eq(n->registered_us, -1);
    cr_assert_float_eq(S(ch_node(&c, 2)->requested_us), 1340, EPS);
    ch_free(&c);
}

Test(cluster_aks, spot_eviction_kills_the_node_after_30_s_and_the_scan_replaces_it)
{
    /* Two replicas on a spot pool (count 2). The eviction notice for node 0 comes at 300 s
     * (scripted): its idle pod goes at once, the replacement pod is created; Azure deletes
     * the VM at the end of the 30 s notice (330 s). The replacement pod is 30 s old at the
     * scan at 330 s: a node is requested then, Ready at 630 s; the pod at 795 s. */
    ch_setup(&c, "a100-pcie-80gb", 2,
             AKS("{}",
                 "    - {name: spot, vmSize: Standard_NC24ads_A100_v4, minCount: 1, maxCount: 4, "
                 "count: 2, priority: Spot, evictionPolicy: Delete, spotMaxPrice: -1}\n",
                 "  spot:\n    interruptions: [{at: 300s}]\n"));
    ch_tolerate_spot(&c);
    struct wl_request reqs[] = {h_req(900, 100, 2)};
    ch_run(&c, reqs, 1, NULL, 0);
    const struct rec_node *n0 = ch_node(&c, 0);
    cr_assert_float_eq(S(n0->terminated_us), 330, EPS);
    cr_assert_str_eq(n0->end_reason, "spot-interruption");
    cr_assert_float_eq(S(ch_pod(&c, 0)->terminated_us), 300, EPS);
    const struct rec_node *n2 = ch_node(&c, 2);
    cr_assert_float_eq(S(n2->requested_us), 330, EPS);
    cr_assert_float_eq(S(ch_pod(&c, 2)->ready_us), 795, EPS);
    ch_free(&c);
}

Test(cluster_aks, spot_max_price_below_the_price_fails_the_allocation)
{
    /* spotMaxPrice 0.1 < $0.444433/h: the spot node cannot be allocated. */
    ch_setup(&c, "a100-pcie-80gb", 1,
             AKS("{}",
                 "    - {name: od, vmSize: Standard_NC24ads_A100_v4, count: 1}\n"
                 "    - {name: spot, vmSize: Standard_NC24ads_A100_v4, minCount: 0, maxCount: 4, "
                 "count: 0, priority: Spot, spotMaxPrice: 0.1}\n",
                 ""));
    ch_tolerate_spot(&c);
    struct wl_request reqs[] = {h_req(300, 100, 2)};
    struct change chg[] = {{10, 2}};
    ch_run(&c, reqs, 1, chg, 1);
    cr_assert_str_eq(ch_node(&c, 1)->end_reason, "insufficient-capacity");
    cr_assert_eq(ch_pod(&c, 1)->node_id, -1); /* the od pool does not autoscale */
    ch_free(&c);
}

Test(cluster_aks, a_pdb_keeps_the_pod_on_an_evicted_spot_vm_until_azure_deletes_it)
{
    /* As spot_eviction_kills_the_node_after_30_s_and_the_scan_replaces_it with a PDB
     * minAvailable 2: node auto-drain cannot evict pod 0 (0 disruptions allowed), so it
     * serves until the VM is deleted at 330 s; the replacement pod 2 is created then, not
     * at 300 s, and the scale-up waits for it to be 30 s old. */
    ch_setup(&c, "a100-pcie-80gb", 2,
             AKS("{}",
                 "    - {name: spot, vmSize: Standard_NC24ads_A100_v4, minCount: 1, maxCount: 4, "
                 "count: 2, priority: Spot, evictionPolicy: Delete, spotMaxPrice: -1}\n",
                 "  spot:\n    interruptions: [{at: 300s}]\n"
                 "  podDisruptionBudget: {minAvailable: 2}\n"));
    ch_tolerate_spot(&c);
    struct wl_request reqs[] = {h_req(900, 100, 2)};
    ch_run(&c, reqs, 1, NULL, 0);
    cr_assert_float_eq(S(ch_node(&c, 0)->terminated_us), 330, EPS);
    cr_assert_float_eq(S(ch_pod(&c, 0)->terminating_us), 330, EPS);
    cr_assert_float_eq(S(ch_pod(&c, 0)->terminated_us), 330, EPS);
    cr_assert_float_eq(S(ch_pod(&c, 2)->created_us), 330, EPS);
    cr_assert_gt(S(ch_node(&c, 2)->requested_us), 330 + 29);
    ch_free(&c);
}

#define BIG_POOL                                                                           \
    "    - {name: gpu, vmSize: Standard_NC96ads_A100_v4, minCount: 1, maxCount: 4, count: 1}\n"

/* One replica on a 4-GPU node; 1 -> 5 at 100 s fills node 0 and scales up node 1 for the
 * fifth pod; 5 -> 2 at 700 s deletes three pods of node 0 (doubled up): nodes 0 and 1
 * hold one pod each, utilization 0.25. Node 0's pod fits on node 1: node 0 is unneeded. */
static void two_quarter_full_nodes(void)
{
    ch_setup(&c, "a100-pcie-80gb", 1,
             AKS("{scan-interval: 10s, scale-down-unneeded-time: 10m}", BIG_POOL, ""));
}

static int scaled_down(void)
{
    int n = 0;
    for (size_t i = 0; i < c.n_nodes; i++)
        n += c.nodes[i].end_reason && !strcmp(c.nodes[i].end_reason, "scale-down");
    return n;
}

Test(cluster_aks, local_storage_blocks_scale_down_unless_safe_to_evict)
{
    static const struct wl_request reqs[] = {{.arrival_us = 3000000000LL, .prompt_tokens = 100,
                                              .output_tokens = 2}};
    static const struct change chg[] = {{100, 5}, {700, 2}};
    /* No local storage: one node is drained and removed. */
    two_quarter_full_nodes();
    ch_run(&c, reqs, 1, chg, 2);
    cr_assert_eq(scaled_down(), 1);
    ch_free(&c);
    /* A disk emptyDir model cache, skip-nodes-with-local-storage true (default): no
     * scale-down for the rest of the run. */
    two_quarter_full_nodes();
    c.sc.fleet.pod.local_storage = true;
    ch_run(&c, reqs, 1, chg, 2);
    cr_assert_eq(scaled_down(), 0);
    ch_free(&c);
    /* The same pods annotated safe-to-evict "true": drained again. */
    two_quarter_full_nodes();
    c.sc.fleet.pod.local_storage = true;
    c.sc.fleet.pod.safe_to_evict = 1;
    ch_run(&c, reqs, 1, chg, 2);
    cr_assert_eq(scaled_down(), 1);
    ch_free(&c);
}

Test(cluster_aks, an_on_demand_floor_then_spot_with_the_priority_expander)
{
    /* The cluster autoscaler's counterpart of Karpenter's weighted NodePools: a Regular
     * pool of at most 2 nodes preferred by the priority expander (100), a Spot pool (10)
     * for the rest; 8-GPU A100 nodes, TP 8 (one replica per node). The initial replica's
     * node goes to the first pool (od, node 0). Scale 1 -> 5 at 10 s: the scan at 40 s
     * (the pods are 30 s old) grows od by the one node its maxCount leaves (node 1); the
     * scan at 50 s finds 3 pods node 1 will not take, od at its maxCount, and grows the
     * spot pool by 3 (nodes 2-4): 2 nodes on-demand at $32.77/h, 3 spot at $3.6047/h. */
    ch_setup(&c, "a100-sxm-80gb", 1,
             AKS("{expander: priority}",
                 "    - {name: od, vmSize: Standard_ND96amsr_A100_v4, minCount: 0, maxCount: 2, "
                 "count: 0}\n"
                 "    - {name: spot, vmSize: Standard_ND96amsr_A100_v4, minCount: 0, "
                 "maxCount: 8, count: 0, priority: Spot}\n",
                 "    priorityExpander: {100: [od], 10: [spot]}\n"));
    ch_tolerate_spot(&c);
    c.sc.engine.tensor_parallel_size = 8;
    struct wl_request reqs[] = {h_req(900, 100, 2)};
    struct change chg[] = {{10, 5}};
    ch_run(&c, reqs, 1, chg, 1);
    cr_assert_eq(c.n_nodes, 5);
    static const double requested[] = {0, 40, 50, 50, 50};
    for (int32_t id = 0; id < 5; id++) {
        const struct rec_node *n = ch_node(&c, id);
        cr_assert_str_eq(n->capacity_type, id < 2 ? "on-demand" : "spot", "node %d", id);
        cr_assert_float_eq(n->price_usd_per_hour, id < 2 ? 32.77 : 3.6047, EPS);
        cr_assert_float_eq(S(n->requested_us), requested[id], EPS, "node %d", id);
    }
    ch_free(&c);
}
