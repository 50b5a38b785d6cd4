/*
 * verify.c - `switchyard audit verify | proof | summary` over a store.
 */
#include "audit/verify.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "json/json.h"
#include "router/catalog.h"

/* ---- collecting checkpoints ---- */

typedef struct {
    sy_store_checkpoint_t *items;
    size_t n, cap;
} cps_t;

static int collect_cp(void *ctx, const sy_store_checkpoint_t *cp)
{
    cps_t *c = ctx;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->items = sy_realloc(c->items, c->cap * sizeof(*c->items));
    }
    c->items[c->n++] = *cp;
    return SY_OK;
}

/* ---- verify ---- */

typedef struct {
    sy_audit_verify_t *res;
    const uint8_t *pub;
    char key_id[17];
    cps_t cps;
    size_t next_cp;
    uint64_t prev_good; /* tree size of the last checkpoint that verified */
    sy_merkle_frontier_t fr;
    sy_arena_t *scratch;
} vctx_t;

static void problem(vctx_t *v, int64_t index, sy_str_t id, const char *fmt, ...) SY_PRINTF(4, 5);
static void problem(vctx_t *v, int64_t index, sy_str_t id, const char *fmt, ...)
{
    sy_audit_verify_t *r = v->res;
    r->ok = false;
    if (r->problems++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->first, sizeof(r->first), fmt, ap);
        va_end(ap);
        r->bad_index = index;
        snprintf(r->bad_id, sizeof(r->bad_id), "%.*s", (int)SY_MIN(id.len, (size_t)79),
                 id.p ? id.p : "");
    }
}

/* Check every checkpoint whose tree size the rebuilt tree has reached. */
static void check_checkpoints(vctx_t *v)
{
    while (v->next_cp < v->cps.n && v->cps.items[v->next_cp].tree_size == v->fr.size) {
        const sy_store_checkpoint_t *cp = &v->cps.items[v->next_cp++];
        v->res->checkpoints++;
        char msg[SY_CHECKPOINT_MAX];
        size_t n = sy_checkpoint_message(cp->tree_size, &cp->root, cp->time_ms, msg);
        sy_hash_t root;
        sy_merkle_frontier_root(&v->fr, &root);
        if (!sy_ed25519_verify(v->pub, msg, n, cp->sig)) {
            problem(v, -1, SY_STR(""),
                    "the checkpoint at tree size %" PRIu64
                    " has an invalid signature (it was altered, or signed by another key than "
                    "key id %s)",
                    cp->tree_size, v->key_id);
        } else if (memcmp(root.b, cp->root.b, SY_HASH_LEN) != 0) {
            problem(v, -1, SY_STR(""),
                    "the records do not match the signed checkpoint at tree size %" PRIu64
                    ": a record with index from %" PRIu64 " to %" PRIu64
                    " was altered together with its stored leaf hash, or inserted or removed",
                    cp->tree_size, v->prev_good, cp->tree_size - 1);
        } else {
            v->prev_good = cp->tree_size;
            v->res->covered = cp->tree_size;
            v->res->covered_time_ms = cp->time_ms;
        }
    }
}

static int verify_row(void *ctx, const sy_store_row_t *row)
{
    vctx_t *v = ctx;
    uint64_t i = v->fr.size;
    if (row->seq != i) {
        problem(v, (int64_t)i, SY_STR(""),
                "the record with index %" PRIu64 " is missing (the next stored one has index %" PRIu64
                ")",
                i, row->seq);
        return SY_EINVAL; /* the numbering is broken: nothing after can be placed */
    }
    sy_hash_t leaf;
    sy_merkle_leaf(row->record.p, row->record.len, &leaf);
    if (memcmp(leaf.b, row->leaf.b, SY_HASH_LEN) != 0) {
        problem(v, (int64_t)i, row->request_id,
                "record %.*s (index %" PRIu64
                ") was altered: its bytes no longer hash to the leaf hash written with it",
                (int)SY_MIN(row->request_id.len, (size_t)80), row->request_id.p, i);
    } else {
        /* The row's columns must say what the hashed record says. */
        sy_arena_reset(v->scratch);
        sy_json_t *j = NULL;
        uint64_t seq = UINT64_MAX;
        sy_str_t rid = SY_STR_NULL;
        if (sy_json_parse(v->scratch, row->record.p, row->record.len, NULL, &j, NULL) == SY_OK) {
            sy_json_as_u64(sy_json_get(j, "seq"), &seq);
            sy_json_as_str(sy_json_get(j, "request_id"), &rid);
        }
        if (j == NULL || seq != i || !sy_str_eq(rid, row->request_id))
            problem(v, (int64_t)i, row->request_id,
                    "record %.*s (index %" PRIu64
                    ") does not agree with its row: its index or request id was changed",
                    (int)SY_MIN(row->request_id.len, (size_t)80), row->request_id.p, i);
    }
    /* The tree is built from what the records say now, so a changed record
     * also shows at the next checkpoint. */
    sy_merkle_frontier_push(&v->fr, &leaf);
    v->res->records++;
    check_checkpoints(v);
    return SY_OK;
}

