/* compare.c: runs side by side, with changes against the first, as text or JSON. */
#include "reports/compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports/findings.h"
#include "reports/zones.h"

/* ---- values ------------------------------------------------------------------------------- */

void compare_fmt_delta_pct(char *buf, size_t n, double base, double v)
{
    if (isnan(base) || isnan(v))
        snprintf(buf, n, "%s", "");
    else if (base == 0)
        snprintf(buf, n, "%s", v == 0 ? "+0.0%" : "n/a");
    else
        snprintf(buf, n, "%+.1f%%", (v - base) / fabs(base) * 100.0);
}

static void run_label(char *buf, size_t n, size_t i)
{
    if (i < 26)
        snprintf(buf, n, "%c", (char)('A' + i));
    else
        snprintf(buf, n, "R%zu", i + 1);
}

/* Append s to names[0..*k) unless it is there. */
static void add_name(const char **names, size_t *k, const char *s)
{
    for (size_t q = 0; q < *k; q++)
        if (!strcmp(names[q], s))
            return;
    names[(*k)++] = s;
}

/* SLO names of all runs, sorted, without repeats. Caller frees the array (not the names,
 * which are borrowed from the runs). */
static const char **slo_names(const struct cmp_run *runs, size_t n, size_t *n_names)
{
    size_t cap = 0;
    for (size_t i = 0; i < n; i++)
        cap += runs[i].rd->n_slo;
    const char **names = malloc((cap ? cap : 1) * sizeof *names);
    size_t k = 0;
    if (!names) {
        *n_names = 0;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < runs[i].rd->n_slo; j++)
            add_name(names, &k, runs[i].rd->slo[j].slo);
    for (size_t a = 1; a < k; a++) /* insertion sort: a handful of names */
        for (size_t b = a; b > 0 && strcmp(names[b - 1], names[b]) > 0; b--) {
            const char *t = names[b];
            names[b] = names[b - 1];
            names[b - 1] = t;
        }
    *n_names = k;
    return names;
}

static const struct rd_slo *find_slo(const struct run_data *rd, const char *name)
{
    for (size_t i = 0; i < rd->n_slo; i++)
        if (!strcmp(rd->slo[i].slo, name))
            return &rd->slo[i];
    return NULL;
}

static void slo_target(char *buf, size_t n, const struct rd_slo *s)
{
    char t[32];
    if (!strcmp(s->unit, "frac"))
        snprintf(t, sizeof t, "%.4g%%", s->target * 100);
    else
        fmt_latency(t, sizeof t, s->target);
    snprintf(buf, n, "SLO %s <= %s", s->slo, t);
}

/* ---- deployments -------------------------------------------------------------------------- */

/* Runs of several deployments are also compared deployment by deployment (matched by
 * name): these headline metrics over each one's own requests (deployment_summary), its
 * share of its cluster's bill and its SLOs. */
static const char *const dep_keys[] = {"error_rate_frac",      "ttft_p95_s",
                                       "tpot_p95_s",           "e2e_p95_s",
                                       "throughput_req_per_s", "goodput_req_per_s",
                                       "replicas_peak_ready",  "replica_minutes",
                                       "cost_usd"};
static const struct hl_metric share_metric = {"cost_share_frac", "share of the bill", HL_FRAC,
                                              HL_NEUTRAL, false, 0.0};

static const struct rd_dep *find_dep(const struct run_data *rd, const char *name)
{
    for (size_t i = 0; i < rd->n_deps; i++)
        if (!strcmp(rd->deps[i].name, name))
            return &rd->deps[i];
    return NULL;
}

/* The deployments of all runs, each once, in the order they first appear (the baseline's
 * order first). Caller frees the array (the names are borrowed). */
static const char **dep_names(const struct cmp_run *runs, size_t n, size_t *n_names)
{
    size_t cap = 0, k = 0;
    for (size_t i = 0; i < n; i++)
        cap += runs[i].rd->n_deps;
    *n_names = 0;
    if (cap == 0)
        return NULL;
    const char **names = malloc(cap * sizeof *names);
    if (!names)
        return NULL;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < runs[i].rd->n_deps; j++)
            add_name(names, &k, runs[i].rd->deps[j].name);
    *n_names = k;
    return names;
}

