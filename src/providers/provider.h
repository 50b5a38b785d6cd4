/*
 * provider.h - the provider adapter interface.
 *
 * One adapter per provider family (openai, anthropic, gemini, bedrock), each
 * a `const sy_provider_vt_t` registered in providers/registry.c. The core
 * (api/proxy.c) never asks which provider it talks to: it calls the vtable.
 *
 * An attempt goes: encode() builds the upstream request from the IR; the
 * upstream client sends it; a non-2xx answer goes to map_error(); a 2xx
 * whole body goes to decode(); a 2xx stream goes through stream_new(), then
 * stream_feed() for each run of body bytes as they arrive (arbitrary
 * splits), then stream_end() at the end of the body. Decoders emit IR deltas
 * obeying the invariants in ir/ir.h, as soon as the upstream event that
 * carries them is complete: never buffer the whole stream. They emit through
 * an ir/emit.h emitter, which keeps those invariants by construction.
 *
 * Adapters are pure: no I/O, no globals, no clocks (time arrives in the
 * context), so each is testable with data files alone.
 */
#ifndef SY_PROVIDERS_PROVIDER_H
#define SY_PROVIDERS_PROVIDER_H

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "http/parse.h"
#include "ir/ir.h"

/* The API formats a front door or provider speaks natively. */
typedef enum {
    SY_FORMAT_NONE = 0,
    SY_FORMAT_OPENAI,    /* /v1/chat/completions */
    SY_FORMAT_ANTHROPIC, /* /v1/messages */
} sy_format_t;

/* What an adapter needs to know about the deployment it encodes for. All
 * strings are NUL-terminated views owned by the configuration snapshot. */
typedef struct {
    sy_str_t provider_name;  /* config name, for messages */
    sy_str_t base_url;       /* e.g. https://api.openai.com/v1 (no trailing slash) */
    sy_str_t base_path;      /* the path part of base_url ("/v1"), "" for none */
    sy_str_t api_key;        /* secret: never logged */
    sy_str_t model;          /* the upstream model / deployment / model id */
    sy_str_t api_version;    /* Azure api-version, Anthropic anthropic-version; "" = default */
    bool azure;              /* OpenAI kind with Azure paths and api-key header */
    /* AWS (bedrock) */
    sy_str_t region;
    sy_str_t aws_access_key_id;
    sy_str_t aws_secret_access_key; /* secret */
    sy_str_t aws_session_token;     /* secret, optional */
    int64_t now;             /* Unix seconds, for signatures */
    uint64_t default_max_tokens; /* used when the format requires max_tokens and the client sent none */
    size_t body_hint;        /* the client's request body's size (0: unknown): an encoder's first room */
} sy_provider_ctx_t;

typedef struct sy_upstream_header {
    struct sy_upstream_header *next;
    sy_str_t name, value;
} sy_upstream_header_t;

/* An upstream request as the adapter built it (arena-allocated). The host
 * and scheme come from base_url; path includes base_path and the query. */
typedef struct {
    const char *method;
    sy_str_t path;
    sy_upstream_header_t *headers; /* besides Host, Content-Length, Content-Type: JSON */
    sy_str_t content_type;         /* default application/json */
    sy_str_t body;
    bool stream; /* the response will be a stream */
} sy_upstream_req_t;

/* Add a header to an upstream request. The name is a literal (not copied);
 * the value is copied into a, or, with _ref, kept as it is: it must live as
 * long as the request (in a, or in the configuration). */
void sy_upstream_add_header(sy_arena_t *a, sy_upstream_req_t *r, const char *name, sy_str_t value);
void sy_upstream_add_header_ref(sy_arena_t *a, sy_upstream_req_t *r, const char *name,
                                sy_str_t value);

typedef struct sy_provider_vt {
    const char *kind;   /* "openai", "anthropic", "gemini", "bedrock" */
    sy_format_t native; /* format spoken natively (passthrough possible), or NONE */

    /* Build the upstream request. Returns SY_OK, or an error with err filled
     * (a request this provider cannot express: SY_IR_ERR_BAD_REQUEST with a
     * message naming what, e.g. "n > 1 is not supported by anthropic"). */
    int (*encode)(sy_arena_t *a, const sy_provider_ctx_t *cx, const sy_ir_request_t *req,
                  sy_upstream_req_t *out, sy_ir_error_t *err);

    /* Parse a whole 2xx body into a response. Views may point into body. */
    int (*decode)(sy_arena_t *a, const sy_provider_ctx_t *cx, sy_str_t body,
                  sy_ir_response_t *out, sy_ir_error_t *err);

    /* Streaming decoder: state in a; feed() may call cb any number of times;
     * end() is called at the end of the body and emits what completes the
     * stream (FINISH/USAGE/END), or an ERROR delta if the upstream stream was
     * cut short or malformed (the client still gets a well-formed ending).
     * Returns SY_OK, or the first non-OK value cb returned, or SY_EINVAL
     * after emitting an ERROR delta for a malformed stream. */
    void *(*stream_new)(sy_arena_t *a, const sy_provider_ctx_t *cx, const sy_ir_request_t *req);
    int (*stream_feed)(void *st, const char *data, size_t len, sy_ir_delta_cb cb, void *cbctx);
    int (*stream_end)(void *st, sy_ir_delta_cb cb, void *cbctx);

    /* Classify a non-2xx answer: class, a message safe to show the client
     * (the provider's own message where it has one), retry_after_ms from the
     * Retry-After header or the body. */
    void (*map_error)(int status, const sy_http_header_t *headers, size_t nheaders, sy_str_t body,
                      sy_ir_error_t *out);

    /* Passthrough (optional; adapters with a `native` format): the upstream
     * request for a client body in that very format, relayed as the client
     * wrote it except the members the gateway acts on (the model becomes the
     * deployment's; OpenAI streams ask for usage). No IR is encoded: the
     * body was validated by the front door. SY_EAGAIN when the body cannot
     * be relayed that way; the core then encodes the IR. */
    int (*passthrough)(sy_arena_t *a, const sy_provider_ctx_t *cx, sy_str_t body, bool stream,
                       sy_upstream_req_t *out);

    /* The usage of a whole 2xx answer relayed as it is (optional): SY_OK
     * when the answer is plainly a success and its usage was read into out
     * (left zero when it reports none), without decoding the whole answer.
     * SY_EAGAIN when unsure (an error member, an unexpected shape, a key
     * written with escapes, malformed text): the core then decodes it. */
    int (*passthrough_usage)(sy_arena_t *a, sy_str_t body, sy_ir_usage_t *out);
} sy_provider_vt_t;

/* The adapter for a kind name, or NULL. */
const sy_provider_vt_t *sy_provider_find(sy_str_t kind);
/* Every registered adapter, NULL-terminated (for docs, config checks). */
const sy_provider_vt_t *const *sy_provider_all(void);

/* Retry-After header value (seconds or HTTP date) in ms, 0 if absent/invalid. */
uint64_t sy_provider_retry_after_ms(const sy_http_header_t *headers, size_t n);
/* The class for a plain HTTP status (used by adapters before body checks). */
sy_ir_error_class_t sy_provider_status_class(int status);

#endif
