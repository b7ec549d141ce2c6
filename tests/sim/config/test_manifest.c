/*
 * manifest: pasted ScaledObjects and HPAs read into configs. Good fixtures are checked
 * field by field against the YAML; every error path has a fixture
 * tests/fixtures/manifests/bad_*.yaml and an exact message and position.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sim/config/manifest.h"

#define M FIXTURES "/manifests/"

Test(manifest, reads_a_vllm_scaled_object)
{
    struct keda_config c;
    struct sim_err e = {0};
    cr_assert_eq(manifest_load_scaledobject(M "so_vllm.yaml", &c, &e), SIM_OK, "%s: %s", e.where,
                 e.msg);
    cr_assert_eq(c.polling_interval_us, 30000000);
    cr_assert_eq(c.cooldown_period_us, 300000000);
    cr_assert_eq(c.initial_cooldown_period_us, 0);
    cr_assert(c.has_min_replica_count);
    cr_assert_eq(c.min_replica_count, 0);
    cr_assert_eq(c.max_replica_count, 10);
    cr_assert_not(c.has_idle_replica_count);
    cr_assert_not(c.has_fallback);
    cr_assert_not(c.has_behavior); /* no advanced.horizontalPodAutoscalerConfig: nil */
    cr_assert_eq(c.n_triggers, 1);
    const struct keda_trigger *t = &c.triggers[0];
    cr_assert_str_eq(t->name, "waiting");
    cr_assert_eq(t->metric_type, KEDA_METRIC_AVERAGE_VALUE);
    cr_assert_float_eq(t->threshold, 5.0, 0.0);
    cr_assert_float_eq(t->activation_threshold, 0.5, 0.0);
    cr_assert(t->ignore_null_values);
    cr_assert_not(t->use_cached_metrics);
    cr_assert_str_eq(t->query.text, "sum(vllm:num_requests_waiting{model_name=\"llama-3-8b\"})");
    cr_assert_str_eq(t->query.file, M "so_vllm.yaml");
    cr_assert_eq(t->query.line, 23);
    cr_assert_eq(t->query.col, 14);
    keda_config_release(&c);
}

Test(manifest, reads_every_scaled_object_field)
{
    struct keda_config c;
    struct sim_err e = {0};
    cr_assert_eq(manifest_load_scaledobject(M "so_full.yaml", &c, &e), SIM_OK, "%s: %s", e.where,
                 e.msg);
    cr_assert_eq(c.polling_interval_us, 15000000);
    cr_assert_eq(c.cooldown_period_us, 600000000);
    cr_assert_eq(c.initial_cooldown_period_us, 120000000);
    cr_assert(c.has_idle_replica_count);
    cr_assert_eq(c.idle_replica_count, 0);
    cr_assert_eq(c.min_replica_count, 2);
    cr_assert_eq(c.max_replica_count, 16);
    cr_assert(c.has_fallback);
    cr_assert_eq(c.fallback_failure_threshold, 3);
    cr_assert_eq(c.fallback_replicas, 6);
    cr_assert_eq(c.fallback_behavior, KEDA_FALLBACK_CURRENT_REPLICAS_IF_HIGHER);
    cr_assert_not(c.pause_scale_in); /* the annotation says "false" */
    /* behavior: scaleDown has only policies, the rest defaulted (window unset: the
     * controller's 300 s, selectPolicy Max); scaleUp has window, Min and a tolerance,
     * and the default policies */
    cr_assert(c.has_behavior);
    const struct hpa_rules *d = &c.behavior.scale_down, *u = &c.behavior.scale_up;
    cr_assert_eq(d->stabilization_window_s, HPA_WINDOW_UNSET);
    cr_assert_eq(d->select_policy, HPA_SELECT_MAX);
    cr_assert_eq(d->n_policies, 1);
    cr_assert_eq(d->policies[0].type, HPA_POLICY_PODS);
    cr_assert_eq(d->policies[0].value, 1);
    cr_assert_eq(d->policies[0].period_s, 180);
    cr_assert_eq(u->stabilization_window_s, 30);
    cr_assert_eq(u->select_policy, HPA_SELECT_MIN);
    cr_assert(u->has_tolerance);
    cr_assert_float_eq(u->tolerance, 0.05, 1e-15); /* "50m" */
    cr_assert_eq(u->n_policies, 2);
    cr_assert_eq(u->policies[0].type, HPA_POLICY_PODS);
    cr_assert_eq(u->policies[0].value, 4);
    cr_assert_eq(u->policies[1].type, HPA_POLICY_PERCENT);
    cr_assert_eq(u->policies[1].value, 100);
    cr_assert_eq(c.n_triggers, 2);
    cr_assert_null(c.triggers[0].name);
    cr_assert_eq(c.triggers[0].metric_type, KEDA_METRIC_VALUE);
    cr_assert(c.triggers[0].use_cached_metrics);
    cr_assert_not(c.triggers[0].ignore_null_values);
    cr_assert_float_eq(c.triggers[0].threshold, 0.75, 0.0); /* a bare YAML number */
    cr_assert_str_eq(c.triggers[1].name, "queue");
    cr_assert_float_eq(c.triggers[1].threshold, 2.5, 0.0);
    cr_assert_float_eq(c.triggers[1].activation_threshold, -1.0, 0.0);
    cr_assert_str_eq(c.triggers[1].query.text, "sum(vllm:num_requests_waiting)\n");
    /* a block scalar ('|' on line 51): its text starts on line 52, at a column the YAML
     * tree does not keep (0: messages give the line only) */
    cr_assert_eq(c.triggers[1].query.line, 52);
    cr_assert_eq(c.triggers[1].query.col, 0);
    /* the HPA KEDA makes from it */
    struct hpa_config h;
    keda_hpa_config(&c, &h);
    cr_assert_eq(h.min_replicas, 2);
    cr_assert_eq(h.metrics[0].target_type, HPA_TARGET_VALUE);
    cr_assert_eq(h.metrics[0].target_milli, 750);
    cr_assert_eq(h.metrics[1].target_milli, 2500);
    keda_config_release(&c);
}

