/*
 * audit.c - the request path's side of the audit trail: admission with a
 * reserved place, the per-request handle, submitting the record, metrics.
 */
#include "audit/audit.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/log.h"
#include "core/log.h"
#include "core/queue.h"
#include "core/time.h"

#define SY_AUDIT_MAX_VERDICTS 32

typedef struct {
    /* The settings running now: those a reload may change are updated by
     * sy_audit_reload (one thread); the request path reads its own atomic
     * copies below. The store and the signing key are fixed at start. */
    sy_config_audit_t cfg;
    char *store_url, *keypath;
    bool store_is_audit_store; /* the running store came from audit.store, not store */
    _Atomic uint32_t content;
    _Atomic uint64_t max_content, queue_full_wait_ms;
    size_t capacity;
    sy_queue_t q;
    /* records admitted and not yet committed: in-flight requests, queued
     * records and the batch being written */
    _Alignas(64) _Atomic size_t reserved;
    _Alignas(64) _Atomic uint64_t queue_full, unsubmitted;
    sy_audit_counters_t counters;
    sy_audit_log_t *log;
    sy_writer_t *writer;
} audit_t;

static audit_t *_Atomic g_audit;

struct sy_audit_req {
    audit_t *a;
    sy_sha256_ctx_t resp; /* the response bytes so far */
    uint64_t resp_bytes;
    sy_buf_t content; /* response bytes kept for the record (content modes) */
    uint32_t content_mode; /* audit.content and max_content_bytes when the request began */
    uint64_t max_content;
    bool truncated;
    bool submitted;
    sy_str_t key_id, team_id, org_id;
    sy_str_t verdicts[SY_AUDIT_MAX_VERDICTS];
    size_t nverdicts;
    sy_arena_t *arena;
};

bool sy_audit_enabled(void)
{
    return atomic_load_explicit(&g_audit, memory_order_acquire) != NULL;
}

/* ---- starting and stopping ---- */

static void release_cb(void *ctx, size_t n)
{
    audit_t *a = ctx;
    atomic_fetch_sub_explicit(&a->reserved, n, memory_order_release);
}

int sy_audit_start(const sy_config_t *c, char *err, size_t errsz)
{
    if (!c->audit.enabled)
        return SY_OK;
    if (atomic_load(&g_audit)) {
        snprintf(err, errsz, "the audit log is already running");
        return SY_ERR;
    }
    const sy_config_store_t *store_cfg = sy_config_audit_store(c);
    char dbpath[4096], keypath[4096];
    if (sy_config_resolve_path(c, store_cfg->path, dbpath, sizeof(dbpath)) != SY_OK ||
        sy_config_resolve_path(c, c->audit.signing_key_file, keypath, sizeof(keypath)) != SY_OK) {
        snprintf(err, errsz, "audit: a path is too long");
        return SY_ERR;
    }
    sy_store_opts_t so = {.readonly = false,
                          .sync_full = c->audit.synchronous == SY_CONFIG_AUDIT_SYNC_FULL};
    sy_store_t *store = sy_store_open(store_cfg, dbpath, &so, err, errsz);
    if (store == NULL)
        return SY_ERR;
    bool created = false;
    sy_signer_t *signer = sy_signer_open(keypath, true, &created, err, errsz);
    if (signer == NULL) {
        sy_store_close(store);
        return SY_ERR;
    }
    audit_t *a = sy_calloc(1, sizeof(*a));
    a->cfg = c->audit;
    a->cfg.signing_key_file = SY_STR(""); /* a view into c: keypath holds it */
    a->cfg.store = (sy_config_store_t){.url = SY_STR(""), .path = SY_STR("")}; /* store_url */
    a->store_is_audit_store = c->audit.store.url.len > 0;
    a->store_url = sy_malloc(store_cfg->url.len + 1);
    memcpy(a->store_url, store_cfg->url.p, store_cfg->url.len);
    a->store_url[store_cfg->url.len] = '\0';
    a->keypath = sy_strdup(keypath);
    atomic_init(&a->content, (uint32_t)c->audit.content);
    atomic_init(&a->max_content, c->audit.max_content_bytes);
    atomic_init(&a->queue_full_wait_ms, c->audit.queue_full_wait_ms);
    a->capacity = (size_t)c->audit.queue_capacity;
    sy_queue_init(&a->q, a->capacity);
    char pubhex[2 * SY_ED25519_PUB_LEN + 1], kid[17];
    sy_hex(sy_signer_public(signer), SY_ED25519_PUB_LEN, pubhex);
    sy_ed25519_key_id(sy_signer_public(signer), kid);
    sy_audit_log_opts_t lo = {
        .checkpoint_records = c->audit.checkpoint_records,
        .checkpoint_interval_ms = c->audit.checkpoint_interval_ms,
        .batch_max = (size_t)c->audit.batch_records,
        .sync_full = so.sync_full,
        .counters = &a->counters,
        .release = release_cb,
        .release_ctx = a,
    };
    a->log = sy_audit_log_open(store, signer, &lo, err, errsz);
    if (a->log == NULL) {
        sy_queue_free(&a->q);
        free(a->store_url);
        free(a->keypath);
        free(a);
        return SY_ERR;
    }
    if (created)
        sy_info("audit: created a new signing key", "\"file\":\"%s\",\"key_id\":\"%s\"", keypath,
                kid);
    /* The public key is not a secret: print it so it can be kept apart. */
    sy_info("audit log open",
            "\"store\":\"%s\",\"records\":%llu,\"key_id\":\"%s\",\"public_key\":\"%s\","
            "\"flush_interval_ms\":%llu",
            store_cfg->kind == SY_CONFIG_STORE_POSTGRES ? "postgres" : dbpath,
            (unsigned long long)sy_audit_log_size(a->log), kid, pubhex,
            (unsigned long long)c->audit.flush_interval_ms);
    sy_writer_opts_t wo = {
        .batch_max = (size_t)c->audit.batch_records,
        .linger_ms = c->audit.flush_interval_ms,
        .tick_ms = SY_MIN(c->audit.checkpoint_interval_ms, (uint64_t)1000),
        .retry_ms = 500,
    };
    sy_writer_sink_t sink = {sy_audit_log_write, sy_audit_log_tick, a->log};
    a->writer = sy_writer_start(&a->q, &wo, &sink);
    atomic_store_explicit(&g_audit, a, memory_order_release);
    return SY_OK;
}

