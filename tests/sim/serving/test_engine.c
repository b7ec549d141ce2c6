/* vLLM and static engines against timelines worked out by hand, invariants, and exact
 * agreement between fast-forwarded decode runs and single steps. */
#include <criterion/criterion.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>

#include "sim/core/evq.h"
#include "tests/sim/engine_harness.h"

/* All times below are exact multiples of 1 us, so compare at 1e-9 s (float noise). */
#define EPS 1e-9

static double s_of(int64_t us)
{
    return (double)us * 1e-6;
}

Test(engine, single_request_prefill_then_decode_steps)
{
    /* constant model: 100 us per prefill token, 10 ms per decode iteration.
     * prompt 100 -> prefill step 10 ms -> first token at 0.010 s; 9 more decode steps of
     * 10 ms -> finish at 0.100 s; TPOT = 0.090 / 9 = 0.010 s. */
    struct scenario sc;
    h_scenario(&sc);
    struct wl_request reqs[] = {h_req(0, 100, 10)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 1, &out, false);
    cr_assert_eq(out.n_rows, 1);
    cr_assert_eq(out.rows[0].outcome, OUTCOME_OK);
    cr_assert_float_eq(s_of(out.rows[0].first_token_us), 0.010, EPS);
    cr_assert_float_eq(s_of(out.rows[0].finish_us), 0.100, EPS);
    const struct sim_result *r = sim_result(s);
    cr_assert_float_eq(r->tpot.q_s[0], 0.010, EPS);
    cr_assert_eq(r->output_tokens, 10);
    sim_free(s);
    free(out.rows);
}

Test(engine, long_prompt_is_chunked_by_the_token_budget)
{
    /* linear model: 5 ms per iteration + 100 us per prefill token. prompt 5000 with
     * max_num_batched_tokens 2048 -> chunks 2048, 2048, 904: 3 iterations, 5000 tokens.
     * TTFT = 3 * 0.005 + 5000 * 100e-6 = 0.515 s; one decode step (5 ms) -> 0.520 s. */
    struct scenario sc;
    h_scenario(&sc);
    sc.engine.latency.kind = LAT_LINEAR;
    sc.engine.latency.fixed_ms = 5;
    sc.engine.latency.per_prefill_token_us = 100;
    struct wl_request reqs[] = {h_req(0, 5000, 2)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 1, &out, false);
    cr_assert_float_eq(s_of(out.rows[0].first_token_us), 0.515, EPS);
    cr_assert_float_eq(s_of(out.rows[0].finish_us), 0.520, EPS);
    sim_free(s);
    free(out.rows);
}

Test(engine, running_requests_are_scheduled_before_waiting_ones_within_the_budget)
{
    /* constant model 100 us/prefill token, 10 ms/decode iteration, budget 2048.
     * A(1000 prompt, 5 out) and B(1500, 3) at t=0.
     * step 1: A prefill 1000 + B chunk 1048 = 2048 tokens -> 0.2048 s; A's first token.
     * step 2: A decodes, B's last 452 prompt tokens -> 0.0452 + 0.010 -> 0.2600; B's first.
     * steps 3, 4: both decode -> 0.27, 0.28 (B's third token: done at 0.28).
     * step 5: A alone -> 0.29 (A's fifth token: done). */
    struct scenario sc;
    h_scenario(&sc);
    struct wl_request reqs[] = {h_req(0, 1000, 5), h_req(0, 1500, 3)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 2, &out, false);
    cr_assert_float_eq(s_of(out.rows[0].first_token_us), 0.2048, EPS);
    cr_assert_float_eq(s_of(out.rows[0].finish_us), 0.29, EPS);
    cr_assert_float_eq(s_of(out.rows[1].first_token_us), 0.26, EPS);
    cr_assert_float_eq(s_of(out.rows[1].finish_us), 0.28, EPS);
    sim_free(s);
    free(out.rows);
}

