/* gpushare.c: `cluster.gpu_sharing` and `fleet.pod.resources`, read and resolved
 * (gpushare.h; docs/gpu-sharing.md). */
#include "sim/config/gpushare.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "models/catalog.h"
#include "sim/config/scenario.h"
#include "sim/config/ynode.h"

#define at(err, n, ...) sim_err_at((err), SIM_EINVAL, (n)->file, (n)->line, (n)->col, __VA_ARGS__)

static const char *const sharing_keys[] = {"mig", "time_slicing", "oom", NULL};
static const char *const mig_keys[] = {"strategy", "config", "devices", "relayout", NULL};
static const char *const ts_keys[] = {"version", "flags", "sharing", NULL};

/* A layout, as mig-parted names it (`config: all-3g.40gb`) or lists it (`devices`),
 * in map m (`ctx` names it in messages). *where: the key's value, for later errors. */
static int read_layout(const struct ynode *m, const char *ctx, char *cfg_out, size_t cfg_n,
                       struct mig_layout *l, const struct ynode **where, struct sim_err *err)
{
    int rc;
    const struct ynode *cfg = ynode_get(m, "config"), *dev = ynode_get(m, "devices");
    if (!!cfg == !!dev)
        return at(err, cfg ? cfg : m,
                  "'%s' needs exactly one of 'config' (a mig-parted config name such as "
                  "all-3g.40gb or all-balanced) and 'devices' (mig-devices: {\"3g.40gb\": 2})",
                  ctx);
    *where = cfg ? cfg : dev;
    char key[160];
    if (cfg) {
        const char *v;
        snprintf(key, sizeof key, "%s.config", ctx);
        if ((rc = ynode_as_string(cfg, key, &v, err)))
            return rc;
        if (strlen(v) >= cfg_n || !v[0])
            return at(err, cfg, "'%s.config' must be 1 to %zu characters, got '%s'", ctx,
                      cfg_n - 1, v);
        snprintf(cfg_out, cfg_n, "%s", v);
        return SIM_OK;
    }
    if (dev->kind != YNODE_MAP)
        return at(err, dev, "expected a map of MIG profiles to counts for '%s.devices', found %s",
                  ctx, ynode_kind_name(dev));
    if (dev->n == 0)
        return at(err, dev, "'%s.devices' needs at least one MIG profile ({\"3g.40gb\": 2})",
                  ctx);
    if (dev->n > MIG_MAX_PROFILES)
        return at(err, dev, "'%s.devices' names more than %d profiles", ctx, MIG_MAX_PROFILES);
    for (size_t i = 0; i < dev->n; i++) {
        const struct ynode *k = dev->keys[i];
        if (strlen(k->value) >= MIG_NAME_MAX)
            return at(err, k, "'%s' is not a MIG profile name (like 3g.40gb)", k->value);
        snprintf(key, sizeof key, "%s.devices.%s", ctx, k->value);
        int64_t c;
        if ((rc = ynode_as_int64_unit(dev->items[i], key, 0, MIG_MAX_INSTANCES, "instances", &c,
                                      err)))
            return rc;
        struct mig_layout_entry *e = &l->e[l->n++];
        snprintf(e->profile, sizeof e->profile, "%s", k->value);
        e->count = (int)c;
    }
    return SIM_OK;
}

