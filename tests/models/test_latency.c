/* test_latency.c: the roofline model, the factory and the shipped roofline tables. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models/catalog.h"
#include "models/latency.h"
#include "models/memory.h"
#include "models/roofline.h"

static struct catalog *cat;

static void setup(void)
{
    gsl_set_error_handler_off();
    struct sim_err err = {0};
    cat = catalog_new(SOURCE_DIR "/models/data", &err);
    cr_assert_not_null(cat, "%s: %s", err.where, err.msg);
    setenv("LLMCAP_TABLES_DIR", SOURCE_DIR "/models/tables", 1);
}

static void teardown(void)
{
    catalog_free(cat);
}

TestSuite(roofline, .init = setup, .fini = teardown);
TestSuite(latency, .init = setup, .fini = teardown);
TestSuite(perf_latency, .init = setup, .fini = teardown);

static struct lat_model *roof(const char *model, const char *gpu, const char *dtype,
                              const char *kv, int tp)
{
    struct lat_context ctx = {model, gpu, dtype, kv, tp, cat, {0, 0, false, 0}, NULL, NULL, 0, NULL};
    struct sim_err err = {0};
    struct lat_model *m = lat_roofline_new(&ctx, &err);
    cr_assert_not_null(m, "%s", err.msg);
    return m;
}

Test(roofline, llama_3_8b_decode_at_batch_1_streams_the_weights)
{
    /* One token at 1k context on an H100: every linear weight but the embedding table is
     * read once: 16,060,522,496 - 1,050,673,152 (embedding) = 15,009,849,344 B at
     * 3.35e12 B/s x mem_eff, plus 1024 x 131,072 B of KV at attn_mem_eff, plus 32 layers of
     * per-layer GPU time (layer_us). Batch 1 runs as a CUDA graph (no launches); current
     * vLLM schedules asynchronously, so the host's step overlaps: max(gpu, host).
     * Activation bytes (~6 MB) are left out of this hand formula: 0.1% tolerance. The
     * bare bound is 16.06e9 / 3.35e12 = 4.8 ms. */
    struct lat_model *m = roof("llama-3-8b", "h100-sxm-80gb", "bf16", "auto", 1);
    struct roof_params p;
    roof_params_fitted(catalog_gpu(cat, "h100-sxm-80gb", NULL), &p);
    double gpu = 15009849344.0 / (3.35e6 * p.mem_eff) +
                 1024.0 * 131072.0 / (3.35e6 * p.attn_mem_eff) + 32.0 * p.layer_us;
    double host = p.host_us + p.host_seq_us;
    double want = gpu > host ? gpu : host;
    struct lat_batch b = {0, 0, 0, 0, 1, 1024};
    double got = lat_step_us(m, &b);
    cr_assert_float_eq(got, want, want * 1e-3, "got %g want %g", got, want);
    cr_assert_gt(got, 4800.0); /* never faster than the weights at full bandwidth */
    cr_assert_lt(got, 12000.0);
    const char *prefix = "modelled: roofline v2 (llama-3-8b bf16 kv 2B tp1 on h100-sxm-80gb; "
                         "vLLM 0.21 V1 async scheduling, CUDA graphs; ";
    cr_assert(strncmp(m->provenance, prefix, strlen(prefix)) == 0, "%s", m->provenance);
    lat_model_free(m);
}

