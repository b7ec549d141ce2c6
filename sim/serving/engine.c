/*
 * engine.c: the per-replica serving engines: vLLM V1 continuous batching (chunked prefill
 * under a token budget, paged KV cache with automatic prefix caching (kvcache.h),
 * preemption by recompute) and a static-batching engine for comparison. Runs of pure
 * decode iterations are advanced in one event.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/cloud/gpushare.h"
#include "sim/sim_int.h"

/* ---- request lists -------------------------------------------------------------- */

static void list_push_back(struct req_list *l, struct req *r)
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

static void list_push_front(struct req_list *l, struct req *r)
{
    r->prev = NULL;
    r->next = l->head;
    if (l->head)
        l->head->prev = r;
    else
        l->tail = r;
    l->head = r;
    l->n++;
}

/* vLLM's Request ordering in PriorityRequestQueue (vllm/v1/request.py __lt__): smaller
 * priority first, then earlier arrival at the engine, then request id. */
static bool prio_before(const struct req *a, const struct req *b)
{
    if (a->priority != b->priority)
        return a->priority < b->priority;
    if (a->dispatch_us != b->dispatch_us)
        return a->dispatch_us < b->dispatch_us;
    return a->id < b->id;
}

/* Insert r in priority order (scanning from the tail: arrivals mostly go last). */
static void list_insert_prio(struct req_list *l, struct req *r)
{
    struct req *x = l->tail;
    while (x && prio_before(r, x))
        x = x->prev;
    r->prev = x;
    r->next = x ? x->next : l->head;
    if (r->next)
        r->next->prev = r;
    else
        l->tail = r;
    if (x)
        x->next = r;
    else
        l->head = r;
    l->n++;
}

static struct req *list_pop_front(struct req_list *l)
{
    struct req *r = l->head;
    if (!r)
        return NULL;
    l->head = r->next;
    if (l->head)
        l->head->prev = NULL;
    else
        l->tail = NULL;
    r->next = r->prev = NULL;
    l->n--;
    return r;
}

/* ---- setup ---------------------------------------------------------------------- */

int engine_init(struct engine *e, const struct engine_params *p, struct sim_err *err)
{
    memset(e, 0, sizeof *e);
    int32_t cap = p->kind == ENGINE_STATIC ? p->static_batch_size : p->max_num_seqs;
    e->running = calloc((size_t)cap, sizeof *e->running);
    e->end_at = calloc((size_t)cap, sizeof *e->end_at);
    e->lz_left = calloc((size_t)cap, sizeof *e->lz_left);
    e->run_bound = calloc(RUN_CHUNK, sizeof *e->run_bound);
    /* B + 1 counts, and as many again for the check of the next run's view (Debug) */
    e->run_m_ge = calloc(2 * ((size_t)p->block_size + 1), sizeof *e->run_m_ge);
    e->n_end = -1;
    e->bs_shift = -1;
    for (int32_t k = 0; k < 31; k++)
        if (p->block_size == (INT32_C(1) << k))
            e->bs_shift = k;
    if (!e->running || !e->end_at || !e->lz_left || !e->run_bound || !e->run_m_ge) {
        engine_release(e);
        return sim_err_set(err, SIM_ENOMEM, "out of memory for the engine");
    }
    int rc = kv_pool_init(&e->kv, p->num_blocks, p->block_size,
                          p->kind == ENGINE_VLLM && p->enable_prefix_caching, p->slab, err);
    if (rc != SIM_OK) {
        engine_release(e);
        return rc;
    }
    return SIM_OK;
}

void engine_release(struct engine *e)
{
    kv_pool_release(&e->kv);
    free(e->running);
    free(e->end_at);
    free(e->lz_left);
    free(e->run_bound);
    free(e->run_m_ge);
    e->running = NULL;
    e->end_at = NULL;
    e->lz_left = NULL;
    e->lz = false;
    e->run_m_ge = NULL;
    e->nx_valid = false;
    e->run_bound = NULL;
}

/* ---- shared helpers -------------------------------------------------------------- */

/* A step's time on the clock. One too long for the clock (a latency model's numbers,
 * bounded at load, times a batch larger than they were meant for) is cut to one past the
 * clock's range: the run loop refuses that event with a runtime error (unless the drain
 * deadline ends the run first), so single steps and fast-forwarded runs agree. The step
 * is noted so that the error can say which batch it was. */
static int64_t step_clock_us(struct deployment *d, double us, const struct lat_batch *b)
{
    struct sim *s = d->s;
    if (us >= 0.0 && us <= (double)SIM_CLOCK_MAX_US) {
        /* llround(us), exactly: us - trunc(us) is exact below 2^52 */
        int64_t whole = (int64_t)us;
        return whole + (us - (double)whole >= 0.5);
    }
    if (!s->clock_note[0])
        snprintf(s->clock_note, sizeof s->clock_note,
                 "an engine step of %.6g s (%" PRId64 " prefill tokens, %d decoding sequences, "
                 "%" PRId64 " tokens of context): the latency model's numbers are too large "
                 "for this batch",
                 us * 1e-6, b->prefill_tokens, (int)b->n_decode,
                 b->prefill_kv_tokens + b->decode_kv_tokens);
    return SIM_CLOCK_MAX_US + 1;
}

static inline int64_t step_duration_us(struct deployment *d, const struct lat_batch *b)
{
    return step_clock_us(d, lat_step_us(d->lat, b), b);
}

/* Tokens a request still has to compute before it samples its next token. */
static inline int32_t tokens_to_compute(const struct req *r)
{
    return r->prompt_tokens + r->num_output - r->num_computed;
}

static inline bool is_decoding(const struct req *r)
{
    return r->num_output >= 1 && tokens_to_compute(r) == 1;
}

/* A pass over the running batch is bound by memory latency (one line per request, each
 * elsewhere): fetch the line of the request a few places on while this one is worked
 * on. A hint: nothing is read or written. */
#define PREFETCH_AHEAD 4
static inline void prefetch_running(const struct engine *e, int32_t i)
{
    if (i + PREFETCH_AHEAD < e->n_running)
        __builtin_prefetch(e->running[i + PREFETCH_AHEAD], 1, 3);
}

/* c / B and c % B for c >= 0: a shift and a mask when B is a power of two (vLLM's block
 * sizes are), the same values. */
static inline int32_t blk_div(const struct engine *e, int32_t c, int32_t bs)
{
    return e->bs_shift >= 0 ? (int32_t)((uint32_t)c >> e->bs_shift) : c / bs;
}

static inline int32_t blk_mod(const struct engine *e, int32_t c, int32_t bs)
{
    return e->bs_shift >= 0 ? (int32_t)((uint32_t)c & (uint32_t)(bs - 1)) : c % bs;
}

/* ceil(t / B) for t >= 0, likewise. */
static inline int64_t blk_ceil(const struct engine *e, int64_t t, int32_t bs)
{
    return e->bs_shift >= 0 ? (int64_t)((uint64_t)(t + bs - 1) >> e->bs_shift)
                            : ceil_div64(t, bs);
}

static void batch_add(struct lat_batch *b, const struct req *r, int32_t n_new)
{
    if (r->num_output >= 1 && r->num_computed + 1 == r->prompt_tokens + r->num_output &&
        n_new == 1) {
        b->n_decode++;
        b->decode_kv_tokens += r->num_computed + 1;
    } else {
        int64_t start = r->num_computed, len = n_new;
        b->n_prefill++;
        b->prefill_tokens += len;
        b->prefill_kv_tokens += start + len;
        b->prefill_qk_pairs += len * start + len * (len + 1) / 2;
    }
}

/* Take back what batch_add(b, r, n_new) added (r unchanged since). */
static void batch_sub(struct lat_batch *b, const struct req *r, int32_t n_new)
{
    if (r->num_output >= 1 && r->num_computed + 1 == r->prompt_tokens + r->num_output &&
        n_new == 1) {
        b->n_decode--;
        b->decode_kv_tokens -= r->num_computed + 1;
    } else {
        int64_t start = r->num_computed, len = n_new;
        b->n_prefill--;
        b->prefill_tokens -= len;
        b->prefill_kv_tokens -= start + len;
        b->prefill_qk_pairs -= len * start + len * (len + 1) / 2;
    }
}

static void vllm_schedule(struct deployment *d, struct replica *rp);
static void static_schedule(struct deployment *d, struct replica *rp);

static void frontend_pull(struct deployment *d, struct engine *e);
static inline int64_t frontend_out_us(const struct engine *e, const struct req *r, int64_t t);
static void frontend_arm(struct deployment *d, struct replica *rp);
static void frontend_cut_run(struct deployment *d, struct replica *rp);
static void run_interrupt(struct deployment *d, struct replica *rp, struct req *h,
                          int64_t t_in);

/* The engine shares a time-sliced GPU with others (sim/cloud/gpushare.h). */
static inline bool time_sliced(const struct sim *s, const struct replica *rp)
{
    return s->gs && rp->gs_gpu >= 0;
}

/* A scheduler pass: the requests the front end has handed over by now join waiting. */
static void schedule(struct deployment *d, struct replica *rp)
{
    struct sim *s = d->s;
    /* A time-sliced GPU runs one engine's step at a time (sim/cloud/gpushare.h): wait
     * for it, marked busy so that arrivals do not kick the engine meanwhile. */
    if (time_sliced(s, rp) && !gpushare_acquire(s, rp)) {
        rp->eng.busy = true;
        rp->eng.nx_valid = false;
        return;
    }
    frontend_pull(d, &rp->eng);
    if (d->ep.kind == ENGINE_STATIC)
        static_schedule(d, rp);
    else
        vllm_schedule(d, rp);
    rp->eng.nx_valid = false; /* the next run's view is for this pass only */
    frontend_arm(d, rp);
    if (time_sliced(s, rp) && !rp->eng.busy)
        gpushare_release(s, rp); /* nothing to run: the next engine may go */
}

/* Inter-token gaps go into the ITL distribution in runs of equal values, one add per
 * run: the sequences of a batch mostly stream their tokens after the same gap. The
 * distribution is the same as one add per gap (integer sums, exact). */