void sy_audit_stop(void)
{
    audit_t *a = atomic_exchange(&g_audit, NULL);
    if (a == NULL)
        return;
    sy_writer_stop(a->writer);
    sy_info("audit log closed", "\"records\":%llu",
            (unsigned long long)sy_audit_log_size(a->log));
    sy_audit_log_close(a->log);
    sy_queue_free(&a->q);
    free(a->store_url);
    free(a->keypath);
    free(a);
}

/* ---- reloading ---- */

static void refuse(const char *setting, const char *running, const char *requested)
{
    sy_error("reload: this audit setting cannot change while the gateway runs; keeping the "
             "running one (restart to change it)",
             "\"setting\":\"%s\",\"running\":%s,\"requested\":%s", setting, running, requested);
}

/* A store URL as a JSON string, its password redacted. */
static void store_shown(sy_str_t url, sy_buf_t *out)
{
    sy_config_store_t st = {.kind = sy_str_starts_with(url, SY_STR("postgres"))
                                        ? SY_CONFIG_STORE_POSTGRES
                                        : SY_CONFIG_STORE_SQLITE,
                            .url = url};
    sy_config_format_store(&st, out, true);
    sy_buf_append(out, "", 1);
}

static const char *const content_names[] = {"none", "redacted", "full"};

