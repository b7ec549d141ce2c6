/*
 * test_promtrace.c: `trace from-prometheus`'s arithmetic against hand-computed values
 * (tests/fixtures/prometheus/README.md: two pods, a counter reset, three 60 s steps), the
 * count of a generated trace against a Poisson bound, and its lengths.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/k8s/promtrace.h"

#define PD FIXTURES "/prometheus/"

static void load(const char *path, struct prom_matrix *m)
{
    struct sim_err err = {0};
    cr_assert_eq(prom_matrix_load(path, NULL, m, &err), SIM_OK, "%s", err.msg);
}

static struct promtrace_input in(const char *path, const struct prom_matrix *m)
{
    return (struct promtrace_input){path, m};
}

Test(promtrace, counters_of_two_pods_with_a_reset)
{
    struct prom_matrix s, p, g;
    load(PD "success.json", &s);
    load(PD "prompt.json", &p);
    load(PD "generation.json", &g);
    cr_expect_eq(s.n_series, 2);
    cr_expect_eq(s.step_us, 60000000);
    struct promtrace_opts o = {0};
    struct prom_step *st = NULL;
    size_t n = 0;
    struct sim_err err = {0};
    cr_assert_eq(promtrace_steps(in("s", &s), in("p", &p), in("g", &g), &o, &st, &n, &err),
                 SIM_OK, "%s", err.msg);
    cr_assert_eq(n, 3);
    static const double succ[3] = {150, 50, 90}, rate[3] = {2.5, 50.0 / 60, 1.5},
                        mp[3] = {260, 220, 21000.0 / 90}, mo[3] = {120, 100, 100};
    for (size_t j = 0; j < 3; j++) {
        cr_expect_float_eq(st[j].successes, succ[j], 1e-9, "step %zu", j);
        cr_expect_float_eq(st[j].rate_per_s, rate[j], 1e-12, "step %zu", j);
        cr_expect_float_eq(st[j].mean_prompt, mp[j], 1e-9, "step %zu", j);
        cr_expect_float_eq(st[j].mean_output, mo[j], 1e-9, "step %zu", j);
        cr_expect_eq(st[j].t0_us, 1733500800000000LL + (int64_t)j * 60000000);
    }
    free(st);
    /* without token series: the fixed lengths */
    o.prompt_tokens = 512;
    o.output_tokens = 64;
    cr_assert_eq(promtrace_steps(in("s", &s), in(NULL, NULL), in(NULL, NULL), &o, &st, &n, &err),
                 SIM_OK, "%s", err.msg);
    cr_expect_float_eq(st[1].mean_prompt, 512, 1e-12);
    cr_expect_float_eq(st[2].mean_output, 64, 1e-12);
    free(st);
    prom_matrix_free(&s);
    prom_matrix_free(&p);
    prom_matrix_free(&g);
}

Test(promtrace, rated_series)
{
    struct prom_matrix s;
    load(PD "rated_success.json", &s);
    struct promtrace_opts o = {.rated = true, .prompt_tokens = 100, .output_tokens = 10};
    struct prom_step *st = NULL;
    size_t n = 0;
    struct sim_err err = {0};
    cr_assert_eq(promtrace_steps(in("s", &s), in(NULL, NULL), in(NULL, NULL), &o, &st, &n, &err),
                 SIM_OK, "%s", err.msg);
    cr_assert_eq(n, 3);
    cr_expect_float_eq(st[0].successes, 150, 1e-9);
    cr_expect_float_eq(st[1].rate_per_s, 50.0 / 60, 1e-12);
    cr_expect_float_eq(st[2].successes, 90, 1e-9);
    free(st);
    prom_matrix_free(&s);
}

Test(promtrace, grids_that_differ_are_refused)
{
    struct prom_matrix s, p;
    load(PD "success.json", &s);
    load(PD "other_step.json", &p);
    struct promtrace_opts o = {.output_tokens = 10};
    struct prom_step *st = NULL;
    size_t n = 0;
    struct sim_err err = {0};
    cr_expect_eq(promtrace_steps(in("s", &s), in("other.json", &p), in(NULL, NULL), &o, &st, &n,
                                 &err),
                 SIM_EINVAL);
    cr_expect(strstr(err.msg, "expected the same range and step") != NULL, "%s", err.msg);
    cr_expect_null(st);
    prom_matrix_free(&s);
    prom_matrix_free(&p);
}

Test(promtrace, bad_json_at_its_line_and_column)
{
    struct prom_matrix m;
    struct sim_err err = {0};
    cr_expect_eq(prom_matrix_load(PD "bad_value.json", NULL, &m, &err), SIM_EINVAL);
    cr_expect(strstr(err.where, "bad_value.json:2:") != NULL, "%s", err.where);
    cr_expect(strstr(err.msg, "expected a sample value as a string") != NULL, "%s", err.msg);
    prom_matrix_free(&m);
}

