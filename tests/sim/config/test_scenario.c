/* scenario: strict loading, defaults, --set, includes, path resolution and every error
 * message (one fixture per error path under tests/fixtures/scenarios/). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/config/manifest.h"
#include "sim/config/scenario.h"

#define SCEN FIXTURES "/scenarios/"

static void load_ok(struct scenario *sc, const char *file, const char *const *sets, size_t n_sets)
{
    struct sim_err e = {0};
    int rc = scenario_load(sc, file, sets, n_sets, &e);
    cr_assert_eq(rc, SIM_OK, "%s: %s: error: %s", file, e.where, e.msg);
}

/* scenario_load() refuses the file with these overrides: `code`, err at `where` saying `msg`,
 * nothing left to release. */
static void load_fails(const char *file, const char *const *sets, size_t n_sets, int code,
                       const char *where, const char *msg)
{
    struct scenario sc;
    struct sim_err e = {0};
    cr_assert_eq(scenario_load(&sc, file, sets, n_sets, &e), code, "%s: %s", e.where, e.msg);
    cr_assert_str_eq(e.where, where);
    cr_assert_str_eq(e.msg, msg);
    cr_assert_null(sc.doc);
}

/* ---- good scenarios ---------------------------------------------------------------- */

Test(scenario, defaults_of_an_almost_empty_scenario)
{
    struct scenario sc;
    load_ok(&sc, SCEN "good_minimal.yaml", NULL, 0);
    cr_assert_str_eq(sc.path, SCEN "good_minimal.yaml");
    cr_assert_str_eq(sc.dir, FIXTURES "/scenarios");
    cr_assert_str_eq(sc.name, "good_minimal"); /* the file name without extension */
    cr_assert_eq(sc.seed, 1);
    cr_assert_eq(sc.duration_us, -1);
    cr_assert_eq(sc.drain_timeout_us, 3600000000LL);
    const struct workload_spec *w = &sc.workload;
    cr_assert_eq(w->kind, WL_SYNTHETIC);
    cr_assert_eq(w->process, ARR_POISSON);
    cr_assert_eq(w->rate_per_s, 2.0);
    cr_assert_not(w->diurnal);
    cr_assert_eq(w->n_steps, 0);
    cr_assert_eq(w->n_spikes, 0);
    cr_assert_eq(w->prompt.dist, LEN_CONSTANT);
    cr_assert_eq(w->prompt.value, 100.0);
    cr_assert_eq(w->output.value, 10.0);
    cr_assert_eq(w->count, 100);
    cr_assert_str_eq(sc.model.name, "llama-3-8b");
    cr_assert_str_eq(sc.model.dtype, "bf16");
    cr_assert_str_eq(sc.model.kv_cache_dtype, "auto");
    cr_assert_str_eq(sc.model.catalog_path, "");
    const struct engine_spec *e = &sc.engine;
    cr_assert_eq(e->kind, ENGINE_VLLM);
    cr_assert_str_eq(e->gpu, "");
    cr_assert_eq(e->tensor_parallel_size, 1);
    cr_assert_eq(e->max_num_seqs, 0);
    cr_assert_eq(e->max_num_batched_tokens, 0);
    cr_assert(e->enable_chunked_prefill);
    cr_assert(e->enable_prefix_caching, "on by default, as vLLM V1");
    cr_assert_eq(sc.workload.hash_block_tokens, 512);
    cr_assert_eq(e->block_size, 16);
    cr_assert_eq(e->gpu_memory_utilization, 0.90);
    cr_assert_eq(e->max_model_len, 0);
    cr_assert_eq(e->num_gpu_blocks, 0);
    cr_assert_eq(e->static_batch_size, 8);
    cr_assert_eq(e->latency.kind, LAT_ROOFLINE);
    cr_assert_eq(e->startup.image_gib, 12.0);
    cr_assert_eq(e->startup.image_pull_gib_per_s, 0.1);
    cr_assert_str_eq(e->startup.weights_from, "s3-streamer");
    cr_assert_eq(e->startup.weights_gib_per_s, 3.51); /* Run:ai streamer from S3 */
    cr_assert_eq(e->startup.engine_init_us, 40000000);
    cr_assert_eq(e->termination.grace_period_us, 30000000);
    cr_assert_eq(e->termination.pre_stop_us, 0);
    cr_assert_eq(e->termination.shutdown_timeout_us, 0);
    cr_assert_eq(e->readiness.initial_delay_us, 0);
    cr_assert_eq(e->readiness.period_us, 10000000);
    cr_assert_eq(e->readiness.failure_threshold, 3);
    cr_assert_eq(sc.router.endpoint_delay_us, 1000000);
    cr_assert_eq(sc.router.retry.attempts, 2);
    cr_assert_eq(sc.router.retry.backoff_us, 500000);
    cr_assert_eq(sc.router.retry.max_backoff_us, 8000000);
    cr_assert_eq(sc.router.retry.jitter, 0.25);
    cr_assert(sc.router.retry.on_aborted && sc.router.retry.on_5xx &&
              sc.router.retry.on_timeout);
    cr_assert_eq(sc.router.client_timeout_us, 600000000); /* the OpenAI SDK's 600 s */
    cr_assert_eq(sc.router.policy, ROUTER_LEAST_OUTSTANDING);
    cr_assert_eq(sc.router.queue_timeout_us, 60000000);
    cr_assert_eq(sc.router.max_outstanding_per_replica, 0);
    cr_assert_eq(sc.fleet.replicas, 1);
    cr_assert_eq(sc.fleet.max_gpus, 0);
    cr_assert_eq(sc.fleet.scrape_interval_us, 15000000);
    cr_assert_null(sc.fleet.scaled_object);
    cr_assert_null(sc.fleet.hpa);
    cr_assert_null(sc.cluster.node);
    cr_assert_eq(sc.cost.managed_api_usd_per_mtok, 0.0);
    cr_assert_eq(sc.n_slo, 0);
    cr_assert_eq(sc.record.requests, REC_REQUESTS_FULL);
    cr_assert_eq(sc.record.sample_frac, 0.01);
    cr_assert(sc.record.samples);
    cr_assert_str_eq(sc.overrides, "");
    cr_assert_not_null(sc.doc);
    scenario_release(&sc);
    cr_assert_null(sc.doc);
    scenario_release(&sc); /* releasing twice is harmless */
}

Test(scenario, every_section_binds_its_values)
{
    struct scenario sc;
    load_ok(&sc, SCEN "good_full.yaml", NULL, 0);
    cr_assert_str_eq(sc.name, "full-synthetic");
    cr_assert_eq(sc.seed, 7);
    cr_assert_eq(sc.duration_us, 9000000000LL); /* 2h30m */
    cr_assert_eq(sc.drain_timeout_us, 600000000LL);
    const struct workload_spec *w = &sc.workload;
    cr_assert_eq(w->kind, WL_SYNTHETIC);
    cr_assert_eq(w->process, ARR_GAMMA);
    cr_assert_eq(w->rate_per_s, 5.5);
    cr_assert_eq(w->cv, 2.5);
    cr_assert(w->diurnal);
    cr_assert_eq(w->diurnal_amplitude_frac, 0.4);
    cr_assert_eq(w->diurnal_period_us, 12 * 3600000000LL);
    cr_assert_eq(w->diurnal_peak_at_us, 9 * 3600000000LL);
    cr_assert_eq(w->n_steps, 2);
    cr_assert_eq(w->steps[0].at_us, 600000000LL);
    cr_assert_eq(w->steps[0].rate_per_s, 20.0);
    cr_assert_eq(w->steps[1].at_us, 1200000000LL);
    cr_assert_eq(w->steps[1].rate_per_s, 2.385);
    cr_assert_eq(w->n_spikes, 2); /* equal `at` is allowed for spikes */
    cr_assert_eq(w->spikes[0].at_us, 1800000000LL);
    cr_assert_eq(w->spikes[0].duration_us, 90000000LL);
    cr_assert_eq(w->spikes[0].factor, 3.0);
    cr_assert_eq(w->spikes[1].duration_us, 60000000LL);
    cr_assert_eq(w->spikes[1].factor, 1.5);
    cr_assert_eq(w->prompt.dist, LEN_LOGNORMAL);
    cr_assert_eq(w->prompt.mean, 1000.0);
    cr_assert_eq(w->prompt.sigma, 0.8);
    cr_assert_eq(w->output.dist, LEN_UNIFORM);
    cr_assert_eq(w->output.min, 20.0);
    cr_assert_eq(w->output.max, 400.0);
    cr_assert_eq(w->count, 20000);
    cr_assert_str_eq(sc.model.name, "llama-3-70b");
    cr_assert_str_eq(sc.model.dtype, "fp8");
    cr_assert_str_eq(sc.model.kv_cache_dtype, "fp8");
    cr_assert_str_eq(sc.model.catalog_path, SCEN "my-models.json");
    const struct engine_spec *e = &sc.engine;
    cr_assert_str_eq(e->gpu, "h100-sxm-80gb");
    cr_assert_eq(e->tensor_parallel_size, 4);
    cr_assert_eq(e->max_num_seqs, 512);
    cr_assert_eq(e->max_num_batched_tokens, 16384);
    cr_assert_not(e->enable_chunked_prefill);
    cr_assert_eq(e->block_size, 32);
    cr_assert_eq(e->gpu_memory_utilization, 0.85);
    cr_assert_eq(e->max_model_len, 32768);
    cr_assert_eq(e->num_gpu_blocks, 12000);
    cr_assert_eq(e->latency.kind, LAT_LINEAR);
    cr_assert_eq(e->latency.fixed_ms, 6.0);
    cr_assert_eq(e->latency.per_prefill_token_us, 60.0);
    cr_assert_eq(e->latency.per_decode_seq_us, 30.0);
    cr_assert_eq(e->latency.per_context_token_ns, 5.0);
    cr_assert_eq(e->startup.image_gib, 20.0);
    cr_assert_eq(e->startup.image_pull_gib_per_s, 0.25);
    cr_assert_str_eq(e->startup.weights_from, "custom");
    cr_assert_eq(e->startup.weights_gib_per_s, 2.5);
    cr_assert_eq(e->startup.engine_init_us, 90000000);
    cr_assert_eq(e->termination.grace_period_us, 120000000);
    cr_assert_eq(e->termination.pre_stop_us, 15000000);
    cr_assert_eq(e->termination.shutdown_timeout_us, 90000000);
    cr_assert_eq(e->readiness.initial_delay_us, 30000000);
    cr_assert_eq(e->readiness.period_us, 5000000);
    cr_assert_eq(e->readiness.failure_threshold, 6);
    cr_assert_eq(sc.router.endpoint_delay_us, 3000000);
    cr_assert_eq(sc.router.retry.attempts, 0);
    cr_assert_eq(sc.router.retry.backoff_us, 1000000);
    cr_assert_eq(sc.router.retry.max_backoff_us, 4000000);
    cr_assert_eq(sc.router.retry.jitter, 0.0);
    cr_assert(!sc.router.retry.on_aborted && sc.router.retry.on_5xx &&
              sc.router.retry.on_timeout);
    cr_assert_eq(sc.router.client_timeout_us, 30000000);
    cr_assert_eq(sc.router.policy, ROUTER_ROUND_ROBIN);
    cr_assert_eq(sc.router.queue_timeout_us, 250000);
    cr_assert_eq(sc.router.max_outstanding_per_replica, 64);
    cr_assert_eq(sc.fleet.max_gpus, 32);
    cr_assert_eq(sc.fleet.scrape_interval_us, 5000000);
    cr_assert_null(sc.fleet.hpa);
    const struct ynode *so = sc.fleet.scaled_object; /* loaded from include/so.yaml */
    cr_assert_not_null(so);
    cr_assert_str_eq(so->file, SCEN "include/so.yaml");
    cr_assert_str_eq(ynode_get(so, "kind")->value, "ScaledObject");
    cr_assert_str_eq(ynode_get(ynode_get(so, "spec"), "maxReplicaCount")->value, "6");
    const struct ynode *cl = sc.cluster.node;
    cr_assert_not_null(cl);
    cr_assert_str_eq(ynode_get(cl, "cloud")->value, "azure");
    cr_assert_eq(sc.cost.managed_api_usd_per_mtok, 0.4);
    cr_assert_eq(sc.n_slo, 4);
    cr_assert_str_eq(sc.slo[0].key, "ttft_p95");
    cr_assert_eq(sc.slo[0].metric, SLO_TTFT);
    cr_assert_eq(sc.slo[0].quantile, 0.95);
    cr_assert_eq(sc.slo[0].target, 0.5); /* 500ms in seconds: 500000 / 1e6 is exact */
    cr_assert_eq(sc.slo[1].metric, SLO_TPOT);
    cr_assert_eq(sc.slo[1].quantile, 0.999);
    cr_assert_eq(sc.slo[1].target, 1.5);
    cr_assert_eq(sc.slo[2].metric, SLO_E2E);
    cr_assert_eq(sc.slo[2].quantile, 0.5);
    cr_assert_eq(sc.slo[2].target, 60.0);
    cr_assert_eq(sc.slo[3].metric, SLO_ERROR_RATE);
    cr_assert_float_eq(sc.slo[3].target, 0.001, 1e-18); /* 0.1 / 100: within an ulp */
    cr_assert_str_eq(slo_metric_name(sc.slo[3].metric), "error_rate");
    cr_assert_str_eq(slo_metric_name(SLO_TTFT), "ttft");
    cr_assert_eq(sc.record.requests, REC_REQUESTS_SAMPLE);
    cr_assert_eq(sc.record.sample_frac, 0.25);
    cr_assert_not(sc.record.samples);
    scenario_release(&sc);
}