Test(roofline, long_prefill_is_compute_bound)
{
    /* 8192-token prefill of llama-3-8b on an H100: linear FLOPs 2 x 6,979,321,856 x 8192
     * (+ lm_head for one sequence) at 989e12 x hopper gemm_mfu; causal attention
     * 4 x 32 heads x 128 x (8192 x 8193 / 2) pairs x 32 layers at 989e12 x attn_mfu.
     * Memory traffic is far below either; 0.5% tolerance for the lm_head and the
     * per-layer overhead left out here... which are added explicitly: */
    struct lat_model *m = roof("llama-3-8b", "h100-sxm-80gb", "bf16", "auto", 1);
    struct roof_params p;
    roof_params_fitted(catalog_gpu(cat, "h100-sxm-80gb", NULL), &p);
    double T = 8192.0, pairs = T * (T + 1.0) / 2.0;
    /* Hockney's size curve: each of the 4 GEMMs of a layer pays F_half at the same rate */
    double gemm = (2.0 * 6979321856.0 * T + 4.0 * 32.0 * p.gemm_half_gflop * 1e9) /
                  (989e6 * p.gemm_mfu);
    double attn = 4.0 * 32 * 128 * pairs * 32 / (989e6 * p.attn_mfu);
    /* 8192 tokens are above the largest capture size (512): eager, but the launches
     * (asynchronous) hide behind this long a step */
    double gpu = gemm + attn + 32.0 * p.layer_us;
    cr_assert_gt(gpu, 32.0 * p.launch_us);
    double host = p.host_us + p.host_seq_us;
    double want = gpu > host ? gpu : host;
    struct lat_batch b = {1, 8192, 8192, (int64_t)pairs, 0, 0};
    double got = lat_step_us(m, &b);
    cr_assert_float_eq(got, want, want * 5e-3, "got %g want %g", got, want);
    lat_model_free(m);
}

/* Round efficiencies for the GEMM tests: 50% of the 16-bit peak, 25% of the quantized
 * path's peak, no size curve. */
static void test_gemm_params(const struct cat_gpu *g, struct roof_params *p)
{
    roof_params_fitted(g, p);
    p->gemm_mfu = 0.50;
    p->gemm_mfu_q = 0.25;
    p->gemm_half_gflop = p->gemm_half_gflop_q = 0.0;
}

Test(roofline, quantized_gemms_run_at_their_own_fraction_of_their_own_peak)
{
    struct sim_err err = {0};
    const struct cat_model *m = catalog_model(cat, "llama-3-8b", NULL);
    const struct cat_gpu *h100 = catalog_gpu(cat, "h100-sxm-80gb", NULL);
    struct roof_params p;
    test_gemm_params(h100, &p);
    struct roofline bf, f8, a100_bf, a100_f8;
    cr_assert_eq(roofline_init(&bf, m, h100, MEM_BF16, 2, 1, &p, &err), SIM_OK);
    cr_assert_eq(roofline_init(&f8, m, h100, MEM_FP8, 2, 1, &p, &err), SIM_OK);
    /* 4096 tokens: compute-bound; FP8 peak 1979 x 0.25 vs BF16 989 x 0.50 TFLOPS */
    double r = roofline_gemm_us(&bf, ROOF_GATE_UP, 4096) /
               roofline_gemm_us(&f8, ROOF_GATE_UP, 4096);
    cr_assert_float_eq(r, 1979.0 * 0.25 / (989.0 * 0.50), 1e-9);
    /* by hand: 2 x 4096 x 4096 x 28672 FLOPs at 989e12 x 0.5 FLOP/s */
    cr_assert_float_eq(roofline_gemm_us(&bf, ROOF_GATE_UP, 4096),
                       2.0 * 4096 * 4096 * 28672 / (989e12 * 0.5) * 1e6, 1e-6);
    /* A100 has no FP8 tensor cores: W8A16 (Marlin) at the 16-bit peak, at the quantized
     * kernels' fraction of it */
    const struct cat_gpu *a100 = catalog_gpu(cat, "a100-sxm-80gb", NULL);
    cr_assert_eq(roofline_init(&a100_bf, m, a100, MEM_BF16, 2, 1, &p, &err), SIM_OK);
    cr_assert_eq(roofline_init(&a100_f8, m, a100, MEM_FP8, 2, 1, &p, &err), SIM_OK);
    cr_assert_float_eq(roofline_gemm_us(&a100_f8, ROOF_GATE_UP, 4096) /
                           roofline_gemm_us(&a100_bf, ROOF_GATE_UP, 4096),
                       0.50 / 0.25, 1e-9);
    /* ... but half the bytes at one token (memory-bound) */
    double w16 = roofline_gemm_us(&a100_bf, ROOF_GATE_UP, 1);
    double w8 = roofline_gemm_us(&a100_f8, ROOF_GATE_UP, 1);
    cr_assert_float_eq(w8 / w16, 0.5, 1e-3); /* activation bytes are 0.01% of the weights */
}

