/*
 * test_translate.c - the data-driven translation runner.
 *
 * Runs every .case file in tests/data/translate (format: README.md in that
 * folder) through the same path the gateway takes: front door parse ->
 * provider encode -> (the canned upstream answer) -> provider decode or
 * stream decode -> front door respond / stream encode, and compares each
 * stage with what the case expects. It is generic over the registered front
 * doors (api/frontdoors.def) and provider adapters (providers/adapters.def):
 * a case names them, nothing here knows any format.
 *
 * Streams are decoded several times, the body split differently each time
 * (whole, one byte per call, fixed and pseudo-random piece sizes, each piece
 * in its own heap block freed after the call so a decoder that keeps a view
 * into old input trips ASan); every split must give the same deltas and the
 * same client bytes, and every delta sequence must pass the IR invariant
 * checker (ir/check.h).
 *
 * Usage: test_translate [FILTER]   runs the cases whose file name contains
 * FILTER. SY_TRANSLATE_DUMP=1 prints what each stage produced (for writing
 * a new case).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "api/frontdoors.h"
#include "http/sse.h"
#include "ir/check.h"
#include "json/json.h"
#include "providers/provider.h"

#define CASE_DIR "tests/data/translate"
#define MAX_SECTIONS 32
#define MAX_HEADERS 32
#define MAX_FILE ((size_t)16 << 20)

static const char *root = ".";
static bool dump;
static const char *cur_case; /* file name, for messages */

#define FAILF(...)                                                                                 \
    do {                                                                                           \
        fprintf(stderr, "  %s: ", cur_case);                                                       \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        unit_cur_failed++;                                                                         \
    } while (0)

/* ------------------------------------------------------------ case file --- */

typedef struct {
    sy_str_t name; /* "client_request" */
    sy_str_t args; /* the rest of the header line, trimmed */
    sy_str_t body; /* verbatim lines up to the next section */
} section_t;

typedef struct {
    char *text;
    section_t sec[MAX_SECTIONS];
    size_t nsec;
} case_t;

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_FILE) {
                free(buf);
                fclose(f);
                return NULL;
            }
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int parse_case(case_t *c, char *text, size_t len)
{
    memset(c, 0, sizeof(*c));
    c->text = text;
    const char *p = text, *end = text + len;
    section_t *cur = NULL;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl + 1 : end;
        if (end - p >= 4 && memcmp(p, "--- ", 4) == 0) {
            if (cur)
                cur->body.len = (size_t)(p - cur->body.p);
            if (c->nsec == MAX_SECTIONS)
                return -1;
            cur = &c->sec[c->nsec++];
            sy_str_t line = sy_str_trim(sy_str(p + 4, (size_t)((nl ? nl : end) - (p + 4))));
            if (line.len && line.p[line.len - 1] == '\r')
                line.len--;
            ptrdiff_t sp = sy_str_find_char(line, ' ');
            cur->name = sp < 0 ? line : sy_str_sub(line, 0, (size_t)sp);
            cur->args = sp < 0 ? SY_STR("") : sy_str_trim(sy_str_sub(line, (size_t)sp + 1, line.len));
            cur->body = sy_str(le, 0);
        }
        p = le;
    }
    if (cur)
        cur->body.len = (size_t)(end - cur->body.p);
    return 0;
}

static const section_t *section(const case_t *c, const char *name)
{
    for (size_t i = 0; i < c->nsec; i++)
        if (sy_str_eq_c(c->sec[i].name, name))
            return &c->sec[i];
    return NULL;
}

/* key=value in a section's args (values end at a space), or def. */
static sy_str_t arg(const section_t *s, const char *key, sy_str_t def)
{
    sy_str_t a = s ? s->args : SY_STR("");
    size_t klen = strlen(key);
    while (a.len) {
        ptrdiff_t sp = sy_str_find_char(a, ' ');
        sy_str_t tok = sp < 0 ? a : sy_str_sub(a, 0, (size_t)sp);
        a = sp < 0 ? SY_STR("") : sy_str_trim(sy_str_sub(a, (size_t)sp + 1, a.len));
        if (tok.len > klen && tok.p[klen] == '=' && memcmp(tok.p, key, klen) == 0)
            return sy_str_sub(tok, klen + 1, tok.len);
    }
    return def;
}

static bool arg_u64(const section_t *s, const char *key, uint64_t *out)
{
    sy_str_t v = arg(s, key, SY_STR_NULL);
    return v.p != NULL && sy_str_to_u64(v, UINT64_MAX, out) == SY_OK;
}

/* A section body, or the file it names with "@file PATH" (relative to the
 * repository root). Files are read into the arena. */
static sy_str_t body_of(sy_arena_t *a, const section_t *s)
{
    if (s == NULL)
        return SY_STR_NULL;
    sy_str_t b = s->body;
    if (sy_str_starts_with(b, SY_STR("@file "))) {
        sy_str_t path = sy_str_trim(sy_str_sub(b, 6, b.len));
        ptrdiff_t nl = sy_str_find_char(path, '\n');
        if (nl >= 0)
            path = sy_str_trim(sy_str_sub(path, 0, (size_t)nl));
        if (path.len && path.p[path.len - 1] == '\r')
            path.len--;
        char *full = sy_arena_sprintf(a, "%s/%.*s", root, SY_STR_FMT(path));
        size_t len = 0;
        char *data = read_file(full, &len);
        if (data == NULL) {
            FAILF("cannot read %s", full);
            return SY_STR_NULL;
        }
        sy_str_t r = sy_str_dup(a, sy_str(data, len));
        free(data);
        return r;
    }
    return b;
}

