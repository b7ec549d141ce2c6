/*
 * report.c: the report of one run: data files and a gnuplot script for the charts, then
 * one document model rendered twice, as Markdown and as a self-contained HTML page.
 */
#include "reports/report.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reports/chart.h"
#include "reports/findings.h"
#include "reports/rundata.h"
#include "reports/zones.h"

/* ---- formatting ---------------------------------------------------------------------------- */

void fmt_usd(char *buf, size_t n, double usd)
{
    if (isnan(usd)) {
        snprintf(buf, n, "-");
        return;
    }
    if (fabs(usd) < 100.0) {
        snprintf(buf, n, "$%.2f", usd);
        return;
    }
    char digits[64];
    snprintf(digits, sizeof digits, "%.0f", fabs(usd));
    size_t len = strlen(digits), o = 0;
    char tmp[96];
    tmp[o++] = '$';
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            tmp[o++] = ',';
        tmp[o++] = digits[i];
    }
    tmp[o] = '\0';
    snprintf(buf, n, "%s%s", usd < 0 ? "-" : "", tmp);
}

static void fmt_pct(char *buf, size_t n, double frac)
{
    if (isnan(frac))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.1f%%", frac * 100.0);
}

static void fmt_num(char *buf, size_t n, double v)
{
    if (isnan(v))
        snprintf(buf, n, "-");
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%.4g", v);
}

/* ---- the document model --------------------------------------------------------------------- */

enum { CF_STRONG = 1, CF_CODE = 2, CF_NUM = 4, CF_PASS = 8, CF_FAIL = 16, CF_NOWRAP = 32 };

struct cell {
    char *text;
    unsigned flags;
};

enum blk_kind { B_H2, B_P, B_NOTE, B_TABLE, B_LIST, B_FIG, B_CARDS };

struct blk {
    enum blk_kind kind;
    char *text;         /* H2, P, NOTE; FIG: the title */
    char *name;         /* FIG: chart name */
    char *caption;      /* FIG */
    size_t n_cols;      /* TABLE */
    struct cell *cells; /* TABLE: header then rows; LIST: items; CARDS: k, v, detail */
    size_t n_cells, cap;
};

struct doc {
    struct blk *b;
    size_t n, cap;
    bool oom;
};

static struct blk *doc_add(struct doc *d, enum blk_kind kind, const char *text)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 32;
        struct blk *p = sim_reallocarray(d->b, cap, sizeof *p);
        if (!p) {
            d->oom = true;
            return NULL;
        }
        d->b = p;
        d->cap = cap;
    }
    struct blk *b = &d->b[d->n++];
    memset(b, 0, sizeof *b);
    b->kind = kind;
    if (text && !(b->text = strdup(text)))
        d->oom = true;
    return b;
}

static void blk_cell(struct doc *d, struct blk *b, unsigned flags, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void blk_cell(struct doc *d, struct blk *b, unsigned flags, const char *fmt, ...)
{
    if (!b)
        return;
    if (b->n_cells == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        struct cell *p = sim_reallocarray(b->cells, cap, sizeof *p);
        if (!p) {
            d->oom = true;
            return;
        }
        b->cells = p;
        b->cap = cap;
    }
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    struct cell *c = &b->cells[b->n_cells];
    c->text = strdup(buf);
    c->flags = flags;
    if (!c->text)
        d->oom = true;
    else
        b->n_cells++;
}

static void doc_para(struct doc *d, enum blk_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void doc_para(struct doc *d, enum blk_kind kind, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    doc_add(d, kind, buf);
}

static void doc_free(struct doc *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->b[i].text);
        free(d->b[i].name);
        free(d->b[i].caption);
        for (size_t k = 0; k < d->b[i].n_cells; k++)
            free(d->b[i].cells[k].text);
        free(d->b[i].cells);
    }
    free(d->b);
}

/* ---- charts ---------------------------------------------------------------------------------- */

struct chart {
    char name[96];   /* file name without extension: a deployment's are prefixed */
    char title[160]; /* a deployment's begins with its name */
    const char *caption;
    bool drawn;    /* in the script (data present) */
    char why[256]; /* when not drawn */
};

enum { CH_FLEET, CH_QUEUE, CH_TTFT, CH_TPOT, CH_KV, CH_COST, CH_CDF, CH_N };

static const struct {
    const char *name, *title, *caption;
} chart_names[CH_N] = {
    {"fleet", "Arrivals, ready and starting replicas, nodes",
     "Arrivals per second in each window (left axis) against the replicas ready to serve, "
     "the replicas starting (created, not yet Ready: waiting for a node, pulling the image, "
     "loading weights, initialising) and the nodes billed (right axis)."},
    {"queue", "Queue depth",
     "Requests waiting in the vLLM engines' queues (vllm:num_requests_waiting, summed over "
     "replicas, preempted requests included), waiting at the gateway for a replica, and "
     "running, as Prometheus scraped them."},
    {"ttft", "TTFT per window against the SLO",
     "Time to first token of the requests that arrived in each window (ok requests, the "
     "SLO's quantile) against the SLO's target (dashed). Gaps: windows with too few requests."},
    {"tpot", "TPOT per window against the SLO",
     "Time per output token of the requests that arrived in each window (ok requests, the "
     "SLO's quantile) against the SLO's target (dashed)."},
    {"kv_cache", "KV-cache usage",
     "vllm:kv_cache_usage_perc, mean and maximum over the replicas at each scrape. Near 100% "
     "the scheduler preempts running requests."},
    {"cost", "Cost accumulated by capacity type",
     "Each node's bill accrued from its launch request to its end (or the end of the run), "
     "summed by capacity type; the curve ends at the run's cost_usd."},
    {"latency_cdf", "Latency distributions (ok requests)",
     "Cumulative distributions of TTFT, TPOT and end-to-end latency over the requests that "
     "ended ok; the dotted line marks the 95th percentile."},
};

static int open_out(const char *dir, const char *name, FILE **f, struct sim_err *err)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    *f = fopen(path, "w");
    if (!*f)
        return sim_err_at(err, SIM_EIO, path, 0, 0, "cannot write: %s", strerror(errno));
    return SIM_OK;
}

static int close_out(const char *dir, const char *name, FILE *f, struct sim_err *err)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        return sim_err_at(err, SIM_EIO, path, 0, 0, "cannot write: %s", strerror(errno));
    }
    return SIM_OK;
}

static void put_d(FILE *f, double v, const char *sep)
{
    if (isnan(v))
        fprintf(f, "NaN%s", sep);
    else
        fprintf(f, "%.17g%s", v, sep);
}

static int write_series(const char *dir, const char *name, const char *header,
                        const struct rd_series *s, double scale, struct sim_err *err)
{
    FILE *f;
    int rc = open_out(dir, name, &f, err);
    if (rc != SIM_OK)
        return rc;
    fprintf(f, "# %s\n", header);
    for (size_t i = 0; i < s->n; i++) {
        put_d(f, s->p[i].t_s, "\t");
        put_d(f, s->p[i].v * scale, "\n");
    }
    return close_out(dir, name, f, err);
}

/* Column of windows.tsv holding quantile k of TTFT (tpot false) or TPOT. */
static int window_col(const struct run_data *rd, bool tpot, int k)
{
    return tpot ? 13 + rd->nq + k : 12 + k;
}

/* The data files of rd's charts in DIR/data, their names prefixed with `pre` (a
 * deployment's: "dep-chat-"; the cluster's "", with the nodes and the cost). */
static int write_data(const struct run_data *rd, const char *dir, const char *pre,
                      struct sim_err *err)
{
    char data[1100], name[160];
    snprintf(data, sizeof data, "%s/data", dir);
    FILE *f;
    snprintf(name, sizeof name, "%swindows.tsv", pre);
    int rc = open_out(data, name, &f, err);
    if (rc != SIM_OK)
        return rc;
    fprintf(f,
            "# windows of %.17g s by arrival time; latency quantiles over ok requests, NaN "
            "below %d requests\n# t_start_s\tt_mid_s\tarrivals_per_s\tarrived\tok\ttimeout\t"
            "rejected\tfailed\tunfinished\tpreemptions\tn_ttft",
            rd->window_s, RD_MIN_WINDOW_N);
    for (int k = 0; k < rd->nq; k++)
        fprintf(f, "\tttft_p%g_s", rd->q[k] * 100);
    fprintf(f, "\tn_tpot");
    for (int k = 0; k < rd->nq; k++)
        fprintf(f, "\ttpot_p%g_s", rd->q[k] * 100);
    fprintf(f, "\n");
    double total = run_data_get(rd, "requests_total");
    double scale = rd->n_request_rows && !isnan(total) ? total / (double)rd->n_request_rows : 1.0;
    for (size_t i = 0; i < rd->n_windows; i++) {
        const struct rd_window *w = &rd->win[i];
        put_d(f, w->t_s, "\t");
        put_d(f, w->t_s + rd->window_s / 2, "\t");
        put_d(f, w->n_arrived * scale / rd->window_s, "\t");
        fprintf(f, "%u\t%u\t%u\t%u\t%u\t%u\t%llu\t%u", w->n_arrived, w->n_ok, w->n_timeout,
                w->n_rejected, w->n_failed, w->n_unfinished, (unsigned long long)w->preemptions,
                w->n_ttft);
        for (int k = 0; k < rd->nq; k++) {
            fputc('\t', f);
            put_d(f, w->ttft_q[k], "");
        }
        fprintf(f, "\t%u", w->n_tpot);
        for (int k = 0; k < rd->nq; k++) {
            fputc('\t', f);
            put_d(f, w->tpot_q[k], "");
        }
        fputc('\n', f);
    }
    if ((rc = close_out(data, name, f, err)) != SIM_OK)
        return rc;
    const struct {
        const char *file, *header;
        const struct rd_series *s;
        double scale;
    } files[] = {
        {"ready.tsv", "t_s\tready_replicas (step)", &rd->ready, 1},
        {"starting.tsv", "t_s\tstarting_replicas (step: created, not yet Ready)", &rd->starting, 1},
        {"nodes.tsv", "t_s\tnodes (step: launch requested, not yet terminated)", &rd->nodes, 1},
        {"queue.tsv", "t_s\tvllm:num_requests_waiting summed over replicas", &rd->queue, 1},
        {"gateway.tsv", "t_s\tllmcap:gateway_requests_waiting", &rd->gateway, 1},
        {"running.tsv", "t_s\tvllm:num_requests_running summed over replicas", &rd->running, 1},
        {"kv_mean.tsv", "t_s\tvllm:kv_cache_usage_perc mean over replicas, percent", &rd->kv_mean,
         100},
        {"kv_max.tsv", "t_s\tvllm:kv_cache_usage_perc max over replicas, percent", &rd->kv_max,
         100},
        {"cost_on_demand.tsv", "t_s\tcumulative on-demand cost_usd", &rd->cost_on_demand, 1},
        {"cost_spot.tsv", "t_s\tcumulative spot cost_usd", &rd->cost_spot, 1},
        {"cdf_ttft.tsv", "ttft_s\tfraction of ok requests at or below", &rd->cdf_ttft, 1},
        {"cdf_tpot.tsv", "tpot_s\tfraction of ok requests at or below", &rd->cdf_tpot, 1},
        {"cdf_e2e.tsv", "e2e_s\tfraction of ok requests at or below", &rd->cdf_e2e, 1},
    };
    bool cluster = !rd->series_deployment;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (!cluster && (files[i].s == &rd->nodes || files[i].s == &rd->cost_on_demand ||
                         files[i].s == &rd->cost_spot))
            continue; /* the cluster's */
        snprintf(name, sizeof name, "%s%s", pre, files[i].file);
        if ((rc = write_series(data, name, files[i].header, files[i].s, files[i].scale, err)) !=
            SIM_OK)
            return rc;
    }
    if (!cluster)
        return SIM_OK;
    /* total cost on the same times as the capacity curves */
    if ((rc = open_out(data, "cost_total.tsv", &f, err)) != SIM_OK)
        return rc;
    fprintf(f, "# t_s\tcumulative cost_usd\n");
    for (size_t i = 0; i < rd->cost_spot.n; i++) {
        put_d(f, rd->cost_spot.p[i].t_s, "\t");
        put_d(f, rd->cost_spot.p[i].v + rd->cost_on_demand.p[i].v, "\n");
    }
    return close_out(data, "cost_total.tsv", f, err);
}

struct axis {
    double div;
    const char *label;
};

static struct axis time_axis(const struct run_data *rd)
{
    if (rd->sim_end_s <= 7200)
        return (struct axis){60, "run time (min)"};
    if (rd->sim_end_s <= 72 * 3600)
        return (struct axis){3600, "run time (h)"};
    return (struct axis){86400, "run time (days)"};
}

static void x_axis(FILE *gp, const struct run_data *rd)
{
    struct axis ax = time_axis(rd);
    fprintf(gp, "set xlabel '%s'\nset xrange [0:%.17g]\n", ax.label, rd->sim_end_s / ax.div);
}

/* min and max of the positive values of a window column (for the latency axis) */
static void window_range(const struct run_data *rd, bool tpot, int k, double *lo, double *hi)
{
    for (size_t i = 0; i < rd->n_windows; i++) {
        double v = tpot ? rd->win[i].tpot_q[k] : rd->win[i].ttft_q[k];
        if (v > 0) {
            *lo = fmin(*lo, v);
            *hi = fmax(*hi, v);
        }
    }
}

static bool any_window_value(const struct run_data *rd, bool tpot)
{
    for (size_t i = 0; i < rd->n_windows; i++)
        for (int k = 0; k < rd->nq; k++)
            if (!isnan(tpot ? rd->win[i].tpot_q[k] : rd->win[i].ttft_q[k]))
                return true;
    return false;
}