/* Hockney's saturating rate r(F) = r_inf F / (F + F_half): a GEMM of F = F_half FLOPs runs
 * at half the large-size rate, one of 9 F_half at 90% of it. */
Test(roofline, gemm_rate_saturates_with_size_hockney)
{
    struct sim_err err = {0};
    const struct cat_model *m = catalog_model(cat, "llama-3-8b", NULL);
    const struct cat_gpu *h100 = catalog_gpu(cat, "h100-sxm-80gb", NULL);
    struct roof_params p;
    test_gemm_params(h100, &p);
    struct roofline flat, curve;
    cr_assert_eq(roofline_init(&flat, m, h100, MEM_BF16, 2, 1, &p, &err), SIM_OK);
    /* F_half = the gate_up GEMM's FLOPs at 2048 tokens: 2 x 2048 x 4096 x 28672 */
    double f_half = 2.0 * 2048 * 4096 * 28672;
    p.gemm_half_gflop = f_half * 1e-9;
    cr_assert_eq(roofline_init(&curve, m, h100, MEM_BF16, 2, 1, &p, &err), SIM_OK);
    /* at F = F_half: twice the time of the flat rate */
    cr_assert_float_eq(roofline_gemm_us(&curve, ROOF_GATE_UP, 2048) /
                           roofline_gemm_us(&flat, ROOF_GATE_UP, 2048),
                       2.0, 1e-9);
    /* at F = 9 F_half: rate 0.9 r_inf, time / flat time = 1 / 0.9 */
    cr_assert_float_eq(roofline_gemm_us(&curve, ROOF_GATE_UP, 9 * 2048) /
                           roofline_gemm_us(&flat, ROOF_GATE_UP, 9 * 2048),
                       1.0 / 0.9, 1e-9);
    /* the quantized curve is its own: F_half of 16-bit GEMMs does not touch fp8 ones */
    struct roofline f8_flat, f8_curve;
    p.gemm_half_gflop = 0.0;
    cr_assert_eq(roofline_init(&f8_flat, m, h100, MEM_FP8, 2, 1, &p, &err), SIM_OK);
    p.gemm_half_gflop = f_half * 1e-9;
    cr_assert_eq(roofline_init(&f8_curve, m, h100, MEM_FP8, 2, 1, &p, &err), SIM_OK);
    cr_assert_float_eq(roofline_gemm_us(&f8_curve, ROOF_GATE_UP, 2048),
                       roofline_gemm_us(&f8_flat, ROOF_GATE_UP, 2048), 1e-9);
}

Test(roofline, moe_reads_only_the_experts_a_batch_touches)
{
    const struct cat_model *m = catalog_model(cat, "mixtral-8x7b", NULL);
    const struct cat_gpu *g = catalog_gpu(cat, "h100-sxm-80gb", NULL);
    struct roofline r;
    cr_assert_eq(roofline_init(&r, m, g, MEM_BF16, 2, 1, NULL, NULL), SIM_OK);
    struct roof_params p;
    roof_params_fitted(g, &p);
    double expert = 4096.0 * 2 * 14336 * 2; /* one expert's gate+up, bf16 */
    double rate = 3.35e6 * p.mem_eff;
    /* one token picks 2 of 8 experts: E (1 - (1 - 2/8)^1) = 2 experts' bytes */
    double act1 = 2.0 * (4096 + 2 * 14336) * 2.0;
    cr_assert_float_eq(roofline_gemm_us(&r, ROOF_GATE_UP, 1), (2.0 * expert + act1) / rate,
                       1e-9);
    /* 3 tokens: 8 (1 - 0.75^3) = 4.625 experts expected */
    double act3 = 3.0 * act1;
    cr_assert_float_eq(roofline_gemm_us(&r, ROOF_GATE_UP, 3), (4.625 * expert + act3) / rate,
                       1e-9);
}

