/*
 * gov.c - the governance thread and the service around it.
 *
 * One thread (store/writer.h's batching loop, with our sink) owns the
 * governance store:
 *   - write():  spend rows from finished requests, batched (at most
 *               governance.spend_flush_interval after the oldest) into one
 *               transaction with the ledger's per-window sums; first it
 *               runs any admin jobs waiting in the list (a poke item in the
 *               queue wakes it for them).
 *   - tick():   every governance.sync_interval: admin jobs, then the
 *               store's generation; when it moved, the changed rows are
 *               read, a new directory is built and published. Every few
 *               seconds also the ledger's window sums (budget seeds).
 * A spend row needs a place in the queue, taken when the request is
 * admitted (sy_gov_auth); when none is free the request is refused with
 * 503, so a row is never dropped.
 */
#include "harness/gov_int.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/log.h"
#include "core/map.h"
#include "core/time.h"

gov_t *_Atomic sy_gov_g;
gov_stats_t sy_gov_stats;

#define SEED_EVERY_NS (5ull * 1000000000ull)

bool sy_gov_enabled(void)
{
    return atomic_load_explicit(&sy_gov_g, memory_order_acquire) != NULL;
}

bool sy_gov_place_take(void)
{
    gov_t *g = atomic_load(&sy_gov_g);
    if (g == NULL)
        return true;
    size_t r = atomic_fetch_add(&g->reserved, 1);
    if (r < g->capacity)
        return true;
    atomic_fetch_sub(&g->reserved, 1);
    return false;
}

void sy_gov_place_give(void)
{
    gov_t *g = atomic_load(&sy_gov_g);
    if (g)
        atomic_fetch_sub(&g->reserved, 1);
}

/* ---- rows: the thread's copy of the three principal tables ---- */

typedef struct {
    sy_map_t map[3]; /* id -> row_t*, for orgs, teams, keys */
} rows_t;

typedef struct {
    sy_gov_row_t r;
    char *buf; /* the strings of r */
} row_t;

static void row_free(row_t *row)
{
    if (row) {
        free(row->buf);
        free(row);
    }
}

static const char *const row_sql[3] = {
    ("SELECT id, '', '', '', spec, removed, created_ms, updated_ms FROM sy_orgs WHERE gen > $1"),
    ("SELECT id, org_id, '', '', spec, removed, created_ms, updated_ms FROM sy_teams WHERE gen > $1"),
    ("SELECT id, team_id, hash, hint, spec, revoked, created_ms, updated_ms FROM sy_keys"
     " WHERE gen > $1"),
};

typedef struct {
    rows_t *rows;
    int table;
} load_ctx_t;

static int load_cb(void *ctx, int ncols, const char *const *v)
{
    load_ctx_t *lc = ctx;
    if (ncols < 8 || v[0] == NULL)
        return SY_OK;
    size_t len[5];
    size_t total = 0;
    for (int i = 0; i < 5; i++) {
        len[i] = v[i] ? strlen(v[i]) : 0;
        total += len[i] + 1;
    }
    row_t *row = sy_calloc(1, sizeof(*row));
    row->buf = sy_malloc(total);
    char *p = row->buf;
    sy_str_t *dst[5] = {&row->r.id, &row->r.parent, &row->r.hash_hex, &row->r.hint, &row->r.spec};
    for (int i = 0; i < 5; i++) {
        memcpy(p, v[i] ? v[i] : "", len[i] + 1);
        *dst[i] = sy_str(p, len[i]);
        p += len[i] + 1;
    }
    row->r.removed = v[5] && atoi(v[5]) != 0;
    row->r.created_ms = v[6] ? strtoull(v[6], NULL, 10) : 0;
    row->r.updated_ms = v[7] ? strtoull(v[7], NULL, 10) : 0;
    /* Delete, then insert: a replaced slot would keep the old row's id
     * view, which row_free() is about to free. */
    row_free(sy_map_del(&lc->rows->map[lc->table], row->r.id));
    sy_map_put(&lc->rows->map[lc->table], row->r.id, row);
    return SY_OK;
}

