/*
 * nodepool.c: strict readers for the scenario's `cluster:` section (cloud, zones, a
 * pasted Karpenter NodePool or AKS node pools and autoscaler profile, start-up latencies,
 * spot, insufficient capacity, PodDisruptionBudget), resolved against the catalog.
 */
#include "sim/config/nodepool.h"
#include "sim/config/schedcfg.h"

#include <ctype.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "models/catalog.h"
#include "sim/config/scenario.h"
#include "sim/config/ynode.h"

#define KEY_MAX 256

/* ---- reading context ---------------------------------------------------------------- */

struct rd {
    const struct scenario *sc;
    const struct catalog *cat;
    struct nodepool_cfg *cfg;
    struct sim_err *err;
    struct np_karpenter *kp; /* the NodePool being read */
    const struct scenario *const *deps; /* every deployment on the cluster (sc is deps[0], or
                                           the one whose pods are being read) */
    int32_t n_deps;
};

/* `at`, or without it a node standing for the scenario file (no line): errors name at
 * least the file. */
static const struct ynode *fail_node(const struct rd *r, const struct ynode *at,
                                     struct ynode *file_only)
{
    if (at)
        return at;
    *file_only = (struct ynode){.kind = YNODE_SCALAR, .file = r->sc->path};
    return file_only;
}

/* An error at `at` (sim/config/ynode.h, with the analyzer's return model). */
#define fail(r, at, ...)                                                                   \
    ynode_fail_at((r)->err, SIM_EINVAL, fail_node((r), (at), &(struct ynode){0}), __VA_ARGS__)

/* "a" + "." + "b" into out[n], cut to fit (keys are far shorter than the buffers). */
#define join(out, n, a, b) ynode_join_key((out), (n), (a), (b))

static void join_index(char *out, size_t n, const char *a, size_t i)
{
    char idx[24];
    int w = snprintf(idx, sizeof idx, "%zu", i);
    (void)w;
    join(out, n, a, idx);
}

/* The value of `name` in `map` (NULL when absent, or when `map` is NULL), with its dotted
 * key in `key`. */
static const struct ynode *field(const struct ynode *map, const char *ctx, const char *name,
                                 char *key)
{
    join(key, KEY_MAX, ctx, name);
    return map ? ynode_get(map, name) : NULL;
}

static int need(const struct rd *r, const struct ynode *map, const char *ctx, const char *name)
{
    if (ynode_get(map, name))
        return SIM_OK;
    char key[KEY_MAX];
    join(key, sizeof key, ctx, name);
    return fail(r, map, "'%s' is required", key);
}

static int as_string(const struct rd *r, const struct ynode *n, const char *key, const char **out)
{
    return ynode_as_string(n, key, out, r->err);
}

/* A scalar's text whether quoted or not: Kubernetes and AKS write numbers as strings. */
static int scalar_text(const struct rd *r, const struct ynode *n, const char *key, const char **out)
{
    if (!n || n->kind != YNODE_SCALAR || ynode_is_null(n))
        return fail(r, n, "expected a scalar for '%s', found %s", key, ynode_kind_name(n));
    *out = n->value;
    return SIM_OK;
}

static int num_text(const struct rd *r, const struct ynode *n, const char *key, double min, double max,
                    const char *unit, double *out)
{
    const char *t = NULL;
    int rc = scalar_text(r, n, key, &t);
    if (rc)
        return rc;
    char *end;
    double v = strtod(t, &end);
    if (!t[0] || *end || !isfinite(v))
        return fail(r, n, "'%s' must be a number%s%s, got '%s'", key, unit ? " " : "",
                    unit ? unit : "", t);
    if (v < min || v > max) {
        if (isinf(max))
            return fail(r, n, "'%s' must be >= %g%s%s%s, got '%s'", key, min, unit ? " (" : "",
                        unit ? unit : "", unit ? ")" : "", t);
        return fail(r, n, "'%s' must be in [%g, %g]%s%s%s, got '%s'", key, min, max,
                    unit ? " (" : "", unit ? unit : "", unit ? ")" : "", t);
    }
    *out = v;
    return SIM_OK;
}

static int int_text(const struct rd *r, const struct ynode *n, const char *key, long min, long max,
                    const char *unit, int32_t *out)
{
    const char *t = NULL;
    int rc = scalar_text(r, n, key, &t);
    if (rc)
        return rc;
    char *end;
    long v = strtol(t, &end, 10);
    if (!t[0] || *end)
        return fail(r, n, "'%s' must be an integer, got '%s'", key, t);
    if (v < min || v > max)
        return fail(r, n, "'%s' must be in [%ld, %ld]%s%s%s, got '%s'", key, min, max,
                    unit ? " (" : "", unit ? unit : "", unit ? ")" : "", t);
    *out = (int32_t)v;
    return SIM_OK;
}

static int bool_text(const struct rd *r, const struct ynode *n, const char *key, bool *out)
{
    const char *t = NULL;
    int rc = scalar_text(r, n, key, &t);
    if (rc)
        return rc;
    if (!strcmp(t, "true") || !strcmp(t, "True")) {
        *out = true;
        return SIM_OK;
    }
    if (!strcmp(t, "false") || !strcmp(t, "False")) {
        *out = false;
        return SIM_OK;
    }
    return fail(r, n, "'%s' must be true or false, got '%s'", key, t);
}

static int dur(const struct rd *r, const struct ynode *n, const char *key, int64_t min_us,
               int64_t *out)
{
    return ynode_as_duration_us(n, key, min_us, INT64_MAX, 0, out, r->err);
}

/* The keys of a pasted object (kubectl get -o yaml, az ... show -o yaml|json): `modelled`
 * are read by the caller; `ignored` are what the API server or the cloud prints that
 * cannot change the simulation, accepted and recorded in cfg->ignored. A key in neither
 * list is accepted and recorded when its value is null (az prints every field of its
 * schema, most of them null, and newer az versions add fields), else it is an unknown
 * key (did-you-mean). Duplicate keys are errors. */
static int pasted_keys(const struct rd *r, const struct ynode *map, const char *ctx,
                       const char *const *modelled, const char *const *ignored)
{
    enum { CAP = 512 };
    const char *allowed[CAP];
    size_t n = 0;
    for (size_t i = 0; modelled[i] && n + 1 < CAP; i++)
        allowed[n++] = modelled[i];
    for (size_t i = 0; ignored && ignored[i] && n + 1 < CAP; i++)
        allowed[n++] = ignored[i];
    size_t n_known = n;
    for (size_t i = 0; map && map->kind == YNODE_MAP && i < map->n && n + 1 < CAP; i++)
        if (map->items[i]->kind == YNODE_SCALAR && ynode_is_null(map->items[i]))
            allowed[n++] = map->keys[i]->value;
    allowed[n] = NULL;
    int rc = ynode_check_keys(map, ctx, allowed, r->err);
    if (rc || !map)
        return rc;
    for (size_t i = 0; i < map->n; i++) {
        const char *k = map->keys[i]->value;
        bool is_modelled = false;
        for (size_t j = 0; modelled[j] && !is_modelled; j++)
            is_modelled = !strcmp(modelled[j], k);
        if (is_modelled)
            continue;
        bool known = false;
        for (size_t j = 0; j < n_known && !known; j++)
            known = !strcmp(allowed[j], k);
        /* a null the caller knows is a default: nothing to record */
        if (!known || !(map->items[i]->kind == YNODE_SCALAR && ynode_is_null(map->items[i])))
            ignored_add(&r->cfg->ignored, ctx, k);
    }
    return SIM_OK;
}

/* A map entry that is present and not null (az prints absent settings as null). */
static const struct ynode *present(const struct ynode *map, const char *ctx, const char *name,
                                   char *key)
{
    const struct ynode *n = field(map, ctx, name, key);
    return n && !(n->kind == YNODE_SCALAR && ynode_is_null(n)) ? n : NULL;
}

/* Every key of `map` (metadata, a status block) as ignored fields. */
static void ignore_all(const struct rd *r, const struct ynode *map, const char *ctx)
{
    if (!map || map->kind != YNODE_MAP) {
        if (map && !ynode_is_null(map))
            ignored_add(&r->cfg->ignored, ctx, "");
        return;
    }
    for (size_t i = 0; i < map->n; i++)
        ignored_add(&r->cfg->ignored, ctx, map->keys[i]->value);
}

/* A pasted object or {file: path} loaded next to the scenario (--set paths are relative
 * to the current directory; an include a --set reached into is already expanded). */
static int kube_obj(const struct rd *r, const struct ynode *n, const char *key,
                    const struct ynode **out)
{
    if (n->kind != YNODE_MAP)
        return fail(r, n, "expected a map for '%s', found %s", key, ynode_kind_name(n));
    if (n->n != 1 || strcmp(n->keys[0]->value, "file")) {
        *out = n;
        return SIM_OK;
    }
    struct ynode *root = NULL;
    int rc = scenario_include(r->sc, n->items[0], key, &root, r->err);
    *out = root;
    return rc;
}

/* A latency: a duration (a constant) or {median, p95} (lognormal). */
static int rd_dist(const struct rd *r, const struct ynode *map, const char *ctx, const char *name,
                   struct np_dist *out)
{
    char key[KEY_MAX];
    const struct ynode *n = field(map, ctx, name, key);
    if (!n)
        return SIM_OK;
    if (n->kind == YNODE_SCALAR) {
        int64_t v;
        int rc = dur(r, n, key, 0, &v);
        if (rc)
            return rc;
        out->median_us = out->p95_us = v;
        return SIM_OK;
    }
    static const char *const keys[] = {"median", "p95", NULL};
    int rc = ynode_check_keys(n, key, keys, r->err);
    if (rc || (rc = need(r, n, key, "median")) || (rc = need(r, n, key, "p95")))
        return rc;
    char k1[KEY_MAX], k2[KEY_MAX];
    int64_t med, p95;
    const struct ynode *nm = field(n, key, "median", k1), *np = field(n, key, "p95", k2);
    if ((rc = dur(r, nm, k1, 0, &med)) || (rc = dur(r, np, k2, 0, &p95)))
        return rc;
    if (p95 < med) {
        char a[32], b[32];
        return fail(r, np, "'%s' (%s) must be >= '%s' (%s)", k2, format_duration_us(p95, a, 32),
                    k1, format_duration_us(med, b, 32));
    }
    if (med == 0 && p95 > 0)
        return fail(r, nm, "'%s' must be > 0 when 'p95' is > 0 (a lognormal needs a median)",
                    k1);
    out->median_us = med;
    out->p95_us = p95;
    return SIM_OK;
}

/* ---- small parsers -------------------------------------------------------------------- */