void sy_audit_reload(const sy_config_t *c)
{
    audit_t *a = atomic_load(&g_audit);
    const sy_config_audit_t *n = &c->audit;
    if (a == NULL) {
        if (n->enabled)
            refuse("audit.enabled", "false", "true");
        return;
    }
    if (!n->enabled) {
        /* An audit trail a reload could switch off would not be one. */
        refuse("audit.enabled", "true", "false");
        return;
    }
    char esc1[4200], esc2[4200];
    const sy_config_store_t *store_cfg = sy_config_audit_store(c);
    if (!sy_str_eq(store_cfg->url, sy_str_c(a->store_url))) {
        sy_buf_t run, req;
        sy_buf_init(&run, 0);
        sy_buf_init(&req, 0);
        store_shown(sy_str_c(a->store_url), &run);
        store_shown(store_cfg->url, &req);
        refuse(a->store_is_audit_store || c->audit.store.url.len ? "audit.store" : "store",
               sy_buf_ptr(&run), sy_buf_ptr(&req));
        sy_buf_free(&run);
        sy_buf_free(&req);
    }
    char keypath[4096];
    if (sy_config_resolve_path(c, n->signing_key_file, keypath, sizeof(keypath)) != SY_OK ||
        strcmp(keypath, a->keypath) != 0) {
        char q1[4300], q2[4300];
        snprintf(q1, sizeof(q1), "\"%s\"", sy_log_esc(esc1, sizeof(esc1), a->keypath,
                                                        strlen(a->keypath)));
        snprintf(q2, sizeof(q2), "\"%s\"",
                 sy_log_esc(esc2, sizeof(esc2), n->signing_key_file.p, n->signing_key_file.len));
        refuse("audit.signing_key_file", q1, q2);
    }
    if (n->queue_capacity != a->cfg.queue_capacity) {
        char q1[32], q2[32];
        snprintf(q1, sizeof(q1), "%llu", (unsigned long long)a->cfg.queue_capacity);
        snprintf(q2, sizeof(q2), "%llu", (unsigned long long)n->queue_capacity);
        refuse("audit.queue_capacity", q1, q2);
    }

    /* Everything else applies from now on: request-path settings to
     * requests admitted from now, the writer's before its next batch. */
    sy_config_audit_t *o = &a->cfg, next = *n;
    next.enabled = o->enabled; /* the settings refused above keep their running values */
    next.queue_capacity = o->queue_capacity;
    next.signing_key_file = o->signing_key_file;
    if (next.content == o->content && next.max_content_bytes == o->max_content_bytes &&
        next.queue_full_wait_ms == o->queue_full_wait_ms &&
        next.flush_interval_ms == o->flush_interval_ms &&
        next.batch_records == o->batch_records &&
        next.checkpoint_records == o->checkpoint_records &&
        next.checkpoint_interval_ms == o->checkpoint_interval_ms &&
        next.synchronous == o->synchronous)
        return;
    *o = next;
    atomic_store(&a->content, (uint32_t)o->content);
    atomic_store(&a->max_content, o->max_content_bytes);
    atomic_store(&a->queue_full_wait_ms, o->queue_full_wait_ms);
    sy_writer_opts_t wo = {
        .batch_max = (size_t)o->batch_records,
        .linger_ms = o->flush_interval_ms,
        .tick_ms = SY_MIN(o->checkpoint_interval_ms, (uint64_t)1000),
    };
    sy_writer_set_opts(a->writer, &wo);
    sy_audit_log_configure(a->log, o->checkpoint_records, o->checkpoint_interval_ms,
                           o->synchronous == SY_CONFIG_AUDIT_SYNC_FULL);
    sy_writer_wake(a->writer);
    sy_info("audit settings reloaded",
            "\"flush_interval_ms\":%llu,\"batch_records\":%llu,\"checkpoint_records\":%llu,"
            "\"checkpoint_interval_ms\":%llu,\"content\":\"%s\",\"max_content_bytes\":%llu,"
            "\"queue_full_wait_ms\":%llu,\"synchronous\":\"%s\"",
            (unsigned long long)o->flush_interval_ms, (unsigned long long)o->batch_records,
            (unsigned long long)o->checkpoint_records,
            (unsigned long long)o->checkpoint_interval_ms,
            content_names[o->content < 3 ? o->content : 0],
            (unsigned long long)o->max_content_bytes, (unsigned long long)o->queue_full_wait_ms,
            o->synchronous == SY_CONFIG_AUDIT_SYNC_FULL ? "full" : "normal");
}

void sy_audit_test_pause(bool paused)
{
    audit_t *a = atomic_load(&g_audit);
    if (a)
        sy_writer_pause(a->writer, paused);
}

/* ---- admission ---- */

/* Take one of the first `limit` places. */
static bool reserve_below(audit_t *a, size_t limit)
{
    size_t cur = atomic_load_explicit(&a->reserved, memory_order_relaxed);
    while (cur < limit)
        if (atomic_compare_exchange_weak_explicit(&a->reserved, &cur, cur + 1,
                                                  memory_order_acquire, memory_order_relaxed))
            return true;
    return false;
}

static bool reserve(audit_t *a) { return reserve_below(a, a->capacity); }

/* Runs when the request's arena goes away. A handle that was never
 * submitted means a code path ended a request without finishing it: give
 * the place back and say so (it is counted, never silent). */