static sy_gov_row_t *rows_array(rows_t *rows, int t, size_t *n)
{
    sy_map_t *m = &rows->map[t];
    sy_gov_row_t *arr = sy_calloc(m->len + 1, sizeof(*arr));
    size_t k = 0, it = 0;
    sy_str_t key;
    void *val;
    while (sy_map_next(m, &it, &key, &val))
        arr[k++] = ((row_t *)val)->r;
    *n = k;
    return arr;
}

static void rows_free(rows_t *rows)
{
    if (rows == NULL)
        return;
    for (int t = 0; t < 3; t++) {
        size_t it = 0;
        sy_str_t key;
        void *val;
        while (sy_map_next(&rows->map[t], &it, &key, &val))
            row_free(val);
        sy_map_free(&rows->map[t]);
    }
    free(rows);
}

/* ---- sync: the store's generation -> a new directory ---- */

typedef struct {
    uint64_t day, month;
} seed_ctx_t;

static int seed_cb(void *ctx, int ncols, const char *const *v)
{
    seed_ctx_t *sc = ctx;
    if (ncols < 4 || !v[0] || !v[1] || !v[2] || !v[3])
        return SY_OK;
    sy_ctr_state_t *st = sy_ctr_state_find(sy_str_c(v[0]));
    if (st == NULL)
        return SY_OK;
    sy_window_t w = strcmp(v[1], "day") == 0     ? SY_WINDOW_DAY
                    : strcmp(v[1], "month") == 0 ? SY_WINDOW_MONTH
                                                 : SY_WINDOW_TOTAL;
    uint64_t idx = strtoull(v[2], NULL, 10);
    atomic_store(&st->seed[w], strtoull(v[3], NULL, 10));
    atomic_store(&st->seed_idx[w], idx);
    SY_UNUSED(sc);
    return SY_OK;
}

/* The ledger's sums for the current windows: the starting point of a
 * window a counter has not seen yet (harness/counters.h). */
static int load_seeds(gov_t *g, char *err, size_t errsz)
{
    uint64_t sec = sy_wall_ms() / 1000;
    char day[24], month[24];
    snprintf(day, sizeof(day), "%llu", (unsigned long long)sy_window_index(SY_WINDOW_DAY, sec));
    snprintf(month, sizeof(month), "%llu",
             (unsigned long long)sy_window_index(SY_WINDOW_MONTH, sec));
    const char *params[] = {day, month};
    seed_ctx_t sc = {0, 0};
    return sy_gdb_exec(g->db,
                       "SELECT principal, win, idx, cost_pico FROM sy_spend_windows WHERE"
                       " (win = 'day' AND idx = $1) OR (win = 'month' AND idx = $2) OR"
                       " win = 'total'",
                       params, 2, seed_cb, &sc, err, errsz);
}

/* Read what changed since the published generation and publish a new
 * directory if anything did. */
static int sync_store(gov_t *g, bool force)
{
    char err[512];
    uint64_t gen = 0;
    int rc = sy_gdb_query_u64(g->db, "SELECT v FROM sy_gov_meta WHERE k = 'generation'", NULL, 0,
                              &gen, err, sizeof(err));
    if (rc != SY_OK) {
        atomic_fetch_add(&sy_gov_stats.store_errors, 1);
        sy_warn("governance: cannot read the store's generation", "\"error\":\"%s\"", err);
        return SY_ERR;
    }
    atomic_fetch_add(&sy_gov_stats.syncs, 1);
    if (gen == g->generation && !force)
        return SY_OK;
    rows_t *rows = g->rows;
    char last[24];
    snprintf(last, sizeof(last), "%llu", (unsigned long long)g->generation);
    const char *params[] = {last};
    for (int t = 0; t < 3; t++) {
        load_ctx_t lc = {rows, t};
        if (sy_gdb_exec(g->db, row_sql[t], params, 1, load_cb, &lc, err, sizeof(err)) != SY_OK) {
            atomic_fetch_add(&sy_gov_stats.store_errors, 1);
            sy_warn("governance: cannot read principals", "\"error\":\"%s\"", err);
            return SY_ERR;
        }
    }
    size_t n[3];
    sy_gov_row_t *arr[3];
    for (int t = 0; t < 3; t++)
        arr[t] = rows_array(rows, t, &n[t]);
    sy_gov_dir_t *d = sy_gov_dir_build(gen, arr[0], n[0], arr[1], n[1], arr[2], n[2]);
    for (int t = 0; t < 3; t++)
        free(arr[t]);
    /* New principals may have new counters: give them their seeds before
     * any request can reach them. */
    if (load_seeds(g, err, sizeof(err)) != SY_OK)
        sy_warn("governance: cannot read the ledger's window sums", "\"error\":\"%s\"", err);
    g->next_seed_ns = sy_now_ns() + SEED_EVERY_NS;
    sy_gov_dir_publish(d);
    atomic_fetch_add(&sy_gov_stats.builds, 1);
    sy_debug("governance: directory published",
             "\"generation\":%llu,\"orgs\":%zu,\"teams\":%zu,\"keys\":%zu",
             (unsigned long long)gen, n[0], n[1], n[2]);
    g->generation = gen;
    return SY_OK;
}