/* A buffer's bytes as a view ("" for a buffer never written to). */
static sy_str_t bstr(const sy_buf_t *b) { return b->data ? sy_buf_str(b) : SY_STR(""); }

/* ---------------------------------------------------------- comparisons --- */

static bool is_any(const sy_json_t *v)
{
    return sy_json_is(v, SY_JSON_STRING) && sy_str_eq_c(v->u.str, "<any>");
}

/* Structural match: object key order ignored (the key sets must be equal),
 * numbers compared as written, "<any>" in expected matches any value. On a
 * mismatch writes the path into where. */
static bool json_match(const sy_json_t *exp, const sy_json_t *act, char *where, size_t wlen,
                       size_t depth)
{
    if (is_any(exp))
        return true;
    if (act == NULL || exp->type != act->type) {
        snprintf(where + strlen(where), wlen - strlen(where), ": expected %s, got %s",
                 sy_json_type_name(exp->type), act ? sy_json_type_name(act->type) : "nothing");
        return false;
    }
    size_t wl = strlen(where);
    switch (exp->type) {
    case SY_JSON_STRING:
        if (!sy_str_eq(exp->u.str, act->u.str)) {
            snprintf(where + wl, wlen - wl, ": expected \"%.*s\", got \"%.*s\"",
                     SY_STR_FMT(exp->u.str), SY_STR_FMT(act->u.str));
            return false;
        }
        return true;
    case SY_JSON_NUMBER:
        if (!sy_str_eq(exp->u.num, act->u.num)) {
            snprintf(where + wl, wlen - wl, ": expected %.*s, got %.*s", SY_STR_FMT(exp->u.num),
                     SY_STR_FMT(act->u.num));
            return false;
        }
        return true;
    case SY_JSON_ARRAY:
        if (sy_json_len(exp) != sy_json_len(act)) {
            snprintf(where + wl, wlen - wl, ": expected %zu elements, got %zu", sy_json_len(exp),
                     sy_json_len(act));
            return false;
        }
        for (size_t i = 0; i < sy_json_len(exp); i++) {
            snprintf(where + wl, wlen - wl, ".%zu", i);
            if (!json_match(sy_json_index(exp, i), sy_json_index(act, i), where, wlen, depth + 1))
                return false;
            where[wl] = '\0';
        }
        return true;
    case SY_JSON_OBJECT:
        for (size_t i = 0; i < exp->u.obj.len; i++) {
            const sy_json_member_t *m = &exp->u.obj.items[i];
            snprintf(where + wl, wlen - wl, ".%.*s", SY_STR_FMT(m->key));
            if (!json_match(&m->value, sy_json_get_str(act, m->key), where, wlen, depth + 1))
                return false;
            where[wl] = '\0';
        }
        for (size_t i = 0; i < act->u.obj.len; i++) {
            const sy_json_member_t *m = &act->u.obj.items[i];
            if (sy_json_get_str(exp, m->key) == NULL) {
                snprintf(where + wl, wlen - wl, ".%.*s: not expected", SY_STR_FMT(m->key));
                return false;
            }
        }
        return true;
    default:
        return true;
    }
}

static sy_json_t *parse_json(sy_arena_t *a, sy_str_t s)
{
    sy_json_t *v = NULL;
    if (sy_json_parse(a, s.p ? s.p : "", s.len, NULL, &v, NULL) != SY_OK)
        return NULL;
    return v;
}

/* Compare two JSON texts structurally; what names the stage. */
static void check_json(sy_arena_t *a, const char *what, sy_str_t expected, sy_str_t actual)
{
    sy_json_t *e = parse_json(a, expected), *v = parse_json(a, actual);
    if (e == NULL) {
        FAILF("%s: the expected text is not JSON", what);
        return;
    }
    if (v == NULL) {
        FAILF("%s: output is not JSON: %.*s", what, SY_STR_FMT(actual));
        return;
    }
    char where[1024] = "$";
    if (!json_match(e, v, where, sizeof(where), 0))
        FAILF("%s: %s\n    got: %.*s", what, where, SY_STR_FMT(actual));
}

typedef struct {
    sy_str_t event, data;
} sse_ev_t;

/* Split an SSE stream into events (arena copies). Returns the count, or -1
 * if the stream is malformed (caps) or ends with an undispatched event. */
static int read_sse(sy_arena_t *a, sy_str_t s, sse_ev_t *evs, int max)
{
    if (s.p == NULL)
        s = SY_STR("");
    sy_buf_t buf;
    sy_buf_init(&buf, 0);
    sy_sse_reader_t r;
    sy_sse_reader_init(&r, &buf, 0, 0, 0);
    int n = 0;
    size_t off = 0;
    for (;;) {
        size_t used = 0;
        sy_sse_event_t ev;
        int rc = sy_sse_next(&r, s.p + off, s.len - off, &used, &ev);
        off += used;
        if (rc != SY_OK) {
            if (rc != SY_EAGAIN || sy_sse_pending(&r))
                n = -1;
            break;
        }
        if (n < max) {
            evs[n].event = sy_str_dup(a, ev.event);
            evs[n].data = sy_str_dup(a, ev.data);
        }
        n++;
    }
    sy_buf_free(&buf);
    return n;
}

#define MAX_EVENTS 4096

