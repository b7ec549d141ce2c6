/* test_relayout.c: a MIG re-layout during a run (cluster.gpu_sharing.mig.relayout) as a
 * drain, against timelines worked out by hand (docs/gpu-sharing.md, "Re-partitioning
 * during a run"), and its load-time refusals. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "tests/sim/engine_harness.h"
#include "models/catalog.h"
#include "sim/cloud/gpushare.h"
#include "sim/config/scenario.h"
#include "sim/sim_int.h"

#define GS_FIX SOURCE_DIR "/tests/fixtures/gpushare/"
#define FIX GS_FIX "mig_relayout_aks.yaml"
#define EPS 1e-6
#define S(us) ((double)(us) * 1e-6)

struct out {
    struct h_sink pods;
    struct rec_node nodes[8];
    size_t n_nodes;
};

static int node_cb(void *ctx, const struct rec_node *n)
{
    struct out *o = ctx;
    if (o->n_nodes < 8)
        o->nodes[o->n_nodes++] = *n;
    return 0;
}

static int pod_cb(void *ctx, const struct rec_pod *p)
{
    return h_pod(&((struct out *)ctx)->pods, p);
}

static int req_cb(void *ctx, const struct rec_request *r)
{
    return h_request(&((struct out *)ctx)->pods, r);
}

static int sample_cb(void *ctx, const struct rec_sample *s)
{
    return h_sample(&((struct out *)ctx)->pods, s);
}

/* Run fixture `file` with `sets` applied; the run is left for the test to inspect. */
static struct sim *run_file(const char *file, struct scenario *sc, struct catalog **cat,
                            struct out *o, const char *const *sets, size_t n_sets)
{
    gsl_set_error_handler_off();
    memset(o, 0, sizeof *o);
    struct sim_err err = {0};
    cr_assert_eq(scenario_load(sc, file, sets, n_sets, &err), SIM_OK, "%s: %s", err.where,
                 err.msg);
    *cat = catalog_new(NULL, &err);
    cr_assert_not_null(*cat, "%s", err.msg);
    static struct sim_sink sink;
    sink = (struct sim_sink){.ctx = o, .request = req_cb, .sample = sample_cb, .pod = pod_cb,
                             .node = node_cb};
    struct sim_options opt = {.catalog = *cat, .sink = &sink};
    struct sim *s = sim_new(sc, &opt, &err);
    cr_assert_not_null(s, "%s: %s", err.where, err.msg);
    cr_assert_eq(sim_run(s, &err), SIM_OK, "%s", err.msg);
    return s;
}

static struct sim *run(struct scenario *sc, struct catalog **cat, struct out *o,
                       const char *const *sets, size_t n_sets)
{
    return run_file(FIX, sc, cat, o, sets, n_sets);
}

static void done(struct sim *s, struct catalog *cat, struct scenario *sc, struct out *o)
{
    sim_free(s);
    catalog_free(cat);
    scenario_release(sc);
    free(o->pods.rows);
}

static const struct rec_pod *pod(const struct out *o, int32_t id)
{
    for (size_t i = 0; i < o->pods.n_pods; i++)
        if (o->pods.pods[i].pod_id == id)
            return &o->pods.pods[i];
    cr_assert_fail("no row for pod %d", id);
    return NULL;
}

