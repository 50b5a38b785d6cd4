/*
 * record.c - the request log behind GET /_sim/requests and POST /_sim/reset.
 *
 * Tests ask the simulator what the gateway actually sent. Every worker
 * appends here, so the ring is behind one mutex; the lock is held only to
 * swap a pointer (the entry is built before, the evicted one freed after).
 * Secrets never enter the log: header values and query parameters that
 * carry credentials are masked while they are copied.
 */
#include <stdlib.h>
#include <string.h>

#include "core/time.h"
#include "sim/internal.h"

typedef struct {
    uint32_t off, len;
} span_t;

typedef struct {
    uint64_t seq;
    uint64_t wall_ms;
    int worker;
    bool body_cut;
    span_t method, path, query, body;
    uint32_t nh;
    span_t *h; /* 2 * nh spans: name, value */
    char *data;
} rec_t;

struct sy_sim_log {
    pthread_mutex_t mu;
    uint32_t cap;
    uint64_t total; /* recorded since start or the last reset */
    rec_t **ring;
};

sy_sim_log_t *sy_sim_log_new(uint32_t cap)
{
    sy_sim_log_t *l = sy_calloc(1, sizeof(*l));
    pthread_mutex_init(&l->mu, NULL);
    l->cap = cap ? cap : 1;
    l->ring = sy_calloc(l->cap, sizeof(rec_t *));
    return l;
}

static void clear_ring(rec_t **ring, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        free(ring[i]);
        ring[i] = NULL;
    }
}

