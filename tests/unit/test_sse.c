/*
 * test_sse.c - the SSE reader and writer (src/http/sse.c).
 *
 * Every input is read in one shot, a byte at a time and split at every
 * single position; all feeds must give the same events and verdict. The
 * real provider recordings in tests/data/transcripts are read the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include "unit.h"
#include "http/sse.h"

/* Collected events, serialised as "event|data|id|retry|c\n" lines. */
typedef struct {
    sy_buf_t out;
    int rc;       /* final verdict: SY_EAGAIN (clean end or pending) or an error */
    int events;
    bool pending;
    bool zero_copy_seen; /* an event's data pointed into the caller's input */
} run_t;

static void record(run_t *r, const sy_sse_event_t *ev)
{
    sy_buf_printf(&r->out, "%.*s|%.*s|%.*s|%lld|%d\n", SY_STR_FMT(ev->event), SY_STR_FMT(ev->data),
                  SY_STR_FMT(ev->id), (long long)ev->retry, ev->comment ? 1 : 0);
    r->events++;
}

/* Feed src in pieces: piece 0 = one shot; else `piece` bytes per call, with
 * the first call cut at `first` bytes when first > 0. Each piece is copied
 * into a fresh heap block that is freed after the call, so a reader that
 * kept a view into old input trips ASan. */
static run_t run(const char *src, size_t len, size_t piece, size_t first, size_t max_line,
                 size_t max_data, unsigned flags)
{
    run_t r;
    memset(&r, 0, sizeof(r));
    sy_buf_init(&r.out, 0);
    sy_buf_t asm_buf;
    sy_buf_init(&asm_buf, 0);
    sy_sse_reader_t rd;
    sy_sse_reader_init(&rd, &asm_buf, max_line, max_data, flags);
    size_t pos = 0;
    r.rc = SY_EAGAIN;
    while (pos < len && r.rc == SY_EAGAIN) {
        size_t n = len - pos;
        if (first && pos == 0)
            n = SY_MIN(n, first);
        else if (piece)
            n = SY_MIN(n, piece);
        char *chunk = malloc(n);
        memcpy(chunk, src + pos, n);
        size_t off = 0;
        for (;;) {
            size_t used = 0;
            sy_sse_event_t ev;
            int rc = sy_sse_next(&rd, chunk + off, n - off, &used, &ev);
            off += used;
            if (rc == SY_OK) {
                if (ev.data.len && ev.data.p >= chunk && ev.data.p < chunk + n)
                    r.zero_copy_seen = true;
                record(&r, &ev);
                continue;
            }
            r.rc = rc;
            break;
        }
        free(chunk);
        pos += n;
    }
    r.pending = sy_sse_pending(&rd);
    if (r.rc == SY_EAGAIN) {
        sy_sse_event_t ev;
        int rc;
        while ((rc = sy_sse_finish(&rd, &ev)) == SY_OK) {
            sy_buf_append_c(&r.out, "EOF:");
            record(&r, &ev);
        }
        if (rc != SY_EAGAIN)
            r.rc = rc;
    }
    sy_buf_free(&asm_buf);
    return r;
}

/* The one-shot result must equal the byte-at-a-time one and each 2-way
 * split's; returns the one-shot run (caller frees out). */
static run_t run_all(const char *src, size_t len, size_t max_line, size_t max_data, unsigned flags)
{
    run_t ref = run(src, len, 0, 0, max_line, max_data, flags);
    run_t one = run(src, len, 1, 0, max_line, max_data, flags);
    CHECK_INT(one.rc, ref.rc);
    CHECK(one.pending == ref.pending || ref.rc != SY_EAGAIN);
    if (!sy_str_eq(sy_buf_str(&one.out), sy_buf_str(&ref.out))) {
        fprintf(stderr, "  byte-at-a-time differs:\n%.*s---\n%.*s\n",
                SY_STR_FMT(sy_buf_str(&one.out)), SY_STR_FMT(sy_buf_str(&ref.out)));
        unit_cur_failed++;
    }
    sy_buf_free(&one.out);
    size_t step = len > 400 ? len / 97 + 1 : 1; /* long recordings: a sample of cut points */
    for (size_t cut = 1; cut < len; cut += step) {
        run_t two = run(src, len, 0, cut, max_line, max_data, flags);
        if (two.rc != ref.rc || !sy_str_eq(sy_buf_str(&two.out), sy_buf_str(&ref.out))) {
            fprintf(stderr, "  split at %zu differs\n", cut);
            unit_cur_failed++;
            sy_buf_free(&two.out);
            break;
        }
        sy_buf_free(&two.out);
    }
    return ref;
}

