/*
 * gen.c - the simulator's tokenizer and deterministic generator.
 *
 * Everything here is a pure function of its inputs (a seed, an index, a
 * schema): the same request gets the same output on every run and every
 * worker, and a stream can recompute token i when it is due instead of
 * keeping the text. The tokenizer is deliberately simple and documented
 * (docs/sim.md#tokenizer) so tests can predict usage figures exactly: the
 * generator emits exactly one tokenizer token per generated token.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sim/sim.h"

/* ---------------------------------------------------------------- mixing --- */

uint64_t sy_sim_mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

uint64_t sy_sim_rand(uint64_t seed, uint64_t salt, uint64_t n)
{
    return sy_sim_mix(seed ^ sy_sim_mix(salt + 0x5151)) % n;
}

/* ------------------------------------------------------------- tokenizer --- */

static inline bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static inline bool is_word(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

size_t sy_sim_token_len(sy_str_t s, size_t off)
{
    size_t i = off;
    while (i < s.len && is_space((unsigned char)s.p[i]))
        i++;
    if (i >= s.len)
        return 0;
    if (is_word((unsigned char)s.p[i])) {
        while (i < s.len && is_word((unsigned char)s.p[i]))
            i++;
    } else {
        i++;
    }
    return i - off;
}

size_t sy_sim_tokens(sy_str_t text)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)text.p;
    size_t i = 0, len = text.len;
    while (i < len) {
        unsigned char c = p[i];
        if (is_space(c)) {
            i++;
            continue;
        }
        n++;
        if (is_word(c)) {
            i++;
            while (i < len && is_word(p[i]))
                i++;
        } else {
            i++;
        }
    }
    return n;
}

static bool media_type(sy_str_t t)
{
    return sy_str_eq_c(t, "image") || sy_str_eq_c(t, "image_url") ||
           sy_str_eq_c(t, "input_audio") || sy_str_eq_c(t, "document") ||
           sy_str_eq_c(t, "input_image");
}

size_t sy_sim_tokens_json(const sy_json_t *v)
{
    if (v == NULL)
        return 0;
    switch (v->type) {
    case SY_JSON_STRING:
        return sy_sim_tokens(v->u.str);
    case SY_JSON_NUMBER:
    case SY_JSON_TRUE:
    case SY_JSON_FALSE:
        return 1;
    case SY_JSON_NULL:
        return 0;
    case SY_JSON_ARRAY: {
        size_t n = 0;
        for (uint32_t i = 0; i < v->u.arr.len; i++)
            n += sy_sim_tokens_json(&v->u.arr.items[i]);
        return n;
    }
    case SY_JSON_OBJECT: {
        const sy_json_t *t = sy_json_get(v, "type");
        if ((t && t->type == SY_JSON_STRING && media_type(t->u.str)) ||
            sy_json_get(v, "inlineData") || sy_json_get(v, "image"))
            return SY_SIM_IMAGE_TOKENS;
        size_t n = 0;
        for (uint32_t i = 0; i < v->u.obj.len; i++)
            n += sy_sim_tokens_json(&v->u.obj.items[i].value);
        return n;
    }
    }
    return 0;
}

/* ----------------------------------------------------------------- words --- */

