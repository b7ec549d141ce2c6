/* test_gpushare.c: MIG slices and time-sliced GPUs in a run, against hand-worked numbers
 * and timelines (docs/gpu-sharing.md). */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/sim/engine_harness.h"
#include "models/catalog.h"
#include "sim/config/scenario.h"
#include "sim/cloud/gpushare.h"
#include "sim/sim_int.h"

#define GS_FIX SOURCE_DIR "/tests/fixtures/gpushare/"

/* The run of a loaded scenario with the built-in catalog (and `sink`, may be NULL):
 * NULL and err on an error. */
static struct sim *sim_of(const struct scenario *sc, struct catalog **cat,
                          const struct sim_sink *sink, struct sim_err *err)
{
    *cat = catalog_new(NULL, err);
    cr_assert_not_null(*cat, "%s", err->msg);
    struct sim_options opt = {.catalog = *cat, .sink = sink};
    return sim_new(sc, &opt, err);
}

/* Load a fixture scenario and build its run with the built-in catalog. */
static struct sim *build_with(const char *file, struct scenario *sc, struct catalog **cat,
                              const struct sim_sink *sink)
{
    gsl_set_error_handler_off();
    struct sim_err err = {0};
    cr_assert_eq(scenario_load(sc, file, NULL, 0, &err), SIM_OK, "%s: %s", err.where, err.msg);
    struct sim *s = sim_of(sc, cat, sink, &err);
    cr_assert_not_null(s, "%s: %s", err.where, err.msg);
    return s;
}

static struct sim *build(const char *file, struct scenario *sc, struct catalog **cat)
{
    return build_with(file, sc, cat, NULL);
}

Test(gpushare, mig_slice_sizes_each_engine_and_the_node_advertises_two_slices)
{
    /* all-3g.40gb on an H100 SXM 80GB: two 3g.40gb per GPU. Each engine sees 39.38 GiB:
     * 9,590 KV blocks and vLLM's below-70-GiB limits (tests/models/test_mig.c works the
     * blocks out by hand). The implicit node of one GPU advertises 2 slices, so both
     * replicas run on it. */
    struct scenario sc;
    struct catalog *cat;
    struct sim *s = build(GS_FIX "mig_h100_3g.yaml", &sc, &cat);
    cr_assert(s->deps[0]->have_plan);
    cr_assert_eq(s->deps[0]->plan.num_gpu_blocks, 9590);
    cr_assert_eq(s->deps[0]->ep.num_blocks, 9590);
    cr_assert_eq(s->deps[0]->ep.max_num_seqs, 256);
    cr_assert_eq(s->deps[0]->ep.max_num_batched_tokens, 2048);
    cr_assert_eq(s->n_nodes, 1);
    cr_assert_eq(s->nodes[0].gpus, 1);
    cr_assert_eq(s->nodes[0].units, 2);
    cr_assert_eq(s->nodes[0].gpus_free, 0);
    cr_assert_eq(s->deps[0]->pods[0]->node, 0);
    cr_assert_eq(s->deps[0]->pods[1]->node, 0);
    cr_assert(strstr(s->deps[0]->lat->provenance, "h100-sxm-80gb/3g.40gb") != NULL, "%s",
              s->deps[0]->lat->provenance);
    sim_free(s);
    catalog_free(cat);
    scenario_release(&sc);
}

Test(gpushare, aks_gpu_instance_profile_gives_each_a100_two_3g_slices)
{
    /* MIG3g on Standard_NC24ads_A100_v4 (one A100 80GB): 2 x 3g.40gb per node; three
     * replicas on the pool's two nodes: two on the first, one on the second. */
    struct scenario sc;
    struct catalog *cat;
    struct sim *s = build(GS_FIX "aks_mig_fixed.yaml", &sc, &cat);
    cr_assert_eq(s->n_nodes, 2);
    cr_assert_eq(s->nodes[0].units, 2);
    cr_assert_eq(s->nodes[1].units, 2);
    cr_assert_eq(s->nodes[0].gpus_free, 0);
    cr_assert_eq(s->nodes[1].gpus_free, 1);
    /* 3g.40gb of an A100 80GB: 39.25 GiB (nvidia-smi), below 70 GiB: 256 sequences */
    cr_assert_eq(s->deps[0]->ep.max_num_seqs, 256);
    sim_free(s);
    catalog_free(cat);
    scenario_release(&sc);
}

