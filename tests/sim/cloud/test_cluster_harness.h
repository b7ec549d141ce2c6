/* test_cluster_harness.h: runs with a `cluster:` section written inline, scripted
 * Deployment changes (what an autoscaler would write) and a sink that keeps pods, nodes
 * and fleet-wide samples, for the node-provisioning and cost tests. */
#ifndef LLMCAP_TESTS_SIM_TEST_CLUSTER_HARNESS_H
#define LLMCAP_TESTS_SIM_TEST_CLUSTER_HARNESS_H

#include <criterion/criterion.h>
#include <math.h>

#include "tests/sim/engine_harness.h"
#include "models/catalog.h"
#include "sim/sim_int.h"

struct change {
    double t_s;
    int32_t desired;
};

struct ch_sample {
    int64_t t_us;
    char metric[48];
    double value;
};

struct ch {
    struct scenario sc;
    struct ydoc *doc;
    struct catalog *cat;
    struct h_sink out;
    struct rec_node nodes[128];
    char zones[128][32];
    char types[128][64];
    size_t n_nodes;
    struct ch_sample samples[2048];
    size_t n_samples;
    struct sim *s;
};

static inline int ch_node_cb(void *ctx, const struct rec_node *n)
{
    struct ch *c = ctx;
    if (c->n_nodes < 128) {
        size_t i = c->n_nodes++;
        c->nodes[i] = *n;
        snprintf(c->zones[i], sizeof c->zones[i], "%s", n->zone ? n->zone : "");
        snprintf(c->types[i], sizeof c->types[i], "%s", n->instance_type);
        c->nodes[i].zone = c->zones[i];
        c->nodes[i].instance_type = c->types[i];
    }
    return 0;
}

static inline int ch_request_cb(void *ctx, const struct rec_request *r)
{
    return h_request(&((struct ch *)ctx)->out, r);
}

static inline int ch_sample_cb(void *ctx, const struct rec_sample *s)
{
    struct ch *c = ctx;
    if (s->replica < 0 && c->n_samples < 2048) {
        struct ch_sample *x = &c->samples[c->n_samples++];
        x->t_us = s->t_us;
        snprintf(x->metric, sizeof x->metric, "%s", s->metric);
        x->value = s->value;
    }
    return h_sample(&c->out, s);
}

static inline int ch_pod_cb(void *ctx, const struct rec_pod *p)
{
    return h_pod(&((struct ch *)ctx)->out, p);
}

/*
 * The fleet of tests/sim/test_fleet.c (constant latency: 100 us per prompt token, 10 ms per
 * decode step; image 12 GiB at 0.1 GiB/s = 120 s; weights 15 GiB at 3 GiB/s = 5 s; warm
 * engine init 40 s; grace 30 s, retry) on `gpu`, with the YAML text `yaml` (a document
 * with a `cluster:` key) as the scenario's cluster section. The catalog is the built-in
 * one plus tests/fixtures/cluster/catalog.json (multi-GPU L40S types).
 */
static inline void ch_setup(struct ch *c, const char *gpu, int replicas, const char *yaml)
{
    gsl_set_error_handler_off();
    memset(c, 0, sizeof *c);
    struct scenario *sc = &c->sc;
    h_scenario(sc);
    snprintf(sc->path, sizeof sc->path, "cluster-test.yaml");
    snprintf(sc->dir, sizeof sc->dir, "%s", FIXTURES "/cluster");
    snprintf(sc->engine.gpu, sizeof sc->engine.gpu, "%s", gpu);
    sc->fleet.replicas = replicas;
    sc->engine.startup.image_gib = 12;
    sc->engine.startup.image_pull_gib_per_s = 0.1;
    sc->engine.startup.weights_gib = 15;
    sc->engine.startup.weights_gib_per_s = 3.0;
    sc->engine.startup.engine_init_us = 40000000;
    sc->engine.startup.engine_init_cold_us = 240000000;
    sc->engine.startup.compile_cache = CACHE_WARM;
    sc->engine.termination.grace_period_us = 30000000;
    h_lenient_termination(sc);
    struct sim_err err = {0};
    c->doc = ydoc_load_string("cluster-test.yaml", yaml, strlen(yaml), &err);
    cr_assert_not_null(c->doc, "%s: %s", err.where, err.msg);
    sc->doc = c->doc;
    sc->cluster.node = ynode_get(ydoc_root(c->doc), "cluster");
    c->cat = catalog_new(NULL, &err);
    cr_assert_not_null(c->cat, "%s", err.msg);
    cr_assert_eq(catalog_add_file(c->cat, FIXTURES "/cluster/catalog.json", &err), SIM_OK, "%s",
                 err.msg);
}

