/* main.c: the llmcap command line: subcommand dispatch and shared helpers. */
#include <errno.h>
#include <getopt.h>
#include <gsl/gsl_errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "plan/plan.h"
#include "sim/config/scenario.h"

#ifndef LLMCAP_VERSION
#define LLMCAP_VERSION "0.0.0"
#endif
#ifndef LLMCAP_GIT_DESCRIBE
#define LLMCAP_GIT_DESCRIBE "unknown"
#endif

volatile sig_atomic_t cli_stop = 0;

static void on_signal(int sig)
{
    cli_stop = sig; /* non-zero; which signal, for the message */
}

void cli_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

double cli_wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

int cli_load_scenario(struct scenario *sc, const char *path, const char *const *sets,
                      size_t n_sets, struct sim_err *err)
{
    int rc = scenario_load(sc, path, sets, n_sets, err);
    if (rc == SIM_OK && (rc = plan_check(sc, err)) != SIM_OK)
        scenario_release(sc);
    return rc;
}

/* Code points that print as nothing or as another character (zero-width spaces and
 * joiners, direction marks and overrides, word joiners, the byte-order mark, no-break
 * and soft hyphen): a key 'co\u200bunt' would otherwise read as 'count'. */
static bool invisible(unsigned cp)
{
    return cp == 0xa0 || cp == 0xad || (cp >= 0x200b && cp <= 0x200f) ||
           (cp >= 0x2028 && cp <= 0x202f) || (cp >= 0x2060 && cp <= 0x2069) ||
           cp == 0xfeff || cp == 0x180e || cp == 0x3000;
}

/* `in` with invisible code points as \uXXXX and control bytes as \xNN, into out[n]. */
static const char *escape_invisible(const char *in, char *out, size_t n)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && w + 8 < n;) {
        unsigned cp = 0;
        int len = 0;
        if (p[0] >= 0xc2 && p[0] <= 0xdf && (p[1] & 0xc0) == 0x80) {
            cp = ((unsigned)(p[0] & 0x1f) << 6) | (p[1] & 0x3f);
            len = 2;
        } else if (p[0] >= 0xe0 && p[0] <= 0xef && (p[1] & 0xc0) == 0x80 &&
                   (p[2] & 0xc0) == 0x80) {
            cp = ((unsigned)(p[0] & 0x0f) << 12) | ((unsigned)(p[1] & 0x3f) << 6) | (p[2] & 0x3f);
            len = 3;
        }
        if (len && invisible(cp)) {
            w += (size_t)snprintf(out + w, n - w, "\\u%04x", cp);
            p += len;
        } else if (*p < 0x20 || *p == 0x7f) {
            w += (size_t)snprintf(out + w, n - w, "\\x%02x", *p);
            p++;
        } else {
            out[w++] = (char)*p++;
        }
    }
    out[w] = '\0';
    return out;
}

int cli_error(const struct sim_err *e)
{
    char buf[1024], shown[2048];
    fprintf(stderr, "llmcap: %s\n",
            escape_invisible(sim_err_format(e, buf, sizeof buf), shown, sizeof shown));
    return sim_err_exit_code(e->code ? e->code : SIM_EIO);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "llmcap: %s: error: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'llmcap %s --help'.\n", cmd);
    va_end(ap);
    return EXIT_USAGE;
}

static void print_help(const char *cmd, const struct cli_opt *table, size_t n,
                       const char *usage, const char *summary)
{
    printf("usage: llmcap %s %s\n\n%s\n\noptions:\n", cmd, usage, summary);
    for (size_t i = 0; i < n; i++) {
        char left[64];
        if (table[i].short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", table[i].short_name, table[i].name,
                     table[i].arg ? " " : "", table[i].arg ? table[i].arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", table[i].name, table[i].arg ? " " : "",
                     table[i].arg ? table[i].arg : "");
        printf("  %-28s %s\n", left, table[i].help);
    }
    printf("  %-28s %s\n", "-h, --help", "show this help");
}

