/*
 * cluster.c: the nodes pods run on. Without a node provisioner in the scenario, the
 * cluster is implicit: a pool of nodes of one replica's size, all there from the start
 * when fleet.max_gpus caps the fleet (a static cluster), or appearing the moment a pod
 * needs one when nothing caps it. Nodes stay once they exist, so their image and compile
 * caches serve later pods.
 */
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"

static struct node *node_new(struct sim *s, int32_t gpus)
{
    if (s->n_nodes == s->cap_nodes) {
        int32_t cap = s->cap_nodes ? s->cap_nodes * 2 : 16;
        struct node *n = sim_reallocarray(s->nodes, (size_t)cap, sizeof *n);
        if (!n)
            return NULL;
        s->nodes = n;
        s->cap_nodes = cap;
    }
    struct node *n = &s->nodes[s->n_nodes];
    memset(n, 0, sizeof *n);
    n->id = s->n_nodes++;
    n->state = NODE_READY;
    n->gpus = n->gpus_free = gpus;
    n->image_cached = s->sc->engine.startup.image_prepulled;
    n->pull_done_us = -1;
    n->instance = -1;
    n->requested_us = n->registered_us = n->ready_us = s->now_us;
    n->gone_us = -1;
    s->gpus_total += gpus;
    return n;
}

int cluster_init(struct sim *s, struct sim_err *err)
{
    const struct scenario *sc = s->sc;
    int32_t tp = sc->engine.tensor_parallel_size;
    if (sc->fleet.max_gpus > 0)
        for (int32_t g = 0; g + tp <= sc->fleet.max_gpus; g += tp)
            if (!node_new(s, tp))
                return sim_err_set(err, SIM_ENOMEM, "out of memory for nodes");
    return SIM_OK;
}

void cluster_release(struct sim *s)
{
    free(s->nodes);
    s->nodes = NULL;
    s->n_nodes = s->cap_nodes = 0;
}

struct node *cluster_find_node(struct sim *s, int32_t gpus)
{
    for (int32_t i = 0; i < s->n_nodes; i++) {
        struct node *n = &s->nodes[i];
        if (n->state == NODE_READY && n->gpus_free >= gpus)
            return n;
    }
    if (s->sc->fleet.max_gpus == 0)
        return node_new(s, gpus);
    return NULL;
}

struct node *cluster_initial_node(struct sim *s, int32_t gpus, struct sim_err *err)
{
    struct node *n = cluster_find_node(s, gpus);
    if (!n)
        sim_err_set(err, SIM_EINVAL,
                    "'fleet.max_gpus' (%d) cannot hold the initial replicas of %d GPUs each",
                    s->sc->fleet.max_gpus, gpus);
    return n;
}

void cluster_pods_pending(struct sim *s)
{
    (void)s; /* a static cluster never grows */
}

void cluster_gpus_freed(struct sim *s, struct node *n)
{
    (void)s;
    (void)n;
}

void cluster_finish(struct sim *s)
{
    (void)s;
}
