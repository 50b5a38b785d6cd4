/*
 * gov.h - the governance harness: who is calling, what they may use, how
 * much they may spend and how fast, and where their data may go.
 *
 * The request path (DESIGN.md section 1) calls, in order:
 *
 *   sy_gov_auth          the presented key -> a principal, from the
 *                        in-memory directory (never a database query):
 *                        a static key from `keys`, or a virtual key with
 *                        its team and organisation
 *   sy_gov_check_model   the model is allowed at every level
 *   sy_gov_residency     the data classes of the request -> the
 *                        jurisdictions its deployments may be in (fed to
 *                        the router's filter)
 *   sy_gov_reserve       RPM, TPM and budget reservations in one batch,
 *                        all or nothing, for the worst case over the plan;
 *                        asynchronous when the counters live in Redis
 *   sy_gov_headers       rate-limit headers in the front door's style
 *   sy_gov_finish        settle every reservation with what was used and
 *                        queue the spend ledger's row
 *
 * Each step that refuses fills a sy_gov_refusal_t the caller turns into an
 * error in its front door's format (sy_gov_refusal_status picks the status
 * the front door's own provider would use).
 *
 * Behind it, one background thread (sy_gov_start) owns the store: it writes
 * the spend ledger in batches, runs the admin API's changes, and polls the
 * store every governance.sync_interval for changes made by any instance,
 * rebuilding and publishing the directory when there are some. That poll is
 * what makes a revocation reach every worker of every instance within
 * sync_interval plus one rebuild (under a second; docs/internals/governance.md).
 */
#ifndef SY_HARNESS_GOV_H
#define SY_HARNESS_GOV_H

#include "config/config.h"
#include "core/loop.h"
#include "harness/counters.h"
#include "harness/principals.h"
#include "harness/residency.h"
#include "http/server.h"
#include "providers/provider.h"
#include "router/counters.h"

typedef enum {
    SY_GOV_REFUSE_NONE = 0,
    SY_GOV_REFUSE_AUTH,        /* 401: missing, invalid, revoked, expired key */
    SY_GOV_REFUSE_FORBIDDEN,   /* 403: key, team or organisation disabled */
    SY_GOV_REFUSE_MODEL,       /* 403: the model is not allowed */
    SY_GOV_REFUSE_BAD_REQUEST, /* 400: a malformed governance header */
    SY_GOV_REFUSE_RATE,        /* 429: RPM or TPM, with Retry-After */
    SY_GOV_REFUSE_TOO_LARGE,   /* 429: more tokens than the TPM limit allows at all */
    SY_GOV_REFUSE_BUDGET,      /* budget exceeded (status per front door) */
    SY_GOV_REFUSE_UNAVAILABLE, /* 503: counters or ledger cannot answer */
} sy_gov_refusal_kind_t;

typedef struct {
    int kind; /* sy_gov_refusal_kind_t */
    char message[640];
    uint64_t retry_after_ms; /* 0: no Retry-After */
    /* For the audit record: a short code of why ("missing_key", "revoked_key",
     * "model_not_allowed", "rpm:key", "budget:month:team", "residency", ...)
     * and, for a refusal at authentication, the principal when the key was
     * found (views valid for the request's life; empty otherwise). Never the
     * presented key or any part of it. */
    char reason[48];
    sy_str_t key_id, team_id, org_id;
} sy_gov_refusal_t;

/* The HTTP status, error type and error code for a refusal in front door
 * `fmt`: a budget is 429 insufficient_quota for OpenAI clients (what OpenAI
 * sends when a quota is spent) and 400 invalid_request_error for Anthropic
 * clients (what Anthropic sends when a spend limit is reached); a rate limit
 * is type "requests" or "tokens" with code rate_limit_exceeded, a refused
 * key code invalid_api_key, as OpenAI answers. *code is NULL when the API
 * has no code for it (and always for Anthropic, whose errors have none). */
int sy_gov_refusal_status(const sy_gov_refusal_t *r, sy_format_t fmt, const char **type,
                          const char **code);

/* ---- the service ---- */

/* Whether virtual keys and the admin API are on (admin.master_key set). */
bool sy_gov_enabled(void);
/*
 * Start governance for configuration c when admin.master_key is set (else
 * SY_OK and nothing runs): open the store, load every principal and the
 * ledger's window sums, publish the first directory, start the thread.
 * Settings are read once; changing store, counters or governance needs a
 * restart (the master key is read per request from the snapshot).
 */
