/* catalog.c: load, check, merge, look up and list the GPU, instance and model catalogs. */
#include "models/catalog.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "models/mutil.h"

#ifndef LLMCAP_DATA_DIR
#define LLMCAP_DATA_DIR "models/data"
#endif

#define CAT_FORMAT "llmcap-catalog"

struct catalog {
    struct cat_gpu *gpus;
    size_t n_gpus, cap_gpus;
    struct cat_instance *insts;
    size_t n_insts, cap_insts;
    struct cat_model *models;
    size_t n_models, cap_models;
    /* Every heap block the entries point into (strings, spot-zone arrays); freed with
     * the catalog. Replaced entries leave theirs here, which costs a few bytes. */
    void **owned;
    size_t n_owned, cap_owned;
};

const char *catalog_default_dir(void)
{
    const char *env = getenv("LLMCAP_DATA_DIR");
    return (env && env[0]) ? env : LLMCAP_DATA_DIR;
}

/* ---- ownership helpers ------------------------------------------------------------ */

static int own(struct catalog *c, void *p)
{
    if (!p)
        return SIM_ENOMEM;
    if (c->n_owned == c->cap_owned) {
        size_t nc = c->cap_owned ? 2 * c->cap_owned : 64;
        void **np = realloc(c->owned, nc * sizeof *np);
        if (!np) {
            free(p);
            return SIM_ENOMEM;
        }
        c->owned = np;
        c->cap_owned = nc;
    }
    c->owned[c->n_owned++] = p;
    return SIM_OK;
}

static const char *own_str(struct catalog *c, const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n + 1);
    return own(c, p) == SIM_OK ? p : NULL;
}

/* ---- field reading ---------------------------------------------------------------- */

enum cf_kind { CF_STR, CF_OSTR, CF_NUM, CF_INT, CF_I64, CF_BOOL, CF_CUSTOM };

/* One key of an entry: where it goes and what it accepts. Numbers accept null (NAN)
 * when `nullable`; integers accept null as 0 when `nullable`. */
struct cf_spec {
    const char *key;
    enum cf_kind kind;
    size_t off;
    size_t size; /* CF_STR: buffer size */
    double min, max;
    bool required;
    bool nullable;
    const char *unit;
};

struct loadctx {
    struct catalog *c;     /* for owned strings */
    const struct mu_json *doc;
    struct sim_err *err;
};

/* What a number field found, for messages: a string is named as one, so that "got '32'"
 * never reads as if 32 were out of range when the trouble is the quotes. */
static char *show_num(const cJSON *v, char *buf, size_t n)
{
    if (v && cJSON_IsString(v) && v->valuestring) {
        snprintf(buf, n, "a string '%.60s'", v->valuestring);
        return buf;
    }
    return mu_json_show(v, buf, n);
}

static int cf_bad_type(const struct loadctx *lc, const cJSON *v, const struct cf_spec *f)
{
    char shown[96];
    const char *what = "a string";
    switch (f->kind) {
    case CF_NUM:
        what = "a number";
        break;
    case CF_INT:
    case CF_I64:
        what = "an integer";
        break;
    case CF_BOOL:
        what = "true or false";
        break;
    default:
        break;
    }
    return mu_json_err(lc->doc, v, lc->err, SIM_EINVAL, "'%s' must be %s%s%s%s%s, got %s",
                       f->key, what, f->unit[0] ? " (" : "", f->unit, f->unit[0] ? ")" : "",
                       f->nullable ? " or null" : "",
                       f->kind == CF_STR || f->kind == CF_OSTR
                           ? mu_json_show(v, shown, sizeof shown)
                           : show_num(v, shown, sizeof shown));
}

static int cf_read(const struct loadctx *lc, const cJSON *obj, const struct cf_spec *f,
                   void *base)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, f->key);
    char *dst = (char *)base + f->off;
    if (!v) {
        if (f->required)
            return mu_json_err(lc->doc, obj, lc->err, SIM_EINVAL, "missing '%s'", f->key);
    }
    switch (f->kind) {
    case CF_STR:
        if (!v || cJSON_IsNull(v)) {
            if (v && !f->nullable)
                return cf_bad_type(lc, v, f);
            dst[0] = '\0';
            return SIM_OK;
        }
        if (!cJSON_IsString(v))
            return cf_bad_type(lc, v, f);
        if (strlen(v->valuestring) >= f->size || (f->min > 0 && !v->valuestring[0]))
            return mu_json_err(lc->doc, v, lc->err, SIM_EINVAL,
                               "'%s' must be 1 to %zu characters, got '%.60s'", f->key,
                               f->size - 1, v->valuestring);
        memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
        return SIM_OK;
    case CF_OSTR: {
        const char *s = "";
        if (v && !cJSON_IsNull(v)) {
            if (!cJSON_IsString(v))
                return cf_bad_type(lc, v, f);
            s = v->valuestring;
        }
        const char *p = own_str(lc->c, s);
        if (!p)
            return mu_err_set(lc->err, SIM_ENOMEM, "out of memory");
        memcpy(dst, &p, sizeof p);
        return SIM_OK;
    }
    case CF_NUM: {
        double x = NAN;
        if (v && !cJSON_IsNull(v)) {
            if (!cJSON_IsNumber(v))
                return cf_bad_type(lc, v, f);
            x = v->valuedouble;
            if (!isfinite(x) || x < f->min || x > f->max) {
                char shown[64];
                return mu_json_err(lc->doc, v, lc->err, SIM_EINVAL,
                                   "'%s' must be in [%g, %g] (%s), got %s", f->key, f->min,
                                   f->max, f->unit, mu_json_show(v, shown, sizeof shown));
            }
        } else if (v && !f->nullable) {
            return cf_bad_type(lc, v, f);
        }
        memcpy(dst, &x, sizeof x);
        return SIM_OK;
    }
    case CF_INT:
    case CF_I64: {
        double x = 0.0;
        if (v && !cJSON_IsNull(v)) {
            if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
                return cf_bad_type(lc, v, f);
            x = v->valuedouble;
            if (x < f->min || x > f->max) {
                char shown[64];
                return mu_json_err(lc->doc, v, lc->err, SIM_EINVAL,
                                   "'%s' must be an integer in [%.17g, %.17g]%s%s%s, got %s",
                                   f->key, f->min, f->max, f->unit[0] ? " (" : "", f->unit,
                                   f->unit[0] ? ")" : "", mu_json_show(v, shown, sizeof shown));
            }
        } else if (v && !f->nullable) {
            return cf_bad_type(lc, v, f);
        }
        if (f->kind == CF_INT) {
            int i = (int)x;
            memcpy(dst, &i, sizeof i);
        } else {
            int64_t i = (int64_t)x;
            memcpy(dst, &i, sizeof i);
        }
        return SIM_OK;
    }
    case CF_BOOL: {
        bool b = false;
        if (v) {
            if (!cJSON_IsBool(v))
                return cf_bad_type(lc, v, f);
            b = cJSON_IsTrue(v);
        }
        memcpy(dst, &b, sizeof b);
        return SIM_OK;
    }
    case CF_CUSTOM:
        return SIM_OK;
    }
    return SIM_OK;
}

