/*
 * gen_roofline_tables.c: write a latency table (docs/latency-tables.md) from the
 * roofline, with provenance kind "roofline". Deterministic: the same catalog and the
 * same committed efficiencies give the same bytes. Built and run by
 * models/tools/gen_roofline_tables.sh; never writes a "measured" table.
 *
 *   gen_roofline_tables GPU MODEL DTYPE KV_CACHE_DTYPE TP OUT.json
 */
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/catalog.h"
#include "models/memory.h"
#include "models/roofline.h"

static const double gemm_tokens[] = {1,   2,   4,    8,    16,   32,   64,   128,
                                     256, 512, 1024, 2048, 4096, 8192, 16384};
static const double dec_batch[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
static const double dec_ctx[] = {16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384};
static const double pre_tokens[] = {16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384};
static const double pre_ctx[] = {0, 512, 1024, 2048, 4096, 8192};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void axis(FILE *f, const char *indent, const char *key, const double *v, size_t n,
                 const char *end)
{
    fprintf(f, "%s\"%s\": [", indent, key);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%.17g", i ? ", " : "", v[i]);
    fprintf(f, "]%s\n", end);
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    if (argc != 7) {
        fprintf(stderr, "usage: gen_roofline_tables GPU MODEL DTYPE KV_CACHE_DTYPE TP OUT.json\n");
        return 2;
    }
    const char *gpu = argv[1], *model = argv[2], *dtype = argv[3], *kv = argv[4];
    int tp = atoi(argv[5]);
    struct sim_err err = {0};
    struct catalog *c = catalog_new(NULL, &err);
    if (!c) {
        fprintf(stderr, "gen_roofline_tables: %s: %s\n", err.where, err.msg);
        return 2;
    }
    const struct cat_gpu *g = catalog_gpu(c, gpu, &err);
    const struct cat_model *m = g ? catalog_model(c, model, &err) : NULL;
    enum mem_dtype d;
    int kv_bytes;
    struct roofline r;
    if (!g || !m) {
        fprintf(stderr, "gen_roofline_tables: %s\n", err.msg);
        goto fail;
    }
    if (mem_dtype_parse(dtype, &d) || mem_kv_dtype_bytes(kv, &kv_bytes)) {
        fprintf(stderr, "gen_roofline_tables: bad dtype '%s' or kv_cache_dtype '%s'\n", dtype,
                kv);
        goto fail;
    }
    if (roofline_init(&r, m, g, d, kv_bytes, tp, NULL, &err)) {
        fprintf(stderr, "gen_roofline_tables: %s\n", err.msg);
        goto fail;
    }
    struct roof_params p;
    roof_params_fitted(g, &p);
    FILE *f = fopen(argv[6], "w");
    if (!f) {
        perror(argv[6]);
        goto fail;
    }
    const char *kvname = kv_bytes == 1 ? "fp8" : (d == MEM_FP16 ? "fp16" : "bf16");
    fprintf(f, "{\n  \"format\": \"llmcap-latency-table\",\n  \"version\": 1,\n");
    fprintf(f, "  \"provenance\": {\n    \"kind\": \"roofline\",\n");
    fprintf(f, "    \"gpu_catalog\": \"%s\",\n", g->id);
    fprintf(f, "    \"tool\": \"models/tools/gen_roofline_tables v%d\",\n", ROOF_VERSION);
    fprintf(f,
            "    \"note\": \"MODELLED, NOT MEASURED: roofline v%d (%s); gemm_mfu %.4f, mem_eff "
            "%.4f, attn_mem_eff %.4f, attn_mfu %.4f; the step model's terms (layer_us, "
            "launch_us, host_us, host_seq_us, frontend_us) are the roofline's\"\n",
            ROOF_VERSION, roof_params_fit_note(), p.gemm_mfu, p.mem_eff, p.attn_mem_eff,
            p.attn_mfu);
    fprintf(f, "  },\n");
    fprintf(f,
            "  \"model\": {\n    \"name\": \"%s\", \"dtype\": \"%s\", \"kv_cache_dtype\": "
            "\"%s\",\n    \"tensor_parallel_size\": %d, \"num_layers\": %d, \"hidden_size\": "
            "%d,\n    \"num_heads\": %d, \"num_kv_heads\": %d, \"head_dim\": %d,\n    "
            "\"intermediate_size\": %d, \"vocab_size\": %d\n  },\n",
            m->id, mem_dtype_name(d), kvname, tp, m->num_layers, m->hidden_size, m->num_heads,
            m->num_kv_heads, m->head_dim, m->intermediate_size, m->vocab_size);
    fprintf(f, "  \"block_size\": 16,\n  \"operators\": {\n    \"gemm\": {\n");
    axis(f, "      ", "tokens", gemm_tokens, N(gemm_tokens), ",");
    fprintf(f, "      \"us\": {\n");
    static const char *const names[ROOF_N_GEMM] = {"qkv_proj", "o_proj", "gate_up_proj",
                                                   "down_proj", "lm_head"};
    for (int op = 0; op < ROOF_N_GEMM; op++) {
        double v[N(gemm_tokens)];
        for (size_t i = 0; i < N(gemm_tokens); i++)
            v[i] = roofline_gemm_us(&r, (enum roof_gemm)op, gemm_tokens[i]);
        axis(f, "        ", names[op], v, N(gemm_tokens), op + 1 < ROOF_N_GEMM ? "," : "");
    }
    fprintf(f, "      }\n    },\n    \"decode_attention\": {\n");
    axis(f, "      ", "batch", dec_batch, N(dec_batch), ",");
    axis(f, "      ", "context_tokens", dec_ctx, N(dec_ctx), ",");
    fprintf(f, "      \"us\": [\n");
    for (size_t b = 0; b < N(dec_batch); b++) {
        fprintf(f, "        [");
        for (size_t k = 0; k < N(dec_ctx); k++)
            fprintf(f, "%s%.17g", k ? ", " : "",
                    roofline_decode_attn_us(&r, dec_batch[b], dec_ctx[k]));
        fprintf(f, "]%s\n", b + 1 < N(dec_batch) ? "," : "");
    }
    fprintf(f, "      ]\n    },\n    \"prefill_attention\": {\n");
    axis(f, "      ", "tokens", pre_tokens, N(pre_tokens), ",");
    axis(f, "      ", "context_tokens", pre_ctx, N(pre_ctx), ",");
    fprintf(f, "      \"us\": [\n");
    for (size_t t = 0; t < N(pre_tokens); t++) {
        fprintf(f, "        [");
        for (size_t k = 0; k < N(pre_ctx); k++)
            fprintf(f, "%s%.17g", k ? ", " : "",
                    roofline_prefill_attn_us(&r, pre_tokens[t], pre_ctx[k]));
        fprintf(f, "]%s\n", t + 1 < N(pre_tokens) ? "," : "");
    }
    fprintf(f, "      ]\n    },\n");
    if (tp > 1) {
        double v[N(gemm_tokens)];
        for (size_t i = 0; i < N(gemm_tokens); i++)
            v[i] = roofline_allreduce_us(&r, gemm_tokens[i]);
        fprintf(f, "    \"allreduce\": {\n");
        axis(f, "      ", "tokens", gemm_tokens, N(gemm_tokens), ",");
        axis(f, "      ", "us", v, N(gemm_tokens), "");
        fprintf(f, "    },\n");
    }
    fprintf(f,
            "    \"layer_us\": %.17g,\n    \"launch_us\": %.17g,\n    \"host_us\": %.17g,\n"
            "    \"host_seq_us\": %.17g,\n    \"frontend_us\": %.17g\n  }\n}\n",
            p.layer_us, p.launch_us, p.host_us, p.host_seq_us, p.frontend_us);
    if (fclose(f)) {
        perror(argv[6]);
        goto fail;
    }
    catalog_free(c);
    return 0;
fail:
    catalog_free(c);
    return 2;
}
