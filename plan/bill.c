/*
 * bill.c: what a plan's fleet costs, billed as the clouds bill.
 *
 * Clouds bill instances, not GPUs: an EC2 instance is billed per second while it runs
 * (Linux, 60 s minimum), an Azure VM per second too, whatever share of its GPUs a team's
 * pods use. A team running one model on its own nodes pays for whole nodes, so the plan
 * packs the replicas onto instances (tensor_parallel_size GPUs each; GPUs/tp replicas a
 * node, fewer where the pods' cpu or memory requests fill the node's allocatable first
 * or its maxPods, less the DaemonSet pods, is reached; ceil to nodes) and bills
 * node-hours; with `plan.gpus` (any instance of the GPU) it takes the node size whose
 * node-hours cost least, so a fleet of one small replica
 * lands on a 1-GPU instance rather than a share of an 8-GPU one. `plan.billing:
 * gpu_share` bills each replica its GPUs' share of an instance instead, which is right
 * only when the nodes' other GPUs run other workloads. docs/plan.md, docs/cost.md.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "models/catalog.h"
#include "plan/plan.h"
#include "sim/config/nodepool.h"

/* The price of one instance-hour with `spot_share` of the hours at the spot price
 * (the catalog's median over zones); NaN when a needed price is missing. */
static double mixed_price(const struct cat_instance *in, double spot_share)
{
    double od = in->on_demand_usd_per_hour, spot = in->spot_median_usd_per_hour;
    return spot_share > 0 ? (1.0 - spot_share) * od + spot_share * spot : od;
}

struct plan_item plan_node_cap(const struct plan_result *r, const struct cat_instance *in,
                               int units)
{
    int64_t cpu_m, memory;
    int32_t pods;
    np_instance_allocatable(in, r->max_pods, &cpu_m, &memory, &pods);
    /* The kube-scheduler's NodeResourcesFit: requested + the pod's <= allocatable, the
     * DaemonSets' pods requested on every node first; every pod counts one of the node's
     * allocatable pods (its kubelet's maxPods: "Too many pods"). */
    cpu_m -= r->ds_cpu_m;
    memory -= r->ds_memory;
    int64_t pod_room = (int64_t)pods - r->ds_pods;
    return (struct plan_item){units, cpu_m > 0 ? cpu_m : 0, memory > 0 ? memory : 0,
                              pod_room > 0 ? (int)pod_room : 0};
}

struct plan_item plan_pod_item(const struct plan_result *r, int size)
{
    return (struct plan_item){size, r->pod_cpu_m, r->pod_memory, 1};
}

int plan_pods_per_node(struct plan_item cap, struct plan_item pod)
{
    int64_t per = pod.units > 0 ? cap.units / pod.units : 0;
    if (pod.cpu_m > 0 && cap.cpu_m / pod.cpu_m < per)
        per = cap.cpu_m / pod.cpu_m;
    if (pod.memory > 0 && cap.memory / pod.memory < per)
        per = cap.memory / pod.memory;
    if (pod.pods > 0 && cap.pods / pod.pods < per)
        per = cap.pods / pod.pods;
    return (int)per;
}

int plan_replicas_per_node(const struct plan_result *r, const struct cat_instance *in)
{
    if (in->n_gpus <= 0 || r->tp <= 0)
        return 0;
    return plan_pods_per_node(plan_node_cap(r, in, in->n_gpus), plan_pod_item(r, r->tp));
}

/* Whether instance `in` can bill result `r`: its GPU, its type when the plan named
 * instances, a GPU count tensor_parallel_size divides and an allocatable that holds at
 * least one replica. */
static bool candidate(const struct plan_result *r, const struct cat_instance *in)
{
    if (strcasecmp(in->gpu, r->gpu) || in->n_gpus <= 0 || in->n_gpus % r->tp != 0)
        return false;
    if (r->instance[0] && strcmp(in->id, r->instance))
        return false;
    return plan_replicas_per_node(r, in) > 0;
}

/* Node-hours of the accepted run on nodes holding `per_node` replicas, or NaN when not
 * measured. */
static double node_hours(const struct plan_result *r, int per_node, int *peak)
{
    for (size_t i = 0; i < r->n_sizes; i++)
        if (r->size_per_node[i] == per_node) {
            *peak = r->size_peak_nodes[i];
            return r->size_node_hours[i];
        }
    *peak = 0;
    return NAN;
}

