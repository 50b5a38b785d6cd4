/*
 * config.h - Switchyard's configuration: the typed snapshot, loading it from
 * YAML, publishing it to every thread, and the schema machinery sections use.
 *
 * Pipeline (docs/internals/config.md): read the file (capped) -> libyaml into
 * a positioned node tree (config/yaml.h) -> ${ENV} expansion of scalar values
 * -> schema check into a typed sy_config_t, collecting every error as
 * "FILE:LINE:COL: key.path: message" -> an immutable, reference-counted
 * snapshot that a reload swaps in with one pointer store.
 *
 * Ownership in one sentence: sy_config_load/parse/default return a snapshot
 * holding one reference for the caller; sy_config_publish takes that
 * reference; sy_config_acquire hands out new ones; every reference is given
 * back with sy_config_unref, and the last one frees the snapshot.
 */
#ifndef SY_CONFIG_CONFIG_H
#define SY_CONFIG_CONFIG_H

#include <stdatomic.h>

#include "config/yaml.h"
#include "core/buf.h"
#include "core/common.h"
#include "core/str.h"
#include "core/map.h"
#include "http/origin.h"
#include "router/catalog.h"

/* Named caps. */
#define SY_CONFIG_MAX_FILE_BYTES (4u << 20) /* a config file larger than this is refused */
#define SY_CONFIG_MAX_ERRORS     50         /* errors listed; the rest are counted */
#define SY_CONFIG_MAX_LISTEN     64         /* addresses under `listen` */
#define SY_CONFIG_MAX_WORKERS    256

/* ------------------------------------------------------------------------ */
/* The typed configuration                                                  */
/* ------------------------------------------------------------------------ */

typedef enum {
    SY_CONFIG_ADDR_IPV4, /* a dotted quad; "*" is stored as 0.0.0.0 */
    SY_CONFIG_ADDR_IPV6, /* written in brackets, stored without them */
    SY_CONFIG_ADDR_NAME, /* a host name such as localhost, resolved by the listener */
} sy_config_addr_kind_t;

/* One `listen` address. `text` is the canonical "host:port" form ("[::1]:4000"
 * for IPv6); `host` has no brackets. Both are NUL-terminated. */
typedef struct {
    sy_str_t text;
    sy_str_t host;
    uint16_t port;
    sy_config_addr_kind_t kind;
} sy_config_listen_t;

/* The `listen` addresses: at least one, no two equal. */
typedef struct {
    const sy_config_listen_t *addrs;
    size_t n;
} sy_config_listen_list_t;

/* `workers`: how many event-loop threads. `count` is always resolved (1..256);
 * `is_auto` says it came from `auto` (the CPUs this process may run on). */
typedef struct {
    unsigned count;
    bool is_auto;
} sy_config_workers_t;

/* `limits`: every cap and timeout the HTTP layer enforces. Sizes are bytes,
 * durations milliseconds. Defaults are in README.md (configuration reference) and in the
 * schema table in config.c (the one place they are defined). */
typedef struct {
    uint64_t max_request_line;
    uint64_t max_header_bytes;
    uint64_t max_headers;
    uint64_t max_body_bytes;
    uint64_t header_timeout_ms;
    uint64_t body_timeout_ms;
    uint64_t idle_timeout_ms;
    uint64_t upstream_connect_timeout_ms;
    uint64_t upstream_first_byte_timeout_ms;
    uint64_t upstream_idle_timeout_ms;
    uint64_t drain_timeout_ms;
} sy_config_limits_t;

/* `log.level`, in the same order (and values) as sy_log_level_t in core/log.h. */
typedef enum {
    SY_CONFIG_LOG_DEBUG,
    SY_CONFIG_LOG_INFO,
    SY_CONFIG_LOG_WARN,
    SY_CONFIG_LOG_ERROR,
} sy_config_log_level_t;

/* `log.format`, in the same order as sy_log_format_t in core/log.h. */
typedef enum {
    SY_CONFIG_LOG_JSON,
    SY_CONFIG_LOG_TEXT,
} sy_config_log_format_t;

