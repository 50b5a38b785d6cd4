/*
 * openai_decode.c - OpenAI /chat/completions responses into the IR: whole
 * bodies (decode) and SSE streams (stream_new / feed / end).
 *
 * The stream format has no blocks: a chunk's choices[0].delta may carry
 * content, reasoning (reasoning_content or reasoning, as DeepSeek, xAI,
 * vLLM and Groq send it), a refusal, and tool-call fragments keyed by an
 * index. The decoder synthesises blocks:
 *   - the first non-empty content opens a TEXT block, reasoning a THINKING
 *     block; a change of kind closes the open block and opens the next;
 *   - each tool call (by its OpenAI index, or by id when a host sends no
 *     index) becomes one TOOL_CALL block, opened once its name is known,
 *     its argument fragments TOOL_ARGS deltas.
 * Parallel calls normally arrive one after the other. When a host
 * interleaves them (fragments of call 0 after call 1 began), IR blocks,
 * which cannot overlap, need care: the open call stays open until its
 * arguments form a complete JSON value; fragments of later calls are held
 * back meanwhile and replayed when their block opens (at the latest at the
 * finish). Sequential streams are therefore passed on fragment by fragment;
 * only interleaved ones are delayed, and never reordered.
 *
 * finish_reason -> FINISH (after closing blocks), any usage object ->
 * USAGE (OpenAI's include_usage chunk has choices:[]), [DONE] -> END. A
 * stream that ends before [DONE], a chunk that is not JSON, an SSE cap
 * exceeded, or an {"error":...} event -> an ERROR delta and SY_EINVAL.
 * Azure's choices:[] chunk with prompt_filter_results, content_filter_*
 * members, `obfuscation` padding and usage:null are ignored.
 */
#include "providers/openai_internal.h"

#include <stdio.h>
#include <string.h>
#include "http/sse.h"
#include "ir/emit.h"

/* ------------------------------------------------------------- helpers --- */

/* The choice with index 0 (or the first when none says). */
static const sy_json_t *first_choice(const sy_json_t *choices)
{
    size_t n = sy_json_len(choices);
    for (size_t i = 0; i < n; i++) {
        const sy_json_t *c = sy_json_index(choices, i);
        int64_t idx;
        if (sy_json_as_i64(sy_json_get(c, "index"), &idx) != SY_OK || idx == 0)
            return c;
    }
    return NULL;
}

/* Arguments as text: a string as it is; an object (some hosts) serialised. */
static sy_str_t args_text(sy_arena_t *a, const sy_json_t *v)
{
    if (sy_json_is(v, SY_JSON_STRING))
        return v->u.str;
    if (v == NULL || v->type == SY_JSON_NULL)
        return SY_STR("");
    sy_buf_t b;
    sy_buf_init(&b, 0);
    sy_str_t out = SY_STR("");
    if (sy_json_serialize(v, &b, 0) == SY_OK && b.len)
        out = sy_str_dup(a, sy_buf_str(&b));
    sy_buf_free(&b);
    return out;
}

/* A tool-call id for hosts that send none: deterministic, unique within the
 * response ("call_<hash of the response id>_<n>"). */
static sy_str_t synth_call_id(sy_arena_t *a, sy_str_t msg_id, size_t n)
{
    uint64_t h = sy_hash_bytes(msg_id.p ? msg_id.p : "", msg_id.len);
    return sy_str_c(sy_arena_sprintf(a, "call_%08x_%zu", (unsigned)(h & 0xffffffffu), n));
}

/* -------------------------------------------------------- whole bodies --- */

static void add_part(sy_arena_t *a, sy_ir_response_t *r, size_t *cap, const sy_ir_part_t *p)
{
    if (r->nparts == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        r->parts = sy_arena_realloc(a, r->parts, *cap * sizeof(*r->parts), ncap * sizeof(*r->parts));
        *cap = ncap;
    }
    r->parts[r->nparts++] = *p;
}

static void add_text(sy_arena_t *a, sy_ir_response_t *r, size_t *cap, sy_ir_part_kind_t kind,
                     sy_str_t text)
{
    if (text.len == 0)
        return;
    sy_ir_part_t p;
    memset(&p, 0, sizeof(p));
    p.kind = kind;
    p.text = text;
    add_part(a, r, cap, &p);
}

/* Mistral's typed content array: {"type":"text","text"} and
 * {"type":"thinking","thinking":[{"type":"text","text"}]}. */
static void add_content_array(sy_arena_t *a, sy_ir_response_t *r, size_t *cap, const sy_json_t *arr)
{
    for (size_t i = 0; i < sy_json_len(arr); i++) {
        const sy_json_t *c = sy_json_index(arr, i);
        sy_str_t type = sy_json_str(sy_json_get(c, "type"));
        if (sy_str_eq_c(type, "text"))
            add_text(a, r, cap, SY_IR_TEXT, sy_json_str(sy_json_get(c, "text")));
        else if (sy_str_eq_c(type, "thinking")) {
            const sy_json_t *t = sy_json_get(c, "thinking");
            if (sy_json_is(t, SY_JSON_STRING))
                add_text(a, r, cap, SY_IR_THINKING, t->u.str);
            for (size_t j = 0; j < sy_json_len(t); j++)
                add_text(a, r, cap, SY_IR_THINKING,
                         sy_json_str(sy_json_get(sy_json_index(t, j), "text")));
        }
    }
}

