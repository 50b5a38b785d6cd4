/*
 * gov_req.c - the governance steps of one request: authentication, model
 * and residency checks, the reservation, headers, settling.
 */
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/time.h"
#include "harness/gov_int.h"
#include "router/catalog.h"

struct sy_gov_req {
    sy_arena_t *arena;
    sy_gov_dir_t *dir; /* held for the request's life: the principals below live in it */
    const sy_gov_key_t *key;
    const sy_gov_team_t *team;
    const sy_gov_org_t *org;
    bool place;     /* holds a place in the spend queue */
    bool reserved;  /* batch holds reservations to settle */
    bool finished;
    sy_ctr_batch_t batch;
    sy_redis_op_t *op; /* a reservation on its way */
    gov_worker_t *w;
    sy_gov_reserved_cb cb;
    void *cb_ctx;
    sy_gov_refusal_t ref;
    uint64_t tokens, cost; /* what was asked for */
};

static void count_refusal(int kind)
{
    if (kind > 0 && kind <= SY_GOV_REFUSE_UNAVAILABLE)
        atomic_fetch_add(&sy_gov_stats.refused[kind], 1);
}

static int refuse(sy_gov_refusal_t *ref, int kind, uint64_t retry_ms, const char *fmt, ...)
    SY_PRINTF(4, 5);

static const char *const reason_names[] = {
    [SY_GOV_REFUSE_NONE] = "",
    [SY_GOV_REFUSE_AUTH] = "auth",
    [SY_GOV_REFUSE_FORBIDDEN] = "forbidden",
    [SY_GOV_REFUSE_MODEL] = "model_not_allowed",
    [SY_GOV_REFUSE_BAD_REQUEST] = "residency",
    [SY_GOV_REFUSE_RATE] = "rate_limit",
    [SY_GOV_REFUSE_TOO_LARGE] = "too_large",
    [SY_GOV_REFUSE_BUDGET] = "budget",
    [SY_GOV_REFUSE_UNAVAILABLE] = "unavailable",
};

static int refuse(sy_gov_refusal_t *ref, int kind, uint64_t retry_ms, const char *fmt, ...)
{
    ref->kind = kind;
    ref->retry_after_ms = retry_ms;
    snprintf(ref->reason, sizeof(ref->reason), "%s",
             kind >= 0 && kind <= SY_GOV_REFUSE_UNAVAILABLE ? reason_names[kind] : "");
    ref->key_id = ref->team_id = ref->org_id = SY_STR("");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ref->message, sizeof(ref->message), fmt, ap);
    va_end(ap);
    count_refusal(kind);
    return SY_ERR;
}

int sy_gov_refusal_status(const sy_gov_refusal_t *r, sy_format_t fmt, const char **type,
                          const char **code)
{
    bool anthropic = fmt == SY_FORMAT_ANTHROPIC;
    *code = NULL;
    switch (r->kind) {
    case SY_GOV_REFUSE_AUTH:
        *type = anthropic ? "authentication_error" : "invalid_request_error";
        if (!anthropic)
            *code = "invalid_api_key";
        return 401;
    case SY_GOV_REFUSE_FORBIDDEN:
    case SY_GOV_REFUSE_MODEL:
        *type = anthropic ? "permission_error" : "invalid_request_error";
        return 403;
    case SY_GOV_REFUSE_BAD_REQUEST:
        *type = "invalid_request_error";
        return 400;
    case SY_GOV_REFUSE_RATE:
    case SY_GOV_REFUSE_TOO_LARGE:
        *type = anthropic ? "rate_limit_error" : "requests";
        if (!anthropic) {
            /* reason "tpm:key", "tpm:team"...: a token limit (rate_refusal) */
            if (strncmp(r->reason, "tpm", 3) == 0)
                *type = "tokens";
            *code = "rate_limit_exceeded";
        }
        return 429;
    case SY_GOV_REFUSE_BUDGET:
        if (anthropic) {
            *type = "invalid_request_error";
            return 400;
        }
        *type = "insufficient_quota";
        *code = "insufficient_quota";
        return 429;
    case SY_GOV_REFUSE_UNAVAILABLE:
        *type = anthropic ? "api_error" : "server_error";
        return 503;
    default:
        *type = NULL;
        return 500;
    }
}

