/* export.c: a results table as CSV (RFC 4180) or JSON Lines (see export.h). */
#include "reports/export.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "reports/zones.h"

const char *const export_tables[] = {"runs",
                                     "requests",
                                     "samples",
                                     "summary",
                                     "slo_results",
                                     "scaling_events",
                                     "pods",
                                     "nodes",
                                     "deployments",
                                     "deployment_summary",
                                     "deployment_slo_results",
                                     NULL};

/* The order rows were written in: key order for WITHOUT ROWID tables, rowid for the
 * others. */
static const char *order_of(const char *table)
{
    static const struct {
        const char *table, *order;
    } o[] = {{"runs", "run_id"},
             {"requests", "run_id, request_id"},
             {"samples", "run_id, rowid"},
             {"summary", "run_id, key"},
             {"slo_results", "run_id, slo"},
             {"scaling_events", "run_id, rowid"},
             {"pods", "run_id, pod_id"},
             {"nodes", "run_id, node_id"},
             {"deployments", "run_id, position, deployment"},
             {"deployment_summary", "run_id, deployment, key"},
             {"deployment_slo_results", "run_id, deployment, slo"}};
    for (size_t i = 0; i < sizeof o / sizeof o[0]; i++)
        if (!strcmp(o[i].table, table))
            return o[i].order;
    return NULL;
}

/* JSON text columns nested as objects in JSONL. */
static bool is_json_column(const char *name)
{
    return !strcmp(name, "labels") || !strcmp(name, "metric_values") ||
           !strcmp(name, "labels_json");
}

struct names {
    char name[DB_MAX_COLUMNS][64];
    int n;
};

static int add_name(void *ctx, const struct db_value *cols, int n_cols)
{
    struct names *nm = ctx;
    if (n_cols < 1 || cols[0].type != DB_TEXT || nm->n == DB_MAX_COLUMNS)
        return SIM_EINVAL;
    snprintf(nm->name[nm->n++], sizeof nm->name[0], "%s", cols[0].s);
    return SIM_OK;
}

/* The shortest %.Ng (N = 15..17) that reads back as the same double. */
static void fmt_real(char *buf, size_t n, double d)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

struct writer {
    FILE *out;
    enum export_format fmt;
    const struct names *nm;
    uint64_t rows;
    /* nodes: the column index of `zone`, after which `zone_name` is written from the
     * query's last column (the run's 'zone_names' note, not itself written); -1 else */
    int zone_col;
};

