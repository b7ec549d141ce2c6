/*
 * tsdb.c: interned strings, series found by (name, label set) through open-addressing
 * tables, and per-series ring buffers of (t_us, value) that appends never grow.
 */
#include "sim/k8s/tsdb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Prometheus' staleness marker (model/value.StaleNaN): a NaN with its own payload, so
 * an ordinary NaN sample is not taken for one. */
#define STALE_NAN_BITS 0x7ff0000000000002ull

struct str_entry {
    char *s;
    uint64_t hash;
    double num;     /* the string as a float, NaN when it is not one */
    int32_t family; /* index into db->fams of the series with this name, or -1 */
    bool wanted;    /* tsdb_want() was called with this base metric */
};

struct series {
    int32_t name;
    struct tsdb_lset ls;
    uint64_t hash;
    int64_t *t; /* ring of cap samples; t and v share one allocation */
    double *v;
    uint32_t cap;
    uint32_t head; /* physical index of the oldest sample */
    uint32_t n;    /* samples held */
};

struct family {
    int32_t *ids;
    size_t n, cap;
};

struct tsdb {
    int64_t interval_us;
    int64_t retention_us;
    uint32_t ring_cap;

    struct str_entry *strs;
    size_t n_strs, cap_strs;
    int32_t *str_tab; /* open addressing: string ids, -1 empty */
    size_t str_tab_cap;

    struct series *series;
    size_t n_series, cap_series;
    int32_t *ser_tab; /* open addressing: series ids, -1 empty */
    size_t ser_tab_cap;

    struct family *fams;
    size_t n_fams, cap_fams;
};

/* ---- hashing ---- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3u;
    }
    return h;
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u; /* splitmix64 finaliser */
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint64_t hash_series(int32_t name, const struct tsdb_lset *ls)
{
    uint64_t h = mix64((uint64_t)(uint32_t)name + 0x9e3779b97f4a7c15u);
    for (uint32_t i = 0; i < ls->n; i++) {
        uint64_t pair = ((uint64_t)(uint32_t)ls->p[i].name << 32) | (uint32_t)ls->p[i].value;
        h = mix64(h ^ pair);
    }
    return h;
}

static bool lset_eq(const struct tsdb_lset *a, const struct tsdb_lset *b)
{
    return a->n == b->n && memcmp(a->p, b->p, a->n * sizeof a->p[0]) == 0;
}

static bool is_stale(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b == STALE_NAN_BITS;
}

static double stale_nan(void)
{
    uint64_t b = STALE_NAN_BITS;
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

/* ---- interned strings ---- */

/* Prometheus reads `le` with Go's strconv.ParseFloat: decimal or hex floats and the
 * spellings of Inf and NaN. strtod accepts the same forms (C locale). */
static double parse_num(const char *s)
{
    if (!*s)
        return NAN;
    char *end;
    double v = strtod(s, &end);
    return *end == '\0' ? v : NAN;
}

static int32_t *str_slot(const struct tsdb *db, const char *s, uint64_t h)
{
    size_t mask = db->str_tab_cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        int32_t id = db->str_tab[i];
        if (id < 0 || (db->strs[id].hash == h && strcmp(db->strs[id].s, s) == 0))
            return &db->str_tab[i];
    }
}

static int grow_table(int32_t **tab, size_t *cap, size_t need)
{
    size_t n = *cap ? *cap : 64;
    while (n < 2 * need)
        n *= 2;
    if (n == *cap)
        return SIM_OK;
    int32_t *t = sim_reallocarray(NULL, n, sizeof *t);
    if (!t)
        return SIM_ENOMEM;
    for (size_t i = 0; i < n; i++)
        t[i] = -1;
    free(*tab);
    *tab = t;
    *cap = n;
    return SIM_OK;
}

static int str_rehash(struct tsdb *db, size_t need)
{
    if (2 * need <= db->str_tab_cap)
        return SIM_OK;
    int rc = grow_table(&db->str_tab, &db->str_tab_cap, need);
    if (rc)
        return rc;
    for (size_t id = 0; id < db->n_strs; id++)
        *str_slot(db, db->strs[id].s, db->strs[id].hash) = (int32_t)id;
    return SIM_OK;
}

static int32_t str_intern(struct tsdb *db, const char *s)
{
    uint64_t h = hash_str(s);
    int32_t *slot = str_slot(db, s, h);
    if (*slot >= 0)
        return *slot;
    if (db->n_strs >= INT32_MAX - 1)
        return -1;
    if (str_rehash(db, db->n_strs + 1))
        return -1;
    if (db->n_strs == db->cap_strs) {
        size_t cap = db->cap_strs ? 2 * db->cap_strs : 64;
        struct str_entry *p = sim_reallocarray(db->strs, cap, sizeof *p);
        if (!p)
            return -1;
        db->strs = p;
        db->cap_strs = cap;
    }
    char *copy = strdup(s);
    if (!copy)
        return -1;
    int32_t id = (int32_t)db->n_strs++;
    struct str_entry *e = &db->strs[id];
    memset(e, 0, sizeof *e);
    e->s = copy;
    e->hash = h;
    e->num = parse_num(s);
    e->family = -1;
    *str_slot(db, s, h) = id;
    return id;
}