#define EXPECT_EVENTS(src, expected)                                                               \
    do {                                                                                           \
        run_t r_ = run_all(src, sizeof(src) - 1, 0, 0, 0);                                         \
        CHECK_MEM(sy_buf_ptr(&r_.out), r_.out.len, expected);                                      \
        sy_buf_free(&r_.out);                                                                      \
    } while (0)

static void test_basic(void)
{
    EXPECT_EVENTS("event: message_start\ndata: {\"a\":1}\n\n", "message_start|{\"a\":1}||-1|0\n");
    EXPECT_EVENTS("data: hello\n\ndata: world\n\n", "|hello||-1|0\n|world||-1|0\n");
    /* no space after the colon (agentgateway's glm recording), and two spaces keep one */
    EXPECT_EVENTS("event:message_start\ndata:{}\n\n", "message_start|{}||-1|0\n");
    EXPECT_EVENTS("data:  x\n\n", "| x||-1|0\n");
    /* multi-line data joins with LF */
    EXPECT_EVENTS("data: a\ndata: b\ndata:\ndata: c\n\n", "|a\nb\n\nc||-1|0\n");
    /* the event type resets after each event */
    EXPECT_EVENTS("event: x\ndata: 1\n\ndata: 2\n\n", "x|1||-1|0\n|2||-1|0\n");
}

static void test_line_ends(void)
{
    EXPECT_EVENTS("data: a\r\ndata: b\r\n\r\n", "|a\nb||-1|0\n");
    EXPECT_EVENTS("data: a\rdata: b\r\r", "|a\nb||-1|0\n");
    EXPECT_EVENTS("data: a\r\n\rdata: b\n\r\n", "|a||-1|0\n|b||-1|0\n");
    /* CR CR LF is two line ends: a blank line, so the event ends there */
    EXPECT_EVENTS("data: a\r\r\ndata: b\n\n", "|a||-1|0\n|b||-1|0\n");
}

static void test_fields(void)
{
    /* comments, unknown fields, lines without a colon are ignored */
    EXPECT_EVENTS(": OPENROUTER PROCESSING\n\n: keepalive\ndata: x\nfoo: bar\nnocolon\n\n",
                  "|x||-1|0\n");
    /* a blank line without data lines dispatches nothing and resets the type */
    EXPECT_EVENTS("event: ping\n\ndata: y\n\n", "|y||-1|0\n");
    /* "data" alone is an empty data line; an event with empty data still dispatches */
    EXPECT_EVENTS("data\n\n", "|||-1|0\n");
    EXPECT_EVENTS("data:\n\n", "|||-1|0\n");
    /* id persists; id with NUL ignored; empty id resets */
    EXPECT_EVENTS("id: 7\ndata: a\n\ndata: b\n\nid: x\0y\ndata: c\n\nid\ndata: d\n\n",
                  "|a|7|-1|0\n|b|7|-1|0\n|c|7|-1|0\n|d||-1|0\n");
    /* retry: digits only, reported once */
    EXPECT_EVENTS("retry: 3000\ndata: a\n\nretry: 12x\ndata: b\n\n", "|a||3000|0\n|b||-1|0\n");
    /* a leading BOM is skipped, only once */
    EXPECT_EVENTS("\xEF\xBB\xBF" "data: a\n\n", "|a||-1|0\n");
    EXPECT_EVENTS("\xEF\xBB\xBF\xEF\xBB\xBF" "data: a\n\n", ""); /* 2nd BOM: part of a field name */
    EXPECT_EVENTS("\xEF\xBB" "data: a\n\ndata: b\n\n", "|b||-1|0\n");
}

