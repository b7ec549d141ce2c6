/* Request classes against numbers worked out by hand and from upstream source: vLLM V1's
 * priority admission order (PriorityRequestQueue, (priority, arrival_time)) and its
 * preemption victim (max(self.running, key=(priority, arrival_time))), the endpoint
 * picker's saturation detector on hand-built metric snapshots and the shedding it drives,
 * per-class counts, and the semantic cache's hit ratio per prefix group within a binomial
 * bound. */
#include <criterion/criterion.h>
#include <math.h>

#include "sim/serving/router.h"
#include "sim/sim_int.h"
#include "tests/sim/engine_harness.h"

#define EPS 1e-9

static void two_classes(struct scenario *sc)
{
    sc->workload.n_classes = 2;
    sc->workload.classes[0] = (struct class_spec){.name = "interactive", .share = 0.5};
    sc->workload.classes[1] =
        (struct class_spec){.name = "batch", .share = 0.5, .priority = 1, .sheddable = true};
}

static struct wl_request creq(double t, int32_t prompt, int32_t output, int32_t cls)
{
    struct wl_request w = h_req(t, prompt, output);
    w.cls = cls;
    return w;
}

/* One sequence at a time, so admission order is the order of first tokens. A (batch) runs
 * from 0; B (batch) at 1 ms, C and D (interactive) at 2 and 3 ms, E (batch) at 4 ms wait.
 * Each request: prompt 100 (10 ms at 100 us/token) and 10 tokens (9 decodes of 10 ms):
 * 100 ms. Priority: C, D, B, E after A, so first tokens at 0.110, 0.210, 0.310, 0.410 for
 * C, D, B, E; FCFS: B, C, D, E. */
static void run_order(bool priority, double first_token[5])
{
    struct scenario sc;
    h_scenario(&sc);
    two_classes(&sc);
    sc.engine.max_num_seqs = 1;
    sc.engine.priority_scheduling = priority;
    struct wl_request reqs[] = {creq(0, 100, 10, 1), creq(0.001, 100, 10, 1),
                                creq(0.002, 100, 10, 0), creq(0.003, 100, 10, 0),
                                creq(0.004, 100, 10, 1)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 5, &out, false);
    cr_assert_eq(out.n_rows, 5);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(out.rows[i].outcome, OUTCOME_OK);
        first_token[i] = (double)out.rows[i].first_token_us * 1e-6;
    }
    sim_free(s);
    free(out.rows);
}

Test(classes, priority_admission_follows_priority_then_arrival)
{
    double ft[5];
    run_order(true, ft);
    cr_assert_float_eq(ft[0], 0.010, EPS);
    cr_assert_float_eq(ft[2], 0.110, EPS); /* C */
    cr_assert_float_eq(ft[3], 0.210, EPS); /* D */
    cr_assert_float_eq(ft[1], 0.310, EPS); /* B */
    cr_assert_float_eq(ft[4], 0.410, EPS); /* E */
    run_order(false, ft);
    cr_assert_float_eq(ft[1], 0.110, EPS);
    cr_assert_float_eq(ft[2], 0.210, EPS);
    cr_assert_float_eq(ft[3], 0.310, EPS);
    cr_assert_float_eq(ft[4], 0.410, EPS);
}

Test(classes, the_victim_is_the_running_request_with_the_largest_priority_and_arrival)
{
    /* running (admission order): r0 (0, 5 us), r1 (1, 1), r2 (1, 3), r3 (0, 9).
     * max by (priority, arrival): r2; FCFS pops the newest: r3. With r1 also at 3 us, the
     * first of the equal maxima (Python's max keeps the first): r1. */
    struct req r[4] = {0};
    int32_t pr[4] = {0, 1, 1, 0};
    int64_t at[4] = {5, 1, 3, 9};
    struct req *run[4];
    for (int i = 0; i < 4; i++) {
        r[i].priority = pr[i];
        r[i].dispatch_us = at[i];
        r[i].id = (uint64_t)i;
        run[i] = &r[i];
    }
    struct engine e = {0};
    e.running = run;
    e.n_running = 4;
    cr_assert_eq(engine_victim(&e, true), 2);
    cr_assert_eq(engine_victim(&e, false), 3);
    r[1].dispatch_us = 3;
    cr_assert_eq(engine_victim(&e, true), 1);
}