static int bad_response(sy_ir_error_t *err, const char *msg)
{
    memset(err, 0, sizeof(*err));
    err->cls = SY_IR_ERR_BAD_RESPONSE;
    err->status = 200;
    err->message = sy_str_c(msg);
    return SY_EINVAL;
}

int sy_openai_decode(sy_arena_t *a, const sy_provider_ctx_t *cx, sy_str_t body,
                     sy_ir_response_t *out, sy_ir_error_t *err)
{
    SY_UNUSED(cx);
    memset(out, 0, sizeof(*out));
    sy_json_t *root = NULL;
    if (sy_json_parse(a, body.p ? body.p : "", body.len, NULL, &root, NULL) != SY_OK ||
        !sy_json_is(root, SY_JSON_OBJECT))
        return bad_response(err, "the upstream response is not a JSON object");
    const sy_json_t *e = sy_json_get(root, "error");
    if (e && e->type != SY_JSON_NULL) {
        memset(err, 0, sizeof(*err));
        sy_openai_read_error(e, 0, err);
        if (err->message.len == 0)
            err->message = SY_STR("the upstream provider answered with an error");
        return SY_EINVAL;
    }
    const sy_json_t *choice = first_choice(sy_json_get(root, "choices"));
    const sy_json_t *msg = sy_json_get(choice, "message");
    if (!sy_json_is(msg, SY_JSON_OBJECT))
        return bad_response(err, "the upstream response has no choices[0].message");

    out->id = sy_json_str(sy_json_get(root, "id"));
    out->model = sy_json_str(sy_json_get(root, "model"));
    sy_json_as_i64(sy_json_get(root, "created"), &out->created);
    size_t cap = 0;
    sy_str_t reasoning = sy_json_str(sy_json_get(msg, "reasoning_content"));
    if (reasoning.len == 0)
        reasoning = sy_json_str(sy_json_get(msg, "reasoning"));
    add_text(a, out, &cap, SY_IR_THINKING, reasoning);
    const sy_json_t *content = sy_json_get(msg, "content");
    if (sy_json_is(content, SY_JSON_ARRAY))
        add_content_array(a, out, &cap, content);
    else
        add_text(a, out, &cap, SY_IR_TEXT, sy_json_str(content));
    sy_str_t refusal = sy_json_str(sy_json_get(msg, "refusal"));
    add_text(a, out, &cap, SY_IR_TEXT, refusal);

    const sy_json_t *calls = sy_json_get(msg, "tool_calls");
    size_t ncalls = 0;
    for (size_t i = 0; i < sy_json_len(calls); i++) {
        const sy_json_t *c = sy_json_index(calls, i);
        const sy_json_t *fn = sy_json_get(c, "function");
        sy_ir_part_t p;
        memset(&p, 0, sizeof(p));
        p.kind = SY_IR_TOOL_CALL;
        p.call_id = sy_json_str(sy_json_get(c, "id"));
        if (p.call_id.len == 0)
            p.call_id = synth_call_id(a, out->id, ncalls);
        p.name = sy_json_str(sy_json_get(fn, "name"));
        p.arguments = args_text(a, sy_json_get(fn, "arguments"));
        if (p.arguments.len == 0)
            p.arguments = SY_STR("{}");
        if (p.name.len == 0)
            return bad_response(err, "the upstream response has a tool call without a name");
        add_part(a, out, &cap, &p);
        ncalls++;
    }

    out->finish = sy_openai_read_finish(sy_json_str(sy_json_get(choice, "finish_reason")));
    /* Some compatible servers say "stop" after tool calls; clients of the
     * other formats need to know the model is waiting for tool results. */
    if (out->finish == SY_IR_FINISH_STOP && ncalls)
        out->finish = SY_IR_FINISH_TOOL_CALLS;
    else if (out->finish == SY_IR_FINISH_STOP && refusal.len)
        out->finish = SY_IR_FINISH_REFUSAL;
    sy_openai_read_usage(sy_json_get(root, "usage"), &out->usage);
    return SY_OK;
}

/*
 * Reading a usage object from its text, in one pass that checks the
 * grammar as it goes, exactly where it accepts: keys of plain printable
 * ASCII, numbers and literals as the parser takes them, counts written as
 * plain digits, the two details objects one level down. Anything else (a
 * string or array value, another nested object, an escaped or repeated
 * key, a count such as 1.0e2 or one of 20 digits) is SY_EAGAIN, and the
 * caller parses the text and reads the tree (sy_openai_read_usage), which
 * stays the reference: tests/unit/test_openai.c compares the two on random
 * usage objects.
 */