int sy_gov_bump(sy_gdb_t *db, uint64_t *gen, char *err, size_t errsz)
{
    return sy_gdb_query_u64(db,
                            "UPDATE sy_gov_meta SET v = v + 1 WHERE k = 'generation' RETURNING v",
                            NULL, 0, gen, err, errsz);
}

void sy_gov_sync_now(void)
{
    gov_t *g = atomic_load(&sy_gov_g);
    if (g)
        atomic_store(&g->sync_asked, true);
}

/* ---- admin jobs ---- */

static void post_done(sy_gov_job_t *job)
{
    gov_worker_t *w = job->worker;
    pthread_mutex_lock(&w->lock);
    bool ok = !w->closed && sy_queue_push(&w->done, job) == SY_OK;
    if (ok) {
        uint64_t one = 1;
        ssize_t wr = write(w->efd, &one, sizeof(one));
        SY_UNUSED(wr);
    }
    pthread_mutex_unlock(&w->lock);
    if (!ok) {
        /* the worker is gone (or its mailbox is full: answer nobody) */
        if (job->free_arg)
            job->free_arg(job->arg);
        sy_buf_free(&job->body);
        free(job);
    }
}

static void run_jobs(gov_t *g)
{
    for (;;) {
        pthread_mutex_lock(&g->jobs_lock);
        size_t n = g->njobs;
        if (n == 0) {
            pthread_mutex_unlock(&g->jobs_lock);
            return;
        }
        sy_gov_job_t *list[64];
        if (n > 64)
            n = 64;
        memcpy(list, g->jobs, n * sizeof(*list));
        memmove(g->jobs, g->jobs + n, (g->njobs - n) * sizeof(*g->jobs));
        g->njobs -= n;
        pthread_mutex_unlock(&g->jobs_lock);
        bool changed = false;
        for (size_t i = 0; i < n; i++) {
            list[i]->run(list[i], g->db);
            changed |= list[i]->changed;
            atomic_fetch_add(&sy_gov_stats.jobs, 1);
        }
        /* Read back what the jobs changed, so this instance answers from
         * the new directory as soon as the client has its reply. */
        if (changed)
            sync_store(g, false);
        for (size_t i = 0; i < n; i++)
            post_done(list[i]);
    }
}

sy_gov_job_t *sy_gov_job_new(sy_http_req_t *req, sy_gov_job_fn run, void *arg,
                             void (*free_arg)(void *))
{
    sy_gov_job_t *job = sy_calloc(1, sizeof(*job));
    job->run = run;
    job->req = req;
    job->arg = arg;
    job->free_arg = free_arg;
    job->status = 500;
    sy_buf_init(&job->body, 0);
    job->worker = sy_gov_worker();
    return job;
}

int sy_gov_job_submit(sy_gov_job_t *job)
{
    gov_t *g = atomic_load(&sy_gov_g);
    if (g == NULL || job->worker == NULL)
        return SY_ERR;
    gov_item_t *poke = sy_calloc(1, sizeof(*poke));
    poke->type = GOV_ITEM_POKE;
    poke->hdr.enqueued_ns = sy_now_ns();
    if (!sy_gov_place_take()) {
        free(poke);
        return SY_EAGAIN;
    }
    pthread_mutex_lock(&g->jobs_lock);
    if (g->njobs == g->jobs_cap) {
        g->jobs_cap = g->jobs_cap ? g->jobs_cap * 2 : 16;
        g->jobs = sy_realloc(g->jobs, g->jobs_cap * sizeof(*g->jobs));
    }
    g->jobs[g->njobs++] = job;
    pthread_mutex_unlock(&g->jobs_lock);
    if (sy_queue_push(&g->q, poke) != SY_OK) {
        free(poke); /* cannot happen with a place held; the tick runs the job anyway */
        sy_gov_place_give();
    }
    sy_writer_wake(g->writer);
    return SY_OK;
}