int np_parse_quantity(const char *text, double *out)
{
    static const struct {
        const char *suffix;
        double mult;
    } suf[] = {{"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0},
               {"Ti", 1099511627776.0}, {"Pi", 1125899906842624.0},
               {"Ei", 1152921504606846976.0}, {"n", 1e-9}, {"u", 1e-6}, {"m", 1e-3},
               {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18},
               {"", 1.0}};
    if (!text || !text[0] || isspace((unsigned char)text[0]))
        return SIM_EINVAL;
    char *end;
    double v = strtod(text, &end);
    if (end == text || !isfinite(v) || v < 0)
        return SIM_EINVAL;
    for (size_t i = 0; i < sizeof suf / sizeof suf[0]; i++)
        if (!strcmp(end, suf[i].suffix)) {
            *out = v * suf[i].mult;
            return SIM_OK;
        }
    return SIM_EINVAL;
}

const char *np_capacity_name(int capacity)
{
    return capacity == NP_SPOT ? "spot" : "on-demand";
}

double np_advisor_band_rate(enum np_cloud cloud, const char *band)
{
    static const struct {
        const char *name;
        double mid;
    } bands[] = {{"<5%", 0.025}, {"5-10%", 0.075}, {"10-15%", 0.125}, {"15-20%", 0.175},
                 {">20%", 0.25}};
    for (size_t i = 0; i < sizeof bands / sizeof bands[0]; i++)
        if (!strcmp(band, bands[i].name)) {
            double per_period = -log1p(-bands[i].mid);
            /* AWS: share of instances interrupted over the trailing month (730 h);
             * Azure: chance of eviction within the next hour. */
            return cloud == NP_AWS ? per_period / 730.0 : per_period;
        }
    return -1.0;
}

/* IntOrString: an integer, or "N%" (a percentage). */
static int int_or_percent(const struct rd *r, const struct ynode *n, const char *key, double *value,
                          bool *percent)
{
    const char *t = NULL;
    int rc = scalar_text(r, n, key, &t);
    if (rc)
        return rc;
    size_t len = strlen(t);
    char *end;
    if (len > 1 && t[len - 1] == '%') {
        long v = strtol(t, &end, 10);
        if (end != t + len - 1 || v < 0 || v > 100)
            return fail(r, n, "'%s' must be an integer >= 0 or a percentage in [0%%, 100%%], "
                              "got '%s'",
                        key, t);
        *value = (double)v;
        *percent = true;
        return SIM_OK;
    }
    long v = strtol(t, &end, 10);
    if (!t[0] || *end || v < 0)
        return fail(r, n, "'%s' must be an integer >= 0 or a percentage in [0%%, 100%%], got '%s'",
                    key, t);
    *value = (double)v;
    *percent = false;
    return SIM_OK;
}

/* ---- catalog types ------------------------------------------------------------------- */

static const char *cloud_name(enum np_cloud c)
{
    return c == NP_AWS ? "aws" : "azure";
}

/* ---- allocatable (np_allocatable in nodepool.h) -------------------------------------- */

#define MIB 1048576LL

/* kubeReservedResources' cpu (karpenter-provider-aws types.go): per range, truncated. */
static int64_t aws_reserved_cpu_m(int64_t cpu_m)
{
    static const struct {
        int64_t start, end;
        double pct;
    } rg[] = {{0, 1000, 0.06}, {1000, 2000, 0.01}, {2000, 4000, 0.005}, {4000, 1LL << 31, 0.0025}};
    int64_t sum = 0;
    for (size_t i = 0; i < sizeof rg / sizeof rg[0]; i++)
        if (cpu_m >= rg[i].start) {
            int64_t span = cpu_m < rg[i].end ? cpu_m - rg[i].start : rg[i].end - rg[i].start;
            sum += (int64_t)((double)span * rg[i].pct);
        }
    return sum;
}

/* AKS kube-reserved cpu: 60m, 100m, 140m at 1, 2, 4 cores, 180m at 8 ... 740m at 64 (the
 * published table; linear between its points and beyond 64 with its slope). */
static int64_t aks_reserved_cpu_m(double cores)
{
    if (cores <= 1)
        return 60;
    if (cores <= 2)
        return 60 + (int64_t)llround(40 * (cores - 1));
    if (cores <= 4)
        return 100 + (int64_t)llround(20 * (cores - 2));
    return 140 + (int64_t)llround(10 * (cores - 4));
}

static void type_allocatable(enum np_cloud cloud, const struct cat_instance *ci,
                             int32_t max_pods, int64_t *cpu_m, int64_t *memory)
{
    int64_t cap_cpu = (int64_t)llround(ci->vcpu * 1000);
    bool mem_known = !isnan(ci->memory_gib) && ci->memory_gib > 0;
    int64_t cap_mib = mem_known ? (int64_t)llround(ci->memory_gib * 1024) : 0;
    if (cloud == NP_AWS) {
        *cpu_m = !isnan(ci->allocatable_cpu_m) ? (int64_t)llround(ci->allocatable_cpu_m)
                                              : cap_cpu - aws_reserved_cpu_m(cap_cpu);
        if (!isnan(ci->allocatable_memory_mib))
            *memory = (int64_t)llround(ci->allocatable_memory_mib) * MIB;
        else if (mem_known)
            *memory = (cap_mib - (int64_t)ceil((double)cap_mib * 0.075) - (11 * 110 + 255) - 100) *
                      MIB;
        else
            *memory = 0;
    } else {
        *cpu_m = cap_cpu - aks_reserved_cpu_m(ci->vcpu);
        int64_t kube = 20LL * max_pods + 50, quarter = cap_mib / 4;
        *memory = mem_known ? (cap_mib - (kube < quarter ? kube : quarter) - 100) * MIB : 0;
    }
    if (*cpu_m < 0)
        *cpu_m = 0;
    if (*memory < 0)
        *memory = 0;
}

void np_allocatable(const struct nodepool_cfg *cfg, int32_t type, int32_t pool, int64_t *cpu_m,
                    int64_t *memory)
{
    const struct np_type *ty = &cfg->types[type];
    if (cfg->kind == NP_AKS && pool >= 0 && cfg->aks.pools[pool].max_pods != NP_AKS_DEFAULT_MAX_PODS) {
        type_allocatable(cfg->cloud, ty->inst, cfg->aks.pools[pool].max_pods, cpu_m, memory);
        return;
    }
    *cpu_m = ty->alloc_cpu_m;
    *memory = ty->alloc_memory;
}

void np_instance_allocatable(const struct cat_instance *ci, int32_t max_pods, int64_t *cpu_m,
                             int64_t *memory, int32_t *pods)
{
    bool aws = strcmp(ci->cloud, "azure") != 0;
    *pods = max_pods > 0 ? max_pods : aws ? NP_AWS_DEFAULT_MAX_PODS : NP_AKS_DEFAULT_MAX_PODS;
    type_allocatable(aws ? NP_AWS : NP_AZURE, ci, *pods, cpu_m, memory); /* AWS: 110 */
}

/* The index of `inst` in cfg->types, adding it; -1 when full. */
static int32_t type_add(struct nodepool_cfg *cfg, const struct cat_instance *inst)
{
    for (int32_t i = 0; i < cfg->n_types; i++)
        if (cfg->types[i].inst == inst)
            return i;
    if (cfg->n_types == NP_MAX_TYPES)
        return -1;
    int32_t t = cfg->n_types++;
    struct np_type *ty = &cfg->types[t];
    ty->inst = inst;
    ty->gpus = inst->n_gpus;
    ty->vcpu = inst->vcpu;
    ty->memory_gib = inst->memory_gib;
    type_allocatable(cfg->cloud, inst, NP_AKS_DEFAULT_MAX_PODS, &ty->alloc_cpu_m, &ty->alloc_memory);
    ty->od_usd_per_hour = inst->on_demand_usd_per_hour;
    ty->allowed = true;
    for (int32_t z = 0; z < NP_MAX_ZONES; z++)
        cfg->spot_price[t][z] = NAN;
    for (int32_t z = 0; z < cfg->n_zones; z++)
        for (size_t k = 0; k < inst->n_spot_zones; k++)
            /* Azure spot is priced per region (the catalog's zone is the region): every
             * zone of the region takes that price. */
            if (!strcmp(inst->spot_zones[k].zone, cfg->zones[z]) ||
                (cfg->cloud == NP_AZURE && !strcmp(inst->spot_zones[k].zone, cfg->region)))
                cfg->spot_price[t][z] = inst->spot_zones[k].usd_per_hour;
    return t;
}

/* Does the instance run the engine's replicas (its GPU, at least tensor_parallel_size)? */
static bool fits_engine(const struct scenario *sc, const struct cat_instance *ci)
{
    if (ci->n_gpus < sc->engine.tensor_parallel_size)
        return false;
    return !sc->engine.gpu[0] || !strcasecmp(ci->gpu, sc->engine.gpu);
}

/* Does the instance run some deployment's replicas? */
static bool fits_any(const struct rd *r, const struct cat_instance *ci)
{
    for (int32_t k = 0; k < r->n_deps; k++)
        if (fits_engine(r->deps[k], ci))
            return true;
    return false;
}

static bool in_region(const struct nodepool_cfg *cfg, const struct cat_instance *ci)
{
    return !strcmp(ci->cloud, cloud_name(cfg->cloud)) && !strcmp(ci->on_demand_region, cfg->region);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* ---- cloud, region, zones ------------------------------------------------------------ */

static const char *const cluster_keys[] = {"cloud",    "region", "zones",
                                           "karpenter", "aks",    "spot",
                                           "insufficient_capacity", "podDisruptionBudget",
                                           "start_time", "gpu_sharing", "scheduler", "zone_ids",
                                           "daemonset_requests", NULL};

/* cluster.start_time: the UTC date and time of the run's t = 0 (for budget schedules). */
static int read_start(const struct rd *r, const struct ynode *cl)
{
    r->cfg->start_s = -1;
    const struct ynode *n = ynode_get(cl, "start_time");
    if (!n)
        return SIM_OK;
    const char *text = NULL;
    int rc = as_string(r, n, "cluster.start_time", &text);
    if (rc)
        return rc;
    if (cron_parse_utc(text, &r->cfg->start_s))
        return fail(r, n,
                    "'cluster.start_time' must be a UTC time like 2026-03-02T08:00:00Z, got '%s'",
                    text);
    return SIM_OK;
}

static int read_cloud(const struct rd *r, const struct ynode *cl)
{
    struct nodepool_cfg *cfg = r->cfg;
    char key[KEY_MAX];
    static const char *const clouds[] = {"aws", "azure", NULL};
    const struct ynode *n = field(cl, "cluster", "cloud", key);
    int rc, c = 0;
    if (!n)
        return fail(r, cl, "'cluster.cloud' is required with a node provisioner (aws or azure)");
    if ((rc = ynode_as_enum(n, key, clouds, &c, r->err)))
        return rc;
    cfg->cloud = (enum np_cloud)c;
    /* The region: the catalog's price region for the cloud unless given. */
    const struct ynode *rg = field(cl, "cluster", "region", key);
    size_t n_inst = catalog_n_instances(r->cat);
    if (rg) {
        const char *v;
        if ((rc = as_string(r, rg, key, &v)))
            return rc;
        if (!v[0] || strlen(v) >= sizeof cfg->region)
            return fail(r, rg, "'%s' must be a region name of 1 to %zu characters, got '%s'", key,
                        sizeof cfg->region - 1, v);
        snprintf(cfg->region, sizeof cfg->region, "%s", v);
    }
    char seen[64] = "";
    for (size_t i = 0; i < n_inst; i++) {
        const struct cat_instance *ci = catalog_instance_at(r->cat, i);
        if (strcmp(ci->cloud, cloud_name(cfg->cloud)))
            continue;
        if (!cfg->region[0])
            snprintf(cfg->region, sizeof cfg->region, "%s", ci->on_demand_region);
        if (!strcmp(ci->on_demand_region, cfg->region))
            return SIM_OK;
        snprintf(seen, sizeof seen, "%s", ci->on_demand_region);
    }
    if (!cfg->region[0])
        return fail(r, n, "the catalog has no %s instance types", cloud_name(cfg->cloud));
    return fail(r, rg, "the catalog prices %s instances in '%s', not '%s': add instance types "
                       "for '%s' in a catalog file of your own ('model.catalog')",
                cloud_name(cfg->cloud), seen, cfg->region, cfg->region);
}

/* ---- AWS zone names and zone IDs ---------------------------------------------------------
 * The catalog, and llmcap inside, name AWS zones by zone ID (use1-az4): IDs are the same in
 * every account, names (us-east-1a) map to IDs differently per account (AWS, "Availability
 * Zone IDs for your AWS resources"). cluster.zone_ids gives the account's mapping, as a map
 * {us-east-1a: use1-az4, ...} or as `aws ec2 describe-availability-zones` prints it. */

#define ZONE_IDS_HOWTO                                                                      \
    "give the account's mapping as 'cluster.zone_ids: {file: azs.json}' saved from "       \
    "'aws ec2 describe-availability-zones --region %s --output json', or as a map "        \
    "{us-east-1a: use1-az4, ...}"

/* A zone name of `region`: the region followed by a letter (us-east-1a), or a Local Zone
 * name (us-east-1-bos-1a). */
static bool aws_zone_name(const char *v, const char *region)
{
    size_t n = strlen(region);
    if (!n || strncmp(v, region, n))
        return false;
    size_t l = strlen(v);
    return l > n && islower((unsigned char)v[l - 1]) && (l == n + 1 || v[n] == '-');
}

static int zone_map_add(const struct rd *r, const struct ynode *at, const char *key,
                        const char *name, const char *id)
{
    struct nodepool_cfg *cfg = r->cfg;
    if (!name[0] || strlen(name) >= sizeof cfg->zone_map[0].name || !id[0] ||
        strlen(id) >= sizeof cfg->zone_map[0].id)
        return fail(r, at, "'%s' must map a zone name to a zone ID of 1 to %zu characters", key,
                    sizeof cfg->zone_map[0].id - 1);
    if (aws_zone_name(id, cfg->region))
        return fail(r, at, "'%s' maps '%s' to '%s', a zone name; expected a zone ID like "
                           "'use1-az4' (the ZoneId of describe-availability-zones)",
                    key, name, id);
    for (int32_t i = 0; i < cfg->n_zone_map; i++)
        if (!strcmp(cfg->zone_map[i].name, name))
            return fail(r, at, "zone name '%s' is mapped twice in '%s'", name, key);
    if (cfg->n_zone_map == NP_MAX_ZONE_MAP)
        return fail(r, at, "'%s' maps more than %d zones", key, NP_MAX_ZONE_MAP);
    struct np_zone_id *e = &cfg->zone_map[cfg->n_zone_map++];
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->id, sizeof e->id, "%s", id);
    return SIM_OK;
}

/* The AvailabilityZones list of describe-availability-zones (AWS CLI reference,
 * ec2/describe-availability-zones: ZoneName, ZoneId, RegionName, State, ...). */
static int read_describe_azs(const struct rd *r, const struct ynode *azs, const char *key)
{
    if (azs->kind != YNODE_SEQ)
        return fail(r, azs, "expected the sequence describe-availability-zones prints for '%s', "
                            "found %s",
                    key, ynode_kind_name(azs));
    for (size_t i = 0; i < azs->n; i++) {
        char ik[KEY_MAX], k1[KEY_MAX], k2[KEY_MAX], k3[KEY_MAX];
        join_index(ik, sizeof ik, key, i);
        const struct ynode *z = azs->items[i];
        if (z->kind != YNODE_MAP)
            return fail(r, z, "expected a zone map (ZoneName, ZoneId, ...) for '%s', found %s",
                        ik, ynode_kind_name(z));
        int rc;
        if ((rc = need(r, z, ik, "ZoneName")) || (rc = need(r, z, ik, "ZoneId")))
            return rc;
        const char *name, *id, *rg = NULL;
        const struct ynode *nn = field(z, ik, "ZoneName", k1), *in = field(z, ik, "ZoneId", k2);
        const struct ynode *rn = field(z, ik, "RegionName", k3);
        if ((rc = as_string(r, nn, k1, &name)) || (rc = as_string(r, in, k2, &id)) ||
            (rn && (rc = as_string(r, rn, k3, &rg))))
            return rc;
        if (rg && strcmp(rg, r->cfg->region))
            return fail(r, rn, "'%s' is '%s', but the cluster's region is '%s'", k3, rg,
                        r->cfg->region);
        if ((rc = zone_map_add(r, nn, ik, name, id)))
            return rc;
    }
    return SIM_OK;
}

static int read_zone_ids(const struct rd *r, const struct ynode *cl)
{
    char key[KEY_MAX];
    const struct ynode *n = field(cl, "cluster", "zone_ids", key), *obj = NULL;
    if (!n)
        return SIM_OK;
    if (r->cfg->cloud != NP_AWS)
        return fail(r, n, "'%s' is for AWS (zone names -> zone IDs); Azure zones are given as "
                          "'1', '2', '3' or 'eastus-1'",
                    key);
    int rc = kube_obj(r, n, key, &obj);
    if (rc)
        return rc;
    if (obj->kind != YNODE_MAP || obj->n == 0)
        return fail(r, obj, "expected for '%s' a map of zone names to zone IDs or the output of "
                            "'aws ec2 describe-availability-zones', found %s",
                    key, ynode_kind_name(obj));
    const struct ynode *azs = ynode_get(obj, "AvailabilityZones");
    if (azs) {
        char ak[KEY_MAX];
        join(ak, sizeof ak, key, "AvailabilityZones");
        return read_describe_azs(r, azs, ak);
    }
    for (size_t i = 0; i < obj->n; i++) {
        char ik[KEY_MAX];
        join(ik, sizeof ik, key, obj->keys[i]->value);
        if (obj->items[i]->kind != YNODE_SCALAR)
            return fail(r, obj->items[i], "expected a zone ID for '%s' (a map of zone names to "
                                          "zone IDs, or describe-availability-zones output with "
                                          "'AvailabilityZones'), found %s",
                        ik, ynode_kind_name(obj->items[i]));
        if ((rc = zone_map_add(r, obj->keys[i], ik, obj->keys[i]->value,
                               obj->items[i]->value)))
            return rc;
    }
    return SIM_OK;
}

static const char *zone_map_id(const struct nodepool_cfg *cfg, const char *name)
{
    for (int32_t i = 0; i < cfg->n_zone_map; i++)
        if (!strcmp(cfg->zone_map[i].name, name))
            return cfg->zone_map[i].id;
    return NULL;
}

/* v as a zone ID: itself, or its ID in cluster.zone_ids when `names` allows zone names;
 * an AWS zone name without a mapping is an error saying how to get one. */
static int zone_id_of(const struct rd *r, const struct ynode *at, const char *key, const char *v,
                      bool names, const char **out)
{
    const struct nodepool_cfg *cfg = r->cfg;
    *out = v;
    if (cfg->cloud != NP_AWS || !aws_zone_name(v, cfg->region))
        return SIM_OK;
    if (!names)
        return fail(r, at, "'%s' in '%s' is a zone name; this key takes zone IDs (use1-az4); "
                           "put zone names under 'topology.kubernetes.io/zone'",
                    v, key);
    const char *id = zone_map_id(cfg, v);
    if (id) {
        *out = id;
        return SIM_OK;
    }
    if (cfg->n_zone_map)
        return fail(r, at, "zone name '%s' in '%s' is not in 'cluster.zone_ids'", v, key);
    return fail(r, at, "'%s' in '%s' is an AWS zone name; llmcap names zones by zone ID, and "
                       "names map to IDs differently in each account: " ZONE_IDS_HOWTO,
                v, key, cfg->region);
}

/* ---- Azure zones --------------------------------------------------------------------------
 * AKS labels a zonal node's topology.kubernetes.io/zone "<region>-<n>" (eastus-1) and a
 * regional (non-zonal) one's "0"; az prints a zone as its number ("1"). Karpenter on Azure
 * (Azure/karpenter-provider-azure v1.14.2, pkg/utils/zones/zones.go
 * MakeAKSLabelZoneFromARMZone, Regional; pkg/providers/instancetype/instancetypes.go
 * instanceTypeZones) offers each SKU in "<region>-<n>" for each zone the SKU has in the
 * region and in "0" for every SKU, and labels the node with its offering's zone. */
#define AZ_REGIONAL "0"
#define AZ_FORMS "an Azure zone as az prints it ('1', '2', '3'), its label form '%s-1', or '0'"

/* v ("2" as az prints it, or "eastus-2") as the zone label "<region>-2" in out (n bytes);
 * false when v is neither or the label would not fit. */
static bool azure_zone_label(const struct nodepool_cfg *cfg, const char *v, char *out, size_t n)
{
    size_t rl = strlen(cfg->region);
    const char *num = !strncmp(v, cfg->region, rl) && v[rl] == '-' ? v + rl + 1 : v;
    if (strlen(num) != 1 || num[0] < '1' || num[0] > '9' || rl + 3 > n)
        return false;
    memcpy(out, cfg->region, rl);
    out[rl] = '-';
    out[rl + 1] = num[0];
    out[rl + 2] = '\0';
    return true;
}

/* cluster.zones. Karpenter on Azure: zone labels, the zonal ones ("1" or "eastus-1";
 * default the region's three, 1 to 3) in order and then "0", which every SKU is offered
 * in; a launch prefers zonal at an equal price (allocationstrategy/stages/
 * offering_rank.go: zonal before regional), so "0" comes last. */
static int read_zones(const struct rd *r, const struct ynode *cl)
{
    struct nodepool_cfg *cfg = r->cfg;
    char key[KEY_MAX], lbl[sizeof cfg->zones[0]];
    const struct ynode *n = field(cl, "cluster", "zones", key);
    bool kaz = cfg->cloud == NP_AZURE && cfg->kind == NP_KARPENTER;
    int32_t max = kaz ? NP_MAX_ZONES - 1 : NP_MAX_ZONES; /* Azure: room for "0" */
    int rc;
    if (cfg->cloud == NP_AZURE && !kaz && n)
        return fail(r, n, "'%s' is not read with AKS node pools: a pool's zones are its "
                          "'availabilityZones' ('1', '2', '3' as az prints them)",
                    key);
    if (n) {
        if (n->kind != YNODE_SEQ || n->n == 0)
            return fail(r, n, "expected a non-empty sequence of zone %s for '%s'",
                        kaz ? "numbers ('1', '2', '3' as az prints them)" : "names", key);
        if (n->n > (size_t)max)
            return fail(r, n->items[max], "'%s' lists more than %d zones", key, max);
        for (size_t i = 0; i < n->n; i++) {
            char ik[KEY_MAX];
            join_index(ik, sizeof ik, key, i);
            const char *v;
            if ((rc = as_string(r, n->items[i], ik, &v)))
                return rc;
            if (kaz && !strcmp(v, AZ_REGIONAL))
                continue; /* always offered */
            if (kaz && !azure_zone_label(cfg, v, lbl, sizeof lbl))
                return fail(r, n->items[i], "'%s' must be " AZ_FORMS " (regional), got '%s'",
                            ik, cfg->region, v);
            if (kaz)
                v = lbl;
            else if (!v[0] || strlen(v) >= sizeof cfg->zones[0])
                return fail(r, n->items[i], "'%s' must be a zone name of 1 to %zu characters",
                            ik, sizeof cfg->zones[0] - 1);
            else if ((rc = zone_id_of(r, n->items[i], ik, v, true, &v)))
                return rc;
            for (int32_t z = 0; z < cfg->n_zones; z++)
                if (!strcmp(cfg->zones[z], v))
                    return fail(r, n->items[i], "zone '%s' is listed twice in '%s'", v, key);
            snprintf(cfg->zones[cfg->n_zones++], sizeof cfg->zones[0], "%s", v);
        }
        if (!kaz)
            return SIM_OK;
        qsort(cfg->zones, (size_t)cfg->n_zones, sizeof cfg->zones[0], cmp_str);
    } else if (kaz) {
        for (int d = 1; d <= 3; d++) {
            const char num[2] = {(char)('0' + d), '\0'};
            if (!azure_zone_label(cfg, num, cfg->zones[cfg->n_zones], sizeof cfg->zones[0]))
                return fail(r, ynode_get(cl, "region"),
                            "region '%s' is too long for its zone labels", cfg->region);
            cfg->n_zones++;
        }
    }
    if (kaz) {
        snprintf(cfg->zones[cfg->n_zones++], sizeof cfg->zones[0], "%s", AZ_REGIONAL);
        return SIM_OK;
    }
    /* The zones the catalog has spot prices for, without Local Zones. */
    size_t n_inst = catalog_n_instances(r->cat);
    for (size_t i = 0; i < n_inst; i++) {
        const struct cat_instance *ci = catalog_instance_at(r->cat, i);
        if (!in_region(cfg, ci))
            continue;
        for (size_t k = 0; k < ci->n_spot_zones; k++) {
            const struct cat_spot_zone *sz = &ci->spot_zones[k];
            bool dup = false;
            for (int32_t z = 0; z < cfg->n_zones && !dup; z++)
                dup = !strcmp(cfg->zones[z], sz->zone);
            if (dup || sz->local_zone || cfg->n_zones == NP_MAX_ZONES)
                continue;
            snprintf(cfg->zones[cfg->n_zones++], sizeof cfg->zones[0], "%s", sz->zone);
        }
    }
    if (cfg->n_zones == 0)
        snprintf(cfg->zones[cfg->n_zones++], sizeof cfg->zones[0], "%s", cfg->region);
    qsort(cfg->zones, (size_t)cfg->n_zones, sizeof cfg->zones[0], cmp_str);
    return SIM_OK;
}

/* The zone name of each cluster zone ID, where cluster.zone_ids gives one. */
static void name_zones(struct nodepool_cfg *cfg)
{
    for (int32_t z = 0; z < cfg->n_zones; z++) {
        cfg->zone_names[z][0] = '\0';
        for (int32_t i = 0; i < cfg->n_zone_map; i++)
            if (!strcmp(cfg->zone_map[i].id, cfg->zones[z])) {
                snprintf(cfg->zone_names[z], sizeof cfg->zone_names[z], "%s",
                         cfg->zone_map[i].name);
                break;
            }
    }
}

static int32_t zone_index(const struct nodepool_cfg *cfg, const char *name)
{
    for (int32_t z = 0; z < cfg->n_zones; z++)
        if (!strcmp(cfg->zones[z], name))
            return z;
    return -1;
}

static void zone_list(const struct nodepool_cfg *cfg, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int32_t z = 0; z < cfg->n_zones && used < n; z++) {
        int w = snprintf(buf + used, n - used, "%s%s", z ? ", " : "", cfg->zones[z]);
        if (w < 0)
            return;
        used += (size_t)w;
    }
}

/* ---- Karpenter NodePool requirements --------------------------------------------------- */

enum lbl { L_NONE, L_STR, L_NUM };

