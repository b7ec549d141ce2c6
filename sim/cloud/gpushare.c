/* gpushare.c: MIG slices and time-sliced GPUs during a run (gpushare.h). */
#include "sim/cloud/gpushare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/catalog.h"
#include "models/mig.h"
#include "sim/config/gpushare.h"
#include "sim/config/scenario.h"
#include "sim/sim_int.h"

/* One physical GPU of a time-sliced node: its engines and the one whose step runs. */
struct gs_gpu {
    int32_t n_engines;
    struct replica *owner;  /* the engine whose step runs, NULL when idle */
    int32_t head, n_wait;   /* ring of waiting engines in wait[gpu * replicas ...] */
    int64_t mem_ppm;        /* memory its started engines hold, millionths of the GPU's */
};

/* What one deployment gets from the sharing. */
struct gs_dep {
    int32_t prof;          /* MIG: index in gpushare.prof of the slice its pods request */
    struct cat_gpu slice;  /* MIG: the GPU its engine sees */
    double util;           /* engine.gpu_memory_utilization */
    int32_t max_per_gpu;   /* most of its engines one GPU can hold (memory check) */
    const struct scenario *sc;
};

struct gpushare {
    struct gpushare_plan plan; /* the first deployment's: mode, layout, resource */
    const struct cat_gpu *gpu; /* the physical GPU (catalog entry), NULL if none named */
    struct gs_dep *dep;        /* [deployment id], n_dep_cap of them (slices never move) */
    int32_t n_dep_cap;
    /* MIG: the distinct profiles the deployments request, with their instances per GPU */
    int32_t n_prof;
    const struct mig_profile *prof[MIG_MAX_PROFILES];
    int32_t units_per_gpu;  /* a GPU's allocatable units (the requested profiles' sum) */
    /* MIG re-layout: layout 0 is the start's, L > 0 the (L-1)-th relayout's; per layout
     * the requested profiles' instances per GPU and their sum */
    int32_t n_layouts;
    int32_t lay_per_gpu[1 + GS_MAX_RELAYOUTS][MIG_MAX_PROFILES];
    int32_t lay_units[1 + GS_MAX_RELAYOUTS];
    int8_t *node_lay;       /* MIG: [node id] its layout, -1 while re-partitioning */
    bool oom_restart;       /* time-slicing: over-committed memory is a crash loop */
    bool oom_restart_all;   /* ... that kills every engine holding memory on the GPU */
    int32_t stride;         /* GPUs per node slot (the largest node's) */
    struct gs_gpu *gpus;    /* time-slicing: [node id * stride + gpu] */
    struct replica **wait;  /* [(node id * stride + gpu) * replicas + k] */
    int32_t *mig_used;      /* MIG: [node id * MIG_MAX_PROFILES + prof] slices in use */
    int32_t cap_nodes;
};

/* MIG layout L: 0 the start's, L > 0 the (L-1)-th re-layout's. */
static const struct mig_layout *layout_of(const struct gpushare *gs, int32_t L)
{
    return L > 0 ? &gs->plan.relayout[L - 1] : &gs->plan.layout;
}

/* Engines of deployment sc that can be alive at once: a fixed fleet's replicas; an
 * autoscaled one up to `cap` (its maximum is read later, by the autoscaler). */
static int32_t max_engines(const struct scenario *sc, int32_t cap)
{
    if (sc->fleet.scaled_object || sc->fleet.hpa || sc->fleet.replicas > cap)
        return cap;
    return sc->fleet.replicas > 0 ? sc->fleet.replicas : 1;
}

/*
 * Time-slicing: memory is not isolated, so the engines one GPU may hold must fit in it
 * together. The worst case takes up to `replicas` engines, the deployments with the
 * largest gpu_memory_utilization first, each at most max_per_gpu of its own. Checked as
 * each deployment is added; the error points at the one that overcommits.
 */
