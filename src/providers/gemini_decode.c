/*
 * gemini_decode.c - Gemini responses into the IR: the SSE stream decoder
 * (streamGenerateContent?alt=sse), the whole-body decoder, and errors.
 *
 * Every SSE event is one whole GenerateContentResponse. The decoder turns
 * the parts of candidates[0] into blocks as they arrive: text extends the
 * open text block, thought parts the open thinking block, a functionCall
 * arriving whole becomes BLOCK_START + TOOL_ARGS + BLOCK_STOP, and a call
 * whose arguments stream as Vertex partialArgs is rebuilt into JSON text
 * piece by piece. The whole-body decoder runs the same code on its one
 * response and collects the deltas, so both paths agree by construction.
 *
 * Thought signatures: Gemini puts an opaque thoughtSignature on a part, and
 * the next turn must send it back on the same part. The IR carries
 * signatures in thinking blocks only (ir/check.h), so:
 *   - on a thought part: SIGNATURE in that thinking block;
 *   - on a functionCall: a thinking block with no text and the signature,
 *     right before the tool call's block;
 *   - on a text part: the same empty thinking block, right after the text
 *     block it belongs to ends (Gemini 2.5 signs the first chunk of a reply,
 *     Gemini 3 an empty part after the last: either way the reply stays one
 *     text block).
 * The encoder (gemini.c) moves each back onto its part.
 *
 * Finish: finishReason comes on the last chunk (some recordings repeat it
 * on every chunk), so the decoder remembers the last one and emits FINISH
 * at the end of the body, once. A body that ends without any finishReason
 * (or blockReason) ends with an ERROR, not a silent END.
 */
#include "providers/gemini.h"

#include <string.h>

#include "http/sse.h"
#include "ir/emit.h"
#include "providers/wire.h"

#define GM_MAX_STRAY ((size_t)64 << 10) /* non-SSE lines kept to explain a failure */
#define GM_MAX_ID 64                    /* bytes of responseId kept for call ids */

enum { LN_START, LN_PREFIX, LN_SKIP, LN_STRAY };

/* A jsonPath segment: an object key or an array index. */
typedef struct {
    bool is_key;
    sy_str_t key;
    uint64_t index;
} seg_t;

/* A segment on the open path, its key copied into the state. */
typedef struct {
    bool is_key;
    uint32_t key_off, key_len;
    uint64_t index;
} pseg_t;

typedef struct {
    bool is_array;
    uint64_t count; /* members or elements written so far */
} level_t;

typedef struct {
    sy_arena_t *scratch; /* reset per event (stream); the caller's arena (decode) */
    bool own_scratch;
    sy_sse_reader_t sse;
    sy_buf_t sse_buf;
    /* lines the SSE reader ignores: a bare JSON error object after the
     * events, as Vertex sends one when a stream fails midway */
    int ln;
    bool skip_lf;
    char pre[6];
    size_t pre_len;
    sy_buf_t stray;

    sy_ir_emitter_t em;
    uint32_t ncalls;
    sy_buf_t text_sig; /* a signature from the open text block's parts */
    bool finish_seen;
    sy_ir_finish_t finish;
    char id[GM_MAX_ID];
    size_t id_len;

    /* a function call whose arguments arrive as partialArgs */
    bool fc_open, args_started, str_open;
    size_t depth;                            /* containers open below the root object */
    pseg_t path[SY_GEMINI_MAX_ARG_DEPTH];    /* path[i]: the container at level i + 1 */
    level_t lvl[SY_GEMINI_MAX_ARG_DEPTH + 1]; /* lvl[0]: the root object */
    pseg_t leaf;                             /* the member or element of the open string */
    char keys[SY_GEMINI_MAX_ARG_PATH];
    size_t keys_len;
    sy_buf_t args; /* TOOL_ARGS text being assembled */
} gm_t;

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int try_rc_ = (x);                                                                         \
        if (try_rc_ != SY_OK)                                                                      \
            return try_rc_;                                                                        \
    } while (0)

/* ---------------------------------------------------------------- errors --- */

static bool ci_contains(sy_str_t s, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= s.len; i++)
        if (sy_str_ieq(sy_str(s.p + i, n), sy_str(needle, n)))
            return true;
    return false;
}

/* "34.4s" -> 34400. 0 when not a duration. */
static uint64_t duration_ms(sy_str_t s)
{
    uint64_t whole = 0, frac = 0, scale = 1000;
    size_t i = 0;
    if (s.len < 2 || s.p[s.len - 1] != 's')
        return 0;
    for (; i < s.len - 1 && s.p[i] >= '0' && s.p[i] <= '9'; i++)
        if (whole < 86400000)
            whole = whole * 10 + (uint64_t)(s.p[i] - '0');
    if (i < s.len - 1 && s.p[i] == '.')
        for (i++; i < s.len - 1 && s.p[i] >= '0' && s.p[i] <= '9'; i++)
            if (scale > 1) {
                scale /= 10;
                frac += (uint64_t)(s.p[i] - '0') * scale;
            }
    if (i != s.len - 1)
        return 0;
    return whole * 1000 + frac;
}

