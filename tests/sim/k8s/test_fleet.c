/* Pod lifecycle against hand-computed timelines: start-up phases, image caching on
 * nodes, scale-in order, draining with a grace period, and a GPU limit. */
#include <criterion/criterion.h>

#include "tests/sim/engine_harness.h"
#include "sim/sim_int.h"

#define EPS 1e-9

static void set_desired_ev(struct sim *s, void *obj, uint64_t arg)
{
    (void)obj;
    fleet_set_desired(s->deps[0], (int32_t)arg);
}

struct change {
    double t_s;
    int32_t desired;
};

/* Run with scripted Deployment changes (what an autoscaler would write). */
static struct sim *run_with_changes(const struct scenario *sc, const struct wl_request *reqs,
                                    size_t n, const struct change *ch, size_t n_ch,
                                    struct h_sink *out)
{
    gsl_set_error_handler_off();
    memset(out, 0, sizeof *out);
    static struct h_source src;
    static struct sim_source source;
    static struct sim_sink sink;
    src = (struct h_source){reqs, n, 0};
    source = (struct sim_source){&src, h_next};
    sink = (struct sim_sink){.ctx = out, .request = h_request, .sample = h_sample, .pod = h_pod};
    struct sim_options opt = {.sink = &sink, .source = &source};
    struct sim_err err = {0};
    struct sim *s = sim_new(sc, &opt, &err);
    cr_assert_not_null(s, "%s", err.msg);
    for (size_t i = 0; i < n_ch; i++)
        evq_push(s->q, (int64_t)(ch[i].t_s * 1e6), PRIO_CONTROL, set_desired_ev, NULL,
                 (uint64_t)ch[i].desired);
    cr_assert_eq(sim_run(s, &err), SIM_OK, "%s", err.msg);
    return s;
}

/* Two replicas, A on pod 0 and B on pod 1 at 0 s (100-token prompts, 1000 tokens out),
 * and the Deployment going 2 -> 1 at 1 s: the pods tie in every ReplicaSet rule (ready and
 * created in the same second), so the lower UID goes: with seed 1, pod 1's. */
static struct sim *run_scale_in(struct scenario *sc, struct h_sink *out)
{
    static const struct wl_request reqs[] = {
        {.arrival_us = 0, .prompt_tokens = 100, .output_tokens = 1000},
        {.arrival_us = 0, .prompt_tokens = 100, .output_tokens = 1000}};
    static const struct change ch[] = {{1, 1}};
    sc->fleet.replicas = 2;
    struct sim *s = run_with_changes(sc, reqs, 2, ch, 1, out);
    cr_assert_lt(s->deps[0]->pods[1]->uid, s->deps[0]->pods[0]->uid);
    return s;
}

static const struct rec_pod *pod_row(const struct h_sink *out, int32_t id)
{
    for (size_t i = 0; i < out->n_pods; i++)
        if (out->pods[i].pod_id == id)
            return &out->pods[i];
    cr_assert_fail("no row for pod %d", id);
    return NULL;
}

static void startup_scenario(struct scenario *sc)
{
    h_scenario(sc);
    sc->engine.startup.image_gib = 12;
    sc->engine.startup.image_pull_gib_per_s = 0.1;
    sc->engine.startup.weights_gib = 15;
    sc->engine.startup.weights_gib_per_s = 3.0;
    sc->engine.startup.engine_init_us = 40000000;
    sc->engine.startup.engine_init_cold_us = 240000000;
    sc->engine.startup.compile_cache = CACHE_WARM;
    sc->engine.termination.grace_period_us = 30000000;
    h_lenient_termination(sc);
}

