/* test_mig.c: MIG profiles from the catalog, layout checks, and vLLM's sizing on a slice,
 * against numbers worked out by hand from nvidia-smi's figures and the memory model. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "models/catalog.h"
#include "models/memory.h"
#include "models/mig.h"

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

TestSuite(mig, .init = setup, .fini = teardown);

static const struct cat_gpu *gpu(const char *id)
{
    const struct cat_gpu *g = catalog_gpu(cat, id, NULL);
    cr_assert_not_null(g);
    return g;
}

Test(mig, catalog_has_the_profiles_of_a100_h100_h200)
{
    const struct cat_gpu *h = gpu("h100-sxm-80gb");
    cr_assert_eq(h->mig.n_profiles, 6);
    cr_assert_eq(h->mig.compute_slices, 7);
    cr_assert_eq(h->mig.memory_slices, 8);
    const struct mig_profile *p = mig_profile_find(&h->mig, "nvidia.com/mig-3g.40gb");
    cr_assert_not_null(p);
    cr_assert_eq(p->compute_slices, 3);
    cr_assert_eq(p->memory_slices, 4);
    cr_assert_float_eq(p->memory_gib, 39.38, 1e-9);
    cr_assert_eq(p->sms, 60);
    cr_assert_eq(p->max_instances, 2);
    cr_assert_eq(p->placements, (1u << 0) | (1u << 4)); /* {0,4}:4 */
    cr_assert_not_null(mig_profile_find(&gpu("a100-sxm-40gb")->mig, "1g.5gb"));
    cr_assert_not_null(mig_profile_find(&gpu("a100-sxm-80gb")->mig, "7g.80gb"));
    cr_assert_not_null(mig_profile_find(&gpu("a100-pcie-80gb")->mig, "1g.20gb"));
    cr_assert_not_null(mig_profile_find(&gpu("h200-sxm-141gb")->mig, "3g.71gb"));
    cr_assert_null(mig_profile_find(&h->mig, "3g.20gb"));
    cr_assert_eq(gpu("l40s")->mig.n_profiles, 0); /* no MIG on Ada */
    cr_assert(strstr(h->mig_sources, "mig-user-guide") != NULL);
}

Test(mig, llama_3_8b_on_an_h100_3g_40gb_slice_gets_9590_blocks)
{
    /*
     * By hand (vLLM V1 sizing as models/memory.h, on the device CUDA shows for the slice):
     *  slice        nvidia-smi mig -lgip on H100 80GB: 3g.40gb = 39.38 GiB
     *               = 39.38 x 2^30 = 42,283,953,029.12 B; x 0.90 = 38,055,557,726.208 B
     *  limits       below 70 GiB vLLM's defaults are 256 sequences and 2048 tokens
     *  weights      16,060,522,496 B (llama-3-8b bf16, as on the whole GPU)
     *  activation   forward 2048 x 2 x (2 x 4096 + 3 x 14336) = 209,715,200;
     *               sampler 2048 x 4096 x 2 + 256 x 128,256 x 20 = 673,447,936 (larger)
     *  reserves     CUDA graphs 1,073,741,824 + non-torch 134,217,728
     *  KV           38,055,557,726.208 - 16,060,522,496 - 673,447,936 - 1,073,741,824
     *               - 134,217,728 = 20,113,627,742.208 B
     *  blocks       floor(20,113,627,742.208 / 2,097,152) = 9,590 (9,590.93)
     * (the whole H100 gets 27,345: tests/models/test_memory.c)
     */
    const struct cat_gpu *h = gpu("h100-sxm-80gb");
    struct cat_gpu slice;
    mig_slice_gpu(h, mig_profile_find(&h->mig, "3g.40gb"), &slice);
    cr_assert_str_eq(slice.id, "h100-sxm-80gb/3g.40gb");
    cr_assert_float_eq(slice.memory_bytes, 42283953029.12, 1e-3);
    struct mem_config c = {catalog_model(cat, "llama-3-8b", NULL), &slice, MEM_BF16, "auto", 1,
                           0.90, 16, 0, 0, 0};
    struct mem_plan p;
    struct sim_err err = {0};
    cr_assert_eq(mem_plan_compute(&p, &c, &err), SIM_OK, "%s", err.msg);
    cr_assert_float_eq(p.budget_bytes, 38055557726.208, 1e-2);
    cr_assert_eq(p.max_num_seqs, 256);
    cr_assert_eq(p.max_num_batched_tokens, 2048);
    cr_assert_float_eq(p.activation_peak_bytes, 673447936.0, 1e-3);
    cr_assert_float_eq(p.kv_cache_bytes, 20113627742.208, 1e-2);
    cr_assert_eq(p.num_gpu_blocks, 9590);
}

