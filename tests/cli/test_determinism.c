/* Determinism end to end: the same scenario, workload and seed give the same rows, byte
 * for byte, through the CLI and the database; another seed gives other rows. */
#include "tests/reports/helpers.h" /* dump(): every row of a query, full precision */

#define SCENARIO FIXTURES "/determinism/full.yaml"

static void run_into(const char *db, const char *extra)
{
    char cmd[2048];
    unlink(db);
    snprintf(cmd, sizeof cmd, "%s run %s -o %s --quiet %s", LLMCAP_BIN, SCENARIO, db,
             extra ? extra : "");
    int status = system(cmd);
    cr_assert(WIFEXITED(status), "%s", cmd);
    /* 0 or 1 (an SLO may fail): both wrote the run */
    cr_assert_leq(WEXITSTATUS(status), 1, "%s exited %d", cmd, WEXITSTATUS(status));
}

static const char *const tables[] = {
    "SELECT * FROM requests ORDER BY request_id",
    "SELECT * FROM summary ORDER BY key",
    "SELECT * FROM slo_results ORDER BY slo",
    "SELECT * FROM samples ORDER BY t_s, metric, replica",
    "SELECT * FROM scaling_events ORDER BY t_s, source",
    "SELECT * FROM pods ORDER BY pod_id",
    "SELECT * FROM nodes ORDER BY node_id",
    "SELECT scenario_name, scenario_sha256, overrides, seed, latency_model, "
    "latency_provenance, sim_end_s, n_events, n_requests FROM runs",
};

Test(determinism, same_scenario_and_seed_give_identical_rows_in_every_table)
{
    /* Gamma arrivals with a diurnal curve and a spike, lognormal and exponential lengths,
     * KEDA + HPA, Karpenter with spot interruptions and lognormal node latencies: every
     * random stream is drawn. */
    /* per-process paths: another checkout may run the same test at the same time */
    char a[64], b[64];
    snprintf(a, sizeof a, "/tmp/llmcap-det-a-%ld.db", (long)getpid());
    snprintf(b, sizeof b, "/tmp/llmcap-det-b-%ld.db", (long)getpid());
    run_into(a, NULL);
    run_into(b, NULL);
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char *x = dump(a, tables[i]), *y = dump(b, tables[i]);
        cr_assert(strlen(x) > 0, "%s returned nothing", tables[i]);
        cr_assert(strcmp(x, y) == 0, "%s differs between two runs", tables[i]);
        free(x);
        free(y);
    }
    /* The run is not trivial: requests, spot interruptions and scaling happened. */
    char *n = dump(a, "SELECT count(*) FROM pods WHERE end_reason = 'spot-interruption'");
    cr_assert_neq(strcmp(n, "0|\n"), 0, "the scenario should see a spot interruption");
    free(n);
    unlink(a);
    unlink(b);
}

Test(determinism, another_seed_gives_other_rows)
{
    /* per-process paths: another checkout may run the same test at the same time */
    char a[64], b[64];
    snprintf(a, sizeof a, "/tmp/llmcap-det-c-%ld.db", (long)getpid());
    snprintf(b, sizeof b, "/tmp/llmcap-det-d-%ld.db", (long)getpid());
    run_into(a, NULL);
    run_into(b, "--seed 78");
    char *x = dump(a, tables[0]), *y = dump(b, tables[0]);
    cr_assert(strcmp(x, y) != 0);
    free(x);
    free(y);
    unlink(a);
    unlink(b);
}
