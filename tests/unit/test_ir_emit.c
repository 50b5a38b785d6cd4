/*
 * test_ir_emit.c - the IR stream emitter (ir/emit.h): what each call
 * emits, the sticky result, the ends of a stream, what a misuse turns into,
 * and, over many random call sequences, that whatever a decoder calls, the
 * receiver sees a stream the IR invariant checker (ir/check.h) accepts.
 */
#include "unit.h"

#include "core/buf.h"
#include "ir/check.h"
#include "ir/emit.h"

/* A receiver: checks every delta, traces it, and can be told to answer
 * stop_rc from the stop_at'th delta on (1-based; 0: never). */
typedef struct {
    sy_ir_check_t chk;
    sy_buf_t trace;
    size_t calls;
    size_t stop_at;
    int stop_rc;
    sy_ir_error_class_t last_error;
} rx_t;

static const char *kind_name(sy_ir_delta_kind_t k)
{
    static const char *const names[] = {"start", "open", "text", "thinking", "sig", "args",
                                        "close", "usage", "finish", "end", "error"};
    return (unsigned)k < SY_ARRAY_LEN(names) ? names[k] : "?";
}

static int rx_cb(void *ctx, const sy_ir_delta_t *d)
{
    rx_t *r = ctx;
    r->calls++;
    sy_ir_check_delta(&r->chk, d);
    sy_buf_printf(&r->trace, "%s", kind_name(d->kind));
    switch (d->kind) {
    case SY_IR_DELTA_START:
        sy_buf_printf(&r->trace, " %.*s", SY_STR_FMT(d->id));
        break;
    case SY_IR_DELTA_BLOCK_START:
        sy_buf_printf(&r->trace, " %u k%d", d->index, (int)d->block);
        if (d->name.len)
            sy_buf_printf(&r->trace, " %.*s", SY_STR_FMT(d->name));
        if (d->text.len)
            sy_buf_printf(&r->trace, " =%.*s", SY_STR_FMT(d->text));
        break;
    case SY_IR_DELTA_TEXT:
    case SY_IR_DELTA_THINKING:
    case SY_IR_DELTA_SIGNATURE:
    case SY_IR_DELTA_TOOL_ARGS:
        sy_buf_printf(&r->trace, " %u %.*s", d->index, SY_STR_FMT(d->text));
        break;
    case SY_IR_DELTA_BLOCK_STOP:
        sy_buf_printf(&r->trace, " %u", d->index);
        break;
    case SY_IR_DELTA_USAGE:
        sy_buf_printf(&r->trace, " %" PRIu64, d->usage.output);
        break;
    case SY_IR_DELTA_FINISH:
        sy_buf_printf(&r->trace, " %s", sy_ir_finish_name(d->finish));
        break;
    case SY_IR_DELTA_ERROR:
        sy_buf_printf(&r->trace, " %s", sy_ir_error_class_name(d->error.cls));
        r->last_error = d->error.cls;
        break;
    default:
        break;
    }
    sy_buf_append_c(&r->trace, "; ");
    if (r->stop_at && r->calls >= r->stop_at)
        return r->stop_rc;
    return SY_OK;
}

static void rx_init(rx_t *r, sy_ir_emitter_t *e)
{
    memset(r, 0, sizeof(*r));
    sy_ir_check_init(&r->chk);
    sy_buf_init(&r->trace, 0);
    sy_ir_emit_init(e);
    sy_ir_emit_bind(e, rx_cb, r);
}

/* The trace so far as a C string (the buffer stays NUL-free). */
static sy_str_t rx_trace(rx_t *r) { return r->trace.data ? sy_buf_str(&r->trace) : SY_STR(""); }

static bool rx_valid(rx_t *r)
{
    if (sy_ir_check_end(&r->chk) != SY_OK) {
        fprintf(stderr, "  invariant: %s\n  trace: %.*s\n", r->chk.why, SY_STR_FMT(rx_trace(r)));
        return false;
    }
    return true;
}

