/*
 * scheduler.c: the kube-scheduler's Filter, Score and selectHost for one pod (v1.33);
 * scheduler.h cites the upstream file of each rule.
 */
#include "sim/k8s/scheduler.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/core/rng.h"

#define MAX_NODE_SCORE 100
/* schedutil.DefaultMilliCPURequest, DefaultMemoryRequest (pkg/scheduler/util/pod_resources.go) */
#define NONZERO_MILLI_CPU 100
#define NONZERO_MEMORY (200LL * 1024 * 1024)
/* imagelocality/image_locality.go: mb = 1024 * 1024, minThreshold = 23 * mb,
 * maxContainerThreshold = 1000 * mb */
#define IMAGE_MIN (23LL * 1024 * 1024)
#define IMAGE_MAX (1000LL * 1024 * 1024)

enum { P_FIT, P_BALANCED, P_TAINT, P_AFFINITY, P_IMAGE, P_SPREAD, P_N };

static const char *const zone_key = "topology.kubernetes.io/zone";

void sched_profile_default(struct sched_profile *p)
{
    memset(p, 0, sizeof *p);
    p->strategy = SCHED_LEAST_ALLOCATED;
    p->res_weight[SCHED_CPU] = 1;
    p->res_weight[SCHED_MEMORY] = 1;
    p->w_taint = 3;
    p->w_affinity = 2;
    p->w_spread = 2;
    p->w_fit = 1;
    p->w_balanced = 1;
    p->w_image = 1;
}

void sched_profile_bin_packing(struct sched_profile *p)
{
    sched_profile_default(p);
    p->strategy = SCHED_MOST_ALLOCATED;
    p->res_weight[SCHED_GPU] = 3;
    p->w_spread = 0;
}

const char *sched_effect_name(enum sched_effect e)
{
    switch (e) {
    case SCHED_NO_SCHEDULE:
        return "NoSchedule";
    case SCHED_PREFER_NO_SCHEDULE:
        return "PreferNoSchedule";
    case SCHED_NO_EXECUTE:
        return "NoExecute";
    case SCHED_EFFECT_ANY:
        break;
    }
    return "";
}

/* ---- filters ----------------------------------------------------------------------- */

static const char *str(const char *s)
{
    return s ? s : "";
}

/* v1.Toleration.ToleratesTaint (staging/src/k8s.io/api/core/v1/toleration.go). */
bool sched_tolerates(const struct sched_toleration *t, const struct sched_taint *taint)
{
    if (t->effect != SCHED_EFFECT_ANY && t->effect != taint->effect)
        return false;
    if (str(t->key)[0] && strcmp(t->key, str(taint->key)))
        return false;
    if (t->exists)
        return true;
    return !strcmp(str(t->value), str(taint->value));
}

static bool tolerated(const struct sched_pod *pod, const struct sched_taint *taint)
{
    for (int i = 0; i < pod->n_tolerations; i++)
        if (sched_tolerates(&pod->tolerations[i], taint))
            return true;
    return false;
}

/* The first NoSchedule/NoExecute taint not tolerated (FindMatchingUntoleratedTaint). */
static const struct sched_taint *untolerated(const struct sched_pod *pod,
                                             const struct sched_taint *taints, int n)
{
    for (int i = 0; i < n; i++) {
        const struct sched_taint *t = &taints[i];
        if ((t->effect == SCHED_NO_SCHEDULE || t->effect == SCHED_NO_EXECUTE) &&
            !tolerated(pod, t))
            return t;
    }
    return NULL;
}

bool sched_taints_ok(const struct sched_pod *pod, const struct sched_taint *taints, int n)
{
    return untolerated(pod, taints, n) == NULL;
}

static const char *label(const struct sched_label *labels, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(labels[i].key, key))
            return labels[i].value;
    return NULL;
}

/* An integer label or value as strconv.Atoi reads it (Gt, Lt). */
static bool atoi64(const char *s, long long *v)
{
    if (!s || !s[0])
        return false;
    char *end;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return !*end && !errno;
}

