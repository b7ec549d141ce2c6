/* rundata.c: read one run back from the results database (headline and time series). */
#include "reports/rundata.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ------------------------------------------------------------------------ */

static char *dup_or_null(const struct db_value *v)
{
    if (v->type == DB_NULL)
        return NULL;
    if (v->type == DB_TEXT)
        return strdup(v->s);
    char buf[64];
    snprintf(buf, sizeof buf, "%.17g", v->d);
    return strdup(buf);
}

static int oom(struct sim_err *err)
{
    return sim_err_set(err, SIM_ENOMEM, "out of memory reading the run");
}

static int series_push(struct rd_series *s, double t, double v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct rd_point *p = sim_reallocarray(s->p, cap, sizeof *p);
        if (!p)
            return SIM_ENOMEM;
        s->p = p;
        s->cap = cap;
    }
    s->p[s->n++] = (struct rd_point){t, v};
    return SIM_OK;
}

static void series_free(struct rd_series *s)
{
    free(s->p);
    memset(s, 0, sizeof *s);
}

/* Type 7: the 0-based rank lo of n sorted values (n > 0) at quantile q, and the weight of
 * rank lo + 1; lo is n - 1 where the quantile is the largest value. */
static size_t q7_rank(size_t n, double q, double *frac)
{
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    *frac = h - (double)lo;
    return lo + 1 >= n ? n - 1 : lo;
}

/* The quantile from the values at ranks lo and lo + 1 (x_hi unused where lo is n - 1). */
static double q7_value(double x_lo, double x_hi, size_t lo, size_t n, double frac)
{
    return lo + 1 >= n ? x_lo : x_lo + frac * (x_hi - x_lo);
}

double rd_quantile_sorted(const double *x, size_t n, double q)
{
    if (n == 0)
        return NAN;
    double frac;
    size_t lo = q7_rank(n, q, &frac);
    return q7_value(x[lo], lo + 1 < n ? x[lo + 1] : x[lo], lo, n, frac);
}

double rd_step_at(const struct rd_series *s, double t)
{
    double v = 0.0;
    for (size_t i = 0; i < s->n && s->p[i].t_s <= t; i++)
        v = s->p[i].v;
    return v;
}

double rd_step_max(const struct rd_series *s, double t0, double t1)
{
    double m = rd_step_at(s, t0);
    for (size_t i = 0; i < s->n; i++)
        if (s->p[i].t_s > t0 && s->p[i].t_s <= t1 && s->p[i].v > m)
            m = s->p[i].v;
    return m;
}

double rd_sample_at(const struct rd_series *s, double t)
{
    double v = NAN;
    for (size_t i = 0; i < s->n && s->p[i].t_s <= t; i++)
        v = s->p[i].v;
    return v;
}

double rd_sample_max(const struct rd_series *s, double t0, double t1)
{
    double m = NAN;
    for (size_t i = 0; i < s->n; i++)
        if (s->p[i].t_s >= t0 && s->p[i].t_s <= t1 && !(s->p[i].v <= m))
            m = s->p[i].v;
    return m;
}

double run_data_get(const struct run_data *rd, const char *key)
{
    for (size_t i = 0; i < rd->n_summary; i++)
        if (!strcmp(rd->summary[i].key, key))
            return rd->summary[i].value;
    return NAN;
}

bool run_data_has(const struct run_data *rd, const char *key)
{
    for (size_t i = 0; i < rd->n_summary; i++)
        if (!strcmp(rd->summary[i].key, key))
            return true;
    return false;
}

/* ---- run ids ------------------------------------------------------------------------------ */

struct id_list {
    int64_t *ids;
    size_t n, cap;
};

static int add_id(void *ctx, const struct db_value *c, int n)
{
    (void)n;
    struct id_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        int64_t *p = sim_reallocarray(l->ids, cap, sizeof *p);
        if (!p)
            return SIM_ENOMEM;
        l->ids = p;
        l->cap = cap;
    }
    l->ids[l->n++] = c[0].i;
    return 0;
}

int run_ids(struct db *db, int64_t **ids, size_t *n, struct sim_err *err)
{
    struct id_list l = {NULL, 0, 0};
    int rc = db_query(db, "SELECT run_id FROM runs ORDER BY run_id", NULL, 0, add_id, &l, err);
    if (rc != SIM_OK) {
        free(l.ids);
        return rc == SIM_ENOMEM ? oom(err) : rc;
    }
    *ids = l.ids;
    *n = l.n;
    return SIM_OK;
}

int run_pick(struct db *db, int64_t want, int64_t *run_id, size_t *n_runs, struct sim_err *err)
{
    int64_t *ids = NULL;
    size_t n = 0;
    int rc = run_ids(db, &ids, &n, err);
    if (rc != SIM_OK)
        return rc;
    if (n_runs)
        *n_runs = n;
    if (n == 0)
        rc = sim_err_at(err, SIM_EINVAL, db_path(db), 0, 0, "the database holds no run");
    else if (want <= 0)
        *run_id = ids[n - 1];
    else {
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found |= ids[i] == want;
        if (found)
            *run_id = want;
        else
            rc = sim_err_at(err, SIM_ENOENT, db_path(db), 0, 0,
                            "no run %lld in the database (its runs are %lld to %lld)",
                            (long long)want, (long long)ids[0], (long long)ids[n - 1]);
    }
    free(ids);
    return rc;
}

/* ---- headline ----------------------------------------------------------------------------- */