static sy_ir_usage_t output_usage(uint64_t n)
{
    sy_ir_usage_t u;
    memset(&u, 0, sizeof(u));
    u.has_output = true;
    u.output = n;
    return u;
}

/* --------------------------------------------------------------- basics --- */

static void test_a_whole_stream(void)
{
    sy_ir_emitter_t e;
    rx_t r;
    rx_init(&r, &e);
    CHECK_INT(sy_ir_emit_start(&e, SY_STR("m1"), SY_STR("model"), NULL), SY_OK);
    CHECK_INT(sy_ir_emit_start(&e, SY_STR("m2"), SY_STR("model"), NULL), SY_OK); /* once only */
    CHECK_INT(sy_ir_emit_append(&e, SY_IR_DELTA_THINKING, SY_STR("hm")), SY_OK);
    CHECK_INT(sy_ir_emit_append(&e, SY_IR_DELTA_SIGNATURE, SY_STR("s1")), SY_OK);
    CHECK(e.open_signed);
    CHECK(!sy_ir_emit_continues(&e, SY_IR_THINKING));
    /* signed: more reasoning starts a new thinking block */
    CHECK_INT(sy_ir_emit_append(&e, SY_IR_DELTA_THINKING, SY_STR("more")), SY_OK);
    CHECK_INT(sy_ir_emit_append(&e, SY_IR_DELTA_TEXT, SY_STR("Hel")), SY_OK);
    CHECK_INT(sy_ir_emit_append(&e, SY_IR_DELTA_TEXT, SY_STR("lo")), SY_OK);
    CHECK(sy_ir_emit_continues(&e, SY_IR_TEXT));
    CHECK_INT(e.open_bytes, 5);
    CHECK_INT(sy_ir_emit_open(&e, SY_IR_TOOL_CALL, SY_STR("c1"), SY_STR("f"), SY_STR_NULL), SY_OK);
    CHECK_INT(sy_ir_emit_content(&e, SY_IR_DELTA_TOOL_ARGS, SY_STR("{}")), SY_OK);
    CHECK_INT(sy_ir_emit_open(&e, SY_IR_REDACTED_THINKING, SY_STR_NULL, SY_STR_NULL, SY_STR("xx")),
              SY_OK);
    CHECK_INT(e.open_bytes, 2);
    CHECK_INT(sy_ir_emit_usage(&e, &(sy_ir_usage_t){.has_output = true, .output = 7}), SY_OK);
    /* FINISH closes the open block (4) */
    CHECK_INT(sy_ir_emit_finish(&e, SY_IR_FINISH_TOOL_CALLS, SY_STR_NULL), SY_OK);
    CHECK(!e.open);
    CHECK_INT(sy_ir_emit_end(&e), SY_OK);
    CHECK(sy_ir_emit_done(&e));
    CHECK_STR(rx_trace(&r), "start m1; open 0 k4; thinking 0 hm; sig 0 s1; close 0; open 1 k4; "
                            "thinking 1 more; close 1; open 2 k0; text 2 Hel; text 2 lo; close 2; "
                            "open 3 k2 f; args 3 {}; close 3; open 4 k5 =xx; usage 7; close 4; "
                            "finish tool_calls; end; ");
    CHECK(rx_valid(&r));
    CHECK_INT(e.next_index, 5);
    sy_buf_free(&r.trace);
}

static void test_empty_content_emits_nothing(void)
{
    sy_ir_emitter_t e;
    rx_t r;
    rx_init(&r, &e);
    sy_ir_emit_start(&e, SY_STR("m"), SY_STR_NULL, NULL);
    CHECK_INT(sy_ir_emit_append(&e, SY_IR_DELTA_TEXT, SY_STR("")), SY_OK);
    CHECK(!e.open); /* and opened nothing */
    /* an empty fragment needs no block of its kind */
    CHECK_INT(sy_ir_emit_content(&e, SY_IR_DELTA_TOOL_ARGS, SY_STR_NULL), SY_OK);
    sy_ir_emit_open(&e, SY_IR_TEXT, SY_STR_NULL, SY_STR_NULL, SY_STR_NULL);
    CHECK_INT(sy_ir_emit_content(&e, SY_IR_DELTA_TEXT, SY_STR("")), SY_OK);
    CHECK_INT(sy_ir_emit_close(&e), SY_OK);
    CHECK_INT(sy_ir_emit_close(&e), SY_OK); /* nothing open: nothing */
    sy_ir_emit_finish(&e, SY_IR_FINISH_STOP, SY_STR_NULL);
    sy_ir_emit_end(&e);
    CHECK_STR(rx_trace(&r), "start m; open 0 k0; close 0; finish stop; end; ");
    CHECK(rx_valid(&r));
    sy_buf_free(&r.trace);
}

