/*
 * workload.c: requests one at a time, from a trace (window, time scale, rate scale) or
 * from a synthetic generator (renewal arrivals under a time-varying rate, by time
 * rescaling; token lengths from parametric or empirical distributions).
 */
#include "sim/workload/workload.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_roots.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/core/evq.h"
#include "sim/workload/empirical.h"

/* rate_scale above this would mean a copies buffer the size of a small trace. */
#define WL_RATE_SCALE_MAX 1000.0
#define WL_PI 3.14159265358979323846

/* ---- token lengths ----------------------------------------------------------------- */

struct len_gen {
    enum len_dist dist;
    double value;          /* constant */
    long lo, hi;           /* uniform */
    double mean;           /* exponential */
    double zeta, sigma;    /* lognormal: parameters of the underlying normal */
    struct emp_table *emp; /* empirical (owned unless `shared`) */
    int emp_col;
    bool shared; /* output uses the prompt's table and row (joint draw) */
};

/* Round to nearest and clamp into [1, INT32_MAX] tokens. */
static int32_t len_round(double x)
{
    if (!(x >= 1.0))
        return 1; /* also NaN */
    if (x >= 2147483647.0)
        return INT32_MAX;
    double r = floor(x + 0.5);
    return (int32_t)r;
}

static double len_draw(const struct len_gen *g, struct rng_set *rng, enum rng_stream s)
{
    switch (g->dist) {
    case LEN_CONSTANT:
        return g->value;
    case LEN_UNIFORM:
        return (double)(g->lo + (long)rng_uniform_int(rng, s, (unsigned long)(g->hi - g->lo + 1)));
    case LEN_EXPONENTIAL:
        return rng_exponential(rng, s, g->mean);
    case LEN_LOGNORMAL:
        return rng_lognormal(rng, s, g->zeta, g->sigma);
    case LEN_EMPIRICAL: {
        size_t i = (size_t)rng_uniform_int(rng, s, (unsigned long)emp_table_rows(g->emp));
        return emp_table_value(g->emp, i, g->emp_col);
    }
    }
    SIM_ASSERT(!"unknown length distribution");
    return 0.0;
}

static int len_setup(struct len_gen *g, const struct len_spec *ls, const char *key,
                     struct sim_err *err)
{
    memset(g, 0, sizeof *g);
    g->dist = ls->dist;
    switch (ls->dist) {
    case LEN_CONSTANT:
        if (!(ls->value >= 0.0 && ls->value <= 2147483647.0))
            return sim_err_set(err, SIM_EINVAL,
                               "'%s.value' must be in 0..2147483647 (tokens), got '%.17g'", key,
                               ls->value);
        g->value = ls->value;
        return SIM_OK;
    case LEN_UNIFORM:
        if (!(ls->min >= 0.0 && ls->max <= 2147483647.0 && ls->min <= ls->max) ||
            ls->min != floor(ls->min) || ls->max != floor(ls->max))
            return sim_err_set(err, SIM_EINVAL,
                               "'%s.min' and '%s.max' must be integers with 0 <= min <= max "
                               "<= 2147483647 (tokens), got '%.17g' and '%.17g'",
                               key, key, ls->min, ls->max);
        g->lo = (long)ls->min;
        g->hi = (long)ls->max;
        return SIM_OK;
    case LEN_EXPONENTIAL:
    case LEN_LOGNORMAL:
        if (!(ls->mean > 0.0 && ls->mean <= 2147483647.0))
            return sim_err_set(err, SIM_EINVAL,
                               "'%s.mean' must be > 0 and <= 2147483647 (tokens), got '%.17g'", key,
                               ls->mean);
        g->mean = ls->mean;
        if (ls->dist == LEN_LOGNORMAL) {
            if (!(ls->sigma >= 0.0 && ls->sigma <= 10.0))
                return sim_err_set(err, SIM_EINVAL, "'%s.sigma' must be in 0..10, got '%.17g'", key,
                                   ls->sigma);
            /* E[X] = exp(mu + sigma^2/2) = mean */
            g->sigma = ls->sigma;
            g->zeta = log(ls->mean) - 0.5 * ls->sigma * ls->sigma;
        }
        return SIM_OK;
    case LEN_EMPIRICAL:
        return SIM_OK; /* tables are loaded by the caller, jointly when they can be */
    }
    return sim_err_set(err, SIM_EINVAL, "'%s.dist' is not a known distribution", key);
}

/* ---- the rate profile: lambda(t) and its integral, piece by piece ------------------ */

/*
 * lambda(t) = c_j * g(t) on piece j = [a_j, a_{j+1}), where c_j is the base rate (the last
 * step at or before a_j, else rate_per_s) times the factors of the spikes covering a_j,
 * and g(t) = 1 + A cos(w (t - p)) with the diurnal curve on, else 1.
 * Lambda(t) = Lambda(a_j) + c_j (G(t) - G(a_j)), G(t) = t + (A/w) sin(w (t - p)).
 */
struct piece {
    double a_s;   /* start (seconds) */
    double c;     /* rate factor (req/s) */
    double lam_a; /* Lambda(a_s): expected arrivals before the piece */
};

struct profile {
    struct piece *p;
    size_t n;
    bool diurnal;
    double amp, w, peak_s; /* A, 2 pi / period, p */
    double period_s;
};

static double prof_g(const struct profile *pr, double t)
{
    return pr->diurnal ? 1.0 + pr->amp * cos(pr->w * (t - pr->peak_s)) : 1.0;
}

/* sin(w (a - p)): G(a)'s periodic part, the same for every t a root search tries. */
static double prof_sin(const struct profile *pr, double a)
{
    return pr->diurnal ? sin(pr->w * (a - pr->peak_s)) : 0.0;
}

/* G(t) - G(a) without the cancellation of two large G values; sin_a = prof_sin(pr, a). */
static double prof_dG_s(const struct profile *pr, double a, double sin_a, double t)
{
    if (!pr->diurnal)
        return t - a;
    return (t - a) + pr->amp / pr->w * (sin(pr->w * (t - pr->peak_s)) - sin_a);
}

