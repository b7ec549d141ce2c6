/* The bill: per-second billing of a known node timeline to the cent, the AWS 60 s
 * minimum, the split by capacity type and by what the GPUs did, $/1M tokens, the monthly
 * projection, the break-even against a managed API, and the cost_per_token series. */
#include <math.h>

#include "test_cluster_harness.h"

#define EPS 1e-9

#define NODEPOOL(reqs, disruption, extra)                                                  \
    "cluster:\n"                                                                           \
    "  cloud: aws\n"                                                                       \
    "  karpenter:\n"                                                                       \
    "    nodePool:\n"                                                                      \
    "      apiVersion: karpenter.sh/v1\n"                                                  \
    "      kind: NodePool\n"                                                               \
    "      spec:\n"                                                                        \
    "        template:\n"                                                                  \
    "          spec:\n"                                                                    \
    "            requirements:\n"                                                          \
    "            - {key: node.kubernetes.io/instance-type, operator: In, values: [g6e.xlarge]}\n" \
    reqs "        disruption: " disruption "\n" extra

static struct ch c;

struct kv {
    const char *key;
    double v;
    bool found;
};

static int kv_cb(void *ctx, const char *k, double v)
{
    struct kv *w = ctx;
    if (!strcmp(k, w->key)) {
        w->v = v;
        w->found = true;
    }
    return 0;
}

/* A key of the run's summary, as the database and the CLI get it. */
static double summary(const char *key)
{
    struct kv want = {key, NAN, false};
    sim_result_foreach(sim_result(c.s), kv_cb, &want);
    cr_assert(want.found, "no summary key %s", key);
    return want.v;
}

Test(cost, bill_of_a_known_node_timeline_to_the_cent)
{
    /* g6e.xlarge on-demand, $1.861/h. Node 0 (initial) runs from 0 s to the end of the run
     * at 600.02 s (the last request: prefill 10 ms, one decode step 10 ms): 601 billed
     * seconds, $0.31068. Node 1: requested 11 s (scale-up at 10 s, 1 s batch), consolidated
     * at 475 s (empty from 400 s, consolidateAfter 60 s, pass at 460 s, validated 15 s
     * later): 464 s, $0.23986. Total $0.55054 -> $0.55. */
    ch_setup(&c, "l40s", 1,
             NODEPOOL("", "{consolidationPolicy: WhenEmpty, consolidateAfter: 60s}",
                      "    launch_to_ready: 90s\n"));
    c.sc.cost.managed_api_usd_per_mtok = 0.20;
    struct wl_request reqs[] = {h_req(600, 100, 2)};
    struct change chg[] = {{10, 2}, {400, 1}};
    ch_run(&c, reqs, 1, chg, 2);
    double n0 = 1.861 * 601 / 3600, n1 = 1.861 * 464 / 3600;
    cr_assert_float_eq(ch_node(&c, 0)->cost_usd, n0, EPS);
    cr_assert_float_eq(ch_node(&c, 1)->cost_usd, n1, EPS);
    const struct sim_cost *k = &sim_result(c.s)->cost;
    cr_assert(k->billed);
    cr_assert_float_eq(k->usd, n0 + n1, EPS);
    cr_assert_float_eq(round(k->usd * 100) / 100, 0.55, EPS);
    cr_assert_float_eq(k->on_demand_usd, n0 + n1, EPS);
    cr_assert_float_eq(k->spot_usd, 0.0, EPS);
    /* What the GPUs did: the engine was busy 20 ms (pod 0); pod 1 started from 101 s
     * (node Ready) to 266 s (Ready): 165 s loading; node 1 booted 90 s (part of idle). */
    double per_s = 1.861 / 3600;
    cr_assert_float_eq(k->serving_usd, 0.02 * per_s, EPS);
    cr_assert_float_eq(k->loading_usd, 165 * per_s, EPS);
    cr_assert_float_eq(k->idle_usd, n0 + n1 - 0.02 * per_s - 165 * per_s, EPS);
    cr_assert_float_eq(k->node_boot_usd, 90 * per_s, EPS);
    cr_assert_float_eq(k->gpu_hours, (601.0 + 464.0) / 3600, EPS);
    /* Rates over the run's 600.02 s; a month is 730 h. */
    double per_hour = (n0 + n1) / (600.02 / 3600);
    cr_assert_float_eq(k->usd_per_hour_mean, per_hour, EPS);
    cr_assert_float_eq(k->usd_per_month, per_hour * 730, 1e-6);
    /* Tokens: 2 output, 100 prompt. */
    cr_assert_float_eq(k->usd_per_mtok_output, (n0 + n1) / 2 * 1e6, 1e-3);
    cr_assert_float_eq(k->usd_per_mtok_total, (n0 + n1) / 102 * 1e6, 1e-3);
    cr_assert_float_eq(k->managed_api_usd, 102 / 1e6 * 0.20, EPS);
    cr_assert_float_eq(k->break_even_ratio, (n0 + n1) / (102 / 1e6 * 0.20), 1e-6);
    cr_assert_float_eq(k->break_even_tokens_per_s, per_hour / 3600 / (0.20 / 1e6), 1e-6);
    cr_assert_eq(k->n_nodes, 2);
    /* The summary keys carry the same numbers. */
    cr_assert_float_eq(summary("cost_usd"), n0 + n1, EPS);
    cr_assert_float_eq(summary("cost_on_demand_usd"), n0 + n1, EPS);
    cr_assert_float_eq(summary("nodes_total"), 2, EPS);
    ch_free(&c);
}

