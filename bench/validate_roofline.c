/*
 * validate_roofline.c: predict published TensorRT-LLM numbers with the roofline, fit its
 * efficiencies on the 7-8B rows only, and report the held-out 70B and Mixtral rows.
 *
 * Built and run by bench/validate_roofline.sh (see docs/latency-models.md). Usage:
 *   validate_roofline            report with the committed (fitted) efficiencies
 *   validate_roofline --fit      fit on the 7-8B rows, print the fitted block, report
 *
 * Every published number below is copied from /work/shared/reference/
 * hardware-and-performance.md with its section: 3a (TensorRT-LLM perf-overview, v0.13 era,
 * and the newer table at commit 00f37686), 3b (TensorRT-LLM v0.5/0.6 performance.md,
 * static batches and batch-1 TTFT), 3c (NeMo/TRT-LLM Llama-2 batch 1-8 latency).
 *
 * How a row is predicted (assumptions documented in docs/latency-models.md):
 *  - 3a "max throughput": steady state of in-flight batching with B concurrent requests.
 *    trtllm-bench picks max_batch_size and max_num_tokens with the heuristic of
 *    tensorrt_llm/bench/build/tuning.py (calc_engine_setting / finetune_setting: KV
 *    requests that fit in 0.95 of the TP group's memory left by the weights, capped at
 *    4096, rounded up; max_num_tokens = that x (1 + ISL/OSL), capped at 32768, rounded
 *    up). At run time B = min(max_batch_size, KV capacity / (ISL + OSL) (guaranteed
 *    no evict), max_num_tokens x OSL / (ISL + OSL) (prefill and decode share the token
 *    budget)), with KV capacity = 0.90 (kv_cache_free_gpu_mem_fraction) x (memory -
 *    weights - the activation estimate of models/memory.h - 1.125 GiB runtime) per GPU.
 *    Each iteration decodes B (OSL-1)/OSL sequences at the mean context ISL + OSL/2 and
 *    prefills B/OSL new requests; throughput = B / iteration time.
 *  - 3b static batch: one prefill of BS x ISL tokens, then OSL-1 decode steps of BS
 *    sequences; tokens/s per GPU = BS x OSL / time / TP.
 *  - 3b TTFT: one prefill of ISL tokens for one request.
 *  - 3c end-to-end latency: prefill of BS x 128, then 19 decode steps (OSL 20).
 *  - 3d (vLLM/SGLang, not TensorRT-LLM; a check, not fitted, not in the target): one
 *    decode step of one sequence at the stated context.
 */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/catalog.h"
#include "models/memory.h"
#include "models/roofline.h"

enum kind { K_SAT, K_STATIC, K_TTFT, K_E2E, K_TPOT };
enum group { G_FIT, G_70B, G_MOE, G_13B, G_OTHER, G_N };

static const char *const group_names[G_N] = {
    "fit (7-8B)", "held out: 70B", "held out: Mixtral-8x7B",
    "held out: Llama-2-13B (suspect rows)", "check: vLLM/SGLang batch 1 (3d)"};

struct vrow {
    const char *table; /* reference section */
    const char *model; /* catalog id */
    const char *gpu;
    const char *dtype;
    const char *kv;
    int tp;
    int isl, osl, bs;
    enum kind kind;
    double published; /* tok/s (3a total, 3b per GPU) or ms (TTFT, e2e) */
    enum group group;
};

/* 3a columns used: H200 FP8, H100 FP8, H100 FP16, A100-80 FP16, L40S FP8 (GH200 is not
 * in the catalog). */
#define H200 "h200-sxm-141gb", "fp8", "fp8"
#define H100F8 "h100-sxm-80gb", "fp8", "fp8"
#define H100F16 "h100-sxm-80gb", "fp16", "auto"
#define A100 "a100-sxm-80gb", "fp16", "auto"
#define L40S "l40s", "fp8", "fp8"

#define SAT5(tab, model, tp, i, o, a, b, c, d, e, g)                                       \
    {tab, model, H200, tp, i, o, 0, K_SAT, a, g}, {tab, model, H100F8, tp, i, o, 0, K_SAT, b, g}, \
        {tab, model, H100F16, tp, i, o, 0, K_SAT, c, g},                                   \
        {tab, model, A100, tp, i, o, 0, K_SAT, d, g}, {tab, model, L40S, tp, i, o, 0, K_SAT, e, g}

