/*
 * cluster.c: the nodes pods run on, how they come and go, and what they cost.
 *
 * Without a node provisioner in the scenario the cluster is implicit: a pool of nodes of
 * one replica's size, all there from the start when fleet.max_gpus caps the fleet (a
 * static cluster), or appearing the moment a pod needs one when nothing caps it; they
 * stay once they exist, so their image and compile caches serve later pods, and they are
 * not billed. With `cluster.karpenter` or `cluster.aks` (sim/config/nodepool.h), nodes are
 * catalog instance types launched, registered and made ready with sampled latencies,
 * consolidated or scaled down, interrupted when spot, and billed per second. The
 * semantics follow the upstream sources cited at each function; docs/nodes.md and
 * docs/cost.md describe the model and its simplifications.
 *
 * Scheduling: a pod requests nvidia.com/gpu = its deployment's tensor_parallel_size and
 * runs only on nodes with its deployment's GPU model; deployments of different sizes and
 * GPU models share the nodes and pools. With a provisioner, the kube-scheduler model
 * (sim/k8s/scheduler.h) picks among the registered nodes, each with its labels and taints
 * from its NodePool or AKS pool; the implicit pool's interchangeable one-replica nodes take
 * the first free one. Karpenter and the cluster autoscaler pack the combined pending pods
 * of every deployment (kp_pack, ca_estimate), and consolidation and scale-down move every
 * deployment's pods in their simulations. The pods' cpu and memory requests bind against
 * each node's allocatable (np_allocatable: capacity less the provider's reservations)
 * wherever they bind upstream: the kube-scheduler's fit, Karpenter's queue order and
 * instance-type fit, the autoscaler's pod order, estimate and scale-down simulation.
 * DaemonSet pods count with the requests cluster.daemonset_requests gives for every node.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "models/catalog.h"
#include "sim/config/gpushare.h"
#include "sim/config/nodepool.h"
#include "sim/config/scenario.h"
#include "sim/cloud/gpushare.h"
#include "sim/sim_int.h"

#define US 1000000LL
/* Karpenter (kubernetes-sigs/karpenter, aws/karpenter-provider-aws) */
#define KP_BATCH_IDLE_US (1 * US)        /* BATCH_IDLE_DURATION, options.go; Batcher.Wait */
#define KP_BATCH_MAX_US (10 * US)        /* BATCH_MAX_DURATION */
#define KP_POD_REQUEUE_US (10 * US)      /* PodController.Reconcile: RequeueAfter 10 s */
#define KP_ICE_TTL_US (180 * US)         /* UnavailableOfferingsTTL, provider pkg/cache */
/* Azure/karpenter-provider-azure v1.14.2 pkg/providers/instance/offerings/
 * commonerrorhandlers.go AllocationFailureTTL: every allocation failure's entry */
#define KP_AZURE_ICE_TTL_US (3600 * US)
#define KP_POLL_US (10 * US)             /* disruption controller pollingPeriod */
#define KP_VALIDATION_US (15 * US)       /* consolidationTTL: commands re-validated after */
#define KP_REGISTRATION_TTL_US (900 * US) /* nodeclaim lifecycle liveness registrationTimeout */
/* Resize the array ptr to cap elements (sim_reallocarray); when that fails, ptr is left
 * as it was and the function returns fail. For the parallel arrays grown together. */
#define GROW_OR_RETURN(ptr, cap, fail)                                                     \
    do {                                                                                   \
        void *grown_ = sim_reallocarray((ptr), (size_t)(cap), sizeof *(ptr));              \
        if (!grown_)                                                                       \
            return (fail);                                                                 \
        (ptr) = grown_;                                                                    \
    } while (0)

/* Eviction retries (Karpenter's terminator eviction queue rate limiter: 100 ms .. 10 s) */
#define EVICT_BACKOFF_MIN_US 100000LL
#define EVICT_BACKOFF_MAX_US (10 * US)
/* Cluster autoscaler (kubernetes/autoscaler cluster-autoscaler/core/static_autoscaler.go) */
#define CA_POD_BUFFER_US (2 * US)        /* unschedulablePodTimeBuffer */
#define CA_GPU_POD_BUFFER_US (30 * US)   /* unschedulablePodWithGpuTimeBuffer */
#define CA_BACKOFF_INITIAL_US (300 * US) /* --initial-node-group-backoff-duration */
#define CA_BACKOFF_MAX_US (1800 * US)    /* --max-node-group-backoff-duration */

#define HOURS_PER_MONTH 730.0

enum node_ev { NE_READY, NE_NOTICE, NE_KILL, NE_EVICT, NE_EXPIRE, NE_REG_TIMEOUT, NE_TERMINATE,
               NE_DRAINED, NE_REPARTITIONED, NE_N };

/* A node's part in a MIG re-layout (cluster.gpu_sharing.mig.relayout). */
enum rl_state { RL_NONE, RL_QUEUED, RL_DRAIN, RL_REPARTITION };

/* A provisioned node's state beside struct node (parallel to s->nodes). */
struct node_x {
    int32_t type, zone, pool;
    bool failed;       /* the cloud could not allocate it (AKS): never billed */
    bool stuck;        /* never registers (beyond the registration timeout) */
    bool disrupting;   /* marked for deletion: consolidation, scale-down, expiry, spot */
    bool interrupted;  /* got a spot notice */
    bool initialized;  /* has been Ready */
    int32_t replaces;  /* Karpenter replace: the candidate this node replaces, -1 */
    int32_t replaced_by;
    const char *drain_reason; /* voluntary drain in progress (pod by pod, within the PDB) */
    int64_t last_pod_event_us; /* Karpenter consolidateAfter: a pod bound or left */
    int64_t unneeded_since_us; /* cluster autoscaler, -1 */
    int64_t evict_backoff_us;
    int64_t kill_us; /* spot notice: the instance is reclaimed then (-1: no notice) */
    evq_handle ev[NE_N];
    int32_t az;                   /* AKS: index in its pool's availabilityZones */
    const struct node_class *cls; /* its labels (kube-scheduler) */
    enum rl_state rl;  /* MIG re-layout: waiting its turn, draining, re-partitioning */
    int32_t rl_to;     /* the layout mig-manager applies (gpushare_node_layout's index) */
    int32_t rl_evicted; /* pods evicted for the re-layout */
    bool rl_drain;      /* cordoned by rl_pump, to be drained */
    uint64_t fits;   /* bit k: deployment k's pods can run on it (its GPU, taints, labels) */
    int64_t alloc_cpu, alloc_mem; /* allocatable millicores and bytes (0: unknown) */
};

/* The labels of the nodes of one offering (Karpenter: type, zone, capacity type) or one AKS
 * pool, built once (np_node_labels). */
struct node_class {
    struct sched_label labels[NP_MAX_NODE_LABELS];
    int n;
    char buf[512];
};
#define N_CLASSES (NP_MAX_KP * NP_MAX_TYPES * NP_MAX_ZONES * 2)

enum kp_cmd_kind { CMD_NONE, CMD_EMPTY, CMD_DELETE, CMD_REPLACE };

struct kp_claim {
    int32_t pods, units;
    int64_t cpu, mem; /* the sum of its pods' cpu and memory requests */
    uint64_t opts; /* instance types that can hold the claim's pods */
    uint64_t deps; /* the deployments whose pods it holds (their offerings must agree) */
    int32_t pool;  /* its NodePool (index in cfg.kp) */
};

/* A pod in a scheduling simulation: its deployment, GPU units, cpu and memory requests,
 * and the keys Karpenter's queue sorts by after cpu and memory (creation second, UID). */
struct pod_item {
    int32_t dep, units;
    int64_t cpu, mem;
    int64_t sec;
    uint64_t uid;
    int32_t seq;
};

struct cluster {
    struct nodepool_cfg cfg;
    const struct catalog *cat;
    bool uniform;     /* every deployment's pods alike (one deployment): the packing memo */
    struct node_x *x;
    int32_t cap_x;
    int32_t *live; /* ids of nodes not gone, in creation order */
    int32_t n_live, cap_live;
    int32_t *scratch; /* node ids, sized like live */
    int32_t *order;   /* node ids in a simulation's order, sized like live */
    int32_t *slots;   /* per node id: free GPU units in simulations */
    int64_t *slot_cpu, *slot_mem; /* per node id: free allocatable cpu and memory in them */
    int32_t *term;    /* per node id: the topology-spread count of one deployment */
    int32_t cap_slots;
    /* Live pods by node (bn_pods[bn_start[id] .. bn_start[id + 1])), built once per
     * disruption pass or autoscaler scan (bn_valid). */
    int32_t *bn_start;
    struct replica **bn_pods;
    int32_t cap_bn_start, cap_bn_pods;
    bool bn_valid;
    struct pod_item *items, *left; /* pods of a simulation, and those it left over */
    int32_t *est;                  /* the cluster autoscaler's estimate: new nodes' free units */
    int64_t *est_cpu, *est_mem;    /* and their free cpu and memory */
    int32_t cap_items;
    bool memo_valid;  /* the replacement packing of this pass (no finite limits) */
    int32_t memo_need, memo_claims, memo_unplaced;
    uint64_t memo_opts, memo_deps;
    int32_t memo_pool;
    bool kp_unlimited; /* no NodePool has a finite limit (the packing memo holds) */
    /* Karpenter */
    bool window;
    int64_t window_start_us;
    evq_handle close_ev, requeue_ev, disrupt_ev, validate_ev;
    int32_t max_pod_seen;
    int64_t ice_until[NP_MAX_TYPES][NP_MAX_ZONES][2];
    enum kp_cmd_kind cmd;
    int32_t cmd_nodes[64];
    int32_t n_cmd;
    struct kp_claim *claims;
    int32_t cap_claims;
    struct { double price; int32_t type, zone; } *offers;
    /* cluster autoscaler */
    evq_handle scan_ev;
    int64_t last_scale_up_us, last_delete_us, last_fail_us;
    int64_t backoff_until_us[NP_MAX_POOLS], backoff_us[NP_MAX_POOLS];
    /* MIG re-layout: the layout each pool's nodes take when created or re-partitioned,
     * the nodes waiting their turn (FIFO), those cordoned or re-partitioning now, and the
     * timeline for the run notes */
    int32_t rl_target[NP_MAX_POOLS];
    int32_t *rl_queue;
    int32_t rl_head, rl_n, rl_cap;
    int32_t rl_active, rl_max_unavailable;
    uint64_t rl_nodes, rl_evictions;
    char rl_log[sizeof ((struct sim_result *)0)->mig_relayout];
    size_t rl_len;
    int32_t rl_dropped; /* entries that did not fit in rl_log */
    /* counters and the cost series */
    uint64_t n_nodes, n_interruptions, n_ice;
    uint64_t last_tokens;
    int64_t last_scrape_us;
    double billed_usd[2]; /* by capacity type, nodes already recorded */
    /* kube-scheduler */
    struct node_class *cls[N_CLASSES];
    struct sched_node *sn;
    int32_t *sn_id;
    int32_t cap_sn;
    struct sched_work work;
};

static int64_t secs_to_us(double s)
{
    return (int64_t)llround(s * 1e6);
}

/* ---- nodes -------------------------------------------------------------------------- */

static int grow_nodes(struct sim *s)
{
    struct cluster *cl = s->cluster;
    if (s->n_nodes == s->cap_nodes) {
        int32_t cap = s->cap_nodes ? s->cap_nodes * 2 : 16;
        struct node *n = sim_reallocarray(s->nodes, (size_t)cap, sizeof *n);
        if (!n)
            return SIM_ENOMEM;
        s->nodes = n;
        s->cap_nodes = cap;
    }
    if (cl && s->n_nodes >= cl->cap_x) {
        int32_t cap = cl->cap_x ? cl->cap_x * 2 : 16;
        GROW_OR_RETURN(cl->x, cap, SIM_ENOMEM);
        GROW_OR_RETURN(cl->slots, cap, SIM_ENOMEM);
        GROW_OR_RETURN(cl->slot_cpu, cap, SIM_ENOMEM);
        GROW_OR_RETURN(cl->slot_mem, cap, SIM_ENOMEM);
        GROW_OR_RETURN(cl->term, cap, SIM_ENOMEM);
        cl->cap_x = cl->cap_slots = cap;
    }
    if (cl && cl->n_live == cl->cap_live) {
        int32_t cap = cl->cap_live ? cl->cap_live * 2 : 16;
        GROW_OR_RETURN(cl->live, cap, SIM_ENOMEM);
        GROW_OR_RETURN(cl->scratch, cap, SIM_ENOMEM);
        GROW_OR_RETURN(cl->order, cap, SIM_ENOMEM);
        cl->cap_live = cap;
    }
    return SIM_OK;
}

static struct node *node_new(struct sim *s, int32_t gpus)
{
    if (grow_nodes(s) != SIM_OK)
        return NULL;
    struct node *n = &s->nodes[s->n_nodes];
    memset(n, 0, sizeof *n);
    n->id = s->n_nodes++;
    n->state = NODE_READY;
    n->gpus = gpus;
    n->units = n->gpus_free = gpushare_node_units(s, gpus); /* MIG slices, time-slicing */
    n->image_cached = true; /* the image is on the node's disk when every deployment's is */
    for (int32_t k = 0; k < s->n_deps; k++)
        n->image_cached = n->image_cached && s->deps[k]->sc->engine.startup.image_prepulled;
    n->pull_done_us = -1;
    n->instance = -1;
    n->requested_us = n->launched_us = n->registered_us = n->ready_us = s->now_us;
    n->gone_us = -1;
    s->gpus_total += gpus;
    struct cluster *cl = s->cluster;
    if (cl) {
        struct node_x *x = &cl->x[n->id];
        memset(x, 0, sizeof *x);
        x->replaces = x->replaced_by = -1;
        x->unneeded_since_us = -1;
        x->last_pod_event_us = s->now_us;
        x->evict_backoff_us = EVICT_BACKOFF_MIN_US;
        x->kill_us = -1;
        cl->live[cl->n_live++] = n->id;
        cl->n_nodes++;
    }
    return n;
}

static void oom(struct sim *s, const char *what)
{
    if (s->sink_rc == SIM_OK) {
        s->sink_rc = SIM_ENOMEM;
        sim_err_set(&s->sink_err, SIM_ENOMEM, "out of memory for %s", what);
    }
    s->stopping = true;
}

static void node_event(struct sim *s, void *obj, uint64_t arg);

static void node_at(struct sim *s, int32_t id, enum node_ev kind, int64_t t_us, uint32_t prio)
{
    struct node_x *x = &s->cluster->x[id];
    if (x->ev[kind])
        evq_cancel(s->q, x->ev[kind]);
    x->ev[kind] = evq_push(s->q, t_us, prio, node_event, NULL, ((uint64_t)id << 8) | kind);
}

/* A latency draw: lognormal through the median and p95 (RNG_NODES). */
static int64_t draw(struct sim *s, const struct np_dist *d)
{
    if (d->p95_us <= d->median_us)
        return d->median_us;
    double mu = log((double)d->median_us);
    double sigma = log((double)d->p95_us / (double)d->median_us) / 1.6448536269514722;
    return (int64_t)llround(rng_lognormal(s->rng, RNG_NODES, mu, sigma));
}

static double offer_price(const struct cluster *cl, int32_t type, int32_t zone, int capacity)
{
    return capacity == NP_SPOT ? cl->cfg.spot_price[type][zone]
                               : cl->cfg.types[type].od_usd_per_hour;
}

static const char *drain_reason_of(const struct node_x *x)
{
    return x->drain_reason ? x->drain_reason : "deleted";
}

/* ---- recording and the bill --------------------------------------------------------- */

/* Per-second billing from the launch request to `end_us` (AWS Linux: at least 60 s). */
static double node_cost(const struct cluster *cl, const struct node *n, int64_t end_us)
{
    if (cl->x[n->id].failed || n->instance < 0)
        return 0.0;
    int64_t d = end_us - n->requested_us;
    if (d < cl->cfg.billing_minimum_us)
        d = cl->cfg.billing_minimum_us;
    int64_t secs = (d + US - 1) / US;
    return n->price_usd_per_hour * (double)secs / 3600.0;
}

static void record_node(struct sim *s, const struct node *n, int64_t end_us)
{
    struct cluster *cl = s->cluster;
    const struct sim_sink *sink = s->opt.sink;
    double cost = node_cost(cl, n, end_us);
    cl->billed_usd[n->spot] += cost;
    if (!sink || !sink->node)
        return;
    const struct node_x *x = &cl->x[n->id];
    struct rec_node row = {
        .node_id = n->id,
        .instance_type = cl->cfg.types[n->instance].inst->id,
        .capacity_type = np_capacity_name(n->spot),
        .zone = cl->cfg.n_zones ? cl->cfg.zones[x->zone] : NULL,
        .price_usd_per_hour = n->price_usd_per_hour,
        .requested_us = n->requested_us,
        .launched_us = n->launched_us <= end_us ? n->launched_us : -1,
        .registered_us = n->registered_us <= end_us ? n->registered_us : -1,
        .ready_us = n->ready_us <= end_us ? n->ready_us : -1,
        .terminated_us = n->gone_us,
        .end_reason = n->end_reason,
        .cost_usd = cost,
    };
    if (x->failed)
        row.launched_us = row.registered_us = row.ready_us = -1;
    int rc = sink->node(sink->ctx, &row);
    if (rc != SIM_OK && s->sink_rc == SIM_OK) {
        s->sink_rc = rc;
        sim_err_set(&s->sink_err, rc, "could not record a node");
        s->stopping = true;
    }
}