Test(scenario, trace_replay_static_engine_and_inline_hpa)
{
    struct scenario sc;
    load_ok(&sc, SCEN "good_trace.yaml", NULL, 0);
    const struct workload_spec *w = &sc.workload;
    cr_assert_eq(w->kind, WL_TRACE);
    /* relative to the scenario's folder; not required to exist at load time */
    cr_assert_str_eq(w->trace_path, SCEN "../traces/conv.csv");
    cr_assert_eq(w->format, TRACE_MOONCAKE);
    cr_assert_eq(w->time_scale, 2.5);
    cr_assert_eq(w->rate_scale, 0.5);
    cr_assert_eq(w->window_start_us, 300000000LL);
    cr_assert_eq(w->window_end_us, 2100000000LL);
    cr_assert(w->skip_bad_rows);
    cr_assert_str_eq(sc.model.catalog_path, "/opt/catalog.json"); /* absolute: as given */
    cr_assert_eq(sc.engine.kind, ENGINE_STATIC);
    cr_assert_eq(sc.engine.static_batch_size, 16);
    cr_assert_eq(sc.engine.latency.kind, LAT_CONSTANT);
    cr_assert_eq(sc.engine.latency.prefill_per_token_us, 80.0);
    cr_assert_eq(sc.engine.latency.decode_iteration_ms, 25.0);
    /* local-nvme borrows the EBS io2 streamer figure (an assumption, documented) */
    cr_assert_str_eq(sc.engine.startup.weights_from, "local-nvme");
    cr_assert_eq(sc.engine.startup.weights_gib_per_s, 1.96);
    cr_assert_null(sc.fleet.scaled_object);
    cr_assert_not_null(sc.fleet.hpa);
    cr_assert_str_eq(ynode_get(sc.fleet.hpa, "kind")->value, "HorizontalPodAutoscaler");
    cr_assert_eq(sc.fleet.hpa->line, 21); /* a block map starts at its first key */
    scenario_release(&sc);
}

Test(scenario, exponential_empirical_lengths_duration_and_table_path)
{
    struct scenario sc;
    load_ok(&sc, SCEN "good_lengths.yaml", NULL, 0);
    cr_assert_eq(sc.duration_us, 3600000000LL);
    cr_assert_eq(sc.workload.count, 0); /* until `duration` */
    cr_assert_eq(sc.workload.process, ARR_CONSTANT);
    cr_assert_eq(sc.workload.prompt.dist, LEN_EXPONENTIAL);
    cr_assert_eq(sc.workload.prompt.mean, 512.5);
    cr_assert_eq(sc.workload.output.dist, LEN_EMPIRICAL);
    cr_assert_str_eq(sc.workload.output.path, SCEN "lens/sharegpt.csv");
    cr_assert_str_eq(sc.workload.output.column, "output_len");
    cr_assert_eq(sc.engine.latency.kind, LAT_TABLE);
    cr_assert_str_eq(sc.engine.latency.table_path, SCEN "tables/h100.json");
    /* EBS gp3 via the Run:ai streamer */
    cr_assert_str_eq(sc.engine.startup.weights_from, "network-volume");
    cr_assert_eq(sc.engine.startup.weights_gib_per_s, 1.03);
    scenario_release(&sc);
}

Test(scenario, prefix_structure_binds_every_part)
{
    struct scenario sc;
    load_ok(&sc, SCEN "good_prefix.yaml", NULL, 0);
    const struct prefix_spec *px = &sc.workload.prefix;
    cr_assert_eq(px->system.count, 8);
    cr_assert_eq(px->system.tokens.dist, LEN_UNIFORM);
    cr_assert_eq(px->system.zipf_s, 1.2);
    cr_assert_eq(px->system.share_frac, 1.0);
    cr_assert_eq(px->documents.count, 2000);
    cr_assert_eq(px->documents.zipf_s, 0.0);
    cr_assert_eq(px->documents.share_frac, 0.3);
    cr_assert(px->sessions.on);
    cr_assert_eq(px->sessions.turns.max, 8);
    cr_assert_eq(px->sessions.think_time_us, 45000000);
    cr_assert_eq(px->sessions.max_context_tokens, 16000);
    cr_assert_not(sc.engine.enable_prefix_caching);
    scenario_release(&sc);
}

Test(scenario, the_endpoint_picker_takes_the_epp_defaults_and_overrides)
{
    struct scenario sc;
    const char *sets[] = {"router.policy=endpoint_picker",
                          "router.endpoint_picker.prefix_weight=5",
                          "router.endpoint_picker.refresh_interval=100ms"};
    load_ok(&sc, SCEN "good_minimal.yaml", sets, 3);
    cr_assert_eq(sc.router.policy, ROUTER_ENDPOINT_PICKER);
    cr_assert_eq(sc.router.epp.queue_weight, 2.0);
    cr_assert_eq(sc.router.epp.kv_cache_weight, 2.0);
    cr_assert_eq(sc.router.epp.prefix_weight, 5.0);
    cr_assert_eq(sc.router.epp.refresh_interval_us, 100000);
    cr_assert_eq(sc.router.epp.lru_capacity_per_server, 31250);
    cr_assert_eq(sc.router.load_factor, 1.25);
    scenario_release(&sc);
}

Test(scenario, empty_sections_take_their_defaults)
{
    struct scenario sc;
    load_ok(&sc, SCEN "good_null_sections.yaml", NULL, 0);
    cr_assert_eq(sc.router.queue_timeout_us, 60000000);
    cr_assert_eq(sc.engine.termination.grace_period_us, 30000000);
    cr_assert_null(sc.fleet.scaled_object);
    cr_assert_null(sc.cluster.node);
    cr_assert_eq(sc.n_slo, 0);
    cr_assert_not(sc.workload.diurnal);
    scenario_release(&sc);
}

