/*
 * fleet.c: the Deployment and its pods: creation and scale-in as the ReplicaSet
 * controller does them, scheduling onto nodes with free GPUs, start-up (image pull,
 * weight load, engine initialisation), readiness, and graceful termination.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/cloud/gpushare.h"
#include "sim/serving/kvcache.h"
#include "sim/sim_int.h"

static int64_t secs_to_us(double s)
{
    return (int64_t)llround(s * 1e6);
}

/* The kubelet's container restart back-off (CrashLoopBackOff), Kubernetes v1.33: the
 * entry starts at 10 s (backOffPeriod) and doubles to 5 min (MaxContainerBackOff),
 * pkg/kubelet/kubelet.go; it is forgotten once the container has gone 600 s since its last
 * restart (the kubelet's HasExpiredFunc, 600 s, client-go's default 2 x 5 min; and
 * Backoff.GC at housekeeping). KEP-4603's ReduceDefaultCrashLoopBackOffDecay and
 * KubeletCrashLoopBackOffMax are alpha feature gates, off by default. */
#define KUBELET_BACKOFF_US (10LL * 1000000)
#define KUBELET_MAX_BACKOFF_US (300LL * 1000000)
#define KUBELET_BACKOFF_EXPIRY_US (600LL * 1000000)

/* ---- recording -------------------------------------------------------------------- */

static void record_pod(struct sim *s, const struct replica *rp)
{
    const struct sim_sink *sink = s->opt.sink;
    if (!sink || !sink->pod)
        return;
    struct rec_pod row = {
        .pod_id = rp->seq,
        .node_id = rp->node,
        .created_us = rp->created_us,
        .scheduled_us = rp->scheduled_us,
        .pulled_us = rp->pulled_us,
        .loaded_us = rp->loaded_us,
        .ready_us = rp->ready_us,
        .terminating_us = rp->terminating_us,
        .terminated_us = rp->gone_us,
        .cold_start = rp->cold_start,
        .end_reason = rp->end_reason,
        .deployment = sim_rec_deployment(rp->dep),
    };
    int rc = sink->pod(sink->ctx, &row);
    if (rc != SIM_OK && s->sink_rc == SIM_OK) {
        s->sink_rc = rc;
        sim_err_set(&s->sink_err, rc, "could not record a pod");
        s->stopping = true;
    }
}

/* Advance the replica-time integrals to now (before any change of the counts). */
static void account(struct deployment *d)
{
    struct sim *s = d->s;
    double dt = (double)(s->now_us - d->acct_us) * 1e-6;
    d->ready_pod_s += dt * d->n_ready_pods;
    d->node_pod_s += dt * d->n_on_node;
    d->acct_us = s->now_us;
}

/* ---- ready pods and the router's endpoints ------------------------------------------- */

static void set_ready(struct deployment *d, bool ready)
{
    account(d);
    d->n_ready_pods += ready ? 1 : -1;
    if (d->n_ready_pods > d->peak_ready)
        d->peak_ready = d->n_ready_pods;
}

static void ready_add(struct deployment *d, struct replica *rp)
{
    rp->ready_pos = d->n_ready;
    d->ready[d->n_ready++] = rp;
}

static void ready_remove(struct deployment *d, struct replica *rp)
{
    int32_t i = rp->ready_pos;
    SIM_ASSERT(i >= 0 && i < d->n_ready && d->ready[i] == rp);
    /* Keep the order (round-robin fairness); scale-in is rare. */
    memmove(&d->ready[i], &d->ready[i + 1], (size_t)(d->n_ready - i - 1) * sizeof *d->ready);
    d->n_ready--;
    for (int32_t k = i; k < d->n_ready; k++)
        d->ready[k]->ready_pos = k;
    if (d->rr_next > i)
        d->rr_next--;
    if (d->n_ready == 0 || d->rr_next >= d->n_ready)
        d->rr_next = 0;
    rp->ready_pos = -1;
}