/* Two replicas time-sliced on one GPU (device plugin replicas: 2), the constant model. */
static void ts_scenario(struct scenario *sc)
{
    h_scenario(sc);
    sc->fleet.replicas = 2;
    sc->engine.gpu_memory_utilization = 0.45;
    sc->engine.latency.prefill_per_token_us = 100; /* 100 tokens: 10 ms */
    sc->engine.latency.decode_iteration_ms = 10;
    sc->cluster.sharing.mode = GS_TIME_SLICING;
    sc->cluster.sharing.replicas = 2;
}

Test(gpushare, time_sliced_engines_take_turns_step_by_step)
{
    /*
     * Hand-worked timeline. Two requests at t = 0, 100 prompt tokens, 3 output tokens;
     * least-outstanding routing sends one to each engine; both engines are on the one
     * GPU. A prefill step of 100 tokens takes 10 ms, a decode step 10 ms.
     *   [0, 10)   A prefills r0          (B waits: A holds the GPU)   r0 token 1 at 10
     *   [10, 20)  B prefills r1          (A queues behind B)          r1 token 1 at 20
     *   [20, 30)  A decodes r0                                        r0 token 2 at 30
     *   [30, 40)  B decodes r1                                        r1 token 2 at 40
     *   [40, 50)  A decodes r0                                        r0 token 3 at 50: done
     *   [50, 60)  B decodes r1                                        r1 token 3 at 60: done
     * Alone on its GPU each would finish at 30 ms with its first token at 10 ms.
     */
    struct scenario sc;
    ts_scenario(&sc);
    struct wl_request reqs[] = {h_req(0, 100, 3), h_req(0, 100, 3)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 2, &out, false);
    cr_assert_eq(out.n_rows, 2);
    const struct rec_request *r0 = &out.rows[0], *r1 = &out.rows[1];
    cr_assert_neq(r0->replica, r1->replica);
    cr_assert_eq(r0->first_token_us, 10000);
    cr_assert_eq(r1->first_token_us, 20000);
    cr_assert_eq(r0->finish_us, 50000);
    cr_assert_eq(r1->finish_us, 60000);
    cr_assert_eq(r0->outcome, OUTCOME_OK);
    cr_assert_eq(r1->outcome, OUTCOME_OK);
    /* each engine computed for 30 ms of the 60 */
    cr_assert_eq(s->deps[0]->pods[0]->eng.busy_us, 30000);
    cr_assert_eq(s->deps[0]->pods[1]->eng.busy_us, 30000);
    sim_free(s);
    free(out.rows);

    /* The same without sharing: both in parallel. */
    h_scenario(&sc);
    sc.fleet.replicas = 2;
    sc.engine.latency.prefill_per_token_us = 100;
    sc.engine.latency.decode_iteration_ms = 10;
    s = h_run(&sc, reqs, 2, &out, false);
    cr_assert_eq(out.rows[0].first_token_us, 10000);
    cr_assert_eq(out.rows[1].first_token_us, 10000);
    cr_assert_eq(out.rows[0].finish_us, 30000);
    cr_assert_eq(out.rows[1].finish_us, 30000);
    sim_free(s);
    free(out.rows);
}

Test(gpushare, an_engine_alone_on_its_time_sliced_gpu_does_not_wait)
{
    /* One request: the other engine on the GPU is idle, so nothing interleaves:
     * prefill [0, 10), decodes to 30 ms. */
    struct scenario sc;
    ts_scenario(&sc);
    struct wl_request reqs[] = {h_req(0, 100, 3)};
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 1, &out, false);
    cr_assert_eq(out.rows[0].first_token_us, 10000);
    cr_assert_eq(out.rows[0].finish_us, 30000);
    sim_free(s);
    free(out.rows);
}

