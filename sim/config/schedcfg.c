/*
 * schedcfg.c: pod scheduling constraints, node taints and the scheduler profile, read
 * strictly (schedcfg.h). Validation follows the API server's (pkg/apis/core/validation
 * validateTolerations, ValidateNodeSelectorRequirement; v1.33).
 */
#include "sim/config/schedcfg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/config/scenario.h"

#define KEY_MAX 256

/* An error at node `at` (sim/config/ynode.h, with the analyzer's return model). */
#define fail(err, at, ...) ynode_fail_at((err), SIM_EINVAL, (at), __VA_ARGS__)

/* "ctx.name", cut to KEY_MAX - 1 characters (messages only). */
static void join(char *out, const char *ctx, const char *name)
{
    ynode_join_key(out, KEY_MAX, ctx, name);
}

static void join_index(char *out, const char *ctx, size_t i)
{
    char idx[24];
    int w = snprintf(idx, sizeof idx, "%zu", i);
    (void)w;
    join(out, ctx, idx);
}

static bool absent(const struct ynode *n)
{
    return !n || ynode_is_null(n);
}

static int text(const struct ynode *n, const char *key, const char **out, struct sim_err *err)
{
    if (n->kind != YNODE_SCALAR || ynode_is_null(n) || !n->value)
        return fail(err, n, "expected a string for '%s', found %s", key, ynode_kind_name(n));
    *out = n->value;
    return SIM_OK;
}

static int seq(const struct ynode *n, const char *key, struct sim_err *err)
{
    if (n->kind != YNODE_SEQ)
        return fail(err, n, "expected a list for '%s', found %s", key, ynode_kind_name(n));
    return SIM_OK;
}

/* A list of at most `max` items. */
static int bounded_seq(const struct ynode *n, const char *key, size_t max, const char *what,
                       struct sim_err *err)
{
    int rc = seq(n, key, err);
    if (rc)
        return rc;
    if (n->n > max)
        return fail(err, n->items[max], "'%s' has more than %zu %s", key, max, what);
    return SIM_OK;
}

/* One list item read into `out`, a reader's typed output behind a void pointer. */
typedef int (*item_fn)(const struct ynode *n, const char *key, void *out, struct sim_err *err);

/* The items of list `n` (at most `max` `what`), item i read by `fn` as 'KEY.i' into the
 * i-th element (of `size` bytes) of `out`; *count is set once every item is read. */
static int read_items(const struct ynode *n, const char *key, size_t max, const char *what,
                      item_fn fn, void *out, size_t size, int *count, struct sim_err *err)
{
    int rc = bounded_seq(n, key, max, what, err);
    for (size_t i = 0; rc == SIM_OK && i < n->n; i++) {
        char ik[KEY_MAX];
        join_index(ik, key, i);
        rc = fn(n->items[i], ik, (char *)out + i * size, err);
    }
    if (rc == SIM_OK)
        *count = (int)n->n;
    return rc;
}

static int text_item(const struct ynode *n, const char *key, void *out, struct sim_err *err)
{
    return text(n, key, out, err);
}

static const char *const effects[] = {"NoSchedule", "PreferNoSchedule", "NoExecute", NULL};

static int effect(const struct ynode *n, const char *key, bool empty_ok, enum sched_effect *out,
                  struct sim_err *err)
{
    if (empty_ok && absent(n)) {
        *out = SCHED_EFFECT_ANY;
        return SIM_OK;
    }
    if (empty_ok && n->kind == YNODE_SCALAR && !n->value[0]) {
        *out = SCHED_EFFECT_ANY;
        return SIM_OK;
    }
    int e = 0;
    int rc = ynode_as_enum(n, key, effects, &e, err);
    *out = (enum sched_effect)(e + 1);
    return rc;
}

int schedcfg_labels(const struct ynode *map, const char *ctx, struct sched_label *out, int max,
                    int *n, struct sim_err *err)
{
    *n = 0;
    if (absent(map))
        return SIM_OK;
    if (map->kind != YNODE_MAP)
        return fail(err, map, "expected a map of labels for '%s', found %s", ctx,
                    ynode_kind_name(map));
    if ((int)map->n > max)
        return fail(err, map->keys[max], "'%s' has more than %d labels", ctx, max);
    for (size_t i = 0; i < map->n; i++) {
        char k[KEY_MAX];
        join(k, ctx, map->keys[i]->value);
        const char *v = NULL;
        int rc = text(map->items[i], k, &v, err);
        if (rc)
            return rc;
        out[*n].key = map->keys[i]->value;
        out[*n].value = v;
        (*n)++;
    }
    return SIM_OK;
}

