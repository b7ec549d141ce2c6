/* SHA-256 against the FIPS 180-2 example vectors (Appendix B) and streaming splits. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sim/core/sha256.h"

static void hex_of(struct sha256 *s, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    uint8_t d[32];
    sha256_final(s, d);
    for (unsigned i = 0; i < 32; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[64] = '\0';
}

/* FIPS 180-2 Appendix B.1: one-block message "abc". */
Test(sha256, fips_180_2_one_block_abc)
{
    char hex[65];
    sha256_hex("abc", 3, hex);
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* FIPS 180-2 Appendix B.2: the 448-bit two-block message. */
Test(sha256, fips_180_2_two_block_message)
{
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    char hex[65];
    sha256_hex(m, strlen(m), hex);
    cr_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* FIPS 180-2 Appendix B.3: one million 'a', fed in uneven pieces to exercise buffering. */
Test(sha256, fips_180_2_million_a_in_uneven_pieces)
{
    char *m = malloc(1000000);
    cr_assert_not_null(m);
    memset(m, 'a', 1000000);
    struct sha256 s;
    sha256_init(&s);
    size_t off = 0, step = 1;
    while (off < 1000000) {
        size_t n = step < 1000000 - off ? step : 1000000 - off;
        sha256_update(&s, m + off, n);
        off += n;
        step = step * 7 % 131 + 1;
    }
    char hex[65];
    hex_of(&s, hex);
    cr_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(m);
}

/* The empty message (NIST SHA-256 example, also `sha256sum /dev/null`). */
Test(sha256, empty_message)
{
    char hex[65];
    sha256_hex("", 0, hex);
    cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* Lengths around the padding boundary (55, 56, 63, 64 bytes) agree with coreutils'
 * sha256sum of the same bytes (computed with `head -c N /dev/zero | tr '\0' a | sha256sum`). */
Test(sha256, padding_boundaries_match_sha256sum)
{
    static const struct {
        size_t n;
        const char *hex;
    } cases[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
    };
    char m[64];
    memset(m, 'a', sizeof m);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char hex[65];
        sha256_hex(m, cases[i].n, hex);
        cr_assert_str_eq(hex, cases[i].hex, "length %zu", cases[i].n);
    }
}
