/* table.c: read latency tables (docs/latency-tables.md) and interpolate them with GSL. */
#include "models/table_int.h"

#include <gsl/gsl_interp.h>
#include <gsl/gsl_interp2d.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/mutil.h"

#define TAB_FORMAT "llmcap-latency-table"

static const char *const gemm_keys[TAB_N_GEMM] = {"qkv_proj", "o_proj", "gate_up_proj",
                                                  "down_proj", "lm_head"};

/* ---- lookups ---------------------------------------------------------------------- */

double lat_grid1_eval(const struct lat_grid1 *g, double x)
{
    size_t n = g->n;
    if (x <= g->x[0])
        return g->y[0];
    if (x >= g->x[n - 1]) {
        double slope = (g->y[n - 1] - g->y[n - 2]) / (g->x[n - 1] - g->x[n - 2]);
        double v = g->y[n - 1] + (x - g->x[n - 1]) * slope;
        return v > g->y[n - 1] ? v : g->y[n - 1];
    }
    return gsl_interp_eval(g->gsl, g->x, g->y, x, NULL);
}

/* Along y for the fixed row x_i, with the 1-D rules. */
static double row_eval(const struct lat_grid2 *g, size_t i, double y)
{
    size_t n = g->ny, nx = g->nx;
    const double *ya = g->y;
#define Z(j) g->z[(j) * nx + i]
    if (y <= ya[0])
        return Z(0);
    if (y >= ya[n - 1]) {
        double slope = (Z(n - 1) - Z(n - 2)) / (ya[n - 1] - ya[n - 2]);
        double v = Z(n - 1) + (y - ya[n - 1]) * slope;
        return v > Z(n - 1) ? v : Z(n - 1);
    }
    size_t j = gsl_interp_bsearch(ya, y, 0, n - 1);
    double f = (y - ya[j]) / (ya[j + 1] - ya[j]);
    return Z(j) + f * (Z(j + 1) - Z(j));
#undef Z
}

double lat_grid2_eval(const struct lat_grid2 *g, double x, double y)
{
    const double *xa = g->x;
    size_t n = g->nx;
    bool x_in = x >= xa[0] && x <= xa[n - 1];
    bool y_in = y >= g->y[0] && y <= g->y[g->ny - 1];
    if (x_in && y_in)
        return gsl_interp2d_eval(g->gsl, g->x, g->y, g->z, x, y, NULL, NULL);
    if (x <= xa[0])
        return row_eval(g, 0, y);
    if (x >= xa[n - 1]) {
        double a = row_eval(g, n - 2, y), b = row_eval(g, n - 1, y);
        double v = b + (x - xa[n - 1]) * (b - a) / (xa[n - 1] - xa[n - 2]);
        return v > b ? v : b;
    }
    size_t i = gsl_interp_bsearch(xa, x, 0, n - 1);
    double f = (x - xa[i]) / (xa[i + 1] - xa[i]);
    double a = row_eval(g, i, y), b = row_eval(g, i + 1, y);
    return a + f * (b - a);
}

void lat_grid2_row_init(struct lat_grid2_row *r, const struct lat_grid2 *g, double x)
{
    r->g = g;
    r->x = x;
    r->x_in = x >= g->x[0] && x <= g->x[g->nx - 1];
    r->xi = r->x_in ? gsl_interp_bsearch(g->x, x, 0, g->nx - 1) : 0;
    r->t = r->x_in ? (x - g->x[r->xi]) / (g->x[r->xi + 1] - g->x[r->xi]) : 0.0;
    r->yi = 0;
}

double lat_grid2_row_seek(struct lat_grid2_row *r, double y)
{
    const struct lat_grid2 *g = r->g;
    const double *ya = g->y;
    size_t ny = g->ny;
    if (!r->x_in || !(y >= ya[0] && y <= ya[ny - 1]))
        return lat_grid2_eval(g, r->x, y);
    r->yi = gsl_interp_bsearch(ya, y, 0, ny - 1);
    return lat_grid2_row_eval(r, y);
}

/* ---- reading ---------------------------------------------------------------------- */

