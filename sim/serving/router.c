/*
 * router.c: endpoint-picker scoring and its prefix index, rendezvous weights (router.h).
 */
#include "sim/serving/router.h"

#include <stdlib.h>
#include <string.h>

int32_t epp_pick(const struct epp_view *v, int32_t n, int32_t total_blocks,
                 const struct epp_weights *w, int32_t tie_start)
{
    if (n <= 0)
        return -1;
    double qmin = v[0].waiting, qmax = v[0].waiting;
    for (int32_t i = 1; i < n; i++) {
        if (v[i].waiting < qmin)
            qmin = v[i].waiting;
        if (v[i].waiting > qmax)
            qmax = v[i].waiting;
    }
    int32_t best = -1;
    double best_score = 0;
    for (int32_t k = 0; k < n; k++) {
        int32_t i = (tie_start + k) % n;
        double queue = qmax == qmin ? 1.0 : (qmax - v[i].waiting) / (qmax - qmin);
        double kv = 1.0 - v[i].kv_usage;
        double prefix = total_blocks > 0 ? (double)v[i].prefix_match / total_blocks : 0.0;
        double score = w->queue * queue + w->kv_cache * kv + w->prefix * prefix;
        if (best < 0 || score > best_score) {
            best = i;
            best_score = score;
        }
    }
    return best;
}

bool epp_saturated(const struct epp_view *v, int32_t n, const struct epp_saturation *t)
{
    for (int32_t i = 0; i < n; i++)
        if (v[i].age_us <= t->staleness_us && v[i].waiting <= (double)t->queue_depth &&
            v[i].kv_usage <= t->kv_cache_util)
            return false;
    return true;
}

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

uint64_t router_hrw(uint64_t key, int32_t pod)
{
    return mix64(key * 0x9e3779b97f4a7c15u + (uint64_t)pod + 1);
}

int epp_lru_init(struct epp_lru *l, int32_t cap, struct sim_err *err)
{
    memset(l, 0, sizeof *l);
    size_t tab = 1;
    while (tab < 2 * (size_t)cap)
        tab *= 2;
    l->key = malloc((size_t)cap * sizeof *l->key);
    l->prev = malloc((size_t)cap * sizeof *l->prev);
    l->next = malloc((size_t)cap * sizeof *l->next);
    l->free_ids = malloc((size_t)cap * sizeof *l->free_ids);
    l->tab = malloc(tab * sizeof *l->tab);
    if (!l->key || !l->prev || !l->next || !l->free_ids || !l->tab) {
        epp_lru_release(l);
        return sim_err_set(err, SIM_ENOMEM, "out of memory for the endpoint picker's index");
    }
    memset(l->tab, 0xff, tab * sizeof *l->tab);
    l->mask = (uint32_t)(tab - 1);
    l->cap = cap;
    l->head = l->tail = -1;
    for (int32_t i = 0; i < cap; i++)
        l->free_ids[i] = cap - 1 - i;
    l->free_top = cap;
    return SIM_OK;
}

void epp_lru_release(struct epp_lru *l)
{
    free(l->key);
    free(l->prev);
    free(l->next);
    free(l->free_ids);
    free(l->tab);
    memset(l, 0, sizeof *l);
}

static uint32_t slot_of(const struct epp_lru *l, uint64_t h)
{
    uint32_t i = (uint32_t)mix64(h) & l->mask;
    while (l->tab[i] >= 0 && l->key[l->tab[i]] != h)
        i = (i + 1) & l->mask;
    return i;
}

bool epp_lru_has(const struct epp_lru *l, uint64_t h)
{
    return l->cap > 0 && l->tab[slot_of(l, h)] >= 0;
}

static void unlink_id(struct epp_lru *l, int32_t id)
{
    if (l->prev[id] >= 0)
        l->next[l->prev[id]] = l->next[id];
    else
        l->head = l->next[id];
    if (l->next[id] >= 0)
        l->prev[l->next[id]] = l->prev[id];
    else
        l->tail = l->prev[id];
}

static void push_front(struct epp_lru *l, int32_t id)
{
    l->prev[id] = -1;
    l->next[id] = l->head;
    if (l->head >= 0)
        l->prev[l->head] = id;
    else
        l->tail = id;
    l->head = id;
}

static void tab_remove(struct epp_lru *l, uint32_t i)
{
    for (uint32_t j = (i + 1) & l->mask; l->tab[j] >= 0; j = (j + 1) & l->mask) {
        uint32_t k = (uint32_t)mix64(l->key[l->tab[j]]) & l->mask;
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            l->tab[i] = l->tab[j];
            i = j;
        }
    }
    l->tab[i] = -1;
}

void epp_lru_add(struct epp_lru *l, uint64_t h)
{
    if (l->cap <= 0)
        return;
    uint32_t i = slot_of(l, h);
    if (l->tab[i] >= 0) {
        int32_t id = l->tab[i];
        unlink_id(l, id);
        push_front(l, id);
        return;
    }
    if (l->free_top == 0) { /* evict the least recently used */
        int32_t old = l->tail;
        unlink_id(l, old);
        tab_remove(l, slot_of(l, l->key[old]));
        l->free_ids[l->free_top++] = old;
        l->n--;
        i = slot_of(l, h);
    }
    int32_t id = l->free_ids[--l->free_top];
    l->key[id] = h;
    l->tab[i] = id;
    push_front(l, id);
    l->n++;
}