int schedcfg_taints(const struct ynode *s, const char *ctx, struct sched_taint *out, int max,
                    int *n, struct sim_err *err)
{
    *n = 0;
    if (absent(s))
        return SIM_OK;
    int rc = bounded_seq(s, ctx, (size_t)max, "taints", err);
    if (rc)
        return rc;
    static const char *const keys[] = {"key", "value", "effect", "timeAdded", NULL};
    for (size_t i = 0; i < s->n; i++) {
        char c[KEY_MAX], k[KEY_MAX];
        join_index(c, ctx, i);
        const struct ynode *t = s->items[i];
        if ((rc = ynode_check_keys(t, c, keys, err)))
            return rc;
        struct sched_taint *o = &out[*n];
        const struct ynode *kn = ynode_get(t, "key"), *vn = ynode_get(t, "value"),
                           *en = ynode_get(t, "effect");
        if (absent(kn))
            return fail(err, t, "'%s' needs a 'key'", c);
        if (absent(en))
            return fail(err, t, "'%s' needs an 'effect' (NoSchedule, PreferNoSchedule or "
                                "NoExecute)",
                        c);
        join(k, c, "key");
        if ((rc = text(kn, k, &o->key, err)))
            return rc;
        o->value = "";
        join(k, c, "value");
        if (!absent(vn) && (rc = text(vn, k, &o->value, err)))
            return rc;
        join(k, c, "effect");
        if ((rc = effect(en, k, false, &o->effect, err)))
            return rc;
        (*n)++;
    }
    return SIM_OK;
}

int schedcfg_aks_taint(const struct ynode *s, const char *ctx, char *buf, size_t n,
                       struct sched_taint *out, struct sim_err *err)
{
    const char *t = NULL;
    int rc = text(s, ctx, &t, err);
    if (rc)
        return rc;
    if (strlen(t) >= n)
        return fail(err, s, "'%s' is too long (%zu characters at most)", ctx, n - 1);
    snprintf(buf, n, "%s", t);
    char *colon = strrchr(buf, ':');
    if (!colon || colon == buf)
        return fail(err, s, "'%s' must be 'key=value:Effect' (as az aks nodepool add "
                            "--node-taints takes it), got '%s'",
                    ctx, t);
    *colon = '\0';
    int e = -1;
    for (int i = 0; effects[i]; i++)
        if (!strcmp(colon + 1, effects[i]))
            e = i;
    if (e < 0)
        return fail(err, s, "'%s': unknown taint effect '%s' (NoSchedule, PreferNoSchedule or "
                            "NoExecute)",
                    ctx, colon + 1);
    char *eq = strchr(buf, '=');
    out->key = buf;
    out->value = "";
    if (eq) {
        *eq = '\0';
        out->value = eq + 1;
    }
    if (!buf[0])
        return fail(err, s, "'%s' has an empty taint key", ctx);
    out->effect = (enum sched_effect)(e + 1);
    return SIM_OK;
}

/* ---- the pod side ------------------------------------------------------------------ */

static const char *const ops[] = {"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", NULL};

static int read_expr(const struct ynode *e, const char *ctx, struct sched_expr *out,
                     struct sim_err *err)
{
    static const char *const keys[] = {"key", "operator", "values", NULL};
    int rc = ynode_check_keys(e, ctx, keys, err);
    if (rc)
        return rc;
    char k[KEY_MAX];
    const struct ynode *kn = ynode_get(e, "key"), *on = ynode_get(e, "operator"),
                       *vn = ynode_get(e, "values");
    if (absent(kn) || absent(on))
        return fail(err, e, "'%s' needs a 'key' and an 'operator'", ctx);
    join(k, ctx, "key");
    if ((rc = text(kn, k, &out->key, err)))
        return rc;
    int op = 0;
    join(k, ctx, "operator");
    if ((rc = ynode_as_enum(on, k, ops, &op, err)))
        return rc;
    out->op = (enum sched_op)op;
    out->n_values = 0;
    join(k, ctx, "values");
    if (!absent(vn) && (rc = read_items(vn, k, SCHED_MAX_VALUES, "values", text_item, out->values,
                                        sizeof out->values[0], &out->n_values, err)))
        return rc;
    const struct ynode *at = absent(vn) ? e : vn;
    switch (out->op) {
    case SCHED_IN:
    case SCHED_NOT_IN:
        if (out->n_values == 0)
            return fail(err, at, "'%s' must be non-empty with operator '%s'", k, ops[op]);
        break;
    case SCHED_EXISTS:
    case SCHED_DOES_NOT_EXIST:
        if (out->n_values)
            return fail(err, at, "'%s' must be empty with operator '%s'", k, ops[op]);
        break;
    case SCHED_GT:
    case SCHED_LT: {
        char *end;
        if (out->n_values != 1)
            return fail(err, at, "'%s' must have one integer with operator '%s'", k, ops[op]);
        (void)strtoll(out->values[0], &end, 10);
        if (!out->values[0][0] || *end)
            return fail(err, vn->items[0], "'%s.0' must be an integer with operator '%s', got "
                                           "'%s'",
                        k, ops[op], out->values[0]);
        break;
    }
    }
    return SIM_OK;
}