static const char *const words[] = {
    "the",     "simulated", "model",    "answers",  "with",     "words",    "from",    "a",
    "small",   "list",      "and",      "every",    "token",    "is",       "chosen",  "by",
    "seed",    "so",        "same",     "request",  "gets",     "reply",    "router",  "gateway",
    "stream",  "river",     "quiet",    "bright",   "signal",   "harbor",   "engine",  "garden",
    "north",   "light",     "paper",    "stone",    "window",   "market",   "forest",  "simple",
    "rapid",   "steady",    "orange",   "silver",   "green",    "ocean",    "valley",  "city",
    "number",  "value",     "result",   "answer",   "question", "context",  "system",  "message",
    "tool",    "call",      "data",     "field",    "object",   "array",    "string",  "record",
    "this",    "that",      "it",       "we",       "you",      "they",     "can",     "will",
    "should",  "might",     "must",     "has",      "have",     "was",      "were",    "be",
    "in",      "on",        "at",       "for",      "of",       "to",       "over",    "under",
    "between", "through",   "after",    "before",   "during",   "without",  "within",  "across",
    "first",   "second",    "next",     "last",     "many",     "few",      "some",    "all",
    "fast",    "slow",      "early",    "late",     "warm",     "cold",     "clear",   "careful",
    "plan",    "route",     "budget",   "limit",    "cost",     "usage",    "policy",  "region",
    "check",   "verify",    "measure",  "compare",  "choose",   "return",   "send",    "read",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static inline uint64_t tok_hash(uint64_t seed, uint32_t i)
{
    return sy_sim_mix(seed ^ sy_sim_mix((uint64_t)i * 0x100000001B3ULL + 7));
}

/* Punctuation before the "no two in a row" rule. */
static inline bool punct_raw(uint64_t seed, uint32_t i)
{
    return i > 0 && (tok_hash(seed, i) & 7) == 0;
}
static inline bool is_punct(uint64_t seed, uint32_t i)
{
    return punct_raw(seed, i) && !punct_raw(seed, i - 1) && i > 1;
}
static inline bool is_stop(uint64_t seed, uint32_t i)
{
    return is_punct(seed, i) && ((tok_hash(seed, i) >> 3) & 1);
}

void sy_sim_gen_token(uint64_t seed, uint32_t i, sy_buf_t *out)
{
    if (is_punct(seed, i)) {
        sy_buf_append(out, is_stop(seed, i) ? "." : ",", 1);
        return;
    }
    const char *w = words[(tok_hash(seed, i) >> 8) % NWORDS];
    size_t len = strlen(w);
    if (sy_buf_reserve(out, len + 1) != SY_OK)
        return;
    char *p = sy_buf_tail(out);
    size_t n = 0;
    if (i > 0)
        p[n++] = ' ';
    memcpy(p + n, w, len);
    if (i == 0 || is_stop(seed, i - 1))
        p[n] = (char)(p[n] - 'a' + 'A');
    sy_buf_commit(out, n + len);
}

/* ------------------------------------------------------------ text parts --- */

void sy_sim_text_fixed(sy_sim_text_t *t, sy_str_t s)
{
    memset(t, 0, sizeof(*t));
    t->str = s;
    t->ntokens = (uint32_t)sy_sim_tokens(s);
}

void sy_sim_text_words(sy_sim_text_t *t, uint64_t seed, uint32_t ntokens, const sy_str_t *stops,
                       size_t nstops, int *stop_index, sy_buf_t *scratch)
{
    memset(t, 0, sizeof(*t));
    t->seed = seed;
    t->ntokens = ntokens;
    if (stop_index)
        *stop_index = -1;
    bool any = false;
    for (size_t i = 0; i < nstops; i++)
        any |= stops[i].len > 0;
    if (!any || ntokens == 0)
        return;
    /* Generate the whole text once, find the earliest stop sequence, and
     * keep only where it cuts: a token count and a clip inside the last. */
    sy_buf_clear(scratch);
    for (uint32_t i = 0; i < ntokens; i++)
        sy_sim_gen_token(seed, i, scratch);
    sy_str_t all = sy_buf_str(scratch);
    ptrdiff_t cut = -1;
    for (size_t k = 0; k < nstops; k++) {
        if (stops[k].len == 0)
            continue;
        ptrdiff_t at = sy_str_find(all, stops[k]);
        if (at >= 0 && (cut < 0 || at < cut)) {
            cut = at;
            if (stop_index)
                *stop_index = (int)k;
        }
    }
    if (cut < 0)
        return;
    size_t start = 0;
    uint32_t i = 0;
    for (; i < ntokens; i++) {
        size_t len = sy_sim_token_len(all, start);
        if ((size_t)cut < start + len)
            break;
        start += len;
    }
    /* Token i holds the cut (start <= cut < start + len). */
    size_t keep = (size_t)cut - start;
    bool blank = true;
    for (size_t b = 0; b < keep; b++)
        blank &= is_space((unsigned char)all.p[start + b]);
    if (keep == 0 || blank) {
        t->ntokens = i;
    } else {
        t->ntokens = i + 1;
        t->clip = (uint32_t)keep;
    }
    sy_buf_clear(scratch);
}

uint32_t sy_sim_text_take(sy_sim_text_t *t, uint32_t k, sy_buf_t *out)
{
    uint32_t n = 0;
    while (n < k && t->pos < t->ntokens) {
        if (t->str.p) {
            size_t len = sy_sim_token_len(t->str, t->off);
            if (len == 0) {
                t->pos = t->ntokens;
                break;
            }
            sy_buf_append(out, t->str.p + t->off, len);
            t->off += (uint32_t)len;
        } else {
            size_t before = out->len;
            sy_sim_gen_token(t->seed, t->pos, out);
            if (t->clip && t->pos + 1 == t->ntokens)
                out->len = before + SY_MIN((size_t)t->clip, out->len - before);
        }
        t->pos++;
        n++;
    }
    /* A fixed text's trailing whitespace belongs to no token: hand it out
     * with the last one so the bytes add up to the whole string. */
    if (t->str.p && t->pos >= t->ntokens && t->off < t->str.len &&
        sy_sim_token_len(t->str, t->off) == 0) {
        sy_buf_append(out, t->str.p + t->off, t->str.len - t->off);
        t->off = (uint32_t)t->str.len;
    }
    return n;
}

uint32_t sy_sim_text_all(sy_sim_text_t *t, sy_buf_t *out)
{
    return sy_sim_text_take(t, UINT32_MAX, out);
}

uint32_t sy_sim_text_count(const sy_sim_text_t *t) { return t->ntokens; }

/* ----------------------------------------------------- JSON from a schema --- */

#define GEN_MAX_DEPTH 12

typedef struct {
    const sy_json_t *root;
    uint64_t seed;
    uint64_t salt;
    sy_json_writer_t *w;
} gen_t;

static uint64_t gen_rand(gen_t *g, uint64_t n)
{
    g->salt++;
    return sy_sim_rand(g->seed, g->salt, n ? n : 1);
}

static void gen_words(gen_t *g, unsigned n, sy_buf_t *tmp)
{
    for (unsigned i = 0; i < n; i++) {
        if (i)
            sy_buf_append(tmp, " ", 1);
        sy_buf_append_c(tmp, words[gen_rand(g, NWORDS)]);
    }
}

static const sy_json_t *resolve_ref(gen_t *g, const sy_json_t *schema)
{
    for (int hops = 0; hops < 8; hops++) {
        sy_str_t ref = sy_json_str(sy_json_get(schema, "$ref"));
        if (ref.p == NULL)
            return schema;
        const sy_json_t *next = NULL;
        if (sy_str_starts_with(ref, SY_STR("#/$defs/")))
            next = sy_json_get_str(sy_json_get(g->root, "$defs"), sy_str_sub(ref, 8, ref.len));
        else if (sy_str_starts_with(ref, SY_STR("#/definitions/")))
            next = sy_json_get_str(sy_json_get(g->root, "definitions"), sy_str_sub(ref, 14, ref.len));
        else if (sy_str_eq_c(ref, "#"))
            next = g->root;
        if (next == NULL)
            return NULL;
        schema = next;
    }
    return NULL;
}

static void gen_value(gen_t *g, const sy_json_t *schema, int depth);

static void gen_string(gen_t *g, const sy_json_t *schema)
{
    char buf[128];
    sy_str_t fmt = sy_json_str(sy_json_get(schema, "format"));
    int n = -1;
    if (sy_str_eq_c(fmt, "date-time"))
        n = snprintf(buf, sizeof(buf), "2025-%02u-%02uT%02u:%02u:00Z", (unsigned)gen_rand(g, 12) + 1,
                     (unsigned)gen_rand(g, 28) + 1, (unsigned)gen_rand(g, 24),
                     (unsigned)gen_rand(g, 60));
    else if (sy_str_eq_c(fmt, "date"))
        n = snprintf(buf, sizeof(buf), "2025-%02u-%02u", (unsigned)gen_rand(g, 12) + 1,
                     (unsigned)gen_rand(g, 28) + 1);
    else if (sy_str_eq_c(fmt, "email"))
        n = snprintf(buf, sizeof(buf), "%s@example.com", words[gen_rand(g, NWORDS)]);
    else if (sy_str_eq_c(fmt, "uri") || sy_str_eq_c(fmt, "url"))
        n = snprintf(buf, sizeof(buf), "https://example.com/%s", words[gen_rand(g, NWORDS)]);
    else if (sy_str_eq_c(fmt, "uuid"))
        n = snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-8%03x-%012llx",
                     (unsigned)gen_rand(g, 0xffffffffu), (unsigned)gen_rand(g, 0xffff),
                     (unsigned)gen_rand(g, 0xfff), (unsigned)gen_rand(g, 0xfff),
                     (unsigned long long)gen_rand(g, 0xffffffffffffULL));
    if (n > 0) {
        sy_json_write_string(g->w, sy_str(buf, (size_t)n));
        return;
    }
    /* Words, within minLength/maxLength when given. */
    uint64_t minl = 0, maxl = 0;
    sy_json_as_u64(sy_json_get(schema, "minLength"), &minl);
    sy_json_as_u64(sy_json_get(schema, "maxLength"), &maxl);
    char sbuf[256];
    sy_buf_t tmp = {.data = sbuf, .cap = sizeof(sbuf), .max = sizeof(sbuf)};
    gen_words(g, 1 + (unsigned)gen_rand(g, 2), &tmp);
    while (tmp.len < minl && tmp.len < 200)
        sy_buf_append_c(&tmp, "x");
    if (maxl && tmp.len > maxl)
        tmp.len = maxl;
    sy_json_write_string(g->w, sy_buf_str(&tmp));
}