struct rd {
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

static const cJSON *member(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static int want_object(const struct rd *rd, const cJSON *parent, const cJSON *v,
                       const char *path)
{
    if (!v)
        return mu_json_err(rd->doc, parent, rd->err, SIM_EINVAL, "missing '%s'", path);
    if (!cJSON_IsObject(v)) {
        char shown[64];
        return mu_json_err(rd->doc, v, rd->err, SIM_EINVAL, "'%s' must be an object, got %s",
                           path, mu_json_show(v, shown, sizeof shown));
    }
    return SIM_OK;
}

static int check_keys(const struct rd *rd, const cJSON *obj, const char *path,
                      const char *const *keys, size_t n)
{
    for (const cJSON *m = obj->child; m; m = m->next) {
        bool known = false;
        for (size_t i = 0; i < n && !known; i++)
            known = !strcmp(m->string, keys[i]);
        if (!known) {
            /* Say what would have been right: the nearest key, else all of them. */
            char hint[512];
            return mu_json_err_key(rd->doc, m, rd->err, SIM_EINVAL,
                                   "unknown key '%s%s%.100s' (%s)", path, path[0] ? "." : "",
                                   m->string, mu_key_hint(hint, sizeof hint, m->string, keys, n));
        }
    }
    return SIM_OK;
}

/* "path.key", or "key" at the top level. */
static const char *dotted(char *buf, size_t n, const char *path, const char *key)
{
    snprintf(buf, n, "%s%s%s", path, path[0] ? "." : "", key);
    return buf;
}

static int get_str(const struct rd *rd, const cJSON *obj, const char *key, const char *path,
                   bool required, char *dst, size_t n)
{
    const cJSON *v = member(obj, key);
    char name[96];
    dotted(name, sizeof name, path, key);
    dst[0] = '\0';
    if (!v || (cJSON_IsString(v) && !v->valuestring[0])) {
        if (required)
            return mu_json_err(rd->doc, v ? v : obj, rd->err, SIM_EINVAL,
                               "'%s' is required (a non-empty string)", name);
        return SIM_OK;
    }
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= n) {
        char shown[80];
        return mu_json_err(rd->doc, v, rd->err, SIM_EINVAL,
                           "'%s' must be a string of at most %zu characters, got %s", name,
                           n - 1, mu_json_show(v, shown, sizeof shown));
    }
    memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
    return SIM_OK;
}

static int get_int(const struct rd *rd, const cJSON *obj, const char *key, const char *path,
                   int min, int max, int *out)
{
    const cJSON *v = member(obj, key);
    char name[96];
    dotted(name, sizeof name, path, key);
    if (!v)
        return mu_json_err(rd->doc, obj, rd->err, SIM_EINVAL, "missing '%s'", name);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < min ||
        v->valuedouble > max) {
        char shown[80];
        return mu_json_err(rd->doc, v, rd->err, SIM_EINVAL,
                           "'%s' must be an integer in [%d, %d], got %s", name, min, max,
                           show_num(v, shown, sizeof shown));
    }
    *out = (int)v->valuedouble;
    return SIM_OK;
}

/* 0 for a real date "YYYY-MM-DD", 1 for another shape, 2 for a day that does not exist
 * ("2026-02-30", "2026-13-01"). */
static int date_check(const char *s)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return 1;
    int y = atoi(s), mo = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
        return 2;
    return 0;
}

