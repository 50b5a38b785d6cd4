/*
 * proxy.c - the attempt loop of the data path.
 *
 * A request's state (proxy_t) lives in its arena. The sequence:
 *
 *   start: parse (front door) -> model -> attempt(deployment 0)
 *   attempt: adapter.encode -> client.start
 *     on_head 2xx stream  -> stream_body: adapter.stream_feed -> on_delta ->
 *                            front door.stream_event -> client socket
 *     on_head 2xx whole   -> whole_body (capped) -> on_done: decode -> respond
 *     on_head non-2xx     -> error_body (capped) -> on_done: map_error -> fail
 *     on_error            -> fail
 *   fail: before any byte reached the client and the error is retryable ->
 *         attempt(next deployment); otherwise answer the error (or, mid-
 *         stream, end the stream with the front door's error event).
 *   finish: usage -> exact cost -> headers, metrics, access log.
 *
 * The client response head is written only when the first client event is
 * ready, so a stream that fails before its first event can still fall back.
 * Backpressure: when the client socket is congested the upstream read is
 * paused, and resumed from on_drain; a client that goes away cancels the
 * upstream request at once (on_abort).
 */
#include "api/proxy.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/openai.h"
#include "audit/audit.h"
#include "core/log.h"
#include "http/sse.h"
#include "json/json.h"
#include "providers/openai.h"
#include "core/time.h"
#include "router/catalog.h"

#define SY_PROXY_MAX_RESPONSE (64u * 1024 * 1024) /* whole upstream bodies */
#define SY_PROXY_MAX_ERROR_BODY (64u * 1024)
#define SY_PROXY_MAX_HEADERS 32

typedef struct {
    sy_http_req_t *req;
    sy_gateway_worker_t *w;
    sy_config_t *cfg;
    const sy_frontdoor_vt_t *fd;
    sy_ir_request_t ir;
    const sy_config_model_t *model;
    char request_id[32];
    /* attempts */
    size_t next_dep;
    uint32_t attempts;
    sy_buf_t route; /* "provider:status,..." */
    const sy_config_deployment_t *dep;
    const sy_provider_vt_t *vt;
    sy_provider_ctx_t pcx;
    sy_upstream_req_t up;
    sy_http_creq_t *creq;
    int up_status;
    const sy_http_client_head_t *up_head;
    sy_buf_t body;  /* whole 2xx body, or an error body */
    void *dec, *enc;
    sy_buf_t out;   /* client bytes produced by one delta */
    bool client_started;
    bool paused;
    bool done;
    bool aborted;
    bool saw_end;
    /* streamed content, for an estimate when the provider's usage never came */
    uint64_t streamed_bytes, streamed_deltas;
    bool usage_estimated;
    bool embeddings; /* POST /v1/embeddings: body passed through, usage read */
    /* Passthrough: the client's format is the provider's own. The client's
     * JSON goes upstream with only the fields the gateway acts on rewritten,
     * and the provider's answer comes back as it was sent. */
    bool passthrough;
    sy_json_t *client_json;
    sy_sse_reader_t sse;
    sy_buf_t sse_buf;
    const sy_json_t *emb_body;
    sy_ir_usage_t usage;
    sy_ir_error_t err;
    sy_audit_req_t *audit; /* this request's audit record (NULL: audit off) */
    /* timing (monotonic ns) */
    uint64_t t_start, t_up_start, t_up_end, t_ttft;
} proxy_t;

static void attempt(proxy_t *p);
static void finish(proxy_t *p, int status);

void sy_proxy_request_id(sy_gateway_worker_t *w, char out[32])
{
    snprintf(out, 32, "req_%016llx%08llx", (unsigned long long)w->id_prefix,
             (unsigned long long)(++w->id_seq & 0xffffffffULL));
}

/* ---- answering ---- */

static void add_common_headers(proxy_t *p)
{
    sy_http_add_header(p->req, "x-switchyard-request-id", sy_str_c(p->request_id));
    if (p->dep) {
        sy_http_add_header(p->req, "x-switchyard-provider", p->dep->provider);
        sy_http_add_header(p->req, "x-switchyard-model", p->dep->model);
        char route[160];
        snprintf(route, sizeof(route), "%.*s/%.*s; attempts=%u", SY_STR_FMT(p->dep->provider),
                 (int)SY_MIN(p->dep->model.len, (size_t)100), p->dep->model.p, p->attempts);
        sy_http_add_header(p->req, "x-switchyard-route", sy_str_c(route));
    }
}

