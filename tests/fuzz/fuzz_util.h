/*
 * fuzz_util.h: helpers shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c).
 *
 * The readers under test take file paths, so each input is written to a per-process
 * file in /dev/shm (memory, not disk) and read back by the real loader. Harness state
 * (the temp path, a catalog loaded once) lives in static storage: harnesses are test
 * programs, not library code.
 */
#ifndef LLMCAP_TESTS_FUZZ_UTIL_H
#define LLMCAP_TESTS_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A per-process path "/dev/shm/llmcap-fuzz-<pid>-<name>" (falls back to /tmp). */
static inline const char *fuzz_path(char *buf, size_t n, const char *name)
{
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(buf, n, "%s/llmcap-fuzz-%ld-%s", dir, (long)getpid(), name);
    return buf;
}

/* Write `size` bytes to `path` (truncating); aborts on I/O failure (a harness bug). */
static inline void fuzz_write(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

/* A NUL-terminated copy of the input (caller frees). */
static inline char *fuzz_strdup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
