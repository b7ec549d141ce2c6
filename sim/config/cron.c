/*
 * cron.c: five-field cron schedules in UTC (Karpenter disruption budgets).
 */
#include "sim/config/cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim/core/civil.h"

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/* A number or (names != NULL) a name, offset so names[0] is `base`. */
static int value(const char **p, int base, const char *const *names, int n_names, int *out)
{
    if (isdigit((unsigned char)**p)) {
        char *end;
        long v = strtol(*p, &end, 10);
        if (end - *p > 4)
            return -1;
        *p = end;
        *out = (int)v;
        return 0;
    }
    for (int i = 0; names && i < n_names; i++)
        if (!strncasecmp(*p, names[i], 3) && !isalpha((unsigned char)(*p)[3])) {
            *p += 3;
            *out = base + i;
            return 0;
        }
    return -1;
}

/* One field: a comma list of `*`, N, N-M, with an optional /step. */
static int field(const char *f, int lo, int hi, const char *const *names, int n_names,
                 int name_base, uint64_t *bits, bool *star, char *why, size_t n)
{
    *bits = 0;
    *star = false;
    const char *p = f;
    for (;;) {
        int a, b, step = 1;
        bool range_star = false;
        if (*p == '*' || *p == '?') {
            a = lo;
            b = hi;
            range_star = true;
            p++;
        } else {
            if (value(&p, name_base, names, n_names, &a)) {
                snprintf(why, n, "'%s': expected a number%s", f, names ? " or a name" : "");
                return -1;
            }
            b = a;
            if (*p == '-') {
                p++;
                if (value(&p, name_base, names, n_names, &b)) {
                    snprintf(why, n, "'%s': expected the end of a range", f);
                    return -1;
                }
            }
        }
        if (*p == '/') {
            p++;
            char *end;
            long s = strtol(p, &end, 10);
            if (end == p || s < 1 || s > hi) {
                snprintf(why, n, "'%s': expected a step of at least 1", f);
                return -1;
            }
            step = (int)s;
            p = end;
            if (!range_star && b == a)
                b = hi; /* N/step: from N to the end */
        }
        if (a < lo || b > hi || a > b) {
            snprintf(why, n, "'%s': out of the range %d-%d", f, lo, hi);
            return -1;
        }
        for (int v = a; v <= b; v += step)
            *bits |= (uint64_t)1 << v;
        if (range_star && step == 1)
            *star = true;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p) {
            snprintf(why, n, "'%s': unexpected '%c'", f, *p);
            return -1;
        }
        return 0;
    }
}

int cron_parse(const char *text, struct cron *out, char *why, size_t n)
{
    static const struct {
        const char *name, *spec;
    } desc[] = {{"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
                {"@weekly", "0 0 * * 0"},  {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
                {"@hourly", "0 * * * *"}};
    for (size_t i = 0; i < sizeof desc / sizeof desc[0]; i++)
        if (!strcasecmp(text, desc[i].name))
            return cron_parse(desc[i].spec, out, why, n);
    char buf[256], *f[6];
    snprintf(buf, sizeof buf, "%s", text);
    int k = 0;
    for (char *save = NULL, *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (k == 5) {
            snprintf(why, n, "expected 5 fields (minute hour day-of-month month day-of-week)");
            return -1;
        }
        f[k++] = t;
    }
    if (k != 5) {
        snprintf(why, n, "expected 5 fields (minute hour day-of-month month day-of-week), "
                         "found %d", k);
        return -1;
    }
    uint64_t b;
    bool star;
    memset(out, 0, sizeof *out);
    if (field(f[0], 0, 59, NULL, 0, 0, &out->minute, &star, why, n))
        return -1;
    if (field(f[1], 0, 23, NULL, 0, 0, &b, &star, why, n))
        return -1;
    out->hour = (uint32_t)b;
    if (field(f[2], 1, 31, NULL, 0, 0, &b, &out->dom_star, why, n))
        return -1;
    out->dom = (uint32_t)b;
    if (field(f[3], 1, 12, months, 12, 1, &b, &star, why, n))
        return -1;
    out->month = (uint32_t)b;
    if (field(f[4], 0, 6, days, 7, 0, &b, &out->dow_star, why, n))
        return -1;
    out->dow = (uint32_t)b;
    return 0;
}

static bool day_matches(const struct cron *c, int64_t day)
{
    int64_t y;
    int m, d;
    civil_from_days(day, &y, &m, &d);
    if (!(c->month & (1u << m)))
        return false;
    int dow = (int)(((day % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
    bool dm = c->dom & (1u << d), wm = c->dow & (1u << dow);
    if (c->dom_star || c->dow_star)
        return dm && wm;
    return dm || wm;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

bool cron_active(const struct cron *c, int64_t t_s, int64_t duration_s)
{
    /* The first whole minute after t - duration (robfig Next: strictly after). */
    int64_t from = floor_div(t_s - duration_s, 60) + 1, to = floor_div(t_s, 60);
    for (int64_t day = floor_div(from, 1440); day <= floor_div(to, 1440); day++) {
        if (!day_matches(c, day))
            continue;
        int64_t m0 = day * 1440;
        int64_t lo = from > m0 ? from - m0 : 0, hi = to < m0 + 1439 ? to - m0 : 1439;
        for (int64_t h = lo / 60; h <= hi / 60; h++) {
            if (!(c->hour & (1u << h)))
                continue;
            for (int64_t mi = 0; mi < 60; mi++) {
                int64_t at = h * 60 + mi;
                if (at >= lo && at <= hi && (c->minute & ((uint64_t)1 << mi)))
                    return true;
            }
        }
    }
    return false;
}

int cron_parse_utc(const char *text, int64_t *out_s)
{
    int y, mo, d, h, mi, s, used = 0;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &used) != 6)
        return -1;
    const char *z = text + used;
    if (strcmp(z, "Z") && strcmp(z, "+00:00"))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 1970)
        return -1;
    *out_s = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return 0;
}