/* Answer with an error in the front door's own format. */
static void respond_error(proxy_t *p, int status, const char *type, const char *message)
{
    sy_buf_t b;
    sy_buf_init(&b, 64 * 1024);
    p->fd->error_body(status, type, message, &b);
    sy_audit_response_bytes(p->audit, sy_buf_ptr(&b), b.len);
    finish(p, status);
    add_common_headers(p);
    if (p->err.retry_after_ms && (status == 429 || status == 503 || status == 529)) {
        char ra[24];
        snprintf(ra, sizeof(ra), "%llu", (unsigned long long)((p->err.retry_after_ms + 999) / 1000));
        sy_http_add_header(p->req, "retry-after", sy_str_c(ra));
    }
    sy_http_respond(p->req, status, "application/json", sy_buf_ptr(&b), b.len);
    sy_buf_free(&b);
}

/* ---- accounting ---- */

static const sy_catalog_entry_t *price_of(const proxy_t *p)
{
    if (p->dep == NULL || p->dep->provider_cfg == NULL)
        return NULL;
    return sy_catalog_find(p->dep->provider_cfg->kind, p->dep->model);
}

/* Record the request once: metrics and the access log. `status` is what the
 * client got. Safe to call more than once (only the first counts). */
static void finish(proxy_t *p, int status)
{
    if (p->done)
        return;
    p->done = true;
    /* A stream that ended early (client gone, upstream cut) may never have
     * carried the provider's usage report. The provider still produced, and
     * bills, what was streamed: estimate it from the content and the request
     * (about 4 bytes a token) rather than account nothing. */
    if (p->ir.stream && p->dep && !p->saw_end && (p->streamed_deltas || p->aborted)) {
        /* message_start-style reports are provisional: keep the larger. */
        uint64_t est = SY_MAX((p->streamed_bytes + 3) / 4, p->streamed_deltas);
        if (!p->usage.has_output || p->usage.output < est) {
            p->usage.output = est;
            p->usage.has_output = true;
            p->usage_estimated = true;
        }
    }
    if (p->ir.stream && p->dep && p->usage_estimated && !p->usage.has_input) {
        p->usage.input = sy_ir_estimate_input_tokens(&p->ir);
        p->usage.has_input = true;
    }
    uint64_t now = sy_now_ns();
    const sy_catalog_entry_t *price = price_of(p);
    uint64_t cost = price ? sy_cost_pico(&price->price, &p->usage) : 0;
    sy_str_t provider = p->dep ? p->dep->provider : SY_STR("");
    sy_str_t model = p->model ? p->model->name : p->ir.model;
    char st[8];
    snprintf(st, sizeof(st), "%d", status);
    sy_metrics_shard_t *m = p->w->metrics;
    sy_str_t fdname = sy_str_c(p->fd->name);
    sy_metrics_add(m, SY_M_REQUESTS, 1, fdname, provider, model, sy_str_c(st));
    uint64_t total = now - p->t_start;
    uint64_t upstream = p->t_up_start ? (p->t_up_end ? p->t_up_end : now) - p->t_up_start : 0;
    sy_metrics_observe(m, SY_M_REQUEST_DURATION, total, fdname);
    sy_metrics_observe(m, SY_M_OVERHEAD, total > upstream ? total - upstream : 0, fdname);
    if (p->dep) {
        if (upstream)
            sy_metrics_observe(m, SY_M_UPSTREAM_LATENCY, upstream, provider);
        if (p->t_ttft)
            sy_metrics_observe(m, SY_M_TTFT, p->t_ttft - p->t_start, provider);
        const sy_ir_usage_t *u = &p->usage;
        if (u->has_input)
            sy_metrics_add(m, SY_M_TOKENS, u->input, provider, p->dep->model, SY_STR("input"),
                           SY_STR_NULL);
        if (u->has_output)
            sy_metrics_add(m, SY_M_TOKENS, u->output, provider, p->dep->model, SY_STR("output"),
                           SY_STR_NULL);
        if (u->has_cached_input)
            sy_metrics_add(m, SY_M_TOKENS, u->cached_input, provider, p->dep->model,
                           SY_STR("cached_input"), SY_STR_NULL);
        if (u->has_reasoning)
            sy_metrics_add(m, SY_M_TOKENS, u->reasoning, provider, p->dep->model,
                           SY_STR("reasoning"), SY_STR_NULL);
        if (price)
            sy_metrics_cost(m, cost, provider, p->dep->model);
    }
    if (status < 400 && p->usage.has_output && !p->client_started && price) {
        char usd[32];
        sy_http_add_header(p->req, "x-switchyard-cost-usd", sy_str_c(sy_cost_format(cost, usd)));
    }
    sy_access_entry_t e = {
        .request_id = sy_str_c(p->request_id),
        .frontdoor = fdname,
        .method = p->req->head.method,
        .path = p->req->head.path,
        .model = model,
        .provider = provider,
        .upstream_model = p->dep ? p->dep->model : SY_STR(""),
        .status = status,
        .stream = p->ir.stream,
        .attempts = p->attempts,
        .attempt_log = sy_buf_str(&p->route),
        .error_class = p->err.cls ? sy_str_c(sy_ir_error_class_name(p->err.cls)) : SY_STR(""),
        .duration_ns = total,
        .upstream_ns = upstream,
        .ttft_ns = p->t_ttft ? p->t_ttft - p->t_start : 0,
        .usage = p->usage,
        .cost_pico = cost,
        .cost_known = price != NULL && (p->usage.has_input || p->usage.has_output),
        .client_aborted = p->aborted,
        .usage_estimated = p->usage_estimated,
    };
    sy_access_write(&p->w->access, &e);
    sy_audit_submit(p->audit, &e, p->dep ? p->dep->provider_cfg : NULL, p->req->body);
}

