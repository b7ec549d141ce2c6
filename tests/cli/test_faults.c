/*
 * test_faults.c: results are never lost or left half-written. Each test runs the real
 * llmcap (LLMCAP_BIN) against a results database that already holds a run, makes the
 * next run fail (the disk fills up, the file is read-only, another process holds the
 * write lock, SIGINT/SIGTERM in the middle, a missing folder, a file that is not
 * llmcap's) and checks the exit code, the exact message, and that the file still holds
 * exactly the earlier run, row for row (PRAGMA integrity_check ok). docs/robustness.md
 * describes each case.
 *
 * No Criterion .timeout here: with tests running in parallel, Criterion's timers leak
 * under LeakSanitizer. Every wait is bounded instead (cli_spawn_env kills a child that
 * outlives its limit; the lock holder exits when the test closes its pipe or dies).
 */
#include <errno.h>
#include <sqlite3.h>
#include <time.h>

#include "tests/cli/cli_run.h"

#define SCENARIO "run.yaml"

/* A small run: COUNT requests, two replicas, every request row recorded. */
static const char small_yaml[] = "name: faults\n"
                                 "workload:\n"
                                 "  arrivals: {rate_per_s: 40}\n"
                                 "  prompt_tokens: {dist: constant, value: 100}\n"
                                 "  output_tokens: {dist: constant, value: 10}\n"
                                 "  count: COUNT\n"
                                 "model: {name: llama-3-8b}\n"
                                 "engine:\n"
                                 "  gpu: h100-sxm-80gb\n"
                                 "  latency: {model: roofline}\n"
                                 "fleet: {replicas: 2}\n";

/* A fresh folder for one test, holding run.yaml with `count` requests. */
static void make_dir(char *dir, size_t n, long count)
{
    snprintf(dir, n, "/tmp/llmcap-faults-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(chmod(dir, 0755), 0); /* readable by nobody (the read-only test) */
    char path[512], num[32], text[sizeof small_yaml + 32];
    snprintf(num, sizeof num, "%ld", count);
    const char *at = strstr(small_yaml, "COUNT");
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - small_yaml), small_yaml, num, at + 5);
    snprintf(path, sizeof path, "%s/" SCENARIO, dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void remove_dir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* ---- reading the database as a third party ------------------------------------------- */

struct buf {
    char *p;
    size_t n, cap;
};

static void buf_add(struct buf *b, const char *s)
{
    size_t k = strlen(s);
    if (b->n + k + 1 > b->cap) {
        b->cap = (b->n + k + 1) * 2;
        b->p = realloc(b->p, b->cap);
        cr_assert_not_null(b->p);
    }
    memcpy(b->p + b->n, s, k + 1);
    b->n += k;
}

static int dump_row(void *ctx, int n, char **vals, char **names)
{
    (void)names;
    struct buf *b = ctx;
    for (int i = 0; i < n; i++) {
        buf_add(b, vals[i] ? vals[i] : "NULL");
        buf_add(b, i + 1 < n ? "|" : "\n");
    }
    return 0;
}

static sqlite3 *open_ro(const char *path)
{
    sqlite3 *h = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK, "%s", path);
    return h;
}

/* Every row of every table as text (in the tables' own order: the same file gives the
 * same text): equal snapshots mean the file holds exactly the same runs and nothing of a
 * failed one. `where` ("" or "WHERE run_id = 1") restricts the per-run tables. */
static char *snapshot_where(const char *path, const char *where)
{
    static const char *const tables[] = {"runs",    "requests", "samples",        "summary",
                                         "slo_results", "pods", "scaling_events", "nodes"};
    sqlite3 *h = open_ro(path);
    struct buf b = {0};
    buf_add(&b, "");
    if (!where[0]) {
        char *msg = NULL;
        buf_add(&b, "meta and plans:\n");
        cr_assert_eq(sqlite3_exec(h, "SELECT * FROM meta; SELECT * FROM plan_results", dump_row,
                                  &b, &msg),
                     SQLITE_OK, "%s", msg);
    }
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT * FROM %s %s", tables[i], where);
        buf_add(&b, tables[i]);
        buf_add(&b, ":\n");
        char *msg = NULL;
        cr_assert_eq(sqlite3_exec(h, sql, dump_row, &b, &msg), SQLITE_OK, "%s: %s", sql, msg);
    }
    sqlite3_close(h);
    return b.p;
}

