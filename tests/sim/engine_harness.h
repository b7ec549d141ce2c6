/* engine_harness.h: scenarios built in code, array workloads and an in-memory sink for
 * the engine and run-loop tests. */
#ifndef LLMCAP_TESTS_SIM_ENGINE_HARNESS_H
#define LLMCAP_TESTS_SIM_ENGINE_HARNESS_H

#include <gsl/gsl_errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

/* A scenario with a fixed fleet and the constant latency model, no file behind it. */
static inline void h_scenario(struct scenario *sc)
{
    memset(sc, 0, sizeof *sc);
    snprintf(sc->name, sizeof sc->name, "test");
    sc->seed = 1;
    sc->duration_us = -1;
    sc->drain_timeout_us = 3600LL * 1000000;
    sc->engine.kind = ENGINE_VLLM;
    sc->engine.tensor_parallel_size = 1;
    sc->engine.max_num_seqs = 256;
    sc->engine.max_num_batched_tokens = 2048;
    sc->engine.enable_chunked_prefill = true;
    sc->engine.block_size = 16;
    sc->engine.gpu_memory_utilization = 0.9;
    sc->engine.max_model_len = 8192;
    sc->engine.num_gpu_blocks = 4096;
    sc->engine.static_batch_size = 8;
    sc->engine.latency.kind = LAT_CONSTANT;
    sc->engine.latency.prefill_per_token_us = 100;
    sc->engine.latency.decode_iteration_ms = 10;
    sc->router.policy = ROUTER_LEAST_OUTSTANDING;
    sc->router.queue_timeout_us = 60LL * 1000000;
    sc->fleet.replicas = 1;
    sc->fleet.pod.safe_to_evict = -1; /* no annotation */
    sc->fleet.scrape_interval_us = 15LL * 1000000;
    sc->record.requests = REC_REQUESTS_FULL;
    sc->record.samples = true;
    sc->record.sample_frac = 0.01;
}

/* Termination and readiness as the lifecycle timelines written before the drain model
 * assume them: the engine drains for the whole grace period, requests left at its end go
 * back to the gateway at once, a deleted pod leaves the endpoints at once and a pod is
 * Ready the instant its engine is up (a probe every microsecond). The deployed defaults
 * are tested in tests/sim/k8s/test_fleet.c. */
static inline void h_lenient_termination(struct scenario *sc)
{
    sc->engine.termination.shutdown_timeout_us = 3600LL * 1000000; /* the grace caps it */
    sc->engine.readiness.period_us = 1;
    sc->router.endpoint_delay_us = 0;
    sc->router.retry.attempts = 100;
    sc->router.retry.backoff_us = 0;
    sc->router.retry.max_backoff_us = 0;
    sc->router.retry.jitter = 0;
    sc->router.retry.on_aborted = sc->router.retry.on_5xx = true;
}

/* h_scenario with two replicas, a linear model whose iteration times change every step
 * and a KV cache small enough to preempt: for checking fast-forward against stepping. */
static inline void h_scenario_preempting(struct scenario *sc)
{
    h_scenario(sc);
    sc->fleet.replicas = 2;
    sc->engine.num_gpu_blocks = 300;
    sc->engine.max_model_len = 4096;
    sc->engine.max_num_batched_tokens = 1024;
    sc->engine.max_num_seqs = 48;
    sc->engine.latency.kind = LAT_LINEAR;
    sc->engine.latency.fixed_ms = 4.1;
    sc->engine.latency.per_prefill_token_us = 61.3;
    sc->engine.latency.per_decode_seq_us = 37.7;
    sc->engine.latency.per_context_token_ns = 5.3;
}

struct h_source {
    const struct wl_request *reqs;
    size_t n, next;
};

static inline int h_next(void *ctx, struct wl_request *out, struct sim_err *err)
{
    (void)err;
    struct h_source *src = ctx;
    if (src->next >= src->n)
        return 0;
    *out = src->reqs[src->next++];
    return 1;
}

struct h_sink {
    struct rec_request *rows; /* indexed by request id */
    size_t cap;
    size_t n_rows;
    size_t n_samples;
    double max_kv_frac;
    struct rec_pod pods[256];
    size_t n_pods;
};

static inline int h_request(void *ctx, const struct rec_request *r)
{
    struct h_sink *k = ctx;
    if (r->id >= k->cap) {
        size_t cap = k->cap ? k->cap : 1024;
        while (cap <= r->id)
            cap *= 2;
        k->rows = realloc(k->rows, cap * sizeof *k->rows);
        memset(k->rows + k->cap, 0xff, (cap - k->cap) * sizeof *k->rows);
        k->cap = cap;
    }
    /* Every request must end exactly once. */
    if (k->rows[r->id].id == r->id)
        abort();
    k->rows[r->id] = *r;
    k->n_rows++;
    return 0;
}

static inline int h_sample(void *ctx, const struct rec_sample *s)
{
    struct h_sink *k = ctx;
    k->n_samples++;
    if (strcmp(s->metric, "vllm:kv_cache_usage_perc") == 0 && s->value > k->max_kv_frac)
        k->max_kv_frac = s->value;
    return 0;
}

static inline int h_pod(void *ctx, const struct rec_pod *p)
{
    struct h_sink *k = ctx;
    if (k->n_pods < sizeof k->pods / sizeof k->pods[0])
        k->pods[k->n_pods++] = *p;
    return 0;
}

/* Run `sc` over reqs[0..n) and collect rows into *out (caller frees out->rows). Returns
 * the sim (caller frees) so that results can be inspected. */
static inline struct sim *h_run(const struct scenario *sc, const struct wl_request *reqs,
                                size_t n, struct h_sink *out, bool no_ff)
{
    gsl_set_error_handler_off();
    memset(out, 0, sizeof *out);
    static struct h_source src;
    src = (struct h_source){reqs, n, 0};
    static struct sim_source source;
    static struct sim_sink sink;
    source = (struct sim_source){&src, h_next};
    sink = (struct sim_sink){.ctx = out, .request = h_request, .sample = h_sample, .pod = h_pod};
    struct sim_options opt = {.sink = &sink, .source = &source, .no_fast_forward = no_ff};
    struct sim_err err = {0};
    struct sim *s = sim_new(sc, &opt, &err);
    if (!s) {
        fprintf(stderr, "sim_new: %s\n", err.msg);
        abort();
    }
    if (sim_run(s, &err) != SIM_OK) {
        fprintf(stderr, "sim_run: %s\n", err.msg);
        abort();
    }
    return s;
}

static inline struct wl_request h_req(double t_s, int32_t prompt, int32_t output)
{
    struct wl_request w = {0};
    w.arrival_us = (int64_t)(t_s * 1e6 + 0.5);
    w.prompt_tokens = prompt;
    w.output_tokens = output;
    return w;
}

#endif
