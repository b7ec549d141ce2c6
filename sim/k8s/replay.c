/*
 * replay.c: `llmcap autoscale replay`: KEDA and/or the HPA driven by a recorded metric
 * series, one decision row per poll and per sync. The series is streamed.
 */
#include "sim/k8s/replay.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "models/mutil.h"
#include "sim/config/manifest.h"
#include "sim/core/lineio.h"
#include "sim/k8s/promrange.h"

#define CELL_MAX 64
#define SERIES_LINE_MAX (1 << 20) /* bytes: a series line longer than this is refused */
#define COLS_MAX (HPA_MAX_METRICS + 2)

/* One series row: the values as written and as read. */
struct row {
    int64_t t_us;
    long line;
    struct keda_sample s[HPA_MAX_METRICS];
    char text[HPA_MAX_METRICS][CELL_MAX];
    bool has_ready;
    int32_t ready;
};

struct series {
    const char *path;
    /* A Prometheus query_range response, read whole, its one series' points and the step
     * they are on. */
    struct prom_matrix pm;
    const struct prom_point *pts;
    size_t n_pts, next_pt;
    int64_t step_us, next_t_us;
    FILE *f;
    char *buf;
    size_t cap;
    long line;
    size_t n_values; /* value columns */
    bool ready_col;
    char names[COLS_MAX][CELL_MAX];
};

/* Split `line` at commas in place; cells[] point into it, cols[] are 1-based columns. */
static size_t split(char *line, char **cells, long *cols, size_t max)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        if (n < max) {
            cells[n] = p;
            cols[n] = (long)(p - line) + 1;
        }
        n++;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

