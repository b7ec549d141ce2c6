/*
 * ynode.c: YAML (libyaml events) into a plain ynode tree with positions, `--set`
 * overrides, and the typed readers that give llmcap's error wording. The only file that
 * includes <yaml.h>.
 */
#include "sim/config/ynode.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "sim/core/evq.h"

/* Guards against hostile input: nesting deeper than this, or aliases expanding to more
 * nodes than this ("billion laughs"), are errors rather than a crash or a hang. */
#define YNODE_MAX_DEPTH 1000
#define YNODE_MAX_ALIAS_NODES 100000
/* Scalars quoted in messages are cut to this many bytes. */
#define YNODE_SHOW_MAX 60

static const char set_file[] = "--set";

struct ydoc {
    struct ynode **nodes; /* every node, for ydoc_free */
    size_t n_nodes, cap_nodes;
    char **files; /* owned file names */
    size_t n_files, cap_files;
    struct ynode *root;
    const char *path;
};

/* ---- allocation ------------------------------------------------------------------ */

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return SIM_OK;
    size_t c = *cap ? *cap : 4;
    while (c < need)
        c *= 2;
    void *q = sim_reallocarray(*p, c, size);
    if (!q)
        return SIM_ENOMEM;
    *p = q;
    *cap = c;
    return SIM_OK;
}

static struct ynode *node_new(struct ydoc *doc, enum ynode_kind kind, const char *file, long line,
                              long col)
{
    if (grow((void **)&doc->nodes, &doc->cap_nodes, doc->n_nodes + 1, sizeof *doc->nodes))
        return NULL;
    struct ynode *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->file = file;
    n->line = line;
    n->col = col;
    doc->nodes[doc->n_nodes++] = n;
    return n;
}

static const char *doc_add_file(struct ydoc *doc, const char *name)
{
    if (grow((void **)&doc->files, &doc->cap_files, doc->n_files + 1, sizeof *doc->files))
        return NULL;
    char *s = strdup(name);
    if (!s)
        return NULL;
    doc->files[doc->n_files++] = s;
    return s;
}

static struct ydoc *doc_new(const char *name)
{
    struct ydoc *doc = calloc(1, sizeof *doc);
    if (!doc)
        return NULL;
    doc->path = doc_add_file(doc, name);
    if (!doc->path) {
        ydoc_free(doc);
        return NULL;
    }
    return doc;
}

void ydoc_free(struct ydoc *doc)
{
    if (!doc)
        return;
    for (size_t i = 0; i < doc->n_nodes; i++) {
        free(doc->nodes[i]->value);
        free(doc->nodes[i]->keys);
        free(doc->nodes[i]->items);
        free(doc->nodes[i]);
    }
    free(doc->nodes);
    for (size_t i = 0; i < doc->n_files; i++)
        free(doc->files[i]);
    free(doc->files);
    free(doc);
}

struct ynode *ydoc_root(const struct ydoc *doc)
{
    return doc->root;
}

const char *ydoc_path(const struct ydoc *doc)
{
    return doc->path;
}

/* Append to a map (key != NULL) or a sequence; `*cap` tracks capacity while parsing,
 * NULL means "exactly n" (ydoc_set). */
static int node_append(struct ynode *parent, struct ynode *key, struct ynode *value, size_t *cap)
{
    size_t c = cap ? *cap : parent->n;
    size_t c_items = c;
    if (grow((void **)&parent->items, &c_items, parent->n + 1, sizeof *parent->items))
        return SIM_ENOMEM;
    if (parent->kind == YNODE_MAP) {
        size_t c_keys = c;
        if (grow((void **)&parent->keys, &c_keys, parent->n + 1, sizeof *parent->keys))
            return SIM_ENOMEM;
    }
    if (cap)
        *cap = c_items;
    if (parent->kind == YNODE_MAP)
        parent->keys[parent->n] = key;
    parent->items[parent->n++] = value;
    return SIM_OK;
}

/* ---- small text helpers -------------------------------------------------------------- */

/* A scalar cut for messages: at most YNODE_SHOW_MAX bytes, then "...". */
static const char *show(const char *s, char *buf, size_t n)
{
    size_t len = strlen(s);
    if (len <= YNODE_SHOW_MAX)
        return s;
    snprintf(buf, n, "%.*s...", YNODE_SHOW_MAX, s);
    return buf;
}

int(ynode_fail_at)(struct sim_err *err, int code, const struct ynode *n, const char *fmt, ...)
{
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n)
        return sim_err_at(err, code, n->file, n->line, n->col, "%s", msg);
    return sim_err_set(err, code, "%s", msg);
}

/* Lower-case the first letter of strerror's text for llmcap's wording. */
static void errno_text(int e, char *buf, size_t n)
{
    snprintf(buf, n, "%s", strerror(e));
    if (buf[0] >= 'A' && buf[0] <= 'Z')
        buf[0] = (char)(buf[0] - 'A' + 'a');
}

/* What a scenario or manifest file may weigh: far above any real one, and the memory
 * a hostile one (/dev/zero, a 10 GB line) can take before it is refused. */
#define YNODE_FILE_MAX ((size_t)16 << 20)

/* Why the bytes just read (buf[n..n+got)) cannot be a YAML text, or NULL: a compressed
 * file (checked on the first bytes) or a NUL byte (not text; /dev/zero stops here). */
static const char *read_check(const char *buf, size_t n, size_t got)
{
    if (n == 0 && got >= 2 && (unsigned char)buf[0] == 0x1f && (unsigned char)buf[1] == 0x8b)
        return "gzip-compressed: decompress it first (gunzip)";
    if (n == 0 && got >= 4 && (unsigned char)buf[0] == 0x28 && (unsigned char)buf[1] == 0xb5 &&
        (unsigned char)buf[2] == 0x2f && (unsigned char)buf[3] == 0xfd)
        return "zstd-compressed: decompress it first (unzstd)";
    if (memchr(buf + n, '\0', got))
        return "not a text file: it holds a NUL byte";
    return NULL;
}

