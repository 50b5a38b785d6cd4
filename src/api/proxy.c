/*
 * proxy.c - the attempt loop of the data path.
 *
 * A request's state (proxy_t) lives in its arena. The sequence:
 *
 *   start: parse (front door) -> model group -> the router's plan (an
 *          ordered list of deployments, router/router.h); nothing can
 *          serve it: a 4xx/503 naming the unmet constraints
 *   launch(candidate): admission (circuit, RPM/TPM reservation) ->
 *          adapter.encode -> client.start
 *     on_head 2xx stream  -> stream_body: adapter.stream_feed -> on_delta ->
 *                            front door.stream_event -> client socket
 *     on_head 2xx whole   -> whole_body (capped) -> on_done: decode -> respond
 *     on_head non-2xx     -> error_body (capped) -> on_done: map_error -> failed
 *     on_error            -> failed
 *   failed: the policy (router/policy.h) decides from the error class:
 *          retry the same deployment after a backoff (a timer), fall back
 *          to the plan's next deployment (after "context too long", only a
 *          larger window), or answer the error. Nothing is retried once a
 *          byte reached the client: a stream then ends with the front
 *          door's own error event.
 *   hedge: for whole (non-streamed) chat calls when the group hedges, a
 *          second deployment is asked after the hedge delay if the first
 *          has not answered; the first 2xx head wins and the other is
 *          cancelled (not accounted: its usage never arrives).
 *   finish: usage -> exact cost -> headers, metrics, access log.
 *
 * Each attempt (attempt_t) holds its deployment's in-flight count, its
 * RPM/TPM reservations and, when it probes an open circuit, the probe; all
 * are given back exactly once when the attempt ends (attempt_end), however
 * it ends: answered, failed, cancelled, or the client gone.
 *
 * The client response head is written only when the first client event is
 * ready, so a stream that fails before its first event can still fall back.
 * Backpressure: when the client socket is congested the upstream read is
 * paused, and resumed from on_drain; a client that goes away cancels the
 * upstream request at once (on_abort).
 */
#include "api/proxy.h"

#include <stddef.h>
#include <string.h>
#include <time.h>

#include "api/openai.h"
#include "audit/audit.h"
#include "harness/gov.h"
#include "harness/guard.h"
#include "core/fmt.h"
#include "core/log.h"
#include "core/time.h"
#include "http/sse.h"
#include "json/json.h"
#include "providers/openai.h"
#include "router/catalog.h"
#include "router/policy.h"
#include "router/router.h"

#define SY_PROXY_MAX_RESPONSE (64u * 1024 * 1024) /* whole upstream bodies */
#define SY_PROXY_MAX_ERROR_BODY (64u * 1024)
#define SY_PROXY_MAX_HEADERS 32
#define SY_PROXY_MAX_ROUTE_LOG (16u * 1024) /* the access log's route array */

typedef struct proxy proxy_t;

/* Text kept in the request arena and grown there (an outgrown copy stays
 * until the request ends): the route notes, so a request has no heap buffer
 * of its own to allocate and free for them. */
typedef struct {
    char *p;
    size_t len, cap;
} note_buf_t;

/* Passthrough streams: the upstream's SSE events are re-read to be
 * forwarded one by one. Only a stream needs this, so it is allocated when
 * one starts rather than with every request. */
typedef struct {
    sy_sse_reader_t sse;
    sy_buf_t buf;
} raw_stream_t;

/* One upstream attempt. A request runs at most two at once (a hedge). */
typedef struct {
    proxy_t *p;
    uint32_t cand; /* index in the plan's candidates */
    const sy_config_deployment_t *dep;
    sy_route_state_t *state;
    const sy_provider_vt_t *vt;
    sy_provider_ctx_t pcx;
    sy_upstream_req_t up;
    sy_http_creq_t *creq;
    int up_status;
    const sy_http_client_head_t *up_head;
    sy_buf_t body; /* whole 2xx body, or an error body */
    bool body_in_arena; /* body's storage is request arena memory (body_room) */
    void *dec;
    sy_ir_error_t err;
    uint64_t t_start, t_first; /* ns: sent; first token (streams) */
    sy_rate_resv_t rpm, tpm;
    sy_gov_dep_t *shared; /* RPM/TPM reserved in Redis (counters: redis), or NULL */
    bool admitting; /* waiting for the shared counters' answer (not yet active) */
    bool active;  /* between launch and attempt_end */
    bool counted; /* holds an in-flight count */
    bool probe;   /* holds the circuit's half-open probe (until its verdict) */
    bool probed;  /* was admitted as the probe (for the log) */
    bool heard_ok, heard_fail; /* the circuit heard a success / a failure */
    bool hedge;   /* started by the hedge timer */
    /* Passthrough: the client's format is the provider's own. The client's
     * JSON goes upstream with only the fields the gateway acts on rewritten,
     * and the provider's answer comes back as it was sent. */
    bool passthrough;
    sy_guard_stream_t *gs; /* output guardrail between decoder and front door, or NULL */
} attempt_t;

struct proxy {
    sy_http_req_t *req;
    sy_gateway_worker_t *w;
    sy_config_t *cfg;
    const sy_frontdoor_vt_t *fd;
    sy_ir_request_t ir;
    const sy_config_model_t *model;
    char request_id[32];
    /* the plan */
    sy_route_ctx_t rc;
    sy_route_plan_t *plan;
    const sy_config_deployment_t *deps;
    size_t ndeps;
    uint32_t cursor;      /* next position in plan->order */
    uint8_t tries[SY_ROUTE_MAX_DEPLOYMENTS]; /* attempts per candidate */
    uint64_t ctx_floor;   /* after "context too long": only larger windows */
    uint64_t deadline_ns; /* no attempt starts after this */
    /* attempts */
    attempt_t att[2];
    attempt_t *cur; /* the attempt whose answer the client gets */
    const sy_config_deployment_t *dep; /* cur's deployment (for accounting and headers) */
    uint32_t attempts, retries, fallbacks;
    bool hedged;
    sy_timer_t retry_timer, hedge_timer;
    uint32_t retry_cand;
    note_buf_t route;   /* JSON array of attempts, for the access log */
    sy_buf_t tried;     /* "label:class,..." for x-switchyard-route */
    note_buf_t summary; /* "label:status,label:class,..." of every attempt (audit record) */
    /* client side */
    void *enc;
    sy_buf_t out; /* client bytes produced by one delta */
    bool client_started;
    bool paused;
    bool done;
    bool aborted;
    bool saw_end;
    /* streamed content, for an estimate when the provider's usage never came */
    uint64_t streamed_bytes, streamed_deltas;
    bool usage_estimated;
    bool embeddings; /* POST /v1/embeddings: body passed through, usage read */
    bool relay; /* the client's body may go upstream as written (passthrough) */
    raw_stream_t *raw; /* a passthrough stream's event reader (allocated when it starts) */
    const sy_json_t *emb_body;
    sy_ir_usage_t usage;
    sy_ir_error_t err; /* the last attempt's error */
    /* why a deployment limit held an attempt back: what the client hears
     * when nothing could be tried at all (give_up) */
    sy_ir_error_t limit_err;
    /* timing (monotonic ns) */
    uint64_t t_start, t_up_start, t_up_end, t_ttft;
    sy_audit_req_t *audit; /* this request's audit record (NULL: audit off) */
    /* governance (harness/gov.h): the principal, its residency, its
     * reservations. A guardrail that restricts the request sets guard_class
     * and guard_juris (its verdict's restriction) before planning. */
    sy_gov_req_t *gov;
    sy_residency_t *residency; /* allocated when it is worked out */
    sy_str_t guard_class;
    /* Output guardrails: the principal's policy when its output side acts. */
    const sy_guard_policy_t *guard_out;
    const sy_str_t *guard_juris;
    size_t nguard_juris;
    /* Not zeroed by proxy_new (about half the struct): the request's needs
     * are written whole (sy_route_need_from_ir, or a memset for embeddings)
     * before anything reads them. Keep this member last. */
    sy_route_need_t need;
};

static bool try_next(proxy_t *p, attempt_t *a, bool hedge);
static void launch(proxy_t *p, attempt_t *a, uint32_t cand, bool hedge);
static void go(proxy_t *p, attempt_t *a);
static void attempt_failed(attempt_t *a);
static void finish(proxy_t *p, int status);
static void give_up(proxy_t *p);

void sy_proxy_request_id(sy_gateway_worker_t *w, char out[32])
{
    /* "req_" + 16 hex digits of the worker's prefix + 8 of its sequence. The
     * prefix's text is made when the prefix changes (once per worker thread)
     * and copied after that. */
    static const char hex[] = "0123456789abcdef";
    static _Thread_local uint64_t text_of;
    static _Thread_local char text[20]; /* "req_" + the prefix's digits, or unset */
    uint64_t prefix = w->id_prefix, seq = ++w->id_seq & 0xffffffffULL;
    if (text[0] == '\0' || text_of != prefix) {
        memcpy(text, "req_", 4);
        for (int i = 0; i < 16; i++)
            text[4 + i] = hex[(prefix >> (60 - 4 * i)) & 15];
        text_of = prefix;
    }
    memcpy(out, text, 20);
    for (int i = 0; i < 8; i++)
        out[20 + i] = hex[(seq >> (28 - 4 * i)) & 15];
    out[28] = '\0';
}

#define REQUEST_ID_LEN 28 /* what sy_proxy_request_id writes */

/* Time along a request (loop.h, "Time"). Most marks take the loop's cached
 * clock, i.e. when the event being handled was seen: the circuit and rate
 * windows, when the answer or an error came back (t_up_end), an attempt's
 * time in the route notes. The deadline check before an attempt reads the
 * clock afresh (no attempt starts past the deadline), and so do the marks
 * that open or close a reported duration: the upstream request's start
 * (go: t_up_start and the attempt's t_start, so the request's own parsing,
 * routing and encoding count as overhead, not upstream time), the first
 * token (t_ttft), and the end (finish: total). Every reading is
 * also the cache's new value, so no mark is earlier than one before it:
 * t_start <= t_up_start <= t_up_end <= end, and overhead = total - upstream
 * cannot go negative. */
