/* db.c: writing runs into the SQLite results database, one transaction per run. */
#include "reports/db.h"

#include <gsl/gsl_version.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "reports/schema_sql.h" /* generated from reports/schema.sql */
#include "sim/plan.h"

#ifndef LLMCAP_VERSION
#define LLMCAP_VERSION "0.0.0"
#endif
#ifndef LLMCAP_GIT_DESCRIBE
#define LLMCAP_GIT_DESCRIBE "unknown"
#endif

struct db {
    sqlite3 *h;
    char path[1024];
    sqlite3_stmt *ins_req;
    sqlite3_stmt *ins_sample;
    sqlite3_stmt *ins_pod;
    sqlite3_stmt *ins_scale;
    sqlite3_stmt *ins_node;
    int64_t run_id;
    bool in_run;
    struct sim_sink sink;
    struct sim_err sink_err;
};

static int db_fail(const struct db *db, struct sim_err *err, const char *what)
{
    return sim_err_at(err, SIM_EIO, db->path, 0, 0, "%s: %s", what, sqlite3_errmsg(db->h));
}

static int exec(struct db *db, const char *sql, struct sim_err *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        sim_err_at(err, SIM_EIO, db->path, 0, 0, "%s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return SIM_EIO;
    }
    return SIM_OK;
}

/* Read one integer from a query. Returns the sqlite rc. */
static int query_int(sqlite3 *h, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(h, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static int check_or_create(struct db *db, struct sim_err *err)
{
    int64_t app = 0, version = 0, n_tables = 0;
    int rc = query_int(db->h, "PRAGMA application_id", &app);
    if (rc == SQLITE_NOTADB)
        return sim_err_at(err, SIM_EINVAL, db->path, 0, 0,
                          "not an llmcap database (not a SQLite file): refusing to write "
                          "into it; choose another output file");
    if (rc != SQLITE_OK)
        return db_fail(db, err, "cannot read the database");
    if (query_int(db->h, "PRAGMA user_version", &version) != SQLITE_OK ||
        query_int(db->h, "SELECT count(*) FROM sqlite_master", &n_tables) != SQLITE_OK)
        return db_fail(db, err, "cannot read the database");
    if (app == DB_APPLICATION_ID) {
        if (version > DB_SCHEMA_VERSION)
            return sim_err_at(err, SIM_EINVAL, db->path, 0, 0,
                              "written by a newer llmcap (schema version %lld, this llmcap "
                              "knows %d): refusing to write into it",
                              (long long)version, DB_SCHEMA_VERSION);
        return SIM_OK;
    }
    if (n_tables > 0 || app != 0)
        return sim_err_at(err, SIM_EINVAL, db->path, 0, 0,
                          "a SQLite database that is not llmcap's: refusing to write into "
                          "it; choose another output file");
    if (sqlite3_db_readonly(db->h, "main") == 1)
        return sim_err_at(err, SIM_EIO, db->path, 0, 0, "cannot write: the file is read-only");
    if (exec(db, "BEGIN IMMEDIATE", err) != SIM_OK)
        return SIM_EIO;
    if (exec(db, llmcap_schema_sql, err) != SIM_OK ||
        exec(db, "INSERT INTO meta(key, value) VALUES ('application', 'llmcap'), "
                 "('created_by', 'llmcap " LLMCAP_VERSION "')",
             err) != SIM_OK) {
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
        return SIM_EIO;
    }
    return exec(db, "COMMIT", err);
}

static int sink_request(void *ctx, const struct rec_request *r);
static int sink_sample(void *ctx, const struct rec_sample *s);
static int sink_pod(void *ctx, const struct rec_pod *p);
static int sink_scaling_event(void *ctx, const struct rec_scaling_event *e);
static int sink_node(void *ctx, const struct rec_node *n);

struct db *db_open(const char *path, struct sim_err *err)
{
    struct db *db = calloc(1, sizeof *db);
    if (!db) {
        sim_err_set(err, SIM_ENOMEM, "out of memory");
        return NULL;
    }
    snprintf(db->path, sizeof db->path, "%s", path);
    int rc = sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        /* SQLite says only "unable to open database file": name the usual causes. */
        char dir[sizeof db->path];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash)
            slash[slash == dir ? 1 : 0] = '\0';
        struct stat st;
        if (stat(slash ? dir : ".", &st) != 0 || !S_ISDIR(st.st_mode))
            sim_err_at(err, SIM_EIO, path, 0, 0,
                       "cannot create the database: the folder '%s' does not exist", dir);
        else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            sim_err_at(err, SIM_EIO, path, 0, 0, "cannot open '%s': is a directory", path);
        else
            sim_err_at(err, SIM_EIO, path, 0, 0, "cannot open: %s",
                       db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
        db_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db->h, 5000);
    sqlite3_extended_result_codes(db->h, 0);
    /* Test hook, not for users (docs/robustness.md): LLMCAP_TEST_MAX_PAGES=N caps the file
     * at N pages, so a test can make the disk fill up in the middle of a run. */
    const char *max_pages = getenv("LLMCAP_TEST_MAX_PAGES");
    if (max_pages && *max_pages) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", strtoll(max_pages, NULL, 10));
        sqlite3_exec(db->h, sql, NULL, NULL, NULL);
    }
    if (check_or_create(db, err) != SIM_OK) {
        db_close(db);
        return NULL;
    }
    if (exec(db, "PRAGMA cache_size = -65536", err) != SIM_OK) {
        db_close(db);
        return NULL;
    }
    db->sink.ctx = db;
    db->sink.request = sink_request;
    db->sink.sample = sink_sample;
    db->sink.pod = sink_pod;
    db->sink.scaling_event = sink_scaling_event;
    db->sink.node = sink_node;
    return db;
}

