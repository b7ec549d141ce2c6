/*
 * deploy/ as a platform team runs it, checked without a cluster or a Docker daemon (no
 * Kubernetes schema validator such as kubeconform or kubeval, and no hadolint, is
 * packaged in Debian):
 * - the manifests parse (libyaml, through llmcap's own reader) and every key of a Job,
 *   pod, container and securityContext is a field of the Kubernetes batch/v1 and core/v1
 *   API (the v1.31 API reference), so a typo is caught;
 * - the Jobs run as non-root with a read-only root filesystem, /tmp on an emptyDir, a
 *   TTL and a deadline; the shard count is written once (sweep.env) and kustomize copies
 *   it into the Job; the merge Job is not applied with the sweep, and the script applies
 *   it only after `kubectl wait --for=condition=complete`;
 * - the Dockerfile has a build and a runtime stage, installs dependencies before copying
 *   sources, copies every source folder the build needs and never the whole context
 *   (so no .git), runs as a numeric non-root USER, and its runtime packages hold every
 *   shared library the built binary needs (ldd + dpkg -S).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/wait.h>

#include "sim/config/ynode.h"

#define DEPLOY SOURCE_DIR "/deploy/"

static struct ydoc *load(const char *path)
{
    struct sim_err err = {0};
    struct ydoc *d = ydoc_load_file(path, &err);
    cr_assert_not_null(d, "%s: %s", err.where, err.msg);
    return d;
}

static const struct ynode *at(const struct ynode *n, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && n; k = strtok_r(NULL, ".", &save))
        n = n->kind == YNODE_MAP ? ynode_get(n, k) : NULL;
    return n;
}

static const char *str(const struct ynode *n, const char *path)
{
    const struct ynode *v = at(n, path);
    return v && v->kind == YNODE_SCALAR ? v->value : NULL;
}

static long num(const struct ynode *n, const char *path)
{
    const char *s = str(n, path);
    cr_assert_not_null(s, "missing %s", path);
    char *end;
    long v = strtol(s, &end, 10);
    cr_assert(*s && !*end, "%s: '%s' is not an integer", path, s);
    return v;
}

/* Every key of map `n` is one of `known` (NULL-terminated). */
static void keys_known(const struct ynode *n, const char *where, const char *const *known)
{
    cr_assert(n && n->kind == YNODE_MAP, "%s: not a map", where);
    for (size_t i = 0; i < n->n; i++) {
        bool ok = false;
        for (size_t k = 0; known[k]; k++)
            ok |= !strcmp(n->keys[i]->value, known[k]);
        cr_expect(ok, "%s: '%s' is not a field of the Kubernetes API (%s:%ld)", where,
                  n->keys[i]->value, n->keys[i]->file, n->keys[i]->line);
    }
}

/* Fields of the Kubernetes API objects the manifests use (kubernetes.io/docs/reference/
 * kubernetes-api, v1.31: Job, PodSpec, Container, SecurityContext, PodSecurityContext). */
static const char *const job_spec[] = {
    "activeDeadlineSeconds", "backoffLimit",  "backoffLimitPerIndex", "completionMode",
    "completions",           "managedBy",     "manualSelector",       "maxFailedIndexes",
    "parallelism",           "podFailurePolicy", "podReplacementPolicy", "selector",
    "successPolicy",         "suspend",       "template",             "ttlSecondsAfterFinished",
    NULL};
static const char *const pod_spec[] = {
    "activeDeadlineSeconds", "affinity", "automountServiceAccountToken", "containers",
    "dnsPolicy", "enableServiceLinks", "hostNetwork", "imagePullSecrets", "initContainers",
    "nodeName", "nodeSelector", "priorityClassName", "restartPolicy", "runtimeClassName",
    "schedulerName", "securityContext", "serviceAccountName", "terminationGracePeriodSeconds",
    "tolerations", "topologySpreadConstraints", "volumes", NULL};