static void gen_number(gen_t *g, const sy_json_t *schema, bool integer)
{
    double lo = 0, hi = 100;
    const sy_json_t *v;
    if ((v = sy_json_get(schema, "minimum")) != NULL)
        sy_json_as_double(v, &lo);
    if ((v = sy_json_get(schema, "exclusiveMinimum")) != NULL && sy_json_as_double(v, &lo) == SY_OK)
        lo += integer ? 1 : 0.01;
    if ((v = sy_json_get(schema, "maximum")) != NULL)
        sy_json_as_double(v, &hi);
    else if (lo > 0)
        hi = lo + 100;
    if ((v = sy_json_get(schema, "exclusiveMaximum")) != NULL && sy_json_as_double(v, &hi) == SY_OK)
        hi -= integer ? 1 : 0.01;
    if (hi < lo)
        hi = lo;
    if (integer) {
        double a = ceil(lo), b = floor(hi);
        if (b < a)
            b = a;
        uint64_t span = (uint64_t)(b - a) + 1;
        if (b - a > 1e15)
            span = 1000000;
        sy_json_write_i64(g->w, (int64_t)a + (int64_t)gen_rand(g, span));
    } else {
        uint64_t steps = (uint64_t)((hi - lo) * 100.0) + 1;
        if (hi - lo > 1e13)
            steps = 100000;
        double d = lo + (double)gen_rand(g, steps) / 100.0;
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%.2f", d);
        sy_json_write_number_raw(g->w, sy_str(buf, (size_t)n));
    }
}