/* Line and column (1-based, bytes) of the first NUL byte in buf[0..n). */
static void nul_position(const char *buf, size_t n, long *line, long *col)
{
    const char *z = memchr(buf, '\0', n);
    size_t end = z ? (size_t)(z - buf) : n;
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < end; i++) {
        if (buf[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

int ynode_read_file(const char *path, char **out, size_t *len, struct sim_err *err)
{
    *out = NULL;
    *len = 0;
    char why[128];
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        errno_text(e, why, sizeof why);
        return sim_err_at(err, e == ENOENT ? SIM_ENOENT : SIM_EIO, path, 0, 0,
                          "cannot open '%s': %s", path, why);
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return sim_err_set(err, SIM_ENOMEM, "out of memory reading '%s'", path);
    }
    for (;;) {
        if (n + 1 >= cap) {
            char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return sim_err_set(err, SIM_ENOMEM, "out of memory reading '%s'", path);
            }
            buf = nb;
            cap *= 2;
        }
        size_t room = cap - 1 - n;
        if (room > YNODE_FILE_MAX + 1 - n)
            room = YNODE_FILE_MAX + 1 - n;
        size_t got = fread(buf + n, 1, room, f);
        const char *bad = read_check(buf, n, got);
        n += got;
        if (bad || n > YNODE_FILE_MAX) {
            char msg[200];
            if (bad)
                snprintf(msg, sizeof msg, "'%.100s' is %s", path, bad);
            else
                snprintf(msg, sizeof msg,
                         "'%.100s' is larger than %d MiB: not a scenario (a scenario is a "
                         "few KiB)",
                         path, (int)(YNODE_FILE_MAX >> 20));
            long line = 0, col = 0;
            if (bad && buf[0] != '\x1f' && (unsigned char)buf[0] != 0x28)
                nul_position(buf, n, &line, &col);
            free(buf);
            fclose(f);
            return sim_err_at(err, SIM_EINVAL, path, line, col, "%s", msg);
        }
        if (got == 0) {
            if (ferror(f)) {
                int e = errno;
                errno_text(e, why, sizeof why);
                free(buf);
                fclose(f);
                return sim_err_at(err, e == EISDIR ? SIM_EINVAL : SIM_EIO, path, 0, 0,
                                  "cannot read '%s': %s", path, why);
            }
            break;
        }
    }
    fclose(f);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return SIM_OK;
}

/* ---- parsing ----------------------------------------------------------------------- */

struct anchor {
    char *name;
    struct ynode *node;
    bool open; /* still being built: an alias to it would be recursive */
};

struct frame {
    struct ynode *node;
    size_t cap;
    struct ynode *key; /* map: the key whose value comes next */
    size_t anchor;     /* index into anchors, or SIZE_MAX */
};

struct parse {
    struct ydoc *doc;
    const char *file; /* owned by doc */
    long line0, col0; /* added to libyaml's 0-based marks (1, 1 for a file) */
    struct frame *stack;
    size_t depth, cap_stack;
    struct anchor *anchors;
    size_t n_anchors, cap_anchors;
    size_t alias_nodes;
    struct ynode *root;
    struct sim_err *err;
};

static long mark_line(const struct parse *p, yaml_mark_t m)
{
    return p->line0 + (long)m.line;
}

static long mark_col(const struct parse *p, yaml_mark_t m)
{
    return (m.line == 0 ? p->col0 : 1) + (long)m.column;
}

static int perr(struct parse *p, int code, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int perr(struct parse *p, int code, yaml_mark_t m, const char *fmt, ...)
{
    char msg[sizeof p->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sim_err_at(p->err, code, p->file, mark_line(p, m), mark_col(p, m), "%s", msg);
}

/* The dotted path of the map being built at the top of the stack, for messages. */
static void stack_path(const struct parse *p, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    /* Each open collection is the last entry of the one below it (attached at start). */
    for (size_t i = 0; i + 1 < p->depth && used < n; i++) {
        const struct ynode *c = p->stack[i].node;
        int w;
        if (c->kind == YNODE_MAP)
            w = snprintf(buf + used, n - used, "%s%s", used ? "." : "", c->keys[c->n - 1]->value);
        else
            w = snprintf(buf + used, n - used, "%s%zu", used ? "." : "", c->n - 1);
        if (w < 0)
            return;
        used += (size_t)w;
    }
}

static int scalar_tag_ok(struct parse *p, const yaml_char_t *tag, yaml_mark_t m, bool *str)
{
    *str = false;
    if (!tag)
        return SIM_OK;
    const char *t = (const char *)tag;
    if (!strcmp(t, YAML_STR_TAG) || !strcmp(t, "!")) {
        *str = true;
        return SIM_OK;
    }
    static const char *const plain_tags[] = {YAML_NULL_TAG,  YAML_BOOL_TAG, YAML_INT_TAG,
                                             YAML_FLOAT_TAG, YAML_MAP_TAG,  YAML_SEQ_TAG};
    for (size_t i = 0; i < sizeof plain_tags / sizeof plain_tags[0]; i++)
        if (!strcmp(t, plain_tags[i]))
            return SIM_OK;
    char sb[YNODE_SHOW_MAX + 8];
    return perr(p, SIM_EINVAL, m, "unsupported YAML tag '%s'", show(t, sb, sizeof sb));
}

static int add_anchor(struct parse *p, const yaml_char_t *name, struct ynode *n, bool open,
                      size_t *index)
{
    if (grow((void **)&p->anchors, &p->cap_anchors, p->n_anchors + 1, sizeof *p->anchors))
        return SIM_ENOMEM;
    char *s = strdup((const char *)name);
    if (!s)
        return SIM_ENOMEM;
    struct anchor *a = &p->anchors[p->n_anchors];
    a->name = s;
    a->node = n;
    a->open = open;
    if (index)
        *index = p->n_anchors;
    p->n_anchors++;
    return SIM_OK;
}

/* Deep copy for alias expansion: a copy, not a shared node, so `--set` on one use never
 * changes the other. Positions stay those of the anchored original. */
static struct ynode *node_copy(struct parse *p, const struct ynode *src)
{
    if (++p->alias_nodes > YNODE_MAX_ALIAS_NODES)
        return NULL;
    struct ynode *n = node_new(p->doc, src->kind, src->file, src->line, src->col);
    if (!n)
        return NULL;
    n->quoted = src->quoted;
    n->float_tag = src->float_tag;
    n->block = src->block;
    if (src->value && !(n->value = strdup(src->value)))
        return NULL;
    if (src->n) {
        n->items = calloc(src->n, sizeof *n->items);
        if (!n->items)
            return NULL;
        if (src->kind == YNODE_MAP) {
            n->keys = calloc(src->n, sizeof *n->keys);
            if (!n->keys)
                return NULL;
        }
    }
    for (size_t i = 0; i < src->n; i++) {
        if (src->kind == YNODE_MAP && !(n->keys[i] = node_copy(p, src->keys[i])))
            return NULL;
        if (!(n->items[i] = node_copy(p, src->items[i])))
            return NULL;
        n->n = i + 1;
    }
    return n;
}

/* Attach a finished (or just started) node to the structure being built. */
struct key_ref {
    const char *v;
    size_t i;
};

static int cmp_key_ref(const void *a, const void *b)
{
    const struct key_ref *x = a, *y = b;
    int c = strcmp(x->v, y->v);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/*
 * The first key of `map` (in file order) that repeats an earlier one, and that earlier
 * one in *first; -1 when the keys are distinct, -2 out of memory. Sorting makes it
 * n log n, so a map of 200,000 keys loads in time proportional to its size.
 */
static long first_duplicate(const struct ynode *map, size_t *first)
{
    if (map->kind != YNODE_MAP || map->n < 2)
        return -1;
    struct key_ref *r = malloc(map->n * sizeof *r);
    if (!r)
        return -2;
    for (size_t i = 0; i < map->n; i++)
        r[i] = (struct key_ref){map->keys[i]->value, i};
    qsort(r, map->n, sizeof *r, cmp_key_ref);
    long best = -1;
    for (size_t i = 1; i < map->n; i++)
        if (!strcmp(r[i].v, r[i - 1].v) &&
            (i < 2 || strcmp(r[i - 2].v, r[i].v)) && (best < 0 || r[i].i < (size_t)best)) {
            best = (long)r[i].i; /* the second of its group: the first repetition */
            *first = r[i - 1].i;
        }
    free(r);
    return best;
}

static int attach(struct parse *p, struct ynode *n, yaml_mark_t m)
{
    if (p->depth == 0) {
        p->root = n;
        return SIM_OK;
    }
    struct frame *f = &p->stack[p->depth - 1];
    if (f->node->kind == YNODE_SEQ)
        return node_append(f->node, NULL, n, &f->cap) ? SIM_ENOMEM : SIM_OK;
    if (f->key) {
        int rc = node_append(f->node, f->key, n, &f->cap);
        f->key = NULL;
        return rc;
    }
    /* n is a key */
    if (n->kind != YNODE_SCALAR)
        return perr(p, SIM_EINVAL, m, "map keys must be scalars");
    if (!n->quoted && !strcmp(n->value, "<<"))
        return perr(p, SIM_EINVAL, m, "merge keys ('<<') are not supported: write the keys out");
    /* duplicates are looked for once the map is complete (first_duplicate) */
    f->key = n;
    return SIM_OK;
}

static int on_event(struct parse *p, const yaml_event_t *ev, int *n_docs)
{
    yaml_mark_t m = ev->start_mark;
    struct ynode *n;
    bool str;
    int rc;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++*n_docs > 1)
            return perr(p, SIM_EINVAL, m, "only one YAML document is allowed per file");
        return SIM_OK;
    case YAML_SCALAR_EVENT:
        if ((rc = scalar_tag_ok(p, ev->data.scalar.tag, m, &str)))
            return rc;
        if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length))
            return perr(p, SIM_EINVAL, m, "a scalar contains a NUL character");
        n = node_new(p->doc, YNODE_SCALAR, p->file, mark_line(p, m), mark_col(p, m));
        if (!n || !(n->value = strdup((const char *)ev->data.scalar.value)))
            return SIM_ENOMEM;
        n->float_tag = ev->data.scalar.tag &&
                       !strcmp((const char *)ev->data.scalar.tag, YAML_FLOAT_TAG);
        n->quoted = str || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        n->block = ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
                   ev->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
        if (ev->data.scalar.anchor && (rc = add_anchor(p, ev->data.scalar.anchor, n, false, NULL)))
            return rc;
        return attach(p, n, m);
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        const struct anchor *a = NULL;
        for (size_t i = p->n_anchors; i-- > 0;)
            if (!strcmp(p->anchors[i].name, name)) {
                a = &p->anchors[i];
                break;
            }
        char sb[YNODE_SHOW_MAX + 8];
        if (!a)
            return perr(p, SIM_EINVAL, m, "unknown alias '*%s'", show(name, sb, sizeof sb));
        if (a->open)
            return perr(p, SIM_EINVAL, m, "alias '*%s' refers to a node that contains it",
                        show(name, sb, sizeof sb));
        n = node_copy(p, a->node);
        if (!n) {
            if (p->alias_nodes > YNODE_MAX_ALIAS_NODES)
                return perr(p, SIM_EINVAL, m, "aliases expand to more than %d nodes",
                            YNODE_MAX_ALIAS_NODES);
            return SIM_ENOMEM;
        }
        return attach(p, n, m);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool is_map = ev->type == YAML_MAPPING_START_EVENT;
        const yaml_char_t *tag = is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
        const yaml_char_t *anchor =
            is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
        if (tag && strcmp((const char *)tag, is_map ? YAML_MAP_TAG : YAML_SEQ_TAG)) {
            char sb[YNODE_SHOW_MAX + 8];
            return perr(p, SIM_EINVAL, m, "unsupported YAML tag '%s'",
                        show((const char *)tag, sb, sizeof sb));
        }
        if (p->depth >= YNODE_MAX_DEPTH)
            return perr(p, SIM_EINVAL, m, "nesting deeper than %d levels", YNODE_MAX_DEPTH);
        n = node_new(p->doc, is_map ? YNODE_MAP : YNODE_SEQ, p->file, mark_line(p, m),
                     mark_col(p, m));
        if (!n)
            return SIM_ENOMEM;
        if ((rc = attach(p, n, m)))
            return rc;
        if (grow((void **)&p->stack, &p->cap_stack, p->depth + 1, sizeof *p->stack))
            return SIM_ENOMEM;
        struct frame *f = &p->stack[p->depth++];
        *f = (struct frame){n, 0, NULL, SIZE_MAX};
        if (anchor && (rc = add_anchor(p, anchor, n, true, &f->anchor)))
            return rc;
        return SIM_OK;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
        SIM_ASSERT(p->stack && p->depth > 0); /* libyaml pairs every end with its start */
        const struct ynode *map = p->stack[p->depth - 1].node;
        size_t first = 0;
        long dup = first_duplicate(map, &first);
        if (dup == -2)
            return SIM_ENOMEM;
        if (dup >= 0 && map->keys) {
            const struct ynode *k = map->keys[dup];
            char path[256], sb[YNODE_SHOW_MAX + 8];
            stack_path(p, path, sizeof path);
            if (path[0])
                return sim_err_at(p->err, SIM_EINVAL, p->file, k->line, k->col,
                                  "duplicate key '%s' in '%s' (first at line %ld)",
                                  show(k->value, sb, sizeof sb), path, map->keys[first]->line);
            return sim_err_at(p->err, SIM_EINVAL, p->file, k->line, k->col,
                              "duplicate key '%s' at the top level (first at line %ld)",
                              show(k->value, sb, sizeof sb), map->keys[first]->line);
        }
        struct frame *f = &p->stack[--p->depth];
        if (f->anchor != SIZE_MAX)
            p->anchors[f->anchor].open = false;
        return SIM_OK;
    }
    default:
        return SIM_OK;
    }
}

