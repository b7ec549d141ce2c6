/*
 * nodepool.h: the scenario's `cluster:` section, read strictly and resolved against the
 * instance catalog.
 *
 * The section names the cloud and region, the node provisioner (a pasted karpenter.sh/v1
 * NodePool, or AKS node pools with a cluster-autoscaler profile in AKS's own key
 * spelling), node start-up latencies, spot interruptions, insufficient-capacity errors
 * and a PodDisruptionBudget. nodepool_cfg_load() checks every key (unknown keys are
 * errors with a did-you-mean, at file:line:col), resolves instance types, zones and
 * prices from the catalog, keeps only the types whose GPU is the engine's and that hold
 * one replica, and fills a plain struct the cluster model (cluster.c) runs from.
 * docs/nodes.md documents the vocabulary.
 */
#ifndef LLMCAP_SIM_NODEPOOL_H
#define LLMCAP_SIM_NODEPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/config/cron.h"
#include "sim/config/ignored.h"
#include "sim/core/err.h"
#include "sim/k8s/scheduler.h"

struct scenario;
struct catalog;
struct cat_instance;

enum np_kind { NP_IMPLICIT, NP_KARPENTER, NP_AKS };
enum np_cloud { NP_AWS, NP_AZURE };
enum np_capacity { NP_ON_DEMAND = 0, NP_SPOT = 1 };

#define NP_MAX_ZONES 16
/* cluster.zone_ids entries: a region's AZs, Local Zones and Wavelength Zones */
#define NP_MAX_ZONE_MAP 128
#define NP_MAX_TYPES 64 /* instance types one cluster may use (a bit mask in cluster.c) */
#define NP_MAX_POOLS 16
#define NP_MAX_KP 8 /* Karpenter NodePools */
#define NP_MAX_BUDGETS 8
#define NP_MAX_EXPANDERS 4
#define NP_NAME_MAX 64
#define NP_MAX_LABELS 16      /* user labels of a NodePool template or an AKS pool */
#define NP_MAX_TAINTS 8
#define NP_MAX_NODE_LABELS 48 /* well-known + instance + user labels of one node */
#define NP_TAINT_TEXT 384     /* an AKS nodeTaints entry "key=value:Effect" */
#define NP_MAX_AZ 9           /* an AKS pool's availabilityZones: "1" .. "9", each once */

/* A latency: lognormal fitted to a median and a 95th percentile (median == p95 is a
 * constant, 0 = none). */
struct np_dist {
    int64_t median_us;
    int64_t p95_us;
};

/* A GPU node's start-up after its request: the cloud launches the instance
 * (request_to_launch), it boots and the kubelet registers (`boot`), then the GPU driver and
 * the NVIDIA device plugin make nvidia.com/gpu allocatable (`gpu`): only then do pods bind
 * (Karpenter counts the node initialized). With `has_total` the scenario gave one measured
 * launch-to-ready time instead (`launch_to_ready` / `provision_to_ready`); registration is
 * then `gpu` (default 0) before readiness. The image pull is the pod's (engine.startup,
 * once per node). */
struct np_startup {
    struct np_dist request_to_launch;
    struct np_dist boot;
    struct np_dist gpu;
    struct np_dist total;
    bool has_total;
};

/* An instance type the cluster may run. */
struct np_type {
    const struct cat_instance *inst; /* borrowed from the catalog */
    int32_t gpus;
    double vcpu;
    double memory_gib;               /* NAN when the catalog does not know it */
    /* Node allocatable (capacity less the provider's reservations, np_allocatable): what
     * pods' cpu and memory requests fit in; 0 when the catalog lacks the capacity. */
    int64_t alloc_cpu_m, alloc_memory; /* millicores, bytes */
    double od_usd_per_hour;
    bool allowed;                    /* Karpenter: some NodePool's requirements allow it */
};

/* Disruption reasons a Karpenter budget applies to (bit mask; 0 = all). */
enum { NP_REASON_EMPTY = 1, NP_REASON_UNDERUTILIZED = 2, NP_REASON_DRIFTED = 4 };

struct np_budget {
    double nodes;   /* a count, or a percentage when `percent` */
    bool percent;
    unsigned reasons;
    bool scheduled;      /* active only for `duration` after each `schedule` hit (UTC) */
    struct cron cron;
    int64_t duration_us;
};

enum np_consolidation { NP_WHEN_EMPTY, NP_WHEN_EMPTY_OR_UNDERUTILIZED };

