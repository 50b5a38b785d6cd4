/*
 * sign.h - Ed25519 keys and signed checkpoints of the audit log.
 *
 * A checkpoint says "the log had tree_size records and this root at this
 * time"; the writer signs one every audit.checkpoint_records records or
 * audit.checkpoint_interval, whichever comes first. The signed message is
 * plain text, so a person can check a checkpoint with openssl alone
 * (docs/internals/audit.md):
 *
 *   switchyard-audit-checkpoint/v1\n
 *   tree_size=<decimal>\n
 *   root=<64 lower-case hex digits>\n
 *   time_ms=<decimal Unix milliseconds>\n
 *
 * The private key lives in a PEM (PKCS#8) file created 0600 on first start;
 * it never reaches a log line, an error message or the store. Its public
 * half is written beside it (FILE.pub, PEM) and into the store. A key id is
 * the first 8 bytes of SHA-256(raw public key), in hex.
 */
#ifndef SY_AUDIT_SIGN_H
#define SY_AUDIT_SIGN_H

#include "audit/merkle.h"
#include "core/buf.h"

#define SY_ED25519_PUB_LEN 32
#define SY_ED25519_SIG_LEN 64
#define SY_CHECKPOINT_MAX 256 /* bytes of a checkpoint message */

typedef struct sy_signer sy_signer_t;

/*
 * Load the private key at `path`, or create it (0600, O_EXCL) when it does
 * not exist and `create` is true; *created says which happened. NULL on
 * failure with a message in err (never the key's bytes). A key file readable
 * by group or others is refused.
 */
sy_signer_t *sy_signer_open(const char *path, bool create, bool *created, char *err, size_t errsz);
void sy_signer_free(sy_signer_t *s);
const uint8_t *sy_signer_public(const sy_signer_t *s); /* 32 raw bytes */
int sy_signer_sign(const sy_signer_t *s, const void *msg, size_t n, uint8_t sig[SY_ED25519_SIG_LEN]);

/* Verify an Ed25519 signature with a raw 32-byte public key. */
bool sy_ed25519_verify(const uint8_t pub[SY_ED25519_PUB_LEN], const void *msg, size_t n,
                       const uint8_t sig[SY_ED25519_SIG_LEN]);

/* Read a public key: a PEM file ("BEGIN PUBLIC KEY"), a PEM private key (its
 * public half), or a file holding 64 hex digits. SY_OK or SY_EINVAL + err. */
int sy_ed25519_load_public(const char *path, uint8_t pub[SY_ED25519_PUB_LEN], char *err,
                           size_t errsz);
/* Write `pub` as a PEM SubjectPublicKeyInfo to out. */
int sy_ed25519_public_pem(const uint8_t pub[SY_ED25519_PUB_LEN], sy_buf_t *out);
/* key id: 16 hex digits + NUL. */
char *sy_ed25519_key_id(const uint8_t pub[SY_ED25519_PUB_LEN], char out[17]);

/* The checkpoint message above; returns its length (< SY_CHECKPOINT_MAX). */
size_t sy_checkpoint_message(uint64_t tree_size, const sy_hash_t *root, uint64_t time_ms,
                             char out[SY_CHECKPOINT_MAX]);

#endif
