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
    /* Paths of this process's own: other worktrees run the same test at the same time. */
    char db[128], dir[128], path[192];
    snprintf(db, sizeof db, "/tmp/llmcap-plan-report-%ld.db", (long)getpid());
    snprintf(dir, sizeof dir, "/tmp/llmcap-plan-report-%ld", (long)getpid());
    unlink(db);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s plan %s -j 2 -o %s -q >/dev/null", LLMCAP_BIN,
             FIXTURES "/plan/two_gpus.yaml", db);
    cr_assert_eq(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s && %s report %s --plan last -o %s -q", dir, LLMCAP_BIN,
             db, dir);
    cr_assert_eq(sh(cmd), 0);
    snprintf(path, sizeof path, "%s/plan.md", dir);
    const char *md = slurp(path);
    cr_assert(strstr(md, "The cheapest configuration that meets every SLO: test-b.l40s tp1 "
                         "bf16 seqs=1, 3 replicas at $6.00 an hour"),
              "%s", md);
    cr_assert(strstr(md, "2 configurations searched"), "%s", md);
    /* the table: the configuration in short columns, the answer in bold */
    cr_assert(strstr(md, "| **test-b.l40s** | **1** | **bf16** | 1 | default | 3 | 6.00 |"),
              "%s", md);
    /* the chart labels each frontier point: instance, TP, dtype */
    snprintf(path, sizeof path, "%s/data/plan_frontier.tsv", dir);
    const char *front = slurp(path);
    cr_assert(strstr(front, "\ttest-b.l40s tp1 bf16\n"), "%s", front);
    snprintf(path, sizeof path, "%s/plan.gp", dir);
    const char *gp = slurp(path);
    cr_assert(strstr(gp, "using 1:2:4 with labels"), "%s", gp);
    struct stat st;
    snprintf(path, sizeof path, "%s/pareto.svg", dir);
    if (access("/usr/bin/gnuplot", X_OK) == 0)
        cr_assert(stat(path, &st) == 0 && st.st_size > 1000);
    snprintf(path, sizeof path, "%s/plan.html", dir);
    cr_assert(stat(path, &st) == 0 && st.st_size > 1000);
    /* a plan id that is not there */
    snprintf(cmd, sizeof cmd, "%s report %s --plan 7 -o %s -q 2>/dev/null", LLMCAP_BIN, db, dir);
    cr_assert_eq(sh(cmd), 2);
    unlink(db);
}

/*
 * The plan report's tables fit the page: rendered by headless Chromium in a 1000 px
 * frame (the report's column is at most 1080 px), no table is wider than its section,
 * with the longest instance names of the catalogs (Azure's Standard_ND96amsr_A100_v4).
 * The plan's rows are those of two_gpus.yaml, renamed in the database.
 */
Test(plan_report, tables_fit_the_page_in_chromium)
{
    if (system("command -v chromium >/dev/null 2>&1") != 0)
        cr_skip_test("chromium is not installed (Debian package chromium)");
    char tmp[] = "/tmp/llmcap-plan-fit-XXXXXX", db[64], dir[64], path[128];
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(db, sizeof db, "%s/plan.db", tmp);
    snprintf(dir, sizeof dir, "%s/report", tmp);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s plan %s -j 2 -o %s -q >/dev/null", LLMCAP_BIN,
             FIXTURES "/plan/two_gpus.yaml", db);
    cr_assert_eq(sh(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "sqlite3 %s \"UPDATE plan_results SET instance_type = CASE config_index WHEN 0 "
             "THEN 'Standard_ND96amsr_A100_v4' ELSE 'Standard_NC96ads_A100_v4' END, "
             "dtype = 'int4-awq', max_num_batched_tokens = 8192\" && rm -rf %s && "
             "%s report %s --plan last -o %s -q",
             db, dir, LLMCAP_BIN, db, dir);
    if (system("command -v sqlite3 >/dev/null 2>&1") != 0)
        cr_skip_test("the sqlite3 shell is not installed (Debian package sqlite3)");
    cr_assert_eq(sh(cmd), 0, "%s", cmd);
    snprintf(path, sizeof path, "%s/wrap.html", dir);
    FILE *w = fopen(path, "w");
    cr_assert_not_null(w);
    fputs("<!DOCTYPE html><html><body>\n"
          "<iframe id=\"f\" src=\"plan.html\" style=\"width:1000px;height:3000px;border:0\">"
          "</iframe><div id=\"out\">pending</div><script>\n"
          "document.getElementById('f').onload = function () {\n"
          "  var d = this.contentDocument, bad = [], n = 0;\n"
          "  d.querySelectorAll('.tablewrap').forEach(function (w) {\n"
          "    n++; if (w.scrollWidth > w.clientWidth + 1) bad.push(w.scrollWidth + '>' +\n"
          "      w.clientWidth); });\n"
          "  document.getElementById('out').textContent = 'tables=' + n + ' overflow=' +\n"
          "    bad.length + ' ' + bad.join(',');\n"
          "};</script></body></html>\n",
          w);
    fclose(w);
    snprintf(cmd, sizeof cmd,
             "timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run "
             "--disable-background-networking --disable-component-update --disable-sync "
             "--user-data-dir=%s/profile --allow-file-access-from-files "
             "--virtual-time-budget=10000 --dump-dom file://%s/wrap.html >%s/dom.html "
             "2>/dev/null",
             dir, dir, dir);
    cr_assert_eq(sh(cmd), 0, "%s", cmd);
    snprintf(path, sizeof path, "%s/dom.html", dir);
    const char *dom = slurp(path);
    cr_assert(strstr(dom, ">tables=2 overflow=0 <"), "%s", strstr(dom, "id=\"out\"") ? strstr(dom, "id=\"out\"") : dom);
    snprintf(path, sizeof path, "%s/plan.md", dir);
    const char *md = slurp(path);
    cr_assert(strstr(md, "Standard\\_ND96amsr\\_A100\\_v4"), "%s", md);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    sh(cmd);
}

Test(plan_report, says_how_the_answer_is_billed_and_what_verification_rejected)
{
    /* tests/fixtures/plan/verify.yaml: the spot candidate ($3/h) misses TTFT under a spot
     * interruption on the cluster; the answer is 3 on-demand test-a.h100 nodes. */
    char db[128], dir[128], md_path[160];
    snprintf(db, sizeof db, "/tmp/llmcap-plan-report-verify-%ld.db", (long)getpid());
    snprintf(dir, sizeof dir, "/tmp/llmcap-plan-report-verify-%ld", (long)getpid());
    snprintf(md_path, sizeof md_path, "%s/plan.md", dir);
    unlink(db);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s plan %s -j 2 -o %s -q >/dev/null", LLMCAP_BIN,
             FIXTURES "/plan/verify.yaml", db);
    cr_assert_eq(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s && %s report %s --plan last -o %s -q", dir, LLMCAP_BIN,
             db, dir);
    cr_assert_eq(sh(cmd), 0);
    const char *md = slurp(md_path);
    cr_assert(strstr(md, "Billed as whole nodes: 3 x test-a.h100"), "%s", md);
    cr_assert(strstr(md, "Verified under the scenario's cluster model: meets every SLO"), "%s",
              md);
    cr_assert(strstr(md, "rejected by verification") &&
                  strstr(md, "spot=100%: misses ttft\\_p95 under the cluster model"),
              "%s", md);
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir, db);
    sh(cmd);
}
