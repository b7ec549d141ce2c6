/*
 * llmcap export: tables as CSV (RFC 4180) and JSON Lines, checked against the database
 * they came from (steady.yaml: 200 requests whose times are known in closed form) and
 * against RFC 4180's rules (CRLF records, quoted fields with commas and quotes).
 */
#include <cjson/cJSON.h>
#include <math.h>

#include "helpers.h"

/* Two runs of steady.yaml in one database, every request recorded. */
static void two_runs(const char *dir)
{
    cr_assert_eq(llmcap(dir, "", "run %s -o %s/r.db --quiet", STEADY, dir), 0);
    cr_assert_eq(llmcap(dir, "",
                        "run %s -o %s/r.db --quiet --set "
                        "engine.latency.constant.decode_iteration_ms=30",
                        STEADY, dir),
                 0);
}

/* Split an RFC 4180 record (no line break inside it) into fields, unquoted. */
static int csv_fields(const char *rec, char f[][256], int max)
{
    int k = 0;
    const char *p = rec;
    for (;;) {
        char *o = f[k];
        size_t n = 0;
        if (*p == '"') {
            p++;
            while (*p && !(*p == '"' && p[1] != '"')) {
                if (*p == '"')
                    p++;
                if (n < 255)
                    o[n++] = *p;
                p++;
            }
            p++;
        } else {
            while (*p && *p != ',' && *p != '\r')
                if (n < 255)
                    o[n++] = *p++;
                else
                    p++;
        }
        o[n] = '\0';
        k++;
        if (*p != ',' || k == max)
            return k;
        p++;
    }
}

Test(export, requests_csv_is_rfc4180_and_matches_the_database)
{
    char dir[256];
    make_tmp(dir, sizeof dir, "exportcsv");
    two_runs(dir);
    cr_assert_eq(llmcap(dir, "", "export %s/r.db --table requests --run 2 -o %s/req.csv", dir,
                        dir),
                 0);
    char p[512];
    snprintf(p, sizeof p, "%s/req.csv", dir);
    size_t len;
    char *csv = slurp(p, &len);
    cr_assert_not_null(csv);
    /* header, then 200 records; every line ends with CRLF */
    cr_assert(!strncmp(csv,
                       "run_id,request_id,arrival_s,prompt_tokens,output_tokens,"
                       "generated_tokens,replica,first_token_s,finish_s,ttft_s,tpot_s,e2e_s,"
                       "preemptions,retries,outcome,class,deployment\r\n",
                       167),
              "%.200s", csv);
    size_t lines = 0, crlf = 0;
    for (size_t i = 0; i < len; i++)
        if (csv[i] == '\n') {
            lines++;
            crlf += i > 0 && csv[i - 1] == '\r';
        }
    cr_assert_eq(lines, 201);
    cr_assert_eq(crlf, 201);
    /* Every request of run 2: 10 ms prefill, 9 decode iterations of 30 ms: TPOT 0.03,
     * e2e 0.28 (steady.yaml); each value as the database holds it, to the last bit. */
    char *rec = strstr(csv, "\r\n") + 2;
    char f[18][256];
    int n = csv_fields(rec, f, 18);
    cr_assert_eq(n, 17);
    cr_assert_str_empty(f[16]); /* deployment: NULL, a single-deployment run */
    cr_assert_str_eq(f[0], "2");
    cr_assert_str_eq(f[1], "0");
    cr_assert_str_eq(f[14], "ok");
    cr_assert_float_eq(strtod(f[10], NULL), 0.030, 1e-12);
    cr_assert_float_eq(strtod(f[11], NULL), 0.280, 1e-12);
    snprintf(p, sizeof p, "%s/r.db", dir);
    double db_e2e = query_num(p, "SELECT e2e_s FROM requests WHERE run_id = 2 AND request_id = 0");
    cr_assert(strtod(f[11], NULL) == db_e2e, "%s vs %.17g", f[11], db_e2e);
    free(csv);
    /* a field with commas and quotes is quoted, "" inside: runs.latency_provenance and
     * overrides; read back it is the database's text */
    cr_assert_eq(llmcap(dir, "", "export %s/r.db --table runs", dir), 0);
    char *runs = out_of(dir, "out");
    char *r2 = strstr(runs, "\r\n2,");
    cr_assert_not_null(r2, "%s", runs);
    n = csv_fields(r2 + 2, f, 16);
    cr_assert_geq(n, 15);
    cr_assert_str_eq(f[6], "engine.latency.constant.decode_iteration_ms=30");
    char *prov = dump(p, "SELECT latency_provenance FROM runs WHERE run_id = 2");
    prov[strlen(prov) - 2] = '\0'; /* "|\n" */
    cr_assert_str_eq(f[14], prov);
    cr_assert(strchr(prov, ',') != NULL, "the test needs a provenance with a comma: %s", prov);
    free(prov);
    free(runs);
    rm_tree(dir);
}