Test(relayout, all_3g_to_all_1g_drains_one_node_at_a_time_and_strands_the_3g_pods)
{
    /* Two ND96isr_H100_v5 nodes, 8 x H100 SXM 80GB each, all-3g.40gb: 16 x 3g.40gb per
     * node; two replicas, one per node (the default profile spreads them). At 600 s the
     * layout becomes all-1g.10gb, max_unavailable 1, repartition 2 min; the pods' grace
     * is 30 s with a 10 s preStop, vLLM exits at SIGTERM (shutdown timeout 0); a new pod
     * is up 15 GiB / 3 GiB/s + 40 s = 45 s after its scheduling (image on the nodes) and
     * Ready at the first 10 s readiness probe after that: 50 s.
     *   600 node 0 cordoned; its pod evicted: terminating 600, SIGTERM and gone at 610.
     *       The ReplicaSet's replacement (pod 2) binds at once to node 1 (node 0 is
     *       cordoned; node 1 has 15 slices free): Ready at 650.
     *   610 node 0 empty: mig-manager re-partitions it until 730 (no slice advertised).
     *   730 node 0 uncordoned with 8 x 7 = 56 x 1g.10gb and no 3g.40gb; node 1 cordoned,
     *       pods 1 and 2 evicted (gone at 740); their replacements (3, 4) find no node.
     *   740 node 1 empty, re-partitioned until 860.
     * Both nodes are billed for the whole run, drain and re-partitioning included. */
    struct scenario sc;
    struct catalog *cat;
    struct out o;
    struct sim *s = run(&sc, &cat, &o, NULL, 0);
    int32_t on0 = pod(&o, 0)->node_id == 0 ? 0 : 1; /* the initial pod on node 0 */
    cr_assert_eq(pod(&o, 1 - on0)->node_id, 1);
    const struct rec_pod *p0 = pod(&o, on0), *p1 = pod(&o, 1 - on0), *p2 = pod(&o, 2);
    cr_assert_float_eq(S(p0->terminating_us), 600, EPS);
    cr_assert_float_eq(S(p0->terminated_us), 610, EPS);
    cr_assert_str_eq(p0->end_reason, "mig-relayout");
    cr_assert_float_eq(S(p2->created_us), 600, EPS);
    cr_assert_eq(p2->node_id, 1);
    cr_assert_float_eq(S(p2->scheduled_us), 600, EPS);
    cr_assert_float_eq(S(p2->ready_us), 650, EPS);
    for (int k = 0; k < 2; k++) {
        const struct rec_pod *p = k ? p2 : p1;
        cr_assert_float_eq(S(p->terminating_us), 730, EPS);
        cr_assert_float_eq(S(p->terminated_us), 740, EPS);
        cr_assert_str_eq(p->end_reason, "mig-relayout");
    }
    for (int32_t id = 3; id <= 4; id++) {
        cr_assert_float_eq(S(pod(&o, id)->created_us), 730, EPS);
        cr_assert_eq(pod(&o, id)->node_id, -1); /* Pending to the end */
    }
    cr_assert_eq(o.pods.n_pods, 5);
    /* after: both nodes in the new layout, no 3g.40gb left */
    for (int32_t i = 0; i < 2; i++) {
        cr_assert_eq(gpushare_node_layout(s, &s->nodes[i]), 1);
        cr_assert_eq(s->nodes[i].units, 0);
        cr_assert_eq(s->nodes[i].state, NODE_READY);
    }
    char adv[96];
    gpushare_layout_text(s, 1, 8, adv, sizeof adv);
    cr_assert_str_eq(adv, "nvidia.com/mig-1g.10gb: 56");
    gpushare_layout_text(s, 0, 8, adv, sizeof adv);
    cr_assert_str_eq(adv, "nvidia.com/mig-3g.40gb: 16");
    const struct sim_result *r = sim_result(s);
    cr_assert_eq(r->mig_relayout_nodes, 2);
    cr_assert_eq(r->mig_relayout_evictions, 3);
    const char *want[] = {
        "600.000 s re-layout 0 to 7 x 1g.10gb per GPU",
        "600.000 s node 0 of pool h100 cordoned",
        "610.000 s node 0 drained (1 pod evicted), re-partitioning for 120.000 s",
        "730.000 s node 0 uncordoned, advertising nvidia.com/mig-1g.10gb: 56",
        "730.000 s node 1 of pool h100 cordoned",
        "740.000 s node 1 drained (2 pods evicted), re-partitioning for 120.000 s",
        "860.000 s node 1 uncordoned, advertising nvidia.com/mig-1g.10gb: 56",
        "Pending: 0/2 nodes are available: 2 Insufficient nvidia.com/mig-3g.40gb.",
    };
    const char *at = r->mig_relayout;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *hit = strstr(at, want[i]);
        cr_assert_not_null(hit, "'%s' not in order in '%s'", want[i], r->mig_relayout);
        at = hit + strlen(want[i]);
    }
    /* the bill: $98.32/h per node from 0 to the run's end, whole seconds */
    double end_s = ceil(S(s->now_us));
    cr_assert_eq(o.n_nodes, 2);
    for (size_t i = 0; i < 2; i++) {
        cr_assert_float_eq(o.nodes[i].cost_usd, 98.32 * end_s / 3600.0, 1e-9);
        cr_assert_null(o.nodes[i].end_reason);
    }
    cr_assert_float_eq(r->cost.usd, 2 * 98.32 * end_s / 3600.0, 1e-9);
    done(s, cat, &sc, &o);
}

