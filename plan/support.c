/*
 * support.c: vLLM's hardware support rules (support.h). Each rule names the dtype, the
 * compute capabilities it covers, what vLLM does there and the vLLM source that says so
 * (vllm-project/vllm; the same rule from vLLM 0.6 to the current release, see
 * docs/plan.md for the commits read).
 */
#include "plan/support.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/catalog.h"

struct rule {
    const char *dtype;
    double cc_below; /* applies to compute capabilities < this */
    double cc_from;  /* ... and >= this */
    const char *what;
    const char *source;
};

static const struct rule rules[] = {
    {"bf16", 8.0, 0.0, "vLLM refuses bfloat16 below compute capability 8.0 (use dtype fp16)",
     "vllm/platforms/cuda.py check_if_supports_dtype"},
    {"fp8", 8.0, 0.0, "vLLM has no FP8 kernels below compute capability 8.0",
     "quantization/fp8.py: Fp8Config.get_min_capability() = 80"},
    {"int8", 7.5, 0.0, "vLLM's INT8 W8A8 kernels need compute capability 7.5",
     "compressed_tensors_w8a8_int8.py: get_min_capability() = 75"},
    {"int4-awq", 8.0, 0.0,
     "Marlin needs compute capability 8.0; vLLM falls back to its AWQ GEMM kernel, whose "
     "speed llmcap does not model",
     "quantization/utils/marlin_utils.py query_marlin_supported_quant_types"},
    {"int4-gptq", 8.0, 0.0,
     "Marlin needs compute capability 8.0; vLLM falls back to its GPTQ (exllama) kernel, "
     "whose speed llmcap does not model",
     "quantization/utils/marlin_utils.py query_marlin_supported_quant_types"},
};

bool plan_vllm_supports(const struct cat_gpu *g, const char *dtype, char *reason, size_t n)
{
    double cc = g->compute_capability;
    if (!isfinite(cc))
        return true;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const struct rule *r = &rules[i];
        if (strcmp(r->dtype, dtype) != 0 || cc >= r->cc_below || cc < r->cc_from)
            continue;
        snprintf(reason, n, "unsupported: %s on %s (compute capability %.1f): %s [%s]", dtype,
                 g->id, cc, r->what, r->source);
        return false;
    }
    /* FP8 on 8.0 <= cc < 8.9: vLLM serves it weight-only through FP8 Marlin (fp8.py:
     * use_marlin = not has_device_capability(89)), which the roofline models only when
     * the catalog says the GPU has no FP8 tensor cores. */
    if (!strcmp(dtype, "fp8") && cc < 8.9 && g->fp8_supported) {
        snprintf(reason, n,
                 "unsupported: fp8 on %s (compute capability %.1f): vLLM runs FP8 weight-only "
                 "(Marlin) below 8.9, but the catalog lists FP8 tensor cores: add \"fp8\" to "
                 "its 'unsupported' [quantization/fp8.py: Fp8LinearMethod.use_marlin]",
                 g->id, cc);
        return false;
    }
    return true;
}
