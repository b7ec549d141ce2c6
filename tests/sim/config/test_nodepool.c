/* The `cluster:` readers: every error path with its exact message and position, the
 * defaults of Karpenter and AKS, included files, quantities and advisor bands. */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <string.h>

#include "models/catalog.h"
#include "sim/config/nodepool.h"
#include "sim/config/scenario.h"

#define EPS 1e-12

static struct catalog *cat;

static void setup(void)
{
    gsl_set_error_handler_off();
    struct sim_err err = {0};
    cat = catalog_new(NULL, &err);
    cr_assert_not_null(cat, "%s", err.msg);
    cr_assert_eq(catalog_add_file(cat, FIXTURES "/cluster/catalog.json", &err), SIM_OK, "%s",
                 err.msg);
}

static void teardown(void)
{
    catalog_free(cat);
}

TestSuite(nodepool, .init = setup, .fini = teardown);

/* Load fixture `name` and read its cluster section; returns the code. */
static int load(const char *name, struct scenario *sc, struct nodepool_cfg *cfg,
                struct sim_err *err)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/cluster/%s", FIXTURES, name);
    int rc = scenario_load(sc, path, NULL, 0, err);
    cr_assert_eq(rc, SIM_OK, "%s: %s", err->where, err->msg);
    return nodepool_cfg_load(cfg, sc, cat, err);
}

struct bad {
    const char *file, *where, *msg;
};

static const struct bad bad[] = {
    {"bad_request_cpu.yaml", "bad_request_cpu.yaml:15:23",
     "the pods request cpu 192, more than the allocatable cpu of any node they can run on (at "
     "most 191450m, g6e.48xlarge: its vCPUs less kube-reserved, docs/nodes.md#allocatable): "
     "they could never be scheduled"},
    {"bad_request_memory.yaml", "bad_request_memory.yaml:16:24",
     "the pods request memory 1500Gi, more than the allocatable memory of any node they can "
     "run on (at most 1453334Mi, g6e.48xlarge: its memory less kube-reserved and the eviction "
     "threshold, docs/nodes.md#allocatable): they could never be scheduled"},
    {"bad_request_memory_unknown.yaml", "bad_request_memory_unknown.yaml:13:40",
     "the catalog has no memory for instance type 'Standard_NC96ads_A100_v4': the pods' "
     "memory request cannot be checked against its nodes (give its memory_gib in a catalog "
     "file, 'model.catalog')"},
    {"bad_aks_cloud.yaml", "bad_aks_cloud.yaml:15:5",
     "'cluster.aks' needs 'cluster.cloud: azure'"},
    {"bad_aks_eviction_regular.yaml", "bad_aks_eviction_regular.yaml:16:63",
     "'cluster.aks.nodePools.0.evictionPolicy' applies only to a Spot pool (priority: Spot)"},
    {"bad_aks_expander.yaml", "bad_aks_expander.yaml:15:35",
     "unknown expander 'least_waste' in 'cluster.aks.autoscalerProfile.expander' (did you mean "
     "'least-waste'?)"},
    {"bad_aks_max_below_min.yaml", "bad_aks_max_below_min.yaml:16:76",
     "'cluster.aks.nodePools.0.maxCount' (2) must be >= 'minCount' (3)"},
    {"bad_aks_pool_gpu.yaml", "bad_aks_pool_gpu.yaml:16:27",
     "'Standard_NC4as_T4_v3' has GPU 't4', but the replicas run on 'engine.gpu' "
     "'a100-pcie-80gb' (a pool the replicas do not use can be left out, or given mode: System)"},
    {"bad_aks_pool_name_twice.yaml", "bad_aks_pool_name_twice.yaml:17:14",
     "node pool name 'gpu' is used twice in 'cluster.aks.nodePools'"},
    {"bad_aks_priority_missing.yaml", "bad_aks_priority_missing.yaml:15:24",
     "the priority expander needs 'cluster.aks.priorityExpander' (priority: [regex, ...], as "
     "in the cluster-autoscaler-priority-expander ConfigMap)"},
    {"bad_aks_profile_key.yaml", "bad_aks_profile_key.yaml:15:25",
     "unknown key 'scale-down-unneded-time' in 'cluster.aks.autoscalerProfile' (did you mean "
     "'scale-down-unneeded-time'?)"},
    {"bad_aks_threshold.yaml", "bad_aks_threshold.yaml:15:59",
     "'cluster.aks.autoscalerProfile.scale-down-utilization-threshold' must be in [0, 1], got "
     "'1.5'"},
    {"bad_aks_unknown_vm.yaml", "bad_aks_unknown_vm.yaml:16:27",
     "unknown instance type 'Standard_NC24ads_A100_v5'; did you mean "
     "'Standard_NC24ads_A100_v4', 'Standard_NC40ads_H100_v5' or 'Standard_NC48ads_A100_v4'? "
     "(see 'llmcap catalog instances')"},
    {"bad_api_version.yaml", "bad_api_version.yaml:16:19",
     "'cluster.karpenter.nodePool.apiVersion' must be 'karpenter.sh/v1', got "
     "'karpenter.sh/v1beta1' (llmcap reads the v1 NodePool)"},
    {"bad_both_provisioners.yaml", "bad_both_provisioners.yaml:24:3",
     "'cluster' takes one node provisioner: 'karpenter' or 'aks', not both"},
    {"bad_budget_schedule.yaml", "bad_budget_schedule.yaml:25:28",
     "'cluster.karpenter.nodePool.spec.disruption.budgets.0.schedule' needs "
     "'cluster.start_time' (the UTC date and time of the run's t = 0, e.g. "
     "2026-03-02T08:00:00Z)"},
    {"bad_budget_cron.yaml", "bad_budget_cron.yaml:26:38",
     "'cluster.karpenter.nodePool.spec.disruption.budgets.0.schedule' is not a cron schedule: "
     "'25': out of the range 0-23"},
    {"bad_capacity_type.yaml", "bad_capacity_type.yaml:23:72",
     "unknown capacity type 'spott' in "
     "'cluster.karpenter.nodePool.spec.template.spec.requirements.1.values' (did you mean "
     "'spot'?)"},
    {"bad_consolidation_policy.yaml", "bad_consolidation_policy.yaml:23:43",
     "'cluster.karpenter.nodePool.spec.disruption.consolidationPolicy' must be one of "
     "WhenEmpty, WhenEmptyOrUnderutilized, got 'WhenUnderutilized'"},
    {"bad_startup_total_and_boot.yaml", "bad_startup_total_and_boot.yaml:25:5",
     "'cluster.karpenter.launch_to_registered' and 'cluster.karpenter.launch_to_ready' both "
     "give the boot time: keep 'cluster.karpenter.launch_to_registered' and "
     "'cluster.karpenter.registered_to_ready', or the single 'cluster.karpenter.launch_to_ready'"},
    {"bad_dist_p95_below_median.yaml", "bad_dist_p95_below_median.yaml:24:40",
     "'cluster.karpenter.launch_to_ready.p95' (1m30s) must be >= "
     "'cluster.karpenter.launch_to_ready.median' (2m)"},
    {"bad_ice_type.yaml", "bad_ice_type.yaml:25:33",
     "'p5.48xlarge' is not an instance type this cluster launches (g6e.xlarge)"},
    {"bad_limits_quantity.yaml", "bad_limits_quantity.yaml:24:34",
     "'cluster.karpenter.nodePool.spec.limits.nvidia.com/gpu' must be a Kubernetes quantity >= "
     "0 ('16', '1000m', '512Gi'), got 'lots'"},
    {"bad_limits_resource.yaml", "bad_limits_resource.yaml:24:18",
     "unknown key 'nvidia.com/gpus' in 'cluster.karpenter.nodePool.spec.limits' (did you mean "
     "'nvidia.com/gpu'?)"},
    {"bad_max_gpus_with_provisioner.yaml", "bad_max_gpus_with_provisioner.yaml:14:3",
     "'fleet.max_gpus' caps the implicit node pool; with a node provisioner use the NodePool's "
     "limits (nvidia.com/gpu) or the node pools' maxCount"},
    {"bad_no_cloud.yaml", "bad_no_cloud.yaml:13:3",
     "'cluster.cloud' is required with a node provisioner (aws or azure)"},
    {"bad_no_matching_type.yaml", "bad_no_matching_type.yaml:22:13",
     "the NodePool's requirements allow no aws us-east-1 instance type with GPU 'l40s' and at "
     "least 1 GPU (candidates from the catalog: g6e.12xlarge, g6e.16xlarge, g6e.24xlarge, "
     "g6e.2xlarge, g6e.48xlarge, g6e.4xlarge, g6e.8xlarge, g6e.xlarge)"},
    {"bad_nodepool_include_missing.yaml", "bad_nodepool_include_missing.yaml:15:22",
     "cannot open '" FIXTURES "/cluster/missing-nodepool.yaml': no such file or directory"},
    {"bad_nodepools_both.yaml", "bad_nodepools_both.yaml:19:5",
     "'cluster.karpenter' has both 'nodePool' and 'nodePools': give one NodePool or the list"},
    {"bad_nodepools_same_name.yaml", "bad_nodepools_same_name.yaml:17:7",
     "'cluster.karpenter.nodePools.1': a second NodePool named 'gpu'"},
    {"bad_nodepools_empty.yaml", "bad_nodepools_empty.yaml:15:16",
     "expected a non-empty list of NodePools for 'cluster.karpenter.nodePools', found an empty "
     "list"},
    {"bad_nodepool_unknown_key.yaml", "bad_nodepool_unknown_key.yaml:19:9",
     "unknown key 'templat' in 'cluster.karpenter.nodePool.spec' (did you mean 'template'?)"},
    {"bad_pdb_api_version.yaml", "bad_pdb_api_version.yaml:25:17",
     "'cluster.podDisruptionBudget.apiVersion' must be 'policy/v1', got 'policy/v1beta1'"},
    {"bad_pdb_both.yaml", "bad_pdb_both.yaml:24:42",
     "'cluster.podDisruptionBudget' takes 'minAvailable' or 'maxUnavailable', not both"},
    {"bad_pdb_percent.yaml", "bad_pdb_percent.yaml:24:41",
     "'cluster.podDisruptionBudget.maxUnavailable' must be an integer >= 0 or a percentage in "
     "[0%, 100%], got '150%'"},
    {"bad_requirement_key.yaml", "bad_requirement_key.yaml:22:21",
     "requirement key 'karpenter.k8s.aws/instance-gpu-cont' is not modelled for aws (did you "
     "mean 'karpenter.k8s.aws/instance-gpu-count'?)"},
    {"bad_requirement_operator.yaml", "bad_requirement_operator.yaml:22:69",
     "'cluster.karpenter.nodePool.spec.template.spec.requirements.0.operator' must be one of "
     "In, NotIn, Exists, DoesNotExist, Gt, Lt, got 'Gte' (did you mean 'Gt'?)"},
    {"bad_spot_band.yaml", "bad_spot_band.yaml:24:24",
     "'cluster.spot.advisor_band' must be one of <5%, 5-10%, 10-15%, 15-20%, >20%, got '5-10' "
     "(did you mean '5-10%'?)"},
    {"bad_spot_rate_and_band.yaml", "bad_spot_rate_and_band.yaml:24:43",
     "'cluster.spot' takes 'interruption_rate_per_hour' or 'advisor_band', not both"},
    {"bad_spot_without_provisioner.yaml", "bad_spot_without_provisioner.yaml:14:3",
     "'cluster.spot' needs a node provisioner ('cluster.karpenter' or 'cluster.aks')"},
    {"bad_unknown_instance_type.yaml", "bad_unknown_instance_type.yaml:22:78",
     "unknown instance type 'g6e.xlarg'; did you mean 'g6e.xlarge', 'g6.xlarge' or "
     "'g6e.2xlarge'? (see 'llmcap catalog instances')"},
    {"bad_unknown_key.yaml", "bad_unknown_key.yaml:14:3",
     "unknown key 'karpentr' in 'cluster' (did you mean 'karpenter'?)"},
    {"bad_zone.yaml", "bad_zone.yaml:23:73",
     "'us-east-1a' in 'cluster.karpenter.nodePool.spec.template.spec.requirements.1.values' is "
     "an AWS zone name; llmcap names zones by zone ID, and names map to IDs differently in each "
     "account: give the account's mapping as 'cluster.zone_ids: {file: azs.json}' saved from "
     "'aws ec2 describe-availability-zones --region us-east-1 --output json', or as a map "
     "{us-east-1a: use1-az4, ...}"},
    /* Azure: az's zone numbers or AKS's label form (eastus-1), never the region */
    {"bad_azure_zone_form.yaml", "bad_azure_zone_form.yaml:14:16",
     "'cluster.zones.1' must be an Azure zone as az prints it ('1', '2', '3'), its label form "
     "'eastus-1', or '0' (regional), got 'eastus'"},
    /* the region as a zone value matches no AKS zone label; it was the only value */
    {"bad_azure_zone_region.yaml", "bad_azure_zone_region.yaml:23:73",
     "'eastus' in 'cluster.karpenter.nodePool.spec.template.spec.requirements.1.values' "
     "matches none of the cluster's zones (eastus-1, eastus-2, eastus-3, 0) and leaves the "
     "NodePool no zone to launch in: AKS labels a node's topology.kubernetes.io/zone "
     "'<region>-<n>' ('eastus-1') or '0' for a regional one"},
    {"bad_zone_ids_shape.yaml", "include/describe_azs_bad_shape.json:2:26",
     "expected the sequence describe-availability-zones prints for "
     "'cluster.zone_ids.AvailabilityZones', found a map"},
    {"bad_zone_name_unmapped.yaml", "bad_zone_name_unmapped.yaml:25:85",
     "zone name 'us-east-1c' in "
     "'cluster.karpenter.nodePool.spec.template.spec.requirements.2.values' is not in "
     "'cluster.zone_ids'"},
    {"bad_zone_id_key_name.yaml", "bad_zone_id_key_name.yaml:25:70",
     "'us-east-1a' in 'cluster.karpenter.nodePool.spec.template.spec.requirements.2.values' is "
     "a zone name; this key takes zone IDs (use1-az4); put zone names under "
     "'topology.kubernetes.io/zone'"},
};