/* Runs when the request's arena is reset, i.e. when the request has ended
 * (response complete or client gone): nothing can use p after this. */
static void release_cb(void *arg)
{
    proxy_t *p = arg;
    if (p->creq) {
        sy_http_client_cancel(p->creq);
        p->creq = NULL;
    }
    sy_buf_free(&p->route);
    sy_buf_free(&p->body);
    sy_buf_free(&p->out);
    sy_buf_free(&p->sse_buf);
    sy_config_unref(p->cfg);
    p->cfg = NULL;
}

/* ---- streaming to the client ---- */

static void client_drain_cb(sy_http_req_t *req)
{
    proxy_t *p = req->data;
    if (p->paused && p->creq) {
        p->paused = false;
        sy_http_client_resume(p->creq);
    }
}

static void begin_client_stream(proxy_t *p)
{
    if (p->client_started)
        return;
    p->client_started = true;
    add_common_headers(p);
    sy_http_add_header(p->req, "cache-control", SY_STR("no-cache"));
    sy_http_stream_begin(p->req, 200, "text/event-stream");
}

static int on_delta(void *ctx, const sy_ir_delta_t *d)
{
    proxy_t *p = ctx;
    switch (d->kind) {
    case SY_IR_DELTA_START:
    case SY_IR_DELTA_USAGE:
        sy_ir_usage_merge(&p->usage, &d->usage);
        break;
    case SY_IR_DELTA_TEXT:
    case SY_IR_DELTA_THINKING:
    case SY_IR_DELTA_TOOL_ARGS:
        p->streamed_bytes += d->text.len;
        p->streamed_deltas++;
        if (!p->t_ttft)
            p->t_ttft = sy_now_ns();
        break;
    case SY_IR_DELTA_BLOCK_START:
        if (!p->t_ttft)
            p->t_ttft = sy_now_ns();
        break;
    case SY_IR_DELTA_END:
        p->saw_end = true;
        break;
    case SY_IR_DELTA_ERROR:
        if (!p->client_started && sy_ir_error_retryable(d->error.cls) &&
            p->next_dep < p->model->ndeployments) {
            /* Nothing reached the client yet: this attempt can still fail over. */
            p->err = d->error;
            p->err.message = sy_str_dup(p->req->arena, d->error.message);
            return SY_EAGAIN;
        }
        p->err = d->error;
        break;
    default:
        break;
    }
    if (p->passthrough && d->kind != SY_IR_DELTA_ERROR)
        return SY_OK; /* the raw events are forwarded by forward_raw() */
    sy_buf_clear(&p->out);
    if (p->fd->stream_event(p->enc, d, &p->out) != SY_OK)
        return SY_ERR;
    if (p->out.len == 0)
        return SY_OK;
    begin_client_stream(p);
    sy_audit_response_bytes(p->audit, sy_buf_ptr(&p->out), p->out.len);
    if (sy_http_stream_write(p->req, sy_buf_ptr(&p->out), p->out.len) != SY_OK)
        return SY_ECLOSED;
    return SY_OK;
}

static void end_client_stream(proxy_t *p)
{
    begin_client_stream(p);
    finish(p, 200);
    sy_http_stream_end(p->req);
}

/* The stream failed after bytes reached the client: end it well-formed with
 * the front door's own error event. */