static const struct vrow rows[] = {
    /* 3a TP1 7-8B (H200 FP8 | H100 FP8 | H100 FP16 | A100 FP16 | L40S FP8) */
    SAT5("3a", "llama-3-8b", 1, 128, 128, 27940, 27157, 15489, 6657, 8735, G_FIT),
    SAT5("3a", "llama-3-8b", 1, 128, 2048, 23229, 19209, 8901, 4967, 5005, G_FIT),
    SAT5("3a", "llama-3-8b", 1, 2048, 128, 3631, 3476, 1919, 796, 1051, G_FIT),
    SAT5("3a", "llama-3-8b", 1, 500, 2000, 19725, 14218, 6817, 3900, 3991, G_FIT),
    SAT5("3a", "llama-3-8b", 1, 1000, 1000, 16202, 13372, 7041, 3617, 3679, G_FIT),
    SAT5("3a", "llama-3-8b", 1, 2048, 2048, 11098, 8853, 4251, 2270, 2049, G_FIT),
    SAT5("3a", "llama-3-8b", 1, 5000, 500, 3837, 3279, 1668, 793, 860, G_FIT),
    SAT5("3a", "llama-3.1-8b", 1, 128, 128, 28126, 27147, 15648, 6687, 8549, G_FIT),
    SAT5("3a", "llama-3.1-8b", 1, 1000, 1000, 16435, 13411, 7161, 3592, 3648, G_FIT),
    SAT5("3a", "llama-3.1-8b", 1, 20000, 2000, 1635, 1278, 596, 316, 264, G_FIT),
    SAT5("3a", "llama-2-7b", 1, 128, 128, 19549, 19299, 11436, 5239, 6397, G_FIT),
    SAT5("3a", "llama-2-7b", 1, 128, 2048, 7675, 6607, 2986, 1807, 1566, G_FIT),
    SAT5("3a", "llama-2-7b", 1, 2048, 128, 2392, 2304, 1158, 560, 620, G_FIT),
    SAT5("3a", "llama-2-7b", 1, 1000, 1000, 5896, 5209, 2463, 1432, 1278, G_FIT),
    SAT5("3a", "llama-2-7b", 1, 2048, 2048, 3193, 2793, 1263, 734, 641, G_FIT),
    SAT5("3a", "mistral-7b", 1, 128, 128, 30152, 29673, 16711, 6864, 9677, G_FIT),
    SAT5("3a", "mistral-7b", 1, 128, 2048, 24742, 20319, 9774, 5321, 5437, G_FIT),
    SAT5("3a", "mistral-7b", 1, 2048, 128, 3676, 3503, 1893, 796, 997, G_FIT),
    SAT5("3a", "mistral-7b", 1, 1000, 1000, 17620, 14213, 7281, 3794, 3973, G_FIT),
    SAT5("3a", "mistral-7b", 1, 2048, 2048, 11748, 9200, 4349, 2321, 2170, G_FIT),
    /* 3a newer table (commit 00f37686): Llama-3.1-8B FP8 TP1, H200 | H100 */
    {"3a-new", "llama-3.1-8b", H200, 1, 128, 128, 0, K_SAT, 27911, G_FIT},
    {"3a-new", "llama-3.1-8b", H100F8, 1, 128, 128, 0, K_SAT, 28312, G_FIT},
    {"3a-new", "llama-3.1-8b", H200, 1, 128, 2048, 0, K_SAT, 26221, G_FIT},
    {"3a-new", "llama-3.1-8b", H100F8, 1, 128, 2048, 0, K_SAT, 22714, G_FIT},
    {"3a-new", "llama-3.1-8b", H200, 1, 128, 4096, 0, K_SAT, 18027, G_FIT},
    {"3a-new", "llama-3.1-8b", H100F8, 1, 128, 4096, 0, K_SAT, 14325, G_FIT},
    {"3a-new", "llama-3.1-8b", H200, 1, 500, 2000, 0, K_SAT, 20770, G_FIT},
    {"3a-new", "llama-3.1-8b", H100F8, 1, 500, 2000, 0, K_SAT, 17660, G_FIT},
    {"3a-new", "llama-3.1-8b", H200, 1, 1000, 1000, 0, K_SAT, 17744, G_FIT},
    {"3a-new", "llama-3.1-8b", H100F8, 1, 1000, 1000, 0, K_SAT, 15220, G_FIT},
    {"3a-new", "llama-3.1-8b", H200, 1, 1000, 2000, 0, K_SAT, 16828, G_FIT},
    {"3a-new", "llama-3.1-8b", H100F8, 1, 1000, 2000, 0, K_SAT, 13899, G_FIT},
    {"3a-new", "llama-3.1-8b", H200, 1, 2048, 128, 0, K_SAT, 3538, G_FIT},
    {"3a-new", "llama-3.1-8b", H100F8, 1, 2048, 128, 0, K_SAT, 3450, G_FIT},
    {"3a-new", "llama-3.1-8b", H200, 1, 2048, 2048, 0, K_SAT, 12194, G_FIT},
    {"3a-new", "llama-3.1-8b", H100F8, 1, 2048, 2048, 0, K_SAT, 9305, G_FIT},
    {"3a-new", "llama-3.1-8b", H200, 1, 5000, 500, 0, K_SAT, 3902, G_FIT},
    {"3a-new", "llama-3.1-8b", H100F8, 1, 5000, 500, 0, K_SAT, 3459, G_FIT},
    {"3a-new", "llama-3.1-8b", H200, 1, 20000, 2000, 0, K_SAT, 1804, G_FIT},
    {"3a-new", "llama-3.1-8b", H100F8, 1, 20000, 2000, 0, K_SAT, 1351, G_FIT},
    /* 3b static batch, out tok/s per GPU; LLaMA-7B has llama-2-7b's shape */
    {"3b", "llama-2-7b", H100F8, 1, 128, 128, 768, K_STATIC, 19694, G_FIT},
    {"3b", "llama-2-7b", H100F8, 1, 128, 2048, 112, K_STATIC, 6818, G_FIT},
    {"3b", "llama-2-7b", H100F8, 1, 2048, 128, 80, K_STATIC, 2244, G_FIT},
    {"3b", "llama-2-7b", H100F8, 1, 2048, 2048, 48, K_STATIC, 2740, G_FIT},
    {"3b", "llama-2-7b", A100, 1, 128, 128, 384, K_STATIC, 5586, G_FIT},
    {"3b", "llama-2-7b", A100, 1, 128, 2048, 60, K_STATIC, 1928, G_FIT},
    {"3b", "llama-2-7b", A100, 1, 2048, 128, 52, K_STATIC, 591, G_FIT},
    {"3b", "llama-2-7b", A100, 2, 2048, 2048, 64, K_STATIC, 782, G_FIT},
    {"3b", "llama-2-7b", L40S, 1, 128, 128, 64, K_STATIC, 3240, G_FIT},
    {"3b", "llama-2-7b", L40S, 1, 128, 2048, 64, K_STATIC, 1622, G_FIT},
    {"3b", "llama-2-7b", L40S, 1, 2048, 128, 32, K_STATIC, 581, G_FIT},
    {"3b", "llama-2-7b", L40S, 1, 2048, 2048, 16, K_STATIC, 531, G_FIT},
    /* 3b batch-1 TTFT (ms) */
    {"3b-ttft", "llama-2-7b", H100F8, 1, 128, 1, 1, K_TTFT, 7, G_FIT},
    {"3b-ttft", "llama-2-7b", H100F8, 1, 2048, 1, 1, K_TTFT, 36, G_FIT},
    {"3b-ttft", "llama-2-7b", L40S, 1, 128, 1, 1, K_TTFT, 14, G_FIT},
    {"3b-ttft", "llama-2-7b", L40S, 1, 2048, 1, 1, K_TTFT, 73, G_FIT},
    {"3b-ttft", "llama-2-7b", A100, 1, 128, 1, 1, K_TTFT, 16, G_FIT},
    {"3b-ttft", "llama-2-7b", A100, 1, 2048, 1, 1, K_TTFT, 133, G_FIT},
    /* 3c NeMo end-to-end latency (ms), ISL 128 / OSL 20; A100 | H100 (fp16 assumed) */
    {"3c", "llama-2-7b", A100, 1, 128, 20, 1, K_E2E, 234.0, G_FIT},
    {"3c", "llama-2-7b", H100F16, 1, 128, 20, 1, K_E2E, 153.8, G_FIT},
    {"3c", "llama-2-7b", A100, 1, 128, 20, 2, K_E2E, 249.6, G_FIT},
    {"3c", "llama-2-7b", H100F16, 1, 128, 20, 2, K_E2E, 160.8, G_FIT},
    {"3c", "llama-2-7b", A100, 1, 128, 20, 4, K_E2E, 272.6, G_FIT},
    {"3c", "llama-2-7b", H100F16, 1, 128, 20, 4, K_E2E, 174.8, G_FIT},
    {"3c", "llama-2-7b", A100, 1, 128, 20, 8, K_E2E, 329.5, G_FIT},
    {"3c", "llama-2-7b", H100F16, 1, 128, 20, 8, K_E2E, 199.2, G_FIT},
    {"3c", "llama-2-7b", A100, 2, 128, 20, 1, K_E2E, 171.7, G_FIT},
    {"3c", "llama-2-7b", H100F16, 2, 128, 20, 1, K_E2E, 128.6, G_FIT},
    {"3c", "llama-2-7b", A100, 2, 128, 20, 8, K_E2E, 237.6, G_FIT},
    {"3c", "llama-2-7b", H100F16, 2, 128, 20, 8, K_E2E, 156.2, G_FIT},
    {"3c", "llama-2-7b", A100, 4, 128, 20, 1, K_E2E, 143.7, G_FIT},
    {"3c", "llama-2-7b", H100F16, 4, 128, 20, 1, K_E2E, 107.4, G_FIT},
    {"3c", "llama-2-7b", A100, 4, 128, 20, 8, K_E2E, 196.4, G_FIT},
    {"3c", "llama-2-7b", H100F16, 4, 128, 20, 8, K_E2E, 134.6, G_FIT},
    {"3c", "llama-2-7b", A100, 8, 128, 20, 1, K_E2E, 136.5, G_FIT},
    {"3c", "llama-2-7b", H100F16, 8, 128, 20, 1, K_E2E, 97.6, G_FIT},
    {"3c", "llama-2-7b", A100, 8, 128, 20, 8, K_E2E, 181.9, G_FIT},
    {"3c", "llama-2-7b", H100F16, 8, 128, 20, 8, K_E2E, 129.1, G_FIT},
    {"3c", "llama-2-13b", A100, 1, 128, 20, 1, K_E2E, 142.5, G_13B},
    {"3c", "llama-2-13b", H100F16, 1, 128, 20, 1, K_E2E, 86.4, G_13B},
    {"3c", "llama-2-13b", A100, 1, 128, 20, 8, K_E2E, 282.6, G_13B},
    {"3c", "llama-2-13b", H100F16, 1, 128, 20, 8, K_E2E, 146.7, G_13B},

    /* ---- held out: 70B (3a TP1/TP2 pairs as extracted, TP4/TP8 all columns) ---- */
    {"3a", "llama-3-70b", H200, 1, 128, 128, 0, K_SAT, 3924, G_70B},
    {"3a", "llama-3-70b", H200, 2, 128, 128, 0, K_SAT, 5388, G_70B},
    {"3a", "llama-3-70b", H100F8, 2, 128, 128, 0, K_SAT, 5206, G_70B},
    SAT5("3a", "llama-3-70b", 4, 128, 128, 8959, 8679, 5857, 2425, 1432, G_70B),
    SAT5("3a", "llama-3-70b", 8, 128, 128, 16375, 15703, 10627, 4490, 1333, G_70B),
    SAT5("3a", "llama-3-70b", 4, 2048, 128, 1049, 1023, 690, 279, 169, G_70B),
    SAT5("3a", "llama-3-70b", 8, 2048, 128, 2072, 1977, 1273, 543, 159, G_70B),
    {"3a", "llama-3-70b", H200, 2, 1000, 1000, 0, K_SAT, 4590, G_70B},
    {"3a", "llama-3-70b", H100F8, 2, 1000, 1000, 0, K_SAT, 3879, G_70B},
    SAT5("3a", "llama-3-70b", 4, 1000, 1000, 7607, 6547, 3655, 1733, 1118, G_70B),
    SAT5("3a", "llama-3-70b", 8, 1000, 1000, 12660, 11155, 5617, 2895, 1127, G_70B),
    SAT5("3a", "llama-3-70b", 4, 2048, 2048, 6571, 5060, 2392, 1222, 855, G_70B),
    SAT5("3a", "llama-3-70b", 8, 2048, 2048, 9924, 8480, 3826, 2181, 928, G_70B),
    SAT5("3a", "llama-2-70b", 4, 128, 128, 11031, 10865, 6421, 2766, 1488, G_70B),
    SAT5("3a", "llama-2-70b", 8, 128, 128, 17060, 16385, 11146, 4743, 1405, G_70B),
    SAT5("3a", "llama-2-70b", 4, 1000, 1000, 8557, 6817, 3866, 1876, 1189, G_70B),
    /* 3a newer: Llama-3.3-70B FP8 (llama-3.1-70b shape), H200 TP1 | H100 TP2 */
    {"3a-new", "llama-3.1-70b", H200, 1, 128, 128, 0, K_SAT, 3803, G_70B},
    {"3a-new", "llama-3.1-70b", H100F8, 2, 128, 128, 0, K_SAT, 6378, G_70B},
    {"3a-new", "llama-3.1-70b", H200, 1, 128, 2048, 0, K_SAT, 4336, G_70B},
    {"3a-new", "llama-3.1-70b", H100F8, 2, 128, 2048, 0, K_SAT, 6651, G_70B},
    {"3a-new", "llama-3.1-70b", H200, 1, 1000, 1000, 0, K_SAT, 2909, G_70B},
    {"3a-new", "llama-3.1-70b", H100F8, 2, 1000, 1000, 0, K_SAT, 4205, G_70B},
    {"3a-new", "llama-3.1-70b", H200, 1, 2048, 128, 0, K_SAT, 442, G_70B},
    {"3a-new", "llama-3.1-70b", H100F8, 2, 2048, 128, 0, K_SAT, 762, G_70B},
    {"3a-new", "llama-3.1-70b", H200, 1, 2048, 2048, 0, K_SAT, 2003, G_70B},
    {"3a-new", "llama-3.1-70b", H100F8, 2, 2048, 2048, 0, K_SAT, 3082, G_70B},
    {"3a-new", "llama-3.1-70b", H200, 1, 5000, 500, 0, K_SAT, 566, G_70B},
    {"3a-new", "llama-3.1-70b", H100F8, 2, 5000, 500, 0, K_SAT, 898, G_70B},
    /* 3b static batch 70B (LLaMA-70B = llama-2-70b shape), per GPU */
    {"3b", "llama-2-70b", H100F8, 2, 128, 128, 1024, K_STATIC, 2657, G_70B},
    {"3b", "llama-2-70b", H100F8, 4, 128, 2048, 480, K_STATIC, 1486, G_70B},
    {"3b", "llama-2-70b", H100F8, 2, 2048, 128, 96, K_STATIC, 306, G_70B},
    {"3b", "llama-2-70b", H100F8, 2, 2048, 2048, 64, K_STATIC, 547, G_70B},
    {"3b", "llama-2-70b", A100, 4, 128, 128, 1280, K_STATIC, 670, G_70B},
    {"3b", "llama-2-70b", A100, 4, 128, 2048, 240, K_STATIC, 525, G_70B},
    {"3b", "llama-2-70b", A100, 4, 2048, 128, 120, K_STATIC, 79, G_70B},
    {"3b-ttft", "llama-2-70b", H100F8, 4, 128, 1, 1, K_TTFT, 26, G_70B},
    {"3b-ttft", "llama-2-70b", H100F8, 4, 2048, 1, 1, K_TTFT, 109, G_70B},
    {"3b-ttft", "llama-2-70b", A100, 4, 128, 1, 1, K_TTFT, 47, G_70B},
    {"3b-ttft", "llama-2-70b", A100, 4, 2048, 1, 1, K_TTFT, 377, G_70B},

    /* ---- check (3d, other engines, batch 1): SGLang ITL ~5 ms at 1-2 req/s on H100
     * (ShareGPT, Llama-3.1-8B likely; context ~200 assumed); vLLM 0.23 C=1 on A100 40GB
     * ~75 tok/s = 13.3 ms/token at 1024 in / 128 out (context ~1088) ---- */
    {"3d", "llama-3.1-8b", "h100-sxm-80gb", "bf16", "auto", 1, 200, 1, 1, K_TPOT, 5.0, G_OTHER},
    {"3d", "llama-3.1-8b", "a100-sxm-40gb", "bf16", "auto", 1, 1088, 1, 1, K_TPOT, 13.3,
     G_OTHER},

    /* ---- held out: Mixtral-8x7B TP4 ---- */
    SAT5("3a", "mixtral-8x7b", 4, 128, 128, 42395, 40309, 27747, 11206, 6784, G_MOE),
    SAT5("3a", "mixtral-8x7b", 4, 1000, 1000, 32710, 25291, 14308, 7462, 4697, G_MOE),
};

