/* test_table.c: the latency-table reader, its lookups and how a batch maps onto them.
 *
 * tests/fixtures/tables/tiny.json is a hand-made table whose numbers are chosen so that
 * every expected value below can be worked out on paper:
 *   gemm tokens [1, 4, 16]: qkv [10, 16, 40], o [2, 8, 6], gate_up [20, 20, 80],
 *                           down [8, 8, 32], lm_head [100, 100, 160]
 *   decode batch [1, 4] x context [128, 1024]: [[3, 10], [6, 34]]
 *   prefill tokens [16, 64] x context [0, 512]: [[5, 9], [11, 27]]
 *   32 layers, overhead_us 250
 */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/latency.h"
#include "models/table_int.h"

#define TAB FIXTURES "/tables/"

/* exact arithmetic on small integers and halves: 1e-12 absorbs only rounding */
#define EPS 1e-12

static void init(void)
{
    gsl_set_error_handler_off();
}

TestSuite(table, .init = init);

static struct lat_tab load(const char *file)
{
    struct lat_tab t;
    struct sim_err err = {0};
    cr_assert_eq(lat_tab_load(&t, file, &err), SIM_OK, "%s: %s", err.where, err.msg);
    return t;
}

Test(table, reads_the_fixture)
{
    struct lat_tab t = load(TAB "tiny.json");
    cr_assert_eq(t.prov, LAT_PROV_PUBLISHED);
    cr_assert_str_eq(t.model, "llama-3-8b");
    cr_assert_eq(t.layers, 32);
    cr_assert_eq(t.gemm[TAB_QKV].n, 3);
    cr_assert_eq(t.decode.nx, 2);
    cr_assert_eq(t.decode.ny, 2);
    cr_assert_not(t.has_allreduce);
    cr_assert_float_eq(t.overhead_us, 250.0, EPS);
    lat_tab_release(&t);
}

Test(table, interpolation_is_exact_on_grid_points)
{
    struct lat_tab t = load(TAB "tiny.json");
    const double tok[] = {1, 4, 16};
    const double qkv[] = {10, 16, 40}, o[] = {2, 8, 6};
    for (int i = 0; i < 3; i++) {
        cr_assert_float_eq(lat_grid1_eval(&t.gemm[TAB_QKV], tok[i]), qkv[i], EPS);
        cr_assert_float_eq(lat_grid1_eval(&t.gemm[TAB_O], tok[i]), o[i], EPS);
    }
    cr_assert_float_eq(lat_grid2_eval(&t.decode, 1, 128), 3.0, EPS);
    cr_assert_float_eq(lat_grid2_eval(&t.decode, 1, 1024), 10.0, EPS);
    cr_assert_float_eq(lat_grid2_eval(&t.decode, 4, 128), 6.0, EPS);
    cr_assert_float_eq(lat_grid2_eval(&t.decode, 4, 1024), 34.0, EPS);
    cr_assert_float_eq(lat_grid2_eval(&t.prefill, 64, 0), 11.0, EPS);
    cr_assert_float_eq(lat_grid2_eval(&t.prefill, 16, 512), 9.0, EPS);
    lat_tab_release(&t);
}

Test(table, interpolation_is_linear_between_points)
{
    struct lat_tab t = load(TAB "tiny.json");
    /* qkv at 10: 16 + (10 - 4) / (16 - 4) x (40 - 16) = 28 */
    cr_assert_float_eq(lat_grid1_eval(&t.gemm[TAB_QKV], 10), 28.0, EPS);
    /* o at 10: 8 + 0.5 x (6 - 8) = 7 */
    cr_assert_float_eq(lat_grid1_eval(&t.gemm[TAB_O], 10), 7.0, EPS);
    /* decode at the centre (2.5, 576): bilinear = mean of the corners (3+10+6+34)/4 */
    cr_assert_float_eq(lat_grid2_eval(&t.decode, 2.5, 576), 13.25, EPS);
    /* on an edge: batch 4, context 576 -> 6 + 0.5 x 28 = 20 */
    cr_assert_float_eq(lat_grid2_eval(&t.decode, 4, 576), 20.0, EPS);
    lat_tab_release(&t);
}

