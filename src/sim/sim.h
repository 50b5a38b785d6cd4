/*
 * sim.h - `switchyard sim`: the provider simulator's core and its family
 * interface.
 *
 * The simulator answers the real paths of four provider families (OpenAI and
 * Azure OpenAI, Anthropic, Gemini, Bedrock) on one port. The core owns what
 * they share: the configuration and its models, per-request behaviour
 * (model defaults overridden by x-sim-* headers), the deterministic tokenizer
 * and generator, the pacing engine that writes stream events at tokens per
 * second with backpressure, fault injection, and the request log behind
 * /_sim/requests. A family owns its wire format: paths, validation, bodies,
 * events and error shapes. docs/internals/sim.md walks through a request.
 *
 * A family is one `const sy_sim_family_t` (below) listed in the table in
 * sim.c. Its handle() claims a request by path and then, in order:
 *   1. checks credentials and parses/validates the body, answering its own
 *      4xx errors with sy_sim_respond_json() (or sy_sim_respond_error());
 *   2. resolves the model (sy_sim_model_find) and calls sy_sim_prepare(),
 *      which fixes the behaviour and seed and may answer a fault itself;
 *   3. plans its output with the generator (sy_sim_text_*, sy_sim_gen_json)
 *      and either builds the whole body and calls sy_sim_respond_json(), or
 *      calls sy_sim_stream() with its event writer (sy_sim_stream_ops_t).
 * The core delays, corrupts, cuts or resets what the family produced as the
 * behaviour says; the family never looks at timers or faults (except to
 * write its own mid-stream error event when asked).
 *
 * Memory: a call lives in the request arena (req->arena) and dies with the
 * request. Per-stream state is the call (about 200 bytes) plus what the
 * family keeps in call->fstate; generated text is never stored: a token is
 * recomputed from (seed, index) when it is written. Events are formatted
 * into the worker's scratch buffer, reset after each event: nothing is
 * allocated per token.
 *
 * Threads: sy_sim_t is shared by all workers and read-only after start,
 * except the request log (mutex) and the per-model counters (atomics).
 * Everything else belongs to one worker.
 */
#ifndef SY_SIM_SIM_H
#define SY_SIM_SIM_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/loop.h"
#include "core/str.h"
#include "http/server.h"
#include "json/json.h"

/* ------------------------------------------------------------------------ */
/* Named caps and defaults                                                  */
/* ------------------------------------------------------------------------ */

#define SY_SIM_MAX_MODELS         512
#define SY_SIM_MAX_KEYS           64
#define SY_SIM_MAX_OUTPUT_TOKENS  100000u  /* x-sim-output-tokens and config cap */
#define SY_SIM_MAX_TTFT_MS        600000u  /* 10 minutes */
#define SY_SIM_MAX_TPS            1000000u
#define SY_SIM_MAX_TOOL_CALLS     16u      /* parallel calls in one response */
#define SY_SIM_MAX_EMBED_DIMS     8192u
#define SY_SIM_MAX_RECORD         10000u   /* request log entries */
#define SY_SIM_MAX_RECORD_BODY    (1u << 20) /* body bytes kept per logged request */
#define SY_SIM_MAX_STOP_SEQS      8u
#define SY_SIM_SCRATCH_MAX        (8u << 20) /* cap on one formatted event/body */
#define SY_SIM_MAX_ANSWER_CACHE   65536u   /* answer cache entries per worker */
#define SY_SIM_CACHE_KEY_MAX      (8u << 10) /* request bytes (key) of a cacheable answer */
#define SY_SIM_CACHE_BODY_MAX     (16u << 10) /* bytes of a cacheable answer */
#define SY_SIM_CACHE_SLOTS        4u       /* per-response fields patched into a cached answer */

#define SY_SIM_DEFAULT_OUTPUT_TOKENS 16u
#define SY_SIM_DEFAULT_FAULT_AFTER   3u
#define SY_SIM_DEFAULT_RETRY_AFTER   1u
#define SY_SIM_DEFAULT_RECORD        100u
#define SY_SIM_DEFAULT_ANSWER_CACHE  256u /* entries per worker */
#define SY_SIM_IMAGE_TOKENS          85u  /* an image or audio block counts this much */

/* ------------------------------------------------------------------------ */
/* Behaviour                                                                */
/* ------------------------------------------------------------------------ */