static sy_ir_error_class_t classify(sy_str_t status, sy_str_t message, const sy_json_t *details,
                                    int http)
{
    if (sy_str_eq_c(status, "RESOURCE_EXHAUSTED"))
        return SY_IR_ERR_RATE_LIMITED;
    if (sy_str_eq_c(status, "INVALID_ARGUMENT")) {
        for (size_t i = 0; i < sy_json_len(details); i++)
            if (sy_str_eq_c(sy_json_str(sy_json_get(sy_json_index(details, i), "reason")),
                            "API_KEY_INVALID"))
                return SY_IR_ERR_AUTH;
        if (ci_contains(message, "api key not valid"))
            return SY_IR_ERR_AUTH;
        if (ci_contains(message, "token count") || ci_contains(message, "maximum number of tokens") ||
            ci_contains(message, "too long") || ci_contains(message, "context window") ||
            ci_contains(message, "context length"))
            return SY_IR_ERR_CONTEXT_LENGTH;
        return SY_IR_ERR_BAD_REQUEST;
    }
    if (sy_str_eq_c(status, "FAILED_PRECONDITION") || sy_str_eq_c(status, "OUT_OF_RANGE"))
        return SY_IR_ERR_BAD_REQUEST;
    if (sy_str_eq_c(status, "UNAVAILABLE"))
        return SY_IR_ERR_OVERLOADED;
    if (sy_str_eq_c(status, "PERMISSION_DENIED") || sy_str_eq_c(status, "UNAUTHENTICATED"))
        return SY_IR_ERR_AUTH;
    if (sy_str_eq_c(status, "NOT_FOUND"))
        return SY_IR_ERR_NOT_FOUND;
    if (sy_str_eq_c(status, "DEADLINE_EXCEEDED"))
        return SY_IR_ERR_TIMEOUT;
    if (sy_str_eq_c(status, "INTERNAL") || sy_str_eq_c(status, "UNKNOWN") ||
        sy_str_eq_c(status, "CANCELLED") || sy_str_eq_c(status, "ABORTED") ||
        sy_str_eq_c(status, "DATA_LOSS"))
        return SY_IR_ERR_SERVER;
    return http ? sy_provider_status_class(http) : SY_IR_ERR_SERVER;
}

/* Fill out from a Google error object {"code","message","status","details"}.
 * Views point where the parse put them. */
static void error_from_json(const sy_json_t *e, int http, sy_ir_error_t *out)
{
    int64_t code = 0;
    sy_json_as_i64(sy_json_get(e, "code"), &code);
    const sy_json_t *details = sy_json_get(e, "details");
    out->status = http ? http : (code > 0 && code < 1000 ? (int)code : 0);
    out->type = sy_json_str(sy_json_get(e, "status"));
    out->message = sy_json_str(sy_json_get(e, "message"));
    out->cls = classify(out->type, out->message, details, out->status);
    for (size_t i = 0; i < sy_json_len(details); i++) {
        const sy_json_t *d = sy_json_index(details, i);
        if (sy_str_ends_with(sy_json_str(sy_json_get(d, "@type")), SY_STR("google.rpc.RetryInfo")))
            out->retry_after_ms = duration_ms(sy_json_str(sy_json_get(d, "retryDelay")));
    }
    if (out->message.len == 0)
        out->message = SY_STR("gemini: the upstream reported an error");
}

void sy_gemini_map_error(int status, const sy_http_header_t *headers, size_t nheaders,
                         sy_str_t body, sy_ir_error_t *out)
{
    memset(out, 0, sizeof(*out));
    out->status = status;
    out->cls = sy_provider_status_class(status);
    out->message = SY_STR("gemini: the upstream answered with an error and no error body");
    sy_arena_t *tmp = sy_arena_new(0);
    sy_json_t *root = NULL;
    if (sy_json_parse(tmp, body.p, body.len, NULL, &root, NULL) == SY_OK) {
        /* a streamed error may come as a one-element array */
        if (sy_json_is(root, SY_JSON_ARRAY))
            root = sy_json_index(root, 0);
        const sy_json_t *e = sy_json_get(root, "error");
        if (sy_json_is(e, SY_JSON_OBJECT)) {
            error_from_json(e, status, out);
            /* the parsed strings live in tmp: keep views into body */
            out->message = sy_wire_body_string(body, out->message, "message");
            out->type = sy_wire_body_string(body, out->type, "status");
            if (out->message.len == 0)
                out->message = SY_STR("gemini: the upstream reported an error");
        }
    }
    sy_arena_free(tmp);
    if (out->retry_after_ms == 0)
        out->retry_after_ms = sy_provider_retry_after_ms(headers, nheaders);
}

