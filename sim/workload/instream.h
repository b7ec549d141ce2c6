/*
 * instream.h: a file read as a stream of bytes and lines, decompressed on the fly when it
 * is gzip (RFC 1952, zlib) or Zstandard (RFC 8878, libzstd).
 *
 * The compression is told by the file's first bytes (1f 8b: gzip; 28 b5 2f fd: zstd),
 * never by its name: `trace.csv` that is really gzip is read as gzip, `trace.csv.gz` that
 * is plain text is read as text. Concatenated members (`cat a.gz b.gz`, pigz) and frames
 * are read one after the other, as gzip(1) and zstd(1) do. Memory is bounded whatever
 * the file: one input and one output buffer, the line buffer (at most `max_line` bytes)
 * and the decoder's window (gzip: 32 KiB; zstd: at most 2^27 bytes, libzstd's default
 * limit, a frame asking for more is refused).
 */
#ifndef LLMCAP_SIM_INSTREAM_H
#define LLMCAP_SIM_INSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "sim/core/err.h"

enum instream_codec { INSTREAM_PLAIN, INSTREAM_GZIP, INSTREAM_ZSTD };

struct instream;

/* Open `path`; `what` names it in messages ("the trace": "cannot open the trace 'x'").
 * NULL + err (SIM_ENOENT, SIM_EIO, SIM_ENOMEM) when it cannot be opened. */
struct instream *instream_open(const char *path, const char *what, struct sim_err *err);

/* What the first bytes said. */
enum instream_codec instream_codec(const struct instream *s);
const char *instream_codec_name(enum instream_codec c); /* "plain", "gzip", "zstd" */

/*
 * The next line into `*line` (grown with realloc up to `max_line` + 1 bytes, reused
 * between calls), without its "\n"; "\r\n" loses the "\r" too. `*len` is its length
 * (it may hold NUL bytes: callers check). Returns 1 for a line, 0 at the end of the file,
 * or a negative SIM_E* with err naming "path:line": SIM_EINVAL for a line longer than
 * `max_line` or a corrupt or truncated compressed stream, SIM_EIO for a read error,
 * SIM_ENOMEM. A last line without "\n" is a line.
 */
int instream_getline(struct instream *s, char **line, size_t *cap, size_t *len, size_t max_line,
                     struct sim_err *err);

/* Lines returned so far (the number of the last one), and decompressed bytes read. */
uint64_t instream_lineno(const struct instream *s);
uint64_t instream_bytes(const struct instream *s);

void instream_close(struct instream *s); /* NULL is a no-op */

#endif