Test(gpushare, fast_forward_stays_exact_on_a_time_sliced_gpu)
{
    /* A busy workload with preemptions (h_scenario_preempting's linear model and small
     * KV cache) on two time-sliced engines: stepping and fast-forwarding must give the
     * same rows, as they do on whole GPUs. */
    struct scenario sc;
    h_scenario_preempting(&sc);
    sc.engine.gpu_memory_utilization = 0.5;
    sc.cluster.sharing.mode = GS_TIME_SLICING;
    sc.cluster.sharing.replicas = 2;
    enum { N = 300 };
    static struct wl_request reqs[N];
    for (int i = 0; i < N; i++)
        reqs[i] = h_req(i * 0.05, 200 + (i * 37) % 900, 20 + (i * 53) % 300);
    struct h_sink a, b;
    struct sim *sa = h_run(&sc, reqs, N, &a, false);
    struct sim *sb = h_run(&sc, reqs, N, &b, true);
    cr_assert_eq(a.n_rows, (size_t)N);
    cr_assert_eq(b.n_rows, (size_t)N);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(a.rows[i].first_token_us, b.rows[i].first_token_us, "request %d", i);
        cr_assert_eq(a.rows[i].finish_us, b.rows[i].finish_us, "request %d", i);
        cr_assert_eq(a.rows[i].preemptions, b.rows[i].preemptions, "request %d", i);
    }
    /* and the GPU was shared: the engines' busy time never overlapped, so together they
     * were busy no longer than the run */
    cr_assert_leq(sa->deps[0]->pods[0]->eng.busy_us + sa->deps[0]->pods[1]->eng.busy_us, sa->now_us);
    sim_free(sa);
    sim_free(sb);
    free(a.rows);
    free(b.rows);
}

Test(gpushare, a_time_sliced_gpu_bills_busy_time_once_and_leaves_idle_time_non_negative)
{
    /* Karpenter L40S nodes, two replicas per GPU, KEDA scaling up under load. A
     * time-sliced engine's busy time is the whole GPU's (the steps never overlap), so the
     * serving cost is sum(busy s x the node's $/GPU-s): worked out here from the pods, and
     * never more than the bill. */
    struct scenario sc;
    struct catalog *cat;
    struct sim *s = build(GS_FIX "karpenter_ts_l40s.yaml", &sc, &cat);
    struct sim_err err = {0};
    cr_assert_eq(sim_run(s, &err), SIM_OK, "%s", err.msg);
    const struct sim_cost *c = &s->res.cost;
    double serving = 0;
    struct deployment *d = s->deps[0];
    for (int32_t i = 0; i < d->n_pods; i++) {
        const struct replica *rp = d->pods[i];
        if (rp->node < 0)
            continue;
        const struct node *n = &s->nodes[rp->node];
        cr_assert_eq(n->units, 2 * n->gpus);
        serving += (double)rp->eng.busy_us * 1e-6 * n->price_usd_per_hour / 3600.0 / n->gpus;
    }
    cr_assert_float_eq(c->serving_usd, serving, 1e-9);
    cr_assert_gt(c->serving_usd, 0.0);
    cr_assert_geq(c->idle_usd, 0.0);
    cr_assert_leq(c->serving_usd + c->loading_usd, c->usd + 1e-9);
    sim_free(s);
    catalog_free(cat);
    scenario_release(&sc);
}

Test(gpushare, time_sliced_engines_size_kv_from_their_own_share_and_land_on_one_gpu)
{
    /* replicas: 2 on an H100 (one implicit node of one GPU): both pods on that GPU. Each
     * vLLM sizes its cache from its own 0.45 of the whole 80 GiB (memory is not isolated):
     * 81920 MiB x 0.45 = 38,654,705,664 B - weights 16,060,522,496 - activations
     * 2,693,791,744 (H100 defaults: 8192 tokens, 1024 sequences) - 1 GiB - 128 MiB
     * = 18,692,431,872 B = 8,913 blocks of 2 MiB (8,913.2). */
    struct scenario sc;
    struct catalog *cat;
    struct sim *s = build(GS_FIX "ts_h100.yaml", &sc, &cat);
    struct deployment *d = s->deps[0];
    cr_assert_eq(d->plan.num_gpu_blocks, 8913);
    cr_assert_eq(d->ep.max_num_seqs, 1024);
    cr_assert_eq(s->n_nodes, 1);
    cr_assert_eq(s->nodes[0].gpus, 1);
    cr_assert_eq(s->nodes[0].units, 2);
    cr_assert_eq(d->n_pods, 2);
    cr_assert_geq(d->pods[0]->gs_gpu, 0);
    cr_assert_eq(d->pods[0]->gs_gpu, d->pods[1]->gs_gpu);
    sim_free(s);
    catalog_free(cat);
    scenario_release(&sc);
}