Test(manifest, reads_an_hpa)
{
    struct hpa_config c;
    struct sim_err e = {0};
    cr_assert_eq(manifest_load_hpa(M "hpa_vllm.yaml", &c, &e), SIM_OK, "%s: %s", e.where, e.msg);
    cr_assert_eq(c.min_replicas, 1);
    cr_assert_eq(c.max_replicas, 8);
    cr_assert_eq(c.n_metrics, 2);
    cr_assert_eq(c.metrics[0].source, HPA_SOURCE_PODS);
    cr_assert_eq(c.metrics[0].target_type, HPA_TARGET_AVERAGE_VALUE);
    cr_assert_eq(c.metrics[0].target_milli, 40000);
    cr_assert_str_eq(c.metrics[0].query.text, "vllm:num_requests_running");
    cr_assert_eq(c.metrics[0].query.line, 16);
    cr_assert_eq(c.metrics[0].query.col, 15);
    cr_assert_eq(c.metrics[1].source, HPA_SOURCE_EXTERNAL);
    cr_assert_eq(c.metrics[1].target_type, HPA_TARGET_VALUE);
    cr_assert_eq(c.metrics[1].target_milli, 500); /* "500m" */
    cr_assert_str_eq(
        c.metrics[1].query.text,
        "vllm:num_requests_waiting{model_name=\"llama-3-8b\",namespace=\"inference\"}");
    cr_assert(c.has_behavior);
    cr_assert_eq(c.behavior.scale_down.stabilization_window_s, 120);
    cr_assert_eq(c.behavior.scale_down.n_policies, 1); /* default Percent 100/15s */
    cr_assert_eq(c.behavior.scale_down.policies[0].type, HPA_POLICY_PERCENT);
    cr_assert_eq(c.behavior.scale_up.n_policies, 2);
    hpa_config_release(&c);
}

