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

/* The lines of `md` from its "## Deployment NAME" heading to the next heading (caller
 * frees). */
static char *dep_part(const char *md, const char *name)
{
    char h[128];
    snprintf(h, sizeof h, "\n## Deployment %s\n", name);
    const char *a = strstr(md, h);
    cr_assert_not_null(a, "no section '%s'", h);
    const char *b = strstr(a + strlen(h), "\n## ");
    size_t n = b ? (size_t)(b - a) : strlen(a);
    char *s = malloc(n + 1);
    memcpy(s, a, n);
    s[n] = '\0';
    return s;
}

/* The largest value of column `col` (1-based) of a tab-separated data file, and the sum
 * of column `sum_col`. */
static void tsv_stats(const char *path, int col, double *max, int sum_col, double *sum)
{
    char *s = slurp(path, NULL);
    cr_assert_not_null(s, "%s is missing", path);
    *max = -INFINITY;
    *sum = 0;
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        char *p = line;
        for (int c = 1; p; c++) {
            double v = strtod(p, NULL);
            if (c == col && v > *max)
                *max = v;
            if (c == sum_col)
                *sum += v;
            p = strchr(p, '\t');
            if (p)
                p++;
        }
    }
    free(s);
}

/* Run two_autoscaled into DIR/r.db (a fresh folder tagged `tag`) and write its report to
 * DIR/out; its report.md (caller frees). */
static char *two_autoscaled_report(char *dir, size_t n_dir, char *db, size_t n_db,
                                   const char *tag)
{
    make_tmp(dir, n_dir, tag);
    snprintf(db, n_db, "%s/r.db", dir);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s --quiet", FIXTURES "/multi/two_autoscaled.yaml", db),
                 1);
    return report_md(dir, db, 1, "out");
}

/* two_autoscaled: chat's rate steps from 2 to 12 req/s at 5 min; one replica serves at
 * most max_num_seqs / (100 tokens x 20 ms) = 4 req/s, so its queue grows from the first
 * 15 s window at 5 min and its p95 TTFT is far above 2 s there until new pods are Ready;
 * code (1 req/s, 500-token prefill 25 ms + 50 x 20 ms = ~1 s a request, 8 at a time)
 * never breaches its 1 s TTFT SLO. Each deployment's section has its own latency, pods
 * (as many as its deployment_summary's pods_created, replicas_initial at the start), its
 * windows and its charts, drawn from its own rows. */
