/*
 * shared.c: the plan of a shared cluster (shared.h): every deployment's configurations
 * measured alone, one configuration per deployment chosen and every pod packed onto
 * whole nodes (GPU units, cpu and memory requests) by branch-and-bound, the cheapest
 * layouts verified on the whole cluster.
 */
#include "plan/shared.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "models/catalog.h"
#include "plan/eval.h"
#include "sim/config/nodepool.h"
#include "sim/config/scenario.h"
#include "sim/sim.h"

bool plan_is_shared(const struct scenario *sc)
{
    const struct ynode *p = scenario_node(sc, "plan");
    return sc->n_deployments > 0 && p && !ynode_is_null(p);
}

/* ---- packing ------------------------------------------------------------------------------ */

static int cmp_item_desc(const void *a, const void *b)
{
    const struct plan_item *x = a, *y = b;
    if (x->units != y->units)
        return (x->units < y->units) - (x->units > y->units);
    if (x->memory != y->memory)
        return (x->memory < y->memory) - (x->memory > y->memory);
    return (x->cpu_m < y->cpu_m) - (x->cpu_m > y->cpu_m);
}

static bool item_fits(const struct plan_item *room, const struct plan_item *it)
{
    return room->units >= it->units && room->cpu_m >= it->cpu_m &&
           room->memory >= it->memory && room->pods >= it->pods;
}

static void item_take(struct plan_item *room, const struct plan_item *it, int sign)
{
    room->units -= sign * it->units;
    room->cpu_m -= sign * it->cpu_m;
    room->memory -= sign * it->memory;
    room->pods -= sign * it->pods;
}

/* Drop the pods dimension of the items s[0, n) and *cap where it cannot bind: a node's
 * units hold at most cap.units / (the smallest item's units) items, and never more than
 * n; room for that many pods leaves the count unbound. Then bins that differ only in pods
 * are one for the exact search, which runs as without maxPods. */
static void pods_unbound(struct plan_item *s, size_t n, struct plan_item *cap)
{
    int64_t by_units = 0; /* the most items a node's units hold: cap / smallest item */
    for (size_t i = 0; i < n; i++) {
        if (s[i].pods > 1 || s[i].units <= 0)
            return;
        if (cap->units / s[i].units > by_units)
            by_units = cap->units / s[i].units;
    }
    if (cap->pods < (by_units < (int64_t)n ? by_units : (int64_t)n))
        return;
    cap->pods = 0;
    for (size_t i = 0; i < n; i++)
        s[i].pods = 0;
}

/* FFD on items already sorted in decreasing order; room[] has room for n bins. */
static int ffd_sorted(const struct plan_item *s, size_t n, struct plan_item cap,
                      struct plan_item *room)
{
    int bins = 0;
    for (size_t i = 0; i < n; i++) {
        int b = 0;
        while (b < bins && !item_fits(&room[b], &s[i]))
            b++;
        if (b == bins)
            room[bins++] = cap;
        item_take(&room[b], &s[i], 1);
    }
    return bins;
}

/* The items in decreasing order, followed by room for n bins (caller frees); NULL when
 * out of memory. */
static struct plan_item *sorted_copy(const struct plan_item *items, size_t n)
{
    struct plan_item *s = malloc(2 * n * sizeof *s);
    if (s) {
        memcpy(s, items, n * sizeof *s);
        qsort(s, n, sizeof *s, cmp_item_desc);
    }
    return s;
}

