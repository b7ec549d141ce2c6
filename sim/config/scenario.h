/*
 * scenario.h: a scenario file, loaded, validated and bound to plain structs.
 *
 * The loader (scenario.c) reads YAML with libyaml into a ynode tree, applies `--set`
 * overrides, then binds every section strictly: unknown keys, wrong types and values out
 * of range are errors that point at file:line:col. Units are in the key names; durations
 * are strings with a unit. Relative paths are resolved against the scenario's folder.
 * Pasted Kubernetes objects (ScaledObject, HPA, NodePool, AKS profiles) stay as ynode
 * subtrees owned by the scenario; their readers validate them with the same wording.
 * The full schema is documented in docs/scenario.md.
 */
#ifndef LLMCAP_SIM_SCENARIO_H
#define LLMCAP_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/latency.h"
#include "sim/config/gpushare.h"
#include "sim/config/podres.h"
#include "sim/core/err.h"
#include "sim/config/ynode.h"
#include "sim/k8s/scheduler.h"

#define SC_PATH_MAX 1024
#define SC_NAME_MAX 128

/* ---- workload ---------------------------------------------------------------- */

enum wl_kind { WL_TRACE, WL_SYNTHETIC };
enum trace_format { TRACE_AUTO, TRACE_AZURE, TRACE_MOONCAKE, TRACE_CSV };
/* How a mapped CSV writes its arrival times (workload.trace.time_format). */
enum trace_time_format { TIME_AUTO, TIME_S, TIME_MS, TIME_US, TIME_ISO8601 };
enum arrival_process { ARR_POISSON, ARR_GAMMA, ARR_CONSTANT };
enum len_dist { LEN_CONSTANT, LEN_UNIFORM, LEN_EXPONENTIAL, LEN_LOGNORMAL, LEN_EMPIRICAL };

/* A token-length distribution. Draws are rounded to the nearest integer and clamped to
 * >= 1. */
struct len_spec {
    enum len_dist dist;
    double value;        /* constant */
    double min, max;     /* uniform: integers in [min, max] */
    double mean;         /* exponential, lognormal (the distribution's mean) */
    double sigma;        /* lognormal: sigma of the underlying normal */
    char path[SC_PATH_MAX];   /* empirical: CSV file (resolved) */
    char column[SC_NAME_MAX]; /* empirical: column name in its header */
};

/* A piecewise-constant change of the base rate from `at_us` on. */
struct rate_step {
    int64_t at_us;
    double rate_per_s;
};

/* A temporary multiplier on the rate over [at_us, at_us + duration_us). */
struct rate_spike {
    int64_t at_us;
    int64_t duration_us;
    double factor;
};

/* workload.trace.columns: a CSV's own column names for what llmcap reads (arrival ""
 * when the trace has llmcap's or Azure's header instead). */
struct trace_columns {
    char arrival[SC_NAME_MAX];
    char prompt[SC_NAME_MAX];
    char output[SC_NAME_MAX];
    char model[SC_NAME_MAX];   /* optional: "" = none */
    char session[SC_NAME_MAX]; /* optional: "" = none */
    char class_[SC_NAME_MAX];  /* optional: a workload.classes name per row */
    char prefix_group[SC_NAME_MAX]; /* optional: the row's prefix group (semantic cache) */
};

/* Closed-loop clients (workload.clients), as `vllm bench serve --max-concurrency N` and
 * genai-perf `--concurrency N` drive a server: N clients, each sends its next request when
 * its previous one has ended (any outcome) and its think time has passed. */
enum think_dist { THINK_CONSTANT, THINK_EXPONENTIAL };

struct clients_spec {
    int32_t concurrency;      /* N; 0 = open loop: the arrival times drive */
    enum think_dist think;    /* constant, or exponential with mean think_time_us */
    int64_t think_time_us;    /* the constant, or the exponential's mean */
};

/* A pool of shared prompt parts (system prompts, RAG documents): `count` of them, each
 * with a length drawn once from `tokens`, picked with Zipf(zipf_s) popularity (rank k
 * with probability proportional to 1 / k^zipf_s; 0: uniform) by a fraction share_frac of
 * the requests (or sessions). count 0: none. */
struct prefix_pool_spec {
    int count;
    struct len_spec tokens;
    double zipf_s;
    double share_frac;
};

