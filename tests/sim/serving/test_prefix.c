/* Automatic prefix caching (sim/serving/kvcache.c and the vLLM engine) against values
 * worked out by hand or offline without hashing: eviction order, resume after preemption,
 * cached-token counts on known hash_ids sequences, the usage gauge, and exact agreement
 * of fast-forwarded decode runs with single steps when caching is on. */
#include <criterion/criterion.h>

#include "sim/core/slab.h"
#include "sim/k8s/metrics.h"
#include "sim/serving/kvcache.h"
#include "tests/sim/engine_harness.h"

#define EPS 1e-9

static double s_of(int64_t us)
{
    return (double)us * 1e-6;
}

/* A sequence whose first `shared` tokens are segment `key`, `total` tokens in all. */
static struct kv_seq seg_seq(uint64_t owner, uint64_t key, int32_t shared, int32_t prompt,
                             int32_t total)
{
    struct kv_seq q = {0};
    q.owner = owner;
    q.prompt_tokens = prompt;
    q.total_tokens = total;
    if (shared > 0) {
        q.pfx.n = 1;
        q.pfx.key[0] = key;
        q.pfx.len_tokens[0] = shared;
    }
    kv_seq_reset(&q);
    return q;
}

/* Admit q with what the cache holds, computing `tokens` tokens in all. */
static struct kv_hit admit(struct kv_pool *p, struct kv_seq *q, int32_t tokens)
{
    struct kv_hit h;
    cr_assert_eq(kv_lookup(p, q, (tokens - 1) / p->block_size, &h), SIM_OK);
    int32_t blocks = (tokens + p->block_size - 1) / p->block_size;
    cr_assert_leq(kv_need(&h, blocks), p->n_free);
    kv_admit(p, q, &h, blocks, tokens);
    return h;
}

static int32_t hit_blocks(struct kv_pool *p, struct kv_seq *q, int32_t tokens)
{
    struct kv_hit h;
    cr_assert_eq(kv_lookup(p, q, (tokens - 1) / p->block_size, &h), SIM_OK);
    return h.blocks;
}

Test(prefix, freed_blocks_are_evicted_least_recently_freed_first_tail_first)
{
    /* 8 blocks of 4 tokens. A, B: 9-token prompts whose first 8 tokens are shared
     * segments (2 hashable blocks + 1 partial block each). Queue after A and B are freed
     * (each freed tail first): [2 never-used][A2][A1 A0][B2][B1 B0]. C (3 blocks) takes the
     * 2 never-used and A's partial block; D (1 block) then evicts A1, A's tail block, so A
     * finds only A0; E (1 block) evicts A0; B is untouched. */
    struct slab *sl = slab_new();
    struct kv_pool p;
    cr_assert_eq(kv_pool_init(&p, 8, 4, true, sl, NULL), SIM_OK);
    struct kv_seq a = seg_seq(1, 100, 8, 9, 10), b = seg_seq(2, 200, 8, 9, 10);
    struct kv_seq c = seg_seq(3, 0, 0, 9, 10), d = seg_seq(4, 0, 0, 1, 2),
                  e = seg_seq(5, 0, 0, 1, 2);
    admit(&p, &a, 9);
    kv_free(&p, &a, 9, false);
    admit(&p, &b, 9);
    kv_free(&p, &b, 9, false);
    cr_assert_eq(p.n_free, 8, "cached blocks count as free");
    struct kv_seq a2 = seg_seq(6, 100, 8, 9, 10), b2 = seg_seq(7, 200, 8, 9, 10);
    cr_assert_eq(hit_blocks(&p, &a2, 9), 2);
    cr_assert_eq(hit_blocks(&p, &b2, 9), 2);
    admit(&p, &c, 9);
    cr_assert_eq(hit_blocks(&p, &a2, 9), 2, "C took only blocks nobody can hit");
    admit(&p, &d, 1);
    cr_assert_eq(hit_blocks(&p, &a2, 9), 1, "A's tail block goes first");
    admit(&p, &e, 1);
    cr_assert_eq(hit_blocks(&p, &a2, 9), 0);
    cr_assert_eq(hit_blocks(&p, &b2, 9), 2);
    cr_assert_eq(p.n_evicted, 2);
    /* B hits both blocks: they leave the free queue, and its new third block is its old
     * partial one (3 free before: B2, B1, B0). */
    cr_assert_eq(p.n_free, 3);
    struct kv_hit h = admit(&p, &b2, 9);
    cr_assert_eq(h.blocks, 2);
    cr_assert_eq(h.evictable, 2);
    cr_assert_eq(p.n_free, 0);
    kv_free(&p, &b2, 9, false);
    kv_free(&p, &c, 9, false);
    kv_free(&p, &d, 1, false);
    kv_free(&p, &e, 1, false);
    cr_assert_eq(p.n_free, 8);
    kv_pool_release(&p);
    slab_free(sl);
}