/* nodeSelectorRequirementsAsSelector + Matches (component-helpers nodeaffinity). */
static bool expr_matches(const struct sched_expr *e, const struct sched_label *labels, int n)
{
    const char *v = label(labels, n, e->key);
    switch (e->op) {
    case SCHED_EXISTS:
        return v != NULL;
    case SCHED_DOES_NOT_EXIST:
        return v == NULL;
    case SCHED_IN:
    case SCHED_NOT_IN: {
        bool found = false;
        for (int i = 0; v && i < e->n_values && !found; i++)
            found = !strcmp(e->values[i], v);
        return e->op == SCHED_IN ? found : !found;
    }
    case SCHED_GT:
    case SCHED_LT: {
        long long a, b;
        if (!v || e->n_values != 1 || !atoi64(v, &a) || !atoi64(e->values[0], &b))
            return false;
        return e->op == SCHED_GT ? a > b : a < b;
    }
    }
    return false;
}

bool sched_term_matches(const struct sched_term *t, const struct sched_label *labels, int n)
{
    if (t->n_exprs == 0)
        return false; /* an empty term matches nothing */
    for (int i = 0; i < t->n_exprs; i++)
        if (!expr_matches(&t->exprs[i], labels, n))
            return false;
    return true;
}

bool sched_affinity_ok(const struct sched_pod *pod, const struct sched_label *labels, int n)
{
    for (int i = 0; i < pod->n_node_selector; i++) {
        const char *v = label(labels, n, pod->node_selector[i].key);
        if (!v || strcmp(v, pod->node_selector[i].value))
            return false;
    }
    if (!pod->has_required)
        return true;
    for (int i = 0; i < pod->n_required; i++)
        if (sched_term_matches(&pod->required[i], labels, n))
            return true;
    return false;
}

bool sched_feasible(const struct sched_pod *pod, const struct sched_node *node,
                    struct sched_why *why)
{
    if (node->unschedulable) {
        if (why)
            why->unschedulable++;
        return false;
    }
    const struct sched_taint *t = untolerated(pod, node->taints, node->n_taints);
    if (t) {
        if (why) {
            why->taint++;
            why->untolerated = t;
        }
        return false;
    }
    if (node->affinity_mismatch || !sched_affinity_ok(pod, node->labels, node->n_labels)) {
        if (why)
            why->affinity++;
        return false;
    }
    /* fitsRequest: a resource is checked when the pod requests it; cpu and memory only
     * where the caller knows the node's allocatable. Every insufficient resource is a
     * reason of its own (a node short of cpu and memory counts in both). */
    bool fits = true;
    for (int r = 0; r < SCHED_N_RES; r++) {
        int64_t req = pod->requests[r];
        if (req == 0 || (r != SCHED_GPU && node->allocatable[r] == 0))
            continue;
        if (req > node->allocatable[r] - node->requested[r]) {
            if (why)
                why->res[r]++;
            fits = false;
        }
    }
    return fits;
}

/* ---- scores ------------------------------------------------------------------------ */

/* calculateResourceAllocatableRequest: (allocatable, requested incl. the pod); cpu and
 * memory with the non-zero rule, an extended resource the pod does not request (0, 0). */
static void alloc_req(const struct sched_pod *pod, const struct sched_node *node, int r,
                      int64_t *alloc, int64_t *req)
{
    int64_t p = pod->requests[r];
    if (r == SCHED_GPU) {
        *alloc = p ? node->allocatable[r] : 0;
        *req = p ? node->requested[r] + p : 0;
        return;
    }
    if (p == 0)
        p = r == SCHED_CPU ? NONZERO_MILLI_CPU : NONZERO_MEMORY;
    *alloc = node->allocatable[r];
    *req = node->nonzero_requested[r] + p;
}