static void req_cleanup(void *arg)
{
    sy_audit_req_t *r = arg;
    sy_buf_free(&r->content);
    if (!r->submitted) {
        r->submitted = true;
        atomic_fetch_add(&r->a->unsubmitted, 1);
        atomic_fetch_sub(&r->a->reserved, 1);
        sy_warn("audit: a request ended without its record", NULL);
    }
}

static int req_new(audit_t *a, sy_arena_t *arena, sy_audit_req_t **out);

int sy_audit_begin(sy_arena_t *arena, sy_audit_req_t **out)
{
    *out = NULL;
    audit_t *a = atomic_load_explicit(&g_audit, memory_order_acquire);
    if (a == NULL)
        return SY_OK;
    if (!reserve(a)) {
        /* Brief back-pressure: the writer may be finishing a batch. */
        uint64_t wait_ms = atomic_load_explicit(&a->queue_full_wait_ms, memory_order_relaxed);
        uint64_t deadline = sy_now_ns() + wait_ms * 1000000u;
        bool ok = false;
        while (!ok && sy_now_ns() < deadline) {
            struct timespec ts = {0, 100000}; /* 0.1 ms */
            nanosleep(&ts, NULL);
            ok = reserve(a);
        }
        if (!ok) {
            atomic_fetch_add(&a->queue_full, 1);
            return SY_EAGAIN;
        }
    }
    return req_new(a, arena, out);
}

int sy_audit_begin_refusal(sy_arena_t *arena, sy_audit_req_t **out)
{
    *out = NULL;
    audit_t *a = atomic_load_explicit(&g_audit, memory_order_acquire);
    if (a == NULL)
        return SY_OK;
    if (!reserve_below(a, a->capacity / 2)) {
        atomic_fetch_add(&a->queue_full, 1);
        return SY_EAGAIN;
    }
    return req_new(a, arena, out);
}

/* A handle for a request that holds a place. */
static int req_new(audit_t *a, sy_arena_t *arena, sy_audit_req_t **out)
{
    sy_audit_req_t *r = sy_arena_calloc(arena, sizeof(*r));
    r->a = a;
    r->arena = arena;
    sy_sha256_init(&r->resp);
    r->content_mode = atomic_load_explicit(&a->content, memory_order_relaxed);
    r->max_content = atomic_load_explicit(&a->max_content, memory_order_relaxed);
    sy_buf_init(&r->content, (size_t)r->max_content);
    sy_arena_cleanup(arena, req_cleanup, r);
    *out = r;
    return SY_OK;
}

/* A copy in the request's arena; an empty id (no key, or a static one)
 * needs none. */
static sy_str_t dup_nonempty(sy_arena_t *arena, sy_str_t s)
{
    return s.len ? sy_str_dup(arena, s) : SY_STR("");
}

void sy_audit_set_principal(sy_audit_req_t *r, sy_str_t key_id, sy_str_t team_id,
                            sy_str_t org_id)
{
    if (r == NULL)
        return;
    r->key_id = dup_nonempty(r->arena, key_id);
    r->team_id = dup_nonempty(r->arena, team_id);
    r->org_id = dup_nonempty(r->arena, org_id);
}

void sy_audit_add_verdict(sy_audit_req_t *r, sy_str_t verdict)
{
    if (r == NULL || r->nverdicts >= SY_AUDIT_MAX_VERDICTS)
        return;
    r->verdicts[r->nverdicts++] = sy_str_dup(r->arena, verdict);
}

void sy_audit_response_bytes(sy_audit_req_t *r, const void *p, size_t n)
{
    if (r == NULL || r->submitted || n == 0)
        return;
    sy_sha256_update(&r->resp, p, n);
    r->resp_bytes += n;
    if (r->content_mode != SY_CONFIG_AUDIT_CONTENT_NONE && !r->truncated) {
        size_t room = r->content.max > r->content.len ? r->content.max - r->content.len : 0;
        sy_buf_append(&r->content, p, SY_MIN(n, room));
        if (n > room)
            r->truncated = true;
    }
}

/* ---- submitting ---- */

/* Copy s into the item's trailing storage at *at. */
static sy_str_t put(char **at, sy_str_t s)
{
    if (s.len == 0)
        return SY_STR("");
    memcpy(*at, s.p, s.len);
    sy_str_t v = {*at, s.len};
    *at += s.len;
    return v;
}

