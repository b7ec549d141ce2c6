/* The kube-scheduler model in the cluster, counted by hand: the default profile spreads a
 * Deployment's pods over the nodes (PodTopologySpread's system defaults), bin-packing
 * fills the fuller node first (MostAllocated on nvidia.com/gpu); taints, tolerations and
 * node selectors decide which Karpenter offerings and AKS pools the provisioners use. */
#include "test_cluster_harness.h"

#include "sim/config/nodepool.h"

/* Two p5.48xlarge (8 x H100, 192 vCPU, 2048 GiB) for 5 replicas of 2 GPUs: Karpenter's
 * packing opens a NodeClaim of 4 pods and one of 1 (kp_pack). Images pre-pulled, so
 * ImageLocality ties; consolidation off. */
#define P5(scheduler)                                                                      \
    "cluster:\n"                                                                           \
    "  cloud: aws\n" scheduler "  karpenter:\n"                                            \
    "    nodePool:\n"                                                                      \
    "      apiVersion: karpenter.sh/v1\n"                                                  \
    "      kind: NodePool\n"                                                               \
    "      metadata: {name: gpu}\n"                                                        \
    "      spec:\n"                                                                        \
    "        template:\n"                                                                  \
    "          spec:\n"                                                                    \
    "            requirements:\n"                                                          \
    "            - {key: node.kubernetes.io/instance-type, operator: In, values: "        \
    "[p5.48xlarge]}\n"                                                                     \
    "            taints: [{key: nvidia.com/gpu, effect: NoSchedule}]\n"                    \
    "        disruption: {consolidateAfter: Never}\n"                                      \
    "    launch_to_ready: 90s\n"

static struct ch c;

/* Pods per node id at the end (pods still alive). */
static void per_node(int32_t *count, int32_t n)
{
    memset(count, 0, sizeof *count * (size_t)n);
    for (size_t i = 0; i < c.out.n_pods; i++) {
        const struct rec_pod *p = &c.out.pods[i];
        if (p->terminated_us < 0 && p->node_id >= 0 && p->node_id < n)
            count[p->node_id]++;
    }
}

static void setup_p5(const char *yaml)
{
    ch_setup(&c, "h100-sxm-80gb", 5, yaml);
    c.sc.engine.tensor_parallel_size = 2;
    c.sc.engine.startup.image_prepulled = true;
}

Test(cluster_scheduler, default_profile_spreads_bin_packing_fills_the_fuller_node)
{
    /* Default profile, the 5 initial pods in turn (NodeResourcesFit LeastAllocated on cpu
     * and memory: (192000 - 100 k) * 100 / 192000 and the memory term are 99 for any
     * k <= 19, a tie; TaintToleration 100 on both (the EKS ExtendedResourceToleration
     * tolerates nvidia.com/gpu); ImageLocality ties): PodTopologySpread decides. Pod 0:
     * tie, either node. Pod 1: the empty node (raw 2 + 4 + zone against 3 + 4 + zone). Pod
     * 2: tie at one each. Pod 3: the node with one. Pod 4: tie. So 3 and 2 whatever the
     * draws. At 30 s a 6th pod: the node with 2, giving 3 and 3. */
    setup_p5(P5(""));
    struct wl_request reqs[] = {h_req(60, 100, 2)};
    struct change chg[] = {{30, 6}};
    ch_run(&c, reqs, 1, chg, 1);
    int32_t k[2];
    per_node(k, 2);
    cr_assert_eq(c.n_nodes, 2);
    cr_assert(k[0] == 3 && k[1] == 3, "pods per node: %d %d", k[0], k[1]);
    ch_free(&c);

    /* Bin-packing: MostAllocated over cpu 1, memory 1, nvidia.com/gpu 3, spread defaults
     * off. Pod 0: tie. Pod 1 on pod 0's node: GPU (2 + 2) * 100 / 8 = 50 -> (0 + 0 + 150) /
     * 5 = 30 against 2 * 100 / 8 = 25 -> 15 (cpu 200 * 100 / 192000 = 0, memory 0). Pods 2
     * and 3 too (45 and 60 against 15): that node is full. Pod 4 on the other. At 30 s the
     * 6th pod can only go to the other node: 4 and 2. */
    setup_p5(P5("  scheduler: {profile: bin-packing}\n"));
    ch_run(&c, reqs, 1, chg, 1);
    per_node(k, 2);
    cr_assert(k[0] == 4 ? k[1] == 2 : k[0] == 2 && k[1] == 4, "pods per node: %d %d", k[0],
              k[1]);
    /* The first four pods share a node. */
    int32_t first = ch_pod(&c, 0)->node_id;
    for (int32_t i = 1; i < 4; i++)
        cr_assert_eq(ch_pod(&c, i)->node_id, first, "pod %d", i);
    cr_assert_neq(ch_pod(&c, 4)->node_id, first);
    ch_free(&c);
}

