/*
 * catalog.h: the GPU, cloud-instance and LLM catalogs.
 *
 * The catalogs are data, not code: models/data/{gpus,instances,models}.json, each row
 * with its sources and their quality tags ([P] primary, [S] secondary, [D] derived, as
 * in the project's hardware reference). A value that no source gave is JSON null and
 * NAN here; nothing is guessed. docs/catalog.md documents the file layout.
 *
 * A catalog is loaded from a data folder (catalog_new) and may then take user files
 * (catalog_add_file) in the same layout, typically next to a scenario: a user entry adds
 * a new id or replaces the built-in entry with that id, as a whole. Ids are compared
 * case-insensitively; GPU and model ids are lower case, instance ids are spelled as the
 * cloud spells them (`p5.48xlarge`, `Standard_NC24ads_A100_v4`). Listing order is by id
 * (byte order of the lower-cased id), so output is deterministic.
 *
 * Units are in the field names. Strings returned are borrowed: they live as long as the
 * catalog. Errors fill a struct sim_err with "file:line:col" for bad files and a
 * "did you mean" suggestion for unknown ids.
 */
#ifndef LLMCAP_MODELS_CATALOG_H
#define LLMCAP_MODELS_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "models/mig.h"
#include "sim/core/err.h"

#define CAT_ID_MAX 64
#define CAT_NAME_MAX 96

struct catalog;

struct cat_gpu {
    char id[CAT_ID_MAX];          /* "h100-sxm-80gb" */
    char name[CAT_NAME_MAX];      /* "NVIDIA H100 SXM5 80GB" */
    char arch[16];                /* "hopper" | "ampere" | "ada" | "turing" | "" */
    double memory_gb;             /* as published ("80 GB"); NAN if not found */
    char memory_type[16];         /* "HBM3", "GDDR6", "" */
    double memory_mib_k8s;        /* Kubernetes GPU-memory label (MiB); NAN if not known */
    /*
     * [D] bytes the sizing uses: memory_mib_k8s * 2^20 when known; otherwise
     * memory_gb * 2^30 for HBM parts (an "80 GB" HBM card has 81920 MiB, as the H100 label
     * shows) and memory_gb * 10^9 for GDDR parts (the "24 GB" L4/A10G label is 22888 MiB
     * = 24.0e9 B). See docs/catalog.md.
     */
    double memory_bytes;
    double bandwidth_gb_per_s;    /* HBM/GDDR bandwidth, 1e9 B/s */
    double bf16_tflops;           /* dense tensor throughput, 1e12 FLOP/s; NAN = not found */
    double fp16_tflops;
    double fp8_tflops;
    double int8_tops;
    bool bf16_supported, fp8_supported, int8_supported; /* false: the hardware lacks it */
    double compute_capability;    /* CUDA compute capability (8.9 for sm_89); NAN = unknown.
                                     vLLM's kernel choices follow it (plan/support.c) */
    double tdp_w;
    char interconnect[16];        /* "nvlink" or "" (unknown / PCIe) */
    double interconnect_gb_per_s; /* GPU-to-GPU bandwidth per direction; NAN = unknown */
    const char *notes;            /* borrowed, never NULL */
    const char *sources;          /* "[S] a; [P] b" (borrowed, never NULL) */
    const char *origin;           /* file the entry came from (borrowed) */
    struct mig_spec mig;          /* MIG profiles (models/mig.h); n_profiles 0: no MIG */
    const char *mig_sources;      /* sources of `mig` ("" when none; borrowed) */
};

struct cat_spot_zone {
    char zone[32];                /* "use1-az2", "eastus" */
    double usd_per_hour;
    bool local_zone;              /* an AWS Local Zone: not in min/median */
    bool likely_no_capacity;      /* priced at on-demand: not in min/median */
};

struct cat_instance {
    char id[CAT_ID_MAX];          /* as the cloud spells it */
    char cloud[8];                /* "aws" | "azure" */
    char gpu[CAT_ID_MAX];         /* a cat_gpu id */
    int n_gpus;
    double vcpu;
    double memory_gib;            /* NAN when not collected */
    double gpu_memory_mib_k8s;    /* NAN when not collected */
    double local_nvme_gb;         /* NAN when not collected */
    double allocatable_cpu_m;     /* Karpenter's node allocatable; NAN when not known */
    double allocatable_memory_mib;
    double on_demand_usd_per_hour;
    char on_demand_region[32];
    char on_demand_date[16];      /* YYYY-MM-DD of the price file */
    const char *on_demand_source; /* borrowed */
    /* Spot: per-zone prices as collected; n_spot_zones == 0 when there is no price. */
    const struct cat_spot_zone *spot_zones;
    size_t n_spot_zones;
    double spot_min_usd_per_hour;    /* over zones that are not flagged; NAN if none */
    double spot_median_usd_per_hour; /* median of the same zones (mean of the two middle) */
    char spot_region[32];
    char spot_date[16];           /* "" when the collection date was not recorded */
    const char *spot_source;      /* borrowed, "" when no spot price */
    double spot_notice_s;         /* interruption notice: AWS 120, Azure 30 */
    const char *notes;
    const char *sources;
    const char *origin;
};

