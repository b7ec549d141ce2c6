/*
 * replicaset.h: which pods the ReplicaSet controller deletes first when it scales in.
 *
 * kubernetes/kubernetes pkg/controller/controller_utils.go `ActivePodsWithRanks.Less` and
 * pkg/controller/replicaset/replica_set.go `getPodsToDelete` /
 * `getPodsRankedByRelatedPodsOnSameNode` (v1.33; the rules are unchanged since v1.22,
 * when PodDeletionCost and LogarithmicScaleDown became beta and on by default). The
 * controller ranks the active pods once, sorts them and deletes the first `diff`.
 */
#ifndef LLMCAP_SIM_REPLICASET_H
#define LLMCAP_SIM_REPLICASET_H

#include <stdbool.h>
#include <stdint.h>

/* What the ranking reads of one pod. Times are simulated microseconds; the API server
 * keeps them with whole-second precision (metav1.Time), which rs_less() applies. */
struct rs_pod {
    bool assigned;         /* spec.nodeName set */
    bool running;          /* status.phase Running (else Pending; Unknown does not occur) */
    bool ready;            /* the Ready condition is True */
    int32_t deletion_cost; /* controller.kubernetes.io/pod-deletion-cost (0) */
    int32_t colocated;     /* active pods of the ReplicaSet on the same node, itself included */
    int32_t restarts;      /* the most restartCount of its (regular) containers */
    int64_t ready_us;      /* the Ready condition's lastTransitionTime */
    int64_t created_us;    /* metadata.creationTimestamp */
    uint64_t uid;          /* metadata.uid: random, the tie-break of equal buckets */
};

/*
 * Does `a` go before `b` (deleted first)? With `now_us` the controller's clock:
 * 1. unassigned < assigned; 2. Pending < Running; 3. not ready < ready;
 * 4. lower pod-deletion-cost first; 5. more colocated pods first (doubled up);
 * 6. both ready: ready more recently first, compared in log2 buckets of the time since
 *    (LogarithmicScaleDown), the lower UID first within a bucket;
 * 7. more container restarts first (compareMaxContainerRestarts: the highest restartCount
 *    of the regular containers, then of the sidecars, restartable init containers, which
 *    llmcap's one-container pods do not have); 8. created more recently first, in log2 buckets,
 *    the lower UID first within one. Otherwise false (upstream leaves the rest to an
 *    unstable sort; the UID stands in for that arbitrary order in rs_order()).
 */
bool rs_less(const struct rs_pod *a, const struct rs_pod *b, int64_t now_us);

/* int64(log2(now - t)) in nanoseconds with t cut to whole seconds; -1 when t is not
 * before now (logarithmicRankDiff). Exposed for tests. */
int64_t rs_log_rank(int64_t t_us, int64_t now_us);

/* Sort idx[0..n) (indices into pods) so the pods to delete come first: rs_less, then the
 * UID, so the order is total and the same for any input order. */
void rs_order(const struct rs_pod *pods, int32_t *idx, int32_t n, int64_t now_us);

#endif
