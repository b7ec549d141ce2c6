/* promrange.c: a Prometheus query_range response read whole (see promrange.h). */
#include "sim/k8s/promrange.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/mutil.h"

/* "12.5", "1e+06", "-3": what Go's strconv.FormatFloat writes (no hex, no spaces). */
bool prom_number_text(const char *s)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    bool digits = false;
    while (*p >= '0' && *p <= '9')
        p++, digits = true;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            digits = true;
    if (!digits)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

/* A sample value as Prometheus' JSON writes it: a string, "NaN", "+Inf", "-Inf" or a
 * number (Go's strconv.FormatFloat 'f', -1). */
static int prom_value(const struct mu_json *doc, const cJSON *v, struct prom_point *p,
                      struct sim_err *err)
{
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= PROM_TEXT_MAX)
        return mu_json_err(doc, v, err, SIM_EINVAL,
                           "expected a sample value as a string (\"12.5\", \"NaN\", \"+Inf\")");
    const char *t = v->valuestring;
    memcpy(p->text, t, strlen(t) + 1);
    if (!strcmp(t, "NaN"))
        p->s = (struct keda_sample){KEDA_SAMPLE_VALUE, NAN};
    else if (!strcmp(t, "+Inf"))
        p->s = (struct keda_sample){KEDA_SAMPLE_VALUE, INFINITY};
    else if (!strcmp(t, "-Inf"))
        p->s = (struct keda_sample){KEDA_SAMPLE_VALUE, -INFINITY};
    else if (prom_number_text(t) && isfinite(strtod(t, NULL)))
        p->s = (struct keda_sample){KEDA_SAMPLE_VALUE, strtod(t, NULL)};
    else
        return mu_json_err(doc, v, err, SIM_EINVAL,
                           "expected a number, NaN, +Inf or -Inf as the sample value, got '%.60s'",
                           t);
    return SIM_OK;
}

/* The points of one series into `s`; updates the matrix' step and time span. */
static int read_series(const struct mu_json *doc, const cJSON *item, const char *path,
                       struct prom_series *s, struct prom_matrix *m, struct sim_err *err)
{
    const cJSON *vals = cJSON_GetObjectItemCaseSensitive(item, "values");
    if (!cJSON_IsArray(vals) || cJSON_GetArraySize(vals) == 0)
        return mu_json_err(doc, vals ? vals : item, err, SIM_EINVAL,
                           "expected the series' \"values\": [[unix_time, \"value\"], ...]");
    size_t n = (size_t)cJSON_GetArraySize(vals);
    if (!(s->pts = sim_calloc(n, sizeof *s->pts)))
        return sim_err_set(err, SIM_ENOMEM, "out of memory reading '%s'", path);
    const cJSON *v = vals->child;
    for (size_t i = 0; i < n; i++, v = v->next) {
        const cJSON *t = cJSON_GetArrayItem(v, 0);
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2 || !cJSON_IsNumber(t) ||
            !(t->valuedouble >= 0 && t->valuedouble <= 9.2e12))
            return mu_json_err(doc, v, err, SIM_EINVAL,
                               "expected a point [unix_time_s, \"value\"] with a time >= 0");
        struct prom_point *p = &s->pts[i];
        p->t_us = (int64_t)llround(t->valuedouble * 1e6);
        int rc = prom_value(doc, cJSON_GetArrayItem(v, 1), p, err);
        if (rc)
            return rc;
        s->n_pts = i + 1;
        if (i && p->t_us <= s->pts[i - 1].t_us)
            return mu_json_err(doc, t, err, SIM_EINVAL,
                               "times must increase from point to point, got %.17g after %.17g",
                               t->valuedouble, (double)s->pts[i - 1].t_us / 1e6);
        int64_t gap = i ? p->t_us - s->pts[i - 1].t_us : 0;
        if (gap && (!m->step_us || gap < m->step_us))
            m->step_us = gap;
    }
    /* a histogram bucket's bound: "le": "200" or "+Inf" (prometheus_client's floatToGoString) */
    const cJSON *le =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(item, "metric"), "le");
    if (le) {
        const char *t = cJSON_IsString(le) ? le->valuestring : "";
        if (!strcmp(t, "+Inf"))
            s->le = INFINITY;
        else if (prom_number_text(t) && isfinite(strtod(t, NULL)))
            s->le = strtod(t, NULL);
        else
            return mu_json_err(doc, le, err, SIM_EINVAL,
                               "expected a bucket bound as the 'le' label (\"200\", "
                               "\"+Inf\"), got '%.40s'",
                               t);
        s->has_le = true;
    }
    if (!m->n_series || s->pts[0].t_us < m->t0_us)
        m->t0_us = s->pts[0].t_us;
    if (!m->n_series || s->pts[n - 1].t_us > m->t_end_us)
        m->t_end_us = s->pts[n - 1].t_us;
    return SIM_OK;
}