/* `log`: level and format of the process log (values of the enums above). */
typedef struct {
    int level;
    int format;
} sy_config_log_t;

/* `guardrails`: named guardrail policies (harness/guard.h; parsed by
 * config/guardrails.c). Keys and teams refer to them by name. */
struct sy_guard_policy;
typedef struct {
    const struct sy_guard_policy *items;
    size_t n;
} sy_config_guardrails_t;

/* One entry of `providers`: an upstream account of one adapter kind. Secret
 * fields are redacted by sy_config_format(redact=true) and never logged. */
typedef struct {
    sy_str_t name;
    sy_str_t kind;       /* an adapter kind: providers/adapters.def */
    sy_str_t base_url;   /* no trailing slash; defaulted per kind */
    sy_str_t api_key;    /* secret */
    sy_str_t region;
    sy_str_t jurisdiction;
    sy_str_t api_version;
    bool azure;
    sy_str_t aws_access_key_id;
    sy_str_t aws_secret_access_key; /* secret */
    sy_str_t aws_session_token;     /* secret */
    sy_str_t proxy;                 /* http://host:port of an HTTPS CONNECT proxy, or empty */
    uint64_t max_connections;       /* per worker, to this provider's origin */
    /* resolved: base_url (and proxy) parsed once for every request sent here;
     * NULL when they do not parse (each attempt then reports why) */
    const sy_http_origin_t *origin;
    sy_str_t base_path;             /* base_url's path, with origin */
} sy_config_provider_t;

/* Capabilities a deployment has and a request may need (bit flags). */
enum {
    SY_CAP_TOOLS = 1u << 0,       /* function / tool calling */
    SY_CAP_VISION = 1u << 1,      /* image parts */
    SY_CAP_JSON_SCHEMA = 1u << 2, /* JSON-schema structured output */
    SY_CAP_THINKING = 1u << 3,    /* reasoning / extended thinking */
};

/* A deployment's price overrides, pico-dollars per token (sy_price_parse of
 * USD per million tokens); has_ says which were set. */
typedef struct {
    uint64_t input, output, cached_input, cache_write;
    bool has_input, has_output, has_cached_input, has_cache_write;
} sy_config_price_t;

struct sy_route_state; /* router/state.h */

/* One deployment of a model: where a model name can be served. The first
 * block is the configuration as written (region and jurisdiction are
 * filled from the provider when left empty); the second is resolved when
 * the snapshot is built, for the router's hot path. */
typedef struct {
    sy_str_t provider;                       /* name in `providers` */
    const sy_config_provider_t *provider_cfg; /* resolved */
    sy_str_t model;                          /* the upstream model / deployment id; `*` in a wildcard group */
    uint64_t max_tokens_default;             /* sent when the format needs max_tokens */
    uint64_t weight;                         /* weighted strategy: share of first picks */
    uint64_t priority;                       /* priority strategy: lower is tried first */
    sy_str_t region, jurisdiction;           /* tags; default: the provider's */
    bool tools, vision, json_schema, thinking; /* capabilities (default: all true) */
    uint64_t context_window, max_output;     /* tokens; 0: from the catalogue */
    sy_config_price_t price;                 /* overrides of the catalogue's prices */
    uint64_t rpm, tpm;                       /* the account's limits here; 0: none */
    const sy_yaml_node_t *node;              /* private: its YAML, only while building */
    /* resolved */
    sy_str_t label;                /* "provider/model" */
    uint32_t caps;                 /* SY_CAP_* */
    uint64_t ctx_window, max_out;  /* effective; 0 when unknown (never filters) */
    sy_price_t cost;               /* effective prices */
    bool priced;                   /* input and output prices are known */
    bool wildcard;                 /* model holds `*`: completed per request */
    struct sy_route_state *state;  /* shared health and load (a wildcard's: the pattern's) */
} sy_config_deployment_t;

/* A list of strings in the snapshot's arena. */
typedef struct {
    const sy_str_t *items;
    size_t n;
} sy_config_str_list_t;