/* The value of well-known label `key` on instance `ci` (L_NONE: the type lacks it). */
static enum lbl type_label(const struct catalog *cat, const struct cat_instance *ci,
                           const char *key, char *s, size_t n, double *v)
{
    const char *dot = strchr(ci->id, '.');
    char family[32] = "";
    if (dot)
        snprintf(family, sizeof family, "%.*s", (int)(dot - ci->id), ci->id);
    if (!strcmp(key, "node.kubernetes.io/instance-type") ||
        !strcmp(key, "karpenter.azure.com/sku-name")) {
        snprintf(s, n, "%s", ci->id);
        return L_STR;
    }
    if (!strcmp(key, "kubernetes.io/arch")) {
        snprintf(s, n, "amd64");
        return L_STR;
    }
    if (!strcmp(key, "kubernetes.io/os")) {
        snprintf(s, n, "linux");
        return L_STR;
    }
    if (!strcmp(key, "topology.kubernetes.io/region")) {
        snprintf(s, n, "%s", ci->on_demand_region);
        return L_STR;
    }
    if (!strcmp(key, "karpenter.k8s.aws/instance-family")) {
        snprintf(s, n, "%s", family);
        return family[0] ? L_STR : L_NONE;
    }
    if (!strcmp(key, "karpenter.k8s.aws/instance-category")) {
        size_t k = 0;
        while (family[k] && isalpha((unsigned char)family[k]))
            k++;
        snprintf(s, n, "%.*s", (int)k, family);
        return k ? L_STR : L_NONE;
    }
    if (!strcmp(key, "karpenter.k8s.aws/instance-generation")) {
        size_t k = 0;
        while (family[k] && isalpha((unsigned char)family[k]))
            k++;
        if (!isdigit((unsigned char)family[k]))
            return L_NONE;
        *v = strtod(family + k, NULL);
        return L_NUM;
    }
    if (!strcmp(key, "karpenter.k8s.aws/instance-size")) {
        if (!dot)
            return L_NONE;
        snprintf(s, n, "%s", dot + 1);
        return L_STR;
    }
    if (!strcmp(key, "karpenter.k8s.aws/instance-cpu") ||
        !strcmp(key, "karpenter.azure.com/sku-cpu")) {
        *v = ci->vcpu;
        return L_NUM;
    }
    if (!strcmp(key, "karpenter.k8s.aws/instance-memory") ||
        !strcmp(key, "karpenter.azure.com/sku-memory")) {
        if (isnan(ci->memory_gib))
            return L_NONE;
        *v = ci->memory_gib * 1024.0;
        return L_NUM;
    }
    if (!strcmp(key, "karpenter.k8s.aws/instance-local-nvme")) {
        if (isnan(ci->local_nvme_gb))
            return L_NONE;
        *v = ci->local_nvme_gb;
        return L_NUM;
    }
    if (ci->n_gpus <= 0)
        return L_NONE;
    if (!strcmp(key, "karpenter.k8s.aws/instance-gpu-count") ||
        !strcmp(key, "karpenter.azure.com/sku-gpu-count")) {
        *v = ci->n_gpus;
        return L_NUM;
    }
    if (!strcmp(key, "karpenter.k8s.aws/instance-gpu-name") ||
        !strcmp(key, "karpenter.azure.com/sku-gpu-name")) {
        /* The provider's short name: "h100", "a100", "l40s", "a10g". */
        const char *dash = strchr(ci->gpu, '-');
        snprintf(s, n, "%.*s", dash ? (int)(dash - ci->gpu) : (int)strlen(ci->gpu), ci->gpu);
        for (char *p = s; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        return L_STR;
    }
    if (!strcmp(key, "karpenter.k8s.aws/instance-gpu-manufacturer") ||
        !strcmp(key, "karpenter.azure.com/sku-gpu-manufacturer")) {
        snprintf(s, n, "nvidia");
        return L_STR;
    }
    if (!strcmp(key, "karpenter.k8s.aws/instance-gpu-memory")) {
        double mib = ci->gpu_memory_mib_k8s;
        if (isnan(mib)) {
            const struct cat_gpu *g = catalog_gpu(cat, ci->gpu, NULL);
            mib = g ? g->memory_bytes / 1048576.0 : NAN;
        }
        if (isnan(mib))
            return L_NONE;
        *v = mib;
        return L_NUM;
    }
    return L_NONE;
}

/* Requirement keys llmcap evaluates (instance labels and offering labels). */
static const char *const aws_keys[] = {"node.kubernetes.io/instance-type",
                                       "karpenter.sh/capacity-type",
                                       "topology.kubernetes.io/zone",
                                       "topology.k8s.aws/zone-id",
                                       "topology.kubernetes.io/region",
                                       "kubernetes.io/arch",
                                       "kubernetes.io/os",
                                       "karpenter.k8s.aws/instance-family",
                                       "karpenter.k8s.aws/instance-category",
                                       "karpenter.k8s.aws/instance-generation",
                                       "karpenter.k8s.aws/instance-size",
                                       "karpenter.k8s.aws/instance-cpu",
                                       "karpenter.k8s.aws/instance-memory",
                                       "karpenter.k8s.aws/instance-local-nvme",
                                       "karpenter.k8s.aws/instance-gpu-count",
                                       "karpenter.k8s.aws/instance-gpu-name",
                                       "karpenter.k8s.aws/instance-gpu-manufacturer",
                                       "karpenter.k8s.aws/instance-gpu-memory",
                                       NULL};
/* Keys real NodePools carry that do not change which GPU type is chosen here. */
static const char *const ignored_keys[] = {
    "karpenter.k8s.aws/instance-hypervisor", "karpenter.k8s.aws/instance-network-bandwidth",
    "karpenter.k8s.aws/instance-ebs-bandwidth",
    "karpenter.k8s.aws/instance-encryption-in-transit-supported", NULL};
static const char *const azure_keys[] = {"node.kubernetes.io/instance-type",
                                         "karpenter.sh/capacity-type",
                                         "topology.kubernetes.io/zone",
                                         "topology.kubernetes.io/region",
                                         "kubernetes.io/arch",
                                         "kubernetes.io/os",
                                         "karpenter.azure.com/sku-name",
                                         "karpenter.azure.com/sku-cpu",
                                         "karpenter.azure.com/sku-memory",
                                         "karpenter.azure.com/sku-gpu-count",
                                         "karpenter.azure.com/sku-gpu-name",
                                         "karpenter.azure.com/sku-gpu-manufacturer",
                                         "karpenter.azure.com/placement-scope",
                                         NULL};
static const char *const well_known_domains[] = {"karpenter.sh/", "karpenter.k8s.aws/",
                                                 "karpenter.azure.com/", "kubernetes.io/",
                                                 "node.kubernetes.io/", "topology.kubernetes.io/",
                                                 "topology.k8s.aws/", NULL};

static bool in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (!strcmp(s, list[i]))
            return true;
    return false;
}

/* ---- node labels and taints (the kube-scheduler's view of a node) ------------------------ */

static int add_label(struct sched_label *out, int k, const char *key, const char *value)
{
    if (k < NP_MAX_NODE_LABELS && value)
        out[k++] = (struct sched_label){key, value};
    return k;
}

int np_node_labels(const struct nodepool_cfg *cfg, const struct catalog *cat, int32_t type,
                   int32_t zone, int cap, int32_t pool, int32_t az, struct sched_label *out,
                   char *buf, size_t n)
{
    const struct cat_instance *ci = cfg->types[type].inst;
    const char *zn = cfg->n_zones ? cfg->zones[zone] : NULL;
    /* topology.kubernetes.io/zone carries the zone name, topology.k8s.aws/zone-id the ID
     * (as the AWS cloud provider labels nodes); without cluster.zone_ids both the ID. */
    const char *zname = zn && cfg->zone_names[zone][0] ? cfg->zone_names[zone] : zn;
    if (cfg->kind == NP_AKS) {
        /* AKS labels a zonal pool's node with "<region>-<zone>" and a regional pool's with
         * "0" (learn.microsoft.com/azure/aks/availability-zones, "Verify node distribution
         * across zones": eastus2-1 ...; the cluster autoscaler's template node,
         * cloudprovider/azure/azure_template.go buildGenericLabels: region-zone, else "0").
         * The catalog prices Azure per region (zn), which stays the nodes table's zone. */
        const struct np_aks_pool *p = &cfg->aks.pools[pool];
        zname = p->n_az ? p->az[az >= 0 && az < p->n_az ? az : 0] : "0";
    }
    int k = 0;
    k = add_label(out, k, "node.kubernetes.io/instance-type", ci->id);
    k = add_label(out, k, "topology.kubernetes.io/zone", zname);
    k = add_label(out, k, "topology.kubernetes.io/region", cfg->region);
    k = add_label(out, k, "kubernetes.io/arch", "amd64");
    k = add_label(out, k, "kubernetes.io/os", "linux");
    const struct sched_label *user;
    int n_user;
    if (cfg->kind == NP_KARPENTER) {
        /* Karpenter's well-known labels (karpenter.sh) and the provider's instance labels
         * (karpenter.k8s.aws/..., karpenter.azure.com/...), as read_requirement knows them. */
        const struct np_karpenter *kp = &cfg->kp[pool];
        k = add_label(out, k, "karpenter.sh/nodepool", kp->name);
        k = add_label(out, k, "karpenter.sh/capacity-type", np_capacity_name(cap));
        if (cfg->cloud == NP_AWS)
            k = add_label(out, k, "topology.k8s.aws/zone-id", zn);
        else if (zn)
            k = add_label(out, k, "karpenter.azure.com/placement-scope",
                          strcmp(zn, AZ_REGIONAL) ? "zonal" : "regional");
        const char *const *keys = cfg->cloud == NP_AWS ? aws_keys : azure_keys;
        size_t used = 0;
        for (size_t i = 0; keys[i]; i++) {
            if (!strncmp(keys[i], "karpenter.sh/", 13) || !strncmp(keys[i], "topology.", 9) ||
                !strncmp(keys[i], "kubernetes.io/", 14) || !strncmp(keys[i], "node.", 5))
                continue;
            char sv[128];
            double v = 0;
            enum lbl kind = type_label(cat, ci, keys[i], sv, sizeof sv, &v);
            if (kind == L_NONE || used >= n)
                continue;
            int w = kind == L_NUM ? snprintf(buf + used, n - used, "%.15g", v)
                                  : snprintf(buf + used, n - used, "%s", sv);
            if (w < 0 || (size_t)w >= n - used)
                continue;
            k = add_label(out, k, keys[i], buf + used);
            used += (size_t)w + 1;
        }
        user = kp->labels;
        n_user = kp->n_labels;
    } else {
        /* AKS's node labels (learn.microsoft.com/azure/aks/use-labels): the agent pool, its
         * mode, spot priority. */
        const struct np_aks_pool *p = &cfg->aks.pools[pool];
        k = add_label(out, k, "kubernetes.azure.com/agentpool", p->name);
        k = add_label(out, k, "agentpool", p->name);
        k = add_label(out, k, "kubernetes.azure.com/mode", "user");
        if (p->spot)
            k = add_label(out, k, "kubernetes.azure.com/scalesetpriority", "spot");
        user = p->labels;
        n_user = p->n_labels;
    }
    for (int i = 0; i < n_user; i++) {
        /* A user label replaces a well-known one of the same key. */
        int j = 0;
        while (j < k && strcmp(out[j].key, user[i].key))
            j++;
        if (j < k)
            out[j].value = user[i].value;
        else
            k = add_label(out, k, user[i].key, user[i].value);
    }
    return k;
}

const struct sched_taint *np_node_taints(const struct nodepool_cfg *cfg, int32_t pool, int *n)
{
    if (cfg->kind == NP_KARPENTER) {
        *n = cfg->kp[pool].n_taints;
        return cfg->kp[pool].taints;
    }
    if (cfg->kind == NP_AKS) {
        *n = cfg->aks.pools[pool].n_taints;
        return cfg->aks.pools[pool].taints;
    }
    *n = 0;
    return NULL;
}

enum op { OP_IN, OP_NOT_IN, OP_EXISTS, OP_DOES_NOT_EXIST, OP_GT, OP_LT };
static const char *const op_names[] = {"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt",
                                       NULL};

/* An offering label every offering carries, whose value is (`listed`) or is not among the
 * requirement's values: In keeps it when listed, NotIn when not, Exists always;
 * DoesNotExist, Gt and Lt never (the value is no number). */
static bool op_keeps(enum op op, bool listed)
{
    return op == OP_IN ? listed : op == OP_NOT_IN ? !listed : op == OP_EXISTS;
}

/* The requirement's values `vn` (nv of them, at `vk`) as flags over `names` (a `what`
 * each): allow[k] when names[k] is among them. `skip` (or NULL) is a known value that
 * selects none; any other value is an error with a did-you-mean. */
static int value_set(const struct rd *r, const struct ynode *vn, size_t nv, const char *vk,
                     const char *what, const char *const *names, const char *skip, bool *allow)
{
    for (size_t k = 0; names[k]; k++)
        allow[k] = false;
    for (size_t i = 0; i < nv; i++) {
        const char *t = vn->items[i]->value;
        if (skip && !strcmp(t, skip))
            continue;
        int found = -1;
        for (int k = 0; names[k]; k++)
            if (!strcmp(t, names[k]))
                found = k;
        if (found < 0) {
            const char *dym = did_you_mean(t, names);
            return fail(r, vn->items[i], "unknown %s '%s' in '%s'%s%s%s", what, t, vk,
                        dym ? " (did you mean '" : "", dym ? dym : "", dym ? "'?)" : "");
        }
        allow[found] = true;
    }
    return SIM_OK;
}

static bool op_matches(enum op op, enum lbl kind, const char *s, double v,
                       const struct ynode *values, double bound)
{
    switch (op) {
    case OP_EXISTS:
        return kind != L_NONE;
    case OP_DOES_NOT_EXIST:
        return kind == L_NONE;
    case OP_GT:
        return kind == L_NUM && v > bound;
    case OP_LT:
        return kind == L_NUM && v < bound;
    case OP_IN:
    case OP_NOT_IN: {
        bool found = false;
        char num[32];
        if (kind == L_NUM)
            snprintf(num, sizeof num, "%.15g", v);
        for (size_t i = 0; kind != L_NONE && i < values->n && !found; i++)
            found = !strcmp(values->items[i]->value, kind == L_NUM ? num : s);
        return op == OP_IN ? found : !found;
    }
    }
    return false;
}

static int read_requirement(const struct rd *r, const struct ynode *req, const char *ctx)
{
    struct nodepool_cfg *cfg = r->cfg;
    static const char *const keys[] = {"key", "operator", "values", "minValues", NULL};
    int rc = ynode_check_keys(req, ctx, keys, r->err);
    if (rc || (rc = need(r, req, ctx, "key")) || (rc = need(r, req, ctx, "operator")))
        return rc;
    char kk[KEY_MAX], ok[KEY_MAX], vk[KEY_MAX];
    const struct ynode *kn = field(req, ctx, "key", kk);
    const struct ynode *on = field(req, ctx, "operator", ok);
    const struct ynode *vn = field(req, ctx, "values", vk);
    const char *key;
    int op = 0;
    if ((rc = as_string(r, kn, kk, &key)) || (rc = ynode_as_enum(on, ok, op_names, &op, r->err)))
        return rc;
    if (vn && vn->kind != YNODE_SEQ)
        return fail(r, vn, "expected a sequence for '%s', found %s", vk, ynode_kind_name(vn));
    size_t nv = vn ? vn->n : 0;
    for (size_t i = 0; i < nv; i++) {
        char ik[KEY_MAX];
        join_index(ik, sizeof ik, vk, i);
        const char *t = NULL;
        if ((rc = scalar_text(r, vn->items[i], ik, &t)))
            return rc;
    }
    double bound = 0;
    if ((op == OP_IN || op == OP_NOT_IN) && nv == 0)
        return fail(r, vn ? vn : req, "'%s' needs at least one value with operator '%s'", vk,
                    op_names[op]);
    if ((op == OP_EXISTS || op == OP_DOES_NOT_EXIST) && nv)
        return fail(r, vn, "'%s' must be empty with operator '%s'", vk, op_names[op]);
    if (op == OP_GT || op == OP_LT) {
        char *end;
        if (nv != 1)
            return fail(r, vn ? vn : req, "'%s' needs exactly one integer with operator '%s'", vk,
                        op_names[op]);
        const char *t = vn->items[0]->value;
        long b = strtol(t, &end, 10);
        if (!t[0] || *end)
            return fail(r, vn->items[0], "'%s.0' must be an integer with operator '%s', got '%s'",
                        vk, op_names[op], t);
        bound = (double)b;
    }
    const char *const *known = cfg->cloud == NP_AWS ? aws_keys : azure_keys;
    bool is_known = in_list(key, known);
    if (!is_known) {
        if (in_list(key, ignored_keys))
            return SIM_OK;
        bool well_known = false;
        for (size_t i = 0; well_known_domains[i] && !well_known; i++)
            well_known = !strncmp(key, well_known_domains[i], strlen(well_known_domains[i]));
        if (!well_known)
            return SIM_OK; /* a label of the user's own: it never restricts the type */
        const char *dym = did_you_mean(key, known);
        if (dym)
            return fail(r, kn, "requirement key '%s' is not modelled for %s (did you mean '%s'?)",
                        key, cloud_name(cfg->cloud), dym);
        return fail(r, kn, "requirement key '%s' is not modelled for %s; llmcap reads: %s, %s, %s "
                           "and the instance labels in docs/nodes.md",
                    key, cloud_name(cfg->cloud), known[0], known[1], known[2]);
    }
    struct np_karpenter *kp = r->kp;
    if (!strcmp(key, "karpenter.sh/capacity-type")) {
        /* "reserved": capacity reservations are not modelled, never available */
        static const char *const cts[] = {"on-demand", "spot", NULL};
        bool allow[2];
        rc = value_set(r, vn, nv, vk, "capacity type", cts, "reserved", allow);
        for (int ct = 0; ct < 2 && !rc; ct++)
            kp->capacity[ct] = kp->capacity[ct] && op_keeps(op, allow[ct]);
        return rc;
    }
    if (!strcmp(key, "topology.kubernetes.io/zone") || !strcmp(key, "topology.k8s.aws/zone-id")) {
        bool listed[NP_MAX_ZONES] = {false};
        const struct ynode *unmatched = NULL; /* Azure: the first value no zone carries */
        for (size_t i = 0; i < nv && (op == OP_IN || op == OP_NOT_IN); i++) {
            const char *v = vn->items[i]->value, *id;
            int zrc = zone_id_of(r, vn->items[i], vk, v,
                                 !strcmp(key, "topology.kubernetes.io/zone"), &id);
            if (zrc)
                return zrc;
            int32_t z = zone_index(cfg, id);
            if (z < 0 && cfg->cloud == NP_AZURE) {
                /* Karpenter accepts any value here (no WellKnownValuesForRequirements for
                 * the zone key, sigs.k8s.io/karpenter v1 labels.go) and a value no offering
                 * carries matches nothing: 'eastus' (the region) or '1' (az's form) among
                 * them. Recorded; refused below if it leaves the NodePool no zone. */
                char note[IGNORED_PATH_MAX];
                snprintf(note, sizeof note, "%zu ('%s' matches no zone)", i, v);
                ignored_add(&cfg->ignored, vk, note);
                unmatched = unmatched ? unmatched : vn->items[i];
                continue;
            }
            if (z < 0) {
                char zl[512], via[80] = "";
                zone_list(cfg, zl, sizeof zl);
                if (id != v)
                    snprintf(via, sizeof via, " ('%s' in 'cluster.zone_ids')", id);
                return fail(r, vn->items[i],
                            "unknown zone '%s'%s in '%s': the cluster's zones are %s%s", v, via,
                            vk, zl,
                            cfg->cloud == NP_AWS ? " (AWS zone IDs, as the catalog's spot prices "
                                                   "are; zone names differ per account)"
                                                 : "");
            }
            listed[z] = true;
        }
        bool any = false;
        for (int32_t z = 0; z < cfg->n_zones; z++) {
            kp->zone_ok[z] = kp->zone_ok[z] && op_keeps(op, listed[z]);
            any = any || kp->zone_ok[z];
        }
        if (!any && unmatched) {
            char zl[512];
            zone_list(cfg, zl, sizeof zl);
            return fail(r, unmatched,
                        "'%s' in '%s' matches none of the cluster's zones (%s) and leaves the "
                        "NodePool no zone to launch in: AKS labels a node's "
                        "topology.kubernetes.io/zone '<region>-<n>' ('%s-1') or '0' for a "
                        "regional one",
                        unmatched->value, vk, zl, cfg->region);
        }
        return SIM_OK;
    }
    if (!strcmp(key, "karpenter.azure.com/placement-scope")) {
        /* zonal: the "<region>-<n>" zones, regional: "0" (v1beta1 labels.go registers
         * exactly these two values, so another one is refused). */
        static const char *const scopes[] = {"zonal", "regional", NULL};
        bool allow[2];
        rc = value_set(r, vn, nv, vk, "placement scope", scopes, NULL, allow);
        for (int32_t z = 0; z < cfg->n_zones && !rc; z++)
            kp->zone_ok[z] = kp->zone_ok[z] &&
                             op_keeps(op, allow[strcmp(cfg->zones[z], AZ_REGIONAL) ? 0 : 1]);
        return rc;
    }
    if (!strcmp(key, "node.kubernetes.io/instance-type") ||
        !strcmp(key, "karpenter.azure.com/sku-name")) {
        /* Every named type must be a catalog type of this cloud. */
        for (size_t i = 0; i < nv; i++) {
            const char *t = vn->items[i]->value;
            struct sim_err e2 = {0};
            const struct cat_instance *ci = catalog_instance(r->cat, t, &e2);
            if (!ci)
                return fail(r, vn->items[i], "%s", e2.msg);
            if (strcmp(ci->cloud, cloud_name(cfg->cloud)))
                return fail(r, vn->items[i], "instance type '%s' is a %s type, not %s", t,
                            ci->cloud, cloud_name(cfg->cloud));
        }
    }
    /* An instance label: it restricts the types. Values compare case-sensitively, as
     * Kubernetes does, except instance types, which the catalog looks up ignoring case. */
    for (int32_t t = 0; t < cfg->n_types; t++) {
        struct np_type *ty = &cfg->types[t];
        char s[128];
        double v = 0;
        enum lbl kind = type_label(r->cat, ty->inst, key, s, sizeof s, &v);
        bool m;
        if (kind == L_STR && !strcmp(key, "node.kubernetes.io/instance-type") &&
            (op == OP_IN || op == OP_NOT_IN)) {
            bool found = false;
            for (size_t i = 0; i < nv && !found; i++)
                found = !strcasecmp(vn->items[i]->value, s);
            m = op == OP_IN ? found : !found;
        } else {
            m = op_matches((enum op)op, kind, s, v, vn ? vn : req, bound);
        }
        ty->allowed = ty->allowed && m;
    }
    return SIM_OK;
}

