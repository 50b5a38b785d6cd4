/*
 * counters_redis.c - reserve and settle against Redis from a worker's loop.
 *
 * hiredis's asynchronous context is driven by the worker's epoll loop
 * through its event hooks (addRead/delRead/addWrite/delWrite/cleanup), the
 * way hiredis's own adapters do for libevent or ae. Every command is
 * pipelined on the worker's one connection; replies arrive in order.
 */
#include "harness/counters_redis.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/time.h"

/* ---- the scripts ---- */

/* Pico-dollar amounts travel as (millions, units) pairs: every number the
 * script computes with stays far below 2^53, where Lua's doubles are exact. */
#define LUA_PAIRS                                                                                  \
    "local M = 1000000\n"                                                                          \
    "local function le(ah, al, bh, bl) return ah < bh or (ah == bh and al <= bl) end\n"            \
    "local function add(ah, al, bh, bl)\n"                                                         \
    "  local h, l = ah + bh, al + bl\n"                                                            \
    "  if l >= M then h, l = h + 1, l - M end\n"                                                   \
    "  return h, l\n"                                                                              \
    "end\n"                                                                                        \
    "local function sub(ah, al, bh, bl)\n"                                                         \
    "  local h, l = ah - bh, al - bl\n"                                                            \
    "  if l < 0 then h, l = h - 1, l + M end\n"                                                    \
    "  if h < 0 then return 0, 0 end\n"                                                            \
    "  return h, l\n"                                                                              \
    "end\n"                                                                                        \
    "local function pair(v)\n"                                                                     \
    "  local c = string.find(v, ':', 1, true)\n"                                                   \
    "  return tonumber(string.sub(v, 1, c - 1)), tonumber(string.sub(v, c + 1))\n"                \
    "end\n"

/*
 * reserve: KEYS per op (rate: its window; budget: its window and its
 * reservations' sorted set). ARGV: id, reservation ttl (s), n, then 8 per
 * op: kind ('r' | 'b'), limit (hi, lo), amount (hi, lo), window end (unix
 * s, 0 none), seed (hi, lo). Returns {0, 0, 0, now_ms, (at, used_hi,
 * used_lo) per op} or, refused, {1 | 2, op (1-based), retry_ms, now_ms,
 * used_hi, used_lo} (2: the amount exceeds the limit outright).
 */