/* ---- the PodDisruptionBudget -------------------------------------------------------------- */

/* disruptionsAllowed = currentHealthy - desiredHealthy (policy/v1; expected pods are the
 * Deployment's spec.replicas, percentages round up as GetScaledValueFromIntOrPercent
 * does). INT32_MAX without a PDB. */
static int32_t pdb_allowed_of(const struct sim *s, const struct deployment *d)
{
    const struct nodepool_cfg *c = &s->cluster->cfg;
    if (!c->pdb)
        return INT32_MAX;
    int32_t expected = d->desired;
    int32_t v = c->pdb_percent ? (int32_t)ceil(c->pdb_value * expected / 100.0)
                               : (int32_t)c->pdb_value;
    int32_t desired_healthy = c->pdb_min_available ? v : expected - v;
    if (desired_healthy < 0)
        desired_healthy = 0;
    return d->n_ready_pods - desired_healthy;
}

/* The disruptions every deployment's PDB allows: the smallest. */
static int32_t pdb_allowed(const struct sim *s)
{
    int32_t a = INT32_MAX;
    for (int32_t k = 0; k < s->n_deps; k++) {
        int32_t v = pdb_allowed_of(s, s->deps[k]);
        if (v < a)
            a = v;
    }
    return a;
}

/* May this pod be evicted now? Ready pods need a disruption to spare; pods not yet ready
 * go when the budget is met (unhealthyPodEvictionPolicy IfHealthyBudget). */
static bool pdb_allows(const struct sim *s, const struct replica *rp)
{
    int32_t a = pdb_allowed_of(s, rp->dep);
    return rp->phase == POD_READY ? a >= 1 : a >= 0;
}

/* ---- node removal ------------------------------------------------------------------------ */

static void live_remove(struct cluster *cl, int32_t id)
{
    for (int32_t i = 0; i < cl->n_live; i++)
        if (cl->live[i] == id) {
            memmove(&cl->live[i], &cl->live[i + 1],
                    (size_t)(cl->n_live - i - 1) * sizeof *cl->live);
            cl->n_live--;
            return;
        }
}

static void kp_trigger(struct sim *s);
static void rl_release(struct sim *s, int32_t id);
static void rl_pump(struct sim *s);

/* The node is gone now: its bill stops. It has no pods left. */
static void node_gone(struct sim *s, int32_t id, const char *reason)
{
    struct cluster *cl = s->cluster;
    struct node *n = &s->nodes[id];
    struct node_x *x = &cl->x[id];
    if (n->state == NODE_GONE)
        return;
    SIM_ASSERT(n->n_pods == 0);
    for (int k = 0; k < NE_N; k++)
        if (x->ev[k]) {
            evq_cancel(s->q, x->ev[k]);
            x->ev[k] = 0;
        }
    rl_release(s, id);
    n->state = NODE_GONE;
    n->gone_us = s->now_us;
    n->end_reason = reason;
    n->gpus_free = 0;
    s->gpus_total -= n->gpus;
    live_remove(cl, id);
    record_node(s, n, s->now_us);
    /* A Karpenter replacement that never became ready: the candidate stays. */
    if (x->replaces >= 0) {
        struct node_x *c = &cl->x[x->replaces];
        if (c->replaced_by == id) {
            c->replaced_by = -1;
            if (s->nodes[x->replaces].state == NODE_READY)
                c->disrupting = false;
        }
    }
    if (cl->rl_n > 0)
        rl_pump(s);
    if (cl->cfg.kind == NP_KARPENTER && s->n_pending > 0)
        kp_trigger(s);
}

/* Draining for a MIG re-layout (and for nothing else since: a spot notice or another
 * disruption takes over). */
static bool rl_draining(const struct node_x *x)
{
    return x->rl == RL_DRAIN && !x->drain_reason && !x->interrupted;
}

/* A drain, pod by pod as the PDB allows (Karpenter's terminator, AKS node auto-drain: the
 * eviction API answers 429 while the budget is spent and the eviction is retried with
 * backoff). Voluntary drains wait as long as it takes; after a spot notice the evicted
 * pods' grace is cut to the notice, and the pods the PDB still holds keep serving until
 * the instance is reclaimed (NE_KILL). */
static void drain_step(struct sim *s, int32_t id)
{
    struct cluster *cl = s->cluster;
    bool blocked = false;
    int32_t pk = 0, pi = 0;
    for (struct replica *rp; !s->stopping && (rp = sim_pod_iter(s, &pk, &pi)) != NULL;) {
        if (rp->node != id || rp->phase == POD_GONE || rp->phase == POD_TERMINATING)
            continue;
        if (!pdb_allows(s, rp)) {
            blocked = true;
            break;
        }
        bool relayout = rl_draining(&cl->x[id]);
        fleet_evict_pod(rp, cl->x[id].kill_us,
                        relayout ? "mig-relayout" : drain_reason_of(&cl->x[id]));
        cl->x[id].evict_backoff_us = EVICT_BACKOFF_MIN_US;
        if (relayout) {
            cl->x[id].rl_evicted++;
            cl->rl_evictions++;
        }
    }
    struct node_x *x = &cl->x[id];
    if (s->nodes[id].state == NODE_GONE)
        return;
    if (blocked) {
        node_at(s, id, NE_EVICT, s->now_us + x->evict_backoff_us, PRIO_CONTROL);
        x->evict_backoff_us *= 2;
        if (x->evict_backoff_us > EVICT_BACKOFF_MAX_US)
            x->evict_backoff_us = EVICT_BACKOFF_MAX_US;
    }
    /* A re-layout's drain ends in mig-manager's re-partitioning, not the node's end. */
    if (rl_draining(x)) {
        if (s->nodes[id].n_pods == 0)
            node_at(s, id, NE_DRAINED, s->now_us, PRIO_CONTROL);
        return;
    }
    /* Karpenter terminates a drained instance at once; an AKS spot VM stays until Azure
     * evicts it at the end of the notice. */
    bool early_end = !(x->interrupted && cl->cfg.kind == NP_AKS);
    if (s->nodes[id].n_pods == 0 && early_end)
        node_at(s, id, NE_TERMINATE, s->now_us, PRIO_CONTROL);
}

/* Cordon node `id` and drain it voluntarily (consolidation, expiry). */
static void drain_voluntary(struct sim *s, int32_t id, const char *reason)
{
    struct cluster *cl = s->cluster;
    cl->x[id].disrupting = true;
    cl->x[id].drain_reason = reason;
    s->nodes[id].state = NODE_DRAINING;
    drain_step(s, id);
}

/* ---- MIG re-layout ------------------------------------------------------------------------ */

/*
 * A re-layout as a platform team runs it with the GPU operator's mig-manager
 * (docs/gpu-sharing.md; NVIDIA/mig-parted deployments/gpu-operator/reconfigure-mig.sh at
 * 36e60b4b): at `at` the new `nvidia.com/mig.config` label is set on the pools' nodes, and
 * they are re-partitioned `max_unavailable` at a time. Each is cordoned and drained
 * through the eviction API (the PDB holds; the pods terminate with their grace period, the
 * ReplicaSets replace them at once); mig-manager can re-partition only GPUs no workload
 * pod holds, so it starts once the node is empty, keeps the node's GPUs offline for
 * `repartition` (the device plugin paused: no nvidia.com/mig-* advertised) and the node
 * is uncordoned advertising the new layout. The node is billed throughout. Nodes not yet
 * Ready at `at` boot with the new label, and nodes created later get it too.
 */

/* Append entry e to the re-layout timeline (run_notes 'mig_relayout'), "; "-separated. */
static void rl_append(struct cluster *cl, const char *e)
{
    size_t len = strlen(e);
    /* room for this entry and a final "; ... (N more)" */
    if (cl->rl_dropped || cl->rl_len + len + 2 + 32 >= sizeof cl->rl_log) {
        cl->rl_dropped++;
        return;
    }
    if (cl->rl_len) {
        memcpy(cl->rl_log + cl->rl_len, "; ", 2);
        cl->rl_len += 2;
    }
    memcpy(cl->rl_log + cl->rl_len, e, len + 1);
    cl->rl_len += len;
}

#define rl_note(cl, ...)                                                                   \
    do {                                                                                   \
        char rl_e_[640];                                                                   \
        snprintf(rl_e_, sizeof rl_e_, __VA_ARGS__);                                        \
        rl_append((cl), rl_e_);                                                            \
    } while (0)

static double rl_secs(int64_t us)
{
    return (double)us * 1e-6;
}

static const char *pool_name(const struct cluster *cl, const struct node_x *x)
{
    return cl->cfg.kind == NP_AKS ? cl->cfg.aks.pools[x->pool].name : "";
}

/* The node leaves the re-layout (done, or a spot notice or its end took it). */
static void rl_release(struct sim *s, int32_t id)
{
    struct cluster *cl = s->cluster;
    struct node_x *x = &cl->x[id];
    if (x->rl == RL_DRAIN || x->rl == RL_REPARTITION)
        cl->rl_active--;
    x->rl = RL_NONE;
}

/* Cordon node id and evict its pods (kubectl drain: the eviction API, so the PDB holds). */
static void rl_cordon(struct sim *s, int32_t id)
{
    struct cluster *cl = s->cluster;
    struct node_x *x = &cl->x[id];
    x->rl = RL_DRAIN;
    x->rl_evicted = 0;
    x->evict_backoff_us = EVICT_BACKOFF_MIN_US;
    cl->rl_active++;
    s->nodes[id].state = NODE_DRAINING;
    rl_note(cl, "%.3f s node %d%s%s cordoned", rl_secs(s->now_us), id,
            cl->cfg.kind == NP_AKS ? " of pool " : "", pool_name(cl, x));
}

/* Start the next queued nodes while fewer than max_unavailable are out. */
static void rl_pump(struct sim *s)
{
    struct cluster *cl = s->cluster;
    while (cl->rl_active < cl->rl_max_unavailable && cl->rl_n > 0 && !s->stopping) {
        int32_t id = cl->rl_queue[cl->rl_head];
        cl->rl_head = (cl->rl_head + 1) % cl->rl_cap;
        cl->rl_n--;
        struct node_x *x = &cl->x[id];
        const struct node *n = &s->nodes[id];
        if (x->rl != RL_QUEUED)
            continue;
        x->rl = RL_NONE;
        /* gone or going for another reason, or already in the layout wanted */
        if (n->state != NODE_READY || x->disrupting ||
            gpushare_node_layout(s, n) == cl->rl_target[x->pool])
            continue;
        rl_cordon(s, id);
        x->rl_drain = true;
    }
    /* Every node of the batch is cordoned before any is drained (kubectl drain of several
     * nodes cordons them all first), so no evicted pod lands on the next one. */
    for (int32_t i = 0; i < cl->n_live && !s->stopping; i++) {
        int32_t id = cl->live[i];
        if (cl->x[id].rl_drain) {
            cl->x[id].rl_drain = false;
            drain_step(s, id);
        }
    }
}

static void rl_enqueue(struct sim *s, int32_t id)
{
    struct cluster *cl = s->cluster;
    if (cl->rl_n == cl->rl_cap) {
        int32_t cap = cl->rl_cap ? cl->rl_cap * 2 : 16;
        int32_t *q = sim_reallocarray(NULL, (size_t)cap, sizeof *q);
        if (!q) {
            oom(s, "a MIG re-layout");
            return;
        }
        for (int32_t i = 0; i < cl->rl_n; i++)
            q[i] = cl->rl_queue[(cl->rl_head + i) % cl->rl_cap];
        free(cl->rl_queue);
        cl->rl_queue = q;
        cl->rl_head = 0;
        cl->rl_cap = cap;
    }
    cl->rl_queue[(cl->rl_head + cl->rl_n) % cl->rl_cap] = id;
    cl->rl_n++;
    cl->x[id].rl = RL_QUEUED;
}

/* relayout[arg] begins: the label changes on its pools' nodes. */
static void rl_begin(struct sim *s, void *obj, uint64_t arg)
{
    (void)obj;
    struct cluster *cl = s->cluster;
    const struct gs_relayout *r = &s->sc->cluster.sharing.relayout[arg];
    int32_t layout = (int32_t)arg + 1;
    char text[160];
    gpushare_layout_text(s, layout, 0, text, sizeof text);
    rl_note(cl, "%.3f s re-layout %d to %s per GPU", rl_secs(s->now_us), (int)arg, text);
    bool in[NP_MAX_POOLS] = {false};
    for (int32_t p = 0; p < NP_MAX_POOLS; p++) {
        in[p] = !r->pools;
        for (size_t k = 0; r->pools && k < r->pools->n && cl->cfg.kind == NP_AKS; k++)
            in[p] = in[p] || ((size_t)p < cl->cfg.aks.n_pools &&
                              !strcmp(cl->cfg.aks.pools[p].name, r->pools->items[k]->value));
        if (in[p])
            cl->rl_target[p] = layout;
    }
    cl->rl_max_unavailable = r->max_unavailable;
    for (int32_t i = 0; i < cl->n_live; i++) {
        int32_t id = cl->live[i];
        struct node *n = &s->nodes[id];
        struct node_x *x = &cl->x[id];
        if (!in[x->pool] || x->rl != RL_NONE || x->disrupting)
            continue;
        if (n->state == NODE_LAUNCHING)
            gpushare_node_set_layout(s, n, layout); /* boots with the new label */
        else if (n->state == NODE_READY && gpushare_node_layout(s, n) != layout)
            rl_enqueue(s, id);
    }
    rl_pump(s);
}

/* The node is empty: mig-manager pauses the device plugin and re-partitions its GPUs. */
static void rl_drained(struct sim *s, int32_t id)
{
    struct cluster *cl = s->cluster;
    struct node_x *x = &cl->x[id];
    struct node *n = &s->nodes[id];
    if (!rl_draining(x) || n->n_pods > 0)
        return;
    x->rl = RL_REPARTITION;
    x->rl_to = cl->rl_target[x->pool];
    int64_t dur = s->sc->cluster.sharing.relayout[x->rl_to - 1].repartition_us;
    rl_note(cl, "%.3f s node %d drained (%d pod%s evicted), re-partitioning for %.3f s",
            rl_secs(s->now_us), id, (int)x->rl_evicted, x->rl_evicted == 1 ? "" : "s",
            rl_secs(dur));
    gpushare_node_set_layout(s, n, -1);
    node_at(s, id, NE_REPARTITIONED, s->now_us + dur, PRIO_CONTROL);
}

/* mig-manager is done: the device plugin advertises the new slices, the node is
 * uncordoned, and the Pending pods may bind to it. */
static void rl_repartitioned(struct sim *s, int32_t id)
{
    struct cluster *cl = s->cluster;
    struct node_x *x = &cl->x[id];
    struct node *n = &s->nodes[id];
    if (x->rl != RL_REPARTITION)
        return;
    gpushare_node_set_layout(s, n, x->rl_to);
    n->state = NODE_READY;
    x->last_pod_event_us = s->now_us;
    cl->rl_nodes++;
    char text[160];
    gpushare_layout_text(s, x->rl_to, n->gpus, text, sizeof text);
    rl_note(cl, "%.3f s node %d uncordoned, advertising %s", rl_secs(s->now_us), id, text);
    rl_release(s, id);
    if (x->rl_to != cl->rl_target[x->pool])
        rl_enqueue(s, id); /* a later re-layout came meanwhile */
    rl_pump(s);
    fleet_place_pending(s);
}

/* ---- spot interruptions --------------------------------------------------------------------- */

static void spot_schedule(struct sim *s, int32_t id)
{
    struct cluster *cl = s->cluster;
    struct node *n = &s->nodes[id];
    if (!n->spot || !(cl->cfg.spot_rate_per_hour > 0))
        return;
    double mean_s = 3600.0 / cl->cfg.spot_rate_per_hour;
    int64_t t = n->launched_us + secs_to_us(rng_exponential(s->rng, RNG_SPOT, mean_s));
    if (t < s->now_us)
        t = s->now_us;
    node_at(s, id, NE_NOTICE, t, PRIO_CONTROL);
}