Test(table, clamps_below_the_first_point)
{
    struct lat_tab t = load(TAB "tiny.json");
    cr_assert_float_eq(lat_grid1_eval(&t.gemm[TAB_QKV], 0.5), 10.0, EPS);
    /* context 64 < 128: the 128 column, interpolated along batch (2.5 -> 4.5) */
    cr_assert_float_eq(lat_grid2_eval(&t.decode, 2.5, 64), 4.5, EPS);
    cr_assert_float_eq(lat_grid2_eval(&t.prefill, 8, 0), 5.0, EPS);
    lat_tab_release(&t);
}

Test(table, extrapolates_linearly_from_the_last_two_points)
{
    struct lat_tab t = load(TAB "tiny.json");
    /* qkv slope (40 - 16) / 12 = 2 per token: at 32 -> 40 + 16 x 2 = 72 */
    cr_assert_float_eq(lat_grid1_eval(&t.gemm[TAB_QKV], 32), 72.0, EPS);
    /* decode along batch at context 1024: slope (34 - 10) / 3 = 8 -> batch 8: 66 */
    cr_assert_float_eq(lat_grid2_eval(&t.decode, 8, 1024), 66.0, EPS);
    /* along context at batch 1: slope 7 / 896 -> context 2048: 10 + 1024 x 7/896 = 18 */
    cr_assert_float_eq(lat_grid2_eval(&t.decode, 1, 2048), 18.0, EPS);
    /* both: batch 4 at 2048 -> 34 + 1024 x 28/896 = 66; batch 8 -> 66 + 4 x (66-18)/3 = 130 */
    cr_assert_float_eq(lat_grid2_eval(&t.decode, 8, 2048), 130.0, EPS);
    lat_tab_release(&t);
}

Test(table, extrapolation_never_falls_below_the_last_value)
{
    struct lat_tab t = load(TAB "tiny.json");
    /* o_proj ends 8 -> 6 (a falling pair, as measured noise can): at 28 tokens the line
     * gives 6 - 12 x 2/12 = 4, floored at the last value 6 */
    cr_assert_float_eq(lat_grid1_eval(&t.gemm[TAB_O], 28), 6.0, EPS);
    lat_tab_release(&t);
}

/* ---- the batch -> lookups mapping (lat_table_new) ---------------------------------- */

static struct lat_model *tiny_model(void)
{
    struct lat_context ctx = {"llama-3-8b", "h100-sxm-80gb", "bf16", "auto", 1, NULL, {0, 0, false, 0}, NULL, NULL, 0, NULL};
    struct sim_err err = {0};
    struct lat_model *m = lat_table_new(TAB "tiny.json", &ctx, &err);
    cr_assert_not_null(m, "%s: %s", err.where, err.msg);
    return m;
}

Test(table, decode_step_sums_layers_at_the_mean_context)
{
    struct lat_model *m = tiny_model();
    /* 4 sequences, 4096 KV tokens in all (mean 1024): T = 4 tokens.
     * per layer qkv 16 + o 8 + gate_up 20 + down 8 + decode(4, 1024) 34 = 86;
     * 32 x 86 = 2752, + lm_head(4 sequences) 100 + overhead 250 = 3102 */
    struct lat_batch b = {0, 0, 0, 0, 4, 4096};
    cr_assert_float_eq(lat_step_us(m, &b), 3102.0, 1e-9);
    cr_assert_eq(m->kind, LAT_TABLE);
    cr_assert_str_eq(m->provenance, "published: hand-made test table (tests/models/test_table.c "
                                    "works its numbers out) (tiny.json); vLLM 0.21 V1 async "
                                    "scheduling, CUDA graphs");
    lat_model_free(m);
}

Test(table, prefill_step_uses_the_chunk_and_extrapolated_gemms)
{
    struct lat_model *m = tiny_model();
    /* one 64-token chunk from position 0: T = 64 (past the gemm grid):
     * qkv 40 + 48 x 2 = 136, o floored 6, gate_up 80 + 48 x 5 = 320, down 32 + 48 x 2 = 128,
     * prefill(64, 0) = 11: per layer 601, x 32 = 19232, + lm_head(1) 100 + 250 = 19582 */
    struct lat_batch b = {1, 64, 64, 64 * 65 / 2, 0, 0};
    cr_assert_float_eq(lat_step_us(m, &b), 19582.0, 1e-9);
    lat_model_free(m);
}