/* Load a fixture and run it with the built-in catalog and an in-memory sink. */
static struct sim *run_file(const char *file, struct scenario *sc, struct catalog **cat,
                            struct h_sink *out)
{
    memset(out, 0, sizeof *out);
    static struct sim_sink sink;
    sink = (struct sim_sink){.ctx = out, .request = h_request, .sample = h_sample, .pod = h_pod};
    struct sim *s = build_with(file, sc, cat, &sink);
    struct sim_err err = {0};
    cr_assert_eq(sim_run(s, &err), SIM_OK, "%s", err.msg);
    return s;
}

static void run_done(struct sim *s, struct h_sink *out, struct catalog *cat, struct scenario *sc)
{
    sim_free(s);
    free(out->rows);
    catalog_free(cat);
    scenario_release(sc);
}

Test(gpushare, two_models_time_sliced_on_one_gpu_take_turns)
{
    /*
     * ts_two_models.yaml, by hand. chat (prefill 100 us/token, decode 10 ms) and code
     * (25 us/token, 4 ms) each have one pod; the device plugin advertises 2 replicas of the
     * one H100 of one node, so both engines share its GPU. At t = 0 chat gets a request
     * of 100 prompt / 3 output tokens (trace row 1) and code one of 200 / 3 (row 2):
     *   [0, 10)   chat prefills (10 ms)   code waits               chat token 1 at 10
     *   [10, 15)  code prefills (5 ms)    chat queues behind code   code token 1 at 15
     *   [15, 25)  chat decodes                                      chat token 2 at 25
     *   [25, 29)  code decodes                                      code token 2 at 29
     *   [29, 39)  chat decodes                                      chat token 3 at 39: done
     *   [39, 43)  code decodes                                      code token 3 at 43: done
     * Each alone would finish at 30 ms (chat) and 13 ms (code): mig_two_models below.
     */
    struct scenario sc;
    struct catalog *cat;
    struct h_sink out;
    struct sim *s = run_file(GS_FIX "ts_two_models.yaml", &sc, &cat, &out);
    cr_assert_eq(s->n_deps, 2);
    cr_assert_eq(s->n_nodes, 1);
    cr_assert_eq(s->nodes[0].units, 2);
    const struct replica *a = s->deps[0]->pods[0], *b = s->deps[1]->pods[0];
    cr_assert_eq(a->node, 0);
    cr_assert_eq(b->node, 0);
    cr_assert_geq(a->gs_gpu, 0);
    cr_assert_eq(a->gs_gpu, b->gs_gpu);
    cr_assert_eq(out.n_rows, 2);
    const struct rec_request *chat = &out.rows[0], *code = &out.rows[1];
    cr_assert_eq(chat->first_token_us, 10000);
    cr_assert_eq(code->first_token_us, 15000);
    cr_assert_eq(chat->finish_us, 39000);
    cr_assert_eq(code->finish_us, 43000);
    cr_assert_eq(chat->outcome, OUTCOME_OK);
    cr_assert_eq(code->outcome, OUTCOME_OK);
    cr_assert_eq(a->eng.busy_us, 30000);
    cr_assert_eq(b->eng.busy_us, 13000);
    run_done(s, &out, cat, &sc);
}

