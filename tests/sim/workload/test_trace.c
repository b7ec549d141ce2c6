/* Trace readers: bundled traces against independently computed figures, timestamp
 * parsing for both Azure layouts, Mooncake rows, and exact messages for bad rows. */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <string.h>

#include "sim/workload/workload.h"

#define TR FIXTURES "/traces/"

static void init(void)
{
    gsl_set_error_handler_off();
}

TestSuite(trace, .init = init);

/* Totals of a whole trace, read row by row. */
struct totals {
    uint64_t rows, prompt, output, hash;
    int64_t first_abs, last_abs, last_t;
    bool sorted;
};

static int read_all(const char *path, enum trace_format fmt, bool skip, struct totals *t,
                    struct sim_err *err)
{
    memset(t, 0, sizeof *t);
    t->sorted = true;
    struct trace_reader *r = trace_open(path, fmt, err);
    if (!r)
        return err->code;
    struct trace_row row;
    int rc;
    int64_t prev = 0;
    while ((rc = trace_next(r, &row, skip, err)) == 1) {
        if (t->rows == 0)
            t->first_abs = row.abs_t_us;
        if (row.t_us < prev)
            t->sorted = false;
        prev = row.t_us;
        t->last_abs = row.abs_t_us;
        t->last_t = row.t_us;
        t->rows++;
        t->prompt += (uint64_t)row.prompt_tokens;
        t->output += (uint64_t)row.output_tokens;
        t->hash += row.n_hash_ids;
    }
    trace_close(r);
    return rc;
}

/*
 * Expected figures for the bundled traces were computed with Python's csv module over the
 * files (rows after the header, sum of ContextTokens and GeneratedTokens), and the first
 * and last TIMESTAMP converted with datetime(..., tzinfo=utc) to epoch microseconds with
 * the fraction truncated to 6 digits. Row counts match the Splitwise paper's trace
 * (conversation 19,366 requests, coding 8,819).
 */
Test(trace, azure_conv_2023_rows_sums_and_times)
{
    struct totals t;
    struct sim_err err = {0};
    cr_assert_eq(
        read_all(SOURCE_DIR "/traces/AzureLLMInferenceTrace_conv.csv", TRACE_AUTO, false, &t, &err),
        0, "%s", err.msg);
    cr_assert_eq(t.rows, 19366);
    cr_assert_eq(t.prompt, 22361870);
    cr_assert_eq(t.output, 4088665);
    cr_assert_eq(t.first_abs, 1700158546680590); /* 2023-11-16 18:15:46.6805900 */
    cr_assert_eq(t.last_abs, 1700162048402527);  /* 2023-11-16 19:14:08.4025270 */
    cr_assert_eq(t.last_t, 3501721937);
    cr_assert(t.sorted);
}

Test(trace, azure_code_2023_rows_sums_and_times)
{
    struct totals t;
    struct sim_err err = {0};
    cr_assert_eq(read_all(SOURCE_DIR "/traces/AzureLLMInferenceTrace_code.csv", TRACE_AZURE, false,
                          &t, &err),
                 0, "%s", err.msg);
    cr_assert_eq(t.rows, 8819);
    cr_assert_eq(t.prompt, 18059974);
    cr_assert_eq(t.output, 245896);
    cr_assert_eq(t.first_abs, 1700158623979960); /* 2023-11-16 18:17:03.9799600 */
    cr_assert_eq(t.last_abs, 1700162059928016);  /* 2023-11-16 19:14:19.9280160 */
}

/* Python json over the file: 3,993 rows, sums of input_length and output_length, total
 * hash_ids; the last timestamp is 1022025 ms. */
Test(trace, mooncake_bundled_rows_sums_and_hash_ids)
{
    struct totals t;
    struct sim_err err = {0};
    cr_assert_eq(read_all(SOURCE_DIR "/traces/synthetic_trace.jsonl", TRACE_AUTO, false, &t, &err),
                 0, "%s", err.msg);
    cr_assert_eq(t.rows, 3993);
    cr_assert_eq(t.prompt, 61194628);
    cr_assert_eq(t.output, 595432);
    cr_assert_eq(t.hash, 121877);
    cr_assert_eq(t.first_abs, 0);
    cr_assert_eq(t.last_abs, 1022025000);
}

