/*
 * shared.h: `llmcap plan` over a shared cluster: several deployments (`deployments:`)
 * drawing whole nodes from one cluster's pools.
 *
 * Each deployment has its own candidate space (`plan.deployments.NAME`: instance types
 * among the cluster's pools `plan.instances`, tensor-parallel sizes, dtypes, MIG profiles
 * or whole GPUs, vLLM limits). The planner measures every (deployment, configuration)
 * alone, as the single-deployment plan does (pruning, the rate search on the SLO margin,
 * the fixed fleet that meets the deployment's own SLOs), then chooses one configuration
 * per deployment and packs every deployment's pods onto whole nodes: pods on the same
 * instance type (and MIG layout) share nodes. The cheapest layouts come from a
 * branch-and-bound over the deployments' choices; the cheapest few are verified by
 * simulating the whole cluster (every deployment together, the scenario's provisioner).
 * docs/plan.md, "Several deployments on one cluster".
 */
#ifndef LLMCAP_PLAN_SHARED_H
#define LLMCAP_PLAN_SHARED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan/plan.h"
#include "sim/core/err.h"

struct scenario;
struct catalog;

#define PLAN_MAX_DEPLOYMENTS 8
#define PLAN_MAX_LAYOUTS 10
#define PLAN_MAX_GROUPS 16

/* Nodes of one instance type and GPU layout in a layout. */
struct plan_group {
    char node_type[64];
    char mig[16];           /* "": whole GPUs; else every GPU cut all-<mig> */
    int gpus_per_node;
    int units_per_node;     /* GPUs, or MIG instances, a node offers */
    int used_units;         /* what the layout's pods take */
    int nodes;
    double usd_per_node_hour;
    bool exact;             /* the node count is proven minimal */
};

/* One deployment's outcome when a layout is simulated on the cluster. */
struct plan_dep_verdict {
    bool pass;
    char worst[32];         /* the SLO with the smallest margin */
    double margin, ttft_p95_s, tpot_p95_s, usd; /* usd: its share of the bill (GPU-time) */
};

struct plan_layout {
    size_t choice[PLAN_MAX_DEPLOYMENTS]; /* per deployment, an index into plan_shared.res */
    double usd_per_hour;                 /* the cluster's nodes, whole, on demand */
    size_t n_groups;
    struct plan_group group[PLAN_MAX_GROUPS];
    int nodes;
    /* verification: the whole cluster simulated */
    enum plan_verify verify;             /* NONE: not tried, or not verifiable (note) */
    char verify_note[256];
    double verified_cost_usd, verified_usd_per_hour;
    struct plan_dep_verdict dep[PLAN_MAX_DEPLOYMENTS];
};

struct plan_shared {
    size_t n_deps;
    char deployment[PLAN_MAX_DEPLOYMENTS][64];
    /* every (deployment, configuration), deployment-major; res[i].deployment says whose.
     * Feasible ones are billed as the deployment alone on its own nodes. */
    struct plan_result *res;
    size_t n_res;
    struct plan_layout layout[PLAN_MAX_LAYOUTS]; /* cheapest first */
    size_t n_layouts;
    long best;                  /* the answer in layout[], or -1 */
    /* separate clusters: each deployment's cheapest configuration on its own nodes */
    long separate[PLAN_MAX_DEPLOYMENTS]; /* index into res, or -1 */
    double separate_usd_per_hour;        /* NaN when a deployment has no feasible one */
    uint64_t searched, pruned;  /* layouts priced, subtrees cut by the bound */
    bool complete;              /* the branch-and-bound ran to the end */
    bool provisioner;           /* the scenario's cluster provisions nodes */
    int32_t verify_candidates;
};

/* Whether `sc` is a shared plan (a scenario with deployments and a plan). */
bool plan_is_shared(const struct scenario *sc);

/* Check a shared plan's section against its scenario (plan_check calls it): what a
 * shared plan refuses, and plan.deployments naming the scenario's deployments. SIM_OK or
 * SIM_EINVAL + err at file:line:col. */
int plan_shared_check(const struct scenario *sc, const struct plan_spec *top,
                      struct sim_err *err);


/* Run the shared plan. *out is filled (plan_shared_free()). SIM_EINVAL + err for a
 * space that cannot be searched (unknown deployment or instance, an autoscaled
 * deployment), SIM_EINTR, SIM_EIO. */
int plan_shared_run(const struct scenario *sc, const struct plan_options *opt,
                    struct plan_shared *out, struct sim_err *err);

void plan_shared_free(struct plan_shared *s);

/* The layout search alone, on o->res (each result's deployment, instance, mig, tp,
 * replicas and feasible set; n_deps set): fills layout[], n_layouts, searched, pruned,
 * complete. plan_shared_run calls it; tests call it on results built by hand. */
int plan_shared_layouts(struct plan_shared *o, const struct catalog *cat, struct sim_err *err);

/*
 * Nodes of capacity `cap` that items of `sizes[0..n)` (each <= cap) need: first-fit
 * decreasing, then, for at most 24 items, an exact branch-and-bound that proves the
 * minimum (*exact true) unless it runs out of its step budget; FFD's count is proven
 * too when it meets the lower bound ceil(sum / cap). -1 on an item above cap.
 */
int plan_pack(const int *sizes, size_t n, int cap, bool *exact);

/* First-fit decreasing alone (what plan_pack starts from). */
int plan_pack_ffd(const int *sizes, size_t n, int cap);

/* struct plan_item: plan/plan.h. */
/* plan_pack on vectors: a node holds items whose units, cpu, memory and pods each sum
 * within `cap` (the kube-scheduler's NodeResourcesFit); first-fit decreasing (by units,
 * then memory, then cpu), then the exact search; the lower bound is the largest of the
 * four dimensions' ceil(sum / cap). -1 on an item above cap in any dimension. plan_pack is
 * this with no cpu, memory or pods. */
int plan_pack_items(const struct plan_item *items, size_t n, struct plan_item cap, bool *exact);
int plan_pack_items_ffd(const struct plan_item *items, size_t n, struct plan_item cap);

#endif