/* The interruption notice: cordon and drain through the eviction API, so the PDB holds
 * (Karpenter: the interruption controller deletes the NodeClaim and the termination
 * controller drains it; AKS: node auto-drain on the Preempt scheduled event), with the
 * evicted pods' grace cut to the notice; pods the PDB keeps serve until the instance is
 * reclaimed at the end of the notice, and are replaced only then. Karpenter also caches
 * the offering as unavailable (handleNodeClaim: MarkUnavailable for
 * SpotInterruptionKind) and terminates the instance once drained. */
static void spot_notice(struct sim *s, int32_t id)
{
    struct cluster *cl = s->cluster;
    struct node_x *x = &cl->x[id];
    struct node *n = &s->nodes[id];
    if (n->state == NODE_GONE || x->interrupted || x->failed)
        return;
    rl_release(s, id);
    x->interrupted = true;
    x->disrupting = true;
    x->drain_reason = "spot-interruption";
    cl->n_interruptions++;
    int64_t kill = s->now_us + cl->cfg.notice_us;
    x->kill_us = kill;
    x->evict_backoff_us = EVICT_BACKOFF_MIN_US;
    if (cl->cfg.kind == NP_KARPENTER)
        cl->ice_until[x->type][x->zone][NP_SPOT] = s->now_us + KP_ICE_TTL_US;
    for (int k = 0; k < NE_N; k++)
        if (x->ev[k] && k != NE_NOTICE) {
            evq_cancel(s->q, x->ev[k]); /* readiness, a voluntary drain, expiry */
            x->ev[k] = 0;
        }
    bool launching = n->state == NODE_LAUNCHING;
    n->state = NODE_DRAINING;
    if (launching && cl->cfg.kind == NP_KARPENTER) {
        node_gone(s, id, "spot-interruption");
        return;
    }
    /* After the pods' grace ends at the same instant (PRIO_CONTROL), before steps. */
    node_at(s, id, NE_KILL, kill, PRIO_SCRAPE);
    if (!launching)
        drain_step(s, id);
}

static void scripted_interruption(struct sim *s, void *obj, uint64_t arg)
{
    (void)obj;
    struct cluster *cl = s->cluster;
    int32_t want = (int32_t)arg, k = 0;
    for (int32_t i = 0; i < cl->n_live && k < want; i++)
        cl->scratch[i] = cl->live[i];
    int32_t n_live = cl->n_live;
    for (int32_t i = 0; i < n_live && k < want; i++) {
        int32_t id = cl->scratch[i];
        if (s->nodes[id].spot && !cl->x[id].interrupted && s->nodes[id].state != NODE_GONE &&
            !cl->x[id].failed) {
            spot_notice(s, id);
            k++;
        }
    }
}

/* ---- launching a node ------------------------------------------------------------------ */

/* The labels of a node of this offering or pool (AKS: and availability zone), built on
 * first use. */
static const struct node_class *node_class(struct sim *s, int32_t type, int32_t zone, int cap,
                                           int32_t pool, int32_t az)
{
    struct cluster *cl = s->cluster;
    int32_t key = cl->cfg.kind == NP_AKS
                      ? pool * NP_MAX_AZ + az
                      : ((pool * NP_MAX_TYPES + type) * NP_MAX_ZONES + zone) * 2 + cap;
    if (!cl->cls[key]) {
        struct node_class *c = calloc(1, sizeof *c);
        if (!c) {
            oom(s, "nodes");
            return NULL;
        }
        c->n = np_node_labels(&cl->cfg, cl->cat, type, zone, cap, pool, az, c->labels, c->buf,
                              sizeof c->buf);
        cl->cls[key] = c;
    }
    return cl->cls[key];
}

static void kp_expire_schedule(struct sim *s, int32_t id);

/* The availability zone of a new node of AKS pool `pool`: a zone of the pool with the
 * fewest of its nodes, the first listed on a tie (the scale set's best-effort zone
 * balance keeps the zones within one VM of each other: learn.microsoft.com/azure/
 * virtual-machine-scale-sets/virtual-machine-scale-sets-use-availability-zones, "Zone
 * balancing"; which zone takes the odd VM is Azure's choice, here the first). 0 for a
 * regional pool or outside AKS. Call before the node is added. */
static int32_t aks_new_node_az(const struct cluster *cl, int32_t pool)
{
    if (cl->cfg.kind != NP_AKS || cl->cfg.aks.pools[pool].n_az < 2)
        return 0;
    int32_t count[NP_MAX_AZ] = {0};
    for (int32_t i = 0; i < cl->n_live; i++) {
        const struct node_x *x = &cl->x[cl->live[i]];
        if (x->pool == pool && !x->failed)
            count[x->az]++;
    }
    int32_t best = 0;
    for (int32_t z = 1; z < cl->cfg.aks.pools[pool].n_az; z++)
        if (count[z] < count[best])
            best = z;
    return best;
}

/* A node of `type` in `zone` and capacity type `cap`. `initial`: there at t = 0, Ready,
 * warm. Times: requested now; launched after request_to_launch; registered after the
 * boot; Ready (GPUs allocatable) after the driver and device plugin (struct np_startup). */
static int32_t node_launch(struct sim *s, int32_t type, int32_t zone, int cap, int32_t pool,
                           bool initial, bool failed)
{
    struct cluster *cl = s->cluster;
    const struct np_type *ty = &cl->cfg.types[type];
    int32_t az = aks_new_node_az(cl, pool);
    struct node *n = node_new(s, ty->gpus);
    if (!n) {
        oom(s, "nodes");
        return -1;
    }
    int32_t id = n->id;
    struct node_x *x = &cl->x[id];
    n->instance = type;
    n->spot = cap == NP_SPOT;
    n->price_usd_per_hour = offer_price(cl, type, zone, cap);
    x->type = type;
    x->zone = zone;
    x->pool = pool;
    x->az = az;
    if (cl->rl_target[pool] > 0)
        gpushare_node_set_layout(s, n, cl->rl_target[pool]); /* labelled after a re-layout */
    x->cls = node_class(s, type, zone, cap, pool, az);
    if (!x->cls)
        return -1;
    np_allocatable(&cl->cfg, type, cl->cfg.kind == NP_AKS ? pool : -1, &x->alloc_cpu,
                   &x->alloc_mem);
    int n_taints;
    const struct sched_taint *taints = np_node_taints(&cl->cfg, pool, &n_taints);
    x->fits = 0;
    for (int32_t k = 0; k < cl->cfg.n_pods; k++) {
        const struct np_pod *pk = &cl->cfg.pods[k];
        if ((pk->types >> type & 1) && sched_taints_ok(&pk->pod, taints, n_taints) &&
            sched_affinity_ok(&pk->pod, x->cls->labels, x->cls->n))
            x->fits |= 1ull << k;
    }
    if (initial) {
        x->initialized = true;
        spot_schedule(s, id);
        kp_expire_schedule(s, id);
        return id;
    }
    n->state = NODE_LAUNCHING;
    if (failed) {
        x->failed = true;
        n->launched_us = n->registered_us = n->ready_us = -1;
        return id;
    }
    bool kp = cl->cfg.kind == NP_KARPENTER;
    const struct np_startup *st = kp ? &cl->cfg.kp_startup : &cl->cfg.aks.startup;
    n->launched_us = s->now_us + draw(s, &st->request_to_launch);
    if (st->has_total) {
        /* One measured launch-to-ready time; registration registered_to_ready before. */
        int64_t to_ready = draw(s, &st->total), reg_to_ready = draw(s, &st->gpu);
        if (reg_to_ready > to_ready)
            reg_to_ready = to_ready;
        n->ready_us = n->launched_us + to_ready;
        n->registered_us = n->ready_us - reg_to_ready;
    } else {
        /* Boot to registration, then the GPU driver and device plugin. */
        n->registered_us = n->launched_us + draw(s, &st->boot);
        n->ready_us = n->registered_us + draw(s, &st->gpu);
    }
    int64_t timeout = kp ? KP_REGISTRATION_TTL_US : cl->cfg.aks.max_node_provision_us;
    if (n->registered_us - n->requested_us > timeout) {
        /* It would not register in time: Karpenter deletes the NodeClaim at the
         * registration timeout; the cluster autoscaler removes it at its next scan after
         * max-node-provision-time (ca_scan). */
        x->stuck = true;
        n->registered_us = n->ready_us = -1;
        if (kp)
            node_at(s, id, NE_REG_TIMEOUT, n->requested_us + timeout, PRIO_CONTROL);
    } else {
        node_at(s, id, NE_READY, n->ready_us, PRIO_CONTROL);
    }
    spot_schedule(s, id);
    kp_expire_schedule(s, id);
    return id;
}

/* ---- Karpenter: offerings, the ICE cache ------------------------------------------------- */

/* The types of NodePool p whose offering (zone z, capacity type cap) every deployment in
 * `deps` can run on (each pod's node requirements, its GPU included). */
static uint64_t kp_ok_types(const struct cluster *cl, int32_t p, int32_t z, int cap, uint64_t deps)
{
    uint64_t m = cl->cfg.kp[p].types;
    for (int32_t k = 0; k < cl->cfg.n_pods && m; k++)
        if (deps >> k & 1)
            m &= cl->cfg.pods[k].kp_ok[p][z][cap];
    return m;
}

/* Offering (type t, zone z, capacity type) of NodePool p available now for the pods of
 * `deps`. */
static bool kp_offer_ok(const struct sim *s, int32_t p, int32_t t, int32_t z, int cap,
                        uint64_t deps)
{
    const struct cluster *cl = s->cluster;
    const struct np_karpenter *kp = &cl->cfg.kp[p];
    if (!kp->capacity[cap] || !kp->zone_ok[z] || !(kp_ok_types(cl, p, z, cap, deps) >> t & 1))
        return false;
    if (cap == NP_SPOT && isnan(cl->cfg.spot_price[t][z]))
        return false;
    return cl->ice_until[t][z][cap] <= s->now_us;
}

static bool kp_type_has_offer(const struct sim *s, int32_t p, int32_t t, int cap, uint64_t deps)
{
    for (int32_t z = 0; z < s->cluster->cfg.n_zones; z++)
        if (kp_offer_ok(s, p, t, z, cap, deps))
            return true;
    return false;
}

/* The types of NodePool p with an available offering for the pods of `deps`. */
static uint64_t kp_offered(const struct sim *s, int32_t p, uint64_t deps)
{
    const struct cluster *cl = s->cluster;
    const struct np_karpenter *kp = &cl->cfg.kp[p];
    uint64_t m = 0;
    for (int32_t z = 0; z < cl->cfg.n_zones; z++)
        for (int cap = 0; cap < 2; cap++) {
            if (!kp->capacity[cap] || !kp->zone_ok[z])
                continue;
            uint64_t ok = kp_ok_types(cl, p, z, cap, deps) & ~m;
            for (int32_t t = 0; ok >> t; t++)
                if ((ok >> t & 1) && !(cap == NP_SPOT && isnan(cl->cfg.spot_price[t][z])) &&
                    cl->ice_until[t][z][cap] <= s->now_us)
                    m |= 1ull << t;
        }
    return m;
}

/* Cheapest available offering of type t in NodePool p over its capacity types for the
 * pods of `deps` (NAN: none). */
static double kp_cheapest(const struct sim *s, int32_t p, int32_t t, uint64_t deps)
{
    const struct cluster *cl = s->cluster;
    double best = NAN;
    for (int cap = 0; cap < 2; cap++)
        for (int32_t z = 0; z < cl->cfg.n_zones; z++)
            if (kp_offer_ok(s, p, t, z, cap, deps)) {
                double v = offer_price(cl, t, z, cap);
                if (isnan(best) || v < best)
                    best = v;
            }
    return best;
}

/* An insufficient-capacity error for this offering now? Explicit windows first, then the
 * per-offering probability (RNG_NODES). */
static bool ice_hit(struct sim *s, int32_t t, int32_t z, int cap)
{
    const struct nodepool_cfg *c = &s->cluster->cfg;
    for (size_t i = 0; i < c->n_ice; i++) {
        const struct np_ice_window *w = &c->ice[i];
        if (w->type == t && (w->zone < 0 || w->zone == z) &&
            (w->capacity < 0 || w->capacity == cap) &&
            s->now_us >= w->from_us && s->now_us < w->until_us)
            return true;
    }
    return c->ice_probability > 0 && rng_uniform(s->rng, RNG_NODES) < c->ice_probability;
}

static int cmp_offer(const void *a, const void *b)
{
    const struct { double price; int32_t type, zone; } *x = a, *y = b;
    if (x->price != y->price)
        return x->price < y->price ? -1 : 1;
    if (x->type != y->type)
        return x->type - y->type;
    return x->zone - y->zone;
}

/*
 * Launch one NodeClaim whose pods fit the types in `opts`, as the AWS provider does:
 * spot when the NodePool allows it and a spot offering is available (getCapacityType),
 * spot types dearer than the cheapest on-demand one dropped in a mixed launch
 * (filterUnwantedSpot), then the cheapest offering (CreateFleet: lowest-price for
 * on-demand; price-capacity-optimized for spot, which weighs pool depth we do not know,
 * is modelled as lowest price). An offering with insufficient capacity is cached as
 * unavailable for 3 minutes (updateUnavailableOfferingsCache; on Azure 1 hour, the Azure
 * provider's AllocationFailureTTL) and the next is tried; when
 * no spot offering is left, on-demand at once. `spot_only` (consolidation replacing an
 * on-demand node) never falls back. Only offerings every deployment in `deps` (the claim's
 * pods) can run on are tried. Returns the node id, or -1 when nothing launched.
 */
static int32_t kp_launch(struct sim *s, int32_t p, uint64_t opts, uint64_t deps, bool spot_only,
                         bool initial)
{
    struct cluster *cl = s->cluster;
    const struct np_karpenter *kp = &cl->cfg.kp[p];
    for (int attempt = 0; attempt < 3; attempt++) {
        bool any[2] = {false, false};
        for (int32_t t = 0; t < cl->cfg.n_types; t++)
            if (opts >> t & 1)
                for (int cap = 0; cap < 2; cap++)
                    any[cap] = any[cap] || kp_type_has_offer(s, p, t, cap, deps);
        int cap = kp->capacity[NP_SPOT] && any[NP_SPOT] ? NP_SPOT
                  : !spot_only && any[NP_ON_DEMAND]     ? NP_ON_DEMAND
                                                        : -1;
        if (cap < 0)
            return -1;
        uint64_t use = opts;
        if (cap == NP_SPOT && !spot_only && any[NP_ON_DEMAND]) {
            double od = INFINITY;
            for (int32_t t = 0; t < cl->cfg.n_types; t++)
                if ((opts >> t & 1) && kp_type_has_offer(s, p, t, NP_ON_DEMAND, deps) &&
                    cl->cfg.types[t].od_usd_per_hour < od)
                    od = cl->cfg.types[t].od_usd_per_hour;
            for (int32_t t = 0; t < cl->cfg.n_types; t++)
                if ((use >> t & 1) && !(kp_cheapest(s, p, t, deps) <= od))
                    use &= ~(1ull << t);
        }
        size_t n = 0;
        for (int32_t t = 0; t < cl->cfg.n_types; t++)
            if (use >> t & 1)
                for (int32_t z = 0; z < cl->cfg.n_zones; z++)
                    if (kp_offer_ok(s, p, t, z, cap, deps)) {
                        cl->offers[n].price = offer_price(cl, t, z, cap);
                        cl->offers[n].type = t;
                        cl->offers[n].zone = z;
                        n++;
                    }
        qsort(cl->offers, n, sizeof *cl->offers, cmp_offer);
        for (size_t i = 0; i < n; i++) {
            int32_t t = cl->offers[i].type, z = cl->offers[i].zone;
            if (!initial && ice_hit(s, t, z, cap)) {
                cl->ice_until[t][z][cap] =
                    s->now_us + (cl->cfg.cloud == NP_AZURE ? KP_AZURE_ICE_TTL_US : KP_ICE_TTL_US);
                cl->n_ice++;
                continue;
            }
            return node_launch(s, t, z, cap, p, initial, false);
        }
    }
    return -1;
}

/* ---- Karpenter: scheduling pods onto new NodeClaims ------------------------------------ */

static bool kp_counts_for_limits(const struct sim *s, int32_t id)
{
    const struct node *n = &s->nodes[id];
    return n->state != NODE_GONE && !s->cluster->x[id].disrupting && !s->cluster->x[id].failed;
}

/* Do pods requesting `req` (0: none, not checked) fit beside the DaemonSet pods'
 * requests `ds` in `alloc`? */
static bool res_fits(int64_t req, int64_t ds, int64_t alloc)
{
    return req == 0 || req + ds <= alloc;
}

/* Types (a mask) of NodePool p whose allocatable holds a claim's pods: the sum of their
 * GPUs, cpu and memory requests (nodeclaim.go filterInstanceTypesByRequirements, fits:
 * resources.Fits(requests, it.Allocatable()), the requests starting from the DaemonSet
 * pods', cluster.daemonset_requests: getDaemonOverhead). */
