/* Deployments of different sizes (GPUs per pod) and GPU models sharing one cluster's
 * pools: Karpenter packs their combined pending pods, each pod lands only on its GPU's
 * instance types, consolidation and the cluster autoscaler's binpacking estimator move
 * and count every deployment's pods. Expected numbers are worked out by hand in each
 * test from the catalog's prices (models/data/instances.json: Karpenter's generated AWS
 * pricing for us-east-1; Azure retail prices for eastus). */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <string.h>

#include "models/catalog.h"
#include "sim/config/scenario.h"
#include "sim/sim_int.h"

#define FIX FIXTURES "/multi/"

struct mrun {
    struct scenario sc;
    struct catalog *cat;
    struct sim *s;
    struct rec_node nodes[64];
    char types[64][64];
    char reasons[64][48];
    size_t n_nodes;
};

static int node_cb(void *ctx, const struct rec_node *n)
{
    struct mrun *r = ctx;
    if (r->n_nodes < 64) {
        size_t i = r->n_nodes++;
        r->nodes[i] = *n;
        snprintf(r->types[i], sizeof r->types[i], "%s", n->instance_type);
        snprintf(r->reasons[i], sizeof r->reasons[i], "%s", n->end_reason ? n->end_reason : "");
        r->nodes[i].instance_type = r->types[i];
        r->nodes[i].end_reason = r->reasons[i];
    }
    return 0;
}

static struct sim_sink sink = {.node = node_cb};

static void load_with(struct mrun *r, const char *file, const char *const *sets, size_t n_sets)
{
    gsl_set_error_handler_off();
    memset(r, 0, sizeof *r);
    struct sim_err err = {0};
    cr_assert_eq(scenario_load(&r->sc, file, sets, n_sets, &err), SIM_OK, "%s: %s", err.where,
                 err.msg);
    r->cat = sim_load_catalog(&r->sc, &err);
    cr_assert_not_null(r->cat, "%s", err.msg);
}

static void load(struct mrun *r, const char *file)
{
    load_with(r, file, NULL, 0);
}

static void build(struct mrun *r)
{
    struct sim_err err = {0};
    sink.ctx = r;
    struct sim_options opt = {.catalog = r->cat, .sink = &sink};
    r->s = sim_new(&r->sc, &opt, &err);
    cr_assert_not_null(r->s, "%s: %s", err.where, err.msg);
}

static void go(struct mrun *r)
{
    struct sim_err err = {0};
    cr_assert_eq(sim_run(r->s, &err), SIM_OK, "%s", err.msg);
}

static void done(struct mrun *r)
{
    sim_free(r->s);
    catalog_free(r->cat);
    scenario_release(&r->sc);
}

/* What an autoscaler would write: deployment (arg >> 32) to (arg & 0xffffffff) replicas. */
static void set_desired(struct sim *s, void *obj, uint64_t arg)
{
    (void)obj;
    fleet_set_desired(s->deps[arg >> 32], (int32_t)(arg & 0xffffffffu));
}

static void at(struct mrun *r, double t_s, int dep, int desired)
{
    evq_push(r->s->q, (int64_t)llround(t_s * 1e6), PRIO_CONTROL, set_desired, NULL,
             (uint64_t)dep << 32 | (uint64_t)desired);
}

static const struct rec_node *node_row(const struct mrun *r, int32_t id)
{
    for (size_t i = 0; i < r->n_nodes; i++)
        if (r->nodes[i].node_id == id)
            return &r->nodes[i];
    cr_assert_fail("no row for node %d", id);
    return NULL;
}

/* g6.48xlarge (8 x L4) and g6.12xlarge (4 x L4) on demand in us-east-1, $/h. */
#define G6_48XL 13.3504
#define G6_12XL 4.6016
#define G6_XL 0.8048
#define P5_48XL 55.04

