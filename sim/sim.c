/*
 * sim.c: the run loop: arrivals from the workload, the gateway and router, the fleet of
 * replicas, periodic metric scrapes, the drain at the end, and the run's statistics.
 */
#include "sim/sim.h"

#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/catalog.h"
#include "sim/k8s/autoscaler.h"
#include "models/memory.h"
#include "sim/cloud/gpushare.h"
#include "sim/core/slab.h"
#include "sim/sim_int.h"

const double sim_quantiles[SIM_NQ] = {0.50, 0.90, 0.95, 0.99};

#define REQ_CHUNK 4096

const char *req_outcome_name(enum req_outcome o)
{
    static const char *const names[OUTCOME_N] = {"ok",      "timeout", "rejected",
                                                 "aborted", "5xx",     "client_timeout",
                                                 "unfinished", "shed"};
    return (unsigned)o < OUTCOME_N ? names[o] : "?";
}

/* ---- request pool ---------------------------------------------------------------- */

static struct req *req_alloc(struct sim *s)
{
    struct req_pool *p = &s->pool;
    if (!p->free) {
        struct req **chunks = sim_reallocarray(p->chunks, p->n_chunks + 1, sizeof *chunks);
        if (!chunks)
            return NULL;
        p->chunks = chunks;
        /* 64-byte aligned (struct req's hot fields fill its first cache line) */
        struct req *c = aligned_alloc(_Alignof(struct req), REQ_CHUNK * sizeof *c);
        if (!c)
            return NULL;
        memset(c, 0, REQ_CHUNK * sizeof *c);
        p->chunks[p->n_chunks++] = c;
        for (size_t i = REQ_CHUNK; i > 0; i--) {
            c[i - 1].next = p->free;
            p->free = &c[i - 1];
        }
    }
    struct req *r = p->free;
    p->free = r->next;
    memset(r, 0, sizeof *r);
    return r;
}

static void req_free(struct sim *s, struct req *r)
{
    slab_put(s->slab, (uint32_t *)r->kv.hids, r->kv.n_hids);
    r->kv.hids = NULL;
    r->state = RS_FREE;
    r->next = s->pool.free;
    s->pool.free = r;
}

static void pool_release(struct req_pool *p)
{
    for (size_t i = 0; i < p->n_chunks; i++)
        free(p->chunks[i]);
    free(p->chunks);
    memset(p, 0, sizeof *p);
}

/* ---- gateway queue --------------------------------------------------------------- */

static void gw_remove(struct req_list *l, struct req *r)
{
    req_list_remove(l, r);
}

static void gw_push_back(struct req_list *l, struct req *r)
{
    r->next = NULL;
    r->prev = l->tail;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    l->n++;
}

/* ---- recording and statistics ---------------------------------------------------- */

static void sink_fail(struct sim *s, int rc, const char *what)
{
    if (s->sink_rc == SIM_OK) {
        s->sink_rc = rc;
        if (!s->sink_err.msg[0])
            sim_err_set(&s->sink_err, rc, "could not record %s", what);
    }
    s->stopping = true;
}

void sim_stop_error(struct sim *s, int code, const char *fmt, ...)
{
    if (s->sink_rc == SIM_OK) {
        char msg[sizeof s->sink_err.msg];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        s->sink_rc = code;
        sim_err_set(&s->sink_err, code, "%s", msg);
    }
    s->stopping = true;
}

static bool keep_request_row(const struct sim *s, uint64_t id)
{
    const struct record_spec *rs = &s->sc->record;
    if (rs->requests == REC_REQUESTS_FULL)
        return true;
    if (rs->requests == REC_REQUESTS_NONE)
        return false;
    /* A deterministic sample that depends only on the request id and the seed. */
    uint64_t z = id + s->sc->seed * 0x9e3779b97f4a7c15u + 0x632be59bd9b4e019u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53 < rs->sample_frac;
}

void sim_fail(struct sim *s, int rc, const char *what)
{
    sink_fail(s, rc, what);
}

/* ---- closed-loop clients ------------------------------------------------------------ */

static void arrival(struct sim *s, void *obj, uint64_t arg);
/* A request the semantic cache answers: the reply leaves the gateway after the cache's
 * latency, whole. */
static void semantic_reply(struct sim *s, void *obj, uint64_t arg)
{
    (void)arg;
    struct req *r = obj;
    r->timeout = 0;
    r->first_token_us = s->now_us;
    r->num_output = r->output_tokens;
    sim_request_done(r->dep, NULL, r, OUTCOME_OK);
}

/* Whether the semantic cache answers request `id` of prefix group `group`: a
 * deterministic draw from the id and the seed (no random stream moves), with its group's
 * hit fraction when semantic_cache.groups lists it, else hit_frac. */
static bool semantic_hit(struct deployment *d, uint64_t id, uint64_t group)
{
    const struct sim *s = d->s;
    double f = d->sc->router.semantic_cache.hit_frac;
    int g = -1;
    for (int i = 0; group && i < d->sc->router.semantic_cache.n_groups; i++)
        if (d->semantic_group_key[i] == group)
            g = i;
    if (g >= 0) {
        f = d->sc->router.semantic_cache.group_hit_frac[g];
        d->res.semantic_group_requests[g]++;
    }
    if (!(f > 0))
        return false;
    uint64_t z = id * 0xd1b54a32d192ed03u + s->sc->seed * 0x9e3779b97f4a7c15u + 0x5ec0cace5u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    bool hit = (double)(z >> 11) * 0x1.0p-53 < f;
    if (hit && g >= 0)
        d->res.semantic_group_hits[g]++;
    return hit;
}

static void drain_deadline(struct sim *s, void *obj, uint64_t arg);

/* No request will arrive any more: in-flight work has drain_timeout after the duration
 * (or after now, when that is later) to finish. */
static void end_of_source(struct deployment *d)
{
    struct sim *s = d->s;
    if (d->src_done)
        return;
    d->src_done = true;
    s->n_src_open--;
    int64_t end = s->sc->duration_us >= 0 && s->sc->duration_us > s->now_us ? s->sc->duration_us
                                                                             : s->now_us;
    d->drain_ev = evq_push(s->q, end + s->sc->drain_timeout_us, PRIO_CONTROL, drain_deadline,
                           d, 0);
}

/* The request read ahead goes out as soon as a client is free and it is due; sends stop
 * at the duration. */
static void cl_try_send(struct deployment *d)
{
    struct sim *s = d->s;
    if (!d->cl_pending || d->cl_idle == 0)
        return;
    d->cl_pending = false;
    int64_t t = d->next_arrival.arrival_us > s->now_us ? d->next_arrival.arrival_us : s->now_us;
    if (s->sc->duration_us >= 0 && t >= s->sc->duration_us) {
        end_of_source(d);
        return;
    }
    d->cl_idle--;
    if (!evq_push(s->q, t, PRIO_ARRIVAL, arrival, d, 0))
        sink_fail(s, SIM_ENOMEM, "an arrival (out of memory for events)");
}

static void think_end(struct sim *s, void *obj, uint64_t arg)
{
    (void)s;
    (void)arg;
    struct deployment *d = obj;
    d->cl_idle++;
    cl_try_send(d);
}

/* A client's request ended (any outcome): it sends its next one after its think time. */
static void client_free(struct deployment *d)
{
    struct sim *s = d->s;
    if (d->src_done)
        return;
    const struct clients_spec *c = &d->sc->workload.clients;
    int64_t think = c->think_time_us;
    if (c->think == THINK_EXPONENTIAL && think > 0)
        think = llround(rng_exponential(d->rng, RNG_THINK, (double)c->think_time_us));
    if (think <= 0) {
        d->cl_idle++;
        cl_try_send(d);
        return;
    }
    if (!evq_push(s->q, s->now_us + think, PRIO_ARRIVAL, think_end, d, 0))
        sink_fail(s, SIM_ENOMEM, "a client's think time (out of memory for events)");
}

/* ---- the client's timeout (router.client_timeout) ----------------------------------- */

static void client_timeouts(struct sim *s, void *obj, uint64_t arg);

/* The client sends an attempt of r now: its timeout starts. */
static void attempt_start(struct deployment *d, struct req *r)
{
    struct sim *s = d->s;
    r->attempt_us = s->now_us;
    r->gave_up = false;
    int64_t to = d->sc->router.client_timeout_us;
    if (to <= 0)
        return;
    r->in_attempts = true;
    r->anext = NULL;
    r->aprev = d->att_tail;
    if (d->att_tail)
        d->att_tail->anext = r;
    else
        d->att_head = r;
    d->att_tail = r;
    if (!d->att_ev) {
        d->att_ev = evq_push(s->q, s->now_us + to, PRIO_CONTROL, client_timeouts, d, 0);
        if (!d->att_ev)
            sink_fail(s, SIM_ENOMEM, "a client timeout (out of memory for events)");
    }
}

/* The attempt in flight ended (its response, or a failure): no timeout any more. The
 * timer stays; it re-arms for the next head when it fires. */
static void attempt_end(struct deployment *d, struct req *r)
{
    if (!r->in_attempts)
        return;
    r->in_attempts = false;
    if (r->aprev)
        r->aprev->anext = r->anext;
    else
        d->att_head = r->anext;
    if (r->anext)
        r->anext->aprev = r->aprev;
    else
        d->att_tail = r->aprev;
    r->anext = r->aprev = NULL;
}

/* The client gives up on the attempt (httpx raises ReadTimeout and closes the connection):
 * the gateway drops it from its queue, or vLLM aborts it (engine_cancel). */
static void client_gives_up(struct deployment *d, struct req *r)
{
    struct sim *s = d->s;
    r->gave_up = true;
    r->gave_up_us = s->now_us;
    if (r->state == RS_GATEWAY) {
        gw_remove(&d->gateway, r);
        evq_cancel(s->q, r->timeout);
        r->timeout = 0;
        sim_attempt_failed(d, NULL, r, FAIL_TIMEOUT);
        return;
    }
    SIM_ASSERT(r->replica >= 0 && r->replica < d->n_pods);
    engine_cancel(d->pods[r->replica], r);
}

/* The timer: every attempt sent client_timeout ago or earlier is given up; then the timer
 * is set for the next head. */
static void client_timeouts(struct sim *s, void *obj, uint64_t arg)
{
    (void)arg;
    struct deployment *d = obj;
    int64_t to = d->sc->router.client_timeout_us;
    d->att_ev = 0;
    struct req *r;
    while ((r = d->att_head) && r->attempt_us + to <= s->now_us) {
        attempt_end(d, r);
        client_gives_up(d, r);
    }
    if (d->att_head && !d->att_ev) {
        d->att_ev = evq_push(s->q, d->att_head->attempt_us + to, PRIO_CONTROL, client_timeouts,
                             d, 0);
        if (!d->att_ev)
            sink_fail(s, SIM_ENOMEM, "a client timeout (out of memory for events)");
    }
}

