/*
 * fleet.c: the Deployment and its pods: creation and scale-in as the ReplicaSet
 * controller does them, scheduling onto nodes with free GPUs, start-up (image pull,
 * weight load, engine initialisation), readiness, and graceful termination.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"

static int64_t secs_to_us(double s)
{
    return (int64_t)llround(s * 1e6);
}

/* ---- recording -------------------------------------------------------------------- */

static void record_pod(struct sim *s, const struct replica *rp)
{
    const struct sim_sink *sink = s->opt.sink;
    if (!sink || !sink->pod)
        return;
    struct rec_pod row = {
        .pod_id = rp->idx,
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
    };
    int rc = sink->pod(sink->ctx, &row);
    if (rc != SIM_OK && s->sink_rc == SIM_OK) {
        s->sink_rc = rc;
        sim_err_set(&s->sink_err, rc, "could not record a pod");
        s->stopping = true;
    }
}

/* Advance the replica-time integrals to now (before any change of the counts). */
static void account(struct sim *s)
{
    double dt = (double)(s->now_us - s->acct_us) * 1e-6;
    s->ready_pod_s += dt * s->n_ready;
    s->node_pod_s += dt * s->n_on_node;
    s->acct_us = s->now_us;
}

/* ---- ready set ---------------------------------------------------------------------- */

static void ready_add(struct sim *s, struct replica *rp)
{
    account(s);
    rp->ready_pos = s->n_ready;
    s->ready[s->n_ready++] = rp;
    if (s->n_ready > s->peak_ready)
        s->peak_ready = s->n_ready;
}

