/*
 * slab.c: power-of-two size classes over chunks that are never returned before
 * slab_free(). A free array keeps the next free array of its class in its first two
 * words (arrays have at least 2 words, so a pointer fits).
 */
#include "sim/core/slab.h"

#include <stdlib.h>
#include <string.h>

#include "sim/core/err.h"

#define MIN_LOG2 1               /* 2 words: a free-list link fits */
#define CHUNK_WORDS (1u << 16)   /* 256 KiB chunks for the small classes */

struct slab {
    uint32_t *free[SLAB_MAX_LOG2 + 1]; /* free arrays per class */
    void **chunks;
    size_t n_chunks, cap_chunks;
    uint32_t *cur;   /* carving position in the last small chunk */
    size_t cur_left; /* words left there */
    size_t words;
};

struct slab *slab_new(void)
{
    return calloc(1, sizeof(struct slab));
}

void slab_free(struct slab *sl)
{
    if (!sl)
        return;
    for (size_t i = 0; i < sl->n_chunks; i++)
        free(sl->chunks[i]);
    free(sl->chunks);
    free(sl);
}

static int class_of(size_t n)
{
    int c = MIN_LOG2;
    while (c <= SLAB_MAX_LOG2 && ((size_t)1 << c) < n)
        c++;
    return c;
}

static uint32_t *new_chunk(struct slab *sl, size_t words)
{
    if (sl->n_chunks == sl->cap_chunks) {
        size_t cap = sl->cap_chunks ? sl->cap_chunks * 2 : 16;
        void **a = sim_reallocarray(sl->chunks, cap, sizeof *a);
        if (!a)
            return NULL;
        sl->chunks = a;
        sl->cap_chunks = cap;
    }
    uint32_t *c = malloc(words * sizeof *c);
    if (!c)
        return NULL;
    sl->chunks[sl->n_chunks++] = c;
    sl->words += words;
    return c;
}

uint32_t *slab_get(struct slab *sl, size_t n, size_t *cap)
{
    int c = class_of(n ? n : 1);
    if (c > SLAB_MAX_LOG2)
        return NULL;
    size_t words = (size_t)1 << c;
    uint32_t *p = sl->free[c];
    if (p) {
        uint32_t *nxt;
        memcpy(&nxt, p, sizeof nxt);
        sl->free[c] = nxt;
    } else if (words >= CHUNK_WORDS) {
        p = new_chunk(sl, words);
    } else {
        if (sl->cur_left < words) {
            /* The rest of the current chunk goes to the free lists of smaller classes. */
            while (sl->cur_left >= ((size_t)1 << MIN_LOG2)) {
                int k = SLAB_MAX_LOG2;
                while (((size_t)1 << k) > sl->cur_left)
                    k--;
                memcpy(sl->cur, &sl->free[k], sizeof sl->free[k]);
                sl->free[k] = sl->cur;
                sl->cur += (size_t)1 << k;
                sl->cur_left -= (size_t)1 << k;
            }
            sl->cur = new_chunk(sl, CHUNK_WORDS);
            if (!sl->cur) {
                sl->cur_left = 0;
                return NULL;
            }
            sl->cur_left = CHUNK_WORDS;
        }
        p = sl->cur;
        sl->cur += words;
        sl->cur_left -= words;
    }
    if (p && cap)
        *cap = words;
    return p;
}

void slab_put(struct slab *sl, uint32_t *p, size_t n)
{
    if (!p)
        return;
    int c = class_of(n ? n : 1);
    memcpy(p, &sl->free[c], sizeof sl->free[c]);
    sl->free[c] = p;
}

size_t slab_words(const struct slab *sl)
{
    return sl->words;
}
