/* The kube-scheduler's filters, scores and choice against cases worked out by hand from
 * kubernetes/kubernetes pkg/scheduler/framework/plugins (v1.33): noderesources
 * least_allocated.go / most_allocated.go / balanced_allocation.go, tainttoleration,
 * nodeaffinity, imagelocality, podtopologyspread/scoring.go, schedule_one.go selectHost. */
#include <criterion/criterion.h>
#include <string.h>

#include "sim/core/rng.h"
#include "sim/k8s/scheduler.h"

#define GIB (1024LL * 1024 * 1024)
#define MIB (1024LL * 1024)

static struct sched_node gpu_node(int64_t gpus, int64_t used)
{
    return (struct sched_node){.allocatable = {0, 0, gpus}, .requested = {0, 0, used}};
}

static struct sched_profile gpu_only(enum sched_strategy s)
{
    struct sched_profile p;
    sched_profile_default(&p);
    p.strategy = s;
    p.res_weight[SCHED_CPU] = p.res_weight[SCHED_MEMORY] = 0;
    p.res_weight[SCHED_GPU] = 1;
    return p;
}

Test(scheduler, least_and_most_allocated_on_gpus_by_hand)
{
    /* Two 8-GPU nodes with 2 and 6 GPUs allocated, a 2-GPU pod. LeastAllocated:
     * (8 - 4) * 100 / 8 = 50 and (8 - 8) * 100 / 8 = 0; MostAllocated: 4 * 100 / 8 = 50
     * and 8 * 100 / 8 = 100. */
    struct sched_pod pod = {.requests = {0, 0, 2}};
    struct sched_node a = gpu_node(8, 2), b = gpu_node(8, 6);
    struct sched_profile least = gpu_only(SCHED_LEAST_ALLOCATED);
    struct sched_profile most = gpu_only(SCHED_MOST_ALLOCATED);
    cr_assert_eq(sched_score_fit(&least, &pod, &a), 50);
    cr_assert_eq(sched_score_fit(&least, &pod, &b), 0);
    cr_assert_eq(sched_score_fit(&most, &pod, &a), 50);
    cr_assert_eq(sched_score_fit(&most, &pod, &b), 100);
    /* 3 of 8 after the pod: least (8 - 3) * 100 / 8 = 62.5 -> 62 (integer division). */
    struct sched_pod one = {.requests = {0, 0, 1}};
    struct sched_node c = gpu_node(8, 2);
    cr_assert_eq(sched_score_fit(&least, &one, &c), 62);
    cr_assert_eq(sched_score_fit(&most, &one, &c), 37);
}

Test(scheduler, default_profile_scores_cpu_and_memory_with_the_nonzero_defaults)
{
    /* A pod with no cpu/memory requests counts 100m and 200 MiB (GetNonzeroRequests).
     * g6e.xlarge-like node, 4 vCPU, 32 GiB. Empty: cpu (4000 - 100) * 100 / 4000 = 97.5
     * -> 97, memory (32 GiB - 200 MiB) * 100 / 32 GiB = 99.39 -> 99: (97 + 99) / 2 = 98.
     * One pod already: cpu 3800 * 100 / 4000 = 95, memory (32 GiB - 400 MiB) -> 98.78
     * -> 98: 193 / 2 = 96. GPUs are not scored by default. */
    struct sched_profile p;
    sched_profile_default(&p);
    struct sched_pod pod = {.requests = {0, 0, 1}};
    struct sched_node empty = {.allocatable = {4000, 32 * GIB, 1}};
    struct sched_node one = {.allocatable = {4000, 32 * GIB, 2},
                             .requested = {0, 0, 1},
                             .nonzero_requested = {100, 200 * MIB}};
    cr_assert_eq(sched_score_fit(&p, &pod, &empty), 98);
    cr_assert_eq(sched_score_fit(&p, &pod, &one), 96);
    /* On a 96-vCPU, 768 GiB node both truncate to 99 whether it holds 1 or 3 pods: the
     * default Fit score cannot tell them apart. */
    struct sched_node big1 = {.allocatable = {96000, 768 * GIB, 8},
                              .nonzero_requested = {100, 200 * MIB}};
    struct sched_node big3 = {.allocatable = {96000, 768 * GIB, 8},
                              .nonzero_requested = {300, 600 * MIB}};
    cr_assert_eq(sched_score_fit(&p, &pod, &big1), 99);
    cr_assert_eq(sched_score_fit(&p, &pod, &big3), 99);
    /* Bin-packing (MostAllocated cpu 1, memory 1, nvidia.com/gpu 3), 2-GPU pod, 8-GPU
     * nodes with 2 and 6 allocated: cpu 200 * 100 / 96000 = 0, memory 0, GPU 50 and
     * 100: (0 + 0 + 3 * 50) / 5 = 30 and 300 / 5 = 60. */
    struct sched_profile bp;
    sched_profile_bin_packing(&bp);
    struct sched_pod two = {.requests = {0, 0, 2}};
    big1.requested[SCHED_GPU] = 2;
    big3.requested[SCHED_GPU] = 6;
    cr_assert_eq(sched_score_fit(&bp, &two, &big1), 30);
    cr_assert_eq(sched_score_fit(&bp, &two, &big3), 60);
}

