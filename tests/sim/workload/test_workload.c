/* Workloads: trace window, time and rate scaling; synthetic arrivals under rate profiles;
 * length distributions; determinism. Stochastic checks use fixed seeds and k-sigma
 * tolerances worked out from the distributions (k = 4 unless said). */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <string.h>

#include "sim/workload/workload.h"

#define TR FIXTURES "/traces/"
#define CONV SOURCE_DIR "/traces/AzureLLMInferenceTrace_conv.csv"
#define SHAREGPT SOURCE_DIR "/traces/sharegpt_8k_filtered_stats_llama2_tokenizer.csv"
#define PI 3.14159265358979323846

static void init(void)
{
    gsl_set_error_handler_off();
}

TestSuite(workload, .init = init);

static struct workload_spec trace_spec(const char *path)
{
    struct workload_spec s;
    memset(&s, 0, sizeof s);
    s.kind = WL_TRACE;
    snprintf(s.trace_path, sizeof s.trace_path, "%s", path);
    s.format = TRACE_AUTO;
    s.time_scale = 1.0;
    s.rate_scale = 1.0;
    s.window_end_us = -1;
    return s;
}

static struct workload_spec synth_spec(enum arrival_process p, double rate, int64_t count)
{
    struct workload_spec s;
    memset(&s, 0, sizeof s);
    s.kind = WL_SYNTHETIC;
    s.process = p;
    s.rate_per_s = rate;
    s.count = count;
    s.prompt.dist = LEN_CONSTANT;
    s.prompt.value = 100;
    s.output.dist = LEN_CONSTANT;
    s.output.value = 10;
    return s;
}

static struct workload *open_ok(const struct workload_spec *s, int64_t duration_us,
                                struct rng_set *rng)
{
    struct sim_err err = {0};
    struct workload *w = workload_open(s, duration_us, rng, &err);
    cr_assert_not_null(w, "%s: %s", err.where, err.msg);
    return w;
}

/* Pull everything; checks order on the way. Returns the count. */
static uint64_t drain(struct workload *w, int64_t *first, int64_t *last, uint64_t *sum_prompt)
{
    struct wl_request q;
    struct sim_err err = {0};
    uint64_t n = 0;
    int64_t prev = 0;
    int rc;
    if (sum_prompt)
        *sum_prompt = 0;
    while ((rc = workload_next(w, &q, &err)) == 1) {
        cr_assert_geq(q.arrival_us, prev, "arrivals must not decrease");
        cr_assert_geq(q.arrival_us, 0);
        if (n == 0 && first)
            *first = q.arrival_us;
        prev = q.arrival_us;
        if (sum_prompt)
            *sum_prompt += (uint64_t)q.prompt_tokens;
        n++;
    }
    cr_assert_eq(rc, 0, "%s: %s", err.where, err.msg);
    if (last)
        *last = prev;
    return n;
}

/* ---- trace replay ------------------------------------------------------------------- */

/*
 * Python over the conv trace (times from the first row, fraction truncated to us): 3,118
 * rows in [600 s, 1200 s), 2,867 before; the first of them 197,636 us after 600 s, the
 * last 599,748,791 us after; their ContextTokens sum to 3,595,428.
 */
Test(workload, trace_window_shifts_to_zero_and_counts_rows_before_it)
{
    struct workload_spec s = trace_spec(CONV);
    s.window_start_us = 600000000;
    s.window_end_us = 1200000000;
    struct rng_set *rng = rng_set_new(1);
    struct workload *w = open_ok(&s, -1, rng);
    int64_t first, last;
    uint64_t sum;
    cr_assert_eq(drain(w, &first, &last, &sum), 3118);
    cr_assert_eq(first, 197636);
    cr_assert_eq(last, 599748791);
    cr_assert_eq(sum, 3595428);
    cr_assert_eq(workload_skipped_rows(w), 2867);
    workload_close(w);
    rng_set_free(rng);
}

Test(workload, time_scale_multiplies_times_after_the_window)
{
    struct workload_spec s = trace_spec(CONV);
    s.window_start_us = 600000000;
    s.window_end_us = 1200000000;
    s.time_scale = 0.5;
    struct rng_set *rng = rng_set_new(1);
    struct workload *w = open_ok(&s, -1, rng);
    int64_t first, last;
    cr_assert_eq(drain(w, &first, &last, NULL), 3118);
    cr_assert_eq(first, 98818);    /* 197636 * 0.5 */
    cr_assert_eq(last, 299874396); /* 599748791 * 0.5 = ...395.5, rounded to nearest */
    workload_close(w);
    rng_set_free(rng);
}

/* time_scale 2 and a 600 s duration keep trace times in [600, 900): 1,557 rows (Python). */
Test(workload, duration_cuts_arrivals_after_scaling)
{
    struct workload_spec s = trace_spec(CONV);
    s.window_start_us = 600000000;
    s.time_scale = 2.0;
    struct rng_set *rng = rng_set_new(1);
    struct workload *w = open_ok(&s, 600000000, rng);
    int64_t last;
    cr_assert_eq(drain(w, NULL, &last, NULL), 1557);
    cr_assert_lt(last, 600000000);
    workload_close(w);
    rng_set_free(rng);
}