static void type_names(const struct nodepool_cfg *cfg, bool only_allowed, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int32_t t = 0; t < cfg->n_types && used < n; t++) {
        if (only_allowed && !cfg->types[t].allowed)
            continue;
        int w = snprintf(buf + used, n - used, "%s%s", used ? ", " : "", cfg->types[t].inst->id);
        if (w < 0)
            return;
        used += (size_t)w;
    }
    if (!used)
        snprintf(buf, n, "none");
}

static int read_budgets(const struct rd *r, const struct ynode *n, const char *key)
{
    struct np_karpenter *kp = r->kp;
    if (n->kind != YNODE_SEQ)
        return fail(r, n, "expected a sequence for '%s', found %s", key, ynode_kind_name(n));
    if (n->n > NP_MAX_BUDGETS)
        return fail(r, n->items[NP_MAX_BUDGETS], "'%s' has more than %d budgets", key,
                    NP_MAX_BUDGETS);
    kp->n_budgets = 0;
    static const char *const keys[] = {"nodes", "reasons", "schedule", "duration", NULL};
    static const char *const reasons[] = {"Empty", "Underutilized", "Drifted", NULL};
    for (size_t i = 0; i < n->n; i++) {
        char ctx[KEY_MAX], k[KEY_MAX];
        join_index(ctx, sizeof ctx, key, i);
        const struct ynode *b = n->items[i];
        int rc = ynode_check_keys(b, ctx, keys, r->err);
        if (rc || (rc = need(r, b, ctx, "nodes")))
            return rc;
        struct np_budget *bg = &kp->budgets[kp->n_budgets];
        memset(bg, 0, sizeof *bg);
        const struct ynode *sch = field(b, ctx, "schedule", k);
        if (sch) {
            /* Karpenter: schedule and duration together; the schedule in UTC. */
            if (!ynode_get(b, "duration"))
                return fail(r, ynode_key(b, "schedule"), "'%s' needs a '%s.duration'", k, ctx);
            if (r->cfg->start_s < 0)
                return fail(r, ynode_key(b, "schedule"),
                            "'%s' needs 'cluster.start_time' (the UTC date and time of the "
                            "run's t = 0, e.g. 2026-03-02T08:00:00Z)",
                            k);
            const char *text = NULL;
            char why[160];
            if ((rc = as_string(r, sch, k, &text)))
                return rc;
            if (cron_parse(text, &bg->cron, why, sizeof why))
                return fail(r, sch, "'%s' is not a cron schedule: %s", k, why);
            char dk[KEY_MAX];
            if ((rc = dur(r, field(b, ctx, "duration", dk), dk, 60000000, &bg->duration_us)))
                return rc;
            bg->scheduled = true;
        } else if (ynode_get(b, "duration")) {
            return fail(r, ynode_key(b, "duration"), "'%s.duration' needs a 'schedule'", ctx);
        }
        const struct ynode *nodes = field(b, ctx, "nodes", k);
        if ((rc = int_or_percent(r, nodes, k, &bg->nodes, &bg->percent)))
            return rc;
        bg->reasons = 0;
        const struct ynode *rs = field(b, ctx, "reasons", k);
        if (rs) {
            if (rs->kind != YNODE_SEQ)
                return fail(r, rs, "expected a sequence for '%s', found %s", k,
                            ynode_kind_name(rs));
            for (size_t j = 0; j < rs->n; j++) {
                char rk[KEY_MAX];
                join_index(rk, sizeof rk, k, j);
                int which = 0;
                if ((rc = ynode_as_enum(rs->items[j], rk, reasons, &which, r->err)))
                    return rc;
                bg->reasons |= 1u << which;
            }
        }
        kp->n_budgets++;
    }
    return SIM_OK;
}

/* "Never" or a duration: -1 for Never. */
static int never_or_dur(const struct rd *r, const struct ynode *n, const char *key, int64_t *out)
{
    if (n->kind == YNODE_SCALAR && n->value && !strcmp(n->value, "Never")) {
        *out = -1;
        return SIM_OK;
    }
    return dur(r, n, key, 0, out);
}

static int read_limits(const struct rd *r, const struct ynode *n, const char *key)
{
    struct np_karpenter *kp = r->kp;
    static const char *const keys[] = {"nvidia.com/gpu", "cpu", "memory", NULL};
    int rc = ynode_check_keys(n, key, keys, r->err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n->n; i++) {
        const char *name = n->keys[i]->value;
        char k[KEY_MAX];
        join(k, sizeof k, key, name);
        const char *t = NULL;
        double q;
        if ((rc = scalar_text(r, n->items[i], k, &t)))
            return rc;
        if (np_parse_quantity(t, &q) != SIM_OK)
            return fail(r, n->items[i], "'%s' must be a Kubernetes quantity >= 0 ('16', "
                                        "'1000m', '512Gi'), got '%s'",
                        k, t);
        if (!strcmp(name, "nvidia.com/gpu"))
            kp->limit_gpus = q;
        else if (!strcmp(name, "cpu"))
            kp->limit_cpu = q;
        else
            kp->limit_memory_gib = q / 1073741824.0;
    }
    return SIM_OK;
}

static int read_nodepool(const struct rd *r, const struct ynode *np, const char *ctx)
{
    struct nodepool_cfg *cfg = r->cfg;
    struct np_karpenter *kp = r->kp;
    /* status (conditions, resources, nodeClassObservedGeneration: what the controller
     * saw last) cannot change a simulation that starts from nothing: accepted, ignored. */
    static const char *const top[] = {"apiVersion", "kind", "metadata", "spec", "status", NULL};
    static const char *const spec_keys[] = {"template", "disruption", "limits", "weight", NULL};
    static const char *const tmpl_keys[] = {"metadata", "spec", NULL};
    static const char *const tspec_keys[] = {"requirements", "nodeClassRef", "taints",
                                             "startupTaints", "expireAfter",
                                             "terminationGracePeriod", NULL};
    static const char *const disr_keys[] = {"consolidationPolicy", "consolidateAfter", "budgets",
                                            NULL};
    static const char *const policies[] = {"WhenEmpty", "WhenEmptyOrUnderutilized", NULL};
    char k[KEY_MAX], sk[KEY_MAX], tk[KEY_MAX], tsk[KEY_MAX], dk[KEY_MAX];
    int rc = ynode_check_keys(np, ctx, top, r->err);
    if (rc || (rc = need(r, np, ctx, "apiVersion")) || (rc = need(r, np, ctx, "kind")) ||
        (rc = need(r, np, ctx, "spec")))
        return rc;
    const char *v;
    const struct ynode *status = field(np, ctx, "status", k);
    if (status && status->kind != YNODE_MAP && !ynode_is_null(status))
        return fail(r, status, "expected a map for '%s', found %s", k, ynode_kind_name(status));
    if (status && !ynode_is_null(status))
        ignored_add(&cfg->ignored, k, "");
    const struct ynode *n = field(np, ctx, "apiVersion", k);
    if ((rc = as_string(r, n, k, &v)))
        return rc;
    if (strcmp(v, "karpenter.sh/v1"))
        return fail(r, n, "'%s' must be 'karpenter.sh/v1', got '%s' (llmcap reads the v1 "
                          "NodePool)",
                    k, v);
    n = field(np, ctx, "kind", k);
    if ((rc = as_string(r, n, k, &v)))
        return rc;
    if (strcmp(v, "NodePool"))
        return fail(r, n, "'%s' must be 'NodePool', got '%s'", k, v);
    snprintf(kp->name, sizeof kp->name, "default");
    const struct ynode *md = field(np, ctx, "metadata", k);
    /* uid, resourceVersion, generation, managedFields, labels, annotations
     * (karpenter.sh/nodepool-hash, kubectl's last-applied-configuration): the object's
     * bookkeeping, none of it read by the controllers for scheduling or disruption. */
    if (md && md->kind == YNODE_MAP)
        for (size_t i = 0; i < md->n; i++) {
            const char *mk = md->keys[i]->value;
            if (!strcmp(mk, "annotations")) {
                char ak[KEY_MAX];
                join(ak, sizeof ak, k, mk);
                ignore_all(r, md->items[i], ak);
            } else if (strcmp(mk, "name")) {
                ignored_add(&cfg->ignored, k, mk);
            }
        }
    if (md && md->kind == YNODE_MAP && ynode_get(md, "name")) {
        char nk[KEY_MAX];
        const struct ynode *nn = field(md, k, "name", nk);
        if ((rc = as_string(r, nn, nk, &v)))
            return rc;
        snprintf(kp->name, sizeof kp->name, "%s", v);
    }
    const struct ynode *spec = field(np, ctx, "spec", sk);
    if ((rc = ynode_check_keys(spec, sk, spec_keys, r->err)) ||
        (rc = need(r, spec, sk, "template")))
        return rc;
    const struct ynode *tmpl = field(spec, sk, "template", tk);
    if ((rc = ynode_check_keys(tmpl, tk, tmpl_keys, r->err)) || (rc = need(r, tmpl, tk, "spec")))
        return rc;
    const struct ynode *ts = field(tmpl, tk, "spec", tsk);
    if ((rc = ynode_check_keys(ts, tsk, tspec_keys, r->err)))
        return rc;
    /* The nodes' labels and taints (the kube-scheduler's filters). startupTaints are gone
     * by the time the GPUs are allocatable, so they never keep a pod off a Ready node. */
    const struct ynode *tmd = field(tmpl, tk, "metadata", k);
    if (tmd && tmd->kind == YNODE_MAP) {
        char lk[KEY_MAX];
        if ((rc = schedcfg_labels(field(tmd, k, "labels", lk), lk, kp->labels, NP_MAX_LABELS,
                                  &kp->n_labels, r->err)))
            return rc;
    }
    if ((rc = schedcfg_taints(field(ts, tsk, "taints", k), k, kp->taints, NP_MAX_TAINTS,
                              &kp->n_taints, r->err)))
        return rc;
    /* Karpenter's defaults: on-demand only unless the requirements allow spot (the AWS
     * provider's getCapacityType picks spot only when it is allowed), every zone. */
    kp->capacity[NP_ON_DEMAND] = kp->capacity[NP_SPOT] = true;
    for (int32_t t = 0; t < cfg->n_types; t++)
        cfg->types[t].allowed = true; /* this NodePool's requirements narrow them */
    bool ct_given = false;
    for (int32_t z = 0; z < cfg->n_zones; z++)
        kp->zone_ok[z] = true;
    const struct ynode *reqs = field(ts, tsk, "requirements", k);
    if (reqs) {
        if (reqs->kind != YNODE_SEQ)
            return fail(r, reqs, "expected a sequence for '%s', found %s", k,
                        ynode_kind_name(reqs));
        for (size_t i = 0; i < reqs->n; i++) {
            char ik[KEY_MAX];
            join_index(ik, sizeof ik, k, i);
            if ((rc = read_requirement(r, reqs->items[i], ik)))
                return rc;
            const struct ynode *key = ynode_get(reqs->items[i], "key");
            ct_given =
                ct_given || (key->value && !strcmp(key->value, "karpenter.sh/capacity-type"));
        }
    }
    if (!ct_given)
        kp->capacity[NP_SPOT] = false;
    if (!kp->capacity[NP_ON_DEMAND] && !kp->capacity[NP_SPOT])
        return fail(r, reqs, "'%s' allows no capacity type (spot or on-demand)", k);
    bool any_zone = false;
    for (int32_t z = 0; z < cfg->n_zones; z++)
        any_zone = any_zone || kp->zone_ok[z];
    if (!any_zone)
        return fail(r, reqs, "'%s' allows none of the cluster's zones", k);
    const struct ynode *ea = field(ts, tsk, "expireAfter", k);
    kp->expire_after_us = 720LL * 3600 * 1000000; /* v1 default 720h */
    if (ea && (rc = never_or_dur(r, ea, k, &kp->expire_after_us)))
        return rc;
    if (kp->expire_after_us == 0)
        return fail(r, ea, "'%s' must be > 0 or 'Never'", k);
    /* disruption: v1 defaults WhenEmptyOrUnderutilized, consolidateAfter 0s, nodes 10% */
    kp->policy = NP_WHEN_EMPTY_OR_UNDERUTILIZED;
    kp->consolidate_after_us = 0;
    kp->n_budgets = 1;
    kp->budgets[0] = (struct np_budget){.nodes = 10.0, .percent = true};
    const struct ynode *disr = field(spec, sk, "disruption", dk);
    if (disr) {
        if ((rc = ynode_check_keys(disr, dk, disr_keys, r->err)))
            return rc;
        int pol = (int)kp->policy;
        n = field(disr, dk, "consolidationPolicy", k);
        if (n && (rc = ynode_as_enum(n, k, policies, &pol, r->err)))
            return rc;
        kp->policy = (enum np_consolidation)pol;
        n = field(disr, dk, "consolidateAfter", k);
        if (n && (rc = never_or_dur(r, n, k, &kp->consolidate_after_us)))
            return rc;
        n = field(disr, dk, "budgets", k);
        if (n && (rc = read_budgets(r, n, k)))
            return rc;
    }
    /* spec.template.metadata: labels and annotations every node gets. The annotation
     * karpenter.sh/do-not-disrupt: "true" keeps every node of the pool out of voluntary
     * disruption (Karpenter docs, concepts/disruption.md "Disabling disruption on a
     * NodePool"): no consolidation, which is what consolidateAfter: Never does here
     * (drift is not modelled, expiration is forceful and still applies). */
    field(tmpl, tk, "metadata", k);
    if (tmd && tmd->kind == YNODE_MAP) {
        for (size_t i = 0; i < tmd->n; i++) {
            const char *mk = tmd->keys[i]->value;
            const struct ynode *mv = tmd->items[i];
            char ak[KEY_MAX];
            join(ak, sizeof ak, k, mk);
            if (!strcmp(mk, "labels"))
                continue; /* the nodes' labels: read above for the scheduler */
            if (strcmp(mk, "annotations") || mv->kind != YNODE_MAP) {
                ignored_add(&cfg->ignored, k, mk);
                continue;
            }
            for (size_t j = 0; j < mv->n; j++) {
                const char *an = mv->keys[j]->value;
                if (strcmp(an, "karpenter.sh/do-not-disrupt")) {
                    ignored_add(&cfg->ignored, ak, an);
                    continue;
                }
                char dk2[KEY_MAX];
                join(dk2, sizeof dk2, ak, an);
                const char *dv = NULL;
                if ((rc = scalar_text(r, mv->items[j], dk2, &dv)))
                    return rc;
                if (!strcmp(dv, "true"))
                    kp->consolidate_after_us = -1;
                else
                    ignored_add(&cfg->ignored, ak, an);
            }
        }
    } else if (tmd && !ynode_is_null(tmd)) {
        return fail(r, tmd, "expected a map for '%s', found %s", k, ynode_kind_name(tmd));
    }
    kp->limit_gpus = kp->limit_cpu = kp->limit_memory_gib = INFINITY;
    n = field(spec, sk, "limits", k);
    if (n && (rc = read_limits(r, n, k)))
        return rc;
    if (isfinite(kp->limit_memory_gib))
        for (int32_t t = 0; t < cfg->n_types; t++)
            if (cfg->types[t].allowed && isnan(cfg->types[t].memory_gib))
                return fail(r, ynode_get(n, "memory"),
                            "'%s.memory' needs every allowed type's memory, and the catalog "
                            "does not know %s's",
                            k, cfg->types[t].inst->id);
    n = field(spec, sk, "weight", k);
    kp->weight = 0; /* OrderByWeight reads a missing weight as 0 */
    if (n && (rc = int_text(r, n, k, 1, 100, NULL, &kp->weight)))
        return rc;
    /* What is left must run the replicas. */
    bool any = false;
    kp->types = 0;
    for (int32_t t = 0; t < cfg->n_types; t++) {
        any = any || cfg->types[t].allowed;
        if (cfg->types[t].allowed)
            kp->types |= 1ull << t;
    }
    if (!any) {
        char all[1024];
        type_names(cfg, false, all, sizeof all);
        if (r->n_deps > 1)
            return fail(r, reqs ? reqs : ts,
                        "the NodePool's requirements allow no %s %s instance type that runs "
                        "any deployment's pods (candidates from the catalog: %s)",
                        cloud_name(cfg->cloud), cfg->region, all);
        if (r->sc->engine.gpu[0])
            return fail(r, reqs ? reqs : ts,
                        "the NodePool's requirements allow no %s %s instance type with GPU "
                        "'%s' and at least %d GPU%s (candidates from the catalog: %s)",
                        cloud_name(cfg->cloud), cfg->region, r->sc->engine.gpu,
                        r->sc->engine.tensor_parallel_size,
                        r->sc->engine.tensor_parallel_size == 1 ? "" : "s", all);
        return fail(r, reqs ? reqs : ts,
                    "the NodePool's requirements allow no %s %s instance type with at least %d "
                    "GPU%s (candidates from the catalog: %s)",
                    cloud_name(cfg->cloud), cfg->region, r->sc->engine.tensor_parallel_size,
                    r->sc->engine.tensor_parallel_size == 1 ? "" : "s", all);
    }
    return SIM_OK;
}

/* Node start-up: request_to_launch, `boot_key` (launch to registration),
 * registered_to_ready (driver and device plugin), or `total_key` (one launch-to-ready
 * time, the registration registered_to_ready before it, default 0). */
