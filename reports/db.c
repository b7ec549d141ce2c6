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
#include <unistd.h>

#include "reports/schema_sql.h" /* generated from reports/schema.sql */
#include "sim/config/ignored.h"

/* run_notes came after schema 1 was released: created when a run or a merge needs it
 * (the same statement as in reports/schema.sql). */
#define RUN_NOTES_SQL                                                                      \
    "CREATE TABLE IF NOT EXISTS run_notes (run_id INTEGER NOT NULL REFERENCES runs(run_id), " \
    "key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_id, key)) WITHOUT ROWID"
#include "sim/core/sha256.h"

/* The tables of runs with several deployments (reports/schema.sql), created when such a
 * run is written or merged, so files written before them open unchanged. */
#define DEPLOYMENTS_SQL                                                                    \
    "CREATE TABLE IF NOT EXISTS deployments (run_id INTEGER NOT NULL REFERENCES "          \
    "runs(run_id), deployment TEXT NOT NULL, position INTEGER NOT NULL, model_name TEXT "   \
    "NOT NULL, gpu TEXT, tensor_parallel_size INTEGER NOT NULL, slo_pass INTEGER NOT NULL " \
    "CHECK (slo_pass IN (0, 1)), PRIMARY KEY (run_id, deployment)) WITHOUT ROWID;"         \
    "CREATE TABLE IF NOT EXISTS deployment_summary (run_id INTEGER NOT NULL REFERENCES "   \
    "runs(run_id), deployment TEXT NOT NULL, key TEXT NOT NULL, value REAL, PRIMARY KEY "  \
    "(run_id, deployment, key)) WITHOUT ROWID;"                                            \
    "CREATE TABLE IF NOT EXISTS deployment_slo_results (run_id INTEGER NOT NULL "          \
    "REFERENCES runs(run_id), deployment TEXT NOT NULL, slo TEXT NOT NULL, metric TEXT "   \
    "NOT NULL, quantile REAL, target REAL NOT NULL, actual REAL, unit TEXT NOT NULL, pass " \
    "INTEGER NOT NULL CHECK (pass IN (0, 1)), PRIMARY KEY (run_id, deployment, slo)) "     \
    "WITHOUT ROWID"

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
    bool readonly; /* opened by db_open_readonly */
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

static int add_run_keys(struct db *db, struct sim_err *err);
static int migrate_to_v2(struct db *db, struct sim_err *err);
static int add_class_columns(struct db *db, struct sim_err *err);
static int migrate_to_v3(struct db *db, struct sim_err *err);

/* What the file is: application_id, user_version and how many schema objects. */
static int read_kind(struct db *db, int64_t *app, int64_t *version, int64_t *n_tables,
                     struct sim_err *err)
{
    int rc = query_int(db->h, "PRAGMA application_id", app);
    if (rc == SQLITE_NOTADB)
        return sim_err_at(err, SIM_EINVAL, db->path, 0, 0,
                          "not an llmcap database (not a SQLite file): refusing to write "
                          "into it; choose another output file");
    if (rc != SQLITE_OK || query_int(db->h, "PRAGMA user_version", version) != SQLITE_OK ||
        query_int(db->h, "SELECT count(*) FROM sqlite_master", n_tables) != SQLITE_OK)
        return db_fail(db, err, "cannot read the database");
    return SIM_OK;
}

/* An llmcap database to append to: not from a newer llmcap, and not damaged. */
static int check_llmcap(struct db *db, int64_t version, struct sim_err *err)
{
    if (version > DB_SCHEMA_VERSION)
        return sim_err_at(err, SIM_EINVAL, db->path, 0, 0,
                          "written by a newer llmcap (schema version %lld, this llmcap "
                          "knows %d): refusing to write into it",
                          (long long)version, DB_SCHEMA_VERSION);
    sqlite3_stmt *st = NULL;
    char first[160] = "";
    int rc = sqlite3_prepare_v2(db->h, "PRAGMA quick_check(1)", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(first, sizeof first, "%s", t ? (const char *)t : "");
        for (char *c = first; *c; c++)
            if (*c == '\n')
                *c = ' '; /* one line in the message */
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB || (rc == SQLITE_OK && strcmp(first, "ok")))
        return sim_err_at(err, SIM_EINVAL, db->path, 0, 0,
                          "the database is damaged (SQLite's quick_check: %s): refusing to "
                          "write into it; restore it or choose another output file",
                          first[0] ? first : sqlite3_errstr(rc));
    if (rc != SQLITE_OK)
        return db_fail(db, err, "cannot read the database");
    if ((rc = add_run_keys(db, err)) != SIM_OK)
        return rc;
    if (version < 2 && (rc = migrate_to_v2(db, err)) != SIM_OK)
        return rc;
    if ((rc = add_class_columns(db, err)) != SIM_OK)
        return rc;
    return version < 3 ? migrate_to_v3(db, err) : SIM_OK;
}