/* Whether some item is above cap in a dimension (no node holds it). */
static bool too_big(const struct plan_item *s, size_t n, struct plan_item cap)
{
    if (cap.units <= 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (!item_fits(&cap, &s[i]))
            return true;
    return false;
}

int plan_pack_items_ffd(const struct plan_item *items, size_t n, struct plan_item cap)
{
    if (n == 0)
        return 0;
    struct plan_item *s = sorted_copy(items, n);
    if (!s)
        return -1;
    pods_unbound(s, n, &cap);
    int bins = too_big(s, n, cap) ? -1 : ffd_sorted(s, n, cap, s + n);
    free(s);
    return bins;
}

/* The units-only items of `sizes` (NULL when out of memory) and the matching cap. */
static struct plan_item *units_items(const int *sizes, size_t n, int cap, struct plan_item *c)
{
    struct plan_item *it = malloc((n ? n : 1) * sizeof *it);
    for (size_t i = 0; it && i < n; i++)
        it[i] = (struct plan_item){sizes[i], 0, 0, 0};
    *c = (struct plan_item){cap, 0, 0, 0};
    return it;
}

int plan_pack_ffd(const int *sizes, size_t n, int cap)
{
    struct plan_item c, *it = units_items(sizes, n, cap, &c);
    int bins = it ? plan_pack_items_ffd(it, n, c) : -1;
    free(it);
    return bins;
}

#define PACK_EXACT_MAX 24
#define PACK_STEPS 200000

struct exact {
    const struct plan_item *s;
    size_t n;
    struct plan_item cap;
    int best, lower;
    struct plan_item room[PACK_EXACT_MAX];
    long steps;
};

static bool same_room(const struct plan_item *a, const struct plan_item *b)
{
    return a->units == b->units && a->cpu_m == b->cpu_m && a->memory == b->memory &&
           a->pods == b->pods;
}

/* Place item i (decreasing order) into one of `bins` open bins or a new one; bins with
 * the same room are tried once (they are interchangeable). */
static void exact_place(struct exact *e, size_t i, int bins)
{
    if (e->best == e->lower || ++e->steps > PACK_STEPS)
        return;
    if (i == e->n) {
        if (bins < e->best)
            e->best = bins;
        return;
    }
    for (int b = 0; b < bins; b++) {
        if (!item_fits(&e->room[b], &e->s[i]))
            continue;
        bool seen = false;
        for (int c = 0; c < b && !seen; c++)
            seen = same_room(&e->room[c], &e->room[b]);
        if (seen)
            continue;
        item_take(&e->room[b], &e->s[i], 1);
        exact_place(e, i + 1, bins);
        item_take(&e->room[b], &e->s[i], -1);
    }
    if (bins + 1 < e->best) {
        e->room[bins] = e->cap;
        item_take(&e->room[bins], &e->s[i], 1);
        exact_place(e, i + 1, bins + 1);
    }
}

/* ceil(sum / cap) in one dimension (0 when nothing is asked of it). */
static int64_t dim_lower(int64_t sum, int64_t cap)
{
    return sum > 0 && cap > 0 ? (sum + cap - 1) / cap : 0;
}

int plan_pack_items(const struct plan_item *items, size_t n, struct plan_item cap, bool *exact)
{
    *exact = true;
    if (n == 0)
        return 0;
    struct plan_item *s = sorted_copy(items, n);
    if (!s)
        return -1;
    pods_unbound(s, n, &cap);
    if (too_big(s, n, cap)) {
        free(s);
        return -1;
    }
    int64_t su = 0, sc = 0, sm = 0, sp = 0;
    for (size_t i = 0; i < n; i++) {
        su += s[i].units;
        sc += s[i].cpu_m;
        sm += s[i].memory;
        sp += s[i].pods;
    }
    int64_t lower = dim_lower(su, cap.units), l2 = dim_lower(sc, cap.cpu_m),
            l3 = dim_lower(sm, cap.memory), l4 = dim_lower(sp, cap.pods);
    lower = l2 > lower ? l2 : lower;
    lower = l3 > lower ? l3 : lower;
    lower = l4 > lower ? l4 : lower;
    int bins = ffd_sorted(s, n, cap, s + n);
    *exact = bins == lower;
    if (!*exact && n <= PACK_EXACT_MAX) {
        struct exact e = {.s = s, .n = n, .cap = cap, .best = bins, .lower = (int)lower};
        exact_place(&e, 0, 0);
        bins = e.best;
        *exact = e.steps <= PACK_STEPS || bins == lower;
    }
    free(s);
    return bins;
}

int plan_pack(const int *sizes, size_t n, int cap, bool *exact)
{
    struct plan_item c, *it = units_items(sizes, n, cap, &c);
    int bins = it ? plan_pack_items(it, n, c, exact) : -1;
    free(it);
    return bins;
}

/* ---- the deployments' spaces ------------------------------------------------------------- */

struct dep_space {
    struct plan_spec p;
    struct plan_space sp;
    size_t first; /* its first item in the results */
};

struct shared_ctx {
    const struct scenario *sc;
    const struct plan_options *opt;
    struct dep_space *ds;
    size_t n_deps;
};

/* An error at a plan key (sim/config/ynode.h). */
#define fail(at, err, ...) ynode_fail_at((err), SIM_EINVAL, (at), __VA_ARGS__)

/* A list of the top-level plan (the default of every deployment) copied where the
 * deployment's own space leaves it out. */
#define INHERIT(field, count)                                                                   \
    do {                                                                                        \
        if (!d->count) {                                                                        \
            memcpy(d->field, top->field, sizeof d->field);                                      \
            d->count = top->count;                                                              \
        }                                                                                       \
    } while (0)

static int dep_spec(const struct scenario *sc, const struct plan_spec *top, size_t k,
                    struct plan_spec *d, struct sim_err *err)
{
    const struct scenario *dep = &sc->deployments[k];
    const struct ynode *own = top->deployments ? ynode_get(top->deployments, dep->deployment)
                                               : NULL;
    int rc = plan_spec_read(own, d, err);
    if (rc)
        return rc;
    INHERIT(instances, n_instances);
    INHERIT(tp, n_tp);
    INHERIT(dtypes, n_dtypes);
    INHERIT(max_num_seqs, n_max_num_seqs);
    INHERIT(max_batched, n_max_batched);
    INHERIT(mig, n_mig);
    if (!own || !ynode_get(own, "max_replicas"))
        d->max_replicas = top->max_replicas;
    d->tolerance_frac = top->tolerance_frac;
    d->max_search_runs = top->max_search_runs;
    d->search_window_us = top->search_window_us;
    d->verify_candidates = top->verify_candidates;
    d->deployments = NULL;
    if (!d->n_instances)
        return fail(own ? own : scenario_node(sc, "plan"), err,
                    "a shared plan packs pods onto instances: give the cluster's pools in "
                    "'plan.instances' (or the deployment's own in 'plan.deployments.%s."
                    "instances')",
                    dep->deployment);
    /* A deployment's instances are among the cluster's pools. */
    for (size_t i = 0; top->n_instances && i < d->n_instances; i++) {
        bool in = false;
        for (size_t j = 0; j < top->n_instances && !in; j++)
            in = !strcmp(d->instances[i], top->instances[j]);
        if (!in) {
            const struct ynode *l = ynode_get(own, "instances");
            const struct ynode *at = l && l->kind == YNODE_SEQ ? l->items[i] : l;
            return fail(at, err,
                        "'%s' is not among the cluster's pools ('plan.instances'): a "
                        "deployment chooses among the pools its cluster has",
                        d->instances[i]);
        }
    }
    if (dep->fleet.scaled_object || dep->fleet.hpa)
        return fail(ynode_get(dep->root, "fleet"), err,
                    "deployment '%s' has an autoscaler: a shared plan sizes fixed fleets "
                    "(give 'fleet.replicas', or plan the deployment alone)",
                    dep->deployment);
    return SIM_OK;
}

int plan_shared_check(const struct scenario *sc, const struct plan_spec *top,
                      struct sim_err *err)
{
    const struct ynode *plan = scenario_node(sc, "plan");
    static const char *const refused[] = {"gpus", "spot_share", "autoscaler", NULL};
    for (size_t i = 0; refused[i]; i++) {
        const struct ynode *k = ynode_key(plan, refused[i]);
        if (k)
            return fail(k, err,
                        "'plan.%s' is not modelled in a shared plan (a scenario with "
                        "'deployments:'): it packs fixed fleets onto on-demand instances of "
                        "'plan.instances'",
                        refused[i]);
    }
    if (top->billing == PLAN_BILL_GPU_SHARE)
        return fail(ynode_key(plan, "billing"), err,
                    "'plan.billing: %s' bills a share of nodes other workloads pay for; a "
                    "shared plan bills the cluster's whole nodes",
                    "gpu_share");
    if (sc->shared_trace)
        return fail(scenario_node(sc, "workload"), err,
                    "a shared plan measures each deployment alone on its own workload: give "
                    "each deployment its '%s' (a routed trace is not split per deployment "
                    "yet)",
                    "workload");
    if (sc->n_deployments > PLAN_MAX_DEPLOYMENTS)
        return fail(scenario_node(sc, "deployments"), err,
                    "a shared plan searches at most 8 deployments%s", "");
    const struct ynode *d = top->deployments;
    for (size_t i = 0; d && i < d->n; i++) {
        bool found = false;
        const char *name = d->keys[i]->value ? d->keys[i]->value : "";
        for (size_t k = 0; k < sc->n_deployments && !found; k++)
            found = !strcmp(name, sc->deployments[k].deployment);
        if (!found)
            return fail(d->keys[i], err,
                        "'plan.deployments.%s': the scenario has no deployment of that name",
                        name);
    }
    return SIM_OK;
}

static int check_top(const struct scenario *sc, const struct plan_spec *top,
                     const struct plan_options *opt, struct sim_err *err)
{
    if (opt->shard_n > 1)
        return sim_err_set(err, SIM_EINVAL,
                           "'--shard' splits a single-deployment plan; a shared plan runs in "
                           "one process");
    return plan_shared_check(sc, top, err);
}

/* ---- evaluating every (deployment, configuration) ----------------------------------------- */

static bool all_mine(size_t i, void *ctx)
{
    (void)i;
    (void)ctx;
    return true;
}

static void locate(const struct shared_ctx *c, size_t i, size_t *dep, size_t *k)
{
    size_t d = 0;
    while (d + 1 < c->n_deps && i >= c->ds[d + 1].first)
        d++;
    *dep = d;
    *k = i - c->ds[d].first;
}

static void eval_item(size_t i, struct plan_result *out, void *ctx)
{
    struct shared_ctx *c = ctx;
    size_t d, k;
    locate(c, i, &d, &k);
    struct dep_space *ds = &c->ds[d];
    plan_evaluate(c->sc, (int)d, &ds->sp, &ds->sp.cfg[k], &ds->p, c->opt->catalog);
    *out = ds->sp.cfg[k].r;
}

/* What one configuration's pods ask of a node: units of a node (GPUs, or MIG instances
 * of its profile), and the units one pod takes. false when the instance or profile is
 * unknown. */
static bool node_units(const struct catalog *cat, const struct plan_result *r,
                       const struct cat_instance **in, int *units, int *size)
{
    *in = catalog_instance(cat, r->instance, NULL);
    if (!*in || (*in)->n_gpus <= 0)
        return false;
    if (!r->mig[0]) {
        *units = (*in)->n_gpus;
        *size = r->tp;
        return true;
    }
    const struct cat_gpu *g = catalog_gpu(cat, (*in)->gpu, NULL);
    const struct mig_profile *p = g ? mig_profile_find(&g->mig, r->mig) : NULL;
    if (!p || p->max_instances <= 0)
        return false;
    *units = (*in)->n_gpus * p->max_instances;
    *size = 1;
    return true;
}

/* Nodes `count` pods need at `per` pods a node (-1: none fits). */
static int pods_nodes(int count, int per)
{
    if (count <= 0)
        return 0;
    return per > 0 ? (count + per - 1) / per : -1;
}

/* Bill a deployment's configuration alone on its own nodes (a separate cluster). */
static void bill_alone(struct plan_result *r, const struct catalog *cat)
{
    r->billing = PLAN_BILL_WHOLE_NODES;
    r->node_type[0] = 0;
    r->nodes = 0;
    r->node_hours = r->usd_per_node_hour = r->usd_per_replica_hour = NAN;
    r->cost_usd = r->usd_per_hour = r->usd_per_mtok = r->est_cost_usd_per_hour = NAN;
    const struct cat_instance *in;
    int units, size;
    if (!r->valid || !node_units(cat, r, &in, &units, &size))
        return;
    int per = plan_pods_per_node(plan_node_cap(r, in, units), plan_pod_item(r, size));
    if (per <= 0)
        return;
    double price = in->on_demand_usd_per_hour;
    snprintf(r->node_type, sizeof r->node_type, "%s", in->id);
    r->gpus_per_node = in->n_gpus;
    r->usd_per_node_hour = price;
    /* a replica pays node / per (the GPUs' share when they bind) */
    r->usd_per_replica_hour = per == units / size ? price * size / units : price / per;
    int est = r->max_rate_scale > 0 ? (int)ceil(1.0 / r->max_rate_scale - 1e-9) : 1;
    r->est_cost_usd_per_hour = pods_nodes(est < 1 ? 1 : est, per) * price;
    if (!r->feasible)
        return;
    if (isnan(price)) {
        snprintf(r->reason, sizeof r->reason, "no on-demand price for %s in the catalog",
                 in->id);
        r->feasible = false;
        return;
    }
    r->nodes = pods_nodes(r->replicas, per);
    r->usd_per_hour = r->nodes * price;
    r->node_hours = r->nodes * r->run_hours;
    r->cost_usd = r->usd_per_hour * r->run_hours;
    r->usd_per_mtok = r->output_tokens > 0 ? r->cost_usd / (r->output_tokens * 1e-6) : NAN;
}

/* ---- the layouts: branch-and-bound ------------------------------------------------------- */

struct cand {
    size_t res;
    const struct cat_instance *in;
    const char *mig;
    int size, count, units;
    double price, share; /* share: the GPU-share bound, count x size x price / units */
    struct plan_item pod, cap; /* a pod's (size, cpu, memory), a node's room */
};

struct bb {
    struct plan_shared *out;
    struct cand *cand[PLAN_MAX_DEPLOYMENTS];
    size_t n_cand[PLAN_MAX_DEPLOYMENTS];
    double min_share_from[PLAN_MAX_DEPLOYMENTS + 1]; /* sum of min shares of d.. */
    size_t pick[PLAN_MAX_DEPLOYMENTS];
    uint64_t steps;
};

#define BB_STEPS 5000000u
#define EPS 1e-9

/* The groups (instance type, MIG layout) of the first `depth` picks, their used units. */
static size_t groups_of(const struct bb *b, size_t depth, struct plan_group *g)
{
    size_t n = 0;
    for (size_t d = 0; d < depth; d++) {
        const struct cand *c = &b->cand[d][b->pick[d]];
        size_t k = 0;
        while (k < n && (strcmp(g[k].node_type, c->in->id) || strcmp(g[k].mig, c->mig)))
            k++;
        if (k == n) {
            if (n == PLAN_MAX_GROUPS)
                continue; /* cannot happen: at most one group per deployment */
            memset(&g[n], 0, sizeof g[n]);
            snprintf(g[n].node_type, sizeof g[n].node_type, "%s", c->in->id);
            snprintf(g[n].mig, sizeof g[n].mig, "%s", c->mig);
            g[n].gpus_per_node = c->in->n_gpus;
            g[n].units_per_node = c->units;
            g[n].usd_per_node_hour = c->price;
            n++;
        }
        g[k].used_units += c->count * c->size;
    }
    return n;
}

/* The bound at `depth` picks: the assigned pods need at least ceil(units / node) nodes of
 * each group (more pods never need fewer nodes), and every pod, assigned or not, pays at
 * least its units' share of a node (a full node is the cheapest a unit gets). */
static double bound(const struct bb *b, size_t depth)
{
    struct plan_group g[PLAN_MAX_GROUPS];
    size_t n = groups_of(b, depth, g);
    double whole = 0, share = b->min_share_from[depth];
    for (size_t k = 0; k < n; k++) {
        whole += ceil((double)g[k].used_units / g[k].units_per_node - EPS) * g[k].usd_per_node_hour;
        share += (double)g[k].used_units / g[k].units_per_node * g[k].usd_per_node_hour;
    }
    return whole > share ? whole : share;
}

/* Price a complete pick: pack each group's pods. false when out of memory. */
static bool price_layout(const struct bb *b, struct plan_layout *l)
{
    memset(l, 0, sizeof *l);
    size_t nd = b->out->n_deps;
    l->n_groups = groups_of(b, nd, l->group);
    for (size_t k = 0; k < l->n_groups; k++) {
        struct plan_group *g = &l->group[k];
        size_t n = 0;
        for (size_t d = 0; d < nd; d++) {
            const struct cand *c = &b->cand[d][b->pick[d]];
            if (!strcmp(c->in->id, g->node_type) && !strcmp(c->mig, g->mig))
                n += (size_t)c->count;
        }
        struct plan_item *items = malloc((n ? n : 1) * sizeof *items), cap = {0, 0, 0, 0};
        if (!items)
            return false;
        n = 0;
        for (size_t d = 0; d < nd; d++) {
            const struct cand *c = &b->cand[d][b->pick[d]];
            if (!strcmp(c->in->id, g->node_type) && !strcmp(c->mig, g->mig)) {
                cap = c->cap;
                for (int i = 0; i < c->count; i++)
                    items[n++] = c->pod;
            }
        }
        g->nodes = plan_pack_items(items, n, cap, &g->exact);
        free(items);
        if (g->nodes < 0)
            return false;
        l->nodes += g->nodes;
        l->usd_per_hour += g->nodes * g->usd_per_node_hour;
    }
    for (size_t d = 0; d < nd; d++)
        l->choice[d] = b->cand[d][b->pick[d]].res;
    return true;
}

/* Keep the PLAN_MAX_LAYOUTS cheapest (ties: found first, i.e. cheaper choices first). */
static void keep(struct plan_shared *o, const struct plan_layout *l)
{
    size_t at = o->n_layouts;
    while (at > 0 && l->usd_per_hour < o->layout[at - 1].usd_per_hour - EPS)
        at--;
    if (at >= PLAN_MAX_LAYOUTS)
        return;
    size_t last = o->n_layouts < PLAN_MAX_LAYOUTS ? o->n_layouts : PLAN_MAX_LAYOUTS - 1;
    memmove(&o->layout[at + 1], &o->layout[at], (last - at) * sizeof o->layout[0]);
    o->layout[at] = *l;
    if (o->n_layouts < PLAN_MAX_LAYOUTS)
        o->n_layouts++;
}

static void dfs(struct bb *b, size_t depth)
{
    struct plan_shared *o = b->out;
    if (++b->steps > BB_STEPS) {
        o->complete = false;
        return;
    }
    if (o->n_layouts == PLAN_MAX_LAYOUTS &&
        bound(b, depth) >= o->layout[PLAN_MAX_LAYOUTS - 1].usd_per_hour - EPS) {
        o->pruned++;
        return;
    }
    if (depth == o->n_deps) {
        struct plan_layout l;
        o->searched++;
        if (price_layout(b, &l))
            keep(o, &l);
        return;
    }
    for (size_t i = 0; i < b->n_cand[depth] && o->complete; i++) {
        b->pick[depth] = i;
        dfs(b, depth + 1);
    }
}

static int cmp_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (fabs(x->share - y->share) > EPS)
        return x->share < y->share ? -1 : 1;
    return (x->res > y->res) - (x->res < y->res);
}