/* ---- the spend ledger ---- */

static const char spend_insert[] =
    "INSERT INTO sy_spend (request_id, time_ms, key_id, team_id, org_id, model, provider,"
    " deployment, tokens_in, tokens_out, cost_pico, status) VALUES ($1, $2, $3, $4, $5, $6, $7,"
    " $8, $9, $10, $11, $12) ON CONFLICT (request_id) DO NOTHING RETURNING request_id";

static const char window_upsert[] =
    "INSERT INTO sy_spend_windows (principal, win, idx, cost_pico, requests) VALUES ($1, $2, $3,"
    " $4, $5) ON CONFLICT (principal, win, idx) DO UPDATE SET cost_pico ="
    " sy_spend_windows.cost_pico + excluded.cost_pico, requests = sy_spend_windows.requests +"
    " excluded.requests";

typedef struct {
    char principal[SY_GOV_MAX_ID + 8];
    sy_window_t w;
    uint64_t idx, cost, requests;
} win_sum_t;

static int inserted_cb(void *ctx, int ncols, const char *const *v)
{
    SY_UNUSED(ncols);
    SY_UNUSED(v);
    *(bool *)ctx = true;
    return SY_OK;
}

static void win_add(win_sum_t *sums, size_t *n, size_t cap, char kind, const char *id,
                    uint64_t time_ms, uint64_t cost)
{
    if (id == NULL || id[0] == '\0')
        return;
    for (int w = 0; w < SY_WINDOW__COUNT; w++) {
        uint64_t idx = sy_window_index((sy_window_t)w, time_ms / 1000);
        char pid[SY_GOV_MAX_ID + 8];
        snprintf(pid, sizeof(pid), "%c:%s", kind, id);
        size_t i = 0;
        for (; i < *n; i++)
            if (sums[i].w == (sy_window_t)w && sums[i].idx == idx &&
                strcmp(sums[i].principal, pid) == 0)
                break;
        if (i == *n) {
            if (*n >= cap)
                return; /* cannot happen: cap is 9 x rows */
            snprintf(sums[i].principal, sizeof(sums[i].principal), "%s", pid);
            sums[i].w = (sy_window_t)w;
            sums[i].idx = idx;
            sums[i].cost = sums[i].requests = 0;
            (*n)++;
        }
        sums[i].cost += cost;
        sums[i].requests++;
    }
}

static int write_spend(gov_t *g, gov_spend_t **rows, size_t n, char *err, size_t errsz)
{
    if (n == 0)
        return SY_OK;
    if (sy_gdb_begin(g->db, err, errsz) != SY_OK)
        return SY_ERR;
    size_t cap = n * 9;
    win_sum_t *sums = sy_calloc(cap, sizeof(*sums));
    size_t nsums = 0;
    for (size_t i = 0; i < n; i++) {
        gov_spend_t *s = rows[i];
        char t[24], tin[24], tout[24], cost[24], st[16];
        snprintf(t, sizeof(t), "%llu", (unsigned long long)s->time_ms);
        snprintf(tin, sizeof(tin), "%llu", (unsigned long long)s->tokens_in);
        snprintf(tout, sizeof(tout), "%llu", (unsigned long long)s->tokens_out);
        snprintf(cost, sizeof(cost), "%llu", (unsigned long long)s->cost_pico);
        snprintf(st, sizeof(st), "%d", s->status);
        const char *p[] = {s->request_id, t, s->key_id, s->team_id, s->org_id, s->model,
                           s->provider, s->deployment, tin, tout, cost, st};
        bool inserted = false;
        if (sy_gdb_exec(g->db, spend_insert, p, 12, inserted_cb, &inserted, err, errsz) != SY_OK)
            goto fail;
        if (!inserted)
            continue; /* written by an earlier try of this batch */
        win_add(sums, &nsums, cap, 'k', s->key_id, s->time_ms, s->cost_pico);
        win_add(sums, &nsums, cap, 't', s->team_id, s->time_ms, s->cost_pico);
        win_add(sums, &nsums, cap, 'o', s->org_id, s->time_ms, s->cost_pico);
    }
    for (size_t i = 0; i < nsums; i++) {
        char idx[24], cost[24], req[24];
        snprintf(idx, sizeof(idx), "%llu", (unsigned long long)sums[i].idx);
        snprintf(cost, sizeof(cost), "%llu", (unsigned long long)sums[i].cost);
        snprintf(req, sizeof(req), "%llu", (unsigned long long)sums[i].requests);
        const char *p[] = {sums[i].principal, sy_window_names[sums[i].w], idx, cost, req};
        if (sy_gdb_exec(g->db, window_upsert, p, 5, NULL, NULL, err, errsz) != SY_OK)
            goto fail;
    }
    free(sums);
    if (sy_gdb_commit(g->db, err, errsz) != SY_OK) {
        sy_gdb_rollback(g->db);
        return SY_ERR;
    }
    return SY_OK;
fail:
    free(sums);
    sy_gdb_rollback(g->db);
    return SY_ERR;
}