Test(manifest, keys_inside_a_scenario_carry_its_prefix)
{
    static const char text[] = "fleet:\n"
                               "  autoscaler:\n"
                               "    scaledObject:\n"
                               "      apiVersion: keda.sh/v1alpha1\n"
                               "      kind: ScaledObject\n"
                               "      spec:\n"
                               "        scaleTargetRef: {name: vllm}\n"
                               "        maxReplicaCount: 0\n"
                               "        triggers: []\n";
    struct sim_err e = {0};
    struct ydoc *d = ydoc_load_string("s.yaml", text, strlen(text), &e);
    cr_assert_not_null(d);
    const struct ynode *so =
        ynode_get(ynode_get(ynode_get(ydoc_root(d), "fleet"), "autoscaler"), "scaledObject");
    struct keda_config c;
    cr_assert_eq(manifest_read_scaledobject(so, "fleet.autoscaler.scaledObject", &c, &e),
                 SIM_EINVAL);
    cr_assert_str_eq(e.where, "s.yaml:8:26");
    cr_assert_str_eq(e.msg, "'fleet.autoscaler.scaledObject.spec.maxReplicaCount' must be >= 1 "
                            "(replicas), got '0'");
    ydoc_free(d);
}

#define SO_WITH_BEHAVIOR(b)                                                                        \
    "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nspec:\n"                                    \
    "  scaleTargetRef: {name: x}\n"                                                                \
    "  advanced:\n    horizontalPodAutoscalerConfig:\n      behavior: " b "\n"                     \
    "  triggers:\n  - type: prometheus\n"                                                          \
    "    metadata: {serverAddress: x, query: up, threshold: 1}\n"

static void read_text(const char *text, struct keda_config *c)
{
    struct sim_err e = {0};
    struct ydoc *d = ydoc_load_string("a.yaml", text, strlen(text), &e);
    cr_assert_not_null(d, "%s", e.msg);
    cr_assert_eq(manifest_read_scaledobject(ydoc_root(d), "", c, &e), SIM_OK, "%s", e.msg);
    ydoc_free(d);
}

Test(manifest, behavior_null_stays_nil_and_empty_map_is_all_defaults)
{
    /* hpa.go passes behavior through: nil (the legacy path) stays nil; {} is a behavior
     * the API server fills with every default */
    struct keda_config c;
    read_text(SO_WITH_BEHAVIOR(""), &c);
    cr_assert_not(c.has_behavior);
    keda_config_release(&c);
    read_text(SO_WITH_BEHAVIOR("{}"), &c);
    cr_assert(c.has_behavior);
    cr_assert_eq(c.behavior.scale_up.n_policies, 2);
    cr_assert_eq(c.behavior.scale_up.stabilization_window_s, 0);
    cr_assert_eq(c.behavior.scale_down.stabilization_window_s, HPA_WINDOW_UNSET);
    cr_assert_eq(c.behavior.scale_down.policies[0].type, HPA_POLICY_PERCENT);
    cr_assert_eq(c.behavior.scale_down.policies[0].value, 100);
    cr_assert_eq(c.behavior.scale_down.policies[0].period_s, 15);
    keda_config_release(&c);
}

Test(manifest, quantities_round_up_to_milli_units)
{
    /* resource.Quantity MilliValue() is ceil(value x 1000) */
    static const struct {
        const char *text;
        int64_t milli;
        double approx;
    } ok[] = {
        {"5", 5000, 5.0},        {"0.5", 500, 0.5},        {"500m", 500, 0.5},
        {"2k", 2000000, 2000.0}, {"1Ki", 1024000, 1024.0}, {"1e3", 1000000, 1000.0},
        {"1.5E-3", 2, 0.0015},   {"0.0001", 1, 0.0001},    {"+7", 7000, 7.0},
        {"-0.0005", 0, -0.0005}, {"100u", 1, 0.0001},      {".5", 500, 0.5},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t m;
        double a;
        cr_assert_eq(manifest_parse_quantity(ok[i].text, &m, &a), SIM_OK, "%s", ok[i].text);
        cr_assert_eq(m, ok[i].milli, "%s: %lld", ok[i].text, (long long)m);
        /* relative 1e-12: strtod and pow are exact to a few ulps here */
        cr_assert_float_eq(a, ok[i].approx, 1e-12 * fabs(ok[i].approx) + 1e-18, "%s", ok[i].text);
    }
    static const char *const bad[] = {"",   "m", "5x", "1..2", "5 m", "1e", "9999999999999999999",
                                      "10E"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t m;
        double a;
        cr_assert_eq(manifest_parse_quantity(bad[i], &m, &a), SIM_EINVAL, "'%s'", bad[i]);
    }
}