static void test_start_carries_usage(void)
{
    sy_ir_emitter_t e;
    rx_t r;
    rx_init(&r, &e);
    sy_ir_usage_t u = output_usage(3);
    sy_ir_collector_t *c;
    sy_arena_t *a = sy_arena_new(0);
    c = sy_ir_collector_new(a);
    sy_ir_emit_bind(&e, sy_ir_collect, c);
    sy_ir_emit_start(&e, SY_STR("id"), SY_STR("mod"), &u);
    sy_ir_emit_finish(&e, SY_IR_FINISH_STOP_SEQUENCE, SY_STR("END"));
    sy_ir_emit_end(&e);
    const sy_ir_response_t *resp = sy_ir_collect_finish(c);
    CHECK_STR(resp->id, "id");
    CHECK_STR(resp->model, "mod");
    CHECK_INT(resp->usage.output, 3);
    CHECK_INT(resp->finish, SY_IR_FINISH_STOP_SEQUENCE);
    CHECK_STR(resp->stop_sequence, "END");
    sy_arena_free(a);
    sy_buf_free(&r.trace);
}

static void test_usage_changed(void)
{
    sy_ir_emitter_t e;
    rx_t r;
    rx_init(&r, &e);
    sy_ir_emit_start(&e, SY_STR("m"), SY_STR_NULL, NULL);
    sy_ir_usage_t a = output_usage(1), b = output_usage(2);
    sy_ir_emit_usage_changed(&e, &a);
    sy_ir_emit_usage_changed(&e, &a); /* the same: skipped */
    sy_ir_emit_usage_changed(&e, &b);
    sy_ir_emit_usage(&e, &b); /* the plain one always goes out */
    a.has_reasoning = true;   /* a field becoming known is a change */
    sy_ir_emit_usage_changed(&e, &a);
    CHECK_STR(rx_trace(&r), "start m; usage 1; usage 2; usage 2; usage 1; ");
    CHECK(e.usage_sent);
    sy_buf_free(&r.trace);
}

/* ------------------------------------------------------ sticky results --- */

static void test_callback_stop_is_sticky(void)
{
    sy_ir_emitter_t e;
    rx_t r;
    rx_init(&r, &e);
    r.stop_at = 3;
    r.stop_rc = SY_ECLOSED;
    CHECK_INT(sy_ir_emit_start(&e, SY_STR("m"), SY_STR_NULL, NULL), SY_OK);
    CHECK_INT(sy_ir_emit_append(&e, SY_IR_DELTA_TEXT, SY_STR("a")), SY_ECLOSED); /* open, text */
    CHECK_INT(r.calls, 3);
    CHECK(sy_ir_emit_done(&e));
    /* every later call returns the same, and the callback hears nothing */
    CHECK_INT(sy_ir_emit_append(&e, SY_IR_DELTA_TEXT, SY_STR("b")), SY_ECLOSED);
    CHECK_INT(sy_ir_emit_close(&e), SY_ECLOSED);
    CHECK_INT(sy_ir_emit_usage(&e, &(sy_ir_usage_t){0}), SY_ECLOSED);
    CHECK_INT(sy_ir_emit_finish(&e, SY_IR_FINISH_STOP, SY_STR_NULL), SY_ECLOSED);
    CHECK_INT(sy_ir_emit_end(&e), SY_ECLOSED);
    CHECK_INT(sy_ir_emit_fail(&e, SY_IR_ERR_SERVER, SY_STR("x")), SY_ECLOSED);
    CHECK_INT(r.calls, 3);
    CHECK(!e.failed && !e.ended);
    sy_buf_free(&r.trace);
}