/* ----------------------------------------------------------------- emits --- */

/* The deltas go out through s->em (ir/emit.h), which keeps the block
 * indexes, the open block and the sticky result. What is Gemini's own is
 * the text block's signature, emitted as a thinking block right after the
 * text block closes: every close goes through close_block for that. */

static int fail(gm_t *s, const char *msg)
{
    return sy_ir_emit_fail(&s->em, SY_IR_ERR_BAD_RESPONSE, sy_str_c(msg));
}

static int close_block(gm_t *s)
{
    if (!s->em.open)
        return SY_OK;
    TRY(sy_ir_emit_close(&s->em));
    if (s->text_sig.len == 0)
        return SY_OK;
    /* the text block's signature, in the thinking block that follows it */
    TRY(sy_ir_emit_open(&s->em, SY_IR_THINKING, SY_STR_NULL, SY_STR_NULL, SY_STR_NULL));
    TRY(sy_ir_emit_content(&s->em, SY_IR_DELTA_SIGNATURE, sy_buf_str(&s->text_sig)));
    sy_buf_clear(&s->text_sig);
    return sy_ir_emit_close(&s->em);
}

static int open_block(gm_t *s, sy_ir_part_kind_t kind, sy_str_t id, sy_str_t name)
{
    TRY(close_block(s));
    return sy_ir_emit_open(&s->em, kind, id, name, SY_STR_NULL);
}

/* A thoughtSignature that belongs to a non-thought part: a thinking block
 * holding only the signature. */
static int signature_block(gm_t *s, sy_str_t sig)
{
    TRY(open_block(s, SY_IR_THINKING, SY_STR_NULL, SY_STR_NULL));
    TRY(sy_ir_emit_content(&s->em, SY_IR_DELTA_SIGNATURE, sig));
    return close_block(s);
}

