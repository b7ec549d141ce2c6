/*
 * Traces as gateways and databases export them: workload.trace.columns over a CSV's own
 * header (BurstGPT's published CSV, LiteLLM's SpendLogs table copied out by psql, a
 * ClickHouse CSVWithNames export), times in s / ms / ISO 8601 with offsets, quoted
 * fields (RFC 4180), and gzip / zstd files told by their magic bytes.
 *
 * Expected times are worked by hand from the fixtures' text: e.g. LiteLLM's
 * '2024-11-05 19:02:13+01' is 18:02:13 UTC, 1.877 s after the first row's 18:02:11.123.
 */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "sim/workload/workload.h"

#define EX FIXTURES "/traces/export/"

static void init(void)
{
    gsl_set_error_handler_off();
}

TestSuite(trace_export, .init = init);

enum { MAXR = 16 };

struct got {
    int n;
    int64_t t[MAXR], abs_t[MAXR];
    int32_t p[MAXR], o[MAXR];
    uint64_t sess[MAXR], line[MAXR];
    uint64_t other_model;
    char note[320];
    char comp[8];
};

/* Read every row; returns trace_next's last code (0 at the end) or trace_open's error. */
static int read_rows(const char *path, const struct trace_opts *o, struct got *g,
                     struct sim_err *err)
{
    memset(g, 0, sizeof *g);
    struct trace_reader *r = trace_open_opts(path, o, err);
    if (!r)
        return err->code;
    struct trace_row row;
    int rc;
    while ((rc = trace_next(r, &row, false, err)) == 1) {
        cr_assert_lt(g->n, MAXR);
        g->t[g->n] = row.t_us;
        g->abs_t[g->n] = row.abs_t_us;
        g->p[g->n] = row.prompt_tokens;
        g->o[g->n] = row.output_tokens;
        g->sess[g->n] = row.session_id;
        g->line[g->n] = row.line;
        g->n++;
    }
    g->other_model = trace_other_model_rows(r);
    snprintf(g->note, sizeof g->note, "%s", trace_time_note(r));
    snprintf(g->comp, sizeof g->comp, "%s", trace_compression(r));
    trace_close(r);
    return rc;
}

static const struct trace_columns burst_cols = {.arrival = "Timestamp",
                                                .prompt = "Request tokens",
                                                .output = "Response tokens",
                                                .model = "Model"};

/* BurstGPT (HPMLL/BurstGPT, data/BurstGPT_1.csv): seconds from the trace's start, two
 * models, failed requests with 0 response tokens, columns llmcap does not read. */
Test(trace_export, burstgpt_one_model_relative_seconds)
{
    struct trace_opts o = {.format = TRACE_AUTO, .columns = &burst_cols, .time_format = TIME_S,
                           .model = "ChatGPT"};
    struct got g;
    struct sim_err err = {0};
    cr_assert_eq(read_rows(EX "burstgpt_sample.csv", &o, &g, &err), 0, "%s: %s", err.where,
                 err.msg);
    cr_assert_eq(g.n, 4);
    const int64_t t[4] = {0, 40000000, 129000000, 182000000};
    const int32_t p[4] = {472, 1087, 1360, 255}, out[4] = {18, 0, 410, 106};
    const uint64_t line[4] = {2, 3, 5, 7};
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(g.t[i], t[i], "row %d: %lld", i, (long long)g.t[i]);
        cr_expect_eq(g.p[i], p[i]);
        cr_expect_eq(g.o[i], out[i]);
        cr_expect_eq(g.line[i], line[i]);
        cr_expect_eq(g.sess[i], 0);
    }
    cr_expect_eq(g.other_model, 2);
    cr_expect_str_eq(g.note, "s");
    cr_expect_str_eq(g.comp, "plain");
}

/* "5" under a column named "Timestamp" could be seconds or milliseconds: refused. */
Test(trace_export, burstgpt_auto_time_refuses_to_guess)
{
    struct trace_opts o = {.columns = &burst_cols, .model = "ChatGPT"};
    struct got g;
    struct sim_err err = {0};
    cr_assert_eq(read_rows(EX "burstgpt_sample.csv", &o, &g, &err), SIM_EINVAL);
    cr_expect_str_eq(err.where, EX "burstgpt_sample.csv:2:1");
    cr_expect_str_eq(err.msg, "cannot tell the unit of 'Timestamp' from its first value '5' (no "
                              "epoch time of 2000-2100 in s, ms or us, and no unit in the "
                              "column's name): set workload.trace.time_format to s, ms or us");
}