/* Line and column (1-based) of byte `off` in text, for reader errors (bad UTF-8). */
static void offset_pos(const char *text, size_t len, size_t off, long *line, long *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            ++*line;
            *col = 1;
        } else {
            ++*col;
        }
    }
}

/* Parse text into `doc`; returns the root (an empty map for an empty or null document)
 * or NULL + err. `line0`/`col0` place libyaml's 0-based marks. */
static struct ynode *parse_into(struct ydoc *doc, const char *file, const char *text, size_t len,
                                long line0, long col0, struct sim_err *err)
{
    struct parse p = {.doc = doc, .file = file, .line0 = line0, .col0 = col0, .err = err};
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        sim_err_set(err, SIM_ENOMEM, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int rc = SIM_OK, n_docs = 0;
    bool done = false;
    while (!done && rc == SIM_OK) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            if (parser.error == YAML_MEMORY_ERROR) {
                rc = sim_err_set(err, SIM_ENOMEM, "out of memory");
            } else if (parser.error == YAML_READER_ERROR) {
                long line, col;
                offset_pos(text, len, parser.problem_offset, &line, &col);
                rc = sim_err_at(err, SIM_EINVAL, file, line0 - 1 + line,
                                line == 1 ? col0 - 1 + col : col, "invalid YAML: %s",
                                parser.problem ? parser.problem : "unreadable text");
            } else if (parser.problem_mark.index < len &&
                       text[parser.problem_mark.index] == '\t') {
                /* libyaml says "found character that cannot start any token", which does
                 * not tell a reader that the character is an invisible tab. */
                rc = perr(&p, SIM_EINVAL, parser.problem_mark,
                          "invalid YAML: found a tab where YAML allows only spaces (indent "
                          "with spaces)");
            } else if (parser.context) {
                rc = perr(&p, SIM_EINVAL, parser.problem_mark,
                          "invalid YAML: %s (%s started at line %ld)",
                          parser.problem ? parser.problem : "syntax error", parser.context,
                          mark_line(&p, parser.context_mark));
            } else {
                rc = perr(&p, SIM_EINVAL, parser.problem_mark, "invalid YAML: %s",
                          parser.problem ? parser.problem : "syntax error");
            }
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        rc = on_event(&p, &ev, &n_docs);
        if (rc == SIM_ENOMEM) /* allocation failures return the code without a message */
            rc = sim_err_set(err, SIM_ENOMEM, "out of memory");
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    for (size_t i = 0; i < p.n_anchors; i++)
        free(p.anchors[i].name);
    free(p.anchors);
    free(p.stack);
    if (rc)
        return NULL;
    struct ynode *root = p.root;
    if (!root || ynode_is_null(root)) {
        root = node_new(doc, YNODE_MAP, file, root ? root->line : line0, root ? root->col : col0);
        if (!root)
            sim_err_set(err, SIM_ENOMEM, "out of memory");
    }
    return root;
}

struct ydoc *ydoc_load_string(const char *name, const char *text, size_t len, struct sim_err *err)
{
    struct ydoc *doc = doc_new(name);
    if (!doc) {
        sim_err_set(err, SIM_ENOMEM, "out of memory");
        return NULL;
    }
    doc->root = parse_into(doc, doc->path, text, len, 1, 1, err);
    if (!doc->root) {
        ydoc_free(doc);
        return NULL;
    }
    return doc;
}

struct ydoc *ydoc_load_file(const char *path, struct sim_err *err)
{
    char *text;
    size_t len;
    if (ynode_read_file(path, &text, &len, err))
        return NULL;
    struct ydoc *doc = ydoc_load_string(path, text, len, err);
    free(text);
    return doc;
}

struct ynode *ydoc_include_file(struct ydoc *doc, const char *path, struct sim_err *err)
{
    char *text;
    size_t len;
    if (ynode_read_file(path, &text, &len, err))
        return NULL;
    const char *file = doc_add_file(doc, path);
    struct ynode *root = NULL;
    if (!file)
        sim_err_set(err, SIM_ENOMEM, "out of memory");
    else
        root = parse_into(doc, file, text, len, 1, 1, err);
    free(text);
    return root;
}

/* ---- lookup ------------------------------------------------------------------------ */

static long map_index(const struct ynode *map, const char *key)
{
    if (!map || map->kind != YNODE_MAP)
        return -1;
    for (size_t i = 0; i < map->n; i++)
        if (!strcmp(map->keys[i]->value, key))
            return (long)i;
    return -1;
}

const struct ynode *ynode_get(const struct ynode *map, const char *key)
{
    long i = map_index(map, key);
    return i < 0 ? NULL : map->items[i];
}

const struct ynode *ynode_key(const struct ynode *map, const char *key)
{
    long i = map_index(map, key);
    return i < 0 ? NULL : map->keys[i];
}

bool ynode_is_null(const struct ynode *n)
{
    if (!n || n->kind != YNODE_SCALAR || n->quoted)
        return false;
    const char *v = n->value;
    return !v[0] || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
           !strcmp(v, "NULL");
}

const char *ynode_kind_name(const struct ynode *n)
{
    if (!n)
        return "nothing";
    switch (n->kind) {
    case YNODE_MAP:
        return "a map";
    case YNODE_SEQ:
        return "a sequence";
    case YNODE_SCALAR:
        break;
    }
    return ynode_is_null(n) ? "null" : "a scalar";
}

/* ---- --set ------------------------------------------------------------------------- */

static int set_err(struct sim_err *err, int code, const char *assignment, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int set_err(struct sim_err *err, int code, const char *assignment, const char *fmt, ...)
{
    char detail[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    char sb[2 * YNODE_SHOW_MAX];
    size_t len = strlen(assignment);
    const char *a = assignment;
    if (len > sizeof sb - 4) {
        snprintf(sb, sizeof sb, "%.*s...", (int)(sizeof sb - 4), assignment);
        a = sb;
    }
    return sim_err_at(err, code, set_file, 0, 0, "invalid --set '%s': %s", a, detail);
}

/* Parse an index segment: digits only, no sign, no leading zeros beyond "0". */
static bool parse_index(const char *s, size_t len, size_t *out)
{
    if (!len || len > 9 || (s[0] == '0' && len > 1))
        return false;
    size_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* The value node of an assignment: a flow collection or quoted scalar goes through
 * libyaml; anything else is the plain text itself (so '#' or ': ' stay literal). */
static struct ynode *set_value(struct ydoc *doc, const char *assignment, const char *text, long col,
                               struct sim_err *err)
{
    if (text[0] == '[' || text[0] == '{' || text[0] == '"' || text[0] == '\'') {
        struct sim_err perr_ = {0};
        struct ynode *n = parse_into(doc, set_file, text, strlen(text), 1, col, &perr_);
        if (!n) {
            if (perr_.code == SIM_ENOMEM)
                return sim_err_set(err, SIM_ENOMEM, "out of memory"), NULL;
            /* libyaml's "... started at line 1" says nothing on a one-line value, and
             * its end-of-input mark sits on a virtual line 2. */
            long line = 0, at = 0;
            const char *pos = perr_.where + strlen(set_file);
            if (sscanf(pos, ":%ld:%ld", &line, &at) != 2)
                line = 0;
            char *detail = perr_.msg;
            if (!strncmp(detail, "invalid YAML: ", 14))
                detail += 14;
            char *started = strstr(detail, " started at line ");
            if (started)
                strcpy(started, ")");
            if (line == 1)
                set_err(err, SIM_EINVAL, assignment, "invalid YAML at column %ld: %s", at, detail);
            else
                set_err(err, SIM_EINVAL, assignment, "invalid YAML at the end of the value: %s",
                        detail);
            return NULL;
        }
        return n;
    }
    struct ynode *n = node_new(doc, YNODE_SCALAR, set_file, 1, col);
    if (!n || !(n->value = strdup(text))) {
        sim_err_set(err, SIM_ENOMEM, "out of memory");
        return NULL;
    }
    return n;
}

/* A node created on the way is a sequence when the next segment is index 0
 * ("steps.0.at=1m" on a scenario with no steps), else a map. */
static enum ynode_kind new_kind(const char *next, const char *eq)
{
    const char *end = next;
    while (end < eq && *end != '.')
        end++;
    size_t idx;
    return parse_index(next, (size_t)(end - next), &idx) && idx == 0 ? YNODE_SEQ : YNODE_MAP;
}

/* `seg` (up to '.' or `eq`) is the plain segment `file`. */
static bool seg_is_file(const char *seg, const char *eq)
{
    return (size_t)(eq - seg) >= 4 && !strncmp(seg, "file", 4) && (seg + 4 == eq || seg[4] == '.');
}

/* The item of sequence `seq` that is a map whose `name` is the scalar `key` (len bytes),
 * as Kubernetes lists of named objects are addressed ("deployments.chat"); -1 when none.
 * Two items with the same name (which the scenario refuses anyway) give the first. */
static long named_item(const struct ynode *seq, const char *key, size_t len)
{
    for (size_t i = 0; i < seq->n; i++) {
        const struct ynode *nm = NULL, *it = seq->items[i];
        for (size_t k = 0; it->kind == YNODE_MAP && k < it->n && !nm; k++)
            if (!strcmp(it->keys[k]->value, "name"))
                nm = it->items[k];
        if (nm && nm->kind == YNODE_SCALAR && strlen(nm->value) == len &&
            !memcmp(nm->value, key, len))
            return (long)i;
    }
    return -1;
}

/* "'deployments' is a sequence: 'chta' is neither an index nor the name of an item (names:
 * chat, code; did you mean 'chat'?)" */
static int seq_miss(struct sim_err *err, const char *assignment, const char *done,
                    const struct ynode *seq, const char *key, size_t len)
{
    const char *names[65];
    char list[512] = "", word[128];
    size_t n = 0;
    for (size_t i = 0; i < seq->n && n < 64; i++) {
        const struct ynode *it = seq->items[i];
        for (size_t k = 0; it->kind == YNODE_MAP && k < it->n; k++)
            if (!strcmp(it->keys[k]->value, "name") && it->items[k]->kind == YNODE_SCALAR) {
                names[n++] = it->items[k]->value;
                break;
            }
    }
    names[n] = NULL;
    if (n == 0)
        return set_err(err, SIM_EINVAL, assignment, "'%s' is a sequence: '%.*s' is not an index",
                       done, (int)len, key);
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
    }
    snprintf(word, sizeof word, "%.*s", (int)len, key);
    const char *dym = did_you_mean(word, names);
    return set_err(err, SIM_EINVAL, assignment,
                   "'%s' is a sequence: '%.*s' is neither an index nor the name of an item "
                   "(names: %s)%s%s%s",
                   done, (int)len, key, list, dym ? "; did you mean '" : "", dym ? dym : "",
                   dym ? "'?" : "");
}

/* A `{file: scalar}` include map. */
static bool is_include(const struct ynode *n)
{
    return n->kind == YNODE_MAP && n->n == 1 && !strcmp(n->keys[0]->value, "file") &&
           n->items[0]->kind == YNODE_SCALAR;
}

int ydoc_set(struct ydoc *doc, const char *assignment, struct sim_err *err)
{
    return ydoc_set_with(doc, assignment, NULL, NULL, err);
}

int ydoc_set_with(struct ydoc *doc, const char *assignment, ydoc_include_fn *include, void *ctx,
                  struct sim_err *err)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return set_err(err, SIM_EINVAL, assignment, "expected dotted.path=value");
    struct ynode *cur = doc->root;
    if (!cur || cur->kind != YNODE_MAP)
        return set_err(err, SIM_EINVAL, assignment, "the document is not a map");
    char done[256] = ""; /* the path walked so far, for messages */
    const char *seg = assignment;
    for (;;) {
        const char *end = seg;
        const char *key = seg; /* the segment's text: without quotes when quoted */
        size_t len;
        if (*seg == '"') {
            /* A quoted segment may hold dots: limits."nvidia.com/gpu" */
            const char *q = memchr(seg + 1, '"', (size_t)(eq - seg - 1));
            if (!q)
                return set_err(err, SIM_EINVAL, assignment, "unterminated quoted path segment");
            key = seg + 1;
            len = (size_t)(q - key);
            end = q + 1;
            if (end != eq && *end != '.')
                return set_err(err, SIM_EINVAL, assignment,
                               "expected '.' or '=' after a quoted path segment");
        } else {
            while (end < eq && *end != '.')
                end++;
            len = (size_t)(end - seg);
        }
        bool last = end == eq;
        long seg_col = (long)(seg - assignment) + 1;
        if (!len)
            return set_err(err, SIM_EINVAL, assignment, "empty path segment");
        if (cur->kind == YNODE_SCALAR) {
            if (!ynode_is_null(cur))
                return set_err(err, SIM_EINVAL, assignment, "'%s' is a scalar, not a map", done);
            /* A null section ("rate_profile:" with nothing under it) becomes a map. */
            free(cur->value);
            cur->value = NULL;
            cur->kind = YNODE_MAP;
            cur->quoted = false;
        }
        struct ynode **slot = NULL;
        if (cur->kind == YNODE_MAP) {
            for (size_t i = 0; i < cur->n; i++)
                if (strlen(cur->keys[i]->value) == len && !memcmp(cur->keys[i]->value, key, len))
                    slot = &cur->items[i];
            if (!slot) {
                struct ynode *k = node_new(doc, YNODE_SCALAR, set_file, 1, seg_col);
                struct ynode *v = node_new(doc, last ? YNODE_SCALAR : new_kind(end + 1, eq),
                                           set_file, 1, seg_col);
                if (!k || !v || !(k->value = strndup(key, len)) ||
                    (last && !(v->value = strdup(""))) || node_append(cur, k, v, NULL))
                    return sim_err_set(err, SIM_ENOMEM, "out of memory");
                slot = &cur->items[cur->n - 1];
            }
        } else {
            size_t idx;
            if (key != seg || !parse_index(seg, len, &idx)) {
                long named = named_item(cur, key, len);
                if (named < 0)
                    return seq_miss(err, assignment, done, cur, key, len);
                idx = (size_t)named;
            }
            if (idx > cur->n)
                return set_err(err, SIM_EINVAL, assignment,
                               "index %zu is past the end of '%s' (%zu items)", idx, done, cur->n);
            if (idx == cur->n) {
                struct ynode *v = node_new(doc, last ? YNODE_SCALAR : new_kind(end + 1, eq),
                                           set_file, 1, seg_col);
                if (!v || (last && !(v->value = strdup(""))) || node_append(cur, NULL, v, NULL))
                    return sim_err_set(err, SIM_ENOMEM, "out of memory");
            }
            slot = &cur->items[idx];
        }
        size_t used = strlen(done);
        snprintf(done + used, sizeof done - used, "%s%.*s", used ? "." : "", (int)len, key);
        if (last) {
            struct ynode *v = set_value(doc, assignment, eq + 1, (long)(eq - assignment) + 2, err);
            if (!v)
                return err ? err->code : SIM_EINVAL;
            *slot = v;
            return SIM_OK;
        }
        cur = *slot;
        seg = end + 1;
        if (include && is_include(cur) && !seg_is_file(seg, eq)) {
            struct ynode *root = NULL;
            int rc = include(ctx, done, cur->items[0], &root, err);
            if (rc)
                return rc;
            if (root)
                *slot = cur = root;
        }
    }
}

/* ---- did you mean ------------------------------------------------------------------ */

static size_t levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[65];
    if (lb > 64 || la > 64)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

void ynode_join_key(char *out, size_t n, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), used = 0;
    if (la) {
        size_t k = la < n - 1 ? la : n - 1;
        memcpy(out, a, k);
        used = k;
        if (used < n - 1)
            out[used++] = '.';
    }
    size_t k = lb < n - 1 - used ? lb : n - 1 - used;
    memcpy(out + used, b, k);
    out[used + k] = '\0';
}

const char *did_you_mean(const char *word, const char *const *candidates)
{
    size_t len = strlen(word);
    size_t limit = len / 3 > 2 ? len / 3 : 2;
    if (limit >= len)
        limit = len ? len - 1 : 0;
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; candidates[i]; i++) {
        size_t d = levenshtein(word, candidates[i]);
        if (d <= limit && d < best_d) {
            best = candidates[i];
            best_d = d;
        }
    }
    return best;
}

