/*
 * evq_hold.c: the event queue alone (sim/core/evq.c), under a hold model shaped like the
 * two-deployment week's queue. Its operations recorded over the first day (18.9 M pops):
 * 17.5 events pending at a pop on average (99% of pops below 100, at most ~1,400), per
 * pop about one push, 0.19 reschedules and 0.001 cancels; pushes 70% engine steps
 * (priority 2, mean 59 ms ahead), 30% arrivals (priority 0, 36 ms), 0.2% control and
 * scrape ticks (priorities 1 and 3) on shared period boundaries.
 *
 * N actors each keep one pending event: actor 0 a 1 s tick, actor 1 a 15 s tick, every
 * 7th from actor 2 on an arrival stream (exponential gaps, mean 36 ms), the others
 * engine steps (2-120 ms). A pop runs its actor, which pushes its next event. After 19%
 * of pops a random step actor's event is rescheduled (2-120 ms after now), after 0.1%
 * one actor's event is cancelled and pushed again. Prints the best ns per pop (with its
 * pushes and updates) over REPS passes and a hash of the popped sequence: two builds of
 * evq.c must print the same hash.
 * Usage: evq_hold [N_ACTORS [POPS [REPS]]]   (defaults 18, 4,000,000, 5)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sim/core/evq.h"

enum kind { K_STEP, K_ARRIVAL, K_TICK1, K_TICK15 };

struct actor {
    enum kind kind;
    evq_handle h;
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

static double unif(void)
{
    return (double)(rnd() >> 11) * 0x1p-53;
}

static void die(const char *what)
{
    fprintf(stderr, "evq_hold: %s\n", what);
    exit(3);
}

static void act(struct sim *s, void *obj, uint64_t arg)
{
    (void)s;
    (void)obj;
    (void)arg;
}

static evq_handle schedule(struct evq *q, const struct actor *a, int64_t now, uint64_t id)
{
    int64_t t;
    uint32_t prio;
    switch (a->kind) {
    case K_STEP:
        t = now + 2000 + (int64_t)(rnd() % 118000);
        prio = 2;
        break;
    case K_ARRIVAL: {
        double u = unif();
        t = now + 1 + (int64_t)(-36000.0 * log(1.0 - u));
        prio = 0;
        break;
    }
    case K_TICK1:
        t = (now / 1000000 + 1) * 1000000;
        prio = 1;
        break;
    default:
        t = (now / 15000000 + 1) * 15000000;
        prio = 3;
        break;
    }
    return evq_push(q, t, prio, act, NULL, id);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 18;
    uint64_t pops = argc > 2 ? strtoull(argv[2], NULL, 10) : 4000000;
    int reps = argc > 3 ? atoi(argv[3]) : 5;
    if (n < 4 || pops == 0 || reps < 1) {
        fprintf(stderr, "usage: evq_hold [N_ACTORS>=4 [POPS [REPS]]]\n");
        return 2;
    }
    struct actor *a = calloc(n, sizeof *a);
    size_t *steps = calloc(n, sizeof *steps);
    if (!a || !steps)
        die("out of memory");
    double best = 1e300;
    uint64_t hash = 0;
    for (int rep = 0; rep < reps; rep++) {
        rng_state = 0x9e3779b97f4a7c15u;
        struct evq *q = evq_new(0, NULL);
        if (!q)
            die("out of memory");
        size_t n_steps = 0;
        for (size_t i = 0; i < n; i++) {
            a[i].kind = i == 0 ? K_TICK1 : i == 1 ? K_TICK15 : i % 7 == 2 ? K_ARRIVAL : K_STEP;
            if (a[i].kind == K_STEP)
                steps[n_steps++] = i;
            a[i].h = schedule(q, &a[i], (int64_t)(rnd() % 1000000), i);
        }
        uint64_t h = 1469598103934665603u;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (uint64_t k = 0; k < pops; k++) {
            struct evq_event e;
            if (!evq_pop(q, &e))
                die("the queue ran empty");
            h = (h ^ e.arg ^ ((uint64_t)e.t_us << 20)) * 1099511628211u;
            struct actor *x = &a[e.arg];
            x->h = schedule(q, x, e.t_us, e.arg);
            uint64_t r = rnd() % 1000;
            if (r < 190 && n_steps) {
                size_t i = steps[rnd() % n_steps];
                (void)evq_reschedule(q, a[i].h, e.t_us + 2000 + (int64_t)(rnd() % 118000));
            } else if (r == 999) {
                size_t i = rnd() % n;
                if (evq_cancel(q, a[i].h))
                    a[i].h = schedule(q, &a[i], e.t_us, i);
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        if (s < best)
            best = s;
        if (rep > 0 && h != hash)
            die("the popped sequence differs between passes");
        hash = h;
        evq_free(q);
    }
    printf("%zu actors, %llu pops: best %.1f ns per pop of %d passes, sequence hash %016llx\n",
           n, (unsigned long long)pops, best * 1e9 / (double)pops, reps,
           (unsigned long long)hash);
    free(a);
    free(steps);
    return 0;
}