Test(scheduler, balanced_allocation_by_hand)
{
    /* Pod 4 CPU / 16 GiB on 16 CPU / 64 GiB. Node with 4 CPU / 16 GiB requested: 0.5 and
     * 0.5, std 0 -> 100. Node with 8 CPU / 0 requested: 0.75 and 0.25, std 0.25 -> 75. */
    struct sched_pod pod = {.requests = {4000, 16 * GIB, 1}};
    struct sched_node a = {.allocatable = {16000, 64 * GIB, 8}, .requested = {4000, 16 * GIB, 0}};
    struct sched_node b = {.allocatable = {16000, 64 * GIB, 8}, .requested = {8000, 0, 0}};
    cr_assert_eq(sched_score_balanced(&pod, &a), 100);
    cr_assert_eq(sched_score_balanced(&pod, &b), 75);
}

Test(scheduler, taint_toleration_matching_as_upstream)
{
    struct sched_taint gpu = {"nvidia.com/gpu", "", SCHED_NO_SCHEDULE};
    struct sched_taint gpu_true = {"nvidia.com/gpu", "true", SCHED_NO_SCHEDULE};
    struct sched_taint spot = {"kubernetes.azure.com/scalesetpriority", "spot",
                               SCHED_NO_SCHEDULE};
    struct sched_taint exec = {"nvidia.com/gpu", "", SCHED_NO_EXECUTE};
    /* Exists with a key: any value of that key. */
    struct sched_toleration ex = {"nvidia.com/gpu", NULL, true, SCHED_NO_SCHEDULE};
    cr_assert(sched_tolerates(&ex, &gpu));
    cr_assert(sched_tolerates(&ex, &gpu_true));
    cr_assert_not(sched_tolerates(&ex, &spot));
    /* Effect NoSchedule does not tolerate NoExecute; an empty effect matches all. */
    cr_assert_not(sched_tolerates(&ex, &exec));
    struct sched_toleration any_effect = {"nvidia.com/gpu", NULL, true, SCHED_EFFECT_ANY};
    cr_assert(sched_tolerates(&any_effect, &exec));
    /* Equal compares the value ("" is a value). */
    struct sched_toleration eq = {"nvidia.com/gpu", "true", false, SCHED_NO_SCHEDULE};
    cr_assert(sched_tolerates(&eq, &gpu_true));
    cr_assert_not(sched_tolerates(&eq, &gpu));
    struct sched_toleration eq_spot = {"kubernetes.azure.com/scalesetpriority", "spot", false,
                                       SCHED_EFFECT_ANY};
    cr_assert(sched_tolerates(&eq_spot, &spot));
    /* An empty key with Exists tolerates everything. */
    struct sched_toleration all = {"", NULL, true, SCHED_EFFECT_ANY};
    cr_assert(sched_tolerates(&all, &gpu));
    cr_assert(sched_tolerates(&all, &spot));
    cr_assert(sched_tolerates(&all, &exec));
    /* The filter: NoSchedule and NoExecute must be tolerated, PreferNoSchedule need not. */
    struct sched_pod pod = {.n_tolerations = 1, .tolerations = {ex}};
    struct sched_taint two[2] = {gpu, {"team", "a", SCHED_PREFER_NO_SCHEDULE}};
    cr_assert(sched_taints_ok(&pod, two, 2));
    struct sched_taint with_spot[2] = {gpu, spot};
    cr_assert_not(sched_taints_ok(&pod, with_spot, 2));
    struct sched_pod none = {0};
    cr_assert_not(sched_taints_ok(&none, &gpu, 1));
}