static inline uint64_t now_ms(const proxy_t *p) { return sy_loop_now(p->w->loop); }
static inline uint64_t now_ns(const proxy_t *p) { return sy_loop_now_ns(p->w->loop); }
static inline uint64_t fresh_ns(const proxy_t *p) { return sy_loop_update_time(p->w->loop); }

static sy_str_t group_name(const proxy_t *p)
{
    return p->model ? p->model->name : p->ir.model;
}

/* A deployment's name in metric labels: the shared state's, which for a
 * wildcard deployment is its pattern ("openai/" plus a star), so model names clients
 * invent cannot multiply the series. */
static sy_str_t metric_label(const sy_config_deployment_t *d)
{
    return d->state ? d->state->label : d->label;
}

/* ---- the route log ---- */

/* One entry of the access log's route array:
 * {"deployment":..,"status":..,"class":..,"ms":..,"action":..}. The array
 * is kept with its opening bracket (finish() closes it for the log and the
 * audit record, which take it as it is). An entry is at most ~500 bytes (the
 * label escaped into at most 299), written into room reserved once: it is
 * written for every attempt of every request. */
#define ROUTE_ENTRY_MAX     512
#define ROUTE_LABEL_ESC_MAX 299
#define SUMMARY_MAX         2048

/* Room for n more bytes at the end of b (its text at most max bytes), or
 * NULL. Commit what was written by adding to b->len. */
static char *note_room(proxy_t *p, note_buf_t *b, size_t n, size_t max)
{
    if (n > max || b->len > max - n)
        return NULL;
    if (b->cap - b->len < n) {
        size_t ncap = b->cap ? b->cap * 2 : 512;
        while (ncap < b->len + n)
            ncap *= 2;
        ncap = SY_MIN(ncap, max);
        b->p = sy_arena_realloc(p->req->arena, b->p, b->len, ncap);
        b->cap = ncap;
    }
    return b->p + b->len;
}

static inline sy_str_t note_str(const note_buf_t *b)
{
    return b->len ? sy_str(b->p, b->len) : SY_STR("");
}

static inline size_t put_c(char *t, const char *s)
{
    size_t n = strlen(s);
    memcpy(t, s, n);
    return n;
}
#define PUT_LIT(t, s) (memcpy((t), "" s, sizeof(s) - 1), sizeof(s) - 1)

/* "label:what" of every attempt (the audit record's route): the error class,
 * else the upstream status, else the action. Only the audit record reads it
 * (the access log writes it only when the route array is empty, and then this
 * is empty too), so without the audit log it is not kept. */
static void summary_note(proxy_t *p, const attempt_t *a, const char *action)
{
    note_buf_t *b = &p->summary;
    char *t;
    if (p->audit == NULL || b->len >= 900 || (t = note_room(p, b, 200, SUMMARY_MAX)) == NULL)
        return;
    size_t n = 0;
    if (b->len)
        t[n++] = ',';
    size_t ll = SY_MIN(a->dep->label.len, (size_t)120);
    memcpy(t + n, a->dep->label.p, ll);
    n += ll;
    t[n++] = ':';
    if (a->err.cls)
        n += put_c(t + n, sy_ir_error_class_name(a->err.cls));
    else if (a->up_status)
        n += sy_fmt_u64(t + n, (uint64_t)a->up_status);
    else
        n += put_c(t + n, action);
    b->len += n;
}

static void route_note(proxy_t *p, const attempt_t *a, const char *action, const char *extra)
{
    note_buf_t *b = &p->route;
    char *t = note_room(p, b, ROUTE_ENTRY_MAX, SY_PROXY_MAX_ROUTE_LOG);
    if (t == NULL)
        return;
    size_t n = b->len ? PUT_LIT(t, ",{\"deployment\":\"") : PUT_LIT(t, "[{\"deployment\":\"");
    n += sy_log_esc_to(t + n, ROUTE_LABEL_ESC_MAX, a->dep->label.p,
                       SY_MIN(a->dep->label.len, (size_t)200));
    t[n++] = '"';
    if (a->up_status) {
        n += PUT_LIT(t + n, ",\"status\":");
        n += sy_fmt_u64(t + n, (uint64_t)a->up_status);
    }
    if (a->err.cls) {
        n += PUT_LIT(t + n, ",\"class\":\"");
        n += put_c(t + n, sy_ir_error_class_name(a->err.cls));
        t[n++] = '"';
    }
    if (a->t_start) {
        /* milliseconds with three decimals, rounded to the microsecond */
        uint64_t us = (now_ns(p) - a->t_start + 500) / 1000;
        n += PUT_LIT(t + n, ",\"ms\":");
        n += sy_fmt_u64(t + n, us / 1000);
        t[n++] = '.';
        t[n++] = (char)('0' + us / 100 % 10);
        t[n++] = (char)('0' + us / 10 % 10);
        t[n++] = (char)('0' + us % 10);
    }
    if (a->hedge)
        n += PUT_LIT(t + n, ",\"hedge\":true");
    if (a->probed)
        n += PUT_LIT(t + n, ",\"probe\":true");
    n += PUT_LIT(t + n, ",\"action\":\"");
    n += put_c(t + n, action);
    t[n++] = '"';
    if (extra)
        n += put_c(t + n, extra);
    t[n++] = '}';
    b->len += n;
    summary_note(p, a, action);
}

static void route_skip(proxy_t *p, uint32_t cand, sy_route_drop_t why)
{
    const sy_config_deployment_t *d = p->plan->cand[cand].dep;
    sy_metrics_add(p->w->metrics, SY_M_ROUTE_SKIPS, 1, group_name(p), metric_label(d),
                   sy_str_c(sy_route_drop_name(why)), SY_STR_NULL);
    note_buf_t *b = &p->route;
    char *t = note_room(p, b, ROUTE_ENTRY_MAX, SY_PROXY_MAX_ROUTE_LOG);
    if (t == NULL)
        return;
    size_t n = b->len ? PUT_LIT(t, ",{\"deployment\":\"") : PUT_LIT(t, "[{\"deployment\":\"");
    n += sy_log_esc_to(t + n, ROUTE_LABEL_ESC_MAX, d->label.p, SY_MIN(d->label.len, (size_t)200));
    n += PUT_LIT(t + n, "\",\"skipped\":\"");
    n += put_c(t + n, sy_route_drop_name(why));
    n += PUT_LIT(t + n, "\"}");
    b->len += n;
}

static void tried_note(proxy_t *p, const attempt_t *a)
{
    if (p->tried.len > 400)
        return;
    sy_buf_printf(&p->tried, "%s%.*s:%s", p->tried.len ? "," : "",
                  (int)SY_MIN(a->dep->label.len, (size_t)120), a->dep->label.p,
                  a->err.cls ? sy_ir_error_class_name(a->err.cls) : "cancelled");
}

/* ---- answering ---- */

/* A guardrail verdict that found something goes into the audit record:
 * policy, action, detector kinds and counts (never the matched text). */
static void audit_verdict(proxy_t *p, const sy_guard_verdict_t *v, bool output)
{
    if (v->action == SY_GUARD_OFF)
        return;
    char tag[300];
    size_t n = sy_guard_verdict_tag(v, output, tag, sizeof(tag));
    sy_audit_add_verdict(p->audit, sy_str(tag, n));
}

/* x-switchyard-route text: appends to a fixed buffer, cut at its end. */
typedef struct {
    char *p;
    size_t len, cap;
} route_text_t;

static void rt_put(route_text_t *t, const char *s, size_t n)
{
    n = SY_MIN(n, t->cap - t->len);
    memcpy(t->p + t->len, s, n);
    t->len += n;
}

static void rt_c(route_text_t *t, const char *s) { rt_put(t, s, strlen(s)); }

static void rt_u64(route_text_t *t, uint64_t v)
{
    char d[20];
    rt_put(t, d, sy_fmt_u64(d, v));
}

/* The gateway's response headers. Names are literals and values live in
 * the request arena or the configuration snapshot this request holds, so
 * they are queued without copies. */
static void add_common_headers(proxy_t *p)
{
    sy_http_add_header_ref(p->req, SY_STR("x-switchyard-request-id"),
                           sy_str(p->request_id, REQUEST_ID_LEN));
    sy_gov_headers(p->gov, p->fd->format, p->req);
    if (p->dep) {
        route_text_t t = {sy_arena_alloc(p->req->arena, 700), 0, 700};
        rt_put(&t, p->dep->label.p, SY_MIN(p->dep->label.len, (size_t)150));
        rt_c(&t, "; attempts=");
        rt_u64(&t, p->attempts);
        rt_c(&t, "; strategy=");
        rt_c(&t, p->plan ? sy_route_strategy_names[p->plan->strategy] : "priority");
        if (p->retries) {
            rt_c(&t, "; retries=");
            rt_u64(&t, p->retries);
        }
        if (p->fallbacks) {
            rt_c(&t, "; fallbacks=");
            rt_u64(&t, p->fallbacks);
        }
        if (p->hedged)
            rt_c(&t, "; hedged");
        if (p->tried.len) {
            rt_c(&t, "; tried=");
            rt_put(&t, sy_buf_ptr(&p->tried), SY_MIN(p->tried.len, (size_t)420));
        }
        sy_http_header_t hs[] = {{SY_STR("x-switchyard-provider"), p->dep->provider},
                                 {SY_STR("x-switchyard-model"), p->dep->model},
                                 {SY_STR("x-switchyard-route"), sy_str(t.p, t.len)}};
        sy_http_add_headers_ref(p->req, hs, SY_ARRAY_LEN(hs));
    }
}

/* Answer with an error in the front door's own format. */
static void respond_error(proxy_t *p, int status, const char *type, const char *code,
                          const char *message)
{
    sy_buf_t b;
    sy_buf_init(&b, 64 * 1024);
    p->fd->error_body(status, type, code, message, &b);
    sy_audit_response_bytes(p->audit, sy_buf_ptr(&b), b.len);
    finish(p, status);
    add_common_headers(p);
    if (p->err.retry_after_ms && (status == 429 || status == 503 || status == 529)) {
        char ra[24];
        sy_snprintf(ra, sizeof(ra), "%llu", (unsigned long long)((p->err.retry_after_ms + 999) / 1000));
        sy_http_add_header(p->req, "retry-after", sy_str_c(ra));
    }
    sy_http_respond(p->req, status, "application/json", sy_buf_ptr(&b), b.len);
    sy_buf_free(&b);
}