void sy_audit_submit(sy_audit_req_t *r, const sy_access_entry_t *e,
                     const sy_config_provider_t *provider, sy_str_t request_body)
{
    if (r == NULL || r->submitted)
        return;
    r->submitted = true;
    audit_t *a = r->a;
    sy_audit_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.time_ms = sy_wall_ms();
    rec.request_id = e->request_id;
    rec.key_id = r->key_id;
    rec.team_id = r->team_id;
    rec.org_id = r->org_id;
    rec.frontdoor = e->frontdoor;
    rec.endpoint = e->path;
    rec.model = e->model;
    rec.provider = e->provider;
    rec.upstream_model = e->upstream_model;
    if (provider) {
        rec.region = provider->region;
        rec.jurisdiction = provider->jurisdiction;
    }
    rec.route = e->attempt_log;
    rec.route_detail = e->route_json;
    rec.strategy = e->strategy;
    rec.attempts = e->attempts;
    rec.status = e->status;
    rec.stream = e->stream;
    rec.error_class = e->error_class;
    const sy_ir_usage_t *u = &e->usage;
    rec.tokens_in = u->has_input ? u->input : 0;
    rec.tokens_out = u->has_output ? u->output : 0;
    rec.tokens_cached = u->has_cached_input ? u->cached_input : 0;
    rec.tokens_cache_write = u->has_cache_write ? u->cache_write : 0;
    rec.tokens_reasoning = u->has_reasoning ? u->reasoning : 0;
    rec.usage_estimated = e->usage_estimated;
    rec.cost_pico = e->cost_pico;
    rec.cost_known = e->cost_known;
    rec.client_aborted = e->client_aborted;
    rec.duration_us = e->duration_ns / 1000;
    rec.upstream_us = e->upstream_ns / 1000;
    rec.ttft_us = e->ttft_ns / 1000;
    rec.request_bytes = request_body.len;
    sy_sha256(request_body.p, request_body.len, &rec.request_sha256);
    rec.response_bytes = r->resp_bytes;
    sy_sha256_digest(&r->resp, &rec.response_sha256);
    rec.content = (sy_audit_content_t)r->content_mode;

    /* Content, capped at audit.max_content_bytes each. */
    sy_buf_t reqc, respc;
    sy_buf_init(&reqc, 0);
    sy_buf_init(&respc, 0);
    if (rec.content != SY_AUDIT_CONTENT_NONE) {
        size_t cap = (size_t)r->max_content;
        sy_str_t body = sy_str_sub(request_body, 0, cap);
        rec.content_truncated = r->truncated || request_body.len > cap;
        if (rec.content == SY_AUDIT_CONTENT_REDACTED) {
            sy_audit_redact(body, &reqc);
            sy_audit_redact(sy_buf_str(&r->content), &respc);
        } else {
            sy_buf_append(&reqc, body.p, body.len);
            sy_buf_append(&respc, sy_buf_ptr(&r->content), r->content.len);
        }
    }

    /* One allocation: the item, then every string it points to. */
    sy_str_t *strs[] = {&rec.request_id, &rec.key_id,        &rec.team_id,  &rec.org_id,
                        &rec.frontdoor,  &rec.endpoint,      &rec.model,    &rec.provider,
                        &rec.upstream_model, &rec.region,    &rec.jurisdiction, &rec.route,
                        &rec.route_detail, &rec.strategy, &rec.error_class};
    size_t total = sizeof(sy_audit_item_t) + r->nverdicts * sizeof(sy_str_t) + reqc.len +
                   respc.len;
    for (size_t i = 0; i < SY_ARRAY_LEN(strs); i++)
        total += strs[i]->len;
    for (size_t i = 0; i < r->nverdicts; i++)
        total += r->verdicts[i].len;
    sy_audit_item_t *it = sy_malloc(total);
    sy_str_t *verdicts = (sy_str_t *)(it + 1);
    char *at = (char *)(verdicts + r->nverdicts);
    for (size_t i = 0; i < SY_ARRAY_LEN(strs); i++)
        *strs[i] = put(&at, *strs[i]);
    for (size_t i = 0; i < r->nverdicts; i++)
        verdicts[i] = put(&at, r->verdicts[i]);
    rec.verdicts = verdicts;
    rec.nverdicts = r->nverdicts;
    rec.request_content = put(&at, sy_buf_str(&reqc));
    rec.response_content = put(&at, sy_buf_str(&respc));
    sy_buf_free(&reqc);
    sy_buf_free(&respc);
    it->rec = rec;
    it->hdr.enqueued_ns = sy_now_ns();

    /* The place reserved at admission guarantees room; the loop only covers
     * the instant in which the writer has taken a place back but not yet
     * freed its cell. */
    while (sy_queue_push(&a->q, it) != SY_OK)
        sched_yield();
    sy_writer_wake(a->writer);
}