Test(scenario, pod_annotations_and_volumes_bind)
{
    /* do-not-disrupt as a duration; safe-to-evict "false"; the hostPath is named in
     * safe-to-evict-local-volumes and the Memory emptyDir is not local storage, but the
     * disk emptyDir is; unknown annotations and configMap volumes are ignored. */
    struct scenario sc;
    load_ok(&sc, SCEN "good_pod.yaml", NULL, 0);
    cr_assert_eq(sc.fleet.pod.do_not_disrupt_us, 600000000);
    cr_assert_eq(sc.fleet.pod.safe_to_evict, 0);
    cr_assert(sc.fleet.pod.local_storage);
    cr_assert_eq(sc.fleet.pod.deletion_cost, -50);
    scenario_release(&sc);
    /* Without the disk emptyDir nothing is local storage. */
    static const char *const sets[] = {"fleet.pod.volumes.0.emptyDir.medium=Memory"};
    load_ok(&sc, SCEN "good_pod.yaml", sets, 1);
    cr_assert_not(sc.fleet.pod.local_storage);
    scenario_release(&sc);
    load_ok(&sc, SCEN "good_example.yaml", NULL, 0);
    cr_assert_eq(sc.fleet.pod.do_not_disrupt_us, 0);
    cr_assert_eq(sc.fleet.pod.safe_to_evict, -1);
    cr_assert_not(sc.fleet.pod.local_storage);
    scenario_release(&sc);
}

Test(scenario, the_shared_example_loads)
{
    /* a copy of /work/shared/scenario-example.yaml, the vocabulary planners expect */
    struct scenario sc;
    load_ok(&sc, SCEN "good_example.yaml", NULL, 0);
    cr_assert_str_eq(sc.name, "chat-llama3-8b-eks");
    cr_assert_eq(sc.seed, 42);
    cr_assert_eq(sc.duration_us, 3600000000LL);
    cr_assert_eq(sc.workload.kind, WL_TRACE);
    cr_assert_eq(sc.workload.format, TRACE_AZURE);
    cr_assert_str_eq(sc.workload.trace_path, SCEN "../traces/AzureLLMInferenceTrace_conv.csv");
    cr_assert_eq(sc.workload.window_start_us, 0);
    cr_assert_eq(sc.workload.window_end_us, 1800000000LL);
    cr_assert_str_eq(sc.engine.gpu, "h100-sxm-80gb");
    cr_assert_eq(sc.engine.max_num_seqs, 256);
    cr_assert_eq(sc.engine.max_num_batched_tokens, 8192);
    cr_assert_eq(sc.engine.max_model_len, 8192);
    cr_assert_eq(sc.engine.num_gpu_blocks, 0); /* auto */
    cr_assert_eq(sc.engine.latency.kind, LAT_TABLE);
    cr_assert_str_eq(sc.engine.latency.table_path,
                     SCEN "../models/tables/h100-sxm-80gb.llama-3-8b.bf16.json");
    cr_assert_not_null(sc.fleet.scaled_object);
    cr_assert_str_eq(ynode_get(ynode_get(sc.fleet.scaled_object, "metadata"), "name")->value,
                     "vllm-scaler");
    cr_assert_not_null(sc.cluster.node);
    cr_assert_not_null(ynode_get(sc.cluster.node, "karpenter"));
    cr_assert_eq(sc.cost.managed_api_usd_per_mtok, 0.40);
    cr_assert_eq(sc.n_slo, 3);
    cr_assert_eq(sc.slo[1].target, 0.05); /* tpot_p95: 50ms = 50000 us / 1e6 */
    scenario_release(&sc);
}

Test(scenario, hash_is_sha256_of_the_file_bytes)
{
    /* expected value from `sha256sum tests/fixtures/scenarios/good_hash.yaml` */
    struct scenario sc;
    load_ok(&sc, SCEN "good_hash.yaml", NULL, 0);
    cr_assert_str_eq(sc.sha256, "618c35983ca5d8b1bcd393e4623b5e24867a35faad67db6f78e7016e791822f5");
    cr_assert_str_eq(sc.name, "good_hash");
    scenario_release(&sc);
}

Test(scenario, resolve_path_joins_the_scenario_folder)
{
    struct scenario sc;
    scenario_defaults(&sc);
    char out[SC_PATH_MAX];
    snprintf(sc.dir, sizeof sc.dir, "scenarios");
    scenario_resolve_path(&sc, "t.csv", out, sizeof out);
    cr_assert_str_eq(out, "scenarios/t.csv");
    scenario_resolve_path(&sc, "/abs/t.csv", out, sizeof out);
    cr_assert_str_eq(out, "/abs/t.csv");
    snprintf(sc.dir, sizeof sc.dir, ".");
    scenario_resolve_path(&sc, "t.csv", out, sizeof out);
    cr_assert_str_eq(out, "t.csv");
    snprintf(sc.dir, sizeof sc.dir, "/");
    scenario_resolve_path(&sc, "t.csv", out, sizeof out);
    cr_assert_str_eq(out, "/t.csv");
}

/* ---- --set ------------------------------------------------------------------------- */

Test(scenario_set, overrides_existing_new_and_sequence_paths)
{
    static const char *const sets[] = {
        "seed=99",                 /* existing */
        "router.queue_timeout=5s", /* new inside a new section */
        "workload.rate_profile.steps=[{at: 1m, rate_per_s: 3}, {at: 2m, rate_per_s: 4}]",
        "workload.rate_profile.steps.1.rate_per_s=8.5", /* a sequence item */
        "engine.latency={model: constant, constant: {prefill_per_token_us: 1, "
        "decode_iteration_ms: 2}}",
        "name=from-set",
    };
    struct scenario sc;
    load_ok(&sc, SCEN "good_minimal.yaml", sets, sizeof sets / sizeof sets[0]);
    cr_assert_eq(sc.seed, 99);
    cr_assert_eq(sc.router.queue_timeout_us, 5000000);
    cr_assert_eq(sc.workload.n_steps, 2);
    cr_assert_eq(sc.workload.steps[0].rate_per_s, 3.0);
    cr_assert_eq(sc.workload.steps[1].at_us, 120000000LL);
    cr_assert_eq(sc.workload.steps[1].rate_per_s, 8.5);
    cr_assert_eq(sc.engine.latency.kind, LAT_CONSTANT);
    cr_assert_eq(sc.engine.latency.decode_iteration_ms, 2.0);
    cr_assert_str_eq(sc.name, "from-set");
    cr_assert_str_eq(sc.overrides,
                     "seed=99;router.queue_timeout=5s;workload.rate_profile.steps=[{at: 1m, "
                     "rate_per_s: 3}, {at: 2m, rate_per_s: 4}];workload.rate_profile.steps.1."
                     "rate_per_s=8.5;engine.latency={model: constant, constant: "
                     "{prefill_per_token_us: 1, decode_iteration_ms: 2}};name=from-set");
    scenario_release(&sc);
}

/* Read a ScaledObject as the run does; returns the code. */
static int read_so_at(const struct ynode *so, const char *key, struct sim_err *e)
{
    struct keda_config kc;
    keda_config_init(&kc);
    int rc = manifest_read_scaledobject(so, key, &kc, e);
    if (rc == SIM_OK)
        keda_config_release(&kc);
    return rc;
}

static int read_so(const struct scenario *sc, struct sim_err *e)
{
    return read_so_at(sc->fleet.scaled_object, "fleet.autoscaler.scaledObject", e);
}

/* The included ScaledObject `so` (from `file`) got maxReplicaCount 9 from --set and kept
 * the file's minReplicaCount, at its line 6. */
static void assert_max_set_in(const struct ynode *so, const char *file)
{
    const struct ynode *spec = ynode_get(so, "spec");
    cr_assert_str_eq(so->file, file);
    cr_assert_str_eq(ynode_get(spec, "maxReplicaCount")->value, "9");
    cr_assert_str_eq(ynode_get(spec, "maxReplicaCount")->file, "--set");
    cr_assert_str_eq(ynode_get(spec, "minReplicaCount")->file, file);
    cr_assert_eq(ynode_get(spec, "minReplicaCount")->line, 6);
}

/* good_full.yaml includes include/so.yaml (maxReplicaCount 6, threshold "5"): the
 * override lands in the included object, the rest keeps the included file's positions. */
Test(scenario_set, reaches_into_an_included_object)
{
    static const char *const sets[] = {
        "fleet.autoscaler.scaledObject.spec.maxReplicaCount=9",
        "fleet.autoscaler.scaledObject.spec.triggers.0.metadata.threshold=\"7\"",
    };
    struct scenario sc;
    load_ok(&sc, SCEN "good_full.yaml", sets, 2);
    const struct ynode *so = sc.fleet.scaled_object;
    assert_max_set_in(so, SCEN "include/so.yaml");
    struct keda_config kc;
    struct sim_err e = {0};
    keda_config_init(&kc);
    cr_assert_eq(manifest_read_scaledobject(so, "fleet.autoscaler.scaledObject", &kc, &e),
                 SIM_OK, "%s: %s", e.where, e.msg);
    cr_assert_eq(kc.max_replica_count, 9);
    cr_assert_eq(kc.min_replica_count, 1);
    cr_assert_eq(kc.triggers[0].threshold, 7.0);
    keda_config_release(&kc);
    scenario_release(&sc);
}

Test(scenario_set, an_error_left_in_the_included_file_points_into_it)
{
    static const char *const sets[] = {"fleet.autoscaler.scaledObject.spec.maxReplicaCount=9"};
    struct scenario sc;
    load_ok(&sc, SCEN "good_include_typo.yaml", sets, 1);
    struct sim_err e = {0};
    cr_assert_eq(read_so(&sc, &e), SIM_EINVAL);
    cr_assert_str_eq(e.where, SCEN "include/so_typo.yaml:9:3");
    cr_assert_str_eq(e.msg, "unknown key 'cooldwnPeriod' in 'fleet.autoscaler.scaledObject.spec' "
                            "(did you mean 'cooldownPeriod'?)");
    scenario_release(&sc);
}

Test(scenario_set, a_bad_value_set_into_an_include_points_at_the_assignment)
{
    static const char *const sets[] = {"fleet.autoscaler.scaledObject.spec.maxReplicaCount=0"};
    struct scenario sc;
    load_ok(&sc, SCEN "good_full.yaml", sets, 1);
    struct sim_err e = {0};
    cr_assert_eq(read_so(&sc, &e), SIM_EINVAL);
    cr_assert_str_eq(e.where, "--set:1:52");
    scenario_release(&sc);
}

