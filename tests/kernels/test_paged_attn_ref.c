/* The CPU paged-attention reference against a naive dense attention written here
 * independently (gather K/V contiguously, full score vector, softmax, weighted sum). */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/paged_attn.h"

static void init(void)
{
    gsl_set_error_handler_off();
}

TestSuite(paged_attn_ref, .init = init);

/* A paged cache with every sequence's blocks scattered by a random permutation. */
struct fixture {
    struct paged_attn_shape s;
    int32_t num_blocks, max_blocks;
    float *k, *v;
    int32_t *tables; /* [n_seqs][max_blocks] */
};

static float *rand_floats(gsl_rng *r, size_t n, double lo, double hi)
{
    float *x = malloc(n * sizeof *x);
    cr_assert(x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(lo + (hi - lo) * gsl_rng_uniform(r));
    return x;
}

static void fixture_init(struct fixture *f, gsl_rng *r, struct paged_attn_shape s, int32_t n_seqs,
                         int32_t max_ctx)
{
    f->s = s;
    f->max_blocks = (max_ctx + s.block_size - 1) / s.block_size;
    f->num_blocks = f->max_blocks * n_seqs + 3; /* a few never used */
    size_t n =
        (size_t)f->num_blocks * (size_t)s.block_size * (size_t)s.num_kv_heads * (size_t)s.head_dim;
    f->k = rand_floats(r, n, -1.0, 1.0);
    f->v = rand_floats(r, n, -1.0, 1.0);
    int32_t *perm = malloc((size_t)f->num_blocks * sizeof *perm);
    cr_assert(perm);
    for (int32_t i = 0; i < f->num_blocks; i++)
        perm[i] = i;
    gsl_ran_shuffle(r, perm, (size_t)f->num_blocks, sizeof *perm);
    f->tables = malloc((size_t)n_seqs * (size_t)f->max_blocks * sizeof *f->tables);
    cr_assert(f->tables);
    memcpy(f->tables, perm, (size_t)n_seqs * (size_t)f->max_blocks * sizeof *f->tables);
    free(perm);
}

static void fixture_release(struct fixture *f)
{
    free(f->k);
    free(f->v);
    free(f->tables);
}

/* Dense attention of one query over keys 0..n_keys-1 of one sequence and KV head: the
 * keys are first copied into a contiguous [n_keys][head_dim] matrix. */
static void dense_attend(const struct fixture *f, const int32_t *table, int32_t kvh, int32_t n_keys,
                         const float *qv, double *outv)
{
    const struct paged_attn_shape *s = &f->s;
    size_t hd = (size_t)s->head_dim;
    double *K = malloc((size_t)n_keys * hd * sizeof *K);
    double *V = malloc((size_t)n_keys * hd * sizeof *V);
    double *sc = malloc((size_t)n_keys * sizeof *sc);
    cr_assert(K && V && sc);
    for (int32_t t = 0; t < n_keys; t++) {
        int32_t blk = table[t / s->block_size], slot = t % s->block_size;
        const size_t base =
            ((size_t)blk * (size_t)s->block_size + (size_t)slot) * (size_t)s->num_kv_heads * hd +
            (size_t)kvh * hd;
        for (size_t d = 0; d < hd; d++) {
            K[(size_t)t * hd + d] = f->k[base + d];
            V[(size_t)t * hd + d] = f->v[base + d];
        }
    }
    double mx = -INFINITY;
    for (int32_t t = 0; t < n_keys; t++) {
        double dot = 0.0;
        for (size_t d = 0; d < hd; d++)
            dot += (double)qv[d] * K[(size_t)t * hd + d];
        sc[t] = dot * (double)s->scale;
        mx = fmax(mx, sc[t]);
    }
    double z = 0.0;
    for (int32_t t = 0; t < n_keys; t++) {
        sc[t] = exp(sc[t] - mx);
        z += sc[t];
    }
    for (size_t d = 0; d < hd; d++) {
        double o = 0.0;
        for (int32_t t = 0; t < n_keys; t++)
            o += sc[t] / z * V[(size_t)t * hd + d];
        outv[d] = o;
    }
    free(K);
    free(V);
    free(sc);
}

/* Both sides accumulate in double and round once to float: they may differ by an ulp of
 * a value <= 1 in magnitude (|out| <= max|v| = 1), so 1e-6 is ample and still catches any
 * wrong token, head or block. */
#define REF_EPS 1e-6

static void check_decode(struct paged_attn_shape s, const int32_t *lens, int32_t n_seqs,
                         unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    int32_t max_ctx = 0;
    for (int32_t i = 0; i < n_seqs; i++)
        max_ctx = lens[i] > max_ctx ? lens[i] : max_ctx;
    struct fixture f;
    fixture_init(&f, r, s, n_seqs, max_ctx);
    size_t nq = (size_t)n_seqs * (size_t)s.num_heads * (size_t)s.head_dim;
    float *q = rand_floats(r, nq, -3.0, 3.0); /* wide scores: a peaked softmax */
    float *out = malloc(nq * sizeof *out);
    double *want = malloc((size_t)s.head_dim * sizeof *want);
    cr_assert(out && want);
    struct sim_err err = {0};
    cr_assert_eq(paged_attn_decode_ref(&s, n_seqs, q, f.k, f.v, f.num_blocks, f.tables,
                                       f.max_blocks, lens, out, &err),
                 SIM_OK, "%s", err.msg);
    int32_t group = s.num_heads / s.num_kv_heads;
    for (int32_t seq = 0; seq < n_seqs; seq++) {
        for (int32_t h = 0; h < s.num_heads; h++) {
            size_t row = ((size_t)seq * (size_t)s.num_heads + (size_t)h) * (size_t)s.head_dim;
            dense_attend(&f, f.tables + (size_t)seq * (size_t)f.max_blocks, h / group, lens[seq],
                         q + row, want);
            for (int32_t d = 0; d < s.head_dim; d++)
                cr_assert_float_eq(out[row + (size_t)d], want[d], REF_EPS, "seq %d head %d dim %d",
                                   seq, h, d);
        }
    }
    free(q);
    free(out);
    free(want);
    fixture_release(&f);
    gsl_rng_free(r);
}

static void check_prefill(struct paged_attn_shape s, int32_t n_tokens, int32_t n_cached,
                          unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    struct fixture f;
    fixture_init(&f, r, s, 1, n_cached + n_tokens);
    size_t nq = (size_t)n_tokens * (size_t)s.num_heads * (size_t)s.head_dim;
    float *q = rand_floats(r, nq, -3.0, 3.0);
    float *out = malloc(nq * sizeof *out);
    double *want = malloc((size_t)s.head_dim * sizeof *want);
    cr_assert(out && want);
    struct sim_err err = {0};
    cr_assert_eq(paged_attn_prefill_ref(&s, n_tokens, n_cached, q, f.k, f.v, f.num_blocks, f.tables,
                                        out, &err),
                 SIM_OK, "%s", err.msg);
    int32_t group = s.num_heads / s.num_kv_heads;
    for (int32_t i = 0; i < n_tokens; i++) {
        for (int32_t h = 0; h < s.num_heads; h++) {
            size_t row = ((size_t)i * (size_t)s.num_heads + (size_t)h) * (size_t)s.head_dim;
            /* causal: token i of the chunk sees the cache and chunk tokens 0..i */
            dense_attend(&f, f.tables, h / group, n_cached + i + 1, q + row, want);
            for (int32_t d = 0; d < s.head_dim; d++)
                cr_assert_float_eq(out[row + (size_t)d], want[d], REF_EPS,
                                   "token %d head %d dim %d", i, h, d);
        }
    }
    free(q);
    free(out);
    free(want);
    fixture_release(&f);
    gsl_rng_free(r);
}

Test(paged_attn_ref, decode_mha_d64_bs16_matches_dense_with_ragged_contexts)
{
    /* 1 token, one short of a block, exactly a block, one past a block, several blocks */
    const int32_t lens[] = {1, 15, 16, 17, 100};
    check_decode(paged_attn_shape_make(4, 4, 64, 16), lens, 5, 11);
}

Test(paged_attn_ref, decode_gqa4_d128_bs32_matches_dense)
{
    const int32_t lens[] = {64, 31, 200};
    check_decode(paged_attn_shape_make(8, 2, 128, 32), lens, 3, 12);
}

Test(paged_attn_ref, decode_gqa8_d128_bs16_matches_dense)
{
    const int32_t lens[] = {33, 7, 250, 48};
    check_decode(paged_attn_shape_make(16, 2, 128, 16), lens, 4, 13);
}

Test(paged_attn_ref, decode_gqa8_d64_bs32_single_kv_head_matches_dense)
{
    const int32_t lens[] = {97, 1};
    check_decode(paged_attn_shape_make(8, 1, 64, 32), lens, 2, 14);
}

Test(paged_attn_ref, prefill_without_cache_matches_dense_causal)
{
    check_prefill(paged_attn_shape_make(8, 2, 64, 16), 37, 0, 21);
}

Test(paged_attn_ref, prefill_after_cached_context_matches_dense_causal)
{
    check_prefill(paged_attn_shape_make(16, 2, 128, 32), 20, 45, 22);
}

Test(paged_attn_ref, prefill_mha_chunk_ending_mid_block_matches_dense)
{
    check_prefill(paged_attn_shape_make(4, 4, 128, 16), 9, 16, 23);
}

/* Row i of a prefill chunk must not depend on positions after num_cached + i: overwrite
 * every later K and V with huge values and the rows before must stay bit-identical. */
Test(paged_attn_ref, prefill_rows_ignore_future_positions)
{
    struct paged_attn_shape s = paged_attn_shape_make(4, 2, 64, 16);
    const int32_t n_tokens = 24, n_cached = 10;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 31);
    struct fixture f;
    fixture_init(&f, r, s, 1, n_cached + n_tokens);
    size_t nq = (size_t)n_tokens * (size_t)s.num_heads * (size_t)s.head_dim;
    float *q = rand_floats(r, nq, -3.0, 3.0);
    float *a = malloc(nq * sizeof *a), *b = malloc(nq * sizeof *b);
    cr_assert(a && b);
    struct sim_err err = {0};
    cr_assert_eq(paged_attn_prefill_ref(&s, n_tokens, n_cached, q, f.k, f.v, f.num_blocks, f.tables,
                                        a, &err),
                 SIM_OK);
    const int32_t cut = 7; /* rows 0..cut see positions 0..n_cached + cut */
    for (int32_t t = n_cached + cut + 1; t < n_cached + n_tokens; t++) {
        int32_t blk = f.tables[t / s.block_size], slot = t % s.block_size;
        for (int32_t kvh = 0; kvh < s.num_kv_heads; kvh++) {
            size_t base =
                (((size_t)blk * (size_t)s.block_size + (size_t)slot) * (size_t)s.num_kv_heads +
                 (size_t)kvh) *
                (size_t)s.head_dim;
            for (int32_t d = 0; d < s.head_dim; d++) {
                f.k[base + (size_t)d] = 0.0f; /* score 0: a weight near 1 / n_keys */
                f.v[base + (size_t)d] = 1e6f;
            }
        }
    }
    cr_assert_eq(paged_attn_prefill_ref(&s, n_tokens, n_cached, q, f.k, f.v, f.num_blocks, f.tables,
                                        b, &err),
                 SIM_OK);
    size_t row_len = (size_t)s.num_heads * (size_t)s.head_dim;
    cr_assert_eq(memcmp(a, b, (size_t)(cut + 1) * row_len * sizeof *a), 0);
    /* and the next row does see the change (the test would be vacuous otherwise) */
    int changed = 0;
    for (size_t i = (size_t)(cut + 1) * row_len; i < (size_t)(cut + 2) * row_len; i++)
        changed |= fabsf(a[i] - b[i]) > 1.0f;
    cr_assert(changed);
    free(q);
    free(a);
    free(b);
    fixture_release(&f);
    gsl_rng_free(r);
}