typedef enum {
    SY_SIM_FAMILY_ANY = 0, /* a model any family may serve */
    SY_SIM_FAMILY_OPENAI,
    SY_SIM_FAMILY_ANTHROPIC,
    SY_SIM_FAMILY_GEMINI,
    SY_SIM_FAMILY_BEDROCK,
} sy_sim_family_id_t;

typedef enum {
    SY_SIM_KIND_CHAT = 0,
    SY_SIM_KIND_EMBEDDING,
} sy_sim_kind_t;

/* What x-sim-fault (or a model's `fault`) asks for. See docs/sim.md. */
typedef enum {
    SY_SIM_FAULT_NONE = 0,
    SY_SIM_FAULT_429,          /* rate limited, with Retry-After */
    SY_SIM_FAULT_500,
    SY_SIM_FAULT_503,
    SY_SIM_FAULT_529,          /* overloaded */
    SY_SIM_FAULT_HANG,         /* never send a head */
    SY_SIM_FAULT_HANG_STREAM,  /* stop after fault_after events, keep the connection */
    SY_SIM_FAULT_RESET,        /* TCP RST after fault_after events */
    SY_SIM_FAULT_TRUNCATE,     /* cut the body/stream mid-JSON, then close (FIN) */
    SY_SIM_FAULT_MALFORMED,    /* invalid JSON body, or one invalid event */
    SY_SIM_FAULT_CONTENT_TYPE, /* the right body with a wrong Content-Type */
} sy_sim_fault_t;

/* x-sim-tools: call tools when offered (auto), never (none), or N at once. */
typedef enum {
    SY_SIM_TOOLS_AUTO = 0,
    SY_SIM_TOOLS_NONE,
    SY_SIM_TOOLS_COUNT,
} sy_sim_tools_t;

/*
 * How one request behaves: a model's defaults, then x-sim-* headers.
 * fault_after < 0 means "not given": status faults then answer before the
 * head, and the mid-stream faults use SY_SIM_DEFAULT_FAULT_AFTER.
 */
typedef struct {
    uint32_t ttft_ms;       /* x-sim-ttft-ms: before the first content */
    uint32_t tps;           /* x-sim-tps: output tokens per second; 0 = no pacing */
    uint32_t output_tokens; /* x-sim-output-tokens: generated text length */
    uint64_t seed;          /* x-sim-seed; when !seed_set, a hash of the body */
    bool seed_set;
    sy_sim_tools_t tools;   /* x-sim-tools */
    uint32_t tool_calls;    /* with SY_SIM_TOOLS_COUNT: how many calls */
    sy_sim_fault_t fault;   /* x-sim-fault */
    int32_t fault_after;    /* x-sim-fault-after: events before a mid-stream fault */
    uint32_t retry_after_s; /* x-sim-retry-after: for 429 and 529 */
} sy_sim_behaviour_t;

/* A model the simulator serves. Immutable after start except `served`. */
typedef struct {
    sy_str_t name;           /* what clients ask for */
    sy_str_t version;        /* what responses report in "model" (a snapshot name) */
    sy_sim_family_id_t family;
    sy_sim_kind_t kind;
    uint32_t dims;           /* embeddings: default vector length */
    uint32_t context_window; /* prompt + max output tokens; 0 = unlimited */
    uint32_t max_output;     /* cap on max_tokens; 0 = unlimited */
    bool reasoning;          /* o-series style (reasoning_tokens); informational */
    uint64_t created;        /* Unix seconds, for model lists */
    sy_str_t owned_by;
    sy_sim_behaviour_t bhv;  /* defaults, with `fault` applying as below */
    uint32_t fault_first;    /* >0: `bhv.fault` hits only the first N requests */
    double fault_rate;       /* >0: `bhv.fault` hits with this probability */
    _Atomic uint64_t *served; /* requests seen (shared counter, for the two above) */
} sy_sim_model_t;

/* The simulator's configuration (from a file or built in). */
typedef struct {
    sy_arena_t *arena;         /* owns everything below */
    const char *path;          /* file it came from, or NULL */
    char listen[300];          /* "host:port" or "" (command line decides) */
    int workers;               /* 0 = command line / 1 */
    uint32_t record;           /* request log size; 0 disables recording */
    uint32_t answer_cache;     /* answer cache entries per worker; 0 disables it */
    sy_str_t *keys;            /* accepted API keys; none = any non-empty key */
    size_t nkeys;
    sy_sim_model_t *models;
    size_t nmodels;
} sy_sim_config_t;

