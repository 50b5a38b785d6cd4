/*
 * cache.c - the answer cache: whole non-streamed answers kept per worker,
 * keyed by the request bytes they are a function of.
 *
 * A simulated answer is deterministic: the text, tool calls and usage are
 * seeded from the request, so the same request (method, path and query,
 * x-sim-* headers, body) against the same configuration gives the same
 * bytes, except for the fields that identify one response (its id, the
 * created time). A family that has authenticated a request and checked its
 * Content-Type looks the rest up here before it parses anything; on a hit
 * the stored answer goes out with those fields regenerated for this request
 * (slots), and parsing, validation and generation are skipped. The key holds
 * every input validation reads after the lookup, so identical keys get the
 * identical verdict: only answers that passed (200, no fault) are stored.
 *
 * Not stored: streams, answers with a fault (x-sim-fault, or a model with a
 * fault schedule, whose outcome depends on a shared counter), answers or
 * keys over their size caps. The table is per worker (no locks): sets of
 * WAYS entries, least recently used replaced; memory is bounded by
 * entries x (SY_SIM_CACHE_KEY_MAX + SY_SIM_CACHE_BODY_MAX).
 */
#include <stdlib.h>
#include <string.h>

#include "core/fmt.h"
#include "sim/sim.h"

#define WAYS 4u

typedef struct {
    uint64_t hash;
    uint64_t used;         /* cache tick of the last hit or store; 0 = empty */
    char *mem;             /* key bytes, then body bytes (one malloc) */
    size_t mem_cap;
    uint32_t key_len, body_len;
    const sy_sim_model_t *model;
    sy_sim_behaviour_t bhv;
    uint64_t seed;
    uint32_t output_tokens;
    const char *ctype;
    uint32_t nslots;
    sy_sim_slot_t slots[SY_SIM_CACHE_SLOTS];
} entry_t;

struct sy_sim_cache {
    entry_t *e;
    uint32_t nsets; /* a power of two */
    uint64_t tick;
    uint64_t hits, misses, stores;
};

sy_sim_cache_t *sy_sim_cache_new(uint32_t entries)
{
    if (entries == 0)
        return NULL;
    uint32_t nsets = 1;
    while (nsets * WAYS < entries)
        nsets <<= 1;
    sy_sim_cache_t *c = sy_calloc(1, sizeof(*c));
    c->nsets = nsets;
    c->e = sy_calloc((size_t)nsets * WAYS, sizeof(entry_t));
    return c;
}

void sy_sim_cache_free(sy_sim_cache_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < (size_t)c->nsets * WAYS; i++)
        free(c->e[i].mem);
    free(c->e);
    free(c);
}

void sy_sim_cache_stats(const sy_sim_cache_t *c, sy_sim_cache_stats_t *st)
{
    memset(st, 0, sizeof(*st));
    if (c == NULL)
        return;
    st->capacity = (size_t)c->nsets * WAYS;
    for (size_t i = 0; i < st->capacity; i++) {
        st->entries += c->e[i].used != 0;
        st->bytes += c->e[i].mem_cap;
    }
    st->hits = c->hits;
    st->misses = c->misses;
    st->stores = c->stores;
}

/* ------------------------------------------------------------------ key --- */

/*
 * The key is a list of pieces: method, path, query, then name and value of
 * each x-sim-* header in the order sent (a later one overrides an earlier
 * one, so order matters), then the body. Stored as [u32 length][bytes] per
 * piece, so no two different lists have the same encoding.
 */
#define MAX_PIECES (3 + 2 * 32 + 1)

static size_t key_pieces(const sy_sim_call_t *call, sy_str_t *pc)
{
    const sy_http_request_t *h = &call->req->head;
    size_t n = 0;
    pc[n++] = h->method;
    pc[n++] = h->path;
    pc[n++] = h->query;
    for (size_t i = 0; i < h->nheaders; i++) {
        sy_str_t name = h->headers[i].name;
        if (name.len < 6 || (name.p[0] | 0x20) != 'x' ||
            !sy_str_ieq(sy_str_sub(name, 0, 6), SY_STR("x-sim-")))
            continue;
        if (n + 3 > MAX_PIECES)
            return 0; /* more x-sim-* headers than any real use: not cached */
        pc[n++] = name;
        pc[n++] = h->headers[i].value;
    }
    pc[n++] = call->req->body;
    return n;
}

/* 64-bit hash over the pieces, eight bytes at a time. */
static uint64_t key_hash(const sy_str_t *pc, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = (const unsigned char *)pc[i].p;
        size_t len = pc[i].len;
        h = (h ^ len) * 0x9E3779B97F4A7C15ull;
        while (len >= 8) {
            uint64_t x;
            memcpy(&x, p, 8);
            h = (h ^ x) * 0xFF51AFD7ED558CCDull;
            h ^= h >> 32;
            p += 8;
            len -= 8;
        }
        if (len) {
            uint64_t x = 0;
            memcpy(&x, p, len);
            h = (h ^ x) * 0xC4CEB9FE1A85EC53ull;
            h ^= h >> 29;
        }
    }
    return sy_sim_mix(h);
}