Test(prefix, a_preempted_sequence_finds_its_full_blocks_until_they_are_evicted)
{
    /* 8 blocks of 4 tokens, a 20-token prompt with no shared structure: 21 tokens computed
     * (6 blocks, the last partial) when it is preempted. Queue: [2 never used][its 6, tail
     * first]. On resume (22 tokens, at most 21 cached) it finds its 5 full blocks; 3 blocks
     * are taken before the first of them would go (2 unused + its partial one). Another
     * request takes 4 blocks (2 unused, its partial block, block 4): it finds 4. */
    struct slab *sl = slab_new();
    struct kv_pool p;
    cr_assert_eq(kv_pool_init(&p, 8, 4, true, sl, NULL), SIM_OK);
    struct kv_seq r = seg_seq(9, 0, 0, 20, 40), o = seg_seq(10, 0, 0, 16, 20);
    admit(&p, &r, 21);
    cr_assert_eq(p.n_free, 2);
    kv_free(&p, &r, 21, true);
    cr_assert_eq(p.n_free, 8);
    cr_assert_eq(hit_blocks(&p, &r, 22), 5);
    struct kv_hit h;
    cr_assert_eq(kv_lookup(&p, &r, 5, &h), SIM_OK);
    cr_assert_eq(kv_blocks_before_hit(&p, &h, 100), 3);
    cr_assert_gt(kv_blocks_before_hit(&p, &h, 2), 2, "past the limit");
    admit(&p, &o, 16); /* 4 blocks */
    cr_assert_eq(hit_blocks(&p, &r, 22), 4);
    kv_free(&p, &o, 16, false);
    struct kv_hit h2 = admit(&p, &r, 22);
    cr_assert_eq(h2.blocks, 4);
    cr_assert_eq(kv_held(&r), 6);
    cr_assert_eq(p.n_free, 2);
    kv_free(&p, &r, 22, false);
    cr_assert_eq(p.n_free, 8);
    struct kv_seq r2 = seg_seq(9, 0, 0, 20, 40);
    cr_assert_eq(hit_blocks(&p, &r2, 22), 0, "a finished request leaves nothing to hit");
    kv_pool_release(&p);
    slab_free(sl);
}

Test(prefix, without_caching_only_counts_are_kept)
{
    struct kv_pool p;
    cr_assert_eq(kv_pool_init(&p, 10, 16, false, NULL, NULL), SIM_OK);
    struct kv_seq a = seg_seq(1, 7, 32, 40, 50);
    struct kv_hit h = admit(&p, &a, 40);
    cr_assert_eq(h.blocks, 0);
    cr_assert_eq(p.n_free, 7);
    kv_free(&p, &a, 40, true);
    struct kv_seq b = seg_seq(2, 7, 32, 40, 50);
    cr_assert_eq(hit_blocks(&p, &b, 40), 0);
    cr_assert_eq(p.n_free, 10);
    kv_pool_release(&p);
}

Test(prefix, preempted_request_resumes_from_its_surviving_blocks)
{
    /* engine test kv_exhaustion_preempts_the_newest_request_which_recomputes_later, with
     * prefix caching on. B is preempted with 64 + 16 = 80 tokens computed (5 full blocks,
     * freed to the queue tail); A then takes 3 more blocks from the queue head, which by
     * then is B's extent: B's blocks 4, 3, 2 are evicted (tail first) and blocks 0, 1
     * survive. When A finishes (60.28 ms), B resumes with 81 tokens: 32 cached, 49 to
     * compute (0.49 ms instead of 0.81): 18th token at 60.77 ms, then 42 decode steps ->
     * 102.77 ms. Queries: A and B at first admission, 64 tokens each, no hit. */
    struct scenario sc;
    h_scenario(&sc);
    sc.engine.enable_prefix_caching = true;
    sc.engine.num_gpu_blocks = 10;
    sc.engine.max_model_len = 160;
    sc.engine.latency.prefill_per_token_us = 10;
    sc.engine.latency.decode_iteration_ms = 1;
    struct wl_request reqs[] = {h_req(0, 64, 60), h_req(0, 64, 60)};
    for (int ff = 0; ff < 2; ff++) {
        struct h_sink out;
        struct sim *s = h_run(&sc, reqs, 2, &out, ff == 1);
        const struct sim_result *res = sim_result(s);
        cr_assert_float_eq(s_of(out.rows[0].finish_us), 0.06028, EPS);
        cr_assert_eq(out.rows[1].preemptions, 1);
        cr_assert_float_eq(s_of(out.rows[1].finish_us), 0.10277, EPS);
        cr_assert_eq(res->prefix_queries_tokens, 128);
        cr_assert_eq(res->prefix_hits_tokens, 0);
        cr_assert_eq(res->prefix_resume_queries_tokens, 81);
        cr_assert_eq(res->prefix_resume_hits_tokens, 32);
        sim_free(s);
        free(out.rows);
    }
}