Test(cluster_scheduler, kube_scheduler_configuration_pasted)
{
    /* The same bin-packing written as a KubeSchedulerConfiguration: MostAllocated over the
     * GPU alone, PodTopologySpread's defaults listed empty. Same count: 4 and 2. */
    setup_p5(P5("  scheduler:\n"
                "    configuration:\n"
                "      apiVersion: kubescheduler.config.k8s.io/v1\n"
                "      kind: KubeSchedulerConfiguration\n"
                "      profiles:\n"
                "      - schedulerName: default-scheduler\n"
                "        pluginConfig:\n"
                "        - name: NodeResourcesFit\n"
                "          args:\n"
                "            scoringStrategy:\n"
                "              type: MostAllocated\n"
                "              resources: [{name: nvidia.com/gpu, weight: 1}]\n"
                "        - name: PodTopologySpread\n"
                "          args: {defaultingType: List, defaultConstraints: []}\n"));
    struct wl_request reqs[] = {h_req(60, 100, 2)};
    struct change chg[] = {{30, 6}};
    ch_run(&c, reqs, 1, chg, 1);
    int32_t k[2];
    per_node(k, 2);
    cr_assert(k[0] == 4 ? k[1] == 2 : k[0] == 2 && k[1] == 4, "pods per node: %d %d", k[0],
              k[1]);
    ch_free(&c);
}

Test(cluster_scheduler, node_selector_narrows_karpenter_to_the_offerings_that_match)
{
    /* The NodePool allows spot and on-demand (spot preferred when allowed); the pods select
     * on-demand: Karpenter launches on-demand for them. */
    ch_setup(&c, "l40s", 1,
             "cluster:\n"
             "  cloud: aws\n"
             "  karpenter:\n"
             "    nodePool:\n"
             "      apiVersion: karpenter.sh/v1\n"
             "      kind: NodePool\n"
             "      spec:\n"
             "        template:\n"
             "          spec:\n"
             "            requirements:\n"
             "            - {key: node.kubernetes.io/instance-type, operator: In, values: "
             "[g6e.xlarge]}\n"
             "            - {key: karpenter.sh/capacity-type, operator: In, values: [spot, "
             "on-demand]}\n"
             "        disruption: {consolidateAfter: Never}\n"
             "    launch_to_ready: 90s\n");
    struct sched_pod *p = &c.sc.fleet.pod.sched;
    p->node_selector[p->n_node_selector++] =
        (struct sched_label){"karpenter.sh/capacity-type", "on-demand"};
    struct wl_request reqs[] = {h_req(300, 100, 2)};
    struct change chg[] = {{10, 2}};
    ch_run(&c, reqs, 1, chg, 1);
    for (int32_t id = 0; id < 2; id++)
        cr_assert_str_eq(ch_node(&c, id)->capacity_type, "on-demand", "node %d", id);
    ch_free(&c);
}