Test(fleet, new_pod_pulls_loads_and_initialises_before_it_is_ready)
{
    /* Scale 1 -> 2 at 10 s. A new node appears at once (no GPU limit) without the image:
     * pull 12 GiB / 0.1 GiB/s = 120 s -> 130 s; load 15 GiB / 3 GiB/s = 5 s -> 135 s;
     * engine init (warm cache) 40 s -> ready at 175 s. A request at 500 s ends the run. */
    struct scenario sc;
    startup_scenario(&sc);
    struct wl_request reqs[] = {h_req(500, 100, 2)};
    struct change ch[] = {{10, 2}};
    struct h_sink out;
    struct sim *s = run_with_changes(&sc, reqs, 1, ch, 1, &out);
    const struct rec_pod *p = pod_row(&out, 1);
    cr_assert_float_eq(p->created_us * 1e-6, 10, EPS);
    cr_assert_float_eq(p->scheduled_us * 1e-6, 10, EPS);
    cr_assert_float_eq(p->pulled_us * 1e-6, 130, EPS);
    cr_assert_float_eq(p->loaded_us * 1e-6, 135, EPS);
    cr_assert_float_eq(p->ready_us * 1e-6, 175, EPS);
    cr_assert_not(p->cold_start);
    cr_assert_null(p->end_reason);
    sim_free(s);
    free(out.rows);
}

Test(fleet, a_node_that_pulled_the_image_serves_the_next_pod_without_a_pull)
{
    /* Per-node compile cache. 1 -> 2 at 10 s: pod 1 starts on a new node 1 with neither
     * the image nor a compile cache: 10 + 120 (pull) + 5 (load) + 240 (cold init) = 375 s.
     * 2 -> 1 at 400 s: pod 1, ready for the shortest time, goes at once (idle). 1 -> 2 at
     * 500 s: pod 2 lands on node 1, which has both: no pull, load 5 s, warm init 40 s ->
     * ready at 545 s. */
    struct scenario sc;
    startup_scenario(&sc);
    sc.engine.startup.compile_cache = CACHE_PER_NODE;
    struct wl_request reqs[] = {h_req(1000, 100, 2)};
    struct change ch[] = {{10, 2}, {400, 1}, {500, 2}};
    struct h_sink out;
    struct sim *s = run_with_changes(&sc, reqs, 1, ch, 3, &out);
    const struct rec_pod *p1 = pod_row(&out, 1), *p2 = pod_row(&out, 2);
    cr_assert(p1->cold_start);
    cr_assert_float_eq(p1->ready_us * 1e-6, 375, EPS);
    cr_assert_float_eq(p1->terminated_us * 1e-6, 400, EPS);
    cr_assert_str_eq(p1->end_reason, "scaled-in");
    cr_assert_eq(p2->node_id, p1->node_id);
    cr_assert_float_eq(p2->pulled_us * 1e-6, 500, EPS);
    cr_assert_float_eq(p2->ready_us * 1e-6, 545, EPS);
    cr_assert_not(p2->cold_start);
    sim_free(s);
    free(out.rows);
}

Test(fleet, scale_in_removes_a_starting_pod_before_a_ready_one)
{
    /* 1 -> 3 at 10 s, 3 -> 2 at 20 s: pods 1 and 2 are both pulling (Pending) and tie in
     * every other rule (created in the same second, one per node): the lower UID goes,
     * with seed 1 pod 2's; pod 0 (Running, ready) stays. */
    struct scenario sc;
    startup_scenario(&sc);
    struct wl_request reqs[] = {h_req(400, 100, 2)};
    struct change ch[] = {{10, 3}, {20, 2}};
    struct h_sink out;
    struct sim *s = run_with_changes(&sc, reqs, 1, ch, 2, &out);
    cr_assert_lt(s->deps[0]->pods[2]->uid, s->deps[0]->pods[1]->uid);
    cr_assert_float_eq(pod_row(&out, 2)->terminated_us * 1e-6, 20, EPS);
    cr_assert_null(pod_row(&out, 1)->end_reason);
    cr_assert_null(pod_row(&out, 0)->end_reason);
    sim_free(s);
    free(out.rows);
}