Test(engine, kv_exhaustion_preempts_the_newest_request_which_recomputes_later)
{
    /* 10 blocks of 16 tokens; constant model 10 us/prefill token, 1 ms/decode iteration.
     * A and B: prompt 64, output 60, both at t=0.
     * step 1: both prefill (4 blocks each, 2 free), 1.28 ms: first tokens at 0.00128.
     * step 2: each needs a 5th block (65 tokens): free 2 -> 0. Steps 2..16 decode both.
     * Step j >= 2 needs 64 + (j - 1) slots, so at step 18 A needs an 81st slot, a 6th
     * block, and none is free: B, the newest, is preempted (frees 5) after 17 tokens. A
     * decodes alone; B cannot return (needs 6 blocks for its 64+17 tokens, A holds up to
     * 8 of 10) until A finishes after its 60th token: A: 1.28 ms + 59 * 1 ms = 60.28 ms.
     * B: recompute 81 tokens (0.81 ms) -> 18th token at 61.09 ms, then 42 decode steps ->
     * 103.09 ms. */
    struct scenario sc;
    h_scenario(&sc);
    sc.engine.num_gpu_blocks = 10;
    sc.engine.max_model_len = 160;
    sc.engine.latency.prefill_per_token_us = 10;
    sc.engine.latency.decode_iteration_ms = 1;
    struct wl_request reqs[] = {h_req(0, 64, 60), h_req(0, 64, 60)};
    for (int ff = 0; ff < 2; ff++) {
        struct h_sink out;
        struct sim *s = h_run(&sc, reqs, 2, &out, ff == 1);
        cr_assert_float_eq(s_of(out.rows[0].first_token_us), 0.00128, EPS);
        cr_assert_float_eq(s_of(out.rows[0].finish_us), 0.06028, EPS);
        cr_assert_eq(out.rows[0].preemptions, 0);
        cr_assert_float_eq(s_of(out.rows[1].first_token_us), 0.00128, EPS);
        cr_assert_float_eq(s_of(out.rows[1].finish_us), 0.10309, EPS);
        cr_assert_eq(out.rows[1].preemptions, 1);
        cr_assert_eq(out.rows[1].generated_tokens, 60);
        cr_assert_eq(sim_result(s)->preemptions, 1);
        cr_assert_leq(out.max_kv_frac, 1.0);
        sim_free(s);
        free(out.rows);
    }
}

Test(engine, prompt_plus_output_over_max_model_len_is_rejected)
{
    struct scenario sc;
    h_scenario(&sc);
    struct wl_request reqs[] = {h_req(0, 8000, 500), h_req(0.5, 100, 2)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 2, &out, false);
    cr_assert_eq(out.rows[0].outcome, OUTCOME_REJECTED);
    cr_assert_eq(out.rows[0].first_token_us, -1);
    cr_assert_eq(out.rows[1].outcome, OUTCOME_OK);
    const struct sim_result *r = sim_result(s);
    cr_assert_float_eq(r->error_rate, 0.5, EPS);
    sim_free(s);
    free(out.rows);
}

Test(engine, gateway_wait_ends_in_timeout_when_no_replica_frees_up)
{
    /* One replica that takes one request at a time; A occupies it for 2.01 s (prefill
     * 10 ms + 200 decode iterations... 1 + 199 * 10 ms = 2.0 s after the first token);
     * B waits at the gateway from 0.1 s and times out at 1.1 s. C arrives at 2.5 s and
     * is served at once. */
    struct scenario sc;
    h_scenario(&sc);
    sc.router.max_outstanding_per_replica = 1;
    sc.router.queue_timeout_us = 1000000;
    struct wl_request reqs[] = {h_req(0, 100, 200), h_req(0.1, 100, 2), h_req(2.5, 100, 2)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 3, &out, false);
    cr_assert_eq(out.rows[0].outcome, OUTCOME_OK);
    cr_assert_float_eq(s_of(out.rows[0].finish_us), 0.010 + 199 * 0.010, EPS);
    cr_assert_eq(out.rows[1].outcome, OUTCOME_TIMEOUT);
    cr_assert_float_eq(s_of(out.rows[1].finish_us), 1.1, EPS);
    cr_assert_eq(out.rows[1].replica, -1);
    cr_assert_eq(out.rows[2].outcome, OUTCOME_OK);
    cr_assert_float_eq(s_of(out.rows[2].first_token_us), 2.51, EPS);
    sim_free(s);
    free(out.rows);
}