Test(scenario_set, the_include_file_itself_can_be_replaced_then_reached_into)
{
    /* "...scaledObject.file=" names another file (relative to the current folder, as
     * command-line paths are); a later override reaches into that one. */
    static const char *const sets[] = {
        "fleet.autoscaler.scaledObject.file=" SCEN "include/so_other.yaml",
        "fleet.autoscaler.scaledObject.spec.minReplicaCount=3",
    };
    struct scenario sc;
    load_ok(&sc, SCEN "good_full.yaml", sets, 2);
    const struct ynode *spec = ynode_get(sc.fleet.scaled_object, "spec");
    cr_assert_str_eq(sc.fleet.scaled_object->file, SCEN "include/so_other.yaml");
    cr_assert_str_eq(ynode_get(spec, "minReplicaCount")->value, "3");
    cr_assert_str_eq(ynode_get(spec, "maxReplicaCount")->value, "3");
    scenario_release(&sc);
}

Test(scenario_set, a_missing_include_reached_by_set_points_at_its_file_value)
{
    static const char *const sets[] = {
        "fleet.autoscaler.scaledObject.file=no/such/so.yaml",
        "fleet.autoscaler.scaledObject.spec.minReplicaCount=3",
    };
    struct scenario sc;
    struct sim_err e = {0};
    cr_assert_eq(scenario_load(&sc, SCEN "good_full.yaml", sets, 2, &e), SIM_ENOENT);
    cr_assert_str_eq(e.where, "--set:1:36");
    cr_assert_str_eq(e.msg, "cannot open 'no/such/so.yaml': no such file or directory");
    cr_assert_null(sc.doc);
}

/* ---- --set into `deployments:` (tests/fixtures/multi/set_include.yaml: chat 2 replicas,
 * code autoscaled by include/code_so_ok.yaml, min 1, max 4) ---- */

#define MULTI FIXTURES "/multi/"

Test(scenario_set, a_deployment_is_addressed_by_index_or_by_name)
{
    static const char *const by_index[] = {"deployments.0.fleet.replicas=3",
                                           "deployments.1.slo.ttft_p95=250ms"};
    static const char *const by_name[] = {"deployments.chat.fleet.replicas=3",
                                          "deployments.code.slo.ttft_p95=250ms"};
    const char *const *sets[] = {by_index, by_name};
    for (size_t k = 0; k < 2; k++) {
        struct scenario sc;
        load_ok(&sc, MULTI "set_include.yaml", sets[k], 2);
        cr_assert_eq(sc.n_deployments, 2);
        cr_assert_eq(sc.deployments[0].fleet.replicas, 3);
        cr_assert_eq(sc.deployments[1].n_slo, 1);
        cr_assert_eq(sc.deployments[1].slo[0].target, 0.25);
        cr_assert_eq(sc.deployments[0].slo[0].target, 2.0); /* the other one's kept */
        /* recorded as given (the runs table's overrides) */
        cr_assert_str_eq(sc.overrides, k ? "deployments.chat.fleet.replicas=3;"
                                           "deployments.code.slo.ttft_p95=250ms"
                                         : "deployments.0.fleet.replicas=3;"
                                           "deployments.1.slo.ttft_p95=250ms");
        scenario_release(&sc);
    }
}

Test(scenario_set, a_set_by_name_reaches_into_a_deployments_included_object)
{
    static const char *const sets[] = {
        "deployments.code.fleet.autoscaler.scaledObject.spec.maxReplicaCount=9"};
    struct scenario sc;
    load_ok(&sc, MULTI "set_include.yaml", sets, 1);
    assert_max_set_in(sc.deployments[1].fleet.scaled_object, MULTI "include/code_so_ok.yaml");
    /* the file itself is untouched for a later load */
    scenario_release(&sc);
    load_ok(&sc, MULTI "set_include.yaml", NULL, 0);
    const struct ynode *spec = ynode_get(sc.deployments[1].fleet.scaled_object, "spec");
    cr_assert_str_eq(ynode_get(spec, "maxReplicaCount")->value, "4");
    scenario_release(&sc);
}

static int read_dep_so(const struct scenario *sc, struct sim_err *e)
{
    return read_so_at(sc->deployments[1].fleet.scaled_object,
                      "deployments.1.fleet.autoscaler.scaledObject", e);
}

Test(scenario_set, errors_in_a_deployments_include_point_at_the_assignment_or_the_file)
{
    /* a bad value set by index: the assignment's value column (1-based: the '0' after
     * "deployments.1.fleet.autoscaler.scaledObject.spec.maxReplicaCount=", 65 chars) */
    static const char *const bad[] = {
        "deployments.1.fleet.autoscaler.scaledObject.spec.maxReplicaCount=0"};
    struct scenario sc;
    struct sim_err e = {0};
    load_ok(&sc, MULTI "set_include.yaml", bad, 1);
    cr_assert_eq(read_dep_so(&sc, &e), SIM_EINVAL);
    cr_assert_str_eq(e.where, "--set:1:66");
    scenario_release(&sc);
    /* another file named by name, then reached into: its typo is at its own line:col */
    static const char *const typo[] = {
        "deployments.code.fleet.autoscaler.scaledObject.file=" MULTI "include/code_so_typo.yaml",
        "deployments.code.fleet.autoscaler.scaledObject.spec.minReplicaCount=2"};
    load_ok(&sc, MULTI "set_include.yaml", typo, 2);
    memset(&e, 0, sizeof e);
    cr_assert_eq(read_dep_so(&sc, &e), SIM_EINVAL);
    cr_assert_str_eq(e.where, MULTI "include/code_so_typo.yaml:8:3");
    cr_assert_str_eq(e.msg, "unknown key 'cooldwnPeriod' in "
                            "'deployments.1.fleet.autoscaler.scaledObject.spec' (did you mean "
                            "'cooldownPeriod'?)");
    scenario_release(&sc);
    /* a bad scalar set straight into a deployment: its column, the deployment's path */
    static const char *const notint[] = {"deployments.chat.fleet.replicas=x"};
    load_fails(MULTI "set_include.yaml", notint, 1, SIM_EINVAL, "--set:1:33",
               "'deployments.0.fleet.replicas' must be an integer (replicas), got 'x'");
}

/* A --set that creates a top-level section each deployment has (the file has none) binds
 * as the file's own (a routed trace, or a section refused beside `deployments`): the error
 * keeps its place and wording and names the deployment path the user likely meant. */
Test(scenario_set, a_top_level_set_beside_deployments_hints_at_the_deployment_path)
{
    static const char *const rate[] = {"workload.arrivals.rate_per_s=2"};
    load_fails(MULTI "set_include.yaml", rate, 1, SIM_EINVAL, "--set:1:1",
               "'workload.prompt_tokens' is required with 'arrivals'; did you mean --set "
               "deployments.chat.workload.arrivals.rate_per_s=2 (deployments: chat, code)?");
    static const char *const policy[] = {"seed=3", "router.policy=round_robin"};
    load_fails(MULTI "set_include.yaml", policy, 2, SIM_EINVAL, "--set:1:1",
               "'router' belongs in each deployment when the file has 'deployments'; did you "
               "mean --set deployments.chat.router.policy=round_robin (deployments: chat, "
               "code)?");
    /* a list of one names its one deployment */
    load_fails(MULTI "one_item.yaml", rate, 1, SIM_EINVAL, "--set:1:1",
               "'workload.prompt_tokens' is required with 'arrivals'; did you mean --set "
               "deployments.chat.workload.arrivals.rate_per_s=2 (deployments: chat)?");
}

Test(scenario_set, a_top_level_set_without_deployments_keeps_its_message)
{
    /* the same deployment written flat: its own router, no hint */
    static const char *const policy[] = {"router.policy=nope"};
    load_fails(MULTI "one_item_flat.yaml", policy, 1, SIM_EINVAL, "--set:1:15",
               "'router.policy' must be one of round_robin, least_outstanding, endpoint_picker, "
               "prefix_affinity, session_affinity, got 'nope'");
    /* beside deployments, a section the file has already, or a run setting: no hint */
    static const char *const seed[] = {"seed=x"};
    load_fails(MULTI "set_include.yaml", seed, 1, SIM_EINVAL, "--set:1:6",
               "'seed' must be an integer, got 'x'");
}

Test(scenario_set, an_unknown_deployment_name_lists_the_names)
{
    static const char *const sets[] = {"deployments.cdoe.fleet.replicas=3"};
    load_fails(MULTI "set_include.yaml", sets, 1, SIM_EINVAL, "--set",
               "invalid --set 'deployments.cdoe.fleet.replicas=3': 'deployments' is a "
               "sequence: 'cdoe' is neither an index nor the name of an item (names: chat, "
               "code); did you mean 'code'?");
    /* a sequence whose items have no names keeps the index-only message */
    static const char *const steps[] = {"workload.rate_profile.steps.x.rate_per_s=3"};
    load_fails(SCEN "good_full.yaml", steps, 1, SIM_EINVAL, "--set",
               "invalid --set 'workload.rate_profile.steps.x.rate_per_s=3': "
               "'workload.rate_profile.steps' is a sequence: 'x' is not an index");
}

Test(scenario_set, paths_set_on_the_command_line_are_relative_to_the_current_folder)
{
    static const char *const sets[] = {"model.catalog=mine.json"};
    struct scenario sc;
    load_ok(&sc, SCEN "good_minimal.yaml", sets, 1);
    cr_assert_str_eq(sc.model.catalog_path, "mine.json");
    scenario_release(&sc);
}

Test(scenario_set, a_bad_value_is_reported_at_its_column_in_the_assignment)
{
    static const char *const sets[] = {"seed=3", "router.queue_timeout=30"};
    struct scenario sc;
    struct sim_err e = {0};
    cr_assert_eq(scenario_load(&sc, SCEN "good_minimal.yaml", sets, 2, &e), SIM_EINVAL);
    cr_assert_str_eq(e.where, "--set:1:22");
    cr_assert_str_eq(e.msg, "'router.queue_timeout' must be a duration with a unit (250ms, 30s, "
                            "5m, 2h), got '30'");
    cr_assert_null(sc.doc); /* nothing left to release */
    cr_assert_null(sc.workload.steps);
}

