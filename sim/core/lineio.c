/* lineio.c: bounded line reading (lineio.h). */
#include "sim/core/lineio.h"

#include <stdlib.h>

int lineio_getline(FILE *f, char **buf, size_t *cap, size_t max_line, size_t *len)
{
    size_t n = 0;
    int c;
    while ((c = getc(f)) != EOF) {
        if (n >= max_line && c != '\n')
            return LINEIO_TOO_LONG;
        if (n + 2 > *cap) {
            size_t want = *cap ? *cap * 2 : 256;
            if (want > max_line + 2)
                want = max_line + 2;
            if (want < n + 2)
                want = n + 2;
            char *p = realloc(*buf, want);
            if (!p)
                return LINEIO_NOMEM;
            *buf = p;
            *cap = want;
        }
        (*buf)[n++] = (char)c;
        if (c == '\n')
            break;
    }
    if (c == EOF && ferror(f))
        return LINEIO_ERROR;
    if (n == 0 && c == EOF)
        return LINEIO_EOF;
    (*buf)[n] = '\0';
    *len = n;
    return LINEIO_LINE;
}
