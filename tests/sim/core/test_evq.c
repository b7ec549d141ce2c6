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