Test(fleet, terminating_pod_finishes_in_flight_work_within_the_grace_period)
{
    /* Two ready pods (fixed start). Request A (prompt 100 -> 10 ms, then 999 decode steps
     * of 10 ms: 10.0 s) goes to pod 0 at 0 s; B at 0 s to pod 1. At 1 s the Deployment
     * goes to 1: pod 1 (lower UID, see run_scale_in) terminates; B (same length)
     * finishes at 10.0 s within the 30 s grace period, and pod 1 is gone then. */
    struct scenario sc;
    startup_scenario(&sc);
    struct h_sink out;
    struct sim *s = run_scale_in(&sc, &out);
    cr_assert_eq(out.rows[1].replica, 1);
    cr_assert_eq(out.rows[1].outcome, OUTCOME_OK);
    cr_assert_float_eq(out.rows[1].finish_us * 1e-6, 10.0, EPS);
    const struct rec_pod *p = pod_row(&out, 1);
    cr_assert_float_eq(p->terminating_us * 1e-6, 1.0, EPS);
    cr_assert_float_eq(p->terminated_us * 1e-6, 10.0, EPS);
    sim_free(s);
    free(out.rows);
}

Test(fleet, work_left_at_the_end_of_the_grace_period_is_retried_elsewhere)
{
    /* As above with a 2 s grace period: at 3 s, B (on pod 1) has 300 of 1000 tokens
     * (first at 0.01 s, then one per 10 ms: 1 + 299 by 3.0 s). They are discarded and B
     * goes back to the gateway, to start again from scratch on pod 0 next to A. */
    struct scenario sc;
    startup_scenario(&sc);
    sc.fleet.replicas = 2;
    sc.engine.termination.grace_period_us = 2000000;
    struct h_sink out;
    struct sim *s = run_scale_in(&sc, &out);
    cr_assert_eq(out.rows[1].outcome, OUTCOME_OK);
    cr_assert_eq(out.rows[1].retries, 1);
    cr_assert_eq(out.rows[1].replica, 0);
    cr_assert_float_eq(pod_row(&out, 1)->terminated_us * 1e-6, 3.0, EPS);
    cr_assert_eq(sim_result(s)->discarded_tokens, 300);
    /* The retried request's first token comes after the retry. */
    cr_assert_gt(out.rows[1].first_token_us, 3000000);
    sim_free(s);
    free(out.rows);
}

Test(fleet, grace_expiry_without_client_retries_ends_requests_as_aborted)
{
    struct scenario sc;
    startup_scenario(&sc);
    sc.fleet.replicas = 2;
    sc.engine.termination.grace_period_us = 2000000;
    sc.router.retry.attempts = 0;
    struct h_sink out;
    struct sim *s = run_scale_in(&sc, &out);
    cr_assert_eq(out.rows[1].outcome, OUTCOME_ABORTED);
    cr_assert_float_eq(out.rows[1].finish_us * 1e-6, 3.0, EPS);
    cr_assert_eq(out.rows[1].generated_tokens, 300);
    sim_free(s);
    free(out.rows);
}

Test(fleet, pods_wait_pending_while_the_gpu_limit_is_reached)
{
    /* max_gpus 2, TP 1: two nodes of one GPU from the start, one holding pod 0. Scale
     * 1 -> 3 at 10 s: pod 1 gets node 1 at once; pod 2 waits Pending. At 300 s the
     * Deployment goes to 2: the pending pod 2 is deleted first (unscheduled). */
    struct scenario sc;
    startup_scenario(&sc);
    sc.fleet.max_gpus = 2;
    struct wl_request reqs[] = {h_req(400, 100, 2)};
    struct change ch[] = {{10, 3}, {300, 2}};
    struct h_sink out;
    struct sim *s = run_with_changes(&sc, reqs, 1, ch, 2, &out);
    const struct rec_pod *p2 = pod_row(&out, 2);
    cr_assert_eq(p2->node_id, -1);
    cr_assert_eq(p2->scheduled_us, -1);
    cr_assert_float_eq(p2->terminated_us * 1e-6, 300, EPS);
    cr_assert_float_eq(pod_row(&out, 1)->ready_us * 1e-6, 175, EPS);
    sim_free(s);
    free(out.rows);
}