void sim_tokens_generated(struct deployment *d, uint64_t n)
{
    d->res.output_tokens += n;
}

void sim_request_done(struct deployment *d, struct replica *rp, struct req *r,
                      enum req_outcome outcome)
{
    struct sim *s = d->s;
    struct sim_result *res = &d->res;
    attempt_end(d, r);
    res->n_outcome[outcome]++;
    res->preemptions += (uint64_t)r->preemptions;
    if (res->n_classes > 0) {
        struct class_result *cr = &res->cls[r->cls];
        cr->n_requests++;
        cr->n_outcome[outcome]++;
        cr->preemptions += (uint64_t)r->preemptions;
        cr->semantic_hits += outcome == OUTCOME_OK && r->semantic_hit;
    }
    if (outcome == OUTCOME_OK && r->semantic_hit) {
        res->semantic_hits++;
        res->semantic_saved_tokens += (uint64_t)r->prompt_tokens + (uint64_t)r->output_tokens;
    } else if (outcome == OUTCOME_OK) {
        res->prompt_tokens += (uint64_t)r->prompt_tokens;
        d->st.ok_output_tokens += (uint64_t)r->output_tokens;
    }
    if (outcome == OUTCOME_OK) {
        double ttft = (double)(r->first_token_us - r->arrival_us) * 1e-6;
        double e2e = (double)(s->now_us - r->arrival_us) * 1e-6;
        /* Time waiting for the first schedule, at the gateway and in the engine (vLLM's
         * request_queue_time plus the gateway wait). */
        double queue = (double)(r->first_sched_us - r->arrival_us) * 1e-6;
        bool has_tpot = r->output_tokens > 1 && !r->semantic_hit; /* one reply, no stream */
        double tpot = has_tpot ? (double)(s->now_us - r->first_token_us) * 1e-6 /
                                     (double)(r->output_tokens - 1)
                               : 0.0;
        struct stats_ok ok = {
            .arrival_us = r->arrival_us,
            .ttft = ttft,
            .tpot = tpot,
            .e2e = e2e,
            .queue = queue,
            .has_tpot = has_tpot,
            .output_tokens = r->output_tokens,
            .itl_sum_us = r->itl_sum_us,
            .itl_n = r->itl_n,
        };
        if (s->all && !run_stats_ok(s->all, &ok))
            sink_fail(s, SIM_ENOMEM, "statistics (out of memory)");
        if (!run_stats_ok(&d->st, &ok) ||
            (res->n_classes > 0 && !run_stats_ok(&d->cls_st[r->cls], &ok)))
            sink_fail(s, SIM_ENOMEM, "statistics (out of memory)");
    }
    const struct sim_sink *sink = s->opt.sink;
    if (sink && sink->request && keep_request_row(s, r->id)) {
        struct rec_request row = {
            .id = r->id,
            .arrival_us = r->arrival_us,
            .prompt_tokens = r->prompt_tokens,
            .output_tokens = r->output_tokens,
            .generated_tokens = r->num_output,
            .replica = r->replica,
            .first_token_us = r->first_token_us,
            .finish_us = r->gave_up ? r->gave_up_us : s->now_us,
            .preemptions = r->preemptions,
            .retries = r->retries,
            .outcome = outcome,
            .class_name = res->n_classes > 0 ? d->sc->workload.classes[r->cls].name : NULL,
            .deployment = sim_rec_deployment(d),
        };
        int rc = sink->request(sink->ctx, &row);
        if (rc != SIM_OK)
            sink_fail(s, rc, "a request row");
    }
    s->in_flight--;
    d->in_flight--;
    req_free(s, r);
    if (rp) {
        rp->outstanding--;
        fleet_request_ended(rp);
        if (d->gateway.n > 0)
            sim_dispatch_gateway(d);
    }
    if (d->closed)
        client_free(d);
}

/* ---- router ----------------------------------------------------------------------- */

static bool can_take(const struct deployment *d, const struct replica *rp)
{
    int32_t cap = d->sc->router.max_outstanding_per_replica;
    return cap == 0 || rp->outstanding < cap;
}

/* Scratch arrays of the cache-aware policies, grown with the fleet (not per request). */
static bool route_scratch(struct deployment *d, int32_t n)
{
    if (n <= d->route_cap)
        return true;
    int32_t cap = n > 2 * d->route_cap ? n : 2 * d->route_cap;
    int32_t *m = sim_reallocarray(d->route_match, (size_t)cap, sizeof *m);
    if (m)
        d->route_match = m;
    struct epp_view *v = sim_reallocarray(d->route_view, (size_t)cap, sizeof *v);
    if (v)
        d->route_view = v;
    struct replica **c = sim_reallocarray(d->route_cand, (size_t)cap, sizeof *c);
    if (c)
        d->route_cand = c;
    if (!m || !v || !c)
        return false;
    d->route_cap = cap;
    return true;
}

/* The endpoint picker over the candidates (route_cand[0..n)): scores from the metrics it
 * last scraped and from its own index of the prefixes it routed; the pick's prompt blocks
 * join that pod's index (the prefix plugin's PreRequest). */
static int32_t route_epp(struct deployment *d, const struct req *r, int32_t n)
{
    struct sim *s = d->s;
    const struct epp_spec *es = &d->sc->router.epp;
    int32_t bs = d->ep.block_size;
    int32_t max = es->max_prefix_blocks > 0 ? es->max_prefix_blocks : 256;
    int32_t total = r->prompt_tokens / bs < max ? r->prompt_tokens / bs : max;
    int32_t nh = kv_prefix_hashes(&r->kv, bs, d->route_hashes, total);
    for (int32_t k = 0; k < n; k++)
        d->route_match[k] = 0;
    /* matchLongestPrefix: block by block while some pod holds it */
    for (int32_t i = 0; i < nh; i++) {
        bool any = false;
        for (int32_t k = 0; k < n; k++) {
            if (epp_lru_has(&d->route_cand[k]->epp_index, d->route_hashes[i])) {
                d->route_match[k]++;
                any = true;
            }
        }
        if (!any)
            break;
    }
    for (int32_t k = 0; k < n; k++) {
        const struct replica *rp = d->route_cand[k];
        d->route_view[k] = (struct epp_view){rp->epp_waiting, rp->epp_kv, d->route_match[k], 0};
    }
    struct epp_weights w = {es->queue_weight, es->kv_cache_weight, es->prefix_weight};
    int32_t pick = epp_pick(d->route_view, n, total, &w, 0); /* candidates start at rr_next */
    struct replica *rp = d->route_cand[pick];
    if (!rp->epp_index.cap) {
        int cap = es->lru_capacity_per_server > 0 ? es->lru_capacity_per_server : 31250;
        if (epp_lru_init(&rp->epp_index, cap, NULL) != SIM_OK) {
            sink_fail(s, SIM_ENOMEM, "the endpoint picker's prefix index (out of memory)");
            return pick;
        }
    }
    for (int32_t i = 0; i < nh; i++)
        epp_lru_add(&rp->epp_index, d->route_hashes[i]);
    return pick;
}

/* The key a request is hashed on for prefix or session affinity; 0: none. */
static uint64_t affinity_key(const struct deployment *d, const struct req *r)
{
    if (d->sc->router.policy == ROUTER_SESSION_AFFINITY && r->session)
        return r->session;
    if (r->kv.hids && r->kv.n_hids)
        return (uint64_t)r->kv.hids[0] + 1;
    if (r->kv.pfx.n)
        return r->kv.pfx.key[0];
    return 0;
}

/* Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam 2018, in
 * rendezvous form): the candidate with the highest weight for the key among those whose
 * outstanding requests, the new one included, stay within ceil(load_factor x the mean). */
static int32_t route_affinity(struct deployment *d, uint64_t key, int32_t n)
{
    int64_t sum = 1;
    for (int32_t k = 0; k < n; k++)
        sum += d->route_cand[k]->outstanding;
    double c = d->sc->router.load_factor > 1.0 ? d->sc->router.load_factor : 1.25;
    double cap = ceil(c * (double)sum / n);
    int32_t best = -1;
    uint64_t best_w = 0;
    for (int32_t k = 0; k < n; k++) {
        const struct replica *rp = d->route_cand[k];
        if ((double)rp->outstanding + 1 > cap)
            continue;
        uint64_t wgt = router_hrw(key, rp->idx);
        if (best < 0 || wgt > best_w) {
            best = k;
            best_w = wgt;
        }
    }
    return best;
}

/* The ready replica the router picks for r, or NULL when none can take a request now.
 * Ties in least-outstanding are broken round-robin, so equal replicas share the load. */
static struct replica *route(struct deployment *d, const struct req *r)
{
    int32_t n = d->n_ready;
    enum router_policy pol = d->sc->router.policy;
    if (pol >= ROUTER_ENDPOINT_PICKER && n > 0 && route_scratch(d, n)) {
        int32_t nc = 0, first = -1;
        for (int32_t k = 0; k < n; k++) {
            int32_t i = d->rr_next + k < n ? d->rr_next + k : d->rr_next + k - n;
            if (can_take(d, d->ready[i])) {
                if (first < 0)
                    first = i;
                d->route_cand[nc++] = d->ready[i];
            }
        }
        if (nc == 0)
            return NULL;
        uint64_t key = pol == ROUTER_ENDPOINT_PICKER ? 0 : affinity_key(d, r);
        int32_t pick = -1;
        if (pol == ROUTER_ENDPOINT_PICKER)
            pick = route_epp(d, r, nc);
        else if (key)
            pick = route_affinity(d, key, nc);
        if (pick >= 0) {
            d->rr_next = first + 1 < n ? first + 1 : 0;
            return d->route_cand[pick];
        }
        /* no key: least outstanding, as below */
    }
    struct replica *best = NULL;
    int32_t best_k = 0;
    for (int32_t k = 0; k < n; k++) {
        int32_t i = d->rr_next + k;
        if (i >= n)
            i -= n;
        struct replica *rp = d->ready[i];
        if (!can_take(d, rp))
            continue;
        if (pol == ROUTER_ROUND_ROBIN) {
            best = rp;
            best_k = i;
            break;
        }
        if (!best || rp->outstanding < best->outstanding) {
            best = rp;
            best_k = i;
        }
    }
    if (best)
        d->rr_next = best_k + 1 < n ? best_k + 1 : 0;
    return best;
}

/* The saturation detector over the ready pods, as the EPP last scraped them
 * (saturationdetector.go IsSaturated with every ready pod a candidate). */