int32_t tsdb_str_find(const struct tsdb *db, const char *s)
{
    return *str_slot(db, s, hash_str(s));
}

const char *tsdb_str(const struct tsdb *db, int32_t id)
{
    SIM_ASSERT(id >= 0 && (size_t)id < db->n_strs);
    return db->strs[id].s;
}

double tsdb_str_num(const struct tsdb *db, int32_t id)
{
    SIM_ASSERT(id >= 0 && (size_t)id < db->n_strs);
    return db->strs[id].num;
}

/* ---- store ---- */

static uint32_t ring_cap_for(int64_t retention_us, int64_t interval_us)
{
    /* One sample per interval over the retention, one more for the window's far edge,
     * and a quarter more plus 4 of slack for scrapes that drift or bunch up. */
    int64_t per = (retention_us + interval_us - 1) / interval_us + 1;
    int64_t cap = per + per / 4 + 4;
    if (cap > (int64_t)1 << 24)
        cap = (int64_t)1 << 24;
    return (uint32_t)cap;
}

struct tsdb *tsdb_new(int64_t scrape_interval_us, int64_t retention_us, struct sim_err *err)
{
    if (scrape_interval_us <= 0) {
        sim_err_set(err, SIM_EINVAL, "scrape interval must be > 0 (us), got '%lld'",
                    (long long)scrape_interval_us);
        return NULL;
    }
    if (retention_us <= 0) {
        sim_err_set(err, SIM_EINVAL, "retention must be > 0 (us), got '%lld'",
                    (long long)retention_us);
        return NULL;
    }
    struct tsdb *db = sim_calloc(1, sizeof *db);
    if (!db || str_rehash(db, 64)) {
        tsdb_free(db);
        sim_err_set(err, SIM_ENOMEM, "out of memory creating the metrics store");
        return NULL;
    }
    db->interval_us = scrape_interval_us;
    db->retention_us = retention_us;
    db->ring_cap = ring_cap_for(retention_us, scrape_interval_us);
    return db;
}

void tsdb_free(struct tsdb *db)
{
    if (!db)
        return;
    for (size_t i = 0; i < db->n_strs; i++)
        free(db->strs[i].s);
    free(db->strs);
    free(db->str_tab);
    for (size_t i = 0; i < db->n_series; i++)
        free(db->series[i].t);
    free(db->series);
    free(db->ser_tab);
    for (size_t i = 0; i < db->n_fams; i++)
        free(db->fams[i].ids);
    free(db->fams);
    free(db);
}

/* Allocate a ring of `cap` samples for `s`, moving its samples (oldest first). */
static int ring_resize(struct series *s, uint32_t cap)
{
    void *mem = malloc((size_t)cap * (sizeof(int64_t) + sizeof(double)));
    if (!mem)
        return SIM_ENOMEM;
    int64_t *t = mem;
    double *v = (double *)(t + cap);
    uint32_t keep = s->n < cap ? s->n : cap;
    for (uint32_t i = 0; i < keep; i++) {
        uint32_t src = (s->head + (s->n - keep) + i) % (s->cap ? s->cap : 1);
        t[i] = s->t[src];
        v[i] = s->v[src];
    }
    free(s->t);
    s->t = t;
    s->v = v;
    s->cap = cap;
    s->head = 0;
    s->n = keep;
    return SIM_OK;
}

int tsdb_retain(struct tsdb *db, int64_t retention_us, struct sim_err *err)
{
    if (retention_us <= db->retention_us)
        return SIM_OK;
    uint32_t cap = ring_cap_for(retention_us, db->interval_us);
    for (size_t i = 0; i < db->n_series; i++) {
        if (db->series[i].cap < cap && ring_resize(&db->series[i], cap))
            return sim_err_set(err, SIM_ENOMEM, "out of memory growing the metrics store");
    }
    db->retention_us = retention_us;
    db->ring_cap = cap;
    return SIM_OK;
}

int64_t tsdb_retention_us(const struct tsdb *db)
{
    return db->retention_us;
}

size_t tsdb_ring_cap(const struct tsdb *db)
{
    return db->ring_cap;
}