static char *snapshot(const char *path)
{
    return snapshot_where(path, "");
}

static long long query_int(const char *path, const char *sql)
{
    sqlite3 *h = open_ro(path);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s", sql);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

static void assert_integrity(const char *path)
{
    sqlite3 *h = open_ro(path);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(h);
}

/* ---- running llmcap -------------------------------------------------------------------- */

static void run_llmcap(const char *dir, const char *const *env, uid_t uid, const char *out,
                       struct cli_result *r)
{
    char *argv[] = {"llmcap", "run", SCENARIO, "-q", "-o", (char *)out, NULL};
    struct cli_env ce = {dir, env, uid};
    int o, e;
    pid_t pid = cli_spawn_env(&ce, argv, 120, &o, &e);
    cli_collect(pid, o, e, r);
}

/* The first run, which every test keeps: returns the snapshot of the file. */
static char *first_run(const char *dir, const char *db_path)
{
    struct cli_result r;
    run_llmcap(dir, NULL, 0, "r.db", &r);
    cr_assert_eq(r.status, 0, "first run: %s", r.err);
    cli_result_free(&r);
    cr_assert_eq(query_int(db_path, "SELECT count(*) FROM runs"), 1);
    return snapshot(db_path);
}

static bool ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && !strcmp(s + a - b, tail);
}

static const char rolled_back[] =
    "; the run was rolled back and earlier runs in 'r.db' are intact\n";

/* ---- the disk fills up ------------------------------------------------------------------- */

Test(faults, disk_full_at_every_point_of_a_run_rolls_it_back)
{
    char dir[64], db[128];
    make_dir(dir, sizeof dir, 4000);
    snprintf(db, sizeof db, "%s/r.db", dir);
    char *before = first_run(dir, db);
    char *run1 = snapshot_where(db, "WHERE run_id = 1");
    long long pages = query_int(db, "PRAGMA page_count");
    /* Cap the file at every size from one page more than now upwards: the second run
     * fails wherever the disk fills (request rows, samples, pods, the summary, the commit)
     * until it fits. Each failure must leave the file exactly as it was. */
    int failures = 0;
    bool fitted = false;
    for (long long cap = pages + 1; cap < pages + 400 && !fitted; cap++) {
        char env_max[64];
        snprintf(env_max, sizeof env_max, "LLMCAP_TEST_MAX_PAGES=%lld", cap);
        const char *env[] = {env_max, NULL};
        struct cli_result r;
        run_llmcap(dir, env, 0, "r.db", &r);
        if (r.status == 0) {
            fitted = true;
        } else {
            failures++;
            cr_log_info("cap %lld: %s", cap, r.err);
            cr_assert_eq(r.status, 3, "cap %lld: exit %d: %s", cap, r.status, r.err);
            cr_assert(!strncmp(r.err, "llmcap: r.db: error: cannot ", 28) &&
                          strstr(r.err, ": database or disk is full; ") &&
                          ends_with(r.err, rolled_back),
                      "cap %lld: %s", cap, r.err);
            char *after = snapshot(db);
            cr_assert_str_eq(after, before, "cap %lld changed the file", cap);
            free(after);
            assert_integrity(db);
        }
        cr_assert_str_empty(r.out);
        cli_result_free(&r);
    }
    cr_assert(fitted, "the second run never fitted");
    cr_assert_gt(failures, 10); /* the run needs many pages more: many places were hit */
    /* The run that fitted is complete and run 1 is untouched. */
    cr_assert_eq(query_int(db, "SELECT count(*) FROM runs"), 2);
    cr_assert_eq(query_int(db, "SELECT count(*) FROM requests WHERE run_id = 2"), 4000);
    cr_assert_eq(query_int(db, "SELECT count(*) FROM requests WHERE run_id NOT IN "
                               "(SELECT run_id FROM runs)"),
                 0);
    char *run1_after = snapshot_where(db, "WHERE run_id = 1");
    cr_assert_str_eq(run1_after, run1);
    assert_integrity(db);
    free(run1_after);
    free(run1);
    free(before);
    remove_dir(dir);
}

/* ---- the output is not where it can be written ------------------------------------------- */