static void test_comments_reported(void)
{
    const char src[] = ": ping\ndata: a\n:x\ndata: b\n\n";
    run_t r = run_all(src, sizeof(src) - 1, 0, 0, SY_SSE_COMMENTS);
    CHECK_MEM(sy_buf_ptr(&r.out), r.out.len, "|ping||-1|1\n|x||-1|1\n|a\nb||-1|0\n");
    sy_buf_free(&r.out);
    /* a comment between two data lines of one event, the first line a view */
    const char src2[] = "data: one\n: c\n\n";
    r = run_all(src2, sizeof(src2) - 1, 0, 0, SY_SSE_COMMENTS);
    CHECK_MEM(sy_buf_ptr(&r.out), r.out.len, "|c||-1|1\n|one||-1|0\n");
    sy_buf_free(&r.out);
}

static void test_pending_and_zero_copy(void)
{
    const char a[] = "data: x\n\ndata: cut";
    run_t r = run_all(a, sizeof(a) - 1, 0, 0, 0);
    CHECK(r.pending);
    CHECK_INT(r.events, 2);
    CHECK_MEM(sy_buf_ptr(&r.out), r.out.len, "|x||-1|0\nEOF:|cut||-1|0\n");
    CHECK(r.zero_copy_seen);
    sy_buf_free(&r.out);
    const char b[] = "data: x\n\n";
    r = run(b, sizeof(b) - 1, 0, 0, 0, 0, 0);
    CHECK(!r.pending);
    CHECK(r.zero_copy_seen);
    sy_buf_free(&r.out);
    /* two data lines are assembled, not zero-copy */
    const char c[] = "data: x\ndata: y\n\n";
    r = run(c, sizeof(c) - 1, 0, 0, 0, 0, 0);
    CHECK(!r.zero_copy_seen && r.events == 1);
    sy_buf_free(&r.out);
}

static void test_caps(void)
{
    /* line cap: 16 bytes */
    const char ok[] = "data: 0123456789\n\n"; /* 16 bytes */
    run_t r = run_all(ok, sizeof(ok) - 1, 16, 0, 0);
    CHECK_INT(r.events, 1);
    sy_buf_free(&r.out);
    const char big[] = "data: 01234567890\n\n";
    r = run_all(big, sizeof(big) - 1, 16, 0, 0);
    CHECK_INT(r.rc, SY_ETOOBIG);
    CHECK_INT(r.events, 0);
    sy_buf_free(&r.out);
    /* an unterminated long line fails as soon as it passes the cap */
    char endless[200];
    memcpy(endless, "data: ", 6);
    memset(endless + 6, 'x', sizeof(endless) - 6);
    r = run_all(endless, sizeof(endless), 64, 0, 0);
    CHECK_INT(r.rc, SY_ETOOBIG);
    sy_buf_free(&r.out);
    /* data cap: 5 bytes joined ("ab\ncd" is 5; "ab\ncde" is 6) */
    const char d1[] = "data: ab\ndata: cd\n\n";
    r = run_all(d1, sizeof(d1) - 1, 0, 5, 0);
    CHECK_INT(r.events, 1);
    sy_buf_free(&r.out);
    const char d2[] = "data: ab\ndata: cde\n\n";
    r = run_all(d2, sizeof(d2) - 1, 0, 5, 0);
    CHECK_INT(r.rc, SY_ETOOBIG);
    sy_buf_free(&r.out);
    /* event type and id caps */
    char ev[SY_SSE_MAX_EVENT + 20];
    int n = snprintf(ev, sizeof(ev), "event: %0*d\ndata: 1\n\n", SY_SSE_MAX_EVENT + 1, 0);
    r = run_all(ev, (size_t)n, 0, 0, 0);
    CHECK_INT(r.rc, SY_ETOOBIG);
    sy_buf_free(&r.out);
    /* errors are sticky */
    sy_buf_t b;
    sy_buf_init(&b, 0);
    sy_sse_reader_t rd;
    sy_sse_reader_init(&rd, &b, 8, 0, 0);
    size_t used;
    sy_sse_event_t e;
    CHECK_INT(sy_sse_next(&rd, "data: 123456789\n\n", 17, &used, &e), SY_ETOOBIG);
    CHECK(rd.error != NULL);
    CHECK_INT(sy_sse_next(&rd, "data: 1\n\n", 9, &used, &e), SY_ETOOBIG);
    CHECK_INT(used, 0);
    sy_buf_free(&b);
    /* the caller's buffer cap applies too */
    sy_buf_init(&b, 8);
    sy_sse_reader_init(&rd, &b, 0, 0, 0);
    CHECK_INT(sy_sse_next(&rd, "data: 12345678901234", 20, &used, &e), SY_ETOOBIG);
    sy_buf_free(&b);
}

