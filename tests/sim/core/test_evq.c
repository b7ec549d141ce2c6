/* Event queue: ordering by (time, prio, insertion), cancellation, handle safety. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "sim/core/evq.h"

static void noop(struct sim *s, void *obj, uint64_t arg)
{
    (void)s;
    (void)obj;
    (void)arg;
}

/* The random tests' reference: every event pushed, with its key and whether it is
 * still pending. */
struct ref {
    int64_t t;
    uint64_t seq;
    evq_handle h;
    int live;
};

/* Pop one event and check it is the pending reference with the smallest (t, seq);
 * returns its index (SIZE_MAX: none pending, and the queue was empty). */
static size_t ref_pop_check(struct evq *q, const struct ref *r, size_t nr)
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < nr; i++)
        if (r[i].live && (best == SIZE_MAX || r[i].t < r[best].t ||
                          (r[i].t == r[best].t && r[i].seq < r[best].seq)))
            best = i;
    struct evq_event e;
    bool got = evq_pop(q, &e);
    cr_assert_eq(got, best != SIZE_MAX);
    if (got) {
        cr_assert_eq(e.arg, best);
        cr_assert_eq(e.t_us, r[best].t);
    }
    return best;
}

Test(evq, pops_in_time_order)
{
    struct evq *q = evq_new(4, NULL);
    int64_t times[] = {50, 10, 40, 30, 20, 70, 60};
    for (size_t i = 0; i < 7; i++)
        cr_assert_neq(evq_push(q, times[i], 0, noop, NULL, i), 0);
    struct evq_event e;
    int64_t want[] = {10, 20, 30, 40, 50, 60, 70};
    for (size_t i = 0; i < 7; i++) {
        cr_assert(evq_pop(q, &e));
        cr_assert_eq(e.t_us, want[i]);
    }
    cr_assert_not(evq_pop(q, &e));
    evq_free(q);
}

Test(evq, equal_times_pop_in_insertion_order)
{
    struct evq *q = evq_new(0, NULL);
    for (uint64_t i = 0; i < 1000; i++)
        evq_push(q, 5, 0, noop, NULL, i);
    struct evq_event e;
    for (uint64_t i = 0; i < 1000; i++) {
        cr_assert(evq_pop(q, &e));
        cr_assert_eq(e.arg, i);
        cr_assert_eq(e.seq, i);
    }
    evq_free(q);
}

Test(evq, priority_breaks_time_ties_before_insertion_order)
{
    struct evq *q = evq_new(0, NULL);
    evq_push(q, 7, 2, noop, NULL, 1);
    evq_push(q, 7, 1, noop, NULL, 2);
    evq_push(q, 7, 2, noop, NULL, 3);
    evq_push(q, 6, 9, noop, NULL, 4);
    struct evq_event e;
    uint64_t want[] = {4, 2, 1, 3};
    for (size_t i = 0; i < 4; i++) {
        cr_assert(evq_pop(q, &e));
        cr_assert_eq(e.arg, want[i]);
    }
    evq_free(q);
}

Test(evq, cancelled_events_never_pop_and_stale_handles_are_rejected)
{
    struct evq *q = evq_new(0, NULL);
    evq_handle h[100];
    for (uint64_t i = 0; i < 100; i++)
        h[i] = evq_push(q, (int64_t)(i * 37 % 101), 0, noop, NULL, i);
    for (uint64_t i = 0; i < 100; i += 3)
        cr_assert(evq_cancel(q, h[i]));
    cr_assert_not(evq_cancel(q, h[0]), "a second cancel must fail");
    cr_assert_eq(evq_len(q), 100 - 34);
    struct evq_event e;
    int64_t last = -1;
    size_t n = 0;
    while (evq_pop(q, &e)) {
        cr_assert_neq(e.arg % 3, 0, "cancelled event %llu popped", (unsigned long long)e.arg);
        cr_assert_geq(e.t_us, last);
        last = e.t_us;
        n++;
    }
    cr_assert_eq(n, 66);
    /* The slots are reused now: old handles must not cancel the new events. */
    evq_handle fresh = evq_push(q, 1, 0, noop, NULL, 999);
    for (size_t i = 0; i < 100; i++)
        cr_assert_not(evq_cancel(q, h[i]));
    cr_assert(evq_pending(q, fresh));
    cr_assert_eq(evq_time(q, fresh), 1);
    evq_free(q);
}