static void test_error_ends_the_stream(void)
{
    sy_ir_emitter_t e;
    rx_t r;
    rx_init(&r, &e);
    sy_ir_emit_start(&e, SY_STR("m"), SY_STR_NULL, NULL);
    sy_ir_emit_append(&e, SY_IR_DELTA_TEXT, SY_STR("a"));
    sy_ir_error_t err = {.cls = SY_IR_ERR_RATE_LIMITED, .status = 429,
                         .message = SY_STR("slow down")};
    CHECK_INT(sy_ir_emit_error(&e, &err), SY_EINVAL);
    CHECK(e.failed && !e.open && sy_ir_emit_done(&e));
    size_t calls = r.calls;
    CHECK_INT(sy_ir_emit_append(&e, SY_IR_DELTA_TEXT, SY_STR("b")), SY_EINVAL);
    CHECK_INT(sy_ir_emit_fail(&e, SY_IR_ERR_SERVER, SY_STR("again")), SY_EINVAL);
    CHECK_INT(sy_ir_emit_end(&e), SY_EINVAL);
    CHECK_INT(r.calls, calls);
    /* the text block is left open: an ERROR may end a stream anywhere */
    CHECK_STR(rx_trace(&r), "start m; open 0 k0; text 0 a; error rate_limited; ");
    CHECK(rx_valid(&r));
    sy_buf_free(&r.trace);

    /* before START, and with a callback that answers the ERROR with a stop */
    rx_init(&r, &e);
    r.stop_at = 1;
    r.stop_rc = SY_ECLOSED;
    CHECK_INT(sy_ir_emit_fail(&e, SY_IR_ERR_BAD_RESPONSE, SY_STR("garbage")), SY_ECLOSED);
    CHECK_INT(sy_ir_emit_start(&e, SY_STR("m"), SY_STR_NULL, NULL), SY_ECLOSED);
    CHECK_STR(rx_trace(&r), "error bad_response; ");
    CHECK(rx_valid(&r));
    sy_buf_free(&r.trace);
}

static void test_after_end_nothing(void)
{
    sy_ir_emitter_t e;
    rx_t r;
    rx_init(&r, &e);
    sy_ir_emit_start(&e, SY_STR("m"), SY_STR_NULL, NULL);
    sy_ir_emit_finish(&e, SY_IR_FINISH_STOP, SY_STR_NULL);
    CHECK_INT(sy_ir_emit_end(&e), SY_OK);
    CHECK(sy_ir_emit_done(&e));
    CHECK_INT(sy_ir_emit_end(&e), SY_OK);
    CHECK_INT(sy_ir_emit_fail(&e, SY_IR_ERR_SERVER, SY_STR("late")), SY_OK);
    CHECK_INT(sy_ir_emit_append(&e, SY_IR_DELTA_TEXT, SY_STR("late")), SY_OK);
    CHECK_INT(r.calls, 3);
    CHECK(!e.failed);
    CHECK(rx_valid(&r));
    sy_buf_free(&r.trace);
}

/* --------------------------------------------------------------- misuse --- */

typedef void (*misuse_fn)(sy_ir_emitter_t *e);

