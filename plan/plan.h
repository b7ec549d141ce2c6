/*
 * plan.h: `llmcap plan`: the cheapest fleet that meets the SLOs.
 *
 * A scenario's `plan:` section names a search space: instance types (or GPU types, each
 * priced by its cheapest catalog instance), tensor-parallel sizes, dtypes, vLLM limits,
 * the spot share, and for autoscaled fleets the autoscaler's minimum, threshold and
 * scale-down window. For each hardware configuration the planner first prunes what
 * cannot hold the model (vLLM memory sizing, with the reason), then finds the highest
 * rate one replica sustains within every SLO by a root-finding search (GSL Brent) on the
 * SLO margin over the trace's rate scale, sizes a fixed fleet from it and verifies the
 * size with full runs (or, with an autoscaler, runs each autoscaler setting). The answer
 * is the cheapest configuration that meets every SLO, with the runners-up, why the
 * cheaper ones failed, and the cost-vs-latency Pareto frontier.
 */
#ifndef LLMCAP_PLAN_PLAN_H
#define LLMCAP_PLAN_PLAN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/core/err.h"
#include "sim/config/ynode.h"

#define PLAN_MAX_CHOICES 16

struct scenario;
struct catalog;
struct cat_instance;

/* How the fleet is billed (plan.billing). */
enum plan_billing {
    PLAN_BILL_WHOLE_NODES = 0, /* replicas pack onto whole instances; every node is billed
                                  (the default: clouds bill instances, not GPUs) */
    PLAN_BILL_GPU_SHARE,       /* a replica pays its GPUs' share of an instance: only when
                                  the nodes are shared with other workloads */
};

/* Node sizes (replicas per instance) a result has node-hours for. */
#define PLAN_MAX_NODE_SIZES 8

/* What verification under the scenario's cluster: model found. */
enum plan_verify {
    PLAN_VERIFY_NONE = 0, /* not verified (not among the candidates tried, or no cluster) */
    PLAN_VERIFY_PASS,     /* met every SLO under the cluster model */
    PLAN_VERIFY_FAIL,     /* missed an SLO, or could not run, under the cluster model */
};

struct plan_spec {
    bool present;
    size_t n_instances;
    char instances[PLAN_MAX_CHOICES][64];
    size_t n_gpus;
    char gpus[PLAN_MAX_CHOICES][64];
    size_t n_tp;
    int tp[PLAN_MAX_CHOICES];
    size_t n_dtypes;
    char dtypes[PLAN_MAX_CHOICES][16];
    size_t n_max_num_seqs;
    int max_num_seqs[PLAN_MAX_CHOICES];
    size_t n_max_batched;
    int max_batched[PLAN_MAX_CHOICES];
    size_t n_spot;
    double spot_share[PLAN_MAX_CHOICES]; /* fraction of replica-hours billed at spot */
    int32_t max_replicas;
    double tolerance_frac;   /* relative width of the rate bracket the search stops at */
    int32_t max_search_runs; /* per configuration */
    int64_t search_window_us; /* trace time the rate search replays; -1: all of it */
    /* autoscaled fleets (the scenario has fleet.autoscaler) */
    size_t n_min_replicas;
    int min_replicas[PLAN_MAX_CHOICES];
    size_t n_thresholds;
    double thresholds[PLAN_MAX_CHOICES];
    size_t n_windows;
    int32_t scale_down_window_s[PLAN_MAX_CHOICES];
    enum plan_billing billing;  /* plan.billing, default whole_nodes */
    int32_t verify_candidates;  /* plan.verify.candidates: cheapest ones verified (default 5) */
    size_t n_mig;               /* plan.mig: MIG profiles to try ("" = whole GPUs) */
    char mig[PLAN_MAX_CHOICES][16];
    /* plan.deployments (a scenario with `deployments:`): each deployment's own space,
     * a map from its name to plan keys (plan/shared.h); NULL when absent */
    const struct ynode *deployments;
};