void sy_sim_log_free(sy_sim_log_t *l)
{
    if (l == NULL)
        return;
    clear_ring(l->ring, l->cap);
    free(l->ring);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* ---------------------------------------------------------------- masking --- */

void sy_sim_mask_secret(sy_str_t s, sy_buf_t *out)
{
    sy_buf_append_c(out, "****");
    if (s.len >= 12)
        sy_buf_append(out, s.p + s.len - 4, 4);
}

static bool secret_header(sy_str_t name)
{
    static const char *const names[] = {"authorization", "proxy-authorization", "x-api-key",
                                        "api-key", "x-goog-api-key", "x-amz-security-token",
                                        "cookie"};
    for (size_t i = 0; i < SY_ARRAY_LEN(names); i++)
        if (sy_str_ieq_c(name, names[i]))
            return true;
    return false;
}

/* AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request,
 * SignedHeaders=..., Signature=hex: keep the scope and the signed header
 * list (useful when a signature fails), mask the key id and signature. */
static void mask_sigv4(sy_str_t v, sy_buf_t *out)
{
    size_t i = 0;
    while (i < v.len) {
        size_t j = i;
        while (j < v.len && v.p[j] != ',' && v.p[j] != ' ')
            j++;
        sy_str_t part = sy_str(v.p + i, j - i);
        if (sy_str_starts_with(part, SY_STR("Credential="))) {
            sy_buf_append_c(out, "Credential=");
            sy_str_t cred = sy_str_sub(part, 11, part.len);
            ptrdiff_t slash = sy_str_find_char(cred, '/');
            sy_sim_mask_secret(slash < 0 ? cred : sy_str_sub(cred, 0, (size_t)slash), out);
            if (slash >= 0)
                sy_buf_append(out, cred.p + slash, cred.len - (size_t)slash);
        } else if (sy_str_starts_with(part, SY_STR("Signature="))) {
            sy_buf_append_c(out, "Signature=****");
        } else {
            sy_buf_append_str(out, part);
        }
        if (j < v.len)
            sy_buf_append(out, v.p + j, 1);
        i = j + 1;
    }
}

void sy_sim_mask_header(sy_str_t name, sy_str_t value, sy_buf_t *out)
{
    if (!secret_header(name)) {
        sy_buf_append_str(out, value);
        return;
    }
    if (sy_str_ieq_c(name, "authorization") || sy_str_ieq_c(name, "proxy-authorization")) {
        if (sy_str_starts_with(value, SY_STR("AWS4-"))) {
            mask_sigv4(value, out);
            return;
        }
        ptrdiff_t sp = sy_str_find_char(value, ' ');
        if (sp > 0) {
            sy_buf_append(out, value.p, (size_t)sp + 1);
            sy_sim_mask_secret(sy_str_trim(sy_str_sub(value, (size_t)sp + 1, value.len)), out);
            return;
        }
    }
    sy_sim_mask_secret(value, out);
}

static bool secret_param(sy_str_t k)
{
    static const char *const names[] = {"key", "api-key", "api_key", "x-amz-signature",
                                        "x-amz-credential", "x-amz-security-token", "sig"};
    for (size_t i = 0; i < SY_ARRAY_LEN(names); i++)
        if (sy_str_ieq_c(k, names[i]))
            return true;
    return false;
}

void sy_sim_mask_query(sy_str_t q, sy_buf_t *out)
{
    size_t i = 0;
    while (i <= q.len && q.len) {
        size_t j = i;
        while (j < q.len && q.p[j] != '&')
            j++;
        sy_str_t kv = sy_str(q.p + i, j - i);
        ptrdiff_t eq = sy_str_find_char(kv, '=');
        if (eq >= 0 && secret_param(sy_str_sub(kv, 0, (size_t)eq))) {
            sy_buf_append(out, kv.p, (size_t)eq + 1);
            sy_sim_mask_secret(sy_str_sub(kv, (size_t)eq + 1, kv.len), out);
        } else {
            sy_buf_append_str(out, kv);
        }
        if (j < q.len)
            sy_buf_append(out, "&", 1);
        i = j + 1;
        if (j >= q.len)
            break;
    }
}

/* -------------------------------------------------------------- recording --- */

static span_t put(sy_buf_t *b, size_t from)
{
    return (span_t){(uint32_t)from, (uint32_t)(b->len - from)};
}

void sy_sim_log_record(sy_sim_log_t *l, const sy_http_req_t *req, int worker, sy_buf_t *tmp)
{
    const sy_http_request_t *h = &req->head;
    sy_buf_clear(tmp);
    span_t *spans = sy_calloc(2 * (h->nheaders ? h->nheaders : 1), sizeof(span_t));
    rec_t r;
    memset(&r, 0, sizeof(r));
    r.wall_ms = sy_wall_ms();
    r.worker = worker;
    size_t at = tmp->len;
    sy_buf_append_str(tmp, h->method);
    r.method = put(tmp, at);
    at = tmp->len;
    sy_buf_append_str(tmp, h->path);
    r.path = put(tmp, at);
    at = tmp->len;
    sy_sim_mask_query(h->query, tmp);
    r.query = put(tmp, at);
    for (size_t i = 0; i < h->nheaders; i++) {
        at = tmp->len;
        sy_buf_append_str(tmp, h->headers[i].name);
        spans[2 * i] = put(tmp, at);
        at = tmp->len;
        sy_sim_mask_header(h->headers[i].name, h->headers[i].value, tmp);
        spans[2 * i + 1] = put(tmp, at);
    }
    r.nh = (uint32_t)h->nheaders;
    size_t blen = SY_MIN(req->body.len, (size_t)SY_SIM_MAX_RECORD_BODY);
    r.body_cut = blen < req->body.len;
    at = tmp->len;
    sy_buf_append(tmp, req->body.p, blen);
    r.body = put(tmp, at);

    /* One block: the record, its spans, its bytes. */
    size_t sz = sizeof(rec_t) + 2 * r.nh * sizeof(span_t) + tmp->len + 1;
    rec_t *e = sy_malloc(sz);
    *e = r;
    e->h = (span_t *)(e + 1);
    memcpy(e->h, spans, 2 * r.nh * sizeof(span_t));
    e->data = (char *)(e->h + 2 * r.nh);
    if (tmp->len)
        memcpy(e->data, sy_buf_ptr(tmp), tmp->len);
    e->data[tmp->len] = '\0';
    free(spans);
    sy_buf_clear(tmp);

    pthread_mutex_lock(&l->mu);
    e->seq = l->total;
    rec_t **slot = &l->ring[l->total % l->cap];
    rec_t *old = *slot;
    *slot = e;
    l->total++;
    pthread_mutex_unlock(&l->mu);
    free(old);
}

void sy_sim_log_reset(sy_sim_log_t *l)
{
    rec_t **old = sy_calloc(l->cap, sizeof(rec_t *));
    pthread_mutex_lock(&l->mu);
    rec_t **ring = l->ring;
    l->ring = old;
    l->total = 0;
    pthread_mutex_unlock(&l->mu);
    clear_ring(ring, l->cap);
    free(ring);
}

static sy_str_t sp(const rec_t *e, span_t s) { return sy_str(e->data + s.off, s.len); }

void sy_sim_log_dump(sy_sim_log_t *l, sy_buf_t *out, sy_arena_t *a)
{
    sy_json_writer_t w;
    sy_json_writer_init(&w, out, 0);
    sy_json_write_begin_object(&w);
    pthread_mutex_lock(&l->mu);
    uint64_t total = l->total;
    uint64_t first = total > l->cap ? total - l->cap : 0;
    sy_json_write_key_lit(&w, "total");
    sy_json_write_u64(&w, total);
    sy_json_write_key_lit(&w, "requests");
    sy_json_write_begin_array(&w);
    for (uint64_t i = first; i < total; i++) {
        const rec_t *e = l->ring[i % l->cap];
        if (e == NULL)
            continue;
        sy_json_write_begin_object(&w);
        sy_json_write_key_lit(&w, "seq");
        sy_json_write_u64(&w, e->seq);
        sy_json_write_key_lit(&w, "time_ms");
        sy_json_write_u64(&w, e->wall_ms);
        sy_json_write_key_lit(&w, "worker");
        sy_json_write_i64(&w, e->worker);
        sy_json_write_key_lit(&w, "method");
        sy_json_write_string(&w, sp(e, e->method));
        sy_json_write_key_lit(&w, "path");
        sy_json_write_string(&w, sp(e, e->path));
        sy_json_write_key_lit(&w, "query");
        sy_json_write_string(&w, sp(e, e->query));
        sy_json_write_key_lit(&w, "headers");
        sy_json_write_begin_object(&w);
        for (uint32_t k = 0; k < e->nh; k++) {
            /* Names lower-cased, as HTTP/2 and most client libraries show them. */
            sy_str_t n = sp(e, e->h[2 * k]);
            char *low = sy_arena_memdup(a, n.p, n.len);
            for (size_t c = 0; c < n.len; c++)
                if (low[c] >= 'A' && low[c] <= 'Z')
                    low[c] = (char)(low[c] + 32);
            sy_json_write_key(&w, sy_str(low, n.len));
            sy_json_write_string(&w, sp(e, e->h[2 * k + 1]));
        }
        sy_json_write_end_object(&w);
        sy_json_write_key_lit(&w, "body");
        sy_str_t body = sp(e, e->body);
        sy_json_t *tree = NULL;
        if (body.len == 0)
            sy_json_write_null(&w);
        else if (!e->body_cut && sy_json_parse(a, body.p, body.len, NULL, &tree, NULL) == SY_OK)
            sy_json_write_value(&w, tree);
        else
            sy_json_write_string(&w, body);
        sy_json_write_end_object(&w);
    }
    pthread_mutex_unlock(&l->mu);
    sy_json_write_end_array(&w);
    sy_json_write_end_object(&w);
    sy_json_write_finish(&w);
}