static int read_startup(const struct rd *r, const struct ynode *map, const char *ctx,
                        const char *boot_key, const char *total_key,
                        const struct np_startup *defaults, struct np_startup *out)
{
    *out = *defaults;
    char k1[KEY_MAX], k2[KEY_MAX];
    const struct ynode *total = field(map, ctx, total_key, k1);
    const struct ynode *boot = field(map, ctx, boot_key, k2);
    if (total && boot)
        return fail(r, ynode_key(map, boot_key),
                    "'%s' and '%s' both give the boot time: keep '%s' and "
                    "'%s.registered_to_ready', or the single '%s'",
                    k2, k1, k2, ctx, k1);
    if (total) {
        out->has_total = true;
        out->gpu = (struct np_dist){0, 0};
    }
    int rc;
    if ((rc = rd_dist(r, map, ctx, "request_to_launch", &out->request_to_launch)) ||
        (rc = rd_dist(r, map, ctx, boot_key, &out->boot)) ||
        (rc = rd_dist(r, map, ctx, "registered_to_ready", &out->gpu)) ||
        (rc = rd_dist(r, map, ctx, total_key, &out->total)))
        return rc;
    return SIM_OK;
}

/* Karpenter's order of NodePools (kubernetes-sigs/karpenter pkg/utils/nodepool
 * OrderByWeight, v1.0+): the higher weight first; equal weights by name, the name later in
 * the alphabet first. */
static int cmp_kp(const void *a, const void *b)
{
    const struct np_karpenter *x = a, *y = b;
    if (x->weight != y->weight)
        return x->weight > y->weight ? -1 : 1;
    return -strcmp(x->name, y->name);
}

/* karpenter.nodePools: a list of NodePools (each pasted or {file: ...}), put in the
 * provisioner's order. Names must differ, as Kubernetes object names do. */
static int read_nodepools(const struct rd *r, const struct ynode *list, const char *ctx)
{
    struct nodepool_cfg *cfg = r->cfg;
    if (list->kind != YNODE_SEQ || list->n == 0)
        return fail(r, list, "expected a non-empty list of NodePools for '%s', found %s", ctx,
                    list->kind == YNODE_SEQ ? "an empty list" : ynode_kind_name(list));
    if (list->n > NP_MAX_KP)
        return fail(r, list->items[NP_MAX_KP], "'%s' has %zu NodePools; llmcap models at most %d",
                    ctx, list->n, NP_MAX_KP);
    for (size_t i = 0; i < list->n; i++) {
        char ik[KEY_MAX];
        join_index(ik, sizeof ik, ctx, i);
        const struct ynode *np = NULL;
        struct rd rp = *r;
        rp.kp = &cfg->kp[i];
        int rc = kube_obj(r, list->items[i], ik, &np);
        if (rc || (rc = read_nodepool(&rp, np, ik)))
            return rc;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(cfg->kp[j].name, cfg->kp[i].name))
                return fail(r, list->items[i], "'%s': a second NodePool named '%s'", ik,
                            cfg->kp[i].name);
        cfg->n_kp = (int32_t)i + 1;
    }
    qsort(cfg->kp, (size_t)cfg->n_kp, sizeof cfg->kp[0], cmp_kp);
    return SIM_OK;
}

/* An EC2NodeClass (karpenter.k8s.aws/v1) as kubectl get ec2nodeclass -o yaml prints it.
 * What would change the run: the AMI family sets the boot (the defaults are for the
 * EKS-optimized accelerated AL2023/AL2 AMI, which ships the NVIDIA driver), and Windows
 * does not run vLLM. The rest (subnets, security groups, role, tags, block devices,
 * instance-store policy, user data, kubelet settings, metadata, status) changes neither
 * the types, the prices nor a modelled time: accepted and listed as ignored. */
static int read_nodeclass(const struct rd *r, const struct ynode *kn, const struct ynode *nc,
                          const char *ctx)
{
    static const char *const top[] = {"apiVersion", "kind", "metadata", "spec", "status", NULL};
    static const char *const spec_modelled[] = {"amiFamily", "amiSelectorTerms", NULL};
    static const char *const spec_ignored[] = {
        "role", "instanceProfile", "subnetSelectorTerms", "securityGroupSelectorTerms",
        "capacityReservationSelectorTerms", "tags", "metadataOptions", "blockDeviceMappings",
        "instanceStorePolicy", "userData", "detailedMonitoring", "associatePublicIPAddress",
        "kubelet", "context", NULL};
    char k[KEY_MAX], sk[KEY_MAX];
    const char *v = NULL;
    int rc = ynode_check_keys(nc, ctx, top, r->err);
    if (rc || (rc = need(r, nc, ctx, "apiVersion")) || (rc = need(r, nc, ctx, "kind")) ||
        (rc = need(r, nc, ctx, "spec")))
        return rc;
    if (r->cfg->cloud != NP_AWS)
        return fail(r, nc, "'%s' (an EC2NodeClass) needs 'cluster.cloud: aws'", ctx);
    const struct ynode *n = field(nc, ctx, "apiVersion", k);
    if ((rc = as_string(r, n, k, &v)))
        return rc;
    if (strcmp(v, "karpenter.k8s.aws/v1"))
        return fail(r, n, "'%s' must be 'karpenter.k8s.aws/v1', got '%s'", k, v);
    n = field(nc, ctx, "kind", k);
    if ((rc = as_string(r, n, k, &v)))
        return rc;
    if (strcmp(v, "EC2NodeClass"))
        return fail(r, n, "'%s' must be 'EC2NodeClass', got '%s'", k, v);
    ignore_all(r, field(nc, ctx, "metadata", k), k);
    n = present(nc, ctx, "status", k);
    if (n)
        ignored_add(&r->cfg->ignored, k, "");
    const struct ynode *spec = field(nc, ctx, "spec", sk);
    if ((rc = pasted_keys(r, spec, sk, spec_modelled, spec_ignored)))
        return rc;
    /* The family: amiFamily, else the alias of an amiSelectorTerm ("al2023@latest"). */
    char family[32] = "";
    const struct ynode *at = present(spec, sk, "amiFamily", k);
    if (at) {
        if ((rc = as_string(r, at, k, &v)))
            return rc;
        snprintf(family, sizeof family, "%s", v);
    }
    const struct ynode *terms = present(spec, sk, "amiSelectorTerms", k);
    if (terms && terms->kind != YNODE_SEQ)
        return fail(r, terms, "expected a sequence for '%s', found %s", k, ynode_kind_name(terms));
    for (size_t i = 0; terms && i < terms->n && !family[0]; i++) {
        char ak[KEY_MAX], ik[KEY_MAX];
        join_index(ik, sizeof ik, k, i);
        const struct ynode *al = present(terms->items[i], ik, "alias", ak);
        if (!al)
            continue;
        if ((rc = as_string(r, al, ak, &v)))
            return rc;
        static const char *const fams[] = {"al2023", "AL2023", "al2", "AL2", "bottlerocket",
                                           "Bottlerocket", "windows2019", "Windows2019",
                                           "windows2022", "Windows2022", NULL};
        size_t len = strcspn(v, "@");
        for (size_t f = 0; fams[f]; f += 2)
            if (strlen(fams[f]) == len && !strncmp(v, fams[f], len))
                snprintf(family, sizeof family, "%s", fams[f + 1]);
        at = al;
    }
    if (terms)
        ignored_add(&r->cfg->ignored, sk, "amiSelectorTerms");
    if (!strncmp(family, "Windows", 7))
        return fail(r, at, "'%s' is a Windows AMI: llmcap models Linux GPU nodes running vLLM",
                    family);
    if (family[0] && strcmp(family, "AL2023") && strcmp(family, "AL2") &&
        !ynode_get(kn, "launch_to_registered") && !ynode_get(kn, "launch_to_ready"))
        return fail(r, at, "AMI family '%s': the default boot time is the EKS-optimized "
                           "accelerated AL2023/AL2 AMI's; give "
                           "'cluster.karpenter.launch_to_registered' (and registered_to_ready) "
                           "as measured on your nodes",
                    family);
    if (family[0])
        ignored_add(&r->cfg->ignored, sk, at == ynode_get(spec, "amiFamily") ? "amiFamily"
                                                                              : "");
    return SIM_OK;
}

static int read_karpenter(const struct rd *r, const struct ynode *kn)
{
    struct nodepool_cfg *cfg = r->cfg;
    static const char *const keys[] = {"nodePool",           "nodePools",
                                       "request_to_launch",  "launch_to_registered",
                                       "registered_to_ready", "launch_to_ready",
                                       "nodeClass",          NULL};
    const char *ctx = "cluster.karpenter";
    int rc = ynode_check_keys(kn, ctx, keys, r->err);
    if (rc)
        return rc;
    char nck[KEY_MAX];
    const struct ynode *ncn = field(kn, ctx, "nodeClass", nck);
    if (ncn) {
        const struct ynode *nc = NULL;
        if ((rc = kube_obj(r, ncn, nck, &nc)) || (rc = read_nodeclass(r, kn, nc, nck)))
            return rc;
    }
    const struct ynode *k1 = ynode_get(kn, "nodePool"), *k2 = ynode_get(kn, "nodePools");
    if (!k1 && !k2)
        return fail(r, kn, "'%s' needs 'nodePool' (one NodePool) or 'nodePools' (a list)", ctx);
    if (k1 && k2)
        return fail(r, ynode_key(kn, "nodePools"),
                    "'%s' has both 'nodePool' and 'nodePools': give one NodePool or the list",
                    ctx);
    /* The type universe: the cloud's catalog types in the region that run a replica. */
    size_t n_inst = catalog_n_instances(r->cat);
    for (size_t i = 0; i < n_inst; i++) {
        const struct cat_instance *ci = catalog_instance_at(r->cat, i);
        if (in_region(cfg, ci) && fits_any(r, ci) && type_add(cfg, ci) < 0)
            return fail(r, kn, "more than %d catalog instance types run the replicas: limit "
                               "them with the NodePool's requirements",
                        NP_MAX_TYPES);
    }
    char key[KEY_MAX];
    const struct ynode *one = field(kn, ctx, "nodePool", key);
    if (one) {
        const struct ynode *np = NULL;
        struct rd rp = *r;
        rp.kp = &cfg->kp[0];
        if ((rc = kube_obj(r, one, key, &np)) || (rc = read_nodepool(&rp, np, key)))
            return rc;
        cfg->n_kp = 1;
    } else if ((rc = read_nodepools(r, field(kn, ctx, "nodePools", key), key))) {
        return rc;
    }
    for (int32_t t = 0; t < cfg->n_types; t++) {
        cfg->types[t].allowed = false;
        for (int32_t p = 0; p < cfg->n_kp; p++)
            cfg->types[t].allowed = cfg->types[t].allowed || (cfg->kp[p].types >> t & 1);
    }
    /* EKS (docs/nodes.md#node-start-up): boot to a Ready kubelet "about 30-40s"
     * (Karpenter maintainer, aws/karpenter-provider-aws#6165), 80-100 s seen with v0.20
     * (#3102): median 40 s, p95 100 s. The device plugin advertised the GPUs of a g5 node
     * "approximately 90 seconds later" (NVIDIA/k8s-device-plugin#291): median 90 s, p95
     * 3 min (modelled). */
    static const struct np_startup eks = {
        .boot = {40000000, 100000000}, .gpu = {90000000, 180000000}};
    return read_startup(r, kn, ctx, "launch_to_registered", "launch_to_ready", &eks,
                        &cfg->kp_startup);
}

/* ---- AKS: node pools and the cluster-autoscaler profile -------------------------------- */

static const char *const profile_keys[] = {"balance-similar-node-groups",
                                           "daemonset-eviction-for-empty-nodes",
                                           "daemonset-eviction-for-occupied-nodes",
                                           "expander",
                                           "ignore-daemonsets-utilization",
                                           "max-empty-bulk-delete",
                                           "max-graceful-termination-sec",
                                           "max-node-provision-time",
                                           "max-total-unready-percentage",
                                           "new-pod-scale-up-delay",
                                           "ok-total-unready-count",
                                           "scale-down-delay-after-add",
                                           "scale-down-delay-after-delete",
                                           "scale-down-delay-after-failure",
                                           "scale-down-unneeded-time",
                                           "scale-down-unready-time",
                                           "scale-down-utilization-threshold",
                                           "scale-down-gpu-utilization-threshold",
                                           "scan-interval",
                                           "skip-nodes-with-local-storage",
                                           "skip-nodes-with-system-pods",
                                           NULL};
static const char *const expander_names[] = {"random", "least-waste", "most-pods",
                                             "least-nodes", "price", "priority", NULL};

static int read_expander(const struct rd *r, const struct ynode *n, const char *key)
{
    struct np_aks *a = &r->cfg->aks;
    const char *t = NULL;
    int rc = as_string(r, n, key, &t);
    if (rc)
        return rc;
    a->n_expanders = 0;
    const char *p = t;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), p);
        int which = -1;
        for (int i = 0; expander_names[i]; i++)
            if (!strcmp(name, expander_names[i]))
                which = i;
        if (which < 0) {
            const char *dym = did_you_mean(name, expander_names);
            if (dym)
                return fail(r, n, "unknown expander '%s' in '%s' (did you mean '%s'?)", name, key,
                            dym);
            return fail(r, n, "unknown expander '%s' in '%s': expected random, least-waste, "
                              "most-pods, least-nodes, price or priority (chains: "
                              "'priority,least-waste')",
                        name, key);
        }
        if (a->n_expanders == NP_MAX_EXPANDERS)
            return fail(r, n, "'%s' chains more than %d expanders", key, NP_MAX_EXPANDERS);
        a->expanders[a->n_expanders++] = (enum np_expander)which;
        if (!comma)
            break;
        p = comma + 1;
    }
    return SIM_OK;
}

/* An autoscaler-profile key in AKS's kebab spelling (the REST API's and `az aks update
 * --cluster-autoscaler-profile`'s: scan-interval) from az's camelCase one (az aks show
 * prints autoScalerProfile with the Python SDK's names camelCased: scanInterval,
 * scaleDownDelayAfterAdd, maxGracefulTerminationSec). */
static void kebab(const char *in, char *out, size_t n)
{
    size_t used = 0;
    for (const char *p = in; *p && used + 2 < n; p++) {
        if (isupper((unsigned char)*p)) {
            if (used)
                out[used++] = '-';
            out[used++] = (char)tolower((unsigned char)*p);
        } else {
            out[used++] = *p;
        }
    }
    out[used] = '\0';
}

/* Profile keys the model does not use: they cannot change a run of GPU pods on
 * autoscaled pools (DaemonSets and system pods are not modelled; the unready-node
 * health gate only stops scale-ups when many nodes are unready for long). */
static const char *const profile_ignored[] = {"daemonset-eviction-for-empty-nodes",
                                              "daemonset-eviction-for-occupied-nodes",
                                              "ignore-daemonsets-utilization",
                                              "max-total-unready-percentage",
                                              "ok-total-unready-count",
                                              "skip-nodes-with-system-pods",
                                              NULL};

static int read_profile(const struct rd *r, const struct ynode *pf, const char *ctx)
{
    struct np_aks *a = &r->cfg->aks;
    if (!pf || pf->kind != YNODE_MAP)
        return ynode_check_keys(pf, ctx, profile_keys, r->err);
    /* Keys in either spelling, each at most once; nulls (az prints unset keys as null)
     * keep AKS's default. */
    char names[64][48];
    size_t nn = pf->n < 64 ? pf->n : 64;
    for (size_t i = 0; i < nn; i++) {
        kebab(pf->keys[i]->value, names[i], sizeof names[i]);
        const struct ynode *kn = pf->keys[i];
        if (!in_list(names[i], profile_keys)) {
            const char *dym = did_you_mean(names[i], profile_keys);
            if (dym)
                return fail(r, kn, "unknown key '%s' in '%s' (did you mean '%s'?)", kn->value,
                            ctx, dym);
            return fail(r, kn, "unknown key '%s' in '%s' (AKS autoscaler profile keys: "
                               "scan-interval or scanInterval, scale-down-unneeded-time, ... "
                               "in docs/nodes.md)",
                        kn->value, ctx);
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(names[i], names[j]))
                return fail(r, kn, "'%s' in '%s' is the same setting as '%s' (line %ld)",
                            kn->value, ctx, pf->keys[j]->value, pf->keys[j]->line);
    }
    if (pf->n > nn)
        return fail(r, pf->keys[nn], "'%s' has more keys than the autoscaler profile has", ctx);
    bool delete_given = false;
    for (size_t i = 0; i < pf->n; i++) {
        const char *name = names[i];
        const struct ynode *n = pf->items[i];
        char k[KEY_MAX];
        join(k, sizeof k, ctx, pf->keys[i]->value);
        if (n->kind == YNODE_SCALAR && ynode_is_null(n))
            continue;
        int64_t *d = NULL;
        int64_t dmin = 0;
        if (!strcmp(name, "scan-interval")) {
            d = &a->scan_interval_us;
            dmin = 1000000;
        } else if (!strcmp(name, "scale-down-unneeded-time"))
            d = &a->unneeded_us;
        else if (!strcmp(name, "scale-down-unready-time"))
            d = &a->unready_us;
        else if (!strcmp(name, "scale-down-delay-after-add"))
            d = &a->delay_after_add_us;
        else if (!strcmp(name, "scale-down-delay-after-delete")) {
            d = &a->delay_after_delete_us;
            delete_given = true;
        } else if (!strcmp(name, "scale-down-delay-after-failure"))
            d = &a->delay_after_failure_us;
        else if (!strcmp(name, "max-node-provision-time")) {
            d = &a->max_node_provision_us;
            dmin = 1;
        } else if (!strcmp(name, "new-pod-scale-up-delay"))
            d = &a->new_pod_scale_up_delay_us;
        if (d) {
            int rc = dur(r, n, k, dmin, d);
            if (rc)
                return rc;
            continue;
        }
        int rc;
        int32_t iv;
        bool bv;
        double fv;
        if (in_list(name, profile_ignored))
            ignored_add(&r->cfg->ignored, ctx, pf->keys[i]->value);
        if (!strcmp(name, "scale-down-utilization-threshold")) {
            if ((rc = num_text(r, n, k, 0.0, 1.0, NULL, &fv)))
                return rc;
            a->utilization_threshold = fv;
        } else if (!strcmp(name, "scale-down-gpu-utilization-threshold")) {
            if ((rc = num_text(r, n, k, 0.0, 1.0, NULL, &fv)))
                return rc;
            a->gpu_utilization_threshold = fv;
        } else if (!strcmp(name, "max-empty-bulk-delete")) {
            if ((rc = int_text(r, n, k, 1, 100000, "nodes", &iv)))
                return rc;
            a->max_empty_bulk_delete = iv;
        } else if (!strcmp(name, "max-graceful-termination-sec")) {
            if ((rc = int_text(r, n, k, 0, 86400 * 7, "s", &iv)))
                return rc;
            a->max_graceful_termination_us = (int64_t)iv * 1000000;
        } else if (!strcmp(name, "max-total-unready-percentage")) {
            if ((rc = num_text(r, n, k, 0.0, 100.0, "%", &fv)))
                return rc;
        } else if (!strcmp(name, "ok-total-unready-count")) {
            if ((rc = int_text(r, n, k, 0, 100000, "nodes", &iv)))
                return rc;
        } else if (!strcmp(name, "expander")) {
            if ((rc = read_expander(r, n, k)))
                return rc;
        } else if ((rc = bool_text(r, n, k, &bv))) {
            return rc; /* the remaining keys are booleans */
        } else if (!strcmp(name, "skip-nodes-with-local-storage")) {
            a->skip_local_storage = bv;
        } else if (!strcmp(name, "balance-similar-node-groups")) {
            /* Balancing spreads a scale-up over similar pools (the same VM size); with
             * no two such autoscaled pools it changes nothing. */
            for (size_t x = 0; bv && x < a->n_pools; x++)
                for (size_t y = x + 1; y < a->n_pools; y++) {
                    const struct np_aks_pool *px = &a->pools[x], *py = &a->pools[y];
                    if (px->autoscale && py->autoscale && !px->system && !py->system &&
                        px->type == py->type && px->spot == py->spot)
                        return fail(r, n, "'%s' true is not modelled: pools '%s' and '%s' are "
                                          "similar (same VM size and priority) and the "
                                          "autoscaler would spread scale-ups over them; llmcap "
                                          "grows one pool per scan",
                                    k, px->name, py->name);
                }
            ignored_add(&r->cfg->ignored, ctx, pf->keys[i]->value);
        }
    }
    /* AKS: scale-down-delay-after-delete "the default is the scan-interval" */
    if (!delete_given)
        a->delay_after_delete_us = a->scan_interval_us;
    return SIM_OK;
}

