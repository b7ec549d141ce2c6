/*
 * instream.c: plain, gzip and zstd files as one stream of lines (see instream.h).
 */
#include "sim/workload/instream.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

enum { IN_BUF = 64 * 1024, OUT_BUF = 64 * 1024 };

struct instream {
    FILE *f;
    char *path;
    char what[32]; /* "the trace", for messages */
    enum instream_codec codec;
    unsigned char *in; /* compressed bytes (plain: the bytes themselves) */
    size_t in_pos, in_end;
    bool in_eof;
    unsigned char *out; /* decompressed bytes (plain: points at `in`) */
    size_t out_pos, out_end;
    z_stream z;
    bool z_init;
    bool z_mid; /* inside a gzip member: EOF here means a truncated file */
    ZSTD_DStream *zd;
    size_t zd_hint; /* last ZSTD_decompressStream result: 0 = at a frame's end */
    uint64_t lineno;
    uint64_t bytes;
};

const char *instream_codec_name(enum instream_codec c)
{
    switch (c) {
    case INSTREAM_PLAIN:
        return "plain";
    case INSTREAM_GZIP:
        return "gzip";
    case INSTREAM_ZSTD:
        return "zstd";
    }
    return "?";
}

static const char *errno_text(int e, char *buf, size_t n)
{
    snprintf(buf, n, "%s", strerror(e));
    if (buf[0] >= 'A' && buf[0] <= 'Z')
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

/* Refill `in` from the file. 1 = bytes read, 0 = end of file, < 0 = error. */
static int read_in(struct instream *s, struct sim_err *err)
{
    if (s->in_eof)
        return 0;
    size_t n = fread(s->in, 1, IN_BUF, s->f);
    if (n == 0) {
        if (ferror(s->f)) {
            int e = errno ? errno : EIO;
            char why[128];
            if (e == EISDIR) /* a folder given for a file: bad input, not an I/O failure */
                return sim_err_at(err, SIM_EINVAL, s->path, 0, 0, "cannot read %s '%s': %s",
                                  s->what, s->path, errno_text(e, why, sizeof why));
            return sim_err_at(err, SIM_EIO, s->path, (long)s->lineno + 1, 0,
                              "cannot read %s '%s': %s", s->what, s->path,
                              errno_text(e, why, sizeof why));
        }
        s->in_eof = true;
        return 0;
    }
    s->in_pos = 0;
    s->in_end = n;
    return 1;
}

static int codec_error(struct instream *s, struct sim_err *err, const char *what)
{
    return sim_err_at(err, SIM_EINVAL, s->path, (long)s->lineno + 1, 0,
                      "the %s stream is corrupt after %llu decompressed bytes: %s",
                      instream_codec_name(s->codec), (unsigned long long)s->bytes, what);
}

static int truncated(struct instream *s, struct sim_err *err)
{
    return sim_err_at(err, SIM_EINVAL, s->path, (long)s->lineno + 1, 0,
                      "the %s stream ends early after %llu decompressed bytes (a truncated "
                      "file?)",
                      instream_codec_name(s->codec), (unsigned long long)s->bytes);
}

/* Decompress into `out`. 1 = bytes there, 0 = end of stream, < 0 = error. */
static int fill_gzip(struct instream *s, struct sim_err *err)
{
    s->z.next_out = s->out;
    s->z.avail_out = OUT_BUF;
    while (s->z.avail_out == OUT_BUF) {
        if (s->z.avail_in == 0) {
            int rc = read_in(s, err);
            if (rc < 0)
                return rc;
            if (rc == 0)
                return s->z_mid ? truncated(s, err) : 0;
            s->z.next_in = s->in;
            s->z.avail_in = (uInt)s->in_end;
        }
        if (!s->z_mid) {
            /* a new member must start with the gzip magic; anything else after a member
             * (gzip(1) ignores zero padding with a warning) is not a trace */
            if (s->z.next_in[0] != 0x1f)
                return codec_error(s, err, "data after the last gzip member is not gzip");
            s->z_mid = true;
        }
        int zr = inflate(&s->z, Z_NO_FLUSH);
        if (zr == Z_STREAM_END) {
            s->z_mid = false;
            if (inflateReset(&s->z) != Z_OK)
                return codec_error(s, err, "cannot reset the decoder");
        } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
            return codec_error(s, err, s->z.msg ? s->z.msg : zError(zr));
        }
    }
    s->out_pos = 0;
    s->out_end = OUT_BUF - s->z.avail_out;
    return 1;
}

static int fill_zstd(struct instream *s, struct sim_err *err)
{
    ZSTD_outBuffer ob = {s->out, OUT_BUF, 0};
    while (ob.pos == 0) {
        if (s->in_pos == s->in_end) {
            int rc = read_in(s, err);
            if (rc < 0)
                return rc;
            if (rc == 0)
                return s->zd_hint != 0 ? truncated(s, err) : 0;
        }
        ZSTD_inBuffer ib = {s->in, s->in_end, s->in_pos};
        size_t r = ZSTD_decompressStream(s->zd, &ob, &ib);
        s->in_pos = ib.pos;
        if (ZSTD_isError(r))
            return codec_error(s, err, ZSTD_getErrorName(r));
        s->zd_hint = r;
    }
    s->out_pos = 0;
    s->out_end = ob.pos;
    return 1;
}