/* ---- attempts: admission and release ---- */

static void circuit_params(const proxy_t *p, sy_circuit_params_t *cp)
{
    sy_route_circuit_params(&p->cfg->router, cp);
}

/* A deployment's limit held an attempt back: unless an attempt failed for
 * a reason of its own, that is what the client hears if nothing else can
 * serve it (429 with Retry-After, naming the limit). Kept apart from p->err
 * (the last attempt's error), so a request a fallback served records none. */
static void limit_refused(proxy_t *p, const sy_config_deployment_t *d, sy_route_drop_t why,
                          uint64_t retry_ms)
{
    sy_ir_error_t *e = &p->limit_err;
    if (e->cls && e->retry_after_ms && retry_ms && e->retry_after_ms <= retry_ms)
        return; /* an earlier one has room sooner: keep it */
    char msg[300];
    if (why == SY_DROP_COUNTERS)
        sy_snprintf(msg, sizeof(msg),
                 "the limits of deployment %.*s cannot be checked: the shared counter store "
                 "(Redis) is unreachable; retry shortly",
                 (int)SY_MIN(d->label.len, (size_t)150), d->label.p);
    else
        sy_snprintf(msg, sizeof(msg), "deployment %.*s: %s-per-minute limit %llu reached%s",
                 (int)SY_MIN(d->label.len, (size_t)150), d->label.p,
                 why == SY_DROP_RPM ? "requests" : "tokens",
                 (unsigned long long)(why == SY_DROP_RPM ? d->rpm : d->tpm),
                 sy_gov_dep_shared() ? " (counted across every instance)" : "");
    e->cls = why == SY_DROP_COUNTERS ? SY_IR_ERR_OVERLOADED : SY_IR_ERR_RATE_LIMITED;
    e->retry_after_ms = why == SY_DROP_COUNTERS ? 1000 : retry_ms;
    e->message = sy_str_dup(p->req->arena, sy_str_c(msg));
}

/* What the shared counters said about an attempt's deployment limits. */
static sy_route_drop_t shared_outcome(proxy_t *p, attempt_t *a, const sy_gov_dep_outcome_t *o)
{
    if (o->result == SY_GOV_DEP_OK)
        return SY_DROP_NONE;
    sy_gov_dep_settle(a->shared, 0, 0);
    a->shared = NULL;
    sy_route_drop_t why = o->result == SY_GOV_DEP_UNAVAILABLE ? SY_DROP_COUNTERS
                          : o->kind == SY_RATE_RPM           ? SY_DROP_RPM
                                                             : SY_DROP_TPM;
    if (a->probe) {
        sy_circuit_params_t cp;
        circuit_params(p, &cp);
        sy_circuit_abandon(&a->state->circuit, &cp, now_ms(p), a->probe);
        a->probe = false;
    }
    limit_refused(p, a->dep, why, o->retry_after_ms);
    return why;
}

/* The shared counters answered an attempt that was waiting for them. */
static void shared_admitted(void *ctx, const sy_gov_dep_outcome_t *o)
{
    attempt_t *a = ctx;
    proxy_t *p = a->p;
    a->admitting = false;
    if (p->done)
        return;
    sy_route_drop_t why = shared_outcome(p, a, o);
    if (why == SY_DROP_NONE) {
        go(p, a);
        return;
    }
    /* Skipped: on with the plan, as try_next would have done. */
    route_skip(p, a->cand, why);
    bool hedge = a->hedge;
    if (!try_next(p, a, hedge) && !hedge)
        give_up(p);
}

/* Ask the deployment's circuit and rate windows for one attempt. Returns
 * SY_DROP_NONE and holds what it took in `a`, or the reason it may not go.
 * Limits counted in Redis (counters: redis) need its answer: then *pending
 * is set, `a` is admitting, and shared_admitted() carries on. */
static sy_route_drop_t admit(proxy_t *p, attempt_t *a, const sy_config_deployment_t *d,
                             bool *pending)
{
    *pending = false;
    sy_route_state_t *s = d->state;
    if (s == NULL)
        return SY_DROP_NONE;
    uint64_t now = now_ms(p);
    sy_circuit_params_t cp;
    circuit_params(p, &cp);
    if (!sy_circuit_allow(&s->circuit, &cp, now, &a->probe))
        return SY_DROP_CIRCUIT;
    if ((d->rpm || d->tpm) && sy_gov_dep_shared()) {
        sy_gov_dep_outcome_t o;
        if (sy_gov_dep_reserve(p->req->arena, s, d->rpm, d->tpm, sy_route_tpm_amount(d, &p->need),
                               shared_admitted, a, &a->shared, &o) == SY_EAGAIN) {
            a->admitting = true;
            *pending = true;
            return SY_DROP_NONE;
        }
        return shared_outcome(p, a, &o);
    }
    const sy_route_counters_vt_t *ctr = sy_route_counters();
    uint64_t minute_left = SY_RATE_WINDOW_MS - now % SY_RATE_WINDOW_MS;
    if (d->rpm && ctr->reserve(s, SY_RATE_RPM, d->rpm, 1, now, &a->rpm) != SY_OK) {
        sy_circuit_abandon(&s->circuit, &cp, now, a->probe);
        a->probe = false;
        limit_refused(p, d, SY_DROP_RPM, minute_left);
        return SY_DROP_RPM;
    }
    if (d->tpm &&
        ctr->reserve(s, SY_RATE_TPM, d->tpm, sy_route_tpm_amount(d, &p->need), now, &a->tpm) != SY_OK) {
        ctr->settle(&a->rpm, 0);
        sy_circuit_abandon(&s->circuit, &cp, now, a->probe);
        a->probe = false;
        limit_refused(p, d, SY_DROP_TPM, minute_left);
        return SY_DROP_TPM;
    }
    return SY_DROP_NONE;
}

typedef enum { END_OK, END_FAILED, END_CANCELLED } end_how_t;

/* The circuit's verdict on an attempt: a failure that says the deployment
 * is unhealthy, a success otherwise; a rate limit or an attempt that never
 * got an answer gives none (a probe is handed back). A stream is heard as a
 * success when its head arrives, and again as a failure if it breaks later. */
static void give_verdict(proxy_t *p, attempt_t *a, end_how_t how)
{
    if (a->state == NULL)
        return;
    sy_circuit_params_t cp;
    circuit_params(p, &cp);
    uint64_t now = now_ms(p);
    if (how == END_FAILED && sy_route_counts_against_circuit(a->err.cls)) {
        if (a->heard_fail)
            return;
        a->heard_fail = true;
        atomic_fetch_add_explicit(&a->state->failures, 1, memory_order_relaxed);
        sy_circuit_failure(&a->state->circuit, &cp, now, a->probe);
    } else if (a->heard_ok || a->heard_fail) {
        return;
    } else if (how == END_CANCELLED || a->t_start == 0 || a->err.cls == SY_IR_ERR_RATE_LIMITED ||
               a->err.cls == SY_IR_ERR_INTERNAL) {
        /* (t_start == 0: the request never left, e.g. the adapter could not encode it) */
        a->heard_fail = true; /* nothing more to hear */
        sy_circuit_abandon(&a->state->circuit, &cp, now, a->probe);
    } else {
        a->heard_ok = true;
        sy_circuit_success(&a->state->circuit, &cp, now, a->probe);
    }
    a->probe = false; /* the probe, if it held it, is resolved */
}

/* End an attempt: verdict, in-flight count, reservations settled with what
 * was used. Idempotent. */
static void attempt_end(attempt_t *a, end_how_t how)
{
    if (a->admitting) {
        /* Still waiting for the shared counters: whatever their reply takes
         * is given back, and the probe, if it held it, too. */
        a->admitting = false;
        sy_gov_dep_settle(a->shared, 0, 0);
        a->shared = NULL;
        if (a->probe && a->state) {
            sy_circuit_params_t cp;
            circuit_params(a->p, &cp);
            sy_circuit_abandon(&a->state->circuit, &cp, now_ms(a->p), a->probe);
            a->probe = false;
        }
        return;
    }
    if (!a->active)
        return;
    a->active = false;
    proxy_t *p = a->p;
    if (a->creq) {
        sy_http_client_cancel(a->creq);
        a->creq = NULL;
    }
    give_verdict(p, a, how);
    if (a->counted && a->state) {
        atomic_fetch_sub_explicit(&a->state->inflight, 1, memory_order_relaxed);
        a->counted = false;
    }
    const sy_route_counters_vt_t *ctr = sy_route_counters();
    /* A request that reached the provider counts against its RPM whatever
     * came back; tokens count as the provider reported them (the input
     * estimate for an answer that never said). */
    ctr->settle(&a->rpm, a->t_start ? 1 : 0);
    uint64_t used = 0;
    if (how == END_OK && a == p->cur && (p->usage.has_input || p->usage.has_output))
        used = p->usage.input + p->usage.output;
    else if (a->t_start && how != END_FAILED)
        used = p->need.input_tokens;
    ctr->settle(&a->tpm, used);
    sy_gov_dep_settle(a->shared, a->t_start ? 1 : 0, used);
    a->shared = NULL;
    if (a->state && a->t_start && how == END_FAILED)
        atomic_fetch_add_explicit(&a->state->attempts, 1, memory_order_relaxed);
}

static attempt_t *other_of(proxy_t *p, const attempt_t *a)
{
    return a == &p->att[0] ? &p->att[1] : &p->att[0];
}

/* ---- accounting ---- */

/* Record the request once: metrics and the access log. `status` is what the
 * client got. Safe to call more than once (only the first counts). */
