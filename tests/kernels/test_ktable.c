/* llmcap-kbench's pure-C side: shard shapes, GEMM shapes, grids, median, names, and the
 * latency-table writer read back with cJSON against docs/latency-tables.md. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/ktable.h"

TestSuite(ktable);

/* Shapes by hand from config.json: Llama-3-8B has 32 query heads and 8 KV heads of 128,
 * hidden 4096, intermediate 14336, vocabulary 128256. */
Test(ktable, llama_3_8b_tp1_gemm_shapes)
{
    struct kt_model m;
    struct kt_shard sh;
    struct sim_err err = {0};
    cr_assert_eq(kt_model_builtin("llama-3-8b", &m, &err), SIM_OK);
    cr_assert_eq(m.num_layers, 32);
    cr_assert_eq(kt_shard_make(&m, 1, &sh, &err), SIM_OK);
    struct kt_gemm_shape s = kt_gemm_shape_of(&sh, KT_QKV);
    cr_assert_eq(s.n, (32 + 2 * 8) * 128); /* 6144 */
    cr_assert_eq(s.k, 4096);
    s = kt_gemm_shape_of(&sh, KT_O);
    cr_assert_eq(s.n, 4096);
    cr_assert_eq(s.k, 4096);
    s = kt_gemm_shape_of(&sh, KT_GATE_UP);
    cr_assert_eq(s.n, 28672);
    cr_assert_eq(s.k, 4096);
    s = kt_gemm_shape_of(&sh, KT_DOWN);
    cr_assert_eq(s.n, 4096);
    cr_assert_eq(s.k, 14336);
    s = kt_gemm_shape_of(&sh, KT_LM_HEAD);
    cr_assert_eq(s.n, 128256);
    cr_assert_eq(s.k, 4096);
}

/* Llama-3-70B over 4 GPUs: 64/4 = 16 query heads and 8/4 = 2 KV heads per shard,
 * intermediate 28672/4 = 7168, vocabulary 128256/4 = 32064. */
Test(ktable, llama_3_70b_tp4_shard_shapes)
{
    struct kt_model m;
    struct kt_shard sh;
    struct sim_err err = {0};
    cr_assert_eq(kt_model_builtin("llama-3-70b", &m, &err), SIM_OK);
    cr_assert_eq(kt_shard_make(&m, 4, &sh, &err), SIM_OK);
    cr_assert_eq(sh.num_heads, 16);
    cr_assert_eq(sh.num_kv_heads, 2);
    cr_assert_eq(kt_gemm_shape_of(&sh, KT_QKV).n, (16 + 2 * 2) * 128);
    cr_assert_eq(kt_gemm_shape_of(&sh, KT_QKV).k, 8192);
    cr_assert_eq(kt_gemm_shape_of(&sh, KT_O).k, 16 * 128);
    cr_assert_eq(kt_gemm_shape_of(&sh, KT_GATE_UP).n, 2 * 7168);
    cr_assert_eq(kt_gemm_shape_of(&sh, KT_DOWN).k, 7168);
    cr_assert_eq(kt_gemm_shape_of(&sh, KT_LM_HEAD).n, 32064);
}

/* With more GPUs than KV heads, vLLM keeps one (replicated) KV head per shard. */
Test(ktable, kv_heads_are_replicated_beyond_their_count)
{
    struct kt_model m;
    struct kt_shard sh;
    struct sim_err err = {0};
    cr_assert_eq(kt_model_builtin("llama-3-70b", &m, &err), SIM_OK);
    cr_assert_eq(kt_shard_make(&m, 16, &sh, &err), SIM_OK);
    cr_assert_eq(sh.num_heads, 4);
    cr_assert_eq(sh.num_kv_heads, 1);
    cr_assert_eq(kt_gemm_shape_of(&sh, KT_QKV).n, (4 + 2) * 128);
}

