/* llmcap compare on two runs whose numbers are known in closed form (steady.yaml). */
#include <cjson/cJSON.h>
#include <math.h>

#include "helpers.h"

/* steady.yaml (A) and the same with 30 ms decode iterations (B), into two databases. */
static void two_runs(const char *dir)
{
    cr_assert_eq(llmcap(dir, "", "run %s -o %s/a.db --quiet", STEADY, dir), 0);
    cr_assert_eq(llmcap(dir, "",
                        "run %s -o %s/b.db --quiet --set "
                        "engine.latency.constant.decode_iteration_ms=30",
                        STEADY, dir),
                 0);
}

static const cJSON *metric(const cJSON *root, const char *key)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(root, "metrics"))
    {
        if (!strcmp(cJSON_GetObjectItemCaseSensitive(m, "key")->valuestring, key))
            return m;
    }
    cr_assert_fail("no metric %s", key);
    return NULL;
}

static double at(const cJSON *m, const char *field, int i)
{
    const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(m, field), i);
    cr_assert_not_null(v);
    return cJSON_IsNull(v) ? NAN : v->valuedouble;
}

Test(compare, json_deltas_are_the_ones_worked_out_by_hand)
{
    char dir[256];
    make_tmp(dir, sizeof dir, "cmpjson");
    two_runs(dir);
    cr_assert_eq(llmcap(dir, "", "compare %s/a.db %s/b.db --json", dir, dir), 0);
    char *out = out_of(dir, "out");
    cJSON *root = cJSON_Parse(out);
    cr_assert_not_null(root, "not JSON: %s", out);
    /* A request: 10 ms prefill, then 9 decode iterations: 20 ms each in A, 30 ms in B.
     * TPOT 0.020 -> 0.030 s: +0.010 s, +50%. End to end 0.190 -> 0.280 s: +0.090 s,
     * +47.37% (9/19). The tolerance is that of microsecond times turned into seconds. */
    const cJSON *tpot = metric(root, "tpot_p95_s");
    cr_assert_float_eq(at(tpot, "values", 0), 0.020, 1e-12);
    cr_assert_float_eq(at(tpot, "values", 1), 0.030, 1e-12);
    cr_assert(isnan(at(tpot, "delta", 0)), "the baseline has no delta");
    cr_assert_float_eq(at(tpot, "delta", 1), 0.010, 1e-12);
    cr_assert_float_eq(at(tpot, "delta_pct", 1), 50.0, 1e-9);
    const cJSON *e2e = metric(root, "e2e_p95_s");
    cr_assert_float_eq(at(e2e, "delta", 1), 0.090, 1e-12);
    cr_assert_float_eq(at(e2e, "delta_pct", 1), 900.0 / 19.0, 1e-9);
    /* TTFT is the 10 ms prefill in both: no change. */
    const cJSON *ttft = metric(root, "ttft_p95_s");
    cr_assert_float_eq(at(ttft, "delta", 1), 0.0, 1e-12);
    /* Throughput: 200 ok requests over the makespan, from the first arrival (0.5 s) to the
     * end of the run (the last arrival, 100 s, plus one request's 0.19 or 0.28 s). */
    const cJSON *thr = metric(root, "throughput_req_per_s");
    double a = 200.0 / 99.69, b = 200.0 / 99.78;
    cr_assert_float_eq(at(thr, "values", 0), a, 1e-9);
    cr_assert_float_eq(at(thr, "delta", 1), b - a, 1e-9);
    cr_assert_float_eq(at(thr, "delta_pct", 1), (99.69 / 99.78 - 1) * 100, 1e-7);
    /* No cost model: no cost metric at all. */
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(root, "metrics"))
    {
        cr_assert(strncmp(cJSON_GetObjectItemCaseSensitive(m, "key")->valuestring, "cost", 4));
    }
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(root, "runs");
    cr_assert_eq(cJSON_GetArraySize(runs), 2);
    cr_assert_str_eq(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(runs, 1), "overrides")->valuestring,
        "engine.latency.constant.decode_iteration_ms=30");
    cJSON_Delete(root);
    free(out);
    rm_tree(dir);
}