static bool epp_saturated_now(struct deployment *d)
{
    int32_t n = d->n_ready;
    if (n == 0)
        return true;
    if (!route_scratch(d, n))
        return false;
    int64_t now = d->s->now_us;
    for (int32_t i = 0; i < n; i++) {
        const struct replica *rp = d->ready[i];
        d->route_view[i] = (struct epp_view){.waiting = rp->epp_waiting,
                                             .kv_usage = rp->epp_kv,
                                             .age_us = rp->epp_seen ? now - rp->epp_seen_us
                                                                    : INT64_MAX};
    }
    const struct epp_spec *es = &d->sc->router.epp;
    struct epp_saturation th = {es->queue_depth_threshold, es->kv_cache_util_threshold,
                                es->metrics_staleness_us};
    return epp_saturated(d->route_view, n, &th);
}

/* The endpoint picker's metrics refresh: every pod's waiting queue and KV usage, as its
 * /metrics would give them now. */
static void epp_refresh(struct sim *s, void *obj, uint64_t arg)
{
    (void)arg;
    struct deployment *d = obj;
    for (int32_t i = 0; i < d->n_ready; i++) {
        struct replica *rp = d->ready[i];
        double running;
        engine_gauges(rp, &running, &rp->epp_waiting, &rp->epp_kv);
        rp->epp_seen = true;
        rp->epp_seen_us = s->now_us;
    }
    if (!(d->src_done && d->in_flight == 0))
        evq_push(s->q, s->now_us + d->sc->router.epp.refresh_interval_us, PRIO_SCRAPE,
                 epp_refresh, d, 0);
}

static void hand_to_replica(struct deployment *d, struct replica *rp, struct req *r)
{
    struct sim *s = d->s;
    r->dispatch_us = s->now_us;
    if (!fleet_accepts(rp)) {
        /* An endpoint not yet removed whose vLLM is shutting down (503) or gone (refused
         * connection, which the proxy answers 502/503). */
        r->replica = rp->seq;
        sim_attempt_failed(d, NULL, r, FAIL_5XX);
        return;
    }
    rp->outstanding++;
    engine_enqueue(rp, r);
}

/* ---- client retries ---------------------------------------------------------------- */

static void retry_fire(struct sim *s, void *obj, uint64_t arg)
{
    (void)arg;
    (void)s;
    struct req *r = obj;
    r->timeout = 0;
    gw_remove(&r->dep->backoff, r);
    attempt_start(r->dep, r);
    sim_gateway_admit(r->dep, r);
}

/* The client's wait before retry number n (0 for the first): min(backoff * 2^n,
 * max_backoff) * (1 - jitter * U[0,1)), as the OpenAI SDK's _calculate_retry_timeout. */
static int64_t retry_wait_us(struct deployment *d, int32_t n)
{
    const struct retry_spec *rt = &d->sc->router.retry;
    double w = (double)rt->backoff_us;
    for (int32_t i = 0; i < n && w < (double)rt->max_backoff_us; i++)
        w *= 2.0;
    if (w > (double)rt->max_backoff_us)
        w = (double)rt->max_backoff_us;
    if (rt->jitter > 0)
        w *= 1.0 - rt->jitter * rng_uniform(d->rng, RNG_CLIENT);
    return (int64_t)llround(w);
}

void sim_attempt_failed(struct deployment *d, struct replica *rp, struct req *r, enum attempt_fail why)
{
    static const enum req_outcome final[] = {OUTCOME_ABORTED, OUTCOME_5XX,
                                             OUTCOME_CLIENT_TIMEOUT};
    struct sim *s = d->s;
    const struct retry_spec *rt = &d->sc->router.retry;
    struct sim_result *res = &d->res;
    attempt_end(d, r);
    bool retriable = why == FAIL_ABORTED ? rt->on_aborted
                     : why == FAIL_5XX   ? rt->on_5xx
                                         : rt->on_timeout;
    if (!retriable || r->retries >= rt->attempts || s->stopping) {
        sim_request_done(d, rp, r, final[why]);
        return;
    }
    if (why == FAIL_ABORTED)
        res->retries_aborted++;
    else if (why == FAIL_5XX)
        res->retries_5xx++;
    else
        res->retries_timeout++;
    res->retries++;
    res->discarded_tokens += (uint64_t)r->num_output;
    /* The client saw the failure when it gave up (a running request leaves the engine at
     * the end of its step, a little later), else now. */
    int64_t seen = r->gave_up ? r->gave_up_us : s->now_us;
    r->gave_up = false;
    r->num_computed = r->num_output = r->sched_new = 0;
    r->resumed = false;
    r->first_token_us = -1;
    r->itl_sum_us = r->itl_n = 0;
    r->first_sched_us = -1;
    r->replica = -1;
    r->state = RS_GATEWAY;
    int64_t t = seen + retry_wait_us(d, r->retries);
    r->retries++;
    gw_push_back(&d->backoff, r);
    r->timeout = evq_push(s->q, t > s->now_us ? t : s->now_us, PRIO_ARRIVAL, retry_fire, r, 0);
    if (rp) {
        rp->outstanding--;
        fleet_request_ended(rp);
    }
}

static void gateway_timeout(struct sim *s, void *obj, uint64_t arg)
{
    (void)arg;
    (void)s;
    struct req *r = obj;
    r->timeout = 0;
    gw_remove(&r->dep->gateway, r);
    sim_request_done(r->dep, NULL, r, OUTCOME_TIMEOUT);
}

/* Hand gateway-queued requests, oldest first, to replicas that can take them. */
void sim_dispatch_gateway(struct deployment *d)
{
    struct sim *s = d->s;
    while (d->gateway.n > 0) {
        struct req *r = d->gateway.head;
        struct replica *rp = route(d, r);
        if (!rp)
            return;
        gw_remove(&d->gateway, r);
        evq_cancel(s->q, r->timeout);
        r->timeout = 0;
        hand_to_replica(d, rp, r);
    }
}

void sim_gateway_admit(struct deployment *d, struct req *r)
{
    struct sim *s = d->s;
    r->state = RS_GATEWAY;
    if (r->sheddable && d->sc->router.policy == ROUTER_ENDPOINT_PICKER && epp_saturated_now(d)) {
        /* The EPP's admission control: a sheddable request while no pod has capacity is
         * answered 429 at once (requestcontrol/admission.go). */
        sim_request_done(d, NULL, r, OUTCOME_SHED);
        return;
    }
    struct replica *rp = d->gateway.n == 0 ? route(d, r) : NULL;
    if (rp) {
        hand_to_replica(d, rp, r);
        return;
    }
    gw_push_back(&d->gateway, r);
    /* The timeout counts from the request's arrival, retries included. */
    int64_t t = r->arrival_us + d->sc->router.queue_timeout_us;
    r->timeout = evq_push(s->q, t > s->now_us ? t : s->now_us, PRIO_CONTROL, gateway_timeout,
                          r, 0);
}

/* ---- arrivals ---------------------------------------------------------------------- */

/* Pull the next request from the workload and schedule its arrival (closed loop: when a
 * client is free). */
static int pull_shared(struct sim *s, struct sim_err *err);

static int pull_next(struct deployment *d, struct sim_err *err)
{
    struct sim *s = d->s;
    if (d->shared_src)
        return pull_shared(s, err);
    int rc = d->src.next(d->src.ctx, &d->next_arrival, err);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        end_of_source(d);
        return SIM_OK;
    }
    if (d->closed) {
        d->cl_pending = true;
        cl_try_send(d);
        return SIM_OK;
    }
    SIM_ASSERT(d->next_arrival.arrival_us >= s->now_us);
    if (!evq_push(s->q, d->next_arrival.arrival_us, PRIO_ARRIVAL, arrival, d, 0))
        return sim_err_set(err, SIM_ENOMEM, "out of memory for events");
    return SIM_OK;
}

/* The routed trace's next request goes to the deployment serving its model (as an
 * OpenAI-compatible gateway routes by the request's `model`); a model none serves is
 * counted, as the 404 the gateway would answer. The end of the trace ends every
 * deployment's workload. */
static int pull_shared(struct sim *s, struct sim_err *err)
{
    for (;;) {
        int rc = s->shared.next(s->shared.ctx, &s->shared_next, err);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            for (int32_t i = 0; i < s->n_deps; i++)
                end_of_source(s->deps[i]);
            return SIM_OK;
        }
        if (s->shared_next.model < 0 || (size_t)s->shared_next.model >= s->n_route) {
            s->unknown_model_requests++;
            continue;
        }
        struct deployment *d = s->route_dep[s->shared_next.model];
        d->next_arrival = s->shared_next;
        SIM_ASSERT(d->next_arrival.arrival_us >= s->now_us);
        if (!evq_push(s->q, d->next_arrival.arrival_us, PRIO_ARRIVAL, arrival, d, 0))
            return sim_err_set(err, SIM_ENOMEM, "out of memory for events");
        return SIM_OK;
    }
}

/* Closed-loop requests that end the instant they are sent (rejected, no think time)
 * would let the clients send forever at one simulated instant: past this many sends at
 * one instant beyond the clients' first round, the run stops with an error. */
#define CL_SAME_INSTANT_MAX 1000000

