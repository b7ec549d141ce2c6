/* The plan report: the Pareto chart and tables of a `llmcap plan -o DB`. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int sh(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

Test(plan_report, writes_the_answer_the_frontier_and_the_chart)
{
    /* The hand-worked plan of tests/sim/test_plan.c: the L40S instance at 3 replicas,
     * $6/h, is the answer and the only point on the frontier (same latency, cheaper). */
    char db[] = "/tmp/llmcap-plan-report.db", dir[] = "/tmp/llmcap-plan-report";
    unlink(db);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s plan %s -j 2 -o %s -q >/dev/null", LLMCAP_BIN,
             FIXTURES "/plan/two_gpus.yaml", db);
    cr_assert_eq(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s && %s report %s --plan last -o %s -q", dir, LLMCAP_BIN,
             db, dir);
    cr_assert_eq(sh(cmd), 0);
    const char *md = slurp("/tmp/llmcap-plan-report/plan.md");
    cr_assert(strstr(md, "The cheapest configuration that meets every SLO: test-b.l40s tp1 "
                         "bf16 seqs=1, 3 replicas at $6.00 an hour"),
              "%s", md);
    cr_assert(strstr(md, "2 configurations searched"), "%s", md);
    cr_assert(strstr(md, "**test-b.l40s tp1 bf16 seqs=1 (best)**"));
    struct stat st;
    if (access("/usr/bin/gnuplot", X_OK) == 0)
        cr_assert(stat("/tmp/llmcap-plan-report/pareto.svg", &st) == 0 && st.st_size > 1000);
    cr_assert(stat("/tmp/llmcap-plan-report/plan.html", &st) == 0 && st.st_size > 1000);
    /* a plan id that is not there */
    snprintf(cmd, sizeof cmd, "%s report %s --plan 7 -o %s -q 2>/dev/null", LLMCAP_BIN, db, dir);
    cr_assert_eq(sh(cmd), 2);
    unlink(db);
}