Test(engine, gateway_queue_is_served_when_a_slot_frees)
{
    /* Same, but B waits only 0.9 s < timeout: it is dispatched at A's finish (2.0 s). */
    struct scenario sc;
    h_scenario(&sc);
    sc.router.max_outstanding_per_replica = 1;
    sc.router.queue_timeout_us = 5000000;
    struct wl_request reqs[] = {h_req(0, 100, 200), h_req(0.1, 100, 2)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 2, &out, false);
    cr_assert_eq(out.rows[1].outcome, OUTCOME_OK);
    cr_assert_float_eq(s_of(out.rows[1].first_token_us), 2.0 + 0.010, EPS);
    cr_assert_float_eq(sim_result(s)->queue.max_s, 1.9, EPS);
    sim_free(s);
    free(out.rows);
}

Test(engine, static_batches_prefill_together_and_finish_together)
{
    /* batch_size 2; constant 100 us/prefill token, 10 ms/decode iteration.
     * A(100, 5), B(200, 3), C(50, 2) at t=0. Batch 1 = A, B: prefill 300 tokens = 30 ms
     * (first tokens at 0.03), then 4 decode iterations (longest output 5) -> 0.07 for
     * both. Batch 2 = C: prefill 5 ms -> 0.075, 1 decode -> 0.085. */
    struct scenario sc;
    h_scenario(&sc);
    sc.engine.kind = ENGINE_STATIC;
    sc.engine.static_batch_size = 2;
    struct wl_request reqs[] = {h_req(0, 100, 5), h_req(0, 200, 3), h_req(0, 50, 2)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 3, &out, false);
    cr_assert_float_eq(s_of(out.rows[0].first_token_us), 0.03, EPS);
    cr_assert_float_eq(s_of(out.rows[0].finish_us), 0.07, EPS);
    cr_assert_float_eq(s_of(out.rows[1].finish_us), 0.07, EPS);
    cr_assert_float_eq(s_of(out.rows[2].first_token_us), 0.075, EPS);
    cr_assert_float_eq(s_of(out.rows[2].finish_us), 0.085, EPS);
    cr_assert_eq(sim_result(s)->output_tokens, 10);
    sim_free(s);
    free(out.rows);
}

/* A random but fixed workload: bursts of requests with varied lengths. */
static struct wl_request *random_workload(size_t n, unsigned seed, int max_prompt,
                                          int max_output)
{
    struct wl_request *w = calloc(n, sizeof *w);
    uint64_t x = seed, t = 0;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        t += (x >> 40) % 400000; /* 0..0.4 s gaps */
        w[i].arrival_us = (int64_t)t;
        x = x * 6364136223846793005u + 1442695040888963407u;
        w[i].prompt_tokens = 1 + (int32_t)((x >> 33) % (uint64_t)max_prompt);
        x = x * 6364136223846793005u + 1442695040888963407u;
        w[i].output_tokens = 1 + (int32_t)((x >> 33) % (uint64_t)max_output);
    }
    return w;
}

static void check_same_rows(const struct h_sink *a, const struct h_sink *b)
{
    cr_assert_eq(a->n_rows, b->n_rows);
    for (size_t i = 0; i < a->n_rows; i++) {
        const struct rec_request *x = &a->rows[i], *y = &b->rows[i];
        cr_assert(x->id == y->id && x->arrival_us == y->arrival_us &&
                      x->prompt_tokens == y->prompt_tokens &&
                      x->output_tokens == y->output_tokens &&
                      x->generated_tokens == y->generated_tokens && x->replica == y->replica &&
                      x->first_token_us == y->first_token_us && x->finish_us == y->finish_us &&
                      x->preemptions == y->preemptions && x->retries == y->retries &&
                      x->outcome == y->outcome,
                  "request %zu differs: first token %lld vs %lld, finish %lld vs %lld", i,
                  (long long)x->first_token_us, (long long)y->first_token_us,
                  (long long)x->finish_us, (long long)y->finish_us);
    }
}

