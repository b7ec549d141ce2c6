/* zones.c: zone IDs with their names, from a run's notes (see zones.h). */
#include "reports/zones.h"

#include <stdio.h>
#include <string.h>

void zone_notes_set(struct zone_notes *z, const char *zone_names, const char *cloud_region)
{
    memset(z, 0, sizeof *z);
    snprintf(z->names, sizeof z->names, "%s", zone_names ? zone_names : "");
    if (!cloud_region)
        return;
    const char *sp = strchr(cloud_region, ' ');
    if (!sp || (size_t)(sp - cloud_region) >= sizeof z->cloud)
        return;
    snprintf(z->cloud, sizeof z->cloud, "%.*s", (int)(sp - cloud_region), cloud_region);
    snprintf(z->region, sizeof z->region, "%s", sp + 1);
}

struct note_ctx {
    char names[1024], cloud_region[64];
};

static int read_note(void *ctx, const struct db_value *c, int n_cols)
{
    struct note_ctx *k = ctx;
    if (n_cols < 2 || c[0].type != DB_TEXT || c[1].type != DB_TEXT)
        return 0;
    if (!strcmp(c[0].s, "zone_names"))
        snprintf(k->names, sizeof k->names, "%s", c[1].s);
    else if (!strcmp(c[0].s, "cloud_region"))
        snprintf(k->cloud_region, sizeof k->cloud_region, "%s", c[1].s);
    return 0;
}

static int count_cb(void *ctx, const struct db_value *c, int n_cols)
{
    *(int64_t *)ctx = n_cols > 0 && c[0].type == DB_INT ? c[0].i : 0;
    return 0;
}

int zone_notes_load(struct db *db, int64_t run_id, struct zone_notes *z, struct sim_err *err)
{
    zone_notes_set(z, NULL, NULL);
    int64_t has = 0;
    int rc = db_query(db,
                      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                      "name = 'run_notes'",
                      NULL, 0, count_cb, &has, err);
    if (rc != SIM_OK || !has)
        return rc;
    struct note_ctx k = {"", ""};
    struct db_value id = db_int(run_id);
    rc = db_query(db,
                  "SELECT key, value FROM run_notes WHERE run_id = ?1 AND key IN "
                  "('zone_names', 'cloud_region')",
                  &id, 1, read_note, &k, err);
    if (rc == SIM_OK)
        zone_notes_set(z, k.names, k.cloud_region[0] ? k.cloud_region : NULL);
    return rc;
}

bool zone_name_of(const char *zone_names, const char *id, char *buf, size_t n)
{
    if (n)
        buf[0] = '\0';
    size_t len = id ? strlen(id) : 0;
    if (!zone_names || !len)
        return false;
    /* entries "ID=name" separated by "; " */
    for (const char *p = zone_names; *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t el = end ? (size_t)(end - p) : strlen(p);
        if (el > len + 1 && !strncmp(p, id, len) && p[len] == '=') {
            snprintf(buf, n, "%.*s", (int)(el - len - 1), p + len + 1);
            return buf[0] != '\0';
        }
        p += el;
    }
    return false;
}

void zone_display(const struct zone_notes *z, const char *zone, char *buf, size_t n)
{
    char name[64];
    if (!zone || !zone[0])
        snprintf(buf, n, "-");
    else if (z && zone_name_of(z->names, zone, name, sizeof name))
        snprintf(buf, n, "%s (%s)", zone, name);
    else if (z && !strcmp(z->cloud, "azure") && !strcmp(zone, z->region))
        snprintf(buf, n, "%s (region)", zone);
    else
        snprintf(buf, n, "%s", zone);
}
