/*
 * podres.h: the CPU and memory the vLLM container requests (`fleet.pod.resources`,
 * `requests`/`limits` `cpu` and `memory`, Kubernetes quantities), read as the API server
 * defaults and validates them (kubernetes/kubernetes v1.33: a limit without a request
 * sets the request, pkg/apis/core/v1/defaults.go SetDefaults_Pod; a request above its
 * limit is refused, pkg/apis/core/validation ValidateResourceRequirements). They bind wherever a real cluster binds on them (docs/nodes.md): the
 * kube-scheduler's NodeResourcesFit, Karpenter's queue order and instance-type fit, the
 * cluster autoscaler's pod order, estimate and scale-down simulation.
 */
#ifndef LLMCAP_SIM_CONFIG_PODRES_H
#define LLMCAP_SIM_CONFIG_PODRES_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/core/err.h"

struct ynode;

/* A container's cpu and memory requests; 0 when it requests none. */
struct pod_cpu_mem {
    int64_t cpu_m;                /* millicores (Quantity.MilliValue: rounded up) */
    int64_t memory;               /* bytes (Quantity.Value: rounded up) */
    const struct ynode *cpu_node; /* the value that set each (request, else limit), NULL */
    const struct ynode *mem_node;
    int32_t pods;                 /* daemonset_requests only: the DaemonSet pods every node
                                     runs, counted against its maxPods (0: none given) */
};

/* Read `resources` (NULL or null: none) named `key` in messages; the GPU resources are
 * gpushare_pod_resources_read's. A request above its limit is an error, as the API server
 * rejects it ("must be less than or equal to cpu limit"). */
int podres_read(const struct ynode *res, const char *key, struct pod_cpu_mem *out,
                struct sim_err *err);

/* `cluster.daemonset_requests: {cpu, memory, pods}` (NULL: none): the summed requests of
 * the DaemonSet pods every node runs and how many they are (docs/nodes.md#allocatable;
 * the count binds only in the planner's pods per node, docs/plan.md). */
int podres_daemonsets_read(const struct ynode *n, struct pod_cpu_mem *out, struct sim_err *err);

#endif
