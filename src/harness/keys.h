/*
 * keys.h - virtual API keys: making them, hashing them, recognising them.
 *
 * A virtual key is "sk-sy-" followed by 43 base62 characters that encode
 * 256 random bits (OpenSSL's RAND_bytes). The gateway keeps only its SHA-256
 * hash: the key itself is shown once, in the answer that created (or
 * rotated) it, and can never be read back. A short hint ("sk-sy-…Xb3Q", the
 * last four characters) identifies it in listings without revealing it.
 *
 * Lookups compare 32-byte hashes with CRYPTO_memcmp, whose time does not
 * depend on where two hashes differ.
 */
#ifndef SY_HARNESS_KEYS_H
#define SY_HARNESS_KEYS_H

#include "core/common.h"
#include "core/str.h"

#define SY_KEY_PREFIX "sk-sy-"
#define SY_KEY_PREFIX_LEN 6
#define SY_KEY_BODY_LEN 43 /* base62 digits of a 256-bit number: 62^43 > 2^256 */
#define SY_KEY_LEN (SY_KEY_PREFIX_LEN + SY_KEY_BODY_LEN)
#define SY_KEY_HASH_LEN 32
#define SY_KEY_HINT_LEN 16 /* "sk-sy-" + "…" (3 bytes) + 4 characters + NUL, rounded up */
#define SY_KEY_ID_LEN 24   /* "key_" + 20 base62 characters (119 random bits) */

typedef struct {
    uint8_t b[SY_KEY_HASH_LEN];
} sy_key_hash_t;

/* A new key into out (NUL-terminated, SY_KEY_LEN characters). SY_OK, or
 * SY_ERR when the random generator fails (nothing is written then). */
int sy_key_generate(char out[SY_KEY_LEN + 1]);
/* A new identifier "<prefix>" + n base62 characters (n <= 40) into out. */
int sy_key_new_id(const char *prefix, size_t n, char *out, size_t outsz);

/* Whether `k` has the shape of a virtual key (prefix, length, alphabet). */
bool sy_key_is_virtual(sy_str_t k);
/* SHA-256 of the key's bytes. */
void sy_key_hash(sy_str_t k, sy_key_hash_t *out);
/* Constant-time equality of two hashes. */
bool sy_key_hash_eq(const sy_key_hash_t *a, const sy_key_hash_t *b);
/* Lower-case hex (64 characters + NUL) and back (SY_EINVAL on bad input). */
void sy_key_hash_hex(const sy_key_hash_t *h, char out[2 * SY_KEY_HASH_LEN + 1]);
int sy_key_hash_parse(sy_str_t hex, sy_key_hash_t *out);
/* The hint shown in listings: "sk-sy-…" and the key's last four characters. */
void sy_key_hint(sy_str_t k, char out[SY_KEY_HINT_LEN]);

/* Base62 of a big-endian number of n bytes into exactly `digits` characters
 * (most significant first, zero-padded). Exposed for tests. */
void sy_base62_encode(const uint8_t *p, size_t n, char *out, size_t digits);

#endif