/* ---- metrics ---- */

void sy_audit_stats(sy_audit_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    audit_t *a = atomic_load(&g_audit);
    if (a == NULL)
        return;
    sy_audit_counters_t *c = &a->counters;
    out->queue_full = atomic_load(&a->queue_full);
    out->unsubmitted = atomic_load(&a->unsubmitted);
    out->written = atomic_load(&c->written);
    out->batches = atomic_load(&c->batches);
    out->checkpoints = atomic_load(&c->checkpoints);
    out->checkpoint_size = atomic_load(&c->checkpoint_size);
    out->store_errors = atomic_load(&c->store_errors);
    out->lag_last_ns = atomic_load(&c->lag_last_ns);
    out->lag_max_ns = atomic_load(&c->lag_max_ns);
    out->batch_ns_sum = atomic_load(&c->batch_ns_sum);
    out->reserved = atomic_load(&a->reserved);
    out->queued = sy_queue_size(&a->q);
    out->capacity = a->capacity;
}

void sy_audit_metrics_render(sy_buf_t *out)
{
    audit_t *a = atomic_load(&g_audit);
    if (a == NULL)
        return;
    sy_audit_stats_t s;
    sy_audit_stats(&s);
    static const struct {
        const char *name, *type, *help;
    } fam[] = {
        {"switchyard_audit_queue_depth", "gauge", "Audit records waiting for the writer."},
        {"switchyard_audit_queue_reserved", "gauge",
         "Places held in the audit queue: requests in flight plus records not yet written."},
        {"switchyard_audit_queue_capacity", "gauge", "audit.queue_capacity."},
        {"switchyard_audit_queue_full_total", "counter",
         "Requests refused with 503 because the audit queue stayed full."},
        {"switchyard_audit_records_written_total", "counter", "Audit records committed to the store."},
        {"switchyard_audit_checkpoints_total", "counter", "Signed checkpoints written."},
        {"switchyard_audit_checkpoint_size", "gauge", "Tree size of the last signed checkpoint."},
        {"switchyard_audit_store_errors_total", "counter",
         "Failed store writes (the batch is kept and retried)."},
        {"switchyard_audit_unsubmitted_total", "counter",
         "Requests that ended without an audit record (a bug if ever non-zero)."},
        {"switchyard_audit_write_lag_seconds", "gauge",
         "Largest time from a record's submission to its commit, in the last batch."},
        {"switchyard_audit_write_lag_max_seconds", "gauge",
         "Largest time from a record's submission to its commit since start."},
    };
    double lag = (double)s.lag_last_ns / 1e9, lagmax = (double)s.lag_max_ns / 1e9;
    uint64_t v[] = {s.queued, s.reserved, s.capacity, s.queue_full, s.written, s.checkpoints,
                    s.checkpoint_size, s.store_errors, s.unsubmitted};
    for (size_t i = 0; i < SY_ARRAY_LEN(fam); i++) {
        sy_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", fam[i].name, fam[i].help, fam[i].name,
                      fam[i].type);
        if (i < SY_ARRAY_LEN(v))
            sy_buf_printf(out, "%s %llu\n", fam[i].name, (unsigned long long)v[i]);
        else
            sy_buf_printf(out, "%s %.6f\n", fam[i].name, i == SY_ARRAY_LEN(v) ? lag : lagmax);
    }
    const char *bn = "switchyard_audit_batch_seconds";
    sy_buf_printf(out, "# HELP %s Time to encode, hash and commit one batch of audit records.\n"
                       "# TYPE %s histogram\n",
                  bn, bn);
    uint64_t cum = 0;
    for (int k = 0; k < SY_AUDIT_BATCH_BUCKETS; k++) {
        cum += atomic_load(&a->counters.batch_buckets[k]);
        sy_buf_printf(out, "%s_bucket{le=\"%g\"} %llu\n", bn,
                      (double)sy_audit_batch_bounds_ns[k] / 1e9, (unsigned long long)cum);
    }
    sy_buf_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9f\n%s_count %llu\n", bn,
                  (unsigned long long)s.batches, bn, (double)s.batch_ns_sum / 1e9, bn,
                  (unsigned long long)s.batches);
}