/* Every key of `obj` must be in `specs`. */
static int cf_check_keys(const struct loadctx *lc, const cJSON *obj, const struct cf_spec *specs,
                         size_t n, const char *what)
{
    for (const cJSON *m = obj->child; m; m = m->next) {
        bool known = false;
        for (size_t i = 0; i < n && !known; i++)
            known = strcmp(m->string, specs[i].key) == 0;
        if (!known) {
            /* Say what would have been right: the nearest key, else all of them. */
            const char *names[64];
            size_t k = 0;
            for (size_t i = 0; i < n && k < 64; i++)
                names[k++] = specs[i].key;
            char hint[512];
            return mu_json_err_key(lc->doc, m, lc->err, SIM_EINVAL,
                                   "unknown key '%.100s' in %s (%s)", m->string, what,
                                   mu_key_hint(hint, sizeof hint, m->string, names, k));
        }
    }
    return SIM_OK;
}

static int cf_read_all(const struct loadctx *lc, const cJSON *obj, const struct cf_spec *specs,
                       size_t n, const char *what, void *base)
{
    if (!cJSON_IsObject(obj)) {
        char shown[64];
        return mu_json_err(lc->doc, obj, lc->err, SIM_EINVAL, "%s must be an object, got %s",
                           what, mu_json_show(obj, shown, sizeof shown));
    }
    int rc = cf_check_keys(lc, obj, specs, n, what);
    for (size_t i = 0; rc == SIM_OK && i < n; i++)
        rc = cf_read(lc, obj, &specs[i], base);
    return rc;
}

/* "sources": [{"tag": "P|S|D", "text": "..."}] -> "[P] ...; [S] ..." (owned). */
static int read_sources(const struct loadctx *lc, const cJSON *obj, const char *key,
                        bool required, const char **out)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = "";
    if (!arr) {
        if (required)
            return mu_json_err(lc->doc, obj, lc->err, SIM_EINVAL,
                               "missing '%s' (every entry names its sources)", key);
        return SIM_OK;
    }
    bool single = cJSON_IsObject(arr);
    if (!single && (!cJSON_IsArray(arr) || (required && cJSON_GetArraySize(arr) == 0)))
        return mu_json_err(lc->doc, arr, lc->err, SIM_EINVAL,
                           "'%s' must be a non-empty array of {\"tag\", \"text\"}", key);
    size_t total = 1;
    const cJSON *first = single ? arr : arr->child;
    for (const cJSON *s = first; s; s = single ? NULL : s->next) {
        static const struct cf_spec keys[] = {
            {"tag", CF_CUSTOM, 0, 0, 0, 0, true, false, ""},
            {"text", CF_CUSTOM, 0, 0, 0, 0, true, false, ""},
        };
        if (!cJSON_IsObject(s))
            return mu_json_err(lc->doc, s, lc->err, SIM_EINVAL,
                               "a source must be an object {\"tag\", \"text\"}");
        int rc = cf_check_keys(lc, s, keys, 2, "a source");
        if (rc)
            return rc;
        const cJSON *tag = cJSON_GetObjectItemCaseSensitive(s, "tag");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(s, "text");
        if (!tag || !cJSON_IsString(tag) ||
            (strcmp(tag->valuestring, "P") && strcmp(tag->valuestring, "S") &&
             strcmp(tag->valuestring, "D"))) {
            char shown[64];
            return mu_json_err(lc->doc, tag ? tag : s, lc->err, SIM_EINVAL,
                               "source 'tag' must be 'P' (primary), 'S' (secondary) or 'D' "
                               "(derived), got %s",
                               mu_json_show(tag, shown, sizeof shown));
        }
        if (!text || !cJSON_IsString(text) || !text->valuestring[0])
            return mu_json_err(lc->doc, text ? text : s, lc->err, SIM_EINVAL,
                               "source 'text' must be a non-empty string");
        total += strlen(text->valuestring) + 6;
    }
    char *buf = malloc(total);
    if (!buf)
        return mu_err_set(lc->err, SIM_ENOMEM, "out of memory");
    size_t used = 0;
    buf[0] = '\0';
    for (const cJSON *s = first; s; s = single ? NULL : s->next) {
        const cJSON *tag = cJSON_GetObjectItemCaseSensitive(s, "tag");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(s, "text");
        int w = snprintf(buf + used, total - used, "%s[%s] %s", used ? "; " : "",
                         tag->valuestring, text->valuestring);
        used += (size_t)w;
    }
    if (own(lc->c, buf))
        return mu_err_set(lc->err, SIM_ENOMEM, "out of memory");
    *out = buf;
    return SIM_OK;
}

static int check_id(const struct loadctx *lc, const cJSON *entry, const char *id, bool lower)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, "id");
    for (const char *p = id; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                  *p == '.' || *p == '_' || (!lower && *p >= 'A' && *p <= 'Z');
        if (!ok)
            return mu_json_err(lc->doc, v, lc->err, SIM_EINVAL,
                               "'id' must use %s letters, digits, '-', '.' and '_', got '%s'",
                               lower ? "lower-case" : "ASCII", id);
    }
    return SIM_OK;
}

/* ---- GPUs ------------------------------------------------------------------------- */

#define G(f) offsetof(struct cat_gpu, f)
static const struct cf_spec gpu_fields[] = {
    {"id", CF_STR, G(id), CAT_ID_MAX, 1, 0, true, false, ""},
    {"name", CF_STR, G(name), CAT_NAME_MAX, 1, 0, true, false, ""},
    {"arch", CF_STR, G(arch), 16, 0, 0, false, true, ""},
    {"memory_gb", CF_NUM, G(memory_gb), 0, 0.001, 1e6, true, false, "GB"},
    {"memory_type", CF_STR, G(memory_type), 16, 0, 0, false, true, ""},
    {"memory_mib_k8s", CF_NUM, G(memory_mib_k8s), 0, 1, 1e9, false, true, "MiB"},
    {"bandwidth_gb_per_s", CF_NUM, G(bandwidth_gb_per_s), 0, 0.001, 1e6, true, true, "GB/s"},
    {"bf16_tflops", CF_NUM, G(bf16_tflops), 0, 0.001, 1e6, true, true, "TFLOPS"},
    {"fp16_tflops", CF_NUM, G(fp16_tflops), 0, 0.001, 1e6, true, true, "TFLOPS"},
    {"fp8_tflops", CF_NUM, G(fp8_tflops), 0, 0.001, 1e6, true, true, "TFLOPS"},
    {"int8_tops", CF_NUM, G(int8_tops), 0, 0.001, 1e6, true, true, "TOPS"},
    {"unsupported", CF_CUSTOM, 0, 0, 0, 0, false, false, ""},
    {"compute_capability", CF_NUM, G(compute_capability), 0, 1, 20, false, true, "major.minor"},
    {"tdp_w", CF_NUM, G(tdp_w), 0, 1, 1e5, false, true, "W"},
    {"interconnect", CF_STR, G(interconnect), 16, 0, 0, false, true, ""},
    {"interconnect_gb_per_s", CF_NUM, G(interconnect_gb_per_s), 0, 0.001, 1e6, false, true,
     "GB/s per direction"},
    {"notes", CF_OSTR, G(notes), 0, 0, 0, false, true, ""},
    {"sources", CF_CUSTOM, 0, 0, 0, 0, false, false, ""}, /* read_sources checks */
    {"mig", CF_CUSTOM, 0, 0, 0, 0, false, false, ""},     /* read_mig */
};
#undef G

