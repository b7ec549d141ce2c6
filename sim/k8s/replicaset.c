/*
 * replicaset.c: the ReplicaSet controller's scale-in order (ActivePodsWithRanks).
 */
#include "sim/k8s/replicaset.h"

#include <math.h>

/* metav1.Time is serialised with whole seconds: what the controller's informer holds. */
static int64_t api_seconds_us(int64_t t_us)
{
    int64_t s = t_us / 1000000;
    if (t_us < 0 && s * 1000000 != t_us)
        s--;
    return s * 1000000;
}

int64_t rs_log_rank(int64_t t_us, int64_t now_us)
{
    int64_t d_ns = (now_us - api_seconds_us(t_us)) * 1000;
    if (d_ns <= 0)
        return -1;
    return (int64_t)log2((double)d_ns);
}

/* Step 6 and 8 under LogarithmicScaleDown: the more recent time first, by buckets. */
static int log_cmp(int64_t ta_us, int64_t tb_us, uint64_t uid_a, uint64_t uid_b,
                   int64_t now_us, bool *decided)
{
    *decided = false;
    if (api_seconds_us(ta_us) == api_seconds_us(tb_us))
        return 0;
    *decided = true;
    int64_t diff = rs_log_rank(ta_us, now_us) - rs_log_rank(tb_us, now_us);
    if (diff == 0)
        return uid_a < uid_b ? -1 : 1;
    return diff < 0 ? -1 : 1;
}

bool rs_less(const struct rs_pod *a, const struct rs_pod *b, int64_t now_us)
{
    if (a->assigned != b->assigned)
        return !a->assigned;
    if (a->running != b->running)
        return !a->running;
    if (a->ready != b->ready)
        return !a->ready;
    if (a->deletion_cost != b->deletion_cost)
        return a->deletion_cost < b->deletion_cost;
    if (a->colocated != b->colocated)
        return a->colocated > b->colocated;
    bool decided;
    if (a->ready && b->ready) {
        int c = log_cmp(a->ready_us, b->ready_us, a->uid, b->uid, now_us, &decided);
        if (decided)
            return c < 0;
    }
    if (a->restarts != b->restarts)
        return a->restarts > b->restarts;
    int c = log_cmp(a->created_us, b->created_us, a->uid, b->uid, now_us, &decided);
    if (decided)
        return c < 0;
    return false;
}

static bool before(const struct rs_pod *pods, int32_t i, int32_t j, int64_t now_us)
{
    if (rs_less(&pods[i], &pods[j], now_us))
        return true;
    if (rs_less(&pods[j], &pods[i], now_us))
        return false;
    return pods[i].uid < pods[j].uid;
}

void rs_order(const struct rs_pod *pods, int32_t *idx, int32_t n, int64_t now_us)
{
    /* Insertion sort: scale-in ranks tens of pods, a few times an hour. */
    for (int32_t i = 1; i < n; i++) {
        int32_t v = idx[i], k = i;
        while (k > 0 && before(pods, v, idx[k - 1], now_us)) {
            idx[k] = idx[k - 1];
            k--;
        }
        idx[k] = v;
    }
}
