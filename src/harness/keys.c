/*
 * keys.c - virtual key generation, hashing and recognition.
 */
#include "harness/keys.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "audit/merkle.h"

static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* Repeated division of the big-endian number by 62, least significant digit
 * first into the end of out. n is at most 64 bytes here. */
void sy_base62_encode(const uint8_t *p, size_t n, char *out, size_t digits)
{
    uint8_t num[64];
    if (n > sizeof(num))
        n = sizeof(num);
    memcpy(num, p, n);
    for (size_t d = digits; d > 0; d--) {
        unsigned rem = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned cur = (rem << 8) | num[i];
            num[i] = (uint8_t)(cur / 62);
            rem = cur % 62;
        }
        out[d - 1] = b62[rem];
    }
    OPENSSL_cleanse(num, sizeof(num));
}

int sy_key_generate(char out[SY_KEY_LEN + 1])
{
    uint8_t r[32];
    if (RAND_bytes(r, sizeof(r)) != 1)
        return SY_ERR;
    memcpy(out, SY_KEY_PREFIX, SY_KEY_PREFIX_LEN);
    sy_base62_encode(r, sizeof(r), out + SY_KEY_PREFIX_LEN, SY_KEY_BODY_LEN);
    out[SY_KEY_LEN] = '\0';
    OPENSSL_cleanse(r, sizeof(r));
    return SY_OK;
}

int sy_key_new_id(const char *prefix, size_t n, char *out, size_t outsz)
{
    size_t pl = strlen(prefix);
    uint8_t r[32];
    if (n > 40 || pl + n + 1 > outsz || RAND_bytes(r, sizeof(r)) != 1)
        return SY_ERR;
    memcpy(out, prefix, pl);
    sy_base62_encode(r, sizeof(r), out + pl, n);
    out[pl + n] = '\0';
    return SY_OK;
}

static bool is_b62(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool sy_key_is_virtual(sy_str_t k)
{
    if (k.len != SY_KEY_LEN || memcmp(k.p, SY_KEY_PREFIX, SY_KEY_PREFIX_LEN) != 0)
        return false;
    for (size_t i = SY_KEY_PREFIX_LEN; i < k.len; i++)
        if (!is_b62(k.p[i]))
            return false;
    return true;
}

/* Every request's key is hashed for the lookup: through the SHA-256 of
 * audit/merkle.h, which skips the allocations of OpenSSL's one-shot SHA256()
 * (about 3,400 instructions a call). */
void sy_key_hash(sy_str_t k, sy_key_hash_t *out)
{
    _Static_assert(sizeof(out->b) == SY_HASH_LEN, "a key hash is a SHA-256");
    sy_hash_t h;
    sy_sha256(k.p, k.len, &h);
    memcpy(out->b, h.b, sizeof(out->b));
}

bool sy_key_hash_eq(const sy_key_hash_t *a, const sy_key_hash_t *b)
{
    return CRYPTO_memcmp(a->b, b->b, SY_KEY_HASH_LEN) == 0;
}

void sy_key_hash_hex(const sy_key_hash_t *h, char out[2 * SY_KEY_HASH_LEN + 1])
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < SY_KEY_HASH_LEN; i++) {
        out[2 * i] = hx[h->b[i] >> 4];
        out[2 * i + 1] = hx[h->b[i] & 15];
    }
    out[2 * SY_KEY_HASH_LEN] = '\0';
}

int sy_key_hash_parse(sy_str_t hex, sy_key_hash_t *out)
{
    if (hex.len != 2 * SY_KEY_HASH_LEN)
        return SY_EINVAL;
    for (size_t i = 0; i < SY_KEY_HASH_LEN; i++) {
        int hi = sy_hex_digit(hex.p[2 * i]), lo = sy_hex_digit(hex.p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return SY_EINVAL;
        out->b[i] = (uint8_t)(hi << 4 | lo);
    }
    return SY_OK;
}

void sy_key_hint(sy_str_t k, char out[SY_KEY_HINT_LEN])
{
    sy_str_t tail = k.len >= 4 ? sy_str_sub(k, k.len - 4, 4) : SY_STR("");
    snprintf(out, SY_KEY_HINT_LEN, SY_KEY_PREFIX "\xe2\x80\xa6%.*s", SY_STR_FMT(tail));
}
