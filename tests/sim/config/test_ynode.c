/* ynode: YAML into a positioned tree, --set, did-you-mean and the typed readers. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sim/config/ynode.h"

static struct ydoc *load(const char *text)
{
    struct sim_err e = {0};
    struct ydoc *d = ydoc_load_string("t.yaml", text, strlen(text), &e);
    cr_assert_not_null(d, "%s: %s", e.where, e.msg);
    return d;
}

static void load_fails(const char *text, const char *where, const char *msg)
{
    struct sim_err e = {0};
    struct ydoc *d = ydoc_load_string("t.yaml", text, strlen(text), &e);
    cr_assert_null(d);
    cr_assert_eq(e.code, SIM_EINVAL);
    cr_assert_str_eq(e.where, where);
    cr_assert_str_eq(e.msg, msg);
}

/* A one-key document `k: TEXT`, read back as its value node. */
static struct ydoc *one(const char *value_text, const struct ynode **value)
{
    char buf[256];
    snprintf(buf, sizeof buf, "k: %s\n", value_text);
    struct ydoc *d = load(buf);
    *value = ynode_get(ydoc_root(d), "k");
    cr_assert_not_null(*value);
    return d;
}

/* ---- parsing --------------------------------------------------------------------- */

Test(ynode, positions_are_one_based_line_and_column)
{
    struct ydoc *d = load("a: 1\nb:\n  c: [x, 'y']\n  d: {e: \"z\"}\n");
    const struct ynode *r = ydoc_root(d);
    cr_assert_eq(r->kind, YNODE_MAP);
    cr_assert_eq(r->n, 2);
    const struct ynode *b = ynode_get(r, "b");
    const struct ynode *c = ynode_get(b, "c");
    cr_assert_eq(c->kind, YNODE_SEQ);
    cr_assert_eq(c->line, 3);
    cr_assert_eq(c->col, 6);
    cr_assert_eq(c->items[1]->line, 3);
    cr_assert_eq(c->items[1]->col, 10); /* the quote */
    cr_assert(c->items[1]->quoted);
    cr_assert_not(c->items[0]->quoted);
    const struct ynode *k = ynode_key(b, "d");
    cr_assert_eq(k->line, 4);
    cr_assert_eq(k->col, 3);
    cr_assert_str_eq(ynode_get(ynode_get(b, "d"), "e")->value, "z");
    cr_assert_str_eq(ydoc_path(d), "t.yaml");
    cr_assert_str_eq(c->file, "t.yaml");
    ydoc_free(d);
}

Test(ynode, empty_text_and_null_document_are_empty_maps)
{
    struct ydoc *d = load("");
    cr_assert_eq(ydoc_root(d)->kind, YNODE_MAP);
    cr_assert_eq(ydoc_root(d)->n, 0);
    ydoc_free(d);
    d = load("# only a comment\n---\n");
    cr_assert_eq(ydoc_root(d)->kind, YNODE_MAP);
    cr_assert_eq(ydoc_root(d)->n, 0);
    ydoc_free(d);
}

Test(ynode, null_and_quoted_scalars)
{
    struct ydoc *d = load("a:\nb: ~\nc: null\nd: ''\ne: 'null'\nf: !!str 5\ng: |\n  text\n");
    const struct ynode *r = ydoc_root(d);
    cr_assert(ynode_is_null(ynode_get(r, "a")));
    cr_assert(ynode_is_null(ynode_get(r, "b")));
    cr_assert(ynode_is_null(ynode_get(r, "c")));
    cr_assert_not(ynode_is_null(ynode_get(r, "d")));
    cr_assert_not(ynode_is_null(ynode_get(r, "e")));
    cr_assert(ynode_get(r, "f")->quoted);
    cr_assert(ynode_get(r, "g")->quoted); /* block scalars are strings */
    cr_assert_str_eq(ynode_get(r, "g")->value, "text\n");
    cr_assert_str_eq(ynode_kind_name(ynode_get(r, "a")), "null");
    cr_assert_str_eq(ynode_kind_name(ynode_get(r, "d")), "a scalar");
    ydoc_free(d);
}