/* `mig.relayout`: the re-partitions a platform team schedules, in time order. */
static int read_relayout(const struct ynode *rl, struct gpushare_spec *out, struct sim_err *err)
{
    const char *ctx = "cluster.gpu_sharing.mig.relayout";
    if (rl->kind != YNODE_SEQ)
        return at(err, rl, "expected a sequence of {at, config | devices} for '%s', found %s",
                  ctx, ynode_kind_name(rl));
    if (rl->n > GS_MAX_RELAYOUTS)
        return at(err, rl, "'%s' lists %zu re-layouts; at most %d are modelled", ctx, rl->n,
                  GS_MAX_RELAYOUTS);
    static const char *const keys[] = {"at",   "config",          "devices", "max_unavailable",
                                       "repartition", "pools", NULL};
    for (size_t i = 0; i < rl->n; i++) {
        const struct ynode *it = rl->items[i];
        char ic[96], key[160];
        snprintf(ic, sizeof ic, "%s.%zu", ctx, i);
        int rc = ynode_check_keys(it, ic, keys, err);
        if (rc)
            return rc;
        struct gs_relayout *r = &out->relayout[out->n_relayout];
        memset(r, 0, sizeof *r);
        r->node = it;
        r->max_unavailable = 1;
        r->repartition_us = GS_REPARTITION_DEFAULT_US;
        const struct ynode *n = ynode_get(it, "at");
        if (!n)
            return at(err, it, "'%s.at' is required (a duration from the run's start, like 30m)",
                      ic);
        snprintf(key, sizeof key, "%s.at", ic);
        if ((rc = ynode_as_duration_us(n, key, 0, INT64_MAX / 4, 0, &r->at_us, err)))
            return rc;
        if (i > 0 && r->at_us <= out->relayout[i - 1].at_us) {
            char a[32], b[32];
            return at(err, n,
                      "'%s' must come after the previous re-layout's 'at' (%s.%zu.at, %s), "
                      "found %s: list them in time order",
                      key, ctx, i - 1, format_duration_us(out->relayout[i - 1].at_us, b, sizeof b),
                      format_duration_us(r->at_us, a, sizeof a));
        }
        if ((rc = read_layout(it, ic, r->mig_config, sizeof r->mig_config, &r->layout,
                              &r->cfg_node, err)))
            return rc;
        if ((n = ynode_get(it, "max_unavailable"))) {
            snprintf(key, sizeof key, "%s.max_unavailable", ic);
            int64_t v;
            if ((rc = ynode_as_int64_unit(n, key, 1, 100000, "nodes", &v, err)))
                return rc;
            r->max_unavailable = (int32_t)v;
        }
        if ((n = ynode_get(it, "repartition"))) {
            snprintf(key, sizeof key, "%s.repartition", ic);
            if ((rc = ynode_as_duration_us(n, key, 0, 86400LL * 1000000, 0, &r->repartition_us,
                                           err)))
                return rc;
        }
        if ((n = ynode_get(it, "pools"))) {
            if (n->kind != YNODE_SEQ || n->n == 0)
                return at(err, n, "expected a list of AKS node pool names for '%s.pools', found %s",
                          ic, n->kind == YNODE_SEQ ? "an empty list" : ynode_kind_name(n));
            for (size_t k = 0; k < n->n; k++)
                if (n->items[k]->kind != YNODE_SCALAR)
                    return at(err, n->items[k], "expected a node pool name in '%s.pools', found %s",
                              ic, ynode_kind_name(n->items[k]));
            r->pools = n;
        }
        out->n_relayout++;
    }
    return SIM_OK;
}

static int read_mig(const struct ynode *m, struct gpushare_spec *out, struct sim_err *err)
{
    const char *ctx = "cluster.gpu_sharing.mig";
    int rc = ynode_check_keys(m, ctx, mig_keys, err);
    if (rc)
        return rc;
    const struct ynode *n = ynode_get(m, "strategy");
    if (n) {
        static const char *const strategies[] = {"mixed", "single", NULL};
        int st = 0;
        if ((rc = ynode_as_enum(n, "cluster.gpu_sharing.mig.strategy", strategies, &st, err)))
            return rc;
        if (st == 1)
            return at(err, n,
                      "'cluster.gpu_sharing.mig.strategy' single (every slice advertised as "
                      "nvidia.com/gpu) is not modelled: use mixed, where the pods request "
                      "nvidia.com/mig-<profile>");
    }
    const struct ynode *where;
    if ((rc = read_layout(m, ctx, out->mig_config, sizeof out->mig_config, &out->layout, &where,
                          err)))
        return rc;
    const struct ynode *rl = ynode_get(m, "relayout");
    return rl && !ynode_is_null(rl) ? read_relayout(rl, out, err) : SIM_OK;
}

/* The device plugin's config file (its ConfigMap's config.yaml): `version: v1`,
 * `flags` (ignored: they cannot change a run), `sharing.timeSlicing`. */