/* Metric m of the run (dep NULL) or of its deployment `dep` (NaN when it has none). */
static double value_of(const struct run_data *rd, const struct hl_metric *m, const char *dep)
{
    if (!dep)
        return hl_value(rd, m);
    const struct rd_dep *d = find_dep(rd, dep);
    if (!d)
        return NAN;
    if (m == &share_metric) {
        double total = run_data_get(rd, "cost_usd");
        return total > 0 ? d->cost_usd / total : NAN;
    }
    struct run_data v = run_data_deployment_view(rd, d);
    return hl_value(&v, m);
}

static const struct hl_metric *metric_by_key(const char *key)
{
    for (size_t k = 0; k < hl_n_metrics; k++)
        if (!strcmp(hl_metrics[k].key, key))
            return &hl_metrics[k];
    return NULL;
}

/* The metrics compared for a deployment: dep_keys (each one of hl_metrics), then its share
 * of the bill. */
static const struct hl_metric *dep_metric(size_t i)
{
    return i < sizeof dep_keys / sizeof dep_keys[0] ? metric_by_key(dep_keys[i]) : &share_metric;
}
enum { N_DEP_METRICS = sizeof dep_keys / sizeof dep_keys[0] + 1 };

static bool any_value(const struct cmp_run *runs, size_t n, const struct hl_metric *m,
                      const char *dep)
{
    for (size_t i = 0; i < n; i++)
        if (!isnan(value_of(runs[i].rd, m, dep)))
            return true;
    return false;
}

static size_t slo_passed(const struct run_data *rd)
{
    size_t k = 0;
    for (size_t i = 0; i < rd->n_slo; i++)
        k += rd->slo[i].pass;
    return k;
}

/* ---- text --------------------------------------------------------------------------------- */

enum { CELL = 48 };

struct table {
    char (*c)[CELL];
    size_t cols, rows, cap;
    bool oom;
};

static char *cell(struct table *t, size_t col)
{
    static char scratch[CELL];
    if (t->oom)
        return scratch;
    return t->c[(t->rows - 1) * t->cols + col];
}

static void new_row(struct table *t)
{
    if (t->oom)
        return;
    if (t->rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        char(*p)[CELL] = sim_reallocarray(t->c, cap * t->cols, CELL);
        if (!p) {
            t->oom = true;
            return;
        }
        t->c = p;
        t->cap = cap;
    }
    memset(t->c[t->rows * t->cols], 0, t->cols * CELL);
    t->rows++;
}

/* column kinds: 0 left (labels), 1 right (numbers) */
static int col_kind(size_t col, size_t n_runs)
{
    if (col < 2)
        return 0;
    size_t k = col - 2;
    if (k == 0)
        return 1;
    (void)n_runs;
    return (k - 1) % 4 == 3 ? 0 : 1; /* value, delta, delta %, verdict */
}

static size_t col_of(size_t run, size_t what)
{
    return run == 0 ? 2 : 3 + (run - 1) * 4 + what;
}

/*
 * Decimals for one metric's row, the same for every run's value and change, so that a
 * row reads at one precision: money and counts as their unit has it (cents, 4 decimals
 * per 1M tokens, whole counts); other quantities with three significant digits of the
 * smallest non-zero value (0.0319 s, 2.55 s, 548 tok/s) and two of the smallest non-zero
 * change (2.0090 -> 2.0045 req/s: -0.0045), at most 6 decimals.
 */
static int row_decimals(const struct hl_metric *m, const struct cmp_run *runs, size_t n,
                        const char *dep)
{
    switch (m->unit) {
    case HL_USD:
        return 2;
    case HL_USD_PER_MTOK:
        return 4;
    case HL_COUNT:
    case HL_MIN:
        for (size_t i = 0; i < n; i++) {
            double v = value_of(runs[i].rd, m, dep) * hl_display_scale(m);
            if (!isnan(v) && v != floor(v))
                return 1;
        }
        return 0;
    default:
        break;
    }
    /* three significant digits of the smallest value, two of the smallest change */
    double small = INFINITY, small_delta = INFINITY;
    double base = value_of(runs[0].rd, m, dep) * hl_display_scale(m);
    for (size_t i = 0; i < n; i++) {
        double x = value_of(runs[i].rd, m, dep) * hl_display_scale(m), v = fabs(x);
        double dv = fabs(x - base);
        if (!isnan(v) && v > 0 && v < small)
            small = v;
        if (!isnan(dv) && dv > 0 && dv < small_delta)
            small_delta = dv;
    }
    int d = isinf(small) ? 0 : 2 - (int)floor(log10(small));
    if (!isinf(small_delta) && 1 - (int)floor(log10(small_delta)) > d)
        d = 1 - (int)floor(log10(small_delta));
    return d < 0 ? 0 : d > 6 ? 6 : d;
}

