/*
 * sim_int.h: the simulation's internal state, shared by the modules of sim/ (engine,
 * router, run loop) and their tests. Not part of the public interface.
 */
#ifndef LLMCAP_SIM_SIM_INT_H
#define LLMCAP_SIM_SIM_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "models/latency.h"
#include "models/memory.h"
#include "sim/k8s/metrics.h"
#include "sim/k8s/replicaset.h"
#include "sim/k8s/tsdb.h"
#include "sim/core/evq.h"
#include "sim/core/gaphist.h"
#include "sim/core/rng.h"
#include "sim/serving/kvcache.h"
#include "sim/serving/router.h"
#include "sim/sim.h"
#include "sim/stats.h"

/* Event priorities at equal times: arrivals and control actions are seen before an
 * engine step ends, so a request arriving exactly at an iteration boundary joins the
 * batch scheduled at that boundary. */
enum ev_prio {
    PRIO_ARRIVAL = 0,
    PRIO_CONTROL = 1,
    PRIO_STEP = 2,
    PRIO_SCRAPE = 3,
};

enum req_state { RS_FREE, RS_GATEWAY, RS_WAITING, RS_RUNNING };

/* The fields the engine's passes over its running batch read and write come first and
 * fill the first 64 bytes (the struct is 64-byte aligned: one cache line per request per
 * pass; kv_seq starts with its block counts). */
struct req {
    _Alignas(64) int32_t prompt_tokens;
    int32_t output_tokens;
    int32_t num_computed; /* tokens whose KV is in the cache */
    int32_t num_output;   /* output tokens sampled so far */
    int32_t sched_new;    /* tokens scheduled in the step in flight */
    uint8_t state;
    bool gave_up;            /* the client gave up on the attempt (router.client_timeout) at
                                gave_up_us; the engine lets it go at its next step boundary */
    bool hashes_outputs;     /* kv.pfx.open && !kv.hids: its output blocks are hashed (a
                                session's history), set when an engine admits it */
    int64_t last_token_us; /* when its latest token streamed (ITL) */
    int64_t itl_sum_us;    /* sum of its inter-token gaps so far */
    int64_t itl_n;         /* and their number */
    struct kv_seq kv;        /* its tokens' identities and KV blocks (kvcache.h) */
    struct deployment *dep; /* the deployment (model) it is sent to */
    uint64_t id;
    int64_t arrival_us;
    int64_t first_token_us; /* -1 until the first token */
    int64_t dispatch_us;    /* when the router last handed it to a replica */
    int64_t ready_us;       /* when it passes that replica's front end (engine.c) */
    double fe_tag;          /* in the API server: its finish in the server's virtual time */
    int64_t first_sched_us; /* when an engine first scheduled it (-1 before) */
    int32_t replica;      /* -1 when at the gateway */
    int32_t preemptions;
    int32_t retries;
    bool resumed;            /* preempted on its current engine (vLLM's num_preemptions > 0) */
    uint64_t session;        /* the workload's session id, 0 = none (session affinity) */
    bool semantic_hit;       /* answered by the gateway's semantic cache */
    bool sheddable;          /* its class may be shed by the endpoint picker */
    uint8_t cls;             /* its class (workload.classes), 0 without classes */
    int32_t priority;        /* vLLM request priority: smaller is served first */
    uint64_t group;          /* its prefix group (semantic cache), 0 = none */
    struct req *next, *prev; /* gateway queue or engine waiting queue */
    evq_handle timeout;      /* gateway timeout, or the client's retry after a backoff */
    /* The attempt in flight while its client's timeout runs: in its deployment's list of
     * attempts by send time (router.client_timeout; one timer for the list). */
    struct req *anext, *aprev;
    bool in_attempts;
    int64_t attempt_us;      /* when the client sent the attempt in flight */
    int64_t gave_up_us;
};

/* Doubly linked FIFO with push to the front (preempted requests go first). */
struct req_list {
    struct req *head, *tail;
    uint32_t n;
};