static const char script_reserve[] =
    LUA_PAIRS
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1])\n"
    "local now_ms = now * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local id, ttl, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local ki, plan = 1, {}\n"
    "for i = 1, n do\n"
    "  local a = 3 + (i - 1) * 8\n"
    "  if ARGV[a + 1] == 'r' then\n"
    "    local key = KEYS[ki]; ki = ki + 1\n"
    "    local lim, amt = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 5])\n"
    "    local h = redis.call('HGETALL', key)\n"
    "    local used, secs = 0, {}\n"
    "    for j = 1, #h, 2 do\n"
    "      local s, v = tonumber(h[j]), tonumber(h[j + 1])\n"
    "      if now - s > 60 then redis.call('HDEL', key, h[j])\n"
    "      else used = used + v; secs[#secs + 1] = {s, v} end\n"
    "    end\n"
    "    if amt > lim then return {2, i, 0, now_ms, 0, used} end\n"
    "    if used + amt > lim then\n"
    "      table.sort(secs, function(x, y) return x[1] < y[1] end)\n"
    "      local need, acc, retry = used + amt - lim, 0, 1000 - now_ms % 1000\n"
    "      for _, e in ipairs(secs) do\n"
    "        acc = acc + e[2]\n"
    "        if acc >= need then retry = (e[1] + 61) * 1000 - now_ms; break end\n"
    "      end\n"
    "      return {1, i, retry, now_ms, 0, used}\n"
    "    end\n"
    "    plan[i] = {key, amt, used}\n"
    "  else\n"
    "    local key, ekey = KEYS[ki], KEYS[ki + 1]; ki = ki + 2\n"
    "    local lh, ll = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])\n"
    "    local ah, al = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])\n"
    "    local wend = tonumber(ARGV[a + 6])\n"
    "    if redis.call('EXISTS', key) == 0 then\n"
    "      redis.call('HSET', key, 'sh', ARGV[a + 7], 'sl', ARGV[a + 8], 'rh', 0, 'rl', 0)\n"
    "      if wend > 0 then redis.call('EXPIREAT', key, wend + 86400) end\n"
    "    end\n"
    "    local stale = redis.call('ZRANGEBYSCORE', ekey, '-inf', now)\n"
    "    if #stale > 0 then\n"
    "      local f = redis.call('HMGET', key, 'rh', 'rl')\n"
    "      local rh, rl = tonumber(f[1]), tonumber(f[2])\n"
    "      for _, sid in ipairs(stale) do\n"
    "        local v = redis.call('HGET', key, 'x:' .. sid)\n"
    "        if v then\n"
    "          local vh, vl = pair(v)\n"
    "          rh, rl = sub(rh, rl, vh, vl)\n"
    "          redis.call('HDEL', key, 'x:' .. sid)\n"
    "        end\n"
    "      end\n"
    "      redis.call('HSET', key, 'rh', rh, 'rl', rl)\n"
    "      redis.call('ZREMRANGEBYSCORE', ekey, '-inf', now)\n"
    "    end\n"
    "    local v = redis.call('HMGET', key, 'sh', 'sl', 'rh', 'rl')\n"
    "    local uh, ul = add(tonumber(v[1]), tonumber(v[2]), tonumber(v[3]), tonumber(v[4]))\n"
    "    if not le(ah, al, lh, ll) then return {2, i, 0, now_ms, uh, ul} end\n"
    "    local th, tl = add(uh, ul, ah, al)\n"
    "    if not le(th, tl, lh, ll) then\n"
    "      local retry = 0\n"
    "      if wend > 0 then retry = wend * 1000 - now_ms end\n"
    "      return {1, i, retry, now_ms, uh, ul}\n"
    "    end\n"
    "    plan[i] = {key, ekey, ah, al, th, tl, wend}\n"
    "  end\n"
    "end\n"
    "local out = {0, 0, 0, now_ms}\n"
    "for i = 1, n do\n"
    "  local p = plan[i]\n"
    "  if #p == 3 then\n"
    "    redis.call('HINCRBY', p[1], now, p[2])\n"
    "    redis.call('PEXPIRE', p[1], 62000)\n"
    "    out[#out + 1] = now; out[#out + 1] = 0; out[#out + 1] = p[3] + p[2]\n"
    "  else\n"
    "    local f = redis.call('HMGET', p[1], 'rh', 'rl')\n"
    "    local rh, rl = add(tonumber(f[1]), tonumber(f[2]), p[3], p[4])\n"
    "    redis.call('HSET', p[1], 'rh', rh, 'rl', rl, 'x:' .. id, p[3] .. ':' .. p[4])\n"
    "    redis.call('ZADD', p[2], now + ttl, id)\n"
    "    if p[7] > 0 then redis.call('EXPIREAT', p[2], p[7] + 86400) end\n"
    "    out[#out + 1] = 0; out[#out + 1] = p[5]; out[#out + 1] = p[6]\n"
    "  end\n"
    "end\n"
    "return out\n";

/*
 * settle: KEYS as for reserve (taken ops only). ARGV: id, n, then 6 per op:
 * kind, at (rate: the second), reserved (hi, lo), used (hi, lo). A rate op
 * still in the window gets its second's amount corrected; a budget op's
 * reservation (if still open) is closed and the used amount added to what
 * was settled. A window the server no longer has is left alone: the ledger
 * has the spend, and seeds the window if it is needed again.
 */