/* One entry of `models`: a name clients ask for (plus aliases) and its
 * deployments, ranked by `strategy` (router/router.h). A name with one `*`
 * is a wildcard group: the name "openai/ *" (written without the space)
 * matches "openai/<x>", and each deployment's `*` becomes <x>. */
typedef struct {
    sy_str_t name;
    sy_config_deployment_t *deployments;
    size_t ndeployments;
    int strategy;                 /* sy_route_strategy_t */
    sy_config_str_list_t aliases;
    uint64_t hedge_after_ms;      /* SY_CONFIG_INHERIT: router.hedge_after */
    /* resolved */
    bool wildcard;
    sy_str_t prefix, suffix;      /* around the name's `*` */
} sy_config_model_t;

#define SY_CONFIG_INHERIT UINT64_MAX /* a group value that follows the router's */

/* `router`: defaults of the attempt loop and the circuit breakers. Durations
 * in milliseconds. Defaults in config/gateway.c and README.md. */
typedef struct {
    uint64_t retries;             /* same-deployment retries for transient errors */
    uint64_t backoff_base_ms;     /* first backoff ceiling; doubles per retry (full jitter) */
    uint64_t backoff_max_ms;      /* ceiling of a backoff, and the longest Retry-After waited */
    uint64_t timeout_ms;          /* per-request deadline for starting attempts */
    uint64_t max_attempts;        /* upstream attempts per request, all deployments */
    uint64_t circuit_failures;    /* consecutive failures that open a circuit; 0 off */
    uint64_t circuit_failure_ratio; /* percent over the window that opens it; 0 off */
    uint64_t circuit_min_requests;
    uint64_t circuit_window_ms;
    uint64_t circuit_cooldown_ms;
    uint64_t hedge_after_ms;      /* 0: no hedging */
    uint64_t explore_after_ms;    /* least latency: refresh a deployment's figures this often */
} sy_config_router_t;

typedef struct {
    const sy_config_provider_t *items;
    size_t n;
} sy_config_provider_list_t;

typedef struct {
    const sy_config_model_t *items;
    size_t n;
} sy_config_model_list_t;

/* `keys`: static API keys accepted by the front doors (secrets). */
typedef struct {
    const sy_str_t *items;
    size_t n;
} sy_config_key_list_t;

/* `store`: where the background writer keeps what it records (the audit
 * log today). `url` is as written: "sqlite:PATH" (PATH relative to the
 * configuration file's directory) or "postgres://..." (may hold a password:
 * redacted when printed). */
typedef enum {
    SY_CONFIG_STORE_SQLITE,
    SY_CONFIG_STORE_POSTGRES,
    SY_CONFIG_STORE_FILE, /* audit.store only: the audit log as an append-only file */
} sy_config_store_kind_t;

typedef struct {
    sy_str_t url;
    int kind;      /* sy_config_store_kind_t */
    sy_str_t path; /* SQLite and file: the file part of the URL, as written */
} sy_config_store_t;

/* `audit.content`: how much of a request's content its audit record keeps. */
typedef enum {
    SY_CONFIG_AUDIT_CONTENT_NONE,
    SY_CONFIG_AUDIT_CONTENT_REDACTED,
    SY_CONFIG_AUDIT_CONTENT_FULL,
} sy_config_audit_content_t;

/* `audit.synchronous`: when a committed batch counts as durable. */
typedef enum {
    SY_CONFIG_AUDIT_SYNC_FULL,   /* fsync at every commit: survives power loss */
    SY_CONFIG_AUDIT_SYNC_NORMAL, /* survives a process crash; power loss may lose the last batches */
} sy_config_audit_sync_t;

/* `audit`: the tamper-evident decision log (docs/internals/audit.md). */
typedef struct {
    bool enabled;
    int content; /* sy_config_audit_content_t */
    uint64_t max_content_bytes;
    uint64_t flush_interval_ms;
    uint64_t batch_records;
    uint64_t queue_capacity;
    uint64_t queue_full_wait_ms;
    uint64_t checkpoint_records;
    uint64_t checkpoint_interval_ms;
    sy_str_t signing_key_file; /* relative to the configuration file's directory */
    int synchronous;           /* sy_config_audit_sync_t */
    sy_config_store_t store;   /* url empty: the top-level `store` */
} sy_config_audit_t;