#define N_ROWS (sizeof rows / sizeof rows[0])

/* Settings of the TensorRT-LLM benchmarks as assumed (see the header comment). */
#define TRT_KV_FRACTION 0.90       /* kv_cache_free_gpu_mem_fraction at run time */
#define TRT_BUILD_KV_FRACTION 0.95 /* calc_engine_setting's default */

struct prepared {
    const struct cat_model *m;
    const struct cat_gpu *g;
    enum mem_dtype d;
    int kv_bytes;
    double kv_tokens; /* per GPU, TRT-LLM style */
    double max_batch; /* trtllm-bench's max_batch_size */
    double max_tokens; /* trtllm-bench's max_num_tokens */
    bool fits;
};

/* trtllm-bench's build heuristic (tensorrt_llm/bench/build/tuning.py). */
static void trt_settings(const struct vrow *r, struct prepared *p)
{
    double gib = 1024.0 * 1024.0 * 1024.0;
    double engine_gb = p->m->params_total_b * (p->d == MEM_FP8 ? 1.0 : 2.0);
    double total_gb = p->g->memory_bytes / gib * r->tp;
    int kvh = p->m->num_kv_heads > r->tp ? p->m->num_kv_heads : r->tp;
    double bpt = 2.0 * p->m->num_layers * kvh * p->m->head_dim * p->kv_bytes / gib;
    double kv_req = (total_gb - engine_gb) * TRT_BUILD_KV_FRACTION / bpt / (r->isl + r->osl);
    double raw_bs = kv_req < 4096.0 ? kv_req : 4096.0;
    double raw_tok = raw_bs * (1.0 + (double)r->isl / r->osl);
    if (raw_tok > 32768.0)
        raw_tok = 32768.0;
    double bs, tok;
    if (raw_bs < 256.0)
        bs = fmax(64.0, 32.0 * ceil(raw_bs / 32.0));
    else if (raw_bs < 1024.0)
        bs = 128.0 * ceil(raw_bs / 128.0);
    else
        bs = 256.0 * ceil(raw_bs / 256.0);
    if (raw_tok < 4096.0)
        tok = fmax(2048.0, 256.0 * ceil(raw_tok / 256.0));
    else if (raw_tok < 8192.0)
        tok = 512.0 * ceil(raw_tok / 512.0);
    else
        tok = 1024.0 * ceil(raw_tok / 1024.0);
    p->max_batch = bs;
    p->max_tokens = tok;
}