Test(faults, output_in_a_missing_folder_fails_before_the_run)
{
    char dir[64];
    make_dir(dir, sizeof dir, 400);
    struct cli_result r;
    run_llmcap(dir, NULL, 0, "no-such-folder/r.db", &r);
    cr_assert_eq(r.status, 3);
    cr_assert_str_eq(r.err, "llmcap: no-such-folder/r.db: error: cannot create the database: "
                            "the folder 'no-such-folder' does not exist\n");
    cr_assert_str_empty(r.out);
    char path[128];
    snprintf(path, sizeof path, "%s/no-such-folder", dir);
    cr_assert_neq(access(path, F_OK), 0, "llmcap created the folder");
    cli_result_free(&r);
    run_llmcap(dir, NULL, 0, ".", &r);
    cr_assert_eq(r.status, 3);
    cr_assert_str_eq(r.err, "llmcap: .: error: cannot open '.': is a directory\n");
    cli_result_free(&r);
    remove_dir(dir);
}

Test(faults, output_in_a_folder_that_cannot_be_written_fails_before_the_run)
{
    char dir[64];
    make_dir(dir, sizeof dir, 400);
    /* root writes anywhere: run llmcap as nobody then (make_dir's folder is root's, 0755) */
    uid_t uid = 0;
    if (geteuid() == 0)
        uid = 65534;
    else
        cr_assert_eq(chmod(dir, 0555), 0);
    struct cli_result r;
    run_llmcap(dir, NULL, uid, "r.db", &r);
    cr_assert_eq(r.status, 3, "%s", r.err);
    cr_assert_str_eq(r.err, "llmcap: r.db: error: cannot create the database: the folder '.' "
                            "is not writable\n");
    cr_assert_str_empty(r.out);
    cli_result_free(&r);
    cr_assert_eq(chmod(dir, 0755), 0);
    char path[128];
    snprintf(path, sizeof path, "%s/r.db", dir);
    cr_assert_neq(access(path, F_OK), 0, "llmcap created the file");
    /* A file where the folder should be. */
    run_llmcap(dir, NULL, 0, SCENARIO "/r.db", &r);
    cr_assert_eq(r.status, 3, "%s", r.err);
    cr_assert_str_eq(r.err, "llmcap: " SCENARIO "/r.db: error: cannot create the database: "
                            "'" SCENARIO "' is not a folder\n");
    cr_assert_str_empty(r.out);
    cli_result_free(&r);
    remove_dir(dir);
}

Test(faults, read_only_file_is_refused_and_left_as_it_was)
{
    char dir[64], db[128];
    make_dir(dir, sizeof dir, 400);
    snprintf(db, sizeof db, "%s/r.db", dir);
    char *before = first_run(dir, db);
    cr_assert_eq(chmod(db, 0444), 0);
    /* root ignores file modes: run llmcap as nobody then, in a folder it cannot write */
    uid_t uid = geteuid() == 0 ? 65534 : 0;
    struct cli_result r;
    run_llmcap(dir, NULL, uid, "r.db", &r);
    cr_assert_eq(r.status, 3, "%s", r.err);
    cr_assert_str_eq(r.err, "llmcap: r.db: error: cannot write: the file is read-only\n");
    cr_assert_str_empty(r.out);
    cli_result_free(&r);
    char *after = snapshot(db);
    cr_assert_str_eq(after, before);
    assert_integrity(db);
    free(after);
    free(before);
    remove_dir(dir);
}

/* ---- another process holds the write lock ------------------------------------------------ */