/* Multi-turn sessions: arrivals start sessions of `turns` turns; turn k + 1 arrives
 * think_time (exponential, this mean) after turn k and its prompt is turn k's prompt and
 * output plus a new message (prompt_tokens). A session ends early when the next turn
 * would exceed max_context_tokens (0: no limit). */
struct session_spec {
    bool on;
    struct len_spec turns;
    int64_t think_time_us;
    int max_context_tokens;
};

struct prefix_spec {
    struct prefix_pool_spec system, documents;
    struct session_spec sessions;
};

/* ---- SLOs ---------------------------------------------------------------------- */

enum slo_metric { SLO_TTFT, SLO_TPOT, SLO_E2E, SLO_ERROR_RATE };

/* One line of `slo:`: a latency percentile (`ttft_p95: 500ms`) or the error rate
 * (`error_rate: 0.1%`). */
struct slo_item {
    char key[32];           /* as written: "ttft_p95" */
    enum slo_metric metric;
    double quantile;        /* 0.95 for p95; unused for error_rate */
    double target;          /* seconds for latencies, fraction for error_rate */
};

#define SLO_MAX 16

/* One request class of workload.classes (interactive, batch, ...): its share of the
 * requests, its own lengths (synthetic load), its priority in vLLM's priority scheduling
 * (engine.scheduling_policy: priority; smaller is served first, vLLM's convention),
 * whether the endpoint picker may shed it (the Inference Extension's InferenceObjective
 * priority < 0, criticality Sheddable before v1.0) and its own SLOs. */
#define CLASS_MAX 8
struct class_spec {
    char name[64];
    double share;            /* of the requests without a class column; sums to 1 */
    int priority;            /* vLLM request priority (default 0) */
    bool sheddable;
    bool own_lengths;        /* prompt and output below (synthetic load) */
    struct len_spec prompt, output;
    struct slo_item slo[SLO_MAX];
    size_t n_slo;
};

struct workload_spec {
    enum wl_kind kind;
    /* With clients.concurrency > 0 the workload is closed-loop: the generator or the
     * trace gives the requests in order, every one due at once (a trace's timestamps are
     * ignored), and the run sends each when a client is free (sim.c). */
    struct clients_spec clients;
    /* trace replay */
    char trace_path[SC_PATH_MAX];
    enum trace_format format;
    double time_scale;       /* > 1 stretches time, < 1 compresses it */
    double rate_scale;       /* multiplies the arrival rate by thinning or replicating */
    int64_t window_start_us; /* in trace time from the trace's first arrival */
    int64_t window_end_us;   /* -1: to the end */
    bool skip_bad_rows;      /* malformed rows skipped and counted instead of an error */
    struct trace_columns columns;     /* format csv with the file's own header */
    enum trace_time_format time_format; /* of columns.arrival */
    char trace_model[SC_NAME_MAX];    /* keep this model's rows only ("" = all: one model) */
    int32_t hash_block_tokens; /* tokens per Mooncake hash id (512 in the published traces) */
    int32_t prefix_group_tokens; /* a prefix group's shared leading tokens (0: none) */
    /* synthetic */
    enum arrival_process process;
    double rate_per_s;
    double cv; /* gamma: coefficient of variation of inter-arrival times */
    bool diurnal;
    double diurnal_amplitude_frac;
    int64_t diurnal_period_us;
    int64_t diurnal_peak_at_us;
    struct rate_step *steps; /* owned, sorted by at_us */
    size_t n_steps;
    struct rate_spike *spikes; /* owned, sorted by at_us */
    size_t n_spikes;
    struct len_spec prompt;
    struct len_spec output;
    int64_t count; /* synthetic request count; 0 = until `duration` */
    struct prefix_spec prefix; /* shared prompt structure (workload.prefix) */
    struct class_spec classes[CLASS_MAX]; /* workload.classes; n_classes 0 = one class */
    int n_classes;
};

/* ---- model and engine ---------------------------------------------------------- */

enum engine_kind { ENGINE_VLLM, ENGINE_STATIC };

struct model_spec {
    char name[SC_NAME_MAX];
    char dtype[16];          /* bf16 | fp16 | fp8 | int8 | int4-awq | int4-gptq */
    char kv_cache_dtype[16]; /* auto | fp8 */
    char catalog_path[SC_PATH_MAX]; /* optional user catalog file (resolved), "" = none */
    char served_model_name[256]; /* vLLM --served-model-name: the `model_name` label of its
                                    metrics; "" = the catalog's Hugging Face id (hf_id) */
};