/* Read and check a `plan:` map (NULL: no plan). Errors point at file:line:col. */
int plan_spec_read(const struct ynode *plan, struct plan_spec *out, struct sim_err *err);

/* Check the loaded scenario's `plan:` section (the scenario reader leaves it to the
 * planner): SIM_OK when it is absent or valid, else SIM_EINVAL + err at file:line:col.
 * `llmcap validate`, `run` and every command that loads a scenario call it, so a bad plan
 * fails at load like any key. */
int plan_check(const struct scenario *sc, struct sim_err *err);

/* One point of the search space, and what the planner found for it. */
struct plan_result {
    /* the configuration */
    char instance[64];
    char gpu[64];
    int tp;
    char dtype[16];
    char mig[16];     /* the MIG profile each engine runs on ("": whole GPUs) */
    int max_num_seqs; /* 0: vLLM's default */
    int max_batched;
    double spot_share;
    bool autoscaled;  /* the fleet has the scenario's autoscaler (else a fixed fleet) */
    int min_replicas; /* autoscaled: the settings tried; -1 when not varied */
    double threshold;
    int32_t window_s;
    /* what was found */
    bool valid;              /* a placeable combination (tensor_parallel_size divides the
                                instance's GPUs) */
    bool fits;               /* the model fits the GPU memory */
    double usd_per_replica_hour; /* price of one replica at this spot share */
    double est_cost_usd_per_hour; /* infeasible ones: what the fleet would at least cost
                                     (replicas the sustainable rate implies, at least 1) */
    bool feasible;           /* some fleet met every SLO */
    char reason[256];        /* why not, or how it was sized */
    double max_rate_scale;   /* highest trace-rate multiple one replica sustained */
    int32_t search_runs;
    int32_t replicas;        /* fixed fleet: replicas that met the SLOs; autoscaled: peak */
    double replica_hours;    /* over the verified run */
    double usd_per_hour;     /* the fleet's cost rate (fixed) or mean over the run */
    double cost_usd;         /* of the verified run */
    double usd_per_mtok;     /* per 1M output tokens */
    double ttft_p95_s, tpot_p95_s, error_rate;
    double margin;           /* SLO margin of the verified run (>= 0: all SLOs met) */
    double output_tokens;    /* of the verified run */
    double run_hours;        /* the verified run's span, first arrival to end */
    bool pareto;             /* on the cost / TTFT-p95 frontier of feasible points */
    /* billing (plan/bill.c) */
    uint32_t index;          /* configuration index in the whole (unsharded) space */
    enum plan_billing billing;
    int64_t pod_cpu_m, pod_memory; /* a replica pod's cpu (millicores) and memory (bytes)
                                      requests (0: none) */
    int64_t ds_cpu_m, ds_memory;   /* cluster.daemonset_requests, on every node */
    int32_t ds_pods;               /* cluster.daemonset_requests.pods: counted in maxPods */
    int32_t max_pods;              /* the pods a node of the cluster may run (the
                                      EC2NodeClass's kubelet.maxPods, the AKS User pools'
                                      maxPods); 0: the provider's default */
    size_t n_sizes;          /* node sizes the verified run was packed onto */
    int size_per_node[PLAN_MAX_NODE_SIZES];      /* replicas a node holds */
    double size_node_hours[PLAN_MAX_NODE_SIZES]; /* node-hours on nodes of that size */
    int size_peak_nodes[PLAN_MAX_NODE_SIZES];    /* the most nodes at once */
    char node_type[64];      /* the instance type billed ("" when not priced) */
    int gpus_per_node;
    int32_t nodes;           /* fixed fleet: nodes; autoscaled: the most at once */
    double node_hours;
    double usd_per_node_hour; /* at the spot share */
    int32_t deployment;      /* a shared plan's deployment index (plan/shared.h); -1 else */
    /* verification under the scenario's cluster: model (plan/verify.c) */
    enum plan_verify verify;
    double verified_cost_usd, verified_usd_per_hour, verified_usd_per_mtok;
    double verified_ttft_p95_s;
    char verify_note[256];   /* what verification found, or why it was not done */
};