static const char *const container[] = {
    "args", "command", "env", "envFrom", "image", "imagePullPolicy", "lifecycle",
    "livenessProbe", "name", "ports", "readinessProbe", "resources", "securityContext",
    "startupProbe", "volumeMounts", "workingDir", NULL};
static const char *const pod_security[] = {
    "fsGroup", "fsGroupChangePolicy", "runAsGroup", "runAsNonRoot", "runAsUser",
    "seLinuxOptions", "seccompProfile", "supplementalGroups", "sysctls", NULL};
static const char *const container_security[] = {
    "allowPrivilegeEscalation", "capabilities", "privileged", "procMount",
    "readOnlyRootFilesystem", "runAsGroup", "runAsNonRoot", "runAsUser", "seccompProfile",
    NULL};

/* What both Jobs must have; returns the pod spec. */
static const struct ynode *check_job(const struct ynode *root, const char *name)
{
    cr_assert_str_eq(str(root, "apiVersion"), "batch/v1");
    cr_assert_str_eq(str(root, "kind"), "Job");
    cr_assert_str_eq(str(root, "metadata.name"), name);
    const struct ynode *spec = at(root, "spec");
    keys_known(spec, name, job_spec);
    cr_expect_gt(num(spec, "ttlSecondsAfterFinished"), 0, "%s", name);
    cr_expect_gt(num(spec, "activeDeadlineSeconds"), 0, "%s", name);
    const struct ynode *pod = at(spec, "template.spec");
    keys_known(pod, name, pod_spec);
    cr_expect_str_eq(str(pod, "restartPolicy"), "Never");
    keys_known(at(pod, "securityContext"), name, pod_security);
    cr_expect_str_eq(str(pod, "securityContext.runAsNonRoot"), "true", "%s", name);
    cr_expect_gt(num(pod, "securityContext.runAsUser"), 0, "%s", name);
    const struct ynode *vols = at(pod, "volumes");
    cr_assert(vols && vols->kind == YNODE_SEQ);
    const struct ynode *cs = at(pod, "containers");
    cr_assert(cs && cs->kind == YNODE_SEQ && cs->n >= 1);
    for (size_t c = 0; c < cs->n; c++) {
        const struct ynode *ct = cs->items[c];
        keys_known(ct, name, container);
        keys_known(at(ct, "securityContext"), name, container_security);
        cr_expect_str_eq(str(ct, "securityContext.readOnlyRootFilesystem"), "true", "%s", name);
        cr_expect_str_eq(str(ct, "securityContext.allowPrivilegeEscalation"), "false", "%s",
                         name);
        const struct ynode *drop = at(ct, "securityContext.capabilities.drop");
        cr_assert(drop && drop->kind == YNODE_SEQ && drop->n == 1, "%s", name);
        cr_expect_str_eq(drop->items[0]->value, "ALL");
        cr_expect_str_eq(str(ct, "image"), "llmcap:0.1.0");
        const struct ynode *ef = at(ct, "envFrom");
        cr_assert(ef && ef->kind == YNODE_SEQ && ef->n == 1, "%s", name);
        cr_expect_str_eq(str(ef->items[0], "configMapRef.name"), "llmcap-sweep");
        /* every mount has a volume; /tmp is an emptyDir (the root filesystem is read-only) */
        const struct ynode *mounts = at(ct, "volumeMounts");
        cr_assert(mounts && mounts->kind == YNODE_SEQ);
        bool tmp = false;
        for (size_t m = 0; m < mounts->n; m++) {
            const char *vn = str(mounts->items[m], "name");
            const struct ynode *vol = NULL;
            for (size_t v = 0; v < vols->n; v++)
                if (!strcmp(str(vols->items[v], "name"), vn))
                    vol = vols->items[v];
            cr_assert_not_null(vol, "%s: mount '%s' has no volume", name, vn);
            if (!strcmp(str(mounts->items[m], "mountPath"), "/tmp")) {
                cr_expect_not_null(at(vol, "emptyDir"), "%s: /tmp is not an emptyDir", name);
                tmp = true;
            }
        }
        cr_expect(tmp, "%s: no writable /tmp", name);
    }
    return pod;
}