/* Prefill row i is the decode of a sequence whose context is num_cached + i + 1 tokens. */
Test(paged_attn_ref, prefill_row_equals_decode_of_the_same_prefix)
{
    struct paged_attn_shape s = paged_attn_shape_make(8, 4, 64, 32);
    const int32_t n_tokens = 5, n_cached = 40;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 32);
    struct fixture f;
    fixture_init(&f, r, s, 1, n_cached + n_tokens);
    size_t row_len = (size_t)s.num_heads * (size_t)s.head_dim;
    float *q = rand_floats(r, (size_t)n_tokens * row_len, -3.0, 3.0);
    float *pre = malloc((size_t)n_tokens * row_len * sizeof *pre);
    float *dec = malloc(row_len * sizeof *dec);
    cr_assert(pre && dec);
    struct sim_err err = {0};
    cr_assert_eq(paged_attn_prefill_ref(&s, n_tokens, n_cached, q, f.k, f.v, f.num_blocks, f.tables,
                                        pre, &err),
                 SIM_OK);
    for (int32_t i = 0; i < n_tokens; i++) {
        int32_t len = n_cached + i + 1;
        cr_assert_eq(paged_attn_decode_ref(&s, 1, q + (size_t)i * row_len, f.k, f.v, f.num_blocks,
                                           f.tables, f.max_blocks, &len, dec, &err),
                     SIM_OK);
        /* same arithmetic in the same order: identical bits */
        cr_assert_eq(memcmp(dec, pre + (size_t)i * row_len, row_len * sizeof *dec), 0);
    }
    free(q);
    free(pre);
    free(dec);
    fixture_release(&f);
    gsl_rng_free(r);
}