int sy_gov_start(const sy_config_t *c, char *err, size_t errsz);
/* Write what is queued, stop the thread, close the store. After the
 * workers stopped. */
void sy_gov_stop(void);

/* Per worker, on the worker's thread: the Redis connection (when counters
 * are shared) and the mailbox the admin API's answers come back through. */
void sy_gov_worker_init(sy_loop_t *loop);
void sy_gov_worker_fini(void);

/* Ask the thread to look at the store now (after a change made here). */
void sy_gov_sync_now(void);

/* ---- the request path ---- */

typedef struct sy_gov_req sy_gov_req_t;

/*
 * Authenticate the request (Authorization: Bearer KEY or x-api-key: KEY).
 * On success *out is the request's governance state (in req->arena; freed
 * and its reservations given back when the request ends, whatever path it
 * takes). On refusal returns SY_ERR with ref filled.
 */
int sy_gov_auth(sy_http_req_t *req, const sy_config_t *cfg, sy_gov_req_t **out,
                sy_gov_refusal_t *ref);

/* The principal, for records and policies. Empty views for a static key. */
sy_str_t sy_gov_key_id(const sy_gov_req_t *g);
sy_str_t sy_gov_team_id(const sy_gov_req_t *g);
sy_str_t sy_gov_org_id(const sy_gov_req_t *g);
/* The guardrail policy name of the key, else its team's, else its
 * organisation's; empty when none. */
sy_str_t sy_gov_guardrails(const sy_gov_req_t *g);
/* The virtual key's record (NULL for a static key). Valid for the request. */
const sy_gov_key_t *sy_gov_key(const sy_gov_req_t *g);

/* Whether the caller may use model `name` (the name it asked for). */
int sy_gov_check_model(sy_gov_req_t *g, sy_str_t name, sy_gov_refusal_t *ref);
/* Whether `name` is allowed, without a refusal (for /v1/models listings). */
bool sy_gov_model_allowed(const sy_gov_req_t *g, sy_str_t name);

/* The request's residency: data classes from the x-switchyard-data-class
 * header, the principal's default and a guardrail's restriction
 * (guard_class/guard_juris; empty when none). */
int sy_gov_residency(sy_gov_req_t *g, const sy_http_req_t *req, sy_str_t guard_class,
                     const sy_str_t *guard_juris, size_t nguard_juris, sy_residency_t *out,
                     sy_gov_refusal_t *ref);

/* For route explain: the residency of the key with id `key_id` (empty: no
 * principal) for the classes in `header`; strings copied into `a`.
 * SY_ENOTFOUND for an unknown key, SY_EINVAL for a bad header. */
int sy_gov_explain_residency(sy_arena_t *a, sy_str_t key_id, sy_str_t header, sy_residency_t *out,
                             char *err, size_t errsz);

/* Called when a reservation is decided: ref NULL when taken. Runs on the
 * worker's loop, synchronously from sy_gov_reserve when the answer is local,
 * later when it came from Redis. Never after the request ended. */
typedef void (*sy_gov_reserved_cb)(void *ctx, const sy_gov_refusal_t *ref);

/*
 * Reserve one request, `tokens` (estimated input + worst-case output) and
 * `cost_pico` (worst-case cost) against every limit of the principal's
 * levels. A request with nothing to count calls cb at once.
 */
void sy_gov_reserve(sy_gov_req_t *g, uint64_t tokens, uint64_t cost_pico, sy_gov_reserved_cb cb,
                    void *ctx);

/* Add the rate-limit headers (when the principal has RPM/TPM limits):
 * x-ratelimit-{limit,remaining,reset}-{requests,tokens} for OpenAI clients,
 * anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset} for
 * Anthropic clients; the tightest level's figures. */
void sy_gov_headers(const sy_gov_req_t *g, sy_format_t fmt, sy_http_req_t *req);

/* What a finished request used, for settling and the ledger. */
typedef struct {
    sy_str_t request_id;
    sy_str_t model, provider, deployment; /* empty when no deployment was tried */
    bool sent;                            /* some attempt reached a provider */
    uint64_t tokens_in, tokens_out;
    uint64_t cost_pico;
    int status;
} sy_gov_usage_t;

/* Settle (once; later calls do nothing) and queue the ledger's row. */
void sy_gov_finish(sy_gov_req_t *g, const sy_gov_usage_t *u);

/* ---- deployment limits shared by every instance (gov_dep.c) ---- */