enum compile_cache { CACHE_WARM, CACHE_COLD, CACHE_PER_NODE };

/* Pod start-up: image pull, weight load, engine initialisation. */
struct startup_spec {
    double image_gib;
    double image_pull_gib_per_s;
    bool image_prepulled;  /* nodes start with the image (baked in or pre-pulled) */
    char weights_from[32]; /* network-volume | s3-streamer | local-nvme | custom */
    double weights_gib_per_s; /* custom, or the preset's throughput */
    double weights_gib;       /* bytes to load per replica; 0 = from the model catalog */
    int64_t engine_init_us;      /* with a warm compile cache */
    int64_t engine_init_cold_us; /* with a cold one (torch.compile, CUDA graphs) */
    enum compile_cache compile_cache; /* warm: always; cold: never; per-node: first pod on
                                         a node is cold, later ones warm */
};

/* Pod termination as deployed: the kubelet runs the preStop hook (a sleep), then sends
 * SIGTERM, then SIGKILL when terminationGracePeriodSeconds ends (at least 2 s after
 * SIGTERM); vLLM (v0.18+) answers SIGTERM by rejecting new requests and aborting the
 * in-flight ones, or with --shutdown-timeout by letting them finish for that long. */
struct termination_spec {
    int64_t grace_period_us;     /* terminationGracePeriodSeconds (30 s) */
    int64_t pre_stop_us;         /* preStop sleep before SIGTERM (0: no hook) */
    int64_t shutdown_timeout_us; /* vLLM --shutdown-timeout (0: abort at SIGTERM) */
};

/* The readinessProbe: the kubelet probes every period from the pod's admission on, once
 * the container has run initial_delay; the pod is Ready at the first success. */
struct readiness_spec {
    int64_t initial_delay_us; /* initialDelaySeconds (0) */
    int64_t period_us;        /* periodSeconds (10 s) */
    int failure_threshold;    /* failureThreshold (3) */
};

struct engine_spec {
    enum engine_kind kind;
    char gpu[SC_NAME_MAX];
    int tensor_parallel_size;
    int max_num_seqs;
    int max_num_batched_tokens;
    bool enable_chunked_prefill;
    int block_size;
    double gpu_memory_utilization;
    int max_model_len;
    int64_t num_gpu_blocks; /* 0 = auto (sized from GPU memory) */
    int static_batch_size;  /* kind static: requests per batch */
    char vllm_version[32];  /* as written; "" = current vLLM (LAT_VLLM_CURRENT) */
    int vllm_major, vllm_minor; /* 0.0 = current */
    bool enforce_eager;     /* no CUDA graphs */
    int num_scheduler_steps; /* vLLM 0.6-0.7 multi-step scheduling; 1 = off */
    bool enable_prefix_caching; /* vLLM V1 automatic prefix caching (default on, as V1) */
    bool priority_scheduling;   /* --scheduling-policy priority (default fcfs) */
    struct lat_spec latency;
    struct startup_spec startup;
    struct termination_spec termination;
    struct readiness_spec readiness;
};

/* ---- router and fleet ---------------------------------------------------------- */

enum router_policy {
    ROUTER_ROUND_ROBIN,
    ROUTER_LEAST_OUTSTANDING,
    ROUTER_ENDPOINT_PICKER,  /* Gateway API Inference Extension EPP scorers */
    ROUTER_PREFIX_AFFINITY,  /* consistent hashing on the first prefix block, bounded load */
    ROUTER_SESSION_AFFINITY, /* consistent hashing on the session, bounded load */
};

/* router.endpoint_picker: the EPP's scorer weights and its view of the pods. */
struct epp_spec {
    double queue_weight, kv_cache_weight, prefix_weight;
    int64_t refresh_interval_us;  /* how often the EPP scrapes the pods' metrics */
    int lru_capacity_per_server;  /* prefix index entries (blocks) per pod */
    int max_prefix_blocks;        /* prompt blocks hashed at most */
    /* The saturation detector (pkg/epp/saturationdetector): a pod has capacity while its
     * waiting queue is <= queue_depth_threshold and its KV usage <= kv_cache_util_threshold
     * (metrics no older than metrics_staleness_threshold); with none, sheddable requests
     * are dropped (HTTP 429). */
    int queue_depth_threshold;
    double kv_cache_util_threshold;
    int64_t metrics_staleness_us;
};