/* Unlink r from l (it is in l). */
static inline void req_list_remove(struct req_list *l, struct req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        l->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        l->tail = r->prev;
    r->next = r->prev = NULL;
    l->n--;
}

/* Requests live in fixed-size chunks that never move, recycled through a free list: no
 * allocation per request once the in-flight high-water mark is reached. */
struct req_pool {
    struct req **chunks;
    size_t n_chunks;
    struct req *free;
};

struct engine_params {
    enum engine_kind kind;
    int32_t max_num_seqs;
    int32_t max_num_batched_tokens;
    bool chunked_prefill;
    int32_t block_size;
    int64_t num_blocks;
    int32_t max_model_len;
    int32_t static_batch_size;
    bool v0;                     /* vLLM < 0.8: prefills first when chunked prefill is off */
    int32_t num_scheduler_steps; /* > 1: vLLM 0.6 multi-step decode blocks */
    bool priority;               /* --scheduling-policy priority */
    bool enable_prefix_caching;
    struct slab *slab; /* block lists and hash_ids of requests (sim.slab) */
};

/* Decode iterations advanced in one event at most (a longer run is chained). */
#define RUN_CHUNK 64

/* A running request in lazy mode (engine.c). */
struct lz_ent {
    int64_t key;    /* its tokens left + lazy_j: it samples its last token at lazy_j == key */
    struct req *r;
    int32_t joined; /* lazy_j when it joined: it is owed lazy_j - joined iterations */
};

struct engine {
    struct req_list incoming; /* in the front end (API server, tokeniser), in dispatch order */
    evq_handle fe_ev;         /* idle engine: wakes when the front end hands the head over */
    int64_t fe_free_us;       /* the API server is busy with requests until then */
    struct req *fe_in;        /* first of `incoming` still being taken in (NULL: none) */
    int32_t fe_n;             /* requests being taken in, sharing the API server */
    double fe_v, fe_t;        /* the server's virtual time (us of work per request) at fe_t */
    struct req_list waiting;
    struct req **running; /* in admission order; capacity max_num_seqs (static: batch) */
    int32_t n_running;
    int32_t n_sched;      /* running[sched_first..+n_sched) are in the step in flight */
    int32_t sched_first;
    int32_t block_k;      /* > 0: a multi-step block of block_k decode steps is in flight */
    struct kv_pool kv;    /* KV blocks: free queue, prefix cache */
    bool busy;
    evq_handle step_ev;
    int64_t step_start_us;
    /* decode run in flight (fast-forward): run_k iterations from run_start_us */
    bool in_run;
    int32_t run_k;
    int64_t run_start_us;
    int64_t run_ctx0; /* sum of num_computed over running at the run's start */
    int64_t *run_bound; /* run_bound[i]: end of iteration i + 1 (RUN_CHUNK of them) */
    int64_t run_blk_base; /* run_new_blocks (engine.c): sum of computed / B - held */
    int32_t *run_m_ge;    /* [m]: running requests with computed % B >= m (B + 1 of them) */
    int32_t bs_shift;     /* log2 of the block size, -1 when it is not a power of two */
    int64_t run_k_done;   /* the fewest tokens any running request had left at its start */
    /* The running batch as the next try_decode_run() finds it, when a decode run ended
     * before any request's last token (engine.c, run_keep_view): valid for the scheduler
     * pass right after. */
    bool nx_valid;
    int32_t nx_n;         /* the requests it covers */
    int64_t nx_k_done, nx_ctx0, nx_base; /* run_m_ge holds their counts by computed % B */
    int32_t n_end;        /* running requests the last step or run finished; -1: not known */
    int32_t *end_at;      /* their indices in running, increasing (n_end of them; lazy runs) */
    /* Lazy decode runs (engine.c, lazy_run_end): while every running request decodes and
     * grows without hashing, a run's end that leaves the batch alone apart from requests
     * sampling their last token applies its iterations to the engine's totals only; each
     * running request is owed lazy_j iterations (lazy_flush applies them). */
    bool lz;                  /* lazy mode: lz_left holds every running request */
    int32_t lazy_j;           /* iterations owed to each running request */
    int64_t lazy_first_us;    /* end of the first owed iteration */
    int64_t lazy_last_us;     /* end of the latest owed iteration */
    int64_t lz_taken;         /* blocks the owed iterations took (checked by lazy_flush) */
    bool lz_step;             /* the step in flight is lazy for running[0..lz_n) */
    int64_t lz_step_taken;    /* the blocks it took for them */
    struct lz_ent *lz_left;   /* each running request with its tokens left at lazy_j = 0 */
    int32_t lz_n;
    bool cancel_seen;     /* a running request's client gave up since the last full
                             finish_sampled() pass found none left */
    int64_t step_prefill_tokens; /* of the step in flight */
    int32_t step_decode_seqs;
    /* counters */
    uint64_t n_steps;
    uint64_t n_iterations;
    uint64_t n_preemptions;
    uint64_t prompt_tokens_total;     /* prefill tokens computed (recomputation included) */
    uint64_t generation_tokens_total; /* tokens sampled */
    uint64_t success_total;           /* requests finished */
    uint64_t prefix_queries_total;    /* prompt tokens looked up in the prefix cache */
    uint64_t prefix_hits_total;       /* of which found cached */
    int64_t busy_us;                  /* GPU time of completed steps */
};