Test(scheduler, node_affinity_operators)
{
    struct sched_label l[3] = {{"node.kubernetes.io/instance-type", "p5.48xlarge"},
                               {"topology.kubernetes.io/zone", "use1-az1"},
                               {"karpenter.k8s.aws/instance-gpu-count", "8"}};
    struct sched_term t = {.n_exprs = 1};
    struct sched_expr *e = &t.exprs[0];
    *e = (struct sched_expr){"node.kubernetes.io/instance-type", SCHED_IN,
                             {"p4d.24xlarge", "p5.48xlarge"}, 2};
    cr_assert(sched_term_matches(&t, l, 3));
    e->op = SCHED_NOT_IN;
    cr_assert_not(sched_term_matches(&t, l, 3));
    /* NotIn and DoesNotExist match a node without the label. */
    e->key = "team";
    cr_assert(sched_term_matches(&t, l, 3));
    e->op = SCHED_DOES_NOT_EXIST;
    cr_assert(sched_term_matches(&t, l, 3));
    e->op = SCHED_EXISTS;
    cr_assert_not(sched_term_matches(&t, l, 3));
    e->key = "topology.kubernetes.io/zone";
    cr_assert(sched_term_matches(&t, l, 3));
    /* Gt / Lt read the label as an integer. */
    *e = (struct sched_expr){"karpenter.k8s.aws/instance-gpu-count", SCHED_GT, {"4"}, 1};
    cr_assert(sched_term_matches(&t, l, 3));
    e->op = SCHED_LT;
    cr_assert_not(sched_term_matches(&t, l, 3));
    e->values[0] = "9";
    cr_assert(sched_term_matches(&t, l, 3));
    e->key = "node.kubernetes.io/instance-type"; /* not an integer: no match */
    cr_assert_not(sched_term_matches(&t, l, 3));
    /* An empty term matches nothing; terms are ORed, expressions ANDed. */
    struct sched_term empty = {0};
    cr_assert_not(sched_term_matches(&empty, l, 3));
    struct sched_pod pod = {.has_required = true, .n_required = 2};
    pod.required[0] = (struct sched_term){
        .n_exprs = 2,
        .exprs = {{"topology.kubernetes.io/zone", SCHED_IN, {"use1-az2"}, 1},
                  {"node.kubernetes.io/instance-type", SCHED_EXISTS, {NULL}, 0}}};
    pod.required[1] = (struct sched_term){
        .n_exprs = 1, .exprs = {{"node.kubernetes.io/instance-type", SCHED_IN, {"p5.48xlarge"}, 1}}};
    cr_assert(sched_affinity_ok(&pod, l, 3));
    pod.n_required = 1;
    cr_assert_not(sched_affinity_ok(&pod, l, 3));
    /* Required affinity whose terms are all empty matches nothing. */
    pod.n_required = 0;
    cr_assert_not(sched_affinity_ok(&pod, l, 3));
    /* nodeSelector: every label equal. */
    struct sched_pod sel = {.n_node_selector = 1,
                            .node_selector = {{"topology.kubernetes.io/zone", "use1-az1"}}};
    cr_assert(sched_affinity_ok(&sel, l, 3));
    sel.node_selector[0].value = "use1-az2";
    cr_assert_not(sched_affinity_ok(&sel, l, 3));
}

Test(scheduler, normalisation_and_image_locality_by_hand)
{
    /* TaintToleration: untolerated PreferNoSchedule counts 0, 1, 2 -> reversed 100, 50,
     * 0. NodeAffinity: preferred weights 80, 20, 100 -> 80, 20, 100. */
    int64_t t[3] = {0, 1, 2}, a[3] = {80, 20, 100}, z[2] = {0, 0};
    sched_normalize(t, 3, true);
    cr_assert(t[0] == 100 && t[1] == 50 && t[2] == 0);
    sched_normalize(a, 3, false);
    cr_assert(a[0] == 80 && a[1] == 20 && a[2] == 100);
    sched_normalize(z, 2, true);
    cr_assert(z[0] == 100 && z[1] == 100);
    /* ImageLocality: 12 GiB on 1 node of 100: 128849018 bytes, (128849018 - 23 MiB) * 100 /
     * (1000 MiB - 23 MiB) = 10.2 -> 10; on 2 of 3 nodes above 1000 MiB -> 100; 200 MiB on
     * 1 of 10 -> 20 MiB < 23 MiB -> 0. */
    struct sched_pod pod = {.image_bytes = 12 * GIB};
    cr_assert_eq(sched_score_image(&pod, 1, 100), 10);
    cr_assert_eq(sched_score_image(&pod, 2, 3), 100);
    pod.image_bytes = 200 * MIB;
    cr_assert_eq(sched_score_image(&pod, 1, 10), 0);
}