typedef struct {
    const char *p, *end;
    sy_openai_counts_t *c;
    unsigned seen; /* counts and details objects met, by index */
} usage_rd_t;

static inline void rd_ws(usage_rd_t *r)
{
    const char *p = r->p;
    if (p < r->end && (unsigned char)*p > ' ')
        return; /* the usual case: no whitespace at all (one test, not four) */
    while (p < r->end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
        p++;
    r->p = p;
}

/* The keys OpenAI writes in a usage object and its details objects, each
 * with its closing quote: a key that is one of them ends there, without the
 * scan for its end (the scan would stop at the same quote: they are plain),
 * and *uk and *dk are what usage_key and details_key below say of it (the
 * count it names in a usage object; the details count it names, or -1). */
#define KEY(lit, u, d)                                                                             \
    do {                                                                                           \
        if (n >= sizeof(lit) - 1 && memcmp(p, lit, sizeof(lit) - 1) == 0) {                       \
            *uk = (u);                                                                             \
            *dk = (d);                                                                             \
            return sizeof(lit) - 2;                                                                \
        }                                                                                          \
    } while (0)
static size_t known_key(const char *p, size_t n, int *uk, int *dk)
{
    if (n == 0)
        return 0;
    switch (*p) {
    case 'p':
        KEY("prompt_tokens\"", SY_OPENAI_PROMPT, -1);
        KEY("prompt_tokens_details\"", SY_OPENAI_NCOUNTS, -1);
        break;
    case 'c':
        KEY("completion_tokens\"", SY_OPENAI_COMPLETION, -1);
        KEY("completion_tokens_details\"", SY_OPENAI_NCOUNTS + 1, -1);
        KEY("cached_tokens\"", -1, SY_OPENAI_CACHED);
        break;
    case 't':
        KEY("total_tokens\"", SY_OPENAI_TOTAL, -1);
        break;
    case 'a':
        KEY("audio_tokens\"", -1, -1);
        KEY("accepted_prediction_tokens\"", -1, -1);
        break;
    case 'r':
        KEY("reasoning_tokens\"", -1, SY_OPENAI_REASONING);
        KEY("rejected_prediction_tokens\"", -1, -1);
        break;
    default:
        break;
    }
    return 0;
}
#undef KEY

/* A key at r->p (its opening quote) of printable ASCII without '"' or
 * '\\' (the parser's own vectorised scan finds its end), which the parser
 * would take as it is. *known: one of known_key's, with *uk and *dk set. */
static int rd_key(usage_rd_t *r, sy_str_t *key, bool *known, int *uk, int *dk)
{
    const char *s = ++r->p;
    size_t len = known_key(s, (size_t)(r->end - s), uk, dk);
    *known = len != 0;
    r->p += len ? len : sy_json_plain_prefix(s, (size_t)(r->end - s));
    if (r->p == r->end || *r->p != '"')
        return SY_EAGAIN;
    *key = sy_str(s, (size_t)(r->p - s));
    r->p++;
    return SY_OK;
}

static bool is_digit(const char *p, const char *end) { return p < end && (unsigned)(*p - '0') < 10; }

/* A number per the parser's grammar and length cap. *plain: written as
 * digits only, at most 19 of them (below 10^19 < 2^64), so *val is exactly
 * what sy_json_as_u64 reads. */
static int rd_number(usage_rd_t *r, bool *plain, uint64_t *val)
{
    const char *s = r->p, *p = r->p, *end = r->end;
    bool minus = *p == '-';
    p += minus;
    if (!is_digit(p, end))
        return SY_EAGAIN;
    uint64_t n = 0;
    if (*p == '0') {
        p++;
    } else {
        for (; is_digit(p, end) && p - s < 19; p++)
            n = n * 10 + (unsigned)(*p - '0');
        while (is_digit(p, end))
            p++;
    }
    *plain = !minus && p - s <= 19;
    if (p < end && *p == '.') {
        p++;
        if (!is_digit(p, end))
            return SY_EAGAIN;
        while (is_digit(p, end))
            p++;
        *plain = false;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!is_digit(p, end))
            return SY_EAGAIN;
        while (is_digit(p, end))
            p++;
        *plain = false;
    }
    if (p - s > SY_JSON_MAX_NUMBER)
        return SY_EAGAIN;
    r->p = p;
    *val = n;
    return SY_OK;
}

static bool rd_lit(usage_rd_t *r, const char *lit, size_t n)
{
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, lit, n) != 0)
        return false;
    r->p += n;
    return true;
}

/* Note count or details object k (< 0: neither) as met; a second time is
 * unsure (the tree would read the last, the walk has used the first). */
static bool rd_first(usage_rd_t *r, int k)
{
    if (k < 0)
        return true;
    if (r->seen & (1u << k))
        return false;
    r->seen |= 1u << k;
    return true;
}

/* A scalar value at r->p for count k (< 0: ignored). A literal reads as
 * no count (sy_json_as_u64 fails on it); a number that is not plain might
 * still be an integer (1.0e2): unsure. */