static void latency_chart(FILE *gp, const struct run_data *rd, const char *pre, bool tpot,
                          struct chart *c)
{
    const char *metric = tpot ? "tpot" : "ttft";
    /* the quantiles of this metric's SLOs, or p95 */
    int ks[RD_MAX_Q], nk = 0;
    for (size_t i = 0; i < rd->n_slo; i++) {
        if (strcmp(rd->slo[i].metric, metric) || strchr(rd->slo[i].slo, '.'))
            continue; /* another metric, or a class's own SLO ('CLASS.key') */
        for (int k = 0; k < rd->nq; k++) {
            bool seen = false;
            for (int j = 0; j < nk; j++)
                seen |= ks[j] == k;
            if (rd->q[k] == rd->slo[i].quantile && !seen)
                ks[nk++] = k;
        }
    }
    if (nk == 0)
        ks[nk++] = 0;
    double scale = tpot ? 1000.0 : 1.0;
    double lo = INFINITY, hi = 0;
    for (int j = 0; j < nk; j++)
        window_range(rd, tpot, ks[j], &lo, &hi);
    for (size_t i = 0; i < rd->n_slo; i++)
        if (!strcmp(rd->slo[i].metric, metric) && rd->slo[i].target > 0) {
            lo = fmin(lo, rd->slo[i].target);
            hi = fmax(hi, rd->slo[i].target);
        }
    chart_begin(gp, c->name, c->title);
    x_axis(gp, rd);
    fprintf(gp, "set ylabel '%s (%s)'\n", tpot ? "TPOT" : "TTFT", tpot ? "ms" : "s");
    if (hi / lo > 30) {
        fprintf(gp, "set logscale y\nset format y '%%g'\n");
        double y0 = lo * scale / 1.5, y1 = hi * scale * 1.5;
        fprintf(gp, "set yrange [%.17g:%.17g]\n", y0, y1);
        /* ticks at 1, 2 and 5 of each decade: a log axis with only powers of ten hides
         * where 2 s is */
        fprintf(gp, "set ytics (");
        bool first = true;
        for (int e = (int)floor(log10(y0)); e <= (int)ceil(log10(y1)); e++)
            for (int k = 0; k < 3; k++) {
                double v = (k == 0 ? 1.0 : k == 1 ? 2.0 : 5.0) * pow(10.0, e);
                if (v < y0 || v > y1)
                    continue;
                fprintf(gp, "%s%.6g", first ? "" : ", ", v);
                first = false;
            }
        fprintf(gp, ")\n");
    } else {
        fprintf(gp, "set yrange [0:%.17g]\n", hi * scale * 1.15);
    }
    static const char *const colors[] = {"#1f77b4", "#9467bd", "#8c564b", "#17becf"};
    fprintf(gp, "plot ");
    for (int j = 0; j < nk; j++) {
        char title[96];
        snprintf(title, sizeof title, "p%g %s per %g s window", rd->q[ks[j]] * 100,
                 tpot ? "TPOT" : "TTFT", rd->window_s);
        fprintf(gp,
                "%s'data/%swindows.tsv' using ($2/%g):($%d*%g) with linespoints pt 7 ps 0.45 "
                "lw 1.5 lc rgb '%s' title ",
                j ? ", \\\n     " : "", pre, time_axis(rd).div, window_col(rd, tpot, ks[j]), scale,
                colors[j % 4]);
        chart_quote(gp, title);
    }
    for (size_t i = 0; i < rd->n_slo; i++) {
        if (strcmp(rd->slo[i].metric, metric) || strchr(rd->slo[i].slo, '.'))
            continue;
        char title[128], t[32];
        fmt_latency(t, sizeof t, rd->slo[i].target);
        snprintf(title, sizeof title, "SLO %s <= %s", rd->slo[i].slo, t);
        fprintf(gp, ", \\\n     %.17g with lines dt 2 lw 2 lc rgb '#d62728' title ",
                rd->slo[i].target * scale);
        chart_quote(gp, title);
    }
    fprintf(gp, "\n");
    chart_end(gp, c->name);
    c->drawn = true;
}

static void plot_line(FILE *gp, bool *first, const char *pre, const char *file, const char *using,
                      const char *style, const char *title)
{
    fprintf(gp, "%s'data/%s%s' using %s %s title ", *first ? "plot " : ", \\\n     ", pre, file,
            using, style);
    chart_quote(gp, title);
    *first = false;
}

/* The charts a deployment of several has of its own: all but the bill (the cluster's;
 * its share is in the Deployments table). */
#define DEP_CHARTS (((1u << CH_N) - 1) & ~(1u << CH_COST))

/* Write rd's charts into the script gp, their data files and names prefixed with `pre`
 * and their titles with `who` ("chat: ", or "" for the run's). A deployment's view has no
 * nodes (they are the cluster's), so its bill is not drawn; figures() leaves it out. */
static void write_charts(const struct run_data *rd, FILE *gp, const char *pre, const char *who,
                         struct chart *ch)
{
    struct axis ax = time_axis(rd);
    char t[64];
    snprintf(t, sizeof t, "($1/%g):2", ax.div);
    for (int i = 0; i < CH_N; i++) {
        bool own_fleet = i == CH_FLEET && rd->series_deployment; /* the nodes are the cluster's */
        snprintf(ch[i].name, sizeof ch[i].name, "%s%s", pre, chart_names[i].name);
        snprintf(ch[i].title, sizeof ch[i].title, "%s%s", who,
                 own_fleet ? "Arrivals, ready and starting replicas" : chart_names[i].title);
        ch[i].caption = own_fleet ? "The deployment's arrivals per second in each window (left "
                                    "axis) against its replicas ready to serve and its "
                                    "replicas starting (created, not yet Ready) (right axis); "
                                    "the nodes are the cluster's, in the cluster's chart."
                                  : chart_names[i].caption;
        ch[i].drawn = false;
        ch[i].why[0] = '\0';
    }
    /* fleet */
    struct chart *c = &ch[CH_FLEET];
    if (rd->n_request_rows == 0 && rd->n_pods == 0) {
        snprintf(c->why, sizeof c->why, "no request rows and no pods recorded");
    } else {
        chart_begin(gp, c->name, c->title);
        x_axis(gp, rd);
        double rmax = 0, cmax = 1;
        for (size_t i = 0; i < rd->n_windows; i++)
            rmax = fmax(rmax, rd->win[i].n_arrived);
        rmax *=
            (rd->n_request_rows ? run_data_get(rd, "requests_total") / (double)rd->n_request_rows
                                : 1.0) /
            rd->window_s;
        const struct rd_series *counts[3] = {&rd->ready, &rd->starting, &rd->nodes};
        for (int k = 0; k < 3; k++)
            for (size_t i = 0; i < counts[k]->n; i++)
                cmax = fmax(cmax, counts[k]->p[i].v);
        fprintf(gp,
                "set ylabel 'arrivals (req/s)'\nset y2label 'replicas, nodes'\nset y2tics\n"
                "set yrange [0:%.17g]\nset y2range [0:%.17g]\nset format y2 '%%.0f'\n",
                /* headroom: the key sits in the top third, above the data */
                rmax > 0 ? rmax * 1.5 : 1.0, ceil(cmax * 1.5));
        bool first = true;
        char u[64];
        snprintf(u, sizeof u, "($2/%g):3", ax.div);
        if (rd->n_request_rows > 0)
            plot_line(gp, &first, pre, "windows.tsv", u, "with histeps lw 1.2 lc rgb '#8c96a0'",
                      "arrivals (req/s)");
        if (rd->n_pods > 0) {
            plot_line(gp, &first, pre, "ready.tsv", t, "axes x1y2 with steps lw 2.5 lc rgb '#1f77b4'",
                      "ready replicas");
            plot_line(gp, &first, pre, "starting.tsv", t, "axes x1y2 with steps lw 2 lc rgb '#ff7f0e'",
                      "replicas starting (created, not Ready)");
        }
        if (rd->n_nodes > 0)
            plot_line(gp, &first, pre, "nodes.tsv", t, "axes x1y2 with steps dt 2 lw 2 lc rgb '#2ca02c'",
                      "nodes (billed)");
        fprintf(gp, "\n");
        chart_end(gp, c->name);
        c->drawn = true;
    }
    /* queue */
    c = &ch[CH_QUEUE];
    if (rd->queue.n == 0 && rd->gateway.n == 0) {
        snprintf(c->why, sizeof c->why, "no metric samples recorded (record.samples)");
    } else {
        chart_begin(gp, c->name, c->title);
        x_axis(gp, rd);
        fprintf(gp, "set ylabel 'requests'\nset yrange [0:*]\n");
        bool first = true;
        if (rd->queue.n)
            plot_line(gp, &first, pre, "queue.tsv", t, "with lines lw 2 lc rgb '#d62728'",
                      "waiting in vLLM (sum over replicas)");
        if (rd->gateway.n)
            plot_line(gp, &first, pre, "gateway.tsv", t, "with lines lw 2 lc rgb '#9467bd'",
                      "waiting at the gateway");
        if (rd->running.n)
            plot_line(gp, &first, pre, "running.tsv", t, "with lines dt 3 lw 1.5 lc rgb '#1f77b4'",
                      "running (sum over replicas)");
        fprintf(gp, "\n");
        chart_end(gp, c->name);
        c->drawn = true;
    }
    /* TTFT and TPOT per window */
    for (int m = 0; m < 2; m++) {
        c = &ch[m ? CH_TPOT : CH_TTFT];
        if (rd->n_request_rows == 0)
            snprintf(c->why, sizeof c->why, "no request rows recorded (record.requests)");
        else if (!any_window_value(rd, m == 1))
            snprintf(c->why, sizeof c->why, "no window with %d ok requests or more",
                     RD_MIN_WINDOW_N);
        else
            latency_chart(gp, rd, pre, m == 1, c);
    }
    /* KV cache */
    c = &ch[CH_KV];
    if (rd->kv_mean.n == 0) {
        snprintf(c->why, sizeof c->why, "no metric samples recorded (record.samples)");
    } else {
        chart_begin(gp, c->name, c->title);
        x_axis(gp, rd);
        fprintf(gp, "set ylabel 'vllm:kv_cache_usage_perc (%%)'\nset yrange [0:105]\n");
        bool first = true;
        plot_line(gp, &first, pre, "kv_max.tsv", t, "with lines lw 1.5 lc rgb '#d62728'",
                  "max over replicas");
        plot_line(gp, &first, pre, "kv_mean.tsv", t, "with lines lw 2 lc rgb '#1f77b4'",
                  "mean over replicas");
        fprintf(gp, "\n");
        chart_end(gp, c->name);
        c->drawn = true;
    }
    /* cost */
    c = &ch[CH_COST];
    if (rd->n_nodes == 0) {
        snprintf(c->why, sizeof c->why,
                 "no cost model in this run (no node provisioner: "
                 "cluster.karpenter or cluster.aks)");
    } else {
        chart_begin(gp, c->name, c->title);
        x_axis(gp, rd);
        fprintf(gp, "set ylabel 'USD (cumulative)'\nset yrange [0:*]\n");
        bool first = true;
        bool od = rd->cost_on_demand.n && rd->cost_on_demand.p[rd->cost_on_demand.n - 1].v > 0;
        bool spot = rd->cost_spot.n && rd->cost_spot.p[rd->cost_spot.n - 1].v > 0;
        plot_line(gp, &first, pre, "cost_total.tsv", t, "with lines lw 2.5 lc rgb '#333333'",
                  od && spot ? "total"
                  : spot     ? "total (all spot)"
                             : "total (all on-demand)");
        if (od && spot) {
            plot_line(gp, &first, pre, "cost_on_demand.tsv", t, "with lines lw 2 lc rgb '#1f77b4'",
                      "on-demand");
            plot_line(gp, &first, pre, "cost_spot.tsv", t, "with lines lw 2 lc rgb '#ff7f0e'", "spot");
        }
        fprintf(gp, "\n");
        chart_end(gp, c->name);
        c->drawn = true;
    }
    /* CDFs */
    c = &ch[CH_CDF];
    if (rd->cdf_ttft.n == 0 && rd->cdf_e2e.n == 0) {
        snprintf(c->why, sizeof c->why, "%s",
                 rd->n_request_rows ? "no ok request recorded"
                                    : "no request rows recorded (record.requests)");
    } else {
        chart_begin(gp, c->name, c->title);
        fprintf(gp, "set xlabel 'seconds (log scale)'\nset logscale x\nset format x '%%g'\n"
                    "set ylabel 'fraction of ok requests'\nset yrange [0:1.02]\n"
                    "set key bottom right opaque box lc rgb '#cccccc'\n");
        bool first = true;
        if (rd->cdf_tpot.n)
            plot_line(gp, &first, pre, "cdf_tpot.tsv", "1:2", "with lines lw 2 lc rgb '#2ca02c'",
                      "TPOT");
        if (rd->cdf_ttft.n)
            plot_line(gp, &first, pre, "cdf_ttft.tsv", "1:2", "with lines lw 2 lc rgb '#1f77b4'",
                      "TTFT");
        if (rd->cdf_e2e.n)
            plot_line(gp, &first, pre, "cdf_e2e.tsv", "1:2", "with lines lw 2 lc rgb '#d62728'",
                      "end to end");
        fprintf(gp, ", \\\n     0.95 with lines dt 3 lc rgb '#888888' title 'p95'\n");
        chart_end(gp, c->name);
        c->drawn = true;
    }
}

/* ---- the document ------------------------------------------------------------------------------
 */

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static void headline(struct doc *d, const struct run_data *rd, size_t n_pass)
{
    struct blk *b = doc_add(d, B_CARDS, NULL);
    char v[64], x[256];
    if (rd->n_slo == 0) {
        blk_cell(d, b, 0, "SLOs");
        blk_cell(d, b, 0, "none");
        blk_cell(d, b, 0, "%s", rd->n_deps ? "no deployment sets an SLO" : "the scenario sets no SLO");
    } else {
        bool pass = n_pass == rd->n_slo;
        blk_cell(d, b, pass ? CF_PASS : CF_FAIL, "SLOs");
        blk_cell(d, b, pass ? CF_PASS : CF_FAIL, "%s", pass ? "PASS" : "FAIL");
        if (!rd->n_deps) {
            blk_cell(d, b, 0, "%zu of %zu met", n_pass, rd->n_slo);
        } else { /* "3 of 4 met over 2 deployments: chat PASS 2/2, code FAIL 1/2" */
            char note[512];
            int len = snprintf(note, sizeof note, "%zu of %zu met over %zu deployments:", n_pass,
                               rd->n_slo, rd->n_deps);
            for (size_t i = 0; i < rd->n_deps && len > 0 && (size_t)len < sizeof note; i++) {
                const struct rd_dep *dp = &rd->deps[i];
                if (dp->n_slo)
                    len += snprintf(note + len, sizeof note - (size_t)len, "%s %s %s %zu/%zu",
                                    i ? "," : "", dp->name, dp->slo_pass ? "PASS" : "FAIL",
                                    dp->n_pass, dp->n_slo);
                else
                    len += snprintf(note + len, sizeof note - (size_t)len, "%s %s none set",
                                    i ? "," : "", dp->name);
            }
            blk_cell(d, b, 0, "%s", note);
        }
    }
    double cost = run_data_get(rd, "cost_usd");
    if (isnan(cost)) {
        blk_cell(d, b, 0, "$ per 1M output tokens");
        blk_cell(d, b, 0, "-");
        blk_cell(d, b, 0, "no cost model in this run");
        blk_cell(d, b, 0, "Projected month");
        blk_cell(d, b, 0, "-");
        blk_cell(d, b, 0, "no cost model in this run");
        blk_cell(d, b, 0, "GPU time idle / loading");
        blk_cell(d, b, 0, "-");
        blk_cell(d, b, 0, "no cost model in this run");
        return;
    }
    double mtok = run_data_get(rd, "cost_usd_per_mtok_output");
    blk_cell(d, b, 0, "$ per 1M output tokens");
    if (isnan(mtok))
        blk_cell(d, b, 0, "-");
    else
        blk_cell(d, b, 0, "$%.4f", mtok);
    fmt_usd(x, sizeof x, cost);
    char split[400] = ""; /* several deployments: "; chat 75.0%, code 25.0% of it by GPU-time" */
    for (size_t i = 0, len = 0; i < rd->n_deps && cost > 0 && len < sizeof split; i++) {
        char pct[32];
        fmt_pct(pct, sizeof pct, rd->deps[i].cost_usd / cost);
        int k = snprintf(split + len, sizeof split - len, "%s %s %s%s", i ? "," : ";",
                         rd->deps[i].name, pct, i + 1 == rd->n_deps ? " of it by GPU-time" : "");
        len = k > 0 ? len + (size_t)k : sizeof split;
    }
    blk_cell(d, b, 0, "%s for this run%s%s", x,
             run_data_get(rd, "slo_pass") == 0 ? ", which FAILED its SLOs" : "", split);
    fmt_usd(v, sizeof v, run_data_get(rd, "cost_usd_per_month"));
    blk_cell(d, b, 0, "Projected month");
    blk_cell(d, b, 0, "%s", v);
    snprintf(x, sizeof x, "$%.2f/h mean x 730 h", run_data_get(rd, "cost_usd_per_hour_mean"));
    blk_cell(d, b, 0, "%s", x);
    double idle = run_data_get(rd, "cost_idle_usd"), loading = run_data_get(rd, "cost_loading_usd");
    char a[32], c2[32];
    fmt_pct(a, sizeof a, cost > 0 ? idle / cost : NAN);
    fmt_pct(c2, sizeof c2, cost > 0 ? loading / cost : NAN);
    blk_cell(d, b, 0, "GPU time idle / loading");
    blk_cell(d, b, 0, "%s / %s", a, c2);
    blk_cell(d, b, 0, "share of the bill");
}

