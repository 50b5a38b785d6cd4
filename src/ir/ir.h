/*
 * ir.h - the canonical request, response and stream model.
 *
 * Every front door (OpenAI, Anthropic) parses its request into a
 * sy_ir_request_t, and every provider adapter (openai, anthropic, gemini,
 * bedrock) encodes one into its own wire format; responses travel back the
 * same way, as a sy_ir_response_t or as a sequence of sy_ir_delta_t stream
 * events. A front door and an adapter never see each other's formats: adding
 * a provider means writing an adapter against this file, nothing else.
 *
 * The stream model is block-structured: a message is a sequence of content
 * blocks (text, thinking, tool call), each opened, filled by deltas and
 * closed, in order, then a finish reason and the usage. Formats that interleave
 * (OpenAI's parallel tool-call deltas) are normalised by their decoder, which
 * opens and closes blocks; formats without explicit blocks get them
 * synthesised. Encoders may rely on these invariants:
 *   START first; every BLOCK_START is matched by a BLOCK_STOP before the next
 *   BLOCK_START (blocks do not overlap; indexes count up from 0); content
 *   deltas only inside their block; USAGE may come any number of times, each
 *   carrying cumulative figures for the fields it sets; FINISH once, after the
 *   last BLOCK_STOP; END last, exactly once, unless an ERROR ends the stream.
 * ir/check.h checks them; decoders emit through ir/emit.h, which keeps them.
 *
 * Memory: every string is a view. Request views point into the client's body
 * (kept alive by the request arena); response and delta views point into the
 * upstream's bytes and are valid only until the callback that received them
 * returns (stream) or until the request arena is reset (whole responses).
 */
#ifndef SY_IR_IR_H
#define SY_IR_IR_H

#include "core/arena.h"
#include "core/common.h"
#include "core/str.h"
#include "json/json.h"

typedef enum {
    SY_IR_SYSTEM = 0,
    SY_IR_USER,
    SY_IR_ASSISTANT,
    SY_IR_TOOL, /* a message carrying tool results only (OpenAI role "tool") */
} sy_ir_role_t;

typedef enum {
    SY_IR_TEXT = 0,
    SY_IR_IMAGE,
    SY_IR_TOOL_CALL,   /* assistant asks for a tool */
    SY_IR_TOOL_RESULT, /* the caller answers a tool call */
    SY_IR_THINKING,    /* reasoning text, with an opaque signature where the provider has one */
    SY_IR_REDACTED_THINKING, /* opaque reasoning data (Anthropic redacted_thinking) */
} sy_ir_part_kind_t;

/* An image, either a URL or inline base64 data with its media type. */
typedef struct {
    sy_str_t url;        /* http(s) URL, or empty */
    sy_str_t media_type; /* "image/png"... for inline data */
    sy_str_t data;       /* base64, for inline data */
    sy_str_t detail;     /* OpenAI "low"/"high"/"auto", or empty */
} sy_ir_image_t;

typedef struct sy_ir_part sy_ir_part_t;

/* One piece of message content. Only the members of its kind are set. */
struct sy_ir_part {
    sy_ir_part_kind_t kind;
    sy_str_t text;      /* TEXT, THINKING */
    sy_str_t signature; /* THINKING signature; REDACTED_THINKING data */
    sy_ir_image_t image;
    /* TOOL_CALL: id, name and the arguments as JSON text (an object). */
    sy_str_t call_id;
    sy_str_t name;
    sy_str_t arguments;
    /* TOOL_RESULT: call_id (above) names the call; content is text and
     * image parts; name (above) is the tool's name when the format has it. */
    sy_ir_part_t *content;
    size_t ncontent;
    bool is_error;
    bool cache; /* Anthropic cache_control ephemeral breakpoint on this part */
};

typedef struct {
    sy_ir_role_t role;
    sy_ir_part_t *parts;
    size_t nparts;
    sy_str_t name; /* OpenAI participant name, or empty */
} sy_ir_message_t;

/* A function the model may call; parameters is a JSON Schema object. */
typedef struct {
    sy_str_t name;
    sy_str_t description;
    const sy_json_t *parameters; /* NULL: no parameters ({"type":"object"}) */
    bool strict;
} sy_ir_tool_t;

typedef enum {
    SY_IR_TOOL_CHOICE_UNSET = 0, /* the provider's default (auto when tools exist) */
    SY_IR_TOOL_CHOICE_AUTO,
    SY_IR_TOOL_CHOICE_NONE,
    SY_IR_TOOL_CHOICE_REQUIRED, /* some tool (OpenAI "required", Anthropic "any") */
    SY_IR_TOOL_CHOICE_NAMED,    /* the tool named tool_choice_name */
} sy_ir_tool_choice_t;

