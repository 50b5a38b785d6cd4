/*
 * record.h - one audit record and its canonical encoding.
 *
 * A record is what the gateway knows about one request when it finishes:
 * who asked (principal ids), what for (requested model), how it was served
 * (deployment, region, attempts with reasons), what policy said (verdicts),
 * what it cost (tokens, exact cost in pico-dollars), how it ended (status,
 * timings) and fingerprints of what went in and out (SHA-256 of the request
 * body and of the response bytes the client was sent).
 *
 * The canonical encoding is the bytes that get hashed into the Merkle tree
 * and stored: compact JSON, object keys in byte order, no white space,
 * integers in decimal, strings escaped one way only (\" \\ \b \f \n \r \t,
 * other control bytes as \u00XX lower-case, invalid UTF-8 bytes as \ufffd,
 * everything else literal). The same record always encodes to the same bytes
 * and the encoding is valid JSON any tool can read. Field list and meaning:
 * docs/internals/audit.md.
 */
#ifndef SY_AUDIT_RECORD_H
#define SY_AUDIT_RECORD_H

#include "audit/merkle.h"
#include "core/buf.h"

#define SY_AUDIT_RECORD_VERSION 1

typedef enum {
    SY_AUDIT_CONTENT_NONE = 0,
    SY_AUDIT_CONTENT_REDACTED,
    SY_AUDIT_CONTENT_FULL,
} sy_audit_content_t;

typedef struct {
    uint64_t seq;     /* index in the log (leaf number), set by the writer */
    uint64_t time_ms; /* wall clock when the request finished */
    sy_str_t request_id;
    /* principal: empty until keys, teams and organisations exist */
    sy_str_t key_id, team_id, org_id;
    sy_str_t frontdoor; /* "openai", "anthropic" */
    sy_str_t endpoint;  /* the request path */
    sy_str_t model;     /* as the client asked */
    /* the deployment that answered last (empty when none was tried) */
    sy_str_t provider, upstream_model, region, jurisdiction;
    sy_str_t route;       /* attempts with reasons: "provider:status,provider:error" */
    sy_str_t route_detail; /* the router's attempts as JSON text (kept as a string), or "" */
    sy_str_t strategy;     /* the model group's routing strategy, or "" */
    uint32_t attempts;
    const sy_str_t *verdicts; /* policy verdicts, in order; none yet */
    size_t nverdicts;
    int status; /* HTTP status the client got (499: the client went away) */
    bool stream;
    sy_str_t error_class;
    uint64_t tokens_in, tokens_out, tokens_cached, tokens_cache_write, tokens_reasoning;
    bool usage_estimated;
    uint64_t cost_pico;
    bool cost_known;
    bool client_aborted;
    uint64_t duration_us, upstream_us, ttft_us;
    uint64_t request_bytes, response_bytes;
    sy_hash_t request_sha256, response_sha256;
    sy_audit_content_t content;
    sy_str_t request_content, response_content; /* when content is not NONE */
    bool content_truncated;
} sy_audit_record_t;

/* Append r's canonical encoding to out. Returns SY_OK or the buffer's error. */
int sy_audit_record_encode(const sy_audit_record_t *r, sy_buf_t *out);

/*
 * Mask the text of JSON string values in `in` (a JSON body, or SSE whose data
 * lines are JSON) and append the result to out: object keys, numbers,
 * structure and the values of a few structural keys (model, role, type, id,
 * name, object, finish_reason, stop_reason, event...) stay; every other
 * string value becomes "[redacted]". A stand-in for guardrail redaction until
 * it exists: it keeps the shape of a conversation, none of its words.
 */
void sy_audit_redact(sy_str_t in, sy_buf_t *out);

#endif