static int expr_item(const struct ynode *n, const char *key, void *out, struct sim_err *err)
{
    return read_expr(n, key, out, err);
}

/* A nodeSelectorTerm: matchExpressions (matchFields selects by node name: refused). */
static int read_term(const struct ynode *t, const char *ctx, struct sched_term *out,
                     struct sim_err *err)
{
    static const char *const keys[] = {"matchExpressions", "matchFields", NULL};
    int rc = ynode_check_keys(t, ctx, keys, err);
    if (rc)
        return rc;
    const struct ynode *mf = ynode_get(t, "matchFields");
    if (!absent(mf) && !(mf->kind == YNODE_SEQ && mf->n == 0))
        return fail(err, ynode_key(t, "matchFields"),
                    "'%s.matchFields' selects nodes by name: not modelled (llmcap's nodes have "
                    "no names to match); use matchExpressions on node labels",
                    ctx);
    const struct ynode *me = ynode_get(t, "matchExpressions");
    out->n_exprs = 0;
    if (absent(me))
        return SIM_OK;
    char k[KEY_MAX];
    join(k, ctx, "matchExpressions");
    return read_items(me, k, SCHED_MAX_EXPRS, "expressions", expr_item, out->exprs,
                      sizeof out->exprs[0], &out->n_exprs, err);
}

static int term_item(const struct ynode *n, const char *key, void *out, struct sim_err *err)
{
    return read_term(n, key, out, err);
}

/* A preferredDuringSchedulingIgnoredDuringExecution item: weight and preference. */
static int pref_item(const struct ynode *p, const char *ik, void *out, struct sim_err *err)
{
    static const char *const pkeys[] = {"weight", "preference", NULL};
    struct sched_pref *o = out;
    char wk[KEY_MAX];
    int rc = ynode_check_keys(p, ik, pkeys, err);
    if (rc)
        return rc;
    if (absent(ynode_get(p, "weight")) || absent(ynode_get(p, "preference")))
        return fail(err, p, "'%s' needs a 'weight' (1-100) and a 'preference'", ik);
    int64_t w;
    join(wk, ik, "weight");
    if ((rc = ynode_as_int64(ynode_get(p, "weight"), wk, 1, 100, &w, err)))
        return rc;
    o->weight = (int32_t)w;
    join(wk, ik, "preference");
    return read_term(ynode_get(p, "preference"), wk, &o->term, err);
}

static int read_node_affinity(const struct ynode *na, const char *ctx, struct sched_pod *out,
                              struct sim_err *err)
{
    static const char *const keys[] = {"requiredDuringSchedulingIgnoredDuringExecution",
                                       "preferredDuringSchedulingIgnoredDuringExecution", NULL};
    int rc = ynode_check_keys(na, ctx, keys, err);
    if (rc)
        return rc;
    char k[KEY_MAX];
    const struct ynode *req = ynode_get(na, keys[0]);
    if (!absent(req)) {
        join(k, ctx, keys[0]);
        static const char *const rkeys[] = {"nodeSelectorTerms", NULL};
        if ((rc = ynode_check_keys(req, k, rkeys, err)))
            return rc;
        const struct ynode *terms = ynode_get(req, "nodeSelectorTerms");
        char tk[KEY_MAX];
        join(tk, k, "nodeSelectorTerms");
        if (absent(terms) || terms->kind != YNODE_SEQ || terms->n == 0)
            return fail(err, absent(terms) ? req : terms,
                        "'%s' needs a non-empty list 'nodeSelectorTerms'", k);
        if ((rc = read_items(terms, tk, SCHED_MAX_TERMS, "terms", term_item, out->required,
                             sizeof out->required[0], &out->n_required, err)))
            return rc;
        out->has_required = true;
    }
    const struct ynode *pref = ynode_get(na, keys[1]);
    if (!absent(pref)) {
        join(k, ctx, keys[1]);
        if ((rc = read_items(pref, k, SCHED_MAX_TERMS, "terms", pref_item, out->preferred,
                             sizeof out->preferred[0], &out->n_preferred, err)))
            return rc;
    }
    return SIM_OK;
}