static int read_priorities(const struct rd *r, const struct ynode *pe, const char *key)
{
    struct np_aks *a = &r->cfg->aks;
    if (pe->kind != YNODE_MAP)
        return fail(r, pe, "expected a map of priority: [regex, ...] for '%s', found %s", key,
                    ynode_kind_name(pe));
    for (size_t i = 0; i < pe->n; i++) {
        const struct ynode *kn = pe->keys[i], *list = pe->items[i];
        char k[KEY_MAX];
        join(k, sizeof k, key, kn->value);
        char *end;
        long prio = strtol(kn->value, &end, 10);
        if (!kn->value[0] || *end)
            return fail(r, kn, "'%s': priorities must be integers, got '%s'", key, kn->value);
        if (list->kind != YNODE_SEQ)
            return fail(r, list, "expected a sequence of regular expressions for '%s', found %s",
                        k, ynode_kind_name(list));
        for (size_t j = 0; j < list->n; j++) {
            char ik[KEY_MAX];
            join_index(ik, sizeof ik, k, j);
            const char *pat;
            int rc = as_string(r, list->items[j], ik, &pat);
            if (rc)
                return rc;
            regex_t re;
            int rrc = regcomp(&re, pat, REG_EXTENDED | REG_NOSUB);
            if (rrc) {
                char why[128];
                regerror(rrc, &re, why, sizeof why);
                return fail(r, list->items[j], "'%s' is not a valid regular expression: %s", ik,
                            why);
            }
            for (size_t p = 0; p < a->n_pools; p++) {
                struct np_aks_pool *pool = &a->pools[p];
                if (regexec(&re, pool->name, 0, NULL, 0) == 0 &&
                    (!pool->has_priority || prio > pool->priority)) {
                    pool->priority = (int32_t)prio;
                    pool->has_priority = true;
                }
            }
            regfree(&re);
        }
    }
    return SIM_OK;
}

/* What `az aks nodepool show -o json|yaml` prints besides the modelled keys (az CLI 2.6x,
 * AgentPool of the Microsoft.ContainerService REST API 2024-2025, flattened and
 * camelCased as az prints it: learn.microsoft.com/rest/api/aks/agent-pools/get): none of
 * these changes where the replicas run, how fast a node starts or what it costs. */
static const char *const pool_ignored[] = {"id",
                                           "etag",
                                           "eTag",
                                           "resourceGroup",
                                           "type",
                                           "typePropertiesType",
                                           "provisioningState",
                                           "orchestratorVersion",
                                           "currentOrchestratorVersion",
                                           "nodeImageVersion",
                                           "osDiskSizeGb",
                                           "osDiskType",
                                           "osSku",
                                           "kubeletDiskType",
                                           "tags",
                                           "upgradeSettings",
                                           "enableNodePublicIp",
                                           "nodePublicIpPrefixId",
                                           "enableEncryptionAtHost",
                                           "enableUltraSsd",
                                           "enableFips",
                                           "enableCustomCaTrust",
                                           "vnetSubnetId",
                                           "podSubnetId",
                                           "proximityPlacementGroupId",
                                           "hostGroupId",
                                           "capacityReservationGroupId",
                                           "creationData",
                                           "kubeletConfig",
                                           "linuxOsConfig",
                                           "windowsProfile",
                                           "networkProfile",
                                           "securityProfile",
                                           "workloadRuntime",
                                           "messageOfTheDay",
                                           "podIpAllocationMode",
                                           "systemData",
                                           "virtualMachineNodesStatus",
                                           "virtualMachinesProfile",
                                           "nodeInitializationTaints",
                                           NULL};

/* A field modelled for one value only (the default): another is not modelled. */
static int only_value(const struct rd *r, const struct ynode *p, const char *ctx,
                      const char *name, const char *want, const char *why)
{
    char k[KEY_MAX];
    const char *v = NULL;
    const struct ynode *n = present(p, ctx, name, k);
    if (!n)
        return SIM_OK;
    int rc = as_string(r, n, k, &v);
    if (rc)
        return rc;
    if (strcmp(v, want))
        return fail(r, n, "'%s' '%s' is not modelled: %s", k, v, why);
    ignored_add(&r->cfg->ignored, ctx, name);
    return SIM_OK;
}

/* The fields az prints that would change the outcome in some values: those values are
 * refused as not modelled, the others recorded as ignored. */
static int pool_checks(const struct rd *r, const struct ynode *p, const char *ctx)
{
    char k[KEY_MAX];
    const char *v = NULL;
    int rc;
    if ((rc = only_value(r, p, ctx, "osType", "Linux",
                         "llmcap models Linux GPU nodes running vLLM only")))
        return rc;
    const struct ynode *n = present(p, ctx, "powerState", k);
    if (n) {
        static const char *const keys[] = {"code", NULL};
        if ((rc = ynode_check_keys(n, k, keys, r->err)))
            return rc;
        char ck[KEY_MAX];
        const struct ynode *c = present(n, k, "code", ck);
        if (c) {
            if ((rc = as_string(r, c, ck, &v)))
                return rc;
            if (strcmp(v, "Running"))
                return fail(r, c, "'%s' is '%s': a stopped pool has no nodes, and starting it "
                                  "(az aks nodepool start) is not modelled; simulate the "
                                  "pool running, or leave it out",
                            ck, v);
        }
        ignored_add(&r->cfg->ignored, ctx, "powerState");
    }
    if ((rc = only_value(r, p, ctx, "scaleDownMode", "Delete",
                         "scale-down deletes the VMs (Delete, the default); deallocated VMs "
                         "restart faster than new ones, which llmcap does not simulate")))
        return rc;
    n = present(p, ctx, "artifactStreamingProfile", k);
    if (n) {
        char ek[KEY_MAX];
        const struct ynode *e = present(n, k, "enabled", ek);
        bool on = false;
        if (e && (rc = bool_text(r, e, ek, &on)))
            return rc;
        if (on)
            return fail(r, e, "'%s' true is not modelled: the image pull is a whole pull "
                              "(engine.startup.image_gib at image_pull_gib_per_s); set the "
                              "pull rate from your nodes instead",
                        ek);
        ignored_add(&r->cfg->ignored, ctx, "artifactStreamingProfile");
    }
    n = present(p, ctx, "gpuProfile", k);
    if (n) {
        char dk[KEY_MAX];
        const struct ynode *d = present(n, k, "driver", dk);
        if (d) {
            if ((rc = as_string(r, d, dk, &v)))
                return rc;
            const struct ynode *aks = ynode_get(r->sc->cluster.node, "aks");
            if (strcmp(v, "Install") && !ynode_get(aks, "registered_to_ready") &&
                !ynode_get(aks, "provision_to_ready"))
                return fail(r, d, "'%s' '%s': the GPU driver is not installed by AKS, so the "
                                  "default driver and device-plugin time does not apply; give "
                                  "'cluster.aks.registered_to_ready' as measured with your GPU "
                                  "Operator",
                            dk, v);
        }
        ignored_add(&r->cfg->ignored, ctx, "gpuProfile");
    }
    return SIM_OK;
}

static int read_pool(const struct rd *r, const struct ynode *p, const char *ctx,
                     struct np_aks_pool *pool)
{
    struct nodepool_cfg *cfg = r->cfg;
    static const char *const keys[] = {"name",
                                       "vmSize",
                                       "count",
                                       "minCount",
                                       "maxCount",
                                       "enableAutoScaling",
                                       "mode",
                                       "priority",
                                       "scaleSetPriority",
                                       "evictionPolicy",
                                       "scaleSetEvictionPolicy",
                                       "spotMaxPrice",
                                       "availabilityZones",
                                       "gpuInstanceProfile",
                                       "nodeLabels",
                                       "nodeTaints",
                                       "maxPods",
                                       NULL};
    static const char *const modes[] = {"User", "System", NULL};
    static const char *const prios[] = {"Regular", "Spot", NULL};
    static const char *const evictions[] = {"Delete", "Deallocate", NULL};
    static const char *const checked[] = {"osType", "powerState", "scaleDownMode",
                                          "artifactStreamingProfile", "gpuProfile", NULL};
    const char *all[sizeof keys / sizeof keys[0] + sizeof checked / sizeof checked[0]];
    size_t na = 0;
    for (size_t i = 0; keys[i]; i++)
        all[na++] = keys[i];
    for (size_t i = 0; checked[i]; i++)
        all[na++] = checked[i];
    all[na] = NULL;
    char k[KEY_MAX];
    int rc = pasted_keys(r, p, ctx, all, pool_ignored);
    if (rc || (rc = need(r, p, ctx, "name")) || (rc = need(r, p, ctx, "vmSize")) ||
        (rc = pool_checks(r, p, ctx)))
        return rc;
    const char *v;
    const struct ynode *n = field(p, ctx, "name", k);
    if ((rc = as_string(r, n, k, &v)))
        return rc;
    if (!v[0] || strlen(v) >= sizeof pool->name)
        return fail(r, n, "'%s' must be 1 to %zu characters long", k, sizeof pool->name - 1);
    snprintf(pool->name, sizeof pool->name, "%s", v);
    int mode = 0;
    n = present(p, ctx, "mode", k);
    if (n && (rc = ynode_as_enum(n, k, modes, &mode, r->err)))
        return rc;
    pool->system = mode == 1;
    /* priority / scaleSetPriority (the CLI's and the ARM API's spelling) */
    const char *pk = present(p, ctx, "priority", k) ? "priority" : "scaleSetPriority";
    if (present(p, ctx, "priority", k) && present(p, ctx, "scaleSetPriority", k))
        return fail(r, ynode_key(p, "scaleSetPriority"),
                    "'%s' takes 'priority' or 'scaleSetPriority', not both", ctx);
    int prio = 0;
    n = present(p, ctx, pk, k);
    if (n && (rc = ynode_as_enum(n, k, prios, &prio, r->err)))
        return rc;
    pool->spot = prio == 1;
    const char *ek =
        present(p, ctx, "evictionPolicy", k) ? "evictionPolicy" : "scaleSetEvictionPolicy";
    if (present(p, ctx, "evictionPolicy", k) && present(p, ctx, "scaleSetEvictionPolicy", k))
        return fail(r, ynode_key(p, "scaleSetEvictionPolicy"),
                    "'%s' takes 'evictionPolicy' or 'scaleSetEvictionPolicy', not both", ctx);
    n = present(p, ctx, ek, k);
    if (n) {
        if (!pool->spot)
            return fail(r, ynode_key(p, ek), "'%s' applies only to a Spot pool (priority: Spot)",
                        k);
        int ev = 0;
        if ((rc = ynode_as_enum(n, k, evictions, &ev, r->err)))
            return rc;
        pool->deallocate = ev == 1;
    }
    pool->spot_max_usd_per_hour = -1.0;
    n = present(p, ctx, "spotMaxPrice", k);
    if (n) {
        if (!pool->spot)
            return fail(r, ynode_key(p, "spotMaxPrice"),
                        "'%s' applies only to a Spot pool (priority: Spot)", k);
        double mp;
        if ((rc = num_text(r, n, k, -1.0, 1e6, "USD per hour", &mp)))
            return rc;
        if (mp < 0 && mp != -1.0)
            return fail(r, n, "'%s' must be -1 (up to the on-demand price) or a price >= 0 (USD "
                              "per hour), got '%s'",
                        k, n->value);
        pool->spot_max_usd_per_hour = mp;
    }
    /* counts */
    char mk0[KEY_MAX];
    const struct ynode *cn = present(p, ctx, "count", k), *mn = present(p, ctx, "minCount", mk0),
                       *xn = present(p, ctx, "maxCount", mk0);
    bool given_min = mn != NULL, given_max = xn != NULL;
    pool->autoscale = given_min || given_max;
    n = present(p, ctx, "enableAutoScaling", k);
    if (n && (rc = bool_text(r, n, k, &pool->autoscale)))
        return rc;
    if (pool->autoscale && (!given_min || !given_max))
        return fail(r, p, "'%s' needs 'minCount' and 'maxCount' with enableAutoScaling", ctx);
    if (!pool->autoscale && (given_min || given_max))
        return fail(r, ynode_key(p, given_min ? "minCount" : "maxCount"),
                    "'%s.%s' needs enableAutoScaling: true", ctx,
                    given_min ? "minCount" : "maxCount");
    pool->count = -1;
    if (cn && (rc = int_text(r, cn, k, 0, 5000, "nodes", &pool->count)))
        return rc;
    /* maxPods sets the kube-reserved memory of the pool's nodes (np_allocatable); AKS
     * accepts 10 to 250 per node. */
    pool->max_pods = NP_AKS_DEFAULT_MAX_PODS;
    n = present(p, ctx, "maxPods", k);
    if (n && (rc = int_text(r, n, k, 10, 250, "pods", &pool->max_pods)))
        return rc;
    if (pool->autoscale) {
        char mk[KEY_MAX], xk[KEY_MAX];
        join(mk, sizeof mk, ctx, "minCount");
        join(xk, sizeof xk, ctx, "maxCount");
        if ((rc = int_text(r, mn, mk, 0, 5000, "nodes", &pool->min_count)) ||
            (rc = int_text(r, xn, xk, 1, 5000, "nodes", &pool->max_count)))
            return rc;
        if (pool->max_count < pool->min_count)
            return fail(r, xn, "'%s' (%d) must be >= 'minCount' (%d)", xk, pool->max_count,
                        pool->min_count);
        if (pool->count >= 0 && (pool->count < pool->min_count || pool->count > pool->max_count))
            return fail(r, cn, "'%s.count' (%d) must be within minCount..maxCount (%d..%d)", ctx,
                        pool->count, pool->min_count, pool->max_count);
        if (pool->count < 0)
            pool->count = pool->min_count;
    } else {
        if (pool->count < 0)
            return fail(r, p, "'%s' needs 'count' (or enableAutoScaling with minCount and "
                              "maxCount)",
                        ctx);
        pool->min_count = pool->max_count = pool->count;
    }
    /* gpuInstanceProfile (MIG1g..MIG7g): the MIG layout (sim/config/gpushare.c). AKS does
     * not let the cluster autoscaler manage MIG node pools: "You can't use Cluster
     * Autoscaler with multi-instance GPU node pools" (learn.microsoft.com/azure/aks/
     * gpu-multi-instance, MicrosoftDocs/azure-aks-docs b49aae43); AKS-managed MIG pools:
     * "Cluster autoscaler isn't supported on managed GPU node pools" (aks-managed-gpu-nodes). */
    n = present(p, ctx, "gpuInstanceProfile", k);
    if (n) {
        static const char *const gips[] = {"MIG1g", "MIG2g", "MIG3g", "MIG4g", "MIG7g", NULL};
        int gi;
        if ((rc = ynode_as_enum(n, k, gips, &gi, r->err)))
            return rc;
        if (pool->autoscale)
            return fail(r, n,
                        "'%s' (MIG) with the cluster autoscaler is refused: AKS does not "
                        "support the cluster autoscaler on multi-instance GPU node pools "
                        "(\"You can't use Cluster Autoscaler with multi-instance GPU node "
                        "pools\", learn.microsoft.com/azure/aks/gpu-multi-instance): give the "
                        "pool a fixed 'count' without enableAutoScaling",
                        k);
    }
    /* availabilityZones: "1", "2", "3" as az prints them (or "eastus-1", the
     * topology.kubernetes.io/zone label's form; null or absent: a regional pool). They
     * label the pool's nodes (np_node_labels), so topology spread counts pods per zone;
     * the catalog prices Azure spot per region, so they change neither prices nor
     * capacity here. */
    pool->n_az = 0;
    n = present(p, ctx, "availabilityZones", k);
    if (n && n->kind != YNODE_SEQ)
        return fail(r, n, "expected a sequence for '%s', found %s", k, ynode_kind_name(n));
    for (size_t i = 0; n && i < n->n; i++) {
        char zk[KEY_MAX];
        join_index(zk, sizeof zk, k, i);
        if ((rc = as_string(r, n->items[i], zk, &v)))
            return rc;
        char label[sizeof pool->az[0]];
        if (!azure_zone_label(cfg, v, label, sizeof label))
            return fail(r, n->items[i], "'%s' must be an Azure zone number ('1', '2', '3') or "
                                        "'%s-N', got '%s'",
                        zk, cfg->region, v);
        for (int32_t z = 0; z < pool->n_az; z++)
            if (!strcmp(pool->az[z], label))
                return fail(r, n->items[i], "zone '%s' is listed twice in '%s'",
                            label + strlen(cfg->region) + 1, k);
        snprintf(pool->az[pool->n_az++], sizeof pool->az[0], "%s", label);
    }
    pool->type = -1;
    if (pool->system)
        return SIM_OK; /* system pools run no replica; llmcap neither resolves nor bills them */
    if ((rc = schedcfg_labels(present(p, ctx, "nodeLabels", k), k, pool->labels, NP_MAX_LABELS,
                              &pool->n_labels, r->err)))
        return rc;
    n = field(p, ctx, "nodeTaints", k);
    pool->n_taints = 0;
    if (n && !ynode_is_null(n)) {
        if (n->kind != YNODE_SEQ)
            return fail(r, n, "expected a list of 'key=value:Effect' for '%s', found %s", k,
                        ynode_kind_name(n));
        if (n->n > NP_MAX_TAINTS - 1)
            return fail(r, n->items[NP_MAX_TAINTS - 1], "'%s' has more than %d taints", k,
                        NP_MAX_TAINTS - 1);
        for (size_t i = 0; i < n->n; i++) {
            char ik[KEY_MAX];
            join_index(ik, sizeof ik, k, i);
            if ((rc = schedcfg_aks_taint(n->items[i], ik, pool->taint_text[i], NP_TAINT_TEXT,
                                         &pool->taints[pool->n_taints], r->err)))
                return rc;
            pool->n_taints++;
        }
    }
    n = field(p, ctx, "vmSize", k);
    if ((rc = as_string(r, n, k, &v)))
        return rc;
    struct sim_err e2 = {0};
    const struct cat_instance *ci = catalog_instance(r->cat, v, &e2);
    if (!ci)
        return fail(r, n, "%s", e2.msg);
    if (strcmp(ci->cloud, "azure"))
        return fail(r, n, "'%s' is a %s instance type, not an Azure VM size", v, ci->cloud);
    if (!in_region(cfg, ci))
        return fail(r, n, "the catalog prices '%s' in '%s', not in '%s'", ci->id,
                    ci->on_demand_region, cfg->region);
    if (r->n_deps > 1 && !fits_any(r, ci))
        return fail(r, n, "'%s' (%d x %s) runs no deployment's pods: none has 'engine.gpu' '%s' "
                          "with at most %d GPUs per pod (a pool no deployment uses can be left "
                          "out, or given mode: System)",
                    ci->id, ci->n_gpus, ci->gpu, ci->gpu, ci->n_gpus);
    if (r->n_deps == 1 && r->sc->engine.gpu[0] && strcasecmp(ci->gpu, r->sc->engine.gpu))
        return fail(r, n, "'%s' has GPU '%s', but the replicas run on 'engine.gpu' '%s' (a pool "
                          "the replicas do not use can be left out, or given mode: System)",
                    ci->id, ci->gpu, r->sc->engine.gpu);
    if (r->n_deps == 1 && ci->n_gpus < r->sc->engine.tensor_parallel_size)
        return fail(r, n, "'%s' has %d GPUs, fewer than 'engine.tensor_parallel_size' (%d)",
                    ci->id, ci->n_gpus, r->sc->engine.tensor_parallel_size);
    if ((pool->type = type_add(cfg, ci)) < 0)
        return fail(r, n, "more than %d instance types", NP_MAX_TYPES);
    if (pool->spot) {
        /* AKS taints every spot node kubernetes.azure.com/scalesetpriority=spot:NoSchedule
         * (learn.microsoft.com/azure/aks/spot-node-pool): pods need the toleration. */
        pool->taints[pool->n_taints++] = (struct sched_taint){
            "kubernetes.azure.com/scalesetpriority", "spot", SCHED_NO_SCHEDULE};
        bool priced = false;
        for (int32_t z = 0; z < cfg->n_zones; z++)
            priced = priced || !isnan(cfg->spot_price[pool->type][z]);
        if (!priced)
            return fail(r, ynode_get(p, pk),
                        "the catalog has no spot price for '%s' in %s: a Spot pool cannot be "
                        "billed",
                        ci->id, cfg->region);
    }
    return SIM_OK;
}