/* Worked by hand: scale 1, q = (1, 0), keys (0, 0) and (ln 3, 0) give scores 0 and ln 3,
 * softmax weights 1/4 and 3/4; values (2, -1) and (6, 3) average to (5, 2). The keys are
 * spread over two blocks of one token each, in reverse physical order. */
Test(paged_attn_ref, decode_two_tokens_worked_by_hand)
{
    struct paged_attn_shape s = {1, 1, 2, 1, 1.0f};
    float q[2] = {1.0f, 0.0f};
    float k[4] = {(float)log(3.0), 0.0f, 0.0f, 0.0f}; /* block 0 holds token 1 */
    float v[4] = {6.0f, 3.0f, 2.0f, -1.0f};
    int32_t table[2] = {1, 0}, len = 2;
    float out[2];
    struct sim_err err = {0};
    cr_assert_eq(paged_attn_decode_ref(&s, 1, q, k, v, 2, table, 2, &len, out, &err), SIM_OK);
    /* ln 3 rounded to float moves the weights by ~1e-8 */
    cr_assert_float_eq(out[0], 5.0f, 1e-6);
    cr_assert_float_eq(out[1], 2.0f, 1e-6);
}

Test(paged_attn_ref, rejects_heads_not_a_multiple_of_kv_heads)
{
    struct paged_attn_shape s = paged_attn_shape_make(12, 8, 64, 16);
    struct sim_err err = {0};
    cr_assert_eq(paged_attn_check_shape(&s, &err), SIM_EINVAL);
    cr_assert_eq(err.code, SIM_EINVAL);
    cr_assert_str_eq(err.where, "");
    cr_assert_str_eq(err.msg, "'num_heads' must be a multiple of 'num_kv_heads' (8), got '12'");
}