/* AKS: a Spot pool (cheaper, the price expander's choice) and a Regular one. */
#define AKS_TWO                                                                            \
    "cluster:\n"                                                                           \
    "  cloud: azure\n"                                                                     \
    "  aks:\n"                                                                             \
    "    autoscalerProfile: {expander: price}\n"                                           \
    "    nodePools:\n"                                                                     \
    "    - {name: od, vmSize: Standard_NC24ads_A100_v4, minCount: 1, maxCount: 4, count: 1}\n" \
    "    - {name: spot, vmSize: Standard_NC24ads_A100_v4, minCount: 0, maxCount: 4, "        \
    "count: 0, priority: Spot}\n"                                                          \
    "    provision_to_ready: 5m\n"

Test(cluster_scheduler, aks_spot_pool_only_for_pods_that_tolerate_its_taint)
{
    /* Without the toleration the spot pool's nodes (kubernetes.azure.com/scalesetpriority=
     * spot:NoSchedule) cannot take the pods: the cluster autoscaler scales the regular pool
     * although the price expander would pick spot. */
    ch_setup(&c, "a100-pcie-80gb", 1, AKS_TWO);
    struct wl_request reqs[] = {h_req(600, 100, 2)};
    struct change chg[] = {{100, 2}};
    ch_run(&c, reqs, 1, chg, 1);
    cr_assert_str_eq(ch_node(&c, 1)->capacity_type, "on-demand");
    ch_free(&c);
    /* With it, spot. */
    ch_setup(&c, "a100-pcie-80gb", 1, AKS_TWO);
    ch_tolerate_spot(&c);
    ch_run(&c, reqs, 1, chg, 1);
    cr_assert_str_eq(ch_node(&c, 1)->capacity_type, "spot");
    ch_free(&c);
}

Test(cluster_scheduler, a_pod_no_pool_can_take_is_a_load_error)
{
    /* The pods select spot; the only pool is regular. */
    ch_setup(&c, "a100-pcie-80gb", 1,
             "cluster:\n"
             "  cloud: azure\n"
             "  aks:\n"
             "    nodePools:\n"
             "    - {name: od, vmSize: Standard_NC24ads_A100_v4, minCount: 1, maxCount: 4, "
             "count: 1, nodeTaints: ['sku=gpu:NoSchedule']}\n");
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(nodepool_cfg_load(&cfg, &c.sc, c.cat, &err), SIM_EINVAL);
    cr_assert(strstr(err.msg, "taint sku=gpu:NoSchedule is not tolerated"), "%s", err.msg);
    /* Tolerated (Exists on the key): loads. */
    struct sched_pod *p = &c.sc.fleet.pod.sched;
    p->tolerations[p->n_tolerations++] =
        (struct sched_toleration){"sku", NULL, true, SCHED_EFFECT_ANY};
    cr_assert_eq(nodepool_cfg_load(&cfg, &c.sc, c.cat, &err), SIM_OK, "%s", err.msg);
    nodepool_cfg_release(&cfg);
    /* A selector no node matches names the label and what the pool has. */
    p->node_selector[p->n_node_selector++] =
        (struct sched_label){"kubernetes.azure.com/scalesetpriority", "spot"};
    cr_assert_eq(nodepool_cfg_load(&cfg, &c.sc, c.cat, &err), SIM_EINVAL);
    cr_assert(strstr(err.msg, "'kubernetes.azure.com/scalesetpriority: spot' matches no node"),
              "%s", err.msg);
    ch_free(&c);
}

/* AKS availability zones: three fixed nodes of 4 A100 (Standard_NC96ads_A100_v4) in a pool
 * over zones 1 and 2. The scale set balances them: node 0 eastus-1, node 1 eastus-2, node 2
 * eastus-1 (the fewest nodes first, the first zone on a tie). Four 1-GPU pods, default
 * profile (PodTopologySpread's system defaults: hostname maxSkew 3, zone maxSkew 5; raw
 * score per node m * ln(nf + 2) + 2 + z * ln(zones + 2) + 4, m the pods on it, z in its
 * zone, nf = 3, zones = 2; lowest wins), the other plugins tied (images pre-pulled, CPU and
 * memory far from full). Wherever pod 0 lands, pod 1 goes to the other zone (6 against
 * 7 or 9); pod 2 to the empty node (7 against 9, 9); pod 3 to node 1 (9 against 10.4,
 * 10.4). So node 1, alone in eastus-2, ends with 2 pods whatever the draws; regional
 * nodes (one zone "0") would leave it to the draw which node gets the second pod. */