int64_t sched_score_fit(const struct sched_profile *p, const struct sched_pod *pod,
                        const struct sched_node *node)
{
    int64_t score = 0, wsum = 0;
    for (int r = 0; r < SCHED_N_RES; r++) {
        int64_t w = p->res_weight[r], alloc, req;
        if (w == 0)
            continue;
        alloc_req(pod, node, r, &alloc, &req);
        if (alloc == 0)
            continue;
        int64_t s;
        if (p->strategy == SCHED_LEAST_ALLOCATED) /* leastRequestedScore */
            s = req > alloc ? 0 : (alloc - req) * MAX_NODE_SCORE / alloc;
        else /* mostRequestedScore */
            s = (req > alloc ? alloc : req) * MAX_NODE_SCORE / alloc;
        score += s * w;
        wsum += w;
    }
    return wsum ? score / wsum : 0;
}

/* balancedResourceScorer over cpu and memory with the actual requests (useRequested). */
int64_t sched_score_balanced(const struct sched_pod *pod, const struct sched_node *node)
{
    double f[2];
    int k = 0;
    for (int r = SCHED_CPU; r <= SCHED_MEMORY; r++) {
        int64_t alloc = node->allocatable[r];
        if (alloc == 0)
            continue;
        double x = (double)(node->requested[r] + pod->requests[r]) / (double)alloc;
        f[k++] = x > 1 ? 1 : x;
    }
    double std = k == 2 ? fabs((f[0] - f[1]) / 2) : 0.0;
    return (int64_t)((1 - std) * MAX_NODE_SCORE);
}

/* ImageLocality: sumImageScores then calculatePriority for one container. */
int64_t sched_score_image(const struct sched_pod *pod, int32_t nodes_with_image,
                          int32_t total_nodes)
{
    int64_t sum = 0;
    if (total_nodes > 0 && nodes_with_image > 0)
        sum = (int64_t)((double)pod->image_bytes * (double)nodes_with_image /
                        (double)total_nodes);
    if (sum < IMAGE_MIN)
        sum = IMAGE_MIN;
    else if (sum > IMAGE_MAX)
        sum = IMAGE_MAX;
    return MAX_NODE_SCORE * (sum - IMAGE_MIN) / (IMAGE_MAX - IMAGE_MIN);
}

void sched_normalize(int64_t *scores, int32_t n, bool reverse)
{
    int64_t max = 0;
    for (int32_t i = 0; i < n; i++)
        if (scores[i] > max)
            max = scores[i];
    if (max == 0) {
        if (reverse)
            for (int32_t i = 0; i < n; i++)
                scores[i] = MAX_NODE_SCORE;
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        int64_t s = MAX_NODE_SCORE * scores[i] / max;
        scores[i] = reverse ? MAX_NODE_SCORE - s : s;
    }
}

static bool requests_cpu_or_memory(const struct sched_pod *pod)
{
    return pod->requests[SCHED_CPU] > 0 || pod->requests[SCHED_MEMORY] > 0;
}

/* PodTopologySpread with the system default constraints (podtopologyspread/scoring.go
 * initPreScoreState, Score, NormalizeScore; plugin.go systemDefaultConstraints). Raw
 * scores of the feasible nodes into raw[]. Zones are indexed once per call, so the cost
 * is linear in the nodes. */