Test(roofline, allreduce_is_a_ring_over_the_link)
{
    const struct cat_model *m = catalog_model(cat, "llama-3-70b", NULL);
    const struct cat_gpu *g = catalog_gpu(cat, "h100-sxm-80gb", NULL);
    struct roofline r1, r4;
    cr_assert_eq(roofline_init(&r1, m, g, MEM_BF16, 2, 1, NULL, NULL), SIM_OK);
    cr_assert_eq(roofline_init(&r4, m, g, MEM_BF16, 2, 4, NULL, NULL), SIM_OK);
    struct roof_params p;
    roof_params_fitted(g, &p);
    cr_assert_float_eq(roofline_allreduce_us(&r1, 1000), 0.0, 1e-12);
    /* 1000 tokens x 8192 x 2 B x 2 (4 - 1)/4 over 450 GB/s x link_eff */
    double want = p.allreduce_latency_us + 1000.0 * 8192 * 2 * 1.5 / (450e3 * p.link_eff);
    cr_assert_float_eq(roofline_allreduce_us(&r4, 1000), want, 1e-9);
    cr_assert_not(r4.link_assumed);
}

Test(roofline, pcie_gpus_say_the_link_is_assumed)
{
    struct lat_model *m = roof("llama-3-70b", "l40s", "fp8", "fp8", 4);
    cr_assert(strstr(m->provenance, "; all-reduce over an assumed PCIe 4.0 x16 link") != NULL,
              "%s", m->provenance);
    lat_model_free(m);
}

Test(roofline, refuses_a_gpu_without_tensor_throughput)
{
    struct lat_context ctx = {"llama-3-8b", "a10g", "bf16", "auto", 1, cat, {0, 0, false, 0}, NULL, NULL, 0, NULL};
    struct sim_err err = {0};
    cr_assert_null(lat_roofline_new(&ctx, &err));
    cr_assert_str_eq(err.msg, "the roofline needs 'bf16_tflops' of gpu 'a10g' (no published "
                              "figure): calibrate this GPU: a latency table measured on it "
                              "(kernels/run_on_gpu.sh), or 'bf16_tflops' in a user catalog "
                              "fitted with llmcap calibrate (docs/catalog.md)");
}

Test(roofline, refuses_bf16_on_a_t4)
{
    struct lat_context ctx = {"llama-2-7b", "t4", "bf16", "auto", 1, cat, {0, 0, false, 0}, NULL, NULL, 0, NULL};
    struct sim_err err = {0};
    cr_assert_null(lat_roofline_new(&ctx, &err));
    cr_assert_str_eq(err.msg, "gpu 't4' has no bf16 support: use dtype 'fp16'");
}

Test(roofline, unknown_names_carry_suggestions)
{
    struct lat_context ctx = {"llama3-8b", "h100-sxm-80gb", "bf16", "auto", 1, cat, {0, 0, false, 0}, NULL, NULL, 0, NULL};
    struct sim_err err = {0};
    cr_assert_null(lat_roofline_new(&ctx, &err));
    cr_assert_eq(err.code, SIM_ENOENT);
    cr_assert_str_eq(err.msg, "unknown model 'llama3-8b'; did you mean 'llama-3-8b'? (see "
                              "'llmcap catalog models')");
    struct lat_context c2 = {"llama-3-8b", "h100-sxm-80gb", "bf17", "auto", 1, cat, {0, 0, false, 0}, NULL, NULL, 0, NULL};
    cr_assert_null(lat_roofline_new(&c2, &err));
    cr_assert_str_eq(err.msg, "'model.dtype' must be 'bf16', 'fp16', 'fp8', 'int8', 'int4-awq' "
                              "or 'int4-gptq', got 'bf17'");
}

Test(roofline, step_time_grows_with_work)
{
    struct lat_model *m = roof("llama-3-8b", "h100-sxm-80gb", "bf16", "auto", 1);
    double prev = 0.0;
    for (int32_t n = 1; n <= 512; n *= 2) {
        struct lat_batch b = {0, 0, 0, 0, n, (int64_t)n * 2000};
        double t = lat_step_us(m, &b);
        /* never faster; equal only while the overlapped host step is the longer one */
        cr_assert_geq(t, prev);
        prev = t;
    }
    struct lat_batch one = {0, 0, 0, 0, 1, 2000};
    cr_assert_gt(prev, lat_step_us(m, &one));
    struct lat_batch empty = {0, 0, 0, 0, 0, 0};
    cr_assert_float_eq(lat_step_us(m, &empty), 0.0, 1e-12);
    lat_model_free(m);
}