static int sink_write(void *ctx, sy_writer_item_t **items, size_t n)
{
    gov_t *g = ctx;
    run_jobs(g);
    gov_spend_t **rows = sy_calloc(n + 1, sizeof(*rows));
    size_t nrows = 0;
    for (size_t i = 0; i < n; i++) {
        gov_item_t *it = (gov_item_t *)items[i];
        if (it->type == GOV_ITEM_SPEND)
            rows[nrows++] = (gov_spend_t *)it;
    }
    char err[512];
    if (write_spend(g, rows, nrows, err, sizeof(err)) != SY_OK) {
        free(rows);
        atomic_fetch_add(&sy_gov_stats.store_errors, 1);
        sy_warn("governance: cannot write the spend ledger; retrying", "\"error\":\"%s\"", err);
        return SY_ERR;
    }
    free(rows);
    atomic_fetch_add(&sy_gov_stats.spend_rows, nrows);
    atomic_fetch_add(&sy_gov_stats.spend_batches, 1);
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    atomic_fetch_sub(&g->reserved, n);
    return SY_OK;
}

static void sink_tick(void *ctx, bool final)
{
    gov_t *g = ctx;
    run_jobs(g);
    if (final)
        return;
    uint64_t now = sy_now_ns();
    bool asked = atomic_exchange(&g->sync_asked, false);
    if (asked || now >= g->next_sync_ns) {
        sync_store(g, false);
        g->next_sync_ns = now + g->cfg.sync_interval_ms * 1000000ull;
    }
    if (now >= g->next_seed_ns) {
        char err[512];
        if (load_seeds(g, err, sizeof(err)) != SY_OK)
            sy_warn("governance: cannot read the ledger's window sums", "\"error\":\"%s\"", err);
        g->next_seed_ns = now + SEED_EVERY_NS;
    }
}

void sy_gov_spend_push(const sy_gov_usage_t *u, sy_str_t key_id, sy_str_t team_id,
                       sy_str_t org_id)
{
    gov_t *g = atomic_load(&sy_gov_g);
    if (g == NULL)
        return;
    sy_str_t s[7] = {u->request_id, key_id, team_id, org_id, u->model, u->provider,
                     u->deployment};
    size_t total = 0;
    for (int i = 0; i < 7; i++) {
        if (s[i].len > 512)
            s[i].len = 512;
        total += s[i].len + 1;
    }
    gov_spend_t *row = sy_calloc(1, sizeof(*row) + total);
    row->it.type = GOV_ITEM_SPEND;
    row->time_ms = sy_wall_ms();
    row->tokens_in = u->tokens_in;
    row->tokens_out = u->tokens_out;
    row->cost_pico = u->cost_pico;
    row->status = u->status;
    char *p = row->text;
    const char **dst[7] = {&row->request_id, &row->key_id,   &row->team_id,   &row->org_id,
                           &row->model,      &row->provider, &row->deployment};
    for (int i = 0; i < 7; i++) {
        memcpy(p, s[i].p ? s[i].p : "", s[i].len);
        p[s[i].len] = '\0';
        *dst[i] = p;
        p += s[i].len + 1;
    }
    row->it.hdr.enqueued_ns = sy_now_ns();
    if (sy_queue_push(&g->q, row) != SY_OK) {
        /* The place taken at admission makes this impossible. */
        sy_error("governance: the spend queue refused a row it had a place for", NULL);
        free(row);
        sy_gov_place_give();
        return;
    }
    sy_writer_wake(g->writer);
}