/*
 * "mig": {"compute_slices": 7, "memory_slices": 8, "profiles": [{"name": "3g.40gb",
 * "compute_slices": 3, "memory_slices": 4, "memory_gib": 39.38, "sms": 60,
 * "max_instances": 2, "placements": [0, 4]}, ...], "sources": [...]} (models/mig.h).
 */
#define MP(f) offsetof(struct mig_profile, f)
static const struct cf_spec mig_profile_fields[] = {
    {"name", CF_STR, MP(name), MIG_NAME_MAX, 1, 0, true, false, ""},
    {"compute_slices", CF_INT, MP(compute_slices), 0, 1, 32, true, false, "slices"},
    {"memory_slices", CF_INT, MP(memory_slices), 0, 1, 32, true, false, "slices"},
    {"memory_gib", CF_NUM, MP(memory_gib), 0, 0.001, 1e6, true, true, "GiB"},
    {"sms", CF_INT, MP(sms), 0, 1, 100000, false, true, "SMs"},
    {"max_instances", CF_INT, MP(max_instances), 0, 1, MIG_MAX_INSTANCES, true, false,
     "instances"},
    {"placements", CF_CUSTOM, 0, 0, 0, 0, true, false, ""},
};
#undef MP
#define MS(f) offsetof(struct mig_spec, f)
static const struct cf_spec mig_fields[] = {
    {"compute_slices", CF_INT, MS(compute_slices), 0, 1, 32, true, false, "slices"},
    {"memory_slices", CF_INT, MS(memory_slices), 0, 1, 32, true, false, "slices"},
    {"profiles", CF_CUSTOM, 0, 0, 0, 0, true, false, ""},
    {"sources", CF_CUSTOM, 0, 0, 0, 0, true, false, ""},
};
#undef MS

static int read_mig(const struct loadctx *lc, const cJSON *v, struct cat_gpu *g)
{
    struct mig_spec *m = &g->mig;
    int rc = cf_read_all(lc, v, mig_fields, sizeof mig_fields / sizeof mig_fields[0],
                         "'mig'", m);
    if (rc)
        return rc;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(v, "profiles");
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1 ||
        cJSON_GetArraySize(arr) > MIG_MAX_PROFILES)
        return mu_json_err(lc->doc, arr, lc->err, SIM_EINVAL,
                           "'profiles' must be an array of 1 to %d MIG profiles",
                           MIG_MAX_PROFILES);
    m->n_profiles = 0;
    for (const cJSON *e = arr->child; e; e = e->next) {
        struct mig_profile *p = &m->profiles[m->n_profiles];
        memset(p, 0, sizeof *p);
        rc = cf_read_all(lc, e, mig_profile_fields,
                         sizeof mig_profile_fields / sizeof mig_profile_fields[0],
                         "a MIG profile", p);
        if (rc)
            return rc;
        if (p->compute_slices > m->compute_slices || p->memory_slices > m->memory_slices)
            return mu_json_err(lc->doc, e, lc->err, SIM_EINVAL,
                               "MIG profile '%s' takes %d compute and %d memory slices; the "
                               "gpu has %d and %d",
                               p->name, p->compute_slices, p->memory_slices,
                               m->compute_slices, m->memory_slices);
        if (mig_profile_find(m, p->name))
            return mu_json_err(lc->doc, e, lc->err, SIM_EINVAL,
                               "MIG profile '%s' is listed twice", p->name);
        const cJSON *pl = cJSON_GetObjectItemCaseSensitive(e, "placements");
        if (!cJSON_IsArray(pl) || cJSON_GetArraySize(pl) < 1)
            return mu_json_err(lc->doc, pl, lc->err, SIM_EINVAL,
                               "'placements' must be a non-empty array of the memory slices "
                               "an instance may start at (nvidia-smi mig -lgipp)");
        for (const cJSON *x = pl->child; x; x = x->next) {
            if (!cJSON_IsNumber(x) || x->valuedouble != floor(x->valuedouble) ||
                x->valuedouble < 0 ||
                x->valuedouble + p->memory_slices > m->memory_slices) {
                char shown[64];
                return mu_json_err(lc->doc, x, lc->err, SIM_EINVAL,
                                   "a placement of '%s' must be an integer in [0, %d] (its "
                                   "%d memory slices must fit the gpu's %d), got %s",
                                   p->name, m->memory_slices - p->memory_slices,
                                   p->memory_slices, m->memory_slices,
                                   mu_json_show(x, shown, sizeof shown));
            }
            p->placements |= 1u << (int)x->valuedouble;
        }
        m->n_profiles++;
    }
    return read_sources(lc, v, "sources", true, &g->mig_sources);
}

static int read_gpu(const struct loadctx *lc, const cJSON *e, struct cat_gpu *g)
{
    memset(g, 0, sizeof *g);
    g->notes = g->sources = "";
    int rc = cf_read_all(lc, e, gpu_fields, sizeof gpu_fields / sizeof gpu_fields[0], "a gpu", g);
    if (rc)
        return rc;
    rc = check_id(lc, e, g->id, true);
    if (rc)
        return rc;
    g->bf16_supported = g->fp8_supported = g->int8_supported = true;
    const cJSON *un = cJSON_GetObjectItemCaseSensitive(e, "unsupported");
    if (un) {
        if (!cJSON_IsArray(un))
            return mu_json_err(lc->doc, un, lc->err, SIM_EINVAL,
                               "'unsupported' must be an array of 'bf16', 'fp8', 'int8'");
        for (const cJSON *u = un->child; u; u = u->next) {
            if (cJSON_IsString(u) && !strcmp(u->valuestring, "bf16"))
                g->bf16_supported = false;
            else if (cJSON_IsString(u) && !strcmp(u->valuestring, "fp8"))
                g->fp8_supported = false;
            else if (cJSON_IsString(u) && !strcmp(u->valuestring, "int8"))
                g->int8_supported = false;
            else {
                char shown[64];
                return mu_json_err(lc->doc, u, lc->err, SIM_EINVAL,
                                   "'unsupported' entries must be 'bf16', 'fp8' or 'int8', "
                                   "got %s",
                                   mu_json_show(u, shown, sizeof shown));
            }
        }
    }
    if (g->interconnect[0] && strcmp(g->interconnect, "nvlink"))
        return mu_json_err(lc->doc, cJSON_GetObjectItemCaseSensitive(e, "interconnect"),
                           lc->err, SIM_EINVAL,
                           "'interconnect' must be 'nvlink' or null, got '%s'",
                           g->interconnect);
    if (!isnan(g->memory_mib_k8s))
        g->memory_bytes = g->memory_mib_k8s * 1048576.0;
    else if (!strncmp(g->memory_type, "HBM", 3))
        g->memory_bytes = g->memory_gb * 1073741824.0;
    else
        g->memory_bytes = g->memory_gb * 1e9;
    g->origin = lc->doc->path;
    g->mig_sources = "";
    const cJSON *mig = cJSON_GetObjectItemCaseSensitive(e, "mig");
    if (mig && (rc = read_mig(lc, mig, g)) != SIM_OK)
        return rc;
    return read_sources(lc, e, "sources", true, &g->sources);
}

