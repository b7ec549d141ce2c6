/*
 * manifest.c: strict readers for pasted KEDA ScaledObjects and autoscaling/v2
 * HorizontalPodAutoscalers, on the positioned YAML tree. The checks mirror the
 * Kubernetes API validation (pkg/apis/autoscaling/validation), the KEDA CRD schema and
 * webhook (apis/keda/v1alpha1) and the Prometheus scaler's metadata parsing.
 */
#include "sim/config/manifest.h"

#include "sim/config/ignored.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 256

/* ---- helpers ------------------------------------------------------------------------ */

/* An error at node n, no position when n is NULL (sim/config/ynode.h, with the analyzer's
 * return model). */
#define fail(err, n, ...) ynode_fail_at((err), SIM_EINVAL, (n), __VA_ARGS__)

/* "base.name", or "name" at the top (truncated to KEY_MAX - 1 bytes) */
static void join(char *out, const char *base, const char *name)
{
    ynode_join_key(out, KEY_MAX, base, name);
}

static void join_index(char *out, const char *base, const char *name, size_t i)
{
    char tmp[KEY_MAX], num[24];
    join(tmp, base, name);
    snprintf(num, sizeof num, "%zu", i);
    join(out, tmp, num);
}

/* A present, non-null child, or NULL. */
static const struct ynode *child(const struct ynode *map, const char *name)
{
    const struct ynode *n = ynode_get(map, name);
    return n && !(n->kind == YNODE_SCALAR && ynode_is_null(n)) ? n : NULL;
}

static int need(const struct ynode *map, const char *base, const char *name,
                const struct ynode **out, struct sim_err *err)
{
    *out = child(map, name);
    if (*out)
        return SIM_OK;
    char key[KEY_MAX];
    join(key, base, name);
    return fail(err, map, "'%s' is required", key);
}

static int read_map(const struct ynode *n, const char *key, const char *const *allowed,
                    struct sim_err *err)
{
    return ynode_check_keys(n, key, allowed, err);
}

static int read_i32(const struct ynode *map, const char *base, const char *name, int64_t min,
                    const char *unit, bool *has, int32_t *out, struct sim_err *err)
{
    const struct ynode *n = child(map, name);
    if (!n) {
        if (has)
            *has = false;
        return SIM_OK;
    }
    char key[KEY_MAX];
    join(key, base, name);
    int64_t v;
    int rc = ynode_as_int64_unit(n, key, min, INT32_MAX, unit, &v, err);
    if (rc)
        return rc;
    *out = (int32_t)v;
    if (has)
        *has = true;
    return SIM_OK;
}