static int read_run_row(void *ctx, const struct db_value *c, int n)
{
    (void)n;
    struct run_data *rd = ctx;
    char **s[] = {&rd->scenario_name, &rd->scenario_path,      &rd->scenario_sha256,
                  &rd->overrides,     &rd->labels_json,        &rd->llmcap_version,
                  &rd->git_describe,  &rd->gsl_version,        &rd->sqlite_version,
                  &rd->latency_model, &rd->latency_provenance, &rd->trace_path,
                  &rd->created_utc};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        *s[i] = dup_or_null(&c[i]);
        if (!*s[i] && c[i].type != DB_NULL)
            return SIM_ENOMEM;
    }
    rd->seed = c[13].i;
    rd->wall_s = c[14].d;
    rd->sim_end_s = c[15].d;
    rd->n_events = c[16].i;
    rd->n_requests = c[17].i;
    return 1; /* one row */
}

struct kv_list {
    struct run_data *rd;
    size_t cap;
};

/* Room for item `n` of the array *arr (l->cap items of `size`): SIM_OK or SIM_ENOMEM. */
static int make_room(struct kv_list *l, void *arr, size_t n, size_t size, size_t first)
{
    if (n < l->cap)
        return SIM_OK;
    size_t cap = l->cap ? l->cap * 2 : first;
    void *p = sim_reallocarray(*(void **)arr, cap, size);
    if (!p)
        return SIM_ENOMEM;
    *(void **)arr = p;
    l->cap = cap;
    return SIM_OK;
}

static int read_summary(void *ctx, const struct db_value *c, int n)
{
    (void)n;
    struct kv_list *l = ctx;
    struct run_data *rd = l->rd;
    if (make_room(l, &rd->summary, rd->n_summary, sizeof *rd->summary, 64))
        return SIM_ENOMEM;
    struct rd_kv *kv = &rd->summary[rd->n_summary];
    kv->key = strdup(c[0].s ? c[0].s : "");
    if (!kv->key)
        return SIM_ENOMEM;
    kv->value = c[1].type == DB_NULL ? NAN : c[1].d;
    rd->n_summary++;
    return 0;
}

static int read_slo(void *ctx, const struct db_value *c, int n)
{
    (void)n;
    struct kv_list *l = ctx;
    struct run_data *rd = l->rd;
    if (make_room(l, &rd->slo, rd->n_slo, sizeof *rd->slo, 8))
        return SIM_ENOMEM;
    struct rd_slo *s = &rd->slo[rd->n_slo];
    memset(s, 0, sizeof *s);
    rd->n_slo++;
    s->slo = dup_or_null(&c[0]);
    s->metric = dup_or_null(&c[1]);
    s->unit = dup_or_null(&c[5]);
    if (!s->slo || !s->metric || !s->unit)
        return SIM_ENOMEM;
    s->quantile = c[2].type == DB_NULL ? NAN : c[2].d;
    s->target = c[3].d;
    s->actual = c[4].type == DB_NULL ? NAN : c[4].d;
    s->pass = c[6].i != 0;
    if (n > 7) { /* a deployment's: c[7] is its position in rd->deps */
        size_t k = (size_t)c[7].i;
        if (k < rd->n_deps) {
            s->deployment = rd->deps[k].name;
            rd->deps[k].n_slo++;
            rd->deps[k].n_pass += s->pass;
        }
    }
    return 0;
}

static int read_node_group(void *ctx, const struct db_value *c, int n_cols)
{
    struct run_data *rd = ctx;
    (void)n_cols;
    struct rd_node_group *p =
        sim_reallocarray(rd->node_groups, rd->n_node_groups + 1, sizeof *p);
    if (!p)
        return SIM_ENOMEM;
    rd->node_groups = p;
    struct rd_node_group *g = &p[rd->n_node_groups++];
    memset(g, 0, sizeof *g);
    snprintf(g->instance_type, sizeof g->instance_type, "%s", c[0].s ? c[0].s : "");
    snprintf(g->capacity_type, sizeof g->capacity_type, "%s", c[1].s ? c[1].s : "");
    snprintf(g->zone, sizeof g->zone, "%s", c[2].s ? c[2].s : "");
    g->nodes = c[3].type == DB_INT ? (size_t)c[3].i : 0;
    g->spot_interruptions = c[4].type == DB_INT ? (size_t)c[4].i : 0;
    g->cost_usd = c[5].type == DB_NULL ? NAN : c[5].type == DB_INT ? (double)c[5].i : c[5].d;
    return 0;
}

static int read_dep(void *ctx, const struct db_value *c, int n)
{
    (void)n;
    struct kv_list *l = ctx;
    struct run_data *rd = l->rd;
    if (make_room(l, &rd->deps, rd->n_deps, sizeof *rd->deps, 8))
        return SIM_ENOMEM;
    struct rd_dep *d = &rd->deps[rd->n_deps];
    memset(d, 0, sizeof *d);
    rd->n_deps++;
    if (!(d->name = dup_or_null(&c[0])))
        return SIM_ENOMEM;
    d->slo_pass = c[1].i != 0;
    d->cost_usd = c[2].type == DB_NULL ? NAN : c[2].d;
    d->ttft_slo_breach_s = c[3].type == DB_NULL ? NAN : c[3].d;
    d->ttft_slo_breach_longest_s = c[4].type == DB_NULL ? NAN : c[4].d;
    return 0;
}

struct dep_kv {
    struct rd_dep *d;
    size_t cap;
};

static int read_dep_summary(void *ctx, const struct db_value *c, int n)
{
    (void)n;
    struct dep_kv *l = ctx;
    struct rd_dep *d = l->d;
    struct kv_list room = {NULL, l->cap};
    if (make_room(&room, &d->summary, d->n_summary, sizeof *d->summary, 64))
        return SIM_ENOMEM;
    l->cap = room.cap;
    struct rd_kv *kv = &d->summary[d->n_summary];
    if (!(kv->key = strdup(c[0].s ? c[0].s : "")))
        return SIM_ENOMEM;
    kv->value = c[1].type == DB_NULL ? NAN : c[1].d;
    d->n_summary++;
    return 0;
}