/* What plan_run() tells besides the results. */
struct plan_run_info {
    size_t n_configs;          /* results of the whole (unsharded) plan */
    int32_t verify_candidates; /* plan.verify.candidates */
    bool provisioner;          /* the scenario's cluster: provisions nodes (verification) */
};

struct plan_options {
    int jobs; /* worker processes */
    unsigned shard_i, shard_n; /* evaluate only configurations c with c % N == i (N 0 or 1:
                                  all) */
    const struct catalog *catalog;
    void (*progress)(void *ctx, size_t done, size_t total);
    void *progress_ctx;
    volatile sig_atomic_t *stop;
    struct plan_run_info *info; /* out; may be NULL */
};

/* Enumerate and evaluate the scenario's plan. *out (caller frees) gets one result per
 * configuration in enumeration order. SIM_EINVAL + err for an unknown instance or GPU, a
 * search space with no configuration, or a plan that needs an autoscaler it lacks. */
int plan_run(const struct scenario *sc, const struct plan_options *opt,
             struct plan_result **out, size_t *n_out, struct sim_err *err);

/* The index of the answer, or -1: when verification ran (some result has a verdict),
 * the first result that passed it in plan_rank() order; else the cheapest feasible
 * result (ties: lower TTFT p95, then enumeration order). */
long plan_best(const struct plan_result *r, size_t n);

/* Search-cost order of feasible results: cheaper first, then lower TTFT p95, then index.
 * A qsort comparator on struct plan_result. */
int plan_rank_cmp(const void *a, const void *b);

/* Price every result (plan/bill.c): whole nodes (replicas packed onto the cheapest node
 * size that holds them, node-hours billed) or a GPU share, at the result's spot share.
 * Sets node_type, nodes, node_hours, usd_per_hour, cost_usd, usd_per_mtok,
 * est_cost_usd_per_hour; a result whose price is missing stops being feasible. */
void plan_bill(struct plan_result *r, const struct catalog *cat);

/* How many of r's replicas an instance `in` holds: min(GPUs / tensor_parallel_size,
 * (allocatable cpu - DaemonSets' cpu) / pod cpu, (allocatable memory - DaemonSets'
 * memory) / pod memory, maxPods - DaemonSet pods), with the allocatable the simulation's
 * nodes have (np_instance_allocatable); the cpu and memory terms only where the pods
 * request them: plan_pods_per_node(plan_node_cap(r, in, GPUs), plan_pod_item(r, tp)).
 * 0: none fits. */
int plan_replicas_per_node(const struct plan_result *r, const struct cat_instance *in);

/* A pod (or a node's room): GPU units, cpu (millicores) and memory (bytes) requests, and
 * the pods it counts against the node's maxPods (1; the room: maxPods less the DaemonSet
 * pods). */
struct plan_item {
    int units;
    int64_t cpu_m, memory;
    int pods;
};

/* What a node of `in` offers r's pods: `units` (GPUs, or MIG instances of its profile),
 * and the allocatable cpu, memory and pods (np_instance_allocatable, as the simulation's
 * nodes, with r->max_pods) less the DaemonSets' requests and pods, each at least 0. */
struct plan_item plan_node_cap(const struct plan_result *r, const struct cat_instance *in,
                               int units);

/* One of r's pods: `size` units, its cpu and memory requests, one pod. */
struct plan_item plan_pod_item(const struct plan_result *r, int size);

/* Pods of `pod` a node of `cap` holds: floor(units / size), fewer where the cpu or memory
 * requests (those it makes) or the node's pods fill it first; 0 where pod.units <= 0. */
int plan_pods_per_node(struct plan_item cap, struct plan_item pod);

/* Mark the Pareto frontier (cost vs TTFT p95) among feasible results that verification
 * did not reject. */
void plan_mark_pareto(struct plan_result *r, size_t n);

/* A configuration as a short label ("p5.48xlarge tp1 bf16 seqs=256 batched=8192"). */
void plan_label(const struct plan_result *r, char *buf, size_t n);

#endif