static const char script_settle[] =
    LUA_PAIRS
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1])\n"
    "local id, n = ARGV[1], tonumber(ARGV[2])\n"
    "local ki = 1\n"
    "for i = 1, n do\n"
    "  local a = 2 + (i - 1) * 6\n"
    "  if ARGV[a + 1] == 'r' then\n"
    "    local key = KEYS[ki]; ki = ki + 1\n"
    "    local at = tonumber(ARGV[a + 2])\n"
    "    local d = tonumber(ARGV[a + 6]) - tonumber(ARGV[a + 4])\n"
    "    if d ~= 0 and now - at <= 60 and redis.call('HEXISTS', key, ARGV[a + 2]) == 1 then\n"
    "      if redis.call('HINCRBY', key, ARGV[a + 2], d) <= 0 then\n"
    "        redis.call('HDEL', key, ARGV[a + 2])\n"
    "      end\n"
    "    end\n"
    "  else\n"
    "    local key, ekey = KEYS[ki], KEYS[ki + 1]; ki = ki + 2\n"
    "    if redis.call('EXISTS', key) == 1 then\n"
    "      local f = redis.call('HMGET', key, 'sh', 'sl', 'rh', 'rl')\n"
    "      local sh, sl = add(tonumber(f[1]), tonumber(f[2]), tonumber(ARGV[a + 5]),\n"
    "                         tonumber(ARGV[a + 6]))\n"
    "      local rh, rl = tonumber(f[3]), tonumber(f[4])\n"
    "      local v = redis.call('HGET', key, 'x:' .. id)\n"
    "      if v then\n"
    "        local vh, vl = pair(v)\n"
    "        rh, rl = sub(rh, rl, vh, vl)\n"
    "        redis.call('HDEL', key, 'x:' .. id)\n"
    "        redis.call('ZREM', ekey, id)\n"
    "      end\n"
    "      redis.call('HSET', key, 'sh', sh, 'sl', sl, 'rh', rh, 'rl', rl)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return 1\n";

static const char *const scripts[2] = {script_reserve, script_settle};

const char *sy_redis_script_text(int which)
{
    return scripts[which ? 1 : 0];
}

#define MILLION 1000000ull

/* ---- the connection ---- */

struct sy_redis_conn {
    sy_loop_t *loop;
    redisAsyncContext *ac;
    sy_io_t io;
    uint32_t mask;
    bool io_on;
    sy_timer_t retry_timer;
    uint64_t backoff_ms;
    bool up;
    bool freeing;
    char addr[64];
    int port;
    char password[256];
    uint64_t db;
    uint64_t timeout_ms, ttl_s;
    char sha[2][41];
    uint64_t down_logged_ms;
};

struct sy_redis_op {
    sy_redis_conn_t *rc;
    sy_ctr_batch_t b;   /* our copy: the request may go away before the reply */
    sy_ctr_batch_t *dst;
    sy_redis_done_cb cb;
    void *ctx;
    sy_timer_t timer;
    bool detached; /* cancelled or timed out: no callback, release what it took */
};

static void connect_now(sy_redis_conn_t *rc);

static void io_update(sy_redis_conn_t *rc)
{
    if (rc->ac == NULL)
        return;
    if (!rc->io_on) {
        if (rc->mask == 0)
            return;
        if (sy_io_start(rc->loop, &rc->io, rc->ac->c.fd, rc->mask, rc->io.cb, rc) == SY_OK)
            rc->io_on = true;
        return;
    }
    sy_io_set(&rc->io, rc->mask);
}

static void ev_add_read(void *d)
{
    sy_redis_conn_t *rc = d;
    rc->mask |= SY_IO_READ;
    io_update(rc);
}

static void ev_del_read(void *d)
{
    sy_redis_conn_t *rc = d;
    rc->mask &= ~(uint32_t)SY_IO_READ;
    io_update(rc);
}

static void ev_add_write(void *d)
{
    sy_redis_conn_t *rc = d;
    rc->mask |= SY_IO_WRITE;
    io_update(rc);
}

static void ev_del_write(void *d)
{
    sy_redis_conn_t *rc = d;
    rc->mask &= ~(uint32_t)SY_IO_WRITE;
    io_update(rc);
}

static void ev_cleanup(void *d)
{
    sy_redis_conn_t *rc = d;
    if (rc->io_on)
        sy_io_stop(&rc->io);
    rc->io_on = false;
    rc->mask = 0;
}

static void io_cb(sy_io_t *io, uint32_t events)
{
    sy_redis_conn_t *rc = io->data;
    if (rc->ac && (events & (SY_IO_READ | SY_IO_ERR)))
        redisAsyncHandleRead(rc->ac);
    if (rc->ac && (events & SY_IO_WRITE))
        redisAsyncHandleWrite(rc->ac);
}