Test(trace, mooncake_bundled_first_rows_hash_ids)
{
    struct sim_err err = {0};
    struct trace_reader *r =
        trace_open(SOURCE_DIR "/traces/synthetic_trace.jsonl", TRACE_AUTO, &err);
    cr_assert_not_null(r, "%s", err.msg);
    cr_assert_eq(trace_detected_format(r), TRACE_MOONCAKE);
    struct trace_row row;
    /* row 1: timestamp 0, 40160 in, 6 out, hash_ids 0..78 */
    cr_assert_eq(trace_next(r, &row, false, &err), 1);
    cr_assert_eq(row.line, 1);
    cr_assert_eq(row.prompt_tokens, 40160);
    cr_assert_eq(row.output_tokens, 6);
    cr_assert_eq(row.n_hash_ids, 79);
    for (uint32_t i = 0; i < 79; i++)
        cr_assert_eq(row.hash_ids[i], i);
    /* row 2: 36640 in, 4 out, hash_ids 79..150 */
    cr_assert_eq(trace_next(r, &row, false, &err), 1);
    cr_assert_eq(row.prompt_tokens, 36640);
    cr_assert_eq(row.n_hash_ids, 72);
    cr_assert_eq(row.hash_ids[0], 79);
    cr_assert_eq(row.hash_ids[71], 150);
    /* row 3: timestamp 40 ms, hash_ids 151..197 */
    cr_assert_eq(trace_next(r, &row, false, &err), 1);
    cr_assert_eq(row.t_us, 40000);
    cr_assert_eq(row.n_hash_ids, 47);
    cr_assert_eq(row.hash_ids[0], 151);
    cr_assert_eq(row.hash_ids[46], 197);
    trace_close(r);
}

/* Epoch values from Python datetime (see the comment above the bundled-trace tests). */
Test(trace, azure_2023_layout_crlf_seven_digits_truncated)
{
    static const int64_t want[4] = {1700158623979960, 1700158624031960, 1700179199999999,
                                    1700179200000000};
    static const int32_t out[4] = {10, 8, 0, 3};
    struct sim_err err = {0};
    struct trace_reader *r = trace_open(TR "azure2023_crlf.csv", TRACE_AUTO, &err);
    cr_assert_not_null(r, "%s", err.msg);
    cr_assert_eq(trace_detected_format(r), TRACE_AZURE);
    struct trace_row row;
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(trace_next(r, &row, false, &err), 1, "%s", err.msg);
        cr_assert_eq(row.abs_t_us, want[i], "row %d: %lld", i, (long long)row.abs_t_us);
        cr_assert_eq(row.t_us, want[i] - want[0]);
        cr_assert_eq(row.output_tokens, out[i]); /* raw: 0 stays 0 here */
        cr_assert_eq(row.line, (uint64_t)i + 2);
        cr_assert_null(row.hash_ids);
    }
    cr_assert_eq(trace_next(r, &row, false, &err), 0); /* no final CRLF */
    trace_close(r);
}

Test(trace, azure_2024_layout_offsets_and_fraction_widths)
{
    /* +00:00 with 6 digits, 0 digits, +02:00, -05:00, and Z: all UTC instants */
    static const int64_t want[5] = {1715299200009930, 1715299201000000, 1715299201500000,
                                    1715299202250000, 1715299203000000};
    struct sim_err err = {0};
    struct trace_reader *r = trace_open(TR "azure2024_lf.csv", TRACE_AUTO, &err);
    cr_assert_not_null(r, "%s", err.msg);
    struct trace_row row;
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(trace_next(r, &row, false, &err), 1, "%s", err.msg);
        cr_assert_eq(row.abs_t_us, want[i], "row %d: %lld", i, (long long)row.abs_t_us);
    }
    cr_assert_eq(row.prompt_tokens, 0);
    cr_assert_eq(trace_next(r, &row, false, &err), 0);
    trace_close(r);
}

Test(trace, civil_dates_leap_days_and_centuries)
{
    /* 1970 epoch, 2000-02-29 (leap century), 9 fractional digits, 2024-02-29, 2100-03-01
     * (2100 is not a leap year) */
    static const int64_t want[5] = {0, 951868799500000, 1704067199123456, 1709208000000000,
                                    4107542400000001};
    struct sim_err err = {0};
    struct trace_reader *r = trace_open(TR "azure_dates.csv", TRACE_AZURE, &err);
    cr_assert_not_null(r);
    struct trace_row row;
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(trace_next(r, &row, false, &err), 1, "%s", err.msg);
        cr_assert_eq(row.abs_t_us, want[i], "row %d: %lld", i, (long long)row.abs_t_us);
    }
    trace_close(r);
}

