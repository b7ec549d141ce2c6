/*
 * sha256.h: SHA-256 (FIPS 180-4), for the scenario hash a run records.
 *
 * Small and dependency-free because no crypto library is available. Streaming: init,
 * update any number of times, final. Not constant-time; it hashes our own inputs only.
 */
#ifndef LLMCAP_SIM_SHA256_H
#define LLMCAP_SIM_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
    uint32_t h[8];
    uint64_t n_bytes; /* message bytes so far */
    uint8_t buf[64];  /* partial block */
    size_t n_buf;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
/* Write the 32-byte digest; `s` must be re-initialised before reuse. */
void sha256_final(struct sha256 *s, uint8_t out[32]);

/* Digest of `data[0..n)` as 64 lower-case hex digits and a NUL into `hex`. */
void sha256_hex(const void *data, size_t n, char hex[65]);

#endif
