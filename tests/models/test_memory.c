/* test_memory.c: weight, activation and KV-block sizing against hand-computed numbers. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "models/catalog.h"
#include "models/memory.h"

static struct catalog *cat;

static void setup(void)
{
    struct sim_err err = {0};
    cat = catalog_new(SOURCE_DIR "/models/data", &err);
    cr_assert_not_null(cat, "%s: %s", err.where, err.msg);
}

static void teardown(void)
{
    catalog_free(cat);
}

TestSuite(memory, .init = setup, .fini = teardown);

static struct mem_config cfg_for(const char *model, const char *gpu, enum mem_dtype d, int tp)
{
    struct mem_config c = {catalog_model(cat, model, NULL), catalog_gpu(cat, gpu, NULL), d,
                           "auto", tp, 0.90, 16, 0, 0, 0};
    cr_assert_not_null(c.model);
    cr_assert_not_null(c.gpu);
    return c;
}

Test(memory, llama_3_8b_bf16_on_one_h100_gets_27345_blocks)
{
    /*
     * By hand (vLLM V1 sizing, models/memory.h):
     *  total       81920 MiB label = 85,899,345,920 B; x 0.90 = 77,309,411,328 B
     *  weights     8,030,261,248 params x 2 B = 16,060,522,496 B
     *              (32 layers x (q 16,777,216 + k,v 2 x 4,194,304 + o 16,777,216
     *               + gate,up,down 3 x 58,720,256 + norms 8,192) + embed + lm_head
     *               2 x 525,336,576 + final norm 4,096)
     *  activation  H100 defaults: T = 8192 tokens, R = min(1024, 8192) = 1024 sequences
     *              forward: 8192 x 2 B x (2 x 4096 + 3 x 14336) = 838,860,800
     *              sampler: 8192 x 4096 x 2 + 1024 x 128,256 x 20 = 2,693,791,744 (larger)
     *  reserves    CUDA graphs 1,073,741,824 + non-torch 134,217,728
     *  KV          77,309,411,328 - 16,060,522,496 - 2,693,791,744 - 1,073,741,824
     *              - 134,217,728 = 57,347,137,536 B
     *  per block   16 tokens x 2 x 32 layers x 8 heads x 128 x 2 B = 2,097,152 B
     *  blocks      floor(57,347,137,536 / 2,097,152) = 27,345 (27,345.25)
     */
    struct mem_config c = cfg_for("llama-3-8b", "h100-sxm-80gb", MEM_BF16, 1);
    struct mem_plan p;
    struct sim_err err = {0};
    cr_assert_eq(mem_plan_compute(&p, &c, &err), SIM_OK, "%s", err.msg);
    cr_assert_float_eq(p.budget_bytes, 77309411328.0, 1e-3);
    cr_assert_float_eq(p.weight_bytes, 16060522496.0, 1e-3);
    cr_assert_float_eq(p.activation_peak_bytes, 2693791744.0, 1e-3);
    cr_assert_float_eq(p.kv_cache_bytes, 57347137536.0, 1e-3);
    cr_assert_float_eq(p.kv_bytes_per_token, 131072.0, 1e-9);
    cr_assert_eq(p.num_gpu_blocks, 27345);
    cr_assert_eq(p.kv_capacity_tokens, 27345 * 16);
    cr_assert_eq(p.max_num_seqs, 1024);
    cr_assert_eq(p.max_num_batched_tokens, 8192);
    cr_assert_eq(p.max_model_len, 8192);
}