Test(cluster_mixed, tp4_and_two_tp2_pack_onto_one_8_gpu_node)
{
    /* Karpenter's queue (equal CPU and memory requests: creation order here) packs big
     * (TP4) into a new NodeClaim with the g6 types of >= 4 GPUs {g6.12xlarge, g6.24xlarge,
     * g6.48xlarge}; chat (TP2) joins it, narrowing the options to >= 6 GPUs {g6.48xlarge};
     * code (TP2) joins at 8 GPUs. One claim: the cheapest of its options, g6.48xlarge at
     * $13.3504/h, holds all three pods. */
    struct mrun r;
    load(&r, FIX "mixed_tp.yaml");
    build(&r);
    go(&r);
    const struct sim_result *all = sim_result(r.s);
    cr_assert_eq(all->cost.n_nodes, 1);
    cr_assert_str_eq(node_row(&r, 0)->instance_type, "g6.48xlarge");
    double end_s = ceil((double)all->end_us * 1e-6);
    cr_assert_float_eq(all->cost.usd, G6_48XL * end_s / 3600.0, 1e-9);
    for (int k = 0; k < 3; k++)
        cr_assert_eq(r.s->deps[k]->pods[0]->node, 0, "deployment %d", k);
    cr_assert_eq(r.s->nodes[0].gpus_free, 0);
    done(&r);
}

Test(cluster_mixed, separate_runs_need_a_node_each)
{
    /* Alone, each deployment's one pod gets the cheapest g6 type that holds it: TP4 and
     * TP2 both g6.12xlarge ($4.6016/h; no L4 type has 2 GPUs). Three runs bill three
     * nodes, $13.8048/h together against the shared node's $13.3504/h. */
    double usd_per_h = 0;
    for (int k = 0; k < 3; k++) {
        struct mrun r;
        load(&r, FIX "mixed_tp.yaml");
        struct scenario keep = r.sc.deployments[0];
        r.sc.deployments[0] = r.sc.deployments[k];
        r.sc.deployments[k] = keep;
        r.sc.n_deployments = 1;
        build(&r);
        go(&r);
        cr_assert_eq(sim_result(r.s)->cost.n_nodes, 1);
        cr_assert_str_eq(node_row(&r, 0)->instance_type, "g6.12xlarge", "deployment %d", k);
        usd_per_h += node_row(&r, 0)->price_usd_per_hour;
        r.sc.n_deployments = 3;
        done(&r);
    }
    cr_assert_float_eq(usd_per_h, 3 * G6_12XL, 1e-9);
    cr_assert_gt(usd_per_h, G6_48XL);
}