static int ts_memory_check(const struct gpushare *gs, int32_t n_dep, struct sim_err *err)
{
    int32_t r = gs->plan.units_per_gpu, left = r;
    bool used[64] = {false};
    double sum = 0;
    int32_t top = -1, n_parts = 0;
    char parts[512];
    size_t pl = 0;
    parts[0] = '\0';
    while (left > 0) {
        int32_t best = -1;
        for (int32_t i = 0; i < n_dep && i < 64; i++)
            if (!used[i] && (best < 0 || gs->dep[i].util > gs->dep[best].util))
                best = i;
        if (best < 0)
            break;
        used[best] = true;
        int32_t k = gs->dep[best].max_per_gpu < left ? gs->dep[best].max_per_gpu : left;
        sum += gs->dep[best].util * k;
        left -= k;
        if (top < 0)
            top = best;
        n_parts++;
        if (pl < sizeof parts) {
            int w = snprintf(parts + pl, sizeof parts - pl, "%s%d x %.2f ('%s')",
                             pl ? " + " : "", k, gs->dep[best].util,
                             gs->dep[best].sc->deployment);
            pl += w > 0 ? (size_t)w : 0;
        }
    }
    if (sum <= 1.0 + 1e-9)
        return SIM_OK;
    const struct scenario *last = gs->dep[n_dep - 1].sc;
    if (n_parts == 1 && !gs->dep[top].sc->deployment[0])
        return sim_err_set(err, SIM_EINVAL,
                           "time-slicing puts up to %d engines on one GPU and memory is not "
                           "isolated: their gpu_memory_utilization adds up to %.2f > 1, so "
                           "a later engine finds less free memory than it asks for and "
                           "vLLM refuses to start ('Free memory on device ... is less than "
                           "desired GPU memory utilization'); set "
                           "engine.gpu_memory_utilization <= %.4g or fewer replicas",
                           r - left, sum, 1.0 / (r - left)),
               scenario_locate(last, "engine.gpu_memory_utilization", err);
    return sim_err_set(err, SIM_EINVAL,
                       "time-slicing puts up to %d engines of any deployment on one GPU and "
                       "memory is not isolated: the largest shares, %s, add up to %.2f > 1, "
                       "so a later engine finds less free memory than it asks for and vLLM "
                       "refuses to start ('Free memory on device ... is less than desired "
                       "GPU memory utilization'); lower the deployments' "
                       "engine.gpu_memory_utilization or the device plugin's replicas",
                       r - left, parts, sum),
           scenario_locate(last, "engine.gpu_memory_utilization", err);
}