static void gen_object(gen_t *g, const sy_json_t *schema, int depth)
{
    const sy_json_t *props = sy_json_get(schema, "properties");
    const sy_json_t *req = sy_json_get(schema, "required");
    sy_json_write_begin_object(g->w);
    if (!sy_json_is(props, SY_JSON_OBJECT) || props->u.obj.len == 0) {
        /* No declared properties: a small, plausible object, unless the
         * schema forbids extra members. */
        const sy_json_t *ap = sy_json_get(schema, "additionalProperties");
        if (!(ap && ap->type == SY_JSON_FALSE) && depth < GEN_MAX_DEPTH) {
            sy_json_write_key_lit(g->w, "result");
            sy_json_write_string(g->w, sy_str_c(words[gen_rand(g, NWORDS)]));
            sy_json_write_key_lit(g->w, "count");
            sy_json_write_i64(g->w, (int64_t)gen_rand(g, 100));
            sy_json_write_key_lit(g->w, "ok");
            sy_json_write_bool(g->w, gen_rand(g, 2) == 1);
        }
        sy_json_write_end_object(g->w);
        return;
    }
    for (uint32_t i = 0; i < props->u.obj.len; i++) {
        const sy_json_member_t *m = &props->u.obj.items[i];
        bool required = false;
        for (size_t r = 0; r < sy_json_len(req); r++)
            required |= sy_str_eq(sy_json_str(sy_json_index(req, r)), m->key);
        /* Optional members by coin flip, and never past the depth cap. */
        if (!required && (depth >= GEN_MAX_DEPTH / 2 || gen_rand(g, 2) == 0))
            continue;
        sy_json_write_key(g->w, m->key);
        gen_value(g, &m->value, depth + 1);
    }
    sy_json_write_end_object(g->w);
}