static void finish(proxy_t *p, int status)
{
    if (p->done)
        return;
    p->done = true;
    sy_timer_stop(&p->retry_timer);
    sy_timer_stop(&p->hedge_timer);
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
    /* Whatever attempt is still open ends here (the answer is out, or the
     * client is gone). */
    for (int i = 0; i < 2; i++)
        attempt_end(&p->att[i], status < 400 ? END_OK : END_CANCELLED);
    uint64_t now = fresh_ns(p);
    bool priced = p->dep && p->dep->priced;
    uint64_t cost = priced ? sy_cost_pico(&p->dep->cost, &p->usage) : 0;
    sy_str_t provider = p->dep ? p->dep->provider : SY_STR("");
    sy_str_t model = group_name(p);
    sy_str_t fdname = sy_str_c(p->fd->name);
    uint64_t total = now - p->t_start;
    uint64_t upstream = p->t_up_start ? (p->t_up_end ? p->t_up_end : now) - p->t_up_start : 0;
    sy_metrics_request_t mr = {
        .frontdoor = fdname,
        .provider = provider,
        .model = model,
        .status = status,
        .total_ns = total,
        .overhead_ns = total > upstream ? total - upstream : 0,
    };
    if (p->dep) {
        const sy_ir_usage_t *u = &p->usage;
        mr.has_dep = true;
        mr.dep_model = p->dep->model;
        mr.upstream_ns = upstream;
        mr.has_ttft = p->t_ttft != 0;
        mr.ttft_ns = p->t_ttft ? p->t_ttft - p->t_start : 0;
        mr.tokens[SY_MTOK_INPUT] = u->input;
        mr.has_tokens[SY_MTOK_INPUT] = u->has_input;
        mr.tokens[SY_MTOK_OUTPUT] = u->output;
        mr.has_tokens[SY_MTOK_OUTPUT] = u->has_output;
        mr.tokens[SY_MTOK_CACHED_INPUT] = u->cached_input;
        mr.has_tokens[SY_MTOK_CACHED_INPUT] = u->has_cached_input;
        mr.tokens[SY_MTOK_REASONING] = u->reasoning;
        mr.has_tokens[SY_MTOK_REASONING] = u->has_reasoning;
        mr.priced = priced;
        mr.cost_pico = cost;
    }
    sy_metrics_request(p->w->metrics, &mr);
    sy_str_t cost_text = SY_STR_NULL;
    if (status < 400 && p->usage.has_output && !p->client_started && priced) {
        /* written where the response head will read it (no copies); the
         * access line copies the same text */
        char *usd = sy_arena_alloc(p->req->arena, 32);
        cost_text = sy_str(usd, sy_cost_fmt(usd, cost));
        sy_http_add_header_ref(p->req, SY_STR("x-switchyard-cost-usd"), cost_text);
    }
    /* The route array is closed for the log and the record (which copy it)
     * and opened again after them. */
    char *close = p->route.len ? note_room(p, &p->route, 1, SY_PROXY_MAX_ROUTE_LOG) : NULL;
    bool closed = close != NULL;
    if (closed) {
        *close = ']';
        p->route.len++;
    }
    sy_str_t route = closed ? note_str(&p->route) : SY_STR("");
    sy_access_entry_t e = {
        .request_id = sy_str(p->request_id, REQUEST_ID_LEN),
        .frontdoor = fdname,
        .method = p->req->head.method,
        .path = p->req->head.path,
        .model = model,
        .provider = provider,
        .upstream_model = p->dep ? p->dep->model : SY_STR(""),
        .status = status,
        .stream = p->ir.stream,
        .attempts = p->attempts,
        .attempt_log = note_str(&p->summary),
        .route_json = route,
        .strategy = p->plan ? sy_str_c(sy_route_strategy_names[p->plan->strategy]) : SY_STR(""),
        .error_class = p->err.cls ? sy_str_c(sy_ir_error_class_name(p->err.cls)) : SY_STR(""),
        .duration_ns = total,
        .upstream_ns = upstream,
        .ttft_ns = p->t_ttft ? p->t_ttft - p->t_start : 0,
        .usage = p->usage,
        .cost_pico = cost,
        .cost_text = cost_text,
        .cost_known = priced && (p->usage.has_input || p->usage.has_output),
        .client_aborted = p->aborted,
        .usage_estimated = p->usage_estimated,
    };
    sy_access_write(&p->w->access, &e);
    /* A stream's output verdict is final now (its end, a block, or what the
     * scanner saw before the client went away). */
    if (p->cur && p->cur->gs)
        audit_verdict(p, sy_guard_stream_verdict(p->cur->gs), true);
    sy_audit_submit(p->audit, &e, p->dep ? p->dep->provider_cfg : NULL, p->req->body);
    /* Settle the reservations with what was used; the ledger gets the same
     * cost as the audit record. */
    sy_gov_usage_t gu = {
        .request_id = e.request_id,
        .model = model,
        .provider = provider,
        .deployment = p->dep ? p->dep->label : SY_STR(""),
        .sent = p->t_up_start != 0,
        .tokens_in = p->usage.input,
        .tokens_out = p->usage.output,
        .cost_pico = cost,
        .status = status,
    };
    sy_gov_finish(p->gov, &gu);
    if (closed)
        p->route.len--;
}

/* Runs when the request's arena is reset, i.e. when the request has ended
 * (response complete or client gone): nothing can use p after this. */
static void release_cb(void *arg)
{
    proxy_t *p = arg;
    sy_timer_stop(&p->retry_timer);
    sy_timer_stop(&p->hedge_timer);
    for (int i = 0; i < 2; i++) {
        attempt_end(&p->att[i], END_CANCELLED);
        if (!p->att[i].body_in_arena)
            sy_buf_free(&p->att[i].body);
    }
    sy_buf_free(&p->tried);
    sy_buf_free(&p->out);
    if (p->raw)
        sy_buf_free(&p->raw->buf);
    sy_config_unref(p->cfg);
    p->cfg = NULL;
}

/* ---- streaming to the client ---- */

