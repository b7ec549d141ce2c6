/*
 * evq.h: the event queue at the heart of the simulator.
 *
 * Events are ordered by (t_us, prio, seq): simulated time in int64 microseconds, then a
 * small priority (lower first) for events that must precede others at the same instant,
 * then `seq`, the insertion counter, so equal keys pop in insertion order. Every push
 * returns a handle that cancels the event in O(log n). Storage is a pool of slots and a
 * 4-ary heap of (sort key, slot index) entries that grow by doubling: no allocation per
 * event once the pool has reached the run's high-water mark (evq.c says how the heap is
 * kept fast).
 */
#ifndef LLMCAP_SIM_EVQ_H
#define LLMCAP_SIM_EVQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/core/err.h"

struct sim;

/*
 * The simulated clock's range: no event may be later than 36500 days (100 years) after
 * the start. Every duration a file can give is at most this long too (the readers bound
 * them), so a time on the clock plus a few durations never overflows int64 microseconds;
 * the run loop refuses an event past this limit (a runtime error, exit 3).
 */
#define SIM_CLOCK_MAX_US INT64_C(3153600000000000)
#define SIM_CLOCK_MAX_TEXT "36500d"

/* An event's action: called with the simulation, the object and argument it was pushed
 * with. */
typedef void (*evq_fn)(struct sim *s, void *obj, uint64_t arg);

/* A handle names one pushed event; 0 is never a valid handle ("no event"). */
typedef uint64_t evq_handle;

struct evq_event {
    int64_t t_us;
    uint32_t prio;
    uint64_t seq;
    evq_fn fn;
    void *obj;
    uint64_t arg;
};

struct evq;

/* New empty queue with room for `cap_hint` events. Caller owns: evq_free(). NULL + err on
 * OOM. */
struct evq *evq_new(size_t cap_hint, struct sim_err *err);
void evq_free(struct evq *q); /* NULL is a no-op */

/* Schedule `fn(obj, arg)` at `t_us`. Returns its handle, or 0 when the pool could not
 * grow (out of memory). */
evq_handle evq_push(struct evq *q, int64_t t_us, uint32_t prio, evq_fn fn, void *obj,
                    uint64_t arg);

/* Cancel a pending event. Returns true when it was pending; false for 0, an event that
 * already popped, or one cancelled before (handles are generation-checked, so a stale
 * handle never cancels a newer event that reuses the slot). */
bool evq_cancel(struct evq *q, evq_handle h);

/* Move pending event `h` to `t_us`: the same as cancelling it and pushing its action
 * again at t_us with its priority (a new seq: after every event pushed so far at equal
 * time and priority), in one sift instead of a removal and an insertion; `h` stays its
 * handle. Returns false (and changes nothing) when `h` is not pending. */
bool evq_reschedule(struct evq *q, evq_handle h, int64_t t_us);
/* True when `h` names an event that is still pending. */
bool evq_pending(const struct evq *q, evq_handle h);

/* Time of a pending event (the caller checks evq_pending first). */
int64_t evq_time(const struct evq *q, evq_handle h);

/* Remove the earliest event into `*out`. Returns false when the queue is empty. */
bool evq_pop(struct evq *q, struct evq_event *out);

/* Time of the earliest event, or INT64_MAX when empty. */
int64_t evq_peek_time(const struct evq *q);

size_t evq_len(const struct evq *q);

/* Total pushes so far (the next event's seq). */
uint64_t evq_pushes(const struct evq *q);

#endif