static int read_aks(const struct rd *r, const struct ynode *an)
{
    struct nodepool_cfg *cfg = r->cfg;
    struct np_aks *a = &cfg->aks;
    static const char *const keys[] = {"autoscalerProfile", "nodePools", "priorityExpander",
                                       "request_to_launch", "provision_to_registered",
                                       "registered_to_ready", "provision_to_ready", NULL};
    const char *ctx = "cluster.aks";
    int rc = ynode_check_keys(an, ctx, keys, r->err);
    if (rc || (rc = need(r, an, ctx, "nodePools")))
        return rc;
    if (cfg->cloud != NP_AZURE)
        return fail(r, an, "'cluster.aks' needs 'cluster.cloud: azure'");
    /* AKS's autoscaler profile defaults (reference §4.1). */
    a->scan_interval_us = 10000000;
    a->unneeded_us = 600000000;
    a->unready_us = 1200000000;
    a->delay_after_add_us = 600000000;
    a->delay_after_failure_us = 180000000;
    a->max_node_provision_us = 900000000;
    a->new_pod_scale_up_delay_us = 0;
    a->utilization_threshold = 0.5;
    a->gpu_utilization_threshold = 0.5;
    a->max_empty_bulk_delete = 10;
    a->max_graceful_termination_us = 600000000;
    /* cluster-autoscaler --skip-nodes-with-local-storage defaults to true (FAQ; the AKS
     * Arc autoscaler profile documents the same default). */
    a->skip_local_storage = true;
    a->n_expanders = 1;
    a->expanders[0] = NP_EXP_RANDOM;
    char key[KEY_MAX];
    const struct ynode *pools = field(an, ctx, "nodePools", key);
    if (pools->kind != YNODE_SEQ || pools->n == 0)
        return fail(r, pools, "expected a non-empty sequence of node pools for '%s'", key);
    if (pools->n > NP_MAX_POOLS)
        return fail(r, pools->items[NP_MAX_POOLS], "'%s' has more than %d pools", key,
                    NP_MAX_POOLS);
    bool any_user = false;
    for (size_t i = 0; i < pools->n; i++) {
        char ik[KEY_MAX];
        join_index(ik, sizeof ik, key, i);
        struct np_aks_pool *pool = &a->pools[a->n_pools];
        memset(pool, 0, sizeof *pool);
        /* a pool as written, or {file: gpu.json} saved by az aks nodepool show */
        const struct ynode *po = NULL;
        if ((rc = kube_obj(r, pools->items[i], ik, &po)) || (rc = read_pool(r, po, ik, pool)))
            return rc;
        for (size_t j = 0; j < a->n_pools; j++)
            if (!strcmp(a->pools[j].name, pool->name))
                return fail(r, ynode_get(po, "name"),
                            "node pool name '%s' is used twice in '%s'", pool->name, key);
        any_user = any_user || !pool->system;
        a->n_pools++;
    }
    if (!any_user)
        return fail(r, pools, "'%s' has no User pool to run the replicas", key);
    const struct ynode *pf = field(an, ctx, "autoscalerProfile", key);
    if (pf) {
        const struct ynode *obj = NULL;
        if ((rc = kube_obj(r, pf, key, &obj)) || (rc = read_profile(r, obj, key)))
            return rc;
    } else {
        a->delay_after_delete_us = a->scan_interval_us;
    }
    bool wants_priority = false;
    for (size_t i = 0; i < a->n_expanders; i++)
        wants_priority = wants_priority || a->expanders[i] == NP_EXP_PRIORITY;
    const struct ynode *pe = field(an, ctx, "priorityExpander", key);
    if (pe && !wants_priority)
        return fail(r, ynode_key(an, "priorityExpander"),
                    "'%s' applies only with the priority expander", key);
    if (wants_priority && !pe)
        return fail(r, pf, "the priority expander needs 'cluster.aks.priorityExpander' (priority: "
                           "[regex, ...], as in the cluster-autoscaler-priority-expander "
                           "ConfigMap)");
    if (pe) {
        const struct ynode *obj = NULL;
        if ((rc = kube_obj(r, pe, key, &obj)) || (rc = read_priorities(r, obj, key)))
            return rc;
    }
    /* AKS GPU scale-out "5-10 min ... ~10-11 minutes before a new GPU node becomes ready"
     * (reference §4.2, community Q&A; AKS installs the GPU driver while provisioning):
     * 7.5 min median and 11 min p95 in all; the device plugin's share as on EKS (90 s,
     * p95 3 min), the rest (6 min, p95 9.5 min) boot, driver included. */
    static const struct np_startup aks = {
        .boot = {360000000, 570000000}, .gpu = {90000000, 180000000}};
    return read_startup(r, an, ctx, "provision_to_registered", "provision_to_ready", &aks,
                        &a->startup);
}

/* ---- spot, capacity, PDB -------------------------------------------------------------- */

static int read_spot(const struct rd *r, const struct ynode *sp)
{
    struct nodepool_cfg *cfg = r->cfg;
    static const char *const keys[] = {"interruption_rate_per_hour", "advisor_band", "notice",
                                       "interruptions", NULL};
    static const char *const bands[] = {"<5%", "5-10%", "10-15%", "15-20%", ">20%", NULL};
    const char *ctx = "cluster.spot";
    int rc = ynode_check_keys(sp, ctx, keys, r->err);
    if (rc)
        return rc;
    char k[KEY_MAX];
    const struct ynode *rate = field(sp, ctx, "interruption_rate_per_hour", k);
    const struct ynode *band = ynode_get(sp, "advisor_band");
    if (rate && band)
        return fail(r, ynode_key(sp, "advisor_band"),
                    "'cluster.spot' takes 'interruption_rate_per_hour' or 'advisor_band', not "
                    "both");
    if (rate) {
        struct ynode_range rg = {0.0, INFINITY, false, false, "interruptions per node-hour"};
        if ((rc = ynode_as_number(rate, k, &rg, &cfg->spot_rate_per_hour, r->err)))
            return rc;
    }
    if (band) {
        int which = 0;
        join(k, sizeof k, ctx, "advisor_band");
        if ((rc = ynode_as_enum(band, k, bands, &which, r->err)))
            return rc;
        cfg->spot_rate_per_hour = np_advisor_band_rate(cfg->cloud, bands[which]);
    }
    const struct ynode *n = field(sp, ctx, "notice", k);
    if (n && (rc = dur(r, n, k, 0, &cfg->notice_us)))
        return rc;
    n = field(sp, ctx, "interruptions", k);
    if (n) {
        static const char *const ikeys[] = {"at", "count", NULL};
        if (n->kind != YNODE_SEQ)
            return fail(r, n, "expected a sequence for '%s', found %s", k, ynode_kind_name(n));
        cfg->spot_events = calloc(n->n ? n->n : 1, sizeof *cfg->spot_events);
        if (!cfg->spot_events)
            return sim_err_set(r->err, SIM_ENOMEM, "out of memory");
        for (size_t i = 0; i < n->n; i++) {
            char ic[KEY_MAX], fk[KEY_MAX];
            join_index(ic, sizeof ic, k, i);
            const struct ynode *it = n->items[i];
            if ((rc = ynode_check_keys(it, ic, ikeys, r->err)) || (rc = need(r, it, ic, "at")))
                return rc;
            struct np_spot_event *ev = &cfg->spot_events[cfg->n_spot_events];
            ev->count = 1;
            const struct ynode *at = field(it, ic, "at", fk);
            if ((rc = dur(r, at, fk, 0, &ev->at_us)))
                return rc;
            const struct ynode *cn = field(it, ic, "count", fk);
            if (cn && (rc = int_text(r, cn, fk, 1, 100000, "nodes", &ev->count)))
                return rc;
            cfg->n_spot_events++;
        }
    }
    return SIM_OK;
}

static int read_ice(const struct rd *r, const struct ynode *ic)
{
    struct nodepool_cfg *cfg = r->cfg;
    static const char *const keys[] = {"probability", "offerings", NULL};
    static const char *const okeys[] = {"instance_type", "capacity_type", "zone", "from", "until",
                                        NULL};
    static const char *const cts[] = {"on-demand", "spot", NULL};
    const char *ctx = "cluster.insufficient_capacity";
    int rc = ynode_check_keys(ic, ctx, keys, r->err);
    if (rc)
        return rc;
    char k[KEY_MAX];
    const struct ynode *p = field(ic, ctx, "probability", k);
    if (p) {
        struct ynode_range rg = {0.0, 1.0, false, true, "per offering per launch"};
        if ((rc = ynode_as_number(p, k, &rg, &cfg->ice_probability, r->err)))
            return rc;
    }
    const struct ynode *offs = field(ic, ctx, "offerings", k);
    if (!offs)
        return SIM_OK;
    if (offs->kind != YNODE_SEQ)
        return fail(r, offs, "expected a sequence for '%s', found %s", k, ynode_kind_name(offs));
    cfg->ice = calloc(offs->n ? offs->n : 1, sizeof *cfg->ice);
    if (!cfg->ice)
        return sim_err_set(r->err, SIM_ENOMEM, "out of memory");
    for (size_t i = 0; i < offs->n; i++) {
        char oc[KEY_MAX], fk[KEY_MAX];
        join_index(oc, sizeof oc, k, i);
        const struct ynode *o = offs->items[i];
        if ((rc = ynode_check_keys(o, oc, okeys, r->err)) ||
            (rc = need(r, o, oc, "instance_type")))
            return rc;
        struct np_ice_window *w = &cfg->ice[cfg->n_ice];
        w->zone = -1;
        w->capacity = -1;
        w->from_us = 0;
        w->until_us = INT64_MAX;
        const char *v;
        const struct ynode *tn = field(o, oc, "instance_type", fk);
        if ((rc = as_string(r, tn, fk, &v)))
            return rc;
        w->type = -1;
        for (int32_t t = 0; t < cfg->n_types; t++)
            if (!strcasecmp(cfg->types[t].inst->id, v))
                w->type = t;
        if (w->type < 0) {
            char all[1024];
            type_names(cfg, cfg->kind == NP_KARPENTER, all, sizeof all);
            return fail(r, tn, "'%s' is not an instance type this cluster launches (%s)", v, all);
        }
        const struct ynode *cn = field(o, oc, "capacity_type", fk);
        if (cn && (rc = ynode_as_enum(cn, fk, cts, &w->capacity, r->err)))
            return rc;
        const struct ynode *zn = field(o, oc, "zone", fk);
        if (zn) {
            if ((rc = as_string(r, zn, fk, &v)) || (rc = zone_id_of(r, zn, fk, v, true, &v)))
                return rc;
            if ((w->zone = zone_index(cfg, v)) < 0) {
                char zl[512];
                zone_list(cfg, zl, sizeof zl);
                return fail(r, zn, "unknown zone '%s' in '%s': the cluster's zones are %s", v, fk,
                            zl);
            }
        }
        const struct ynode *fn = field(o, oc, "from", fk);
        if (fn && (rc = dur(r, fn, fk, 0, &w->from_us)))
            return rc;
        const struct ynode *un = field(o, oc, "until", fk);
        if (un && (rc = dur(r, un, fk, 0, &w->until_us)))
            return rc;
        if (w->until_us <= w->from_us)
            return fail(r, un, "'%s' must be after 'from'", fk);
        cfg->n_ice++;
    }
    return SIM_OK;
}

static int read_pdb(const struct rd *r, const struct ynode *pn)
{
    struct nodepool_cfg *cfg = r->cfg;
    static const char *const full[] = {"apiVersion", "kind", "metadata", "spec", "status", NULL};
    static const char *const spec_keys[] = {"minAvailable", "maxUnavailable", "selector",
                                            "unhealthyPodEvictionPolicy", NULL};
    static const char *const short_keys[] = {"minAvailable", "maxUnavailable", NULL};
    char ctx[KEY_MAX] = "cluster.podDisruptionBudget", k[KEY_MAX];
    const struct ynode *obj = NULL;
    int rc = kube_obj(r, pn, ctx, &obj);
    if (rc)
        return rc;
    const struct ynode *spec = obj;
    if (ynode_get(obj, "apiVersion") || ynode_get(obj, "kind") || ynode_get(obj, "spec")) {
        if ((rc = ynode_check_keys(obj, ctx, full, r->err)) ||
            (rc = need(r, obj, ctx, "apiVersion")) || (rc = need(r, obj, ctx, "kind")) ||
            (rc = need(r, obj, ctx, "spec")))
            return rc;
        const char *v;
        const struct ynode *n = field(obj, ctx, "apiVersion", k);
        if ((rc = as_string(r, n, k, &v)))
            return rc;
        if (strcmp(v, "policy/v1"))
            return fail(r, n, "'%s' must be 'policy/v1', got '%s'", k, v);
        n = field(obj, ctx, "kind", k);
        if ((rc = as_string(r, n, k, &v)))
            return rc;
        if (strcmp(v, "PodDisruptionBudget"))
            return fail(r, n, "'%s' must be 'PodDisruptionBudget', got '%s'", k, v);
        /* kubectl get pdb -o yaml: status (currentHealthy, disruptionsAllowed, ...) is
         * what the controller last computed; the run computes its own. */
        const struct ynode *st = field(obj, ctx, "status", k);
        if (st && !ynode_is_null(st))
            ignored_add(&cfg->ignored, k, "");
        const struct ynode *md = field(obj, ctx, "metadata", k);
        if (md && md->kind == YNODE_MAP)
            for (size_t i = 0; i < md->n; i++)
                if (strcmp(md->keys[i]->value, "name") && strcmp(md->keys[i]->value, "namespace"))
                    ignored_add(&cfg->ignored, k, md->keys[i]->value);
        spec = field(obj, ctx, "spec", k);
        snprintf(ctx, sizeof ctx, "%s", k);
        if ((rc = ynode_check_keys(spec, ctx, spec_keys, r->err)))
            return rc;
        const struct ynode *up = field(spec, ctx, "unhealthyPodEvictionPolicy", k);
        if (up) {
            static const char *const ups[] = {"IfHealthyBudget", "AlwaysAllow", NULL};
            int which;
            if ((rc = ynode_as_enum(up, k, ups, &which, r->err)))
                return rc;
        }
    } else if ((rc = ynode_check_keys(obj, ctx, short_keys, r->err))) {
        return rc;
    }
    const struct ynode *mina = ynode_get(spec, "minAvailable"),
                       *maxu = ynode_get(spec, "maxUnavailable");
    if (mina && maxu)
        return fail(r, ynode_key(spec, "maxUnavailable"),
                    "'%s' takes 'minAvailable' or 'maxUnavailable', not both", ctx);
    if (!mina && !maxu)
        return fail(r, spec, "'%s' needs 'minAvailable' or 'maxUnavailable'", ctx);
    cfg->pdb = true;
    cfg->pdb_min_available = mina != NULL;
    field(spec, ctx, mina ? "minAvailable" : "maxUnavailable", k);
    return int_or_percent(r, mina ? mina : maxu, k, &cfg->pdb_value, &cfg->pdb_percent);
}

/* ---- the pods' side of scheduling ----------------------------------------------------------- */

int32_t np_aks_pool_zone(const struct nodepool_cfg *cfg, const struct np_aks_pool *p)
{
    int32_t zone = 0;
    double best = NAN;
    for (int32_t z = 0; p->spot && z < cfg->n_zones; z++) {
        double v = cfg->spot_price[p->type][z];
        if (!isnan(v) && (isnan(best) || v < best)) {
            best = v;
            zone = z;
        }
    }
    return zone;
}

/* The distinct values of label `key` over the candidate nodes, for messages. */
struct cand {
    struct sched_label labels[NP_MAX_NODE_LABELS];
    int n;
    char buf[512];
};

static void values_of(const struct cand *c, int n_c, const char *key, char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n_c && used < n; i++)
        for (int j = 0; j < c[i].n; j++) {
            if (strcmp(c[i].labels[j].key, key))
                continue;
            const char *v = c[i].labels[j].value;
            if (used && strstr(out, v))
                continue;
            int w = snprintf(out + used, n - used, "%s%s", used ? ", " : "", v);
            if (w > 0)
                used += (size_t)w;
        }
    if (!used)
        snprintf(out, n, "none has the label");
}

/* Where a pod-side error points: the constraint, else fleet.pod, else the provisioner. */
static const struct ynode *pod_node(const struct rd *r, const char *path)
{
    const struct ynode *n = scenario_node(r->sc, path);
    if (!n)
        n = scenario_node(r->sc, "fleet.pod");
    if (!n && r->sc->cluster.node)
        n = ynode_key(r->sc->cluster.node, r->cfg->kind == NP_AKS ? "aks" : "karpenter");
    return n;
}

