/*
 * provider_test.h - helpers for adapter-level unit tests (test_gemini.c,
 * test_bedrock.c): reading recordings from tests/data/transcripts, putting
 * SSE framing back on vercel-ai *.chunks.txt files, feeding a stream
 * decoder with the bytes split in several ways, and recording the deltas as
 * a text trace (every delta checked against the IR invariants of
 * ir/check.h, and collected into a whole response).
 */
#ifndef SY_PROVIDER_TEST_H
#define SY_PROVIDER_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "ir/check.h"
#include "ir/ir.h"
#include "json/json.h"
#include "providers/provider.h"
#include "unit.h"

/* ---- building requests ---- */

static inline sy_ir_part_t text_part(const char *t)
{
    sy_ir_part_t p;
    memset(&p, 0, sizeof(p));
    p.kind = SY_IR_TEXT;
    p.text = sy_str_c(t);
    return p;
}

static inline sy_ir_message_t msg(sy_ir_role_t role, sy_ir_part_t *parts, size_t n)
{
    sy_ir_message_t m;
    memset(&m, 0, sizeof(m));
    m.role = role;
    m.parts = parts;
    m.nparts = n;
    return m;
}

/* `s` parsed as JSON into `a` (NULL when it does not parse). */
static inline sy_json_t *parse(sy_arena_t *a, const char *s)
{
    sy_json_t *v = NULL;
    sy_json_parse(a, s, strlen(s), NULL, &v, NULL);
    return v;
}

/* ---- files ---- */

typedef struct {
    char *p;
    size_t len;
} td_file_t;

static inline td_file_t td_read(const char *rel)
{
    td_file_t f = {NULL, 0};
    char path[1024];
    const char *root = getenv("SY_ROOT");
    snprintf(path, sizeof(path), "%s/tests/data/transcripts/%s", root ? root : ".", rel);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "  cannot open %s (set SY_ROOT)\n", path);
        return f;
    }
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    f.p = malloc((size_t)n + 1);
    f.len = fread(f.p, 1, (size_t)n, fp);
    f.p[f.len] = '\0';
    fclose(fp);
    return f;
}

/* vercel-ai *.chunks.txt: one JSON value per line; the wire had
 * "data: <line>\n\n" per event. */
static inline td_file_t td_sse_from_chunks(const char *rel)
{
    td_file_t in = td_read(rel), out = {NULL, 0};
    if (!in.p)
        return out;
    out.p = malloc(in.len * 2 + 64);
    size_t o = 0;
    const char *p = in.p, *end = in.p + in.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (le > p) {
            memcpy(out.p + o, "data: ", 6);
            o += 6;
            memcpy(out.p + o, p, (size_t)(le - p));
            o += (size_t)(le - p);
            memcpy(out.p + o, "\n\n", 2);
            o += 2;
        }
        p = nl ? nl + 1 : end;
    }
    out.len = o;
    out.p[o] = '\0';
    free(in.p);
    return out;
}

static inline void td_free(td_file_t *f)
{
    free(f->p);
    f->p = NULL;
    f->len = 0;
}

/* ---- traces ---- */

typedef struct {
    sy_buf_t text;       /* one line per delta */
    sy_ir_check_t check; /* invariants */
    bool check_failed;
    sy_arena_t *arena;
    sy_ir_collector_t *coll;
    int deltas;
    int errors;
    sy_ir_error_t last_error; /* views copied into arena */
} trace_t;

static inline void trace_init(trace_t *t)
{
    memset(t, 0, sizeof(*t));
    sy_buf_init(&t->text, 0);
    sy_ir_check_init(&t->check);
    t->arena = sy_arena_new(0);
    t->coll = sy_ir_collector_new(t->arena);
}

static inline void trace_free(trace_t *t)
{
    sy_buf_free(&t->text);
    sy_arena_free(t->arena);
}

static inline void trace_str(sy_buf_t *b, sy_str_t s)
{
    sy_buf_append_c(b, "\"");
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (c == '\n')
            sy_buf_append_c(b, "\\n");
        else if (c == '"')
            sy_buf_append_c(b, "\\\"");
        else if (c == '\\')
            sy_buf_append_c(b, "\\\\");
        else
            sy_buf_append(b, &c, 1);
    }
    sy_buf_append_c(b, "\"");
}

static const char *const trace_kinds[] = {"TEXT", "IMAGE", "TOOL_CALL", "TOOL_RESULT", "THINKING",
                                          "REDACTED"};