static int read_provenance(const struct rd *rd, const cJSON *root, struct lat_tab *t)
{
    const cJSON *p = member(root, "provenance");
    int rc = want_object(rd, root, p, "provenance");
    if (rc)
        return rc;
    char kind[16];
    const cJSON *k = member(p, "kind");
    if (!k || !cJSON_IsString(k) || strlen(k->valuestring) >= sizeof kind) {
        char shown[64];
        return mu_json_err(rd->doc, k ? k : p, rd->err, SIM_EINVAL,
                           "'provenance.kind' must be 'measured', 'roofline' or 'published', "
                           "got %s",
                           mu_json_show(k, shown, sizeof shown));
    }
    memcpy(kind, k->valuestring, strlen(k->valuestring) + 1);
    if (!strcmp(kind, "measured"))
        t->prov = LAT_PROV_MEASURED;
    else if (!strcmp(kind, "roofline"))
        t->prov = LAT_PROV_ROOFLINE;
    else if (!strcmp(kind, "published"))
        t->prov = LAT_PROV_PUBLISHED;
    else
        return mu_json_err(rd->doc, k, rd->err, SIM_EINVAL,
                           "'provenance.kind' must be 'measured', 'roofline' or 'published', "
                           "got '%s'",
                           kind);
    bool m = t->prov == LAT_PROV_MEASURED;
    if ((rc = get_str(rd, p, "gpu", "provenance", m, t->prov_gpu, sizeof t->prov_gpu)) ||
        (rc = get_str(rd, p, "gpu_catalog", "provenance", false, t->prov_gpu_catalog,
                      sizeof t->prov_gpu_catalog)) ||
        (rc = get_str(rd, p, "driver", "provenance", m, t->prov_driver,
                      sizeof t->prov_driver)) ||
        (rc = get_str(rd, p, "cuda", "provenance", m, t->prov_cuda, sizeof t->prov_cuda)) ||
        (rc = get_str(rd, p, "date", "provenance", m, t->prov_date, sizeof t->prov_date)) ||
        (rc = get_str(rd, p, "tool", "provenance", m, t->prov_tool, sizeof t->prov_tool)) ||
        (rc = get_str(rd, p, "source", "provenance", t->prov == LAT_PROV_PUBLISHED,
                      t->prov_source, sizeof t->prov_source)) ||
        (rc = get_str(rd, p, "note", "provenance", t->prov == LAT_PROV_ROOFLINE, t->prov_note,
                      sizeof t->prov_note)))
        return rc;
    int bad_date = t->prov_date[0] ? date_check(t->prov_date) : 0;
    if (bad_date)
        return mu_json_err(rd->doc, member(p, "date"), rd->err, SIM_EINVAL,
                           "'provenance.date' must be YYYY-MM-DD, got '%s'%s", t->prov_date,
                           bad_date == 2 ? " (no such date)" : "");
    /* other provenance keys (settings, ...) are the writer's: kept out of the check */
    return SIM_OK;
}

static int read_model(const struct rd *rd, const cJSON *root, struct lat_tab *t)
{
    const cJSON *m = member(root, "model");
    int rc = want_object(rd, root, m, "model");
    if (rc)
        return rc;
    static const char *const keys[] = {
        "name",      "dtype",        "kv_cache_dtype",    "tensor_parallel_size",
        "num_layers", "hidden_size", "num_heads",         "num_kv_heads",
        "head_dim",  "intermediate_size", "vocab_size"};
    if ((rc = check_keys(rd, m, "model", keys, sizeof keys / sizeof keys[0])) ||
        (rc = get_str(rd, m, "name", "model", true, t->model, sizeof t->model)) ||
        (rc = get_str(rd, m, "dtype", "model", true, t->dtype, sizeof t->dtype)) ||
        (rc = get_str(rd, m, "kv_cache_dtype", "model", true, t->kv_dtype, sizeof t->kv_dtype)) ||
        (rc = get_int(rd, m, "tensor_parallel_size", "model", 1, 64, &t->tp)) ||
        (rc = get_int(rd, m, "num_layers", "model", 1, 1000, &t->layers)) ||
        (rc = get_int(rd, m, "hidden_size", "model", 1, 1 << 20, &t->hidden)) ||
        (rc = get_int(rd, m, "num_heads", "model", 1, 4096, &t->heads)) ||
        (rc = get_int(rd, m, "num_kv_heads", "model", 1, 4096, &t->kv_heads)) ||
        (rc = get_int(rd, m, "head_dim", "model", 1, 4096, &t->head_dim)) ||
        (rc = get_int(rd, m, "intermediate_size", "model", 1, 1 << 22, &t->intermediate)) ||
        (rc = get_int(rd, m, "vocab_size", "model", 1, 1 << 24, &t->vocab)))
        return rc;
    return SIM_OK;
}

/* An axis: strictly increasing integers >= min0 (1, or 0 for prefill context), >= 2 of
 * them. Allocates *out. */