static void test_writer(void)
{
    sy_buf_t b;
    sy_buf_init(&b, 0);
    CHECK_INT(sy_sse_write(&b, SY_STR("message_start"), SY_STR("{\"a\":1}")), SY_OK);
    CHECK_MEM(sy_buf_ptr(&b), b.len, "event: message_start\ndata: {\"a\":1}\n\n");
    sy_buf_clear(&b);
    CHECK_INT(sy_sse_write(&b, SY_STR_NULL, SY_STR("a\nb\r\nc\rd")), SY_OK);
    CHECK_MEM(sy_buf_ptr(&b), b.len, "data: a\ndata: b\ndata: c\ndata: d\n\n");
    sy_buf_clear(&b);
    CHECK_INT(sy_sse_write(&b, SY_STR_NULL, SY_STR("[DONE]")), SY_OK);
    CHECK_MEM(sy_buf_ptr(&b), b.len, "data: [DONE]\n\n");
    sy_buf_clear(&b);
    CHECK_INT(sy_sse_write(&b, SY_STR_NULL, SY_STR("")), SY_OK);
    CHECK_MEM(sy_buf_ptr(&b), b.len, "data: \n\n");
    sy_buf_clear(&b);
    CHECK_INT(sy_sse_write(&b, SY_STR("a\nb"), SY_STR("x")), SY_EINVAL);
    CHECK_INT(sy_sse_write_comment(&b, SY_STR("keepalive")), SY_OK);
    CHECK_MEM(sy_buf_ptr(&b), b.len, ": keepalive\n");
    CHECK_INT(sy_sse_write_comment(&b, SY_STR("a\rb")), SY_EINVAL);
    sy_buf_free(&b);
    /* all or nothing at the cap */
    sy_buf_init(&b, 20);
    CHECK_INT(sy_sse_write(&b, SY_STR("e"), SY_STR("0123456789")), SY_ETOOBIG);
    CHECK_INT(b.len, 0);
    sy_buf_free(&b);

    /* round trip: whatever is written reads back as the same event */
    static const char *const datas[] = {"", "x", "a\nb", "a\n", "\n", "\n\n", "a\r\nb", " lead",
                                        ": not a comment", "data: nested"};
    for (size_t i = 0; i < SY_ARRAY_LEN(datas); i++) {
        sy_buf_init(&b, 0);
        CHECK_INT(sy_sse_write(&b, SY_STR("t"), sy_str_c(datas[i])), SY_OK);
        run_t r = run_all(sy_buf_ptr(&b), b.len, 0, 0, 0);
        CHECK_INT(r.events, 1);
        /* expected data: line ends as LF */
        char want[64];
        size_t w = 0;
        for (const char *p = datas[i]; *p; p++) {
            if (*p == '\r' && p[1] == '\n')
                continue;
            want[w++] = *p == '\r' ? '\n' : *p;
        }
        want[w] = 0;
        char line[128];
        snprintf(line, sizeof(line), "t|%s||-1|0\n", want);
        CHECK_MEM(sy_buf_ptr(&r.out), r.out.len, line);
        sy_buf_free(&r.out);
        sy_buf_free(&b);
    }
}

/* --------------------------------------------------- real recordings --- */

static char *slurp(const char *rel, size_t *len)
{
    const char *root = getenv("SY_ROOT");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/data/transcripts/%s", root ? root : ".", rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "  cannot open %s (set SY_ROOT)\n", path);
        unit_cur_failed++;
        *len = 0;
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    *len = fread(p, 1, (size_t)n, f);
    fclose(f);
    return p;
}

/* Count the events and check each data is what expect_prefix says. */
static run_t read_file(const char *rel)
{
    size_t len;
    char *src = slurp(rel, &len);
    run_t r = run_all(src ? src : "", len, 0, 0, 0);
    free(src);
    return r;
}