Test(nodepool, every_bad_fixture_fails_with_its_message_at_its_position)
{
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct scenario sc;
        struct nodepool_cfg cfg;
        struct sim_err err = {0};
        int rc = load(bad[i].file, &sc, &cfg, &err);
        cr_expect_neq(rc, SIM_OK, "%s loaded", bad[i].file);
        char where[512];
        snprintf(where, sizeof where, "%s/cluster/%s", FIXTURES, bad[i].where);
        cr_expect_str_eq(err.where, where, "%s", bad[i].file);
        cr_expect_str_eq(err.msg, bad[i].msg, "%s", bad[i].file);
        scenario_release(&sc);
    }
}

Test(nodepool, bad_priority_regex_names_the_pattern)
{
    /* The reason after the colon is the C library's regerror() text. */
    struct scenario sc;
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(load("bad_aks_priority_regex.yaml", &sc, &cfg, &err), SIM_EINVAL);
    cr_assert_str_eq(err.where, FIXTURES "/cluster/bad_aks_priority_regex.yaml:18:29");
    const char *want = "'cluster.aks.priorityExpander.10.0' is not a valid regular expression: ";
    cr_assert_eq(strncmp(err.msg, want, strlen(want)), 0, "%s", err.msg);
    cr_assert_gt(strlen(err.msg), strlen(want));
    scenario_release(&sc);
}

Test(nodepool, no_cluster_section_is_the_implicit_pool)
{
    struct scenario sc;
    scenario_defaults(&sc);
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(nodepool_cfg_load(&cfg, &sc, NULL, &err), SIM_OK);
    cr_assert_eq(cfg.kind, NP_IMPLICIT);
    nodepool_cfg_release(&cfg); /* the deployment's pod side is allocated even here */
}