/* Observations of one histogram of one replica (only for metrics a query reads). */
struct hist {
    const double *bounds; /* upper bounds, ascending, +Inf implied */
    size_t n_bounds;
    uint64_t *counts; /* n_bounds + 1, not cumulative */
    double sum;
    uint64_t n;
};

/* A pod's life, as Kubernetes and the kubelet see it. */
enum pod_phase {
    POD_PENDING,     /* no node yet */
    POD_PULLING,     /* on a node, pulling the image (or waiting for the node's pull) */
    POD_LOADING,     /* container running, loading weights */
    POD_STARTING,    /* engine initialisation (compile, CUDA graphs, KV profiling) */
    POD_READY,       /* passed its readiness probe: in the endpoints */
    POD_TERMINATING, /* deleted: preStop, then SIGTERM (vLLM drains or aborts), SIGKILL */
    POD_GONE,
};

/* One vLLM replica: a pod and its engine. */
struct replica {
    struct deployment *dep; /* the Deployment it belongs to */
    int32_t idx; /* pod id: index in its deployment's pods */
    int32_t seq; /* creation order among every deployment's pods (sim.n_pods_made) */
    enum pod_phase phase;
    int32_t node; /* -1 while pending */
    int32_t outstanding; /* requests handed to it and not yet ended */
    int64_t created_us, scheduled_us, pulled_us, loaded_us, ready_us, terminating_us,
        gone_us; /* -1 until it happens */
    evq_handle phase_ev; /* the next lifecycle step, SIGTERM, the drain's end or SIGKILL */
    evq_handle ep_ev;    /* a deleted pod leaving the router's endpoints */
    bool engine_up;      /* vLLM serves /health (readiness probe succeeds from now) */
    bool sigterm;        /* vLLM got SIGTERM: rejects new requests (HTTP 503) */
    bool aborting;       /* engine_abort_all() in progress: no re-entry into pod_gone */
    int64_t kill_us;     /* terminating: SIGKILL (or the node's end) */
    uint64_t uid;        /* metadata.uid stand-in (RNG_REPLICASET): scale-in tie-break */
    bool cold_start;     /* engine init without a compile cache */
    int32_t ready_pos;   /* index in sim.ready (the endpoints), -1 when not routable */
    const char *end_reason;
    int64_t busy_us_scraped; /* engine busy time at the last scrape (GPU utilisation) */
    struct hist *hist[M_N_METRICS]; /* histograms queried by an autoscaler, else NULL */
    int32_t *sid;                   /* metric store series of this pod (scrape.c) */
    struct engine eng;
    int32_t gs_gpu;      /* time-sliced: its physical GPU (sim/cloud/gpushare.c), else -1 */
    bool gs_waiting;     /* queued for that GPU while another engine's step runs */
    bool gs_mem;         /* time-sliced: its engine holds its share of the GPU's memory */
    double gs_unit_div;  /* its node's price over this, per unit it holds, as when it was
                            bound (gpushare_unit_divisor; MIG re-layouts change it later) */
    int32_t restarts;    /* container deaths the kubelet restarts (vLLM's start-up check
                            failed or its GPU ran out of memory); the API's restartCount
                            trails it by one during the back-off (fleet.c) */
    int64_t bo_us;        /* the kubelet's back-off entry for its container: the window the
                             next exit waits (0: no entry yet), flowcontrol.Backoff */
    int64_t bo_update_us; /* the entry's lastUpdate: when the kubelet last restarted it */
    /* the endpoint picker's view of it: metrics as last refreshed, prefixes routed to it */
    double epp_waiting, epp_kv;
    bool epp_seen;        /* the EPP has scraped it at least once */
    int64_t epp_seen_us;  /* when it last did */
    struct epp_lru epp_index;
};

