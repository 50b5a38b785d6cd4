/*
 * origin.h - upstream origins: where a provider lives, parsed from a base URL.
 *
 * An origin is what a connection can be reused for: scheme (and so TLS or
 * not), host, port, the TLS server name, and the proxy the connection goes
 * through, if any. The keep-alive pools are keyed by sy_http_origin_key().
 * Base URLs come from configuration only (DESIGN.md section 7), so parsing is
 * strict and small: "http" or "https", a host (name, IPv4, or [IPv6]), an
 * optional port, an optional path. No user info, no query, no fragment.
 */
#ifndef SY_HTTP_ORIGIN_H
#define SY_HTTP_ORIGIN_H

#include "core/common.h"
#include "core/str.h"

#define SY_HTTP_HOST_MAX 253 /* longest DNS name; IPv6 literals fit too */
#define SY_HTTP_PROXY_AUTH_MAX 1024

/* A parsed URL; views point into the string given to sy_http_url_parse. */
typedef struct {
    bool tls;          /* https */
    sy_str_t host;     /* without the brackets of an IPv6 literal */
    uint16_t port;     /* explicit or the scheme's default */
    bool port_given;
    sy_str_t path;     /* "" or starting with '/', trailing '/' kept as given */
} sy_http_url_t;

/* Parse url ("https://api.openai.com/v1", "http://127.0.0.1:9000",
 * "http://[::1]:8080/"). Returns SY_OK, or SY_EINVAL with a static sentence
 * in *err. */
int sy_http_url_parse(sy_str_t url, sy_http_url_t *out, const char **err);

/* Where to connect and how. Plain data, copied freely. */
typedef struct {
    bool tls;
    uint16_t port;
    char host[SY_HTTP_HOST_MAX + 1]; /* name or IP literal (no brackets), NUL-terminated */
    char sni[SY_HTTP_HOST_MAX + 1];  /* TLS server name and the name verified; "" for IP literals */
    /* Optional HTTP proxy reached with CONNECT (proxy_host[0] == 0: none). */
    char proxy_host[SY_HTTP_HOST_MAX + 1];
    uint16_t proxy_port;
    char proxy_auth[SY_HTTP_PROXY_AUTH_MAX + 1]; /* Proxy-Authorization value or "" */
} sy_http_origin_t;

/* Fill *o from a base URL; *path (may be NULL) gets the URL's path, a view
 * into url. Returns SY_OK or SY_EINVAL with *err set. */
int sy_http_origin_from_url(sy_http_origin_t *o, sy_str_t url, sy_str_t *path, const char **err);

/* Route the origin through an http:// proxy ("http://proxy:3128"); auth is
 * the Proxy-Authorization value ("Basic ...") or NULL. */
int sy_http_origin_set_proxy(sy_http_origin_t *o, sy_str_t proxy_url, const char *auth,
                             const char **err);

/* The pool key: "https://host:port|sni|proxy_host:proxy_port|auth-hash".
 * Writes at most outsz bytes (NUL included); returns the key length. */
size_t sy_http_origin_key(const sy_http_origin_t *o, char *out, size_t outsz);

/* The Host header value: host, bracketed if IPv6, with ":port" unless it is
 * the scheme's default. Returns the length written (NUL-terminated). */
size_t sy_http_origin_authority(const sy_http_origin_t *o, bool with_default_port, char *out,
                                size_t outsz);

/* True when s is an IPv4 or IPv6 literal. */
bool sy_http_is_ip_literal(const char *s);

#endif
