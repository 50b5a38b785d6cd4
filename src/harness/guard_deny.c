/*
 * guard_deny.c - deny lists: words and phrases from config, and regexes.
 *
 * Words and phrases are tokenized with the same tokenizer as the text
 * (guard_text.c) and stored as sequences of word hashes. A hash table maps
 * each phrase's last word to the phrases ending with it; scanning the text
 * is one tokenizer pass with one table probe per word, and a phrase is
 * confirmed against a ring of the last SY_GUARD_MAX_DENY_PHRASE words. So
 * matching is whole-word and ASCII-case-insensitive, and "project  x-ray"
 * in the text matches the phrase "project x ray" (punctuation and spacing
 * between words do not matter). Words are compared by 64-bit hash.
 *
 * Regexes are PCRE2, compiled once at config load with UTF and
 * MATCH_INVALID_UTF (invalid bytes in the text never make a match fail),
 * JIT-compiled when the library can, and run under a match limit, a depth
 * limit and a heap limit. Hitting a limit is reported as a finding over the
 * whole text (confidence 0.5): a pattern that cannot finish fails closed.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#include "harness/guard_int.h"

#define REGEX_RULE_BIT 0x8000u
#define DEPTH_LIMIT    1000u
#define HEAP_LIMIT_KIB 8192u

typedef struct {
    uint64_t hash;
    int32_t head; /* first phrase ending with this word, -1 if none */
} dent_t;

typedef struct {
    uint64_t words[SY_GUARD_MAX_DENY_PHRASE];
    uint8_t n;
    uint16_t index; /* position in the configured list */
    int32_t next;
} phrase_t;

struct sy_guard_deny {
    dent_t *table;
    size_t tmask;
    phrase_t *phrases;
    size_t nphrases;
    pcre2_code **codes;
    size_t ncodes;
    pcre2_match_context *mctx;
};

size_t sy_guard_phrase_words(sy_str_t phrase)
{
    size_t pos = 0, n = 0;
    sy_guard_word_t w;
    while (sy_guard_next_word((const unsigned char *)phrase.p, phrase.len, &pos, &w))
        n++;
    return n;
}

static dent_t *dent(const sy_guard_deny_t *d, uint64_t h, bool insert)
{
    size_t i = (size_t)(h ^ (h >> 31)) & d->tmask;
    for (;;) {
        dent_t *e = &d->table[i];
        if (e->head == -2) { /* empty */
            if (!insert)
                return NULL;
            e->hash = h;
            e->head = -1;
            return e;
        }
        if (e->hash == h)
            return e;
        i = (i + 1) & d->tmask;
    }
}

static void free_code(void *p)
{
    pcre2_code_free(p);
}

static void free_mctx(void *p)
{
    pcre2_match_context_free(p);
}

sy_guard_deny_t *sy_guard_deny_build(sy_arena_t *a, const sy_str_t *words, size_t nwords,
                                     const sy_str_t *regex, size_t nregex, size_t *bad,
                                     const char **err)
{
    sy_guard_deny_t *d = sy_arena_calloc(a, sizeof(*d));
    size_t tsize = 16;
    while (tsize < nwords * 2)
        tsize *= 2;
    d->table = sy_arena_alloc(a, tsize * sizeof(*d->table));
    for (size_t i = 0; i < tsize; i++)
        d->table[i] = (dent_t){0, -2};
    d->tmask = tsize - 1;
    d->phrases = sy_arena_calloc(a, SY_MAX(nwords, (size_t)1) * sizeof(*d->phrases));
    for (size_t i = 0; i < nwords && i < SY_GUARD_MAX_DENY_WORDS; i++) {
        phrase_t *p = &d->phrases[d->nphrases];
        size_t pos = 0;
        sy_guard_word_t w;
        while (p->n < SY_GUARD_MAX_DENY_PHRASE &&
               sy_guard_next_word((const unsigned char *)words[i].p, words[i].len, &pos, &w))
            p->words[p->n++] = w.hash;
        if (p->n == 0)
            continue;
        p->index = (uint16_t)i;
        dent_t *e = dent(d, p->words[p->n - 1], true);
        p->next = e->head;
        e->head = (int32_t)d->nphrases++;
    }
    if (nregex) {
        d->codes = sy_arena_calloc(a, nregex * sizeof(*d->codes));
        d->mctx = pcre2_match_context_create(NULL);
        if (d->mctx == NULL)
            sy_panic("guard: out of memory");
        sy_arena_cleanup(a, free_mctx, d->mctx);
        pcre2_set_match_limit(d->mctx, SY_GUARD_REGEX_MATCH_LIMIT);
        pcre2_set_depth_limit(d->mctx, DEPTH_LIMIT);
        pcre2_set_heap_limit(d->mctx, HEAP_LIMIT_KIB);
    }
    for (size_t i = 0; i < nregex; i++) {
        int code;
        PCRE2_SIZE off;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)regex[i].p, regex[i].len,
                                       PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &off, NULL);
        if (re == NULL) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(code, msg, sizeof(msg));
            *bad = i;
            *err = sy_arena_sprintf(a, "%s at offset %zu", (const char *)msg, (size_t)off);
            return NULL;
        }
        sy_arena_cleanup(a, free_code, re);
        pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* best effort: the interpreter works too */
        d->codes[d->ncodes++] = re;
    }
    return d;
}