/* ---- the factory --------------------------------------------------------------------- */

Test(latency, table_without_path_finds_the_shipped_roofline_table)
{
    struct lat_spec spec = {.kind = LAT_TABLE};
    struct lat_context ctx = {"llama-3-8b", "h100-sxm-80gb", "bf16", "auto", 1, cat, {0, 0, false, 0}, NULL, NULL, 0, NULL};
    struct sim_err err = {0};
    struct lat_model *m = lat_model_from_spec(&spec, &ctx, &err);
    cr_assert_not_null(m, "%s: %s", err.where, err.msg);
    cr_assert_eq(m->kind, LAT_TABLE);
    const char *prefix = "modelled: roofline table h100-sxm-80gb.llama-3-8b.bf16.json "
                         "(MODELLED, NOT MEASURED";
    cr_assert(strncmp(m->provenance, prefix, strlen(prefix)) == 0, "%s", m->provenance);
    lat_model_free(m);
}

Test(latency, missing_table_names_the_file_and_suggests_roofline)
{
    setenv("LLMCAP_TABLES_DIR", FIXTURES "/tables", 1);
    struct lat_spec spec = {.kind = LAT_TABLE};
    struct lat_context ctx = {"mistral-7b", "h100-sxm-80gb", "bf16", "auto", 2, cat, {0, 0, false, 0}, NULL, NULL, 0, NULL};
    struct sim_err err = {0};
    cr_assert_null(lat_model_from_spec(&spec, &ctx, &err));
    cr_assert_eq(err.code, SIM_ENOENT);
    cr_assert_str_eq(err.msg, "no latency table for 'mistral-7b' bf16 tp2 on 'h100-sxm-80gb' "
                              "(nor for a model of the same shape): "
                              "looked for '" FIXTURES "/tables/h100-sxm-80gb.mistral-7b.bf16.tp2"
                              ".json'; measure one with llmcap-kbench, give "
                              "'engine.latency.table', or use 'engine.latency.model: roofline'");
}

Test(latency, explicit_table_path_is_used)
{
    struct lat_spec spec = {.kind = LAT_TABLE};
    snprintf(spec.table_path, sizeof spec.table_path, "%s", FIXTURES "/tables/tiny.json");
    struct lat_context ctx = {"llama-3-8b", "h100-sxm-80gb", "bf16", "auto", 1, cat, {0, 0, false, 0}, NULL, NULL, 0, NULL};
    struct lat_model *m = lat_model_from_spec(&spec, &ctx, NULL);
    cr_assert_not_null(m);
    struct lat_batch b = {0, 0, 0, 0, 4, 4096};
    /* 3102 us of tabled operators (see test_table.c); tiny.json has no step-model terms,
     * so the committed fit for the H100 adds layers x layer_us of GPU time and a host
     * step that overlaps it (current vLLM schedules asynchronously); 4 sequences run as a
     * CUDA graph of size 4 (no padding, no launches) */
    struct roof_params p;
    roof_params_fitted(catalog_gpu(cat, "h100-sxm-80gb", NULL), &p);
    double gpu = 3102.0 + 32.0 * p.layer_us, host = p.host_us + 4.0 * p.host_seq_us;
    cr_assert_float_eq(lat_step_us(m, &b), gpu > host ? gpu : host, 1e-9);
    lat_model_free(m);
}

Test(latency, roofline_spec_builds_the_roofline)
{
    struct lat_spec spec = {.kind = LAT_ROOFLINE};
    struct lat_context ctx = {"qwen2.5-7b", "l40s", "fp8", "fp8", 1, cat, {0, 0, false, 0}, NULL, NULL, 0, NULL};
    struct lat_model *m = lat_model_from_spec(&spec, &ctx, NULL);
    cr_assert_not_null(m);
    cr_assert_eq(m->kind, LAT_ROOFLINE);
    cr_assert_str_eq(lat_kind_name(m->kind), "roofline");
    lat_model_free(m);
}

