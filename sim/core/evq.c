/* evq.c: 4-ary min-heap of pooled event slots, keyed by (t_us, prio, seq). */
#include "sim/core/evq.h"

#include <stdlib.h>

struct slot {
    struct evq_event ev;
    uint32_t gen;      /* bumped whenever the slot is freed */
    uint32_t heap_pos; /* index in heap, or UINT32_MAX when free */
};

struct evq {
    struct slot *slots;
    uint32_t *heap; /* slot indices */
    uint32_t *free_list;
    size_t n_heap, n_free, cap;
    uint64_t seq;
};

#define EVQ_ARITY 4u
#define NOT_IN_HEAP UINT32_MAX

static bool grow(struct evq *q)
{
    size_t ncap = q->cap ? q->cap * 2 : 64;
    if (ncap > (size_t)UINT32_MAX - 1)
        return false;
    struct slot *s = sim_reallocarray(q->slots, ncap, sizeof *s);
    if (!s)
        return false;
    q->slots = s;
    uint32_t *h = sim_reallocarray(q->heap, ncap, sizeof *h);
    if (!h)
        return false;
    q->heap = h;
    uint32_t *f = sim_reallocarray(q->free_list, ncap, sizeof *f);
    if (!f)
        return false;
    q->free_list = f;
    /* New slots go on the free list highest first so low indices are used first. */
    for (size_t i = ncap; i > q->cap; i--) {
        q->slots[i - 1].gen = 1;
        q->slots[i - 1].heap_pos = NOT_IN_HEAP;
        q->free_list[q->n_free++] = (uint32_t)(i - 1);
    }
    q->cap = ncap;
    return true;
}

struct evq *evq_new(size_t cap_hint, struct sim_err *err)
{
    struct evq *q = calloc(1, sizeof *q);
    if (!q) {
        sim_err_set(err, SIM_ENOMEM, "out of memory for the event queue");
        return NULL;
    }
    while (q->cap < cap_hint || q->cap == 0) {
        if (!grow(q)) {
            evq_free(q);
            sim_err_set(err, SIM_ENOMEM, "out of memory for the event queue");
            return NULL;
        }
    }
    return q;
}

void evq_free(struct evq *q)
{
    if (!q)
        return;
    free(q->slots);
    free(q->heap);
    free(q->free_list);
    free(q);
}

static inline bool before(const struct evq_event *a, const struct evq_event *b)
{
    if (a->t_us != b->t_us)
        return a->t_us < b->t_us;
    if (a->prio != b->prio)
        return a->prio < b->prio;
    return a->seq < b->seq;
}

static inline void place(struct evq *q, size_t pos, uint32_t idx)
{
    q->heap[pos] = idx;
    q->slots[idx].heap_pos = (uint32_t)pos;
}

static void sift_up(struct evq *q, size_t pos)
{
    uint32_t idx = q->heap[pos];
    const struct evq_event *e = &q->slots[idx].ev;
    while (pos > 0) {
        size_t parent = (pos - 1) / EVQ_ARITY;
        uint32_t pidx = q->heap[parent];
        if (!before(e, &q->slots[pidx].ev))
            break;
        place(q, pos, pidx);
        pos = parent;
    }
    place(q, pos, idx);
}

static void sift_down(struct evq *q, size_t pos)
{
    uint32_t idx = q->heap[pos];
    const struct evq_event *e = &q->slots[idx].ev;
    for (;;) {
        size_t first = pos * EVQ_ARITY + 1;
        if (first >= q->n_heap)
            break;
        size_t last = first + EVQ_ARITY;
        if (last > q->n_heap)
            last = q->n_heap;
        size_t best = first;
        for (size_t c = first + 1; c < last; c++)
            if (before(&q->slots[q->heap[c]].ev, &q->slots[q->heap[best]].ev))
                best = c;
        if (!before(&q->slots[q->heap[best]].ev, e))
            break;
        place(q, pos, q->heap[best]);
        pos = best;
    }
    place(q, pos, idx);
}

static inline evq_handle make_handle(uint32_t idx, uint32_t gen)
{
    return ((uint64_t)gen << 32) | ((uint64_t)idx + 1u);
}

static struct slot *resolve(const struct evq *q, evq_handle h)
{
    if (h == 0)
        return NULL;
    uint64_t idx1 = h & 0xffffffffu;
    if (idx1 == 0 || idx1 > q->cap)
        return NULL;
    struct slot *s = &q->slots[idx1 - 1];
    if (s->gen != (uint32_t)(h >> 32) || s->heap_pos == NOT_IN_HEAP)
        return NULL;
    return s;
}

evq_handle evq_push(struct evq *q, int64_t t_us, uint32_t prio, evq_fn fn, void *obj,
                    uint64_t arg)
{
    if (q->n_free == 0 && !grow(q))
        return 0;
    uint32_t idx = q->free_list[--q->n_free];
    struct slot *s = &q->slots[idx];
    s->ev.t_us = t_us;
    s->ev.prio = prio;
    s->ev.seq = q->seq++;
    s->ev.fn = fn;
    s->ev.obj = obj;
    s->ev.arg = arg;
    size_t pos = q->n_heap++;
    place(q, pos, idx);
    sift_up(q, pos);
    return make_handle(idx, s->gen);
}

static void release_slot(struct evq *q, uint32_t idx)
{
    struct slot *s = &q->slots[idx];
    s->heap_pos = NOT_IN_HEAP;
    s->gen = s->gen + 1 ? s->gen + 1 : 1;
    q->free_list[q->n_free++] = idx;
}

static void heap_remove_at(struct evq *q, size_t pos)
{
    uint32_t idx = q->heap[pos];
    q->n_heap--;
    if (pos != q->n_heap) {
        place(q, pos, q->heap[q->n_heap]);
        /* The moved element may need to go either way. */
        if (pos > 0 && before(&q->slots[q->heap[pos]].ev,
                              &q->slots[q->heap[(pos - 1) / EVQ_ARITY]].ev))
            sift_up(q, pos);
        else
            sift_down(q, pos);
    }
    release_slot(q, idx);
}

bool evq_cancel(struct evq *q, evq_handle h)
{
    struct slot *s = resolve(q, h);
    if (!s)
        return false;
    heap_remove_at(q, s->heap_pos);
    return true;
}

bool evq_reschedule(struct evq *q, evq_handle h, int64_t t_us)
{
    struct slot *s = resolve(q, h);
    if (!s)
        return false;
    struct evq_event old = s->ev;
    s->ev.t_us = t_us;
    s->ev.seq = q->seq++;
    size_t pos = s->heap_pos;
    /* the key only grows (a later seq) unless the time moved earlier */
    if (before(&s->ev, &old))
        sift_up(q, pos);
    else
        sift_down(q, pos);
    return true;
}

bool evq_pending(const struct evq *q, evq_handle h)
{
    return resolve(q, h) != NULL;
}

int64_t evq_time(const struct evq *q, evq_handle h)
{
    const struct slot *s = resolve(q, h);
    SIM_ASSERT(s);
    return s->ev.t_us;
}

bool evq_pop(struct evq *q, struct evq_event *out)
{
    if (q->n_heap == 0)
        return false;
    uint32_t idx = q->heap[0];
    *out = q->slots[idx].ev;
    heap_remove_at(q, 0);
    return true;
}

int64_t evq_peek_time(const struct evq *q)
{
    return q->n_heap ? q->slots[q->heap[0]].ev.t_us : INT64_MAX;
}

size_t evq_len(const struct evq *q)
{
    return q->n_heap;
}

uint64_t evq_pushes(const struct evq *q)
{
    return q->seq;
}