static void arrival(struct sim *s, void *obj, uint64_t arg)
{
    (void)arg;
    struct deployment *d = obj;
    const struct wl_request *w = &d->next_arrival;
    if (d->closed) {
        d->cl_same_instant = d->n_arrived > 0 && s->now_us == d->cl_last_send_us
                                 ? d->cl_same_instant + 1
                                 : 1;
        d->cl_last_send_us = s->now_us;
        if (d->cl_same_instant > (uint64_t)CL_SAME_INSTANT_MAX +
                                     (uint64_t)d->sc->workload.clients.concurrency) {
            s->sink_rc = sim_err_set(
                &s->sink_err, SIM_EINVAL,
                "the closed loop sent %llu requests at t = %.6f s and each ended at once "
                "(rejected: prompt + output tokens > max_model_len %d?): give "
                "'workload.clients.think_time' > 0 or fix the lengths",
                (unsigned long long)d->cl_same_instant, (double)s->now_us * 1e-6,
                d->ep.max_model_len);
            scenario_locate(d->sc, "workload.clients", &s->sink_err);
            s->stopping = true;
            return;
        }
    }
    struct req *r = req_alloc(s);
    if (!r) {
        sink_fail(s, SIM_ENOMEM, "a request (out of memory)");
        return;
    }
    r->dep = d;
    r->id = s->n_requests_made++; /* unique over every deployment (request rows) */
    d->n_arrived++;
    r->arrival_us = s->now_us;
    r->prompt_tokens = w->prompt_tokens;
    r->output_tokens = w->output_tokens;
    r->first_token_us = -1;
    r->dispatch_us = -1;
    r->first_sched_us = -1;
    r->replica = -1;
    r->state = RS_GATEWAY;
    /* Its tokens' identities for the prefix cache: the trace's hash_ids (those that cover
     * the prompt), or the workload's shared segments; the rest are its own. */
    r->session = w->session_id;
    r->group = w->group;
    if (d->res.n_classes > 0) {
        int32_t c = w->cls >= 0 && w->cls < d->res.n_classes ? w->cls : 0;
        const struct class_spec *cs = &d->sc->workload.classes[c];
        r->cls = (uint8_t)c;
        r->priority = cs->priority;
        r->sheddable = cs->sheddable;
    }
    r->kv.owner = r->id + 1;
    r->kv.prompt_tokens = r->prompt_tokens;
    r->kv.total_tokens = r->prompt_tokens + r->output_tokens;
    r->kv.pfx = w->prefix;
    kv_seq_reset(&r->kv);
    if (w->n_hash_ids > 0 && d->ep.enable_prefix_caching && d->ep.kind == ENGINE_VLLM) {
        int32_t ht = d->sc->workload.hash_block_tokens > 0 ? d->sc->workload.hash_block_tokens
                                                           : 512;
        uint32_t n = w->n_hash_ids;
        if ((int64_t)n > ceil_div64(r->prompt_tokens, ht))
            n = (uint32_t)ceil_div64(r->prompt_tokens, ht);
        uint32_t *ids = slab_get(s->slab, n, NULL);
        if (!ids) {
            req_free(s, r);
            sink_fail(s, SIM_ENOMEM, "a request's hash_ids (out of memory)");
            return;
        }
        memcpy(ids, w->hash_ids, n * sizeof *ids);
        r->kv.hids = ids;
        r->kv.n_hids = n;
        r->kv.hid_tokens = ht;
    }
    s->in_flight++;
    d->in_flight++;
    d->gateway_requests_total++;
    if (d->res.n_requests++ == 0)
        d->res.first_arrival_us = s->now_us;
    d->res.last_arrival_us = s->now_us;

    if (semantic_hit(d, r->id, r->group)) {
        /* The gateway's semantic cache answers it (looked up before anything else). */
        r->semantic_hit = true;
        r->first_sched_us = s->now_us;
        r->timeout = evq_push(s->q, s->now_us + d->sc->router.semantic_cache.latency_us,
                              PRIO_CONTROL, semantic_reply, r, 0);
    } else if ((int64_t)r->prompt_tokens + r->output_tokens > d->ep.max_model_len) {
        /* vLLM's OpenAI server refuses prompt + max_tokens > max_model_len (HTTP 400). */
        sim_request_done(d, NULL, r, OUTCOME_REJECTED);
    } else {
        attempt_start(d, r);
        sim_gateway_admit(d, r);
    }
    struct sim_err err = {0};
    int rc = pull_next(d, &err);
    if (rc != SIM_OK) {
        s->sink_rc = rc;
        s->sink_err = err;
        s->stopping = true;
    }
}

/* ---- metrics scrape ------------------------------------------------------------------ */

static void scrape(struct sim *s, void *obj, uint64_t arg)
{
    (void)obj;
    (void)arg;
    for (int32_t i = 0; i < s->n_deps; i++)
        scrape_all(s->deps[i]);
    cluster_scrape(s);
    evq_push(s->q, s->now_us + s->sc->fleet.scrape_interval_us, PRIO_SCRAPE, scrape, NULL, 0);
}

/* ---- the end --------------------------------------------------------------------------- */

static void drain_deadline(struct sim *s, void *obj, uint64_t arg)
{
    (void)arg;
    struct deployment *d = obj;
    d->drain_ev = 0;
    while (d->backoff.n > 0) {
        struct req *r = d->backoff.head;
        gw_remove(&d->backoff, r);
        evq_cancel(s->q, r->timeout);
        sim_request_done(d, NULL, r, OUTCOME_UNFINISHED);
    }
    while (d->gateway.n > 0) {
        struct req *r = d->gateway.head;
        gw_remove(&d->gateway, r);
        evq_cancel(s->q, r->timeout);
        sim_request_done(d, NULL, r, OUTCOME_UNFINISHED);
    }
    for (int32_t i = 0; i < d->n_pods; i++)
        if (d->pods[i]->phase != POD_GONE)
            engine_abort_all(d->pods[i], OUTCOME_UNFINISHED);
}

/* ---- setup ---------------------------------------------------------------------------- */

static int workload_source_next(void *ctx, struct wl_request *out, struct sim_err *err)
{
    return workload_next(ctx, out, err);
}

/* A file the scenario names could not be opened or read (err's location is the bare path,
 * no line): point at the scenario key that names it; the message names the file. */
static void locate_file_error(const struct scenario *sc, const char *key, const char *path,
                              struct sim_err *err)
{
    if (err && path[0] && !strcmp(err->where, path)) {
        err->where[0] = '\0';
        scenario_locate(sc, key, err);
    }
}

/* An error from a later check that names its key first ("'workload.count' ...") and
 * has no position: point it at that key in the scenario. */
static void sim_locate_key_error(const struct scenario *sc, struct sim_err *err)
{
    if (!err || err->where[0] || err->msg[0] != '\'')
        return;
    /* "'workload.rate_profile.steps[2].at' must ..." -> workload.rate_profile.steps.2.at */
    char key[256];
    size_t n = 0;
    for (const char *p = err->msg + 1; *p && *p != '\'' && n + 1 < sizeof key; p++) {
        if (*p == '[')
            key[n++] = '.';
        else if (*p != ']')
            key[n++] = *p;
    }
    key[n] = '\0';
    if (n && strchr(key, ' ') == NULL)
        scenario_locate(sc, key, err);
}

struct catalog *sim_load_catalog(const struct scenario *sc, struct sim_err *err)
{
    struct catalog *cat = catalog_new(NULL, err);
    if (!cat)
        return NULL;
    if (sc->model.catalog_path[0] && catalog_add_file(cat, sc->model.catalog_path, err)) {
        locate_file_error(sc, "model.catalog", sc->model.catalog_path, err);
        catalog_free(cat);
        return NULL;
    }
    /* A scenario of several deployments: each deployment's own catalog, once per file. */
    for (size_t d = 0; d < sc->n_deployments; d++) {
        const char *path = sc->deployments[d].model.catalog_path;
        bool seen = !path[0] || !strcmp(path, sc->model.catalog_path);
        for (size_t e = 0; e < d && !seen; e++)
            seen = !strcmp(path, sc->deployments[e].model.catalog_path);
        if (!seen && catalog_add_file(cat, path, err) != SIM_OK) {
            char key[64];
            snprintf(key, sizeof key, "deployments.%zu.model.catalog", d);
            locate_file_error(sc, key, path, err);
            catalog_free(cat);
            return NULL;
        }
    }
    return cat;
}

static bool needs_startup(const struct scenario *sc)
{
    return sc->fleet.scaled_object || sc->fleet.hpa;
}

/*
 * The engine's limits and KV capacity as vLLM would have them: explicit scenario values
 * win; otherwise vLLM's defaults for the GPU and the KV blocks left in GPU memory after
 * weights, activations and CUDA graphs (models/memory.h). Errors point at the scenario.
 */
