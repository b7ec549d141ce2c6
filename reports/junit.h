/*
 * junit.h: JUnit XML as CI systems read it (GitHub Actions reporters, GitLab, Jenkins):
 * <testsuites> holding one <testsuite> per scenario, one <testcase> per check, with
 * <failure>, <error> or <skipped> inside when it did not pass. The attributes the common
 * schema (Jenkins' junit-10.xsd) requires are always written: testsuite name, tests,
 * failures, errors; testcase name. Text is escaped for XML; characters XML 1.0 cannot
 * hold are written as U+FFFD.
 */
#ifndef LLMCAP_REPORTS_JUNIT_H
#define LLMCAP_REPORTS_JUNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum junit_status { JUNIT_PASS, JUNIT_FAILURE, JUNIT_ERROR, JUNIT_SKIPPED };

struct junit_case {
    char *classname, *name;
    enum junit_status status;
    char *type;    /* failure/error type ("slo", "regression", "run"), NULL for none */
    char *message; /* one line; NULL for a pass */
    char *detail;  /* element text; may be NULL */
};

struct junit_property {
    char *name, *value;
};

struct junit_suite {
    char *name;
    double time_s; /* < 0: not written */
    struct junit_property *props;
    size_t n_props, cap_props;
    struct junit_case *cases;
    size_t n_cases, cap_cases;
};

struct junit {
    char *name;
    struct junit_suite *suites;
    size_t n_suites, cap_suites;
    bool oom; /* an allocation failed: the document is incomplete */
};

void junit_init(struct junit *j, const char *name);
void junit_release(struct junit *j);

/* Add a suite (borrowed from j until junit_release; NULL on OOM, with j->oom set). */
struct junit_suite *junit_suite(struct junit *j, const char *name);
void junit_property(struct junit *j, struct junit_suite *s, const char *name, const char *value);
void junit_case(struct junit *j, struct junit_suite *s, const char *classname, const char *name,
                enum junit_status status, const char *type, const char *message,
                const char *detail);

/* Totals over the document. */
size_t junit_count(const struct junit *j, enum junit_status status);
size_t junit_tests(const struct junit *j);

/* Write the document. Returns 0, or -1 when writing failed. */
int junit_write(FILE *f, const struct junit *j);

#endif