/* `admin`: the admin API. An empty master key turns the admin API and
 * virtual keys off (only the static `keys` authenticate). */
typedef struct {
    sy_str_t master_key; /* secret */
} sy_config_admin_t;

/* `counters`: where rate-limit and budget counters live (config/governance.c). */
typedef enum {
    SY_CONFIG_COUNTERS_LOCAL, /* this process only */
    SY_CONFIG_COUNTERS_REDIS, /* a Redis server shared by every instance */
} sy_config_counters_kind_t;

typedef struct {
    int kind;          /* sy_config_counters_kind_t */
    sy_str_t url;      /* as written ("local" by default); may hold a password */
    sy_str_t host;     /* redis: host name or address */
    uint16_t port;     /* redis: 6379 by default */
    uint64_t db;       /* redis: database number */
    sy_str_t password; /* redis: secret, empty for none */
} sy_config_counters_t;

/* `governance.counters_failure`: what a request meets when Redis cannot answer. */
typedef enum {
    SY_CONFIG_COUNTERS_FAIL_CLOSED, /* refused with 503, naming the reason */
    SY_CONFIG_COUNTERS_FAIL_OPEN,   /* served; this instance's own counters apply meanwhile */
} sy_config_counters_failure_t;

/* `governance`: keys, budgets, rate limits (docs/internals/governance.md). */
typedef struct {
    uint64_t sync_interval_ms;  /* poll the store for key/team changes this often */
    int counters_failure;       /* sy_config_counters_failure_t */
    uint64_t counters_timeout_ms;
    uint64_t reservation_ttl_ms; /* redis: a reservation nobody settled is released after this */
    uint64_t default_max_output; /* reserved output tokens when nothing else bounds them */
    uint64_t spend_flush_interval_ms;
    uint64_t spend_queue_capacity;
} sy_config_governance_t;

/*
 * One immutable configuration snapshot. Readers may look at every public
 * field from any thread while they hold a reference, and must not write any.
 * (Its creator may still adjust it before sharing or publishing it, as
 * command-line overrides and tests do.) All strings and arrays live in the
 * snapshot's own arena and die with it.
 * Adding a section: add its struct here, one table (or parse callback) in
 * config.c, one row in the root table, and its rows in the reference doc.
 */
typedef struct sy_config {
    const char *path;    /* file it was loaded from (for reload); NULL if none */
    uint64_t generation; /* process-unique, increasing with every snapshot built */
    sy_config_listen_list_t listen;
    sy_config_workers_t workers;
    sy_config_limits_t limits;
    sy_config_log_t log;
    sy_config_guardrails_t guardrails;
    sy_config_key_list_t keys;
    sy_config_provider_list_t providers;
    sy_config_model_list_t models;
    sy_config_router_t router;
    sy_config_store_t store;
    sy_config_audit_t audit;
    sy_config_admin_t admin;
    sy_config_counters_t counters;
    sy_config_governance_t governance;
    /* private */
    sy_map_t model_index; /* exact names and aliases -> sy_config_model_t */
    atomic_uint refs;
    sy_arena_t *arena;
} sy_config_t;

/* ------------------------------------------------------------------------ */
/* Building snapshots                                                       */
/* ------------------------------------------------------------------------ */

/*
 * Read, expand, check and type the YAML file at `path`. On success returns a
 * new snapshot with one reference for the caller; c->path is a copy of path.
 * On failure returns NULL and, if err_out is not NULL, sets *err_out to a
 * malloc'd message the caller frees: one error per line, no trailing newline,
 * each "FILE:LINE:COL: message" ("cannot open FILE: <strerror>" for I/O).
 * An empty (or comments-only) file is valid and gives all defaults.
 * Thread-safe; reads the environment with getenv(3).
 */
sy_config_t *sy_config_load(const char *path, char **err_out);

/* As sy_config_load, from `len` bytes of YAML text in memory; `name` stands in
 * for the file name in messages and c->path stays NULL. */
sy_config_t *sy_config_parse(const char *name, const char *text, size_t len, char **err_out);