/* ---- workers ---- */

static _Thread_local gov_worker_t *tl_worker;

gov_worker_t *sy_gov_worker(void)
{
    return tl_worker;
}

static void mailbox_cb(sy_io_t *io, uint32_t events)
{
    SY_UNUSED(events);
    gov_worker_t *w = io->data;
    uint64_t v;
    ssize_t r = read(w->efd, &v, sizeof(v));
    SY_UNUSED(r);
    sy_gov_job_t *job;
    while ((job = sy_queue_pop(&w->done)) != NULL) {
        if (job->req) {
            sy_http_req_t *req = job->req;
            if (job->on_worker)
                job->on_worker(job);
            req->on_abort = NULL;
            req->data = NULL;
            sy_http_respond(req, job->status, "application/json", sy_buf_ptr(&job->body),
                            job->body.len);
        }
        if (job->free_arg)
            job->free_arg(job->arg);
        sy_buf_free(&job->body);
        free(job);
    }
}

void sy_gov_worker_init(sy_loop_t *loop)
{
    gov_t *g = atomic_load(&sy_gov_g);
    if (g == NULL || tl_worker)
        return;
    gov_worker_t *w = sy_calloc(1, sizeof(*w));
    w->loop = loop;
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->efd < 0)
        sy_panic("governance: eventfd failed");
    sy_queue_init(&w->done, 1024);
    pthread_mutex_init(&w->lock, NULL);
    if (sy_io_start(loop, &w->io, w->efd, SY_IO_READ, mailbox_cb, w) != SY_OK)
        sy_panic("governance: cannot watch the mailbox");
    if (g->redis)
        w->redis = sy_redis_conn_new(loop, &g->counters, g->redis_addr,
                                     g->cfg.counters_timeout_ms, g->cfg.reservation_ttl_ms);
    pthread_mutex_lock(&g->jobs_lock);
    w->next = g->workers;
    g->workers = w;
    pthread_mutex_unlock(&g->jobs_lock);
    tl_worker = w;
}

void sy_gov_worker_fini(void)
{
    gov_worker_t *w = tl_worker;
    if (w == NULL)
        return;
    tl_worker = NULL;
    sy_redis_conn_free(w->redis);
    w->redis = NULL;
    sy_io_stop(&w->io);
    pthread_mutex_lock(&w->lock);
    w->closed = true;
    sy_gov_job_t *job;
    while ((job = sy_queue_pop(&w->done)) != NULL) {
        if (job->free_arg)
            job->free_arg(job->arg);
        sy_buf_free(&job->body);
        free(job);
    }
    pthread_mutex_unlock(&w->lock);
}

/* ---- start and stop ---- */