typedef enum {
    SY_IR_FORMAT_TEXT = 0,
    SY_IR_FORMAT_JSON_OBJECT, /* any JSON object */
    SY_IR_FORMAT_JSON_SCHEMA, /* JSON conforming to response_schema */
} sy_ir_format_t;

typedef enum {
    SY_IR_EFFORT_UNSET = 0,
    SY_IR_EFFORT_MINIMAL,
    SY_IR_EFFORT_LOW,
    SY_IR_EFFORT_MEDIUM,
    SY_IR_EFFORT_HIGH,
} sy_ir_effort_t;

#define SY_IR_MAX_STOP 16

/*
 * A request in canonical form. Optional numbers carry a has_ flag: a
 * parameter the client did not send is not sent upstream either.
 */
typedef struct {
    sy_str_t model;           /* the name the client asked for */
    sy_ir_part_t *system;     /* system prompt parts (text), in order */
    size_t nsystem;
    sy_ir_message_t *messages; /* user/assistant/tool turns, in order */
    size_t nmessages;
    sy_ir_tool_t *tools;
    size_t ntools;
    sy_ir_tool_choice_t tool_choice;
    sy_str_t tool_choice_name;
    int parallel_tool_calls; /* -1 unset, 0 false, 1 true */
    sy_ir_format_t format;
    sy_str_t schema_name;
    const sy_json_t *schema; /* for SY_IR_FORMAT_JSON_SCHEMA */
    bool schema_strict;
    bool has_temperature, has_top_p, has_top_k, has_seed, has_presence, has_frequency;
    double temperature, top_p, presence_penalty, frequency_penalty;
    int64_t top_k, seed;
    sy_str_t stop[SY_IR_MAX_STOP];
    size_t nstop;
    uint64_t max_tokens; /* 0: unset (adapters that require it use a default) */
    /* reasoning: either an effort level or a token budget (or both) */
    sy_ir_effort_t effort;
    uint64_t thinking_budget; /* 0: not requested */
    bool stream;
    bool include_usage; /* OpenAI stream_options.include_usage as the client sent it */
    sy_str_t user;      /* end-user id for the provider's abuse tracking, or empty */
    /* The gateway's id for this request (not from the client; api/proxy.c
     * sets it after parse), or empty. A front door derives the ids the
     * upstream did not give from it: the same for every run of the same
     * request, different across requests. */
    sy_str_t request_id;
} sy_ir_request_t;

typedef enum {
    SY_IR_FINISH_UNSET = 0,
    SY_IR_FINISH_STOP,          /* natural end (end_turn, STOP, stop) */
    SY_IR_FINISH_LENGTH,        /* max tokens reached */
    SY_IR_FINISH_TOOL_CALLS,    /* the model wants tool results */
    SY_IR_FINISH_STOP_SEQUENCE, /* a stop sequence matched (stop_sequence says which) */
    SY_IR_FINISH_CONTENT_FILTER,
    SY_IR_FINISH_REFUSAL,
    SY_IR_FINISH_ERROR,
} sy_ir_finish_t;

/* Token usage. Fields are cumulative totals; has_ says which are known.
 * input counts every prompt token, cached ones included: cached_input is
 * the part of input served from the provider's cache (billed at the cached
 * price) and cache_write the part written to it. reasoning is the part of
 * output spent thinking. */
typedef struct {
    uint64_t input, output, cached_input, cache_write, reasoning;
    bool has_input, has_output, has_cached_input, has_cache_write, has_reasoning;
} sy_ir_usage_t;

/* Merge src into dst: every field src knows replaces dst's. */
void sy_ir_usage_merge(sy_ir_usage_t *dst, const sy_ir_usage_t *src);

/* A whole (non-streamed) response. */
typedef struct {
    sy_str_t id;
    sy_str_t model; /* the model that answered, as the provider names it */
    sy_ir_part_t *parts; /* TEXT, THINKING, REDACTED_THINKING, TOOL_CALL */
    size_t nparts;
    sy_ir_finish_t finish;
    sy_str_t stop_sequence;
    sy_ir_usage_t usage;
    int64_t created; /* Unix seconds, or 0 */
} sy_ir_response_t;