Test(engine, fast_forwarded_decode_runs_match_single_steps_exactly)
{
    /* Linear model with a context term (iteration times change every step), a KV cache
     * small enough to preempt, chunked prefill and two replicas. */
    struct scenario sc;
    h_scenario_preempting(&sc);
    size_t n = 3000;
    struct wl_request *w = random_workload(n, 99, 2000, 600);
    struct h_sink ff, step;
    struct sim *a = h_run(&sc, w, n, &ff, false);
    struct sim *b = h_run(&sc, w, n, &step, true);
    check_same_rows(&ff, &step);
    cr_assert_gt(sim_result(a)->preemptions, 0, "the workload should preempt");
    cr_assert_eq(sim_result(a)->output_tokens, sim_result(b)->output_tokens);
    /* The fast path must actually save events. */
    cr_assert_lt(sim_result(a)->events, sim_result(b)->events / 2);
    sim_free(a);
    sim_free(b);
    free(ff.rows);
    free(step.rows);
    free(w);
}

/* Two summaries of one distribution are the same, to the bit. */
static bool same_stats(const struct latency_stats *a, const struct latency_stats *b)
{
    bool same = a->n == b->n && memcmp(&a->mean_s, &b->mean_s, sizeof a->mean_s) == 0 &&
                memcmp(&a->max_s, &b->max_s, sizeof a->max_s) == 0;
    for (int i = 0; i < SIM_NQ; i++)
        same = same && memcmp(&a->q_s[i], &b->q_s[i], sizeof a->q_s[i]) == 0;
    return same;
}

/*
 * Lazy mode (docs/engine.md): run ends and steps that leave the batch alone but for
 * requests finishing or joining visit only those, and owe the rest their tokens, blocks
 * and ITL gaps. Stepping every iteration visits everyone every time. Both must give the
 * same rows, the same ITL distribution and per-request ITL sums (behind the means), the
 * same KV cache use (preemptions, prefix cache hits); with and without prefix caching.
 */
Test(engine, lazy_decode_runs_and_steps_give_what_single_steps_give)
{
    for (int caching = 0; caching <= 1; caching++) {
        struct scenario sc;
        h_scenario_preempting(&sc);
        sc.engine.enable_prefix_caching = caching;
        size_t n = 2500;
        struct wl_request *w = random_workload(n, 7 + (unsigned)caching, 1500, 700);
        struct h_sink ff, step;
        struct sim *a = h_run(&sc, w, n, &ff, false);
        struct sim *b = h_run(&sc, w, n, &step, true);
        check_same_rows(&ff, &step);
        const struct sim_result *x = sim_result(a), *y = sim_result(b);
        cr_assert_gt(x->preemptions, 0, "the workload should preempt");
        cr_assert_eq(x->preemptions, y->preemptions);
        cr_assert_eq(x->output_tokens, y->output_tokens);
        cr_assert_eq(x->prefix_hits_tokens, y->prefix_hits_tokens);
        cr_assert_eq(x->prefix_queries_tokens, y->prefix_queries_tokens);
        cr_assert(same_stats(&x->itl, &y->itl),
                  "ITL differs (caching %d): mean %.9g vs %.9g, max %.9g vs %.9g", caching,
                  x->itl.mean_s, y->itl.mean_s, x->itl.max_s, y->itl.max_s);
        cr_assert(same_stats(&x->tpot, &y->tpot));
        cr_assert(x->itl.n > 0 && x->itl.mean_s > 0);
        sim_free(a);
        sim_free(b);
        free(ff.rows);
        free(step.rows);
        free(w);
    }
}