int sy_audit_verify(sy_store_t *s, const uint8_t pub[SY_ED25519_PUB_LEN], sy_audit_verify_t *res,
                    char *err, size_t errsz)
{
    memset(res, 0, sizeof(*res));
    res->ok = true;
    res->bad_index = -1;
    vctx_t v;
    memset(&v, 0, sizeof(v));
    v.res = res;
    v.pub = pub;
    sy_ed25519_key_id(pub, v.key_id);
    sy_merkle_frontier_init(&v.fr);
    int rc = s->vt->scan_checkpoints(s, collect_cp, &v.cps, err, errsz);
    if (rc != SY_OK)
        goto out;
    v.scratch = sy_arena_new(16384);
    check_checkpoints(&v); /* a checkpoint of the empty tree */
    rc = s->vt->scan_records(s, 0, verify_row, &v, err, errsz);
    if (rc == SY_EINVAL)
        rc = SY_OK; /* the problem is in res */
    if (rc != SY_OK)
        goto out;
    for (; v.next_cp < v.cps.n; v.next_cp++) {
        const sy_store_checkpoint_t *cp = &v.cps.items[v.next_cp];
        if (cp->tree_size > v.fr.size && res->bad_index < 0 && res->problems == 0)
            problem(&v, (int64_t)v.fr.size, SY_STR(""),
                    "a signed checkpoint covers %" PRIu64 " records but only %" PRIu64
                    " are stored: records from index %" PRIu64 " were removed",
                    cp->tree_size, v.fr.size, v.fr.size);
        else if (cp->tree_size > v.fr.size)
            res->problems++;
    }
out:
    free(v.cps.items);
    if (v.scratch)
        sy_arena_free(v.scratch);
    return rc;
}

/* ---- proof ---- */

typedef struct {
    sy_hash_t *leaves;
    uint64_t n, want;
    sy_str_t id;
    bool found;
    sy_buf_t record;
} pctx_t;

/* Every leaf up to the checkpoint, and the first record with the request id
 * (a proof needs the whole scan anyway, so the record is found in it: the
 * store needs no index on request ids). */
static int proof_row(void *ctx, const sy_store_row_t *row)
{
    pctx_t *p = ctx;
    if (row->seq >= p->n)
        return SY_ETOOBIG; /* past the checkpoint: done */
    if (!p->found && sy_str_eq(row->request_id, p->id)) {
        /* The record's own leaf comes from its bytes, not the stored hash. */
        p->found = true;
        p->want = row->seq;
        sy_merkle_leaf(row->record.p, row->record.len, &p->leaves[row->seq]);
        sy_buf_append(&p->record, row->record.p, row->record.len);
    } else {
        p->leaves[row->seq] = row->leaf;
    }
    return SY_OK;
}

