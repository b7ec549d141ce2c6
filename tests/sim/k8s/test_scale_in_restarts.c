/* test_scale_in_restarts.c: which pod the ReplicaSet deletes when a container has
 * restarted (ActivePodsWithRanks.Less rule 7, kubernetes pkg/controller/controller_utils.go
 * v1.33), in a run whose second engine crash-loops on a full time-sliced GPU; the
 * timelines are worked out by hand in each test. */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/sim/engine_harness.h"
#include "models/catalog.h"
#include "sim/config/scenario.h"
#include "sim/sim_int.h"

#define FIX SOURCE_DIR "/tests/fixtures/replicaset/crash_loop.yaml"
#define S(x) ((int64_t)((x) * 1e6))

static void set_desired(struct sim *s, void *obj, uint64_t arg)
{
    (void)obj;
    fleet_set_desired(s->deps[0], (int32_t)arg);
}

struct change {
    double t_s;
    int32_t desired;
};

struct run {
    struct scenario sc;
    struct catalog *cat;
    struct sim *s;
};

/*
 * crash_loop.yaml with no pod at the start, the Deployment scaled 0 -> 2 at 1 s and then
 * as `ch` says. Both pods are created at 1 s and bind to one new node (two time-sliced
 * replicas of its GPU); the image (1 GiB at 0.1 GiB/s) is pulled by 11 s. Then pod 0's
 * engine starts and holds 0.60 of the GPU's memory (weights 20 GiB at 2 GiB/s to 21 s,
 * engine init 200 s: Ready at the probe at 221 s); pod 1's finds 0.40 free, vLLM's
 * start-up check fails. The kubelet (Kubernetes v1.33 doBackOff, flowcontrol.Backoff)
 * restarts the container at once after its first exit (no back-off entry yet; Next sets
 * it to 10 s), then after 10, 20, 40 s ...: tries at 11, 11, 21, 41, 81 s. Its status's
 * restartCount is that of its latest container: 0 for the first (11 s), 1 from the second
 * (created at 11 s), 2 from 21 s, 3 from 41 s, 4 from 81 s.
 */
static void run(struct run *r, const struct change *ch, size_t n_ch)
{
    gsl_set_error_handler_off();
    struct sim_err err = {0};
    cr_assert_eq(scenario_load(&r->sc, FIX, NULL, 0, &err), SIM_OK, "%s: %s", err.where,
                 err.msg);
    cr_assert_eq(r->sc.n_deployments, 1);
    r->sc.deployments[0].fleet.replicas = 0;
    r->cat = catalog_new(NULL, &err);
    cr_assert_not_null(r->cat, "%s", err.msg);
    struct sim_options opt = {.catalog = r->cat};
    r->s = sim_new(&r->sc, &opt, &err);
    cr_assert_not_null(r->s, "%s: %s", err.where, err.msg);
    cr_assert(evq_push(r->s->q, S(1), PRIO_CONTROL, set_desired, NULL, 2));
    for (size_t i = 0; i < n_ch; i++)
        cr_assert(evq_push(r->s->q, S(ch[i].t_s), PRIO_CONTROL, set_desired, NULL,
                           (uint64_t)ch[i].desired));
    cr_assert_eq(sim_run(r->s, &err), SIM_OK, "%s", err.msg);
    const struct deployment *d = r->s->deps[0];
    cr_assert_geq(d->n_pods, 2);
    /* Rule 8 alone (created in the same second) would delete the lower UID: pod 0's. */
    cr_assert_lt(d->pods[0]->uid, d->pods[1]->uid);
    cr_assert_eq(d->pods[0]->created_us, S(1));
    cr_assert_eq(d->pods[1]->created_us, S(1));
    cr_assert_eq(d->pods[0]->node, d->pods[1]->node);
}

static void done(struct run *r)
{
    sim_free(r->s);
    catalog_free(r->cat);
    scenario_release(&r->sc);
}