/* ---- authentication ---- */

static void release_cb(void *arg)
{
    sy_gov_req_t *g = arg;
    if (g->op) {
        sy_redis_cancel(g->op); /* its reply gives back what it took */
        g->op = NULL;
    }
    if (g->reserved && !g->finished) {
        sy_gov_usage_t u;
        memset(&u, 0, sizeof(u));
        sy_gov_finish(g, &u);
    }
    if (g->place) {
        sy_gov_place_give();
        g->place = false;
    }
    sy_gov_dir_unref(g->dir);
    g->dir = NULL;
}

static sy_str_t presented_key(const sy_http_req_t *req)
{
    const sy_http_header_t *h =
        sy_http_header_find(req->head.headers, req->head.nheaders, "authorization");
    if (h) {
        sy_str_t v = sy_str_trim(h->value);
        if (v.len > 7 && sy_str_ieq(sy_str_sub(v, 0, 7), SY_STR("Bearer ")))
            return sy_str_trim(sy_str_sub(v, 7, v.len));
    }
    h = sy_http_header_find(req->head.headers, req->head.nheaders, "x-api-key");
    return h ? sy_str_trim(h->value) : SY_STR("");
}

/* An authentication refusal's code and, when the key was found, its
 * principal (for the audit record). Returns SY_ERR for `return`. */
static int auth_tag(sy_gov_refusal_t *ref, const sy_gov_key_t *key, const char *reason)
{
    snprintf(ref->reason, sizeof(ref->reason), "%s", reason);
    if (key) {
        ref->key_id = key->id;
        if (key->team) {
            ref->team_id = key->team->id;
            if (key->team->org)
                ref->org_id = key->team->org->id;
        }
    }
    return SY_ERR;
}

