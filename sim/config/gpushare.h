/*
 * gpushare.h: how the GPU nodes share their GPUs (`cluster.gpu_sharing`) and which GPU
 * resource the pods request (`fleet.pod.resources`), read strictly from the scenario and
 * checked against the catalog and the engine (docs/gpu-sharing.md).
 *
 * MIG (the GPU operator's mig-manager, `mixed` strategy): every GPU of a node is cut
 * into the same layout, a mig-parted config such as `all-3g.40gb` or a `mig-devices`
 * map; the node advertises `nvidia.com/mig-<profile>` = GPUs x instances per GPU and a
 * pod requests one slice. On AKS the layout comes from a node pool's
 * `gpuInstanceProfile` (MIG1g..MIG7g), which AKS refuses with the cluster autoscaler.
 *
 * Time-slicing (the NVIDIA device plugin's `sharing.timeSlicing`, pasted as its config
 * file): a node advertises `nvidia.com/gpu` = GPUs x replicas; the engines on one GPU
 * take turns (sim/cloud/gpushare.h) and share its memory without isolation.
 */
#ifndef LLMCAP_SIM_CONFIG_GPUSHARE_H
#define LLMCAP_SIM_CONFIG_GPUSHARE_H

#include <stdbool.h>
#include <stdint.h>

#include "models/mig.h"
#include "sim/core/err.h"

struct ynode;
struct scenario;
struct cat_gpu;

enum gs_mode { GS_WHOLE = 0, GS_MIG, GS_TIME_SLICING };

#define GS_MAX_RELAYOUTS 8
/* The default time mig-manager keeps a drained node's GPUs offline to re-partition them
 * (`cluster.gpu_sharing.mig.relayout[].repartition`): modelled, no published measurement
 * (docs/gpu-sharing.md). */
#define GS_REPARTITION_DEFAULT_US (120 * 1000000LL)

/* One entry of `cluster.gpu_sharing.mig.relayout`: at `at_us` the platform team relabels
 * the nodes (`nvidia.com/mig.config`) and drains them `max_unavailable` at a time so that
 * mig-manager can re-partition their GPUs (sim/cloud/cluster.c). */
struct gs_relayout {
    int64_t at_us;                /* from the run's start */
    char mig_config[64];          /* a mig-parted config name, "" with `devices` */
    struct mig_layout layout;     /* `devices` as written (checked when resolved) */
    int32_t max_unavailable;      /* nodes cordoned and re-partitioned at once (>= 1) */
    int64_t repartition_us;       /* the GPUs offline once the node is drained */
    const struct ynode *node;     /* the entry */
    const struct ynode *cfg_node; /* its `config` or `devices` */
    const struct ynode *pools;    /* `pools: [names]` (AKS node pools), NULL: every pool */
};

/* What the scenario's `cluster.gpu_sharing` says (positions kept for errors). */
struct gpushare_spec {
    enum gs_mode mode;
    char mig_config[64];          /* a mig-parted default config name, "" with `devices` */
    struct mig_layout layout;     /* `devices` as written (profiles checked later) */
    int32_t replicas;             /* time-slicing replicas per GPU (1: no sharing) */
    bool rename_by_default;       /* the resource is nvidia.com/gpu.shared */
    bool fail_requests_gt_one;    /* failRequestsGreaterThanOne */
    bool oom_restart;             /* `oom: restart`: engines that find too little free GPU
                                     memory fail vLLM's start-up check and crash-loop, instead
                                     of the scenario being refused at load time */
    bool oom_restart_all;         /* `oom: restart_all` (oom_restart is set too): the
                                     starting engine's allocation runs the GPU out of
                                     memory and every engine holding memory on it is
                                     killed and restarted (the pessimistic model) */
    struct gs_relayout relayout[GS_MAX_RELAYOUTS]; /* mig.relayout, in time order */
    int32_t n_relayout;
    const struct ynode *node;     /* cluster.gpu_sharing, or NULL */
    const struct ynode *mig_node; /* cluster.gpu_sharing.mig, or NULL */
    const struct ynode *ts_node;  /* cluster.gpu_sharing.time_slicing, or NULL */
};

/* The GPU resource in the vLLM container's `resources` (fleet.pod.resources). */
struct gs_pod_request {
    char resource[64];            /* "" (not given: nvidia.com/gpu = tensor_parallel_size),
                                     "nvidia.com/gpu", "nvidia.com/gpu.shared" or
                                     "nvidia.com/mig-3g.40gb" */
    int32_t count;
    const struct ynode *node;     /* the resource's value, for errors; NULL */
};

/* Read `cluster.gpu_sharing` of the `cluster` map (NULL or absent: whole GPUs). */
int gpushare_spec_read(const struct ynode *cluster, struct gpushare_spec *out,
                       struct sim_err *err);

/* Read a container's `resources: {limits: {...}, requests: {...}}` (`key` names it in
 * messages): its GPU resource. cpu and memory are read by podres_read (podres.h);
 * ephemeral-storage and hugepages are accepted and ignored; one GPU resource at most; a request of an extended
 * resource must equal its limit, as the API server requires. */
int gpushare_pod_resources_read(const struct ynode *res, const char *key,
                                struct gs_pod_request *out, struct sim_err *err);

/* The resolved sharing of a run: what each node advertises per GPU and what one engine
 * gets. */
struct gpushare_plan {
    enum gs_mode mode;
    int32_t units_per_gpu;        /* allocatable units a GPU gives (1 for whole GPUs) */
    const struct mig_profile *profile; /* MIG: the slice the pods request (borrowed) */
    struct mig_layout layout;     /* MIG: the layout of every GPU (at the start) */
    struct mig_layout relayout[GS_MAX_RELAYOUTS]; /* MIG: the spec's relayout[] layouts */
    int32_t n_relayout;
    char resource[64];            /* the extended resource the pods request */
};

/*
 * Resolve the scenario's sharing against the engine's GPU `g` (NULL when the scenario
 * names none): checks every rule of docs/gpu-sharing.md (layout valid on g, the pods'
 * request advertised by the nodes, no tensor parallelism across slices or time-sliced
 * replicas, latency models a slice can use, provisioners that can serve it; the
 * co-located engines' gpu_memory_utilization is checked across deployments by
 * sim/cloud/gpushare.h) and fills `out`. SIM_EINVAL + err located at the
 * offending key (file:line:col).
 */
int gpushare_resolve(const struct scenario *sc, const struct cat_gpu *g,
                     struct gpushare_plan *out, struct sim_err *err);

#endif