Test(compare, text_table_is_aligned_and_says_which_way_is_worse)
{
    char dir[256];
    make_tmp(dir, sizeof dir, "cmptext");
    two_runs(dir);
    cr_assert_eq(llmcap(dir, "", "compare %s/a.db %s/b.db", dir, dir), 0);
    char *out = out_of(dir, "out");
    /* every row ends its "B-A %" cell in the header's column */
    char *header = strstr(out, "\nmetric");
    cr_assert_not_null(header, "%s", out);
    header++;
    char *hend = strchr(header, '\n');
    size_t col = (size_t)(strstr(header, "B-A %") - header) + 5;
    cr_assert_lt(col, (size_t)(hend - header) + 1);
    size_t rows = 0;
    for (char *line = hend + 1; *line; line = strchr(line, '\n') + 1) {
        char *eol = strchr(line, '\n');
        if ((size_t)(eol - line) >= col && line[col - 1] == '%') {
            rows++;
            cr_assert(line[col] == '\n' || line[col] == ' ', "%.*s", (int)(eol - line), line);
        }
    }
    cr_assert_geq(rows, 10, "%s", out);
    /* TPOT p95: 0.02 s -> 0.03 s is 50% worse */
    char *tpot = strstr(out, "\nTPOT p95 ");
    cr_assert_not_null(tpot);
    char line[256];
    sscanf(tpot + 1, "%255[^\n]", line);
    char label[32], label2[32], unit[8], va[16], vb[16], d[16], pct[16], verdict[16];
    cr_assert_eq(sscanf(line, "%31s %31s %7s %15s %15s %15s %15s %15s", label, label2, unit, va, vb,
                        d, pct, verdict),
                 8, "%s", line);
    /* one precision per row: three significant digits of 0.02 */
    cr_assert_str_eq(va, "0.0200");
    cr_assert_str_eq(vb, "0.0300");
    cr_assert_str_eq(d, "+0.0100");
    cr_assert_str_eq(pct, "+50.0%");
    cr_assert_str_eq(verdict, "worse");
    cr_assert(strstr(out, "\nSLOs met "), "%s", out);
    free(out);
    /* the same databases give the same bytes */
    cr_assert_eq(llmcap(dir, "", "compare %s/a.db %s/b.db", dir, dir), 0);
    char *again = out_of(dir, "out");
    out = NULL;
    cr_assert_eq(llmcap(dir, "", "compare %s/a.db:1 %s/b.db:1", dir, dir), 0);
    out = out_of(dir, "out");
    /* only the legend's database names differ (":1") */
    cr_assert_eq(strlen(out), strlen(again) + 4);
    free(again);
    free(out);
    rm_tree(dir);
}

Test(compare, bad_run_specs_are_usage_errors)
{
    char dir[256], want[1200];
    make_tmp(dir, sizeof dir, "cmperr");
    cr_assert_eq(llmcap(dir, "", "run %s -o %s/a.db --quiet", STEADY, dir), 0);
    cr_assert_eq(llmcap(dir, "", "compare %s/a.db %s/a.db:x", dir, dir), 2);
    char *err = out_of(dir, "err");
    snprintf(want, sizeof want,
             "llmcap: compare: error: '%s/a.db:x': expected DB or DB:RUN with a run id >= 1\n"
             "Try 'llmcap compare --help'.\n",
             dir);
    cr_assert_str_eq(err, want);
    free(err);
    cr_assert_eq(llmcap(dir, "", "compare %s/a.db", dir), 2);
    err = out_of(dir, "err");
    snprintf(want, sizeof want,
             "llmcap: %s/a.db: error: the database holds 1 run: compare needs two or more "
             "(name other databases as well)\n",
             dir);
    cr_assert_str_eq(err, want);
    free(err);
    cr_assert_eq(llmcap(dir, "", "compare %s/a.db --format html", dir), 2);
    cr_assert_eq(llmcap(dir, "", "compare %s/a.db %s/a.db:2", dir, dir), 2);
    err = out_of(dir, "err");
    snprintf(want, sizeof want,
             "llmcap: %s/a.db: error: no run 2 in the database (its runs are 1 to 1)\n", dir);
    cr_assert_str_eq(err, want);
    free(err);
    rm_tree(dir);
}