/* A snapshot with every default (no file), one reference for the caller. */
sy_config_t *sy_config_default(void);

/* Take / give back one reference. Any thread. unref(NULL) does nothing. */
void sy_config_ref(sy_config_t *c);
void sy_config_unref(sy_config_t *c);

/* Whether two snapshots hold the same settings (path and generation aside). */
bool sy_config_equal(const sy_config_t *a, const sy_config_t *b);

/*
 * Append the effective configuration to `out` as YAML that loads back to an
 * equal snapshot (every key, defaults included, canonical units). Fields
 * marked secret are written as "<redacted>" when `redact` is true: use that
 * for anything a person or log may see. Returns SY_OK or the buffer's error.
 */
int sy_config_format(const sy_config_t *c, sy_buf_t *out, bool redact);

/* Snapshots built and not yet freed, process-wide: 0 after every reference is
 * given back. For tests and a leak gauge in metrics. */
size_t sy_config_live(void);

/* ------------------------------------------------------------------------ */
/* The process-wide current snapshot                                        */
/* ------------------------------------------------------------------------ */

/*
 * The current snapshot with a new reference the caller must unref, or NULL
 * if none was published. Lock-free and safe from any thread at any time,
 * including during sy_config_publish (see docs/internals/config.md: two
 * reader counters, flipped by the publisher, in the manner of sleepable RCU).
 * Cost: three atomic read-modify-writes. Take it once per request, not per
 * field read.
 */
sy_config_t *sy_config_acquire(void);

/*
 * Make `c` the current snapshot. Consumes the caller's reference to c (the
 * one sy_config_load returned). The previous snapshot loses the reference
 * the process held; it is freed when the last in-flight user unrefs it.
 * Returns after no thread can still be picking up the old pointer without
 * a reference (a short wait, bounded by readers already inside acquire).
 * Publishers are serialised. Publishing NULL clears the current snapshot
 * (at exit). Never call it from inside an acquire/unref pair of the same
 * snapshot expecting it to be freed at once: in-flight users keep theirs.
 */
void sy_config_publish(sy_config_t *c);

/*
 * Re-read the current snapshot's file and publish the result. On failure the
 * current snapshot stays and *err_out (if given) gets the malloc'd errors, as
 * for sy_config_load. Returns SY_OK, or SY_EINVAL (bad file, or nothing to
 * reload: no current snapshot or it has no path).
 */
int sy_config_reload(char **err_out);

/* For tests only: call `hook` inside every sy_config_acquire between loading
 * the pointer and taking the reference (NULL: none), to widen the window the
 * publish protocol must cover so a broken protocol fails under ASan. */
typedef void (*sy_config_hook_cb)(void);
void sy_config_set_acquire_hook(sy_config_hook_cb hook);

/* ------------------------------------------------------------------------ */
/* Schema machinery, for writing sections                                   */
/* ------------------------------------------------------------------------ */

typedef struct sy_cfg_msg sy_cfg_msg_t;

/*
 * The state of one check: where typed values go, and the errors so far.
 * Errors are collected (not stopped at) so a person sees them all at once;
 * sy_cfg_ctx_errors() returns them sorted by position.
 */
typedef struct sy_cfg_ctx {
    sy_arena_t *arena;   /* destination of typed values: the snapshot's arena */
    sy_arena_t *scratch; /* paths and messages; lives as long as the check */
    const char *file;    /* for errors that have no node */
    /* Environment lookup for ${VAR}; NULL means getenv(3). */
    const char *(*getenv_cb)(const char *name);
    sy_cfg_msg_t *msgs; /* first SY_CONFIG_MAX_ERRORS errors (scratch) */
    size_t nmsgs;
    size_t nerrors; /* every error, listed or not */
} sy_cfg_ctx_t;

/* Start a check. Both arenas are the caller's. */
void sy_cfg_ctx_init(sy_cfg_ctx_t *cx, sy_arena_t *arena, sy_arena_t *scratch, const char *file);

/* The errors so far, sorted by line and column, one per line without a
 * trailing newline, plus a "(N more errors not shown)" line past the cap:
 * malloc'd, caller frees. NULL if there were none. */