Test(export, jsonl_rows_are_objects_with_the_database_values)
{
    char dir[256], p[512];
    make_tmp(dir, sizeof dir, "exportjsonl");
    two_runs(dir);
    snprintf(p, sizeof p, "%s/r.db", dir);
    cr_assert_eq(llmcap(dir, "", "export %s/r.db --table samples --format jsonl", dir), 0);
    char *out = out_of(dir, "out");
    size_t rows = 0;
    for (char *l = out; *l; l = strchr(l, '\n') + 1) {
        char *eol = strchr(l, '\n');
        cr_assert_not_null(eol);
        *eol = '\0';
        cJSON *o = cJSON_Parse(l);
        cr_assert_not_null(o, "%s", l);
        cr_assert(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o, "labels")), "%s", l);
        cr_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "metric")));
        cr_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "value")));
        cJSON_Delete(o);
        *eol = '\n';
        rows++;
    }
    cr_assert_eq((double)rows, query_num(p, "SELECT count(*) FROM samples"));
    free(out);
    /* summary, run 1: every key with its value; NULL values are null */
    cr_assert_eq(llmcap(dir, "", "export %s/r.db -t summary -f jsonl -r 1", dir), 0);
    out = out_of(dir, "out");
    size_t keys = 0;
    for (char *l = out; *l; l = strchr(l, '\n') + 1) {
        char *eol = strchr(l, '\n');
        *eol = '\0';
        cJSON *o = cJSON_Parse(l);
        cr_assert_not_null(o, "%s", l);
        cr_assert_eq(cJSON_GetObjectItemCaseSensitive(o, "run_id")->valuedouble, 1.0);
        const char *key = cJSON_GetObjectItemCaseSensitive(o, "key")->valuestring;
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT value FROM summary WHERE run_id = 1 AND key = '%s'",
                 key);
        double want = query_num(p, sql);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "value");
        if (isnan(want))
            cr_assert(cJSON_IsNull(v), "%s", l);
        else
            cr_assert(v->valuedouble == want, "%s: %.17g", l, want);
        cJSON_Delete(o);
        *eol = '\n';
        keys++;
    }
    cr_assert_eq((double)keys, query_num(p, "SELECT count(*) FROM summary WHERE run_id = 1"));
    free(out);
    rm_tree(dir);
}

Test(export, errors_write_nothing)
{
    char dir[256], p[512];
    make_tmp(dir, sizeof dir, "exporterr");
    cr_assert_eq(llmcap(dir, "", "run %s -o %s/r.db --quiet", STEADY, dir), 0);
    cr_assert_eq(llmcap(dir, "", "export %s/r.db --table requests --run 3 -o %s/x.csv", dir, dir),
                 2);
    char *err = out_of(dir, "err");
    char want[1200];
    snprintf(want, sizeof want,
             "llmcap: %s/r.db: error: no run 3 in the database (its runs are 1 to 1)\n", dir);
    cr_assert_str_eq(err, want);
    free(err);
    snprintf(p, sizeof p, "%s/x.csv", dir);
    cr_assert(!file_exists(p));
    cr_assert_eq(llmcap(dir, "", "export %s/r.db --table plan_results", dir), 2);
    cr_assert_eq(llmcap(dir, "", "export %s/r.db --table requests --format parquet", dir), 2);
    err = out_of(dir, "err");
    cr_assert(strstr(err, "no C Parquet library is packaged in Debian"), "%s", err);
    free(err);
    cr_assert_eq(llmcap(dir, "", "export %s/nothing.db --table requests", dir), 2);
    /* the output only exists complete: no temporary file is left behind */
    cr_assert_eq(llmcap(dir, "", "export %s/r.db --table nodes -o %s/n.csv", dir, dir), 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test $(ls '%s' | grep -c 'n.csv') -eq 1", dir);
    cr_assert_eq(system(cmd), 0);
    rm_tree(dir);
}

/* `llmcap export DIR/ARGS` succeeds and prints `want` (exactly, or within it when
 * `within`). */
static void exports(const char *dir, const char *args, const char *want, bool within)
{
    cr_assert_eq(llmcap(dir, "", "export %s/%s", dir, args), 0, "export %s", args);
    char *out = out_of(dir, "out");
    if (within)
        cr_assert(strstr(out, want), "'%s' not in\n%s", want, out);
    else
        cr_assert_str_eq(out, want);
    free(out);
}

/* The tables of a run of several deployments export like the others (split_three_one:
 * chat passes its one SLO, code misses its 10 ms TPOT target, its decode iteration being
 * 20 ms); a run of one deployment has no rows in them. */
Test(export, deployment_tables_of_a_run_of_several)
{
    char dir[256];
    make_tmp(dir, sizeof dir, "exportdep");
    cr_assert_eq(llmcap(dir, "", "run " SPLIT3 " -o %s/m.db --quiet", dir), 1);
    static const char head[] = "run_id,deployment,position,model_name,gpu,tensor_parallel_size,"
                               "slo_pass\r\n";
    exports(dir, "m.db --table deployments",
            "run_id,deployment,position,model_name,gpu,tensor_parallel_size,slo_pass\r\n"
            "1,chat,0,meta-llama/Meta-Llama-3-8B-Instruct,l40s,2,1\r\n"
            "1,code,1,code-llama,l40s,2,0\r\n",
            false);
    exports(dir, "m.db --table deployment_slo_results --format jsonl",
            "{\"run_id\":1,\"deployment\":\"code\",\"slo\":\"tpot_p95\",\"metric\":\"tpot\","
            "\"quantile\":0.95,\"target\":0.01,\"actual\":",
            true);
    exports(dir, "m.db --table deployment_summary --run 1", "\r\n1,code,replicas_peak_ready,1\r\n",
            true);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s/s.db --quiet", STEADY, dir), 0);
    exports(dir, "s.db --table deployments", head, false);
    rm_tree(dir);
}