/* Thinning keeps Binomial(19366, 0.3): mean 5809.8, sd sqrt(19366 * 0.3 * 0.7) = 63.8. */
Test(workload, rate_scale_below_one_thins_binomially)
{
    struct workload_spec s = trace_spec(CONV);
    s.rate_scale = 0.3;
    struct rng_set *rng = rng_set_new(2024);
    struct workload *w = open_ok(&s, -1, rng);
    double n = (double)drain(w, NULL, NULL, NULL);
    cr_assert(fabs(n - 5809.8) < 4 * 63.8, "kept %g", n);
    workload_close(w);
    rng_set_free(rng);
}

/* Integer rate_scale replicates exactly: 3 copies of each of 19,366 rows. */
Test(workload, integer_rate_scale_replicates_exactly)
{
    struct workload_spec s = trace_spec(CONV);
    s.rate_scale = 3.0;
    struct rng_set *rng = rng_set_new(5);
    struct workload *w = open_ok(&s, -1, rng);
    uint64_t sum;
    cr_assert_eq(drain(w, NULL, NULL, &sum), 3 * 19366);
    cr_assert_eq(sum, 3ull * 22361870);
    workload_close(w);
    rng_set_free(rng);
}

/*
 * rate_scale 2.5: 2 copies + 1 more with probability 0.5 per row, so the count is
 * 2 * 19366 + Binomial(19366, 0.5): mean 48415, sd sqrt(19366 / 4) = 69.6. Every copy
 * lies between its row's time and the next row's time, and carries its row's line.
 */
Test(workload, fractional_rate_scale_spreads_copies_before_the_next_row)
{
    struct workload_spec s = trace_spec(CONV);
    s.rate_scale = 2.5;
    struct rng_set *rng = rng_set_new(77);
    struct workload *w = open_ok(&s, -1, rng);
    struct sim_err err = {0};
    struct trace_reader *r = trace_open(CONV, TRACE_AUTO, &err);
    struct trace_row row, nxt;
    cr_assert_eq(trace_next(r, &row, false, &err), 1);
    bool have_nxt = trace_next(r, &nxt, false, &err) == 1;
    struct wl_request q;
    uint64_t n = 0, at_row_time = 0;
    int64_t prev = 0;
    while (workload_next(w, &q, &err) == 1) {
        while (q.source_line != row.line) {
            cr_assert(have_nxt);
            row = nxt;
            have_nxt = trace_next(r, &nxt, false, &err) == 1;
        }
        cr_assert_geq(q.arrival_us, prev);
        cr_assert_geq(q.arrival_us, row.t_us);
        if (have_nxt)
            cr_assert(q.arrival_us < nxt.t_us ||
                      (q.arrival_us == nxt.t_us && nxt.t_us == row.t_us));
        at_row_time += q.arrival_us == row.t_us;
        prev = q.arrival_us;
        n++;
    }
    cr_assert(fabs((double)n - 48415.0) < 4 * 69.6, "made %llu", (unsigned long long)n);
    /* the first copy of each row is at its time; the spread ones rarely are */
    cr_assert_geq(at_row_time, 19366);
    cr_assert_lt(at_row_time, 19366 + 1000);
    trace_close(r);
    workload_close(w);
    rng_set_free(rng);
}

Test(workload, spread_copies_stay_inside_the_window)
{
    struct workload_spec s = trace_spec(CONV);
    s.window_start_us = 0;
    s.window_end_us = 100000000;
    s.rate_scale = 4.7;
    struct rng_set *rng = rng_set_new(9);
    struct workload *w = open_ok(&s, -1, rng);
    int64_t last;
    double n = (double)drain(w, NULL, &last, NULL);
    cr_assert_lt(last, 100000000);
    /* 371 rows before 100 s (Python): 4 * 371 + Binomial(371, 0.7), sd 8.8 */
    cr_assert(fabs(n - 4.7 * 371) < 4 * 8.8, "made %g", n);
    workload_close(w);
    rng_set_free(rng);
}

/* Copies of a Mooncake row share its hash_ids, and the pointer is valid for each call. */
Test(workload, replicated_rows_keep_their_hash_ids)
{
    struct workload_spec s = trace_spec(TR "mooncake_small.jsonl");
    s.rate_scale = 2.0;
    struct rng_set *rng = rng_set_new(3);
    struct workload *w = open_ok(&s, -1, rng);
    struct wl_request q;
    struct sim_err err = {0};
    int seen[5] = {0};
    while (workload_next(w, &q, &err) == 1) {
        seen[q.source_line]++;
        switch (q.source_line) {
        case 1:
            cr_assert_eq(q.n_hash_ids, 2);
            cr_assert_eq(q.hash_ids[0], 4294967295u);
            break;
        case 2:
            cr_assert_eq(q.n_hash_ids, 3000);
            for (uint32_t i = 0; i < 3000; i++)
                cr_assert_eq(q.hash_ids[i], i);
            cr_assert_geq(q.arrival_us, 500000);
            cr_assert_lt(q.arrival_us, 1500250);
            break;
        case 3:
            cr_assert_eq(q.n_hash_ids, 1);
            cr_assert_eq(q.hash_ids[0], 9);
            cr_assert_eq(q.output_tokens, 1); /* 0 in the file */
            break;
        default:
            cr_assert_null(q.hash_ids);
            cr_assert_eq(q.arrival_us, 2000000); /* last row: copies stay at its time */
        }
    }
    for (int i = 1; i <= 4; i++)
        cr_assert_eq(seen[i], 2);
    cr_assert_eq(workload_zero_token_rows(w), 1);
    workload_close(w);
    rng_set_free(rng);
}