static void fmt_fixed(char *buf, size_t n, double v, int decimals, bool sign)
{
    if (isnan(v))
        snprintf(buf, n, "%s", sign ? "" : "-");
    else if (sign)
        snprintf(buf, n, "%+.*f", decimals, v);
    else
        snprintf(buf, n, "%.*f", decimals, v);
}

/* One metric's row (of deployment `dep`'s, its label prefixed "dep: ", when not NULL); none
 * when no run has a value. */
static void metric_row(struct table *t, const struct cmp_run *runs, size_t n,
                       const struct hl_metric *m, const char *dep)
{
    if (!any_value(runs, n, m, dep))
        return;
    new_row(t);
    if (dep)
        snprintf(cell(t, 0), CELL, "%.*s: %s", CELL / 2, dep, m->label);
    else
        snprintf(cell(t, 0), CELL, "%s", m->label);
    snprintf(cell(t, 1), CELL, "%s", hl_unit_name(m->unit));
    int dec = row_decimals(m, runs, n, dep);
    double scale = hl_display_scale(m);
    double base = value_of(runs[0].rd, m, dep);
    for (size_t i = 0; i < n; i++) {
        double v = value_of(runs[i].rd, m, dep);
        fmt_fixed(cell(t, col_of(i, 0)), CELL, v * scale, dec, false);
        if (i == 0)
            continue;
        fmt_fixed(cell(t, col_of(i, 1)), CELL, (v - base) * scale, dec, true);
        compare_fmt_delta_pct(cell(t, col_of(i, 2)), CELL, base, v);
        snprintf(cell(t, col_of(i, 3)), CELL, "%s", hl_verdict(m, base, v));
    }
}

/* The comparison as a table of cells: a header row, the SLO rows, the metric rows, and for
 * runs of several deployments each deployment's rows. */
static void build_table(struct table *t, const struct cmp_run *runs, size_t n)
{
    char lab[32];
    *t = (struct table){NULL, 2 + 1 + (n - 1) * 4, 0, 0, false};
    new_row(t);
    snprintf(cell(t, 0), CELL, "metric");
    snprintf(cell(t, 1), CELL, "unit");
    for (size_t i = 0; i < n; i++) {
        run_label(lab, sizeof lab, i);
        snprintf(cell(t, col_of(i, 0)), CELL, "%s", lab);
        if (i > 0) {
            snprintf(cell(t, col_of(i, 1)), CELL, "%s-A", lab);
            snprintf(cell(t, col_of(i, 2)), CELL, "%s-A %%", lab);
            snprintf(cell(t, col_of(i, 3)), CELL, "%s vs A", lab);
        }
    }
    /* SLOs */
    size_t n_names = 0;
    const char **names = slo_names(runs, n, &n_names);
    if (n_names) {
        new_row(t);
        snprintf(cell(t, 0), CELL, "SLOs met");
        for (size_t i = 0; i < n; i++)
            snprintf(cell(t, col_of(i, 0)), CELL, "%zu/%zu", slo_passed(runs[i].rd),
                     runs[i].rd->n_slo);
    }
    for (size_t k = 0; k < n_names; k++) {
        new_row(t);
        const struct rd_slo *s0 = NULL;
        for (size_t i = 0; i < n && !s0; i++)
            s0 = find_slo(runs[i].rd, names[k]);
        if (!s0)
            continue; /* every name comes from a run: not reached */
        slo_target(cell(t, 0), CELL, s0);
        const struct rd_slo *base = find_slo(runs[0].rd, names[k]);
        for (size_t i = 0; i < n; i++) {
            const struct rd_slo *s = find_slo(runs[i].rd, names[k]);
            snprintf(cell(t, col_of(i, 0)), CELL, "%s", !s ? "-" : s->pass ? "PASS" : "FAIL");
            if (i > 0 && s && base && s->pass != base->pass)
                snprintf(cell(t, col_of(i, 3)), CELL, "%s", s->pass ? "better" : "worse");
        }
    }
    free(names);
    /* metrics */
    for (size_t k = 0; k < hl_n_metrics; k++)
        metric_row(t, runs, n, &hl_metrics[k], NULL);
    /* each deployment: its SLOs met, its metrics */
    size_t n_deps = 0;
    const char **deps = dep_names(runs, n, &n_deps);
    for (size_t k = 0; k < n_deps; k++) {
        new_row(t);
        snprintf(cell(t, 0), CELL, "%.*s: SLOs met", CELL - 12, deps[k]);
        const struct rd_dep *base = find_dep(runs[0].rd, deps[k]);
        for (size_t i = 0; i < n; i++) {
            const struct rd_dep *d = find_dep(runs[i].rd, deps[k]);
            if (!d) {
                snprintf(cell(t, col_of(i, 0)), CELL, "-");
                continue;
            }
            snprintf(cell(t, col_of(i, 0)), CELL, "%zu/%zu", d->n_pass, d->n_slo);
            if (i > 0 && base && d->slo_pass != base->slo_pass)
                snprintf(cell(t, col_of(i, 3)), CELL, "%s", d->slo_pass ? "better" : "worse");
        }
        for (size_t j = 0; j < N_DEP_METRICS; j++)
            metric_row(t, runs, n, dep_metric(j), deps[k]);
    }
    free(deps);
}