Test(mig, a_slice_gets_its_compute_and_bandwidth_shares)
{
    /* 3g.40gb on H100 SXM: 60 of the 7g profile's 132 SMs; 4 of 8 memory slices */
    const struct cat_gpu *h = gpu("h100-sxm-80gb");
    const struct mig_profile *p = mig_profile_find(&h->mig, "3g.40gb");
    struct cat_gpu s;
    mig_slice_gpu(h, p, &s);
    cr_assert_float_eq(mig_compute_fraction(h, p), 60.0 / 132.0, 1e-12);
    cr_assert_float_eq(s.bf16_tflops, 989.0 * 60.0 / 132.0, 1e-9);
    cr_assert_float_eq(s.fp8_tflops, 1979.0 * 60.0 / 132.0, 1e-9);
    cr_assert_float_eq(s.bandwidth_gb_per_s, 3350.0 / 2.0, 1e-9);
    cr_assert(isnan(s.interconnect_gb_per_s)); /* no NVLink/P2P on a MIG instance */
    cr_assert_eq(s.mig.n_profiles, 0);
    /* No SM counts (H100 PCIe): compute slices / 7 */
    const struct cat_gpu *pc = gpu("h100-pcie-80gb");
    cr_assert_float_eq(mig_compute_fraction(pc, mig_profile_find(&pc->mig, "2g.20gb")),
                       2.0 / 7.0, 1e-12);
    /* No memory figure (H200): memory slices / 8 of the card */
    const struct cat_gpu *h2 = gpu("h200-sxm-141gb");
    cr_assert_float_eq(mig_slice_memory_bytes(h2, mig_profile_find(&h2->mig, "3g.71gb")),
                       h2->memory_bytes / 2.0, 1e-3);
}

static struct mig_layout layout(const char *a, int na, const char *b, int nb, const char *c,
                                int nc)
{
    struct mig_layout l = {0};
    const char *names[3] = {a, b, c};
    int counts[3] = {na, nb, nc};
    for (int i = 0; i < 3; i++)
        if (names[i]) {
            snprintf(l.e[l.n].profile, sizeof l.e[l.n].profile, "%s", names[i]);
            l.e[l.n++].count = counts[i];
        }
    return l;
}