/* One database holding several runs (runs appended with -o): all of them, in run order,
 * the same numbers as naming each run; and the Markdown table for a CI step summary. */
Test(compare, one_database_with_several_runs_and_markdown)
{
    char dir[256];
    make_tmp(dir, sizeof dir, "cmpone");
    cr_assert_eq(llmcap(dir, "", "run %s -o %s/all.db --quiet", STEADY, dir), 0);
    cr_assert_eq(llmcap(dir, "",
                        "run %s -o %s/all.db --quiet --set "
                        "engine.latency.constant.decode_iteration_ms=30",
                        STEADY, dir),
                 0);
    cr_assert_eq(llmcap(dir, "",
                        "run %s -o %s/all.db --quiet --set "
                        "engine.latency.constant.decode_iteration_ms=25",
                        STEADY, dir),
                 0);
    cr_assert_eq(llmcap(dir, "", "compare %s/all.db", dir), 0);
    char *one = out_of(dir, "out");
    cr_assert(strstr(one, "llmcap compare: 3 runs"), "%s", one);
    cr_assert_eq(llmcap(dir, "", "compare %s/all.db:1 %s/all.db:2 %s/all.db:3", dir, dir, dir), 0);
    char *named = out_of(dir, "out");
    /* the tables are the same; only the legend names the database differently */
    cr_assert_str_eq(strstr(one, "\nmetric"), strstr(named, "\nmetric"));
    /* TPOT p95 20 -> 30 -> 25 ms: +0.0100 (+50.0%), +0.0050 (+25.0%) */
    char *tpot = strstr(one, "\nTPOT p95 ");
    cr_assert_not_null(tpot);
    char line[256];
    sscanf(tpot + 1, "%255[^\n]", line);
    char w[11][24];
    cr_assert_eq(sscanf(line, "%23s %23s %23s %23s %23s %23s %23s %23s %23s %23s %23s", w[0],
                        w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8], w[9], w[10]),
                 11, "%s", line);
    const char *want[11] = {"TPOT",   "p95",     "s",      "0.0200", "0.0300", "+0.0100",
                            "+50.0%", "worse",   "0.0250", "+0.0050", "+25.0%"};
    for (int i = 0; i < 11; i++)
        cr_expect_str_eq(w[i], want[i], "%s", line);
    free(named);
    free(one);
    cr_assert_eq(llmcap(dir, "", "compare %s/all.db --format md", dir), 0);
    char *md = out_of(dir, "out");
    cr_assert(strstr(md, "\n| metric | unit | A | B | B-A | B-A % | B vs A | C | C-A | C-A % | C vs A |\n"
                         "| :--- | :--- | ---: | ---: | ---: | ---: | :--- | ---: | ---: | ---: "
                         "| :--- |\n"),
              "%s", md);
    cr_assert(strstr(md, "\n| TPOT p95 | s | 0.0200 | 0.0300 | +0.0100 | +50.0% | worse | "
                         "0.0250 | +0.0050 | +25.0% | worse |\n"),
              "%s", md);
    /* every table line has the same number of cells */
    size_t cells = 0;
    for (char *l = strstr(md, "\n|"); l; l = strstr(l + 1, "\n|")) {
        size_t k = 0;
        for (char *c = l + 1; *c && *c != '\n'; c++)
            k += *c == '|';
        if (!cells)
            cells = k;
        cr_assert_eq(k, cells);
    }
    free(md);
    rm_tree(dir);
}

/* Give run 1 of `db` (a real run, for its runs row) the summary and deployments of a run
 * of several deployments, by hand: `sql` inserts them (?1-free literal SQL). */