static int read_time_slicing(const struct ynode *t, struct gpushare_spec *out,
                             struct sim_err *err)
{
    const char *ctx = "cluster.gpu_sharing.time_slicing";
    int rc = ynode_check_keys(t, ctx, ts_keys, err);
    if (rc)
        return rc;
    const struct ynode *n = ynode_get(t, "version");
    if (n) {
        static const char *const versions[] = {"v1", NULL};
        int v;
        if ((rc = ynode_as_enum(n, "cluster.gpu_sharing.time_slicing.version", versions, &v, err)))
            return rc;
    }
    const struct ynode *sh = ynode_get(t, "sharing");
    if (!sh)
        return at(err, t, "'%s.sharing' is required (sharing.timeSlicing.resources)", ctx);
    static const char *const sh_keys[] = {"timeSlicing", "mps", NULL};
    if ((rc = ynode_check_keys(sh, "cluster.gpu_sharing.time_slicing.sharing", sh_keys, err)))
        return rc;
    if (ynode_get(sh, "mps"))
        return at(err, ynode_key(sh, "mps"),
                  "'%s.sharing.mps' (CUDA MPS) is not modelled: use timeSlicing", ctx);
    const struct ynode *ts = ynode_get(sh, "timeSlicing");
    if (!ts)
        return at(err, sh, "'%s.sharing.timeSlicing' is required", ctx);
    static const char *const tsk[] = {"renameByDefault", "failRequestsGreaterThanOne",
                                      "resources", NULL};
    const char *tctx = "cluster.gpu_sharing.time_slicing.sharing.timeSlicing";
    if ((rc = ynode_check_keys(ts, tctx, tsk, err)))
        return rc;
    char key[160];
    if ((n = ynode_get(ts, "renameByDefault"))) {
        snprintf(key, sizeof key, "%s.renameByDefault", tctx);
        if ((rc = ynode_as_bool(n, key, &out->rename_by_default, err)))
            return rc;
    }
    if ((n = ynode_get(ts, "failRequestsGreaterThanOne"))) {
        snprintf(key, sizeof key, "%s.failRequestsGreaterThanOne", tctx);
        if ((rc = ynode_as_bool(n, key, &out->fail_requests_gt_one, err)))
            return rc;
    }
    const struct ynode *res = ynode_get(ts, "resources");
    if (!res || res->kind != YNODE_SEQ || res->n != 1)
        return at(err, res ? res : ts,
                  "'%s.resources' must list exactly one resource, {name: nvidia.com/gpu, "
                  "replicas: N} (time-sliced MIG devices are not modelled)",
                  tctx);
    const struct ynode *r = res->items[0];
    static const char *const rk[] = {"name", "rename", "replicas", "devices", NULL};
    snprintf(key, sizeof key, "%s.resources.0", tctx);
    if ((rc = ynode_check_keys(r, key, rk, err)))
        return rc;
    const char *name;
    const struct ynode *nn = ynode_get(r, "name");
    if (!nn)
        return at(err, r, "'%s.name' is required", key);
    snprintf(key, sizeof key, "%s.resources.0.name", tctx);
    if ((rc = ynode_as_string(nn, key, &name, err)))
        return rc;
    if (strcmp(name, "nvidia.com/gpu"))
        return at(err, nn, "'%s' must be nvidia.com/gpu (time-sliced MIG devices are not "
                           "modelled), got '%s'",
                  key, name);
    if (ynode_get(r, "rename"))
        return at(err, ynode_key(r, "rename"),
                  "'rename' is not modelled: use renameByDefault (nvidia.com/gpu.shared)");
    if (ynode_get(r, "devices"))
        return at(err, ynode_key(r, "devices"),
                  "'devices' (time-slicing only some GPUs of a node) is not modelled");
    const struct ynode *rp = ynode_get(r, "replicas");
    if (!rp)
        return at(err, r, "'%s.resources.0.replicas' is required", tctx);
    snprintf(key, sizeof key, "%s.resources.0.replicas", tctx);
    int64_t v;
    if ((rc = ynode_as_int64_unit(rp, key, 2, 64, "replicas per GPU", &v, err)))
        return rc;
    out->replicas = (int32_t)v;
    return SIM_OK;
}

int gpushare_spec_read(const struct ynode *cluster, struct gpushare_spec *out,
                       struct sim_err *err)
{
    memset(out, 0, sizeof *out);
    out->replicas = 1;
    const struct ynode *g = cluster && cluster->kind == YNODE_MAP
                                ? ynode_get(cluster, "gpu_sharing")
                                : NULL;
    if (!g || ynode_is_null(g))
        return SIM_OK;
    out->node = g;
    if (g->kind == YNODE_MAP && ynode_get(g, "relayout"))
        return at(err, ynode_key(g, "relayout"),
                  "'relayout' re-partitions MIG GPUs and goes under 'cluster.gpu_sharing.mig' "
                  "(mig.relayout); %s",
                  ynode_get(g, "mig") ? "move it there"
                                      : "without MIG there is no layout to change (a "
                                        "time-sliced GPU's replicas are the device plugin's "
                                        "config, read at the start)");
    int rc = ynode_check_keys(g, "cluster.gpu_sharing", sharing_keys, err);
    if (rc)
        return rc;
    out->mig_node = ynode_get(g, "mig");
    out->ts_node = ynode_get(g, "time_slicing");
    if (out->mig_node && out->ts_node)
        return at(err, ynode_key(g, "time_slicing"),
                  "'cluster.gpu_sharing' takes 'mig' or 'time_slicing', not both "
                  "(time-sliced MIG devices are not modelled)");
    const struct ynode *oom = ynode_get(g, "oom");
    if (oom) {
        static const char *const modes[] = {"refuse", "restart", "restart_all", NULL};
        int m = 0;
        if ((rc = ynode_as_enum(oom, "cluster.gpu_sharing.oom", modes, &m, err)))
            return rc;
        out->oom_restart = m >= 1;
        out->oom_restart_all = m == 2;
        if (out->oom_restart && !out->ts_node)
            return at(err, oom,
                      "'cluster.gpu_sharing.oom: %s' is for time-sliced GPUs, whose memory "
                      "is not isolated (MIG slices each have their own): add "
                      "'cluster.gpu_sharing.time_slicing'",
                      modes[m]);
    }
    if (out->mig_node) {
        out->mode = GS_MIG;
        return read_mig(out->mig_node, out, err);
    }
    if (out->ts_node) {
        out->mode = GS_TIME_SLICING;
        return read_time_slicing(out->ts_node, out, err);
    }
    return SIM_OK;
}