enum node_state {
    NODE_LAUNCHING, /* requested from the cloud, booting */
    NODE_READY,     /* registered, GPUs allocatable: pods can bind */
    NODE_DRAINING,  /* cordoned: no new pods (spot notice, consolidation, scale-down) */
    NODE_GONE,
};

/* A node: its GPUs, what is cached on its disk, and (with a provisioner) its bill. */
struct node {
    int32_t id;
    enum node_state state;
    int32_t gpus;         /* physical GPUs (billing, GPU-time) */
    int32_t units, gpus_free; /* allocatable GPU units (GPUs x MIG slices or time-slicing
                                 replicas per GPU, sim/cloud/gpushare.h) and those free */
    int32_t n_pods;
    int32_t n_terminating; /* of n_pods, those terminating (kube-scheduler topology spread) */
    /* The cpu (millicores) and memory (bytes) its pods request, and the same with the
     * kube-scheduler's non-zero defaults for pods that request none (scores). */
    int64_t cpu_req, mem_req, nz_cpu_req, nz_mem_req;
    bool image_cached;
    bool compile_cached;
    int64_t pull_done_us; /* an image pull in progress ends then (-1: none) */
    /* provisioned nodes (implicit ones leave these empty) */
    int32_t instance; /* index in the provisioner's instance types, -1 for implicit nodes */
    bool spot;
    double price_usd_per_hour;
    int64_t requested_us, launched_us, registered_us, ready_us, gone_us; /* -1: not (yet) */
    const char *end_reason;
    evq_handle ev;
};

/* One Deployment of one model behind its own gateway: what it serves (model, latency
 * model, engine limits, memory plan), its pods and the router's endpoints, its gateway
 * queue, the workload that feeds it, its autoscaler, and its statistics. The run loop
 * (struct sim) holds a list of them over one cluster. */
struct deployment {
    struct sim *s;             /* the run it belongs to */
    int32_t id;                /* index in sim.deps */
    const struct scenario *sc; /* its model, engine, router, fleet, slo and workload */
    struct lat_model *lat;
    struct engine_params ep;
    struct rng_set *rng; /* its workload's random streams (the run's for the first) */

    struct workload *wl;       /* owned when opened from the scenario */
    bool shared_src;           /* fed by the run's routed trace (sim.shared) */
    struct sim_source src;
    bool src_done;
    struct wl_request next_arrival; /* pulled ahead: the one the pending ARRIVAL is for */
    uint64_t n_arrived;

    /* Closed-loop clients (workload.clients): the request read ahead (next_arrival)
     * waits for one of them; a client is busy from its send to the end of its request
     * plus its think time. */
    bool closed;
    int32_t cl_idle;      /* clients free to send now */
    bool cl_pending;      /* next_arrival is read and waits for a free client */
    int64_t cl_last_send_us;
    uint64_t cl_same_instant; /* sends in a row at cl_last_send_us (livelock guard) */