static int read_axis(const struct rd *rd, const cJSON *obj, const char *key, const char *path,
                     int min0, double **out, size_t *n)
{
    const cJSON *a = member(obj, key);
    *out = NULL;
    *n = 0;
    if (!a)
        return mu_json_err(rd->doc, obj, rd->err, SIM_EINVAL, "missing '%s.%s'", path, key);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) < 2)
        return mu_json_err(rd->doc, a, rd->err, SIM_EINVAL,
                           "'%s.%s' must be an array of at least 2 grid points", path, key);
    size_t cnt = (size_t)cJSON_GetArraySize(a), i = 0;
    double *x = malloc(cnt * sizeof *x);
    if (!x)
        return mu_err_set(rd->err, SIM_ENOMEM, "out of memory");
    for (const cJSON *v = a->child; v; v = v->next, i++) {
        char shown[64];
        if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
            v->valuedouble < min0 || v->valuedouble > 1e9) {
            free(x);
            return mu_json_err(rd->doc, v, rd->err, SIM_EINVAL,
                               "'%s.%s' must hold integers >= %d, got %s", path, key, min0,
                               mu_json_show(v, shown, sizeof shown));
        }
        x[i] = v->valuedouble;
        if (i > 0 && !(x[i] > x[i - 1])) {
            double cur = x[i], prev = x[i - 1];
            free(x);
            return mu_json_err(rd->doc, v, rd->err, SIM_EINVAL,
                               "'%s.%s' must be strictly increasing, got '%.17g' after '%.17g'",
                               path, key, cur, prev);
        }
    }
    *out = x;
    *n = cnt;
    return SIM_OK;
}

static int bad_value(const struct rd *rd, const cJSON *v, const char *what)
{
    char shown[80];
    return mu_json_err(rd->doc, v, rd->err, SIM_EINVAL,
                       "'%s' must be a number in (0, %.15g] (us), got %s", what,
                       LAT_TABLE_US_MAX,
                       show_num(v, shown, sizeof shown));
}

/* n values > 0 into dst[stride * k + off] for k = 0..n-1. */
static int read_values(const struct rd *rd, const cJSON *a, const char *path, size_t n,
                       const char *axis, double *dst, size_t stride, size_t off)
{
    if (!a)
        return SIM_EINVAL; /* callers check presence */
    if (!cJSON_IsArray(a) || (size_t)cJSON_GetArraySize(a) != n) {
        char shown[64];
        if (cJSON_IsArray(a))
            snprintf(shown, sizeof shown, "%d", cJSON_GetArraySize(a));
        else
            mu_json_show(a, shown, sizeof shown);
        return mu_json_err(rd->doc, a, rd->err, SIM_EINVAL,
                           "'%s' must have %zu values (one per '%s'), got %s", path, n, axis,
                           shown);
    }
    size_t k = 0;
    for (const cJSON *v = a->child; v; v = v->next, k++) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble > 0.0 && v->valuedouble <= LAT_TABLE_US_MAX)) {
            char what[96];
            snprintf(what, sizeof what, "%s[%zu]", path, k);
            return bad_value(rd, v, what);
        }
        dst[stride * k + off] = v->valuedouble;
    }
    return SIM_OK;
}

static int init_grid1(struct lat_grid1 *g, struct sim_err *err)
{
    gsl_interp *in = gsl_interp_alloc(gsl_interp_linear, g->n);
    if (!in)
        return mu_err_set(err, SIM_ENOMEM, "out of memory");
    if (gsl_interp_init(in, g->x, g->y, g->n)) {
        gsl_interp_free(in);
        return mu_err_set(err, SIM_EINVAL, "interpolation setup failed");
    }
    g->gsl = in;
    return SIM_OK;
}

static int read_grid2(const struct rd *rd, const cJSON *ops, const char *name,
                      const char *xkey, int xmin, const char *ykey, int ymin,
                      struct lat_grid2 *g)
{
    char path[64];
    snprintf(path, sizeof path, "operators.%s", name);
    const cJSON *o = member(ops, name);
    int rc = want_object(rd, ops, o, path);
    if (rc)
        return rc;
    const char *const keys[] = {xkey, ykey, "us"};
    if ((rc = check_keys(rd, o, path, keys, 3)) ||
        (rc = read_axis(rd, o, xkey, path, xmin, &g->x, &g->nx)) ||
        (rc = read_axis(rd, o, ykey, path, ymin, &g->y, &g->ny)))
        return rc;
    const cJSON *us = member(o, "us");
    char upath[80];
    snprintf(upath, sizeof upath, "%s.us", path);
    if (!us)
        return mu_json_err(rd->doc, o, rd->err, SIM_EINVAL, "missing '%s'", upath);
    if (!cJSON_IsArray(us) || (size_t)cJSON_GetArraySize(us) != g->nx)
        return mu_json_err(rd->doc, us, rd->err, SIM_EINVAL,
                           "'%s' must have %zu rows (one per '%s'), got %d", upath, g->nx, xkey,
                           cJSON_IsArray(us) ? cJSON_GetArraySize(us) : 0);
    g->z = malloc(g->nx * g->ny * sizeof *g->z);
    if (!g->z)
        return mu_err_set(rd->err, SIM_ENOMEM, "out of memory");
    size_t i = 0;
    for (const cJSON *row = us->child; row; row = row->next, i++) {
        char rpath[96];
        snprintf(rpath, sizeof rpath, "%s[%zu]", upath, i);
        if ((rc = read_values(rd, row, rpath, g->ny, ykey, g->z, g->nx, i)))
            return rc;
    }
    gsl_interp2d *in = gsl_interp2d_alloc(gsl_interp2d_bilinear, g->nx, g->ny);
    if (!in)
        return mu_err_set(rd->err, SIM_ENOMEM, "out of memory");
    if (gsl_interp2d_init(in, g->x, g->y, g->z, g->nx, g->ny)) {
        gsl_interp2d_free(in);
        return mu_err_set(rd->err, SIM_EINVAL, "interpolation setup failed");
    }
    g->gsl = in;
    return SIM_OK;
}