Test(fleet, requests_wait_at_the_gateway_while_no_replica_is_ready)
{
    /* Scale to 0 at 1 s (pod 0 idle: gone at once), back to 1 at 2 s: the new pod is on
     * node 0, which has the image: ready at 2 + 5 + 40 = 47 s. A request at 10 s waits at
     * the gateway until 47 s (timeout 60 s), prefill 10 ms -> first token 47.01 s. */
    struct scenario sc;
    startup_scenario(&sc);
    struct wl_request reqs[] = {h_req(10, 100, 1)};
    struct change ch[] = {{1, 0}, {2, 1}};
    struct h_sink out;
    struct sim *s = run_with_changes(&sc, reqs, 1, ch, 2, &out);
    cr_assert_eq(out.rows[0].outcome, OUTCOME_OK);
    cr_assert_float_eq(out.rows[0].first_token_us * 1e-6, 47.01, EPS);
    sim_free(s);
    free(out.rows);
}

/* ---- termination and readiness as deployed (issue 14 points 1 and 2) ---------------- */

/* The deployed defaults: no preStop, vLLM --shutdown-timeout 0, grace 30 s, the endpoint
 * removal 1 s after the deletion, and a client that retries twice after 0.5 s and 1 s
 * (the OpenAI SDK's backoff, without its jitter so the timeline is exact). */
static void deployed_scenario(struct scenario *sc)
{
    startup_scenario(sc);
    sc->engine.termination.grace_period_us = 30000000;
    sc->engine.termination.pre_stop_us = 0;
    sc->engine.termination.shutdown_timeout_us = 0;
    sc->router.endpoint_delay_us = 1000000;
    sc->router.retry.attempts = 2;
    sc->router.retry.backoff_us = 500000;
    sc->router.retry.max_backoff_us = 8000000;
    sc->router.retry.jitter = 0;
    sc->router.retry.on_aborted = sc->router.retry.on_5xx = true;
}

Test(fleet, sigterm_aborts_in_flight_work_and_the_stale_endpoint_refuses_the_retry)
{
    /* Two replicas; A on pod 0 and B on pod 1 at 0 s (100-token prompt: 10 ms, then
     * 1000 tokens one per 10 ms). 2 -> 1 at 1 s deletes pod 1 (ready as long as pod 0,
     * lower UID). No preStop: SIGTERM at 1 s, vLLM aborts B (100 tokens so far) and
     * exits; pod 1 is gone at 1 s but stays in the router's endpoints until 2 s. The
     * client retries at 1.5 s: least-outstanding picks pod 1 (0 outstanding vs 1), the
     * connection is refused (5xx); the second retry at 1.5 + 1.0 = 2.5 s reaches pod 0. */
    struct scenario sc;
    deployed_scenario(&sc);
    struct h_sink out;
    struct sim *s = run_scale_in(&sc, &out);
    const struct sim_result *r = sim_result(s);
    cr_assert_float_eq(pod_row(&out, 1)->terminated_us * 1e-6, 1.0, EPS);
    cr_assert_eq(out.rows[1].outcome, OUTCOME_OK);
    cr_assert_eq(out.rows[1].retries, 2);
    cr_assert_eq(out.rows[1].replica, 0);
    cr_assert_gt(out.rows[1].first_token_us, 2500000);
    cr_assert_eq(r->retries_aborted, 1);
    cr_assert_eq(r->retries_5xx, 1);
    cr_assert_eq(r->retries, 2);
    cr_assert_eq(r->discarded_tokens, 100);
    cr_assert_eq(r->n_outcome[OUTCOME_OK], 2);
    sim_free(s);
    free(out.rows);
}