/* One karpenter.sh/v1 NodePool. */
struct np_karpenter {
    char name[NP_NAME_MAX];         /* metadata.name */
    int32_t weight;                 /* spec.weight (0 when not given) */
    uint64_t types;                 /* the types its requirements allow (bit t: types[t]) */
    bool capacity[2];               /* allowed capacity types (NP_ON_DEMAND, NP_SPOT) */
    bool zone_ok[NP_MAX_ZONES];     /* per cluster zone */
    enum np_consolidation policy;
    int64_t consolidate_after_us;   /* -1: Never (consolidation off) */
    struct np_budget budgets[NP_MAX_BUDGETS];
    size_t n_budgets;
    int64_t expire_after_us;        /* -1: Never */
    double limit_gpus, limit_cpu, limit_memory_gib; /* INFINITY when not limited */
    /* spec.template.metadata.labels and spec.template.spec.taints (kube-scheduler) */
    struct sched_label labels[NP_MAX_LABELS];
    int n_labels;
    struct sched_taint taints[NP_MAX_TAINTS];
    int n_taints;
};

enum np_expander {
    NP_EXP_RANDOM,
    NP_EXP_LEAST_WASTE,
    NP_EXP_MOST_PODS,
    NP_EXP_LEAST_NODES,
    NP_EXP_PRICE,
    NP_EXP_PRIORITY,
};

/* AKS's default maxPods with Azure CNI Overlay (learn.microsoft.com/azure/aks/
 * azure-cni-overlay); kubenet's is 110, Azure CNI node subnet's 30: set the pool's
 * maxPods (az aks nodepool show prints it). */
#define NP_AKS_DEFAULT_MAX_PODS 250
/* The kubelet's default maxPods (kubernetes KubeletConfiguration), which the AWS
 * allocatable assumes: the catalog has no ENI limits for Karpenter's ENI-limited count. */
#define NP_AWS_DEFAULT_MAX_PODS 110

struct np_aks_pool {
    char name[NP_NAME_MAX];
    int32_t max_pods;             /* maxPods: the kube-reserved memory of its nodes */
    int32_t type;                 /* index in nodepool_cfg.types; -1 for a System pool */
    int32_t count, min_count, max_count;
    bool autoscale;               /* enableAutoScaling */
    bool system;                  /* mode: System (not used for the GPU pods, not billed) */
    bool spot;                    /* priority: Spot */
    bool deallocate;              /* evictionPolicy: Deallocate */
    double spot_max_usd_per_hour; /* -1: up to the on-demand price */
    int32_t priority;             /* priority expander: highest matching priority */
    bool has_priority;
    struct sched_label labels[NP_MAX_LABELS]; /* nodeLabels */
    int n_labels;
    struct sched_taint taints[NP_MAX_TAINTS]; /* nodeTaints, and AKS's spot taint */
    int n_taints;
    char taint_text[NP_MAX_TAINTS][NP_TAINT_TEXT];
    /* availabilityZones ("1", "2", "3" as az prints them) as its nodes' topology.kubernetes.io/zone
     * label: "<region>-<n>" (eastus-1); n_az 0: a regional pool, whose nodes carry "0". */
    char az[NP_MAX_AZ][40];
    int32_t n_az;
};

/* One deployment's pods as the provisioners and the kube-scheduler see them. A pod runs
 * only on nodes with its GPU model (`engine.gpu`) and at least `units` GPUs: the node
 * requirement its Deployment carries as `karpenter.k8s.aws/instance-gpu-name` (AWS
 * Karpenter; `karpenter.azure.com/sku-gpu-name` on Azure), narrowed to the catalog's GPU
 * (the provider's short name `h100` covers SXM and NVL parts), and on AKS the pools whose
 * vmSize has that GPU (the template node's `node.kubernetes.io/instance-type`). */
struct np_pod {
    struct sched_pod pod; /* fleet.pod's constraints, nvidia.com/gpu = units, the image */
    int32_t units;        /* GPUs (or GPU units) per pod: tensor_parallel_size */
    uint64_t types;       /* the instance types (bit t: types[t]) with its GPU and >= units */
    /* Karpenter: per NodePool, zone and capacity type, the types whose nodes the pods can
     * run on (taints tolerated, labels matching nodeSelector and required node affinity,
     * its GPU); Karpenter launches only these for the pods. */
    uint64_t kp_ok[NP_MAX_KP][NP_MAX_ZONES][2];
    bool aks_ok[NP_MAX_POOLS]; /* AKS: its pods can run on the pool's nodes (the
                                  autoscaler's predicates on the template node) */
};

