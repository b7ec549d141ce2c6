/*
 * Closed-loop clients (workload.clients) and the benchmark metrics (ITL, throughput over
 * OK requests), checked against answers worked out by hand or by operational laws:
 *
 * - one sequence at a time (max_num_seqs 1) with constant service time D and N clients
 *   without think time: a closed system that is never idle, so throughput is 1/D and
 *   every request after the first round waits for the N - 1 ahead of it: e2e = N D;
 * - with think time Z: the interactive response-time law N = X (R + Z) (Denning and
 *   Buzen 1978), exactly in a deterministic case worked out by hand, and within the
 *   sampling error of the think times when they are exponential;
 * - vllm bench serve's semaphore: requests due at their own times, at most N in flight;
 * - a trace beside clients: its rows in order, timestamps ignored;
 * - inter-token latency (ITL) on a hand-worked timeline with a prefill between decodes.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "engine_harness.h"

/* D = a 1-token prefill of 5 ms + 3 decode iterations of 5 ms, as 4 output tokens. */
#define STEP_US 5000
#define D_US (4 * STEP_US)

static void closed_scenario(struct scenario *sc, int32_t clients, int64_t count)
{
    h_scenario(sc);
    sc->engine.max_num_seqs = 1;
    sc->engine.latency.prefill_per_token_us = STEP_US;
    sc->engine.latency.decode_iteration_ms = STEP_US / 1000.0;
    sc->workload.kind = WL_SYNTHETIC;
    sc->workload.clients.concurrency = clients;
    sc->workload.prompt.dist = LEN_CONSTANT;
    sc->workload.prompt.value = 1;
    sc->workload.output.dist = LEN_CONSTANT;
    sc->workload.output.value = 4;
    sc->workload.count = count;
    sc->record.samples = false;
}

/* Run `sc` on its own workload (the scenario's clients), rows into *out. */
static struct sim *run_own(const struct scenario *sc, struct h_sink *out, bool no_ff)
{
    gsl_set_error_handler_off();
    memset(out, 0, sizeof *out);
    static struct sim_sink sink;
    sink = (struct sim_sink){.ctx = out, .request = h_request, .sample = h_sample, .pod = h_pod};
    struct sim_options opt = {.sink = &sink, .no_fast_forward = no_ff};
    struct sim_err err = {0};
    struct sim *s = sim_new(sc, &opt, &err);
    cr_assert_not_null(s, "sim_new: %s", err.msg);
    cr_assert_eq(sim_run(s, &err), SIM_OK, "sim_run: %s", err.msg);
    return s;
}

