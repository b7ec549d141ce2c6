/* ktable.c: model shapes per shard, GEMM shapes, grids, the median and the latency-table
 * writer of llmcap-kbench (plain fprintf JSON, fixed key order, %.17g). */
#include "kernels/ktable.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int kt_fail(struct sim_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int kt_fail(struct sim_err *err, int code, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        err->where[0] = '\0';
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Shapes from the models' config.json on Hugging Face (meta-llama/Meta-Llama-3-8B and
 * -70B): hidden_size, num_attention_heads, num_key_value_heads, intermediate_size,
 * num_hidden_layers, vocab_size; head_dim = hidden_size / num_attention_heads. */
static const struct kt_model kt_builtin[] = {
    {"llama-3-8b", 32, 4096, 32, 8, 128, 14336, 128256},
    {"llama-3-70b", 80, 8192, 64, 8, 128, 28672, 128256},
};

size_t kt_model_builtin_count(void)
{
    return sizeof kt_builtin / sizeof kt_builtin[0];
}

const char *kt_model_builtin_name(size_t i)
{
    return i < kt_model_builtin_count() ? kt_builtin[i].name : NULL;
}

int kt_model_builtin(const char *name, struct kt_model *m, struct sim_err *err)
{
    for (size_t i = 0; i < kt_model_builtin_count(); i++) {
        if (strcmp(name, kt_builtin[i].name) == 0) {
            *m = kt_builtin[i];
            return SIM_OK;
        }
    }
    return kt_fail(err, SIM_ENOENT, "unknown model '%s' (built-in: llama-3-8b, llama-3-70b)", name);
}

int kt_model_check(const struct kt_model *m, struct sim_err *err)
{
    if (!m->name[0])
        return kt_fail(err, SIM_EINVAL, "'model.name' must not be empty");
    const struct {
        const char *key;
        int32_t v;
    } counts[] = {
        {"num_layers", m->num_layers}, {"hidden_size", m->hidden_size},
        {"num_heads", m->num_heads},   {"num_kv_heads", m->num_kv_heads},
        {"head_dim", m->head_dim},     {"intermediate_size", m->intermediate_size},
        {"vocab_size", m->vocab_size},
    };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        if (counts[i].v < 1)
            return kt_fail(err, SIM_EINVAL, "'model.%s' must be >= 1, got '%d'", counts[i].key,
                           (int)counts[i].v);
    if (m->num_heads % m->num_kv_heads != 0)
        return kt_fail(err, SIM_EINVAL,
                       "'model.num_heads' must be a multiple of 'model.num_kv_heads' (%d), "
                       "got '%d'",
                       (int)m->num_kv_heads, (int)m->num_heads);
    return SIM_OK;
}

int kt_shard_make(const struct kt_model *m, int32_t tp, struct kt_shard *sh, struct sim_err *err)
{
    int rc = kt_model_check(m, err);
    if (rc)
        return rc;
    if (tp < 1 || tp > 64)
        return kt_fail(err, SIM_EINVAL, "'tp' must be in 1..64 (GPUs), got '%d'", (int)tp);
    if (m->num_heads % tp != 0)
        return kt_fail(err, SIM_EINVAL, "'tp' must divide 'num_heads' (%d), got '%d'",
                       (int)m->num_heads, (int)tp);
    if (m->intermediate_size % tp != 0)
        return kt_fail(err, SIM_EINVAL, "'tp' must divide 'intermediate_size' (%d), got '%d'",
                       (int)m->intermediate_size, (int)tp);
    int32_t kv;
    if (m->num_kv_heads % tp == 0)
        kv = m->num_kv_heads / tp;
    else if (tp % m->num_kv_heads == 0)
        kv = 1; /* vLLM replicates KV heads when there are fewer than GPUs */
    else
        return kt_fail(err, SIM_EINVAL,
                       "'tp' must divide or be a multiple of 'num_kv_heads' (%d), got '%d'",
                       (int)m->num_kv_heads, (int)tp);
    sh->tp = tp;
    sh->num_heads = m->num_heads / tp;
    sh->num_kv_heads = kv;
    sh->head_dim = m->head_dim;
    sh->hidden_size = m->hidden_size;
    sh->intermediate_size = m->intermediate_size / tp;
    sh->vocab_size = (m->vocab_size + tp - 1) / tp;
    return SIM_OK;
}

