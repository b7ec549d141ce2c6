/*
 * kvcache.c: the block pool of kvcache.h. The free queue is an intrusive doubly linked
 * list of nodes: a shared (hashable) block is one node; a run of unhashed blocks freed
 * together (a request's own blocks, or blocks nobody can hit) is one extent node that
 * gives up blocks from its top, as vLLM's queue would give up that request's blocks,
 * freed tail first.
 */
#include "sim/serving/kvcache.h"

#include <stdlib.h>
#include <string.h>

#include "sim/core/slab.h"

#define SEED_HASH 0x6c6c6d6361702d31u /* the hash of "no parent" (vLLM's NONE_HASH) */

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static inline uint64_t chain(uint64_t parent, uint64_t content)
{
    uint64_t h = mix64(parent * 0x9e3779b97f4a7c15u + content);
    return h ? h : 1;
}

static inline int64_t imin64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* ---- content: what the tokens of block j are ------------------------------------ */

/* Leading full blocks whose tokens are shared identities (not the request's own). */
static int32_t share_blocks(const struct kv_pool *p, const struct kv_seq *q)
{
    int64_t t = 0;
    if (q->hids) {
        t = imin64((int64_t)q->n_hids * q->hid_tokens, q->prompt_tokens);
    } else if (q->pfx.n > 0) {
        if (q->pfx.open) {
            t = q->total_tokens;
        } else {
            for (int i = 0; i < q->pfx.n; i++)
                t += q->pfx.len_tokens[i];
            t = imin64(t, q->total_tokens);
        }
    }
    return (int32_t)(t / p->block_size);
}

/* Identity of the tokens of block j (a shareable block: j < n_share): each piece of the
 * block that lies in one hash id or segment contributes (key, offset in it). */
static uint64_t block_content(const struct kv_pool *p, const struct kv_seq *q, int32_t j)
{
    int64_t a = (int64_t)j * p->block_size, b = a + p->block_size;
    uint64_t acc = 0x243f6a8885a308d3u;
    if (q->hids) {
        int64_t ht = q->hid_tokens;
        for (int64_t i = a / ht; i * ht < b; i++) {
            int64_t off = (a > i * ht ? a : i * ht) - i * ht;
            acc = mix64(acc ^ ((uint64_t)q->hids[i] + 1) * 0x9e3779b97f4a7c15u ^
                        (uint64_t)off << 40);
        }
        return acc;
    }
    int64_t start = 0;
    for (int s = 0; s < q->pfx.n && start < b; s++) {
        bool last = s == q->pfx.n - 1;
        int64_t end = last && q->pfx.open ? INT64_MAX : start + q->pfx.len_tokens[s];
        if (end > a) {
            int64_t off = (a > start ? a : start) - start;
            acc = mix64(acc ^ q->pfx.key[s] * 0x9e3779b97f4a7c15u ^ (uint64_t)off << 40);
        }
        start = end;
    }
    return acc;
}

/* ---- hash table ------------------------------------------------------------------- */

static int32_t tab_get(const struct kv_pool *p, uint64_t h)
{
    for (uint32_t i = (uint32_t)h & p->tab_mask;; i = (i + 1) & p->tab_mask) {
        int32_t id = p->tab[i];
        if (id < 0 || p->hash[id] == h)
            return id;
    }
}

static void tab_put(struct kv_pool *p, int32_t id)
{
    uint32_t i = (uint32_t)p->hash[id] & p->tab_mask;
    while (p->tab[i] >= 0)
        i = (i + 1) & p->tab_mask;
    p->tab[i] = id;
}

/* Remove hash h (present), shifting later entries of its probe run back. */
static void tab_del(struct kv_pool *p, uint64_t h)
{
    uint32_t m = p->tab_mask, i = (uint32_t)h & m;
    while (p->hash[p->tab[i]] != h)
        i = (i + 1) & m;
    for (uint32_t j = (i + 1) & m; p->tab[j] >= 0; j = (j + 1) & m) {
        uint32_t k = (uint32_t)p->hash[p->tab[j]] & m; /* where it would like to be */
        /* move it into the hole unless its home lies cyclically in (i, j] */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            p->tab[i] = p->tab[j];
            i = j;
        }
    }
    p->tab[i] = -1;
}

/* ---- the free queue ---------------------------------------------------------------- */

static inline int64_t node_blocks(const struct kv_pool *p, int32_t x)
{
    return x < p->num_blocks ? 1 : p->ext_n[x - p->num_blocks];
}