static int rd_scalar(usage_rd_t *r, int k)
{
    const char *p = r->p, *end = r->end;
    unsigned d = (unsigned)(unsigned char)*p - '0';
    if (d < 10) {
        /* The usual case, a count of 1 to 19 plain digits: read at once
         * (and stored unless k < 0). Anything else after the digits
         * (another digit past 19, a fraction, an exponent) goes to
         * rd_number below, from the start. */
        const char *s = p++;
        uint64_t n = d;
        if (d != 0)
            while (p < end && p - s < 19 && (d = (unsigned)(unsigned char)*p - '0') < 10) {
                n = n * 10 + d;
                p++;
            }
        if (p == end || ((unsigned)(unsigned char)*p - '0' >= 10 && *p != '.' && *p != 'e' &&
                         *p != 'E')) {
            if (p - s > SY_JSON_MAX_NUMBER)
                return SY_EAGAIN;
            r->p = p;
            if (k >= 0) {
                r->c->n[k] = n;
                r->c->has[k] = true;
            }
            return SY_OK;
        }
    }
    char c = *r->p;
    if (c == '-' || (unsigned)(c - '0') < 10) {
        bool plain;
        uint64_t v;
        if (rd_number(r, &plain, &v) != SY_OK)
            return SY_EAGAIN;
        if (k < 0)
            return SY_OK;
        if (!plain)
            return SY_EAGAIN;
        r->c->n[k] = v;
        r->c->has[k] = true;
        return SY_OK;
    }
    if (rd_lit(r, "null", 4) || rd_lit(r, "true", 4) || rd_lit(r, "false", 5))
        return SY_OK;
    return SY_EAGAIN;
}

/* Which count a usage member's key names, or -1. The details objects are
 * SY_OPENAI_NCOUNTS + 0 (prompt) and + 1 (completion). */
static int usage_key(sy_str_t k)
{
    switch (k.len) {
    case 12:
        return memcmp(k.p, "total_tokens", 12) == 0 ? SY_OPENAI_TOTAL : -1;
    case 13:
        return memcmp(k.p, "prompt_tokens", 13) == 0 ? SY_OPENAI_PROMPT : -1;
    case 17:
        return memcmp(k.p, "completion_tokens", 17) == 0 ? SY_OPENAI_COMPLETION : -1;
    case 21:
        return memcmp(k.p, "prompt_tokens_details", 21) == 0 ? SY_OPENAI_NCOUNTS : -1;
    case 23:
        return memcmp(k.p, "prompt_cache_hit_tokens", 23) == 0 ? SY_OPENAI_CACHE_HIT : -1;
    case 25:
        return memcmp(k.p, "completion_tokens_details", 25) == 0 ? SY_OPENAI_NCOUNTS + 1 : -1;
    default:
        return -1;
    }
}

/* The count a details object's key names (want is its one count of
 * interest, stored as k), or -1. */
static int details_key(sy_str_t key, int k)
{
    if (k == SY_OPENAI_CACHED)
        return key.len == 13 && memcmp(key.p, "cached_tokens", 13) == 0 ? k : -1;
    return key.len == 16 && memcmp(key.p, "reasoning_tokens", 16) == 0 ? k : -1;
}

/* An object at r->p: the usage object (detail < 0) or a details object
 * whose count of interest is `detail`. */
static int rd_object(usage_rd_t *r, int detail)
{
    r->p++;
    rd_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return SY_OK;
    }
    for (;;) {
        sy_str_t key;
        bool known;
        int uk = -1, dk = -1;
        if (r->p == r->end || *r->p != '"' || rd_key(r, &key, &known, &uk, &dk) != SY_OK)
            return SY_EAGAIN;
        rd_ws(r);
        if (r->p == r->end || *r->p != ':')
            return SY_EAGAIN;
        r->p++;
        rd_ws(r);
        if (r->p == r->end)
            return SY_EAGAIN;
        int k = known ? (detail < 0 ? uk : dk == detail ? detail : -1)
                      : detail < 0 ? usage_key(key) : details_key(key, detail);
        if (!rd_first(r, k))
            return SY_EAGAIN;
        int rc;
        if (k >= SY_OPENAI_NCOUNTS) /* a details object; a scalar there holds no count */
            rc = *r->p == '{' ? rd_object(r, k == SY_OPENAI_NCOUNTS ? SY_OPENAI_CACHED
                                                                    : SY_OPENAI_REASONING)
                              : rd_scalar(r, -1);
        else
            rc = rd_scalar(r, k);
        if (rc != SY_OK)
            return SY_EAGAIN;
        rd_ws(r);
        if (r->p == r->end)
            return SY_EAGAIN;
        if (*r->p == '}') {
            r->p++;
            return SY_OK;
        }
        if (*r->p != ',')
            return SY_EAGAIN;
        r->p++;
        rd_ws(r);
    }
}

/* A usage object at the start of text: SY_OK with its counts and *len its
 * length (the text may go on after it), or SY_EAGAIN. */