/* ---- typed readers ------------------------------------------------------------------ */

/* "expected a map for 'engine', found a sequence" */
static int kind_err(const struct ynode *n, const char *what, const char *key, struct sim_err *err)
{
    if (key[0])
        return ynode_fail_at(err, SIM_EINVAL, n, "expected %s for '%s', found %s", what, key,
                        ynode_kind_name(n));
    return ynode_fail_at(err, SIM_EINVAL, n, "expected %s at the top level, found %s", what,
                    ynode_kind_name(n));
}

/* The scalar's text for "got '...'": quoted scalars say so, since their quotes are what
 * make them wrong for a number or a bool. */
static const char *got_text(const struct ynode *n, char *buf, size_t size)
{
    char sb[YNODE_SHOW_MAX + 8];
    snprintf(buf, size, "%s'%s'", n->quoted ? "a quoted string " : "",
             show(n->value, sb, sizeof sb));
    return buf;
}

static void join_names(const char *const *names, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; names[i] && used < n; i++) {
        int w = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", names[i]);
        if (w < 0)
            return;
        used += (size_t)w;
    }
}

int ynode_check_keys(const struct ynode *map, const char *ctx, const char *const *allowed,
                     struct sim_err *err)
{
    if (!map || map->kind != YNODE_MAP)
        return kind_err(map, "a map", ctx, err);
    char sb[YNODE_SHOW_MAX + 8];
    size_t first = 0;
    long dup = first_duplicate(map, &first);
    if (dup == -2)
        return sim_err_set(err, SIM_ENOMEM, "out of memory");
    if (dup >= 0) {
        const struct ynode *k = map->keys[dup];
        if (ctx[0])
            return ynode_fail_at(err, SIM_EINVAL, k, "duplicate key '%s' in '%s' (first at line %ld)",
                            show(k->value, sb, sizeof sb), ctx, map->keys[first]->line);
        return ynode_fail_at(err, SIM_EINVAL, k,
                        "duplicate key '%s' at the top level (first at line %ld)",
                        show(k->value, sb, sizeof sb), map->keys[first]->line);
    }
    for (size_t i = 0; i < map->n; i++) {
        const struct ynode *k = map->keys[i];
        bool ok = false;
        for (size_t j = 0; allowed[j] && !ok; j++)
            ok = !strcmp(allowed[j], k->value);
        if (ok)
            continue;
        char where[300], hint[400];
        if (ctx[0])
            snprintf(where, sizeof where, "in '%s'", ctx);
        else
            snprintf(where, sizeof where, "at the top level");
        const char *guess = did_you_mean(k->value, allowed);
        if (guess) {
            snprintf(hint, sizeof hint, "did you mean '%s'?", guess);
        } else {
            char list[360];
            join_names(allowed, list, sizeof list);
            snprintf(hint, sizeof hint, "known keys: %s", list);
        }
        return ynode_fail_at(err, SIM_EINVAL, k, "unknown key '%s' %s (%s)",
                        show(k->value, sb, sizeof sb), where, hint);
    }
    return SIM_OK;
}