Test(nodepool, karpenter_v1_defaults)
{
    /* No capacity-type requirement: on-demand only (the AWS provider's default); no
     * disruption block: WhenEmptyOrUnderutilized, consolidateAfter 0s, one budget of 10%,
     * expireAfter 720h; launch_to_ready 100 s median, 5 m p95. A label of the user's own
     * (team) restricts nothing; instance-gpu-count Gt 0 keeps the eight L40S types (g6e.*). */
    struct scenario sc;
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(load("good_karpenter_defaults.yaml", &sc, &cfg, &err), SIM_OK, "%s", err.msg);
    cr_assert_eq(cfg.kind, NP_KARPENTER);
    cr_assert_eq(cfg.cloud, NP_AWS);
    cr_assert_str_eq(cfg.region, "us-east-1");
    cr_assert(cfg.kp[0].capacity[NP_ON_DEMAND]);
    cr_assert_not(cfg.kp[0].capacity[NP_SPOT]);
    cr_assert_eq(cfg.kp[0].policy, NP_WHEN_EMPTY_OR_UNDERUTILIZED);
    cr_assert_eq(cfg.kp[0].consolidate_after_us, 0);
    cr_assert_eq(cfg.kp[0].n_budgets, 1);
    cr_assert(cfg.kp[0].budgets[0].percent);
    cr_assert_float_eq(cfg.kp[0].budgets[0].nodes, 10.0, EPS);
    cr_assert_eq(cfg.kp[0].expire_after_us, 720LL * 3600 * 1000000);
    /* The split EKS defaults (docs/nodes.md): boot 40 s (p95 100 s), GPU 90 s (3 min). */
    cr_assert_not(cfg.kp_startup.has_total);
    cr_assert_eq(cfg.kp_startup.boot.median_us, 40000000);
    cr_assert_eq(cfg.kp_startup.boot.p95_us, 100000000);
    cr_assert_eq(cfg.kp_startup.gpu.median_us, 90000000);
    cr_assert_eq(cfg.kp_startup.gpu.p95_us, 180000000);
    cr_assert(isinf(cfg.kp[0].limit_gpus));
    int allowed = 0;
    for (int32_t t = 0; t < cfg.n_types; t++)
        allowed += cfg.types[t].allowed;
    cr_assert_eq(allowed, 8);
    cr_assert_eq(cfg.notice_us, 120000000);
    cr_assert_eq(cfg.billing_minimum_us, 60000000);
    nodepool_cfg_release(&cfg);
    scenario_release(&sc);
}

Test(nodepool, several_nodepools_in_karpenters_weight_order)
{
    /* OrderByWeight: c (weight 50) first, then b and a (weight 10: the name later in the
     * alphabet first), whatever the order of the list. Each keeps its own requirements,
     * limits and disruption. */
    struct scenario sc;
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(load("good_karpenter_nodepools.yaml", &sc, &cfg, &err), SIM_OK, "%s: %s",
                 err.where, err.msg);
    cr_assert_eq(cfg.n_kp, 3);
    cr_assert_str_eq(cfg.kp[0].name, "c");
    cr_assert_str_eq(cfg.kp[1].name, "b");
    cr_assert_str_eq(cfg.kp[2].name, "a");
    cr_assert_eq(cfg.kp[0].weight, 50);
    cr_assert_eq(cfg.kp[2].weight, 10);
    cr_assert(cfg.kp[0].capacity[NP_SPOT] && !cfg.kp[0].capacity[NP_ON_DEMAND]);
    cr_assert(!cfg.kp[1].capacity[NP_SPOT] && cfg.kp[1].capacity[NP_ON_DEMAND]);
    cr_assert_float_eq(cfg.kp[0].limit_gpus, 4.0, EPS);
    cr_assert(isinf(cfg.kp[1].limit_gpus));
    cr_assert_eq(cfg.kp[1].consolidate_after_us, -1);
    cr_assert_eq(cfg.kp[2].consolidate_after_us, 0);
    /* a allows g6e.xlarge only; b and c every L40S type */
    int32_t xl = -1;
    for (int32_t t = 0; t < cfg.n_types; t++)
        if (!strcmp(cfg.types[t].inst->id, "g6e.xlarge"))
            xl = t;
    cr_assert_geq(xl, 0);
    cr_assert_eq(cfg.kp[2].types, 1ull << xl);
    cr_assert_eq(cfg.kp[1].types, (1ull << cfg.n_types) - 1);
    cr_assert_eq(cfg.kp[0].types, cfg.kp[1].types);
    nodepool_cfg_release(&cfg);
    scenario_release(&sc);
}

Test(nodepool, included_nodepool_and_pdb_with_spot_settings)
{
    /* include/nodepool.yaml: family g6e, spot and on-demand, not use1-az1, WhenEmpty after
     * 10m, budgets 20% and 0 for Underutilized, expireAfter Never, limits cpu 1000, memory
     * 4000Gi, 16 GPUs. include/pdb.yaml: minAvailable 75%. Spot: band 10-15% (AWS: monthly,
     * -ln(1 - 0.125) / 730 per hour), notice 90 s, two scripted interruptions at 30 m. */
    struct scenario sc;
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(load("good_karpenter_include.yaml", &sc, &cfg, &err), SIM_OK, "%s: %s",
                 err.where, err.msg);
    cr_assert_str_eq(cfg.kp[0].name, "gpu");
    cr_assert(cfg.kp[0].capacity[NP_SPOT] && cfg.kp[0].capacity[NP_ON_DEMAND]);
    cr_assert_str_eq(cfg.zones[0], "use1-az1");
    cr_assert_not(cfg.kp[0].zone_ok[0]);
    cr_assert(cfg.kp[0].zone_ok[1]);
    cr_assert_eq(cfg.kp[0].policy, NP_WHEN_EMPTY);
    cr_assert_eq(cfg.kp[0].consolidate_after_us, 600000000);
    cr_assert_eq(cfg.kp[0].n_budgets, 2);
    cr_assert_float_eq(cfg.kp[0].budgets[0].nodes, 20.0, EPS);
    cr_assert_eq(cfg.kp[0].budgets[1].reasons, (unsigned)NP_REASON_UNDERUTILIZED);
    cr_assert_not(cfg.kp[0].budgets[1].percent);
    cr_assert_eq(cfg.kp[0].expire_after_us, -1);
    cr_assert_float_eq(cfg.kp[0].limit_cpu, 1000.0, EPS);
    cr_assert_float_eq(cfg.kp[0].limit_memory_gib, 4000.0, EPS);
    cr_assert_float_eq(cfg.kp[0].limit_gpus, 16.0, EPS);
    cr_assert(cfg.kp_startup.has_total);
    cr_assert_eq(cfg.kp_startup.total.median_us, 75000000);
    cr_assert_eq(cfg.kp_startup.total.p95_us, 120000000);
    cr_assert_eq(cfg.kp_startup.gpu.median_us, 0); /* registered at readiness */
    cr_assert(cfg.pdb && cfg.pdb_min_available && cfg.pdb_percent);
    cr_assert_float_eq(cfg.pdb_value, 75.0, EPS);
    cr_assert_float_eq(cfg.spot_rate_per_hour, -log(1 - 0.125) / 730.0, EPS);
    cr_assert_eq(cfg.notice_us, 90000000);
    cr_assert_eq(cfg.n_spot_events, 1);
    cr_assert_eq(cfg.spot_events[0].at_us, 1800000000);
    cr_assert_eq(cfg.spot_events[0].count, 2);
    nodepool_cfg_release(&cfg);
    scenario_release(&sc);
}

Test(nodepool, set_reaches_into_an_included_nodepool)
{
    /* sweep --vary takes the same path: each grid point is a list of --set overrides. */
    static const char *const sets[] = {
        "cluster.karpenter.nodePool.spec.limits.\"nvidia.com/gpu\"=32",
        "cluster.karpenter.nodePool.spec.disruption.consolidateAfter=2m",
    };
    struct scenario sc;
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(scenario_load(&sc, FIXTURES "/cluster/good_karpenter_include.yaml", sets, 2,
                               &err),
                 SIM_OK, "%s: %s", err.where, err.msg);
    cr_assert_eq(nodepool_cfg_load(&cfg, &sc, cat, &err), SIM_OK, "%s: %s", err.where, err.msg);
    cr_assert_float_eq(cfg.kp[0].limit_gpus, 32.0, EPS);
    cr_assert_eq(cfg.kp[0].consolidate_after_us, 120000000);
    cr_assert_float_eq(cfg.kp[0].limit_cpu, 1000.0, EPS); /* the rest as included */
    nodepool_cfg_release(&cfg);
    scenario_release(&sc);
}