static int usage_object(sy_str_t text, sy_openai_counts_t *c, size_t *len)
{
    usage_rd_t r = {text.p, text.p + text.len, c, 0};
    memset(c, 0, sizeof(*c));
    if (r.p == r.end || *r.p != '{' || rd_object(&r, -1) != SY_OK)
        return SY_EAGAIN;
    *len = (size_t)(r.p - text.p);
    return SY_OK;
}

int sy_openai_usage_text(sy_str_t text, sy_openai_counts_t *c)
{
    usage_rd_t r = {text.p, text.p + text.len, c, 0};
    size_t len;
    rd_ws(&r);
    if (usage_object(sy_str(r.p, (size_t)(r.end - r.p)), c, &len) != SY_OK)
        return SY_EAGAIN;
    r.p += len;
    rd_ws(&r);
    return r.p == r.end ? SY_OK : SY_EAGAIN;
}

/* The usage of a whole answer relayed as it is, without its tree: the
 * top-level members are walked (a string that mentions "usage" inside
 * choices is skipped with its value) and only the usage object is read:
 * from its text where it stands when the text reader can (the walk then
 * goes on after it instead of skipping it too), else parsed.
 * Unsure (not an object, an error member, choices missing or not an array
 * of objects, a key written with escapes, usage twice or malformed):
 * SY_EAGAIN, and the caller decodes the whole answer. */
int sy_openai_passthrough_usage(sy_arena_t *a, sy_str_t body, sy_ir_usage_t *out)
{
    sy_json_members_t it;
    sy_json_span_t m;
    sy_str_t usage = SY_STR_NULL;
    sy_openai_counts_t c;
    bool choices = false, counted = false;
    int rc = sy_json_members_init(&it, body);
    while (rc == SY_OK && (rc = sy_json_members_key(&it, &m)) == SY_OK) {
        if (m.key_escaped)
            return SY_EAGAIN;
        /* (lengths first: compares of a known length are inlined) */
        bool is_usage = m.key.len == 5 && memcmp(m.key.p, "usage", 5) == 0;
        size_t len = 0; /* of a usage object read where it stands */
        if (is_usage && usage.p == NULL && *m.value.p == '{' &&
            usage_object(sy_str(m.value.p, (size_t)(body.p + body.len - m.value.p)), &c, &len) ==
                SY_OK)
            counted = true;
        if ((rc = sy_json_members_value(&it, &m, len)) != SY_OK)
            break;
        if (is_usage) {
            if (usage.p)
                return SY_EAGAIN;
            usage = m.value;
        } else if (m.key.len == 5 && memcmp(m.key.p, "error", 5) == 0) {
            if (!sy_str_eq(m.value, SY_STR("null")))
                return SY_EAGAIN;
        } else if (m.key.len == 7 && memcmp(m.key.p, "choices", 7) == 0) {
            /* '[' then, after any whitespace, an object */
            size_t i = 1;
            while (i < m.value.len && (m.value.p[i] == ' ' || m.value.p[i] == '\n' ||
                                       m.value.p[i] == '\t' || m.value.p[i] == '\r'))
                i++;
            choices = m.value.p[0] == '[' && i < m.value.len && m.value.p[i] == '{';
        }
    }
    if (rc != SY_ENOTFOUND || !choices)
        return SY_EAGAIN;
    sy_ir_usage_t got;
    memset(&got, 0, sizeof(got));
    if (usage.p == NULL || sy_str_eq(usage, SY_STR("null"))) {
        /* none reported */
    } else if (counted) {
        sy_openai_usage_from_counts(&c, &got);
    } else {
        sy_json_t *u = NULL;
        if (sy_json_parse(a, usage.p, usage.len, NULL, &u, NULL) != SY_OK ||
            !sy_json_is(u, SY_JSON_OBJECT))
            return SY_EAGAIN;
        sy_openai_read_usage(u, &got);
    }
    *out = got;
    return SY_OK;
}

/* -------------------------------------------------------------- streams --- */

/* One tool call of the stream. Before its block opens it is held (its
 * argument bytes kept); once opened it is open while its block is the open
 * one (open_call below), closed after. */
typedef struct {
    int64_t key;       /* the OpenAI index, or a negative synthetic one */
    sy_str_t id, name; /* copies in the request arena */
    bool opened;       /* its block has been opened */
    char *held;        /* argument bytes held back while the call waits */
    size_t held_len, held_cap;
    /* is the argument text seen so far one complete JSON value? */
    int depth;
    bool in_str, esc, began;
} call_t;

typedef struct {
    sy_arena_t *a;       /* request arena: state and copies */
    sy_arena_t *scratch; /* one event's JSON tree, reset after each */
    sy_buf_t sse_buf;
    sy_sse_reader_t sse;
    sy_ir_emitter_t em; /* blocks, indexes, START/FINISH/END, the result */
    size_t open_call;   /* calls[] index of the call whose block opened last */
    call_t *calls;
    size_t ncalls, calls_cap;
    size_t held_total;
    sy_str_t msg_id; /* copy, for synthesised call ids */
    bool refusal;
    bool at_end; /* stream_end is draining the reader's last event */
} ostream_t;