/* The run's nodes by zone, "3 in use1-az4 (us-east-1a), 1 in use1-az1 (us-east-1c)"
 * (groups are in zone order); false when the run has no nodes. */
static bool zones_line(const struct run_data *rd, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < rd->n_node_groups && at < n; i++) {
        const struct rd_node_group *g = &rd->node_groups[i];
        size_t nodes = g->nodes;
        while (i + 1 < rd->n_node_groups && !strcmp(rd->node_groups[i + 1].zone, g->zone))
            nodes += rd->node_groups[++i].nodes;
        char z[160];
        zone_display(&rd->zones, g->zone, z, sizeof z);
        int w = snprintf(buf + at, n - at, "%s%zu in %s", at ? ", " : "", nodes, z);
        if (w < 0)
            break;
        at += (size_t)w;
    }
    return at > 0;
}

static void print_legend(FILE *out, const struct cmp_run *runs, size_t n, bool md)
{
    char lab[32];
    for (size_t i = 0; i < n; i++) {
        const struct run_data *rd = runs[i].rd;
        run_label(lab, sizeof lab, i);
        if (md)
            fprintf(out, "- **%s** `%s` run %lld: %s, seed %lld", lab, runs[i].db_label,
                    (long long)rd->run_id, rd->scenario_name, (long long)rd->seed);
        else
            fprintf(out, "  %-3s %s run %lld: %s, seed %lld", lab, runs[i].db_label,
                    (long long)rd->run_id, rd->scenario_name, (long long)rd->seed);
        if (rd->overrides && rd->overrides[0])
            fprintf(out, md ? ", `--set %s`" : ", --set %s", rd->overrides);
        if (rd->labels_json && strcmp(rd->labels_json, "{}"))
            fprintf(out, md ? ", labels `%s`" : ", labels %s", rd->labels_json);
        char zones[1024];
        if (zones_line(rd, zones, sizeof zones))
            fprintf(out, "; nodes %s", zones);
        fprintf(out, "\n");
    }
}

void compare_print_text(FILE *out, const struct cmp_run *runs, size_t n)
{
    fprintf(out, "llmcap compare: %zu run%s; changes are against A\n", n, n == 1 ? "" : "s");
    print_legend(out, runs, n, false);
    struct table t;
    build_table(&t, runs, n);
    if (t.oom) {
        fprintf(out, "(out of memory)\n");
        free(t.c);
        return;
    }
    size_t width[256] = {0};
    for (size_t r = 0; r < t.rows; r++)
        for (size_t c = 0; c < t.cols && c < 256; c++) {
            size_t l = strlen(t.c[r * t.cols + c]);
            if (l > width[c])
                width[c] = l;
        }
    fprintf(out, "\n");
    for (size_t r = 0; r < t.rows; r++) {
        /* trailing blanks trimmed: print up to the last non-empty cell */
        size_t last = 0;
        for (size_t c = 0; c < t.cols; c++)
            if (t.c[r * t.cols + c][0])
                last = c;
        for (size_t c = 0; c <= last; c++) {
            const char *s = t.c[r * t.cols + c];
            int w = (int)width[c];
            if (c > 0)
                fputs("  ", out);
            if (col_kind(c, n) == 1)
                fprintf(out, "%*s", w, s);
            else if (c == last)
                fputs(s, out);
            else
                fprintf(out, "%-*s", w, s);
        }
        fputc('\n', out);
    }
    free(t.c);
}