static struct prepared prep[N_ROWS];

static int prepare(const struct catalog *c)
{
    for (size_t i = 0; i < N_ROWS; i++) {
        const struct vrow *r = &rows[i];
        struct sim_err err = {0};
        struct prepared *p = &prep[i];
        p->m = catalog_model(c, r->model, &err);
        p->g = catalog_gpu(c, r->gpu, &err);
        if (!p->m || !p->g || mem_dtype_parse(r->dtype, &p->d) ||
            mem_kv_dtype_bytes(r->kv, &p->kv_bytes)) {
            fprintf(stderr, "validate_roofline: row %zu: %s\n", i, err.msg);
            return 1;
        }
        trt_settings(r, p);
        struct mem_config cfg = {p->m, p->g, p->d, r->kv, r->tp, 1.0, 16, 256,
                                 (int)p->max_tokens, r->isl + r->osl};
        struct mem_plan plan;
        p->fits = mem_plan_compute(&plan, &cfg, &err) == SIM_OK;
        p->kv_tokens = p->fits ? TRT_KV_FRACTION * plan.kv_cache_bytes / plan.kv_bytes_per_token
                               : 0.0;
    }
    return 0;
}

/* The prediction of row i under parameters p (NULL: the committed, fitted parameters for
 * the row's GPU); NAN when it cannot be made. */