/* Read back a generated trace: rows per step and the lengths' sums. */
struct counted {
    uint64_t rows[3];
    double prompt[3], output[3];
    bool const_ok;
};

static void generate(const struct prom_step *st, size_t n, uint64_t seed,
                     enum promtrace_lengths len, struct counted *c, char **text, size_t *size)
{
    FILE *f = open_memstream(text, size);
    cr_assert_not_null(f);
    uint64_t rows = 0;
    struct sim_err err = {0};
    cr_assert_eq(promtrace_write(st, n, seed, len, NULL, NULL, f, &rows, &err), SIM_OK, "%s", err.msg);
    fclose(f);
    memset(c, 0, sizeof *c);
    c->const_ok = true;
    char *line = strchr(*text, '\n');
    cr_assert_not_null(line);
    cr_assert_eq(strncmp(*text, "arrival_s,prompt_tokens,output_tokens\n", 38), 0);
    uint64_t total = 0;
    double last = -1;
    for (char *p = line + 1; *p;) {
        double t;
        int a, b, used = 0;
        cr_assert_eq(sscanf(p, "%lf,%d,%d\n%n", &t, &a, &b, &used), 3, "%.40s", p);
        cr_assert(t >= last && a >= 1 && b >= 1);
        last = t;
        size_t j = (size_t)(t / ((double)(st[0].t1_us - st[0].t0_us) / 1e6));
        cr_assert(j < n);
        c->rows[j]++;
        c->prompt[j] += a;
        c->output[j] += b;
        if (a != (int)lround(st[j].mean_prompt) || b != (int)lround(st[j].mean_output))
            c->const_ok = false;
        total++;
        p += used;
    }
    cr_expect_eq(total, rows);
}

Test(promtrace, fixture_trace_count_and_constant_lengths)
{
    struct prom_matrix s, p, g;
    load(PD "success.json", &s);
    load(PD "prompt.json", &p);
    load(PD "generation.json", &g);
    struct promtrace_opts o = {0};
    struct prom_step *st = NULL;
    size_t n = 0;
    struct sim_err err = {0};
    cr_assert_eq(promtrace_steps(in("s", &s), in("p", &p), in("g", &g), &o, &st, &n, &err),
                 SIM_OK);
    struct counted c;
    char *text = NULL;
    size_t size = 0;
    generate(st, n, 7, PROMTRACE_LEN_CONST, &c, &text, &size);
    /* a Poisson count of mean 290 (150 + 50 + 90) lies within 5 standard deviations */
    double total = (double)(c.rows[0] + c.rows[1] + c.rows[2]);
    cr_expect(fabs(total - 290) <= 5 * sqrt(290), "%g requests", total);
    cr_expect(c.const_ok, "a length differs from its step's rounded mean (260/120, 220/100, "
                          "233/100)");
    free(text);
    free(st);
    prom_matrix_free(&s);
    prom_matrix_free(&p);
    prom_matrix_free(&g);
}

Test(promtrace, long_steps_poisson_bound_and_geometric_means)
{
    /* 3 steps of 600 s at 5, 10, 2.5 req/s: counts 3000, 6000, 1500 (sd = sqrt(mean));
     * geometric lengths of mean m have sd sqrt(m (m - 1)), so a step's mean length lies
     * within 5 sd / sqrt(count) of m. */
    struct prom_step st[3] = {0};
    static const double rate[3] = {5, 10, 2.5}, mp[3] = {300, 1000, 50}, mo[3] = {200, 20, 1};
    for (int j = 0; j < 3; j++) {
        st[j].t0_us = 1000000000LL + (int64_t)j * 600000000;
        st[j].t1_us = st[j].t0_us + 600000000;
        st[j].rate_per_s = rate[j];
        st[j].successes = rate[j] * 600;
        st[j].mean_prompt = mp[j];
        st[j].mean_output = mo[j];
    }
    struct counted c;
    char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    generate(st, 3, 42, PROMTRACE_LEN_EXP, &c, &a, &na);
    for (int j = 0; j < 3; j++) {
        double mean = rate[j] * 600, k = (double)c.rows[j];
        cr_expect(fabs(k - mean) <= 5 * sqrt(mean), "step %d: %g rows, expected %g", j, k, mean);
        double pm = c.prompt[j] / k, om = c.output[j] / k;
        cr_expect(fabs(pm - mp[j]) <= 5 * sqrt(mp[j] * (mp[j] - 1) / k) + 1e-9,
                  "step %d prompt mean %g", j, pm);
        if (mo[j] > 1)
            cr_expect(fabs(om - mo[j]) <= 5 * sqrt(mo[j] * (mo[j] - 1) / k), "step %d", j);
        else
            cr_expect_float_eq(om, 1.0, 1e-12); /* mean 1: every output is 1 token */
    }
    /* same seed, same bytes; another seed, other bytes */
    struct counted c2;
    generate(st, 3, 42, PROMTRACE_LEN_EXP, &c2, &b, &nb);
    cr_expect(na == nb && !memcmp(a, b, na));
    free(b);
    generate(st, 3, 43, PROMTRACE_LEN_EXP, &c2, &b, &nb);
    cr_expect(na != nb || memcmp(a, b, na));
    free(a);
    free(b);
}