/* A deployment's candidates: its feasible configurations, one per (instance, MIG
 * profile, pod size, replicas) (the rest pack the same: the one with the lowest TTFT p95
 * stands for them), cheapest GPU share first. */
static int candidates(struct plan_shared *o, size_t d, const struct catalog *cat, struct bb *b,
                      struct sim_err *err)
{
    b->cand[d] = calloc(o->n_res ? o->n_res : 1, sizeof *b->cand[d]);
    if (!b->cand[d])
        return sim_err_set(err, SIM_ENOMEM, "out of memory for the plan's layouts");
    size_t n = 0;
    for (size_t i = 0; i < o->n_res; i++) {
        const struct plan_result *r = &o->res[i];
        const struct cat_instance *in;
        int units, size;
        if (r->deployment != (int32_t)d || !r->feasible || !node_units(cat, r, &in, &units, &size))
            continue;
        size_t k = 0;
        for (; k < n; k++) {
            const struct cand *c = &b->cand[d][k];
            if (c->in == in && !strcmp(c->mig, r->mig) && c->size == size &&
                c->count == r->replicas)
                break;
        }
        if (k < n) {
            if (r->ttft_p95_s < o->res[b->cand[d][k].res].ttft_p95_s)
                b->cand[d][k].res = i;
            continue;
        }
        struct plan_item pod = plan_pod_item(r, size), cap = plan_node_cap(r, in, units);
        if (plan_pods_per_node(cap, pod) <= 0)
            continue;
        b->cand[d][n++] = (struct cand){i,          in,    o->res[i].mig, size, r->replicas, units,
                                        in->on_demand_usd_per_hour,
                                        (double)r->replicas * size * in->on_demand_usd_per_hour /
                                            units,
                                        pod, cap};
    }
    qsort(b->cand[d], n, sizeof *b->cand[d], cmp_cand);
    b->n_cand[d] = n;
    return SIM_OK;
}