static void ready_remove(struct sim *s, struct replica *rp)
{
    int32_t i = rp->ready_pos;
    SIM_ASSERT(i >= 0 && i < s->n_ready && s->ready[i] == rp);
    account(s);
    /* Keep the order (round-robin fairness); scale-in is rare. */
    memmove(&s->ready[i], &s->ready[i + 1], (size_t)(s->n_ready - i - 1) * sizeof *s->ready);
    s->n_ready--;
    for (int32_t k = i; k < s->n_ready; k++)
        s->ready[k]->ready_pos = k;
    if (s->rr_next > i)
        s->rr_next--;
    if (s->n_ready == 0 || s->rr_next >= s->n_ready)
        s->rr_next = 0;
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

static void become_ready(struct sim *s, struct replica *rp)
{
    rp->phase = POD_READY;
    rp->ready_us = s->now_us;
    rp->busy_us_scraped = rp->eng.busy_us;
    if (scrape_pod_up(s, rp) != SIM_OK)
        oom(s);
    ready_add(s, rp);
    sim_dispatch_gateway(s);
}

static void start_on_node(struct sim *s, struct replica *rp, struct node *n)
{
    const struct startup_spec *st = &s->sc->engine.startup;
    n->gpus_free -= s->sc->engine.tensor_parallel_size;
    n->n_pods++;
    account(s);
    s->n_on_node++;
    rp->node = n->id;
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
    int32_t tp = s->sc->engine.tensor_parallel_size, w = 0;
    for (int32_t i = 0; i < s->n_pending; i++) {
        struct replica *rp = s->pending[i];
        struct node *n = cluster_find_node(s, tp);
        if (n)
            start_on_node(s, rp, n);
        else
            s->pending[w++] = rp;
    }
    s->n_pending = w;
    if (s->n_pending > 0)
        cluster_pods_pending(s);
}

static void pod_gone(struct sim *s, struct replica *rp, const char *reason)
{
    if (rp->phase_ev) {
        evq_cancel(s->q, rp->phase_ev);
        rp->phase_ev = 0;
    }
    if (rp->ready_pos >= 0)
        ready_remove(s, rp);
    rp->phase = POD_GONE;
    rp->gone_us = s->now_us;
    rp->end_reason = reason;
    s->n_live--;
    record_pod(s, rp);
    scrape_pod_gone(s, rp);
    engine_release(&rp->eng);
    if (rp->node >= 0) {
        struct node *n = &s->nodes[rp->node];
        account(s);
        s->n_on_node--;
        n->gpus_free += s->sc->engine.tensor_parallel_size;
        n->n_pods--;
        cluster_gpus_freed(s, n);
        fleet_place_pending(s);
    }
}

static void pod_phase_done(struct sim *s, void *obj, uint64_t arg)
{
    (void)arg;
    struct replica *rp = obj;
    const struct startup_spec *st = &s->sc->engine.startup;
    struct node *n = &s->nodes[rp->node];
    rp->phase_ev = 0;
    switch (rp->phase) {
    case POD_PULLING:
        n->image_cached = true;
        rp->pulled_us = s->now_us;
        rp->phase = POD_LOADING;
        next_phase_at(s, rp, s->now_us + secs_to_us(s->weights_gib_total / st->weights_gib_per_s));
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
    case POD_STARTING:
        n->compile_cached = true;
        become_ready(s, rp);
        break;
    case POD_TERMINATING:
        /* The grace period ended with requests still in flight. */
        engine_evict_all(s, rp, s->sc->engine.termination.on_unfinished);
        pod_gone(s, rp, rp->end_reason ? rp->end_reason : "scaled-in");
        sim_dispatch_gateway(s);
        break;
    default:
        SIM_ASSERT(!"unexpected pod phase event");
    }
}

static struct replica *pod_new(struct sim *s)
{
    if (s->n_pods == s->cap_pods) {
        int32_t cap = s->cap_pods ? s->cap_pods * 2 : 16;
        struct replica **p = sim_reallocarray(s->pods, (size_t)cap, sizeof *p);
        if (!p)
            return NULL;
        s->pods = p;
        struct replica **r = sim_reallocarray(s->ready, (size_t)cap, sizeof *r);
        if (!r)
            return NULL;
        s->ready = r;
        struct replica **q = sim_reallocarray(s->pending, (size_t)cap, sizeof *q);
        if (!q)
            return NULL;
        s->pending = q;
        s->cap_pods = cap;
    }
    struct replica *rp = calloc(1, sizeof *rp);
    if (!rp || engine_init(&rp->eng, &s->ep, NULL) != SIM_OK) {
        free(rp);
        return NULL;
    }
    rp->idx = s->n_pods;
    s->pods[s->n_pods++] = rp;
    rp->node = -1;
    rp->ready_pos = -1;
    rp->created_us = s->now_us;
    rp->scheduled_us = rp->pulled_us = rp->loaded_us = rp->ready_us = -1;
    rp->terminating_us = rp->gone_us = -1;
    rp->phase = POD_PENDING;
    s->n_live++;
    return rp;
}

/* A new pod of the Deployment: Pending until a node has its GPUs. */
static void create_pod(struct sim *s)
{
    struct replica *rp = pod_new(s);
    if (!rp) {
        oom(s);
        return;
    }
    s->pending[s->n_pending++] = rp;
    fleet_place_pending(s);
}

static void terminate_pod(struct sim *s, struct replica *rp, int64_t grace_us,
                          const char *reason)
{
    if (rp->phase == POD_PENDING) {
        for (int32_t i = 0; i < s->n_pending; i++)
            if (s->pending[i] == rp) {
                memmove(&s->pending[i], &s->pending[i + 1],
                        (size_t)(s->n_pending - i - 1) * sizeof *s->pending);
                s->n_pending--;
                break;
            }
        pod_gone(s, rp, reason);
        return;
    }
    if (rp->phase == POD_TERMINATING) {
        /* Already draining: a shorter deadline (a node going away) cuts the grace. */
        if (rp->phase_ev && evq_time(s->q, rp->phase_ev) > s->now_us + grace_us) {
            evq_cancel(s->q, rp->phase_ev);
            next_phase_at(s, rp, s->now_us + grace_us);
        }
        rp->end_reason = reason;
        return;
    }
    if (rp->phase != POD_READY) {
        /* Still starting: nothing to drain. */
        pod_gone(s, rp, reason);
        return;
    }
    ready_remove(s, rp);
    rp->phase = POD_TERMINATING;
    rp->terminating_us = s->now_us;
    rp->end_reason = reason;
    if (rp->outstanding == 0) {
        pod_gone(s, rp, reason);
        return;
    }
    next_phase_at(s, rp, s->now_us + grace_us);
}

void fleet_request_ended(struct sim *s, struct replica *rp)
{
    if (rp->phase == POD_TERMINATING && rp->outstanding == 0)
        pod_gone(s, rp, rp->end_reason ? rp->end_reason : "scaled-in");
}

/*
 * The order in which the ReplicaSet controller deletes pods (controller.ActivePodsWithRanks
 * in kubernetes/pkg/controller/controller_utils.go): unscheduled before scheduled, Pending
 * (pulling the image) before Running, not ready before ready, ready for less time before
 * longer, newer before older.
 */
static int victim_cmp(const struct replica *a, const struct replica *b)
{
    int sa = a->node >= 0, sb = b->node >= 0;
    if (sa != sb)
        return sa - sb;
    int ra = a->phase >= POD_LOADING, rb = b->phase >= POD_LOADING;
    if (ra != rb)
        return ra - rb;
    int ya = a->phase == POD_READY, yb = b->phase == POD_READY;
    if (ya != yb)
        return ya - yb;
    if (ya && a->ready_us != b->ready_us)
        return a->ready_us > b->ready_us ? -1 : 1;
    if (a->created_us != b->created_us)
        return a->created_us > b->created_us ? -1 : 1;
    return a->idx > b->idx ? -1 : 1;
}

static int32_t active_count(const struct sim *s)
{
    int32_t n = 0;
    for (int32_t i = 0; i < s->n_pods; i++) {
        enum pod_phase ph = s->pods[i]->phase;
        n += ph != POD_TERMINATING && ph != POD_GONE;
    }
    return n;
}

void fleet_set_desired(struct sim *s, int32_t desired)
{
    SIM_ASSERT(desired >= 0);
    s->desired = desired;
    int32_t current = active_count(s);
    for (; current < desired && !s->stopping; current++)
        create_pod(s);
    while (current > desired) {
        struct replica *victim = NULL;
        for (int32_t i = 0; i < s->n_pods; i++) {
            struct replica *rp = s->pods[i];
            if (rp->phase == POD_TERMINATING || rp->phase == POD_GONE)
                continue;
            if (!victim || victim_cmp(rp, victim) < 0)
                victim = rp;
        }
        if (!victim)
            break; /* cannot happen: `current` counts exactly these pods */
        terminate_pod(s, victim, s->sc->engine.termination.grace_period_us, "scaled-in");
        current--;
    }
}

void fleet_drain_node(struct sim *s, struct node *n, int64_t deadline_us, const char *reason)
{
    int64_t grace = s->sc->engine.termination.grace_period_us;
    if (deadline_us >= 0 && deadline_us - s->now_us < grace)
        grace = deadline_us > s->now_us ? deadline_us - s->now_us : 0;
    for (int32_t i = 0; i < s->n_pods; i++) {
        struct replica *rp = s->pods[i];
        if (rp->node == n->id && rp->phase != POD_GONE)
            terminate_pod(s, rp, grace, reason);
    }
    /* spec.replicas did not change: the ReplicaSet replaces the evicted pods at once. */
    fleet_set_desired(s, s->desired);
}

void fleet_evict_pod(struct sim *s, struct replica *rp, int64_t deadline_us, const char *reason)
{
    int64_t grace = s->sc->engine.termination.grace_period_us;
    if (deadline_us >= 0 && deadline_us - s->now_us < grace)
        grace = deadline_us > s->now_us ? deadline_us - s->now_us : 0;
    if (rp->phase != POD_GONE)
        terminate_pod(s, rp, grace, reason);
    fleet_set_desired(s, s->desired);
}

int32_t fleet_count(const struct sim *s, enum pod_phase phase)
{
    int32_t n = 0;
    for (int32_t i = 0; i < s->n_pods; i++)
        n += s->pods[i]->phase == phase;
    return n;
}

/* ---- setup and end ----------------------------------------------------------------------- */

int fleet_init(struct sim *s, struct sim_err *err)
{
    const struct scenario *sc = s->sc;
    int32_t tp = sc->engine.tensor_parallel_size;
    /* The run starts in steady state: the initial replicas are already Ready on nodes
     * that have the image and a warm compile cache. */
    int32_t initial = s->initial_replicas;
    for (int32_t i = 0; i < initial; i++) {
        struct replica *rp = pod_new(s);
        if (!rp)
            return sim_err_set(err, SIM_ENOMEM, "out of memory for pods");
        struct node *n = cluster_initial_node(s, tp, err);
        if (!n)
            return err ? err->code : SIM_EINVAL;
        n->gpus_free -= tp;
        n->n_pods++;
        s->n_on_node++;
        n->image_cached = true;
        n->compile_cached = true;
        rp->node = n->id;
        rp->scheduled_us = rp->pulled_us = rp->loaded_us = 0;
        become_ready(s, rp);
    }
    s->desired = initial;
    return SIM_OK;
}

void fleet_finish(struct sim *s)
{
    account(s);
    for (int32_t i = 0; i < s->n_pods; i++)
        if (s->pods[i]->phase != POD_GONE)
            record_pod(s, s->pods[i]);
}

void fleet_release(struct sim *s)
{
    for (int32_t i = 0; i < s->n_pods; i++) {
        engine_release(&s->pods[i]->eng);
        scrape_pod_release(s->pods[i]);
        free(s->pods[i]);
    }
    free(s->pods);
    free(s->ready);
    free(s->pending);
    s->pods = s->ready = s->pending = NULL;
    s->n_pods = s->n_ready = s->n_pending = 0;
}