Test(engine, every_request_ends_once_and_tokens_are_conserved)
{
    /* Overloaded on purpose (about 400 output tokens every 0.2 s on 3 replicas), so the
     * 1 h drain timeout ends some requests as unfinished. */
    struct scenario sc;
    h_scenario(&sc);
    sc.fleet.replicas = 3;
    sc.engine.num_gpu_blocks = 400;
    sc.engine.max_model_len = 4096;
    sc.router.policy = ROUTER_ROUND_ROBIN;
    size_t n = 5000;
    struct wl_request *w = random_workload(n, 7, 3000, 800);
    struct h_sink out;
    struct sim *s = h_run(&sc, w, n, &out, false);
    const struct sim_result *r = sim_result(s);
    cr_assert_eq(out.n_rows, n); /* h_request aborts on a second end of the same id */
    cr_assert_eq(r->n_requests, n);
    uint64_t sum_out = 0, gen = 0, ended = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(out.rows[i].id, i);
        gen += (uint64_t)out.rows[i].generated_tokens;
        cr_assert_leq(out.rows[i].generated_tokens, out.rows[i].output_tokens);
        if (out.rows[i].outcome != OUTCOME_OK) {
            sum_out += (uint64_t)out.rows[i].generated_tokens;
        } else {
            cr_assert_eq(out.rows[i].generated_tokens, out.rows[i].output_tokens);
            sum_out += (uint64_t)out.rows[i].output_tokens;
            cr_assert_geq(out.rows[i].first_token_us, out.rows[i].arrival_us);
            cr_assert_geq(out.rows[i].finish_us, out.rows[i].first_token_us);
        }
    }
    for (int o = 0; o < OUTCOME_N; o++)
        ended += r->n_outcome[o];
    cr_assert_eq(ended, n);
    cr_assert_gt(r->n_outcome[OUTCOME_UNFINISHED], 0);
    cr_assert_gt(r->n_outcome[OUTCOME_OK], 0);
    cr_assert_eq(gen, r->output_tokens);
    cr_assert_eq(sum_out, gen);
    cr_assert_leq(out.max_kv_frac, 1.0);
    cr_assert_gt(out.n_samples, 0);
    /* The drain cut must land on the same iteration with and without fast-forward. */
    struct h_sink step;
    struct sim *s2 = h_run(&sc, w, n, &step, true);
    check_same_rows(&out, &step);
    sim_free(s2);
    free(step.rows);
    sim_free(s);
    free(out.rows);
    free(w);
}