Test(evq, random_interleaving_matches_a_sorted_reference)
{
    /* Push/cancel/pop at random and compare with a brute-force minimum search. */
    enum { N = 4000 };
    struct ref *r = calloc(N, sizeof *r);
    struct evq *q = evq_new(0, NULL);
    unsigned s = 12345;
    size_t nr = 0;
    uint64_t seq = 0;
    for (int step = 0; step < 20000; step++) {
        s = s * 1103515245u + 12345u;
        unsigned op = (s >> 16) % 4;
        if ((op <= 1 && nr < N) || nr == 0) {
            s = s * 1103515245u + 12345u;
            int64_t t = (int64_t)((s >> 16) % 500);
            r[nr] = (struct ref){t, seq++, 0, 1};
            r[nr].h = evq_push(q, t, 0, noop, NULL, nr);
            nr++;
        } else if (op == 2) {
            size_t i = (s >> 8) % nr;
            cr_assert_eq(evq_cancel(q, r[i].h), r[i].live == 1);
            r[i].live = 0;
        } else {
            size_t best = ref_pop_check(q, r, nr);
            if (best != SIZE_MAX)
                r[best].live = 0;
        }
    }
    evq_free(q);
    free(r);
}

Test(evq, reschedule_orders_as_cancel_and_push_would)
{
    /* Move pending events earlier and later at random: each pops where a cancel and a
     * push at the new time would put it (a new seq: after everything pushed so far at
     * equal time and priority), checked against a brute-force minimum search. */
    enum { N = 3000 };
    struct ref *r = calloc(N, sizeof *r);
    struct evq *q = evq_new(0, NULL);
    unsigned s = 777;
    size_t nr = 0;
    uint64_t seq = 0;
    for (int step = 0; step < 20000; step++) {
        s = s * 1103515245u + 12345u;
        unsigned op = (s >> 16) % 5;
        if ((op <= 1 && nr < N) || nr == 0) {
            s = s * 1103515245u + 12345u;
            int64_t t = (int64_t)((s >> 16) % 300);
            r[nr] = (struct ref){t, seq++, 0, 1};
            r[nr].h = evq_push(q, t, 1, noop, NULL, nr);
            nr++;
        } else if (op == 2) {
            size_t i = (s >> 8) % nr;
            s = s * 1103515245u + 12345u;
            int64_t t = (int64_t)((s >> 16) % 300);
            cr_assert_eq(evq_reschedule(q, r[i].h, t), r[i].live == 1);
            if (r[i].live) {
                r[i].t = t;
                r[i].seq = seq++;
            }
            cr_assert_eq(evq_pushes(q), seq);
        } else if (op == 3) {
            size_t i = (s >> 8) % nr;
            cr_assert_eq(evq_cancel(q, r[i].h), r[i].live == 1);
            r[i].live = 0;
        } else {
            size_t best = ref_pop_check(q, r, nr);
            if (best != SIZE_MAX)
                r[best].live = 0;
        }
    }
    evq_free(q);
    free(r);
}

/* The full model for the tests below: every event pushed with its whole key. */
struct mref {
    int64_t t;
    uint32_t prio;
    uint64_t seq;
    evq_handle h;
    int live;
};

static bool mref_before(const struct mref *a, const struct mref *b)
{
    if (a->t != b->t)
        return a->t < b->t;
    if (a->prio != b->prio)
        return a->prio < b->prio;
    return a->seq < b->seq;
}

/* Index of the earliest live event of the model, SIZE_MAX when none. */
static size_t mref_min(const struct mref *r, size_t nr)
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < nr; i++)
        if (r[i].live && (best == SIZE_MAX || mref_before(&r[i], &r[best])))
            best = i;
    return best;
}

static int marker; /* the obj every test event carries */