/* The cheapest per-GPU price among the candidates (GPU share billing). */
static const struct cat_instance *cheapest_per_gpu(const struct plan_result *r,
                                                   const struct catalog *cat, double *per_gpu)
{
    const struct cat_instance *best = NULL;
    *per_gpu = NAN;
    for (size_t i = 0; i < catalog_n_instances(cat); i++) {
        const struct cat_instance *in = catalog_instance_at(cat, i);
        if (strcasecmp(in->gpu, r->gpu) || in->n_gpus <= 0 ||
            (r->instance[0] && strcmp(in->id, r->instance)) || plan_replicas_per_node(r, in) <= 0)
            continue;
        double p = mixed_price(in, r->spot_share) / in->n_gpus;
        if (!isnan(p) && (!best || p < *per_gpu)) {
            best = in;
            *per_gpu = p;
        }
    }
    return best;
}

static void bill_gpu_share(struct plan_result *r, const struct catalog *cat, int32_t est)
{
    double per_gpu;
    const struct cat_instance *in = cheapest_per_gpu(r, cat, &per_gpu);
    r->usd_per_replica_hour = per_gpu * r->tp;
    r->est_cost_usd_per_hour = est * r->usd_per_replica_hour;
    if (!in)
        return;
    snprintf(r->node_type, sizeof r->node_type, "%s", in->id);
    r->gpus_per_node = in->n_gpus;
    r->usd_per_node_hour = mixed_price(in, r->spot_share);
    r->node_hours = r->replica_hours * r->tp / in->n_gpus; /* the GPU share, in nodes */
    r->nodes = 0;
    r->cost_usd = r->replica_hours * r->usd_per_replica_hour;
}

static void bill_whole_nodes(struct plan_result *r, const struct catalog *cat, int32_t est)
{
    double best_cost = NAN;
    r->est_cost_usd_per_hour = NAN;
    for (size_t i = 0; i < catalog_n_instances(cat); i++) {
        const struct cat_instance *in = catalog_instance_at(cat, i);
        if (!candidate(r, in))
            continue;
        double price = mixed_price(in, r->spot_share);
        if (isnan(price))
            continue;
        int per_node = plan_replicas_per_node(r, in);
        double est_usd = ceil((double)est / per_node) * price;
        if (isnan(r->est_cost_usd_per_hour) || est_usd < r->est_cost_usd_per_hour)
            r->est_cost_usd_per_hour = est_usd;
        int peak;
        double nh = node_hours(r, per_node, &peak);
        double cost = nh * price;
        if (isnan(cost) || (!isnan(best_cost) && cost >= best_cost))
            continue;
        best_cost = cost;
        snprintf(r->node_type, sizeof r->node_type, "%s", in->id);
        r->gpus_per_node = in->n_gpus;
        r->usd_per_node_hour = price;
        r->node_hours = nh;
        r->nodes = peak;
        r->usd_per_replica_hour = price / per_node;
    }
    r->cost_usd = best_cost;
}

void plan_bill(struct plan_result *r, const struct catalog *cat)
{
    r->node_type[0] = 0;
    r->gpus_per_node = 0;
    r->nodes = 0;
    r->node_hours = r->usd_per_node_hour = r->usd_per_replica_hour = NAN;
    r->cost_usd = r->usd_per_hour = r->usd_per_mtok = NAN;
    int32_t est = r->max_rate_scale > 0 ? (int32_t)ceil(1.0 / r->max_rate_scale - 1e-9) : 1;
    if (est < 1)
        est = 1;
    if (r->billing == PLAN_BILL_GPU_SHARE)
        bill_gpu_share(r, cat, est);
    else
        bill_whole_nodes(r, cat, est);
    if (!r->feasible)
        r->cost_usd = NAN;
    else if (isnan(r->cost_usd)) {
        snprintf(r->reason, sizeof r->reason, "no %sprice for %s in the catalog",
                 r->spot_share > 0 ? "spot " : "", r->instance[0] ? r->instance : r->gpu);
        r->feasible = false;
    } else {
        r->usd_per_hour = r->run_hours > 0 ? r->cost_usd / r->run_hours : NAN;
        r->usd_per_mtok = r->output_tokens > 0 ? r->cost_usd / (r->output_tokens * 1e-6) : NAN;
    }
}