Test(ktable, rejects_tp_that_does_not_split_the_heads)
{
    struct kt_model m;
    struct kt_shard sh;
    struct sim_err err = {0};
    cr_assert_eq(kt_model_builtin("llama-3-8b", &m, &err), SIM_OK);
    cr_assert_eq(kt_shard_make(&m, 3, &sh, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'tp' must divide 'num_heads' (32), got '3'");
    m.num_kv_heads = 6;
    m.num_heads = 48;
    cr_assert_eq(kt_shard_make(&m, 4, &sh, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'tp' must divide or be a multiple of 'num_kv_heads' (6), got '4'");
}

Test(ktable, unknown_model_names_the_built_in_ones)
{
    struct kt_model m;
    struct sim_err err = {0};
    cr_assert_eq(kt_model_builtin("llama-2-7b", &m, &err), SIM_ENOENT);
    cr_assert_str_eq(err.msg, "unknown model 'llama-2-7b' (built-in: llama-3-8b, llama-3-70b)");
    cr_assert_eq(kt_model_builtin_count(), 2);
    cr_assert_str_eq(kt_model_builtin_name(1), "llama-3-70b");
    cr_assert_null(kt_model_builtin_name(2));
}

Test(ktable, grid_parses_increasing_lists)
{
    struct kt_grid g;
    struct sim_err err = {0};
    cr_assert_eq(kt_grid_parse("0,512,1024", "prefill-context", 0, 1 << 20, &g, &err), SIM_OK);
    cr_assert_eq(g.n, 3);
    cr_assert_eq(g.v[0], 0);
    cr_assert_eq(g.v[2], 1024);
}

Test(ktable, grid_rejects_bad_lists_with_messages)
{
    struct kt_grid g;
    struct sim_err err = {0};
    cr_assert_eq(kt_grid_parse("1,4,4", "decode-batch", 1, 4096, &g, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'decode-batch' must be strictly increasing, got '4' after '4'");
    cr_assert_eq(kt_grid_parse("1,x", "decode-batch", 1, 4096, &g, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg,
                     "'decode-batch' must be a comma-separated list of integers, got '1,x'");
    cr_assert_eq(kt_grid_parse("", "decode-batch", 1, 4096, &g, &err), SIM_EINVAL);
    cr_assert_eq(kt_grid_parse("0,8", "decode-batch", 1, 4096, &g, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'decode-batch' values must be in 1..4096, got '0'");
    char many[256] = "1";
    for (int i = 2; i <= 33; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), ",%d", i);
    cr_assert_eq(kt_grid_parse(many, "gemm-tokens", 1, 1 << 20, &g, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'gemm-tokens' must have at most 32 values, got more");
}

Test(ktable, median_of_odd_and_even_counts)
{
    double odd[] = {9.5, 2.385, 7.0};
    cr_assert_eq(kt_median(odd, 3), 7.0);
    double even[] = {4.0, 1.0, 3.0, 10.0}; /* middle two 3 and 4 */
    cr_assert_eq(kt_median(even, 4), 3.5);
}

Test(ktable, gpu_names_map_to_catalog_ids)
{
    cr_assert_str_eq(kt_gpu_catalog_id("NVIDIA H100 80GB HBM3"), "h100-sxm-80gb");
    cr_assert_str_eq(kt_gpu_catalog_id("NVIDIA H200"), "h200-sxm-141gb");
    cr_assert_null(kt_gpu_catalog_id("NVIDIA GeForce RTX 4090"));
}

Test(ktable, driver_version_from_proc_text)
{
    char v[32];
    cr_assert_eq(kt_parse_nvrm_version("NVRM version: NVIDIA UNIX x86_64 Kernel Module  "
                                       "550.54.15  Tue Mar  5 22:23:56 UTC 2024\nGCC version:",
                                       v, sizeof v),
                 0);
    cr_assert_str_eq(v, "550.54.15");
    cr_assert_eq(kt_parse_nvrm_version("NVRM version: NVIDIA UNIX Open Kernel Module for "
                                       "x86_64  570.133.20  Release Build",
                                       v, sizeof v),
                 0);
    cr_assert_str_eq(v, "570.133.20");
    cr_assert_eq(kt_parse_nvrm_version("no module here", v, sizeof v), -1);
    char tiny[4];
    cr_assert_eq(kt_parse_nvrm_version("Kernel Module 550.54.15", tiny, sizeof tiny), -1);
}

Test(ktable, cuda_version_strings)
{
    char v[16];
    kt_cuda_version_string(12040, v, sizeof v);
    cr_assert_str_eq(v, "12.4");
    kt_cuda_version_string(13000, v, sizeof v);
    cr_assert_str_eq(v, "13.0");
}

/* A small but complete table with values that are not round in binary. */
static struct kt_table *sample_table(void)
{
    struct kt_table *t = calloc(1, sizeof *t);
    cr_assert(t);
    struct sim_err err = {0};
    cr_assert_eq(kt_model_builtin("llama-3-70b", &t->model, &err), SIM_OK);
    snprintf(t->prov.gpu, sizeof t->prov.gpu, "NVIDIA \"H100\" 80GB HBM3");
    snprintf(t->prov.gpu_catalog, sizeof t->prov.gpu_catalog, "h100-sxm-80gb");
    snprintf(t->prov.driver, sizeof t->prov.driver, "550.54.15");
    snprintf(t->prov.cuda, sizeof t->prov.cuda, "12.4");
    snprintf(t->prov.date, sizeof t->prov.date, "2026-11-28");
    snprintf(t->prov.tool, sizeof t->prov.tool, "llmcap-kbench 0.1.0");
    snprintf(t->prov.note, sizeof t->prov.note, "line one\nline two");
    t->prov.warmup = 5;
    t->prov.repetitions = 20;
    t->prov.l2_flush = true;
    t->prov.seed = 7;
    snprintf(t->dtype, sizeof t->dtype, "bf16");
    t->tensor_parallel_size = 4;
    t->block_size = 16;
    const int32_t gt[] = {1, 16, 256}, db[] = {1, 8}, dc[] = {128, 1024, 8192}, pt[] = {16, 512},
                  pc[] = {0, 2048};
    kt_grid_set(&t->gemm_tokens, gt, 3);
    kt_grid_set(&t->decode_batch, db, 2);
    kt_grid_set(&t->decode_context, dc, 3);
    kt_grid_set(&t->prefill_tokens, pt, 2);
    kt_grid_set(&t->prefill_context, pc, 2);
    for (int g = 0; g < KT_GEMM_N; g++)
        for (int i = 0; i < 3; i++)
            t->gemm_us[g][i] = 2.385 * (g + 1) + 0.1 * i;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            t->decode_us[i][j] = 10.0 / 3.0 + i * 7.0 + j;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            t->prefill_us[i][j] = 1e-3 + i * 1234.5678 + j;
    return t;
}

static cJSON *write_and_parse(const struct kt_table *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert(f);
    struct sim_err err = {0};
    cr_assert_eq(kt_table_write(f, t, &err), SIM_OK, "%s", err.msg);
    fclose(f);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(buf, &end, 1);
    cr_assert_not_null(root, "not JSON near offset %td", end ? end - buf : -1);
    free(buf);
    return root;
}

static cJSON *at(const cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert_not_null(v, "missing '%s'", key);
    return v;
}

Test(ktable, written_table_follows_the_format_and_round_trips)
{
    struct kt_table *t = sample_table();
    cJSON *root = write_and_parse(t);
    cr_assert_str_eq(at(root, "format")->valuestring, "llmcap-latency-table");
    cr_assert_eq(at(root, "version")->valueint, 1);
    cJSON *prov = at(root, "provenance");
    cr_assert_str_eq(at(prov, "kind")->valuestring, "measured");
    cr_assert_str_eq(at(prov, "gpu")->valuestring, "NVIDIA \"H100\" 80GB HBM3");
    cr_assert_str_eq(at(prov, "date")->valuestring, "2026-11-28");
    cr_assert_str_eq(at(prov, "note")->valuestring, "line one\nline two");
    cJSON *settings = at(prov, "settings");
    cr_assert_eq(at(settings, "warmup")->valueint, 5);
    cr_assert_eq(at(settings, "repetitions")->valueint, 20);
    cr_assert_str_eq(at(settings, "statistic")->valuestring, "median");
    cr_assert(cJSON_IsTrue(at(settings, "l2_flush")));
    cJSON *model = at(root, "model");
    cr_assert_str_eq(at(model, "name")->valuestring, "llama-3-70b");
    cr_assert_str_eq(at(model, "kv_cache_dtype")->valuestring, "bf16");
    cr_assert_eq(at(model, "tensor_parallel_size")->valueint, 4);
    cr_assert_eq(at(model, "num_heads")->valueint, 64); /* whole model, not per shard */
    cr_assert_eq(at(model, "vocab_size")->valueint, 128256);
    cr_assert_eq(at(root, "block_size")->valueint, 16);
    cJSON *ops = at(root, "operators");
    cJSON *gemm = at(ops, "gemm");
    cr_assert_eq(cJSON_GetArraySize(at(gemm, "tokens")), 3);
    cJSON *gus = at(gemm, "us");
    const char *names[] = {"qkv_proj", "o_proj", "gate_up_proj", "down_proj", "lm_head"};
    int gi = 0;
    for (cJSON *it = gus->child; it; it = it->next, gi++) {
        cr_assert_str_eq(it->string, names[gi]); /* fixed order */
        cr_assert_eq(cJSON_GetArraySize(it), 3);
        for (int i = 0; i < 3; i++) /* %.17g: exact round trip */
            cr_assert_eq(cJSON_GetArrayItem(it, i)->valuedouble, t->gemm_us[gi][i]);
    }
    cr_assert_eq(gi, 5);
    cJSON *dec = at(ops, "decode_attention");
    cr_assert_eq(cJSON_GetArrayItem(at(dec, "context_tokens"), 2)->valueint, 8192);
    cJSON *dus = at(dec, "us");
    cr_assert_eq(cJSON_GetArraySize(dus), 2);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetArrayItem(dus, 1)), 3);
    cr_assert_eq(cJSON_GetArrayItem(cJSON_GetArrayItem(dus, 1), 2)->valuedouble,
                 t->decode_us[1][2]);
    cJSON *pre = at(ops, "prefill_attention");
    cr_assert_eq(cJSON_GetArrayItem(at(pre, "context_tokens"), 0)->valueint, 0);
    cr_assert_eq(cJSON_GetArrayItem(cJSON_GetArrayItem(at(pre, "us"), 1), 0)->valuedouble,
                 t->prefill_us[1][0]);
    cJSON_Delete(root);
    free(t);
}

Test(ktable, writer_rejects_a_zero_time_and_writes_nothing)
{
    struct kt_table *t = sample_table();
    t->decode_us[1][2] = 0.0;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct sim_err err = {0};
    cr_assert_eq(kt_table_write(f, t, &err), SIM_EINVAL);
    fclose(f);
    cr_assert_eq(len, 0);
    cr_assert_str_eq(err.msg,
                     "'operators.decode_attention.us[1][2]' must be finite and > 0 (us), got '0'");
    free(buf);
    free(t);
}

Test(ktable, writer_rejects_missing_provenance_and_bad_grids)
{
    struct kt_table *t = sample_table();
    struct sim_err err = {0};
    FILE *f = fopen("/dev/null", "w");
    cr_assert(f);
    t->prov.driver[0] = '\0';
    cr_assert_eq(kt_table_write(f, t, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'provenance.driver' must not be empty for a measured table");
    snprintf(t->prov.driver, sizeof t->prov.driver, "550.54.15");
    snprintf(t->prov.date, sizeof t->prov.date, "2026-13-01");
    cr_assert_eq(kt_table_write(f, t, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'provenance.date' must be YYYY-MM-DD, got '2026-13-01'");
    snprintf(t->prov.date, sizeof t->prov.date, "2026-11-28");
    t->decode_batch.v[1] = 1;
    cr_assert_eq(kt_table_write(f, t, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg,
                     "'operators.decode_attention.batch' must be strictly increasing, got '1' "
                     "after '1'");
    t->decode_batch.v[1] = 8;
    t->gemm_us[KT_LM_HEAD][0] = NAN;
    cr_assert_eq(kt_table_write(f, t, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg,
                     "'operators.gemm.us.lm_head[0]' must be finite and > 0 (us), got 'nan'");
    t->gemm_us[KT_LM_HEAD][0] = 1.0;
    t->prefill_context.v[0] = -1;
    cr_assert_eq(kt_table_write(f, t, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg,
                     "'operators.prefill_attention.context_tokens[0]' must be >= 0, got '-1'");
    fclose(f);
    free(t);
}