Test(trace, plain_csv_seconds_exact_and_blank_lines_skipped)
{
    /* 0, 0.5, 1.25e1, 12.5000009 (truncated to 12.500000), 100 */
    static const int64_t want[5] = {0, 500000, 12500000, 12500000, 100000000};
    struct sim_err err = {0};
    struct trace_reader *r = trace_open(TR "plain.csv", TRACE_AUTO, &err);
    cr_assert_not_null(r, "%s", err.msg);
    cr_assert_eq(trace_detected_format(r), TRACE_CSV);
    struct trace_row row;
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(trace_next(r, &row, false, &err), 1, "%s", err.msg);
        cr_assert_eq(row.t_us, want[i]);
        cr_assert_eq(row.prompt_tokens, 10 * (i + 1));
    }
    cr_assert_eq(row.line, 7); /* the blank line 4 still counts */
    cr_assert_eq(trace_next(r, &row, false, &err), 0);
    trace_close(r);
}

Test(trace, mooncake_long_lines_fractional_ms_and_optional_hash_ids)
{
    struct sim_err err = {0};
    struct trace_reader *r = trace_open(TR "mooncake_small.jsonl", TRACE_MOONCAKE, &err);
    cr_assert_not_null(r, "%s", err.msg);
    struct trace_row row;
    cr_assert_eq(trace_next(r, &row, false, &err), 1);
    cr_assert_eq(row.n_hash_ids, 2);
    cr_assert_eq(row.hash_ids[0], 4294967295u);
    cr_assert_eq(row.hash_ids[1], 7);
    cr_assert_eq(trace_next(r, &row, false, &err), 1, "%s", err.msg); /* ~17 kB line */
    cr_assert_eq(row.t_us, 500000);
    cr_assert_eq(row.prompt_tokens, 1536000);
    cr_assert_eq(row.n_hash_ids, 3000);
    for (uint32_t i = 0; i < 3000; i++)
        cr_assert_eq(row.hash_ids[i], i);
    cr_assert_eq(trace_next(r, &row, false, &err), 1, "%s", err.msg);
    cr_assert_eq(row.t_us, 1500250); /* 1500.25 ms */
    cr_assert_eq(row.n_hash_ids, 1);
    cr_assert_eq(row.hash_ids[0], 9);
    cr_assert_eq(trace_next(r, &row, false, &err), 1, "%s", err.msg);
    cr_assert_null(row.hash_ids);
    cr_assert_eq(row.n_hash_ids, 0);
    cr_assert_eq(row.line, 4);
    cr_assert_eq(trace_next(r, &row, false, &err), 0);
    trace_close(r);
}

Test(trace, header_only_has_no_rows)
{
    struct totals t;
    struct sim_err err = {0};
    cr_assert_eq(read_all(TR "header_only.csv", TRACE_AUTO, false, &t, &err), 0);
    cr_assert_eq(t.rows, 0);
}

/* ---- errors ---------------------------------------------------------------------------- */

/* Read `file` and expect `n_good` rows, then an error at `where` (relative to TR). */
static void expect_row_error(const char *file, enum trace_format fmt, int n_good, const char *where,
                             const char *msg)
{
    char path[1024], full_where[1100];
    snprintf(path, sizeof path, "%s%s", TR, file);
    snprintf(full_where, sizeof full_where, "%s%s", TR, where);
    struct sim_err err = {0};
    struct trace_reader *r = trace_open(path, fmt, &err);
    cr_assert_not_null(r, "%s", err.msg);
    struct trace_row row;
    for (int i = 0; i < n_good; i++)
        cr_assert_eq(trace_next(r, &row, false, &err), 1, "%s: %s", err.where, err.msg);
    cr_assert_eq(trace_next(r, &row, false, &err), SIM_EINVAL);
    cr_assert_eq(err.code, SIM_EINVAL);
    cr_assert_str_eq(err.where, full_where);
    cr_assert_str_eq(err.msg, msg);
    trace_close(r);
}