static void gen_array(gen_t *g, const sy_json_t *schema, int depth)
{
    uint64_t lo = 1, hi = 3;
    sy_json_as_u64(sy_json_get(schema, "minItems"), &lo);
    if (sy_json_as_u64(sy_json_get(schema, "maxItems"), &hi) != SY_OK)
        hi = lo + 2;
    if (hi < lo)
        hi = lo;
    lo = SY_MIN(lo, (uint64_t)16);
    hi = SY_MIN(hi, (uint64_t)16);
    if (depth >= GEN_MAX_DEPTH)
        hi = lo;
    uint64_t n = lo + gen_rand(g, hi - lo + 1);
    const sy_json_t *items = sy_json_get(schema, "items");
    sy_json_write_begin_array(g->w);
    for (uint64_t i = 0; i < n; i++)
        gen_value(g, items, depth + 1);
    sy_json_write_end_array(g->w);
}

static void gen_value(gen_t *g, const sy_json_t *schema, int depth)
{
    if (schema && schema->type == SY_JSON_TRUE)
        schema = NULL;
    if (schema && schema->type != SY_JSON_OBJECT) {
        sy_json_write_null(g->w);
        return;
    }
    if (schema)
        schema = resolve_ref(g, schema);
    if (depth > GEN_MAX_DEPTH * 2) {
        sy_json_write_null(g->w);
        return;
    }
    const sy_json_t *v;
    if (schema && (v = sy_json_get(schema, "const")) != NULL) {
        sy_json_write_value(g->w, v);
        return;
    }
    if (schema && (v = sy_json_get(schema, "enum")) != NULL && sy_json_len(v) > 0) {
        sy_json_write_value(g->w, sy_json_index(v, gen_rand(g, sy_json_len(v))));
        return;
    }
    if (schema && ((v = sy_json_get(schema, "anyOf")) != NULL || (v = sy_json_get(schema, "oneOf")) != NULL) &&
        sy_json_len(v) > 0) {
        /* First branch that is not just {"type":"null"}. */
        const sy_json_t *pick = sy_json_index(v, 0);
        for (size_t i = 0; i < sy_json_len(v); i++) {
            const sy_json_t *b = sy_json_index(v, i);
            if (!sy_str_eq_c(sy_json_str(sy_json_get(b, "type")), "null")) {
                pick = b;
                break;
            }
        }
        gen_value(g, pick, depth + 1);
        return;
    }
    if (schema && (v = sy_json_get(schema, "allOf")) != NULL && sy_json_len(v) > 0) {
        gen_value(g, sy_json_index(v, 0), depth + 1);
        return;
    }
    sy_str_t type = SY_STR_NULL;
    if (schema) {
        v = sy_json_get(schema, "type");
        if (sy_json_is(v, SY_JSON_STRING)) {
            type = v->u.str;
        } else if (sy_json_is(v, SY_JSON_ARRAY)) {
            for (size_t i = 0; i < sy_json_len(v); i++) {
                sy_str_t t = sy_json_str(sy_json_index(v, i));
                if (!sy_str_eq_c(t, "null")) {
                    type = t;
                    break;
                }
            }
            if (type.p == NULL)
                type = SY_STR("null");
        } else if (sy_json_get(schema, "properties")) {
            type = SY_STR("object");
        } else if (sy_json_get(schema, "items")) {
            type = SY_STR("array");
        }
    }
    if (type.p == NULL)
        type = depth == 0 ? SY_STR("object") : SY_STR("string");
    if (sy_str_eq_c(type, "object"))
        gen_object(g, schema, depth);
    else if (sy_str_eq_c(type, "array"))
        gen_array(g, schema, depth);
    else if (sy_str_eq_c(type, "integer"))
        gen_number(g, schema, true);
    else if (sy_str_eq_c(type, "number"))
        gen_number(g, schema, false);
    else if (sy_str_eq_c(type, "boolean"))
        sy_json_write_bool(g->w, gen_rand(g, 2) == 1);
    else if (sy_str_eq_c(type, "null"))
        sy_json_write_null(g->w);
    else
        gen_string(g, schema);
}