Test(fleet, prestop_and_shutdown_timeout_drain_the_pod_without_errors)
{
    /* The recommended drain: preStop 5 s, --shutdown-timeout 20 s, grace 30 s. Pod 1 is
     * deleted at 1 s, leaves the endpoints at 2 s, gets SIGTERM at 6 s with B still
     * running; B ends at 0.01 + 999 x 0.01 = 10.0 s, within the drain (to 26 s): B is OK,
     * and vLLM exits, the pod gone, at 10.0 s. */
    struct scenario sc;
    deployed_scenario(&sc);
    sc.fleet.replicas = 2;
    sc.engine.termination.pre_stop_us = 5000000;
    sc.engine.termination.shutdown_timeout_us = 20000000;
    struct h_sink out;
    struct sim *s = run_scale_in(&sc, &out);
    cr_assert_eq(out.rows[1].outcome, OUTCOME_OK);
    cr_assert_eq(out.rows[1].retries, 0);
    cr_assert_float_eq(out.rows[1].finish_us * 1e-6, 10.0, EPS);
    cr_assert_float_eq(pod_row(&out, 1)->terminating_us * 1e-6, 1.0, EPS);
    cr_assert_float_eq(pod_row(&out, 1)->terminated_us * 1e-6, 10.0, EPS);
    cr_assert_eq(sim_result(s)->retries, 0);
    sim_free(s);
    free(out.rows);
}

Test(fleet, shutdown_timeout_shorter_than_the_work_aborts_at_its_end)
{
    /* No preStop, --shutdown-timeout 3 s: SIGTERM at 1 s, B aborted at 4 s with
     * 1 + 399 = 400 tokens; no retries allowed: B fails at 4 s (aborted). */
    struct scenario sc;
    deployed_scenario(&sc);
    sc.fleet.replicas = 2;
    sc.engine.termination.shutdown_timeout_us = 3000000;
    sc.router.retry.attempts = 0;
    struct h_sink out;
    struct sim *s = run_scale_in(&sc, &out);
    cr_assert_eq(out.rows[1].outcome, OUTCOME_ABORTED);
    cr_assert_float_eq(out.rows[1].finish_us * 1e-6, 4.0, EPS);
    cr_assert_eq(out.rows[1].generated_tokens, 400);
    cr_assert_eq(sim_result(s)->n_outcome[OUTCOME_ABORTED], 1);
    cr_assert_float_eq(pod_row(&out, 1)->terminated_us * 1e-6, 4.0, EPS);
    sim_free(s);
    free(out.rows);
}

Test(fleet, a_prestop_longer_than_the_grace_gets_sigterm_at_its_end_and_sigkill_2s_later)
{
    /* Grace 5 s, preStop 10 s, --shutdown-timeout 60 s: the kubelet stops waiting for the
     * hook at 1 + 5 = 6 s and sends SIGTERM with the 2 s minimum grace: SIGKILL at 8 s.
     * B (still running) is killed then with 1 + 799 = 800 tokens. */
    struct scenario sc;
    deployed_scenario(&sc);
    sc.fleet.replicas = 2;
    sc.engine.termination.grace_period_us = 5000000;
    sc.engine.termination.pre_stop_us = 10000000;
    sc.engine.termination.shutdown_timeout_us = 60000000;
    sc.router.retry.attempts = 0;
    struct h_sink out;
    struct sim *s = run_scale_in(&sc, &out);
    cr_assert_eq(out.rows[1].outcome, OUTCOME_ABORTED);
    cr_assert_float_eq(out.rows[1].finish_us * 1e-6, 8.0, EPS);
    cr_assert_eq(out.rows[1].generated_tokens, 800);
    cr_assert_float_eq(pod_row(&out, 1)->terminated_us * 1e-6, 8.0, EPS);
    sim_free(s);
    free(out.rows);
}

