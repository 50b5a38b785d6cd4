/*
 * principals.h - who may call: organisations, teams under them, virtual keys
 * under teams; what each may do (its spec); and the directory, the
 * in-memory, immutable snapshot of all of them that the request path reads.
 *
 * A spec is the same document at every level (a JSON object, kept as text
 * in the store and parsed when a directory is built):
 *
 *   {"name": "...", "enabled": true,
 *    "budgets": {"day": "5", "month": "50", "total": "500"},  USD, decimal
 *    "rpm": 60, "tpm": 100000,                 0 or absent: no limit
 *    "models": ["gpt-4o-mini", "claude-*"],    names or * patterns; absent: all
 *    "residency": {"pii": ["eu"], "restricted": ["eu", "ch"]},
 *    "default_data_class": "pii",
 *    "guardrails": "strict",                   a policy from `guardrails:`
 *    "expires_at_ms": 0,                       keys only; 0: never
 *    "metadata": {...}}                        the caller's own tags, kept as is
 *
 * Every level applies: a request of a key counts against the key's limits,
 * its team's and its organisation's; it may use a model only if every level
 * that lists models allows it; its data may only go where every level's rule
 * for the data class allows (harness/residency.h).
 *
 * The directory is rebuilt by the governance thread whenever the store says
 * something changed (harness/gov.h) and published like a configuration
 * snapshot: requests take a reference once (sy_gov_dir_acquire: lock-free)
 * and see one consistent set of principals for their whole life.
 */
#ifndef SY_HARNESS_PRINCIPALS_H
#define SY_HARNESS_PRINCIPALS_H

#include <stdatomic.h>

#include "core/arena.h"
#include "core/map.h"
#include "harness/counters.h"
#include "harness/keys.h"
#include "json/json.h"

/* Named caps: a spec past them is refused by the admin API. */
#define SY_GOV_MAX_ID 64             /* bytes of a team or organisation id */
#define SY_GOV_MAX_NAME 200          /* bytes of a name */
#define SY_GOV_MAX_MODELS 64         /* model names/patterns per principal */
#define SY_GOV_MAX_CLASSES 16        /* data classes with a residency rule */
#define SY_GOV_MAX_JURISDICTIONS 16  /* jurisdictions per data class */
#define SY_GOV_MAX_METADATA 16384    /* bytes of metadata JSON */
#define SY_GOV_MAX_SPEC 65536        /* bytes of one spec document */
#define SY_GOV_MAX_USD_PICO 9000000000000000000ull /* $9,000,000: pico-dollars fit int64 */

typedef enum {
    SY_PRINCIPAL_KEY = SY_SCOPE_KEY,
    SY_PRINCIPAL_TEAM = SY_SCOPE_TEAM,
    SY_PRINCIPAL_ORG = SY_SCOPE_ORG,
} sy_principal_kind_t;

/* One data class's allowed jurisdictions. */
typedef struct {
    sy_str_t data_class;
    const sy_str_t *jurisdictions;
    size_t n;
} sy_gov_residency_t;

typedef struct {
    sy_str_t name;
    bool enabled;
    bool has_budget[SY_WINDOW__COUNT];
    uint64_t budget[SY_WINDOW__COUNT]; /* pico-dollars */
    uint64_t rpm, tpm;                 /* 0: none */
    const sy_str_t *models;            /* NULL: every model */
    size_t nmodels;
    const sy_gov_residency_t *residency;
    size_t nresidency;
    sy_str_t default_data_class;
    sy_str_t guardrails;
    uint64_t expires_at_ms; /* 0: never */
    sy_str_t metadata;      /* JSON object text; "{}" when none */
} sy_gov_spec_t;

/* A spec with nothing set (enabled, no limits, metadata "{}"). */
void sy_gov_spec_init(sy_gov_spec_t *s);

/*
 * Read a spec from JSON object `obj` into `out` (whose current values are
 * the starting point: a patch changes only the members it names; a member
 * set to null goes back to unset). Accepted besides the canonical members:
 *   "budget": "50/month" or ["50/month", "5/day"]; "budgets" as such a list;
 *   amounts as JSON numbers or strings ("50", "0.25", "$50");
 *   "expires_in": "30d" (a duration) and "expires_at": unix seconds.
 * Members that do not belong to `kind` (expiry on a team) and unknown
 * members are errors. Strings are copied into `a`. On error returns
 * SY_EINVAL with a message in err naming the member; `now_ms` anchors
 * expires_in.
 */
int sy_gov_spec_parse(sy_arena_t *a, const sy_json_t *obj, sy_principal_kind_t kind,
                      uint64_t now_ms, sy_gov_spec_t *out, char *err, size_t errsz);
