/*
 * kvcache.h: one engine's paged KV cache with automatic prefix caching, as vLLM V1 keeps
 * it (vllm/v1/core/kv_cache_utils.py, block_pool.py, kv_cache_manager.py and
 * single_type_kv_cache_manager.py; read at vllm-project/vllm 003df29, the behaviour is the
 * same since V1 became the default in v0.8):
 *
 * - a full block of `block_size` tokens is identified by a hash chained over its parent's
 *   hash and its own tokens, so equal hashes mean equal prefixes; partial blocks have none;
 * - a request with no computed tokens reuses the longest run of cached blocks from its
 *   start, at most num_tokens - 1 tokens (the last token is always computed, for logits);
 * - blocks are hashed as they are allocated for tokens being computed, and a block whose
 *   hash is already cached is kept as an uncached copy (vLLM keeps both copies under the
 *   hash; here the first stays the one found: see docs/engine.md);
 * - freed blocks keep their hash and join the tail of the free queue, a request's blocks
 *   in reverse order so that its tail blocks are evicted first; a new block is taken from
 *   the head of the queue, evicting the hash it held (least recently freed first);
 * - the usage gauge counts cached blocks in the free queue as free.
 *
 * llmcap does not know token ids, so a request's tokens are identities: the blocks of a
 * Mooncake trace's hash_ids (each id names hid_tokens tokens), the shared segments of a
 * synthetic prefix (system prompt, document, a session's history), and after those tokens
 * that belong to the request alone. Blocks made only of a request's own tokens can be hit
 * only by that request when it resumes after a preemption; they are tracked as counts and
 * extents rather than one by one, so a request without shared structure costs O(1) here,
 * not O(tokens / block_size).
 *
 * Storage is sized at kv_pool_init(): nothing here allocates per event except the block
 * lists of requests with shared structure, which come from a slab.
 */
#ifndef LLMCAP_SIM_SERVING_KVCACHE_H
#define LLMCAP_SIM_SERVING_KVCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/core/err.h"

struct slab;

#define KV_PREFIX_SEGS 3

/* The shared part of a request's token sequence: consecutive segments whose tokens are
 * the same in every request naming the same key (a system prompt, a document). With
 * `open`, the last segment also covers everything after it, output included: a session's
 * history, which the session's next turn repeats. */
struct kv_prefix {
    uint64_t key[KV_PREFIX_SEGS];
    int32_t len_tokens[KV_PREFIX_SEGS];
    uint8_t n;
    bool open;
};

/* One request's sequence as the pool sees it. The caller fills the content fields before
 * the first kv_lookup() and zeroes the rest (kv_seq_reset); the pool keeps the state. */
struct kv_seq {
    /* state (the block counts first: the engine's hot fields, see struct req) */
    int32_t n_sh;        /* leading blocks held as shared (hashed) blocks */
    int32_t n_own;       /* blocks held after them: own tokens, or not full yet */
    int32_t n_share;     /* leading full blocks whose tokens can be shared; -1: not known yet */
    int32_t ext;         /* extent left in the free queue when preempted, -1: none */
    int32_t *list;       /* node ids of blocks [0, n_sh) (from the slab) */
    size_t list_cap;
    uint64_t last_hash;  /* hash of block n_sh - 1 */
    uint32_t ext_gen;
    /* content */
    int32_t prompt_tokens;
    int32_t total_tokens;    /* prompt + output: the longest the sequence gets */
    uint32_t n_hids;
    uint64_t owner;          /* unique per request: identifies its own tokens */
    const uint32_t *hids;    /* Mooncake hash_ids, or NULL */
    int32_t hid_tokens;      /* tokens per hash id (512 in the Mooncake traces) */
    struct kv_prefix pfx;    /* used when hids is NULL */
};

/* What a lookup found (nothing is changed until kv_admit). */
struct kv_hit {
    int32_t blocks;      /* cached blocks from the start */
    int32_t n_shared;    /* of which shared blocks (the rest: own blocks of the extent) */
    int32_t evictable;   /* of which in the free queue (they count against free blocks) */
    uint64_t last_hash;
    int64_t first_seq;   /* free-queue stamp of the earliest evictable hit, INT64_MAX: none */
    int64_t skip;        /* blocks of that queue entry taken before the hit ones */
};

struct kv_pool {
    int64_t num_blocks;
    int32_t block_size;
    bool caching;
    int64_t n_free;      /* blocks in the free queue (cached ones included) */
    struct slab *slab;   /* borrowed */
    /* free queue: nodes [0, N) are shared blocks, [N, 2N) extents of unhashed blocks */
    int32_t *prev, *next;
    int64_t *stamp;      /* position in the queue: increasing from head to tail */
    int32_t head, tail;
    int64_t stamp_next;
    /* shared blocks */
    uint64_t *hash;      /* 0: not in the table */
    int32_t *ref;
    int32_t *blk_stack;
    int32_t n_blk_stack;
    /* extents: n blocks lo..lo+n-1 of one request (owner 0: nobody's), taken from the top;
     * the lowest `hit` of them are full blocks its owner may hit on resume */
    int32_t *ext_n, *ext_lo, *ext_hit;
    uint64_t *ext_owner;
    uint32_t *ext_gen;
    int32_t *ext_stack;
    int32_t n_ext_stack;
    /* hash table (open addressing, linear probing): node ids, -1 empty */
    int32_t *tab;
    uint32_t tab_mask;
    uint64_t n_evicted;  /* cached blocks evicted */
};