/* Two models and none chosen: a run simulates one deployment, so it is an error at the
 * first row of the second model. */
Test(trace_export, burstgpt_two_models_without_choice)
{
    struct trace_opts o = {.columns = &burst_cols, .time_format = TIME_S};
    struct got g;
    struct sim_err err = {0};
    cr_assert_eq(read_rows(EX "burstgpt_sample.csv", &o, &g, &err), SIM_EINVAL);
    cr_expect_eq(g.n, 2);
    cr_expect_str_eq(err.where, EX "burstgpt_sample.csv:4:5");
    cr_expect_str_eq(err.msg, "the trace has requests for more than one model ('ChatGPT' from "
                              "line 2, 'GPT-4' here) and a run simulates one: choose its rows "
                              "with workload.trace.model");
}

static const struct trace_columns litellm_cols = {.arrival = "startTime",
                                                  .prompt = "prompt_tokens",
                                                  .output = "completion_tokens",
                                                  .model = "model",
                                                  .session = "session_id"};

/* LiteLLM_SpendLogs via psql \copy ... CSV HEADER: timestamptz with '+00' and '+01'
 * offsets, JSON columns quoted with "" escapes, commas inside quotes, a line break inside a
 * quoted field (the record spans lines 3-4), an embedding model's row to leave out. */
Test(trace_export, litellm_spendlogs_iso_offsets_quotes_sessions)
{
    struct trace_opts o = {.columns = &litellm_cols,
                           .model = "meta-llama/Llama-3.1-8B-Instruct"};
    struct got g;
    struct sim_err err = {0};
    cr_assert_eq(read_rows(EX "litellm_spendlogs.csv", &o, &g, &err), 0, "%s: %s", err.where,
                 err.msg);
    cr_assert_eq(g.n, 3);
    /* 18:02:11.123Z, 18:02:11.500Z, 19:02:13+01 = 18:02:13Z */
    const int64_t t[3] = {0, 377000, 1877000};
    const uint64_t line[3] = {2, 3, 6};
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(g.t[i], t[i], "row %d: %lld", i, (long long)g.t[i]);
        cr_expect_eq(g.line[i], line[i]);
    }
    /* 2024-11-05T18:02:11.123Z: 20032 days since 1970-01-01 */
    cr_expect_eq(g.abs_t[0], (20032LL * 86400 + 18 * 3600 + 2 * 60 + 11) * 1000000 + 123000);
    cr_expect_eq(g.p[2], 2048);
    cr_expect_eq(g.o[2], 452);
    cr_expect_neq(g.sess[0], 0);
    cr_expect_eq(g.sess[0], g.sess[2]); /* both sess-a1 */
    cr_expect_neq(g.sess[0], g.sess[1]);
    cr_expect_eq(g.other_model, 1);
    cr_expect_str_eq(g.note, "iso8601 (auto: '2024-11-05 18:02:11.123+00' is a date and time)");
}

Test(trace_export, litellm_two_models_error_points_at_the_model)
{
    struct trace_opts o = {.columns = &litellm_cols};
    struct got g;
    struct sim_err err = {0};
    cr_assert_eq(read_rows(EX "litellm_spendlogs.csv", &o, &g, &err), SIM_EINVAL);
    cr_expect_str_eq(err.where, EX "litellm_spendlogs.csv:5:111");
    cr_expect(strstr(err.msg, "'text-embedding-3-small' here") != NULL, "%s", err.msg);
}

static const struct trace_columns ch_cols = {.arrival = "ts",
                                             .prompt = "input_tokens",
                                             .output = "output_tokens",
                                             .session = "conversation_id"};

/* ClickHouse `FORMAT CSVWithNames`: quoted header and strings, epoch milliseconds (one
 * with a fraction), a row with an empty session; the same rows from the plain file, gzip,
 * zstd, gzip named .csv and two concatenated gzip members. */