Test(cluster_mixed, each_deployment_lands_on_its_gpus_instance_types)
{
    /* t = 0: large (H100, TP4) opens a claim of {p5.48xlarge} (the only p5 type with >= 4
     * H100s); small's first pod (L4) cannot join it (no offering both pods run on) and
     * opens a claim of every g6 type; its second pod joins that one (>= 2 GPUs:
     * g6.12xlarge, g6.24xlarge, g6.48xlarge). Launched: p5.48xlarge ($55.04) and the
     * cheapest of the second claim, g6.12xlarge ($4.6016).
     * At 10 s large goes 1 -> 3 and small 2 -> 5: one large pod binds to node 0's 4 free
     * H100s, two small pods to node 1's 2 free L4s; one large and one small pod stay
     * Pending (node 0 is full, node 1 is full, and neither node has the other's GPU). The
     * batch window closes at 11 s: two claims, {p5.48xlarge} and every g6 type, launched
     * as p5.48xlarge and g6.xlarge ($0.8048, the cheapest L4 type); Ready at 101 s
     * (launch_to_ready 90 s). */
    struct mrun r;
    load(&r, FIX "mixed_gpus.yaml");
    build(&r);
    at(&r, 10, 0, 3);
    at(&r, 10, 1, 5);
    go(&r);
    cr_assert_eq(r.n_nodes, 4);
    cr_assert_str_eq(node_row(&r, 0)->instance_type, "p5.48xlarge");
    cr_assert_str_eq(node_row(&r, 1)->instance_type, "g6.12xlarge");
    cr_assert_float_eq(node_row(&r, 0)->price_usd_per_hour, P5_48XL, 1e-9);
    cr_assert_float_eq(node_row(&r, 1)->price_usd_per_hour, G6_12XL, 1e-9);
    int p5 = 0, g6xl = 0;
    for (int32_t id = 2; id < 4; id++) {
        const struct rec_node *n = node_row(&r, id);
        cr_assert_eq(n->requested_us, 11000000);
        cr_assert_eq(n->ready_us, 101000000);
        p5 += !strcmp(n->instance_type, "p5.48xlarge");
        g6xl += !strcmp(n->instance_type, "g6.xlarge");
    }
    cr_assert_eq(p5, 1);
    cr_assert_eq(g6xl, 1);
    /* every pod on a node of its GPU */
    for (int k = 0; k < 2; k++) {
        const struct deployment *d = r.s->deps[k];
        cr_assert_eq(d->n_pods, k == 0 ? 3 : 5);
        for (int32_t i = 0; i < d->n_pods; i++) {
            int32_t id = d->pods[i]->node;
            cr_assert_geq(id, 0);
            const char *ty = node_row(&r, id)->instance_type;
            cr_assert(k == 0 ? !strncmp(ty, "p5.", 3) : !strncmp(ty, "g6.", 3),
                      "%s pod %d on %s", d->sc->deployment, i, ty);
        }
    }
    done(&r);
}

Test(cluster_mixed, consolidation_moves_the_tp2_pod_into_free_gpus)
{
    /* g6.12xlarge only (4 x L4). t = 0: a (TP1 x 4) fills node 0, b (TP2) has node 1.
     * Passes every 10 s find nothing to do while node 0 is full (b's pod needs 2 GPUs; a
     * replacement g6.12xlarge is not cheaper). At 60 s a goes 4 -> 2: two of its pods are
     * deleted and exit at SIGTERM (no preStop, shutdown timeout 0), leaving node 0 two
     * free GPUs and a last pod event at 60 s, so node 0 is no candidate (consolidateAfter
     * 30 s) but node 1 is (last pod event at 0). The pass at 60 s: b's pod fits node 0's
     * free GPUs: delete node 1. Re-validated 15 s later (75 s), node 1 is drained: b's pod
     * is evicted and exits at once, its replacement binds to node 0, and node 1 ends at
     * 75 s (consolidation-underutilized). */
    struct mrun r;
    load(&r, FIX "consolidate_mixed.yaml");
    build(&r);
    at(&r, 60, 0, 2);
    go(&r);
    cr_assert_eq(r.n_nodes, 2);
    const struct rec_node *n1 = node_row(&r, 1);
    cr_assert_str_eq(n1->end_reason, "consolidation-underutilized");
    cr_assert_eq(n1->terminated_us, 75000000);
    cr_assert_eq(node_row(&r, 0)->terminated_us, -1);
    const struct deployment *b = r.s->deps[1];
    cr_assert_eq(b->n_pods, 2);
    cr_assert_eq(b->pods[0]->gone_us, 75000000);
    cr_assert_eq(b->pods[1]->node, 0);
    cr_assert_eq(b->pods[1]->scheduled_us, 75000000);
    cr_assert_eq(r.s->nodes[0].gpus_free, 0); /* 2 x TP1 + 1 x TP2 */
    done(&r);
}