static void schedule_retry(sy_redis_conn_t *rc)
{
    if (rc->freeing)
        return;
    rc->backoff_ms = rc->backoff_ms ? SY_MIN(rc->backoff_ms * 2, (uint64_t)5000) : 100;
    sy_timer_start(&rc->retry_timer, rc->backoff_ms);
}

static void log_down(sy_redis_conn_t *rc, const char *why)
{
    uint64_t now = sy_now_ms();
    if (rc->down_logged_ms && now - rc->down_logged_ms < 10000)
        return; /* once every 10 s per worker is enough */
    rc->down_logged_ms = now;
    char esc[300];
    sy_warn("counters: Redis is unreachable; retrying",
            "\"addr\":\"%s:%d\",\"error\":\"%s\"", rc->addr, rc->port,
            sy_log_esc(esc, sizeof(esc), why, strlen(why)));
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    sy_redis_conn_t *rc = ac->ev.data;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this returns */
        rc->ac = NULL;
        rc->up = false;
        log_down(rc, ac->errstr);
        schedule_retry(rc);
        return;
    }
    if (rc->backoff_ms)
        sy_info("counters: Redis connection restored", "\"addr\":\"%s:%d\"", rc->addr, rc->port);
    rc->up = true;
    rc->backoff_ms = 0;
    rc->down_logged_ms = 0;
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    sy_redis_conn_t *rc = ac->ev.data;
    rc->ac = NULL;
    rc->up = false;
    if (rc->freeing)
        return;
    if (status != REDIS_OK)
        log_down(rc, ac->errstr);
    schedule_retry(rc);
}

static void setup_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    SY_UNUSED(ac);
    redisReply *r = reply;
    const char *what = priv;
    if (r && r->type == REDIS_REPLY_ERROR) {
        char esc[300];
        /* The reply never echoes a password (AUTH answers WRONGPASS or the like). */
        sy_error("counters: Redis refused a setup command", "\"command\":\"%s\",\"error\":\"%s\"",
                 what, sy_log_esc(esc, sizeof(esc), r->str, r->len));
    }
}

static void send_setup(sy_redis_conn_t *rc)
{
    if (rc->password[0]) {
        const char *argv[] = {"AUTH", rc->password};
        redisAsyncCommandArgv(rc->ac, setup_reply, (void *)"AUTH", 2, argv, NULL);
    }
    if (rc->db) {
        char db[24];
        snprintf(db, sizeof(db), "%llu", (unsigned long long)rc->db);
        const char *argv[] = {"SELECT", db};
        redisAsyncCommandArgv(rc->ac, setup_reply, (void *)"SELECT", 2, argv, NULL);
    }
    for (int i = 0; i < 2; i++) {
        const char *argv[] = {"SCRIPT", "LOAD", scripts[i]};
        redisAsyncCommandArgv(rc->ac, setup_reply, (void *)"SCRIPT LOAD", 3, argv, NULL);
    }
}