static void slo_section(struct doc *d, const struct run_data *rd)
{
    doc_add(d, B_H2, "SLOs");
    if (rd->n_slo == 0) {
        doc_para(d, B_P, "The scenario sets no SLO.");
        return;
    }
    struct blk *t = doc_add(d, B_TABLE, NULL);
    if (!t)
        return;
    t->n_cols = 4;
    blk_cell(d, t, 0, "SLO");
    blk_cell(d, t, CF_NUM, "target");
    blk_cell(d, t, CF_NUM, "actual");
    blk_cell(d, t, 0, "verdict");
    for (size_t i = 0; i < rd->n_slo; i++) {
        const struct rd_slo *s = &rd->slo[i];
        char tg[32], ac[32];
        fmt_slo_value(tg, sizeof tg, s->unit, s->target, "-");
        fmt_slo_value(ac, sizeof ac, s->unit, s->actual, "-");
        blk_cell(d, t, CF_CODE, "%s", s->slo);
        blk_cell(d, t, CF_NUM, "%s", tg);
        blk_cell(d, t, CF_NUM, "%s", ac);
        blk_cell(d, t, CF_STRONG | (s->pass ? CF_PASS : CF_FAIL), "%s", s->pass ? "PASS" : "FAIL");
    }
    double breach = run_data_get(rd, "ttft_slo_breach_s");
    if (breach > 0)
        doc_para(d, B_P,
                 "By one-minute windows of arrival time (summary ttft_slo_breach_s), the TTFT "
                 "SLO was missed in %.0f minute%s, the longest run of them %.0f min.",
                 breach / 60, breach == 60 ? "" : "s",
                 run_data_get(rd, "ttft_slo_breach_longest_s") / 60);
}