/* Requests far apart (each done before the next), prompts of 32 * n_ids tokens and one
 * output token, hash_ids of 32 tokens (2 engine blocks of 16 each). */
static struct wl_request hid_req(double t_s, const uint32_t *ids, uint32_t n)
{
    struct wl_request w = h_req(t_s, (int32_t)(32 * n), 1);
    w.hash_ids = ids;
    w.n_hash_ids = n;
    return w;
}

Test(prefix, cached_tokens_on_known_hash_ids_match_a_hand_count)
{
    /* ids [1,2,3], [1,2,4], [1,5], [1,2,3,6], [1,2,3]; 16-token blocks, 32-token ids.
     * Longest id prefix seen before: 0, 2, 1, 3, 3 ids = 0, 4, 2, 6, 6 blocks; capped at
     * (prompt - 1) / 16 blocks: 5, 5, 3, 7, 5. Cached tokens: 0, 64, 32, 96, 80 (the last
     * one is the whole prompt again: its last block is computed for the logits).
     * Queries: 96 + 96 + 64 + 128 + 96 = 480. */
    static const uint32_t r0[] = {1, 2, 3}, r1[] = {1, 2, 4}, r2[] = {1, 5},
                          r3[] = {1, 2, 3, 6}, r4[] = {1, 2, 3};
    struct wl_request reqs[] = {hid_req(0, r0, 3), hid_req(1, r1, 3), hid_req(2, r2, 2),
                                hid_req(3, r3, 4), hid_req(4, r4, 3)};
    struct scenario sc;
    h_scenario(&sc);
    sc.engine.enable_prefix_caching = true;
    sc.workload.hash_block_tokens = 32;
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, 5, &out, false);
    const struct sim_result *res = sim_result(s);
    cr_assert_eq(res->prefix_queries_tokens, 480);
    cr_assert_eq(res->prefix_hits_tokens, 0 + 64 + 32 + 96 + 80);
    /* TTFT: 100 us per computed prompt token: 96 - 80 = 16 tokens for the last one. */
    cr_assert_float_eq(s_of(out.rows[4].first_token_us - out.rows[4].arrival_us), 0.0016, EPS);
    cr_assert_float_eq(s_of(out.rows[1].first_token_us - out.rows[1].arrival_us), 0.0032, EPS);
    sim_free(s);
    free(out.rows);

    sc.engine.enable_prefix_caching = false;
    s = h_run(&sc, reqs, 5, &out, false);
    cr_assert_eq(sim_result(s)->prefix_hits_tokens, 0);
    cr_assert_eq(sim_result(s)->prefix_queries_tokens, 0, "no lookups without caching");
    cr_assert_float_eq(s_of(out.rows[4].first_token_us - out.rows[4].arrival_us), 0.0096, EPS);
    sim_free(s);
    free(out.rows);
}

/* x: a linear congruential stream for the generated traces. */
static uint32_t lcg(uint64_t *x, uint32_t n)
{
    *x = *x * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)((*x >> 33) % n);
}