/* What the client does when an attempt fails (defaults: the OpenAI Python SDK). */
struct retry_spec {
    int attempts;             /* retries after the first try (max_retries, 2) */
    int64_t backoff_us;       /* before the first retry, doubling (0.5 s) */
    int64_t max_backoff_us;   /* cap of the doubling (8 s) */
    double jitter;            /* each wait is scaled by 1 - jitter * U[0,1) (0.25) */
    bool on_aborted;          /* retry requests vLLM aborted (connection reset) */
    bool on_5xx;              /* retry HTTP 5xx / refused connections */
    bool on_timeout;          /* retry attempts the client gave up on (client_timeout) */
};

#define SEMANTIC_GROUPS_MAX 16

struct router_spec {
    enum router_policy policy;
    int64_t queue_timeout_us;       /* gateway wait before outcome `timeout` */
    int max_outstanding_per_replica; /* 0 = unlimited (vLLM queues internally) */
    int64_t endpoint_delay_us;      /* a deleted pod leaves the router's endpoints then */
    int64_t client_timeout_us;      /* the client gives up on an attempt after this long
                                       without its whole response (0: never) */
    struct retry_spec retry;
    struct epp_spec epp;
    /* A semantic cache at the gateway: this fraction of requests is answered from it after
     * latency_us and never reaches an engine (0: none). */
    struct {
        double hit_frac;
        int64_t latency_us;
        /* per prefix group: requests of group `name` hit with hit_frac[i] instead */
        char group[SEMANTIC_GROUPS_MAX][64];
        double group_hit_frac[SEMANTIC_GROUPS_MAX];
        int n_groups;
    } semantic_cache;
    double load_factor; /* prefix/session affinity: a pod takes at most this x the mean load */
};

/* What the pods carry that the node autoscalers read (fleet.pod): the template's
 * annotations and whether a volume is local storage. */
struct pod_spec {
    int64_t do_not_disrupt_us; /* karpenter.sh/do-not-disrupt: 0 none, -1 "true", else a
                                  duration after the pod's start */
    int safe_to_evict;         /* cluster-autoscaler.kubernetes.io/safe-to-evict: -1 unset,
                                  0 "false", 1 "true" */
    bool local_storage;        /* a hostPath or non-Memory emptyDir volume not named in
                                  safe-to-evict-local-volumes */
    int32_t deletion_cost;     /* controller.kubernetes.io/pod-deletion-cost */
    struct gs_pod_request gpu; /* the GPU resource of resources.limits (gpushare.h) */
    struct pod_cpu_mem res;    /* resources' cpu and memory requests (podres.h) */
    struct sched_pod sched;    /* nodeSelector, tolerations, affinity (sim/k8s/scheduler.h) */
};

struct fleet_spec {
    int replicas;                 /* fixed fleet size (when there is no autoscaler) */
    int64_t scrape_interval_us;   /* Prometheus scrape interval for `samples` */
    char namespace_[64];          /* the pods' `namespace` label (metrics) */
    char job[64];                 /* the scrape job's `job` label */
    char container[64];           /* the vLLM container's `container` label */
    char pod_prefix[64];          /* pods are `<pod_prefix>-<n>` (the `pod` label) */
    const struct ynode *scaled_object; /* fleet.autoscaler.scaledObject, or NULL */
    const struct ynode *hpa;           /* fleet.autoscaler.horizontalPodAutoscaler, or NULL */
    int max_gpus;                 /* fleet GPU limit before the node model exists; 0 = none */
    struct pod_spec pod;
};

/* ---- cluster and cost (bound by the node and cost work) --------------------------- */

struct cluster_spec {
    const struct ynode *node; /* the whole `cluster:` section, or NULL */
    struct gpushare_spec sharing; /* cluster.gpu_sharing (gpushare.h) */
};

struct cost_spec {
    double managed_api_usd_per_mtok; /* 0 = no break-even comparison */
};


/* ---- recording ----------------------------------------------------------------- */

enum rec_requests { REC_REQUESTS_FULL, REC_REQUESTS_SAMPLE, REC_REQUESTS_NONE };

struct record_spec {
    enum rec_requests requests; /* rows in `requests` */
    double sample_frac;         /* REC_REQUESTS_SAMPLE: fraction kept (deterministic) */
    bool samples;               /* write the per-replica metric `samples` */
};

/* ---- the scenario ---------------------------------------------------------------- */

