/*
 * scheduler.h: the kube-scheduler's choice of a node for one pod.
 *
 * kubernetes/kubernetes pkg/scheduler (v1.33; the formulas below are those of v1.26 on,
 * except BalancedAllocation's skip of best-effort pods, new in v1.33: kubernetes#129138):
 * Filter, then Score with the default plugins and weights, then selectHost
 * (schedule_one.go). The interface is narrow on purpose: a pod's requests and
 * scheduling constraints, and the candidate nodes with their allocatable and allocated
 * resources, labels, taints, the pod's own workload's pods on them and whether the image
 * is there; out comes the index of the chosen node, or -1 with the reasons (the
 * "0/5 nodes are available: ..." line of a FailedScheduling event).
 *
 * Filter, in the default profile's order, the first failing plugin naming the reason:
 *   TaintToleration  (tainttoleration/taint_toleration.go): every NoSchedule and NoExecute
 *                    taint must be tolerated;
 *   NodeAffinity     (nodeaffinity/node_affinity.go, component-helpers nodeaffinity):
 *                    spec.nodeSelector (every label equal) and requiredDuringScheduling
 *                    nodeSelectorTerms (ORed; the expressions of a term ANDed; an empty
 *                    term matches nothing);
 *   NodeResourcesFit (noderesources/fit.go): request <= allocatable - requested for each
 *                    resource the pod requests (cpu, memory, nvidia.com/gpu), every
 *                    insufficient one a reason ("Insufficient memory"). A resource whose
 *                    allocatable the caller does not know (0) is not checked;
 *                    nvidia.com/gpu is always known.
 * Score, each plugin's node scores in [0, 100], normalised as upstream, summed with the
 * profile's weights (default: TaintToleration 3, NodeAffinity 2, PodTopologySpread 2,
 * NodeResourcesFit 1, NodeResourcesBalancedAllocation 1, ImageLocality 1; InterPodAffinity
 * 2 scores 0 without pod affinity terms, which are refused at load):
 *   NodeResourcesFit LeastAllocated  sum_r w_r (alloc_r - req_r) * 100 / alloc_r / sum_r w_r
 *                    MostAllocated   sum_r w_r min(req_r, alloc_r) * 100 / alloc_r / sum_r w_r
 *                    (least_allocated.go, most_allocated.go; integer division; req_r
 *                    includes the pod; cpu and memory count the non-zero defaults 100m
 *                    and 200 MiB for pods that request none (schedutil.GetNonzeroRequests);
 *                    a resource the node does not have (alloc 0) or an extended resource
 *                    the pod does not request is left out of both sums);
 *   BalancedAllocation  (1 - std of the requested fractions of cpu and memory) * 100,
 *                    actual requests (useRequested), skipped for a pod that requests
 *                    neither;
 *   TaintToleration  the count of PreferNoSchedule taints not tolerated, normalised
 *                    reversed: 100 - 100 * count / max (all 100 when max is 0);
 *   NodeAffinity     the sum of the weights of the preferred terms the node matches,
 *                    normalised: 100 * sum / max;
 *   ImageLocality    the image's size scaled by the share of nodes that have it, clamped
 *                    to [23 MB, 1000 MB] and mapped onto [0, 100] (one container);
 *   PodTopologySpread the system default constraints (kubernetes.io/hostname maxSkew 3,
 *                    topology.kubernetes.io/zone maxSkew 5, ScheduleAnyway) for a pod owned
 *                    by a ReplicaSet: raw = sum_c cnt_c * ln(domains_c + 2) + maxSkew_c - 1
 *                    rounded, normalised 100 * (max + min - raw) / max (scoring.go).
 * selectHost: the highest total; ties broken uniformly at random (RNG_SCHEDULER). One
 * feasible node is taken without scoring (schedulePod). Every node is scored: upstream
 * samples percentageOfNodesToScore only beyond 100 feasible nodes.
 */
#ifndef LLMCAP_SIM_SCHEDULER_H
#define LLMCAP_SIM_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/core/err.h"

struct rng_set;