Test(closed_loop, n_clients_no_think_time_give_1_over_d_and_n_d)
{
    const int64_t M = 240;
    const int32_t ns[] = {1, 2, 3, 8, 32};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        for (int ff = 0; ff < 2; ff++) {
            int32_t N = ns[k];
            struct scenario sc;
            closed_scenario(&sc, N, M);
            struct h_sink out;
            struct sim *s = run_own(&sc, &out, ff);
            const struct sim_result *r = sim_result(s);
            cr_assert_eq(r->n_outcome[OUTCOME_OK], (uint64_t)M);
            /* never idle from 0 to the last end: makespan M D, throughput 1/D */
            cr_assert_eq(r->end_us, M * D_US, "N=%d end %lld", N, (long long)r->end_us);
            cr_assert_float_eq(r->throughput_req_per_s, 1e6 / D_US, 1e-9, "N=%d", N);
            cr_assert_float_eq(r->bench_duration_s, (double)(M * D_US) * 1e-6, 1e-12);
            /* the first round waits for 0..N-1 ahead; every later request for N - 1 */
            for (int64_t i = 0; i < M; i++) {
                const struct rec_request *q = &out.rows[i];
                int64_t e2e = q->finish_us - q->arrival_us;
                int64_t want = i < N ? (i + 1) * D_US : (int64_t)N * D_US;
                cr_assert_eq(e2e, want, "N=%d request %lld: e2e %lld us, want %lld", N,
                             (long long)i, (long long)e2e, (long long)want);
                if (i >= N) /* sent when the request N places before it ended */
                    cr_assert_eq(q->arrival_us, out.rows[i - N].finish_us);
            }
            double mean = (double)N * (N + 1) / 2.0 + (double)(M - N) * N;
            cr_assert_float_eq(r->e2e.mean_s, mean * D_US * 1e-6 / (double)M, 1e-12);
            /* steady state: the median is exactly N D when most requests are past the
             * first round */
            cr_assert_float_eq(r->e2e.q_s[0], (double)N * D_US * 1e-6, 1e-12);
            /* TPOT and every ITL gap is one decode iteration */
            cr_assert_float_eq(r->tpot.mean_s, STEP_US * 1e-6, 1e-12);
            cr_assert_float_eq(r->itl.mean_s, STEP_US * 1e-6, 1e-12);
            cr_assert_float_eq(r->itl.q_s[0], STEP_US * 1e-6, 1e-12);
            cr_assert_float_eq(r->itl.q_s[3], STEP_US * 1e-6, 1e-12);
            cr_assert_eq(r->ok_output_tokens, (uint64_t)(4 * M));
            cr_assert_float_eq(r->ok_output_tokens_per_s, 4e6 / D_US, 1e-9);
            cr_assert_float_eq(r->ok_total_tokens_per_s, 5e6 / D_US, 1e-9);
            cr_assert_eq(r->clients, N);
            free(out.rows);
            sim_free(s);
        }
    }
}

Test(closed_loop, think_time_deterministic_by_hand)
{
    /* N = 2, Z = 50 ms, D = 20 ms. Client A sends at 0 (served 0-20), B at 0 (served
     * 20-40). A thinks to 70 (served 70-90), B to 90 (served 90-110), A again at 140, B at
     * 160, ...: from the second round on nobody waits, R = D, each client cycles every
     * R + Z = 70 ms, and X = N / (R + Z) = 2 / 70 ms. */
    struct scenario sc;
    closed_scenario(&sc, 2, 200);
    sc.workload.clients.think_time_us = 50000;
    struct h_sink out;
    struct sim *s = run_own(&sc, &out, false);
    cr_assert_eq(sim_result(s)->n_outcome[OUTCOME_OK], 200);
    const int64_t want_arrival[] = {0, 0, 70000, 90000, 140000, 160000, 210000, 230000};
    for (size_t i = 0; i < sizeof want_arrival / sizeof want_arrival[0]; i++)
        cr_assert_eq(out.rows[i].arrival_us, want_arrival[i], "request %zu at %lld", i,
                     (long long)out.rows[i].arrival_us);
    for (size_t i = 2; i < 200; i++) {
        cr_assert_eq(out.rows[i].finish_us - out.rows[i].arrival_us, D_US);
        cr_assert_eq(out.rows[i].arrival_us - out.rows[i - 2].finish_us, 50000);
    }
    /* the law over the steady state: 2 requests per 70 ms, R = 20 ms, Z = 50 ms */
    double X = 2.0 / 0.070, R = D_US * 1e-6, Z = 0.050;
    cr_assert_float_eq(X * (R + Z), 2.0, 1e-12);
    double span = (double)(out.rows[199].arrival_us - out.rows[3].arrival_us) * 1e-6;
    cr_assert_float_eq(196.0 / span, X, 1e-9, "measured X %.6f", 196.0 / span);
    free(out.rows);
    sim_free(s);
}