/* Built-in models (docs/sim.md lists them). Returns a config owning its arena. */
sy_sim_config_t *sy_sim_config_default(void);
/* Load a YAML file; NULL with *err (malloc'd, "FILE:LINE:COL: ...") on error. */
sy_sim_config_t *sy_sim_config_load(const char *path, char **err);
sy_sim_config_t *sy_sim_config_parse(const char *name, const char *text, size_t len, char **err);
void sy_sim_config_free(sy_sim_config_t *c);

/* Parse one x-sim-* header (name without case, value as sent) into *b.
 * Returns SY_OK, SY_ENOTFOUND for a name that is not a behaviour header, or
 * SY_EINVAL with a static message in *why. For tests and for the core. */
int sy_sim_behaviour_header(sy_sim_behaviour_t *b, sy_str_t name, sy_str_t value,
                            const char **why);
/* "429", "hang-stream", ... <-> sy_sim_fault_t; -1 when unknown. */
int sy_sim_fault_parse(sy_str_t s);
const char *sy_sim_fault_name(sy_sim_fault_t f);

/* ------------------------------------------------------------------------ */
/* Process and worker state                                                 */
/* ------------------------------------------------------------------------ */

typedef struct sy_sim_log sy_sim_log_t; /* the request log (record.c) */
typedef struct sy_sim_cache sy_sim_cache_t; /* the answer cache (cache.c) */

typedef struct {
    sy_sim_config_t *cfg;
    sy_sim_log_t *log;       /* NULL when recording is off */
    uint64_t started_ms;     /* wall clock */
    const char *version;
} sy_sim_t;

typedef struct {
    sy_sim_t *sim;
    int id;
    sy_loop_t *loop;
    sy_buf_t scratch;  /* one event or body at a time; cleared before each use */
    sy_buf_t scratch2; /* a second one for nesting (e.g. text inside an event) */
    uint64_t seq;      /* requests served by this worker (for ids) */
    sy_sim_cache_t *cache; /* NULL when answer_cache is 0 */
} sy_sim_worker_t;

/* Runtime glue (sy_runtime_app_t callbacks); sim.c. */
void *sy_sim_worker_init(void *sim, int worker_id, sy_loop_t *loop);
void sy_sim_worker_fini(void *sim, void *wctx);
void sy_sim_handle(sy_http_req_t *req, void *wctx);
/* Create/free the shared state; sy_sim_new takes ownership of cfg. */
sy_sim_t *sy_sim_new(sy_sim_config_t *cfg, const char *version);
void sy_sim_free(sy_sim_t *sim);

/* ------------------------------------------------------------------------ */
/* The family interface                                                     */
/* ------------------------------------------------------------------------ */

typedef struct sy_sim_call sy_sim_call_t;
typedef struct sy_sim_family sy_sim_family_t;

/*
 * Stream event writer, given to sy_sim_stream(). All three append bytes to
 * `out` (the worker's scratch buffer, empty on entry) and must not keep
 * pointers into it.
 *
 * next: append the next event (one or a few, as the real API sends them
 *   together) and return its cost in output tokens: 0 for framing events
 *   (message_start, a block stop), else the tokens the event carries. The
 *   engine sleeps cost/tps seconds after an event. Set *last when this was
 *   the final event (the engine then ends the response).
 * error_event: for a status fault with x-sim-fault-after, append the event
 *   the real API sends when it fails mid-stream (Anthropic: `event: error`);
 *   append nothing if the real API would just cut the connection.
 * malformed_event: append one event whose payload is not valid JSON (or,
 *   for binary framings, a frame with a bad checksum).
 */
typedef struct {
    const char *content_type;
    uint32_t (*next)(sy_sim_call_t *call, sy_buf_t *out, bool *last);
    void (*error_event)(sy_sim_call_t *call, int status, sy_buf_t *out);
    void (*malformed_event)(sy_sim_call_t *call, sy_buf_t *out);
} sy_sim_stream_ops_t;

/*
 * One provider family. `handle` is offered every request the core does not
 * serve itself (/health, /_sim/...), families in table order. It returns
 * false without touching anything when the path is not one of its own, and
 * true once it has taken the request (answered it, or started a delayed
 * answer or a stream).
 *
 * error_body: append this family's error body for an HTTP status the core
 * must answer on its behalf (faults, bad x-sim-* headers): 400, 429, 500,
 * 503, 529. It may add response headers (sy_http_add_header on call->req)
 * and returns the Content-Type to send.
 */
struct sy_sim_family {
    const char *name;
    sy_sim_family_id_t id;
    bool (*handle)(sy_sim_call_t *call);
    const char *(*error_body)(sy_sim_call_t *call, int status, const char *message,
                              sy_buf_t *out);
};

