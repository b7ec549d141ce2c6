/* The cache-aware routers against hand-worked choices: the endpoint picker's scores on
 * hand-built metric snapshots, its prefix index (LRU), the picker's prefix affinity in a
 * run, and consistent hashing with bounded loads. */
#include <criterion/criterion.h>
#include <math.h>

#include "sim/serving/router.h"
#include "tests/sim/engine_harness.h"

Test(router, the_picker_sums_weighted_scores_as_the_epp_does)
{
    /* queue-scorer (max - q) / (max - min): 0, 1, 0.5; kv-cache 1 - usage: 0.1, 0.5, 0.9;
     * prefix matched / total (10): 0, 0, 0.8. Weights 2, 2, 3 (the default profile):
     * 0.2, 3.0, 5.2 -> pod 2. Without the prefix scorer: 0.2, 3.0, 2.8 -> pod 1. */
    const struct epp_view v[3] = {{4, 0.9, 0, 0}, {0, 0.5, 0, 0}, {2, 0.1, 8, 0}};
    struct epp_weights w = {2, 2, 3};
    cr_assert_eq(epp_pick(v, 3, 10, &w, 0), 2);
    w.prefix = 0;
    cr_assert_eq(epp_pick(v, 3, 10, &w, 0), 1);
    /* Only the queue: the emptiest queue. Equal queues score 1 each: ties go to the first
     * at or after tie_start. */
    struct epp_weights q = {1, 0, 0};
    cr_assert_eq(epp_pick(v, 3, 10, &q, 2), 1);
    const struct epp_view same[3] = {{3, 0.2, 0, 0}, {3, 0.2, 0, 0}, {3, 0.2, 0, 0}};
    cr_assert_eq(epp_pick(same, 3, 10, &w, 2), 2);
    cr_assert_eq(epp_pick(same, 3, 10, &w, 1), 1);
    /* a prompt shorter than a block: no prefix score */
    const struct epp_view one[2] = {{0, 0.5, 0, 0}, {0, 0.4, 0, 0}};
    cr_assert_eq(epp_pick(one, 2, 0, &w, 0), 1);
}

Test(router, the_prefix_index_forgets_the_least_recently_routed_block)
{
    struct epp_lru l;
    cr_assert_eq(epp_lru_init(&l, 3, NULL), SIM_OK);
    epp_lru_add(&l, 11);
    epp_lru_add(&l, 22);
    epp_lru_add(&l, 33);
    epp_lru_add(&l, 11); /* refreshed: 22 is now the oldest */
    epp_lru_add(&l, 44);
    cr_assert(epp_lru_has(&l, 11) && epp_lru_has(&l, 33) && epp_lru_has(&l, 44));
    cr_assert_not(epp_lru_has(&l, 22));
    cr_assert_eq(l.n, 3);
    for (uint64_t h = 100; h < 1000; h++) /* many evictions through the probe table */
        epp_lru_add(&l, h);
    cr_assert(epp_lru_has(&l, 999) && epp_lru_has(&l, 998) && epp_lru_has(&l, 997));
    cr_assert_not(epp_lru_has(&l, 996));
    epp_lru_release(&l);
}

static struct wl_request sys_req(double t, uint64_t key)
{
    struct wl_request w = h_req(t, 400, 50);
    w.prefix.n = 1;
    w.prefix.key[0] = key;
    w.prefix.len_tokens[0] = 320;
    return w;
}

Test(router, the_picker_follows_the_prefixes_it_routed)
{
    /* Two replicas, prefix scorer only. A (key 1) goes to the first candidate; B (key 2)
     * matches nobody: a tie, the next candidate round-robin; C and D (keys 1, 2) follow
     * A and B although least-outstanding would alternate differently; E (key 3) ties. */
    struct scenario sc;
    h_scenario(&sc);
    sc.fleet.replicas = 2;
    sc.router.policy = ROUTER_ENDPOINT_PICKER;
    sc.router.epp = (struct epp_spec){.queue_weight = 0, .kv_cache_weight = 0,
                                      .prefix_weight = 1, .refresh_interval_us = 50000,
                                      .lru_capacity_per_server = 1000,
                                      .max_prefix_blocks = 256};
    struct wl_request reqs[] = {sys_req(0.0, 1), sys_req(0.001, 2), sys_req(0.002, 1),
                                sys_req(0.003, 1), sys_req(0.004, 2)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 5, &out, false);
    int32_t a = out.rows[0].replica, b = out.rows[1].replica;
    cr_assert_neq(a, b);
    cr_assert_eq(out.rows[2].replica, a);
    cr_assert_eq(out.rows[3].replica, a);
    cr_assert_eq(out.rows[4].replica, b);
    sim_free(s);
    free(out.rows);
}

