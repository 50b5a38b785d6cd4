/*
 * engine.c - behaviour resolution, fault injection and the pacing engine.
 *
 * A family hands the engine either a whole body (sy_sim_respond_json) or an
 * event writer (sy_sim_stream). The engine decides when bytes go out and
 * whether they go out intact:
 *
 *   non-stream  wait ttft + output_tokens/tps on a loop timer, then answer,
 *               or corrupt / cut / reset / stall the answer for a fault.
 *   stream      wait ttft, send the head and the first events, then one
 *               event each cost/tps seconds. Pull-based: an event is only
 *               formatted when it may be written, and writing stops while
 *               the connection is congested (resumed by on_drain), so a slow
 *               reader costs nothing but its socket buffer. After
 *               fault_after events a mid-stream fault takes over.
 *
 * Pacing keeps a microsecond schedule (due_us, relative to the first event)
 * and sleeps only when the next event is at least a millisecond away, so
 * high token rates are exact on average despite millisecond timers.
 *
 * Every path that leaves the request (done, client gone, reset) stops the
 * timer first: the call lives in the request arena, which the server frees
 * after the request ends.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "sim/internal.h"

enum {
    PH_NONE = 0,
    PH_HELD,      /* a whole body waiting for its time */
    PH_HANG,      /* hang: nothing will ever be sent */
    PH_TTFT,      /* stream: waiting for the first event */
    PH_STREAMING, /* stream: writing events */
    PH_STALLED,   /* hang-stream: head and some bytes sent, then nothing */
    PH_DONE,
};

static bool status_fault(sy_sim_fault_t f)
{
    return f == SY_SIM_FAULT_429 || f == SY_SIM_FAULT_500 || f == SY_SIM_FAULT_503 ||
           f == SY_SIM_FAULT_529;
}

static int fault_status(sy_sim_fault_t f)
{
    switch (f) {
    case SY_SIM_FAULT_429: return 429;
    case SY_SIM_FAULT_500: return 500;
    case SY_SIM_FAULT_503: return 503;
    case SY_SIM_FAULT_529: return 529;
    default: return 500;
    }
}

static const char *fault_message(int status)
{
    switch (status) {
    case 429: return "Rate limit reached for requests (simulated by switchyard sim).";
    case 503: return "The service is temporarily unavailable (simulated by switchyard sim).";
    case 529: return "Overloaded";
    default: return "The server had an error while processing your request (simulated by switchyard sim).";
    }
}

/* ------------------------------------------------------------- lifecycle --- */

static void call_release(sy_sim_call_t *call)
{
    sy_timer_stop(&call->timer);
    call->phase = PH_DONE;
    call->req->on_abort = NULL;
    call->req->on_drain = NULL;
}

static void on_abort(sy_http_req_t *req)
{
    sy_sim_call_t *call = req->data;
    sy_timer_stop(&call->timer);
    call->phase = PH_DONE;
}

static void timer_cb(sy_timer_t *t);
static void on_drain(sy_http_req_t *req);

static void call_watch(sy_sim_call_t *call)
{
    if (call->timer.loop == NULL)
        sy_timer_init(&call->timer, call->w->loop, timer_cb, call);
    call->req->on_abort = on_abort;
    call->req->on_drain = on_drain;
}

/* Drop the connection for a reset or truncate fault. The request is gone
 * afterwards: nothing may touch it. */
static void call_abort(sy_sim_call_t *call, bool rst)
{
    sy_http_req_t *req = call->req;
    call_release(call);
    sy_http_req_abort(req, true, rst);
}

/* ---------------------------------------------------------------- errors --- */

static void add_retry_after(sy_sim_call_t *call, int status)
{
    if (status != 429 && status != 529)
        return;
    char v[24];
    int n = snprintf(v, sizeof(v), "%u", call->bhv.retry_after_s);
    sy_http_add_header(call->req, "retry-after", sy_str(v, (size_t)n));
}

void sy_sim_respond_error(sy_sim_call_t *call, int status, const char *message)
{
    char store[4096];
    sy_buf_t b = {.data = store, .cap = sizeof(store), .max = sizeof(store)};
    const char *ctype = "application/json";
    if (call->family && call->family->error_body) {
        ctype = call->family->error_body(call, status, message, &b);
    } else {
        sy_http_respond_error(call->req, status, "error", message);
        return;
    }
    if (call->phase != PH_DONE)
        call_release(call);
    sy_http_respond(call->req, status, ctype, b.data, b.len);
}

/* ------------------------------------------------------------ behaviour --- */