int gpushare_pod_resources_read(const struct ynode *res, const char *key,
                                struct gs_pod_request *out, struct sim_err *err)
{
    memset(out, 0, sizeof *out);
    if (!res || ynode_is_null(res))
        return SIM_OK;
    static const char *const keys[] = {"limits", "requests", "claims", NULL};
    int rc = ynode_check_keys(res, key, keys, err);
    if (rc)
        return rc;
    if (ynode_get(res, "claims"))
        return at(err, ynode_key(res, "claims"),
                  "'%s.claims' (dynamic resource allocation) is not modelled", key);
    const struct ynode *lim = ynode_get(res, "limits"), *req = ynode_get(res, "requests");
    for (int pass = 0; pass < 2; pass++) {
        const struct ynode *m = pass == 0 ? lim : req;
        if (!m || ynode_is_null(m))
            continue;
        if (m->kind != YNODE_MAP)
            return at(err, m, "expected a map for '%s.%s', found %s", key,
                      pass ? "requests" : "limits", ynode_kind_name(m));
        for (size_t i = 0; i < m->n; i++) {
            const char *name = m->keys[i]->value;
            if (!strcmp(name, "cpu") || !strcmp(name, "memory") ||
                !strcmp(name, "ephemeral-storage") || !strncmp(name, "hugepages-", 10))
                continue; /* cpu and memory: podres.h; the others do not bind here */
            bool gpu = !strcmp(name, "nvidia.com/gpu") || !strcmp(name, "nvidia.com/gpu.shared") ||
                       !strncmp(name, "nvidia.com/mig-", 15);
            if (!gpu)
                return at(err, m->keys[i],
                          "resource '%s' in '%s.%s' is not modelled (GPU resources: "
                          "nvidia.com/gpu, nvidia.com/gpu.shared, nvidia.com/mig-<profile>; "
                          "cpu and memory: see docs/nodes.md)",
                          name, key, pass ? "requests" : "limits");
            char k[160];
            snprintf(k, sizeof k, "%s.%s.\"%s\"", key, pass ? "requests" : "limits", name);
            int64_t c;
            if ((rc = ynode_as_int64_unit(m->items[i], k, 1, 64, "devices", &c, err)))
                return rc;
            if (out->resource[0] && strcmp(out->resource, name))
                return at(err, m->keys[i],
                          "'%s' requests both '%s' and '%s': one GPU resource per pod is "
                          "modelled",
                          key, out->resource, name);
            if (out->resource[0] && out->count != c)
                return at(err, m->items[i],
                          "'%s' must be the same in requests and limits (%lld and %d): the "
                          "API server requires it for extended resources",
                          k, (long long)c, out->count);
            if (strlen(name) >= sizeof out->resource)
                return at(err, m->keys[i], "resource name '%s' is too long", name);
            snprintf(out->resource, sizeof out->resource, "%s", name);
            out->count = (int32_t)c;
            out->node = m->items[i];
        }
    }
    return SIM_OK;
}

/* ---- resolving against the catalog and the engine -------------------------------- */

/* A mig-parted default config (the GPU operator's default-mig-parted-config ConfigMap):
 * all-disabled, all-<profile> (as many as fit), all-balanced (two of the smallest 1g,
 * one 2g, one 3g). */