static void check_sse(sy_arena_t *a, sy_str_t expected, sy_str_t actual)
{
    sse_ev_t *ee = sy_arena_alloc(a, MAX_EVENTS * sizeof(*ee));
    sse_ev_t *ae = sy_arena_alloc(a, MAX_EVENTS * sizeof(*ae));
    int ne = read_sse(a, expected, ee, MAX_EVENTS), na = read_sse(a, actual, ae, MAX_EVENTS);
    if (ne < 0) {
        FAILF("client_response: the expected stream is not well-formed SSE");
        return;
    }
    if (na < 0) {
        FAILF("client_response: the stream is not well-formed SSE (cut or over a cap)");
        return;
    }
    if (actual.len < 2 || memcmp(actual.p + actual.len - 2, "\n\n", 2) != 0)
        FAILF("client_response: the stream does not end with a blank line");
    for (int i = 0; i < ne && i < na && i < MAX_EVENTS; i++) {
        char what[64];
        snprintf(what, sizeof(what), "client_response event %d", i);
        if (!sy_str_eq(ee[i].event, ae[i].event)) {
            FAILF("%s: event type \"%.*s\", expected \"%.*s\"", what, SY_STR_FMT(ae[i].event),
                  SY_STR_FMT(ee[i].event));
            continue;
        }
        sy_json_t *ej = parse_json(a, ee[i].data);
        if (ej != NULL) {
            int before = unit_cur_failed;
            check_json(a, what, ee[i].data, ae[i].data);
            if (unit_cur_failed != before)
                break; /* one mismatch usually shifts every later event */
        } else if (!sy_str_eq(ee[i].data, ae[i].data)) {
            FAILF("%s: data \"%.*s\", expected \"%.*s\"", what, SY_STR_FMT(ae[i].data),
                  SY_STR_FMT(ee[i].data));
            break;
        }
    }
    if (ne != na)
        FAILF("client_response: %d events, expected %d", na, ne);
}

/* Expected client output: an SSE stream when it starts with a field name,
 * else one JSON body. */
static void check_client(sy_arena_t *a, const section_t *exp, sy_str_t actual)
{
    sy_str_t e = body_of(a, exp);
    sy_str_t t = sy_str_trim(e);
    while (t.len && (t.p[0] == '\n' || t.p[0] == '\r'))
        t = sy_str_trim(sy_str_sub(t, 1, t.len));
    if (sy_str_starts_with(t, SY_STR("data:")) || sy_str_starts_with(t, SY_STR("event:")))
        check_sse(a, e, actual);
    else
        check_json(a, "client_response", e, actual);
}

/* ------------------------------------------------------- delta tracing --- */

static const char *const block_names[] = {"text",      "image",    "tool_call",
                                          "tool_result", "thinking", "redacted_thinking"};

static void trace_str(sy_buf_t *t, sy_str_t s)
{
    sy_json_writer_t w;
    sy_json_writer_init(&w, t, 0);
    sy_json_write_string(&w, s);
    sy_json_write_finish(&w);
}

static void trace_usage(sy_buf_t *t, const sy_ir_usage_t *u)
{
    if (u->has_input)
        sy_buf_printf(t, " input=%llu", (unsigned long long)u->input);
    if (u->has_output)
        sy_buf_printf(t, " output=%llu", (unsigned long long)u->output);
    if (u->has_cached_input)
        sy_buf_printf(t, " cached=%llu", (unsigned long long)u->cached_input);
    if (u->has_cache_write)
        sy_buf_printf(t, " cache_write=%llu", (unsigned long long)u->cache_write);
    if (u->has_reasoning)
        sy_buf_printf(t, " reasoning=%llu", (unsigned long long)u->reasoning);
}

/* One line per delta, the form the `deltas` section is written in. */
static void trace_delta(sy_buf_t *t, const sy_ir_delta_t *d)
{
    switch (d->kind) {
    case SY_IR_DELTA_START:
        sy_buf_append_c(t, "START id=");
        trace_str(t, d->id);
        sy_buf_append_c(t, " model=");
        trace_str(t, d->model);
        trace_usage(t, &d->usage);
        break;
    case SY_IR_DELTA_BLOCK_START:
        sy_buf_printf(t, "BLOCK_START %u %s", d->index,
                      (unsigned)d->block < SY_ARRAY_LEN(block_names) ? block_names[d->block] : "?");
        if (d->block == SY_IR_TOOL_CALL) {
            sy_buf_append_c(t, " id=");
            trace_str(t, d->id);
            sy_buf_append_c(t, " name=");
            trace_str(t, d->name);
        }
        if (d->text.len) {
            sy_buf_append_c(t, " ");
            trace_str(t, d->text);
        }
        break;
    case SY_IR_DELTA_TEXT:
    case SY_IR_DELTA_THINKING:
    case SY_IR_DELTA_SIGNATURE:
    case SY_IR_DELTA_TOOL_ARGS: {
        static const char *const n[] = {"TEXT", "THINKING", "SIGNATURE", "TOOL_ARGS"};
        sy_buf_printf(t, "%s %u ", n[d->kind - SY_IR_DELTA_TEXT], d->index);
        trace_str(t, d->text);
        break;
    }
    case SY_IR_DELTA_BLOCK_STOP:
        sy_buf_printf(t, "BLOCK_STOP %u", d->index);
        break;
    case SY_IR_DELTA_USAGE:
        sy_buf_append_c(t, "USAGE");
        trace_usage(t, &d->usage);
        break;
    case SY_IR_DELTA_FINISH:
        sy_buf_printf(t, "FINISH %s", sy_ir_finish_name(d->finish));
        if (d->stop_sequence.len) {
            sy_buf_append_c(t, " stop_sequence=");
            trace_str(t, d->stop_sequence);
        }
        break;
    case SY_IR_DELTA_END:
        sy_buf_append_c(t, "END");
        break;
    case SY_IR_DELTA_ERROR:
        sy_buf_printf(t, "ERROR %s status=%d retry_after_ms=%llu ",
                      sy_ir_error_class_name(d->error.cls), d->error.status,
                      (unsigned long long)d->error.retry_after_ms);
        trace_str(t, d->error.message);
        break;
    }
    sy_buf_append_c(t, "\n");
}

