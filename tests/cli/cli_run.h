/*
 * cli_run.h: run the real llmcap binary (LLMCAP_BIN) from a test and capture what it
 * printed, for the command-line tests in tests/cli/.
 */
#ifndef LLMCAP_TESTS_CLI_RUN_H
#define LLMCAP_TESTS_CLI_RUN_H

#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct cli_result {
    int status;   /* exit code, or 128 + signal */
    char *out;    /* stdout (heap) */
    char *err;    /* stderr (heap) */
};

static inline char *cli_slurp_fd(int fd)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    lseek(fd, 0, SEEK_SET);
    for (;;) {
        if (cap - n < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
            cr_assert_not_null(buf);
        }
        ssize_t got = read(fd, buf + n, cap - n - 1);
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    buf[n] = '\0';
    return buf;
}

/* How to start llmcap: its folder, environment additions ("NAME=value", NULL-terminated)
 * and, when not 0, the user id to run as (a test running as root drops to nobody so that
 * file permissions apply). */
struct cli_env {
    const char *cwd;
    const char *const *env;
    uid_t uid;
};

/* Start llmcap with argv (argv[0] is ignored) as `ce` says, stdout and stderr going to
 * the temp files *out_fd and *err_fd. Returns the child's pid. A child still running after
 * `timeout_s` gets SIGALRM (pending alarms survive exec). */
static inline pid_t cli_spawn_env(const struct cli_env *ce, char *const argv[], unsigned timeout_s,
                           int *out_fd, int *err_fd)
{
    char on[] = "/tmp/llmcap-cli-out-XXXXXX", en[] = "/tmp/llmcap-cli-err-XXXXXX";
    *out_fd = mkstemp(on);
    *err_fd = mkstemp(en);
    cr_assert(*out_fd >= 0 && *err_fd >= 0);
    unlink(on);
    unlink(en);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        if (ce->cwd && chdir(ce->cwd) != 0)
            _exit(125);
        for (const char *const *e = ce->env; e && *e; e++) {
            char kv[512];
            snprintf(kv, sizeof kv, "%s", *e);
            char *eq = strchr(kv, '=');
            if (!eq)
                _exit(123);
            *eq = '\0';
            setenv(kv, eq + 1, 1);
        }
        if (ce->uid && (setgid(ce->uid) != 0 || setuid(ce->uid) != 0))
            _exit(124);
        dup2(*out_fd, STDOUT_FILENO);
        dup2(*err_fd, STDERR_FILENO);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        alarm(timeout_s);
        execv(LLMCAP_BIN, argv);
        _exit(126);
    }
    return pid;
}

static inline pid_t cli_spawn(const char *cwd, char *const argv[], unsigned timeout_s, int *out_fd,
                       int *err_fd)
{
    struct cli_env ce = {cwd, NULL, 0};
    return cli_spawn_env(&ce, argv, timeout_s, out_fd, err_fd);
}

static inline void cli_collect(pid_t pid, int out_fd, int err_fd, struct cli_result *r)
{
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r->out = cli_slurp_fd(out_fd);
    r->err = cli_slurp_fd(err_fd);
    close(out_fd);
    close(err_fd);
}

/* Run llmcap to the end. */
static inline void cli_run(const char *cwd, char *const argv[], unsigned timeout_s,
                    struct cli_result *r)
{
    int o, e;
    pid_t pid = cli_spawn(cwd, argv, timeout_s, &o, &e);
    cli_collect(pid, o, e, r);
}

static inline void cli_result_free(struct cli_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

#endif