Test(memory, llama_2_70b_bf16_tp4_on_h100_gets_30837_blocks_per_gpu)
{
    /*
     * By hand, one of four shards (q heads 64/4 = 16, KV heads 8/4 = 2):
     *  weights     per layer: attention 8192 x 2048 + 2 x 8192 x 256 + 2048 x 8192
     *              = 37,748,736; MLP 3 x 8192 x 28672 / 4 = 176,160,768; norms 16,384
     *              -> (213,909,504 x 2 + 16,384 x 2) x 80 layers = 34,228,142,080 B;
     *              embed + lm_head 2 x 32000 x 8192 / 4 and the final norm 8192, 16-bit:
     *              262,160,384 B; total 34,490,302,464 B
     *  activation  forward 8192 x 2 x (2 x 8192 + 3 x 28672 / 4) = 620,756,992;
     *              sampler 8192 x 8192 x 2 + 1024 x 32000 x 20 = 789,577,728 (larger)
     *  reserves    CUDA graphs 1 GiB + non-torch 512 MiB with NCCL (TP > 1)
     *  KV          77,309,411,328 - 34,490,302,464 - 789,577,728 - 1,073,741,824
     *              - 536,870,912 = 40,418,918,400 B
     *  per block   16 x 2 x 80 layers x 2 heads x 128 x 2 B = 1,310,720 B
     *  blocks      floor(40,418,918,400 / 1,310,720) = 30,837 (30,837.19)
     */
    struct mem_config c = cfg_for("llama-2-70b", "h100-sxm-80gb", MEM_BF16, 4);
    struct mem_plan p;
    struct sim_err err = {0};
    cr_assert_eq(mem_plan_compute(&p, &c, &err), SIM_OK, "%s", err.msg);
    cr_assert_float_eq(p.weight_bytes, 34490302464.0, 1e-3);
    cr_assert_float_eq(p.activation_peak_bytes, 789577728.0, 1e-3);
    cr_assert_float_eq(p.non_torch_bytes, 536870912.0, 1e-3);
    cr_assert_float_eq(p.kv_cache_bytes, 40418918400.0, 1e-3);
    cr_assert_eq(p.num_gpu_blocks, 30837);
    cr_assert_eq(p.max_model_len, 4096);
}

Test(memory, fp8_kv_cache_halves_bytes_per_token)
{
    struct mem_config c = cfg_for("llama-3-8b", "h100-sxm-80gb", MEM_BF16, 1);
    c.kv_cache_dtype = "fp8";
    struct mem_plan p;
    cr_assert_eq(mem_plan_compute(&p, &c, NULL), SIM_OK);
    /* 2 x 32 x 8 x 128 x 1 B = 65,536 B; same KV bytes as the bf16 case:
     * floor(57,347,137,536 / (16 x 65,536)) = floor(54,690.5) = 54,690 */
    cr_assert_float_eq(p.kv_bytes_per_token, 65536.0, 1e-9);
    cr_assert_eq(p.num_gpu_blocks, 54690);
}

Test(memory, quantized_weights_keep_embeddings_in_16_bit)
{
    const struct cat_model *m = catalog_model(cat, "llama-3-8b", NULL);
    /* linear params 6,979,321,856 (6,979,584,000 per-layer params minus 32 x 8,192 norm
     * weights); 16-bit params: norms 262,144 + final 4,096 + embed and lm_head
     * 2 x 525,336,576 = 1,050,939,392 -> 2,101,878,784 B */
    cr_assert_float_eq(mem_weight_bytes_per_gpu(m, MEM_FP8, 1), 6979321856.0 + 2101878784.0,
                       1e-3);
    /* int4, group 128: 0.5 + (2 + 0.5) / 128 = 0.51953125 B per param:
     * 6,979,321,856 x 0.51953125 = 3,625,975,808 */
    cr_assert_float_eq(mem_linear_bytes_per_param(MEM_INT4_AWQ), 0.51953125, 1e-15);
    cr_assert_float_eq(mem_weight_bytes_per_gpu(m, MEM_INT4_GPTQ, 1),
                       3625975808.0 + 2101878784.0, 1e-3);
    cr_assert_float_eq(mem_weight_bytes_total(m, MEM_BF16), 16060522496.0, 1e-3);
}

Test(memory, weight_bytes_match_reference_param_counts)
{
    /* reference section 4 weight memory (BF16, 2 B/param): Mixtral 93.4 GB,
     * Llama-3-70B 141.1 GB, Qwen2.5-72B 145.4 GB (rounded to 0.1 GB) */
    cr_assert_float_eq(mem_weight_bytes_total(catalog_model(cat, "mixtral-8x7b", NULL), MEM_BF16),
                       93.4e9, 0.06e9);
    cr_assert_float_eq(mem_weight_bytes_total(catalog_model(cat, "llama-3-70b", NULL), MEM_BF16),
                       141.1e9, 0.06e9);
    cr_assert_float_eq(mem_weight_bytes_total(catalog_model(cat, "qwen2.5-72b", NULL), MEM_BF16),
                       145.4e9, 0.06e9);
}