int prom_matrix_load(const char *path, const char *one_why, struct prom_matrix *m,
                     struct sim_err *err)
{
    memset(m, 0, sizeof *m);
    struct mu_json doc;
    int rc = mu_json_load(&doc, path, err);
    if (rc)
        return rc;
    const cJSON *root = doc.root, *st = cJSON_GetObjectItemCaseSensitive(root, "status");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(data, "resultType");
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(data, "result");
    if (!cJSON_IsObject(root) || !cJSON_IsString(st)) {
        rc = mu_json_err(&doc, root, err, SIM_EINVAL,
                         "expected a Prometheus API response ({\"status\": \"success\", "
                         "\"data\": ...})");
    } else if (strcmp(st->valuestring, "success")) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
        rc = mu_json_err(&doc, st, err, SIM_EINVAL, "the query failed: status '%.40s'%s%.200s",
                         st->valuestring, cJSON_IsString(e) ? ": " : "",
                         cJSON_IsString(e) ? e->valuestring : "");
    } else if (!cJSON_IsString(rt) || strcmp(rt->valuestring, "matrix") || !cJSON_IsArray(res)) {
        rc = mu_json_err(&doc, rt ? rt : data, err, SIM_EINVAL,
                         "expected a range query's result (\"resultType\": \"matrix\"); an "
                         "instant query (/api/v1/query) gives one point: use /api/v1/query_range");
    } else if (one_why && cJSON_GetArraySize(res) != 1) {
        rc = mu_json_err(&doc, res, err, SIM_EINVAL, "the result holds %d series, but %s",
                         cJSON_GetArraySize(res), one_why);
    } else if (cJSON_GetArraySize(res) == 0) {
        rc = mu_json_err(&doc, res, err, SIM_EINVAL,
                         "the result holds no series: the query matched nothing in this range");
    }
    size_t n = rc ? 0 : (size_t)cJSON_GetArraySize(res);
    if (!rc && !(m->series = sim_calloc(n, sizeof *m->series)))
        rc = sim_err_set(err, SIM_ENOMEM, "out of memory reading '%s'", path);
    const cJSON *item = res ? res->child : NULL;
    for (size_t i = 0; !rc && item && i < n; i++, item = item->next) {
        rc = read_series(&doc, item, path, &m->series[i], m, err);
        m->n_series = i + 1;
    }
    if (!rc && !m->step_us)
        m->step_us = 1; /* one point per series: one row */
    /* Points off the step grid would mean the step guessed is wrong. */
    item = res ? res->child : NULL;
    for (size_t i = 0; !rc && item && i < n; i++, item = item->next) {
        const struct prom_series *s = &m->series[i];
        const cJSON *vals = cJSON_GetObjectItemCaseSensitive(item, "values");
        const cJSON *v = vals ? vals->child : NULL;
        for (size_t j = 0; !rc && v && j < s->n_pts; j++, v = v->next)
            if ((s->pts[j].t_us - m->t0_us) % m->step_us)
                rc = mu_json_err(&doc, v, err, SIM_EINVAL,
                                 "this point is off the step of %.17g s that the closest "
                                 "points give: save the response of one query_range call",
                                 (double)m->step_us / 1e6);
    }
    mu_json_release(&doc);
    return rc;
}

void prom_matrix_free(struct prom_matrix *m)
{
    for (size_t i = 0; m->series && i < m->n_series; i++)
        free(m->series[i].pts);
    free(m->series);
    memset(m, 0, sizeof *m);
}
