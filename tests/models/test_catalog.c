/* test_catalog.c: the built-in catalogs, lookups, user overrides and bad files. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/catalog.h"

#define CAT FIXTURES "/catalog/"

static struct catalog *load(void)
{
    struct sim_err err = {0};
    struct catalog *c = catalog_new(SOURCE_DIR "/models/data", &err);
    cr_assert_not_null(c, "%s: %s", err.where, err.msg);
    return c;
}

Test(catalog, loads_every_built_in_row)
{
    struct catalog *c = load();
    /* counts of the rows in models/data: 12 GPUs, 28 AWS (g4dn.xlarge, g5.* 8, g6.* 8,
     * g6e.* 8, p4d, p5 2) + 14 Azure instances, 11 models */
    cr_assert_eq(catalog_n_gpus(c), 12);
    cr_assert_eq(catalog_n_instances(c), 42);
    cr_assert_eq(catalog_n_models(c), 11);
    catalog_free(c);
}

Test(catalog, lists_in_id_order)
{
    struct catalog *c = load();
    for (size_t i = 1; i < catalog_n_gpus(c); i++)
        cr_assert_lt(strcmp(catalog_gpu_at(c, i - 1)->id, catalog_gpu_at(c, i)->id), 0);
    cr_assert_str_eq(catalog_gpu_at(c, 0)->id, "a10");
    cr_assert_null(catalog_gpu_at(c, catalog_n_gpus(c)));
    catalog_free(c);
}

Test(catalog, looks_ids_up_case_insensitively)
{
    struct catalog *c = load();
    struct sim_err err = {0};
    const struct cat_gpu *g = catalog_gpu(c, "H100-SXM-80GB", &err);
    cr_assert_not_null(g);
    cr_assert_str_eq(g->id, "h100-sxm-80gb");
    const struct cat_instance *in = catalog_instance(c, "standard_nc24ads_a100_v4", &err);
    cr_assert_not_null(in);
    cr_assert_str_eq(in->id, "Standard_NC24ads_A100_v4"); /* as Azure spells it */
    cr_assert_str_eq(in->gpu, "a100-pcie-80gb");
    catalog_free(c);
}

Test(catalog, gpu_rows_keep_published_values_and_sources)
{
    struct catalog *c = load();
    const struct cat_gpu *g = catalog_gpu(c, "h100-sxm-80gb", NULL);
    /* reference section 1: 80 GB HBM3, 3.35 TB/s, 989 dense BF16, 1,979 dense FP8, 700 W */
    cr_assert_float_eq(g->memory_gb, 80.0, 1e-12);
    cr_assert_float_eq(g->bandwidth_gb_per_s, 3350.0, 1e-12);
    cr_assert_float_eq(g->bf16_tflops, 989.0, 1e-12);
    cr_assert_float_eq(g->fp8_tflops, 1979.0, 1e-12);
    cr_assert_float_eq(g->tdp_w, 700.0, 1e-12);
    cr_assert_str_eq(g->arch, "hopper");
    cr_assert(strstr(g->sources, "[P] flashinfer-ai/flashinfer-ai.github.io") != NULL);
    cr_assert(strncmp(g->sources, "[S] glennklockwood.com", 22) == 0);
    catalog_free(c);
}

Test(catalog, not_found_values_are_nan_and_missing_features_are_flagged)
{
    struct catalog *c = load();
    const struct cat_gpu *a10g = catalog_gpu(c, "a10g", NULL);
    cr_assert(isnan(a10g->bf16_tflops)); /* [NF] in the reference: never guessed */
    cr_assert(isnan(a10g->tdp_w));
    const struct cat_gpu *t4 = catalog_gpu(c, "t4", NULL);
    cr_assert_not(t4->bf16_supported);
    cr_assert_not(t4->fp8_supported);
    cr_assert_float_eq(t4->fp16_tflops, 65.0, 1e-12);
    const struct cat_gpu *a100 = catalog_gpu(c, "a100-sxm-80gb", NULL);
    cr_assert_not(a100->fp8_supported);
    cr_assert(a100->int8_supported);
    catalog_free(c);
}