Test(mig, valid_layouts_are_accepted)
{
    const struct cat_gpu *h = gpu("h100-sxm-80gb");
    struct sim_err err = {0};
    struct mig_layout ok[] = {
        layout("3g.40gb", 2, NULL, 0, NULL, 0),                /* all-3g.40gb */
        layout("1g.10gb", 7, NULL, 0, NULL, 0),                /* all-1g.10gb */
        layout("4g.40gb", 1, "3g.40gb", 1, NULL, 0),           /* 4 + 3 */
        layout("2g.20gb", 3, "1g.20gb", 1, NULL, 0),           /* 2g at 0,2,4; 1g.20gb at 6 */
        layout("3g.40gb", 1, "2g.20gb", 1, "1g.10gb", 2),      /* all-balanced */
        layout("7g.80gb", 1, NULL, 0, NULL, 0),
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        cr_assert_eq(mig_layout_check(h, &ok[i], &err), SIM_OK, "layout %zu: %s", i, err.msg);
    struct mig_layout l = layout("3g.40gb", 1, "2g.20gb", 1, "1g.10gb", 2);
    cr_assert_eq(mig_layout_count(&l, "1g.10gb"), 2);
    cr_assert_eq(mig_layout_count(&l, "4g.40gb"), 0);
}

Test(mig, invalid_layouts_say_why)
{
    const struct cat_gpu *h = gpu("h100-sxm-80gb");
    struct sim_err err = {0};
    struct mig_layout l = layout("3g.40gb", 2, "1g.10gb", 1, NULL, 0);
    cr_assert_eq(mig_layout_check(h, &l, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg,
                     "the MIG layout cannot be placed on one h100-sxm-80gb: its instances "
                     "need 9 of the 8 memory slices and no placement keeps them apart "
                     "(3g.40gb x2 at {0,4}:4, 1g.10gb x1 at {0,1,2,3,4,5,6}:1; nvidia-smi mig "
                     "-lgipp)");
    l = layout("4g.40gb", 1, "3g.40gb", 1, "1g.10gb", 1);
    cr_assert_eq(mig_layout_check(h, &l, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "the MIG layout needs 8 compute slices; a h100-sxm-80gb has 7");
    l = layout("1g.10gb", 8, NULL, 0, NULL, 0);
    cr_assert_eq(mig_layout_check(h, &l, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "8 instances of 1g.10gb on one h100-sxm-80gb: at most 7 fit "
                              "(nvidia-smi mig -lgip 'Instances Total')");
    l = layout("3g.20gb", 1, NULL, 0, NULL, 0);
    cr_assert_eq(mig_layout_check(h, &l, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'3g.20gb' is not a MIG profile of h100-sxm-80gb (it has: "
                              "1g.10gb, 1g.20gb, 2g.20gb, 3g.40gb, 4g.40gb, 7g.80gb)");
    l = layout("1g.10gb", 1, NULL, 0, NULL, 0);
    cr_assert_eq(mig_layout_check(gpu("l4"), &l, &err), SIM_EINVAL);
    cr_assert(strstr(err.msg, "has no MIG profiles") != NULL);
}

Test(mig, a_bad_mig_entry_in_a_user_catalog_points_at_it)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/llmcap_mig_%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("{\"format\": \"llmcap-catalog\", \"version\": 1, \"gpus\": [{\"id\": \"x100\", "
          "\"name\": \"X\", \"memory_gb\": 80, \"bandwidth_gb_per_s\": 1, \"bf16_tflops\": 1,\n"
          "\"fp16_tflops\": 1, \"fp8_tflops\": 1, \"int8_tops\": 1, \"sources\": [{\"tag\": "
          "\"D\", \"text\": \"t\"}],\n\"mig\": {\"compute_slices\": 7, \"memory_slices\": 8, "
          "\"sources\": [{\"tag\": \"D\", \"text\": \"t\"}], \"profiles\": [\n"
          "{\"name\": \"3g.40gb\", \"compute_slices\": 3, \"memory_slices\": 4, "
          "\"memory_gib\": null, \"max_instances\": 2, \"placements\": [0, 5]}]}}]}\n",
          f);
    fclose(f);
    struct sim_err err = {0};
    cr_assert_eq(catalog_add_file(cat, path, &err), SIM_EINVAL);
    remove(path);
    cr_assert_str_eq(err.msg, "a placement of '3g.40gb' must be an integer in [0, 4] (its 4 "
                              "memory slices must fit the gpu's 8), got '5'");
    cr_assert(strstr(err.where, ":4:") != NULL, "%s", err.where);
}

#include "models/latency.h"

static double step_us(const struct cat_gpu *g, const struct lat_batch *b)
{
    struct lat_context ctx = {.model = "llama-3-8b",
                              .gpu = g->id,
                              .dtype = "bf16",
                              .kv_dtype = "auto",
                              .tensor_parallel_size = 1,
                              .catalog = cat,
                              .gpu_entry = g};
    struct sim_err err = {0};
    struct lat_model *m = lat_roofline_new(&ctx, &err);
    cr_assert_not_null(m, "%s", err.msg);
    double us = lat_step_us(m, b);
    lat_model_free(m);
    return us;
}

Test(mig, the_roofline_on_a_slice_runs_at_the_slices_shares)
{
    /* 3g.40gb on H100 SXM: half the bandwidth, 60/132 of the SMs. A memory-bound decode
     * step (weights and KV read once) takes at most 2x the whole GPU's (only its
     * bandwidth-bound part doubles; fixed costs do not), a compute-bound prefill at most
     * 132/60 = 2.2x; both clearly more than 1.5x. */
    const struct cat_gpu *h = gpu("h100-sxm-80gb");
    struct cat_gpu s;
    mig_slice_gpu(h, mig_profile_find(&h->mig, "3g.40gb"), &s);
    struct lat_batch dec = {.n_decode = 1, .decode_kv_tokens = 1000};
    double rd = step_us(&s, &dec) / step_us(h, &dec);
    cr_log_info("decode ratio %.4f", rd);
    cr_assert(rd > 1.5 && rd <= 2.0 + 1e-9, "decode ratio %g", rd);
    struct lat_batch pre = {.n_prefill = 1, .prefill_tokens = 4096, .prefill_kv_tokens = 4096,
                            .prefill_qk_pairs = 4096LL * 4097 / 2};
    double rp = step_us(&s, &pre) / step_us(h, &pre);
    cr_log_info("prefill ratio %.4f", rp);
    cr_assert(rp > 1.5 && rp <= 132.0 / 60.0 + 1e-9, "prefill ratio %g", rp);
}

Test(mig, llmcap_catalog_mig_lists_each_profile_with_its_placements)
{
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    cr_assert_eq(catalog_write_mig(cat, f), SIM_OK);
    rewind(f);
    char line[256];
    bool seen = false;
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        rows++;
        if (!strncmp(line, "h100-sxm-80gb ", 14) && strstr(line, " 3g.40gb "))
            seen = strstr(line, "3/7") && strstr(line, "4/8") && strstr(line, "39.38") &&
                   strstr(line, " 60 ") && strstr(line, "{0,4}:4");
    }
    fclose(f);
    cr_assert(seen);
    cr_assert_eq(rows, 1 + 6 * 6); /* header + six GPUs with six profiles each */
}