Test(ynode, aliases_expand_to_independent_copies)
{
    struct ydoc *d = load("base: &b {x: 1, y: [2, 3]}\nother: *b\n");
    const struct ynode *o = ynode_get(ydoc_root(d), "other");
    cr_assert_eq(o->kind, YNODE_MAP);
    cr_assert_str_eq(ynode_get(o, "x")->value, "1");
    cr_assert_str_eq(ynode_get(o, "y")->items[1]->value, "3");
    struct sim_err e = {0};
    cr_assert_eq(ydoc_set(d, "other.x=5", &e), SIM_OK);
    cr_assert_str_eq(ynode_get(ynode_get(ydoc_root(d), "base"), "x")->value, "1");
    cr_assert_str_eq(ynode_get(ynode_get(ydoc_root(d), "other"), "x")->value, "5");
    ydoc_free(d);
}

Test(ynode, rejects_merge_keys)
{
    load_fails("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n", "t.yaml:3:3",
               "merge keys ('<<') are not supported: write the keys out");
}

Test(ynode, rejects_a_second_document)
{
    load_fails("a: 1\n---\nb: 2\n", "t.yaml:2:1", "only one YAML document is allowed per file");
}

Test(ynode, rejects_duplicate_keys_at_the_second_key)
{
    load_fails("workload:\n  arrivals:\n    rate_per_s: 1\n    process: poisson\n"
               "    rate_per_s: 2\n",
               "t.yaml:5:5", "duplicate key 'rate_per_s' in 'workload.arrivals' (first at line 3)");
    load_fails("seed: 1\nname: x\nseed: 2\n", "t.yaml:3:1",
               "duplicate key 'seed' at the top level (first at line 1)");
    load_fails("steps:\n- {at: 1s, at: 2s}\n", "t.yaml:2:12",
               "duplicate key 'at' in 'steps.0' (first at line 2)");
}

Test(ynode, syntax_error_has_position_and_libyaml_problem)
{
    load_fails("a: 1\nb: [1, 2\nc: 3\n", "t.yaml:3:2",
               "invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence "
               "started at line 2)");
    load_fails("a: b: c\n", "t.yaml:1:5",
               "invalid YAML: mapping values are not allowed in this context");
}

Test(ynode, rejects_unknown_and_recursive_aliases)
{
    load_fails("a: *nope\n", "t.yaml:1:4", "unknown alias '*nope'");
    load_fails("a: &x [1, *x]\n", "t.yaml:1:11", "alias '*x' refers to a node that contains it");
}

Test(ynode, rejects_alias_bombs)
{
    /* 10 levels of 10 aliases each = 10^10 nodes if expanded */
    char text[2048] = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i <= 9; i++) {
        char line[128];
        snprintf(line, sizeof line,
                 "l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, "
                 "*l%d, *l%d, *l%d]\n",
                 i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
        strcat(text, line);
    }
    struct sim_err e = {0};
    cr_assert_null(ydoc_load_string("t.yaml", text, strlen(text), &e));
    cr_assert_str_eq(e.msg, "aliases expand to more than 100000 nodes");
}

Test(ynode, rejects_unsupported_tags_and_complex_keys)
{
    load_fails("a: !!binary aGVsbG8=\n", "t.yaml:1:4",
               "unsupported YAML tag 'tag:yaml.org,2002:binary'");
    load_fails("? [a, b]\n: 1\n", "t.yaml:1:3", "map keys must be scalars");
}

Test(ynode, rejects_nul_bytes_deep_nesting_and_bad_utf8)
{
    load_fails("a: \"x\\0y\"\n", "t.yaml:1:4", "a scalar contains a NUL character");
    load_fails("a: !!set {x: ~}\n", "t.yaml:1:4", "unsupported YAML tag 'tag:yaml.org,2002:set'");
    char deep[1100];
    memset(deep, '[', 1001);
    deep[1001] = '\0';
    load_fails(deep, "t.yaml:1:1001", "nesting deeper than 1000 levels");
    load_fails("a: 1\nb: \xff\n", "t.yaml:2:4", "invalid YAML: invalid leading UTF-8 octet");
}

Test(ynode, missing_file_is_enoent_with_the_path)
{
    struct sim_err e = {0};
    cr_assert_null(ydoc_load_file(FIXTURES "/scenarios/no_such_file.yaml", &e));
    cr_assert_eq(e.code, SIM_ENOENT);
    cr_assert_str_eq(e.where, FIXTURES "/scenarios/no_such_file.yaml");
    cr_assert_str_eq(e.msg, "cannot open '" FIXTURES
                            "/scenarios/no_such_file.yaml': no such file or directory");
}

