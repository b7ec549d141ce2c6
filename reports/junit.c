/* junit.c: JUnit XML documents (testsuites/testsuite/testcase) for CI systems. */
#include "reports/junit.h"

#include <stdlib.h>
#include <string.h>

#include "sim/core/err.h"

static char *dup(struct junit *j, const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        j->oom = true;
    return d;
}

static bool grow(struct junit *j, void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 8;
    void *q = sim_reallocarray(*p, c, size);
    if (!q) {
        j->oom = true;
        return false;
    }
    *p = q;
    *cap = c;
    return true;
}

void junit_init(struct junit *j, const char *name)
{
    memset(j, 0, sizeof *j);
    j->name = dup(j, name);
}

struct junit_suite *junit_suite(struct junit *j, const char *name)
{
    if (!grow(j, (void **)&j->suites, &j->cap_suites, j->n_suites, sizeof *j->suites))
        return NULL;
    struct junit_suite *s = &j->suites[j->n_suites++];
    memset(s, 0, sizeof *s);
    s->name = dup(j, name);
    s->time_s = -1;
    return s;
}

void junit_property(struct junit *j, struct junit_suite *s, const char *name, const char *value)
{
    if (!s || !grow(j, (void **)&s->props, &s->cap_props, s->n_props, sizeof *s->props))
        return;
    struct junit_property *p = &s->props[s->n_props++];
    p->name = dup(j, name);
    p->value = dup(j, value ? value : "");
}

void junit_case(struct junit *j, struct junit_suite *s, const char *classname, const char *name,
                enum junit_status status, const char *type, const char *message, const char *detail)
{
    if (!s || !grow(j, (void **)&s->cases, &s->cap_cases, s->n_cases, sizeof *s->cases))
        return;
    struct junit_case *c = &s->cases[s->n_cases++];
    c->classname = dup(j, classname);
    c->name = dup(j, name);
    c->status = status;
    c->type = dup(j, type);
    c->message = dup(j, message);
    c->detail = dup(j, detail);
}

void junit_release(struct junit *j)
{
    for (size_t i = 0; i < j->n_suites; i++) {
        struct junit_suite *s = &j->suites[i];
        for (size_t k = 0; k < s->n_props; k++) {
            free(s->props[k].name);
            free(s->props[k].value);
        }
        for (size_t k = 0; k < s->n_cases; k++) {
            struct junit_case *c = &s->cases[k];
            free(c->classname);
            free(c->name);
            free(c->type);
            free(c->message);
            free(c->detail);
        }
        free(s->props);
        free(s->cases);
        free(s->name);
    }
    free(j->suites);
    free(j->name);
    memset(j, 0, sizeof *j);
}

static size_t suite_count(const struct junit_suite *s, enum junit_status st)
{
    size_t n = 0;
    for (size_t k = 0; k < s->n_cases; k++)
        n += s->cases[k].status == st;
    return n;
}

size_t junit_count(const struct junit *j, enum junit_status status)
{
    size_t n = 0;
    for (size_t i = 0; i < j->n_suites; i++)
        n += suite_count(&j->suites[i], status);
    return n;
}

size_t junit_tests(const struct junit *j)
{
    size_t n = 0;
    for (size_t i = 0; i < j->n_suites; i++)
        n += j->suites[i].n_cases;
    return n;
}

/* XML text or attribute value: escape markup, drop what XML 1.0 cannot hold. */
static void xml(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        case '\n':
            fputs("&#10;", f);
            break;
        case '\t':
            fputs("&#9;", f);
            break;
        default:
            if (*p < 0x20)
                fputs("\xef\xbf\xbd", f);
            else
                fputc(*p, f);
        }
    }
}

static void xml_text(FILE *f, const char *s)
{
    /* element text keeps its line breaks */
    for (const char *p = s; *p; p++) {
        if (*p == '\n')
            fputc('\n', f);
        else {
            char one[2] = {*p, 0};
            xml(f, one);
        }
    }
}

int junit_write(FILE *f, const struct junit *j)
{
    static const char *const elem[] = {NULL, "failure", "error", "skipped"};
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"");
    xml(f, j->name);
    fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\">\n", junit_tests(j),
            junit_count(j, JUNIT_FAILURE), junit_count(j, JUNIT_ERROR));
    for (size_t i = 0; i < j->n_suites; i++) {
        const struct junit_suite *s = &j->suites[i];
        fprintf(f, "  <testsuite name=\"");
        xml(f, s->name);
        fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\"", s->n_cases,
                suite_count(s, JUNIT_FAILURE), suite_count(s, JUNIT_ERROR),
                suite_count(s, JUNIT_SKIPPED));
        if (s->time_s >= 0)
            fprintf(f, " time=\"%.3f\"", s->time_s);
        fprintf(f, ">\n");
        if (s->n_props) {
            fprintf(f, "    <properties>\n");
            for (size_t k = 0; k < s->n_props; k++) {
                fprintf(f, "      <property name=\"");
                xml(f, s->props[k].name);
                fprintf(f, "\" value=\"");
                xml(f, s->props[k].value);
                fprintf(f, "\"/>\n");
            }
            fprintf(f, "    </properties>\n");
        }
        for (size_t k = 0; k < s->n_cases; k++) {
            const struct junit_case *c = &s->cases[k];
            fprintf(f, "    <testcase classname=\"");
            xml(f, c->classname);
            fprintf(f, "\" name=\"");
            xml(f, c->name);
            if (c->status == JUNIT_PASS) {
                fprintf(f, "\"/>\n");
                continue;
            }
            fprintf(f, "\">\n      <%s", elem[c->status]);
            if (c->type) {
                fprintf(f, " type=\"");
                xml(f, c->type);
                fprintf(f, "\"");
            }
            if (c->message) {
                fprintf(f, " message=\"");
                xml(f, c->message);
                fprintf(f, "\"");
            }
            if (c->detail) {
                fprintf(f, ">");
                xml_text(f, c->detail);
                fprintf(f, "</%s>\n", elem[c->status]);
            } else {
                fprintf(f, "/>\n");
            }
            fprintf(f, "    </testcase>\n");
        }
        fprintf(f, "  </testsuite>\n");
    }
    fprintf(f, "</testsuites>\n");
    return ferror(f) ? -1 : 0;
}
