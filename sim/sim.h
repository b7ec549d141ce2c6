/*
 * sim.h: one simulation run of an LLM inference fleet.
 *
 * A run is a pure function of (scenario, workload, seed, llmcap version). sim_new()
 * builds the fleet (replicas running the vLLM or static engine model with the scenario's
 * latency model), sim_run() replays the workload through the gateway/router until it is
 * exhausted and the fleet has drained, streaming finished requests and metric samples to
 * the sink, and sim_result() gives the run's summary: outcome counts, TTFT/TPOT/e2e
 * percentiles, throughput, goodput and SLO verdicts.
 */
#ifndef LLMCAP_SIM_SIM_H
#define LLMCAP_SIM_SIM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/core/err.h"
#include "sim/record.h"
#include "sim/config/ignored.h"
#include "sim/config/scenario.h"
#include "sim/workload/workload.h"

/* A source of requests other than the scenario's workload (tests, tools). `next`
 * returns 1 with *out filled, 0 at the end, or a negative SIM_E* code.
 *
 * Closed loop (`vllm bench serve --max-concurrency N`, genai-perf `--concurrency N`):
 * with sc->workload.clients.concurrency = N > 0, each request's arrival_us is only the
 * earliest time it may be sent; the run sends the requests in order, each at
 * max(arrival_us, the time one of the N clients is free), and measures TTFT and e2e from
 * that send. A client is free again when its request ends (any outcome) plus its think
 * time (clients.think_time_us, constant or exponential). So a source with every
 * arrival_us = 0 is a closed loop, and a source with the request times of
 * `--request-rate R` plus N is vllm bench serve's semaphore. Sends stop at the
 * scenario's duration. */
struct sim_source {
    void *ctx;
    int (*next)(void *ctx, struct wl_request *out, struct sim_err *err);
};

struct sim_progress {
    int64_t now_us;
    uint64_t arrived;
    uint64_t finished;
    uint64_t events;
};

struct sim_options {
    const struct sim_sink *sink;   /* may be NULL: nothing is recorded */
    const struct sim_source *source; /* NULL: open the scenario's workload */
    const struct catalog *catalog;   /* for roofline/table latency and memory sizing */
    volatile sig_atomic_t *stop;     /* when it becomes non-zero the run stops (SIM_EINTR) */
    void (*progress)(void *ctx, const struct sim_progress *p); /* every ~64k events */
    void *progress_ctx;
    bool no_fast_forward; /* step every decode iteration (tests: must give identical rows) */
    const struct roof_params *lat_params; /* llmcap calibrate: the step model's parameters
                                             under fit (NULL: the scenario's) */
};

/* Percentiles reported for each latency metric. */
enum { SIM_NQ = 4 };
extern const double sim_quantiles[SIM_NQ]; /* 0.50, 0.90, 0.95, 0.99 */

struct latency_stats {
    uint64_t n;
    double mean_s;
    double q_s[SIM_NQ]; /* at sim_quantiles */
    double max_s;
};

struct slo_result {
    const struct slo_item *slo; /* borrowed from the scenario */
    double actual;              /* seconds or fraction; NaN when nothing to measure */
    bool pass;
};

/* What the nodes cost: every node billed per second (AWS: at least 60 s) from its launch
 * request to its termination or the end of the run, at its capacity type's price.
 * Amounts are NaN for the implicit node pool (no prices). docs/cost.md defines each. */
struct sim_cost {
    bool billed;                  /* a node provisioner priced the nodes */
    double usd;                   /* total */
    double spot_usd, on_demand_usd;
    double serving_usd;           /* GPU time with the engine busy */
    double loading_usd;           /* GPU time of pods starting (pull, load, init) */
    double idle_usd;              /* the rest of the billed GPU time */
    double node_boot_usd;         /* part of idle: nodes not yet ready */
    double gpu_hours;             /* billed GPU hours */
    double usd_per_hour_mean;     /* usd over the run's length */
    double usd_per_month;         /* usd_per_hour_mean x 730 h */
    double usd_per_mtok_output;   /* per 1M output tokens */
    double usd_per_mtok_total;    /* per 1M tokens, prompt (ok requests) + output */
    double usd_per_mtok_goodput;  /* per 1M output tokens of requests that met the TTFT and
                                     TPOT SLOs (goodput); NaN when none did */
    double managed_api_usd;       /* the same tokens at cost.managed_api_usd_per_mtok */
    double break_even_ratio;      /* usd / managed_api_usd (< 1: self-hosting is cheaper) */
    double break_even_tokens_per_s; /* token rate at which the fleet's mean cost equals the API */
    uint64_t n_nodes;             /* nodes launched, the initial ones included */
    uint64_t n_spot_interruptions;
    uint64_t n_ice_errors;        /* insufficient-capacity errors (offerings skipped) */
    double share_frac; /* a deployment's share of the cluster's bill (GPU-time); 1 for it */
};