Test(trace, azure_short_row_names_expected_columns)
{
    expect_row_error("bad_azure_columns.csv", TRACE_AUTO, 1, "bad_azure_columns.csv:3:33",
                     "expected 3 columns (TIMESTAMP,ContextTokens,GeneratedTokens), found 2");
}

Test(trace, azure_extra_column_points_at_it)
{
    expect_row_error("bad_azure_extra_column.csv", TRACE_AUTO, 0, "bad_azure_extra_column.csv:2:37",
                     "expected 3 columns (TIMESTAMP,ContextTokens,GeneratedTokens), found 4");
}

Test(trace, azure_non_integer_tokens)
{
    expect_row_error("bad_azure_int.csv", TRACE_AUTO, 1, "bad_azure_int.csv:3:29",
                     "'ContextTokens' must be an integer >= 0 (tokens), got 'abc'");
}

Test(trace, azure_negative_tokens)
{
    expect_row_error("bad_azure_negative.csv", TRACE_AUTO, 0, "bad_azure_negative.csv:2:34",
                     "'GeneratedTokens' must be an integer >= 0 (tokens), got '-5'");
}

Test(trace, azure_tokens_past_int32)
{
    expect_row_error("bad_azure_big.csv", TRACE_AUTO, 0, "bad_azure_big.csv:2:29",
                     "'ContextTokens' must be <= 2147483647 (tokens), got '3000000000'");
}

Test(trace, azure_bad_month)
{
    expect_row_error("bad_azure_timestamp.csv", TRACE_AUTO, 1, "bad_azure_timestamp.csv:3:1",
                     "'TIMESTAMP' must be a date and time like '2023-11-16 18:17:03.9799600' "
                     "or '2024-05-10 00:00:00.009930+00:00', got '2023-13-16 18:17:04.03'");
}

Test(trace, azure_offset_malformed)
{
    expect_row_error("bad_azure_offset.csv", TRACE_AUTO, 0, "bad_azure_offset.csv:2:1",
                     "'TIMESTAMP' must be a date and time like '2023-11-16 18:17:03.9799600' "
                     "or '2024-05-10 00:00:00.009930+00:00', got "
                     "'2024-05-10 00:00:00.009930+0:00'");
}

Test(trace, azure_timestamps_going_back)
{
    expect_row_error("bad_azure_backwards.csv", TRACE_AUTO, 1, "bad_azure_backwards.csv:3:1",
                     "timestamps must not decrease: '2023-11-16 18:17:03.0000000' after "
                     "'2023-11-16 18:17:04.0000000'");
}

Test(trace, csv_negative_arrival)
{
    expect_row_error("bad_csv_arrival.csv", TRACE_AUTO, 1, "bad_csv_arrival.csv:3:1",
                     "'arrival_s' must be a number of seconds >= 0, got '-1.5'");
}

Test(trace, csv_arrivals_going_back)
{
    expect_row_error("bad_csv_backwards.csv", TRACE_CSV, 1, "bad_csv_backwards.csv:3:1",
                     "timestamps must not decrease: '2.25' after '2.5'");
}

Test(trace, mooncake_invalid_json_with_column)
{
    /* cJSON stops at the ']' after the trailing comma (column 76) */
    expect_row_error("bad_mooncake_json.jsonl", TRACE_AUTO, 1, "bad_mooncake_json.jsonl:2:76",
                     "expected one JSON object per line, found invalid JSON at ']}'");
}

Test(trace, mooncake_truncated_line)
{
    expect_row_error("bad_mooncake_truncated.jsonl", TRACE_AUTO, 0,
                     "bad_mooncake_truncated.jsonl:1:75",
                     "expected one JSON object per line, found the line ends inside the JSON");
}

Test(trace, mooncake_string_length)
{
    expect_row_error("bad_mooncake_field.jsonl", TRACE_AUTO, 0, "bad_mooncake_field.jsonl:1:18",
                     "'input_length' must be an integer in [0, 2147483647] (tokens), got '\"10\"'");
}

Test(trace, mooncake_length_past_int32_says_the_range)
{
    /* 3e9 is an integer >= 0, so the message must name the upper bound it broke */
    expect_row_error("bad_mooncake_range.jsonl", TRACE_AUTO, 0, "bad_mooncake_range.jsonl:1:38",
                     "'output_length' must be an integer in [0, 2147483647] (tokens), got "
                     "'3000000000'");
}