static void kv_row(struct doc *d, struct blk *t, const char *k, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void kv_row(struct doc *d, struct blk *t, const char *k, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    blk_cell(d, t, 0, "%s", k);
    blk_cell(d, t, 0, "%s", buf);
}

static struct blk *kv_table(struct doc *d)
{
    struct blk *t = doc_add(d, B_TABLE, NULL);
    if (t) {
        t->n_cols = 2;
        blk_cell(d, t, 0, "what");
        blk_cell(d, t, 0, "value");
    }
    return t;
}

/* What the gateway's semantic cache saved (router.semantic_cache), when it answered any. */
static void semantic_rows(struct doc *d, struct blk *t, const struct run_data *rd)
{
    double hits = run_data_get(rd, "semantic_cache_hits_total");
    if (!(hits > 0))
        return;
    char a[32] = "-", b[32] = "-";
    double usd = run_data_get(rd, "semantic_cache_saved_usd");
    double api = run_data_get(rd, "semantic_cache_saved_managed_api_usd");
    if (!isnan(usd))
        fmt_usd(a, sizeof a, usd);
    if (!isnan(api))
        fmt_usd(b, sizeof b, api);
    kv_row(d, t, "saved by the semantic cache",
           "%.0f requests answered at the gateway, %.0f tokens no engine served: %s at this "
           "fleet's cost per token, %s at the managed API's price",
           hits, run_data_get(rd, "semantic_cache_saved_tokens"), a, b);
    for (size_t i = 0; i < rd->n_summary; i++) {
        const char *k = rd->summary[i].key;
        size_t n = strlen(k);
        if (strncmp(k, "semantic_cache_group.", 21) || n < 27 || strcmp(k + n - 5, ".hits"))
            continue;
        char name[96], rk[160];
        snprintf(name, sizeof name, "%.*s", (int)(n - 26), k + 21);
        snprintf(rk, sizeof rk, "semantic_cache_group.%s.requests", name);
        double req = run_data_get(rd, rk), h = rd->summary[i].value;
        char label[128], pct[32];
        snprintf(label, sizeof label, "semantic cache, group %s", name);
        fmt_pct(pct, sizeof pct, req > 0 ? h / req : NAN);
        kv_row(d, t, label, "%.0f of %.0f requests hit (%s)", h, req, pct);
    }
}

static void cost_section(struct doc *d, const struct run_data *rd)
{
    doc_add(d, B_H2, "Cost");
    double cost = run_data_get(rd, "cost_usd");
    if (isnan(cost)) {
        doc_para(d, B_P,
                 "No cost model in this run: the scenario has no node provisioner "
                 "(cluster.karpenter or cluster.aks), so no node was billed.");
        if (run_data_get(rd, "semantic_cache_hits_total") > 0)
            semantic_rows(d, kv_table(d), rd);
        return;
    }
    struct blk *t = kv_table(d);
    char a[32], b[32], c[32], dur[48];
    fmt_usd(a, sizeof a, cost);
    fmt_duration(dur, sizeof dur, rd->sim_end_s);
    /* A bill for a fleet that missed its SLOs is not the price of meeting them. */
    kv_row(d, t, "bill", "%s for %s of run time on %.0f node%s%s", a, dur,
           run_data_get(rd, "nodes_total"), run_data_get(rd, "nodes_total") == 1 ? "" : "s",
           run_data_get(rd, "slo_pass") == 0 ? ": the run FAILED its SLOs" : "");
    fmt_usd(a, sizeof a, run_data_get(rd, "cost_spot_usd"));
    fmt_usd(b, sizeof b, run_data_get(rd, "cost_on_demand_usd"));
    kv_row(d, t, "by capacity type", "spot %s, on-demand %s", a, b);
    double sv = run_data_get(rd, "cost_serving_usd"), ld = run_data_get(rd, "cost_loading_usd"),
           id = run_data_get(rd, "cost_idle_usd");
    char ps[32], pl[32], pi[32];
    fmt_usd(a, sizeof a, sv);
    fmt_usd(b, sizeof b, ld);
    fmt_usd(c, sizeof c, id);
    fmt_pct(ps, sizeof ps, cost > 0 ? sv / cost : NAN);
    fmt_pct(pl, sizeof pl, cost > 0 ? ld / cost : NAN);
    fmt_pct(pi, sizeof pi, cost > 0 ? id / cost : NAN);
    kv_row(d, t, "by use of GPU time", "serving %s (%s), loading %s (%s), idle %s (%s)", a, ps, b,
           pl, c, pi);
    kv_row(d, t, "per 1M output tokens", "$%.4f", run_data_get(rd, "cost_usd_per_mtok_output"));
    double good = run_data_get(rd, "cost_usd_per_mtok_goodput");
    if (!isnan(good))
        kv_row(d, t, "per 1M goodput tokens (requests within the SLOs)", "$%.4f", good);
    else if (!isnan(run_data_get(rd, "goodput_output_tokens_total")))
        kv_row(d, t, "per 1M goodput tokens (requests within the SLOs)",
               "- (no request met the SLOs)");
    kv_row(d, t, "per 1M tokens (prompt + output)", "$%.4f",
           run_data_get(rd, "cost_usd_per_mtok_total"));
    fmt_usd(a, sizeof a, run_data_get(rd, "cost_usd_per_month"));
    kv_row(d, t, "mean per hour; projected month", "$%.2f; %s (730 h)",
           run_data_get(rd, "cost_usd_per_hour_mean"), a);
    kv_row(d, t, "billed GPU hours", "%.3f", run_data_get(rd, "billed_gpu_hours"));
    double ratio = run_data_get(rd, "break_even_ratio");
    if (!isnan(ratio)) {
        fmt_usd(a, sizeof a, run_data_get(rd, "managed_api_cost_usd"));
        kv_row(d, t, "against the managed API",
               "%.2fx its price (%s for the same tokens; "
               "break-even at %.0f tokens/s)",
               ratio, a, run_data_get(rd, "break_even_tokens_per_s"));
    }
    semantic_rows(d, t, rd);
}

/* One row per request class (workload.classes), from the summary's class.NAME.* keys. */
static void classes_section(struct doc *d, const struct run_data *rd)
{
    struct blk *t = NULL;
    for (size_t i = 0; i < rd->n_summary; i++) {
        const char *k = rd->summary[i].key;
        size_t n = strlen(k);
        static const char suffix[] = ".requests_total";
        size_t ns = sizeof suffix - 1;
        if (strncmp(k, "class.", 6) || n <= 6 + ns || strcmp(k + n - ns, suffix))
            continue;
        char name[96];
        snprintf(name, sizeof name, "%.*s", (int)(n - 6 - ns), k + 6);
        if (!t) {
            doc_add(d, B_H2, "Request classes");
            t = doc_add(d, B_TABLE, NULL);
            if (!t)
                return;
            t->n_cols = 8;
            static const char *const cols[] = {"requests", "ok",       "shed",
                                               "error rate", "TTFT p95", "TPOT p95",
                                               "e2e p95"};
            blk_cell(d, t, 0, "class");
            for (int c = 0; c < 7; c++)
                blk_cell(d, t, CF_NUM, "%s", cols[c]);
        }
        char key[192], v[32];
        blk_cell(d, t, 0, "%s", name);
        blk_cell(d, t, CF_NUM, "%.0f", rd->summary[i].value);
        static const char *const counts[] = {"requests_ok", "requests_shed"};
        for (int c = 0; c < 2; c++) {
            snprintf(key, sizeof key, "class.%s.%s", name, counts[c]);
            blk_cell(d, t, CF_NUM, "%.0f", run_data_get(rd, key));
        }
        snprintf(key, sizeof key, "class.%s.error_rate_frac", name);
        fmt_pct(v, sizeof v, run_data_get(rd, key));
        blk_cell(d, t, CF_NUM, "%s", v);
        static const char *const lat[] = {"ttft_p95_s", "tpot_p95_s", "e2e_p95_s"};
        for (int c = 0; c < 3; c++) {
            snprintf(key, sizeof key, "class.%s.%s", name, lat[c]);
            fmt_latency(v, sizeof v, run_data_get(rd, key));
            blk_cell(d, t, CF_NUM, "%s", v);
        }
    }
    if (t)
        doc_para(d, B_P,
                 "Each class over its own requests (workload.classes); its own SLOs are in the "
                 "SLO table as CLASS.slo. Shed: sheddable requests the endpoint picker "
                 "dropped while no pod had capacity.");
}

static void latency_table(struct doc *d, const struct run_data *rd)
{
    struct blk *t = doc_add(d, B_TABLE, NULL);
    if (!t)
        return;
    t->n_cols = 7;
    static const char *const cols[] = {"p50", "p90", "p95", "p99", "max", "mean"};
    blk_cell(d, t, 0, "metric");
    for (int i = 0; i < 6; i++)
        blk_cell(d, t, CF_NUM, "%s", cols[i]);
    static const struct {
        const char *key, *label;
    } m[] = {{"ttft", "TTFT"},
             {"tpot", "TPOT"},
             {"e2e", "end to end"},
             {"queue", "queue (arrival to first schedule)"}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        blk_cell(d, t, 0, "%s", m[i].label);
        for (int k = 0; k < 6; k++) {
            char key[64], v[32];
            snprintf(key, sizeof key, "%s_%s_s", m[i].key, cols[k]);
            fmt_latency(v, sizeof v, run_data_get(rd, key));
            blk_cell(d, t, CF_NUM, "%s", v);
        }
    }
}

static void latency_section(struct doc *d, const struct run_data *rd)
{
    doc_add(d, B_H2, "Latency (ok requests)");
    latency_table(d, rd);
}

/* The nodes by offering (instance type, capacity type, zone), the zone with its name
 * where the run has one (cluster.zone_ids) and the region marked on Azure. */
static void nodes_table(struct doc *d, const struct run_data *rd)
{
    if (rd->n_node_groups == 0)
        return;
    struct blk *t = doc_add(d, B_TABLE, NULL);
    if (!t)
        return;
    t->n_cols = 6;
    static const char *const cols[] = {"zone",  "instance type",      "capacity type",
                                        "nodes", "spot interruptions", "cost"};
    for (int c = 0; c < 6; c++)
        blk_cell(d, t, c >= 3 ? CF_NUM : 0, "%s", cols[c]);
    bool named = false, region_rows = false;
    for (size_t i = 0; i < rd->n_node_groups; i++) {
        const struct rd_node_group *g = &rd->node_groups[i];
        region_rows |= !strcmp(g->zone, rd->zones.region);
        char z[160], usd[32], name[64];
        zone_display(&rd->zones, g->zone, z, sizeof z);
        named |= zone_name_of(rd->zones.names, g->zone, name, sizeof name);
        fmt_usd(usd, sizeof usd, g->cost_usd);
        blk_cell(d, t, CF_CODE, "%s", z);
        blk_cell(d, t, CF_CODE, "%s", g->instance_type);
        blk_cell(d, t, 0, "%s", g->capacity_type);
        blk_cell(d, t, CF_NUM, "%zu", g->nodes);
        blk_cell(d, t, CF_NUM, "%zu", g->spot_interruptions);
        blk_cell(d, t, CF_NUM, "%s", usd);
    }
    if (named)
        doc_para(d, B_P,
                 "Zones are AWS zone IDs with this account's zone names (cluster.zone_ids): "
                 "the ID is the same physical zone in every account, the name is what node "
                 "labels (topology.kubernetes.io/zone) and the console show.");
    else if (!strcmp(rd->zones.cloud, "azure") && !region_rows)
        doc_para(d, B_P,
                 "The zone column is the nodes' topology.kubernetes.io/zone label as AKS sets "
                 "it (%s-1, ...; 0 for a regional node): Karpenter's Azure provider offers "
                 "each SKU per zone. The catalog prices Azure spot and on-demand per region "
                 "(%s), so every zone has the same price.",
                 rd->zones.region, rd->zones.region);
    else if (!strcmp(rd->zones.cloud, "azure"))
        doc_para(d, B_P,
                 "On Azure the zone column is the region (%s): the catalog prices Azure spot "
                 "and on-demand per region. The availability zones an AKS pool spreads over "
                 "(\"1\", \"2\", \"3\") only label its nodes (%s-1, ...; 0 for a pool "
                 "without zones), which the kube-scheduler's topology spread counts pods by.",
                 rd->zones.region, rd->zones.region);
    else if (!strcmp(rd->zones.cloud, "aws"))
        doc_para(d, B_P,
                 "Zones are AWS zone IDs; give cluster.zone_ids (the output of aws ec2 "
                 "describe-availability-zones) to see this account's zone names beside them.");
}

static void fleet_section(struct doc *d, const struct run_data *rd)
{
    doc_add(d, B_H2, "Requests and fleet");
    struct blk *t = kv_table(d);
    char a[32], b[32], c[32], e[32], f[32], g[32];
    fmt_num(a, sizeof a, run_data_get(rd, "requests_total"));
    fmt_num(b, sizeof b, run_data_get(rd, "requests_ok"));
    fmt_num(c, sizeof c, run_data_get(rd, "requests_timeout"));
    fmt_num(e, sizeof e, run_data_get(rd, "requests_rejected"));
    fmt_num(f, sizeof f, run_data_get(rd, "requests_failed"));
    fmt_num(g, sizeof g, run_data_get(rd, "requests_unfinished"));
    kv_row(d, t, "requests", "%s: ok %s, timeout %s, rejected %s, failed %s, unfinished %s", a, b,
           c, e, f, g);
    /* The failures by cause (runs written before schema version 2 lack the client
     * timeouts: they had none). */
    if (run_data_get(rd, "requests_failed") > 0) {
        char x[32], y[32], z[32];
        fmt_num(x, sizeof x, run_data_get(rd, "requests_aborted"));
        fmt_num(y, sizeof y, run_data_get(rd, "requests_5xx"));
        double ct = run_data_get(rd, "requests_client_timeout");
        fmt_num(z, sizeof z, isnan(ct) ? 0.0 : ct);
        kv_row(d, t, "failed requests", "aborted by vLLM %s, 5xx %s, client timeout %s", x, y,
               z);
    }
    kv_row(d, t, "error rate", "%.4g%% (requests not ok)",
           run_data_get(rd, "error_rate_frac") * 100);
    kv_row(d, t, "throughput",
           "%.4g req/s (goodput %.4g req/s within the TTFT and TPOT SLOs); "
           "%.4g output tokens/s, %.4g input tokens/s",
           run_data_get(rd, "throughput_req_per_s"), run_data_get(rd, "goodput_req_per_s"),
           run_data_get(rd, "output_tokens_per_s"), run_data_get(rd, "input_tokens_per_s"));
    fmt_num(a, sizeof a, run_data_get(rd, "replicas_initial"));
    fmt_num(b, sizeof b, run_data_get(rd, "replicas_peak_ready"));
    fmt_num(c, sizeof c, run_data_get(rd, "pods_created"));
    kv_row(d, t, "replicas",
           "%s at the start, %s ready at peak; %s pod%s created; %.1f "
           "replica-minutes",
           a, b, c, run_data_get(rd, "pods_created") == 1 ? "" : "s",
           run_data_get(rd, "replica_minutes"));
    fmt_num(a, sizeof a, run_data_get(rd, "num_gpu_blocks"));
    fmt_num(b, sizeof b, run_data_get(rd, "block_size_tokens"));
    fmt_num(c, sizeof c, run_data_get(rd, "max_num_seqs"));
    fmt_num(e, sizeof e, run_data_get(rd, "max_num_batched_tokens"));
    kv_row(d, t, "engine",
           "%s KV blocks of %s tokens per replica; max_num_seqs %s, "
           "max_num_batched_tokens %s",
           a, b, c, e);
    fmt_num(a, sizeof a, run_data_get(rd, "preemptions_total"));
    kv_row(d, t, "preemptions", "%s", a);
    if (run_data_has(rd, "nodes_total") && run_data_get(rd, "nodes_total") > 0) {
        fmt_num(a, sizeof a, run_data_get(rd, "nodes_total"));
        fmt_num(b, sizeof b, run_data_get(rd, "spot_interruptions_total"));
        fmt_num(c, sizeof c, run_data_get(rd, "insufficient_capacity_errors_total"));
        kv_row(d, t, "nodes", "%s; %s spot interruptions; %s insufficient-capacity errors", a, b,
               c);
    }
    nodes_table(d, rd);
}

static void findings_section(struct doc *d, const struct run_data *rd, const struct finding *f,
                             size_t n)
{
    doc_add(d, B_H2, "Findings");
    char w[48];
    fmt_duration(w, sizeof w, rd->window_s);
    doc_para(d, B_P,
             "Latency by windows of %s of arrival time (a window's quantile needs %d ok "
             "requests); times are run time, h:mm:ss from the start of the run.",
             w, RD_MIN_WINDOW_N);
    if (rd->n_request_rows == 0)
        doc_para(d, B_NOTE,
                 "The run recorded no request rows (record.requests: none), so latency per "
                 "window, timeouts by time and preemption bursts could not be examined; the "
                 "run's totals are in the tables below.");
    if (n == 0) {
        doc_para(d, B_P,
                 "Nothing to flag: no SLO breach window, no timeout, rejection or "
                 "failure, no preemption burst.");
        return;
    }
    struct blk *l = doc_add(d, B_LIST, NULL);
    for (size_t i = 0; i < n; i++)
        blk_cell(d, l, f[i].warn ? CF_FAIL : 0, "%s.", f[i].text);
}

/* The charts in `mask` (1 << CH_*): a figure each, or why there is none. */
static void figures(struct doc *d, const struct chart *ch, unsigned mask)
{
    for (int i = 0; i < CH_N; i++) {
        if (!((mask >> i) & 1))
            continue;
        if (ch[i].drawn) {
            struct blk *b = doc_add(d, B_FIG, ch[i].title);
            if (b && (!(b->name = strdup(ch[i].name)) || !(b->caption = strdup(ch[i].caption))))
                d->oom = true;
        } else {
            doc_para(d, B_P, "%s: no chart, %s.", ch[i].title, ch[i].why);
        }
    }
}

static void charts_section(struct doc *d, const struct chart *ch, bool missing,
                           const char *failed)
{
    doc_add(d, B_H2, "Charts");
    if (missing) {
        doc_para(d, B_NOTE,
                 "Charts were not drawn: gnuplot is not installed. Install the "
                 "Debian package gnuplot-nox (apt-get install gnuplot-nox) and run "
                 "llmcap report again, or run gnuplot charts.gp in this folder.");
        return;
    }
    if (failed[0]) {
        doc_para(d, B_NOTE,
                 "Charts were not drawn: %s. The script and its data are in this folder: "
                 "run gnuplot charts.gp there to see the whole error, or llmcap report again "
                 "once gnuplot works.",
                 failed);
        return;
    }
    figures(d, ch, ~0u);
}

static void run_section(struct doc *d, const struct run_data *rd, const char *db_file,
                        size_t n_runs)
{
    doc_add(d, B_H2, "Run");
    struct blk *t = kv_table(d);
    blk_cell(d, t, 0, "scenario");
    blk_cell(d, t, CF_CODE, "%s", rd->scenario_name);
    blk_cell(d, t, 0, "scenario file");
    blk_cell(d, t, CF_CODE, "%s", rd->scenario_path);
    blk_cell(d, t, 0, "scenario sha256");
    blk_cell(d, t, CF_CODE, "%s", rd->scenario_sha256);
    kv_row(d, t, "seed", "%lld", (long long)rd->seed);
    blk_cell(d, t, 0, "overrides (--set)");
    if (rd->overrides && rd->overrides[0])
        blk_cell(d, t, CF_CODE, "%s", rd->overrides);
    else
        blk_cell(d, t, 0, "none");
    blk_cell(d, t, 0, "labels");
    blk_cell(d, t, CF_CODE, "%s", rd->labels_json ? rd->labels_json : "{}");
    blk_cell(d, t, 0, "workload");
    if (rd->trace_path)
        blk_cell(d, t, CF_CODE, "%s", rd->trace_path);
    else
        blk_cell(d, t, 0, "synthetic");
    if (rd->n_request_rows && run_data_get(rd, "requests_total") > (double)rd->n_request_rows)
        kv_row(d, t, "request rows",
               "a sample of %llu of %.0f requests (record.requests); "
               "window counts are scaled up",
               (unsigned long long)rd->n_request_rows, run_data_get(rd, "requests_total"));
    kv_row(d, t, "latency model", "%s: %s", rd->latency_model, rd->latency_provenance);
    char dur[48];
    fmt_duration(dur, sizeof dur, rd->sim_end_s);
    kv_row(d, t, "simulated", "%s (%.17g s), %lld events, %lld requests", dur, rd->sim_end_s,
           (long long)rd->n_events, (long long)rd->n_requests);
    kv_row(d, t, "llmcap", "%s (%s), GSL %s, SQLite %s", rd->llmcap_version, rd->git_describe,
           rd->gsl_version, rd->sqlite_version);
    kv_row(d, t, "recorded", "%s UTC; simulation wall time %.3f s (when the run was made)",
           rd->created_utc, rd->wall_s);
    kv_row(d, t, "database", "run %lld of %zu in %s", (long long)rd->run_id, n_runs, db_file);
}

/* ---- rendering ---------------------------------------------------------------------------------
 */

static void md_text(FILE *f, const char *s, bool in_table)
{
    for (; *s; s++) {
        if (*s == '\n')
            fputs(in_table ? " " : "\n", f);
        else if (*s == '|' && in_table)
            fputs("\\|", f);
        else if (strchr("*_`[]<>", *s))
            fprintf(f, "\\%c", *s);
        else
            fputc(*s, f);
    }
}

static void md_cell(FILE *f, const struct cell *c)
{
    if (c->flags & CF_CODE) {
        /* a code span: backticks inside need a longer fence */
        bool tick = strchr(c->text, '`') != NULL;
        fputs(tick ? "`` " : "`", f);
        for (const char *s = c->text; *s; s++)
            fputs(*s == '|' ? "\\|" : (char[2]){*s, 0}, f);
        fputs(tick ? " ``" : "`", f);
        return;
    }
    if (c->flags & CF_STRONG)
        fputs("**", f);
    md_text(f, c->text, true);
    if (c->flags & CF_STRONG)
        fputs("**", f);
}

static void render_md(FILE *f, const struct doc *d, const char *title)
{
    fprintf(f, "# ");
    md_text(f, title, false);
    fprintf(f, "\n");
    for (size_t i = 0; i < d->n; i++) {
        const struct blk *b = &d->b[i];
        switch (b->kind) {
        case B_H2:
            fprintf(f, "\n## %s\n", b->text);
            break;
        case B_P:
            fprintf(f, "\n");
            md_text(f, b->text, false);
            fprintf(f, "\n");
            break;
        case B_NOTE:
            fprintf(f, "\n> ");
            md_text(f, b->text, false);
            fprintf(f, "\n");
            break;
        case B_CARDS:
            fprintf(f, "\n|");
            for (size_t k = 0; k + 2 < b->n_cells; k += 3)
                fprintf(f, " %s |", b->cells[k].text);
            fprintf(f, "\n|");
            for (size_t k = 0; k + 2 < b->n_cells; k += 3)
                fprintf(f, "---|");
            fprintf(f, "\n|");
            for (size_t k = 0; k + 2 < b->n_cells; k += 3) {
                fprintf(f, " **");
                md_text(f, b->cells[k + 1].text, true);
                fprintf(f, "** (");
                md_text(f, b->cells[k + 2].text, true);
                fprintf(f, ") |");
            }
            fprintf(f, "\n");
            break;
        case B_TABLE:
            fprintf(f, "\n");
            for (size_t k = 0; k < b->n_cells; k++) {
                fprintf(f, "| ");
                md_cell(f, &b->cells[k]);
                fprintf(f, " ");
                if ((k + 1) % b->n_cols == 0) {
                    fprintf(f, "|\n");
                    if (k + 1 == b->n_cols) {
                        for (size_t c = 0; c < b->n_cols; c++)
                            fprintf(f, "|%s", b->cells[c].flags & CF_NUM ? "---:" : "---");
                        fprintf(f, "|\n");
                    }
                }
            }
            break;
        case B_LIST:
            fprintf(f, "\n");
            for (size_t k = 0; k < b->n_cells; k++) {
                fprintf(f, "- %s", b->cells[k].flags & CF_FAIL ? "**" : "");
                /* bold the first clause of a problem: up to the first comma or colon */
                const char *t = b->cells[k].text;
                if (b->cells[k].flags & CF_FAIL) {
                    size_t cut = strcspn(t, ",:;(");
                    char head[512];
                    snprintf(head, sizeof head, "%.*s", (int)cut, t);
                    size_t hl = strlen(head);
                    while (hl && head[hl - 1] == ' ')
                        head[--hl] = '\0';
                    md_text(f, head, false);
                    fprintf(f, "**");
                    md_text(f, t + hl, false);
                } else {
                    md_text(f, t, false);
                }
                fprintf(f, "\n");
            }
            break;
        case B_FIG:
            fprintf(f, "\n![%s](%s.png)\n\n", b->text, b->name);
            md_text(f, b->caption, false);
            fprintf(f, " (%s.png, %s.svg)\n", b->name, b->name);
            break;
        }
    }
}

static void html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

static const char css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
    "margin:0;color:#1d2733;background:#f3f5f7;line-height:1.45}"
    "main{max-width:1080px;margin:0 auto;padding:24px 20px 48px}"
    "h1{font-size:1.55rem;margin:0 0 4px}h2{font-size:1.15rem;margin:0 0 10px}"
    ".sub{color:#5a6775;margin:0 0 8px;font-size:.92rem}"
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px;"
    "margin:16px 0}"
    ".card{background:#fff;border-radius:8px;padding:12px 16px;"
    "box-shadow:0 1px 2px rgba(0,0,0,.08);border-top:4px solid #8c96a0}"
    ".card .k{font-size:.75rem;color:#5a6775;text-transform:uppercase;letter-spacing:.05em}"
    ".card .v{font-size:1.7rem;font-weight:650;margin:2px 0}"
    ".card .d{font-size:.85rem;color:#5a6775}"
    ".card.pass{border-top-color:#1a7f37}.card.pass .v{color:#1a7f37}"
    ".card.fail{border-top-color:#c62828}.card.fail .v{color:#c62828}"
    "section{background:#fff;border-radius:8px;padding:16px 20px;margin:16px 0;"
    "box-shadow:0 1px 2px rgba(0,0,0,.08)}"
    "table{border-collapse:collapse;width:100%;font-size:.92rem}"
    "th,td{text-align:left;padding:5px 6px;border-bottom:1px solid #e6e9ec;vertical-align:top}"
    "th{color:#5a6775;font-weight:600}td:first-child{white-space:nowrap}"
    "td.nw{white-space:nowrap}"
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}td.num{white-space:nowrap}"
    ".pass{color:#1a7f37}.fail{color:#c62828}"
    "ul.findings{padding-left:20px;margin:8px 0}ul.findings li{margin:6px 0}"
    "ul.findings li.warn::marker{color:#c62828}"
    "figure{margin:14px 0 20px}figure img{display:block;width:100%;height:auto;"
    "border:1px solid #e6e9ec;border-radius:4px}"
    "figcaption{font-size:.9rem;color:#5a6775;margin-top:4px}"
    "code{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:.85em;"
    "background:#f0f2f4;padding:1px 4px;border-radius:3px;overflow-wrap:anywhere}"
    ".note{background:#fff8e1;border-left:4px solid #f0b400;padding:8px 12px;margin:8px 0}"
    "p{margin:8px 0}"
    ".tablewrap{overflow-x:auto}"
    "@media print{body{background:#fff}main{max-width:none;padding:0}"
    "section{box-shadow:none;padding:0;margin:10px 0}"
    "table{font-size:.72rem}th,td{padding:2px 4px}.tablewrap{overflow:visible}"
    "figure,tr{break-inside:avoid}}";