Test(ynode, a_folder_is_not_a_readable_file)
{
    struct sim_err e = {0};
    cr_assert_null(ydoc_load_file(FIXTURES "/scenarios", &e));
    cr_assert_eq(e.code, SIM_EINVAL);
    cr_assert_str_eq(e.msg, "cannot read '" FIXTURES "/scenarios': is a directory");
}

Test(ynode, include_file_adds_nodes_with_their_own_file_name)
{
    struct ydoc *d = load("a: 1\n");
    struct sim_err e = {0};
    struct ynode *r = ydoc_include_file(d, FIXTURES "/scenarios/include/so.yaml", &e);
    cr_assert_not_null(r, "%s: %s", e.where, e.msg);
    cr_assert_str_eq(ynode_get(r, "kind")->value, "ScaledObject");
    cr_assert_str_eq(r->file, FIXTURES "/scenarios/include/so.yaml");
    cr_assert_eq(ynode_key(r, "kind")->line, 2);
    ydoc_free(d);
}

/* ---- --set ------------------------------------------------------------------------ */

static void set_ok(struct ydoc *d, const char *a)
{
    struct sim_err e = {0};
    cr_assert_eq(ydoc_set(d, a, &e), SIM_OK, "%s: %s", e.where, e.msg);
}

static void set_fails(struct ydoc *d, const char *a, const char *msg)
{
    struct sim_err e = {0};
    cr_assert_eq(ydoc_set(d, a, &e), SIM_EINVAL);
    cr_assert_str_eq(e.where, "--set");
    cr_assert_str_eq(e.msg, msg);
}

Test(ynode_set, needs_a_map_at_the_top)
{
    struct ydoc *d = load("42\n");
    set_fails(d, "a=1", "invalid --set 'a=1': the document is not a map");
    ydoc_free(d);
}

Test(ynode_set, replaces_an_existing_scalar_with_set_position)
{
    struct ydoc *d = load("router:\n  queue_timeout: 60s\n");
    set_ok(d, "router.queue_timeout=5s");
    const struct ynode *v = ynode_get(ynode_get(ydoc_root(d), "router"), "queue_timeout");
    cr_assert_str_eq(v->value, "5s");
    cr_assert_str_eq(v->file, "--set");
    cr_assert_eq(v->line, 1);
    cr_assert_eq(v->col, 22); /* "router.queue_timeout=" is 21 characters */
    cr_assert_not(v->quoted);
    ydoc_free(d);
}

Test(ynode_set, creates_missing_maps_along_the_path)
{
    struct ydoc *d = load("seed: 1\nworkload:\n  rate_profile:\n");
    set_ok(d, "engine.latency.model=linear");
    set_ok(d, "workload.rate_profile.diurnal.amplitude_frac=0.3");
    const struct ynode *r = ydoc_root(d);
    cr_assert_str_eq(ynode_get(ynode_get(ynode_get(r, "engine"), "latency"), "model")->value,
                     "linear");
    const struct ynode *rp = ynode_get(ynode_get(r, "workload"), "rate_profile");
    cr_assert_eq(rp->kind, YNODE_MAP); /* the null section became a map */
    cr_assert_str_eq(ynode_get(ynode_get(rp, "diurnal"), "amplitude_frac")->value, "0.3");
    const struct ynode *k = ynode_key(r, "engine");
    cr_assert_str_eq(k->file, "--set");
    cr_assert_eq(k->col, 1);
    ydoc_free(d);
}

Test(ynode_set, addresses_sequence_items_by_index_and_appends_at_the_end)
{
    struct ydoc *d = load("steps:\n- {at: 1m, rate_per_s: 2}\n- {at: 2m, rate_per_s: 3}\n");
    set_ok(d, "steps.1.rate_per_s=7.5");
    set_ok(d, "steps.2.at=3m");
    set_ok(d, "steps.2.rate_per_s=9");
    const struct ynode *s = ynode_get(ydoc_root(d), "steps");
    cr_assert_eq(s->n, 3);
    cr_assert_str_eq(ynode_get(s->items[1], "rate_per_s")->value, "7.5");
    cr_assert_str_eq(ynode_get(s->items[1], "at")->value, "2m");
    cr_assert_str_eq(ynode_get(s->items[2], "at")->value, "3m");
    cr_assert_str_eq(ynode_get(s->items[2], "rate_per_s")->value, "9");
    ydoc_free(d);
}