static double predict(size_t i, const struct roof_params *p)
{
    const struct vrow *r = &rows[i];
    const struct prepared *pp = &prep[i];
    struct roofline rl;
    struct sim_err err = {0};
    if (roofline_init(&rl, pp->m, pp->g, pp->d, pp->kv_bytes, r->tp, p, &err))
        return NAN;
    double isl = r->isl, osl = r->osl;
    switch (r->kind) {
    case K_SAT: {
        if (!pp->fits)
            return NAN;
        double b = pp->max_batch;
        double b_kv = floor(pp->kv_tokens / (isl + osl));
        double b_tok = pp->max_tokens * osl / (isl + osl);
        if (b_kv < b)
            b = b_kv;
        if (b_tok < b)
            b = b_tok;
        if (b < 1.0)
            return NAN;
        double np = b / osl;
        struct roof_work w = {np, np * isl, np * isl, np * isl * (isl + 1.0) / 2.0,
                              b * (osl - 1.0) / osl, b * (osl - 1.0) / osl * (isl + osl / 2.0), 0};
        return b / roofline_iter_us(&rl, &w) * 1e6;
    }
    case K_STATIC:
    case K_E2E: {
        double bs = r->bs;
        struct roof_work w = {bs, bs * isl, bs * isl, bs * isl * (isl + 1.0) / 2.0, 0, 0, 0};
        double t = roofline_iter_us(&rl, &w);
        for (int k = 1; k < r->osl; k++) {
            struct roof_work dw = {0, 0, 0, 0, bs, bs * (isl + k), 0};
            t += roofline_iter_us(&rl, &dw);
        }
        if (r->kind == K_E2E)
            return t / 1000.0;
        return bs * osl / t * 1e6 / r->tp;
    }
    case K_TTFT: {
        struct roof_work w = {1, isl, isl, isl * (isl + 1.0) / 2.0, 0, 0, 0};
        return roofline_iter_us(&rl, &w) / 1000.0;
    }
    case K_TPOT: {
        struct roof_work w = {0, 0, 0, 0, 1, isl, 0};
        return roofline_iter_us(&rl, &w) / 1000.0;
    }
    }
    return NAN;
}

