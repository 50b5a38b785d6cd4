/*
 * tls.c - the OpenSSL transport: non-blocking handshake, read and write.
 *
 * Every SSL call is preceded by ERR_clear_error(): the OpenSSL error queue is
 * per thread, and a stale entry from another connection on this worker would
 * otherwise be blamed on this one.
 */
#include "http/tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/log.h"
#include "http/origin.h"

struct sy_tls_ctx {
    SSL_CTX *ssl_ctx;
    bool insecure;
};

sy_tls_ctx_t *sy_tls_ctx_new(const sy_tls_options_t *opt, char *err, size_t errsz)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    if (!c) {
        snprintf(err, errsz, "cannot create TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    /* Servers that close without close_notify are common; framing (length,
     * chunked) detects truncation where it matters. */
    SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
    /* Sessions are kept per origin by the pool, not in OpenSSL's cache. */
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(c, alpn, sizeof(alpn) - 1);
    bool insecure = opt && opt->insecure;
    if (insecure) {
        sy_warn("TLS verification disabled (insecure: tests only)", NULL);
        SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    } else {
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
        if (SSL_CTX_set_default_verify_paths(c) != 1) {
            snprintf(err, errsz, "cannot load the system certificate store");
            SSL_CTX_free(c);
            return NULL;
        }
        if (opt && opt->ca_file && opt->ca_file[0] &&
            SSL_CTX_load_verify_locations(c, opt->ca_file, NULL) != 1) {
            snprintf(err, errsz, "cannot load CA file %s", opt->ca_file);
            ERR_clear_error();
            SSL_CTX_free(c);
            return NULL;
        }
    }
    ERR_clear_error();
    sy_tls_ctx_t *ctx = sy_calloc(1, sizeof(*ctx));
    ctx->ssl_ctx = c;
    ctx->insecure = insecure;
    return ctx;
}

void sy_tls_ctx_free(sy_tls_ctx_t *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

/* Describe the failure of an SSL call that returned ret with code e. */
static void tls_fail(sy_transport_t *t, SSL *ssl, int ret, int e, const char *what)
{
    unsigned long q = ERR_peek_last_error();
    long vr = SSL_get_verify_result(ssl);
    if (vr != X509_V_OK && !SSL_is_init_finished(ssl)) {
        snprintf(t->err, sizeof(t->err), "certificate verify failed: %s",
                 X509_verify_cert_error_string(vr));
    } else if (e == SSL_ERROR_SYSCALL && q == 0) {
        int en = errno;
        t->sys_errno = ret == 0 ? 0 : en;
        if (ret == 0 || en == 0)
            snprintf(t->err, sizeof(t->err), "%s: connection closed by peer", what);
        else
            snprintf(t->err, sizeof(t->err), "%s: %s", what, strerror(en));
    } else if (q) {
        char buf[160];
        ERR_error_string_n(q, buf, sizeof(buf));
        snprintf(t->err, sizeof(t->err), "%s: %s", what, buf);
    } else {
        snprintf(t->err, sizeof(t->err), "%s failed (SSL error %d)", what, e);
    }
    ERR_clear_error();
}

static int tls_handshake(sy_transport_t *t)
{
    SSL *ssl = t->ssl;
    ERR_clear_error();
    int r = SSL_connect(ssl);
    if (r == 1)
        return SY_OK;
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
        t->hs_on = SY_IO_READ;
        return SY_EAGAIN;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        t->hs_on = SY_IO_WRITE;
        return SY_EAGAIN;
    }
    tls_fail(t, ssl, r, e, "TLS handshake");
    return SY_ERR;
}