Test(scenario_set, a_bad_path_is_reported_with_the_assignment)
{
    static const char *const sets[] = {"workload.count.x=3"};
    load_fails(SCEN "good_minimal.yaml", sets, 1, SIM_EINVAL, "--set",
               "invalid --set 'workload.count.x=3': 'workload.count' is a scalar, not a map");
}

Test(scenario_set, an_unknown_key_from_set_gets_a_suggestion)
{
    static const char *const sets[] = {"engine.max_num_seq=64"};
    struct scenario sc;
    struct sim_err e = {0};
    cr_assert_eq(scenario_load(&sc, SCEN "good_minimal.yaml", sets, 1, &e), SIM_EINVAL);
    cr_assert_str_eq(e.where, "--set:1:8");
    cr_assert_str_eq(e.msg, "unknown key 'max_num_seq' in 'engine' (did you mean 'max_num_seqs'?)");
}

Test(scenario_set, overrides_too_long_to_record_are_an_error)
{
    static char big[1500];
    memset(big, 'x', sizeof big - 1);
    memcpy(big, "name=", 5);
    const char *const sets[] = {big, big};
    struct scenario sc;
    struct sim_err e = {0};
    cr_assert_eq(scenario_load(&sc, SCEN "good_minimal.yaml", sets, 2, &e), SIM_EINVAL);
    cr_assert_str_eq(e.where, "--set");
    cr_assert_str_eq(e.msg, "--set overrides are too long to record (more than 2047 characters "
                            "in all)");
    cr_assert_null(sc.doc);
}

/* ---- errors ------------------------------------------------------------------------ */

Test(scenario, missing_file_is_enoent)
{
    struct scenario sc;
    struct sim_err e = {0};
    cr_assert_eq(scenario_load(&sc, SCEN "no_such.yaml", NULL, 0, &e), SIM_ENOENT);
    cr_assert_str_eq(e.where, SCEN "no_such.yaml");
    cr_assert_str_eq(e.msg, "cannot open '" SCEN "no_such.yaml': no such file or directory");
    cr_assert_null(sc.doc);
}

Test(scenario, a_path_too_long_for_the_record_is_an_error)
{
    char path[SC_PATH_MAX + 8];
    memset(path, 'a', sizeof path - 1);
    path[sizeof path - 1] = '\0';
    struct scenario sc;
    struct sim_err e = {0};
    cr_assert_eq(scenario_load(&sc, path, NULL, 0, &e), SIM_EINVAL);
    cr_assert_str_eq(e.where, "");
    cr_assert_str_eq(e.msg, "scenario path is too long (at most 1023 characters)");
    cr_assert_null(sc.doc);
}

struct bad_case {
    const char *file;  /* under tests/fixtures/scenarios/ */
    const char *where; /* relative to the same folder, with line:col */
    const char *msg;
    int code;
};

static void check_bad(const struct bad_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char path[512], where[512];
        snprintf(path, sizeof path, "%s%s", SCEN, cases[i].file);
        snprintf(where, sizeof where, "%s%s", SCEN, cases[i].where);
        struct scenario sc;
        struct sim_err e = {0};
        int rc = scenario_load(&sc, path, NULL, 0, &e);
        cr_expect_eq(rc, cases[i].code, "%s: rc %d", cases[i].file, rc);
        cr_expect_str_eq(e.where, where, "%s", cases[i].file);
        cr_expect_str_eq(e.msg, cases[i].msg, "%s", cases[i].file);
        cr_expect_null(sc.doc, "%s", cases[i].file);
        cr_expect_null(sc.workload.steps, "%s", cases[i].file);
        cr_expect_null(sc.workload.spikes, "%s", cases[i].file);
    }
}

static const struct bad_case bad_yaml_and_top_level[] = {
    {"bad_drain_timeout_negative.yaml", "bad_drain_timeout_negative.yaml:2:16",
     "'drain_timeout' must be >= 0s, got '-5m'", SIM_EINVAL},
    {"bad_duplicate_key.yaml", "bad_duplicate_key.yaml:5:5",
     "duplicate key 'rate_per_s' in 'workload.arrivals' (first at line 4)", SIM_EINVAL},
    {"bad_duration_no_unit.yaml", "bad_duration_no_unit.yaml:2:11",
     "'duration' must be a duration with a unit (250ms, 30s, 5m, 2h), got '3600'", SIM_EINVAL},
    {"bad_merge_key.yaml", "bad_merge_key.yaml:5:5",
     "merge keys ('<<') are not supported: write the keys out", SIM_EINVAL},
    {"bad_name_empty.yaml", "bad_name_empty.yaml:2:7", "'name' must not be empty", SIM_EINVAL},
    {"bad_seed_negative.yaml", "bad_seed_negative.yaml:2:7", "'seed' must be >= 0, got '-1'",
     SIM_EINVAL},
    {"bad_seed_null.yaml", "bad_seed_null.yaml:2:6", "expected an integer for 'seed', found null",
     SIM_EINVAL},
    {"bad_seed_quoted.yaml", "bad_seed_quoted.yaml:2:7",
     "'seed' must be an integer, got a quoted string '42'", SIM_EINVAL},
    {"bad_top_not_map.yaml", "bad_top_not_map.yaml:2:1",
     "expected a map at the top level, found a sequence", SIM_EINVAL},
    {"bad_two_documents.yaml", "bad_two_documents.yaml:3:1",
     "only one YAML document is allowed per file", SIM_EINVAL},
    {"bad_unknown_top_key.yaml", "bad_unknown_top_key.yaml:2:1",
     "unknown key 'sed' at the top level (did you mean 'seed'?)", SIM_EINVAL},
    {"bad_yaml_syntax.yaml", "bad_yaml_syntax.yaml:3:27",
     "invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence started at "
     "line 3)",
     SIM_EINVAL},
};

Test(scenario_bad, yaml_and_top_level_errors)
{
    check_bad(bad_yaml_and_top_level,
              sizeof bad_yaml_and_top_level / sizeof bad_yaml_and_top_level[0]);
}

static const struct bad_case bad_rate_profile[] = {
    {"bad_diurnal_amplitude_one.yaml", "bad_diurnal_amplitude_one.yaml:5:31",
     "'workload.rate_profile.diurnal.amplitude_frac' must be in [0, 1), got '1'", SIM_EINVAL},
    {"bad_diurnal_missing_amplitude.yaml", "bad_diurnal_missing_amplitude.yaml:5:5",
     "'workload.rate_profile.diurnal.amplitude_frac' is required", SIM_EINVAL},
    {"bad_diurnal_period_zero.yaml", "bad_diurnal_period_zero.yaml:5:44",
     "'workload.rate_profile.diurnal.period' must be > 0, got '0s'", SIM_EINVAL},
    {"bad_rate_profile_unknown_key.yaml", "bad_rate_profile_unknown_key.yaml:5:5",
     "unknown key 'burst' in 'workload.rate_profile' (known keys: diurnal, steps, spikes)",
     SIM_EINVAL},
    {"bad_spike_duration_zero.yaml", "bad_spike_duration_zero.yaml:6:27",
     "'workload.rate_profile.spikes.0.duration' must be > 0, got '0s'", SIM_EINVAL},
    {"bad_spike_missing_factor.yaml", "bad_spike_missing_factor.yaml:6:7",
     "'workload.rate_profile.spikes.0.factor' is required", SIM_EINVAL},
    {"bad_spikes_unsorted.yaml", "bad_spikes_unsorted.yaml:7:12",
     "'workload.rate_profile.spikes.1.at' must not be before 'workload.rate_profile.spikes.0.at' "
     "(10m), got '5m'",
     SIM_EINVAL},
    {"bad_step_missing_rate.yaml", "bad_step_missing_rate.yaml:7:7",
     "'workload.rate_profile.steps.1.rate_per_s' is required", SIM_EINVAL},
    {"bad_step_rate_zero.yaml", "bad_step_rate_zero.yaml:6:29",
     "'workload.rate_profile.steps.0.rate_per_s' must be in (0, 1000000000] (req/s), got '0'", SIM_EINVAL},
    {"bad_steps_not_seq.yaml", "bad_steps_not_seq.yaml:5:12",
     "expected a sequence for 'workload.rate_profile.steps', found a map", SIM_EINVAL},
    {"bad_steps_unsorted.yaml", "bad_steps_unsorted.yaml:7:12",
     "'workload.rate_profile.steps.1.at' must be after 'workload.rate_profile.steps.0.at' (10m), "
     "got '5m'",
     SIM_EINVAL},
};

Test(scenario_bad, rate_profile_errors)
{
    check_bad(bad_rate_profile, sizeof bad_rate_profile / sizeof bad_rate_profile[0]);
}

static const struct bad_case bad_workload[] = {
    {"bad_arrivals_unknown_key.yaml", "bad_arrivals_unknown_key.yaml:3:32",
     "unknown key 'ratee_per_s' in 'workload.arrivals' (did you mean 'rate_per_s'?)", SIM_EINVAL},
    {"bad_count_zero.yaml", "bad_count_zero.yaml:6:10",
     "'workload.count' must be >= 1 (requests), got '0'", SIM_EINVAL},
    {"bad_cv_without_gamma.yaml", "bad_cv_without_gamma.yaml:3:47",
     "'workload.arrivals.cv' applies only to process gamma", SIM_EINVAL},
    {"bad_cv_zero.yaml", "bad_cv_zero.yaml:3:49",
     "'workload.arrivals.cv' must be in (0, 100] (coefficient of variation), got '0'", SIM_EINVAL},
    {"bad_gamma_without_cv.yaml", "bad_gamma_without_cv.yaml:3:3",
     "'workload.arrivals.cv' is required with process gamma", SIM_EINVAL},
    {"bad_process_unknown.yaml", "bad_process_unknown.yaml:3:23",
     "'workload.arrivals.process' must be one of poisson, gamma, constant, got 'poison' (did you "
     "mean 'poisson'?)",
     SIM_EINVAL},
    {"bad_prompt_tokens_missing.yaml", "bad_prompt_tokens_missing.yaml:2:1",
     "'workload.prompt_tokens' is required with 'arrivals'", SIM_EINVAL},
    {"bad_rate_missing.yaml", "bad_rate_missing.yaml:3:3",
     "'workload.arrivals.rate_per_s' is required", SIM_EINVAL},
    {"bad_rate_negative.yaml", "bad_rate_negative.yaml:4:17",
     "'workload.arrivals.rate_per_s' must be in (0, 1000000000] (req/s), got '-2.5'", SIM_EINVAL},
    {"bad_synthetic_no_count.yaml", "bad_synthetic_no_count.yaml:2:1",
     "a synthetic workload needs 'count' or 'duration'", SIM_EINVAL},
    {"bad_workload_both.yaml", "bad_workload_both.yaml:4:3",
     "'workload' needs exactly one of 'trace' (timed), 'arrivals' or 'clients' to "
     "drive arrivals", SIM_EINVAL},
    {"bad_workload_empty.yaml", "bad_workload_empty.yaml:2:1",
     "'workload' needs exactly one of 'trace' (timed), 'arrivals' or 'clients' to "
     "drive arrivals", SIM_EINVAL},
    {"bad_workload_missing.yaml", "bad_workload_missing.yaml",
     "'workload' needs exactly one of 'trace' (timed), 'arrivals' or 'clients' to "
     "drive arrivals", SIM_EINVAL},
    {"bad_workload_not_map.yaml", "bad_workload_not_map.yaml:2:11",
     "expected a map for 'workload', found a sequence", SIM_EINVAL},
};