int plan_shared_layouts(struct plan_shared *o, const struct catalog *cat, struct sim_err *err)
{
    struct bb b;
    memset(&b, 0, sizeof b);
    b.out = o;
    o->complete = true;
    int rc = SIM_OK;
    bool empty = false;
    for (size_t d = 0; d < o->n_deps && rc == SIM_OK; d++) {
        rc = candidates(o, d, cat, &b, err);
        empty = empty || b.n_cand[d] == 0;
    }
    if (rc == SIM_OK && !empty) {
        for (size_t d = o->n_deps; d-- > 0;)
            b.min_share_from[d] = b.min_share_from[d + 1] + b.cand[d][0].share;
        dfs(&b, 0);
    }
    for (size_t d = 0; d < o->n_deps; d++)
        free(b.cand[d]);
    return rc;
}

/* Each deployment alone on its own nodes: its cheapest feasible configuration. */
static void separate(struct plan_shared *o)
{
    o->separate_usd_per_hour = 0;
    for (size_t d = 0; d < o->n_deps; d++) {
        long best = -1;
        for (size_t i = 0; i < o->n_res; i++) {
            const struct plan_result *r = &o->res[i];
            if (r->deployment != (int32_t)d || !r->feasible)
                continue;
            if (best < 0 || r->usd_per_hour < o->res[best].usd_per_hour - EPS ||
                (fabs(r->usd_per_hour - o->res[best].usd_per_hour) <= EPS &&
                 r->ttft_p95_s < o->res[best].ttft_p95_s))
                best = (long)i;
        }
        o->separate[d] = best;
        o->separate_usd_per_hour += best < 0 ? NAN : o->res[best].usd_per_hour;
    }
}