static int html_svg(FILE *f, const char *dir, const char *name)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.svg", dir, name);
    FILE *in = fopen(path, "rb");
    if (!in)
        return SIM_EIO;
    fputs("data:image/svg+xml;base64,", f);
    unsigned char buf[3];
    size_t n;
    while ((n = fread(buf, 1, 3, in)) > 0) {
        unsigned v =
            (unsigned)buf[0] << 16 | (n > 1 ? (unsigned)buf[1] << 8 : 0) | (n > 2 ? buf[2] : 0);
        fputc(b64[v >> 18 & 63], f);
        fputc(b64[v >> 12 & 63], f);
        fputc(n > 1 ? b64[v >> 6 & 63] : '=', f);
        fputc(n > 2 ? b64[v & 63] : '=', f);
        if (n < 3)
            break;
    }
    int bad = ferror(in);
    fclose(in);
    return bad ? SIM_EIO : SIM_OK;
}

static const char *cell_class(unsigned flags)
{
    if (flags & CF_PASS)
        return "pass";
    if (flags & CF_FAIL)
        return "fail";
    if (flags & CF_NOWRAP)
        return "nw";
    return "";
}

static void html_cell(FILE *f, const struct cell *c, bool head)
{
    const char *tag = head ? "th" : "td";
    const char *cls = cell_class(c->flags);
    fprintf(f, "<%s", tag);
    if ((c->flags & CF_NUM) || cls[0])
        fprintf(f, " class=\"%s%s%s\"", c->flags & CF_NUM ? "num" : "",
                (c->flags & CF_NUM) && cls[0] ? " " : "", cls);
    fputc('>', f);
    if (c->flags & CF_STRONG)
        fputs("<strong>", f);
    if (c->flags & CF_CODE)
        fputs("<code>", f);
    html_text(f, c->text);
    if (c->flags & CF_CODE)
        fputs("</code>", f);
    if (c->flags & CF_STRONG)
        fputs("</strong>", f);
    fprintf(f, "</%s>", tag);
}

static int render_html(FILE *f, const struct doc *d, const char *title, const char *sub,
                       const char *dir)
{
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
               "<meta name=\"generator\" content=\"llmcap report\">\n<title>");
    html_text(f, title);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n<h1>", css);
    html_text(f, title);
    fprintf(f, "</h1>\n<p class=\"sub\">");
    html_text(f, sub);
    fprintf(f, "</p>\n");
    bool open = false;
    for (size_t i = 0; i < d->n; i++) {
        const struct blk *b = &d->b[i];
        switch (b->kind) {
        case B_H2:
            if (open)
                fprintf(f, "</section>\n");
            fprintf(f, "<section>\n<h2>");
            html_text(f, b->text);
            fprintf(f, "</h2>\n");
            open = true;
            break;
        case B_P:
        case B_NOTE:
            fprintf(f, "<p%s>", b->kind == B_NOTE ? " class=\"note\"" : "");
            html_text(f, b->text);
            fprintf(f, "</p>\n");
            break;
        case B_CARDS:
            fprintf(f, "<div class=\"cards\">\n");
            for (size_t k = 0; k + 2 < b->n_cells; k += 3) {
                const char *cls = cell_class(b->cells[k].flags);
                fprintf(f, "<div class=\"card%s%s\"><div class=\"k\">", cls[0] ? " " : "", cls);
                html_text(f, b->cells[k].text);
                fprintf(f, "</div><div class=\"v\">");
                html_text(f, b->cells[k + 1].text);
                fprintf(f, "</div><div class=\"d\">");
                html_text(f, b->cells[k + 2].text);
                fprintf(f, "</div></div>\n");
            }
            fprintf(f, "</div>\n");
            break;
        case B_TABLE:
            /* a table wider than the page scrolls inside its section, never past it */
            fprintf(f, "<div class=\"tablewrap\"><table>\n");
            for (size_t k = 0; k < b->n_cells; k++) {
                if (k % b->n_cols == 0)
                    fprintf(f, "<tr>");
                html_cell(f, &b->cells[k], k < b->n_cols);
                if ((k + 1) % b->n_cols == 0)
                    fprintf(f, "</tr>\n");
            }
            fprintf(f, "</table></div>\n");
            break;
        case B_LIST:
            fprintf(f, "<ul class=\"findings\">\n");
            for (size_t k = 0; k < b->n_cells; k++) {
                fprintf(f, "<li%s>", b->cells[k].flags & CF_FAIL ? " class=\"warn\"" : "");
                html_text(f, b->cells[k].text);
                fprintf(f, "</li>\n");
            }
            fprintf(f, "</ul>\n");
            break;
        case B_FIG:
            fprintf(f, "<figure><img alt=\"");
            html_text(f, b->text);
            fprintf(f, "\" width=\"%d\" height=\"%d\" src=\"", CHART_WIDTH, CHART_HEIGHT);
            if (html_svg(f, dir, b->name) != SIM_OK)
                return SIM_EIO;
            fprintf(f, "\"><figcaption>");
            html_text(f, b->caption);
            fprintf(f, " (%s.png, %s.svg)</figcaption></figure>\n", b->name, b->name);
            break;
        }
    }
    if (open)
        fprintf(f, "</section>\n");
    fprintf(f, "</main>\n</body>\n</html>\n");
    return SIM_OK;
}

/* Write document `d` as DIR/STEM.md and the self-contained DIR/STEM.html. */
static int write_doc(const char *dir, const char *stem, const struct doc *d, const char *title,
                     const char *sub, struct sim_err *err)
{
    if (d->oom)
        return sim_err_set(err, SIM_ENOMEM, "out of memory");
    char name[64];
    FILE *f = NULL;
    snprintf(name, sizeof name, "%s.md", stem);
    int rc = open_out(dir, name, &f, err);
    if (rc != SIM_OK)
        return rc;
    render_md(f, d, title);
    if ((rc = close_out(dir, name, f, err)) != SIM_OK)
        return rc;
    snprintf(name, sizeof name, "%s.html", stem);
    if ((rc = open_out(dir, name, &f, err)) != SIM_OK)
        return rc;
    if (render_html(f, d, title, sub, dir) != SIM_OK) {
        fclose(f);
        return sim_err_at(err, SIM_EIO, dir, 0, 0, "cannot read a chart to inline it");
    }
    return close_out(dir, name, f, err);
}

/* ---- the report --------------------------------------------------------------------------------
 */

static int make_dir(const char *path, struct sim_err *err)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return SIM_OK;
        return sim_err_at(err, SIM_EIO, path, 0, 0, "cannot write the report: not a folder");
    }
    return sim_err_at(err, SIM_EIO, path, 0, 0, "cannot create the report folder: %s",
                      strerror(errno));
}

/* Remove what a failed report wrote into `dir`, a folder this report created: the plain
 * files in dir/data and dir, then both folders. A folder that was there before is left
 * alone (it may hold the user's files). */
static void remove_created(const char *dir)
{
    char sub[1100];
    snprintf(sub, sizeof sub, "%s/data", dir);
    const char *dirs[2] = {sub, dir};
    for (int k = 0; k < 2; k++) {
        DIR *dp = opendir(dirs[k]);
        if (!dp)
            continue;
        const struct dirent *e;
        while ((e = readdir(dp)) != NULL) {
            char p[1400];
            struct stat st;
            snprintf(p, sizeof p, "%s/%s", dirs[k], e->d_name);
            if (lstat(p, &st) == 0 && S_ISREG(st.st_mode))
                unlink(p);
        }
        closedir(dp);
        rmdir(dirs[k]);
    }
}

/* ---- several deployments over one cluster (tables deployments, deployment_*) ------------- */

struct dep_row {
    char name[96];
    bool slo_pass;
    int64_t n_slo, n_slo_pass;
    double requests, ok, peak, replica_min, cost;
    double lat[2], target[2]; /* TTFT, TPOT p95 and their p95 SLO targets (NaN: none) */
    int verdict[2];           /* -1 no p95 SLO, 0 FAIL, 1 PASS */
};

struct dep_rows {
    struct dep_row *r;
    size_t n, cap;
    bool oom;
};

static int dep_row_cb(void *ctx, const struct db_value *c, int n_cols)
{
    struct dep_rows *p = ctx;
    (void)n_cols;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        struct dep_row *q = sim_reallocarray(p->r, cap, sizeof *q);
        if (!q) {
            p->oom = true;
            return 1;
        }
        p->r = q;
        p->cap = cap;
    }
    struct dep_row *r = &p->r[p->n++];
    snprintf(r->name, sizeof r->name, "%s", c[0].s ? c[0].s : "");
    r->slo_pass = c[1].i != 0;
    r->n_slo = c[2].i;
    r->n_slo_pass = c[3].i;
    r->requests = c[4].d;
    r->ok = c[5].d;
    r->peak = c[6].d;
    r->replica_min = c[7].d;
    r->cost = c[8].d;
    for (int k = 0; k < 2; k++) {
        r->lat[k] = c[9 + k].d;
        r->target[k] = c[11 + k].d;
        r->verdict[k] = c[13 + k].type == DB_NULL ? -1 : (int)c[13 + k].i;
    }
    return 0;
}

#define DEP_KEY(k)                                                                           \
    "(SELECT value FROM deployment_summary s WHERE s.run_id = d.run_id AND s.deployment = " \
    "d.deployment AND s.key = '" k "')"
#define DEP_SLO(col, m)                                                                       \
    "(SELECT " col " FROM deployment_slo_results o WHERE o.run_id = d.run_id AND "          \
    "o.deployment = d.deployment AND o.metric = '" m "' AND o.quantile = 0.95)"

/* One row per deployment of a run with several (none otherwise: a single deployment's
 * report is unchanged), beside the cluster's totals. SIM_OK, or the query's error. */
static int deployments_section(struct doc *d, struct db *db, const struct run_data *rd,
                               struct sim_err *err)
{
    if (rd->n_deps < 2) /* run_data_load() found the deployment tables and its rows */
        return SIM_OK;
    struct dep_rows p = {NULL, 0, 0, false};
    struct db_value id = db_int(rd->run_id);
    int rc = db_query(db,
                  "SELECT d.deployment, d.slo_pass, (SELECT count(*) FROM "
                  "deployment_slo_results o WHERE o.run_id = d.run_id AND o.deployment = "
                  "d.deployment), (SELECT coalesce(sum(pass), 0) FROM deployment_slo_results o "
                  "WHERE o.run_id = d.run_id AND o.deployment = d.deployment), "
                  DEP_KEY("requests_total") ", " DEP_KEY("requests_ok") ", "
                  DEP_KEY("replicas_peak_ready") ", " DEP_KEY("replica_minutes") ", "
                  DEP_KEY("cost_usd") ", " DEP_KEY("ttft_p95_s") ", " DEP_KEY("tpot_p95_s") ", "
                  DEP_SLO("target", "ttft") ", " DEP_SLO("target", "tpot") ", "
                  DEP_SLO("pass", "ttft") ", " DEP_SLO("pass", "tpot")
                  " FROM deployments d WHERE d.run_id = ?1 ORDER BY d.position, d.deployment",
                  &id, 1, dep_row_cb, &p, err);
    if (p.oom)
        rc = sim_err_set(err, SIM_ENOMEM, "out of memory");
    if (rc != SIM_OK || p.n < 2) {
        free(p.r);
        return rc;
    }
    double minutes = rd->sim_end_s / 60, total = run_data_get(rd, "cost_usd"), sum = 0;
    doc_add(d, B_H2, "Deployments");
    struct blk *t = doc_add(d, B_TABLE, NULL);
    if (t) {
        t->n_cols = 9;
        static const char *const cols[] = {"requests", "ok",      "TTFT p95", "TPOT p95",
                                           "SLOs",     "replicas peak / mean", "cost",
                                           "share of the bill"};
        blk_cell(d, t, 0, "deployment");
        for (int c = 0; c < 8; c++)
            blk_cell(d, t, c == 4 ? 0 : CF_NUM, "%s", cols[c]);
    }
    for (size_t i = 0; t && i < p.n; i++) {
        const struct dep_row *r = &p.r[i];
        char a[32], b[32];
        blk_cell(d, t, CF_CODE, "%s", r->name);
        blk_cell(d, t, CF_NUM, "%.0f", r->requests);
        blk_cell(d, t, CF_NUM, "%.0f", r->ok);
        for (int k = 0; k < 2; k++) {
            fmt_latency(a, sizeof a, r->lat[k]);
            if (r->verdict[k] < 0) {
                blk_cell(d, t, CF_NUM, "%s", a);
                continue;
            }
            fmt_latency(b, sizeof b, r->target[k]);
            blk_cell(d, t, CF_NUM | (r->verdict[k] ? CF_PASS : CF_FAIL), "%s (target %s) %s", a,
                     b, r->verdict[k] ? "PASS" : "FAIL");
        }
        if (r->n_slo == 0)
            blk_cell(d, t, 0, "none set");
        else
            blk_cell(d, t, CF_STRONG | (r->slo_pass ? CF_PASS : CF_FAIL), "%s (%lld of %lld)",
                     r->slo_pass ? "PASS" : "FAIL", (long long)r->n_slo_pass, (long long)r->n_slo);
        fmt_num(a, sizeof a, r->replica_min / minutes);
        blk_cell(d, t, CF_NUM, "%.0f / %s", r->peak, minutes > 0 ? a : "-");
        if (isnan(r->cost)) {
            blk_cell(d, t, CF_NUM, "-");
            blk_cell(d, t, CF_NUM, "-");
            continue;
        }
        sum += r->cost;
        fmt_usd(a, sizeof a, r->cost);
        fmt_pct(b, sizeof b, total > 0 ? r->cost / total : NAN);
        blk_cell(d, t, CF_NUM, "%s", a);
        blk_cell(d, t, CF_NUM, "%s", b);
    }
    if (t) {
        char a[32], b[32];
        blk_cell(d, t, CF_STRONG, "cluster");
        blk_cell(d, t, CF_NUM | CF_STRONG, "%.0f", run_data_get(rd, "requests_total"));
        blk_cell(d, t, CF_NUM | CF_STRONG, "%.0f", run_data_get(rd, "requests_ok"));
        fmt_latency(a, sizeof a, run_data_get(rd, "ttft_p95_s"));
        blk_cell(d, t, CF_NUM | CF_STRONG, "%s", a);
        fmt_latency(a, sizeof a, run_data_get(rd, "tpot_p95_s"));
        blk_cell(d, t, CF_NUM | CF_STRONG, "%s", a);
        double pass = run_data_get(rd, "slo_pass");
        blk_cell(d, t, CF_STRONG, "%s", isnan(pass) ? "-" : pass != 0 ? "PASS" : "FAIL");
        fmt_num(a, sizeof a, run_data_get(rd, "replica_minutes") / minutes);
        blk_cell(d, t, CF_NUM | CF_STRONG, "%.0f / %s", run_data_get(rd, "replicas_peak_ready"),
                 minutes > 0 ? a : "-");
        fmt_usd(a, sizeof a, total);
        fmt_pct(b, sizeof b, total > 0 ? 1.0 : NAN);
        blk_cell(d, t, CF_NUM | CF_STRONG, "%s", isnan(total) ? "-" : a);
        blk_cell(d, t, CF_NUM | CF_STRONG, "%s", isnan(total) ? "-" : b);
    }
    char a[32], bill[400];
    fmt_usd(a, sizeof a, sum);
    if (isnan(total))
        snprintf(bill, sizeof bill, "No cost model in this run (no node provisioner), so no "
                                    "bill to share.");
    else
        snprintf(bill, sizeof bill,
                 "The cluster's bill is shared by GPU-time: each deployment pays in proportion "
                 "to the GPU-seconds its pods held on the nodes (scheduling to termination), "
                 "idle capacity included (the shares add up to %s of the cluster's bill).",
                 a);
    doc_para(d, B_P,
             "Each deployment over its own requests, with its own SLOs (deployment_slo_results; "
             "the p95 targets beside the latencies, every SLO in the verdict). Replicas: the "
             "peak number Ready and the mean over the run (replica-minutes / run minutes). %s "
             "The cluster row is the whole run; its peak replicas is the cluster's own peak, "
             "not the sum of the deployments' peaks.",
             bill);
    free(p.r);
    return SIM_OK;
}