Test(engine, same_input_same_rows)
{
    struct scenario sc;
    h_scenario(&sc);
    sc.fleet.replicas = 2;
    size_t n = 1000;
    struct wl_request *w = random_workload(n, 3, 1500, 300);
    struct h_sink a, b;
    struct sim *s1 = h_run(&sc, w, n, &a, false);
    struct sim *s2 = h_run(&sc, w, n, &b, false);
    check_same_rows(&a, &b);
    sim_free(s1);
    sim_free(s2);
    free(a.rows);
    free(b.rows);
    free(w);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

Test(engine, percentiles_are_exact_order_statistics)
{
    /* The summary's percentiles come from selection, not sorting: they must equal, bit
     * for bit, GSL's type-7 quantile of the sorted TTFTs recomputed here from the rows. */
    struct scenario sc;
    h_scenario(&sc);
    sc.fleet.replicas = 2;
    size_t n = 3000;
    struct wl_request *w = random_workload(n, 11, 1500, 300);
    struct h_sink out;
    struct sim *s = h_run(&sc, w, n, &out, false);
    double *ttft = calloc(n, sizeof *ttft);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (out.rows[i].outcome == OUTCOME_OK)
            ttft[k++] = (double)(out.rows[i].first_token_us - out.rows[i].arrival_us) * 1e-6;
    qsort(ttft, k, sizeof *ttft, cmp_double);
    const struct sim_result *r = sim_result(s);
    cr_assert_eq(r->ttft.n, k);
    for (int q = 0; q < SIM_NQ; q++)
        cr_assert_eq(r->ttft.q_s[q], gsl_stats_quantile_from_sorted_data(ttft, 1, k,
                                                                          sim_quantiles[q]),
                     "quantile %g", sim_quantiles[q]);
    cr_assert_eq(r->ttft.max_s, ttft[k - 1]);
    sim_free(s);
    free(out.rows);
    free(ttft);
    free(w);
}

Test(engine, sampled_request_rows_are_a_deterministic_fraction)
{
    /* record.requests: sample keeps a request's row when a hash of its id and the seed
     * falls under sample_frac: about 20% of 5000 (binomial sd = sqrt(5000*0.2*0.8) = 28,
     * so 4 sd = 113), the same ids on a second run, and every request still counts in the
     * summary. */
    struct scenario sc;
    h_scenario(&sc);
    sc.fleet.replicas = 4;
    sc.record.requests = REC_REQUESTS_SAMPLE;
    sc.record.sample_frac = 0.2;
    size_t n = 5000;
    struct wl_request *w = random_workload(n, 5, 500, 50);
    struct h_sink a, b;
    struct sim *s1 = h_run(&sc, w, n, &a, false);
    struct sim *s2 = h_run(&sc, w, n, &b, false);
    cr_assert_lt(labs((long)a.n_rows - 1000), 113, "kept %zu of 5000", a.n_rows);
    cr_assert_eq(a.n_rows, b.n_rows);
    for (size_t i = 0; i < a.cap && i < b.cap; i++)
        cr_assert_eq(a.rows[i].id == i, b.rows[i].id == i, "row %zu kept in one run only", i);
    cr_assert_eq(sim_result(s1)->n_requests, n);
    sim_free(s1);
    sim_free(s2);
    free(a.rows);
    free(b.rows);
    free(w);
}

/* ---- vLLM versions: V0 prefill-first, multi-step blocks, the front end ---------------- */

/* vLLM 0.6.0 as the shipped calibration runs had it: V0, no chunked prefill. */
static void h_scenario_v06(struct scenario *sc, int steps)
{
    h_scenario(sc);
    snprintf(sc->engine.vllm_version, sizeof sc->engine.vllm_version, "0.6.0");
    sc->engine.vllm_major = 0;
    sc->engine.vllm_minor = 6;
    sc->engine.enable_chunked_prefill = false;
    sc->engine.max_model_len = 2048;
    sc->engine.num_scheduler_steps = steps;
}

Test(engine, v0_without_chunked_prefill_runs_prefills_alone_first)
{
    /* vLLM 0.6 (V0), chunked prefill off, constant model 100 us/prefill token, 10 ms per
     * decode step. A (prompt 100, 5 out) at 0, B (200, 3) at 15 ms.
     * 0-10 A's prefill (first token 10 ms); 10-20 A decodes (2 tokens); at 20 B waits, so
     * V0 runs B's prefill alone: 20-40 (B's first token 40 ms, A idle); 40-50 and 50-60
     * both decode (B's third token at 60: done); 60-70 A's fifth token: done at 70 ms.
     * (V1 would mix B's prefill with A's decode in one step.) */
    struct scenario sc;
    h_scenario_v06(&sc, 1);
    struct wl_request reqs[] = {h_req(0, 100, 5), h_req(0.015, 200, 3)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 2, &out, false);
    cr_assert_float_eq(s_of(out.rows[0].first_token_us), 0.010, EPS);
    cr_assert_float_eq(s_of(out.rows[1].first_token_us), 0.040, EPS);
    cr_assert_float_eq(s_of(out.rows[1].finish_us), 0.060, EPS);
    cr_assert_float_eq(s_of(out.rows[0].finish_us), 0.070, EPS);
    sim_free(s);
    free(out.rows);
}

Test(engine, multi_step_blocks_make_arrivals_wait_and_stream_in_chunks)
{
    /* vLLM 0.6 with --num-scheduler-steps 4, constant model (100 us/prefill token, 10 ms
     * per decode step). A (prompt 100, 10 out) at 0; B (100, 2) at 20 ms.
     * 0-10 A's prefill (first token at 10 ms). 10-50 a block of 4 decode steps (A: 5
     * tokens). B arrived at 20 and waits for the block: 50-60 B's prefill (first token
     * 60 ms, TTFT 40 ms). 60-100 a block of A and B: A gets 4 (9), B its last 1 and ends
     * at 100 ms although its token was computed at 70 (tokens reach the client at the
     * block's end). 100-140: a block for A's last token (the block runs its 4 steps):
     * A ends at 140 ms. */
    struct scenario sc;
    h_scenario_v06(&sc, 4);
    struct wl_request reqs[] = {h_req(0, 100, 10), h_req(0.020, 100, 2)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 2, &out, false);
    cr_assert_float_eq(s_of(out.rows[0].first_token_us), 0.010, EPS);
    cr_assert_float_eq(s_of(out.rows[1].first_token_us), 0.060, EPS);
    cr_assert_float_eq(s_of(out.rows[1].finish_us), 0.100, EPS);
    cr_assert_float_eq(s_of(out.rows[0].finish_us), 0.140, EPS);
    cr_assert_eq(sim_result(s)->output_tokens, 12);
    sim_free(s);
    free(out.rows);
}

/* The front-end tests' engine: linear model, 1 ms per iteration + 10 us per prefill
 * token, `fe_ms` after the API server, `req_ms` in it per request. */
static void fe_scenario(struct scenario *sc, double fe_ms, double req_ms)
{
    h_scenario(sc);
    sc->engine.latency.kind = LAT_LINEAR;
    sc->engine.latency.fixed_ms = 1;
    sc->engine.latency.per_prefill_token_us = 10;
    sc->engine.latency.frontend_ms = fe_ms;
    sc->engine.latency.frontend_request_ms = req_ms;
}

Test(engine, front_end_time_adds_to_ttft_and_e2e_not_to_the_iteration)
{
    /* linear model: 1 ms per iteration + 10 us per prefill token, front end 5 ms.
     * A (100, 2) at 0 reaches the scheduler at 5 ms; prefill 1 + 1 = 2 ms -> first token
     * at 7 ms. B (100, 2) at 1 ms reaches it at 6 ms, while A's prefill runs, and its
     * prefill joins A's decode step: 7-9 ms (1 ms + 100 x 10 us): A done and B's first
     * token at 9 ms; 9-10 B's decode: done at 10 ms. */
    struct scenario sc;
    fe_scenario(&sc, 5, 0);
    struct wl_request reqs[] = {h_req(0, 100, 2), h_req(0.001, 100, 2)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 2, &out, false);
    cr_assert_float_eq(s_of(out.rows[0].first_token_us), 0.007, EPS);
    cr_assert_float_eq(s_of(out.rows[0].finish_us), 0.009, EPS);
    cr_assert_float_eq(s_of(out.rows[1].first_token_us), 0.009, EPS);
    cr_assert_float_eq(s_of(out.rows[1].finish_us), 0.010, EPS);
    sim_free(s);
    free(out.rows);
}

/* The API server shares its time among the requests it is taking in (processor sharing,
 * frontend_request_ms of work each), then a request needs frontend_ms more to reach the
 * scheduler; first tokens stream after the work the server held by then. Three requests
 * at 0, 1 ms of work each, 5 ms after the server, fixed step 1 ms + 10 us per prefill
 * token, 2 output tokens each (V1, budget 8192 tokens):
 *   the three share the server: each has had 1 ms of work at 3 ms, all reach the
 *   scheduler at 3 + 5 = 8 ms (one at a time would have been 6, 7, 8 ms);
 *   one step prefills all three: 1 + 300 x 10 us = 4 ms -> first tokens at 12 ms (the
 *   server is free from 3 ms); one decode step 12 -> 13 ms: all done at 13 ms. */
Test(engine, the_api_server_takes_a_burst_in_together)
{
    struct scenario sc;
    fe_scenario(&sc, 5, 1);
    struct wl_request reqs[] = {h_req(0, 100, 2), h_req(0, 100, 2), h_req(0, 100, 2)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 3, &out, false);
    for (int i = 0; i < 3; i++) {
        cr_assert_float_eq(s_of(out.rows[i].first_token_us), 0.012, EPS, "request %d", i);
        cr_assert_float_eq(s_of(out.rows[i].finish_us), 0.013, EPS, "request %d", i);
    }
    sim_free(s);
    free(out.rows);
}

/* Processor sharing with requests that arrive apart: A at 0 and B at 0.5 ms, 1 ms of
 * work each, nothing after the server. A has 0.5 ms of work done when B arrives; then
 * both get half the server: A's last 0.5 ms take 1 ms, A reaches the scheduler at 1.5 ms
 * (B has had 0.5 ms by then); B alone finishes its last 0.5 ms at 2.0 ms.
 * A prefills 1.5 -> 3.5 ms (1 + 100 x 10 us): first token at 3.5 ms. B waits for that
 * step; 3.5 -> 5.5 ms A's decode and B's prefill (1 + 1 ms): A done and B's first token
 * at 5.5 ms; B's decode 5.5 -> 6.5 ms. */
Test(engine, the_api_server_shares_its_time_between_requests)
{
    struct scenario sc;
    fe_scenario(&sc, 0, 1);
    struct wl_request reqs[] = {h_req(0, 100, 2), h_req(0.0005, 100, 2)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 2, &out, false);
    cr_assert_float_eq(s_of(out.rows[0].first_token_us), 0.0035, EPS);
    cr_assert_float_eq(s_of(out.rows[0].finish_us), 0.0055, EPS);
    cr_assert_float_eq(s_of(out.rows[1].first_token_us), 0.0055, EPS);
    cr_assert_float_eq(s_of(out.rows[1].finish_us), 0.0065, EPS);
    sim_free(s);
    free(out.rows);
}

/* A burst of 10 requests at 0 with 10 ms each in the server is taken in at 100 ms, all
 * together: one step prefills the 10 prompts, 1 + 1000 x 10 us = 11 ms: every first
 * token at 111 ms (what the 10-request bursts of the shipped vLLM 0.6 runs show: equal
 * TTFTs within 2 ms). */
Test(engine, a_bursts_first_tokens_come_out_together)
{
    struct scenario sc;
    fe_scenario(&sc, 0, 10);
    struct wl_request reqs[10];
    for (int i = 0; i < 10; i++)
        reqs[i] = h_req(0, 100, 3);
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 10, &out, false);
    for (int i = 0; i < 10; i++)
        cr_assert_float_eq(s_of(out.rows[i].first_token_us), 0.111, EPS, "request %d", i);
    sim_free(s);
    free(out.rows);
}