char *sy_cfg_ctx_errors(const sy_cfg_ctx_t *cx);

/*
 * Report an error at node `at` (NULL: the file as a whole) for the dotted key
 * `path` (NULL or "": none). The position is the key's when `at` is a
 * mapping's value, else the node's own: "FILE:LINE:COL: path: message".
 * Marks `at` as invalid so later checks of the same value stay quiet.
 */
void sy_cfg_error(sy_cfg_ctx_t *cx, const sy_yaml_node_t *at, const char *path, const char *fmt,
                  ...) SY_PRINTF(4, 5);

/* A node's value for a message: "\"lots\"", or for a value that came from the
 * environment the text as written ("\"${X}\" (from the environment)") so
 * secrets never reach an error message; "a mapping" and so on otherwise. */
const char *sy_cfg_shown(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n);

/* Child paths in the scratch arena: "limits" + "max_body_bytes" ->
 * "limits.max_body_bytes"; "listen" + 2 -> "listen[2]". */
const char *sy_cfg_path_key(sy_cfg_ctx_t *cx, const char *parent, sy_str_t key);
const char *sy_cfg_path_index(sy_cfg_ctx_t *cx, const char *parent, size_t i);

/*
 * The candidate closest to `word` by Damerau-Levenshtein distance (optimal
 * string alignment; ASCII case and '-' vs '_' ignored), if it is close enough
 * to be a typo: distance 0 for words up to 2 characters, 1 up to 4, 2 beyond.
 * NULL otherwise. `cands` has n entries (NULL entries are skipped).
 */
const char *sy_cfg_suggest(sy_str_t word, const char *const *cands, size_t n);
/* The distance itself (capped at 255; words past 64 bytes get 255). */
unsigned sy_cfg_distance(sy_str_t a, sy_str_t b);

/*
 * ${ENV} expansion. In `in`: "${NAME}" is the variable's value and an error
 * if it is unset (set but empty is fine); "${NAME:-default}" is the value, or
 * `default` (literal text up to the first '}') when unset or empty, so
 * "${NAME:-}" makes a value optional; "$${" is a literal "${"; any other '$'
 * is literal. NAME is [A-Za-z_][A-Za-z0-9_]*. Substituted text is not
 * expanded again. On success sets *out (scratch arena, NUL-terminated; `in`
 * itself when there is nothing to expand) and *from_env (whether a
 * variable's value, not just a default, went into it: such values are not
 * echoed in messages) and returns SY_OK; otherwise reports at `at`/`path`
 * and returns SY_EINVAL.
 */
int sy_cfg_expand(sy_cfg_ctx_t *cx, const sy_yaml_node_t *at, const char *path, sy_str_t in,
                  sy_str_t *out, bool *from_env);

/* Expand every scalar value in the tree (not keys), in place: node->str
 * becomes the expanded text and node->from_env is set as above. Collects
 * every error; returns SY_OK or SY_EINVAL. */
int sy_cfg_expand_tree(sy_cfg_ctx_t *cx, sy_yaml_node_t *root);

/* Pure value parsers (no messages): SY_OK, SY_EINVAL (malformed) or
 * SY_ETOOBIG (overflows 64 bits).
 * Size: digits then an optional unit b, k/kb/kib, m/mb/mib, g/gb/gib (any case,
 * 1024-based), spaces allowed before the unit: "512", "32k", "1 MiB".
 * Duration: one or more number+unit parts, units ms, s, m, h, d, or a plain
 * number of seconds: "10", "250ms", "1m30s"; result in milliseconds. */
int sy_cfg_parse_size(sy_str_t s, uint64_t *out);
int sy_cfg_parse_duration(sy_str_t s, uint64_t *out_ms);
/* The shortest exact spelling in the units above: 32768 -> "32k", 1500 ms ->
 * "1500ms", 90000 ms -> "90s". buf needs 32 bytes; returns buf. */
char *sy_cfg_format_size(uint64_t bytes, char buf[32]);
char *sy_cfg_format_duration(uint64_t ms, char buf[32]);

