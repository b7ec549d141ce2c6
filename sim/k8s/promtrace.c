/* promtrace.c: an arrival-rate trace from Prometheus counters (see promtrace.h). */
#include "sim/k8s/promtrace.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/core/rng.h"

/* Check that `in` lies on the success file's grid and covers it. */
static int same_grid(struct promtrace_input in, const struct prom_matrix *s, struct sim_err *err)
{
    const struct prom_matrix *m = in.m;
    if (m->step_us != s->step_us || m->t0_us > s->t0_us || m->t_end_us < s->t_end_us ||
        (s->t0_us - m->t0_us) % s->step_us)
        return sim_err_at(err, SIM_EINVAL, in.path, 0, 0,
                          "expected the same range and step as the success series "
                          "(%.17g s to %.17g s every %.17g s), found %.17g s to %.17g s every "
                          "%.17g s: save every query_range with the same start, end and step",
                          (double)s->t0_us / 1e6, (double)s->t_end_us / 1e6,
                          (double)s->step_us / 1e6, (double)m->t0_us / 1e6,
                          (double)m->t_end_us / 1e6, (double)m->step_us / 1e6);
    return SIM_OK;
}

/*
 * Add the per-step counts of `in` (restricted to the grid starting at t0 with n steps)
 * into acc[0..n): counter increases, or rates times the step.
 */
static int add_counts(struct promtrace_input in, int64_t t0_us, int64_t step_us, size_t n,
                      bool rated, const double *le, double *acc, struct sim_err *err)
{
    double dt = (double)step_us / 1e6;
    for (size_t i = 0; i < in.m->n_series; i++) {
        const struct prom_series *s = &in.m->series[i];
        if (le && !(s->has_le && s->le == *le))
            continue; /* a histogram: only the series of bucket bound *le */
        bool have = false;
        double prev = 0.0;
        int64_t prev_k = 0;
        for (size_t j = 0; j < s->n_pts; j++) {
            const struct prom_point *p = &s->pts[j];
            double v = p->s.value;
            if (!isfinite(v))
                continue;
            if (v < 0)
                return sim_err_at(err, SIM_EINVAL, in.path, 0, 0,
                                  "series %zu at %.17g s: expected a %s >= 0, found %s", i + 1,
                                  (double)p->t_us / 1e6, rated ? "rate" : "counter", p->text);
            int64_t k = (p->t_us - t0_us) / step_us; /* grid index, may be out of range */
            if (rated) {
                if (k >= 1 && (size_t)k <= n)
                    acc[k - 1] += v * dt;
                continue;
            }
            if (have) {
                double inc = v >= prev ? v - prev : v; /* a drop: restarted from 0 */
                int64_t span = k - prev_k;
                for (int64_t q = prev_k + 1; q <= k; q++)
                    if (q >= 1 && (size_t)q <= n)
                        acc[q - 1] += inc / (double)span;
            }
            have = true;
            prev = v;
            prev_k = k;
        }
    }
    return SIM_OK;
}

