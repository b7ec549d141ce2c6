/* Cron schedules of Karpenter disruption budgets against hand-worked calendars
 * (robfig/cron/v3 ParseStandard semantics, UTC; Karpenter Budget.IsActive). */
#include <criterion/criterion.h>

#include "sim/config/cron.h"

/* 2026-03-02T08:00:00Z, a Monday. */
#define MON_0800 1772438400LL
#define H 3600LL

static struct cron parse(const char *text)
{
    struct cron c;
    char why[160];
    cr_assert_eq(cron_parse(text, &c, why, sizeof why), 0, "%s: %s", text, why);
    return c;
}

Test(cron, utc_times_parse_to_epoch_seconds)
{
    int64_t t;
    cr_assert_eq(cron_parse_utc("2026-03-02T08:00:00Z", &t), 0);
    cr_assert_eq(t, MON_0800);
    cr_assert_eq(cron_parse_utc("1970-01-01T00:00:00+00:00", &t), 0);
    cr_assert_eq(t, 0);
    cr_assert_eq(cron_parse_utc("2026-03-02 08:00", &t), -1);
    cr_assert_eq(cron_parse_utc("2026-03-02T08:00:00+01:00", &t), -1);
}

Test(cron, business_hours_window)
{
    /* '0 9 * * mon-fri' for 8h: active 09:00-17:00 (the hit at 09:00 is in (t - 8h, t]
     * up to 16:59:59 and at 17:00 exactly it is not: the window is half-open at its
     * start). Monday 08:59 no; 09:00 yes; 16:59 yes; 17:00 no; Saturday 10:00 no. */
    struct cron c = parse("0 9 * * mon-fri");
    int64_t dur = 8 * H;
    cr_assert_not(cron_active(&c, MON_0800 + 59 * 60, dur));
    cr_assert(cron_active(&c, MON_0800 + 1 * H, dur));
    cr_assert(cron_active(&c, MON_0800 + 8 * H + 59 * 60, dur));
    cr_assert_not(cron_active(&c, MON_0800 + 9 * H, dur));
    cr_assert_not(cron_active(&c, MON_0800 + 5 * 24 * H + 2 * H, dur));
}

Test(cron, fields_lists_steps_names_and_descriptors)
{
    /* Every 15 minutes ('*' + '/15' in the minute field) for 1 min: active in the
     * minute after :00, :15, :30, :45. */
    struct cron c = parse("*/15 * * * *");
    cr_assert(cron_active(&c, MON_0800 + 15 * 60 + 30, 60));
    cr_assert_not(cron_active(&c, MON_0800 + 16 * 60 + 30, 60));
    /* Day-of-month and day-of-week both restricted: either matches (the 1st, or any
     * Saturday). 2026-03-07 is a Saturday, 2026-03-03 a Tuesday. */
    c = parse("0 0 1 * sat");
    cr_assert(cron_active(&c, MON_0800 + 4 * 24 * H + 16 * H + 30 * 60, H)); /* Sat 00:30 */
    cr_assert_not(cron_active(&c, MON_0800 + 16 * H + 30 * 60, H));          /* Tue 00:30 */
    /* @daily is '0 0 * * *'; Jan-Feb only never hits in March. */
    c = parse("@daily");
    cr_assert(cron_active(&c, MON_0800 + 16 * H + 30 * 60, H));
    c = parse("0 0 * jan-feb *");
    cr_assert_not(cron_active(&c, MON_0800, 24 * H));
    char why[160];
    struct cron bad;
    cr_assert_eq(cron_parse("0 9 * *", &bad, why, sizeof why), -1);
    cr_assert_eq(cron_parse("61 * * * *", &bad, why, sizeof why), -1);
    cr_assert_str_eq(why, "'61': out of the range 0-59");
    cr_assert_eq(cron_parse("0 9 * * funday", &bad, why, sizeof why), -1);
}