static inline int trace_cb(void *ctx, const sy_ir_delta_t *d)
{
    trace_t *t = ctx;
    sy_buf_t *b = &t->text;
    t->deltas++;
    if (sy_ir_check_delta(&t->check, d) != SY_OK && !t->check_failed) {
        t->check_failed = true;
        fprintf(stderr, "  invariant broken: %s\n", t->check.why);
    }
    switch (d->kind) {
    case SY_IR_DELTA_START:
        sy_buf_printf(b, "START id=%.*s model=%.*s\n", SY_STR_FMT(d->id), SY_STR_FMT(d->model));
        break;
    case SY_IR_DELTA_BLOCK_START:
        sy_buf_printf(b, "BLOCK_START %u %s", d->index, trace_kinds[d->block]);
        if (d->block == SY_IR_TOOL_CALL)
            sy_buf_printf(b, " %.*s %.*s", SY_STR_FMT(d->id), SY_STR_FMT(d->name));
        if (d->text.len) {
            sy_buf_append_c(b, " ");
            trace_str(b, d->text);
        }
        sy_buf_append_c(b, "\n");
        break;
    case SY_IR_DELTA_TEXT:
    case SY_IR_DELTA_THINKING:
    case SY_IR_DELTA_SIGNATURE:
    case SY_IR_DELTA_TOOL_ARGS: {
        static const char *const n[] = {"", "", "TEXT", "THINKING", "SIGNATURE", "ARGS"};
        sy_buf_printf(b, "%s %u ", n[d->kind], d->index);
        trace_str(b, d->text);
        sy_buf_append_c(b, "\n");
        break;
    }
    case SY_IR_DELTA_BLOCK_STOP:
        sy_buf_printf(b, "BLOCK_STOP %u\n", d->index);
        break;
    case SY_IR_DELTA_USAGE:
        sy_buf_append_c(b, "USAGE");
        if (d->usage.has_input)
            sy_buf_printf(b, " in=%llu", (unsigned long long)d->usage.input);
        if (d->usage.has_output)
            sy_buf_printf(b, " out=%llu", (unsigned long long)d->usage.output);
        if (d->usage.has_cached_input)
            sy_buf_printf(b, " cached=%llu", (unsigned long long)d->usage.cached_input);
        if (d->usage.has_cache_write)
            sy_buf_printf(b, " write=%llu", (unsigned long long)d->usage.cache_write);
        if (d->usage.has_reasoning)
            sy_buf_printf(b, " reasoning=%llu", (unsigned long long)d->usage.reasoning);
        sy_buf_append_c(b, "\n");
        break;
    case SY_IR_DELTA_FINISH:
        sy_buf_printf(b, "FINISH %s", sy_ir_finish_name(d->finish));
        if (d->stop_sequence.len) {
            sy_buf_append_c(b, " ");
            trace_str(b, d->stop_sequence);
        }
        sy_buf_append_c(b, "\n");
        break;
    case SY_IR_DELTA_END:
        sy_buf_append_c(b, "END\n");
        break;
    case SY_IR_DELTA_ERROR:
        t->errors++;
        t->last_error = d->error;
        t->last_error.message = sy_str_dup(t->arena, d->error.message);
        t->last_error.type = sy_str_dup(t->arena, d->error.type);
        sy_buf_printf(b, "ERROR %s %d %.*s ", sy_ir_error_class_name(d->error.cls), d->error.status,
                      SY_STR_FMT(d->error.type));
        trace_str(b, d->error.message);
        sy_buf_append_c(b, "\n");
        break;
    }
    sy_ir_collect(t->coll, d);
    return SY_OK;
}

/* Does the trace contain this line (or line prefix)? */
static inline bool trace_has(const trace_t *t, const char *needle)
{
    sy_str_t s = sy_buf_str(&t->text);
    return sy_str_find(s, sy_str_c(needle)) >= 0;
}

/* ---- feeding a stream decoder ---- */

enum { SPLIT_WHOLE, SPLIT_BYTES, SPLIT_RANDOM };

static uint64_t td_rand_state = 0x9e3779b97f4a7c15ull;
static inline uint64_t td_rand(void)
{
    td_rand_state ^= td_rand_state << 13;
    td_rand_state ^= td_rand_state >> 7;
    td_rand_state ^= td_rand_state << 17;
    return td_rand_state;
}

/* Run the adapter's stream decoder over data, split as asked; the trace
 * gets every delta. Returns the last rc of feed/end. */