Test(cluster_mixed, autoscaler_binpacking_estimate_for_mixed_pending_pods)
{
    /* One AKS pool of Standard_NC96ads_A100_v4 (4 x A100), count 1: b (TP1) and a (TP2)
     * share node 0 (3 GPUs used). At 10 s b goes 1 -> 4 and a 1 -> 3: one b pod binds to
     * node 0's last GPU; b2, b3 (TP1) and a1, a2 (TP2) stay Pending. The scan at 40 s
     * (GPU pods are helped once 30 s old) runs the estimator over the pool: group b first
     * (its oldest pod), onto new node e0: b2, b3 (2 GPUs left); group a: a1 onto e0 (full),
     * a2 does not fit e0, so a new node e1 takes it. Two nodes, 4 pods, 6 of 8 GPUs. The
     * pool grows by 2 at 40 s, and the next scans see the upcoming nodes take every
     * pending pod (no further scale-up). */
    struct mrun r;
    load(&r, FIX "aks_mixed.yaml");
    build(&r);
    at(&r, 10, 0, 4);
    at(&r, 10, 1, 3);
    go(&r);
    cr_assert_eq(r.n_nodes, 3);
    for (int32_t id = 1; id < 3; id++) {
        cr_assert_str_eq(node_row(&r, id)->instance_type, "Standard_NC96ads_A100_v4");
        cr_assert_eq(node_row(&r, id)->requested_us, 40000000);
        cr_assert_eq(node_row(&r, id)->ready_us, 400000000);
    }
    int32_t units = 0;
    for (int k = 0; k < 2; k++)
        for (int32_t i = 0; i < r.s->deps[k]->n_pods; i++) {
            cr_assert_geq(r.s->deps[k]->pods[i]->node, 0);
            units += r.s->deps[k]->gpus_per_pod;
        }
    cr_assert_eq(units, 4 * 1 + 3 * 2);
    done(&r);
}

Test(cluster_mixed, topology_spread_counts_each_deployments_own_pods)
{
    /* g6.48xlarge only, default profile. t = 0: x (TP1 x 7) and z (TP1 x 1) fill node 0.
     * 10 s: z 1 -> 3: both new pods Pending; node 1 requested at 11 s, Ready at 101 s,
     * both bind there (their image pulled by 221 s). 400 s: x 7 -> 6 frees one GPU on
     * node 0 (x6 + z1). 410 s: z 3 -> 4: node 0 (1 free) and node 1 (6 free) are feasible,
     * both have the image, both in the same zone, Fit truncates to 99 on both. The spread
     * score decides: the selector matches z's pods only, 1 on node 0 against 2 on node 1,
     * so raw = 1 ln 4 + 2 + zone against 2 ln 4 + 2 + zone: node 0 scores higher and takes
     * the pod. Counting every deployment's pods (7 against 2) would have sent it to
     * node 1. */
    struct mrun r;
    load(&r, FIX "spread_per_deployment.yaml");
    build(&r);
    at(&r, 10, 1, 3);
    at(&r, 400, 0, 6);
    at(&r, 410, 1, 4);
    go(&r);
    cr_assert_eq(r.n_nodes, 2);
    cr_assert_eq(node_row(&r, 1)->ready_us, 101000000);
    const struct deployment *z = r.s->deps[1];
    cr_assert_eq(z->n_pods, 4);
    cr_assert_eq(z->pods[1]->node, 1);
    cr_assert_eq(z->pods[2]->node, 1);
    cr_assert_eq(z->pods[3]->node, 0);
    cr_assert_eq(z->pods[3]->scheduled_us, 410000000);
    done(&r);
}

Test(cluster_mixed, a_deployment_whose_gpu_no_pool_offers_is_a_load_error)
{
    /* small on A10G: the NodePool allows the p5 and g6 families only (H100, L4). */
    struct mrun r;
    load(&r, FIX "mixed_gpus.yaml");
    snprintf(r.sc.deployments[1].engine.gpu, sizeof r.sc.deployments[1].engine.gpu, "a10g");
    struct sim_err err = {0};
    struct sim_options opt = {.catalog = r.cat};
    r.s = sim_new(&r.sc, &opt, &err);
    cr_assert_null(r.s);
    cr_assert_eq(err.code, SIM_EINVAL);
    cr_assert(strstr(err.msg, "deployment 'small': no instance type NodePool 'gpu' allows has GPU "
                              "'a10g' with at least 1 per node"),
              "%s", err.msg);
    cr_assert(strstr(err.where, "mixed_gpus.yaml:46:"), "%s", err.where); /* its engine.gpu */
    done(&r);
}