int tsdb_want(struct tsdb *db, const char *base_metric, struct sim_err *err)
{
    int32_t id = str_intern(db, base_metric);
    if (id < 0)
        return sim_err_set(err, SIM_ENOMEM, "out of memory registering metric '%s'",
                           base_metric);
    db->strs[id].wanted = true;
    return SIM_OK;
}

bool tsdb_wants(const struct tsdb *db, const char *base_metric)
{
    int32_t id = tsdb_str_find(db, base_metric);
    return id >= 0 && db->strs[id].wanted;
}

/* ---- series ---- */

static int32_t *ser_slot(const struct tsdb *db, int32_t name, const struct tsdb_lset *ls,
                         uint64_t h)
{
    size_t mask = db->ser_tab_cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        int32_t id = db->ser_tab[i];
        if (id < 0)
            return &db->ser_tab[i];
        const struct series *s = &db->series[id];
        if (s->hash == h && s->name == name && lset_eq(&s->ls, ls))
            return &db->ser_tab[i];
    }
}

static int ser_rehash(struct tsdb *db, size_t need)
{
    if (2 * need <= db->ser_tab_cap)
        return SIM_OK;
    int rc = grow_table(&db->ser_tab, &db->ser_tab_cap, need);
    if (rc)
        return rc;
    for (size_t id = 0; id < db->n_series; id++) {
        const struct series *s = &db->series[id];
        *ser_slot(db, s->name, &s->ls, s->hash) = (int32_t)id;
    }
    return SIM_OK;
}

/* Intern `labels` into `ls`, dropping empty values and sorting by label name. -1 on OOM. */
static int make_lset(struct tsdb *db, const struct tsdb_labels *labels, struct tsdb_lset *ls)
{
    ls->n = 0;
    if (!labels)
        return 0;
    SIM_ASSERT(labels->n <= TSDB_MAX_LABELS);
    for (size_t i = 0; i < labels->n; i++) {
        const struct tsdb_label *l = &labels->l[i];
        SIM_ASSERT(l->name && l->name[0] && l->value);
        if (!l->value[0])
            continue;
        /* Insertion sort by name; the same name twice is a caller bug. */
        uint32_t j = ls->n;
        while (j > 0) {
            int c = strcmp(db->strs[ls->p[j - 1].name].s, l->name);
            SIM_ASSERT(c != 0);
            if (c < 0)
                break;
            j--;
        }
        int32_t name = str_intern(db, l->name);
        int32_t value = name < 0 ? -1 : str_intern(db, l->value);
        if (value < 0)
            return -1;
        memmove(&ls->p[j + 1], &ls->p[j], (ls->n - j) * sizeof ls->p[0]);
        ls->p[j] = (struct tsdb_lpair){name, value};
        ls->n++;
    }
    return 0;
}

static int family_add(struct tsdb *db, int32_t name, int32_t id)
{
    struct str_entry *e = &db->strs[name];
    if (e->family < 0) {
        if (db->n_fams == db->cap_fams) {
            size_t cap = db->cap_fams ? 2 * db->cap_fams : 16;
            struct family *p = sim_reallocarray(db->fams, cap, sizeof *p);
            if (!p)
                return SIM_ENOMEM;
            db->fams = p;
            db->cap_fams = cap;
        }
        db->fams[db->n_fams] = (struct family){NULL, 0, 0};
        e->family = (int32_t)db->n_fams++;
    }
    struct family *f = &db->fams[e->family];
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 8;
        int32_t *p = sim_reallocarray(f->ids, cap, sizeof *p);
        if (!p)
            return SIM_ENOMEM;
        f->ids = p;
        f->cap = cap;
    }
    f->ids[f->n++] = id;
    return SIM_OK;
}

int32_t tsdb_series(struct tsdb *db, const char *name, const struct tsdb_labels *labels)
{
    SIM_ASSERT(name[0]); /* never NULL: callers pass metric names */
    struct tsdb_lset ls;
    int32_t name_id = str_intern(db, name);
    if (name_id < 0 || make_lset(db, labels, &ls) < 0)
        return -1;
    uint64_t h = hash_series(name_id, &ls);
    if (db->ser_tab_cap) {
        int32_t id = *ser_slot(db, name_id, &ls, h);
        if (id >= 0)
            return id;
    }
    if (db->n_series >= INT32_MAX - 1 || ser_rehash(db, db->n_series + 1))
        return -1;
    if (db->n_series == db->cap_series) {
        size_t cap = db->cap_series ? 2 * db->cap_series : 64;
        struct series *p = sim_reallocarray(db->series, cap, sizeof *p);
        if (!p)
            return -1;
        db->series = p;
        db->cap_series = cap;
    }
    struct series *s = &db->series[db->n_series];
    *s = (struct series){.name = name_id, .ls = ls, .hash = h};
    if (ring_resize(s, db->ring_cap))
        return -1;
    int32_t id = (int32_t)db->n_series;
    if (family_add(db, name_id, id)) {
        free(s->t);
        return -1;
    }
    db->n_series++;
    *ser_slot(db, name_id, &ls, h) = id;
    return id;
}