static int resolve_engine(struct deployment *d, struct sim_err *err)
{
    struct sim *s = d->s;
    const struct scenario *sc = d->sc;
    const struct engine_spec *es = &sc->engine;
    const struct catalog *cat = s->opt.catalog;
    struct engine_params *p = &d->ep;
    p->kind = es->kind;
    p->chunked_prefill = es->enable_chunked_prefill;
    p->block_size = es->block_size > 0 ? es->block_size : 16;
    p->static_batch_size = es->static_batch_size > 0 ? es->static_batch_size : 8;
    p->enable_prefix_caching = es->enable_prefix_caching;
    p->priority = es->priority_scheduling;
    p->slab = s->slab;

    bool lat_catalog = es->latency.kind == LAT_ROOFLINE || es->latency.kind == LAT_TABLE;
    bool need_model = es->num_gpu_blocks <= 0 || es->max_model_len <= 0 || lat_catalog ||
                      (needs_startup(sc) && es->startup.weights_gib <= 0);
    bool need_gpu = es->num_gpu_blocks <= 0 || lat_catalog;
    const struct cat_model *m = NULL;
    const struct cat_gpu *g = NULL;
    if (need_model && !cat)
        return scenario_locate(sc, "model.name",
                               (sim_err_set(err, SIM_EINVAL,
                                            "this scenario needs the model catalog (for %s)",
                                            es->num_gpu_blocks <= 0 ? "num_gpu_blocks: auto"
                                                                    : "the model's shape"),
                                err));
    if (cat && sc->model.name[0]) {
        m = catalog_model(cat, sc->model.name, need_model ? err : NULL);
        if (!m && need_model)
            return scenario_locate(sc, "model.name", err);
    }
    /* vLLM labels its series with --served-model-name, by default the model path it
     * loaded: the catalog's Hugging Face id. */
    snprintf(d->model_label, sizeof d->model_label, "%s",
             sc->model.served_model_name[0] ? sc->model.served_model_name
             : m && m->hf_id[0]             ? m->hf_id
                                            : sc->model.name);
    if (cat && es->gpu[0]) {
        g = catalog_gpu(cat, es->gpu, need_gpu ? err : NULL);
        if (!g && need_gpu)
            return scenario_locate(sc, "engine.gpu", err);
    } else if (need_gpu) {
        sim_err_set(err, SIM_EINVAL,
                    "'engine.gpu' is needed to size the KV cache (num_gpu_blocks: auto) and "
                    "for the %s latency model: name a GPU from 'llmcap catalog gpus'",
                    lat_kind_name(es->latency.kind));
        return scenario_locate(sc, "engine", err);
    }
    /* MIG slices and time-sliced GPUs (sim/cloud/gpushare.h): on a slice, g becomes the
     * slice's GPU for vLLM's limits, KV sizing and the latency model */
    if (gpushare_init(s, d, &g, err) != SIM_OK)
        return err->code;
    int def_seqs = 256, def_tokens = 2048; /* vLLM's API server defaults below 70 GiB */
    if (g)
        mem_default_limits(g, &def_seqs, &def_tokens);
    p->num_scheduler_steps = es->num_scheduler_steps > 1 ? es->num_scheduler_steps : 1;
    p->v0 = es->vllm_version[0] && es->vllm_major == 0 && es->vllm_minor < 8;
    if (p->v0 && es->enable_prefix_caching) {
        /* V0's prefix cache (off by default there) is not V1's: not modelled. */
        if (scenario_node(sc, "engine.enable_prefix_caching"))
            return scenario_locate(
                sc, "engine.enable_prefix_caching",
                (sim_err_set(err, SIM_EINVAL,
                             "prefix caching is modelled as vLLM V1 (0.8 and later) does it, "
                             "not for engine.vllm_version '%s': set it to false",
                             es->vllm_version),
                 err));
        p->enable_prefix_caching = false; /* V0's default */
    }
    if (p->v0 && p->priority)
        /* V0's priority policy also preempts running requests for waiting ones of higher
         * priority (_schedule_priority_preemption): not modelled. */
        return scenario_locate(
            sc, "engine.scheduling_policy",
            (sim_err_set(err, SIM_EINVAL,
                         "priority scheduling is modelled as vLLM V1 (0.8 and later) does it, "
                         "not for engine.vllm_version '%s' (V0 also preempts running requests "
                         "for waiting ones of higher priority)",
                         es->vllm_version),
             err));
    if (p->v0) {
        /* vLLM 0.6 EngineArgs/SchedulerConfig defaults: 256 sequences; a token budget of
         * max(max_model_len, 2048) without chunked prefill, 512 with it */
        def_seqs = 256;
        def_tokens = p->chunked_prefill ? 512
                                        : (es->max_model_len > 2048 ? es->max_model_len : 2048);
    }
    p->max_num_seqs = es->max_num_seqs > 0 ? es->max_num_seqs : def_seqs;
    p->max_num_batched_tokens =
        es->max_num_batched_tokens > 0 ? es->max_num_batched_tokens : def_tokens;
    p->max_model_len = es->max_model_len;
    p->num_blocks = es->num_gpu_blocks;
    d->weights_gib_total = es->startup.weights_gib;
    if (m && g) {
        struct mem_config cfg = {
            .model = m,
            .gpu = g,
            .kv_cache_dtype = sc->model.kv_cache_dtype,
            .tensor_parallel_size = es->tensor_parallel_size,
            .gpu_memory_utilization = es->gpu_memory_utilization,
            .block_size = p->block_size,
            .max_num_seqs = p->max_num_seqs,
            .max_num_batched_tokens = p->max_num_batched_tokens,
            .max_model_len = es->max_model_len,
        };
        if (mem_dtype_parse(sc->model.dtype, &cfg.dtype) != SIM_OK)
            return scenario_locate(sc, "model.dtype",
                                   (sim_err_set(err, SIM_EINVAL, "unknown dtype '%s'",
                                                sc->model.dtype),
                                    err));
        if (mem_plan_compute(&d->plan, &cfg, err) != SIM_OK)
            return scenario_locate(sc, "engine", err);
        d->have_plan = true;
        if (p->num_blocks <= 0)
            p->num_blocks = d->plan.num_gpu_blocks;
        if (p->max_model_len <= 0)
            p->max_model_len = (int32_t)d->plan.max_model_len;
        if (d->weights_gib_total <= 0)
            d->weights_gib_total = d->plan.weight_bytes_total / (1024.0 * 1024.0 * 1024.0);
    } else if (m && p->max_model_len <= 0 && m->max_position_embeddings > 0) {
        p->max_model_len = (int32_t)m->max_position_embeddings;
    }
    if (p->num_blocks <= 0)
        return scenario_locate(sc, "engine.num_gpu_blocks",
                               (sim_err_set(err, SIM_EINVAL,
                                            "'engine.num_gpu_blocks' is auto, which needs the "
                                            "model and GPU in the catalog: give a number of "
                                            "KV blocks"),
                                err));
    if (p->max_model_len <= 0)
        return scenario_locate(sc, "engine",
                               (sim_err_set(err, SIM_EINVAL,
                                            "'engine.max_model_len' is not set and the model "
                                            "catalog does not give the model's maximum "
                                            "length: set it"),
                                err));
    if ((int64_t)p->max_model_len > p->num_blocks * p->block_size)
        return scenario_locate(
            sc, "engine.max_model_len",
            (sim_err_set(err, SIM_EINVAL,
                         "max_model_len %d needs %lld KV blocks of %d tokens, but the engine "
                         "has %lld: lower 'engine.max_model_len' or give the KV cache more "
                         "memory",
                         p->max_model_len,
                         (long long)ceil_div64(p->max_model_len, p->block_size),
                         p->block_size, (long long)p->num_blocks),
             err));
    if (p->kind == ENGINE_VLLM && !p->chunked_prefill &&
        p->max_num_batched_tokens < p->max_model_len)
        return scenario_locate(
            sc, "engine.max_num_batched_tokens",
            (sim_err_set(err, SIM_EINVAL,
                         "'engine.max_num_batched_tokens' (%d) is smaller than "
                         "'engine.max_model_len' (%d) with chunked prefill off: raise it or "
                         "enable chunked prefill",
                         p->max_num_batched_tokens, p->max_model_len),
             err));
    if (needs_startup(sc) && d->weights_gib_total <= 0)
        return scenario_locate(sc, "engine.startup",
                               (sim_err_set(err, SIM_EINVAL,
                                            "'engine.startup.weights_gib' is needed (the model "
                                            "is not in the catalog)"),
                                err));
    return SIM_OK;
}

/* Free one deployment (NULL is a no-op). */
static void deployment_free(struct deployment *d)
{
    if (!d)
        return;
    autoscaler_release(d);
    workload_close(d->wl);
    if (d->rng != d->s->rng)
        rng_set_free(d->rng);
    lat_model_free(d->lat);
    free(d->route_hashes);
    free(d->route_match);
    free(d->route_view);
    free(d->route_cand);
    run_stats_free(&d->st);
    for (int c = 0; c < CLASS_MAX; c++)
        run_stats_free(&d->cls_st[c]);
    free(d);
}

/* A deployment of scenario `sc` (its model, engine, router, fleet, slo and workload):
 * engine limits, memory plan and latency model resolved, its autoscaler and series set
 * up. Its pods are created by deployment_start(). */
static struct deployment *deployment_new(struct sim *s, const struct scenario *sc,
                                         struct sim_err *err)
{
    struct deployment *d = calloc(1, sizeof *d);
    if (!d) {
        sim_err_set(err, SIM_ENOMEM, "out of memory");
        return NULL;
    }
    d->s = s;
    d->sc = sc;
    d->id = s->n_deps;
    s->deps[s->n_deps++] = d;
    d->route_hashes = malloc(65536 * sizeof *d->route_hashes);
    if (!d->route_hashes) {
        sim_err_set(err, SIM_ENOMEM, "out of memory");
        return NULL;
    }
    d->gpus_per_pod = sc->engine.tensor_parallel_size;
    d->cpu_m = sc->fleet.pod.res.cpu_m;
    d->mem_bytes = sc->fleet.pod.res.memory;
    if (resolve_engine(d, err) != SIM_OK)
        return NULL;
    struct lat_context lctx = {
        .model = sc->model.name,
        .gpu = sc->engine.gpu,
        .dtype = sc->model.dtype,
        .kv_dtype = sc->model.kv_cache_dtype,
        .tensor_parallel_size = sc->engine.tensor_parallel_size,
        .catalog = s->opt.catalog,
        .gpu_entry = gpushare_engine_gpu(s, d),
        .exec = {.vllm_major = sc->engine.vllm_major,
                 .vllm_minor = sc->engine.vllm_minor,
                 .enforce_eager = sc->engine.enforce_eager,
                 .max_num_seqs = d->ep.max_num_seqs},
        .calibration = sc->engine.latency.calibration_path,
        .params = s->opt.lat_params,
        .block_size = d->ep.block_size,
    };
    d->lat = lat_model_from_spec(&sc->engine.latency, &lctx, err);
    if (!d->lat)
        locate_file_error(sc, "engine.latency.calibration", sc->engine.latency.calibration_path,
                          err);
    if (!d->lat) {
        locate_file_error(sc, "engine.latency.table", sc->engine.latency.table_path, err);
        scenario_locate(sc, "engine.latency", err);
        return NULL;
    }
    return d;
}

/* Scenario sc's workload (routed to `names` when given: a shared trace), an open error
 * located at workload.trace.path or the key it names. */
static struct workload *workload_open_located(const struct scenario *sc, int64_t duration_us,
                                              struct rng_set *rng, const char *const *names,
                                              size_t n_names, struct sim_err *err)
{
    struct workload *w =
        names ? workload_open_routed(&sc->workload, duration_us, rng, names, n_names, err)
              : workload_open(&sc->workload, duration_us, rng, err);
    if (!w) {
        locate_file_error(sc, "workload.trace.path", sc->workload.trace_path, err);
        sim_locate_key_error(sc, err);
    }
    return w;
}

/* The deployment's initial pods, its workload and statistics (after the cluster is up). */
static int deployment_start(struct deployment *d, struct sim_err *err)
{
    struct sim *s = d->s;
    const struct scenario *sc = d->sc;
    if (fleet_init(d, err) != SIM_OK)
        return err ? err->code : SIM_EINVAL;
    if (s->sc->shared_trace) {
        d->shared_src = true;
    } else if (s->opt.source) {
        d->src = *s->opt.source;
    } else {
        d->wl = workload_open_located(sc, s->sc->duration_us, d->rng, NULL, 0, err);
        if (!d->wl)
            return err ? err->code : SIM_EINVAL;
        d->src.ctx = d->wl;
        d->src.next = workload_source_next;
    }
    d->closed = sc->workload.clients.concurrency > 0;
    d->cl_idle = sc->workload.clients.concurrency;
    d->res.clients = sc->workload.clients.concurrency;
    run_stats_init(&d->st, sc->slo, sc->n_slo);
    d->res.n_classes = sc->workload.n_classes;
    for (int c = 0; c < sc->workload.n_classes; c++) {
        d->res.cls[c].spec = &sc->workload.classes[c];
        run_stats_init(&d->cls_st[c], sc->workload.classes[c].slo,
                       sc->workload.classes[c].n_slo);
    }
    for (int g = 0; g < sc->router.semantic_cache.n_groups; g++) {
        const char *name = sc->router.semantic_cache.group[g];
        d->semantic_group_key[g] = workload_group_key(name, strlen(name));
        d->res.semantic_group_name[g] = name;
    }
    d->res.n_semantic_groups = sc->router.semantic_cache.n_groups;
    d->res.replicas = d->initial_replicas;
    d->res.autoscaled = d->autoscaler != NULL;
    d->res.num_gpu_blocks = d->ep.num_blocks;
    d->res.max_num_seqs = d->ep.max_num_seqs;
    d->res.max_num_batched_tokens = d->ep.max_num_batched_tokens;
    d->res.max_model_len = d->ep.max_model_len;
    d->res.block_size = d->ep.block_size;
    d->res.weight_gib_per_gpu =
        d->have_plan ? d->plan.weight_bytes / (1024.0 * 1024.0 * 1024.0) : NAN;
    d->res.kv_cache_gib_per_gpu =
        d->have_plan ? d->plan.kv_cache_bytes / (1024.0 * 1024.0 * 1024.0) : NAN;
    d->res.first_arrival_us = -1;
    d->res.last_arrival_us = -1;
    snprintf(d->res.latency_provenance, sizeof d->res.latency_provenance, "%s",
             d->lat->provenance);
    s->n_src_open++;
    return SIM_OK;
}

