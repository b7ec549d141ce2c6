/*
 * plan.c: the search behind `llmcap plan`: enumerate the plan's configurations, prune
 * what does not fit, find each one's sustainable rate per replica with a root-finding
 * search on the SLO margin, size and verify a fleet, price it, and rank.
 */
#include "plan/plan.h"

#include <errno.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_roots.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "models/catalog.h"
#include "models/memory.h"
#include "plan/eval.h"
#include "plan/shared.h"
#include "plan/support.h"
#include "reports/sweep.h"
#include "sim/config/nodepool.h"
#include "sim/config/scenario.h"
#include "sim/sim.h"

/* ---- reading the plan: section ---------------------------------------------------------- */

static const char *const plan_keys[] = {"instances",     "gpus",
                                        "tensor_parallel_size", "dtype",
                                        "max_num_seqs",  "max_num_batched_tokens",
                                        "spot_share",    "max_replicas",
                                        "search",        "autoscaler",
                                        "billing",       "verify",
                                        "mig",           "deployments",
                                        NULL};
/* What a deployment's own space (plan.deployments.NAME) may not set: the search and its
 * verification are the cluster's, and a shared plan bills fixed fleets on whole nodes. */
static const char *const shared_only_keys[] = {"deployments", "search", "verify", "billing",
                                               "autoscaler", "spot_share", "gpus", NULL};
static const char *const verify_keys[] = {"candidates", NULL};
static const char *const search_keys[] = {"tolerance", "max_runs", "window", NULL};
static const char *const autoscaler_keys[] = {"minReplicaCount", "threshold",
                                              "scaleDownStabilizationWindowSeconds", NULL};

/* A list: a sequence of scalars, or one scalar meaning a list of one. Checks it and sets
 * *count; list_item() gives its items. */
/* "s" unless n is 1: "1 replica", "2 replicas". */
static const char *plural_s(long long n)
{
    return n == 1 ? "" : "s";
}

static int list_check(const struct ynode *n, const char *key, size_t *count,
                      struct sim_err *err)
{
    if (n->kind == YNODE_SCALAR) {
        *count = 1;
        return SIM_OK;
    }
    if (n->kind != YNODE_SEQ)
        return sim_err_at(err, SIM_EINVAL, n->file, n->line, n->col,
                          "expected a list for '%s', found a map", key);
    if (n->n == 0)
        return sim_err_at(err, SIM_EINVAL, n->file, n->line, n->col,
                          "'%s' must list at least one value", key);
    if (n->n > PLAN_MAX_CHOICES)
        return sim_err_at(err, SIM_EINVAL, n->items[PLAN_MAX_CHOICES]->file,
                          n->items[PLAN_MAX_CHOICES]->line, n->items[PLAN_MAX_CHOICES]->col,
                          "'%s' lists more than %d values", key, PLAN_MAX_CHOICES);
    for (size_t i = 0; i < n->n; i++)
        if (n->items[i]->kind != YNODE_SCALAR)
            return sim_err_at(err, SIM_EINVAL, n->items[i]->file, n->items[i]->line,
                              n->items[i]->col, "expected a value in '%s', found a %s", key,
                              n->items[i]->kind == YNODE_MAP ? "map" : "sequence");
    *count = n->n;
    return SIM_OK;
}

static const struct ynode *list_item(const struct ynode *n, size_t i)
{
    return n->kind == YNODE_SCALAR ? n : n->items[i];
}

static int read_strings(const struct ynode *map, const char *name, char (*out)[64],
                        size_t *n, struct sim_err *err)
{
    const struct ynode *v = ynode_get(map, name);
    if (!v)
        return SIM_OK;
    char key[80];
    snprintf(key, sizeof key, "plan.%s", name);
    int rc = list_check(v, key, n, err);
    for (size_t i = 0; rc == SIM_OK && i < *n; i++) {
        const char *s;
        const struct ynode *it = list_item(v, i);
        if ((rc = ynode_as_string(it, key, &s, err)))
            break;
        if (!*s || strlen(s) >= 64)
            rc = sim_err_at(err, SIM_EINVAL, it->file, it->line, it->col,
                            "'%s' values must be 1 to 63 characters, got '%s'", key, s);
        else
            snprintf(out[i], 64, "%s", s);
    }
    return rc;
}

static int read_ints(const struct ynode *map, const char *prefix, const char *name,
                     int64_t min, int64_t max, const char *unit, int *out, size_t *n,
                     struct sim_err *err)
{
    const struct ynode *v = ynode_get(map, name);
    if (!v)
        return SIM_OK;
    char key[96];
    snprintf(key, sizeof key, "%s.%s", prefix, name);
    int rc = list_check(v, key, n, err);
    for (size_t i = 0; rc == SIM_OK && i < *n; i++) {
        int64_t x;
        if ((rc = ynode_as_int64_unit(list_item(v, i), key, min, max, unit, &x, err)) ==
            SIM_OK)
            out[i] = (int)x;
    }
    return rc;
}

/* plan.billing and plan.verify. */
static int read_billing(const struct ynode *plan, struct plan_spec *out, struct sim_err *err)
{
    int rc;
    const struct ynode *v = ynode_get(plan, "billing");
    if (v) {
        const char *b;
        if ((rc = ynode_as_string(v, "plan.billing", &b, err)))
            return rc;
        if (!strcmp(b, "whole_nodes"))
            out->billing = PLAN_BILL_WHOLE_NODES;
        else if (!strcmp(b, "gpu_share"))
            out->billing = PLAN_BILL_GPU_SHARE;
        else
            return sim_err_at(err, SIM_EINVAL, v->file, v->line, v->col,
                              "'plan.billing' must be whole_nodes (a team's own nodes) or "
                              "gpu_share (nodes shared with other workloads), got '%s'",
                              b);
    }
    const struct ynode *ver = ynode_get(plan, "verify");
    if (ver) {
        if ((rc = ynode_check_keys(ver, "plan.verify", verify_keys, err)))
            return rc;
        if ((v = ynode_get(ver, "candidates"))) {
            int64_t x;
            if ((rc = ynode_as_int64_unit(v, "plan.verify.candidates", 0, 100, "candidates",
                                          &x, err)))
                return rc;
            out->verify_candidates = (int32_t)x;
        }
    }
    return SIM_OK;
}

static int spec_read(const struct ynode *plan, struct plan_spec *out, const char *nested,
                     struct sim_err *err);

/* plan.mig and plan.deployments. */
static int read_shared(const struct ynode *plan, struct plan_spec *out, struct sim_err *err)
{
    int rc;
    char dt[PLAN_MAX_CHOICES][64] = {{0}};
    if ((rc = read_strings(plan, "mig", dt, &out->n_mig, err)))
        return rc;
    for (size_t i = 0; i < out->n_mig; i++) {
        const struct ynode *at = list_item(ynode_get(plan, "mig"), i);
        if (strlen(dt[i]) >= sizeof out->mig[i])
            return sim_err_at(err, SIM_EINVAL, at->file, at->line, at->col,
                              "'plan.mig' values are MIG profiles (3g.40gb) or none, got '%s'",
                              dt[i]);
        snprintf(out->mig[i], sizeof out->mig[i], "%.15s", strcmp(dt[i], "none") ? dt[i] : "");
    }
    const struct ynode *d = ynode_get(plan, "deployments");
    if (!d)
        return SIM_OK;
    if (d->kind != YNODE_MAP)
        return sim_err_at(err, SIM_EINVAL, d->file, d->line, d->col,
                          "expected a map from deployment names to their plan keys for "
                          "'plan.deployments', found a %s",
                          d->kind == YNODE_SEQ ? "sequence" : "scalar");
    for (size_t i = 0; i < d->n; i++) {
        struct plan_spec sub;
        char ctx[96];
        snprintf(ctx, sizeof ctx, "plan.deployments.%.60s",
                 d->keys[i]->value ? d->keys[i]->value : "");
        if (d->items[i]->kind != YNODE_MAP && !ynode_is_null(d->items[i]))
            return sim_err_at(err, SIM_EINVAL, d->items[i]->file, d->items[i]->line,
                              d->items[i]->col, "expected a map of plan keys for '%s'", ctx);
        if ((rc = spec_read(d->items[i], &sub, ctx, err)))
            return rc;
    }
    out->deployments = d;
    return SIM_OK;
}

int plan_spec_read(const struct ynode *plan, struct plan_spec *out, struct sim_err *err)
{
    return spec_read(plan, out, NULL, err);
}