/* A toleration (key, operator, value, effect; tolerationSeconds accepted). */
static int toleration_item(const struct ynode *t, const char *c, void *out,
                           struct sim_err *err)
{
    static const char *const keys[] = {"key", "operator", "value", "effect",
                                       "tolerationSeconds", NULL};
    static const char *const opnames[] = {"Equal", "Exists", NULL};
    struct sched_toleration *o = out;
    char k[KEY_MAX];
    int rc = ynode_check_keys(t, c, keys, err);
    if (rc)
        return rc;
    memset(o, 0, sizeof *o);
    o->key = o->value = "";
    const struct ynode *n;
    if (!absent(n = ynode_get(t, "key"))) {
        join(k, c, "key");
        if ((rc = text(n, k, &o->key, err)))
            return rc;
    }
    int op = 0;
    if (!absent(n = ynode_get(t, "operator"))) {
        join(k, c, "operator");
        if ((rc = ynode_as_enum(n, k, opnames, &op, err)))
            return rc;
    }
    o->exists = op == 1;
    if (!absent(n = ynode_get(t, "value"))) {
        join(k, c, "value");
        if ((rc = text(n, k, &o->value, err)))
            return rc;
        if (o->exists && o->value[0])
            return fail(err, n, "'%s' must be empty when 'operator' is 'Exists'", k);
    }
    if (!o->key[0] && !o->exists)
        return fail(err, t, "'%s': an empty 'key' needs 'operator: Exists' (it then "
                            "tolerates every taint)",
                    c);
    join(k, c, "effect");
    if ((rc = effect(ynode_get(t, "effect"), k, true, &o->effect, err)))
        return rc;
    /* tolerationSeconds bounds how long a NoExecute taint added later leaves the pod
     * running; llmcap's nodes never gain NoExecute taints while pods run on them. */
    return SIM_OK;
}

static int read_tolerations(const struct ynode *s, const char *ctx, struct sched_pod *out,
                            struct sim_err *err)
{
    return read_items(s, ctx, SCHED_MAX_TOLERATIONS, "tolerations", toleration_item,
                      out->tolerations, sizeof out->tolerations[0], &out->n_tolerations, err);
}

int schedcfg_pod(const struct ynode *pod, const char *ctx, struct sched_pod *out,
                 struct sim_err *err)
{
    if (absent(pod))
        return SIM_OK;
    char k[KEY_MAX];
    int rc;
    const struct ynode *n;
    if (!absent(n = ynode_get(pod, "nodeSelector"))) {
        join(k, ctx, "nodeSelector");
        if ((rc = schedcfg_labels(n, k, out->node_selector, SCHED_MAX_SELECTOR,
                                  &out->n_node_selector, err)))
            return rc;
    }
    if (!absent(n = ynode_get(pod, "tolerations"))) {
        join(k, ctx, "tolerations");
        if ((rc = read_tolerations(n, k, out, err)))
            return rc;
    }
    if (!absent(n = ynode_get(pod, "topologySpreadConstraints")) &&
        !(n->kind == YNODE_SEQ && n->n == 0))
        return fail(err, ynode_key(pod, "topologySpreadConstraints"),
                    "'%s.topologySpreadConstraints' is not modelled (llmcap scores the system "
                    "default constraints only: hostname maxSkew 3, zone maxSkew 5, "
                    "ScheduleAnyway); remove it or see docs/nodes.md",
                    ctx);
    if (!absent(n = ynode_get(pod, "affinity"))) {
        join(k, ctx, "affinity");
        static const char *const keys[] = {"nodeAffinity", "podAffinity", "podAntiAffinity",
                                           NULL};
        if ((rc = ynode_check_keys(n, k, keys, err)))
            return rc;
        for (int i = 1; i < 3; i++)
            if (!absent(ynode_get(n, keys[i])))
                return fail(err, ynode_key(n, keys[i]),
                            "'%s.%s' is not modelled: inter-pod (anti-)affinity would change "
                            "placement; remove it or see docs/nodes.md",
                            k, keys[i]);
        const struct ynode *na = ynode_get(n, "nodeAffinity");
        char nk[KEY_MAX];
        join(nk, k, "nodeAffinity");
        if (!absent(na) && (rc = read_node_affinity(na, nk, out, err)))
            return rc;
    }
    return SIM_OK;
}

/* ---- the profile ------------------------------------------------------------------- */