/* A pool of `num_blocks` blocks of `block_size` tokens, all free. Without `caching` only
 * counts are kept. Caller owns: kv_pool_release(). */
int kv_pool_init(struct kv_pool *p, int64_t num_blocks, int32_t block_size, bool caching,
                 struct slab *slab, struct sim_err *err);
void kv_pool_release(struct kv_pool *p);

/* Zero a sequence's state (content fields kept). */
void kv_seq_reset(struct kv_seq *q);

static inline int32_t kv_held(const struct kv_seq *q)
{
    return q->n_sh + q->n_own;
}

/* The longest cached prefix of `q`, at most `max_blocks` blocks (0 without caching).
 * SIM_ENOMEM when the block list cannot be had. */
int kv_lookup(struct kv_pool *p, struct kv_seq *q, int32_t max_blocks, struct kv_hit *h);

/* Blocks an admission needs from the free queue to hold `blocks` blocks after hit `h`
 * (vLLM's get_num_blocks_to_allocate: new blocks plus the evictable hit ones). */
static inline int64_t kv_need(const struct kv_hit *h, int64_t blocks)
{
    return blocks - h->blocks + h->evictable;
}

/* Take the hit blocks of `h` (a lookup made just before) and grow to `blocks` blocks,
 * hashing the full blocks among the first `tokens` tokens. kv_need() <= n_free. */
void kv_admit(struct kv_pool *p, struct kv_seq *q, const struct kv_hit *h, int32_t blocks,
              int32_t tokens);

/* Grow a held sequence to `blocks` blocks (blocks - kv_held() <= n_free), hashing the full
 * blocks among its first `tokens` tokens. */
void kv_grow_slow(struct kv_pool *p, struct kv_seq *q, int32_t blocks, int32_t tokens);
/* Growing q to `tokens` tokens hashes no block: no caching, or its shareable blocks are
 * hashed already, or none of the new ones is full. */
static inline bool kv_grow_hashes_none(const struct kv_pool *p, const struct kv_seq *q,
                                       int32_t tokens)
{
    return !p->caching || (q->n_share >= 0 && (q->n_sh >= q->n_share ||
                                               q->n_sh >= tokens / p->block_size));
}

static inline void kv_grow(struct kv_pool *p, struct kv_seq *q, int32_t blocks, int32_t tokens)
{
    /* nothing to do (the common case in decode): no new block, no full block to hash */
    if (blocks <= kv_held(q) && kv_grow_hashes_none(p, q, tokens))
        return;
    kv_grow_slow(p, q, blocks, tokens);
}

/* kv_grow() for a pass over many sequences: when growing q hashes no block, its new
 * blocks are counted off n_free and added to *owed instead of being taken from the free
 * queue one sequence at a time; kv_settle() takes all that is owed in one walk, which
 * gives the same blocks and evictions as taking them in turn. Growth that hashes a block
 * settles first (hashing reuses evicted block ids). Settle before any other call on the
 * pool. */
void kv_settle(struct kv_pool *p, int64_t *owed);
static inline void kv_grow_owed(struct kv_pool *p, struct kv_seq *q, int32_t blocks,
                                int32_t tokens, int64_t *owed)
{
    if (kv_grow_hashes_none(p, q, tokens)) {
        int32_t more = blocks - kv_held(q);
        if (more > 0) {
            SIM_ASSERT(more <= p->n_free);
            p->n_free -= more;
            q->n_own += more;
            *owed += more;
        }
        return;
    }
    kv_settle(p, owed);
    kv_grow_slow(p, q, blocks, tokens);
}

/* Free every block of `q`, tail first. With `keep`, its own full blocks among the first
 * `computed_tokens` stay findable by q's next lookup (a preempted request); the shared ones
 * stay findable by anyone through their hash in either case. */
void kv_free(struct kv_pool *p, struct kv_seq *q, int32_t computed_tokens, bool keep);

/* A sequence that holds no blocks is done with this pool (it ends, or moves to another
 * engine): give back its block list and forget what it left in the queue. */
void kv_seq_release(struct kv_pool *p, struct kv_seq *q);

/* The chained hashes of the first shareable full blocks of `q` (at most `max`) for a cache
 * of `block_size`-token blocks, into out[]; returns how many. What a router that knows the
 * prompt can compute without asking the engine. */
int32_t kv_prefix_hashes(const struct kv_seq *q, int32_t block_size, uint64_t *out,
                         int32_t max);

/* Blocks taken from the free queue before the earliest evictable block of hit `h` would
 * be evicted; any value > limit when that is more than `limit` (or never). */
int64_t kv_blocks_before_hit(const struct kv_pool *p, const struct kv_hit *h, int64_t limit);

#endif