/* `nested`: the key of a deployment's own space (plan.deployments.NAME), else NULL. */
static int spec_read(const struct ynode *plan, struct plan_spec *out, const char *nested,
                     struct sim_err *err)
{
    memset(out, 0, sizeof *out);
    out->max_replicas = 64;
    out->tolerance_frac = 0.02;
    out->max_search_runs = 16;
    out->search_window_us = -1;
    out->verify_candidates = 5;
    if (!plan || ynode_is_null(plan))
        return SIM_OK;
    int rc;
    if ((rc = ynode_check_keys(plan, nested ? nested : "plan", plan_keys, err)))
        return rc;
    for (size_t i = 0; nested && shared_only_keys[i]; i++) {
        const struct ynode *k = ynode_key(plan, shared_only_keys[i]);
        if (k)
            return sim_err_at(err, SIM_EINVAL, k->file, k->line, k->col,
                              "'%s.%s': a deployment's own space gives instances, "
                              "tensor_parallel_size, dtype, mig, max_num_seqs, "
                              "max_num_batched_tokens and max_replicas; '%s' is the whole plan's "
                              "(or not modelled in a shared plan)",
                              nested, shared_only_keys[i], shared_only_keys[i]);
    }
    out->present = true;
    if ((rc = read_shared(plan, out, err)))
        return rc;
    if ((rc = read_strings(plan, "instances", out->instances, &out->n_instances, err)) ||
        (rc = read_strings(plan, "gpus", out->gpus, &out->n_gpus, err)) ||
        (rc = read_ints(plan, "plan", "tensor_parallel_size", 1, 64, "GPUs", out->tp,
                        &out->n_tp, err)))
        return rc;
    char dt[PLAN_MAX_CHOICES][64] = {{0}};
    if ((rc = read_strings(plan, "dtype", dt, &out->n_dtypes, err)))
        return rc;
    for (size_t i = 0; i < out->n_dtypes; i++) {
        enum mem_dtype d;
        if (mem_dtype_parse(dt[i], &d) != SIM_OK) {
            const struct ynode *at = list_item(ynode_get(plan, "dtype"), i);
            return sim_err_at(err, SIM_EINVAL, at->file, at->line, at->col,
                              "'plan.dtype' must be one of bf16, fp16, fp8, int8, int4-awq, "
                              "int4-gptq, got '%s'",
                              dt[i]);
        }
        snprintf(out->dtypes[i], sizeof out->dtypes[i], "%.15s", dt[i]);
    }
    if ((rc = read_ints(plan, "plan", "max_num_seqs", 1, 65536, "sequences", out->max_num_seqs,
                        &out->n_max_num_seqs, err)) ||
        (rc = read_ints(plan, "plan", "max_num_batched_tokens", 1, 1048576, "tokens",
                        out->max_batched, &out->n_max_batched, err)))
        return rc;
    const struct ynode *v = ynode_get(plan, "spot_share");
    if (v) {
        if ((rc = list_check(v, "plan.spot_share", &out->n_spot, err)))
            return rc;
        for (size_t i = 0; i < out->n_spot; i++)
            if ((rc = ynode_as_frac(list_item(v, i), "plan.spot_share", 0.0, 1.0,
                                    &out->spot_share[i], err)))
                return rc;
    }
    if ((v = ynode_get(plan, "max_replicas"))) {
        int64_t x;
        if ((rc = ynode_as_int64_unit(v, "plan.max_replicas", 1, 10000, "replicas", &x, err)))
            return rc;
        out->max_replicas = (int32_t)x;
    }
    const struct ynode *s = ynode_get(plan, "search");
    if (s) {
        if ((rc = ynode_check_keys(s, "plan.search", search_keys, err)))
            return rc;
        if ((v = ynode_get(s, "tolerance")) &&
            (rc = ynode_as_frac(v, "plan.search.tolerance", 0.001, 0.5, &out->tolerance_frac,
                                err)))
            return rc;
        if ((v = ynode_get(s, "max_runs"))) {
            int64_t x;
            if ((rc = ynode_as_int64_unit(v, "plan.search.max_runs", 4, 100, "runs", &x, err)))
                return rc;
            out->max_search_runs = (int32_t)x;
        }
        if ((v = ynode_get(s, "window")) &&
            (rc = ynode_as_duration_us(v, "plan.search.window", 60000000, INT64_MAX, 0,
                                       &out->search_window_us, err)))
            return rc;
    }
    if ((rc = read_billing(plan, out, err)))
        return rc;
    const struct ynode *a = ynode_get(plan, "autoscaler");
    if (a) {
        if ((rc = ynode_check_keys(a, "plan.autoscaler", autoscaler_keys, err)) ||
            (rc = read_ints(a, "plan.autoscaler", "minReplicaCount", 0, 10000, "replicas",
                            out->min_replicas, &out->n_min_replicas, err)))
            return rc;
        int wins[PLAN_MAX_CHOICES] = {0};
        if ((rc = read_ints(a, "plan.autoscaler", "scaleDownStabilizationWindowSeconds", 0,
                            3600, "s", wins, &out->n_windows, err)))
            return rc;
        for (size_t i = 0; i < out->n_windows; i++)
            out->scale_down_window_s[i] = wins[i];
        if ((v = ynode_get(a, "threshold"))) {
            if ((rc = list_check(v, "plan.autoscaler.threshold", &out->n_thresholds, err)))
                return rc;
            for (size_t i = 0; i < out->n_thresholds; i++) {
                struct ynode_range r = {0.0, INFINITY, true, false, NULL};
                if ((rc = ynode_as_number(list_item(v, i), "plan.autoscaler.threshold", &r,
                                          &out->thresholds[i], err)))
                    return rc;
            }
        }
    }
    return SIM_OK;
}

int plan_check(const struct scenario *sc, struct sim_err *err)
{
    struct plan_spec p;
    int rc = plan_spec_read(scenario_node(sc, "plan"), &p, err);
    if (rc != SIM_OK || !p.present)
        return rc;
    if (sc->n_deployments)
        return plan_shared_check(sc, &p, err);
    const struct ynode *k = ynode_key(scenario_node(sc, "plan"), "mig");
    if (k)
        return sim_err_at(err, SIM_EINVAL, k->file, k->line, k->col,
                          "'plan.mig' is searched by the plan of a cluster's deployments: write "
                          "the fleet as the one deployment of a 'deployments:' list (MIG nodes "
                          "are billed by slices there)");
    k = ynode_key(scenario_node(sc, "plan"), "deployments");
    if (k)
        return sim_err_at(err, SIM_EINVAL, k->file, k->line, k->col,
                          "'plan.deployments' gives the spaces of a scenario's deployments, "
                          "but the scenario has no 'deployments:' (its plan keys are the whole "
                          "space)");
    return SIM_OK;
}

/* ---- the configurations ------------------------------------------------------------------ */


/* The cheapest on-demand price per GPU among the catalog's instances of `gpu`, and the
 * cheapest spot (median over zones) per GPU. */
static void price_gpu(const struct catalog *cat, const char *gpu, struct plan_hw *h)
{
    h->od_usd_per_gpu_hour = h->spot_usd_per_gpu_hour = NAN;
    for (size_t i = 0; i < catalog_n_instances(cat); i++) {
        const struct cat_instance *in = catalog_instance_at(cat, i);
        if (strcasecmp(in->gpu, gpu) || in->n_gpus <= 0)
            continue;
        double od = in->on_demand_usd_per_hour / in->n_gpus;
        if (!isnan(od) && (isnan(h->od_usd_per_gpu_hour) || od < h->od_usd_per_gpu_hour))
            h->od_usd_per_gpu_hour = od;
        double sp = in->spot_median_usd_per_hour / in->n_gpus;
        if (!isnan(sp) && (isnan(h->spot_usd_per_gpu_hour) || sp < h->spot_usd_per_gpu_hour))
            h->spot_usd_per_gpu_hour = sp;
    }
}



/* `n`, or the root of the file it includes when it is `{file: ...}` (NULL when that
 * cannot be read: the verification run reports the include's error). */
static const struct ynode *resolved(const struct scenario *sc, const struct ynode *n,
                                    const char *key)
{
    const struct ynode *file =
        n && n->kind == YNODE_MAP && n->n == 1 ? ynode_get(n, "file") : NULL;
    if (!file)
        return n;
    struct ynode *inc = NULL;
    struct sim_err e = {0};
    return scenario_include(sc, file, key, &inc, &e) == SIM_OK ? inc : NULL;
}

/*
 * The pods a node of the scenario's cluster may run, where the cluster says
 * (docs/plan.md), else 0: the provider's default (np_instance_allocatable). Karpenter:
 * the EC2NodeClass's `spec.kubelet.maxPods` (karpenter-provider-aws v1 instancetype
 * types.go pods(): maxPods when given). AKS: the largest `maxPods` of the User pools where
 * one gives it (a pool without one has AKS's default; verification pins every User pool
 * to the planned type, and the cluster autoscaler may grow any of them). A value the plan
 * cannot read counts as the default: the verification run reports its error.
 */