static const char *const plugin_names[] = {
    "TaintToleration", "NodeAffinity",     "NodeResourcesFit", "NodeResourcesBalancedAllocation",
    "ImageLocality",   "PodTopologySpread", "InterPodAffinity", "VolumeBinding", NULL};

static int32_t *weight_of(struct sched_profile *p, int which)
{
    switch (which) {
    case 0:
        return &p->w_taint;
    case 1:
        return &p->w_affinity;
    case 2:
        return &p->w_fit;
    case 3:
        return &p->w_balanced;
    case 4:
        return &p->w_image;
    default:
        return &p->w_spread;
    }
}

/* InterPodAffinity, VolumeBinding: they score 0 for these pods, their weight is moot. */
static bool has_weight(int which)
{
    return which >= 0 && which <= 5;
}

static int plugin_index(const struct ynode *n, const char *key, bool star, int *out,
                        struct sim_err *err)
{
    const char *name = NULL;
    int rc = text(n, key, &name, err);
    if (rc)
        return rc;
    if (star && !strcmp(name, "*")) {
        *out = -1;
        return SIM_OK;
    }
    for (int i = 0; plugin_names[i]; i++)
        if (!strcmp(name, plugin_names[i])) {
            *out = i;
            return SIM_OK;
        }
    const char *dym = did_you_mean(name, plugin_names);
    return fail(err, n, "'%s': score plugin '%s' is not modelled%s%s%s (llmcap scores with the "
                        "default plugins: TaintToleration, NodeAffinity, NodeResourcesFit, "
                        "NodeResourcesBalancedAllocation, ImageLocality, PodTopologySpread)",
                key, name, dym ? " (did you mean '" : "", dym ? dym : "", dym ? "'?)" : "");
}

/* A {name, weight} list item: its name node (required) and weight node (or NULL); *nk is
 * the name's key for messages. */
static int name_weight(const struct ynode *item, const char *ik, const struct ynode **nn,
                       const struct ynode **wn, char *nk, struct sim_err *err)
{
    static const char *const pk[] = {"name", "weight", NULL};
    int rc = ynode_check_keys(item, ik, pk, err);
    if (rc)
        return rc;
    *nn = ynode_get(item, "name");
    *wn = ynode_get(item, "weight");
    if (absent(*nn))
        return fail(err, item, "'%s' needs a 'name'", ik);
    join(nk, ik, "name");
    return SIM_OK;
}

/* plugins.score / plugins.multiPoint: {enabled: [{name, weight}], disabled: [{name}]}. */
static int read_plugin_set(const struct ynode *set, const char *ctx, struct sched_profile *p,
                           const struct sched_profile *defaults, struct sim_err *err)
{
    static const char *const keys[] = {"enabled", "disabled", NULL};
    int rc = ynode_check_keys(set, ctx, keys, err);
    if (rc)
        return rc;
    const struct ynode *dis = ynode_get(set, "disabled"), *en = ynode_get(set, "enabled");
    char k[KEY_MAX];
    if (!absent(dis)) {
        join(k, ctx, "disabled");
        if ((rc = seq(dis, k, err)))
            return rc;
        for (size_t i = 0; i < dis->n; i++) {
            char ik[KEY_MAX], nk[KEY_MAX];
            join_index(ik, k, i);
            static const char *const pk[] = {"name", NULL};
            if ((rc = ynode_check_keys(dis->items[i], ik, pk, err)))
                return rc;
            const struct ynode *nn = ynode_get(dis->items[i], "name");
            if (absent(nn))
                return fail(err, dis->items[i], "'%s' needs a 'name'", ik);
            join(nk, ik, "name");
            int which;
            if ((rc = plugin_index(nn, nk, true, &which, err)))
                return rc;
            if (which < 0) {
                p->w_taint = p->w_affinity = p->w_fit = p->w_balanced = p->w_image =
                    p->w_spread = 0;
            } else if (has_weight(which)) {
                *weight_of(p, which) = 0;
            }
        }
    }
    if (!absent(en)) {
        join(k, ctx, "enabled");
        if ((rc = seq(en, k, err)))
            return rc;
        for (size_t i = 0; i < en->n; i++) {
            char ik[KEY_MAX], nk[KEY_MAX];
            join_index(ik, k, i);
            const struct ynode *nn, *wn;
            if ((rc = name_weight(en->items[i], ik, &nn, &wn, nk, err)))
                return rc;
            int which;
            if ((rc = plugin_index(nn, nk, false, &which, err)))
                return rc;
            if (!has_weight(which))
                continue;
            struct sched_profile d = *defaults;
            int32_t *w = weight_of(p, which);
            *w = *weight_of(&d, which);
            if (!absent(wn)) {
                int64_t v;
                join(nk, ik, "weight");
                if ((rc = ynode_as_int64(wn, nk, 1, 100, &v, err)))
                    return rc;
                *w = (int32_t)v;
            }
        }
    }
    return SIM_OK;
}