static void format_time(uint64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int sy_gov_auth(sy_http_req_t *req, const sy_config_t *cfg, sy_gov_req_t **out,
                sy_gov_refusal_t *ref)
{
    *out = NULL;
    ref->kind = SY_GOV_REFUSE_NONE;
    ref->message[0] = '\0';
    ref->retry_after_ms = 0;
    ref->reason[0] = '\0';
    ref->key_id = ref->team_id = ref->org_id = SY_STR("");
    sy_str_t k = presented_key(req);
    if (k.len == 0) {
        atomic_fetch_add(&sy_gov_stats.auth_fail[0], 1);
        refuse(ref, SY_GOV_REFUSE_AUTH, 0,
               "No API key provided. Send it as `Authorization: Bearer KEY` or `x-api-key: KEY`.");
        return auth_tag(ref, NULL, "missing_key");
    }
    /* Static keys: every one is compared, in constant time, so the time
     * taken does not say which (if any) matched. */
    bool is_static = false;
    for (size_t i = 0; i < cfg->keys.n; i++) {
        sy_str_t want = cfg->keys.items[i];
        is_static |= want.len == k.len && CRYPTO_memcmp(want.p, k.p, k.len) == 0;
    }
    sy_gov_req_t *g = sy_arena_calloc(req->arena, sizeof(*g));
    g->arena = req->arena;
    g->w = sy_gov_worker();
    g->batch.failed = -1;
    bool on = sy_gov_enabled();
    if (!is_static) {
        if (!on || !sy_key_is_virtual(k)) {
            atomic_fetch_add(&sy_gov_stats.auth_fail[1], 1);
            refuse(ref, SY_GOV_REFUSE_AUTH, 0, "Invalid API key.");
            return auth_tag(ref, NULL, "invalid_key");
        }
        sy_key_hash_t h;
        sy_key_hash(k, &h);
        g->dir = sy_gov_dir_acquire();
        sy_arena_cleanup(req->arena, release_cb, g);
        const sy_gov_key_t *key = sy_gov_dir_find_key(g->dir, &h);
        if (key == NULL) {
            atomic_fetch_add(&sy_gov_stats.auth_fail[1], 1);
            refuse(ref, SY_GOV_REFUSE_AUTH, 0, "Invalid API key.");
            return auth_tag(ref, NULL, "invalid_key");
        }
        if (key->revoked) {
            atomic_fetch_add(&sy_gov_stats.auth_fail[2], 1);
            refuse(ref, SY_GOV_REFUSE_AUTH, 0, "This API key has been revoked.");
            return auth_tag(ref, key, "revoked_key");
        }
        if (key->spec.expires_at_ms && sy_wall_ms() >= key->spec.expires_at_ms) {
            char when[32];
            format_time(key->spec.expires_at_ms, when);
            atomic_fetch_add(&sy_gov_stats.auth_fail[3], 1);
            refuse(ref, SY_GOV_REFUSE_AUTH, 0, "This API key expired at %s.", when);
            return auth_tag(ref, key, "expired_key");
        }
        if (!key->spec.enabled) {
            atomic_fetch_add(&sy_gov_stats.auth_fail[4], 1);
            refuse(ref, SY_GOV_REFUSE_AUTH, 0, "This API key is disabled.");
            return auth_tag(ref, key, "disabled_key");
        }
        if (key->team == NULL) {
            atomic_fetch_add(&sy_gov_stats.auth_fail[5], 1);
            refuse(ref, SY_GOV_REFUSE_FORBIDDEN, 0, "This API key's team no longer exists.");
            return auth_tag(ref, key, "team_missing");
        }
        if (!key->team->spec.enabled) {
            refuse(ref, SY_GOV_REFUSE_FORBIDDEN, 0, "Team `%.*s` is disabled.",
                   (int)SY_MIN(key->team->id.len, (size_t)64), key->team->id.p);
            return auth_tag(ref, key, "team_disabled");
        }
        if (key->team->org && !key->team->org->spec.enabled) {
            refuse(ref, SY_GOV_REFUSE_FORBIDDEN, 0, "Organisation `%.*s` is disabled.",
                   (int)SY_MIN(key->team->org->id.len, (size_t)64), key->team->org->id.p);
            return auth_tag(ref, key, "org_disabled");
        }
        g->key = key;
        g->team = key->team;
        g->org = key->team->org;
    } else if (on) {
        sy_arena_cleanup(req->arena, release_cb, g);
    }
    /* A request the ledger will record needs its place now: it is never
     * served unrecorded. */
    if (on) {
        if (!sy_gov_place_take()) {
            refuse(ref, SY_GOV_REFUSE_UNAVAILABLE, 1000,
                   "The gateway's spend ledger is falling behind; retry shortly.");
            return auth_tag(ref, g->key, "ledger_full");
        }
        g->place = true;
    }
    *out = g;
    return SY_OK;
}

sy_str_t sy_gov_key_id(const sy_gov_req_t *g) { return g && g->key ? g->key->id : SY_STR(""); }
sy_str_t sy_gov_team_id(const sy_gov_req_t *g) { return g && g->team ? g->team->id : SY_STR(""); }
sy_str_t sy_gov_org_id(const sy_gov_req_t *g) { return g && g->org ? g->org->id : SY_STR(""); }
const sy_gov_key_t *sy_gov_key(const sy_gov_req_t *g) { return g ? g->key : NULL; }

sy_str_t sy_gov_guardrails(const sy_gov_req_t *g)
{
    if (g == NULL)
        return SY_STR("");
    if (g->key && g->key->spec.guardrails.len)
        return g->key->spec.guardrails;
    if (g->team && g->team->spec.guardrails.len)
        return g->team->spec.guardrails;
    if (g->org && g->org->spec.guardrails.len)
        return g->org->spec.guardrails;
    return SY_STR("");
}

static void levels(const sy_gov_req_t *g, const sy_gov_spec_t *out[3])
{
    out[0] = g && g->key ? &g->key->spec : NULL;
    out[1] = g && g->team ? &g->team->spec : NULL;
    out[2] = g && g->org ? &g->org->spec : NULL;
}

static const char *const level_words[3] = {"key", "team", "organisation"};

static sy_str_t level_id(const sy_gov_req_t *g, int l)
{
    return l == 0 ? g->key->id : l == 1 ? g->team->id : g->org->id;
}

bool sy_gov_model_allowed(const sy_gov_req_t *g, sy_str_t name)
{
    const sy_gov_spec_t *lv[3];
    levels(g, lv);
    for (int l = 0; l < 3; l++)
        if (lv[l] && !sy_gov_models_allow(lv[l]->models, lv[l]->nmodels, name))
            return false;
    return true;
}

int sy_gov_check_model(sy_gov_req_t *g, sy_str_t name, sy_gov_refusal_t *ref)
{
    const sy_gov_spec_t *lv[3];
    levels(g, lv);
    for (int l = 0; l < 3; l++) {
        if (lv[l] == NULL || sy_gov_models_allow(lv[l]->models, lv[l]->nmodels, name))
            continue;
        sy_str_t id = level_id(g, l);
        return refuse(ref, SY_GOV_REFUSE_MODEL, 0,
                      "This API key may not use model `%.*s`: the %s `%.*s` does not allow it.",
                      (int)SY_MIN(name.len, (size_t)200), name.p, level_words[l],
                      (int)SY_MIN(id.len, (size_t)64), id.p);
    }
    return SY_OK;
}

int sy_gov_residency(sy_gov_req_t *g, const sy_http_req_t *req, sy_str_t guard_class,
                     const sy_str_t *guard_juris, size_t nguard_juris, sy_residency_t *out,
                     sy_gov_refusal_t *ref)
{
    const sy_gov_spec_t *lv[3];
    levels(g, lv);
    const sy_http_header_t *h =
        sy_http_header_find(req->head.headers, req->head.nheaders, "x-switchyard-data-class");
    char err[300];
    if (sy_residency_resolve(lv, h ? h->value : SY_STR(""), guard_class, guard_juris,
                             nguard_juris, out, err, sizeof(err)) != SY_OK)
        return refuse(ref, SY_GOV_REFUSE_BAD_REQUEST, 0, "%s", err);
    return SY_OK;
}

int sy_gov_explain_residency(sy_arena_t *a, sy_str_t key_id, sy_str_t header, sy_residency_t *out,
                             char *err, size_t errsz)
{
    sy_gov_dir_t *d = sy_gov_dir_acquire();
    const sy_gov_spec_t *lv[3] = {NULL, NULL, NULL};
    if (key_id.len) {
        const sy_gov_key_t *k = sy_gov_dir_key(d, key_id);
        if (k == NULL) {
            sy_gov_dir_unref(d);
            snprintf(err, errsz, "no key with id `%.*s`", (int)SY_MIN(key_id.len, (size_t)64),
                     key_id.p);
            return SY_ENOTFOUND;
        }
        lv[0] = &k->spec;
        lv[1] = k->team ? &k->team->spec : NULL;
        lv[2] = k->team && k->team->org ? &k->team->org->spec : NULL;
    }
    int rc = sy_residency_resolve(lv, header, SY_STR(""), NULL, 0, out, err, errsz);
    /* The views point into the directory: copy them before letting it go. */
    for (size_t i = 0; i < out->nclasses; i++)
        out->classes[i] = sy_str_dup(a, out->classes[i]);
    for (size_t i = 0; i < out->nallowed; i++)
        out->allowed[i] = sy_str_dup(a, out->allowed[i]);
    sy_gov_dir_unref(d);
    return rc;
}

/* ---- reservations ---- */

static void add_level(sy_ctr_batch_t *b, const sy_gov_spec_t *s, sy_ctr_state_t *st, sy_scope_t sc,
                      uint64_t tokens, uint64_t cost)
{
    if (s == NULL || st == NULL)
        return;
    if (s->rpm)
        sy_ctr_add(b, SY_CTR_RPM, sc, SY_WINDOW_TOTAL, st, s->rpm, 1);
    if (s->tpm)
        sy_ctr_add(b, SY_CTR_TPM, sc, SY_WINDOW_TOTAL, st, s->tpm, tokens);
    for (int w = 0; w < SY_WINDOW__COUNT; w++)
        if (s->has_budget[w])
            sy_ctr_add(b, SY_CTR_BUDGET, sc, (sy_window_t)w, st, s->budget[w], cost);
}

static void fmt_duration(uint64_t ms, char *out, size_t outsz)
{
    if (ms < 1000)
        snprintf(out, outsz, "%llums", (unsigned long long)ms);
    else if (ms < 60000)
        snprintf(out, outsz, "%llu.%03llus", (unsigned long long)(ms / 1000),
                 (unsigned long long)(ms % 1000));
    else
        snprintf(out, outsz, "%llum%llus", (unsigned long long)(ms / 60000),
                 (unsigned long long)((ms % 60000 + 999) / 1000));
}

/* Turn a refused or failed batch into the refusal the client gets. */
static void batch_message(sy_gov_req_t *g, const sy_ctr_batch_t *b, sy_gov_refusal_t *ref)
{
    if (b->result == SY_CTR_UNAVAILABLE) {
        refuse(ref, SY_GOV_REFUSE_UNAVAILABLE, 1000,
               "Rate limits and budgets cannot be checked: the shared counter store (Redis) is "
               "unreachable. Retry shortly.");
        return;
    }
    const sy_ctr_op_t *o = &b->ops[b->failed];
    sy_str_t id = o->scope == SY_SCOPE_KEY    ? g->key->id
                  : o->scope == SY_SCOPE_TEAM ? g->team->id
                                              : g->org->id;
    int idn = (int)SY_MIN(id.len, (size_t)64);
    const char *who = level_words[o->scope];
    if (o->kind == SY_CTR_BUDGET) {
        char limit[32], used[32], amt[32], when[32];
        sy_cost_format(o->limit, limit);
        sy_cost_format(o->used, used);
        sy_cost_format(o->amount, amt);
        const char *win = o->window == SY_WINDOW_DAY     ? "daily"
                          : o->window == SY_WINDOW_MONTH ? "monthly"
                                                         : "total";
        if (b->result == SY_CTR_TOO_LARGE) {
            refuse(ref, SY_GOV_REFUSE_BUDGET, 0,
                   "Budget exceeded: this request may cost up to $%s, more than the %s budget of "
                   "$%s of %s `%.*s`. Lower max_tokens or raise the budget.",
                   amt, win, limit, who, idn, id.p);
            return;
        }
        char resets[80] = "It does not reset.";
        if (o->window != SY_WINDOW_TOTAL) {
            uint64_t sec = b->now_ms / 1000;
            format_time(sy_window_end((sy_window_t)o->window, sy_window_index((sy_window_t)o->window, sec)) * 1000,
                        when);
            snprintf(resets, sizeof(resets), "It resets at %s.", when);
        }
        refuse(ref, SY_GOV_REFUSE_BUDGET, 0,
               "Budget exceeded: the %s budget of $%s of %s `%.*s` is spent ($%s used or "
               "reserved; this request may cost up to $%s). %s",
               win, limit, who, idn, id.p, used, amt, resets);
        return;
    }
    const char *unit = o->kind == SY_CTR_RPM ? "requests per minute (RPM)" : "tokens per minute (TPM)";
    if (b->result == SY_CTR_TOO_LARGE) {
        refuse(ref, SY_GOV_REFUSE_TOO_LARGE, 0,
               "Request too large for %s `%.*s` on %s: Limit %llu, Requested %llu. Lower "
               "max_tokens or shorten the input.",
               who, idn, id.p, unit, (unsigned long long)o->limit, (unsigned long long)o->amount);
        return;
    }
    char in[32];
    uint64_t retry = b->retry_after_ms ? b->retry_after_ms : 1000;
    fmt_duration(retry, in, sizeof(in));
    refuse(ref, SY_GOV_REFUSE_RATE, retry,
           "Rate limit reached for %s `%.*s` on %s: Limit %llu, Used %llu, Requested %llu. Please "
           "try again in %s.",
           who, idn, id.p, unit, (unsigned long long)o->limit, (unsigned long long)o->used,
           (unsigned long long)o->amount, in);
}

/* ... and its code for the audit record: "rpm:key", "budget:month:team". */
static void batch_refusal(sy_gov_req_t *g, const sy_ctr_batch_t *b, sy_gov_refusal_t *ref)
{
    batch_message(g, b, ref);
    if (b->result == SY_CTR_UNAVAILABLE || b->failed < 0)
        return;
    const sy_ctr_op_t *o = &b->ops[b->failed];
    static const char *const scope_codes[] = {"key", "team", "org"};
    const char *sc = o->scope < 3 ? scope_codes[o->scope] : "";
    if (o->kind == SY_CTR_BUDGET)
        snprintf(ref->reason, sizeof(ref->reason), "budget:%s:%s", sy_window_names[o->window], sc);
    else
        snprintf(ref->reason, sizeof(ref->reason), "%s%s:%s", o->kind == SY_CTR_RPM ? "rpm" : "tpm",
                 b->result == SY_CTR_TOO_LARGE ? "_too_large" : "", sc);
}

static void decided(sy_gov_req_t *g)
{
    sy_ctr_batch_t *b = &g->batch;
    if (b->result == SY_CTR_OK) {
        g->reserved = true;
        g->cb(g->cb_ctx, NULL);
        return;
    }
    batch_refusal(g, b, &g->ref);
    g->cb(g->cb_ctx, &g->ref);
}

static void redis_done(void *ctx, sy_ctr_batch_t *b)
{
    sy_gov_req_t *g = ctx;
    g->op = NULL;
    gov_t *gv = atomic_load(&sy_gov_g);
    if (b->result == SY_CTR_UNAVAILABLE) {
        atomic_fetch_add(&sy_gov_stats.counters_unavailable, 1);
        if (gv && gv->cfg.counters_failure == SY_CONFIG_COUNTERS_FAIL_OPEN) {
            /* Fail open: this instance's own counters stand in meanwhile. */
            atomic_fetch_add(&sy_gov_stats.counters_fail_open, 1);
            sy_ctr_local_reserve(b, sy_wall_ms());
        }
    }
    decided(g);
}

void sy_gov_reserve(sy_gov_req_t *g, uint64_t tokens, uint64_t cost_pico, sy_gov_reserved_cb cb,
                    void *ctx)
{
    if (g == NULL) {
        cb(ctx, NULL);
        return;
    }
    g->cb = cb;
    g->cb_ctx = ctx;
    g->tokens = tokens;
    g->cost = cost_pico;
    sy_ctr_batch_t *b = &g->batch;
    b->n = 0;
    if (g->key) {
        add_level(b, &g->key->spec, g->key->st, SY_SCOPE_KEY, tokens, cost_pico);
        add_level(b, &g->team->spec, g->team->st, SY_SCOPE_TEAM, tokens, cost_pico);
        if (g->org)
            add_level(b, &g->org->spec, g->org->st, SY_SCOPE_ORG, tokens, cost_pico);
    }
    if (b->n == 0) {
        cb(ctx, NULL);
        return;
    }
    /* An id unique enough across instances: worker pointer, time, a counter. */
    static _Atomic uint64_t seq;
    snprintf(b->id, sizeof(b->id), "%llx.%llx",
             (unsigned long long)(sy_now_ns() ^ (uint64_t)(uintptr_t)g->w),
             (unsigned long long)atomic_fetch_add(&seq, 1));
    gov_t *gv = atomic_load(&sy_gov_g);
    uint64_t now = sy_wall_ms();
    if (gv && gv->redis && g->w && g->w->redis) {
        g->op = sy_redis_reserve(g->w->redis, b, now, redis_done, g);
        return;
    }
    sy_ctr_local_reserve(b, now);
    decided(g);
}

/* ---- headers ---- */

void sy_gov_headers(const sy_gov_req_t *g, sy_format_t fmt, sy_http_req_t *req)
{
    if (g == NULL)
        return;
    const sy_ctr_batch_t *b = &g->batch;
    /* The tightest level per kind: the one with the least left. */
    const sy_ctr_op_t *best[2] = {NULL, NULL};
    uint64_t left[2] = {0, 0};
    for (size_t i = 0; i < b->n; i++) {
        const sy_ctr_op_t *o = &b->ops[i];
        if (o->kind == SY_CTR_BUDGET)
            continue;
        bool refused = b->failed == (int)i;
        if (!o->taken && !refused)
            continue;
        uint64_t rem = o->used >= o->limit ? 0 : o->limit - o->used;
        if (refused)
            rem = 0;
        int k = o->kind == SY_CTR_RPM ? 0 : 1;
        if (best[k] == NULL || rem < left[k]) {
            best[k] = o;
            left[k] = rem;
        }
    }
    for (int k = 0; k < 2; k++) {
        const sy_ctr_op_t *o = best[k];
        if (o == NULL)
            continue;
        const char *what = k == 0 ? "requests" : "tokens";
        char name[64], v[48];
        uint64_t reset = o->reset_ms;
        if (b->failed >= 0 && &b->ops[b->failed] == o && b->retry_after_ms)
            reset = b->retry_after_ms;
        if (fmt == SY_FORMAT_ANTHROPIC) {
            snprintf(name, sizeof(name), "anthropic-ratelimit-%s-limit", what);
            snprintf(v, sizeof(v), "%llu", (unsigned long long)o->limit);
            sy_http_add_header(req, name, sy_str_c(v));
            snprintf(name, sizeof(name), "anthropic-ratelimit-%s-remaining", what);
            snprintf(v, sizeof(v), "%llu", (unsigned long long)left[k]);
            sy_http_add_header(req, name, sy_str_c(v));
            snprintf(name, sizeof(name), "anthropic-ratelimit-%s-reset", what);
            format_time((b->now_ms ? b->now_ms : sy_wall_ms()) + reset + 999, v);
            sy_http_add_header(req, name, sy_str_c(v));
        } else {
            snprintf(name, sizeof(name), "x-ratelimit-limit-%s", what);
            snprintf(v, sizeof(v), "%llu", (unsigned long long)o->limit);
            sy_http_add_header(req, name, sy_str_c(v));
            snprintf(name, sizeof(name), "x-ratelimit-remaining-%s", what);
            snprintf(v, sizeof(v), "%llu", (unsigned long long)left[k]);
            sy_http_add_header(req, name, sy_str_c(v));
            snprintf(name, sizeof(name), "x-ratelimit-reset-%s", what);
            fmt_duration(reset, v, sizeof(v));
            sy_http_add_header(req, name, sy_str_c(v));
        }
    }
    if (b->failed >= 0 && b->ops[b->failed].kind == SY_CTR_BUDGET)
        sy_http_add_header(req, "x-should-retry", SY_STR("false"));
}

/* ---- settling ---- */

void sy_gov_finish(sy_gov_req_t *g, const sy_gov_usage_t *u)
{
    if (g == NULL || g->finished)
        return;
    g->finished = true;
    if (g->op) {
        /* Finished while its reservation was on its way (the client went
         * away): no callback now; what the reply took is given back. */
        sy_redis_cancel(g->op);
        g->op = NULL;
    }
    if (g->reserved) {
        sy_ctr_batch_t *b = &g->batch;
        uint64_t used[SY_CTR_MAX_OPS];
        for (size_t i = 0; i < b->n; i++) {
            const sy_ctr_op_t *o = &b->ops[i];
            used[i] = o->kind == SY_CTR_RPM   ? (u->sent ? 1 : 0)
                      : o->kind == SY_CTR_TPM ? u->tokens_in + u->tokens_out
                                              : u->cost_pico;
        }
        if (b->local) {
            uint64_t now = sy_wall_ms();
            for (size_t i = 0; i < b->n; i++)
                sy_ctr_local_settle(b, i, used[i], now);
        } else if (g->w && g->w->redis) {
            sy_redis_settle(g->w->redis, b, used);
        }
        g->reserved = false;
    }
    /* The ledger's row: every request that reached a deployment. */
    if (g->place && u->deployment.len) {
        sy_gov_spend_push(u, sy_gov_key_id(g), sy_gov_team_id(g), sy_gov_org_id(g));
        g->place = false; /* the row has it now */
    }
}