static int32_t cluster_max_pods(const struct scenario *sc)
{
    const struct ynode *cl = sc->cluster.node;
    const struct ynode *kn = cl ? ynode_get(cl, "karpenter") : NULL;
    struct sim_err e = {0};
    int64_t v = 0;
    if (kn) {
        const struct ynode *nc =
            resolved(sc, ynode_get(kn, "nodeClass"), "cluster.karpenter.nodeClass");
        const struct ynode *spec = nc ? ynode_get(nc, "spec") : NULL;
        const struct ynode *kl = spec ? ynode_get(spec, "kubelet") : NULL;
        const struct ynode *mp = kl ? ynode_get(kl, "maxPods") : NULL;
        if (!mp || ynode_as_int64(mp, "maxPods", 1, 1000, &v, &e) != SIM_OK)
            v = 0;
        return (int32_t)v;
    }
    const struct ynode *aks = cl ? ynode_get(cl, "aks") : NULL;
    const struct ynode *pools = aks ? ynode_get(aks, "nodePools") : NULL;
    int64_t most = 0;
    bool given = false;
    for (size_t i = 0; pools && pools->kind == YNODE_SEQ && i < pools->n; i++) {
        char key[64];
        snprintf(key, sizeof key, "cluster.aks.nodePools.%zu", i);
        /* a pool as written, or {file: pool.json} as az aks nodepool show saved it */
        const struct ynode *po = resolved(sc, pools->items[i], key);
        if (!po || po->kind != YNODE_MAP)
            continue;
        const struct ynode *mode = ynode_get(po, "mode");
        if (mode && mode->value && !strcmp(mode->value, "System"))
            continue;
        const struct ynode *mp = ynode_get(po, "maxPods");
        v = NP_AKS_DEFAULT_MAX_PODS;
        if (mp && ynode_as_int64(mp, "maxPods", 10, 250, &v, &e) != SIM_OK)
            v = NP_AKS_DEFAULT_MAX_PODS;
        given = given || mp;
        most = v > most ? v : most;
    }
    return given ? (int32_t)most : 0;
}

/* cluster.daemonset_requests (podres_daemonsets_read): what the DaemonSet pods of every
 * node request, cpu, memory and pods; none where the cluster gives none. */
static struct pod_cpu_mem cluster_daemonsets(const struct scenario *sc)
{
    struct pod_cpu_mem ds = {0};
    struct sim_err e = {0};
    const struct ynode *cl = sc->cluster.node;
    if (cl && cl->kind == YNODE_MAP &&
        podres_daemonsets_read(ynode_get(cl, "daemonset_requests"), &ds, &e) != SIM_OK)
        ds = (struct pod_cpu_mem){0}; /* refused at load already */
    return ds;
}

int plan_build_space(const struct scenario *sc, const struct plan_spec *p,
                       const struct catalog *cat, struct plan_space *sp, struct sim_err *err)
{
    memset(sp, 0, sizeof *sp);
    sp->autoscaled = sc->fleet.scaled_object || sc->fleet.hpa;
    sp->keda = sc->fleet.scaled_object != NULL;
    if (sc->n_slo == 0)
        return scenario_locate(sc, "plan",
                               (sim_err_set(err, SIM_EINVAL,
                                            "a plan needs SLOs to meet: add an 'slo:' section"),
                                err));
    if (!sp->autoscaled && (p->n_min_replicas || p->n_thresholds || p->n_windows))
        return scenario_locate(sc, "plan.autoscaler",
                               (sim_err_set(err, SIM_EINVAL,
                                            "'plan.autoscaler' varies an autoscaler, but the "
                                            "scenario has no 'fleet.autoscaler'"),
                                err));
    if (!sp->keda && p->n_thresholds)
        return scenario_locate(sc, "plan.autoscaler.threshold",
                               (sim_err_set(err, SIM_EINVAL,
                                            "'plan.autoscaler.threshold' varies a KEDA trigger's "
                                            "threshold: the scenario's autoscaler is an HPA"),
                                err));
    for (size_t i = 0; i < p->n_instances; i++) {
        struct sim_err e2 = {0};
        const struct cat_instance *in = catalog_instance(cat, p->instances[i], &e2);
        if (!in) {
            *err = e2;
            return scenario_locate(sc, "plan.instances", err);
        }
        struct plan_hw *h = &sp->hw[sp->n_hw++];
        snprintf(h->instance, sizeof h->instance, "%s", in->id);
        snprintf(h->gpu, sizeof h->gpu, "%s", in->gpu);
        h->gpus_per_instance = in->n_gpus;
        h->od_usd_per_gpu_hour = in->on_demand_usd_per_hour / in->n_gpus;
        h->spot_usd_per_gpu_hour = in->spot_median_usd_per_hour / in->n_gpus;
    }
    for (size_t i = 0; i < p->n_gpus && sp->n_hw < PLAN_MAX_CHOICES; i++) {
        struct sim_err e2 = {0};
        const struct cat_gpu *g = catalog_gpu(cat, p->gpus[i], &e2);
        if (!g) {
            *err = e2;
            return scenario_locate(sc, "plan.gpus", err);
        }
        struct plan_hw *h = &sp->hw[sp->n_hw++];
        snprintf(h->gpu, sizeof h->gpu, "%s", g->id);
        price_gpu(cat, g->id, h);
        if (isnan(h->od_usd_per_gpu_hour))
            return scenario_locate(sc, "plan.gpus",
                                   (sim_err_set(err, SIM_EINVAL,
                                                "no instance in the catalog has gpu '%s', so "
                                                "it has no price: list instances instead",
                                                g->id),
                                    err));
    }
    if (sp->n_hw == 0) {
        /* The scenario's own GPU, at its cheapest instance. */
        if (!sc->engine.gpu[0])
            return scenario_locate(sc, "plan",
                                   (sim_err_set(err, SIM_EINVAL,
                                                "a plan needs 'plan.instances', 'plan.gpus' or "
                                                "'engine.gpu'"),
                                    err));
        struct plan_hw *h = &sp->hw[sp->n_hw++];
        snprintf(h->gpu, sizeof h->gpu, "%.63s", sc->engine.gpu);
        price_gpu(cat, sc->engine.gpu, h);
        if (isnan(h->od_usd_per_gpu_hour))
            return scenario_locate(sc, "engine.gpu",
                                   (sim_err_set(err, SIM_EINVAL,
                                                "no instance in the catalog has gpu '%s', so "
                                                "it has no price",
                                                sc->engine.gpu),
                                    err));
    }
    int tps[PLAN_MAX_CHOICES] = {sc->engine.tensor_parallel_size};
    size_t n_tp = p->n_tp ? p->n_tp : 1;
    if (p->n_tp)
        memcpy(tps, p->tp, sizeof tps);
    char dts[PLAN_MAX_CHOICES][16];
    size_t n_dt = p->n_dtypes ? p->n_dtypes : 1;
    if (p->n_dtypes)
        memcpy(dts, p->dtypes, sizeof dts);
    else
        snprintf(dts[0], sizeof dts[0], "%s", sc->model.dtype);
    int seqs[PLAN_MAX_CHOICES] = {sc->engine.max_num_seqs};
    size_t n_seqs = p->n_max_num_seqs ? p->n_max_num_seqs : 1;
    if (p->n_max_num_seqs)
        memcpy(seqs, p->max_num_seqs, sizeof seqs);
    int bat[PLAN_MAX_CHOICES] = {sc->engine.max_num_batched_tokens};
    size_t n_bat = p->n_max_batched ? p->n_max_batched : 1;
    if (p->n_max_batched)
        memcpy(bat, p->max_batched, sizeof bat);
    size_t n_min = p->n_min_replicas ? p->n_min_replicas : 1;
    size_t n_th = p->n_thresholds ? p->n_thresholds : 1;
    size_t n_win = p->n_windows ? p->n_windows : 1;
    size_t n_mig = p->n_mig ? p->n_mig : 1;
    size_t total = sp->n_hw * n_mig * n_tp * n_dt * n_seqs * n_bat * n_min * n_th * n_win;
    sp->cfg = calloc(total ? total : 1, sizeof *sp->cfg);
    if (!sp->cfg)
        return sim_err_set(err, SIM_ENOMEM, "out of memory for the plan");
    int32_t max_pods = cluster_max_pods(sc);
    struct pod_cpu_mem ds = cluster_daemonsets(sc);
    for (size_t h = 0; h < sp->n_hw; h++)
      for (size_t g = 0; g < n_mig; g++)
        for (size_t t = 0; t < n_tp; t++)
            for (size_t d = 0; d < n_dt; d++)
                for (size_t q = 0; q < n_seqs; q++)
                    for (size_t b = 0; b < n_bat; b++)
                        for (size_t m = 0; m < n_min; m++)
                            for (size_t th = 0; th < n_th; th++)
                                for (size_t w = 0; w < n_win; w++) {
                                    struct plan_config *c = &sp->cfg[sp->n_cfg++];
                                    c->hw = h;
                                    struct plan_result *r = &c->r;
                                    snprintf(r->instance, sizeof r->instance, "%s",
                                             sp->hw[h].instance);
                                    snprintf(r->gpu, sizeof r->gpu, "%s", sp->hw[h].gpu);
                                    r->tp = tps[t];
                                    r->deployment = -1;
                                    r->max_pods = max_pods;
                                    r->ds_cpu_m = ds.cpu_m;
                                    r->ds_memory = ds.memory;
                                    r->ds_pods = ds.pods;
                                    snprintf(r->mig, sizeof r->mig, "%s",
                                             p->n_mig ? p->mig[g] : "");
                                    r->autoscaled = sp->autoscaled;
                                    snprintf(r->dtype, sizeof r->dtype, "%.15s", dts[d]);
                                    r->max_num_seqs = seqs[q];
                                    r->max_batched = bat[b];
                                    r->min_replicas = p->n_min_replicas ? p->min_replicas[m]
                                                                        : -1;
                                    r->threshold = p->n_thresholds ? p->thresholds[th] : NAN;
                                    r->window_s = p->n_windows ? p->scale_down_window_s[w]
                                                               : -1;
                                }
    return SIM_OK;
}