static void q_append(struct kv_pool *p, int32_t x)
{
    p->stamp[x] = p->stamp_next++;
    p->next[x] = -1;
    p->prev[x] = p->tail;
    if (p->tail >= 0)
        p->next[p->tail] = x;
    else
        p->head = x;
    p->tail = x;
}

static void q_unlink(struct kv_pool *p, int32_t x)
{
    if (p->prev[x] >= 0)
        p->next[p->prev[x]] = p->next[x];
    else
        p->head = p->next[x];
    if (p->next[x] >= 0)
        p->prev[p->next[x]] = p->prev[x];
    else
        p->tail = p->prev[x];
}

static int32_t ext_new(struct kv_pool *p, int32_t n, int32_t lo, int32_t hit, uint64_t owner)
{
    SIM_ASSERT(p->n_ext_stack > 0);
    int32_t e = p->ext_stack[--p->n_ext_stack];
    p->ext_n[e] = n;
    p->ext_lo[e] = lo;
    p->ext_hit[e] = hit;
    p->ext_owner[e] = owner;
    return e;
}

static void ext_release(struct kv_pool *p, int32_t e)
{
    p->ext_gen[e]++;
    p->ext_owner[e] = 0;
    p->ext_stack[p->n_ext_stack++] = e;
}

/* Take n blocks (already counted off n_free) from the head of the free queue, evicting
 * the hashes they held. */
static void take_walk(struct kv_pool *p, int64_t n)
{
    if (!p->caching)
        return;
    while (n > 0) {
        int32_t x = p->head;
        SIM_ASSERT(x >= 0);
        if (x < p->num_blocks) {
            q_unlink(p, x);
            if (p->hash[x]) {
                tab_del(p, p->hash[x]);
                p->hash[x] = 0;
                p->n_evicted++;
            }
            p->blk_stack[p->n_blk_stack++] = x;
            n--;
        } else {
            int32_t e = x - (int32_t)p->num_blocks;
            int64_t t = imin64(n, p->ext_n[e]);
            p->ext_n[e] -= (int32_t)t;
            if (p->ext_hit[e] > p->ext_n[e])
                p->ext_hit[e] = p->ext_n[e];
            n -= t;
            if (p->ext_n[e] == 0) {
                q_unlink(p, x);
                ext_release(p, e);
            }
        }
    }
}

/* Take n blocks from the head of the free queue, evicting the hashes they held. */
static void take_blocks(struct kv_pool *p, int64_t n)
{
    SIM_ASSERT(n <= p->n_free);
    p->n_free -= n;
    take_walk(p, n);
}

void kv_settle(struct kv_pool *p, int64_t *owed)
{
    take_walk(p, *owed);
    *owed = 0;
}

/* ---- setup ---------------------------------------------------------------------------- */

int kv_pool_init(struct kv_pool *p, int64_t num_blocks, int32_t block_size, bool caching,
                 struct slab *slab, struct sim_err *err)
{
    memset(p, 0, sizeof *p);
    SIM_ASSERT(num_blocks > 0 && block_size > 0);
    p->num_blocks = num_blocks;
    p->block_size = block_size;
    p->caching = caching;
    p->n_free = num_blocks;
    p->slab = slab;
    p->head = p->tail = -1;
    if (!caching)
        return SIM_OK;
    if (num_blocks > INT32_MAX / 4)
        return sim_err_set(err, SIM_EINVAL,
                           "%lld KV blocks is more than prefix caching can index: set "
                           "'engine.enable_prefix_caching: false' or use larger blocks",
                           (long long)num_blocks);
    size_t n = (size_t)num_blocks, tab = 1;
    while (tab < 2 * n)
        tab *= 2;
    p->prev = malloc(2 * n * sizeof *p->prev);
    p->next = malloc(2 * n * sizeof *p->next);
    p->stamp = malloc(2 * n * sizeof *p->stamp);
    p->hash = calloc(n, sizeof *p->hash);
    p->ref = calloc(n, sizeof *p->ref);
    p->blk_stack = malloc(n * sizeof *p->blk_stack);
    p->ext_n = calloc(n, sizeof *p->ext_n);
    p->ext_lo = calloc(n, sizeof *p->ext_lo);
    p->ext_hit = calloc(n, sizeof *p->ext_hit);
    p->ext_owner = calloc(n, sizeof *p->ext_owner);
    p->ext_gen = calloc(n, sizeof *p->ext_gen);
    p->ext_stack = malloc(n * sizeof *p->ext_stack);
    p->tab = malloc(tab * sizeof *p->tab);
    if (!p->prev || !p->next || !p->stamp || !p->hash || !p->ref || !p->blk_stack ||
        !p->ext_n || !p->ext_lo || !p->ext_hit || !p->ext_owner || !p->ext_gen ||
        !p->ext_stack || !p->tab) {
        kv_pool_release(p);
        return sim_err_set(err, SIM_ENOMEM, "out of memory for the prefix cache");
    }
    p->tab_mask = (uint32_t)(tab - 1);
    memset(p->tab, 0xff, tab * sizeof *p->tab);
    /* Stacks pop the lowest ids first. */
    for (size_t i = 0; i < n; i++) {
        p->blk_stack[i] = (int32_t)(n - 1 - i);
        p->ext_stack[i] = (int32_t)(n - 1 - i);
    }
    p->n_blk_stack = p->n_ext_stack = (int32_t)n;
    /* Every block starts free: one extent of blocks nobody can hit. */
    int32_t e = ext_new(p, (int32_t)n, 0, 0, 0);
    q_append(p, (int32_t)n + e);
    return SIM_OK;
}