static ssize_t tls_read(sy_transport_t *t, void *buf, size_t len)
{
    SSL *ssl = t->ssl;
    size_t n = 0;
    ERR_clear_error();
    int r = SSL_read_ex(ssl, buf, len, &n);
    if (r == 1) {
        t->read_on = SY_IO_READ;
        return (ssize_t)n;
    }
    int e = SSL_get_error(ssl, r);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        t->read_on = SY_IO_READ;
        return SY_EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        t->read_on = SY_IO_WRITE;
        return SY_EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_last_error() == 0 && errno == 0)
            return 0; /* EOF without close_notify (SSL_OP_IGNORE_UNEXPECTED_EOF) */
        break;
    default:
        break;
    }
    int en = errno;
    tls_fail(t, ssl, r, e, "TLS read");
    return (e == SSL_ERROR_SYSCALL && en == ECONNRESET) ? SY_ECLOSED : SY_ERR;
}

static ssize_t tls_write(sy_transport_t *t, const void *buf, size_t len)
{
    SSL *ssl = t->ssl;
    size_t n = 0;
    ERR_clear_error();
    int r = SSL_write_ex(ssl, buf, len, &n);
    if (r == 1) {
        t->write_on = SY_IO_WRITE;
        return (ssize_t)n;
    }
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_WRITE) {
        t->write_on = SY_IO_WRITE;
        return SY_EAGAIN;
    }
    if (e == SSL_ERROR_WANT_READ) {
        t->write_on = SY_IO_READ;
        return SY_EAGAIN;
    }
    int en = errno;
    tls_fail(t, ssl, r, e, "TLS write");
    return (e == SSL_ERROR_SYSCALL && (en == ECONNRESET || en == EPIPE)) ? SY_ECLOSED : SY_ERR;
}

static bool tls_pending(const sy_transport_t *t) { return SSL_pending(t->ssl) > 0; }

static void tls_close(sy_transport_t *t)
{
    if (t->ssl) {
        /* best effort close_notify, never waits */
        if (SSL_is_init_finished((SSL *)t->ssl) && !t->sys_errno && !t->err[0]) {
            ERR_clear_error();
            SSL_shutdown(t->ssl);
            ERR_clear_error();
        }
        SSL_free(t->ssl);
    }
    t->ssl = NULL;
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

static const sy_transport_type_t tls_type = {
    .name = "tls",
    .handshake = tls_handshake,
    .read = tls_read,
    .write = tls_write,
    .pending = tls_pending,
    .close = tls_close,
};

int sy_tls_attach(sy_transport_t *t, sy_tls_ctx_t *ctx, const char *host,
                  sy_tls_session_t *session)
{
    SSL *ssl = SSL_new(ctx->ssl_ctx);
    if (!ssl) {
        snprintf(t->err, sizeof(t->err), "cannot create TLS connection");
        return SY_ERR;
    }
    bool ip = sy_http_is_ip_literal(host);
    int ok = SSL_set_fd(ssl, t->fd);
    if (ok && !ip)
        ok = (int)SSL_set_tlsext_host_name(ssl, host);
    if (ok && !ctx->insecure) {
        if (ip)
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
        else
            ok = SSL_set1_host(ssl, host);
    }
    if (ok && session)
        ok = SSL_set_session(ssl, session);
    if (!ok) {
        snprintf(t->err, sizeof(t->err), "cannot set up TLS for %s", host);
        ERR_clear_error();
        SSL_free(ssl);
        return SY_ERR;
    }
    SSL_set_connect_state(ssl);
    t->ssl = ssl;
    t->type = &tls_type;
    t->hs_on = SY_IO_WRITE;
    t->read_on = SY_IO_READ;
    t->write_on = SY_IO_WRITE;
    return SY_OK;
}

sy_tls_session_t *sy_tls_session_get(sy_transport_t *t)
{
    if (!t->ssl)
        return NULL;
    SSL_SESSION *s = SSL_get0_session(t->ssl);
    if (!s || !SSL_SESSION_is_resumable(s))
        return NULL;
    /* A copy: OpenSSL marks a connection's own session unusable when that
     * connection is freed without a clean shutdown, and the copy must
     * outlive it. */
    return SSL_SESSION_dup(s);
}

void sy_tls_session_free(sy_tls_session_t *s)
{
    if (s)
        SSL_SESSION_free(s);
}

bool sy_tls_session_reused(const sy_transport_t *t) { return t->ssl && SSL_session_reused(t->ssl); }