/* ---- evaluating one configuration ------------------------------------------------------- */


void plan_add_set(struct plan_sets *s, const char *fmt, ...)
{
    if (s->n == MAX_SETS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->buf[s->n], sizeof s->buf[s->n], fmt, ap);
    va_end(ap);
    s->ptr[s->n] = s->buf[s->n];
    s->n++;
}

/* The scenario's own --set overrides first ("k=v;k=v"), then the configuration's. */
void plan_base_sets(const struct scenario *sc, struct plan_sets *s)
{
    const char *p = sc->overrides;
    while (*p) {
        size_t len = strcspn(p, ";");
        if (len && s->n < MAX_SETS) {
            snprintf(s->buf[s->n], sizeof s->buf[s->n], "%.*s", (int)len, p);
            s->ptr[s->n] = s->buf[s->n];
            s->n++;
        }
        p += len;
        if (*p == ';')
            p++;
    }
}

void plan_config_sets(const struct scenario *sc, const char *pre, const struct plan_space *sp,
                      const struct plan_result *r, struct plan_sets *s)
{
    plan_add_set(s, "%sengine.gpu=%s", pre, r->gpu);
    plan_add_set(s, "%sengine.tensor_parallel_size=%d", pre, r->tp);
    plan_add_set(s, "%smodel.dtype=%s", pre, r->dtype);
    if (r->max_num_seqs > 0)
        plan_add_set(s, "%sengine.max_num_seqs=%d", pre, r->max_num_seqs);
    if (r->max_batched > 0)
        plan_add_set(s, "%sengine.max_num_batched_tokens=%d", pre, r->max_batched);
    plan_add_set(s, "%sengine.num_gpu_blocks=auto", pre);
    if (r->mig[0]) {
        /* An engine on one MIG slice of GPUs cut all alike (docs/gpu-sharing.md). */
        plan_add_set(s, "%sfleet.pod.resources={limits: {nvidia.com/mig-%s: 1}}", pre, r->mig);
        plan_add_set(s, "cluster.gpu_sharing={mig: {config: all-%s}}", r->mig);
        if (sc->engine.latency.kind == LAT_TABLE) /* tables are measured on whole GPUs */
            plan_add_set(s, "%sengine.latency.model=roofline", pre);
    } else if (sc->engine.latency.kind == LAT_TABLE) {
        /* Only the scenario's own table describes its GPU; other GPUs and shapes use
         * the shipped table when one exists, the roofline otherwise. */
        char path[1024];
        struct lat_context lc = {.model = sc->model.name,
                                 .gpu = r->gpu,
                                 .dtype = r->dtype,
                                 .kv_dtype = sc->model.kv_cache_dtype,
                                 .tensor_parallel_size = r->tp};
        if (lat_table_default_path(path, sizeof path, lat_tables_dir(), &lc) != SIM_OK ||
            access(path, R_OK) != 0)
            plan_add_set(s, "%sengine.latency.model=roofline", pre);
        else
            plan_add_set(s, "%sengine.latency.table=%s", pre, path);
    }
    if (!sp->autoscaled)
        return;
    char so[96], hpa[96];
    snprintf(so, sizeof so, "%sfleet.autoscaler.scaledObject.spec", pre);
    snprintf(hpa, sizeof hpa, "%sfleet.autoscaler.horizontalPodAutoscaler.spec", pre);
    if (r->min_replicas >= 0)
        plan_add_set(s, "%s.%s=%d", sp->keda ? so : hpa, sp->keda ? "minReplicaCount" : "minReplicas",
                r->min_replicas);
    if (!isnan(r->threshold))
        plan_add_set(s, "%s.triggers.0.metadata.threshold=\"%.17g\"", so, r->threshold);
    if (r->window_s >= 0) {
        if (sp->keda)
            plan_add_set(s,
                    "%s.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown."
                    "stabilizationWindowSeconds=%d",
                    so, r->window_s);
        else
            plan_add_set(s, "%s.behavior.scaleDown.stabilizationWindowSeconds=%d", hpa, r->window_s);
    }
}

/* How far a run is inside its SLOs: the smallest (target - actual) / target over the SLOs
 * (>= 0: all met). A run whose latencies could not be measured counts as -1. */
double plan_slo_margin(const struct sim_result *res)
{
    double m = INFINITY;
    for (size_t i = 0; i < res->n_slo; i++) {
        const struct slo_result *sr = &res->slo[i];
        double target = sr->slo->target;
        double v = isnan(sr->actual) ? -1.0
                   : target > 0      ? (target - sr->actual) / target
                   : (sr->actual <= 0 ? 0.0 : -1.0);
        if (v < m)
            m = v;
    }
    return m == INFINITY ? 0.0 : m;
}

/* The SLO that set the margin, for messages. */
const char *plan_worst_slo(const struct sim_result *res)
{
    double m = INFINITY;
    const char *k = "?";
    for (size_t i = 0; i < res->n_slo; i++) {
        const struct slo_result *sr = &res->slo[i];
        double target = sr->slo->target;
        double v = isnan(sr->actual) ? -1.0 : target > 0 ? (target - sr->actual) / target : 0;
        if (v < m) {
            m = v;
            k = sr->slo->key;
        }
    }
    return k;
}

/* The pods of the last run that held GPUs: [start, end) in us. */
struct podspan {
    int64_t start_us, end_us;
};

struct podlog {
    struct podspan *span;
    size_t n, cap;
    int rc; /* SIM_ENOMEM when a span could not be kept */
};

static int log_pod(void *ctx, const struct rec_pod *p)
{
    struct podlog *l = ctx;
    if (p->scheduled_us < 0)
        return SIM_OK; /* never held GPUs */
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        struct podspan *x = realloc(l->span, cap * sizeof *x);
        if (!x)
            return l->rc = SIM_ENOMEM;
        l->span = x;
        l->cap = cap;
    }
    l->span[l->n++] = (struct podspan){p->scheduled_us, p->terminated_us};
    return SIM_OK;
}

struct evalctx {
    const struct catalog *cat;
    struct scenario sc; /* loaded with the configuration's overrides */
    const struct plan_spec *p;
    int32_t runs;
    struct sim_result last;
    char worst[32];
    bool cluster;       /* run with the scenario's cluster: section (verification) */
    struct podlog pods; /* of the last run */
};

/* Run the configuration's scenario with `replicas` fixed replicas (0: its autoscaler) at
 * `rate` times the workload's rate, over the search window or the whole workload. */
