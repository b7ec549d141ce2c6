/*
 * evq.c: 4-ary min-heap of pooled event slots, keyed by (t_us, prio, seq).
 *
 * Speed notes (measured on the two-deployment week bench, bench/README.md): the heap
 * holds a few hundred to a few thousand events and sees one pop and about one push per
 * event, so what costs is the sift's comparisons. Three things keep them cheap:
 *
 * - The heap keeps a 64-bit key for each position (hkey) beside the slot index (hidx),
 *   so a sift compares contiguous memory instead of loading every compared event's
 *   slot. The key is a monotone map of (t_us, prio) (see heap_key): a smaller key means
 *   an earlier event, and only equal keys (the same microsecond and priority, rare) read
 *   the slots to compare the full (t_us, prio, seq). The order is exactly the one evq.h
 *   documents. Keys and indices are two arrays rather than one of 16-byte entries: that
 *   touches fewer cache lines (measured: fewer D1 misses in the whole run).
 * - The four children's keys of a node lie in one cache line (the key array aligned and
 *   shifted, see heap_alloc), and their minimum is found by a branch-free tournament of
 *   three key comparisons.
 * - A pop leaves the root empty (q->hole) instead of sifting the last entry down at
 *   once: the simulation's next call is usually a push (the event's follow-up), which
 *   then fills the root with one sift down instead of a sift down and a sift up. Any
 *   other call fills the hole first.
 */
#include "sim/core/evq.h"

#include <stdlib.h>
#include <string.h>

struct slot {
    struct evq_event ev;
    uint32_t gen;      /* bumped whenever the slot is freed */
    uint32_t heap_pos; /* index in heap, or UINT32_MAX when free */
};

/* One heap position's contents, as the sifts carry it. */
struct hent {
    uint64_t key; /* heap_key(ev.t_us, ev.prio) */
    uint32_t idx; /* slot index */
};

struct evq {
    struct slot *slots;
    uint64_t *hkey;     /* the heap's keys, hkey[0] the root's; see heap_alloc */
    uint64_t *hkey_mem; /* what heap_alloc allocated */
    uint32_t *hidx;     /* the heap's slot indices */
    uint32_t *free_list;
    size_t n_heap; /* heap positions in use, the hole included */
    size_t n_free, cap;
    uint64_t seq;
    bool hole; /* position 0 is empty: popped, not refilled yet */
};

#define EVQ_ARITY 4u
#define NOT_IN_HEAP UINT32_MAX
#define EVQ_LINE 64u

/*
 * The key: t_us * 2^8 + min(prio, 255) for 0 <= t_us < 2^56, 0 below, UINT64_MAX above.
 * It is monotone: (t1, p1) < (t2, p2) in (t_us, prio) order implies key1 <= key2 (for
 * t1 < t2 both in range, key1 <= t1 * 2^8 + 255 < t2 * 2^8 <= key2; clamped times and
 * priorities only merge neighbours). So key1 < key2 implies that event 1 is earlier, and
 * equal keys are settled by the full comparison. The simulated clock ends at
 * SIM_CLOCK_MAX_US < 2^52 and the priorities in use are below 4, so in practice only
 * the same (t_us, prio) gives equal keys; other values are still ordered exactly.
 */
#define KEY_PRIO_BITS 8
#define KEY_T_LIMIT (INT64_C(1) << (64 - KEY_PRIO_BITS))
#define KEY_PRIO_MAX ((UINT32_C(1) << KEY_PRIO_BITS) - 1u)

static inline uint64_t heap_key(int64_t t_us, uint32_t prio)
{
    if (t_us < 0)
        return 0;
    if (t_us >= KEY_T_LIMIT)
        return UINT64_MAX;
    return ((uint64_t)t_us << KEY_PRIO_BITS) | (prio < KEY_PRIO_MAX ? prio : KEY_PRIO_MAX);
}

/*
 * The key array starts EVQ_ARITY - 1 keys into a cache-line-aligned block, so the keys
 * of the children of every node (positions 4i+1 .. 4i+4, block entries 4i+4 .. 4i+7,
 * 32 bytes) lie in one 64-byte line.
 */
static uint64_t *heap_alloc(size_t cap, uint64_t **mem)
{
    size_t n = cap + EVQ_ARITY - 1;
    if (n > (SIZE_MAX - EVQ_LINE) / sizeof(uint64_t))
        return NULL;
    size_t bytes = (n * sizeof(uint64_t) + EVQ_LINE - 1) / EVQ_LINE * EVQ_LINE;
    *mem = aligned_alloc(EVQ_LINE, bytes);
    return *mem ? *mem + (EVQ_ARITY - 1) : NULL;
}

static bool grow(struct evq *q)
{
    size_t ncap = q->cap ? q->cap * 2 : 64;
    if (ncap > (size_t)UINT32_MAX - 1)
        return false;
    struct slot *s = sim_reallocarray(q->slots, ncap, sizeof *s);
    if (!s)
        return false;
    q->slots = s;
    uint64_t *mem;
    uint64_t *h = heap_alloc(ncap, &mem);
    if (!h)
        return false;
    if (q->n_heap)
        memcpy(h, q->hkey, q->n_heap * sizeof *h);
    free(q->hkey_mem);
    q->hkey = h;
    q->hkey_mem = mem;
    uint32_t *hi = sim_reallocarray(q->hidx, ncap, sizeof *hi);
    if (!hi)
        return false;
    q->hidx = hi;
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
    free(q->hkey_mem);
    free(q->hidx);
    free(q->free_list);
    free(q);
}