static void csv_field(FILE *out, const char *s)
{
    size_t n = strlen(s);
    bool quote = n && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t');
    quote |= strpbrk(s, ",\"\r\n") != NULL;
    if (!quote) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

static int put_csv(struct writer *w, const struct db_value *cols, int n_cols)
{
    char num[40];
    for (int c = 0; c < n_cols; c++) {
        if (c)
            fputc(',', w->out);
        switch (cols[c].type) {
        case DB_NULL:
            break;
        case DB_INT:
            fprintf(w->out, "%lld", (long long)cols[c].i);
            break;
        case DB_REAL:
            fmt_real(num, sizeof num, cols[c].d);
            fputs(num, w->out);
            break;
        case DB_TEXT:
            csv_field(w->out, cols[c].s);
            break;
        }
    }
    fputs("\r\n", w->out);
    return SIM_OK;
}

static int put_jsonl(struct writer *w, const struct db_value *cols, int n_cols)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return SIM_ENOMEM;
    for (int c = 0; c < n_cols; c++) {
        const char *name = w->nm->name[c];
        cJSON *v = NULL;
        switch (cols[c].type) {
        case DB_NULL:
            v = cJSON_CreateNull();
            break;
        case DB_INT:
            v = cJSON_CreateNumber((double)cols[c].i);
            break;
        case DB_REAL:
            v = isfinite(cols[c].d) ? cJSON_CreateNumber(cols[c].d) : cJSON_CreateNull();
            break;
        case DB_TEXT:
            if (is_json_column(name)) {
                v = cJSON_Parse(cols[c].s);
                if (v && !cJSON_IsObject(v)) {
                    cJSON_Delete(v);
                    v = NULL;
                }
            }
            if (!v)
                v = cJSON_CreateString(cols[c].s);
            break;
        }
        if (!v || !cJSON_AddItemToObject(o, name, v)) {
            cJSON_Delete(v);
            cJSON_Delete(o);
            return SIM_ENOMEM;
        }
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        return SIM_ENOMEM;
    fputs(text, w->out);
    fputc('\n', w->out);
    free(text);
    return SIM_OK;
}

static int put_row(void *ctx, const struct db_value *cols, int n_cols)
{
    struct writer *w = ctx;
    struct db_value ext[DB_MAX_COLUMNS + 1];
    char name[64];
    if (w->zone_col >= 0 && n_cols >= 2 && w->zone_col < n_cols - 1 &&
        n_cols <= DB_MAX_COLUMNS) {
        /* zone_name beside zone, from the run's note (the query's last column) */
        const struct db_value *notes = &cols[n_cols - 1], *zone = &cols[w->zone_col];
        bool named = zone->type == DB_TEXT && notes->type == DB_TEXT &&
                     zone_name_of(notes->s, zone->s, name, sizeof name);
        int k = 0;
        for (int c = 0; c < n_cols - 1; c++) {
            ext[k++] = cols[c];
            if (c == w->zone_col)
                ext[k++] = db_text(named ? name : NULL);
        }
        cols = ext;
        n_cols = k;
    }
    int rc = w->fmt == EXPORT_CSV ? put_csv(w, cols, n_cols) : put_jsonl(w, cols, n_cols);
    if (rc == SIM_OK)
        w->rows++;
    if (rc == SIM_OK && ferror(w->out))
        return SIM_EIO;
    return rc;
}

static int count_cb(void *ctx, const struct db_value *c, int n)
{
    (void)n;
    *(int64_t *)ctx = c[0].i;
    return 0;
}

/* Append a name to a list "a, b, c" of at most 512 bytes. */
static int text_cb(void *ctx, const struct db_value *c, int n)
{
    (void)n;
    char *buf = ctx;
    size_t at = strlen(buf);
    if (at + 80 < 512)
        snprintf(buf + at, 512 - at, "%s%s", at ? ", " : "", c[0].s ? c[0].s : "");
    return 0;
}

int export_check_deployment(struct db *db, const char *table, int64_t run_id,
                            const char *deployment, struct sim_err *err)
{
    if (!db_has_column(db, table, "deployment"))
        return sim_err_set(err, SIM_EINVAL,
                           "'--deployment': table '%s' has no deployment column (the tables "
                           "with one: requests, samples, scaling_events, pods, deployments, "
                           "deployment_summary, deployment_slo_results; written by llmcap "
                           "with schema 3 or later for the first four)",
                           table);
    char names[512] = "";
    struct db_value p[2] = {db_int(run_id), db_text(deployment)};
    bool tables = db_has_column(db, "deployments", "deployment");
    int64_t found = 0;
    int rc = tables ? db_query(db,
                               "SELECT count(*) FROM deployments WHERE (?1 <= 0 OR run_id = ?1) "
                               "AND deployment = ?2",
                               p, 2, count_cb, &found, err)
                    : SIM_OK;
    if (rc != SIM_OK || found > 0)
        return rc;
    if (tables && (rc = db_query(db,
                                 "SELECT DISTINCT deployment FROM deployments WHERE (?1 <= 0 OR "
                                 "run_id = ?1) ORDER BY deployment",
                                 p, 1, text_cb, names, err)) != SIM_OK)
        return rc;
    if (run_id > 0)
        return sim_err_set(err, SIM_EINVAL, "'--deployment': run %lld has no deployment '%s' (%s%s)",
                           (long long)run_id, deployment, names[0] ? "its deployments: " : "it has one",
                           names[0] ? names : "");
    return sim_err_set(err, SIM_EINVAL, "'--deployment': no run in the database has a deployment '%s' (%s%s)",
                       deployment, names[0] ? "deployments: " : "no run of several deployments",
                       names[0] ? names : "");
}

int export_table(struct db *db, const char *table, int64_t run_id, const char *deployment,
                 enum export_format fmt, FILE *out, uint64_t *n_rows, struct sim_err *err)
{
    *n_rows = 0;
    const char *order = order_of(table);
    if (!order) {
        char known[256] = "";
        for (size_t i = 0; export_tables[i]; i++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
                     export_tables[i]);
        return sim_err_set(err, SIM_EINVAL, "unknown table '%s' (tables: %s)", table, known);
    }
    struct names nm = {.n = 0};
    struct db_value tv = db_text(table);
    int rc = db_query(db, "SELECT name FROM pragma_table_info(?1) ORDER BY cid", &tv, 1,
                      add_name, &nm, err);
    if (rc != SIM_OK || nm.n == 0)
        return rc != SIM_OK && rc != SIM_EINVAL
                   ? rc
                   : sim_err_at(err, SIM_EINVAL, db_path(db), 0, 0,
                                "the database has no table '%s' it can export", table);
    /* nodes: zone_name after zone, where the run's zone_names note names the zone ID */
    int zone_col = -1;
    bool notes = false;
    for (int c = 0; !strcmp(table, "nodes") && c < nm.n; c++)
        if (!strcmp(nm.name[c], "zone"))
            zone_col = c;
    if (zone_col >= 0 && nm.n < DB_MAX_COLUMNS) {
        struct db_value nt = db_text("run_notes");
        struct names has = {.n = 0};
        rc = db_query(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?1",
                      &nt, 1, add_name, &has, err);
        if (rc != SIM_OK)
            return rc;
        notes = has.n > 0;
    } else {
        zone_col = -1;
    }
    char sql[1400];
    size_t at = (size_t)snprintf(sql, sizeof sql, "SELECT ");
    for (int c = 0; c < nm.n; c++)
        at += (size_t)snprintf(sql + at, sizeof sql - at, "%s\"%s\"", c ? ", " : "", nm.name[c]);
    if (zone_col >= 0)
        at += (size_t)snprintf(sql + at, sizeof sql - at, ", %s",
                               notes ? "(SELECT value FROM run_notes n WHERE n.run_id = "
                                       "nodes.run_id AND n.key = 'zone_names')"
                                     : "NULL");
    /* ?1 the run (when > 0), ?2 the deployment (when given) */
    snprintf(sql + at, sizeof sql - at, " FROM \"%s\"%s%s%s ORDER BY %s", table,
             run_id > 0 || deployment ? " WHERE " : "", run_id > 0 ? "run_id = ?1" : "",
             deployment ? (run_id > 0 ? " AND deployment = ?2" : "deployment = ?2") : "", order);
    /* the names as written: zone_name inserted after zone */
    struct names out_nm = nm;
    if (zone_col >= 0) {
        for (int c = nm.n; c > zone_col + 1; c--)
            memcpy(out_nm.name[c], nm.name[c - 1], sizeof out_nm.name[0]);
        snprintf(out_nm.name[zone_col + 1], sizeof out_nm.name[0], "zone_name");
        out_nm.n = nm.n + 1;
    }
    if (fmt == EXPORT_CSV) {
        for (int c = 0; c < out_nm.n; c++) {
            if (c)
                fputc(',', out);
            csv_field(out, out_nm.name[c]);
        }
        fputs("\r\n", out);
    }
    struct writer w = {out, fmt, &out_nm, 0, zone_col};
    struct db_value rv[2] = {db_int(run_id), db_text(deployment)};
    rc = db_query(db, sql, rv, deployment ? 2 : run_id > 0 ? 1 : 0, put_row, &w, err);
    *n_rows = w.rows;
    if (rc == SIM_ENOMEM)
        return sim_err_set(err, SIM_ENOMEM, "out of memory exporting '%s'", table);
    if ((rc == SIM_OK || rc == SIM_EIO) && (fflush(out) != 0 || ferror(out)))
        return sim_err_set(err, SIM_EIO, "cannot write the export: %s", strerror(errno));
    return rc;
}