static void fail_stream(proxy_t *p, sy_ir_error_class_t cls, const char *message)
{
    sy_ir_delta_t d;
    memset(&d, 0, sizeof(d));
    d.kind = SY_IR_DELTA_ERROR;
    d.error.cls = cls;
    d.error.status = sy_ir_error_status(cls);
    d.error.message = sy_str_c(message);
    p->err = d.error;
    sy_buf_clear(&p->out);
    if (p->fd->stream_event(p->enc, &d, &p->out) == SY_OK && p->out.len) {
        sy_audit_response_bytes(p->audit, sy_buf_ptr(&p->out), p->out.len);
        sy_http_stream_write(p->req, sy_buf_ptr(&p->out), p->out.len);
    }
    end_client_stream(p);
}

/* ---- upstream callbacks ---- */

static void fail(proxy_t *p);

/* An OpenAI chunk that carries only usage (choices: []), which the gateway
 * asked for on the client's behalf. */
static bool usage_only_chunk(sy_str_t data)
{
    return sy_str_find(data, SY_STR("\"choices\":[]")) >= 0 &&
           sy_str_find(data, SY_STR("\"usage\":{")) >= 0;
}

/* Passthrough: forward the upstream's events as they are, except the usage
 * chunk a client did not ask for. */
static int forward_raw(proxy_t *p, const char *data, size_t len)
{
    while (len) {
        size_t used = 0;
        sy_sse_event_t ev;
        int rc = sy_sse_next(&p->sse, data, len, &used, &ev);
        data += used;
        len -= used;
        if (rc == SY_EAGAIN)
            return SY_OK;
        if (rc != SY_OK)
            return rc;
        if (ev.comment)
            continue;
        if (p->fd->format == SY_FORMAT_OPENAI && !p->ir.include_usage && usage_only_chunk(ev.data))
            continue;
        sy_buf_clear(&p->out);
        if (sy_sse_write(&p->out, ev.event, ev.data) != SY_OK)
            return SY_ERR;
        begin_client_stream(p);
        sy_audit_response_bytes(p->audit, sy_buf_ptr(&p->out), p->out.len);
        if (sy_http_stream_write(p->req, sy_buf_ptr(&p->out), p->out.len) != SY_OK)
            return SY_ECLOSED;
    }
    return SY_OK;
}

static void stream_body_cb(sy_http_creq_t *r, const char *data, size_t len)
{
    proxy_t *p = sy_http_creq_data(r);
    int rc = p->vt->stream_feed(p->dec, data, len, on_delta, p);
    if (rc == SY_OK && p->passthrough && !p->done)
        rc = forward_raw(p, data, len);
    if (rc == SY_EAGAIN) { /* a retryable error event before any client byte */
        sy_http_client_cancel(r);
        p->creq = NULL;
        fail(p);
        return;
    }
    if (rc == SY_ECLOSED) {
        sy_http_client_cancel(r);
        p->creq = NULL;
        return; /* the client is gone: on_abort accounts */
    }
    if (rc != SY_OK) {
        /* Malformed stream: the decoder emitted an ERROR delta already when it could. */
        sy_http_client_cancel(r);
        p->creq = NULL;
        if (p->client_started) {
            if (!p->done)
                end_client_stream(p);
        } else {
            p->err.cls = SY_IR_ERR_BAD_RESPONSE;
            p->err.message = SY_STR("the provider sent a malformed stream");
            fail(p);
        }
        return;
    }
    if (!p->paused && sy_http_stream_congested(p->req)) {
        p->paused = true;
        sy_http_client_pause(r);
    }
}

static void collect_body_cb(sy_http_creq_t *r, const char *data, size_t len)
{
    proxy_t *p = sy_http_creq_data(r);
    if (sy_buf_append(&p->body, data, len) != SY_OK) {
        sy_http_client_cancel(r);
        p->creq = NULL;
        p->err.cls = SY_IR_ERR_BAD_RESPONSE;
        p->err.status = p->up_status;
        p->err.message = SY_STR("the provider's response is larger than the gateway accepts");
        fail(p);
    }
}

static sy_http_client_body_cb on_head(sy_http_creq_t *r, const sy_http_client_head_t *head)
{
    proxy_t *p = sy_http_creq_data(r);
    p->up_status = head->status;
    p->up_head = head;
    sy_buf_clear(&p->body);
    char st[16];
    snprintf(st, sizeof(st), "%s%.*s:%d", p->route.len ? "," : "", SY_STR_FMT(p->dep->provider),
             head->status);
    sy_buf_append_c(&p->route, st);
    if (head->status >= 200 && head->status < 300) {
        if (p->up.stream) {
            p->dec = p->vt->stream_new(p->req->arena, &p->pcx, &p->ir);
            if (p->passthrough) {
                sy_buf_free(&p->sse_buf);
                sy_buf_init(&p->sse_buf, SY_SSE_DEFAULT_MAX_DATA + SY_SSE_DEFAULT_MAX_LINE);
                sy_sse_reader_init(&p->sse, &p->sse_buf, 0, 0, 0);
            }
            return stream_body_cb;
        }
        p->body.max = SY_PROXY_MAX_RESPONSE;
        return collect_body_cb;
    }
    p->body.max = SY_PROXY_MAX_ERROR_BODY;
    return collect_body_cb;
}