struct gap_batch {
    int64_t gap;
    uint64_t n;
};

static inline void next_token_b(struct deployment *d, struct gap_batch *g, struct req *r,
                                int64_t t_us)
{
    int64_t gap = t_us - r->last_token_us;
    if (gap != g->gap || g->n == 0) {
        if (g->n)
            sim_gaps(d, g->gap, g->n);
        g->gap = gap;
        g->n = 0;
    }
    g->n++;
    r->itl_sum_us += gap;
    r->itl_n++;
    r->last_token_us = t_us;
}

static inline void gap_batch_flush(struct deployment *d, struct gap_batch *g)
{
    if (g->n)
        sim_gaps(d, g->gap, g->n);
    g->n = 0;
}

static void take_off(struct deployment *d, struct replica *rp, struct req *r,
                     enum req_outcome outcome);

/* Request r, which sampled its last token, leaves running: its KV blocks are freed and
 * it is reported. */
static void finish_one(struct deployment *d, struct replica *rp, struct req *r)
{
    struct engine *e = &rp->eng;
    kv_free(&e->kv, &r->kv, r->num_computed, false);
    e->success_total++;
    metrics_observe(rp, M_E2E, (double)(d->s->now_us - r->arrival_us) * 1e-6, 1);
    sim_request_done(d, rp, r, OUTCOME_OK);
}

/* The requests at running[end_at[0..known)] (increasing) sampled their last token and
 * none gave up: they leave running and the rest keep their order. They are handled in
 * the order a pass over the batch handles them, with running as that pass leaves it at
 * each (the ones kept so far moved down), without visiting the others. */
static void finish_known(struct deployment *d, struct replica *rp, int32_t known)
{
    struct engine *e = &rp->eng;
    int32_t w = e->end_at[0];
    for (int32_t k = 0; k < known; k++) {
        int32_t at = e->end_at[k];
        finish_one(d, rp, e->running[at]);
        /* (the last one ending may have ended the pod: then nothing is left to move) */
        int32_t to = k + 1 < known ? e->end_at[k + 1] : e->n_running;
        if (to > at + 1) {
            memmove(&e->running[w], &e->running[at + 1],
                    (size_t)(to - at - 1) * sizeof *e->running);
            w += to - at - 1;
        }
    }
    e->n_running = w;
}

/* Remove requests that sampled their last token, and those whose client gave up during
 * the step (vLLM's abort, handled before the next schedule), from running (keeping the
 * order of the rest), free their KV blocks and report them. When no client gave up
 * meanwhile and the step or run that sampled the tokens knows which end (e->n_end >= 0:
 * none, or end_at after a lazy run), only those are visited. */
static void finish_sampled(struct deployment *d, struct replica *rp)
{
    struct engine *e = &rp->eng;
    int32_t known = e->n_end;
    e->n_end = -1;
    if (known >= 0 && !e->cancel_seen) {
        if (known > 0)
            finish_known(d, rp, known);
#ifndef NDEBUG
        for (int32_t i = 0; i < e->n_running; i++)
            SIM_ASSERT(!e->running[i]->gave_up &&
                       e->running[i]->num_output < e->running[i]->output_tokens);
#endif
        return;
    }
    SIM_ASSERT(e->lazy_j == 0);
    int32_t w = 0;
    for (int32_t i = 0; i < e->n_running; i++) {
        prefetch_running(e, i);
        struct req *r = e->running[i];
        if (r->gave_up) {
            kv_free(&e->kv, &r->kv, r->num_computed, false);
            take_off(d, rp, r, OUTCOME_N);
        } else if (r->num_output >= r->output_tokens) {
            finish_one(d, rp, r);
        } else {
            e->running[w++] = r;
        }
    }
    e->n_running = w;
    if (e->cancel_seen) {
        /* a preempted request whose client gave up comes back through waiting */
        bool left = false;
        for (const struct req *r = e->waiting.head; r && !left; r = r->next)
            left = r->gave_up;
        e->cancel_seen = left;
    }
}

/* ---- vLLM V1: one scheduler step ------------------------------------------------ */

/* vLLM's _preempt_request: the victim's blocks are freed (tail first; their hashes stay,
 * so its resume will find what was not evicted meanwhile) and it goes back to the front
 * of waiting with no computed tokens. */
static void preempt(struct engine *e, struct req *victim, bool prio)
{
    kv_free(&e->kv, &victim->kv, victim->num_computed, true);
    victim->num_computed = 0;
    victim->preemptions++;
    victim->resumed = true;
    victim->state = RS_WAITING;
    e->n_preemptions++;
    if (prio)
        list_insert_prio(&e->waiting, victim); /* prepend_request = add_request there */
    else
        list_push_front(&e->waiting, victim);
}

/* The running request the scheduler preempts when KV blocks run out: the newest one
 * (FCFS: self.running.pop()), or with the priority policy the first of those with the
 * largest (priority, arrival_time) (max(self.running, key=...)). */
int32_t engine_victim(const struct engine *e, bool prio)
{
    if (!prio)
        return e->n_running - 1;
    int32_t v = 0;
    for (int32_t k = 1; k < e->n_running; k++) {
        const struct req *a = e->running[k], *b = e->running[v];
        if (a->priority > b->priority ||
            (a->priority == b->priority && a->dispatch_us > b->dispatch_us))
            v = k;
    }
    return v;
}

static void vllm_step_end(struct sim *s, void *obj, uint64_t arg);
static void vllm_run_end(struct sim *s, void *obj, uint64_t arg);
static void lazy_flush(struct deployment *d, struct replica *rp);
static void lazy_start(struct engine *e);
static bool lazy_step(struct deployment *d, struct replica *rp);
static bool try_decode_run(struct deployment *d, struct replica *rp);
static bool try_multi_step(struct deployment *d, struct replica *rp);
static bool vllm_v0_prefill(struct deployment *d, struct replica *rp);
struct admit_plan;
static void admit(struct deployment *d, struct replica *rp, struct req *r, const struct admit_plan *a,
                  struct lat_batch *b);
static void start_step(struct deployment *d, struct replica *rp, const struct lat_batch *b,
                       int32_t first, int32_t n);

/* How a waiting request would be admitted now (vLLM's Scheduler.schedule for a request
 * with no computed tokens): the longest cached prefix, at most num_tokens - 1 tokens;
 * the tokens computed in this step within `budget`; the blocks it then holds and how many
 * it needs from the free queue. */
struct admit_plan {
    struct kv_hit hit;
    int32_t cached_tokens;
    int32_t n_new;
    int32_t blocks;
    int64_t need;
};

/* 1: planned; 0: it cannot be admitted in this step whatever the KV cache holds (without
 * chunked prefill, its remaining prompt is over the budget); < 0: out of memory. */
static int plan_admission(const struct deployment *d, struct engine *e, struct req *r,
                          int64_t budget, struct admit_plan *a)
{
    const int32_t bs = d->ep.block_size;
    int32_t n_tok = r->prompt_tokens + r->num_output;
    int rc = kv_lookup(&e->kv, &r->kv, e->kv.caching ? (n_tok - 1) / bs : 0, &a->hit);
    if (rc != SIM_OK)
        return rc;
    a->cached_tokens = a->hit.blocks * bs;
    int32_t n_new = n_tok - a->cached_tokens;
    if (!d->ep.chunked_prefill && n_new > budget)
        return 0;
    if (n_new > budget)
        n_new = (int32_t)budget;
    a->n_new = n_new;
    a->blocks = (int32_t)ceil_div64(a->cached_tokens + n_new, bs);
    a->need = kv_need(&a->hit, a->blocks);
    return 1;
}

/* Admit waiting requests in order while the token budget, a sequence slot and the KV
 * cache allow (the head that does not fit stops the rest, as FCFS does); their tokens
 * join batch `b` and leave `*budget`. Returns how many were admitted. */
static int32_t admit_waiting(struct deployment *d, struct replica *rp, struct lat_batch *b,
                             int64_t *budget)
{
    struct sim *s = d->s;
    struct engine *e = &rp->eng;
    int32_t n = 0;
    while (e->waiting.n > 0 && *budget > 0 && e->n_running < d->ep.max_num_seqs) {
        struct req *r = e->waiting.head;
        struct admit_plan a;
        int rc = plan_admission(d, e, r, *budget, &a);
        if (rc < 0)
            sim_fail(s, rc, "a request's KV block list (out of memory)");
        if (rc <= 0 || a.need > e->kv.n_free)
            break;
        admit(d, rp, r, &a, b);
        *budget -= a.n_new;
        n++;
    }
    return n;
}

/* Blocks of the waiting head could be cached by running requests while they decode: only
 * a session's next turn can repeat another running request's output. */
static bool hit_may_grow(const struct engine *e, const struct req *h)
{
    if (!e->kv.caching || !h->kv.pfx.open || h->kv.hids)
        return false;
    uint64_t key = h->kv.pfx.key[h->kv.pfx.n - 1];
    for (int32_t i = 0; i < e->n_running; i++) {
        const struct kv_seq *q = &e->running[i]->kv;
        if (q->pfx.open && !q->hids && q->pfx.key[q->pfx.n - 1] == key)
            return true;
    }
    return false;
}

/*
 * vLLM V1 Scheduler.schedule() with FCFS policy: running requests first, in order, each
 * taking min(tokens to compute, budget left); when the KV cache cannot hold a request's
 * new tokens the newest running request is preempted (freed, reset to zero computed
 * tokens, put at the front of waiting) until it fits or the request preempted itself.
 * Waiting requests are admitted in order only when nothing was preempted in this step,
 * while there is budget, a free sequence slot and KV room; each starts from its longest
 * cached prefix (plan_admission). Blocks are hashed as they are allocated, so a request
 * admitted later in the same step already finds them, as in vLLM.
 */