Test(cluster_mixed, the_bill_splits_by_the_price_of_the_gpus_held)
{
    /* mixed_gpus.yaml as loaded: large holds 4 of p5.48xlarge's 8 H100s ($55.04/h), small
     * holds 2 of g6.12xlarge's 4 L4s ($4.6016/h), both for the whole run. Priced GPU-time:
     * large 4 x 55.04 / 8 = $27.52/h, small 2 x 4.6016 / 4 = $2.3008/h: large pays
     * 27.52 / 29.8208 of the bill, exactly the p5's cost, small the g6's (plain GPU-time,
     * 4 : 2, would have charged small a third of the H100 node). */
    struct mrun r;
    load(&r, FIX "mixed_gpus.yaml");
    build(&r);
    go(&r);
    const struct sim_result *all = sim_result(r.s);
    double hours = ceil((double)all->end_us * 1e-6) / 3600.0;
    cr_assert_float_eq(all->cost.usd, (P5_48XL + G6_12XL) * hours, 1e-9);
    const struct sim_result *large = sim_deployment_result(r.s, 0);
    const struct sim_result *small = sim_deployment_result(r.s, 1);
    cr_assert_float_eq(large->cost.share_frac, 27.52 / 29.8208, 1e-12);
    cr_assert_float_eq(large->cost.usd, P5_48XL * hours, 1e-9);
    cr_assert_float_eq(small->cost.usd, G6_12XL * hours, 1e-9);
    done(&r);
}

Test(cluster_mixed, autoscaler_scale_down_moves_a_tp1_pod_into_a_tp2_pods_gpus)
{
    /* aks_mixed.yaml with b (TP1) x 2 and a (TP2) x 1: node 0 full (4 of 4). 10 s: b 2 -> 3:
     * b3 Pending, the scan at 40 s grows the pool by one (node 1, Ready at 400 s), b3
     * binds there (GPU utilization 1/4). 500 s: a 1 -> 0, its pod exits at once: node 0
     * has 2 free GPUs (utilization 2/4, not below the 0.5 threshold), node 1 is below it
     * and its pod fits node 0: unneeded from the scan at 500 s, deleted at the scan 10 min
     * later (1100 s; the last scale-up was at 40 s), b3's replacement binds to node 0. */
    struct mrun r;
    load(&r, FIX "aks_mixed.yaml");
    r.sc.deployments[0].fleet.replicas = 2;
    build(&r);
    at(&r, 10, 0, 3);
    at(&r, 500, 1, 0);
    go(&r);
    cr_assert_eq(r.n_nodes, 2);
    const struct rec_node *n1 = node_row(&r, 1);
    cr_assert_eq(n1->requested_us, 40000000);
    cr_assert_eq(n1->ready_us, 400000000);
    cr_assert_str_eq(n1->end_reason, "scale-down");
    cr_assert_eq(n1->terminated_us, 1100000000);
    const struct deployment *b = r.s->deps[0];
    cr_assert_eq(b->n_pods, 4);
    cr_assert_eq(b->pods[2]->gone_us, 1100000000);
    cr_assert_eq(b->pods[3]->node, 0);
    cr_assert_eq(b->pods[3]->scheduled_us, 1100000000);
    done(&r);
}

/* ---- cpu and memory requests (fleet.pod.resources) ---------------------------------- */

#define MIB 1048576LL
#define GIB 1073741824LL