/* KEY=VALUE of deploy/k8s/sweep.env (NULL when absent; static buffer). */
static const char *env_value(const char *key)
{
    static char line[1024];
    FILE *f = fopen(DEPLOY "k8s/sweep.env", "r");
    cr_assert_not_null(f);
    size_t n = strlen(key);
    const char *found = NULL;
    while (!found && fgets(line, sizeof line, f))
        if (!strncmp(line, key, n) && line[n] == '=') {
            line[strcspn(line, "\n")] = '\0';
            found = line + n + 1;
        }
    fclose(f);
    return found;
}

Test(deploy, sweep_job_is_hardened_and_sharded_once)
{
    struct ydoc *d = load(DEPLOY "k8s/sweep-job.yaml");
    const struct ynode *root = ydoc_root(d);
    check_job(root, "llmcap-sweep");
    cr_expect_str_eq(str(root, "spec.completionMode"), "Indexed");
    cr_expect_geq(num(root, "spec.backoffLimitPerIndex"), 1);
    cr_expect_eq(num(root, "spec.maxFailedIndexes"), 0);
    /* the shard count: sweep.env only; kustomize copies it into completions */
    cr_assert_not_null(env_value("SHARDS"));
    long shards = atol(env_value("SHARDS"));
    cr_assert_not_null(env_value("PARALLELISM"));
    long par = atol(env_value("PARALLELISM"));
    cr_expect_gt(shards, 0);
    cr_expect(par > 0 && par <= shards);
    const struct ynode *cs = at(root, "spec.template.spec.containers");
    const struct ynode *a = at(cs->items[0], "args");
    cr_assert(a && a->kind == YNODE_SEQ && a->n == 1);
    const char *cmd = a->items[0]->value;
    cr_expect(strstr(cmd, "--shard \"$JOB_COMPLETION_INDEX/$SHARDS\"") != NULL, "%s", cmd);
    /* every variable the command uses comes from sweep.env or the container's env */
    static const char *const vars[] = {"SWEEP", "SCENARIO", "VARY", "JOBS", "SHARDS", NULL};
    for (size_t i = 0; vars[i]; i++)
        cr_expect_not_null(env_value(vars[i]), "sweep.env has no %s", vars[i]);
    ydoc_free(d);

    struct ydoc *k = load(DEPLOY "k8s/kustomization.yaml");
    const struct ynode *kr = ydoc_root(k);
    const struct ynode *res = at(kr, "resources");
    cr_assert(res && res->kind == YNODE_SEQ);
    for (size_t i = 0; i < res->n; i++) {
        cr_expect_str_neq(res->items[i]->value, "merge-job.yaml",
                          "the merge Job must not start with the sweep");
        char p[512];
        snprintf(p, sizeof p, DEPLOY "k8s/%s", res->items[i]->value);
        FILE *f = fopen(p, "r");
        cr_expect_not_null(f, "%s", p);
        if (f)
            fclose(f);
    }
    cr_expect_str_eq(str(kr, "generatorOptions.disableNameSuffixHash"), "true");
    const struct ynode *gen = at(kr, "configMapGenerator");
    cr_assert(gen && gen->kind == YNODE_SEQ && gen->n == 1);
    cr_expect_str_eq(str(gen->items[0], "name"), "llmcap-sweep");
    cr_expect_str_eq(at(gen->items[0], "envs")->items[0]->value, "sweep.env");
    /* replacements: SHARDS -> spec.completions, PARALLELISM -> spec.parallelism */
    const struct ynode *rep = at(kr, "replacements");
    cr_assert(rep && rep->kind == YNODE_SEQ && rep->n == 2);
    static const char *const from[2] = {"data.SHARDS", "data.PARALLELISM"};
    static const char *const to[2] = {"spec.completions", "spec.parallelism"};
    for (int i = 0; i < 2; i++) {
        cr_expect_str_eq(str(rep->items[i], "source.fieldPath"), from[i]);
        const struct ynode *t = at(rep->items[i], "targets")->items[0];
        cr_expect_str_eq(str(t, "select.name"), "llmcap-sweep");
        cr_expect_str_eq(at(t, "fieldPaths")->items[0]->value, to[i]);
    }
    ydoc_free(k);
}

