/*
 * merkle.h - SHA-256 and the RFC 6962 Merkle tree of the audit log.
 *
 * RFC 6962 section 2.1, with SHA-256:
 *   MTH({})      = SHA-256()
 *   leaf hash    = SHA-256(0x00 || record bytes)
 *   node hash    = SHA-256(0x01 || left || right)
 *   MTH(D[n])    = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of
 *                  two smaller than n (so the left subtree is always full)
 *   PATH(m, D[n]) the audit path of leaf m: PATH(m, D[0:k]) : MTH(D[k:n])
 *                  for m < k, PATH(m-k, D[k:n]) : MTH(D[0:k]) otherwise.
 * Functions here take leaf hashes (not records), so a caller hashes each
 * record once. The compact range (sy_merkle_frontier_t) is the writer's
 * running state: the roots of the full subtrees covering the leaves so far
 * (one per set bit of the size, at most 64), enough to append a leaf and to
 * compute the root of the whole tree without keeping any leaf.
 */
#ifndef SY_AUDIT_MERKLE_H
#define SY_AUDIT_MERKLE_H

#include "core/common.h"
#include "core/str.h"

#define SY_HASH_LEN 32

typedef struct {
    uint8_t b[SY_HASH_LEN];
} sy_hash_t;

/* SHA-256 of p[0..n). Thread-safe. */
void sy_sha256(const void *p, size_t n, sy_hash_t *out);
/* SHA-256 of a[0..an) || b[0..bn). */
void sy_sha256_2(const void *a, size_t an, const void *b, size_t bn, sy_hash_t *out);

/* Incremental SHA-256 (for a response hashed as it is streamed). The
 * context is a plain value, so it can live inside the object it belongs to
 * (a request's audit handle: no allocation per request); its bytes are
 * OpenSSL's SHA256_CTX (merkle.c checks that it fits). */
typedef struct sy_sha256_ctx {
    union {
        unsigned char bytes[128];
        uint64_t align;
    } state;
} sy_sha256_ctx_t;
void sy_sha256_init(sy_sha256_ctx_t *c);
void sy_sha256_update(sy_sha256_ctx_t *c, const void *p, size_t n);
/* Writes the digest; c must be initialised again before it is reused. */
void sy_sha256_digest(sy_sha256_ctx_t *c, sy_hash_t *out);

/* Lower-case hex: out needs 2*n+1 bytes; returns out. */
char *sy_hex(const void *p, size_t n, char *out);
/* Parse exactly 2*n hex digits into out; SY_OK or SY_EINVAL. */
int sy_unhex(sy_str_t s, void *out, size_t n);

void sy_merkle_leaf(const void *record, size_t n, sy_hash_t *out);
void sy_merkle_node(const sy_hash_t *left, const sy_hash_t *right, sy_hash_t *out);

/* MTH of the n leaf hashes leaves[0..n). O(n) hashing, O(log n) stack. */
void sy_merkle_root(const sy_hash_t *leaves, uint64_t n, sy_hash_t *out);

#define SY_MERKLE_MAX_PATH 64
/* The audit path of leaf m in the tree of leaves[0..n) (m < n): writes up to
 * SY_MERKLE_MAX_PATH hashes, leaf level first, and returns how many. */
size_t sy_merkle_path(const sy_hash_t *leaves, uint64_t n, uint64_t m,
                      sy_hash_t path[SY_MERKLE_MAX_PATH]);

/* Check an inclusion proof (RFC 9162 section 2.1.3.2): leaf hash `leaf` at
 * index m of a tree of size n whose root is `root`. */
bool sy_merkle_verify_path(const sy_hash_t *leaf, uint64_t m, uint64_t n, const sy_hash_t *path,
                           size_t npath, const sy_hash_t *root);

/* The compact range: roots of the full subtrees covering leaves [0, size),
 * largest (leftmost) first. */
typedef struct {
    uint64_t size;
    size_t n;
    sy_hash_t nodes[64];
} sy_merkle_frontier_t;

void sy_merkle_frontier_init(sy_merkle_frontier_t *f);
void sy_merkle_frontier_push(sy_merkle_frontier_t *f, const sy_hash_t *leaf);
/* MTH of the leaves pushed so far (SHA-256() for none). */
void sy_merkle_frontier_root(const sy_merkle_frontier_t *f, sy_hash_t *out);
/* Serialised form, for the store: 8-byte big-endian size, then the nodes.
 * encode needs 8 + 64*32 bytes and returns the length used; decode checks the
 * node count against the size. */
size_t sy_merkle_frontier_encode(const sy_merkle_frontier_t *f, uint8_t *out);
int sy_merkle_frontier_decode(sy_merkle_frontier_t *f, const uint8_t *p, size_t n);

#endif
