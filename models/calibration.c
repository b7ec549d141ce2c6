/* calibration.c: read calibration files (see calibration.h). */
#include "models/calibration.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/mutil.h"

static int read_params(const struct mu_json *doc, const cJSON *obj, const char *gpu,
                       struct roof_params *p, struct sim_err *err)
{
    if (!cJSON_IsObject(obj))
        return mu_json_err(doc, obj, err, SIM_EINVAL,
                           "'gpus.%s.params' must be an object of parameter values", gpu);
    /* every parameter is required but those added later (roof_param_optional): a file
     * written before them reads as the step model it was fitted with */
    bool present[ROOF_N_PARAMS] = {false};
    for (int i = 0; i < ROOF_N_PARAMS; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, roof_param_names[i]);
        if (!v && roof_param_optional(i))
            continue;
        if (!v)
            return mu_json_err(doc, obj, err, SIM_EINVAL, "'gpus.%s.params' lacks '%s'", gpu,
                               roof_param_names[i]);
        present[i] = true;
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            return mu_json_err(doc, v, err, SIM_EINVAL,
                               "'gpus.%s.params.%s' must be a number", gpu,
                               roof_param_names[i]);
        *roof_param_ref(p, i) = v->valuedouble;
    }
    roof_params_fill_optional(p, present);
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        bool known = false;
        for (int i = 0; i < ROOF_N_PARAMS && !known; i++)
            known = !strcmp(it->string, roof_param_names[i]);
        if (!known) {
            char hint[160];
            return mu_json_err_key(doc, it, err, SIM_EINVAL, "unknown parameter '%s'%s%s",
                                   it->string, "; ",
                                   mu_key_hint(hint, sizeof hint, it->string, roof_param_names,
                                               ROOF_N_PARAMS));
        }
    }
    struct sim_err e2 = {0};
    if (roof_params_check(p, &e2))
        return mu_json_err(doc, obj, err, SIM_EINVAL, "gpus.%s: %s", gpu, e2.msg);
    return SIM_OK;
}

int cal_load(struct cal_file *c, const char *path, struct sim_err *err)
{
    memset(c, 0, sizeof *c);
    struct mu_json doc;
    int rc = mu_json_load(&doc, path, err);
    if (rc)
        return rc;
    const cJSON *root = doc.root;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *gpus = cJSON_GetObjectItemCaseSensitive(root, "gpus");
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(root, "fitted_on");
    if (!cJSON_IsObject(root) || !cJSON_IsString(fmt) || strcmp(fmt->valuestring, CAL_FORMAT)) {
        rc = mu_json_err(&doc, fmt ? fmt : root, err, SIM_EINVAL,
                         "expected a calibration file ('format': '" CAL_FORMAT
                         "', written by llmcap calibrate)");
        goto out;
    }
    if (!cJSON_IsNumber(ver) || ver->valuedouble != 1.0) {
        rc = mu_json_err(&doc, ver ? ver : root, err, SIM_EINVAL,
                         "calibration 'version' must be 1");
        goto out;
    }
    if (!cJSON_IsArray(files)) {
        rc = mu_json_err(&doc, files ? files : root, err, SIM_EINVAL,
                         "'fitted_on' must be a list of {file, sha256}");
        goto out;
    }
    const cJSON *f;
    size_t used = 0;
    cJSON_ArrayForEach(f, files)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(f, "file");
        if (!cJSON_IsString(name)) {
            rc = mu_json_err(&doc, f, err, SIM_EINVAL, "'fitted_on' items need a 'file'");
            goto out;
        }
        const char *base = strrchr(name->valuestring, '/');
        base = base ? base + 1 : name->valuestring;
        int w = snprintf(c->files + used, sizeof c->files - used, "%s%s", c->n_files ? ", " : "",
                         base);
        if (w > 0 && (size_t)w < sizeof c->files - used)
            used += (size_t)w;
        c->n_files++;
    }
    if (!cJSON_IsObject(gpus) || !gpus->child) {
        rc = mu_json_err(&doc, gpus ? gpus : root, err, SIM_EINVAL,
                         "'gpus' must be an object with one entry per GPU type");
        goto out;
    }
    const cJSON *g;
    cJSON_ArrayForEach(g, gpus)
    {
        if (c->n_gpus == CAL_MAX_GPUS) {
            rc = mu_json_err(&doc, g, err, SIM_EINVAL, "more than %d GPU types", CAL_MAX_GPUS);
            goto out;
        }
        struct cal_gpu *cg = &c->gpus[c->n_gpus];
        snprintf(cg->gpu, sizeof cg->gpu, "%s", g->string);
        const cJSON *runs = cJSON_GetObjectItemCaseSensitive(g, "runs");
        cg->runs = cJSON_IsNumber(runs) ? (int)runs->valuedouble : 0;
        if ((rc = read_params(&doc, cJSON_GetObjectItemCaseSensitive(g, "params"), cg->gpu,
                              &cg->p, err)))
            goto out;
        c->n_gpus++;
    }
    rc = SIM_OK;
out:
    mu_json_release(&doc);
    return rc;
}

int cal_params_for(const char *path, const char *gpu, struct roof_params *out, char *note,
                   size_t n, struct sim_err *err)
{
    struct cal_file c;
    int rc = cal_load(&c, path, err);
    if (rc)
        return rc;
    for (int i = 0; i < c.n_gpus; i++)
        if (!mu_strcasecmp(c.gpus[i].gpu, gpu)) {
            *out = c.gpus[i].p;
            snprintf(note, n, "calibrated on %d runs (%s)", c.n_files, c.files);
            return SIM_OK;
        }
    char list[512] = "";
    size_t used = 0;
    for (int i = 0; i < c.n_gpus; i++) {
        int w = snprintf(list + used, sizeof list - used, "%s'%s'", i ? ", " : "", c.gpus[i].gpu);
        if (w > 0 && (size_t)w < sizeof list - used)
            used += (size_t)w;
    }
    return mu_err_at(err, SIM_EINVAL, path, 0, 0,
                     "calibration has no data for gpu '%s'; it covers %s: calibrate on runs "
                     "measured on '%s' or leave 'engine.latency.calibration' out",
                     gpu, list, gpu);
}
