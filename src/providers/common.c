/*
 * common.c - helpers every adapter uses.
 */
#include "providers/provider.h"

#include <string.h>
#include <time.h>

void sy_upstream_add_header(sy_arena_t *a, sy_upstream_req_t *r, const char *name, sy_str_t value)
{
    sy_upstream_add_header_ref(a, r, name, sy_str_dup(a, value));
}

void sy_upstream_add_header_ref(sy_arena_t *a, sy_upstream_req_t *r, const char *name,
                                sy_str_t value)
{
    sy_upstream_header_t *h = sy_arena_alloc(a, sizeof(*h));
    h->name = sy_str_c(name);
    h->value = value;
    h->next = NULL;
    sy_upstream_header_t **pp = &r->headers;
    while (*pp)
        pp = &(*pp)->next;
    *pp = h;
}

uint64_t sy_provider_retry_after_ms(const sy_http_header_t *headers, size_t n)
{
    /* retry-after-ms (OpenAI, Azure) is more precise than Retry-After. */
    const sy_http_header_t *ms = sy_http_header_find(headers, n, "retry-after-ms");
    uint64_t v;
    if (ms && sy_str_to_u64(ms->value, UINT32_MAX, &v) == SY_OK)
        return v;
    const sy_http_header_t *h = sy_http_header_find(headers, n, "retry-after");
    if (h == NULL)
        return 0;
    if (sy_str_to_u64(h->value, 86400, &v) == SY_OK)
        return v * 1000;
    /* HTTP-date form */
    char date[64];
    if (h->value.len >= sizeof(date))
        return 0;
    memcpy(date, h->value.p, h->value.len);
    date[h->value.len] = '\0';
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &tm) == NULL)
        return 0;
    time_t when = timegm(&tm), now = time(NULL);
    return when > now ? (uint64_t)(when - now) * 1000 : 0;
}

sy_ir_error_class_t sy_provider_status_class(int status)
{
    if (status == 400 || status == 422 || status == 413)
        return SY_IR_ERR_BAD_REQUEST;
    if (status == 401 || status == 403)
        return SY_IR_ERR_AUTH;
    if (status == 404)
        return SY_IR_ERR_NOT_FOUND;
    if (status == 408)
        return SY_IR_ERR_TIMEOUT;
    if (status == 429)
        return SY_IR_ERR_RATE_LIMITED;
    if (status == 529 || status == 503)
        return SY_IR_ERR_OVERLOADED;
    if (status >= 500)
        return SY_IR_ERR_SERVER;
    if (status >= 400)
        return SY_IR_ERR_BAD_REQUEST;
    return SY_IR_ERR_BAD_RESPONSE;
}
