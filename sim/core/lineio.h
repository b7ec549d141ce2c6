/*
 * lineio.h: one line of a plain FILE, read within a fixed memory budget.
 *
 * getline(3) grows its buffer to the longest line, so a file with no newline (/dev/zero,
 * a 10 GB line) takes all memory. lineio_getline() stops at `max_line` bytes instead.
 */
#ifndef LLMCAP_SIM_LINEIO_H
#define LLMCAP_SIM_LINEIO_H

#include <stddef.h>
#include <stdio.h>

enum { LINEIO_EOF = 0, LINEIO_LINE = 1, LINEIO_TOO_LONG = -1, LINEIO_NOMEM = -2, LINEIO_ERROR = -3 };

/* The next line of `f` into `*buf` (grown with realloc up to max_line + 2 bytes, reused
 * between calls), with its "\n" kept as getline(3) keeps it, NUL-terminated; `*len` is its
 * length in bytes (it may hold NUL bytes: callers check). Returns LINEIO_LINE,
 * LINEIO_EOF at the end of the file (a last line without "\n" is a line), LINEIO_TOO_LONG
 * when the line passes `max_line` bytes, LINEIO_NOMEM, or LINEIO_ERROR (errno set) on a
 * read error. */
int lineio_getline(FILE *f, char **buf, size_t *cap, size_t max_line, size_t *len);

#endif