/* One request class's results (workload.classes): its requests, outcomes, latencies over
 * its OK requests and its own SLOs. */
struct class_result {
    const struct class_spec *spec; /* borrowed from the scenario */
    uint64_t n_requests;
    uint64_t n_outcome[OUTCOME_N];
    uint64_t semantic_hits;
    uint64_t preemptions;
    struct latency_stats ttft, tpot, e2e;
    double error_rate;             /* non-OK / arrived */
    struct slo_result slo[SLO_MAX];
    size_t n_slo;
    bool slo_pass;
};

struct sim_result {
    uint64_t n_requests; /* arrived at the gateway */
    uint64_t n_outcome[OUTCOME_N];
    uint64_t prompt_tokens;    /* of requests that finished OK */
    uint64_t output_tokens;    /* generated, all requests */
    uint64_t discarded_tokens; /* generated, then lost when a request was retried */
    uint64_t preemptions;
    uint64_t retries;
    /* Failed attempts that the client retried, by cause (the final failures are
     * n_outcome[OUTCOME_ABORTED], [OUTCOME_5XX], [OUTCOME_CLIENT_TIMEOUT]). */
    uint64_t retries_aborted, retries_5xx, retries_timeout;
    /* Automatic prefix caching (vLLM's PrefixCacheStats, recorded at admission): tokens
     * looked up and found cached, for requests not preempted (what vllm:prefix_cache_queries
     * and vllm:prefix_cache_hits count) and for resumes after a preemption. */
    uint64_t prefix_queries_tokens, prefix_hits_tokens;
    uint64_t prefix_resume_queries_tokens, prefix_resume_hits_tokens;
    /* The gateway's semantic cache: requests it answered, the tokens the fleet did not
     * process for them, and what serving those tokens would have cost (the fleet's cost
     * per token served, and the managed API's price); NaN when not priced. */
    uint64_t semantic_hits, semantic_saved_tokens;
    double semantic_saved_usd, semantic_saved_api_usd;
    uint64_t skipped_rows;     /* trace rows skipped as malformed */
    uint64_t other_model_rows; /* trace rows of other models left out (workload.trace.model) */
    double trace_time_unit_s;  /* mapped CSV: the arrival column's unit (1, 1e-3, 1e-6); NAN
                                  for ISO 8601 dates, the fixed formats and synthetic load */
    char trace_note[360];      /* how the trace was read: compression, time format decided */
    int64_t first_arrival_us;
    int64_t last_arrival_us;
    int64_t end_us;            /* simulated time when the run ended */
    struct latency_stats ttft, tpot, e2e, queue; /* over OK requests */
    /* Inter-token latency as vLLM's benchmark defines it: every gap between two streamed
     * tokens of a request. mean_s over OK requests' gaps (exact); quantiles and max over
     * every gap streamed, failed requests' included (sim/core/gaphist.h: exact below
     * 2.048 ms, within 0.1% above). */
    struct latency_stats itl;
    double throughput_req_per_s;  /* OK requests / makespan */
    double output_tokens_per_s;   /* generated tokens / makespan */
    double input_tokens_per_s;
    /* As `vllm bench serve` prints them: over OK requests only, per second of the
     * benchmark's duration (the makespan: first send to the last request's end). */
    double bench_duration_s;
    uint64_t ok_output_tokens;
    double ok_output_tokens_per_s; /* "Output token throughput (tok/s)" */
    double ok_total_tokens_per_s;  /* "Total token throughput (tok/s)": prompt + output */
    int32_t clients;               /* closed-loop clients (0: open loop) */
    double goodput_req_per_s;     /* OK requests meeting the TTFT and TPOT SLOs, per s */
    uint64_t goodput_output_tokens; /* their output tokens */
    double error_rate;            /* non-OK / arrived */
    uint64_t events;
    int replicas;                 /* replicas at the start (the fixed fleet's size) */
    bool autoscaled;
    /* Autoscaler evaluations (KEDA polls, or HPA syncs without KEDA); those in which it
     * was active (KEDA: a trigger above its activation threshold, or in fallback; an
     * HPA: a value for every metric); those in which a query matched no series. */
    uint64_t autoscaler_evals, autoscaler_active_evals, autoscaler_empty_evals;
    int peak_replicas_ready;
    uint64_t pods_created;
    /* Engine start-ups that failed vLLM's free-memory check on a time-sliced GPU
     * (`cluster.gpu_sharing.oom: restart`); each is a container restart after the
     * kubelet's back-off (docs/gpu-sharing.md). */
    uint64_t engine_failed_starts;
    /* Running engines killed by a neighbour's allocation on their time-sliced GPU
     * (`oom: restart_all`), each restarted after the kubelet's back-off. */
    uint64_t engine_oom_kills;
    double replica_s;             /* time integral of ready replicas (replica-seconds) */
    double gpu_pod_s;             /* of pods holding GPUs (starting, ready, draining) */
    int64_t num_gpu_blocks;       /* KV blocks per replica */
    int32_t max_num_seqs, max_num_batched_tokens, max_model_len, block_size; /* resolved */
    double weight_gib_per_gpu;    /* from memory sizing; NaN without the catalog */
    double kv_cache_gib_per_gpu;  /* likewise */
    char latency_provenance[768];
    /* Fields of the pasted objects (ScaledObject, HPA, NodePool, AKS pools and profile,
     * PDB) accepted and ignored because they cannot change the run. */
    struct ignored_fields ignored;
    /* AWS zone IDs with the account's zone names from cluster.zone_ids, "use1-az1=us-east-1c;
     * use1-az4=us-east-1a" ("" without a mapping); the nodes table's zone is the ID. */
    char zone_names[1024];
    /* The cluster's cloud and region, "aws us-east-1" or "azure eastus" ("" without a node
     * provisioner): on Azure the nodes table's zone is the region (spot priced per region). */
    char cloud_region[64];
    /* MIG re-layouts (cluster.gpu_sharing.mig.relayout): nodes re-partitioned, pods
     * evicted for them, and the timeline ("" without): when each re-layout began and each
     * node was cordoned, drained, re-partitioned and uncordoned (run_notes 'mig_relayout') */
    uint64_t mig_relayout_nodes, mig_relayout_evictions;
    char mig_relayout[2048];
    struct slo_result slo[SLO_MAX];
    size_t n_slo;
    bool slo_pass;                /* every SLO passed (true when there are none) */
    /* Minutes (by arrival) in which the strictest TTFT SLO was missed, and the longest
     * run of them (time to recover from a spike); NaN without a TTFT SLO. */
    double slo_breach_s;
    double slo_breach_longest_s;
    struct sim_cost cost;
    struct class_result cls[CLASS_MAX]; /* workload.classes, n_classes of them */
    int n_classes;
    /* semantic_cache.groups: hits per listed group, in the scenario's order */
    uint64_t semantic_group_hits[SEMANTIC_GROUPS_MAX];
    uint64_t semantic_group_requests[SEMANTIC_GROUPS_MAX];
    const char *semantic_group_name[SEMANTIC_GROUPS_MAX]; /* borrowed from the scenario */
    int n_semantic_groups;
    /* A scenario with `deployments:`: how many (0 for a single deployment), and the
     * routed trace's requests for a model no deployment serves (the gateway's 404s). In
     * a deployment's own result, cost is its share of the cluster's bill (docs/cost.md). */
    int32_t deployments;
    uint64_t unknown_model_requests;
};