static uint64_t kp_fits(const struct cluster *cl, int32_t p, int32_t units, int64_t cpu,
                        int64_t mem)
{
    uint64_t m = 0;
    for (int32_t t = 0; t < cl->cfg.n_types; t++) {
        const struct np_type *ty = &cl->cfg.types[t];
        if ((cl->cfg.kp[p].types >> t & 1) && ty->gpus >= units &&
            res_fits(cpu, cl->cfg.ds_cpu_m, ty->alloc_cpu_m) &&
            res_fits(mem, cl->cfg.ds_memory, ty->alloc_memory))
            m |= 1ull << t;
    }
    return m;
}

static bool items_oom(struct sim *s)
{
    oom(s, "scheduling");
    return false;
}

/* Room for the pods of a simulation (cl->items, cl->left: n each). */
static bool items_reserve(struct sim *s, int32_t n)
{
    struct cluster *cl = s->cluster;
    if (n <= cl->cap_items)
        return true;
    int32_t cap = cl->cap_items ? cl->cap_items : 16;
    while (cap < n)
        cap *= 2;
    GROW_OR_RETURN(cl->items, cap, items_oom(s));
    GROW_OR_RETURN(cl->left, cap, items_oom(s));
    GROW_OR_RETURN(cl->est, cap, items_oom(s));
    GROW_OR_RETURN(cl->est_cpu, cap, items_oom(s));
    GROW_OR_RETURN(cl->est_mem, cap, items_oom(s));
    cl->cap_items = cap;
    return true;
}

static struct pod_item item_of(const struct replica *rp)
{
    const struct deployment *d = rp->dep;
    return (struct pod_item){d->id,        d->gpus_per_pod, d->cpu_m, d->mem_bytes,
                             rp->created_us / 1000000, rp->uid, rp->seq};
}

/* Karpenter's queue order (provisioning/scheduling/queue.go byCPUAndMemoryDescending,
 * kubernetes-sigs/karpenter v1.6.4): cpu requests, then memory requests, descending (GPUs
 * are not a sort key), then creation time at the API server's one-second resolution,
 * then UID. */
static int cmp_item(const void *a, const void *b)
{
    const struct pod_item *x = a, *y = b;
    if (x->cpu != y->cpu)
        return x->cpu > y->cpu ? -1 : 1;
    if (x->mem != y->mem)
        return x->mem > y->mem ? -1 : 1;
    if (x->sec != y->sec)
        return x->sec < y->sec ? -1 : 1;
    if (x->uid != y->uid)
        return x->uid < y->uid ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/*
 * Karpenter's scheduler for the pending pods `it[0..n)` in queue order, past the existing
 * nodes (Scheduler.add then addToInflightNode, addToNewNodeClaim, NodeClaim.Add,
 * kubernetes-sigs/karpenter v1.6 scheduling/scheduler.go and nodeclaim.go): a pod goes to
 * the first in-progress NodeClaim, fewest pods first, whose instance-type options can
 * still hold it (the options narrow to the types whose allocatable holds the sum of its
 * pods' GPUs, cpu and memory requests and that have an offering every one of its pods can run on: filterInstanceTypesByRequirements,
 * Requirements.Compatible); otherwise a new NodeClaim is opened from the first NodePool,
 * in weight order, with types that hold the pod, have an available offering for it and
 * stay within the NodePool's remaining limits (filterByRemainingResources), and the
 * largest option's capacity is taken off the remaining limits (subtractMax). `exclude` is
 * a node being consolidated (its capacity does not count against the limits), or -1.
 * Returns the number of claims in cl->claims; *unplaced counts pods no claim could take.
 */
static int32_t kp_pack(struct sim *s, const struct pod_item *it, int32_t n, int32_t exclude,
                       int32_t *unplaced)
{
    struct cluster *cl = s->cluster;
    const int32_t np = cl->cfg.n_kp;
    double rem[NP_MAX_KP][3];
    uint64_t base[NP_MAX_KP][64], have[NP_MAX_KP]; /* offered types per deployment, lazily */
    for (int32_t p = 0; p < np; p++) {
        const struct np_karpenter *kp = &cl->cfg.kp[p];
        rem[p][0] = kp->limit_gpus;
        rem[p][1] = kp->limit_cpu;
        rem[p][2] = kp->limit_memory_gib;
        have[p] = 0;
    }
    /* Each node counts against its own NodePool's limits (calculateExistingNodeClaims). */
    for (int32_t i = 0; i < cl->n_live; i++) {
        int32_t id = cl->live[i];
        if (id == exclude || !kp_counts_for_limits(s, id))
            continue;
        const struct np_type *ty = &cl->cfg.types[s->nodes[id].instance];
        double *r = rem[cl->x[id].pool];
        r[0] -= ty->gpus;
        r[1] -= ty->vcpu;
        r[2] -= isnan(ty->memory_gib) ? 0 : ty->memory_gib;
    }
    if (n > cl->cap_claims) {
        struct kp_claim *c = sim_reallocarray(cl->claims, (size_t)n, sizeof *c);
        if (!c) {
            oom(s, "scheduling");
            *unplaced = n;
            return 0;
        }
        cl->claims = c;
        cl->cap_claims = n;
    }
    int32_t n_claims = 0;
    *unplaced = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t d = it[i].dep, u = it[i].units;
        int64_t cpu = it[i].cpu, mem = it[i].mem;
        uint64_t bit = 1ull << d;
        int32_t best = -1;
        uint64_t best_o = 0;
        for (int32_t c = 0; c < n_claims; c++) {
            const struct kp_claim *cc = &cl->claims[c];
            if (best >= 0 && cc->pods >= cl->claims[best].pods)
                continue;
            uint64_t o = cc->opts & kp_fits(cl, cc->pool, cc->units + u, cc->cpu + cpu, cc->mem + mem);
            if (o && !(cc->deps & bit))
                o &= kp_offered(s, cc->pool, cc->deps | bit);
            if (o) {
                best = c;
                best_o = o;
            }
        }
        if (best >= 0) {
            struct kp_claim *cc = &cl->claims[best];
            cc->pods++;
            cc->units += u;
            cc->cpu += cpu;
            cc->mem += mem;
            cc->deps |= bit;
            cc->opts = best_o;
            continue;
        }
        /* A new NodeClaim from the first NodePool, in weight order, with a type that has
         * an offering for the pod and stays within the pool's remaining limits
         * (filterByRemainingResources). */
        int32_t p = 0;
        uint64_t opts = 0;
        for (; p < np && !opts; p++) {
            if (!(have[p] & bit)) {
                base[p][d] = kp_offered(s, p, bit);
                have[p] |= bit;
            }
            opts = base[p][d] & kp_fits(cl, p, u, cpu, mem);
            for (int32_t t = 0; t < cl->cfg.n_types; t++) {
                const struct np_type *ty = &cl->cfg.types[t];
                double gib = isnan(ty->memory_gib) ? 0 : ty->memory_gib;
                if (ty->gpus > rem[p][0] || ty->vcpu > rem[p][1] || gib > rem[p][2])
                    opts &= ~(1ull << t);
            }
        }
        if (!opts) {
            (*unplaced)++;
            continue;
        }
        p--;
        cl->claims[n_claims++] = (struct kp_claim){1, u, cpu, mem, opts, bit, p};
        double mx[3] = {0, 0, 0};
        for (int32_t t = 0; t < cl->cfg.n_types; t++)
            if (opts >> t & 1) {
                const struct np_type *ty = &cl->cfg.types[t];
                double v[3] = {ty->gpus, ty->vcpu, isnan(ty->memory_gib) ? 0 : ty->memory_gib};
                for (int k = 0; k < 3; k++)
                    if (v[k] > mx[k])
                        mx[k] = v[k];
            }
        for (int k = 0; k < 3; k++)
            rem[p][k] -= mx[k]; /* subtractMax */
    }
    return n_claims;
}

/* A node's free GPU units, allocatable cpu and memory into the simulation's slots. */
static void slots_of(struct sim *s, int32_t id)
{
    struct cluster *cl = s->cluster;
    const struct node *n = &s->nodes[id];
    cl->slots[id] = n->gpus_free;
    cl->slot_cpu[id] = cl->x[id].alloc_cpu - n->cpu_req - cl->cfg.ds_cpu_m;
    cl->slot_mem[id] = cl->x[id].alloc_mem - n->mem_req - cl->cfg.ds_memory;
}

/* The nodes Karpenter's scheduler tries pods on before opening NodeClaims: Ready and
 * in-flight nodes not being disrupted, initialized ones first, then by name (here: by id;
 * Scheduler.existingNodes, scheduler.go NewScheduler), each with its free GPU units in
 * cl->slots; `exclude` (a consolidation candidate) left out. Returns their count; the ids
 * are in cl->order. */
static int32_t kp_existing(struct sim *s, int32_t exclude)
{
    struct cluster *cl = s->cluster;
    int32_t m = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int32_t i = 0; i < cl->n_live; i++) {
            int32_t id = cl->live[i];
            const struct node *n = &s->nodes[id];
            if (id == exclude || cl->x[id].disrupting || cl->x[id].failed ||
                n->state != (pass == 0 ? NODE_READY : NODE_LAUNCHING))
                continue;
            slots_of(s, id);
            cl->order[m++] = id;
        }
    return m;
}

/* Room for pod q on a node with `units`, `cpu` and `mem` free (a resource q does not
 * request is not checked). */
static bool est_fits(int32_t units, int64_t cpu, int64_t mem, const struct pod_item *q)
{
    return units >= q->units && (q->cpu == 0 || cpu >= q->cpu) && (q->mem == 0 || mem >= q->mem);
}

/* Does pod `it` fit node id's free units, cpu and memory in the simulation's slots?
 * (ExistingNode.CanAdd: resources.Fits(requests, remainingResources); the kube-scheduler's
 * NodeResourcesFit on a snapshot.) A resource the pod does not request is not checked. */
static bool slot_fits(const struct cluster *cl, int32_t id, const struct pod_item *it)
{
    return (cl->x[id].fits >> it->dep & 1) &&
           est_fits(cl->slots[id], cl->slot_cpu[id], cl->slot_mem[id], it);
}

static void slot_take(struct cluster *cl, int32_t id, const struct pod_item *it, int sign)
{
    cl->slots[id] -= sign * it->units;
    cl->slot_cpu[id] -= sign * it->cpu;
    cl->slot_mem[id] -= sign * it->mem;
}

/* First fit of one pod onto the nodes cl->order[0..m) with their free resources in the
 * slots (taken when it fits). */
static bool fit_first(struct sim *s, int32_t m, const struct pod_item *it)
{
    struct cluster *cl = s->cluster;
    for (int32_t j = 0; j < m; j++) {
        int32_t id = cl->order[j];
        if (slot_fits(cl, id, it)) {
            slot_take(cl, id, it, 1);
            return true;
        }
    }
    return false;
}

/* The pending pods (every deployment's) in Karpenter's queue order into cl->items, the
 * count; -1 when out of memory. */
static int32_t pending_items(struct sim *s)
{
    struct cluster *cl = s->cluster;
    if (!items_reserve(s, s->n_pending))
        return -1;
    for (int32_t i = 0; i < s->n_pending; i++)
        cl->items[i] = item_of(s->pending[i]);
    if (s->n_deps > 1)
        qsort(cl->items, (size_t)s->n_pending, sizeof *cl->items, cmp_item);
    return s->n_pending;
}

static void kp_requeue(struct sim *s, void *obj, uint64_t arg);

/* NodePool.Spec.Limits.ExceededBy(Status.Resources) at NodeClaim creation
 * (Provisioner.Create): usage over every node of NodePool p. */
static bool kp_limits_exceeded(const struct sim *s, int32_t p)
{
    const struct cluster *cl = s->cluster;
    double use[3] = {0, 0, 0};
    for (int32_t i = 0; i < cl->n_live; i++) {
        if (cl->x[cl->live[i]].pool != p)
            continue;
        const struct np_type *ty = &cl->cfg.types[s->nodes[cl->live[i]].instance];
        use[0] += ty->gpus;
        use[1] += ty->vcpu;
        use[2] += isnan(ty->memory_gib) ? 0 : ty->memory_gib;
    }
    const struct np_karpenter *kp = &cl->cfg.kp[p];
    return use[0] > kp->limit_gpus || use[1] > kp->limit_cpu || use[2] > kp->limit_memory_gib;
}

/* The batch window closed: schedule the pending pods of every deployment
 * (Provisioner.Reconcile, Schedule, CreateNodeClaims): in queue order, each onto an
 * existing or in-flight node with room, else packed into new NodeClaims. Pods no NodeClaim
 * took are retried when the pod controller requeues them (10 s). */
static void kp_provision(struct sim *s, void *obj, uint64_t arg)
{
    (void)obj;
    (void)arg;
    struct cluster *cl = s->cluster;
    cl->close_ev = 0;
    cl->window = false;
    int32_t n = pending_items(s);
    if (n <= 0)
        return;
    int32_t m = kp_existing(s, -1), need = 0;
    for (int32_t i = 0; i < n; i++)
        if (!fit_first(s, m, &cl->items[i]))
            cl->left[need++] = cl->items[i];
    if (need == 0)
        return;
    int32_t unplaced;
    int32_t n_claims = kp_pack(s, cl->left, need, -1, &unplaced);
    int32_t uncovered = unplaced;
    for (int32_t c = 0; c < n_claims && !s->stopping; c++) {
        const struct kp_claim *cc = &cl->claims[c];
        if (kp_limits_exceeded(s, cc->pool) ||
            kp_launch(s, cc->pool, cc->opts, cc->deps, false, false) < 0)
            uncovered += cc->pods;
    }
    if (uncovered > 0 && !cl->requeue_ev)
        cl->requeue_ev =
            evq_push(s->q, s->now_us + KP_POD_REQUEUE_US, PRIO_CONTROL, kp_requeue, NULL, 0);
}

/* A trigger opens the batch window or extends it: it closes 1 s after the last trigger,
 * or 10 s after it opened (Batcher.Wait). */
static void kp_trigger(struct sim *s)
{
    struct cluster *cl = s->cluster;
    int64_t close;
    if (!cl->window) {
        cl->window = true;
        cl->window_start_us = s->now_us;
        close = s->now_us + KP_BATCH_IDLE_US;
    } else {
        close = s->now_us + KP_BATCH_IDLE_US;
        if (close > cl->window_start_us + KP_BATCH_MAX_US)
            close = cl->window_start_us + KP_BATCH_MAX_US;
    }
    if (cl->close_ev) {
        if (evq_time(s->q, cl->close_ev) == close)
            return;
        evq_cancel(s->q, cl->close_ev);
    }
    cl->close_ev = evq_push(s->q, close, PRIO_CONTROL, kp_provision, NULL, 0);
}

static void kp_requeue(struct sim *s, void *obj, uint64_t arg)
{
    (void)obj;
    (void)arg;
    s->cluster->requeue_ev = 0;
    if (s->n_pending > 0)
        kp_trigger(s);
}

/* ---- Karpenter: disruption (consolidation, expiry) ----------------------------------------- */

static void kp_expire_schedule(struct sim *s, int32_t id)
{
    struct cluster *cl = s->cluster;
    if (cl->cfg.kind != NP_KARPENTER || cl->cfg.kp[cl->x[id].pool].expire_after_us < 0)
        return;
    node_at(s, id, NE_EXPIRE, s->nodes[id].requested_us + cl->cfg.kp[cl->x[id].pool].expire_after_us,
            PRIO_CONTROL);
}

/* allowed = roundup(total x pct) (or the count) - disrupting, the most restrictive budget
 * of NodePool p for `reason` (BuildDisruptionBudgetMapping, per NodePool: total counts
 * the pool's initialized nodes not terminating; disrupting those NotReady or marked for
 * deletion). */
static int32_t kp_budget(const struct sim *s, int32_t p, unsigned reason)
{
    const struct cluster *cl = s->cluster;
    const struct np_karpenter *kp = &cl->cfg.kp[p];
    int32_t total = 0, disrupting = 0;
    for (int32_t i = 0; i < cl->n_live; i++) {
        int32_t id = cl->live[i];
        if (!cl->x[id].initialized || cl->x[id].pool != p)
            continue;
        total++;
        disrupting += cl->x[id].disrupting || s->nodes[id].state != NODE_READY;
    }
    int32_t allowed = INT32_MAX;
    for (size_t b = 0; b < kp->n_budgets; b++) {
        const struct np_budget *bg = &kp->budgets[b];
        if (bg->reasons && !(bg->reasons & reason))
            continue;
        /* A scheduled budget holds only within `duration` after a hit (Budget.IsActive). */
        if (bg->scheduled && !cron_active(&bg->cron, cl->cfg.start_s + s->now_us / 1000000,
                                          bg->duration_us / 1000000))
            continue;
        int32_t v = bg->percent ? (int32_t)ceil(total * bg->nodes / 100.0) : (int32_t)bg->nodes;
        if (v < allowed)
            allowed = v;
    }
    if (allowed == INT32_MAX)
        return INT32_MAX;
    allowed -= disrupting;
    return allowed > 0 ? allowed : 0;
}