struct cat_model {
    char id[CAT_ID_MAX];          /* "llama-3-8b" */
    char name[CAT_NAME_MAX];
    char hf_id[CAT_NAME_MAX];     /* the Hugging Face repo vLLM serves it from, which
                                     is vLLM's default served model name and so the
                                     `model_name` label of its metrics
                                     ("meta-llama/Meta-Llama-3-8B-Instruct"); "" = id */
    int num_layers;
    int hidden_size;
    int num_heads;
    int num_kv_heads;
    int head_dim;
    int intermediate_size;        /* per expert for MoE */
    int vocab_size;
    int64_t max_position_embeddings; /* 0 when not collected */
    int sliding_window;           /* 0 = none */
    int num_experts;              /* 0 = dense */
    int experts_top_k;
    bool qkv_bias;
    bool tie_word_embeddings;
    double params_total_b;        /* as published/derived in the catalog, 1e9 */
    double params_active_b;
    const char *notes;
    const char *sources;
    const char *origin;
};

/*
 * The data folder: $LLMCAP_DATA_DIR when set and not empty, else the folder compiled in
 * (models/data of the source tree). Borrowed.
 */
const char *catalog_default_dir(void);

/*
 * Load gpus.json, instances.json and models.json from `dir` (NULL: catalog_default_dir()).
 * Caller owns: catalog_free(). NULL + err on a missing or bad file (file:line:col).
 */
struct catalog *catalog_new(const char *dir, struct sim_err *err);

/*
 * Add the entries of a user file (same layout; any of "gpus", "instances", "models").
 * An id already present is replaced as a whole. The whole file is checked before any
 * entry is applied: on error nothing changes. SIM_EINVAL/SIM_ENOENT + err.
 */
int catalog_add_file(struct catalog *c, const char *path, struct sim_err *err);

void catalog_free(struct catalog *c);

/*
 * Look an id up (case-insensitive). NULL + err (SIM_ENOENT) when unknown:
 * "unknown gpu 'h100'; did you mean 'h100-nvl-94gb', 'h100-sxm-80gb' or
 * 'h100-pcie-80gb'? (see 'llmcap catalog gpus')". Instances also check that their GPU
 * exists when the catalog is loaded.
 */
const struct cat_gpu *catalog_gpu(const struct catalog *c, const char *id,
                                  struct sim_err *err);
const struct cat_instance *catalog_instance(const struct catalog *c, const char *id,
                                            struct sim_err *err);
const struct cat_model *catalog_model(const struct catalog *c, const char *id,
                                      struct sim_err *err);

/* Iteration in listing order: i in [0, catalog_n_*). Borrowed.
 * Entry pointers (from lookups or iteration) stay valid until the next
 * catalog_add_file() or catalog_free(); the strings they point to live until
 * catalog_free(). */
size_t catalog_n_gpus(const struct catalog *c);
size_t catalog_n_instances(const struct catalog *c);
size_t catalog_n_models(const struct catalog *c);
const struct cat_gpu *catalog_gpu_at(const struct catalog *c, size_t i);
const struct cat_instance *catalog_instance_at(const struct catalog *c, size_t i);
const struct cat_model *catalog_model_at(const struct catalog *c, size_t i);

/*
 * The `llmcap catalog gpus|instances|models` tables: a header line, then one line per
 * entry in listing order, fixed columns separated by two spaces, "-" for a value no
 * source gave, numbers in %g-style fixed formats. Returns 0, or SIM_EIO when writing
 * fails. Column order (documented in docs/catalog.md, stable for scripts):
 *   gpus:      id memory_gb type bandwidth_gb_per_s bf16_tflops fp8_tflops int8_tops
 *              tdp_w interconnect_gb_per_s sources
 *   instances: id cloud gpu n_gpus vcpu memory_gib on_demand_usd_per_hour
 *              spot_min_usd_per_hour spot_median_usd_per_hour region
 *   models:    id layers hidden heads kv_heads head_dim intermediate vocab max_pos
 *              experts params_b kv_kib_per_token_16bit
 */
int catalog_write_gpus(const struct catalog *c, FILE *out);
int catalog_write_instances(const struct catalog *c, FILE *out);
int catalog_write_models(const struct catalog *c, FILE *out);

/* `llmcap catalog mig`: one line per MIG profile of each GPU that has them: gpu profile
 * compute (slices/7) memory (slices/8) memory_gib sms instances placements
 * ({0,4}:4, as nvidia-smi mig -lgipp prints them) sources. */
int catalog_write_mig(const struct catalog *c, FILE *out);

#endif
