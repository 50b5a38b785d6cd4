/*
 * runtime.c - worker threads and the signal-handling main thread.
 *
 * Signals are blocked in every thread and the main thread takes them
 * synchronously with sigwaitinfo(), so no handler runs at an arbitrary point
 * and no async-signal-safety rules apply. Commands reach the workers through
 * their loop's wakeup (an eventfd): each worker reads the shared command
 * state from its own thread.
 */
#include "http/runtime.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "http/net.h"

typedef struct runtime runtime_t;

typedef struct {
    runtime_t *rt;
    int id;
    pthread_t thread;
    sy_loop_t *loop;
    sy_http_server_t *srv;
    int fds[SY_RUNTIME_MAX_LISTEN];
    size_t nfds;
    void *wctx;
    unsigned seen_gen;
    int seen_stop;
    _Atomic bool ready;
} worker_t;

struct runtime {
    const sy_runtime_app_t *app;
    pthread_mutex_t lock; /* guards settings */
    sy_runtime_settings_t settings;
    _Atomic unsigned gen;  /* bumped on each successful reload */
    _Atomic int stop;      /* 0 running, 1 drain, 2 force */
    worker_t *workers;
    int nworkers;
};

int sy_runtime_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > SY_RUNTIME_MAX_WORKERS ? SY_RUNTIME_MAX_WORKERS : (int)n);
}

static void drained_cb(sy_http_server_t *srv, void *data)
{
    SY_UNUSED(srv);
    worker_t *w = data;
    sy_loop_stop(w->loop);
}

/* Runs on the worker thread whenever the main thread pokes it. */
static void worker_wake_cb(sy_loop_t *loop, void *data)
{
    SY_UNUSED(loop);
    worker_t *w = data;
    runtime_t *rt = w->rt;
    unsigned gen = atomic_load(&rt->gen);
    if (gen != w->seen_gen) {
        w->seen_gen = gen;
        pthread_mutex_lock(&rt->lock);
        sy_http_server_limits_t lim = rt->settings.limits;
        pthread_mutex_unlock(&rt->lock);
        sy_http_server_set_limits(w->srv, &lim);
    }
    int stop = atomic_load(&rt->stop);
    if (stop > w->seen_stop) {
        w->seen_stop = stop;
        pthread_mutex_lock(&rt->lock);
        uint64_t drain = rt->settings.drain_ms;
        pthread_mutex_unlock(&rt->lock);
        sy_http_server_shutdown(w->srv, stop >= 2 ? 0 : drain, drained_cb, w);
    }
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    runtime_t *rt = w->rt;
    const sy_runtime_app_t *app = rt->app;
    w->loop = sy_loop_new();
    w->wctx = app->worker_init ? app->worker_init(app->app, w->id, w->loop) : app->app;
    w->srv = sy_http_server_new(w->loop, app->handler, w->wctx);
    if (app->error_handler)
        sy_http_server_set_error_handler(w->srv, app->error_handler);
    pthread_mutex_lock(&rt->lock);
    sy_http_server_set_limits(w->srv, &rt->settings.limits);
    pthread_mutex_unlock(&rt->lock);
    w->seen_gen = atomic_load(&rt->gen);
    for (size_t i = 0; i < w->nfds; i++)
        if (sy_http_server_add_listener(w->srv, w->fds[i]) != SY_OK)
            sy_panic("cannot watch listening socket");
    sy_loop_on_wake(w->loop, worker_wake_cb, w);
    atomic_store(&w->ready, true);
    worker_wake_cb(w->loop, w); /* a stop may have come before the hook */
    if (sy_loop_run(w->loop) != SY_OK)
        sy_error("worker loop failed", "\"worker\":%d", w->id);
    sy_loop_run_deferred(w->loop);
    sy_http_server_free(w->srv);
    sy_loop_run_deferred(w->loop);
    if (app->worker_fini)
        app->worker_fini(app->app, w->wctx);
    sy_loop_free(w->loop);
    return NULL;
}

static bool same_listen(const sy_runtime_settings_t *a, const sy_runtime_settings_t *b)
{
    if (a->nlisten != b->nlisten || a->workers != b->workers)
        return false;
    for (size_t i = 0; i < a->nlisten; i++)
        if (a->listen[i].port != b->listen[i].port || strcmp(a->listen[i].host, b->listen[i].host))
            return false;
    return true;
}