Test(paged_attn_ref, rejects_head_dim_over_the_limit)
{
    struct paged_attn_shape s = paged_attn_shape_make(4, 4, 300, 16);
    struct sim_err err = {0};
    cr_assert_eq(paged_attn_check_shape(&s, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'head_dim' must be in 1..256 (elements), got '300'");
}

Test(paged_attn_ref, rejects_zero_kv_heads_and_bad_scale)
{
    struct paged_attn_shape s = paged_attn_shape_make(4, 0, 64, 16);
    struct sim_err err = {0};
    cr_assert_eq(paged_attn_check_shape(&s, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'num_kv_heads' must be >= 1 (heads), got '0'");
    s = paged_attn_shape_make(4, 4, 64, 16);
    s.scale = -0.5f;
    cr_assert_eq(paged_attn_check_shape(&s, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'scale' must be finite and > 0, got '-0.5'");
}

Test(paged_attn_ref, decode_rejects_empty_context)
{
    struct paged_attn_shape s = paged_attn_shape_make(2, 1, 4, 16);
    float q[8] = {0}, kv[64] = {0}, out[8];
    int32_t tables[2] = {0, 0}, lens[2] = {3, 0};
    struct sim_err err = {0};
    cr_assert_eq(paged_attn_decode_ref(&s, 2, q, kv, kv, 1, tables, 1, lens, out, &err),
                 SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'context_lens[1]' must be in 1..16 (tokens), got '0'");
}

Test(paged_attn_ref, decode_rejects_block_id_out_of_range)
{
    struct paged_attn_shape s = paged_attn_shape_make(1, 1, 4, 2);
    float q[4] = {0}, kv[16] = {0}, out[4];
    int32_t tables[3] = {1, 2, 0}, len = 5;
    struct sim_err err = {0};
    cr_assert_eq(paged_attn_decode_ref(&s, 1, q, kv, kv, 2, tables, 3, &len, out, &err),
                 SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'block_tables[0][1]' must be in 0..1 (block id), got '2'");
}

Test(paged_attn_ref, prefill_rejects_empty_chunk_and_bad_table)
{
    struct paged_attn_shape s = paged_attn_shape_make(1, 1, 4, 4);
    float q[8] = {0}, kv[32] = {0}, out[8];
    int32_t table[2] = {0, -1};
    struct sim_err err = {0};
    cr_assert_eq(paged_attn_prefill_ref(&s, 0, 0, q, kv, kv, 2, table, out, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'num_tokens' must be >= 1 (tokens), got '0'");
    cr_assert_eq(paged_attn_prefill_ref(&s, 2, 3, q, kv, kv, 2, table, out, &err), SIM_EINVAL);
    cr_assert_str_eq(err.msg, "'block_table[1]' must be in 0..1 (block id), got '-1'");
}