/* Pop one event and check every field against the model's earliest live event. */
static void mref_pop_check(struct evq *q, struct mref *r, size_t nr)
{
    size_t best = mref_min(r, nr);
    struct evq_event e;
    bool got = evq_pop(q, &e);
    cr_assert_eq(got, best != SIZE_MAX);
    if (!got)
        return;
    cr_assert_eq(e.arg, best, "popped event %llu, the model's earliest is %zu",
                 (unsigned long long)e.arg, best);
    cr_assert_eq(e.t_us, r[best].t);
    cr_assert_eq(e.prio, r[best].prio);
    cr_assert_eq(e.seq, r[best].seq);
    cr_assert(e.fn == noop);
    cr_assert(e.obj == &marker);
    r[best].live = 0;
    cr_assert_not(evq_pending(q, r[best].h), "a popped handle must not be pending");
}

static void mref_check_state(const struct evq *q, const struct mref *r, size_t nr)
{
    size_t live = 0;
    for (size_t i = 0; i < nr; i++)
        live += (size_t)r[i].live;
    cr_assert_eq(evq_len(q), live);
    size_t best = mref_min(r, nr);
    cr_assert_eq(evq_peek_time(q), best == SIZE_MAX ? INT64_MAX : r[best].t);
}

Test(evq, extreme_times_and_priorities_keep_the_exact_order)
{
    /* Times below 0 and at or above 2^56, and priorities from 255 up, share the queue's
     * internal sort keys with their neighbours; they must still pop in (t, prio, seq)
     * order. Listed here in that order, pushed in a scrambled one. */
    static const struct {
        int64_t t;
        uint32_t prio;
    } want[] = {
        {INT64_MIN, 7},
        {INT64_MIN, UINT32_MAX},
        {-(INT64_C(1) << 60), 0},
        {-5, 3},
        {-1, 0},
        {-1, 2},
        {0, 0},
        {0, 254},
        {0, 255},
        {0, 256},
        {0, UINT32_MAX},
        {1, 0},
        {(INT64_C(1) << 56) - 1, 3},
        {(INT64_C(1) << 56) - 1, 300},
        {INT64_C(1) << 56, 9},
        {(INT64_C(1) << 56) + 1, 0},
        {INT64_C(1) << 60, 0},
        {INT64_MAX, 0},
        {INT64_MAX, 1},
        {INT64_MAX, UINT32_MAX},
    };
    enum { N = sizeof want / sizeof want[0] };
    struct evq *q = evq_new(0, NULL);
    /* each key twice: the copy pushed later pops right after the first */
    for (size_t round = 0; round < 2; round++)
        for (size_t k = 0; k < N; k++) {
            size_t i = (k * 7 + 3) % N; /* 7 is prime to N: a permutation */
            cr_assert_neq(evq_push(q, want[i].t, want[i].prio, noop, &marker,
                                   (uint64_t)(i * 2 + round)),
                          0);
        }
    struct evq_event e;
    for (size_t i = 0; i < 2 * N; i++) {
        cr_assert(evq_pop(q, &e));
        cr_assert_eq(e.arg, i, "pop %zu: got key #%llu", i, (unsigned long long)e.arg);
        cr_assert_eq(e.t_us, want[i / 2].t);
        cr_assert_eq(e.prio, want[i / 2].prio);
    }
    cr_assert_not(evq_pop(q, &e));
    evq_free(q);
}

Test(evq, calls_right_after_a_pop_see_the_remaining_events)
{
    /* Every query and update between a pop and the next push (the common pattern in the
     * simulation) must see the queue without the popped event. */
    struct evq *q = evq_new(0, NULL);
    evq_handle h[6];
    int64_t t[6] = {30, 10, 50, 20, 40, 60};
    for (size_t i = 0; i < 6; i++)
        h[i] = evq_push(q, t[i], 0, noop, &marker, i);
    struct evq_event e;
    cr_assert(evq_pop(q, &e));
    cr_assert_eq(e.arg, 1);
    cr_assert_eq(evq_len(q), 5);
    cr_assert_eq(evq_peek_time(q), 20);
    cr_assert_not(evq_pending(q, h[1]));
    cr_assert_not(evq_cancel(q, h[1]));
    cr_assert_not(evq_reschedule(q, h[1], 5));
    cr_assert(evq_pending(q, h[3]));
    cr_assert_eq(evq_time(q, h[3]), 20);
    /* cancel the new earliest right after a pop */
    cr_assert(evq_pop(q, &e));
    cr_assert_eq(e.arg, 3);
    cr_assert(evq_cancel(q, h[0]));
    cr_assert_eq(evq_peek_time(q), 40);
    /* reschedule right after a pop */
    cr_assert(evq_pop(q, &e));
    cr_assert_eq(e.arg, 4);
    cr_assert(evq_reschedule(q, h[5], 45));
    cr_assert_eq(evq_peek_time(q), 45);
    cr_assert_eq(evq_len(q), 2);
    /* pop to empty; a push after the last pop refills the queue */
    cr_assert(evq_pop(q, &e));
    cr_assert_eq(e.arg, 5);
    cr_assert(evq_pop(q, &e));
    cr_assert_eq(e.arg, 2);
    cr_assert_eq(evq_len(q), 0);
    cr_assert_eq(evq_peek_time(q), INT64_MAX);
    cr_assert_not(evq_pop(q, &e));
    cr_assert_eq(evq_len(q), 0);
    evq_handle x = evq_push(q, 7, 0, noop, &marker, 99);
    cr_assert_eq(evq_len(q), 1);
    cr_assert_eq(evq_peek_time(q), 7);
    cr_assert(evq_pop(q, &e));
    cr_assert_eq(e.arg, 99);
    cr_assert_not(evq_pending(q, x));
    evq_free(q);
}