/* The cluster-autoscaler profile (AKS's key spelling in the scenario). */
struct np_aks {
    int64_t scan_interval_us;
    int64_t unneeded_us, unready_us;
    int64_t delay_after_add_us, delay_after_delete_us, delay_after_failure_us;
    int64_t max_node_provision_us;
    int64_t new_pod_scale_up_delay_us;
    double utilization_threshold, gpu_utilization_threshold;
    int32_t max_empty_bulk_delete;
    int64_t max_graceful_termination_us;
    bool skip_local_storage;      /* skip-nodes-with-local-storage (true) */
    enum np_expander expanders[NP_MAX_EXPANDERS];
    size_t n_expanders;
    struct np_aks_pool pools[NP_MAX_POOLS];
    size_t n_pools;
    struct np_startup startup; /* request_to_launch, provision_to_registered, ... */
};

/* Offerings with no capacity over [from, until) (an insufficient-capacity error). */
struct np_ice_window {
    int32_t type;      /* index in types */
    int32_t zone;      /* index in zones, -1: every zone */
    int32_t capacity;  /* enum np_capacity, -1: both */
    int64_t from_us, until_us;
};

struct np_spot_event {
    int64_t at_us;
    int32_t count; /* spot nodes interrupted at once (the oldest live ones) */
};

struct nodepool_cfg {
    enum np_kind kind;
    enum np_cloud cloud;
    char region[32];
    /* AWS: zone IDs (use1-az4); Azure with Karpenter: AKS's zone labels, "eastus-1" ...
     * then "0" (regional); AKS cluster autoscaler: the region (the catalog's price key). */
    char zones[NP_MAX_ZONES][32];
    int32_t n_zones;
    /* AWS: the account's zone name of each zone ID in zones ("" where cluster.zone_ids
     * does not name it), and that mapping (name -> ID) as given. */
    char zone_names[NP_MAX_ZONES][32];
    struct np_zone_id {
        char name[32], id[32];
    } zone_map[NP_MAX_ZONE_MAP];
    int32_t n_zone_map;
    struct np_type types[NP_MAX_TYPES];
    int32_t n_types;
    double spot_price[NP_MAX_TYPES][NP_MAX_ZONES]; /* USD/h; NAN: no spot offering there */
    /* Karpenter: the NodePools in the provisioner's order (OrderByWeight: higher weight
     * first, equal weights by name, the later name first) and the node start-up */
    struct np_karpenter kp[NP_MAX_KP];
    int32_t n_kp;
    struct np_startup kp_startup; /* request_to_launch, launch_to_registered, ... */
    struct np_aks aks;
    /* spot */
    double spot_rate_per_hour;        /* interruptions per spot node-hour */
    int64_t notice_us;
    struct np_spot_event *spot_events; /* owned */
    size_t n_spot_events;
    /* insufficient capacity */
    double ice_probability;           /* per offering per launch attempt */
    struct np_ice_window *ice;        /* owned */
    size_t n_ice;
    /* PodDisruptionBudget of the Deployment's pods */
    bool pdb;
    bool pdb_min_available;           /* minAvailable (else maxUnavailable) */
    bool pdb_percent;
    double pdb_value;
    int64_t start_s;                  /* cluster.start_time: UTC seconds of t = 0, -1 */
    /* billing */
    int64_t billing_minimum_us;       /* AWS: 60 s per instance; Azure: none */
    /* kube-scheduler (cluster.scheduler) and the pods' side of scheduling */
    struct sched_profile sched;
    bool ert;                         /* the API server's ExtendedResourceToleration */
    /* cluster.daemonset_requests: what the DaemonSet pods of every node request (millicores,
     * bytes; 0: none), counted as requested on each node and in every NodeClaim */
    int64_t ds_cpu_m, ds_memory;
    struct np_pod *pods;              /* per deployment, in the scenario's order (owned) */
    int32_t n_pods;
    /* Fields of the pasted objects accepted and ignored (status, managedFields,
     * provisioningState, ...): the run records them. */
    struct ignored_fields ignored;
};

/*
 * Read `sc->cluster.node` (NULL: the implicit pool) into `cfg` using the catalog `cat`
 * (may be NULL only for the implicit pool). Caller owns: nodepool_cfg_release(). On bad
 * input returns SIM_EINVAL (or SIM_ENOENT for a missing file) with err at the offending
 * key or value, and `cfg` holds nothing to release.
 */
int nodepool_cfg_load(struct nodepool_cfg *cfg, const struct scenario *sc,
                      const struct catalog *cat, struct sim_err *err);
/* The same for `n` deployments sharing one cluster (deps[0]'s `cluster:` is read): the
 * instance types are those that run any deployment's pods, an AKS pool's VM size must run
 * some deployment's, and cfg->pods[k] says where deployment k's pods can run (an error at
 * deployment k's constraint when nowhere). At most 64 deployments. */