Test(workload, zero_output_tokens_become_one_and_are_counted)
{
    struct workload_spec s = trace_spec(TR "azure2023_crlf.csv");
    struct rng_set *rng = rng_set_new(3);
    struct workload *w = open_ok(&s, -1, rng);
    struct wl_request q;
    struct sim_err err = {0};
    int n = 0;
    while (workload_next(w, &q, &err) == 1) {
        cr_assert_geq(q.output_tokens, 1);
        if (q.source_line == 4)
            cr_assert_eq(q.output_tokens, 1);
        n++;
    }
    cr_assert_eq(n, 4);
    cr_assert_eq(workload_zero_token_rows(w), 1);
    workload_close(w);
    rng_set_free(rng);
}

Test(workload, skipped_bad_rows_are_counted)
{
    struct workload_spec s = trace_spec(TR "mixed_bad.csv");
    s.skip_bad_rows = true;
    struct rng_set *rng = rng_set_new(3);
    struct workload *w = open_ok(&s, -1, rng);
    uint64_t sum;
    cr_assert_eq(drain(w, NULL, NULL, &sum), 7);
    cr_assert_eq(sum, 4000);
    cr_assert_eq(workload_skipped_rows(w), 3);
    workload_close(w);
    rng_set_free(rng);
}

Test(workload, a_bad_row_is_an_error_with_its_location)
{
    struct workload_spec s = trace_spec(TR "mixed_bad.csv");
    struct rng_set *rng = rng_set_new(3);
    struct workload *w = open_ok(&s, -1, rng);
    struct wl_request q;
    struct sim_err err = {0};
    cr_assert_eq(workload_next(w, &q, &err), 1);
    cr_assert_eq(workload_next(w, &q, &err), 1);
    cr_assert_eq(workload_next(w, &q, &err), SIM_EINVAL);
    cr_assert_str_eq(err.where, TR "mixed_bad.csv:4:29");
    cr_assert_str_eq(err.msg, "'ContextTokens' must be an integer >= 0 (tokens), got 'x'");
    cr_assert_eq(sim_err_exit_code(err.code), 2);
    workload_close(w);
    rng_set_free(rng);
}