static struct rng_set *rng;
static void setup(void)
{
    rng = rng_set_new(42);
}
static void teardown(void)
{
    rng_set_free(rng);
}

Test(scheduler, topology_spread_and_image_locality_pick_by_hand, .init = setup, .fini = teardown)
{
    /* Three 8-GPU nodes: n0 zone a with 2 pods of the Deployment, n1 zone a empty, n2 zone
     * b with 1 pod. System default constraints, 3 feasible nodes, 2 zones:
     * w_host = ln 5 = 1.6094, w_zone = ln 4 = 1.3863.
     * n0: 2 * 1.6094 + 2 + 2 * 1.3863 + 4 = 11.99 -> 12; n1: 0 + 2 + 2.7726 + 4 = 8.77 -> 9;
     * n2: 1.6094 + 2 + 1.3863 + 4 = 9.00 -> 9. Normalised 100 * (12 + 9 - s) / 12: 75, 100,
     * 100. The image (12 GiB) is on n0 and n2: ImageLocality 100, 100, 0 -> n2 wins by
     * 100 with spread weight 2 (n0: 150 + 100, n1: 200 + 0, n2: 200 + 100); Fit and the
     * rest tie. */
    struct sched_label za[1] = {{"topology.kubernetes.io/zone", "a"}};
    struct sched_label zb[1] = {{"topology.kubernetes.io/zone", "b"}};
    struct sched_node n[3] = {
        {.allocatable = {0, 0, 8}, .requested = {0, 0, 2}, .labels = za, .n_labels = 1,
         .matching = 2, .has_image = true},
        {.allocatable = {0, 0, 8}, .labels = za, .n_labels = 1},
        {.allocatable = {0, 0, 8}, .requested = {0, 0, 1}, .labels = zb, .n_labels = 1,
         .matching = 1, .has_image = true},
    };
    /* Fit with the default profile: no cpu/memory allocatable known -> 0 everywhere. */
    struct sched_profile p;
    sched_profile_default(&p);
    struct sched_pod pod = {.requests = {0, 0, 1}, .owned = true, .image_bytes = 12 * GIB};
    struct sched_work w = {0};
    for (int i = 0; i < 20; i++)
        cr_assert_eq(sched_select(&p, &pod, n, 3, rng, &w, NULL), 2);
    /* Without the image anywhere, n1 and n2 tie: both are chosen, n0 never. */
    n[0].has_image = n[2].has_image = false;
    int hits[3] = {0, 0, 0};
    for (int i = 0; i < 400; i++)
        hits[sched_select(&p, &pod, n, 3, rng, &w, NULL)]++;
    cr_assert_eq(hits[0], 0);
    cr_assert(hits[1] > 150 && hits[2] > 150, "%d %d", hits[1], hits[2]);
    /* Bin-packing (MostAllocated; cpu and memory allocatable unknown here, so only the
     * GPU term counts): n0 3 of 8 -> 37, n1 1 of 8 -> 12, n2 2 of 8 -> 25. Without the
     * spread defaults n0, the fullest, wins. Were the defaults on (spread 75/100/100 x 2),
     * n2 would: 150 + 37 = 187, 200 + 12 = 212, 200 + 25 = 225. */
    struct sched_profile bp;
    sched_profile_bin_packing(&bp);
    cr_assert_eq(sched_score_fit(&bp, &pod, &n[0]), 37);
    cr_assert_eq(sched_score_fit(&bp, &pod, &n[1]), 12);
    cr_assert_eq(sched_score_fit(&bp, &pod, &n[2]), 25);
    cr_assert_eq(sched_select(&bp, &pod, n, 3, rng, &w, NULL), 0);
    bp.w_spread = 2;
    cr_assert_eq(sched_select(&bp, &pod, n, 3, rng, &w, NULL), 2);
    sched_work_release(&w);
}

