/* llmcap report on runs of several deployments over one cluster (tables deployments,
 * deployment_summary, deployment_slo_results): the per-deployment section, its numbers
 * against the tables and against hand-worked ones, and single-deployment reports left
 * as they were. */
#include <math.h>

#include "helpers.h"

#define SPLIT FIXTURES "/multi/split_three_one.yaml"

static char *report_md(const char *dir, const char *db, int run, const char *sub)
{
    int rc = llmcap(dir, "", "report %s --run %d -o %s/%s", db, run, dir, sub);
    char *err = out_of(dir, "err");
    cr_assert_eq(rc, 0, "llmcap report exited %d: %s", rc, err);
    free(err);
    char p[1200];
    snprintf(p, sizeof p, "%s/%s/report.md", dir, sub);
    char *s = slurp(p, NULL);
    cr_assert_not_null(s, "%s is missing", p);
    return s;
}

static double dep_value(const char *db, const char *dep, const char *key)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT value FROM deployment_summary WHERE deployment = '%s' AND key = '%s'", dep,
             key);
    return query_num(db, sql);
}

/* chat: 3 replicas x TP2, code: 1 x TP2, all eight GPUs of one g6e.48xlarge for the whole
 * run, so GPU-time splits 6:2 and the bill 75% / 25%; code's TPOT target (10 ms) is below
 * its constant 20 ms decode iteration, so it fails that SLO and the cluster fails. */
Test(deployments_report, one_row_per_deployment_and_the_bill_split_by_gpu_time)
{
    char dir[256], db[512];
    make_tmp(dir, sizeof dir, "deprep");
    snprintf(db, sizeof db, "%s/r.db", dir);
    int rc = llmcap(dir, "", "run %s -o %s --quiet", SPLIT, db);
    cr_assert_eq(rc, 1, "the code deployment fails its TPOT SLO: exit 1, got %d", rc);
    char *md = report_md(dir, db, 1, "out");
    cr_assert_not_null(strstr(md, "\n## Deployments\n"), "%s", md);

    double total = query_num(db, "SELECT value FROM summary WHERE key = 'cost_usd'");
    double chat = dep_value(db, "chat", "cost_usd"), code = dep_value(db, "code", "cost_usd");
    cr_assert_float_eq(chat + code, total, 1e-9 * total, "shares %g + %g, bill %g", chat, code,
                       total);
    cr_assert_float_eq(chat / total, 0.75, 1e-9, "chat holds 6 of the node's 8 GPUs");
    cr_assert_float_eq(total, 5.0302, 1e-4, "the node's bill, as in pack_one_node");

    /* each row from the deployment's own rows; costs and shares worked by hand */
    char row[512];
    snprintf(row, sizeof row, "| `chat` | %.0f | %.0f | ", dep_value(db, "chat", "requests_total"),
             dep_value(db, "chat", "requests_ok"));
    const char *r = strstr(md, row);
    cr_assert_not_null(r, "no row starting '%s' in\n%s", row, md);
    const char *eol = strchr(r, '\n');
    cr_assert_not_null(eol);
    char line[512];
    snprintf(line, sizeof line, "%.*s", (int)(eol - r), r);
    cr_assert_not_null(strstr(line, "(target 2 s) PASS | "), "%s", line);
    cr_assert_not_null(strstr(line, "| **PASS (1 of 1)** | 3 / 3 | $3.77 | 75.0% |"), "%s", line);

    snprintf(row, sizeof row, "| `code` | %.0f | %.0f | ", dep_value(db, "code", "requests_total"),
             dep_value(db, "code", "requests_ok"));
    r = strstr(md, row);
    cr_assert_not_null(r, "no row starting '%s' in\n%s", row, md);
    eol = strchr(r, '\n');
    snprintf(line, sizeof line, "%.*s", (int)(eol - r), r);
    char tpot[64];
    snprintf(tpot, sizeof tpot, "%.1f ms (target 10 ms) FAIL",
             dep_value(db, "code", "tpot_p95_s") * 1e3);
    cr_assert_not_null(strstr(line, tpot), "'%s' not in %s", tpot, line);
    cr_assert_not_null(strstr(line, "| **FAIL (1 of 2)** | 1 / 1 | $1.26 | 25.0% |"), "%s", line);

    snprintf(row, sizeof row, "| **cluster** | **%.0f** |",
             query_num(db, "SELECT value FROM summary WHERE key = 'requests_total'"));
    r = strstr(md, row);
    cr_assert_not_null(r, "no row starting '%s' in\n%s", row, md);
    cr_assert_not_null(strstr(r, "| **FAIL** | **4 / 4** | **$5.03** | **100.0%** |"), "%s", r);
    free(md);

    char p[1200];
    snprintf(p, sizeof p, "%s/out/report.html", dir);
    char *html = slurp(p, NULL);
    cr_assert_not_null(html);
    cr_assert_not_null(strstr(html, ">Deployments</h2>"));
    free(html);
    rm_tree(dir);
}

/* A single-deployment run's report is the same bytes whether or not the database also
 * holds a run of several deployments (and so the deployment tables), but for the line
 * that counts the runs in the database. */