/* ---- verification: the whole cluster ----------------------------------------------------- */

static bool has_provisioner(const struct scenario *sc)
{
    return sc->cluster.node &&
           (ynode_get(sc->cluster.node, "karpenter") || ynode_get(sc->cluster.node, "aks"));
}

static void quiet_records(struct scenario *sc)
{
    sc->record.samples = false;
    sc->record.requests = REC_REQUESTS_NONE;
}

/* Simulate layout `l`: every deployment with its configuration and fixed fleet, its pods
 * pinned (nodeSelector) to the layout's instance type on demand, on the scenario's
 * cluster. */
static void verify_layout(const struct shared_ctx *c, struct plan_shared *o,
                          struct plan_layout *l)
{
    const struct scenario *sc = c->sc;
    struct plan_sets *sets = calloc(1, sizeof *sets);
    l->verify = PLAN_VERIFY_NONE;
    if (!sets) {
        snprintf(l->verify_note, sizeof l->verify_note, "not verified: out of memory");
        return;
    }
    plan_base_sets(sc, sets);
    bool karpenter = ynode_get(sc->cluster.node, "karpenter") != NULL;
    for (size_t d = 0; d < o->n_deps; d++) {
        const struct plan_result *r = &o->res[l->choice[d]];
        char pre[48];
        snprintf(pre, sizeof pre, "deployments.%zu.", d);
        plan_config_sets(&sc->deployments[d], pre, &c->ds[d].sp, r, sets);
        plan_add_set(sets, "%sfleet.replicas=%d", pre, r->replicas);
        plan_add_set(sets,
                     "%sfleet.pod.nodeSelector={node.kubernetes.io/instance-type: %s%s}", pre,
                     r->node_type, karpenter ? ", karpenter.sh/capacity-type: on-demand" : "");
    }
    struct scenario vs;
    struct sim_err err = {0};
    struct sim *s = NULL;
    int rc = scenario_load(&vs, sc->path, sets->ptr, sets->n, &err);
    free(sets);
    if (rc == SIM_OK) {
        quiet_records(&vs);
        for (size_t d = 0; d < vs.n_deployments; d++)
            quiet_records(&vs.deployments[d]);
        struct sim_options so = {.catalog = c->opt->catalog};
        s = sim_new(&vs, &so, &err);
        rc = s ? sim_run(s, &err) : err.code;
    }
    if (rc != SIM_OK) {
        /* What the simulator cannot run (a MIG layout under Karpenter, pods of several
         * sizes before the provisioners pack them) is no verdict on the layout. */
        snprintf(l->verify_note, sizeof l->verify_note, "not verifiable: %.230s", err.msg);
        sim_free(s);
        if (rc != SIM_EINVAL && rc != SIM_ENOENT)
            l->verify = PLAN_VERIFY_FAIL;
        scenario_release(&vs);
        return;
    }
    const struct sim_result *cl = sim_result(s);
    double hours = (double)(cl->end_us - cl->first_arrival_us) * 1e-6 / 3600.0;
    l->verified_cost_usd = cl->cost.usd;
    l->verified_usd_per_hour = hours > 0 ? cl->cost.usd / hours : NAN;
    bool pass = true;
    char missed[160] = "";
    size_t used = 0;
    for (int32_t d = 0; d < sim_n_deployments(s) && d < (int32_t)o->n_deps; d++) {
        const struct sim_result *dr = sim_deployment_result(s, d);
        struct plan_dep_verdict *v = &l->dep[d];
        v->margin = plan_slo_margin(dr);
        v->pass = v->margin >= 0;
        snprintf(v->worst, sizeof v->worst, "%s", plan_worst_slo(dr));
        v->ttft_p95_s = dr->ttft.q_s[2];
        v->tpot_p95_s = dr->tpot.q_s[2];
        v->usd = dr->cost.usd;
        if (!v->pass) {
            pass = false;
            int w = snprintf(missed + used, sizeof missed - used, "%s%s misses %s",
                             used ? ", " : "", o->deployment[d], v->worst);
            if (w > 0 && (size_t)w < sizeof missed - used)
                used += (size_t)w;
        }
    }
    l->verify = pass ? PLAN_VERIFY_PASS : PLAN_VERIFY_FAIL;
    snprintf(l->verify_note, sizeof l->verify_note,
             "%s under the cluster model: %llu node%s (%llu spot interruption%s), $%.2f billed",
             pass ? "every deployment meets its SLOs" : missed,
             (unsigned long long)cl->cost.n_nodes, cl->cost.n_nodes == 1 ? "" : "s",
             (unsigned long long)cl->cost.n_spot_interruptions,
             cl->cost.n_spot_interruptions == 1 ? "" : "s", cl->cost.usd);
    sim_free(s);
    scenario_release(&vs);
}