int ynode_as_string(const struct ynode *n, const char *key, const char **out, struct sim_err *err)
{
    if (!n || n->kind != YNODE_SCALAR || ynode_is_null(n))
        return kind_err(n, "a string", key, err);
    *out = n->value;
    return SIM_OK;
}

int ynode_as_bool(const struct ynode *n, const char *key, bool *out, struct sim_err *err)
{
    if (!n || n->kind != YNODE_SCALAR || ynode_is_null(n))
        return kind_err(n, "true or false", key, err);
    const char *v = n->value;
    if (!n->quoted && (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))) {
        *out = true;
        return SIM_OK;
    }
    if (!n->quoted && (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))) {
        *out = false;
        return SIM_OK;
    }
    char gb[YNODE_SHOW_MAX + 32];
    return ynode_fail_at(err, SIM_EINVAL, n, "'%s' must be true or false, got %s", key,
                    got_text(n, gb, sizeof gb));
}

/* [-+]?[0-9]+ */
static bool is_int_text(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* [-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)? : no inf, nan, hex or spaces. */
static bool is_number_text(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    size_t digits = 0;
    while (*s >= '0' && *s <= '9')
        s++, digits++;
    if (*s == '.') {
        s++;
        while (*s >= '0' && *s <= '9')
            s++, digits++;
    }
    if (!digits)
        return false;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

static void unit_text(const char *unit, char *buf, size_t n)
{
    if (unit && unit[0])
        snprintf(buf, n, " (%s)", unit);
    else
        buf[0] = '\0';
}

int ynode_as_int64_unit(const struct ynode *n, const char *key, int64_t min, int64_t max,
                        const char *unit, int64_t *out, struct sim_err *err)
{
    if (!n || n->kind != YNODE_SCALAR || ynode_is_null(n))
        return kind_err(n, "an integer", key, err);
    char gb[YNODE_SHOW_MAX + 32], ub[64];
    unit_text(unit, ub, sizeof ub);
    if (n->float_tag) /* YAML says it is a float, whatever its digits */
        return ynode_fail_at(err, SIM_EINVAL, n, "'%s' must be an integer%s, got '!!float %s'", key,
                        ub, show(n->value, gb, sizeof gb));
    if (n->quoted || !is_int_text(n->value))
        return ynode_fail_at(err, SIM_EINVAL, n, "'%s' must be an integer%s, got %s", key, ub,
                        got_text(n, gb, sizeof gb));
    errno = 0;
    long long v = strtoll(n->value, NULL, 10);
    bool over = errno == ERANGE;
    bool low = (over && v < 0) || (!over && v < min);
    bool high = (over && v > 0) || (!over && v > max);
    if (!low && !high) {
        *out = v;
        return SIM_OK;
    }
    bool open_top = max >= INT32_MAX;
    if (low && open_top)
        return ynode_fail_at(err, SIM_EINVAL, n, "'%s' must be >= %" PRId64 "%s, got '%s'", key, min, ub,
                        n->value);
    if (high && open_top)
        return ynode_fail_at(err, SIM_EINVAL, n, "'%s' must be <= %" PRId64 "%s, got '%s'", key, max, ub,
                        n->value);
    return ynode_fail_at(err, SIM_EINVAL, n, "'%s' must be in [%" PRId64 ", %" PRId64 "]%s, got '%s'",
                    key, min, max, ub, n->value);
}

int ynode_as_int64(const struct ynode *n, const char *key, int64_t min, int64_t max, int64_t *out,
                   struct sim_err *err)
{
    return ynode_as_int64_unit(n, key, min, max, NULL, out, err);
}

/* "> 0", ">= 1", "in [0, 1)", or "" when unbounded. */
static void range_text(const struct ynode_range *r, char *buf, size_t n)
{
    bool lo = isfinite(r->min), hi = isfinite(r->max);
    if (lo && hi)
        snprintf(buf, n, "in %c%.15g, %.15g%c", r->min_open ? '(' : '[', r->min, r->max,
                 r->max_open ? ')' : ']');
    else if (lo)
        snprintf(buf, n, "%s %.15g", r->min_open ? ">" : ">=", r->min);
    else if (hi)
        snprintf(buf, n, "%s %.15g", r->max_open ? "<" : "<=", r->max);
    else
        buf[0] = '\0';
}

static bool in_range(double v, const struct ynode_range *r)
{
    if (r->min_open ? !(v > r->min) : !(v >= r->min))
        return false;
    if (r->max_open ? !(v < r->max) : !(v <= r->max))
        return false;
    return true;
}

int ynode_as_number(const struct ynode *n, const char *key, const struct ynode_range *r,
                    double *out, struct sim_err *err)
{
    if (!n || n->kind != YNODE_SCALAR || ynode_is_null(n))
        return kind_err(n, "a number", key, err);
    char gb[YNODE_SHOW_MAX + 32], ub[64], rb[96];
    unit_text(r->unit, ub, sizeof ub);
    double v = 0.0;
    if (!n->quoted && is_number_text(n->value))
        v = strtod(n->value, NULL);
    if (n->quoted || !is_number_text(n->value) || !isfinite(v))
        return ynode_fail_at(err, SIM_EINVAL, n, "'%s' must be a number%s, got %s", key, ub,
                        got_text(n, gb, sizeof gb));
    if (!in_range(v, r)) {
        range_text(r, rb, sizeof rb);
        return ynode_fail_at(err, SIM_EINVAL, n, "'%s' must be %s%s, got '%s'", key, rb, ub, n->value);
    }
    *out = v;
    return SIM_OK;
}

int ynode_as_double(const struct ynode *n, const char *key, double min, double max, double *out,
                    struct sim_err *err)
{
    struct ynode_range r = {min, max, false, false, NULL};
    return ynode_as_number(n, key, &r, out, err);
}

int ynode_as_frac(const struct ynode *n, const char *key, double min, double max, double *out,
                  struct sim_err *err)
{
    if (!n || n->kind != YNODE_SCALAR || ynode_is_null(n))
        return kind_err(n, "a fraction", key, err);
    char gb[YNODE_SHOW_MAX + 32], num[64], rb[96];
    const char *v = n->value;
    size_t len = strlen(v);
    bool pct = len > 1 && v[len - 1] == '%';
    bool ok = len < sizeof num && (pct || !n->quoted);
    double x = 0.0;
    if (ok) {
        memcpy(num, v, len - pct);
        num[len - pct] = '\0';
        ok = is_number_text(num);
        if (ok) {
            x = strtod(num, NULL) / (pct ? 100.0 : 1.0);
            ok = isfinite(x);
        }
    }
    if (!ok)
        return ynode_fail_at(err, SIM_EINVAL, n,
                        "'%s' must be a fraction (0.001) or a percentage (0.1%%), got %s", key,
                        got_text(n, gb, sizeof gb));
    struct ynode_range r = {min, max, false, false, NULL};
    if (!in_range(x, &r)) {
        range_text(&r, rb, sizeof rb);
        return ynode_fail_at(err, SIM_EINVAL, n, "'%s' must be %s, got '%s'", key, rb, v);
    }
    *out = x;
    return SIM_OK;
}

int ynode_as_enum(const struct ynode *n, const char *key, const char *const *names, int *out,
                  struct sim_err *err)
{
    char list[400];
    join_names(names, list, sizeof list);
    if (!n || n->kind != YNODE_SCALAR || ynode_is_null(n)) {
        char what[420];
        snprintf(what, sizeof what, "one of %s", list);
        return kind_err(n, what, key, err);
    }
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], n->value)) {
            *out = i;
            return SIM_OK;
        }
    char sb[YNODE_SHOW_MAX + 8];
    const char *guess = did_you_mean(n->value, names);
    if (guess)
        return ynode_fail_at(err, SIM_EINVAL, n, "'%s' must be one of %s, got '%s' (did you mean '%s'?)",
                        key, list, show(n->value, sb, sizeof sb), guess);
    return ynode_fail_at(err, SIM_EINVAL, n, "'%s' must be one of %s, got '%s'", key, list,
                    show(n->value, sb, sizeof sb));
}

