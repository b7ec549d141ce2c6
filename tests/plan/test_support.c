/*
 * vLLM's hardware support rules as plan pruning (plan/support.c), with the exact reason
 * strings, on the shipped catalog's GPUs (compute capabilities from NVIDIA's CUDA GPU
 * table: T4 7.5, A100 8.0, A10/A10G 8.6, L4/L40S 8.9, H100 9.0).
 */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/catalog.h"
#include "plan/plan.h"
#include "plan/support.h"
#include "sim/config/scenario.h"
#include "sim/sim.h"

static struct catalog *cat;

static void init(void)
{
    gsl_set_error_handler_off();
    struct sim_err err = {0};
    cat = catalog_new(NULL, &err);
    cr_assert_not_null(cat, "%s", err.msg);
}

static void fini(void)
{
    catalog_free(cat);
}

TestSuite(support, .init = init, .fini = fini, .timeout = 60);

static const char *why(const char *gpu, const char *dtype)
{
    static char reason[256];
    const struct cat_gpu *g = catalog_gpu(cat, gpu, NULL);
    cr_assert_not_null(g, "%s", gpu);
    reason[0] = '\0';
    return plan_vllm_supports(g, dtype, reason, sizeof reason) ? NULL : reason;
}

Test(support, t4_has_no_bf16_no_fp8_and_no_marlin)
{
    cr_assert_str_eq(why("t4", "bf16"),
                     "unsupported: bf16 on t4 (compute capability 7.5): vLLM refuses bfloat16 "
                     "below compute capability 8.0 (use dtype fp16) [vllm/platforms/cuda.py "
                     "check_if_supports_dtype]");
    cr_assert_str_eq(why("t4", "fp8"),
                     "unsupported: fp8 on t4 (compute capability 7.5): vLLM has no FP8 kernels "
                     "below compute capability 8.0 [quantization/fp8.py: "
                     "Fp8Config.get_min_capability() = 80]");
    cr_assert_str_eq(why("t4", "int4-awq"),
                     "unsupported: int4-awq on t4 (compute capability 7.5): Marlin needs "
                     "compute capability 8.0; vLLM falls back to its AWQ GEMM kernel, whose "
                     "speed llmcap does not model [quantization/utils/marlin_utils.py "
                     "query_marlin_supported_quant_types]");
    cr_assert_str_eq(why("t4", "int4-gptq"),
                     "unsupported: int4-gptq on t4 (compute capability 7.5): Marlin needs "
                     "compute capability 8.0; vLLM falls back to its GPTQ (exllama) kernel, "
                     "whose speed llmcap does not model [quantization/utils/marlin_utils.py "
                     "query_marlin_supported_quant_types]");
    /* fp16 and INT8 W8A8 (CompressedTensorsW8A8Int8: Turing and up) run on a T4 */
    cr_assert_null(why("t4", "fp16"));
    cr_assert_null(why("t4", "int8"));
}

Test(support, ampere_serves_fp8_weight_only_and_marlin)
{
    /* 8.0 <= cc < 8.9: FP8 through Marlin, weight-only: allowed, and the catalog says the
     * GPU has no FP8 tensor cores, so the roofline computes in 16 bits with 1-byte
     * weights */
    const char *ampere[] = {"a100-sxm-80gb", "a100-pcie-80gb", "a100-sxm-40gb", "a10", "a10g"};
    for (size_t i = 0; i < sizeof ampere / sizeof ampere[0]; i++) {
        const char *dts[] = {"bf16", "fp16", "fp8", "int8", "int4-awq", "int4-gptq"};
        for (size_t d = 0; d < sizeof dts / sizeof dts[0]; d++)
            cr_assert_null(why(ampere[i], dts[d]), "%s %s: %s", ampere[i], dts[d],
                           why(ampere[i], dts[d]));
        cr_assert_not(catalog_gpu(cat, ampere[i], NULL)->fp8_supported, "%s", ampere[i]);
    }
}

Test(support, ada_and_hopper_serve_every_dtype)
{
    const char *gpus[] = {"l4", "l40s", "h100-sxm-80gb", "h200-sxm-141gb"};
    const char *dts[] = {"bf16", "fp16", "fp8", "int8", "int4-awq", "int4-gptq"};
    for (size_t i = 0; i < sizeof gpus / sizeof gpus[0]; i++)
        for (size_t d = 0; d < sizeof dts / sizeof dts[0]; d++)
            cr_assert_null(why(gpus[i], dts[d]), "%s %s", gpus[i], dts[d]);
}

Test(support, every_shipped_gpu_has_a_compute_capability_consistent_with_its_fp8)
{
    for (size_t i = 0; i < catalog_n_gpus(cat); i++) {
        const struct cat_gpu *g = catalog_gpu_at(cat, i);
        cr_assert(isfinite(g->compute_capability), "%s", g->id);
        /* FP8 tensor cores exactly from 8.9 (Ada, Hopper) */
        cr_assert_eq(g->fp8_supported, g->compute_capability >= 8.9, "%s", g->id);
        cr_assert_eq(g->bf16_supported, g->compute_capability >= 8.0, "%s", g->id);
    }
}

Test(support, a_catalog_claiming_fp8_tensor_cores_below_8_9_is_caught)
{
    struct cat_gpu g = *catalog_gpu(cat, "a10", NULL);
    g.fp8_supported = true;
    char reason[256];
    cr_assert_not(plan_vllm_supports(&g, "fp8", reason, sizeof reason));
    cr_assert_str_eq(reason, "unsupported: fp8 on a10 (compute capability 8.6): vLLM runs FP8 "
                             "weight-only (Marlin) below 8.9, but the catalog lists FP8 tensor "
                             "cores: add \"fp8\" to its 'unsupported' [quantization/fp8.py: "
                             "Fp8LinearMethod.use_marlin]");
    /* unknown compute capability (a user GPU without the field): nothing to check */
    g.compute_capability = NAN;
    cr_assert(plan_vllm_supports(&g, "fp8", reason, sizeof reason));
}

Test(support, the_plan_prunes_them_before_any_simulation)
{
    /* plan.gpus [t4] x dtype [bf16, fp8, int4-awq, int4-gptq]: every configuration is
     * pruned by a rule, none simulated; the reason is the rule's */
    struct scenario sc;
    struct sim_err err = {0};
    cr_assert_eq(scenario_load(&sc, FIXTURES "/plan/hw_support.yaml", NULL, 0, &err), SIM_OK,
                 "%s: %s", err.where, err.msg);
    struct plan_options opt = {.jobs = 1, .catalog = cat};
    struct plan_result *r = NULL;
    size_t n = 0;
    cr_assert_eq(plan_run(&sc, &opt, &r, &n, &err), SIM_OK, "%s", err.msg);
    cr_assert_eq(n, 4);
    const char *dts[] = {"bf16", "fp8", "int4-awq", "int4-gptq"};
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(r[i].dtype, dts[i]);
        cr_assert(r[i].valid);
        cr_assert_not(r[i].fits);
        cr_assert_not(r[i].feasible);
        cr_assert_eq(r[i].search_runs, 0);
        cr_assert_str_eq(r[i].reason, why("t4", dts[i]));
    }
    cr_assert_eq(plan_best(r, n), -1);
    free(r);
    scenario_release(&sc);
}