static void m_content_outside(sy_ir_emitter_t *e)
{
    sy_ir_emit_start(e, SY_STR("m"), SY_STR_NULL, NULL);
    sy_ir_emit_content(e, SY_IR_DELTA_TEXT, SY_STR("x"));
}
static void m_content_wrong_kind(sy_ir_emitter_t *e)
{
    sy_ir_emit_start(e, SY_STR("m"), SY_STR_NULL, NULL);
    sy_ir_emit_open(e, SY_IR_TEXT, SY_STR_NULL, SY_STR_NULL, SY_STR_NULL);
    sy_ir_emit_content(e, SY_IR_DELTA_SIGNATURE, SY_STR("x"));
}
static void m_args_without_call(sy_ir_emitter_t *e)
{
    sy_ir_emit_start(e, SY_STR("m"), SY_STR_NULL, NULL);
    sy_ir_emit_append(e, SY_IR_DELTA_TOOL_ARGS, SY_STR("{"));
}
static void m_not_content(sy_ir_emitter_t *e)
{
    sy_ir_emit_start(e, SY_STR("m"), SY_STR_NULL, NULL);
    sy_ir_emit_content(e, SY_IR_DELTA_FINISH, SY_STR("x"));
}
static void m_block_before_start(sy_ir_emitter_t *e)
{
    sy_ir_emit_open(e, SY_IR_TEXT, SY_STR_NULL, SY_STR_NULL, SY_STR_NULL);
}
static void m_block_after_finish(sy_ir_emitter_t *e)
{
    sy_ir_emit_start(e, SY_STR("m"), SY_STR_NULL, NULL);
    sy_ir_emit_finish(e, SY_IR_FINISH_STOP, SY_STR_NULL);
    sy_ir_emit_append(e, SY_IR_DELTA_TEXT, SY_STR("late"));
}
static void m_block_kind(sy_ir_emitter_t *e)
{
    sy_ir_emit_start(e, SY_STR("m"), SY_STR_NULL, NULL);
    sy_ir_emit_open(e, SY_IR_TOOL_RESULT, SY_STR_NULL, SY_STR_NULL, SY_STR_NULL);
}
static void m_usage_before_start(sy_ir_emitter_t *e)
{
    sy_ir_emit_usage(e, &(sy_ir_usage_t){.has_input = true, .input = 1});
}
static void m_finish_twice(sy_ir_emitter_t *e)
{
    sy_ir_emit_start(e, SY_STR("m"), SY_STR_NULL, NULL);
    sy_ir_emit_finish(e, SY_IR_FINISH_STOP, SY_STR_NULL);
    sy_ir_emit_finish(e, SY_IR_FINISH_LENGTH, SY_STR_NULL);
}
static void m_finish_unset(sy_ir_emitter_t *e)
{
    sy_ir_emit_start(e, SY_STR("m"), SY_STR_NULL, NULL);
    sy_ir_emit_finish(e, SY_IR_FINISH_UNSET, SY_STR_NULL);
}
static void m_finish_before_start(sy_ir_emitter_t *e)
{
    sy_ir_emit_finish(e, SY_IR_FINISH_STOP, SY_STR_NULL);
}
static void m_end_without_finish(sy_ir_emitter_t *e)
{
    sy_ir_emit_start(e, SY_STR("m"), SY_STR_NULL, NULL);
    sy_ir_emit_append(e, SY_IR_DELTA_TEXT, SY_STR("x"));
    sy_ir_emit_end(e);
}
static void m_error_without_class(sy_ir_emitter_t *e)
{
    sy_ir_emit_start(e, SY_STR("m"), SY_STR_NULL, NULL);
    sy_ir_emit_fail(e, SY_IR_ERR_NONE, SY_STR("?"));
}

/* Each misuse ends the stream with an INTERNAL error and SY_EINVAL; what
 * the receiver saw is a valid stream. */
static void test_misuse_becomes_an_error(void)
{
    static const misuse_fn fns[] = {
        m_content_outside,   m_content_wrong_kind, m_args_without_call,  m_not_content,
        m_block_before_start, m_block_after_finish, m_block_kind,        m_usage_before_start,
        m_finish_twice,      m_finish_unset,       m_finish_before_start, m_end_without_finish,
        m_error_without_class,
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(fns); i++) {
        sy_ir_emitter_t e;
        rx_t r;
        rx_init(&r, &e);
        fns[i](&e);
        if (r.last_error != SY_IR_ERR_INTERNAL || e.rc != SY_EINVAL || !e.failed ||
            !rx_valid(&r)) {
            fprintf(stderr, "  misuse %zu: %.*s\n", i, SY_STR_FMT(rx_trace(&r)));
            unit_cur_failed++;
        }
        sy_buf_free(&r.trace);
    }
}