/* Does a pod on node `id` carry an active karpenter.sh/do-not-disrupt? "true" blocks for
 * good, a duration until that long after the pod's start (status.startTime: when the
 * kubelet admitted it). Terminating pods do not count. */
static bool kp_do_not_disrupt(const struct sim *s, int32_t id)
{
    bool any = false;
    for (int32_t k = 0; k < s->n_deps; k++)
        any = any || s->deps[k]->sc->fleet.pod.do_not_disrupt_us != 0;
    if (!any)
        return false;
    int32_t pk = 0, pi = 0;
    for (const struct replica *rp; (rp = sim_pod_iter(s, &pk, &pi)) != NULL;) {
        int64_t d = rp->dep->sc->fleet.pod.do_not_disrupt_us;
        if (d == 0 || rp->node != id || rp->phase == POD_GONE || rp->phase == POD_TERMINATING)
            continue;
        if (d < 0 || s->now_us < rp->scheduled_us + d)
            return true;
    }
    return false;
}

/* A consolidation candidate: initialized, Ready, not being disrupted or replaced, no pod
 * event for consolidateAfter (nodeclaim disruption Consolidation.Reconcile), no pod with
 * karpenter.sh/do-not-disrupt (which does not block expiration or interruption). */
static bool kp_candidate(const struct sim *s, int32_t id)
{
    const struct cluster *cl = s->cluster;
    const struct node_x *x = &cl->x[id];
    const struct node *n = &s->nodes[id];
    if (n->state != NODE_READY || !x->initialized || x->disrupting || x->replaced_by >= 0 ||
        kp_do_not_disrupt(s, id))
        return false;
    if (x->replaces >= 0 && s->nodes[x->replaces].state != NODE_GONE)
        return false;
    int64_t after = cl->cfg.kp[x->pool].consolidate_after_us;
    return after >= 0 && s->now_us - x->last_pod_event_us >= after;
}

/* Live pods (not gone) by node, for the simulations of one disruption pass or autoscaler
 * scan: bn_pods[bn_start[id] .. bn_start[id + 1]), in every deployment's pod order. */
static bool pods_by_node(struct sim *s)
{
    struct cluster *cl = s->cluster;
    if (cl->bn_valid)
        return true;
    if (s->n_nodes + 1 > cl->cap_bn_start) {
        int32_t cap = s->cap_nodes + 1;
        int32_t *a = sim_reallocarray(cl->bn_start, (size_t)cap, sizeof *a);
        if (!a) {
            oom(s, "scheduling");
            return false;
        }
        cl->bn_start = a;
        cl->cap_bn_start = cap;
    }
    memset(cl->bn_start, 0, (size_t)(s->n_nodes + 1) * sizeof *cl->bn_start);
    int32_t total = 0, pk = 0, pi = 0;
    for (const struct replica *rp; (rp = sim_pod_iter(s, &pk, &pi)) != NULL;)
        if (rp->node >= 0 && rp->phase != POD_GONE) {
            cl->bn_start[rp->node + 1]++;
            total++;
        }
    if (total > cl->cap_bn_pods) {
        struct replica **b = sim_reallocarray(cl->bn_pods, (size_t)total, sizeof *b);
        if (!b) {
            oom(s, "scheduling");
            return false;
        }
        cl->bn_pods = b;
        cl->cap_bn_pods = total;
    }
    for (int32_t i = 0; i < s->n_nodes; i++)
        cl->bn_start[i + 1] += cl->bn_start[i];
    /* fill, using cl->slots as the cursor per node */
    for (int32_t i = 0; i < s->n_nodes; i++)
        cl->slots[i] = cl->bn_start[i];
    pk = pi = 0;
    for (struct replica *rp; (rp = sim_pod_iter(s, &pk, &pi)) != NULL;)
        if (rp->node >= 0 && rp->phase != POD_GONE)
            cl->bn_pods[cl->slots[rp->node]++] = rp;
    cl->bn_valid = true;
    return true;
}

/* The replacement NodeClaim of a consolidation command. */
struct kp_repl {
    uint64_t opts, deps; /* its instance types; the deployments of its pods */
    bool spot_only;
    int32_t pool;
};

/*
 * What single-node consolidation does with candidate `id` (consolidation
 * computeConsolidation, SimulateScheduling): the pending pods and the candidate's pods
 * (those not already terminating) are scheduled as the provisioner would, without the
 * candidate: onto the other nodes (Ready or in flight, not being disrupted) in Karpenter's
 * order, the pending pods first. Delete it when all of its pods found room; otherwise
 * replace it when the pods left need exactly one new NodeClaim that has a type whose
 * cheapest offering is cheaper than the candidate's price (spot candidates are not
 * replaced: spot-to-spot consolidation is a feature gate, off by default; an on-demand
 * candidate in a NodePool that allows spot is replaced by spot only). *r describes the
 * replacement.
 */
static enum kp_cmd_kind kp_decide(struct sim *s, int32_t id, struct kp_repl *r)
{
    struct cluster *cl = s->cluster;
    if (!pods_by_node(s))
        return CMD_NONE;
    int32_t n_pend = pending_items(s);
    int32_t from = cl->bn_start[id], to = cl->bn_start[id + 1];
    if (n_pend < 0 || !items_reserve(s, n_pend + to - from))
        return CMD_NONE;
    int32_t m = kp_existing(s, id);
    for (int32_t i = 0; i < n_pend; i++)
        fit_first(s, m, &cl->items[i]); /* pending pods that find no room do not block */
    int32_t k = 0;
    for (int32_t i = from; i < to; i++)
        if (cl->bn_pods[i]->phase != POD_TERMINATING) /* terminating pods need no room */
            cl->items[k++] = item_of(cl->bn_pods[i]);
    if (s->n_deps > 1)
        qsort(cl->items, (size_t)k, sizeof *cl->items, cmp_item);
    int32_t need = 0;
    for (int32_t i = 0; i < k; i++)
        if (!fit_first(s, m, &cl->items[i]))
            cl->left[need++] = cl->items[i];
    if (need == 0)
        return CMD_DELETE;
    if (s->nodes[id].spot || s->n_pending > 0)
        return CMD_NONE;
    /* Alike pods (one deployment): the packing of `need` pods is the same for every
     * candidate unless a limit makes the candidate's own capacity matter. */
    bool memo = cl->kp_unlimited && cl->uniform;
    int32_t unplaced, n_claims, p;
    uint64_t o, deps;
    if (memo && cl->memo_valid && cl->memo_need == need) {
        unplaced = cl->memo_unplaced;
        n_claims = cl->memo_claims;
        o = cl->memo_opts;
        deps = cl->memo_deps;
        p = cl->memo_pool;
    } else {
        n_claims = kp_pack(s, cl->left, need, id, &unplaced);
        o = n_claims > 0 ? cl->claims[0].opts : 0;
        deps = n_claims > 0 ? cl->claims[0].deps : 0;
        p = n_claims > 0 ? cl->claims[0].pool : 0;
        if (memo) {
            cl->memo_valid = true;
            cl->memo_need = need;
            cl->memo_claims = n_claims;
            cl->memo_unplaced = unplaced;
            cl->memo_opts = o;
            cl->memo_deps = deps;
            cl->memo_pool = p;
        }
    }
    if (unplaced > 0 || n_claims != 1)
        return CMD_NONE;
    double price = s->nodes[id].price_usd_per_hour;
    for (int32_t t = 0; t < cl->cfg.n_types; t++)
        if ((o >> t & 1) && !(kp_cheapest(s, p, t, deps) < price))
            o &= ~(1ull << t);
    if (!o)
        return CMD_NONE;
    r->opts = o;
    r->deps = deps;
    r->pool = p;
    r->spot_only = cl->cfg.kp[p].capacity[NP_SPOT] && cl->cfg.kp[p].capacity[NP_ON_DEMAND];
    return CMD_REPLACE;
}

static int cmp_cost(const void *a, const void *b, const struct sim *s)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    int32_t px = s->nodes[x].n_pods, py = s->nodes[y].n_pods;
    if (px != py)
        return px < py ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Candidates in order of disruption cost (fewest pods first; ties by age). */
static int32_t kp_candidates(struct sim *s)
{
    struct cluster *cl = s->cluster;
    int32_t n = 0;
    for (int32_t i = 0; i < cl->n_live; i++)
        if (kp_candidate(s, cl->live[i]))
            cl->scratch[n++] = cl->live[i];
    /* insertion sort: few nodes, stable, no qsort context needed */
    for (int32_t i = 1; i < n; i++) {
        int32_t v = cl->scratch[i], j = i;
        while (j > 0 && cmp_cost(&v, &cl->scratch[j - 1], s) < 0) {
            cl->scratch[j] = cl->scratch[j - 1];
            j--;
        }
        cl->scratch[j] = v;
    }
    return n;
}

/* One disruption pass: Emptiness, then (WhenEmptyOrUnderutilized) single-node
 * consolidation. Multi-node consolidation is not modelled separately: for identical GPU
 * pods it reduces to single-node deletions over successive passes. */
static enum kp_cmd_kind kp_compute(struct sim *s, struct kp_repl *r)
{
    struct cluster *cl = s->cluster;
    cl->n_cmd = 0;
    cl->bn_valid = cl->memo_valid = false;
    int32_t n = kp_candidates(s);
    int32_t allowed[NP_MAX_KP];
    for (int32_t p = 0; p < cl->cfg.n_kp; p++)
        allowed[p] = kp_budget(s, p, NP_REASON_EMPTY);
    for (int32_t i = 0; i < n && cl->n_cmd < 64; i++) {
        int32_t id = cl->scratch[i], p = cl->x[id].pool;
        if (s->nodes[id].n_pods == 0 && allowed[p] > 0) {
            cl->cmd_nodes[cl->n_cmd++] = id;
            allowed[p]--;
        }
    }
    if (cl->n_cmd > 0)
        return CMD_EMPTY;
    /* Single-node consolidation over the candidates of the NodePools whose policy is
     * WhenEmptyOrUnderutilized and whose Underutilized budget allows one more. */
    for (int32_t p = 0; p < cl->cfg.n_kp; p++)
        allowed[p] = cl->cfg.kp[p].policy == NP_WHEN_EMPTY_OR_UNDERUTILIZED
                         ? kp_budget(s, p, NP_REASON_UNDERUTILIZED)
                         : 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t id = cl->scratch[i];
        if (allowed[cl->x[id].pool] == 0)
            continue;
        if (s->nodes[id].n_pods > 0 && pdb_allowed(s) < 1)
            continue; /* "pdb prevents pod evictions" */
        enum kp_cmd_kind k = kp_decide(s, id, r);
        if (k != CMD_NONE) {
            cl->cmd_nodes[0] = id;
            cl->n_cmd = 1;
            return k;
        }
    }
    return CMD_NONE;
}

static void kp_disrupt(struct sim *s, void *obj, uint64_t arg);

static void kp_next_pass(struct sim *s, int64_t t_us)
{
    struct cluster *cl = s->cluster;
    bool any = false;
    for (int32_t p = 0; p < cl->cfg.n_kp; p++)
        any = any || cl->cfg.kp[p].consolidate_after_us >= 0;
    if (!any)
        return; /* consolidateAfter: Never in every NodePool */
    if (cl->disrupt_ev)
        evq_cancel(s->q, cl->disrupt_ev);
    cl->disrupt_ev = evq_push(s->q, t_us, PRIO_CONTROL, kp_disrupt, NULL, 0);
}

/* After consolidationTTL: the command still holds (the candidates are still candidates
 * and the decision is unchanged), then it runs. */
static void kp_validate(struct sim *s, void *obj, uint64_t arg)
{
    (void)obj;
    (void)arg;
    struct cluster *cl = s->cluster;
    cl->validate_ev = 0;
    enum kp_cmd_kind kind = cl->cmd;
    cl->cmd = CMD_NONE;
    bool ok = true;
    for (int32_t i = 0; i < cl->n_cmd && ok; i++)
        ok = kp_candidate(s, cl->cmd_nodes[i]);
    if (ok && kind == CMD_EMPTY) {
        for (int32_t i = 0; i < cl->n_cmd && ok; i++)
            ok = s->nodes[cl->cmd_nodes[i]].n_pods == 0;
        int32_t per_pool[NP_MAX_KP] = {0};
        for (int32_t i = 0; i < cl->n_cmd; i++)
            per_pool[cl->x[cl->cmd_nodes[i]].pool]++;
        for (int32_t p = 0; p < cl->cfg.n_kp && ok; p++)
            ok = per_pool[p] == 0 || kp_budget(s, p, NP_REASON_EMPTY) >= per_pool[p];
        if (ok)
            for (int32_t i = 0; i < cl->n_cmd; i++) {
                int32_t id = cl->cmd_nodes[i];
                cl->x[id].disrupting = true;
                s->nodes[id].state = NODE_DRAINING;
                node_gone(s, id, "consolidation-empty");
            }
    } else if (ok) {
        int32_t id = cl->cmd_nodes[0];
        struct kp_repl r = {0};
        cl->bn_valid = cl->memo_valid = false;
        enum kp_cmd_kind now_kind = kp_decide(s, id, &r);
        int32_t budget = kp_budget(s, cl->x[id].pool, NP_REASON_UNDERUTILIZED);
        if (now_kind == CMD_DELETE && budget > 0 &&
            (s->nodes[id].n_pods == 0 || pdb_allowed(s) >= 1)) {
            drain_voluntary(s, id, "consolidation-underutilized");
        } else if (now_kind == CMD_REPLACE && kind == CMD_REPLACE && budget > 0) {
            /* Pre-spin the replacement; the candidate is drained once it is ready. */
            int32_t nr = kp_launch(s, r.pool, r.opts, r.deps, r.spot_only, false);
            if (nr >= 0) {
                cl->x[id].disrupting = true;
                cl->x[id].replaced_by = nr;
                cl->x[nr].replaces = id;
            }
        }
    }
    kp_next_pass(s, s->now_us);
}

static void kp_disrupt(struct sim *s, void *obj, uint64_t arg)
{
    (void)obj;
    (void)arg;
    struct cluster *cl = s->cluster;
    cl->disrupt_ev = 0;
    struct kp_repl r = {0};
    enum kp_cmd_kind k = kp_compute(s, &r);
    if (k == CMD_NONE) {
        kp_next_pass(s, s->now_us + KP_POLL_US);
        return;
    }
    cl->cmd = k;
    cl->validate_ev =
        evq_push(s->q, s->now_us + KP_VALIDATION_US, PRIO_CONTROL, kp_validate, NULL, 0);
}

/* ---- the cluster autoscaler (AKS) -------------------------------------------------------- */

static int32_t pool_size(const struct sim *s, int32_t pool)
{
    const struct cluster *cl = s->cluster;
    int32_t k = 0;
    for (int32_t i = 0; i < cl->n_live; i++)
        k += cl->x[cl->live[i]].pool == pool;
    return k;
}

static double pool_price(const struct cluster *cl, const struct np_aks_pool *p, int32_t *zone)
{
    *zone = np_aks_pool_zone(&cl->cfg, p);
    return p->spot ? cl->cfg.spot_price[p->type][*zone] : cl->cfg.types[p->type].od_usd_per_hour;
}

/* Does AKS pool p's template node take pod `it` (the scheduler's predicates on it: the
 * pod's constraints, and its GPUs, cpu and memory within an empty node's allocatable)? */
static bool pool_takes(const struct sim *s, int32_t p, const struct pod_item *it)
{
    const struct cluster *cl = s->cluster;
    const struct np_aks_pool *pool = &cl->cfg.aks.pools[p];
    if (!cl->cfg.pods[it->dep].aks_ok[p] ||
        it->units > gpushare_node_units(s, cl->cfg.types[pool->type].gpus))
        return false;
    int64_t cpu, mem;
    np_allocatable(&cl->cfg, pool->type, p, &cpu, &mem);
    return res_fits(it->cpu, cl->cfg.ds_cpu_m, cpu) && res_fits(it->mem, cl->cfg.ds_memory, mem);
}

static void ca_backoff(struct sim *s, int32_t pool)
{
    struct cluster *cl = s->cluster;
    int64_t d = cl->backoff_us[pool] ? cl->backoff_us[pool] * 2 : CA_BACKOFF_INITIAL_US;
    if (d > CA_BACKOFF_MAX_US)
        d = CA_BACKOFF_MAX_US;
    cl->backoff_us[pool] = d;
    cl->backoff_until_us[pool] = s->now_us + d;
}

struct ca_option {
    int32_t pool, nodes, pods;
    double usd_per_hour, waste_frac;
};