static inline void ch_set_desired(struct sim *s, void *obj, uint64_t arg)
{
    (void)obj;
    fleet_set_desired(s->deps[0], (int32_t)arg);
}

/* Build the run (so a test can push its own events), then ch_go(). */
static inline struct sim *ch_build(struct ch *c, const struct wl_request *reqs, size_t n,
                                   const struct change *chg, size_t n_chg)
{
    static struct h_source src;
    static struct sim_source source;
    static struct sim_sink sink;
    src = (struct h_source){reqs, n, 0};
    source = (struct sim_source){&src, h_next};
    sink = (struct sim_sink){.ctx = c,
                             .request = ch_request_cb,
                             .sample = ch_sample_cb,
                             .pod = ch_pod_cb,
                             .node = ch_node_cb};
    struct sim_options opt = {.sink = &sink, .source = &source, .catalog = c->cat};
    struct sim_err err = {0};
    c->s = sim_new(&c->sc, &opt, &err);
    cr_assert_not_null(c->s, "%s: %s", err.where, err.msg);
    for (size_t i = 0; i < n_chg; i++)
        evq_push(c->s->q, (int64_t)llround(chg[i].t_s * 1e6), PRIO_CONTROL, ch_set_desired, NULL,
                 (uint64_t)chg[i].desired);
    return c->s;
}

static inline void ch_go(struct ch *c)
{
    struct sim_err err = {0};
    cr_assert_eq(sim_run(c->s, &err), SIM_OK, "%s", err.msg);
}

/* The pods tolerate AKS's spot taint (kubernetes.azure.com/scalesetpriority=spot:
 * NoSchedule), as a Deployment meant for spot pools does. */
static inline void ch_tolerate_spot(struct ch *c)
{
    struct sched_pod *p = &c->sc.fleet.pod.sched;
    p->tolerations[p->n_tolerations++] = (struct sched_toleration){
        "kubernetes.azure.com/scalesetpriority", "spot", false, SCHED_NO_SCHEDULE};
}

static inline void ch_run(struct ch *c, const struct wl_request *reqs, size_t n,
                          const struct change *chg, size_t n_chg)
{
    ch_build(c, reqs, n, chg, n_chg);
    ch_go(c);
}

static inline const struct rec_node *ch_node(const struct ch *c, int32_t id)
{
    for (size_t i = 0; i < c->n_nodes; i++)
        if (c->nodes[i].node_id == id)
            return &c->nodes[i];
    cr_assert_fail("no row for node %d", id);
    return NULL;
}

static inline const struct rec_pod *ch_pod(const struct ch *c, int32_t id)
{
    for (size_t i = 0; i < c->out.n_pods; i++)
        if (c->out.pods[i].pod_id == id)
            return &c->out.pods[i];
    cr_assert_fail("no row for pod %d", id);
    return NULL;
}

static inline void ch_free(struct ch *c)
{
    sim_free(c->s);
    catalog_free(c->cat);
    ydoc_free(c->doc);
    free(c->out.rows);
}

#define S(us) ((double)(us) * 1e-6)

#endif