/* ---- durations --------------------------------------------------------------------- */

struct dur_unit {
    const char *name;
    int64_t us;
};

/* Largest first: the order combined forms must follow. */
static const struct dur_unit dur_units[] = {
    {"d", 86400000000}, {"h", 3600000000}, {"m", 60000000}, {"s", 1000000}, {"ms", 1000}, {"us", 1},
};
#define N_DUR_UNITS (sizeof dur_units / sizeof dur_units[0])

/* parse_duration_us(), telling a well-formed duration too long for int64 microseconds
 * (*too_long set, SIM_EINVAL) from text that is not a duration. */
static int parse_duration_checked(const char *text, int64_t *out, bool *too_long)
{
    *too_long = false;
    const char *s = text;
    bool neg = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    if (!strcmp(s, "0")) {
        *out = 0;
        return SIM_OK;
    }
    if (!*s)
        return SIM_EINVAL;
    double total = 0.0;
    size_t next_unit = 0; /* units must come largest first, each once */
    while (*s) {
        const char *num = s;
        size_t digits = 0;
        while (*s >= '0' && *s <= '9')
            s++, digits++;
        if (*s == '.') {
            s++;
            while (*s >= '0' && *s <= '9')
                s++, digits++;
        }
        if (!digits || (size_t)(s - num) >= 32)
            return SIM_EINVAL;
        char nb[32];
        memcpy(nb, num, (size_t)(s - num));
        nb[s - num] = '\0';
        size_t u = N_DUR_UNITS;
        for (size_t i = 0; i < N_DUR_UNITS; i++) {
            size_t ul = strlen(dur_units[i].name);
            /* "m" must not swallow the "m" of "ms" */
            if (!strncmp(s, dur_units[i].name, ul) && !(s[ul] >= 'a' && s[ul] <= 'z')) {
                u = i;
                s += ul;
                break;
            }
        }
        if (u == N_DUR_UNITS || u < next_unit)
            return SIM_EINVAL;
        next_unit = u + 1;
        total += strtod(nb, NULL) * (double)dur_units[u].us;
    }
    if (!(total < 9.2e18)) {
        *too_long = true;
        return SIM_EINVAL;
    }
    int64_t v = (int64_t)llround(total);
    *out = neg ? -v : v;
    return SIM_OK;
}

