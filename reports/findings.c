/* findings.c: plain detectors over a run's data that say what a reviewer should notice. */
#include "reports/findings.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fmt_clock(char *buf, size_t n, double t_s)
{
    long s = (long)floor(t_s + 1e-9);
    if (s < 0)
        s = 0;
    snprintf(buf, n, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
}

void fmt_duration(char *buf, size_t n, double s)
{
    long r = lround(s);
    if (r < 60)
        snprintf(buf, n, "%ld s", r);
    else if (r < 3600 && r % 60)
        snprintf(buf, n, "%ld min %ld s", r / 60, r % 60);
    else if (r < 3600)
        snprintf(buf, n, "%ld min", r / 60);
    else if ((r / 60) % 60)
        snprintf(buf, n, "%ld h %02ld min", r / 3600, (r / 60) % 60);
    else
        snprintf(buf, n, "%ld h", r / 3600);
}

void fmt_latency(char *buf, size_t n, double s)
{
    if (isnan(s))
        snprintf(buf, n, "-");
    else if (s < 1.0)
        snprintf(buf, n, "%.3g ms", s * 1000.0);
    else if (s < 100.0)
        snprintf(buf, n, "%.3g s", s);
    else
        snprintf(buf, n, "%.0f s", s);
}

void fmt_slo_value(char *buf, size_t n, const char *unit, double v, const char *missing)
{
    if (strcmp(unit, "frac"))
        fmt_latency(buf, n, v);
    else if (isnan(v))
        snprintf(buf, n, "%s", missing);
    else
        snprintf(buf, n, "%.4g%%", v * 100);
}

/* ---- helpers ------------------------------------------------------------------------------ */

struct out {
    struct finding *f;
    size_t n, max;
};

static struct finding *add(struct out *o, enum finding_kind kind, bool warn, double t0, double t1)
{
    if (o->n == o->max)
        return NULL;
    struct finding *f = &o->f[o->n++];
    f->kind = kind;
    f->warn = warn;
    f->t0_s = t0;
    f->t1_s = t1;
    f->text[0] = '\0';
    return f;
}

static void append(struct finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void append(struct finding *f, const char *fmt, ...)
{
    size_t len = strlen(f->text);
    if (len + 1 >= sizeof f->text)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->text + len, sizeof f->text - len, fmt, ap);
    va_end(ap);
}

static const char *plural(double n)
{
    return n == 1.0 ? "" : "s";
}

/* Requests rows may be a sample: counts from them are scaled by this to estimate all. */
/* A summary key older runs lack reads as 0. */
static double zero_if_nan(double v)
{
    return isnan(v) ? 0.0 : v;
}

static double row_scale(const struct run_data *rd)
{
    double total = run_data_get(rd, "requests_total");
    if (isnan(total) || rd->n_request_rows == 0)
        return 1.0;
    return total / (double)rd->n_request_rows;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median arrival rate over the windows from the first arrival to the last. */
static double median_rate(const struct run_data *rd)
{
    size_t a = 0, b = rd->n_windows;
    while (a < b && rd->win[a].n_arrived == 0)
        a++;
    while (b > a && rd->win[b - 1].n_arrived == 0)
        b--;
    if (a == b)
        return NAN;
    double *r = malloc((b - a) * sizeof *r);
    if (!r)
        return NAN;
    double scale = row_scale(rd) / rd->window_s;
    for (size_t i = a; i < b; i++)
        r[i - a] = rd->win[i].n_arrived * scale;
    qsort(r, b - a, sizeof *r, cmp_double);
    double m = rd_quantile_sorted(r, b - a, 0.5);
    free(r);
    return m;
}

/* Waiting requests (replicas and gateway) at t. */
static double waiting_at(const struct run_data *rd, double t)
{
    double q = rd_sample_at(&rd->queue, t), g = rd_sample_at(&rd->gateway, t);
    return (isnan(q) ? 0.0 : q) + (isnan(g) ? 0.0 : g);
}

static double waiting_max(const struct run_data *rd, double t0, double t1)
{
    double m = NAN;
    const struct rd_series *s[2] = {&rd->queue, &rd->gateway};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < s[k]->n; i++) {
            double t = s[k]->p[i].t_s;
            if (t >= t0 && t <= t1) {
                double w = waiting_at(rd, t);
                if (isnan(m) || w > m)
                    m = w;
            }
        }
    return m;
}

/* ---- SLO breaches ------------------------------------------------------------------------- */

struct brun {
    size_t a, b; /* windows [a, b) */
    size_t peak;
};

static int brun_by_length(const void *x, const void *y)
{
    const struct brun *p = x, *q = y;
    size_t lp = p->b - p->a, lq = q->b - q->a;
    if (lp != lq)
        return lp > lq ? -1 : 1;
    return (p->a > q->a) - (p->a < q->a);
}

static int brun_by_start(const void *x, const void *y)
{
    const struct brun *p = x, *q = y;
    return (p->a > q->a) - (p->a < q->a);
}

static double window_value(const struct run_data *rd, size_t i, bool tpot, int k)
{
    return tpot ? rd->win[i].tpot_q[k] : rd->win[i].ttft_q[k];
}

static void describe_context(const struct run_data *rd, struct finding *f, double t0, double t1,
                             double median)
{
    char a[32], b[32];
    bool any = false;
    if (rd->n_pods > 0) {
        double starting = rd_step_max(&rd->starting, t0, t1);
        double ready = rd_step_at(&rd->ready, t0);
        if (starting >= 1)
            append(f, ", while %.0f replica%s %s starting (%.0f ready)", starting, plural(starting),
                   starting == 1 ? "was" : "were", ready);
        else
            append(f, ", with %.0f replica%s ready and none starting", ready, plural(ready));
        any = true;
    }
    if (rd->queue.n > 0) {
        double q0 = waiting_at(rd, t0), qmax = waiting_max(rd, t0, t1);
        if (!isnan(qmax) && qmax >= q0 + 1) {
            append(f, "%sthe queue grew from %.0f to %.0f waiting request%s", any ? "; " : ", ", q0,
                   qmax, plural(qmax));
            any = true;
        }
    }
    double kv = rd_sample_max(&rd->kv_max, t0, t1);
    if (!isnan(kv) && kv >= 0.9) {
        append(f, "%sKV cache up to %.0f%% full", any ? "; " : ", ", kv * 100.0);
        any = true;
    }
    /* An arrival spike in the interval or just before it. */
    double peak = 0.0, tp = NAN;
    double scale = row_scale(rd) / rd->window_s;
    for (size_t i = 0; i < rd->n_windows; i++) {
        double t = rd->win[i].t_s;
        if (t >= t0 - 2 * rd->window_s && t < t1 && rd->win[i].n_arrived * scale > peak) {
            peak = rd->win[i].n_arrived * scale;
            tp = t;
        }
    }
    if (!isnan(median) && median > 0 && peak >= 1.5 * median) {
        fmt_clock(a, sizeof a, tp);
        append(f, "%sarrivals peaked at %.3g req/s at %s (%.1fx the median %.3g req/s)",
               any ? "; " : ", ", peak, a, peak / median, median);
        any = true;
    }
    for (size_t i = 0; i < rd->spot_interruptions.n; i++) {
        double t = rd->spot_interruptions.p[i].t_s;
        if (t >= t0 - 300.0 && t <= t1) {
            fmt_clock(b, sizeof b, t);
            append(f, "%sa spot interruption reclaimed a node at %s", any ? "; " : ", ", b);
            break;
        }
    }
}

static void detect_breaches(const struct run_data *rd, const struct rd_slo *slo, struct out *o)
{
    bool tpot = !strcmp(slo->metric, "tpot");
    if (!tpot && strcmp(slo->metric, "ttft"))
        return;
    int k = -1;
    for (int i = 0; i < rd->nq; i++)
        if (rd->q[i] == slo->quantile)
            k = i;
    if (k < 0 || rd->n_windows == 0)
        return;
    /* Windows with too few requests have no quantile (NaN) and break a run. */
    struct brun *runs = malloc(rd->n_windows * sizeof *runs);
    if (!runs)
        return;
    size_t n_runs = 0, n_windows_over = 0;
    for (size_t i = 0; i < rd->n_windows;) {
        double v = window_value(rd, i, tpot, k);
        if (!(v > slo->target)) {
            i++;
            continue;
        }
        struct brun r = {i, i, i};
        while (r.b < rd->n_windows) {
            double x = window_value(rd, r.b, tpot, k);
            if (!(x > slo->target))
                break;
            if (x > window_value(rd, r.peak, tpot, k))
                r.peak = r.b;
            r.b++;
        }
        n_windows_over += r.b - r.a;
        runs[n_runs++] = r;
        i = r.b;
    }
    if (n_runs == 0) {
        free(runs);
        return;
    }
    qsort(runs, n_runs, sizeof *runs, brun_by_length);
    size_t shown = n_runs < FIND_MAX_BREACHES ? n_runs : FIND_MAX_BREACHES;
    qsort(runs, shown, sizeof *runs, brun_by_start);
    double median = median_rate(rd);
    char qname[48], target[32], dur[48], a[32], b[32], peak[32], pt[32];
    snprintf(qname, sizeof qname, "p%g %s", slo->quantile * 100.0, tpot ? "TPOT" : "TTFT");
    fmt_latency(target, sizeof target, slo->target);
    for (size_t i = 0; i < shown; i++) {
        double t0 = rd->win[runs[i].a].t_s, t1 = rd->win[runs[i].b - 1].t_s + rd->window_s;
        if (t1 > rd->sim_end_s)
            t1 = rd->sim_end_s;
        struct finding *f = add(o, FIND_SLO_BREACH, true, t0, t1);
        if (!f)
            break;
        fmt_duration(dur, sizeof dur, t1 - t0);
        fmt_clock(a, sizeof a, t0);
        fmt_clock(b, sizeof b, t1);
        fmt_latency(peak, sizeof peak, window_value(rd, runs[i].peak, tpot, k));
        fmt_clock(pt, sizeof pt, rd->win[runs[i].peak].t_s);
        append(f, "%s above its %s SLO for %s, from %s to %s (peak %s in the window at %s)", qname,
               target, dur, a, b, peak, pt);
        describe_context(rd, f, t0, t1, median);
    }
    if (n_runs > shown) {
        struct finding *f = add(o, FIND_SLO_BREACH, true, NAN, NAN);
        if (f) {
            fmt_duration(dur, sizeof dur, (double)n_windows_over * rd->window_s);
            append(f, "%s was also above its SLO in %zu shorter interval%s (%s above it in all)",
                   qname, n_runs - shown, n_runs - shown == 1 ? "" : "s", dur);
        }
    }
    free(runs);
}

/* ---- request outcomes --------------------------------------------------------------------- */

static void detect_timeouts(const struct run_data *rd, struct out *o)
{
    double n = run_data_get(rd, "requests_timeout");
    if (!(n > 0))
        return;
    /* The stretch of consecutive windows with the most timeouts. */
    size_t best_a = 0, best_b = 0;
    uint64_t best = 0;
    for (size_t i = 0; i < rd->n_windows;) {
        if (rd->win[i].n_timeout == 0) {
            i++;
            continue;
        }
        size_t j = i;
        uint64_t sum = 0;
        while (j < rd->n_windows && rd->win[j].n_timeout > 0)
            sum += rd->win[j++].n_timeout;
        if (sum > best) {
            best = sum;
            best_a = i;
            best_b = j;
        }
        i = j;
    }
    double t0 = best ? rd->win[best_a].t_s : NAN;
    double t1 = best ? rd->win[best_b - 1].t_s + rd->window_s : NAN;
    struct finding *f = add(o, FIND_TIMEOUT, true, t0, t1);
    if (!f)
        return;
    append(f,
           "%.0f request%s timed out at the gateway (queued longer than router.queue_timeout "
           "with no replica to take %s)",
           n, plural(n), n == 1 ? "it" : "them");
    if (best) {
        char a[32], b[32];
        fmt_clock(a, sizeof a, t0);
        fmt_clock(b, sizeof b, t1);
        if (row_scale(rd) == 1.0)
            append(f, "; %llu of them arrived between %s and %s", (unsigned long long)best, a, b);
        else
            append(f, "; most of the recorded ones arrived between %s and %s", a, b);
        if (rd->n_pods > 0) {
            double ready = rd_step_at(&rd->ready, t0);
            double starting = rd_step_max(&rd->starting, t0, t1);
            append(f, ", when %.0f replica%s %s ready and %.0f starting", ready, plural(ready),
                   ready == 1 ? "was" : "were", starting);
        }
    }
}

static void detect_outcomes(const struct run_data *rd, struct out *o)
{
    double total = run_data_get(rd, "requests_total");
    double rej = run_data_get(rd, "requests_rejected");
    if (rej > 0) {
        struct finding *f = add(o, FIND_REJECTED, true, NAN, NAN);
        if (f) {
            append(f,
                   "%.0f request%s (%.2f%%) %s rejected: prompt + output tokens above "
                   "max_model_len",
                   rej, plural(rej), total > 0 ? 100.0 * rej / total : 0.0,
                   rej == 1 ? "was" : "were");
            double len = run_data_get(rd, "max_model_len_tokens");
            if (!isnan(len))
                append(f, " (%.0f tokens)", len);
            append(f, ", which vLLM's server answers with HTTP 400");
        }
    }
    double failed = run_data_get(rd, "requests_failed");
    if (failed > 0) {
        struct finding *f = add(o, FIND_FAILED, true, NAN, NAN);
        if (f)
            append(f,
                   "%.0f request%s failed after the client's retries: aborted by vLLM "
                   "at SIGTERM or SIGKILL (%.0f), answered 5xx by a pod shutting down "
                   "(%.0f), or given up by the client after router.client_timeout (%.0f); "
                   "see engine.termination (pre_stop, shutdown_timeout) and router.retry",
                   failed, plural(failed), run_data_get(rd, "requests_aborted"),
                   run_data_get(rd, "requests_5xx"),
                   zero_if_nan(run_data_get(rd, "requests_client_timeout")));
    }
    double unf = run_data_get(rd, "requests_unfinished");
    if (unf > 0) {
        struct finding *f = add(o, FIND_UNFINISHED, true, NAN, NAN);
        if (f)
            append(f,
                   "%.0f request%s %s still in flight when the run ended (drain_timeout "
                   "after the last arrival)",
                   unf, plural(unf), unf == 1 ? "was" : "were");
    }
}

/* ---- preemptions -------------------------------------------------------------------------- */

struct pburst {
    size_t a, b; /* windows [a, b) */
    uint64_t sum;
};

static void detect_preemptions(const struct run_data *rd, struct out *o)
{
    double total = run_data_get(rd, "preemptions_total");
    double reqs = run_data_get(rd, "requests_total");
    if (!(total > 0))
        return;
    uint64_t rows = 0;
    size_t active = 0;
    for (size_t i = 0; i < rd->n_windows; i++) {
        rows += rd->win[i].preemptions;
        active += rd->win[i].n_arrived > 0;
    }
    double mean = active ? (double)rows / (double)active : 0.0;
    double bar = fmax(10.0, 4.0 * mean);
    struct pburst top[2] = {{0, 0, 0}, {0, 0, 0}};
    for (size_t i = 0; i < rd->n_windows;) {
        if ((double)rd->win[i].preemptions < bar) {
            i++;
            continue;
        }
        size_t j = i;
        uint64_t sum = 0;
        while (j < rd->n_windows && (double)rd->win[j].preemptions >= bar)
            sum += rd->win[j++].preemptions;
        if (sum > top[0].sum) {
            top[1] = top[0];
            top[0].a = i, top[0].b = j, top[0].sum = sum;
        } else if (sum > top[1].sum) {
            top[1].a = i, top[1].b = j, top[1].sum = sum;
        }
        i = j;
    }
    bool warn = reqs > 0 && total / reqs > 0.01;
    if (top[0].sum == 0) {
        struct finding *f = add(o, FIND_PREEMPTION, warn, NAN, NAN);
        if (f)
            append(f,
                   "%.0f preemption%s in all (%.1f per 1000 requests), spread over the run "
                   "with no burst",
                   total, plural(total), reqs > 0 ? 1000.0 * total / reqs : 0.0);
        return;
    }
    if (top[1].sum && top[1].a < top[0].a) {
        struct pburst x = top[0];
        top[0] = top[1];
        top[1] = x;
    }
    for (int k = 0; k < 2 && top[k].sum; k++) {
        double t0 = rd->win[top[k].a].t_s, t1 = rd->win[top[k].b - 1].t_s + rd->window_s;
        struct finding *f = add(o, FIND_PREEMPTION, true, t0, t1);
        if (!f)
            return;
        char a[32], b[32];
        fmt_clock(a, sizeof a, t0);
        fmt_clock(b, sizeof b, t1);
        append(f,
               "preemption burst: %llu preemption%s (running requests sent back to the queue "
               "when the KV cache ran out) among %srequests that arrived between %s and %s",
               (unsigned long long)top[k].sum, top[k].sum == 1 ? "" : "s",
               row_scale(rd) == 1.0 ? "" : "the recorded ", a, b);
        double kv = rd_sample_max(&rd->kv_max, t0, t1 + rd->window_s);
        if (!isnan(kv))
            append(f, "; KV cache up to %.0f%% full", kv * 100.0);
        append(f, " (%.0f in the whole run)", total);
    }
}

/* ---- fleet and cost ----------------------------------------------------------------------- */

static void detect_spot(const struct run_data *rd, struct out *o)
{
    size_t n = rd->spot_interruptions.n;
    if (n == 0)
        return;
    struct finding *f = add(o, FIND_SPOT, false, rd->spot_interruptions.p[0].t_s,
                            rd->spot_interruptions.p[n - 1].t_s);
    if (!f)
        return;
    /* node ends are in node order; tell them in time order */
    double t[8];
    size_t k = n < 8 ? n : 8;
    double *all = malloc(n * sizeof *all);
    if (!all)
        return;
    for (size_t i = 0; i < n; i++)
        all[i] = rd->spot_interruptions.p[i].t_s;
    qsort(all, n, sizeof *all, cmp_double);
    memcpy(t, all, k * sizeof *t);
    free(all);
    f->t0_s = t[0];
    append(f, "%zu spot interruption%s reclaimed node%s at ", n, n == 1 ? "" : "s",
           n == 1 ? "" : "s");
    for (size_t i = 0; i < k; i++) {
        char c[32];
        fmt_clock(c, sizeof c, t[i]);
        append(f, "%s%s", i == 0 ? "" : (i + 1 == k && k == n ? " and " : ", "), c);
    }
    if (n > k)
        append(f, " and %zu more", n - k);
    /* where: the zones of the reclaimed nodes (groups are in zone order), named where the
     * run names them */
    const char *sep = "; by zone: ";
    for (size_t i = 0; i < rd->n_node_groups; i++) {
        const struct rd_node_group *g = &rd->node_groups[i];
        size_t in_zone = g->spot_interruptions;
        while (i + 1 < rd->n_node_groups && !strcmp(rd->node_groups[i + 1].zone, g->zone))
            in_zone += rd->node_groups[++i].spot_interruptions;
        if (in_zone == 0)
            continue;
        char z[160];
        zone_display(&rd->zones, g->zone, z, sizeof z);
        append(f, "%s%zu in %s", sep, in_zone, z);
        sep = ", ";
    }
}

static void detect_startup(const struct run_data *rd, struct out *o)
{
    if (rd->n_started == 0)
        return;
    struct finding *f = add(o, FIND_STARTUP, false, NAN, NAN);
    if (!f)
        return;
    char med[48], mx[48];
    fmt_duration(med, sizeof med, rd->startup_median_s[0]);
    fmt_duration(mx, sizeof mx, rd->startup_max_s);
    append(f,
           "%zu replica%s started during the run; from creation to Ready they took %s "
           "(median, longest %s)",
           rd->n_started, rd->n_started == 1 ? "" : "s", med, mx);
    static const char *const phase[5] = {NULL, "waiting for a node", "image pull", "weight load",
                                         "engine init"};
    bool first = true;
    for (int i = 1; i < 5; i++) {
        if (isnan(rd->startup_median_s[i]))
            continue;
        char d[48];
        fmt_duration(d, sizeof d, rd->startup_median_s[i]);
        append(f, "%s%s %s", first ? ": " : ", ", phase[i], d);
        first = false;
    }
}

static void detect_cost(const struct run_data *rd, struct out *o)
{
    double cost = run_data_get(rd, "cost_usd");
    if (!(cost > 0))
        return;
    double idle = run_data_get(rd, "cost_idle_usd"), loading = run_data_get(rd, "cost_loading_usd");
    if (idle / cost >= 0.4) {
        struct finding *f = add(o, FIND_IDLE, true, NAN, NAN);
        if (f)
            append(f,
                   "idle GPU time is %.1f%% of the bill ($%.2f of $%.2f): billed GPUs with "
                   "no work (replicas waiting for requests, GPUs with no pod, nodes booting)",
                   100.0 * idle / cost, idle, cost);
    }
    if (loading / cost >= 0.15) {
        struct finding *f = add(o, FIND_LOADING, true, NAN, NAN);
        if (f)
            append(f,
                   "pods starting are %.1f%% of the bill ($%.2f): image pull, weight load and "
                   "engine init are billed GPU time",
                   100.0 * loading / cost, loading);
    }
}

/* An autoscaler that never became active while an SLO failed: the fleet stayed at its
 * minimum, which a trigger query matching no series (wrong labels) causes silently. */
static void detect_autoscaler(const struct run_data *rd, struct out *o)
{
    double evals = run_data_get(rd, "autoscaler_evaluations");
    double active = run_data_get(rd, "autoscaler_active_evaluations");
    double empty = run_data_get(rd, "autoscaler_empty_query_evaluations");
    if (!(evals > 0) || active != 0)
        return;
    const struct rd_slo *failed = NULL;
    for (size_t i = 0; i < rd->n_slo && !failed; i++)
        if (!rd->slo[i].pass)
            failed = &rd->slo[i];
    if (!failed)
        return;
    struct finding *f = add(o, FIND_AUTOSCALER_INACTIVE, true, NAN, NAN);
    if (!f)
        return;
    append(f, "the autoscaler was never active in %.0f evaluation%s while SLO %s failed: the fleet "
              "never scaled on demand (peak %.0f ready replica%s)",
           evals, plural(evals), failed->slo, run_data_get(rd, "replicas_peak_ready"),
           plural(run_data_get(rd, "replicas_peak_ready")));
    if (empty > 0)
        append(f, "; in %.0f of them a trigger query matched no series: check its label "
                  "matchers against the labels the deployment exports (scaling_events.reason "
                  "names the query)",
               empty);
}

/* A deployment of several that missed an SLO: its verdict in numbers (the run's windows
 * mix every deployment's requests, so they cannot place its breach in time; the report's
 * section of the deployment does, from its own rows: run_data_load_series). */
static void detect_deployment_slos(const struct run_data *rd, struct out *o)
{
    for (size_t i = 0; i < rd->n_slo; i++) {
        const struct rd_slo *x = &rd->slo[i];
        if (!x->deployment || x->pass)
            continue;
        struct finding *f = add(o, FIND_SLO_BREACH, true, NAN, NAN);
        if (!f)
            return;
        char ac[32], tg[32];
        fmt_slo_value(ac, sizeof ac, x->unit, x->actual, "not measured");
        fmt_slo_value(tg, sizeof tg, x->unit, x->target, "-");
        const char *own = x->slo + strlen(x->deployment) + 1; /* "DEP.slo" */
        append(f, "deployment %s missed its SLO %s: %s against a target of %s", x->deployment,
               own, ac, tg);
        const struct rd_dep *d = NULL;
        for (size_t k = 0; k < rd->n_deps; k++)
            if (rd->deps[k].name == x->deployment)
                d = &rd->deps[k];
        if (d && !strcmp(x->metric, "ttft") && d->ttft_slo_breach_s > 0)
            append(f, "; its TTFT was above the target in %.0f one-minute window%s, the longest "
                      "run %.0f min",
                   d->ttft_slo_breach_s / 60, plural(d->ttft_slo_breach_s / 60),
                   d->ttft_slo_breach_longest_s / 60);
    }
}

size_t findings_detect(const struct run_data *rd, struct finding *out, size_t max)
{
    struct out o = {out, 0, max};
    detect_autoscaler(rd, &o);
    detect_deployment_slos(rd, &o);
    if (rd->has_series)
        for (size_t i = 0; i < rd->n_slo; i++)
            if (!rd->slo[i].deployment)
                detect_breaches(rd, &rd->slo[i], &o);
    detect_timeouts(rd, &o);
    detect_outcomes(rd, &o);
    detect_preemptions(rd, &o);
    detect_spot(rd, &o);
    detect_startup(rd, &o);
    detect_cost(rd, &o);
    return o.n;
}