static void free_stream(void *arg)
{
    ostream_t *st = arg;
    sy_buf_free(&st->sse_buf);
    sy_arena_free(st->scratch);
}

void *sy_openai_stream_new(sy_arena_t *a, const sy_provider_ctx_t *cx, const sy_ir_request_t *req)
{
    SY_UNUSED(cx);
    SY_UNUSED(req);
    ostream_t *st = sy_arena_calloc(a, sizeof(*st));
    st->a = a;
    st->scratch = sy_arena_new(0);
    sy_buf_init(&st->sse_buf, 0);
    sy_sse_reader_init(&st->sse, &st->sse_buf, 0, 0, 0);
    sy_arena_cleanup(a, free_stream, st);
    return st;
}

/* The deltas go out through st->em (ir/emit.h); the decoder ignores the
 * emitter's results and checks sy_ir_emit_done() where it matters, since
 * once the stream is over every emit is a no-op. */

static void fail(ostream_t *st, sy_ir_error_class_t cls, sy_str_t message, sy_str_t type)
{
    sy_ir_error_t e;
    memset(&e, 0, sizeof(e));
    e.cls = cls;
    e.message = message;
    e.type = type;
    sy_ir_emit_error(&st->em, &e);
}

static void start(ostream_t *st, const sy_json_t *chunk)
{
    if (st->em.started)
        return;
    sy_str_t id = sy_json_str(sy_json_get(chunk, "id"));
    st->msg_id = sy_str_dup(st->a, id);
    sy_ir_emit_start(&st->em, id, sy_json_str(sy_json_get(chunk, "model")), NULL);
}

/* The call whose block is the open block, or NULL. */
static call_t *open_call(ostream_t *st)
{
    if (!st->em.open || st->em.open_kind != SY_IR_TOOL_CALL)
        return NULL;
    return &st->calls[st->open_call];
}

static void open_call_block(ostream_t *st, call_t *c)
{
    c->opened = true;
    st->open_call = (size_t)(c - st->calls);
    sy_ir_emit_open(&st->em, SY_IR_TOOL_CALL, c->id, c->name, SY_STR_NULL);
}

/* Text or reasoning: continues the open block of that kind or opens one. */
static void text(ostream_t *st, sy_ir_part_kind_t kind, sy_str_t s)
{
    sy_ir_emit_append(&st->em, kind == SY_IR_TEXT ? SY_IR_DELTA_TEXT : SY_IR_DELTA_THINKING, s);
}

static void track(call_t *c, sy_str_t s)
{
    for (size_t i = 0; i < s.len; i++) {
        char ch = s.p[i];
        if (c->in_str) {
            if (c->esc)
                c->esc = false;
            else if (ch == '\\')
                c->esc = true;
            else if (ch == '"')
                c->in_str = false;
        } else if (ch == '"') {
            c->in_str = c->began = true;
        } else if (ch == '{' || ch == '[') {
            c->depth++;
            c->began = true;
        } else if (ch == '}' || ch == ']') {
            if (c->depth > 0)
                c->depth--;
        } else if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') {
            c->began = true;
        }
    }
}

static bool complete(const call_t *c) { return c->began && c->depth == 0 && !c->in_str; }

static void args(ostream_t *st, call_t *c, sy_str_t s)
{
    track(c, s);
    sy_ir_emit_content(&st->em, SY_IR_DELTA_TOOL_ARGS, s);
}

/* Open the first held call (in order of appearance) and replay its held
 * arguments, while the open call is complete (or force: at the finish). */
static void advance(ostream_t *st, bool force)
{
    for (;;) {
        call_t *open = open_call(st);
        if (open && !force && !complete(open))
            return;
        call_t *next = NULL;
        for (size_t i = 0; i < st->ncalls && next == NULL; i++)
            if (!st->calls[i].opened)
                next = &st->calls[i];
        if (next == NULL || (next->name.len == 0 && !force))
            return;
        if (next->name.len == 0) {
            fail(st, SY_IR_ERR_BAD_RESPONSE,
                 SY_STR("the upstream stream has a tool call without a name"), SY_STR(""));
            return;
        }
        if (next->id.len == 0)
            next->id = synth_call_id(st->a, st->msg_id, (size_t)(next - st->calls));
        open_call_block(st, next);
        sy_str_t held = sy_str(next->held, next->held_len);
        if (held.len) {
            st->held_total -= held.len;
            args(st, next, held);
        }
        next->held_len = 0;
    }
}

static call_t *new_call(ostream_t *st, int64_t key)
{
    if (st->ncalls == st->calls_cap) {
        size_t ncap = st->calls_cap ? st->calls_cap * 2 : 4;
        st->calls = sy_arena_realloc(st->a, st->calls, st->calls_cap * sizeof(*st->calls),
                                     ncap * sizeof(*st->calls));
        st->calls_cap = ncap;
    }
    call_t *c = &st->calls[st->ncalls++];
    memset(c, 0, sizeof(*c));
    c->key = key;
    return c;
}