/* ---- instances -------------------------------------------------------------------- */

#define I(f) offsetof(struct cat_instance, f)
static const struct cf_spec inst_fields[] = {
    {"id", CF_STR, I(id), CAT_ID_MAX, 1, 0, true, false, ""},
    {"cloud", CF_STR, I(cloud), 8, 1, 0, true, false, ""},
    {"gpu", CF_STR, I(gpu), CAT_ID_MAX, 1, 0, true, false, ""},
    {"n_gpus", CF_INT, I(n_gpus), 0, 1, 64, true, false, "GPUs"},
    {"vcpu", CF_NUM, I(vcpu), 0, 1, 1e5, true, false, "vCPU"},
    {"memory_gib", CF_NUM, I(memory_gib), 0, 0.1, 1e6, true, true, "GiB"},
    {"gpu_memory_mib_k8s", CF_NUM, I(gpu_memory_mib_k8s), 0, 1, 1e9, false, true, "MiB"},
    {"local_nvme_gb", CF_NUM, I(local_nvme_gb), 0, 0, 1e9, false, true, "GB"},
    {"network", CF_CUSTOM, 0, 0, 0, 0, false, false, ""},
    {"allocatable_cpu_m", CF_NUM, I(allocatable_cpu_m), 0, 1, 1e9, false, true, "millicores"},
    {"allocatable_memory_mib", CF_NUM, I(allocatable_memory_mib), 0, 1, 1e12, false, true,
     "MiB"},
    {"on_demand", CF_CUSTOM, 0, 0, 0, 0, true, false, ""},
    {"spot", CF_CUSTOM, 0, 0, 0, 0, false, false, ""},
    {"spot_notice_s", CF_NUM, I(spot_notice_s), 0, 0, 86400, false, true, "s"},
    {"notes", CF_OSTR, I(notes), 0, 0, 0, false, true, ""},
    {"sources", CF_CUSTOM, 0, 0, 0, 0, false, false, ""}, /* read_sources checks */
};
#undef I

struct price_block {
    double usd_per_hour;
    char region[32];
    char date[16];
};

#define P(f) offsetof(struct price_block, f)
static const struct cf_spec od_fields[] = {
    {"usd_per_hour", CF_NUM, P(usd_per_hour), 0, 0, 1e5, true, false, "USD/hour"},
    {"region", CF_STR, P(region), 32, 1, 0, true, false, ""},
    {"date", CF_STR, P(date), 16, 0, 0, true, true, ""},
    {"source", CF_CUSTOM, 0, 0, 0, 0, true, false, ""},
};
static const struct cf_spec spot_fields[] = {
    {"region", CF_STR, P(region), 32, 1, 0, true, false, ""},
    {"date", CF_STR, P(date), 16, 0, 0, true, true, ""},
    {"source", CF_CUSTOM, 0, 0, 0, 0, true, false, ""},
    {"zones", CF_CUSTOM, 0, 0, 0, 0, true, false, ""},
};
#undef P

#define Z(f) offsetof(struct cat_spot_zone, f)
static const struct cf_spec zone_fields[] = {
    {"zone", CF_STR, Z(zone), 32, 1, 0, true, false, ""},
    {"usd_per_hour", CF_NUM, Z(usd_per_hour), 0, 0, 1e5, true, false, "USD/hour"},
    {"local_zone", CF_BOOL, Z(local_zone), 0, 0, 0, false, false, ""},
    {"likely_no_capacity", CF_BOOL, Z(likely_no_capacity), 0, 0, 0, false, false, ""},
};
#undef Z