/* ---- fit ------------------------------------------------------------------------- */

/* The free parameters. Fractions go through a logistic, times through exp, so the
 * simplex moves in an unbounded space. */
enum slot {
    S_MEM,
    S_ATTN_MEM,
    S_ATTN_MFU,
    S_AR_LAT,
    S_MFU,        /* global GEMM efficiency */
    S_MFU_HOPPER, /* per architecture (variants with per_arch) */
    S_MFU_AMPERE,
    S_MFU_ADA,
    S_OVERHEAD,
    S_LAYER_OVERHEAD,
    S_N
};

static const char *const arch_of_slot[S_N] = {[S_MFU_HOPPER] = "hopper",
                                              [S_MFU_AMPERE] = "ampere",
                                              [S_MFU_ADA] = "ada"};

struct variant {
    const char *name;
    bool per_arch;       /* one GEMM efficiency per GPU architecture */
    bool fit_overhead;   /* per-iteration overhead free (else 0) */
};

/* The shipped structure is the last one (see docs/latency-models.md for why). */
static const struct variant variants[] = {
    {"A: global mfu, per-iteration + per-layer overhead", false, true},
    {"B: global mfu, per-layer overhead only", false, false},
    {"C: per-arch mfu, per-iteration + per-layer overhead", true, true},
    {"D: per-arch mfu, per-layer overhead only (shipped)", true, false},
};
#define N_VARIANTS (sizeof variants / sizeof variants[0])

struct fitvals {
    double v[S_N]; /* natural units */
};

static bool slot_free(const struct variant *va, enum slot s)
{
    switch (s) {
    case S_MFU:
        return !va->per_arch;
    case S_MFU_HOPPER:
    case S_MFU_AMPERE:
    case S_MFU_ADA:
        return va->per_arch;
    case S_OVERHEAD:
        return va->fit_overhead;
    default:
        return true;
    }
}

static bool slot_is_fraction(enum slot s)
{
    return s != S_AR_LAT && s != S_OVERHEAD && s != S_LAYER_OVERHEAD;
}

/* Parameters for row i's GPU. */
static void params_for(const struct fitvals *fv, const struct variant *va, size_t i,
                       struct roof_params *p)
{
    roof_params_fitted(NULL, p); /* link_eff stays as committed */
    p->mem_eff = fv->v[S_MEM];
    p->attn_mem_eff = fv->v[S_ATTN_MEM];
    p->attn_mfu = fv->v[S_ATTN_MFU];
    p->allreduce_latency_us = fv->v[S_AR_LAT];
    p->gemm_mfu = fv->v[S_MFU];
    if (va->per_arch)
        for (int s = S_MFU_HOPPER; s <= S_MFU_ADA; s++)
            if (!strcmp(prep[i].g->arch, arch_of_slot[s]))
                p->gemm_mfu = fv->v[s];
    p->host_us = va->fit_overhead ? fv->v[S_OVERHEAD] : 0.0;
    p->layer_us = fv->v[S_LAYER_OVERHEAD];
}

struct fitctx {
    const struct variant *va;
    struct fitvals base;
    int map[S_N]; /* slot -> vector index, -1 when fixed */
    size_t n;
};

static void unpack(const struct fitctx *fc, const gsl_vector *x, struct fitvals *fv)
{
    *fv = fc->base;
    for (int s = 0; s < S_N; s++) {
        if (fc->map[s] < 0)
            continue;
        double y = gsl_vector_get(x, (size_t)fc->map[s]);
        fv->v[s] = slot_is_fraction(s) ? 1.0 / (1.0 + exp(-y)) : exp(y);
    }
}

static void pack(const struct fitctx *fc, const struct fitvals *fv, gsl_vector *x)
{
    for (int s = 0; s < S_N; s++) {
        if (fc->map[s] < 0)
            continue;
        double v = fv->v[s];
        gsl_vector_set(x, (size_t)fc->map[s],
                       slot_is_fraction(s) ? log(v / (1.0 - v)) : log(v > 1e-3 ? v : 1e-3));
    }
}