/* The full (t_us, prio, seq) order of two slots' events. */
static bool slot_before(const struct evq *q, uint32_t a_idx, uint32_t b_idx)
{
    const struct evq_event *a = &q->slots[a_idx].ev, *b = &q->slots[b_idx].ev;
    if (a->t_us != b->t_us)
        return a->t_us < b->t_us;
    if (a->prio != b->prio)
        return a->prio < b->prio;
    return a->seq < b->seq;
}

/* Whether entry a's event pops before entry b's (see heap_key). */
static inline bool before(const struct evq *q, struct hent a, struct hent b)
{
    if (a.key != b.key)
        return a.key < b.key;
    return slot_before(q, a.idx, b.idx);
}

static inline struct hent hget(const struct evq *q, size_t pos)
{
    return (struct hent){q->hkey[pos], q->hidx[pos]};
}

static inline void place(struct evq *q, size_t pos, struct hent e)
{
    q->hkey[pos] = e.key;
    q->hidx[pos] = e.idx;
    q->slots[e.idx].heap_pos = (uint32_t)pos;
}

/* Put `e` into the empty position `pos` or one above it, moving the entries it passes
 * down. */
static void sift_up(struct evq *q, size_t pos, struct hent e)
{
    while (pos > 0) {
        size_t parent = (pos - 1) / EVQ_ARITY;
        struct hent p = hget(q, parent);
        if (!before(q, e, p))
            break;
        place(q, pos, p);
        pos = parent;
    }
    place(q, pos, e);
}

/* Position of the earliest of the children first .. last-1 (at least one). */
static inline size_t min_child(const struct evq *q, size_t first, size_t last)
{
    const uint64_t *h = q->hkey;
    if (last - first == EVQ_ARITY) {
        /* a tournament on the keys, without branches; a tie between two compared keys
         * (rare) needs the full comparison below */
        uint64_t k0 = h[first], k1 = h[first + 1];
        uint64_t k2 = h[first + 2], k3 = h[first + 3];
        size_t a = (size_t)(k1 < k0), b = 2 + (size_t)(k3 < k2);
        uint64_t ka = k1 < k0 ? k1 : k0, kb = k3 < k2 ? k3 : k2;
        size_t m = (size_t)0 - (size_t)(kb < ka); /* all ones when b wins */
        if ((k0 != k1) & (k2 != k3) & (ka != kb))
            return first + (a ^ ((a ^ b) & m));
    }
    size_t best = first;
    for (size_t c = first + 1; c < last; c++)
        if (before(q, hget(q, c), hget(q, best)))
            best = c;
    return best;
}

/* Put `e` into the empty position `pos` or one below it, moving the entries it passes
 * up. */
static void sift_down(struct evq *q, size_t pos, struct hent e)
{
    size_t n = q->n_heap;
    for (;;) {
        size_t first = pos * EVQ_ARITY + 1;
        if (first >= n)
            break;
        size_t last = first + EVQ_ARITY < n ? first + EVQ_ARITY : n;
        size_t best = min_child(q, first, last);
        if (!before(q, hget(q, best), e))
            break;
        place(q, pos, hget(q, best));
        pos = best;
    }
    place(q, pos, e);
}

/* Refill the root a pop left empty with the last entry. */
static void fill_hole(struct evq *q)
{
    if (!q->hole)
        return;
    q->hole = false;
    size_t last = --q->n_heap;
    if (last > 0)
        sift_down(q, 0, hget(q, last));
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
    struct hent e = {heap_key(t_us, prio), idx};
    if (q->hole) {
        q->hole = false;
        sift_down(q, 0, e);
    } else {
        sift_up(q, q->n_heap++, e);
    }
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
    uint32_t idx = q->hidx[pos];
    q->n_heap--;
    if (pos != q->n_heap) {
        struct hent e = hget(q, q->n_heap);
        /* The moved element may need to go either way. */
        if (pos > 0 && before(q, e, hget(q, (pos - 1) / EVQ_ARITY)))
            sift_up(q, pos, e);
        else
            sift_down(q, pos, e);
    }
    release_slot(q, idx);
}

bool evq_cancel(struct evq *q, evq_handle h)
{
    struct slot *s = resolve(q, h);
    if (!s)
        return false;
    fill_hole(q);
    heap_remove_at(q, s->heap_pos);
    return true;
}

bool evq_reschedule(struct evq *q, evq_handle h, int64_t t_us)
{
    struct slot *s = resolve(q, h);
    if (!s)
        return false;
    fill_hole(q);
    int64_t old_t = s->ev.t_us;
    s->ev.t_us = t_us;
    s->ev.seq = q->seq++;
    size_t pos = s->heap_pos;
    struct hent e = {heap_key(t_us, s->ev.prio), q->hidx[pos]};
    /* the key only grows (a later seq) unless the time moved earlier */
    if (t_us < old_t)
        sift_up(q, pos, e);
    else
        sift_down(q, pos, e);
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
    fill_hole(q);
    if (q->n_heap == 0)
        return false;
    uint32_t idx = q->hidx[0];
    *out = q->slots[idx].ev;
    q->hole = true;
    release_slot(q, idx);
    return true;
}

int64_t evq_peek_time(const struct evq *q)
{
    size_t n = q->n_heap;
    if (!q->hole)
        return n ? q->slots[q->hidx[0]].ev.t_us : INT64_MAX;
    /* the earliest is the root's earliest child */
    if (n <= 1)
        return INT64_MAX;
    size_t best = min_child(q, 1, n < 1 + EVQ_ARITY ? n : 1 + EVQ_ARITY);
    return q->slots[q->hidx[best]].ev.t_us;
}

size_t evq_len(const struct evq *q)
{
    return q->n_heap - q->hole;
}

uint64_t evq_pushes(const struct evq *q)
{
    return q->seq;
}