/* Compare texts line by line, ignoring trailing whitespace on each line and
 * blank lines at the end. */
static void check_lines(const char *what, sy_str_t expected, sy_str_t actual)
{
    int line = 1;
    for (;;) {
        while (expected.len && sy_str_trim(expected).len == 0)
            expected = SY_STR("");
        while (actual.len && sy_str_trim(actual).len == 0)
            actual = SY_STR("");
        if (expected.len == 0 && actual.len == 0)
            return;
        ptrdiff_t en = sy_str_find_char(expected, '\n'), an = sy_str_find_char(actual, '\n');
        sy_str_t el = en < 0 ? expected : sy_str_sub(expected, 0, (size_t)en);
        sy_str_t al = an < 0 ? actual : sy_str_sub(actual, 0, (size_t)an);
        while (el.len && (el.p[el.len - 1] == ' ' || el.p[el.len - 1] == '\r'))
            el.len--;
        while (al.len && (al.p[al.len - 1] == ' ' || al.p[al.len - 1] == '\r'))
            al.len--;
        if (!sy_str_eq(el, al)) {
            FAILF("%s line %d: got\n      %.*s\n    expected\n      %.*s", what, line,
                  SY_STR_FMT(al), SY_STR_FMT(el));
            return;
        }
        expected = en < 0 ? SY_STR("") : sy_str_sub(expected, (size_t)en + 1, expected.len);
        actual = an < 0 ? SY_STR("") : sy_str_sub(actual, (size_t)an + 1, actual.len);
        line++;
    }
}

/* ---------------------------------------------------------- the stages --- */

static void check_usage(const section_t *s, const sy_ir_usage_t *u)
{
    if (s == NULL)
        return;
    static const char *const keys[] = {"input", "output", "cached", "cache_write", "reasoning"};
    const uint64_t vals[] = {u->input, u->output, u->cached_input, u->cache_write, u->reasoning};
    const bool has[] = {u->has_input, u->has_output, u->has_cached_input, u->has_cache_write,
                        u->has_reasoning};
    for (size_t i = 0; i < SY_ARRAY_LEN(keys); i++) {
        uint64_t want;
        if (arg_u64(s, keys[i], &want)) {
            if (!has[i] || vals[i] != want)
                FAILF("usage %s: %s%llu, expected %llu", keys[i], has[i] ? "" : "unknown ",
                      (unsigned long long)vals[i], (unsigned long long)want);
        } else if (has[i] && vals[i] != 0) {
            FAILF("usage %s: %llu, expected none", keys[i], (unsigned long long)vals[i]);
        }
    }
}

static void check_error(const section_t *s, const sy_ir_error_t *e)
{
    if (s == NULL)
        return;
    sy_str_t cls = arg(s, "class", SY_STR_NULL);
    if (cls.p && !sy_str_eq_c(cls, sy_ir_error_class_name(e->cls)))
        FAILF("error class %s, expected %.*s", sy_ir_error_class_name(e->cls), SY_STR_FMT(cls));
    uint64_t v;
    if (arg_u64(s, "status", &v) && (uint64_t)e->status != v)
        FAILF("error status %d, expected %llu", e->status, (unsigned long long)v);
    if (arg_u64(s, "retry_after_ms", &v) && e->retry_after_ms != v)
        FAILF("error retry_after_ms %llu, expected %llu", (unsigned long long)e->retry_after_ms,
              (unsigned long long)v);
    sy_str_t type = arg(s, "type", SY_STR_NULL);
    if (type.p && !sy_str_eq(type, e->type))
        FAILF("error type \"%.*s\", expected \"%.*s\"", SY_STR_FMT(e->type), SY_STR_FMT(type));
    sy_str_t msg = sy_str_trim(s->body);
    while (msg.len && (msg.p[msg.len - 1] == '\n' || msg.p[msg.len - 1] == '\r'))
        msg = sy_str_trim(sy_str_sub(msg, 0, msg.len - 1));
    if (msg.len && !sy_str_eq(msg, e->message))
        FAILF("error message \"%.*s\", expected \"%.*s\"", SY_STR_FMT(e->message),
              SY_STR_FMT(msg));
}