enum sched_res { SCHED_CPU, SCHED_MEMORY, SCHED_GPU, SCHED_N_RES }; /* milli-CPU, bytes, devices */

/* Taint effects; SCHED_EFFECT_ANY only in a toleration (an empty effect matches all). */
enum sched_effect { SCHED_EFFECT_ANY, SCHED_NO_SCHEDULE, SCHED_PREFER_NO_SCHEDULE,
                    SCHED_NO_EXECUTE };

struct sched_label {
    const char *key, *value;
};

struct sched_taint {
    const char *key, *value; /* value "" when none */
    enum sched_effect effect;
};

/* A toleration: operator Exists (`exists`) or Equal; an empty key (NULL or "") with Exists
 * tolerates every taint; effect SCHED_EFFECT_ANY matches every effect. */
struct sched_toleration {
    const char *key, *value;
    bool exists;
    enum sched_effect effect;
};

enum sched_op { SCHED_IN, SCHED_NOT_IN, SCHED_EXISTS, SCHED_DOES_NOT_EXIST, SCHED_GT, SCHED_LT };

#define SCHED_MAX_VALUES 16
#define SCHED_MAX_EXPRS 8
#define SCHED_MAX_TERMS 8
#define SCHED_MAX_SELECTOR 16
#define SCHED_MAX_TOLERATIONS 16

/* A node selector requirement (matchExpressions item). Gt and Lt compare the label, read
 * as an integer, with values[0]; a label that is not an integer does not match. */
struct sched_expr {
    const char *key;
    enum sched_op op;
    const char *values[SCHED_MAX_VALUES];
    int n_values;
};

struct sched_term {
    struct sched_expr exprs[SCHED_MAX_EXPRS];
    int n_exprs;
};

struct sched_pref {
    int32_t weight; /* 1..100 */
    struct sched_term term;
};

/* The pod's side, as in spec.template.spec of its Deployment. */
struct sched_pod {
    int64_t requests[SCHED_N_RES]; /* 0: none declared */
    struct sched_label node_selector[SCHED_MAX_SELECTOR];
    int n_node_selector;
    struct sched_term required[SCHED_MAX_TERMS]; /* requiredDuringScheduling... terms */
    int n_required;
    bool has_required; /* the pod declares required node affinity (maybe all terms empty) */
    struct sched_pref preferred[SCHED_MAX_TERMS];
    int n_preferred;
    struct sched_toleration tolerations[SCHED_MAX_TOLERATIONS];
    int n_tolerations;
    bool owned; /* owned by a ReplicaSet: the default topology spread constraints apply */
    int64_t image_bytes; /* the container image's size (ImageLocality), 0 unknown */
};

/* One candidate node. */
struct sched_node {
    int64_t allocatable[SCHED_N_RES]; /* 0: unknown or none */
    int64_t requested[SCHED_N_RES];   /* sum of the requests of the pods bound to it */
    int64_t nonzero_requested[2];     /* cpu, memory with the non-zero defaults per pod */
    const struct sched_label *labels;
    int n_labels;
    const struct sched_taint *taints;
    int n_taints;
    int32_t matching;   /* pods its topology spread selector matches (the pod's own
                           Deployment's) on it, not terminating */
    bool affinity_mismatch; /* fails a node requirement of the pod the caller evaluated (its
                               GPU model): NodeAffinity filters it, and the topology spread
                               does not count it (nodeAffinityPolicy Honor) */
    bool has_image;     /* the pod's image is in node.status.images */
    bool unschedulable; /* cordoned (spec.unschedulable): NodeUnschedulable filters it */
};

enum sched_strategy { SCHED_LEAST_ALLOCATED, SCHED_MOST_ALLOCATED };

/* A scheduling profile: NodeResourcesFit's scoringStrategy and the score plugins' weights
 * (0 disables one). */
struct sched_profile {
    enum sched_strategy strategy;
    int64_t res_weight[SCHED_N_RES]; /* scoringStrategy.resources; 0: not scored */
    int32_t w_fit, w_balanced, w_taint, w_affinity, w_image, w_spread;
};

