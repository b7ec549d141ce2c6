/* podres.c: the cpu and memory of `fleet.pod.resources` (podres.h). */
#include "sim/config/podres.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "sim/config/nodepool.h"
#include "sim/config/ynode.h"

/* Bounds that keep sums over thousands of pods far from int64 overflow: 1e6 cores and
 * 1 PiB per container are beyond any node. */
#define MAX_CPU_M 1000000000LL
#define MAX_MEMORY (1LL << 50)

/* One quantity `v` named `key`.`name` in messages, in millicores (`cpu`) or bytes,
 * rounded up as Quantity.MilliValue / Value do. */
static int podres_quantity(const struct ynode *v, const char *key, const char *name, bool cpu,
                           int64_t *out, struct sim_err *err)
{
    const char *t = v && v->kind == YNODE_SCALAR && !ynode_is_null(v) ? v->value : NULL;
    double q;
    if (!t || np_parse_quantity(t, &q) != SIM_OK)
        return ynode_fail_at(err, SIM_EINVAL, v,
                             "'%s.%s' must be a Kubernetes quantity >= 0 (%s), got '%s'", key,
                             name, cpu ? "'4', '500m', '1.5'" : "'64Gi', '500Mi', '1e9'",
                             t ? t : ynode_kind_name(v));
    double x = cpu ? q * 1000.0 : q;
    double lim = cpu ? (double)MAX_CPU_M : (double)MAX_MEMORY;
    if (x > lim)
        return ynode_fail_at(err, SIM_EINVAL, v, "'%s.%s' is too large (%s): at most %s", key,
                             name, t, cpu ? "1e6 cores" : "1Pi");
    /* Quantity.MilliValue / Value round up; a value written exactly stays exact. */
    double r = nearbyint(x);
    *out = fabs(x - r) < 1e-6 * (r > 1 ? r : 1) ? (int64_t)r : (int64_t)ceil(x);
    return SIM_OK;
}

int podres_daemonsets_read(const struct ynode *n, struct pod_cpu_mem *out, struct sim_err *err)
{
    memset(out, 0, sizeof *out);
    if (!n || ynode_is_null(n))
        return SIM_OK;
    static const char *const keys[] = {"cpu", "memory", "pods", NULL};
    const char *key = "cluster.daemonset_requests";
    int rc = ynode_check_keys(n, key, keys, err);
    const struct ynode *c = rc ? NULL : ynode_get(n, "cpu"), *m = rc ? NULL : ynode_get(n, "memory");
    const struct ynode *p = rc ? NULL : ynode_get(n, "pods");
    if (!rc && c && !(rc = podres_quantity(c, key, "cpu", true, &out->cpu_m, err)))
        out->cpu_node = c;
    if (!rc && m && !(rc = podres_quantity(m, key, "memory", false, &out->memory, err)))
        out->mem_node = m;
    int64_t pods = 0; /* a kubelet's maxPods is at most 250 on AKS; 1000 bounds any */
    if (!rc && p && !(rc = ynode_as_int64(p, "cluster.daemonset_requests.pods", 0, 1000, &pods,
                                          err)))
        out->pods = (int32_t)pods;
    return rc;
}

int podres_read(const struct ynode *res, const char *key, struct pod_cpu_mem *out,
                struct sim_err *err)
{
    memset(out, 0, sizeof *out);
    if (!res || ynode_is_null(res) || res->kind != YNODE_MAP)
        return SIM_OK; /* shape errors are gpushare_pod_resources_read's */
    static const char *const names[2] = {"cpu", "memory"};
    for (int r = 0; r < 2; r++) {
        int64_t v[2] = {-1, -1}; /* limit, request */
        const struct ynode *at[2] = {NULL, NULL};
        for (int pass = 0; pass < 2; pass++) {
            const struct ynode *m = ynode_get(res, pass ? "requests" : "limits");
            const struct ynode *q = m && m->kind == YNODE_MAP ? ynode_get(m, names[r]) : NULL;
            if (!q)
                continue;
            char k[160];
            snprintf(k, sizeof k, "%s.%s", key, pass ? "requests" : "limits");
            int rc = podres_quantity(q, k, names[r], r == 0, &v[pass], err);
            if (rc)
                return rc;
            at[pass] = q;
        }
        if (v[0] >= 0 && v[1] > v[0])
            return ynode_fail_at(err, SIM_EINVAL, at[1],
                                 "'%s.requests.%s' (%s) must be less than or equal to the %s "
                                 "limit (%s), as the API server requires",
                                 key, names[r], at[1]->value, names[r], at[0]->value);
        int64_t req = v[1] >= 0 ? v[1] : v[0]; /* a limit alone sets the request */
        const struct ynode *n = v[1] >= 0 ? at[1] : at[0];
        if (req < 0)
            continue;
        if (r == 0) {
            out->cpu_m = req;
            out->cpu_node = n;
        } else {
            out->memory = req;
            out->mem_node = n;
        }
    }
    return SIM_OK;
}