/* ---- running it ---------------------------------------------------------------------------- */

void plan_shared_free(struct plan_shared *s)
{
    if (s) {
        free(s->res);
        s->res = NULL;
        s->n_res = 0;
    }
}

static void free_spaces(struct dep_space *ds, size_t n)
{
    for (size_t d = 0; ds && d < n; d++)
        free(ds[d].sp.cfg);
    free(ds);
}

int plan_shared_run(const struct scenario *sc, const struct plan_options *opt,
                    struct plan_shared *out, struct sim_err *err)
{
    memset(out, 0, sizeof *out);
    out->best = -1;
    struct plan_spec top;
    int rc = plan_spec_read(scenario_node(sc, "plan"), &top, err);
    if (rc == SIM_OK)
        rc = check_top(sc, &top, opt, err);
    if (rc != SIM_OK)
        return rc;
    out->n_deps = sc->n_deployments;
    out->provisioner = has_provisioner(sc);
    out->verify_candidates = top.verify_candidates;
    struct dep_space *ds = calloc(out->n_deps, sizeof *ds);
    if (!ds)
        return sim_err_set(err, SIM_ENOMEM, "out of memory for the plan");
    size_t total = 0;
    for (size_t d = 0; d < out->n_deps && rc == SIM_OK; d++) {
        snprintf(out->deployment[d], sizeof out->deployment[d], "%s",
                 sc->deployments[d].deployment);
        rc = dep_spec(sc, &top, d, &ds[d].p, err);
        if (rc == SIM_OK)
            rc = plan_build_space(&sc->deployments[d], &ds[d].p, opt->catalog, &ds[d].sp, err);
        ds[d].first = total;
        total += ds[d].sp.n_cfg;
    }
    if (rc != SIM_OK) {
        free_spaces(ds, out->n_deps);
        return rc;
    }
    out->res = calloc(total ? total : 1, sizeof *out->res);
    if (!out->res) {
        free_spaces(ds, out->n_deps);
        return sim_err_set(err, SIM_ENOMEM, "out of memory for the plan");
    }
    out->n_res = total;
    struct shared_ctx ctx = {sc, opt, ds, out->n_deps};
    rc = plan_workers(total, all_mine, eval_item, &ctx, out->res, opt, err);
    for (size_t i = 0; rc == SIM_OK && i < total; i++) {
        size_t d, k;
        locate(&ctx, i, &d, &k);
        struct plan_result *r = &out->res[i];
        r->index = (uint32_t)i;
        r->deployment = (int32_t)d;
        bill_alone(r, opt->catalog);
    }
    if (rc == SIM_OK) {
        separate(out);
        rc = plan_shared_layouts(out, opt->catalog, err);
    }
    for (size_t k = 0; rc == SIM_OK && out->provisioner && k < out->n_layouts &&
                       k < (size_t)top.verify_candidates;
         k++) {
        if (opt->stop && *opt->stop) {
            rc = sim_err_set(err, SIM_EINTR, "interrupted while verifying layout %zu", k + 1);
            break;
        }
        verify_layout(&ctx, out, &out->layout[k]);
        if (out->layout[k].verify == PLAN_VERIFY_PASS)
            break;
    }
    if (rc == SIM_OK) {
        /* The answer: the first layout verification passed; else, when verification gave
         * no verdict on any layout, the cheapest. */
        bool verdict = false;
        for (size_t k = 0; k < out->n_layouts; k++) {
            verdict = verdict || out->layout[k].verify != PLAN_VERIFY_NONE;
            if (out->best < 0 && out->layout[k].verify == PLAN_VERIFY_PASS)
                out->best = (long)k;
        }
        if (!verdict && out->n_layouts)
            out->best = 0;
    }
    free_spaces(ds, out->n_deps);
    if (rc != SIM_OK)
        plan_shared_free(out);
    return rc;
}