/* The families, in dispatch order (sim.c). */
extern const sy_sim_family_t sy_sim_family_openai;
extern const sy_sim_family_t sy_sim_family_anthropic;
extern const sy_sim_family_t sy_sim_family_gemini;
extern const sy_sim_family_t sy_sim_family_bedrock;

/*
 * One request in flight. Allocated in req->arena by the core; the family
 * reads everything and writes only `family`, `model` (via sy_sim_prepare),
 * `stream` and `fstate`.
 */
struct sy_sim_call {
    sy_http_req_t *req;
    sy_sim_worker_t *w;
    sy_sim_t *sim;
    const sy_sim_family_t *family; /* set by the family's handle() on claim */
    const sy_sim_model_t *model;   /* set by sy_sim_prepare */
    sy_json_t *body;               /* set by sy_sim_parse_body */
    sy_sim_behaviour_t bhv;        /* set by sy_sim_prepare */
    uint64_t seed;                 /* bhv.seed, or a hash of the body */
    uint64_t nonce;                /* unique per request in this process: ids */
    bool stream;                   /* the family says whether it streams */
    void *fstate;                  /* the family's per-request state (arena) */
    /* engine state (private to the core) */
    const sy_sim_stream_ops_t *ops;
    sy_timer_t timer;
    uint64_t t0_ms;       /* loop time the pacing started */
    uint64_t due_us;      /* pacing clock: microseconds after t0 the next event is due */
    uint32_t events;      /* stream events written */
    uint8_t phase;        /* engine phase */
    bool waiting_drain;
    const char *held_body; /* a non-stream body waiting for its time (arena) */
    size_t held_len;
    int held_status;
    const char *held_ctype;
    /* answer cache (cache.c) */
    uint64_t cache_hash;
    bool cache_keyed;       /* the request was looked up: cache_hash is its key's */
    const void *cache_hit;  /* the entry being served, or NULL */
};

/* Claim the request for `family` (sets call->family); the first thing a
 * family's handle() does once the path is its own. */
static inline void sy_sim_claim(sy_sim_call_t *call, const sy_sim_family_t *family)
{
    call->family = family;
}

/* Header value by name (case-insensitive), or SY_STR_NULL. */
sy_str_t sy_sim_header(const sy_sim_call_t *call, const char *name);
/* Query parameter value (raw, not percent-decoded), or SY_STR_NULL. */
sy_str_t sy_sim_query(const sy_sim_call_t *call, const char *name);

/* Whether `key` is accepted: non-empty and, when the config lists keys, one
 * of them (constant-time compare). */
bool sy_sim_key_ok(const sy_sim_t *sim, sy_str_t key);

/* Parse the body as JSON into call->body. Returns SY_OK, or SY_EINVAL with a
 * message (arena string) in *msg: empty body, invalid JSON (with offset). */
int sy_sim_parse_body(sy_sim_call_t *call, const char **msg);

/* The model named `name` that `family` may serve (its own or ANY), or NULL. */
const sy_sim_model_t *sy_sim_model_find(const sy_sim_t *sim, sy_str_t name,
                                        sy_sim_family_id_t family);

/*
 * Fix the behaviour for this request: the model's defaults, the x-sim-*
 * headers, the model's fault schedule (first N / rate), and the seed.
 * Returns SY_OK: go on and produce the output. Any other value means the
 * core has taken over the request (a bad x-sim-* header got a 400 in the
 * family's shape, a status fault was answered, or a hang began): the
 * family must return at once and not touch the request again.
 */
int sy_sim_prepare(sy_sim_call_t *call, const sy_sim_model_t *model);

/* Answer a whole body. With a behaviour (after sy_sim_prepare) the answer
 * waits ttft + output_tokens/tps and suffers body faults (malformed,
 * truncate, content-type, reset, hang-stream); before it (validation
 * errors) it goes out at once. The bytes are copied when they must wait.
 * output_tokens: the tokens the body carries, for the delay. */
void sy_sim_respond_json(sy_sim_call_t *call, int status, const char *content_type,
                         const char *body, size_t len, uint32_t output_tokens);
/* An error in the family's own shape (via family->error_body), at once. */
void sy_sim_respond_error(sy_sim_call_t *call, int status, const char *message);

/* Start a stream: head after ttft, then ops->next() paced at bhv.tps, with
 * backpressure and the mid-stream faults. call->stream must be true. */