static int fill(struct instream *s, struct sim_err *err)
{
    int rc;
    switch (s->codec) {
    case INSTREAM_GZIP:
        rc = fill_gzip(s, err);
        break;
    case INSTREAM_ZSTD:
        rc = fill_zstd(s, err);
        break;
    default:
        rc = s->in_pos < s->in_end ? 1 : read_in(s, err);
        if (rc == 1) {
            s->out_pos = s->in_pos;
            s->out_end = s->in_end;
            s->in_pos = s->in_end;
        }
        break;
    }
    if (rc == 1)
        s->bytes += s->out_end - s->out_pos;
    return rc;
}

struct instream *instream_open(const char *path, const char *what, struct sim_err *err)
{
    struct instream *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path)) || !(s->in = malloc(IN_BUF))) {
        sim_err_at(err, SIM_ENOMEM, path, 0, 0, "out of memory opening '%s'", path);
        instream_close(s);
        return NULL;
    }
    snprintf(s->what, sizeof s->what, "%s", what);
    s->f = fopen(path, "rb");
    if (!s->f) {
        int e = errno;
        char why[128];
        sim_err_at(err, e == ENOENT ? SIM_ENOENT : SIM_EIO, path, 0, 0, "cannot open %s '%s': %s",
                   what, path, errno_text(e, why, sizeof why));
        instream_close(s);
        return NULL;
    }
    if (read_in(s, err) < 0) {
        instream_close(s);
        return NULL;
    }
    const unsigned char *b = s->in;
    size_t n = s->in_end;
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        s->codec = INSTREAM_GZIP;
    else if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
        s->codec = INSTREAM_ZSTD;
    if (s->codec == INSTREAM_PLAIN) {
        s->out = s->in;
        return s;
    }
    s->out = malloc(OUT_BUF);
    if (!s->out) {
        sim_err_at(err, SIM_ENOMEM, path, 0, 0, "out of memory opening '%s'", path);
        instream_close(s);
        return NULL;
    }
    if (s->codec == INSTREAM_GZIP) {
        s->z.next_in = s->in;
        s->z.avail_in = (uInt)s->in_end;
        /* 15 + 16: a gzip wrapper only (the magic said so), 32 KiB window */
        if (inflateInit2(&s->z, 15 + 16) != Z_OK) {
            sim_err_at(err, SIM_ENOMEM, path, 0, 0, "out of memory for the gzip decoder");
            instream_close(s);
            return NULL;
        }
        s->z_init = true;
    } else {
        s->zd = ZSTD_createDStream();
        if (!s->zd || ZSTD_isError(ZSTD_initDStream(s->zd))) {
            sim_err_at(err, SIM_ENOMEM, path, 0, 0, "out of memory for the zstd decoder");
            instream_close(s);
            return NULL;
        }
    }
    return s;
}

enum instream_codec instream_codec(const struct instream *s)
{
    return s->codec;
}

uint64_t instream_lineno(const struct instream *s)
{
    return s->lineno;
}

uint64_t instream_bytes(const struct instream *s)
{
    return s->bytes;
}

/* Append n bytes to the line, within max_line. */
static int append(struct instream *s, char **line, size_t *cap, size_t *len, const void *p,
                  size_t n, size_t max_line, struct sim_err *err)
{
    if (n > max_line - *len)
        return sim_err_at(err, SIM_EINVAL, s->path, (long)s->lineno + 1, 0,
                          "line %llu is longer than %zu bytes: not a trace line (is this the "
                          "right file?)",
                          (unsigned long long)s->lineno + 1, max_line);
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n + 1)
            c *= 2;
        if (c > max_line + 1)
            c = max_line + 1;
        char *q = realloc(*line, c);
        if (!q)
            return sim_err_at(err, SIM_ENOMEM, s->path, (long)s->lineno + 1, 0,
                              "out of memory reading a line");
        *line = q;
        *cap = c;
    }
    memcpy(*line + *len, p, n);
    *len += n;
    return SIM_OK;
}

int instream_getline(struct instream *s, char **line, size_t *cap, size_t *len, size_t max_line,
                     struct sim_err *err)
{
    *len = 0;
    bool any = false;
    for (;;) {
        if (s->out_pos == s->out_end) {
            int rc = fill(s, err);
            if (rc < 0)
                return rc;
            if (rc == 0) {
                if (!any)
                    return 0;
                break; /* a last line without "\n" */
            }
        }
        any = true;
        const unsigned char *p = s->out + s->out_pos;
        size_t avail = s->out_end - s->out_pos;
        const unsigned char *nl = memchr(p, '\n', avail);
        size_t take = nl ? (size_t)(nl - p) : avail;
        int rc = append(s, line, cap, len, p, take, max_line, err);
        if (rc < 0)
            return rc;
        s->out_pos += take + (nl ? 1 : 0);
        if (nl)
            break;
    }
    if (*len && (*line)[*len - 1] == '\r')
        (*len)--;
    if (!*line) { /* an empty first line: still give the caller a string */
        int rc = append(s, line, cap, len, "", 0, max_line, err);
        if (rc < 0)
            return rc;
    }
    (*line)[*len] = '\0';
    s->lineno++;
    return 1;
}

void instream_close(struct instream *s)
{
    if (!s)
        return;
    if (s->z_init)
        inflateEnd(&s->z);
    ZSTD_freeDStream(s->zd);
    if (s->f)
        fclose(s->f);
    if (s->out != s->in)
        free(s->out);
    free(s->in);
    free(s->path);
    free(s);
}