struct kt_gemm_shape kt_gemm_shape_of(const struct kt_shard *sh, enum kt_gemm g)
{
    const int64_t hd = sh->head_dim, hidden = sh->hidden_size;
    struct kt_gemm_shape s = {0, 0};
    switch (g) {
    case KT_QKV: /* fused Q, K and V projections of this shard's heads */
        s.n = ((int64_t)sh->num_heads + 2 * (int64_t)sh->num_kv_heads) * hd;
        s.k = hidden;
        break;
    case KT_O: /* row-parallel: this shard's heads in, the full hidden size out */
        s.n = hidden;
        s.k = (int64_t)sh->num_heads * hd;
        break;
    case KT_GATE_UP: /* fused gate and up projections */
        s.n = 2 * (int64_t)sh->intermediate_size;
        s.k = hidden;
        break;
    case KT_DOWN:
        s.n = hidden;
        s.k = sh->intermediate_size;
        break;
    case KT_LM_HEAD: /* vocabulary-parallel */
        s.n = sh->vocab_size;
        s.k = hidden;
        break;
    case KT_GEMM_N:
        break;
    }
    return s;
}

const char *kt_gemm_name(enum kt_gemm g)
{
    static const char *const names[KT_GEMM_N] = {"qkv_proj", "o_proj", "gate_up_proj", "down_proj",
                                                 "lm_head"};
    return (unsigned)g < KT_GEMM_N ? names[g] : "?";
}

int kt_grid_parse(const char *text, const char *key, int32_t min, int32_t max, struct kt_grid *g,
                  struct sim_err *err)
{
    g->n = 0;
    const char *p = text;
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || (*end && *end != ','))
            return kt_fail(err, SIM_EINVAL,
                           "'%s' must be a comma-separated list of integers, got '%s'", key, text);
        if (v < min || v > max)
            return kt_fail(err, SIM_EINVAL, "'%s' values must be in %d..%d, got '%ld'", key,
                           (int)min, (int)max, v);
        if (g->n == KT_MAX_GRID)
            return kt_fail(err, SIM_EINVAL, "'%s' must have at most %d values, got more", key,
                           KT_MAX_GRID);
        if (g->n > 0 && v <= g->v[g->n - 1])
            return kt_fail(err, SIM_EINVAL,
                           "'%s' must be strictly increasing, got '%ld' after '%d'", key, v,
                           (int)g->v[g->n - 1]);
        g->v[g->n++] = (int32_t)v;
        if (!*end)
            return SIM_OK;
        p = end + 1;
    }
}

void kt_grid_set(struct kt_grid *g, const int32_t *v, size_t n)
{
    g->n = n;
    for (size_t i = 0; i < n; i++)
        g->v[i] = v[i];
}