Test(trace, mooncake_missing_member)
{
    expect_row_error("bad_mooncake_missing.jsonl", TRACE_AUTO, 0, "bad_mooncake_missing.jsonl:1:1",
                     "missing 'output_length': expected an integer in [0, 2147483647] (tokens)");
}

Test(trace, mooncake_negative_hash_id)
{
    expect_row_error("bad_mooncake_hash.jsonl", TRACE_AUTO, 0, "bad_mooncake_hash.jsonl:1:58",
                     "'hash_ids[1]' must be an integer in 0..4294967295, got '-2'");
}

Test(trace, mooncake_timestamps_going_back)
{
    expect_row_error("bad_mooncake_backwards.jsonl", TRACE_AUTO, 1,
                     "bad_mooncake_backwards.jsonl:2:2",
                     "timestamps must not decrease: '50' after '100'");
}

Test(trace, mooncake_line_not_an_object)
{
    expect_row_error("bad_mooncake_array.jsonl", TRACE_MOONCAKE, 0, "bad_mooncake_array.jsonl:1:1",
                     "expected one JSON object per line, found another JSON value");
}

Test(trace, unknown_header_is_rejected_on_open)
{
    struct sim_err err = {0};
    cr_assert_null(trace_open(TR "bad_header.csv", TRACE_AUTO, &err));
    cr_assert_eq(err.code, SIM_EINVAL);
    cr_assert_str_eq(err.where, TR "bad_header.csv:1:1");
    cr_assert_str_eq(err.msg,
                     "cannot tell the trace format from the first line 'time,prompt,output': "
                     "expected the header 'TIMESTAMP,ContextTokens,GeneratedTokens' (azure) or "
                     "'arrival_s,prompt_tokens,output_tokens' (csv), or a JSON object "
                     "(mooncake)");
}

Test(trace, explicit_format_checks_the_header)
{
    struct sim_err err = {0};
    cr_assert_null(trace_open(TR "plain.csv", TRACE_AZURE, &err));
    cr_assert_eq(err.code, SIM_EINVAL);
    cr_assert_str_eq(err.where, TR "plain.csv:1:1");
    cr_assert_str_eq(err.msg, "expected the header 'TIMESTAMP,ContextTokens,GeneratedTokens' "
                              "(format 'azure'), got 'arrival_s,prompt_tokens,output_tokens'");
}

Test(trace, empty_file_is_rejected)
{
    struct sim_err err = {0};
    cr_assert_null(trace_open(TR "empty.csv", TRACE_AUTO, &err));
    cr_assert_eq(err.code, SIM_EINVAL);
    cr_assert_str_eq(err.where, TR "empty.csv:1");
    cr_assert_str_eq(err.msg, "the trace is empty: expected the header "
                              "'TIMESTAMP,ContextTokens,GeneratedTokens' (azure) or "
                              "'arrival_s,prompt_tokens,output_tokens' (csv), or a JSON object "
                              "per line (mooncake)");
}

Test(trace, missing_file_is_enoent)
{
    struct sim_err err = {0};
    cr_assert_null(trace_open(TR "no_such_trace.csv", TRACE_AUTO, &err));
    cr_assert_eq(err.code, SIM_ENOENT);
    cr_assert_str_eq(err.where, TR "no_such_trace.csv");
    cr_assert_str_eq(err.msg,
                     "cannot open the trace '" TR "no_such_trace.csv': no such file or directory");
}

/* mixed_bad.csv: 10 rows; row 3 has 'x' tokens, row 5 two columns, row 7 goes back an
 * hour. The 7 good rows hold prompts 100+200+400+600+800+900+1000 = 4000. */
Test(trace, skip_bad_rows_counts_them)
{
    struct totals t;
    struct sim_err err = {0};
    cr_assert_eq(read_all(TR "mixed_bad.csv", TRACE_AUTO, true, &t, &err), 0);
    cr_assert_eq(t.rows, 7);
    cr_assert_eq(t.prompt, 4000);
    cr_assert_eq(t.output, 400);
    cr_assert(t.sorted);
    cr_assert_eq(t.last_t, 9000000);

    struct trace_reader *r = trace_open(TR "mixed_bad.csv", TRACE_AUTO, &err);
    struct trace_row row;
    while (trace_next(r, &row, true, &err) == 1)
        ;
    cr_assert_eq(trace_bad_rows(r), 3);
    trace_close(r);
}

