/* chart.c: frame charts in a gnuplot script and run gnuplot as a separate program. */
#include "reports/chart.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char font[] = "Sans,10";

void chart_quote(FILE *gp, const char *s)
{
    fputc('\'', gp);
    for (; *s; s++) {
        if (*s == '\'')
            fputs("''", gp);
        else if (*s != '\n')
            fputc(*s, gp);
    }
    fputc('\'', gp);
}

void chart_begin(FILE *gp, const char *name, const char *title)
{
    fprintf(gp, "\n# ---- %s\n", name);
    fprintf(gp, "set terminal pngcairo size %d,%d font '%s' noenhanced background rgb 'white'\n",
            CHART_WIDTH, CHART_HEIGHT, font);
    fprintf(gp, "set output '%s.png'\n", name);
    fprintf(gp, "set datafile separator '\\t'\n");
    fprintf(gp, "set title ");
    chart_quote(gp, title);
    fprintf(gp, " font 'Sans,12'\n");
    fprintf(gp, "set grid lc rgb '#dddddd'\nset border lc rgb '#555555'\n");
    fprintf(gp, "set key top left opaque box lc rgb '#cccccc'\n");
    fprintf(gp, "set tics nomirror\n");
}

void chart_end(FILE *gp, const char *name)
{
    fprintf(gp, "set terminal svg size %d,%d font '%s' noenhanced background rgb 'white'\n",
            CHART_WIDTH, CHART_HEIGHT, font);
    fprintf(gp, "set output '%s.svg'\nreplot\nset output\nreset\n", name);
}

int chart_run(const char *dir, const char *script, const char *gnuplot, bool *missing,
              char *failed, size_t n_failed, struct sim_err *err)
{
    const char *prog = gnuplot ? gnuplot : "gnuplot";
    *missing = false;
    if (n_failed)
        failed[0] = '\0';
    int out[2], status_pipe[2];
    if (pipe(out) != 0)
        return sim_err_set(err, SIM_EIO, "cannot run gnuplot: %s", strerror(errno));
    if (pipe(status_pipe) != 0) {
        close(out[0]);
        close(out[1]);
        return sim_err_set(err, SIM_EIO, "cannot run gnuplot: %s", strerror(errno));
    }
    /* The second pipe closes on a successful exec; on a failed one the child writes errno
     * into it, which tells "not installed" from "gnuplot failed". */
    fcntl(status_pipe[1], F_SETFD, FD_CLOEXEC);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(out[0]);
        close(out[1]);
        close(status_pipe[0]);
        close(status_pipe[1]);
        return sim_err_set(err, SIM_EIO, "cannot run gnuplot: %s", strerror(e));
    }
    if (pid == 0) {
        close(out[0]);
        close(status_pipe[0]);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
        }
        dup2(out[1], STDERR_FILENO);
        int e = 0;
        if (chdir(dir) != 0)
            e = errno;
        else {
            char *const argv[] = {(char *)prog, (char *)script, NULL};
            execvp(prog, argv);
            e = errno;
        }
        ssize_t w = write(status_pipe[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(out[1]);
    close(status_pipe[1]);
    char msg[4096];
    size_t len = 0;
    for (;;) {
        ssize_t k = read(out[0], msg + len, sizeof msg - 1 - len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        len += (size_t)k;
        if (len == sizeof msg - 1) {
            char sink[512]; /* keep draining so gnuplot never blocks on a full pipe */
            while (read(out[0], sink, sizeof sink) > 0)
                ;
            break;
        }
    }
    msg[len] = '\0';
    close(out[0]);
    int exec_errno = 0;
    ssize_t got = read(status_pipe[0], &exec_errno, sizeof exec_errno);
    close(status_pipe[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got == (ssize_t)sizeof exec_errno) {
        if (exec_errno == ENOENT || exec_errno == EACCES || exec_errno == ENOTDIR) {
            *missing = true;
            return SIM_OK;
        }
        return sim_err_set(err, SIM_EIO, "cannot run %s in '%s': %s", prog, dir,
                           strerror(exec_errno));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        /* gnuplot's last line that says something ("charts.gp" line N: ...) */
        while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
            msg[--len] = '\0';
        char *line = strrchr(msg, '\n');
        line = line ? line + 1 : msg;
        char why[64];
        if (WIFSIGNALED(status))
            snprintf(why, sizeof why, "killed by signal %d", WTERMSIG(status));
        else
            snprintf(why, sizeof why, "exit status %d, no message", WEXITSTATUS(status));
        snprintf(failed, n_failed, "gnuplot failed on %s: %.400s", script, *line ? line : why);
    }
    return SIM_OK;
}