static void ring_put(struct series *s, int64_t t_us, double v)
{
    SIM_ASSERT(s->cap > 0);
    if (s->n > 0) {
        uint32_t last = (s->head + s->n - 1) % s->cap;
        SIM_ASSERT(t_us >= s->t[last]);
        if (t_us == s->t[last]) {
            s->v[last] = v;
            return;
        }
    }
    uint32_t idx;
    if (s->n < s->cap) {
        idx = (s->head + s->n) % s->cap;
        s->n++;
    } else {
        idx = s->head;
        s->head = (s->head + 1) % s->cap;
    }
    s->t[idx] = t_us;
    s->v[idx] = v;
}

void tsdb_append(struct tsdb *db, int32_t id, int64_t t_us, double v)
{
    SIM_ASSERT(id >= 0 && (size_t)id < db->n_series);
    ring_put(&db->series[id], t_us, v);
}

void tsdb_mark_stale(struct tsdb *db, int32_t id, int64_t t_us)
{
    SIM_ASSERT(id >= 0 && (size_t)id < db->n_series);
    ring_put(&db->series[id], t_us, stale_nan());
}

/* ---- read side ---- */

size_t tsdb_n_series(const struct tsdb *db)
{
    return db->n_series;
}

const int32_t *tsdb_family(const struct tsdb *db, int32_t name_id, size_t *n)
{
    *n = 0;
    if (name_id < 0 || (size_t)name_id >= db->n_strs || db->strs[name_id].family < 0)
        return NULL;
    const struct family *f = &db->fams[db->strs[name_id].family];
    *n = f->n;
    return f->ids;
}

int32_t tsdb_series_name(const struct tsdb *db, int32_t id)
{
    SIM_ASSERT(id >= 0 && (size_t)id < db->n_series);
    return db->series[id].name;
}

const struct tsdb_lset *tsdb_series_labels(const struct tsdb *db, int32_t id)
{
    SIM_ASSERT(id >= 0 && (size_t)id < db->n_series);
    return &db->series[id].ls;
}

int32_t tsdb_lset_get(const struct tsdb_lset *ls, int32_t name_id)
{
    for (uint32_t i = 0; i < ls->n; i++)
        if (ls->p[i].name == name_id)
            return ls->p[i].value;
    return -1;
}

/* Logical index (0 = oldest) of the first sample with t > `t_us`; s->n when none. */
static uint32_t first_after(const struct series *s, int64_t t_us)
{
    uint32_t lo = 0, hi = s->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->t[(s->head + mid) % s->cap] > t_us)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

bool tsdb_instant(const struct tsdb *db, int32_t id, int64_t t_us, int64_t lookback_us,
                  double *v, int64_t *t_sample_us)
{
    SIM_ASSERT(id >= 0 && (size_t)id < db->n_series);
    const struct series *s = &db->series[id];
    if (s->n == 0)
        return false;
    uint32_t k = s->n; /* newest first: the common case is querying "now" */
    if (s->t[(s->head + s->n - 1) % s->cap] > t_us)
        k = first_after(s, t_us);
    if (k == 0)
        return false;
    uint32_t idx = (s->head + k - 1) % s->cap;
    if (s->t[idx] <= t_us - lookback_us || is_stale(s->v[idx]))
        return false;
    *v = s->v[idx];
    if (t_sample_us)
        *t_sample_us = s->t[idx];
    return true;
}

void tsdb_range(const struct tsdb *db, int32_t id, int64_t from_excl_us, int64_t to_incl_us,
                struct tsdb_iter *it)
{
    SIM_ASSERT(id >= 0 && (size_t)id < db->n_series);
    const struct series *s = &db->series[id];
    uint32_t lo = first_after(s, from_excl_us);
    uint32_t hi = first_after(s, to_incl_us);
    it->t = s->t;
    it->v = s->v;
    it->cap = s->cap;
    it->pos = s->cap ? (s->head + lo) % s->cap : 0;
    it->left = hi > lo ? hi - lo : 0;
}

bool tsdb_iter_next(struct tsdb_iter *it, int64_t *t_us, double *v)
{
    while (it->left > 0) {
        uint32_t i = it->pos;
        it->pos = it->pos + 1 == it->cap ? 0 : it->pos + 1;
        it->left--;
        if (is_stale(it->v[i]))
            continue;
        *t_us = it->t[i];
        *v = it->v[i];
        return true;
    }
    return false;
}