int parse_duration_us(const char *text, int64_t *out)
{
    bool too_long;
    return parse_duration_checked(text, out, &too_long);
}

char *format_duration_us(int64_t us, char *buf, size_t n)
{
    if (us == 0) {
        snprintf(buf, n, "0s");
        return buf;
    }
    size_t used = 0;
    uint64_t v = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
    if (us < 0 && n > 1)
        buf[used++] = '-';
    buf[used] = '\0';
    /* days read less well than hours in messages ("48h"), so start at hours */
    for (size_t i = 1; i < N_DUR_UNITS && v; i++) {
        uint64_t q = v / (uint64_t)dur_units[i].us;
        if (!q)
            continue;
        int w =
            snprintf(buf + used, used < n ? n - used : 0, "%" PRIu64 "%s", q, dur_units[i].name);
        if (w < 0 || (size_t)w >= n - used)
            break;
        used += (size_t)w;
        v -= q * (uint64_t)dur_units[i].us;
    }
    return buf;
}

int ynode_as_duration_us(const struct ynode *n, const char *key, int64_t min_us, int64_t max_us,
                         int64_t bare_unit_us, int64_t *out, struct sim_err *err)
{
    if (!n || n->kind != YNODE_SCALAR || ynode_is_null(n))
        return kind_err(n, "a duration", key, err);
    char gb[YNODE_SHOW_MAX + 32];
    int64_t v = 0;
    int rc = SIM_EINVAL;
    bool too_long = false;
    if (bare_unit_us > 0 && is_number_text(n->value)) {
        double x = strtod(n->value, NULL) * (double)bare_unit_us;
        if (!n->quoted && fabs(x) < 9.2e18) {
            v = (int64_t)llround(x);
            rc = SIM_OK;
        } else if (!n->quoted) {
            too_long = true;
        }
    } else {
        rc = parse_duration_checked(n->value, &v, &too_long);
    }
    if (too_long && n->value[0] == '-' && min_us > INT64_MIN) {
        /* Far below any minimum: the range message below says which, not "at most". */
        v = INT64_MIN;
        rc = SIM_OK;
        too_long = false;
    }
    if (max_us >= SIM_CLOCK_MAX_US)
        max_us = SIM_CLOCK_MAX_US; /* every duration fits the simulated clock */
    if (too_long || (rc == SIM_OK && v > max_us && max_us == SIM_CLOCK_MAX_US))
        return ynode_fail_at(err, SIM_EINVAL, n,
                        "'%s' must be at most " SIM_CLOCK_MAX_TEXT
                        " (the simulated clock's range), got %s",
                        key, got_text(n, gb, sizeof gb));
    if (rc) {
        if (bare_unit_us == 1000000)
            return ynode_fail_at(err, SIM_EINVAL, n,
                            "'%s' must be a number of seconds or a duration with a unit "
                            "(250ms, 30s, 5m, 2h), got %s",
                            key, got_text(n, gb, sizeof gb));
        if (bare_unit_us > 0)
            return ynode_fail_at(err, SIM_EINVAL, n,
                            "'%s' must be a number (x %" PRId64 "us) or a duration with a unit "
                            "(250ms, 30s, 5m, 2h), got %s",
                            key, bare_unit_us, got_text(n, gb, sizeof gb));
        return ynode_fail_at(err, SIM_EINVAL, n,
                        "'%s' must be a duration with a unit (250ms, 30s, 5m, 2h), got %s", key,
                        got_text(n, gb, sizeof gb));
    }
    if (v >= min_us && v <= max_us) {
        *out = v;
        return SIM_OK;
    }
    char lo[64], hi[64];
    format_duration_us(min_us, lo, sizeof lo);
    format_duration_us(max_us, hi, sizeof hi);
    if (max_us == SIM_CLOCK_MAX_US) {
        if (min_us == 1)
            return ynode_fail_at(err, SIM_EINVAL, n, "'%s' must be > 0, got '%s'", key, n->value);
        return ynode_fail_at(err, SIM_EINVAL, n, "'%s' must be >= %s, got '%s'", key, lo, n->value);
    }
    return ynode_fail_at(err, SIM_EINVAL, n, "'%s' must be in [%s, %s], got '%s'", key, lo, hi,
                    n->value);
}