Test(ynode_set, a_missing_node_before_index_zero_becomes_a_sequence)
{
    struct ydoc *d = load("workload: {}\n");
    set_ok(d, "workload.rate_profile.steps.0.at=1m");
    const struct ynode *s =
        ynode_get(ynode_get(ynode_get(ydoc_root(d), "workload"), "rate_profile"), "steps");
    cr_assert_eq(s->kind, YNODE_SEQ);
    cr_assert_eq(s->n, 1);
    cr_assert_str_eq(ynode_get(s->items[0], "at")->value, "1m");
    set_fails(d, "workload.rate_profile.steps.2.at=3m",
              "invalid --set 'workload.rate_profile.steps.2.at=3m': index 2 is past the end of "
              "'workload.rate_profile.steps' (1 items)");
    ydoc_free(d);
}

Test(ynode_set, flow_collections_and_quoted_values_are_parsed)
{
    struct ydoc *d = load("a: 1\n");
    set_ok(d, "list=[1, {b: 2}]");
    set_ok(d, "map={x: y}");
    set_ok(d, "q='5'");
    set_ok(d, "plain=a # b: c");
    set_ok(d, "empty=");
    const struct ynode *r = ydoc_root(d);
    const struct ynode *l = ynode_get(r, "list");
    cr_assert_eq(l->kind, YNODE_SEQ);
    cr_assert_eq(l->n, 2);
    cr_assert_str_eq(ynode_get(l->items[1], "b")->value, "2");
    cr_assert_eq(l->items[1]->col, 10); /* "list=[1, " is 9 characters */
    cr_assert_str_eq(l->items[1]->file, "--set");
    cr_assert_str_eq(ynode_get(ynode_get(r, "map"), "x")->value, "y");
    cr_assert(ynode_get(r, "q")->quoted);
    cr_assert_str_eq(ynode_get(r, "q")->value, "5");
    cr_assert_str_eq(ynode_get(r, "plain")->value, "a # b: c");
    cr_assert(ynode_is_null(ynode_get(r, "empty")));
    ydoc_free(d);
}

Test(ynode_set, errors_name_the_assignment)
{
    struct ydoc *d = load("seed: 1\nsteps: [{at: 1m}]\n");
    set_fails(d, "seed", "invalid --set 'seed': expected dotted.path=value");
    set_fails(d, "=5", "invalid --set '=5': expected dotted.path=value");
    set_fails(d, "a..b=1", "invalid --set 'a..b=1': empty path segment");
    set_fails(d, "seed.x=1", "invalid --set 'seed.x=1': 'seed' is a scalar, not a map");
    set_fails(d, "steps.x=1",
              "invalid --set 'steps.x=1': 'steps' is a sequence: 'x' is not an "
              "index");
    set_fails(d, "steps.3.at=1m",
              "invalid --set 'steps.3.at=1m': index 3 is past the end of 'steps' (1 items)");
    set_fails(d, "a=[1, 2",
              "invalid --set 'a=[1, 2': invalid YAML at the end of the value: did not find "
              "expected ',' or ']' (while parsing a flow sequence)");
    set_fails(d, "a={b: c: d}",
              "invalid --set 'a={b: c: d}': invalid YAML at column 8: did not "
              "find expected ',' or '}' (while parsing a flow mapping)");
    ydoc_free(d);
}

/* ---- did you mean ----------------------------------------------------------------- */

Test(ynode, did_you_mean_finds_close_names_only)
{
    static const char *const keys[] = {"rate_per_s", "process", "cv", NULL};
    cr_assert_str_eq(did_you_mean("ratee_per_s", keys), "rate_per_s");
    cr_assert_str_eq(did_you_mean("rate_per_sec", keys), "rate_per_s"); /* distance 2 */
    cr_assert_str_eq(did_you_mean("proces", keys), "process");
    cr_assert_str_eq(did_you_mean("cb", keys), "cv");
    cr_assert_null(did_you_mean("a", keys)); /* within 2 of 'cv', but shorter than that */
    cr_assert_null(did_you_mean("burst", keys));
    cr_assert_null(did_you_mean("rate", keys)); /* distance 6 > max(2, 4/3) */
    static const char *const slo[] = {"tpot_p95", "ttft_p95", "ttft_p99", NULL};
    cr_assert_str_eq(did_you_mean("ttft_p96", slo), "ttft_p95"); /* first of the ties */
}