static int read_fit_args(const struct ynode *args, const char *ctx, const char *pod_res,
                         struct sched_profile *p, struct sim_err *err)
{
    static const char *const keys[] = {"scoringStrategy", "ignoredResources",
                                       "ignoredResourceGroups", NULL};
    int rc = ynode_check_keys(args, ctx, keys, err);
    if (rc)
        return rc;
    char k[KEY_MAX];
    for (int i = 1; i < 3; i++) {
        const struct ynode *ig = ynode_get(args, keys[i]);
        join(k, ctx, keys[i]);
        if (absent(ig))
            continue;
        if ((rc = seq(ig, k, err)))
            return rc;
        for (size_t j = 0; j < ig->n; j++) {
            const char *v = NULL;
            char ik[KEY_MAX];
            join_index(ik, k, j);
            if ((rc = text(ig->items[j], ik, &v, err)))
                return rc;
            if (!strcmp(v, i == 1 ? "nvidia.com/gpu" : "nvidia.com"))
                return fail(err, ig->items[j], "'%s' would stop the scheduler from checking "
                                               "nvidia.com/gpu: not modelled",
                            ik);
        }
    }
    const struct ynode *ss = ynode_get(args, "scoringStrategy");
    if (absent(ss))
        return SIM_OK;
    join(k, ctx, "scoringStrategy");
    static const char *const skeys[] = {"type", "resources", "requestedToCapacityRatio", NULL};
    if ((rc = ynode_check_keys(ss, k, skeys, err)))
        return rc;
    static const char *const types[] = {"LeastAllocated", "MostAllocated",
                                        "RequestedToCapacityRatio", NULL};
    const struct ynode *tn = ynode_get(ss, "type");
    if (!absent(tn)) {
        char tk[KEY_MAX];
        join(tk, k, "type");
        int t = 0;
        if ((rc = ynode_as_enum(tn, tk, types, &t, err)))
            return rc;
        if (t == 2)
            return fail(err, tn, "'%s' RequestedToCapacityRatio is not modelled "
                                 "(LeastAllocated or MostAllocated)",
                        tk);
        p->strategy = t == 0 ? SCHED_LEAST_ALLOCATED : SCHED_MOST_ALLOCATED;
    }
    const struct ynode *rn = ynode_get(ss, "resources");
    if (absent(rn))
        return SIM_OK;
    char rk[KEY_MAX];
    join(rk, k, "resources");
    if ((rc = seq(rn, rk, err)))
        return rc;
    memset(p->res_weight, 0, sizeof p->res_weight);
    for (size_t i = 0; i < rn->n; i++) {
        char ik[KEY_MAX], nk[KEY_MAX];
        join_index(ik, rk, i);
        const struct ynode *nn, *wn;
        if ((rc = name_weight(rn->items[i], ik, &nn, &wn, nk, err)))
            return rc;
        const char *name = NULL;
        if ((rc = text(nn, nk, &name, err)))
            return rc;
        int r = !strcmp(name, "cpu")      ? SCHED_CPU
                : !strcmp(name, "memory") ? SCHED_MEMORY
                : !strcmp(name, pod_res)  ? SCHED_GPU
                                          : -1;
        if (r < 0 && (!strcmp(name, "ephemeral-storage") || !strchr(name, '/')))
            return fail(err, nn, "'%s': scoring on '%s' is not modelled (cpu, memory and the "
                                 "pods' GPU resource '%s')",
                        nk, name, pod_res);
        int64_t w = 1;
        join(nk, ik, "weight");
        if (!absent(wn) && (rc = ynode_as_int64(wn, nk, 1, 100, &w, err)))
            return rc;
        /* An extended resource the pods do not request is left out of the score
         * (calculateResourceAllocatableRequest returns (0, 0) for it). */
        if (r >= 0)
            p->res_weight[r] = w;
    }
    return SIM_OK;
}