/* Expanders as chained filters (expander/): each keeps its best options; random picks
 * among what is left (RNG_EXPANDER). least-waste counts idle GPUs (upstream counts CPU and
 * memory; GPUs are what these pods request); price uses the catalog's prices (upstream's
 * price expander exists for GCE/GKE only). */
static int32_t ca_expand(struct sim *s, struct ca_option *o, int32_t n)
{
    const struct np_aks *a = &s->cluster->cfg.aks;
    for (size_t e = 0; e < a->n_expanders && n > 1; e++) {
        enum np_expander ex = a->expanders[e];
        if (ex == NP_EXP_RANDOM)
            break;
        double best = INFINITY;
        bool any_prio = false;
        for (int32_t i = 0; i < n; i++) {
            double v;
            const struct np_aks_pool *p = &a->pools[o[i].pool];
            switch (ex) {
            case NP_EXP_LEAST_WASTE:
                v = o[i].waste_frac;
                break;
            case NP_EXP_MOST_PODS:
                v = -o[i].pods;
                break;
            case NP_EXP_LEAST_NODES:
                v = o[i].nodes;
                break;
            case NP_EXP_PRICE:
                v = o[i].usd_per_hour / o[i].pods;
                break;
            default: /* priority */
                any_prio = any_prio || p->has_priority;
                v = p->has_priority ? -(double)p->priority : INFINITY;
                break;
            }
            if (v < best)
                best = v;
        }
        if (ex == NP_EXP_PRIORITY && !any_prio)
            continue;
        int32_t w = 0;
        for (int32_t i = 0; i < n; i++) {
            const struct np_aks_pool *p = &a->pools[o[i].pool];
            double v = ex == NP_EXP_LEAST_WASTE  ? o[i].waste_frac
                       : ex == NP_EXP_MOST_PODS  ? -o[i].pods
                       : ex == NP_EXP_LEAST_NODES ? o[i].nodes
                       : ex == NP_EXP_PRICE      ? o[i].usd_per_hour / o[i].pods
                       : p->has_priority         ? -(double)p->priority
                                                 : INFINITY;
            if (v == best)
                o[w++] = o[i];
        }
        n = w;
    }
    if (n == 1)
        return 0;
    return (int32_t)rng_uniform_int(s->rng, RNG_EXPANDER, (unsigned long)n);
}

/*
 * The binpacking estimator for AKS pool p (cluster-autoscaler estimator/
 * binpacking_estimator.go Estimate, kubernetes/autoscaler cluster-autoscaler-1.33): the
 * pods `it[0..n)` its template node can take, in equivalence groups (one per deployment),
 * ordered by DecreasingPodOrderer (decreasing_pod_orderer.go: score = the exemplar pod's
 * cpu request / the template's allocatable cpu + memory request / allocatable memory,
 * higher first; Go's sort.Slice, an insertion sort and so stable for fewer than 13
 * groups, which keeps equal groups in the order of their oldest pod; stable here for any
 * count), each group first onto the nodes already added in this estimate
 * (tryToScheduleOnExistingNodes: first fit on GPUs, cpu and memory, stopping at the first
 * pod that does not fit), then onto new nodes (tryToScheduleOnNewNodes: the last node
 * added, else one more node), at most `limit` new nodes (SngCapacityThreshold: maxCount -
 * size). Returns the nodes; *pods and *units what they hold.
 */
static int32_t ca_estimate(struct sim *s, int32_t p, const struct pod_item *it, int32_t n,
                           int32_t limit, int32_t *pods, int32_t *units)
{
    struct cluster *cl = s->cluster;
    const struct np_aks_pool *pool = &cl->cfg.aks.pools[p];
    int32_t cap = gpushare_node_units(s, cl->cfg.types[pool->type].gpus);
    int64_t cap_cpu, cap_mem;
    np_allocatable(&cl->cfg, pool->type, p, &cap_cpu, &cap_mem);
    int64_t room_cpu = cap_cpu - cl->cfg.ds_cpu_m, room_mem = cap_mem - cl->cfg.ds_memory;
    int32_t *est = cl->est, nn = 0, last = -1;
    int64_t *ecpu = cl->est_cpu, *emem = cl->est_mem;
    /* the groups the template node takes, in the order of their oldest pod */
    int32_t gdep[64], ng = 0;
    double gscore[64];
    uint64_t seen = 0;
    for (int32_t g = 0; g < n && ng < 64; g++) {
        int32_t d = it[g].dep;
        if (seen >> d & 1)
            continue;
        seen |= 1ull << d;
        if (!pool_takes(s, p, &it[g]))
            continue;
        double sc = 0;
        if (cap_cpu > 0)
            sc += (double)it[g].cpu / (double)cap_cpu;
        if (cap_mem > 0)
            sc += (double)it[g].mem / (double)cap_mem;
        int32_t j = ng++;
        for (; j > 0 && gscore[j - 1] < sc; j--) {
            gdep[j] = gdep[j - 1];
            gscore[j] = gscore[j - 1];
        }
        gdep[j] = d;
        gscore[j] = sc;
    }
    bool more = true;
    *pods = *units = 0;
    for (int32_t k = 0; k < ng; k++) {
        int32_t d = gdep[k], i = 0;
        /* onto the nodes added so far, first fit, until a pod does not fit */
        for (; i < n; i++) {
            const struct pod_item *q = &it[i];
            if (q->dep != d)
                continue;
            int32_t e = 0;
            while (e < nn && !est_fits(est[e], ecpu[e], emem[e], q))
                e++;
            if (e == nn)
                break;
            est[e] -= q->units;
            ecpu[e] -= q->cpu;
            emem[e] -= q->mem;
            (*pods)++;
            *units += q->units;
        }
        for (; more && i < n; i++) {
            const struct pod_item *q = &it[i];
            if (q->dep != d)
                continue;
            if (last < 0 || !est_fits(est[last], ecpu[last], emem[last], q)) {
                if (nn >= limit) {
                    more = false; /* no permission to add a node */
                    break;
                }
                est[nn] = cap;
                ecpu[nn] = room_cpu; /* the template node runs the DaemonSet pods */
                emem[nn] = room_mem;
                last = nn++;
            }
            est[last] -= q->units;
            ecpu[last] -= q->cpu;
            emem[last] -= q->mem;
            (*pods)++;
            *units += q->units;
        }
    }
    return nn;
}

/* Scale-up (ScaleUpOrchestrator.ScaleUp): the pods to help are the pending pods (every
 * deployment's) that the upcoming nodes will not take (filterOutSchedulable: in pending
 * order, each onto the first upcoming node with room counting from the one after the
 * last node that took a pod, as SchedulerPluginRunner.RunFiltersUntilPassingNode's
 * lastIndex does; from the first node at each scan); scale-
 * up waits until the oldest of them is 2 s old (30 s for GPU pods: allPodsAreNew), then
 * each pool whose template node takes some of them is an option with the nodes the
 * binpacking estimator gives (capped by maxCount); the expander picks one, which grows at
 * once. Returns 1 on a scale-up, -1 when it waited (no scale-down this loop either), 0
 * otherwise. */
static int ca_scale_up(struct sim *s)
{
    struct cluster *cl = s->cluster;
    const struct np_aks *a = &cl->cfg.aks;
    int32_t m = 0;
    for (int32_t i = 0; i < cl->n_live; i++) {
        int32_t id = cl->live[i];
        const struct node *n = &s->nodes[id];
        const struct node_x *x = &cl->x[id];
        if (n->state == NODE_LAUNCHING && !x->failed && !x->disrupting) {
            slots_of(s, id);
            cl->order[m++] = id;
        }
    }
    if (!items_reserve(s, s->n_pending))
        return 0;
    int32_t help = 0, last = 0;
    int64_t oldest = INT64_MAX;
    for (int32_t i = 0; i < s->n_pending; i++) {
        const struct replica *rp = s->pending[i];
        struct pod_item pi = item_of(rp);
        bool taken = false;
        for (int32_t j = 0; j < m && !taken; j++) {
            int32_t id = cl->order[(last + j) % m];
            if (slot_fits(cl, id, &pi)) {
                slot_take(cl, id, &pi, 1);
                last = (last + j + 1) % m;
                taken = true;
            }
        }
        if (taken || rp->created_us + a->new_pod_scale_up_delay_us > s->now_us)
            continue;
        cl->items[help++] = pi;
        if (rp->created_us < oldest)
            oldest = rp->created_us;
    }
    if (help == 0)
        return 0;
    if (oldest + CA_POD_BUFFER_US > s->now_us || oldest + CA_GPU_POD_BUFFER_US > s->now_us)
        return -1;
    struct ca_option opt[NP_MAX_POOLS];
    int32_t n_opt = 0;
    for (size_t p = 0; p < a->n_pools; p++) {
        const struct np_aks_pool *pool = &a->pools[p];
        if (pool->system || !pool->autoscale || cl->backoff_until_us[p] > s->now_us)
            continue;
        int32_t size = pool_size(s, (int32_t)p);
        if (size >= pool->max_count)
            continue;
        int32_t pods, units;
        int32_t nodes = ca_estimate(s, (int32_t)p, cl->items, help, pool->max_count - size,
                                    &pods, &units);
        if (nodes == 0)
            continue;
        int32_t zone;
        double price = pool_price(cl, pool, &zone);
        /* the template node's allocatable: GPU units (MIG slices, time-sliced replicas) */
        int32_t gpus = nodes * gpushare_node_units(s, cl->cfg.types[pool->type].gpus);
        opt[n_opt++] = (struct ca_option){(int32_t)p, nodes, pods, price * nodes,
                                          (double)(gpus - units) / gpus};
    }
    if (n_opt == 0)
        return 0;
    struct ca_option o = opt[ca_expand(s, opt, n_opt)];
    const struct np_aks_pool *pool = &a->pools[o.pool];
    int cap = pool->spot ? NP_SPOT : NP_ON_DEMAND;
    int32_t zone;
    double price = pool_price(cl, pool, &zone);
    for (int32_t i = 0; i < o.nodes && !s->stopping; i++) {
        /* An allocation failure (no capacity, or the spot price above spotMaxPrice) shows
         * at the next scan as a node that failed to create. */
        bool failed = ice_hit(s, pool->type, zone, cap) ||
                      (pool->spot && pool->spot_max_usd_per_hour >= 0 &&
                       price > pool->spot_max_usd_per_hour);
        if (failed)
            cl->n_ice++;
        node_launch(s, pool->type, zone, cap, o.pool, false, failed);
    }
    cl->last_scale_up_us = s->now_us;
    return 1;
}

/* Unneeded nodes (planner UpdateClusterState, every loop): Ready nodes of autoscaled
 * pools whose GPU utilization (requested / allocatable GPUs; isNodeBelowUtilizationThreshold
 * uses the GPU threshold for GPU nodes) is below the threshold and whose pods fit the free
 * GPUs, cpu and memory of the other nodes, simulated in node order with removed nodes leaving the
 * snapshot; with a PDB, the pods moved so far must stay within its budget. */
/* Do the Deployment's pods keep the cluster autoscaler from draining their node? Its
 * drainability rules in order (cluster-autoscaler simulator/drainability/rules):
 * safe-to-evict "true" drains, "false" blocks, then local storage (a hostPath or disk
 * emptyDir) blocks with --skip-nodes-with-local-storage. */
static bool ca_pods_block(const struct sim *s, const struct deployment *d)
{
    const struct pod_spec *p = &d->sc->fleet.pod;
    if (p->safe_to_evict == 1)
        return false;
    if (p->safe_to_evict == 0)
        return true;
    return p->local_storage && s->cluster->cfg.aks.skip_local_storage;
}

/* Does a pod on node `id` keep it from being drained? (`any`: some deployment's pods
 * block at all.) */
static bool ca_node_blocked(const struct sim *s, int32_t id, bool any)
{
    if (!any || s->nodes[id].n_pods == 0)
        return false;
    if (s->n_deps == 1)
        return true;
    int32_t pk = 0, pi = 0;
    for (const struct replica *rp; (rp = sim_pod_iter(s, &pk, &pi)) != NULL;)
        if (rp->node == id && rp->phase != POD_GONE && ca_pods_block(s, rp->dep))
            return true;
    return false;
}

static void ca_update_unneeded(struct sim *s)
{
    struct cluster *cl = s->cluster;
    const struct np_aks *a = &cl->cfg.aks;
    bool blocked = false;
    for (int32_t k = 0; k < s->n_deps; k++)
        blocked = blocked || ca_pods_block(s, s->deps[k]);
    cl->bn_valid = false;
    if (!pods_by_node(s))
        return;
    for (int32_t i = 0; i < cl->n_live; i++) {
        int32_t id = cl->live[i];
        slots_of(s, id);
        if (s->nodes[id].state != NODE_READY || cl->x[id].disrupting)
            cl->slots[id] = 0; /* not in the snapshot's room: takes no GPU pod */
    }
    int32_t moved = 0, budget = pdb_allowed(s);
    for (int32_t i = 0; i < cl->n_live; i++) {
        int32_t id = cl->live[i];
        struct node_x *x = &cl->x[id];
        const struct node *n = &s->nodes[id];
        const struct np_aks_pool *pool = &a->pools[x->pool];
        bool unneeded = false;
        double util = (double)(n->units - n->gpus_free) / n->units;
        if (n->state == NODE_READY && !x->disrupting && pool->autoscale &&
            util < a->gpu_utilization_threshold && !ca_node_blocked(s, id, blocked)) {
            /* Its pods, each onto the first other node with room for it (the removal
             * simulation's FindPlaceFor over the snapshot's nodes in order); undone
             * unless all fit. */
            int32_t from = cl->bn_start[id], k = cl->bn_start[id + 1] - from, placed = 0;
            if (k == 0 || (moved + k <= budget && items_reserve(s, k))) {
                for (; placed < k; placed++) {
                    struct pod_item it = item_of(cl->bn_pods[from + placed]);
                    int32_t j = 0;
                    while (j < cl->n_live && (cl->live[j] == id || !slot_fits(cl, cl->live[j], &it)))
                        j++;
                    if (j == cl->n_live)
                        break;
                    slot_take(cl, cl->live[j], &it, 1);
                    cl->est[placed] = cl->live[j];
                }
                unneeded = placed == k;
                for (int32_t q = 0; q < placed && !unneeded; q++) {
                    struct pod_item it = item_of(cl->bn_pods[from + q]);
                    slot_take(cl, cl->est[q], &it, -1);
                }
            }
            if (unneeded) {
                moved += k;
                cl->slots[id] = 0;
            }
        }
        if (!unneeded)
            x->unneeded_since_us = -1;
        else if (x->unneeded_since_us < 0)
            x->unneeded_since_us = s->now_us;
    }
}

/* Scale-down (NodesToDelete, StartDeletion): nodes unneeded for scale-down-unneeded-time,
 * never below a pool's minCount; empty ones in bulk (max-empty-bulk-delete), one
 * non-empty node drained at a time (max-drain-parallelism 1) with the grace capped by
 * max-graceful-termination-sec. */
static void ca_scale_down(struct sim *s)
{
    struct cluster *cl = s->cluster;
    const struct np_aks *a = &cl->cfg.aks;
    int32_t deleting[NP_MAX_POOLS] = {0}, size[NP_MAX_POOLS] = {0};
    bool draining = false;
    for (int32_t i = 0; i < cl->n_live; i++) {
        int32_t id = cl->live[i];
        size[cl->x[id].pool]++;
        if (cl->x[id].disrupting && !cl->x[id].interrupted) {
            deleting[cl->x[id].pool]++;
            draining = draining || s->nodes[id].n_pods > 0;
        }
    }
    int32_t n_empty = 0, drain = -1;
    for (int32_t i = 0; i < cl->n_live; i++) {
        int32_t id = cl->live[i];
        const struct node_x *x = &cl->x[id];
        if (x->unneeded_since_us < 0 || x->disrupting ||
            s->now_us - x->unneeded_since_us < a->unneeded_us)
            continue;
        const struct np_aks_pool *pool = &a->pools[x->pool];
        if (size[x->pool] - deleting[x->pool] <= pool->min_count)
            continue;
        if (s->nodes[id].n_pods == 0) {
            if (n_empty == a->max_empty_bulk_delete)
                continue;
            cl->scratch[n_empty++] = id;
            deleting[x->pool]++;
        } else if (drain < 0 && !draining && pdb_allowed(s) >= s->nodes[id].n_pods) {
            drain = id;
            deleting[x->pool]++;
        }
    }
    for (int32_t i = 0; i < n_empty; i++) {
        int32_t id = cl->scratch[i];
        cl->x[id].disrupting = true;
        s->nodes[id].state = NODE_DRAINING;
        node_gone(s, id, "scale-down");
    }
    if (drain >= 0) {
        cl->x[drain].disrupting = true;
        cl->x[drain].drain_reason = "scale-down";
        s->nodes[drain].state = NODE_DRAINING;
        fleet_drain_node(s, &s->nodes[drain], s->now_us + a->max_graceful_termination_us,
                         "scale-down");
        if (s->nodes[drain].state != NODE_GONE && s->nodes[drain].n_pods == 0)
            node_at(s, drain, NE_TERMINATE, s->now_us, PRIO_CONTROL);
    }
    if (n_empty > 0 || drain >= 0)
        cl->last_delete_us = s->now_us;
}