static int named_layout(const struct cat_gpu *g, const char *name, struct mig_layout *l)
{
    memset(l, 0, sizeof *l);
    if (!strncmp(name, "all-", 4) && mig_profile_find(&g->mig, name + 4)) {
        const struct mig_profile *p = mig_profile_find(&g->mig, name + 4);
        snprintf(l->e[0].profile, sizeof l->e[0].profile, "%s", p->name);
        l->e[0].count = p->max_instances;
        l->n = 1;
        return SIM_OK;
    }
    if (strcmp(name, "all-balanced"))
        return SIM_EINVAL;
    static const int gs[3] = {1, 2, 3}, counts[3] = {2, 1, 1};
    for (int k = 0; k < 3; k++) {
        const struct mig_profile *best = NULL;
        for (size_t i = 0; i < g->mig.n_profiles; i++) {
            const struct mig_profile *p = &g->mig.profiles[i];
            if (p->compute_slices == gs[k] && (!best || p->memory_slices < best->memory_slices))
                best = p;
        }
        if (!best)
            return SIM_EINVAL;
        snprintf(l->e[l->n].profile, sizeof l->e[l->n].profile, "%s", best->name);
        l->e[l->n++].count = counts[k];
    }
    return SIM_OK;
}

/* AKS: a User pool's gpuInstanceProfile (MIG1g..MIG7g) gives every GPU as many
 * instances of the smallest profile with that many compute slices as fit (AKS: "MIG
 * 1g.5gb ... Number of instances created 7"). 0 when no pool sets one, -1 on pools
 * that disagree (err set). */
static int aks_profile(const struct scenario *sc, const struct cat_gpu *g,
                       struct mig_layout *l, struct sim_err *err)
{
    const struct ynode *cl = sc->cluster.node;
    const struct ynode *aks = cl && cl->kind == YNODE_MAP ? ynode_get(cl, "aks") : NULL;
    const struct ynode *pools = aks && aks->kind == YNODE_MAP ? ynode_get(aks, "nodePools") : NULL;
    if (!pools || pools->kind != YNODE_SEQ)
        return 0;
    int found = 0, g_seen = 0;
    for (size_t i = 0; i < pools->n; i++) {
        const struct ynode *p = pools->items[i];
        const struct ynode *gip = p->kind == YNODE_MAP ? ynode_get(p, "gpuInstanceProfile") : NULL;
        const struct ynode *mode = p->kind == YNODE_MAP ? ynode_get(p, "mode") : NULL;
        if (mode && mode->value && !strcmp(mode->value, "System"))
            continue;
        int gi = 0;
        if (gip && gip->value && sscanf(gip->value, "MIG%dg", &gi) == 1 && gi >= 1 && gi <= 7) {
            if (found && gi != g_seen)
                return at(err, gip,
                          "the User node pools use different gpuInstanceProfile values "
                          "(MIG%dg and MIG%dg): one layout for all GPU nodes is modelled",
                          g_seen, gi),
                       -1;
            found = 1;
            g_seen = gi;
        } else if (found) {
            return at(err, p, "every User node pool needs the same gpuInstanceProfile "
                              "(MIG%dg) when one has it",
                      g_seen),
                   -1;
        }
    }
    if (!found)
        return 0;
    const struct mig_profile *best = NULL;
    for (size_t i = 0; i < g->mig.n_profiles; i++) {
        const struct mig_profile *p = &g->mig.profiles[i];
        if (p->compute_slices == g_seen && (!best || p->memory_slices < best->memory_slices))
            best = p;
    }
    if (!best)
        return sim_err_set(err, SIM_EINVAL,
                           "gpuInstanceProfile MIG%dg: gpu '%s' has no such MIG profile", g_seen,
                           g->id),
               -1;
    memset(l, 0, sizeof *l);
    snprintf(l->e[0].profile, sizeof l->e[0].profile, "%s", best->name);
    l->e[0].count = best->max_instances;
    l->n = 1;
    return 1;
}

/* Point err (which has no position yet) at node n. Returns err->code. */
static int locate_at(struct sim_err *err, const struct ynode *n)
{
    if (n && !err->where[0])
        snprintf(err->where, sizeof err->where, "%s:%ld:%ld", n->file, n->line, n->col);
    return err->code;
}

static int pod_error(const struct scenario *sc, const struct gs_pod_request *rq,
                     struct sim_err *err)
{
    if (rq->node)
        return locate_at(err, rq->node);
    return scenario_locate(sc, "fleet.pod.resources", err);
}

/* `cluster.gpu_sharing.mig` on AKS: the NVIDIA GPU operator's mig-manager, on GPU pools
 * created without AKS's own MIG setting (gpuInstanceProfile) and with the operator's
 * driver (`--gpu-driver none`). AKS's gpuInstanceProfile is fixed when the pool is
 * created; the operator's layout follows the node label. */