static double fit_objective(const struct fitvals *fv, const struct variant *va)
{
    double sum = 0.0;
    for (size_t i = 0; i < N_ROWS; i++) {
        if (rows[i].group != G_FIT)
            continue;
        struct roof_params p;
        params_for(fv, va, i, &p);
        double y = predict(i, &p);
        if (!isfinite(y) || y <= 0.0)
            return 1e30;
        double e = log(y / rows[i].published);
        sum += e * e;
    }
    return sum;
}

static double objective(const gsl_vector *x, void *arg)
{
    const struct fitctx *fc = arg;
    struct fitvals fv;
    unpack(fc, x, &fv);
    return fit_objective(&fv, fc->va);
}

/* Nelder-Mead (GSL nmsimplex2) from a fixed start, restarted from the best point. */
static double fit(const struct variant *va, struct fitvals *out)
{
    struct fitctx fc = {va, {{0}}, {0}, 0};
    /* the start: round numbers, the same for every variant */
    fc.base.v[S_MEM] = 0.8;
    fc.base.v[S_ATTN_MEM] = 0.7;
    fc.base.v[S_ATTN_MFU] = 0.5;
    fc.base.v[S_AR_LAT] = 10.0;
    fc.base.v[S_MFU] = fc.base.v[S_MFU_HOPPER] = fc.base.v[S_MFU_AMPERE] =
        fc.base.v[S_MFU_ADA] = 0.6;
    fc.base.v[S_OVERHEAD] = 1000.0;
    fc.base.v[S_LAYER_OVERHEAD] = 5.0;
    for (int s = 0; s < S_N; s++)
        fc.map[s] = slot_free(va, s) ? (int)fc.n++ : -1;
    gsl_vector *x = gsl_vector_alloc(fc.n), *step = gsl_vector_alloc(fc.n);
    pack(&fc, &fc.base, x);
    gsl_multimin_function f = {objective, fc.n, &fc};
    gsl_multimin_fminimizer *s = gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2,
                                                               fc.n);
    for (int round = 0; round < 8; round++) {
        gsl_vector_set_all(step, 0.5);
        gsl_multimin_fminimizer_set(s, &f, x, step);
        for (int it = 0; it < 4000; it++) {
            if (gsl_multimin_fminimizer_iterate(s))
                break;
            if (gsl_multimin_test_size(gsl_multimin_fminimizer_size(s), 1e-7) == GSL_SUCCESS)
                break;
        }
        gsl_vector_memcpy(x, s->x);
    }
    unpack(&fc, x, out);
    double obj = objective(x, &fc);
    gsl_multimin_fminimizer_free(s);
    gsl_vector_free(x);
    gsl_vector_free(step);
    return obj;
}

/* ---- report ---------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static const char *kind_unit(enum kind k)
{
    switch (k) {
    case K_SAT:
        return "tok/s";
    case K_STATIC:
        return "tok/s/gpu";
    case K_TTFT:
        return "ttft ms";
    case K_E2E:
        return "e2e ms";
    case K_TPOT:
        return "tpot ms";
    }
    return "?";
}

/* Per-group median absolute errors into med[] and *held (70B and Mixtral together);
 * `fv` NULL: the committed parameters. Prints the per-row table when `rows_out`. */
static void evaluate(const struct fitvals *fv, const struct variant *va, bool rows_out,
                     double med[G_N], double *held)
{
    static double errs[G_N][N_ROWS];
    static double hold[N_ROWS];
    size_t nerr[G_N] = {0}, missing[G_N] = {0}, nheld = 0;
    if (rows_out)
        printf("%-7s  %-13s  %-14s  %-5s  %-4s  %2s  %11s  %4s  %-9s  %10s  %10s  %8s\n",
               "table", "model", "gpu", "dtype", "kv", "tp", "isl/osl", "bs", "unit",
               "published", "predicted", "error_%");
    for (int g = 0; g < G_N; g++) {
        if (rows_out)
            printf("-- %s\n", group_names[g]);
        for (size_t i = 0; i < N_ROWS; i++) {
            const struct vrow *r = &rows[i];
            if ((int)r->group != g)
                continue;
            double y;
            if (fv) {
                struct roof_params p;
                params_for(fv, va, i, &p);
                y = predict(i, &p);
            } else {
                y = predict(i, NULL);
            }
            char io[24], bs[8], pred[24], err[24];
            snprintf(io, sizeof io, "%d/%d", r->isl, r->osl);
            if (r->kind == K_SAT)
                snprintf(bs, sizeof bs, "-");
            else
                snprintf(bs, sizeof bs, "%d", r->bs);
            if (isfinite(y)) {
                double e = (y - r->published) / r->published * 100.0;
                snprintf(pred, sizeof pred, "%.1f", y);
                snprintf(err, sizeof err, "%+.1f", e);
                errs[g][nerr[g]++] = fabs(e);
                if (g == G_70B || g == G_MOE)
                    hold[nheld++] = fabs(e);
            } else {
                snprintf(pred, sizeof pred, "n/a");
                snprintf(err, sizeof err, "-");
                missing[g]++;
            }
            if (rows_out)
                printf("%-7s  %-13s  %-14s  %-5s  %-4s  %2d  %11s  %4s  %-9s  %10.1f  %10s  "
                       "%8s\n",
                       r->table, r->model, r->gpu, r->dtype, r->kv, r->tp, io, bs,
                       kind_unit(r->kind), r->published, pred, err);
        }
    }
    for (int g = 0; g < G_N; g++) {
        med[g] = median(errs[g], nerr[g]);
        if (rows_out)
            printf("%s%-38s rows %3zu  not predicted %zu  median |error| %6.1f%%\n",
                   g == 0 ? "\nsummary: median absolute error per group\n  " : "  ",
                   group_names[g], nerr[g], missing[g], med[g]);
    }
    *held = median(hold, nheld);
    if (rows_out)
        printf("  %-38s rows %3zu  median |error| %6.1f%%  (target <= 15%%)\n",
               "held out: 70B + Mixtral together", nheld, *held);
}