static int start(gm_t *s, const sy_json_t *root)
{
    if (s->em.started)
        return SY_OK;
    sy_str_t rid = sy_json_str(sy_json_get(root, "responseId"));
    for (size_t i = 0; i < rid.len && s->id_len < sizeof(s->id); i++) {
        char c = rid.p[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        s->id[s->id_len++] = ok ? c : '_';
    }
    return sy_ir_emit_start(&s->em, rid, sy_json_str(sy_json_get(root, "modelVersion")), NULL);
}

/* -------------------------------------------------- streamed call arguments --- */

static int args_put(gm_t *s, const char *p, size_t n)
{
    return sy_buf_append(&s->args, p, n) == SY_OK ? SY_OK : SY_ETOOBIG;
}

static int args_flush(gm_t *s)
{
    if (s->args.len == 0)
        return SY_OK;
    int rc = sy_ir_emit_content(&s->em, SY_IR_DELTA_TOOL_ARGS, sy_buf_str(&s->args));
    sy_buf_clear(&s->args);
    return rc;
}

/* "$.a.b[2]['c d']" into segments (the last one names the value). */
static int parse_path(sy_str_t p, seg_t *segs, size_t cap, size_t *n)
{
    if (p.len == 0 || p.p[0] != '$')
        return SY_EINVAL;
    size_t i = 1, k = 0;
    while (i < p.len) {
        if (k == cap)
            return SY_ETOOBIG;
        seg_t *g = &segs[k++];
        memset(g, 0, sizeof(*g));
        if (p.p[i] == '.') {
            size_t st = ++i;
            while (i < p.len && p.p[i] != '.' && p.p[i] != '[')
                i++;
            if (i == st)
                return SY_EINVAL;
            g->is_key = true;
            g->key = sy_str(p.p + st, i - st);
            continue;
        }
        if (p.p[i] != '[')
            return SY_EINVAL;
        i++;
        if (i < p.len && (p.p[i] == '\'' || p.p[i] == '"')) {
            char q = p.p[i++];
            size_t st = i;
            while (i < p.len && p.p[i] != q)
                i++;
            if (i >= p.len)
                return SY_EINVAL;
            g->is_key = true;
            g->key = sy_str(p.p + st, i - st);
            i++;
        } else {
            size_t st = i;
            while (i < p.len && p.p[i] >= '0' && p.p[i] <= '9')
                i++;
            if (sy_str_to_u64(sy_str(p.p + st, i - st), UINT32_MAX, &g->index) != SY_OK)
                return SY_EINVAL;
        }
        if (i >= p.len || p.p[i] != ']')
            return SY_EINVAL;
        i++;
    }
    *n = k;
    return k ? SY_OK : SY_EINVAL;
}

static bool seg_eq(const gm_t *s, const pseg_t *a, const seg_t *b)
{
    if (a->is_key != b->is_key)
        return false;
    if (!a->is_key)
        return a->index == b->index;
    return a->key_len == b->key.len && memcmp(s->keys + a->key_off, b->key.p, b->key.len) == 0;
}

/* Store a segment's key at the end of the key buffer; commit advances it. */
static int keep_seg(gm_t *s, const seg_t *g, pseg_t *out, bool commit)
{
    memset(out, 0, sizeof(*out));
    out->is_key = g->is_key;
    out->index = g->index;
    if (g->is_key) {
        if (g->key.len > sizeof(s->keys) - s->keys_len)
            return SY_ETOOBIG;
        memcpy(s->keys + s->keys_len, g->key.p, g->key.len);
        out->key_off = (uint32_t)s->keys_len;
        out->key_len = (uint32_t)g->key.len;
        if (commit)
            s->keys_len += g->key.len;
    }
    return SY_OK;
}

static int close_container(gm_t *s)
{
    TRY(args_put(s, s->lvl[s->depth].is_array ? "]" : "}", 1));
    s->depth--;
    if (s->path[s->depth].is_key)
        s->keys_len = s->path[s->depth].key_off;
    return SY_OK;
}

/* Write what comes before a new member or element of the container at the
 * current depth: separator, key, or nulls for skipped array indexes.
 * SY_EINVAL when the path does not fit what was already written. */
static int place(gm_t *s, const seg_t *g)
{
    level_t *l = &s->lvl[s->depth];
    if (l->is_array) {
        if (g->is_key || g->index < l->count || g->index - l->count > SY_GEMINI_MAX_ARRAY_GAP)
            return SY_EINVAL;
        while (l->count < g->index) {
            TRY(args_put(s, l->count ? ",null" : "null", l->count ? 5 : 4));
            l->count++;
        }
        if (l->count)
            TRY(args_put(s, ",", 1));
        l->count++;
        return SY_OK;
    }
    if (!g->is_key)
        return SY_EINVAL;
    if (l->count)
        TRY(args_put(s, ",", 1));
    TRY(args_put(s, "\"", 1));
    if (sy_wire_json_escape(&s->args, g->key) != SY_OK)
        return SY_ETOOBIG;
    TRY(args_put(s, "\":", 2));
    l->count++;
    return SY_OK;
}

/* Apply one partialArgs entry: {"jsonPath", one of stringValue /
 * numberValue / boolValue / nullValue, "willContinue"}. Strings continue
 * while willContinue is true; paths arrive in document order (the model
 * writes the arguments front to back), so the JSON text is written as the
 * entries come: containers left are closed, new ones opened. */
static int apply_partial(gm_t *s, const sy_json_t *pa)
{
    seg_t segs[SY_GEMINI_MAX_ARG_DEPTH + 1];
    size_t n = 0;
    TRY(parse_path(sy_json_str(sy_json_get(pa, "jsonPath")), segs, SY_ARRAY_LEN(segs), &n));
    const sy_json_t *sv = sy_json_get(pa, "stringValue");
    const sy_json_t *nv = sy_json_get(pa, "numberValue");
    const sy_json_t *bv = sy_json_get(pa, "boolValue");
    const sy_json_t *zv = sy_json_get(pa, "nullValue");
    const sy_json_t *wc = sy_json_get(pa, "willContinue");
    bool will = wc && wc->type == SY_JSON_TRUE;

    if (s->str_open) {
        bool same = sy_json_is(sv, SY_JSON_STRING) && n == s->depth + 1 &&
                    seg_eq(s, &s->leaf, &segs[n - 1]);
        for (size_t i = 0; same && i + 1 < n; i++)
            same = seg_eq(s, &s->path[i], &segs[i]);
        if (same) {
            if (sy_wire_json_escape(&s->args, sy_json_str(sv)) != SY_OK)
                return SY_ETOOBIG;
            if (!will) {
                s->str_open = false;
                TRY(args_put(s, "\"", 1));
            }
            return SY_OK;
        }
        s->str_open = false;
        TRY(args_put(s, "\"", 1));
    }
    if (!s->args_started) {
        s->args_started = true;
        s->depth = 0;
        s->lvl[0] = (level_t){false, 0};
        TRY(args_put(s, "{", 1));
    }
    size_t k = 0;
    while (k < s->depth && k + 1 < n && seg_eq(s, &s->path[k], &segs[k]))
        k++;
    while (s->depth > k)
        TRY(close_container(s));
    for (size_t j = k; j + 1 < n; j++) {
        if (s->depth + 1 >= SY_ARRAY_LEN(s->lvl))
            return SY_ETOOBIG;
        TRY(place(s, &segs[j]));
        bool arr = !segs[j + 1].is_key;
        TRY(args_put(s, arr ? "[" : "{", 1));
        TRY(keep_seg(s, &segs[j], &s->path[s->depth], true));
        s->depth++;
        s->lvl[s->depth] = (level_t){arr, 0};
    }
    TRY(place(s, &segs[n - 1]));
    if (sy_json_is(sv, SY_JSON_STRING)) {
        TRY(args_put(s, "\"", 1));
        if (sy_wire_json_escape(&s->args, sy_json_str(sv)) != SY_OK)
            return SY_ETOOBIG;
        if (will) {
            s->str_open = true;
            return keep_seg(s, &segs[n - 1], &s->leaf, false);
        }
        return args_put(s, "\"", 1);
    }
    if (sy_json_is(nv, SY_JSON_NUMBER))
        return args_put(s, nv->u.num.p, nv->u.num.len);
    if (sy_json_is_bool(bv))
        return bv->type == SY_JSON_TRUE ? args_put(s, "true", 4) : args_put(s, "false", 5);
    if (zv)
        return args_put(s, "null", 4);
    return SY_EINVAL;
}

/* Close the streamed call: the open string, every container, the root. */
static int finish_call(gm_t *s)
{
    int rc = SY_OK;
    if (s->str_open)
        rc = args_put(s, "\"", 1);
    s->str_open = false;
    while (rc == SY_OK && s->depth > 0)
        rc = close_container(s);
    if (rc == SY_OK)
        rc = args_put(s, s->args_started ? "}" : "{}", s->args_started ? 1 : 2);
    s->fc_open = s->args_started = false;
    s->depth = 0;
    s->keys_len = 0;
    if (rc != SY_OK)
        return fail(s, "gemini: streamed function-call arguments too large");
    TRY(args_flush(s));
    return close_block(s);
}

/* ------------------------------------------------------------------ parts --- */

static int function_call(gm_t *s, const sy_json_t *fc, sy_str_t sig)
{
    sy_str_t name = sy_json_str(sy_json_get(fc, "name"));
    const sy_json_t *partial = sy_json_get(fc, "partialArgs");
    const sy_json_t *wc = sy_json_get(fc, "willContinue");
    bool will = wc && wc->type == SY_JSON_TRUE;
    if (name.len) {
        if (s->fc_open)
            TRY(finish_call(s));
        TRY(close_block(s));
        if (sig.len)
            TRY(signature_block(s, sig));
        /* Gemini has no call ids (unless it sends one): synthesise a stable
         * one from the response id and the call's position in the response */
        sy_str_t id = sy_json_str(sy_json_get(fc, "id"));
        if (id.len == 0) {
            char *p = sy_arena_sprintf(s->scratch, "call_%.*s%s%u", (int)s->id_len, s->id,
                                       s->id_len ? "_" : "", s->ncalls);
            id = sy_str_c(p);
        }
        s->ncalls++;
        TRY(open_block(s, SY_IR_TOOL_CALL, id, name));
        if (partial || will) {
            s->fc_open = true;
        } else {
            const sy_json_t *args = sy_json_get(fc, "args");
            int rc = sy_json_is(args, SY_JSON_OBJECT) ? sy_json_serialize(args, &s->args, 0)
                                                      : sy_buf_append_c(&s->args, "{}");
            if (rc != SY_OK)
                return fail(s, "gemini: function-call arguments too large");
            TRY(args_flush(s));
            return close_block(s);
        }
    } else if (!s->fc_open) {
        if (sy_json_len(partial))
            return fail(s, "gemini: streamed function-call arguments without a call");
        return SY_OK; /* a terminator after a whole call */
    }
    for (size_t i = 0; i < sy_json_len(partial); i++) {
        int rc = apply_partial(s, sy_json_index(partial, i));
        if (rc == SY_ETOOBIG)
            return fail(s, "gemini: streamed function-call arguments too large or too deep");
        if (rc != SY_OK)
            return fail(s, "gemini: streamed function-call arguments out of document order");
    }
    TRY(args_flush(s));
    if (!will)
        return finish_call(s);
    return SY_OK;
}

static int part(gm_t *s, const sy_json_t *p)
{
    sy_str_t sig = sy_json_str(sy_json_get(p, "thoughtSignature"));
    const sy_json_t *fc = sy_json_get(p, "functionCall");
    if (sy_json_is(fc, SY_JSON_OBJECT))
        return function_call(s, fc, sig);
    if (s->fc_open)
        TRY(finish_call(s));
    const sy_json_t *th = sy_json_get(p, "thought");
    bool thought = th && th->type == SY_JSON_TRUE;
    sy_str_t text = sy_json_str(sy_json_get(p, "text"));
    if (thought) {
        if (!sy_ir_emit_continues(&s->em, SY_IR_THINKING))
            TRY(open_block(s, SY_IR_THINKING, SY_STR_NULL, SY_STR_NULL));
        TRY(sy_ir_emit_content(&s->em, SY_IR_DELTA_THINKING, text));
        return sy_ir_emit_content(&s->em, SY_IR_DELTA_SIGNATURE, sig);
    }
    bool in_text = sy_ir_emit_continues(&s->em, SY_IR_TEXT);
    if (text.len) {
        /* a second signature in one run of text: the first one's block ends */
        if (in_text && sig.len && s->text_sig.len)
            TRY(close_block(s));
        if (!sy_ir_emit_continues(&s->em, SY_IR_TEXT))
            TRY(open_block(s, SY_IR_TEXT, SY_STR_NULL, SY_STR_NULL));
        TRY(sy_ir_emit_content(&s->em, SY_IR_DELTA_TEXT, text));
        in_text = true;
    }
    if (sig.len && in_text && s->text_sig.len == 0) {
        if (sy_buf_append_str(&s->text_sig, sig) != SY_OK)
            return fail(s, "gemini: a thought signature is larger than the gateway accepts");
        return SY_OK;
    }
    /* other parts (inline images, executable code and its results) have no
     * IR block; their signature, if any, is still kept */
    if (sig.len)
        TRY(signature_block(s, sig));
    return SY_OK;
}

static sy_ir_finish_t map_finish(sy_str_t r)
{
    static const char *const filtered[] = {
        "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
        "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"};
    static const char *const failed[] = {"MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL",
                                         "TOO_MANY_TOOL_CALLS", "MISSING_THOUGHT_SIGNATURE",
                                         "MALFORMED_RESPONSE"};
    if (sy_str_eq_c(r, "MAX_TOKENS"))
        return SY_IR_FINISH_LENGTH;
    for (size_t i = 0; i < SY_ARRAY_LEN(filtered); i++)
        if (sy_str_eq_c(r, filtered[i]))
            return SY_IR_FINISH_CONTENT_FILTER;
    for (size_t i = 0; i < SY_ARRAY_LEN(failed); i++)
        if (sy_str_eq_c(r, failed[i]))
            return SY_IR_FINISH_ERROR;
    /* STOP, OTHER, LANGUAGE, FINISH_REASON_UNSPECIFIED and unknown values */
    return SY_IR_FINISH_STOP;
}

/*
 * Usage: promptTokenCount counts the whole prompt, cached part included
 * (cachedContentTokenCount); toolUsePromptTokenCount (grounding and tool
 * results Gemini fed itself) is billed as input too. candidatesTokenCount
 * leaves the thoughts out, but thoughts are billed as output: output is
 * candidates + thoughts, and reasoning is the thoughts.
 */
static int usage(gm_t *s, const sy_json_t *um)
{
    uint64_t prompt = 0, tool = 0, cand = 0, thoughts = 0, cached = 0;
    bool hp = sy_json_as_u64(sy_json_get(um, "promptTokenCount"), &prompt) == SY_OK;
    bool ht = sy_json_as_u64(sy_json_get(um, "toolUsePromptTokenCount"), &tool) == SY_OK;
    bool hc = sy_json_as_u64(sy_json_get(um, "candidatesTokenCount"), &cand) == SY_OK;
    bool hr = sy_json_as_u64(sy_json_get(um, "thoughtsTokenCount"), &thoughts) == SY_OK;
    bool hk = sy_json_as_u64(sy_json_get(um, "cachedContentTokenCount"), &cached) == SY_OK;
    sy_ir_usage_t u;
    memset(&u, 0, sizeof(u));
    u.has_input = hp || ht;
    u.input = prompt + tool;
    u.has_output = hc || hr;
    u.output = cand + thoughts;
    u.has_reasoning = hr;
    u.reasoning = thoughts;
    u.has_cached_input = hk;
    u.cached_input = cached;
    if (!u.has_input && !u.has_output && !u.has_cached_input)
        return SY_OK;
    return sy_ir_emit_usage_changed(&s->em, &u);
}

/* One GenerateContentResponse. */
static int chunk(gm_t *s, const sy_json_t *root)
{
    if (!sy_json_is(root, SY_JSON_OBJECT))
        return fail(s, "gemini: a stream event is not a JSON object");
    const sy_json_t *err = sy_json_get(root, "error");
    if (sy_json_is(err, SY_JSON_OBJECT)) {
        sy_ir_error_t e;
        memset(&e, 0, sizeof(e));
        error_from_json(err, 0, &e);
        return sy_ir_emit_error(&s->em, &e);
    }
    TRY(start(s, root));
    const sy_json_t *cand = sy_json_index(sy_json_get(root, "candidates"), 0);
    const sy_json_t *parts = sy_json_path(cand, "content.parts");
    for (size_t i = 0; i < sy_json_len(parts); i++)
        TRY(part(s, sy_json_index(parts, i)));
    sy_str_t fr = sy_json_str(sy_json_get(cand, "finishReason"));
    if (fr.len) {
        s->finish_seen = true;
        s->finish = map_finish(fr);
    }
    if (sy_json_str(sy_json_path(root, "promptFeedback.blockReason")).len) {
        s->finish_seen = true;
        s->finish = SY_IR_FINISH_CONTENT_FILTER;
    }
    const sy_json_t *um = sy_json_get(root, "usageMetadata");
    if (sy_json_is(um, SY_JSON_OBJECT))
        TRY(usage(s, um));
    return SY_OK;
}

/* The end of the response: close what is open, FINISH, END. */
static int finish_stream(gm_t *s)
{
    if (s->fc_open)
        TRY(finish_call(s));
    TRY(close_block(s));
    if (!s->finish_seen)
        return fail(s, "gemini: the response ended without a finish reason");
    sy_ir_finish_t f = s->finish;
    if (f == SY_IR_FINISH_STOP && s->ncalls)
        f = SY_IR_FINISH_TOOL_CALLS;
    TRY(sy_ir_emit_finish(&s->em, f, SY_STR_NULL));
    return sy_ir_emit_end(&s->em);
}

/* ---------------------------------------------------------------- stream --- */

static void cleanup(void *arg)
{
    gm_t *s = arg;
    sy_buf_free(&s->sse_buf);
    sy_buf_free(&s->stray);
    sy_buf_free(&s->args);
    sy_buf_free(&s->text_sig);
    if (s->own_scratch)
        sy_arena_free(s->scratch);
}

static gm_t *state_new(sy_arena_t *a, bool stream)
{
    gm_t *s = sy_arena_calloc(a, sizeof(*s));
    s->own_scratch = stream;
    s->scratch = stream ? sy_arena_new(0) : a;
    sy_buf_init(&s->sse_buf, SY_SSE_DEFAULT_MAX_LINE + SY_SSE_DEFAULT_MAX_DATA + 1);
    sy_buf_init(&s->stray, GM_MAX_STRAY);
    sy_buf_init(&s->args, SY_SSE_DEFAULT_MAX_DATA * 2);
    sy_buf_init(&s->text_sig, SY_SSE_DEFAULT_MAX_DATA);
    sy_sse_reader_init(&s->sse, &s->sse_buf, 0, 0, 0);
    sy_arena_cleanup(a, cleanup, s);
    return s;
}

void *sy_gemini_stream_new(sy_arena_t *a, const sy_provider_ctx_t *cx, const sy_ir_request_t *req)
{
    SY_UNUSED(cx);
    SY_UNUSED(req);
    return state_new(a, true);
}

static void stray_put(gm_t *s, const char *p, size_t n)
{
    sy_buf_append(&s->stray, p, n); /* past the cap the rest is dropped */
}

static bool known_field(const char *p, size_t n)
{
    static const char *const fields[] = {"data", "event", "id", "retry"};
    if (n == 0)
        return true; /* ":comment" */
    for (size_t i = 0; i < SY_ARRAY_LEN(fields); i++)
        if (n == strlen(fields[i]) && memcmp(p, fields[i], n) == 0)
            return true;
    return false;
}

/* Keep the lines the SSE reader skips (not a field, comment or blank). */
static void stray_scan(gm_t *s, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s->ln == LN_START) {
            if (s->skip_lf) {
                s->skip_lf = false;
                if (p[i] == '\n') {
                    i++;
                    continue;
                }
            }
            if (p[i] == '\n' || p[i] == '\r') {
                s->skip_lf = p[i] == '\r';
                i++;
                continue;
            }
            s->ln = LN_PREFIX;
            s->pre_len = 0;
        }
        if (s->ln == LN_PREFIX) {
            while (i < n && s->pre_len < sizeof(s->pre) && p[i] != ':' && p[i] != '\r' &&
                   p[i] != '\n')
                s->pre[s->pre_len++] = p[i++];
            if (i == n && s->pre_len < sizeof(s->pre))
                return;
            bool at_sep = s->pre_len < sizeof(s->pre) && i < n;
            s->ln = at_sep && known_field(s->pre, s->pre_len) ? LN_SKIP : LN_STRAY;
            if (s->ln == LN_STRAY)
                stray_put(s, s->pre, s->pre_len);
        }
        size_t j = i;
        while (j < n && p[j] != '\r' && p[j] != '\n')
            j++;
        if (s->ln == LN_STRAY)
            stray_put(s, p + i, j - i);
        if (j == n)
            return;
        if (s->ln == LN_STRAY)
            stray_put(s, "\n", 1);
        s->skip_lf = p[j] == '\r';
        s->ln = LN_START;
        i = j + 1;
    }
}