/* ------------------------------------------------------ random sequences --- */

static uint64_t rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* Whatever a decoder calls, in whatever order, the receiver gets a valid
 * stream: every sequence ends (after a last finish + end) with END or
 * ERROR, and the checker found no fault on the way. */
static void test_any_call_sequence_is_valid(void)
{
    static const sy_ir_delta_kind_t content[] = {SY_IR_DELTA_TEXT, SY_IR_DELTA_THINKING,
                                                 SY_IR_DELTA_SIGNATURE, SY_IR_DELTA_TOOL_ARGS};
    static const sy_ir_part_kind_t blocks[] = {SY_IR_TEXT, SY_IR_THINKING, SY_IR_REDACTED_THINKING,
                                               SY_IR_TOOL_CALL};
    uint64_t seed = 42;
    size_t bad = 0, errors = 0, ends = 0;
    for (int run = 0; run < 20000; run++) {
        sy_ir_emitter_t e;
        rx_t r;
        rx_init(&r, &e);
        if (rnd(&seed) % 8 == 0) {
            r.stop_at = 1 + rnd(&seed) % 12;
            r.stop_rc = SY_ECLOSED;
        }
        size_t n = rnd(&seed) % 24;
        for (size_t i = 0; i < n; i++) {
            sy_str_t t = rnd(&seed) % 5 ? SY_STR("x") : SY_STR("");
            switch (rnd(&seed) % 12) {
            case 0:
            case 1:
                sy_ir_emit_start(&e, SY_STR("m"), SY_STR_NULL, NULL);
                break;
            case 2:
                sy_ir_emit_open(&e, blocks[rnd(&seed) % 4], SY_STR("c"), SY_STR("f"), t);
                break;
            case 3:
                sy_ir_emit_close(&e);
                break;
            case 4:
            case 5:
                sy_ir_emit_content(&e, content[rnd(&seed) % 4], t);
                break;
            case 6:
            case 7:
                sy_ir_emit_append(&e, content[rnd(&seed) % 4], t);
                break;
            case 8:
                sy_ir_emit_usage(&e, &(sy_ir_usage_t){.has_output = true, .output = i});
                break;
            case 9:
                sy_ir_emit_finish(&e, (sy_ir_finish_t)(rnd(&seed) % 4), SY_STR_NULL);
                break;
            case 10:
                sy_ir_emit_end(&e);
                break;
            default:
                if (rnd(&seed) % 4 == 0)
                    sy_ir_emit_fail(&e, SY_IR_ERR_SERVER, SY_STR("up"));
                break;
            }
        }
        /* how a decoder ends a stream it has not failed */
        if (!sy_ir_emit_done(&e)) {
            sy_ir_emit_start(&e, SY_STR("m"), SY_STR_NULL, NULL);
            if (!e.finished)
                sy_ir_emit_finish(&e, SY_IR_FINISH_STOP, SY_STR_NULL);
            sy_ir_emit_end(&e);
        }
        bool stopped = r.stop_at && r.calls >= r.stop_at;
        if (!stopped && !rx_valid(&r))
            bad++;
        if (stopped && r.chk.failed)
            bad++;
        errors += e.failed;
        ends += e.ended;
        sy_buf_free(&r.trace);
    }
    CHECK_INT(bad, 0);
    CHECK(errors > 1000 && ends > 1000); /* both endings were exercised */
}

int main(void)
{
    RUN(test_a_whole_stream);
    RUN(test_empty_content_emits_nothing);
    RUN(test_start_carries_usage);
    RUN(test_usage_changed);
    RUN(test_callback_stop_is_sticky);
    RUN(test_error_ends_the_stream);
    RUN(test_after_end_nothing);
    RUN(test_misuse_becomes_an_error);
    RUN(test_any_call_sequence_is_valid);
    return unit_done();
}