int gpushare_init(struct sim *s, struct deployment *d, const struct cat_gpu **g,
                  struct sim_err *err)
{
    const struct scenario *sc = d->sc;
    struct gpushare_plan plan;
    int rc = gpushare_resolve(sc, *g, &plan, err);
    if (rc)
        return rc;
    if (plan.mode == GS_WHOLE)
        return SIM_OK;
    struct gpushare *gs = s->gs;
    if (!gs) {
        gs = calloc(1, sizeof *gs);
        int32_t nd = s->sc->n_deployments > 0 ? (int32_t)s->sc->n_deployments : 1;
        if (gs)
            gs->dep = calloc((size_t)nd, sizeof *gs->dep);
        if (!gs || !gs->dep) {
            free(gs);
            return sim_err_set(err, SIM_ENOMEM, "out of memory");
        }
        gs->n_dep_cap = nd;
        gs->plan = plan;
        gs->gpu = *g;
        s->gs = gs;
        /* the largest instance type's GPU count bounds a node's physical GPUs */
        gs->stride = 8;
        for (size_t i = 0; s->opt.catalog && i < catalog_n_instances(s->opt.catalog); i++)
            if (catalog_instance_at(s->opt.catalog, i)->n_gpus > gs->stride)
                gs->stride = catalog_instance_at(s->opt.catalog, i)->n_gpus;
        if (plan.mode == GS_TIME_SLICING)
            gs->units_per_gpu = plan.units_per_gpu;
        gs->n_layouts = 1 + plan.n_relayout;
        gs->oom_restart = sc->cluster.sharing.oom_restart;
        gs->oom_restart_all = sc->cluster.sharing.oom_restart_all;
    } else if (d->id >= gs->n_dep_cap || (gs->gpu && *g && strcmp(gs->gpu->id, (*g)->id)) ||
               !!gs->gpu != !!*g) {
        /* every deployment shares the nodes' GPUs: one GPU model */
        return sim_err_set(err, SIM_EINVAL,
                           "deployment '%s' runs on %s and '%s' on %s: GPUs shared between "
                           "deployments (MIG slices, time-slicing) are one GPU model; give "
                           "every deployment the same 'engine.gpu'",
                           sc->deployment, *g ? (*g)->id : "no named GPU",
                           s->deps[0]->sc->deployment, gs->gpu ? gs->gpu->id : "no named GPU"),
               scenario_locate(sc, "engine.gpu", err);
    }
    if (sc->engine.tensor_parallel_size > gs->stride)
        gs->stride = sc->engine.tensor_parallel_size;
    struct gs_dep *gd = &gs->dep[d->id];
    gd->sc = sc;
    gd->util = sc->engine.gpu_memory_utilization;
    if (plan.mode == GS_MIG) {
        int32_t k = 0;
        while (k < gs->n_prof && gs->prof[k] != plan.profile)
            k++;
        if (k == gs->n_prof) {
            gs->prof[k] = plan.profile;
            gs->units_per_gpu += plan.units_per_gpu;
            gs->n_prof++;
            for (int32_t L = 0; L < gs->n_layouts; L++) {
                const struct mig_layout *l = layout_of(gs, L);
                gs->lay_per_gpu[L][k] = mig_layout_count(l, plan.profile->name);
                gs->lay_units[L] += gs->lay_per_gpu[L][k];
            }
        }
        gd->prof = k;
        mig_slice_gpu(*g, plan.profile, &gd->slice);
        *g = &gd->slice;
        return SIM_OK;
    }
    gd->max_per_gpu = max_engines(sc, plan.units_per_gpu);
    return gs->oom_restart ? SIM_OK : ts_memory_check(gs, d->id + 1, err);
}

void gpushare_free(struct sim *s)
{
    if (!s->gs)
        return;
    free(s->gs->gpus);
    free(s->gs->wait);
    free(s->gs->mig_used);
    free(s->gs->node_lay);
    free(s->gs->dep);
    free(s->gs);
    s->gs = NULL;
}

const struct cat_gpu *gpushare_engine_gpu(const struct sim *s, const struct deployment *d)
{
    return s->gs && s->gs->plan.mode == GS_MIG && d->id < s->gs->n_dep_cap
               ? &s->gs->dep[d->id].slice
               : NULL;
}

int32_t gpushare_node_units(const struct sim *s, int32_t gpus)
{
    return s->gs ? gpus * s->gs->units_per_gpu : gpus;
}

/* MIG with deployments requesting different profiles: each profile is its own resource. */
static bool mig_mixed(const struct gpushare *gs)
{
    return gs && gs->plan.mode == GS_MIG && gs->n_prof > 1;
}

void gpushare_sched_units(const struct sim *s, const struct deployment *d, const struct node *n,
                          int64_t *allocatable, int64_t *requested)
{
    const struct gpushare *gs = s->gs;
    if (!mig_mixed(gs))
        return;
    int32_t p = gs->dep[d->id].prof, L = gpushare_node_layout(s, n);
    *allocatable = L < 0 ? 0 : (int64_t)n->gpus * gs->lay_per_gpu[L][p];
    *requested = n->id < gs->cap_nodes ? gs->mig_used[(size_t)n->id * MIG_MAX_PROFILES + (size_t)p]
                                       : 0;
}

bool gpushare_fits(const struct sim *s, const struct deployment *d, const struct node *n)
{
    int64_t alloc = n->units, req = n->units - n->gpus_free;
    gpushare_sched_units(s, d, n, &alloc, &req);
    return alloc - req >= d->gpus_per_pod;
}