static void hand_made(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
    char *msg = NULL;
    cr_assert_eq(sqlite3_exec(h,
                              "BEGIN; DELETE FROM summary; DELETE FROM slo_results; "
                              "DELETE FROM nodes",
                              NULL, NULL, &msg),
                 SQLITE_OK, "%s", msg ? msg : "");
    cr_assert_eq(sqlite3_exec(h, sql, NULL, NULL, &msg), SQLITE_OK, "%s", msg ? msg : "");
    cr_assert_eq(sqlite3_exec(h, "COMMIT", NULL, NULL, &msg), SQLITE_OK, "%s", msg ? msg : "");
    sqlite3_close(h);
}

/* The row of the text table that starts with `label` (caller frees). */
static char *text_row(const char *out, const char *label)
{
    char want[128];
    snprintf(want, sizeof want, "\n%s ", label);
    const char *a = strstr(out, want);
    cr_assert_not_null(a, "no row '%s' in\n%s", label, out);
    a++;
    const char *b = strchr(a, '\n');
    size_t n = b ? (size_t)(b - a) : strlen(a);
    char *s = malloc(n + 1);
    memcpy(s, a, n);
    s[n] = '\0';
    /* squeeze the alignment blanks to one */
    char *w = s;
    for (const char *r = s; *r; r++)
        if (!(*r == ' ' && w > s && w[-1] == ' '))
            *w++ = *r;
    *w = '\0';
    return s;
}

static const cJSON *dep_entry(const cJSON *root, const char *name)
{
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(root, "deployments"))
    {
        if (!strcmp(cJSON_GetObjectItemCaseSensitive(d, "deployment")->valuestring, name))
            return d;
    }
    cr_assert_fail("no deployment %s", name);
    return NULL;
}

/*
 * Two runs of several deployments built by hand. A: a $10 bill, chat $7.50 (75%) with a
 * TTFT p95 of 0.5 s meeting its 1 s SLO, code $2.50 (25%) whose 20 ms TPOT p95 misses its
 * 10 ms SLO. B: a $12 bill, chat $6 (50%) at TTFT p95 1.5 s now missing its SLO, code
 * $6 (50%) meeting a 50 ms TPOT SLO at 20 ms, and embed ($0), which A does not have.
 * compare lines each deployment up by name: chat's TTFT p95 0.500 -> 1.500 (+1.000,
 * +200.0%, worse), its share 75.0% -> 50.0% (-25.0, -33.3%), its SLOs 1/1 -> 0/1
 * (worse); code's SLOs 0/1 -> 1/1 (better); embed only in B.
 */