Test(deployments_report, a_single_deployment_report_is_unchanged)
{
    char dir[256], a[512], b[512];
    make_tmp(dir, sizeof dir, "deprep1");
    snprintf(a, sizeof a, "%s/a.db", dir);
    snprintf(b, sizeof b, "%s/b.db", dir);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", STEADY, a), 0);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", a, b);
    cr_assert_eq(system(cmd), 0);
    cr_assert_leq(llmcap(dir, "", "run %s -o %s --quiet", SPLIT, b), 1);
    cr_assert_eq(query_num(b, "SELECT count(*) FROM deployments"), 2);
    char *ma = report_md(dir, a, 1, "ra"), *mb = report_md(dir, b, 1, "rb");
    cr_assert_null(strstr(ma, "Deployments"));
    char *la = strstr(ma, "| run 1 of 1 in a.db |"), *lb = strstr(mb, "| run 1 of 2 in b.db |");
    cr_assert(la && lb, "%s", mb);
    cr_assert_eq(la - ma, lb - mb, "the reports differ before the database line");
    cr_assert_eq(memcmp(ma, mb, (size_t)(la - ma)), 0);
    cr_assert_str_eq(strchr(la, '\n'), strchr(lb, '\n'));
    free(ma);
    free(mb);
    rm_tree(dir);
}

/* The headline, findings and SLO table carry every deployment's verdicts. split_three_one:
 * chat's TTFT p95 SLO (2 s) passes (a 200-token prefill at 50 us a token is 10 ms, and
 * 3 replicas at 2 req/s barely queue); code's TTFT SLO (2 s) passes, its TPOT SLO (10 ms)
 * fails (TPOT is at least the 20 ms decode iteration): 2 of 3 met; the bill splits 6:2
 * GPUs, 75% / 25%. */
Test(deployments_report, the_headline_and_findings_carry_each_deployments_verdicts)
{
    char dir[256], db[512];
    make_tmp(dir, sizeof dir, "dephead");
    snprintf(db, sizeof db, "%s/r.db", dir);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", SPLIT, db), 1);
    char *md = report_md(dir, db, 1, "out");
    cr_assert_not_null(strstr(md, "| **FAIL** (2 of 3 met over 2 deployments: chat PASS 1/1, code "
                                  "FAIL 1/2) | "),
                       "%s", md);
    cr_assert_not_null(strstr(md, "($5.03 for this run, which FAILED its SLOs; chat 75.0%, code "
                                  "25.0% of it by GPU-time)"),
                       "%s", md);
    cr_assert_null(strstr(md, "sets no SLO"), "%s", md);
    cr_assert_not_null(strstr(md, "- **deployment code missed its SLO tpot\\_p95**: "), "%s", md);
    cr_assert_not_null(strstr(md, "| `code.tpot_p95` | 10 ms | "), "%s", md);
    cr_assert_not_null(strstr(md, "| `chat.ttft_p95` | 2 s | "), "%s", md);
    free(md);
    /* a run whose deployments set no SLO says so */
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet --set 'deployments.chat.slo={}' --set "
                                 "'deployments.code.slo={}'",
                        SPLIT, db),
                 0);
    md = report_md(dir, db, 2, "none");
    cr_assert_not_null(strstr(md, "| **none** (no deployment sets an SLO) |"), "%s", md);
    free(md);
    /* the summary's cluster block */
    cr_assert_eq(llmcap(dir, "", "run %s", SPLIT), 1);
    char *out = out_of(dir, "out");
    cr_assert_not_null(strstr(out, "cluster (every deployment)\n"), "%s", out);
    cr_assert_not_null(strstr(out, "  SLOs       FAIL (2 of 3 met over 2 deployments: chat PASS "
                                   "1/1, code FAIL 1/2)\n"),
                       "%s", out);
    free(out);
    rm_tree(dir);
}

/* Lines of `text` other than those starting with `skip1` or containing `skip2`. */
static void drop_lines(char *text, const char *skip1, const char *skip2)
{
    char *w = text;
    for (char *r = text; *r;) {
        char *eol = strchr(r, '\n');
        size_t len = eol ? (size_t)(eol - r) + 1 : strlen(r);
        const char *hit = strstr(r, skip2);
        bool drop = !strncmp(r, skip1, strlen(skip1)) || (hit && hit < r + len);
        if (!drop) {
            memmove(w, r, len);
            w += len;
        }
        r += len;
    }
    *w = '\0';
}

/* A `deployments:` list of one is the same run as that deployment written without the
 * list: the same summary (its model and GPU, not an unnamed default) and the same latency
 * model recorded in `runs`. */
Test(deployments_report, a_list_of_one_deployment_is_that_deployments_run)
{
    char dir[256], db[512];
    make_tmp(dir, sizeof dir, "depone");
    snprintf(db, sizeof db, "%s/r.db", dir);
    cr_assert_eq(llmcap(dir, "", "run %s/multi/one_item.yaml -o %s", FIXTURES, db), 0);
    char *a = out_of(dir, "out");
    cr_assert_eq(llmcap(dir, "", "run %s/multi/one_item_flat.yaml", FIXTURES), 0);
    char *b = out_of(dir, "out");
    cr_assert_not_null(strstr(a, "  fleet      2 x vLLM replicas of llama-3-8b on l40s, 4000 KV "
                                 "blocks each\n"),
                       "%s", a);
    drop_lines(a, "llmcap run: ", "  simulated ");
    drop_lines(b, "llmcap run: ", "  simulated ");
    char *res = strstr(a, "  results ");
    cr_assert_not_null(res, "%s", a);
    *res = '\0';
    cr_assert_str_eq(a, b);
    free(a);
    free(b);
    char *row = dump(db, "SELECT scenario_name, latency_model FROM runs");
    cr_assert_str_eq(row, "one-item|constant|\n");
    free(row);
    rm_tree(dir);
}