static void connect_now(sy_redis_conn_t *rc)
{
    redisAsyncContext *ac = redisAsyncConnect(rc->addr, rc->port);
    if (ac == NULL || ac->err) {
        log_down(rc, ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        schedule_retry(rc);
        return;
    }
    rc->ac = ac;
    rc->mask = 0;
    rc->io_on = false;
    ac->ev.data = rc;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    /* The connect completes with the first write event: ask for it now
     * (hiredis's adapters do the same from their attach call). */
    ev_add_write(rc);
    send_setup(rc);
}

static void retry_cb(sy_timer_t *t)
{
    connect_now(t->data);
}

static void sha1_hex(const char *s, char out[41])
{
    unsigned char d[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)s, strlen(s), d);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

sy_redis_conn_t *sy_redis_conn_new(sy_loop_t *loop, const sy_config_counters_t *c, const char *addr,
                                   uint64_t timeout_ms, uint64_t reservation_ttl_ms)
{
    sy_redis_conn_t *rc = sy_calloc(1, sizeof(*rc));
    rc->loop = loop;
    snprintf(rc->addr, sizeof(rc->addr), "%s", addr);
    rc->port = c->port;
    snprintf(rc->password, sizeof(rc->password), "%.*s", SY_STR_FMT(c->password));
    rc->db = c->db;
    rc->timeout_ms = timeout_ms;
    rc->ttl_s = (reservation_ttl_ms + 999) / 1000;
    rc->io.cb = io_cb;
    for (int i = 0; i < 2; i++)
        sha1_hex(scripts[i], rc->sha[i]);
    sy_timer_init(&rc->retry_timer, loop, retry_cb, rc);
    connect_now(rc);
    return rc;
}

void sy_redis_conn_free(sy_redis_conn_t *rc)
{
    if (rc == NULL)
        return;
    rc->freeing = true;
    sy_timer_stop(&rc->retry_timer);
    if (rc->ac)
        redisAsyncFree(rc->ac); /* pending callbacks get NULL replies and free their ops */
    rc->ac = NULL;
    memset(rc->password, 0, sizeof(rc->password));
    free(rc);
}

bool sy_redis_conn_up(const sy_redis_conn_t *rc)
{
    return rc && rc->up && rc->ac;
}

/* ---- arguments ---- */

int sy_redis_key_name(const sy_ctr_op_t *o, char *out, size_t outsz)
{
    int n;
    if (o->kind == SY_CTR_BUDGET)
        n = snprintf(out, outsz, "sy:{%s}:b:%s:%llu", o->st->id.p, sy_window_names[o->window],
                     (unsigned long long)o->at);
    else
        n = snprintf(out, outsz, "sy:{%s}:%s", o->st->id.p, o->kind == SY_CTR_RPM ? "rpm" : "tpm");
    return n > 0 && (size_t)n < outsz ? n : -1;
}

/* A growing argv whose strings live in one buffer. */
typedef struct {
    const char *v[256];
    size_t len[256];
    int n;
    char buf[16384];
    size_t used;
    bool overflow;
} args_t;

static void arg(args_t *a, const char *s, size_t n)
{
    if (a->n >= 256 || a->used + n + 1 > sizeof(a->buf)) {
        a->overflow = true;
        return;
    }
    memcpy(a->buf + a->used, s, n);
    a->buf[a->used + n] = '\0';
    a->v[a->n] = a->buf + a->used;
    a->len[a->n] = n;
    a->n++;
    a->used += n + 1;
}

static void argf(args_t *a, const char *fmt, ...) SY_PRINTF(2, 3);
static void argf(args_t *a, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        a->overflow = true;
        return;
    }
    arg(a, tmp, (size_t)n);
}

static void arg_u64(args_t *a, uint64_t v) { argf(a, "%llu", (unsigned long long)v); }

/* Keys first (their count is numkeys), then ARGV: two passes over the ops. */
static int numkeys(const sy_ctr_batch_t *b, bool taken_only)
{
    int k = 0;
    for (size_t i = 0; i < b->n; i++)
        if (!taken_only || b->ops[i].taken)
            k += b->ops[i].kind == SY_CTR_BUDGET ? 2 : 1;
    return k;
}

static void add_keys(args_t *a, const sy_ctr_batch_t *b, bool taken_only)
{
    for (size_t i = 0; i < b->n; i++) {
        const sy_ctr_op_t *o = &b->ops[i];
        if (taken_only && !o->taken)
            continue;
        char key[200];
        int n = sy_redis_key_name(o, key, sizeof(key));
        if (n < 0) {
            a->overflow = true;
            return;
        }
        arg(a, key, (size_t)n);
        if (o->kind == SY_CTR_BUDGET)
            argf(a, "%s:e", key);
    }
}

/* ---- reserve ---- */

static uint64_t reply_u64(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_INTEGER && r->integer > 0 ? (uint64_t)r->integer : 0;
}