static int read_operators(const struct rd *rd, const cJSON *root, struct lat_tab *t)
{
    const cJSON *ops = member(root, "operators");
    int rc = want_object(rd, root, ops, "operators");
    if (rc)
        return rc;
    static const char *const keys[] = {"gemm",     "decode_attention", "prefill_attention",
                                       "allreduce", "overhead_us",     "layer_us",
                                       "launch_us", "host_us",         "host_seq_us",
                                       "frontend_us"};
    if ((rc = check_keys(rd, ops, "operators", keys, sizeof keys / sizeof keys[0])))
        return rc;

    /* gemm */
    const cJSON *gm = member(ops, "gemm");
    if ((rc = want_object(rd, ops, gm, "operators.gemm")))
        return rc;
    static const char *const gkeys[] = {"tokens", "us"};
    size_t n;
    double *x;
    if ((rc = check_keys(rd, gm, "operators.gemm", gkeys, 2)) ||
        (rc = read_axis(rd, gm, "tokens", "operators.gemm", 1, &x, &n)))
        return rc;
    t->gemm[0].x = x; /* owned by gemm[0] */
    for (int op = 0; op < TAB_N_GEMM; op++) {
        t->gemm[op].x = x;
        t->gemm[op].n = n;
    }
    const cJSON *us = member(gm, "us");
    if ((rc = want_object(rd, gm, us, "operators.gemm.us")) ||
        (rc = check_keys(rd, us, "operators.gemm.us", gemm_keys, TAB_N_GEMM)))
        return rc;
    for (int op = 0; op < TAB_N_GEMM; op++) {
        char path[64];
        snprintf(path, sizeof path, "operators.gemm.us.%s", gemm_keys[op]);
        const cJSON *a = member(us, gemm_keys[op]);
        if (!a)
            return mu_json_err(rd->doc, us, rd->err, SIM_EINVAL, "missing '%s'", path);
        t->gemm[op].y = malloc(n * sizeof(double));
        if (!t->gemm[op].y)
            return mu_err_set(rd->err, SIM_ENOMEM, "out of memory");
        if ((rc = read_values(rd, a, path, n, "tokens", t->gemm[op].y, 1, 0)) ||
            (rc = init_grid1(&t->gemm[op], rd->err)))
            return rc;
    }

    if ((rc = read_grid2(rd, ops, "decode_attention", "batch", 1, "context_tokens", 1,
                         &t->decode)) ||
        (rc = read_grid2(rd, ops, "prefill_attention", "tokens", 1, "context_tokens", 0,
                         &t->prefill)))
        return rc;

    const cJSON *ar = member(ops, "allreduce");
    if (ar) {
        if ((rc = want_object(rd, ops, ar, "operators.allreduce")) ||
            (rc = check_keys(rd, ar, "operators.allreduce", gkeys, 2)) ||
            (rc = read_axis(rd, ar, "tokens", "operators.allreduce", 1, &t->allreduce.x,
                            &t->allreduce.n)))
            return rc;
        const cJSON *a = member(ar, "us");
        if (!a)
            return mu_json_err(rd->doc, ar, rd->err, SIM_EINVAL,
                               "missing 'operators.allreduce.us'");
        t->allreduce.y = malloc(t->allreduce.n * sizeof(double));
        if (!t->allreduce.y)
            return mu_err_set(rd->err, SIM_ENOMEM, "out of memory");
        if ((rc = read_values(rd, a, "operators.allreduce.us", t->allreduce.n, "tokens",
                              t->allreduce.y, 1, 0)) ||
            (rc = init_grid1(&t->allreduce, rd->err)))
            return rc;
        t->has_allreduce = true;
    }

    /* scalar terms: per iteration (overhead_us) and the step model's (all optional) */
    double *dst[] = {&t->overhead_us, &t->layer_us,    &t->launch_us,
                     &t->host_us,     &t->host_seq_us, &t->frontend_us};
    bool *has[] = {NULL, &t->has_layer_us, &t->has_launch_us, &t->has_host_us,
                   &t->has_host_seq_us, &t->has_frontend_us};
    for (int i = 0; i < 6; i++) {
        const char *name = keys[4 + i];
        const cJSON *ov = member(ops, name);
        *dst[i] = 0.0;
        if (!ov)
            continue;
        if (!cJSON_IsNumber(ov) ||
            !(ov->valuedouble >= 0.0 && ov->valuedouble <= LAT_TABLE_US_MAX)) {
            char shown[80];
            return mu_json_err(rd->doc, ov, rd->err, SIM_EINVAL,
                               "'operators.%s' must be a number in [0, %.15g] (us), got %s",
                               name, LAT_TABLE_US_MAX, show_num(ov, shown, sizeof shown));
        }
        *dst[i] = ov->valuedouble;
        if (has[i])
            *has[i] = true;
    }
    return SIM_OK;
}