void sy_sim_stream(sy_sim_call_t *call, const sy_sim_stream_ops_t *ops);

/* tool_choice as the family read it from the request. */
typedef enum {
    SY_SIM_CHOICE_AUTO = 0, /* absent or "auto" */
    SY_SIM_CHOICE_NONE,     /* "none": never call */
    SY_SIM_CHOICE_REQUIRED, /* "required" / "any" / a named tool: always call */
} sy_sim_choice_t;

/*
 * How many tool calls this response makes, given ntools offered: 0 without
 * tools, with tool_choice none or x-sim-tools: none; N with x-sim-tools: N;
 * in auto mode 1, except right after tool results (the conversation's last
 * turn carries them: answer in text, the usual end of a tool round trip)
 * unless the choice is REQUIRED. Capped at SY_SIM_MAX_TOOL_CALLS.
 */
uint32_t sy_sim_tool_plan(const sy_sim_call_t *call, size_t ntools, sy_sim_choice_t choice,
                          bool after_tool_result);

/* A tool name as OpenAI, Anthropic and Bedrock accept one: 1 to max bytes
 * of letters, digits, '_' and '-' (they differ only in max). Gemini's rule
 * is its own. */
bool sy_sim_tool_name_ok(sy_str_t name, size_t max);

/* Append a random-looking id: prefix + n characters of [A-Za-z0-9] derived
 * from (call->nonce, salt), so two requests never share one. */
void sy_sim_id(const sy_sim_call_t *call, const char *prefix, size_t n, uint64_t salt,
               sy_buf_t *out);
/* Same, derived from (call->seed, salt): deterministic for a given body
 * (tool call ids, signatures). */
void sy_sim_id_seeded(const sy_sim_call_t *call, const char *prefix, size_t n, uint64_t salt,
                      sy_buf_t *out);
/* Wall clock in Unix seconds (the `created` fields). */
uint64_t sy_sim_unix_now(void);

/* ------------------------------------------------------------------------ */
/* Answer cache (cache.c). docs/sim.md#the-answer-cache                     */
/* ------------------------------------------------------------------------ */

/*
 * A field of a whole answer that belongs to one response and is regenerated
 * for each one served from the cache: ID, the len characters sy_sim_id()
 * makes from (call->nonce, salt) (the prefix stays in the stored bytes);
 * CREATED, the Unix time in seconds as decimal digits. off/len: where the
 * field is in the answer as stored; slots are given in order of off.
 */
typedef enum { SY_SIM_SLOT_ID, SY_SIM_SLOT_CREATED } sy_sim_slot_kind_t;
typedef struct {
    uint32_t off, len;
    sy_sim_slot_kind_t kind;
    uint64_t salt;
} sy_sim_slot_t;

sy_sim_cache_t *sy_sim_cache_new(uint32_t entries); /* NULL for 0 entries */
void sy_sim_cache_free(sy_sim_cache_t *c);
typedef struct {
    size_t capacity, entries, bytes; /* bytes: key and answer storage held */
    uint64_t hits, misses, stores;
} sy_sim_cache_stats_t;
void sy_sim_cache_stats(const sy_sim_cache_t *c, sy_sim_cache_stats_t *st);
/*
 * Look the request up by its method, path, query, x-sim-* headers and body.
 * Call it once the family has checked everything else it reads of the
 * request (credentials, Content-Type), before parsing the body. On a hit it
 * sets call->model, bhv and seed as sy_sim_prepare would and returns true:
 * the family adds its per-response headers and calls
 * sy_sim_cache_respond(). On a miss the family goes on as usual and offers
 * its answer with sy_sim_cache_put().
 */
bool sy_sim_cache_lookup(sy_sim_call_t *call);
/* Answer a hit: the stored body with its slots regenerated, through
 * sy_sim_respond_json (so ttft and tps pacing still apply). */
void sy_sim_cache_respond(sy_sim_call_t *call);
/* Offer a whole 200 answer for the request looked up. Ignored unless it
 * may be served again: not a stream, no fault for the request or its model,
 * key and body within their caps. */
void sy_sim_cache_put(sy_sim_call_t *call, const char *ctype, const char *body, size_t len,
                      uint32_t output_tokens, const sy_sim_slot_t *slots, size_t nslots);

/* ------------------------------------------------------------------------ */
/* Tokenizer (gen.c). docs/sim.md#tokenizer                                 */
/* ------------------------------------------------------------------------ */