/* Write the canonical members of s (no braces) to w. */
void sy_gov_spec_write(const sy_gov_spec_t *s, sy_principal_kind_t kind, sy_json_writer_t *w);
/* The whole spec as one JSON document (canonical), appended to out. */
void sy_gov_spec_json(const sy_gov_spec_t *s, sy_principal_kind_t kind, sy_buf_t *out);

/* USD as written ("50", "0.000001", "$1,000.50" is refused: no separators)
 * to pico-dollars; SY_EINVAL or SY_ETOOBIG past SY_GOV_MAX_USD_PICO. */
int sy_gov_usd_parse(sy_str_t s, uint64_t *pico);
/* "50/month", "5/day", "100/total" (also "50 per month", "50/mo"). */
int sy_gov_budget_parse(sy_str_t s, sy_window_t *w, uint64_t *pico);

/* Whether `model` matches a name or pattern of the list (case-sensitive,
 * `*` wildcards). An empty list (NULL) allows every model. */
bool sy_gov_models_allow(const sy_str_t *models, size_t n, sy_str_t model);

/* ---- the directory ---- */

typedef struct sy_gov_org {
    sy_str_t id;
    sy_gov_spec_t spec;
    uint64_t created_ms, updated_ms;
    sy_ctr_state_t *st; /* NULL when it has no limits */
} sy_gov_org_t;

typedef struct sy_gov_team {
    sy_str_t id, org_id;
    sy_gov_spec_t spec;
    uint64_t created_ms, updated_ms;
    const sy_gov_org_t *org; /* NULL when the organisation is gone */
    sy_ctr_state_t *st;
} sy_gov_team_t;

typedef struct sy_gov_key {
    sy_str_t id, team_id;
    sy_key_hash_t hash;
    sy_str_t hint;
    sy_gov_spec_t spec;
    bool revoked;
    uint64_t created_ms, updated_ms;
    const sy_gov_team_t *team; /* NULL when the team is gone */
    sy_ctr_state_t *st;
    struct sy_gov_key *next; /* same 8-byte hash prefix */
} sy_gov_key_t;

typedef struct sy_gov_dir {
    uint64_t generation; /* the store's change counter this directory reflects */
    sy_gov_org_t *orgs;
    size_t norgs;
    sy_gov_team_t *teams;
    size_t nteams;
    sy_gov_key_t *keys;
    size_t nkeys;
    /* private */
    sy_map_t by_hash; /* 8 bytes of the hash -> first key of a chain */
    sy_map_t org_index, team_index, key_index;
    atomic_uint refs;
    sy_arena_t *arena;
} sy_gov_dir_t;

/* One stored row, as the store hands it to the builder. */
typedef struct {
    sy_str_t id, parent; /* parent: the team of a key, the organisation of a team */
    sy_str_t hash_hex, hint; /* keys */
    sy_str_t spec;       /* JSON text */
    bool removed;        /* revoked key / deleted team or organisation */
    uint64_t created_ms, updated_ms;
} sy_gov_row_t;

/*
 * Build a directory from rows (removed teams and organisations are left
 * out; revoked keys are kept, marked, so a request with one gets "revoked"
 * rather than "invalid"). A spec that does not parse is logged and treated
 * as disabled. Counter states are looked up (created) for every principal
 * with a limit. One reference for the caller.
 */
sy_gov_dir_t *sy_gov_dir_build(uint64_t generation, const sy_gov_row_t *orgs, size_t norgs,
                               const sy_gov_row_t *teams, size_t nteams, const sy_gov_row_t *keys,
                               size_t nkeys);
void sy_gov_dir_ref(sy_gov_dir_t *d);
void sy_gov_dir_unref(sy_gov_dir_t *d);

/* The process-wide current directory (lock-free, as sy_config_acquire). */
sy_gov_dir_t *sy_gov_dir_acquire(void);
void sy_gov_dir_publish(sy_gov_dir_t *d); /* takes the caller's reference */

/* Lookups. find_key compares full hashes in constant time. */
const sy_gov_key_t *sy_gov_dir_find_key(const sy_gov_dir_t *d, const sy_key_hash_t *h);
const sy_gov_key_t *sy_gov_dir_key(const sy_gov_dir_t *d, sy_str_t id);
const sy_gov_team_t *sy_gov_dir_team(const sy_gov_dir_t *d, sy_str_t id);
const sy_gov_org_t *sy_gov_dir_org(const sy_gov_dir_t *d, sy_str_t id);

/* Whether a spec sets any counter (budgets, rpm, tpm). */
bool sy_gov_spec_limited(const sy_gov_spec_t *s);

#endif