static int check_date(const struct loadctx *lc, const cJSON *obj, const char *date)
{
    if (!date[0])
        return SIM_OK;
    bool ok = strlen(date) == 10 && date[4] == '-' && date[7] == '-';
    for (int i = 0; ok && i < 10; i++)
        if (i != 4 && i != 7)
            ok = date[i] >= '0' && date[i] <= '9';
    bool real = ok;
    if (ok) {
        /* The shape alone let "2026-13-01" and "2026-02-30" through. */
        static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int y = atoi(date), mo = (date[5] - '0') * 10 + (date[6] - '0'),
            d = (date[8] - '0') * 10 + (date[9] - '0');
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        real = mo >= 1 && mo <= 12 && d >= 1 && d <= mdays[mo - 1] &&
               !(mo == 2 && d == 29 && !leap);
    }
    if (!real)
        return mu_json_err(lc->doc, cJSON_GetObjectItemCaseSensitive(obj, "date"), lc->err,
                           SIM_EINVAL, "'date' must be YYYY-MM-DD, got '%s'%s", date,
                           ok ? " (no such date)" : "");
    return SIM_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int read_instance(const struct loadctx *lc, const cJSON *e, struct cat_instance *in)
{
    memset(in, 0, sizeof *in);
    in->notes = in->sources = in->on_demand_source = in->spot_source = "";
    in->spot_min_usd_per_hour = in->spot_median_usd_per_hour = NAN;
    in->spot_notice_s = NAN;
    int rc = cf_read_all(lc, e, inst_fields, sizeof inst_fields / sizeof inst_fields[0],
                         "an instance", in);
    if (rc)
        return rc;
    rc = check_id(lc, e, in->id, false);
    if (rc)
        return rc;
    if (strcmp(in->cloud, "aws") && strcmp(in->cloud, "azure"))
        return mu_json_err(lc->doc, cJSON_GetObjectItemCaseSensitive(e, "cloud"), lc->err,
                           SIM_EINVAL, "'cloud' must be 'aws' or 'azure', got '%s'", in->cloud);
    const cJSON *net = cJSON_GetObjectItemCaseSensitive(e, "network");
    if (net && !cJSON_IsNull(net) && !cJSON_IsString(net))
        return mu_json_err(lc->doc, net, lc->err, SIM_EINVAL,
                           "'network' must be a string or null");

    struct price_block pb;
    const cJSON *od = cJSON_GetObjectItemCaseSensitive(e, "on_demand");
    rc = cf_read_all(lc, od, od_fields, sizeof od_fields / sizeof od_fields[0],
                     "'on_demand'", &pb);
    if (rc == SIM_OK)
        rc = check_date(lc, od, pb.date);
    if (rc == SIM_OK)
        rc = read_sources(lc, od, "source", true, &in->on_demand_source);
    if (rc)
        return rc;
    in->on_demand_usd_per_hour = pb.usd_per_hour;
    memcpy(in->on_demand_region, pb.region, sizeof pb.region);
    memcpy(in->on_demand_date, pb.date, sizeof pb.date);

    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(e, "spot");
    if (sp && !cJSON_IsNull(sp)) {
        rc = cf_read_all(lc, sp, spot_fields, sizeof spot_fields / sizeof spot_fields[0],
                         "'spot'", &pb);
        if (rc == SIM_OK)
            rc = check_date(lc, sp, pb.date);
        if (rc == SIM_OK)
            rc = read_sources(lc, sp, "source", true, &in->spot_source);
        if (rc)
            return rc;
        memcpy(in->spot_region, pb.region, sizeof pb.region);
        memcpy(in->spot_date, pb.date, sizeof pb.date);
        const cJSON *zs = cJSON_GetObjectItemCaseSensitive(sp, "zones");
        if (!cJSON_IsArray(zs) || cJSON_GetArraySize(zs) == 0)
            return mu_json_err(lc->doc, zs, lc->err, SIM_EINVAL,
                               "'zones' must be a non-empty array (use \"spot\": null when "
                               "there is no spot price)");
        size_t nz = (size_t)cJSON_GetArraySize(zs);
        struct cat_spot_zone *z = calloc(nz, sizeof *z);
        double *elig = calloc(nz, sizeof *elig);
        if (!z || !elig) { /* own() takes z (and frees it when it cannot) */
            free(z);
            free(elig);
            return mu_err_set(lc->err, SIM_ENOMEM, "out of memory");
        }
        if (own(lc->c, z)) {
            free(elig);
            return mu_err_set(lc->err, SIM_ENOMEM, "out of memory");
        }
        size_t k = 0, ne = 0;
        for (const cJSON *zz = zs->child; zz; zz = zz->next, k++) {
            rc = cf_read_all(lc, zz, zone_fields, sizeof zone_fields / sizeof zone_fields[0],
                             "a spot zone", &z[k]);
            if (rc) {
                free(elig);
                return rc;
            }
            if (!z[k].local_zone && !z[k].likely_no_capacity)
                elig[ne++] = z[k].usd_per_hour;
        }
        in->spot_zones = z;
        in->n_spot_zones = nz;
        if (ne > 0) {
            qsort(elig, ne, sizeof *elig, cmp_double);
            in->spot_min_usd_per_hour = elig[0];
            in->spot_median_usd_per_hour =
                ne % 2 ? elig[ne / 2] : 0.5 * (elig[ne / 2 - 1] + elig[ne / 2]);
        }
        free(elig);
    }
    in->origin = lc->doc->path;
    return read_sources(lc, e, "sources", true, &in->sources);
}

/* ---- models ----------------------------------------------------------------------- */

#define M(f) offsetof(struct cat_model, f)
static const struct cf_spec model_fields[] = {
    {"id", CF_STR, M(id), CAT_ID_MAX, 1, 0, true, false, ""},
    {"name", CF_STR, M(name), CAT_NAME_MAX, 1, 0, true, false, ""},
    {"hf_id", CF_STR, M(hf_id), CAT_NAME_MAX, 1, 0, false, false, ""},
    {"num_layers", CF_INT, M(num_layers), 0, 1, 1000, true, false, ""},
    {"hidden_size", CF_INT, M(hidden_size), 0, 1, 1 << 20, true, false, ""},
    {"num_heads", CF_INT, M(num_heads), 0, 1, 4096, true, false, ""},
    {"num_kv_heads", CF_INT, M(num_kv_heads), 0, 1, 4096, true, false, ""},
    {"head_dim", CF_INT, M(head_dim), 0, 1, 4096, true, false, ""},
    {"intermediate_size", CF_INT, M(intermediate_size), 0, 1, 1 << 22, true, false, ""},
    {"vocab_size", CF_INT, M(vocab_size), 0, 1, 1 << 24, true, false, ""},
    {"max_position_embeddings", CF_I64, M(max_position_embeddings), 0, 1, 1e9, true, true,
     "tokens"},
    {"sliding_window", CF_INT, M(sliding_window), 0, 1, 1e9, false, true, "tokens"},
    {"num_experts", CF_INT, M(num_experts), 0, 0, 4096, false, false, ""},
    {"experts_top_k", CF_INT, M(experts_top_k), 0, 0, 4096, false, false, ""},
    {"qkv_bias", CF_BOOL, M(qkv_bias), 0, 0, 0, false, false, ""},
    {"tie_word_embeddings", CF_BOOL, M(tie_word_embeddings), 0, 0, 0, false, false, ""},
    {"params_total_b", CF_NUM, M(params_total_b), 0, 0.0001, 1e5, false, true, "1e9 params"},
    {"params_active_b", CF_NUM, M(params_active_b), 0, 0.0001, 1e5, false, true, "1e9 params"},
    {"notes", CF_OSTR, M(notes), 0, 0, 0, false, true, ""},
    {"sources", CF_CUSTOM, 0, 0, 0, 0, false, false, ""}, /* read_sources checks */
};
#undef M

static int read_model(const struct loadctx *lc, const cJSON *e, struct cat_model *m)
{
    memset(m, 0, sizeof *m);
    m->notes = m->sources = "";
    int rc = cf_read_all(lc, e, model_fields, sizeof model_fields / sizeof model_fields[0],
                         "a model", m);
    if (rc)
        return rc;
    rc = check_id(lc, e, m->id, true);
    if (rc)
        return rc;
    if (m->num_heads % m->num_kv_heads)
        return mu_json_err(lc->doc, cJSON_GetObjectItemCaseSensitive(e, "num_kv_heads"),
                           lc->err, SIM_EINVAL,
                           "'num_kv_heads' must divide 'num_heads' (%d), got '%d'",
                           m->num_heads, m->num_kv_heads);
    if ((m->num_experts == 0) != (m->experts_top_k == 0) ||
        m->experts_top_k > m->num_experts)
        return mu_json_err(lc->doc, cJSON_GetObjectItemCaseSensitive(e, "experts_top_k"),
                           lc->err, SIM_EINVAL,
                           "'experts_top_k' must be in [1, num_experts] for a MoE model and 0 "
                           "for a dense one, got '%d' with %d experts",
                           m->experts_top_k, m->num_experts);
    m->origin = lc->doc->path;
    return read_sources(lc, e, "sources", true, &m->sources);
}

/* ---- files ------------------------------------------------------------------------ */

struct staged {
    struct cat_gpu *gpus;
    size_t n_gpus;
    struct cat_instance *insts;
    size_t n_insts;
    struct cat_model *models;
    size_t n_models;
};

static void staged_release(struct staged *s)
{
    free(s->gpus);
    free(s->insts);
    free(s->models);
}

/* Read one array section into a staged array; ids must be unique within the file. */
static int read_section(const struct loadctx *lc, const cJSON *root, const char *key,
                        size_t elem, void **out, size_t *n_out)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, key);
    *out = NULL;
    *n_out = 0;
    if (!arr)
        return SIM_OK;
    if (!cJSON_IsArray(arr))
        return mu_json_err(lc->doc, arr, lc->err, SIM_EINVAL, "'%s' must be an array", key);
    size_t n = (size_t)cJSON_GetArraySize(arr);
    if (n == 0)
        return SIM_OK;
    char *items = calloc(n, elem);
    if (!items)
        return mu_err_set(lc->err, SIM_ENOMEM, "out of memory");
    size_t k = 0;
    for (const cJSON *e = arr->child; e; e = e->next, k++) {
        int rc;
        char *slot = items + k * elem;
        const char *id;
        if (!strcmp(key, "gpus")) {
            rc = read_gpu(lc, e, (struct cat_gpu *)(void *)slot);
            id = ((struct cat_gpu *)(void *)slot)->id;
        } else if (!strcmp(key, "instances")) {
            rc = read_instance(lc, e, (struct cat_instance *)(void *)slot);
            id = ((struct cat_instance *)(void *)slot)->id;
        } else {
            rc = read_model(lc, e, (struct cat_model *)(void *)slot);
            id = ((struct cat_model *)(void *)slot)->id;
        }
        if (rc) {
            free(items);
            return rc;
        }
        for (size_t j = 0; j < k; j++) {
            const char *other = items + j * elem; /* id is the first member of each */
            if (!mu_strcasecmp(other, id)) {
                char dup[CAT_ID_MAX];
                memcpy(dup, id, strlen(id) + 1);
                free(items);
                return mu_json_err(lc->doc, cJSON_GetObjectItemCaseSensitive(e, "id"),
                                   lc->err, SIM_EINVAL, "duplicate id '%s' in '%s'", dup, key);
            }
        }
    }
    *out = items;
    *n_out = n;
    return SIM_OK;
}