Test(cluster_scheduler, aks_zonal_pool_spreads_pods_by_zone)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        ch_setup(&c, "a100-pcie-80gb", 4,
                 "cluster:\n"
                 "  cloud: azure\n"
                 "  aks:\n"
                 "    nodePools:\n"
                 "    - {name: a, vmSize: Standard_NC96ads_A100_v4, count: 3, "
                 "availabilityZones: ['1', '2']}\n");
        c.sc.seed = seed;
        c.sc.engine.startup.image_prepulled = true;
        struct wl_request reqs[] = {h_req(60, 100, 2)};
        ch_run(&c, reqs, 1, NULL, 0);
        int32_t k[3];
        per_node(k, 3);
        cr_assert_eq(c.n_nodes, 3);
        cr_assert(k[0] == 1 && k[1] == 2 && k[2] == 1, "seed %d: pods per node: %d %d %d",
                  (int)seed, k[0], k[1], k[2]);
        ch_free(&c);
    }
}

Test(cluster_scheduler, aks_zone_selector_against_the_pools_zones)
{
    static const char *const pools[] = {
        "    - {name: a, vmSize: Standard_NC24ads_A100_v4, count: 1, availabilityZones: ['1', "
        "'2']}\n",
        "    - {name: a, vmSize: Standard_NC24ads_A100_v4, count: 1, availabilityZones: ['2']}\n",
        "    - {name: a, vmSize: Standard_NC24ads_A100_v4, count: 1}\n"};
    static const struct {
        const char *zone, *msg; /* NULL: loads */
    } want[3][2] = {
        /* over two zones: the scale set picks the node's zone, the cluster autoscaler's
         * template node a random one; selecting one zone is refused */
        {{"eastus-1", "pool 'a' in zone 'eastus-1' but not in 'eastus-2'"},
         {"eastus-2", "pool 'a' in zone 'eastus-2' but not in 'eastus-1'"}},
        /* one zone: its nodes carry eastus-2; the region is not a zone label */
        {{"eastus-2", NULL}, {"eastus", "matches no node that the AKS node pools can launch "
                                        "(their 'topology.kubernetes.io/zone': eastus-2)"}},
        /* regional: "0" */
        {{"0", NULL}, {"eastus-1", "(their 'topology.kubernetes.io/zone': 0)"}},
    };
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++) {
            char yaml[512];
            snprintf(yaml, sizeof yaml, "cluster:\n  cloud: azure\n  aks:\n    nodePools:\n%s",
                     pools[i]);
            ch_setup(&c, "a100-pcie-80gb", 1, yaml);
            struct sched_pod *p = &c.sc.fleet.pod.sched;
            p->node_selector[p->n_node_selector++] =
                (struct sched_label){"topology.kubernetes.io/zone", want[i][j].zone};
            struct nodepool_cfg cfg;
            struct sim_err err = {0};
            int rc = nodepool_cfg_load(&cfg, &c.sc, c.cat, &err);
            if (!want[i][j].msg) {
                cr_assert_eq(rc, SIM_OK, "pool %d, %s: %s", i, want[i][j].zone, err.msg);
                nodepool_cfg_release(&cfg);
            } else {
                cr_assert_eq(rc, SIM_EINVAL, "pool %d, %s loaded", i, want[i][j].zone);
                cr_assert(strstr(err.msg, want[i][j].msg), "pool %d: %s", i, err.msg);
            }
            ch_free(&c);
        }
}