/* ---- each deployment of several on its own (rows with its deployment, schema 3) ------- */

struct dep_view {
    struct run_data v; /* run_data_load_series() */
    bool recorded;     /* the file says whose its rows are */
    char pre[96];      /* its charts' and data files' prefix: "dep-chat-" */
    char who[112];     /* its charts' title prefix: "chat: " */
    struct chart ch[CH_N];
};

/* A deployment's file prefix: its name where it is a DNS-1123 label (as the scenario
 * reader requires), else its position. */
static void dep_prefix(const char *name, size_t k, char *buf, size_t n)
{
    bool plain = name[0] && strlen(name) <= 63;
    for (const char *c = name; plain && *c; c++)
        plain = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-';
    if (plain)
        snprintf(buf, n, "dep-%s-", name);
    else
        snprintf(buf, n, "dep%zu-", k + 1);
}

static int ints_cb(void *ctx, const struct db_value *c, int n)
{
    int64_t *out = ctx;
    for (int i = 0; i < n && i < 5; i++)
        out[i] = c[i].type == DB_NULL ? 0 : c[i].i;
    return 0;
}

struct reasons {
    char text[400];
    size_t len;
};

static int reason_cb(void *ctx, const struct db_value *c, int n)
{
    (void)n;
    struct reasons *r = ctx;
    if (r->len < sizeof r->text) {
        int w = snprintf(r->text + r->len, sizeof r->text - r->len, "%s%s %lld",
                         r->len ? ", " : "", c[0].s ? c[0].s : "?", (long long)c[1].i);
        r->len += w > 0 ? (size_t)w : 0;
    }
    return 0;
}

/* Deployment k's pods and autoscaler: created, Ready, ended by reason, alive at the end;
 * ready replicas; start-up; scaling decisions. */
static int dep_pods(struct doc *d, struct db *db, const struct run_data *v, const char *name,
                    struct sim_err *err)
{
    struct db_value p[2] = {db_int(v->run_id), db_text(name)};
    int64_t n[5] = {0};
    struct reasons why = {"", 0};
    int rc = db_query(db,
                      "SELECT count(*), coalesce(sum(created_s <= 0), 0), count(ready_s), "
                      "count(end_reason) FROM pods WHERE run_id = ?1 AND deployment = ?2",
                      p, 2, ints_cb, n, err);
    if (rc == SIM_OK)
        rc = db_query(db,
                      "SELECT end_reason, count(*) FROM pods WHERE run_id = ?1 AND deployment = "
                      "?2 AND end_reason IS NOT NULL GROUP BY end_reason ORDER BY end_reason",
                      p, 2, reason_cb, &why, err);
    if (rc != SIM_OK)
        return rc;
    struct blk *t = kv_table(d);
    kv_row(d, t, "pods",
           "%lld created (%lld at the start, %lld during the run); %lld became Ready; %lld "
           "ended%s%s%s; %lld alive at the end",
           (long long)n[0], (long long)n[1], (long long)(n[0] - n[1]), (long long)n[2],
           (long long)n[3], why.len ? " (" : "", why.text, why.len ? ")" : "",
           (long long)(n[0] - n[3]));
    char a[32], b[32];
    double minutes = v->sim_end_s / 60;
    fmt_num(a, sizeof a, run_data_get(v, "replicas_peak_ready"));
    fmt_num(b, sizeof b, minutes > 0 ? run_data_get(v, "replica_minutes") / minutes : NAN);
    kv_row(d, t, "ready replicas", "%s at peak, %s on average over the run", a, b);
    if (v->n_started) {
        char m[5][32], mx[32];
        for (int k = 0; k < 5; k++)
            fmt_latency(m[k], sizeof m[k], v->startup_median_s[k]);
        fmt_latency(mx, sizeof mx, v->startup_max_s);
        kv_row(d, t, "start-up",
               "median %s from created to Ready over the %zu pod%s started during the run "
               "(waiting for a node %s, image pull %s, weight load %s, engine init %s); "
               "longest %s",
               m[0], v->n_started, v->n_started == 1 ? "" : "s", m[1], m[2], m[3], m[4], mx);
    } else {
        kv_row(d, t, "start-up", "no pod started during the run");
    }
    if (!db_has_column(db, "scaling_events", "deployment"))
        return SIM_OK;
    memset(n, 0, sizeof n);
    rc = db_query(db,
                  "SELECT count(*), coalesce(sum(desired > current_replicas), 0), "
                  "coalesce(sum(desired < current_replicas), 0) FROM scaling_events WHERE "
                  "run_id = ?1 AND deployment = ?2 AND source = 'hpa'",
                  p, 2, ints_cb, n, err);
    if (rc == SIM_OK && n[0] > 0)
        kv_row(d, t, "autoscaler",
               "%lld HPA syncs: %lld scaled it up, %lld down (scaling_events)", (long long)n[0],
               (long long)n[1], (long long)n[2]);
    return rc;
}

/* Deployment k on its own: latency, pods, latency over time (its windows' findings) and
 * its charts. */
static int deployment_detail(struct doc *d, struct db *db, const struct run_data *rd, size_t k,
                             const struct dep_view *dv, bool no_charts, struct sim_err *err)
{
    const char *name = rd->deps[k].name;
    char h[160];
    snprintf(h, sizeof h, "Deployment %s", name);
    doc_add(d, B_H2, h);
    if (!dv->recorded) {
        doc_para(d, B_NOTE,
                 "This database does not say which requests, pods and samples are %s's (the "
                 "run was written before schema version 3 gave them a deployment column), so "
                 "its latency over time, pods and charts cannot be told apart from the other "
                 "deployments'; its totals are in the Deployments table.",
                 name);
        return SIM_OK;
    }
    const struct run_data *v = &dv->v;
    doc_para(d, B_P,
             "%s's own requests, pods and metric samples (the rows whose deployment is %s). "
             "Nodes and the bill are the cluster's; its share of the bill is in the "
             "Deployments table.",
             name, name);
    latency_table(d, v);
    int rc = dep_pods(d, db, v, name, err);
    if (rc != SIM_OK)
        return rc;
    char w[48];
    fmt_duration(w, sizeof w, v->window_s);
    if (v->n_request_rows == 0) {
        doc_para(d, B_NOTE,
                 "The run recorded no request rows (record.requests: none), so %s's latency "
                 "over time could not be examined.",
                 name);
    } else {
        struct finding *fs = calloc(32, sizeof *fs);
        if (!fs)
            return sim_err_set(err, SIM_ENOMEM, "out of memory");
        size_t n = findings_detect(v, fs, 32);
        doc_para(d, B_P,
                 "Latency over time: %s's requests by windows of %s of arrival time (a "
                 "window's quantile needs %d ok requests)%s",
                 name, w, RD_MIN_WINDOW_N,
                 n ? ":" : ": nothing to flag (no SLO breach window, timeout, rejection, "
                          "failure or preemption burst).");
        struct blk *l = n ? doc_add(d, B_LIST, NULL) : NULL;
        for (size_t i = 0; l && i < n; i++)
            blk_cell(d, l, fs[i].warn ? CF_FAIL : 0, "%s.", fs[i].text);
        free(fs);
    }
    if (!no_charts)
        figures(d, dv->ch, DEP_CHARTS);
    return SIM_OK;
}

int report_write(struct db *db, const struct report_options *opt, struct report_result *res,
                 struct sim_err *err)
{
    memset(res, 0, sizeof *res);
    int64_t run_id = 0;
    size_t n_ids = 0;
    int rc = run_pick(db, opt->run_id, &run_id, &n_ids, err);
    res->n_runs = n_ids;
    if (rc != SIM_OK)
        return rc;
    res->run_id = run_id;

    struct run_data rd;
    if ((rc = run_data_load(db, run_id, RD_HEADLINE, &rd, err)) != SIM_OK)
        return rc;
    struct doc d = {NULL, 0, 0, false};
    struct finding *fs = calloc(64, sizeof *fs);
    struct chart ch[CH_N];
    /* a run of several deployments: each one's own series and charts */
    size_t n_dv = rd.n_deps >= 2 ? rd.n_deps : 0;
    struct dep_view *dv = n_dv ? calloc(n_dv, sizeof *dv) : NULL;
    struct run_data *views = n_dv ? calloc(n_dv, sizeof *views) : NULL;
    bool *recorded = n_dv ? calloc(n_dv, sizeof *recorded) : NULL;
    char data[1100];
    snprintf(data, sizeof data, "%s/data", opt->out_dir);
    struct stat before;
    bool created = stat(opt->out_dir, &before) != 0;
    FILE *gp = NULL;
    if (!fs || (n_dv && (!dv || !views || !recorded))) {
        n_dv = 0; /* nothing of theirs to release */
        rc = sim_err_set(err, SIM_ENOMEM, "out of memory");
        goto out;
    }
    /* the run's series and each deployment's, from one read of the request rows */
    rc = run_data_load_series(db, &rd, views, recorded, n_dv, err);
    for (size_t k = 0; k < n_dv; k++) {
        dv[k].v = views[k]; /* released below, loaded or not */
        dv[k].recorded = recorded[k];
    }
    if (rc != SIM_OK)
        goto out;
    for (size_t k = 0; k < n_dv; k++) {
        dep_prefix(rd.deps[k].name, k, dv[k].pre, sizeof dv[k].pre);
        snprintf(dv[k].who, sizeof dv[k].who, "%s: ", rd.deps[k].name);
    }
    if ((rc = make_dir(opt->out_dir, err)) != SIM_OK || (rc = make_dir(data, err)) != SIM_OK ||
        (rc = write_data(&rd, opt->out_dir, "", err)) != SIM_OK)
        goto out;
    for (size_t k = 0; k < n_dv; k++)
        if (dv[k].recorded && (rc = write_data(&dv[k].v, opt->out_dir, dv[k].pre, err)) != SIM_OK)
            goto out;
    if ((rc = open_out(opt->out_dir, "charts.gp", &gp, err)) != SIM_OK)
        goto out;
    fprintf(gp, "# The charts of the llmcap report in this folder (generated from the results "
                "database).\n# Redraw them with: gnuplot charts.gp (in this folder). Data: "
                "data/*.tsv, times in seconds of run time.\n");
    write_charts(&rd, gp, "", "", ch);
    for (size_t k = 0; k < n_dv; k++)
        if (dv[k].recorded)
            write_charts(&dv[k].v, gp, dv[k].pre, dv[k].who, dv[k].ch);
    rc = close_out(opt->out_dir, "charts.gp", gp, err);
    gp = NULL;
    if (rc != SIM_OK)
        goto out;
    if ((rc = chart_run(opt->out_dir, "charts.gp", opt->gnuplot, &res->gnuplot_missing,
                        res->gnuplot_failed, sizeof res->gnuplot_failed, err)) != SIM_OK)
        goto out;
    bool no_charts = res->gnuplot_missing || res->gnuplot_failed[0];
    /* charts that are not part of this report must not linger from an earlier one, nor
     * half-drawn ones from a gnuplot that failed */
    for (size_t k = 0; k <= n_dv; k++) {
        const struct chart *c = k == 0 ? ch : dv[k - 1].ch;
        if (k > 0 && !dv[k - 1].recorded)
            continue;
        for (int i = 0; i < CH_N; i++) {
            if (c[i].drawn && !no_charts) {
                res->n_charts++;
                continue;
            }
            char p[4200];
            snprintf(p, sizeof p, "%s/%s.png", opt->out_dir, c[i].name);
            unlink(p);
            snprintf(p, sizeof p, "%s/%s.svg", opt->out_dir, c[i].name);
            unlink(p);
        }
    }
    size_t n_pass = 0;
    for (size_t i = 0; i < rd.n_slo; i++)
        n_pass += rd.slo[i].pass;
    res->n_slo = rd.n_slo;
    res->slo_pass = n_pass == rd.n_slo;
    res->n_findings = findings_detect(&rd, fs, 64);