static void vllm_schedule(struct deployment *d, struct replica *rp)
{
    struct sim *s = d->s;
    struct engine *e = &rp->eng;
    const struct engine_params *p = &d->ep;
    if (e->n_running == 0 && e->waiting.n == 0) {
        lazy_flush(d, rp); /* (nobody left to owe) */
        e->busy = false;
        return;
    }
    bool v0_prefill_first = p->v0 && !p->chunked_prefill;
    /* a time-sliced engine steps one iteration at a time: its neighbours' steps come
     * between its own */
    if (!v0_prefill_first && p->num_scheduler_steps <= 1 && !s->opt.no_fast_forward &&
        !time_sliced(s, rp) && try_decode_run(d, rp))
        return;
    if (lazy_step(d, rp))
        return;
    lazy_flush(d, rp); /* the batch is visited from here on */
    if (v0_prefill_first && vllm_v0_prefill(d, rp))
        return;
    if (try_multi_step(d, rp))
        return;

    struct lat_batch b = {0};
    int64_t budget = p->max_num_batched_tokens;
    bool preempted = false;
    int32_t i = 0;
    int64_t owed = 0; /* blocks taken in one walk of the free queue (kv_grow_owed) */
    while (i < e->n_running && budget > 0) {
        prefetch_running(e, i);
        struct req *r = e->running[i];
        int32_t n_new = tokens_to_compute(r);
        if (n_new > budget)
            n_new = (int32_t)budget;
        int64_t blocks = blk_ceil(e, r->num_computed + n_new, p->block_size);
        int64_t extra = blocks - kv_held(&r->kv);
        bool scheduled = true;
        while (extra > e->kv.n_free) {
            int32_t v = engine_victim(e, p->priority);
            struct req *victim = e->running[v];
            if (v < i) {
                /* already scheduled in this step (priority policy): its tokens go back to
                 * the budget, as vLLM pops num_scheduled_tokens */
                budget += victim->sched_new;
                batch_sub(&b, victim, victim->sched_new);
                victim->sched_new = 0;
                i--;
            }
            memmove(&e->running[v], &e->running[v + 1],
                    (size_t)(e->n_running - v - 1) * sizeof *e->running);
            e->n_running--;
            kv_settle(&e->kv, &owed);
            preempt(e, victim, p->priority);
            preempted = true;
            if (victim == r) {
                scheduled = false;
                break;
            }
        }
        if (!scheduled)
            break;
        kv_grow_owed(&e->kv, &r->kv, (int32_t)blocks, r->num_computed + n_new, &owed);
        r->sched_new = n_new;
        budget -= n_new;
        batch_add(&b, r, n_new);
        i++;
    }
    kv_settle(&e->kv, &owed);
    int32_t n_sched = i;
    if (!preempted && !v0_prefill_first) {
        n_sched += admit_waiting(d, rp, &b, &budget);
    }
    /* max_model_len <= KV capacity and (without chunked prefill) <= the token budget are
     * checked at setup, so some request can always be scheduled (unless memory ran out). */
    if (n_sched == 0 && s->stopping) {
        e->busy = false;
        return;
    }
    if (n_sched == 0 && preempted && p->priority) {
        /* The priority policy preempted the request it was scheduling (the lowest
         * priority was its own), which ends vLLM's running loop with nothing scheduled:
         * an empty step, and the next one schedules the rest (one fewer running each
         * time, so this ends). */
        vllm_schedule(d, rp);
        return;
    }
    SIM_ASSERT(n_sched > 0);
    start_step(d, rp, &b, 0, n_sched);
}

/* Admit the waiting head r into running as planned (KV room already checked): it takes
 * its cached prefix and computes a->n_new tokens in this step. */
static void admit(struct deployment *d, struct replica *rp, struct req *r, const struct admit_plan *a,
                  struct lat_batch *b)
{
    struct sim *s = d->s;
    struct engine *e = &rp->eng;
    list_pop_front(&e->waiting);
    r->state = RS_RUNNING;
    if (r->first_sched_us < 0) {
        r->first_sched_us = s->now_us;
        metrics_observe(rp, M_QUEUE_TIME, (double)(s->now_us - r->arrival_us) * 1e-6, 1);
    }
    e->running[e->n_running++] = r;
    r->hashes_outputs = r->kv.pfx.open && !r->kv.hids;
    kv_admit(&e->kv, &r->kv, &a->hit, a->blocks, a->cached_tokens + a->n_new);
    r->num_computed = a->cached_tokens;
    if (e->kv.caching) {
        /* vLLM's PrefixCacheStats.record at admission: the exported counters are for
         * requests not preempted; resumes are counted apart. */
        int32_t n_tok = r->prompt_tokens + r->num_output;
        if (r->resumed) {
            d->res.prefix_resume_queries_tokens += (uint64_t)n_tok;
            d->res.prefix_resume_hits_tokens += (uint64_t)a->cached_tokens;
        } else {
            e->prefix_queries_total += (uint64_t)n_tok;
            e->prefix_hits_total += (uint64_t)a->cached_tokens;
            d->res.prefix_queries_tokens += (uint64_t)n_tok;
            d->res.prefix_hits_tokens += (uint64_t)a->cached_tokens;
        }
    }
    r->sched_new = a->n_new;
    batch_add(b, r, a->n_new);
}

/* Start a step of `b` over running[first..first+n). */
static void start_step(struct deployment *d, struct replica *rp, const struct lat_batch *b,
                       int32_t first, int32_t n)
{
    struct sim *s = d->s;
    struct engine *e = &rp->eng;
    e->n_sched = n;
    e->sched_first = first;
    e->busy = true;
    e->in_run = false;
    e->step_start_us = s->now_us;
    int64_t dur = step_duration_us(d, b);
    e->step_prefill_tokens = b->prefill_tokens;
    e->step_decode_seqs = b->n_decode;
    e->n_steps++;
    e->n_iterations++;
    e->step_ev = evq_push(s->q, s->now_us + dur, PRIO_STEP, vllm_step_end, rp, 0);
}

/*
 * vLLM V0 (< 0.8) without chunked prefill (vllm/core/scheduler.py _schedule_default):
 * when prompts are waiting and none was preempted, a step of prefills only: waiting
 * requests in order while the whole prompt fits the token budget, a sequence slot and
 * the KV cache; decodes wait for the next step. Returns true when it started one.
 */
static bool vllm_v0_prefill(struct deployment *d, struct replica *rp)
{
    struct engine *e = &rp->eng;
    const struct engine_params *p = &d->ep;
    struct lat_batch b = {0};
    int64_t budget = p->max_num_batched_tokens;
    int32_t first = e->n_running;
    /* chunked prefill is off: a prompt over the budget waits */
    int32_t n = admit_waiting(d, rp, &b, &budget);
    if (n == 0)
        return false;
    start_step(d, rp, &b, first, n);
    return true;
}

/* The step (or block) in flight ended now: its GPU time. */
static int64_t step_ended(struct deployment *d, struct engine *e)
{
    struct sim *s = d->s;
    e->step_ev = 0;
    int64_t dur = s->now_us - e->step_start_us;
    e->busy_us += dur;
    return dur;
}

/* Tokens sampled by the step that ended reach the clients; then the next step. */
static void after_step(struct deployment *d, struct replica *rp, uint64_t sampled)
{
    rp->eng.generation_tokens_total += sampled;
    sim_tokens_generated(d, sampled);
    finish_sampled(d, rp);
    if (time_sliced(d->s, rp))
        gpushare_release(d->s, rp); /* engines waiting for the GPU go first (round robin) */
    schedule(d, rp);
}

/* Request r's tokens of the step that ended now are computed; when that completes its
 * sequence it samples its next token (the client's first, or one more after a gap).
 * Returns whether it sampled. */
static inline bool step_sample(struct deployment *d, struct replica *rp, struct gap_batch *g,
                               struct req *r)
{
    struct sim *s = d->s;
    r->num_computed += r->sched_new;
    r->sched_new = 0;
    if (r->num_computed != r->prompt_tokens + r->num_output)
        return false;
    r->num_output++;
    if (r->num_output == 1) {
        /* the engine's token; the client sees it when the API server streams it */
        sim_first_token(r, s->now_us);
        r->first_token_us = frontend_out_us(&rp->eng, r, s->now_us);
        metrics_observe(rp, M_TTFT, (double)(r->first_token_us - r->arrival_us) * 1e-6, 1);
    } else {
        next_token_b(d, g, r, s->now_us);
    }
    return true;
}

/* The step's end, once its requests sampled: n_end of them ended (end_at); the ITL
 * histogram; then the next step. */
static void step_close(struct deployment *d, struct replica *rp, int64_t dur, uint64_t sampled,
                       int32_t n_end)
{
    struct engine *e = &rp->eng;
    /* requests outside the step are unchanged since the last finish_sampled(): none of
     * them ends (a client giving up sets cancel_seen) */
    e->n_end = n_end;
    /* Each decoding sequence waited one iteration for its token. */
    if (e->step_decode_seqs > 0)
        metrics_observe(rp, M_ITL, (double)dur * 1e-6, (uint64_t)e->step_decode_seqs);
    e->n_sched = 0;
    e->sched_first = 0;
    after_step(d, rp, sampled);
}

static void lazy_step_end(struct deployment *d, struct replica *rp, int64_t dur);

static void vllm_step_end(struct sim *s, void *obj, uint64_t arg)
{
    (void)s;
    (void)arg;
    struct replica *rp = obj;
    struct deployment *d = rp->dep;
    struct engine *e = &rp->eng;
    int64_t dur = step_ended(d, e);
    e->prompt_tokens_total += (uint64_t)e->step_prefill_tokens;
    if (e->lz_step) {
        lazy_step_end(d, rp, dur);
        return;
    }
    uint64_t sampled = 0;
    struct gap_batch g = {0, 0};
    int32_t n_end = 0;
    for (int32_t i = e->sched_first; i < e->sched_first + e->n_sched; i++) {
        prefetch_running(e, i);
        struct req *r = e->running[i];
        if (step_sample(d, rp, &g, r)) {
            sampled++;
            if (r->num_output >= r->output_tokens)
                e->end_at[n_end++] = i;
        }
    }
    gap_batch_flush(d, &g);
    step_close(d, rp, dur, sampled, n_end);
}

/* ---- vLLM 0.6 multi-step scheduling ---------------------------------------------- */

static void vllm_block_end(struct sim *s, void *obj, uint64_t arg);

