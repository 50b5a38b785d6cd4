/*
 * net.h - socket helpers: listening sockets, address parsing, socket options.
 */
#ifndef SY_HTTP_NET_H
#define SY_HTTP_NET_H

#include "core/common.h"

/* Create a non-blocking listening TCP socket bound to host:port. host may be
 * an IPv4 or IPv6 literal, a name ("localhost"), or "*" / "" for all IPv4
 * addresses. reuseport sets SO_REUSEPORT so each worker can have its own
 * socket on the same address (the kernel spreads connections among them).
 * Returns the fd, or -1 with a message in err (errsz bytes). */
int sy_net_listen(const char *host, int port, bool reuseport, int backlog, char *err,
                  size_t errsz);

/* The port a bound socket got (for port 0 in tests), or -1. */
int sy_net_local_port(int fd);

int sy_net_set_nonblock(int fd);
int sy_net_set_nodelay(int fd);

#endif