static void do_reload(runtime_t *rt)
{
    const sy_runtime_app_t *app = rt->app;
    if (app->reload == NULL) {
        sy_warn("reload requested but no configuration file is in use", NULL);
        return;
    }
    sy_runtime_settings_t next;
    pthread_mutex_lock(&rt->lock);
    next = rt->settings;
    pthread_mutex_unlock(&rt->lock);
    char err[2048] = "";
    if (app->reload(app->app, &next, err, sizeof(err)) != SY_OK) {
        char esc[2100];
        sy_error("reload failed; keeping the running configuration", "\"error\":\"%s\"",
                 sy_log_esc(esc, sizeof(esc), err, strlen(err)));
        return;
    }
    pthread_mutex_lock(&rt->lock);
    if (!same_listen(&rt->settings, &next))
        sy_warn("listen addresses and worker count changes take effect after a restart", NULL);
    sy_runtime_settings_t keep = rt->settings;
    rt->settings = next;
    memcpy(rt->settings.listen, keep.listen, sizeof(keep.listen));
    rt->settings.nlisten = keep.nlisten;
    rt->settings.workers = keep.workers;
    pthread_mutex_unlock(&rt->lock);
    atomic_fetch_add(&rt->gen, 1);
    for (int i = 0; i < rt->nworkers; i++)
        sy_loop_wake(rt->workers[i].loop);
    sy_info("configuration reloaded", NULL);
}

int sy_runtime_run(const sy_runtime_settings_t *settings, const sy_runtime_app_t *app)
{
    runtime_t rt;
    memset(&rt, 0, sizeof(rt));
    rt.app = app;
    rt.settings = *settings;
    pthread_mutex_init(&rt.lock, NULL);
    rt.nworkers = settings->workers < 1 ? 1 : settings->workers;
    rt.workers = sy_calloc((size_t)rt.nworkers, sizeof(worker_t));

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    int status = 0;
    /* Open every socket before starting any thread, so a bind error is
     * reported before anything runs. */
    for (int i = 0; i < rt.nworkers; i++) {
        worker_t *w = &rt.workers[i];
        w->rt = &rt;
        w->id = i;
        for (size_t j = 0; j < settings->nlisten; j++) {
            char err[512];
            int fd = sy_net_listen(settings->listen[j].host, settings->listen[j].port,
                                   true, 4096, err, sizeof(err));
            if (fd < 0) {
                fprintf(stderr, "switchyard: %s\n", err);
                for (int k = 0; k <= i; k++)
                    for (size_t m = 0; m < rt.workers[k].nfds; m++)
                        close(rt.workers[k].fds[m]);
                free(rt.workers);
                return 1;
            }
            w->fds[w->nfds++] = fd;
        }
    }
    for (int i = 0; i < rt.nworkers; i++)
        if (pthread_create(&rt.workers[i].thread, NULL, worker_main, &rt.workers[i]) != 0)
            sy_panic("cannot start worker thread");
    for (int i = 0; i < rt.nworkers; i++)
        while (!atomic_load(&rt.workers[i].ready))
            usleep(1000);
    for (size_t j = 0; j < settings->nlisten; j++)
        sy_info("listening", "\"addr\":\"%s:%d\",\"workers\":%d", settings->listen[j].host,
                settings->listen[j].port, rt.nworkers);

    sigset_t wait_set = set;
    sigdelset(&wait_set, SIGPIPE);
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&wait_set, &si);
        if (sig < 0) {
            if (errno == EINTR)
                continue;
            sy_error("sigwaitinfo failed", "\"errno\":%d", errno);
            status = 1;
            break;
        }
        if (sig == SIGHUP) {
            do_reload(&rt);
            continue;
        }
        int level = atomic_fetch_add(&rt.stop, 1) + 1;
        sy_info(level == 1 ? "shutting down: draining in-flight requests"
                           : "shutting down now: closing connections",
                "\"signal\":%d", sig);
        for (int i = 0; i < rt.nworkers; i++)
            sy_loop_wake(rt.workers[i].loop);
        if (level == 1) {
            /* Wait for the workers, but stay responsive to a second signal. */
            break;
        }
    }
    /* Workers finish; a second SIGTERM/SIGINT forces them. */
    for (int i = 0; i < rt.nworkers; i++) {
        for (;;) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            int rc = pthread_timedjoin_np(rt.workers[i].thread, NULL, &(struct timespec){0, 0});
            if (rc == 0)
                break;
            siginfo_t si;
            int sig = sigtimedwait(&wait_set, &si, &ts);
            if (sig == SIGTERM || sig == SIGINT) {
                atomic_store(&rt.stop, 2);
                sy_info("shutting down now: closing connections", NULL);
                for (int k = 0; k < rt.nworkers; k++)
                    sy_loop_wake(rt.workers[k].loop);
            } else if (sig == SIGHUP) {
                sy_info("reload ignored while shutting down", NULL);
            }
        }
    }
    sy_info("stopped", NULL);
    pthread_mutex_destroy(&rt.lock);
    free(rt.workers);
    return status;
}

int sy_listen_addr_parse(const char *arg, sy_listen_addr_t *out)
{
    const char *colon = strrchr(arg, ':');
    if (colon == NULL || colon[1] == '\0')
        return SY_EINVAL;
    uint64_t port;
    if (sy_str_to_u64(sy_str_c(colon + 1), 65535, &port) != SY_OK)
        return SY_EINVAL;
    const char *h = arg;
    size_t hl = (size_t)(colon - arg);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl >= sizeof(out->host))
        return SY_EINVAL;
    memcpy(out->host, h, hl);
    out->host[hl] = '\0';
    out->port = (int)port;
    return SY_OK;
}