Test(relayout, pods_restart_on_the_repartitioned_node_when_their_profile_stays)
{
    /* The same cluster re-partitioned all-balanced (per H100: 2 x 1g.10gb, 2g.20gb,
     * 3g.40gb): one 3g.40gb per GPU, 8 per node, instead of 16. As above until 730 s,
     * when node 0 comes back with 8 x 3g.40gb: node 1's pods 1 and 2 are evicted and their
     * replacements (3, 4) bind to node 0 at once, Ready at 780. Capacity of the pods'
     * resource: 32 before, 16 after. */
    struct scenario sc;
    struct catalog *cat;
    struct out o;
    const char *sets[] = {"cluster.gpu_sharing.mig.relayout.0.config=all-balanced"};
    struct sim *s = run(&sc, &cat, &o, sets, 1);
    cr_assert_float_eq(S(pod(&o, 2)->ready_us), 650, EPS);
    for (int32_t id = 3; id <= 4; id++) {
        const struct rec_pod *p = pod(&o, id);
        cr_assert_float_eq(S(p->created_us), 730, EPS);
        cr_assert_eq(p->node_id, 0);
        cr_assert_float_eq(S(p->scheduled_us), 730, EPS);
        cr_assert_float_eq(S(p->ready_us), 780, EPS);
        cr_assert_null(p->end_reason);
    }
    cr_assert_eq(s->nodes[0].units, 8);
    cr_assert_eq(s->nodes[0].gpus_free, 6);
    cr_assert_eq(s->nodes[1].units, 8);
    cr_assert_eq(s->nodes[1].gpus_free, 8);
    cr_assert_null(strstr(sim_result(s)->mig_relayout, "Pending"));
    done(s, cat, &sc, &o);
}

Test(relayout, two_nodes_at_once_with_max_unavailable_2)
{
    /* max_unavailable 2: both nodes cordoned at 600, both pods gone at 610, both nodes
     * re-partitioned 610-730; the replacements wait Pending (every node cordoned) and bind
     * at 730 to the new 3g.40gb slices (all-balanced): Ready at 780. */
    struct scenario sc;
    struct catalog *cat;
    struct out o;
    const char *sets[] = {"cluster.gpu_sharing.mig.relayout.0.config=all-balanced",
                          "cluster.gpu_sharing.mig.relayout.0.max_unavailable=2"};
    struct sim *s = run(&sc, &cat, &o, sets, 2);
    for (int32_t id = 0; id <= 1; id++)
        cr_assert_float_eq(S(pod(&o, id)->terminated_us), 610, EPS);
    for (int32_t id = 2; id <= 3; id++) {
        cr_assert_float_eq(S(pod(&o, id)->created_us), 600, EPS);
        cr_assert_float_eq(S(pod(&o, id)->scheduled_us), 730, EPS);
        cr_assert_float_eq(S(pod(&o, id)->ready_us), 780, EPS);
    }
    cr_assert_eq(sim_result(s)->mig_relayout_nodes, 2);
    done(s, cat, &sc, &o);
}

