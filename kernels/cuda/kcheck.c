/* kcheck.c: run the CUDA attention kernels and the CPU reference on the same random,
 * dtype-rounded inputs and compare. */
#include "kernels/cuda/kcheck.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

static int kc_fail(struct sim_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int kc_fail(struct sim_err *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    err->where[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    /* va_start is right above: the analyzer loses it in this file (a known false positive) */
    // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

/* DEC(name, heads, kv heads, head_dim, block, partition, seqs, {context lens})
 * PRE(name, heads, kv heads, head_dim, block, new tokens, cached tokens, kv splits) */
#define DEC(nm, h, kv, hd, bs, part, n, ...)                                                       \
    {                                                                                              \
        .name = (nm), .kind = KCHECK_DECODE, .num_heads = (h), .num_kv_heads = (kv),               \
        .head_dim = (hd), .block_size = (bs), .num_seqs = (n), .context_lens = __VA_ARGS__,        \
        .partition_tokens = (part)                                                                 \
    }
#define PRE(nm, h, kv, hd, bs, t, c, sp)                                                           \
    {                                                                                              \
        .name = (nm), .kind = KCHECK_PREFILL, .num_heads = (h), .num_kv_heads = (kv),              \
        .head_dim = (hd), .block_size = (bs), .num_tokens = (t), .num_cached = (c),                \
        .kv_splits = (sp)                                                                          \
    }

static const struct kcheck_case kc_cases[] = {
    DEC("decode mha d64 bs16 ragged", 8, 8, 64, 16, 0, 8, {1, 15, 16, 17, 200, 511, 512, 513}),
    DEC("decode gqa4 d128 bs16 (llama-3-8b)", 32, 8, 128, 16, 0, 5, {1, 100, 1000, 2047, 4096}),
    DEC("decode gqa8 d128 bs32 (llama-3-70b tp4)", 16, 2, 128, 32, 0, 4, {33, 513, 3000, 1}),
    DEC("decode gqa8 d128 bs16 split 128", 16, 2, 128, 16, 128, 4, {1000, 129, 128, 5}),
    DEC("decode gqa3 d64 bs32 split 64", 12, 4, 64, 32, 64, 4, {300, 64, 65, 2}),
    DEC("decode gqa16 d128 bs16", 32, 2, 128, 16, 0, 2, {700, 9}),
    DEC("decode gqa4 d128 bs32 one partition", 8, 2, 128, 32, 512, 3, {512, 1, 300}),
    PRE("prefill gqa4 d128 bs16 no cache", 32, 8, 128, 16, 100, 0, 0),
    PRE("prefill gqa4 d128 bs16 cached", 32, 8, 128, 16, 64, 200, 0),
    PRE("prefill gqa8 d128 bs32 cached", 16, 2, 128, 32, 130, 1000, 0),
    PRE("prefill mha d64 bs32", 8, 8, 64, 32, 200, 33, 0),
    PRE("prefill gqa3 d64 bs16 one token", 12, 4, 64, 16, 1, 37, 0),
    PRE("prefill gqa4 d128 bs16 long", 8, 2, 128, 16, 700, 300, 0),
    PRE("prefill gqa4 d128 bs16 split 5", 32, 8, 128, 16, 64, 2000, 5),
    PRE("prefill gqa8 d64 bs32 short chunk auto split", 16, 2, 64, 32, 16, 4000, 0),
};

static const struct kcheck_case kc_small_cases[] = {
    DEC("decode mha d64 bs16 auto split", 2, 2, 64, 16, 0, 4, {1, 15, 17, 130}),
    DEC("decode gqa4 d128 bs16 one partition", 8, 2, 128, 16, 512, 3, {1, 40, 300}),
    DEC("decode gqa8 d128 bs32 split 64", 8, 1, 128, 32, 64, 2, {65, 200}),
    DEC("decode gqa3 d64 bs32 auto", 6, 2, 64, 32, 0, 2, {33, 100}),
    DEC("decode gqa16 d64 bs16 auto", 16, 1, 64, 16, 0, 1, {50}),
    PRE("prefill gqa4 d128 bs16 no cache", 4, 1, 128, 16, 70, 0, 0),
    PRE("prefill gqa2 d64 bs32 cached", 2, 1, 64, 32, 20, 100, 0),
    PRE("prefill mha d128 bs32 one token", 2, 2, 128, 32, 1, 37, 0),
    PRE("prefill gqa2 d64 bs16 three tiles", 2, 1, 64, 16, 130, 64, 0),
    PRE("prefill gqa2 d64 bs16 split 3", 2, 1, 64, 16, 20, 300, 3),
    PRE("prefill mha d128 bs32 auto split", 2, 2, 128, 32, 70, 600, 0),
};
#undef DEC
#undef PRE

size_t kcheck_cases(const struct kcheck_case **cases)
{
    *cases = kc_cases;
    return sizeof kc_cases / sizeof kc_cases[0];
}

size_t kcheck_small_cases(const struct kcheck_case **cases)
{
    *cases = kc_small_cases;
    return sizeof kc_small_cases / sizeof kc_small_cases[0];
}

double kcheck_tolerance(enum kern_dtype dt)
{
    return dt == KERN_BF16 ? 8e-3 : 1e-3;
}

/* splitmix64: test data only (the simulator's streams live in sim/core/rng.c) */
static uint64_t kc_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float kc_uniform(uint64_t *state, float lo, float hi)
{
    return lo + (hi - lo) * (float)((double)(kc_next(state) >> 11) * 0x1.0p-53);
}

/* Everything one case allocates; released in reverse by kc_release(). */
struct kc_bufs {
    float *hq, *hk, *hv, *hout, *href;
    int32_t *htables;
    float *dq32, *dk32, *dv32, *dout32;
    void *dq, *dk, *dv, *dout, *dws;
    int32_t *dtables, *dlens;
};

static void kc_release(struct kc_bufs *b)
{
    cudaFree(b->dlens);
    cudaFree(b->dtables);
    cudaFree(b->dws);
    cudaFree(b->dout);
    cudaFree(b->dv);
    cudaFree(b->dk);
    cudaFree(b->dq);
    cudaFree(b->dout32);
    cudaFree(b->dv32);
    cudaFree(b->dk32);
    cudaFree(b->dq32);
    free(b->htables);
    free(b->href);
    free(b->hout);
    free(b->hv);
    free(b->hk);
    free(b->hq);
}

#define KC_CUDA(call)                                                                              \
    do {                                                                                           \
        cudaError_t kc_rc_ = (call);                                                               \
        if (kc_rc_ != cudaSuccess) {                                                               \
            rc = kc_fail(err, SIM_EIO, "CUDA error in '%s': %s", #call,                            \
                         cudaGetErrorString(kc_rc_));                                              \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

/* Upload n floats, round them to the dtype on the device, and read the rounded values
 * back into `host` so that the reference sees what the kernel sees. */
static cudaError_t kc_upload_rounded(float *host, float *d32, void *dlow, enum kern_dtype dt,
                                     size_t n)
{
    cudaError_t rc = cudaMemcpy(d32, host, n * sizeof *host, cudaMemcpyHostToDevice);
    if (rc == cudaSuccess)
        rc = kern_from_f32(dlow, dt, d32, n, 0);
    if (rc == cudaSuccess)
        rc = kern_to_f32(d32, dlow, dt, n, 0);
    if (rc == cudaSuccess)
        rc = cudaMemcpy(host, d32, n * sizeof *host, cudaMemcpyDeviceToHost);
    return rc;
}

int kcheck_run(const struct kcheck_case *c, enum kern_dtype dt, uint64_t seed,
               struct kcheck_result *r, struct sim_err *err)
{
    struct paged_attn_shape s =
        paged_attn_shape_make(c->num_heads, c->num_kv_heads, c->head_dim, c->block_size);
    if (!kern_shape_supported(&s))
        return kc_fail(err, SIM_EINVAL, "case '%s': shape not supported by the CUDA kernels",
                       c->name);
    const bool decode = c->kind == KCHECK_DECODE;
    const int32_t bs = c->block_size;
    const int32_t n_seqs = decode ? c->num_seqs : 1;
    if (n_seqs < 1 || n_seqs > KCHECK_MAX_SEQS)
        return kc_fail(err, SIM_EINVAL, "case '%s': 'num_seqs' must be in 1..%d, got '%d'", c->name,
                       KCHECK_MAX_SEQS, (int)n_seqs);
    int32_t lens[KCHECK_MAX_SEQS], max_len = 0;
    for (int32_t i = 0; i < n_seqs; i++) {
        lens[i] = decode ? c->context_lens[i] : c->num_cached + c->num_tokens;
        max_len = lens[i] > max_len ? lens[i] : max_len;
    }
    const int32_t max_blocks = (max_len + bs - 1) / bs;
    int32_t used_blocks = 0;
    for (int32_t i = 0; i < n_seqs; i++)
        used_blocks += (lens[i] + bs - 1) / bs;
    const int32_t num_blocks = used_blocks + 5; /* a few that nobody owns */
    const size_t row = (size_t)s.num_heads * (size_t)s.head_dim;
    const size_t n_q = (decode ? (size_t)n_seqs : (size_t)c->num_tokens) * row;
    const size_t n_kv =
        (size_t)num_blocks * (size_t)bs * (size_t)s.num_kv_heads * (size_t)s.head_dim;
    const size_t n_tab = (size_t)n_seqs * (size_t)max_blocks;
    uint64_t st = seed;
    int rc = SIM_OK;
    struct kc_bufs b;
    memset(&b, 0, sizeof b);

    b.hq = malloc(n_q * sizeof *b.hq);
    b.hk = malloc(n_kv * sizeof *b.hk);
    b.hv = malloc(n_kv * sizeof *b.hv);
    b.hout = malloc(n_q * sizeof *b.hout);
    b.href = malloc(n_q * sizeof *b.href);
    b.htables = malloc(n_tab * sizeof *b.htables);
    int32_t *perm = calloc((size_t)num_blocks, sizeof *perm);
    if (!b.hq || !b.hk || !b.hv || !b.hout || !b.href || !b.htables || !perm) {
        free(perm);
        rc = kc_fail(err, SIM_ENOMEM, "case '%s': out of host memory", c->name);
        goto fail;
    }
    /* random physical placement (Fisher-Yates), NaN wherever no sequence owns a slot */
    for (int32_t i = 0; i < num_blocks; i++)
        perm[i] = i;
    for (int32_t i = num_blocks - 1; i > 0; i--) {
        int32_t k = (int32_t)(kc_next(&st) % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[k];
        perm[k] = t;
    }
    for (size_t i = 0; i < n_kv; i++)
        b.hk[i] = b.hv[i] = NAN;
    for (size_t i = 0; i < n_tab; i++)
        b.htables[i] = -1; /* never read: entries past a context */
    {
        int32_t next = 0;
        const size_t tok = (size_t)s.num_kv_heads * (size_t)s.head_dim;
        for (int32_t seq = 0; seq < n_seqs; seq++) {
            for (int32_t t = 0; t < lens[seq]; t++) {
                if (t % bs == 0)
                    b.htables[(size_t)seq * (size_t)max_blocks + (size_t)(t / bs)] = perm[next++];
                const int32_t blk = b.htables[(size_t)seq * (size_t)max_blocks + (size_t)(t / bs)];
                float *kp = b.hk + ((size_t)blk * (size_t)bs + (size_t)(t % bs)) * tok;
                float *vp = b.hv + ((size_t)blk * (size_t)bs + (size_t)(t % bs)) * tok;
                for (size_t e = 0; e < tok; e++) {
                    kp[e] = kc_uniform(&st, -1.0f, 1.0f);
                    vp[e] = kc_uniform(&st, -1.0f, 1.0f);
                }
            }
        }
    }
    free(perm);
    for (size_t i = 0; i < n_q; i++)
        b.hq[i] = kc_uniform(&st, -8.0f, 8.0f);

    KC_CUDA(cudaMalloc((void **)&b.dq32, n_q * sizeof(float)));
    KC_CUDA(cudaMalloc((void **)&b.dk32, n_kv * sizeof(float)));
    KC_CUDA(cudaMalloc((void **)&b.dv32, n_kv * sizeof(float)));
    KC_CUDA(cudaMalloc((void **)&b.dout32, n_q * sizeof(float)));
    KC_CUDA(cudaMalloc(&b.dq, n_q * 2));
    KC_CUDA(cudaMalloc(&b.dk, n_kv * 2));
    KC_CUDA(cudaMalloc(&b.dv, n_kv * 2));
    KC_CUDA(cudaMalloc(&b.dout, n_q * 2));
    KC_CUDA(cudaMalloc((void **)&b.dtables, n_tab * sizeof(int32_t)));
    KC_CUDA(cudaMalloc((void **)&b.dlens, (size_t)n_seqs * sizeof(int32_t)));
    KC_CUDA(kc_upload_rounded(b.hq, b.dq32, b.dq, dt, n_q));
    KC_CUDA(kc_upload_rounded(b.hk, b.dk32, b.dk, dt, n_kv));
    KC_CUDA(kc_upload_rounded(b.hv, b.dv32, b.dv, dt, n_kv));
    KC_CUDA(cudaMemcpy(b.dtables, b.htables, n_tab * sizeof(int32_t), cudaMemcpyHostToDevice));
    KC_CUDA(cudaMemcpy(b.dlens, lens, (size_t)n_seqs * sizeof(int32_t), cudaMemcpyHostToDevice));
    KC_CUDA(cudaMemset(b.dout, 0xff, n_q * 2)); /* NaN in both dtypes: unwritten shows */

    if (decode) {
        int32_t part = c->partition_tokens;
        if (part == 0) {
            int dev = 0, sms = 0;
            KC_CUDA(cudaGetDevice(&dev));
            KC_CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
            part = kern_decode_partition_tokens(&s, n_seqs, max_len, sms);
        }
        size_t ws = kern_decode_workspace_bytes(&s, n_seqs, max_len, part);
        if (ws)
            KC_CUDA(cudaMalloc(&b.dws, ws));
        KC_CUDA(kern_decode(&s, dt, b.dout, b.dq, b.dk, b.dv, b.dtables, max_blocks, b.dlens,
                            n_seqs, max_len, part, b.dws, ws, 0));
    } else {
        int32_t splits = c->kv_splits;
        if (splits == 0) {
            int dev = 0, sms = 0;
            KC_CUDA(cudaGetDevice(&dev));
            KC_CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
            splits = kern_prefill_splits(&s, c->num_tokens, c->num_cached, sms);
        }
        size_t ws = kern_prefill_workspace_bytes(&s, c->num_tokens, c->num_cached, splits);
        if (ws)
            KC_CUDA(cudaMalloc(&b.dws, ws));
        KC_CUDA(kern_prefill(&s, dt, b.dout, b.dq, b.dk, b.dv, b.dtables, c->num_tokens,
                             c->num_cached, splits, b.dws, ws, 0));
    }
    KC_CUDA(kern_to_f32(b.dout32, b.dout, dt, n_q, 0));
    KC_CUDA(cudaMemcpy(b.hout, b.dout32, n_q * sizeof(float), cudaMemcpyDeviceToHost));
    KC_CUDA(cudaDeviceSynchronize());

    rc = decode ? paged_attn_decode_ref(&s, n_seqs, b.hq, b.hk, b.hv, num_blocks, b.htables,
                                        max_blocks, lens, b.href, err)
                : paged_attn_prefill_ref(&s, c->num_tokens, c->num_cached, b.hq, b.hk, b.hv,
                                         num_blocks, b.htables, b.href, err);
    if (rc)
        goto fail;
    r->max_abs_err = 0.0;
    r->max_abs_ref = 0.0;
    r->n_values = n_q;
    r->tolerance = kcheck_tolerance(dt);
    for (size_t i = 0; i < n_q; i++) {
        double e = fabs((double)b.hout[i] - (double)b.href[i]);
        if (!isfinite(b.hout[i]))
            e = INFINITY;
        r->max_abs_err = e > r->max_abs_err ? e : r->max_abs_err;
        double a = fabs((double)b.href[i]);
        r->max_abs_ref = a > r->max_abs_ref ? a : r->max_abs_ref;
    }
    r->pass = r->max_abs_err <= r->tolerance;
fail:
    kc_release(&b);
    return rc;
}