Test(promtrace, a_missed_evaluation_and_a_new_pod)
{
    struct prom_matrix s;
    load(PD "gap_success.json", &s);
    struct promtrace_opts o = {.prompt_tokens = 100, .output_tokens = 10};
    struct prom_step *st = NULL;
    size_t n = 0;
    struct sim_err err = {0};
    cr_assert_eq(promtrace_steps(in("s", &s), in(NULL, NULL), in(NULL, NULL), &o, &st, &n, &err),
                 SIM_OK, "%s", err.msg);
    cr_assert_eq(n, 3);
    cr_expect_float_eq(st[0].successes, 60, 1e-9);
    cr_expect_float_eq(st[1].successes, 60, 1e-9);
    cr_expect_float_eq(st[2].successes, 90, 1e-9);
    free(st);
    prom_matrix_free(&s);
}

/* prompt_hist.json (tests/fixtures/prometheus/README.md): vllm:request_prompt_tokens_bucket
 * of the same two pods, buckets 1, 2, 5, ..., 1000, +Inf; hand-computed per step:
 * step 1: (100,200] 20+40 = 60, (200,500] 30+50 = 80, (500,1000] 10; step 2: (100,200] 30,
 * (1000,+Inf] 20 (pod b restarted: its +Inf count 20 from 0); step 3: (200,500] 60,
 * (500,1000] 30 (pod b's le=1000 count 0 -> 30). */
Test(promtrace, length_histogram_per_step_by_hand)
{
    struct prom_matrix s, h;
    load(PD "success.json", &s);
    load(PD "prompt_hist.json", &h);
    struct promtrace_hist ph;
    struct sim_err err = {0};
    cr_assert_eq(promtrace_hist_load(in("h", &h), &s, false, 2048, &ph, &err), SIM_OK, "%s",
                 err.msg);
    static const double le[11] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, INFINITY};
    static const double want[3][11] = {{0, 0, 0, 0, 0, 0, 0, 60, 80, 10, 0},
                                       {0, 0, 0, 0, 0, 0, 0, 30, 0, 0, 20},
                                       {0, 0, 0, 0, 0, 0, 0, 0, 60, 30, 0}};
    cr_assert_eq(ph.n_b, 11);
    cr_assert_eq(ph.n_steps, 3);
    for (size_t b = 0; b < 11; b++) {
        cr_expect(ph.le[b] == le[b], "bound %zu: %g", b, ph.le[b]);
        for (size_t j = 0; j < 3; j++)
            cr_expect_float_eq(ph.w[j * 11 + b], want[j][b], 1e-9, "step %zu bucket %g", j + 1,
                               le[b]);
    }
    cr_expect_float_eq(ph.total, 290, 1e-9);
    cr_expect_float_eq(ph.inf_hi, 2048, 0);

    /* the trace: no prompt counter, lengths from the histogram; every prompt lies in a
     * bucket its step has requests in (whole numbers, (lo, hi]) */
    struct promtrace_opts o = {.output_tokens = 10, .prompt_hist = true};
    struct prom_step *st = NULL;
    size_t n = 0;
    cr_assert_eq(promtrace_steps(in("s", &s), in(NULL, NULL), in(NULL, NULL), &o, &st, &n, &err),
                 SIM_OK, "%s", err.msg);
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    uint64_t rows = 0;
    cr_assert_eq(promtrace_write(st, n, 5, PROMTRACE_LEN_CONST, &ph, NULL, f, &rows, &err), SIM_OK);
    fclose(f);
    size_t in_step[3] = {0, 0, 0}, above_1000 = 0;
    for (char *p = strchr(text, '\n') + 1; *p;) {
        double t;
        int a, b, used = 0;
        cr_assert_eq(sscanf(p, "%lf,%d,%d\n%n", &t, &a, &b, &used), 3);
        size_t j = (size_t)(t / 60);
        cr_assert(j < 3);
        in_step[j]++;
        if (j == 0)
            cr_expect(a >= 101 && a <= 1000, "step 1 prompt %d", a);
        else if (j == 1)
            cr_expect((a >= 101 && a <= 200) || (a >= 1001 && a <= 2048), "step 2 prompt %d", a);
        else
            cr_expect(a >= 201 && a <= 1000, "step 3 prompt %d", a);
        above_1000 += a > 1000;
        cr_expect_eq(b, 10);
        p += used;
    }
    cr_expect_gt(in_step[1], 0);
    cr_expect_gt(above_1000, 0, "no step-2 prompt from the +Inf bucket (20 of 50)");
    free(text);
    free(st);
    /* without max_model_len the +Inf bucket's lengths are its lower bound, 1000 */
    promtrace_hist_free(&ph);
    cr_assert_eq(promtrace_hist_load(in("h", &h), &s, false, 0, &ph, &err), SIM_OK);
    cr_expect_float_eq(ph.inf_hi, 1000, 0);
    promtrace_hist_free(&ph);

    /* bad input: a series without 'le' (the success counter given as a histogram) */
    cr_expect_eq(promtrace_hist_load(in("succ.json", &s), &s, false, 0, &ph, &err), SIM_EINVAL);
    cr_expect(strstr(err.msg, "series 1 has no 'le' label") != NULL, "%s", err.msg);
    /* no +Inf bucket */
    for (size_t i = 0; i < h.n_series; i++)
        if (isinf(h.series[i].le))
            h.series[i].le = 5000;
    cr_expect_eq(promtrace_hist_load(in("h.json", &h), &s, false, 0, &ph, &err), SIM_EINVAL);
    cr_expect(strstr(err.msg, "expected the +Inf bucket") != NULL, "%s", err.msg);
    prom_matrix_free(&s);
    prom_matrix_free(&h);
}