/* strerror() in llmcap's wording: lower case ("no such file or directory") */
static const char *err_text(int e, char *buf, size_t n)
{
    snprintf(buf, n, "%s", strerror(e));
    if (buf[0] >= 'A' && buf[0] <= 'Z')
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

static int bad(struct sim_err *err, const struct series *sr, long col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int bad(struct sim_err *err, const struct series *sr, long col, const char *fmt, ...)
{
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sim_err_at(err, SIM_EINVAL, sr->path, sr->line, col, "%s", msg);
}
#ifdef __clang_analyzer__ /* see sim/core/err.h: the analyzer does not inline variadic functions */
#define bad(err, sr, col, ...) (bad((err), (sr), (col), __VA_ARGS__), SIM_EINVAL)
#endif

/* Next non-blank line into sr->buf: 1, 0 at the end, or SIM_EIO. */
static int next_line(struct series *sr, struct sim_err *err)
{
    for (;;) {
        errno = 0;
        size_t n = 0;
        int lr = lineio_getline(sr->f, &sr->buf, &sr->cap, SERIES_LINE_MAX, &n);
        if (lr == LINEIO_TOO_LONG) {
            sr->line++;
            return bad(err, sr, 0, "a line longer than %d bytes: expected a CSV of samples",
                       SERIES_LINE_MAX);
        }
        if (lr == LINEIO_NOMEM)
            return sim_err_at(err, SIM_ENOMEM, sr->path, 0, 0, "out of memory reading '%s'",
                              sr->path);
        if (lr != LINEIO_LINE) {
            if (lr == LINEIO_ERROR || ferror(sr->f)) {
                char eb[128];
                return sim_err_at(err, SIM_EIO, sr->path, 0, 0, "cannot read '%s': %s", sr->path,
                                  err_text(errno ? errno : EIO, eb, sizeof eb));
            }
            return 0;
        }
        sr->line++;
        if (n != strlen(sr->buf))
            return bad(err, sr, 0, "the line holds a NUL byte");
        chomp(sr->buf);
        if (!blank(sr->buf))
            return 1;
    }
}

/*
 * A Prometheus HTTP API query_range response, as `curl .../api/v1/query_range` or
 * `promtool query range -o json` save it: {"status":"success","data":{"resultType":
 * "matrix","result":[{"metric":{...},"values":[[t,"v"],...]}]}}. One series feeds every
 * trigger (KEDA reads one series); the step is the smallest gap between timestamps, and a
 * step with no point is an evaluation at which the query returned no series.
 */
static int open_prom(struct series *sr, const char *path, struct sim_err *err)
{
    int rc = prom_matrix_load(path, "a KEDA or HPA query must return one (aggregate it, e.g. sum(...))",
                              &sr->pm, err);
    if (rc)
        return rc;
    sr->pts = sr->pm.series[0].pts;
    sr->n_pts = sr->pm.series[0].n_pts;
    sr->step_us = sr->pm.step_us;
    sr->next_t_us = sr->pts[0].t_us;
    sr->n_values = 1;
    snprintf(sr->names[0], sizeof sr->names[0], "t_s");
    snprintf(sr->names[1], sizeof sr->names[1], "value");
    return SIM_OK;
}

/* The next row of a query_range series: the point at the next step, or an empty value
 * (no series) where the matrix has none. */
static int prom_row(struct series *sr, struct row *r)
{
    if (sr->next_pt >= sr->n_pts)
        return 0;
    const struct prom_point *p = &sr->pts[sr->next_pt];
    memset(r, 0, sizeof *r);
    r->t_us = sr->next_t_us;
    r->line = (long)sr->next_pt + 1;
    if (p->t_us == sr->next_t_us) {
        r->s[0] = p->s;
        memcpy(r->text[0], p->text, sizeof p->text);
        sr->next_pt++;
    } else {
        r->s[0] = (struct keda_sample){KEDA_SAMPLE_EMPTY, 0.0};
    }
    sr->next_t_us += sr->step_us;
    return 1;
}

static int open_series(struct series *sr, const char *path, size_t n_metrics, struct sim_err *err)
{
    memset(sr, 0, sizeof *sr);
    sr->path = path;
    sr->f = fopen(path, "r");
    if (!sr->f) {
        int e = errno;
        char eb[128];
        return sim_err_at(err, e == ENOENT ? SIM_ENOENT : SIM_EIO, path, 0, 0,
                          "cannot open '%s': %s", path, err_text(e, eb, sizeof eb));
    }
    int c;
    while ((c = getc(sr->f)) == ' ' || c == '\t' || c == '\n' || c == '\r')
        ;
    if (c == '{') {
        fclose(sr->f);
        sr->f = NULL;
        return open_prom(sr, path, err);
    }
    rewind(sr->f);
    int rc = next_line(sr, err);
    if (rc <= 0)
        return rc ? rc : sim_err_at(err, SIM_EINVAL, path, 0, 0, "'%s' is empty", path);
    char *cells[COLS_MAX + 1] = {0};
    long cols[COLS_MAX + 1] = {0};
    size_t n = split(sr->buf, cells, cols, COLS_MAX + 1);
    if (n > COLS_MAX)
        return bad(err, sr, cols[COLS_MAX], "the header has more than %d columns", COLS_MAX);
    if (strcmp(cells[0], "t_s"))
        return bad(err, sr, 1, "the header must start with 't_s', got '%.60s'", cells[0]);
    sr->ready_col = n >= 2 && !strcmp(cells[n - 1], "ready_replicas");
    sr->n_values = n - 1 - sr->ready_col;
    for (size_t i = 0; i < n; i++) {
        if (!cells[i][0] || strlen(cells[i]) >= CELL_MAX)
            return bad(err, sr, cols[i], "header column %zu must be a name of 1 to %d characters",
                       i + 1, CELL_MAX - 1);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(cells[i], cells[j]))
                return bad(err, sr, cols[i], "header column '%s' appears twice", cells[i]);
        if (i > 0 && i <= sr->n_values &&
            (!strcmp(cells[i], "t_s") || !strcmp(cells[i], "ready_replicas")))
            return bad(err, sr, cols[i], "'%s' must be the %s column", cells[i],
                       strcmp(cells[i], "t_s") ? "last" : "first");
        memcpy(sr->names[i], cells[i], strlen(cells[i]) + 1);
    }
    if (sr->n_values == 0)
        return bad(err, sr, 0, "the header needs a value column after 't_s'");
    if (sr->n_values != 1 && sr->n_values != n_metrics)
        return bad(err, sr, 0,
                   "the header has %zu value columns: give 1 (it feeds every trigger) or %zu "
                   "(one per trigger / metric, in manifest order)",
                   sr->n_values, n_metrics);
    return SIM_OK;
}

/* Read the next data row: 1, 0 at the end, or an error. */
static int read_row(struct series *sr, const struct row *prev, struct row *r, struct sim_err *err)
{
    if (sr->pts)
        return prom_row(sr, r);
    int rc = next_line(sr, err);
    if (rc <= 0)
        return rc;
    char *cells[COLS_MAX + 1] = {0};
    long cols[COLS_MAX + 1] = {0};
    size_t want = 1 + sr->n_values + sr->ready_col;
    size_t n = split(sr->buf, cells, cols, COLS_MAX + 1);
    if (n != want)
        return bad(err, sr, n > want ? cols[want < COLS_MAX ? want : COLS_MAX] : 0,
                   "expected %zu columns as in the header, got %zu", want, n);
    r->line = sr->line;
    const char *t = cells[0];
    double ts = prom_number_text(t) ? strtod(t, NULL) : NAN;
    if (!isfinite(ts) || ts < 0 || ts > 9.2e12)
        return bad(err, sr, cols[0], "'t_s' must be a number of seconds >= 0, got '%.60s'", t);
    r->t_us = (int64_t)llround(ts * 1e6);
    if (prev && r->t_us <= prev->t_us)
        return bad(err, sr, cols[0], "'t_s' must increase from row to row: '%.60s' after line %ld",
                   t, prev->line);
    for (size_t i = 0; i < sr->n_values; i++) {
        const char *v = cells[1 + i];
        long col = cols[1 + i];
        SIM_ASSERT(v); /* split() found want cells */
        if (strlen(v) >= CELL_MAX)
            return bad(err, sr, col, "'%s' is too long (at most %d characters)", sr->names[1 + i],
                       CELL_MAX - 1);
        memcpy(r->text[i], v, strlen(v) + 1);
        struct keda_sample *s = &r->s[i];
        if (!v[0]) {
            *s = (struct keda_sample){KEDA_SAMPLE_EMPTY, 0.0};
        } else if (!strcmp(v, "error")) {
            *s = (struct keda_sample){KEDA_SAMPLE_ERROR, 0.0};
        } else if (!strcmp(v, "NaN")) {
            *s = (struct keda_sample){KEDA_SAMPLE_VALUE, NAN};
        } else if (!strcmp(v, "+Inf") || !strcmp(v, "Inf")) {
            *s = (struct keda_sample){KEDA_SAMPLE_VALUE, INFINITY};
        } else if (!strcmp(v, "-Inf")) {
            *s = (struct keda_sample){KEDA_SAMPLE_VALUE, -INFINITY};
        } else if (prom_number_text(v) && isfinite(strtod(v, NULL))) {
            *s = (struct keda_sample){KEDA_SAMPLE_VALUE, strtod(v, NULL)};
        } else {
            return bad(err, sr, col,
                       "'%s' must be a number, NaN, +Inf, -Inf, empty (no series) or 'error', got "
                       "'%.60s'",
                       sr->names[1 + i], v);
        }
    }
    r->has_ready = false;
    if (sr->ready_col) {
        const char *v = cells[n - 1];
        if (v[0]) {
            char *end;
            errno = 0;
            long long x = strtoll(v, &end, 10);
            if (*end || errno || x < 0 || x > INT32_MAX || !isdigit((unsigned char)v[0]))
                return bad(err, sr, cols[n - 1],
                           "'ready_replicas' must be an integer >= 0 or empty, got '%.60s'", v);
            r->has_ready = true;
            r->ready = (int32_t)x;
        }
    }
    return 1;
}

/* ---- output ---------------------------------------------------------------------------- */

static void put_time(FILE *out, int64_t us)
{
    int64_t whole = us / 1000000, frac = us % 1000000;
    if (!frac) {
        fprintf(out, "%" PRId64, whole);
        return;
    }
    int digits = 6;
    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    fprintf(out, "%" PRId64 ".%0*" PRId64, whole, digits, frac);
}

/* A CSV field, quoted when it needs it. */
static void put_field(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void put_row(FILE *out, int64_t t_us, const char *source, const struct series *sr,
                    const struct row *r, int32_t ready, int32_t current, int32_t raw,
                    int32_t desired, const char *reason)
{
    put_time(out, t_us);
    fprintf(out, ",%s", source);
    for (size_t i = 0; i < sr->n_values; i++) {
        fputc(',', out);
        put_field(out, r->text[i]);
    }
    fprintf(out, ",%" PRId32 ",%" PRId32 ",", ready, current);
    if (raw >= 0)
        fprintf(out, "%" PRId32, raw);
    fprintf(out, ",%" PRId32 ",", desired);
    put_field(out, reason);
    fputc('\n', out);
}

/* ---- the run ----------------------------------------------------------------------------- */

struct run {
    struct keda *keda;
    struct hpa *hpa;
    const struct hpa_config *hcfg;
    struct hpa_pod *pods;
    size_t cap_pods;
    struct hpa_metric_value mv[HPA_MAX_METRICS];
};

/* The HPA's metric values for an HPA manifest: External/Object from the sample, Pods
 * as `ready` running pods reporting it and the rest Pending. */
static void plain_metrics(struct run *rn, const struct series *sr, const struct row *r,
                          int32_t current, int32_t ready)
{
    const struct hpa_config *c = rn->hcfg;
    for (size_t i = 0; i < c->n_metrics; i++) {
        const struct keda_sample *s = &r->s[sr->n_values == 1 ? 0 : i];
        struct hpa_metric_value *m = &rn->mv[i];
        memset(m, 0, sizeof *m);
        /* an empty answer is an error for the HPA ("no metrics returned from external
         * metrics API"); so are NaN and Inf, which a quantity cannot hold */
        bool ok = s->kind == KEDA_SAMPLE_VALUE && isfinite(s->value);
        if (c->metrics[i].source != HPA_SOURCE_PODS) {
            m->ok = ok;
            m->milli = ok ? hpa_milli_from_double(s->value) : 0;
            continue;
        }
        size_t n = (size_t)current;
        SIM_ASSERT(n <= rn->cap_pods);
        for (size_t p = 0; p < n; p++) {
            if ((int32_t)p < ready)
                rn->pods[p] = (struct hpa_pod){ok ? HPA_POD_RUNNING : HPA_POD_MISSING,
                                               ok ? hpa_milli_from_double(s->value) : 0};
            else
                rn->pods[p] = (struct hpa_pod){HPA_POD_PENDING, 0};
        }
        m->ok = s->kind != KEDA_SAMPLE_ERROR;
        m->pods = rn->pods;
        m->n_pods = n;
    }
}

int autoscale_replay_configs(const struct keda_config *so, const struct hpa_config *hpa_cfg,
                             const char *series_path, int32_t initial, FILE *out,
                             struct sim_err *err)
{
    SIM_ASSERT((so == NULL) != (hpa_cfg == NULL));
    struct hpa_config derived;
    const struct hpa_config *hc = hpa_cfg;
    if (so) {
        keda_hpa_config(so, &derived);
        hc = &derived;
    }
    struct run rn;
    memset(&rn, 0, sizeof rn);
    rn.hcfg = hc;
    struct series sr;
    struct row cur = {0}, next = {0};
    int rc = open_series(&sr, series_path, hc->n_metrics, err);
    if (rc)
        goto done;
    if ((rc = read_row(&sr, NULL, &cur, err)) < 0)
        goto done;
    if (rc == 0) {
        rc = sim_err_at(err, SIM_EINVAL, series_path, 0, 0, "'%s' has no rows after the header",
                        series_path);
        goto done;
    }
    int64_t t0 = cur.t_us;
    if (so) {
        if (!(rn.keda = keda_new(so, t0, err))) {
            rc = err->code;
            goto done;
        }
    }
    if (!(rn.hpa = hpa_new(hc, err))) {
        rc = err->code;
        goto done;
    }
    int32_t replicas = initial >= 0 ? initial : so ? so->min_replica_count : hc->min_replicas;
    rn.cap_pods = (size_t)(replicas > hc->max_replicas ? replicas : hc->max_replicas);
    if (so && so->min_replica_count > (int32_t)rn.cap_pods)
        rn.cap_pods = (size_t)so->min_replica_count;
    rn.pods = sim_calloc(rn.cap_pods + 1, sizeof *rn.pods);
    if (!rn.pods) {
        rc = sim_err_set(err, SIM_ENOMEM, "out of memory for the replay");
        goto done;
    }

    /* header */
    fputs("t_s,source", out);
    for (size_t i = 0; i < sr.n_values; i++) {
        fputc(',', out);
        put_field(out, sr.names[1 + i]);
    }
    fputs(",ready_replicas,current_replicas,raw_desired,desired,reason\n", out);

    if ((rc = read_row(&sr, &cur, &next, err)) < 0)
        goto done;
    bool has_next = rc == 1;
    int64_t next_poll = so ? t0 : INT64_MAX;
    int64_t next_sync = t0 + hc->sync_period_us;
    for (;;) {
        bool poll = so && next_poll <= next_sync; /* KEDA first at the same instant */
        int64_t t = poll ? next_poll : next_sync;
        while (has_next && next.t_us <= t) {
            cur = next;
            if ((rc = read_row(&sr, &cur, &next, err)) < 0)
                goto done;
            has_next = rc == 1;
        }
        if (t > cur.t_us && !has_next)
            break; /* past the last row */
        int32_t ready = cur.has_ready ? (cur.ready < replicas ? cur.ready : replicas) : replicas;
        if (poll) {
            struct keda_sample s[KEDA_MAX_TRIGGERS];
            for (size_t i = 0; i < so->n_triggers; i++)
                s[i] = cur.s[sr.n_values == 1 ? 0 : i];
            struct keda_poll_out o;
            keda_poll(rn.keda, t, replicas, ready, s, &o);
            put_row(out, t, "keda", &sr, &cur, ready, replicas, o.target_replicas, o.desired,
                    o.reason);
            replicas = o.desired;
            next_poll += so->polling_interval_us;
        } else {
            if (so) {
                for (size_t i = 0; i < so->n_triggers; i++)
                    rn.mv[i] = keda_hpa_metric(rn.keda, i, replicas, ready,
                                               &cur.s[sr.n_values == 1 ? 0 : i]);
            } else {
                plain_metrics(&rn, &sr, &cur, replicas, ready);
            }
            struct hpa_sync_in in = {t, replicas, replicas, ready, rn.mv};
            struct hpa_decision d;
            if ((rc = hpa_sync(rn.hpa, &in, &d))) {
                sim_err_set(err, rc, "out of memory in the HPA controller");
                goto done;
            }
            put_row(out, t, "hpa", &sr, &cur, ready, replicas, d.raw_desired, d.desired, d.reason);
            replicas = d.desired;
            next_sync += hc->sync_period_us;
        }
        if ((size_t)replicas > rn.cap_pods) { /* a clamp above the sized count: rare */
            struct hpa_pod *p = sim_reallocarray(rn.pods, (size_t)replicas + 1, sizeof *p);
            if (!p) {
                rc = sim_err_set(err, SIM_ENOMEM, "out of memory for the replay");
                goto done;
            }
            rn.pods = p;
            rn.cap_pods = (size_t)replicas;
        }
    }
    rc = SIM_OK;
    if (fflush(out) || ferror(out)) {
        char eb[128];
        rc = sim_err_set(err, SIM_EIO, "cannot write the decisions: %s",
                         err_text(errno ? errno : EIO, eb, sizeof eb));
    }
done:
    if (sr.f)
        fclose(sr.f);
    free(sr.buf);
    prom_matrix_free(&sr.pm);
    free(rn.pods);
    hpa_free(rn.hpa);
    keda_free(rn.keda);
    return rc;
}

int autoscale_replay(const struct replay_opts *o, FILE *out, struct sim_err *err)
{
    SIM_ASSERT((o->scaledobject_path == NULL) != (o->hpa_path == NULL));
    int rc;
    if (o->scaledobject_path) {
        struct keda_config c;
        if ((rc = manifest_load_scaledobject(o->scaledobject_path, &c, err)))
            return rc;
        rc = autoscale_replay_configs(&c, NULL, o->series_path, o->initial_replicas, out, err);
        keda_config_release(&c);
        return rc;
    }
    struct hpa_config c;
    if ((rc = manifest_load_hpa(o->hpa_path, &c, err)))
        return rc;
    rc = autoscale_replay_configs(NULL, &c, o->series_path, o->initial_replicas, out, err);
    hpa_config_release(&c);
    return rc;
}