Test(nodepool, a_nodepool_as_kubectl_prints_it_reads_like_the_pasted_spec)
{
    /* include/nodepool_kubectl.yaml: status, managedFields, uid, resourceVersion,
     * annotations and the API server's defaults; only spec counts. */
    static const char *const sets[] = {
        "cluster.karpenter.nodePool.file=" FIXTURES "/cluster/include/nodepool_kubectl.yaml"};
    struct scenario sc;
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(scenario_load(&sc, FIXTURES "/cluster/good_karpenter_include.yaml", sets, 1,
                               &err),
                 SIM_OK, "%s: %s", err.where, err.msg);
    cr_assert_eq(nodepool_cfg_load(&cfg, &sc, cat, &err), SIM_OK, "%s: %s", err.where, err.msg);
    cr_assert_str_eq(cfg.kp[0].name, "gpu");
    cr_assert_eq(cfg.kp[0].policy, NP_WHEN_EMPTY_OR_UNDERUTILIZED);
    cr_assert_eq(cfg.kp[0].consolidate_after_us, 300000000);
    cr_assert_float_eq(cfg.kp[0].limit_gpus, 16.0, EPS);
    cr_assert(cfg.kp[0].capacity[NP_ON_DEMAND] && !cfg.kp[0].capacity[NP_SPOT]);
    nodepool_cfg_release(&cfg);
    scenario_release(&sc);
}

Test(nodepool, aks_defaults_are_the_aks_profile_defaults)
{
    /* Reference 4.1: scan 10s, unneeded 10m, delay-after-add 10m, delay-after-delete = the
     * scan interval, delay-after-failure 3m, max-node-provision-time 15m, threshold 0.5,
     * max-empty-bulk-delete 10, max-graceful-termination-sec 600, expander random; GPU
     * provisioning 7m30s median, 11m p95; Azure's 30 s spot notice, no billing minimum. */
    struct scenario sc;
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(load("good_aks_defaults.yaml", &sc, &cfg, &err), SIM_OK, "%s", err.msg);
    const struct np_aks *a = &cfg.aks;
    cr_assert_eq(cfg.kind, NP_AKS);
    cr_assert_str_eq(cfg.region, "eastus");
    cr_assert_eq(a->scan_interval_us, 10000000);
    cr_assert_eq(a->unneeded_us, 600000000);
    cr_assert_eq(a->delay_after_add_us, 600000000);
    cr_assert_eq(a->delay_after_delete_us, 10000000);
    cr_assert_eq(a->delay_after_failure_us, 180000000);
    cr_assert_eq(a->max_node_provision_us, 900000000);
    cr_assert_float_eq(a->utilization_threshold, 0.5, EPS);
    cr_assert_float_eq(a->gpu_utilization_threshold, 0.5, EPS);
    cr_assert_eq(a->max_empty_bulk_delete, 10);
    cr_assert_eq(a->max_graceful_termination_us, 600000000);
    cr_assert_eq(a->n_expanders, 1);
    cr_assert_eq(a->expanders[0], NP_EXP_RANDOM);
    /* The split AKS defaults: boot 6 min (p95 9.5 min), GPU 90 s (3 min). */
    cr_assert_not(a->startup.has_total);
    cr_assert_eq(a->startup.boot.median_us, 360000000);
    cr_assert_eq(a->startup.boot.p95_us, 570000000);
    cr_assert_eq(a->startup.gpu.median_us, 90000000);
    cr_assert_eq(a->n_pools, 1);
    cr_assert_eq(a->pools[0].count, 1); /* count defaults to minCount */
    cr_assert(a->pools[0].autoscale);
    cr_assert_eq(cfg.notice_us, 30000000);
    cr_assert_eq(cfg.billing_minimum_us, 0);
    nodepool_cfg_release(&cfg);
    scenario_release(&sc);
}

Test(nodepool, aks_profile_values_in_aks_spelling)
{
    /* Strings as the AKS API takes them ('0.6', '300'); the scan interval also sets the
     * delay-after-delete default; a System pool is skipped; the priority expander's regexes
     * give od 10 and spot 50; ARM's scaleSetPriority/scaleSetEvictionPolicy spelling. */
    struct scenario sc;
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(load("good_aks.yaml", &sc, &cfg, &err), SIM_OK, "%s: %s", err.where, err.msg);
    const struct np_aks *a = &cfg.aks;
    cr_assert_eq(a->scan_interval_us, 20000000);
    cr_assert_eq(a->delay_after_delete_us, 20000000);
    cr_assert_eq(a->unneeded_us, 300000000);
    cr_assert_float_eq(a->utilization_threshold, 0.6, EPS);
    cr_assert_eq(a->max_graceful_termination_us, 300000000);
    cr_assert_eq(a->n_expanders, 2);
    cr_assert_eq(a->expanders[0], NP_EXP_PRIORITY);
    cr_assert_eq(a->expanders[1], NP_EXP_LEAST_WASTE);
    cr_assert_eq(a->n_pools, 3);
    cr_assert(a->pools[0].system);
    cr_assert_eq(a->pools[0].type, -1);
    cr_assert(a->pools[1].spot && a->pools[1].deallocate);
    cr_assert_eq(a->pools[1].count, 0);
    cr_assert_eq(a->pools[1].priority, 50);
    cr_assert_eq(a->pools[2].priority, 10);
    cr_assert_eq(a->pools[2].count, 2);
    cr_assert(a->startup.has_total);
    cr_assert_eq(a->startup.total.median_us, 360000000);
    cr_assert_eq(a->startup.total.p95_us, 360000000);
    cr_assert_eq(cfg.n_types, 1); /* both GPU pools run the same VM size */
    nodepool_cfg_release(&cfg);
    scenario_release(&sc);
}

Test(nodepool, advisor_bands_to_hourly_rates)
{
    /* AWS: the share of instances interrupted over the trailing month (730 h) at the
     * band's midpoint, as a Poisson rate: 1 - exp(-730 r) = p. Azure: the chance of eviction
     * within the next hour: 1 - exp(-r) = p. */
    cr_assert_float_eq(np_advisor_band_rate(NP_AWS, "<5%"), -log(1 - 0.025) / 730, EPS);
    cr_assert_float_eq(np_advisor_band_rate(NP_AWS, "5-10%"), -log(1 - 0.075) / 730, EPS);
    cr_assert_float_eq(np_advisor_band_rate(NP_AWS, ">20%"), -log(1 - 0.25) / 730, EPS);
    cr_assert_float_eq(np_advisor_band_rate(NP_AZURE, "15-20%"), -log(1 - 0.175), EPS);
    cr_assert_float_eq(np_advisor_band_rate(NP_AWS, "5-10%") * 730, 0.0779615414697118, 1e-12);
    cr_assert_float_eq(np_advisor_band_rate(NP_AWS, "50%"), -1.0, EPS);
}

Test(nodepool, kubernetes_quantities)
{
    double v = 0;
    cr_assert_eq(np_parse_quantity("16", &v), SIM_OK);
    cr_assert_float_eq(v, 16.0, EPS);
    cr_assert_eq(np_parse_quantity("1500m", &v), SIM_OK);
    cr_assert_float_eq(v, 1.5, EPS);
    cr_assert_eq(np_parse_quantity("64Gi", &v), SIM_OK);
    cr_assert_float_eq(v, 68719476736.0, EPS);
    cr_assert_eq(np_parse_quantity("2k", &v), SIM_OK);
    cr_assert_float_eq(v, 2000.0, EPS);
    cr_assert_eq(np_parse_quantity("1e3", &v), SIM_OK);
    cr_assert_float_eq(v, 1000.0, EPS);
    cr_assert_eq(np_parse_quantity("8 Gi", &v), SIM_EINVAL);
    cr_assert_eq(np_parse_quantity("-1", &v), SIM_EINVAL);
    cr_assert_eq(np_parse_quantity("", &v), SIM_EINVAL);
    cr_assert_eq(np_parse_quantity("12Gb", &v), SIM_EINVAL);
}

/* Whether `path` is in the ignored-field list. */
static bool has_ignored(const struct nodepool_cfg *cfg, const char *path)
{
    for (size_t i = 0; i < cfg->ignored.n; i++)
        if (!strcmp(cfg->ignored.path[i], path))
            return true;
    return false;
}