Test(table, unequal_chunks_scale_the_mean_chunk_by_causal_pairs)
{
    struct lat_model *m = tiny_model();
    /* chunks of 16 and 48 tokens from position 0: mean chunk 32 at start 0 ->
     * prefill(32, 0) = 5 + (16/48) x 6 = 7; pairs 136 + 1176 = 1312 vs 2 x 528 for the mean
     * chunk -> attention per layer 2 x 7 x 1312/1056 = 17.393939...
     * T = 64 gemms as above: 590 per layer */
    struct lat_batch b = {2, 64, 64, 16 * 17 / 2 + 48 * 49 / 2, 0, 0};
    double attn = 2.0 * 7.0 * 1312.0 / 1056.0;
    double want = 32.0 * (590.0 + attn) + 100.0 + 250.0;
    cr_assert_float_eq(lat_step_us(m, &b), want, 1e-9);
    lat_model_free(m);
}

Test(table, mixed_batch_adds_prefill_and_decode_on_shared_gemms)
{
    struct lat_model *m = tiny_model();
    /* a 12-token chunk at position 500 (start 500, pairs 12 x 500 + 78 = 6078) plus 4
     * decodes at mean context 1024: T = 16 (a grid point): qkv 40, o 6, gate_up 80,
     * down 32; decode(4, 1024) 34; prefill(12, 500) clamps tokens to 16 and interpolates
     * context: 5 + 500/512 x 4 = 8.90625, scaled by 6078 / (12 x 500 + 78) = 1;
     * lm_head at 5 sequences: 100 + (5 - 4) / 12 x 60 = 105 */
    struct lat_batch b = {1, 12, 512, 12 * 500 + 78, 4, 4096};
    double want = 32.0 * (40 + 6 + 80 + 32 + 34 + 8.90625) + 105.0 + 250.0;
    cr_assert_float_eq(lat_step_us(m, &b), want, 1e-9);
    lat_model_free(m);
}

Test(table, tp_table_uses_its_allreduce_twice_per_layer)
{
    struct lat_context ctx = {"llama-3-8b", NULL, "bf16", "auto", 2, NULL, {0, 0, false, 0}, NULL, NULL, 0, NULL};
    struct sim_err err = {0};
    struct lat_model *m = lat_table_new(TAB "measured_tp2.json", &ctx, &err);
    cr_assert_not_null(m, "%s: %s", err.where, err.msg);
    /* the decode case above (3102) plus 2 x 32 x allreduce(4 tokens) = 2 x 32 x
     * (12 + 3/63 x 8) */
    struct lat_batch b = {0, 0, 0, 0, 4, 4096};
    cr_assert_float_eq(lat_step_us(m, &b), 3102.0 + 64.0 * (12.0 + 3.0 / 63.0 * 8.0), 1e-9);
    cr_assert_str_eq(m->provenance, "measured: TEST FIXTURE, not a measurement, driver "
                                    "550.54.15, CUDA 12.4, 2026-11-28, llmcap-kbench 0.1.0 "
                                    "(measured_tp2.json); vLLM 0.21 V1 async scheduling, CUDA "
                                    "graphs");
    lat_model_free(m);
}

Test(table, table_for_another_model_is_refused)
{
    struct lat_context ctx = {"mistral-7b", NULL, "bf16", "auto", 1, NULL, {0, 0, false, 0}, NULL, NULL, 0, NULL};
    struct sim_err err = {0};
    cr_assert_null(lat_table_new(TAB "tiny.json", &ctx, &err));
    cr_assert_str_eq(err.where, TAB "tiny.json");
    cr_assert_str_eq(err.msg, "table is for model 'llama-3-8b', the scenario runs 'mistral-7b'");
    struct lat_context c2 = {"llama-3-8b", NULL, "bf16", "fp8", 1, NULL, {0, 0, false, 0}, NULL, NULL, 0, NULL};
    cr_assert_null(lat_table_new(TAB "tiny.json", &c2, &err));
    cr_assert_str_eq(err.msg, "table is for kv_cache_dtype 'bf16', the scenario uses 'fp8'");
    struct lat_context c3 = {"llama-3-8b", NULL, "bf16", "auto", 2, NULL, {0, 0, false, 0}, NULL, NULL, 0, NULL};
    cr_assert_null(lat_table_new(TAB "tiny.json", &c3, &err));
    cr_assert_str_eq(err.msg, "table is for tensor_parallel_size 1, the scenario uses 2");
}