static int read_str(const struct ynode *map, const char *base, const char *name, bool required,
                    const char **out, struct sim_err *err)
{
    const struct ynode *n = child(map, name);
    *out = NULL;
    if (!n) {
        if (!required)
            return SIM_OK;
        char key[KEY_MAX];
        join(key, base, name);
        return fail(err, map, "'%s' is required", key);
    }
    char key[KEY_MAX];
    join(key, base, name);
    int rc = ynode_as_string(n, key, out, err);
    if (rc)
        return rc;
    if (required && !(*out)[0])
        return fail(err, n, "'%s' must not be empty", key);
    return SIM_OK;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static int set_pos_text(struct pos_text *p, const char *text, const struct ynode *at,
                        struct sim_err *err)
{
    p->text = dup_str(text);
    p->file = dup_str(at->file ? at->file : "");
    p->line = at->line;
    /* Point at the text itself: past the opening quote of a quoted scalar. */
    p->col = at->col + (at->quoted && !at->block ? 1 : 0);
    if (at->block) {
        /* A block scalar's (| or >) text starts on the line after the indicator, at an
         * indentation the tree does not keep: lines are right, columns are left out. */
        p->line = at->line + 1;
        p->col = 0;
    }
    if (!p->text || !p->file) {
        free(p->text);
        free(p->file);
        p->text = p->file = NULL;
        return sim_err_set(err, SIM_ENOMEM, "out of memory reading a manifest");
    }
    return SIM_OK;
}

/* Any map whose content llmcap ignores (labels, authenticationRef, status, ...) must at
 * least be a map. */
static int ignored_map(const struct ynode *map, const char *base, const char *name,
                       struct sim_err *err)
{
    const struct ynode *n = child(map, name);
    if (!n || n->kind == YNODE_MAP)
        return SIM_OK;
    char key[KEY_MAX];
    join(key, base, name);
    return fail(err, n, "expected a map for '%s', found %s", key, ynode_kind_name(n));
}

/* ---- quantities and numbers ---------------------------------------------------------- */

static bool mul_ok(int64_t a, int64_t b, int64_t *out)
{
    if (a != 0 && (b > INT64_MAX / a || b < -(INT64_MAX / a)))
        return false;
    *out = a * b;
    return true;
}

int manifest_parse_quantity(const char *text, int64_t *milli, double *approx)
{
    /* resource.ParseQuantity: [+-]?[0-9.]+ then a suffix: n u m "" k M G T P E,
     * Ki Mi Gi Ti Pi Ei, or a decimal exponent e<int> / E<int> */
    const char *s = text;
    bool neg = false;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    const char *num = s;
    int64_t d = 0;
    int sig = 0, frac_digits = 0, digits = 0;
    bool dot = false;
    for (; (*s >= '0' && *s <= '9') || *s == '.'; s++) {
        if (*s == '.') {
            if (dot)
                return SIM_EINVAL;
            dot = true;
            continue;
        }
        digits++;
        if (dot)
            frac_digits++;
        if (sig == 0 && *s == '0')
            continue;
        if (++sig > 18)
            return SIM_EINVAL; /* more precision than llmcap keeps */
        d = d * 10 + (*s - '0');
    }
    if (!digits)
        return SIM_EINVAL;
    size_t num_len = (size_t)(s - num);
    int dec_exp = 0, bin_pow = 0;
    static const char *const dec_suffixes[] = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};
    static const int dec_exps[] = {-9, -6, -3, 0, 3, 6, 9, 12, 15, 18};
    static const char *const bin_suffixes[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    bool known = false;
    for (size_t i = 0; i < sizeof dec_suffixes / sizeof dec_suffixes[0] && !known; i++)
        if (!strcmp(s, dec_suffixes[i])) {
            dec_exp = dec_exps[i];
            known = true;
        }
    for (size_t i = 0; i < sizeof bin_suffixes / sizeof bin_suffixes[0] && !known; i++)
        if (!strcmp(s, bin_suffixes[i])) {
            bin_pow = (int)i + 1;
            known = true;
        }
    if (!known && (*s == 'e' || *s == 'E')) {
        const char *e = s + 1;
        if (*e == '+' || *e == '-')
            e++;
        if (*e >= '0' && *e <= '9') {
            char *end;
            long x = strtol(s + 1, &end, 10);
            if (!*end && x > -400 && x < 400) {
                dec_exp = (int)x;
                known = true;
            }
        }
    }
    if (!known)
        return SIM_EINVAL;
    /* approximate value */
    char nb[64];
    if (num_len >= sizeof nb)
        return SIM_EINVAL;
    memcpy(nb, num, num_len);
    nb[num_len] = '\0';
    double a = strtod(nb, NULL);
    if (bin_pow)
        a *= pow(1024.0, bin_pow);
    else
        a *= pow(10.0, dec_exp);
    *approx = neg ? -a : a;
    /* exact ceil(value * 1000) */
    for (int i = 0; i < bin_pow; i++)
        if (!mul_ok(d, 1024, &d))
            return SIM_EINVAL;
    int e10 = 3 + dec_exp - frac_digits;
    int64_t m;
    if (e10 >= 0) {
        m = d;
        for (int i = 0; i < e10; i++)
            if (!mul_ok(m, 10, &m))
                return SIM_EINVAL;
        *milli = neg ? -m : m;
        return SIM_OK;
    }
    int64_t q, r;
    if (-e10 > 18) {
        q = 0;
        r = d;
    } else {
        int64_t p = 1;
        for (int i = 0; i < -e10; i++)
            p *= 10;
        q = d / p;
        r = d % p;
    }
    /* MilliValue rounds up (toward +inf) */
    *milli = neg ? -q : q + (r > 0);
    return SIM_OK;
}

/* A quantity field (bare YAML number or string). */
static int read_quantity(const struct ynode *n, const char *key, int64_t *milli, double *approx,
                         struct sim_err *err)
{
    if (n->kind != YNODE_SCALAR || ynode_is_null(n))
        return fail(err, n, "expected a quantity for '%s', found %s", key, ynode_kind_name(n));
    if (manifest_parse_quantity(n->value, milli, approx))
        return fail(err, n,
                    "'%s' must be a Kubernetes quantity such as '5', '0.5' or '500m', got '%s'",
                    key, n->value);
    return SIM_OK;
}

/* A KEDA metadata value: the CRD stores strings; bare YAML scalars are taken as their
 * text. Leading and trailing spaces are trimmed as configParamValue does. */
static int meta_text(const struct ynode *n, const char *key, char *buf, size_t size,
                     struct sim_err *err)
{
    if (n->kind != YNODE_SCALAR)
        return fail(err, n, "expected a string for '%s', found %s", key, ynode_kind_name(n));
    const char *v = n->value ? n->value : "";
    while (isspace((unsigned char)*v))
        v++;
    size_t len = strlen(v);
    while (len && isspace((unsigned char)v[len - 1]))
        len--;
    if (len >= size)
        return fail(err, n, "'%s' is too long (at most %zu characters)", key, size - 1);
    memcpy(buf, v, len);
    buf[len] = '\0';
    return SIM_OK;
}

/* JSON number syntax: what encoding/json accepts for a float64 (KEDA's typed config
 * unmarshals float fields from their text) */
static bool is_json_number(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return false;
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

static int meta_float(const struct ynode *n, const char *key, double *out, struct sim_err *err)
{
    char buf[128];
    int rc = meta_text(n, key, buf, sizeof buf, err);
    if (rc)
        return rc;
    double v = is_json_number(buf) ? strtod(buf, NULL) : NAN;
    if (!is_json_number(buf) || !isfinite(v)) {
        int64_t m;
        double a;
        if (buf[0] && !manifest_parse_quantity(buf, &m, &a))
            return fail(err, n,
                        "'%s' must be a plain number such as '5' or '0.5' (KEDA reads it as a "
                        "float, not a Kubernetes quantity), got '%s'",
                        key, buf);
        return fail(err, n, "'%s' must be a number such as '5' or '0.5', got '%s'", key, buf);
    }
    *out = v;
    return SIM_OK;
}

/* strconv.ParseBool */
static int meta_bool(const struct ynode *n, const char *key, bool *out, struct sim_err *err)
{
    char buf[16];
    if (n->kind == YNODE_SCALAR && n->value && strlen(n->value) < sizeof buf) {
        static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
        static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
        for (size_t i = 0; i < 6; i++) {
            if (!strcmp(n->value, yes[i])) {
                *out = true;
                return SIM_OK;
            }
            if (!strcmp(n->value, no[i])) {
                *out = false;
                return SIM_OK;
            }
        }
    }
    if (n->kind != YNODE_SCALAR)
        return fail(err, n, "expected a string for '%s', found %s", key, ynode_kind_name(n));
    return fail(err, n, "'%s' must be \"true\" or \"false\", got '%s'", key, n->value);
}

/* ---- shared pieces ------------------------------------------------------------------- */

static const char *const metadata_keys[] = {"name",
                                            "namespace",
                                            "labels",
                                            "annotations",
                                            "generateName",
                                            "uid",
                                            "resourceVersion",
                                            "generation",
                                            "creationTimestamp",
                                            "deletionTimestamp",
                                            "deletionGracePeriodSeconds",
                                            "finalizers",
                                            "ownerReferences",
                                            "managedFields",
                                            "selfLink",
                                            NULL};

/* Annotations that change what the controller does: read by the object's reader. */
static const char *const modelled_annotations[] = {"autoscaling.keda.sh/paused-scale-in",
                                                   "autoscaling.keda.sh/paused-scale-out",
                                                   "autoscaling.keda.sh/paused",
                                                   "autoscaling.keda.sh/paused-replicas",
                                                   "autoscaling.keda.sh/force-activation",
                                                   NULL};

static int read_metadata(const struct ynode *root, const char *ctx, const struct ynode **annots,
                         struct ignored_fields *ig, struct sim_err *err)
{
    *annots = NULL;
    const struct ynode *md = child(root, "metadata");
    if (!md)
        return SIM_OK;
    char key[KEY_MAX];
    join(key, ctx, "metadata");
    int rc = read_map(md, key, metadata_keys, err);
    if (!rc)
        rc = ignored_map(md, key, "labels", err);
    if (!rc)
        rc = ignored_map(md, key, "annotations", err);
    if (rc)
        return rc;
    const char *name;
    if ((rc = read_str(md, key, "name", false, &name, err)) ||
        (rc = read_str(md, key, "namespace", false, &name, err)))
        return rc;
    *annots = child(md, "annotations");
    /* uid, resourceVersion, generation, creationTimestamp, managedFields, labels,
     * finalizers, ownerReferences and annotations such as kubectl's
     * last-applied-configuration: the object's bookkeeping, not its behaviour. */
    for (size_t i = 0; i < md->n; i++) {
        const char *mk = md->keys[i]->value;
        if (!strcmp(mk, "name") || !strcmp(mk, "namespace"))
            continue;
        if (strcmp(mk, "annotations") || !*annots) {
            ignored_add(ig, key, mk);
            continue;
        }
        char ak[KEY_MAX];
        join(ak, key, mk);
        for (size_t j = 0; j < (*annots)->n; j++) {
            const char *an = (*annots)->keys[j]->value;
            bool modelled = false;
            for (size_t m = 0; modelled_annotations[m] && !modelled; m++)
                modelled = !strcmp(an, modelled_annotations[m]);
            if (!modelled)
                ignored_add(ig, ak, an);
        }
    }
    return SIM_OK;
}

static int check_api(const struct ynode *root, const char *ctx, const char *want_api,
                     const char *want_kind, const char *what, struct sim_err *err)
{
    const struct ynode *n;
    const char *v;
    char key[KEY_MAX];
    int rc = need(root, ctx, "apiVersion", &n, err);
    if (rc)
        return rc;
    join(key, ctx, "apiVersion");
    if ((rc = ynode_as_string(n, key, &v, err)))
        return rc;
    if (strcmp(v, want_api)) {
        if (!strcmp(want_api, "autoscaling/v2") && !strcmp(v, "autoscaling/v1"))
            return fail(err, n,
                        "'%s' must be 'autoscaling/v2', got 'autoscaling/v1' (v1 scales on CPU "
                        "only, which llmcap does not simulate)",
                        key);
        if (!strcmp(want_api, "autoscaling/v2") && !strncmp(v, "autoscaling/v2beta", 18))
            return fail(err, n,
                        "'%s' must be 'autoscaling/v2', got '%s' (removed in Kubernetes 1.26; "
                        "the fields are the same)",
                        key, v);
        return fail(err, n, "'%s' must be '%s' for %s, got '%s'", key, want_api, what, v);
    }
    if ((rc = need(root, ctx, "kind", &n, err)))
        return rc;
    join(key, ctx, "kind");
    if ((rc = ynode_as_string(n, key, &v, err)))
        return rc;
    if (strcmp(v, want_kind)) {
        if (!strcmp(v, "ScaledJob"))
            return fail(err, n,
                        "'%s' must be 'ScaledObject', got 'ScaledJob' (llmcap scales a "
                        "Deployment of model servers, not Jobs)",
                        key);
        return fail(err, n, "'%s' must be '%s', got '%s'", key, want_kind, v);
    }
    return SIM_OK;
}

/* HPAScalingRules, defaulted by copyHPAScalingRules over `r` (already the defaults). */
static int read_rules(const struct ynode *n, const char *key, struct hpa_rules *r,
                      struct sim_err *err)
{
    static const char *const keys[] = {"stabilizationWindowSeconds", "selectPolicy", "policies",
                                       "tolerance", NULL};
    int rc = read_map(n, key, keys, err);
    if (rc)
        return rc;
    bool has;
    int32_t w;
    if ((rc = read_i32(n, key, "stabilizationWindowSeconds", 0, "s", &has, &w, err)))
        return rc;
    if (has) {
        if (w > 3600) {
            char k[KEY_MAX];
            join(k, key, "stabilizationWindowSeconds");
            return fail(err, child(n, "stabilizationWindowSeconds"),
                        "'%s' must be in [0, 3600] (s), got '%" PRId32 "'", k, w);
        }
        r->stabilization_window_s = w;
    }
    const struct ynode *sp = child(n, "selectPolicy");
    if (sp) {
        static const char *const names[] = {"Max", "Min", "Disabled", NULL};
        char k[KEY_MAX];
        join(k, key, "selectPolicy");
        int which;
        if ((rc = ynode_as_enum(sp, k, names, &which, err)))
            return rc;
        r->select_policy = which == 0   ? HPA_SELECT_MAX
                           : which == 1 ? HPA_SELECT_MIN
                                        : HPA_SELECT_DISABLED;
    }
    const struct ynode *tol = child(n, "tolerance");
    if (tol) {
        char k[KEY_MAX];
        join(k, key, "tolerance");
        int64_t m;
        double a;
        if ((rc = read_quantity(tol, k, &m, &a, err)))
            return rc;
        if (a < 0.0)
            return fail(err, tol, "'%s' must be >= 0, got '%s'", k, tol->value);
        r->has_tolerance = true;
        r->tolerance = a;
    }
    const struct ynode *ps = ynode_get(n, "policies");
    if (ps && !(ps->kind == YNODE_SCALAR && ynode_is_null(ps))) {
        char k[KEY_MAX];
        join(k, key, "policies");
        if (ps->kind != YNODE_SEQ)
            return fail(err, ps, "expected a sequence for '%s', found %s", k, ynode_kind_name(ps));
        if (ps->n == 0)
            return fail(err, ps, "'%s' must specify at least one policy", k);
        if (ps->n > HPA_MAX_POLICIES)
            return fail(err, ps->items[HPA_MAX_POLICIES], "'%s' holds more than %d policies", k,
                        HPA_MAX_POLICIES);
        static const char *const pkeys[] = {"type", "value", "periodSeconds", NULL};
        for (size_t i = 0; i < ps->n; i++) {
            const struct ynode *p = ps->items[i];
            char pk[KEY_MAX], num[24];
            snprintf(num, sizeof num, "%zu", i);
            join(pk, k, num);
            if ((rc = read_map(p, pk, pkeys, err)))
                return rc;
            const struct ynode *t;
            if ((rc = need(p, pk, "type", &t, err)))
                return rc;
            static const char *const types[] = {"Pods", "Percent", NULL};
            char tk[KEY_MAX];
            join(tk, pk, "type");
            int which;
            if ((rc = ynode_as_enum(t, tk, types, &which, err)))
                return rc;
            const struct ynode *tmp;
            int32_t value = 0, period = 0;
            if ((rc = need(p, pk, "value", &tmp, err)) ||
                (rc = read_i32(p, pk, "value", 1, which == 0 ? "pods" : "%", NULL, &value, err)) ||
                (rc = need(p, pk, "periodSeconds", &tmp, err)))
                return rc;
            char perk[KEY_MAX];
            join(perk, pk, "periodSeconds");
            int64_t pv;
            if ((rc = ynode_as_int64_unit(tmp, perk, 1, 1800, "s", &pv, err)))
                return rc;
            period = (int32_t)pv;
            r->policies[i] = (struct hpa_policy){which == 0 ? HPA_POLICY_PODS : HPA_POLICY_PERCENT,
                                                 value, period};
        }
        r->n_policies = ps->n;
    }
    return SIM_OK;
}

/* HorizontalPodAutoscalerBehavior: null stays nil (*has false); a map (even empty) is
 * defaulted as SetDefaults_HorizontalPodAutoscalerBehavior does. */
static int read_behavior(const struct ynode *parent, const char *base, bool *has,
                         struct hpa_behavior *b, struct sim_err *err)
{
    hpa_rules_default_scale_up(&b->scale_up);
    hpa_rules_default_scale_down(&b->scale_down);
    *has = false;
    const struct ynode *n = child(parent, "behavior");
    if (!n)
        return SIM_OK;
    char key[KEY_MAX];
    join(key, base, "behavior");
    static const char *const keys[] = {"scaleUp", "scaleDown", NULL};
    int rc = read_map(n, key, keys, err);
    if (rc)
        return rc;
    *has = true;
    const struct ynode *u = child(n, "scaleUp"), *d = child(n, "scaleDown");
    char k[KEY_MAX];
    if (u) {
        join(k, key, "scaleUp");
        if ((rc = read_rules(u, k, &b->scale_up, err)))
            return rc;
    }
    if (d) {
        join(k, key, "scaleDown");
        if ((rc = read_rules(d, k, &b->scale_down, err)))
            return rc;
    }
    return SIM_OK;
}

/* ---- ScaledObject ---------------------------------------------------------------------- */

static const char *const prom_meta_keys[] = {
    "serverAddress",    "query",     "threshold",     "activationThreshold",
    "ignoreNullValues", "namespace", "customHeaders", "queryParameters",
    "unsafeSsl",        "awsRegion", "timeout",       "identityOwner",
    "authModes",        NULL};

/* The prometheus scaler's connection settings: where and how KEDA reaches Prometheus,
 * not what it decides. */
static const char *const prom_meta_ignored[] = {
    "serverAddress", "namespace", "customHeaders", "queryParameters", "unsafeSsl",
    "awsRegion",     "timeout",   "identityOwner", "authModes",       NULL};

static int read_trigger(const struct ynode *t, const char *tk, struct keda_trigger *out,
                        struct ignored_fields *ig, struct sim_err *err)
{
    static const char *const keys[] = {
        "type", "name", "metadata", "metricType", "useCachedMetrics", "authenticationRef", NULL};
    int rc = read_map(t, tk, keys, err);
    if (rc)
        return rc;
    const struct ynode *type;
    const char *tv;
    char k[KEY_MAX];
    if ((rc = need(t, tk, "type", &type, err)))
        return rc;
    join(k, tk, "type");
    if ((rc = ynode_as_string(type, k, &tv, err)))
        return rc;
    if (!strcmp(tv, "cpu") || !strcmp(tv, "memory"))
        return fail(err, type,
                    "'%s' '%s' is not supported by llmcap: CPU and memory are not simulated "
                    "(supported trigger types: prometheus)",
                    k, tv);
    if (strcmp(tv, "prometheus"))
        return fail(err, type,
                    "'%s' '%s' is not supported by llmcap (supported trigger types: prometheus)", k,
                    tv);
    const struct ynode *mt = child(t, "metricType");
    if (mt) {
        static const char *const names[] = {"AverageValue", "Value", NULL};
        join(k, tk, "metricType");
        int which;
        if (mt->kind == YNODE_SCALAR && mt->value && !strcmp(mt->value, "Utilization"))
            return fail(err, mt,
                        "'%s' 'Utilization' is not supported for a prometheus trigger (KEDA: "
                        "AverageValue or Value)",
                        k);
        if ((rc = ynode_as_enum(mt, k, names, &which, err)))
            return rc;
        out->metric_type = which == 1 ? KEDA_METRIC_VALUE : KEDA_METRIC_AVERAGE_VALUE;
    }
    const struct ynode *uc = child(t, "useCachedMetrics");
    if (uc) {
        join(k, tk, "useCachedMetrics");
        if ((rc = ynode_as_bool(uc, k, &out->use_cached_metrics, err)))
            return rc;
    }
    if ((rc = ignored_map(t, tk, "authenticationRef", err)))
        return rc;
    if (child(t, "authenticationRef"))
        ignored_add(ig, tk, "authenticationRef");
    const struct ynode *md;
    if ((rc = need(t, tk, "metadata", &md, err)))
        return rc;
    char mk[KEY_MAX];
    join(mk, tk, "metadata");
    if ((rc = read_map(md, mk, prom_meta_keys, err)))
        return rc;
    for (size_t i = 0; prom_meta_ignored[i]; i++)
        if (child(md, prom_meta_ignored[i]))
            ignored_add(ig, mk, prom_meta_ignored[i]);
    /* every value is a string in the CRD: check the ones llmcap ignores are scalars */
    for (size_t i = 0; i < md->n; i++) {
        const struct ynode *v = md->items[i];
        if (v->kind != YNODE_SCALAR) {
            join(k, mk, md->keys[i]->value);
            return fail(err, v, "expected a string for '%s', found %s", k, ynode_kind_name(v));
        }
    }
    const struct ynode *n;
    if ((rc = need(md, mk, "serverAddress", &n, err)))
        return rc;
    if ((rc = need(md, mk, "query", &n, err)))
        return rc;
    join(k, mk, "query");
    const char *q = n->value;
    while (*q && isspace((unsigned char)*q))
        q++;
    if (!*q)
        return fail(err, n, "'%s' must not be empty", k);
    if ((rc = set_pos_text(&out->query, n->value, n, err)))
        return rc;
    if ((rc = need(md, mk, "threshold", &n, err)))
        return rc;
    join(k, mk, "threshold");
    if ((rc = meta_float(n, k, &out->threshold, err)))
        return rc;
    /* GetMetricTargetMili: the target is the threshold to the thousandth; the HPA
     * rejects a target that is not positive */
    if (hpa_milli_from_double(out->threshold) < 1)
        return fail(err, n,
                    "'%s' must round to at least 0.001 (KEDA passes it to the HPA in thousandths), "
                    "got '%s'",
                    k, n->value);
    n = child(md, "activationThreshold");
    if (n) {
        join(k, mk, "activationThreshold");
        if ((rc = meta_float(n, k, &out->activation_threshold, err)))
            return rc;
    }
    n = child(md, "ignoreNullValues");
    if (n) {
        join(k, mk, "ignoreNullValues");
        if ((rc = meta_bool(n, k, &out->ignore_null_values, err)))
            return rc;
    }
    n = child(md, "unsafeSsl");
    if (n) {
        bool ignored;
        join(k, mk, "unsafeSsl");
        if ((rc = meta_bool(n, k, &ignored, err)))
            return rc;
    }
    return SIM_OK;
}

/* getBoolAnnotation: a value strconv.ParseBool cannot read counts as true */
static bool annotation_true(const struct ynode *annots, const char *name)
{
    const struct ynode *v = ynode_get(annots, name);
    if (!v)
        return false;
    if (v->kind != YNODE_SCALAR || !v->value)
        return true;
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < 6; i++)
        if (!strcmp(v->value, no[i]))
            return false;
    return true;
}

static int read_annotations(const struct ynode *annots, const char *ctx, struct keda_config *c,
                            struct sim_err *err)
{
    if (!annots)
        return SIM_OK;
    char key[KEY_MAX];
    join(key, ctx, "metadata.annotations");
    if (ynode_get(annots, "autoscaling.keda.sh/paused-replicas"))
        return fail(err, ynode_key(annots, "autoscaling.keda.sh/paused-replicas"),
                    "annotation 'autoscaling.keda.sh/paused-replicas' in '%s' is not supported by "
                    "llmcap (a paused ScaledObject does not autoscale: use 'fleet.replicas')",
                    key);
    if (annotation_true(annots, "autoscaling.keda.sh/paused"))
        return fail(err, ynode_key(annots, "autoscaling.keda.sh/paused"),
                    "annotation 'autoscaling.keda.sh/paused' in '%s' is not supported by llmcap "
                    "(a paused ScaledObject does not autoscale: use 'fleet.replicas')",
                    key);
    if (annotation_true(annots, "autoscaling.keda.sh/force-activation"))
        return fail(err, ynode_key(annots, "autoscaling.keda.sh/force-activation"),
                    "annotation 'autoscaling.keda.sh/force-activation' in '%s' is not supported "
                    "by llmcap",
                    key);
    c->pause_scale_in = annotation_true(annots, "autoscaling.keda.sh/paused-scale-in");
    c->pause_scale_out = annotation_true(annots, "autoscaling.keda.sh/paused-scale-out");
    return SIM_OK;
}

static int read_so(const struct ynode *root, const char *ctx, struct keda_config *c,
                   struct ignored_fields *ig, struct sim_err *err)
{
    static const char *const top_keys[] = {"apiVersion", "kind",   "metadata",
                                           "spec",       "status", NULL};
    int rc = read_map(root, ctx, top_keys, err);
    if (rc)
        return rc;
    if ((rc = check_api(root, ctx, "keda.sh/v1alpha1", "ScaledObject", "a KEDA ScaledObject", err)))
        return rc;
    const struct ynode *annots;
    if ((rc = read_metadata(root, ctx, &annots, ig, err)) ||
        (rc = read_annotations(annots, ctx, c, err)) ||
        (rc = ignored_map(root, ctx, "status", err)))
        return rc;
    if (child(root, "status"))
        ignored_add(ig, ctx, "status");
    const struct ynode *spec;
    if ((rc = need(root, ctx, "spec", &spec, err)))
        return rc;
    char sk[KEY_MAX], k[KEY_MAX];
    join(sk, ctx, "spec");
    static const char *const spec_keys[] = {"scaleTargetRef",
                                            "pollingInterval",
                                            "cooldownPeriod",
                                            "initialCooldownPeriod",
                                            "idleReplicaCount",
                                            "minReplicaCount",
                                            "maxReplicaCount",
                                            "advanced",
                                            "triggers",
                                            "fallback",
                                            NULL};
    if ((rc = read_map(spec, sk, spec_keys, err)))
        return rc;

    /* scaleTargetRef: name required (MinLength=1) */
    const struct ynode *ref;
    if ((rc = need(spec, sk, "scaleTargetRef", &ref, err)))
        return rc;
    join(k, sk, "scaleTargetRef");
    static const char *const ref_keys[] = {"name", "apiVersion", "kind", "envSourceContainerName",
                                           NULL};
    const char *s;
    if ((rc = read_map(ref, k, ref_keys, err)) || (rc = read_str(ref, k, "name", true, &s, err)) ||
        (rc = read_str(ref, k, "apiVersion", false, &s, err)) ||
        (rc = read_str(ref, k, "kind", false, &s, err)) ||
        (rc = read_str(ref, k, "envSourceContainerName", false, &s, err)))
        return rc;
    ignored_add(ig, k, ""); /* the target is the scenario's fleet */

    int32_t v;
    bool has;
    if ((rc = read_i32(spec, sk, "pollingInterval", 1, "s", &has, &v, err)))
        return rc;
    if (has)
        c->polling_interval_us = (int64_t)v * 1000000;
    if ((rc = read_i32(spec, sk, "cooldownPeriod", 0, "s", &has, &v, err)))
        return rc;
    if (has)
        c->cooldown_period_us = (int64_t)v * 1000000;
    if ((rc = read_i32(spec, sk, "initialCooldownPeriod", 0, "s", &has, &v, err)))
        return rc;
    if (has)
        c->initial_cooldown_period_us = (int64_t)v * 1000000;
    if ((rc = read_i32(spec, sk, "idleReplicaCount", 0, "replicas", &c->has_idle_replica_count,
                       &c->idle_replica_count, err)) ||
        (rc = read_i32(spec, sk, "minReplicaCount", 0, "replicas", &c->has_min_replica_count,
                       &c->min_replica_count, err)) ||
        (rc = read_i32(spec, sk, "maxReplicaCount", 1, "replicas", &has, &c->max_replica_count,
                       err)))
        return rc;
    /* CRD rule: minReplicaCount <= maxReplicaCount (100 when unset) */
    if (c->has_min_replica_count && c->min_replica_count > c->max_replica_count) {
        char mk[KEY_MAX];
        join(k, sk, "minReplicaCount");
        join(mk, sk, "maxReplicaCount");
        return fail(err, child(spec, "minReplicaCount"),
                    "'%s' (%" PRId32 ") must be <= '%s' (%" PRId32 "%s)", k, c->min_replica_count,
                    mk, c->max_replica_count, has ? "" : " by default");
    }
    /* CheckReplicaCountBoundsAreValid: idle < GetHPAMinReplicas() when min is set, else < 0 */
    if (c->has_idle_replica_count) {
        int32_t hmin = !c->has_min_replica_count  ? 0
                       : c->min_replica_count > 0 ? c->min_replica_count
                                                  : 1;
        if (c->idle_replica_count >= hmin) {
            char mk[KEY_MAX];
            join(k, sk, "idleReplicaCount");
            join(mk, sk, "minReplicaCount");
            return fail(err, child(spec, "idleReplicaCount"),
                        "'%s' (%" PRId32 ") must be < '%s' (%" PRId32 "%s)", k,
                        c->idle_replica_count, mk, hmin,
                        c->has_min_replica_count ? "" : " when unset");
        }
    }

    /* advanced */
    const struct ynode *adv = child(spec, "advanced");
    if (adv) {
        char ak[KEY_MAX];
        join(ak, sk, "advanced");
        static const char *const adv_keys[] = {"horizontalPodAutoscalerConfig",
                                               "restoreToOriginalReplicaCount", "scalingModifiers",
                                               NULL};
        if ((rc = read_map(adv, ak, adv_keys, err)))
            return rc;
        const struct ynode *sm = child(adv, "scalingModifiers");
        if (sm && !(sm->kind == YNODE_MAP && sm->n == 0)) {
            join(k, ak, "scalingModifiers");
            return fail(err, sm,
                        "'%s' is not supported by llmcap (the formula needs KEDA's expression "
                        "engine): write one trigger whose PromQL query computes it",
                        k);
        }
        const struct ynode *rt = child(adv, "restoreToOriginalReplicaCount");
        if (rt) {
            bool ignored;
            join(k, ak, "restoreToOriginalReplicaCount");
            if ((rc = ynode_as_bool(rt, k, &ignored, err)))
                return rc;
            ignored_add(ig, k, "");
        }
        const struct ynode *hc = child(adv, "horizontalPodAutoscalerConfig");
        if (hc) {
            char hk[KEY_MAX];
            join(hk, ak, "horizontalPodAutoscalerConfig");
            static const char *const hc_keys[] = {"name", "behavior", NULL};
            if ((rc = read_map(hc, hk, hc_keys, err)) ||
                (rc = read_str(hc, hk, "name", false, &s, err)) ||
                (rc = read_behavior(hc, hk, &c->has_behavior, &c->behavior, err)))
                return rc;
        }
    }

    /* fallback */
    const struct ynode *fb = child(spec, "fallback");
    if (fb) {
        char fk[KEY_MAX];
        join(fk, sk, "fallback");
        static const char *const fb_keys[] = {"failureThreshold", "replicas", "behavior", NULL};
        const struct ynode *tmp;
        if ((rc = read_map(fb, fk, fb_keys, err)) ||
            (rc = need(fb, fk, "failureThreshold", &tmp, err)) ||
            (rc = read_i32(fb, fk, "failureThreshold", 0, NULL, NULL,
                           &c->fallback_failure_threshold, err)) ||
            (rc = need(fb, fk, "replicas", &tmp, err)) ||
            (rc = read_i32(fb, fk, "replicas", 0, "replicas", NULL, &c->fallback_replicas, err)))
            return rc;
        const struct ynode *bh = child(fb, "behavior");
        if (bh) {
            static const char *const names[] = {"static",
                                                "currentReplicas",
                                                "currentReplicasIfHigher",
                                                "currentReplicasIfLower",
                                                "scalingModifiers",
                                                NULL};
            join(k, fk, "behavior");
            int which;
            if ((rc = ynode_as_enum(bh, k, names, &which, err)))
                return rc;
            if (which == 4)
                return fail(err, bh,
                            "'%s' 'scalingModifiers' is not supported by llmcap (it needs "
                            "'spec.advanced.scalingModifiers')",
                            k);
            static const enum keda_fallback_behavior map[] = {
                KEDA_FALLBACK_STATIC, KEDA_FALLBACK_CURRENT_REPLICAS,
                KEDA_FALLBACK_CURRENT_REPLICAS_IF_HIGHER, KEDA_FALLBACK_CURRENT_REPLICAS_IF_LOWER};
            c->fallback_behavior = map[which];
        }
        c->has_fallback = true;
    }

    /* triggers: MinItems=1; names unique (ValidateTriggers) */
    const struct ynode *tr;
    if ((rc = need(spec, sk, "triggers", &tr, err)))
        return rc;
    join(k, sk, "triggers");
    if (tr->kind != YNODE_SEQ)
        return fail(err, tr, "expected a sequence for '%s', found %s", k, ynode_kind_name(tr));
    if (tr->n == 0)
        return fail(err, tr, "'%s' must hold at least one trigger", k);
    if (tr->n > KEDA_MAX_TRIGGERS)
        return fail(err, tr->items[KEDA_MAX_TRIGGERS], "'%s' holds more than %d triggers", k,
                    KEDA_MAX_TRIGGERS);
    for (size_t i = 0; i < tr->n; i++) {
        char tk[KEY_MAX];
        join_index(tk, sk, "triggers", i);
        struct keda_trigger *t = &c->triggers[i];
        memset(t, 0, sizeof *t);
        t->ignore_null_values = true; /* keda:"... default=true" */
        c->n_triggers = i + 1;        /* so that a failure releases what this one holds */
        if ((rc = read_trigger(tr->items[i], tk, t, ig, err)))
            return rc;
        const struct ynode *nm = child(tr->items[i], "name");
        if (nm) {
            const char *name;
            join(k, tk, "name");
            if ((rc = ynode_as_string(nm, k, &name, err)))
                return rc;
            for (size_t j = 0; j < i; j++) {
                if (!c->triggers[j].name || strcmp(c->triggers[j].name, name))
                    continue;
                char other[KEY_MAX];
                join_index(other, sk, "triggers", j);
                return fail(err, nm, "'%s' must be unique, got '%s', the name of '%s' too", k, name,
                            other);
            }
            if (!(t->name = dup_str(name)))
                return sim_err_set(err, SIM_ENOMEM, "out of memory reading a manifest");
        }
    }
    return SIM_OK;
}

int manifest_read_scaledobject(const struct ynode *root, const char *ctx, struct keda_config *out,
                               struct sim_err *err)
{
    return manifest_read_scaledobject_ig(root, ctx, out, NULL, err);
}

int manifest_read_scaledobject_ig(const struct ynode *root, const char *ctx,
                                  struct keda_config *out, struct ignored_fields *ig,
                                  struct sim_err *err)
{
    keda_config_init(out);
    int rc = read_so(root, ctx, out, ig, err);
    if (rc) {
        keda_config_release(out);
        keda_config_init(out);
    }
    return rc;
}

/* ---- HorizontalPodAutoscaler ---------------------------------------------------------- */

/* pathvalidation.IsValidPathSegmentName */
static bool path_segment_ok(const char *s)
{
    return strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/') && !strchr(s, '%');
}

/* MetricIdentifier {name, selector}: the text "name{k=\"v\",...}" */
static int read_metric_id(const struct ynode *n, const char *key, struct pos_text *out,
                          struct sim_err *err)
{
    static const char *const keys[] = {"name", "selector", NULL};
    int rc = read_map(n, key, keys, err);
    if (rc)
        return rc;
    const char *name;
    char k[KEY_MAX];
    if ((rc = read_str(n, key, "name", true, &name, err)))
        return rc;
    const struct ynode *nn = child(n, "name");
    join(k, key, "name");
    if (!path_segment_ok(name))
        return fail(err, nn, "'%s' may not be '.' or '..' or contain '/' or '%%', got '%s'", k,
                    name);
    char text[1024];
    size_t len = (size_t)snprintf(text, sizeof text, "%s", name);
    const struct ynode *sel = child(n, "selector");
    if (sel) {
        char sk[KEY_MAX];
        join(sk, key, "selector");
        static const char *const skeys[] = {"matchLabels", "matchExpressions", NULL};
        if ((rc = read_map(sel, sk, skeys, err)))
            return rc;
        const struct ynode *me = child(sel, "matchExpressions");
        if (me) {
            join(k, sk, "matchExpressions");
            return fail(err, me,
                        "'%s' is not supported by llmcap: select series with 'matchLabels'", k);
        }
        const struct ynode *ml = child(sel, "matchLabels");
        if (ml) {
            join(k, sk, "matchLabels");
            if (ml->kind != YNODE_MAP)
                return fail(err, ml, "expected a map for '%s', found %s", k, ynode_kind_name(ml));
            for (size_t i = 0; i < ml->n && len < sizeof text; i++) {
                const char *v;
                char vk[KEY_MAX];
                join(vk, k, ml->keys[i]->value);
                if ((rc = ynode_as_string(ml->items[i], vk, &v, err)))
                    return rc;
                len += (size_t)snprintf(text + len, sizeof text - len, "%s%s=\"", i ? "," : "{",
                                        ml->keys[i]->value);
                for (const char *p = v; *p && len + 3 < sizeof text; p++) {
                    if (*p == '"' || *p == '\\')
                        text[len++] = '\\';
                    text[len++] = *p;
                }
                if (len + 1 < sizeof text)
                    text[len++] = '"';
                text[len < sizeof text ? len : sizeof text - 1] = '\0';
            }
            if (ml->n && len + 1 < sizeof text) {
                text[len++] = '}';
                text[len] = '\0';
            }
        }
    }
    if (len >= sizeof text - 1)
        return fail(err, nn, "the selector of '%s' is too long (at most %zu characters)", key,
                    sizeof text - 2);
    return set_pos_text(out, text, nn, err);
}

/* MetricTarget: type and the one value it names. */
static int read_target(const struct ynode *n, const char *key, bool pods_only,
                       struct hpa_metric_spec *m, struct sim_err *err)
{
    static const char *const keys[] = {"type", "value", "averageValue", "averageUtilization", NULL};
    int rc = read_map(n, key, keys, err);
    if (rc)
        return rc;
    const struct ynode *t;
    if ((rc = need(n, key, "type", &t, err)))
        return rc;
    char k[KEY_MAX];
    join(k, key, "type");
    static const char *const types[] = {"Utilization", "Value", "AverageValue", NULL};
    int which;
    if ((rc = ynode_as_enum(t, k, types, &which, err)))
        return rc;
    if (which == 0)
        return fail(err, t,
                    "'%s' 'Utilization' is only for Resource metrics (CPU, memory), which llmcap "
                    "does not simulate",
                    k);
    if (pods_only && which == 1)
        return fail(err, t, "'%s' must be 'AverageValue' for a Pods metric, got 'Value'", k);
    const char *field = which == 1 ? "value" : "averageValue";
    const char *other = which == 1 ? "averageValue" : "value";
    const struct ynode *o = child(n, other);
    if (o) {
        char ok[KEY_MAX];
        join(ok, key, other);
        return fail(err, o, "'%s' does not go with 'type: %s' (set '%s')", ok, types[which], field);
    }
    const struct ynode *u = child(n, "averageUtilization");
    if (u) {
        char uk[KEY_MAX];
        join(uk, key, "averageUtilization");
        return fail(err, u, "'%s' is only for Resource metrics, which llmcap does not simulate",
                    uk);
    }
    const struct ynode *v = child(n, field);
    join(k, key, field);
    if (!v)
        return fail(err, n, "'%s' is required when 'type' is '%s'", k, types[which]);
    double a;
    if ((rc = read_quantity(v, k, &m->target_milli, &a, err)))
        return rc;
    if (m->target_milli <= 0)
        return fail(err, v, "'%s' must be positive, got '%s'", k, v->value);
    m->target_type = which == 1 ? HPA_TARGET_VALUE : HPA_TARGET_AVERAGE_VALUE;
    return SIM_OK;
}

/* A CrossVersionObjectReference (apiVersion, kind and name; kind and name required). */
static int read_object_ref(const struct ynode *n, const char *key, struct sim_err *err)
{
    static const char *const keys[] = {"apiVersion", "kind", "name", NULL};
    const char *s;
    int rc;
    if ((rc = read_map(n, key, keys, err)) || (rc = read_str(n, key, "kind", true, &s, err)) ||
        (rc = read_str(n, key, "name", true, &s, err)) ||
        (rc = read_str(n, key, "apiVersion", false, &s, err)))
        return rc;
    return SIM_OK;
}

static int read_hpa_metric(const struct ynode *n, const char *key, struct hpa_metric_spec *m,
                           struct sim_err *err)
{
    static const char *const keys[] = {"type",     "external",          "pods", "object",
                                       "resource", "containerResource", NULL};
    int rc = read_map(n, key, keys, err);
    if (rc)
        return rc;
    const struct ynode *t;
    if ((rc = need(n, key, "type", &t, err)))
        return rc;
    char k[KEY_MAX];
    join(k, key, "type");
    static const char *const types[] = {"External",          "Pods", "Object", "Resource",
                                        "ContainerResource", NULL};
    static const char *const fields[] = {"external", "pods", "object", "resource",
                                         "containerResource"};
    int which;
    if ((rc = ynode_as_enum(t, k, types, &which, err)))
        return rc;
    /* "must populate the given metric source only" */
    for (int i = 0; i < 5; i++) {
        const struct ynode *f = child(n, fields[i]);
        if (f && i != which) {
            join(k, key, fields[i]);
            return fail(err, ynode_key(n, fields[i]), "'%s' does not go with 'type: %s'", k,
                        types[which]);
        }
    }
    if (which >= 3)
        return fail(err, t,
                    "'%s' '%s' (CPU or memory) is not simulated by llmcap: use a Pods or "
                    "External metric on a Prometheus series (e.g. DCGM_FI_DEV_GPU_UTIL or "
                    "vllm:num_requests_waiting)",
                    k, types[which]);
    const struct ynode *src;
    if ((rc = need(n, key, fields[which], &src, err)))
        return rc;
    char sk[KEY_MAX];
    join(sk, key, fields[which]);
    static const char *const ext_keys[] = {"metric", "target", NULL};
    static const char *const obj_keys[] = {"describedObject", "metric", "target", NULL};
    if ((rc = read_map(src, sk, which == 2 ? obj_keys : ext_keys, err)))
        return rc;
    m->source = which == 0 ? HPA_SOURCE_EXTERNAL : which == 1 ? HPA_SOURCE_PODS : HPA_SOURCE_OBJECT;
    if (which == 2) {
        const struct ynode *d;
        if ((rc = need(src, sk, "describedObject", &d, err)))
            return rc;
        join(k, sk, "describedObject");
        if ((rc = read_object_ref(d, k, err)))
            return rc;
    }
    const struct ynode *mid, *tg;
    if ((rc = need(src, sk, "metric", &mid, err)) || (rc = need(src, sk, "target", &tg, err)))
        return rc;
    char tk[KEY_MAX];
    join(tk, sk, "target");
    if ((rc = read_target(tg, tk, which == 1, m, err)))
        return rc;
    join(k, sk, "metric");
    return read_metric_id(mid, k, &m->query, err);
}

static int read_hpa(const struct ynode *root, const char *ctx, struct hpa_config *c,
                    struct ignored_fields *ig, struct sim_err *err)
{
    static const char *const top_keys[] = {"apiVersion", "kind",   "metadata",
                                           "spec",       "status", NULL};
    int rc = read_map(root, ctx, top_keys, err);
    if (rc)
        return rc;
    if ((rc = check_api(root, ctx, "autoscaling/v2", "HorizontalPodAutoscaler",
                        "a HorizontalPodAutoscaler", err)))
        return rc;
    const struct ynode *annots;
    if ((rc = read_metadata(root, ctx, &annots, ig, err)) ||
        (rc = ignored_map(root, ctx, "status", err)))
        return rc;
    if (child(root, "status"))
        ignored_add(ig, ctx, "status");
    const struct ynode *spec;
    if ((rc = need(root, ctx, "spec", &spec, err)))
        return rc;
    char sk[KEY_MAX], k[KEY_MAX];
    join(sk, ctx, "spec");
    static const char *const spec_keys[] = {"scaleTargetRef", "minReplicas", "maxReplicas",
                                            "metrics",        "behavior",    NULL};
    if ((rc = read_map(spec, sk, spec_keys, err)))
        return rc;
    const struct ynode *ref;
    if ((rc = need(spec, sk, "scaleTargetRef", &ref, err)))
        return rc;
    join(k, sk, "scaleTargetRef");
    if ((rc = read_object_ref(ref, k, err)))
        return rc;
    ignored_add(ig, k, ""); /* the target is the scenario's fleet */

    const struct ynode *mn = child(spec, "minReplicas");
    if (mn) {
        join(k, sk, "minReplicas");
        if (mn->kind == YNODE_SCALAR && mn->value && !mn->quoted && !strcmp(mn->value, "0"))
            return fail(err, mn,
                        "'%s' must be >= 1 (replicas), got '0' (0 needs the alpha HPAScaleToZero "
                        "feature gate, which llmcap does not model: use a KEDA ScaledObject with "
                        "minReplicaCount 0)",
                        k);
    }
    bool has;
    if ((rc = read_i32(spec, sk, "minReplicas", 1, "replicas", &has, &c->min_replicas, err)))
        return rc;
    const struct ynode *mx;
    if ((rc = need(spec, sk, "maxReplicas", &mx, err)) ||
        (rc = read_i32(spec, sk, "maxReplicas", 1, "replicas", NULL, &c->max_replicas, err)))
        return rc;
    if (c->max_replicas < c->min_replicas) {
        char mk[KEY_MAX];
        join(k, sk, "maxReplicas");
        join(mk, sk, "minReplicas");
        return fail(err, mx, "'%s' (%" PRId32 ") must be >= '%s' (%" PRId32 ")", k, c->max_replicas,
                    mk, c->min_replicas);
    }
    const struct ynode *ms = child(spec, "metrics");
    join(k, sk, "metrics");
    if (ms && ms->kind != YNODE_SEQ)
        return fail(err, ms, "expected a sequence for '%s', found %s", k, ynode_kind_name(ms));
    if (!ms || ms->n == 0)
        return fail(err, ms ? ms : spec,
                    "'%s' is empty: Kubernetes then scales on 80%% CPU utilization, which llmcap "
                    "does not simulate (add a Pods or External metric)",
                    k);
    if (ms->n > HPA_MAX_METRICS)
        return fail(err, ms->items[HPA_MAX_METRICS], "'%s' holds more than %d metrics", k,
                    HPA_MAX_METRICS);
    for (size_t i = 0; i < ms->n; i++) {
        char mk[KEY_MAX];
        join_index(mk, sk, "metrics", i);
        c->n_metrics = i + 1;
        if ((rc = read_hpa_metric(ms->items[i], mk, &c->metrics[i], err)))
            return rc;
    }
    return read_behavior(spec, sk, &c->has_behavior, &c->behavior, err);
}

int manifest_read_hpa(const struct ynode *root, const char *ctx, struct hpa_config *out,
                      struct sim_err *err)
{
    return manifest_read_hpa_ig(root, ctx, out, NULL, err);
}

int manifest_read_hpa_ig(const struct ynode *root, const char *ctx, struct hpa_config *out,
                         struct ignored_fields *ig, struct sim_err *err)
{
    hpa_config_init(out);
    int rc = read_hpa(root, ctx, out, ig, err);
    if (rc) {
        hpa_config_release(out);
        hpa_config_init(out);
    }
    return rc;
}

/* ---- files ------------------------------------------------------------------------------ */

static int load(const char *path, bool so, void *out, struct sim_err *err)
{
    struct ydoc *doc = ydoc_load_file(path, err);
    if (!doc)
        return err->code ? err->code : SIM_EIO;
    const struct ynode *root = ydoc_root(doc);
    int rc =
        so ? manifest_read_scaledobject(root, "", out, err) : manifest_read_hpa(root, "", out, err);
    ydoc_free(doc);
    return rc;
}

int manifest_load_scaledobject(const char *path, struct keda_config *out, struct sim_err *err)
{
    keda_config_init(out);
    return load(path, true, out, err);
}

int manifest_load_hpa(const char *path, struct hpa_config *out, struct sim_err *err)
{
    hpa_config_init(out);
    return load(path, false, out, err);
}
