/* The ReplicaSet's scale-in order against cases worked out by hand from
 * kubernetes pkg/controller/controller_utils.go ActivePodsWithRanks.Less (v1.33). */
#include <criterion/criterion.h>

#include "sim/k8s/replicaset.h"

#define S(x) ((int64_t)((x) * 1e6))

/* A ready, running pod on a node of its own, ready and created long ago. */
static struct rs_pod base(uint64_t uid)
{
    return (struct rs_pod){.assigned = true, .running = true, .ready = true, .colocated = 1,
                           .ready_us = S(10), .created_us = S(5), .uid = uid};
}

static void before(struct rs_pod a, struct rs_pod b, double now_s)
{
    cr_assert(rs_less(&a, &b, S(now_s)));
    cr_assert_not(rs_less(&b, &a, S(now_s)));
}

Test(replicaset, log_rank_buckets_whole_seconds_of_age_in_nanoseconds)
{
    /* int64(log2(d ns)): 50 s = 5e10 ns -> 35.54 -> 35; 100 s -> 36.54 -> 36; 2^35 ns is
     * 34.36 s: 965.4 s is cut to 965 (35 s: 35.03 -> 35), 966.2 s to 966 (34 s: 34.98 ->
     * 34). A time not before now ranks -1. */
    cr_assert_eq(rs_log_rank(S(950), S(1000)), 35);
    cr_assert_eq(rs_log_rank(S(900), S(1000)), 36);
    cr_assert_eq(rs_log_rank(S(965.4), S(1000)), 35);
    cr_assert_eq(rs_log_rank(S(966.2), S(1000)), 34);
    cr_assert_eq(rs_log_rank(S(1000), S(1000)), -1);
    /* 999.5 s is cut to 999: 0.9 s = 9e8 ns -> 29.75 -> 29. */
    cr_assert_eq(rs_log_rank(S(999.5), S(999.9)), 29);
}

Test(replicaset, rules_one_to_five_in_order)
{
    struct rs_pod a = base(1), b = base(2);
    /* 1. unassigned first, whatever else: a Pending unassigned pod vs a ready one. */
    a = (struct rs_pod){.created_us = S(1), .uid = 9};
    before(a, b, 1000);
    /* 2. Pending (pulling on a node) before Running (not ready yet). */
    a = base(9);
    a.running = a.ready = false;
    b.ready = false;
    before(a, b, 1000);
    /* 3. not ready before ready, even if created long before. */
    a = base(9);
    a.ready = false;
    a.created_us = S(0);
    b = base(2);
    before(a, b, 1000);
    /* 4. the lower pod-deletion-cost first, even against a doubled-up pod. */
    a = base(9);
    a.deletion_cost = -5;
    b = base(2);
    b.colocated = 3;
    before(a, b, 1000);
    /* 5. doubled up first: two pods of the ReplicaSet on a's node, a ready longer. */
    a = base(9);
    a.colocated = 2;
    a.ready_us = S(10);
    b = base(2);
    b.ready_us = S(990);
    before(a, b, 1000);
}

Test(replicaset, ready_time_in_logarithmic_buckets_then_uid)
{
    /* now 1000 s. Ready at 950 s (bucket 35) before ready at 900 s (36). Ready at 940 s
     * is 60 s ago: bucket 35 too, so the lower UID goes first. */
    struct rs_pod a = base(7), b = base(1), c = base(3);
    a.ready_us = S(950);
    b.ready_us = S(900);
    c.ready_us = S(940);
    before(a, b, 1000);
    before(c, a, 1000);
    /* Across the 2^35 ns boundary: 966.2 s (34) before 965.4 s (35), whatever the UIDs. */
    a.ready_us = S(966.2);
    c.ready_us = S(965.4);
    a.uid = 100;
    c.uid = 1;
    before(a, c, 1000);
    /* The same second (950.2 and 950.7 s) is no difference: creation decides: 600 s
     * (400 s ago: 38) before 100 s (900 s ago: 39). */
    a = base(7);
    b = base(1);
    a.ready_us = S(950.2);
    b.ready_us = S(950.7);
    a.created_us = S(600);
    b.created_us = S(100);
    before(a, b, 1000);
    /* Created 10 s apart in the same bucket (900 and 990 s ago: 39): the lower UID. */
    a.created_us = S(100);
    b.created_us = S(10);
    before(b, a, 1000);
}