Test(latency, table_shape_must_match_the_catalog)
{
    /* tiny.json claims llama-3-8b; a user catalog that redefines llama-3-8b with 40 layers
     * makes the shipped shape disagree */
    struct lat_spec spec = {.kind = LAT_TABLE};
    snprintf(spec.table_path, sizeof spec.table_path, "%s", FIXTURES "/tables/tiny.json");
    struct lat_context ctx = {"llama-3-8b", "h100-sxm-80gb", "bf16", "auto", 1, cat, {0, 0, false, 0}, NULL, NULL, 0, NULL};
    struct sim_err err = {0};
    struct lat_model *ok = lat_model_from_spec(&spec, &ctx, &err);
    cr_assert_not_null(ok, "%s", err.msg);
    lat_model_free(ok);
    ctx.model = "tiny-1b";
    cr_assert_eq(catalog_add_file(cat, FIXTURES "/catalog/user.json", &err), SIM_OK);
    cr_assert_null(lat_model_from_spec(&spec, &ctx, &err));
    cr_assert_str_eq(err.msg, "table is for model 'llama-3-8b', the scenario runs 'tiny-1b' (a "
                              "different shape: model.num_layers 32, not 16)");
}

Test(latency, constant_and_linear_still_work)
{
    struct lat_spec spec = {.kind = LAT_LINEAR, .fixed_ms = 6.0, .per_prefill_token_us = 60,
                            .per_decode_seq_us = 30, .per_context_token_ns = 5};
    struct lat_model *m = lat_model_from_spec(&spec, NULL, NULL);
    cr_assert_not_null(m);
    /* 6000 + 60 x 100 + 30 x 2 + 0.005 x (100 + 3000) = 12075.5 */
    struct lat_batch b = {1, 100, 100, 5050, 2, 3000};
    cr_assert_float_eq(lat_step_us(m, &b), 12075.5, 1e-9);
    lat_model_free(m);
}

/* The shipped tables were generated from the roofline: at grid points they reproduce it
 * (to rounding of %.17g and summation order). */
