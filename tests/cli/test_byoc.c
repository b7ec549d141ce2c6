/*
 * Bring your own cluster: a scenario whose objects are pasted as kubectl and az print
 * them runs, and the run records the fields it ignored once (run_notes, --json, validate).
 */
#include <sqlite3.h>

#include "cli_run.h"

#define SC FIXTURES "/scenarios/byoc_pasted.yaml"

Test(cli_byoc, pasted_objects_run_and_the_ignored_fields_are_recorded_once)
{
    char dir[] = "/tmp/llmcap-byoc-XXXXXX", db[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/run.db", dir);
    char *argv[] = {"llmcap", "run", SC, "-o", db, "--no-progress", NULL};
    struct cli_result r;
    cli_run(NULL, argv, 60, &r);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "  ignored    46 fields of pasted objects") != NULL, "%s", r.out);
    cli_result_free(&r);
    sqlite3 *h;
    cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT value FROM run_notes WHERE key = 'ignored_fields'",
                                    -1, &st, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    const char *v = (const char *)sqlite3_column_text(st, 0);
    cr_expect(strstr(v, "fleet.autoscaler.scaledObject.metadata.managedFields; ") != NULL, "%s",
              v);
    cr_expect(strstr(v, "cluster.aks.nodePools.*.osDiskSizeGb; ") != NULL, "%s", v);
    /* once, though both GPU pools print it */
    const char *first = strstr(v, "osDiskSizeGb");
    cr_expect(first && !strstr(first + 1, "osDiskSizeGb"), "%s", v);
    cr_expect(strstr(v, "scanInterval") == NULL, "a modelled key listed: %s", v);
    sqlite3_finalize(st);
    sqlite3_close(h);

    /* merge carries the notes */
    char merged[80];
    snprintf(merged, sizeof merged, "%s/merged.db", dir);
    char *margv[] = {"llmcap", "merge", merged, db, NULL};
    cli_run(NULL, margv, 60, &r);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cli_result_free(&r);
    cr_assert_eq(sqlite3_open(merged, &h), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT count(*) FROM run_notes", -1, &st, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_expect_eq(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    sqlite3_close(h);
    unlink(merged);
    unlink(db);
    rmdir(dir);

    char *vargv[] = {"llmcap", "validate", SC, NULL};
    cli_run(NULL, vargv, 60, &r);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "cluster.aks.autoscalerProfile.okTotalUnreadyCount") != NULL, "%s",
              r.out);
    cli_result_free(&r);
    char *jargv[] = {"llmcap", "run", SC, "--json", "--no-progress", NULL};
    cli_run(NULL, jargv, 60, &r);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "\"ignored_fields\": [\"fleet.autoscaler.scaledObject.metadata.") !=
                  NULL,
              "%s", r.out);
    cli_result_free(&r);
}
