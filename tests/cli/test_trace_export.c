/*
 * test_trace_export.c: the command line on traces as they are exported: `llmcap trace
 * stats` on a zstd ClickHouse export read by --columns, a run whose scenario maps a
 * LiteLLM SpendLogs copy (its other model's row recorded in the summary), and the
 * refusal of a time column whose unit cannot be told.
 */
#include <sqlite3.h>

#include "tests/cli/cli_run.h"

#define EX FIXTURES "/traces/export/"

Test(cli_trace_export, stats_on_zstd_with_columns)
{
    char *argv[] = {"llmcap", "trace", "stats", EX "gateway_clickhouse.csv.zst", "--columns",
                    "arrival=ts,prompt_tokens=input_tokens,output_tokens=output_tokens,"
                    "session=conversation_id",
                    "--json", NULL};
    struct cli_result r;
    cli_run(NULL, argv, 60, &r);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "\"rows\": 5,") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"compression\": \"zstd\"") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"sessions\": 3,") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"duration_s\": 2.9914999999999998") != NULL, "%s", r.out);
    cli_result_free(&r);
}

Test(cli_trace_export, stats_refuses_an_ambiguous_time_unit)
{
    char *argv[] = {"llmcap", "trace", "stats", EX "burstgpt_sample.csv", "--columns",
                    "arrival=Timestamp,prompt_tokens=Request tokens,output_tokens=Response "
                    "tokens,model=Model",
                    "--model", "GPT-4", NULL};
    struct cli_result r;
    cli_run(NULL, argv, 60, &r);
    cr_expect_eq(r.status, 2);
    cr_expect(strstr(r.err, "burstgpt_sample.csv:4:1: error: cannot tell the unit of "
                            "'Timestamp' from its first value '118'") != NULL,
              "%s", r.err);
    cli_result_free(&r);
    char *argv2[] = {"llmcap", "trace", "stats", EX "burstgpt_sample.csv", "--columns",
                     "arrival=Timestamp,prompt_tokens=Request tokens,output_tokens=Response "
                     "tokens,model=Model",
                     "--model", "GPT-4", "--time-format", "s", NULL};
    cli_run(NULL, argv2, 60, &r);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "rows           2\n") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "other models   4 rows skipped") != NULL, "%s", r.out);
    cli_result_free(&r);
}

Test(cli_trace_export, run_records_how_the_trace_was_read)
{
    char dir[] = "/tmp/llmcap-trace-export-XXXXXX", db[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/run.db", dir);
    char *argv[] = {"llmcap", "run", FIXTURES "/scenarios/trace_litellm_columns.yaml", "-o", db,
                    "--no-progress", NULL};
    struct cli_result r;
    cli_run(NULL, argv, 60, &r);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "rows of other models left out 1") != NULL, "%s", r.out);
    cli_result_free(&r);
    sqlite3 *h;
    cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h,
                                    "SELECT (SELECT count(*) FROM requests), (SELECT value FROM "
                                    "summary WHERE key = 'trace_other_model_rows'), (SELECT "
                                    "max(arrival_s) FROM requests)",
                                    -1, &st, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_expect_eq(sqlite3_column_int(st, 0), 3);
    cr_expect_eq(sqlite3_column_int(st, 1), 1);
    cr_expect_float_eq(sqlite3_column_double(st, 2), 1.877, 1e-9);
    sqlite3_finalize(st);
    sqlite3_close(h);
    unlink(db);
    rmdir(dir);
}