void kv_pool_release(struct kv_pool *p)
{
    free(p->prev);
    free(p->next);
    free(p->stamp);
    free(p->hash);
    free(p->ref);
    free(p->blk_stack);
    free(p->ext_n);
    free(p->ext_lo);
    free(p->ext_hit);
    free(p->ext_owner);
    free(p->ext_gen);
    free(p->ext_stack);
    free(p->tab);
    memset(p, 0, sizeof *p);
}

void kv_seq_reset(struct kv_seq *q)
{
    q->n_share = -1;
    q->list = NULL;
    q->list_cap = 0;
    q->n_sh = q->n_own = 0;
    q->last_hash = SEED_HASH;
    q->ext = -1;
    q->ext_gen = 0;
}

/* ---- requests --------------------------------------------------------------------- */

static bool ext_valid(const struct kv_pool *p, const struct kv_seq *q)
{
    return q->ext >= 0 && p->ext_gen[q->ext] == q->ext_gen &&
           p->ext_owner[q->ext] == q->owner && q->owner != 0;
}

int kv_lookup(struct kv_pool *p, struct kv_seq *q, int32_t max_blocks, struct kv_hit *h)
{
    memset(h, 0, sizeof *h);
    h->last_hash = SEED_HASH;
    h->first_seq = INT64_MAX;
    if (!p->caching)
        return SIM_OK;
    SIM_ASSERT(kv_held(q) == 0);
    if (q->n_share < 0)
        q->n_share = share_blocks(p, q);
    if (q->n_share > 0 && (size_t)q->n_share > q->list_cap) {
        slab_put(p->slab, (uint32_t *)q->list, q->list_cap);
        q->list = (int32_t *)slab_get(p->slab, (size_t)q->n_share, &q->list_cap);
        if (!q->list) {
            q->list_cap = 0;
            return sim_err_set(NULL, SIM_ENOMEM, "out of memory for a block list");
        }
    }
    if (max_blocks <= 0)
        return SIM_OK;
    int32_t j = 0;
    uint64_t hsh = SEED_HASH;
    int32_t lim = max_blocks < q->n_share ? max_blocks : q->n_share;
    while (j < lim) {
        uint64_t c = chain(hsh, block_content(p, q, j));
        int32_t id = tab_get(p, c);
        if (id < 0)
            break;
        hsh = c;
        q->list[j] = id;
        if (p->ref[id] == 0) {
            h->evictable++;
            if (p->stamp[id] < h->first_seq) {
                h->first_seq = p->stamp[id];
                h->skip = 0;
            }
        }
        j++;
    }
    h->n_shared = j;
    h->last_hash = hsh;
    /* Its own blocks, left behind when it was preempted, if the shared part all hit. */
    if (ext_valid(p, q) && p->ext_lo[q->ext] == j && j < max_blocks) {
        int32_t e = q->ext, k = p->ext_hit[e];
        if (k > max_blocks - j)
            k = max_blocks - j;
        if (k > 0) {
            h->evictable += k;
            int32_t x = (int32_t)p->num_blocks + e;
            if (p->stamp[x] < h->first_seq) {
                h->first_seq = p->stamp[x];
                h->skip = p->ext_n[e] - k;
            }
            j += k;
        }
    }
    h->blocks = j;
    return SIM_OK;
}