/* ---- malformed tables: one fixture per rule ------------------------------------------ */

static void expect_bad(const char *file, const char *where, const char *msg)
{
    struct lat_tab t;
    struct sim_err err = {0};
    cr_assert_eq(lat_tab_load(&t, file, &err), SIM_EINVAL, "%s", file);
    cr_assert_str_eq(err.where, where);
    cr_assert_str_eq(err.msg, msg);
}

Test(table, rejects_wrong_format_tag)
{
    expect_bad(TAB "bad_format.json", TAB "bad_format.json:2:13",
               "'format' must be 'llmcap-latency-table', got 'llmcap-latency-tabel'");
}

Test(table, rejects_other_versions)
{
    expect_bad(TAB "bad_version.json", TAB "bad_version.json:3:14",
               "'version' must be 1 (the version this llmcap reads), got '2'");
}

Test(table, rejects_unknown_provenance_kind)
{
    expect_bad(TAB "bad_kind.json", TAB "bad_kind.json:5:13",
               "'provenance.kind' must be 'measured', 'roofline' or 'published', got 'guessed'");
}

Test(table, measured_table_must_name_the_driver)
{
    expect_bad(TAB "measured_no_driver.json", TAB "measured_no_driver.json:4:17",
               "'provenance.driver' is required (a non-empty string)");
}

Test(table, measured_table_date_is_iso)
{
    expect_bad(TAB "measured_bad_date.json", TAB "measured_bad_date.json:9:13",
               "'provenance.date' must be YYYY-MM-DD, got '28/11/2026'");
}

Test(table, published_table_must_name_its_source)
{
    expect_bad(TAB "published_no_source.json", TAB "published_no_source.json:4:17",
               "'provenance.source' is required (a non-empty string)");
}

Test(table, rejects_non_increasing_grid)
{
    expect_bad(TAB "nonincreasing_grid.json", TAB "nonincreasing_grid.json:17:24",
               "'operators.gemm.tokens' must be strictly increasing, got '4' after '4'");
}

Test(table, rejects_single_point_axis)
{
    expect_bad(TAB "one_point_axis.json", TAB "one_point_axis.json:28:25",
               "'operators.decode_attention.context_tokens' must be an array of at least 2 "
               "grid points");
}

Test(table, rejects_wrong_number_of_values)
{
    expect_bad(TAB "wrong_length.json", TAB "wrong_length.json:19:21",
               "'operators.gemm.us.qkv_proj' must have 3 values (one per 'tokens'), got 2");
}

Test(table, rejects_wrong_number_of_rows)
{
    expect_bad(TAB "wrong_rows.json", TAB "wrong_rows.json:29:13",
               "'operators.decode_attention.us' must have 2 rows (one per 'batch'), got 1");
}

Test(table, rejects_negative_times)
{
    expect_bad(TAB "negative_time.json", TAB "negative_time.json:35:18",
               "'operators.prefill_attention.us[0][1]' must be a number in (0, 3600000000] (us), got "
               "'-9'");
}

Test(table, rejects_missing_operator)
{
    expect_bad(TAB "missing_lm_head.json", TAB "missing_lm_head.json:18:13",
               "missing 'operators.gemm.us.lm_head'");
}

Test(table, rejects_unknown_key)
{
    expect_bad(TAB "unknown_key.json", TAB "unknown_key.json:38:5",
               "unknown key 'operators.overhead_ms' (did you mean 'overhead_us'?)");
}

Test(table, rejects_json_syntax_error_with_line_and_column)
{
    expect_bad(TAB "syntax_error.json", TAB "syntax_error.json:15:3",
               "invalid JSON near '\"operators\": {'");
}

Test(table, missing_file_is_enoent)
{
    struct lat_tab t;
    struct sim_err err = {0};
    cr_assert_eq(lat_tab_load(&t, TAB "no_such_table.json", &err), SIM_ENOENT);
    cr_assert_str_eq(err.msg,
                     "cannot open '" TAB "no_such_table.json': no such file or directory");
}

/* ---- decode runs: the same numbers as single lookups, bit for bit ------------------- */

static bool same_bits(double a, double b)
{
    uint64_t ua, ub;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    return ua == ub;
}