static void tool_delta(ostream_t *st, const sy_json_t *tc)
{
    int64_t key;
    bool has_index = sy_json_as_i64(sy_json_get(tc, "index"), &key) == SY_OK;
    sy_str_t id = sy_json_str(sy_json_get(tc, "id"));
    const sy_json_t *fn = sy_json_get(tc, "function");
    sy_str_t name = sy_json_str(sy_json_get(fn, "name"));
    sy_str_t frag = args_text(st->scratch, sy_json_get(fn, "arguments"));

    call_t *c = NULL;
    if (has_index) {
        for (size_t i = 0; i < st->ncalls && !c; i++)
            if (st->calls[i].key == key)
                c = &st->calls[i];
    } else {
        /* Mistral and some servers send no index: a new id is a new call,
         * no id continues the latest one. */
        for (size_t i = 0; i < st->ncalls && !c && id.len; i++)
            if (sy_str_eq(st->calls[i].id, id))
                c = &st->calls[i];
        if (c == NULL && id.len == 0 && st->ncalls)
            c = &st->calls[st->ncalls - 1];
        key = -(int64_t)st->ncalls - 1;
    }
    if (c == NULL)
        c = new_call(st, key);
    if (!c->opened) {
        if (c->id.len == 0 && id.len)
            c->id = sy_str_dup(st->a, id);
        if (c->name.len == 0 && name.len)
            c->name = sy_str_dup(st->a, name);
    }
    if (c == open_call(st)) {
        args(st, c, frag);
    } else if (c->opened) {
        for (size_t i = 0; i < frag.len; i++)
            if (frag.p[i] != ' ' && frag.p[i] != '\n' && frag.p[i] != '\t' && frag.p[i] != '\r') {
                fail(st, SY_IR_ERR_BAD_RESPONSE,
                     SY_STR("the upstream stream continued a tool call after it ended"), SY_STR(""));
                return;
            }
    } else if (frag.len) {
        if (st->held_total + frag.len > SY_OPENAI_MAX_HELD_ARGS) {
            fail(st, SY_IR_ERR_BAD_RESPONSE,
                 SY_STR("the upstream stream interleaves more tool-call data than the gateway holds"),
                 SY_STR(""));
            return;
        }
        if (c->held_len + frag.len > c->held_cap) {
            size_t ncap = c->held_cap ? c->held_cap * 2 : 256;
            while (ncap < c->held_len + frag.len)
                ncap *= 2;
            c->held = sy_arena_realloc(st->a, c->held, c->held_cap, ncap);
            c->held_cap = ncap;
        }
        memcpy(c->held + c->held_len, frag.p, frag.len);
        c->held_len += frag.len;
        st->held_total += frag.len;
    }
    advance(st, false);
}

static void finish(ostream_t *st, sy_str_t reason)
{
    advance(st, true);
    if (sy_ir_emit_done(&st->em))
        return;
    sy_ir_finish_t f = sy_openai_read_finish(reason);
    if (f == SY_IR_FINISH_STOP && st->ncalls)
        f = SY_IR_FINISH_TOOL_CALLS;
    else if (f == SY_IR_FINISH_STOP && st->refusal)
        f = SY_IR_FINISH_REFUSAL;
    sy_ir_emit_finish(&st->em, f, SY_STR_NULL);
}

/* delta.content as a string, or Mistral's typed array. */
static void content(ostream_t *st, const sy_json_t *c)
{
    if (sy_json_is(c, SY_JSON_STRING)) {
        text(st, SY_IR_TEXT, c->u.str);
        return;
    }
    for (size_t i = 0; i < sy_json_len(c); i++) {
        const sy_json_t *p = sy_json_index(c, i);
        sy_str_t type = sy_json_str(sy_json_get(p, "type"));
        if (sy_str_eq_c(type, "text"))
            text(st, SY_IR_TEXT, sy_json_str(sy_json_get(p, "text")));
        else if (sy_str_eq_c(type, "thinking")) {
            const sy_json_t *t = sy_json_get(p, "thinking");
            if (sy_json_is(t, SY_JSON_STRING))
                text(st, SY_IR_THINKING, t->u.str);
            for (size_t j = 0; j < sy_json_len(t); j++)
                text(st, SY_IR_THINKING, sy_json_str(sy_json_get(sy_json_index(t, j), "text")));
        }
    }
}

