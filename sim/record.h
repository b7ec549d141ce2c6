/*
 * record.h: what a run emits, and the sink that stores it.
 *
 * The simulator never writes files itself: it hands finished requests, metric samples
 * and (later) scaling events, pods and nodes to a sink, a table of callbacks. The CLI
 * connects the SQLite writer in reports/ (reports/db.h); tests connect in-memory sinks.
 * A callback returns SIM_OK or a negative SIM_E* code, which stops the run.
 */
#ifndef LLMCAP_SIM_RECORD_H
#define LLMCAP_SIM_RECORD_H

#include <stdbool.h>
#include <stdint.h>

enum req_outcome {
    OUTCOME_OK = 0,       /* all output tokens generated */
    OUTCOME_TIMEOUT,      /* waited at the gateway longer than router.queue_timeout */
    OUTCOME_REJECTED,     /* prompt + output longer than max_model_len */
    OUTCOME_ABORTED,      /* the last attempt was aborted by vLLM (SIGTERM, shutdown
                             timeout, SIGKILL), retries spent */
    OUTCOME_5XX,          /* the last attempt was answered 5xx (a shutting-down pod's 503,
                             a refused connection), retries spent */
    OUTCOME_CLIENT_TIMEOUT, /* the client gave up on the last attempt after
                               router.client_timeout, retries spent */
    OUTCOME_UNFINISHED,   /* still in flight when the run ended (drain timeout) */
    OUTCOME_SHED,         /* a sheddable request the endpoint picker dropped (HTTP 429):
                             no pod had capacity (saturation detector) */
    OUTCOME_N
};

const char *req_outcome_name(enum req_outcome o);

/* REC_DEPLOYMENT: in a run of several deployments (`deployments:`), the name of the
 * deployment a request, pod, sample or autoscaler evaluation belongs to (its
 * deployments[].name, static for the run); NULL in a single-deployment run and for
 * cluster-wide samples (nodes, cost). */

/* A request that ended. Times are microseconds from the run's start; -1 when the event
 * never happened (no first token, ...). */
struct rec_request {
    uint64_t id; /* arrival order, from 0 */
    int64_t arrival_us;
    int32_t prompt_tokens;
    int32_t output_tokens;    /* requested */
    int32_t generated_tokens; /* produced before the end */
    int32_t replica;          /* last replica that served it, -1 if none */
    int64_t first_token_us;
    int64_t finish_us; /* when it ended, whatever the outcome */
    int32_t preemptions;
    int32_t retries;
    enum req_outcome outcome;
    const char *class_name; /* workload.classes name; NULL without classes */
    const char *deployment; /* see REC_DEPLOYMENT below */
};

/* One scraped gauge value of one replica. `metric` is a static string. */
struct rec_sample {
    int64_t t_us;
    const char *metric;
    int32_t replica;
    double value;
    const char *deployment; /* REC_DEPLOYMENT */
};

/* A pod's life (times in us from the run start, -1 when it did not happen). */
struct rec_pod {
    int32_t pod_id;
    int32_t node_id; /* -1 if never scheduled */
    int64_t created_us, scheduled_us, pulled_us, loaded_us, ready_us, terminating_us,
        terminated_us;
    bool cold_start;
    const char *end_reason; /* static string; NULL while alive at the end */
    const char *deployment; /* REC_DEPLOYMENT */
};

/* One autoscaler evaluation: a KEDA poll or an HPA sync. Strings are borrowed for the
 * call; metric_values is a JSON object (trigger or metric name -> value or null). */
struct rec_scaling_event {
    int64_t t_us;
    const char *source; /* "keda" | "hpa" */
    const char *metric_values;
    int32_t current_replicas;
    int32_t raw_desired; /* -1 when not computed */
    int32_t desired;
    const char *reason;
    const char *deployment; /* REC_DEPLOYMENT */
};

/* A node's life and bill (times in us from the run start, -1 when it did not happen).
 * Strings are static or borrowed for the call. */
struct rec_node {
    int32_t node_id;
    const char *instance_type;
    const char *capacity_type; /* "on-demand" | "spot" */
    const char *zone;          /* NULL when not known */
    double price_usd_per_hour;
    int64_t requested_us, launched_us, registered_us, ready_us, terminated_us;
    const char *end_reason; /* NULL while alive at the end */
    double cost_usd;
};

struct sim_sink {
    void *ctx;
    int (*request)(void *ctx, const struct rec_request *r);
    int (*sample)(void *ctx, const struct rec_sample *s);
    int (*pod)(void *ctx, const struct rec_pod *p);
    int (*scaling_event)(void *ctx, const struct rec_scaling_event *e);
    int (*node)(void *ctx, const struct rec_node *n); /* may be NULL */
};

#endif