static int handle_event(gm_t *s, sy_str_t data)
{
    sy_str_t t = sy_str_trim(data);
    if (t.len == 0 || sy_str_eq_c(t, "[DONE]"))
        return SY_OK;
    if (s->own_scratch)
        sy_arena_reset(s->scratch);
    sy_json_t *root = NULL;
    if (sy_json_parse(s->scratch, data.p, data.len, NULL, &root, NULL) != SY_OK)
        return fail(s, "gemini: a stream event is not valid JSON");
    return chunk(s, root);
}

int sy_gemini_stream_feed(void *st, const char *data, size_t len, sy_ir_delta_cb cb, void *cbctx)
{
    gm_t *s = st;
    if (sy_ir_emit_done(&s->em))
        return s->em.rc;
    sy_ir_emit_bind(&s->em, cb, cbctx);
    stray_scan(s, data, len);
    size_t off = 0;
    for (;;) {
        size_t used = 0;
        sy_sse_event_t ev;
        int rc = sy_sse_next(&s->sse, data + off, len - off, &used, &ev);
        off += used;
        if (rc == SY_EAGAIN)
            return SY_OK;
        if (rc != SY_OK)
            return fail(s, "gemini: a stream event is larger than the gateway accepts");
        TRY(handle_event(s, ev.data));
    }
}