Test(relayout, two_models_one_keeps_its_profile_the_other_is_stranded)
{
    /* mig_relayout_two_models.yaml: one ND96isr_H100_v5, all-balanced (per node 16 x
     * 1g.10gb, 8 x 2g.20gb, 8 x 3g.40gb); chat's two pods on 3g.40gb, code's two on
     * 1g.10gb. At 600 s the node is cordoned and its four pods evicted (preStop 10 s: gone
     * at 610); the four replacements wait (the only node is cordoned). Re-partitioned
     * 610-730 to all-1g.10gb: 56 x 1g.10gb, no 3g.40gb. At 730 code's replacements bind
     * (Ready at 780); chat's stay Pending to the end. */
    struct scenario sc;
    struct catalog *cat;
    struct out o;
    struct sim *s = run_file(GS_FIX "mig_relayout_two_models.yaml", &sc, &cat, &o, NULL, 0);
    for (int32_t k = 0; k < 2; k++) {
        const struct deployment *d = s->deps[k];
        cr_assert_eq(d->n_pods, 4);
        for (int32_t i = 0; i < 2; i++) {
            cr_assert_eq(d->pods[i]->terminating_us, 600000000);
            cr_assert_eq(d->pods[i]->gone_us, 610000000);
            cr_assert_str_eq(d->pods[i]->end_reason, "mig-relayout");
        }
        for (int32_t i = 2; i < 4; i++) {
            const struct replica *rp = d->pods[i];
            cr_assert_eq(rp->created_us, 600000000);
            if (k == 0) {
                cr_assert_eq(rp->node, -1); /* chat: Pending */
            } else {
                cr_assert_eq(rp->node, 0);
                cr_assert_eq(rp->scheduled_us, 730000000);
                cr_assert_eq(rp->ready_us, 780000000);
            }
        }
    }
    /* the node as the kube-scheduler sees it for each deployment's pods */
    int64_t alloc = -1, req = -1;
    gpushare_sched_units(s, s->deps[0], &s->nodes[0], &alloc, &req);
    cr_assert_eq(alloc, 0);
    cr_assert_eq(req, 0);
    gpushare_sched_units(s, s->deps[1], &s->nodes[0], &alloc, &req);
    cr_assert_eq(alloc, 56);
    cr_assert_eq(req, 2);
    cr_assert(strstr(sim_result(s)->mig_relayout,
                     "2 pods of chat Pending: 0/1 nodes are available: 1 Insufficient "
                     "nvidia.com/mig-3g.40gb.") != NULL,
              "%s", sim_result(s)->mig_relayout);
    done(s, cat, &sc, &o);
}

/* ---- refusals at load time (file:line:col) ---------------------------------------------- */

static void refused(const char *const *sets, size_t n, const char *where, const char *what)
{
    struct scenario sc;
    struct catalog *cat;
    gsl_set_error_handler_off();
    struct sim_err err = {0};
    int rc = scenario_load(&sc, FIX, sets, n, &err);
    struct sim *s = NULL;
    if (rc == SIM_OK) {
        cat = catalog_new(NULL, &err);
        struct sim_options opt = {.catalog = cat};
        s = sim_new(&sc, &opt, &err);
        catalog_free(cat);
        scenario_release(&sc);
    }
    cr_assert_null(s);
    cr_assert_eq(err.code, SIM_EINVAL);
    cr_assert(strstr(err.where, where) != NULL, "where '%s', want '%s' (%s)", err.where, where,
              err.msg);
    cr_assert(strstr(err.msg, what) != NULL, "'%s' lacks '%s'", err.msg, what);
}

Test(relayout, an_invalid_layout_for_the_gpu_is_refused)
{
    const char *a[] = {"cluster.gpu_sharing.mig.relayout.0.config=all-1g.12gb"};
    refused(a, 1, ":", "'all-1g.12gb' is not a mig-parted config for "
                                            "h100-sxm-80gb");
    const char *b[] = {"cluster.gpu_sharing.mig.relayout.0={at: 600s, devices: {3g.40gb: 2, "
                       "1g.10gb: 1}}"};
    refused(b, 1, ":", "the MIG layout cannot be placed on one h100-sxm-80gb");
}

Test(relayout, an_aks_gpu_instance_profile_pool_cannot_be_relaid_out)
{
    const char *a[] = {"cluster.aks.nodePools.1.gpuInstanceProfile=MIG3g"};
    refused(a, 1, ":", "AKS sets it when the pool is created and it cannot be changed");
}

Test(relayout, times_out_of_order_are_refused)
{
    const char *a[] = {"cluster.gpu_sharing.mig.relayout=[{at: 10m, config: all-1g.10gb}, "
                       "{at: 5m, config: all-3g.40gb}]"};
    refused(a, 1, ":", "must come after the previous re-layout's 'at'");
}

Test(relayout, relayout_without_a_node_pool_or_without_mig_is_refused)
{
    const char *a[] = {"cluster={gpu_sharing: {mig: {config: all-3g.40gb, relayout: [{at: 600s, "
                       "config: all-1g.10gb}]}}}"};
    refused(a, 1, ":", "the implicit pool without a provisioner is not modelled");
    const char *b[] = {"cluster.gpu_sharing={time_slicing: {sharing: {timeSlicing: {resources: "
                       "[{name: nvidia.com/gpu, replicas: 2}]}}}, relayout: [{at: 1s, config: "
                       "all-1g.10gb}]}"};
    refused(b, 1, ":", "without MIG there is no layout to change");
    const char *c[] = {"cluster.gpu_sharing.mig.relayout.0.pools=[nope]"};
    refused(c, 1, ":", "'nope' is not a User node pool");
}
