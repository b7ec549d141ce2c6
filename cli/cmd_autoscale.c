/* cmd_autoscale.c: `llmcap autoscale replay`: the autoscaler alone over a metric series. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "sim/k8s/replay.h"

int cmd_autoscale(int argc, char **argv); /* also declared in cli/cli.h */

enum { OPT_SCALEDOBJECT, OPT_HPA, OPT_SERIES, OPT_OUTPUT, OPT_INITIAL };

static const struct cli_opt replay_opts[] = {
    [OPT_SCALEDOBJECT] = {"scaledobject", 0, "FILE", "a KEDA ScaledObject (YAML)"},
    [OPT_HPA] = {"hpa", 0, "FILE", "an autoscaling/v2 HorizontalPodAutoscaler (YAML)"},
    [OPT_SERIES] = {"series", 0, "FILE.csv", "the metric series: t_s,value...[,ready_replicas]"},
    [OPT_OUTPUT] = {"output", 'o', "FILE.csv", "write the decisions here (default: stdout)"},
    [OPT_INITIAL] = {"initial-replicas", 0, "N",
                     "replicas at the start (default: the autoscaler's minimum)"},
};

static const char replay_usage[] =
    "(--scaledobject FILE | --hpa FILE) --series FILE.csv [-o decisions.csv]";
static const char replay_summary[] =
    "Run KEDA and the HPA (or an HPA alone) over a recorded metric series and write one\n"
    "decision row per KEDA poll and per HPA sync. The series has a header: t_s, one value\n"
    "column per trigger (or one for all), and optionally ready_replicas. Replicas follow\n"
    "each decision at once. Values are held from the last row at or before each evaluation;\n"
    "the run ends at the last row.";

static const char *err_text(int e, char *buf, size_t n)
{
    snprintf(buf, n, "%s", strerror(e));
    if (buf[0] >= 'A' && buf[0] <= 'Z')
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

static int usage_top(void)
{
    fprintf(stderr,
            "usage: llmcap autoscale replay %s\n"
            "Try 'llmcap autoscale replay --help'.\n",
            replay_usage);
    return EXIT_USAGE;
}

static int cmd_replay(int argc, char **argv)
{
    struct cli_args a;
    int rc = cli_parse(argc, argv, replay_opts, sizeof replay_opts / sizeof replay_opts[0],
                       replay_usage, replay_summary, &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    const char *cmd = argv[0];
    struct replay_opts o = {NULL, NULL, NULL, -1};
    const char *output = NULL;
    for (size_t i = 0; i < a.n_opts; i++) {
        const char *v = a.opts[i].value;
        switch (a.opts[i].which) {
        case OPT_SCALEDOBJECT:
            o.scaledobject_path = v;
            break;
        case OPT_HPA:
            o.hpa_path = v;
            break;
        case OPT_SERIES:
            o.series_path = v;
            break;
        case OPT_OUTPUT:
            output = v;
            break;
        case OPT_INITIAL: {
            char *end;
            errno = 0;
            long n = strtol(v, &end, 10);
            if (!*v || *end || errno || n < 0 || n > 1000000)
                return cli_usage_error(cmd,
                                       "'--initial-replicas' must be an integer in "
                                       "[0, 1000000], got '%s'",
                                       v);
            o.initial_replicas = (int32_t)n;
            break;
        }
        }
    }
    if (a.n_pos)
        return cli_usage_error(cmd, "unexpected argument '%s'", a.pos[0]);
    /* KEDA creates the HPA itself and its webhook rejects a second HPA on the same target,
     * so the two manifests never drive one workload together */
    if (!o.scaledobject_path == !o.hpa_path)
        return cli_usage_error(cmd, "give exactly one of '--scaledobject' or '--hpa'");
    if (!o.series_path)
        return cli_usage_error(cmd, "'--series' is required");
    FILE *out = stdout;
    char eb[128];
    if (output && !(out = fopen(output, "w"))) {
        struct sim_err e;
        sim_err_at(&e, SIM_EIO, output, 0, 0, "cannot write '%s': %s", output,
                   err_text(errno, eb, sizeof eb));
        return cli_error(&e);
    }
    struct sim_err err;
    sim_err_clear(&err);
    rc = autoscale_replay(&o, out, &err);
    if (out != stdout && fclose(out) && !rc)
        rc = sim_err_at(&err, SIM_EIO, output, 0, 0, "cannot write '%s': %s", output,
                        err_text(errno, eb, sizeof eb));
    if (rc) {
        if (output)
            remove(output); /* no half-written decisions file */
        return cli_error(&err);
    }
    return EXIT_OK;
}

int cmd_autoscale(int argc, char **argv)
{
    if (argc < 2)
        return usage_top();
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("usage: llmcap autoscale replay %s\n\n%s\n", replay_usage, replay_summary);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "replay"))
        return cli_usage_error(argv[0], "unknown action '%s' (expected 'replay')", argv[1]);
    char name[] = "autoscale replay";
    char *sub[256];
    if (argc - 1 > (int)(sizeof sub / sizeof sub[0]) - 1)
        return cli_usage_error(argv[0], "too many arguments");
    sub[0] = name;
    for (int i = 2; i < argc; i++)
        sub[i - 1] = argv[i];
    sub[argc - 1] = NULL;
    return cmd_replay(argc - 1, sub);
}