Test(nodepool, aks_pools_and_profile_as_az_prints_them)
{
    /* good_aks_az.yaml includes `az aks nodepool show -o json` (a spot pool), `-o yaml` (an
     * on-demand pool) and `az aks show --query autoScalerProfile -o json` (camelCase keys,
     * values as strings). The modelled fields read as the hand-written pools do; the rest
     * is listed once as ignored, with pool indices folded. */
    struct scenario sc;
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(load("good_aks_az.yaml", &sc, &cfg, &err), SIM_OK, "%s: %s", err.where, err.msg);
    const struct np_aks *a = &cfg.aks;
    cr_assert_eq(a->n_pools, 3);
    cr_assert_str_eq(a->pools[1].name, "a100spot");
    cr_assert(a->pools[1].spot && !a->pools[1].deallocate && a->pools[1].autoscale);
    cr_assert_eq(a->pools[1].count, 0);
    cr_assert_eq(a->pools[1].max_count, 8);
    cr_assert_float_eq(a->pools[1].spot_max_usd_per_hour, -1.0, EPS);
    cr_assert_str_eq(a->pools[2].name, "a100od");
    cr_assert(!a->pools[2].spot && a->pools[2].autoscale); /* scaleSetPriority: null */
    cr_assert_eq(a->pools[2].count, 2);
    cr_assert_eq(a->pools[2].min_count, 1);
    cr_assert_eq(a->pools[2].max_count, 4);
    /* the profile: scanInterval 15s, delays 5m / 10s / 3m, unneeded 7m, least-waste,
     * skipNodesWithLocalStorage "false" */
    cr_assert_eq(a->scan_interval_us, 15000000);
    cr_assert_eq(a->delay_after_add_us, 300000000);
    cr_assert_eq(a->delay_after_delete_us, 10000000);
    cr_assert_eq(a->unneeded_us, 420000000);
    cr_assert_eq(a->max_node_provision_us, 900000000);
    cr_assert_eq(a->n_expanders, 1);
    cr_assert_eq(a->expanders[0], NP_EXP_LEAST_WASTE);
    cr_assert_not(a->skip_local_storage);
    static const char *const expect[] = {
        "cluster.aks.nodePools.*.osDiskSizeGb",
        "cluster.aks.nodePools.*.orchestratorVersion",
        "cluster.aks.nodePools.*.provisioningState",
        "cluster.aks.nodePools.*.powerState",
        "cluster.aks.nodePools.*.gatewayProfile" /* unknown to llmcap, null: recorded */,
        "cluster.aks.autoscalerProfile.skipNodesWithSystemPods",
        "cluster.aks.autoscalerProfile.okTotalUnreadyCount",
        "cluster.aks.autoscalerProfile.balanceSimilarNodeGroups"};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        cr_assert(has_ignored(&cfg, expect[i]), "%s not listed", expect[i]);
    /* maxPods sets the nodes' kube-reserved memory (np_allocatable): read, not ignored */
    cr_assert_not(has_ignored(&cfg, "cluster.aks.nodePools.*.maxPods"));
    for (size_t i = 0; i < a->n_pools; i++)
        if (!a->pools[i].system)
            cr_assert_eq(a->pools[i].max_pods, 30, "pool %zu", i);
    /* listed once, modelled and null known fields not at all */
    size_t n_disk = 0;
    for (size_t i = 0; i < cfg.ignored.n; i++)
        n_disk += strstr(cfg.ignored.path[i], "osDiskSizeGb") != NULL;
    cr_assert_eq(n_disk, 1);
    cr_assert_not(has_ignored(&cfg, "cluster.aks.nodePools.*.vmSize"));
    cr_assert_not(has_ignored(&cfg, "cluster.aks.nodePools.*.spotMaxPrice"));
    cr_assert_not(has_ignored(&cfg, "cluster.aks.nodePools.*.tags"));
    cr_assert_not(has_ignored(&cfg, "cluster.aks.autoscalerProfile.scanInterval"));
    /* availabilityZones label the nodes (eastus-1 ..., as AKS labels a zonal pool's nodes,
     * learn.microsoft.com/azure/aks/availability-zones); the system pool has none. */
    cr_assert_not(has_ignored(&cfg, "cluster.aks.nodePools.*.availabilityZones"));
    cr_assert_eq(a->pools[0].n_az, 0);
    cr_assert_eq(a->pools[1].n_az, 3);
    cr_assert_str_eq(a->pools[1].az[2], "eastus-3");
    cr_assert_eq(a->pools[2].n_az, 2);
    cr_assert_str_eq(a->pools[2].az[0], "eastus-1");
    cr_assert_str_eq(a->pools[2].az[1], "eastus-2");
    nodepool_cfg_release(&cfg);
    scenario_release(&sc);
}

/* The value of `key` among a node's labels, or NULL. */
static const char *label_of(const struct sched_label *lb, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(lb[i].key, key))
            return lb[i].value;
    return NULL;
}

Test(nodepool, aks_zone_label_is_region_dash_zone_or_0_for_a_regional_pool)
{
    /* A zonal pool's node in its second zone: "eastus-2"; a pool without availabilityZones
     * (null, as az prints it for a regional pool): "0", as AKS labels regional nodes
     * (kubectl get nodes on such clusters; Azure/karpenter-provider-azure instancetypes.go:
     * "Regional (non-zonal) SKUs use zone \"0\" to match the label AKS places on regional
     * nodes"). The region stays on topology.kubernetes.io/region. */
    static const char *const sets[] = {"cluster.aks.nodePools.1.availabilityZones=null"};
    struct scenario sc;
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(scenario_load(&sc, FIXTURES "/cluster/good_aks_az.yaml", sets, 1, &err), SIM_OK,
                 "%s: %s", err.where, err.msg);
    cr_assert_eq(nodepool_cfg_load(&cfg, &sc, cat, &err), SIM_OK, "%s: %s", err.where, err.msg);
    struct sched_label lb[NP_MAX_NODE_LABELS];
    char buf[1024];
    const struct np_aks_pool *od = &cfg.aks.pools[2], *spot = &cfg.aks.pools[1];
    int n = np_node_labels(&cfg, cat, od->type, np_aks_pool_zone(&cfg, od), NP_ON_DEMAND, 2, 1,
                           lb, buf, sizeof buf);
    cr_expect_str_eq(label_of(lb, n, "topology.kubernetes.io/zone"), "eastus-2");
    cr_expect_str_eq(label_of(lb, n, "topology.kubernetes.io/region"), "eastus");
    cr_assert_eq(spot->n_az, 0);
    n = np_node_labels(&cfg, cat, spot->type, np_aks_pool_zone(&cfg, spot), NP_SPOT, 1, 0, lb,
                       buf, sizeof buf);
    cr_expect_str_eq(label_of(lb, n, "topology.kubernetes.io/zone"), "0");
    nodepool_cfg_release(&cfg);
    scenario_release(&sc);
}

/* A good_aks_az.yaml variant with one --set; returns the code. */
static int load_az_with(const char *set, struct scenario *sc, struct nodepool_cfg *cfg,
                        struct sim_err *err)
{
    const char *sets[] = {set};
    int rc = scenario_load(sc, FIXTURES "/cluster/good_aks_az.yaml", sets, 1, err);
    cr_assert_eq(rc, SIM_OK, "%s: %s", err->where, err->msg);
    return nodepool_cfg_load(cfg, sc, cat, err);
}

Test(nodepool, daemonset_pods_are_a_count)
{
    /* cluster.daemonset_requests.pods: the DaemonSet pods on every node (the planner counts
     * them against maxPods, docs/plan.md); a count from 0 to 1000 */
    struct scenario sc;
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(load_az_with("cluster.daemonset_requests={cpu: 500m, pods: 8}", &sc, &cfg, &err),
                 SIM_OK, "%s", err.msg);
    cr_assert_eq(cfg.ds_cpu_m, 500);
    nodepool_cfg_release(&cfg);
    scenario_release(&sc);
    cr_assert_eq(load_az_with("cluster.daemonset_requests.pods=-1", &sc, &cfg, &err), SIM_EINVAL);
    cr_assert_str_eq(err.where, "--set:1:33");
    cr_assert_str_eq(err.msg, "'cluster.daemonset_requests.pods' must be in [0, 1000], got '-1'");
    scenario_release(&sc);
}