static void print_params(const char *title, const struct fitvals *fv, const struct variant *va)
{
    printf("%s\n", title);
    printf("static const struct roof_params roof_fitted = {\n"
           "    .gemm_mfu = %.4f,\n    .mem_eff = %.4f,\n    .attn_mem_eff = %.4f,\n"
           "    .attn_mfu = %.4f,\n    .host_us = %.1f,\n    .layer_us = %.2f,\n"
           "    .allreduce_latency_us = %.2f,\n    .link_eff = 0.7,\n};\n",
           va->per_arch ? (fv->v[S_MFU_HOPPER] + fv->v[S_MFU_AMPERE] + fv->v[S_MFU_ADA]) / 3.0
                        : fv->v[S_MFU],
           fv->v[S_MEM], fv->v[S_ATTN_MEM], fv->v[S_ATTN_MFU],
           va->fit_overhead ? fv->v[S_OVERHEAD] : 0.0, fv->v[S_LAYER_OVERHEAD],
           fv->v[S_AR_LAT]);
    if (va->per_arch)
        printf("roof_arch_mfu[] = {\n    {\"hopper\", %.4f},\n    {\"ampere\", %.4f},\n"
               "    {\"ada\", %.4f},\n};\n(global gemm_mfu = mean of the three, for other "
               "architectures)\n",
               fv->v[S_MFU_HOPPER], fv->v[S_MFU_AMPERE], fv->v[S_MFU_ADA]);
}

static void print_committed(void)
{
    struct roof_params p;
    roof_params_fitted(NULL, &p);
    printf("committed efficiencies (models/roofline.c; %s):\n", roof_params_fit_note());
    printf("  gemm_mfu %.4f (global)", p.gemm_mfu);
    static const char *const archs[] = {"hopper", "ampere", "ada"};
    for (int k = 0; k < 3; k++) {
        struct cat_gpu g;
        memset(&g, 0, sizeof g);
        snprintf(g.arch, sizeof g.arch, "%s", archs[k]);
        struct roof_params q;
        roof_params_fitted(&g, &q);
        printf(", %s %.4f", archs[k], q.gemm_mfu);
    }
    printf("\n  mem_eff %.4f  attn_mem_eff %.4f  attn_mfu %.4f  host_us %.1f  "
           "layer_us %.2f  allreduce_latency_us %.2f  link_eff %.4f\n",
           p.mem_eff, p.attn_mem_eff, p.attn_mfu, p.host_us, p.layer_us,
           p.allreduce_latency_us, p.link_eff);
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    const char *mode = argc > 1 ? argv[1] : "";
    if (argc > 2 || (argc == 2 && strcmp(mode, "--fit") && strcmp(mode, "--variants"))) {
        fprintf(stderr, "usage: validate_roofline [--fit | --variants]\n");
        return 2;
    }
    struct sim_err err = {0};
    struct catalog *c = catalog_new(NULL, &err);
    if (!c) {
        fprintf(stderr, "validate_roofline: %s: %s\n", err.where, err.msg);
        return 2;
    }
    if (prepare(c)) {
        catalog_free(c);
        return 2;
    }
    size_t nfit = 0;
    for (size_t i = 0; i < N_ROWS; i++)
        nfit += rows[i].group == G_FIT;
    double med[G_N], held;
    if (!strcmp(mode, "--variants")) {
        printf("model structures fitted on the %zu 7-8B rows (median |error| %%):\n", nfit);
        printf("%-52s  %9s  %6s  %6s  %8s  %9s\n", "variant", "objective", "fit", "70B",
               "Mixtral", "held-out");
        for (size_t k = 0; k < N_VARIANTS; k++) {
            struct fitvals fv;
            double obj = fit(&variants[k], &fv);
            evaluate(&fv, &variants[k], false, med, &held);
            printf("%-52s  %9.4f  %6.1f  %6.1f  %8.1f  %9.1f\n", variants[k].name, obj,
                   med[G_FIT], med[G_70B], med[G_MOE], held);
        }
    } else if (!strcmp(mode, "--fit")) {
        const struct variant *va = &variants[N_VARIANTS - 1];
        struct fitvals fv;
        printf("fitting variant %s on %zu rows (7-8B only)\n", va->name, nfit);
        double obj = fit(va, &fv);
        printf("objective (sum of squared log errors over the fit rows): %.6g\n", obj);
        print_params("fitted (paste into models/roofline.c):", &fv, va);
        printf("\n");
        evaluate(&fv, va, true, med, &held);
    } else {
        print_committed();
        printf("\n");
        evaluate(NULL, NULL, true, med, &held);
    }
    catalog_free(c);
    return 0;
}