Test(gpushare, two_models_on_mig_slices_of_one_gpu_do_not_wait)
{
    /*
     * mig_two_models.yaml: all-balanced H100s (2 x 1g.10gb + 2g.20gb + 3g.40gb per GPU);
     * chat's 2 pods request 3g.40gb, code's 2 request 1g.10gb, each its own extended
     * resource. Pods in creation order on implicit one-GPU nodes: chat-0 takes node 0's
     * 3g.40gb, chat-1 finds none left there and gets node 1, code-0 and code-1 take node
     * 0's two 1g.10gb. Same requests as the time-sliced run: the slices are isolated, so
     * each finishes as if alone (chat 10 / 30 ms, code 5 / 13 ms).
     */
    struct scenario sc;
    struct catalog *cat;
    struct h_sink out;
    struct sim *s = run_file(GS_FIX "mig_two_models.yaml", &sc, &cat, &out);
    cr_assert_eq(s->n_nodes, 2);
    cr_assert_eq(s->nodes[0].units, 3); /* the requested profiles: 1 x 3g + 2 x 1g */
    cr_assert_eq(s->deps[0]->pods[0]->node, 0);
    cr_assert_eq(s->deps[0]->pods[1]->node, 1);
    cr_assert_eq(s->deps[1]->pods[0]->node, 0);
    cr_assert_eq(s->deps[1]->pods[1]->node, 0);
    cr_assert_eq(s->nodes[0].gpus_free, 0);
    cr_assert_eq(s->nodes[1].gpus_free, 2); /* its 1g.10gb slices stay free */
    cr_assert_eq(out.rows[0].first_token_us, 10000);
    cr_assert_eq(out.rows[0].finish_us, 30000);
    cr_assert_eq(out.rows[1].first_token_us, 5000);
    cr_assert_eq(out.rows[1].finish_us, 13000);
    /* each engine sees its own slice */
    cr_assert_str_eq(gpushare_engine_gpu(s, s->deps[0])->id, "h100-sxm-80gb/3g.40gb");
    cr_assert_str_eq(gpushare_engine_gpu(s, s->deps[1])->id, "h100-sxm-80gb/1g.10gb");
    /* a slice is charged its memory slices' share of the layout's 8: 4/8 and 1/8 */
    cr_assert_float_eq(gpushare_unit_divisor(s, s->deps[0], &s->nodes[0]), 2.0, 1e-12);
    cr_assert_float_eq(gpushare_unit_divisor(s, s->deps[1], &s->nodes[0]), 8.0, 1e-12);
    cr_assert_float_eq(gpushare_pod_weight(s, s->deps[0]), 0.5, 1e-12);
    cr_assert_float_eq(gpushare_pod_weight(s, s->deps[1]), 0.125, 1e-12);
    run_done(s, &out, cat, &sc);
}

/* Build ts_two_models.yaml with its deployments' gpu_memory_utilization and replicas
 * changed: SIM_OK or the error. */
static int ts_mem(double u0, double u1, int r0, int r1, struct sim_err *err)
{
    gsl_set_error_handler_off();
    struct scenario sc;
    cr_assert_eq(scenario_load(&sc, GS_FIX "ts_two_models.yaml", NULL, 0, err), SIM_OK);
    sc.deployments[0].engine.gpu_memory_utilization = u0;
    sc.deployments[1].engine.gpu_memory_utilization = u1;
    sc.deployments[0].fleet.replicas = r0;
    sc.deployments[1].fleet.replicas = r1;
    struct catalog *cat;
    struct sim *s = sim_of(&sc, &cat, NULL, err);
    int rc = s ? SIM_OK : err->code;
    sim_free(s);
    catalog_free(cat);
    scenario_release(&sc);
    return rc;
}

Test(gpushare, time_sliced_memory_is_checked_across_deployments)
{
    /* replicas: 2 per GPU. One engine each: the worst GPU holds both, 0.55 + 0.45 = 1.00
     * fits; 0.60 + 0.45 = 1.05 does not. Two chat engines at 0.55 could share a GPU:
     * 1.10. */
    struct sim_err err = {0};
    cr_assert_eq(ts_mem(0.55, 0.45, 1, 1, &err), SIM_OK, "%s", err.msg);
    err = (struct sim_err){0};
    cr_assert_eq(ts_mem(0.60, 0.45, 1, 1, &err), SIM_EINVAL);
    cr_assert(strstr(err.msg, "1 x 0.60 ('chat') + 1 x 0.45 ('code'), add up to 1.05 > 1"),
              "%s", err.msg);
    cr_assert(strstr(err.where, "ts_two_models.yaml:34:"), "%s", err.where);
    err = (struct sim_err){0};
    cr_assert_eq(ts_mem(0.55, 0.45, 2, 1, &err), SIM_EINVAL);
    cr_assert(strstr(err.msg, "2 x 0.55 ('chat'), add up to 1.10 > 1"), "%s", err.msg);
    err = (struct sim_err){0};
    cr_assert_eq(ts_mem(0.45, 0.50, 2, 1, &err), SIM_OK, "%s", err.msg);
}

/* Scale deployment `arg` of the run to zero replicas (a scale-in at the event's time). */
static void scale_to_zero(struct sim *s, void *obj, uint64_t arg)
{
    (void)obj;
    fleet_set_desired(s->deps[arg], 0);
}

/* Scale deployment `arg` of the run to one replica. */
static void scale_to_one(struct sim *s, void *obj, uint64_t arg)
{
    (void)obj;
    fleet_set_desired(s->deps[arg], 1);
}