    uint64_t *route_hashes;    /* endpoint picker: the request's prompt block hashes */
    int32_t *route_match;      /* and each candidate's matched blocks (cap_pods) */
    struct epp_view *route_view;
    struct replica **route_cand;
    int32_t route_cap;
    struct req_list gateway;
    struct req_list backoff; /* failed attempts waiting for the client's retry */
    /* Attempts whose client timeout runs, oldest first (sent at nondecreasing times, so
     * their deadlines are in list order): one timer at the head's deadline, not an event
     * per request. */
    struct req *att_head, *att_tail;
    evq_handle att_ev;
    uint64_t in_flight; /* arrived and not yet ended */
    evq_handle drain_ev;

    /* The fleet: every pod ever created (pods[i]->idx == i), the routable ones in the
     * order they became ready, and the Deployment's spec.replicas. */
    struct replica **pods;
    int32_t n_pods, cap_pods;
    struct replica **ready; /* the router's endpoints: Ready pods, and deleted ones until
                               router.endpoint_delay has passed */
    int32_t n_ready;
    int32_t n_ready_pods; /* pods in POD_READY (what Deployment status and PDBs count) */
    int32_t rr_next; /* round-robin position in ready */
    int32_t desired;
    int32_t n_live;  /* pods not gone */
    int32_t n_on_node; /* pods holding GPUs on a node (starting, ready or terminating) */
    int64_t acct_us;   /* time integrals below are up to here */
    double ready_pod_s, node_pod_s; /* integrals of n_ready_pods and n_on_node */
    int32_t peak_ready;
    struct rs_pod *rs_pods;   /* scale-in ranking scratch (cap_pods each) */
    struct replica **rs_of;
    int32_t *rs_idx;
    int32_t gpus_per_pod;     /* engine.tensor_parallel_size */
    int64_t cpu_m, mem_bytes; /* each pod's cpu and memory requests (fleet.pod.resources) */
    double weights_gib_total; /* bytes one replica loads (GiB), for the load phase */
    struct mem_plan plan;     /* vLLM memory sizing, when the catalog knows model and GPU */
    bool have_plan;

    struct run_stats st; /* latency, goodput and ITL statistics (stats.h) */
    struct run_stats cls_st[CLASS_MAX]; /* the same per request class (workload.classes) */
    uint64_t semantic_group_key[SEMANTIC_GROUPS_MAX]; /* keys of semantic_cache.groups */
    struct sim_result res;

    /* Its Prometheus series (scrape.c) and its autoscaler. */
    char model_label[256]; /* the vLLM series' model_name: served_model_name or hf_id */
    int32_t gw_sid[2]; /* gateway series: waiting, requests_total */
    struct autoscaler *autoscaler; /* KEDA/HPA (autoscaler.c), NULL for a fixed fleet */
    int32_t initial_replicas;
    uint64_t gateway_requests_total;
};

/* The run loop over one cluster: the clock and event queue, random streams, requests'
 * memory, the nodes and their provisioner, the pods waiting for a node (of every
 * deployment), the metric store, the result sink, and the deployments. */
struct sim {
    const struct scenario *sc;
    struct sim_options opt;
    struct evq *q;
    struct rng_set *rng;
    int64_t now_us;

    struct deployment **deps;
    int32_t n_deps;
    int32_t n_src_open; /* deployments whose workload may still send */
    int32_t n_pods_made; /* pods created, every deployment */
    uint64_t n_requests_made; /* requests arrived, every deployment (their ids) */
    /* One trace routed by its model column (scenario.shared_trace): the request read
     * ahead goes to the deployment serving its model (route_dep[wl_request.model]). */
    struct workload *shared_wl;
    struct sim_source shared;
    struct wl_request shared_next;
    const char **route_names;
    struct deployment **route_dep;
    size_t n_route;
    uint64_t unknown_model_requests; /* rows naming a model no deployment serves (404) */
    struct run_stats *all; /* several deployments: every request's latencies together */

