/*
 * support.h: vLLM's hardware support rules, as plan pruning.
 *
 * A configuration whose dtype vLLM cannot serve on the GPU (or serves only with kernels
 * llmcap does not model) is pruned before any simulation, with the rule and its source
 * in the reason. The rules follow the GPU's CUDA compute capability (catalog field
 * `compute_capability`); each is listed with its vLLM source file in docs/plan.md.
 */
#ifndef LLMCAP_PLAN_SUPPORT_H
#define LLMCAP_PLAN_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>

struct cat_gpu;

/*
 * Whether vLLM serves weights in `dtype` ("bf16", "fp16", "fp8", "int8", "int4-awq",
 * "int4-gptq") on `g` as llmcap models it. true when it does, or when the GPU's compute
 * capability is unknown (nothing to check: a user catalog without the field); false with
 * `reason` ("unsupported: ...", the rule and its vLLM source) when it does not.
 */
bool plan_vllm_supports(const struct cat_gpu *g, const char *dtype, char *reason, size_t n);

#endif