Test(trace, without_skip_the_first_bad_row_stops_reading)
{
    expect_row_error("mixed_bad.csv", TRACE_AUTO, 2, "mixed_bad.csv:4:29",
                     "'ContextTokens' must be an integer >= 0 (tokens), got 'x'");
}

/* ---- trace stats --------------------------------------------------------------------- */

/*
 * Percentiles computed in Python with linear interpolation between order statistics
 * (numpy's default, R type 7, what gsl_stats_quantile_from_sorted_data does) over the
 * ContextTokens and GeneratedTokens columns. Mean rate = (rows - 1) / duration.
 */
Test(trace, stats_of_the_conv_trace)
{
    struct trace_stats st;
    struct sim_err err = {0};
    cr_assert_eq(trace_stats_read(SOURCE_DIR "/traces/AzureLLMInferenceTrace_conv.csv", NULL,
                                  false, &st, &err),
                 0, "%s", err.msg);
    cr_assert_eq(st.format, TRACE_AZURE);
    cr_assert_eq(st.n_rows, 19366);
    cr_assert_eq(st.duration_us, 3501721937);
    cr_assert_float_eq(st.mean_rate_per_s, 5.5301364152832795, 1e-12);
    cr_assert_eq(st.prompt.sum_tokens, 22361870);
    cr_assert_eq(st.output.sum_tokens, 4088665);
    cr_assert_eq(st.prompt.min_tokens, 2);
    cr_assert_eq(st.prompt.max_tokens, 14050);
    cr_assert_eq(st.output.min_tokens, 7);
    cr_assert_eq(st.output.max_tokens, 1000);
    /* exact in Python's arithmetic; 1e-9 leaves room for the last bits of interpolation */
    cr_assert_float_eq(st.prompt.p50_tokens, 1020.0, 1e-9);
    cr_assert_float_eq(st.prompt.p90_tokens, 2734.5, 1e-9);
    cr_assert_float_eq(st.prompt.p99_tokens, 4142.0, 1e-9);
    cr_assert_float_eq(st.output.p50_tokens, 129.0, 1e-9);
    cr_assert_float_eq(st.output.p90_tokens, 424.0, 1e-9);
    cr_assert_float_eq(st.output.p99_tokens, 601.0, 1e-9);
    cr_assert_float_eq(st.prompt.mean_tokens, 22361870.0 / 19366.0, 1e-9);
    cr_assert_eq(st.output.n_zero, 0);
}

Test(trace, stats_of_the_code_trace)
{
    struct trace_stats st;
    struct sim_err err = {0};
    cr_assert_eq(trace_stats_read(SOURCE_DIR "/traces/AzureLLMInferenceTrace_code.csv", NULL,
                                  false, &st, &err),
                 0, "%s", err.msg);
    cr_assert_eq(st.n_rows, 8819);
    cr_assert_float_eq(st.mean_rate_per_s, 2.5663950258507633, 1e-12);
    cr_assert_float_eq(st.prompt.p90_tokens, 5187.6, 1e-6);
    cr_assert_float_eq(st.output.p99_tokens, 251.46, 1e-6);
    cr_assert_float_eq(st.output.p50_tokens, 13.0, 1e-9);
}

Test(trace, stats_count_zero_tokens_and_hash_ids)
{
    struct trace_stats st;
    struct sim_err err = {0};
    cr_assert_eq(trace_stats_read(TR "mooncake_small.jsonl", NULL, false, &st, &err), 0);
    cr_assert_eq(st.n_rows, 4);
    cr_assert_eq(st.n_hash_ids, 3003);
    cr_assert_eq(st.output.n_zero, 1);
    cr_assert_eq(st.duration_us, 2000000);
    cr_assert_float_eq(st.mean_rate_per_s, 1.5, 1e-12); /* 3 gaps in 2 s */
}

Test(trace, stats_of_a_header_only_trace_is_an_error)
{
    struct trace_stats st;
    struct sim_err err = {0};
    cr_assert_eq(trace_stats_read(TR "header_only.csv", NULL, false, &st, &err), SIM_EINVAL);
    cr_assert_str_eq(err.where, TR "header_only.csv");
    cr_assert_str_eq(err.msg, "the trace has no rows");
}