static int read_file_staged(struct catalog *c, const struct mu_json *doc, struct staged *st,
                            struct sim_err *err)
{
    struct loadctx lc = {c, doc, err};
    const cJSON *root = doc->root;
    memset(st, 0, sizeof *st);
    if (!cJSON_IsObject(root))
        return mu_json_err(doc, root, err, SIM_EINVAL,
                           "a catalog file must be a JSON object with 'format': '" CAT_FORMAT
                           "'");
    static const struct cf_spec top[] = {
        {"format", CF_CUSTOM, 0, 0, 0, 0, true, false, ""},
        {"version", CF_CUSTOM, 0, 0, 0, 0, true, false, ""},
        {"note", CF_CUSTOM, 0, 0, 0, 0, false, false, ""},
        {"gpus", CF_CUSTOM, 0, 0, 0, 0, false, false, ""},
        {"instances", CF_CUSTOM, 0, 0, 0, 0, false, false, ""},
        {"models", CF_CUSTOM, 0, 0, 0, 0, false, false, ""},
    };
    int rc = cf_check_keys(&lc, root, top, sizeof top / sizeof top[0], "a catalog file");
    if (rc)
        return rc;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!fmt || !cJSON_IsString(fmt) || strcmp(fmt->valuestring, CAT_FORMAT)) {
        char shown[96];
        return mu_json_err(doc, fmt ? fmt : root, err, SIM_EINVAL,
                           "'format' must be '" CAT_FORMAT "', got %s",
                           mu_json_show(fmt, shown, sizeof shown));
    }
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (!ver || !cJSON_IsNumber(ver) || ver->valuedouble != 1.0) {
        char shown[80];
        return mu_json_err(doc, ver ? ver : root, err, SIM_EINVAL,
                           "'version' must be 1, got %s", show_num(ver, shown, sizeof shown));
    }
    void *p;
    rc = read_section(&lc, root, "gpus", sizeof(struct cat_gpu), &p, &st->n_gpus);
    st->gpus = p;
    if (rc == SIM_OK) {
        rc = read_section(&lc, root, "instances", sizeof(struct cat_instance), &p, &st->n_insts);
        st->insts = p;
    }
    if (rc == SIM_OK) {
        rc = read_section(&lc, root, "models", sizeof(struct cat_model), &p, &st->n_models);
        st->models = p;
    }
    if (rc)
        staged_release(st);
    return rc;
}

/* Insert or replace by id; returns SIM_OK or SIM_ENOMEM. */
#define UPSERT(arr, n, cap, item)                                                          \
    do {                                                                                   \
        size_t i_;                                                                         \
        for (i_ = 0; i_ < (n); i_++)                                                       \
            if (!mu_strcasecmp((arr)[i_].id, (item).id))                                   \
                break;                                                                     \
        if (i_ == (n)) {                                                                   \
            if ((n) == (cap)) {                                                            \
                size_t nc_ = (cap) ? 2 * (cap) : 16;                                       \
                void *np_ = realloc((arr), nc_ * sizeof *(arr));                           \
                if (!np_)                                                                  \
                    return SIM_ENOMEM;                                                     \
                (arr) = np_;                                                               \
                (cap) = nc_;                                                               \
            }                                                                              \
            (n)++;                                                                         \
        }                                                                                  \
        (arr)[i_] = (item);                                                                \
    } while (0)

static int ensure_caps(struct catalog *c, const struct staged *st)
{
    /* Grow first so that applying cannot fail half-way. */
    size_t want[3] = {c->n_gpus + st->n_gpus, c->n_insts + st->n_insts,
                      c->n_models + st->n_models};
    if (want[0] > c->cap_gpus) {
        void *np = realloc(c->gpus, want[0] * sizeof *c->gpus);
        if (!np)
            return SIM_ENOMEM;
        c->gpus = np;
        c->cap_gpus = want[0];
    }
    if (want[1] > c->cap_insts) {
        void *np = realloc(c->insts, want[1] * sizeof *c->insts);
        if (!np)
            return SIM_ENOMEM;
        c->insts = np;
        c->cap_insts = want[1];
    }
    if (want[2] > c->cap_models) {
        void *np = realloc(c->models, want[2] * sizeof *c->models);
        if (!np)
            return SIM_ENOMEM;
        c->models = np;
        c->cap_models = want[2];
    }
    return SIM_OK;
}

static int apply_staged(struct catalog *c, const struct staged *st)
{
    if (ensure_caps(c, st))
        return SIM_ENOMEM;
    for (size_t i = 0; i < st->n_gpus; i++)
        UPSERT(c->gpus, c->n_gpus, c->cap_gpus, st->gpus[i]);
    for (size_t i = 0; i < st->n_insts; i++)
        UPSERT(c->insts, c->n_insts, c->cap_insts, st->insts[i]);
    for (size_t i = 0; i < st->n_models; i++)
        UPSERT(c->models, c->n_models, c->cap_models, st->models[i]);
    return SIM_OK;
}

static int id_cmp(const char *a, const char *b)
{
    char la[CAT_ID_MAX], lb[CAT_ID_MAX];
    mu_lower_copy(la, a, sizeof la);
    mu_lower_copy(lb, b, sizeof lb);
    int r = strcmp(la, lb);
    return r ? r : strcmp(a, b);
}

static int gpu_cmp(const void *a, const void *b)
{
    return id_cmp(((const struct cat_gpu *)a)->id, ((const struct cat_gpu *)b)->id);
}

static int inst_cmp(const void *a, const void *b)
{
    return id_cmp(((const struct cat_instance *)a)->id, ((const struct cat_instance *)b)->id);
}

static int model_cmp(const void *a, const void *b)
{
    return id_cmp(((const struct cat_model *)a)->id, ((const struct cat_model *)b)->id);
}