/*
 * Checkers for one value each. They report a typed error naming `path` and
 * return SY_EINVAL, or store the value and return SY_OK. A null node (absent
 * value) is an error here: tables treat null as "use the default" before
 * calling them. Bounds are inclusive (durations in ms).
 */
int sy_cfg_size(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path, uint64_t min,
                uint64_t max, uint64_t *out);
int sy_cfg_duration(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path, uint64_t min,
                    uint64_t max, uint64_t *out_ms);
int sy_cfg_uint(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path, uint64_t min,
                uint64_t max, uint64_t *out);
/* true/false, yes/no, on/off, any case. */
int sy_cfg_bool(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path, bool *out);
/* Any scalar, copied NUL-terminated into cx->arena. */
int sy_cfg_string(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path, sy_str_t *out);
/* One of the NULL-terminated names (any case); *out is its index. */
int sy_cfg_enum(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path,
                const char *const *names, int *out);
/* A mapping whose keys are all in the NULL-terminated `allowed` (allowed ==
 * NULL: any key). Reports every unknown key with a did-you-mean. */
int sy_cfg_expect_map(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path,
                      const char *const *allowed);
/* A sequence, or (when `single_ok`) a lone scalar standing for a sequence of one. */
int sy_cfg_expect_seq(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path, bool single_ok);

/* ---- table-driven sections ---- */

typedef enum {
    SY_CFG_SIZE,     /* uint64_t bytes, bounds min..max */
    SY_CFG_DURATION, /* uint64_t milliseconds, bounds min..max */
    SY_CFG_UINT,     /* uint64_t, bounds min..max */
    SY_CFG_BOOL,     /* bool */
    SY_CFG_STRING,   /* sy_str_t in the snapshot's arena */
    SY_CFG_ENUM,     /* int, index into `names` */
    SY_CFG_SECTION,  /* a nested struct described by `section` */
    SY_CFG_CUSTOM,   /* parsed, defaulted and printed by callbacks */
} sy_cfg_type_t;

enum {
    SY_CFG_F_REQUIRED = 1 << 0, /* absent or null is an error (if the section is there) */
    SY_CFG_F_SECRET = 1 << 1,   /* never printed (sy_config_format with redact) */
};

/* Parse `value` into `field` (the struct member at the row's offset). Called
 * with value == NULL to store the default. Returns SY_OK or SY_EINVAL after
 * reporting with sy_cfg_error. */
typedef int (*sy_cfg_parse_cb)(sy_cfg_ctx_t *cx, const sy_yaml_node_t *value, const char *path,
                               void *field);
/* Append `field` as a one-line YAML value (flow style if a collection). */
typedef void (*sy_cfg_format_cb)(const void *field, sy_buf_t *out, bool redact);

typedef struct sy_cfg_section sy_cfg_section_t;

/* One key of a section: its name, its type, where it goes, its bounds and
 * default. Only the members its type uses matter; the rest stay zero. */
typedef struct {
    const char *key;
    sy_cfg_type_t type;
    size_t offset; /* offsetof(target struct, member) */
    unsigned flags;
    uint64_t min, max;               /* SIZE, DURATION (ms), UINT */
    uint64_t def;                    /* SIZE, DURATION, UINT, BOOL, ENUM index */
    const char *def_str;             /* STRING (NULL: empty) */
    const char *const *names;        /* ENUM, NULL-terminated */
    const sy_cfg_section_t *section; /* SECTION */
    sy_cfg_parse_cb parse;           /* CUSTOM */
    sy_cfg_format_cb format;         /* CUSTOM */
} sy_cfg_field_t;

/* A mapping with a fixed set of keys, described by a table of rows. */
struct sy_cfg_section {
    const char *name; /* for documentation and tests */
    const sy_cfg_field_t *fields;
    size_t nfields;
};

/* Store every row's default into `target`. */
void sy_cfg_section_defaults(sy_cfg_ctx_t *cx, const sy_cfg_section_t *s, void *target);
/*
 * Check mapping `n` against the table and store what it sets into `target`
 * (whose defaults are already in place). Null `n` or a null value keeps the
 * defaults. Unknown keys are errors with a did-you-mean, which also finds a
 * key that belongs in a nested section ("did you mean limits.x?").
 */