/* One RunOnce of the cluster autoscaler, every scan-interval. */
static void ca_scan(struct sim *s, void *obj, uint64_t arg)
{
    (void)obj;
    (void)arg;
    struct cluster *cl = s->cluster;
    const struct np_aks *a = &cl->cfg.aks;
    cl->scan_ev = 0;
    /* Nodes that failed to create (deleteCreatedNodesWithErrors) or did not register within
     * max-node-provision-time (removeOldUnregisteredNodes): removed, the group backed off. */
    int32_t n = 0;
    for (int32_t i = 0; i < cl->n_live; i++)
        cl->scratch[n++] = cl->live[i];
    for (int32_t i = 0; i < n; i++) {
        int32_t id = cl->scratch[i];
        struct node_x *x = &cl->x[id];
        const struct node *nd = &s->nodes[id];
        if (nd->state != NODE_LAUNCHING || x->disrupting)
            continue;
        if (x->failed) {
            node_gone(s, id, "insufficient-capacity");
            ca_backoff(s, x->pool);
        } else if (x->stuck && s->now_us > nd->requested_us + a->max_node_provision_us) {
            node_gone(s, id, "max-node-provision-time");
            ca_backoff(s, x->pool);
        }
    }
    int up = ca_scale_up(s);
    ca_update_unneeded(s);
    bool cooldown = up != 0 || cl->last_scale_up_us + a->delay_after_add_us > s->now_us ||
                    cl->last_fail_us + a->delay_after_failure_us > s->now_us ||
                    cl->last_delete_us + a->delay_after_delete_us > s->now_us;
    if (!cooldown)
        ca_scale_down(s);
    cl->scan_ev = evq_push(s->q, s->now_us + a->scan_interval_us, PRIO_CONTROL, ca_scan, NULL, 0);
}

/* ---- node events --------------------------------------------------------------------------- */

static void node_event(struct sim *s, void *obj, uint64_t arg)
{
    (void)obj;
    struct cluster *cl = s->cluster;
    int32_t id = (int32_t)(arg >> 8);
    enum node_ev kind = (enum node_ev)(arg & 0xff);
    struct node_x *x = &cl->x[id];
    x->ev[kind] = 0;
    struct node *n = &s->nodes[id];
    if (n->state == NODE_GONE)
        return;
    switch (kind) {
    case NE_READY:
        /* Registered, initialized (the device plugin advertises the GPUs): pods bind. */
        n->state = NODE_READY;
        x->initialized = true;
        x->last_pod_event_us = s->now_us;
        if (x->replaces >= 0) {
            int32_t c = x->replaces;
            if (s->nodes[c].state == NODE_READY && cl->x[c].replaced_by == id)
                drain_voluntary(s, c, "consolidation-replaced");
        }
        fleet_place_pending(s);
        break;
    case NE_NOTICE:
        spot_notice(s, id);
        break;
    case NE_KILL:
        if (n->n_pods > 0) {
            /* Pods whose grace ends now are still going: after them. */
            fleet_drain_node(s, n, s->now_us, "spot-interruption");
            if (s->nodes[id].n_pods > 0) {
                node_at(s, id, NE_KILL, s->now_us, PRIO_SCRAPE);
                break;
            }
        }
        node_gone(s, id,
                  cl->cfg.kind == NP_AKS && cl->cfg.aks.pools[x->pool].deallocate
                      ? "spot-deallocated"
                      : "spot-interruption");
        break;
    case NE_EVICT:
        drain_step(s, id);
        break;
    case NE_EXPIRE:
        if (!x->disrupting)
            drain_voluntary(s, id, "expired");
        break;
    case NE_REG_TIMEOUT:
        n->state = NODE_DRAINING;
        node_gone(s, id, "registration-timeout");
        break;
    case NE_DRAINED:
        rl_drained(s, id);
        break;
    case NE_REPARTITIONED:
        rl_repartitioned(s, id);
        break;
    case NE_TERMINATE:
        if (n->n_pods == 0)
            node_gone(s, id, x->interrupted ? "spot-interruption" : drain_reason_of(x));
        break;
    case NE_N:
        SIM_ASSERT(!"bad node event");
    }
}

/* ---- the interface to the fleet --------------------------------------------------------- */

/* The initial replicas of every deployment (fleet.replicas; an autoscaler's larger
 * starting point gets its extra nodes one pod at a time, initial_extra_node, as before
 * several deployments shared a cluster), in the scenario's order, into cl->items. */
static int32_t initial_items(struct sim *s)
{
    struct cluster *cl = s->cluster;
    int32_t n = 0;
    for (int32_t k = 0; k < s->n_deps; k++)
        n += s->deps[k]->sc->fleet.replicas;
    if (!items_reserve(s, n))
        return -1;
    n = 0;
    for (int32_t k = 0; k < s->n_deps; k++)
        for (int32_t i = 0; i < s->deps[k]->sc->fleet.replicas; i++, n++)
            cl->items[n] = (struct pod_item){k, s->deps[k]->gpus_per_pod, s->deps[k]->cpu_m,
                                             s->deps[k]->mem_bytes, 0, 0, n};
    return n;
}

static int initial_nodes(struct sim *s, struct sim_err *err)
{
    struct cluster *cl = s->cluster;
    int32_t replicas = initial_items(s);
    if (replicas < 0)
        return sim_err_set(err, SIM_ENOMEM, "out of memory for nodes");
    if (cl->cfg.kind == NP_KARPENTER) {
        /* in Karpenter's queue order: by cpu and memory requests, then as listed */
        if (s->n_deps > 1)
            qsort(cl->items, (size_t)replicas, sizeof *cl->items, cmp_item);
        int32_t unplaced;
        int32_t n_claims = kp_pack(s, cl->items, replicas, -1, &unplaced);
        if (unplaced > 0 && s->n_deps == 1)
            return sim_err_set(err, SIM_EINVAL,
                               "the NodePools' limits cannot hold the %d initial replicas of %d "
                               "GPUs each ('fleet.replicas')",
                               replicas, s->deps[0]->gpus_per_pod);
        if (unplaced > 0)
            return sim_err_set(err, SIM_EINVAL,
                               "the NodePools' limits cannot hold %d of the deployments' %d "
                               "initial replicas ('fleet.replicas')",
                               unplaced, replicas);
        for (int32_t c = 0; c < n_claims; c++)
            if (kp_launch(s, cl->claims[c].pool, cl->claims[c].opts, cl->claims[c].deps, false,
                          true) < 0)
                return s->sink_rc ? sim_err_set(err, SIM_ENOMEM, "out of memory for nodes")
                                  : sim_err_set(err, SIM_EINVAL,
                                                "no offering can launch the initial nodes");
        return SIM_OK;
    }
    /* AKS: each pool's `count` nodes, then more where the initial replicas need them
     * (first fit in order), autoscaled pools in order. */
    const struct np_aks *a = &cl->cfg.aks;
    for (size_t p = 0; p < a->n_pools; p++) {
        const struct np_aks_pool *pool = &a->pools[p];
        if (pool->system)
            continue;
        int32_t zone;
        pool_price(cl, pool, &zone);
        for (int32_t i = 0; i < pool->count; i++)
            if (node_launch(s, pool->type, zone, pool->spot ? NP_SPOT : NP_ON_DEMAND, (int32_t)p,
                            true, false) < 0)
                return sim_err_set(err, SIM_ENOMEM, "out of memory for nodes");
    }
    int32_t m = 0;
    for (int32_t i = 0; i < cl->n_live; i++) {
        int32_t id = cl->live[i];
        slots_of(s, id);
        cl->order[m++] = id;
    }
    int32_t left = 0;
    for (int32_t i = 0; i < replicas; i++)
        if (!fit_first(s, m, &cl->items[i]))
            cl->left[left++] = cl->items[i];
    for (size_t p = 0; p < a->n_pools && left > 0; p++) {
        const struct np_aks_pool *pool = &a->pools[p];
        if (pool->system || !pool->autoscale)
            continue;
        int32_t zone;
        pool_price(cl, pool, &zone);
        for (int32_t i = 0; i < left;) {
            const struct pod_item *it = &cl->left[i];
            if (!pool_takes(s, (int32_t)p, it)) {
                i++;
                continue;
            }
            if (pool_size(s, (int32_t)p) >= pool->max_count)
                break;
            int32_t id = node_launch(s, pool->type, zone, pool->spot ? NP_SPOT : NP_ON_DEMAND,
                                     (int32_t)p, true, false);
            if (id < 0)
                return sim_err_set(err, SIM_ENOMEM, "out of memory for nodes");
            slots_of(s, id);
            cl->order[m++] = id;
            int32_t w = 0; /* the pods left, first fit onto the nodes so far */
            for (int32_t j = 0; j < left; j++)
                if (!fit_first(s, m, &cl->left[j]))
                    cl->left[w++] = cl->left[j];
            left = w;
            i = 0;
        }
    }
    if (left > 0)
        return sim_err_set(err, SIM_EINVAL,
                           "the node pools' maxCount cannot hold the %d initial replicas "
                           "('fleet.replicas')",
                           replicas);
    return SIM_OK;
}

int cluster_init(struct sim *s, struct sim_err *err)
{
    /* the node pools' instance types are those that run some deployment's pods */
    const struct scenario *sc = s->deps[0]->sc;
    int32_t tp = sc->engine.tensor_parallel_size;
    const struct scenario *scs[64];
    for (int32_t k = 0; k < s->n_deps && k < 64; k++)
        scs[k] = s->deps[k]->sc;
    struct nodepool_cfg cfg;
    int rc = nodepool_cfg_load_deps(&cfg, scs, s->n_deps, s->opt.catalog, err);
    if (rc)
        return rc;
    ignored_merge(&s->ignored, &cfg.ignored);
    if (cfg.kind != NP_IMPLICIT)
        snprintf(s->cloud_region, sizeof s->cloud_region, "%s %s",
                 cfg.cloud == NP_AZURE ? "azure" : "aws", cfg.region);
    size_t zn_used = 0;
    for (int32_t z = 0; z < cfg.n_zones; z++) {
        if (!cfg.zone_names[z][0] || zn_used >= sizeof s->zone_names)
            continue;
        int w = snprintf(s->zone_names + zn_used, sizeof s->zone_names - zn_used, "%s%s=%s",
                         zn_used ? "; " : "", cfg.zones[z], cfg.zone_names[z]);
        if (w > 0)
            zn_used += (size_t)w;
    }
    if (cfg.kind == NP_IMPLICIT) {
        nodepool_cfg_release(&cfg);
        if (sc->fleet.max_gpus > 0)
            for (int32_t g = 0; g + tp <= sc->fleet.max_gpus; g += tp)
                if (!node_new(s, tp))
                    return sim_err_set(err, SIM_ENOMEM, "out of memory for nodes");
        return SIM_OK;
    }
    struct cluster *cl = calloc(1, sizeof *cl);
    if (!cl) {
        nodepool_cfg_release(&cfg);
        return sim_err_set(err, SIM_ENOMEM, "out of memory");
    }
    s->cluster = cl;
    cl->cfg = cfg;
    cl->cat = s->opt.catalog;
    cl->uniform = s->n_deps == 1;
    cl->kp_unlimited = true;
    for (int32_t p = 0; p < cl->cfg.n_kp; p++)
        cl->kp_unlimited = cl->kp_unlimited && isinf(cl->cfg.kp[p].limit_gpus) &&
                           isinf(cl->cfg.kp[p].limit_cpu) &&
                           isinf(cl->cfg.kp[p].limit_memory_gib);
    cl->last_scale_up_us = cl->last_delete_us = cl->last_fail_us = INT64_MIN / 2;
    cl->offers = calloc((size_t)cfg.n_types * (size_t)cfg.n_zones + 1, sizeof *cl->offers);
    if (!cl->offers)
        return sim_err_set(err, SIM_ENOMEM, "out of memory");
    cl->max_pod_seen = -1;
    for (int32_t k = 0; k < s->n_deps; k++)
        cl->max_pod_seen += s->deps[k]->sc->fleet.replicas;
    if ((rc = initial_nodes(s, err)))
        return rc;
    cl->rl_max_unavailable = 1;
    const struct gpushare_spec *gsp = &s->sc->cluster.sharing;
    for (int32_t j = 0; gsp->mode == GS_MIG && j < gsp->n_relayout; j++)
        if (!evq_push(s->q, gsp->relayout[j].at_us, PRIO_CONTROL, rl_begin, NULL, (uint64_t)j))
            return sim_err_set(err, SIM_ENOMEM, "out of memory for events");
    for (size_t i = 0; i < cfg.n_spot_events; i++)
        if (!evq_push(s->q, cfg.spot_events[i].at_us, PRIO_CONTROL, scripted_interruption, NULL,
                      (uint64_t)cfg.spot_events[i].count))
            return sim_err_set(err, SIM_ENOMEM, "out of memory for events");
    if (cfg.kind == NP_KARPENTER)
        kp_next_pass(s, 0);
    else
        cl->scan_ev = evq_push(s->q, 0, PRIO_CONTROL, ca_scan, NULL, 0);
    return SIM_OK;
}

void cluster_release(struct sim *s)
{
    struct cluster *cl = s->cluster;
    if (cl) {
        nodepool_cfg_release(&cl->cfg);
        free(cl->x);
        free(cl->live);
        free(cl->scratch);
        free(cl->order);
        free(cl->bn_start);
        free(cl->bn_pods);
        free(cl->items);
        free(cl->left);
        free(cl->est);
        free(cl->slots);
        free(cl->slot_cpu);
        free(cl->slot_mem);
        free(cl->est_cpu);
        free(cl->est_mem);
        free(cl->term);
        free(cl->claims);
        free(cl->offers);
        free(cl->rl_queue);
        for (int32_t i = 0; i < N_CLASSES; i++)
            free(cl->cls[i]);
        free(cl->sn);
        free(cl->sn_id);
        sched_work_release(&cl->work);
        free(cl);
        s->cluster = NULL;
    }
    free(s->nodes);
    s->nodes = NULL;
    s->n_nodes = s->cap_nodes = 0;
}

/* The pods of deployment d on each live node, not terminating, into cl->term (the
 * topology spread's count: the pods its labelSelector, the Deployment's own labels,
 * matches). */
static void count_matching(struct sim *s, const struct deployment *d)
{
    struct cluster *cl = s->cluster;
    for (int32_t i = 0; i < cl->n_live; i++)
        cl->term[cl->live[i]] = 0;
    for (int32_t i = 0; i < d->n_pods; i++) {
        const struct replica *rp = d->pods[i];
        if (rp->node >= 0 && rp->phase != POD_GONE && rp->phase != POD_TERMINATING)
            cl->term[rp->node]++;
    }
}

static struct node *find_node(struct sim *s, const struct deployment *d, struct sched_why *why);

struct node *cluster_find_node(struct sim *s, const struct deployment *d)
{
    return find_node(s, d, NULL);
}

/* The kube-scheduler's choice for a pod of d (NULL: none fits, and *why, when not NULL,
 * says why as the FailedScheduling event would). */