int sy_gemini_stream_end(void *st, sy_ir_delta_cb cb, void *cbctx)
{
    gm_t *s = st;
    if (sy_ir_emit_done(&s->em))
        return s->em.rc;
    sy_ir_emit_bind(&s->em, cb, cbctx);
    sy_sse_event_t ev;
    int rc;
    while ((rc = sy_sse_finish(&s->sse, &ev)) == SY_OK)
        TRY(handle_event(s, ev.data));
    if (rc != SY_EAGAIN)
        return fail(s, "gemini: a stream event is larger than the gateway accepts");
    if (s->ln == LN_PREFIX && !known_field(s->pre, s->pre_len))
        stray_put(s, s->pre, s->pre_len);
    if (s->stray.len) {
        if (s->own_scratch)
            sy_arena_reset(s->scratch);
        sy_json_t *root = NULL;
        sy_str_t t = sy_buf_str(&s->stray);
        if (sy_json_parse(s->scratch, t.p, t.len, NULL, &root, NULL) == SY_OK) {
            if (sy_json_is(root, SY_JSON_ARRAY))
                root = sy_json_index(root, 0);
            const sy_json_t *err = sy_json_get(root, "error");
            if (sy_json_is(err, SY_JSON_OBJECT)) {
                sy_ir_error_t e;
                memset(&e, 0, sizeof(e));
                error_from_json(err, 0, &e);
                return sy_ir_emit_error(&s->em, &e);
            }
        }
        if (!s->finish_seen)
            return fail(s, "gemini: the stream holds lines that are not server-sent events");
    }
    return finish_stream(s);
}