static void sort_all(struct catalog *c)
{
    if (c->n_gpus)
        qsort(c->gpus, c->n_gpus, sizeof *c->gpus, gpu_cmp);
    if (c->n_insts)
        qsort(c->insts, c->n_insts, sizeof *c->insts, inst_cmp);
    if (c->n_models)
        qsort(c->models, c->n_models, sizeof *c->models, model_cmp);
}

static const struct cat_gpu *find_gpu(const struct catalog *c, const char *id)
{
    for (size_t i = 0; i < c->n_gpus; i++)
        if (!mu_strcasecmp(c->gpus[i].id, id))
            return &c->gpus[i];
    return NULL;
}

/* Every instance of the staged file must name a GPU known to the file or the catalog. */
static int check_instance_gpus(const struct catalog *c, const struct mu_json *doc,
                               const struct staged *st, struct sim_err *err)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc->root, "instances");
    const cJSON *e = arr ? arr->child : NULL;
    for (size_t i = 0; i < st->n_insts; i++, e = e ? e->next : NULL) {
        bool found = find_gpu(c, st->insts[i].gpu) != NULL;
        for (size_t j = 0; j < st->n_gpus && !found; j++)
            found = !mu_strcasecmp(st->gpus[j].id, st->insts[i].gpu);
        if (!found)
            return mu_json_err(doc, e ? cJSON_GetObjectItemCaseSensitive(e, "gpu") : NULL, err,
                               SIM_EINVAL,
                               "instance '%s' names gpu '%s', which is not in the catalog",
                               st->insts[i].id, st->insts[i].gpu);
    }
    return SIM_OK;
}

static int load_one(struct catalog *c, const char *path, struct sim_err *err)
{
    /* The path string must live as long as the catalog: entries point at it. */
    const char *kept = own_str(c, path);
    if (!kept)
        return mu_err_set(err, SIM_ENOMEM, "out of memory");
    struct mu_json doc;
    int rc = mu_json_load(&doc, kept, err);
    if (rc)
        return rc;
    struct staged st;
    rc = read_file_staged(c, &doc, &st, err);
    if (rc == SIM_OK) {
        rc = check_instance_gpus(c, &doc, &st, err);
        if (rc == SIM_OK && apply_staged(c, &st))
            rc = mu_err_set(err, SIM_ENOMEM, "out of memory");
        staged_release(&st);
    }
    mu_json_release(&doc);
    return rc;
}

struct catalog *catalog_new(const char *dir, struct sim_err *err)
{
    if (!dir)
        dir = catalog_default_dir();
    struct catalog *c = calloc(1, sizeof *c);
    if (!c) {
        mu_err_set(err, SIM_ENOMEM, "out of memory");
        return NULL;
    }
    static const char *const files[] = {"gpus.json", "models.json", "instances.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024];
        int w = snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (w < 0 || (size_t)w >= sizeof path) {
            mu_err_set(err, SIM_EINVAL, "catalog folder path is too long: '%.200s'", dir);
            goto fail;
        }
        if (load_one(c, path, err))
            goto fail;
    }
    sort_all(c);
    return c;
fail:
    catalog_free(c);
    return NULL;
}

int catalog_add_file(struct catalog *c, const char *path, struct sim_err *err)
{
    int rc = load_one(c, path, err);
    if (rc == SIM_OK)
        sort_all(c);
    return rc;
}

void catalog_free(struct catalog *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_owned; i++)
        free(c->owned[i]);
    free(c->owned);
    free(c->gpus);
    free(c->insts);
    free(c->models);
    free(c);
}

/* ---- lookups ---------------------------------------------------------------------- */

static void unknown(const char *what, const char *list, const char *query,
                    const char *const *names, size_t n, struct sim_err *err)
{
    char sugg[256];
    mu_suggest(sugg, sizeof sugg, query, names, n);
    if (sugg[0])
        mu_err_set(err, SIM_ENOENT, "unknown %s '%s'; %s (see 'llmcap catalog %s')", what,
                   query, sugg, list);
    else
        mu_err_set(err, SIM_ENOENT, "unknown %s '%s' (see 'llmcap catalog %s')", what, query,
                   list);
}

#define LOOKUP(arr, n, what, list)                                                         \
    do {                                                                                   \
        if (!id)                                                                           \
            id = "";                                                                       \
        for (size_t i_ = 0; i_ < (n); i_++)                                                \
            if (!mu_strcasecmp((arr)[i_].id, id))                                          \
                return &(arr)[i_];                                                         \
        const char **names_ = malloc(((n) ? (n) : 1) * sizeof *names_);                    \
        if (!names_) {                                                                     \
            mu_err_set(err, SIM_ENOMEM, "out of memory");                                  \
            return NULL;                                                                   \
        }                                                                                  \
        for (size_t i_ = 0; i_ < (n); i_++)                                                \
            names_[i_] = (arr)[i_].id;                                                     \
        unknown(what, list, id, names_, (n), err);                                         \
        free(names_);                                                                      \
        return NULL;                                                                       \
    } while (0)

const struct cat_gpu *catalog_gpu(const struct catalog *c, const char *id, struct sim_err *err)
{
    LOOKUP(c->gpus, c->n_gpus, "gpu", "gpus");
}

const struct cat_instance *catalog_instance(const struct catalog *c, const char *id,
                                            struct sim_err *err)
{
    LOOKUP(c->insts, c->n_insts, "instance type", "instances");
}

const struct cat_model *catalog_model(const struct catalog *c, const char *id,
                                      struct sim_err *err)
{
    LOOKUP(c->models, c->n_models, "model", "models");
}

size_t catalog_n_gpus(const struct catalog *c)
{
    return c->n_gpus;
}

size_t catalog_n_instances(const struct catalog *c)
{
    return c->n_insts;
}

size_t catalog_n_models(const struct catalog *c)
{
    return c->n_models;
}

const struct cat_gpu *catalog_gpu_at(const struct catalog *c, size_t i)
{
    return i < c->n_gpus ? &c->gpus[i] : NULL;
}

const struct cat_instance *catalog_instance_at(const struct catalog *c, size_t i)
{
    return i < c->n_insts ? &c->insts[i] : NULL;
}

const struct cat_model *catalog_model_at(const struct catalog *c, size_t i)
{
    return i < c->n_models ? &c->models[i] : NULL;
}

/* ---- listing ---------------------------------------------------------------------- */

/* A number as listed: "-" when not found, "n/a" when the hardware lacks it. */
static const char *num(char *buf, size_t n, double x, bool supported)
{
    if (!supported)
        snprintf(buf, n, "n/a");
    else if (isnan(x))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.6g", x);
    return buf;
}

/* The quality tags of a sources string, in order: "[S] a; [P] b" -> "S,P". */
static void tags_of(char *buf, size_t n, const char *sources)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const char *p = sources; *p && used + 3 < n; p++) {
        if (p[0] == '[' && p[1] && p[2] == ']' && (p == sources || p[-1] == ' ')) {
            if (used)
                buf[used++] = ',';
            buf[used++] = p[1];
            buf[used] = '\0';
        }
    }
}