static void parse_reserve(sy_ctr_batch_t *b, const redisReply *r)
{
    b->local = false;
    b->failed = -1;
    b->retry_after_ms = 0;
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 4) {
        b->result = SY_CTR_UNAVAILABLE;
        return;
    }
    uint64_t status = reply_u64(r->element[0]);
    b->now_ms = reply_u64(r->element[3]);
    if (status != 0) {
        uint64_t i = reply_u64(r->element[1]);
        if (i < 1 || i > b->n || r->elements < 6) {
            b->result = SY_CTR_UNAVAILABLE;
            return;
        }
        b->result = status == 2 ? SY_CTR_TOO_LARGE : SY_CTR_REFUSED;
        b->failed = (int)(i - 1);
        b->retry_after_ms = reply_u64(r->element[2]);
        sy_ctr_op_t *o = &b->ops[i - 1];
        o->used = reply_u64(r->element[4]) * MILLION + reply_u64(r->element[5]);
        for (size_t k = 0; k < b->n; k++)
            b->ops[k].taken = false;
        return;
    }
    if (r->elements != 4 + 3 * b->n) {
        b->result = SY_CTR_UNAVAILABLE;
        return;
    }
    b->result = SY_CTR_OK;
    for (size_t i = 0; i < b->n; i++) {
        sy_ctr_op_t *o = &b->ops[i];
        o->taken = true;
        o->used = reply_u64(r->element[5 + 3 * i]) * MILLION + reply_u64(r->element[6 + 3 * i]);
        if (o->kind != SY_CTR_BUDGET) {
            o->at = reply_u64(r->element[4 + 3 * i]);
            o->used = reply_u64(r->element[6 + 3 * i]);
            uint64_t end = (o->at + SY_RATE_WINDOW_S + 1) * 1000;
            o->reset_ms = end > b->now_ms ? end - b->now_ms : 0;
        } else {
            uint64_t end = sy_window_end((sy_window_t)o->window, o->at);
            o->reset_ms = end == UINT64_MAX ? 0 : end * 1000 - b->now_ms;
        }
    }
}

static void release_taken(sy_redis_conn_t *rc, const sy_ctr_batch_t *b)
{
    uint64_t zero[SY_CTR_MAX_OPS] = {0};
    sy_redis_settle(rc, b, zero);
}

static void op_free(sy_redis_op_t *op)
{
    sy_timer_stop(&op->timer);
    free(op);
}

static void reserve_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    SY_UNUSED(ac);
    sy_redis_op_t *op = priv;
    redisReply *r = reply;
    sy_timer_stop(&op->timer);
    if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0 && op->rc->ac)
        send_setup(op->rc); /* flushed scripts: load them again for the next requests */
    parse_reserve(&op->b, r);
    if (op->detached) {
        if (op->b.result == SY_CTR_OK && !op->rc->freeing)
            release_taken(op->rc, &op->b);
        op_free(op);
        return;
    }
    *op->dst = op->b;
    sy_redis_done_cb cb = op->cb;
    void *ctx = op->ctx;
    sy_ctr_batch_t *dst = op->dst;
    op_free(op);
    cb(ctx, dst);
}

static void timeout_cb(sy_timer_t *t)
{
    sy_redis_op_t *op = t->data;
    if (op->detached)
        return;
    op->detached = true; /* the reply, if it comes, gives back what it took */
    sy_redis_conn_t *rc = op->rc;
    op->dst->result = SY_CTR_UNAVAILABLE;
    op->dst->failed = -1;
    op->cb(op->ctx, op->dst);
    /* A server this slow is treated as down: drop the connection (every
     * waiting reservation fails over) and reconnect with backoff. */
    if (rc->ac) {
        log_down(rc, "a reply took longer than governance.counters_timeout");
        redisAsyncDisconnect(rc->ac);
    }
}