Test(router, affinity_keeps_a_prefix_on_one_replica_within_the_load_bound)
{
    /* Key 7 on two replicas: p = the replica with the higher rendezvous weight. Four
     * requests at once, load factor 1.25: capacity ceil(1.25 x (outstanding + 1) / 2) =
     * 1, 2, 2, 3: p, p, the other, p. */
    struct scenario sc;
    h_scenario(&sc);
    sc.fleet.replicas = 2;
    sc.router.policy = ROUTER_PREFIX_AFFINITY;
    sc.router.load_factor = 1.25;
    struct wl_request reqs[] = {sys_req(0, 7), sys_req(0, 7), sys_req(0, 7), sys_req(0, 7)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 4, &out, false);
    int32_t p = router_hrw(7, 0) > router_hrw(7, 1) ? 0 : 1;
    cr_assert_eq(out.rows[0].replica, p);
    cr_assert_eq(out.rows[1].replica, p);
    cr_assert_eq(out.rows[2].replica, 1 - p);
    cr_assert_eq(out.rows[3].replica, p);
    sim_free(s);
    free(out.rows);
}

Test(router, semantic_cache_hits_are_answered_at_the_gateway)
{
    /* hit_frac 0.3 over 2000 requests: binomial, sd 20.5, within 4 sd of 600. A hit
     * returns after the cache's 12 ms whole (TTFT = e2e = 12 ms), on no replica, and
     * none of its tokens reach an engine. hit_frac 1: the fleet does nothing. */
    enum { N = 2000 };
    static struct wl_request reqs[N];
    for (int i = 0; i < N; i++)
        reqs[i] = h_req(i * 0.5, 100, 20);
    struct scenario sc;
    h_scenario(&sc);
    sc.router.semantic_cache.hit_frac = 0.3;
    sc.router.semantic_cache.latency_us = 12000;
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, N, &out, false);
    const struct sim_result *res = sim_result(s);
    cr_assert_float_eq((double)res->semantic_hits, 600.0, 4 * 20.5);
    cr_assert_eq(res->semantic_saved_tokens, res->semantic_hits * 120);
    cr_assert_eq(res->n_outcome[OUTCOME_OK], N);
    size_t on_gateway = 0;
    for (size_t i = 0; i < N; i++) {
        if (out.rows[i].replica >= 0)
            continue;
        on_gateway++;
        cr_assert_eq(out.rows[i].first_token_us - out.rows[i].arrival_us, 12000);
        cr_assert_eq(out.rows[i].finish_us - out.rows[i].arrival_us, 12000);
    }
    cr_assert_eq(on_gateway, res->semantic_hits);
    cr_assert_eq(res->prompt_tokens, (uint64_t)(N - res->semantic_hits) * 100);
    cr_assert_eq(res->output_tokens, (uint64_t)(N - res->semantic_hits) * 20);
    cr_assert(isnan(res->semantic_saved_usd), "no billing: no price");
    sim_free(s);
    free(out.rows);

    sc.router.semantic_cache.hit_frac = 1.0;
    s = h_run(&sc, reqs, N, &out, false);
    cr_assert_eq(sim_result(s)->semantic_hits, N);
    cr_assert_eq(sim_result(s)->output_tokens, 0);
    sim_free(s);
    free(out.rows);
}

/* ---- the client's timeout (router.client_timeout) and its retries ---------------------- */

/* One replica, constant latency (100 us per prefill token, 10 ms per decode iteration),
 * client timeout 2 s, retries on timeouts with a 0.5 s backoff doubling, no jitter. */
static void timeout_scenario(struct scenario *sc, int attempts)
{
    h_scenario(sc);
    sc->router.client_timeout_us = 2000000;
    sc->router.retry = (struct retry_spec){.attempts = attempts, .backoff_us = 500000,
                                           .max_backoff_us = 8000000, .jitter = 0,
                                           .on_aborted = true, .on_5xx = true,
                                           .on_timeout = true};
}