int sy_sim_prepare(sy_sim_call_t *call, const sy_sim_model_t *model)
{
    call->model = model;
    sy_sim_behaviour_t b = model->bhv;
    /* The model's fault schedule: every request, the first N, or a seeded
     * coin with probability fault_rate. */
    if (b.fault != SY_SIM_FAULT_NONE && (model->fault_first || model->fault_rate > 0)) {
        uint64_t n = atomic_fetch_add(model->served, 1);
        bool hit;
        if (model->fault_first)
            hit = n < model->fault_first;
        else
            hit = (double)(sy_sim_mix(sy_hash_bytes(model->name.p, model->name.len) + n) >> 11) /
                      9007199254740992.0 < model->fault_rate;
        if (!hit)
            b.fault = SY_SIM_FAULT_NONE;
    }
    const sy_http_request_t *h = &call->req->head;
    for (size_t i = 0; i < h->nheaders; i++) {
        const char *why = NULL;
        int rc = sy_sim_behaviour_header(&b, h->headers[i].name, h->headers[i].value, &why);
        if (rc == SY_EINVAL) {
            sy_sim_respond_error(call, 400, why);
            return SY_EINVAL;
        }
    }
    call->bhv = b;
    call->seed = b.seed_set ? b.seed : sy_sim_mix(sy_hash_bytes(call->req->body.p, call->req->body.len));
    if (status_fault(b.fault) && !(call->stream && b.fault_after >= 0)) {
        int status = fault_status(b.fault);
        add_retry_after(call, status);
        sy_sim_respond_error(call, status, fault_message(status));
        return SY_ERR;
    }
    if (b.fault == SY_SIM_FAULT_HANG) {
        call_watch(call);
        call->phase = PH_HANG;
        return SY_ERR;
    }
    return SY_OK;
}

/* -------------------------------------------------------- whole bodies --- */

static void deliver(sy_sim_call_t *call, int status, const char *ctype, const char *body, size_t len)
{
    sy_http_req_t *req = call->req;
    sy_sim_fault_t f = call->model && status < 400 ? call->bhv.fault : SY_SIM_FAULT_NONE;
    switch (f) {
    case SY_SIM_FAULT_CONTENT_TYPE:
        call_release(call);
        sy_http_respond(req, status, "text/html; charset=utf-8", body, len);
        return;
    case SY_SIM_FAULT_MALFORMED: {
        /* Valid HTTP framing around a body that is not JSON: the first half,
         * then a stray fragment. */
        sy_buf_t *b = &call->w->scratch2;
        sy_buf_clear(b);
        sy_buf_append(b, body, len / 2);
        sy_buf_append_c(b, "\"<<malformed>>");
        call_release(call);
        sy_http_respond(req, status, ctype, sy_buf_ptr(b), b->len);
        return;
    }
    case SY_SIM_FAULT_TRUNCATE:
    case SY_SIM_FAULT_RESET:
    case SY_SIM_FAULT_HANG_STREAM:
        /* A chunked head and half the body, then: close (FIN), RST, or
         * nothing at all. */
        sy_http_stream_begin(req, status, ctype);
        sy_http_stream_write(req, body, len / 2);
        if (f == SY_SIM_FAULT_HANG_STREAM) {
            call_watch(call);
            req->on_drain = NULL;
            call->phase = PH_STALLED;
            return;
        }
        call_abort(call, f == SY_SIM_FAULT_RESET);
        return;
    default:
        call_release(call);
        sy_http_respond(req, status, ctype, body, len);
        return;
    }
}

void sy_sim_respond_json(sy_sim_call_t *call, int status, const char *content_type,
                         const char *body, size_t len, uint32_t output_tokens)
{
    if (content_type == NULL)
        content_type = "application/json";
    uint64_t delay = 0;
    if (call->model) {
        delay = call->bhv.ttft_ms;
        if (call->bhv.tps)
            delay += (uint64_t)output_tokens * 1000 / call->bhv.tps;
    }
    if (delay == 0) {
        deliver(call, status, content_type, body, len);
        return;
    }
    call->held_body = sy_arena_memdup(call->req->arena, body, len);
    call->held_len = len;
    call->held_status = status;
    call->held_ctype = content_type;
    call_watch(call);
    call->req->on_drain = NULL;
    call->phase = PH_HELD;
    sy_timer_start(&call->timer, delay);
}

/* --------------------------------------------------------------- streams --- */

static void stream_tick(sy_sim_call_t *call);

static void timer_cb(sy_timer_t *t)
{
    sy_sim_call_t *call = t->data;
    switch (call->phase) {
    case PH_HELD:
        deliver(call, call->held_status, call->held_ctype, call->held_body, call->held_len);
        return;
    case PH_TTFT:
    case PH_STREAMING:
        stream_tick(call);
        return;
    default:
        return;
    }
}

static void on_drain(sy_http_req_t *req)
{
    sy_sim_call_t *call = req->data;
    if (call->phase == PH_STREAMING && call->waiting_drain && !sy_timer_active(&call->timer)) {
        call->waiting_drain = false;
        stream_tick(call);
    }
}