/* The default-scheduler profile (pkg/scheduler/apis/config/v1 default_plugins.go,
 * defaults.go): LeastAllocated over cpu 1, memory 1. */
void sched_profile_default(struct sched_profile *p);
/* The bin-packing profile: the default with NodeResourcesFit MostAllocated over cpu 1,
 * memory 1, nvidia.com/gpu 3 (the MostAllocated example of kubernetes.io/docs/concepts/
 * scheduling-eviction/resource-bin-packing, the extended resource the GPU) and the
 * PodTopologySpread system defaults off (defaultingType: List, defaultConstraints: []),
 * which would otherwise outweigh it (weight 2 against 1) and spread the pods. */
void sched_profile_bin_packing(struct sched_profile *p);

/* Why no node fits: nodes rejected by each filter (the first that failed; within
 * NodeResourcesFit each insufficient resource counts), as the FailedScheduling event
 * counts them. */
struct sched_why {
    int32_t n_nodes;
    int32_t unschedulable, taint, affinity, res[SCHED_N_RES];
    const struct sched_taint *untolerated; /* one taint that was not tolerated */
    const char *gpu_resource; /* the pods' GPU resource as the text names it (NULL:
                                 nvidia.com/gpu; nvidia.com/mig-3g.40gb) */
};

/* Scratch space for scoring (grown on demand, reused across calls). */
struct sched_work {
    int32_t cap;
    int32_t *feasible;
    int64_t *raw;       /* 6 plugin scores per node */
    int32_t *zone;      /* per node: its zone's index in zname, -1 without the label */
    const char **zname; /* the distinct zones */
    int64_t *zcount;    /* the workload's pods per zone (topology spread) */
};

void sched_work_release(struct sched_work *w);

/* Filters */
bool sched_tolerates(const struct sched_toleration *t, const struct sched_taint *taint);
/* Every NoSchedule / NoExecute taint tolerated (TaintToleration Filter). */
bool sched_taints_ok(const struct sched_pod *pod, const struct sched_taint *taints, int n);
/* nodeSelector and required node affinity (NodeAffinity Filter). */
bool sched_affinity_ok(const struct sched_pod *pod, const struct sched_label *labels, int n);
bool sched_term_matches(const struct sched_term *t, const struct sched_label *labels, int n);
/* All filters; on failure *why counts the reason. */
bool sched_feasible(const struct sched_pod *pod, const struct sched_node *node,
                    struct sched_why *why);

/* Score plugins, raw (before normalisation), for tests and the docs' tables. */
int64_t sched_score_fit(const struct sched_profile *p, const struct sched_pod *pod,
                        const struct sched_node *node);
int64_t sched_score_balanced(const struct sched_pod *pod, const struct sched_node *node);
int64_t sched_score_image(const struct sched_pod *pod, int32_t nodes_with_image,
                          int32_t total_nodes);
/* DefaultNormalizeScore(100, reverse) over n scores, in place. */
void sched_normalize(int64_t *scores, int32_t n, bool reverse);

/*
 * Choose a node for `pod` among `nodes[0..n)`, every node of the cluster the API server
 * knows (cordoned ones and those whose GPUs are not allocatable yet included: they are
 * filtered, and their pods count for topology spread and ImageLocality), with `profile`:
 * the index, or -1 when none is feasible (then *why, when not NULL, says why). Ties among
 * the best go to a uniform draw from RNG_SCHEDULER of `rng`, drawn only when there is a
 * tie. Returns -2 when the scratch space cannot grow (out of memory).
 */
int32_t sched_select(const struct sched_profile *profile, const struct sched_pod *pod,
                     const struct sched_node *nodes, int32_t n, struct rng_set *rng,
                     struct sched_work *work, struct sched_why *why);

/* The FailedScheduling line as FitError.Error writes it, the reasons with their counts
 * sorted as strings: "0/3 nodes are available: 1 node(s) had untolerated taint
 * {nvidia.com/gpu: }, 2 Insufficient memory." */
void sched_why_text(const struct sched_why *why, char *buf, size_t n);

const char *sched_effect_name(enum sched_effect e);

#endif
