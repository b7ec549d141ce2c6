/*
 * router.h: the cache-aware routing policies of the gateway.
 *
 * endpoint_picker: the Gateway API Inference Extension's endpoint picker (EPP), as
 * kubernetes-sigs/gateway-api-inference-extension pkg/epp scores pods (read at v1.2.0,
 * 52ed3ab: scheduling/framework/plugins/scorer/queue.go, kvcache_utilization.go,
 * multi/prefix/plugin.go):
 * queue-scorer (max - waiting) / (max - min) over the candidates (1 when all equal),
 * kv-cache-utilization-scorer 1 - usage, prefix-cache-scorer matched / total prompt
 * blocks from an approximate index of the prefixes the gateway itself routed to each pod
 * (an LRU of block hashes per pod), weighted and summed; the max-score picker takes the
 * best (ties: llmcap goes round-robin where the EPP shuffles). The EPP reads the metrics
 * it scraped from the pods (every refresh interval), not their state now.
 *
 * prefix_affinity / session_affinity: consistent hashing with bounded loads (rendezvous
 * hashing: the pod with the highest hash of (key, pod) among those whose outstanding
 * requests stay under load_factor x the mean), on the request's first shared prefix
 * block or its session.
 */
#ifndef LLMCAP_SIM_SERVING_ROUTER_H
#define LLMCAP_SIM_SERVING_ROUTER_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/core/err.h"

/* What the EPP knows of one candidate pod. */
struct epp_view {
    double waiting;       /* vllm:num_requests_waiting, as last scraped */
    double kv_usage;      /* vllm:kv_cache_usage_perc, as last scraped */
    int32_t prefix_match; /* prompt blocks its prefix index holds for this request */
    int64_t age_us;       /* how old those metrics are (INT64_MAX: never scraped) */
};

/* The saturation detector's thresholds (pkg/epp/saturationdetector/config.go). */
struct epp_saturation {
    int queue_depth;      /* QueueDepthThreshold (5) */
    double kv_cache_util; /* KVCacheUtilThreshold (0.8) */
    int64_t staleness_us; /* MetricsStalenessThreshold (200 ms) */
};

/* Detector.IsSaturated over the candidates v[0..n): true when none has "good capacity"
 * (metrics no older than the staleness threshold, waiting <= queue_depth and KV usage <=
 * kv_cache_util); true when there is no candidate. The EPP then sheds requests whose
 * priority is < 0 (requestcontrol/admission.go rejectIfSheddableAndSaturated). */
bool epp_saturated(const struct epp_view *v, int32_t n, const struct epp_saturation *t);

struct epp_weights {
    double queue, kv_cache, prefix;
};

/* The candidate the EPP picks among v[0..n) for a prompt of `total_blocks` blocks: the
 * highest weighted score, ties to the first at or after `tie_start` (cyclically). */
int32_t epp_pick(const struct epp_view *v, int32_t n, int32_t total_blocks,
                 const struct epp_weights *w, int32_t tie_start);

/* The EPP's approximate prefix index for one pod: an LRU set of block hashes. */
struct epp_lru {
    uint64_t *key;
    int32_t *prev, *next;
    int32_t *tab;
    uint32_t mask;
    int32_t cap, n, head, tail, free_top;
    int32_t *free_ids;
};

int epp_lru_init(struct epp_lru *l, int32_t cap, struct sim_err *err);
void epp_lru_release(struct epp_lru *l);
bool epp_lru_has(const struct epp_lru *l, uint64_t h);
/* Add (or refresh) h as the most recently used, evicting the least recently used. */
void epp_lru_add(struct epp_lru *l, uint64_t h);

/* Rendezvous weight of `key` on pod `pod`. */
uint64_t router_hrw(uint64_t key, int32_t pod);

#endif