static void load_ctx(sy_arena_t *a, const section_t *s, const sy_ir_request_t *req,
                     sy_provider_ctx_t *cx)
{
    memset(cx, 0, sizeof(*cx));
    cx->provider_name = SY_STR("test-upstream");
    cx->base_url = SY_STR("https://upstream.test");
    cx->api_key = SY_STR("sk-upstream-test");
    cx->model = req->model;
    cx->api_version = SY_STR("");
    cx->region = SY_STR("");
    cx->aws_access_key_id = SY_STR("");
    cx->aws_secret_access_key = SY_STR("");
    cx->aws_session_token = SY_STR("");
    cx->now = 1700000000;
    cx->default_max_tokens = 4096;
    bool base_path_set = false;
    sy_str_t b = s ? s->body : SY_STR("");
    while (b.len) {
        ptrdiff_t nl = sy_str_find_char(b, '\n');
        sy_str_t line = sy_str_trim(nl < 0 ? b : sy_str_sub(b, 0, (size_t)nl));
        b = nl < 0 ? SY_STR("") : sy_str_sub(b, (size_t)nl + 1, b.len);
        if (line.len && line.p[line.len - 1] == '\r')
            line.len--;
        ptrdiff_t eq = sy_str_find_char(line, '=');
        if (line.len == 0 || line.p[0] == '#' || eq < 0)
            continue;
        sy_str_t k = sy_str_trim(sy_str_sub(line, 0, (size_t)eq));
        sy_str_t v = sy_str_dup(a, sy_str_trim(sy_str_sub(line, (size_t)eq + 1, line.len)));
        uint64_t n = 0;
        if (sy_str_eq_c(k, "provider_name"))
            cx->provider_name = v;
        else if (sy_str_eq_c(k, "base_url"))
            cx->base_url = v;
        else if (sy_str_eq_c(k, "base_path")) {
            cx->base_path = v;
            base_path_set = true;
        } else if (sy_str_eq_c(k, "api_key"))
            cx->api_key = v;
        else if (sy_str_eq_c(k, "model"))
            cx->model = v;
        else if (sy_str_eq_c(k, "api_version"))
            cx->api_version = v;
        else if (sy_str_eq_c(k, "azure"))
            cx->azure = sy_str_eq_c(v, "true") || sy_str_eq_c(v, "1");
        else if (sy_str_eq_c(k, "region"))
            cx->region = v;
        else if (sy_str_eq_c(k, "aws_access_key_id"))
            cx->aws_access_key_id = v;
        else if (sy_str_eq_c(k, "aws_secret_access_key"))
            cx->aws_secret_access_key = v;
        else if (sy_str_eq_c(k, "aws_session_token"))
            cx->aws_session_token = v;
        else if (sy_str_eq_c(k, "now") && sy_str_to_u64(v, INT64_MAX, &n) == SY_OK)
            cx->now = (int64_t)n;
        else if (sy_str_eq_c(k, "default_max_tokens") && sy_str_to_u64(v, UINT64_MAX, &n) == SY_OK)
            cx->default_max_tokens = n;
        else
            FAILF("ctx: unknown key \"%.*s\"", SY_STR_FMT(k));
    }
    if (!base_path_set) {
        /* the path part of base_url: after "scheme://host" */
        sy_str_t u = cx->base_url;
        ptrdiff_t s3 = sy_str_find(u, SY_STR("://"));
        sy_str_t rest = s3 < 0 ? u : sy_str_sub(u, (size_t)s3 + 3, u.len);
        ptrdiff_t sl = sy_str_find_char(rest, '/');
        cx->base_path = sl < 0 ? SY_STR("") : sy_str_sub(rest, (size_t)sl, rest.len);
    }
}

/* The expected upstream request: "METHOD PATH", header lines ("Name: value";
 * value "<any>" for any value; "!Name" for a header that must be absent),
 * a blank line, the body (JSON compared structurally, else bytes). */
static void check_upstream_request(sy_arena_t *a, const section_t *s, const sy_upstream_req_t *u)
{
    sy_str_t b = body_of(a, s);
    ptrdiff_t nl = sy_str_find_char(b, '\n');
    sy_str_t first = sy_str_trim(nl < 0 ? b : sy_str_sub(b, 0, (size_t)nl));
    b = nl < 0 ? SY_STR("") : sy_str_sub(b, (size_t)nl + 1, b.len);
    char line[2048];
    snprintf(line, sizeof(line), "%s %.*s", u->method ? u->method : "?", SY_STR_FMT(u->path));
    if (!sy_str_eq_c(first, line))
        FAILF("upstream_request: \"%s\", expected \"%.*s\"", line, SY_STR_FMT(first));
    while (b.len) {
        nl = sy_str_find_char(b, '\n');
        sy_str_t h = sy_str_trim(nl < 0 ? b : sy_str_sub(b, 0, (size_t)nl));
        if (h.len && h.p[h.len - 1] == '\r')
            h.len--;
        if (h.len == 0 || h.p[0] == '{' || h.p[0] == '[')
            break;
        b = nl < 0 ? SY_STR("") : sy_str_sub(b, (size_t)nl + 1, b.len);
        if (h.p[0] == '!') {
            sy_str_t name = sy_str_sub(h, 1, h.len);
            for (const sy_upstream_header_t *x = u->headers; x; x = x->next)
                if (sy_str_ieq(x->name, name))
                    FAILF("upstream_request: header %.*s is present", SY_STR_FMT(name));
            continue;
        }
        ptrdiff_t colon = sy_str_find_char(h, ':');
        if (colon < 0) {
            FAILF("upstream_request: bad header line \"%.*s\"", SY_STR_FMT(h));
            continue;
        }
        sy_str_t name = sy_str_sub(h, 0, (size_t)colon);
        sy_str_t value = sy_str_trim(sy_str_sub(h, (size_t)colon + 1, h.len));
        const sy_upstream_header_t *x = u->headers;
        while (x && !sy_str_ieq(x->name, name))
            x = x->next;
        if (sy_str_ieq_c(name, "content-type")) {
            sy_str_t ct = u->content_type.len ? u->content_type : SY_STR("application/json");
            if (!sy_str_eq(ct, value))
                FAILF("upstream_request: content type \"%.*s\", expected \"%.*s\"",
                      SY_STR_FMT(ct), SY_STR_FMT(value));
        } else if (x == NULL)
            FAILF("upstream_request: no header %.*s", SY_STR_FMT(name));
        else if (!sy_str_eq_c(value, "<any>") && !sy_str_eq(value, x->value))
            FAILF("upstream_request: header %.*s is \"%.*s\", expected \"%.*s\"", SY_STR_FMT(name),
                  SY_STR_FMT(x->value), SY_STR_FMT(value));
    }
    sy_str_t body = sy_str_trim(b);
    while (body.len && (body.p[0] == '\n' || body.p[0] == '\r'))
        body = sy_str_trim(sy_str_sub(body, 1, body.len));
    if (body.len == 0)
        return;
    if (parse_json(a, body) != NULL)
        check_json(a, "upstream_request body", body, u->body);
    else if (!sy_str_eq(sy_str_trim(body), sy_str_trim(u->body)))
        FAILF("upstream_request body: got %.*s", SY_STR_FMT(u->body));
}