typedef enum {
    SY_IR_DELTA_START = 0,  /* id, model; usage may carry input figures */
    SY_IR_DELTA_BLOCK_START, /* index, block; call_id + name for a tool call; text may carry initial
                                content (redacted thinking data) */
    SY_IR_DELTA_TEXT,        /* index, text */
    SY_IR_DELTA_THINKING,    /* index, text */
    SY_IR_DELTA_SIGNATURE,   /* index, text (a thinking block's signature, or part of it) */
    SY_IR_DELTA_TOOL_ARGS,   /* index, text (a fragment of the arguments JSON) */
    SY_IR_DELTA_BLOCK_STOP,  /* index */
    SY_IR_DELTA_USAGE,       /* usage */
    SY_IR_DELTA_FINISH,      /* finish, stop_sequence */
    SY_IR_DELTA_END,
    SY_IR_DELTA_ERROR,       /* error (mid-stream failure) */
} sy_ir_delta_kind_t;

/* How an upstream failure is classified; the router decides from this. */
typedef enum {
    SY_IR_ERR_NONE = 0,
    SY_IR_ERR_BAD_REQUEST,     /* 400-class the client must fix; not retried */
    SY_IR_ERR_AUTH,            /* provider rejected our credentials (401/403) */
    SY_IR_ERR_NOT_FOUND,       /* unknown model/deployment upstream */
    SY_IR_ERR_RATE_LIMITED,    /* 429 */
    SY_IR_ERR_OVERLOADED,      /* 529, 503 overloaded */
    SY_IR_ERR_SERVER,          /* 5xx */
    SY_IR_ERR_TIMEOUT,         /* connect / first byte / idle timeout */
    SY_IR_ERR_CONNECTION,      /* refused, reset, TLS failure, DNS */
    SY_IR_ERR_CONTEXT_LENGTH,  /* prompt too long for this model */
    SY_IR_ERR_CONTENT_FILTER,  /* refused by the provider's filter */
    SY_IR_ERR_BAD_RESPONSE,    /* unparseable or protocol-violating response */
    SY_IR_ERR_INTERNAL,        /* the gateway itself failed */
} sy_ir_error_class_t;

typedef struct {
    sy_ir_error_class_t cls;
    int status;            /* upstream HTTP status, or 0 */
    sy_str_t message;      /* human-readable, safe to show the client */
    sy_str_t type;         /* the provider's own error type/code, if any */
    uint64_t retry_after_ms; /* from Retry-After or the body, 0 if none */
} sy_ir_error_t;

typedef struct {
    sy_ir_delta_kind_t kind;
    uint32_t index;          /* block index */
    sy_ir_part_kind_t block; /* BLOCK_START: TEXT, THINKING, REDACTED_THINKING or TOOL_CALL */
    sy_str_t text;
    sy_str_t id;    /* START: message id; BLOCK_START: tool call id */
    sy_str_t name;  /* BLOCK_START: tool name */
    sy_str_t model; /* START */
    sy_ir_usage_t usage;
    sy_ir_finish_t finish;
    sy_str_t stop_sequence;
    sy_ir_error_t error;
} sy_ir_delta_t;

/* Receives decoded stream events. Return SY_OK to continue, anything else to
 * stop decoding (the client went away, or the encoder failed). */
typedef int (*sy_ir_delta_cb)(void *ctx, const sy_ir_delta_t *d);

const char *sy_ir_finish_name(sy_ir_finish_t f); /* "stop", "length", ... for logs */
const char *sy_ir_error_class_name(sy_ir_error_class_t c);
/* The HTTP status a gateway answers with for an error of this class. */
int sy_ir_error_status(sy_ir_error_class_t c);
/* The error's machine-readable code in the vocabulary of the APIs that have
 * one (OpenAI's error.code, which compatible hosts reuse): the provider's own
 * code when it is a word of that vocabulary ("insufficient_quota" stays what
 * it is), else the class's ("rate_limit_exceeded", "context_length_exceeded",
 * "model_not_found"); NULL when there is none. A provider's credential error
 * (class auth) is the gateway's key, not the client's: no code is relayed. */
const char *sy_ir_error_code(const sy_ir_error_t *e);
/* Whether an attempt that failed this way may be retried or fallen back from. */
bool sy_ir_error_retryable(sy_ir_error_class_t c);

/* An estimate of the request's input tokens (about 4 bytes a token over
 * every text, tool definition and schema; images at a flat rate). Used before
 * the call: for budgets, count_tokens and context-window checks. */
uint64_t sy_ir_estimate_input_tokens(const sy_ir_request_t *r);

/*
 * Rebuild a whole response from stream events (used when a client asked for
 * a whole response but the upstream path streams, and in tests). Feed every
 * delta; sy_ir_collect_finish() returns the response (arena-allocated).
 */
typedef struct sy_ir_collector sy_ir_collector_t;
sy_ir_collector_t *sy_ir_collector_new(sy_arena_t *a);
int sy_ir_collect(void *collector, const sy_ir_delta_t *d); /* a sy_ir_delta_cb */
const sy_ir_response_t *sy_ir_collect_finish(sy_ir_collector_t *c);

#endif