/* Pods of every deployment bound to node id: their count and memory requests. */
static int32_t pods_on(const struct mrun *r, int32_t id, int64_t *mem)
{
    int32_t n = 0;
    *mem = 0;
    for (int32_t k = 0; k < r->s->n_deps; k++)
        for (int32_t i = 0; i < r->s->deps[k]->n_pods; i++)
            if (r->s->deps[k]->pods[i]->node == id && r->s->deps[k]->pods[i]->phase != POD_GONE) {
                n++;
                *mem += r->s->deps[k]->mem_bytes;
            }
    return n;
}

Test(cluster_mixed, memory_requests_need_a_second_node_where_gpus_fit_one)
{
    /* pack_one_node.yaml's two deployments (2 x TP2 each, 8 GPUs: one g6e.48xlarge) with
     * each pod requesting 400Gi. The node's allocatable memory (Karpenter's figure in the
     * catalog, by hand: 1536 GiB = 1572864 MiB less ceil(7.5%) = 117965 MiB VM overhead,
     * kube-reserved 11 x 492 pods + 255 = 5667 MiB, eviction 100 MiB) is 1449132 MiB
     * = 1415.2 GiB. Karpenter's claim takes three pods (1200 GiB, 6 GPUs); the fourth
     * would make 1600 GiB > 1415.2 GiB, so it opens a second claim: two g6e.48xlarge at
     * t = 0 (one without the requests: pack_one_node_for_two_deployments). No node holds
     * more than 3 pods' memory. */
    struct mrun r;
    load(&r, FIX "cpumem_pack.yaml");
    build(&r);
    go(&r);
    cr_assert_eq(r.n_nodes, 2);
    int32_t total = 0;
    for (int32_t id = 0; id < 2; id++) {
        cr_assert_str_eq(node_row(&r, id)->instance_type, "g6e.48xlarge");
        cr_assert_eq(node_row(&r, id)->requested_us, 0);
        int64_t mem;
        int32_t k = pods_on(&r, id, &mem);
        cr_assert_leq(mem, 1449132 * MIB, "node %d holds %d pods", id, k);
        cr_assert_eq(r.s->nodes[id].mem_req, mem);
        total += k;
    }
    cr_assert_eq(total, 4);
    done(&r);
}

Test(cluster_mixed, karpenter_picks_the_type_whose_allocatable_cpu_holds_the_pod)
{
    /* One TP1 pod of 16 cpu; types g6e.xlarge (4 vCPU, allocatable 3920m), 2xlarge
     * (7910m), 4xlarge (16 vCPU: 16000m less 60 + 10 + 10 + 0.25% x 12000 = 110m ->
     * 15890m), 8xlarge (31850m), 12xlarge (47810m, 4 GPUs). The 4xlarge's 16 vCPUs do not
     * hold a 16-cpu request: the cheapest type that does is g6e.8xlarge ($4.52856/h against
     * the 12xlarge's $10.49264/h). 15 cpu fits the 4xlarge ($3.00424/h). */
    struct mrun r;
    load(&r, FIX "cpumem_cpu.yaml");
    build(&r);
    cr_assert_eq(r.n_nodes, 0);
    go(&r);
    cr_assert_eq(r.n_nodes, 1);
    cr_assert_str_eq(node_row(&r, 0)->instance_type, "g6e.8xlarge");
    done(&r);
    const char *fifteen[] = {"fleet.pod.resources.requests.cpu=15"};
    load_with(&r, FIX "cpumem_cpu.yaml", fifteen, 1);
    build(&r);
    go(&r);
    cr_assert_eq(r.n_nodes, 1);
    cr_assert_str_eq(node_row(&r, 0)->instance_type, "g6e.4xlarge");
    done(&r);
    /* DaemonSet pods requesting 1 cpu on every node (cluster.daemonset_requests; Karpenter
     * adds them to every NodeClaim): 15 + 1 = 16 cpu > 15890m, the g6e.8xlarge again. */
    const char *ds[] = {"fleet.pod.resources.requests.cpu=15",
                        "cluster.daemonset_requests={cpu: 1, memory: 2Gi}"};
    load_with(&r, FIX "cpumem_cpu.yaml", ds, 2);
    build(&r);
    go(&r);
    cr_assert_eq(r.n_nodes, 1);
    cr_assert_str_eq(node_row(&r, 0)->instance_type, "g6e.8xlarge");
    done(&r);
}