static struct node *find_node(struct sim *s, const struct deployment *d, struct sched_why *why)
{
    struct cluster *cl = s->cluster;
    int32_t gpus = d->gpus_per_pod;
    if (!cl) {
        for (int32_t i = 0; i < s->n_nodes; i++) {
            struct node *n = &s->nodes[i];
            if (n->state == NODE_READY && gpushare_fits(s, d, n))
                return n;
        }
        if (s->sc->fleet.max_gpus == 0)
            return node_new(s, gpus);
        return NULL;
    }
    /* The kube-scheduler over the nodes the API server knows: registered and Ready, or
     * cordoned (a launching node is not registered yet or has no allocatable GPUs). */
    const struct np_pod *pk = &cl->cfg.pods[d->id];
    if (s->n_deps > 1)
        count_matching(s, d);
    if (cl->n_live > cl->cap_sn) {
        int32_t cap = cl->cap_live;
        struct sched_node *sn = sim_reallocarray(cl->sn, (size_t)cap, sizeof *sn);
        if (!sn) {
            oom(s, "scheduling");
            return NULL;
        }
        cl->sn = sn;
        int32_t *id = sim_reallocarray(cl->sn_id, (size_t)cap, sizeof *id);
        if (!id) {
            oom(s, "scheduling");
            return NULL;
        }
        cl->sn_id = id;
        cl->cap_sn = cap;
    }
    int32_t m = 0;
    for (int32_t i = 0; i < cl->n_live; i++) {
        const struct node *n = &s->nodes[cl->live[i]];
        if (n->state != NODE_READY && n->state != NODE_DRAINING)
            continue;
        const struct node_x *x = &cl->x[n->id];
        struct sched_node *sn = &cl->sn[m];
        /* node.status.allocatable (np_allocatable) and the requests of its pods */
        sn->allocatable[SCHED_CPU] = x->alloc_cpu;
        sn->allocatable[SCHED_MEMORY] = x->alloc_mem;
        sn->allocatable[SCHED_GPU] = n->units; /* of the pods' GPU resource */
        /* its DaemonSet pods run beside the replicas (cluster.daemonset_requests) */
        sn->requested[SCHED_CPU] = n->cpu_req + cl->cfg.ds_cpu_m;
        sn->requested[SCHED_MEMORY] = n->mem_req + cl->cfg.ds_memory;
        sn->requested[SCHED_GPU] = n->units - n->gpus_free;
        gpushare_sched_units(s, d, n, &sn->allocatable[SCHED_GPU], &sn->requested[SCHED_GPU]);
        sn->nonzero_requested[SCHED_CPU] = n->nz_cpu_req + cl->cfg.ds_cpu_m;
        sn->nonzero_requested[SCHED_MEMORY] = n->nz_mem_req + cl->cfg.ds_memory;
        sn->labels = x->cls->labels;
        sn->n_labels = x->cls->n;
        sn->taints = np_node_taints(&cl->cfg, x->pool, &sn->n_taints);
        /* PodTopologySpread counts the pods its selector matches: this Deployment's */
        sn->matching = s->n_deps > 1 ? cl->term[n->id] : n->n_pods - n->n_terminating;
        /* the pod's node requirement on its GPU model (struct np_pod) */
        sn->affinity_mismatch = !(pk->types >> n->instance & 1);
        sn->has_image = n->image_cached;
        sn->unschedulable = n->state == NODE_DRAINING;
        cl->sn_id[m++] = n->id;
    }
    int32_t k = sched_select(&cl->cfg.sched, &pk->pod, cl->sn, m, s->rng, &cl->work, why);
    if (k == -2)
        oom(s, "scheduling");
    if (k < 0)
        return NULL;
    struct node *n = &s->nodes[cl->sn_id[k]];
    /* fleet.c binds a pod to the node it is given: a pod event for consolidateAfter */
    cl->x[n->id].last_pod_event_us = s->now_us;
    cl->x[n->id].unneeded_since_us = -1;
    return n;
}

/* One more node at t = 0 for an initial replica the nodes made from fleet.replicas do not
 * hold (an autoscaler may start the fleet elsewhere): the type Karpenter would pick for
 * one pod, or the first autoscaled AKS pool with room. */
static bool initial_extra_node(struct sim *s, const struct deployment *d)
{
    struct cluster *cl = s->cluster;
    struct pod_item it = {d->id, d->gpus_per_pod, d->cpu_m, d->mem_bytes, 0, 0, 0};
    if (cl->cfg.kind == NP_KARPENTER) {
        int32_t unplaced;
        return kp_pack(s, &it, 1, -1, &unplaced) == 1 &&
               kp_launch(s, cl->claims[0].pool, cl->claims[0].opts, cl->claims[0].deps, false,
                         true) >= 0;
    }
    const struct np_aks *a = &cl->cfg.aks;
    for (size_t p = 0; p < a->n_pools; p++) {
        const struct np_aks_pool *pool = &a->pools[p];
        if (pool->system || !pool->autoscale || !pool_takes(s, (int32_t)p, &it) ||
            pool_size(s, (int32_t)p) >= pool->max_count)
            continue;
        int32_t zone;
        pool_price(cl, pool, &zone);
        return node_launch(s, pool->type, zone, pool->spot ? NP_SPOT : NP_ON_DEMAND, (int32_t)p,
                           true, false) >= 0;
    }
    return false;
}

struct node *cluster_initial_node(struct sim *s, const struct deployment *d,
                                  struct sim_err *err)
{
    int32_t gpus = d->gpus_per_pod;
    struct node *n = cluster_find_node(s, d);
    if (!n && s->cluster && initial_extra_node(s, d))
        n = cluster_find_node(s, d);
    if (!n && !s->cluster)
        sim_err_set(err, SIM_EINVAL,
                    "'fleet.max_gpus' (%d) cannot hold the initial replicas of %d GPUs each",
                    s->sc->fleet.max_gpus, gpus);
    else if (!n)
        sim_err_set(err, SIM_EINVAL,
                    "the node provisioner cannot hold the initial replicas (NodePool limits or "
                    "the node pools' maxCount)");
    return n;
}

void cluster_pods_pending(struct sim *s)
{
    struct cluster *cl = s->cluster;
    if (!cl || cl->cfg.kind != NP_KARPENTER)
        return; /* the cluster autoscaler looks at pending pods at its next scan */
    /* The pod controller triggers the batcher for each new pending pod. */
    bool fresh = false;
    for (int32_t i = 0; i < s->n_pending; i++)
        if (s->pending[i]->seq > cl->max_pod_seen) {
            cl->max_pod_seen = s->pending[i]->seq;
            fresh = true;
        }
    if (fresh)
        kp_trigger(s);
}

void cluster_gpus_freed(struct sim *s, struct node *n)
{
    struct cluster *cl = s->cluster;
    if (!cl)
        return;
    struct node_x *x = &cl->x[n->id];
    x->last_pod_event_us = s->now_us;
    if (rl_draining(x) && n->n_pods == 0)
        node_at(s, n->id, NE_DRAINED, s->now_us, PRIO_CONTROL);
    /* A drained node ends now, except an AKS spot VM (evicted at the notice's end). */
    if (n->state == NODE_DRAINING && n->n_pods == 0 && x->drain_reason &&
        !(x->interrupted && cl->cfg.kind == NP_AKS))
        node_at(s, n->id, NE_TERMINATE, s->now_us, PRIO_CONTROL);
}

void cluster_scrape(struct sim *s)
{
    struct cluster *cl = s->cluster;
    if (!cl)
        return;
    const struct sim_sink *sink = s->opt.sink;
    double usd_per_hour = 0;
    int32_t nodes = 0;
    for (int32_t i = 0; i < cl->n_live; i++) {
        const struct node *n = &s->nodes[cl->live[i]];
        if (!cl->x[n->id].failed) {
            usd_per_hour += n->price_usd_per_hour;
            nodes++;
        }
    }
    uint64_t tokens = 0;
    for (int32_t k = 0; k < s->n_deps; k++)
        tokens += s->deps[k]->res.output_tokens;
    double dt = (double)(s->now_us - cl->last_scrape_us) * 1e-6;
    if (sink && sink->sample && s->sc->record.samples && !s->stopping) {
        struct rec_sample rows[3] = {
            {s->now_us, "llmcap:fleet_cost_usd_per_hour", -1, usd_per_hour, NULL},
            {s->now_us, "llmcap:nodes", -1, nodes, NULL},
            {s->now_us, "llmcap:cost_per_output_token_usd", -1, 0, NULL},
        };
        int n_rows = 2;
        /* $/s over output tokens/s in the last scrape interval, as the recording rule
         * sum(node price)/3600 / sum(rate(vllm:generation_tokens_total[interval])) would
         * give it; no row when no token was generated (the rule gives +Inf). */
        if (dt > 0 && tokens > cl->last_tokens) {
            rows[2].value = usd_per_hour / 3600.0 / ((double)(tokens - cl->last_tokens) / dt);
            n_rows = 3;
        }
        for (int k = 0; k < n_rows; k++) {
            int rc = sink->sample(sink->ctx, &rows[k]);
            if (rc != SIM_OK) {
                if (s->sink_rc == SIM_OK) {
                    s->sink_rc = rc;
                    sim_err_set(&s->sink_err, rc, "could not record a metric sample");
                }
                s->stopping = true;
                break;
            }
        }
    }
    cl->last_tokens = tokens;
    cl->last_scrape_us = s->now_us;
}

/* What deployment d's pods cost while their engines were busy (serving) and while they
 * started (loading), at the price per GPU of the node each ran on. */
static void pod_costs(const struct sim *s, const struct deployment *d, int64_t end,
                      struct sim_cost *out)
{
    out->serving_usd = out->loading_usd = 0;
    for (int32_t i = 0; i < d->n_pods; i++) {
        const struct replica *rp = d->pods[i];
        if (rp->node < 0)
            continue;
        const struct node *n = &s->nodes[rp->node];
        int32_t tp = d->gpus_per_pod;
        /* a pod holds tp units: whole GPUs, MIG slices or time-sliced replicas; a
         * time-sliced engine's busy time is the whole GPU's (steps never overlap) */
        double per_unit_s = n->price_usd_per_hour / 3600.0 / gpushare_pod_divisor(s, rp, n);
        double per_busy_s = gpushare_steps_serialise(s) ? n->price_usd_per_hour / 3600.0 / n->gpus
                                                        : per_unit_s;
        out->serving_usd += (double)rp->eng.busy_us * 1e-6 * tp * per_busy_s;
        int64_t stop = rp->ready_us >= 0 ? rp->ready_us : rp->gone_us >= 0 ? rp->gone_us : end;
        if (rp->scheduled_us >= 0 && stop > rp->scheduled_us)
            out->loading_usd += (double)(stop - rp->scheduled_us) * 1e-6 * tp * per_unit_s;
    }
}

/* $/token and the managed API's break-even for `c` over `r`'s tokens. */
static void per_token(const struct sim *s, const struct sim_result *r, struct sim_cost *c)
{
    double hours = (double)s->now_us * 1e-6 / 3600.0;
    c->usd_per_hour_mean = hours > 0 ? c->usd / hours : NAN;
    c->usd_per_month = c->usd_per_hour_mean * HOURS_PER_MONTH;
    double out = (double)r->output_tokens, all = (double)(r->output_tokens + r->prompt_tokens);
    c->usd_per_mtok_output = out > 0 ? c->usd / out * 1e6 : NAN;
    c->usd_per_mtok_total = all > 0 ? c->usd / all * 1e6 : NAN;
    double good = (double)r->goodput_output_tokens;
    c->usd_per_mtok_goodput = good > 0 ? c->usd / good * 1e6 : NAN;
    double api = s->sc->cost.managed_api_usd_per_mtok;
    c->managed_api_usd = api > 0 ? all / 1e6 * api : NAN;
    c->break_even_ratio = api > 0 && all > 0 ? c->usd / c->managed_api_usd : NAN;
    c->break_even_tokens_per_s = api > 0 ? c->usd_per_hour_mean / 3600.0 / (api / 1e6) : NAN;
}

/* What deployment d's pods held on the nodes: each pod's GPU units from its scheduling to
 * its end (or `end`), at the price of a unit of the node it ran on. */
static double held_usd(const struct sim *s, const struct deployment *d, int64_t end)
{
    double usd = 0;
    for (int32_t i = 0; i < d->n_pods; i++) {
        const struct replica *rp = d->pods[i];
        if (rp->node < 0 || rp->scheduled_us < 0)
            continue;
        const struct node *n = &s->nodes[rp->node];
        int64_t stop = rp->gone_us >= 0 ? rp->gone_us : end;
        usd += (double)(stop - rp->scheduled_us) * 1e-6 * d->gpus_per_pod *
               n->price_usd_per_hour / 3600.0 / gpushare_pod_divisor(s, rp, n);
    }
    return usd;
}

/* Each deployment's share of the cluster's bill `c`: the nodes' cost split by the
 * GPU-time its pods held on them (GPU-seconds from scheduling to termination) priced at
 * the GPUs they held, idle capacity included (with one GPU price on every node, plain
 * GPU-time; with H100 and L4 nodes, an H100 GPU-second weighs its price); its serving and
 * loading cost are its own pods'. */
static void share_bill(struct sim *s, const struct sim_cost *c)
{
    double total = 0, held[64];
    for (int32_t k = 0; k < s->n_deps && k < 64; k++) {
        held[k] = held_usd(s, s->deps[k], s->now_us);
        total += held[k];
    }
    for (int32_t k = 0; k < s->n_deps; k++) {
        struct deployment *d = s->deps[k];
        struct sim_cost *x = &d->res.cost;
        double f = total > 0 ? held[k] / total : 1.0 / s->n_deps;
        double serving = x->serving_usd, loading = x->loading_usd;
        *x = *c;
        x->usd = c->usd * f;
        x->spot_usd = c->spot_usd * f;
        x->on_demand_usd = c->on_demand_usd * f;
        x->node_boot_usd = c->node_boot_usd * f;
        x->gpu_hours = c->gpu_hours * f;
        x->serving_usd = serving;
        x->loading_usd = loading;
        x->idle_usd = x->usd - serving - loading;
        x->share_frac = f;
        per_token(s, &d->res, x);
    }
}

/* A re-layout's run ends: each deployment's Pending pods and why the kube-scheduler
 * leaves them there (a profile the re-partitioned nodes no longer have). */
static void rl_pending_at_end(struct sim *s)
{
    struct cluster *cl = s->cluster;
    for (int32_t k = 0; k < s->n_deps; k++) {
        const struct deployment *d = s->deps[k];
        int32_t pending = 0;
        for (int32_t i = 0; i < s->n_pending; i++)
            pending += s->pending[i]->dep == d;
        if (pending == 0)
            continue;
        struct sched_why why = {0};
        char text[240];
        if (find_node(s, d, &why))
            continue; /* it would fit now (the run ended first) */
        /* (NULL: the text names nvidia.com/gpu) */
        why.gpu_resource = d->sc->fleet.pod.gpu.resource[0] ? d->sc->fleet.pod.gpu.resource : NULL;
        sched_why_text(&why, text, sizeof text);
        rl_note(cl, "%.3f s end: %d pod%s%s%s Pending: %s", rl_secs(s->now_us), (int)pending,
                pending == 1 ? "" : "s",
                d->sc->deployment[0] ? " of " : "", d->sc->deployment, text);
    }
}

void cluster_finish(struct sim *s)
{
    struct cluster *cl = s->cluster;
    struct sim_cost *c = &s->res.cost;
    memset(c, 0, sizeof *c);
    if (!cl)
        return;
    int64_t end = s->now_us;
    for (int32_t i = 0; i < cl->n_live; i++)
        record_node(s, &s->nodes[cl->live[i]], end);
    c->billed = true;
    c->spot_usd = cl->billed_usd[1];
    c->on_demand_usd = cl->billed_usd[0];
    c->usd = c->spot_usd + c->on_demand_usd;
    /* GPU time by what it did: per node, billed GPU-seconds at the node's price per GPU;
     * pods' engine-busy and start-up time at the price of the node they ran on. */
    double gpu_s = 0, boot_usd = 0;
    for (int32_t i = 0; i < s->n_nodes; i++) {
        const struct node *n = &s->nodes[i];
        if (cl->x[i].failed)
            continue;
        int64_t stop = n->gone_us >= 0 ? n->gone_us : end;
        int64_t d = stop - n->requested_us;
        if (d < cl->cfg.billing_minimum_us)
            d = cl->cfg.billing_minimum_us;
        int64_t billed_s = (d + US - 1) / US; /* whole seconds, rounded up */
        gpu_s += (double)n->gpus * (double)billed_s;
        int64_t ready = n->ready_us >= 0 && n->ready_us < stop ? n->ready_us : stop;
        boot_usd += (double)(ready - n->requested_us) * 1e-6 * n->price_usd_per_hour / 3600.0;
    }
    double serving = 0, loading = 0;
    for (int32_t k = 0; k < s->n_deps; k++) {
        pod_costs(s, s->deps[k], end, &s->deps[k]->res.cost);
        serving += s->deps[k]->res.cost.serving_usd;
        loading += s->deps[k]->res.cost.loading_usd;
    }
    c->serving_usd = serving;
    c->loading_usd = loading;
    c->idle_usd = c->usd - serving - loading;
    c->node_boot_usd = boot_usd;
    c->gpu_hours = gpu_s / 3600.0;
    per_token(s, &s->res, c);
    c->n_nodes = cl->n_nodes;
    c->n_spot_interruptions = cl->n_interruptions;
    c->n_ice_errors = cl->n_ice;
    c->share_frac = 1.0;
    if (s->n_deps > 1)
        share_bill(s, c);
    if (s->sc->cluster.sharing.n_relayout > 0)
        rl_pending_at_end(s);
    s->res.mig_relayout_nodes = cl->rl_nodes;
    s->res.mig_relayout_evictions = cl->rl_evictions;
    if (cl->rl_dropped)
        snprintf(cl->rl_log + cl->rl_len, sizeof cl->rl_log - cl->rl_len, "; ... (%d more)",
                 (int)cl->rl_dropped);
    memcpy(s->res.mig_relayout, cl->rl_log, sizeof s->res.mig_relayout);
}