/* One decode of a stream, with the body split into pieces. */
typedef struct {
    const sy_frontdoor_vt_t *fd;
    void *fst;             /* front door stream state (client asked to stream) */
    sy_ir_collector_t *col; /* otherwise */
    sy_ir_check_t check;
    sy_buf_t trace, client;
    sy_ir_usage_t usage;
    sy_ir_error_t error;
    sy_arena_t *arena;
    bool errored;
    int encode_rc;
} stream_run_t;

static int stream_cb(void *ctx, const sy_ir_delta_t *d)
{
    stream_run_t *r = ctx;
    sy_ir_check_delta(&r->check, d);
    trace_delta(&r->trace, d);
    if (d->kind == SY_IR_DELTA_START || d->kind == SY_IR_DELTA_USAGE)
        sy_ir_usage_merge(&r->usage, &d->usage);
    if (d->kind == SY_IR_DELTA_ERROR) {
        r->errored = true;
        r->error = d->error;
        r->error.message = sy_str_dup(r->arena, d->error.message);
        r->error.type = sy_str_dup(r->arena, d->error.type);
    }
    if (r->fst) {
        int rc = r->fd->stream_event(r->fst, d, &r->client);
        if (rc != SY_OK && r->encode_rc == SY_OK)
            r->encode_rc = rc;
    } else if (r->col) {
        sy_ir_collect(r->col, d);
    }
    return SY_OK;
}

/* mode: 0 whole, 1 one byte, 2..4 fixed pieces, 5.. pseudo-random pieces */
static size_t piece_size(int mode, uint64_t *seed, size_t left)
{
    static const size_t fixed[] = {0, 1, 2, 7, 64};
    size_t n;
    if (mode == 0)
        n = left;
    else if (mode < (int)SY_ARRAY_LEN(fixed))
        n = fixed[mode];
    else {
        *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
        n = 1 + (size_t)(*seed >> 33) % 97;
    }
    return SY_MIN(n, left);
}

#define STREAM_MODES 8

static void run_stream(stream_run_t *r, const sy_frontdoor_vt_t *fd, const sy_provider_vt_t *pv,
                       const sy_provider_ctx_t *cx, const sy_ir_request_t *req, sy_str_t body,
                       int mode)
{
    memset(r, 0, sizeof(*r));
    r->fd = fd;
    r->arena = sy_arena_new(0);
    sy_buf_init(&r->trace, 0);
    sy_buf_init(&r->client, 0);
    sy_ir_check_init(&r->check);
    if (req->stream)
        r->fst = fd->stream_new(r->arena, req);
    else
        r->col = sy_ir_collector_new(r->arena);
    void *st = pv->stream_new(r->arena, cx, req);
    uint64_t seed = 0x9e3779b97f4a7c15ULL * (uint64_t)((unsigned)mode + 1u);
    size_t pos = 0;
    int rc = SY_OK;
    while (pos < body.len && rc == SY_OK) {
        size_t n = piece_size(mode, &seed, body.len - pos);
        char *piece = malloc(n);
        memcpy(piece, body.p + pos, n);
        rc = pv->stream_feed(st, piece, n, stream_cb, r);
        free(piece);
        pos += n;
    }
    if (rc == SY_OK)
        pv->stream_end(st, stream_cb, r);
    if (sy_ir_check_end(&r->check) != SY_OK)
        FAILF("split mode %d: IR invariant broken: %s", mode, r->check.why);
    if (r->encode_rc != SY_OK)
        FAILF("split mode %d: front door stream encoder failed (%d)", mode, r->encode_rc);
    if (r->col) {
        if (r->errored) {
            fd->error_body(sy_ir_error_status(r->error.cls), NULL, sy_ir_error_code(&r->error),
                           sy_str_cdup(r->arena, r->error.message), &r->client);
        } else {
            const sy_ir_response_t *resp = sy_ir_collect_finish(r->col);
            if (fd->respond(r->arena, req, resp, &r->client) != SY_OK)
                FAILF("split mode %d: respond failed", mode);
        }
    }
}

/* Client bytes with the digits of every "created": value masked: front doors
 * stamp wall-clock time where the upstream format carries none, and two
 * runs may straddle a second. */
static void mask_created(sy_buf_t *b)
{
    static const char key[] = "\"created\":";
    char *p = b->data ? sy_buf_ptr(b) : NULL, *end = p + b->len;
    while (p && (p = memmem(p, (size_t)(end - p), key, sizeof(key) - 1)) != NULL) {
        p += sizeof(key) - 1;
        while (p < end && *p >= '0' && *p <= '9')
            *p++ = '#';
    }
}

static void free_run(stream_run_t *r)
{
    sy_buf_free(&r->trace);
    sy_buf_free(&r->client);
    sy_arena_free(r->arena);
}