/* Add `name` as a model deployment d serves to the gateway's routing table; two
 * deployments serving one name is an error. */
static int route_add(struct sim *s, struct deployment *d, const char *name, struct sim_err *err)
{
    if (!name[0])
        return SIM_OK;
    for (size_t i = 0; i < s->n_route; i++) {
        const char *have = s->route_names[i];
        if (!have || strcmp(have, name) != 0)
            continue;
        if (s->route_dep[i] == d)
            return SIM_OK;
        sim_err_set(err, SIM_EINVAL,
                    "deployments '%s' and '%s' both serve model '%s': the gateway could not "
                    "route the trace's requests for it (give one a distinct "
                    "'model.served_model_name')",
                    s->route_dep[i]->sc->deployment, d->sc->deployment, name);
        return scenario_locate(d->sc, "model", err);
    }
    s->route_names[s->n_route] = name;
    s->route_dep[s->n_route++] = d;
    return SIM_OK;
}

/* The routed trace of a scenario with deployments: a request goes to the deployment whose
 * served model name (model.served_model_name, else the catalog's Hugging Face id) or
 * model.name is the row's model. */
static int open_shared_trace(struct sim *s, struct sim_err *err)
{
    s->route_names = calloc((size_t)s->n_deps * 3, sizeof *s->route_names);
    s->route_dep = calloc((size_t)s->n_deps * 3, sizeof *s->route_dep);
    if (!s->route_names || !s->route_dep)
        return sim_err_set(err, SIM_ENOMEM, "out of memory");
    for (int32_t i = 0; i < s->n_deps; i++) {
        struct deployment *d = s->deps[i];
        int rc;
        if ((rc = route_add(s, d, d->sc->model.served_model_name, err)) ||
            (rc = route_add(s, d, d->model_label, err)) ||
            (rc = route_add(s, d, d->sc->model.name, err)))
            return rc;
    }
    const struct scenario *sc = s->sc;
    s->shared_wl =
        workload_open_located(sc, sc->duration_us, s->rng, s->route_names, s->n_route, err);
    if (!s->shared_wl)
        return err ? err->code : SIM_EINVAL;
    s->shared.ctx = s->shared_wl;
    s->shared.next = workload_source_next;
    return SIM_OK;
}

/* Read a trace workload to its end (rows are checked as the run reads them). */
static int read_through(struct workload *w, struct sim_err *err)
{
    struct wl_request rq;
    int rc = 1;
    while (rc == 1)
        rc = workload_next(w, &rq, err);
    workload_close(w);
    return rc;
}

int sim_check_traces(const struct sim *s, struct sim_err *err)
{
    struct rng_set *rng = rng_set_new(s->sc->seed);
    if (!rng)
        return sim_err_set(err, SIM_ENOMEM, "out of memory");
    int rc = SIM_OK;
    /* the shared trace, else each deployment's own (as deployment_start opens them) */
    for (int32_t i = 0; rc == SIM_OK && i < (s->sc->shared_trace ? 1 : s->n_deps); i++) {
        const struct scenario *sc = s->sc->shared_trace ? s->sc : s->deps[i]->sc;
        if (!s->sc->shared_trace && (sc->workload.kind != WL_TRACE || s->opt.source))
            continue;
        const char *const *names = s->sc->shared_trace ? s->route_names : NULL;
        struct workload *w =
            workload_open_located(sc, s->sc->duration_us, rng, names, s->n_route, err);
        if (!w)
            rc = err ? err->code : SIM_EINVAL;
        else if ((rc = read_through(w, err)) != SIM_OK)
            locate_file_error(sc, "workload.trace.path", sc->workload.trace_path, err);
    }
    rng_set_free(rng);
    return rc;
}

/* Deployment k's random streams: the run's for the first (a single deployment draws as
 * it always did), their own seed for the others. */
static struct rng_set *deployment_rng(struct sim *s, int32_t k)
{
    if (k == 0)
        return s->rng;
    uint64_t z = s->sc->seed + 0x9e3779b97f4a7c15u * (uint64_t)k;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return rng_set_new(z ^ (z >> 31));
}

struct sim *sim_new(const struct scenario *sc, const struct sim_options *opt,
                    struct sim_err *err)
{
    struct sim *s = calloc(1, sizeof *s);
    if (!s) {
        sim_err_set(err, SIM_ENOMEM, "out of memory");
        return NULL;
    }
    s->sc = sc;
    if (opt)
        s->opt = *opt;
    size_t nd = sc->n_deployments ? sc->n_deployments : 1;
    s->slab = slab_new();
    s->deps = calloc(nd, sizeof *s->deps);
    if (!s->slab || !s->deps) {
        sim_err_set(err, SIM_ENOMEM, "out of memory");
        goto fail;
    }
    if (sc->n_deployments && s->opt.source) {
        sim_err_set(err, SIM_EINVAL, "a request source given in code feeds one deployment");
        goto fail;
    }
    for (size_t i = 0; i < nd; i++)
        if (!deployment_new(s, sc->n_deployments ? &sc->deployments[i] : sc, err))
            goto fail;
    s->q = evq_new(1024, err);
    if (!s->q)
        goto fail;
    s->rng = rng_set_new(sc->seed);
    if (!s->rng) {
        sim_err_set(err, SIM_ENOMEM, "out of memory");
        goto fail;
    }
    for (int32_t i = 0; i < s->n_deps; i++) {
        struct deployment *d = s->deps[i];
        d->rng = deployment_rng(s, i);
        if (!d->rng) {
            sim_err_set(err, SIM_ENOMEM, "out of memory");
            goto fail;
        }
        d->initial_replicas = d->sc->fleet.replicas;
        if (autoscaler_init(d, &d->initial_replicas, err) != SIM_OK)
            goto fail;
    }
    if (scrape_init(s, err) != SIM_OK || cluster_init(s, err) != SIM_OK)
        goto fail;
    for (int32_t i = 0; i < s->n_deps; i++)
        if (deployment_start(s->deps[i], err) != SIM_OK)
            goto fail;
    if (sc->shared_trace && open_shared_trace(s, err) != SIM_OK)
        goto fail;
    if (s->n_deps > 1) {
        s->all = malloc(sizeof *s->all);
        if (!s->all) {
            sim_err_set(err, SIM_ENOMEM, "out of memory");
            goto fail;
        }
        run_stats_init(s->all, NULL, 0);
        s->all->counts_only = true; /* the values are the deployments' (overall_results) */
    }
    s->res = s->deps[0]->res;
    s->res.ignored = s->ignored;
    memcpy(s->res.zone_names, s->zone_names, sizeof s->res.zone_names);
    memcpy(s->res.cloud_region, s->cloud_region, sizeof s->res.cloud_region);
    return s;
fail:
    sim_free(s);
    return NULL;
}

void sim_free(struct sim *s)
{
    if (!s)
        return;
    for (int32_t i = 0; i < s->n_deps; i++)
        fleet_release(s->deps[i]);
    cluster_release(s);
    for (int32_t i = 0; i < s->n_deps; i++)
        deployment_free(s->deps[i]);
    free(s->deps);
    free(s->pending);
    workload_close(s->shared_wl);
    if (s->all)
        run_stats_free(s->all);
    free(s->all);
    free(s->route_names);
    free(s->route_dep);
    scrape_release(s);
    gpushare_free(s); /* after the latency models, which may point at a slice's GPU */
    rng_set_free(s->rng);
    evq_free(s->q);
    pool_release(&s->pool);
    slab_free(s->slab);
    free(s);
}

/* ---- results ---------------------------------------------------------------------------- */

/* A deployment's results once its requests are done: latency statistics, throughput and
 * SLO verdicts (its share of the bill comes from the cluster). */
static void deployment_finish(struct deployment *d)
{
    struct sim *s = d->s;
    struct sim_result *res = &d->res;
    res->end_us = s->now_us;
    res->events = evq_pushes(s->q);
    res->peak_replicas_ready = d->peak_ready;
    res->pods_created = (uint64_t)d->n_pods;
    res->replica_s = d->ready_pod_s;
    res->gpu_pod_s = d->node_pod_s;
    res->skipped_rows = d->wl ? workload_skipped_rows(d->wl) : 0;
    workload_trace_info(d->wl, &res->other_model_rows, &res->trace_time_unit_s, res->trace_note,
                        sizeof res->trace_note);
    run_stats_fill(&d->st, res);
    classes_finish(d);

    double makespan = res->n_requests ? (double)(res->end_us - res->first_arrival_us) * 1e-6
                                      : 0.0;
    uint64_t ok = res->n_outcome[OUTCOME_OK];
    res->throughput_req_per_s = makespan > 0 ? (double)ok / makespan : 0.0;
    res->output_tokens_per_s = makespan > 0 ? (double)res->output_tokens / makespan : 0.0;
    res->input_tokens_per_s = makespan > 0 ? (double)res->prompt_tokens / makespan : 0.0;
    res->goodput_req_per_s = makespan > 0 ? (double)d->st.n_good / makespan : 0.0;
    res->bench_duration_s = makespan;
    res->ok_output_tokens_per_s = makespan > 0 ? (double)d->st.ok_output_tokens / makespan : 0.0;
    res->ok_total_tokens_per_s =
        makespan > 0 ? (double)(d->st.ok_output_tokens + res->prompt_tokens) / makespan : 0.0;
    res->error_rate = res->n_requests ? (double)(res->n_requests - ok) / (double)res->n_requests
                                      : 0.0;

    res->slo_pass = true;
    res->n_slo = d->sc->n_slo;
    for (size_t i = 0; i < d->sc->n_slo; i++) {
        const struct slo_item *it = &d->sc->slo[i];
        struct slo_result *sr = &res->slo[i];
        sr->slo = it;
        sr->actual = it->metric == SLO_ERROR_RATE
                         ? res->error_rate
                         : run_stats_slo_quantile(&d->st, res, it->metric, it->quantile);
        sr->pass = !isnan(sr->actual) && sr->actual <= it->target;
        res->slo_pass = res->slo_pass && sr->pass;
    }
    for (int c = 0; c < res->n_classes; c++) /* and every class's own */
        res->slo_pass = res->slo_pass && res->cls[c].slo_pass;
}