Test(deployments_report, each_deployment_has_its_latency_over_time_pods_and_charts)
{
    char dir[256], db[512];
    char *md = two_autoscaled_report(dir, sizeof dir, db, sizeof db, "depown");
    static const char *const deps[] = {"chat", "code"};
    for (int k = 0; k < 2; k++) {
        char *part = dep_part(md, deps[k]);
        double created = dep_value(db, deps[k], "pods_created");
        double initial = dep_value(db, deps[k], "replicas_initial");
        char want[256];
        snprintf(want, sizeof want, "| pods | %.0f created (%.0f at the start, %.0f during the run); ",
                 created, initial, created - initial);
        cr_assert_not_null(strstr(part, want), "'%s' not in\n%s", want, part);
        char p95[32];
        double v = dep_value(db, deps[k], "ttft_p95_s");
        if (v >= 1)
            snprintf(p95, sizeof p95, "%.3g s", v);
        else
            snprintf(p95, sizeof p95, "%.3g ms", v * 1e3);
        snprintf(want, sizeof want, "| TTFT | ");
        const char *row = strstr(part, want);
        cr_assert_not_null(row, "%s", part);
        cr_assert_not_null(strstr(row, p95), "TTFT p95 %s not in %s", p95, row);
        if (k == 0) {
            cr_assert_not_null(strstr(part, "**p95 TTFT above its 2 s SLO for "), "%s", part);
            cr_assert_not_null(strstr(part, "from 0:05:00 to "), "%s", part);
            cr_assert_not_null(strstr(part, "ended (scaled-in "), "%s", part);
        } else {
            cr_assert_null(strstr(part, "SLO for"), "%s", part);
            cr_assert_not_null(strstr(part, "1 created (1 at the start, 0 during the run); 1 "
                                            "became Ready; 0 ended; 1 alive at the end"),
                               "%s", part);
        }
        /* its data: every one of its requests by window, its own ready replicas */
        char path[1200];
        double peak, arrived, unused;
        snprintf(path, sizeof path, "%s/out/data/dep-%s-windows.tsv", dir, deps[k]);
        tsv_stats(path, 1, &unused, 4, &arrived);
        cr_assert_float_eq(arrived, dep_value(db, deps[k], "requests_total"), 0.0);
        snprintf(path, sizeof path, "%s/out/data/dep-%s-ready.tsv", dir, deps[k]);
        tsv_stats(path, 2, &peak, 0, &unused);
        cr_assert_float_eq(peak, dep_value(db, deps[k], "replicas_peak_ready"), 0.0);
        static const char *const charts[] = {"fleet", "queue", "ttft", "tpot", "kv_cache",
                                             "latency_cdf"};
        for (int c = 0; c < 6; c++) {
            snprintf(path, sizeof path, "%s/out/dep-%s-%s.svg", dir, deps[k], charts[c]);
            char *svg = slurp(path, NULL);
            cr_assert_not_null(svg, "%s is missing", path);
            cr_assert_not_null(strstr(svg, "<svg"));
            free(svg);
            snprintf(want, sizeof want, "](dep-%s-%s.png)", deps[k], charts[c]);
            cr_assert_not_null(strstr(part, want), "%s", part);
        }
        free(part);
    }
    /* the cluster's windows hold every request */
    char path[1200];
    double arrived, unused;
    snprintf(path, sizeof path, "%s/out/data/windows.tsv", dir);
    tsv_stats(path, 1, &unused, 4, &arrived);
    cr_assert_float_eq(arrived, query_num(db, "SELECT value FROM summary WHERE key = "
                                              "'requests_total'"),
                       0.0);
    free(md);

    /* a run written before schema 3 does not say whose its rows are: a note, no charts */
    sqlite3 *h = NULL;
    cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(h,
                              "ALTER TABLE requests DROP COLUMN deployment; ALTER TABLE pods "
                              "DROP COLUMN deployment; PRAGMA user_version = 2",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(h);
    md = report_md(dir, db, 1, "old");
    char *part = dep_part(md, "chat");
    cr_assert_not_null(strstr(part, "does not say which requests, pods and samples are chat's"),
                       "%s", part);
    snprintf(path, sizeof path, "%s/old/dep-chat-fleet.svg", dir);
    cr_assert_not(file_exists(path));
    cr_assert_not_null(strstr(md, "\n## Deployments\n"));
    free(part);
    free(md);
    rm_tree(dir);
}

/* ---- each deployment's windows and CDFs against its own rows sorted on their own ---------- */

/* Type 7 over sorted x[0..n) (linear between order statistics), written out here. */
static double q7(const double *x, size_t n, double q)
{
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    return lo + 1 >= n ? x[n - 1] : x[lo] + (h - (double)lo) * (x[lo + 1] - x[lo]);
}

/* The rows of `sql` (one REAL column), in its order. */
static double *column(sqlite3 *h, const char *sql, size_t *n)
{
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s", sql);
    size_t cap = 64;
    double *x = malloc(cap * sizeof *x);
    *n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) {
            double *g = realloc(x, (cap *= 2) * sizeof *x);
            cr_assert_not_null(g);
            x = g;
        }
        x[(*n)++] = sqlite3_column_double(st, 0);
    }
    sqlite3_finalize(st);
    return x;
}

/* Field k (0-based, tab-separated) of a line as a number ("NaN" too). */
static double field(const char *line, int k)
{
    for (int i = 0; i < k; i++)
        line = strchr(line, '\t') + 1;
    return strtod(line, NULL);
}

/* A windows.tsv of the report against `who`'s rows (an SQL condition) read and sorted
 * per window by SQLite, as the report did with one query per deployment: each window's
 * outcome counts, and its TTFT and TPOT p95 (the first quantile column) exactly. */