Test(trace_export, clickhouse_epoch_ms_every_compression)
{
    static const char *const files[] = {"gateway_clickhouse.csv", "gateway_clickhouse.csv.gz",
                                        "gateway_clickhouse.csv.zst", "gzip_named_plain.csv",
                                        "gateway_two_members.csv.gz"};
    static const char *const comp[] = {"plain", "gzip", "zstd", "gzip", "gzip"};
    for (size_t f = 0; f < 5; f++) {
        char path[1024];
        snprintf(path, sizeof path, EX "%s", files[f]);
        struct trace_opts o = {.columns = &ch_cols};
        struct got g;
        struct sim_err err = {0};
        cr_assert_eq(read_rows(path, &o, &g, &err), 0, "%s: %s: %s", files[f], err.where,
                     err.msg);
        cr_assert_eq(g.n, 5, "%s", files[f]);
        const int64_t t[5] = {0, 503000, 1241000, 2991500, 2991500};
        const int32_t p[5] = {2048, 512, 1024, 77, 300};
        for (int i = 0; i < 5; i++) {
            cr_expect_eq(g.t[i], t[i], "%s row %d: %lld", files[f], i, (long long)g.t[i]);
            cr_expect_eq(g.p[i], p[i]);
        }
        cr_expect_eq(g.sess[0], g.sess[2]); /* c-001 twice */
        cr_expect_eq(g.sess[3], 0);         /* "" : no session */
        cr_expect_str_eq(g.comp, comp[f], "%s", files[f]);
        cr_expect_str_eq(g.note,
                         "ms (auto: '1715299200009' is 2024-05-10T00:00:00.009000Z as epoch "
                         "milliseconds)");
    }
}

Test(trace_export, truncated_gzip_and_corrupt_zstd_say_so)
{
    struct trace_opts o = {.columns = &ch_cols};
    struct got g;
    struct sim_err err = {0};
    cr_assert_eq(read_rows(EX "truncated.csv.gz", &o, &g, &err), SIM_EINVAL);
    cr_expect(strstr(err.msg, "the gzip stream ends early") != NULL, "%s", err.msg);
    memset(&err, 0, sizeof err);
    cr_assert_eq(read_rows(EX "corrupt.csv.zst", &o, &g, &err), SIM_EINVAL);
    cr_expect(strstr(err.msg, "the zstd stream is corrupt") != NULL, "%s", err.msg);
}

/* Write `text` to a temporary file (gzip-compressed when `gz`); returns its path. */
static void write_tmp(char *path, size_t n, const char *text, bool gz)
{
    snprintf(path, n, "/tmp/llmcap-trace-export-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    if (gz) {
        gzFile z = gzdopen(fd, "wb");
        cr_assert_not_null(z);
        cr_assert_eq(gzwrite(z, text, (unsigned)strlen(text)), (int)strlen(text));
        cr_assert_eq(gzclose(z), Z_OK);
    } else {
        FILE *f = fdopen(fd, "w");
        cr_assert_not_null(f);
        fputs(text, f);
        fclose(f);
    }
}

/* ISO 8601 offsets as exports write them: +HH:MM, +HHMM, +HH, Z; all the same instant
 * plus whole seconds. */
Test(trace_export, iso8601_offset_forms)
{
    char path[64];
    write_tmp(path, sizeof path,
              "when,in,out\n"
              "2024-05-10T05:30:00+05:30,1,1\n"
              "2024-05-10T00:00:01Z,1,1\n"
              "2024-05-09T19:00:02-0500,1,1\n"
              "2024-05-10 00:00:03.25+00,1,1\n"
              "2024-05-10t00:00:04z,1,1\n",
              false);
    struct trace_columns c = {.arrival = "when", .prompt = "in", .output = "out"};
    struct trace_opts o = {.columns = &c, .time_format = TIME_ISO8601};
    struct got g;
    struct sim_err err = {0};
    int rc = read_rows(path, &o, &g, &err);
    remove(path);
    cr_assert_eq(rc, 0, "%s: %s", err.where, err.msg);
    cr_assert_eq(g.n, 5);
    const int64_t t[5] = {0, 1000000, 2000000, 3250000, 4000000};
    for (int i = 0; i < 5; i++)
        cr_expect_eq(g.t[i], t[i], "row %d: %lld", i, (long long)g.t[i]);
    cr_expect_eq(g.abs_t[0], 1715299200LL * 1000000);
}

/* The unit named by the column ("arrival_ms", "t (us)") decides; pandas' "512.0" counts. */
Test(trace_export, unit_from_the_column_name_and_float_counts)
{
    char path[64];
    write_tmp(path, sizeof path, "arrival_ms,prompt,output\n0,512.0,64\n1500,100,8.00\n", true);
    struct trace_columns c = {.arrival = "arrival_ms", .prompt = "prompt", .output = "output"};
    struct trace_opts o = {.columns = &c};
    struct got g;
    struct sim_err err = {0};
    int rc = read_rows(path, &o, &g, &err);
    remove(path);
    cr_assert_eq(rc, 0, "%s: %s", err.where, err.msg);
    cr_assert_eq(g.n, 2);
    cr_expect_eq(g.t[1], 1500000);
    cr_expect_eq(g.p[0], 512);
    cr_expect_eq(g.o[1], 8);
    cr_expect_str_eq(g.comp, "gzip");
    cr_expect_str_eq(g.note, "ms (auto: the column's name 'arrival_ms' says so)");
}