void kv_admit(struct kv_pool *p, struct kv_seq *q, const struct kv_hit *h, int32_t blocks,
              int32_t tokens)
{
    SIM_ASSERT(kv_held(q) == 0);
    SIM_ASSERT(kv_need(h, blocks) <= p->n_free);
    for (int32_t j = 0; j < h->n_shared; j++) {
        int32_t id = q->list[j];
        if (p->ref[id]++ == 0) {
            q_unlink(p, id);
            p->n_free--;
        }
    }
    q->n_sh = h->n_shared;
    q->last_hash = h->last_hash;
    int32_t own = h->blocks - h->n_shared;
    if (ext_valid(p, q)) {
        int32_t e = q->ext;
        if (own > 0) { /* the lowest `own` blocks of the extent: they leave from its bottom */
            p->ext_n[e] -= own;
            p->ext_lo[e] += own;
            p->ext_hit[e] -= own;
            p->n_free -= own;
        }
        if (p->ext_n[e] == 0) {
            q_unlink(p, (int32_t)p->num_blocks + e);
            ext_release(p, e);
        } else {
            p->ext_owner[e] = 0; /* what is left will be computed again: nobody's now */
        }
    }
    q->ext = -1;
    q->n_own = own;
    kv_grow(p, q, blocks, tokens);
}

void kv_grow_slow(struct kv_pool *p, struct kv_seq *q, int32_t blocks, int32_t tokens)
{
    int32_t have = kv_held(q);
    if (blocks > have) {
        take_blocks(p, blocks - have);
        q->n_own += blocks - have;
    }
    if (!p->caching)
        return;
    if (q->n_share < 0)
        q->n_share = share_blocks(p, q);
    int32_t lim = tokens / p->block_size;
    if (lim > q->n_share)
        lim = q->n_share;
    while (q->n_sh < lim) {
        int32_t j = q->n_sh;
        SIM_ASSERT(q->list && (size_t)j < q->list_cap && q->n_own > 0);
        uint64_t c = chain(q->last_hash, block_content(p, q, j));
        SIM_ASSERT(p->n_blk_stack > 0);
        int32_t id = p->blk_stack[--p->n_blk_stack];
        p->ref[id] = 1;
        if (tab_get(p, c) < 0) {
            p->hash[id] = c;
            tab_put(p, id);
        } else {
            p->hash[id] = 0; /* a copy of a cached block: stays uncached */
        }
        q->list[j] = id;
        q->n_sh++;
        q->n_own--;
        q->last_hash = c;
    }
}

static void drop_list(struct kv_pool *p, struct kv_seq *q)
{
    slab_put(p->slab, (uint32_t *)q->list, q->list_cap);
    q->list = NULL;
    q->list_cap = 0;
}

void kv_free(struct kv_pool *p, struct kv_seq *q, int32_t computed_tokens, bool keep)
{
    if (!p->caching) {
        p->n_free += kv_held(q);
        q->n_sh = q->n_own = 0;
        return;
    }
    q->ext = -1;
    if (q->n_own > 0) {
        int32_t hit = keep ? computed_tokens / p->block_size - q->n_sh : 0;
        if (hit < 0)
            hit = 0;
        if (hit > q->n_own)
            hit = q->n_own;
        uint64_t owner = hit > 0 ? q->owner : 0;
        int32_t e = ext_new(p, q->n_own, q->n_sh, hit, owner);
        q_append(p, (int32_t)p->num_blocks + e);
        p->n_free += q->n_own;
        if (owner) {
            q->ext = e;
            q->ext_gen = p->ext_gen[e];
        }
    }
    for (int32_t j = q->n_sh - 1; j >= 0; j--) {
        int32_t id = q->list[j];
        if (--p->ref[id] == 0) {
            q_append(p, id);
            p->n_free++;
        }
    }
    q->n_sh = q->n_own = 0;
    q->last_hash = SEED_HASH;
    drop_list(p, q);
}

void kv_seq_release(struct kv_pool *p, struct kv_seq *q)
{
    SIM_ASSERT(kv_held(q) == 0);
    drop_list(p, q);
    q->ext = -1;
}

int32_t kv_prefix_hashes(const struct kv_seq *q, int32_t block_size, uint64_t *out,
                         int32_t max)
{
    struct kv_pool p = {.block_size = block_size};
    int32_t n = share_blocks(&p, q);
    if (n > max)
        n = max;
    uint64_t h = SEED_HASH;
    for (int32_t j = 0; j < n; j++) {
        h = chain(h, block_content(&p, q, j));
        out[j] = h;
    }
    return n;
}

int64_t kv_blocks_before_hit(const struct kv_pool *p, const struct kv_hit *h, int64_t limit)
{
    if (h->first_seq == INT64_MAX)
        return INT64_MAX;
    int64_t sum = 0;
    for (int32_t x = p->head; x >= 0; x = p->next[x]) {
        if (p->stamp[x] >= h->first_seq)
            return sum + h->skip;
        sum += node_blocks(p, x);
        if (sum > limit)
            return sum;
    }
    return INT64_MAX;
}
