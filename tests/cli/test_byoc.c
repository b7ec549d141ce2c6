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
    /* 44: the pools' availabilityZones label their nodes (topology spread) and their
     * maxPods sets the nodes' kube-reserved memory (allocatable): not ignored */
    cr_expect(strstr(r.out, "  ignored    44 fields of pasted objects") != NULL, "%s", r.out);
    /* one pod: singular */
    cr_expect(strstr(r.out, "1 at peak, 1 pod created, ") != NULL, "%s", r.out);
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
    cr_expect(strstr(v, "availabilityZones") == NULL, "a modelled key listed: %s", v);
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
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT group_concat(key || '=' || substr(value, 1, 12), "
                                       "'; ') FROM run_notes",
                                    -1, &st, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    /* the ignored fields and the cloud (AKS: the nodes' zone column is the region) */
    cr_expect_str_eq((const char *)sqlite3_column_text(st, 0),
                     "cloud_region=azure eastus; ignored_fields=fleet.autosc");
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

Test(cli_byoc, zone_names_map_to_ids_and_the_run_records_both)
{
    /* good_zone_names.yaml: spot g6e.xlarge in us-east-1a or us-east-1c, i.e. use1-az4 or
     * use1-az1 through the describe-availability-zones fixture; its one node lands in one
     * of those two IDs, and run_notes names every cluster zone. */
    char dir[] = "/tmp/llmcap-zones-XXXXXX", db[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/run.db", dir);
    char *argv[] = {"llmcap", "run", FIXTURES "/cluster/good_zone_names.yaml", "-o", db,
                    "--no-progress", NULL};
    struct cli_result r;
    cli_run(NULL, argv, 60, &r);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cli_result_free(&r);
    sqlite3 *h;
    cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT value FROM run_notes WHERE key = 'zone_names'",
                                    -1, &st, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_expect_str_eq((const char *)sqlite3_column_text(st, 0),
                     "use1-az1=us-east-1c; use1-az2=us-east-1d; use1-az3=us-east-1e; "
                     "use1-az4=us-east-1a; use1-az5=us-east-1f; use1-az6=us-east-1b");
    sqlite3_finalize(st);
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT zone FROM nodes", -1, &st, NULL), SQLITE_OK);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *z = (const char *)sqlite3_column_text(st, 0);
        cr_expect(!strcmp(z, "use1-az1") || !strcmp(z, "use1-az4"), "node in %s", z);
        n++;
    }
    cr_expect_gt(n, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    unlink(db);
    rmdir(dir);
}

Test(cli_byoc, validate_reads_the_routed_trace_of_several_deployments)
{
    /* validate reads every row the run would read: the routed trace of two deployments
     * (refused before as "requests for more than one model"), and a bad row in it is
     * reported at its line, as run reports it. */
    struct cli_result r;
    char *argv[] = {"llmcap", "validate", FIXTURES "/multi/routed.yaml", NULL};
    cli_run(NULL, argv, 60, &r);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cli_result_free(&r);

    char dir[] = "/tmp/llmcap-routed-XXXXXX", path[128], cmd[512];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(cmd, sizeof cmd, "cp %s/multi/routed.yaml %s/ && printf 'ts,model,prompt,output\\n"
                              "0.0,chat-8b,100,10\\n0.5,code-llama,many,20\\n' > %s/routed.csv",
             FIXTURES, dir, dir);
    cr_assert_eq(system(cmd), 0);
    snprintf(path, sizeof path, "%s/routed.yaml", dir);
    char *bargv[] = {"llmcap", "validate", path, NULL};
    cli_run(NULL, bargv, 60, &r);
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_expect(strstr(r.err, "routed.csv:3:") != NULL, "%s", r.err);
    cli_result_free(&r);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