Test(closed_loop, exponential_think_time_obeys_response_time_law)
{
    /* N = 8 clients, Z ~ Exp(mean 100 ms), D = 20 ms: the server is busy about
     * X D = 8 / (R + Z) * D of the time. Over a long run, N = X (R + Z) holds with Z the
     * observed mean think time; against the nominal 100 ms the gap is the sampling error
     * of the mean of ~20000 exponential draws (sd 0.7%), so 3% is > 4 sd. */
    const int32_t N = 8;
    const int64_t M = 20000;
    struct scenario sc;
    closed_scenario(&sc, N, M);
    sc.workload.clients.think = THINK_EXPONENTIAL;
    sc.workload.clients.think_time_us = 100000;
    sc.record.requests = REC_REQUESTS_NONE;
    struct h_sink out;
    struct sim *s = run_own(&sc, &out, false);
    const struct sim_result *r = sim_result(s);
    double X = r->throughput_req_per_s, R = r->e2e.mean_s, Z = 0.100;
    double n = X * (R + Z);
    cr_assert(fabs(n - N) / N < 0.03, "X (R + Z) = %.4f * (%.4f + %.3f) = %.4f, want %d", X, R,
              Z, n, N);
    /* not saturated and not idle: waits happen (R > D) but X < 1 / D */
    cr_assert(R > D_US * 1e-6 && X < 1e6 / D_US, "R %.4f X %.3f", R, X);
    free(out.rows);
    sim_free(s);
}

Test(closed_loop, source_times_with_clients_are_vllm_bench_semaphore)
{
    /* `vllm bench serve --request-rate R --max-concurrency 2`: requests due at 0, 0, 0,
     * 100 ms, 200 ms; at most 2 in flight. Each takes D = 20 ms alone: 0-20 and 20-40
     * (batched? no: max_num_seqs 1), the third waits for a client: sent at 20 (when the
     * first ended), served 40-60; the fourth is due at 100 and goes out then; the fifth at
     * 200. TTFT and e2e count from the send. */
    struct scenario sc;
    closed_scenario(&sc, 2, 0);
    struct wl_request reqs[] = {h_req(0, 1, 4), h_req(0, 1, 4), h_req(0, 1, 4),
                                h_req(0.100, 1, 4), h_req(0.200, 1, 4)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 5, &out, false);
    const int64_t send[] = {0, 0, 20000, 100000, 200000};
    const int64_t fin[] = {20000, 40000, 60000, 120000, 220000};
    for (size_t i = 0; i < 5; i++) {
        cr_assert_eq(out.rows[i].arrival_us, send[i], "request %zu sent at %lld", i,
                     (long long)out.rows[i].arrival_us);
        cr_assert_eq(out.rows[i].finish_us, fin[i], "request %zu ended at %lld", i,
                     (long long)out.rows[i].finish_us);
    }
    free(out.rows);
    sim_free(s);
}

Test(closed_loop, duration_stops_the_sends)
{
    /* 2 clients, no count, duration 1 s: requests go out every D while the server is
     * busy; the last send is before 1 s, and nothing arrives after. */
    struct scenario sc;
    closed_scenario(&sc, 2, 0);
    sc.duration_us = 1000000;
    struct h_sink out;
    struct sim *s = run_own(&sc, &out, false);
    const struct sim_result *r = sim_result(s);
    /* sends at 0, 0, then at each end k D (k = 1..): the last before 1 s is at 980 ms */
    cr_assert_eq(r->n_requests, 2 + 49, "%llu", (unsigned long long)r->n_requests);
    cr_assert_lt(r->last_arrival_us, 1000000);
    cr_assert_eq(r->n_outcome[OUTCOME_OK], r->n_requests);
    free(out.rows);
    sim_free(s);
}