double gpushare_unit_divisor(const struct sim *s, const struct deployment *d,
                             const struct node *n)
{
    const struct gpushare *gs = s->gs;
    if (!mig_mixed(gs))
        return (double)n->units;
    /* a slice's share of its GPU: its memory slices over the node's layout's */
    int32_t L = gpushare_node_layout(s, n);
    const struct mig_layout *l = layout_of(gs, L);
    int32_t used = 0;
    for (size_t i = 0; i < l->n; i++) {
        const struct mig_profile *p = mig_profile_find(&gs->gpu->mig, l->e[i].profile);
        used += p ? p->memory_slices * l->e[i].count : 0;
    }
    int32_t mine = gs->prof[gs->dep[d->id].prof]->memory_slices;
    return (double)n->gpus * used / mine;
}

double gpushare_pod_divisor(const struct sim *s, const struct replica *rp, const struct node *n)
{
    return rp->gs_unit_div > 0 ? rp->gs_unit_div : gpushare_unit_divisor(s, rp->dep, n);
}

double gpushare_pod_weight(const struct sim *s, const struct deployment *d)
{
    const struct gpushare *gs = s->gs;
    if (!mig_mixed(gs))
        return (double)d->gpus_per_pod;
    return (double)gs->prof[gs->dep[d->id].prof]->memory_slices / gs->gpu->mig.memory_slices;
}

bool gpushare_steps_serialise(const struct sim *s)
{
    return s->gs && s->gs->plan.mode == GS_TIME_SLICING;
}

bool gpushare_time_sliced(const struct replica *rp)
{
    return rp->gs_gpu >= 0;
}

/* Room for node `id`'s GPUs (grows with the nodes, never per event). */
static bool grow(struct gpushare *gs, int32_t id)
{
    if (id < gs->cap_nodes)
        return true;
    int32_t cap = gs->cap_nodes ? gs->cap_nodes : 16;
    while (cap <= id)
        cap *= 2;
    size_t old_nodes = (size_t)gs->cap_nodes;
    if (gs->plan.mode == GS_MIG) {
        int32_t *u = realloc(gs->mig_used, (size_t)cap * MIG_MAX_PROFILES * sizeof *u);
        if (!u)
            return false;
        memset(u + old_nodes * MIG_MAX_PROFILES, 0,
               ((size_t)cap - old_nodes) * MIG_MAX_PROFILES * sizeof *u);
        gs->mig_used = u;
        int8_t *nl = realloc(gs->node_lay, (size_t)cap * sizeof *nl);
        if (!nl)
            return false;
        memset(nl + old_nodes, 0, ((size_t)cap - old_nodes) * sizeof *nl);
        gs->node_lay = nl;
        gs->cap_nodes = cap;
        return true;
    }
    size_t n_gpus = (size_t)cap * (size_t)gs->stride;
    struct gs_gpu *g = realloc(gs->gpus, n_gpus * sizeof *g);
    if (!g)
        return false;
    gs->gpus = g;
    size_t old = old_nodes * (size_t)gs->stride;
    memset(g + old, 0, (n_gpus - old) * sizeof *g);
    struct replica **w =
        realloc(gs->wait, n_gpus * (size_t)gs->plan.units_per_gpu * sizeof *w);
    if (!w)
        return false;
    gs->wait = w;
    gs->cap_nodes = cap;
    return true;
}

/* rp's engine's gpu_memory_utilization in millionths (integers: no drift as engines come
 * and go). */
static int64_t util_ppm(const struct gpushare *gs, const struct replica *rp)
{
    return llround(gs->dep[rp->dep->id].util * 1e6);
}

/* Out of memory for the per-GPU state: the run stops with SIM_ENOMEM (exit 3). */
static void gs_oom(struct sim *s)
{
    if (s->sink_rc == SIM_OK) {
        s->sink_rc = SIM_ENOMEM;
        sim_err_set(&s->sink_err, SIM_ENOMEM, "out of memory for shared GPUs");
    }
    s->stopping = true;
}

