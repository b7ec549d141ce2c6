/*
 * cron.h: standard five-field cron schedules, as Karpenter's NodePool disruption budgets
 * use them (robfig/cron/v3 ParseStandard, evaluated in UTC): minute hour day-of-month
 * month day-of-week, with `*`, lists, ranges, steps, month and weekday names and the
 * @yearly/@annually/@monthly/@weekly/@daily/@midnight/@hourly descriptors.
 */
#ifndef LLMCAP_SIM_CRON_H
#define LLMCAP_SIM_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cron {
    uint64_t minute; /* bit m: minute m (0-59) */
    uint32_t hour;   /* 0-23 */
    uint32_t dom;    /* 1-31 */
    uint32_t month;  /* 1-12 */
    uint32_t dow;    /* 0-6, Sunday 0 */
    bool dom_star, dow_star; /* written as `*` (robfig: then both must match, else either) */
};

/* Parse `text`. 0 on success; else -1 with a reason in why[n]. */
int cron_parse(const char *text, struct cron *out, char *why, size_t n);

/* Is there a schedule hit in (t - duration, t]? Times in seconds since the Unix epoch,
 * UTC; hits fall on whole minutes (Karpenter Budget.IsActive: the next hit after
 * now - duration is not after now). */
bool cron_active(const struct cron *c, int64_t t_s, int64_t duration_s);

/* "YYYY-MM-DDTHH:MM:SSZ" (or with "+00:00") into seconds since the epoch; -1 if not. */
int cron_parse_utc(const char *text, int64_t *out_s);

#endif