static const struct {
    const char *file, *pos, *msg;
} bad_cases[] = {
    {"bad_hpa_bad_quantity.yaml", "19:23",
     "'spec.metrics.0.external.target.averageValue' must be a Kubernetes quantity such as "
     "'5', '0.5' or '500m', got '5x'"},
    {"bad_hpa_match_expressions.yaml", "19:11",
     "'spec.metrics.0.external.metric.selector.matchExpressions' is not supported by "
     "llmcap: select series with 'matchLabels'"},
    {"bad_hpa_max_below_min.yaml", "11:16",
     "'spec.maxReplicas' (8) must be >= 'spec.minReplicas' (9)"},
    {"bad_hpa_metric_name_slash.yaml", "16:15",
     "'spec.metrics.0.external.metric.name' may not be '.' or '..' or contain '/' or '%', "
     "got 'vllm/waiting'"},
    {"bad_hpa_min_zero.yaml", "10:16",
     "'spec.minReplicas' must be >= 1 (replicas), got '0' (0 needs the alpha "
     "HPAScaleToZero feature gate, which llmcap does not model: use a KEDA ScaledObject "
     "with minReplicaCount 0)"},
    {"bad_hpa_missing_max.yaml", "6:3", "'spec.maxReplicas' is required"},
    {"bad_hpa_negative_target.yaml", "19:23",
     "'spec.metrics.0.external.target.averageValue' must be positive, got '-5'"},
    {"bad_hpa_no_metrics.yaml", "6:3",
     "'spec.metrics' is empty: Kubernetes then scales on 80% CPU utilization, which "
     "llmcap does not simulate (add a Pods or External metric)"},
    {"bad_hpa_pods_value.yaml", "18:15",
     "'spec.metrics.0.pods.target.type' must be 'AverageValue' for a Pods metric, got 'Value'"},
    {"bad_hpa_resource_metric.yaml", "13:11",
     "'spec.metrics.0.type' 'Resource' (CPU or memory) is not simulated by llmcap: use a "
     "Pods or External metric on a Prometheus series (e.g. DCGM_FI_DEV_GPU_UTIL or "
     "vllm:num_requests_waiting)"},
    {"bad_hpa_target_mismatch.yaml", "19:16",
     "'spec.metrics.0.external.target.value' does not go with 'type: AverageValue' (set "
     "'averageValue')"},
    {"bad_hpa_v1.yaml", "1:13",
     "'apiVersion' must be 'autoscaling/v2', got 'autoscaling/v1' (v1 scales on CPU only, "
     "which llmcap does not simulate)"},
    {"bad_hpa_v2beta2.yaml", "1:13",
     "'apiVersion' must be 'autoscaling/v2', got 'autoscaling/v2beta2' (removed in "
     "Kubernetes 1.26; the fields are the same)"},
    {"bad_hpa_wrong_source.yaml", "14:5",
     "'spec.metrics.0.external' does not go with 'type: Pods'"},
    {"bad_so_api_version.yaml", "1:13",
     "'apiVersion' must be 'keda.sh/v1alpha1' for a KEDA ScaledObject, got 'keda.sh/v1'"},
    {"bad_so_duplicate_trigger_name.yaml", "18:11",
     "'spec.triggers.1.name' must be unique, got 'queue', the name of 'spec.triggers.0' too"},
    {"bad_so_empty_policies.yaml", "13:21",
     "'spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.policies' must "
     "specify at least one policy"},
    {"bad_so_fallback_missing_replicas.yaml", "10:5", "'spec.fallback.replicas' is required"},
    {"bad_so_idle_not_below_min.yaml", "8:21",
     "'spec.idleReplicaCount' (1) must be < 'spec.minReplicaCount' (1)"},
    {"bad_so_ignore_null.yaml", "16:25",
     "'spec.triggers.0.metadata.ignoreNullValues' must be \"true\" or \"false\", got 'yes'"},
    {"bad_so_meta_typo.yaml", "16:7",
     "unknown key 'activationThreshhold' in 'spec.triggers.0.metadata' (did you mean "
     "'activationThreshold'?)"},
    {"bad_so_metric_type_utilization.yaml", "12:17",
     "'spec.triggers.0.metricType' 'Utilization' is not supported for a prometheus "
     "trigger (KEDA: AverageValue or Value)"},
    {"bad_so_min_above_max.yaml", "8:20",
     "'spec.minReplicaCount' (12) must be <= 'spec.maxReplicaCount' (10)"},
    {"bad_so_missing_query.yaml", "13:7", "'spec.triggers.0.metadata.query' is required"},
    {"bad_so_missing_server.yaml", "13:7", "'spec.triggers.0.metadata.serverAddress' is required"},
    {"bad_so_no_triggers.yaml", "10:13", "'spec.triggers' must hold at least one trigger"},
    {"bad_so_not_map.yaml", "1:1", "expected a map at the top level, found a sequence"},
    {"bad_so_paused.yaml", "6:5",
     "annotation 'autoscaling.keda.sh/paused' in 'metadata.annotations' is not supported "
     "by llmcap (a paused ScaledObject does not autoscale: use 'fleet.replicas')"},
    {"bad_so_policy_period.yaml", "16:28",
     "'spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.policies.0.periodSeco"
     "nds' must be in [1, 1800] (s), got '3600'"},
    {"bad_so_polling_zero.yaml", "8:20", "'spec.pollingInterval' must be >= 1 (s), got '0'"},
    {"bad_so_scaledjob.yaml", "2:7",
     "'kind' must be 'ScaledObject', got 'ScaledJob' (llmcap scales a Deployment of model "
     "servers, not Jobs)"},
    {"bad_so_scaling_modifiers.yaml", "11:7",
     "'spec.advanced.scalingModifiers' is not supported by llmcap (the formula needs "
     "KEDA's expression engine): write one trigger whose PromQL query computes it"},
    {"bad_so_select_policy.yaml", "13:25",
     "'spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.selectPolicy' must be "
     "one of Max, Min, Disabled, got 'max' (did you mean 'Max'?)"},
    {"bad_so_threshold_quantity.yaml", "15:18",
     "'spec.triggers.0.metadata.threshold' must be a plain number such as '5' or '0.5' "
     "(KEDA reads it as a float, not a Kubernetes quantity), got '500m'"},
    {"bad_so_threshold_text.yaml", "15:18",
     "'spec.triggers.0.metadata.threshold' must be a number such as '5' or '0.5', got 'five'"},
    {"bad_so_threshold_zero.yaml", "15:18",
     "'spec.triggers.0.metadata.threshold' must round to at least 0.001 (KEDA passes it to "
     "the HPA in thousandths), got '0.0004'"},
    {"bad_so_tolerance_negative.yaml", "13:22",
     "'spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.tolerance' must be "
     ">= 0, got '-0.1'"},
    {"bad_so_trigger_cpu.yaml", "11:11",
     "'spec.triggers.0.type' 'cpu' is not supported by llmcap: CPU and memory are not "
     "simulated (supported trigger types: prometheus)"},
    {"bad_so_trigger_kafka.yaml", "11:11",
     "'spec.triggers.0.type' 'kafka' is not supported by llmcap (supported trigger types: "
     "prometheus)"},
    {"bad_so_unknown_spec_key.yaml", "9:3",
     "unknown key 'cooldownPeriods' in 'spec' (did you mean 'cooldownPeriod'?)"},
    {"bad_so_use_cached_string.yaml", "12:23",
     "'spec.triggers.0.useCachedMetrics' must be true or false, got a quoted string 'true'"},

};