Test(closed_loop, trace_rows_in_order_timestamps_ignored)
{
    char path[] = "/tmp/llmcap_closed_trace_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    /* an hour apart: open loop they would never overlap */
    fprintf(f, "TIMESTAMP,ContextTokens,GeneratedTokens\n"
               "2023-11-16 10:00:00,1,4\n2023-11-16 11:00:00,1,2\n2023-11-16 12:00:00,1,4\n");
    fclose(f);
    struct scenario sc;
    closed_scenario(&sc, 1, 0);
    sc.workload.kind = WL_TRACE;
    sc.workload.format = TRACE_AZURE;
    sc.workload.time_scale = 1.0;
    sc.workload.rate_scale = 1.0;
    sc.workload.window_end_us = -1;
    snprintf(sc.workload.trace_path, sizeof sc.workload.trace_path, "%s", path);
    struct h_sink out;
    struct sim *s = run_own(&sc, &out, false);
    unlink(path);
    cr_assert_eq(out.n_rows, 3);
    /* one client: each row goes out when the previous one ends */
    cr_assert_eq(out.rows[0].arrival_us, 0);
    cr_assert_eq(out.rows[0].finish_us, 20000);
    cr_assert_eq(out.rows[1].arrival_us, 20000);
    cr_assert_eq(out.rows[1].output_tokens, 2);
    cr_assert_eq(out.rows[1].finish_us, 30000);
    cr_assert_eq(out.rows[2].arrival_us, 30000);
    cr_assert_eq(out.rows[2].finish_us, 50000);
    free(out.rows);
    sim_free(s);
}

Test(closed_loop, rejected_requests_free_their_client)
{
    /* max_model_len 4: a 1 + 4 token request is refused at once (HTTP 400); its client
     * sends the next at the same instant; the run ends after the count. */
    struct scenario sc;
    closed_scenario(&sc, 3, 50);
    sc.engine.max_model_len = 4;
    struct h_sink out;
    struct sim *s = run_own(&sc, &out, false);
    const struct sim_result *r = sim_result(s);
    cr_assert_eq(r->n_outcome[OUTCOME_REJECTED], 50);
    cr_assert_eq(r->end_us, 0);
    free(out.rows);
    sim_free(s);
}

Test(closed_loop, endless_zero_time_loop_is_an_error)
{
    /* every request refused at once, no think time, no count: the clients would send
     * forever at t = 0 */
    struct scenario sc;
    closed_scenario(&sc, 3, 0);
    sc.duration_us = 1000000;
    sc.engine.max_model_len = 4;
    sc.record.requests = REC_REQUESTS_NONE;
    struct sim_options opt = {0};
    struct sim_err err = {0};
    struct sim *s = sim_new(&sc, &opt, &err);
    cr_assert_not_null(s, "%s", err.msg);
    cr_assert_eq(sim_run(s, &err), SIM_EINVAL);
    cr_assert(strstr(err.msg, "each ended at once"), "%s", err.msg);
    sim_free(s);
}

Test(bench_metrics, itl_on_a_hand_worked_timeline)
{
    /* Constant model: 1 ms per prefill token, 10 ms per decode iteration.
     * A (10-token prompt, 4 out) at 0: prefill 0-10 (first token at 10), decode 10-20.
     * B (20-token prompt, 2 out) arrives at 15; the step at 20 is A's decode + B's
     * prefill: 20 + 10 = 30 ms, to 50 (A's 3rd token, B's first). Then both decode
     * 50-60: A's 4th and B's 2nd token. Gaps: A 10, 30, 10; B 10 (ms).
     * Mean ITL = 60 / 4 = 15 ms; median (type 7) of {10, 10, 10, 30} = 10 ms; p99 at
     * index 2.97: 10 + 0.97 * 20 = 29.4 ms; max 30 ms. TPOT: A 50/3, B 10 ms. */
    for (int ff = 0; ff < 2; ff++) {
        struct scenario sc;
        h_scenario(&sc);
        sc.engine.latency.prefill_per_token_us = 1000;
        sc.engine.latency.decode_iteration_ms = 10;
        struct wl_request reqs[] = {h_req(0, 10, 4), h_req(0.015, 20, 2)};
        struct h_sink out;
        struct sim *s = h_run(&sc, reqs, 2, &out, ff);
        const struct sim_result *r = sim_result(s);
        cr_assert_eq(out.rows[0].finish_us, 60000);
        cr_assert_eq(out.rows[1].first_token_us, 50000);
        cr_assert_eq(r->itl.n, 4);
        cr_assert_float_eq(r->itl.mean_s, 0.015, 1e-12);
        cr_assert_float_eq(r->itl.q_s[0], 0.010, 1e-12);
        cr_assert_float_eq(r->itl.q_s[3], 0.0294, 1e-12);
        cr_assert_float_eq(r->itl.max_s, 0.030, 1e-12);
        cr_assert_float_eq(r->tpot.mean_s, (0.050 / 3 + 0.010) / 2, 1e-12);
        /* vLLM: output throughput over OK requests per second of the benchmark */
        cr_assert_float_eq(r->bench_duration_s, 0.060, 1e-12);
        cr_assert_float_eq(r->ok_output_tokens_per_s, 6 / 0.060, 1e-9);
        cr_assert_float_eq(r->ok_total_tokens_per_s, 36 / 0.060, 1e-9);
        cr_assert_eq(r->clients, 0);
        free(out.rows);
        sim_free(s);
    }
}