Test(trace_export, missing_column_lists_the_header)
{
    struct trace_columns c = {.arrival = "ts", .prompt = "prompt_tokens", .output = "output"};
    struct trace_opts o = {.columns = &c};
    struct got g;
    struct sim_err err = {0};
    cr_assert_eq(read_rows(EX "gateway_clickhouse.csv.zst", &o, &g, &err), SIM_EINVAL);
    cr_expect_str_eq(err.where, EX "gateway_clickhouse.csv.zst:1:1");
    cr_expect_str_eq(err.msg, "the header has no column 'prompt_tokens' "
                              "(workload.trace.columns.prompt_tokens); its columns are 'ts', "
                              "'model', 'input_tokens', 'output_tokens', 'conversation_id', "
                              "'status', 'user_agent'");
}

/* Read `text` as a CSV with columns t_s, p, o; expect an error at `line:col`. */
static void expect_text_error(const char *text, int n_good, int line, int col, const char *msg)
{
    char path[64];
    write_tmp(path, sizeof path, text, false);
    struct trace_columns c = {.arrival = "t_s", .prompt = "p", .output = "o"};
    struct trace_opts o = {.columns = &c};
    struct got g;
    struct sim_err err = {0};
    int rc = read_rows(path, &o, &g, &err);
    char where[96];
    snprintf(where, sizeof where, "%s:%d:%d", path, line, col);
    remove(path);
    cr_assert_eq(rc, SIM_EINVAL);
    cr_expect_eq(g.n, n_good);
    cr_expect_str_eq(err.where, where);
    cr_expect_str_eq(err.msg, msg);
}

Test(trace_export, row_with_more_columns_than_the_header)
{
    expect_text_error("t_s,p,o,note\n1,2,3,ok\n2,2,3,an unquoted, comma\n", 1, 3, 19,
                      "expected 4 columns as in the header, found 5");
}

Test(trace_export, quote_never_closed)
{
    expect_text_error("t_s,p,o,note\n1,2,3,\"open\n2,2,3,x\n", 0, 2, 1,
                      "a quoted field opened on this line is never closed (the file ends "
                      "inside it)");
}

Test(trace_export, text_after_a_closing_quote)
{
    expect_text_error("t_s,p,o,note\n1,2,3,\"a\"b\n", 0, 2, 10,
                      "expected ',' or the end of the line after a closing quote");
}

/* The fixed formats read through the same stream: an Azure 2024 file, gzipped. */
Test(trace_export, azure_gzipped_auto_detected)
{
    FILE *f = fopen(FIXTURES "/traces/azure2024_lf.csv", "rb");
    cr_assert_not_null(f);
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char path[64];
    write_tmp(path, sizeof path, text, true);
    struct trace_opts o = {.format = TRACE_AUTO};
    struct got gz, plain;
    struct sim_err err = {0};
    int rc = read_rows(path, &o, &gz, &err);
    remove(path);
    cr_assert_eq(rc, 0, "%s: %s", err.where, err.msg);
    cr_assert_eq(read_rows(FIXTURES "/traces/azure2024_lf.csv", &o, &plain, &err), 0);
    cr_assert_eq(gz.n, plain.n);
    cr_assert_gt(gz.n, 0);
    for (int i = 0; i < gz.n; i++)
        cr_expect_eq(gz.abs_t[i], plain.abs_t[i]);
    cr_expect_str_eq(gz.comp, "gzip");
}

Test(trace_export, stats_counts_sessions_and_other_models)
{
    struct trace_opts o = {.columns = &litellm_cols,
                           .model = "meta-llama/Llama-3.1-8B-Instruct"};
    struct trace_stats st;
    struct sim_err err = {0};
    cr_assert_eq(trace_stats_read(EX "litellm_spendlogs.csv", &o, false, &st, &err), 0, "%s",
                 err.msg);
    cr_expect_eq(st.n_rows, 3);
    cr_expect_eq(st.n_sessions, 2);
    cr_expect_eq(st.n_other_model, 1);
    cr_expect_eq(st.prompt.sum_tokens, 1024 + 301 + 2048);
    cr_expect_eq(st.duration_us, 1877000);
    struct trace_opts oc = {.columns = &ch_cols};
    cr_assert_eq(trace_stats_read(EX "gateway_clickhouse.csv.zst", &oc, false, &st, &err), 0);
    cr_expect_eq(st.n_sessions, 3);
    cr_expect_str_eq(st.compression, "zstd");
}
