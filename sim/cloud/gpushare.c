/* gpushare.c: MIG slices and time-sliced GPUs during a run (gpushare.h). */
#include "sim/cloud/gpushare.h"

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
};

struct gpushare {
    struct gpushare_plan plan;
    struct cat_gpu slice;   /* MIG: the GPU one engine sees */
    int32_t stride;         /* GPUs per node slot (the largest node's) */
    struct gs_gpu *gpus;    /* [node id * stride + gpu] */
    struct replica **wait;  /* [(node id * stride + gpu) * replicas + k] */
    int32_t cap_nodes;
};

int gpushare_init(struct sim *s, const struct scenario *sc, const struct cat_gpu **g,
                  struct sim_err *err)
{
    struct gpushare_plan plan;
    int rc = gpushare_resolve(sc, *g, &plan, err);
    if (rc)
        return rc;
    if (plan.mode == GS_WHOLE)
        return SIM_OK;
    if (s->gs)
        return sim_err_set(err, SIM_EINVAL,
                           "GPU sharing (MIG, time-slicing) with several deployments is not "
                           "modelled yet");
    struct gpushare *gs = calloc(1, sizeof *gs);
    if (!gs)
        return sim_err_set(err, SIM_ENOMEM, "out of memory");
    gs->plan = plan;
    s->gs = gs;
    if (plan.mode == GS_MIG) {
        mig_slice_gpu(*g, plan.profile, &gs->slice);
        *g = &gs->slice;
    }
    /* the largest instance type's GPU count bounds a node's physical GPUs */
    gs->stride = 8;
    if (sc->engine.tensor_parallel_size > gs->stride)
        gs->stride = sc->engine.tensor_parallel_size;
    for (size_t i = 0; s->opt.catalog && i < catalog_n_instances(s->opt.catalog); i++)
        if (catalog_instance_at(s->opt.catalog, i)->n_gpus > gs->stride)
            gs->stride = catalog_instance_at(s->opt.catalog, i)->n_gpus;
    return SIM_OK;
}

void gpushare_free(struct sim *s)
{
    if (!s->gs)
        return;
    free(s->gs->gpus);
    free(s->gs->wait);
    free(s->gs);
    s->gs = NULL;
}

const struct cat_gpu *gpushare_engine_gpu(const struct sim *s)
{
    return s->gs && s->gs->plan.mode == GS_MIG ? &s->gs->slice : NULL;
}

int32_t gpushare_node_units(const struct sim *s, int32_t gpus)
{
    return s->gs ? gpus * s->gs->plan.units_per_gpu : gpus;
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
    size_t n_gpus = (size_t)cap * (size_t)gs->stride;
    struct gs_gpu *g = realloc(gs->gpus, n_gpus * sizeof *g);
    if (!g)
        return false;
    gs->gpus = g;
    size_t old = (size_t)gs->cap_nodes * (size_t)gs->stride;
    memset(g + old, 0, (n_gpus - old) * sizeof *g);
    struct replica **w =
        realloc(gs->wait, n_gpus * (size_t)gs->plan.units_per_gpu * sizeof *w);
    if (!w)
        return false;
    gs->wait = w;
    gs->cap_nodes = cap;
    return true;
}

void gpushare_bind(struct sim *s, struct replica *rp, const struct node *n)
{
    struct gpushare *gs = s->gs;
    rp->gs_gpu = -1;
    rp->gs_waiting = false;
    if (!gs || gs->plan.mode != GS_TIME_SLICING)
        return;
    int32_t phys = n->gpus < gs->stride ? n->gpus : gs->stride;
    if (phys < 1 || !grow(gs, n->id))
        return; /* out of memory: the engine runs as if it had the GPU alone */
    /* distributedAlloc: the GPU with the fewest replicas in use, the first of equals */
    int32_t best = 0;
    struct gs_gpu *base = &gs->gpus[(size_t)n->id * (size_t)gs->stride];
    for (int32_t i = 1; i < phys; i++)
        if (base[i].n_engines < base[best].n_engines)
            best = i;
    base[best].n_engines++;
    rp->gs_gpu = n->id * gs->stride + best;
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
    if (!gs || rp->gs_gpu < 0)
        return;
    int32_t gi = rp->gs_gpu, r = gs->plan.units_per_gpu;
    struct gs_gpu *g = &gs->gpus[gi];
    if (rp->gs_waiting) {
        /* take it out of the ring, keeping the others' order */
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
    if (g->owner == rp) {
        g->owner = NULL;
        grant_next(s, g, gi);
    }
    g->n_engines--;
    rp->gs_gpu = -1;
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