/* A mid-stream fault is due now. Returns true when the stream is over (or
 * stalled) and the tick must stop. */
static bool stream_fault(sy_sim_call_t *call)
{
    sy_http_req_t *req = call->req;
    sy_buf_t *out = &call->w->scratch;
    sy_sim_fault_t f = call->bhv.fault;
    call->bhv.fault = SY_SIM_FAULT_NONE; /* once */
    sy_buf_clear(out);
    switch (f) {
    case SY_SIM_FAULT_429:
    case SY_SIM_FAULT_500:
    case SY_SIM_FAULT_503:
    case SY_SIM_FAULT_529:
        if (call->ops->error_event)
            call->ops->error_event(call, fault_status(f), out);
        if (out->len == 0) {
            call_abort(call, false);
            return true;
        }
        sy_http_stream_write(req, sy_buf_ptr(out), out->len);
        sy_buf_clear(out);
        call_release(call);
        sy_http_stream_end(req);
        return true;
    case SY_SIM_FAULT_HANG_STREAM:
        sy_timer_stop(&call->timer);
        req->on_drain = NULL;
        call->phase = PH_STALLED;
        return true;
    case SY_SIM_FAULT_RESET:
        call_abort(call, true);
        return true;
    case SY_SIM_FAULT_TRUNCATE: {
        bool last = false;
        call->ops->next(call, out, &last);
        size_t half = out->len / 2;
        /* Cut inside the JSON payload when the event has one. */
        ptrdiff_t brace = sy_str_find_char(sy_buf_str(out), '{');
        if (brace >= 0 && (size_t)brace + 2 < out->len)
            half = (size_t)brace + (out->len - (size_t)brace) / 2;
        sy_http_stream_write(req, sy_buf_ptr(out), half);
        sy_buf_clear(out);
        call_abort(call, false);
        return true;
    }
    case SY_SIM_FAULT_MALFORMED:
        if (call->ops->malformed_event)
            call->ops->malformed_event(call, out);
        if (out->len)
            sy_http_stream_write(req, sy_buf_ptr(out), out->len);
        sy_buf_clear(out);
        call->events++;
        return false;
    default:
        return false;
    }
}

static bool midstream(sy_sim_fault_t f)
{
    return f == SY_SIM_FAULT_HANG_STREAM || f == SY_SIM_FAULT_RESET ||
           f == SY_SIM_FAULT_TRUNCATE || f == SY_SIM_FAULT_MALFORMED || status_fault(f);
}

static void stream_tick(sy_sim_call_t *call)
{
    sy_http_req_t *req = call->req;
    sy_loop_t *loop = call->w->loop;
    if (call->phase == PH_TTFT) {
        const char *ct = call->bhv.fault == SY_SIM_FAULT_CONTENT_TYPE ? "text/html; charset=utf-8"
                                                                      : call->ops->content_type;
        sy_http_stream_begin(req, 200, ct);
        call->phase = PH_STREAMING;
        call->t0_ms = sy_loop_now(loop);
        call->due_us = 0;
    }
    sy_buf_t *out = &call->w->scratch;
    uint32_t fault_after = call->bhv.fault_after >= 0 ? (uint32_t)call->bhv.fault_after
                                                      : SY_SIM_DEFAULT_FAULT_AFTER;
    for (;;) {
        if (sy_http_stream_congested(req)) {
            call->waiting_drain = true;
            return;
        }
        if (call->bhv.tps) {
            uint64_t now_us = (sy_loop_now(loop) - call->t0_ms) * 1000;
            if (call->due_us >= now_us + 1000) {
                sy_timer_start(&call->timer, (call->due_us - now_us + 999) / 1000);
                return;
            }
        }
        if (midstream(call->bhv.fault) && call->events >= fault_after) {
            if (stream_fault(call))
                return;
            continue;
        }
        sy_buf_clear(out);
        bool last = false;
        uint32_t cost = call->ops->next(call, out, &last);
        if (out->len && sy_http_stream_write(req, sy_buf_ptr(out), out->len) != SY_OK) {
            sy_buf_clear(out);
            call_abort(call, false);
            return;
        }
        sy_buf_clear(out);
        call->events++;
        if (last) {
            call_release(call);
            sy_http_stream_end(req);
            return;
        }
        if (call->bhv.tps)
            call->due_us += (uint64_t)cost * 1000000u / call->bhv.tps;
    }
}

void sy_sim_stream(sy_sim_call_t *call, const sy_sim_stream_ops_t *ops)
{
    call->ops = ops;
    call->stream = true;
    call_watch(call);
    call->phase = PH_TTFT;
    if (call->bhv.ttft_ms)
        sy_timer_start(&call->timer, call->bhv.ttft_ms);
    else
        stream_tick(call);
}