struct run_data run_data_deployment_view(const struct run_data *rd, const struct rd_dep *d)
{
    struct run_data v = *rd;
    v.summary = d->summary;
    v.n_summary = d->n_summary;
    return v;
}

static int count_one(void *ctx, const struct db_value *c, int n)
{
    (void)n;
    *(int64_t *)ctx = c[0].i;
    return 0;
}

#define DEP_KEY(k)                                                                           \
    "(SELECT value FROM deployment_summary s WHERE s.run_id = d.run_id AND s.deployment = " \
    "d.deployment AND s.key = '" k "')"

/* A run of several deployments: each one, and its SLO verdicts as the run's (databases
 * written before the deployment tables existed have none). */
static int load_deployments(struct db *db, struct run_data *rd, struct sim_err *err)
{
    int64_t has = 0;
    int rc = db_query(db,
                      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                      "('deployments', 'deployment_summary', 'deployment_slo_results')",
                      NULL, 0, count_one, &has, err);
    if (rc != SIM_OK || has != 3)
        return rc;
    struct db_value id = db_int(rd->run_id);
    struct kv_list l = {rd, 0};
    rc = db_query(db,
                  "SELECT d.deployment, d.slo_pass, " DEP_KEY("cost_usd") ", "
                  DEP_KEY("ttft_slo_breach_s") ", " DEP_KEY("ttft_slo_breach_longest_s")
                  " FROM deployments d WHERE d.run_id = ?1 ORDER BY d.position, d.deployment",
                  &id, 1, read_dep, &l, err);
    if (rc != SIM_OK || rd->n_deps == 0)
        return rc == SIM_ENOMEM ? oom(err) : rc;
    for (size_t i = 0; i < rd->n_deps; i++) {
        struct dep_kv dl = {&rd->deps[i], 0};
        struct db_value p[2] = {id, db_text(rd->deps[i].name)};
        rc = db_query(db,
                      "SELECT key, value FROM deployment_summary WHERE run_id = ?1 AND "
                      "deployment = ?2 ORDER BY key",
                      p, 2, read_dep_summary, &dl, err);
        if (rc != SIM_OK)
            return rc == SIM_ENOMEM ? oom(err) : rc;
    }
    l.cap = 0;
    rc = db_query(db,
                  "SELECT o.deployment || '.' || o.slo, o.metric, o.quantile, o.target, "
                  "o.actual, o.unit, o.pass, (SELECT count(*) FROM deployments e WHERE "
                  "e.run_id = d.run_id AND (e.position < d.position OR (e.position = "
                  "d.position AND e.deployment < d.deployment))) FROM deployment_slo_results o "
                  "JOIN deployments d ON d.run_id = o.run_id AND d.deployment = o.deployment "
                  "WHERE o.run_id = ?1 ORDER BY d.position, d.deployment, o.slo",
                  &id, 1, read_slo, &l, err);
    return rc == SIM_ENOMEM ? oom(err) : rc;
}

static int load_headline(struct db *db, struct run_data *rd, struct sim_err *err)
{
    struct db_value id = db_int(rd->run_id);
    int rc = db_query(db,
                      "SELECT scenario_name, scenario_path, scenario_sha256, overrides, "
                      "labels_json, llmcap_version, git_describe, gsl_version, sqlite_version, "
                      "latency_model, latency_provenance, trace_path, created_utc, seed, "
                      " wall_s, sim_end_s, n_events, n_requests FROM runs WHERE run_id = ?1",
                      &id, 1, read_run_row, rd, err);
    if (rc == SIM_OK)
        return sim_err_set(err, SIM_ENOENT, "no run %lld in '%s'", (long long)rd->run_id,
                           db_path(db));
    if (rc != 1)
        return rc == SIM_ENOMEM ? oom(err) : rc;
    struct kv_list l = {rd, 0};
    rc = db_query(db, "SELECT key, value FROM summary WHERE run_id = ?1 ORDER BY key", &id, 1,
                  read_summary, &l, err);
    if (rc != SIM_OK)
        return rc == SIM_ENOMEM ? oom(err) : rc;
    l.cap = 0;
    rc = db_query(db,
                  "SELECT slo, metric, quantile, target, actual, unit, pass FROM slo_results "
                  "WHERE run_id = ?1 ORDER BY slo",
                  &id, 1, read_slo, &l, err);
    if (rc != SIM_OK)
        return rc == SIM_ENOMEM ? oom(err) : rc;
    rc = db_query(db,
                  "SELECT instance_type, capacity_type, zone, count(*), "
                  "sum(end_reason = 'spot-interruption'), sum(cost_usd) FROM nodes "
                  "WHERE run_id = ?1 GROUP BY zone, instance_type, capacity_type "
                  "ORDER BY zone, instance_type, capacity_type",
                  &id, 1, read_node_group, rd, err);
    if (rc != SIM_OK)
        return rc == SIM_ENOMEM ? oom(err) : rc;
    if ((rc = zone_notes_load(db, rd->run_id, &rd->zones, err)) != SIM_OK)
        return rc;
    return rd->n_slo ? SIM_OK : load_deployments(db, rd, err);
}

/* ---- windows ------------------------------------------------------------------------------ */