Test(catalog, sizing_memory_follows_the_label_then_the_memory_type)
{
    struct catalog *c = load();
    /* H100: Karpenter label 81920 MiB = 85,899,345,920 B */
    cr_assert_float_eq(catalog_gpu(c, "h100-sxm-80gb", NULL)->memory_bytes, 85899345920.0, 0.5);
    /* L4: label 22888 MiB = 23,999,807,488 B */
    cr_assert_float_eq(catalog_gpu(c, "l4", NULL)->memory_bytes, 23999807488.0, 0.5);
    /* H200: no label, HBM: 141 x 2^30 = 151,397,597,184 B */
    cr_assert_float_eq(catalog_gpu(c, "h200-sxm-141gb", NULL)->memory_bytes, 151397597184.0,
                       0.5);
    /* A10 (Azure): no label, GDDR6: 24 x 10^9 B */
    cr_assert_float_eq(catalog_gpu(c, "a10", NULL)->memory_bytes, 24e9, 0.5);
    catalog_free(c);
}

Test(catalog, spot_min_and_median_leave_out_flagged_zones)
{
    struct catalog *c = load();
    const struct cat_instance *p5 = catalog_instance(c, "p5.48xlarge", NULL);
    cr_assert_eq(p5->n_spot_zones, 7);
    /* eligible: az2 19.2531, az3 21.1543, az5 25.7522, az6 17.6289 (az1/az4 at the
     * on-demand 55.04 and the atl2 local zone are flagged): min 17.6289, median of the
     * middle two (19.2531 + 21.1543) / 2 = 20.2037 */
    cr_assert_float_eq(p5->spot_min_usd_per_hour, 17.6289, 1e-9);
    cr_assert_float_eq(p5->spot_median_usd_per_hour, 20.2037, 1e-9);
    cr_assert_float_eq(p5->on_demand_usd_per_hour, 55.04, 1e-9);
    cr_assert_str_eq(p5->on_demand_date, "2026-07-20");
    cr_assert_float_eq(p5->spot_notice_s, 120.0, 1e-9);
    /* g5.xlarge: 0.4246 0.4259 0.4360 0.4364 0.4507 -> median 0.4360 */
    const struct cat_instance *g5 = catalog_instance(c, "g5.xlarge", NULL);
    cr_assert_float_eq(g5->spot_median_usd_per_hour, 0.4360, 1e-9);
    /* no real spot price: Azure H100 (the catalog repeats on-demand) */
    const struct cat_instance *nc40 = catalog_instance(c, "Standard_NC40ads_H100_v5", NULL);
    cr_assert_eq(nc40->n_spot_zones, 0);
    cr_assert(isnan(nc40->spot_min_usd_per_hour));
    cr_assert_float_eq(nc40->spot_notice_s, 30.0, 1e-9);
    catalog_free(c);
}

Test(catalog, model_parameter_counts_match_the_reference)
{
    struct catalog *c = load();
    /* reference section 4 [D] params, 1e9 */
    static const struct {
        const char *id;
        double total, active;
    } want[] = {
        {"llama-2-7b", 6.74, 6.74},    {"llama-2-13b", 13.02, 13.02},
        {"llama-2-70b", 68.98, 68.98}, {"llama-3-8b", 8.03, 8.03},
        {"llama-3-70b", 70.55, 70.55}, {"mistral-7b", 7.24, 7.24},
        {"mixtral-8x7b", 46.70, 12.88}, {"qwen2.5-7b", 7.62, 7.62},
        {"qwen2.5-72b", 72.71, 72.71},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct cat_model *m = catalog_model(c, want[i].id, NULL);
        cr_assert_not_null(m, "%s", want[i].id);
        cr_assert_float_eq(m->params_total_b, want[i].total, 1e-9, "%s", want[i].id);
        cr_assert_float_eq(m->params_active_b, want[i].active, 1e-9, "%s", want[i].id);
    }
    const struct cat_model *mx = catalog_model(c, "mixtral-8x7b", NULL);
    cr_assert_eq(mx->num_experts, 8);
    cr_assert_eq(mx->experts_top_k, 2);
    cr_assert_eq(mx->max_position_embeddings, 0); /* not collected */
    cr_assert_eq(catalog_model(c, "llama-3.1-8b", NULL)->max_position_embeddings, 131072);
    catalog_free(c);
}

Test(catalog, unknown_gpu_suggests_names_containing_the_query)
{
    struct catalog *c = load();
    struct sim_err err = {0};
    cr_assert_null(catalog_gpu(c, "h100", &err));
    cr_assert_eq(err.code, SIM_ENOENT);
    /* containing 'h100', shortest first, ties in listing order */
    cr_assert_str_eq(err.msg, "unknown gpu 'h100'; did you mean 'h100-nvl-94gb', "
                              "'h100-sxm-80gb' or 'h100-pcie-80gb'? (see 'llmcap catalog "
                              "gpus')");
    catalog_free(c);
}