/* Tokens request r still samples in a block of k steps. */
static inline int32_t block_tokens(const struct req *r, int32_t k)
{
    int32_t left = r->output_tokens - r->num_output;
    return left < k ? left : k;
}

/* KV blocks the running requests need beyond what they hold for a block of k steps. */
static int64_t block_new_blocks(const struct engine *e, int32_t block_size, int32_t k)
{
    int64_t total = 0;
    for (int32_t i = 0; i < e->n_running; i++) {
        const struct req *r = e->running[i];
        int64_t want = ceil_div64((int64_t)r->num_computed + block_tokens(r, k), block_size);
        if (want > kv_held(&r->kv))
            total += want - kv_held(&r->kv);
    }
    return total;
}

/*
 * vLLM 0.6 multi-step scheduling (--num-scheduler-steps k; vllm/engine/llm_engine.py and
 * worker/multi_step_model_runner.py): a batch of decoding sequences is scheduled once and
 * runs k forward passes back to back (each step pays the host terms: the saving of one
 * schedule() per block is not modelled), and the outputs reach the clients together at
 * the block's end (streams arrive in chunks of k tokens).
 * Every sequence stays in the batch for the whole block (one that finishes early is
 * computed and its extra tokens dropped), and the block reserves KV slots for its tokens
 * up front. Arrivals wait for the running block. Starts the block when every running
 * request is decoding and returns true.
 */
static bool try_multi_step(struct deployment *d, struct replica *rp)
{
    struct sim *s = d->s;
    struct engine *e = &rp->eng;
    const struct engine_params *p = &d->ep;
    int32_t n = e->n_running;
    if (p->num_scheduler_steps <= 1 || n == 0 || n > p->max_num_batched_tokens)
        return false;
    int64_t ctx0 = 0;
    for (int32_t i = 0; i < n; i++) {
        if (!is_decoding(e->running[i]))
            return false;
        ctx0 += e->running[i]->num_computed;
    }
    if (p->v0 && !p->chunked_prefill && e->waiting.n > 0) {
        /* a prefill step goes first when the head fits (prefills are scheduled first) */
        const struct req *h = e->waiting.head;
        int32_t n_new = tokens_to_compute(h);
        int64_t need = ceil_div64(h->num_computed + n_new, p->block_size) - kv_held(&h->kv);
        if (n < p->max_num_seqs && n_new <= p->max_num_batched_tokens && need <= e->kv.n_free)
            return false;
    }
    int32_t k = p->num_scheduler_steps;
    while (k > 1 && block_new_blocks(e, p->block_size, k) > e->kv.n_free)
        k--;
    if (block_new_blocks(e, p->block_size, k) > e->kv.n_free)
        return false; /* not even one step fits: the normal step preempts */
    for (int32_t i = 0; i < n; i++) {
        struct req *r = e->running[i];
        int32_t upto = r->num_computed + block_tokens(r, k);
        int64_t want = ceil_div64(upto, p->block_size);
        if (want > kv_held(&r->kv))
            kv_grow(&e->kv, &r->kv, (int32_t)want, upto);
    }
    int64_t t = s->now_us;
    for (int32_t i = 1; i <= k; i++) {
        struct lat_batch b = {0};
        b.n_decode = n;
        b.decode_kv_tokens = ctx0 + (int64_t)n * i;
        t += step_duration_us(d, &b);
    }
    e->block_k = k;
    e->busy = true;
    e->in_run = false;
    e->step_start_us = s->now_us;
    e->n_steps++;
    e->n_iterations += (uint64_t)k;
    e->step_ev = evq_push(s->q, t, PRIO_STEP, vllm_block_end, rp, 0);
    return true;
}

static void vllm_block_end(struct sim *s, void *obj, uint64_t arg)
{
    (void)arg;
    struct replica *rp = obj;
    struct deployment *d = rp->dep;
    struct engine *e = &rp->eng;
    int64_t dur = step_ended(d, e);
    int32_t k = e->block_k;
    e->block_k = 0;
    uint64_t sampled = 0;
    struct gap_batch g = {0, 0};
    for (int32_t i = 0; i < e->n_running; i++) {
        struct req *r = e->running[i];
        int32_t j = block_tokens(r, k);
        r->num_computed += j;
        r->num_output += j;
        sampled += (uint64_t)j;
        /* the block's tokens stream as one chunk: one gap for the benchmark's ITL */
        if (j > 0)
            next_token_b(d, &g, r, s->now_us);
    }
    gap_batch_flush(d, &g);
    /* each token waited dur / k on average (the client sees one chunk per block) */
    metrics_observe(rp, M_ITL, (double)dur * 1e-6 / k, sampled);
    e->n_end = -1;
    after_step(d, rp, sampled);
}

/* ---- vLLM: runs of pure decode iterations in one event ---------------------------- */

/* KV blocks the running requests allocate over iterations 1..i of a decode run: request
 * s with c tokens computed needs ceil((c + j) / B) blocks at iteration j. */
static int64_t run_new_blocks(const struct engine *e, int32_t block_size, int64_t i)
{
    /* With c = q B + m (0 <= m < B) and i + B - 1 = a B + b (0 <= b < B):
     * ceil((c + i) / B) = q + a + [m >= B - b]. So the sum over the batch is the run's
     * base (sum of q - held, run_prepare_finish) + n a + the number of requests with
     * m >= B - b (run_m_ge): O(1) per call, however large the batch. */
    int64_t x = i + block_size - 1;
    int64_t a = x / block_size, b = x % block_size;
    return e->run_blk_base + (int64_t)e->n_running * a + e->run_m_ge[block_size - b];
}

/* The run's view of the batch for run_new_blocks (nothing it reads changes while the run
 * is in flight: blocks are applied at its end): from the counts of requests by
 * num_computed % block_size in run_m_ge and the sum of num_computed / block_size - held
 * blocks (`base`), both taken by try_decode_run's pass over the batch. */
static void run_prepare_finish(struct engine *e, int32_t block_size, int64_t base)
{
    int32_t *ge = e->run_m_ge;
    for (int32_t m = block_size - 1; m >= 0; m--) /* counts -> counts of m' >= m */
        ge[m] += ge[m + 1];
    e->run_blk_base = base;
}