Test(cluster_mixed, insufficient_cpu_keeps_a_pod_off_a_node_with_free_gpus)
{
    /* Two TP1 pods of 16 cpu: one claim of 2 GPUs and 32 cpu, held only by g6e.12xlarge
     * (4 GPUs, 47810m). At 10 s a third pod: node 0 has 2 free GPUs but 47810 - 32000 =
     * 15810m < 16000m (the kube-scheduler: "Insufficient cpu"; Karpenter's existing-node
     * fit the same), so it stays Pending; the batch closes at 11 s and Karpenter launches
     * the cheapest type for one 16-cpu pod, g6e.8xlarge, where the pod binds once Ready.
     * With 15 cpu (45000m <= 47810m) the third pod binds to node 0 at 10 s and no node is
     * launched. */
    struct mrun r;
    const char *two[] = {"fleet.replicas=2"};
    load_with(&r, FIX "cpumem_cpu.yaml", two, 1);
    build(&r);
    at(&r, 10, 0, 3);
    go(&r);
    cr_assert_eq(r.n_nodes, 2);
    cr_assert_str_eq(node_row(&r, 0)->instance_type, "g6e.12xlarge");
    cr_assert_str_eq(node_row(&r, 1)->instance_type, "g6e.8xlarge");
    cr_assert_eq(node_row(&r, 1)->requested_us, 11000000);
    const struct replica *third = r.s->deps[0]->pods[2];
    cr_assert_eq(third->node, 1);
    cr_assert_eq(third->scheduled_us, node_row(&r, 1)->ready_us);
    done(&r);
    const char *fifteen[] = {"fleet.replicas=2", "fleet.pod.resources.requests.cpu=15"};
    load_with(&r, FIX "cpumem_cpu.yaml", fifteen, 2);
    build(&r);
    at(&r, 10, 0, 3);
    go(&r);
    cr_assert_eq(r.n_nodes, 1);
    cr_assert_eq(r.s->deps[0]->pods[2]->node, 0);
    cr_assert_eq(r.s->deps[0]->pods[2]->scheduled_us, 10000000);
    done(&r);
}

Test(cluster_mixed, autoscaler_orders_pod_groups_by_cpu_and_memory)
{
    /* One AKS pool of Standard_NC96ads_A100_v4 (4 x A100, allocatable 96000m less AKS's
     * 140m + 10m x 92 cores = 1060m: 94940m), count 1 holding small-0 (38 cpu) and big-0
     * (56 cpu): 94000m. At 10 s small 1 -> 3 and big 1 -> 3; the four new pods are
     * Pending (node 0 is out of cpu though it has 2 free GPUs). The scan at 40 s runs the
     * estimator: DecreasingPodOrderer scores big 56000 / 94940 = 0.59 over small 0.40, so
     * big goes first: big-1 onto new node e0, big-2 does not fit e0 (112 > 94.94 cpu):
     * e1; then small onto the nodes so far, first fit: small-1 onto e0 (94 cpu), small-2
     * onto e1. Two nodes, requested at 40 s. In the order of their oldest pod (small
     * first, as with no cpu requests) the estimate would be three: small-1 and small-2 on
     * e0 (76 cpu), big-1 not on e0 (132), new e1, big-2 not on e1 (112), new e2.
     * Both are Ready at 40 s + 6 min = 400 s, node 1 first: the kube-scheduler binds the
     * pending pods in queue order, small-1 and small-2 onto node 1 (76 cpu), big-1 and
     * big-2 do not fit there; node 2 takes big-1, big-2 fits nowhere (112 cpu), and the
     * scan at 400 s (the pod is older than 30 s) adds one node for it, Ready at 760 s. */
    struct mrun r;
    load(&r, FIX "cpumem_aks.yaml");
    build(&r);
    at(&r, 10, 0, 3);
    at(&r, 10, 1, 3);
    go(&r);
    cr_assert_eq(r.n_nodes, 4);
    for (int32_t id = 1; id < 3; id++) {
        cr_assert_eq(node_row(&r, id)->requested_us, 40000000);
        cr_assert_eq(node_row(&r, id)->ready_us, 400000000);
    }
    cr_assert_eq(node_row(&r, 3)->requested_us, 400000000);
    cr_assert_eq(node_row(&r, 3)->ready_us, 760000000);
    const struct deployment *small = r.s->deps[0], *big = r.s->deps[1];
    cr_assert_eq(small->pods[1]->node, 1);
    cr_assert_eq(small->pods[2]->node, 1);
    cr_assert_eq(big->pods[1]->node, 2);
    cr_assert_eq(big->pods[2]->node, 3);
    for (int32_t id = 0; id < 4; id++)
        cr_assert_leq(r.s->nodes[id].cpu_req, 94940, "node %d", id);
    done(&r);
}

