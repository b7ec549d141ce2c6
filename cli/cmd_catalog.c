/* cmd_catalog.c: `llmcap catalog gpus|instances|models|mig`: what llmcap knows, with sources. */
#include <stdio.h>
#include <string.h>

#include "models/catalog.h"
#include "cli/cli.h"

enum { OPT_FILE };

static const struct cli_opt catalog_opts[] = {
    [OPT_FILE] = {"catalog", 'c', "FILE", "add your own entries from this file (repeatable)"},
};

int cmd_catalog(int argc, char **argv)
{
    struct cli_args a;
    int rc = cli_parse(argc, argv, catalog_opts, sizeof catalog_opts / sizeof catalog_opts[0],
                       "gpus|instances|models|mig [--catalog FILE]",
                       "List the GPUs, cloud instance types, model architectures or MIG "
                       "profiles in the "
                       "catalog (models/data, see docs/catalog.md), one per line with its "
                       "sources.",
                       &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (a.n_pos != 1)
        return cli_usage_error(argv[0], "expected one of gpus, instances, models, mig");
    const char *what = a.pos[0];
    int (*write)(const struct catalog *, FILE *) = NULL;
    if (!strcmp(what, "gpus"))
        write = catalog_write_gpus;
    else if (!strcmp(what, "instances"))
        write = catalog_write_instances;
    else if (!strcmp(what, "models"))
        write = catalog_write_models;
    else if (!strcmp(what, "mig"))
        write = catalog_write_mig;
    else
        return cli_usage_error(argv[0],
                               "expected one of gpus, instances, models, mig, got '%s'", what);
    struct sim_err err = {0};
    struct catalog *cat = catalog_new(NULL, &err);
    if (!cat)
        return cli_error(&err);
    for (size_t i = 0; i < a.n_opts; i++)
        if (a.opts[i].which == OPT_FILE && catalog_add_file(cat, a.opts[i].value, &err)) {
            catalog_free(cat);
            return cli_error(&err);
        }
    rc = write(cat, stdout);
    catalog_free(cat);
    if (rc) {
        sim_err_set(&err, SIM_EIO, "cannot write the listing");
        return cli_error(&err);
    }
    return EXIT_OK;
}