Test(scale_in_restarts, the_pod_whose_container_restarted_is_deleted_first)
{
    /* 2 -> 1 at 30 s. Both pods are assigned to one node (colocated 2 each), Running (pod
     * 0 loading, pod 1's container in CrashLoopBackOff), not Ready, of cost 0, so rules
     * 1-6 tie; rule 7: pod 1's restartCount is 2 (its third container, created at 21 s,
     * died at once; the fourth is due at 41 s), pod 0's 0: pod 1 goes, at once (no
     * container runs), although its UID would keep it. Pod 0 becomes Ready and stays. */
    static const struct change ch[] = {{30, 1}};
    struct run r;
    run(&r, ch, 1);
    const struct replica *p0 = r.s->deps[0]->pods[0], *p1 = r.s->deps[0]->pods[1];
    cr_assert_eq(p1->restarts, 3); /* three deaths (11, 11, 21 s), the third container's */
    cr_assert_eq(p1->gone_us, S(30));
    cr_assert_str_eq(p1->end_reason, "scaled-in");
    cr_assert_eq(p0->terminating_us, -1);
    cr_assert_eq(p0->ready_us, S(221));
    cr_assert_eq(r.s->deps[0]->res.engine_failed_starts, 3);
    done(&r);
}

Test(scale_in_restarts, the_first_exit_is_restarted_at_once_and_counts)
{
    /* 2 -> 1 at 15 s: pod 1's first container died at 11 s and, with no back-off entry
     * yet, the kubelet created the second at once (restartCount 1); that one died at 11 s
     * too and the third is due at 21 s (back-off 10 s), so the count is still 1 (the
     * latest container's, not the 2 deaths). Its phase is Running (a waiting container
     * that has terminated counts as stopped, and with restartPolicy Always a pod whose
     * containers are all stopped is Running). Rules 1-6 tie; rule 7 deletes pod 1 (1 > 0)
     * although its UID would keep it: a first back-off of 10 s, restartCount 0 until 21 s,
     * would have left the tie to rule 8 and deleted pod 0. Pod 0 stays and is Ready at the
     * probe at 221 s. */
    static const struct change ch[] = {{15, 1}};
    struct run r;
    run(&r, ch, 1);
    const struct replica *p0 = r.s->deps[0]->pods[0], *p1 = r.s->deps[0]->pods[1];
    cr_assert_eq(p1->gone_us, S(15));
    cr_assert_str_eq(p1->end_reason, "scaled-in");
    cr_assert_eq(p1->restarts, 2);
    cr_assert_eq(p0->terminating_us, -1);
    cr_assert_eq(p0->ready_us, S(221));
    cr_assert_eq(r.s->deps[0]->res.engine_failed_starts, 2);
    done(&r);
}

Test(scale_in_restarts, a_pending_pod_goes_before_a_restarted_running_one)
{
    /* 2 -> 3 at 25 s: the node's two GPU replicas are taken, pod 2 binds to a new node at
     * once and pulls the image until 35 s. 3 -> 2 at 30 s: pod 2 is Pending (rule 2)
     * with no restart, pod 1 Running with restartCount 2: rule 2 precedes rule 7, and
     * rule 5 (pods 0 and 1 share a node) after it: pod 2 goes. */
    static const struct change ch[] = {{25, 3}, {30, 2}};
    struct run r;
    run(&r, ch, 2);
    const struct deployment *d = r.s->deps[0];
    cr_assert_eq(d->n_pods, 3);
    const struct replica *p0 = d->pods[0], *p1 = d->pods[1], *p2 = d->pods[2];
    cr_assert_eq(p2->created_us, S(25));
    cr_assert_neq(p2->node, p1->node);
    cr_assert_eq(p2->gone_us, S(30));
    cr_assert_str_eq(p2->end_reason, "scaled-in");
    /* Pods 0 and 1 stay: pod 0 Ready at 221 s; pod 1 fails at 11, 11 (restarted at once),
     * 21, 41, 81, 161 and 321 s (back-off 10, 20, 40, 80, 160 s, then 320 s capped at
     * 300 s; each try fails at once, so the entry never reaches 600 s) and would try next
     * at 621 s, after the run's end. */
    cr_assert_eq(p0->ready_us, S(221));
    cr_assert_eq(p1->terminating_us, -1);
    cr_assert_eq(p1->restarts, 7);
    done(&r);
}
