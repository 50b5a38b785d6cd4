/*
 * transport.h - one upstream byte stream behind a small vtable: plain TCP or
 * TLS (tls.h), so the HTTP client reads and writes without knowing which.
 *
 * All operations are non-blocking. A read or write that cannot progress
 * returns SY_EAGAIN and records in read_on / write_on the readiness it is
 * waiting for: usually SY_IO_READ for reads and SY_IO_WRITE for writes, but a
 * TLS read can need the socket writable (a renegotiation or key update
 * mid-read) and a TLS write can need it readable. sy_transport_events() turns
 * "I want to read / write" into the epoll mask to register. TLS may also hold
 * decrypted bytes the socket no longer signals: sy_transport_pending().
 *
 * Ownership: the transport owns the fd and the TLS state; close frees both.
 */
#ifndef SY_HTTP_TRANSPORT_H
#define SY_HTTP_TRANSPORT_H

#include <sys/types.h>
#include "core/common.h"
#include "core/loop.h"

typedef struct sy_transport sy_transport_t;

typedef struct {
    const char *name;
    /* SY_OK when ready for data, SY_EAGAIN (see hs_on), or SY_ERR with t->err. */
    int (*handshake)(sy_transport_t *t);
    /* > 0 bytes read; 0 orderly end of stream; SY_EAGAIN; SY_ECLOSED reset;
     * SY_ERR other failure (t->err says what). */
    ssize_t (*read)(sy_transport_t *t, void *buf, size_t len);
    /* > 0 bytes written (may be short); SY_EAGAIN; SY_ECLOSED; SY_ERR. */
    ssize_t (*write)(sy_transport_t *t, const void *buf, size_t len);
    bool (*pending)(const sy_transport_t *t);
    void (*close)(sy_transport_t *t);
} sy_transport_type_t;

struct sy_transport {
    const sy_transport_type_t *type;
    int fd;
    void *ssl;           /* SSL * once TLS is attached */
    uint32_t read_on;    /* readiness the last blocked read waits for */
    uint32_t write_on;   /* readiness the last blocked write waits for */
    uint32_t hs_on;      /* readiness the handshake waits for */
    int sys_errno;       /* errno of the last socket failure, 0 if none */
    char err[256];       /* the last failure, for error messages (no secrets) */
};

extern const sy_transport_type_t sy_transport_tcp;

/* Wrap a connected (or connecting) non-blocking socket as plain TCP. */
void sy_transport_init_tcp(sy_transport_t *t, int fd);

static inline int sy_transport_handshake(sy_transport_t *t) { return t->type->handshake(t); }
static inline ssize_t sy_transport_read(sy_transport_t *t, void *b, size_t n)
{
    return t->type->read(t, b, n);
}
static inline ssize_t sy_transport_write(sy_transport_t *t, const void *b, size_t n)
{
    return t->type->write(t, b, n);
}
static inline bool sy_transport_pending(const sy_transport_t *t) { return t->type->pending(t); }
/* Close the socket and free TLS state; t->fd becomes -1. Idempotent. */
void sy_transport_close(sy_transport_t *t);

/* The epoll mask for "I want to read" and/or "I want to write". */
static inline uint32_t sy_transport_events(const sy_transport_t *t, bool rd, bool wr)
{
    return (rd ? t->read_on : 0) | (wr ? t->write_on : 0);
}

#endif