Test(scheduler, zone_spread_counts_pods_on_nodes_that_cannot_take_the_pod, .init = setup,
     .fini = teardown)
{
    /* n0 zone a empty, n1 zone b empty, n2 zone b full with 4 pods of the Deployment
     * (infeasible). Feasible n0, n1: w_host = w_zone = ln 4 = 1.386. n0: 0 + 2 + 0 + 4 = 6;
     * n1: 0 + 2 + 4 * 1.386 + 4 = 11.55 -> 12 (zone b's pods on n2 count). Normalised
     * 100 * (18 - s) / 12: 100 and 50: n0 every time, where ignoring n2 would tie. */
    struct sched_label za[1] = {{"topology.kubernetes.io/zone", "a"}};
    struct sched_label zb[1] = {{"topology.kubernetes.io/zone", "b"}};
    struct sched_node n[3] = {
        {.allocatable = {0, 0, 8}, .labels = za, .n_labels = 1},
        {.allocatable = {0, 0, 8}, .labels = zb, .n_labels = 1},
        {.allocatable = {0, 0, 8}, .requested = {0, 0, 8}, .labels = zb, .n_labels = 1,
         .matching = 4},
    };
    struct sched_profile p;
    sched_profile_default(&p);
    struct sched_pod pod = {.requests = {0, 0, 2}, .owned = true};
    struct sched_work w = {0};
    for (int i = 0; i < 20; i++)
        cr_assert_eq(sched_select(&p, &pod, n, 3, rng, &w, NULL), 0);
    /* A pod whose affinity excludes n2 does not count n2's pods (nodeAffinityPolicy
     * Honor): the two tie again. */
    struct sched_label zc[2] = {{"topology.kubernetes.io/zone", "b"}, {"pool", "x"}};
    n[2].labels = zc;
    n[2].n_labels = 2;
    pod.has_required = true;
    pod.n_required = 1;
    pod.required[0] = (struct sched_term){.n_exprs = 1,
                                          .exprs = {{"pool", SCHED_DOES_NOT_EXIST, {NULL}, 0}}};
    int hits[3] = {0, 0, 0};
    for (int i = 0; i < 200; i++)
        hits[sched_select(&p, &pod, n, 3, rng, &w, NULL)]++;
    cr_assert(hits[0] > 50 && hits[1] > 50 && hits[2] == 0, "%d %d %d", hits[0], hits[1],
              hits[2]);
    sched_work_release(&w);
}

Test(scheduler, infeasible_nodes_and_the_failed_scheduling_line, .init = setup,
     .fini = teardown)
{
    struct sched_taint gpu = {"nvidia.com/gpu", "", SCHED_NO_SCHEDULE};
    struct sched_label zone = {"topology.kubernetes.io/zone", "a"};
    struct sched_node n[4] = {
        gpu_node(8, 8),                                     /* full */
        {.allocatable = {0, 0, 8}, .taints = &gpu, .n_taints = 1}, /* tainted */
        {.allocatable = {0, 0, 8}, .unschedulable = true},  /* cordoned */
        {.allocatable = {0, 0, 8}, .labels = &zone, .n_labels = 1},
    };
    struct sched_pod pod = {.requests = {0, 0, 2}, .n_node_selector = 1,
                            .node_selector = {{"topology.kubernetes.io/zone", "b"}}};
    struct sched_profile p;
    sched_profile_default(&p);
    struct sched_work w = {0};
    struct sched_why why;
    cr_assert_eq(sched_select(&p, &pod, n, 4, rng, &w, &why), -1);
    char buf[512];
    sched_why_text(&why, buf, sizeof buf);
    /* Filters in the profile's order, the first failure counted: the full node and the
     * zone-a node fail the selector before their resources are looked at. The reasons
     * with their counts are sorted as strings (FitError.Error: sort.Strings). */
    cr_assert_str_eq(buf, "0/4 nodes are available: 1 node(s) had untolerated taint "
                          "{nvidia.com/gpu: }, 1 node(s) were unschedulable, 2 node(s) didn't "
                          "match Pod's node affinity/selector.");
    /* Without the selector, the zone-a node is the only one left: chosen without a draw. */
    pod.n_node_selector = 0;
    cr_assert_eq(sched_select(&p, &pod, n, 4, rng, &w, &why), 3);
    n[3].requested[SCHED_GPU] = 7;
    cr_assert_eq(sched_select(&p, &pod, n, 4, rng, &w, &why), -1);
    sched_why_text(&why, buf, sizeof buf);
    cr_assert_str_eq(buf, "0/4 nodes are available: 1 node(s) had untolerated taint "
                          "{nvidia.com/gpu: }, 1 node(s) were unschedulable, 2 Insufficient "
                          "nvidia.com/gpu.");
    sched_work_release(&w);
}