static void chunk(ostream_t *st, const sy_json_t *ch)
{
    const sy_json_t *e = sy_json_get(ch, "error");
    if (e && e->type != SY_JSON_NULL) {
        sy_ir_error_t err;
        memset(&err, 0, sizeof(err));
        sy_openai_read_error(e, 0, &err);
        if (err.message.len == 0)
            err.message = SY_STR("the upstream provider failed mid-stream");
        fail(st, err.cls, err.message, err.type);
        return;
    }
    const sy_json_t *choice = first_choice(sy_json_get(ch, "choices"));
    const sy_json_t *usage = sy_json_get(ch, "usage");
    if (choice && !st->em.finished) {
        start(st, ch);
        const sy_json_t *delta = sy_json_get(choice, "delta");
        sy_str_t r = sy_json_str(sy_json_get(delta, "reasoning_content"));
        text(st, SY_IR_THINKING, r.len ? r : sy_json_str(sy_json_get(delta, "reasoning")));
        content(st, sy_json_get(delta, "content"));
        sy_str_t refusal = sy_json_str(sy_json_get(delta, "refusal"));
        if (refusal.len) {
            st->refusal = true;
            text(st, SY_IR_TEXT, refusal);
        }
        const sy_json_t *tcs = sy_json_get(delta, "tool_calls");
        for (size_t i = 0; i < sy_json_len(tcs) && !sy_ir_emit_done(&st->em); i++)
            tool_delta(st, sy_json_index(tcs, i));
        if (sy_ir_emit_done(&st->em))
            return;
        sy_str_t reason = sy_json_str(sy_json_get(choice, "finish_reason"));
        if (reason.len)
            finish(st, reason);
    }
    if (sy_json_is(usage, SY_JSON_OBJECT)) {
        sy_ir_usage_t u;
        memset(&u, 0, sizeof(u));
        sy_openai_read_usage(usage, &u);
        if (u.has_input || u.has_output) {
            start(st, ch);
            sy_ir_emit_usage(&st->em, &u);
        }
    }
}

static void done(ostream_t *st)
{
    if (!st->em.started) {
        fail(st, SY_IR_ERR_BAD_RESPONSE, SY_STR("the upstream stream ended without a completion"),
             SY_STR(""));
        return;
    }
    if (!st->em.finished) /* lenient: [DONE] without a finish_reason */
        finish(st, SY_STR("stop"));
    sy_ir_emit_end(&st->em);
}

static void event(ostream_t *st, const sy_sse_event_t *ev)
{
    /* unnamed events carry the chunks; "error" an error; others (pings)
     * are ignored */
    bool is_error = sy_str_eq_c(ev->event, "error");
    if (ev->event.len && !is_error && !sy_str_eq_c(ev->event, "message"))
        return;
    sy_str_t data = sy_str_trim(ev->data);
    if (!is_error && sy_str_eq_c(data, "[DONE]")) {
        done(st);
        return;
    }
    sy_json_t *v = NULL;
    if (sy_json_parse(st->scratch, data.p ? data.p : "", data.len, NULL, &v, NULL) != SY_OK ||
        !sy_json_is(v, SY_JSON_OBJECT)) {
        /* at the end, an unparsable last event is one the connection cut */
        fail(st, SY_IR_ERR_BAD_RESPONSE,
             st->at_end ? SY_STR("the upstream stream ended in the middle of an event")
                        : SY_STR("the upstream stream sent an event that is not JSON"),
             SY_STR(""));
        return;
    }
    if (is_error && sy_json_get(v, "error") == NULL) {
        sy_ir_error_t err;
        memset(&err, 0, sizeof(err));
        sy_openai_read_error(v, 0, &err);
        fail(st, err.cls, err.message.len ? err.message : SY_STR("the upstream provider failed mid-stream"),
             err.type);
        return;
    }
    chunk(st, v);
}

int sy_openai_stream_feed(void *vst, const char *data, size_t len, sy_ir_delta_cb cb, void *cbctx)
{
    ostream_t *st = vst;
    if (sy_ir_emit_done(&st->em))
        return st->em.rc;
    sy_ir_emit_bind(&st->em, cb, cbctx);
    size_t off = 0;
    while (!sy_ir_emit_done(&st->em)) {
        size_t used = 0;
        sy_sse_event_t ev;
        int rc = sy_sse_next(&st->sse, len ? data + off : "", len - off, &used, &ev);
        off += used;
        if (rc == SY_EAGAIN)
            break;
        if (rc != SY_OK) {
            fail(st, SY_IR_ERR_BAD_RESPONSE, SY_STR("the upstream stream broke the SSE limits"),
                 SY_STR(""));
            break;
        }
        event(st, &ev);
        sy_arena_reset(st->scratch);
    }
    return st->em.rc;
}

int sy_openai_stream_end(void *vst, sy_ir_delta_cb cb, void *cbctx)
{
    ostream_t *st = vst;
    if (sy_ir_emit_done(&st->em))
        return st->em.rc;
    sy_ir_emit_bind(&st->em, cb, cbctx);
    /* a last event without its blank line ("data: [DONE]\n" then EOF) */
    st->at_end = true;
    sy_sse_event_t ev;
    int rc;
    while (!sy_ir_emit_done(&st->em) && (rc = sy_sse_finish(&st->sse, &ev)) == SY_OK) {
        event(st, &ev);
        sy_arena_reset(st->scratch);
    }
    if (!sy_ir_emit_done(&st->em))
        fail(st, SY_IR_ERR_BAD_RESPONSE, SY_STR("the upstream stream ended before [DONE]"),
             SY_STR(""));
    return st->em.rc;
}