/* Number of lines in out whose event field equals name. */
static int count_type(const run_t *r, const char *name)
{
    int n = 0;
    sy_str_t s = sy_buf_str(&r->out);
    size_t nl = strlen(name);
    const char *p = s.p, *end = s.p + s.len;
    bool at_start = true;
    for (; p < end; p++) {
        if (at_start && (size_t)(end - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '|')
            n++;
        at_start = *p == '\n';
    }
    return n;
}

static void test_recordings(void)
{
    run_t r = read_file("anthropic/agentgateway/stream_basic.json");
    CHECK_INT(r.rc, SY_EAGAIN);
    CHECK(!r.pending);
    CHECK_INT(count_type(&r, "message_start"), 1);
    CHECK_INT(count_type(&r, "content_block_delta"), 5);
    CHECK_INT(count_type(&r, "ping"), 1);
    CHECK_INT(count_type(&r, "message_stop"), 1);
    CHECK_INT(r.events, 11);
    /* the padded JSON passes through untouched */
    CHECK(sy_str_find(sy_buf_str(&r.out), SY_STR("\"index\":0           }|")) >= 0);
    sy_buf_free(&r.out);

    r = read_file("anthropic/agentgateway/stream_message_delta_usage.json");
    CHECK_INT(r.events, 3);
    CHECK(sy_str_starts_with(sy_buf_str(&r.out), SY_STR("message_start|{\"type\":\"message_start\"")));
    sy_buf_free(&r.out);

    r = read_file("anthropic/agentgateway/stream_thinking.json");
    CHECK(r.events > 5 && !r.pending && count_type(&r, "message_stop") == 1);
    sy_buf_free(&r.out);

    r = read_file("openai/agentgateway/completions/stream.json");
    CHECK_INT(r.events, 89);
    CHECK(!r.pending);
    CHECK(sy_str_ends_with(sy_buf_str(&r.out), SY_STR("|[DONE]||-1|0\n")));
    CHECK_INT(count_type(&r, ""), r.events); /* no event: lines at all */
    sy_buf_free(&r.out);

    /* ends "data: [DONE]\n" without the blank line: pending until finish */
    r = read_file("openai-compatible/vercel-ai/anthropic-fallback-tool-call.sse");
    CHECK(r.events == 9 && r.pending);
    CHECK(sy_str_ends_with(sy_buf_str(&r.out), SY_STR("\nEOF:|[DONE]||-1|0\n")));
    sy_buf_free(&r.out);

    /* broken-sse: two events, then a non-SSE line without a line end */
    r = read_file("malformed/agentgateway/broken-sse");
    CHECK_MEM(sy_buf_ptr(&r.out), r.out.len, "|{}||-1|0\n|ha this isn't json!||-1|0\n");
    CHECK(r.pending);
    sy_buf_free(&r.out);
    r = read_file("malformed/agentgateway/non-json");
    CHECK_INT(r.events, 0);
    sy_buf_free(&r.out);

    /* Gemini over CRLF (the real wire), no event: lines, no [DONE] */
    r = read_file("google/firebase-vertexai-sdk-test-data/googleai/streaming-success-basic-reply-short.txt");
    CHECK(r.events >= 1 && !r.pending);
    CHECK(sy_str_starts_with(sy_buf_str(&r.out), SY_STR("|{")));
    CHECK(sy_str_find(sy_buf_str(&r.out), SY_STR("\r")) < 0);
    sy_buf_free(&r.out);
    r = read_file("google/firebase-vertexai-sdk-test-data/googleai/streaming-success-basic-reply-long.txt");
    CHECK(r.events > 3 && !r.pending);
    sy_buf_free(&r.out);
    /* two events, then a bare JSON error object: its lines are unknown
     * fields ('{' ...) or a field named like the text before a colon. */
    r = read_file("google/firebase-vertexai-sdk-test-data/vertexai/streaming-failure-error-mid-stream.txt");
    CHECK_INT(r.events, 2);
    sy_buf_free(&r.out);
}

int main(void)
{
    RUN(test_basic);
    RUN(test_line_ends);
    RUN(test_fields);
    RUN(test_comments_reported);
    RUN(test_pending_and_zero_copy);
    RUN(test_caps);
    RUN(test_writer);
    RUN(test_recordings);
    return unit_done();
}