/* The row cursor walks y up a decode run (and jumps back and out of the grid) on the
 * fixture and on a shipped table: every value is lat_grid2_eval's (GSL's bilinear inside
 * the grid, the extrapolation rules outside). */
Test(table, row_cursor_gives_the_grid_lookups_bit_for_bit)
{
    char shipped[1024];
    snprintf(shipped, sizeof shipped, "%s/h100-sxm-80gb.llama-3-8b.bf16.json", lat_tables_dir());
    const char *files[] = {TAB "tiny.json", shipped};
    const double ys[] = {0.5, 1.0, 127.0, 128.0, 300.25, 1023.0, 4000.0, 131000.0};
    for (int f = 0; f < 2; f++) {
        struct lat_tab t = load(files[f]);
        const struct lat_grid2 *grids[] = {&t.decode, &t.prefill};
        for (int gi = 0; gi < 2; gi++) {
            const struct lat_grid2 *g = grids[gi];
            /* x: every half up to 64, then 7% steps to twice the grid's end */
            double x = 0.5;
            for (int xs = 0; x < 2.0 * g->x[g->nx - 1] + 3.0; xs++) {
                x = xs < 128 ? 0.5 * (xs + 1) : 64.0 * pow(1.07, xs - 127);
                struct lat_grid2_row r;
                lat_grid2_row_init(&r, g, x);
                for (size_t k = 0; k < sizeof ys / sizeof ys[0]; k++) {
                    /* a run: y grows by one (and by a fraction) per step */
                    for (int i = 0; i < 300; i++) {
                        double y = ys[k] + i + (k % 2 ? 0.0 : i / 7.0);
                        double want = lat_grid2_eval(g, x, y), got = lat_grid2_row_eval(&r, y);
                        cr_assert(same_bits(want, got), "%s x %.17g y %.17g: %.17g, not %.17g",
                                  files[f], x, y, got, want);
                    }
                    /* every grid point exactly, then back down */
                    for (size_t j = 0; j < g->ny; j++) {
                        double y = g->y[j];
                        cr_assert(same_bits(lat_grid2_eval(g, x, y), lat_grid2_row_eval(&r, y)));
                    }
                    double y = ys[k] * 0.5;
                    cr_assert(same_bits(lat_grid2_eval(g, x, y), lat_grid2_row_eval(&r, y)));
                }
            }
        }
        lat_tab_release(&t);
    }
}

/* lat_decode_steps_us gives lat_step_us of each iteration's batch, bit for bit: the
 * table's fast path (memoised batch sizes and beyond them) and the generic loop. */
Test(table, decode_steps_are_the_single_steps_bit_for_bit)
{
    struct lat_context ctx = {"llama-3-8b", "h100-sxm-80gb", "bf16", "auto", 1, NULL, {0, 0, false, 0}, NULL, NULL, 0, NULL};
    struct sim_err err = {0};
    char shipped[1024];
    snprintf(shipped, sizeof shipped, "%s/h100-sxm-80gb.llama-3-8b.bf16.json", lat_tables_dir());
    struct lat_model *models[] = {tiny_model(), lat_table_new(shipped, &ctx, &err),
                                  lat_linear_new(5, 100, 30, 15, &err)};
    for (int mi = 0; mi < 3; mi++) {
        struct lat_model *m = models[mi];
        cr_assert_not_null(m, "%s: %s", err.where, err.msg);
        const int32_t ns[] = {1, 2, 3, 4, 7, 8, 9, 31, 64, 255, 256, 257, 511, 512, 600, 5000};
        const int64_t ctx0[] = {1, 100, 1000, 7777, 40000};
        for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
            for (size_t c = 0; c < sizeof ctx0 / sizeof ctx0[0]; c++) {
                int32_t n = ns[a];
                int64_t kv0 = ctx0[c] * n + (int64_t)c;
                double got[64];
                lat_decode_steps_us(m, n, kv0, 64, got);
                for (int32_t i = 1; i <= 64; i++) {
                    struct lat_batch b = {0, 0, 0, 0, n, kv0 + (int64_t)n * i};
                    double want = lat_step_us(m, &b);
                    cr_assert(same_bits(want, got[i - 1]),
                              "model %d n %d kv0 %lld i %d: %.17g, not %.17g", mi, n,
                              (long long)kv0, i, got[i - 1], want);
                }
            }
        lat_model_free(m);
    }
}