int promtrace_steps(struct promtrace_input succ, struct promtrace_input prompt,
                    struct promtrace_input gen, const struct promtrace_opts *o,
                    struct prom_step **out, size_t *n_out, struct sim_err *err)
{
    *out = NULL;
    *n_out = 0;
    const struct prom_matrix *s = succ.m;
    int64_t span = s->t_end_us - s->t0_us;
    if (span <= 0)
        return sim_err_at(err, SIM_EINVAL, succ.path, 0, 0,
                          "expected at least two points in time (one step), found one: "
                          "query a range longer than its step");
    if (span / s->step_us > PROMTRACE_MAX_STEPS)
        return sim_err_at(err, SIM_EINVAL, succ.path, 0, 0,
                          "the range holds %" PRId64 " steps, more than %d: use a longer step",
                          span / s->step_us, PROMTRACE_MAX_STEPS);
    if (!prompt.m && !(o->prompt_tokens > 0) && !o->prompt_hist)
        return sim_err_set(err, SIM_EINVAL,
                           "no prompt token series and no fixed prompt length: give "
                           "vllm:prompt_tokens_total, its length histogram or a prompt length");
    if (!gen.m && !(o->output_tokens > 0) && !o->output_hist)
        return sim_err_set(err, SIM_EINVAL,
                           "no generation token series and no fixed output length: give "
                           "vllm:generation_tokens_total, its length histogram or an output "
                           "length");
    int rc = SIM_OK;
    if ((prompt.m && (rc = same_grid(prompt, s, err))) || (gen.m && (rc = same_grid(gen, s, err))))
        return rc;
    size_t n = (size_t)(span / s->step_us);
    double *c = sim_calloc(3 * n, sizeof *c);
    struct prom_step *st = sim_calloc(n, sizeof *st);
    if (!c || !st) {
        free(c);
        free(st);
        return sim_err_set(err, SIM_ENOMEM, "out of memory for %zu steps", n);
    }
    rc = add_counts(succ, s->t0_us, s->step_us, n, o->rated, NULL, c, err);
    if (!rc && prompt.m)
        rc = add_counts(prompt, s->t0_us, s->step_us, n, o->rated, NULL, c + n, err);
    if (!rc && gen.m)
        rc = add_counts(gen, s->t0_us, s->step_us, n, o->rated, NULL, c + 2 * n, err);
    double dt = (double)s->step_us / 1e6;
    for (size_t j = 0; !rc && j < n; j++) {
        struct prom_step *p = &st[j];
        p->t0_us = s->t0_us + (int64_t)j * s->step_us;
        p->t1_us = p->t0_us + s->step_us;
        p->successes = c[j];
        p->prompt_tokens = c[n + j];
        p->output_tokens = c[2 * n + j];
        p->rate_per_s = c[j] / dt;
        if (c[j] > 0) {
            p->mean_prompt = prompt.m ? c[n + j] / c[j] : o->prompt_tokens;
            p->mean_output = gen.m ? c[2 * n + j] / c[j] : o->output_tokens;
        }
    }
    free(c);
    if (rc) {
        free(st);
        return rc;
    }
    *out = st;
    *n_out = n;
    return SIM_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int promtrace_hist_load(struct promtrace_input h, const struct prom_matrix *grid, bool rated,
                        double max_len, struct promtrace_hist *out, struct sim_err *err)
{
    memset(out, 0, sizeof *out);
    const struct prom_matrix *m = h.m;
    for (size_t i = 0; i < m->n_series; i++) {
        const struct prom_series *s = &m->series[i];
        if (!s->has_le)
            return sim_err_at(err, SIM_EINVAL, h.path, 0, 0,
                              "series %zu has no 'le' label: expected a histogram's _bucket "
                              "series (vllm:request_prompt_tokens_bucket, one per pod and "
                              "bucket bound)",
                              i + 1);
        bool seen = false;
        for (size_t b = 0; b < out->n_b && !seen; b++)
            seen = out->le[b] == s->le;
        if (seen)
            continue;
        if (out->n_b == PROMTRACE_MAX_BUCKETS)
            return sim_err_at(err, SIM_EINVAL, h.path, 0, 0,
                              "the histogram has more than %d bucket bounds",
                              PROMTRACE_MAX_BUCKETS);
        out->le[out->n_b++] = s->le;
    }
    qsort(out->le, out->n_b, sizeof out->le[0], cmp_double);
    if (!out->n_b || !isinf(out->le[out->n_b - 1]))
        return sim_err_at(err, SIM_EINVAL, h.path, 0, 0,
                          "expected the +Inf bucket (le=\"+Inf\") among the series, found "
                          "none: query every bucket, not a range of 'le'");
    int rc = same_grid(h, grid, err);
    if (rc)
        return rc;
    size_t n = (size_t)((grid->t_end_us - grid->t0_us) / grid->step_us), nb = out->n_b;
    double *cum = sim_calloc(n * nb, sizeof *cum);
    out->w = sim_calloc(n * nb, sizeof *out->w);
    if (!cum || !out->w) {
        free(cum);
        promtrace_hist_free(out);
        return sim_err_set(err, SIM_ENOMEM, "out of memory for %zu steps x %zu buckets", n, nb);
    }
    out->n_steps = n;
    for (size_t b = 0; !rc && b < nb; b++)
        rc = add_counts(h, grid->t0_us, grid->step_us, n, rated, &out->le[b], cum + b * n, err);
    for (size_t j = 0; !rc && j < n; j++)
        for (size_t b = 0; b < nb; b++) {
            double v = cum[b * n + j] - (b ? cum[(b - 1) * n + j] : 0.0);
            v = v > 0 ? v : 0.0; /* cumulative counts: a lower one above is noise */
            out->w[j * nb + b] = v;
            out->all[b] += v;
            out->total += v;
        }
    free(cum);
    if (!rc && !(out->total > 0))
        rc = sim_err_at(err, SIM_EINVAL, h.path, 0, 0,
                        "the histogram counts no request in the range");
    if (rc) {
        promtrace_hist_free(out);
        return rc;
    }
    double top = nb > 1 ? out->le[nb - 2] : 0.0;
    out->inf_hi = max_len > top ? max_len : top;
    return SIM_OK;
}

void promtrace_hist_free(struct promtrace_hist *h)
{
    free(h->w);
    memset(h, 0, sizeof *h);
}

/* A length from bucket weights w[0..n_b) of `h` (total > 0): the bucket by its share,
 * then a whole number uniform in (lo, hi]. */
static int32_t draw_hist(struct rng_set *r, enum rng_stream s, const struct promtrace_hist *h,
                         const double *w, double total)
{
    double u = rng_uniform_pos(r, s) * total, acc = 0.0;
    size_t b = 0;
    for (; b + 1 < h->n_b; b++) {
        acc += w[b];
        if (u <= acc && w[b] > 0)
            break;
    }
    while (b > 0 && !(w[b] > 0)) /* rounding ran past the last bucket with requests */
        b--;
    double lo = b ? floor(h->le[b - 1]) : 0.0;
    double hi = floor(isinf(h->le[b]) ? h->inf_hi : h->le[b]);
    if (lo < 0)
        lo = 0;
    double k = hi > lo ? lo + 1.0 + floor(rng_uniform_pos(r, s) * (hi - lo)) : lo;
    if (k > hi && hi > lo)
        k = hi; /* u == 1 */
    if (!(k >= 1.0))
        k = 1.0;
    return k > PROMTRACE_MAX_TOKENS ? PROMTRACE_MAX_TOKENS : (int32_t)k;
}

/* A length around `mean`: geometric on 1, 2, ... with that mean, or the mean rounded. */
static int32_t draw_len(struct rng_set *r, enum rng_stream s, double mean,
                        enum promtrace_lengths how)
{
    double k;
    if (how == PROMTRACE_LEN_CONST || mean <= 1.0)
        k = round(mean);
    else /* P(K = k) = (1-p)^(k-1) p, p = 1/mean: inverse transform */
        k = ceil(log(rng_uniform_pos(r, s)) / log1p(-1.0 / mean));
    if (!(k >= 1.0))
        k = 1.0;
    return k > PROMTRACE_MAX_TOKENS ? PROMTRACE_MAX_TOKENS : (int32_t)k;
}

/* Step j's length: from its histogram, else its mean, else the range's histogram. */
static int32_t step_len(struct rng_set *r, enum rng_stream s, const struct promtrace_hist *h,
                        size_t j, double mean, enum promtrace_lengths how)
{
    if (h && j < h->n_steps) {
        const double *w = h->w + j * h->n_b;
        double t = 0.0;
        for (size_t b = 0; b < h->n_b; b++)
            t += w[b];
        if (t > 0)
            return draw_hist(r, s, h, w, t);
    }
    if (h && !(mean > 0))
        return draw_hist(r, s, h, h->all, h->total);
    return draw_len(r, s, mean, how);
}

int promtrace_write(const struct prom_step *st, size_t n, uint64_t seed,
                    enum promtrace_lengths lengths, const struct promtrace_hist *ph,
                    const struct promtrace_hist *gh, FILE *out, uint64_t *n_req,
                    struct sim_err *err)
{
    *n_req = 0;
    double expect = 0.0;
    for (size_t j = 0; j < n; j++)
        expect += st[j].successes;
    if (expect > PROMTRACE_MAX_REQUESTS)
        return sim_err_set(err, SIM_EINVAL,
                           "the series give %.0f requests, more than %.0f: query a shorter range",
                           expect, PROMTRACE_MAX_REQUESTS);
    struct rng_set *r = rng_set_new(seed);
    if (!r)
        return sim_err_set(err, SIM_ENOMEM, "out of memory for the random streams");
    fputs("arrival_s,prompt_tokens,output_tokens\n", out);
    int64_t base = n ? st[0].t0_us : 0;
    for (size_t j = 0; j < n; j++) {
        const struct prom_step *p = &st[j];
        if (!(p->rate_per_s > 0))
            continue;
        double dt = (double)(p->t1_us - p->t0_us) / 1e6, gap = 1.0 / p->rate_per_s;
        int64_t off = p->t0_us - base;
        double t = rng_exponential(r, RNG_ARRIVALS, gap);
        while (t < dt) {
            int64_t us = off + (int64_t)floor(t * 1e6);
            int32_t in = step_len(r, RNG_PROMPT_TOKENS, ph, j, p->mean_prompt, lengths);
            int32_t o = step_len(r, RNG_OUTPUT_TOKENS, gh, j, p->mean_output, lengths);
            fprintf(out, "%" PRId64 ".%06" PRId64 ",%" PRId32 ",%" PRId32 "\n", us / 1000000,
                    us % 1000000, in, o);
            ++*n_req;
            t += rng_exponential(r, RNG_ARRIVALS, gap);
        }
    }
    rng_set_free(r);
    if (ferror(out))
        return sim_err_set(err, SIM_EIO, "writing the trace failed");
    return SIM_OK;
}