/* ---- typed readers ---------------------------------------------------------------- */

static void reader_fails(int rc, const struct sim_err *e, const char *where, const char *msg)
{
    cr_assert_eq(rc, SIM_EINVAL);
    cr_assert_str_eq(e->where, where);
    cr_assert_str_eq(e->msg, msg);
}

Test(ynode_read, check_keys_reports_unknown_keys_with_a_suggestion_or_the_list)
{
    static const char *const allowed[] = {"process", "rate_per_s", "cv", NULL};
    struct ydoc *d = load("arr:\n  process: gamma\n  ratee_per_s: 3\n");
    struct sim_err e = {0};
    const struct ynode *m = ynode_get(ydoc_root(d), "arr");
    reader_fails(ynode_check_keys(m, "workload.arrivals", allowed, &e), &e, "t.yaml:3:3",
                 "unknown key 'ratee_per_s' in 'workload.arrivals' (did you mean 'rate_per_s'?)");
    ydoc_free(d);
    d = load("burst: 3\n");
    reader_fails(ynode_check_keys(ydoc_root(d), "", allowed, &e), &e, "t.yaml:1:1",
                 "unknown key 'burst' at the top level (known keys: process, rate_per_s, cv)");
    ydoc_free(d);
    d = load("arr: [1]\n");
    reader_fails(ynode_check_keys(ynode_get(ydoc_root(d), "arr"), "engine", allowed, &e), &e,
                 "t.yaml:1:6", "expected a map for 'engine', found a sequence");
    ydoc_free(d);
}

Test(ynode_read, integers)
{
    const struct ynode *v;
    struct sim_err e = {0};
    int64_t x = 0;
    struct ydoc *d = one("42", &v);
    cr_assert_eq(ynode_as_int64(v, "seed", 0, INT64_MAX, &x, &e), SIM_OK);
    cr_assert_eq(x, 42);
    ydoc_free(d);
    d = one("1.5", &v);
    reader_fails(ynode_as_int64_unit(v, "engine.tensor_parallel_size", 1, 64, "GPUs", &x, &e), &e,
                 "t.yaml:1:4",
                 "'engine.tensor_parallel_size' must be an integer (GPUs), got '1.5'");
    ydoc_free(d);
    d = one("65", &v);
    reader_fails(ynode_as_int64_unit(v, "engine.tensor_parallel_size", 1, 64, "GPUs", &x, &e), &e,
                 "t.yaml:1:4", "'engine.tensor_parallel_size' must be in [1, 64] (GPUs), got '65'");
    ydoc_free(d);
    d = one("-1", &v);
    reader_fails(ynode_as_int64(v, "seed", 0, INT64_MAX, &x, &e), &e, "t.yaml:1:4",
                 "'seed' must be >= 0, got '-1'");
    ydoc_free(d);
    d = one("99999999999999999999", &v);
    reader_fails(ynode_as_int64(v, "seed", 0, INT64_MAX, &x, &e), &e, "t.yaml:1:4",
                 "'seed' must be <= 9223372036854775807, got '99999999999999999999'");
    ydoc_free(d);
    d = one("\"5\"", &v);
    reader_fails(ynode_as_int64(v, "seed", 0, INT64_MAX, &x, &e), &e, "t.yaml:1:4",
                 "'seed' must be an integer, got a quoted string '5'");
    ydoc_free(d);
    d = one("", &v);
    /* libyaml places the empty value just after "k: " */
    reader_fails(ynode_as_int64(v, "seed", 0, INT64_MAX, &x, &e), &e, "t.yaml:1:3",
                 "expected an integer for 'seed', found null");
    ydoc_free(d);
}