struct scenario {
    char path[SC_PATH_MAX]; /* as given */
    char dir[SC_PATH_MAX];  /* its folder, for relative paths */
    char sha256[65];        /* of the file's bytes (hex) */
    char name[SC_NAME_MAX];
    uint64_t seed;
    int64_t duration_us; /* arrivals stop here; -1 = until the workload ends */
    int64_t drain_timeout_us; /* after the last arrival; then in-flight work is `unfinished` */

    struct workload_spec workload;
    struct model_spec model;
    struct engine_spec engine;
    struct router_spec router;
    struct fleet_spec fleet;
    struct cluster_spec cluster;
    struct cost_spec cost;
    struct slo_item slo[SLO_MAX];
    size_t n_slo;
    struct record_spec record;

    /* The --set overrides applied, as given, for the run record ("k=v;k=v"). */
    char overrides[2048];

    struct ydoc *doc; /* owned: the parsed file(s); kube subtrees point into it (a
                         deployment borrows its scenario's) */

    /* `deployments:` (docs/scenario.md): one scenario each, sharing this one's run
     * settings (seed, duration, cluster, cost, record) and holding its own model, engine,
     * router, fleet, slo and workload. 0: the file is one deployment, its own keys. */
    struct scenario *deployments; /* owned */
    size_t n_deployments;
    /* The top-level workload is one trace whose model column routes each request to the
     * deployment serving that model (as an OpenAI-compatible gateway routes by `model`). */
    bool shared_trace;
    char deployment[64];      /* a deployment's name ("" for a single-deployment file) */
    const struct ynode *root; /* a deployment's map in the document (NULL: the file's) */
};

/*
 * Load and validate `path`, applying each of `sets[0..n_sets)` ("dotted.path=value")
 * before binding. On success fills `sc` (caller owns: scenario_release()). On failure
 * returns SIM_EINVAL (bad input) / SIM_ENOENT (missing file) / SIM_ENOMEM with err set,
 * and `sc` holds nothing to release.
 */
int scenario_load(struct scenario *sc, const char *path, const char *const *sets,
                  size_t n_sets, struct sim_err *err);

/*
 * Bind the `model` and `engine` sections of `map` (a deployment written inside another
 * file: a run of a calibration spec) into `sc` with the scenario's rules and messages;
 * `ctx` prefixes the keys in messages ("runs.2"), `file` is the document's path (its
 * folder resolves relative paths). Every other field takes its default. `sc` does not own
 * `map` (its doc stays NULL). SIM_EINVAL + err (file:line:col) on a bad key or value.
 */
int scenario_bind_deployment(struct scenario *sc, const char *file, const struct ynode *map,
                             const char *ctx, struct sim_err *err);

/* Defaults for every field (what an empty scenario means). Used by the loader and by
 * tests that build scenarios in code. */
void scenario_defaults(struct scenario *sc);

/* Free what `sc` owns; `sc` itself is the caller's. */
void scenario_release(struct scenario *sc);

/* Resolve `rel` against the scenario folder into `out` (absolute paths pass through). */
void scenario_resolve_path(const struct scenario *sc, const char *rel, char *out,
                           size_t n);

/*
 * Read a `{file: path}` include into the scenario's document. `file` is the include's
 * `file:` value: a path relative to the scenario's folder, or to the current directory
 * when it came from --set. `key` names the include in messages
 * ("fleet.autoscaler.scaledObject"). The file must hold one map; its nodes keep their
 * own file:line:col, so later errors point into it. *out (borrowed: lives with sc->doc)
 * or SIM_EINVAL / SIM_ENOENT / SIM_EIO with err at the `file:` value (an unreadable
 * file) or in the included file (bad YAML, not a map).
 */
int scenario_include(const struct scenario *sc, const struct ynode *file, const char *key,
                     struct ynode **out, struct sim_err *err);

const char *slo_metric_name(enum slo_metric m);

/* The node at dotted `path` in the loaded scenario ("engine.gpu"), or NULL: lets later
 * checks (catalog lookups, memory sizing) point at file:line:col. */
const struct ynode *scenario_node(const struct scenario *sc, const char *path);

/*
 * Re-point `err` at the scenario position of `path` (the key's value, else the nearest
 * enclosing section, else the file) when err has no position of its own yet. Returns
 * err->code.
 */
int scenario_locate(const struct scenario *sc, const char *path, struct sim_err *err);

#endif
