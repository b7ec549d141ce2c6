/* KEDA and the HPA driving a run: timelines worked out by hand from the KEDA rules, the
 * scrape interval, the controllers' phases and the pod start-up. */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <string.h>

#include "tests/sim/engine_harness.h"

#define EPS 1e-9

struct ev_rows {
    struct rec_scaling_event ev[512];
    char reason[512][160];
    size_t n;
};

static int h_scale(void *ctx, const struct rec_scaling_event *e)
{
    struct ev_rows *k = ctx;
    if (k->n < 512) {
        k->ev[k->n] = *e;
        snprintf(k->reason[k->n], sizeof k->reason[k->n], "%s", e->reason);
        k->n++;
    }
    return 0;
}

static struct h_sink g_out;
static struct ev_rows g_ev;

static int fwd_request(void *ctx, const struct rec_request *r) { (void)ctx; return h_request(&g_out, r); }
static int fwd_sample(void *ctx, const struct rec_sample *s) { (void)ctx; return h_sample(&g_out, s); }
static int fwd_pod(void *ctx, const struct rec_pod *p) { (void)ctx; return h_pod(&g_out, p); }
static int fwd_scale(void *ctx, const struct rec_scaling_event *e) { (void)ctx; return h_scale(&g_ev, e); }

static struct sim *run_file_with(const char *path, const char *const *sets, size_t n_sets,
                                 struct scenario *sc)
{
    gsl_set_error_handler_off();
    memset(&g_out, 0, sizeof g_out);
    memset(&g_ev, 0, sizeof g_ev);
    struct sim_err err = {0};
    cr_assert_eq(scenario_load(sc, path, sets, n_sets, &err), SIM_OK, "%s: %s", err.where,
                 err.msg);
    static struct sim_sink sink = {.request = fwd_request,
                                   .sample = fwd_sample,
                                   .pod = fwd_pod,
                                   .scaling_event = fwd_scale};
    struct sim_options opt = {.sink = &sink};
    struct sim *s = sim_new(sc, &opt, &err);
    cr_assert_not_null(s, "%s: %s", err.where, err.msg);
    cr_assert_eq(sim_run(s, &err), SIM_OK, "%s", err.msg);
    return s;
}

static struct sim *run_file(const char *path, struct scenario *sc)
{
    return run_file_with(path, NULL, 0, sc);
}

static const struct rec_pod *pod(int32_t id)
{
    for (size_t i = 0; i < g_out.n_pods; i++)
        if (g_out.pods[i].pod_id == id)
            return &g_out.pods[i];
    cr_assert_fail("no pod %d", id);
    return NULL;
}

Test(autoscaler, keda_scales_to_zero_after_the_cooldown_and_back_on_the_gateway_queue)
{
    /* Scrapes at 0, 15, 30 ... s; KEDA polls every 30 s half a scrape later: 7.5, 37.5,
     * 67.5 ...; the run starts at the HPA minimum (1) as if last active at 0.
     * - Request 1 (t=0) is served at once. No poll sees the gateway queue: the last active
     *   time stays 0; cooldown 60 s: 0 + 60 < 67.5 -> scale to 0 at 67.5 (pod 0 idle: gone).
     * - Request 2 (t=400) waits at the gateway; the scrape at 405 sees it; the poll at
     *   427.5 (scrape of 420: 1 > activationThreshold 0) activates: 0 -> 1. Pod 1 lands
     *   on node 0, which has the image: load 10 GiB / 2 GiB/s = 5 s, init 40 s -> engine up
     *   at 472.5; the kubelet probes readiness every 10 s from the pod's admission at 427.5
     *   (437.5, ..., 467.5 fail): Ready at 477.5; prefill of 100 tokens (10 ms) -> first
     *   token 477.51: TTFT 77.51 s.
     * - The poll at 457.5 still sees it waiting (scrape of 450): last active 457.5. The
     *   polls at 487.5 and 517.5 see no queue but 457.5 + 60 < now only from 547.5 (strict):
     *   pod 1 goes at 547.5.
     * - Request 3 (t=700) waits again: the poll at 697.5 sees the scrape of 690 (empty),
     *   the one at 727.5 the scrape of 720: pod 2 at 727.5, ready 777.5, TTFT 77.51 s. The
     *   run ends when it is served, with pod 2 still up. */
    struct scenario sc;
    struct sim *s = run_file(FIXTURES "/autoscale/scale_from_zero.yaml", &sc);
    cr_assert_eq(g_out.rows[1].outcome, OUTCOME_OK);
    cr_assert_float_eq((g_out.rows[1].first_token_us - g_out.rows[1].arrival_us) * 1e-6, 77.51,
                       EPS);
    cr_assert_float_eq(pod(0)->terminated_us * 1e-6, 67.5, EPS);
    cr_assert_float_eq(pod(1)->created_us * 1e-6, 427.5, EPS);
    cr_assert_float_eq(pod(1)->ready_us * 1e-6, 477.5, EPS);
    cr_assert_float_eq(pod(1)->terminated_us * 1e-6, 547.5, EPS);
    cr_assert_str_eq(pod(1)->end_reason, "scaled-in");
    cr_assert_eq(g_out.rows[2].outcome, OUTCOME_OK);
    cr_assert_float_eq((g_out.rows[2].first_token_us - g_out.rows[2].arrival_us) * 1e-6, 77.51,
                       EPS);
    cr_assert_float_eq(pod(2)->created_us * 1e-6, 727.5, EPS);
    cr_assert_eq(pod(2)->terminated_us, -1);
    /* Every poll and sync is recorded; the HPA syncs every 15 s from 22.5 s. */
    size_t keda = 0, hpa = 0;
    for (size_t i = 0; i < g_ev.n; i++) {
        if (!strcmp(g_ev.ev[i].source, "keda"))
            keda++;
        else
            hpa++;
    }
    cr_assert_gt(keda, 15);
    cr_assert_gt(hpa, 30);
    cr_assert_eq(sim_result(s)->pods_created, 3);
    sim_free(s);
    scenario_release(&sc);
    free(g_out.rows);
}