Test(scheduler, cpu_and_memory_requests_bind_and_name_the_reason, .init = setup,
     .fini = teardown)
{
    /* Three g6e.48xlarge nodes as Karpenter computes their allocatable: 191450m cpu and
     * 1449132 MiB (1536 GiB less 7.5% VM overhead rounded up, 117965 MiB; kube-reserved
     * 11 MiB x 492 pods + 255 MiB = 5667 MiB; eviction 100 MiB). A pod of 2 GPUs, 48 cpu
     * and 400 GiB. Node 0 holds 3 pods of 2 GPUs, 40 cpu and 400 GiB (6 GPUs, 120 cpu,
     * 1200 GiB): 1449132 MiB - 1228800 MiB = 220332 MiB < 409600 MiB, so "Insufficient
     * memory" although 2 GPUs and 71450m are free. Node 1 holds 4 pods of 40 cpu and 100 GiB (160 cpu, 400 GiB, 4 GPUs):
     * 31450m < 48000m, "Insufficient cpu". Node 2 is short of both and of GPUs: one
     * reason each, as fitsRequest returns every insufficient resource. */
    struct sched_node n[3] = {
        {.allocatable = {191450, 1449132 * MIB, 8}, .requested = {120000, 1200 * GIB, 6}},
        {.allocatable = {191450, 1449132 * MIB, 8}, .requested = {160000, 400 * GIB, 4}},
        {.allocatable = {191450, 1449132 * MIB, 8}, .requested = {180000, 1400 * GIB, 8}},
    };
    struct sched_pod pod = {.requests = {48000, 400 * GIB, 2}};
    struct sched_profile p;
    sched_profile_default(&p);
    struct sched_work w = {0};
    struct sched_why why;
    cr_assert_eq(sched_select(&p, &pod, n, 3, rng, &w, &why), -1);
    char buf[512];
    sched_why_text(&why, buf, sizeof buf);
    cr_assert_str_eq(buf, "0/3 nodes are available: 1 Insufficient nvidia.com/gpu, "
                          "2 Insufficient cpu, 2 Insufficient memory.");
    /* 200 GiB fits node 0 (204800 MiB <= 220332 MiB); node 1 is still short of cpu and
     * node 2 of everything: node 0, the only feasible one, without a draw. */
    pod.requests[SCHED_MEMORY] = 200 * GIB;
    cr_assert_eq(sched_select(&p, &pod, n, 3, rng, &w, &why), 0);
    sched_work_release(&w);
}

Test(scheduler, fit_scores_the_real_requests_and_the_defaults_only_without_them)
{
    /* GetNonzeroRequests: a pod that requests cpu and memory counts them, the defaults
     * only stand in for a request of 0. Node 16000m / 64 GiB with 4000m / 16 GiB requested
     * (nonzero the same), a pod of 4000m / 16 GiB: LeastAllocated cpu (16000 - 8000) *
     * 100 / 16000 = 50, memory (64 - 32) * 100 / 64 = 50 -> 50. The same pod without
     * requests: cpu (16000 - 4100) * 100 / 16000 = 74.375 -> 74, memory (64 GiB - 16 GiB -
     * 200 MiB) * 100 / 64 GiB = 74.69 -> 74 -> 74. */
    struct sched_profile p;
    sched_profile_default(&p);
    struct sched_node nd = {.allocatable = {16000, 64 * GIB, 8},
                            .requested = {4000, 16 * GIB, 0},
                            .nonzero_requested = {4000, 16 * GIB}};
    struct sched_pod req = {.requests = {4000, 16 * GIB, 1}};
    struct sched_pod none = {.requests = {0, 0, 1}};
    cr_assert_eq(sched_score_fit(&p, &req, &nd), 50);
    cr_assert_eq(sched_score_fit(&p, &none, &nd), 74);
}