void gpushare_bind(struct sim *s, struct replica *rp, const struct node *n)
{
    struct gpushare *gs = s->gs;
    rp->gs_gpu = -1;
    rp->gs_waiting = false;
    rp->gs_mem = false;
    rp->gs_unit_div = gpushare_unit_divisor(s, rp->dep, n);
    if (!gs)
        return;
    if (gs->plan.mode == GS_MIG) {
        if (!grow(gs, n->id)) {
            gs_oom(s);
            return;
        }
        gs->mig_used[(size_t)n->id * MIG_MAX_PROFILES + (size_t)gs->dep[rp->dep->id].prof]++;
        return;
    }
    int32_t phys = n->gpus < gs->stride ? n->gpus : gs->stride;
    if (phys < 1)
        return;
    if (!grow(gs, n->id)) {
        gs_oom(s);
        return;
    }
    /* distributedAlloc: the GPU with the fewest replicas in use, the first of equals */
    int32_t best = 0;
    struct gs_gpu *base = &gs->gpus[(size_t)n->id * (size_t)gs->stride];
    for (int32_t i = 1; i < phys; i++)
        if (base[i].n_engines < base[best].n_engines)
            best = i;
    base[best].n_engines++;
    rp->gs_gpu = n->id * gs->stride + best;
}

/* Take rp out of its GPU's ring of waiting engines, keeping the others' order. */
static void ring_remove(struct gpushare *gs, struct gs_gpu *g, int32_t gi, struct replica *rp)
{
    int32_t r = gs->plan.units_per_gpu;
    struct replica **ring = &gs->wait[(size_t)gi * (size_t)r];
    int32_t w = 0;
    for (int32_t k = 0; k < g->n_wait; k++) {
        struct replica *x = ring[(g->head + k) % r];
        if (x != rp)
            ring[(g->head + w++) % r] = x;
    }
    g->n_wait = w;
    rp->gs_waiting = false;
}

/* Hand the idle GPU to the first waiting engine. */
static void grant_next(struct sim *s, struct gs_gpu *g, int32_t gi)
{
    struct gpushare *gs = s->gs;
    if (g->n_wait == 0)
        return;
    int32_t r = gs->plan.units_per_gpu;
    struct replica *next = gs->wait[(size_t)gi * (size_t)r + (size_t)g->head];
    g->head = (g->head + 1) % r;
    g->n_wait--;
    next->gs_waiting = false;
    g->owner = next;
    engine_gpu_granted(s, next);
}

void gpushare_unbind(struct sim *s, struct replica *rp)
{
    struct gpushare *gs = s->gs;
    if (gs && gs->plan.mode == GS_MIG && rp->node >= 0 && rp->node < gs->cap_nodes) {
        int32_t *u = &gs->mig_used[(size_t)rp->node * MIG_MAX_PROFILES +
                                   (size_t)gs->dep[rp->dep->id].prof];
        if (*u > 0)
            (*u)--;
        return;
    }
    if (!gs || rp->gs_gpu < 0)
        return;
    gpushare_engine_stop(s, rp);
    gs->gpus[rp->gs_gpu].n_engines--;
    rp->gs_gpu = -1;
}

bool gpushare_engine_start(struct sim *s, struct replica *rp)
{
    struct gpushare *gs = s->gs;
    if (!gs || rp->gs_gpu < 0 || rp->gs_mem)
        return true;
    struct gs_gpu *g = &gs->gpus[rp->gs_gpu];
    int64_t want = util_ppm(gs, rp);
    /* Worker.init_device: free memory (the GPU's less what the engines already there
     * hold) below gpu_memory_utilization x total: ValueError, the engine exits */
    if (gs->oom_restart && g->mem_ppm + want > 1000000)
        return false;
    g->mem_ppm += want;
    rp->gs_mem = true;
    return true;
}