Test(compare, each_deployment_of_two_hand_made_runs_is_compared)
{
    char dir[256], a[512], b[512];
    make_tmp(dir, sizeof dir, "cmpdep");
    snprintf(a, sizeof a, "%s/a.db", dir);
    snprintf(b, sizeof b, "%s/b.db", dir);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", STEADY, a), 0);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", STEADY, b), 0);
    hand_made(a, "INSERT INTO summary VALUES (1, 'cost_usd', 10), (1, 'ttft_p95_s', 0.45);"
                 "INSERT INTO deployments VALUES (1, 'chat', 0, 'chat', 'l40s', 1, 1),"
                 " (1, 'code', 1, 'code', 'l40s', 1, 0);"
                 "INSERT INTO deployment_summary VALUES (1, 'chat', 'cost_usd', 7.5),"
                 " (1, 'chat', 'ttft_p95_s', 0.5), (1, 'code', 'cost_usd', 2.5),"
                 " (1, 'code', 'tpot_p95_s', 0.02);"
                 "INSERT INTO deployment_slo_results VALUES"
                 " (1, 'chat', 'ttft_p95', 'ttft', 0.95, 1.0, 0.5, 's', 1),"
                 " (1, 'code', 'tpot_p95', 'tpot', 0.95, 0.01, 0.02, 's', 0)");
    hand_made(b, "INSERT INTO summary VALUES (1, 'cost_usd', 12), (1, 'ttft_p95_s', 1.2);"
                 "INSERT INTO deployments VALUES (1, 'chat', 0, 'chat', 'l40s', 1, 0),"
                 " (1, 'code', 1, 'code', 'l40s', 1, 1), (1, 'embed', 2, 'e5', 'l4', 1, 1);"
                 "INSERT INTO deployment_summary VALUES (1, 'chat', 'cost_usd', 6),"
                 " (1, 'chat', 'ttft_p95_s', 1.5), (1, 'code', 'cost_usd', 6),"
                 " (1, 'code', 'tpot_p95_s', 0.02), (1, 'embed', 'cost_usd', 0);"
                 "INSERT INTO deployment_slo_results VALUES"
                 " (1, 'chat', 'ttft_p95', 'ttft', 0.95, 1.0, 1.5, 's', 0),"
                 " (1, 'code', 'tpot_p95', 'tpot', 0.95, 0.05, 0.02, 's', 1)");
    cr_assert_eq(llmcap(dir, "", "compare %s %s", a, b), 0, "%s", out_of(dir, "err"));
    char *out = out_of(dir, "out");
    static const char *const rows[][2] = {
        {"chat: SLOs met", "chat: SLOs met 1/1 0/1 worse"},
        {"chat: TTFT p95", "chat: TTFT p95 s 0.500 1.500 +1.000 +200.0% worse"},
        {"chat: cost", "chat: cost USD 7.50 6.00 -1.50 -20.0% better"},
        {"chat: share of the bill", "chat: share of the bill % 75.0 50.0 -25.0 -33.3%"},
        {"code: SLOs met", "code: SLOs met 0/1 1/1 better"},
        {"code: TPOT p95", "code: TPOT p95 s 0.0200 0.0200 +0.0000 +0.0%"},
        {"code: share of the bill", "code: share of the bill % 25.0 50.0 +25.0 +100.0%"},
        {"embed: SLOs met", "embed: SLOs met - 0/0"},
        {"embed: cost", "embed: cost USD - 0.00"},
        {"SLO chat.ttft_p95", "SLO chat.ttft_p95 <= 1 s PASS FAIL worse"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *r = text_row(out, rows[i][0]);
        cr_assert_str_eq(r, rows[i][1]);
        free(r);
    }
    free(out);
    /* the same in JSON, unrounded */
    cr_assert_eq(llmcap(dir, "", "compare %s %s --format json", a, b), 0);
    out = out_of(dir, "out");
    cJSON *root = cJSON_Parse(out);
    cr_assert_not_null(root, "%s", out);
    const cJSON *chat = dep_entry(root, "chat");
    cr_assert(cJSON_IsTrue(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(chat, "slo_pass"), 0)));
    cr_assert(cJSON_IsFalse(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(chat, "slo_pass"), 1)));
    const cJSON *share = metric(chat, "cost_share_frac");
    cr_assert_float_eq(at(share, "values", 0), 0.75, 1e-15);
    cr_assert_float_eq(at(share, "values", 1), 0.5, 1e-15);
    cr_assert_float_eq(at(share, "delta", 1), -0.25, 1e-15);
    const cJSON *ttft = metric(chat, "ttft_p95_s");
    cr_assert_float_eq(at(ttft, "delta_pct", 1), 200.0, 1e-12);
    const cJSON *embed = dep_entry(root, "embed");
    cr_assert(cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(embed, "slo_total"), 0)));
    cr_assert(isnan(at(metric(embed, "cost_usd"), "values", 0)));
    cr_assert_float_eq(at(metric(embed, "cost_share_frac"), "values", 1), 0.0, 0.0);
    cJSON_Delete(root);
    free(out);
    /* single-deployment runs have no deployment rows */
    cr_assert_eq(llmcap(dir, "", "run %s -o %s/c.db --quiet", STEADY, dir), 0);
    cr_assert_eq(llmcap(dir, "", "compare %s/c.db %s/c.db --format json", dir, dir), 0);
    out = out_of(dir, "out");
    cr_assert_null(strstr(out, "\"deployments\""), "%s", out);
    free(out);
    rm_tree(dir);
}