/* ---- the clock's range: a step or an event past it is a runtime error, never a wrap */

static int run_expect_fail(const struct scenario *sc, const struct wl_request *reqs, size_t n,
                           bool no_ff, struct sim_err *err)
{
    struct h_sink out;
    memset(&out, 0, sizeof out);
    static struct h_source src;
    src = (struct h_source){reqs, n, 0};
    static struct sim_source source;
    static struct sim_sink sink;
    source = (struct sim_source){&src, h_next};
    sink = (struct sim_sink){.ctx = &out, .request = h_request, .sample = h_sample, .pod = h_pod};
    struct sim_options opt = {.sink = &sink, .source = &source, .no_fast_forward = no_ff};
    struct sim *s = sim_new(sc, &opt, err);
    cr_assert(s, "%s", err->msg);
    int rc = sim_run(s, err);
    sim_free(s);
    free(out.rows);
    return rc;
}

Test(engine, a_step_past_the_clock_is_a_runtime_error)
{
    /* One hour per decode iteration (the largest decode_iteration_ms the loader takes)
     * and 9e6 output tokens: 9e6 hours, past the clock's 36500 days (876000 hours).
     * With the drain deadline at the clock's end, the request is cut there (unfinished),
     * stepped or fast-forwarded alike. */
    for (int no_ff = 0; no_ff <= 1; no_ff++) {
        struct scenario sc;
        h_scenario(&sc);
        sc.engine.latency.decode_iteration_ms = LAT_STEP_MS_MAX;
        sc.engine.max_model_len = 10000000;
        sc.engine.num_gpu_blocks = 1000000;
        sc.drain_timeout_us = SIM_CLOCK_MAX_US;
        sc.fleet.scrape_interval_us = 86400LL * 1000000; /* few events over a century */
        struct wl_request reqs[] = {h_req(0, 10, 9000000)};
        struct h_sink out;
        struct sim *s = h_run(&sc, reqs, 1, &out, no_ff);
        cr_assert_eq(out.rows[0].outcome, OUTCOME_UNFINISHED);
        cr_assert_eq(sim_result(s)->end_us, SIM_CLOCK_MAX_US);
        sim_free(s);
        free(out.rows);
    }
}

Test(engine, an_event_past_the_clock_is_a_runtime_error)
{
    /* An arrival one microsecond past the clock's range (a source that was not bounded
     * like the readers are): refused when it comes up, not run. */
    struct scenario sc;
    h_scenario(&sc);
    struct wl_request reqs[] = {h_req(1, 100, 10), h_req(2, 100, 10)};
    reqs[1].arrival_us = SIM_CLOCK_MAX_US + 1;
    sc.fleet.scrape_interval_us = 86400LL * 1000000; /* few events over a century */
    struct sim_err err = {0};
    cr_assert_eq(run_expect_fail(&sc, reqs, 2, false, &err), SIM_ERANGE);
    cr_assert(strstr(err.msg, "past the simulated clock's range (36500d)"), "%s", err.msg);
}