    struct req_pool pool;
    struct slab *slab;  /* per-request arrays: hash_ids, KV block lists */
    uint64_t in_flight; /* arrived and not yet ended, every deployment */

    /* Nodes (implicit ones until a node provisioner is configured). */
    struct node *nodes;
    int32_t n_nodes, cap_nodes;
    int32_t gpus_total;
    struct cluster *cluster; /* provisioner state (cluster.c), NULL for the implicit pool */
    struct gpushare *gs;     /* MIG / time-slicing state (gpushare.c), NULL: whole GPUs */
    struct replica **pending; /* pods waiting for GPUs, FIFO, every deployment's */
    int32_t n_pending, cap_pending;

    struct sim_result res; /* the run: the cluster's bill, every deployment's requests */
    struct ignored_fields ignored; /* pasted fields ignored (copied into res.ignored) */
    char zone_names[1024];         /* res.zone_names */
    char cloud_region[64];         /* res.cloud_region */
    int sink_rc; /* first sink failure */
    struct sim_err sink_err;
    bool stopping;
    char clock_note[200]; /* why an event may pass the clock's range (engine.c) */

    /* The Prometheus view (scrape.c): the store every deployment's series go to, and
     * the metrics some query reads (only those are materialised). */
    struct tsdb *tsdb;
    bool want[M_N_METRICS];
};

/* The deployment's name as records carry it (sim/record.h REC_DEPLOYMENT): its name in a
 * run of several deployments, NULL in a single-deployment run. */
static inline const char *sim_rec_deployment(const struct deployment *d)
{
    return d->s->n_deps > 1 ? d->sc->deployment : NULL;
}

/* Every pod of every deployment, in order: start with *k = *i = 0; NULL at the end.
 *     int32_t k = 0, i = 0;
 *     for (struct replica *rp; (rp = sim_pod_iter(s, &k, &i)) != NULL;) ... */
static inline struct replica *sim_pod_iter(const struct sim *s, int32_t *k, int32_t *i)
{
    while (*k < s->n_deps) {
        const struct deployment *d = s->deps[*k];
        if (*i < d->n_pods)
            return d->pods[(*i)++];
        (*k)++;
        *i = 0;
    }
    return NULL;
}

/* ---- engine.c ---- */
int engine_init(struct engine *e, const struct engine_params *p, struct sim_err *err);
void engine_release(struct engine *e);
/* A request handed to replica `rp` by the router. */
void engine_enqueue(struct replica *rp, struct req *r);
/* A time-sliced GPU was handed to rp's waiting engine: it starts its step now. */
void engine_gpu_granted(struct sim *s, struct replica *rp);
/* The index in e->running of the request preempted when KV blocks run out: the newest
 * (FCFS) or, with the priority policy, the first with the largest (priority, arrival). */
int32_t engine_victim(const struct engine *e, bool prio);
/* End every request on the replica (running and waiting) with `outcome`, or with
 * OUTCOME_N fail each attempt as aborted (sim_attempt_failed), after applying the decode
 * iterations completed by now. The caller decides whether the pod is gone after. */
void engine_abort_all(struct replica *rp, enum req_outcome outcome);
/* The client of `r` (on replica `rp`, in its front end, waiting or running) gave up on
 * the attempt (r->gave_up set): vLLM aborts it (the API server sees the disconnect and
 * AsyncLLM.abort() reaches the engine core between two steps). A request not yet running
 * leaves at once; a running one at the end of the step in flight. Either way the attempt
 * then fails as FAIL_TIMEOUT (sim_attempt_failed). */
void engine_cancel(struct replica *rp, struct req *r);
/* Gauges as vLLM would last have set them (materialising a decode run to now). */
void engine_gauges(const struct replica *rp, double *running, double *waiting,
                   double *kv_usage_frac);


/* ---- fleet.c: pods, the Deployment and nodes ---- */
/* A pod of d bound to node n (sign 1) or gone from it (-1): its GPUs, its cpu and memory
 * requests, and the scheduler's non-zero defaults (schedutil.GetNonzeroRequests: 100m,
 * 200 MiB for a pod that requests none). */
