/*
 * schedcfg.h: the scheduling constraints of the scenario's objects, read strictly into the
 * kube-scheduler model's structs (sim/k8s/scheduler.h):
 *   - a pod template's nodeSelector, tolerations and affinity.nodeAffinity, as in a
 *     Deployment's spec.template.spec (fleet.pod); podAffinity, podAntiAffinity and
 *     topologySpreadConstraints would change placement and are not modelled: errors;
 *   - node taints as a NodePool writes them ({key, value, effect}) or as AKS's
 *     nodeTaints does ("key=value:Effect");
 *   - the scheduler profile: `cluster.scheduler` with `profile: default | bin-packing` or a
 *     pasted KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1).
 * Strings are borrowed from the YAML tree (it outlives the run). Errors are
 * file:line:col at the offending key or value.
 */
#ifndef LLMCAP_SIM_SCHEDCFG_H
#define LLMCAP_SIM_SCHEDCFG_H

#include <stdbool.h>

#include "sim/config/ynode.h"
#include "sim/core/err.h"
#include "sim/k8s/scheduler.h"

/* fleet.pod's nodeSelector, tolerations, affinity, topologySpreadConstraints (absent keys
 * leave `out` as it is). `ctx` names the map in messages ("fleet.pod"). */
int schedcfg_pod(const struct ynode *pod, const char *ctx, struct sched_pod *out,
                 struct sim_err *err);

/* A NodePool's spec.template.spec.taints: a list of {key, value, effect}. */
int schedcfg_taints(const struct ynode *seq, const char *ctx, struct sched_taint *out,
                    int max, int *n, struct sim_err *err);

/* One AKS nodeTaints entry "key=value:Effect" (or "key:Effect"), split into `buf` (owned by
 * the caller, at least as long as the text) which the taint's strings point into. */
int schedcfg_aks_taint(const struct ynode *s, const char *ctx, char *buf, size_t n,
                       struct sched_taint *out, struct sim_err *err);

/* A map of labels (metadata.labels, nodeLabels): string values. */
int schedcfg_labels(const struct ynode *map, const char *ctx, struct sched_label *out, int max,
                    int *n, struct sim_err *err);

/* cluster.scheduler (`configuration` may be a {file: ...} include of sc's): the profile, and whether
 * the API server adds the ExtendedResourceToleration (`*ert`, left as the caller's
 * default when not given). */
struct scenario;
int schedcfg_profile(const struct scenario *sc, const struct ynode *map, const char *ctx,
                     struct sched_profile *out, bool *ert, struct sim_err *err);

#endif
