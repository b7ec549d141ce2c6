/* mig.c: MIG profiles, layout checks and the GPU an engine on a slice sees (mig.h). */
#include "models/mig.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "models/catalog.h"
#include "models/mutil.h"

const struct mig_profile *mig_profile_find(const struct mig_spec *m, const char *name)
{
    if (!strncmp(name, "nvidia.com/mig-", 15))
        name += 15;
    else if (!strncasecmp(name, "MIG ", 4))
        name += 4;
    for (size_t i = 0; i < m->n_profiles; i++)
        if (!strcmp(m->profiles[i].name, name))
            return &m->profiles[i];
    return NULL;
}

int mig_layout_count(const struct mig_layout *l, const char *profile)
{
    int n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->e[i].profile, profile))
            n += l->e[i].count;
    return n;
}

/* Place instances k.. (largest first) on the memory slices not in `used`. */
static bool place(const struct mig_profile *const *inst, int n, int k, uint32_t used,
                  int n_slices)
{
    if (k == n)
        return true;
    const struct mig_profile *p = inst[k];
    uint32_t span = (p->memory_slices >= 32 ? 0xffffffffu : ((1u << p->memory_slices) - 1u));
    for (int s = 0; s < n_slices; s++) {
        if (!(p->placements & (1u << s)) || s + p->memory_slices > n_slices)
            continue;
        uint32_t mask = span << s;
        if (used & mask)
            continue;
        if (place(inst, n, k + 1, used | mask, n_slices))
            return true;
    }
    return false;
}

static void list_profiles(char *buf, size_t n, const struct mig_spec *m)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < m->n_profiles && used < n; i++) {
        int w = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", m->profiles[i].name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* "{0,4}:4" as nvidia-smi mig -lgipp prints a profile's placements. */
static void show_placements(char *buf, size_t n, const struct mig_profile *p)
{
    size_t used = 0;
    buf[0] = '\0';
    int w = snprintf(buf, n, "{");
    used = w > 0 ? (size_t)w : 0;
    bool first = true;
    for (int s = 0; s < 32 && used < n; s++) {
        if (!(p->placements & (1u << s)))
            continue;
        w = snprintf(buf + used, n - used, "%s%d", first ? "" : ",", s);
        used += w > 0 ? (size_t)w : 0;
        first = false;
    }
    if (used < n)
        snprintf(buf + used, n - used, "}:%d", p->memory_slices);
}

int mig_layout_check(const struct cat_gpu *g, const struct mig_layout *l, struct sim_err *err)
{
    const struct mig_spec *m = &g->mig;
    if (m->n_profiles == 0)
        return mu_err_set(err, SIM_EINVAL,
                          "gpu '%s' has no MIG profiles in the catalog (MIG needs an A100, "
                          "H100 or H200)",
                          g->id);
    const struct mig_profile *inst[MIG_MAX_INSTANCES];
    int n = 0, compute = 0, memory = 0;
    char names[160];
    list_profiles(names, sizeof names, m);
    for (size_t i = 0; i < l->n; i++) {
        const struct mig_profile *p = mig_profile_find(m, l->e[i].profile);
        if (!p)
            return mu_err_set(err, SIM_EINVAL,
                              "'%s' is not a MIG profile of %s (it has: %s)", l->e[i].profile,
                              g->id, names);
        int c = mig_layout_count(l, p->name);
        if (l->e[i].count < 0 || c > p->max_instances)
            return mu_err_set(err, SIM_EINVAL,
                              "%d instances of %s on one %s: at most %d fit (nvidia-smi mig "
                              "-lgip 'Instances Total')",
                              c, p->name, g->id, p->max_instances);
        for (int k = 0; k < l->e[i].count; k++) {
            if (n == MIG_MAX_INSTANCES)
                return mu_err_set(err, SIM_EINVAL,
                                  "more than %d MIG instances on one %s", MIG_MAX_INSTANCES,
                                  g->id);
            inst[n++] = p;
            compute += p->compute_slices;
            memory += p->memory_slices;
        }
    }
    if (n == 0)
        return mu_err_set(err, SIM_EINVAL, "a MIG layout needs at least one instance");
    /* largest first: the search then fails fast */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && inst[j]->memory_slices > inst[j - 1]->memory_slices; j--) {
            const struct mig_profile *t = inst[j];
            inst[j] = inst[j - 1];
            inst[j - 1] = t;
        }
    if (compute > m->compute_slices)
        return mu_err_set(err, SIM_EINVAL,
                          "the MIG layout needs %d compute slices; a %s has %d", compute, g->id,
                          m->compute_slices);
    if (memory > m->memory_slices || !place(inst, n, 0, 0, m->memory_slices)) {
        char why[320];
        size_t used = 0;
        why[0] = '\0';
        for (size_t i = 0; i < l->n && used < sizeof why; i++) {
            const struct mig_profile *p = mig_profile_find(m, l->e[i].profile);
            char pl[48];
            show_placements(pl, sizeof pl, p);
            int w = snprintf(why + used, sizeof why - used, "%s%s x%d at %s", i ? ", " : "",
                             p->name, l->e[i].count, pl);
            used += w > 0 ? (size_t)w : 0;
        }
        return mu_err_set(err, SIM_EINVAL,
                          "the MIG layout cannot be placed on one %s: its instances need %d "
                          "of the %d memory slices and no placement keeps them apart "
                          "(%s; nvidia-smi mig -lgipp)",
                          g->id, memory, m->memory_slices, why);
    }
    return SIM_OK;
}

double mig_slice_memory_bytes(const struct cat_gpu *g, const struct mig_profile *p)
{
    if (!isnan(p->memory_gib) && p->memory_gib > 0.0)
        return p->memory_gib * 1073741824.0;
    return g->memory_bytes * p->memory_slices / g->mig.memory_slices;
}

double mig_compute_fraction(const struct cat_gpu *g, const struct mig_profile *p)
{
    int full = 0;
    for (size_t i = 0; i < g->mig.n_profiles; i++)
        if (g->mig.profiles[i].compute_slices == g->mig.compute_slices &&
            g->mig.profiles[i].sms > full)
            full = g->mig.profiles[i].sms;
    if (p->sms > 0 && full > 0)
        return (double)p->sms / full;
    return (double)p->compute_slices / g->mig.compute_slices;
}

double mig_bandwidth_fraction(const struct cat_gpu *g, const struct mig_profile *p)
{
    return (double)p->memory_slices / g->mig.memory_slices;
}

void mig_slice_gpu(const struct cat_gpu *g, const struct mig_profile *p, struct cat_gpu *out)
{
    *out = *g;
    snprintf(out->id, sizeof out->id, "%.40s/%.16s", g->id, p->name);
    snprintf(out->name, sizeof out->name, "%.70s MIG %.16s", g->name, p->name);
    double bytes = mig_slice_memory_bytes(g, p);
    out->memory_bytes = bytes;
    out->memory_gb = bytes / 1073741824.0;
    out->memory_mib_k8s = bytes / 1048576.0;
    double c = mig_compute_fraction(g, p), b = mig_bandwidth_fraction(g, p);
    out->bf16_tflops *= c;
    out->fp16_tflops *= c;
    out->fp8_tflops *= c;
    out->int8_tops *= c;
    out->bandwidth_gb_per_s *= b;
    out->interconnect[0] = '\0';
    out->interconnect_gb_per_s = NAN;
    memset(&out->mig, 0, sizeof out->mig);
}