sy_redis_op_t *sy_redis_reserve(sy_redis_conn_t *rc, sy_ctr_batch_t *b, uint64_t now_ms,
                                sy_redis_done_cb cb, void *ctx)
{
    if (!sy_redis_conn_up(rc)) {
        b->result = SY_CTR_UNAVAILABLE;
        b->failed = -1;
        cb(ctx, b);
        return NULL;
    }
    uint64_t sec = now_ms / 1000;
    for (size_t i = 0; i < b->n; i++)
        if (b->ops[i].kind == SY_CTR_BUDGET)
            b->ops[i].at = sy_window_index((sy_window_t)b->ops[i].window, sec);
    args_t *a = sy_malloc(sizeof(*a));
    a->n = 0;
    a->used = 0;
    a->overflow = false;
    arg(a, "EVALSHA", 7);
    arg(a, rc->sha[0], 40);
    arg_u64(a, (uint64_t)numkeys(b, false));
    add_keys(a, b, false);
    arg(a, b->id, strlen(b->id));
    arg_u64(a, rc->ttl_s);
    arg_u64(a, b->n);
    for (size_t i = 0; i < b->n; i++) {
        const sy_ctr_op_t *o = &b->ops[i];
        if (o->kind == SY_CTR_BUDGET) {
            sy_window_t w = (sy_window_t)o->window;
            uint64_t end = sy_window_end(w, o->at);
            uint64_t seed = atomic_load(&o->st->seed_idx[w]) == o->at ? atomic_load(&o->st->seed[w])
                                                                       : 0;
            arg(a, "b", 1);
            arg_u64(a, o->limit / MILLION);
            arg_u64(a, o->limit % MILLION);
            arg_u64(a, o->amount / MILLION);
            arg_u64(a, o->amount % MILLION);
            arg_u64(a, end == UINT64_MAX ? 0 : end);
            arg_u64(a, seed / MILLION);
            arg_u64(a, seed % MILLION);
        } else {
            arg(a, "r", 1);
            arg(a, "0", 1);
            arg_u64(a, o->limit);
            arg(a, "0", 1);
            arg_u64(a, o->amount);
            arg(a, "0", 1);
            arg(a, "0", 1);
            arg(a, "0", 1);
        }
    }
    if (a->overflow) {
        free(a);
        b->result = SY_CTR_UNAVAILABLE;
        b->failed = -1;
        cb(ctx, b);
        return NULL;
    }
    sy_redis_op_t *op = sy_calloc(1, sizeof(*op));
    op->rc = rc;
    op->b = *b;
    op->dst = b;
    op->cb = cb;
    op->ctx = ctx;
    sy_timer_init(&op->timer, rc->loop, timeout_cb, op);
    int rcmd = redisAsyncCommandArgv(rc->ac, reserve_reply, op, a->n, a->v, a->len);
    free(a);
    if (rcmd != REDIS_OK) {
        free(op);
        b->result = SY_CTR_UNAVAILABLE;
        b->failed = -1;
        cb(ctx, b);
        return NULL;
    }
    sy_timer_start(&op->timer, rc->timeout_ms);
    return op;
}

void sy_redis_cancel(sy_redis_op_t *op)
{
    if (op == NULL || op->detached)
        return;
    op->detached = true;
    sy_timer_stop(&op->timer);
}

void sy_redis_settle(sy_redis_conn_t *rc, const sy_ctr_batch_t *b, const uint64_t *used)
{
    int nk = numkeys(b, true);
    if (nk == 0 || !sy_redis_conn_up(rc))
        return; /* rate windows forget by themselves; budgets: see the header */
    args_t *a = sy_malloc(sizeof(*a));
    a->n = 0;
    a->used = 0;
    a->overflow = false;
    arg(a, "EVALSHA", 7);
    arg(a, rc->sha[1], 40);
    arg_u64(a, (uint64_t)nk);
    add_keys(a, b, true);
    arg(a, b->id, strlen(b->id));
    size_t taken = 0;
    for (size_t i = 0; i < b->n; i++)
        taken += b->ops[i].taken;
    arg_u64(a, taken);
    for (size_t i = 0; i < b->n; i++) {
        const sy_ctr_op_t *o = &b->ops[i];
        if (!o->taken)
            continue;
        if (o->kind == SY_CTR_BUDGET) {
            arg(a, "b", 1);
            arg_u64(a, o->at);
            arg_u64(a, o->amount / MILLION);
            arg_u64(a, o->amount % MILLION);
            arg_u64(a, used[i] / MILLION);
            arg_u64(a, used[i] % MILLION);
        } else {
            arg(a, "r", 1);
            arg_u64(a, o->at);
            arg(a, "0", 1);
            arg_u64(a, o->amount);
            arg(a, "0", 1);
            arg_u64(a, used[i]);
        }
    }
    if (!a->overflow)
        redisAsyncCommandArgv(rc->ac, NULL, NULL, a->n, a->v, a->len);
    free(a);
}