int cli_parse(int argc, char **argv, const struct cli_opt *table, size_t n,
              const char *usage, const char *summary, struct cli_args *out)
{
    struct option longs[64];
    char shorts[160] = ":h";
    size_t ns = strlen(shorts);
    if (n + 2 > sizeof longs / sizeof longs[0])
        abort();
    for (size_t i = 0; i < n; i++) {
        longs[i] = (struct option){table[i].name, table[i].arg ? required_argument : no_argument,
                                   NULL, 1000 + (int)i};
        if (table[i].short_name) {
            shorts[ns++] = (char)table[i].short_name;
            if (table[i].arg)
                shorts[ns++] = ':';
            shorts[ns] = '\0';
        }
    }
    longs[n] = (struct option){"help", no_argument, NULL, 'h'};
    longs[n + 1] = (struct option){NULL, 0, NULL, 0};
    memset(out, 0, sizeof *out);
    optind = 1;
    opterr = 0;
    const char *cmd = argv[0];
    for (;;) {
        int li = -1;
        int c = getopt_long(argc, argv, shorts, longs, &li);
        if (c == -1)
            break;
        if (c == 'h') {
            print_help(cmd, table, n, usage, summary);
            return -1;
        }
        if (c == '?')
            return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        if (c == ':')
            return cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        int which = -1;
        if (c >= 1000)
            which = c - 1000;
        else
            for (size_t i = 0; i < n; i++)
                if (table[i].short_name == c)
                    which = (int)i;
        if (which < 0)
            return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        if (out->n_opts == sizeof out->opts / sizeof out->opts[0])
            return cli_usage_error(cmd, "too many options");
        out->opts[out->n_opts].which = which;
        out->opts[out->n_opts].value = optarg;
        out->n_opts++;
    }
    out->pos = argv + optind;
    out->n_pos = (size_t)(argc - optind);
    return 0;
}

struct subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
};

static const struct subcommand subcommands[] = {
    {"run", cmd_run, "run a scenario and print its summary (-o DB to keep the results)"},
    {"validate", cmd_validate, "check a scenario (and its trace, engine and models) without running"},
    {"catalog", cmd_catalog, "list the GPUs, instance types and models llmcap knows"},
    {"trace", cmd_trace, "describe a request trace (rows, rate, token lengths)"},
    {"autoscale", cmd_autoscale, "replay KEDA/HPA decisions over a recorded metric series"},
    {"plan", cmd_plan, "find the cheapest fleet that meets the SLOs"},
    {"check", cmd_check, "run scenarios as a CI gate: SLOs and regressions, JUnit XML"},
    {"report", cmd_report, "write a run's report: charts, findings, Markdown and HTML"},
    {"compare", cmd_compare, "compare the headline metrics of runs side by side"},
    {"sweep", cmd_sweep, "run a scenario over a grid of --set values in parallel"},
    {"merge", cmd_merge, "merge results databases (idempotent)"},
    {"export", cmd_export, "write a results table as CSV or JSON Lines"},
    {"calibrate", cmd_calibrate, "fit the step-time model on measured vllm bench serve runs"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: llmcap SUBCOMMAND [options] ...\n\n"
               "llmcap simulates LLM inference fleets on Kubernetes: vLLM engines, the router,\n"
               "autoscaling and nodes, replaying real or synthetic traffic, and reports SLO\n"
               "attainment and cost.\n\nsubcommands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].help);
    fprintf(f, "\nRun 'llmcap SUBCOMMAND --help' for its options. Exit codes: 0 ok, 1 an SLO or\n"
               "check failed, 2 bad usage or input, 3 runtime or I/O failure.\n");
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("llmcap %s (%s), GPL-3.0-or-later\n", LLMCAP_VERSION, LLMCAP_GIT_DESCRIBE);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (!strcmp(cmd, subcommands[i].name))
            return subcommands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "llmcap: error: unknown subcommand '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}

FILE *cli_atomic_open(const char *path, char *tmp, size_t tmp_size, struct sim_err *err)
{
    if (snprintf(tmp, tmp_size, "%s.XXXXXX", path) >= (int)tmp_size) {
        sim_err_set(err, SIM_EINVAL, "'-o': the path is too long");
        return NULL;
    }
    int fd = mkstemp(tmp);
    if (fd >= 0) { /* mkstemp makes 0600: give the file the mode a plain open would */
        mode_t um = umask(0);
        umask(um);
        (void)fchmod(fd, 0666 & ~um);
    }
    FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!out) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        sim_err_at(err, e == ENOENT || e == ENOTDIR ? SIM_EINVAL : SIM_EIO, path, 0, 0,
                   "cannot write '%s': %s", path, strerror(e));
    }
    return out;
}

int cli_atomic_close(FILE *out, const char *tmp, const char *path, int rc, struct sim_err *err)
{
    if (fclose(out) != 0 && rc == SIM_OK)
        rc = sim_err_at(err, SIM_EIO, path, 0, 0, "cannot write '%s': %s", path, strerror(errno));
    if (rc == SIM_OK && rename(tmp, path) != 0)
        rc = sim_err_at(err, SIM_EIO, path, 0, 0, "cannot write '%s': %s", path, strerror(errno));
    if (rc != SIM_OK)
        unlink(tmp);
    return rc;
}
