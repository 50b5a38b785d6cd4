/*
 * runtime.h - worker threads, listeners and signals for a server process.
 *
 * `switchyard serve` and `switchyard sim` both run here. The runtime opens one
 * SO_REUSEPORT listening socket per worker per listen address, starts
 * `workers` threads, each with its own event loop and HTTP server, and then
 * the main thread waits for signals:
 *   SIGHUP           app->reload() builds new settings; on success workers
 *                    pick up new limits for new connections; on failure the
 *                    old settings stay and the reason is logged.
 *   SIGTERM, SIGINT  stop accepting, let in-flight requests finish (bounded
 *                    by drain_ms), then return 0. A second signal forces an
 *                    immediate close.
 * Listen addresses and the worker count are fixed at start; a reload that
 * changes them logs that a restart is needed.
 */
#ifndef SY_HTTP_RUNTIME_H
#define SY_HTTP_RUNTIME_H

#include "core/loop.h"
#include "http/server.h"

#define SY_RUNTIME_MAX_LISTEN 16
#define SY_RUNTIME_MAX_WORKERS 256

typedef struct {
    char host[256];
    int port;
} sy_listen_addr_t;

/* "host:port" or "[v6]:port" (a command line's --listen) into `out`; SY_EINVAL
 * when the port is missing or over 65535 or the host does not fit. */
int sy_listen_addr_parse(const char *arg, sy_listen_addr_t *out);

typedef struct {
    sy_listen_addr_t listen[SY_RUNTIME_MAX_LISTEN];
    size_t nlisten;
    int workers; /* >= 1 */
    sy_http_server_limits_t limits;
    uint64_t drain_ms;
} sy_runtime_settings_t;

/* The application the workers serve. */
typedef struct {
    void *app;
    /* Per-worker state, created on the worker's thread; its pointer is the
     * handler's ctx. May be NULL (ctx is then app). */
    void *(*worker_init)(void *app, int worker_id, sy_loop_t *loop);
    void (*worker_fini)(void *app, void *wctx);
    sy_http_handler_cb handler;
    /* Errors the HTTP layer answers itself, in the app's format (optional). */
    sy_http_error_cb error_handler;
    /* SIGHUP: fill *out (pre-filled with the current settings) or return an
     * error with a message in err; NULL disables reload. */
    int (*reload)(void *app, sy_runtime_settings_t *out, char *err, size_t errsz);
} sy_runtime_app_t;

/* Runs until SIGTERM/SIGINT. Returns the process exit status. */
int sy_runtime_run(const sy_runtime_settings_t *settings, const sy_runtime_app_t *app);

/* Number of online CPUs (for workers: auto). */
int sy_runtime_cpus(void);

#endif