Test(manifest, every_bad_fixture_fails_with_its_message_and_position)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        char path[512], where[600];
        snprintf(path, sizeof path, M "%s", bad_cases[i].file);
        snprintf(where, sizeof where, "%s:%s", path, bad_cases[i].pos);
        struct sim_err e = {0};
        int rc;
        if (!strncmp(bad_cases[i].file, "bad_hpa", 7)) {
            struct hpa_config c;
            rc = manifest_load_hpa(path, &c, &e);
        } else {
            struct keda_config c;
            rc = manifest_load_scaledobject(path, &c, &e);
        }
        cr_assert_eq(rc, SIM_EINVAL, "%s", bad_cases[i].file);
        cr_assert_str_eq(e.where, where, "%s", bad_cases[i].file);
        cr_assert_str_eq(e.msg, bad_cases[i].msg, "%s", bad_cases[i].file);
    }
}

Test(manifest, a_missing_file_is_reported_with_its_path)
{
    struct keda_config c;
    struct sim_err e = {0};
    cr_assert_eq(manifest_load_scaledobject(M "no_such.yaml", &c, &e), SIM_ENOENT);
    cr_assert_str_eq(e.where, M "no_such.yaml");
}

#include "sim/config/ignored.h"

static bool listed(const struct ignored_fields *ig, const char *path)
{
    for (size_t i = 0; i < ig->n; i++)
        if (!strcmp(ig->path[i], path))
            return true;
    return false;
}