/* B (batch) at 0 and I (interactive) at 0.5 ms, each 100 prompt + 150 output tokens, in a
 * cache of 20 blocks of 16 tokens: both fit at first (7 blocks each) but not to the end
 * (16 blocks each), so one is preempted once and runs after the other. FCFS preempts the
 * newest (I); priority the batch request although it is older. */
static void run_victim(bool priority, uint64_t pre[2])
{
    struct scenario sc;
    h_scenario(&sc);
    two_classes(&sc);
    sc.engine.num_gpu_blocks = 20;
    sc.engine.max_model_len = 320;
    sc.engine.priority_scheduling = priority;
    struct wl_request reqs[] = {creq(0, 100, 150, 1), creq(0.0005, 100, 150, 0)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 2, &out, false);
    const struct sim_result *res = sim_result(s);
    cr_assert_eq(res->n_outcome[OUTCOME_OK], 2);
    pre[0] = res->cls[0].preemptions;
    pre[1] = res->cls[1].preemptions;
    sim_free(s);
    free(out.rows);
}

Test(classes, priority_preempts_the_lower_priority_request_fcfs_the_newest)
{
    uint64_t pre[2];
    run_victim(true, pre);
    cr_assert_eq(pre[0], 0); /* interactive */
    cr_assert_eq(pre[1], 1); /* batch */
    run_victim(false, pre);
    cr_assert_eq(pre[0], 1);
    cr_assert_eq(pre[1], 0);
}

Test(classes, the_saturation_detector_reads_the_thresholds_as_upstream)
{
    /* saturationdetector.go: a pod has capacity when its metrics are no older than the
     * staleness threshold and waiting <= 5 and KV usage <= 0.8 (both inclusive). */
    struct epp_saturation th = {5, 0.8, 200000};
    struct epp_view v[3] = {{6, 0.5, 0, 0}, {2, 0.85, 0, 0}, {0, 0.1, 0, 250000}};
    cr_assert(epp_saturated(v, 3, &th)); /* queue, KV, stale: none has capacity */
    v[2].age_us = 200000;                /* exactly at the threshold: fresh */
    cr_assert_not(epp_saturated(v, 3, &th));
    v[2].age_us = INT64_MAX;             /* never scraped */
    v[0].waiting = 5;                    /* at the queue threshold: capacity */
    cr_assert_not(epp_saturated(v, 3, &th));
    v[0].waiting = 6;
    v[1].kv_usage = 0.8; /* at the KV threshold: capacity */
    cr_assert_not(epp_saturated(v, 3, &th));
    cr_assert(epp_saturated(v, 0, &th)); /* no pod: no capacity */
}