bool gpushare_oom_kills_all(const struct sim *s)
{
    return s->gs && s->gs->oom_restart_all;
}

bool gpushare_same_gpu(const struct replica *a, const struct replica *b)
{
    return a->gs_gpu >= 0 && a->gs_gpu == b->gs_gpu;
}

void gpushare_engine_stop(struct sim *s, struct replica *rp)
{
    struct gpushare *gs = s->gs;
    if (!gs || rp->gs_gpu < 0)
        return;
    int32_t gi = rp->gs_gpu;
    struct gs_gpu *g = &gs->gpus[gi];
    if (rp->gs_mem)
        g->mem_ppm -= util_ppm(gs, rp);
    rp->gs_mem = false;
    if (rp->gs_waiting)
        ring_remove(gs, g, gi, rp);
    if (g->owner == rp) {
        g->owner = NULL;
        grant_next(s, g, gi);
    }
}

bool gpushare_acquire(struct sim *s, struct replica *rp)
{
    struct gpushare *gs = s->gs;
    if (!gs || rp->gs_gpu < 0)
        return true;
    struct gs_gpu *g = &gs->gpus[rp->gs_gpu];
    if (!g->owner || g->owner == rp) {
        g->owner = rp;
        return true;
    }
    if (!rp->gs_waiting) {
        int32_t r = gs->plan.units_per_gpu;
        gs->wait[(size_t)rp->gs_gpu * (size_t)r + (size_t)((g->head + g->n_wait) % r)] = rp;
        g->n_wait++;
        rp->gs_waiting = true;
    }
    return false;
}

void gpushare_release(struct sim *s, struct replica *rp)
{
    struct gpushare *gs = s->gs;
    if (!gs || rp->gs_gpu < 0)
        return;
    struct gs_gpu *g = &gs->gpus[rp->gs_gpu];
    if (g->owner != rp)
        return;
    g->owner = NULL;
    grant_next(s, g, rp->gs_gpu);
}

/* ---- MIG re-layout ------------------------------------------------------------------ */

int32_t gpushare_n_layouts(const struct sim *s)
{
    return s->gs && s->gs->plan.mode == GS_MIG ? s->gs->n_layouts : 1;
}

int32_t gpushare_node_layout(const struct sim *s, const struct node *n)
{
    const struct gpushare *gs = s->gs;
    return gs && gs->node_lay && n->id < gs->cap_nodes ? gs->node_lay[n->id] : 0;
}

void gpushare_node_set_layout(struct sim *s, struct node *n, int32_t layout)
{
    struct gpushare *gs = s->gs;
    if (!gs || gs->plan.mode != GS_MIG || layout >= gs->n_layouts)
        return;
    SIM_ASSERT(n->n_pods == 0);
    if (!grow(gs, n->id)) {
        gs_oom(s);
        return;
    }
    gs->node_lay[n->id] = (int8_t)layout;
    n->units = n->gpus_free = layout < 0 ? 0 : n->gpus * gs->lay_units[layout];
}

void gpushare_layout_text(const struct sim *s, int32_t layout, int32_t gpus, char *buf, size_t n)
{
    const struct gpushare *gs = s->gs;
    if (n == 0)
        return;
    buf[0] = '\0';
    if (!gs || gs->plan.mode != GS_MIG || layout < 0 || layout >= gs->n_layouts)
        return;
    const struct mig_layout *l = layout_of(gs, layout);
    size_t used = 0;
    for (size_t i = 0; i < l->n && used < n; i++) {
        if (l->e[i].count == 0)
            continue;
        int w = gpus > 0 ? snprintf(buf + used, n - used, "%snvidia.com/mig-%s: %d",
                                    used ? ", " : "", l->e[i].profile, l->e[i].count * gpus)
                         : snprintf(buf + used, n - used, "%s%d x %s", used ? " + " : "",
                                    l->e[i].count, l->e[i].profile);
        used += w > 0 ? (size_t)w : 0;
    }
}