Test(replicaset, restarts_then_creation_for_pods_not_ready)
{
    /* Not ready: ready times do not count. More restarts first; then created at 990 s
     * (10 s ago: bucket 33) before created at 500 s (500 s ago: 38). */
    struct rs_pod a = base(5), b = base(6);
    a.ready = b.ready = false;
    a.ready_us = S(10);
    b.ready_us = S(999);
    a.restarts = 2;
    before(a, b, 1000);
    a.restarts = 0;
    a.created_us = S(990);
    b.created_us = S(500);
    before(a, b, 1000);
    /* Equal in every rule: neither is less; rs_order() falls back to the UID. */
    b = a;
    b.uid = 4;
    cr_assert_not(rs_less(&a, &b, S(1000)));
    cr_assert_not(rs_less(&b, &a, S(1000)));
}

Test(replicaset, restarts_rank_after_rules_one_to_six_and_before_creation)
{
    /* Rule 7 (compareMaxContainerRestarts) against its neighbours, now 1000 s. Each pair:
     * the pod with fewer restarts goes first when an earlier rule tells them apart. */
    struct rs_pod a = base(5), b = base(6);
    /* 2: Pending (restarts 0) before Running not Ready (restarts 5). */
    a.running = a.ready = false;
    b.ready = false;
    b.restarts = 5;
    before(a, b, 1000);
    /* 3: not Ready (0) before Ready (5). */
    a = base(5);
    a.ready = false;
    b = base(6);
    b.restarts = 5;
    before(a, b, 1000);
    /* 5: doubled up (0) before alone (5). */
    a = base(5);
    a.colocated = 2;
    before(a, b, 1000);
    /* 6: both Ready: Ready at 950 s (50 s ago: bucket 35, no restart) before at 900 s (100
     * s ago: 36, restarts 5). */
    a = base(5);
    a.ready_us = S(950);
    b.ready_us = S(900);
    before(a, b, 1000);
    /* Ready in the same second (950.2 and 950.7 s): rule 6 ties and rule 7 decides, before
     * creation: b (restarts 5, created at 5 s) before a (0, created at 990 s, 10 s ago:
     * bucket 33, which rule 8 would take first). */
    a.ready_us = S(950.2);
    b.ready_us = S(950.7);
    a.created_us = S(990);
    before(b, a, 1000);
    /* One restart more is enough, and only the count matters (3 vs 2). */
    a.restarts = 2;
    b.restarts = 3;
    before(b, a, 1000);
    /* Equal restarts: rule 8, a created more recently. */
    a.restarts = 3;
    before(a, b, 1000);
}

Test(replicaset, order_of_a_fleet_on_packed_nodes)
{
    /* now 3600 s. Two 8-GPU nodes, TP 2: node X holds p0, p1, p2 (3 active pods), node Y
     * p3, p4 (2); p5 is Pending unassigned; p6 is on node Z alone, Running but not Ready.
     * Expected: p5 (unassigned), p6 (not ready), then node X's pods (colocated 3) by
     * ready time: p2 ready at 3500 s (100 s ago: 36) before p0 at 100 s (3500 s ago: 41)
     * and p1 at 2000 s (1600 s ago: 40), so p2, p1, p0; then node Y's p4 (ready 3400 s:
     * 37) before p3 (ready 3000 s: 39). */
    struct rs_pod p[7];
    for (int i = 0; i < 7; i++)
        p[i] = base((uint64_t)(100 - i));
    p[0].colocated = p[1].colocated = p[2].colocated = 3;
    p[3].colocated = p[4].colocated = 2;
    p[0].ready_us = S(100);
    p[1].ready_us = S(2000);
    p[2].ready_us = S(3500);
    p[3].ready_us = S(3000);
    p[4].ready_us = S(3400);
    p[5] = (struct rs_pod){.colocated = 1, .created_us = S(3590), .uid = 50};
    p[6].ready = false;
    int32_t idx[7] = {0, 1, 2, 3, 4, 5, 6};
    rs_order(p, idx, 7, S(3600));
    static const int32_t want[7] = {5, 6, 2, 1, 0, 4, 3};
    for (int i = 0; i < 7; i++)
        cr_assert_eq(idx[i], want[i], "position %d: pod %d, expected %d", i, idx[i], want[i]);
    /* The same from any input order. */
    int32_t rev[7] = {6, 5, 4, 3, 2, 1, 0};
    rs_order(p, rev, 7, S(3600));
    for (int i = 0; i < 7; i++)
        cr_assert_eq(rev[i], want[i]);
}