static void on_done(sy_http_creq_t *r)
{
    proxy_t *p = sy_http_creq_data(r);
    p->creq = NULL;
    p->t_up_end = sy_now_ns();
    if (p->up_status < 200 || p->up_status >= 300) {
        sy_ir_error_t e;
        memset(&e, 0, sizeof(e));
        p->vt->map_error(p->up_status, p->up_head->headers, p->up_head->nheaders,
                         sy_buf_str(&p->body), &e);
        p->err = e;
        p->err.status = p->up_status;
        p->err.message = sy_str_dup(p->req->arena, e.message);
        sy_metrics_add(p->w->metrics, SY_M_UPSTREAM_ERRORS, 1, p->dep->provider,
                       sy_str_c(sy_ir_error_class_name(e.cls)), SY_STR_NULL, SY_STR_NULL);
        fail(p);
        return;
    }
    if (p->up.stream) {
        int rc = p->vt->stream_end(p->dec, on_delta, p);
        if (rc == SY_EAGAIN) {
            fail(p);
            return;
        }
        if (p->done || p->req->conn == NULL)
            return;
        if (!p->client_started && p->err.cls) {
            fail(p);
            return;
        }
        end_client_stream(p);
        return;
    }
    if (p->embeddings) {
        sy_openai_embeddings_usage(p->req->arena, sy_buf_str(&p->body), &p->usage);
        sy_buf_t eout;
        sy_buf_init(&eout, SY_PROXY_MAX_RESPONSE);
        if (sy_openai_embeddings_respond(p->req->arena, sy_buf_str(&p->body), p->ir.model, &eout) !=
            SY_OK) {
            sy_buf_free(&eout);
            p->err.cls = SY_IR_ERR_BAD_RESPONSE;
            p->err.message = SY_STR("the provider's embeddings response could not be read");
            fail(p);
            return;
        }
        sy_audit_response_bytes(p->audit, sy_buf_ptr(&eout), eout.len);
        finish(p, 200);
        add_common_headers(p);
        sy_http_respond(p->req, 200, "application/json", sy_buf_ptr(&eout), eout.len);
        sy_buf_free(&eout);
        return;
    }
    sy_ir_response_t resp;
    memset(&resp, 0, sizeof(resp));
    sy_ir_error_t e;
    memset(&e, 0, sizeof(e));
    if (p->vt->decode(p->req->arena, &p->pcx, sy_buf_str(&p->body), &resp, &e) != SY_OK) {
        p->err = e;
        if (!p->err.cls)
            p->err.cls = SY_IR_ERR_BAD_RESPONSE;
        if (!p->err.message.len)
            p->err.message = SY_STR("the provider's response could not be read");
        fail(p);
        return;
    }
    p->usage = resp.usage;
    if (p->passthrough) {
        /* The provider's body, as it sent it: decode() above read its usage. */
        sy_audit_response_bytes(p->audit, sy_buf_ptr(&p->body), p->body.len);
        finish(p, 200);
        add_common_headers(p);
        sy_http_respond(p->req, 200, "application/json", sy_buf_ptr(&p->body), p->body.len);
        return;
    }
    sy_buf_t out;
    sy_buf_init(&out, SY_PROXY_MAX_RESPONSE);
    if (p->fd->respond(p->req->arena, &p->ir, &resp, &out) != SY_OK) {
        sy_buf_free(&out);
        p->err.cls = SY_IR_ERR_INTERNAL;
        respond_error(p, 500, NULL, "the gateway could not encode the response");
        return;
    }
    sy_audit_response_bytes(p->audit, sy_buf_ptr(&out), out.len);
    finish(p, 200);
    add_common_headers(p);
    sy_http_respond(p->req, 200, "application/json", sy_buf_ptr(&out), out.len);
    sy_buf_free(&out);
}

static sy_ir_error_class_t client_error_class(sy_http_client_err_t code)
{
    switch (code) {
    case SY_HTTP_CLIENT_ETIMEOUT_CONNECT:
    case SY_HTTP_CLIENT_ETIMEOUT_FIRST_BYTE:
    case SY_HTTP_CLIENT_ETIMEOUT_IDLE:
    case SY_HTTP_CLIENT_ETIMEOUT_TOTAL:
        return SY_IR_ERR_TIMEOUT;
    case SY_HTTP_CLIENT_EPROTOCOL:
        return SY_IR_ERR_BAD_RESPONSE;
    case SY_HTTP_CLIENT_EREQUEST:
        return SY_IR_ERR_INTERNAL;
    default:
        return SY_IR_ERR_CONNECTION;
    }
}