static double choose_window_s(double sim_end_s, double rate_per_s)
{
    static const double nice[] = {1,   2,   5,    10,   15,   30,    60,    120,   300,
                                  600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400};
    /* About 120 windows over the run, and about 40 requests in a window at the mean rate,
     * so that few windows fall below RD_MIN_WINDOW_N (a p95 of fewer requests is their
     * maximum by another name). */
    double target = sim_end_s / 120.0;
    if (rate_per_s > 0 && 40.0 / rate_per_s > target)
        target = 40.0 / rate_per_s;
    for (size_t i = 0; i < sizeof nice / sizeof nice[0]; i++)
        if (nice[i] >= target)
            return nice[i];
    return nice[sizeof nice / sizeof nice[0] - 1];
}

/* The window of a request that arrived at arrival_s: CAST(arrival_s / window_s AS INTEGER)
 * (SQLite truncates toward zero), the ones before the first in the first and the ones
 * past the last in the last. */
static size_t window_at(const struct run_data *rd, double arrival_s)
{
    double r = arrival_s / rd->window_s;
    if (!(r >= 1.0))
        return 0;
    if (r >= (double)rd->n_windows)
        return rd->n_windows - 1;
    return (size_t)r;
}

static int init_windows(struct run_data *rd, struct sim_err *err)
{
    double total = run_data_get(rd, "requests_total");
    double span = rd->sim_end_s > 0 ? rd->sim_end_s : 1.0;
    rd->window_s = choose_window_s(span, isnan(total) ? 0.0 : total / span);
    rd->n_windows = (size_t)ceil(span / rd->window_s);
    if (rd->n_windows == 0)
        rd->n_windows = 1;
    rd->win = calloc(rd->n_windows, sizeof *rd->win);
    if (!rd->win)
        return oom(err);
    /* quantiles: 0.95 and those of the latency SLOs */
    rd->q[0] = 0.95;
    rd->nq = 1;
    for (size_t i = 0; i < rd->n_slo; i++) {
        double q = rd->slo[i].quantile;
        if (isnan(q) || rd->nq == RD_MAX_Q)
            continue;
        bool seen = false;
        for (int k = 0; k < rd->nq; k++)
            seen |= rd->q[k] == q;
        if (!seen)
            rd->q[rd->nq++] = q;
    }
    for (size_t i = 0; i < rd->n_windows; i++) {
        rd->win[i].t_s = (double)i * rd->window_s;
        for (int k = 0; k < RD_MAX_Q; k++)
            rd->win[i].ttft_q[k] = rd->win[i].tpot_q[k] = NAN;
    }
    return SIM_OK;
}

/* ---- the request rows: windows and CDFs of the run and of its deployments -------------- */

/* The request rows are read in four passes shared by the run and every deployment of it
 * (each row goes to the run's accumulators and to its deployment's): one unordered pass
 * counts each window's outcomes and values, then one pass per latency column, in the
 * column's order (SQLite's sorter, which spills to disk), keeps the values at the ranks
 * each window's quantiles and each CDF's points need. Memory grows with windows and
 * deployments, not with requests; the numbers are those of sorting each window's values
 * and each CDF's (ties hold equal values, so which tied row comes first changes
 * nothing). */

enum { CDF_POINTS = 400 };

struct cdf_ctx {
    struct rd_series *s;
    int64_t n, i, last_bucket;
};

/* Keep about CDF_POINTS points: the first, the last, and one per rank bucket. */
static int cdf_take(struct cdf_ctx *k, double v)
{
    int64_t bucket = k->i * CDF_POINTS / k->n;
    k->i++;
    if (k->i == 1 || k->i == k->n || bucket != k->last_bucket) {
        k->last_bucket = bucket;
        return series_push(k->s, v, (double)k->i / (double)k->n);
    }
    return SIM_OK;
}

/* One window's TTFT or TPOT values: how many (the counting pass), how many seen in
 * order so far, and the values at the ranks of its quantiles. */
struct qpick {
    uint32_t n, seen;
    size_t lo[RD_MAX_Q];
    double frac[RD_MAX_Q], x_lo[RD_MAX_Q], x_hi[RD_MAX_Q];
};

struct req_target {
    struct run_data *rd;
    struct qpick *pick[2]; /* per window: TTFT, TPOT */
    struct cdf_ctx cdf[3]; /* TTFT, TPOT, e2e */
};

struct req_pass {
    struct req_target *t;
    size_t n;
    int m; /* the column of a sorted pass: 0 TTFT, 1 TPOT, 2 e2e */
};

static bool takes(const struct req_target *t, const struct db_value *dep)
{
    const char *name = t->rd->series_deployment;
    return !name || (dep->type == DB_TEXT && !strcmp(dep->s, name));
}

/* arrival_s, deployment, outcome class (0 ok, 1 timeout, 2 rejected, 3 failed,
 * 4 unfinished, 5 other: shed), preemptions, TTFT recorded, TPOT recorded */
static int read_request_counts(void *ctx, const struct db_value *c, int n)
{
    (void)n;
    struct req_pass *p = ctx;
    for (size_t j = 0; j < p->n; j++) {
        struct req_target *t = &p->t[j];
        if (!takes(t, &c[1]))
            continue;
        struct run_data *rd = t->rd;
        size_t wi = window_at(rd, c[0].d);
        struct rd_window *w = &rd->win[wi];
        w->n_arrived++;
        switch (c[2].i) {
        case 0:
            w->n_ok++;
            rd->n_ok_rows[2]++;
            for (int m = 0; m < 2; m++)
                if (c[4 + m].i) {
                    t->pick[m][wi].n++;
                    rd->n_ok_rows[m]++;
                }
            break;
        case 1: w->n_timeout++; break;
        case 2: w->n_rejected++; break;
        case 3: w->n_failed++; break;
        case 4: w->n_unfinished++; break;
        default: break;
        }
        w->preemptions += (uint64_t)c[3].i;
        rd->n_request_rows++;
    }
    return 0;
}