static inline void node_pod_account(struct node *n, const struct deployment *d, int sign)
{
    n->gpus_free -= sign * d->gpus_per_pod;
    n->n_pods += sign;
    n->cpu_req += sign * d->cpu_m;
    n->mem_req += sign * d->mem_bytes;
    n->nz_cpu_req += sign * (d->cpu_m ? d->cpu_m : 100);
    n->nz_mem_req += sign * (d->mem_bytes ? d->mem_bytes : 200LL * 1024 * 1024);
}

int fleet_init(struct deployment *d, struct sim_err *err);
void fleet_release(struct deployment *d);
/* The Deployment's spec.replicas changed: create or terminate pods to match. */
void fleet_set_desired(struct deployment *d, int32_t desired);
/* A request ended on a terminating replica: it may be gone now. */
void fleet_request_ended(struct replica *rp);
/* Does the pod behind this endpoint accept a request now? false: vLLM got SIGTERM and
 * answers 503, or the process is gone and the connection is refused. */
bool fleet_accepts(const struct replica *rp);
/* Evict every pod on node `n` (cordon and drain): each stops taking requests and has
 * until min(its grace period, deadline_us) to finish (deadline_us < 0: no deadline);
 * the Deployment replaces them at once since spec.replicas is unchanged. `reason` (a
 * static string: "spot-interruption", "consolidation", ...) is recorded on the pods. */
void fleet_drain_node(struct sim *s, struct node *n, int64_t deadline_us, const char *reason);
/* Evict one pod (a voluntary disruption the caller has checked against the PDB): as
 * fleet_drain_node() does for each pod of a node; the Deployment replaces it at once. */
void fleet_evict_pod(struct replica *rp, int64_t deadline_us, const char *reason);
/* Bind pending pods to nodes with free GPUs (a node became ready or GPUs were freed). */
void fleet_place_pending(struct sim *s);
/* Pods by phase, for metrics and autoscalers. */
int32_t fleet_count(const struct deployment *d, enum pod_phase phase);
/* Record every pod still alive at the end of the run. */
void fleet_finish(struct deployment *d);

/* ---- cluster.c: nodes and their provisioner ---- */
int cluster_init(struct sim *s, struct sim_err *err);
void cluster_release(struct sim *s);
/* A node for one of the run's initial replicas (steady state at t = 0). */
struct node *cluster_initial_node(struct sim *s, const struct deployment *d,
                                  struct sim_err *err);
/* A Ready node with room for a pending pod of d (its GPUs, or its MIG slice), or NULL. */
struct node *cluster_find_node(struct sim *s, const struct deployment *d);
/* Pods are pending that no node can take: a provisioner may launch nodes. */
void cluster_pods_pending(struct sim *s);
/* A pod left node `n`. */
void cluster_gpus_freed(struct sim *s, struct node *n);
/* Record the nodes at the end of the run and fill the run's cost (res.cost); with
 * several deployments, each one's share of it too (deployment res.cost). */
void cluster_finish(struct sim *s);
/* At each metrics scrape: the fleet's cost rate and $/output token as Prometheus
 * recording rules would give them (fleet-wide `samples` rows). */
void cluster_scrape(struct sim *s);

/* ---- scrape.c: the Prometheus view ---- */
/* After the autoscalers registered their queries in the metric store (sim.tsdb, NULL
 * when nothing is queried): which metrics to materialise, and the gateways' series. */
int scrape_init(struct sim *s, struct sim_err *err);
void scrape_release(struct sim *s);
/* A pod's server came up / went away (series created / marked stale). */
int scrape_pod_up(struct replica *rp);
void scrape_pod_gone(struct replica *rp);
/* One scrape of a deployment's targets at now: the metric store and the samples table. */
void scrape_all(struct deployment *d);
/* Free a pod's histograms and series ids. */
void scrape_pod_release(struct replica *rp);
/* The label names replica series carry (for checking queries at load time). */
const char *const *scrape_label_names(size_t *n);
/* The labels every replica series carries with one value (namespace, job, container,
 * model_name, engine), with where each comes from, for promql_check_values(). Fills
 * out[0..SCRAPE_N_FIXED). */