static double prof_dG(const struct profile *pr, double a, double t)
{
    return prof_dG_s(pr, a, prof_sin(pr, a), t);
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static int prof_build(struct profile *pr, const struct workload_spec *s, struct sim_err *err)
{
    memset(pr, 0, sizeof *pr);
    pr->diurnal = s->diurnal;
    if (s->diurnal) {
        pr->amp = s->diurnal_amplitude_frac;
        pr->period_s = (double)s->diurnal_period_us / 1e6;
        pr->w = 2.0 * WL_PI / pr->period_s;
        pr->peak_s = (double)s->diurnal_peak_at_us / 1e6;
    }
    size_t nb = 1 + s->n_steps + 2 * s->n_spikes;
    double *bp = malloc(nb * sizeof *bp);
    pr->p = calloc(nb, sizeof *pr->p);
    if (!bp || !pr->p) {
        free(bp);
        return sim_err_set(err, SIM_ENOMEM, "out of memory for the rate profile");
    }
    size_t k = 0;
    bp[k++] = 0.0;
    for (size_t i = 0; i < s->n_steps; i++)
        bp[k++] = (double)s->steps[i].at_us / 1e6;
    for (size_t i = 0; i < s->n_spikes; i++) {
        bp[k++] = (double)s->spikes[i].at_us / 1e6;
        bp[k++] = (double)(s->spikes[i].at_us + s->spikes[i].duration_us) / 1e6;
    }
    qsort(bp, k, sizeof *bp, cmp_double);
    double lam = 0.0;
    for (size_t i = 0; i < k; i++) {
        if (pr->n && bp[i] == pr->p[pr->n - 1].a_s)
            continue; /* duplicate breakpoint */
        double a = bp[i];
        int64_t a_us = (int64_t)llround(a * 1e6);
        double c = s->rate_per_s;
        for (size_t j = 0; j < s->n_steps; j++)
            if (s->steps[j].at_us <= a_us)
                c = s->steps[j].rate_per_s; /* sorted by at_us: the last one wins */
        for (size_t j = 0; j < s->n_spikes; j++)
            if (s->spikes[j].at_us <= a_us && a_us < s->spikes[j].at_us + s->spikes[j].duration_us)
                c *= s->spikes[j].factor;
        if (pr->n) {
            struct piece *q = &pr->p[pr->n - 1];
            lam = q->lam_a + q->c * prof_dG(pr, q->a_s, a);
        }
        pr->p[pr->n++] = (struct piece){.a_s = a, .c = c, .lam_a = lam};
    }
    free(bp);
    return SIM_OK;
}

/* ---- shared prefixes and sessions (workload.prefix) ------------------------------- */

/* Identity keys of the shared segments (any distinct 64-bit values will do). */
#define KEY_SYSTEM 0x5359530000000000u
#define KEY_DOCUMENT 0x444f430000000000u
#define KEY_SESSION 0x5345530000000000u
#define KEY_GROUP 0x4752500000000000u

struct pool_gen {
    int32_t n;
    double *cdf;  /* Zipf popularity, cumulative */
    int32_t *len; /* tokens of each */
    double share;
};

/* A session's next turn, waiting for its time. */
struct turn {
    int64_t t_us;
    uint64_t seq; /* order of creation: ties in time go in that order */
    uint64_t session;
    int32_t history; /* tokens of the conversation so far (the next prompt repeats them) */
    int32_t turns_left;
    int32_t sys, doc; /* -1: none */
    int32_t cls;      /* the session's class */
};

static void pool_free(struct pool_gen *g)
{
    free(g->cdf);
    g->cdf = NULL; /* as the memset below, spelled out for clang's analyzer */
    free(g->len);
    g->len = NULL;
    memset(g, 0, sizeof *g);
}

static int pool_open(struct pool_gen *g, const struct prefix_pool_spec *ps, const char *key,
                     struct rng_set *rng, struct sim_err *err)
{
    memset(g, 0, sizeof *g);
    if (ps->count <= 0)
        return SIM_OK;
    struct len_gen lg;
    if (ps->tokens.dist == LEN_EMPIRICAL)
        return sim_err_set(err, SIM_EINVAL,
                           "'%s.tokens' cannot be empirical: give a parametric distribution", key);
    int rc = len_setup(&lg, &ps->tokens, key, err);
    if (rc)
        return rc;
    g->n = ps->count;
    g->share = ps->share_frac;
    g->cdf = malloc((size_t)g->n * sizeof *g->cdf);
    g->len = malloc((size_t)g->n * sizeof *g->len);
    if (!g->cdf || !g->len) {
        pool_free(g);
        return sim_err_set(err, SIM_ENOMEM, "out of memory for '%s'", key);
    }
    double sum = 0;
    for (int32_t i = 0; i < g->n; i++) {
        sum += pow((double)(i + 1), -ps->zipf_s);
        g->cdf[i] = sum;
        g->len[i] = len_round(len_draw(&lg, rng, RNG_PREFIX));
    }
    for (int32_t i = 0; i < g->n; i++)
        g->cdf[i] /= sum;
    return SIM_OK;
}

/* A pick from the pool for one request (or session), -1 for none. */
static int32_t pool_pick(const struct pool_gen *g, struct rng_set *rng)
{
    if (g->n == 0)
        return -1;
    if (g->share < 1.0 && !(rng_uniform(rng, RNG_PREFIX) < g->share))
        return -1;
    double u = rng_uniform(rng, RNG_PREFIX);
    int32_t lo = 0, hi = g->n - 1;
    while (lo < hi) { /* first i with cdf[i] > u */
        int32_t mid = (lo + hi) / 2;
        if (g->cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Expected time (s) at which Lambda reaches n arrivals: inside a piece by the profile,
 * past the last breakpoint at the last piece's mean rate (the diurnal curve averages 1).
 * INFINITY when the rate is 0 from there on. */
static double expected_time_s(const struct profile *pr, double n)
{
    size_t j = 0;
    while (j + 1 < pr->n && pr->p[j + 1].lam_a <= n)
        j++;
    const struct piece *q = &pr->p[j];
    if (!(q->c > 0.0))
        return INFINITY;
    return q->a_s + (n - q->lam_a) / q->c;
}

/* ---- the workload ------------------------------------------------------------------ */

/* A trace row placed on the simulated clock. */
struct placed {
    int32_t model;
    int64_t t_us;
    int32_t prompt, output;
    int32_t cls;
    uint64_t group;
    uint64_t session;
    uint64_t line;
};

struct root_params {
    const struct profile *pr;
    double a, c, target; /* solve c (G(t) - G(a)) = target */
    double sin_a;        /* prof_sin(pr, a) */
};

struct workload {
    enum wl_kind kind;
    struct rng_set *rng;
    int64_t duration_us; /* -1: none */
    uint64_t n_skipped;  /* before the window start (bad rows come from the reader) */
    uint64_t n_zero;
    int failed; /* a sticky error code once one is returned */
    bool done;  /* the end was reported: stays the end */

    /* trace replay */
    struct trace_reader *tr;
    bool skip_bad;
    int64_t win_start_us, win_end_us;
    double time_scale, rate_scale;
    bool eof;         /* no row left inside the window and before the duration */
    int64_t after_us; /* simulated time of the first row cut off (-1: end of file) */
    int64_t limit_us; /* min(scaled window end, duration); INT64_MAX when neither */
    /* rate_scale > 1: one-row lookahead and the extra copies of the current row */
    bool primed, have_next;
    struct placed cur, next;
    uint32_t *hash_cur, *hash_next; /* copies of those rows' hash_ids (reused) */
    uint32_t n_hash_cur, n_hash_next;
    size_t hash_cur_cap, hash_next_cap;
    int64_t *copies; /* times of the current row's extra copies, sorted */
    size_t n_copies, i_copy, copies_cap;

    /* synthetic */
    enum arrival_process process;
    double shape, scale; /* gamma inter-arrival in operational time (mean 1) */
    struct profile prof;
    size_t piece; /* current piece (arrivals only move forward) */
    double S;     /* operational time of the last arrival */
    double t_s;   /* its real time (seconds) */
    int64_t last_us;
    int64_t count, n_made;
    bool closed; /* closed-loop clients: every request due at once (time 0) */
    struct len_gen prompt, output;
    /* workload.classes: cumulative shares, and a class's own lengths */
    int32_t group_tokens; /* workload.trace.prefix_group_tokens */
    int n_classes;
    double cls_cum[CLASS_MAX];
    bool cls_own[CLASS_MAX];
    struct len_gen cls_prompt[CLASS_MAX], cls_output[CLASS_MAX];
    const char *class_names[CLASS_MAX];
    gsl_root_fsolver *solver;
    /* workload.prefix */
    struct pool_gen sys, doc;
    bool sessions;
    struct len_gen turns;
    double think_mean_s;
    int32_t max_context;
    struct turn *heap; /* pending turns, by (t_us, seq) */
    size_t n_heap, cap_heap;
    uint64_t n_sessions, n_turns_made;
    bool have_start, starts_done;
    int64_t start_us; /* the next session start, drawn ahead */
};

uint64_t workload_skipped_rows(const struct workload *w)
{
    return w->n_skipped + (w->tr ? trace_bad_rows(w->tr) : 0);
}

uint64_t workload_zero_token_rows(const struct workload *w)
{
    return w->n_zero;
}

void workload_trace_info(const struct workload *w, uint64_t *other_model_rows,
                         double *time_unit_s, char *note, size_t note_cap)
{
    *other_model_rows = 0;
    *time_unit_s = NAN;
    if (note_cap)
        note[0] = '\0';
    if (!w || !w->tr)
        return;
    *other_model_rows = trace_other_model_rows(w->tr);
    const char *tn = trace_time_note(w->tr);
    static const struct {
        const char *key;
        double unit_s;
    } units[] = {{"s", 1.0}, {"ms", 1e-3}, {"us", 1e-6}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t n = strlen(units[i].key);
        if (!strncmp(tn, units[i].key, n) && (tn[n] == '\0' || tn[n] == ' '))
            *time_unit_s = units[i].unit_s;
    }
    const char *comp = trace_compression(w->tr);
    bool plain = !strcmp(comp, "plain");
    snprintf(note, note_cap, "%s%s%s%s", plain ? "" : comp, !plain && tn[0] ? "; " : "",
             tn[0] ? "time " : "", tn);
}

void workload_close(struct workload *w)
{
    if (!w)
        return;
    trace_close(w->tr);
    free(w->hash_cur);
    free(w->hash_next);
    free(w->copies);
    free(w->prof.p);
    pool_free(&w->sys);
    pool_free(&w->doc);
    free(w->heap);
    if (!w->output.shared)
        emp_table_free(w->output.emp);
    emp_table_free(w->prompt.emp);
    for (int c = 0; c < w->n_classes; c++) {
        if (!w->cls_output[c].shared)
            emp_table_free(w->cls_output[c].emp);
        emp_table_free(w->cls_prompt[c].emp);
    }
    if (w->solver)
        gsl_root_fsolver_free(w->solver);
    free(w);
}

static int check_trace_spec(const struct workload_spec *s, struct sim_err *err)
{
    if (!(s->time_scale > 0.0 && s->time_scale <= 1e6))
        return sim_err_set(err, SIM_EINVAL,
                           "'workload.trace.time_scale' must be > 0 and <= 1e6, got '%.17g'",
                           s->time_scale);
    if (!(s->rate_scale > 0.0 && s->rate_scale <= WL_RATE_SCALE_MAX))
        return sim_err_set(err, SIM_EINVAL,
                           "'workload.trace.rate_scale' must be > 0 and <= 1000, got '%.17g'",
                           s->rate_scale);
    if (s->window_start_us < 0)
        return sim_err_set(err, SIM_EINVAL, "'workload.trace.window.start' must be >= 0");
    if (s->window_end_us != -1 && s->window_end_us <= s->window_start_us)
        return sim_err_set(err, SIM_EINVAL,
                           "'workload.trace.window.end' must be after 'window.start'");
    return SIM_OK;
}

static int check_synth_spec(const struct workload_spec *s, int64_t duration_us, struct sim_err *err)
{
    if (!(s->rate_per_s >= 0.0 && s->rate_per_s <= 1e9))
        return sim_err_set(err, SIM_EINVAL,
                           "'workload.arrivals.rate_per_s' must be in 0..1e9 (req/s), got "
                           "'%.17g'",
                           s->rate_per_s);
    if (s->process == ARR_GAMMA && !(s->cv > 0.0 && s->cv <= 100.0))
        return sim_err_set(err, SIM_EINVAL,
                           "'workload.arrivals.cv' must be > 0 and <= 100, got '%.17g'", s->cv);
    if (s->diurnal) {
        if (!(s->diurnal_amplitude_frac >= 0.0 && s->diurnal_amplitude_frac <= 1.0))
            return sim_err_set(err, SIM_EINVAL,
                               "'workload.rate_profile.diurnal.amplitude_frac' must be in "
                               "0..1, got '%.17g'",
                               s->diurnal_amplitude_frac);
        if (s->diurnal_period_us <= 0)
            return sim_err_set(err, SIM_EINVAL,
                               "'workload.rate_profile.diurnal.period' must be > 0");
    }
    for (size_t i = 0; i < s->n_steps; i++) {
        if (s->steps[i].at_us < 0 || (i && s->steps[i].at_us < s->steps[i - 1].at_us))
            return sim_err_set(err, SIM_EINVAL,
                               "'workload.rate_profile.steps[%zu].at' must be >= 0 and not "
                               "before the previous step",
                               i);
        if (!(s->steps[i].rate_per_s >= 0.0 && s->steps[i].rate_per_s <= 1e9))
            return sim_err_set(err, SIM_EINVAL,
                               "'workload.rate_profile.steps[%zu].rate_per_s' must be in "
                               "0..1e9 (req/s), got '%.17g'",
                               i, s->steps[i].rate_per_s);
    }
    for (size_t i = 0; i < s->n_spikes; i++) {
        if (s->spikes[i].at_us < 0 || s->spikes[i].duration_us <= 0)
            return sim_err_set(err, SIM_EINVAL,
                               "'workload.rate_profile.spikes[%zu]' must have at >= 0 and "
                               "duration > 0",
                               i);
        if (!(s->spikes[i].factor >= 0.0 && s->spikes[i].factor <= 1e6))
            return sim_err_set(err, SIM_EINVAL,
                               "'workload.rate_profile.spikes[%zu].factor' must be in 0..1e6, "
                               "got '%.17g'",
                               i, s->spikes[i].factor);
    }
    if (s->count < 0)
        return sim_err_set(err, SIM_EINVAL, "'workload.count' must be >= 0");
    if (s->count == 0 && duration_us < 0)
        return sim_err_set(err, SIM_EINVAL,
                           "a synthetic workload needs 'workload.count' or a 'duration'");
    return SIM_OK;
}

static int open_pair(struct len_gen *pg, struct len_gen *og, const struct len_spec *ps,
                     const struct len_spec *os, const char *pk, const char *ok,
                     struct sim_err *err)
{
    int rc = len_setup(pg, ps, pk, err);
    if (rc < 0)
        return rc;
    rc = len_setup(og, os, ok, err);
    if (rc < 0)
        return rc;
    bool pe = ps->dist == LEN_EMPIRICAL, oe = os->dist == LEN_EMPIRICAL;
    if (pe && oe && strcmp(ps->path, os->path) == 0) {
        /* One file for both: load both columns and draw one row for both. */
        pg->emp = emp_table_load(ps->path, ps->column, os->column, err);
        if (!pg->emp)
            return err ? err->code : SIM_EINVAL;
        pg->emp_col = 0;
        og->emp = pg->emp;
        og->emp_col = 1;
        og->shared = true;
        return SIM_OK;
    }
    if (pe) {
        pg->emp = emp_table_load(ps->path, ps->column, NULL, err);
        if (!pg->emp)
            return err ? err->code : SIM_EINVAL;
    }
    if (oe) {
        og->emp = emp_table_load(os->path, os->column, NULL, err);
        if (!og->emp)
            return err ? err->code : SIM_EINVAL;
    }
    return SIM_OK;
}

static int open_lengths(struct workload *w, const struct workload_spec *s, struct sim_err *err)
{
    int rc = open_pair(&w->prompt, &w->output, &s->prompt, &s->output,
                       "workload.prompt_tokens", "workload.output_tokens", err);
    for (int c = 0; rc >= 0 && c < w->n_classes; c++) {
        if (!w->cls_own[c])
            continue;
        char pk[96], ok[96];
        snprintf(pk, sizeof pk, "workload.classes.%d.prompt_tokens", c);
        snprintf(ok, sizeof ok, "workload.classes.%d.output_tokens", c);
        rc = open_pair(&w->cls_prompt[c], &w->cls_output[c], &s->classes[c].prompt,
                       &s->classes[c].output, pk, ok, err);
    }
    return rc;
}

struct workload *workload_open(const struct workload_spec *spec, int64_t duration_us,
                               struct rng_set *rng, struct sim_err *err)
{
    return workload_open_routed(spec, duration_us, rng, NULL, 0, err);
}

struct workload *workload_open_routed(const struct workload_spec *spec, int64_t duration_us,
                                      struct rng_set *rng, const char *const *models,
                                      size_t n_models, struct sim_err *err)
{
    struct workload *w = calloc(1, sizeof *w);
    if (!w) {
        sim_err_set(err, SIM_ENOMEM, "out of memory opening the workload");
        return NULL;
    }
    w->kind = spec->kind;
    w->rng = rng;
    w->n_classes = spec->n_classes;
    double cum = 0;
    for (int c = 0; c < spec->n_classes; c++) {
        cum += spec->classes[c].share;
        w->cls_cum[c] = cum;
        w->cls_own[c] = spec->classes[c].own_lengths;
        w->class_names[c] = spec->classes[c].name;
    }
    w->duration_us = duration_us < 0 ? -1 : duration_us;
    w->closed = spec->clients.concurrency > 0;
    if (w->closed) {
        /* The clients decide when each request goes out and stop sending at the duration
         * (sim.c); here the requests only come in order. */
        if (spec->kind == WL_TRACE && (spec->time_scale != 1.0 || spec->rate_scale != 1.0)) {
            sim_err_set(err, SIM_EINVAL,
                        "'workload.trace.time_scale' and 'rate_scale' apply only to a timed "
                        "trace replay, not with 'workload.clients'");
            goto fail;
        }
        if (spec->kind == WL_SYNTHETIC && spec->count == 0 && w->duration_us < 0) {
            sim_err_set(err, SIM_EINVAL,
                        "a synthetic workload needs 'workload.count' or a 'duration'");
            goto fail;
        }
        if (spec->kind == WL_SYNTHETIC && (spec->count < 0 || open_lengths(w, spec, err) < 0))
            goto fail;
        w->count = spec->count;
        w->duration_us = -1;
    }
    if (spec->kind == WL_TRACE) {
        if (check_trace_spec(spec, err) < 0)
            goto fail;
        w->skip_bad = spec->skip_bad_rows;
        w->group_tokens = spec->prefix_group_tokens;
        w->win_start_us = spec->window_start_us;
        w->win_end_us = spec->window_end_us;
        w->time_scale = spec->time_scale;
        w->rate_scale = spec->rate_scale;
        w->after_us = -1;
        w->limit_us = INT64_MAX;
        if (w->win_end_us >= 0) {
            double x = (double)(w->win_end_us - w->win_start_us) * w->time_scale;
            w->limit_us = x < 9.0e18 ? (int64_t)llround(x) : INT64_MAX;
        }
        if (w->duration_us >= 0 && w->duration_us < w->limit_us)
            w->limit_us = w->duration_us;
        if (w->rate_scale > 1.0) {
            w->copies_cap = (size_t)ceil(w->rate_scale);
            w->copies = malloc(w->copies_cap * sizeof *w->copies);
            if (!w->copies) {
                sim_err_set(err, SIM_ENOMEM, "out of memory opening the workload");
                goto fail;
            }
        }
        struct trace_opts to = {.format = spec->format,
                                .columns = &spec->columns,
                                .class_names = w->class_names,
                                .n_class_names = w->n_classes,
                                .time_format = spec->time_format,
                                .model = spec->trace_model,
                                .route_models = models,
                                .n_route_models = n_models};
        w->tr = trace_open_opts(spec->trace_path, &to, err);
        if (!w->tr)
            goto fail;
        return w;
    }
    const struct prefix_spec *px = &spec->prefix;
    if (pool_open(&w->sys, &px->system, "workload.prefix.system_prompts", rng, err) < 0 ||
        pool_open(&w->doc, &px->documents, "workload.prefix.documents", rng, err) < 0)
        goto fail;
    if (w->closed) {
        if (px->sessions.on) {
            sim_err_set(err, SIM_EINVAL,
                        "'workload.prefix.sessions' needs 'arrivals' (sessions start as an "
                        "arrival process), not 'workload.clients'");
            goto fail;
        }
        return w;
    }
    if (check_synth_spec(spec, w->duration_us, err) < 0 || open_lengths(w, spec, err) < 0 ||
        prof_build(&w->prof, spec, err) < 0)
        goto fail;
    w->process = spec->process;
    if (spec->process == ARR_GAMMA) {
        w->shape = 1.0 / (spec->cv * spec->cv); /* CV of a gamma = 1 / sqrt(shape) */
        w->scale = spec->cv * spec->cv;         /* mean shape * scale = 1 */
    }
    w->count = spec->count;
    if (spec->count > 0 && w->duration_us < 0) {
        /* Without a duration the run lasts until the count is made: refuse a rate so low
         * that it would take longer than the clock holds (it would run for ages, or
         * silently make nothing once the next arrival falls off the clock). */
        double t = expected_time_s(&w->prof, (double)spec->count);
        if (!(t <= (double)SIM_CLOCK_MAX_US * 1e-6)) {
            char took[48] = "would never make";
            if (isfinite(t))
                snprintf(took, sizeof took, "would take about %.3g s to make", t);
            sim_err_set(err, SIM_EINVAL,
                        "'workload.arrivals.rate_per_s' (%.6g req/s) %s 'workload.count' "
                        "(%lld requests), past the simulated clock's range "
                        "(" SIM_CLOCK_MAX_TEXT "); raise the rate, lower the count or set a "
                        "'duration'",
                        spec->rate_per_s, took, (long long)spec->count);
            goto fail;
        }
    }
    if (px->sessions.on) {
        if (px->sessions.turns.dist == LEN_EMPIRICAL) {
            sim_err_set(err, SIM_EINVAL,
                        "'workload.prefix.sessions.turns' cannot be empirical: give a "
                        "parametric distribution");
            goto fail;
        }
        if (len_setup(&w->turns, &px->sessions.turns, "workload.prefix.sessions.turns", err) < 0)
            goto fail;
        w->sessions = true;
        w->think_mean_s = (double)px->sessions.think_time_us * 1e-6;
        w->max_context = px->sessions.max_context_tokens;
    }
    if (w->prof.diurnal) {
        w->solver = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
        if (!w->solver) {
            sim_err_set(err, SIM_ENOMEM, "out of memory opening the workload");
            goto fail;
        }
    }
    return w;
fail:
    workload_close(w);
    return NULL;
}

/* ---- trace replay ------------------------------------------------------------------ */

/* The next row inside the window and before the duration, on the simulated clock, its
 * hash_ids borrowed from the reader. 0 at the end: w->after_us then holds the simulated
 * time of the row that was cut off (-1 at the end of the file). */
static int pull(struct workload *w, struct placed *p, struct trace_row *row, struct sim_err *err)
{
    if (w->eof)
        return 0;
    for (;;) {
        int rc = trace_next(w->tr, row, w->skip_bad, err);
        if (rc <= 0) {
            w->eof = rc == 0;
            return rc;
        }
        if (row->t_us < w->win_start_us) {
            w->n_skipped++;
            continue;
        }
        int64_t t = row->t_us - w->win_start_us;
        bool cut = w->win_end_us >= 0 && row->t_us >= w->win_end_us;
        if (w->time_scale != 1.0) {
            double x = (double)t * w->time_scale;
            t = x < 9.0e18 ? (int64_t)llround(x) : INT64_MAX;
        }
        if (cut || (w->duration_us >= 0 && t >= w->duration_us)) {
            w->eof = true;
            w->after_us = t;
            return 0;
        }
        p->t_us = t;
        p->prompt = row->prompt_tokens;
        p->output = row->output_tokens;
        p->session = row->session_id;
        p->cls = row->cls;
        p->group = row->group;
        p->line = row->line;
        p->model = row->model;
        if (p->prompt == 0 || p->output == 0)
            w->n_zero++;
        return 1;
    }
}

static void emit(const struct workload *w, struct wl_request *out, const struct placed *p,
                 int64_t t_us, const uint32_t *hash, uint32_t n_hash)
{
    out->arrival_us = t_us;
    out->prompt_tokens = p->prompt > 0 ? p->prompt : 1;
    out->output_tokens = p->output > 0 ? p->output : 1;
    out->hash_ids = n_hash ? hash : NULL;
    out->n_hash_ids = n_hash;
    out->session_id = p->session;
    out->cls = p->cls;
    out->group = p->group;
    /* A trace's session: its requests are one conversation, each prompt repeating the
     * previous prompt and answer (the prefix cache's open segment). */
    memset(&out->prefix, 0, sizeof out->prefix);
    struct kv_prefix *px = &out->prefix;
    if (p->group && w->group_tokens > 0 && !n_hash) {
        /* a prefix group's requests share its first prefix_group_tokens tokens (a system
         * prompt or an application's template) */
        px->key[px->n] = KEY_GROUP ^ p->group;
        px->len_tokens[px->n++] = w->group_tokens < out->prompt_tokens ? w->group_tokens
                                                                       : out->prompt_tokens;
    }
    if (p->session && !n_hash) {
        px->key[px->n] = KEY_SESSION ^ p->session;
        px->len_tokens[px->n++] = 0;
        px->open = true;
    }
    out->source_line = p->line;
    out->model = p->model;
}

static int keep_hash(uint32_t **buf, size_t *cap, const struct trace_row *row)
{
    if (row->n_hash_ids > *cap) {
        size_t c = *cap ? *cap : 64;
        while (c < row->n_hash_ids)
            c *= 2;
        uint32_t *p = sim_reallocarray(*buf, c, sizeof *p);
        if (!p)
            return SIM_ENOMEM;
        *buf = p;
        *cap = c;
    }
    if (row->n_hash_ids)
        memcpy(*buf, row->hash_ids, row->n_hash_ids * sizeof **buf);
    return SIM_OK;
}

/* rate_scale > 1: move `next` to `cur`, read the row after it, and place cur's copies. */
static int advance_replicating(struct workload *w, struct sim_err *err)
{
    /* swap the hash buffers: cur takes next's */
    uint32_t *hb = w->hash_cur;
    size_t hc = w->hash_cur_cap;
    w->hash_cur = w->hash_next;
    w->hash_cur_cap = w->hash_next_cap;
    w->n_hash_cur = w->n_hash_next;
    w->hash_next = hb;
    w->hash_next_cap = hc;
    w->cur = w->next;

    struct trace_row row;
    int rc = pull(w, &w->next, &row, err);
    if (rc < 0)
        return rc;
    w->have_next = rc == 1;
    if (w->have_next) {
        if (keep_hash(&w->hash_next, &w->hash_next_cap, &row) < 0)
            return sim_err_set(err, SIM_ENOMEM, "out of memory for hash_ids");
        w->n_hash_next = row.n_hash_ids;
    }

    /* floor(k) copies in all, plus one with probability frac(k); the first at cur's time,
     * the others uniform in [cur, next) so that they do not arrive as a burst. */
    double k = w->rate_scale, whole = floor(k), frac = k - whole;
    size_t n = (size_t)whole;
    if (frac > 0.0 && rng_uniform(w->rng, RNG_TRACE_SCALE) < frac)
        n++;
    int64_t lo = w->cur.t_us;
    int64_t hi = w->have_next ? w->next.t_us : w->after_us;
    if (hi > w->limit_us)
        hi = w->limit_us; /* never past the window's end or the duration */
    if (hi < lo)
        hi = lo; /* end of the file: the copies stay at cur's time */
    w->n_copies = n - 1;
    w->i_copy = 0;
    for (size_t i = 0; i < w->n_copies; i++) {
        double u = rng_uniform(w->rng, RNG_TRACE_SCALE);
        int64_t t = lo + (int64_t)floor(u * (double)(hi - lo));
        if (t >= hi && hi > lo)
            t = hi - 1;
        /* insertion sort: n <= 1000 */
        size_t j = i;
        while (j > 0 && w->copies[j - 1] > t) {
            w->copies[j] = w->copies[j - 1];
            j--;
        }
        w->copies[j] = t;
    }
    return SIM_OK;
}

static int next_trace(struct workload *w, struct wl_request *out, struct sim_err *err)
{
    if (w->rate_scale > 1.0) {
        if (w->i_copy < w->n_copies) {
            emit(w, out, &w->cur, w->copies[w->i_copy++], w->hash_cur, w->n_hash_cur);
            return 1;
        }
        if (!w->primed) {
            /* first call: read the first row into the lookahead */
            w->primed = true;
            struct trace_row row;
            int rc = pull(w, &w->next, &row, err);
            if (rc < 0)
                return rc;
            w->have_next = rc == 1;
            if (w->have_next) {
                if (keep_hash(&w->hash_next, &w->hash_next_cap, &row) < 0)
                    return sim_err_set(err, SIM_ENOMEM, "out of memory for hash_ids");
                w->n_hash_next = row.n_hash_ids;
            }
        }
        if (!w->have_next)
            return 0;
        int rc = advance_replicating(w, err);
        if (rc < 0)
            return rc;
        emit(w, out, &w->cur, w->cur.t_us, w->hash_cur, w->n_hash_cur);
        return 1;
    }
    for (;;) {
        struct placed p;
        struct trace_row row;
        int rc = pull(w, &p, &row, err);
        if (rc <= 0)
            return rc;
        if (w->rate_scale < 1.0 && !(rng_uniform(w->rng, RNG_TRACE_SCALE) < w->rate_scale))
            continue; /* thinned */
        emit(w, out, &p, p.t_us, row.hash_ids, row.n_hash_ids);
        return 1;
    }
}

/* ---- synthetic --------------------------------------------------------------------- */

static double root_fn(double t, void *params)
{
    const struct root_params *rp = params;
    return rp->c * prof_dG_s(rp->pr, rp->a, rp->sin_a, t) - rp->target;
}

/*
 * Real time t >= t_from at which Lambda(t) reaches S (Lambda(t_from) <= S), or -1 when
 * the rate is 0 from some piece on and S is never reached.
 */
static double invert_lambda(struct workload *w, double S, double t_from)
{
    const struct profile *pr = &w->prof;
    while (w->piece + 1 < pr->n && pr->p[w->piece + 1].lam_a <= S)
        w->piece++;
    const struct piece *q = &pr->p[w->piece];
    double end = w->piece + 1 < pr->n ? pr->p[w->piece + 1].a_s : INFINITY;
    if (q->c <= 0.0)
        return -1.0;            /* only the last piece can be empty here */
    double need = S - q->lam_a; /* c (G(t) - G(a)) must reach this */
    if (!pr->diurnal) {
        double t = q->a_s + need / q->c;
        return t < end ? t : end;
    }
    /* Bracket the root: from the previous arrival (or the piece start), step ahead by the
     * local rate's estimate and double until Lambda passes S. Over any whole period G
     * grows by exactly one period, so lo + (floor(rest / (c P)) + 1) P always brackets. */
    double lo = t_from > q->a_s ? t_from : q->a_s;
    struct root_params rp = {.pr = pr, .a = q->a_s, .c = q->c, .target = need,
                             .sin_a = prof_sin(pr, q->a_s)};
    double f_lo = root_fn(lo, &rp);
    if (f_lo >= 0.0)
        return lo;
    double rest = -f_lo;
    double cap = lo + (floor(rest / (q->c * pr->period_s)) + 1.0) * pr->period_s;
    if (cap > end)
        cap = end;
    double g = prof_g(pr, lo);
    double step = rest / (q->c * (g > 0.05 ? g : 0.05));
    double hi = lo + step;
    double f_hi;
    for (;;) {
        if (hi >= cap) {
            hi = cap;
            f_hi = root_fn(hi, &rp);
            break;
        }
        f_hi = root_fn(hi, &rp);
        if (f_hi >= 0.0)
            break;
        lo = hi;
        step *= 2.0;
        hi = lo + step;
    }
    if (f_hi <= 0.0)
        return hi; /* exactly at hi, or at the piece end (rounding) */
    gsl_function F = {.function = root_fn, .params = &rp};
    if (gsl_root_fsolver_set(w->solver, &F, lo, hi) != GSL_SUCCESS)
        return hi;
    double x = hi;
    for (int it = 0; it < 100; it++) {
        if (gsl_root_fsolver_iterate(w->solver) != GSL_SUCCESS)
            break;
        x = gsl_root_fsolver_root(w->solver);
        double xl = gsl_root_fsolver_x_lower(w->solver), xh = gsl_root_fsolver_x_upper(w->solver);
        /* 1 ns in absolute terms, or 1e-15 relative for far-out times */
        if (gsl_root_test_interval(xl, xh, 1e-9, 1e-15) == GSL_SUCCESS)
            break;
    }
    return x;
}

/* The next arrival of the renewal process (a request, or a session's first turn), or 0
 * when there is none before the end. */
static int next_arrival_us(struct workload *w, int64_t *t_out)
{
    double x;
    switch (w->process) {
    case ARR_POISSON:
        x = rng_exponential(w->rng, RNG_ARRIVALS, 1.0);
        break;
    case ARR_GAMMA:
        x = rng_gamma(w->rng, RNG_ARRIVALS, w->shape, w->scale);
        break;
    default:
        x = 1.0;
        break;
    }
    double S = w->S + x;
    double t = invert_lambda(w, S, w->t_s);
    if (t < 0.0)
        return 0; /* the rate stays 0 from here on */
    if (!(t * 1e6 < 9.0e18))
        return 0;
    int64_t t_us = (int64_t)llround(t * 1e6);
    if (t_us < w->last_us)
        t_us = w->last_us; /* rounding must not reorder arrivals */
    if (w->duration_us >= 0 && t_us >= w->duration_us)
        return 0;
    w->S = S;
    w->t_s = t;
    w->last_us = t_us;
    *t_out = t_us;
    return 1;
}

/* A request's class by the shares (one draw from RNG_CLASS; none without classes). */
static int32_t pick_class(struct workload *w)
{
    if (w->n_classes <= 1)
        return 0;
    double u = rng_uniform(w->rng, RNG_CLASS);
    for (int32_t c = 0; c < w->n_classes - 1; c++)
        if (u < w->cls_cum[c])
            return c;
    return w->n_classes - 1;
}

/* Lengths for a request of class `cls` (its own distributions, or the workload's). */
static void draw_lengths(struct workload *w, int32_t cls, int32_t *prompt, int32_t *output)
{
    const struct len_gen *pg = &w->prompt, *og = &w->output;
    if (cls >= 0 && cls < w->n_classes && w->cls_own[cls]) {
        pg = &w->cls_prompt[cls];
        og = &w->cls_output[cls];
    }
    if (og->shared) {
        /* one row for both, so the pair's correlation is kept */
        size_t n = emp_table_rows(pg->emp);
        size_t i = (size_t)rng_uniform_int(w->rng, RNG_PROMPT_TOKENS, (unsigned long)n);
        *prompt = len_round(emp_table_value(pg->emp, i, 0));
        *output = len_round(emp_table_value(pg->emp, i, 1));
    } else {
        *prompt = len_round(len_draw(pg, w->rng, RNG_PROMPT_TOKENS));
        *output = len_round(len_draw(og, w->rng, RNG_OUTPUT_TOKENS));
    }
}

/* The prefix group of a synthetic request with system prompt `sys` (-1: none). */
static uint64_t system_group(int32_t sys)
{
    if (sys < 0)
        return 0;
    char name[40];
    int n = snprintf(name, sizeof name, "system_prompt:%d", sys + 1);
    return workload_group_key(name, (size_t)n);
}

static int32_t add_tokens(int32_t a, int32_t b)
{
    return (int64_t)a + b > INT32_MAX ? INT32_MAX : a + b;
}

/* The prompt of a request with system prompt `sys` and document `doc` (-1: none) after
 * `body` more tokens, and its shared segments; `session` != 0 makes the part after them
 * the session's open history. */
static void shape_request(const struct workload *w, struct wl_request *out, int32_t sys,
                          int32_t doc, uint64_t session, int32_t body)
{
    struct kv_prefix *px = &out->prefix;
    memset(px, 0, sizeof *px);
    int32_t prompt = 0;
    if (sys >= 0) {
        px->key[px->n] = KEY_SYSTEM | (uint64_t)sys;
        px->len_tokens[px->n++] = w->sys.len[sys];
        prompt = add_tokens(prompt, w->sys.len[sys]);
    }
    if (doc >= 0) {
        px->key[px->n] = KEY_DOCUMENT | (uint64_t)doc;
        px->len_tokens[px->n++] = w->doc.len[doc];
        prompt = add_tokens(prompt, w->doc.len[doc]);
    }
    if (session) {
        px->key[px->n] = KEY_SESSION | session;
        px->len_tokens[px->n++] = 0;
        px->open = true;
    }
    out->prompt_tokens = add_tokens(prompt, body);
}

static bool turn_before(const struct turn *a, const struct turn *b)
{
    return a->t_us < b->t_us || (a->t_us == b->t_us && a->seq < b->seq);
}

static int heap_push(struct workload *w, const struct turn *t)
{
    if (w->n_heap == w->cap_heap) {
        size_t cap = w->cap_heap ? 2 * w->cap_heap : 256;
        struct turn *h = sim_reallocarray(w->heap, cap, sizeof *h);
        if (!h)
            return SIM_ENOMEM;
        w->heap = h;
        w->cap_heap = cap;
    }
    size_t i = w->n_heap++;
    while (i > 0 && turn_before(t, &w->heap[(i - 1) / 2])) {
        w->heap[i] = w->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->heap[i] = *t;
    return SIM_OK;
}

static struct turn heap_pop(struct workload *w)
{
    struct turn top = w->heap[0], last = w->heap[--w->n_heap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= w->n_heap)
            break;
        if (c + 1 < w->n_heap && turn_before(&w->heap[c + 1], &w->heap[c]))
            c++;
        if (!turn_before(&w->heap[c], &last))
            break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (w->n_heap > 0)
        w->heap[i] = last;
    return top;
}

/* A session turn at t_us: emit it and schedule the next one. */
static int emit_turn(struct workload *w, struct wl_request *out, struct turn *t)
{
    int32_t msg, output;
    draw_lengths(w, t->cls, &msg, &output);
    shape_request(w, out, t->sys, t->doc, t->session, add_tokens(t->history, msg));
    out->arrival_us = t->t_us;
    out->output_tokens = output;
    int32_t history = add_tokens(out->prompt_tokens, output);
    if (t->sys >= 0)
        history -= w->sys.len[t->sys];
    if (t->doc >= 0)
        history -= w->doc.len[t->doc];
    if (--t->turns_left > 0) {
        double gap = rng_exponential(w->rng, RNG_SESSIONS, w->think_mean_s);
        int64_t next = t->t_us + (int64_t)llround(gap * 1e6);
        bool fits = w->max_context <= 0 ||
                    (int64_t)out->prompt_tokens + output < (int64_t)w->max_context;
        if (fits && (w->duration_us < 0 || next < w->duration_us)) {
            t->t_us = next;
            t->history = history;
            t->seq = w->n_turns_made;
            if (heap_push(w, t) != SIM_OK)
                return SIM_ENOMEM;
        }
    }
    w->n_turns_made++;
    return 1;
}

static int next_synthetic(struct workload *w, struct wl_request *out, struct sim_err *err)
{
    if (w->count > 0 && w->n_made >= w->count)
        return 0;
    out->hash_ids = NULL;
    out->n_hash_ids = 0;
    out->session_id = 0;
    out->source_line = 0;
    memset(&out->prefix, 0, sizeof out->prefix);
    if (!w->sessions) {
        int64_t t_us = 0;
        /* closed loop: no arrival process, the clients send it (`count` 0 = until the
         * duration) */
        if (!w->closed && !next_arrival_us(w, &t_us))
            return 0;
        w->n_made++;
        out->arrival_us = t_us;
        int32_t sys = pool_pick(&w->sys, w->rng), doc = pool_pick(&w->doc, w->rng);
        int32_t body;
        out->cls = pick_class(w);
        out->group = system_group(sys);
        draw_lengths(w, out->cls, &body, &out->output_tokens);
        if (sys >= 0 || doc >= 0)
            shape_request(w, out, sys, doc, 0, body);
        else
            out->prompt_tokens = body;
        return 1;
    }
    if (!w->have_start && !w->starts_done) {
        w->have_start = next_arrival_us(w, &w->start_us) == 1;
        w->starts_done = !w->have_start;
    }
    struct turn t;
    if (w->n_heap > 0 && (!w->have_start || w->heap[0].t_us <= w->start_us)) {
        t = heap_pop(w);
    } else if (w->have_start) {
        w->have_start = false;
        t = (struct turn){.t_us = w->start_us,
                          .session = ++w->n_sessions,
                          .sys = pool_pick(&w->sys, w->rng),
                          .doc = pool_pick(&w->doc, w->rng),
                          .turns_left = len_round(len_draw(&w->turns, w->rng, RNG_SESSIONS)),
                          .cls = pick_class(w)};
    } else {
        return 0;
    }
    w->n_made++;
    int rc = emit_turn(w, out, &t);
    if (rc < 0)
        return sim_err_set(err, rc, "out of memory for the sessions' next turns");
    out->session_id = t.session;
    out->cls = t.cls;
    out->group = system_group(t.sys);
    return 1;
}

int workload_next(struct workload *w, struct wl_request *out, struct sim_err *err)
{
    if (w->failed)
        return sim_err_set(err, w->failed, "the workload already failed");
    if (w->done)
        return 0;
    out->model = 0;
    int rc = w->kind == WL_TRACE ? next_trace(w, out, err) : next_synthetic(w, out, err);
    if (rc == 1 && out->cls < 0)
        out->cls = pick_class(w); /* a trace row without a class: by the shares */
    if (rc == 1 && w->closed)
        out->arrival_us = 0; /* a trace's timestamps are ignored: due at once */
    if (rc < 0)
        w->failed = rc;
    if (rc == 0)
        w->done = true;
    return rc;
}