Test(classes, the_picker_sheds_sheddable_requests_only_while_saturated)
{
    /* One replica, one sequence at a time; 8 interactive requests at 0 (1 running, 7
     * waiting; each lasts 100 ms). The refresh at 50 ms reads waiting 7 > 5: at 60 ms a
     * batch request is shed and an interactive one queues. A batch request at 0 saw the
     * idle pod (fresh zeros before the start): admitted. */
    struct scenario sc;
    h_scenario(&sc);
    two_classes(&sc);
    sc.engine.max_num_seqs = 1;
    sc.router.policy = ROUTER_ENDPOINT_PICKER;
    sc.router.epp = (struct epp_spec){.queue_weight = 2,
                                      .kv_cache_weight = 2,
                                      .prefix_weight = 3,
                                      .refresh_interval_us = 50000,
                                      .lru_capacity_per_server = 1000,
                                      .max_prefix_blocks = 256,
                                      .queue_depth_threshold = 5,
                                      .kv_cache_util_threshold = 0.8,
                                      .metrics_staleness_us = 200000};
    struct wl_request reqs[11];
    reqs[0] = creq(0, 100, 10, 1);
    for (int i = 1; i <= 8; i++)
        reqs[i] = creq(0, 100, 10, 0);
    reqs[9] = creq(0.06, 100, 10, 1);
    reqs[10] = creq(0.06, 100, 10, 0);
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 11, &out, false);
    cr_assert_eq(out.rows[0].outcome, OUTCOME_OK);
    cr_assert_eq(out.rows[9].outcome, OUTCOME_SHED);
    cr_assert_eq(out.rows[9].finish_us, 60000); /* answered at once */
    cr_assert_eq(out.rows[10].outcome, OUTCOME_OK);
    const struct sim_result *res = sim_result(s);
    cr_assert_eq(res->n_outcome[OUTCOME_SHED], 1);
    cr_assert_eq(res->cls[1].n_outcome[OUTCOME_SHED], 1);
    cr_assert_eq(res->cls[1].n_requests, 2);
    cr_assert_eq(res->cls[0].n_requests, 9);
    cr_assert_eq(res->cls[0].n_outcome[OUTCOME_OK], 9);
    cr_assert_float_eq(res->cls[1].error_rate, 0.5, EPS);
    sim_free(s);
    free(out.rows);
}

Test(classes, per_class_slos_are_measured_on_the_class_alone)
{
    /* max_num_seqs 1, each request 100 ms: interactive at 0 (TTFT 0.010), batch at 0
     * (TTFT 0.110), interactive at 0 (TTFT 0.210) in FCFS order. Interactive TTFT p50 (of
     * 0.010, 0.210, type 7) = 0.110; batch 0.110. An SLO ttft_p50 <= 0.1 s on interactive
     * fails, ttft_p50 <= 0.2 s on batch passes; run-wide slo_pass is false. */
    struct scenario sc;
    h_scenario(&sc);
    two_classes(&sc);
    sc.engine.max_num_seqs = 1;
    sc.workload.classes[0].slo[0] =
        (struct slo_item){.key = "ttft_p50", .metric = SLO_TTFT, .quantile = 0.5, .target = 0.1};
    sc.workload.classes[0].n_slo = 1;
    sc.workload.classes[1].slo[0] =
        (struct slo_item){.key = "ttft_p50", .metric = SLO_TTFT, .quantile = 0.5, .target = 0.2};
    sc.workload.classes[1].n_slo = 1;
    struct wl_request reqs[] = {creq(0, 100, 10, 0), creq(0, 100, 10, 1), creq(0, 100, 10, 0)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 3, &out, false);
    const struct sim_result *res = sim_result(s);
    cr_assert_float_eq(res->cls[0].slo[0].actual, 0.110, EPS);
    cr_assert_not(res->cls[0].slo_pass);
    cr_assert_float_eq(res->cls[1].slo[0].actual, 0.110, EPS);
    cr_assert(res->cls[1].slo_pass);
    cr_assert_not(res->slo_pass);
    cr_assert_eq(res->cls[0].ttft.n, 2);
    cr_assert_float_eq(res->cls[0].ttft.max_s, 0.210, EPS);
    sim_free(s);
    free(out.rows);
}