static int check_or_create(struct db *db, struct sim_err *err)
{
    int64_t app = 0, version = 0, n_tables = 0;
    /* The three reads in one read transaction: as separate statements, another process
     * creating the file could commit between them, and an application_id of 0 read before
     * its commit beside its tables read after it looked like another program's database. */
    int rc = sqlite3_exec(db->h, "BEGIN", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return db_fail(db, err, "cannot start a transaction");
    rc = read_kind(db, &app, &version, &n_tables, err);
    sqlite3_exec(db->h, rc == SIM_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    if (rc != SIM_OK)
        return rc;
    if (app == DB_APPLICATION_ID)
        return check_llmcap(db, version, err);
    if (n_tables > 0 || app != 0 || version != 0)
        return sim_err_at(err, SIM_EINVAL, db->path, 0, 0,
                          "a SQLite database that is not llmcap's: refusing to write into "
                          "it; choose another output file");
    if (sqlite3_db_readonly(db->h, "main") == 1)
        return sim_err_at(err, SIM_EIO, db->path, 0, 0, "cannot write: the file is read-only");
    /* A new file. Other llmcap processes may be creating it at this moment: look again
     * inside the write transaction (it waits on theirs, busy timeout), and create the
     * schema only if it is still empty; else it is theirs, as llmcap's as ours. */
    rc = sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        return sim_err_at(err, SIM_EIO, db->path, 0, 0,
                          "the database is locked by another process (waited 5 s)");
    if (rc != SQLITE_OK)
        return db_fail(db, err, "cannot start a transaction");
    if ((rc = read_kind(db, &app, &version, &n_tables, err)) != SIM_OK) {
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    if (app == DB_APPLICATION_ID || n_tables > 0 || app != 0 || version != 0) {
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
        if (app == DB_APPLICATION_ID)
            return check_llmcap(db, version, err);
        return sim_err_at(err, SIM_EINVAL, db->path, 0, 0,
                          "a SQLite database that is not llmcap's: refusing to write into "
                          "it; choose another output file");
    }
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
    struct stat pre;
    if (stat(path, &pre) == 0 && !S_ISREG(pre.st_mode) && !S_ISDIR(pre.st_mode)) {
        /* /dev/null, a FIFO, a socket: SQLite would put its journal beside it */
        sim_err_at(err, SIM_EINVAL, path, 0, 0,
                   "not a regular file (%s): refusing to write a database into it; choose "
                   "another output file",
                   S_ISCHR(pre.st_mode)    ? "a character device"
                   : S_ISBLK(pre.st_mode)  ? "a block device"
                   : S_ISFIFO(pre.st_mode) ? "a FIFO"
                                           : "a socket or special file");
        free(db);
        return NULL;
    }
    int rc = sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        /* SQLite says only "unable to open database file": name the usual causes. */
        char dir[sizeof db->path];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash)
            slash[slash == dir ? 1 : 0] = '\0';
        const char *folder = slash ? dir : ".";
        struct stat st;
        int pst = stat(path, &st);
        bool path_is_dir = pst == 0 && S_ISDIR(st.st_mode);
        if (stat(folder, &st) != 0)
            sim_err_at(err, SIM_EIO, path, 0, 0,
                       "cannot create the database: the folder '%s' does not exist", folder);
        else if (!S_ISDIR(st.st_mode))
            sim_err_at(err, SIM_EIO, path, 0, 0,
                       "cannot create the database: '%s' is not a folder", folder);
        else if (path_is_dir)
            sim_err_at(err, SIM_EIO, path, 0, 0, "cannot open '%s': is a directory", path);
        else if (pst != 0 && access(folder, W_OK | X_OK) != 0)
            sim_err_at(err, SIM_EIO, path, 0, 0,
                       "cannot create the database: the folder '%s' is not writable", folder);
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

/* One slo_results row: a run-wide SLO (cname NULL) or class cname's ('CLASS.key'). */
static int put_slo_row(struct db *db, sqlite3_stmt *st, const struct slo_result *sr,
                       const char *cname)
{
    bool is_rate = sr->slo->metric == SLO_ERROR_RATE;
    char key[128];
    if (cname)
        snprintf(key, sizeof key, "%s.%s", cname, sr->slo->key);
    else
        snprintf(key, sizeof key, "%s", sr->slo->key);
    sqlite3_bind_int64(st, 1, db->run_id);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
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
    if (cname)
        sqlite3_bind_text(st, 9, cname, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 9);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc;
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
                           "INSERT INTO requests (run_id, request_id, arrival_s, prompt_tokens, "
                           "output_tokens, generated_tokens, replica, first_token_s, finish_s, "
                           "ttft_s, tpot_s, e2e_s, preemptions, retries, outcome, class, "
                           "deployment) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                           "?12, ?13, ?14, ?15, ?16, ?17)",
                           -1, &db->ins_req, NULL) != SQLITE_OK)
        goto fail;
    if (!db->ins_sample &&
        sqlite3_prepare_v2(db->h,
                           "INSERT INTO samples (run_id, t_s, metric, replica, labels, value, "
                           "deployment) VALUES (?1, ?2, ?3, ?4, '{}', ?5, ?6)",
                           -1, &db->ins_sample, NULL) != SQLITE_OK)
        goto fail;
    if (!db->ins_pod &&
        sqlite3_prepare_v2(db->h,
                           "INSERT INTO pods (run_id, pod_id, node_id, created_s, scheduled_s, "
                           "image_pulled_s, weights_loaded_s, ready_s, terminating_s, "
                           "terminated_s, cold_start, end_reason, deployment) VALUES (?1, ?2, "
                           "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                           -1, &db->ins_pod, NULL) != SQLITE_OK)
        goto fail;
    if (!db->ins_scale &&
        sqlite3_prepare_v2(db->h,
                           "INSERT INTO scaling_events (run_id, t_s, source, metric_values, "
                           "current_replicas, raw_desired, desired, reason, deployment) VALUES "
                           "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
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

/* A deployment's name (static for the run: no copy), or NULL. */
static void bind_name(sqlite3_stmt *st, int i, const char *name)
{
    if (name)
        sqlite3_bind_text(st, i, name, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
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
    if (r->class_name)
        sqlite3_bind_text(st, 16, r->class_name, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 16);
    bind_name(st, 17, r->deployment);
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
    bind_name(st, 6, s->deployment);
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
    bind_name(st, 13, p->deployment);
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
    bind_name(st, 9, e->deployment);
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


struct dep_summary_ctx {
    struct db *db;
    sqlite3_stmt *st;
    const char *name;
};

static int put_dep_summary(void *ctx, const char *key, double value)
{
    struct dep_summary_ctx *c = ctx;
    sqlite3_bind_int64(c->st, 1, c->db->run_id);
    sqlite3_bind_text(c->st, 2, c->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(c->st, 3, key, -1, SQLITE_TRANSIENT);
    if (isnan(value))
        sqlite3_bind_null(c->st, 4);
    else
        sqlite3_bind_double(c->st, 4, value);
    int rc = sqlite3_step(c->st);
    sqlite3_reset(c->st);
    return rc == SQLITE_DONE ? 0 : 1;
}

/* Every deployment's row, summary and SLO verdicts (SQLITE_OK, or the failing code). */
static int put_deployments(struct db *db, const struct sim *s)
{
    sqlite3_stmt *st[3] = {NULL, NULL, NULL};
    int rc = sqlite3_exec(db->h, DEPLOYMENTS_SQL, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db->h,
                                "INSERT INTO deployments VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                                -1, &st[0], NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db->h, "INSERT INTO deployment_summary VALUES (?1, ?2, ?3, ?4)",
                                -1, &st[1], NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db->h,
                                "INSERT INTO deployment_slo_results VALUES (?1, ?2, ?3, ?4, ?5, "
                                "?6, ?7, ?8, ?9)",
                                -1, &st[2], NULL);
    for (int32_t k = 0; rc == SQLITE_OK && k < sim_n_deployments(s); k++) {
        const struct scenario *sc = sim_deployment_scenario(s, k);
        const struct sim_result *r = sim_deployment_result(s, k);
        sqlite3_bind_int64(st[0], 1, db->run_id);
        sqlite3_bind_text(st[0], 2, sc->deployment, -1, SQLITE_STATIC);
        sqlite3_bind_int(st[0], 3, k);
        sqlite3_bind_text(st[0], 4, sim_deployment_model(s, k), -1, SQLITE_STATIC);
        if (sc->engine.gpu[0])
            sqlite3_bind_text(st[0], 5, sc->engine.gpu, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st[0], 5);
        sqlite3_bind_int(st[0], 6, sc->engine.tensor_parallel_size);
        sqlite3_bind_int(st[0], 7, r->slo_pass ? 1 : 0);
        rc = sqlite3_step(st[0]) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_reset(st[0]);
        struct dep_summary_ctx c = {db, st[1], sc->deployment};
        if (rc == SQLITE_OK && sim_result_foreach(r, put_dep_summary, &c) != 0)
            rc = SQLITE_ERROR;
        for (size_t i = 0; rc == SQLITE_OK && i < r->n_slo; i++) {
            const struct slo_result *sr = &r->slo[i];
            bool is_rate = sr->slo->metric == SLO_ERROR_RATE;
            sqlite3_bind_int64(st[2], 1, db->run_id);
            sqlite3_bind_text(st[2], 2, sc->deployment, -1, SQLITE_STATIC);
            sqlite3_bind_text(st[2], 3, sr->slo->key, -1, SQLITE_STATIC);
            sqlite3_bind_text(st[2], 4, slo_metric_name(sr->slo->metric), -1, SQLITE_STATIC);
            if (is_rate)
                sqlite3_bind_null(st[2], 5);
            else
                sqlite3_bind_double(st[2], 5, sr->slo->quantile);
            sqlite3_bind_double(st[2], 6, sr->slo->target);
            if (isnan(sr->actual))
                sqlite3_bind_null(st[2], 7);
            else
                sqlite3_bind_double(st[2], 7, sr->actual);
            sqlite3_bind_text(st[2], 8, is_rate ? "frac" : "s", -1, SQLITE_STATIC);
            sqlite3_bind_int(st[2], 9, sr->pass ? 1 : 0);
            rc = sqlite3_step(st[2]) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
            sqlite3_reset(st[2]);
        }
    }
    for (int i = 0; i < 3; i++)
        sqlite3_finalize(st[i]);
    return rc;
}

int db_finish_run(struct db *db, const struct db_run_info *info, const struct sim_result *r,
                  double wall_s, struct sim_err *err)
{
    SIM_ASSERT(db->in_run);
    const struct scenario *sc = info->sc;
    sqlite3_stmt *st = NULL;
    char created[32];
    utc_now(created, sizeof created);
    char key[65];
    struct db_run_identity id = {sc->sha256, sc->overrides, info->labels_json, sc->seed,
                                 LLMCAP_VERSION, LLMCAP_GIT_DESCRIBE};
    db_run_key(&id, key);
    if (sqlite3_prepare_v2(db->h,
                           "INSERT INTO runs (run_id, status, created_utc, scenario_name, "
                           "scenario_path, scenario_sha256, overrides, labels_json, seed, "
                           "llmcap_version, git_describe, gsl_version, sqlite_version, "
                           "latency_model, latency_provenance, trace_path, wall_s, sim_end_s, "
                           "n_events, n_requests, run_key) VALUES (?1, 'complete', ?2, ?3, ?4, "
                           "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
                           "?19, ?20)",
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
    sqlite3_bind_text(st, 20, key, -1, SQLITE_STATIC);
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
                           "INSERT INTO slo_results VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    for (int c = -1; c < r->n_classes; c++) {
        const struct slo_result *srs = c < 0 ? r->slo : r->cls[c].slo;
        size_t n = c < 0 ? r->n_slo : r->cls[c].n_slo;
        const char *cname = c < 0 ? NULL : r->cls[c].spec->name;
        for (size_t i = 0; i < n; i++) {
            if (put_slo_row(db, st, &srs[i], cname) != SQLITE_DONE)
                goto fail;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if (r->ignored.n) {
        char text[IGNORED_MAX * (IGNORED_PATH_MAX + 2) + 64];
        ignored_format(&r->ignored, text, sizeof text);
        if (sqlite3_exec(db->h, RUN_NOTES_SQL, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(db->h, "INSERT INTO run_notes VALUES (?1, ?2, ?3)", -1, &st,
                               NULL) != SQLITE_OK)
            goto fail;
        sqlite3_bind_int64(st, 1, db->run_id);
        sqlite3_bind_text(st, 2, "ignored_fields", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, text, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            goto fail;
        sqlite3_finalize(st);
        st = NULL;
    }
    if (info->sim && sim_n_deployments(info->sim) > 1 &&
        put_deployments(db, info->sim) != SQLITE_OK)
        goto fail;
    const struct {
        const char *key, *value;
    } notes[] = {{"zone_names", r->zone_names},
                 {"cloud_region", r->cloud_region},
                 {"mig_relayout", r->mig_relayout}};
    for (size_t i = 0; i < sizeof notes / sizeof notes[0]; i++) {
        if (!notes[i].value[0])
            continue;
        if (sqlite3_exec(db->h, RUN_NOTES_SQL, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(db->h, "INSERT INTO run_notes VALUES (?1, ?2, ?3)", -1, &st,
                               NULL) != SQLITE_OK)
            goto fail;
        sqlite3_bind_int64(st, 1, db->run_id);
        sqlite3_bind_text(st, 2, notes[i].key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, notes[i].value, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            goto fail;
        sqlite3_finalize(st);
        st = NULL;
    }
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

/* ---- other writers (plans) -------------------------------------------------------------- */

int db_begin_write(struct db *db, struct sim_err *err)
{
    SIM_ASSERT(!db->in_run);
    if (db->readonly)
        return sim_err_at(err, SIM_EIO, db->path, 0, 0, "the database is open read-only");
    int rc = sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        return sim_err_at(err, SIM_EIO, db->path, 0, 0,
                          "the database is locked by another process (waited 5 s)");
    if (rc != SQLITE_OK)
        return db_fail(db, err, "cannot start a transaction");
    return SIM_OK;
}

int db_commit_write(struct db *db, struct sim_err *err)
{
    if (sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        db_fail(db, err, "cannot commit");
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
        return SIM_EIO;
    }
    return SIM_OK;
}

void db_rollback_write(struct db *db)
{
    sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

void db_utc_now(char *buf, size_t n)
{
    utc_now(buf, n);
}

/* ---- run identity ------------------------------------------------------------------------ */

const char *db_llmcap_version(void)
{
    return LLMCAP_VERSION;
}

const char *db_git_describe(void)
{
    return LLMCAP_GIT_DESCRIBE;
}

void db_run_key(const struct db_run_identity *id, char hex[65])
{
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)id->seed);
    /* NUL-separated fields behind a format tag: no two identities hash the same text. */
    const char *parts[] = {"llmcap-run-key-1",
                           id->scenario_sha256,
                           id->overrides ? id->overrides : "",
                           id->labels_json ? id->labels_json : "{}",
                           seed,
                           id->llmcap_version,
                           id->git_describe};
    struct sha256 h;
    sha256_init(&h);
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        sha256_update(&h, parts[i], strlen(parts[i]) + 1);
    uint8_t d[32];
    sha256_final(&h, d);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

/* Tables that hold a run's rows besides `runs`, in the order they are copied. */
static const char *const run_tables[] = {"requests",       "samples", "summary", "slo_results",
                                         "scaling_events", "pods",    "nodes"};

/* Whether `table` in schema `schema` has a column `col`. */
static bool has_column(sqlite3 *h, const char *schema, const char *table, const char *col)
{
    char sql[160];
    snprintf(sql, sizeof sql, "PRAGMA %s.table_info(%s)", schema, table);
    sqlite3_stmt *st = NULL;
    bool found = false;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK)
        while (!found && sqlite3_step(st) == SQLITE_ROW)
            found = !strcmp((const char *)sqlite3_column_text(st, 1), col);
    sqlite3_finalize(st);
    return found;
}

/* The key of a stored run from its identity columns (id, sha, overrides, labels, seed,
 * version, describe). Runs that share one (the same run written twice before run_key
 * existed) get their run id appended, so that every key stays unique. */
static void key_from_columns(sqlite3_stmt *st, char key[80])
{
    struct db_run_identity id = {
        (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2),
        (const char *)sqlite3_column_text(st, 3), (uint64_t)sqlite3_column_int64(st, 4),
        (const char *)sqlite3_column_text(st, 5), (const char *)sqlite3_column_text(st, 6)};
    db_run_key(&id, key);
}

/* Version 2's class columns (requests.class, slo_results.class: request classes), added
 * in place to a version-2 file written before them (ALTER TABLE ADD COLUMN, NULL: no
 * classes), in one write transaction. */
static int add_class_columns(struct db *db, struct sim_err *err)
{
    bool rq = has_column(db->h, "main", "requests", "class");
    bool sl = has_column(db->h, "main", "slo_results", "class");
    if (rq && sl)
        return SIM_OK;
    if (sqlite3_db_readonly(db->h, "main") == 1)
        return sim_err_at(err, SIM_EIO, db->path, 0, 0,
                          "cannot write: the file is read-only (it needs its schema "
                          "upgraded to version %d)",
                          DB_SCHEMA_VERSION);
    if (exec(db, "BEGIN IMMEDIATE", err) != SIM_OK)
        goto fail;
    /* another process may have added them meanwhile */
    rq = has_column(db->h, "main", "requests", "class");
    sl = has_column(db->h, "main", "slo_results", "class");
    if ((!rq && exec(db, "ALTER TABLE requests ADD COLUMN class TEXT", err) != SIM_OK) ||
        (!sl && exec(db, "ALTER TABLE slo_results ADD COLUMN class TEXT", err) != SIM_OK) ||
        exec(db, "COMMIT", err) != SIM_OK)
        goto fail;
    return SIM_OK;
fail:
    sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    return err->code ? err->code : SIM_EIO;
}

#define IDENTITY_COLUMNS                                                                   \
    "run_id, scenario_sha256, overrides, labels_json, seed, llmcap_version, git_describe"

/* Databases written before runs.run_key existed (schema 1 was unreleased then) get the
 * column, its keys and the unique index. */
static int add_run_keys(struct db *db, struct sim_err *err)
{
    if (has_column(db->h, "main", "runs", "run_key"))
        return SIM_OK;
    if (sqlite3_db_readonly(db->h, "main") == 1)
        return sim_err_at(err, SIM_EIO, db->path, 0, 0,
                          "cannot write: the file is read-only");
    if (exec(db, "BEGIN IMMEDIATE", err) != SIM_OK ||
        exec(db, "ALTER TABLE runs ADD COLUMN run_key TEXT", err) != SIM_OK)
        goto fail;
    sqlite3_stmt *sel = NULL, *upd = NULL, *dup = NULL;
    int rc = sqlite3_prepare_v2(db->h, "SELECT " IDENTITY_COLUMNS " FROM runs ORDER BY run_id",
                                -1, &sel, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db->h, "UPDATE runs SET run_key = ?2 WHERE run_id = ?1", -1,
                                &upd, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db->h, "SELECT 1 FROM runs WHERE run_key = ?1", -1, &dup, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
        char key[80];
        key_from_columns(sel, key);
        sqlite3_bind_text(dup, 1, key, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(dup) == SQLITE_ROW)
            snprintf(key + 64, sizeof key - 64, "-%lld",
                     (long long)sqlite3_column_int64(sel, 0));
        sqlite3_reset(dup);
        sqlite3_bind_int64(upd, 1, sqlite3_column_int64(sel, 0));
        sqlite3_bind_text(upd, 2, key, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(upd) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_reset(upd);
    }
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    sqlite3_finalize(dup);
    if (rc != SQLITE_DONE) {
        db_fail(db, err, "cannot add run keys");
        goto fail;
    }
    if (exec(db, "CREATE INDEX IF NOT EXISTS runs_by_key ON runs (run_key)", err) !=
            SIM_OK ||
        exec(db, "COMMIT", err) != SIM_OK)
        goto fail;
    return SIM_OK;
fail:
    sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    return err->code ? err->code : SIM_EIO;
}

/* The requests table's definition in schema.sql, as "CREATE TABLE <name> (...) WITHOUT
 * ROWID;" (one source of truth for the migration). */
static bool requests_ddl(const char *name, char *buf, size_t n)
{
    static const char head[] = "CREATE TABLE IF NOT EXISTS requests ";
    static const char tail[] = ") WITHOUT ROWID;";
    const char *a = strstr(llmcap_schema_sql, head);
    const char *b = a ? strstr(a, tail) : NULL;
    if (!b)
        return false;
    const char *body = a + sizeof head - 1;
    int len = (int)(b + sizeof tail - 1 - body);
    int w = snprintf(buf, n, "CREATE TABLE %s %.*s", name, len, body);
    return w > 0 && (size_t)w < n;
}

/* Start migrating to schema `to`: the write lock, then the version read again, since
 * another process may have migrated the file meanwhile (*done: it did, and the lock is
 * given back). SIM_OK, or an error with nothing held. */
static int begin_migration(struct db *db, int to, bool *done, struct sim_err *err)
{
    *done = false;
    if (sqlite3_db_readonly(db->h, "main") == 1)
        return sim_err_at(err, SIM_EIO, db->path, 0, 0,
                          "cannot write: the file is read-only (it needs its schema "
                          "upgraded to version %d)",
                          DB_SCHEMA_VERSION);
    if (exec(db, "BEGIN IMMEDIATE", err) != SIM_OK)
        return err->code ? err->code : SIM_EIO;
    int64_t version = 0;
    if (query_int(db->h, "PRAGMA user_version", &version) != SQLITE_OK) {
        db_fail(db, err, "cannot read the database");
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
        return SIM_EIO;
    }
    if (version >= to) {
        *done = true;
        return exec(db, "COMMIT", err);
    }
    return SIM_OK;
}

/* Version 1 -> 2: requests.outcome allows aborted, 5xx, client_timeout and shed. SQLite
 * cannot alter a CHECK constraint, so the table is rebuilt (SQLite's "making other kinds
 * of table schema changes": create the new table, copy, drop, rename) in one write
 * transaction; rows keep their values ('failed' stays allowed for them). */
static int migrate_to_v2(struct db *db, struct sim_err *err)
{
    char ddl[2048];
    if (!requests_ddl("requests_v2", ddl, sizeof ddl))
        return sim_err_set(err, SIM_EINVAL, "internal: no requests table in schema.sql");
    bool done;
    int rc = begin_migration(db, 2, &done, err);
    if (rc != SIM_OK || done)
        return rc;
    if (exec(db, ddl, err) != SIM_OK ||
        /* class (version 2) and deployment (version 3): NULL */
        exec(db, "INSERT INTO requests_v2 SELECT *, NULL, NULL FROM requests", err) != SIM_OK ||
        exec(db, "DROP TABLE requests", err) != SIM_OK ||
        exec(db, "ALTER TABLE requests_v2 RENAME TO requests", err) != SIM_OK ||
        exec(db, "PRAGMA user_version = 2", err) != SIM_OK || exec(db, "COMMIT", err) != SIM_OK)
        goto fail;
    return SIM_OK;
fail:
    sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    return err->code ? err->code : SIM_EIO;
}

/* The tables whose rows belong to one deployment of a run with several, which have a
 * deployment column from version 3 on. */
static const char *const deployment_tables[] = {"requests", "pods", "samples",
                                                "scaling_events"};

/* Where version 2 kept a row's deployment in a run of several: scaling_events.source
 * "chat/keda", samples.metric 'llmcap:replicas_ready{deployment="chat"}' (the
 * deployment's own series). Version 3 keeps it in the deployment column, the source and
 * metric plain: these expressions split a version-2 row (rows without it unchanged, their
 * deployment NULL); the migration and the merge of a version-2 input use them. */
#define V2_EVENT_DEPLOYMENT                                                                \
    "CASE WHEN instr(source, '/') > 0 THEN substr(source, 1, instr(source, '/') - 1) END"
#define V2_EVENT_SOURCE                                                                    \
    "CASE WHEN instr(source, '/') > 0 THEN substr(source, instr(source, '/') + 1) ELSE "   \
    "source END"
#define V2_SAMPLE_DEPLOYMENT                                                               \
    "CASE WHEN instr(metric, '{deployment=\"') > 0 THEN substr(metric, instr(metric, "     \
    "'{deployment=\"') + 13, length(metric) - instr(metric, '{deployment=\"') - 14) END"
#define V2_SAMPLE_METRIC                                                                   \
    "CASE WHEN instr(metric, '{deployment=\"') > 0 THEN substr(metric, 1, instr(metric, " \
    "'{deployment=\"') - 1) ELSE metric END"

/* Version 2 -> 3: requests, pods, samples and scaling_events get their deployment
 * (ALTER TABLE ADD COLUMN, in one write transaction). Rows of single-deployment runs keep
 * NULL, as version 3 writes them; rows of runs of several deployments get theirs where
 * version 2 kept it (samples, scaling_events: V2_*); version 2 did not record a request's
 * or a pod's deployment, which stay NULL (the deployment_summary counts are there). */
static int migrate_to_v3(struct db *db, struct sim_err *err)
{
    bool done;
    int rc = begin_migration(db, 3, &done, err);
    if (rc != SIM_OK || done)
        return rc;
    for (size_t i = 0; i < sizeof deployment_tables / sizeof deployment_tables[0]; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN deployment TEXT",
                 deployment_tables[i]);
        if (!has_column(db->h, "main", deployment_tables[i], "deployment") &&
            exec(db, sql, err) != SIM_OK)
            goto fail;
    }
    if (exec(db,
             "UPDATE scaling_events SET deployment = " V2_EVENT_DEPLOYMENT
             ", source = " V2_EVENT_SOURCE " WHERE instr(source, '/') > 0",
             err) != SIM_OK ||
        exec(db,
             "UPDATE samples SET deployment = " V2_SAMPLE_DEPLOYMENT ", metric = " V2_SAMPLE_METRIC
             " WHERE instr(metric, '{deployment=\"') > 0",
             err) != SIM_OK ||
        exec(db, "PRAGMA user_version = 3", err) != SIM_OK || exec(db, "COMMIT", err) != SIM_OK)
        goto fail;
    return SIM_OK;
fail:
    sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    return err->code ? err->code : SIM_EIO;
}

bool db_has_column(struct db *db, const char *table, const char *col)
{
    return has_column(db->h, "main", table, col);
}

int db_find_run_key(struct db *db, const char *key, int64_t *run_id, struct sim_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->h, "SELECT run_id FROM runs WHERE run_key = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return db_fail(db, err, "cannot read the database");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && run_id)
        *run_id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return db_fail(db, err, "cannot read the database");
}

/* ---- reading ------------------------------------------------------------------------------ */

const char *db_path(const struct db *db)
{
    return db->path;
}

struct db *db_open_readonly(const char *path, struct sim_err *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        sim_err_at(err, SIM_ENOENT, path, 0, 0, "cannot open: no such file");
        return NULL;
    }
    if (S_ISDIR(sb.st_mode)) {
        sim_err_at(err, SIM_EINVAL, path, 0, 0, "not an llmcap database (a directory)");
        return NULL;
    }
    struct db *db = calloc(1, sizeof *db);
    if (!db) {
        sim_err_set(err, SIM_ENOMEM, "out of memory");
        return NULL;
    }
    snprintf(db->path, sizeof db->path, "%s", path);
    db->readonly = true;
    int rc = sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK) {
        sim_err_at(err, SIM_EIO, path, 0, 0, "cannot open: %s",
                   db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
        db_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db->h, 5000);
    sqlite3_extended_result_codes(db->h, 0);
    int64_t app = 0, version = 0;
    rc = query_int(db->h, "PRAGMA application_id", &app);
    if (rc == SQLITE_NOTADB) {
        sim_err_at(err, SIM_EINVAL, path, 0, 0, "not an llmcap database (not a SQLite file)");
        db_close(db);
        return NULL;
    }
    if (rc != SQLITE_OK || query_int(db->h, "PRAGMA user_version", &version) != SQLITE_OK) {
        db_fail(db, err, "cannot read the database");
        db_close(db);
        return NULL;
    }
    if (app != DB_APPLICATION_ID) {
        sim_err_at(err, SIM_EINVAL, path, 0, 0, "%s",
                   sb.st_size == 0 ? "not an llmcap database (an empty file)"
                                   : "not an llmcap database (a SQLite file of another "
                                     "program)");
        db_close(db);
        return NULL;
    }
    if (version > DB_SCHEMA_VERSION) {
        sim_err_at(err, SIM_EINVAL, path, 0, 0,
                   "written by a newer llmcap (schema version %lld, this llmcap knows %d)",
                   (long long)version, DB_SCHEMA_VERSION);
        db_close(db);
        return NULL;
    }
    return db;
}

struct db_value db_int(int64_t i)
{
    return (struct db_value){DB_INT, i, (double)i, NULL};
}

struct db_value db_real(double d)
{
    return (struct db_value){isnan(d) ? DB_NULL : DB_REAL, 0, d, NULL};
}

struct db_value db_text(const char *s)
{
    return (struct db_value){s ? DB_TEXT : DB_NULL, 0, NAN, s};
}

static void bind_values(sqlite3_stmt *st, const struct db_value *v, int n)
{
    for (int i = 0; i < n; i++) {
        switch (v[i].type) {
        case DB_INT:
            sqlite3_bind_int64(st, i + 1, v[i].i);
            break;
        case DB_REAL:
            sqlite3_bind_double(st, i + 1, v[i].d);
            break;
        case DB_TEXT:
            sqlite3_bind_text(st, i + 1, v[i].s, -1, SQLITE_TRANSIENT);
            break;
        default:
            sqlite3_bind_null(st, i + 1);
        }
    }
}

int db_exec(struct db *db, const char *sql, const struct db_value *params, int n_params,
            struct sim_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, "cannot write the database");
    bind_values(st, params, n_params);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    if (rc != SQLITE_DONE) {
        db_fail(db, err, "cannot write the database");
        sqlite3_finalize(st);
        return SIM_EIO;
    }
    sqlite3_finalize(st);
    return SIM_OK;
}

int db_query(struct db *db, const char *sql, const struct db_value *params, int n_params,
             db_row_fn fn, void *ctx, struct sim_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, "cannot read the database");
    bind_values(st, params, n_params);
    struct db_value cols[DB_MAX_COLUMNS];
    int n = sqlite3_column_count(st);
    SIM_ASSERT(n <= DB_MAX_COLUMNS);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < n; c++) {
            struct db_value *v = &cols[c];
            switch (sqlite3_column_type(st, c)) {
            case SQLITE_INTEGER:
                *v = db_int(sqlite3_column_int64(st, c));
                break;
            case SQLITE_FLOAT:
                v->type = DB_REAL;
                v->d = sqlite3_column_double(st, c);
                v->i = (int64_t)v->d;
                v->s = NULL;
                break;
            case SQLITE_NULL:
                *v = (struct db_value){DB_NULL, 0, NAN, NULL};
                break;
            default:
                *v = db_text((const char *)sqlite3_column_text(st, c));
                break;
            }
        }
        int r = fn(ctx, cols, n);
        if (r) {
            sqlite3_finalize(st);
            return r;
        }
    }
    if (rc != SQLITE_DONE) {
        db_fail(db, err, "cannot read the database");
        sqlite3_finalize(st);
        return SIM_EIO;
    }
    sqlite3_finalize(st);
    return SIM_OK;
}

/* ---- merging ------------------------------------------------------------------------------ */

struct src_run {
    int64_t id;
    char key[80];
};

/* "a, b, c" of `table`'s columns in main (run_id first), checking src has each of them. */
static int column_list(struct db *db, const char *table, char *buf, char *sbuf, size_t n,
                       bool *src_missing, struct sim_err *err)
{
    char sql[160];
    snprintf(sql, sizeof sql, "PRAGMA main.table_info(%s)", table);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, "cannot read the database");
    size_t len = 0, slen = 0;
    buf[0] = sbuf[0] = '\0';
    *src_missing = false;
    /* a version-2 input: its runs of several deployments kept the deployment of samples
     * and scaling events in their metric and source (V2_*) */
    bool v2 = !has_column(db->h, "src", table, "deployment");
    bool events = !strcmp(table, "scaling_events"), samples = !strcmp(table, "samples");
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *col = (const char *)sqlite3_column_text(st, 1);
        if (!strcmp(col, "run_id") || !strcmp(col, "run_key"))
            continue;
        const char *from = col;
        bool dep = !strcmp(col, "deployment");
        if (v2 && events && (dep || !strcmp(col, "source")))
            from = dep ? V2_EVENT_DEPLOYMENT : V2_EVENT_SOURCE;
        else if (v2 && samples && (dep || !strcmp(col, "metric")))
            from = dep ? V2_SAMPLE_DEPLOYMENT : V2_SAMPLE_METRIC;
        else if (!has_column(db->h, "src", table, col)) {
            /* schema 2's class columns: NULL (no classes) in a version-1 input; schema
             * 3's deployment: NULL (a single deployment, or not recorded) */
            if (strcmp(col, "class") != 0 && !dep) {
                *src_missing = true;
                snprintf(buf, n, "%s.%s", table, col);
                break;
            }
            from = "NULL";
        }
        int k = snprintf(buf + len, n - len, ", %s", col);
        SIM_ASSERT(k > 0 && (size_t)k < n - len);
        len += (size_t)k;
        k = snprintf(sbuf + slen, n - slen, ", %s", from);
        SIM_ASSERT(k > 0 && (size_t)k < n - slen);
        slen += (size_t)k;
    }
    sqlite3_finalize(st);
    return SIM_OK;
}

static int read_src_runs(struct db *in, struct src_run **runs, size_t *n_runs,
                         struct sim_err *err)
{
    bool keyed = has_column(in->h, "main", "runs", "run_key");
    const char *sql = keyed ? "SELECT " IDENTITY_COLUMNS ", run_key FROM runs ORDER BY run_id"
                            : "SELECT " IDENTITY_COLUMNS " FROM runs ORDER BY run_id";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(in->h, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(in, err, "cannot read the database");
    size_t cap = 16, n = 0;
    struct src_run *r = malloc(cap * sizeof *r);
    int rc = r ? SQLITE_OK : SQLITE_NOMEM;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            struct src_run *g = sim_reallocarray(r, cap * 2, sizeof *r);
            if (!g) {
                rc = SQLITE_NOMEM;
                break;
            }
            r = g;
            cap *= 2;
        }
        r[n].id = sqlite3_column_int64(st, 0);
        if (keyed && sqlite3_column_type(st, 7) == SQLITE_TEXT)
            snprintf(r[n].key, sizeof r[n].key, "%s", (const char *)sqlite3_column_text(st, 7));
        else
            key_from_columns(st, r[n].key);
        n++;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(r);
        if (rc == SQLITE_NOMEM)
            return sim_err_set(err, SIM_ENOMEM, "out of memory");
        return db_fail(in, err, "cannot read the database");
    }
    *runs = r;
    *n_runs = n;
    return SIM_OK;
}

int db_merge(struct db *out, const char *in_path, struct db_merge_stats *st,
             struct sim_err *err)
{
    SIM_ASSERT(!out->in_run && !out->readonly);
    memset(st, 0, sizeof *st);
    struct db *in = db_open_readonly(in_path, err);
    if (!in)
        return err->code;
    struct src_run *runs = NULL;
    size_t n_runs = 0;
    int64_t n_plan = 0;
    int rc = read_src_runs(in, &runs, &n_runs, err);
    if (rc == SIM_OK && has_column(in->h, "main", "plan_results", "plan_id"))
        query_int(in->h, "SELECT count(*) FROM plan_results", &n_plan);
    db_close(in);
    if (rc != SIM_OK)
        return rc;
    st->n_runs = n_runs;
    st->n_plan_rows = (size_t)n_plan;
    struct stat a, b;
    if (stat(out->path, &a) == 0 && stat(in_path, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino) {
        st->n_present = n_runs; /* the output itself: nothing to add */
        free(runs);
        return SIM_OK;
    }

    enum { N_STMT = sizeof run_tables / sizeof run_tables[0] + 1 };
    sqlite3_stmt *att = NULL, *ins[N_STMT] = {NULL}, *find = NULL, *notes = NULL;
    sqlite3_stmt *deps[3] = {NULL, NULL, NULL}; /* the deployment tables, when src has them */
    bool attached = false, in_txn = false;
    rc = SIM_OK;
    if (sqlite3_prepare_v2(out->h, "ATTACH DATABASE ?1 AS src", -1, &att, NULL) != SQLITE_OK) {
        rc = db_fail(out, err, "cannot read the input");
        goto out;
    }
    sqlite3_bind_text(att, 1, in_path, -1, SQLITE_STATIC);
    if (sqlite3_step(att) != SQLITE_DONE) {
        rc = sim_err_at(err, SIM_EIO, in_path, 0, 0, "cannot attach: %s", sqlite3_errmsg(out->h));
        goto out;
    }
    attached = true;
    if (exec(out, "BEGIN IMMEDIATE", err) != SIM_OK) {
        rc = SIM_EIO;
        goto out;
    }
    in_txn = true;
    for (size_t t = 0; t < N_STMT; t++) {
        const char *table = t == 0 ? "runs" : run_tables[t - 1];
        char cols[2048], scols[2048], sql[4608];
        bool missing = false;
        if ((rc = column_list(out, table, cols, scols, sizeof cols, &missing, err)) != SIM_OK)
            goto out;
        if (missing) {
            rc = sim_err_at(err, SIM_EINVAL, in_path, 0, 0,
                            "cannot merge: the input has no column '%s' (written by an older "
                            "llmcap)",
                            cols);
            goto out;
        }
        /* Rows keep their order: rowid tables are read in rowid order, the others in key
         * order, which is the order they were written in. */
        bool rowid = !strcmp(table, "samples") || !strcmp(table, "scaling_events");
        if (t == 0)
            snprintf(sql, sizeof sql,
                     "INSERT INTO main.runs (run_id%s, run_key) SELECT ?1%s, ?3 FROM src.runs "
                     "WHERE run_id = ?2",
                     cols, scols);
        else
            snprintf(sql, sizeof sql,
                     "INSERT INTO main.%s (run_id%s) SELECT ?1%s FROM src.%s WHERE run_id = ?2%s",
                     table, cols, scols, table, rowid ? " ORDER BY rowid" : "");
        if (sqlite3_prepare_v2(out->h, sql, -1, &ins[t], NULL) != SQLITE_OK) {
            rc = db_fail(out, err, "cannot merge");
            goto out;
        }
    }
    int64_t src_notes = 0;
    if (query_int(out->h,
                  "SELECT count(*) FROM src.sqlite_master WHERE type = 'table' AND name = "
                  "'run_notes'",
                  &src_notes) != SQLITE_OK ||
        (src_notes && (exec(out, RUN_NOTES_SQL, err) != SIM_OK ||
                       sqlite3_prepare_v2(out->h,
                                          "INSERT INTO main.run_notes (run_id, key, value) "
                                          "SELECT ?1, key, value FROM src.run_notes WHERE "
                                          "run_id = ?2 ORDER BY key",
                                          -1, &notes, NULL) != SQLITE_OK))) {
        rc = db_fail(out, err, "cannot merge");
        goto out;
    }
    int64_t src_deps = 0;
    static const char *const dep_copy[3] = {
        "INSERT INTO main.deployments SELECT ?1, deployment, position, model_name, gpu, "
        "tensor_parallel_size, slo_pass FROM src.deployments WHERE run_id = ?2 ORDER BY "
        "deployment",
        "INSERT INTO main.deployment_summary SELECT ?1, deployment, key, value FROM "
        "src.deployment_summary WHERE run_id = ?2 ORDER BY deployment, key",
        "INSERT INTO main.deployment_slo_results SELECT ?1, deployment, slo, metric, "
        "quantile, target, actual, unit, pass FROM src.deployment_slo_results WHERE run_id = "
        "?2 ORDER BY deployment, slo"};
    if (query_int(out->h,
                  "SELECT count(*) FROM src.sqlite_master WHERE type = 'table' AND name = "
                  "'deployments'",
                  &src_deps) != SQLITE_OK ||
        (src_deps && exec(out, DEPLOYMENTS_SQL, err) != SIM_OK)) {
        rc = db_fail(out, err, "cannot merge");
        goto out;
    }
    for (int k = 0; src_deps && k < 3; k++)
        if (sqlite3_prepare_v2(out->h, dep_copy[k], -1, &deps[k], NULL) != SQLITE_OK) {
            rc = db_fail(out, err, "cannot merge");
            goto out;
        }
    if (sqlite3_prepare_v2(out->h, "SELECT run_id FROM main.runs WHERE run_key = ?1", -1, &find,
                           NULL) != SQLITE_OK) {
        rc = db_fail(out, err, "cannot merge");
        goto out;
    }
    for (size_t i = 0; i < n_runs; i++) {
        sqlite3_bind_text(find, 1, runs[i].key, -1, SQLITE_STATIC);
        int frc = sqlite3_step(find);
        sqlite3_reset(find);
        if (frc == SQLITE_ROW) {
            st->n_present++;
            continue;
        }
        if (frc != SQLITE_DONE) {
            rc = db_fail(out, err, "cannot merge");
            goto out;
        }
        int64_t max_id = 0;
        if (query_int(out->h, "SELECT coalesce(max(run_id), 0) FROM main.runs", &max_id) !=
            SQLITE_OK) {
            rc = db_fail(out, err, "cannot merge");
            goto out;
        }
        for (size_t t = 0; t < N_STMT; t++) {
            sqlite3_bind_int64(ins[t], 1, max_id + 1);
            sqlite3_bind_int64(ins[t], 2, runs[i].id);
            if (t == 0)
                sqlite3_bind_text(ins[t], 3, runs[i].key, -1, SQLITE_STATIC);
            int irc = sqlite3_step(ins[t]);
            sqlite3_reset(ins[t]);
            if (irc != SQLITE_DONE) {
                rc = db_fail(out, err, "cannot merge");
                goto out;
            }
        }
        for (int k = 0; k < 3 && deps[k]; k++) {
            sqlite3_bind_int64(deps[k], 1, max_id + 1);
            sqlite3_bind_int64(deps[k], 2, runs[i].id);
            int drc = sqlite3_step(deps[k]);
            sqlite3_reset(deps[k]);
            if (drc != SQLITE_DONE) {
                rc = db_fail(out, err, "cannot merge");
                goto out;
            }
        }
        if (notes) {
            sqlite3_bind_int64(notes, 1, max_id + 1);
            sqlite3_bind_int64(notes, 2, runs[i].id);
            int nrc = sqlite3_step(notes);
            sqlite3_reset(notes);
            if (nrc != SQLITE_DONE) {
                rc = db_fail(out, err, "cannot merge");
                goto out;
            }
        }
        if (st->n_added == 0)
            st->first_id = max_id + 1;
        st->last_id = max_id + 1;
        st->n_added++;
    }
    if (exec(out, "COMMIT", err) != SIM_OK) {
        rc = SIM_EIO;
        goto out;
    }
    in_txn = false;
out:
    if (in_txn)
        sqlite3_exec(out->h, "ROLLBACK", NULL, NULL, NULL);
    for (size_t t = 0; t < N_STMT; t++)
        sqlite3_finalize(ins[t]);
    sqlite3_finalize(find);
    sqlite3_finalize(notes);
    for (int k = 0; k < 3; k++)
        sqlite3_finalize(deps[k]);
    sqlite3_finalize(att);
    if (attached)
        sqlite3_exec(out->h, "DETACH DATABASE src", NULL, NULL, NULL);
    free(runs);
    if (rc != SIM_OK)
        st->n_added = 0;
    return rc;
}