static int aks_operator_check(const struct gpushare_spec *sp, const struct ynode *aks,
                              struct sim_err *err)
{
    const struct ynode *pools = aks->kind == YNODE_MAP ? ynode_get(aks, "nodePools") : NULL;
    for (size_t i = 0; pools && pools->kind == YNODE_SEQ && i < pools->n; i++) {
        const struct ynode *p = pools->items[i];
        if (p->kind != YNODE_MAP)
            continue;
        const struct ynode *gip = ynode_get(p, "gpuInstanceProfile");
        const struct ynode *mode = ynode_get(p, "mode");
        if (mode && mode->value && !strcmp(mode->value, "System"))
            continue;
        if (gip && sp->n_relayout > 0)
            return at(err, gip,
                      "a MIG re-layout cannot change an AKS pool's gpuInstanceProfile: AKS sets "
                      "it when the pool is created and it cannot be changed afterwards "
                      "(\"MIG profiles must be set when you create the node pool and you "
                      "cannot change the profile at run time\", NVIDIA GPU Operator, "
                      "docs.nvidia.com/datacenter/cloud-native/gpu-operator/latest/"
                      "microsoft-aks.html); create the pool without gpuInstanceProfile and "
                      "let the GPU operator's mig-manager partition it "
                      "(cluster.gpu_sharing.mig)");
        if (gip)
            return at(err, gip,
                      "this pool's MIG layout is AKS's gpuInstanceProfile, and "
                      "'cluster.gpu_sharing.mig' is the GPU operator's mig-manager: use one "
                      "(pools created without gpuInstanceProfile for the operator)");
        const struct ynode *as = ynode_get(p, "enableAutoScaling");
        if (as && as->value && !strcasecmp(as->value, "true"))
            return at(err, as,
                      "the cluster autoscaler with MIG nodes is not modelled: AKS does not "
                      "support it on multi-instance GPU node pools "
                      "(learn.microsoft.com/azure/aks/gpu-multi-instance), and a template "
                      "node of an empty pool advertises no nvidia.com/mig-* resource; give "
                      "the pool a fixed 'count'");
    }
    return SIM_OK;
}

/* A re-layout's `pools`: names of the cluster's User node pools. */
static int relayout_pools_check(const struct gs_relayout *r, const struct ynode *aks,
                                struct sim_err *err)
{
    const struct ynode *pools = aks->kind == YNODE_MAP ? ynode_get(aks, "nodePools") : NULL;
    for (size_t k = 0; k < r->pools->n; k++) {
        const char *want = r->pools->items[k]->value;
        bool found = false;
        for (size_t i = 0; pools && pools->kind == YNODE_SEQ && i < pools->n && !found; i++) {
            const struct ynode *p = pools->items[i];
            const struct ynode *nm = p->kind == YNODE_MAP ? ynode_get(p, "name") : NULL;
            const struct ynode *mode = p->kind == YNODE_MAP ? ynode_get(p, "mode") : NULL;
            found = nm && nm->value && !strcmp(nm->value, want) &&
                    !(mode && mode->value && !strcmp(mode->value, "System"));
        }
        if (!found)
            return at(err, r->pools->items[k],
                      "'%s' is not a User node pool of cluster.aks.nodePools: a re-layout's "
                      "'pools' names the GPU pools whose nodes it re-partitions",
                      want);
    }
    return SIM_OK;
}