static void put_json_string(FILE *out, sy_str_t s)
{
    fputc('"', out);
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

int sy_audit_proof(sy_store_t *s, sy_str_t id, FILE *out, char *err, size_t errsz)
{
    sy_store_checkpoint_t cp;
    int rc = s->vt->last_checkpoint(s, &cp, err, errsz);
    if (rc == SY_ENOTFOUND)
        cp.tree_size = 0;
    else if (rc != SY_OK)
        return rc;
    /* The leaves are held in memory: never more than the log has (a
     * checkpoint with a forged size must not size the allocation). */
    uint64_t have = 0;
    if (cp.tree_size && (rc = s->vt->count(s, &have, err, errsz)) != SY_OK)
        return rc;
    if (cp.tree_size > have) {
        snprintf(err, errsz,
                 "the latest signed checkpoint covers %" PRIu64 " records but the log holds %" PRIu64
                 ": run `switchyard audit verify`",
                 cp.tree_size, have);
        return SY_ERR;
    }
    pctx_t p = {.n = cp.tree_size, .id = id};
    p.leaves = sy_calloc(cp.tree_size ? cp.tree_size : 1, sizeof(sy_hash_t));
    sy_buf_init(&p.record, 0);
    rc = cp.tree_size ? s->vt->scan_records(s, 0, proof_row, &p, err, errsz) : SY_OK;
    if (rc == SY_ETOOBIG)
        rc = SY_OK;
    uint64_t seq = p.want;
    if (rc == SY_OK && !p.found) {
        /* Not among the records the latest checkpoint covers: newer, or
         * not in the log at all. */
        rc = s->vt->find(s, id, &seq, err, errsz);
        if (rc == SY_ENOTFOUND)
            snprintf(err, errsz, "no audit record has request id %.*s",
                     (int)SY_MIN(id.len, (size_t)100), id.p);
        else if (rc == SY_OK) {
            snprintf(err, errsz,
                     "record %.*s (index %" PRIu64
                     ") is not covered by a signed checkpoint yet; one follows within "
                     "audit.checkpoint_interval",
                     (int)SY_MIN(id.len, (size_t)100), id.p, seq);
            rc = SY_ENOTFOUND;
        }
    }
    sy_hash_t path[SY_MERKLE_MAX_PATH], root;
    size_t np = 0;
    if (rc == SY_OK) {
        np = sy_merkle_path(p.leaves, cp.tree_size, seq, path);
        sy_merkle_root(p.leaves, cp.tree_size, &root);
        if (memcmp(root.b, cp.root.b, SY_HASH_LEN) != 0 ||
            !sy_merkle_verify_path(&p.leaves[seq], seq, cp.tree_size, path, np, &cp.root)) {
            snprintf(err, errsz,
                     "the stored records do not match the latest checkpoint: run switchyard audit "
                     "verify");
            rc = SY_ERR;
        }
    }
    if (rc == SY_OK) {
        char hex[2 * SY_ED25519_SIG_LEN + 1], msg[SY_CHECKPOINT_MAX];
        size_t mlen = sy_checkpoint_message(cp.tree_size, &cp.root, cp.time_ms, msg);
        fprintf(out, "{\n  \"request_id\": ");
        put_json_string(out, id);
        fprintf(out, ",\n  \"leaf_index\": %" PRIu64 ",\n  \"tree_size\": %" PRIu64 ",\n", seq,
                cp.tree_size);
        fprintf(out, "  \"record\": ");
        put_json_string(out, sy_buf_str(&p.record));
        fprintf(out, ",\n  \"leaf_hash\": \"%s\",\n  \"audit_path\": [",
                sy_hex(p.leaves[seq].b, SY_HASH_LEN, hex));
        for (size_t i = 0; i < np; i++)
            fprintf(out, "%s\n    \"%s\"", i ? "," : "", sy_hex(path[i].b, SY_HASH_LEN, hex));
        fprintf(out, "%s],\n  \"root\": \"%s\",\n", np ? "\n  " : "",
                sy_hex(cp.root.b, SY_HASH_LEN, hex));
        fprintf(out, "  \"checkpoint\": {\n    \"message\": ");
        put_json_string(out, sy_str(msg, mlen));
        fprintf(out, ",\n    \"tree_size\": %" PRIu64 ",\n    \"time_ms\": %" PRIu64
                     ",\n    \"key_id\": \"%s\",\n",
                cp.tree_size, cp.time_ms, cp.key_id);
        fprintf(out, "    \"signature\": \"%s\"\n  }", sy_hex(cp.sig, SY_ED25519_SIG_LEN, hex));
        sy_buf_t pk;
        sy_buf_init(&pk, 0);
        if (s->vt->meta_get(s, "public_key", &pk, err, errsz) == SY_OK &&
            pk.len == SY_ED25519_PUB_LEN)
            fprintf(out, ",\n  \"public_key\": \"%s\"",
                    sy_hex(sy_buf_ptr(&pk), SY_ED25519_PUB_LEN, hex));
        sy_buf_free(&pk);
        fprintf(out, "\n}\n");
    }
    free(p.leaves);
    sy_buf_free(&p.record);
    return rc;
}

/* ---- summary ---- */

typedef struct {
    char name[128];
    uint64_t records, cost_pico, tokens_in, tokens_out, tokens_cached, tokens_reasoning;
} total_t;

typedef struct {
    total_t all;
    total_t *by_model, *by_provider, *by_verdict;
    size_t nmodel, nprovider, nverdict;
    sy_arena_t *scratch;
} sctx_t;

static total_t *bucket(total_t **arr, size_t *n, sy_str_t name)
{
    for (size_t i = 0; i < *n; i++)
        if (strlen((*arr)[i].name) == name.len && memcmp((*arr)[i].name, name.p, name.len) == 0)
            return &(*arr)[i];
    *arr = sy_realloc(*arr, (*n + 1) * sizeof(**arr));
    total_t *t = &(*arr)[(*n)++];
    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%.*s", (int)SY_MIN(name.len, (size_t)127), name.p);
    return t;
}

static void add(total_t *t, uint64_t cost, const uint64_t tok[4])
{
    t->records++;
    t->cost_pico += cost;
    t->tokens_in += tok[0];
    t->tokens_out += tok[1];
    t->tokens_cached += tok[2];
    t->tokens_reasoning += tok[3];
}

static int summary_row(void *ctx, const sy_store_row_t *row)
{
    sctx_t *c = ctx;
    sy_arena_reset(c->scratch);
    sy_json_t *j = NULL;
    if (sy_json_parse(c->scratch, row->record.p, row->record.len, NULL, &j, NULL) != SY_OK)
        return SY_OK; /* verify reports damaged records; totals skip them */
    uint64_t cost = 0, tok[4] = {0, 0, 0, 0};
    sy_json_as_u64(sy_json_get(j, "cost_pico"), &cost);
    sy_json_as_u64(sy_json_get(j, "tokens_in"), &tok[0]);
    sy_json_as_u64(sy_json_get(j, "tokens_out"), &tok[1]);
    sy_json_as_u64(sy_json_get(j, "tokens_cached"), &tok[2]);
    sy_json_as_u64(sy_json_get(j, "tokens_reasoning"), &tok[3]);
    sy_str_t model = SY_STR(""), provider = SY_STR("");
    sy_json_as_str(sy_json_get(j, "model"), &model);
    sy_json_as_str(sy_json_get(j, "provider"), &provider);
    add(&c->all, cost, tok);
    add(bucket(&c->by_model, &c->nmodel, model), cost, tok);
    add(bucket(&c->by_provider, &c->nprovider, provider), cost, tok);
    /* Verdicts counted by what was decided: a guardrail's trailing
     * "kind=count,..." component is left out so one policy and action make
     * one line ("guardrail-output:strict:redact", "refused:revoked_key"). */
    const sy_json_t *vs = sy_json_get(j, "verdicts");
    for (uint32_t i = 0; vs && vs->type == SY_JSON_ARRAY && i < vs->u.arr.len; i++) {
        sy_str_t v;
        if (sy_json_as_str(&vs->u.arr.items[i], &v) != SY_OK)
            continue;
        size_t colon = v.len;
        while (colon > 0 && v.p[colon - 1] != ':')
            colon--;
        if (colon > 0 && memchr(v.p + colon, '=', v.len - colon))
            v.len = colon - 1;
        bucket(&c->by_verdict, &c->nverdict, v)->records++;
    }
    return SY_OK;
}

static void print_total(FILE *out, const total_t *t)
{
    char usd[32];
    fprintf(out,
            "{\"records\": %" PRIu64 ", \"cost_pico\": %" PRIu64 ", \"cost_usd\": \"%s\", "
            "\"tokens_in\": %" PRIu64 ", \"tokens_out\": %" PRIu64 ", \"tokens_cached\": %" PRIu64
            ", \"tokens_reasoning\": %" PRIu64 "}",
            t->records, t->cost_pico, sy_cost_format(t->cost_pico, usd), t->tokens_in,
            t->tokens_out, t->tokens_cached, t->tokens_reasoning);
}

static void print_group(FILE *out, const char *name, const total_t *arr, size_t n)
{
    fprintf(out, ",\n  \"%s\": {", name);
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%s\n    ", i ? "," : "");
        put_json_string(out, sy_str_c(arr[i].name));
        fprintf(out, ": ");
        print_total(out, &arr[i]);
    }
    fprintf(out, "%s}", n ? "\n  " : "");
}

int sy_audit_summary(sy_store_t *s, FILE *out, char *err, size_t errsz)
{
    sctx_t c;
    memset(&c, 0, sizeof(c));
    c.scratch = sy_arena_new(16384);
    int rc = s->vt->scan_records(s, 0, summary_row, &c, err, errsz);
    if (rc == SY_OK) {
        fprintf(out, "{\n  \"total\": ");
        print_total(out, &c.all);
        print_group(out, "by_model", c.by_model, c.nmodel);
        print_group(out, "by_provider", c.by_provider, c.nprovider);
        fprintf(out, ",\n  \"verdicts\": {");
        for (size_t i = 0; i < c.nverdict; i++) {
            fprintf(out, "%s\n    ", i ? "," : "");
            put_json_string(out, sy_str_c(c.by_verdict[i].name));
            fprintf(out, ": %" PRIu64, c.by_verdict[i].records);
        }
        fprintf(out, "%s}\n}\n", c.nverdict ? "\n  " : "");
    }
    free(c.by_model);
    free(c.by_provider);
    free(c.by_verdict);
    sy_arena_free(c.scratch);
    return rc;
}
