/* `llmcap plan --shard i/N` + `llmcap merge` gives the plan run unsharded. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reports/db.h"

TestSuite(plan_shard, .timeout = 120);

/* A folder of this process's own: other worktrees run the same test at the same time. */
static char dir[256];

static void sh(const char *cmd)
{
    int status = system(cmd);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: status %d", cmd, status);
}

struct dump {
    char *buf;
    size_t len, cap;
};

static int dump_row(void *ctx, const struct db_value *c, int n)
{
    struct dump *d = ctx;
    for (int i = 0; i < n; i++) {
        char v[512];
        if (c[i].type == DB_NULL)
            snprintf(v, sizeof v, "NULL|");
        else if (c[i].type == DB_TEXT)
            snprintf(v, sizeof v, "%s|", c[i].s);
        else if (c[i].type == DB_INT)
            snprintf(v, sizeof v, "%lld|", (long long)c[i].i);
        else
            snprintf(v, sizeof v, "%.17g|", c[i].d);
        size_t k = strlen(v);
        if (d->len + k + 2 > d->cap) {
            d->cap = 2 * (d->len + k + 2);
            d->buf = realloc(d->buf, d->cap);
            cr_assert_not_null(d->buf);
        }
        memcpy(d->buf + d->len, v, k + 1);
        d->len += k;
    }
    d->buf[d->len++] = '\n';
    d->buf[d->len] = 0;
    return 0;
}

/* Every column but plan_id and created_utc of plan `which` ("whole": the last plan, or the
 * combined one), rows by configuration index. */
static char *dump_plan(const char *path, const char *shard)
{
    struct sim_err err = {0};
    struct db *db = db_open_readonly(path, &err);
    cr_assert_not_null(db, "%s", err.msg);
    struct dump d = {0};
    struct db_value v = db_text(shard);
    int rc = db_query(
        db,
        "SELECT p.config_index, p.label, p.fits, p.feasible, p.reason, p.max_rate_scale, "
        "p.search_runs, p.replicas, p.replica_hours, p.usd_per_hour, p.cost_usd, p.usd_per_mtok, "
        "p.ttft_p95_s, p.tpot_p95_s, p.error_rate_frac, p.slo_margin_frac, p.pareto, p.best, "
        "b.billing, b.node_type, b.gpus_per_node, b.nodes, b.node_hours, b.usd_per_node_hour, "
        "b.est_cost_usd_per_hour, b.verify, b.verified_cost_usd, b.verified_usd_per_hour, "
        "b.verify_note FROM plan_results p JOIN plan_billing b USING (plan_id, config_index) "
        "WHERE p.plan_id = (SELECT max(plan_id) FROM plan_meta WHERE key = 'shard' AND value = ?1) "
        "ORDER BY p.config_index",
        &v, 1, dump_row, &d, &err);
    cr_assert_eq(rc, SIM_OK, "%s", err.msg);
    db_close(db);
    cr_assert_not_null(d.buf, "no rows for shard '%s' in %s", shard, path);
    return d.buf;
}

Test(plan_shard, three_shards_merged_equal_the_unsharded_plan)
{
    /* 4 hardware configurations x 2 spot shares under the verify fixture's cluster: the
     * spot test-a rows fail verification, test-8 has no spot price, TP 2 does not divide
     * test-a's one GPU; shard 0 and shard 2 each verify their own cheapest, and the merge
     * keeps only the verdicts the whole plan reaches. */
    snprintf(dir, sizeof dir, "/tmp/llmcap-test-plan-shard-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char cmd[4096], a[512], b[512];
    const char *plan = LLMCAP_BIN " plan " FIXTURES "/plan/verify.yaml -q -j 2 "
                       "--set 'plan.instances=[test-a.h100, test-8.h100]' "
                       "--set 'plan.tensor_parallel_size=[1, 2]'";
    snprintf(cmd, sizeof cmd, "%s -o %s/whole.db >/dev/null", plan, dir);
    sh(cmd);
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "%s --shard %d/3 -o %s/s%d.db >/dev/null", plan, i, dir, i);
        sh(cmd);
    }
    /* Shards in any order, one of them twice: the combined plan appears once. */
    snprintf(cmd, sizeof cmd, "%s merge -q %s/merged.db %s/s2.db %s/s0.db", LLMCAP_BIN, dir, dir,
             dir);
    sh(cmd);
    snprintf(cmd, sizeof cmd, "%s merge -q %s/merged.db %s/s0.db %s/s1.db", LLMCAP_BIN, dir, dir,
             dir);
    sh(cmd);
    snprintf(a, sizeof a, "%s/whole.db", dir);
    snprintf(b, sizeof b, "%s/merged.db", dir);
    char *whole = dump_plan(a, "0/1");
    char *merged = dump_plan(b, "all");
    cr_assert_str_eq(merged, whole);
    cr_assert(strstr(whole, "|pass|"), "the answer was verified: %s", whole);
    cr_assert(strstr(whole, "|fail|"), "a cheaper candidate failed verification: %s", whole);
    free(whole);
    free(merged);
    struct sim_err err = {0};
    struct db *db = db_open_readonly(b, &err);
    cr_assert_not_null(db);
    struct dump d = {0};
    cr_assert_eq(db_query(db, "SELECT count(*) FROM plan_meta WHERE key = 'shard' AND value = 'all'",
                          NULL, 0, dump_row, &d, &err),
                 SIM_OK);
    cr_assert_str_eq(d.buf, "1|\n");
    free(d.buf);
    db_close(db);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    sh(cmd);
}

Test(plan_shard, a_shard_without_an_output_database_is_a_usage_error)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s plan %s --shard 0/2 >/dev/null 2>&1", LLMCAP_BIN,
             FIXTURES "/plan/verify.yaml");
    int status = system(cmd);
    cr_assert(WIFEXITED(status));
    cr_assert_eq(WEXITSTATUS(status), 2);
}