static int idw(size_t n, const char *(*get)(const struct catalog *, size_t),
               const struct catalog *c)
{
    size_t w = 2;
    for (size_t i = 0; i < n; i++)
        if (strlen(get(c, i)) > w)
            w = strlen(get(c, i));
    return (int)w;
}

static const char *gpu_id_at(const struct catalog *c, size_t i)
{
    return c->gpus[i].id;
}

static const char *inst_id_at(const struct catalog *c, size_t i)
{
    return c->insts[i].id;
}

static const char *model_id_at(const struct catalog *c, size_t i)
{
    return c->models[i].id;
}

int catalog_write_gpus(const struct catalog *c, FILE *out)
{
    int w = idw(c->n_gpus, gpu_id_at, c);
    fprintf(out, "%-*s  %9s  %-6s  %18s  %11s  %10s  %9s  %5s  %21s  %s\n", w, "id",
            "memory_gb", "type", "bandwidth_gb_per_s", "bf16_tflops", "fp8_tflops",
            "int8_tops", "tdp_w", "interconnect_gb_per_s", "sources");
    for (size_t i = 0; i < c->n_gpus; i++) {
        const struct cat_gpu *g = &c->gpus[i];
        char a[24], b[24], d[24], e[24], f[24], h[24], k[24], t[64];
        tags_of(t, sizeof t, g->sources);
        double bf16 = g->bf16_supported ? g->bf16_tflops : g->fp16_tflops;
        fprintf(out, "%-*s  %9s  %-6s  %18s  %11s  %10s  %9s  %5s  %21s  %s\n", w, g->id,
                num(a, sizeof a, g->memory_gb, true), g->memory_type[0] ? g->memory_type : "-",
                num(b, sizeof b, g->bandwidth_gb_per_s, true), num(d, sizeof d, bf16, true),
                num(e, sizeof e, g->fp8_tflops, g->fp8_supported),
                num(f, sizeof f, g->int8_tops, g->int8_supported),
                num(h, sizeof h, g->tdp_w, true),
                num(k, sizeof k, g->interconnect_gb_per_s, true), t);
    }
    return ferror(out) ? SIM_EIO : SIM_OK;
}

int catalog_write_mig(const struct catalog *c, FILE *out)
{
    int w = idw(c->n_gpus, gpu_id_at, c);
    fprintf(out, "%-*s  %-8s  %7s  %6s  %10s  %4s  %9s  %-17s  %s\n", w, "gpu", "profile",
            "compute", "memory", "memory_gib", "sms", "instances", "placements", "sources");
    for (size_t i = 0; i < c->n_gpus; i++) {
        const struct cat_gpu *g = &c->gpus[i];
        char t[64];
        tags_of(t, sizeof t, g->mig_sources);
        for (size_t k = 0; k < g->mig.n_profiles; k++) {
            const struct mig_profile *p = &g->mig.profiles[k];
            char gib[24], sms[24], cs[16], ms[16], pl[64];
            size_t used = 0;
            pl[0] = '\0';
            for (int b = 0; b < 32 && used < sizeof pl; b++)
                if (p->placements & (1u << b)) {
                    int x = snprintf(pl + used, sizeof pl - used, "%s%d", used ? "," : "{", b);
                    used += x > 0 ? (size_t)x : 0;
                }
            if (used < sizeof pl)
                snprintf(pl + used, sizeof pl - used, "}:%d", p->memory_slices);
            snprintf(cs, sizeof cs, "%d/%d", p->compute_slices, g->mig.compute_slices);
            snprintf(ms, sizeof ms, "%d/%d", p->memory_slices, g->mig.memory_slices);
            fprintf(out, "%-*s  %-8s  %7s  %6s  %10s  %4s  %9d  %-17s  %s\n", w, g->id, p->name,
                    cs, ms, num(gib, sizeof gib, p->memory_gib, true),
                    num(sms, sizeof sms, p->sms > 0 ? p->sms : NAN, true), p->max_instances,
                    pl, t);
        }
    }
    return ferror(out) ? SIM_EIO : SIM_OK;
}

int catalog_write_instances(const struct catalog *c, FILE *out)
{
    int w = idw(c->n_insts, inst_id_at, c);
    fprintf(out, "%-*s  %-5s  %-14s  %6s  %4s  %10s  %22s  %21s  %24s  %s\n", w, "id", "cloud",
            "gpu", "n_gpus", "vcpu", "memory_gib", "on_demand_usd_per_hour",
            "spot_min_usd_per_hour", "spot_median_usd_per_hour", "region");
    for (size_t i = 0; i < c->n_insts; i++) {
        const struct cat_instance *in = &c->insts[i];
        char a[24], b[24], d[24], e[24], f[24];
        fprintf(out, "%-*s  %-5s  %-14s  %6d  %4s  %10s  %22s  %21s  %24s  %s\n", w, in->id,
                in->cloud, in->gpu, in->n_gpus, num(a, sizeof a, in->vcpu, true),
                num(b, sizeof b, in->memory_gib, true),
                num(d, sizeof d, in->on_demand_usd_per_hour, true),
                num(e, sizeof e, in->spot_min_usd_per_hour, true),
                num(f, sizeof f, in->spot_median_usd_per_hour, true), in->on_demand_region);
    }
    return ferror(out) ? SIM_EIO : SIM_OK;
}

int catalog_write_models(const struct catalog *c, FILE *out)
{
    int w = idw(c->n_models, model_id_at, c);
    fprintf(out, "%-*s  %6s  %6s  %5s  %8s  %8s  %12s  %6s  %7s  %7s  %8s  %22s\n", w, "id",
            "layers", "hidden", "heads", "kv_heads", "head_dim", "intermediate", "vocab",
            "max_pos", "experts", "params_b", "kv_kib_per_token_16bit");
    for (size_t i = 0; i < c->n_models; i++) {
        const struct cat_model *m = &c->models[i];
        char mp[24], ex[24], pb[24], kv[24];
        if (m->max_position_embeddings > 0)
            snprintf(mp, sizeof mp, "%lld", (long long)m->max_position_embeddings);
        else
            snprintf(mp, sizeof mp, "-");
        if (m->num_experts)
            snprintf(ex, sizeof ex, "%dx top%d", m->num_experts, m->experts_top_k);
        else
            snprintf(ex, sizeof ex, "-");
        num(pb, sizeof pb, m->params_total_b, true);
        /* 2 (K and V) * layers * kv_heads * head_dim * 2 bytes, in KiB */
        snprintf(kv, sizeof kv, "%.6g",
                 2.0 * m->num_layers * m->num_kv_heads * m->head_dim * 2.0 / 1024.0);
        fprintf(out, "%-*s  %6d  %6d  %5d  %8d  %8d  %12d  %6d  %7s  %7s  %8s  %22s\n", w, m->id,
                m->num_layers, m->hidden_size, m->num_heads, m->num_kv_heads, m->head_dim,
                m->intermediate_size, m->vocab_size, mp, ex, pb, kv);
    }
    return ferror(out) ? SIM_EIO : SIM_OK;
}