Test(ynode_read, numbers_with_open_bounds_and_units)
{
    const struct ynode *v;
    struct sim_err e = {0};
    double x = 0;
    struct ynode_range pos = {0.0, INFINITY, true, false, "req/s"};
    struct ydoc *d = one("2.385", &v);
    cr_assert_eq(ynode_as_number(v, "r", &pos, &x, &e), SIM_OK);
    cr_assert_eq(x, 2.385); /* strtod of the same text: exact */
    ydoc_free(d);
    d = one("-2.5", &v);
    reader_fails(ynode_as_number(v, "workload.arrivals.rate_per_s", &pos, &x, &e), &e, "t.yaml:1:4",
                 "'workload.arrivals.rate_per_s' must be > 0 (req/s), got '-2.5'");
    ydoc_free(d);
    struct ynode_range frac = {0.0, 1.0, false, true, NULL};
    d = one("1", &v);
    reader_fails(ynode_as_number(v, "a", &frac, &x, &e), &e, "t.yaml:1:4",
                 "'a' must be in [0, 1), got '1'");
    ydoc_free(d);
    d = one(".inf", &v);
    reader_fails(ynode_as_double(v, "a", 0, 1, &x, &e), &e, "t.yaml:1:4",
                 "'a' must be a number, got '.inf'");
    ydoc_free(d);
    d = one("1e999", &v);
    reader_fails(ynode_as_double(v, "a", -INFINITY, INFINITY, &x, &e), &e, "t.yaml:1:4",
                 "'a' must be a number, got '1e999'");
    ydoc_free(d);
    d = one("{x: 1}", &v);
    reader_fails(ynode_as_double(v, "a", 0, 1, &x, &e), &e, "t.yaml:1:4",
                 "expected a number for 'a', found a map");
    ydoc_free(d);
}

Test(ynode_read, bools_strings_and_enums)
{
    const struct ynode *v;
    struct sim_err e = {0};
    bool b = false;
    struct ydoc *d = one("true", &v);
    cr_assert_eq(ynode_as_bool(v, "x", &b, &e), SIM_OK);
    cr_assert(b);
    ydoc_free(d);
    d = one("yes", &v);
    reader_fails(ynode_as_bool(v, "engine.enable_chunked_prefill", &b, &e), &e, "t.yaml:1:4",
                 "'engine.enable_chunked_prefill' must be true or false, got 'yes'");
    ydoc_free(d);
    d = one("\"true\"", &v);
    reader_fails(ynode_as_bool(v, "record.samples", &b, &e), &e, "t.yaml:1:4",
                 "'record.samples' must be true or false, got a quoted string 'true'");
    ydoc_free(d);
    d = one("{a: 1}", &v);
    reader_fails(ynode_as_bool(v, "record.samples", &b, &e), &e, "t.yaml:1:4",
                 "expected true or false for 'record.samples', found a map");
    ydoc_free(d);
    const char *s;
    d = one("[a]", &v);
    reader_fails(ynode_as_string(v, "model.name", &s, &e), &e, "t.yaml:1:4",
                 "expected a string for 'model.name', found a sequence");
    ydoc_free(d);
    static const char *const models[] = {"constant", "linear", "roofline", "table", NULL};
    int k = -1;
    d = one("roofline", &v);
    cr_assert_eq(ynode_as_enum(v, "m", models, &k, &e), SIM_OK);
    cr_assert_eq(k, 2);
    ydoc_free(d);
    d = one("tabel", &v);
    reader_fails(ynode_as_enum(v, "engine.latency.model", models, &k, &e), &e, "t.yaml:1:4",
                 "'engine.latency.model' must be one of constant, linear, roofline, table, got "
                 "'tabel' (did you mean 'table'?)");
    ydoc_free(d);
    d = one("~", &v);
    reader_fails(ynode_as_enum(v, "engine.latency.model", models, &k, &e), &e, "t.yaml:1:4",
                 "expected one of constant, linear, roofline, table for 'engine.latency.model', "
                 "found null");
    ydoc_free(d);
    d = one("gpu", &v);
    reader_fails(ynode_as_enum(v, "engine.latency.model", models, &k, &e), &e, "t.yaml:1:4",
                 "'engine.latency.model' must be one of constant, linear, roofline, table, got "
                 "'gpu'");
    ydoc_free(d);
}