Test(bench_metrics, itl_counts_one_gap_per_multi_step_chunk)
{
    /* vLLM 0.6 with --num-scheduler-steps 4 (the timeline of tests/sim/serving/
     * test_engine.c, multi_step_blocks_...): constant model, 100 us per prefill token,
     * 10 ms per decode step. A (100, 10 out) at 0, B (100, 2) at 20 ms. A's first token at
     * 10 ms, chunks at 50, 100 and 140 ms; B's first token at 60, its chunk at 100 ms.
     * The benchmark sees one ITL entry per streamed chunk: A 40, 50, 40; B 40 (ms):
     * mean 42.5 ms, median 40, max 50. TPOT counts tokens: A 130/9 ms, B 40 ms. */
    struct scenario sc;
    h_scenario(&sc);
    snprintf(sc.engine.vllm_version, sizeof sc.engine.vllm_version, "0.6.0");
    sc.engine.vllm_major = 0;
    sc.engine.vllm_minor = 6;
    sc.engine.enable_chunked_prefill = false;
    sc.engine.max_model_len = 2048;
    sc.engine.num_scheduler_steps = 4;
    struct wl_request reqs[] = {h_req(0, 100, 10), h_req(0.020, 100, 2)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 2, &out, false);
    const struct sim_result *r = sim_result(s);
    cr_assert_eq(out.rows[0].finish_us, 140000);
    cr_assert_eq(r->itl.n, 4);
    cr_assert_float_eq(r->itl.mean_s, 0.0425, 1e-12);
    cr_assert_float_eq(r->itl.q_s[0], 0.040, 1e-12);
    cr_assert_float_eq(r->itl.max_s, 0.050, 1e-12);
    cr_assert_float_eq(r->tpot.mean_s, (0.130 / 9 + 0.040) / 2, 1e-12);
    free(out.rows);
    sim_free(s);
}

Test(closed_loop, exponential_think_times_are_deterministic_per_seed)
{
    /* same scenario and seed: the same sends and ends, request by request; another seed
     * draws other think times (RNG_THINK) */
    int64_t first[3][64];
    for (int run = 0; run < 3; run++) {
        struct scenario sc;
        closed_scenario(&sc, 4, 64);
        sc.seed = run == 2 ? 7 : 1;
        sc.workload.clients.think = THINK_EXPONENTIAL;
        sc.workload.clients.think_time_us = 30000;
        struct h_sink out;
        struct sim *s = run_own(&sc, &out, run == 1);
        for (int i = 0; i < 64; i++)
            first[run][i] = out.rows[i].arrival_us * 1000003 + out.rows[i].finish_us;
        free(out.rows);
        sim_free(s);
    }
    cr_assert_arr_eq(first[0], first[1], sizeof first[0], "stepping and fast-forward differ");
    cr_assert(memcmp(first[0], first[2], sizeof first[0]) != 0, "another seed, same draws");
}
