/* paged_attn_ref.c: CPU reference for paged decode and causal prefill attention (GQA),
 * float inputs, double accumulation, exact two-pass softmax. */
#include "kernels/paged_attn.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* The kernels folder links no other project library: fill the caller's record here. */
static int pa_fail(struct sim_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int pa_fail(struct sim_err *err, const char *fmt, ...)
{
    if (err) {
        err->code = SIM_EINVAL;
        err->where[0] = '\0';
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return SIM_EINVAL;
}

struct paged_attn_shape paged_attn_shape_make(int32_t num_heads, int32_t num_kv_heads,
                                              int32_t head_dim, int32_t block_size)
{
    struct paged_attn_shape s = {num_heads, num_kv_heads, head_dim, block_size, 0.0f};
    s.scale = head_dim > 0 ? (float)(1.0 / sqrt((double)head_dim)) : 0.0f;
    return s;
}

int paged_attn_check_shape(const struct paged_attn_shape *s, struct sim_err *err)
{
    if (s->num_heads < 1)
        return pa_fail(err, "'num_heads' must be >= 1 (heads), got '%d'", (int)s->num_heads);
    if (s->num_kv_heads < 1)
        return pa_fail(err, "'num_kv_heads' must be >= 1 (heads), got '%d'", (int)s->num_kv_heads);
    if (s->num_heads % s->num_kv_heads != 0)
        return pa_fail(err, "'num_heads' must be a multiple of 'num_kv_heads' (%d), got '%d'",
                       (int)s->num_kv_heads, (int)s->num_heads);
    if (s->head_dim < 1 || s->head_dim > PAGED_ATTN_MAX_HEAD_DIM)
        return pa_fail(err, "'head_dim' must be in 1..%d (elements), got '%d'",
                       PAGED_ATTN_MAX_HEAD_DIM, (int)s->head_dim);
    if (s->block_size < 1)
        return pa_fail(err, "'block_size' must be >= 1 (tokens), got '%d'", (int)s->block_size);
    if (!(isfinite(s->scale) && s->scale > 0.0f))
        return pa_fail(err, "'scale' must be finite and > 0, got '%g'", (double)s->scale);
    return SIM_OK;
}

/* Offset of element 0 of (token slot, kv head) in a cache. */
static size_t pa_kv_offset(const struct paged_attn_shape *s, int32_t block, int32_t slot,
                           int32_t kvh)
{
    return (((size_t)block * (size_t)s->block_size + (size_t)slot) * (size_t)s->num_kv_heads +
            (size_t)kvh) *
           (size_t)s->head_dim;
}

/*
 * One query vector against the first n_keys tokens of a sequence: two passes (the row
 * maximum, then exp-weighted sums), so no score buffer is needed. The block table was
 * checked by the caller.
 */
static void pa_attend(const struct paged_attn_shape *s, const float *qv, int32_t kvh,
                      int32_t n_keys, const float *k_cache, const float *v_cache,
                      const int32_t *table, float *outv)
{
    const int32_t hd = s->head_dim, bs = s->block_size;
    double acc[PAGED_ATTN_MAX_HEAD_DIM];
    double max_score = -INFINITY;
    for (int32_t t = 0; t < n_keys; t++) {
        const float *kv = k_cache + pa_kv_offset(s, table[t / bs], t % bs, kvh);
        double dot = 0.0;
        for (int32_t d = 0; d < hd; d++)
            dot += (double)qv[d] * (double)kv[d];
        double score = dot * (double)s->scale;
        if (score > max_score)
            max_score = score;
    }
    for (int32_t d = 0; d < hd; d++)
        acc[d] = 0.0;
    double sum = 0.0;
    for (int32_t t = 0; t < n_keys; t++) {
        size_t off = pa_kv_offset(s, table[t / bs], t % bs, kvh);
        const float *kv = k_cache + off, *vv = v_cache + off;
        double dot = 0.0;
        for (int32_t d = 0; d < hd; d++)
            dot += (double)qv[d] * (double)kv[d];
        double p = exp(dot * (double)s->scale - max_score);
        sum += p;
        for (int32_t d = 0; d < hd; d++)
            acc[d] += p * (double)vv[d];
    }
    for (int32_t d = 0; d < hd; d++)
        outv[d] = (float)(acc[d] / sum);
}

/* Check the first n_entries of a block table. `what` names it in the message. */
static int pa_check_table(const int32_t *table, int32_t n_entries, int32_t num_blocks,
                          const char *what, int32_t row, struct sim_err *err)
{
    for (int32_t i = 0; i < n_entries; i++) {
        if (table[i] < 0 || table[i] >= num_blocks) {
            if (row >= 0)
                return pa_fail(err, "'%s[%d][%d]' must be in 0..%d (block id), got '%d'", what,
                               (int)row, (int)i, (int)num_blocks - 1, (int)table[i]);
            return pa_fail(err, "'%s[%d]' must be in 0..%d (block id), got '%d'", what, (int)i,
                           (int)num_blocks - 1, (int)table[i]);
        }
    }
    return SIM_OK;
}

int paged_attn_decode_ref(const struct paged_attn_shape *s, int32_t num_seqs, const float *q,
                          const float *k_cache, const float *v_cache, int32_t num_blocks,
                          const int32_t *block_tables, int32_t max_blocks_per_seq,
                          const int32_t *context_lens, float *out, struct sim_err *err)
{
    int rc = paged_attn_check_shape(s, err);
    if (rc)
        return rc;
    if (num_seqs < 1)
        return pa_fail(err, "'num_seqs' must be >= 1 (sequences), got '%d'", (int)num_seqs);
    if (num_blocks < 1)
        return pa_fail(err, "'num_blocks' must be >= 1 (blocks), got '%d'", (int)num_blocks);
    if (max_blocks_per_seq < 1)
        return pa_fail(err, "'max_blocks_per_seq' must be >= 1 (blocks), got '%d'",
                       (int)max_blocks_per_seq);
    const int64_t max_ctx = (int64_t)max_blocks_per_seq * s->block_size;
    const int32_t group = s->num_heads / s->num_kv_heads;
    for (int32_t seq = 0; seq < num_seqs; seq++) {
        const int32_t len = context_lens[seq];
        if (len < 1 || len > max_ctx)
            return pa_fail(err, "'context_lens[%d]' must be in 1..%lld (tokens), got '%d'",
                           (int)seq, (long long)max_ctx, (int)len);
        const int32_t *table = block_tables + (size_t)seq * (size_t)max_blocks_per_seq;
        rc = pa_check_table(table, (len + s->block_size - 1) / s->block_size, num_blocks,
                            "block_tables", seq, err);
        if (rc)
            return rc;
        for (int32_t h = 0; h < s->num_heads; h++) {
            size_t row = ((size_t)seq * (size_t)s->num_heads + (size_t)h) * (size_t)s->head_dim;
            pa_attend(s, q + row, h / group, len, k_cache, v_cache, table, out + row);
        }
    }
    return SIM_OK;
}

int paged_attn_prefill_ref(const struct paged_attn_shape *s, int32_t num_tokens, int32_t num_cached,
                           const float *q, const float *k_cache, const float *v_cache,
                           int32_t num_blocks, const int32_t *block_table, float *out,
                           struct sim_err *err)
{
    int rc = paged_attn_check_shape(s, err);
    if (rc)
        return rc;
    if (num_tokens < 1)
        return pa_fail(err, "'num_tokens' must be >= 1 (tokens), got '%d'", (int)num_tokens);
    if (num_cached < 0)
        return pa_fail(err, "'num_cached' must be >= 0 (tokens), got '%d'", (int)num_cached);
    if (num_blocks < 1)
        return pa_fail(err, "'num_blocks' must be >= 1 (blocks), got '%d'", (int)num_blocks);
    const int64_t total = (int64_t)num_cached + num_tokens;
    if (total > INT32_MAX - s->block_size)
        return pa_fail(err, "'num_cached + num_tokens' must be <= %d (tokens), got '%lld'",
                       (int)(INT32_MAX - s->block_size), (long long)total);
    rc = pa_check_table(block_table, (int32_t)((total + s->block_size - 1) / s->block_size),
                        num_blocks, "block_table", -1, err);
    if (rc)
        return rc;
    const int32_t group = s->num_heads / s->num_kv_heads;
    for (int32_t i = 0; i < num_tokens; i++) {
        for (int32_t h = 0; h < s->num_heads; h++) {
            size_t row = ((size_t)i * (size_t)s->num_heads + (size_t)h) * (size_t)s->head_dim;
            pa_attend(s, q + row, h / group, num_cached + i + 1, k_cache, v_cache, block_table,
                      out + row);
        }
    }
    return SIM_OK;
}