Test(nodepool, az_fields_that_would_change_the_run_are_refused)
{
    static const struct {
        const char *set, *msg;
    } cases[] = {
        {"cluster.aks.nodePools.2.scaleDownMode=Deallocate",
         "'cluster.aks.nodePools.2.scaleDownMode' 'Deallocate' is not modelled"},
        {"cluster.aks.nodePools.2.gpuInstanceProfile=MIG3g",
         "'cluster.aks.nodePools.2.gpuInstanceProfile' (MIG) with the cluster autoscaler is "
         "refused"},
        {"cluster.aks.nodePools.2.powerState.code=Stopped",
         "'cluster.aks.nodePools.2.powerState.code' is 'Stopped'"},
        {"cluster.aks.nodePools.2.osType=Windows", "'cluster.aks.nodePools.2.osType' 'Windows' is not modelled: llmcap models Linux"},
        {"cluster.aks.nodePools.2.gpuProfile={driver: None}",
         "'cluster.aks.nodePools.2.gpuProfile.driver' 'None'"},
        {"cluster.aks.nodePools.2.artifactStreamingProfile={enabled: true}",
         "'cluster.aks.nodePools.2.artifactStreamingProfile.enabled' true is not modelled"},
        {"cluster.aks.nodePools.2.availabilityZones=[westus-1]",
         "'cluster.aks.nodePools.2.availabilityZones.0' must be an Azure zone number"},
        {"cluster.aks.nodePools.2.availabilityZones=['1', eastus-1]",
         "zone '1' is listed twice in 'cluster.aks.nodePools.2.availabilityZones'"},
        {"cluster.aks.nodePools.2.gatewayProfile=7", "unknown key 'gatewayProfile'"},
        {"cluster.aks.nodePools.1.vmSize=Standard_NC24ads_A100_v4",
         NULL /* control: the same pool as given */},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct scenario sc;
        struct nodepool_cfg cfg;
        struct sim_err err = {0};
        int rc = load_az_with(cases[i].set, &sc, &cfg, &err);
        if (!cases[i].msg) {
            cr_assert_eq(rc, SIM_OK, "%s: %s", cases[i].set, err.msg);
            nodepool_cfg_release(&cfg);
        } else {
            cr_assert_eq(rc, SIM_EINVAL, "%s was accepted", cases[i].set);
            cr_assert(strstr(err.msg, cases[i].msg), "%s: %s", cases[i].set, err.msg);
            cr_assert(strstr(err.where, "aks_nodepool_od.yaml:") || strstr(err.where, "--set"),
                      "%s: at %s", cases[i].set, err.where);
        }
        scenario_release(&sc);
    }
}

Test(nodepool, balance_similar_node_groups_is_refused_with_two_similar_pools)
{
    /* Two autoscaled on-demand pools of one VM size: balancing would split scale-ups. */
    static const char *const sets[] = {
        "cluster.aks.autoscalerProfile={balanceSimilarNodeGroups: 'true'}",
        "cluster.aks.nodePools.1.scaleSetPriority=Regular",
        "cluster.aks.nodePools.1.scaleSetEvictionPolicy=null",
        "cluster.aks.nodePools.1.spotMaxPrice=null"};
    struct scenario sc;
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(scenario_load(&sc, FIXTURES "/cluster/good_aks_az.yaml", sets, 4, &err), SIM_OK,
                 "%s: %s", err.where, err.msg);
    cr_assert_eq(nodepool_cfg_load(&cfg, &sc, cat, &err), SIM_EINVAL);
    cr_assert(strstr(err.msg, "pools 'a100spot' and 'a100od' are similar"), "%s", err.msg);
    scenario_release(&sc);
    /* one spot and one on-demand pool are not similar: accepted, recorded */
    cr_assert_eq(scenario_load(&sc, FIXTURES "/cluster/good_aks_az.yaml", sets, 1, &err), SIM_OK,
                 "%s", err.msg);
    cr_assert_eq(nodepool_cfg_load(&cfg, &sc, cat, &err), SIM_OK, "%s", err.msg);
    cr_assert(has_ignored(&cfg, "cluster.aks.autoscalerProfile.balanceSimilarNodeGroups"));
    nodepool_cfg_release(&cfg);
    scenario_release(&sc);
}

Test(nodepool, a_nodepool_from_kubectl_lists_its_bookkeeping_as_ignored)
{
    static const char *const sets[] = {
        "cluster.karpenter.nodePool.file=" FIXTURES "/cluster/include/nodepool_kubectl.yaml"};
    struct scenario sc;
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(scenario_load(&sc, FIXTURES "/cluster/good_karpenter_include.yaml", sets, 1,
                               &err),
                 SIM_OK, "%s: %s", err.where, err.msg);
    cr_assert_eq(nodepool_cfg_load(&cfg, &sc, cat, &err), SIM_OK, "%s: %s", err.where, err.msg);
    static const char *const expect[] = {
        "cluster.karpenter.nodePool.status",
        "cluster.karpenter.nodePool.metadata.managedFields",
        "cluster.karpenter.nodePool.metadata.uid",
        "cluster.karpenter.nodePool.metadata.resourceVersion",
        "cluster.karpenter.nodePool.metadata.annotations.kubectl.kubernetes.io/"
        "last-applied-configuration",
        "cluster.karpenter.nodePool.metadata.annotations.karpenter.sh/nodepool-hash"};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        cr_assert(has_ignored(&cfg, expect[i]), "%s not listed", expect[i]);
    cr_assert_not(has_ignored(&cfg, "cluster.karpenter.nodePool.metadata.name"));
    nodepool_cfg_release(&cfg);
    scenario_release(&sc);
}