static int kt_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double kt_median(double *x, size_t n)
{
    qsort(x, n, sizeof *x, kt_cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

const char *kt_gpu_catalog_id(const char *device_name)
{
    static const struct {
        const char *device, *id;
    } map[] = {
        {"NVIDIA H100 80GB HBM3", "h100-sxm-80gb"},
        {"NVIDIA H100 PCIe", "h100-pcie-80gb"},
        {"NVIDIA H100 NVL", "h100-nvl-94gb"},
        {"NVIDIA H200", "h200-sxm-141gb"},
        {"NVIDIA A100-SXM4-80GB", "a100-sxm-80gb"},
        {"NVIDIA A100-SXM4-40GB", "a100-sxm-40gb"},
        {"NVIDIA A100 80GB PCIe", "a100-pcie-80gb"},
        {"NVIDIA A100-PCIE-40GB", "a100-pcie-40gb"},
        {"NVIDIA L40S", "l40s-48gb"},
        {"NVIDIA L4", "l4-24gb"},
        {"NVIDIA A10G", "a10g-24gb"},
        {"NVIDIA A10", "a10-24gb"},
        {"Tesla T4", "t4-16gb"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(device_name, map[i].device) == 0)
            return map[i].id;
    return NULL;
}

int kt_parse_nvrm_version(const char *text, char *out, size_t n)
{
    const char *p = strstr(text, "Kernel Module");
    if (!p)
        return -1;
    p += strlen("Kernel Module");
    /* "Kernel Module  550.54.15" or "Kernel Module for x86_64  550.54.15": the first word
     * after it that starts with a digit and has a dot. */
    while (*p && *p != '\n') {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *w = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        size_t len = (size_t)(p - w);
        if (len > 0 && isdigit((unsigned char)w[0]) && memchr(w, '.', len)) {
            if (len >= n)
                return -1;
            memcpy(out, w, len);
            out[len] = '\0';
            return 0;
        }
    }
    return -1;
}

void kt_cuda_version_string(int version, char *out, size_t n)
{
    snprintf(out, n, "%d.%d", version / 1000, (version % 1000) / 10);
}

/* --- writer ------------------------------------------------------------------------- */

static int kt_check_grid(const struct kt_grid *g, const char *key, bool allow_zero,
                         struct sim_err *err)
{
    if (g->n < 1 || g->n > KT_MAX_GRID)
        return kt_fail(err, SIM_EINVAL, "'%s' must have 1..%d values, got '%zu'", key, KT_MAX_GRID,
                       g->n);
    for (size_t i = 0; i < g->n; i++) {
        int32_t lo = (allow_zero && i == 0) ? 0 : 1;
        if (g->v[i] < lo)
            return kt_fail(err, SIM_EINVAL, "'%s[%zu]' must be >= %d, got '%d'", key, i, (int)lo,
                           (int)g->v[i]);
        if (i > 0 && g->v[i] <= g->v[i - 1])
            return kt_fail(err, SIM_EINVAL, "'%s' must be strictly increasing, got '%d' after '%d'",
                           key, (int)g->v[i], (int)g->v[i - 1]);
    }
    return SIM_OK;
}

static int kt_check_us(double v, const char *key, size_t i, size_t j, bool two, struct sim_err *err)
{
    if (isfinite(v) && v > 0.0)
        return SIM_OK;
    if (two)
        return kt_fail(err, SIM_EINVAL, "'%s[%zu][%zu]' must be finite and > 0 (us), got '%g'", key,
                       i, j, v);
    return kt_fail(err, SIM_EINVAL, "'%s[%zu]' must be finite and > 0 (us), got '%g'", key, i, v);
}

static bool kt_is_date(const char *s)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return false;
    int mon = (s[5] - '0') * 10 + (s[6] - '0'), day = (s[8] - '0') * 10 + (s[9] - '0');
    return mon >= 1 && mon <= 12 && day >= 1 && day <= 31;
}

static int kt_check_table(const struct kt_table *t, struct sim_err *err)
{
    const struct kt_provenance *p = &t->prov;
    const struct {
        const char *key, *v;
    } req[] = {{"provenance.gpu", p->gpu},       {"provenance.gpu_catalog", p->gpu_catalog},
               {"provenance.driver", p->driver}, {"provenance.cuda", p->cuda},
               {"provenance.date", p->date},     {"provenance.tool", p->tool}};
    for (size_t i = 0; i < sizeof req / sizeof req[0]; i++)
        if (!req[i].v[0])
            return kt_fail(err, SIM_EINVAL, "'%s' must not be empty for a measured table",
                           req[i].key);
    if (!kt_is_date(p->date))
        return kt_fail(err, SIM_EINVAL, "'provenance.date' must be YYYY-MM-DD, got '%s'", p->date);
    if (p->warmup < 0 || p->repetitions < 1)
        return kt_fail(err, SIM_EINVAL,
                       "'provenance.settings' must have warmup >= 0 and repetitions >= 1, "
                       "got '%d' and '%d'",
                       (int)p->warmup, (int)p->repetitions);
    int rc = kt_model_check(&t->model, err);
    if (rc)
        return rc;
    if (strcmp(t->dtype, "bf16") != 0 && strcmp(t->dtype, "fp16") != 0)
        return kt_fail(err, SIM_EINVAL, "'model.dtype' must be 'bf16' or 'fp16', got '%s'",
                       t->dtype);
    if (t->tensor_parallel_size < 1)
        return kt_fail(err, SIM_EINVAL, "'model.tensor_parallel_size' must be >= 1, got '%d'",
                       (int)t->tensor_parallel_size);
    if (t->block_size < 1)
        return kt_fail(err, SIM_EINVAL, "'block_size' must be >= 1 (tokens), got '%d'",
                       (int)t->block_size);
    if ((rc = kt_check_grid(&t->gemm_tokens, "operators.gemm.tokens", false, err)) ||
        (rc = kt_check_grid(&t->decode_batch, "operators.decode_attention.batch", false, err)) ||
        (rc = kt_check_grid(&t->decode_context, "operators.decode_attention.context_tokens", false,
                            err)) ||
        (rc =
             kt_check_grid(&t->prefill_tokens, "operators.prefill_attention.tokens", false, err)) ||
        (rc = kt_check_grid(&t->prefill_context, "operators.prefill_attention.context_tokens", true,
                            err)))
        return rc;
    char key[96];
    for (int g = 0; g < KT_GEMM_N; g++) {
        snprintf(key, sizeof key, "operators.gemm.us.%s", kt_gemm_name((enum kt_gemm)g));
        for (size_t i = 0; i < t->gemm_tokens.n; i++)
            if ((rc = kt_check_us(t->gemm_us[g][i], key, i, 0, false, err)))
                return rc;
    }
    for (size_t i = 0; i < t->decode_batch.n; i++)
        for (size_t j = 0; j < t->decode_context.n; j++)
            if ((rc = kt_check_us(t->decode_us[i][j], "operators.decode_attention.us", i, j, true,
                                  err)))
                return rc;
    for (size_t i = 0; i < t->prefill_tokens.n; i++)
        for (size_t j = 0; j < t->prefill_context.n; j++)
            if ((rc = kt_check_us(t->prefill_us[i][j], "operators.prefill_attention.us", i, j, true,
                                  err)))
                return rc;
    return SIM_OK;
}

/* A JSON string literal: quotes, backslashes and control characters escaped. */
static void kt_put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", (unsigned)*p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void kt_put_grid(FILE *f, const struct kt_grid *g)
{
    fputc('[', f);
    for (size_t i = 0; i < g->n; i++)
        fprintf(f, "%s%d", i ? ", " : "", (int)g->v[i]);
    fputc(']', f);
}

static void kt_put_doubles(FILE *f, const double *v, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%.17g", i ? ", " : "", v[i]);
    fputc(']', f);
}

static void kt_put_matrix(FILE *f, const double (*m)[KT_MAX_GRID], size_t rows, size_t cols)
{
    fputs("[\n", f);
    for (size_t i = 0; i < rows; i++) {
        fputs("        ", f);
        kt_put_doubles(f, m[i], cols);
        fputs(i + 1 < rows ? ",\n" : "\n", f);
    }
    fputs("      ]", f);
}

int kt_table_write(FILE *f, const struct kt_table *t, struct sim_err *err)
{
    int rc = kt_check_table(t, err);
    if (rc)
        return rc;
    const struct kt_provenance *p = &t->prov;
    const struct kt_model *m = &t->model;
    fputs("{\n  \"format\": \"llmcap-latency-table\",\n  \"version\": 1,\n", f);
    fputs("  \"provenance\": {\n    \"kind\": \"measured\",\n    \"gpu\": ", f);
    kt_put_string(f, p->gpu);
    fputs(",\n    \"gpu_catalog\": ", f);
    kt_put_string(f, p->gpu_catalog);
    fputs(",\n    \"driver\": ", f);
    kt_put_string(f, p->driver);
    fputs(",\n    \"cuda\": ", f);
    kt_put_string(f, p->cuda);
    fputs(",\n    \"date\": ", f);
    kt_put_string(f, p->date);
    fputs(",\n    \"tool\": ", f);
    kt_put_string(f, p->tool);
    fprintf(f,
            ",\n    \"settings\": {\"warmup\": %d, \"repetitions\": %d, \"statistic\": "
            "\"median\", \"clocks\": \"default\", \"timer\": \"cuda-events\", \"l2_flush\": "
            "%s, \"seed\": %llu, \"decode_partition_tokens\": %d,\n      \"decode_kernel\": ",
            (int)p->warmup, (int)p->repetitions, p->l2_flush ? "true" : "false",
            (unsigned long long)p->seed, (int)p->decode_partition_tokens);
    kt_put_string(f, p->decode_kernel);
    fputs(",\n      \"prefill_kernel\": ", f);
    kt_put_string(f, p->prefill_kernel);
    fputs(",\n      \"gemm\": ", f);
    kt_put_string(f, p->gemm);
    fputs(",\n      \"git\": ", f);
    kt_put_string(f, p->git);
    fputs("},\n    \"source\": \"\",\n    \"note\": ", f);
    kt_put_string(f, p->note);
    fputs("\n  },\n  \"model\": {\n    \"name\": ", f);
    kt_put_string(f, m->name);
    fprintf(f,
            ", \"dtype\": \"%s\", \"kv_cache_dtype\": \"%s\",\n"
            "    \"tensor_parallel_size\": %d, \"num_layers\": %d, \"hidden_size\": %d,\n"
            "    \"num_heads\": %d, \"num_kv_heads\": %d, \"head_dim\": %d,\n"
            "    \"intermediate_size\": %d, \"vocab_size\": %d\n  },\n",
            t->dtype, t->dtype, (int)t->tensor_parallel_size, (int)m->num_layers,
            (int)m->hidden_size, (int)m->num_heads, (int)m->num_kv_heads, (int)m->head_dim,
            (int)m->intermediate_size, (int)m->vocab_size);
    fprintf(f, "  \"block_size\": %d,\n  \"operators\": {\n", (int)t->block_size);
    fputs("    \"gemm\": {\n      \"tokens\": ", f);
    kt_put_grid(f, &t->gemm_tokens);
    fputs(",\n      \"us\": {\n", f);
    for (int g = 0; g < KT_GEMM_N; g++) {
        fprintf(f, "        \"%s\": ", kt_gemm_name((enum kt_gemm)g));
        kt_put_doubles(f, t->gemm_us[g], t->gemm_tokens.n);
        fputs(g + 1 < KT_GEMM_N ? ",\n" : "\n", f);
    }
    fputs("      }\n    },\n    \"decode_attention\": {\n      \"batch\": ", f);
    kt_put_grid(f, &t->decode_batch);
    fputs(",\n      \"context_tokens\": ", f);
    kt_put_grid(f, &t->decode_context);
    fputs(",\n      \"us\": ", f);
    kt_put_matrix(f, t->decode_us, t->decode_batch.n, t->decode_context.n);
    fputs("\n    },\n    \"prefill_attention\": {\n      \"tokens\": ", f);
    kt_put_grid(f, &t->prefill_tokens);
    fputs(",\n      \"context_tokens\": ", f);
    kt_put_grid(f, &t->prefill_context);
    fputs(",\n      \"us\": ", f);
    kt_put_matrix(f, t->prefill_us, t->prefill_tokens.n, t->prefill_context.n);
    fputs("\n    }\n  }\n}\n", f);
    if (fflush(f) != 0 || ferror(f))
        return kt_fail(err, SIM_EIO, "cannot write the latency table: %s", strerror(errno));
    return SIM_OK;
}