void sy_sim_gen_json(uint64_t seed, const sy_json_t *schema, sy_json_writer_t *w)
{
    gen_t g = {.root = schema, .seed = seed, .salt = 0, .w = w};
    gen_value(&g, schema, 0);
}

/* ------------------------------------------------------------ embeddings --- */

void sy_sim_gen_embedding(uint64_t seed, uint32_t dims, bool base64, sy_json_writer_t *w)
{
    /* Two passes over the same deterministic sequence: the norm, then the
     * values, so nothing is buffered whatever dims is. */
    double norm = 0;
    for (uint32_t i = 0; i < dims; i++) {
        double x = (double)(sy_sim_mix(seed + i) >> 11) / 9007199254740992.0 * 2.0 - 1.0;
        norm += x * x;
    }
    norm = norm > 0 ? sqrt(norm) : 1;
    if (!base64) {
        sy_json_write_begin_array(w);
        for (uint32_t i = 0; i < dims; i++) {
            double x = (double)(sy_sim_mix(seed + i) >> 11) / 9007199254740992.0 * 2.0 - 1.0;
            char buf[32];
            int n = snprintf(buf, sizeof(buf), "%.9g", (double)(float)(x / norm));
            sy_json_write_number_raw(w, sy_str(buf, (size_t)n));
        }
        sy_json_write_end_array(w);
        return;
    }
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t nbytes = (size_t)dims * 4, outlen = (nbytes + 2) / 3 * 4;
    sy_buf_t *b = w->buf;
    sy_json_write_raw(w, SY_STR("\"\"")); /* places the comma/colon; filled below */
    if (w->err || sy_buf_reserve(b, outlen) != SY_OK) {
        w->err = SY_ETOOBIG;
        return;
    }
    b->len--; /* reopen the string before its closing quote */
    unsigned char tri[3];
    size_t t = 0;
    for (uint32_t i = 0; i < dims; i++) {
        double x = (double)(sy_sim_mix(seed + i) >> 11) / 9007199254740992.0 * 2.0 - 1.0;
        float f = (float)(x / norm);
        unsigned char le[4];
        memcpy(le, &f, 4); /* x86 and arm64 are little-endian */
        for (int k = 0; k < 4; k++) {
            tri[t++] = le[k];
            if (t == 3) {
                char q[4] = {b64[tri[0] >> 2], b64[((tri[0] & 3) << 4) | (tri[1] >> 4)],
                             b64[((tri[1] & 15) << 2) | (tri[2] >> 6)], b64[tri[2] & 63]};
                sy_buf_append(b, q, 4);
                t = 0;
            }
        }
    }
    if (t) {
        if (t == 1)
            tri[1] = 0;
        char q[4] = {b64[tri[0] >> 2], b64[((tri[0] & 3) << 4) | (tri[1] >> 4)],
                     t == 2 ? b64[(tri[1] & 15) << 2] : '=', '='};
        sy_buf_append(b, q, 4);
    }
    sy_buf_append(b, "\"", 1);
}