Test(fleet, a_request_routed_after_sigterm_gets_503)
{
    /* One replica, deleted at 1 s (1 -> 0) with --shutdown-timeout 20 s and a 3 s endpoint
     * delay: A drains to 10.0 s; C arrives at 2 s, the router still lists pod 0, vLLM
     * rejects it (shutting down): 503, no retries: C fails at 2 s. */
    struct scenario sc;
    deployed_scenario(&sc);
    sc.engine.termination.shutdown_timeout_us = 20000000;
    sc.router.endpoint_delay_us = 3000000;
    sc.router.retry.attempts = 0;
    struct wl_request reqs[] = {h_req(0, 100, 1000), h_req(2, 100, 10)};
    struct change ch[] = {{1, 0}};
    struct h_sink out;
    struct sim *s = run_with_changes(&sc, reqs, 2, ch, 1, &out);
    cr_assert_eq(out.rows[0].outcome, OUTCOME_OK);
    cr_assert_float_eq(out.rows[0].finish_us * 1e-6, 10.0, EPS);
    cr_assert_eq(out.rows[1].outcome, OUTCOME_5XX);
    cr_assert_float_eq(out.rows[1].finish_us * 1e-6, 2.0, EPS);
    cr_assert_eq(out.rows[1].replica, 0);
    cr_assert_eq(sim_result(s)->n_outcome[OUTCOME_5XX], 1);
    sim_free(s);
    free(out.rows);
}

Test(fleet, a_pod_is_ready_at_the_first_successful_probe)
{
    /* As new_pod_pulls_loads_and_initialises_before_it_is_ready (engine up at 175 s, the
     * container started at 130 s, admitted at 10 s), with probes every 10 s from 10 s:
     * - initialDelaySeconds 30: probes count from 160 s; first success at 180 s;
     * - initialDelaySeconds 60: from 190 s, a probe time: 190 s;
     * - period 7 s, no delay: 10 + 7k >= 175 -> k = 24: 178 s. */
    static const struct {
        int64_t delay_us, period_us;
        double ready_s;
    } cases[] = {{30000000, 10000000, 180}, {60000000, 10000000, 190}, {0, 7000000, 178}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct scenario sc;
        deployed_scenario(&sc);
        sc.engine.readiness.initial_delay_us = cases[i].delay_us;
        sc.engine.readiness.period_us = cases[i].period_us;
        struct wl_request reqs[] = {h_req(500, 100, 2)};
        struct change ch[] = {{10, 2}};
        struct h_sink out;
        struct sim *s = run_with_changes(&sc, reqs, 1, ch, 1, &out);
        cr_assert_float_eq(pod_row(&out, 1)->ready_us * 1e-6, cases[i].ready_s, EPS, "case %zu",
                           i);
        sim_free(s);
        free(out.rows);
    }
}

Test(fleet, scale_in_deletes_the_pod_ready_for_the_shortest_time_by_log_buckets)
{
    /* Pods 0 and 1 Ready at 0 s; 2 -> 3 at 10 s: pod 2 Ready at 175 s (see
     * new_pod_pulls_loads_and_initialises_before_it_is_ready). 3 -> 1 at 300 s: pod 2 has
     * been ready 125 s (bucket 36), pods 0 and 1 300 s (38): pod 2 goes, then the lower
     * UID of pods 0 and 1 (pod 1 with seed 1). */
    struct scenario sc;
    startup_scenario(&sc);
    sc.fleet.replicas = 2;
    struct wl_request reqs[] = {h_req(400, 100, 2)};
    struct change ch[] = {{10, 3}, {300, 1}};
    struct h_sink out;
    struct sim *s = run_with_changes(&sc, reqs, 1, ch, 2, &out);
    cr_assert_float_eq(pod_row(&out, 2)->ready_us * 1e-6, 175, EPS);
    cr_assert_float_eq(pod_row(&out, 2)->terminated_us * 1e-6, 300, EPS);
    cr_assert_float_eq(pod_row(&out, 1)->terminated_us * 1e-6, 300, EPS);
    cr_assert_null(pod_row(&out, 0)->end_reason);
    sim_free(s);
    free(out.rows);
}
