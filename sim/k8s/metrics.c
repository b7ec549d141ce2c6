/*
 * metrics.c: the metric list of sim/k8s/metrics.h, with vLLM's own help texts and histogram
 * bucket bounds, and the lookup from an exposed series name to its definition.
 *
 * Source of the vLLM names, help texts and buckets: vllm-project/vllm,
 * vllm/v1/metrics/loggers.py, PrometheusStatLogger.__init__ (the V1 version that already
 * exposes vllm:inter_token_latency_seconds and hides vllm:time_per_output_token_seconds,
 * "Deprecated in 0.11"; the bucket lists are identical in every V1 version read).
 * DCGM: NVIDIA/dcgm-exporter etc/default-counters.csv,
 * "DCGM_FI_DEV_GPU_UTIL, gauge, GPU utilization (in %)."
 */
#include "sim/k8s/metrics.h"

#include <stdbool.h>
#include <string.h>

/* histogram_time_to_first_token */
static const double ttft_buckets[] = {
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,   0.25,  0.5,   0.75,
    1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
};

/* histogram_inter_token_latency */
static const double itl_buckets[] = {
    0.01, 0.025, 0.05, 0.075, 0.1,  0.15, 0.2,  0.3,  0.4,  0.5,
    0.75, 1.0,   2.5,  5.0,   7.5,  10.0, 20.0, 40.0, 80.0,
};

/* request_latency_buckets: e2e, queue, inference, prefill and decode time */
static const double request_latency_buckets[] = {
    0.3,  0.5,  0.8,  1.0,  1.5,   2.0,   2.5,   5.0,   10.0,   15.0,   20.0,
    30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0,
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

const struct metric_def sim_metric_defs[M_N_METRICS] = {
    [M_NUM_REQUESTS_RUNNING] = {"vllm:num_requests_running", METRIC_GAUGE,
                                "Number of requests in model execution batches.", NULL, 0},
    [M_NUM_REQUESTS_WAITING] = {"vllm:num_requests_waiting", METRIC_GAUGE,
                                "Number of requests waiting to be processed.", NULL, 0},
    [M_KV_CACHE_USAGE] = {"vllm:kv_cache_usage_perc", METRIC_GAUGE,
                          "KV-cache usage. 1 means 100 percent usage.", NULL, 0},
    [M_NUM_PREEMPTIONS] = {"vllm:num_preemptions", METRIC_COUNTER,
                           "Cumulative number of preemption from the engine.", NULL, 0},
    [M_PROMPT_TOKENS] = {"vllm:prompt_tokens", METRIC_COUNTER,
                         "Number of prefill tokens processed.", NULL, 0},
    [M_GENERATION_TOKENS] = {"vllm:generation_tokens", METRIC_COUNTER,
                             "Number of generation tokens processed.", NULL, 0},
    [M_REQUEST_SUCCESS] = {"vllm:request_success", METRIC_COUNTER,
                           "Count of successfully processed requests.", NULL, 0},
    /* counter_prefix_cache_queries / _hits: PrefixCacheStats.queries and .hits, requests
     * that were not preempted (resumes are PrefixCacheStats.preempted_*, not exported) */
    [M_PREFIX_CACHE_QUERIES] = {"vllm:prefix_cache_queries", METRIC_COUNTER,
                                "Prefix cache queries, in terms of number of queried tokens.",
                                NULL, 0},
    [M_PREFIX_CACHE_HITS] = {"vllm:prefix_cache_hits", METRIC_COUNTER,
                             "Prefix cache hits, in terms of number of cached tokens.", NULL, 0},
    [M_TTFT] = {"vllm:time_to_first_token_seconds", METRIC_HISTOGRAM,
                "Histogram of time to first token in seconds.", ttft_buckets,
                N_OF(ttft_buckets)},
    [M_ITL] = {"vllm:inter_token_latency_seconds", METRIC_HISTOGRAM,
               "Histogram of inter-token latency in seconds.", itl_buckets, N_OF(itl_buckets)},
    [M_E2E] = {"vllm:e2e_request_latency_seconds", METRIC_HISTOGRAM,
               "Histogram of e2e request latency in seconds.", request_latency_buckets,
               N_OF(request_latency_buckets)},
    [M_QUEUE_TIME] = {"vllm:request_queue_time_seconds", METRIC_HISTOGRAM,
                      "Histogram of time spent in WAITING phase for request.",
                      request_latency_buckets, N_OF(request_latency_buckets)},
    [M_GPU_UTIL] = {"DCGM_FI_DEV_GPU_UTIL", METRIC_GAUGE, "GPU utilization (in %).", NULL, 0},
    /* llmcap's gateway (the router in front of the replicas): what a gateway's own
     * metrics give, and what scale-from-zero triggers need when no replica exists. */
    [M_GATEWAY_WAITING] = {"llmcap:gateway_requests_waiting", METRIC_GAUGE,
                           "Requests queued at the gateway waiting for a replica.", NULL, 0},
    [M_GATEWAY_REQUESTS] = {"llmcap:gateway_requests", METRIC_COUNTER,
                            "Requests that reached the gateway.", NULL, 0},
};

const struct metric_def *metric_by_base(const char *base_name)
{
    for (size_t i = 0; i < M_N_METRICS; i++)
        if (strcmp(sim_metric_defs[i].name, base_name) == 0)
            return &sim_metric_defs[i];
    return NULL;
}

/* `s` is `base` followed by exactly `suffix`. */
static bool has_base_and_suffix(const char *s, const char *base, const char *suffix)
{
    size_t nb = strlen(base);
    return strncmp(s, base, nb) == 0 && strcmp(s + nb, suffix) == 0;
}

const struct metric_def *metric_lookup_series(const char *series_name, enum metric_series *kind)
{
    for (size_t i = 0; i < M_N_METRICS; i++) {
        const struct metric_def *d = &sim_metric_defs[i];
        enum metric_series k;
        switch (d->type) {
        case METRIC_GAUGE:
            if (strcmp(series_name, d->name) != 0)
                continue;
            k = METRIC_SERIES_VALUE;
            break;
        case METRIC_COUNTER:
            if (!has_base_and_suffix(series_name, d->name, "_total"))
                continue;
            k = METRIC_SERIES_TOTAL;
            break;
        case METRIC_HISTOGRAM:
            if (has_base_and_suffix(series_name, d->name, "_bucket"))
                k = METRIC_SERIES_BUCKET;
            else if (has_base_and_suffix(series_name, d->name, "_sum"))
                k = METRIC_SERIES_SUM;
            else if (has_base_and_suffix(series_name, d->name, "_count"))
                k = METRIC_SERIES_COUNT;
            else
                continue;
            break;
        default:
            continue;
        }
        if (kind)
            *kind = k;
        return d;
    }
    return NULL;
}

const struct metric_def *metric_lookup(const char *series_name)
{
    return metric_lookup_series(series_name, NULL);
}