/* value, arrival_s, deployment; in value order */
static int read_request_value(void *ctx, const struct db_value *c, int n)
{
    (void)n;
    struct req_pass *p = ctx;
    double v = c[0].d;
    for (size_t j = 0; j < p->n; j++) {
        struct req_target *t = &p->t[j];
        if (!takes(t, &c[2]))
            continue;
        if (p->m < 2) {
            struct qpick *q = &t->pick[p->m][window_at(t->rd, c[1].d)];
            size_t r = q->seen++;
            for (int k = 0; k < t->rd->nq; k++) {
                if (r == q->lo[k])
                    q->x_lo[k] = v;
                else if (r == q->lo[k] + 1)
                    q->x_hi[k] = v;
            }
        }
        if (cdf_take(&t->cdf[p->m], v) != SIM_OK)
            return SIM_ENOMEM;
    }
    return 0;
}

/* After the counting pass: the ranks each window's quantiles need. */
static void plan_picks(struct req_target *t)
{
    struct run_data *rd = t->rd;
    for (int m = 0; m < 2; m++)
        for (size_t i = 0; i < rd->n_windows; i++) {
            struct qpick *q = &t->pick[m][i];
            for (int k = 0; q->n && k < rd->nq; k++)
                q->lo[k] = q7_rank(q->n, rd->q[k], &q->frac[k]);
        }
    struct rd_series *dst[3] = {&rd->cdf_ttft, &rd->cdf_tpot, &rd->cdf_e2e};
    for (int m = 0; m < 3; m++)
        t->cdf[m] = (struct cdf_ctx){dst[m], (int64_t)rd->n_ok_rows[m], 0, -1};
}

/* After the sorted passes: each window's quantiles (NaN below RD_MIN_WINDOW_N values). */
static void take_picks(struct req_target *t)
{
    struct run_data *rd = t->rd;
    for (int m = 0; m < 2; m++)
        for (size_t i = 0; i < rd->n_windows; i++) {
            const struct qpick *q = &t->pick[m][i];
            if (q->n == 0)
                continue;
            struct rd_window *w = &rd->win[i];
            double *dst = m ? w->tpot_q : w->ttft_q;
            for (int k = 0; k < rd->nq; k++)
                dst[k] = q->n < RD_MIN_WINDOW_N
                             ? NAN
                             : q7_value(q->x_lo[k], q->x_hi[k], q->lo[k], q->n, q->frac[k]);
            if (m)
                w->n_tpot = q->n;
            else
                w->n_ttft = q->n;
        }
}

/* The windows and CDFs of each of rd[0..n) (n >= 1: the run's, and deployments' with
 * series_deployment set), from one pass over the request rows for each ordering. */
static int load_requests(struct db *db, struct run_data *const *rd, size_t n, struct sim_err *err)
{
    struct req_target *t = calloc(n, sizeof *t);
    if (!t)
        return oom(err);
    int rc = SIM_OK;
    bool by_dep = false; /* some target is one deployment's */
    for (size_t j = 0; j < n && rc == SIM_OK; j++) {
        t[j].rd = rd[j];
        by_dep |= rd[j]->series_deployment != NULL;
        if ((rc = init_windows(rd[j], err)) != SIM_OK)
            break;
        for (int m = 0; m < 2; m++)
            if (!(t[j].pick[m] = calloc(rd[j]->n_windows, sizeof *t[j].pick[m])))
                rc = oom(err);
    }
    struct db_value id = db_int(rd[0]->run_id);
    const char *dep = by_dep ? "deployment" : "NULL";
    char sql[512];
    struct req_pass pass = {t, n, 0};
    if (rc == SIM_OK) {
        snprintf(sql, sizeof sql,
                 "SELECT arrival_s, %s, CASE outcome WHEN 'ok' THEN 0 WHEN 'timeout' THEN 1 "
                 "WHEN 'rejected' THEN 2 WHEN 'unfinished' THEN 4 WHEN 'shed' THEN 5 ELSE 3 END, "
                 "preemptions, ttft_s IS NOT NULL, tpot_s IS NOT NULL FROM requests WHERE "
                 "run_id = ?1",
                 dep);
        rc = db_query(db, sql, &id, 1, read_request_counts, &pass, err);
    }
    static const char *const col[3] = {"ttft_s", "tpot_s", "e2e_s"};
    for (int m = 0; m < 3 && rc == SIM_OK; m++) {
        bool any = false;
        for (size_t j = 0; j < n; j++) {
            if (m == 0)
                plan_picks(&t[j]);
            any |= rd[j]->n_ok_rows[m] > 0;
        }
        if (!any)
            continue;
        snprintf(sql, sizeof sql,
                 "SELECT %s, arrival_s, %s FROM requests WHERE run_id = ?1 AND outcome = 'ok' "
                 "AND %s IS NOT NULL ORDER BY %s",
                 col[m], dep, col[m], col[m]);
        pass.m = m;
        rc = db_query(db, sql, &id, 1, read_request_value, &pass, err);
    }
    for (size_t j = 0; j < n; j++) {
        if (rc == SIM_OK)
            take_picks(&t[j]);
        free(t[j].pick[0]);
        free(t[j].pick[1]);
    }
    free(t);
    return rc == SIM_ENOMEM ? oom(err) : rc;
}

/* ---- steps from pods and nodes ------------------------------------------------------------ */

struct ev {
    double t;
    int d;
};