struct sim;

/* The built-in catalog plus the scenario's own entries (model.catalog, and each deployment's
 * own model.catalog in a scenario of several, once per file). Caller owns:
 * catalog_free(). NULL + err. */
struct catalog *sim_load_catalog(const struct scenario *sc, struct sim_err *err);

/* validate: read every trace row the run `s` would read (the routed trace of several
 * deployments, or each deployment's own trace) without running it. SIM_OK, or the first
 * bad row's error (file:line). */
int sim_check_traces(const struct sim *s, struct sim_err *err);

/* Build a run of `sc` (borrowed for the run's life). Caller owns: sim_free(). NULL + err
 * on bad input (e.g. an engine that cannot hold max_model_len) or OOM. */
struct sim *sim_new(const struct scenario *sc, const struct sim_options *opt,
                    struct sim_err *err);

/* Run to the end. SIM_OK, or a negative code with err set: SIM_EINVAL for a malformed
 * trace row, SIM_EIO when the sink failed, SIM_EINTR when *opt->stop was raised. */
int sim_run(struct sim *s, struct sim_err *err);

/* The run's results (valid after sim_run returned SIM_OK; borrowed from s). */
const struct sim_result *sim_result(const struct sim *s);
/* The deployments of the run (1 for a scenario without `deployments:`), each one's
 * scenario (its name in scenario.deployment) and results (after sim_run). */
int32_t sim_n_deployments(const struct sim *s);
const struct scenario *sim_deployment_scenario(const struct sim *s, int32_t i);
const struct sim_result *sim_deployment_result(const struct sim *s, int32_t i);
/* The `model_name` label its pods carry (served_model_name, or the Hugging Face id). */
const char *sim_deployment_model(const struct sim *s, int32_t i);

void sim_free(struct sim *s); /* NULL is a no-op */

/* Summary key/value pairs in a fixed order (names carry units): the `summary` table and
 * the CLI use the same list. Calls fn for each; stops early when fn returns non-zero
 * and returns that value. */
int sim_result_foreach(const struct sim_result *r,
                       int (*fn)(void *ctx, const char *key, double value), void *ctx);

#endif
