/*
 * metrics.h: the Prometheus metrics a simulated replica exposes, as vLLM (V1) and NVIDIA
 * DCGM name them, with their types and labels. The PromQL reader checks queries against
 * this list at load time; the scraper writes exactly these series.
 *
 * Every series carries the labels `pod` (e.g. "vllm-3"), `model_name` and, for vLLM
 * metrics, `engine` ("0"). Histograms expose `<name>_bucket{le="..."}`, `<name>_sum` and
 * `<name>_count`; counters end in `_total` as prometheus_client writes them.
 */
#ifndef LLMCAP_SIM_METRICS_H
#define LLMCAP_SIM_METRICS_H

#include <stddef.h>

enum metric_type { METRIC_GAUGE, METRIC_COUNTER, METRIC_HISTOGRAM };

struct metric_def {
    const char *name; /* base name, e.g. "vllm:time_to_first_token_seconds" */
    enum metric_type type;
    const char *help;
    const double *buckets; /* histograms: upper bounds, ascending, without +Inf */
    size_t n_buckets;
};

enum sim_metric {
    M_NUM_REQUESTS_RUNNING, /* vllm:num_requests_running (gauge) */
    M_NUM_REQUESTS_WAITING, /* vllm:num_requests_waiting (gauge, preempted included) */
    M_KV_CACHE_USAGE,       /* vllm:kv_cache_usage_perc (gauge, fraction 0..1) */
    M_NUM_PREEMPTIONS,      /* vllm:num_preemptions_total (counter) */
    M_PROMPT_TOKENS,        /* vllm:prompt_tokens_total (counter) */
    M_GENERATION_TOKENS,    /* vllm:generation_tokens_total (counter) */
    M_REQUEST_SUCCESS,      /* vllm:request_success_total (counter) */
    M_PREFIX_CACHE_QUERIES, /* vllm:prefix_cache_queries_total (counter, tokens) */
    M_PREFIX_CACHE_HITS,    /* vllm:prefix_cache_hits_total (counter, tokens) */
    M_TTFT,                 /* vllm:time_to_first_token_seconds (histogram) */
    M_ITL,                  /* vllm:inter_token_latency_seconds (histogram) */
    M_E2E,                  /* vllm:e2e_request_latency_seconds (histogram) */
    M_QUEUE_TIME,           /* vllm:request_queue_time_seconds (histogram) */
    M_GPU_UTIL,             /* DCGM_FI_DEV_GPU_UTIL (gauge, percent 0..100 busy over the
                               last scrape interval) */
    M_GATEWAY_WAITING,      /* llmcap:gateway_requests_waiting (gauge, no pod label):
                               requests queued at the gateway for want of a replica */
    M_GATEWAY_REQUESTS,     /* llmcap:gateway_requests_total (counter, no pod label):
                               requests that reached the gateway */
    M_N_METRICS
};

extern const struct metric_def sim_metric_defs[M_N_METRICS];

/* The definition whose exposed series name is `series_name` (a gauge's base name, a
 * histogram's _bucket/_sum/_count, or a counter's _total), or NULL. Names that are not
 * exposed (a counter's or a histogram's bare base name) give NULL, as they would select
 * nothing in Prometheus. */
const struct metric_def *metric_lookup(const char *series_name);

/* Which exposed series of its metric a series name is. */
enum metric_series {
    METRIC_SERIES_VALUE,  /* a gauge: the base name itself */
    METRIC_SERIES_TOTAL,  /* a counter's <name>_total */
    METRIC_SERIES_BUCKET, /* a histogram's <name>_bucket{le="..."} */
    METRIC_SERIES_SUM,    /* a histogram's <name>_sum */
    METRIC_SERIES_COUNT,  /* a histogram's <name>_count */
};

/* metric_lookup(), also telling which series of the metric it is (`kind` may be NULL). */
const struct metric_def *metric_lookup_series(const char *series_name,
                                              enum metric_series *kind);

/* The definition whose base name (metric_def.name) is `base_name`, or NULL. */
const struct metric_def *metric_by_base(const char *base_name);

#endif