/* A cell in a GitHub-flavoured Markdown table: '|' escaped. */
static void md_cell(FILE *out, const char *s)
{
    fputc(' ', out);
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', out);
        fputc(*s, out);
    }
    fputs(" |", out);
}

void compare_print_md(FILE *out, const struct cmp_run *runs, size_t n)
{
    fprintf(out, "### llmcap compare: %zu run%s, changes against A\n\n", n, n == 1 ? "" : "s");
    print_legend(out, runs, n, true);
    struct table t;
    build_table(&t, runs, n);
    if (t.oom) {
        fprintf(out, "\n(out of memory)\n");
        free(t.c);
        return;
    }
    fputc('\n', out);
    for (size_t r = 0; r < t.rows; r++) {
        fputc('|', out);
        for (size_t c = 0; c < t.cols; c++)
            md_cell(out, t.c[r * t.cols + c]);
        fputc('\n', out);
        if (r == 0) {
            fputc('|', out);
            for (size_t c = 0; c < t.cols; c++)
                fputs(col_kind(c, n) == 1 ? " ---: |" : " :--- |", out);
            fputc('\n', out);
        }
    }
    free(t.c);
}

/* ---- JSON --------------------------------------------------------------------------------- */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v)
{
    if (isnan(v) || isinf(v))
        fputs("null", f);
    else
        fprintf(f, "%.17g", v);
}

/* One metric as a JSON object (of deployment `dep` when not NULL), after `indent`; none
 * when no run has a value. */
static void json_metric(FILE *out, const struct cmp_run *runs, size_t n,
                        const struct hl_metric *m, const char *dep, const char *indent,
                        bool *first)
{
    if (!any_value(runs, n, m, dep))
        return;
    static const char *const dir[] = {"neither", "higher", "lower"};
    fprintf(out, "%s%s{\"key\": \"%s\", \"label\": ", *first ? "" : ",", indent, m->key);
    *first = false;
    json_str(out, m->label);
    fprintf(out, ", \"unit\": ");
    json_str(out, m->unit == HL_FRAC  ? "frac"
                  : m->unit == HL_MIN ? "s"
                                      : hl_unit_name(m->unit));
    fprintf(out, ", \"worse\": \"%s\", \"values\": [", dir[m->dir]);
    double base = value_of(runs[0].rd, m, dep);
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%s", i ? ", " : "");
        json_num(out, value_of(runs[i].rd, m, dep));
    }
    fprintf(out, "], \"delta\": [");
    for (size_t i = 0; i < n; i++) {
        double v = value_of(runs[i].rd, m, dep);
        fprintf(out, "%s", i ? ", " : "");
        json_num(out, i == 0 ? NAN : v - base);
    }
    fprintf(out, "], \"delta_pct\": [");
    for (size_t i = 0; i < n; i++) {
        double v = value_of(runs[i].rd, m, dep);
        fprintf(out, "%s", i ? ", " : "");
        json_num(out, i == 0 || base == 0 ? (i && v == 0 && base == 0 ? 0.0 : NAN)
                                          : (v - base) / fabs(base) * 100.0);
    }
    fprintf(out, "]}");
}

