/*
 * tls.h - TLS for upstream connections (OpenSSL 3), as one more transport.
 *
 * One sy_tls_ctx_t per worker (an SSL_CTX: the trust store, protocol floor,
 * ALPN), read-only once built. sy_tls_attach() turns a connected TCP
 * transport into a TLS one: SNI, hostname (or IP) verification against the
 * certificate, optional session resumption. The handshake, reads and writes
 * are non-blocking and driven by the caller's event loop through the
 * transport vtable (transport.h): WANT_READ / WANT_WRITE become the
 * readiness the transport waits for, in both directions.
 *
 * Verification is always on in production: the system store
 * (SSL_CTX_set_default_verify_paths) plus any extra CA file from options.
 * `insecure` switches verification OFF entirely; it exists only for tests
 * and local experiments, logs a warning when a context is built with it, and
 * must never be set against a real provider.
 */
#ifndef SY_HTTP_TLS_H
#define SY_HTTP_TLS_H

#include "core/common.h"
#include "http/transport.h"

typedef struct sy_tls_ctx sy_tls_ctx_t;
typedef struct ssl_session_st sy_tls_session_t; /* OpenSSL's SSL_SESSION */

typedef struct {
    const char *ca_file; /* extra trusted CAs (PEM), added to the system store; NULL: none */
    bool insecure;       /* TESTS ONLY: no certificate or hostname verification at all */
} sy_tls_options_t;

/* Build a client context. Returns NULL with a message in err on failure
 * (e.g. an unreadable CA file). */
sy_tls_ctx_t *sy_tls_ctx_new(const sy_tls_options_t *opt, char *err, size_t errsz);
void sy_tls_ctx_free(sy_tls_ctx_t *ctx);

/* Start TLS on t (a connected TCP transport): after this t's vtable is TLS
 * and sy_transport_handshake() drives the handshake. host is the origin's
 * host: a name is sent as SNI and verified against the certificate's names;
 * an IP literal is verified against its IP addresses and sends no SNI.
 * session (may be NULL) is offered for resumption. Returns SY_OK or SY_ERR
 * (t->err set). */
int sy_tls_attach(sy_transport_t *t, sy_tls_ctx_t *ctx, const char *host,
                  sy_tls_session_t *session);

/* A new reference to the connection's session if it can be resumed, else
 * NULL. With TLS 1.3 the ticket arrives after the handshake, so ask after
 * some application data was read. Free with sy_tls_session_free. */
sy_tls_session_t *sy_tls_session_get(sy_transport_t *t);
void sy_tls_session_free(sy_tls_session_t *s);
/* True when the handshake resumed a session. */
bool sy_tls_session_reused(const sy_transport_t *t);

#endif