static void run_case(const char *path)
{
    size_t len = 0;
    char *text = read_file(path, &len);
    if (text == NULL) {
        FAILF("cannot read the case file");
        return;
    }
    case_t c;
    sy_arena_t *a = sy_arena_new(0);
    sy_buf_t out;
    sy_buf_init(&out, 0);
    if (parse_case(&c, text, len) != 0) {
        FAILF("too many sections");
        goto out;
    }
    const section_t *s_fd = section(&c, "frontdoor"), *s_pv = section(&c, "provider");
    const section_t *s_req = section(&c, "client_request");
    if (s_fd == NULL || s_req == NULL) {
        FAILF("a case needs `--- frontdoor NAME` and `--- client_request`");
        goto out;
    }
    const sy_frontdoor_vt_t *fd = sy_frontdoor_find(s_fd->args);
    if (fd == NULL) {
        FAILF("no front door named \"%.*s\" is registered", SY_STR_FMT(s_fd->args));
        goto out;
    }

    /* 1. front door parse */
    sy_ir_request_t req;
    memset(&req, 0, sizeof(req));
    int status = 0;
    const char *message = NULL;
    sy_str_t client_body = body_of(a, s_req);
    int rc = fd->parse(a, client_body, &req, &status, &message);
    /* the gateway's request id, as api/proxy.c sets it: here the case's
     * name, so ids a front door derives from it are the same on every run */
    sy_str_t case_name = sy_str_c(cur_case);
    if (sy_str_ends_with(case_name, SY_STR(".case")))
        case_name.len -= 5;
    req.request_id = case_name;
    const section_t *s_cerr = section(&c, "client_error");
    if (s_cerr) {
        uint64_t want = 400;
        arg_u64(s_cerr, "status", &want);
        if (rc == SY_OK) {
            FAILF("client_error: the request was accepted");
            goto out;
        }
        if ((uint64_t)status != want)
            FAILF("client_error: status %d, expected %llu", status, (unsigned long long)want);
        fd->error_body(status, NULL, NULL, message ? message : "", &out);
        if (dump)
            printf("client_error %d: %.*s\n", status, SY_STR_FMT(bstr(&out)));
        check_json(a, "client_error", body_of(a, s_cerr), bstr(&out));
        goto out;
    }
    if (rc != SY_OK) {
        FAILF("parse failed: %d %s", status, message ? message : "(no message)");
        goto out;
    }
    if (s_pv == NULL) {
        FAILF("a case needs `--- provider KIND` unless it expects a client_error");
        goto out;
    }
    const sy_provider_vt_t *pv = sy_provider_find(s_pv->args);
    if (pv == NULL) {
        FAILF("no provider adapter of kind \"%.*s\" is registered", SY_STR_FMT(s_pv->args));
        goto out;
    }

    /* 2. provider encode */
    sy_provider_ctx_t cx;
    load_ctx(a, section(&c, "ctx"), &req, &cx);
    sy_upstream_req_t ureq;
    memset(&ureq, 0, sizeof(ureq));
    sy_ir_error_t err;
    memset(&err, 0, sizeof(err));
    rc = pv->encode(a, &cx, &req, &ureq, &err);
    /* An encoder may first write into room of about the client's body's
     * size (cx.body_hint, as api/proxy.c sets it), and again into a growing
     * buffer when that is too small: the same request either way. */
    for (int k = 0; k < 2; k++) {
        sy_provider_ctx_t hx = cx;
        hx.body_hint = k ? client_body.len : 1;
        sy_upstream_req_t hreq;
        memset(&hreq, 0, sizeof(hreq));
        sy_ir_error_t herr;
        memset(&herr, 0, sizeof(herr));
        int hrc = pv->encode(a, &hx, &req, &hreq, &herr);
        if (hrc != rc || (rc == SY_OK && !sy_str_eq(hreq.body, ureq.body)))
            FAILF("encode with body_hint %zu differs from without", hx.body_hint);
    }
    if (dump && rc == SY_OK) {
        printf("upstream_request: %s %.*s%s\n", ureq.method, SY_STR_FMT(ureq.path),
               ureq.stream ? " (stream)" : "");
        for (const sy_upstream_header_t *h = ureq.headers; h; h = h->next)
            printf("  %.*s: %.*s\n", SY_STR_FMT(h->name), SY_STR_FMT(h->value));
        printf("%.*s\n", SY_STR_FMT(ureq.body));
    }
    const section_t *s_encerr = section(&c, "encode_error");
    if (s_encerr) {
        if (rc == SY_OK) {
            FAILF("encode_error: the request was encoded");
            goto out;
        }
        check_error(s_encerr, &err);
        fd->error_body(sy_ir_error_status(err.cls), NULL, sy_ir_error_code(&err),
                       sy_str_cdup(a, err.message), &out);
        if (section(&c, "client_response"))
            check_client(a, section(&c, "client_response"), bstr(&out));
        goto out;
    }
    if (rc != SY_OK) {
        FAILF("encode failed: %s: %.*s", sy_ir_error_class_name(err.cls),
              SY_STR_FMT(err.message));
        goto out;
    }
    if (section(&c, "upstream_request"))
        check_upstream_request(a, section(&c, "upstream_request"), &ureq);

    /* 3. the upstream's answer */
    const section_t *s_resp = section(&c, "upstream_response");
    if (s_resp == NULL)
        goto out;
    uint64_t ustatus = 200;
    arg_u64(s_resp, "status", &ustatus);
    sy_str_t ubody = body_of(a, s_resp);
    const section_t *s_client = section(&c, "client_response");
    const section_t *s_err = section(&c, "error");
    sy_ir_usage_t usage;
    memset(&usage, 0, sizeof(usage));

    if (ustatus < 200 || ustatus > 299) {
        sy_http_header_t hs[MAX_HEADERS];
        size_t nh = 0;
        const section_t *s_h = section(&c, "upstream_headers");
        sy_str_t hb = s_h ? s_h->body : SY_STR("");
        while (hb.len && nh < MAX_HEADERS) {
            ptrdiff_t nl = sy_str_find_char(hb, '\n');
            sy_str_t line = sy_str_trim(nl < 0 ? hb : sy_str_sub(hb, 0, (size_t)nl));
            hb = nl < 0 ? SY_STR("") : sy_str_sub(hb, (size_t)nl + 1, hb.len);
            ptrdiff_t colon = sy_str_find_char(line, ':');
            if (colon > 0) {
                hs[nh].name = sy_str_sub(line, 0, (size_t)colon);
                hs[nh].value = sy_str_trim(sy_str_sub(line, (size_t)colon + 1, line.len));
                nh++;
            }
        }
        memset(&err, 0, sizeof(err));
        pv->map_error((int)ustatus, hs, nh, ubody, &err);
        if (dump)
            printf("error: %s status=%d retry_after_ms=%llu type=%.*s: %.*s\n",
                   sy_ir_error_class_name(err.cls), err.status,
                   (unsigned long long)err.retry_after_ms, SY_STR_FMT(err.type),
                   SY_STR_FMT(err.message));
        if (err.cls == SY_IR_ERR_NONE)
            FAILF("map_error left the class unset");
        check_error(s_err, &err);
        fd->error_body(sy_ir_error_status(err.cls), NULL, sy_ir_error_code(&err),
                       sy_str_cdup(a, err.message), &out);
        if (dump)
            printf("client_response:\n%.*s\n", SY_STR_FMT(bstr(&out)));
        if (s_client)
            check_client(a, s_client, bstr(&out));
        goto out;
    }

    if (ureq.stream) {
        stream_run_t ref;
        run_stream(&ref, fd, pv, &cx, &req, ubody, 0);
        for (int mode = 1; mode < STREAM_MODES; mode++) {
            stream_run_t r;
            run_stream(&r, fd, pv, &cx, &req, ubody, mode);
            if (!sy_str_eq(bstr(&r.trace), bstr(&ref.trace)))
                FAILF("split mode %d gives other deltas than the whole body:\n%.*s\nvs\n%.*s",
                      mode, SY_STR_FMT(bstr(&r.trace)), SY_STR_FMT(bstr(&ref.trace)));
            else {
                sy_buf_t x, y;
                sy_buf_init(&x, 0);
                sy_buf_init(&y, 0);
                sy_buf_append_str(&x, bstr(&r.client));
                sy_buf_append_str(&y, bstr(&ref.client));
                mask_created(&x);
                mask_created(&y);
                if (!sy_str_eq(bstr(&x), bstr(&y)))
                    FAILF("split mode %d gives other client bytes than the whole body", mode);
                sy_buf_free(&x);
                sy_buf_free(&y);
            }
            free_run(&r);
        }
        if (dump)
            printf("deltas:\n%.*sclient_response:\n%.*s\n", SY_STR_FMT(bstr(&ref.trace)),
                   SY_STR_FMT(bstr(&ref.client)));
        if (section(&c, "deltas"))
            check_lines("deltas", section(&c, "deltas")->body, bstr(&ref.trace));
        if (s_err) {
            if (!ref.errored)
                FAILF("error: the stream did not fail");
            else
                check_error(s_err, &ref.error);
        } else if (ref.errored) {
            FAILF("the stream failed: %s: %.*s", sy_ir_error_class_name(ref.error.cls),
                  SY_STR_FMT(ref.error.message));
        }
        if (s_client)
            check_client(a, s_client, sy_str_dup(a, bstr(&ref.client)));
        usage = ref.usage;
        free_run(&ref);
    } else {
        sy_ir_response_t resp;
        memset(&resp, 0, sizeof(resp));
        memset(&err, 0, sizeof(err));
        rc = pv->decode(a, &cx, ubody, &resp, &err);
        if (rc != SY_OK) {
            if (dump)
                printf("decode error: %s: %.*s\n", sy_ir_error_class_name(err.cls),
                       SY_STR_FMT(err.message));
            if (s_err == NULL) {
                FAILF("decode failed: %s: %.*s", sy_ir_error_class_name(err.cls),
                      SY_STR_FMT(err.message));
                goto out;
            }
            check_error(s_err, &err);
            fd->error_body(sy_ir_error_status(err.cls), NULL, sy_ir_error_code(&err),
                       sy_str_cdup(a, err.message), &out);
        } else {
            const char *why;
            if (s_err)
                FAILF("error: the body decoded without error");
            if (sy_ir_check_response(&resp, &why) != SY_OK)
                FAILF("decoded response breaks the IR rules: %s", why);
            if (req.stream) {
                FAILF("the client asked for a stream but the upstream request is not streamed");
                goto out;
            }
            if (fd->respond(a, &req, &resp, &out) != SY_OK)
                FAILF("respond failed");
            usage = resp.usage;
        }
        if (dump)
            printf("client_response:\n%.*s\n", SY_STR_FMT(bstr(&out)));
        if (s_client)
            check_client(a, s_client, bstr(&out));
    }
    check_usage(section(&c, "usage"), &usage);
out:
    sy_buf_free(&out);
    sy_arena_free(a);
    free(text);
}

static int cmp_names(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

int main(int argc, char **argv)
{
    const char *env = getenv("SY_ROOT");
    if (env && *env)
        root = env;
    dump = getenv("SY_TRANSLATE_DUMP") != NULL;
    const char *filter = argc > 1 ? argv[1] : NULL;
    char dirpath[4096];
    snprintf(dirpath, sizeof(dirpath), "%s/%s", root, CASE_DIR);
    DIR *d = opendir(dirpath);
    if (d == NULL) {
        fprintf(stderr, "cannot open %s\n", dirpath);
        return 1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".case") != 0)
            continue;
        if (filter && strstr(e->d_name, filter) == NULL)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof(*names));
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++) {
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", dirpath, names[i]);
        cur_case = names[i];
        unit_cur_failed = 0;
        run_case(path);
        if (unit_cur_failed) {
            unit_failed++;
            printf("FAIL %s\n", names[i]);
        } else {
            unit_passed++;
            printf("ok   %s\n", names[i]);
        }
        fflush(stdout);
        free(names[i]);
    }
    free(names);
    return unit_done();
}