static void spread_scores(const struct sched_pod *pod, const struct sched_node *nodes,
                          int32_t n, const int32_t *feasible, int32_t nf,
                          struct sched_work *w, int64_t *raw)
{
    int32_t nz = 0;
    for (int32_t j = 0; j < n; j++) {
        const char *z = label(nodes[j].labels, nodes[j].n_labels, zone_key);
        int32_t k = 0;
        while (z && k < nz && strcmp(w->zname[k], z))
            k++;
        if (z && k == nz) {
            w->zname[nz] = z;
            w->zcount[nz++] = 0;
        }
        w->zone[j] = z ? k : -1;
        /* Pods counted on every node that passes the pod's node affinity
         * (nodeAffinityPolicy Honor), feasible or not. */
        if (z && nodes[j].matching && !nodes[j].affinity_mismatch &&
            sched_affinity_ok(pod, nodes[j].labels, nodes[j].n_labels))
            w->zcount[k] += nodes[j].matching;
    }
    /* hostname: one domain per feasible node; zone: the distinct zones of the feasible
     * nodes (a node without the label is the domain ""). */
    int32_t zones = 0;
    bool none_seen = false;
    for (int32_t i = 0; i < nf; i++) {
        int32_t zi = w->zone[feasible[i]];
        bool seen = false;
        if (zi < 0) {
            seen = none_seen;
            none_seen = true;
        } else {
            for (int32_t j = 0; j < i && !seen; j++)
                seen = w->zone[feasible[j]] == zi;
        }
        zones += !seen;
    }
    double w_host = log((double)nf + 2), w_zone = log((double)zones + 2);
    for (int32_t i = 0; i < nf; i++) {
        const struct sched_node *a = &nodes[feasible[i]];
        double score = (double)a->matching * w_host + (3 - 1);
        int32_t zi = w->zone[feasible[i]];
        if (zi >= 0)
            score += (double)w->zcount[zi] * w_zone + (5 - 1);
        raw[i] = (int64_t)llround(score);
    }
    int64_t min = INT64_MAX, max = 0;
    for (int32_t i = 0; i < nf; i++) {
        if (raw[i] < min)
            min = raw[i];
        if (raw[i] > max)
            max = raw[i];
    }
    for (int32_t i = 0; i < nf; i++)
        raw[i] = max == 0 ? MAX_NODE_SCORE : MAX_NODE_SCORE * (max + min - raw[i]) / max;
}

static int work_reserve(struct sched_work *w, int32_t n)
{
    if (n <= w->cap)
        return 0;
    int32_t cap = w->cap ? w->cap : 16;
    while (cap < n)
        cap *= 2;
    int32_t *f = realloc(w->feasible, (size_t)cap * sizeof *f);
    if (!f)
        return -1;
    w->feasible = f;
    int64_t *r = realloc(w->raw, (size_t)cap * P_N * sizeof *r);
    if (!r)
        return -1;
    w->raw = r;
    int32_t *z = realloc(w->zone, (size_t)cap * sizeof *z);
    if (!z)
        return -1;
    w->zone = z;
    const char **zn = realloc(w->zname, (size_t)cap * sizeof *zn);
    if (!zn)
        return -1;
    w->zname = zn;
    int64_t *zc = realloc(w->zcount, (size_t)cap * sizeof *zc);
    if (!zc)
        return -1;
    w->zcount = zc;
    w->cap = cap;
    return 0;
}

void sched_work_release(struct sched_work *w)
{
    free(w->feasible);
    free(w->raw);
    free(w->zone);
    free(w->zname);
    free(w->zcount);
    memset(w, 0, sizeof *w);
}