/* ---- words ---- */

void sy_guard_deny_scan_words(const sy_guard_deny_t *d, sy_guard_wsrc_t *src,
                              sy_guard_findings_t *out)
{
    if (d == NULL || d->nphrases == 0)
        return;
    sy_guard_word_t ring[SY_GUARD_MAX_DENY_PHRASE];
    size_t count = 0;
    sy_guard_word_t w;
    while (!out->truncated && sy_guard_wsrc_next(src, &w)) {
        ring[count % SY_GUARD_MAX_DENY_PHRASE] = w;
        count++;
        const dent_t *e = dent(d, w.hash, false);
        if (e == NULL)
            continue;
        for (int32_t k = e->head; k >= 0; k = d->phrases[k].next) {
            const phrase_t *p = &d->phrases[k];
            if (p->n > count)
                continue;
            bool ok = true;
            for (size_t b = 1; b < p->n && ok; b++)
                ok = ring[(count - 1 - b) % SY_GUARD_MAX_DENY_PHRASE].hash == p->words[p->n - 1 - b];
            if (ok) {
                size_t st = ring[(count - p->n) % SY_GUARD_MAX_DENY_PHRASE].start;
                sy_guard_push(out, SY_GUARD_DENY, p->index, st, w.end, 0.95f);
                break;
            }
        }
    }
}

/* ---- regexes ---- */

static void *g_malloc(PCRE2_SIZE size, void *data)
{
    return sy_arena_alloc(data, size ? size : 1);
}

static void g_free(void *p, void *data)
{
    SY_UNUSED(p);
    SY_UNUSED(data);
}

static void scan_regex(const sy_guard_deny_t *d, const unsigned char *s, size_t n,
                       sy_guard_findings_t *out)
{
    if (out->arena == NULL)
        return;
    pcre2_general_context *gc = pcre2_general_context_create(g_malloc, g_free, out->arena);
    pcre2_match_data *md = pcre2_match_data_create(1, gc);
    for (size_t r = 0; r < d->ncodes && !out->truncated; r++) {
        size_t off = 0;
        while (off <= n && !out->truncated) {
            int rc = pcre2_match(d->codes[r], (PCRE2_SPTR)s, n, off, 0, md, d->mctx);
            if (rc == PCRE2_ERROR_NOMATCH)
                break;
            if (rc < 0) { /* a limit: fail closed */
                sy_guard_push(out, SY_GUARD_DENY, REGEX_RULE_BIT | (unsigned)r, 0, n, 0.5f);
                break;
            }
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            size_t st = ov[0], en = ov[1];
            if (st > n || en > n)
                break;
            if (en > st)
                sy_guard_push(out, SY_GUARD_DENY, REGEX_RULE_BIT | (unsigned)r, st, en, 0.9f);
            if (en > off) {
                off = en;
            } else {
                off++;
                while (off < n && (s[off] & 0xC0) == 0x80)
                    off++;
            }
        }
    }
}

size_t sy_guard_scan_deny(const sy_guard_deny_t *d, sy_str_t text, sy_guard_findings_t *out)
{
    size_t before = out->n;
    if (d == NULL)
        return 0;
    const unsigned char *s = text.p ? (const unsigned char *)text.p : (const unsigned char *)"";
    sy_guard_wsrc_t src = {.s = s, .n = text.len};
    sy_guard_deny_scan_words(d, &src, out);
    if (d->ncodes)
        scan_regex(d, s, text.len, out);
    return out->n - before;
}

size_t sy_guard_deny_scan_regex(const sy_guard_deny_t *d, sy_str_t text, sy_guard_findings_t *out)
{
    size_t before = out->n;
    if (d && d->ncodes)
        scan_regex(d, text.p ? (const unsigned char *)text.p : (const unsigned char *)"",
                   text.len, out);
    return out->n - before;
}