Test(router, a_timed_out_attempt_is_retried_after_the_backoff_until_retries_are_spent)
{
    /* A (t = 0, prompt 1000, output 491) alone takes 0.1 s of prefill then 490 decode
     * iterations: 5.0 s. Attempt 1 is sent at 0; the client gives up at 2.0 (vLLM aborts
     * it at the step boundary at 2.0: 1 + 190 tokens generated). Retry 1 after 0.5 s:
     * sent at 2.5, gives up at 4.5 (191 tokens again). Retry 2 after 1.0 s: sent at 5.5,
     * gives up at 7.5; no retries left: outcome client_timeout at 7.5 s, 191 tokens,
     * 2 retries, 382 tokens discarded. B (t = 10 s, prompt 100, output 100) takes
     * 0.01 + 99 x 0.01 = 1.0 s < 2 s: ok at 11.0 s. */
    struct wl_request reqs[] = {h_req(0, 1000, 491), h_req(10, 100, 100)};
    for (int ff = 0; ff < 2; ff++) {
        struct scenario sc;
        timeout_scenario(&sc, 2);
        struct h_sink out;
        struct sim *s = h_run(&sc, reqs, 2, &out, ff == 1);
        cr_assert_eq(out.rows[0].outcome, OUTCOME_CLIENT_TIMEOUT);
        cr_assert_float_eq(out.rows[0].finish_us * 1e-6, 7.5, 1e-9);
        cr_assert_eq(out.rows[0].retries, 2);
        cr_assert_eq(out.rows[0].generated_tokens, 191);
        cr_assert_float_eq(out.rows[0].first_token_us * 1e-6, 5.6, 1e-9);
        cr_assert_eq(out.rows[1].outcome, OUTCOME_OK);
        cr_assert_float_eq(out.rows[1].finish_us * 1e-6, 11.0, 1e-9);
        const struct sim_result *r = sim_result(s);
        cr_assert_eq(r->n_outcome[OUTCOME_CLIENT_TIMEOUT], 1);
        cr_assert_eq(r->n_outcome[OUTCOME_OK], 1);
        cr_assert_eq(r->retries_timeout, 2);
        cr_assert_eq(r->retries, 2);
        cr_assert_eq(r->retries_aborted + r->retries_5xx, 0);
        cr_assert_eq(r->discarded_tokens, 382);
        /* generated: 3 x 191 for A, 100 for B */
        cr_assert_eq(r->output_tokens, 673);
        sim_free(s);
        free(out.rows);
    }
}

Test(router, a_timed_out_attempt_leaves_the_waiting_queue_at_once_and_the_batch_at_a_step_end)
{
    /* max_num_seqs 1, no retries. A (t = 0, 1000/491) runs; B (t = 0, 100/10) waits for
     * the sequence slot. At 2.0 both clients give up: B leaves the waiting queue then, A
     * the batch at the step boundary at 2.0 (191 tokens). C (t = 2.2, 100/10) finds the
     * engine free: 0.01 s prefill + 9 decode iterations, ok at 2.3 s. Without
     * `timeout` in router.retry.on the attempts are not retried even with retries left. */
    struct wl_request reqs[] = {h_req(0, 1000, 491), h_req(0, 100, 10), h_req(2.2, 100, 10)};
    struct scenario sc;
    timeout_scenario(&sc, 2);
    sc.router.retry.on_timeout = false;
    sc.engine.max_num_seqs = 1;
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 3, &out, false);
    cr_assert_eq(out.rows[0].outcome, OUTCOME_CLIENT_TIMEOUT);
    cr_assert_float_eq(out.rows[0].finish_us * 1e-6, 2.0, 1e-9);
    cr_assert_eq(out.rows[0].generated_tokens, 191);
    cr_assert_eq(out.rows[1].outcome, OUTCOME_CLIENT_TIMEOUT);
    cr_assert_float_eq(out.rows[1].finish_us * 1e-6, 2.0, 1e-9);
    cr_assert_eq(out.rows[1].generated_tokens, 0);
    cr_assert_eq(out.rows[1].first_token_us, -1);
    cr_assert_eq(out.rows[2].outcome, OUTCOME_OK);
    cr_assert_float_eq(out.rows[2].finish_us * 1e-6, 2.3, 1e-9);
    cr_assert_eq(sim_result(s)->retries, 0);
    cr_assert_eq(sim_result(s)->n_outcome[OUTCOME_CLIENT_TIMEOUT], 2);
    sim_free(s);
    free(out.rows);
}

Test(router, a_client_gives_up_on_an_attempt_queued_at_the_gateway)
{
    /* No replica: A (t = 0) waits at the gateway (queue timeout 60 s). Its client gives up
     * at 2.0, 4.5 (sent 2.5) and 7.5 (sent 5.5): client_timeout at 7.5 s, nothing
     * generated. The gateway's own queue timeout never fires. */
    struct wl_request reqs[] = {h_req(0, 100, 10)};
    struct scenario sc;
    timeout_scenario(&sc, 2);
    sc.fleet.replicas = 0;
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 1, &out, false);
    cr_assert_eq(out.rows[0].outcome, OUTCOME_CLIENT_TIMEOUT);
    cr_assert_float_eq(out.rows[0].finish_us * 1e-6, 7.5, 1e-9);
    cr_assert_eq(out.rows[0].retries, 2);
    cr_assert_eq(out.rows[0].replica, -1);
    cr_assert_eq(sim_result(s)->n_outcome[OUTCOME_TIMEOUT], 0);
    sim_free(s);
    free(out.rows);
}