/*
 * A token is a run of ASCII letters, digits and non-ASCII bytes (UTF-8
 * letters), or any one other non-space character. Whitespace (SP, HT, CR,
 * LF) belongs to the token that follows it; whitespace at the end of a text
 * is not a token.
 */
size_t sy_sim_tokens(sy_str_t text);
/* Length in bytes of the next token of s starting at off (leading
 * whitespace included); 0 when only whitespace or nothing is left. */
size_t sy_sim_token_len(sy_str_t s, size_t off);
/*
 * Tokens of a JSON request fragment (messages, system, tools, contents): the
 * tokens of every string value (keys do not count; numbers and booleans
 * count one each). An object whose "type" is image, image_url, input_audio,
 * document (or that has an "inlineData" / "image" member) counts
 * SY_SIM_IMAGE_TOKENS and is not descended into.
 */
size_t sy_sim_tokens_json(const sy_json_t *v);

/* ------------------------------------------------------------------------ */
/* Deterministic generator (gen.c)                                          */
/* ------------------------------------------------------------------------ */

/* splitmix64: the one mixing function everything derives from. */
uint64_t sy_sim_mix(uint64_t x);
/* A uniform number in [0, n) from (seed, salt). n > 0. */
uint64_t sy_sim_rand(uint64_t seed, uint64_t salt, uint64_t n);

/* Append generated token i (0-based) for seed: a word with its leading space
 * (none for i == 0), or a punctuation mark. Capitalised after a full stop.
 * Every generated token is exactly one tokenizer token. */
void sy_sim_gen_token(uint64_t seed, uint32_t i, sy_buf_t *out);

/*
 * A text to stream: generated words (str.p == NULL) or a fixed string
 * (arguments, JSON content), handed out token by token. Small (40 bytes): a
 * stream keeps one per part. Initialise with sy_sim_text_words() or
 * sy_sim_text_fixed().
 */
typedef struct {
    sy_str_t str;     /* fixed text, or {NULL,0} for generated words */
    uint64_t seed;    /* generated words */
    uint32_t ntokens; /* tokens in the whole text */
    uint32_t pos;     /* tokens handed out so far */
    uint32_t off;     /* fixed: byte offset of the next token */
    uint32_t clip;    /* generated: bytes of the last token to keep (0 = all) */
} sy_sim_text_t;

/*
 * Generated words: ntokens tokens for seed, cut before the first of the stop
 * sequences that the text would contain (if any): then *stop_index (when not
 * NULL) is that sequence's index, else -1. The cut may end inside a token
 * (clip). `scratch` is used for the scan (cleared); nothing is kept.
 */
void sy_sim_text_words(sy_sim_text_t *t, uint64_t seed, uint32_t ntokens,
                       const sy_str_t *stops, size_t nstops, int *stop_index, sy_buf_t *scratch);
/* A fixed string; its tokens are counted with sy_sim_tokens. */
void sy_sim_text_fixed(sy_sim_text_t *t, sy_str_t s);
/* Append up to k next tokens' bytes (raw, not escaped) to out; returns the
 * number handed out (0 when the text is exhausted). */
uint32_t sy_sim_text_take(sy_sim_text_t *t, uint32_t k, sy_buf_t *out);
/* Append the whole remaining text; returns tokens. */
uint32_t sy_sim_text_all(sy_sim_text_t *t, sy_buf_t *out);
static inline bool sy_sim_text_done(const sy_sim_text_t *t) { return t->pos >= t->ntokens; }
/* Tokens the text holds in total (what usage reports for it). */
uint32_t sy_sim_text_count(const sy_sim_text_t *t);

/*
 * Write a JSON value conforming to a JSON Schema (the subset tools and
 * response formats use: type (string, number, integer, boolean, array,
 * object, null, or a list of them), properties + required (all required
 * properties present, optional ones by coin flip), enum, const, anyOf /
 * oneOf (first branch), items, minItems/maxItems, minimum/maximum, $ref to
 * #/$defs|definitions/NAME, format date/date-time/email/uri/uuid). A NULL or
 * empty schema gives a small object. Deterministic in (seed, schema).
 */
void sy_sim_gen_json(uint64_t seed, const sy_json_t *schema, sy_json_writer_t *w);

/* Write an embedding: dims floats in [-1, 1), unit length, derived from
 * (seed of the input text); as JSON numbers or as base64 of little-endian
 * float32 (OpenAI's encoding_format: base64). */
void sy_sim_gen_embedding(uint64_t seed, uint32_t dims, bool base64, sy_json_writer_t *w);

#endif