Test(deploy, merge_job_is_hardened)
{
    struct ydoc *d = load(DEPLOY "k8s/merge-job.yaml");
    check_job(ydoc_root(d), "llmcap-merge");
    ydoc_free(d);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    return b;
}

/* The merge Job is applied only after the sweep Job is Complete. */
Test(deploy, script_merges_only_after_every_index_succeeded)
{
    char *s = slurp(DEPLOY "scripts/k8s-sweep.sh");
    const char *wait_complete = strstr(s, "wait --for=condition=complete \"job/$job\"");
    const char *apply_sweep = strstr(s, "kubectl kustomize deploy/k8s");
    const char *wait_sweep = strstr(s, "\nwait_job llmcap-sweep\n");
    const char *check = strstr(s, "{.status.succeeded}");
    const char *apply_merge = strstr(s, "deploy/k8s/merge-job.yaml | k apply -f -");
    cr_assert(wait_complete && apply_sweep && wait_sweep && check && apply_merge);
    cr_expect(apply_sweep < wait_sweep && wait_sweep < check && check < apply_merge);
    /* set -e: a failed wait_job stops the script before the merge */
    cr_expect(strstr(s, "set -euo pipefail") != NULL);
    free(s);
}

/* ---- the Dockerfile ----------------------------------------------------------------- */

struct instr {
    char op[16];
    char *args; /* continuation lines joined */
    int stage;  /* 0-based FROM count */
};

static size_t parse_dockerfile(char *text, struct instr *out, size_t max)
{
    size_t n = 0;
    int stage = -1;
    char *line = text;
    while (line && *line && n < max) {
        char *eol = strchr(line, '\n');
        if (eol)
            *eol = '\0';
        char *p = line + strspn(line, " \t");
        if (*p && *p != '#') {
            struct instr *in = &out[n++];
            sscanf(p, "%15s", in->op);
            in->args = strdup(p + strlen(in->op));
            while (strlen(in->args) && in->args[strlen(in->args) - 1] == '\\' && eol) {
                line = eol + 1;
                eol = strchr(line, '\n');
                if (eol)
                    *eol = '\0';
                if (line[strspn(line, " \t")] == '#')
                    continue;
                size_t a = strlen(in->args), b = strlen(line);
                in->args = realloc(in->args, a + b + 1);
                in->args[a - 1] = ' ';
                memcpy(in->args + a, line, b + 1);
            }
            if (!strcmp(in->op, "FROM"))
                stage++;
            in->stage = stage;
        }
        line = eol ? eol + 1 : NULL;
    }
    return n;
}