Test(memory, kv_heads_are_replicated_when_fewer_than_tp)
{
    const struct cat_model *m = catalog_model(cat, "llama-3-70b", NULL);
    /* 8 KV heads: TP 8 -> 1 per shard, TP 16 -> still 1 (replicated):
     * 2 x 80 x 1 x 128 x 2 = 40,960 B */
    cr_assert_float_eq(mem_kv_bytes_per_token(m, 8, 2), 40960.0, 1e-9);
    cr_assert_float_eq(mem_kv_bytes_per_token(m, 16, 2), 40960.0, 1e-9);
    cr_assert_eq(mem_check_tp(m, 16, NULL), SIM_OK);
}

Test(memory, tp_must_divide_the_heads)
{
    const struct cat_model *m = catalog_model(cat, "qwen2.5-7b", NULL);
    struct sim_err err = {0};
    cr_assert_eq(mem_check_tp(m, 4, &err), SIM_OK); /* 28 heads, 4 KV heads */
    cr_assert_eq(mem_check_tp(m, 8, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'tensor_parallel_size' must divide the 28 attention heads of "
                              "'qwen2.5-7b', got '8'");
    /* 7 divides the 28 heads but neither divides nor is a multiple of the 4 KV heads */
    cr_assert_eq(mem_check_tp(m, 7, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'tensor_parallel_size' must divide or be a multiple of the 4 KV "
                              "heads of 'qwen2.5-7b', got '7'");
}

Test(memory, llama_3_70b_bf16_on_one_h100_says_what_would_fit)
{
    /* 141.1e9 B = 131.4 GiB of weights; 80 GiB x 0.90 = 72.0 GiB. TP 2 fits (65.7 GiB of
     * weights per GPU leaves ~2.4 GiB, ~15,000 tokens of KV >= max_model_len 8192); fp8
     * does not (67.7 GiB of weights leaves ~2,100 tokens of KV < 8192); int4-awq does. */
    struct mem_config c = cfg_for("llama-3-70b", "h100-sxm-80gb", MEM_BF16, 1);
    struct mem_plan p;
    struct sim_err err = {0};
    cr_assert_eq(mem_plan_compute(&p, &c, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'llama-3-70b' in bf16 needs 131.4 GiB of weights; one "
                              "h100-sxm-80gb gives vLLM 72.0 GiB at gpu_memory_utilization "
                              "0.90: use tensor_parallel_size >= 2, or dtype 'int4-awq'");
    c.tensor_parallel_size = 2;
    cr_assert_eq(mem_plan_compute(&p, &c, &err), SIM_OK, "%s", err.msg);
    cr_assert_geq(p.kv_capacity_tokens, 8192);
}

Test(memory, max_model_len_that_does_not_fit_is_an_error)
{
    /* l4: 22888 MiB x 0.90 = 21,599,826,739 B; weights 16,060,522,496; defaults 256/2048:
     * activation = max(2048 x 2 x 51200, 2048 x 4096 x 2 + 256 x 128256 x 20 =
     * 673,447,936); reserves 1,207,959,552 -> KV 3,657,896,755 B = 3.41 GiB -> 1744 blocks
     * = 27,904 tokens < 131,072 (llama-3.1-8b's max positions). TP 2 fits; fp8 and int4
     * at TP 1 do not (81k and 106k tokens). */
    struct mem_config c = cfg_for("llama-3.1-8b", "l4", MEM_BF16, 1);
    struct mem_plan p;
    struct sim_err err = {0};
    cr_assert_eq(mem_plan_compute(&p, &c, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "max_model_len 131072 of 'llama-3.1-8b' does not fit: only 27904 "
                              "tokens of KV cache (3.41 GiB) fit on each l4 at "
                              "gpu_memory_utilization 0.90: set max_model_len <= 27904, or use "
                              "tensor_parallel_size >= 2");
    c.max_model_len = 27904;
    cr_assert_eq(mem_plan_compute(&p, &c, &err), SIM_OK);
    cr_assert_eq(p.num_gpu_blocks, 1744);
}

Test(memory, model_without_max_positions_needs_max_model_len)
{
    struct mem_config c = cfg_for("mistral-7b", "h100-sxm-80gb", MEM_BF16, 1);
    struct mem_plan p;
    struct sim_err err = {0};
    cr_assert_eq(mem_plan_compute(&p, &c, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "model 'mistral-7b' has no max_position_embeddings in the "
                              "catalog: set 'max_model_len' (tokens)");
    c.max_model_len = 32768;
    cr_assert_eq(mem_plan_compute(&p, &c, &err), SIM_OK);
}

Test(memory, max_model_len_above_max_positions_is_rejected)
{
    struct mem_config c = cfg_for("llama-3-8b", "h100-sxm-80gb", MEM_BF16, 1);
    c.max_model_len = 16384;
    struct sim_err err = {0};
    struct mem_plan p;
    cr_assert_eq(mem_plan_compute(&p, &c, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'max_model_len' must be in [1, 8192] (tokens, the max positions "
                              "of 'llama-3-8b'), got '16384'");
}

Test(memory, no_room_for_kv_names_every_term)
{
    /* llama-3-8b fp16 on one t4: 16 GiB x 0.90 = 14.4 GiB < 14.96 GiB of weights; at
     * 0.95 (15.2 GiB) the weights fit but activations (T 2048: max(0.21e9, 0.67e9 B)
     * = 0.63 GiB) and the 1.125 GiB of reserves leave nothing. */
    struct mem_config c = cfg_for("llama-3-8b", "t4", MEM_FP16, 1);
    struct mem_plan p;
    struct sim_err err = {0};
    cr_assert_eq(mem_plan_compute(&p, &c, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'llama-3-8b' in fp16 needs 15.0 GiB of weights; one t4 gives "
                              "vLLM 14.4 GiB at gpu_memory_utilization 0.90: use "
                              "tensor_parallel_size >= 2, or dtype 'int4-awq'");
    c.gpu_memory_utilization = 0.95; /* 15.2 GiB: the weights fit, the rest does not */
    cr_assert_eq(mem_plan_compute(&p, &c, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "no memory is left for the KV cache of 'llama-3-8b' in fp16 on t4: "
                              "weights 15.0 GiB + activations 0.6 GiB + CUDA graphs and other "
                              "1.1 GiB exceed the 15.2 GiB vLLM may use at "
                              "gpu_memory_utilization 0.95: use tensor_parallel_size >= 2, or "
                              "dtype 'int4-awq', or a smaller max_num_batched_tokens");
}

Test(memory, vllm_default_limits_depend_on_gpu_memory_and_a100)
{
    int seqs, toks;
    mem_default_limits(catalog_gpu(cat, "h100-sxm-80gb", NULL), &seqs, &toks);
    cr_assert(seqs == 1024 && toks == 8192);
    mem_default_limits(catalog_gpu(cat, "h200-sxm-141gb", NULL), &seqs, &toks);
    cr_assert(seqs == 1024 && toks == 8192);
    mem_default_limits(catalog_gpu(cat, "a100-sxm-80gb", NULL), &seqs, &toks);
    cr_assert(seqs == 256 && toks == 2048); /* >= 70 GiB but an A100 */
    mem_default_limits(catalog_gpu(cat, "l40s", NULL), &seqs, &toks);
    cr_assert(seqs == 256 && toks == 2048); /* 44.7 GiB < 70 GiB */
}

Test(memory, bad_settings_are_rejected_with_ranges)
{
    struct mem_config c = cfg_for("llama-3-8b", "h100-sxm-80gb", MEM_BF16, 1);
    struct mem_plan p;
    struct sim_err err = {0};
    c.gpu_memory_utilization = 1.5;
    cr_assert_eq(mem_plan_compute(&p, &c, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'gpu_memory_utilization' must be in (0, 1] (fraction), got '1.5'");
    c.gpu_memory_utilization = 0.9;
    c.kv_cache_dtype = "int8";
    cr_assert_eq(mem_plan_compute(&p, &c, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'kv_cache_dtype' must be 'auto', 'bf16', 'fp16', 'fp8', "
                              "'fp8_e4m3' or 'fp8_e5m2', got 'int8'");
}

Test(memory, dtype_names_round_trip)
{
    static const char *const names[] = {"bf16", "fp16", "fp8", "int8", "int4-awq", "int4-gptq"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        enum mem_dtype d;
        cr_assert_eq(mem_dtype_parse(names[i], &d), SIM_OK);
        cr_assert_str_eq(mem_dtype_name(d), names[i]);
    }
    enum mem_dtype d;
    cr_assert_eq(mem_dtype_parse("BF16", &d), SIM_EINVAL);
    cr_assert_eq(mem_dtype_parse("int4", &d), SIM_EINVAL);
}