/* Build the two-model over-committed run of `file` with an in-memory sink (code_late: code
 * starts with no pod, the test scales it; code_queue_timeout_us: code's router.queue_timeout
 * if > 0). */
static struct sim *oom_run(const char *file, struct scenario *sc, struct catalog **cat,
                           struct h_sink *out, bool code_late, int64_t code_queue_timeout_us)
{
    gsl_set_error_handler_off();
    struct sim_err err = {0};
    cr_assert_eq(scenario_load(sc, file, NULL, 0, &err), SIM_OK, "%s: %s", err.where, err.msg);
    cr_assert_eq(sc->n_deployments, 2);
    if (code_late)
        sc->deployments[1].fleet.replicas = 0;
    if (code_queue_timeout_us > 0)
        sc->deployments[1].router.queue_timeout_us = code_queue_timeout_us;
    memset(out, 0, sizeof *out);
    static struct sim_sink sink;
    sink = (struct sim_sink){.ctx = out, .request = h_request, .sample = h_sample, .pod = h_pod};
    struct sim *s = sim_of(sc, cat, &sink, &err);
    cr_assert_not_null(s, "%s: %s", err.where, err.msg);
    return s;
}

Test(gpushare, an_engine_that_finds_its_gpu_full_crash_loops_until_memory_frees)
{
    /*
     * ts_oom_restart.yaml (oom: restart), by hand. One H100, replicas 2: chat's pod
     * (gpu_memory_utilization 0.60) and code's (0.50) on it. Initial pods in order: chat's
     * engine starts and holds 0.60; code's finds 0.40 free < 0.50 and vLLM's start-up check
     * fails ("Free memory on device ... is less than desired GPU memory utilization"): the
     * container exits. The kubelet (v1.33 doBackOff + flowcontrol.Backoff) restarts a
     * container whose exit finds no back-off entry at once, creating the entry at 10 s,
     * and each later exit after the entry's window, which it then doubles: code's exits at
     * 0, 0, 10, 30, 70 s wait 0, 10, 20, 40, 80 s (each try fails at once, so the 600-s
     * reset never applies), i.e. tries at 0, 0, 10, 30, 70, 150 s. chat keeps running and
     * serving (its request at 0 s: first token at 10 ms). code's request at 1 s finds no
     * Ready pod and times out in the gateway queue at 61 s (router.queue_timeout 60 s):
     * lost, not retried.
     * At 100 s chat is scaled to zero: its idle pod leaves (SIGTERM, nothing to drain)
     * before 150 s, so code's try at 150 s succeeds after 5 failures: weights 20 GiB at
     * 2 GiB/s to 160 s, engine_init 20 s to 180 s, the readiness probe (every 10 s from
     * the pod's admission at 0) passes at 180 s. code's request at 400 s is served.
     */
    struct scenario sc;
    struct catalog *cat;
    struct h_sink out;
    struct sim *s = oom_run(GS_FIX "ts_oom_restart.yaml", &sc, &cat, &out, false, 0);
    cr_assert(evq_push(s->q, 100000000, PRIO_CONTROL, scale_to_zero, NULL, 0));
    struct sim_err err = {0};
    cr_assert_eq(sim_run(s, &err), SIM_OK, "%s", err.msg);
    const struct replica *chat = s->deps[0]->pods[0], *code = s->deps[1]->pods[0];
    cr_assert_eq(chat->gs_gpu, -1); /* gone */
    cr_assert_lt(chat->gone_us, 150000000);
    cr_assert_eq(code->restarts, 5);
    cr_assert_eq(s->deps[1]->res.engine_failed_starts, 5);
    cr_assert_eq(s->deps[0]->res.engine_failed_starts, 0);
    cr_assert_eq(code->pulled_us, 150000000);
    cr_assert_eq(code->loaded_us, 160000000);
    cr_assert_eq(code->ready_us, 180000000);
    cr_assert_eq(out.n_rows, 3);
    cr_assert_eq(out.rows[0].outcome, OUTCOME_OK);
    cr_assert_eq(out.rows[0].first_token_us, 10000);
    cr_assert_eq(out.rows[1].outcome, OUTCOME_TIMEOUT);
    cr_assert_eq(out.rows[1].finish_us, 61000000);
    cr_assert_eq(out.rows[2].outcome, OUTCOME_OK);
    cr_assert_eq(out.rows[2].first_token_us, 400005000);
    run_done(s, &out, cat, &sc);
}