static size_t key_size(const sy_str_t *pc, size_t n)
{
    size_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += 4 + pc[i].len;
    return s;
}

static bool key_equal(const entry_t *e, const sy_str_t *pc, size_t n)
{
    const char *k = e->mem, *end = e->mem + e->key_len;
    for (size_t i = 0; i < n; i++) {
        uint32_t len;
        if ((size_t)(end - k) < 4)
            return false;
        memcpy(&len, k, 4);
        k += 4;
        if (len != pc[i].len || (size_t)(end - k) < len || (len && memcmp(k, pc[i].p, len) != 0))
            return false;
        k += len;
    }
    return k == end;
}

static void key_store(char *k, const sy_str_t *pc, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t len = (uint32_t)pc[i].len;
        memcpy(k, &len, 4);
        k += 4;
        if (len)
            memcpy(k, pc[i].p, len);
        k += len;
    }
}

/* --------------------------------------------------------------- lookup --- */

bool sy_sim_cache_lookup(sy_sim_call_t *call)
{
    sy_sim_cache_t *c = call->w->cache;
    call->cache_keyed = false;
    call->cache_hit = NULL;
    if (c == NULL)
        return false;
    sy_str_t pc[MAX_PIECES];
    size_t n = key_pieces(call, pc);
    if (n == 0 || key_size(pc, n) > SY_SIM_CACHE_KEY_MAX)
        return false;
    uint64_t h = key_hash(pc, n);
    call->cache_hash = h;
    call->cache_keyed = true;
    entry_t *set = &c->e[(size_t)(h & (c->nsets - 1)) * WAYS];
    for (uint32_t i = 0; i < WAYS; i++) {
        entry_t *e = &set[i];
        if (e->used && e->hash == h && key_equal(e, pc, n)) {
            e->used = ++c->tick;
            c->hits++;
            call->cache_hit = e;
            call->model = e->model;
            call->bhv = e->bhv;
            call->seed = e->seed;
            return true;
        }
    }
    c->misses++;
    return false;
}

void sy_sim_cache_respond(sy_sim_call_t *call)
{
    const entry_t *e = call->cache_hit;
    sy_buf_t *b = &call->w->scratch;
    sy_buf_clear(b);
    const char *body = e->mem + e->key_len;
    uint32_t at = 0;
    for (uint32_t i = 0; i < e->nslots; i++) {
        const sy_sim_slot_t *s = &e->slots[i];
        sy_buf_append(b, body + at, s->off - at);
        if (s->kind == SY_SIM_SLOT_ID) {
            sy_sim_id(call, "", s->len, s->salt, b);
        } else {
            char num[20];
            sy_buf_append(b, num, sy_fmt_u64(num, sy_sim_unix_now()));
        }
        at = s->off + s->len;
    }
    sy_buf_append(b, body + at, e->body_len - at);
    sy_sim_respond_json(call, 200, e->ctype, sy_buf_ptr(b), b->len, e->output_tokens);
    sy_buf_clear(b);
}

/* ---------------------------------------------------------------- store --- */

void sy_sim_cache_put(sy_sim_call_t *call, const char *ctype, const char *body, size_t len,
                      uint32_t output_tokens, const sy_sim_slot_t *slots, size_t nslots)
{
    sy_sim_cache_t *c = call->w->cache;
    if (c == NULL || !call->cache_keyed || call->cache_hit || call->stream || call->model == NULL ||
        call->bhv.fault != SY_SIM_FAULT_NONE || call->model->bhv.fault != SY_SIM_FAULT_NONE ||
        len > SY_SIM_CACHE_BODY_MAX || nslots > SY_SIM_CACHE_SLOTS)
        return;
    for (size_t i = 0; i < nslots; i++)
        if (slots[i].off + slots[i].len > len || (i && slots[i].off < slots[i - 1].off + slots[i - 1].len))
            return; /* a family bug; never serve a body patched in the wrong place */
    sy_str_t pc[MAX_PIECES];
    size_t n = key_pieces(call, pc);
    size_t ks = key_size(pc, n);
    if (n == 0 || ks > SY_SIM_CACHE_KEY_MAX)
        return;
    entry_t *set = &c->e[(size_t)(call->cache_hash & (c->nsets - 1)) * WAYS];
    entry_t *e = &set[0];
    for (uint32_t i = 0; i < WAYS; i++) {
        if (set[i].used == 0) {
            e = &set[i];
            break;
        }
        if (set[i].used < e->used)
            e = &set[i];
    }
    if (e->mem_cap < ks + len) {
        free(e->mem);
        e->mem_cap = ks + len;
        e->mem = sy_malloc(e->mem_cap);
    }
    key_store(e->mem, pc, n);
    memcpy(e->mem + ks, body, len);
    e->hash = call->cache_hash;
    e->key_len = (uint32_t)ks;
    e->body_len = (uint32_t)len;
    e->model = call->model;
    e->bhv = call->bhv;
    e->seed = call->seed;
    e->output_tokens = output_tokens;
    e->ctype = ctype;
    e->nslots = (uint32_t)nslots;
    memcpy(e->slots, slots, nslots * sizeof(*slots));
    e->used = ++c->tick;
    c->stores++;
}