Test(cluster_mixed, autoscaler_scale_down_checks_cpu_where_the_gpus_would_fit)
{
    /* The pool at count 2, small at 1 replica (38 cpu) and big at 2 (56 cpu each): the
     * bigs go to different nodes (two do not fit 94940m), the small beside one of them
     * (94 cpu). The node with one big uses 1 of 4 GPUs, under the 0.5 GPU threshold, and
     * the other node has 2 free GPUs, but 94 + 56 cpu do not fit there: it is not
     * unneeded (the other, at 2 of 4 GPUs, is not under the threshold), and both nodes
     * live through the run's 20 minutes. Without cpu requests the lone big would move and
     * its node be scaled down after scale-down-unneeded-time (10 min). */
    struct mrun r;
    const char *sets[] = {"cluster.aks.nodePools.1.count=2", "deployments.1.fleet.replicas=2"};
    load_with(&r, FIX "cpumem_aks.yaml", sets, 2);
    build(&r);
    go(&r);
    cr_assert_eq(r.n_nodes, 2);
    int32_t pods = 0;
    for (int32_t id = 0; id < 2; id++) {
        cr_assert_str_eq(node_row(&r, id)->end_reason, "", "node %d: %s", id,
                         node_row(&r, id)->end_reason);
        int64_t mem;
        pods += pods_on(&r, id, &mem);
        cr_assert_leq(r.s->nodes[id].cpu_req, 94940, "node %d", id);
    }
    cr_assert_eq(pods, 3);
    done(&r);
}

Test(cluster_mixed, consolidation_does_not_move_a_pod_where_its_cpu_does_not_fit)
{
    /* Two TP1 pods of 30 cpu on g6e.12xlarge only (47810m): 60 cpu need two nodes, one pod
     * each (3 GPUs free on each). Consolidation (WhenEmptyOrUnderutilized, 1 min) would
     * delete one node by GPUs, but the other node's 17810m do not hold 30 cpu, and a
     * replacement of the same type is not cheaper: both nodes stay for the 10 minutes. */
    struct mrun r;
    const char *sets[] = {"fleet.replicas=2", "fleet.pod.resources.requests.cpu=30",
                          "cluster.karpenter.nodePool.spec.template.spec.requirements.0.values="
                          "[g6e.12xlarge]"};
    load_with(&r, FIX "cpumem_cpu.yaml", sets, 3);
    build(&r);
    go(&r);
    cr_assert_eq(r.n_nodes, 2);
    for (int32_t id = 0; id < 2; id++) {
        cr_assert_str_eq(node_row(&r, id)->instance_type, "g6e.12xlarge");
        cr_assert_str_eq(node_row(&r, id)->end_reason, "", "node %d", id);
    }
    done(&r);
}