void compare_print_json(FILE *out, const struct cmp_run *runs, size_t n)
{
    char lab[32];
    fprintf(out, "{\n  \"baseline\": \"A\",\n  \"runs\": [");
    for (size_t i = 0; i < n; i++) {
        const struct run_data *rd = runs[i].rd;
        run_label(lab, sizeof lab, i);
        fprintf(out, "%s\n    {\"label\": \"%s\", \"db\": ", i ? "," : "", lab);
        json_str(out, runs[i].db_label);
        fprintf(out, ", \"run_id\": %lld, \"scenario\": ", (long long)rd->run_id);
        json_str(out, rd->scenario_name);
        fprintf(out, ", \"seed\": %lld, \"overrides\": ", (long long)rd->seed);
        json_str(out, rd->overrides);
        fprintf(out, ", \"labels_json\": ");
        json_str(out, rd->labels_json);
        fprintf(out, ", \"slo_passed\": %zu, \"slo_total\": %zu, \"nodes_by_zone\": [",
                slo_passed(rd), rd->n_slo);
        for (size_t g = 0; g < rd->n_node_groups; g++) {
            const struct rd_node_group *ng = &rd->node_groups[g];
            size_t nodes = ng->nodes;
            while (g + 1 < rd->n_node_groups && !strcmp(rd->node_groups[g + 1].zone, ng->zone))
                nodes += rd->node_groups[++g].nodes;
            char name[64];
            fprintf(out, "%s{\"zone\": ", ng == rd->node_groups ? "" : ", ");
            json_str(out, ng->zone);
            fprintf(out, ", \"zone_name\": ");
            if (zone_name_of(rd->zones.names, ng->zone, name, sizeof name))
                json_str(out, name);
            else
                fputs("null", out);
            fprintf(out, ", \"nodes\": %zu}", nodes);
        }
        fprintf(out, "]}");
    }
    fprintf(out, "\n  ],\n  \"slo\": [");
    size_t n_names = 0;
    const char **names = slo_names(runs, n, &n_names);
    for (size_t k = 0; k < n_names; k++) {
        fprintf(out, "%s\n    {\"slo\": ", k ? "," : "");
        json_str(out, names[k]);
        fprintf(out, ", \"pass\": [");
        for (size_t i = 0; i < n; i++) {
            const struct rd_slo *s = find_slo(runs[i].rd, names[k]);
            fprintf(out, "%s%s", i ? ", " : "", !s ? "null" : s->pass ? "true" : "false");
        }
        fprintf(out, "], \"target\": [");
        for (size_t i = 0; i < n; i++) {
            const struct rd_slo *s = find_slo(runs[i].rd, names[k]);
            fprintf(out, "%s", i ? ", " : "");
            json_num(out, s ? s->target : NAN);
        }
        fprintf(out, "], \"actual\": [");
        for (size_t i = 0; i < n; i++) {
            const struct rd_slo *s = find_slo(runs[i].rd, names[k]);
            fprintf(out, "%s", i ? ", " : "");
            json_num(out, s ? s->actual : NAN);
        }
        fprintf(out, "]}");
    }
    free(names);
    fprintf(out, "\n  ],\n  \"metrics\": [");
    bool first = true;
    for (size_t k = 0; k < hl_n_metrics; k++)
        json_metric(out, runs, n, &hl_metrics[k], NULL, "\n    ", &first);
    fprintf(out, "\n  ]");
    size_t n_deps = 0;
    const char **deps = dep_names(runs, n, &n_deps);
    if (n_deps) {
        fprintf(out, ",\n  \"deployments\": [");
        for (size_t k = 0; k < n_deps; k++) {
            fprintf(out, "%s\n    {\"deployment\": ", k ? "," : "");
            json_str(out, deps[k]);
            static const char *const what[3] = {"slo_pass", "slo_passed", "slo_total"};
            for (int w = 0; w < 3; w++) {
                fprintf(out, ", \"%s\": [", what[w]);
                for (size_t i = 0; i < n; i++) {
                    const struct rd_dep *d = find_dep(runs[i].rd, deps[k]);
                    fprintf(out, "%s", i ? ", " : "");
                    if (!d)
                        fputs("null", out);
                    else if (w == 0)
                        fputs(d->slo_pass ? "true" : "false", out);
                    else
                        fprintf(out, "%zu", w == 1 ? d->n_pass : d->n_slo);
                }
                fputc(']', out);
            }
            fprintf(out, ", \"metrics\": [");
            bool f = true;
            for (size_t j = 0; j < N_DEP_METRICS; j++)
                json_metric(out, runs, n, dep_metric(j), deps[k], "\n      ", &f);
            fprintf(out, "\n    ]}");
        }
        fprintf(out, "\n  ]");
    }
    free(deps);
    fprintf(out, "\n}\n");
}
