/* sweep.c: the grid of a parameter sweep (cartesian product, fixed order) and its shards. */
#include "reports/sweep.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SWEEP_MAX_POINTS = 1000000 };

void sweep_init(struct sweep *s)
{
    memset(s, 0, sizeof *s);
}

void sweep_release(struct sweep *s)
{
    for (size_t a = 0; a < s->n_axes; a++) {
        for (size_t v = 0; v < s->axes[a].n_values; v++)
            free(s->axes[a].values[v]);
        free(s->axes[a].values);
        free(s->axes[a].path);
    }
    free(s->axes);
    memset(s, 0, sizeof *s);
}

size_t sweep_points(const struct sweep *s)
{
    size_t n = 1;
    for (size_t a = 0; a < s->n_axes; a++)
        n *= s->axes[a].n_values;
    return n;
}

static int add_value(struct sweep_axis *ax, const char *v, size_t len)
{
    char **p = sim_reallocarray(ax->values, ax->n_values + 1, sizeof *p);
    if (!p)
        return SIM_ENOMEM;
    ax->values = p;
    char *d = malloc(len + 1);
    if (!d)
        return SIM_ENOMEM;
    memcpy(d, v, len);
    d[len] = '\0';
    ax->values[ax->n_values++] = d;
    return SIM_OK;
}

int sweep_add_axis(struct sweep *s, const char *spec, struct sim_err *err)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec)
        return sim_err_at(err, SIM_EINVAL, "--vary", 0, 0,
                          "invalid --vary '%s': expected PATH=V1,V2,...", spec);
    size_t plen = (size_t)(eq - spec);
    for (size_t a = 0; a < s->n_axes; a++)
        if (strlen(s->axes[a].path) == plen && !strncmp(s->axes[a].path, spec, plen))
            return sim_err_at(err, SIM_EINVAL, "--vary", 0, 0,
                              "'%.*s' is varied twice: give all its values in one --vary",
                              (int)plen, spec);
    struct sweep_axis ax = {NULL, NULL, 0};
    int rc = SIM_OK;
    ax.path = malloc(plen + 1);
    if (!ax.path)
        return sim_err_set(err, SIM_ENOMEM, "out of memory");
    memcpy(ax.path, spec, plen);
    ax.path[plen] = '\0';
    /* split at commas outside [], {} and quotes */
    const char *v = eq + 1, *start = v;
    int depth = 0;
    char quote = 0;
    for (const char *c = v;; c++) {
        if (*c && quote) {
            if (*c == quote)
                quote = 0;
            continue;
        }
        if (*c == '\'' || *c == '"') {
            quote = *c;
            continue;
        }
        if (*c == '[' || *c == '{')
            depth++;
        else if ((*c == ']' || *c == '}') && depth > 0)
            depth--;
        if (*c == '\0' || (*c == ',' && depth == 0)) {
            size_t len = (size_t)(c - start);
            if (len == 0) {
                rc = sim_err_at(err, SIM_EINVAL, "--vary", 0, 0,
                                "invalid --vary '%s': an empty value (two commas, or a comma "
                                "at an end)",
                                spec);
                break;
            }
            if (add_value(&ax, start, len) != SIM_OK) {
                rc = sim_err_set(err, SIM_ENOMEM, "out of memory");
                break;
            }
            if (*c == '\0')
                break;
            start = c + 1;
        }
    }
    if (rc == SIM_OK && sweep_points(s) * ax.n_values > SWEEP_MAX_POINTS)
        rc = sim_err_at(err, SIM_EINVAL, "--vary", 0, 0,
                        "the grid would have %zu points, more than %d",
                        sweep_points(s) * ax.n_values, SWEEP_MAX_POINTS);
    struct sweep_axis *axes = NULL;
    if (rc == SIM_OK) {
        axes = sim_reallocarray(s->axes, s->n_axes + 1, sizeof *axes);
        if (!axes)
            rc = sim_err_set(err, SIM_ENOMEM, "out of memory");
    }
    if (rc != SIM_OK || !axes) {
        for (size_t i = 0; i < ax.n_values; i++)
            free(ax.values[i]);
        free(ax.values);
        free(ax.path);
        return rc;
    }
    s->axes = axes;
    s->axes[s->n_axes++] = ax;
    return SIM_OK;
}

/* Index of point p's value on axis a (row-major: the last axis varies fastest). */
static size_t value_index(const struct sweep *s, size_t p, size_t a)
{
    size_t stride = 1;
    for (size_t b = a + 1; b < s->n_axes; b++)
        stride *= s->axes[b].n_values;
    return (p / stride) % s->axes[a].n_values;
}

void sweep_point_set(const struct sweep *s, size_t p, size_t a, char *buf, size_t n)
{
    snprintf(buf, n, "%s=%s", s->axes[a].path, s->axes[a].values[value_index(s, p, a)]);
}

/* A JSON number as the grammar writes it: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number(const char *v)
{
    const char *c = v;
    if (*c == '-')
        c++;
    if (*c == '0')
        c++;
    else if (*c >= '1' && *c <= '9')
        while (*c >= '0' && *c <= '9')
            c++;
    else
        return false;
    if (*c == '.') {
        c++;
        if (!(*c >= '0' && *c <= '9'))
            return false;
        while (*c >= '0' && *c <= '9')
            c++;
    }
    if (*c == 'e' || *c == 'E') {
        c++;
        if (*c == '+' || *c == '-')
            c++;
        if (!(*c >= '0' && *c <= '9'))
            return false;
        while (*c >= '0' && *c <= '9')
            c++;
    }
    return *c == '\0';
}

struct buf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void put_s(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_json_string(struct buf *b, const char *s)
{
    put_s(b, "\"");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        char e[8];
        if (*c == '"' || *c == '\\') {
            e[0] = '\\';
            e[1] = (char)*c;
            put(b, e, 2);
        } else if (*c < 0x20) {
            snprintf(e, sizeof e, "\\u%04x", *c);
            put_s(b, e);
        } else {
            put(b, (const char *)c, 1);
        }
    }
    put_s(b, "\"");
}

char *sweep_labels_json(const struct sweep *s, size_t p)
{
    struct buf b = {NULL, 0, 0, false};
    put_s(&b, "{");
    for (size_t a = 0; a < s->n_axes; a++) {
        const char *v = s->axes[a].values[value_index(s, p, a)];
        if (a)
            put_s(&b, ", ");
        put_json_string(&b, s->axes[a].path);
        put_s(&b, ": ");
        if (json_number(v) || !strcmp(v, "true") || !strcmp(v, "false"))
            put_s(&b, v);
        else
            put_json_string(&b, v);
    }
    put_s(&b, "}");
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

int sweep_parse_shard(const char *spec, unsigned *i, unsigned *n, struct sim_err *err)
{
    char *end;
    errno = 0;
    unsigned long a = strtoul(spec, &end, 10);
    if (end == spec || *end != '/' || spec[0] == '-' || errno)
        goto bad;
    const char *d = end + 1;
    unsigned long b = strtoul(d, &end, 10);
    if (end == d || *end || d[0] == '-' || errno || b < 1 || b > 100000 || a >= b)
        goto bad;
    *i = (unsigned)a;
    *n = (unsigned)b;
    return SIM_OK;
bad:
    return sim_err_at(err, SIM_EINVAL, "--shard", 0, 0,
                      "'--shard' must be I/N with 0 <= I < N <= 100000 (I counts from 0), "
                      "got '%s'",
                      spec);
}

bool sweep_in_shard(size_t p, unsigned i, unsigned n)
{
    return p % n == i;
}