Test(gpushare, restart_all_kills_every_engine_on_the_gpu_and_both_crash_loop)
{
    /*
     * ts_oom_restart_all.yaml (oom: restart_all, the pessimistic model), by hand, with
     * code's pod created at 100 s instead of at the start. One H100, replicas 2: chat
     * (0.60) serves alone; its request at 0 s: first token at 10 ms.
     *   100 code's pod binds to the GPU (the image is on the node): its engine needs 0.50
     *       with 0.40 free, its allocation takes the GPU out of memory and chat's Ready
     *       engine dies with it. Neither container has a back-off entry yet (kubelet v1.33:
     *       IsInBackOffSince is false), so both restart at once, chat's first (it died
     *       first), and Next sets both entries to 10 s.
     *   100 chat's engine starts (0.60, loading its weights); code's then runs the GPU out
     *       of memory again: both die, now in back-off 10 s (entry doubled to 20 s).
     *   110 Likewise: both die, back-off 20 s; at 130 40 s; at 170 80 s: next tries at
     *       250. Every try fails at once, so an entry is never 600 s old.
     *   150 chat's request finds no Ready pod and times out in the gateway queue at 210
     *       (router.queue_timeout 60 s).
     *   200 chat scaled to zero: its pod, in back-off, is deleted at once.
     *   250 code's engine finds the GPU empty: weights 20 GiB at 2 GiB/s to 260, engine
     *       init 20 s to 280, the readiness probe (every 10 s from its admission at 100)
     *       passes at 280. Its request at 400 s is served (first token 5 ms later).
     * chat: 5 kills (100, 100, 110, 130, 170), 5 restarts, no failed start; code: 5 failed
     * starts. With `oom: restart` chat would have served throughout (the test above).
     */
    struct scenario sc;
    struct catalog *cat;
    struct h_sink out;
    struct sim *s = oom_run(GS_FIX "ts_oom_restart_all.yaml", &sc, &cat, &out, true, 0);
    cr_assert(evq_push(s->q, 100000000, PRIO_CONTROL, scale_to_one, NULL, 1));
    cr_assert(evq_push(s->q, 200000000, PRIO_CONTROL, scale_to_zero, NULL, 0));
    struct sim_err err = {0};
    cr_assert_eq(sim_run(s, &err), SIM_OK, "%s", err.msg);
    const struct replica *chat = s->deps[0]->pods[0], *code = s->deps[1]->pods[0];
    cr_assert_eq(s->deps[0]->n_pods, 1);
    cr_assert_eq(s->deps[1]->n_pods, 1);
    cr_assert_eq(chat->restarts, 5);
    cr_assert_eq(s->deps[0]->res.engine_oom_kills, 5);
    cr_assert_eq(s->deps[0]->res.engine_failed_starts, 0);
    cr_assert_eq(chat->gone_us, 200000000);
    cr_assert_eq(code->restarts, 5);
    cr_assert_eq(s->deps[1]->res.engine_failed_starts, 5);
    cr_assert_eq(s->deps[1]->res.engine_oom_kills, 0);
    cr_assert_eq(code->scheduled_us, 100000000);
    cr_assert_eq(code->pulled_us, 250000000);
    cr_assert_eq(code->loaded_us, 260000000);
    cr_assert_eq(code->ready_us, 280000000);
    cr_assert_eq(sim_result(s)->engine_oom_kills, 5);
    cr_assert_eq(out.n_rows, 3);
    cr_assert_eq(out.rows[0].outcome, OUTCOME_OK);
    cr_assert_eq(out.rows[0].first_token_us, 10000);
    cr_assert_eq(out.rows[1].outcome, OUTCOME_TIMEOUT);
    cr_assert_eq(out.rows[1].finish_us, 210000000);
    cr_assert_eq(out.rows[2].outcome, OUTCOME_OK);
    cr_assert_eq(out.rows[2].first_token_us, 400005000);
    run_done(s, &out, cat, &sc);
}

/* ts_oom_restart_all.yaml with code's pod created at 100 s and deleted at 105 s, and
 * created again at `again_s` and deleted at again_s + 5 s; code's request at 400 s waits in
 * the gateway queue (timeout raised to 1000 s) so the run outlives the timeline. Returns
 * when chat's engine last started and how often its container restarted. */
