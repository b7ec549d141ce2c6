/*
 * mig.h: NVIDIA Multi-Instance GPU (MIG) profiles, layouts and slices.
 *
 * A MIG-capable GPU (A100, H100, H200: GA100/GH100) is cut into 8 memory slices and 7
 * compute slices. A GPU instance profile ("3g.40gb") takes g compute slices and a fixed
 * number of memory slices, and may only start at certain memory slices (its
 * placements, as `nvidia-smi mig -lgipp` prints them: "Profile ID 9 Placements:
 * {0,4}:4"). A layout (what the GPU operator's mig-manager applies from a `mig.config`
 * such as `{"3g.40gb": 2}`) is valid when its instances can be placed without two of
 * them sharing a memory slice and their compute slices add up to at most 7: the rule the
 * driver enforces. The catalog (models/data/gpus.json, key "mig") holds each GPU's
 * profiles with their sources; docs/catalog.md and docs/gpu-sharing.md cite them.
 *
 * An engine on one slice sees the slice as its GPU: mig_slice_gpu() derives that GPU's
 * catalog entry (memory of the slice for vLLM's KV sizing; compute and bandwidth shares
 * for the latency models). Nothing here allocates.
 */
#ifndef LLMCAP_MODELS_MIG_H
#define LLMCAP_MODELS_MIG_H

#include <stddef.h>
#include <stdint.h>

#include "sim/core/err.h"

struct cat_gpu;

#define MIG_MAX_PROFILES 8
#define MIG_NAME_MAX 16
#define MIG_MAX_INSTANCES 8 /* instances on one GPU (7 on GA100/GH100) */

struct mig_profile {
    char name[MIG_NAME_MAX]; /* "3g.40gb", as nvidia-smi and the device plugin spell it */
    int compute_slices;      /* g of the GPU's compute slices */
    int memory_slices;       /* of the GPU's memory slices (the placement size) */
    double memory_gib;       /* as `nvidia-smi mig -lgip` prints it; NAN: not collected */
    int sms;                 /* streaming multiprocessors (nvidia-smi "SM"); 0: unknown */
    int max_instances;       /* "Instances Total" */
    uint32_t placements;     /* bit i set: an instance may start at memory slice i */
};

/* One GPU's MIG capability; n_profiles == 0 means the GPU has no MIG. */
struct mig_spec {
    int compute_slices;      /* 7 */
    int memory_slices;       /* 8 */
    size_t n_profiles;
    struct mig_profile profiles[MIG_MAX_PROFILES];
};

/* A layout: how many instances of each profile one GPU holds (mig-parted's
 * `mig-devices`). Entries name profiles of the GPU's mig_spec. */
struct mig_layout_entry {
    char profile[MIG_NAME_MAX];
    int count;
};

struct mig_layout {
    size_t n;
    struct mig_layout_entry e[MIG_MAX_PROFILES];
};

/* The profile named `name` ("3g.40gb"; an "nvidia.com/mig-" or "MIG " prefix is
 * accepted) or NULL. */
const struct mig_profile *mig_profile_find(const struct mig_spec *m, const char *name);

/*
 * Check that `l` can be created on one GPU of `g`: every profile exists, no count is
 * above its profile's maximum, and the instances can be placed (memory slices disjoint,
 * at the profile's placements; compute slices at most m->compute_slices). SIM_OK, or
 * SIM_EINVAL + err saying what is wrong and naming the profiles and their placements
 * ("'3g.40gb: 2' and '4g.40gb: 1' need 12 of the 8 memory slices of h100-sxm-80gb ...").
 * Placement is searched exhaustively (at most 7 instances, 8 start slices).
 */
int mig_layout_check(const struct cat_gpu *g, const struct mig_layout *l, struct sim_err *err);

/* Instances of `profile` in `l` (0 when absent). */
int mig_layout_count(const struct mig_layout *l, const char *profile);

/*
 * Bytes of one instance of `p` on `g`: memory_gib x 2^30 when the catalog has the
 * figure nvidia-smi prints (what CUDA, hence vLLM, sees as the device's total memory),
 * else [D] memory_slices / memory slices of the GPU x the GPU's memory_bytes.
 */
double mig_slice_memory_bytes(const struct cat_gpu *g, const struct mig_profile *p);

/* [modelled] Fraction of the GPU's compute an instance gets: its SMs over the full
 * profile's (7g) SMs when both are known, else compute_slices / compute slices. */
double mig_compute_fraction(const struct cat_gpu *g, const struct mig_profile *p);

/* [modelled] Fraction of the GPU's memory bandwidth: memory_slices / memory slices
 * (each memory slice is its share of the L2 and the memory controllers). */
double mig_bandwidth_fraction(const struct cat_gpu *g, const struct mig_profile *p);

/*
 * The catalog entry an engine on one `p` slice of `g` sees: id "<gpu>/<profile>",
 * memory_bytes the slice's, tensor throughputs scaled by mig_compute_fraction(),
 * bandwidth by mig_bandwidth_fraction(), no GPU-to-GPU link (MIG instances have no
 * P2P/NVLink), no MIG of its own. Strings stay the GPU's (borrowed).
 */
void mig_slice_gpu(const struct cat_gpu *g, const struct mig_profile *p, struct cat_gpu *out);

#endif