static int read_plugin_config(const struct ynode *pc, const char *ctx, const char *pod_res,
                              struct sched_profile *p, struct sim_err *err)
{
    int rc = seq(pc, ctx, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < pc->n; i++) {
        char ik[KEY_MAX], k[KEY_MAX];
        join_index(ik, ctx, i);
        static const char *const keys[] = {"name", "args", NULL};
        const struct ynode *c = pc->items[i];
        if ((rc = ynode_check_keys(c, ik, keys, err)))
            return rc;
        const char *name = NULL;
        join(k, ik, "name");
        if (absent(ynode_get(c, "name")))
            return fail(err, c, "'%s' needs a 'name'", ik);
        if ((rc = text(ynode_get(c, "name"), k, &name, err)))
            return rc;
        const struct ynode *args = ynode_get(c, "args");
        join(k, ik, "args");
        if (absent(args))
            continue;
        if (!strcmp(name, "NodeResourcesFit")) {
            if ((rc = read_fit_args(args, k, pod_res, p, err)))
                return rc;
        } else if (!strcmp(name, "PodTopologySpread")) {
            static const char *const pk[] = {"defaultingType", "defaultConstraints", NULL};
            if ((rc = ynode_check_keys(args, k, pk, err)))
                return rc;
            const struct ynode *dt = ynode_get(args, "defaultingType"),
                               *dc = ynode_get(args, "defaultConstraints");
            bool list = !absent(dt) && dt->value && !strcmp(dt->value, "List");
            if (!absent(dt) && !list && !(dt->value && !strcmp(dt->value, "System")))
                return fail(err, dt, "'%s.defaultingType' must be 'System' or 'List'", k);
            if (list && !absent(dc) && !(dc->kind == YNODE_SEQ && dc->n == 0))
                return fail(err, dc, "'%s.defaultConstraints' other than the system defaults "
                                     "are not modelled (an empty list turns them off)",
                            k);
            if (list)
                p->w_spread = 0; /* no default constraints: the plugin scores nothing */
        } else if (!strcmp(name, "NodeAffinity")) {
            static const char *const pk[] = {"addedAffinity", NULL};
            if ((rc = ynode_check_keys(args, k, pk, err)))
                return rc;
            if (!absent(ynode_get(args, "addedAffinity")))
                return fail(err, ynode_key(args, "addedAffinity"),
                            "'%s.addedAffinity' is not modelled; put the affinity in "
                            "fleet.pod.affinity",
                            k);
        } else if (!strcmp(name, "NodeResourcesBalancedAllocation")) {
            const struct ynode *rs = ynode_get(args, "resources");
            if (!absent(rs))
                return fail(err, ynode_key(args, "resources"),
                            "'%s.resources' is not modelled (cpu and memory, the default)", k);
        }
        /* Other plugins' args (DefaultPreemption, InterPodAffinity, VolumeBinding, ...)
         * cannot change where these pods go. */
    }
    return SIM_OK;
}