/* What the semantic cache's hits would have cost to serve (docs/cost.md). */
static void semantic_savings(const struct scenario *sc, struct sim_result *r0)
{
    double served = (double)(r0->prompt_tokens + r0->output_tokens);
    double api = sc->cost.managed_api_usd_per_mtok;
    r0->semantic_saved_usd = r0->cost.billed && served > 0
                                 ? r0->cost.usd / served * (double)r0->semantic_saved_tokens
                                 : NAN;
    r0->semantic_saved_api_usd = api > 0 ? (double)r0->semantic_saved_tokens / 1e6 * api : NAN;
}

/* The run over several deployments: counts summed, latencies over every request, rates
 * over the whole run, goodput as each deployment judged its own requests, the SLOs met
 * when every deployment met its own. */
static void overall_results(struct sim *s)
{
    struct sim_result *r = &s->res;
    memset(r, 0, sizeof *r);
    r->first_arrival_us = r->last_arrival_us = -1;
    r->slo_pass = true;
    uint64_t good = 0;
    for (int32_t i = 0; i < s->n_deps; i++) {
        const struct deployment *d = s->deps[i];
        const struct sim_result *x = &d->res;
        r->n_requests += x->n_requests;
        for (int o = 0; o < OUTCOME_N; o++)
            r->n_outcome[o] += x->n_outcome[o];
#define SUM(f) r->f += x->f
        SUM(prompt_tokens);
        SUM(output_tokens);
        SUM(discarded_tokens);
        SUM(preemptions);
        SUM(retries);
        SUM(retries_aborted);
        SUM(retries_5xx);
        SUM(retries_timeout);
        SUM(prefix_queries_tokens);
        SUM(prefix_hits_tokens);
        SUM(prefix_resume_queries_tokens);
        SUM(prefix_resume_hits_tokens);
        SUM(semantic_hits);
        SUM(semantic_saved_tokens);
        SUM(skipped_rows);
        SUM(other_model_rows);
        SUM(ok_output_tokens);
        SUM(goodput_output_tokens);
        SUM(clients);
        SUM(replicas);
        SUM(autoscaler_evals);
        SUM(autoscaler_active_evals);
        SUM(autoscaler_empty_evals);
        SUM(peak_replicas_ready);
        SUM(pods_created);
        SUM(engine_failed_starts);
        SUM(engine_oom_kills);
        SUM(replica_s);
        SUM(gpu_pod_s);
#undef SUM
        good += d->st.n_good;
        r->autoscaled = r->autoscaled || x->autoscaled;
        r->slo_pass = r->slo_pass && x->slo_pass;
        if (x->first_arrival_us >= 0 &&
            (r->first_arrival_us < 0 || x->first_arrival_us < r->first_arrival_us))
            r->first_arrival_us = x->first_arrival_us;
        if (x->last_arrival_us > r->last_arrival_us)
            r->last_arrival_us = x->last_arrival_us;
    }
    if (s->shared_wl) {
        r->skipped_rows = workload_skipped_rows(s->shared_wl);
        workload_trace_info(s->shared_wl, &r->other_model_rows, &r->trace_time_unit_s,
                            r->trace_note, sizeof r->trace_note);
    } else {
        r->trace_time_unit_s = NAN;
    }
    r->end_us = s->now_us;
    uint64_t good_tokens = r->goodput_output_tokens, ok_tokens = r->ok_output_tokens;
    struct run_stats **parts = calloc((size_t)s->n_deps, sizeof *parts);
    for (int32_t i = 0; parts && i < s->n_deps; i++)
        parts[i] = &s->deps[i]->st;
    if (!parts || !run_stats_fill_merged(s->all, parts, (size_t)s->n_deps, r))
        sink_fail(s, SIM_ENOMEM, "statistics (out of memory)");
    free(parts);
    r->goodput_output_tokens = good_tokens;
    r->ok_output_tokens = ok_tokens;
    r->slo_breach_s = r->slo_breach_longest_s = NAN; /* per deployment */
    double makespan = r->n_requests ? (double)(r->end_us - r->first_arrival_us) * 1e-6 : 0.0;
    uint64_t ok = r->n_outcome[OUTCOME_OK];
    r->throughput_req_per_s = makespan > 0 ? (double)ok / makespan : 0.0;
    r->output_tokens_per_s = makespan > 0 ? (double)r->output_tokens / makespan : 0.0;
    r->input_tokens_per_s = makespan > 0 ? (double)r->prompt_tokens / makespan : 0.0;
    r->goodput_req_per_s = makespan > 0 ? (double)good / makespan : 0.0;
    r->bench_duration_s = makespan;
    r->ok_output_tokens_per_s = makespan > 0 ? (double)ok_tokens / makespan : 0.0;
    r->ok_total_tokens_per_s =
        makespan > 0 ? (double)(ok_tokens + r->prompt_tokens) / makespan : 0.0;
    r->error_rate = r->n_requests ? (double)(r->n_requests - ok) / (double)r->n_requests : 0.0;
    r->num_gpu_blocks = 0;
    r->weight_gib_per_gpu = r->kv_cache_gib_per_gpu = NAN;
    snprintf(r->latency_provenance, sizeof r->latency_provenance,
             "per deployment (see each one's)");
    r->deployments = s->n_deps;
    r->unknown_model_requests = s->unknown_model_requests;
}

/* The run's results: every deployment's, then (bill: nodes were run) the cluster's
 * bill. Returns the sink's first failure. */
static int finish_results(struct sim *s, bool bill)
{
    for (int32_t i = 0; i < s->n_deps; i++)
        deployment_finish(s->deps[i]);
    if (s->n_deps == 1)
        s->res = s->deps[0]->res;
    else
        overall_results(s);
    s->res.ignored = s->ignored;
    memcpy(s->res.zone_names, s->zone_names, sizeof s->res.zone_names);
    memcpy(s->res.cloud_region, s->cloud_region, sizeof s->res.cloud_region);
    if (bill) {
        cluster_finish(s);
        if (s->sink_rc != SIM_OK)
            return s->sink_rc;
    }
    s->res.events = evq_pushes(s->q);
    semantic_savings(s->sc, &s->res);
    if (s->n_deps > 1)
        for (int32_t i = 0; i < s->n_deps; i++)
            semantic_savings(s->sc, &s->deps[i]->res);
    return SIM_OK;
}

/* ---- the loop ------------------------------------------------------------------------------ */

/* Requests sent by every deployment so far (progress and messages). */
static uint64_t sim_arrived(const struct sim *s)
{
    uint64_t n = 0;
    for (int32_t i = 0; i < s->n_deps; i++)
        n += s->deps[i]->n_arrived;
    return n;
}

int sim_run(struct sim *s, struct sim_err *err)
{
    if (s->sc->shared_trace) {
        int rc = pull_shared(s, err);
        if (rc != SIM_OK)
            return rc;
    } else {
        for (int32_t i = 0; i < s->n_deps; i++) {
            int rc = pull_next(s->deps[i], err);
            if (rc != SIM_OK)
                return rc;
        }
    }
    if (s->n_src_open == 0)
        return finish_results(s, false);
    for (int32_t i = 0; i < s->n_deps; i++) {
        struct deployment *d = s->deps[i];
        if (d->src_done || d->sc->router.policy != ROUTER_ENDPOINT_PICKER)
            continue;
        if (d->sc->router.epp.refresh_interval_us <= 0)
            return sim_err_set(err, SIM_EINVAL, "'router.endpoint_picker.refresh_interval' "
                                                "must be > 0");
        evq_push(s->q, 0, PRIO_SCRAPE, epp_refresh, d, 0);
        /* The pods ready at the start were idle before it: the EPP's last scrape, just
         * before t = 0, read zeros (fresh for the saturation detector). */
        for (int32_t k = 0; k < d->n_ready; k++) {
            d->ready[k]->epp_seen = true;
            d->ready[k]->epp_seen_us = 0;
        }
    }
    evq_push(s->q, 0, PRIO_SCRAPE, scrape, NULL, 0);
    for (int32_t i = 0; i < s->n_deps; i++)
        autoscaler_start(s->deps[i]);
    struct evq_event ev;
    uint64_t n = 0;
    while (!s->stopping && evq_pop(s->q, &ev)) {
        if (ev.t_us < s->now_us || ev.t_us > SIM_CLOCK_MAX_US) {
            /* every delay is bounded at load, so only a sum of many can get here */
            sim_stop_error(s, SIM_ERANGE,
                           "the next event (at %.6g s) is past the simulated clock's range "
                           "(" SIM_CLOCK_MAX_TEXT ") at simulated time %.3f s after %llu "
                           "requests%s%s",
                           (double)ev.t_us * 1e-6, (double)s->now_us * 1e-6,
                           (unsigned long long)sim_arrived(s),
                           s->clock_note[0] ? ": " : "", s->clock_note);
            break;
        }
        s->now_us = ev.t_us;
        ev.fn(s, ev.obj, ev.arg);
        if (s->n_src_open == 0 && s->in_flight == 0)
            break;
        if ((++n & 4095) == 0) {
            if (s->opt.stop && *s->opt.stop) {
                return sim_err_set(err, SIM_EINTR,
                                   "interrupted at simulated time %.3f s after %llu requests",
                                   (double)s->now_us * 1e-6,
                                   (unsigned long long)sim_arrived(s));
            }
            if (s->opt.progress && (n & 65535) == 0) {
                uint64_t arrived = sim_arrived(s);
                struct sim_progress p = {s->now_us, arrived, arrived - s->in_flight, n};
                s->opt.progress(s->opt.progress_ctx, &p);
            }
        }
    }
    if (s->sink_rc != SIM_OK) {
        if (err)
            *err = s->sink_err;
        return s->sink_rc;
    }
    SIM_ASSERT(s->in_flight == 0);
    for (int32_t i = 0; i < s->n_deps; i++)
        fleet_finish(s->deps[i]);
    if (s->sink_rc == SIM_OK)
        finish_results(s, true);
    if (s->sink_rc != SIM_OK) {
        if (err)
            *err = s->sink_err;
        return s->sink_rc;
    }
    return SIM_OK;
}

const struct sim_result *sim_result(const struct sim *s)
{
    return &s->res;
}

int32_t sim_n_deployments(const struct sim *s)
{
    return s->n_deps;
}

