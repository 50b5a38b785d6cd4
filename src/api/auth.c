/*
 * auth.c - static key authentication.
 */
#include "api/auth.h"

#include <openssl/crypto.h>

sy_str_t sy_auth_presented_key(const sy_http_req_t *req)
{
    const sy_http_header_t *h =
        sy_http_header_find(req->head.headers, req->head.nheaders, "authorization");
    if (h) {
        sy_str_t v = sy_str_trim(h->value);
        if (v.len > 7 && sy_str_ieq(sy_str_sub(v, 0, 7), SY_STR("Bearer ")))
            return sy_str_trim(sy_str_sub(v, 7, v.len));
    }
    h = sy_http_header_find(req->head.headers, req->head.nheaders, "x-api-key");
    if (h)
        return sy_str_trim(h->value);
    return SY_STR("");
}

sy_auth_result_t sy_auth_check(const sy_config_t *c, const sy_http_req_t *req, size_t *key_index)
{
    sy_str_t k = sy_auth_presented_key(req);
    if (k.len == 0)
        return SY_AUTH_MISSING;
    /* Every configured key is compared, in constant time per key, so the
     * time taken does not depend on which key (if any) matched. */
    size_t found = (size_t)-1;
    for (size_t i = 0; i < c->keys.n; i++) {
        sy_str_t want = c->keys.items[i];
        bool eq = want.len == k.len && CRYPTO_memcmp(want.p, k.p, k.len) == 0;
        if (eq && found == (size_t)-1)
            found = i;
    }
    if (found == (size_t)-1)
        return SY_AUTH_INVALID;
    if (key_index)
        *key_index = found;
    return SY_AUTH_OK;
}