struct ev_list {
    struct ev *e;
    size_t n, cap;
};

static int ev_add(struct ev_list *l, double t, int d)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct ev *p = sim_reallocarray(l->e, cap, sizeof *p);
        if (!p)
            return SIM_ENOMEM;
        l->e = p;
        l->cap = cap;
    }
    l->e[l->n++] = (struct ev){t, d};
    return SIM_OK;
}

static int ev_cmp(const void *a, const void *b)
{
    const struct ev *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->d > y->d) - (x->d < y->d);
}

/* Events (+1 at a start, -1 at an end) to a step series from 0 to t_end. */
static int steps(struct ev_list *l, double t_end, struct rd_series *out)
{
    if (l->n)
        qsort(l->e, l->n, sizeof *l->e, ev_cmp);
    double v = 0;
    size_t i = 0;
    while (i < l->n && l->e[i].t <= 0.0)
        v += l->e[i++].d;
    if (series_push(out, 0.0, v) != SIM_OK)
        return SIM_ENOMEM;
    while (i < l->n && l->e[i].t < t_end) {
        double t = l->e[i].t;
        while (i < l->n && l->e[i].t == t)
            v += l->e[i++].d;
        if (v != out->p[out->n - 1].v && series_push(out, t, v) != SIM_OK)
            return SIM_ENOMEM;
    }
    return series_push(out, t_end, v);
}

struct pod_ctx {
    struct run_data *rd;
    struct ev_list ready, starting;
    double *phase[5]; /* start-up phases of pods created after 0 */
    size_t n_phase[5], cap;
};

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int add_startup(struct pod_ctx *p, const struct db_value *c)
{
    /* created, scheduled, image_pulled, weights_loaded, ready */
    double t[5] = {c[0].d, c[4].d, c[5].d, c[6].d, c[1].d};
    if (p->n_phase[0] == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 32;
        for (int k = 0; k < 5; k++) {
            double *g = sim_reallocarray(p->phase[k], cap, sizeof *g);
            if (!g)
                return SIM_ENOMEM;
            p->phase[k] = g;
        }
        p->cap = cap;
    }
    p->phase[0][p->n_phase[0]++] = t[4] - t[0];
    for (int k = 1; k < 5; k++)
        if (!isnan(t[k]) && !isnan(t[k - 1]))
            p->phase[k][p->n_phase[k]++] = t[k] - t[k - 1];
    return SIM_OK;
}

static void startup_medians(struct pod_ctx *p)
{
    struct run_data *rd = p->rd;
    rd->n_started = p->n_phase[0];
    rd->startup_max_s = NAN;
    for (int k = 0; k < 5; k++) {
        if (p->n_phase[k])
            qsort(p->phase[k], p->n_phase[k], sizeof(double), dbl_cmp);
        rd->startup_median_s[k] = rd_quantile_sorted(p->phase[k], p->n_phase[k], 0.5);
        if (k == 0 && p->n_phase[0])
            rd->startup_max_s = p->phase[0][p->n_phase[0] - 1];
        free(p->phase[k]);
    }
}

static int read_pod(void *ctx, const struct db_value *c, int n)
{
    (void)n;
    struct pod_ctx *p = ctx;
    /* created_s, ready_s, terminating_s, terminated_s */
    double created = c[0].d, ready = c[1].d, terminating = c[2].d, terminated = c[3].d;
    double gone = !isnan(terminating) ? terminating : terminated;
    p->rd->n_pods++;
    if (!isnan(ready)) {
        if (ev_add(&p->ready, ready, +1) || (!isnan(gone) && ev_add(&p->ready, gone, -1)))
            return SIM_ENOMEM;
        if (ready > created && add_startup(p, c) != SIM_OK)
            return SIM_ENOMEM;
    }
    double started = !isnan(ready) ? ready : gone;
    if (isnan(started) || started > created) {
        if (ev_add(&p->starting, created, +1) ||
            (!isnan(started) && ev_add(&p->starting, started, -1)))
            return SIM_ENOMEM;
    }
    return 0;
}

struct cost_ev {
    double t;
    double slope; /* USD per second added (start) or removed (end) */
    double jump;  /* USD added at once (a bill for no time) */
    int spot;
};

struct node_ctx {
    struct run_data *rd;
    struct ev_list nodes;
    struct cost_ev *c;
    size_t n, cap;
};

static int read_node(void *ctx, const struct db_value *c, int n)
{
    (void)n;
    struct node_ctx *k = ctx;
    /* node_id, capacity_type, requested_s, terminated_s, cost_usd, end_reason */
    double start = c[2].d, end = isnan(c[3].d) ? k->rd->sim_end_s : c[3].d;
    double cost = isnan(c[4].d) ? 0.0 : c[4].d;
    int spot = c[1].s && !strcmp(c[1].s, "spot");
    k->rd->n_nodes++;
    if (ev_add(&k->nodes, start, +1) || (!isnan(c[3].d) && ev_add(&k->nodes, end, -1)))
        return SIM_ENOMEM;
    if (c[5].s && !strcmp(c[5].s, "spot-interruption") &&
        series_push(&k->rd->spot_interruptions, end, (double)c[0].i) != SIM_OK)
        return SIM_ENOMEM;
    if (k->n + 2 > k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 64;
        struct cost_ev *p = sim_reallocarray(k->c, cap, sizeof *p);
        if (!p)
            return SIM_ENOMEM;
        k->c = p;
        k->cap = cap;
    }
    if (end > start) {
        double slope = cost / (end - start);
        k->c[k->n++] = (struct cost_ev){start, slope, 0.0, spot};
        k->c[k->n++] = (struct cost_ev){end, -slope, 0.0, spot};
    } else {
        k->c[k->n++] = (struct cost_ev){start, 0.0, cost, spot};
    }
    return 0;
}