const struct scenario *sim_deployment_scenario(const struct sim *s, int32_t i)
{
    return s->deps[i]->sc;
}

const struct sim_result *sim_deployment_result(const struct sim *s, int32_t i)
{
    return &s->deps[i]->res;
}

const char *sim_deployment_model(const struct sim *s, int32_t i)
{
    return s->deps[i]->model_label;
}

int sim_result_foreach(const struct sim_result *r,
                       int (*fn)(void *ctx, const char *key, double value), void *ctx)
{
#define EMIT(k, v)                                                                         \
    do {                                                                                   \
        int rc_ = fn(ctx, (k), (double)(v));                                               \
        if (rc_)                                                                           \
            return rc_;                                                                    \
    } while (0)
    static const char *const qn[SIM_NQ] = {"p50", "p90", "p95", "p99"};
    char key[64];
    EMIT("requests_total", r->n_requests);
    for (int o = 0; o < OUTCOME_N; o++) {
        snprintf(key, sizeof key, "requests_%s", req_outcome_name((enum req_outcome)o));
        EMIT(key, r->n_outcome[o]);
    }
    EMIT("requests_failed", r->n_outcome[OUTCOME_ABORTED] + r->n_outcome[OUTCOME_5XX] +
                                r->n_outcome[OUTCOME_CLIENT_TIMEOUT]);
    EMIT("error_rate_frac", r->error_rate);
    EMIT("retries_total", r->retries);
    EMIT("retries_aborted", r->retries_aborted);
    EMIT("retries_5xx", r->retries_5xx);
    EMIT("retries_timeout", r->retries_timeout);
    const struct {
        const char *name;
        const struct latency_stats *st;
    } lat[] = {{"ttft", &r->ttft}, {"tpot", &r->tpot}, {"e2e", &r->e2e}, {"queue", &r->queue},
               {"itl", &r->itl}};
    for (size_t i = 0; i < sizeof lat / sizeof lat[0]; i++) {
        snprintf(key, sizeof key, "%s_mean_s", lat[i].name);
        EMIT(key, lat[i].st->mean_s);
        for (int q = 0; q < SIM_NQ; q++) {
            snprintf(key, sizeof key, "%s_%s_s", lat[i].name, qn[q]);
            EMIT(key, lat[i].st->q_s[q]);
        }
        snprintf(key, sizeof key, "%s_max_s", lat[i].name);
        EMIT(key, lat[i].st->max_s);
    }
    EMIT("throughput_req_per_s", r->throughput_req_per_s);
    EMIT("goodput_req_per_s", r->goodput_req_per_s);
    EMIT("goodput_output_tokens_total", r->goodput_output_tokens);
    EMIT("output_tokens_per_s", r->output_tokens_per_s);
    EMIT("input_tokens_per_s", r->input_tokens_per_s);
    /* as vllm bench serve prints them (OK requests over the benchmark's duration) */
    EMIT("benchmark_duration_s", r->bench_duration_s);
    EMIT("ok_output_tokens_per_s", r->ok_output_tokens_per_s);
    EMIT("ok_total_tokens_per_s", r->ok_total_tokens_per_s);
    EMIT("clients", r->clients);
    EMIT("output_tokens_total", r->output_tokens);
    EMIT("prompt_tokens_total", r->prompt_tokens);
    EMIT("preemptions_total", r->preemptions);
    EMIT("prefix_cache_queries_tokens", r->prefix_queries_tokens);
    EMIT("prefix_cache_hits_tokens", r->prefix_hits_tokens);
    EMIT("prefix_cache_hit_frac",
         r->prefix_queries_tokens ? (double)r->prefix_hits_tokens / (double)r->prefix_queries_tokens
                                  : NAN);
    EMIT("prefix_cache_resume_queries_tokens", r->prefix_resume_queries_tokens);
    EMIT("prefix_cache_resume_hits_tokens", r->prefix_resume_hits_tokens);
    EMIT("semantic_cache_hits_total", r->semantic_hits);
    EMIT("semantic_cache_saved_tokens", r->semantic_saved_tokens);
    EMIT("semantic_cache_saved_usd", r->semantic_saved_usd);
    EMIT("semantic_cache_saved_managed_api_usd", r->semantic_saved_api_usd);
    for (int g = 0; g < r->n_semantic_groups; g++) {
        char gk[160];
        snprintf(gk, sizeof gk, "semantic_cache_group.%s.requests", r->semantic_group_name[g]);
        EMIT(gk, r->semantic_group_requests[g]);
        snprintf(gk, sizeof gk, "semantic_cache_group.%s.hits", r->semantic_group_name[g]);
        EMIT(gk, r->semantic_group_hits[g]);
    }
    EMIT("skipped_rows", r->skipped_rows);
    EMIT("trace_other_model_rows", r->other_model_rows);
    EMIT("trace_time_unit_s", r->trace_time_unit_s);
    EMIT("first_arrival_s", r->first_arrival_us >= 0 ? (double)r->first_arrival_us * 1e-6 : NAN);
    EMIT("last_arrival_s", r->last_arrival_us >= 0 ? (double)r->last_arrival_us * 1e-6 : NAN);
    EMIT("sim_end_s", (double)r->end_us * 1e-6);
    EMIT("replicas_initial", r->replicas);
    EMIT("replicas_peak_ready", r->peak_replicas_ready);
    if (r->autoscaled) {
        EMIT("autoscaler_evaluations", r->autoscaler_evals);
        EMIT("autoscaler_active_evaluations", r->autoscaler_active_evals);
        EMIT("autoscaler_empty_query_evaluations", r->autoscaler_empty_evals);
    }
    EMIT("pods_created", r->pods_created);
    if (r->engine_failed_starts)
        EMIT("engine_failed_starts", r->engine_failed_starts);
    if (r->engine_oom_kills)
        EMIT("engine_oom_kills", r->engine_oom_kills);
    if (r->mig_relayout_nodes || r->mig_relayout_evictions) {
        EMIT("mig_relayout_nodes", r->mig_relayout_nodes);
        EMIT("mig_relayout_evictions", r->mig_relayout_evictions);
    }
    EMIT("replica_minutes", r->replica_s / 60.0);
    EMIT("gpu_pod_minutes", r->gpu_pod_s / 60.0);
    EMIT("num_gpu_blocks", r->num_gpu_blocks);
    EMIT("block_size_tokens", r->block_size);
    EMIT("max_num_seqs", r->max_num_seqs);
    EMIT("max_num_batched_tokens", r->max_num_batched_tokens);
    EMIT("max_model_len_tokens", r->max_model_len);
    EMIT("weight_gib_per_gpu", r->weight_gib_per_gpu);
    EMIT("kv_cache_gib_per_gpu", r->kv_cache_gib_per_gpu);
    EMIT("discarded_tokens_total", r->discarded_tokens);
    EMIT("events_total", r->events);
    EMIT("slo_pass", r->slo_pass ? 1 : 0);
    for (int c = 0; c < r->n_classes; c++) {
        const struct class_result *cr = &r->cls[c];
        const char *cn = cr->spec->name;
        char ck[192];
#define CEMIT(suffix, v)                                                                   \
    do {                                                                                   \
        snprintf(ck, sizeof ck, "class.%s.%s", cn, (suffix));                              \
        EMIT(ck, (v));                                                                     \
    } while (0)
        CEMIT("requests_total", cr->n_requests);
        for (int o = 0; o < OUTCOME_N; o++) {
            snprintf(key, sizeof key, "requests_%s", req_outcome_name((enum req_outcome)o));
            CEMIT(key, cr->n_outcome[o]);
        }
        CEMIT("error_rate_frac", cr->error_rate);
        CEMIT("preemptions_total", cr->preemptions);
        CEMIT("semantic_cache_hits_total", cr->semantic_hits);
        const struct {
            const char *name;
            const struct latency_stats *st;
        } cl[] = {{"ttft", &cr->ttft}, {"tpot", &cr->tpot}, {"e2e", &cr->e2e}};
        for (size_t i = 0; i < sizeof cl / sizeof cl[0]; i++) {
            snprintf(key, sizeof key, "%s_mean_s", cl[i].name);
            CEMIT(key, cl[i].st->mean_s);
            for (int q = 0; q < SIM_NQ; q++) {
                snprintf(key, sizeof key, "%s_%s_s", cl[i].name, qn[q]);
                CEMIT(key, cl[i].st->q_s[q]);
            }
        }
        CEMIT("slo_pass", cr->slo_pass ? 1 : 0);
#undef CEMIT
    }
    EMIT("ttft_slo_breach_s", r->slo_breach_s);
    EMIT("ttft_slo_breach_longest_s", r->slo_breach_longest_s);
    /* cost (docs/cost.md); NaN amounts for the implicit node pool */
    const struct sim_cost *c = &r->cost;
    double nan_ = NAN;
    EMIT("cost_usd", c->billed ? c->usd : nan_);
    EMIT("cost_spot_usd", c->billed ? c->spot_usd : nan_);
    EMIT("cost_on_demand_usd", c->billed ? c->on_demand_usd : nan_);
    EMIT("cost_serving_usd", c->billed ? c->serving_usd : nan_);
    EMIT("cost_loading_usd", c->billed ? c->loading_usd : nan_);
    EMIT("cost_idle_usd", c->billed ? c->idle_usd : nan_);
    EMIT("cost_node_boot_usd", c->billed ? c->node_boot_usd : nan_);
    EMIT("billed_gpu_hours", c->billed ? c->gpu_hours : nan_);
    EMIT("cost_usd_per_hour_mean", c->billed ? c->usd_per_hour_mean : nan_);
    EMIT("cost_usd_per_month", c->billed ? c->usd_per_month : nan_);
    EMIT("cost_usd_per_mtok_output", c->billed ? c->usd_per_mtok_output : nan_);
    EMIT("cost_usd_per_mtok_total", c->billed ? c->usd_per_mtok_total : nan_);
    EMIT("cost_usd_per_mtok_goodput", c->billed ? c->usd_per_mtok_goodput : nan_);
    EMIT("managed_api_cost_usd", c->billed ? c->managed_api_usd : nan_);
    EMIT("break_even_ratio", c->billed ? c->break_even_ratio : nan_);
    EMIT("break_even_tokens_per_s", c->billed ? c->break_even_tokens_per_s : nan_);
    EMIT("nodes_total", c->n_nodes);
    EMIT("spot_interruptions_total", c->n_spot_interruptions);
    EMIT("insufficient_capacity_errors_total", c->n_ice_errors);
    if (r->deployments > 1) {
        EMIT("deployments", r->deployments);
        EMIT("requests_unknown_model", r->unknown_model_requests);
    }
#undef EMIT
    return 0;
}