static void client_drain_cb(sy_http_req_t *req)
{
    proxy_t *p = req->data;
    if (p->paused && p->cur && p->cur->creq) {
        p->paused = false;
        sy_http_client_resume(p->cur->creq);
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

/* The first token of the request and of this attempt: one fresh reading
 * (time to first token is reported) for whichever is still unset. */
static void first_token(proxy_t *p, attempt_t *a)
{
    if (p->t_ttft && a->t_first)
        return;
    uint64_t now = fresh_ns(p);
    if (!p->t_ttft)
        p->t_ttft = now;
    if (!a->t_first)
        a->t_first = now;
}

static int on_delta(void *ctx, const sy_ir_delta_t *d)
{
    attempt_t *a = ctx;
    proxy_t *p = a->p;
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
        first_token(p, a);
        break;
    case SY_IR_DELTA_BLOCK_START:
        first_token(p, a);
        break;
    case SY_IR_DELTA_END:
        p->saw_end = true;
        break;
    case SY_IR_DELTA_ERROR:
        a->err = d->error;
        a->err.message = sy_str_dup(p->req->arena, d->error.message);
        if (!p->client_started && sy_ir_error_retryable(d->error.cls))
            return SY_EAGAIN; /* nothing reached the client yet: the policy decides */
        break;
    default:
        break;
    }
    if (a->passthrough && d->kind != SY_IR_DELTA_ERROR)
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
        int rc = sy_sse_next(&p->raw->sse, data, len, &used, &ev);
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
    attempt_t *a = sy_http_creq_data(r);
    proxy_t *p = a->p;
    int rc = a->gs ? a->vt->stream_feed(a->dec, data, len, sy_guard_stream_feed, a->gs)
                   : a->vt->stream_feed(a->dec, data, len, on_delta, a);
    if (rc == SY_OK && a->passthrough && !p->done)
        rc = forward_raw(p, data, len);
    if (rc == SY_EAGAIN) { /* a retryable error event before any client byte */
        sy_http_client_cancel(r);
        a->creq = NULL;
        attempt_failed(a);
        return;
    }
    if (rc == SY_ECLOSED) {
        sy_http_client_cancel(r);
        a->creq = NULL;
        return; /* the client is gone: on_abort accounts */
    }
    if (rc != SY_OK) {
        /* Malformed stream: the decoder emitted an ERROR delta already when it could. */
        sy_http_client_cancel(r);
        a->creq = NULL;
        if (!a->err.cls) {
            a->err.cls = SY_IR_ERR_BAD_RESPONSE;
            a->err.message = SY_STR("the provider sent a malformed stream");
        }
        if (p->client_started && !p->done) {
            /* The front door's error event is out already: end the stream. */
            route_note(p, a, "failed", ",\"after_first_byte\":true");
            attempt_end(a, END_FAILED);
            p->err = a->err;
            end_client_stream(p);
            return;
        }
        attempt_failed(a);
        return;
    }
    if (!p->paused && sy_http_stream_congested(p->req)) {
        p->paused = true;
        sy_http_client_pause(r);
    }
}

static void collect_body_cb(sy_http_creq_t *r, const char *data, size_t len)
{
    attempt_t *a = sy_http_creq_data(r);
    if (sy_buf_append(&a->body, data, len) != SY_OK) {
        sy_http_client_cancel(r);
        a->creq = NULL;
        a->err.cls = SY_IR_ERR_BAD_RESPONSE;
        a->err.status = a->up_status;
        a->err.message = SY_STR("the provider's response is larger than the gateway accepts");
        attempt_failed(a);
    }
}

/* A 2xx head: this attempt answers. With a hedge running, the other one
 * loses and is cancelled. */
static void won(proxy_t *p, attempt_t *a)
{
    attempt_t *o = other_of(p, a);
    if (o->active) {
        route_note(p, o, "cancelled", ",\"charged\":false");
        o->err.cls = SY_IR_ERR_NONE;
        tried_note(p, o);
        attempt_end(o, END_CANCELLED);
        sy_metrics_add(p->w->metrics, SY_M_ROUTE_HEDGES, 1, group_name(p),
                       a->hedge ? SY_STR("hedge") : SY_STR("primary"), SY_STR_NULL, SY_STR_NULL);
    }
    sy_timer_stop(&p->hedge_timer);
    p->cur = a;
    p->dep = a->dep;
}

/* Room for a whole (not streamed) answer of at most max bytes. With its
 * Content-Length known (and within max) that is exactly so many bytes of
 * the request arena: a buffer whose cap is its limit (off stays 0, so it
 * can only refuse with SY_ETOOBIG, never grow; the client holds the
 * upstream to its Content-Length anyway), with no heap buffer to allocate
 * and free per request. Otherwise the heap buffer, capped at max. */
static void body_room(proxy_t *p, attempt_t *a, const sy_http_client_head_t *head, size_t max)
{
    if (head->content_length > 0 && (uint64_t)head->content_length <= max) {
        size_t n = (size_t)head->content_length;
        if (!a->body_in_arena)
            sy_buf_free(&a->body);
        a->body = (sy_buf_t){sy_arena_alloc(p->req->arena, n), 0, 0, n, n};
        a->body_in_arena = true;
        return;
    }
    if (a->body_in_arena) {
        sy_buf_init(&a->body, max);
        a->body_in_arena = false;
    }
    a->body.max = max;
}

static sy_http_client_body_cb on_head(sy_http_creq_t *r, const sy_http_client_head_t *head)
{
    attempt_t *a = sy_http_creq_data(r);
    proxy_t *p = a->p;
    a->up_status = head->status;
    a->up_head = head;
    sy_buf_clear(&a->body);
    if (head->status >= 200 && head->status < 300) {
        won(p, a);
        /* The deployment answers: the circuit hears so now (a stream that
         * breaks later is a failure of its own). */
        give_verdict(p, a, END_OK);
        if (a->state && !a->up.stream)
            sy_route_state_sample_ttft(a->state, now_ns(p) - a->t_start, now_ms(p));
        if (a->up.stream) {
            a->dec = a->vt->stream_new(p->req->arena, &a->pcx, &p->ir);
            /* Output guardrails sit between the decoder and the front door:
             * they hold back a bounded window, redact, or end the stream. */
            if (p->guard_out)
                a->gs = sy_guard_stream_new(p->req->arena, p->guard_out, on_delta, a);
            if (a->passthrough) {
                if (p->raw == NULL)
                    p->raw = sy_arena_alloc(p->req->arena, sizeof(*p->raw));
                else
                    sy_buf_free(&p->raw->buf); /* an earlier attempt's */
                sy_buf_init(&p->raw->buf, SY_SSE_DEFAULT_MAX_DATA + SY_SSE_DEFAULT_MAX_LINE);
                sy_sse_reader_init(&p->raw->sse, &p->raw->buf, 0, 0, 0);
            }
            return stream_body_cb;
        }
        body_room(p, a, head, SY_PROXY_MAX_RESPONSE);
        return collect_body_cb;
    }
    body_room(p, a, head, SY_PROXY_MAX_ERROR_BODY);
    return collect_body_cb;
}

/* Latency figures of a finished stream: time to first token, and time per
 * output token after it. */
static void sample_stream(proxy_t *p, attempt_t *a)
{
    if (a->state == NULL || !a->t_first)
        return;
    sy_route_state_sample_ttft(a->state, a->t_first - a->t_start, now_ms(p));
    if (p->usage.has_output)
        sy_route_state_sample_tpot(a->state, now_ns(p) - a->t_first, p->usage.output);
}

static void answered(proxy_t *p, attempt_t *a)
{
    route_note(p, a, "answered", NULL);
    attempt_end(a, END_OK);
}

/* A passthrough answer: the provider's body, as it sent it. */
static void relay_answer(proxy_t *p, attempt_t *a)
{
    sy_audit_response_bytes(p->audit, sy_buf_ptr(&a->body), a->body.len);
    finish(p, 200);
    add_common_headers(p);
    sy_http_respond(p->req, 200, "application/json", sy_buf_ptr(&a->body), a->body.len);
}

static void on_done(sy_http_creq_t *r)
{
    attempt_t *a = sy_http_creq_data(r);
    proxy_t *p = a->p;
    a->creq = NULL;
    p->t_up_end = now_ns(p); /* when the loop saw the answer end */
    if (a->up_status < 200 || a->up_status >= 300) {
        sy_ir_error_t e;
        memset(&e, 0, sizeof(e));
        a->vt->map_error(a->up_status, a->up_head->headers, a->up_head->nheaders,
                         sy_buf_str(&a->body), &e);
        a->err = e;
        a->err.status = a->up_status;
        a->err.message = sy_str_dup(p->req->arena, e.message);
        sy_metrics_add(p->w->metrics, SY_M_UPSTREAM_ERRORS, 1, a->dep->provider,
                       sy_str_c(sy_ir_error_class_name(e.cls)), SY_STR_NULL, SY_STR_NULL);
        attempt_failed(a);
        return;
    }
    if (a->up.stream) {
        int rc = a->gs ? a->vt->stream_end(a->dec, sy_guard_stream_feed, a->gs)
                       : a->vt->stream_end(a->dec, on_delta, a);
        if (rc == SY_EAGAIN) {
            attempt_failed(a);
            return;
        }
        if (p->done || p->req->conn == NULL)
            return;
        if (!p->client_started && a->err.cls) {
            attempt_failed(a);
            return;
        }
        sample_stream(p, a);
        if (a->err.cls) {
            /* The stream carried an error event to the client and ended. */
            route_note(p, a, "failed", ",\"after_first_byte\":true");
            attempt_end(a, END_FAILED);
            p->err = a->err;
        } else {
            answered(p, a);
        }
        end_client_stream(p);
        return;
    }
    if (p->embeddings) {
        sy_openai_embeddings_usage(p->req->arena, sy_buf_str(&a->body), &p->usage);
        sy_buf_t eout;
        sy_buf_init(&eout, SY_PROXY_MAX_RESPONSE);
        if (sy_openai_embeddings_respond(p->req->arena, sy_buf_str(&a->body), p->ir.model, &eout) !=
            SY_OK) {
            sy_buf_free(&eout);
            a->err.cls = SY_IR_ERR_BAD_RESPONSE;
            a->err.message = SY_STR("the provider's embeddings response could not be read");
            attempt_failed(a);
            return;
        }
        answered(p, a);
        sy_audit_response_bytes(p->audit, sy_buf_ptr(&eout), eout.len);
        finish(p, 200);
        add_common_headers(p);
        sy_http_respond(p->req, 200, "application/json", sy_buf_ptr(&eout), eout.len);
        sy_buf_free(&eout);
        return;
    }
    /* Passthrough: the answer goes out as the provider sent it, so only its
     * usage is read, without decoding the rest (the adapter decodes it all
     * when unsure). */
    if (a->passthrough && a->vt->passthrough_usage &&
        a->vt->passthrough_usage(p->req->arena, sy_buf_str(&a->body), &p->usage) == SY_OK) {
        answered(p, a);
        relay_answer(p, a);
        return;
    }
    sy_ir_response_t resp;
    memset(&resp, 0, sizeof(resp));
    sy_ir_error_t e;
    memset(&e, 0, sizeof(e));
    if (a->vt->decode(p->req->arena, &a->pcx, sy_buf_str(&a->body), &resp, &e) != SY_OK) {
        a->err = e;
        if (!a->err.cls)
            a->err.cls = SY_IR_ERR_BAD_RESPONSE;
        if (!a->err.message.len)
            a->err.message = SY_STR("the provider's response could not be read");
        attempt_failed(a);
        return;
    }
    p->usage = resp.usage;
    answered(p, a);
    if (p->guard_out) {
        sy_guard_verdict_t v;
        sy_guard_apply_response(p->req->arena, p->guard_out, &resp, &v);
        audit_verdict(p, &v, true);
        if (v.blocked) {
            p->err.cls = SY_IR_ERR_CONTENT_FILTER;
            respond_error(p, v.status ? v.status : 400, NULL, "content_filter",
                          v.message ? v.message : "response blocked by a guardrail policy");
            return;
        }
    }
    if (a->passthrough) {
        relay_answer(p, a); /* decode() above read its usage */
        return;
    }
    /* The answer in the client's format is about the size of the provider's:
     * it is written into that much request arena memory plus 256 bytes, a
     * buffer whose cap is its limit (it refuses, never grows, and needs no
     * malloc and free); one that does not fit is written again into a heap
     * buffer that grows up to the limit. */
    size_t room = SY_MIN(a->body.len + 256, (size_t)SY_PROXY_MAX_RESPONSE);
    sy_buf_t out = {sy_arena_alloc(p->req->arena, room), 0, 0, room, room};
    bool heap = false;
    int rc = p->fd->respond(p->req->arena, &p->ir, &resp, &out);
    if (rc != SY_OK && room < SY_PROXY_MAX_RESPONSE) {
        sy_buf_init(&out, SY_PROXY_MAX_RESPONSE);
        heap = true;
        rc = p->fd->respond(p->req->arena, &p->ir, &resp, &out);
    }
    if (rc != SY_OK) {
        if (heap)
            sy_buf_free(&out);
        p->err.cls = SY_IR_ERR_INTERNAL;
        respond_error(p, 500, NULL, NULL, "the gateway could not encode the response");
        return;
    }
    sy_audit_response_bytes(p->audit, sy_buf_ptr(&out), out.len);
    finish(p, 200);
    add_common_headers(p);
    sy_http_respond(p->req, 200, "application/json", sy_buf_ptr(&out), out.len);
    if (heap)
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
    attempt_t *a = sy_http_creq_data(r);
    proxy_t *p = a->p;
    a->creq = NULL;
    p->t_up_end = now_ns(p); /* when the loop saw the answer end */
    a->err.cls = client_error_class(err->code);
    a->err.status = 0;
    a->err.message = sy_str_dup(p->req->arena, sy_str_c(err->message));
    sy_metrics_add(p->w->metrics, SY_M_UPSTREAM_ERRORS, 1, a->dep->provider,
                   sy_str_c(sy_ir_error_class_name(a->err.cls)), SY_STR_NULL, SY_STR_NULL);
    sy_log(SY_LOG_WARN, "upstream attempt failed",
           "\"request_id\":\"%s\",\"provider\":\"%.*s\",\"error\":\"%s\"", p->request_id,
           SY_STR_FMT(a->dep->provider), sy_http_client_err_name(err->code));
    attempt_failed(a);
}

/* ---- the policy: retry, fall back, or answer the error ---- */

/* Whether candidate `ci` may still be tried for this request (the context
 * floor after a "context too long"). */
static bool eligible(const proxy_t *p, uint32_t ci)
{
    const sy_config_deployment_t *d = p->plan->cand[ci].dep;
    return p->ctx_floor == 0 || (d->ctx_window && d->ctx_window > p->ctx_floor);
}

/* Whether the plan has another deployment to fall back to. */
static bool others_left(const proxy_t *p)
{
    for (uint32_t k = p->cursor; k < p->plan->norder; k++)
        if (eligible(p, p->plan->order[k]))
            return true;
    return false;
}

static void retry_timer_cb(sy_timer_t *t)
{
    proxy_t *p = t->data;
    if (p->done)
        return;
    launch(p, &p->att[0], p->retry_cand, false);
}

/* The attempt failed with a->err. */
static void attempt_failed(attempt_t *a)
{
    proxy_t *p = a->p;
    if (p->done || !a->active)
        return;
    if (!a->err.cls)
        a->err.cls = SY_IR_ERR_SERVER;
    p->err = a->err;
    attempt_t *o = other_of(p, a);
    if (o->active && !p->client_started) {
        /* A hedge pair: the other attempt carries on alone. */
        route_note(p, a, "failed", ",\"other_continues\":true");
        tried_note(p, a);
        attempt_end(a, END_FAILED);
        p->cur = o;
        p->dep = o->dep;
        return;
    }
    if (p->client_started) {
        route_note(p, a, "failed", ",\"after_first_byte\":true");
        attempt_end(a, END_FAILED);
        char msg[300];
        sy_snprintf(msg, sizeof(msg), "the provider failed mid-stream: %.*s",
                 (int)SY_MIN(a->err.message.len, (size_t)250),
                 a->err.message.p ? a->err.message.p : "");
        fail_stream(p, a->err.cls, msg);
        return;
    }
    if (a->err.cls == SY_IR_ERR_CONTEXT_LENGTH) {
        uint64_t w = a->dep->ctx_window ? a->dep->ctx_window : p->need.input_tokens;
        if (w > p->ctx_floor)
            p->ctx_floor = w;
    }
    sy_route_failure_t f = {
        .cls = a->err.cls,
        .retry_after_ms = a->err.retry_after_ms,
        .client_started = p->client_started,
        .tries_here = p->tries[a->cand],
        .attempts = p->attempts,
        .others_left = others_left(p),
        .elapsed_ms = (now_ns(p) - p->t_start) / 1000000ull,
    };
    uint64_t wait = 0;
    const char *why = NULL;
    sy_route_next_t next = sy_route_decide(&p->cfg->router, &f, p->rc.rng, &wait, &why);
    sy_str_t reason = sy_str_c(sy_ir_error_class_name(a->err.cls));
    if (a->err.cls == SY_IR_ERR_RATE_LIMITED && a->err.retry_after_ms && a->state)
        sy_route_state_cool(a->state, now_ms(p) + SY_MIN(a->err.retry_after_ms, 3600000ull));
    tried_note(p, a);
    switch (next) {
    case SY_NEXT_RETRY: {
        char extra[48];
        sy_snprintf(extra, sizeof(extra), ",\"wait_ms\":%llu", (unsigned long long)wait);
        route_note(p, a, "retry", extra);
        attempt_end(a, END_FAILED);
        p->retries++;
        sy_metrics_add(p->w->metrics, SY_M_ROUTE_RETRIES, 1, group_name(p), metric_label(a->dep), reason,
                       SY_STR_NULL);
        p->retry_cand = a->cand;
        if (wait == 0) {
            launch(p, &p->att[0], a->cand, false);
        } else {
            sy_timer_start(&p->retry_timer, wait);
        }
        return;
    }
    case SY_NEXT_FALLBACK:
        route_note(p, a, "fallback", NULL);
        attempt_end(a, END_FAILED);
        p->fallbacks++;
        sy_metrics_add(p->w->metrics, SY_M_ROUTE_FALLBACKS, 1, group_name(p), metric_label(a->dep),
                       reason, SY_STR_NULL);
        if (!try_next(p, &p->att[0], false))
            give_up(p);
        return;
    case SY_NEXT_FAIL:
        break;
    }
    char extra[64];
    sy_snprintf(extra, sizeof(extra), ",\"why\":\"%s\"", why ? why : "");
    route_note(p, a, "failed", extra);
    attempt_end(a, END_FAILED);
    give_up(p);
}

/* Nothing more to try: answer the last error. */
static void give_up(proxy_t *p)
{
    if (p->done)
        return;
    if (!p->err.cls && p->limit_err.cls)
        p->err = p->limit_err; /* nothing was tried: a deployment limit said no */
    if (!p->err.cls) {
        /* Every remaining deployment was skipped at its turn (circuits
         * opened, limits reached meanwhile). */
        p->err.cls = SY_IR_ERR_OVERLOADED;
        p->err.message = SY_STR("every deployment of this model is unavailable right now");
    }
    int status = sy_ir_error_status(p->err.cls);
    /* Anthropic's own API says "overloaded" with 529, and its SDK raises
     * OverloadedError for exactly that status. */
    if (p->err.cls == SY_IR_ERR_OVERLOADED && p->fd->format == SY_FORMAT_ANTHROPIC)
        status = 529;
    /* The provider's own words are safe to show (they never hold our key);
     * say which provider so an operator can act. */
    char msg[600];
    if (p->dep)
        sy_snprintf(msg, sizeof(msg), "%.*s (provider %.*s, %s)",
                 (int)SY_MIN(p->err.message.len, (size_t)400),
                 p->err.message.len ? p->err.message.p : "", SY_STR_FMT(p->dep->provider),
                 sy_ir_error_class_name(p->err.cls));
    else
        sy_snprintf(msg, sizeof(msg), "%.*s", (int)SY_MIN(p->err.message.len, (size_t)400),
                 p->err.message.len ? p->err.message.p : "");
    respond_error(p, status, NULL, sy_ir_error_code(&p->err), msg);
}

/* ---- hedging ---- */

static uint64_t hedge_after_ms(const proxy_t *p)
{
    uint64_t h = p->model->hedge_after_ms;
    return h == SY_CONFIG_INHERIT ? p->cfg->router.hedge_after_ms : h;
}

static void hedge_timer_cb(sy_timer_t *t)
{
    proxy_t *p = t->data;
    attempt_t *a = p->cur;
    if (p->done || a == NULL || !a->active || a->up_status || other_of(p, a)->active)
        return;
    if (!others_left(p) || p->attempts >= p->cfg->router.max_attempts)
        return;
    if (try_next(p, other_of(p, a), true)) {
        p->hedged = true;
        /* p->cur stays the primary until one of them answers. */
    }
}

/* ---- attempts ---- */

/* The adapter's context for deployment dep; base_path is the path of the
 * provider's base URL (parsed once per attempt, with the origin). */
static void build_ctx(attempt_t *a, const sy_config_deployment_t *dep, sy_str_t base_path)
{
    const sy_config_provider_t *pc = dep->provider_cfg;
    sy_provider_ctx_t *cx = &a->pcx;
    memset(cx, 0, sizeof(*cx));
    cx->provider_name = pc->name;
    cx->base_url = pc->base_url;
    cx->base_path = base_path;
    cx->api_key = pc->api_key;
    cx->model = dep->model;
    cx->body_hint = a->p->req->body.len;
    cx->api_version = pc->api_version;
    cx->azure = pc->azure;
    cx->region = pc->region;
    cx->aws_access_key_id = pc->aws_access_key_id;
    cx->aws_secret_access_key = pc->aws_secret_access_key;
    cx->aws_session_token = pc->aws_session_token;
    cx->now = (int64_t)time(NULL);
    cx->default_max_tokens = dep->max_tokens_default;
}

/* Find the plan's next deployment that may be tried now and launch it in
 * `a`. Deployments whose turn comes while their circuit is open or their
 * limits are reached are skipped (and logged). False if none is left. */
static bool try_next(proxy_t *p, attempt_t *a, bool hedge)
{
    while (p->cursor < p->plan->norder) {
        uint32_t ci = p->plan->order[p->cursor++];
        if (!eligible(p, ci)) {
            route_skip(p, ci, SY_DROP_LARGER_CONTEXT);
            continue;
        }
        launch(p, a, ci, hedge);
        if (a->active || a->admitting || p->done)
            return true;
        /* not admitted (launch logged the skip): try the next */
    }
    return false;
}

/* Start an attempt on candidate `ci` in slot `a`. On a skip (admission
 * refused) returns with a inactive and the skip logged; a synchronous
 * failure (the adapter cannot encode the request) goes through the policy
 * like any other. */
static void launch(proxy_t *p, attempt_t *a, uint32_t ci, bool hedge)
{
    const sy_config_deployment_t *dep = p->plan->cand[ci].dep;
    sy_buf_t body = a->body;
    bool body_in_arena = a->body_in_arena;
    memset(a, 0, sizeof(*a));
    a->body = body;
    a->body_in_arena = body_in_arena;
    a->p = p;
    a->cand = ci;
    a->dep = dep;
    a->state = dep->state;
    a->hedge = hedge;
    /* A fresh reading: the loop's may be from before this turn's work, and
     * an attempt must not start past the deadline. */
    if (fresh_ns(p) >= p->deadline_ns || p->attempts >= p->cfg->router.max_attempts) {
        if (!hedge) {
            if (!p->err.cls) {
                p->err.cls = SY_IR_ERR_TIMEOUT;
                p->err.message = SY_STR("the request's deadline (router.timeout) passed");
            }
            give_up(p);
        }
        return;
    }
    bool pending;
    sy_route_drop_t why = admit(p, a, dep, &pending);
    if (pending)
        return; /* shared_admitted() goes on */
    if (why != SY_DROP_NONE) {
        route_skip(p, ci, why);
        if (p->tries[ci]) /* a retry refused: move on to the next deployment */
            if (!hedge && !try_next(p, a, false))
                give_up(p);
        return;
    }
    go(p, a);
}

/* The attempt in `a` was admitted: send it. */
static void go(proxy_t *p, attempt_t *a)
{
    uint32_t ci = a->cand;
    bool hedge = a->hedge;
    const sy_config_deployment_t *dep = a->dep;
    a->active = true;
    a->probed = a->probe;
    p->attempts++;
    p->tries[ci]++;
    if (!hedge) {
        p->cur = a;
        p->dep = dep;
    }
    if (!p->client_started) {
        /* A fresh start for the client-side state a failed attempt may have touched. */
        memset(&p->usage, 0, sizeof(p->usage));
        p->streamed_bytes = p->streamed_deltas = 0;
        p->saw_end = false;
        p->t_ttft = 0;
        if (p->ir.stream && p->attempts > 1)
            p->enc = p->fd->stream_new(p->req->arena, &p->ir);
    }
    /* The provider's origin is parsed with the configuration; parsing here
     * is for a URL that did not parse then (to say why) */
    const sy_http_origin_t *origin = dep->provider_cfg->origin;
    sy_str_t path = dep->provider_cfg->base_path;
    sy_http_origin_t parsed;
    const char *oerr = NULL;
    if (!origin) {
        if (sy_http_origin_from_url(&parsed, dep->provider_cfg->base_url, &path, &oerr) != SY_OK ||
            (dep->provider_cfg->proxy.len &&
             sy_http_origin_set_proxy(&parsed, dep->provider_cfg->proxy, NULL, &oerr) != SY_OK)) {
            a->err.cls = SY_IR_ERR_INTERNAL;
            a->err.message = sy_str_c(oerr ? oerr : "invalid provider URL");
            attempt_failed(a);
            return;
        }
        origin = &parsed;
    }
    a->vt = sy_provider_find(dep->provider_cfg->kind);
    build_ctx(a, dep, path);
    /* Passthrough when the client speaks the provider's own format: the
     * client's body goes upstream with only the members the gateway acts on
     * rewritten (the adapter's passthrough hook), and the answer comes back
     * as it was sent. (A relayed answer cannot be scanned or redacted: no
     * passthrough under an output guardrail.) */
    a->passthrough = !p->embeddings && !p->guard_out && p->relay && a->vt->passthrough &&
                     p->fd->format != SY_FORMAT_NONE && p->fd->format == a->vt->native &&
                     a->vt->passthrough(p->req->arena, &a->pcx, p->req->body, p->ir.stream,
                                        &a->up) == SY_OK;
    if (!a->passthrough) {
        sy_ir_error_t e;
        memset(&e, 0, sizeof(e));
        int erc = p->embeddings
                      ? sy_openai_embeddings_encode(p->req->arena, &a->pcx, p->emb_body, &a->up)
                      : a->vt->encode(p->req->arena, &a->pcx, &p->ir, &a->up, &e);
        if (erc != SY_OK) {
            a->err = e;
            if (!a->err.cls)
                a->err.cls = SY_IR_ERR_BAD_REQUEST;
            attempt_failed(a);
            return;
        }
    }
    sy_http_header_t *hs = sy_arena_alloc(p->req->arena, SY_PROXY_MAX_HEADERS * sizeof(*hs));
    size_t nh = 0;
    hs[nh++] = (sy_http_header_t){SY_STR("Content-Type"),
                                  a->up.content_type.len ? a->up.content_type
                                                         : SY_STR("application/json")};
    hs[nh++] = (sy_http_header_t){SY_STR("Accept"), a->up.stream ? SY_STR("text/event-stream")
                                                                 : SY_STR("application/json")};
    for (sy_upstream_header_t *h = a->up.headers; h && nh < SY_PROXY_MAX_HEADERS; h = h->next)
        hs[nh++] = (sy_http_header_t){h->name, h->value};
    const sy_config_limits_t *lim = &p->cfg->limits;
    uint64_t now = fresh_ns(p); /* the upstream request leaves now */
    /* A whole response must arrive within the request's deadline; a stream
     * is bounded by the first-byte and idle timeouts instead (it may rightly
     * last longer). */
    uint64_t total_ms = a->up.stream                ? 0
                        : now >= p->deadline_ns       ? 1 /* passed while encoding: ~at once */
                                                      : SY_MAX((p->deadline_ns - now) / 1000000ull,
                                                               (uint64_t)1);
    sy_http_client_req_t cr = {
        .origin = origin,
        .method = a->up.method ? a->up.method : "POST",
        .target = a->up.path,
        .headers = hs,
        .nheaders = nh,
        .body = a->up.body,
        .timeouts = {.connect_ms = lim->upstream_connect_timeout_ms,
                     .first_byte_ms = lim->upstream_first_byte_timeout_ms,
                     .idle_ms = lim->upstream_idle_timeout_ms,
                     .total_ms = total_ms},
        .on_head = on_head,
        .on_done = on_done,
        .on_error = on_error,
        .data = a,
    };
    if (!p->t_up_start)
        p->t_up_start = now;
    a->t_start = now;
    if (a->state) {
        atomic_fetch_add_explicit(&a->state->inflight, 1, memory_order_relaxed);
        a->counted = true;
    }
    a->creq = sy_http_client_start(p->w->client, &cr);
    if (!hedge && !a->up.stream && !p->embeddings && hedge_after_ms(p) && others_left(p))
        sy_timer_start(&p->hedge_timer, hedge_after_ms(p));
}

/* ---- starting a request ---- */

static void on_abort_cb(sy_http_req_t *req)
{
    proxy_t *p = req->data;
    p->aborted = true;
    sy_timer_stop(&p->retry_timer);
    sy_timer_stop(&p->hedge_timer);
    /* The provider produced what it produced until now: account for it. */
    finish(p, 499);
}

static proxy_t *proxy_new(sy_http_req_t *req, sy_gateway_worker_t *w, sy_config_t *cfg,
                          const sy_frontdoor_vt_t *fd)
{
    proxy_t *p = sy_arena_alloc(req->arena, sizeof(*p));
    /* Zeroed but for the attempts (a third of the struct) and the needs: an
     * attempt is zeroed by launch() when it starts, and until then only its
     * admitting and active flags are read (attempt_end: both false, nothing
     * to end) and its body buffer (initialised below, on the heap). */
    memset(p, 0, offsetof(proxy_t, att));
    memset(&p->cur, 0, offsetof(proxy_t, need) - offsetof(proxy_t, cur));
    p->req = req;
    p->w = w;
    p->cfg = cfg;
    sy_config_ref(cfg);
    p->fd = fd;
    p->t_start = req->start_ns;
    p->deadline_ns = p->t_start + cfg->router.timeout_ms * 1000000ull;
    p->rc.cfg = &cfg->router;
    p->rc.rng = sy_route_rng();
    sy_buf_init(&p->tried, 1024);
    for (int i = 0; i < 2; i++) {
        p->att[i].admitting = false;
        p->att[i].active = false;
        p->att[i].body_in_arena = false;
        sy_buf_init(&p->att[i].body, SY_PROXY_MAX_RESPONSE);
    }
    sy_buf_init(&p->out, 4 * 1024 * 1024);
    sy_timer_init(&p->retry_timer, w->loop, retry_timer_cb, p);
    sy_timer_init(&p->hedge_timer, w->loop, hedge_timer_cb, p);
    sy_proxy_request_id(w, p->request_id);
    sy_arena_cleanup(req->arena, release_cb, p);
    req->data = p;
    req->on_abort = on_abort_cb;
    req->on_drain = client_drain_cb;
    return p;
}

static void respond_unknown_model(proxy_t *p, sy_str_t name)
{
    char msg[300];
    sy_snprintf(msg, sizeof(msg), "The model `%.*s` does not exist or you do not have access to it.",
             (int)SY_MIN(name.len, (size_t)200), name.p);
    p->err.cls = SY_IR_ERR_NOT_FOUND;
    respond_error(p, 404, NULL, "model_not_found", msg);
}

/* ---- governance (harness/gov.h) ---- */

/* Why the gateway refused the request itself, for the audit record. */
static void audit_refused(proxy_t *p, const char *reason)
{
    char v[96];
    int n = sy_snprintf(v, sizeof(v), "refused:%s", reason);
    sy_audit_add_verdict(p->audit, sy_str(v, n > 0 ? SY_MIN((size_t)n, sizeof(v) - 1) : 0));
}

static void gov_refused(proxy_t *p, const sy_gov_refusal_t *ref)
{
    const char *type = NULL, *code = NULL;
    int status = sy_gov_refusal_status(ref, p->fd->format, &type, &code);
    audit_refused(p, ref->reason);
    p->err.cls = status == 429   ? SY_IR_ERR_RATE_LIMITED
                 : status == 503 ? SY_IR_ERR_OVERLOADED
                                 : SY_IR_ERR_BAD_REQUEST;
    p->err.retry_after_ms = ref->retry_after_ms;
    respond_error(p, status, type, code, ref->message);
}

/* The model must be allowed at every level of the principal (the name the
 * client used, or the group it resolved to). */
static bool gov_model(proxy_t *p)
{
    sy_gov_refusal_t ref;
    if (sy_gov_model_allowed(p->gov, p->model->name) ||
        sy_gov_check_model(p->gov, p->ir.model, &ref) == SY_OK)
        return true;
    gov_refused(p, &ref);
    return false;
}

static void residency_to_need(const sy_residency_t *r, sy_route_need_t *need)
{
    need->restricted = r->restricted;
    need->njurisdictions = (uint8_t)SY_MIN(r->nallowed, (size_t)SY_ROUTE_MAX_LIST);
    for (size_t i = 0; i < need->njurisdictions; i++)
        need->jurisdictions[i] = r->allowed[i];
    need->residency_why = r->why;
}

/* Whether a policy side has any detector that does something. */
static bool guard_side_acts(const sy_guard_side_t *side)
{
    return side->pii.action != SY_GUARD_OFF || side->secrets.action != SY_GUARD_OFF ||
           side->injection.action != SY_GUARD_OFF || side->deny.action != SY_GUARD_OFF;
}

/* Input guardrails: the principal's policy (its key's, else its team's,
 * else its organisation's) over the parsed request. A block is answered
 * here; a redaction rewrote the request, so the client's bytes may no
 * longer go upstream as they are; a restriction puts the request in a data
 * class for the residency filter. The verdict goes into the audit record. */
static bool guard_input(proxy_t *p)
{
    sy_str_t name = sy_gov_guardrails(p->gov);
    if (name.len == 0)
        return true;
    const sy_guard_policy_t *pol = sy_guard_policy_find(p->cfg, name);
    if (pol == NULL) {
        /* Fail closed: the key asks for a policy this configuration lacks. */
        char msg[200];
        sy_snprintf(msg, sizeof(msg), "The guardrail policy `%.*s` of this key is not configured.",
                 (int)SY_MIN(name.len, (size_t)64), name.p);
        p->err.cls = SY_IR_ERR_INTERNAL;
        respond_error(p, 503, NULL, NULL, msg);
        return false;
    }
    if (guard_side_acts(&pol->output))
        p->guard_out = pol;
    sy_guard_verdict_t v;
    sy_guard_apply_request(p->req->arena, pol, &p->ir, &v);
    audit_verdict(p, &v, false);
    if (v.blocked) {
        p->err.cls = SY_IR_ERR_CONTENT_FILTER;
        respond_error(p, v.status ? v.status : 400, NULL, "content_filter",
                      v.message ? v.message : "request blocked by a guardrail policy");
        return false;
    }
    if (v.modified)
        p->relay = false; /* re-encode from the rewritten request */
    if (v.restricted) {
        p->guard_class = v.restriction.data_class;
        p->guard_juris = v.restriction.jurisdictions;
        p->nguard_juris = v.restriction.njurisdictions;
    }
    return true;
}

/* The request's data classes -> the jurisdictions the router may use. */
static bool gov_residency(proxy_t *p)
{
    sy_gov_refusal_t ref;
    p->residency = sy_arena_alloc(p->req->arena, sizeof(*p->residency));
    if (sy_gov_residency(p->gov, p->req, p->guard_class, p->guard_juris, p->nguard_juris,
                         p->residency, &ref) != SY_OK) {
        gov_refused(p, &ref);
        return false;
    }
    residency_to_need(p->residency, &p->need);
    return true;
}

static void gov_reserved_cb(void *ctx, const sy_gov_refusal_t *ref)
{
    proxy_t *p = ctx;
    if (p->done)
        return;
    if (ref) {
        gov_refused(p, ref);
        return;
    }
    if (!try_next(p, &p->att[0], false))
        give_up(p);
}

/* Reserve the worst case over the plan before the first attempt: the
 * estimated input and, per deployment, max_tokens (or its max output, or
 * governance.default_max_output) at its prices; the largest of these is
 * reserved, so a fallback to a pricier deployment is covered. Settled in
 * finish() with the real usage. */
static void gov_reserve(proxy_t *p)
{
    uint64_t tokens = 0, cost = 0;
    for (uint32_t i = 0; i < p->plan->norder; i++) {
        const sy_config_deployment_t *d = p->plan->cand[p->plan->order[i]].dep;
        uint64_t out = p->embeddings       ? 0
                       : p->need.max_tokens ? p->need.max_tokens
                       : d->max_out        ? d->max_out
                                           : p->cfg->governance.default_max_output;
        tokens = SY_MAX(tokens, p->need.input_tokens + out);
        if (d->priced)
            cost = SY_MAX(cost, sy_cost_estimate_pico(&d->cost, p->need.input_tokens, out));
    }
    sy_gov_reserve(p->gov, tokens, cost, gov_reserved_cb, p);
}

/* Plan the request and start its first attempt, or answer why nothing can
 * serve it. */
static void route_and_go(proxy_t *p, sy_str_t capture)
{
    char err[256];
    if (sy_route_need_from_headers(&p->need, p->req->head.headers, p->req->head.nheaders, err,
                                   sizeof(err)) != SY_OK) {
        p->err.cls = SY_IR_ERR_BAD_REQUEST;
        respond_error(p, 400, NULL, NULL, err);
        return;
    }
    if (!gov_residency(p))
        return;
    p->deps = sy_route_deployments(p->req->arena, p->model, capture, &p->ndeps);
    p->plan = sy_arena_alloc(p->req->arena, sizeof(*p->plan));
    p->rc.now_ms = now_ms(p);
    if (sy_route_plan(&p->rc, p->model, p->deps, p->ndeps, &p->need, p->plan) == 0) {
        char msg[2048];
        uint64_t ra = 0;
        int status = sy_route_unmet(&p->rc, p->plan, &p->need, p->ir.model, msg, sizeof(msg), &ra);
        sy_route_drop_t first = SY_DROP_NONE;
        for (uint32_t i = 0; i < p->plan->n && first == SY_DROP_NONE; i++)
            first = p->plan->cand[i].drop;
        sy_metrics_add(p->w->metrics, SY_M_ROUTE_UNROUTABLE, 1, group_name(p),
                       sy_str_c(sy_route_drop_name(first)), SY_STR_NULL, SY_STR_NULL);
        char why[64];
        sy_snprintf(why, sizeof(why), "unroutable:%s", sy_route_drop_name(first));
        audit_refused(p, why);
        p->err.cls = status == 400   ? SY_IR_ERR_BAD_REQUEST
                     : status == 429 ? SY_IR_ERR_RATE_LIMITED
                                     : SY_IR_ERR_OVERLOADED;
        p->err.retry_after_ms = ra;
        if (status == 503 && p->fd->format == SY_FORMAT_ANTHROPIC)
            status = 529;
        respond_error(p, status, NULL, sy_ir_error_code(&p->err), msg);
        return;
    }
    gov_reserve(p);
}

/* A place for the request's audit record, or a 503 when the audit queue
 * stayed full (audit/audit.h): a request is never served unrecorded. */
static bool audit_admit(proxy_t *p)
{
    if (sy_audit_begin(p->req->arena, &p->audit) == SY_OK) {
        sy_audit_set_principal(p->audit, sy_gov_key_id(p->gov), sy_gov_team_id(p->gov),
                               sy_gov_org_id(p->gov));
        return true;
    }
    p->err.cls = SY_IR_ERR_OVERLOADED;
    p->err.retry_after_ms = 1000;
    respond_error(p, 503, NULL, NULL, "The gateway's audit log is falling behind; retry shortly.");
    return false;
}

void sy_proxy_chat(sy_http_req_t *req, sy_gateway_worker_t *w, sy_config_t *cfg,
                   const sy_frontdoor_vt_t *fd, sy_gov_req_t *gov)
{
    proxy_t *p = proxy_new(req, w, cfg, fd);
    p->gov = gov;
    if (!audit_admit(p))
        return;
    int status = 400;
    const char *message = NULL;
    if (fd->parse(req->arena, req->body, &p->ir, &status, &message) != SY_OK) {
        p->err.cls = SY_IR_ERR_BAD_REQUEST;
        respond_error(p, status, NULL, NULL, message ? message : "invalid request body");
        return;
    }
    p->ir.request_id = sy_str(p->request_id, REQUEST_ID_LEN);
    sy_str_t capture;
    p->model = sy_config_match_model(cfg, p->ir.model, &capture);
    if (p->model == NULL) {
        respond_unknown_model(p, p->ir.model);
        return;
    }
    if (!gov_model(p))
        return;
    if (p->ir.stream)
        p->enc = fd->stream_new(req->arena, &p->ir);
    /* The front door validated the body: it may be relayed to a provider of
     * the same format (unless a guardrail rewrites the request). */
    p->relay = true;
    if (!guard_input(p))
        return;
    sy_route_need_from_ir(&p->ir, &p->need);
    route_and_go(p, capture);
}

void sy_proxy_embeddings(sy_http_req_t *req, sy_gateway_worker_t *w, sy_config_t *cfg,
                         sy_gov_req_t *gov)
{
    proxy_t *p = proxy_new(req, w, cfg, &sy_frontdoor_openai);
    p->gov = gov;
    if (!audit_admit(p))
        return;
    p->embeddings = true;
    int status = 400;
    const char *message = NULL;
    sy_openai_embeddings_t emb;
    if (sy_openai_embeddings_parse(req->arena, req->body, &emb, &status, &message) != SY_OK) {
        p->err.cls = SY_IR_ERR_BAD_REQUEST;
        respond_error(p, status, NULL, NULL, message ? message : "invalid request body");
        return;
    }
    p->ir.model = emb.model;
    p->emb_body = emb.body;
    sy_str_t capture;
    p->model = sy_config_match_model(cfg, emb.model, &capture);
    if (p->model == NULL) {
        respond_unknown_model(p, emb.model);
        return;
    }
    if (!gov_model(p))
        return;
    for (size_t i = 0; i < p->model->ndeployments; i++)
        if (!sy_str_eq_c(p->model->deployments[i].provider_cfg->kind, "openai")) {
            p->err.cls = SY_IR_ERR_BAD_REQUEST;
            respond_error(p, 400, NULL, NULL,
                          "embeddings are served by OpenAI-compatible providers only; this model "
                          "has a deployment of another kind");
            return;
        }
    memset(&p->need, 0, sizeof(p->need));
    route_and_go(p, capture);
}

/* ---- explain (GET /admin/routes/explain) ---- */

int sy_proxy_explain(sy_arena_t *a, const sy_config_t *cfg, sy_str_t model,
                     const sy_ir_request_t *ir, const sy_http_header_t *headers, size_t nheaders,
                     const sy_residency_t *residency, bool json, sy_buf_t *out, char *err,
                     size_t errsz)
{
    sy_str_t capture;
    const sy_config_model_t *g = sy_config_match_model(cfg, model, &capture);
    if (g == NULL) {
        sy_snprintf(err, errsz, "The model `%.*s` does not exist.", (int)SY_MIN(model.len, (size_t)200),
                 model.p);
        return SY_ENOTFOUND;
    }
    sy_route_need_t need;
    if (ir)
        sy_route_need_from_ir(ir, &need);
    else
        memset(&need, 0, sizeof(need));
    if (sy_route_need_from_headers(&need, headers, nheaders, err, errsz) != SY_OK)
        return SY_EINVAL;
    if (residency)
        residency_to_need(residency, &need);
    size_t n;
    const sy_config_deployment_t *deps = sy_route_deployments(a, g, capture, &n);
    sy_route_plan_t *plan = sy_arena_alloc(a, sizeof(*plan));
    uint64_t rng = 0x853c49e6748fea9bULL ^ (uint64_t)sy_now_ns();
    sy_route_ctx_t rc = {.cfg = &cfg->router, .now_ms = sy_now_ms(), .rng = &rng, .explain = true};
    sy_route_plan(&rc, g, deps, n, &need, plan);
    if (json)
        sy_route_explain_json(&rc, plan, &need, model, out);
    else
        sy_route_explain_text(&rc, plan, &need, model, out);
    return SY_OK;
}