static int cost_ev_cmp(const void *a, const void *b)
{
    const struct cost_ev *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->spot != y->spot)
        return x->spot - y->spot;
    if (x->slope != y->slope)
        return x->slope < y->slope ? -1 : 1;
    return (x->jump > y->jump) - (x->jump < y->jump);
}

/* Each node's bill accrues linearly from its launch request to its end, so the curves end
 * exactly at the nodes' cost_usd. */
static int cost_curves(struct node_ctx *k)
{
    struct run_data *rd = k->rd;
    if (k->n)
        qsort(k->c, k->n, sizeof *k->c, cost_ev_cmp);
    double acc[2] = {0, 0}, slope[2] = {0, 0}, t_prev = 0.0;
    if (series_push(&rd->cost_on_demand, 0.0, 0.0) || series_push(&rd->cost_spot, 0.0, 0.0))
        return SIM_ENOMEM;
    size_t i = 0;
    while (i < k->n) {
        double t = k->c[i].t;
        for (int s = 0; s < 2; s++)
            acc[s] += slope[s] * (t - t_prev);
        while (i < k->n && k->c[i].t == t) {
            slope[k->c[i].spot] += k->c[i].slope;
            acc[k->c[i].spot] += k->c[i].jump;
            i++;
        }
        t_prev = t;
        if (series_push(&rd->cost_on_demand, t, acc[0]) || series_push(&rd->cost_spot, t, acc[1]))
            return SIM_ENOMEM;
    }
    return SIM_OK;
}

static int load_fleet(struct db *db, struct run_data *rd, struct sim_err *err)
{
    struct db_value id = db_int(rd->run_id), pid[2] = {id, db_text(rd->series_deployment)};
    struct pod_ctx p;
    memset(&p, 0, sizeof p);
    p.rd = rd;
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT created_s, ready_s, terminating_s, terminated_s, scheduled_s, "
             "image_pulled_s, weights_loaded_s FROM pods WHERE run_id = ?1%s ORDER BY pod_id",
             rd->series_deployment ? " AND deployment = ?2" : "");
    int rc = db_query(db, sql, pid, rd->series_deployment ? 2 : 1, read_pod, &p, err);
    startup_medians(&p);
    if (rc == SIM_OK && (steps(&p.ready, rd->sim_end_s, &rd->ready) ||
                         steps(&p.starting, rd->sim_end_s, &rd->starting)))
        rc = SIM_ENOMEM;
    free(p.ready.e);
    free(p.starting.e);
    if (rc != SIM_OK)
        return rc == SIM_ENOMEM ? oom(err) : rc;
    if (rd->series_deployment) /* nodes and their bill are the cluster's */
        return SIM_OK;
    struct node_ctx k = {rd, {NULL, 0, 0}, NULL, 0, 0};
    rc = db_query(db,
                  "SELECT node_id, capacity_type, requested_s, terminated_s, cost_usd, end_reason "
                  "FROM nodes WHERE run_id = ?1 ORDER BY node_id",
                  &id, 1, read_node, &k, err);
    if (rc == SIM_OK && rd->n_nodes > 0 &&
        (steps(&k.nodes, rd->sim_end_s, &rd->nodes) || cost_curves(&k)))
        rc = SIM_ENOMEM;
    free(k.nodes.e);
    free(k.c);
    if (rc != SIM_OK)
        return rc == SIM_ENOMEM ? oom(err) : rc;
    return SIM_OK;
}

/* ---- samples ------------------------------------------------------------------------------ */

struct sample_ctx {
    struct rd_series *a, *b; /* b: a second column (max) when not NULL */
};

static int read_sample(void *ctx, const struct db_value *c, int n)
{
    (void)n;
    struct sample_ctx *s = ctx;
    if (series_push(s->a, c[0].d, c[1].d) != SIM_OK ||
        (s->b && series_push(s->b, c[0].d, c[2].d) != SIM_OK))
        return SIM_ENOMEM;
    return 0;
}

static int load_samples(struct db *db, struct run_data *rd, struct sim_err *err)
{
    struct db_value p[3] = {db_int(rd->run_id), db_text(NULL), db_text(rd->series_deployment)};
    static const struct {
        const char *metric;
        const char *agg;
        size_t off_a, off_b;
    } q[] = {
        {"vllm:num_requests_waiting", "sum(value)", offsetof(struct run_data, queue), 0},
        {"vllm:num_requests_running", "sum(value)", offsetof(struct run_data, running), 0},
        {"llmcap:gateway_requests_waiting", "sum(value)", offsetof(struct run_data, gateway), 0},
        {"vllm:kv_cache_usage_perc", "avg(value), max(value)", offsetof(struct run_data, kv_mean),
         offsetof(struct run_data, kv_max)},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT t_s, %s FROM samples WHERE run_id = ?1 AND metric = ?2%s GROUP BY t_s "
                 "ORDER BY t_s",
                 q[i].agg, rd->series_deployment ? " AND deployment = ?3" : "");
        p[1] = db_text(q[i].metric);
        struct sample_ctx s = {(struct rd_series *)((char *)rd + q[i].off_a),
                               q[i].off_b ? (struct rd_series *)((char *)rd + q[i].off_b) : NULL};
        int rc = db_query(db, sql, p, rd->series_deployment ? 3 : 2, read_sample, &s, err);
        if (rc != SIM_OK)
            return rc == SIM_ENOMEM ? oom(err) : rc;
    }
    rd->n_samples_waiting = rd->queue.n;
    rd->n_samples_kv = rd->kv_mean.n;
    return SIM_OK;
}