Test(deploy, dockerfile_stages_user_and_copy_order)
{
    char *text = slurp(DEPLOY "Dockerfile");
    struct instr in[128];
    size_t n = parse_dockerfile(text, in, 128);
    int stages = 0, last = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(in[i].op, "FROM")) {
            stages++;
            last = in[i].stage;
        }
    cr_assert_geq(stages, 2, "a build stage and a runtime stage");
    cr_expect(strstr(in[0].args, " AS build") != NULL, "%s", in[0].args);
    bool deps_done = false, user = false;
    for (size_t i = 0; i < n; i++) {
        const char *a = in[i].args;
        /* never the whole context: .git and local files stay out whatever .dockerignore
         * says */
        if (!strcmp(in[i].op, "COPY") || !strcmp(in[i].op, "ADD"))
            cr_expect(!strstr(a, " . ") && strncmp(a, " . ", 3) && !strstr(a, " ./ "),
                      "%s%s copies the whole context", in[i].op, a);
        if (in[i].stage == 0) {
            if (!strcmp(in[i].op, "RUN") && strstr(a, "install-deps.sh"))
                deps_done = true;
            if (!strcmp(in[i].op, "COPY") && !strstr(a, "scripts/install-deps.sh"))
                cr_expect(deps_done, "sources copied before the dependencies: COPY%s", a);
        }
        if (in[i].stage == last) {
            if (!strcmp(in[i].op, "RUN"))
                cr_expect(!strstr(a, "-dev ") && !strstr(a, "build-essential") &&
                              !strstr(a, "cmake"),
                          "the runtime stage installs build tools: %s", a);
            if (!strcmp(in[i].op, "USER")) {
                long uid = strtol(a, NULL, 10);
                cr_expect_gt(uid, 0, "USER%s is root or not numeric", a);
                user = true;
            }
        }
    }
    cr_expect(user, "no USER in the runtime stage");
    /* the build stage copies every folder CMakeLists.txt builds from */
    static const char *const dirs[] = {"cli", "models", "plan", "reports", "sim", "kernels",
                                       NULL};
    for (size_t k = 0; dirs[k]; k++) {
        bool copied = false;
        char want[64];
        snprintf(want, sizeof want, " %s %s", dirs[k], dirs[k]);
        for (size_t i = 0; i < n; i++)
            copied |= in[i].stage == 0 && !strcmp(in[i].op, "COPY") && strstr(in[i].args, want);
        cr_expect(copied, "the build stage does not copy %s/", dirs[k]);
    }
    char *ignore = slurp(SOURCE_DIR "/.dockerignore");
    cr_expect(strstr(ignore, "\n.git\n") != NULL, ".dockerignore does not exclude .git");
    free(ignore);
    for (size_t i = 0; i < n; i++)
        free(in[i].args);
    free(text);
}

/* Every shared library the built llmcap needs comes from a package the runtime stage
 * installs (libc6 is in the base image). */
Test(deploy, runtime_packages_hold_every_shared_library)
{
#if defined(__SANITIZE_ADDRESS__)
    cr_skip_test("a sanitizer build links the ASan/UBSan runtimes; the image builds Release");
#endif
    char *text = slurp(DEPLOY "Dockerfile");
    char *runtime = strstr(text, "AS runtime");
    cr_assert_not_null(runtime);
    char *install = strstr(runtime, "apt-get install");
    cr_assert_not_null(install);
    char *end = strstr(install, "&& rm -rf");
    cr_assert_not_null(end);
    *end = '\0';
    /* merged /usr: dpkg knows /usr/lib/..., ldd may print /lib/... */
    FILE *p = popen("ldd " LLMCAP_BIN " | awk '/=> \\//{print $3}' | sed 's|^/lib/|/usr/lib/|' | "
                    "xargs -r dpkg -S 2>&1 | cut -d: -f1 | sort -u",
                    "r");
    cr_assert_not_null(p);
    char pkg[256];
    int seen = 0;
    while (fgets(pkg, sizeof pkg, p)) {
        pkg[strcspn(pkg, "\n")] = '\0';
        if (!*pkg || !strcmp(pkg, "libc6") || !strncmp(pkg, "dpkg-query", 10))
            continue;
        char word[300];
        snprintf(word, sizeof word, " %s ", pkg);
        cr_expect(strstr(install, word) != NULL,
                  "llmcap needs a library from %s, which the runtime stage does not install",
                  pkg);
        seen++;
    }
    pclose(p);
    cr_expect_geq(seen, 5, "ldd/dpkg found too few packages: is this Debian?");
    free(text);
}

/* ---- the Grafana dashboard ------------------------------------------------------------ */

#include <cjson/cJSON.h>
#include <sqlite3.h>

/* `sql` with Grafana's variables replaced: $run, and the frser-sqlite-datasource macros
 * $__from and $__to (milliseconds) set to the whole run. */
