/*
 * ignored.c: the list of pasted fields accepted and ignored (see ignored.h).
 */
#include "sim/config/ignored.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* `ctx`.`name` with every all-digit path segment replaced by '*'. */
static void fold(char *out, size_t n, const char *ctx, const char *name)
{
    char raw[2 * IGNORED_PATH_MAX];
    snprintf(raw, sizeof raw, "%s%s%s", ctx ? ctx : "", ctx && ctx[0] && name && name[0] ? "." : "",
             name ? name : "");
    size_t used = 0;
    const char *p = raw;
    while (*p && used + 1 < n) {
        const char *end = strchr(p, '.');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        bool digits = len > 0;
        for (size_t i = 0; i < len && digits; i++)
            digits = isdigit((unsigned char)p[i]) != 0;
        if (digits) {
            out[used++] = '*';
        } else {
            for (size_t i = 0; i < len && used + 1 < n; i++)
                out[used++] = p[i];
        }
        if (!end)
            break;
        if (used + 1 < n)
            out[used++] = '.';
        p = end + 1;
    }
    out[used] = '\0';
}

void ignored_add(struct ignored_fields *ig, const char *ctx, const char *name)
{
    if (!ig)
        return;
    char path[IGNORED_PATH_MAX];
    fold(path, sizeof path, ctx, name);
    if (!path[0])
        return;
    for (size_t i = 0; i < ig->n; i++)
        if (!strcmp(ig->path[i], path))
            return;
    if (ig->n == IGNORED_MAX) {
        ig->more++;
        return;
    }
    memcpy(ig->path[ig->n++], path, strlen(path) + 1);
}

void ignored_merge(struct ignored_fields *ig, const struct ignored_fields *from)
{
    if (!ig || !from)
        return;
    for (size_t i = 0; i < from->n; i++)
        ignored_add(ig, "", from->path[i]);
    ig->more += from->more;
}

size_t ignored_format(const struct ignored_fields *ig, char *buf, size_t n)
{
    if (!n)
        return 0;
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; ig && i < ig->n; i++) {
        int w = snprintf(buf + used, n - used, "%s%s", i ? "; " : "", ig->path[i]);
        if (w < 0 || (size_t)w >= n - used) {
            buf[used] = '\0';
            return used;
        }
        used += (size_t)w;
    }
    if (ig && ig->more) {
        int w = snprintf(buf + used, n - used, " (and %zu more)", ig->more);
        if (w > 0 && (size_t)w < n - used)
            used += (size_t)w;
        else
            buf[used] = '\0';
    }
    return used;
}