int sy_cfg_section_parse(sy_cfg_ctx_t *cx, const sy_yaml_node_t *n, const char *path,
                         const sy_cfg_section_t *s, void *target);
/* Append `s` as a YAML double-quoted string that loads back to exactly `s`:
 * "${" is written "$${" so the reload does not expand it. */
void sy_cfg_format_quoted(sy_buf_t *out, sy_str_t s);
/* Append `target` as block YAML at `indent` spaces, every row in table order. */
void sy_cfg_section_format(const sy_cfg_section_t *s, const void *target, sy_buf_t *out, int indent,
                           bool redact);

/*
 * A list of mappings, each checked against section `s` into an element of
 * `elem_size` bytes (defaults stored first). Sets *items (cx->arena) and *n.
 * For sections such as `providers` whose entries are tables of keys.
 */
int sy_cfg_section_list(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                        const sy_cfg_section_t *s, size_t elem_size, void **items, size_t *n);

/* The `guardrails` section (config/guardrails.c). */
int sy_config_parse_guardrails(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                               void *field);
void sy_config_format_guardrails(const void *field, sy_buf_t *out, bool redact);

/* Gateway sections (config/gateway.c): parse callbacks for the root table,
 * and the cross-checks run once every section is parsed. */
int sy_config_parse_keys(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path, void *field);
int sy_config_parse_providers(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                              void *field);
int sy_config_parse_models(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                           void *field);
void sy_config_format_keys(const void *field, sy_buf_t *out, bool redact);
void sy_config_format_providers(const void *field, sy_buf_t *out, bool redact);
void sy_config_format_models(const void *field, sy_buf_t *out, bool redact);
int sy_config_link_gateway(sy_cfg_ctx_t *cx, sy_config_t *c);

/* Store and audit sections (config/store.c). */
int sy_config_parse_store(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path, void *field);
void sy_config_format_store(const void *field, sy_buf_t *out, bool redact);
int sy_config_parse_audit_store(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                                void *field);
/* Where the audit log is kept: audit.store when set, else the top-level store. */
const sy_config_store_t *sy_config_audit_store(const sy_config_t *c);
extern const sy_cfg_section_t sy_config_audit_section;
/* Admin, counters and governance sections (config/governance.c). */
extern const sy_cfg_section_t sy_config_admin_section;
extern const sy_cfg_section_t sy_config_governance_section;
int sy_config_parse_counters(sy_cfg_ctx_t *cx, const sy_yaml_node_t *v, const char *path,
                             void *field);
void sy_config_format_counters(const void *field, sy_buf_t *out, bool redact);
/* `rel` resolved against the directory of c's file (c->path): absolute paths
 * and snapshots without a file give `rel` itself. Writes at most outsz bytes
 * (NUL included); returns SY_ETOOBIG when it does not fit. */
int sy_config_resolve_path(const sy_config_t *c, sy_str_t rel, char *out, size_t outsz);

/* The `router` section's table (its rows are checked against README.md). */
extern const sy_cfg_section_t sy_config_router_section;

/* Lookups on a snapshot. find_model matches a name, an alias, then the
 * wildcard groups in order; match_model also gives what the `*` matched
 * (empty for a non-wildcard group). */
const sy_config_model_t *sy_config_find_model(const sy_config_t *c, sy_str_t name);
const sy_config_model_t *sy_config_match_model(const sy_config_t *c, sy_str_t name,
                                               sy_str_t *capture);
const sy_config_provider_t *sy_config_find_provider(const sy_config_t *c, sy_str_t name);
/* Fill a deployment's resolved fields (label, caps, context window, max
 * output, prices; the shared state when with_state) from what is written
 * and the catalogue; label strings go in `a`. provider_cfg must be set. */
void sy_config_resolve_deployment(sy_arena_t *a, sy_config_deployment_t *d, bool with_state);

/* The root table (sy_config_t's keys), for documentation checks and tools. */
const sy_cfg_section_t *sy_config_schema(void);

#endif