Test(ynode_read, fractions_as_percent_or_plain)
{
    const struct ynode *v;
    struct sim_err e = {0};
    double x = 0;
    struct ydoc *d = one("0.1%", &v);
    cr_assert_eq(ynode_as_frac(v, "slo.error_rate", 0, 1, &x, &e), SIM_OK);
    cr_assert_float_eq(x, 0.001, 1e-18); /* 0.1 / 100 in double: within an ulp of 1e-3 */
    ydoc_free(d);
    d = one("0.001", &v);
    cr_assert_eq(ynode_as_frac(v, "slo.error_rate", 0, 1, &x, &e), SIM_OK);
    cr_assert_eq(x, 0.001);
    ydoc_free(d);
    d = one("150%", &v);
    reader_fails(ynode_as_frac(v, "slo.error_rate", 0, 1, &x, &e), &e, "t.yaml:1:4",
                 "'slo.error_rate' must be in [0, 1], got '150%'");
    ydoc_free(d);
    d = one("[1]", &v);
    reader_fails(ynode_as_frac(v, "slo.error_rate", 0, 1, &x, &e), &e, "t.yaml:1:4",
                 "expected a fraction for 'slo.error_rate', found a sequence");
    ydoc_free(d);
    d = one("some", &v);
    reader_fails(ynode_as_frac(v, "slo.error_rate", 0, 1, &x, &e), &e, "t.yaml:1:4",
                 "'slo.error_rate' must be a fraction (0.001) or a percentage (0.1%), got 'some'");
    ydoc_free(d);
}

Test(ynode_read, durations_parse_with_units)
{
    static const struct {
        const char *text;
        int64_t us;
    } ok[] = {
        {"250ms", 250000},   {"30s", 30000000},     {"5m", 300000000},
        {"2h", 7200000000},  {"1h30m", 5400000000}, {"1.5s", 1500000},
        {"1d", 86400000000}, {"500us", 500},        {"0", 0},
        {"0s", 0},           {"1m30s", 90000000},   {"2h0m5s", 7205000000},
        {"0.25ms", 250},     {"-5s", -5000000},     {"1s500ms", 1500000},
        {"0.0000005s", 1}, /* 0.5 us rounds away from zero */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = -7;
        cr_assert_eq(parse_duration_us(ok[i].text, &v), SIM_OK, "%s", ok[i].text);
        cr_assert_eq(v, ok[i].us, "%s: %lld", ok[i].text, (long long)v);
    }
    static const char *const bad[] = {"30",   "",    "s",    "5 m",    "1m1h", "1hh",
                                      "1h1h", "5M",  "-",    "1.2.3s", "ms",   "1e3s",
                                      "1x",   "inf", "1mus", "3ns",    "+"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v;
        cr_assert_eq(parse_duration_us(bad[i], &v), SIM_EINVAL, "'%s'", bad[i]);
    }
}

Test(ynode_read, duration_reader_messages)
{
    const struct ynode *v;
    struct sim_err e = {0};
    int64_t x = 0;
    struct ydoc *d = one("30", &v);
    reader_fails(ynode_as_duration_us(v, "router.queue_timeout", 1, INT64_MAX, 0, &x, &e), &e,
                 "t.yaml:1:4",
                 "'router.queue_timeout' must be a duration with a unit (250ms, 30s, 5m, 2h), "
                 "got '30'");
    cr_assert_eq(ynode_as_duration_us(v, "cooldownPeriod", 0, INT64_MAX, 1000000, &x, &e), SIM_OK);
    cr_assert_eq(x, 30000000);
    ydoc_free(d);
    d = one("0s", &v);
    reader_fails(ynode_as_duration_us(v, "router.queue_timeout", 1, INT64_MAX, 0, &x, &e), &e,
                 "t.yaml:1:4", "'router.queue_timeout' must be > 0, got '0s'");
    ydoc_free(d);
    d = one("500ms", &v);
    reader_fails(
        ynode_as_duration_us(v, "fleet.metrics.scrape_interval", 1000000, INT64_MAX, 0, &x, &e), &e,
        "t.yaml:1:4", "'fleet.metrics.scrape_interval' must be >= 1s, got '500ms'");
    ydoc_free(d);
    d = one("2h", &v);
    reader_fails(ynode_as_duration_us(v, "x", 0, 5400000000, 0, &x, &e), &e, "t.yaml:1:4",
                 "'x' must be in [0s, 1h30m], got '2h'");
    ydoc_free(d);
    d = one("[1s]", &v);
    reader_fails(ynode_as_duration_us(v, "x", 0, INT64_MAX, 0, &x, &e), &e, "t.yaml:1:4",
                 "expected a duration for 'x', found a sequence");
    ydoc_free(d);
    d = one("later", &v);
    reader_fails(ynode_as_duration_us(v, "x", 0, INT64_MAX, 1000, &x, &e), &e, "t.yaml:1:4",
                 "'x' must be a number (x 1000us) or a duration with a unit (250ms, 30s, 5m, 2h), "
                 "got 'later'");
    ydoc_free(d);
    d = one("\"300\"", &v);
    reader_fails(ynode_as_duration_us(v, "cooldownPeriod", 0, INT64_MAX, 1000000, &x, &e), &e,
                 "t.yaml:1:4",
                 "'cooldownPeriod' must be a number of seconds or a duration with a unit (250ms, "
                 "30s, 5m, 2h), got a quoted string '300'");
    ydoc_free(d);
    d = one("soon", &v);
    reader_fails(ynode_as_duration_us(v, "cooldownPeriod", 0, INT64_MAX, 1000000, &x, &e), &e,
                 "t.yaml:1:4",
                 "'cooldownPeriod' must be a number of seconds or a duration with a unit (250ms, "
                 "30s, 5m, 2h), got 'soon'");
    ydoc_free(d);
}