Test(prefix, cached_tokens_on_a_generated_id_tree_match_an_offline_count)
{
    /* 300 sequential requests whose ids walk a small tree (each id chosen among 3 given
     * the previous one), 1..12 ids each. Offline: a request's cached blocks are
     * min(2 * (longest id prefix shared with an earlier request), (prompt - 1) / 16),
     * computed by comparing id arrays directly (no hashing). The cache (4096 blocks)
     * never evicts: 300 * 12 * 2 < 4096 * ... is not needed; distinct blocks are at most
     * 3 + 9 + ... bounded by the tree, far below 4096. */
    enum { N = 300, MAXL = 12 };
    static uint32_t ids[N][MAXL];
    static uint32_t len[N];
    static struct wl_request reqs[N];
    uint64_t x = 42;
    uint64_t want_hits = 0, want_queries = 0;
    for (int i = 0; i < N; i++) {
        len[i] = 1 + lcg(&x, MAXL);
        uint32_t node = 0;
        for (uint32_t k = 0; k < len[i]; k++) {
            node = node * 3 + 1 + lcg(&x, 3); /* child of node: unique id per tree path */
            ids[i][k] = node;
        }
        reqs[i] = hid_req(i, ids[i], len[i]);
        uint32_t best = 0;
        for (int j = 0; j < i; j++) {
            uint32_t m = 0;
            while (m < len[i] && m < len[j] && ids[i][m] == ids[j][m])
                m++;
            if (m > best)
                best = m;
        }
        int32_t prompt = (int32_t)(32 * len[i]);
        int32_t blocks = (int32_t)(2 * best), cap = (prompt - 1) / 16;
        want_hits += (uint64_t)(16 * (blocks < cap ? blocks : cap));
        want_queries += (uint64_t)prompt;
    }
    struct scenario sc;
    h_scenario(&sc);
    sc.engine.enable_prefix_caching = true;
    sc.workload.hash_block_tokens = 32;
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, N, &out, false);
    cr_assert_eq(sim_result(s)->prefix_queries_tokens, want_queries);
    cr_assert_eq(sim_result(s)->prefix_hits_tokens, want_hits);
    cr_assert_gt(want_hits, want_queries / 4, "the tree should share a lot");
    sim_free(s);
    free(out.rows);
}

static bool same_rows(const struct h_sink *a, const struct h_sink *b)
{
    if (a->n_rows != b->n_rows)
        return false;
    for (size_t i = 0; i < a->n_rows; i++) {
        const struct rec_request *x = &a->rows[i], *y = &b->rows[i];
        if (x->first_token_us != y->first_token_us || x->finish_us != y->finish_us ||
            x->preemptions != y->preemptions || x->replica != y->replica ||
            x->outcome != y->outcome || x->generated_tokens != y->generated_tokens) {
            fprintf(stderr, "request %zu differs: first token %lld vs %lld, finish %lld vs %lld\n",
                    i, (long long)x->first_token_us, (long long)y->first_token_us,
                    (long long)x->finish_us, (long long)y->finish_us);
            return false;
        }
    }
    return true;
}

Test(prefix, fast_forwarded_runs_match_single_steps_with_caching_on)
{
    /* Shared system prompts, sessions whose turns overlap, Mooncake-style ids and plain
     * requests, on a KV cache small enough to preempt and evict. */
    enum { N = 2500 };
    static struct wl_request w[N];
    static uint32_t ids[N][8];
    uint64_t x = 7, t = 0;
    for (int i = 0; i < N; i++) {
        t += lcg(&x, 150000);
        w[i].arrival_us = (int64_t)t;
        w[i].output_tokens = 1 + (int32_t)lcg(&x, 400);
        uint32_t kind = lcg(&x, 4);
        if (kind == 0) { /* ids */
            uint32_t n = 1 + lcg(&x, 8), node = 0;
            for (uint32_t k = 0; k < n; k++) {
                node = node * 2 + 1 + lcg(&x, 2);
                ids[i][k] = node;
            }
            w[i].hash_ids = ids[i];
            w[i].n_hash_ids = n;
            w[i].prompt_tokens = (int32_t)(32 * n) - (int32_t)lcg(&x, 20);
        } else if (kind == 1) { /* system prompt + own question */
            w[i].prefix.n = 1;
            w[i].prefix.key[0] = 1000 + lcg(&x, 3);
            w[i].prefix.len_tokens[0] = 300;
            w[i].prompt_tokens = 300 + 1 + (int32_t)lcg(&x, 200);
        } else if (kind == 2) { /* session turn: system prompt + history */
            w[i].prefix.n = 2;
            w[i].prefix.key[0] = 1000;
            w[i].prefix.len_tokens[0] = 300;
            w[i].prefix.key[1] = 5000 + lcg(&x, 6);
            w[i].prefix.open = true;
            w[i].prompt_tokens = 300 + 1 + (int32_t)lcg(&x, 1200);
        } else {
            w[i].prompt_tokens = 1 + (int32_t)lcg(&x, 1500);
        }
    }
    struct scenario sc;
    h_scenario_preempting(&sc);
    sc.engine.enable_prefix_caching = true;
    sc.workload.hash_block_tokens = 32;
    struct h_sink ff, step;
    struct sim *a = h_run(&sc, w, N, &ff, false);
    struct sim *b = h_run(&sc, w, N, &step, true);
    cr_assert(same_rows(&ff, &step));
    const struct sim_result *ra = sim_result(a), *rb = sim_result(b);
    cr_assert_gt(ra->preemptions, 0, "the workload should preempt");
    cr_assert_gt(ra->prefix_hits_tokens, 0);
    cr_assert_gt(ra->prefix_resume_hits_tokens, 0);
    cr_assert_eq(ra->prefix_hits_tokens, rb->prefix_hits_tokens);
    cr_assert_eq(ra->prefix_resume_hits_tokens, rb->prefix_resume_hits_tokens);
    cr_assert_lt(ra->events, rb->events / 2, "the fast path must still save events");
    sim_free(a);
    sim_free(b);
    free(ff.rows);
    free(step.rows);
}