/* ------------------------------------------------------------ whole body --- */

typedef struct {
    sy_ir_collector_t *c;
    bool failed;
    sy_ir_error_t err;
} decode_ctx_t;

static int decode_cb(void *ctx, const sy_ir_delta_t *d)
{
    decode_ctx_t *dc = ctx;
    if (d->kind == SY_IR_DELTA_ERROR) {
        dc->failed = true;
        dc->err = d->error;
        return SY_OK;
    }
    return sy_ir_collect(dc->c, d);
}

int sy_gemini_decode(sy_arena_t *a, const sy_provider_ctx_t *cx, sy_str_t body,
                     sy_ir_response_t *out, sy_ir_error_t *err)
{
    SY_UNUSED(cx);
    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    sy_json_t *root = NULL;
    if (sy_json_parse(a, body.p, body.len, NULL, &root, NULL) != SY_OK) {
        err->cls = SY_IR_ERR_BAD_RESPONSE;
        err->message = SY_STR("gemini: the response body is not valid JSON");
        return SY_EINVAL;
    }
    decode_ctx_t dc = {.c = sy_ir_collector_new(a)};
    gm_t *s = state_new(a, false);
    sy_ir_emit_bind(&s->em, decode_cb, &dc);
    if (chunk(s, root) == SY_OK)
        finish_stream(s);
    if (dc.failed) {
        *err = dc.err;
        return SY_EINVAL;
    }
    *out = *sy_ir_collect_finish(dc.c);
    return SY_OK;
}