/* Why no candidate takes the pod: the first constraint that no candidate meets. */
static int no_node_error(const struct rd *r, const struct sched_pod *pod, const struct cand *c,
                         int n_c, bool taints_ok, const struct sched_taint *taint,
                         const char *who)
{
    if (!taints_ok && taint)
        return fail(r, pod_node(r, "fleet.pod.tolerations"),
                    "no node of %s can take the pods: their taint %s%s%s:%s is not tolerated "
                    "(add a toleration to 'fleet.pod.tolerations', as the Deployment's pod "
                    "template would need)",
                    who, taint->key, taint->value[0] ? "=" : "", taint->value,
                    sched_effect_name(taint->effect));
    char vals[256];
    for (int i = 0; i < pod->n_node_selector; i++) {
        const struct sched_label *l = &pod->node_selector[i];
        bool any = false;
        for (int j = 0; j < n_c && !any; j++)
            for (int k = 0; k < c[j].n && !any; k++)
                any = !strcmp(c[j].labels[k].key, l->key) && !strcmp(c[j].labels[k].value, l->value);
        if (!any) {
            values_of(c, n_c, l->key, vals, sizeof vals);
            return fail(r, pod_node(r, "fleet.pod.nodeSelector"),
                        "'fleet.pod.nodeSelector' '%s: %s' matches no node that %s can launch "
                        "(their '%s': %s)",
                        l->key, l->value, who, l->key, vals);
        }
    }
    const struct sched_expr *e = pod->has_required && pod->n_required
                                     ? pod->required[0].exprs
                                     : NULL;
    if (e && pod->required[0].n_exprs) {
        values_of(c, n_c, e->key, vals, sizeof vals);
        return fail(r,
                    pod_node(r, "fleet.pod.affinity.nodeAffinity."
                                "requiredDuringSchedulingIgnoredDuringExecution"),
                    "the pods' required node affinity matches no node that %s can launch (their "
                    "'%s': %s)",
                    who, e->key, vals);
    }
    return fail(r, pod_node(r, "fleet.pod.affinity"),
                "the pods' node selector and required node affinity match no node that %s "
                "can launch",
                who);
}

/*
 * The pods' cpu and memory requests against the allocatable of every instance type (or
 * AKS pool) whose nodes could take them (`types`: with their GPU; `usable`: offered by
 * some NodePool or pool). A pod no node could ever hold is an error at its request, as
 * is a memory request against a type whose memory the catalog lacks (it could not be
 * checked). Upstream such a pod stays Pending for good ("Insufficient memory"; Karpenter:
 * "no instance type satisfied resources").
 */
static int check_cpu_mem(const struct rd *r, const struct np_pod *out, uint64_t usable)
{
    const struct nodepool_cfg *cfg = r->cfg;
    const struct pod_cpu_mem *res = &r->sc->fleet.pod.res;
    if (res->cpu_m == 0 && res->memory == 0)
        return SIM_OK;
    int64_t best_cpu = -1, best_mem = -1;
    int32_t best_cpu_t = -1, best_mem_t = -1;
    bool fits = false;
    int32_t n_cand = cfg->kind == NP_AKS ? (int32_t)cfg->aks.n_pools : cfg->n_types;
    for (int32_t i = 0; i < n_cand; i++) {
        int32_t t = i, pool = -1;
        if (cfg->kind == NP_AKS) {
            if (cfg->aks.pools[i].system)
                continue;
            t = cfg->aks.pools[i].type;
            pool = i;
        }
        if (!((out->types & usable) >> t & 1))
            continue;
        int64_t cpu, mem;
        np_allocatable(cfg, t, pool, &cpu, &mem);
        if (res->memory > 0 && mem == 0)
            return fail(r, res->mem_node,
                        "the catalog has no memory for instance type '%s': the pods' memory "
                        "request cannot be checked against its nodes (give its memory_gib in "
                        "a catalog file, 'model.catalog')",
                        cfg->types[t].inst->id);
        cpu -= cfg->ds_cpu_m; /* the DaemonSet pods' requests (cluster.daemonset_requests) */
        mem -= cfg->ds_memory;
        fits = fits || (res->cpu_m <= cpu && res->memory <= mem);
        if (cpu > best_cpu) {
            best_cpu = cpu;
            best_cpu_t = t;
        }
        if (mem > best_mem) {
            best_mem = mem;
            best_mem_t = t;
        }
    }
    if (fits || best_cpu_t < 0)
        return SIM_OK;
    char who[NP_NAME_MAX + 32] = "";
    if (r->n_deps > 1)
        snprintf(who, sizeof who, "deployment '%s': ", r->sc->deployment);
    if (res->cpu_m > best_cpu)
        return fail(r, res->cpu_node,
                    "%sthe pods request cpu %s, more than the allocatable cpu of any node they "
                    "can run on (at most %lldm, %s: its vCPUs less kube-reserved%s, "
                    "docs/nodes.md#allocatable): they could never be scheduled",
                    who, res->cpu_node->value, (long long)best_cpu,
                    cfg->types[best_cpu_t].inst->id,
                    cfg->ds_cpu_m ? " and the DaemonSet pods' requests" : "");
    if (res->memory > best_mem)
        return fail(r, res->mem_node,
                    "%sthe pods request memory %s, more than the allocatable memory of any node "
                    "they can run on (at most %lldMi, %s: its memory less kube-reserved%s and the "
                    "eviction threshold, docs/nodes.md#allocatable): they could never be "
                    "scheduled",
                    who, res->mem_node->value, (long long)(best_mem / 1048576),
                    cfg->types[best_mem_t].inst->id,
                    cfg->ds_memory ? ", the DaemonSet pods' requests" : "");
    return fail(r, res->cpu_node,
                "%sno node the pods can run on has both cpu %s and memory %s allocatable "
                "(docs/nodes.md#allocatable): they could never be scheduled",
                who, res->cpu_node->value, res->mem_node->value);
}

/*
 * One deployment's pods (r->sc) as the scheduler sees them (fleet.pod's constraints,
 * nvidia.com/gpu = tensor_parallel_size, owned by a ReplicaSet, the image's size, the
 * ExtendedResourceToleration), and which offerings (Karpenter) or pools (AKS) can take
 * them: those of an instance type with its GPU and at least tensor_parallel_size GPUs
 * (the pods' node requirement on the GPU), and whose constraints the NodePool's
 * requirements, labels and taints admit (scheduling.Requirements.Compatible,
 * Taints.ToleratesPod); the cluster autoscaler only scales node groups whose template
 * node passes the scheduler's predicates. None at all is an error at the constraint that
 * excludes them.
 */
static int read_pod_side(const struct rd *r, struct np_pod *out)
{
    struct nodepool_cfg *cfg = r->cfg;
    const struct scenario *sc = r->sc;
    memset(out, 0, sizeof *out);
    struct sched_pod *pod = &out->pod;
    *pod = sc->fleet.pod.sched;
    pod->requests[SCHED_GPU] = sc->engine.tensor_parallel_size;
    pod->requests[SCHED_CPU] = sc->fleet.pod.res.cpu_m;
    pod->requests[SCHED_MEMORY] = sc->fleet.pod.res.memory;
    pod->owned = true;
    pod->image_bytes = (int64_t)(sc->engine.startup.image_gib * 1073741824.0);
    out->units = sc->engine.tensor_parallel_size;
    for (int32_t t = 0; t < cfg->n_types; t++)
        if (fits_engine(sc, cfg->types[t].inst))
            out->types |= 1ull << t;
    /* ExtendedResourceToleration: a toleration for the extended resource the pods
     * request (nvidia.com/gpu, or a MIG or shared resource's name). */
    const char *res = sc->fleet.pod.gpu.resource[0] ? sc->fleet.pod.gpu.resource
                                                    : "nvidia.com/gpu";
    if (cfg->ert && pod->n_tolerations < SCHED_MAX_TOLERATIONS)
        pod->tolerations[pod->n_tolerations++] =
            (struct sched_toleration){res, "", true, SCHED_NO_SCHEDULE};
    if (cfg->kind == NP_IMPLICIT) {
        /* The implicit pool's nodes are one-replica slots of no instance type: cpu and
         * memory requests cannot bind there. */
        if (sc->fleet.pod.res.cpu_node)
            ignored_add(&cfg->ignored, "fleet.pod.resources", "cpu");
        if (sc->fleet.pod.res.mem_node)
            ignored_add(&cfg->ignored, "fleet.pod.resources", "memory");
        if (pod->n_node_selector || pod->has_required)
            return fail(r, pod_node(r, pod->n_node_selector ? "fleet.pod.nodeSelector"
                                                            : "fleet.pod.affinity"),
                        "the pods' node selector or required node affinity needs nodes with "
                        "labels: a node provisioner ('cluster.karpenter' or 'cluster.aks')");
        return SIM_OK;
    }
    uint64_t usable = 0; /* types some NodePool or pool offers */
    if (cfg->kind == NP_KARPENTER)
        for (int32_t p = 0; p < cfg->n_kp; p++)
            usable |= cfg->kp[p].types;
    else
        for (size_t p = 0; p < cfg->aks.n_pools; p++)
            if (!cfg->aks.pools[p].system)
                usable |= 1ull << cfg->aks.pools[p].type;
    if (r->n_deps > 1 && !(usable & out->types)) {
        const struct ynode *at = scenario_node(sc, "engine.gpu");
        char who[NP_NAME_MAX + 32];
        if (cfg->kind == NP_KARPENTER && cfg->n_kp == 1)
            snprintf(who, sizeof who, "NodePool '%s' allows", cfg->kp[0].name);
        else
            snprintf(who, sizeof who, "the %s allow",
                     cfg->kind == NP_KARPENTER ? "NodePools" : "AKS node pools");
        return fail(r, at ? at : pod_node(r, "engine"),
                    "deployment '%s': no instance type %s has GPU '%s' with at least %d per "
                    "node ('engine.gpu', 'engine.tensor_parallel_size'): its pods could never "
                    "be scheduled",
                    sc->deployment, who, sc->engine.gpu[0] ? sc->engine.gpu : "any",
                    sc->engine.tensor_parallel_size);
    }
    int rc = check_cpu_mem(r, out, usable);
    if (rc)
        return rc;
    struct cand c[NP_MAX_POOLS];
    int n_c = 0;
    bool any = false;
    const struct sched_taint *bad = NULL;
    if (cfg->kind == NP_KARPENTER) {
        /* Each NodePool: its taints, and each offering it allows. */
        bool some_taints_ok = false;
        for (int32_t p = 0; p < cfg->n_kp; p++) {
            const struct np_karpenter *kp = &cfg->kp[p];
            bool tok = sched_taints_ok(pod, kp->taints, kp->n_taints);
            for (int i = 0; i < kp->n_taints && !tok && !bad; i++)
                if (!sched_taints_ok(pod, &kp->taints[i], 1))
                    bad = &kp->taints[i];
            some_taints_ok = some_taints_ok || tok;
            struct cand one;
            for (int32_t t = 0; t < cfg->n_types; t++)
                for (int32_t z = 0; z < cfg->n_zones; z++)
                    for (int cap = 0; cap < 2; cap++) {
                        if (!(kp->types >> t & 1) || !(out->types >> t & 1) || !kp->zone_ok[z] ||
                            !kp->capacity[cap])
                            continue;
                        one.n = np_node_labels(cfg, r->cat, t, z, cap, p, 0, one.labels,
                                               one.buf, sizeof one.buf);
                        if (tok && sched_affinity_ok(pod, one.labels, one.n)) {
                            out->kp_ok[p][z][cap] |= 1ull << t;
                            any = true;
                        }
                        if (tok && n_c < NP_MAX_POOLS)
                            c[n_c++] = one;
                    }
        }
        if (!any) {
            char who[NP_NAME_MAX + 16];
            if (cfg->n_kp == 1)
                snprintf(who, sizeof who, "NodePool '%s'", cfg->kp[0].name);
            else
                snprintf(who, sizeof who, "the NodePools");
            return no_node_error(r, pod, c, n_c, some_taints_ok, bad, who);
        }
        return SIM_OK;
    }
    const struct np_aks *a = &cfg->aks;
    bool some_taints_ok = false;
    for (size_t p = 0; p < a->n_pools; p++) {
        const struct np_aks_pool *pool = &a->pools[p];
        if (pool->system || !(out->types >> pool->type & 1))
            continue;
        bool tok = sched_taints_ok(pod, pool->taints, pool->n_taints);
        for (int i = 0; i < pool->n_taints && !tok && !bad; i++)
            if (!sched_taints_ok(pod, &pool->taints[i], 1))
                bad = &pool->taints[i];
        /* The template node of a pool over several zones takes one of them at random
         * (cluster-autoscaler azure_template.go buildGenericLabels: "if the customer is to
         * have some pod affinity picking exact zone, this logic won't work"), and the scale
         * set picks the new node's zone: pods that fit some of the zones only are refused. */
        struct cand *cc = &c[n_c < NP_MAX_POOLS ? n_c : NP_MAX_POOLS - 1];
        int32_t zone = np_aks_pool_zone(cfg, pool);
        cc->n = np_node_labels(cfg, r->cat, pool->type, zone, pool->spot, (int32_t)p, 0,
                               cc->labels, cc->buf, sizeof cc->buf);
        out->aks_ok[p] = tok && sched_affinity_ok(pod, cc->labels, cc->n);
        for (int32_t z = 1; tok && z < pool->n_az; z++) {
            struct cand other;
            other.n = np_node_labels(cfg, r->cat, pool->type, zone, pool->spot, (int32_t)p, z,
                                     other.labels, other.buf, sizeof other.buf);
            if (sched_affinity_ok(pod, other.labels, other.n) != out->aks_ok[p])
                return fail(r, pod_node(r, "fleet.pod"),
                            "the pods' node selector or node affinity takes the nodes of AKS "
                            "pool '%s' in zone '%s' but not in '%s': the pool spans several "
                            "zones, the scale set picks a new node's zone and the cluster "
                            "autoscaler's template node a random one of them, which is not "
                            "modelled; select the zone with a pool of that one zone",
                            pool->name, pool->az[out->aks_ok[p] ? 0 : z],
                            pool->az[out->aks_ok[p] ? z : 0]);
        }
        any = any || out->aks_ok[p];
        if (tok) {
            some_taints_ok = true;
            if (n_c < NP_MAX_POOLS)
                n_c++;
        }
    }
    if (!any)
        return no_node_error(r, pod, c, n_c, some_taints_ok, bad, "the AKS node pools");
    return SIM_OK;
}

/* Every deployment's pods (cfg->pods), each read against its own scenario. */
static int read_pods(const struct rd *r)
{
    struct nodepool_cfg *cfg = r->cfg;
    cfg->pods = calloc((size_t)r->n_deps, sizeof *cfg->pods);
    if (!cfg->pods)
        return sim_err_set(r->err, SIM_ENOMEM, "out of memory");
    cfg->n_pods = r->n_deps;
    for (int32_t k = 0; k < r->n_deps; k++) {
        struct rd rk = *r;
        rk.sc = r->deps[k];
        int rc = read_pod_side(&rk, &cfg->pods[k]);
        if (rc)
            return rc;
    }
    return SIM_OK;
}

/* ---- public --------------------------------------------------------------------------- */

int nodepool_cfg_load(struct nodepool_cfg *cfg, const struct scenario *sc,
                      const struct catalog *cat, struct sim_err *err)
{
    return nodepool_cfg_load_deps(cfg, &sc, 1, cat, err);
}

int nodepool_cfg_load_deps(struct nodepool_cfg *cfg, const struct scenario *const *deps,
                           int32_t n_deps, const struct catalog *cat, struct sim_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = NP_IMPLICIT;
    sched_profile_default(&cfg->sched);
    if (n_deps < 1 || n_deps > 64)
        return sim_err_set(err, SIM_EINVAL, "between 1 and 64 deployments share a cluster");
    const struct scenario *sc = deps[0];
    const struct ynode *cl = sc->cluster.node;
    struct rd r = {sc, cat, cfg, err, NULL, deps, n_deps};
    if (!cl) {
        int rc = read_pods(&r);
        if (rc)
            nodepool_cfg_release(cfg);
        return rc;
    }
    int rc = ynode_check_keys(cl, "cluster", cluster_keys, err);
    if (rc)
        goto fail;
    cfg->ert = true;
    if ((rc = schedcfg_profile(sc, ynode_get(cl, "scheduler"), "cluster.scheduler", &cfg->sched,
                               &cfg->ert, err)))
        goto fail;
    const struct ynode *kn = ynode_get(cl, "karpenter"), *an = ynode_get(cl, "aks");
    if (kn && an) {
        rc = fail(&r, ynode_key(cl, "aks"),
                  "'cluster' takes one node provisioner: 'karpenter' or 'aks', not both");
        goto fail;
    }
    if (!kn && !an) {
        static const char *const needs[] = {"spot", "insufficient_capacity",
                                            "podDisruptionBudget", "daemonset_requests", NULL};
        for (size_t i = 0; needs[i]; i++)
            if (ynode_get(cl, needs[i])) {
                rc = fail(&r, ynode_key(cl, needs[i]),
                          "'cluster.%s' needs a node provisioner ('cluster.karpenter' or "
                          "'cluster.aks')",
                          needs[i]);
                goto fail;
            }
        if (ynode_get(cl, "cloud")) {
            static const char *const clouds[] = {"aws", "azure", NULL};
            int c;
            if ((rc = ynode_as_enum(ynode_get(cl, "cloud"), "cluster.cloud", clouds, &c, err)))
                goto fail;
        }
        if ((rc = read_pods(&r)))
            goto fail;
        return SIM_OK; /* the implicit pool */
    }
    if (!cat) {
        rc = fail(&r, cl, "the node provisioner needs the instance catalog");
        goto fail;
    }
    if (sc->fleet.max_gpus > 0) {
        rc = fail(&r, kn ? ynode_key(cl, "karpenter") : ynode_key(cl, "aks"),
                  "'fleet.max_gpus' caps the implicit node pool; with a node provisioner use the "
                  "NodePool's limits (nvidia.com/gpu) or the node pools' maxCount");
        goto fail;
    }
    cfg->kind = kn ? NP_KARPENTER : NP_AKS;
    if ((rc = read_cloud(&r, cl)) || (rc = read_zone_ids(&r, cl)) ||
        (rc = read_zones(&r, cl)) || (rc = read_start(&r, cl)))
        goto fail;
    struct pod_cpu_mem ds;
    if ((rc = podres_daemonsets_read(ynode_get(cl, "daemonset_requests"), &ds, err)))
        goto fail;
    cfg->ds_cpu_m = ds.cpu_m;
    cfg->ds_memory = ds.memory;
    name_zones(r.cfg);
    /* ExtendedResourceToleration: enabled on EKS since 1.19 (aws/containers-roadmap#739);
     * not among AKS's admission plugins (unverified), where pods carry their tolerations. */
    const struct ynode *sn = ynode_get(cl, "scheduler");
    if (!(sn && sn->kind == YNODE_MAP && ynode_get(sn, "extendedResourceToleration")))
        cfg->ert = cfg->cloud == NP_AWS;
    cfg->notice_us = cfg->cloud == NP_AWS ? 120000000 : 30000000;
    cfg->billing_minimum_us = cfg->cloud == NP_AWS ? 60000000 : 0;
    if ((rc = kn ? read_karpenter(&r, kn) : read_aks(&r, an)))
        goto fail;
    const struct ynode *n;
    if ((n = ynode_get(cl, "spot")) && (rc = read_spot(&r, n)))
        goto fail;
    if ((n = ynode_get(cl, "insufficient_capacity")) && (rc = read_ice(&r, n)))
        goto fail;
    if ((n = ynode_get(cl, "podDisruptionBudget")) && (rc = read_pdb(&r, n)))
        goto fail;
    if ((rc = read_pods(&r)))
        goto fail;
    return SIM_OK;
fail:
    nodepool_cfg_release(cfg);
    return rc;
}

void nodepool_cfg_release(struct nodepool_cfg *cfg)
{
    free(cfg->pods);
    cfg->pods = NULL;
    cfg->n_pods = 0;
    free(cfg->spot_events);
    free(cfg->ice);
    cfg->spot_events = NULL;
    cfg->ice = NULL;
    cfg->n_spot_events = cfg->n_ice = 0;
}