/* Shares and within-bucket spread over many requests: one 600 s step at 10 req/s with
 * buckets (0,100] 1, (100,200] 2, (200,+Inf] 1 and max_model_len 400: a length falls in
 * them with probability 1/4, 1/2, 1/4 and is uniform on 1..100, 101..200, 201..400, so
 * its mean is 50.5/4 + 150.5/2 + 300.5/4 = 163 and its variance is the mixture's. */
Test(promtrace, histogram_lengths_follow_the_bucket_shares)
{
    double w[3] = {1, 2, 1};
    struct promtrace_hist ph = {.n_b = 3, .le = {100, 200, INFINITY}, .inf_hi = 400,
                                .n_steps = 1, .w = w, .all = {1, 2, 1}, .total = 4};
    struct prom_step st = {.t0_us = 0, .t1_us = 600000000, .successes = 6000,
                           .rate_per_s = 10, .mean_prompt = 0, .mean_output = 5};
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    uint64_t rows = 0;
    struct sim_err err = {0};
    cr_assert_eq(promtrace_write(&st, 1, 9, PROMTRACE_LEN_CONST, &ph, NULL, f, &rows, &err),
                 SIM_OK);
    fclose(f);
    double k[3] = {0, 0, 0}, sum = 0, mean_b[3] = {0, 0, 0};
    for (char *p = strchr(text, '\n') + 1; *p;) {
        double t;
        int a, b, used = 0;
        cr_assert_eq(sscanf(p, "%lf,%d,%d\n%n", &t, &a, &b, &used), 3);
        cr_assert(a >= 1 && a <= 400, "%d", a);
        int bi = a <= 100 ? 0 : a <= 200 ? 1 : 2;
        k[bi]++;
        mean_b[bi] += a;
        sum += a;
        p += used;
    }
    double n = (double)rows;
    static const double share[3] = {0.25, 0.5, 0.25}, mid[3] = {50.5, 150.5, 300.5};
    /* uniform on m whole numbers: variance (m^2 - 1) / 12 */
    static const double var_in[3] = {(100.0 * 100 - 1) / 12, (100.0 * 100 - 1) / 12,
                                      (200.0 * 200 - 1) / 12};
    double var = 0;
    for (int b = 0; b < 3; b++) {
        cr_expect(fabs(k[b] / n - share[b]) <= 5 * sqrt(share[b] * (1 - share[b]) / n),
                  "bucket %d share %g", b, k[b] / n);
        cr_expect(fabs(mean_b[b] / k[b] - mid[b]) <= 5 * sqrt(var_in[b] / k[b]),
                  "bucket %d mean %g", b, mean_b[b] / k[b]);
        var += share[b] * (var_in[b] + (mid[b] - 163) * (mid[b] - 163));
    }
    cr_expect(fabs(sum / n - 163) <= 5 * sqrt(var / n), "mean %g", sum / n);
    free(text);
}