Test(scenario_bad, workload_errors)
{
    check_bad(bad_workload, sizeof bad_workload / sizeof bad_workload[0]);
}

static const struct bad_case bad_clients[] = {
    {"bad_clients_and_arrivals.yaml", "bad_clients_and_arrivals.yaml:4:3",
     "'workload' needs exactly one of 'trace' (timed), 'arrivals' or 'clients' to "
     "drive arrivals",
     SIM_EINVAL},
    {"bad_clients_concurrency_zero.yaml", "bad_clients_concurrency_zero.yaml:3:26",
     "'workload.clients.concurrency' must be in [1, 1000000] (clients), got '0'", SIM_EINVAL},
    {"bad_clients_no_concurrency.yaml", "bad_clients_no_concurrency.yaml:3:3",
     "'workload.clients.concurrency' is required (the number of clients)", SIM_EINVAL},
    {"bad_clients_no_lengths.yaml", "bad_clients_no_lengths.yaml:2:1",
     "'workload.prompt_tokens' is required with 'clients'", SIM_EINVAL},
    {"bad_clients_rate_profile.yaml", "bad_clients_rate_profile.yaml:4:3",
     "'workload.rate_profile' applies only to 'arrivals' (an open-loop rate), not to 'clients'",
     SIM_EINVAL},
    {"bad_clients_think_dist.yaml", "bad_clients_think_dist.yaml:3:61",
     "'workload.clients.think_time.value' applies only to dist constant", SIM_EINVAL},
    {"bad_clients_think_negative.yaml", "bad_clients_think_negative.yaml:3:41",
     "'workload.clients.think_time' must be >= 0s, got '-1s'", SIM_EINVAL},
    {"bad_clients_trace_rate_scale.yaml", "bad_clients_trace_rate_scale.yaml:3:24",
     "'workload.trace.rate_scale' applies only to a timed trace replay, not with "
     "'workload.clients' (the clients set the load: change 'concurrency')",
     SIM_EINVAL},
};

Test(scenario_bad, clients_errors)
{
    check_bad(bad_clients, sizeof bad_clients / sizeof bad_clients[0]);
}