Test(catalog, unknown_model_suggests_the_close_spelling)
{
    struct catalog *c = load();
    struct sim_err err = {0};
    cr_assert_null(catalog_model(c, "lama-3-8b", &err));
    cr_assert_str_eq(err.msg, "unknown model 'lama-3-8b'; did you mean 'llama-3-8b'? (see "
                              "'llmcap catalog models')");
    cr_assert_null(catalog_instance(c, "zzz", &err));
    cr_assert_str_eq(err.msg, "unknown instance type 'zzz' (see 'llmcap catalog instances')");
    catalog_free(c);
}

Test(catalog, user_file_overrides_and_adds_by_id)
{
    struct catalog *c = load();
    struct sim_err err = {0};
    cr_assert_eq(catalog_add_file(c, CAT "user.json", &err), SIM_OK, "%s: %s", err.where,
                 err.msg);
    cr_assert_eq(catalog_n_gpus(c), 13);
    cr_assert_eq(catalog_n_models(c), 12);
    cr_assert_eq(catalog_n_instances(c), 43);
    const struct cat_gpu *h = catalog_gpu(c, "h100-sxm-80gb", NULL);
    cr_assert_float_eq(h->bandwidth_gb_per_s, 3352.0, 1e-12); /* the user's value */
    cr_assert_str_eq(h->sources, "[P] flashinfer blog (3,352 GB/s)");
    cr_assert_str_eq(h->origin, CAT "user.json");
    const struct cat_gpu *r = catalog_gpu(c, "rtx-6000-ada", NULL);
    cr_assert_not_null(r);
    cr_assert(isnan(r->int8_tops));
    cr_assert_float_eq(r->memory_bytes, 48e9, 0.5); /* GDDR6, no label: decimal GB */
    const struct cat_instance *box = catalog_instance(c, "MY.GPU.BOX", NULL);
    cr_assert_not_null(box);
    cr_assert_eq(box->n_gpus, 2);
    cr_assert_eq(catalog_model(c, "tiny-1b", NULL)->num_layers, 16);
    /* listing stays sorted after the merge */
    for (size_t i = 1; i < catalog_n_gpus(c); i++)
        cr_assert_lt(strcmp(catalog_gpu_at(c, i - 1)->id, catalog_gpu_at(c, i)->id), 0);
    catalog_free(c);
}

struct bad_case {
    const char *file;
    const char *where;
    const char *msg;
};

static void expect_bad(const struct bad_case *b)
{
    struct catalog *c = load();
    struct sim_err err = {0};
    cr_assert_eq(catalog_add_file(c, b->file, &err), SIM_EINVAL, "%s", b->file);
    cr_assert_str_eq(err.where, b->where);
    cr_assert_str_eq(err.msg, b->msg);
    /* nothing was applied */
    cr_assert_eq(catalog_n_gpus(c), 12);
    cr_assert_float_eq(catalog_gpu(c, "h100-sxm-80gb", NULL)->bandwidth_gb_per_s, 3350.0,
                       1e-12);
    catalog_free(c);
}

Test(catalog, rejects_unknown_key_at_the_key)
{
    struct bad_case b = {CAT "bad_unknown_key.json", CAT "bad_unknown_key.json:19:7",
                         "unknown key 'bandwith_gb_per_s' in a gpu (did you mean "
                         "'bandwidth_gb_per_s'?)"};
    expect_bad(&b);
}

Test(catalog, rejects_entry_without_sources)
{
    struct bad_case b = {CAT "bad_missing_sources.json", CAT "bad_missing_sources.json:26:5",
                         "missing 'sources' (every entry names its sources)"};
    expect_bad(&b);
}

Test(catalog, rejects_instance_of_unknown_gpu)
{
    struct bad_case b = {CAT "bad_instance_gpu.json", CAT "bad_instance_gpu.json:35:50",
                         "instance 'my.gpu.box' names gpu 'rtx-6000', which is not in the "
                         "catalog"};
    expect_bad(&b);
}

Test(catalog, rejects_out_of_range_value)
{
    struct bad_case b = {CAT "bad_range.json", CAT "bad_range.json:18:20",
                         "'memory_gb' must be in [0.001, 1e+06] (GB), got '-48'"};
    expect_bad(&b);
}

Test(catalog, rejects_wrong_type)
{
    struct bad_case b = {CAT "bad_type.json", CAT "bad_type.json:35:76",
                         "'n_gpus' must be an integer (GPUs), got a string 'two'"};
    expect_bad(&b);
}

Test(catalog, rejects_unknown_source_tag)
{
    struct bad_case b = {CAT "bad_tag.json", CAT "bad_tag.json:38:39",
                         "source 'tag' must be 'P' (primary), 'S' (secondary) or 'D' "
                         "(derived), got 'X'"};
    expect_bad(&b);
}