Test(ynode_read, format_duration_reads_back)
{
    static const int64_t values[] = {
        0, 1, 999, 1000, 250000, 1500000, 90000000, 5400000000, 86400000000, 7205000250, -30000000};
    static const char *const want[] = {"0s",    "1us",   "999us", "1ms",       "250ms", "1s500ms",
                                       "1m30s", "1h30m", "24h",   "2h5s250us", "-30s"};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char buf[64];
        int64_t back = -1;
        cr_assert_str_eq(format_duration_us(values[i], buf, sizeof buf), want[i]);
        cr_assert_eq(parse_duration_us(buf, &back), SIM_OK);
        cr_assert_eq(back, values[i]);
    }
}

Test(ynode_set, quoted_segments_reach_keys_with_dots)
{
    /* NodePool limits are keyed by resource names like nvidia.com/gpu. */
    struct ydoc *d = load("spec:\n  limits: {nvidia.com/gpu: 16, cpu: 64}\n");
    set_ok(d, "spec.limits.\"nvidia.com/gpu\"=32");
    const struct ynode *lim = ynode_get(ynode_get(ydoc_root(d), "spec"), "limits");
    cr_assert_str_eq(ynode_get(lim, "nvidia.com/gpu")->value, "32");
    cr_assert_eq(lim->n, 2, "replaced, not added");
    set_ok(d, "spec.\"a.b\".c=1");
    cr_assert_str_eq(ynode_get(ynode_get(ynode_get(ydoc_root(d), "spec"), "a.b"), "c")->value,
                     "1");
    set_fails(d, "spec.\"x=1", "invalid --set 'spec.\"x=1': unterminated quoted path segment");
    set_fails(d, "spec.\"x\"y=1",
              "invalid --set 'spec.\"x\"y=1': expected '.' or '=' after a quoted path segment");
    ydoc_free(d);
}

Test(ynode, a_map_of_200000_keys_loads_and_its_duplicate_is_found)
{
    /* Duplicate detection sorts the keys once per map (n log n); it was pairwise, which
     * took minutes here. The repeated key is reported where it repeats. */
    enum { N = 200000 };
    size_t cap = (size_t)N * 24 + 64, used = 0;
    char *text = malloc(cap);
    cr_assert_not_null(text);
    used += (size_t)snprintf(text + used, cap - used, "big:\n");
    for (int i = 0; i < N; i++)
        used += (size_t)snprintf(text + used, cap - used, "  k%d: %d\n", i, i);
    struct sim_err err = {0};
    struct ydoc *d = ydoc_load_string("big.yaml", text, used, &err);
    cr_assert_not_null(d, "%s", err.msg);
    cr_assert_eq(ynode_get(ydoc_root(d), "big")->n, N);
    cr_assert_str_eq(ynode_get(ynode_get(ydoc_root(d), "big"), "k199999")->value, "199999");
    ydoc_free(d);
    used += (size_t)snprintf(text + used, cap - used, "  k5: again\n");
    d = ydoc_load_string("big.yaml", text, used, &err);
    cr_assert_null(d);
    cr_assert_str_eq(err.where, "big.yaml:200002:3");
    cr_assert_str_eq(err.msg, "duplicate key 'k5' in 'big' (first at line 7)");
    free(text);
}