static void check_windows(sqlite3 *h, const char *path, const char *who)
{
    char *s = slurp(path, NULL);
    cr_assert_not_null(s, "%s is missing", path);
    double window_s = 0;
    cr_assert_eq(sscanf(s, "# windows of %lf s", &window_s), 1, "%s", s);
    /* the second header line names the columns: n_tpot follows the TTFT quantiles */
    const char *hdr = strchr(s, '\n') + 1;
    int tpot_col = 0;
    for (const char *c = hdr; *c != '\n'; c++)
        tpot_col += *c == '\t';
    tpot_col = (tpot_col - 11) / 2 + 11; /* 11 columns to n_ttft, nq quantiles, n_tpot */
    size_t rows = 0, windows_with_p95 = 0;
    for (const char *line = strchr(hdr, '\n') + 1; *line; line = strchr(line, '\n') + 1, rows++) {
        long w = (long)rows;
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT count(*), sum(outcome = 'ok'), sum(outcome = 'timeout'), "
                 "sum(outcome = 'rejected'), sum(outcome IN ('aborted', '5xx', "
                 "'client_timeout', 'failed')), sum(outcome = 'unfinished'), sum(preemptions) "
                 "FROM requests WHERE %s AND CAST(arrival_s / %.17g AS INTEGER) = %ld",
                 who, window_s, w);
        sqlite3_stmt *st;
        cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s", sql);
        cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
        for (int c = 0; c < 7; c++)
            cr_assert_eq((long long)field(line, 3 + c), sqlite3_column_int64(st, c),
                         "%s window %ld column %d", path, w, 3 + c);
        sqlite3_finalize(st);
        static const char *const col[2] = {"ttft_s", "tpot_s"};
        for (int m = 0; m < 2; m++) {
            snprintf(sql, sizeof sql,
                     "SELECT %s FROM requests WHERE %s AND outcome = 'ok' AND %s IS NOT NULL AND "
                     "CAST(arrival_s / %.17g AS INTEGER) = %ld ORDER BY %s",
                     col[m], who, col[m], window_s, w, col[m]);
            size_t n;
            double *x = column(h, sql, &n);
            int at = m ? tpot_col : 10;
            cr_assert_eq((size_t)field(line, at), n, "%s window %ld: %s values", path, w, col[m]);
            double got = field(line, at + 1);
            if (n < 10) {
                cr_assert(isnan(got), "%s window %ld: %s p95 of %zu values", path, w, col[m], n);
            } else {
                cr_assert_eq(got, q7(x, n, 0.95), "%s window %ld: %s p95 %.17g", path, w, col[m],
                             got);
                windows_with_p95++;
            }
            free(x);
        }
    }
    cr_assert_gt(rows, 5, "%s", path);
    cr_assert_gt(windows_with_p95, rows, "%s: too few windows hold a p95", path);
    free(s);
}

/* A cdf_*.tsv against `who`'s ok rows of `col` sorted by SQLite: the first and last value
 * and one per 1/400 of rank, each at its rank's fraction. */
static void check_cdf(sqlite3 *h, const char *path, const char *col, const char *who)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT %s FROM requests WHERE %s AND outcome = 'ok' AND %s IS NOT NULL ORDER BY %s",
             col, who, col, col);
    size_t n;
    double *x = column(h, sql, &n);
    cr_assert_gt(n, 100, "%s", sql);
    char *s = slurp(path, NULL);
    cr_assert_not_null(s, "%s is missing", path);
    const char *line = strchr(s, '\n') + 1; /* past the header */
    long last = -1;
    size_t points = 0;
    for (size_t i = 1; i <= n; i++) {
        long bucket = (long)((i - 1) * 400 / n);
        if (i != 1 && i != n && bucket == last)
            continue;
        last = bucket;
        cr_assert(*line, "%s ends before rank %zu of %zu", path, i, n);
        cr_assert_eq(field(line, 0), x[i - 1], "%s rank %zu", path, i);
        cr_assert_eq(field(line, 1), (double)i / (double)n, "%s rank %zu", path, i);
        line = strchr(line, '\n') + 1;
        points++;
    }
    cr_assert_eq(*line, '\0', "%s has points past its last rank", path);
    cr_assert_gt(points, 100);
    free(x);
    free(s);
}

/* The report reads the request rows once for the cluster and both deployments, each row
 * going to the cluster's windows and CDFs and to its deployment's; what it writes must be
 * what sorting each one's rows on its own gives (the report before read them once per
 * deployment, with one query each). */
Test(deployments_report, each_deployments_windows_and_cdfs_are_its_own_rows_sorted_alone)
{
    char dir[256], db[512];
    free(two_autoscaled_report(dir, sizeof dir, db, sizeof db, "deponce"));
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    static const char *const pre[] = {"", "dep-chat-", "dep-code-"};
    static const char *const who[] = {"run_id = 1", "run_id = 1 AND deployment = 'chat'",
                                      "run_id = 1 AND deployment = 'code'"};
    for (int k = 0; k < 3; k++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/out/data/%swindows.tsv", dir, pre[k]);
        check_windows(h, path, who[k]);
        static const char *const cdf[3] = {"ttft", "tpot", "e2e"};
        for (int m = 0; m < 3; m++) {
            char c[16];
            snprintf(path, sizeof path, "%s/out/data/%scdf_%s.tsv", dir, pre[k], cdf[m]);
            snprintf(c, sizeof c, "%s_s", cdf[m]);
            check_cdf(h, path, c, who[k]);
        }
    }
    sqlite3_close(h);
    rm_tree(dir);
}