void db_close(struct db *db)
{
    if (!db)
        return;
    if (db->in_run)
        db_abort_run(db);
    sqlite3_finalize(db->ins_req);
    sqlite3_finalize(db->ins_sample);
    sqlite3_finalize(db->ins_pod);
    sqlite3_finalize(db->ins_scale);
    sqlite3_finalize(db->ins_node);
    sqlite3_close(db->h);
    free(db);
}

int db_begin_run(struct db *db, int64_t *run_id, struct sim_err *err)
{
    SIM_ASSERT(!db->in_run);
    if (sqlite3_db_readonly(db->h, "main") == 1)
        return sim_err_at(err, SIM_EIO, db->path, 0, 0, "cannot write: the file is read-only");
    int rc = sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        return sim_err_at(err, SIM_EIO, db->path, 0, 0,
                          "the database is locked by another process (waited 5 s)");
    if (rc != SQLITE_OK)
        return db_fail(db, err, "cannot start a transaction");
    int64_t max_id = 0;
    if (query_int(db->h, "SELECT coalesce(max(run_id), 0) FROM runs", &max_id) != SQLITE_OK)
        goto fail;
    db->run_id = max_id + 1;
    if (!db->ins_req &&
        sqlite3_prepare_v2(db->h,
                           "INSERT INTO requests VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                           "?10, ?11, ?12, ?13, ?14, ?15)",
                           -1, &db->ins_req, NULL) != SQLITE_OK)
        goto fail;
    if (!db->ins_sample &&
        sqlite3_prepare_v2(db->h, "INSERT INTO samples VALUES (?1, ?2, ?3, ?4, '{}', ?5)", -1,
                           &db->ins_sample, NULL) != SQLITE_OK)
        goto fail;
    if (!db->ins_pod &&
        sqlite3_prepare_v2(db->h,
                           "INSERT INTO pods VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                           "?11, ?12)",
                           -1, &db->ins_pod, NULL) != SQLITE_OK)
        goto fail;
    if (!db->ins_scale &&
        sqlite3_prepare_v2(db->h,
                           "INSERT INTO scaling_events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                           -1, &db->ins_scale, NULL) != SQLITE_OK)
        goto fail;
    if (!db->ins_node &&
        sqlite3_prepare_v2(db->h,
                           "INSERT INTO nodes (run_id, node_id, instance_type, capacity_type, "
                           "zone, price_usd_per_hour, requested_s, launched_s, registered_s, "
                           "ready_s, terminated_s, end_reason, cost_usd) VALUES (?1, ?2, ?3, ?4, "
                           "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                           -1, &db->ins_node, NULL) != SQLITE_OK)
        goto fail;
    db->in_run = true;
    sim_err_clear(&db->sink_err);
    *run_id = db->run_id;
    return SIM_OK;
fail:
    db_fail(db, err, "cannot prepare the run");
    sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    return SIM_EIO;
}

const struct sim_sink *db_sink(struct db *db)
{
    return &db->sink;
}

const struct sim_err *db_sink_error(const struct db *db)
{
    return db->sink_err.code ? &db->sink_err : NULL;
}

static void bind_time(sqlite3_stmt *st, int i, int64_t us)
{
    if (us < 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_double(st, i, (double)us * 1e-6);
}

static int step_reset(struct db *db, sqlite3_stmt *st, const char *what)
{
    /* On some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM) SQLite rolls the whole
     * transaction back by itself; a later INSERT would then commit on its own and leave
     * rows of a run that does not exist. After the first failure, write nothing more. */
    if (db->sink_err.code || sqlite3_get_autocommit(db->h)) {
        sqlite3_reset(st);
        if (!db->sink_err.code)
            sim_err_at(&db->sink_err, SIM_EIO, db->path, 0, 0,
                       "cannot write %s: the run's transaction is no longer open", what);
        return SIM_EIO;
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        if (!db->sink_err.code)
            sim_err_at(&db->sink_err, SIM_EIO, db->path, 0, 0, "cannot write %s: %s", what,
                       sqlite3_errmsg(db->h));
        return SIM_EIO;
    }
    return SIM_OK;
}

static int sink_request(void *ctx, const struct rec_request *r)
{
    struct db *db = ctx;
    sqlite3_stmt *st = db->ins_req;
    sqlite3_bind_int64(st, 1, db->run_id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)r->id);
    sqlite3_bind_double(st, 3, (double)r->arrival_us * 1e-6);
    sqlite3_bind_int(st, 4, r->prompt_tokens);
    sqlite3_bind_int(st, 5, r->output_tokens);
    sqlite3_bind_int(st, 6, r->generated_tokens);
    if (r->replica < 0)
        sqlite3_bind_null(st, 7);
    else
        sqlite3_bind_int(st, 7, r->replica);
    bind_time(st, 8, r->first_token_us);
    bind_time(st, 9, r->finish_us);
    if (r->first_token_us >= 0)
        sqlite3_bind_double(st, 10, (double)(r->first_token_us - r->arrival_us) * 1e-6);
    else
        sqlite3_bind_null(st, 10);
    if (r->outcome == OUTCOME_OK && r->output_tokens > 1)
        sqlite3_bind_double(st, 11, (double)(r->finish_us - r->first_token_us) * 1e-6 /
                                        (double)(r->output_tokens - 1));
    else
        sqlite3_bind_null(st, 11);
    sqlite3_bind_double(st, 12, (double)(r->finish_us - r->arrival_us) * 1e-6);
    sqlite3_bind_int(st, 13, r->preemptions);
    sqlite3_bind_int(st, 14, r->retries);
    sqlite3_bind_text(st, 15, req_outcome_name(r->outcome), -1, SQLITE_STATIC);
    return step_reset(db, st, "a request row");
}

static int sink_sample(void *ctx, const struct rec_sample *s)
{
    struct db *db = ctx;
    sqlite3_stmt *st = db->ins_sample;
    sqlite3_bind_int64(st, 1, db->run_id);
    sqlite3_bind_double(st, 2, (double)s->t_us * 1e-6);
    sqlite3_bind_text(st, 3, s->metric, -1, SQLITE_STATIC);
    if (s->replica < 0)
        sqlite3_bind_null(st, 4);
    else
        sqlite3_bind_int(st, 4, s->replica);
    sqlite3_bind_double(st, 5, s->value);
    return step_reset(db, st, "a sample");
}

static int sink_pod(void *ctx, const struct rec_pod *p)
{
    struct db *db = ctx;
    sqlite3_stmt *st = db->ins_pod;
    sqlite3_bind_int64(st, 1, db->run_id);
    sqlite3_bind_int(st, 2, p->pod_id);
    if (p->node_id < 0)
        sqlite3_bind_null(st, 3);
    else
        sqlite3_bind_int(st, 3, p->node_id);
    bind_time(st, 4, p->created_us);
    bind_time(st, 5, p->scheduled_us);
    bind_time(st, 6, p->pulled_us);
    bind_time(st, 7, p->loaded_us);
    bind_time(st, 8, p->ready_us);
    bind_time(st, 9, p->terminating_us);
    bind_time(st, 10, p->terminated_us);
    sqlite3_bind_int(st, 11, p->cold_start ? 1 : 0);
    if (p->end_reason)
        sqlite3_bind_text(st, 12, p->end_reason, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 12);
    return step_reset(db, st, "a pod row");
}

static int sink_scaling_event(void *ctx, const struct rec_scaling_event *e)
{
    struct db *db = ctx;
    sqlite3_stmt *st = db->ins_scale;
    sqlite3_bind_int64(st, 1, db->run_id);
    sqlite3_bind_double(st, 2, (double)e->t_us * 1e-6);
    sqlite3_bind_text(st, 3, e->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, e->metric_values, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 5, e->current_replicas);
    if (e->raw_desired < 0)
        sqlite3_bind_null(st, 6);
    else
        sqlite3_bind_int(st, 6, e->raw_desired);
    sqlite3_bind_int(st, 7, e->desired);
    sqlite3_bind_text(st, 8, e->reason, -1, SQLITE_TRANSIENT);
    return step_reset(db, st, "a scaling event");
}

static int sink_node(void *ctx, const struct rec_node *n)
{
    struct db *db = ctx;
    sqlite3_stmt *st = db->ins_node;
    sqlite3_bind_int64(st, 1, db->run_id);
    sqlite3_bind_int(st, 2, n->node_id);
    sqlite3_bind_text(st, 3, n->instance_type, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, n->capacity_type, -1, SQLITE_STATIC);
    if (n->zone)
        sqlite3_bind_text(st, 5, n->zone, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 5);
    sqlite3_bind_double(st, 6, n->price_usd_per_hour);
    bind_time(st, 7, n->requested_us);
    bind_time(st, 8, n->launched_us);
    bind_time(st, 9, n->registered_us);
    bind_time(st, 10, n->ready_us);
    bind_time(st, 11, n->terminated_us);
    if (n->end_reason)
        sqlite3_bind_text(st, 12, n->end_reason, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 12);
    sqlite3_bind_double(st, 13, n->cost_usd);
    return step_reset(db, st, "a node row");
}

struct summary_ctx {
    struct db *db;
    sqlite3_stmt *st;
};

static int put_summary(void *ctx, const char *key, double value)
{
    struct summary_ctx *c = ctx;
    sqlite3_bind_int64(c->st, 1, c->db->run_id);
    sqlite3_bind_text(c->st, 2, key, -1, SQLITE_TRANSIENT);
    if (isnan(value))
        sqlite3_bind_null(c->st, 3);
    else
        sqlite3_bind_double(c->st, 3, value);
    int rc = sqlite3_step(c->st);
    sqlite3_reset(c->st);
    return rc == SQLITE_DONE ? 0 : 1;
}

static void utc_now(char *buf, size_t n)
{
    /* Provenance only (when the row was written); never part of the model. */
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int db_finish_run(struct db *db, const struct db_run_info *info, const struct sim_result *r,
                  double wall_s, struct sim_err *err)
{
    SIM_ASSERT(db->in_run);
    const struct scenario *sc = info->sc;
    sqlite3_stmt *st = NULL;
    char created[32];
    utc_now(created, sizeof created);
    if (sqlite3_prepare_v2(db->h,
                           "INSERT INTO runs VALUES (?1, 'complete', ?2, ?3, ?4, ?5, ?6, ?7, "
                           "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_int64(st, 1, db->run_id);
    sqlite3_bind_text(st, 2, created, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, sc->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, sc->path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, sc->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, sc->overrides, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, info->labels_json ? info->labels_json : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)sc->seed);
    sqlite3_bind_text(st, 9, LLMCAP_VERSION, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, LLMCAP_GIT_DESCRIBE, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, GSL_VERSION, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 12, sqlite3_libversion(), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, info->latency_model, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 14, r->latency_provenance, -1, SQLITE_STATIC);
    if (sc->workload.kind == WL_TRACE)
        sqlite3_bind_text(st, 15, sc->workload.trace_path, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 15);
    sqlite3_bind_double(st, 16, wall_s);
    sqlite3_bind_double(st, 17, (double)r->end_us * 1e-6);
    sqlite3_bind_int64(st, 18, (sqlite3_int64)r->events);
    sqlite3_bind_int64(st, 19, (sqlite3_int64)r->n_requests);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(st);
    st = NULL;

    if (sqlite3_prepare_v2(db->h, "INSERT INTO summary VALUES (?1, ?2, ?3)", -1, &st, NULL) !=
        SQLITE_OK)
        goto fail;
    struct summary_ctx sctx = {db, st};
    if (sim_result_foreach(r, put_summary, &sctx) != 0)
        goto fail;
    sqlite3_finalize(st);
    st = NULL;

    if (sqlite3_prepare_v2(db->h,
                           "INSERT INTO slo_results VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    for (size_t i = 0; i < r->n_slo; i++) {
        const struct slo_result *sr = &r->slo[i];
        bool is_rate = sr->slo->metric == SLO_ERROR_RATE;
        sqlite3_bind_int64(st, 1, db->run_id);
        sqlite3_bind_text(st, 2, sr->slo->key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, slo_metric_name(sr->slo->metric), -1, SQLITE_STATIC);
        if (is_rate)
            sqlite3_bind_null(st, 4);
        else
            sqlite3_bind_double(st, 4, sr->slo->quantile);
        sqlite3_bind_double(st, 5, sr->slo->target);
        if (isnan(sr->actual))
            sqlite3_bind_null(st, 6);
        else
            sqlite3_bind_double(st, 6, sr->actual);
        sqlite3_bind_text(st, 7, is_rate ? "frac" : "s", -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 8, sr->pass ? 1 : 0);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    db->in_run = false;
    return SIM_OK;
fail:
    db_fail(db, err, "cannot record the run");
    sqlite3_finalize(st);
    db_abort_run(db);
    return SIM_EIO;
}

void db_abort_run(struct db *db)
{
    if (!db->in_run)
        return;
    sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    db->in_run = false;
}

/* ---- plans ----------------------------------------------------------------------------- */

static void bind_real(sqlite3_stmt *st, int i, double v)
{
    if (isnan(v))
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_double(st, i, v);
}

int db_write_plan(struct db *db, const struct scenario *sc, const struct plan_result *r,
                  size_t n, long best, int64_t *plan_id, struct sim_err *err)
{
    SIM_ASSERT(!db->in_run);
    int rc = sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        return sim_err_at(err, SIM_EIO, db->path, 0, 0,
                          "the database is locked by another process (waited 5 s)");
    if (rc != SQLITE_OK)
        return db_fail(db, err, "cannot start a transaction");
    sqlite3_stmt *st = NULL;
    int64_t max_id = 0;
    char created[32];
    utc_now(created, sizeof created);
    if (query_int(db->h, "SELECT coalesce(max(plan_id), 0) FROM plan_results", &max_id) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db->h,
                           "INSERT INTO plan_results VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                           "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, "
                           "?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32)",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    *plan_id = max_id + 1;
    for (size_t i = 0; i < n; i++) {
        const struct plan_result *x = &r[i];
        char label[256];
        plan_label(x, label, sizeof label);
        sqlite3_bind_int64(st, 1, *plan_id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
        sqlite3_bind_text(st, 3, created, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, sc->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, sc->sha256, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, label, -1, SQLITE_TRANSIENT);
        if (x->instance[0])
            sqlite3_bind_text(st, 7, x->instance, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 7);
        sqlite3_bind_text(st, 8, x->gpu, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 9, x->tp);
        sqlite3_bind_text(st, 10, x->dtype, -1, SQLITE_STATIC);
        if (x->max_num_seqs > 0)
            sqlite3_bind_int(st, 11, x->max_num_seqs);
        else
            sqlite3_bind_null(st, 11);
        if (x->max_batched > 0)
            sqlite3_bind_int(st, 12, x->max_batched);
        else
            sqlite3_bind_null(st, 12);
        sqlite3_bind_double(st, 13, x->spot_share);
        if (x->min_replicas >= 0)
            sqlite3_bind_int(st, 14, x->min_replicas);
        else
            sqlite3_bind_null(st, 14);
        bind_real(st, 15, x->threshold);
        if (x->window_s >= 0)
            sqlite3_bind_int(st, 16, x->window_s);
        else
            sqlite3_bind_null(st, 16);
        sqlite3_bind_int(st, 17, x->fits);
        sqlite3_bind_int(st, 18, x->feasible);
        sqlite3_bind_text(st, 19, x->reason, -1, SQLITE_STATIC);
        bind_real(st, 20, x->fits && !x->autoscaled ? x->max_rate_scale : NAN);
        sqlite3_bind_int(st, 21, x->search_runs);
        if (x->feasible)
            sqlite3_bind_int(st, 22, x->replicas);
        else
            sqlite3_bind_null(st, 22);
        bind_real(st, 23, x->feasible ? x->replica_hours : NAN);
        bind_real(st, 24, x->usd_per_hour);
        bind_real(st, 25, x->cost_usd);
        bind_real(st, 26, x->usd_per_mtok);
        bind_real(st, 27, x->feasible ? x->ttft_p95_s : NAN);
        bind_real(st, 28, x->feasible ? x->tpot_p95_s : NAN);
        bind_real(st, 29, x->feasible ? x->error_rate : NAN);
        bind_real(st, 30, x->feasible ? x->margin : NAN);
        sqlite3_bind_int(st, 31, x->pareto);
        sqlite3_bind_int(st, 32, (long)i == best);
        int src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src != SQLITE_DONE)
            goto fail;
    }
    sqlite3_finalize(st);
    if (sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        st = NULL;
        goto fail;
    }
    return SIM_OK;
fail:
    db_fail(db, err, "cannot record the plan");
    sqlite3_finalize(st);
    sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    return SIM_EIO;
}
