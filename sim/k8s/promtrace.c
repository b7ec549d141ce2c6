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
                      bool rated, double *acc, struct sim_err *err)
{
    double dt = (double)step_us / 1e6;
    for (size_t i = 0; i < in.m->n_series; i++) {
        const struct prom_series *s = &in.m->series[i];
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
    if (!prompt.m && !(o->prompt_tokens > 0))
        return sim_err_set(err, SIM_EINVAL,
                           "no prompt token series and no fixed prompt length: give "
                           "vllm:prompt_tokens_total or a prompt length");
    if (!gen.m && !(o->output_tokens > 0))
        return sim_err_set(err, SIM_EINVAL,
                           "no generation token series and no fixed output length: give "
                           "vllm:generation_tokens_total or an output length");
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
    rc = add_counts(succ, s->t0_us, s->step_us, n, o->rated, c, err);
    if (!rc && prompt.m)
        rc = add_counts(prompt, s->t0_us, s->step_us, n, o->rated, c + n, err);
    if (!rc && gen.m)
        rc = add_counts(gen, s->t0_us, s->step_us, n, o->rated, c + 2 * n, err);
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

int promtrace_write(const struct prom_step *st, size_t n, uint64_t seed,
                    enum promtrace_lengths lengths, FILE *out, uint64_t *n_req,
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
            int32_t in = draw_len(r, RNG_PROMPT_TOKENS, p->mean_prompt, lengths);
            int32_t o = draw_len(r, RNG_OUTPUT_TOKENS, p->mean_output, lengths);
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