    headline(&d, &rd, n_pass);
    findings_section(&d, &rd, fs, res->n_findings);
    slo_section(&d, &rd);
    if ((rc = deployments_section(&d, db, &rd, err)) != SIM_OK)
        goto out;
    classes_section(&d, &rd);
    cost_section(&d, &rd);
    latency_section(&d, &rd);
    fleet_section(&d, &rd);
    charts_section(&d, ch, res->gnuplot_missing, res->gnuplot_failed);
    for (size_t k = 0; k < n_dv; k++)
        if ((rc = deployment_detail(&d, db, &rd, k, &dv[k], no_charts, err)) != SIM_OK)
            goto out;
    run_section(&d, &rd, base_name(db_path(db)), n_ids);
    char title[512], sub[1024], dur[48];
    snprintf(title, sizeof title, "llmcap report: %s (run %lld)", rd.scenario_name,
             (long long)run_id);
    fmt_duration(dur, sizeof dur, rd.sim_end_s);
    snprintf(sub, sizeof sub, "%s of run time, %lld requests, seed %lld, llmcap %s (%s)", dur,
             (long long)rd.n_requests, (long long)rd.seed, rd.llmcap_version, rd.git_describe);
    rc = write_doc(opt->out_dir, "report", &d, title, sub, err);
out:
    if (gp)
        fclose(gp);
    if (rc != SIM_OK && created)
        remove_created(opt->out_dir); /* a failed report leaves no folder behind */
    doc_free(&d);
    free(fs);
    for (size_t k = 0; k < n_dv; k++)
        run_data_release_deployment(&dv[k].v);
    free(dv);
    free(views);
    free(recorded);
    run_data_release(&rd);
    return rc;
}

/* ---- a plan's report: the cost-vs-latency Pareto frontier ------------------------------ */

struct plan_row {
    int64_t index;
    char label[256];
    char reason[256];
    char instance[96]; /* the instance type, or the GPU when priced per GPU */
    char dtype[24];
    int64_t tp, seqs, batched; /* seqs, batched: 0 = vLLM's default */
    bool feasible, fits, pareto, best;
    int64_t replicas;
    double usd_per_hour, usd_per_mtok, ttft, tpot, rate;
};

struct plan_rows {
    struct plan_row *r;
    size_t n, cap;
    bool oom;
    char scenario[256];
};

static int plan_row_cb(void *ctx, const struct db_value *c, int n_cols)
{
    struct plan_rows *p = ctx;
    (void)n_cols;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct plan_row *x = sim_reallocarray(p->r, cap, sizeof *x);
        if (!x) {
            p->oom = true;
            return 1;
        }
        p->r = x;
        p->cap = cap;
    }
    struct plan_row *r = &p->r[p->n++];
    memset(r, 0, sizeof *r);
    r->index = c[0].i;
    snprintf(r->label, sizeof r->label, "%s", c[1].s ? c[1].s : "");
    snprintf(r->reason, sizeof r->reason, "%s", c[2].s ? c[2].s : "");
    r->fits = c[3].i != 0;
    r->feasible = c[4].i != 0;
    r->pareto = c[5].i != 0;
    r->best = c[6].i != 0;
    r->replicas = c[7].type == DB_NULL ? 0 : c[7].i;
    r->usd_per_hour = c[8].d;
    r->usd_per_mtok = c[9].d;
    r->ttft = c[10].d;
    r->tpot = c[11].d;
    r->rate = c[12].d;
    if (c[13].s)
        snprintf(p->scenario, sizeof p->scenario, "%s", c[13].s);
    snprintf(r->instance, sizeof r->instance, "%s",
             c[14].s ? c[14].s : c[15].s ? c[15].s : "");
    r->tp = c[16].i;
    snprintf(r->dtype, sizeof r->dtype, "%s", c[17].s ? c[17].s : "");
    r->seqs = c[18].type == DB_NULL ? 0 : c[18].i;
    r->batched = c[19].type == DB_NULL ? 0 : c[19].i;
    return 0;
}

static int max_plan_cb(void *ctx, const struct db_value *c, int n_cols)
{
    (void)n_cols;
    *(int64_t *)ctx = c[0].type == DB_NULL ? 0 : c[0].i;
    return 0;
}