static void on_error(sy_http_creq_t *r, const sy_http_client_error_t *err)
{
    proxy_t *p = sy_http_creq_data(r);
    p->creq = NULL;
    p->t_up_end = sy_now_ns();
    p->err.cls = client_error_class(err->code);
    p->err.status = 0;
    p->err.message = sy_str_dup(p->req->arena, sy_str_c(err->message));
    char st[96];
    snprintf(st, sizeof(st), "%s%.*s:%s", p->route.len ? "," : "", SY_STR_FMT(p->dep->provider),
             sy_http_client_err_name(err->code));
    sy_buf_append_c(&p->route, st);
    sy_metrics_add(p->w->metrics, SY_M_UPSTREAM_ERRORS, 1, p->dep->provider,
                   sy_str_c(sy_ir_error_class_name(p->err.cls)), SY_STR_NULL, SY_STR_NULL);
    sy_log(SY_LOG_WARN, "upstream attempt failed",
           "\"request_id\":\"%s\",\"provider\":\"%.*s\",\"error\":\"%s\"", p->request_id,
           SY_STR_FMT(p->dep->provider), sy_http_client_err_name(err->code));
    fail(p);
}

/* The current attempt failed with p->err: fall back, or give up. */
static void fail(proxy_t *p)
{
    if (p->done)
        return;
    if (p->client_started) {
        char msg[300];
        snprintf(msg, sizeof(msg), "the provider failed mid-stream: %.*s",
                 (int)SY_MIN(p->err.message.len, (size_t)250), p->err.message.p);
        fail_stream(p, p->err.cls ? p->err.cls : SY_IR_ERR_SERVER, msg);
        return;
    }
    if (sy_ir_error_retryable(p->err.cls) && p->next_dep < p->model->ndeployments) {
        attempt(p);
        return;
    }
    int status = p->err.cls ? sy_ir_error_status(p->err.cls) : 502;
    /* Anthropic's own API says "overloaded" with 529, and its SDK raises
     * OverloadedError for exactly that status. */
    if (p->err.cls == SY_IR_ERR_OVERLOADED && p->fd->format == SY_FORMAT_ANTHROPIC)
        status = 529;
    /* The provider's own words are safe to show (they never hold our key);
     * say which provider so an operator can act. */
    char msg[600];
    snprintf(msg, sizeof(msg), "%.*s (provider %.*s, %s)",
             (int)SY_MIN(p->err.message.len, (size_t)400),
             p->err.message.len ? p->err.message.p : "", SY_STR_FMT(p->dep->provider),
             sy_ir_error_class_name(p->err.cls));
    respond_error(p, status, NULL, msg);
}

/* ---- attempts ---- */

static void build_ctx(proxy_t *p, const sy_config_deployment_t *dep)
{
    const sy_config_provider_t *pc = dep->provider_cfg;
    sy_provider_ctx_t *cx = &p->pcx;
    memset(cx, 0, sizeof(*cx));
    cx->provider_name = pc->name;
    cx->base_url = pc->base_url;
    sy_http_url_t url;
    const char *uerr;
    cx->base_path = sy_http_url_parse(pc->base_url, &url, &uerr) == SY_OK ? url.path : SY_STR("");
    cx->api_key = pc->api_key;
    cx->model = dep->model;
    cx->api_version = pc->api_version;
    cx->azure = pc->azure;
    cx->region = pc->region;
    cx->aws_access_key_id = pc->aws_access_key_id;
    cx->aws_secret_access_key = pc->aws_secret_access_key;
    cx->aws_session_token = pc->aws_session_token;
    cx->now = (int64_t)time(NULL);
    cx->default_max_tokens = dep->max_tokens_default;
}

/* The client's body with the fields the gateway acts on rewritten: the
 * model (the deployment's upstream id) and, for OpenAI streams, usage
 * reporting (the gateway must read exact usage; the extra chunk is hidden
 * from a client that did not ask for it). Every other member passes as the
 * client wrote it, numbers and unknown fields included. */
