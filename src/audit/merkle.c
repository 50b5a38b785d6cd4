/*
 * merkle.c - SHA-256 and RFC 6962 tree hashing.
 *
 * SHA-256 is OpenSSL's, through its SHA256_* functions rather than EVP: the
 * hashes here are short (a 65-byte tree node, a record of about a kilobyte,
 * a request body), and an EVP digest costs about a thousand instructions
 * more each time (a context allocated, a provider's context allocated and
 * cleansed, dispatch) - half the cost of hashing a node. Both run the same
 * block function (SHA-NI, AVX2... chosen by OpenSSL for the CPU). The
 * functions are deprecated in OpenSSL 3, not removed; should a future
 * OpenSSL drop them, EVP with a context reused per caller is the way back.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "audit/merkle.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(SHA256_CTX) <= sizeof(((sy_sha256_ctx_t *)0)->state.bytes),
               "sy_sha256_ctx_t must hold OpenSSL's SHA256_CTX");

static SHA256_CTX *ossl(sy_sha256_ctx_t *c)
{
    return (SHA256_CTX *)(void *)c->state.bytes;
}

void sy_sha256_init(sy_sha256_ctx_t *c)
{
    if (!SHA256_Init(ossl(c)))
        sy_panic("audit: SHA-256 init failed");
}

void sy_sha256_update(sy_sha256_ctx_t *c, const void *p, size_t n)
{
    if (n && !SHA256_Update(ossl(c), p, n))
        sy_panic("audit: SHA-256 update failed");
}

void sy_sha256_digest(sy_sha256_ctx_t *c, sy_hash_t *out)
{
    if (!SHA256_Final(out->b, ossl(c)))
        sy_panic("audit: SHA-256 final failed");
}

void sy_sha256_2(const void *a, size_t an, const void *b, size_t bn, sy_hash_t *out)
{
    SHA256_CTX c;
    if (!SHA256_Init(&c) || (an && !SHA256_Update(&c, a, an)) ||
        (bn && !SHA256_Update(&c, b, bn)) || !SHA256_Final(out->b, &c))
        sy_panic("audit: SHA-256 failed");
}

void sy_sha256(const void *p, size_t n, sy_hash_t *out)
{
    sy_sha256_2(p, n, NULL, 0, out);
}

char *sy_hex(const void *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
    return out;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int sy_unhex(sy_str_t s, void *out, size_t n)
{
    if (s.len != 2 * n)
        return SY_EINVAL;
    uint8_t *b = out;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(s.p[2 * i]), lo = hexval(s.p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return SY_EINVAL;
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    return SY_OK;
}

/* ---- RFC 6962 ---- */

void sy_merkle_leaf(const void *record, size_t n, sy_hash_t *out)
{
    static const uint8_t zero = 0x00;
    sy_sha256_2(&zero, 1, record, n, out);
}

void sy_merkle_node(const sy_hash_t *left, const sy_hash_t *right, sy_hash_t *out)
{
    uint8_t buf[1 + 2 * SY_HASH_LEN];
    buf[0] = 0x01;
    memcpy(buf + 1, left->b, SY_HASH_LEN);
    memcpy(buf + 1 + SY_HASH_LEN, right->b, SY_HASH_LEN);
    sy_sha256(buf, sizeof(buf), out);
}

/* The largest power of two smaller than n (n >= 2). */
static uint64_t split(uint64_t n)
{
    uint64_t k = 1;
    while (k << 1 < n)
        k <<= 1;
    return k;
}

void sy_merkle_root(const sy_hash_t *leaves, uint64_t n, sy_hash_t *out)
{
    if (n == 0) {
        sy_sha256("", 0, out);
        return;
    }
    if (n == 1) {
        *out = leaves[0];
        return;
    }
    uint64_t k = split(n);
    sy_hash_t l, r;
    sy_merkle_root(leaves, k, &l);
    sy_merkle_root(leaves + k, n - k, &r);
    sy_merkle_node(&l, &r, out);
}

size_t sy_merkle_path(const sy_hash_t *leaves, uint64_t n, uint64_t m,
                      sy_hash_t path[SY_MERKLE_MAX_PATH])
{
    if (n <= 1 || m >= n)
        return 0;
    uint64_t k = split(n);
    size_t len;
    if (m < k) {
        len = sy_merkle_path(leaves, k, m, path);
        sy_merkle_root(leaves + k, n - k, &path[len]);
    } else {
        len = sy_merkle_path(leaves + k, n - k, m - k, path);
        sy_merkle_root(leaves, k, &path[len]);
    }
    return len + 1;
}

bool sy_merkle_verify_path(const sy_hash_t *leaf, uint64_t m, uint64_t n, const sy_hash_t *path,
                           size_t npath, const sy_hash_t *root)
{
    if (m >= n)
        return false;
    uint64_t fn = m, sn = n - 1;
    sy_hash_t r = *leaf;
    for (size_t i = 0; i < npath; i++) {
        if (sn == 0)
            return false;
        if ((fn & 1) || fn == sn) {
            sy_merkle_node(&path[i], &r, &r);
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            sy_merkle_node(&r, &path[i], &r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(r.b, root->b, SY_HASH_LEN) == 0;
}

/* ---- the compact range ---- */

void sy_merkle_frontier_init(sy_merkle_frontier_t *f)
{
    f->size = 0;
    f->n = 0;
}

void sy_merkle_frontier_push(sy_merkle_frontier_t *f, const sy_hash_t *leaf)
{
    /* Like a binary increment: every trailing one bit of the size is a full
     * subtree of the new leaf's size that now merges with it. */
    sy_hash_t h = *leaf;
    for (uint64_t s = f->size; s & 1; s >>= 1)
        sy_merkle_node(&f->nodes[--f->n], &h, &h);
    f->nodes[f->n++] = h;
    f->size++;
}

void sy_merkle_frontier_root(const sy_merkle_frontier_t *f, sy_hash_t *out)
{
    if (f->n == 0) {
        sy_sha256("", 0, out);
        return;
    }
    sy_hash_t r = f->nodes[f->n - 1];
    for (size_t i = f->n - 1; i-- > 0;)
        sy_merkle_node(&f->nodes[i], &r, &r);
    *out = r;
}

size_t sy_merkle_frontier_encode(const sy_merkle_frontier_t *f, uint8_t *out)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(f->size >> (56 - 8 * i));
    memcpy(out + 8, f->nodes, f->n * SY_HASH_LEN);
    return 8 + f->n * SY_HASH_LEN;
}

int sy_merkle_frontier_decode(sy_merkle_frontier_t *f, const uint8_t *p, size_t n)
{
    if (n < 8 || (n - 8) % SY_HASH_LEN)
        return SY_EINVAL;
    uint64_t size = 0;
    for (int i = 0; i < 8; i++)
        size = size << 8 | p[i];
    size_t count = (n - 8) / SY_HASH_LEN;
    if ((size_t)__builtin_popcountll(size) != count)
        return SY_EINVAL;
    f->size = size;
    f->n = count;
    memcpy(f->nodes, p + 8, count * SY_HASH_LEN);
    return SY_OK;
}