Test(evq, random_operations_match_a_full_model)
{
    /* Push (many equal times and priorities, some extreme ones), pop, cancel and
     * reschedule at random, with stale handles among the cancels and reschedules, and
     * compare every pop (time, priority, seq, action), the length and the earliest time
     * with a brute-force model. Bursts of pushes and of pops make the queue grow past its
     * capacity and shrink to empty repeatedly. */
    enum { N = 4000 };
    static const uint32_t prios[] = {0, 1, 2, 3, 3, 2, 254, 255, 256, UINT32_MAX};
    static const int64_t extreme[] = {INT64_MIN, -1, INT64_C(1) << 56, INT64_MAX};
    struct mref *r = calloc(N, sizeof *r);
    cr_assert_not_null(r);
    struct evq *q = evq_new(0, NULL);
    uint64_t s = 0x9e3779b97f4a7c15u;
    size_t nr = 0;
    uint64_t seq = 0;
    unsigned mode = 0; /* 0 mixed, 1 push burst, 2 pop burst */
    for (int step = 0; step < 40000; step++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        if (step % 2000 == 0)
            mode = (unsigned)(s >> 40) % 3;
        unsigned op = (unsigned)(s >> 20) % 10;
        if (mode == 1 && op < 8)
            op = 0;
        else if (mode == 2 && op < 8)
            op = 9;
        int64_t t = (int64_t)((s >> 32) % 64);
        if ((s >> 50) % 64 == 0)
            t = extreme[(s >> 8) % 4];
        uint32_t prio = prios[(s >> 3) % 10];
        if (op <= 3 && nr < N) {
            r[nr] = (struct mref){t, prio, seq++, 0, 1};
            r[nr].h = evq_push(q, t, prio, noop, &marker, nr);
            cr_assert_neq(r[nr].h, 0);
            nr++;
        } else if (op == 4 && nr > 0) {
            size_t i = (size_t)(s >> 5) % nr;
            cr_assert_eq(evq_cancel(q, r[i].h), r[i].live == 1);
            r[i].live = 0;
            cr_assert_not(evq_pending(q, r[i].h));
        } else if (op <= 6 && nr > 0) {
            size_t i = (size_t)(s >> 5) % nr;
            cr_assert_eq(evq_reschedule(q, r[i].h, t), r[i].live == 1);
            if (r[i].live) {
                r[i].t = t;
                r[i].seq = seq++;
                cr_assert_eq(evq_time(q, r[i].h), t);
            }
            cr_assert_eq(evq_pushes(q), seq);
        } else if (op == 7 && nr > 0) {
            size_t i = (size_t)(s >> 5) % nr;
            cr_assert_eq(evq_pending(q, r[i].h), r[i].live == 1);
            if (r[i].live)
                cr_assert_eq(evq_time(q, r[i].h), r[i].t);
        } else {
            mref_pop_check(q, r, nr);
        }
        mref_check_state(q, r, nr);
    }
    while (evq_len(q) > 0)
        mref_pop_check(q, r, nr);
    mref_pop_check(q, r, nr); /* empty: pop fails */
    evq_free(q);
    free(r);
}