Test(prefix, the_counters_are_exported_as_vllm_names_them)
{
    const struct metric_def *q = metric_lookup("vllm:prefix_cache_queries_total");
    const struct metric_def *h = metric_lookup("vllm:prefix_cache_hits_total");
    cr_assert(q && h);
    cr_assert_eq(q, &sim_metric_defs[M_PREFIX_CACHE_QUERIES]);
    cr_assert_eq(h->type, METRIC_COUNTER);
    cr_assert_null(metric_lookup("vllm:prefix_cache_hits"), "counters end in _total");
}

Test(prefix, the_shipped_conversation_trace_hits_what_an_offline_count_gives)
{
    /* traces/conversation_mooncake.jsonl, one request at a time (1 s apart, each done
     * before the next), on a cache too large to evict. Offline: a request's cached
     * tokens are its leading hash_ids seen in any earlier request (Mooncake ids name the
     * block and everything before it), 32 engine blocks each, at most
     * (prompt - 1) / 16 blocks: a set of seen ids, no hashing of blocks. */
    struct sim_err err = {0};
    struct trace_reader *tr =
        trace_open(SOURCE_DIR "/traces/conversation_mooncake.jsonl", TRACE_MOONCAKE, &err);
    cr_assert_not_null(tr, "%s", err.msg);
    enum { MAXR = 4096, MAXIDS = 1 << 17 };
    static struct wl_request reqs[MAXR];
    static uint32_t ids[MAXR * 24];
    static bool seen[MAXIDS];
    size_t n = 0, used = 0;
    uint64_t want_hits = 0, want_queries = 0;
    struct trace_row row;
    while (trace_next(tr, &row, false, &err) == 1) {
        cr_assert_lt(n, MAXR);
        cr_assert_leq(used + row.n_hash_ids, sizeof ids / sizeof ids[0]);
        memcpy(ids + used, row.hash_ids, row.n_hash_ids * sizeof *ids);
        reqs[n] = h_req((double)n, row.prompt_tokens, row.output_tokens);
        reqs[n].hash_ids = ids + used;
        reqs[n].n_hash_ids = row.n_hash_ids;
        uint32_t k = 0;
        while (k < row.n_hash_ids && seen[row.hash_ids[k]])
            k++;
        for (uint32_t i = 0; i < row.n_hash_ids; i++) {
            cr_assert_lt(row.hash_ids[i], MAXIDS);
            seen[row.hash_ids[i]] = true;
        }
        int64_t shared = (int64_t)k * 512 < row.prompt_tokens ? (int64_t)k * 512 : row.prompt_tokens;
        int64_t blocks = shared / 16, cap = (row.prompt_tokens - 1) / 16;
        want_hits += (uint64_t)(16 * (blocks < cap ? blocks : cap));
        want_queries += (uint64_t)row.prompt_tokens;
        used += row.n_hash_ids;
        n++;
    }
    trace_close(tr);
    cr_assert_eq(n, 3638);
    struct scenario sc;
    h_scenario(&sc);
    sc.engine.enable_prefix_caching = true;
    sc.engine.max_model_len = 16384;
    sc.engine.num_gpu_blocks = 400000; /* 6.4M tokens: more than the trace's distinct ones */
    sc.engine.max_num_batched_tokens = 16384;
    sc.engine.latency.prefill_per_token_us = 1;
    sc.engine.latency.decode_iteration_ms = 0.01;
    struct h_sink out;
    struct sim *s = h_run(&sc, reqs, n, &out, false);
    const struct sim_result *res = sim_result(s);
    cr_assert_eq(res->prefix_queries_tokens, want_queries);
    cr_assert_eq(res->prefix_hits_tokens, want_hits);
    /* the figure docs/engine.md quotes for one replica: 76.8% */
    cr_assert_float_eq((double)want_hits / (double)want_queries, 0.7684, 5e-5);
    sim_free(s);
    free(out.rows);
}
