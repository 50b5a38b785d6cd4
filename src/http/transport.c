/*
 * transport.c - the plain TCP transport.
 */
#include "http/transport.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void set_errno_msg(sy_transport_t *t, const char *what, int e)
{
    t->sys_errno = e;
    snprintf(t->err, sizeof(t->err), "%s: %s", what, strerror(e));
}

static int tcp_handshake(sy_transport_t *t)
{
    SY_UNUSED(t);
    return SY_OK;
}

static ssize_t tcp_read(sy_transport_t *t, void *buf, size_t len)
{
    t->read_on = SY_IO_READ;
    for (;;) {
        ssize_t n = recv(t->fd, buf, len, 0);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return SY_EAGAIN;
        set_errno_msg(t, "recv", errno);
        return errno == ECONNRESET ? SY_ECLOSED : SY_ERR;
    }
}

static ssize_t tcp_write(sy_transport_t *t, const void *buf, size_t len)
{
    t->write_on = SY_IO_WRITE;
    for (;;) {
        ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return SY_EAGAIN;
        set_errno_msg(t, "send", errno);
        return (errno == ECONNRESET || errno == EPIPE) ? SY_ECLOSED : SY_ERR;
    }
}

static bool tcp_pending(const sy_transport_t *t)
{
    SY_UNUSED(t);
    return false;
}

static void tcp_close(sy_transport_t *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

const sy_transport_type_t sy_transport_tcp = {
    .name = "tcp",
    .handshake = tcp_handshake,
    .read = tcp_read,
    .write = tcp_write,
    .pending = tcp_pending,
    .close = tcp_close,
};

void sy_transport_init_tcp(sy_transport_t *t, int fd)
{
    memset(t, 0, sizeof(*t));
    t->type = &sy_transport_tcp;
    t->fd = fd;
    t->read_on = SY_IO_READ;
    t->write_on = SY_IO_WRITE;
    t->hs_on = SY_IO_WRITE;
}

void sy_transport_close(sy_transport_t *t)
{
    if (t->type)
        t->type->close(t);
    t->fd = -1;
}
