/*
 * slab.h: arrays of 32-bit words in power-of-two size classes, recycled through a free
 * list per class. Memory is carved from chunks that are kept until slab_free(), so once a
 * run has reached its high-water mark of arrays in use no call allocates: what the
 * simulator needs per request (a trace row's hash_ids, a request's KV block list) costs
 * no malloc per event.
 */
#ifndef LLMCAP_SIM_CORE_SLAB_H
#define LLMCAP_SIM_CORE_SLAB_H

#include <stddef.h>
#include <stdint.h>

/* Largest array: 2^SLAB_MAX_LOG2 words (256 Mi words, more than any request needs). */
#define SLAB_MAX_LOG2 28

struct slab;

struct slab *slab_new(void); /* caller owns: slab_free(); NULL on OOM */
void slab_free(struct slab *sl); /* NULL is a no-op; every array it gave out goes with it */

/* An array of at least `n` words (n >= 1), its capacity in *cap when cap is not NULL.
 * Contents are unspecified. NULL when n is too large or memory is short. */
uint32_t *slab_get(struct slab *sl, size_t n, size_t *cap);

/* Give back an array slab_get() returned for `n` words (the same n, or any n with the same
 * capacity). NULL is a no-op. */
void slab_put(struct slab *sl, uint32_t *p, size_t n);

/* Words held in chunks (the high-water mark), for tests and peak-memory reports. */
size_t slab_words(const struct slab *sl);

#endif