/* Karpenter on Azure (Azure/karpenter-provider-azure v1.14.2): each SKU is offered in
 * "<region>-<n>" per zone and in "0" (regional); at an equal price (the catalog prices
 * Azure per region: Standard_NC24ads_A100_v4 spot 0.444433 $/h in eastus) zonal comes
 * before regional (offering_rank.go) and llmcap takes the first zone on a tie. A pod's
 * nodeSelector on topology.kubernetes.io/zone takes the offering with that label. */
#define KAZ                                                                                 \
    "cluster:\n"                                                                           \
    "  cloud: azure\n"                                                                     \
    "  karpenter:\n"                                                                       \
    "    nodePool:\n"                                                                      \
    "      apiVersion: karpenter.sh/v1\n"                                                  \
    "      kind: NodePool\n"                                                               \
    "      spec:\n"                                                                        \
    "        template:\n"                                                                  \
    "          spec:\n"                                                                    \
    "            requirements:\n"                                                          \
    "            - {key: karpenter.azure.com/sku-name, operator: In, values: "             \
    "[Standard_NC24ads_A100_v4]}\n"                                                        \
    "            - {key: karpenter.sh/capacity-type, operator: In, values: [spot]}\n"      \
    "        disruption: {consolidateAfter: Never}\n"                                      \
    "    launch_to_ready: 90s\n"

Test(cluster_scheduler, karpenter_azure_nodes_carry_aks_zone_labels)
{
    static const struct {
        const char *select, *zone;
    } cases[] = {{NULL, "eastus-1"}, {"eastus-3", "eastus-3"}, {"0", "0"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ch_setup(&c, "a100-pcie-80gb", 1, KAZ);
        struct sched_pod *p = &c.sc.fleet.pod.sched;
        if (cases[i].select)
            p->node_selector[p->n_node_selector++] =
                (struct sched_label){"topology.kubernetes.io/zone", cases[i].select};
        struct wl_request reqs[] = {h_req(60, 100, 2)};
        ch_run(&c, reqs, 1, NULL, 0);
        const struct rec_node *n = ch_node(&c, 0);
        cr_assert_not_null(n);
        cr_expect_str_eq(n->zone, cases[i].zone, "selector %s", cases[i].select);
        cr_expect_str_eq(n->capacity_type, "spot");
        cr_expect_float_eq(n->price_usd_per_hour, 0.444433, 1e-12, "selector %s",
                           cases[i].select);
        ch_free(&c);
    }
}

Test(cluster_scheduler, karpenter_azure_allocation_failure_moves_to_the_next_zone_for_an_hour)
{
    /* Spot Standard_NC24ads_A100_v4 in eastus-1 has no capacity from 5 s. The initial node
     * (t = 0) is in eastus-1. At 11 s the launch tries eastus-1 (an allocation failure,
     * cached for AllocationFailureTTL, 1 h, in the Azure provider's commonerrorhandlers.go)
     * and takes eastus-2 at the same price. At 201 s eastus-1 is still cached (on AWS its
     * 3 minutes would have ended at 191 s and it would be tried again): eastus-2, no
     * second error. */
    ch_setup(&c, "a100-pcie-80gb", 1,
             KAZ "  insufficient_capacity:\n"
                 "    offerings: [{instance_type: Standard_NC24ads_A100_v4, capacity_type: spot, "
                 "zone: eastus-1, from: 5s}]\n");
    struct wl_request reqs[] = {h_req(300, 100, 2)};
    struct change chg[] = {{10, 2}, {200, 3}};
    ch_run(&c, reqs, 1, chg, 2);
    static const char *const want[] = {"eastus-1", "eastus-2", "eastus-2"};
    for (int32_t id = 0; id < 3; id++) {
        const struct rec_node *n = ch_node(&c, id);
        cr_assert_not_null(n, "node %d", id);
        cr_expect_str_eq(n->zone, want[id], "node %d", id);
        cr_expect_str_eq(n->capacity_type, "spot", "node %d", id);
    }
    cr_expect_eq(sim_result(c.s)->cost.n_ice_errors, 1);
    ch_free(&c);
}