static void expect_table_matches_roofline(const char *model, int tp)
{
    struct lat_context ctx = {model, "h100-sxm-80gb", "bf16", "auto", tp, cat, {0, 0, false, 0}, NULL, NULL, 0, NULL};
    struct lat_spec spec = {.kind = LAT_TABLE};
    struct sim_err err = {0};
    struct lat_model *t = lat_model_from_spec(&spec, &ctx, &err);
    cr_assert_not_null(t, "%s: %s", err.where, err.msg);
    struct lat_model *r = lat_roofline_new(&ctx, &err);
    cr_assert_not_null(r);
    const struct lat_batch cases[] = {
        {0, 0, 0, 0, 1, 1024},                /* batch 1 at a grid context */
        {0, 0, 0, 0, 64, 64 * 2048},            /* batch 64 at 2048 */
        {0, 0, 0, 0, 256, 256 * 8192},          /* batch 256 at 8192 */
        {1, 512, 512, 512 * 513 / 2, 0, 0},     /* one 512 chunk from 0 */
        {1, 1024, 3072, 1024 * 2048 + 1024 * 1025 / 2, 0, 0}, /* 1024 at start 2048 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double a = lat_step_us(t, &cases[i]), b = lat_step_us(r, &cases[i]);
        cr_assert_float_eq(a, b, b * 1e-12, "case %zu: table %.17g roofline %.17g", i, a, b);
    }
    lat_model_free(t);
    lat_model_free(r);
}

Test(latency, shipped_8b_table_reproduces_the_roofline_on_grid_points)
{
    expect_table_matches_roofline("llama-3-8b", 1);
}

Test(latency, shipped_70b_tp4_table_reproduces_the_roofline_on_grid_points)
{
    expect_table_matches_roofline("llama-3-70b", 4);
}

/* ---- speed (skipped in CI): step_us is called millions of times ------------------- */

static double per_call_ns(struct lat_model *m)
{
    struct lat_batch b = {2, 700, 4700, 700 * 3650, 200, 200 * 1500};
    double sink = 0.0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const int n = 2000000;
    for (int i = 0; i < n; i++) {
        b.n_decode = 100 + (i & 255);
        b.decode_kv_tokens = (int64_t)b.n_decode * (1000 + (i & 1023));
        sink += lat_step_us(m, &b);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert_gt(sink, 0.0);
    return ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / n;
}

Test(perf_latency, step_us_costs_under_a_microsecond)
{
    struct lat_model *r = roof("llama-3-8b", "h100-sxm-80gb", "bf16", "auto", 1);
    struct lat_spec spec = {.kind = LAT_TABLE};
    struct lat_context ctx = {"llama-3-8b", "h100-sxm-80gb", "bf16", "auto", 1, cat, {0, 0, false, 0}, NULL, NULL, 0, NULL};
    struct lat_model *t = lat_model_from_spec(&spec, &ctx, NULL);
    cr_assert_not_null(t);
    double nr = per_call_ns(r), nt = per_call_ns(t);
    cr_log_info("roofline %.1f ns/step, table %.1f ns/step", nr, nt);
    cr_assert_lt(nr, 1000.0);
    cr_assert_lt(nt, 1000.0);
    lat_model_free(r);
    lat_model_free(t);
}

/* ---- the step model around the GPU work (vLLM versions, graphs, host) ----------------- */

Test(latency, capture_sizes_follow_vllm_config)
{
    /* V1 (vllm/config/vllm.py): [1, 2, 4] + range(8, 256, 8) + range(256, min(2 x
     * max_num_seqs, 512) + 1, 16); a batch is padded to the next captured size. */
    struct lat_exec_terms t;
    lat_exec_resolve(NULL, &t);
    cr_assert(t.v1 && t.async_sched && t.graphs);
    cr_assert_eq(t.n_sizes, 3 + 31 + 17);
    cr_assert_eq(t.sizes[t.n_sizes - 1], 512);
    int64_t pad;
    cr_assert(lat_exec_graphed(&t, 3, true, &pad));
    cr_assert_eq(pad, 4);
    cr_assert(lat_exec_graphed(&t, 9, false, &pad)); /* piecewise graphs cover mixed too */
    cr_assert_eq(pad, 16);
    cr_assert(lat_exec_graphed(&t, 257, true, &pad));
    cr_assert_eq(pad, 272);
    cr_assert_not(lat_exec_graphed(&t, 513, true, &pad));
    cr_assert_eq(pad, 513);
    /* max_num_seqs 64 -> graphs up to 128 */
    struct lat_exec x = {0, 0, false, 64};
    lat_exec_resolve(&x, &t);
    cr_assert_eq(t.sizes[t.n_sizes - 1], 128);
    /* vLLM 0.6 (V0): decode-only batches up to 256, sizes [1, 2, 4, 8, 16, ..., 256] */
    struct lat_exec v06 = {0, 6, false, 256};
    lat_exec_resolve(&v06, &t);
    cr_assert(!t.v1 && !t.async_sched);
    cr_assert_eq(t.n_sizes, 3 + 32);
    cr_assert(lat_exec_graphed(&t, 250, true, &pad));
    cr_assert_eq(pad, 256);
    cr_assert_not(lat_exec_graphed(&t, 9, false, &pad));
    /* enforce_eager */
    struct lat_exec eager = {0, 0, true, 256};
    lat_exec_resolve(&eager, &t);
    cr_assert_not(lat_exec_graphed(&t, 1, true, &pad));
    int ma = -1, mi = -1;
    cr_assert_eq(lat_vllm_version_parse("v0.10.1.post1", &ma, &mi), SIM_OK);
    cr_assert(ma == 0 && mi == 10);
    cr_assert_eq(lat_vllm_version_parse("0.6", &ma, &mi), SIM_OK);
    cr_assert_eq(lat_vllm_version_parse("six", &ma, &mi), SIM_EINVAL);
    cr_assert_eq(lat_vllm_version_parse("0.x", &ma, &mi), SIM_EINVAL);
}

static double roof_at(const char *version_minor_str, bool eager, const struct lat_batch *b)
{
    struct lat_context ctx = {"llama-3-8b", "h100-sxm-80gb", "bf16", "auto", 1, cat,
                              {0, atoi(version_minor_str), eager, 256}, NULL, NULL, 0, NULL};
    struct lat_model *m = lat_roofline_new(&ctx, NULL);
    cr_assert_not_null(m);
    double us = lat_step_us(m, b);
    lat_model_free(m);
    return us;
}

Test(roofline, launches_only_when_eager_and_host_per_sequence)
{
    /* Batch 8 at 1k context on an H100 (8B weights: the GPU step, ~6 ms, is longer than
     * the host's). Eager: the step takes the longer of the GPU work and the CPU's launches
     * (layers x launch_us, asynchronous). vLLM 0.6 runs
     * the host's work after the GPU's; from 0.12 it overlaps (async scheduling), so the
     * difference is exactly the host time host_us + 8 x host_seq_us. */
    struct roof_params p;
    roof_params_fitted(catalog_gpu(cat, "h100-sxm-80gb", NULL), &p);
    struct lat_batch b = {0, 0, 0, 0, 8, 8 * 1024};
    double graph = roof_at("6", false, &b), eager = roof_at("6", true, &b);
    double gpu_graph = graph - (p.host_us + 8.0 * p.host_seq_us);
    double launch = 32.0 * p.launch_us;
    cr_assert_float_eq(eager - graph, (launch > gpu_graph ? launch - gpu_graph : 0.0), 1e-6);
    double host = p.host_us + 8.0 * p.host_seq_us;
    double async = roof_at("12", false, &b);
    cr_assert_gt(async, host); /* the GPU step is the longer one here */
    cr_assert_float_eq(graph - async, host, 1e-6);
    /* a batch of 7 is padded to the captured 8: the same GEMM work as 8 */
    struct lat_batch b7 = {0, 0, 0, 0, 7, 8 * 1024};
    struct lat_batch b8 = {0, 0, 0, 0, 8, 8 * 1024};
    double t7 = roof_at("12", false, &b7), t8 = roof_at("12", false, &b8);
    cr_assert_lt(t8 - t7, 1e-3 * t8); /* only the lm_head (7 vs 8 sequences) differs */
    cr_assert_geq(t8, t7);
}

Test(latency, table_is_found_for_a_model_of_the_same_shape)
{
    /* llama-3.1-70b has the llama-3-70b shape: the shipped llama-3-70b tp4 table serves */
    struct lat_spec spec = {.kind = LAT_TABLE};
    struct lat_context ctx = {"llama-3.1-70b", "h100-sxm-80gb", "bf16", "auto", 4, cat,
                              {0, 0, false, 0}, NULL, NULL, 0, NULL};
    struct sim_err err = {0};
    struct lat_model *m = lat_model_from_spec(&spec, &ctx, &err);
    cr_assert_not_null(m, "%s: %s", err.where, err.msg);
    cr_assert(strstr(m->provenance, "h100-sxm-80gb.llama-3-70b.bf16.tp4.json"), "%s",
              m->provenance);
    lat_model_free(m);
}

Test(latency, calibration_replaces_the_fitted_terms_and_names_its_gpus)
{
    struct lat_context ctx = {"llama-3-8b", "h100-sxm-80gb", "bf16", "auto", 1, cat,
                              {0, 0, false, 0}, FIXTURES "/calibration/cal.json", NULL, 0, NULL};
    struct sim_err err = {0};
    struct lat_model *m = lat_roofline_new(&ctx, &err);
    cr_assert_not_null(m, "%s: %s", err.where, err.msg);
    cr_assert_float_eq(m->frontend_us, 12345.0, 1e-9);
    cr_assert(strstr(m->provenance, "calibrated on 2 runs (a.json, b.json)"), "%s",
              m->provenance);
    cr_assert(strncmp(m->provenance, "calibrated: roofline v2", 23) == 0, "%s", m->provenance);
    lat_model_free(m);
    ctx.gpu = "a100-sxm-80gb";
    cr_assert_null(lat_roofline_new(&ctx, &err));
    cr_assert(strstr(err.msg, "has no data for gpu 'a100-sxm-80gb'; it covers 'h100-sxm-80gb'"),
              "%s", err.msg);
    ctx.calibration = FIXTURES "/tables/tiny.json";
    cr_assert_null(lat_roofline_new(&ctx, &err));
    cr_assert(strstr(err.msg, "expected a calibration file"), "%s", err.msg);
}