int nodepool_cfg_load_deps(struct nodepool_cfg *cfg, const struct scenario *const *deps,
                           int32_t n, const struct catalog *cat, struct sim_err *err);

void nodepool_cfg_release(struct nodepool_cfg *cfg);

/* Hourly interruption rate for an advisor band: AWS bands are the share of instances
 * interrupted over the trailing month (rate = -ln(1 - p) / 730 h), Azure bands the
 * chance of eviction within the next hour (rate = -ln(1 - p) per hour); p is the band's
 * midpoint (2.5%, 7.5%, 12.5%, 17.5%, and 25% for ">20%"). -1 for an unknown band. */
double np_advisor_band_rate(enum np_cloud cloud, const char *band);

/* Kubernetes quantities: "16", "1.5", "500m", "64Gi", "1e3", "2k". Returns SIM_OK and the
 * value in base units (cores, bytes, count) or SIM_EINVAL. */
int np_parse_quantity(const char *text, double *out);

const char *np_capacity_name(int capacity); /* "on-demand" | "spot" */

/*
 * The allocatable cpu (millicores) and memory (bytes) of a node of instance type `type`
 * (of AKS pool `pool` on AKS with the cluster autoscaler, else -1): capacity less
 * kube-reserved, system-reserved and the hard eviction threshold, as the provider
 * computes it (docs/nodes.md "Allocatable"). AWS: the catalog's figure, Karpenter's
 * generated instance-types reference, where it has one, else aws/karpenter-provider-aws
 * pkg/providers/instancetype/types.go (v1.6): memory less VM_MEMORY_OVERHEAD_PERCENT
 * 7.5% (rounded up to MiB), kube-reserved 11 MiB x maxPods + 255 MiB (110 pods: the
 * catalog has no ENI limits) and cpu 6% of the first core, 1% of the second, 0.5% of
 * the next two and 0.25% above four, eviction memory.available 100Mi. Azure: AKS's node
 * resource reservations (learn.microsoft.com/azure/aks/node-resource-reservations, AKS
 * 1.29+): kube-reserved cpu 60m, 100m, 140m for 1, 2, 4 cores, then 10m per core (the
 * table's 8 to 64 cores, extended linearly), memory min(20 MiB x maxPods + 50 MiB, 25%)
 * and eviction 100Mi. 0 where the catalog lacks the capacity.
 */
void np_allocatable(const struct nodepool_cfg *cfg, int32_t type, int32_t pool,
                    int64_t *cpu_m, int64_t *memory);
/* The same for a catalog instance on its own cloud (`ci->cloud`) whose kubelet runs at
 * most `max_pods` pods (<= 0: the provider's default, AWS 110, AKS 250): what a Karpenter
 * node or an AKS pool's node of that type has, and its allocatable pods (`max_pods` or
 * the default; AKS's maxPods also sets its kube-reserved memory). The planner's per-node
 * replica counts use it (plan/bill.c, plan/shared.c). */
void np_instance_allocatable(const struct cat_instance *ci, int32_t max_pods, int64_t *cpu_m,
                             int64_t *memory, int32_t *pods);

/* The labels a node of instance type `type` in `zone` with capacity type `cap` from
 * `pool` (an AKS pool index; Karpenter: the NodePool) carries: the well-known labels, the
 * provider's instance labels (Karpenter) or AKS's agent pool labels, and the pool's own
 * labels. Karpenter's topology.kubernetes.io/zone is cfg->zones[zone] (the zone name where
 * cluster.zone_ids gives one), with karpenter.azure.com/placement-scope on Azure.
 * On AKS topology.kubernetes.io/zone is the pool's availability zone `az` (an index
 * in its availabilityZones: "eastus-1"), or "0" for a regional pool; `az` is ignored
 * elsewhere. Strings point into `cfg` and into `buf` (numbers formatted there). Returns the
 * count (at most NP_MAX_NODE_LABELS). */
int np_node_labels(const struct nodepool_cfg *cfg, const struct catalog *cat, int32_t type,
                   int32_t zone, int cap, int32_t pool, int32_t az, struct sched_label *out,
                   char *buf, size_t n);
/* The zone an AKS pool's nodes get: a spot pool its cheapest priced zone, else the first. */
int32_t np_aks_pool_zone(const struct nodepool_cfg *cfg, const struct np_aks_pool *p);
/* The taints of a node of `pool` (Karpenter: the NodePool's). */
const struct sched_taint *np_node_taints(const struct nodepool_cfg *cfg, int32_t pool, int *n);

#endif