static int run_once(struct evalctx *ec, int32_t replicas, double rate, bool window,
                    struct sim_err *err)
{
    struct scenario sc = ec->sc; /* shallow: the sim only reads it */
    if (replicas > 0) {
        sc.fleet.replicas = replicas;
        sc.fleet.scaled_object = NULL;
        sc.fleet.hpa = NULL;
    }
    if (sc.workload.kind == WL_TRACE) {
        /* Time compression keeps the trace's shape (its bursts and gaps) at a higher rate;
         * thinning or replicating would change the arrival process itself. */
        sc.workload.time_scale /= rate;
        if (window && ec->p->search_window_us > 0) {
            int64_t end = sc.workload.window_start_us + ec->p->search_window_us;
            if (sc.workload.window_end_us < 0 || end < sc.workload.window_end_us)
                sc.workload.window_end_us = end;
        }
    } else {
        sc.workload.rate_per_s *= rate;
        if (window && ec->p->search_window_us > 0 &&
            (sc.duration_us < 0 || ec->p->search_window_us < sc.duration_us))
            sc.duration_us = ec->p->search_window_us;
    }
    /* Rates are only multiplied: step and spike rates scale the same way. */
    struct rate_step steps[64];
    if (sc.workload.kind == WL_SYNTHETIC && sc.workload.n_steps) {
        size_t n = sc.workload.n_steps < 64 ? sc.workload.n_steps : 64;
        for (size_t i = 0; i < n; i++) {
            steps[i] = sc.workload.steps[i];
            steps[i].rate_per_s *= rate;
        }
        sc.workload.steps = steps;
        sc.workload.n_steps = n;
    }
    sc.record.samples = false;
    sc.record.requests = REC_REQUESTS_NONE;
    if (!ec->cluster)
        sc.cluster.node = NULL; /* the search measures the engines; nodes come later */
    ec->pods.n = 0;
    ec->pods.rc = SIM_OK;
    struct sim_sink sink = {.ctx = &ec->pods, .pod = log_pod};
    struct sim_options opt = {.catalog = ec->cat, .sink = &sink};
    struct sim *s = sim_new(&sc, &opt, err);
    if (!s)
        return err->code;
    int rc = sim_run(s, err);
    if (rc == SIM_OK)
        ec->last = *sim_result(s);
    sim_free(s);
    ec->runs++;
    if (rc == SIM_OK)
        snprintf(ec->worst, sizeof ec->worst, "%s", plan_worst_slo(&ec->last));
    return rc;
}

struct brent_ctx {
    struct evalctx *ec;
    double best_pass, lowest_fail;
    int rc;
    struct sim_err *err;
};

static double margin_at(double log_rate, void *vctx)
{
    struct brent_ctx *b = vctx;
    if (b->rc != SIM_OK)
        return -1.0;
    double x = exp(log_rate);
    b->rc = run_once(b->ec, 1, x, true, b->err);
    if (b->rc != SIM_OK)
        return -1.0;
    double m = plan_slo_margin(&b->ec->last);
    if (m >= 0 && x > b->best_pass)
        b->best_pass = x;
    if (m < 0 && x < b->lowest_fail)
        b->lowest_fail = x;
    return m;
}

/*
 * The highest rate multiple one replica sustains within every SLO: bracket the sign
 * change of the SLO margin by doubling or halving from 1, then close in with GSL's Brent
 * solver on the margin as a function of log(rate), keeping the highest passing rate seen.
 */