Test(manifest, objects_as_kubectl_prints_them_read_as_applied_and_list_what_is_ignored)
{
    struct sim_err e = {0};
    struct ydoc *d = ydoc_load_file(M "so_kubectl.yaml", &e);
    cr_assert_not_null(d, "%s", e.msg);
    struct keda_config c;
    struct ignored_fields ig = {0};
    cr_assert_eq(manifest_read_scaledobject_ig(ydoc_root(d), "fleet.autoscaler.scaledObject", &c,
                                               &ig, &e),
                 SIM_OK, "%s: %s", e.where, e.msg);
    cr_assert_eq(c.max_replica_count, 8);
    cr_assert_eq(c.min_replica_count, 1);
    cr_assert_float_eq(c.triggers[0].threshold, 4.0, 0.0);
    cr_assert(c.pause_scale_in);      /* a modelled annotation: read, not listed */
    cr_assert_not(c.pause_scale_out);
    static const char *const so_expect[] = {
        "fleet.autoscaler.scaledObject.status",
        "fleet.autoscaler.scaledObject.metadata.managedFields",
        "fleet.autoscaler.scaledObject.metadata.uid",
        "fleet.autoscaler.scaledObject.metadata.resourceVersion",
        "fleet.autoscaler.scaledObject.metadata.generation",
        "fleet.autoscaler.scaledObject.metadata.creationTimestamp",
        "fleet.autoscaler.scaledObject.metadata.finalizers",
        "fleet.autoscaler.scaledObject.metadata.labels",
        "fleet.autoscaler.scaledObject.metadata.annotations.kubectl.kubernetes.io/"
        "last-applied-configuration",
        "fleet.autoscaler.scaledObject.spec.triggers.*.metadata.serverAddress",
        "fleet.autoscaler.scaledObject.spec.scaleTargetRef"};
    for (size_t i = 0; i < sizeof so_expect / sizeof so_expect[0]; i++)
        cr_assert(listed(&ig, so_expect[i]), "%s not listed", so_expect[i]);
    cr_assert_not(listed(&ig, "fleet.autoscaler.scaledObject.metadata.annotations."
                              "autoscaling.keda.sh/paused-scale-in"));
    cr_assert_eq(ig.n, sizeof so_expect / sizeof so_expect[0], "%zu listed", ig.n);
    keda_config_release(&c);
    ydoc_free(d);

    d = ydoc_load_file(M "hpa_kubectl.yaml", &e);
    cr_assert_not_null(d, "%s", e.msg);
    struct hpa_config h;
    struct ignored_fields ih = {0};
    cr_assert_eq(manifest_read_hpa_ig(ydoc_root(d), "", &h, &ih, &e), SIM_OK, "%s: %s", e.where,
                 e.msg);
    cr_assert_eq(h.max_replicas, 8);
    cr_assert_eq(h.behavior.scale_up.n_policies, 2);
    cr_assert(listed(&ih, "status"));
    cr_assert(listed(&ih, "metadata.managedFields"));
    cr_assert(listed(&ih, "metadata.annotations.kubectl.kubernetes.io/last-applied-configuration"));
    hpa_config_release(&h);
    ydoc_free(d);
}