Test(faults, locked_database_waits_five_seconds_then_fails)
{
    char dir[64], db[128];
    make_dir(dir, sizeof dir, 400);
    snprintf(db, sizeof db, "%s/r.db", dir);
    char *before = first_run(dir, db);
    int held[2], release[2];
    cr_assert_eq(pipe(held), 0);
    cr_assert_eq(pipe(release), 0);
    pid_t holder = fork();
    cr_assert_geq(holder, 0);
    if (holder == 0) {
        /* Another writer: takes the write lock (RESERVED) and keeps it until told. It
         * keeps only its own ends of the pipes, so that the parent closing its end (or
         * dying) reads as end-of-file here. */
        close(held[0]);
        close(release[1]);
        sqlite3 *h = NULL;
        if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
            sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            _exit(1);
        char c = 'x';
        if (write(held[1], &c, 1) != 1)
            _exit(2);
        (void)read(release[0], &c, 1); /* until the parent closes its end */
        sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(h);
        _exit(0);
    }
    close(held[1]);
    close(release[0]);
    char c;
    cr_assert_eq(read(held[0], &c, 1), 1, "the lock holder did not start");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct cli_result r;
    run_llmcap(dir, NULL, 0, "r.db", &r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    close(release[1]);
    int st;
    cr_assert_eq(waitpid(holder, &st, 0), holder);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the lock holder failed");
    cr_assert_eq(r.status, 3, "%s", r.err);
    cr_assert_str_eq(r.err, "llmcap: r.db: error: the database is locked by another process "
                            "(waited 5 s)\n");
    cr_assert_str_empty(r.out);
    /* sqlite3_busy_timeout(5000): at least the 5 s, and not much more than the run */
    cr_assert_geq(waited, 4.9, "gave up after %.2f s", waited);
    cr_assert_lt(waited, 60.0);
    cli_result_free(&r);
    char *after = snapshot(db);
    cr_assert_str_eq(after, before);
    assert_integrity(db);
    /* The lock gone, the same command works. */
    run_llmcap(dir, NULL, 0, "r.db", &r);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cli_result_free(&r);
    cr_assert_eq(query_int(db, "SELECT count(*) FROM runs"), 2);
    free(after);
    free(before);
    remove_dir(dir);
}

/* ---- a signal in the middle of a long run ------------------------------------------------ */

/* Start a run of 20 million requests (minutes of work), wait until its transaction has
 * started writing (the rollback journal exists), then send `sig`. */
static void interrupt_long_run(const char *dir, const char *db, int sig, struct cli_result *r)
{
    char path[512], journal[160];
    snprintf(path, sizeof path, "%s/long.yaml", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    const char *at = strstr(small_yaml, "COUNT");
    fprintf(f, "%.*s20000000%s", (int)(at - small_yaml), small_yaml, at + 5);
    fclose(f);
    snprintf(journal, sizeof journal, "%s-journal", db);
    char *argv[] = {"llmcap", "run", "long.yaml", "-q", "-o", "r.db", NULL};
    struct cli_env ce = {dir, NULL, 0};
    int o, e;
    pid_t pid = cli_spawn_env(&ce, argv, 300, &o, &e);
    bool writing = false;
    for (int i = 0; i < 3000 && !writing; i++) {
        struct timespec ten_ms = {0, 10 * 1000 * 1000};
        nanosleep(&ten_ms, NULL);
        writing = access(journal, F_OK) == 0;
    }
    struct timespec settle = {0, 300 * 1000 * 1000};
    nanosleep(&settle, NULL);
    cr_assert(writing, "the run never started writing");
    cr_assert_eq(kill(pid, sig), 0);
    cli_collect(pid, o, e, r);
}

static void check_interrupted(int sig, const char *name)
{
    char dir[64], db[128];
    make_dir(dir, sizeof dir, 400);
    snprintf(db, sizeof db, "%s/r.db", dir);
    char *before = first_run(dir, db);
    struct cli_result r;
    interrupt_long_run(dir, db, sig, &r);
    cr_assert_eq(r.status, 3, "%s", r.err);
    /* "llmcap: error: interrupted at simulated time T s after N requests (SIGINT); the run
     * was rolled back and earlier runs in 'r.db' are intact" */
    char tail[160];
    snprintf(tail, sizeof tail, " requests (%s)%s", name, rolled_back);
    cr_assert(!strncmp(r.err, "llmcap: error: interrupted at simulated time ", 45) &&
                  ends_with(r.err, tail),
              "%s", r.err);
    cr_assert_str_empty(r.out);
    cli_result_free(&r);
    char journal[160];
    snprintf(journal, sizeof journal, "%s-journal", db);
    cr_assert_neq(access(journal, F_OK), 0, "a rollback journal was left behind");
    char *after = snapshot(db);
    cr_assert_str_eq(after, before);
    assert_integrity(db);
    free(after);
    free(before);
    remove_dir(dir);
}

Test(faults, sigint_in_a_long_run_rolls_it_back)
{
    check_interrupted(SIGINT, "SIGINT");
}

Test(faults, sigterm_in_a_long_run_rolls_it_back)
{
    check_interrupted(SIGTERM, "SIGTERM");
}

Test(faults, sigkill_in_a_long_run_leaves_nothing_once_the_file_is_opened_again)
{
    /* SIGKILL cannot be caught: the process dies with its transaction open and a hot
     * rollback journal beside the file. The next writer rolls it back (SQLite does so when
     * it opens the file), so the killed run leaves no rows and run 1 is untouched. */
    char dir[64], db[128];
    make_dir(dir, sizeof dir, 400);
    snprintf(db, sizeof db, "%s/r.db", dir);
    free(first_run(dir, db));
    char *run1 = snapshot_where(db, "WHERE run_id = 1");
    struct cli_result r;
    interrupt_long_run(dir, db, SIGKILL, &r);
    cr_assert_eq(r.status, 128 + SIGKILL);
    cli_result_free(&r);
    run_llmcap(dir, NULL, 0, "r.db", &r);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cli_result_free(&r);
    cr_assert_eq(query_int(db, "SELECT count(*) FROM runs"), 2);
    cr_assert_eq(query_int(db, "SELECT max(run_id) FROM runs"), 2);
    cr_assert_eq(query_int(db, "SELECT count(*) FROM requests WHERE run_id NOT IN "
                               "(SELECT run_id FROM runs)"),
                 0);
    cr_assert_eq(query_int(db, "SELECT count(*) FROM requests WHERE run_id = 2"), 400);
    char *after = snapshot_where(db, "WHERE run_id = 1");
    cr_assert_str_eq(after, run1);
    assert_integrity(db);
    free(after);
    free(run1);
    remove_dir(dir);
}

/* ---- a file that is not llmcap's ---------------------------------------------------------- */

static char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    char *p = malloc(1 << 20);
    *n = fread(p, 1, 1 << 20, f);
    fclose(f);
    return p;
}

/* llmcap run -o FILE on a file that must be refused: exit 2, `msg`, not one byte changed,
 * no journal created. */
static void check_refused_how(const char *dir, const char *msg, bool prefix);

static void check_refused(const char *dir, const char *msg)
{
    check_refused_how(dir, msg, false);
}

/* The same, for a message whose end depends on SQLite (it starts with `msg`). */
static void check_refused_prefix(const char *dir, const char *msg)
{
    check_refused_how(dir, msg, true);
}

static void check_refused_how(const char *dir, const char *msg, bool prefix)
{
    char db[128], journal[160];
    snprintf(db, sizeof db, "%s/r.db", dir);
    snprintf(journal, sizeof journal, "%s-journal", db);
    size_t n0, n1;
    char *b0 = read_bytes(db, &n0);
    struct stat s0, s1;
    cr_assert_eq(stat(db, &s0), 0);
    struct cli_result r;
    run_llmcap(dir, NULL, 0, "r.db", &r);
    cr_assert_eq(r.status, 2, "%s", r.err);
    if (prefix)
        cr_assert(!strncmp(r.err, msg, strlen(msg)), "%s", r.err);
    else
        cr_assert_str_eq(r.err, msg);
    cr_assert_str_empty(r.out);
    cli_result_free(&r);
    char *b1 = read_bytes(db, &n1);
    cr_assert_eq(n1, n0);
    cr_assert_eq(memcmp(b0, b1, n0), 0, "the file was modified");
    cr_assert_eq(stat(db, &s1), 0);
    cr_assert_eq(s1.st_mtim.tv_sec, s0.st_mtim.tv_sec);
    cr_assert_eq(s1.st_mtim.tv_nsec, s0.st_mtim.tv_nsec);
    cr_assert_neq(access(journal, F_OK), 0);
    free(b0);
    free(b1);
}

Test(faults, text_file_as_output_is_refused_unchanged)
{
    char dir[64], db[128];
    make_dir(dir, sizeof dir, 400);
    snprintf(db, sizeof db, "%s/r.db", dir);
    FILE *f = fopen(db, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 200; i++)
        fprintf(f, "line %d of someone's notes: not a database\n", i);
    fclose(f);
    check_refused(dir, "llmcap: r.db: error: not an llmcap database (not a SQLite file): refusing "
                       "to write into it; choose another output file\n");
    remove_dir(dir);
}

Test(faults, other_sqlite_database_as_output_is_refused_unchanged)
{
    char dir[64], db[128];
    make_dir(dir, sizeof dir, 400);
    snprintf(db, sizeof db, "%s/r.db", dir);
    sqlite3 *h = NULL;
    cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(h,
                              "CREATE TABLE invoices(id INTEGER PRIMARY KEY, usd REAL);"
                              "INSERT INTO invoices(usd) VALUES (12.5), (99.25);",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(h);
    check_refused(dir, "llmcap: r.db: error: a SQLite database that is not llmcap's: refusing "
                       "to write into it; choose another output file\n");
    remove_dir(dir);
}

Test(faults, database_of_a_newer_llmcap_is_refused_unchanged)
{
    char dir[64], db[128];
    make_dir(dir, sizeof dir, 400);
    snprintf(db, sizeof db, "%s/r.db", dir);
    free(first_run(dir, db));
    sqlite3 *h = NULL;
    cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(h, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    check_refused(dir, "llmcap: r.db: error: written by a newer llmcap (schema version 99, this "
                       "llmcap knows 3): refusing to write into it\n");
    remove_dir(dir);
}

/* ---- first writers, outputs that are not regular files, damaged or foreign files ---- */

Test(faults, concurrent_first_writers_on_a_new_file_all_succeed)
{
    /* Four llmcap run -o new.db started together on a file that does not exist yet: the
     * schema is created once, inside one immediate transaction; every run lands. */
    char dir[64], db[128];
    make_dir(dir, sizeof dir, 50);
    snprintf(db, sizeof db, "%s/new.db", dir);
    enum { N = 4 };
    pid_t pid[N];
    int o[N], e[N];
    char *argv[] = {"llmcap", "run", SCENARIO, "-q", "-o", "new.db", NULL};
    for (int i = 0; i < N; i++) {
        struct cli_env ce = {dir, NULL, 0};
        pid[i] = cli_spawn_env(&ce, argv, 120, &o[i], &e[i]);
    }
    for (int i = 0; i < N; i++) {
        struct cli_result r;
        cli_collect(pid[i], o[i], e[i], &r);
        cr_assert_eq(r.status, 0, "writer %d: %s", i, r.err);
        cli_result_free(&r);
    }
    cr_assert_eq(query_int(db, "SELECT count(*) FROM runs"), N);
    cr_assert_eq(query_int(db, "SELECT count(*) FROM meta WHERE key = 'application'"), 1);
    assert_integrity(db);
    remove_dir(dir);
}

Test(faults, empty_sqlite_file_of_another_program_is_refused_unchanged)
{
    /* No tables, but a user_version of its own: another program's file, not an empty
     * one to take over. */
    char dir[64], db[128];
    make_dir(dir, sizeof dir, 50);
    snprintf(db, sizeof db, "%s/r.db", dir);
    sqlite3 *h = NULL;
    cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(h, "PRAGMA user_version = 7", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    check_refused(dir, "llmcap: r.db: error: a SQLite database that is not llmcap's: refusing "
                       "to write into it; choose another output file\n");
    remove_dir(dir);
}

Test(faults, damaged_llmcap_database_is_refused_unchanged)
{
    /* One run written, then a b-tree page overwritten: PRAGMA quick_check fails, so
     * llmcap does not append to it. */
    char dir[64], db[128];
    make_dir(dir, sizeof dir, 400);
    snprintf(db, sizeof db, "%s/r.db", dir);
    free(first_run(dir, db));
    struct stat st;
    cr_assert_eq(stat(db, &st), 0);
    FILE *f = fopen(db, "r+b");
    cr_assert_not_null(f);
    cr_assert_eq(fseek(f, st.st_size - 4096 + 100, SEEK_SET), 0);
    for (int i = 0; i < 2000; i++)
        fputc(0xff, f);
    fclose(f);
    check_refused_prefix(dir, "llmcap: r.db: error: the database is damaged (SQLite's "
                              "quick_check: ");
    remove_dir(dir);
}

Test(faults, output_that_is_not_a_regular_file_is_refused)
{
    /* /dev/null: SQLite would create /dev/null-journal beside it (as root). */
    char dir[64];
    make_dir(dir, sizeof dir, 50);
    struct cli_result r;
    run_llmcap(dir, NULL, 0, "/dev/null", &r);
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert_str_eq(r.err, "llmcap: /dev/null: error: not a regular file (a character device): "
                            "refusing to write a database into it; choose another output file\n");
    cli_result_free(&r);
    remove_dir(dir);
}