Test(cost, part_seconds_round_up_and_aws_bills_at_least_60_s)
{
    /* consolidateAfter 0s. Scale-up at 10.3 s: node 1 requested 11.3 s, Ready 16.3 s; the
     * scale-in at 12 s deletes its pending pod, so it is empty when Ready; the pass at
     * 20 s finds it, 15 s validation: deleted at 35 s after 23.7 s, billed 60 s (AWS
     * minimum). With consolidateAfter 50s it goes at the pass at 70 s + 15 s = 85 s after
     * 73.7 s, billed 74 s. */
    const char *yamls[2] = {
        NODEPOOL("", "{consolidationPolicy: WhenEmpty, consolidateAfter: 0s}",
                 "    launch_to_ready: 5s\n"),
        NODEPOOL("", "{consolidationPolicy: WhenEmpty, consolidateAfter: 50s}",
                 "    launch_to_ready: 5s\n")};
    double want_end[2] = {35, 85}, want_s[2] = {60, 74};
    for (int i = 0; i < 2; i++) {
        ch_setup(&c, "l40s", 1, yamls[i]);
        struct wl_request reqs[] = {h_req(200, 100, 2)};
        struct change chg[] = {{10.3, 2}, {12, 1}};
        ch_run(&c, reqs, 1, chg, 2);
        const struct rec_node *n = ch_node(&c, 1);
        cr_assert_float_eq(S(n->terminated_us), want_end[i], EPS);
        cr_assert_float_eq(n->cost_usd, 1.861 * want_s[i] / 3600, EPS);
        ch_free(&c);
    }
}

Test(cost, spot_and_on_demand_are_billed_at_their_own_prices)
{
    /* Spot and on-demand allowed; spot g6e.xlarge has no capacity from 5 s on. Node 0
     * (initial) is spot in use1-az2 at $0.9154/h; node 1 (scale-up at 10 s) falls back to
     * on-demand at $1.861/h. The run ends at 300.02 s: node 0 301 s, node 1 (from 11 s)
     * 290 s. */
    ch_setup(&c, "l40s", 1,
             NODEPOOL("            - {key: karpenter.sh/capacity-type, operator: In, values: "
                      "[spot, on-demand]}\n",
                      "{consolidateAfter: Never}",
                      "    launch_to_ready: 90s\n"
                      "  insufficient_capacity:\n"
                      "    offerings: [{instance_type: g6e.xlarge, capacity_type: spot, "
                      "from: 5s}]\n"));
    struct wl_request reqs[] = {h_req(300, 100, 2)};
    struct change chg[] = {{10, 2}};
    ch_run(&c, reqs, 1, chg, 1);
    const struct sim_cost *k = &sim_result(c.s)->cost;
    cr_assert_float_eq(k->spot_usd, 0.9154 * 301 / 3600, EPS);
    cr_assert_float_eq(k->on_demand_usd, 1.861 * 290 / 3600, EPS);
    cr_assert_float_eq(k->usd, k->spot_usd + k->on_demand_usd, EPS);
    ch_free(&c);
}

Test(cost, cost_per_token_is_fleet_usd_per_s_over_tokens_per_s_in_the_scrape_interval)
{
    /* One node at $1.861/h, scrapes every 15 s. A request at 1 s generates 1000 tokens
     * (done at 11.0 s); the scrape at 15 s sees 1000 tokens over 15 s: $/token =
     * (1.861 / 3600) / (1000 / 15) = 7.7541667e-6. The scrape at 0 s has no interval, so no
     * $/token row; the fleet's $/h and node count are there at both. */
    ch_setup(&c, "l40s", 1, NODEPOOL("", "{consolidateAfter: Never}", ""));
    struct wl_request reqs[] = {h_req(1, 100, 1000), h_req(20, 100, 2)};
    ch_run(&c, reqs, 2, NULL, 0);
    int n_cost = 0, n_rate = 0;
    for (size_t i = 0; i < c.n_samples; i++) {
        const struct ch_sample *x = &c.samples[i];
        if (!strcmp(x->metric, "llmcap:cost_per_output_token_usd")) {
            n_cost++;
            cr_assert_eq(x->t_us, 15000000);
            cr_assert_float_eq(x->value, (1.861 / 3600) / (1000.0 / 15), 1e-15);
        } else if (!strcmp(x->metric, "llmcap:fleet_cost_usd_per_hour")) {
            n_rate++;
            cr_assert_float_eq(x->value, 1.861, EPS);
        }
    }
    cr_assert_eq(n_cost, 1);
    cr_assert_eq(n_rate, 2);
    ch_free(&c);
}

Test(cost, the_implicit_pool_has_no_bill)
{
    /* No cluster section: nothing is priced; the summary's amounts are NaN (NULL in the
     * database) and the counters 0. */
    struct scenario sc;
    h_scenario(&sc);
    struct wl_request reqs[] = {h_req(1, 100, 2)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 1, &out, false);
    const struct sim_cost *k = &sim_result(s)->cost;
    cr_assert_not(k->billed);
    c.s = s;
    cr_assert(isnan(summary("cost_usd")));
    cr_assert(isnan(summary("cost_usd_per_mtok_output")));
    cr_assert_float_eq(summary("nodes_total"), 0, EPS);
    sim_free(s);
    free(out.rows);
}