static int max_rate(struct evalctx *ec, double *out, struct sim_err *err)
{
    struct brent_ctx b = {ec, 0.0, INFINITY, SIM_OK, err};
    double lo = 1.0, hi = 1.0;
    double m = margin_at(0.0, &b);
    const double floor_rate = 1.0 / (2.0 * ec->p->max_replicas), ceil_rate = 16.0;
    if (m >= 0) {
        while (b.rc == SIM_OK && b.lowest_fail == INFINITY && hi < ceil_rate &&
               ec->runs < ec->p->max_search_runs)
            margin_at(log(hi *= 2.0), &b);
        if (b.lowest_fail == INFINITY) {
            *out = b.best_pass;
            return b.rc;
        }
        lo = b.best_pass;
        hi = b.lowest_fail;
    } else {
        while (b.rc == SIM_OK && b.best_pass == 0.0 && lo > floor_rate &&
               ec->runs < ec->p->max_search_runs)
            margin_at(log(lo /= 2.0), &b);
        if (b.best_pass == 0.0) {
            *out = 0.0;
            return b.rc;
        }
        lo = b.best_pass;
        hi = b.lowest_fail;
    }
    if (b.rc != SIM_OK)
        return b.rc;
    gsl_function F = {margin_at, &b};
    gsl_root_fsolver *s = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
    if (!s)
        return sim_err_set(err, SIM_ENOMEM, "out of memory for the root solver");
    /* Brent needs the margin at both ends; re-evaluating them would cost two runs, so the
     * bracket is set with the margins already known. */
    if (gsl_root_fsolver_set(s, &F, log(lo), log(hi)) == GSL_SUCCESS) {
        while (b.rc == SIM_OK && ec->runs < ec->p->max_search_runs) {
            if (gsl_root_fsolver_iterate(s) != GSL_SUCCESS)
                break;
            double a = exp(gsl_root_fsolver_x_lower(s)), c = exp(gsl_root_fsolver_x_upper(s));
            if (b.lowest_fail < INFINITY && b.best_pass > 0 &&
                (b.lowest_fail - b.best_pass) <= ec->p->tolerance_frac * b.best_pass)
                break;
            if ((c - a) <= ec->p->tolerance_frac * a)
                break;
        }
    }
    gsl_root_fsolver_free(s);
    *out = b.best_pass;
    return b.rc;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/*
 * Pack the last run's pods onto nodes of each size in r->size_per_node (pods a node)
 * and integrate the nodes needed over time: at every moment ceil(pods / per_node) nodes,
 * the tightest packing (the scheduler's first fit keeps a fixed fleet that tight; an
 * autoscaled fleet's scale-in can leave holes the cluster model shows in verification).
 */
static void pack_nodes(struct plan_result *r, const struct podlog *l, int64_t end_us)
{
    size_t n = l->n;
    int64_t *ev = n ? malloc(2 * n * sizeof *ev) : NULL;
    for (size_t k = 0; k < r->n_sizes; k++) {
        r->size_node_hours[k] = n ? NAN : 0.0;
        r->size_peak_nodes[k] = 0;
    }
    if (!ev)
        return;
    /* Starts as 2t+1, ends as 2t: at equal times an end comes first. */
    for (size_t i = 0; i < n; i++) {
        int64_t e = l->span[i].end_us < 0 ? end_us : l->span[i].end_us;
        ev[2 * i] = 2 * l->span[i].start_us + 1;
        ev[2 * i + 1] = 2 * (e < l->span[i].start_us ? l->span[i].start_us : e);
    }
    qsort(ev, 2 * n, sizeof *ev, cmp_i64);
    for (size_t k = 0; k < r->n_sizes; k++) {
        int per_node = r->size_per_node[k];
        double node_us = 0;
        int64_t live = 0, peak = 0, t_prev = 0;
        for (size_t i = 0; i < 2 * n; i++) {
            int64_t t = ev[i] >> 1;
            int64_t nodes = (live + per_node - 1) / per_node; /* ceil: whole nodes */
            node_us += (double)(nodes * (t - t_prev));
            t_prev = t;
            live += (ev[i] & 1) ? 1 : -1;
            nodes = (live + per_node - 1) / per_node;
            if (nodes > peak)
                peak = nodes;
        }
        r->size_node_hours[k] = node_us * 1e-6 / 3600.0;
        r->size_peak_nodes[k] = (int)peak;
    }
    free(ev);
}

/* The node sizes a configuration may be billed on, as replicas a node holds
 * (plan_replicas_per_node): its instance's, or with plan.gpus every catalog instance of its
 * GPU that tensor_parallel_size divides; an instance whose allocatable holds no replica
 * is none. The pods' cpu and memory requests come from `pod`, the DaemonSets' from r
 * (plan_build_space). */
static void node_sizes(struct plan_result *r, const struct pod_spec *pod, const struct catalog *cat)
{
    r->n_sizes = 0;
    r->pod_cpu_m = pod->res.cpu_m;
    r->pod_memory = pod->res.memory;
    for (size_t i = 0; i < catalog_n_instances(cat) && r->n_sizes < PLAN_MAX_NODE_SIZES; i++) {
        const struct cat_instance *in = catalog_instance_at(cat, i);
        if (strcasecmp(in->gpu, r->gpu) || in->n_gpus <= 0 || in->n_gpus % r->tp != 0 ||
            (r->instance[0] && strcmp(in->id, r->instance)))
            continue;
        int per_node = plan_replicas_per_node(r, in);
        bool seen = per_node <= 0;
        for (size_t k = 0; k < r->n_sizes && !seen; k++)
            seen = r->size_per_node[k] == per_node;
        if (!seen)
            r->size_per_node[r->n_sizes++] = per_node;
    }
}

/* Keep what the accepted (verified) run measured. */
static void fill_outcome(struct plan_result *r, const struct evalctx *ec)
{
    const struct sim_result *res = &ec->last;
    pack_nodes(r, &ec->pods, res->end_us);
    r->ttft_p95_s = res->ttft.q_s[2];
    r->tpot_p95_s = res->tpot.q_s[2];
    r->error_rate = res->error_rate;
    r->margin = plan_slo_margin(res);
    r->replica_hours = res->gpu_pod_s / 3600.0;
    r->output_tokens = (double)res->output_tokens;
    r->run_hours = (double)(res->end_us - res->first_arrival_us) * 1e-6 / 3600.0;
}

/* Evaluate one configuration (in a worker). */
void plan_evaluate(const struct scenario *base, int dep, const struct plan_space *sp,
                   struct plan_config *c, const struct plan_spec *p, const struct catalog *cat)
{
    struct plan_result *r = &c->r;
    const struct plan_hw *h = &sp->hw[c->hw];
    if (h->gpus_per_instance > 0 && (r->tp > h->gpus_per_instance ||
                                     h->gpus_per_instance % r->tp != 0)) {
        snprintf(r->reason, sizeof r->reason,
                 "tensor_parallel_size %d does not divide the %d GPUs of %s", r->tp,
                 h->gpus_per_instance, h->instance);
        return;
    }
    const struct cat_gpu *mg = r->mig[0] ? catalog_gpu(cat, r->gpu, NULL) : NULL;
    if (mg && !mig_profile_find(&mg->mig, r->mig)) {
        snprintf(r->reason, sizeof r->reason, "%s has no MIG profile '%s'%s", r->gpu, r->mig,
                 mg->mig.n_profiles ? " (llmcap catalog mig)" : ": it has no MIG");
        return;
    }
    if (r->mig[0] && r->tp > 1) {
        snprintf(r->reason, sizeof r->reason,
                 "tensor_parallel_size %d across MIG slices: MIG instances have no P2P or "
                 "NVLink path for NCCL's all-reduce",
                 r->tp);
        return;
    }
    const struct scenario *dsc = dep >= 0 ? &base->deployments[dep] : base;
    node_sizes(r, &dsc->fleet.pod, cat);
    if (!r->n_sizes) {
        char pods[64] = ""; /* maxPods, where it or the DaemonSet pods are given */
        if (r->max_pods > 0)
            snprintf(pods, sizeof pods, ", %d pods of the pools' maxPods %d", (int)r->ds_pods,
                     (int)r->max_pods);
        else if (r->ds_pods > 0)
            snprintf(pods, sizeof pods, ", %d pods", (int)r->ds_pods);
        int w = snprintf(r->reason, sizeof r->reason,
                         "no %s node's allocatable holds a pod requesting cpu %lldm, memory "
                         "%lldMi (beside DaemonSets' cpu %lldm, memory %lldMi%s; docs/plan.md)",
                         r->instance[0] ? r->instance : r->gpu, (long long)r->pod_cpu_m,
                         (long long)((r->pod_memory + 1048575) / 1048576),
                         (long long)r->ds_cpu_m, (long long)((r->ds_memory + 1048575) / 1048576),
                         pods);
        (void)w; /* a longer one keeps what fits */
        return;
    }
    r->valid = true;
    /* vLLM's hardware rules (plan/support.c): pruned with the rule, no simulation */
    const struct cat_gpu *g = catalog_gpu(cat, r->gpu, NULL);
    if (g && !plan_vllm_supports(g, r->dtype, r->reason, sizeof r->reason))
        return;
    struct plan_sets sets = {0};
    plan_base_sets(base, &sets);
    char pre[32] = "";
    if (dep >= 0)
        snprintf(pre, sizeof pre, "deployments.%d.", dep);
    plan_config_sets(dsc, pre, sp, r, &sets);
    struct evalctx ec = {.cat = cat, .p = p};
    struct sim_err err = {0};
    /* A deployment of a shared cluster is measured alone: its own scenario, run as a
     * single-deployment one (the loaded file stays the owner of what it points into). */
    struct scenario owner;
    if (scenario_load(&owner, base->path, sets.ptr, sets.n, &err) != SIM_OK) {
        snprintf(r->reason, sizeof r->reason, "%.255s", err.msg);
        return;
    }
    ec.sc = dep >= 0 ? owner.deployments[dep] : owner;
    if (dep >= 0) {
        ec.sc.deployments = NULL;
        ec.sc.n_deployments = 0;
    }
    /* Does it fit? sim_new sizes the KV cache the way vLLM does (nodes come later). */
    struct sim_options opt = {.catalog = cat};
    struct scenario probe_sc = ec.sc;
    probe_sc.cluster.node = NULL;
    struct sim *probe = sim_new(&probe_sc, &opt, &err);
    if (!probe) {
        /* Memory sizing says why the model does not fit; anything else (a latency model
         * missing a catalog value, ...) means the configuration cannot be simulated. */
        bool memory = strstr(err.msg, "of weights") || strstr(err.msg, "KV");
        snprintf(r->reason, sizeof r->reason, "%s: %.230s",
                 memory ? "does not fit" : "cannot be simulated", err.msg);
        scenario_release(&owner);
        return;
    }
    sim_free(probe);
    r->fits = true;
    int rc;
    if (sp->autoscaled) {
        rc = run_once(&ec, 0, 1.0, false, &err);
        if (rc == SIM_OK) {
            r->replicas = ec.last.peak_replicas_ready;
            r->feasible = plan_slo_margin(&ec.last) >= 0;
            fill_outcome(r, &ec);
            if (r->feasible)
                snprintf(r->reason, sizeof r->reason, "autoscaled: %d replica%s at peak",
                         ec.last.peak_replicas_ready, plural_s(ec.last.peak_replicas_ready));
            else
                snprintf(r->reason, sizeof r->reason, "autoscaled: misses %s (peak %d replica%s)",
                         ec.worst, ec.last.peak_replicas_ready,
                         plural_s(ec.last.peak_replicas_ready));
        }
    } else {
        double x = 0;
        rc = max_rate(&ec, &x, &err);
        r->max_rate_scale = x;
        if (rc == SIM_OK && x <= 0) {
            snprintf(r->reason, sizeof r->reason,
                     "one replica misses %s even at 1/%d of the traffic", ec.worst,
                     2 * p->max_replicas);
        } else if (rc == SIM_OK) {
            int32_t n = (int32_t)ceil(1.0 / x - 1e-9);
            if (n < 1)
                n = 1;
            bool pass = false;
            int32_t good = -1;
            /* Verify over the whole workload, growing until it holds... */
            for (int k = 0; k < 4 && rc == SIM_OK && n <= p->max_replicas; k++) {
                rc = run_once(&ec, n, 1.0, false, &err);
                if (rc != SIM_OK)
                    break;
                pass = plan_slo_margin(&ec.last) >= 0;
                if (pass) {
                    good = n;
                    fill_outcome(r, &ec);
                    break;
                }
                n++;
            }
            /* ... then shrinking while it still holds (pooling beats the estimate). */
            for (int k = 0; k < 3 && rc == SIM_OK && good > 1; k++) {
                rc = run_once(&ec, good - 1, 1.0, false, &err);
                if (rc != SIM_OK || plan_slo_margin(&ec.last) < 0)
                    break;
                good--;
                fill_outcome(r, &ec);
            }
            if (good > 0) {
                r->feasible = true;
                r->replicas = good;
                snprintf(r->reason, sizeof r->reason,
                         "one replica sustains %.3gx the traffic: %d replica%s", x, good,
                         plural_s(good));
            } else if (rc == SIM_OK && n > p->max_replicas) {
                snprintf(r->reason, sizeof r->reason,
                         "needs more than max_replicas (%d replica%s; one sustains %.3gx the "
                         "traffic)",
                         p->max_replicas, plural_s(p->max_replicas), x);
            } else if (rc == SIM_OK) {
                snprintf(r->reason, sizeof r->reason,
                         "misses %s with %d replica%s although one sustains %.3gx", ec.worst, n,
                         plural_s(n), x);
            }
        }
    }
    if (rc != SIM_OK)
        snprintf(r->reason, sizeof r->reason, "run failed: %.240s", err.msg);
    r->search_runs = ec.runs;
    if (ec.pods.rc != SIM_OK && (r->feasible = false, true))
        snprintf(r->reason, sizeof r->reason, "run failed: out of memory for the pods' spans");
    free(ec.pods.span);
    scenario_release(&owner);
}

/* ---- running the plan -------------------------------------------------------------------- */

static int read_full(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t k = read(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int plan_verify(const struct scenario *sc, const struct plan_spec *p,
                       const struct plan_options *opt, struct plan_result *r, size_t n,
                       struct sim_err *err);
static bool has_provisioner(const struct scenario *sc);

/* Shards split the configurations as sweeps split their points (reports/sweep.h). */
static bool in_shard(size_t i, const struct plan_options *opt)
{
    return opt->shard_n <= 1 || sweep_in_shard(i, opt->shard_i, opt->shard_n);
}

struct msg {
    size_t index;
    struct plan_result r;
};

int plan_workers(size_t n, bool (*mine)(size_t i, void *ctx),
                 void (*eval)(size_t i, struct plan_result *out, void *ctx), void *ctx,
                 struct plan_result *out, const struct plan_options *opt,
                 struct sim_err *err)
{
    size_t n_mine = 0;
    for (size_t i = 0; i < n; i++)
        n_mine += mine(i, ctx);
    int jobs = opt->jobs > 0 ? opt->jobs : 1;
    if ((size_t)jobs > n_mine)
        jobs = n_mine ? (int)n_mine : 1;
    int fds[2];
    if (pipe(fds) != 0)
        return sim_err_set(err, SIM_EIO, "cannot create a pipe: %s", strerror(errno));
    pid_t pids[256];
    int n_pids = 0;
    fflush(NULL);
    for (int w = 0; w < jobs && w < 256; w++) {
        pid_t pid = fork();
        if (pid < 0)
            break;
        if (pid == 0) {
            close(fds[0]);
            size_t k = 0;
            for (size_t i = 0; i < n; i++) {
                if (!mine(i, ctx) || k++ % (size_t)jobs != (size_t)w)
                    continue;
                struct msg m;
                memset(&m, 0, sizeof m);
                m.index = i;
                m.r = out[i];
                eval(i, &m.r, ctx);
                if (write_full(fds[1], &m, sizeof m) != 0)
                    _exit(3);
            }
            _exit(0);
        }
        pids[n_pids++] = pid;
    }
    close(fds[1]);
    if (n_pids == 0) {
        close(fds[0]);
        return sim_err_set(err, SIM_EIO, "cannot start worker processes: %s", strerror(errno));
    }
    size_t done = 0;
    struct msg m;
    while (done < n_mine && read_full(fds[0], &m, sizeof m) == 0) {
        if (m.index < n)
            out[m.index] = m.r;
        done++;
        if (opt->progress)
            opt->progress(opt->progress_ctx, done, n_mine);
        if (opt->stop && *opt->stop) {
            for (int i = 0; i < n_pids; i++)
                kill(pids[i], SIGTERM);
            break;
        }
    }
    close(fds[0]);
    int failed = 0;
    for (int i = 0; i < n_pids; i++) {
        int status = 0;
        waitpid(pids[i], &status, 0);
        failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    if (opt->stop && *opt->stop)
        return sim_err_set(err, SIM_EINTR, "interrupted after %zu of %zu configurations",
                           done, n_mine);
    if (done < n_mine || failed)
        return sim_err_set(err, SIM_EIO, "%d worker process(es) failed; %zu of %zu "
                                         "configurations evaluated",
                           failed, done, n_mine);
    return SIM_OK;
}

struct run_ctx {
    const struct scenario *sc;
    struct plan_space *sp;
    const struct plan_spec *p;
    const struct plan_options *opt;
};

static bool run_mine(size_t i, void *ctx)
{
    return in_shard(i, ((const struct run_ctx *)ctx)->opt);
}

static void run_eval(size_t i, struct plan_result *out, void *ctx)
{
    struct run_ctx *c = ctx;
    plan_evaluate(c->sc, -1, c->sp, &c->sp->cfg[i], c->p, c->opt->catalog);
    *out = c->sp->cfg[i].r;
}

int plan_run(const struct scenario *sc, const struct plan_options *opt,
             struct plan_result **out, size_t *n_out, struct sim_err *err)
{
    struct plan_spec p;
    *out = NULL;
    *n_out = 0;
    int rc = plan_spec_read(scenario_node(sc, "plan"), &p, err);
    if (rc != SIM_OK)
        return rc;
    if (!p.present)
        return scenario_locate(sc, "", (sim_err_set(err, SIM_EINVAL,
                                                    "the scenario has no 'plan:' section to "
                                                    "search"),
                                        err));
    if (sc->n_deployments)
        return scenario_locate(sc, "plan",
                               (sim_err_set(err, SIM_EINVAL,
                                            "a scenario with 'deployments:' is planned as a "
                                            "shared cluster (plan_shared_run)"),
                                err));
    struct plan_space sp;
    if ((rc = plan_build_space(sc, &p, opt->catalog, &sp, err)) != SIM_OK) {
        free(sp.cfg);
        return rc;
    }
    size_t n_mine = 0;
    for (size_t i = 0; i < sp.n_cfg; i++)
        n_mine += in_shard(i, opt);
    if (opt->info) {
        opt->info->n_configs = sp.n_cfg * (p.n_spot ? p.n_spot : 1);
        opt->info->verify_candidates = p.verify_candidates;
        opt->info->provisioner = has_provisioner(sc);
    }
    struct plan_result *done = calloc(sp.n_cfg ? sp.n_cfg : 1, sizeof *done);
    if (!done) {
        free(sp.cfg);
        return sim_err_set(err, SIM_ENOMEM, "out of memory for the plan");
    }
    struct run_ctx rcx = {sc, &sp, &p, opt};
    rc = plan_workers(sp.n_cfg, run_mine, run_eval, &rcx, done, opt, err);
    for (size_t i = 0; i < sp.n_cfg; i++)
        if (in_shard(i, opt))
            sp.cfg[i].r = done[i];
    free(done);
    if (rc != SIM_OK) {
        free(sp.cfg);
        return rc;
    }
    /* Expand by spot share (a price, not a different run), then bill everything. */
    size_t n_spot = p.n_spot ? p.n_spot : 1;
    struct plan_result *res = calloc(n_mine * n_spot + 1, sizeof *res);
    if (!res) {
        free(sp.cfg);
        return sim_err_set(err, SIM_ENOMEM, "out of memory for the plan results");
    }
    size_t n = 0;
    for (size_t i = 0; i < sp.n_cfg; i++) {
        if (!in_shard(i, opt))
            continue;
        for (size_t k = 0; k < n_spot; k++) {
            struct plan_result *r = &res[n++];
            *r = sp.cfg[i].r;
            r->index = (uint32_t)(i * n_spot + k);
            r->billing = p.billing;
            r->spot_share = p.n_spot ? p.spot_share[k] : 0.0;
            plan_bill(r, opt->catalog);
        }
    }
    free(sp.cfg);
    rc = plan_verify(sc, &p, opt, res, n, err);
    if (rc != SIM_OK) {
        free(res);
        return rc;
    }
    plan_mark_pareto(res, n);
    *out = res;
    *n_out = n;
    return SIM_OK;
}

/* ---- verification under the cluster model ------------------------------------------------ */

int plan_rank_cmp(const void *a, const void *b)
{
    const struct plan_result *x = a, *y = b;
    if (x->usd_per_hour != y->usd_per_hour)
        return x->usd_per_hour < y->usd_per_hour ? -1 : 1;
    if (x->ttft_p95_s != y->ttft_p95_s)
        return x->ttft_p95_s < y->ttft_p95_s ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

static int rank_ptr_cmp(const void *a, const void *b)
{
    return plan_rank_cmp(*(const struct plan_result *const *)a,
                         *(const struct plan_result *const *)b);
}

/* The scenario provisions nodes (Karpenter or the AKS cluster autoscaler). */
static bool has_provisioner(const struct scenario *sc)
{
    return sc->cluster.node &&
           (ynode_get(sc->cluster.node, "karpenter") || ynode_get(sc->cluster.node, "aks"));
}

/* The NodePool's requirements so far (the pins are appended after them), reading the
 * NodePool from its `{file: ...}` include when it is one. */
static size_t n_requirements(const struct scenario *sc)
{
    const struct ynode *np = resolved(sc, scenario_node(sc, "cluster.karpenter.nodePool"),
                                      "cluster.karpenter.nodePool");
    const char *path[] = {"spec", "template", "spec", "requirements"};
    for (size_t i = 0; np && i < 4; i++)
        np = ynode_get(np, path[i]);
    return np && np->kind == YNODE_SEQ ? np->n : 0;
}

/* Pin the cluster's nodes to the result's instance type and capacity: a NodePool
 * requirement (Karpenter requirements intersect) or every User pool's vmSize (AKS).
 * false + why when the result's spot share has no form in that provisioner. */
static bool pin_nodes(const struct scenario *sc, const struct plan_result *r, struct plan_sets *s,
                      char *why, size_t n)
{
    const struct ynode *kp = ynode_get(sc->cluster.node, "karpenter");
    if (kp) {
        if (r->spot_share > 0 && r->spot_share < 1) {
            snprintf(why, n,
                     "a %.0f%% spot share has no NodePool form (Karpenter launches spot "
                     "whenever the NodePool allows it): verify 0 or 1",
                     r->spot_share * 100.0);
            return false;
        }
        const char *req = "cluster.karpenter.nodePool.spec.template.spec.requirements";
        size_t k = n_requirements(sc);
        plan_add_set(s, "%s.%zu={key: node.kubernetes.io/instance-type, operator: In, values: [%s]}",
                req, k, r->node_type);
        plan_add_set(s, "%s.%zu={key: karpenter.sh/capacity-type, operator: In, values: [%s]}", req,
                k + 1, r->spot_share > 0 ? "spot" : "on-demand");
        return true;
    }
    if (r->spot_share > 0) {
        snprintf(why, n, "on AKS the pools' priority (Regular, Spot) decides spot: give the "
                         "pools, not plan.spot_share");
        return false;
    }
    const struct ynode *pools = scenario_node(sc, "cluster.aks.nodePools");
    for (size_t i = 0; pools && pools->kind == YNODE_SEQ && i < pools->n; i++) {
        const struct ynode *mode = ynode_get(pools->items[i], "mode");
        if (mode && mode->value && !strcmp(mode->value, "System"))
            continue;
        plan_add_set(s, "cluster.aks.nodePools.%zu.vmSize=%s", i, r->node_type);
    }
    return true;
}

/* Run result `r` once under the scenario's cluster: section, its fleet size fixed (or its
 * autoscaler settings), its nodes pinned to r->node_type. */
static void verify_one(const struct scenario *base, const struct plan_spec *p,
                       const struct catalog *cat, struct plan_result *r)
{
    struct plan_space sp = {.autoscaled = base->fleet.scaled_object || base->fleet.hpa,
                       .keda = base->fleet.scaled_object != NULL};
    struct plan_sets sets = {0};
    plan_base_sets(base, &sets);
    plan_config_sets(base, "", &sp, r, &sets);
    if (!sp.autoscaled)
        plan_add_set(&sets, "fleet.replicas=%d", r->replicas);
    char why[200];
    r->verify = PLAN_VERIFY_FAIL;
    if (!pin_nodes(base, r, &sets, why, sizeof why)) {
        snprintf(r->verify_note, sizeof r->verify_note, "not verifiable: %s", why);
        return;
    }
    struct evalctx ec = {.cat = cat, .p = p, .cluster = true};
    struct sim_err err = {0};
    int rc = scenario_load(&ec.sc, base->path, sets.ptr, sets.n, &err);
    if (rc == SIM_OK) {
        rc = run_once(&ec, 0, 1.0, false, &err);
        scenario_release(&ec.sc);
    }
    free(ec.pods.span);
    if (rc != SIM_OK) {
        snprintf(r->verify_note, sizeof r->verify_note, "the cluster model cannot run it: %.200s",
                 err.msg);
        return;
    }
    const struct sim_result *res = &ec.last;
    double hours = (double)(res->end_us - res->first_arrival_us) * 1e-6 / 3600.0;
    double cost = res->cost.usd;
    /* With GPU-share billing the fleet pays its pods' GPU-hours of the nodes' bill. */
    if (r->billing == PLAN_BILL_GPU_SHARE && res->cost.gpu_hours > 0)
        cost *= res->gpu_pod_s * r->tp / 3600.0 / res->cost.gpu_hours;
    r->verified_cost_usd = cost;
    r->verified_usd_per_hour = hours > 0 ? cost / hours : NAN;
    r->verified_usd_per_mtok =
        res->output_tokens ? cost / ((double)res->output_tokens * 1e-6) : NAN;
    r->verified_ttft_p95_s = res->ttft.q_s[2];
    bool pass = plan_slo_margin(res) >= 0;
    r->verify = pass ? PLAN_VERIFY_PASS : PLAN_VERIFY_FAIL;
    int n = snprintf(r->verify_note, sizeof r->verify_note, "%s%s under the cluster model: ",
                     pass ? "meets every SLO" : "misses ", pass ? "" : plan_worst_slo(res));
    snprintf(r->verify_note + n, sizeof r->verify_note - (size_t)n,
             "%llu node%s (%llu spot interruption%s), $%.2f billed", (unsigned long long)res->cost.n_nodes,
             res->cost.n_nodes == 1 ? "" : "s", (unsigned long long)res->cost.n_spot_interruptions,
             res->cost.n_spot_interruptions == 1 ? "" : "s", cost);
}

/*
 * Verify the cheapest feasible results, in plan_rank_cmp() order, with the scenario's
 * cluster model (provisioning delays, spot interruptions, consolidation, the autoscaler),
 * until one meets every SLO or plan.verify.candidates have been tried. Without a node
 * provisioner in the scenario there is nothing to verify with: results keep
 * PLAN_VERIFY_NONE.
 */
static int plan_verify(const struct scenario *sc, const struct plan_spec *p,
                       const struct plan_options *opt, struct plan_result *r, size_t n,
                       struct sim_err *err)
{
    if (!has_provisioner(sc) || p->verify_candidates <= 0)
        return SIM_OK;
    const struct plan_result **o = calloc(n ? n : 1, sizeof *o);
    if (!o)
        return sim_err_set(err, SIM_ENOMEM, "out of memory for the plan's candidates");
    size_t no = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].feasible)
            o[no++] = &r[i];
    qsort(o, no, sizeof *o, rank_ptr_cmp);
    for (size_t k = 0; k < no && k < (size_t)p->verify_candidates; k++) {
        if (opt->stop && *opt->stop) {
            free(o);
            return sim_err_set(err, SIM_EINTR, "interrupted while verifying candidate %zu", k + 1);
        }
        struct plan_result *x = (struct plan_result *)o[k];
        verify_one(sc, p, opt->catalog, x);
        if (x->verify == PLAN_VERIFY_PASS)
            break;
    }
    free(o);
    return SIM_OK;
}

long plan_best(const struct plan_result *r, size_t n)
{
    bool verified = false;
    for (size_t i = 0; i < n && !verified; i++)
        verified = r[i].verify != PLAN_VERIFY_NONE;
    long best = -1;
    for (size_t i = 0; i < n; i++) {
        if (!r[i].feasible || (verified && r[i].verify != PLAN_VERIFY_PASS))
            continue;
        if (best < 0 || plan_rank_cmp(&r[i], &r[best]) < 0)
            best = (long)i;
    }
    return best;
}

void plan_mark_pareto(struct plan_result *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        r[i].pareto = false;
        if (!r[i].feasible || r[i].verify == PLAN_VERIFY_FAIL)
            continue;
        bool dominated = false;
        for (size_t j = 0; j < n && !dominated; j++) {
            if (j == i || !r[j].feasible || r[j].verify == PLAN_VERIFY_FAIL)
                continue;
            bool no_worse = r[j].usd_per_hour <= r[i].usd_per_hour &&
                            r[j].ttft_p95_s <= r[i].ttft_p95_s;
            bool better = r[j].usd_per_hour < r[i].usd_per_hour ||
                          r[j].ttft_p95_s < r[i].ttft_p95_s;
            /* Equal points: the first in enumeration order represents them. */
            bool tie = !better && no_worse && r[j].index < r[i].index;
            dominated = (no_worse && better) || tie;
        }
        r[i].pareto = !dominated;
    }
}

void plan_label(const struct plan_result *r, char *buf, size_t n)
{
    int k = snprintf(buf, n, "%s tp%d %s", r->instance[0] ? r->instance : r->gpu, r->tp,
                     r->dtype);
    if (k > 0 && (size_t)k < n && r->mig[0])
        k += snprintf(buf + k, n - (size_t)k, " mig=%s", r->mig);
    if (k > 0 && (size_t)k < n && r->max_num_seqs > 0)
        k += snprintf(buf + k, n - (size_t)k, " seqs=%d", r->max_num_seqs);
    if (k > 0 && (size_t)k < n && r->max_batched > 0)
        k += snprintf(buf + k, n - (size_t)k, " batched=%d", r->max_batched);
    if (k > 0 && (size_t)k < n && r->min_replicas >= 0)
        k += snprintf(buf + k, n - (size_t)k, " min=%d", r->min_replicas);
    if (k > 0 && (size_t)k < n && !isnan(r->threshold))
        k += snprintf(buf + k, n - (size_t)k, " threshold=%g", r->threshold);
    if (k > 0 && (size_t)k < n && r->window_s >= 0)
        k += snprintf(buf + k, n - (size_t)k, " down-window=%ds", r->window_s);
    if (k > 0 && (size_t)k < n && r->spot_share > 0)
        snprintf(buf + k, n - (size_t)k, " spot=%.0f%%", r->spot_share * 100.0);
}