static int resolve(const sy_config_counters_t *c, char *out, size_t outsz, char *err, size_t errsz)
{
    char host[256];
    snprintf(host, sizeof(host), "%.*s", SY_STR_FMT(c->host));
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || res == NULL) {
        snprintf(err, errsz, "counters: cannot resolve %s: %s", host, gai_strerror(rc));
        return SY_ERR;
    }
    void *a = res->ai_family == AF_INET ? (void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
                                        : (void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
    inet_ntop(res->ai_family, a, out, (socklen_t)outsz);
    freeaddrinfo(res);
    return SY_OK;
}

static sy_str_t heap_str(sy_str_t s)
{
    char *p = sy_malloc(s.len + 1);
    memcpy(p, s.p ? s.p : "", s.len);
    p[s.len] = '\0';
    return sy_str(p, s.len);
}

int sy_gov_start(const sy_config_t *c, char *err, size_t errsz)
{
    if (c->admin.master_key.len == 0)
        return SY_OK;
    if (atomic_load(&sy_gov_g)) {
        snprintf(err, errsz, "governance is already running");
        return SY_ERR;
    }
    gov_t *g = sy_calloc(1, sizeof(*g));
    g->cfg = c->governance;
    g->counters = c->counters;
    g->counters.url = SY_STR("");
    g->counters.host = heap_str(c->counters.host);
    g->counters.password = heap_str(c->counters.password);
    g->redis = c->counters.kind == SY_CONFIG_COUNTERS_REDIS;
    if (g->redis && resolve(&c->counters, g->redis_addr, sizeof(g->redis_addr), err, errsz) != SY_OK)
        goto fail;
    char dbpath[4096];
    if (sy_config_resolve_path(c, c->store.path, dbpath, sizeof(dbpath)) != SY_OK) {
        snprintf(err, errsz, "governance: the store path is too long");
        goto fail;
    }
    g->db = sy_gdb_open(&c->store, dbpath, err, errsz);
    if (g->db == NULL)
        goto fail;
    g->capacity = (size_t)c->governance.spend_queue_capacity;
    sy_queue_init(&g->q, g->capacity);
    pthread_mutex_init(&g->jobs_lock, NULL);
    rows_t *rows = sy_calloc(1, sizeof(*rows));
    for (int t = 0; t < 3; t++)
        sy_map_init(&rows->map[t]);
    g->rows = rows;
    if (sync_store(g, true) != SY_OK) {
        snprintf(err, errsz, "governance: cannot load keys and teams from the store");
        sy_queue_free(&g->q);
        rows_free(rows);
        sy_gdb_close(g->db);
        goto fail;
    }
    g->next_sync_ns = sy_now_ns() + g->cfg.sync_interval_ms * 1000000ull;
    sy_gov_dir_t *d = sy_gov_dir_acquire();
    sy_info("governance on",
            "\"store\":\"%s\",\"counters\":\"%s\",\"orgs\":%zu,\"teams\":%zu,\"keys\":%zu,"
            "\"sync_interval_ms\":%llu",
            g->db->vt->name, g->redis ? "redis" : "local", d ? d->norgs : 0, d ? d->nteams : 0,
            d ? d->nkeys : 0, (unsigned long long)g->cfg.sync_interval_ms);
    sy_gov_dir_unref(d);
    sy_writer_opts_t wo = {
        .batch_max = 1000,
        .linger_ms = c->governance.spend_flush_interval_ms,
        .tick_ms = c->governance.sync_interval_ms,
        .retry_ms = 500,
    };
    sy_writer_sink_t sink = {sink_write, sink_tick, g};
    atomic_store(&sy_gov_g, g);
    g->writer = sy_writer_start(&g->q, &wo, &sink);
    return SY_OK;
fail:
    free((void *)g->counters.host.p);
    free((void *)g->counters.password.p);
    free(g);
    return SY_ERR;
}

void sy_gov_stop(void)
{
    gov_t *g = atomic_load(&sy_gov_g);
    if (g == NULL)
        return;
    sy_writer_stop(g->writer);
    atomic_store(&sy_gov_g, NULL);
    sy_gov_dir_publish(NULL);
    pthread_mutex_lock(&g->jobs_lock);
    for (size_t i = 0; i < g->njobs; i++) {
        sy_gov_job_t *job = g->jobs[i];
        if (job->free_arg)
            job->free_arg(job->arg);
        sy_buf_free(&job->body);
        free(job);
    }
    free(g->jobs);
    gov_worker_t *w = g->workers;
    while (w) {
        gov_worker_t *next = w->next;
        if (w->efd >= 0)
            close(w->efd);
        sy_queue_free(&w->done);
        pthread_mutex_destroy(&w->lock);
        free(w);
        w = next;
    }
    pthread_mutex_unlock(&g->jobs_lock);
    sy_gdb_close(g->db);
    sy_queue_free(&g->q);
    rows_free(g->rows);
    free((void *)g->counters.host.p);
    free((void *)g->counters.password.p);
    free(g);
}

/* ---- metrics ---- */

const char *sy_gov_counters_state(void)
{
    gov_t *g = atomic_load(&sy_gov_g);
    if (g == NULL || !g->redis)
        return "local";
    gov_worker_t *w = tl_worker;
    return w && sy_redis_conn_up(w->redis) ? "redis up" : "redis down";
}

void sy_gov_metrics_render(sy_buf_t *out)
{
    gov_t *g = atomic_load(&sy_gov_g);
    if (g == NULL)
        return;
    static const char *const auth_reasons[6] = {"missing", "invalid",  "revoked",
                                                "expired", "disabled", "team_gone"};
    sy_buf_append_c(out, "# HELP switchyard_auth_failures_total Requests refused at "
                         "authentication, by reason.\n# TYPE switchyard_auth_failures_total "
                         "counter\n");
    for (int i = 0; i < 6; i++)
        sy_buf_printf(out, "switchyard_auth_failures_total{reason=\"%s\"} %llu\n", auth_reasons[i],
                      (unsigned long long)atomic_load(&sy_gov_stats.auth_fail[i]));
    static const char *const refusals[] = {"",          "auth",       "forbidden", "model",
                                           "bad_request", "rate_limit", "too_large", "budget",
                                           "unavailable"};
    sy_buf_append_c(out, "# HELP switchyard_governance_refusals_total Requests refused by "
                         "governance, by kind.\n# TYPE switchyard_governance_refusals_total "
                         "counter\n");
    for (int i = SY_GOV_REFUSE_FORBIDDEN; i <= SY_GOV_REFUSE_UNAVAILABLE; i++)
        sy_buf_printf(out, "switchyard_governance_refusals_total{kind=\"%s\"} %llu\n", refusals[i],
                      (unsigned long long)atomic_load(&sy_gov_stats.refused[i]));
    sy_gov_dir_t *d = sy_gov_dir_acquire();
    sy_buf_printf(out,
                  "# HELP switchyard_governance_principals Principals in the directory.\n"
                  "# TYPE switchyard_governance_principals gauge\n"
                  "switchyard_governance_principals{kind=\"org\"} %zu\n"
                  "switchyard_governance_principals{kind=\"team\"} %zu\n"
                  "switchyard_governance_principals{kind=\"key\"} %zu\n"
                  "# HELP switchyard_governance_generation The store generation the directory "
                  "reflects.\n# TYPE switchyard_governance_generation gauge\n"
                  "switchyard_governance_generation %llu\n",
                  d ? d->norgs : 0, d ? d->nteams : 0, d ? d->nkeys : 0,
                  (unsigned long long)(d ? d->generation : 0));
    sy_gov_dir_unref(d);
    sy_buf_printf(
        out,
        "# HELP switchyard_spend_rows_total Rows written to the spend ledger.\n"
        "# TYPE switchyard_spend_rows_total counter\nswitchyard_spend_rows_total %llu\n"
        "# HELP switchyard_governance_store_errors_total Failed store operations (retried).\n"
        "# TYPE switchyard_governance_store_errors_total counter\n"
        "switchyard_governance_store_errors_total %llu\n"
        "# HELP switchyard_governance_syncs_total Polls of the store for changes.\n"
        "# TYPE switchyard_governance_syncs_total counter\nswitchyard_governance_syncs_total %llu\n"
        "# HELP switchyard_counters_unavailable_total Reservations the shared counters could not "
        "answer.\n# TYPE switchyard_counters_unavailable_total counter\n"
        "switchyard_counters_unavailable_total %llu\n"
        "# HELP switchyard_counters_fail_open_total Requests served on this instance's own "
        "counters while the shared ones were unavailable.\n"
        "# TYPE switchyard_counters_fail_open_total counter\n"
        "switchyard_counters_fail_open_total %llu\n"
        "# HELP switchyard_spend_queue_places Places taken in the spend queue.\n"
        "# TYPE switchyard_spend_queue_places gauge\nswitchyard_spend_queue_places %zu\n",
        (unsigned long long)atomic_load(&sy_gov_stats.spend_rows),
        (unsigned long long)atomic_load(&sy_gov_stats.store_errors),
        (unsigned long long)atomic_load(&sy_gov_stats.syncs),
        (unsigned long long)atomic_load(&sy_gov_stats.counters_unavailable),
        (unsigned long long)atomic_load(&sy_gov_stats.counters_fail_open),
        atomic_load(&g->reserved));
}
