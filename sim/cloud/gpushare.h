/*
 * gpushare.h: GPUs shared between engines during a run (docs/gpu-sharing.md).
 *
 * MIG: a node advertises units_per_gpu slices per GPU; an engine on a slice sizes its KV
 * cache and runs its steps on the slice's GPU (mig_slice_gpu()); slices are isolated,
 * so engines never wait for each other.
 *
 * Time-slicing: a node advertises units_per_gpu (the device plugin's replicas) per GPU;
 * a pod bound to the node lands on the physical GPU with the fewest pods (the device
 * plugin's distributedAlloc, NVIDIA/k8s-device-plugin internal/rm/allocate.go), and the
 * engines on one GPU serialise their iterations: a step that would start while another
 * engine's step on that GPU runs waits until it ends, waiting engines taking the GPU in
 * the order they asked for it (round robin). Memory is not isolated: each engine sizes
 * its KV cache from its own gpu_memory_utilization of the whole GPU (checked at load:
 * the co-located shares must not add up to more than 1).
 *
 * Nothing here allocates per event: the per-GPU state grows with the nodes.
 */
#ifndef LLMCAP_SIM_CLOUD_GPUSHARE_H
#define LLMCAP_SIM_CLOUD_GPUSHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/core/err.h"

struct sim;
struct replica;
struct node;
struct cat_gpu;
struct scenario;
struct deployment;

/*
 * Resolve deployment d's scenario (its pods' resources and the cluster's sharing)
 * against its engine's GPU *g (may be NULL) and set up s->gs (NULL for whole GPUs); called
 * once per deployment, in order. With MIG, *g becomes the slice's GPU (owned by s->gs) for
 * memory sizing and the latency model; deployments may request different profiles of the
 * layout. With time-slicing, the engines one GPU may hold, of every deployment so far, must
 * fit in its memory together. Deployments sharing GPUs run on one GPU model. SIM_EINVAL +
 * err (file:line:col) on a scenario that cannot run (sim/config/gpushare.h).
 */
int gpushare_init(struct sim *s, struct deployment *d, const struct cat_gpu **g,
                  struct sim_err *err);

void gpushare_free(struct sim *s);

/* MIG: the GPU deployment d's engines see (their slice); NULL otherwise. Lives until
 * gpushare_free. */
const struct cat_gpu *gpushare_engine_gpu(const struct sim *s, const struct deployment *d);

/* Allocatable units a node of `gpus` physical GPUs advertises. */
int32_t gpushare_node_units(const struct sim *s, int32_t gpus);

/*
 * MIG with deployments requesting different profiles: each profile is its own extended
 * resource (nvidia.com/mig-<profile>), so the kube-scheduler's view of node n for a pod
 * of d is that profile's allocatable and requested slices; *allocatable and *requested
 * are left as they are otherwise (the node's units).
 */
void gpushare_sched_units(const struct sim *s, const struct deployment *d, const struct node *n,
                          int64_t *allocatable, int64_t *requested);

/* Whether node n has room for one pod of d (its GPU units, or its profile's slices). */
bool gpushare_fits(const struct sim *s, const struct deployment *d, const struct node *n);

/* What one of d's units costs as a share of node n's price: the price is divided by this.
 * n->units, except with MIG slices of different profiles, where a slice is charged its
 * memory slices' share of the GPU's layout (3g.40gb of 2 x 1g.10gb + 2g.20gb + 3g.40gb on
 * an H100: 4 / 8). */
double gpushare_unit_divisor(const struct sim *s, const struct deployment *d,
                             const struct node *n);

/* gpushare_unit_divisor for pod rp on node n as it was when rp was bound (a MIG re-layout
 * may have changed the node's layout since). */
double gpushare_pod_divisor(const struct sim *s, const struct replica *rp, const struct node *n);

/* The weight of one of d's pods in the split of the bill by GPU-time: its GPUs
 * (tensor_parallel_size), or with MIG slices of different profiles its slice's memory
 * slices over the GPU's. */
double gpushare_pod_weight(const struct sim *s, const struct deployment *d);

/* A pod was bound to node n / left it: picks (and frees) its physical GPU. */
void gpushare_bind(struct sim *s, struct replica *rp, const struct node *n);
void gpushare_unbind(struct sim *s, struct replica *rp);

/*
 * The container of rp starts its engine (vLLM's Worker.init_device): true when the GPU's
 * free memory covers its gpu_memory_utilization share, which it then holds until the pod
 * leaves the GPU; false (only with `cluster.gpu_sharing.oom: restart`) when the engines
 * already on its time-sliced GPU leave less than that: vLLM raises "Free memory on device
 * ... is less than desired GPU memory utilization" and the container exits.
 */
bool gpushare_engine_start(struct sim *s, struct replica *rp);

/* `cluster.gpu_sharing.oom: restart_all`: an engine that does not fit in its GPU's free
 * memory takes the GPU out of memory, and every engine holding memory on it dies. */
bool gpushare_oom_kills_all(const struct sim *s);

/* Whether a and b are bound to the same time-sliced physical GPU. */
bool gpushare_same_gpu(const struct replica *a, const struct replica *b);

/* rp's engine died (its container exited): its memory on the GPU is free, it leaves the
 * queue for the GPU and hands the GPU on if its step ran; it stays bound to the GPU. */
void gpushare_engine_stop(struct sim *s, struct replica *rp);

/*
 * The engine of rp wants to start a step: true when it holds its GPU (or has one of its
 * own), false when it was queued behind the engine whose step runs; it is then given the
 * GPU by engine_gpu_granted() when its turn comes.
 */
bool gpushare_acquire(struct sim *s, struct replica *rp);

/* The engine of rp ended its step, or found nothing to run: the GPU goes to the next
 * waiting engine. No-op when rp does not hold it. */
void gpushare_release(struct sim *s, struct replica *rp);

/* Whether the engines of the run take turns on time-sliced GPUs. */
bool gpushare_steps_serialise(const struct sim *s);

/* Whether rp's engine shares its GPU with other engines (fast-forward is off for it). */
bool gpushare_time_sliced(const struct replica *rp);

/*
 * MIG re-layout (`cluster.gpu_sharing.mig.relayout`, docs/gpu-sharing.md): the run's
 * layouts are 0 (the start's) and L = j + 1 for relayout[j]; 1 without MIG or relayout.
 */
int32_t gpushare_n_layouts(const struct sim *s);

/* Node n's layout (-1 while mig-manager re-partitions it). */
int32_t gpushare_node_layout(const struct sim *s, const struct node *n);

/* Node n, with no pod on it, takes layout L (-1: re-partitioning, no slice advertised):
 * its allocatable units (and free ones) become L's requested slices x its GPUs. */
void gpushare_node_set_layout(struct sim *s, struct node *n, int32_t layout);

/* Layout L as its instances per GPU, "7 x 1g.10gb", or with gpus > 0 what a node of that
 * many GPUs advertises, "nvidia.com/mig-1g.10gb: 56" ("" without MIG). */
void gpushare_layout_text(const struct sim *s, int32_t layout, int32_t gpus, char *buf, size_t n);

#endif
