/*
 * test_bad_inputs.c: the bad-input corpus (tests/fixtures/bad/) through the real llmcap
 * binary. tests/fixtures/bad/INDEX lists each case: the command line (run in
 * tests/fixtures/bad/, so paths in messages are relative and stable), the exit code and
 * the exact stderr, line by line. A case's stdout must be empty: machine-readable output
 * is never mixed with an error. See docs/robustness.md.
 */
#include "tests/cli/cli_run.h"

#define BAD FIXTURES "/bad"
#define MAX_ARGS 32

struct bad_case {
    long line; /* in INDEX, for messages */
    char *cmd;
    int exit_code;
    char err[4096];
};

static char *trim(char *s)
{
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Parse INDEX into a heap array of cases; returns the count. */
static size_t read_index(struct bad_case **out)
{
    FILE *f = fopen(BAD "/INDEX", "r");
    cr_assert_not_null(f, "cannot open " BAD "/INDEX");
    size_t n = 0, cap = 16;
    struct bad_case *v = calloc(cap, sizeof *v);
    char line[4096];
    long lineno = 0;
    struct bad_case *cur = NULL;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char *colon = strchr(line, ':');
        cr_assert_not_null(colon, "INDEX:%ld: expected 'cmd:', 'exit:' or 'err:'", lineno);
        *colon = '\0';
        char *val = trim(colon + 1);
        if (!strcmp(line, "cmd")) {
            if (n == cap) {
                cap *= 2;
                v = realloc(v, cap * sizeof *v);
                cr_assert_not_null(v);
            }
            cur = &v[n++];
            memset(cur, 0, sizeof *cur);
            cur->line = lineno;
            cur->cmd = strdup(val);
            cur->exit_code = -1;
        } else if (!strcmp(line, "exit")) {
            cr_assert_not_null(cur, "INDEX:%ld: 'exit:' before 'cmd:'", lineno);
            cur->exit_code = atoi(val);
        } else if (!strcmp(line, "err")) {
            cr_assert_not_null(cur, "INDEX:%ld: 'err:' before 'cmd:'", lineno);
            size_t used = strlen(cur->err);
            snprintf(cur->err + used, sizeof cur->err - used, "%s\n", val);
        } else {
            cr_assert_fail("INDEX:%ld: unknown field '%s'", lineno, line);
        }
    }
    fclose(f);
    *out = v;
    return n;
}

static bool run_case(const struct bad_case *c)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", c->cmd);
    char *argv[MAX_ARGS + 2] = {"llmcap"};
    size_t argc = 1;
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        cr_assert_lt(argc, MAX_ARGS, "INDEX:%ld: too many arguments", c->line);
        argv[argc++] = t;
    }
    argv[argc] = NULL;
    struct cli_result r;
    cli_run(BAD, argv, 120, &r);
    bool ok = true;
    if (r.status != c->exit_code) {
        cr_log_error("INDEX:%ld: llmcap %s: exit %d, expected %d", c->line, c->cmd, r.status,
                     c->exit_code);
        ok = false;
    }
    if (strcmp(r.err, c->err) != 0) {
        cr_log_error("INDEX:%ld: llmcap %s:\n  stderr:   %s  expected: %s", c->line, c->cmd,
                     r.err, c->err);
        ok = false;
    }
    if (r.out[0]) {
        cr_log_error("INDEX:%ld: llmcap %s: unexpected stdout: %s", c->line, c->cmd, r.out);
        ok = false;
    }
    cli_result_free(&r);
    return ok;
}

Test(bad_inputs, every_case_fails_with_its_exact_message_and_exit_code, .timeout = 600)
{
    struct bad_case *v;
    size_t n = read_index(&v);
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert_geq(v[i].exit_code, 0, "INDEX:%ld: no 'exit:'", v[i].line);
        cr_assert(v[i].err[0], "INDEX:%ld: no 'err:'", v[i].line);
        if (!run_case(&v[i]))
            failed++;
    }
    for (size_t i = 0; i < n; i++)
        free(v[i].cmd);
    free(v);
    cr_assert_eq(failed, 0, "%zu of %zu bad-input cases did not fail as expected", failed, n);
}

Test(bad_inputs, corpus_has_at_least_fifty_cases_in_every_family)
{
    struct bad_case *v;
    size_t n = read_index(&v);
    /* What the corpus must cover (issue 8): each family by the folder of its input. */
    static const char *const families[] = {"scenario/", "trace/",  "table/",  "catalog/",
                                           "manifest/", "cluster/", "promql/", "--set"};
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            k += strstr(v[i].cmd, families[f]) != NULL;
        cr_expect_geq(k, 3, "only %zu cases for '%s'", k, families[f]);
    }
    for (size_t i = 0; i < n; i++)
        free(v[i].cmd);
    free(v);
    cr_assert_geq(n, 50);
}

Test(bad_inputs, every_fixture_file_is_used)
{
    /* A fixture that no case names is dead weight or a forgotten case. */
    struct bad_case *v;
    size_t n = read_index(&v);
    static const char *const dirs[] = {"scenario", "trace",   "table",  "catalog", "manifest",
                                       "cluster",  "promql", "series", "length"};
    char cmd[512];
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        snprintf(cmd, sizeof cmd, "ls %s/%s", BAD, dirs[d]);
        FILE *p = popen(cmd, "r");
        cr_assert_not_null(p);
        char name[256];
        while (fgets(name, sizeof name, p)) {
            char rel[300];
            snprintf(rel, sizeof rel, "%s/%s", dirs[d], trim(name));
            bool used = false;
            for (size_t i = 0; i < n && !used; i++)
                used = strstr(v[i].cmd, rel) != NULL;
            if (!used) { /* a file reached through a scenario that names it */
                char grep[700];
                snprintf(grep, sizeof grep, "grep -rqsF -- '../%s' %s/scenario", rel, BAD);
                used = system(grep) == 0;
            }
            cr_expect(used, "%s is in no case of INDEX", rel);
        }
        pclose(p);
    }
    for (size_t i = 0; i < n; i++)
        free(v[i].cmd);
    free(v);
}