Test(autoscaler, a_query_with_no_series_is_recorded_and_a_never_active_run_counted)
{
    /* never_active.yaml: scale_from_zero.yaml with the trigger on
     * sum(vllm:num_requests_waiting). Polls at 7.5 + 30k s. The one replica is idle:
     * polls 7.5 and 37.5 read 0 (not active, cooldown 60 s from 0 holds); 67.5 scales to
     * 0 and the pod's series go stale. From 97.5 on the query has no series (vLLM's
     * metrics leave with its pods), so KEDA never activates: requests 2 (t=400) and 3
     * (t=700) time out at the gateway after 5 min, the last at 1000 s. Polls up to 997.5:
     * k = 0..33, 34 in all, 31 of them empty; none active. */
    struct scenario sc;
    struct sim *s = run_file(FIXTURES "/autoscale/never_active.yaml", &sc);
    const struct sim_result *r = sim_result(s);
    cr_assert_eq(r->n_outcome[OUTCOME_TIMEOUT], 2);
    cr_assert_eq(r->autoscaler_evals, 34);
    cr_assert_eq(r->autoscaler_active_evals, 0);
    cr_assert_eq(r->autoscaler_empty_evals, 31);
    size_t k = 0;
    while (k < g_ev.n && strcmp(g_ev.ev[k].source, "keda"))
        k++;
    for (size_t seen = 0; k < g_ev.n; k++) {
        if (strcmp(g_ev.ev[k].source, "keda"))
            continue;
        if (seen++ == 3) {
            cr_assert_float_eq(g_ev.ev[k].t_us * 1e-6, 97.5, EPS);
            cr_assert_str_eq(g_ev.reason[k], "inactive; query 's0-prometheus' matched no series");
            break;
        }
    }
    sim_free(s);
    scenario_release(&sc);
    free(g_out.rows);
}

Test(autoscaler, series_carry_the_served_model_name_and_the_configured_labels)
{
    /* The same timeline with a query that filters on every label: it matches while the
     * pod lives (polls 7.5, 37.5, 67.5 read 0), so again 31 of 34 polls are empty, not 34. */
    static const char *const sets[] = {
        "model.served_model_name=acme/llama-3-8b-chat",
        "fleet.metrics.labels={namespace: llm, job: llm/vllm, container: engine, pod: llama}",
        "fleet.autoscaler.scaledObject.spec.triggers.0.metadata.query=sum(vllm:num_requests_"
        "waiting{namespace=\"llm\", job=\"llm/vllm\", container=\"engine\", pod=~\"llama-[0-9]+\", "
        "model_name=\"acme/llama-3-8b-chat\", engine=\"0\"})",
    };
    struct scenario sc;
    struct sim *s = run_file_with(FIXTURES "/autoscale/never_active.yaml", sets, 3, &sc);
    const struct sim_result *r = sim_result(s);
    cr_assert_eq(r->autoscaler_evals, 34);
    cr_assert_eq(r->autoscaler_empty_evals, 31);
    cr_assert_str_eq(g_ev.ev[0].source, "keda");
    cr_assert_str_eq(g_ev.reason[0],
                     "scale in to 0 held by cooldown (last active at 0s, cooldown 60s)");
    sim_free(s);
    scenario_release(&sc);
    free(g_out.rows);
}
