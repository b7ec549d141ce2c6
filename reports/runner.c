/* runner.c: child processes of this program, a few at a time (sweep, check). */
#include "reports/runner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int runner_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int runner_tmpdir(const char *prefix, char *out, size_t n, struct sim_err *err)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    snprintf(out, n, "%s/%s-XXXXXX", tmp, prefix);
    if (!mkdtemp(out))
        return sim_err_at(err, SIM_EIO, tmp, 0, 0, "cannot create a temporary folder: %s",
                          strerror(errno));
    return SIM_OK;
}

void runner_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static int spawn(const char *exe, char **argv, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return errno;
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    /* argv[0] of the child is its program name; the job's argv follows it */
    size_t n = 0;
    while (argv[n])
        n++;
    char **args = calloc(n + 2, sizeof *args);
    if (!args) {
        posix_spawn_file_actions_destroy(&fa);
        return ENOMEM;
    }
    args[0] = (char *)"llmcap";
    for (size_t i = 0; i < n; i++)
        args[i + 1] = argv[i];
    int rc = posix_spawn(pid, exe, &fa, NULL, args, environ);
    free(args);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

int runner_run(struct runner_job *jobs, size_t n, int parallel, runner_done_fn done, void *ctx,
               volatile sig_atomic_t *stop, struct sim_err *err)
{
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return sim_err_set(err, SIM_EIO, "cannot find this program (/proc/self/exe): %s",
                           strerror(errno));
    exe[len] = '\0';
    if (parallel < 1)
        parallel = 1;
    pid_t *pids = calloc(n ? n : 1, sizeof *pids);
    if (!pids)
        return sim_err_set(err, SIM_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        jobs[i].exit_code = -1;
    size_t next = 0;
    int running = 0;
    bool stopping = false;
    fflush(NULL);
    while (running > 0 || (next < n && !stopping)) {
        while (!stopping && running < parallel && next < n) {
            if (stop && *stop) {
                stopping = true;
                break;
            }
            size_t i = next++;
            int rc = spawn(exe, jobs[i].argv, &pids[i]);
            if (rc != 0) {
                pids[i] = 0;
                jobs[i].exit_code = -1;
                if (done)
                    done(ctx, i, &jobs[i]);
                continue;
            }
            running++;
        }
        if (running == 0)
            break;
        int status = 0;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR) {
                if (stop && *stop && !stopping) {
                    stopping = true;
                    for (size_t i = 0; i < next; i++)
                        if (pids[i] > 0)
                            kill(pids[i], SIGTERM);
                }
                continue;
            }
            break; /* ECHILD: nothing left */
        }
        for (size_t i = 0; i < next; i++) {
            if (pids[i] != pid)
                continue;
            pids[i] = 0;
            running--;
            jobs[i].exit_code = WIFEXITED(status)     ? WEXITSTATUS(status)
                                : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                                      : -1;
            if (done)
                done(ctx, i, &jobs[i]);
            break;
        }
    }
    free(pids);
    if (stopping || (stop && *stop))
        return sim_err_set(err, SIM_EINTR, "interrupted");
    return SIM_OK;
}