static inline int run_stream(const sy_provider_vt_t *vt, const sy_provider_ctx_t *cx,
                      const sy_ir_request_t *req, const char *data, size_t len, int split,
                      trace_t *t)
{
    sy_arena_t *a = sy_arena_new(0);
    void *st = vt->stream_new(a, cx, req);
    int rc = SY_OK;
    size_t off = 0;
    /* copy each piece into its own buffer, as a socket read would */
    while (off < len && rc == SY_OK) {
        size_t n = len - off;
        if (split == SPLIT_BYTES)
            n = 1;
        else if (split == SPLIT_RANDOM)
            n = 1 + (size_t)(td_rand() % 64);
        if (n > len - off)
            n = len - off;
        char *piece = malloc(n);
        memcpy(piece, data + off, n);
        rc = vt->stream_feed(st, piece, n, trace_cb, t);
        free(piece);
        off += n;
    }
    if (rc == SY_OK)
        rc = vt->stream_end(st, trace_cb, t);
    sy_arena_free(a);
    if (sy_ir_check_end(&t->check) != SY_OK && !t->check_failed) {
        t->check_failed = true;
        fprintf(stderr, "  invariant broken at the end: %s\n", t->check.why);
    }
    return rc;
}

/* Run the three split modes; check they give the same trace; keep the
 * whole-feed trace in *t (caller frees). */
static inline int run_stream_splits(const sy_provider_vt_t *vt, const sy_provider_ctx_t *cx,
                             const sy_ir_request_t *req, const char *data, size_t len, trace_t *t)
{
    trace_init(t);
    int rc = run_stream(vt, cx, req, data, len, SPLIT_WHOLE, t);
    for (int mode = SPLIT_BYTES; mode <= SPLIT_RANDOM; mode++) {
        trace_t u;
        trace_init(&u);
        run_stream(vt, cx, req, data, len, mode, &u);
        if (!sy_str_eq(sy_buf_str(&t->text), sy_buf_str(&u.text))) {
            fprintf(stderr, "  split mode %d gave another trace:\n%.*s\n--- vs whole:\n%.*s\n", mode,
                    SY_STR_FMT(sy_buf_str(&u.text)), SY_STR_FMT(sy_buf_str(&t->text)));
            t->check_failed = true;
        }
        if (u.check_failed)
            t->check_failed = true;
        trace_free(&u);
    }
    return rc;
}

/* Decode a recording as a stream (run_stream_splits) for a client that
 * asked to stream, then free it. A recording that could not be read, or
 * whose deltas broke an invariant or differed between splits, fails the
 * test. */
static inline void run_stream_file(const sy_provider_vt_t *vt, const sy_provider_ctx_t *cx,
                                   td_file_t f, trace_t *t)
{
    CHECK(f.p != NULL);
    sy_ir_request_t req;
    memset(&req, 0, sizeof(req));
    req.stream = true;
    run_stream_splits(vt, cx, &req, f.p ? f.p : "", f.len, t);
    CHECK(!t->check_failed);
    td_free(&f);
}

/* The collected response of a trace. */
static inline const sy_ir_response_t *trace_response(trace_t *t)
{
    return sy_ir_collect_finish(t->coll);
}

/* Compare JSON text with the expected JSON text structurally (key order
 * included) and print both on mismatch. */
static inline bool json_same(sy_str_t got, const char *want)
{
    sy_arena_t *a = sy_arena_new(0);
    sy_json_t *g = NULL, *w = NULL;
    bool ok = sy_json_parse(a, got.p, got.len, NULL, &g, NULL) == SY_OK &&
              sy_json_parse(a, want, strlen(want), NULL, &w, NULL) == SY_OK && sy_json_equal(g, w);
    if (!ok) {
        sy_buf_t b;
        sy_buf_init(&b, 0);
        if (w)
            sy_json_serialize(w, &b, 0);
        fprintf(stderr, "  JSON differs:\n   got:  %.*s\n   want: %.*s\n", SY_STR_FMT(got),
                SY_STR_FMT(sy_buf_str(&b)));
        sy_buf_free(&b);
    }
    sy_arena_free(a);
    return ok;
}

#define CHECK_JSON(got, want) CHECK(json_same((got), (want)))

/* The value at a dotted path of a JSON text, serialized, into buf. */
static inline sy_str_t json_at(sy_arena_t *a, sy_str_t text, const char *path)
{
    sy_json_t *root = NULL;
    if (sy_json_parse(a, text.p, text.len, NULL, &root, NULL) != SY_OK)
        return SY_STR("<invalid>");
    sy_json_t *v = sy_json_path(root, path);
    if (!v)
        return SY_STR("<missing>");
    sy_buf_t b;
    sy_buf_init(&b, 0);
    sy_json_serialize(v, &b, 0);
    sy_str_t s = sy_str_dup(a, sy_buf_str(&b));
    sy_buf_free(&b);
    return s;
}

#endif