int lat_tab_load(struct lat_tab *t, const char *path, struct sim_err *err)
{
    memset(t, 0, sizeof *t);
    struct mu_json doc;
    int rc = mu_json_load(&doc, path, err);
    if (rc)
        return rc;
    struct rd rd = {&doc, err};
    const cJSON *root = doc.root;
    if (!cJSON_IsObject(root)) {
        rc = mu_json_err(&doc, root, err, SIM_EINVAL,
                         "a latency table must be a JSON object with 'format': '" TAB_FORMAT "'");
        goto fail;
    }
    static const char *const keys[] = {"format", "version", "provenance", "model",
                                       "block_size", "operators"};
    if ((rc = check_keys(&rd, root, "", keys, sizeof keys / sizeof keys[0])))
        goto fail;
    const cJSON *f = member(root, "format");
    if (!f || !cJSON_IsString(f) || strcmp(f->valuestring, TAB_FORMAT)) {
        char shown[64];
        rc = mu_json_err(&doc, f ? f : root, err, SIM_EINVAL,
                         "'format' must be '" TAB_FORMAT "', got %s",
                         mu_json_show(f, shown, sizeof shown));
        goto fail;
    }
    const cJSON *v = member(root, "version");
    if (!v || !cJSON_IsNumber(v) || v->valuedouble != 1.0) {
        char shown[80];
        rc = mu_json_err(&doc, v ? v : root, err, SIM_EINVAL,
                         "'version' must be 1 (the version this llmcap reads), got %s",
                         show_num(v, shown, sizeof shown));
        goto fail;
    }
    if ((rc = read_provenance(&rd, root, t)) || (rc = read_model(&rd, root, t)) ||
        (rc = get_int(&rd, root, "block_size", "", 1, 1024, &t->block_size)) ||
        (rc = read_operators(&rd, root, t)))
        goto fail;
    mu_json_release(&doc);
    return SIM_OK;
fail:
    mu_json_release(&doc);
    lat_tab_release(t);
    return rc;
}

static void grid1_release(struct lat_grid1 *g, bool owns_x)
{
    if (g->gsl)
        gsl_interp_free(g->gsl);
    if (owns_x)
        free(g->x);
    free(g->y);
    memset(g, 0, sizeof *g);
}

static void grid2_release(struct lat_grid2 *g)
{
    if (g->gsl)
        gsl_interp2d_free(g->gsl);
    free(g->x);
    free(g->y);
    free(g->z);
    memset(g, 0, sizeof *g);
}

void lat_tab_release(struct lat_tab *t)
{
    if (!t)
        return;
    for (int op = TAB_N_GEMM - 1; op >= 0; op--)
        grid1_release(&t->gemm[op], op == 0);
    grid2_release(&t->decode);
    grid2_release(&t->prefill);
    grid1_release(&t->allreduce, true);
}