Test(catalog, rejects_json_syntax_error_with_line_and_column)
{
    struct bad_case b = {CAT "bad_syntax.json", CAT "bad_syntax.json:35:79",
                         "invalid JSON near '\"vcpu\": 32, \"mem'"};
    expect_bad(&b);
}

Test(catalog, rejects_wrong_format_tag)
{
    struct bad_case b = {CAT "bad_format.json", CAT "bad_format.json:2:13",
                         "'format' must be 'llmcap-catalog', got 'llmcap-catalogue'"};
    expect_bad(&b);
}

Test(catalog, rejects_kv_heads_that_do_not_divide_heads)
{
    struct bad_case b = {CAT "bad_kv_heads.json", CAT "bad_kv_heads.json:28:79",
                         "'num_kv_heads' must divide 'num_heads' (32), got '12'"};
    expect_bad(&b);
}

Test(catalog, rejects_duplicate_id_in_one_file)
{
    struct bad_case b = {CAT "bad_duplicate.json", CAT "bad_duplicate.json:16:13",
                         "duplicate id 'h100-sxm-80gb' in 'gpus'"};
    expect_bad(&b);
}

Test(catalog, rejects_bad_price_date)
{
    struct bad_case b = {CAT "bad_date.json", CAT "bad_date.json:37:73",
                         "'date' must be YYYY-MM-DD, got 'Nov 2026'"};
    expect_bad(&b);
}

Test(catalog, missing_file_is_enoent)
{
    struct catalog *c = load();
    struct sim_err err = {0};
    cr_assert_eq(catalog_add_file(c, CAT "no_such.json", &err), SIM_ENOENT);
    cr_assert_str_eq(err.where, CAT "no_such.json");
    cr_assert_str_eq(err.msg, "cannot open '" CAT "no_such.json': no such file or directory");
    catalog_free(c);
}

Test(catalog, missing_data_dir_names_the_file)
{
    struct sim_err err = {0};
    cr_assert_null(catalog_new(FIXTURES "/no_such_dir", &err));
    cr_assert_eq(err.code, SIM_ENOENT);
    cr_assert_str_eq(err.where, FIXTURES "/no_such_dir/gpus.json");
}

Test(catalog, data_dir_comes_from_the_environment_when_set)
{
    setenv("LLMCAP_DATA_DIR", "/somewhere/data", 1);
    cr_assert_str_eq(catalog_default_dir(), "/somewhere/data");
    setenv("LLMCAP_DATA_DIR", "", 1);
    cr_assert_str_eq(catalog_default_dir(), SOURCE_DIR "/models/data");
}

static char *capture(int (*write)(const struct catalog *, FILE *), const struct catalog *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    cr_assert_eq(write(c, f), SIM_OK);
    fclose(f);
    return buf;
}

Test(catalog, model_listing_has_fixed_columns)
{
    struct catalog *c = load();
    char *out = capture(catalog_write_models, c);
    const char *header = "id             layers  hidden  heads  kv_heads  head_dim  "
                         "intermediate   vocab  max_pos  experts  params_b  "
                         "kv_kib_per_token_16bit\n";
    cr_assert(strncmp(out, header, strlen(header)) == 0, "%s", out);
    /* 2 x 32 layers x 8 KV heads x 128 x 2 B = 131072 B = 128 KiB per token */
    cr_assert(strstr(out, "\nllama-3-8b         32    4096     32         8       128         "
                          "14336  128256     8192        -      8.03                     128\n"),
              "%s", out);
    cr_assert(strstr(out, "  8x top2  ") != NULL);
    char *again = capture(catalog_write_models, c);
    cr_assert_str_eq(out, again); /* deterministic */
    free(out);
    free(again);
    catalog_free(c);
}

Test(catalog, gpu_listing_marks_not_found_and_unsupported)
{
    struct catalog *c = load();
    char *out = capture(catalog_write_gpus, c);
    /* a10g: bf16 not found "-", fp8 unsupported "n/a" */
    cr_assert(strstr(out, "\na10g                   24  GDDR6                  600            -  "
                          "       n/a          -      -                      -  S,P\n"),
              "%s", out);
    char *inst = capture(catalog_write_instances, c);
    cr_assert(strstr(inst, "\np5.48xlarge                aws    h100-sxm-80gb        8   192  "
                           "      2048                   55.04                17.6289       "
                           "            20.2037  us-east-1\n"),
              "%s", inst);
    free(out);
    free(inst);
    catalog_free(c);
}
