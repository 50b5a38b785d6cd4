/*
 * verify.h - checking an audit log, proving a record's inclusion, totals.
 *
 * Verification trusts nothing in the store but the public key the caller
 * brings: every record's leaf hash is recomputed from its bytes, the tree is
 * rebuilt from those leaves, and at every checkpoint the rebuilt root must
 * equal the signed root and the signature must verify. The first problem is
 * named precisely (a record by request id and index where one can be
 * identified), later ones are counted.
 */
#ifndef SY_AUDIT_VERIFY_H
#define SY_AUDIT_VERIFY_H

#include <stdio.h>

#include "store/store.h"

typedef struct {
    bool ok;
    uint64_t records;       /* stored records */
    uint64_t checkpoints;   /* checkpoints checked */
    uint64_t covered;       /* tree size of the last checkpoint that verified */
    uint64_t covered_time_ms;
    uint64_t problems;      /* how many problems were found */
    int64_t bad_index;      /* index of the first tampered record, or -1 */
    char bad_id[80];        /* its request id ("" when not known) */
    char first[600];        /* the first problem, in words */
} sy_audit_verify_t;

/* SY_OK when the check ran (see res->ok for its verdict), SY_ERR when the
 * store could not be read (err). */
int sy_audit_verify(sy_store_t *s, const uint8_t pub[SY_ED25519_PUB_LEN], sy_audit_verify_t *res,
                    char *err, size_t errsz);

/* Print the inclusion proof of the record with request id `id` against the
 * latest checkpoint, as JSON (docs/internals/audit.md explains how to check
 * it by hand). SY_OK, SY_ENOTFOUND (no such record, or no checkpoint covers
 * it yet: err says which) or SY_ERR. */
int sy_audit_proof(sy_store_t *s, sy_str_t id, FILE *out, char *err, size_t errsz);

/* Print totals of the stored records as JSON: count, cost (pico-dollars
 * and USD) and tokens, overall and by model and by provider. */
int sy_audit_summary(sy_store_t *s, FILE *out, char *err, size_t errsz);

#endif