static int resolve_mig(const struct scenario *sc, const struct cat_gpu *g,
                       struct gpushare_plan *out, const struct ynode *where,
                       struct sim_err *err)
{
    const struct gs_pod_request *rq = &sc->fleet.pod.gpu;
    const struct engine_spec *en = &sc->engine;
    if (!g)
        return at(err, where, "MIG needs 'engine.gpu' (an A100, H100 or H200 of the catalog)");
    if (!rq->resource[0] || strncmp(rq->resource, "nvidia.com/mig-", 15)) {
        char have[160];
        size_t used = 0;
        have[0] = '\0';
        for (size_t i = 0; i < out->layout.n && used < sizeof have; i++) {
            int w = snprintf(have + used, sizeof have - used, "%snvidia.com/mig-%s",
                             i ? ", " : "", out->layout.e[i].profile);
            used += w > 0 ? (size_t)w : 0;
        }
        return sim_err_set(err, SIM_EINVAL,
                           "with MIG (mixed strategy) the nodes advertise %s, not "
                           "nvidia.com/gpu: request one slice in fleet.pod.resources.limits "
                           "(\"nvidia.com/mig-%s\": 1)",
                           have, out->layout.e[0].profile),
               pod_error(sc, rq, err);
    }
    const char *prof = rq->resource + 15;
    out->profile = mig_profile_find(&g->mig, prof);
    if (!out->profile)
        return sim_err_set(err, SIM_EINVAL, "'%s' is not a MIG profile of %s", prof, g->id),
               pod_error(sc, rq, err);
    if (rq->count > 1 || en->tensor_parallel_size > 1)
        return sim_err_set(err, SIM_EINVAL,
                           "tensor parallelism across MIG slices is not supported: vLLM's "
                           "tensor-parallel workers all-reduce through NCCL, and MIG instances "
                           "have no peer-to-peer or NVLink path (nvidia-smi mig -lgip: P2P No); "
                           "request one slice with tensor_parallel_size 1, or whole GPUs"),
               rq->count > 1 ? pod_error(sc, rq, err)
                             : scenario_locate(sc, "engine.tensor_parallel_size", err);
    out->units_per_gpu = mig_layout_count(&out->layout, out->profile->name);
    if (out->units_per_gpu == 0)
        return sim_err_set(err, SIM_EINVAL,
                           "the pods request nvidia.com/mig-%s, which the MIG layout of the "
                           "nodes does not have: no pod would ever be scheduled",
                           out->profile->name),
               pod_error(sc, rq, err);
    if (en->latency.kind == LAT_TABLE || en->latency.calibration_path[0])
        return sim_err_set(err, SIM_EINVAL,
                           "a latency %s measured on the whole %s does not describe a %s "
                           "slice: use the roofline (it takes the slice's SM and bandwidth "
                           "shares, docs/gpu-sharing.md), or constant/linear numbers measured "
                           "on the slice",
                           en->latency.kind == LAT_TABLE ? "table" : "calibration", g->id,
                           out->profile->name),
               scenario_locate(sc, "engine.latency", err);
    snprintf(out->resource, sizeof out->resource, "%s", rq->resource);
    return SIM_OK;
}