#define SCRAPE_N_FIXED 5
struct promql_label_value;
void scrape_fixed_labels(const struct deployment *d, struct promql_label_value *out);
/* The name of pod `idx` ("vllm-3": fleet.metrics.labels.pod, '-', the index). */
void scrape_pod_name(const struct deployment *d, int32_t idx, char *buf, size_t n);

static inline void hist_observe(struct hist *h, double v, uint64_t count)
{
    size_t lo = 0, hi = h->n_bounds;
    while (lo < hi) { /* first bound >= v: Prometheus buckets are le */
        size_t mid = (lo + hi) / 2;
        if (h->bounds[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    h->counts[lo] += count;
    h->sum += v * (double)count;
    h->n += count;
}

static inline void metrics_observe(struct replica *rp, enum sim_metric m, double v,
                                   uint64_t count)
{
    if (rp->hist[m])
        hist_observe(rp->hist[m], v, count);
}

/* ---- sim.c (called by the engine and the fleet) ---- */
/* A request goes (back) to the gateway: routed at once or queued with a timeout. */
void sim_gateway_admit(struct deployment *d, struct req *r);
/* Replicas became able to take requests: serve the gateway queue. */
void sim_dispatch_gateway(struct deployment *d);
/* A request ended on replica `rp` with `outcome` at s->now_us. */
void sim_request_done(struct deployment *d, struct replica *rp, struct req *r,
                      enum req_outcome outcome);
/* Why an attempt failed, as the client sees it. */
enum attempt_fail {
    FAIL_ABORTED,     /* vLLM aborted it (SIGTERM, shutdown timeout) or the pod was killed */
    FAIL_5XX,         /* HTTP 503 from a shutting-down vLLM, or a refused connection */
    FAIL_TIMEOUT,     /* the client gave up after router.client_timeout (r->gave_up) */
};
/* An attempt failed at s->now_us (on `rp`, or NULL before reaching one): the client retries
 * after a backoff as router.retry says, or the request ends as failed or timeout. */
void sim_attempt_failed(struct deployment *d, struct replica *rp, struct req *r,
                        enum attempt_fail why);
void sim_tokens_generated(struct deployment *d, uint64_t n);
/* Stop the run with `rc` (out of memory): as a failed sink, the first failure wins. */
void sim_fail(struct sim *s, int rc, const char *what);
/* Stop the run with `code` and a message of its own (the clock's range): the first
 * failure wins, the run stops at the next event and sim_run() returns it. */
void sim_stop_error(struct sim *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Request r streamed its first token at t_us (TTFT): ITL gaps count from here. */
static inline void sim_first_token(struct req *r, int64_t t_us)
{
    r->first_token_us = t_us;
    r->last_token_us = t_us;
}
/* n inter-token gaps of gap_us each were streamed (a decode run's iterations). */
static inline void sim_gaps(struct deployment *d, int64_t gap_us, uint64_t n)
{
    gaphist_add(&d->st.itl, gap_us, n);
    if (d->s->all)
        gaphist_add(&d->s->all->itl, gap_us, n);
}
/* Request r streamed a later token (or one chunk of tokens: multi-step) at t_us: one
 * inter-token gap, as vLLM's benchmark measures ITL between streamed chunks. */
static inline void sim_next_token(struct deployment *d, struct req *r, int64_t t_us)
{
    int64_t gap = t_us - r->last_token_us;
    run_stats_gap(&d->st, gap);
    if (d->s->all)
        run_stats_gap(d->s->all, gap);
    r->itl_sum_us += gap;
    r->itl_n++;
    r->last_token_us = t_us;
}

static inline int64_t ceil_div64(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

/* Per-class results (classes.c): fill d->res.cls[] from the per-class statistics. */
void classes_finish(struct deployment *d);

#endif