/* ---- the run ------------------------------------------------------------------------------ */

int run_data_load(struct db *db, int64_t run_id, unsigned what, struct run_data *rd,
                  struct sim_err *err)
{
    memset(rd, 0, sizeof *rd);
    rd->run_id = run_id;
    int rc = load_headline(db, rd, err);
    if (rc == SIM_OK && (what & RD_SERIES))
        rc = run_data_load_series(db, rd, NULL, NULL, 0, err);
    if (rc != SIM_OK)
        run_data_release(rd);
    return rc;
}

/* Deployment d of rd on its own, its series empty (run_data_load_series() fills them). */
static int dep_view(struct db *db, const struct run_data *rd, const struct rd_dep *d,
                    struct run_data *out, bool *recorded, struct sim_err *err)
{
    *out = run_data_deployment_view(rd, d);
    out->deps = NULL;
    out->n_deps = 0;
    out->node_groups = NULL;
    out->n_node_groups = 0;
    out->series_deployment = d->name;
    out->slo = NULL;
    out->n_slo = 0;
    out->has_series = false;
    out->win = NULL;
    out->n_windows = 0;
    out->n_request_rows = 0;
    memset(out->n_ok_rows, 0, sizeof out->n_ok_rows);
    out->n_pods = out->n_nodes = out->n_started = 0;
    struct rd_series *series[] = {RD_SERIES_LIST(out)};
    for (size_t i = 0; i < sizeof series / sizeof series[0]; i++)
        *series[i] = (struct rd_series){NULL, 0, 0};
    *recorded = false;
    /* a file of schema 2 has no deployment column; a run written by it (migrated) has
     * NULL there: neither says whose a row is */
    if (!db_has_column(db, "requests", "deployment") || !db_has_column(db, "pods", "deployment"))
        return SIM_OK;
    struct db_value p[2] = {db_int(rd->run_id), db_text(d->name)};
    int64_t exists = 0;
    int rc = db_query(db,
                      "SELECT EXISTS (SELECT 1 FROM pods WHERE run_id = ?1 AND deployment = ?2) "
                      "OR EXISTS (SELECT 1 FROM requests WHERE run_id = ?1 AND deployment = ?2)",
                      p, 2, count_one, &exists, err);
    *recorded = exists != 0;
    if (rc != SIM_OK || !*recorded)
        return rc;
    /* its own SLOs, under their own names ("ttft_p95", not "chat.ttft_p95") */
    size_t n = 0;
    for (size_t i = 0; i < rd->n_slo; i++)
        n += rd->slo[i].deployment == d->name;
    if (n && !(out->slo = calloc(n, sizeof *out->slo)))
        return oom(err);
    for (size_t i = 0; i < rd->n_slo; i++)
        if (rd->slo[i].deployment == d->name) {
            struct rd_slo *s = &out->slo[out->n_slo++];
            *s = rd->slo[i];
            s->slo += strlen(d->name) + 1; /* "DEP.slo" */
            s->deployment = NULL;
        }
    return SIM_OK;
}

int run_data_load_series(struct db *db, struct run_data *rd, struct run_data *dep,
                         bool *recorded, size_t n, struct sim_err *err)
{
    struct run_data **all = calloc(n + 1, sizeof *all);
    if (!all)
        return oom(err);
    size_t n_all = 0;
    all[n_all++] = rd;
    int rc = SIM_OK;
    for (size_t k = 0; k < n && rc == SIM_OK; k++)
        if ((rc = dep_view(db, rd, &rd->deps[k], &dep[k], &recorded[k], err)) == SIM_OK &&
            recorded[k])
            all[n_all++] = &dep[k];
    if (rc == SIM_OK)
        rc = load_requests(db, all, n_all, err);
    for (size_t j = 0; j < n_all && rc == SIM_OK; j++) {
        all[j]->has_series = true;
        if ((rc = load_fleet(db, all[j], err)) == SIM_OK)
            rc = load_samples(db, all[j], err);
    }
    free(all);
    return rc;
}

/* Free v's windows and every series. */
static void release_series(struct run_data *v)
{
    free(v->win);
    struct rd_series *series[] = {RD_SERIES_LIST(v)};
    for (size_t i = 0; i < sizeof series / sizeof series[0]; i++)
        series_free(series[i]);
}

void run_data_release_deployment(struct run_data *v)
{
    free(v->slo);
    release_series(v);
    memset(v, 0, sizeof *v);
}

void run_data_release(struct run_data *rd)
{
    char *s[] = {rd->scenario_name,  rd->scenario_path,  rd->scenario_sha256,    rd->overrides,
                 rd->labels_json,    rd->llmcap_version, rd->git_describe,       rd->gsl_version,
                 rd->sqlite_version, rd->latency_model,  rd->latency_provenance, rd->trace_path,
                 rd->created_utc};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        free(s[i]);
    for (size_t i = 0; i < rd->n_summary; i++)
        free(rd->summary[i].key);
    free(rd->summary);
    for (size_t i = 0; i < rd->n_slo; i++) {
        free(rd->slo[i].slo);
        free(rd->slo[i].metric);
        free(rd->slo[i].unit);
    }
    free(rd->slo);
    free(rd->node_groups);
    for (size_t i = 0; i < rd->n_deps; i++) {
        free(rd->deps[i].name);
        for (size_t k = 0; k < rd->deps[i].n_summary; k++)
            free(rd->deps[i].summary[k].key);
        free(rd->deps[i].summary);
    }
    free(rd->deps);
    release_series(rd);
    memset(rd, 0, sizeof *rd);
}