static char *expand(const char *sql)
{
    static const struct {
        const char *var, *val;
    } subs[] = {{"$__from", "0"}, {"$__to", "1e15"}, {"$run", "1"}};
    size_t cap = strlen(sql) * 2 + 64, n = 0;
    char *out = malloc(cap);
    for (const char *p = sql; *p;) {
        bool done = false;
        for (size_t i = 0; i < 3 && !done; i++) {
            size_t l = strlen(subs[i].var);
            if (!strncmp(p, subs[i].var, l)) {
                n += (size_t)snprintf(out + n, cap - n, "%s", subs[i].val);
                p += l;
                done = true;
            }
        }
        if (!done)
            out[n++] = *p++;
    }
    out[n] = '\0';
    return out;
}

/* Run one query of the dashboard on a real results database: it must prepare, return
 * rows, and a time series must have the columns time, series (optional) and value. */
static void run_query(sqlite3 *h, const char *title, const cJSON *target)
{
    const cJSON *raw = cJSON_GetObjectItemCaseSensitive(target, "rawQueryText");
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(target, "queryText");
    cr_assert(cJSON_IsString(raw) && cJSON_IsString(q), "%s: no query", title);
    cr_expect_str_eq(raw->valuestring, q->valuestring, "%s", title);
    char *sql = expand(raw->valuestring);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s: %s\n%s", title,
                 sqlite3_errmsg(h), sql);
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW)
        rows++;
    cr_expect_gt(rows, 0, "%s: no rows from\n%s", title, sql);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(target, "queryType");
    if (cJSON_IsString(type) && !strcmp(type->valuestring, "time series")) {
        cr_expect_str_eq(sqlite3_column_name(st, 0), "time", "%s", title);
        cr_expect_str_eq(sqlite3_column_name(st, sqlite3_column_count(st) - 1), "value", "%s",
                         title);
    }
    sqlite3_finalize(st);
    free(sql);
}

Test(deploy, grafana_dashboard_queries_run_on_a_results_database)
{
    char *text = slurp(DEPLOY "grafana/llmcap-run.json");
    cJSON *d = cJSON_Parse(text);
    cr_assert_not_null(d, "deploy/grafana/llmcap-run.json is not JSON");
    const cJSON *in = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(d, "__inputs"), 0);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(in, "pluginId")->valuestring,
                     "frser-sqlite-datasource");
    /* a run of tests/fixtures/reports/burst.yaml: autoscaled, with nodes and a cost model */
    char dir[] = "/tmp/llmcap-grafana-XXXXXX", db[64], cmd[512];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/r.db", dir);
    snprintf(cmd, sizeof cmd, "%s run %s -o %s --quiet >/dev/null 2>&1", LLMCAP_BIN,
             SOURCE_DIR "/tests/fixtures/reports/burst.yaml", db);
    int st = system(cmd);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) <= 1, "%s", cmd); /* 1: an SLO missed */
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    /* the panels a capacity review needs */
    static const char *const need[] = {"Replicas", "TTFT", "Queue", "KV cache", "Cost", NULL};
    bool found[5] = {false};
    const cJSON *p;
    int n_targets = 0;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(d, "panels"))
    {
        const char *title = cJSON_GetObjectItemCaseSensitive(p, "title")->valuestring;
        for (int i = 0; need[i]; i++)
            found[i] |= strstr(title, need[i]) != NULL;
        const cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(p, "targets"))
        {
            run_query(h, title, t);
            n_targets++;
        }
    }
    for (int i = 0; need[i]; i++)
        cr_expect(found[i], "no panel for %s", need[i]);
    cr_expect_geq(n_targets, 10);
    const cJSON *var = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "templating"),
                                         "list"),
        0);
    run_query(h, "variable run", cJSON_GetObjectItemCaseSensitive(var, "query"));
    sqlite3_close(h);
    cJSON_Delete(d);
    free(text);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