static void forget_run(double again_s, int64_t *chat_pulled_us, int32_t *chat_restarts)
{
    struct scenario sc;
    struct catalog *cat;
    struct h_sink out;
    struct sim *s =
        oom_run(GS_FIX "ts_oom_restart_all.yaml", &sc, &cat, &out, true, 1000000000);
    int64_t again = (int64_t)(again_s * 1e6);
    cr_assert(evq_push(s->q, 100000000, PRIO_CONTROL, scale_to_one, NULL, 1));
    cr_assert(evq_push(s->q, 105000000, PRIO_CONTROL, scale_to_zero, NULL, 1));
    cr_assert(evq_push(s->q, again, PRIO_CONTROL, scale_to_one, NULL, 1));
    cr_assert(evq_push(s->q, again + 5000000, PRIO_CONTROL, scale_to_zero, NULL, 1));
    struct sim_err err = {0};
    cr_assert_eq(sim_run(s, &err), SIM_OK, "%s", err.msg);
    cr_assert_eq(s->deps[0]->n_pods, 1);
    cr_assert_eq(s->deps[1]->n_pods, 2);
    cr_assert_gt(sim_result(s)->end_us, again + 5000000);
    *chat_pulled_us = s->deps[0]->pods[0]->pulled_us;
    *chat_restarts = s->deps[0]->pods[0]->restarts;
    run_done(s, &out, cat, &sc);
}

Test(gpushare, the_kubelet_forgets_a_back_off_600_s_after_the_last_restart)
{
    /*
     * Kubernetes v1.33: the kubelet's back-off entry of a container (window W, lastUpdate
     * L = its last restart) is ignored when the exit came more than 600 s after L
     * (HasExpiredFunc, pkg/kubelet/kubelet.go) and deleted by Backoff.GC once now - L >
     * 600 s (HandlePodCleanups). By hand, as the restart_all test above up to 100 s:
     *   100 code's pod kills chat twice (at once, then after 10 s): chat restarts at 110,
     *       entry W = 20 s, L = 110 s. 105 code's pod, in back-off, is deleted.
     *   110 chat's engine finds the GPU empty and starts (later Ready); it serves.
     * a) code's pod again at 700 s: it kills chat (exit F = 700 s, 590 s after L: not
     *    expired, in back-off until F + W = 720 s). But at L + 600 = 710 s GC forgets the
     *    entry, and the kubelet restarts chat at 710 s as a first exit. Meanwhile code's
     *    own first exit restarts at once at 700 s and its engine starts on the emptied GPU
     *    (0.50); code's pod is deleted at 705 s while loading, freeing it: chat's try at
     *    710 s starts. chat: 3 restarts.
     * b) code's pod again at 800 s: chat's exit comes 690 s after L: expired, so chat
     *    restarts at once at 800 s (entry 10 s) and starts first (its restart was pushed
     *    before code's); code's then runs the GPU out of memory: chat dies again at 800 s,
     *    now in back-off 10 s: tries at 810 s, after code's pod (in back-off) left at
     *    805 s: it starts. chat: 4 restarts.
     * A 20-s back-off without the reset would have put chat's tries at 720 and 820 s.
     */
    int64_t pulled;
    int32_t restarts;
    forget_run(700, &pulled, &restarts);
    cr_assert_eq(pulled, 710000000);
    cr_assert_eq(restarts, 3);
    forget_run(800, &pulled, &restarts);
    cr_assert_eq(pulled, 810000000);
    cr_assert_eq(restarts, 4);
}

Test(gpushare, without_oom_restart_the_over_committed_gpu_is_refused)
{
    /* The same scenario with oom: refuse (the default): 0.60 + 0.50 > 1 at load time. */
    gsl_set_error_handler_off();
    struct scenario sc;
    struct sim_err err = {0};
    cr_assert_eq(scenario_load(&sc, GS_FIX "ts_oom_restart.yaml", NULL, 0, &err), SIM_OK);
    for (size_t i = 0; i < sc.n_deployments; i++)
        sc.deployments[i].cluster.sharing.oom_restart = false;
    struct catalog *cat;
    struct sim *s = sim_of(&sc, &cat, NULL, &err);
    cr_assert_null(s);
    cr_assert(strstr(err.msg, "add up to 1.10 > 1"), "%s", err.msg);
    catalog_free(cat);
    scenario_release(&sc);
}