Test(workload, rejects_a_rate_scale_out_of_range)
{
    struct workload_spec s = trace_spec(CONV);
    s.rate_scale = 0.0;
    struct sim_err err = {0};
    struct rng_set *rng = rng_set_new(3);
    cr_assert_null(workload_open(&s, -1, rng, &err));
    cr_assert_eq(err.code, SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'workload.trace.rate_scale' must be > 0 and <= 1000, got '0'");
    rng_set_free(rng);
}

Test(workload, missing_trace_is_enoent)
{
    struct workload_spec s = trace_spec(TR "nope.csv");
    struct sim_err err = {0};
    struct rng_set *rng = rng_set_new(3);
    cr_assert_null(workload_open(&s, -1, rng, &err));
    cr_assert_eq(err.code, SIM_ENOENT);
    rng_set_free(rng);
}

/* ---- synthetic arrivals -------------------------------------------------------------- */

/* Mean and CV of the inter-arrival gaps (seconds) of the first n arrivals. */
static void gaps(struct workload *w, int n, double *mean, double *cv)
{
    struct wl_request q;
    struct sim_err err = {0};
    double s = 0, s2 = 0;
    int64_t prev = 0;
    for (int i = 0; i < n; i++) {
        cr_assert_eq(workload_next(w, &q, &err), 1);
        double g = (double)(q.arrival_us - prev) / 1e6;
        s += g;
        s2 += g * g;
        prev = q.arrival_us;
    }
    *mean = s / n;
    *cv = sqrt(s2 / n - *mean * *mean) / *mean;
}

/* Exponential gaps, mean 1/5.5 s: the sample mean's sd is (1/5.5)/sqrt(n); the sample
 * CV's sd is 1/sqrt(n) (delta method: Var s = 2/n, Var m = 1/n, Cov = 1/n, mean 1). */
Test(workload, poisson_rate_and_cv)
{
    const int n = 20000;
    struct workload_spec s = synth_spec(ARR_POISSON, 5.5, n);
    struct rng_set *rng = rng_set_new(11);
    struct workload *w = open_ok(&s, -1, rng);
    double mean, cv;
    gaps(w, n, &mean, &cv);
    cr_assert(fabs(mean - 1 / 5.5) < 4 * (1 / 5.5) / sqrt(n), "mean gap %g", mean);
    cr_assert(fabs(cv - 1.0) < 4 / sqrt(n), "cv %g", cv);
    struct wl_request q;
    struct sim_err err = {0};
    cr_assert_eq(workload_next(w, &q, &err), 0); /* count reached */
    workload_close(w);
    rng_set_free(rng);
}

/* Gamma gaps with CV 2 (shape 1/4, scale 4 in operational time, mean 1). Delta method
 * with mu3 = 2 k theta^3 = 32 and mu4 = 3 k (k + 2) theta^4 = 432 gives Var CV = 10/n. */
Test(workload, gamma_inter_arrival_cv)
{
    const int n = 40000;
    struct workload_spec s = synth_spec(ARR_GAMMA, 3.0, n);
    s.cv = 2.0;
    struct rng_set *rng = rng_set_new(12);
    struct workload *w = open_ok(&s, -1, rng);
    double mean, cv;
    gaps(w, n, &mean, &cv);
    cr_assert(fabs(mean - 1 / 3.0) < 4 * 2.0 * (1 / 3.0) / sqrt(n), "mean gap %g", mean);
    cr_assert(fabs(cv - 2.0) < 4 * sqrt(10.0 / n), "cv %g", cv);
    workload_close(w);
    rng_set_free(rng);
}

Test(workload, constant_process_spacing_is_exact)
{
    struct workload_spec s = synth_spec(ARR_CONSTANT, 4.0, 0);
    struct rng_set *rng = rng_set_new(13);
    struct workload *w = open_ok(&s, 10000000, rng);
    struct wl_request q;
    struct sim_err err = {0};
    int64_t k = 0;
    while (workload_next(w, &q, &err) == 1) {
        k++;
        cr_assert_eq(q.arrival_us, 250000 * k);
        cr_assert_eq(q.source_line, 0);
        cr_assert_null(q.hash_ids);
    }
    cr_assert_eq(k, 39); /* 0.25 s .. 9.75 s; 10 s is the duration, cut */
    workload_close(w);
    rng_set_free(rng);
}

/* Steps: 2/s on [0, 1000), 10/s on [1000, 2000), 0.5/s on [2000, 3000). Counts are
 * Poisson with those means. */
Test(workload, steps_replace_the_rate)
{
    struct rate_step steps[2] = {{1000000000, 10.0}, {2000000000, 0.5}};
    struct workload_spec s = synth_spec(ARR_POISSON, 2.0, 0);
    s.steps = steps;
    s.n_steps = 2;
    struct rng_set *rng = rng_set_new(14);
    struct workload *w = open_ok(&s, 3000000000, rng);
    struct wl_request q;
    struct sim_err err = {0};
    double c[3] = {0};
    while (workload_next(w, &q, &err) == 1)
        c[q.arrival_us / 1000000000]++;
    static const double want[3] = {2000, 10000, 500};
    for (int i = 0; i < 3; i++)
        cr_assert(fabs(c[i] - want[i]) < 4 * sqrt(want[i]), "segment %d: %g", i, c[i]);
    workload_close(w);
    rng_set_free(rng);
}

/* A spike x5 over [500, 600) on 2/s: 1000 expected inside, 2 * 900 outside. */
Test(workload, spikes_multiply_the_rate)
{
    struct rate_spike sp = {500000000, 100000000, 5.0};
    struct workload_spec s = synth_spec(ARR_POISSON, 2.0, 0);
    s.spikes = &sp;
    s.n_spikes = 1;
    struct rng_set *rng = rng_set_new(15);
    struct workload *w = open_ok(&s, 1000000000, rng);
    struct wl_request q;
    struct sim_err err = {0};
    double in = 0, out = 0;
    while (workload_next(w, &q, &err) == 1) {
        if (q.arrival_us >= 500000000 && q.arrival_us < 600000000)
            in++;
        else
            out++;
    }
    cr_assert(fabs(in - 1000) < 4 * sqrt(1000), "in %g", in);
    cr_assert(fabs(out - 1800) < 4 * sqrt(1800), "out %g", out);
    workload_close(w);
    rng_set_free(rng);
}

/* After a step to 0 forever the generator ends, even with a count still to go. */
Test(workload, a_zero_rate_forever_ends_the_workload)
{
    struct rate_step st = {100000000, 0.0};
    struct workload_spec s = synth_spec(ARR_POISSON, 2.0, 1000000);
    s.steps = &st;
    s.n_steps = 1;
    struct rng_set *rng = rng_set_new(16);
    /* Without a duration, a count the rate never reaches is refused up front (the run
     * would otherwise make fewer requests than asked for, or run for ages). */
    struct sim_err err = {0};
    cr_assert_null(workload_open(&s, -1, rng, &err));
    cr_assert(strstr(err.msg, "would never make 'workload.count' (1000000 requests)"), "%s",
              err.msg);
    /* With one, the workload ends when the rate drops to 0 for good. */
    struct workload *w = open_ok(&s, 1000000000, rng);
    int64_t last;
    double n = (double)drain(w, NULL, &last, NULL);
    cr_assert_lt(last, 100000000);
    cr_assert(fabs(n - 200) < 4 * sqrt(200), "n %g", n);
    workload_close(w);
    rng_set_free(rng);
}

/*
 * Diurnal: rate 10 (1 + 0.8 cos(2 pi (t - 250) / 1000)) over 10 periods. The expected
 * count in the phase bin [x0, x1) is 10 periods x the integral of the rate over it:
 * 10 * 10 * ((x1 - x0) + 0.8 * 1000 / (2 pi) * (sin(2 pi (x1 - 250) / 1000) -
 * sin(2 pi (x0 - 250) / 1000))). Counts are Poisson.
 */
Test(workload, diurnal_counts_follow_the_rate_curve)
{
    struct workload_spec s = synth_spec(ARR_POISSON, 10.0, 0);
    s.diurnal = true;
    s.diurnal_amplitude_frac = 0.8;
    s.diurnal_period_us = 1000000000;
    s.diurnal_peak_at_us = 250000000;
    struct rng_set *rng = rng_set_new(17);
    struct workload *w = open_ok(&s, 10000000000, rng);
    struct wl_request q;
    struct sim_err err = {0};
    double c[10] = {0};
    while (workload_next(w, &q, &err) == 1)
        c[(q.arrival_us % 1000000000) / 100000000]++;
    for (int b = 0; b < 10; b++) {
        double x0 = 100.0 * b, x1 = x0 + 100.0;
        double want =
            100.0 *
            ((x1 - x0) + 0.8 * 1000 / (2 * PI) *
                             (sin(2 * PI * (x1 - 250) / 1000) - sin(2 * PI * (x0 - 250) / 1000)));
        cr_assert(fabs(c[b] - want) < 4 * sqrt(want), "bin %d: %g vs %g", b, c[b], want);
    }
    workload_close(w);
    rng_set_free(rng);
}

/* The rate the spec describes, written out directly (not the library's pieces); the
 * step and the spike are looked up at `at`, a point inside the smooth stretch, so that
 * Simpson's end points on a jump take the stretch's own side. */
static double rate_at(double t, double at)
{
    double base = at < 300 ? 3.0 : 7.0; /* step at 300 s */
    if (at >= 100 && at < 160)          /* spike x4 on [100, 160) */
        base *= 4.0;
    return base * (1.0 + 1.0 * cos(2 * PI * (t - 50) / 400)); /* amplitude 1: touches 0 */
}

/* Integral of the rate over [a, b] by Simpson's rule on each smooth stretch. */
static double rate_integral(double a, double b)
{
    static const double br[] = {100, 160, 300};
    double total = 0, lo = a;
    for (int i = 0; i <= 3; i++) {
        double hi = i < 3 ? br[i] : b;
        if (hi > b)
            hi = b;
        if (hi > lo) {
            const int m = 64;
            double mid = 0.5 * (lo + hi);
            double h = (hi - lo) / m, s = rate_at(lo, mid) + rate_at(hi, mid);
            for (int k = 1; k < m; k++)
                s += rate_at(lo + k * h, mid) * (k % 2 ? 4 : 2);
            total += s * h / 3;
            lo = hi;
        }
    }
    return total;
}

/*
 * Time rescaling: with the constant process the k-th arrival is where the cumulative
 * rate reaches k. Checked against a numerical integral of the rate, with steps, a spike
 * and a diurnal curve of amplitude 1 (the rate touches 0). Tolerance: the microsecond
 * rounding (rate <= 56/s, so 0.5 us moves Lambda by < 3e-5) plus Simpson's error.
 */
Test(workload, arrivals_invert_the_cumulative_rate)
{
    struct rate_step st = {300000000, 7.0};
    struct rate_spike sp = {100000000, 60000000, 4.0};
    struct workload_spec s = synth_spec(ARR_CONSTANT, 3.0, 0);
    s.steps = &st;
    s.n_steps = 1;
    s.spikes = &sp;
    s.n_spikes = 1;
    s.diurnal = true;
    s.diurnal_amplitude_frac = 1.0;
    s.diurnal_period_us = 400000000;
    s.diurnal_peak_at_us = 50000000;
    struct rng_set *rng = rng_set_new(18);
    struct workload *w = open_ok(&s, 1000000000, rng);
    struct wl_request q;
    struct sim_err err = {0};
    double lam = 0, t_prev = 0;
    int k = 0;
    while (workload_next(w, &q, &err) == 1) {
        k++;
        double t = (double)q.arrival_us / 1e6;
        lam += rate_integral(t_prev, t);
        t_prev = t;
        cr_assert(fabs(lam - k) < 1e-4, "arrival %d at %.9f s: Lambda %.9f", k, t, lam);
    }
    /* Lambda(1000) in closed form: 3 * 300 + 7 * 700 + 3 * 3 * 60 (the spike's extra
     * mass over [100, 160)) plus the cosine terms; about 6384, so about 6384 arrivals */
    double total = rate_integral(0, 1000);
    cr_assert_eq(k, (int)floor(total));
    workload_close(w);
    rng_set_free(rng);
}

Test(workload, synthetic_needs_a_count_or_a_duration)
{
    struct workload_spec s = synth_spec(ARR_POISSON, 5.0, 0);
    struct sim_err err = {0};
    struct rng_set *rng = rng_set_new(3);
    cr_assert_null(workload_open(&s, -1, rng, &err));
    cr_assert_eq(err.code, SIM_EINVAL);
    cr_assert_str_eq(err.msg, "a synthetic workload needs 'workload.count' or a 'duration'");
    rng_set_free(rng);
}

/* ---- lengths --------------------------------------------------------------------------- */

static void length_moments(struct workload_spec *s, int n, double *mp, double *mo, int32_t *min_p,
                           int32_t *max_p)
{
    struct rng_set *rng = rng_set_new(21);
    s->count = n;
    struct workload *w = open_ok(s, -1, rng);
    struct wl_request q;
    struct sim_err err = {0};
    double sp = 0, so = 0;
    *min_p = INT32_MAX;
    *max_p = 0;
    for (int i = 0; i < n; i++) {
        cr_assert_eq(workload_next(w, &q, &err), 1);
        cr_assert_geq(q.prompt_tokens, 1);
        cr_assert_geq(q.output_tokens, 1);
        sp += q.prompt_tokens;
        so += q.output_tokens;
        if (q.prompt_tokens < *min_p)
            *min_p = q.prompt_tokens;
        if (q.prompt_tokens > *max_p)
            *max_p = q.prompt_tokens;
    }
    *mp = sp / n;
    *mo = so / n;
    workload_close(w);
    rng_set_free(rng);
}

/*
 * Uniform integers in [100, 200]: mean 150, variance (101^2 - 1) / 12 = 850.
 * Exponential, mean 200, rounded to nearest and raised to 1: E = exp(-0.5/m) /
 * (1 - exp(-1/m)) + (1 - exp(-0.5/m)) (P(round >= k) = exp(-(k - 0.5)/m)); sd ~ 200.
 */
Test(workload, uniform_and_exponential_means)
{
    const int n = 100000;
    struct workload_spec s = synth_spec(ARR_POISSON, 5.0, 0);
    s.prompt = (struct len_spec){.dist = LEN_UNIFORM, .min = 100, .max = 200};
    s.output = (struct len_spec){.dist = LEN_EXPONENTIAL, .mean = 200};
    double mp, mo;
    int32_t lo, hi;
    length_moments(&s, n, &mp, &mo, &lo, &hi);
    cr_assert(fabs(mp - 150) < 4 * sqrt(850.0 / n), "uniform mean %g", mp);
    cr_assert_eq(lo, 100);
    cr_assert_eq(hi, 200);
    double m = 200, want = exp(-0.5 / m) / (1 - exp(-1 / m)) + (1 - exp(-0.5 / m));
    cr_assert(fabs(mo - want) < 4 * 200 / sqrt(n), "exponential mean %g vs %g", mo, want);
}

/* Lognormal with mean 1000, sigma 0.8: sd = 1000 sqrt(exp(0.64) - 1) = 946.8. Rounding
 * moves the mean by far less than the tolerance. Constant 300 is exactly 300. */
Test(workload, lognormal_mean_is_the_given_mean)
{
    const int n = 200000;
    struct workload_spec s = synth_spec(ARR_POISSON, 5.0, 0);
    s.prompt = (struct len_spec){.dist = LEN_LOGNORMAL, .mean = 1000, .sigma = 0.8};
    s.output = (struct len_spec){.dist = LEN_CONSTANT, .value = 300};
    double mp, mo;
    int32_t lo, hi;
    length_moments(&s, n, &mp, &mo, &lo, &hi);
    cr_assert(fabs(mp - 1000) < 4 * 946.8 / sqrt(n), "lognormal mean %g", mp);
    cr_assert_eq(mo, 300.0);
}

/* ShareGPT num_prefill_tokens (Python over the file): mean 2340.0335, population sd
 * 2088.818 over 30,731 rows. */
Test(workload, empirical_column_mean)
{
    const int n = 100000;
    struct workload_spec s = synth_spec(ARR_POISSON, 5.0, 0);
    s.prompt.dist = LEN_EMPIRICAL;
    snprintf(s.prompt.path, sizeof s.prompt.path, "%s", SHAREGPT);
    snprintf(s.prompt.column, sizeof s.prompt.column, "num_prefill_tokens");
    double mp, mo;
    int32_t lo, hi;
    length_moments(&s, n, &mp, &mo, &lo, &hi);
    cr_assert(fabs(mp - 2340.0335) < 4 * 2088.818 / sqrt(n), "empirical mean %g", mp);
    cr_assert_eq(mo, 10.0);
}

/* lengths_pair.csv has b = a + 1000 on every row: one row drawn for both keeps it. The
 * row index comes from RNG_PROMPT_TOKENS, so prompts match a prompt-only draw. */
Test(workload, empirical_prompt_and_output_from_one_file_share_the_row)
{
    struct workload_spec s = synth_spec(ARR_POISSON, 5.0, 500);
    s.prompt.dist = LEN_EMPIRICAL;
    snprintf(s.prompt.path, sizeof s.prompt.path, "%s", TR "lengths_pair.csv");
    snprintf(s.prompt.column, sizeof s.prompt.column, "a");
    s.output = s.prompt;
    snprintf(s.output.column, sizeof s.output.column, "b");
    struct workload_spec only = s;
    only.output = (struct len_spec){.dist = LEN_CONSTANT, .value = 5};
    struct rng_set *r1 = rng_set_new(8), *r2 = rng_set_new(8);
    struct workload *w = open_ok(&s, -1, r1), *w2 = open_ok(&only, -1, r2);
    struct wl_request q, q2;
    struct sim_err err = {0};
    while (workload_next(w, &q, &err) == 1) {
        cr_assert_eq(workload_next(w2, &q2, &err), 1);
        cr_assert_eq(q.output_tokens, q.prompt_tokens + 1000);
        cr_assert_eq(q.prompt_tokens, q2.prompt_tokens);
        cr_assert_eq(q.arrival_us, q2.arrival_us);
    }
    workload_close(w);
    workload_close(w2);
    rng_set_free(r1);
    rng_set_free(r2);
}

Test(workload, empirical_missing_column_names_the_header)
{
    struct workload_spec s = synth_spec(ARR_POISSON, 5.0, 10);
    s.output.dist = LEN_EMPIRICAL;
    snprintf(s.output.path, sizeof s.output.path, "%s", TR "lengths_pair.csv");
    snprintf(s.output.column, sizeof s.output.column, "zzz");
    struct sim_err err = {0};
    struct rng_set *rng = rng_set_new(3);
    cr_assert_null(workload_open(&s, -1, rng, &err));
    cr_assert_eq(err.code, SIM_EINVAL);
    cr_assert_str_eq(err.where, TR "lengths_pair.csv:1:1");
    cr_assert_str_eq(err.msg, "no column 'zzz' in the header 'a,b,c'");
    rng_set_free(rng);
}

Test(workload, empirical_bad_value_names_the_cell)
{
    struct workload_spec s = synth_spec(ARR_POISSON, 5.0, 10);
    s.output.dist = LEN_EMPIRICAL;
    snprintf(s.output.path, sizeof s.output.path, "%s", TR "bad_lengths.csv");
    snprintf(s.output.column, sizeof s.output.column, "b");
    struct sim_err err = {0};
    struct rng_set *rng = rng_set_new(3);
    cr_assert_null(workload_open(&s, -1, rng, &err));
    cr_assert_eq(err.code, SIM_EINVAL);
    cr_assert_str_eq(err.where, TR "bad_lengths.csv:3:3");
    cr_assert_str_eq(err.msg, "'b' must be a number in 0..2147483647 (tokens), got 'oops'");
    rng_set_free(rng);
}

Test(workload, empirical_file_with_no_line_end_is_refused_within_a_fixed_budget)
{
    /* /dev/zero never ends a line: getline(3) would grow until memory runs out; the
     * reader stops at 1 MiB (issue 13 point 2). */
    struct workload_spec s = synth_spec(ARR_POISSON, 5.0, 10);
    s.output.dist = LEN_EMPIRICAL;
    snprintf(s.output.path, sizeof s.output.path, "%s", "/dev/zero");
    snprintf(s.output.column, sizeof s.output.column, "b");
    struct sim_err err = {0};
    struct rng_set *rng = rng_set_new(3);
    cr_assert_null(workload_open(&s, -1, rng, &err));
    cr_assert_eq(err.code, SIM_EINVAL);
    cr_assert_str_eq(err.where, "/dev/zero:1:1");
    cr_assert_str_eq(err.msg, "a line longer than 1048576 bytes: expected a CSV of token lengths");
    rng_set_free(rng);
}

/* ---- determinism ----------------------------------------------------------------------- */

Test(workload, same_seed_same_sequence)
{
    struct workload_spec s = synth_spec(ARR_GAMMA, 5.0, 2000);
    s.cv = 1.7;
    s.prompt = (struct len_spec){.dist = LEN_LOGNORMAL, .mean = 800, .sigma = 1.1};
    s.output = (struct len_spec){.dist = LEN_EXPONENTIAL, .mean = 150};
    struct rng_set *r1 = rng_set_new(99), *r2 = rng_set_new(99), *r3 = rng_set_new(100);
    struct workload *a = open_ok(&s, -1, r1), *b = open_ok(&s, -1, r2), *c = open_ok(&s, -1, r3);
    struct wl_request qa, qb, qc;
    struct sim_err err = {0};
    int differ = 0;
    for (int i = 0; i < 2000; i++) {
        cr_assert_eq(workload_next(a, &qa, &err), 1);
        cr_assert_eq(workload_next(b, &qb, &err), 1);
        cr_assert_eq(workload_next(c, &qc, &err), 1);
        cr_assert_eq(qa.arrival_us, qb.arrival_us);
        cr_assert_eq(qa.prompt_tokens, qb.prompt_tokens);
        cr_assert_eq(qa.output_tokens, qb.output_tokens);
        differ += qa.arrival_us != qc.arrival_us;
    }
    cr_assert_gt(differ, 1900); /* another seed gives another sequence */
    workload_close(a);
    workload_close(b);
    workload_close(c);
    rng_set_free(r1);
    rng_set_free(r2);
    rng_set_free(r3);
}

/* Drawing prompts from a different distribution (more and different draws on
 * RNG_PROMPT_TOKENS) leaves the arrivals and the outputs unchanged. */
Test(workload, other_streams_draws_do_not_move_arrivals)
{
    struct workload_spec s = synth_spec(ARR_POISSON, 5.0, 2000);
    s.output = (struct len_spec){.dist = LEN_EXPONENTIAL, .mean = 150};
    struct workload_spec t = s;
    t.prompt = (struct len_spec){.dist = LEN_LOGNORMAL, .mean = 800, .sigma = 1.1};
    struct rng_set *r1 = rng_set_new(42), *r2 = rng_set_new(42);
    struct workload *a = open_ok(&s, -1, r1), *b = open_ok(&t, -1, r2);
    struct wl_request qa, qb;
    struct sim_err err = {0};
    for (int i = 0; i < 2000; i++) {
        cr_assert_eq(workload_next(a, &qa, &err), 1);
        cr_assert_eq(workload_next(b, &qb, &err), 1);
        cr_assert_eq(qa.arrival_us, qb.arrival_us);
        cr_assert_eq(qa.output_tokens, qb.output_tokens);
    }
    workload_close(a);
    workload_close(b);
    rng_set_free(r1);
    rng_set_free(r2);
}

Test(workload, trace_thinning_is_reproducible)
{
    struct workload_spec s = trace_spec(CONV);
    s.rate_scale = 1.7;
    struct rng_set *r1 = rng_set_new(5), *r2 = rng_set_new(5);
    struct workload *a = open_ok(&s, -1, r1), *b = open_ok(&s, -1, r2);
    struct wl_request qa, qb;
    struct sim_err err = {0};
    int rc;
    while ((rc = workload_next(a, &qa, &err)) == 1) {
        cr_assert_eq(workload_next(b, &qb, &err), 1);
        cr_assert_eq(qa.arrival_us, qb.arrival_us);
        cr_assert_eq(qa.source_line, qb.source_line);
    }
    cr_assert_eq(workload_next(b, &qb, &err), 0);
    workload_close(a);
    workload_close(b);
    rng_set_free(r1);
    rng_set_free(r2);
}

Test(workload, system_prompts_follow_zipf_popularity)
{
    /* 4 system prompts, Zipf s = 1: P(k) = (1/k) / H_4, H_4 = 25/12: 0.48, 0.24, 0.16,
     * 0.12. 40,000 requests: binomial sd at most 0.0025, tolerance 4 sd = 0.01. Each
     * prompt is its system prompt plus the drawn body (100 tokens). */
    struct workload_spec s = synth_spec(ARR_POISSON, 100.0, 40000);
    s.prefix.system.count = 4;
    s.prefix.system.tokens.dist = LEN_UNIFORM;
    s.prefix.system.tokens.min = 200;
    s.prefix.system.tokens.max = 900;
    s.prefix.system.zipf_s = 1.0;
    s.prefix.system.share_frac = 1.0;
    struct rng_set *rng = rng_set_new(5);
    struct workload *w = open_ok(&s, -1, rng);
    struct wl_request r;
    struct sim_err err = {0};
    uint64_t keys[4] = {0};
    int32_t lens[4] = {0};
    size_t cnt[4] = {0}, n = 0;
    while (workload_next(w, &r, &err) == 1) {
        cr_assert_eq(r.prefix.n, 1);
        cr_assert_not(r.prefix.open);
        cr_assert_eq(r.prompt_tokens, r.prefix.len_tokens[0] + 100);
        size_t k = 0;
        while (k < 4 && keys[k] && keys[k] != r.prefix.key[0])
            k++;
        cr_assert_lt(k, 4, "more than 4 distinct system prompts");
        if (!keys[k]) {
            keys[k] = r.prefix.key[0];
            lens[k] = r.prefix.len_tokens[0];
        }
        cr_assert_eq(lens[k], r.prefix.len_tokens[0], "a system prompt keeps its length");
        cnt[k]++;
        n++;
    }
    cr_assert_eq(n, 40000);
    /* keys are ranked: key & 0xff is the rank - 1 */
    const double p[4] = {0.48, 0.24, 0.16, 0.12};
    for (size_t k = 0; k < 4; k++) {
        size_t rank = (size_t)(keys[k] & 0xff);
        cr_assert_float_eq((double)cnt[k] / (double)n, p[rank], 0.01, "rank %zu", rank + 1);
    }
    workload_close(w);
    rng_set_free(rng);
}

Test(workload, a_session_turn_repeats_the_previous_prompt_and_answer)
{
    /* Sessions of exactly 3 turns, 10 s mean think time, no system prompt: turn k + 1's
     * prompt is turn k's prompt + its output + a new 100-token message, arrives later,
     * and names the same open session segment. 300 sessions at 1/s. */
    struct workload_spec s = synth_spec(ARR_POISSON, 1.0, 900);
    s.output.dist = LEN_UNIFORM;
    s.output.min = 1;
    s.output.max = 500;
    s.prefix.sessions.on = true;
    s.prefix.sessions.turns.dist = LEN_CONSTANT;
    s.prefix.sessions.turns.value = 3;
    s.prefix.sessions.think_time_us = 10000000;
    struct rng_set *rng = rng_set_new(6);
    struct workload *w = open_ok(&s, -1, rng);
    enum { NS = 400 };
    static int32_t last_prompt[NS], last_output[NS], turns[NS];
    static int64_t last_t[NS];
    struct wl_request r;
    struct sim_err err = {0};
    size_t n = 0;
    int64_t prev = 0;
    while (workload_next(w, &r, &err) == 1) {
        cr_assert_geq(r.arrival_us, prev);
        prev = r.arrival_us;
        cr_assert(r.session_id > 0 && r.session_id < NS);
        cr_assert_eq(r.prefix.n, 1);
        cr_assert(r.prefix.open);
        uint64_t sid = r.session_id;
        if (turns[sid] == 0) {
            cr_assert_eq(r.prompt_tokens, 100);
        } else {
            cr_assert_eq(r.prompt_tokens, last_prompt[sid] + last_output[sid] + 100);
            cr_assert_geq(r.arrival_us, last_t[sid]);
        }
        turns[sid]++;
        cr_assert_leq(turns[sid], 3);
        last_prompt[sid] = r.prompt_tokens;
        last_output[sid] = r.output_tokens;
        last_t[sid] = r.arrival_us;
        n++;
    }
    cr_assert_eq(n, 900);
    workload_close(w);
    rng_set_free(rng);
}