static int passthrough_body(proxy_t *p)
{
    sy_arena_t *a = p->req->arena;
    sy_json_t *root = p->client_json;
    sy_json_set(a, root, SY_STR("model"), sy_json_new_str(a, p->dep->model));
    if (p->fd->format == SY_FORMAT_OPENAI && p->ir.stream) {
        sy_json_t *so = sy_json_get(root, "stream_options");
        sy_json_t *nso = sy_json_new_object(a);
        if (so && so->type == SY_JSON_OBJECT)
            for (size_t i = 0; i < so->u.obj.len; i++)
                if (!sy_str_eq_c(so->u.obj.items[i].key, "include_usage"))
                    sy_json_set(a, nso, so->u.obj.items[i].key, &so->u.obj.items[i].value);
        sy_json_set(a, nso, SY_STR("include_usage"), sy_json_new_bool(a, true));
        sy_json_set(a, root, SY_STR("stream_options"), nso);
    }
    sy_buf_t b;
    sy_buf_init(&b, SY_PROXY_MAX_RESPONSE);
    if (sy_json_serialize(root, &b, 0) != SY_OK) {
        sy_buf_free(&b);
        return SY_ERR;
    }
    p->up.body = sy_str_dup(a, sy_buf_str(&b));
    sy_buf_free(&b);
    return SY_OK;
}

static void attempt(proxy_t *p)
{
    const sy_config_deployment_t *dep = &p->model->deployments[p->next_dep++];
    p->dep = dep;
    p->attempts++;
    p->vt = sy_provider_find(dep->provider_cfg->kind);
    p->dec = NULL;
    memset(&p->err, 0, sizeof(p->err));
    build_ctx(p, dep);
    memset(&p->up, 0, sizeof(p->up));
    sy_ir_error_t e;
    memset(&e, 0, sizeof(e));
    int erc = p->embeddings
                  ? sy_openai_embeddings_encode(p->req->arena, &p->pcx, p->emb_body, &p->up)
                  : p->vt->encode(p->req->arena, &p->pcx, &p->ir, &p->up, &e);
    if (erc != SY_OK) {
        p->err = e;
        if (!p->err.cls)
            p->err.cls = SY_IR_ERR_BAD_REQUEST;
        fail(p);
        return;
    }
    p->passthrough = !p->embeddings && p->client_json && p->fd->format != SY_FORMAT_NONE &&
                     p->fd->format == p->vt->native;
    if (p->passthrough && passthrough_body(p) != SY_OK)
        p->passthrough = false; /* keep the adapter's own body */
    sy_http_origin_t origin;
    sy_str_t path;
    const char *oerr = NULL;
    if (sy_http_origin_from_url(&origin, dep->provider_cfg->base_url, &path, &oerr) != SY_OK ||
        (dep->provider_cfg->proxy.len &&
         sy_http_origin_set_proxy(&origin, dep->provider_cfg->proxy, NULL, &oerr) != SY_OK)) {
        p->err.cls = SY_IR_ERR_INTERNAL;
        p->err.message = sy_str_c(oerr ? oerr : "invalid provider URL");
        fail(p);
        return;
    }
    sy_http_header_t *hs = sy_arena_alloc(p->req->arena, SY_PROXY_MAX_HEADERS * sizeof(*hs));
    size_t nh = 0;
    hs[nh++] = (sy_http_header_t){SY_STR("Content-Type"),
                                  p->up.content_type.len ? p->up.content_type
                                                         : SY_STR("application/json")};
    hs[nh++] = (sy_http_header_t){SY_STR("Accept"), p->up.stream ? SY_STR("text/event-stream")
                                                                 : SY_STR("application/json")};
    for (sy_upstream_header_t *h = p->up.headers; h && nh < SY_PROXY_MAX_HEADERS; h = h->next)
        hs[nh++] = (sy_http_header_t){h->name, h->value};
    const sy_config_limits_t *lim = &p->cfg->limits;
    sy_http_client_req_t cr = {
        .origin = &origin,
        .method = p->up.method ? p->up.method : "POST",
        .target = p->up.path,
        .headers = hs,
        .nheaders = nh,
        .body = p->up.body,
        .timeouts = {.connect_ms = lim->upstream_connect_timeout_ms,
                     .first_byte_ms = lim->upstream_first_byte_timeout_ms,
                     .idle_ms = lim->upstream_idle_timeout_ms,
                     .total_ms = 0},
        .on_head = on_head,
        .on_done = on_done,
        .on_error = on_error,
        .data = p,
    };
    if (!p->t_up_start)
        p->t_up_start = sy_now_ns();
    p->creq = sy_http_client_start(p->w->client, &cr);
}

static void on_abort_cb(sy_http_req_t *req)
{
    proxy_t *p = req->data;
    p->aborted = true;
    if (p->creq) {
        sy_http_client_cancel(p->creq);
        p->creq = NULL;
    }
    /* The provider produced what it produced until now: account for it. */
    finish(p, 499);
}