int32_t sched_select(const struct sched_profile *prof, const struct sched_pod *pod,
                     const struct sched_node *nodes, int32_t n, struct rng_set *rng,
                     struct sched_work *work, struct sched_why *why)
{
    if (why) {
        memset(why, 0, sizeof *why);
        why->n_nodes = n;
    }
    if (work_reserve(work, n) != 0)
        return -2;
    int32_t *fe = work->feasible, nf = 0;
    for (int32_t i = 0; i < n; i++)
        if (sched_feasible(pod, &nodes[i], why))
            fe[nf++] = i;
    if (nf == 0)
        return -1;
    if (nf == 1)
        return fe[0];
    int64_t *raw[P_N];
    for (int k = 0; k < P_N; k++)
        raw[k] = work->raw + (size_t)k * (size_t)work->cap;
    int32_t with_image = 0;
    for (int32_t i = 0; i < n; i++)
        with_image += nodes[i].has_image;
    bool balanced = requests_cpu_or_memory(pod);
    for (int32_t i = 0; i < nf; i++) {
        const struct sched_node *nd = &nodes[fe[i]];
        raw[P_FIT][i] = sched_score_fit(prof, pod, nd);
        raw[P_BALANCED][i] = balanced ? sched_score_balanced(pod, nd) : 0;
        int64_t prefer = 0;
        for (int t = 0; t < nd->n_taints; t++)
            prefer += nd->taints[t].effect == SCHED_PREFER_NO_SCHEDULE &&
                      !tolerated(pod, &nd->taints[t]);
        raw[P_TAINT][i] = prefer;
        int64_t aff = 0;
        for (int p = 0; p < pod->n_preferred; p++)
            if (sched_term_matches(&pod->preferred[p].term, nd->labels, nd->n_labels))
                aff += pod->preferred[p].weight;
        raw[P_AFFINITY][i] = aff;
        raw[P_IMAGE][i] = nd->has_image ? sched_score_image(pod, with_image, n) : 0;
    }
    sched_normalize(raw[P_TAINT], nf, true);
    sched_normalize(raw[P_AFFINITY], nf, false);
    if (pod->owned && prof->w_spread)
        spread_scores(pod, nodes, n, fe, nf, work, raw[P_SPREAD]);
    else
        memset(raw[P_SPREAD], 0, (size_t)nf * sizeof *raw[P_SPREAD]);
    const int64_t w[P_N] = {prof->w_fit,      prof->w_balanced, prof->w_taint,
                            prof->w_affinity, prof->w_image,    prof->w_spread};
    int64_t best = INT64_MIN;
    int32_t ties = 0;
    for (int32_t i = 0; i < nf; i++) {
        int64_t total = 0;
        for (int k = 0; k < P_N; k++)
            total += raw[k][i] * w[k];
        raw[P_FIT][i] = total; /* reuse: the totals */
        if (total > best) {
            best = total;
            ties = 1;
        } else if (total == best) {
            ties++;
        }
    }
    int32_t pick = ties > 1 ? (int32_t)rng_uniform_int(rng, RNG_SCHEDULER, (unsigned long)ties) : 0;
    for (int32_t i = 0; i < nf; i++)
        if (raw[P_FIT][i] == best && pick-- == 0)
            return fe[i];
    return fe[0]; /* not reached */
}

static int cmp_reason(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* FitError.Error (pkg/scheduler/framework/types.go): each reason with its count,
 * "%v %v", sorted as strings (sort.Strings), joined by ", ". */
void sched_why_text(const struct sched_why *why, char *buf, size_t n)
{
    static const char *const res[SCHED_N_RES] = {"cpu", "memory", "nvidia.com/gpu"};
    char items[SCHED_N_RES + 3][160];
    const char *sorted[SCHED_N_RES + 3] = {NULL};
    int k = 0;
    for (int r = 0; r < SCHED_N_RES; r++)
        if (why->res[r])
            snprintf(items[k++], sizeof items[0], "%d Insufficient %s", why->res[r],
                     r == SCHED_GPU && why->gpu_resource ? why->gpu_resource : res[r]);
    if (why->affinity)
        snprintf(items[k++], sizeof items[0], "%d node(s) didn't match Pod's node affinity/selector",
                 why->affinity);
    if (why->taint && why->untolerated)
        snprintf(items[k++], sizeof items[0], "%d node(s) had untolerated taint {%s: %s}",
                 why->taint, str(why->untolerated->key), str(why->untolerated->value));
    if (why->unschedulable)
        snprintf(items[k++], sizeof items[0], "%d node(s) were unschedulable", why->unschedulable);
    for (int i = 0; i < k; i++)
        sorted[i] = items[i];
    qsort(sorted, (size_t)k, sizeof sorted[0], cmp_reason);
    size_t used = 0;
    int w = snprintf(buf, n, "0/%d nodes are available", why->n_nodes);
    used = w > 0 ? (size_t)w : 0;
    for (int i = 0; i < k && used < n; i++) {
        w = snprintf(buf + used, n - used, "%s%s", i ? ", " : ": ", sorted[i]);
        used += w > 0 ? (size_t)w : 0;
    }
    if (used < n)
        snprintf(buf + used, n - used, ".");
}