Test(classes, semantic_cache_hits_per_group_within_a_binomial_bound)
{
    /* 3,000 requests: groups A (hit_frac 0.6) and B (0.1) alternate on 2,000, 1,000 have
     * no group (hit_frac 0.25). Each group's hits ~ Binomial(n, p): within 4.5 standard
     * deviations (a false alarm about once in 150,000 seeds). */
    struct scenario sc;
    h_scenario(&sc);
    sc.engine.max_num_seqs = 256;
    sc.router.semantic_cache.hit_frac = 0.25;
    sc.router.semantic_cache.latency_us = 10000;
    snprintf(sc.router.semantic_cache.group[0], 64, "A");
    snprintf(sc.router.semantic_cache.group[1], 64, "B");
    sc.router.semantic_cache.group_hit_frac[0] = 0.6;
    sc.router.semantic_cache.group_hit_frac[1] = 0.1;
    sc.router.semantic_cache.n_groups = 2;
    enum { N = 3000 };
    static struct wl_request reqs[N];
    uint64_t ka = workload_group_key("A", 1), kb = workload_group_key("B", 1);
    for (int i = 0; i < N; i++) {
        reqs[i] = h_req(i * 0.01, 50, 5);
        reqs[i].group = i < 2000 ? (i % 2 ? kb : ka) : 0;
    }
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, N, &out, false);
    const struct sim_result *res = sim_result(s);
    cr_assert_eq(res->semantic_group_requests[0], 1000);
    cr_assert_eq(res->semantic_group_requests[1], 1000);
    const double p[2] = {0.6, 0.1};
    for (int g = 0; g < 2; g++) {
        double mean = 1000 * p[g], sd = sqrt(1000 * p[g] * (1 - p[g]));
        double hits = (double)res->semantic_group_hits[g];
        cr_assert(fabs(hits - mean) <= 4.5 * sd, "group %d: %g hits, expected %g +- %g", g,
                  hits, mean, 4.5 * sd);
    }
    uint64_t rest = res->semantic_hits - res->semantic_group_hits[0] - res->semantic_group_hits[1];
    double mean = 1000 * 0.25, sd = sqrt(1000 * 0.25 * 0.75);
    cr_assert(fabs((double)rest - mean) <= 4.5 * sd, "ungrouped: %llu hits",
              (unsigned long long)rest);
    cr_assert_eq(res->n_outcome[OUTCOME_OK], N);
    sim_free(s);
    free(out.rows);
}

Test(classes, a_trace_prefix_group_shares_its_leading_tokens)
{
    /* classes_gateway.csv with prefix_group_tokens 64 (four 16-token blocks): support-bot
     * rows of 120, 200 and 90 tokens, summariser rows of 4000, 3500, 5000, search 150, one
     * row without a group. Each group's later requests find its 64 tokens: 2 + 2 = 4
     * requests x 64 = 256 cached tokens of 13,360 looked up (one replica, a cache that
     * never evicts here). */
    struct scenario sc;
    h_scenario(&sc);
    struct workload_spec *w = &sc.workload;
    w->kind = WL_TRACE;
    snprintf(w->trace_path, sizeof w->trace_path, "%s", FIXTURES "/traces/classes_gateway.csv");
    w->format = TRACE_CSV;
    w->time_scale = w->rate_scale = 1.0;
    w->window_end_us = -1;
    w->time_format = TIME_MS;
    snprintf(w->columns.arrival, SC_NAME_MAX, "ts_ms");
    snprintf(w->columns.prompt, SC_NAME_MAX, "prompt");
    snprintf(w->columns.output, SC_NAME_MAX, "completion");
    snprintf(w->columns.prefix_group, SC_NAME_MAX, "app");
    w->prefix_group_tokens = 64;
    sc.engine.enable_prefix_caching = true;
    struct h_sink out = {0};
    struct sim_sink sink = {.ctx = &out, .request = h_request, .sample = h_sample, .pod = h_pod};
    struct sim_options opt = {.sink = &sink};
    struct sim_err err = {0};
    struct sim *s = sim_new(&sc, &opt, &err);
    cr_assert_not_null(s, "%s", err.msg);
    cr_assert_eq(sim_run(s, &err), SIM_OK, "%s", err.msg);
    const struct sim_result *res = sim_result(s);
    cr_assert_eq(res->n_outcome[OUTCOME_OK], 8);
    cr_assert_eq(res->prefix_queries_tokens, 13360);
    cr_assert_eq(res->prefix_hits_tokens, 256);
    sim_free(s);
    free(out.rows);
}