static void oom(struct sim *s)
{
    if (s->sink_rc == SIM_OK) {
        s->sink_rc = SIM_ENOMEM;
        sim_err_set(&s->sink_err, SIM_ENOMEM, "out of memory for a pod");
    }
    s->stopping = true;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static void pod_phase_done(struct sim *s, void *obj, uint64_t arg);

static void next_phase_at(struct sim *s, struct replica *rp, int64_t t_us)
{
    rp->phase_ev = evq_push(s->q, t_us, PRIO_CONTROL, pod_phase_done, rp, 0);
}

static void become_ready(struct deployment *d, struct replica *rp)
{
    struct sim *s = d->s;
    rp->phase = POD_READY;
    rp->ready_us = s->now_us;
    rp->engine_up = true;
    rp->busy_us_scraped = rp->eng.busy_us;
    if (scrape_pod_up(rp) != SIM_OK)
        oom(s);
    set_ready(d, true);
    if (rp->ep_ev) {
        /* Ready again (oom: restart_all) before its old endpoint was removed: it stays. */
        evq_cancel(s->q, rp->ep_ev);
        rp->ep_ev = 0;
    }
    if (rp->ready_pos < 0)
        ready_add(d, rp);
    sim_dispatch_gateway(d);
}

/*
 * The first readiness probe that succeeds once the engine is up at `up_us`. The kubelet's
 * probe worker (pkg/kubelet/prober/worker.go, Kubernetes v1.33) starts when the pod is
 * admitted on its node and probes at once, then every periodSeconds; a probe is skipped
 * while the container has run less than initialDelaySeconds; successThreshold is 1.
 */
static int64_t first_ready_probe(const struct deployment *d, const struct replica *rp, int64_t up_us)
{
    const struct readiness_spec *p = &d->sc->engine.readiness;
    int64_t from = up_us, t0 = rp->scheduled_us;
    if (rp->pulled_us + p->initial_delay_us > from)
        from = rp->pulled_us + p->initial_delay_us;
    if (from <= t0 || p->period_us <= 0)
        return from > t0 ? from : t0;
    return t0 + ceil_div64(from - t0, p->period_us) * p->period_us;
}

static void start_on_node(struct replica *rp, struct node *n)
{
    struct deployment *d = rp->dep;
    struct sim *s = d->s;
    const struct startup_spec *st = &d->sc->engine.startup;
    node_pod_account(n, d, 1);
    account(d);
    d->n_on_node++;
    rp->node = n->id;
    gpushare_bind(s, rp, n);
    rp->scheduled_us = s->now_us;
    rp->phase = POD_PULLING;
    int64_t done;
    if (n->image_cached) {
        done = s->now_us;
    } else if (n->pull_done_us >= s->now_us) {
        done = n->pull_done_us; /* the kubelet pulls an image once per node */
    } else {
        done = s->now_us + secs_to_us(st->image_gib / st->image_pull_gib_per_s);
        n->pull_done_us = done;
    }
    next_phase_at(s, rp, done);
}

void fleet_place_pending(struct sim *s)
{
    int32_t w = 0;
    for (int32_t i = 0; i < s->n_pending; i++) {
        struct replica *rp = s->pending[i];
        struct node *n = cluster_find_node(s, rp->dep);
        if (n)
            start_on_node(rp, n);
        else
            s->pending[w++] = rp;
    }
    s->n_pending = w;
    if (s->n_pending > 0)
        cluster_pods_pending(s);
}

static void pod_gone(struct replica *rp, const char *reason)
{
    struct deployment *d = rp->dep;
    struct sim *s = d->s;
    if (rp->phase_ev) {
        evq_cancel(s->q, rp->phase_ev);
        rp->phase_ev = 0;
    }
    if (rp->phase == POD_READY)
        set_ready(d, false);
    /* A deleted pod stays in the router's endpoints until the removal has propagated:
     * requests sent there meanwhile find the connection refused. */
    if (rp->ready_pos >= 0 && !rp->ep_ev)
        ready_remove(d, rp);
    if (rp->phase == POD_TERMINATING && rp->node >= 0)
        s->nodes[rp->node].n_terminating--;
    rp->phase = POD_GONE;
    rp->gone_us = s->now_us;
    rp->end_reason = reason;
    d->n_live--;
    record_pod(s, rp);
    scrape_pod_gone(rp);
    gpushare_unbind(s, rp);
    engine_release(&rp->eng);
    epp_lru_release(&rp->epp_index);
    if (rp->node >= 0) {
        struct node *n = &s->nodes[rp->node];
        account(d);
        d->n_on_node--;
        node_pod_account(n, d, -1);
        cluster_gpus_freed(s, n);
        fleet_place_pending(s);
    }
}

/* ---- termination ---------------------------------------------------------------------- */

static const char *end_reason(const struct replica *rp)
{
    return rp->end_reason ? rp->end_reason : "scaled-in";
}

/* vLLM's process exits (or is killed): what it still has is aborted, then the pod is gone
 * (its endpoint may linger until router.endpoint_delay has passed). */
static void process_exit(struct replica *rp)
{
    rp->sigterm = true;
    if (rp->outstanding > 0)
        engine_abort_all(rp, OUTCOME_N);
    pod_gone(rp, end_reason(rp));
}

/* The next step of a deleted pod at s->now_us: SIGTERM after the preStop sleep; with
 * --shutdown-timeout the drain's end; SIGKILL at the grace period's end. */
static void termination_step(struct replica *rp)
{
    struct deployment *d = rp->dep;
    struct sim *s = d->s;
    const struct termination_spec *t = &d->sc->engine.termination;
    if (s->now_us >= rp->kill_us || (rp->sigterm && rp->engine_up)) {
        /* SIGKILL, the node's end, or the drain of --shutdown-timeout is over: vLLM
         * aborts what is left and exits. */
        process_exit(rp);
        return;
    }
    /* SIGTERM. vLLM (PR #34730, v0.18) rejects new requests from now on; with
     * --shutdown-timeout 0 it aborts in-flight ones at once, else waits up to the
     * timeout; it exits when it has none left. A container still loading exits. */
    rp->sigterm = true;
    if (rp->outstanding == 0 || t->shutdown_timeout_us == 0 || !rp->engine_up) {
        process_exit(rp);
        return;
    }
    int64_t end = s->now_us + t->shutdown_timeout_us;
    next_phase_at(s, rp, end < rp->kill_us ? end : rp->kill_us);
}

static void endpoint_removed(struct sim *s, void *obj, uint64_t arg)
{
    (void)s;
    (void)arg;
    struct replica *rp = obj;
    struct deployment *d = rp->dep;
    rp->ep_ev = 0;
    if (rp->ready_pos >= 0)
        ready_remove(d, rp);
}

/* A Ready pod stops being Ready: its endpoint leaves the router router.endpoint_delay
 * later (until then requests may still be sent to it). */
static void not_ready(struct deployment *d, struct replica *rp)
{
    struct sim *s = d->s;
    set_ready(d, false);
    if (d->sc->router.endpoint_delay_us > 0)
        rp->ep_ev = evq_push(s->q, s->now_us + d->sc->router.endpoint_delay_us, PRIO_CONTROL,
                             endpoint_removed, rp, 0);
    else
        ready_remove(d, rp);
}

bool fleet_accepts(const struct replica *rp)
{
    return !rp->sigterm && (rp->phase == POD_READY || rp->phase == POD_TERMINATING);
}

/*
 * rp's container has exited now (vLLM's start-up check found too little free memory on
 * its time-sliced GPU, gpushare_engine_start, or the GPU ran out of memory under it): the
 * kubelet restarts it when its back-off allows, as Kubernetes v1.33 does it
 * (kubeGenericRuntimeManager.doBackOff, pkg/kubelet/kuberuntime/kuberuntime_manager.go,
 * with k8s.io/client-go/util/flowcontrol/backoff.go). With F the exit's FinishedAt and
 * (W, L) the container's back-off entry (window, lastUpdate):
 *   - no entry, or F - L > 600 s (hasExpired): IsInBackOffSince is false, the container is
 *     restarted at F and Next creates the entry (10 s, F);
 *   - else it is in back-off while now - F < W: restarted at F + W, where Next doubles the
 *     entry to (min(2W, 5 min), F + W);
 *   - unless Backoff.GC forgets the entry first (now - L > 600 s, run at every housekeeping):
 *     then the kubelet restarts it at L + 600 s as a first exit, entry (10 s, L + 600 s).
 * So the exits of a container that keeps failing at once wait 0, 10, 20, 40, 80, 160, 300,
 * 300 ... s. The kubelet acts on its next pod sync, after the PLEG relist (1 s) has seen
 * the exit and when the pod worker's jittered requeue comes due; that lag (seconds, random)
 * is not modelled: the restart is at the earliest instant the kubelet's check allows
 * (docs/gpu-sharing.md). The pod keeps its node and GPU unit and is never Ready meanwhile;
 * its next start is another try.
 */
static void restart_after_backoff(struct sim *s, struct replica *rp)
{
    int64_t f = s->now_us, at;
    if (rp->bo_us == 0 || f - rp->bo_update_us > KUBELET_BACKOFF_EXPIRY_US) {
        at = f;
        rp->bo_us = KUBELET_BACKOFF_US;
    } else if (f + rp->bo_us <= rp->bo_update_us + KUBELET_BACKOFF_EXPIRY_US) {
        at = f + rp->bo_us;
        rp->bo_us = 2 * rp->bo_us < KUBELET_MAX_BACKOFF_US ? 2 * rp->bo_us : KUBELET_MAX_BACKOFF_US;
    } else {
        at = rp->bo_update_us + KUBELET_BACKOFF_EXPIRY_US;
        rp->bo_us = KUBELET_BACKOFF_US;
    }
    rp->bo_update_us = at;
    rp->restarts++;
    rp->phase = POD_PULLING;
    next_phase_at(s, rp, at);
}

static void crash_loop(struct sim *s, struct replica *rp)
{
    rp->dep->res.engine_failed_starts++;
    restart_after_backoff(s, rp);
}

/*
 * `oom: restart_all` (docs/gpu-sharing.md): the GPU ran out of memory under rp's running
 * container (loading, initialising, serving or draining). Its process dies: what it has in
 * flight is aborted (the client retries), it is no longer Ready (its endpoint leaves the
 * router router.endpoint_delay later; requests sent there meanwhile find the connection
 * refused), its memory is free, and the kubelet restarts the container after its back-off
 * as for a failed start. The restarted vLLM starts empty: no prefix cache. A pod already
 * deleted just ends.
 */
static void container_oom(struct sim *s, struct replica *rp)
{
    struct deployment *d = rp->dep;
    if (rp->phase == POD_TERMINATING) {
        process_exit(rp);
        return;
    }
    if (rp->phase_ev) {
        evq_cancel(s->q, rp->phase_ev);
        rp->phase_ev = 0;
    }
    if (rp->phase == POD_READY) {
        scrape_pod_gone(rp);
        not_ready(d, rp);
    }
    if (rp->outstanding > 0)
        engine_abort_all(rp, OUTCOME_N);
    gpushare_engine_stop(s, rp);
    kv_pool_release(&rp->eng.kv);
    if (kv_pool_init(&rp->eng.kv, d->ep.num_blocks, d->ep.block_size,
                     d->ep.kind == ENGINE_VLLM && d->ep.enable_prefix_caching, d->ep.slab,
                     NULL) != SIM_OK) {
        oom(s);
        return;
    }
    rp->engine_up = false;
    d->res.engine_oom_kills++;
    restart_after_backoff(s, rp);
}

/* rp's engine did not fit in its GPU's free memory. With `oom: restart_all` its
 * allocation takes the GPU out of memory: every other engine holding memory on that GPU
 * dies too (time-slicing has no memory isolation), in the deployments' and pods' order.
 * rp itself then crash-loops as with `oom: restart`. */
static void start_failed(struct sim *s, struct replica *rp)
{
    if (gpushare_oom_kills_all(s)) {
        int32_t pk = 0, pi = 0;
        for (struct replica *x; (x = sim_pod_iter(s, &pk, &pi)) != NULL;)
            if (x != rp && x->gs_mem && x->phase != POD_GONE && gpushare_same_gpu(x, rp))
                container_oom(s, x);
    }
    crash_loop(s, rp);
}

static void pod_phase_done(struct sim *s, void *obj, uint64_t arg)
{
    (void)arg;
    struct replica *rp = obj;
    struct deployment *d = rp->dep;
    const struct startup_spec *st = &d->sc->engine.startup;
    struct node *n = &s->nodes[rp->node];
    rp->phase_ev = 0;
    switch (rp->phase) {
    case POD_PULLING:
        n->image_cached = true;
        if (!gpushare_engine_start(s, rp)) {
            start_failed(s, rp);
            break;
        }
        rp->pulled_us = s->now_us;
        rp->phase = POD_LOADING;
        next_phase_at(s, rp, s->now_us + secs_to_us(d->weights_gib_total / st->weights_gib_per_s));
        break;
    case POD_LOADING: {
        rp->loaded_us = s->now_us;
        rp->phase = POD_STARTING;
        rp->cold_start = st->compile_cache == CACHE_COLD ||
                         (st->compile_cache == CACHE_PER_NODE && !n->compile_cached);
        int64_t init = rp->cold_start ? st->engine_init_cold_us : st->engine_init_us;
        next_phase_at(s, rp, s->now_us + init);
        break;
    }
    case POD_STARTING: {
        if (!rp->engine_up) {
            n->compile_cached = true;
            rp->engine_up = true;
            int64_t t = first_ready_probe(d, rp, s->now_us);
            if (t > s->now_us) {
                next_phase_at(s, rp, t);
                break;
            }
        }
        become_ready(d, rp);
        break;
    }
    case POD_TERMINATING:
        termination_step(rp);
        break;
    default:
        SIM_ASSERT(!"unexpected pod phase event");
    }
}

static struct replica *pod_new(struct deployment *d)
{
    struct sim *s = d->s;
    if (d->n_pods == d->cap_pods) {
        int32_t cap = d->cap_pods ? d->cap_pods * 2 : 16;
        struct replica **p = sim_reallocarray(d->pods, (size_t)cap, sizeof *p);
        if (!p)
            return NULL;
        d->pods = p;
        struct replica **r = sim_reallocarray(d->ready, (size_t)cap, sizeof *r);
        if (!r)
            return NULL;
        d->ready = r;
        struct rs_pod *k = sim_reallocarray(d->rs_pods, (size_t)cap, sizeof *k);
        if (!k)
            return NULL;
        d->rs_pods = k;
        struct replica **o = sim_reallocarray(d->rs_of, (size_t)cap, sizeof *o);
        if (!o)
            return NULL;
        d->rs_of = o;
        int32_t *x = sim_reallocarray(d->rs_idx, (size_t)cap, sizeof *x);
        if (!x)
            return NULL;
        d->rs_idx = x;
        d->cap_pods = cap;
    }
    struct replica *rp = calloc(1, sizeof *rp);
    if (!rp || engine_init(&rp->eng, &d->ep, NULL) != SIM_OK) {
        free(rp);
        return NULL;
    }
    rp->dep = d;
    rp->idx = d->n_pods;
    rp->seq = s->n_pods_made++;
    d->pods[d->n_pods++] = rp;
    rp->uid = (uint64_t)(rng_uniform(s->rng, RNG_REPLICASET) * 0x1.0p53);
    rp->node = -1;
    rp->ready_pos = -1;
    rp->gs_gpu = -1;
    rp->created_us = s->now_us;
    rp->scheduled_us = rp->pulled_us = rp->loaded_us = rp->ready_us = -1;
    rp->terminating_us = rp->gone_us = -1;
    rp->phase = POD_PENDING;
    d->n_live++;
    return rp;
}

/* A new pod of the Deployment: Pending until a node has its GPUs. */
static void create_pod(struct deployment *d)
{
    struct sim *s = d->s;
    if (s->n_pending == s->cap_pending) {
        int32_t cap = s->cap_pending ? s->cap_pending * 2 : 16;
        struct replica **q = sim_reallocarray(s->pending, (size_t)cap, sizeof *q);
        if (!q) {
            oom(s);
            return;
        }
        s->pending = q;
        s->cap_pending = cap;
    }
    struct replica *rp = pod_new(d);
    if (!rp) {
        oom(s);
        return;
    }
    s->pending[s->n_pending++] = rp;
    fleet_place_pending(s);
}

/*
 * Delete a pod with `grace_us` to go (terminationGracePeriodSeconds, or less when its node
 * goes away sooner). The kubelet (pkg/kubelet/kuberuntime/kuberuntime_container.go
 * killContainer, v1.33) runs the preStop hook for at most the grace period, then sends
 * SIGTERM with what is left of it, but at least minimumGracePeriodInSeconds (2 s), and
 * SIGKILL at its end. The pod leaves the router's endpoints router.endpoint_delay after
 * the deletion; until then the router may still send it requests.
 */
static void terminate_pod(struct replica *rp, int64_t grace_us,
                          const char *reason, bool node_ends)
{
    struct deployment *d = rp->dep;
    struct sim *s = d->s;
    const struct termination_spec *t = &d->sc->engine.termination;
    if (rp->phase == POD_PENDING) {
        for (int32_t i = 0; i < s->n_pending; i++)
            if (s->pending[i] == rp) {
                memmove(&s->pending[i], &s->pending[i + 1],
                        (size_t)(s->n_pending - i - 1) * sizeof *s->pending);
                s->n_pending--;
                break;
            }
        pod_gone(rp, reason);
        return;
    }
    if (rp->phase == POD_TERMINATING) {
        /* Already going: a node that ends sooner cuts it short. */
        int64_t end = s->now_us + grace_us;
        if (end < rp->kill_us) {
            rp->kill_us = end;
            if (rp->phase_ev && evq_time(s->q, rp->phase_ev) > end) {
                evq_cancel(s->q, rp->phase_ev);
                next_phase_at(s, rp, end);
            }
        }
        rp->end_reason = reason;
        return;
    }
    if (rp->phase == POD_PULLING) {
        /* No container running yet: nothing to stop. */
        pod_gone(rp, reason);
        return;
    }
    if (rp->phase_ev) {
        evq_cancel(s->q, rp->phase_ev);
        rp->phase_ev = 0;
    }
    if (rp->phase == POD_READY)
        not_ready(d, rp);
    rp->phase = POD_TERMINATING;
    if (rp->node >= 0)
        s->nodes[rp->node].n_terminating++;
    rp->terminating_us = s->now_us;
    rp->end_reason = reason;
    int64_t pre = t->pre_stop_us < grace_us ? t->pre_stop_us : grace_us;
    int64_t left = grace_us - pre;
    if (left < 2000000 && !node_ends)
        left = 2000000; /* minimumGracePeriodInSeconds */
    rp->kill_us = s->now_us + pre + left;
    if (pre > 0)
        next_phase_at(s, rp, s->now_us + pre);
    else
        termination_step(rp);
}

void fleet_request_ended(struct replica *rp)
{
    /* After SIGTERM vLLM exits once it has nothing in flight; during preStop it serves. */
    if (rp->phase == POD_TERMINATING && rp->sigterm && rp->outstanding == 0 && !rp->aborting)
        pod_gone(rp, end_reason(rp));
}

static bool pod_active(const struct replica *rp)
{
    return rp->phase != POD_TERMINATING && rp->phase != POD_GONE;
}

static int32_t active_count(const struct deployment *d)
{
    int32_t n = 0;
    for (int32_t i = 0; i < d->n_pods; i++)
        n += pod_active(d->pods[i]);
    return n;
}

/* A container waiting out its CrashLoopBackOff: it has died (rp->restarts counts the
 * deaths) and the kubelet has not created its successor yet. */
static bool in_backoff(const struct replica *rp)
{
    return rp->phase == POD_PULLING && rp->restarts > 0;
}

/*
 * status.containerStatuses[].restartCount of the pod's one container, as the ReplicaSet
 * controller reads it. The kubelet numbers a container when it creates it, one more than
 * the container it replaces (startContainer, pkg/kubelet/kuberuntime/
 * kuberuntime_container.go), and reports the latest container's number
 * (convertToAPIContainerStatuses, pkg/kubelet/kubelet_pods.go; Kubernetes v1.33): during
 * the back-off the count is still the dead container's.
 */
static int32_t api_restart_count(const struct replica *rp)
{
    return rp->restarts - (in_backoff(rp) ? 1 : 0);
}

/* The ReplicaSet deletes `diff` pods: it ranks the active ones once (colocated: active
 * pods on the same node, the unassigned ones together), sorts them by ActivePodsWithRanks
 * (replicaset.h) and deletes the first `diff`. A pod whose container has run is Running
 * from then on, in its back-off too (getPhase, pkg/kubelet/kubelet_pods.go, v1.33: a
 * waiting container with a last termination counts as stopped, and with restartPolicy
 * Always all containers stopped is Running). */
static void scale_in(struct deployment *d, int32_t diff)
{
    struct sim *s = d->s;
    int32_t n = 0;
    for (int32_t i = 0; i < d->n_pods; i++) {
        struct replica *rp = d->pods[i];
        if (!pod_active(rp))
            continue;
        d->rs_of[n] = rp;
        d->rs_pods[n] = (struct rs_pod){
            .assigned = rp->node >= 0,
            .running = rp->phase >= POD_LOADING || rp->restarts > 0,
            .ready = rp->phase == POD_READY,
            .deletion_cost = d->sc->fleet.pod.deletion_cost, /* the template's: equal */
            .restarts = api_restart_count(rp),
            .ready_us = rp->ready_us,
            .created_us = rp->created_us,
            .uid = rp->uid,
        };
        d->rs_idx[n] = n;
        n++;
    }
    for (int32_t i = 0; i < n; i++)
        for (int32_t j = 0; j < n; j++)
            d->rs_pods[i].colocated += d->rs_of[j]->node == d->rs_of[i]->node;
    rs_order(d->rs_pods, d->rs_idx, n, s->now_us);
    for (int32_t k = 0; k < diff && k < n; k++)
        terminate_pod(d->rs_of[d->rs_idx[k]], d->sc->engine.termination.grace_period_us,
                      "scaled-in", false);
}

void fleet_set_desired(struct deployment *d, int32_t desired)
{
    struct sim *s = d->s;
    SIM_ASSERT(desired >= 0);
    d->desired = desired;
    int32_t current = active_count(d);
    for (; current < desired && !s->stopping; current++)
        create_pod(d);
    if (current > desired)
        scale_in(d, current - desired);
}

/* The grace a pod gets when its node ends at deadline_us (< 0: it does not). */
static int64_t grace_until(const struct deployment *d, int64_t deadline_us, bool *node_ends)
{
    struct sim *s = d->s;
    int64_t grace = d->sc->engine.termination.grace_period_us;
    *node_ends = deadline_us >= 0 && deadline_us - s->now_us <= grace;
    if (*node_ends)
        grace = deadline_us > s->now_us ? deadline_us - s->now_us : 0;
    return grace;
}

void fleet_drain_node(struct sim *s, struct node *n, int64_t deadline_us, const char *reason)
{
    for (int32_t k = 0; k < s->n_deps; k++) {
        struct deployment *d = s->deps[k];
        bool node_ends;
        int64_t grace = grace_until(d, deadline_us, &node_ends);
        for (int32_t i = 0; i < d->n_pods; i++) {
            struct replica *rp = d->pods[i];
            if (rp->node == n->id && rp->phase != POD_GONE)
                terminate_pod(rp, grace, reason, node_ends);
        }
        /* spec.replicas did not change: the ReplicaSet replaces the evicted pods at once. */
        fleet_set_desired(d, d->desired);
    }
}

void fleet_evict_pod(struct replica *rp, int64_t deadline_us, const char *reason)
{
    struct deployment *d = rp->dep;
    bool node_ends;
    int64_t grace = grace_until(d, deadline_us, &node_ends);
    if (rp->phase != POD_GONE)
        terminate_pod(rp, grace, reason, node_ends);
    fleet_set_desired(d, d->desired);
}

int32_t fleet_count(const struct deployment *d, enum pod_phase phase)
{
    int32_t n = 0;
    for (int32_t i = 0; i < d->n_pods; i++)
        n += d->pods[i]->phase == phase;
    return n;
}

/* ---- setup and end ----------------------------------------------------------------------- */

int fleet_init(struct deployment *d, struct sim_err *err)
{
    struct sim *s = d->s;
    /* The run starts in steady state: the initial replicas are already Ready on nodes
     * that have the image and a warm compile cache. */
    int32_t initial = d->initial_replicas;
    for (int32_t i = 0; i < initial; i++) {
        struct replica *rp = pod_new(d);
        if (!rp)
            return sim_err_set(err, SIM_ENOMEM, "out of memory for pods");
        struct node *n = cluster_initial_node(s, d, err);
        if (!n)
            return err ? err->code : SIM_EINVAL;
        node_pod_account(n, d, 1);
        d->n_on_node++;
        n->image_cached = true;
        n->compile_cached = true;
        rp->node = n->id;
        gpushare_bind(s, rp, n);
        rp->scheduled_us = rp->pulled_us = rp->loaded_us = 0;
        if (!gpushare_engine_start(s, rp)) {
            start_failed(s, rp); /* an initial pod whose GPU is already full */
            continue;
        }
        become_ready(d, rp);
    }
    d->desired = initial;
    return SIM_OK;
}

void fleet_finish(struct deployment *d)
{
    struct sim *s = d->s;
    account(d);
    for (int32_t i = 0; i < d->n_pods; i++)
        if (d->pods[i]->phase != POD_GONE)
            record_pod(s, d->pods[i]);
}

void fleet_release(struct deployment *d)
{
    for (int32_t i = 0; i < d->n_pods; i++) {
        engine_release(&d->pods[i]->eng);
        epp_lru_release(&d->pods[i]->epp_index);
        scrape_pod_release(d->pods[i]);
        free(d->pods[i]);
    }
    free(d->pods);
    free(d->ready);
    free(d->rs_pods);
    free(d->rs_of);
    free(d->rs_idx);
    d->rs_pods = NULL;
    d->rs_idx = NULL;
    d->pods = d->ready = d->rs_of = NULL;
    d->n_pods = d->n_ready = 0;
}