static int read_kube_config(const struct ynode *c, const char *ctx, const char *pod_res,
                            struct sched_profile *p, struct sim_err *err)
{
    static const char *const keys[] = {"apiVersion", "kind", "profiles", "leaderElection",
                                       "clientConnection", "parallelism",
                                       "percentageOfNodesToScore", "podInitialBackoffSeconds",
                                       "podMaxBackoffSeconds", "extenders",
                                       "delayCacheUntilActive", "featureGates", NULL};
    int rc = ynode_check_keys(c, ctx, keys, err);
    if (rc)
        return rc;
    const struct ynode *n;
    char k[KEY_MAX];
    if (absent(n = ynode_get(c, "apiVersion")) || !n->value ||
        strcmp(n->value, "kubescheduler.config.k8s.io/v1"))
        return fail(err, absent(n) ? c : n,
                    "'%s.apiVersion' must be 'kubescheduler.config.k8s.io/v1'", ctx);
    if (absent(n = ynode_get(c, "kind")) || !n->value ||
        strcmp(n->value, "KubeSchedulerConfiguration"))
        return fail(err, absent(n) ? c : n, "'%s.kind' must be 'KubeSchedulerConfiguration'",
                    ctx);
    if (!absent(n = ynode_get(c, "extenders")) && !(n->kind == YNODE_SEQ && n->n == 0))
        return fail(err, ynode_key(c, "extenders"),
                    "'%s.extenders': scheduler extenders are not modelled", ctx);
    const struct ynode *profs = ynode_get(c, "profiles");
    if (absent(profs))
        return SIM_OK; /* the default profile */
    join(k, ctx, "profiles");
    if ((rc = seq(profs, k, err)))
        return rc;
    /* The pods use schedulerName default-scheduler: the profile of that name. */
    const struct ynode *prof = NULL;
    size_t at = 0;
    for (size_t i = 0; i < profs->n && !prof; i++) {
        const struct ynode *sn = ynode_get(profs->items[i], "schedulerName");
        if (absent(sn) || (sn->value && !strcmp(sn->value, "default-scheduler"))) {
            prof = profs->items[i];
            at = i;
        }
    }
    if (!prof)
        return fail(err, profs, "'%s' has no profile for 'default-scheduler', the pods' "
                                "schedulerName",
                    k);
    char pk[KEY_MAX];
    join_index(pk, k, at);
    static const char *const prof_keys[] = {"schedulerName", "plugins", "pluginConfig",
                                            "percentageOfNodesToScore", NULL};
    if ((rc = ynode_check_keys(prof, pk, prof_keys, err)))
        return rc;
    struct sched_profile defaults;
    sched_profile_default(&defaults);
    const struct ynode *pl = ynode_get(prof, "plugins");
    if (!absent(pl)) {
        char plk[KEY_MAX];
        join(plk, pk, "plugins");
        if (pl->kind != YNODE_MAP)
            return fail(err, pl, "expected a map for '%s', found %s", plk, ynode_kind_name(pl));
        for (size_t i = 0; i < pl->n; i++) {
            const char *ep = pl->keys[i]->value;
            char ek[KEY_MAX];
            join(ek, plk, ep);
            if (!strcmp(ep, "score") || !strcmp(ep, "multiPoint")) {
                if ((rc = read_plugin_set(pl->items[i], ek, p, &defaults, err)))
                    return rc;
            } else if (!strcmp(ep, "filter") || !strcmp(ep, "preFilter")) {
                return fail(err, pl->keys[i], "'%s': changing the filter plugins is not "
                                              "modelled",
                            ek);
            }
            /* queueSort, preScore, reserve, permit, preBind, bind, postBind, postFilter,
             * preEnqueue: they do not change which node a pod goes to. */
        }
    }
    const struct ynode *pc = ynode_get(prof, "pluginConfig");
    if (!absent(pc)) {
        join(k, pk, "pluginConfig");
        if ((rc = read_plugin_config(pc, k, pod_res, p, err)))
            return rc;
    }
    return SIM_OK;
}

int schedcfg_profile(const struct scenario *sc, const struct ynode *map, const char *ctx,
                     struct sched_profile *out, bool *ert, struct sim_err *err)
{
    sched_profile_default(out);
    if (absent(map))
        return SIM_OK;
    if (map->kind != YNODE_MAP)
        return fail(err, map, "expected a map for '%s', found %s", ctx, ynode_kind_name(map));
    /* The GPU resource the pods request (fleet.pod.resources): what a profile's
     * nvidia.com/gpu, or a MIG or shared resource's name, scores. */
    const char *pod_res = sc->fleet.pod.gpu.resource[0] ? sc->fleet.pod.gpu.resource
                                                         : "nvidia.com/gpu";
    static const char *const keys[] = {"profile", "configuration", "extendedResourceToleration",
                                       NULL};
    int rc = ynode_check_keys(map, ctx, keys, err);
    if (rc)
        return rc;
    char k[KEY_MAX];
    const struct ynode *pn = ynode_get(map, "profile"), *cn = ynode_get(map, "configuration"),
                       *en = ynode_get(map, "extendedResourceToleration");
    if (!absent(pn) && !absent(cn))
        return fail(err, ynode_key(map, "configuration"),
                    "'%s' takes 'profile' or 'configuration', not both", ctx);
    if (!absent(en)) {
        join(k, ctx, "extendedResourceToleration");
        if ((rc = ynode_as_bool(en, k, ert, err)))
            return rc;
    }
    if (!absent(pn)) {
        static const char *const profiles[] = {"default", "bin-packing", NULL};
        int which = 0;
        join(k, ctx, "profile");
        if ((rc = ynode_as_enum(pn, k, profiles, &which, err)))
            return rc;
        if (which == 1) {
            sched_profile_bin_packing(out);
            if (strcmp(pod_res, "nvidia.com/gpu"))
                out->res_weight[SCHED_GPU] = 0; /* the pods request another resource */
        }
        return SIM_OK;
    }
    if (absent(cn))
        return SIM_OK;
    join(k, ctx, "configuration");
    if (cn->kind != YNODE_MAP)
        return fail(err, cn, "expected a map for '%s', found %s", k, ynode_kind_name(cn));
    const struct ynode *c = cn;
    if (cn->n == 1 && !strcmp(cn->keys[0]->value, "file")) {
        struct ynode *root = NULL;
        if ((rc = scenario_include(sc, cn->items[0], k, &root, err)))
            return rc;
        c = root;
    }
    return read_kube_config(c, k, pod_res, out, err);
}