/* Boundaries of the run in flight strictly before t (binary search). */
static int32_t run_boundaries_before(const struct engine *e, int64_t t)
{
    int32_t lo = 0, hi = e->run_k;
    while (lo < hi) {
        int32_t mid = (lo + hi) / 2;
        if (e->run_bound[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Boundaries of the run in flight at or before t. */
static int32_t run_boundaries_upto(const struct engine *e, int64_t t)
{
    return t == INT64_MAX ? e->run_k : run_boundaries_before(e, t + 1);
}

#ifndef NDEBUG
/* Debug builds: the view vllm_run_end() kept is what a pass over the batch finds now. */
static void check_view(const struct engine *e, int32_t bs)
{
    int32_t *ge = e->run_m_ge + bs + 1;
    memset(ge, 0, ((size_t)bs + 1) * sizeof *ge);
    int64_t k_done = INT64_MAX, ctx0 = 0, base = 0;
    bool all_decode = true;
    SIM_ASSERT(e->nx_n == e->n_running);
    SIM_ASSERT(!e->lz || e->lz_n == e->n_running);
    for (int32_t i = 0; i < e->n_running; i++) {
        const struct req *r = e->running[i];
        all_decode = all_decode && is_decoding(r);
        /* with what it is owed in lazy mode (lz_apply_one) */
        int32_t owed = 0;
        for (int32_t x = 0; e->lz && x < e->lz_n; x++)
            if (e->lz_left[x].r == r)
                owed = e->lazy_j - e->lz_left[x].joined;
        int32_t c = r->num_computed + owed;
        int64_t held = kv_held(&r->kv);
        if (owed > 0 && ceil_div64(c, bs) > held)
            held = ceil_div64(c, bs);
        int64_t left = r->output_tokens - r->num_output - owed;
        k_done = left < k_done ? left : k_done;
        ctx0 += c;
        base += c / bs - held;
        ge[c % bs]++;
    }
    for (int32_t m = bs - 1; m >= 0; m--)
        ge[m] += ge[m + 1];
    SIM_ASSERT(all_decode);
    SIM_ASSERT(k_done == e->nx_k_done && ctx0 == e->nx_ctx0 && base == e->nx_base);
    SIM_ASSERT(memcmp(ge, e->run_m_ge, ((size_t)bs + 1) * sizeof *ge) == 0);
}
#endif

/* Whether request r can be in lazy mode: it decodes, and its blocks grow without hashing
 * (so only how many the batch takes matters) and by at least what it holds already. */
static inline bool lz_fits(const struct engine *e, const struct req *r, int32_t bs)
{
    return is_decoding(r) &&
           (!e->kv.caching ||
            (!r->hashes_outputs && r->kv.n_share >= 0 && r->kv.n_sh >= r->kv.n_share)) &&
           kv_held(&r->kv) <= blk_ceil(e, r->num_computed + 1, bs);
}

/*
 * When the next iterations are all pure decode with the same batch (no request finishes,
 * none is preempted, none can be admitted), schedule them as one run ending at the k-th
 * iteration boundary. The boundaries are the sums of the per-iteration durations exactly
 * as single steps would produce them, so results are identical to stepping.
 */
static bool try_decode_run(struct deployment *d, struct replica *rp)
{
    struct sim *s = d->s;
    struct engine *e = &rp->eng;
    const struct engine_params *p = &d->ep;
    int32_t n = e->n_running;
    bool view = e->nx_valid && e->nx_n == n;
    e->nx_valid = false;
    if (n == 0 || n > p->max_num_batched_tokens)
        return false;
    const int32_t bs = p->block_size;
    /* The waiting head first: one that is admitted even if every running request takes
     * a new block in iteration 1 (at most n: each holds the blocks of its computed
     * tokens) ends the run before it starts, whatever the batch holds. */
    struct req *h = e->waiting.head;
    struct admit_plan a;
    int head = 0; /* plan_admission() of the head: 1 when it could be admitted */
    if (h && n < p->max_num_seqs && p->max_num_batched_tokens - n > 0) {
        head = plan_admission(d, e, h, p->max_num_batched_tokens - n, &a);
        if (head < 0 || (head > 0 && a.need <= e->kv.n_free - n))
            return false;
    }
    /* Whether the batch all decodes, the run's length bound and context, and
     * run_prepare_finish's inputs (unused unless the run starts): the view the run that
     * just ended left (vllm_run_end), or one pass over the batch. */
    int32_t *ge = e->run_m_ge;
    int64_t k_done = INT64_MAX, ctx0 = 0, base = 0;
    bool lazy = false; /* a pass found the batch fit for lazy mode (lz_left filled) */
    if (view) {
#ifndef NDEBUG
        check_view(e, bs);
#endif
        k_done = e->nx_k_done;
        ctx0 = e->nx_ctx0;
        base = e->nx_base;
    } else {
        if (e->lz)
            lazy_flush(d, rp); /* (not reached: lazy mode keeps the view) */
        memset(ge, 0, (size_t)(bs + 1) * sizeof *ge);
        /* whether the run can be lazy (lz_fits), and lz_left on the way */
        lazy = true;
        for (int32_t i = 0; i < n; i++) {
            prefetch_running(e, i);
            struct req *r = e->running[i];
            if (!is_decoding(r))
                return false;
            int64_t left = r->output_tokens - r->num_output;
            if (left < k_done)
                k_done = left;
            ctx0 += r->num_computed;
            base += blk_div(e, r->num_computed, bs) - kv_held(&r->kv);
            ge[blk_mod(e, r->num_computed, bs)]++;
            lazy = lazy && lz_fits(e, r, bs);
            e->lz_left[i] = (struct lz_ent){left, r, 0};
        }
#ifndef NDEBUG
        SIM_ASSERT(base <= 0); /* what the head's early answer relies on */
#endif
    }
    if (k_done < 2)
        return false;
    if (view)
        e->run_blk_base = base; /* run_m_ge holds the counts of m' >= m already */
    else
        run_prepare_finish(e, bs, base);
    const int64_t free_now = e->kv.n_free;
    if (run_new_blocks(e, p->block_size, 1) > free_now)
        return false; /* iteration 1 preempts: a normal step handles it */
    /* Blocks the run may take from the free queue: all free ones, or fewer when taking
     * more would evict a cached block the waiting head would hit. */
    int64_t room = free_now;
    if (head > 0) {
        /* The head stays blocked for the whole run only if it is blocked now: slots and
         * budget do not change, free KV blocks only shrink, and its cache hit stays what
         * it is while the blocks taken do not reach its evictable hit blocks (nor can
         * running requests cache blocks it would hit: hit_may_grow). */
        int64_t first = run_new_blocks(e, p->block_size, 1);
        if (a.need <= free_now - first || hit_may_grow(e, h))
            return false;
        int64_t before = kv_blocks_before_hit(
            &e->kv, &a.hit,
            run_new_blocks(e, p->block_size, k_done < RUN_CHUNK ? k_done : RUN_CHUNK));
        if (before < first)
            return false;
        if (before < room)
            room = before;
    }
    /* Largest k <= k_done whose allocations all fit in `room` (binary search: monotone in
     * k). */
    int64_t lo = 1, hi = k_done;
    if (run_new_blocks(e, p->block_size, hi) > room) {
        while (hi - lo > 1) {
            int64_t mid = lo + (hi - lo) / 2;
            if (run_new_blocks(e, p->block_size, mid) <= room)
                lo = mid;
            else
                hi = mid;
        }
        hi = lo;
    }
    int64_t k = hi < RUN_CHUNK ? hi : RUN_CHUNK;
    if (k < 2)
        return false;
    if (lazy)
        lazy_start(e);
    e->in_run = true;
    e->run_k = (int32_t)k;
    e->run_k_done = k_done;
    e->run_start_us = s->now_us;
    e->run_ctx0 = ctx0;
    /* Iteration boundaries, kept for cutting the run short and for gauges. Runs are
     * chunked (RUN_CHUNK iterations at most): a longer run continues in the next chunk,
     * so an interruption wastes at most one chunk of boundary arithmetic. */
    int64_t t = s->now_us;
    double us[RUN_CHUNK];
    lat_decode_steps_us(d->lat, n, ctx0, e->run_k, us);
    for (int32_t i = 1; i <= e->run_k; i++) {
        /* iteration i: every running request decodes one token */
        struct lat_batch b = {0};
        b.n_decode = n;
        b.decode_kv_tokens = ctx0 + (int64_t)n * i;
        t += step_clock_us(d, us[i - 1], &b);
        e->run_bound[i - 1] = t;
    }
    e->busy = true;
    e->step_start_us = s->now_us;
    e->step_ev = evq_push(s->q, t, PRIO_STEP, vllm_run_end, rp, 0);
    frontend_cut_run(d, rp);
    return true;
}

/* What j iterations of the run in flight over a batch of n count for the engine and the
 * deployment: the ITL gaps after each request's first token of the run (the iterations'
 * durations, the same for every request), the iterations, tokens and ITL histogram. */
static void run_totals(struct deployment *d, struct replica *rp, int32_t j, int32_t n)
{
    struct engine *e = &rp->eng;
    for (int32_t i = 1; i < j; i++)
        sim_gaps(d, e->run_bound[i] - e->run_bound[i - 1], (uint64_t)n);
    e->n_iterations += (uint64_t)j;
    e->n_steps++;
    if (rp->hist[M_ITL])
        for (int32_t i = 0; i < j; i++)
            metrics_observe(rp, M_ITL,
                            (double)(e->run_bound[i] - (i ? e->run_bound[i - 1]
                                                          : e->run_start_us)) * 1e-6,
                            (uint64_t)n);
    e->generation_tokens_total += (uint64_t)j * (uint64_t)n;
    sim_tokens_generated(d, (uint64_t)j * (uint64_t)n);
}

/* Apply j iterations of the run in flight to every running request. */
static void run_apply(struct deployment *d, struct replica *rp, int32_t j)
{
    struct engine *e = &rp->eng;
    const int32_t bs = d->ep.block_size;
    /* The blocks each iteration allocated, hashed as they filled. Nobody looks blocks up
     * during the run (try_decode_run), so taking them request by request gives what single
     * steps give, unless the run hashes output blocks (sessions): then who hashes a block
     * first, and whether an equal cached block was evicted before, depend on the order of
     * iterations, which is replayed. */
    bool hashes_outputs = false;
    for (int32_t i = 0; i < e->n_running && e->kv.caching && !hashes_outputs; i++)
        hashes_outputs = e->running[i]->hashes_outputs;
    if (hashes_outputs) {
        for (int32_t it = 0; it < j; it++) {
            for (int32_t i = 0; i < e->n_running; i++) {
                struct req *r = e->running[i];
                int32_t c = r->num_computed + it;
                if (c % bs == 0 || (c + 1) % bs == 0)
                    kv_grow(&e->kv, &r->kv, (int32_t)ceil_div64(c + 1, bs), c + 1);
            }
        }
    }
    /* ITL: each request's first token of the run comes after its own latest token; the
     * later j - 1 gaps are the iterations' durations, the same for every request. */
    const int64_t first_us = j > 0 ? e->run_bound[0] : 0;
    const int64_t last_us = j > 0 ? e->run_bound[j - 1] : 0;
    struct gap_batch g = {0, 0};
    int64_t owed = 0; /* blocks taken in one walk of the free queue (kv_grow_owed) */
    for (int32_t i = 0; i < e->n_running; i++) {
        prefetch_running(e, i);
        struct req *r = e->running[i];
        kv_grow_owed(&e->kv, &r->kv, (int32_t)blk_ceil(e, r->num_computed + j, bs),
                     r->num_computed + j, &owed);
        r->num_computed += j;
        r->num_output += j;
        if (j > 0) {
            next_token_b(d, &g, r, first_us);
            r->itl_sum_us += last_us - first_us;
            r->itl_n += j - 1;
            r->last_token_us = last_us;
        }
    }
    kv_settle(&e->kv, &owed);
    gap_batch_flush(d, &g);
    SIM_ASSERT(e->kv.n_free >= 0);
    run_totals(d, rp, j, e->n_running);
}

/*
 * The next run's view. A decode run of j iterations that ended before any request's last
 * token (j < run_k_done) leaves a batch the next scheduler pass can know without visiting
 * it: every request still decodes (num_computed and num_output both grew by j), has j
 * fewer tokens left, and j more computed; the counts by num_computed % B turn by j; the
 * sum of num_computed / B grows by n (j / B) plus the requests whose remainder wrapped;
 * the blocks held grew by those the run took from the free queue (`taken`). No request
 * ends (n_end = 0). try_decode_run() then starts from this instead of a pass over the
 * batch (checked against that pass in Debug builds). Integer sums and counts: the same
 * values.
 */
static void run_keep_view(struct engine *e, int32_t bs, int64_t taken, int32_t n_batch)
{
    int64_t n = n_batch, j = e->run_k;
    int32_t *ge = e->run_m_ge, *cnt = e->run_m_ge + bs + 1;
    int32_t a = (int32_t)(j / bs), b = (int32_t)(j % bs);
    e->nx_base = e->run_blk_base + n * a + ge[bs - b] - taken;
    for (int32_t m = 0; m < bs; m++) { /* counts by remainder, turned by j */
        int32_t to = m + b < bs ? m + b : m + b - bs;
        cnt[to] = ge[m] - ge[m + 1];
    }
    for (int32_t m = bs - 1; m >= 0; m--)
        ge[m] = ge[m + 1] + cnt[m];
    e->nx_valid = true;
    e->nx_n = n_batch;
    e->nx_k_done = e->run_k_done - j;
    e->nx_ctx0 = e->run_ctx0 + n * j;
    e->n_end = 0;
}

/* ---- lazy decode runs ------------------------------------------------------------- */

/*
 * A run's end that changes the batch only by requests sampling their last token need not
 * visit the others: while every running request decodes and its blocks grow without
 * hashing (so only how many blocks the batch takes matters, not who takes them first:
 * kv_grow_owed), the run's iterations go to the engine's totals as run_apply() counts
 * them (tokens, ITL gaps of every iteration, the blocks taken from the free queue, the
 * histograms, the next run's view), and each running request is owed them (lazy_j).
 * The requests that end are found by their tokens left (lz_left); they, and the batch
 * before anything else reads it (lazy_flush), get what they are owed: the same fields,
 * the same blocks, the same ITL gaps as run_apply() would have given them run by run.
 * Integer sums and counts throughout, so the results are the same.
 */

/* Apply the owed iterations to request r: its tokens; its blocks (the run ends took them
 * from the free queue); its ITL: the first owed token after its own latest, then one per
 * owed iteration (their gaps were counted by the run ends, the same for every request). */
static void lz_apply_one(struct deployment *d, struct engine *e, struct gap_batch *g,
                         const struct lz_ent *x, int64_t *grown)
{
    struct req *r = x->r;
    const int32_t j = e->lazy_j - x->joined;
    int32_t c = r->num_computed + j;
    /* (a lazy step in flight holds the block of its token already) */
    int32_t more = (int32_t)blk_ceil(e, c + e->lz_step, d->ep.block_size) - kv_held(&r->kv);
    if (more > 0) {
        r->kv.n_own += more;
        *grown += more;
    }
    if (j == 0)
        return;
    r->num_computed = c;
    r->num_output += j;
    if (x->joined == 0) {
        /* in the batch before lazy mode: its first owed gap is its own */
        next_token_b(d, g, r, e->lazy_first_us);
        r->itl_sum_us += e->lazy_last_us - e->lazy_first_us;
        r->itl_n += j - 1;
    } else {
        /* joined at the owed iteration that sampled its first token or after it: every
         * gap since is one the iterations counted */
        r->itl_sum_us += e->lazy_last_us - r->last_token_us;
        r->itl_n += j;
    }
    r->last_token_us = e->lazy_last_us;
}

/* Give every running request what it is owed, and leave lazy mode. A lazy step in
 * flight becomes a plain one (its requests' sched_new). */
static void lazy_flush(struct deployment *d, struct replica *rp)
{
    struct engine *e = &rp->eng;
    if (e->lz && (e->lazy_j > 0 || e->lz_step)) {
        struct gap_batch g = {0, 0};
        int64_t grown = 0;
        for (int32_t x = 0; x < e->lz_n; x++) {
            if (x + PREFETCH_AHEAD < e->lz_n)
                __builtin_prefetch(e->lz_left[x + PREFETCH_AHEAD].r, 1, 3);
            lz_apply_one(d, e, &g, &e->lz_left[x], &grown);
            if (e->lz_step)
                e->lz_left[x].r->sched_new = 1;
        }
        gap_batch_flush(d, &g);
        SIM_ASSERT(grown == e->lz_taken);
    }
    e->lz = false;
    e->lz_step = false;
    e->lazy_j = 0;
    e->lz_taken = 0;
}

/* Enter lazy mode for the run that starts: lz_left[0..n_running) holds the requests with
 * their tokens left (try_decode_run's pass). */
static void lazy_start(struct engine *e)
{
    SIM_ASSERT(e->lazy_j == 0);
    e->lz_n = e->n_running;
    e->lz = true;
    e->lz_taken = 0;
}

/* The requests of lz_left that sampled their last token at the owed iteration that ended
 * now (key == lazy_j; found in lz_left, a short array, not in the requests): owed what
 * they are, out of lz_left and out of the view, their indices in running (all among the
 * first n) into end_at in increasing order, for finish_sampled(). The view's count and
 * its fewest tokens left follow. Returns how many. */
static int32_t lazy_finishers(struct deployment *d, struct engine *e, int32_t n)
{
    const int32_t bs = d->ep.block_size;
    int32_t nf = 0;
    struct gap_batch g = {0, 0};
    int64_t grown = 0, k_min = INT64_MAX;
    int32_t *ge = e->run_m_ge;
    struct lz_ent *lz = e->lz_left;
    for (int32_t x = 0; x < e->lz_n;) {
        if (lz[x].key > e->lazy_j) {
            if (lz[x].key < k_min)
                k_min = lz[x].key;
            x++;
            continue;
        }
        SIM_ASSERT(lz[x].key == e->lazy_j);
        struct lz_ent ent = lz[x];
        struct req *r = ent.r;
        lz[x] = lz[--e->lz_n];
        int32_t at = 0;
        while (e->running[at] != r)
            at++;
        SIM_ASSERT(at < n);
        int32_t k = nf++;
        for (; k > 0 && e->end_at[k - 1] > at; k--)
            e->end_at[k] = e->end_at[k - 1];
        e->end_at[k] = at;
        lz_apply_one(d, e, &g, &ent, &grown);
        SIM_ASSERT(r->num_output == r->output_tokens);
        int32_t c = r->num_computed;
        for (int32_t m = blk_mod(e, c, bs); m >= 0; m--)
            ge[m]--;
        e->nx_base -= blk_div(e, c, bs) - kv_held(&r->kv);
        e->nx_ctx0 -= c;
    }
    gap_batch_flush(d, &g);
    e->lz_taken -= grown;
    e->nx_n = n - nf;
    e->nx_k_done = k_min < INT64_MAX ? k_min - e->lazy_j : INT64_MAX;
    return nf;
}

/* vllm_run_end() in lazy mode (no client gave up): the run's iterations go to the totals,
 * the view to the next run, and the requests that sampled their last token to
 * finish_sampled() (end_at), with what they are owed. */
static void lazy_run_end(struct deployment *d, struct replica *rp)
{
    struct engine *e = &rp->eng;
    const int32_t j = e->run_k, bs = d->ep.block_size;
    const int32_t n = e->n_running;
    SIM_ASSERT(e->lz_n == n && j >= 1);
    /* ITL gaps as run_apply() counts them: the first iteration's per request (owed), or
     * after an owed iteration the same for all; then the iterations' own */
    if (e->lazy_j > 0)
        sim_gaps(d, e->run_bound[0] - e->lazy_last_us, (uint64_t)n);
    else
        e->lazy_first_us = e->run_bound[0];
    run_totals(d, rp, j, n);
    e->lazy_last_us = e->run_bound[j - 1];
    e->lazy_j += j;
    /* the blocks the batch took: how many, in one walk of the free queue */
    int64_t taken = run_new_blocks(e, bs, j);
    SIM_ASSERT(taken >= 0 && taken <= e->kv.n_free);
    e->kv.n_free -= taken;
    e->lz_taken += taken;
    int64_t owed = taken;
    kv_settle(&e->kv, &owed);
    run_keep_view(e, bs, taken, n);
    if (j < e->run_k_done)
        return; /* nobody sampled its last token (run_keep_view) */
    e->n_end = lazy_finishers(d, e, n);
    SIM_ASSERT(e->n_end > 0);
}

/*
 * A scheduler pass in lazy mode that cannot start a run (a waiting request can be
 * admitted, or the batch is about to end): when every running request gets its next
 * token's block and budget (so nobody is preempted), vLLM's running loop gives each of
 * them one decode token, which is one more owed iteration: the blocks it takes are
 * counted from the view, and only the waiting requests admitted are visited. Returns
 * false (nothing done) otherwise.
 */
static bool lazy_step(struct deployment *d, struct replica *rp)
{
    struct engine *e = &rp->eng;
    const struct engine_params *p = &d->ep;
    const int32_t n = e->n_running, bs = p->block_size;
    if (!e->lz || e->cancel_seen || n > p->max_num_batched_tokens)
        return false;
    SIM_ASSERT(e->lazy_j >= 1 && e->lz_n == n && e->nx_n == n);
    e->run_blk_base = e->nx_base; /* run_m_ge holds the view's counts */
    int64_t taken = run_new_blocks(e, bs, 1);
    if (taken > e->kv.n_free)
        return false; /* someone is preempted: the plain pass */
    e->kv.n_free -= taken;
    e->lz_taken += taken;
    int64_t owed = taken;
    kv_settle(&e->kv, &owed);
    struct lat_batch b = {0};
    b.n_decode = n;
    b.decode_kv_tokens = e->nx_ctx0 + n;
    int64_t budget = p->max_num_batched_tokens - n;
    int32_t n_sched = n + admit_waiting(d, rp, &b, &budget);
    /* the iteration's view inputs, for run_keep_view at its end */
    e->run_k = 1;
    e->run_k_done = e->nx_k_done;
    e->run_ctx0 = e->nx_ctx0;
    e->lz_step = true;
    e->lz_step_taken = taken;
    start_step(d, rp, &b, 0, n_sched);
    return true;
}

/* The end of a lazy step: the running requests it ran lazily (running[0..lz_n)) have one
 * more owed iteration, those it admitted sample as in a plain step and join lazy mode
 * (or, when one cannot, everyone gets what is owed and lazy mode ends). */
static void lazy_step_end(struct deployment *d, struct replica *rp, int64_t dur)
{
    struct sim *s = d->s;
    struct engine *e = &rp->eng;
    const int32_t bs = d->ep.block_size, n = e->lz_n;
    SIM_ASSERT(e->sched_first == 0 && e->n_sched >= n && e->lazy_j >= 1);
    e->lz_step = false;
    /* their gaps: the same for all, after the latest owed iteration */
    sim_gaps(d, s->now_us - e->lazy_last_us, (uint64_t)n);
    e->lazy_last_us = s->now_us;
    e->lazy_j++;
    run_keep_view(e, bs, e->lz_step_taken, n);
    int32_t n_end = e->nx_k_done == 0 ? lazy_finishers(d, e, n) : 0;
    uint64_t sampled = (uint64_t)n;
    struct gap_batch g = {0, 0};
    bool keep = !e->cancel_seen;
    int32_t *ge = e->run_m_ge;
    for (int32_t i = n; i < e->n_sched; i++) {
        struct req *r = e->running[i];
        if (!step_sample(d, rp, &g, r)) {
            keep = false;
            continue;
        }
        sampled++;
        if (r->num_output >= r->output_tokens) {
            e->end_at[n_end++] = i;
            continue;
        }
        if (!keep || !lz_fits(e, r, bs)) {
            keep = false;
            continue;
        }
        int64_t left = r->output_tokens - r->num_output;
        e->lz_left[e->lz_n++] = (struct lz_ent){left + e->lazy_j, r, e->lazy_j};
        int32_t c = r->num_computed;
        for (int32_t m = blk_mod(e, c, bs); m >= 0; m--)
            ge[m]++;
        e->nx_base += blk_div(e, c, bs) - kv_held(&r->kv);
        e->nx_ctx0 += c;
        e->nx_n++;
        if (left < e->nx_k_done)
            e->nx_k_done = left;
    }
    gap_batch_flush(d, &g);
    if (!keep) {
        lazy_flush(d, rp);
        e->nx_valid = false;
    }
    step_close(d, rp, dur, sampled, n_end);
}

static void vllm_run_end(struct sim *s, void *obj, uint64_t arg)
{
    (void)arg;
    struct replica *rp = obj;
    struct deployment *d = rp->dep;
    struct engine *e = &rp->eng;
    e->step_ev = 0;
    e->in_run = false;
    e->busy_us += s->now_us - e->run_start_us;
    if (e->lz && !e->cancel_seen) {
        lazy_run_end(d, rp);
        finish_sampled(d, rp);
        schedule(d, rp);
        return;
    }
    lazy_flush(d, rp);
    int64_t free_before = e->kv.n_free;
    run_apply(d, rp, e->run_k);
    if (e->run_k < e->run_k_done)
        run_keep_view(e, d->ep.block_size, free_before - e->kv.n_free, e->n_running);
    else
        e->n_end = -1; /* some request sampled its last token */
    finish_sampled(d, rp);
    schedule(d, rp);
}

/*
 * Request h, first in line (nothing waits before it), reaches the scheduler at time t_in
 * during the run in flight (now, or later when it is still in the front end): cut the run
 * at the first iteration boundary at or after t_in, where the scheduler will see it,
 * exactly as single steps would have. Nothing else changes the KV cache during a run, so
 * deciding before t_in is deciding at t_in.
 */
static void run_interrupt(struct deployment *d, struct replica *rp, struct req *h,
                          int64_t t_in)
{
    struct sim *s = d->s;
    struct engine *e = &rp->eng;
    const struct engine_params *p = &d->ep;
    /* A head that cannot get a sequence slot or budget changes nothing until the run
     * ends: let the run go on. */
    int64_t budget = p->max_num_batched_tokens - e->n_running;
    if (e->n_running >= p->max_num_seqs || budget <= 0)
        return;
    int32_t j = run_boundaries_before(e, t_in) + 1; /* first boundary >= t_in */
    if (j >= e->run_k)
        return; /* the run already ends at the first boundary >= now */
    int64_t t = e->run_bound[j - 1];
    struct admit_plan a;
    int rc = plan_admission(d, e, h, budget, &a);
    if (rc == 0)
        return;
    /* KV room for the head at iteration j + 1 (free blocks only shrink over the run), with
     * the cache hit found now: it holds while the run's blocks do not reach its hit blocks
     * (otherwise, or when memory ran short, cut the run: stepping is always exact). */
    if (rc > 0 && !hit_may_grow(e, h)) {
        int64_t all = run_new_blocks(e, p->block_size, e->run_k);
        if (kv_blocks_before_hit(&e->kv, &a.hit, all) >= all &&
            a.need > e->kv.n_free - run_new_blocks(e, p->block_size, j + 1))
            return;
    }
    e->run_k = j;
    if (!evq_reschedule(s->q, e->step_ev, t))
        e->step_ev = evq_push(s->q, t, PRIO_STEP, vllm_run_end, rp, 0);
}

/* ---- static batching ------------------------------------------------------------- */

static void static_batch_end(struct sim *s, void *obj, uint64_t arg);

/*
 * Static batching as early servers did it: take up to batch_size waiting requests,
 * prefill them together, then decode the whole batch until its longest request is done;
 * every request returns when the batch finishes. Finished sequences keep their slot
 * (padding), so every decode iteration costs a full batch.
 */
static void static_schedule(struct deployment *d, struct replica *rp)
{
    struct sim *s = d->s;
    struct engine *e = &rp->eng;
    if (e->waiting.n == 0) {
        e->busy = false;
        return;
    }
    struct lat_batch pre = {0};
    int32_t longest = 0;
    e->n_running = 0;
    while (e->waiting.n > 0 && e->n_running < d->ep.static_batch_size) {
        struct req *r = list_pop_front(&e->waiting);
        r->state = RS_RUNNING;
        r->first_sched_us = s->now_us;
        metrics_observe(rp, M_QUEUE_TIME, (double)(s->now_us - r->arrival_us) * 1e-6, 1);
        e->running[e->n_running++] = r;
        batch_add(&pre, r, r->prompt_tokens);
        if (r->output_tokens > longest)
            longest = r->output_tokens;
    }
    int64_t t = s->now_us + step_duration_us(d, &pre);
    int64_t first_token_us = t;
    /* Decode iterations 1..longest-1: all slots, context growing by one per iteration. */
    int64_t ctx0 = pre.prefill_kv_tokens;
    for (int32_t i = 1; i < longest; i++) {
        struct lat_batch b = {0};
        b.n_decode = e->n_running;
        b.decode_kv_tokens = ctx0 + (int64_t)e->n_running * i;
        t += step_duration_us(d, &b);
    }
    for (int32_t i = 0; i < e->n_running; i++) {
        sim_first_token(e->running[i], first_token_us);
        e->running[i]->first_token_us = frontend_out_us(e, e->running[i], first_token_us);
    }
    e->busy = true;
    e->step_start_us = s->now_us;
    e->n_steps++;
    e->n_iterations += (uint64_t)longest;
    e->step_ev = evq_push(s->q, t, PRIO_STEP, static_batch_end, rp, 0);
}

static void static_batch_end(struct sim *s, void *obj, uint64_t arg)
{
    (void)arg;
    struct replica *rp = obj;
    struct deployment *d = rp->dep;
    struct engine *e = &rp->eng;
    e->step_ev = 0;
    e->busy_us += s->now_us - e->step_start_us;
    uint64_t tokens = 0;
    for (int32_t i = 0; i < e->n_running; i++) {
        struct req *r = e->running[i];
        r->num_output = r->output_tokens;
        r->num_computed = r->prompt_tokens + r->output_tokens - 1;
        tokens += (uint64_t)r->output_tokens;
        /* The rest of the output comes back with the batch (no streaming): its gaps are
         * counted as equal shares of the time after the first token. */
        if (r->output_tokens > 1) {
            int64_t span = s->now_us - r->first_token_us, n = r->output_tokens - 1;
            sim_gaps(d, llround((double)span / (double)n), (uint64_t)n);
            r->itl_sum_us += span;
            r->itl_n += n;
            r->last_token_us = s->now_us;
        }
    }
    e->n_end = -1;
    after_step(d, rp, tokens);
}

/* ---- entry points ---------------------------------------------------------------- */

/* An idle engine starts its next step after every arrival at this instant has been
 * routed (step events sort after arrivals at equal times), so simultaneous requests are
 * batched together as the engine loop would pick them up. */
static void idle_kick(struct sim *s, void *obj, uint64_t arg)
{
    (void)s;
    (void)arg;
    struct replica *rp = obj;
    struct deployment *d = rp->dep;
    rp->eng.step_ev = 0;
    rp->eng.busy = false;
    schedule(d, rp);
}

void engine_gpu_granted(struct sim *s, struct replica *rp)
{
    rp->eng.step_start_us = s->now_us;
    rp->eng.step_ev = evq_push(s->q, s->now_us, PRIO_STEP, idle_kick, rp, 0);
}

/* A request reaches the engine's scheduler (waiting queue) now. */
static void engine_accept(struct deployment *d, struct replica *rp, struct req *r)
{
    struct sim *s = d->s;
    struct engine *e = &rp->eng;
    r->state = RS_WAITING;
    if (d->ep.priority)
        list_insert_prio(&e->waiting, r);
    else
        list_push_back(&e->waiting, r);
    if (!e->busy) {
        e->busy = true;
        e->step_start_us = s->now_us;
        e->step_ev = evq_push(s->q, s->now_us, PRIO_STEP, idle_kick, rp, 0);
    } else if (e->in_run && (e->waiting.n == 1 || d->ep.priority)) {
        /* behind a blocked head it changes nothing until the run ends (by priority it
         * may go ahead of that head: cut the run, which is always exact) */
        run_interrupt(d, rp, r, s->now_us);
    }
}

/*
 * The front end (API server, tokeniser) holds requests in dispatch order until their
 * front-end time has passed (r->ready_us, nondecreasing along the list; for the first
 * request still being taken in, its time if no other request arrives; INT64_MAX after
 * it). It costs no event of its own while the engine is busy: every scheduler pass first takes the
 * requests whose time has passed (frontend_pull), a decode run is cut where the first of
 * them arrives (run_interrupt), and only an idle engine sets a wake-up at the head's time.
 */
static void frontend_advance(const struct deployment *d, struct engine *e, int64_t t);

static void frontend_pull(struct deployment *d, struct engine *e)
{
    frontend_advance(d, e, d->s->now_us);
    while (e->incoming.head && e->incoming.head->ready_us <= d->s->now_us) {
        if (d->ep.priority)
            list_insert_prio(&e->waiting, list_pop_front(&e->incoming));
        else
            list_push_back(&e->waiting, list_pop_front(&e->incoming));
    }
}

static void frontend_wake(struct sim *s, void *obj, uint64_t arg)
{
    (void)s;
    (void)arg;
    struct replica *rp = obj;
    rp->eng.fe_ev = 0;
    if (!rp->eng.busy)
        schedule(rp->dep, rp);
}

/* The engine went idle: wake it when the front end hands over its next request. */
static void frontend_arm(struct deployment *d, struct replica *rp)
{
    struct engine *e = &rp->eng;
    frontend_advance(d, e, d->s->now_us);
    if (!e->busy && e->incoming.head && !e->fe_ev)
        e->fe_ev = evq_push(d->s->q, e->incoming.head->ready_us, PRIO_STEP, frontend_wake, rp,
                            0);
}

/* A decode run was started: the first request in the front end may end it early. */
static void frontend_cut_run(struct deployment *d, struct replica *rp)
{
    struct engine *e = &rp->eng;
    if (e->in_run && (e->waiting.n == 0 || d->ep.priority) && e->incoming.head)
        run_interrupt(d, rp, e->incoming.head, e->incoming.head->ready_us);
}

/*
 * The API server (one process, one asyncio event loop: vLLM 0.6's api_server in front of
 * the engine process, V1's AsyncLLM in front of the engine core) needs frontend_req_us of
 * work per request (HTTP, OpenAI request handling, tokenising). The loop interleaves the
 * handlers of the requests it holds at their await points: it is shared equally by them
 * (processor sharing), so a burst of N requests that arrive together is taken in
 * together, N x frontend_req_us after it arrived, and one that arrives alone takes
 * frontend_req_us. A request taken in reaches the scheduler frontend_us later.
 *
 * Equal work per request: requests finish in dispatch order. r->fe_tag is when r is done
 * in the server's virtual time V (work received by each request so far), which grows at
 * 1/fe_n per us. frontend_advance() moves V to t, giving each request done by then its
 * ready_us, and predicts the next one's (exact until the next arrival).
 */
static void frontend_advance(const struct deployment *d, struct engine *e, int64_t t)
{
    int64_t transit = llround(d->lat->frontend_us);
    while (e->fe_n > 0) {
        struct req *h = e->fe_in;
        double done = e->fe_t + (h->fe_tag - e->fe_v) * (double)e->fe_n;
        int64_t at = llround(done);
        if (at > t) {
            h->ready_us = at + transit; /* if no other request arrives */
            break;
        }
        e->fe_v = h->fe_tag;
        e->fe_t = done;
        e->fe_n--;
        h->ready_us = at + transit;
        e->fe_in = h->next;
    }
    if (e->fe_n == 0) {
        e->fe_in = NULL;
        e->fe_v = 0.0;
    } else if ((double)t > e->fe_t) {
        e->fe_v += ((double)t - e->fe_t) / (double)e->fe_n;
    }
    if ((double)t > e->fe_t)
        e->fe_t = (double)t;
}

/* How many requests of `incoming` have passed the front end by t (>= the last event). */
static uint32_t frontend_handed(const struct deployment *d, const struct engine *e, int64_t t)
{
    uint32_t n = 0;
    const struct req *r = e->incoming.head;
    for (; r && r != e->fe_in; r = r->next) /* taken in: fixed times */
        if (r->ready_us <= t)
            n++;
    double v = e->fe_v, at = e->fe_t;
    int64_t transit = llround(d->lat->frontend_us);
    for (int32_t k = e->fe_n; r && k > 0; r = r->next, k--) {
        at += (r->fe_tag - v) * (double)k;
        v = r->fe_tag;
        if (llround(at) + transit > t)
            break;
        n++;
    }
    return n;
}

/* Request r, dispatched now, joins the API server (appended to `incoming` after this). */
static void frontend_join(const struct deployment *d, struct engine *e, struct req *r)
{
    int64_t now = r->dispatch_us;
    frontend_advance(d, e, now);
    if (e->fe_n == 0)
        e->fe_t = (double)now;
    double c = d->lat->frontend_req_us;
    /* the server is busy until all the work it holds is done: that is the same in any
     * order of service (frontend_out_us) */
    int64_t start = e->fe_free_us > now ? e->fe_free_us : now;
    e->fe_free_us = start + llround(c);
    r->fe_tag = e->fe_v + c;
    r->ready_us = INT64_MAX;
    if (!e->fe_in)
        e->fe_in = r;
    e->fe_n++;
}

/* When a first token sampled at t reaches the client: the same event loop streams the
 * outputs, after the requests it has queued by then (a burst's first tokens wait until
 * the whole burst was taken in). Requests of one token end at t: left as is. */
static inline int64_t frontend_out_us(const struct engine *e, const struct req *r, int64_t t)
{
    return r->output_tokens > 1 && e->fe_free_us > t ? e->fe_free_us : t;
}

void engine_enqueue(struct replica *rp, struct req *r)
{
    struct deployment *d = rp->dep;
    struct sim *s = d->s;
    struct engine *e = &rp->eng;
    r->replica = rp->seq;
    r->state = RS_WAITING;
    frontend_join(d, e, r);
    list_push_back(&e->incoming, r);
    frontend_advance(d, e, s->now_us); /* the prediction for the first being taken in */
    if (e->incoming.head == r && r->ready_us <= s->now_us) {
        /* no front-end time: straight to the scheduler */
        list_pop_front(&e->incoming);
        engine_accept(d, rp, r);
        return;
    }
    if (!e->busy) {
        /* the first request's time may have moved with this one: re-arm */
        if (e->fe_ev) {
            evq_cancel(s->q, e->fe_ev);
            e->fe_ev = 0;
        }
        frontend_arm(d, rp);
    } else if (e->incoming.head == r) {
        frontend_cut_run(d, rp);
    }
}

/* End a request that is off the engine with `outcome`, or (OUTCOME_N) fail its attempt as
 * aborted: the client sees the stream cut and retries or gives up (router.retry). */
static void take_off(struct deployment *d, struct replica *rp, struct req *r, enum req_outcome outcome)
{
    kv_seq_release(&rp->eng.kv, &r->kv);
    if (outcome != OUTCOME_N)
        sim_request_done(d, rp, r, outcome);
    else
        sim_attempt_failed(d, rp, r, r->gave_up ? FAIL_TIMEOUT : FAIL_ABORTED);
}

/* End the decode run in flight at its first iteration boundary at or after now (where
 * vLLM's engine core would see an abort), instead of later. */
static void run_cut(struct sim *s, struct replica *rp)
{
    struct engine *e = &rp->eng;
    int32_t j = run_boundaries_before(e, s->now_us) + 1;
    if (j >= e->run_k)
        return;
    e->run_k = j;
    if (!evq_reschedule(s->q, e->step_ev, e->run_bound[j - 1]))
        e->step_ev = evq_push(s->q, e->run_bound[j - 1], PRIO_STEP, vllm_run_end, rp, 0);
}

void engine_cancel(struct replica *rp, struct req *r)
{
    struct deployment *d = rp->dep;
    struct engine *e = &rp->eng;
    if (e->in_run)
        run_cut(d->s, rp); /* a waiting head let go may be admitted at the next boundary */
    if (r->state == RS_RUNNING) {
        e->cancel_seen = true;
        return; /* finish_sampled() takes it off when the step in flight ends */
    }
    bool in_frontend = false;
    frontend_advance(d, e, d->s->now_us);
    bool taking_in = false; /* still being taken in: it leaves the API server's share */
    for (const struct req *q = e->incoming.head; q && !in_frontend; q = q->next) {
        taking_in = taking_in || q == e->fe_in;
        in_frontend = q == r;
    }
    if (in_frontend && taking_in) {
        if (e->fe_in == r)
            e->fe_in = r->next;
        if (--e->fe_n == 0) {
            e->fe_in = NULL;
            e->fe_v = 0.0;
        }
    }
    req_list_remove(in_frontend ? &e->incoming : &e->waiting, r);
    if (in_frontend && taking_in)
        frontend_advance(d, e, d->s->now_us); /* the next one's prediction */
    take_off(d, rp, r, OUTCOME_N);
}

void engine_abort_all(struct replica *rp, enum req_outcome outcome)
{
    struct deployment *d = rp->dep;
    struct sim *s = d->s;
    struct engine *e = &rp->eng;
    rp->aborting = true; /* the last request ending must not release the engine under us */
    lazy_flush(d, rp); /* every running request as it is now (a lazy step in flight too) */
    if (e->step_ev) {
        if (e->in_run) {
            /* Count the iterations of the run that completed by now. */
            run_apply(d, rp, run_boundaries_upto(e, s->now_us));
            e->in_run = false;
            e->nx_valid = false;
            e->n_end = -1;
        }
        e->busy_us += s->now_us - e->step_start_us;
        evq_cancel(s->q, e->step_ev);
        e->step_ev = 0;
    }
    for (int32_t i = 0; i < e->n_running; i++) {
        struct req *r = e->running[i];
        kv_free(&e->kv, &r->kv, r->num_computed, false);
        take_off(d, rp, r, outcome);
    }
    e->n_running = 0;
    e->n_sched = 0;
    e->sched_first = 0;
    e->block_k = 0;
    struct req *r;
    while ((r = list_pop_front(&e->waiting)))
        take_off(d, rp, r, outcome);
    if (e->fe_ev) {
        evq_cancel(s->q, e->fe_ev);
        e->fe_ev = 0;
    }
    while ((r = list_pop_front(&e->incoming)))
        take_off(d, rp, r, outcome);
    e->fe_in = NULL;
    e->fe_n = 0;
    e->fe_v = 0.0;
    e->busy = false;
    if (time_sliced(s, rp))
        gpushare_release(s, rp); /* its step, if one ran, was cut short */
    rp->aborting = false;
}

void engine_gauges(const struct replica *rp, double *running, double *waiting,
                   double *kv_usage_frac)
{
    const struct deployment *d = rp->dep;
    const struct sim *s = d->s;
    const struct engine *e = &rp->eng;
    /* vLLM's BlockPool.get_usage: 1 - free / total, cached blocks in the free queue free */
    int64_t used = d->ep.num_blocks - e->kv.n_free;
    if (e->in_run) {
        /* As single steps would show it: the iteration in flight (the one after the last
         * boundary at or before now) has allocated its blocks. */
        int32_t j = run_boundaries_upto(e, s->now_us);
        used += run_new_blocks(e, d->ep.block_size, j < e->run_k ? j + 1 : j);
    }
    *running = (double)e->n_running;
    /* requests the front end has handed over by now wait for the next scheduler pass */
    uint32_t handed = frontend_handed(d, e, s->now_us);
    *waiting = (double)(e->waiting.n + handed);
    *kv_usage_frac = d->ep.num_blocks > 0 ? (double)used / (double)d->ep.num_blocks : 0.0;
}