/*
 * With `counters: redis://...` a deployment's `rpm` and `tpm` are counted in
 * Redis like a key's: the same sliding minute counted per second, the same
 * reserve script, keys sy:{d:<provider>/<model>}:rpm and :tpm, so every
 * instance admits exactly the limit. Only attempts on deployments that have
 * a limit ask Redis (one EVALSHA for both limits); the rest never wait. When
 * Redis cannot answer, governance.counters_failure applies: `closed` skips
 * the deployment (SY_GOV_DEP_UNAVAILABLE), `open` counts it in this
 * instance's own windows meanwhile.
 */
typedef struct sy_gov_dep sy_gov_dep_t;

typedef enum {
    SY_GOV_DEP_OK = 0,
    SY_GOV_DEP_REFUSED,     /* `kind` is full: retry_after_ms, used, limit say more */
    SY_GOV_DEP_UNAVAILABLE, /* Redis could not answer and counters_failure is closed */
} sy_gov_dep_result_t;

typedef struct {
    int result; /* sy_gov_dep_result_t */
    sy_rate_kind_t kind;
    uint64_t retry_after_ms; /* 0: the amount exceeds the limit outright */
    uint64_t used, limit;
} sy_gov_dep_outcome_t;

/* Runs on the worker's loop when a reservation that had to wait is decided;
 * never after sy_gov_dep_settle. */
typedef void (*sy_gov_dep_cb)(void *ctx, const sy_gov_dep_outcome_t *o);

/* Whether deployment limits are counted in Redis (governance on, counters
 * redis). Otherwise the router counts them in this process. */
bool sy_gov_dep_shared(void);

/*
 * Reserve one request against `rpm` and `tokens` against `tpm` (0: no such
 * limit) of deployment state `s`. The handle lives in `a`. Returns SY_OK
 * with *now filled when decided at once (fail mode applied; cb is not
 * called), SY_EAGAIN when the answer comes later through cb.
 */
int sy_gov_dep_reserve(sy_arena_t *a, struct sy_route_state *s, uint64_t rpm, uint64_t tpm,
                       uint64_t tokens, sy_gov_dep_cb cb, void *ctx, sy_gov_dep_t **out,
                       sy_gov_dep_outcome_t *now);
/* The attempt ended: settle what was taken with what was used (requests: 1
 * if it reached the provider, else 0; tokens as the provider reported).
 * While still waiting: no callback any more, and whatever the reply takes is
 * given back. Idempotent; NULL is a no-op. */
void sy_gov_dep_settle(sy_gov_dep_t *d, uint64_t requests, uint64_t tokens);

/* ---- for the admin API (api/admin.c) ---- */

/* A job for the governance thread: `run` executes there with the store; its
 * answer (status and JSON body) goes back to the worker, where `done` runs
 * (unless the request is gone). */
typedef struct sy_gov_job sy_gov_job_t;
typedef struct sy_gdb sy_gdb_t;
typedef void (*sy_gov_job_fn)(sy_gov_job_t *job, sy_gdb_t *db);
struct sy_gov_job {
    sy_gov_job_fn run;
    sy_http_req_t *req; /* NULL once the client went away */
    void *arg;          /* the job's own input (heap; freed by `free_arg`) */
    void (*free_arg)(void *arg);
    /* the answer, filled by run */
    int status;
    sy_buf_t body;
    bool changed; /* run changed the store: refresh the directory before answering */
    /* optional, on the worker before the answer is sent (the request is
     * still there): e.g. write the changed principal from the directory */
    void (*on_worker)(sy_gov_job_t *job);
    /* private */
    struct gov_worker *worker;
};

/* Queue a job (the job is heap-allocated by sy_gov_job_new and owned by the
 * service from here on). SY_EAGAIN when the queue is full. */
sy_gov_job_t *sy_gov_job_new(sy_http_req_t *req, sy_gov_job_fn run, void *arg,
                             void (*free_arg)(void *));
int sy_gov_job_submit(sy_gov_job_t *job);

/* Bump the store's generation inside the caller's transaction; *gen is the
 * new value, to stamp the changed rows with. */
int sy_gov_bump(sy_gdb_t *db, uint64_t *gen, char *err, size_t errsz);

/* Metrics: switchyard_governance_* families (Prometheus text). */
void sy_gov_metrics_render(sy_buf_t *out);

/* For tests: the counters backend's state ("local", "redis up", "redis down"). */
const char *sy_gov_counters_state(void);

#endif