int gpushare_resolve(const struct scenario *sc, const struct cat_gpu *g,
                     struct gpushare_plan *out, struct sim_err *err)
{
    const struct gpushare_spec *sp = &sc->cluster.sharing;
    const struct gs_pod_request *rq = &sc->fleet.pod.gpu;
    const struct engine_spec *en = &sc->engine;
    int rc;
    memset(out, 0, sizeof *out);
    out->mode = sp->mode;
    out->units_per_gpu = 1;
    snprintf(out->resource, sizeof out->resource, "nvidia.com/gpu");
    if (sp->mode == GS_MIG) {
        if (!g)
            return at(err, sp->mig_node,
                      "MIG needs 'engine.gpu' (an A100, H100 or H200 of the catalog)");
        if (sp->mig_config[0]) {
            if (named_layout(g, sp->mig_config, &out->layout))
                return at(err, ynode_get(sp->mig_node, "config"),
                          "'%s' is not a mig-parted config for %s: use all-<profile> (%s), "
                          "all-balanced, or 'devices'",
                          sp->mig_config, g->id,
                          g->mig.n_profiles ? "e.g. all-3g.40gb" : "it has no MIG");
        } else {
            out->layout = sp->layout;
        }
        const struct ynode *where =
            sp->mig_config[0] ? ynode_get(sp->mig_node, "config") : ynode_get(sp->mig_node, "devices");
        if (mig_layout_check(g, &out->layout, err) != SIM_OK)
            return locate_at(err, where);
        const struct ynode *cl = sc->cluster.node;
        if (cl && ynode_get(cl, "karpenter"))
            return at(err, sp->mig_node,
                      "MIG nodes with Karpenter are not modelled: Karpenter sizes NodeClaims "
                      "from the instance types' nvidia.com/gpu capacity and knows no "
                      "nvidia.com/mig-* resource; use AKS node pools with a fixed count, or "
                      "no provisioner");
        const struct ynode *aks = cl ? ynode_get(cl, "aks") : NULL;
        if (aks && (rc = aks_operator_check(sp, aks, err)))
            return rc;
        if (sp->n_relayout > 0 && !aks)
            return at(err, sp->relayout[0].node,
                      "a MIG re-layout drains nodes and needs them billed and cordoned: "
                      "declare the GPU nodes as AKS node pools with a fixed 'count' "
                      "(cluster.aks, the GPU operator's mig-manager); the implicit pool "
                      "without a provisioner is not modelled with 'relayout'");
        for (int32_t j = 0; j < sp->n_relayout; j++) {
            const struct gs_relayout *r = &sp->relayout[j];
            struct mig_layout *l = &out->relayout[j];
            if (r->mig_config[0] && !strcmp(r->mig_config, "all-disabled"))
                return at(err, r->cfg_node,
                          "'all-disabled' (MIG off: the nodes advertise nvidia.com/gpu) is not "
                          "modelled during a run: re-partition into another MIG layout");
            if (r->mig_config[0]) {
                if (named_layout(g, r->mig_config, l))
                    return at(err, r->cfg_node,
                              "'%s' is not a mig-parted config for %s: use all-<profile> (%s), "
                              "all-balanced, or 'devices'",
                              r->mig_config, g->id,
                              g->mig.n_profiles ? "e.g. all-1g.10gb" : "it has no MIG");
            } else {
                *l = r->layout;
            }
            if (mig_layout_check(g, l, err) != SIM_OK)
                return locate_at(err, r->cfg_node);
            if (r->pools && (rc = relayout_pools_check(r, aks, err)))
                return rc;
        }
        out->n_relayout = sp->n_relayout;
        return resolve_mig(sc, g, out, sp->mig_node, err);
    }
    if (g) {
        struct mig_layout l;
        int a = aks_profile(sc, g, &l, err);
        if (a < 0)
            return err->code;
        if (a > 0) {
            out->mode = GS_MIG;
            out->layout = l;
            const struct ynode *where = scenario_node(sc, "cluster.aks.nodePools");
            return resolve_mig(sc, g, out, where ? where : sc->cluster.node, err);
        }
    }
    if (rq->resource[0] && !strncmp(rq->resource, "nvidia.com/mig-", 15))
        return sim_err_set(err, SIM_EINVAL,
                           "the pods request %s but no node has MIG: declare the layout "
                           "(cluster.gpu_sharing.mig, or an AKS pool's gpuInstanceProfile)",
                           rq->resource),
               pod_error(sc, rq, err);
    if (sp->mode == GS_TIME_SLICING) {
        out->units_per_gpu = sp->replicas;
        snprintf(out->resource, sizeof out->resource, "%s",
                 sp->rename_by_default ? "nvidia.com/gpu.shared" : "nvidia.com/gpu");
        const char *want = rq->resource[0] ? rq->resource : "nvidia.com/gpu";
        if (strcmp(want, out->resource))
            return sim_err_set(err, SIM_EINVAL,
                               "the pods request %s but the device plugin advertises %s "
                               "(renameByDefault: %s): no pod would ever be scheduled",
                               want, out->resource, sp->rename_by_default ? "true" : "false"),
                   pod_error(sc, rq, err);
        if (en->tensor_parallel_size > 1 || (rq->resource[0] && rq->count > 1))
            return sim_err_set(err, SIM_EINVAL,
                               "a pod with more than one time-sliced GPU is not modelled: the "
                               "device plugin may hand out several replicas of one physical "
                               "GPU (%s), so tensor parallelism over them is not real "
                               "parallelism; use tensor_parallel_size 1",
                               sp->fail_requests_gt_one
                                   ? "and with failRequestsGreaterThanOne it fails the request"
                                   : "no isolation, NVIDIA/k8s-device-plugin README"),
                   scenario_locate(sc, "engine.tensor_parallel_size", err);
        if (en->kind != ENGINE_VLLM || en->num_scheduler_steps > 1)
            return sim_err_set(err, SIM_EINVAL,
                               "time-slicing is modelled for the vLLM engine with single-step "
                               "scheduling (engine.kind vllm, num_scheduler_steps 1)"),
                   scenario_locate(sc, en->kind != ENGINE_VLLM ? "engine.kind"
                                                               : "engine.num_scheduler_steps",
                                   err);
        /* the memory the engines of one GPU share is checked across deployments when
         * the run is built (sim/cloud/gpushare.c) */
        return SIM_OK;
    }
    if (rq->resource[0]) {
        if (strcmp(rq->resource, "nvidia.com/gpu"))
            return sim_err_set(err, SIM_EINVAL,
                               "the pods request %s, which only the device plugin's "
                               "time-slicing with renameByDefault advertises "
                               "(cluster.gpu_sharing.time_slicing)",
                               rq->resource),
                   pod_error(sc, rq, err);
        if (rq->count != en->tensor_parallel_size)
            return sim_err_set(err, SIM_EINVAL,
                               "the pods request nvidia.com/gpu: %d but "
                               "engine.tensor_parallel_size is %d: vLLM needs one GPU per "
                               "tensor-parallel rank",
                               rq->count, en->tensor_parallel_size),
                   pod_error(sc, rq, err);
    }
    return SIM_OK;
}