static proxy_t *proxy_new(sy_http_req_t *req, sy_gateway_worker_t *w, sy_config_t *cfg,
                          const sy_frontdoor_vt_t *fd)
{
    proxy_t *p = sy_arena_calloc(req->arena, sizeof(*p));
    p->req = req;
    p->w = w;
    p->cfg = cfg;
    sy_config_ref(cfg);
    p->fd = fd;
    p->t_start = req->start_ns;
    sy_buf_init(&p->route, 1024);
    sy_buf_init(&p->body, SY_PROXY_MAX_RESPONSE);
    sy_buf_init(&p->out, 4 * 1024 * 1024);
    sy_buf_init(&p->sse_buf, 0);
    sy_proxy_request_id(w, p->request_id);
    sy_arena_cleanup(req->arena, release_cb, p);
    req->data = p;
    req->on_abort = on_abort_cb;
    req->on_drain = client_drain_cb;
    return p;
}

/* A place for the request's audit record, or a 503 when the audit queue
 * stayed full (audit/audit.h): a request is never served unrecorded. */
static bool audit_admit(proxy_t *p)
{
    if (sy_audit_begin(p->req->arena, &p->audit) == SY_OK)
        return true;
    p->err.cls = SY_IR_ERR_OVERLOADED;
    p->err.retry_after_ms = 1000;
    respond_error(p, 503, NULL, "The gateway's audit log is falling behind; retry shortly.");
    return false;
}

void sy_proxy_chat(sy_http_req_t *req, sy_gateway_worker_t *w, sy_config_t *cfg,
                   const sy_frontdoor_vt_t *fd)
{
    proxy_t *p = proxy_new(req, w, cfg, fd);
    if (!audit_admit(p))
        return;
    int status = 400;
    const char *message = NULL;
    if (fd->parse(req->arena, req->body, &p->ir, &status, &message) != SY_OK) {
        p->err.cls = SY_IR_ERR_BAD_REQUEST;
        respond_error(p, status, NULL, message ? message : "invalid request body");
        return;
    }
    p->model = sy_config_find_model(cfg, p->ir.model);
    if (p->model == NULL) {
        char msg[300];
        snprintf(msg, sizeof(msg), "The model `%.*s` does not exist or you do not have access to it.",
                 (int)SY_MIN(p->ir.model.len, (size_t)200), p->ir.model.p);
        p->err.cls = SY_IR_ERR_NOT_FOUND;
        respond_error(p, 404, NULL, msg);
        return;
    }
    if (p->ir.stream)
        p->enc = fd->stream_new(req->arena, &p->ir);
    /* Kept for passthrough to a provider of the same format. The front door
     * validated the body already, so this parse cannot fail on bad input. */
    sy_json_error_t jerr;
    if (sy_json_parse(req->arena, req->body.p, req->body.len, NULL, &p->client_json, &jerr) != SY_OK)
        p->client_json = NULL;
    attempt(p);
}

void sy_proxy_embeddings(sy_http_req_t *req, sy_gateway_worker_t *w, sy_config_t *cfg)
{
    proxy_t *p = proxy_new(req, w, cfg, &sy_frontdoor_openai);
    if (!audit_admit(p))
        return;
    p->embeddings = true;
    int status = 400;
    const char *message = NULL;
    sy_openai_embeddings_t emb;
    if (sy_openai_embeddings_parse(req->arena, req->body, &emb, &status, &message) != SY_OK) {
        p->err.cls = SY_IR_ERR_BAD_REQUEST;
        respond_error(p, status, NULL, message ? message : "invalid request body");
        return;
    }
    p->ir.model = emb.model;
    p->emb_body = emb.body;
    p->model = sy_config_find_model(cfg, emb.model);
    if (p->model == NULL) {
        char msg[300];
        snprintf(msg, sizeof(msg), "The model `%.*s` does not exist or you do not have access to it.",
                 (int)SY_MIN(emb.model.len, (size_t)200), emb.model.p);
        p->err.cls = SY_IR_ERR_NOT_FOUND;
        respond_error(p, 404, NULL, msg);
        return;
    }
    for (size_t i = 0; i < p->model->ndeployments; i++)
        if (!sy_str_eq_c(p->model->deployments[i].provider_cfg->kind, "openai")) {
            p->err.cls = SY_IR_ERR_BAD_REQUEST;
            respond_error(p, 400, NULL,
                          "embeddings are served by OpenAI-compatible providers only; this model "
                          "has a deployment of another kind");
            return;
        }
    attempt(p);
}