Test(scenario, clients_bind)
{
    static const char *const cases[][2] = {
        {"{clients: {concurrency: 8}, prompt_tokens: {dist: constant, value: 5}, "
         "output_tokens: {dist: constant, value: 6}, count: 10}",
         "8 constant 0"},
        {"{clients: {concurrency: 2, think_time: 1.5s}, prompt_tokens: {dist: constant, "
         "value: 5}, output_tokens: {dist: constant, value: 6}, count: 10}",
         "2 constant 1500000"},
        {"{clients: {concurrency: 3, think_time: {dist: exponential, mean: 250ms}}, "
         "trace: {path: t.csv, window: {start: 1m}}}",
         "3 exponential 250000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[] = "/tmp/llmcap_clients_XXXXXX";
        int fd = mkstemp(path);
        cr_assert(fd >= 0);
        FILE *f = fdopen(fd, "w");
        fprintf(f, "workload: %s\nmodel: {name: llama-3-8b}\nengine:\n  latency: {model: "
                   "roofline}\n",
                cases[i][0]);
        fclose(f);
        struct scenario sc;
        struct sim_err e = {0};
        int rc = scenario_load(&sc, path, NULL, 0, &e);
        unlink(path);
        cr_assert_eq(rc, SIM_OK, "%s", e.msg);
        char got[64];
        snprintf(got, sizeof got, "%d %s %lld", (int)sc.workload.clients.concurrency,
                 sc.workload.clients.think == THINK_EXPONENTIAL ? "exponential" : "constant",
                 (long long)sc.workload.clients.think_time_us);
        cr_expect_str_eq(got, cases[i][1]);
        cr_expect_eq(sc.workload.kind, i == 2 ? WL_TRACE : WL_SYNTHETIC);
        if (i == 2)
            cr_expect_eq(sc.workload.window_start_us, 60000000);
        scenario_release(&sc);
    }
}

static const struct bad_case bad_lengths[] = {
    {"bad_len_dist_unknown.yaml", "bad_len_dist_unknown.yaml:4:25",
     "'workload.prompt_tokens.dist' must be one of constant, uniform, exponential, lognormal, "
     "empirical, got 'normal'",
     SIM_EINVAL},
    {"bad_len_empirical_missing_column.yaml", "bad_len_empirical_missing_column.yaml:4:3",
     "'workload.prompt_tokens.column' is required with dist empirical", SIM_EINVAL},
    {"bad_len_exponential_mean_zero.yaml", "bad_len_exponential_mean_zero.yaml:4:44",
     "'workload.prompt_tokens.mean' must be > 0 (tokens), got '0'", SIM_EINVAL},
    {"bad_len_key_for_other_dist.yaml", "bad_len_key_for_other_dist.yaml:4:35",
     "'workload.prompt_tokens.mean' does not apply to dist constant (it takes: value)", SIM_EINVAL},
    {"bad_len_lognormal_missing_sigma.yaml", "bad_len_lognormal_missing_sigma.yaml:4:3",
     "'workload.prompt_tokens.sigma' is required with dist lognormal", SIM_EINVAL},
    {"bad_len_no_dist.yaml", "bad_len_no_dist.yaml:4:3",
     "'workload.prompt_tokens.dist' is required (constant, uniform, exponential, lognormal or "
     "empirical)",
     SIM_EINVAL},
    {"bad_epp_without_policy.yaml", "bad_epp_without_policy.yaml:12:3",
     "'router.endpoint_picker' applies only to 'policy: endpoint_picker'", SIM_EINVAL},
    {"bad_prefix_with_trace.yaml", "bad_prefix_with_trace.yaml:4:3",
     "'workload.prefix' applies only to a synthetic workload ('arrivals' or 'clients'), not to a trace",
     SIM_EINVAL},
    {"bad_prefix_zipf.yaml", "bad_prefix_zipf.yaml:7:85",
     "'workload.prefix.system_prompts.zipf_s' must be in [0, 10], got '-1'", SIM_EINVAL},
    {"bad_len_not_map.yaml", "bad_len_not_map.yaml:4:18",
     "expected a map for 'workload.prompt_tokens', found a scalar", SIM_EINVAL},
    {"bad_len_uniform_max_below_min.yaml", "bad_len_uniform_max_below_min.yaml:4:49",
     "'workload.prompt_tokens.max' must be >= 'workload.prompt_tokens.min' (100 tokens), got '50'",
     SIM_EINVAL},
    {"bad_len_unknown_key.yaml", "bad_len_unknown_key.yaml:4:35",
     "unknown key 'valeu' in 'workload.prompt_tokens' (did you mean 'value'?)", SIM_EINVAL},
    {"bad_len_value_float.yaml", "bad_len_value_float.yaml:4:42",
     "'workload.prompt_tokens.value' must be an integer (tokens), got '99.5'", SIM_EINVAL},
    {"bad_len_value_zero.yaml", "bad_len_value_zero.yaml:5:42",
     "'workload.output_tokens.value' must be >= 1 (tokens), got '0'", SIM_EINVAL},
};

Test(scenario_bad, lengths_errors)
{
    check_bad(bad_lengths, sizeof bad_lengths / sizeof bad_lengths[0]);
}

static const struct bad_case bad_trace[] = {
    {"bad_trace_format.yaml", "bad_trace_format.yaml:3:34",
     "'workload.trace.format' must be one of auto, azure, mooncake, csv, got 'jsonl'", SIM_EINVAL},
    {"bad_trace_missing_path.yaml", "bad_trace_missing_path.yaml:3:3",
     "'workload.trace.path' is required", SIM_EINVAL},
    {"bad_trace_skip_bad_rows.yaml", "bad_trace_skip_bad_rows.yaml:3:39",
     "'workload.trace.skip_bad_rows' must be true or false, got 'yes'", SIM_EINVAL},
    {"bad_trace_time_scale_zero.yaml", "bad_trace_time_scale_zero.yaml:3:36",
     "'workload.trace.time_scale' must be in (0, 1000000], got '0'", SIM_EINVAL},
    {"bad_trace_window_end_before_start.yaml", "bad_trace_window_end_before_start.yaml:5:31",
     "'workload.trace.window.end' must be > 'workload.trace.window.start' (10m), got '5m'",
     SIM_EINVAL},
    {"bad_trace_window_unknown_key.yaml", "bad_trace_window_unknown_key.yaml:5:14",
     "unknown key 'begin' in 'workload.trace.window' (known keys: start, end)", SIM_EINVAL},
    {"bad_trace_with_count.yaml", "bad_trace_with_count.yaml:4:3",
     "'workload.count' applies only to a synthetic workload ('arrivals' or 'clients'), not to "
     "a trace",
     SIM_EINVAL},
    {"bad_trace_with_rate_profile.yaml", "bad_trace_with_rate_profile.yaml:4:3",
     "'workload.rate_profile' applies only to a synthetic workload ('arrivals'), not to a trace",
     SIM_EINVAL},
    {"bad_trace_columns_missing_arrival.yaml", "bad_trace_columns_missing_arrival.yaml:5:5",
     "'workload.trace.columns.arrival' is required with 'columns' (the name of that column in "
     "the file's header)",
     SIM_EINVAL},
    {"bad_trace_columns_mooncake.yaml", "bad_trace_columns_mooncake.yaml:6:5",
     "'workload.trace.columns' applies only to format csv (or auto)", SIM_EINVAL},
    {"bad_trace_model_without_column.yaml", "bad_trace_model_without_column.yaml:6:5",
     "'workload.trace.model' picks rows by the model column: set "
     "'workload.trace.columns.model' too",
     SIM_EINVAL},
    {"bad_trace_time_format_without_columns.yaml",
     "bad_trace_time_format_without_columns.yaml:3:37",
     "'workload.trace.time_format' applies only to a trace read by 'columns'", SIM_EINVAL},
    {"bad_trace_columns_same_column.yaml", "bad_trace_columns_same_column.yaml:5:79",
     "'workload.trace.columns.prompt_tokens' and 'workload.trace.columns.output_tokens' name "
     "the same column 'Total tokens'",
     SIM_EINVAL},
    {"bad_path_too_long.yaml", "bad_path_too_long.yaml:4:11",
     "'workload.trace.path' must be at most 1023 characters long once resolved against '" FIXTURES
     "/scenarios'",
     SIM_EINVAL},
};

Test(scenario_bad, trace_errors)
{
    check_bad(bad_trace, sizeof bad_trace / sizeof bad_trace[0]);
}

static const struct bad_case bad_model[] = {
    {"bad_model_absent.yaml", "bad_model_absent.yaml", "'model.name' is required", SIM_EINVAL},
    {"bad_model_dtype.yaml", "bad_model_dtype.yaml:7:34",
     "'model.dtype' must be one of bf16, fp16, fp8, int8, int4-awq, int4-gptq, got 'bf61' (did you "
     "mean 'bf16'?)",
     SIM_EINVAL},
    {"bad_model_kv_dtype.yaml", "bad_model_kv_dtype.yaml:7:43",
     "'model.kv_cache_dtype' must be one of auto, fp8, got 'int8'", SIM_EINVAL},
    {"bad_model_missing_name.yaml", "bad_model_missing_name.yaml:7:1", "'model.name' is required",
     SIM_EINVAL},
    {"bad_model_name_too_long.yaml", "bad_model_name_too_long.yaml:7:15",
     "'model.name' must be at most 127 characters long, got 200 characters", SIM_EINVAL},
};

Test(scenario_bad, model_errors)
{
    check_bad(bad_model, sizeof bad_model / sizeof bad_model[0]);
}

static const struct bad_case bad_latency[] = {
    {"bad_latency_constant_for_linear.yaml", "bad_latency_constant_for_linear.yaml:12:5",
     "'engine.latency.constant' applies only to model constant", SIM_EINVAL},
    {"bad_latency_constant_missing.yaml", "bad_latency_constant_missing.yaml:9:3",
     "'engine.latency.constant' is required with model constant", SIM_EINVAL},
    {"bad_latency_constant_missing_field.yaml", "bad_latency_constant_missing_field.yaml:11:5",
     "'engine.latency.constant.decode_iteration_ms' is required", SIM_EINVAL},
    {"bad_latency_linear_for_constant.yaml", "bad_latency_linear_for_constant.yaml:12:5",
     "'engine.latency.linear' applies only to model linear", SIM_EINVAL},
    {"bad_latency_linear_missing.yaml", "bad_latency_linear_missing.yaml:9:3",
     "'engine.latency.linear' is required with model linear", SIM_EINVAL},
    {"bad_latency_linear_negative.yaml", "bad_latency_linear_negative.yaml:11:24",
     "'engine.latency.linear.fixed_ms' must be in [0, 3600000] (ms), got '-1'", SIM_EINVAL},
    {"bad_latency_linear_unknown_key.yaml", "bad_latency_linear_unknown_key.yaml:11:14",
     "unknown key 'per_prefil_token_us' in 'engine.latency.linear' (did you mean "
     "'per_prefill_token_us'?)",
     SIM_EINVAL},
    {"bad_latency_missing.yaml", "bad_latency_missing.yaml:8:1",
     "'engine.latency.model' is required (constant, linear, roofline or table)", SIM_EINVAL},
    {"bad_latency_model.yaml", "bad_latency_model.yaml:9:20",
     "'engine.latency.model' must be one of constant, linear, roofline, table, got 'tabel' (did "
     "you mean 'table'?)",
     SIM_EINVAL},
    {"bad_latency_table_with_roofline.yaml", "bad_latency_table_with_roofline.yaml:9:30",
     "'engine.latency.table' applies only to model table", SIM_EINVAL},
};

Test(scenario_bad, latency_errors)
{
    check_bad(bad_latency, sizeof bad_latency / sizeof bad_latency[0]);
}

static const struct bad_case bad_startup_and_termination[] = {
    {"bad_startup_engine_init.yaml", "bad_startup_engine_init.yaml:10:26",
     "'engine.startup.engine_init' must be a duration with a unit (250ms, 30s, 5m, 2h), got '40'",
     SIM_EINVAL},
    {"bad_startup_image_gib_zero.yaml", "bad_startup_image_gib_zero.yaml:10:24",
     "'engine.startup.image_gib' must be > 0 (GiB), got '0'", SIM_EINVAL},
    {"bad_startup_weights_custom_zero.yaml", "bad_startup_weights_custom_zero.yaml:11:31",
     "'engine.startup.weights_from.gib_per_s' must be > 0 (GiB/s), got '0'", SIM_EINVAL},
    {"bad_startup_weights_from.yaml", "bad_startup_weights_from.yaml:10:27",
     "'engine.startup.weights_from' must be one of network-volume, s3-streamer, local-nvme, got "
     "'ebs'",
     SIM_EINVAL},
    {"bad_startup_weights_seq.yaml", "bad_startup_weights_seq.yaml:11:19",
     "expected a preset name or {gib_per_s: N} for 'engine.startup.weights_from', found a sequence",
     SIM_EINVAL},
    {"bad_termination_grace_period.yaml", "bad_termination_grace_period.yaml:10:31",
     "'engine.termination.grace_period' must be a duration with a unit (250ms, 30s, 5m, 2h), got "
     "'30'",
     SIM_EINVAL},
    {"bad_pod_do_not_disrupt.yaml", "bad_pod_do_not_disrupt.yaml:13:36",
     "'karpenter.sh/do-not-disrupt' must be a duration with a unit (250ms, 30s, 5m, 2h), got "
     "'soon'", SIM_EINVAL},
    {"bad_termination_on_unfinished.yaml", "bad_termination_on_unfinished.yaml:10:32",
     "'engine.termination.on_unfinished' was removed: vLLM aborts in-flight requests at SIGTERM "
     "unless 'engine.termination.shutdown_timeout' is set, and clients retry as 'router.retry' "
     "says", SIM_EINVAL},
};

Test(scenario_bad, startup_and_termination_errors)
{
    check_bad(bad_startup_and_termination,
              sizeof bad_startup_and_termination / sizeof bad_startup_and_termination[0]);
}

static const struct bad_case bad_engine[] = {
    {"bad_batch_size_with_vllm.yaml", "bad_batch_size_with_vllm.yaml:10:3",
     "'engine.batch_size' applies only to kind static", SIM_EINVAL},
    {"bad_block_size.yaml", "bad_block_size.yaml:10:15",
     "'engine.block_size' must be one of 1, 8, 16, 32, 64, 128 (tokens), got '12'", SIM_EINVAL},
    {"bad_chunked_prefill_not_bool.yaml", "bad_chunked_prefill_not_bool.yaml:10:27",
     "'engine.enable_chunked_prefill' must be true or false, got 'on'", SIM_EINVAL},
    {"bad_engine_kind.yaml", "bad_engine_kind.yaml:10:9",
     "'engine.kind' must be one of vllm, static, got 'sglang'", SIM_EINVAL},
    {"bad_engine_not_map.yaml", "bad_engine_not_map.yaml:9:1",
     "expected a map for 'engine', found a sequence", SIM_EINVAL},
    {"bad_engine_unknown_key.yaml", "bad_engine_unknown_key.yaml:10:3",
     "unknown key 'max-num-seqs' in 'engine' (did you mean 'max_num_seqs'?)", SIM_EINVAL},
    {"bad_gpu_memory_utilization.yaml", "bad_gpu_memory_utilization.yaml:10:27",
     "'engine.gpu_memory_utilization' must be in (0, 1] (fraction of GPU memory), got '1.2'",
     SIM_EINVAL},
    {"bad_max_model_len.yaml", "bad_max_model_len.yaml:10:18",
     "'engine.max_model_len' must be in [1, 10000000] (tokens), got '0'", SIM_EINVAL},
    {"bad_max_num_batched_tokens_float.yaml", "bad_max_num_batched_tokens_float.yaml:10:27",
     "'engine.max_num_batched_tokens' must be an integer (tokens), got '8192.5'", SIM_EINVAL},
    {"bad_max_num_seqs_zero.yaml", "bad_max_num_seqs_zero.yaml:10:17",
     "'engine.max_num_seqs' must be in [1, 65536] (sequences), got '0'", SIM_EINVAL},
    {"bad_num_gpu_blocks_word.yaml", "bad_num_gpu_blocks_word.yaml:10:19",
     "'engine.num_gpu_blocks' must be 'auto' or an integer >= 1 (blocks), got 'lots'", SIM_EINVAL},
    {"bad_num_gpu_blocks_zero.yaml", "bad_num_gpu_blocks_zero.yaml:10:19",
     "'engine.num_gpu_blocks' must be >= 1 (blocks), got '0'", SIM_EINVAL},
    {"bad_static_batch_size_zero.yaml", "bad_static_batch_size_zero.yaml:11:15",
     "'engine.batch_size' must be >= 1 (requests), got '0'", SIM_EINVAL},
    {"bad_tp_range.yaml", "bad_tp_range.yaml:10:25",
     "'engine.tensor_parallel_size' must be in [1, 64] (GPUs), got '65'", SIM_EINVAL},
    {"bad_num_gpu_blocks_map.yaml", "bad_num_gpu_blocks_map.yaml:10:19",
     "expected 'auto' or an integer for 'engine.num_gpu_blocks', found a map", SIM_EINVAL},
};

Test(scenario_bad, engine_errors)
{
    check_bad(bad_engine, sizeof bad_engine / sizeof bad_engine[0]);
}

static const struct bad_case bad_router_fleet_cluster_cost[] = {
    {"bad_cluster_not_map.yaml", "bad_cluster_not_map.yaml:10:10",
     "expected a map for 'cluster', found a scalar", SIM_EINVAL},
    {"bad_cost_negative.yaml", "bad_cost_negative.yaml:10:34",
     "'cost.managed_api_usd_per_mtok' must be >= 0 (USD per 1M tokens), got '-0.4'", SIM_EINVAL},
    {"bad_fleet_autoscaler_not_map.yaml", "bad_fleet_autoscaler_not_map.yaml:12:19",
     "expected a map for 'fleet.autoscaler.scaledObject', found a sequence", SIM_EINVAL},
    {"bad_fleet_autoscaler_unknown_key.yaml", "bad_fleet_autoscaler_unknown_key.yaml:12:5",
     "unknown key 'keda' in 'fleet.autoscaler' (known keys: scaledObject, horizontalPodAutoscaler)",
     SIM_EINVAL},
    {"bad_fleet_include_missing.yaml", "bad_fleet_include_missing.yaml:12:26",
     "cannot open '" FIXTURES "/scenarios/include/missing.yaml': no such file or directory",
     SIM_ENOENT},
    {"bad_fleet_include_not_map.yaml", "include/list.yaml:1:1",
     "expected a map in '" FIXTURES
     "/scenarios/include/list.yaml' for 'fleet.autoscaler.scaledObject', found a sequence",
     SIM_EINVAL},
    {"bad_fleet_include_syntax.yaml", "include/broken.yaml:6:1",
     "invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence started at "
     "line 5)",
     SIM_EINVAL},
    {"bad_fleet_max_gpus.yaml", "bad_fleet_max_gpus.yaml:13:13",
     "'fleet.max_gpus' (6) is less than 'fleet.replicas' x 'engine.tensor_parallel_size' (8 GPUs)",
     SIM_EINVAL},
    {"bad_fleet_replicas_range.yaml", "bad_fleet_replicas_range.yaml:10:19",
     "'fleet.replicas' must be in [0, 100000] (replicas), got '100001'", SIM_EINVAL},
    {"bad_fleet_replicas_with_autoscaler.yaml", "bad_fleet_replicas_with_autoscaler.yaml:11:13",
     "'fleet.replicas' sets a fixed fleet and cannot be combined with 'fleet.autoscaler' (the "
     "autoscaler's minimum sets the start)",
     SIM_EINVAL},
    {"bad_fleet_replicas_zero.yaml", "bad_fleet_replicas_zero.yaml:10:19",
     "'fleet.replicas' is 0 and there is no 'fleet.autoscaler': no replica would ever serve",
     SIM_EINVAL},
    {"bad_fleet_labels_pod.yaml", "bad_fleet_labels_pod.yaml:12:19",
     "'fleet.metrics.labels.pod' must be a Kubernetes name (lower-case letters, digits and '-', "
     "not at either end), got 'vLLM_Server'",
     SIM_EINVAL},
    {"bad_fleet_labels_namespace_twice.yaml", "bad_fleet_labels_namespace_twice.yaml:13:14",
     "'fleet.metrics.labels.namespace' and 'fleet.metrics.namespace' both set the namespace: "
     "keep one",
     SIM_EINVAL},
    {"bad_fleet_scrape_interval.yaml", "bad_fleet_scrape_interval.yaml:11:30",
     "'fleet.metrics.scrape_interval' must be >= 1s, got '500ms'", SIM_EINVAL},
    {"bad_fleet_two_autoscalers.yaml", "bad_fleet_two_autoscalers.yaml:15:5",
     "'fleet.autoscaler' takes at most one of 'scaledObject' or 'horizontalPodAutoscaler'",
     SIM_EINVAL},
    {"bad_router_max_outstanding.yaml", "bad_router_max_outstanding.yaml:10:39",
     "'router.max_outstanding_per_replica' must be >= 0 (requests), got '-1'", SIM_EINVAL},
    {"bad_router_policy.yaml", "bad_router_policy.yaml:10:18",
     "'router.policy' must be one of round_robin, least_outstanding, endpoint_picker, "
     "prefix_affinity, session_affinity, got 'random'", SIM_EINVAL},
    {"bad_router_queue_timeout.yaml", "bad_router_queue_timeout.yaml:11:18",
     "'router.queue_timeout' must be a duration with a unit (250ms, 30s, 5m, 2h), got '30'",
     SIM_EINVAL},
    {"bad_fleet_max_gpus_autoscaled.yaml", "bad_fleet_max_gpus_autoscaled.yaml:12:13",
     "'fleet.max_gpus' (1) is less than one replica's 'engine.tensor_parallel_size' (2 GPUs)",
     SIM_EINVAL},
};

Test(scenario_bad, router_fleet_cluster_cost_errors)
{
    check_bad(bad_router_fleet_cluster_cost,
              sizeof bad_router_fleet_cluster_cost / sizeof bad_router_fleet_cluster_cost[0]);
}

static const struct bad_case bad_slo_and_record[] = {
    {"bad_record_requests.yaml", "bad_record_requests.yaml:10:20",
     "'record.requests' must be one of full, sample, none, got 'some' (did you mean 'none'?)",
     SIM_EINVAL},
    {"bad_record_sample_frac.yaml", "bad_record_sample_frac.yaml:10:41",
     "'record.sample_frac' must be in (0, 1], got '0'", SIM_EINVAL},
    {"bad_slo_error_rate.yaml", "bad_slo_error_rate.yaml:11:15",
     "'slo.error_rate' must be in [0, 1], got '150%'", SIM_EINVAL},
    {"bad_slo_no_unit.yaml", "bad_slo_no_unit.yaml:11:13",
     "'slo.ttft_p95' must be a duration with a unit (250ms, 30s, 5m, 2h), got '500'", SIM_EINVAL},
    {"bad_slo_not_map.yaml", "bad_slo_not_map.yaml:10:6",
     "expected a map for 'slo', found a sequence", SIM_EINVAL},
    {"bad_slo_unknown_key.yaml", "bad_slo_unknown_key.yaml:11:3",
     "unknown key 'ttft_p96' in 'slo' (did you mean 'ttft_p95'?)", SIM_EINVAL},
    {"bad_slo_zero.yaml", "bad_slo_zero.yaml:11:13", "'slo.tpot_p99' must be > 0, got '0s'",
     SIM_EINVAL},
};

Test(scenario_bad, slo_and_record_errors)
{
    check_bad(bad_slo_and_record, sizeof bad_slo_and_record / sizeof bad_slo_and_record[0]);
}

/* ---- vLLM version terms -------------------------------------------------------------- */

Test(scenario_set, vllm_version_picks_v0_defaults_and_multi_step)
{
    static const char *const sets[] = {"engine.vllm_version=v0.6.0",
                                       "engine.num_scheduler_steps=10",
                                       "engine.enforce_eager=true",
                                       "engine.latency.calibration=cal.json"};
    struct scenario sc;
    load_ok(&sc, SCEN "good_minimal.yaml", sets, 4);
    cr_assert_eq(sc.engine.vllm_major, 0);
    cr_assert_eq(sc.engine.vllm_minor, 6);
    cr_assert_str_eq(sc.engine.vllm_version, "v0.6.0");
    cr_assert_eq(sc.engine.num_scheduler_steps, 10);
    cr_assert(sc.engine.enforce_eager);
    cr_assert_not(sc.engine.enable_chunked_prefill); /* V0's default */
    cr_assert_str_eq(sc.engine.latency.calibration_path, "cal.json");
    scenario_release(&sc);
}

Test(scenario_set, multi_step_outside_vllm_0_6_is_an_error)
{
    struct scenario sc;
    struct sim_err e = {0};
    static const char *const v1[] = {"engine.num_scheduler_steps=8"};
    cr_assert_eq(scenario_load(&sc, SCEN "good_minimal.yaml", v1, 1, &e), SIM_EINVAL);
    cr_assert(strstr(e.msg, "vLLM 0.6-0.7 multi-step scheduling"), "%s", e.msg);
    static const char *const chunked[] = {"engine.vllm_version=0.6.3",
                                          "engine.enable_chunked_prefill=true",
                                          "engine.num_scheduler_steps=8"};
    cr_assert_eq(scenario_load(&sc, SCEN "good_minimal.yaml", chunked, 3, &e), SIM_EINVAL);
    cr_assert(strstr(e.msg, "is not modelled"), "%s", e.msg);
    static const char *const bad[] = {"engine.vllm_version=latest"};
    cr_assert_eq(scenario_load(&sc, SCEN "good_minimal.yaml", bad, 1, &e), SIM_EINVAL);
    cr_assert_str_eq(e.msg, "'engine.vllm_version' must be a vLLM release like '0.6.0' or "
                            "'0.10.1', got 'latest'");
    static const char *const constant[] = {
        "engine.latency={model: constant, calibration: c.json, constant: "
        "{prefill_per_token_us: 1, decode_iteration_ms: 2}}"};
    cr_assert_eq(scenario_load(&sc, SCEN "good_minimal.yaml", constant, 1, &e), SIM_EINVAL);
    cr_assert(strstr(e.msg, "applies only to model roofline or table"), "%s", e.msg);
}