static int cmp_plan_cost(const void *a, const void *b)
{
    const struct plan_row *x = a, *y = b;
    bool nx = isnan(x->usd_per_hour), ny = isnan(y->usd_per_hour);
    if (nx != ny)
        return nx ? 1 : -1; /* unpriced (infeasible) last */
    if (!nx && x->usd_per_hour != y->usd_per_hour)
        return x->usd_per_hour < y->usd_per_hour ? -1 : 1;
    if (!nx && x->ttft != y->ttft)
        return x->ttft < y->ttft ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* The configuration as the chart labels it: "p5.48xlarge tp4 fp8". */
static void plan_point_label(const struct plan_row *r, char *buf, size_t n)
{
    snprintf(buf, n, "%s tp%lld %s", r->instance, (long long)r->tp, r->dtype);
}

/*
 * A table of configurations that fits a page: the configuration in short columns
 * (instance, TP, dtype, max_num_seqs, max_num_batched_tokens; "default" when vLLM's)
 * rather than one long label, and short headers; the units are in the headers.
 */
static void plan_table(struct doc *d, const struct plan_row *rows, size_t n, bool only_pareto,
                       size_t max_rows)
{
    struct blk *t = doc_add(d, B_TABLE, NULL);
    if (!t)
        return;
    enum { COLS = 11 };
    t->n_cols = COLS;
    const char *h[COLS] = {"instance", "TP",       "dtype",      "seqs",       "batched",
                           "replicas", "$/h",      "$/1M tok",   "TTFT p95 s", "TPOT p95 s",
                           "x rate per replica"};
    for (int i = 0; i < COLS; i++)
        blk_cell(d, t, i == 0 || i == 2 ? 0 : CF_NUM, "%s", h[i]);
    size_t shown = 0;
    for (size_t i = 0; i < n && shown < max_rows; i++) {
        const struct plan_row *r = &rows[i];
        if (!r->feasible || (only_pareto && !r->pareto))
            continue;
        unsigned strong = r->best ? CF_STRONG : 0;
        blk_cell(d, t, strong, "%s", r->instance); /* the answer in bold */
        blk_cell(d, t, CF_NUM | strong, "%lld", (long long)r->tp);
        blk_cell(d, t, strong | CF_NOWRAP, "%s", r->dtype);
        if (r->seqs)
            blk_cell(d, t, CF_NUM, "%lld", (long long)r->seqs);
        else
            blk_cell(d, t, CF_NUM, "default");
        if (r->batched)
            blk_cell(d, t, CF_NUM, "%lld", (long long)r->batched);
        else
            blk_cell(d, t, CF_NUM, "default");
        blk_cell(d, t, CF_NUM, "%lld", (long long)r->replicas);
        blk_cell(d, t, CF_NUM, "%.2f", r->usd_per_hour);
        blk_cell(d, t, CF_NUM, "%.4f", r->usd_per_mtok);
        blk_cell(d, t, CF_NUM, "%.3f", r->ttft);
        blk_cell(d, t, CF_NUM, "%.3f", r->tpot);
        if (isnan(r->rate))
            blk_cell(d, t, CF_NUM, "-");
        else
            blk_cell(d, t, CF_NUM, "%.3g", r->rate);
        shown++;
    }
}

struct plan_bill_ctx {
    struct doc *d;
    bool answer; /* the first query: the answer's bill; then the rejected candidates */
    size_t n;
};

static int plan_bill_cb(void *ctx, const struct db_value *c, int n_cols)
{
    struct plan_bill_ctx *x = ctx;
    (void)n_cols;
    const char *note = c[6].s ? c[6].s : "";
    if (x->answer) {
        if (c[1].s && c[0].s && !strcmp(c[0].s, "whole_nodes"))
            doc_para(x->d, B_P, "Billed as whole nodes: %lld x %s (the fleet's replicas packed "
                                "onto instances; clouds bill instances, not GPUs).",
                     (long long)c[2].i, c[1].s);
        else if (c[1].s)
            doc_para(x->d, B_P, "Billed as GPU shares of %s (plan.billing: gpu_share: the "
                                "nodes' other GPUs are paid by other workloads).",
                     c[1].s);
        if (c[3].s && !strcmp(c[3].s, "pass"))
            doc_para(x->d, B_P, "Verified under the scenario's cluster model: %s; $%.2f an hour "
                                "($%.2f for the run).",
                     note, c[4].d, c[5].d);
        else
            doc_para(x->d, B_P, "Not verified under a cluster model (the scenario provisions "
                                "no nodes): provisioning delays and spot interruptions are "
                                "not in this answer.");
        return 0;
    }
    if (x->n++ == 0)
        doc_para(x->d, B_P, "Cheaper candidates rejected by verification under the cluster "
                            "model:");
    doc_para(x->d, B_P, "- %s: %s", c[7].s ? c[7].s : "", note);
    return 0;
}

/* The answer's bill and verification, and the candidates verification rejected (plans
 * written before plan_billing have none: nothing is said). */
static void plan_bill_paras(struct doc *d, struct db *db, int64_t plan_id, int64_t best)
{
    struct sim_err e = {0};
    struct plan_bill_ctx x = {d, true, 0};
    struct db_value v[2] = {db_int(plan_id), db_int(best)};
    const char *cols = "SELECT b.billing, b.node_type, b.nodes, b.verify, "
                       "b.verified_usd_per_hour, b.verified_cost_usd, b.verify_note, p.label "
                       "FROM plan_billing b JOIN plan_results p USING (plan_id, config_index) "
                       "WHERE plan_id = ?1 AND ";
    char sql[512];
    snprintf(sql, sizeof sql, "%sconfig_index = ?2", cols);
    if (db_query(db, sql, v, 2, plan_bill_cb, &x, &e) != SIM_OK)
        return;
    x.answer = false;
    snprintf(sql, sizeof sql, "%sb.verify = 'fail' ORDER BY p.usd_per_hour, config_index",
             cols);
    db_query(db, sql, v, 1, plan_bill_cb, &x, &e);
}

/* ---- a shared cluster's plan (plan/shared.h: plan_shared_* tables) ---- */

/* Whether plan `plan_id` is a shared cluster's (its layouts are in the database). */
static bool plan_is_shared_db(struct db *db, int64_t plan_id)
{
    int64_t n = 0;
    struct sim_err e = {0};
    if (db_query(db, "SELECT count(*) FROM sqlite_master WHERE name = 'plan_shared_layouts'",
                 NULL, 0, max_plan_cb, &n, &e) != SIM_OK || n == 0)
        return false;
    struct db_value id = db_int(plan_id);
    n = 0;
    return db_query(db, "SELECT count(*) FROM plan_shared_configs WHERE plan_id = ?1", &id, 1,
                    max_plan_cb, &n, &e) == SIM_OK &&
           n > 0;
}

/* Prefix each row's instance and label with its deployment (and its MIG profile). */
static int dep_label_cb(void *ctx, const struct db_value *c, int n_cols)
{
    struct plan_rows *p = ctx;
    (void)n_cols;
    for (size_t i = 0; i < p->n; i++) {
        struct plan_row *r = &p->r[i];
        if (r->index != c[0].i)
            continue;
        char buf[512];
        snprintf(buf, sizeof buf, "%.63s: %s%s%.15s", c[1].s ? c[1].s : "", r->instance,
                 c[2].s ? " mig " : "", c[2].s ? c[2].s : "");
        snprintf(r->instance, sizeof r->instance, "%.95s", buf);
        snprintf(buf, sizeof buf, "%.63s: %s", c[1].s ? c[1].s : "", r->label);
        snprintf(r->label, sizeof r->label, "%.255s", buf);
        break;
    }
    return 0;
}

struct layout_ctx {
    struct doc *d;
    struct db *db;
    int64_t plan_id;
    struct blk *t;
    int64_t best_rank;
    double best_usd;
};

static int groups_text_cb(void *ctx, const struct db_value *c, int n_cols)
{
    char *buf = ctx;
    (void)n_cols;
    size_t used = strlen(buf);
    snprintf(buf + used, 512 - used, "%s%lld x %s%s%s (%lld of %lld %s)", used ? ", " : "",
             (long long)c[0].i, c[1].s ? c[1].s : "", c[2].s && c[2].s[0] ? " MIG all-" : "",
             c[2].s ? c[2].s : "", (long long)c[3].i, (long long)c[0].i * c[4].i,
             c[2].s && c[2].s[0] ? "slices" : "GPUs");
    return 0;
}

static void groups_text(struct db *db, int64_t plan_id, int64_t rank, char *buf)
{
    struct sim_err e = {0};
    struct db_value v[2] = {db_int(plan_id), db_int(rank)};
    buf[0] = 0;
    db_query(db,
             "SELECT nodes, node_type, mig, used_units, units_per_node FROM plan_shared_groups "
             "WHERE plan_id = ?1 AND rank = ?2 ORDER BY node_type, mig",
             v, 2, groups_text_cb, buf, &e);
}

static int layout_row_cb(void *ctx, const struct db_value *c, int n_cols)
{
    struct layout_ctx *x = ctx;
    (void)n_cols;
    char groups[512];
    groups_text(x->db, x->plan_id, c[0].i, groups);
    unsigned strong = c[3].i ? CF_STRONG : 0;
    blk_cell(x->d, x->t, CF_NUM | strong, "%lld", (long long)c[0].i + 1);
    blk_cell(x->d, x->t, CF_NUM | strong, "%.2f", c[1].d);
    blk_cell(x->d, x->t, CF_NUM, "%lld", (long long)c[2].i);
    blk_cell(x->d, x->t, 0, "%s", groups);
    const char *v = c[4].s ? c[4].s : "none";
    blk_cell(x->d, x->t, !strcmp(v, "pass") ? CF_PASS : !strcmp(v, "fail") ? CF_FAIL : 0, "%s",
             c[5].s ? c[5].s : "not verified");
    return 0;
}

static int choice_row_cb(void *ctx, const struct db_value *c, int n_cols)
{
    struct layout_ctx *x = ctx;
    (void)n_cols;
    blk_cell(x->d, x->t, 0, "%s", c[0].s ? c[0].s : "");
    blk_cell(x->d, x->t, 0, "%s", c[1].s ? c[1].s : "");
    blk_cell(x->d, x->t, CF_NUM, "%lld", (long long)c[2].i);
    blk_cell(x->d, x->t, CF_NUM, "%.3f", c[3].d);
    blk_cell(x->d, x->t, CF_NUM, "%.3f", c[4].d);
    if (c[5].type == DB_NULL)
        blk_cell(x->d, x->t, 0, "not verified");
    else
        blk_cell(x->d, x->t, c[5].i ? CF_PASS : CF_FAIL, "%s, TTFT p95 %.3f s, $%.2f",
                 c[5].i ? "PASS" : "FAIL", c[6].d, c[7].d);
    return 0;
}

static int meta_real_cb(void *ctx, const struct db_value *c, int n_cols)
{
    (void)n_cols;
    if (c[0].s)
        *(double *)ctx = strtod(c[0].s, NULL);
    return 0;
}

/* The Answer of a shared cluster's plan: the cheapest layout that meets every
 * deployment's SLOs, each deployment's configuration and verdict, separate clusters'
 * cost, and the layouts kept, cheapest first. */
static int best_layout_cb(void *ctx, const struct db_value *c, int n_cols)
{
    struct layout_ctx *x = ctx;
    (void)n_cols;
    x->best_rank = c[0].i;
    x->best_usd = c[1].d;
    return 0;
}

static void shared_answer(struct doc *d, struct db *db, int64_t plan_id)
{
    struct sim_err e = {0};
    struct db_value id = db_int(plan_id);
    struct layout_ctx x = {d, db, plan_id, NULL, -1, NAN};
    db_query(db,
             "SELECT rank, usd_per_hour FROM plan_shared_layouts WHERE plan_id = ?1 AND is_best",
             &id, 1, best_layout_cb, &x, &e);
    if (x.best_rank < 0) {
        doc_para(d, B_P, "No layout of the shared cluster meets every deployment's SLOs.");
    } else {
        char groups[512];
        groups_text(db, plan_id, x.best_rank, groups);
        doc_para(d, B_P,
                 "The cheapest layout of the shared cluster that meets every deployment's SLOs "
                 "(layout %lld below): $%.2f an hour on %s.",
                 (long long)x.best_rank + 1, x.best_usd, groups);
        double sep = NAN;
        db_query(db,
                 "SELECT value FROM plan_meta WHERE plan_id = ?1 AND key = "
                 "'separate_usd_per_hour'",
                 &id, 1, meta_real_cb, &sep, &e);
        if (!isnan(sep))
            doc_para(d, B_P,
                     "Each deployment on its own nodes (its cheapest configuration alone) would "
                     "cost $%.2f an hour: sharing the cluster saves $%.2f an hour (%.1f%%).",
                     sep, sep - x.best_usd, sep > 0 ? 100.0 * (sep - x.best_usd) / sep : 0.0);
        struct blk *ct = doc_add(d, B_TABLE, NULL);
        if (!ct)
            return;
        ct->n_cols = 6;
        const char *hc[6] = {"deployment", "configuration", "replicas", "TTFT p95 s",
                             "TPOT p95 s", "on the cluster (verdict, TTFT p95, share of the bill)"};
        for (int i = 0; i < 6; i++)
            blk_cell(d, ct, i >= 2 && i <= 4 ? CF_NUM : 0, "%s", hc[i]);
        x.t = ct;
        struct db_value v[2] = {db_int(plan_id), db_int(x.best_rank)};
        db_query(db,
                 "SELECT c.deployment, r.label, c.replicas, r.ttft_p95_s, r.tpot_p95_s, "
                 "c.verified_pass, c.verified_ttft_p95_s, c.verified_usd FROM "
                 "plan_shared_choices c JOIN plan_results r ON r.plan_id = c.plan_id AND "
                 "r.config_index = c.config_index WHERE c.plan_id = ?1 AND c.rank = ?2 ORDER BY "
                 "c.deployment",
                 v, 2, choice_row_cb, &x, &e);
    }
    doc_para(d, B_P, "The layouts kept, cheapest first (the answer in bold), and what "
                     "simulating the whole cluster found:");
    struct blk *lt = doc_add(d, B_TABLE, NULL);
    if (!lt)
        return;
    lt->n_cols = 5;
    const char *h[5] = {"layout", "$/h", "nodes", "node groups", "under the cluster model"};
    for (int i = 0; i < 5; i++)
        blk_cell(d, lt, i == 3 || i == 4 ? 0 : CF_NUM, "%s", h[i]);
    x.t = lt;
    db_query(db,
             "SELECT rank, usd_per_hour, nodes, is_best, verify, verify_note FROM "
             "plan_shared_layouts WHERE plan_id = ?1 ORDER BY rank",
             &id, 1, layout_row_cb, &x, &e);
}

int report_write_plan(struct db *db, const struct report_options *opt, int64_t plan_id,
                      struct report_result *res, struct sim_err *err)
{
    memset(res, 0, sizeof *res);
    int64_t last = 0;
    int rc = db_query(db, "SELECT max(plan_id) FROM plan_results", NULL, 0, max_plan_cb, &last,
                      err);
    if (rc != SIM_OK)
        return rc;
    if (last == 0)
        return sim_err_at(err, SIM_ENOENT, db_path(db), 0, 0,
                          "no plan in this database (llmcap plan SCENARIO -o DB writes one)");
    if (plan_id <= 0)
        plan_id = last;
    res->run_id = plan_id;
    struct plan_rows p = {0};
    struct db_value id = db_int(plan_id);
    rc = db_query(db,
                  "SELECT config_index, label, reason, fits, feasible, pareto, best, replicas, "
                  "usd_per_hour, usd_per_mtok, ttft_p95_s, tpot_p95_s, max_rate_scale, "
                  "scenario_name, instance_type, gpu, tensor_parallel_size, dtype, "
                  "max_num_seqs, max_num_batched_tokens FROM plan_results WHERE plan_id = ?1 "
                  "ORDER BY config_index",
                  &id, 1, plan_row_cb, &p, err);
    if (rc == SIM_OK && p.oom)
        rc = sim_err_set(err, SIM_ENOMEM, "out of memory");
    if (rc == SIM_OK && p.n == 0)
        rc = sim_err_at(err, SIM_ENOENT, db_path(db), 0, 0, "no plan %lld in this database",
                        (long long)plan_id);
    if (rc != SIM_OK) {
        free(p.r);
        return rc;
    }
    bool shared = plan_is_shared_db(db, plan_id);
    if (shared) {
        struct sim_err e2 = {0};
        db_query(db, "SELECT config_index, deployment, mig FROM plan_shared_configs WHERE "
                     "plan_id = ?1",
                 &id, 1, dep_label_cb, &p, &e2);
    }
    qsort(p.r, p.n, sizeof *p.r, cmp_plan_cost);
    size_t n_feasible = 0, n_fit = 0, n_front = 0;
    const struct plan_row *best = NULL;
    for (size_t i = 0; i < p.n; i++) {
        n_feasible += p.r[i].feasible;
        n_fit += p.r[i].fits;
        n_front += p.r[i].pareto;
        if (p.r[i].best)
            best = &p.r[i];
    }
    struct doc d = {NULL, 0, 0, false};
    FILE *f = NULL, *gp = NULL;
    char data[1100];
    snprintf(data, sizeof data, "%s/data", opt->out_dir);
    if ((rc = make_dir(opt->out_dir, err)) != SIM_OK || (rc = make_dir(data, err)) != SIM_OK)
        goto out;
    /* data: every feasible point, and the frontier in cost order */
    if ((rc = open_out(opt->out_dir, "data/plan_points.tsv", &f, err)) != SIM_OK)
        goto out;
    fprintf(f, "usd_per_hour\tttft_p95_s\tpareto\tlabel\n");
    for (size_t i = 0; i < p.n; i++)
        if (p.r[i].feasible)
            fprintf(f, "%.17g\t%.17g\t%d\t%s\n", p.r[i].usd_per_hour, p.r[i].ttft,
                    p.r[i].pareto ? 1 : 0, p.r[i].label);
    if ((rc = close_out(opt->out_dir, "data/plan_points.tsv", f, err)) != SIM_OK) {
        f = NULL;
        goto out;
    }
    f = NULL;
    /* the frontier in cost order (rows are sorted by cost), for its line */
    double xmin = INFINITY, xmax = 0;
    if ((rc = open_out(opt->out_dir, "data/plan_frontier.tsv", &f, err)) != SIM_OK)
        goto out;
    fprintf(f, "usd_per_hour\tttft_p95_s\tlabel\tpoint\n");
    double ymax = 0;
    for (size_t i = 0; i < p.n; i++) {
        if (!p.r[i].feasible)
            continue;
        xmin = fmin(xmin, p.r[i].usd_per_hour);
        xmax = fmax(xmax, p.r[i].usd_per_hour);
        ymax = fmax(ymax, p.r[i].ttft);
        if (p.r[i].pareto) {
            char pl[160];
            plan_point_label(&p.r[i], pl, sizeof pl);
            fprintf(f, "%.17g\t%.17g\t%s\t%s\n", p.r[i].usd_per_hour, p.r[i].ttft,
                    p.r[i].label, pl);
        }
    }
    if ((rc = close_out(opt->out_dir, "data/plan_frontier.tsv", f, err)) != SIM_OK) {
        f = NULL;
        goto out;
    }
    f = NULL;
    bool drawn = n_feasible > 0 && !shared; /* a frontier mixing deployments means nothing */
    if ((rc = open_out(opt->out_dir, "plan.gp", &gp, err)) != SIM_OK)
        goto out;
    fprintf(gp, "# The chart of the llmcap plan report in this folder.\n");
    if (drawn) {
        chart_begin(gp, "pareto", "Cost against p95 TTFT (configurations that meet every SLO)");
        /* Each frontier point is labelled (instance, TP, dtype) to its upper right; the
         * y range leaves room above the highest point for its label. */
        fprintf(gp, "set xlabel 'fleet cost ($/h)'\nset ylabel 'TTFT p95 (s)'\nset logscale x\n"
                    "set xrange [%.17g:%.17g]\nset yrange [0:%.17g]\n"
                    "set xtics (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)\n"
                    "set key bottom left opaque box lc rgb '#cccccc'\n",
                xmin / 1.25, xmax * 1.6, ymax > 0 ? ymax * 1.2 : 1.0);
        fprintf(gp, "plot 'data/plan_points.tsv' skip 1 using 1:2 with points pt 7 ps 0.8 "
                    "lc rgb '#8c96a0' title 'meets every SLO', \\\n"
                    "     'data/plan_frontier.tsv' skip 1 using 1:2 with linespoints "
                    "pt 7 ps 1.3 lw 2 lc rgb '#1f77b4' title 'Pareto frontier', \\\n"
                    "     'data/plan_frontier.tsv' skip 1 using 1:2:4 with labels left "
                    "offset char 0.8,0.9 font ',9' tc rgb '#1f3a5a' notitle\n");
        chart_end(gp, "pareto");
    }
    rc = close_out(opt->out_dir, "plan.gp", gp, err);
    gp = NULL;
    if (rc != SIM_OK)
        goto out;
    if (drawn && (rc = chart_run(opt->out_dir, "plan.gp", opt->gnuplot, &res->gnuplot_missing,
                                 res->gnuplot_failed, sizeof res->gnuplot_failed, err)) !=
                     SIM_OK)
        goto out;
    bool charted = drawn && !res->gnuplot_missing && !res->gnuplot_failed[0];
    if (!charted) { /* no half-drawn chart from a gnuplot that failed, nor an old one */
        char path[1200];
        snprintf(path, sizeof path, "%s/pareto.png", opt->out_dir);
        unlink(path);
        snprintf(path, sizeof path, "%s/pareto.svg", opt->out_dir);
        unlink(path);
    }
    res->n_charts = charted ? 1 : 0;

    doc_add(&d, B_H2, "Answer");
    if (shared) {
        shared_answer(&d, db, plan_id);
    } else if (best) {
        doc_para(&d, B_P,
                 "The cheapest configuration that meets every SLO: %s, %lld replica%s at $%.2f "
                 "an hour ($%.4f per 1M output tokens), p95 TTFT %.3f s, p95 TPOT %.3f s.",
                 best->label, (long long)best->replicas, best->replicas == 1 ? "" : "s",
                 best->usd_per_hour, best->usd_per_mtok, best->ttft, best->tpot);
        plan_bill_paras(&d, db, plan_id, best->index);
    } else {
        doc_para(&d, B_P, "No configuration of the plan meets every SLO.");
    }
    if (shared)
        doc_para(&d, B_P,
                 "%zu (deployment, configuration) pairs searched, each deployment alone: %zu do "
                 "not fit or cannot be placed, %zu miss the deployment's SLOs, %zu meet them. "
                 "The tables below name each configuration's deployment; its cost is the "
                 "deployment alone on its own nodes.",
                 p.n, p.n - n_fit, n_fit - n_feasible, n_feasible);
    else
        doc_para(&d, B_P,
                 "%zu configurations searched: %zu do not fit or cannot be placed, %zu miss an "
                 "SLO, %zu meet every SLO; %zu on the Pareto frontier.",
                 p.n, p.n - n_fit, n_fit - n_feasible, n_feasible, n_front);
    if (!shared) {
        doc_add(&d, B_H2, "Pareto frontier (cost against p95 TTFT)");
        if (charted) {
            struct blk *b = doc_add(&d, B_FIG, "Cost against p95 TTFT");
            if (b && (!(b->name = strdup("pareto")) ||
                      !(b->caption = strdup("Every configuration that meets every SLO (grey) and "
                                            "the frontier, labelled instance, tensor parallel "
                                            "size and dtype: no other is both cheaper and "
                                            "faster."))))
                d.oom = true;
        } else if (drawn && res->gnuplot_failed[0]) {
            doc_para(&d, B_NOTE,
                     "The chart was not drawn: %s. Run gnuplot plan.gp in this folder to see "
                     "the whole error.",
                     res->gnuplot_failed);
        } else if (drawn) {
            doc_para(&d, B_NOTE, "The chart was not drawn: gnuplot is not installed (Debian "
                                 "package gnuplot-nox).");
        }
        plan_table(&d, p.r, p.n, true, p.n);
    }
    doc_add(&d, B_H2, shared ? "Cheapest configurations of each deployment that meet its SLOs"
                             : "Cheapest configurations that meet every SLO");
    doc_para(&d, B_P, "In bold: the answer. seqs and batched are vLLM's max_num_seqs and "
                      "max_num_batched_tokens; the last column is the highest multiple of "
                      "the workload's rate one replica sustained.");
    plan_table(&d, p.r, p.n, false, 20);
    doc_add(&d, B_H2, "Configurations that did not qualify");
    struct blk *l = doc_add(&d, B_LIST, NULL);
    size_t listed = 0;
    for (size_t i = 0; i < p.n && listed < 30; i++)
        if (!p.r[i].feasible) {
            blk_cell(&d, l, 0, "%s: %s", p.r[i].label, p.r[i].reason);
            listed++;
        }
    char title[512], sub[512];
    snprintf(title, sizeof title, "llmcap plan: %s (plan %lld)", p.scenario, (long long)plan_id);
    snprintf(sub, sizeof sub, "%zu configurations from %s", p.n, base_name(db_path(db)));
    rc = write_doc(opt->out_dir, "plan", &d, title, sub, err);
out:
    if (f)
        fclose(f);
    if (gp)
        fclose(gp);
    doc_free(&d);
    free(p.r);
    return rc;
}