Test(nodepool, an_ec2nodeclass_as_kubectl_prints_it_is_read_and_its_fields_listed)
{
    static const char *const sets[] = {"seed=1"};
    struct scenario sc;
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(scenario_load(&sc, FIXTURES "/cluster/good_karpenter_nodeclass.yaml", sets, 1,
                               &err),
                 SIM_OK, "%s: %s", err.where, err.msg);
    cr_assert_eq(nodepool_cfg_load(&cfg, &sc, cat, &err), SIM_OK, "%s: %s", err.where, err.msg);
    static const char *const expect[] = {"cluster.karpenter.nodeClass.status",
                                         "cluster.karpenter.nodeClass.metadata.uid",
                                         "cluster.karpenter.nodeClass.spec.blockDeviceMappings",
                                         "cluster.karpenter.nodeClass.spec.role",
                                         "cluster.karpenter.nodeClass.spec.amiSelectorTerms"};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        cr_assert(has_ignored(&cfg, expect[i]), "%s not listed", expect[i]);
    nodepool_cfg_release(&cfg);
    scenario_release(&sc);

    /* Bottlerocket or a Windows AMI would change the run: refused */
    static const struct {
        const char *set, *msg;
    } cases[] = {
        {"cluster.karpenter.nodeClass.spec.amiSelectorTerms=[{alias: bottlerocket@latest}]",
         "AMI family 'Bottlerocket': the default boot time is the EKS-optimized accelerated "
         "AL2023/AL2 AMI's"},
        {"cluster.karpenter.nodeClass.spec.amiFamily=Windows2022", "'Windows2022' is a Windows AMI"},
        {"cluster.karpenter.nodeClass.spec.userdata=x", "unknown key 'userdata'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *two[] = {sets[0], cases[i].set};
        cr_assert_eq(scenario_load(&sc, FIXTURES "/cluster/good_karpenter_nodeclass.yaml", two, 2,
                                   &err),
                     SIM_OK, "%s: %s", err.where, err.msg);
        cr_assert_eq(nodepool_cfg_load(&cfg, &sc, cat, &err), SIM_EINVAL, "%s accepted",
                     cases[i].set);
        cr_assert(strstr(err.msg, cases[i].msg), "%s: %s", cases[i].set, err.msg);
        scenario_release(&sc);
    }
    /* with a measured boot time, Bottlerocket is accepted */
    const char *three[] = {sets[0], cases[0].set, "cluster.karpenter.launch_to_registered=50s"};
    cr_assert_eq(scenario_load(&sc, FIXTURES "/cluster/good_karpenter_nodeclass.yaml", three, 3,
                               &err),
                 SIM_OK, "%s: %s", err.where, err.msg);
    cr_assert_eq(nodepool_cfg_load(&cfg, &sc, cat, &err), SIM_OK, "%s", err.msg);
    nodepool_cfg_release(&cfg);
    scenario_release(&sc);
}

/* The cluster zone index of zone ID `id` (the catalog's us-east-1 zones, sorted). */
static int32_t zone_at(const struct nodepool_cfg *cfg, const char *id)
{
    for (int32_t z = 0; z < cfg->n_zones; z++)
        if (!strcmp(cfg->zones[z], id))
            return z;
    cr_assert_fail("zone %s is not a cluster zone", id);
    return -1;
}

Test(nodepool, zone_names_through_describe_availability_zones)
{
    /* include/describe_azs_us_east_1.json maps us-east-1a -> use1-az4, 1b -> az6, 1c -> az1,
     * 1d -> az2, 1e -> az3, 1f -> az5. The NodePool allows us-east-1a and us-east-1c, spot
     * g6e.xlarge only: of the six use1-az* zones only use1-az4 and use1-az1 are eligible. */
    struct scenario sc;
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(load("good_zone_names.yaml", &sc, &cfg, &err), SIM_OK, "%s: %s", err.where,
                 err.msg);
    cr_assert_eq(cfg.n_zone_map, 6);
    cr_assert_eq(cfg.n_zones, 6);
    static const char *const ids[] = {"use1-az1", "use1-az2", "use1-az3",
                                      "use1-az4", "use1-az5", "use1-az6"};
    static const char *const names[] = {"us-east-1c", "us-east-1d", "us-east-1e",
                                        "us-east-1a", "us-east-1f", "us-east-1b"};
    for (int32_t z = 0; z < 6; z++) {
        cr_expect_str_eq(cfg.zones[z], ids[z]);
        cr_expect_str_eq(cfg.zone_names[z], names[z]);
        bool want = !strcmp(ids[z], "use1-az1") || !strcmp(ids[z], "use1-az4");
        cr_expect_eq(cfg.kp[0].zone_ok[z], want, "%s", ids[z]);
    }
    cr_expect(cfg.kp[0].capacity[NP_SPOT] && !cfg.kp[0].capacity[NP_ON_DEMAND]);
    /* A node's labels: the zone name on topology.kubernetes.io/zone, the ID on zone-id. */
    int32_t t = -1;
    for (int32_t i = 0; i < cfg.n_types; i++)
        if (!strcmp(cfg.types[i].inst->id, "g6e.xlarge"))
            t = i;
    cr_assert_geq(t, 0);
    struct sched_label lb[NP_MAX_NODE_LABELS];
    char buf[1024];
    int n = np_node_labels(&cfg, cat, t, zone_at(&cfg, "use1-az4"), NP_SPOT, 0, 0, lb, buf,
                           sizeof buf);
    int seen = 0;
    for (int i = 0; i < n; i++) {
        if (!strcmp(lb[i].key, "topology.kubernetes.io/zone")) {
            seen += 1;
            cr_expect_str_eq(lb[i].value, "us-east-1a");
        }
        if (!strcmp(lb[i].key, "topology.k8s.aws/zone-id")) {
            seen += 2;
            cr_expect_str_eq(lb[i].value, "use1-az4");
        }
    }
    cr_expect_eq(seen, 3);
    nodepool_cfg_release(&cfg);
    scenario_release(&sc);
}

Test(nodepool, zone_names_through_an_inline_map_and_in_cluster_zones)
{
    /* {us-east-1a: use1-az4, us-east-1c: use1-az1}; cluster.zones [us-east-1a, us-east-1c]
     * are the IDs use1-az4 and use1-az1 (in the order given); the NodePool allows 1c. */
    struct scenario sc;
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(load("good_zone_map.yaml", &sc, &cfg, &err), SIM_OK, "%s: %s", err.where,
                 err.msg);
    cr_assert_eq(cfg.n_zones, 2);
    cr_expect_str_eq(cfg.zones[0], "use1-az4");
    cr_expect_str_eq(cfg.zones[1], "use1-az1");
    cr_expect_str_eq(cfg.zone_names[0], "us-east-1a");
    cr_expect_str_eq(cfg.zone_names[1], "us-east-1c");
    cr_expect(!cfg.kp[0].zone_ok[0] && cfg.kp[0].zone_ok[1]);
    nodepool_cfg_release(&cfg);
    scenario_release(&sc);
}

static int32_t type_index(const struct nodepool_cfg *cfg, const char *id)
{
    for (int32_t t = 0; t < cfg->n_types; t++)
        if (!strcmp(cfg->types[t].inst->id, id))
            return t;
    cr_assert_fail("no type %s", id);
    return -1;
}

Test(nodepool, allocatable_as_the_providers_compute_it)
{
    /* AWS (aws/karpenter-provider-aws pkg/providers/instancetype/types.go, v1.6). The
     * built-in g6e.xlarge carries Karpenter's generated figure, which the formula gives by
     * hand: cpu 4000m less 6% of the first core (60m), 1% of the second (10m), 0.5% of
     * the next two (10m) = 3920m; memory 32 GiB = 32768 MiB less the VM overhead
     * ceil(7.5% x 32768) = 2458 MiB, kube-reserved 11 MiB x 58 pods (4 ENIs x 14 IPs + 2)
     * + 255 MiB = 893 MiB, eviction 100 MiB: 29317 MiB. */
    struct scenario sc;
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(load("good_karpenter_defaults.yaml", &sc, &cfg, &err), SIM_OK, "%s", err.msg);
    int64_t cpu, mem;
    np_allocatable(&cfg, type_index(&cfg, "g6e.xlarge"), -1, &cpu, &mem);
    cr_assert_eq(cpu, 3920);
    cr_assert_eq(mem, 29317LL * 1048576);
    /* The fixture catalog's g6e.48xlarge has no such figure: the formula with 110 pods
     * (the catalog has no ENI limits): 192000m less 60 + 10 + 10 + 0.25% x 188000 = 550m
     * -> 191450m; 1536 GiB = 1572864 MiB less ceil(117964.8) = 117965, 11 x 110 + 255 =
     * 1465 and 100: 1453334 MiB. */
    np_allocatable(&cfg, type_index(&cfg, "g6e.48xlarge"), -1, &cpu, &mem);
    cr_assert_eq(cpu, 191450);
    cr_assert_eq(mem, 1453334LL * 1048576);
    nodepool_cfg_release(&cfg);
    scenario_release(&sc);
    /* AKS (learn.microsoft.com/azure/aks/node-resource-reservations): Standard_NC24ads_
     * A100_v4, 24 vCPU, 220 GiB. kube-reserved cpu 140m at 4 cores + 10m per core above:
     * 340m -> 23660m. Memory 225280 MiB less min(20 MiB x maxPods + 50 MiB, 25%) and
     * eviction 100 MiB: the az pools' maxPods 30 -> 650 MiB -> 224530 MiB; AKS's default
     * 250 (Azure CNI Overlay) -> 5050 MiB -> 220130 MiB. */
    cr_assert_eq(load("good_aks_az.yaml", &sc, &cfg, &err), SIM_OK, "%s", err.msg);
    int32_t t = type_index(&cfg, "Standard_NC24ads_A100_v4");
    np_allocatable(&cfg, t, 1, &cpu, &mem);
    cr_assert_eq(cpu, 23660);
    cr_assert_eq(mem, 224530LL * 1048576);
    np_allocatable(&cfg, t, -1, &cpu, &mem);
    cr_assert_eq(mem, 220130LL * 1048576);
    nodepool_cfg_release(&cfg);
    scenario_release(&sc);
}

Test(nodepool, a_request_above_its_limit_is_refused_as_the_api_server_does)
{
    struct scenario sc;
    struct sim_err err = {0};
    cr_assert_eq(scenario_load(&sc, FIXTURES "/cluster/bad_request_above_limit.yaml", NULL, 0,
                               &err),
                 SIM_EINVAL);
    cr_assert_str_eq(err.where, FIXTURES "/cluster/bad_request_above_limit.yaml:15:23");
    cr_assert_str_eq(err.msg, "'fleet.pod.resources.requests.cpu' (8) must be less than or "
                              "equal to the cpu limit (4500m), as the API server requires");
    /* A limit alone sets the request (SetDefaults_Pod): 4500m, rounded up from 4.5. */
    const char *sets[] = {"fleet.pod.resources.requests={memory: 1Gi}"};
    cr_assert_eq(scenario_load(&sc, FIXTURES "/cluster/bad_request_above_limit.yaml", sets, 1,
                               &err),
                 SIM_OK, "%s: %s", err.where, err.msg);
    cr_assert_eq(sc.fleet.pod.res.cpu_m, 4500);
    cr_assert_eq(sc.fleet.pod.res.memory, 1073741824);
    scenario_release(&sc);
}

/* ---- Karpenter on Azure: zones as AKS labels them ---------------------------------------- */

/* good_karpenter_azure.yaml with `n` --set overrides; returns the code. */
static int load_kaz(const char *const *sets, size_t n, struct scenario *sc,
                    struct nodepool_cfg *cfg, struct sim_err *err)
{
    int rc = scenario_load(sc, FIXTURES "/cluster/good_karpenter_azure.yaml", sets, n, err);
    cr_assert_eq(rc, SIM_OK, "%s: %s", err->where, err->msg);
    return nodepool_cfg_load(cfg, sc, cat, err);
}

Test(nodepool, karpenter_azure_zones_are_aks_zone_labels)
{
    /* Azure/karpenter-provider-azure v1.14.2 instanceTypeZones: "<region>-<n>" for each
     * zone of the SKU, and "0" (regional) for every SKU; without cluster.zones the region's
     * three zones. The NodePool's In [eastus-2, eastus-3] allows exactly those two. Spot
     * is priced per region in the catalog (Standard_NC24ads_A100_v4 eastus 0.444433 $/h,
     * models/data/instances.json): every zone takes that price. */
    struct scenario sc;
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(load_kaz(NULL, 0, &sc, &cfg, &err), SIM_OK, "%s: %s", err.where, err.msg);
    cr_assert_eq(cfg.cloud, NP_AZURE);
    cr_assert_eq(cfg.n_zones, 4);
    static const char *const want[] = {"eastus-1", "eastus-2", "eastus-3", "0"};
    static const bool ok[] = {false, true, true, false};
    int32_t t = -1;
    for (int32_t i = 0; i < cfg.n_types; i++)
        if (!strcmp(cfg.types[i].inst->id, "Standard_NC24ads_A100_v4"))
            t = i;
    cr_assert_geq(t, 0);
    for (int32_t z = 0; z < 4; z++) {
        cr_expect_str_eq(cfg.zones[z], want[z]);
        cr_expect_eq(cfg.kp[0].zone_ok[z], ok[z], "zone %s", want[z]);
        cr_expect_float_eq(cfg.spot_price[t][z], 0.444433, EPS, "zone %s", want[z]);
    }
    /* the node launched in eastus-2 carries it, as AKS labels a zonal node */
    struct sched_label lb[NP_MAX_NODE_LABELS];
    char buf[1024];
    int n = np_node_labels(&cfg, cat, t, 1, NP_SPOT, 0, 0, lb, buf, sizeof buf);
    cr_expect_str_eq(label_of(lb, n, "topology.kubernetes.io/zone"), "eastus-2");
    cr_expect_str_eq(label_of(lb, n, "topology.kubernetes.io/region"), "eastus");
    cr_expect_str_eq(label_of(lb, n, "karpenter.azure.com/placement-scope"), "zonal");
    n = np_node_labels(&cfg, cat, t, 3, NP_ON_DEMAND, 0, 0, lb, buf, sizeof buf);
    cr_expect_str_eq(label_of(lb, n, "topology.kubernetes.io/zone"), "0");
    cr_expect_str_eq(label_of(lb, n, "karpenter.azure.com/placement-scope"), "regional");
    cr_expect_eq(cfg.ignored.n, 0);
    nodepool_cfg_release(&cfg);
    scenario_release(&sc);
}

Test(nodepool, karpenter_azure_cluster_zones_as_az_prints_them)
{
    /* az vm list-skus prints a SKU's zones as numbers: "3" and "1" become eastus-3 and
     * eastus-1 (in order), "0" is always there; the label form is taken too. */
    static const char *const sets[] = {"cluster.zones=['3', eastus-1]"};
    struct scenario sc;
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(load_kaz(sets, 1, &sc, &cfg, &err), SIM_OK, "%s: %s", err.where, err.msg);
    cr_assert_eq(cfg.n_zones, 3);
    cr_expect_str_eq(cfg.zones[0], "eastus-1");
    cr_expect_str_eq(cfg.zones[1], "eastus-3");
    cr_expect_str_eq(cfg.zones[2], "0");
    /* In [eastus-2, eastus-3]: eastus-2 is no zone of this cluster's SKUs, so it matches
     * nothing (as upstream, where no offering carries it) and is recorded */
    cr_expect_not(cfg.kp[0].zone_ok[0]);
    cr_expect(cfg.kp[0].zone_ok[1]);
    cr_expect_not(cfg.kp[0].zone_ok[2]);
    cr_expect(has_ignored(&cfg, "cluster.karpenter.nodePool.spec.template.spec.requirements.*."
                                "values.0 ('eastus-2' matches no zone)"));
    nodepool_cfg_release(&cfg);
    scenario_release(&sc);
}

Test(nodepool, karpenter_azure_zone_values_in_other_forms_match_nothing)
{
    /* Karpenter registers no value set for topology.kubernetes.io/zone, so the API server
     * and Karpenter accept 'eastus' (the region) and '1' (az's form); no offering carries
     * them, so they match nothing: recorded. NotIn [eastus] excludes nothing. */
    static const struct {
        const char *set;
        bool ok[4];
        const char *note;
    } cases[] = {
        {"cluster.karpenter.nodePool.spec.template.spec.requirements.1.values=[eastus, eastus-3]",
         {false, false, true, false},
         "cluster.karpenter.nodePool.spec.template.spec.requirements.*.values.0 ('eastus' "
         "matches no zone)"},
        {"cluster.karpenter.nodePool.spec.template.spec.requirements.1.values=['1', '0']",
         {false, false, false, true},
         "cluster.karpenter.nodePool.spec.template.spec.requirements.*.values.0 ('1' matches "
         "no zone)"},
        {"cluster.karpenter.nodePool.spec.template.spec.requirements.1={key: "
         "topology.kubernetes.io/zone, operator: NotIn, values: [eastus]}",
         {true, true, true, true},
         "cluster.karpenter.nodePool.spec.template.spec.requirements.*.values.0 ('eastus' "
         "matches no zone)"},
        {"cluster.karpenter.nodePool.spec.template.spec.requirements.1={key: "
         "karpenter.azure.com/placement-scope, operator: In, values: [regional]}",
         {false, false, false, true}, NULL},
        {"cluster.karpenter.nodePool.spec.template.spec.requirements.1={key: "
         "karpenter.azure.com/placement-scope, operator: NotIn, values: [regional]}",
         {true, true, true, false}, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct scenario sc;
        struct nodepool_cfg cfg;
        struct sim_err err = {0};
        const char *sets[] = {cases[i].set};
        cr_assert_eq(load_kaz(sets, 1, &sc, &cfg, &err), SIM_OK, "%s: %s: %s", cases[i].set,
                     err.where, err.msg);
        for (int z = 0; z < 4; z++)
            cr_expect_eq(cfg.kp[0].zone_ok[z], cases[i].ok[z], "%s: zone %s", cases[i].set,
                         cfg.zones[z]);
        if (cases[i].note)
            cr_expect(has_ignored(&cfg, cases[i].note), "%s: %s not recorded", cases[i].set,
                      cases[i].note);
        else
            cr_expect_eq(cfg.ignored.n, 0, "%s", cases[i].set);
        nodepool_cfg_release(&cfg);
        scenario_release(&sc);
    }
}

Test(nodepool, azure_zone_inputs_a_cluster_refuses)
{
    static const struct {
        const char *set, *msg;
    } cases[] = {
        /* karpenter.azure.com/placement-scope has exactly two values (v1beta1 labels.go) */
        {"cluster.karpenter.nodePool.spec.template.spec.requirements.1={key: "
         "karpenter.azure.com/placement-scope, operator: In, values: [zone]}",
         "unknown placement scope 'zone' in "
         "'cluster.karpenter.nodePool.spec.template.spec.requirements.1.values' (did you mean "
         "'zonal'?)"},
        {"cluster.zones=['1', '1']", "zone 'eastus-1' is listed twice in 'cluster.zones'"},
        {"cluster.zones=[westus-1]",
         "'cluster.zones.0' must be an Azure zone as az prints it ('1', '2', '3'), its label "
         "form 'eastus-1', or '0' (regional), got 'westus-1'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct scenario sc;
        struct nodepool_cfg cfg;
        struct sim_err err = {0};
        const char *sets[] = {cases[i].set};
        cr_assert_eq(load_kaz(sets, 1, &sc, &cfg, &err), SIM_EINVAL, "%s accepted",
                     cases[i].set);
        cr_expect_str_eq(err.msg, cases[i].msg, "%s", cases[i].set);
        scenario_release(&sc);
    }
}

Test(nodepool, aks_pools_take_zones_from_availability_zones_not_cluster_zones)
{
    static const char *const sets[] = {"cluster.zones=['1']"};
    struct scenario sc;
    struct nodepool_cfg cfg;
    struct sim_err err = {0};
    cr_assert_eq(scenario_load(&sc, FIXTURES "/cluster/good_aks_az.yaml", sets, 1, &err), SIM_OK,
                 "%s: %s", err.where, err.msg);
    cr_assert_eq(nodepool_cfg_load(&cfg, &sc, cat, &err), SIM_EINVAL);
    cr_expect_str_eq(err.msg, "'cluster.zones' is not read with AKS node pools: a pool's zones "
                              "are its 'availabilityZones' ('1', '2', '3' as az prints them)");
    scenario_release(&sc);
}
