/*
 * origin.c - base URL parsing and pool keys for upstream origins.
 */
#include "http/origin.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

bool sy_http_is_ip_literal(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static bool host_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_';
}

int sy_http_url_parse(sy_str_t url, sy_http_url_t *out, const char **err)
{
    memset(out, 0, sizeof(*out));
    sy_str_t rest;
    if (sy_str_starts_with(url, SY_STR("https://"))) {
        out->tls = true;
        out->port = 443;
        rest = sy_str_sub(url, 8, url.len);
    } else if (sy_str_starts_with(url, SY_STR("http://"))) {
        out->port = 80;
        rest = sy_str_sub(url, 7, url.len);
    } else {
        *err = "URL scheme must be http:// or https://";
        return SY_EINVAL;
    }
    /* authority ends at the first '/'; '?' and '#' are not allowed anywhere */
    if (sy_str_find_char(rest, '?') >= 0 || sy_str_find_char(rest, '#') >= 0) {
        *err = "URL must not have a query or fragment";
        return SY_EINVAL;
    }
    ptrdiff_t slash = sy_str_find_char(rest, '/');
    sy_str_t auth = slash < 0 ? rest : sy_str_sub(rest, 0, (size_t)slash);
    out->path = slash < 0 ? sy_str(rest.p + rest.len, 0) : sy_str_sub(rest, (size_t)slash, rest.len);
    if (sy_str_find_char(auth, '@') >= 0) {
        *err = "URL must not contain user info";
        return SY_EINVAL;
    }
    sy_str_t portstr = SY_STR_NULL;
    if (auth.len && auth.p[0] == '[') {
        ptrdiff_t close = sy_str_find_char(auth, ']');
        if (close < 0) {
            *err = "URL has an unterminated IPv6 literal";
            return SY_EINVAL;
        }
        out->host = sy_str_sub(auth, 1, (size_t)close - 1);
        sy_str_t after = sy_str_sub(auth, (size_t)close + 1, auth.len);
        if (after.len) {
            if (after.p[0] != ':') {
                *err = "URL has junk after the IPv6 literal";
                return SY_EINVAL;
            }
            portstr = sy_str_sub(after, 1, after.len);
            out->port_given = true;
        }
        char tmp[64];
        if (out->host.len == 0 || out->host.len >= sizeof(tmp)) {
            *err = "URL has an invalid IPv6 literal";
            return SY_EINVAL;
        }
        memcpy(tmp, out->host.p, out->host.len);
        tmp[out->host.len] = 0;
        unsigned char a6[16];
        if (inet_pton(AF_INET6, tmp, a6) != 1) {
            *err = "URL has an invalid IPv6 literal";
            return SY_EINVAL;
        }
    } else {
        ptrdiff_t colon = sy_str_find_char(auth, ':');
        out->host = colon < 0 ? auth : sy_str_sub(auth, 0, (size_t)colon);
        if (colon >= 0) {
            portstr = sy_str_sub(auth, (size_t)colon + 1, auth.len);
            out->port_given = true;
        }
        for (size_t i = 0; i < out->host.len; i++)
            if (!host_char_ok(out->host.p[i])) {
                *err = "URL host has an invalid character";
                return SY_EINVAL;
            }
    }
    if (out->host.len == 0) {
        *err = "URL has no host";
        return SY_EINVAL;
    }
    if (out->host.len > SY_HTTP_HOST_MAX) {
        *err = "URL host is too long";
        return SY_EINVAL;
    }
    if (out->port_given) {
        uint64_t port;
        if (sy_str_to_u64(portstr, 65535, &port) != SY_OK || port == 0) {
            *err = "URL has an invalid port";
            return SY_EINVAL;
        }
        out->port = (uint16_t)port;
    }
    return SY_OK;
}

static void copy_host(char *dst, sy_str_t host)
{
    /* lower-cased: DNS names are case-insensitive and the pool key must not
     * split one origin in two */
    for (size_t i = 0; i < host.len; i++) {
        char c = host.p[i];
        dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    dst[host.len] = 0;
}

int sy_http_origin_from_url(sy_http_origin_t *o, sy_str_t url, sy_str_t *path, const char **err)
{
    sy_http_url_t u;
    int rc = sy_http_url_parse(url, &u, err);
    if (rc != SY_OK)
        return rc;
    memset(o, 0, sizeof(*o));
    o->tls = u.tls;
    o->port = u.port;
    copy_host(o->host, u.host);
    if (!sy_http_is_ip_literal(o->host))
        memcpy(o->sni, o->host, strlen(o->host) + 1);
    if (path)
        *path = u.path;
    return SY_OK;
}

int sy_http_origin_set_proxy(sy_http_origin_t *o, sy_str_t proxy_url, const char *auth,
                             const char **err)
{
    sy_http_url_t u;
    int rc = sy_http_url_parse(proxy_url, &u, err);
    if (rc != SY_OK)
        return rc;
    if (u.tls) {
        *err = "proxy URL must be http:// (the tunnel to the origin carries TLS)";
        return SY_EINVAL;
    }
    if (u.path.len > 1) {
        *err = "proxy URL must not have a path";
        return SY_EINVAL;
    }
    if (!u.port_given)
        u.port = 3128;
    size_t alen = auth ? strlen(auth) : 0;
    if (alen > SY_HTTP_PROXY_AUTH_MAX || (auth && strpbrk(auth, "\r\n"))) {
        *err = "proxy authorization value is too long or has line breaks";
        return SY_EINVAL;
    }
    copy_host(o->proxy_host, u.host);
    o->proxy_port = u.port;
    if (alen)
        memcpy(o->proxy_auth, auth, alen);
    o->proxy_auth[alen] = 0;
    return SY_OK;
}

size_t sy_http_origin_authority(const sy_http_origin_t *o, bool with_default_port, char *out,
                                size_t outsz)
{
    bool v6 = strchr(o->host, ':') != NULL;
    bool dflt = o->port == (o->tls ? 443 : 80);
    int n;
    if (dflt && !with_default_port)
        n = snprintf(out, outsz, v6 ? "[%s]" : "%s", o->host);
    else
        n = snprintf(out, outsz, v6 ? "[%s]:%u" : "%s:%u", o->host, (unsigned)o->port);
    return n < 0 ? 0 : SY_MIN((size_t)n, outsz ? outsz - 1 : 0);
}

size_t sy_http_origin_key(const sy_http_origin_t *o, char *out, size_t outsz)
{
    /* The proxy credentials are part of the identity (two tenants with
     * different proxy accounts must not share tunnels) but are hashed so the
     * key can be logged. */
    uint64_t ah = o->proxy_auth[0] ? sy_hash_bytes(o->proxy_auth, strlen(o->proxy_auth)) : 0;
    int n = snprintf(out, outsz, "%s://%s:%u|%s|%s:%u|%016llx", o->tls ? "https" : "http", o->host,
                     (unsigned)o->port, o->sni, o->proxy_host, (unsigned)o->proxy_port,
                     (unsigned long long)ah);
    return n < 0 ? 0 : SY_MIN((size_t)n, outsz ? outsz - 1 : 0);
}
