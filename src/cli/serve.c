/*
 * serve.c - `switchyard serve`: run the gateway.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/gateway.h"
#include "audit/audit.h"
#include "harness/gov.h"
#include "cli/cli.h"
#include "core/log.h"
#include "core/time.h"

static const char serve_usage[] =
    "usage: switchyard serve [-c FILE] [--listen HOST:PORT] [--workers N]\n"
    "\n"
    "Run the gateway. Without -c, built-in defaults apply (listen 127.0.0.1:4000).\n"
    "\n"
    "  -c, --config FILE    configuration file (YAML); SIGHUP reloads it\n"
    "  --listen HOST:PORT   listen here instead of the configured addresses\n"
    "  --workers N          worker threads (overrides `workers`)\n"
    "  -h, --help           this help\n"
    "\n"
    "Signals: SIGHUP reloads the configuration (a bad file keeps the running one);\n"
    "SIGTERM or SIGINT drains in-flight requests (limits.drain_timeout) and exits 0.\n";

bool sy_cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0 || strcmp(arg, "help") == 0;
}

void sy_cli_apply_log(const sy_config_t *c)
{
    sy_log_setup((sy_log_level_t)c->log.level,
                 c->log.format == SY_CONFIG_LOG_TEXT ? SY_LOG_TEXT : SY_LOG_JSON, 2);
}

void sy_cli_settings_from_config(const sy_config_t *c, sy_runtime_settings_t *s)
{
    s->nlisten = SY_MIN(c->listen.n, (size_t)SY_RUNTIME_MAX_LISTEN);
    for (size_t i = 0; i < s->nlisten; i++) {
        snprintf(s->listen[i].host, sizeof(s->listen[i].host), "%.*s",
                 SY_STR_FMT(c->listen.addrs[i].host));
        s->listen[i].port = c->listen.addrs[i].port;
    }
    s->workers = (int)c->workers.count;
    const sy_config_limits_t *l = &c->limits;
    s->limits.parse.max_request_line = l->max_request_line;
    s->limits.parse.max_header_bytes = l->max_header_bytes;
    s->limits.parse.max_headers = l->max_headers;
    s->limits.max_body_bytes = l->max_body_bytes;
    s->limits.header_timeout_ms = l->header_timeout_ms;
    s->limits.body_timeout_ms = l->body_timeout_ms;
    s->limits.idle_timeout_ms = l->idle_timeout_ms;
    s->drain_ms = l->drain_timeout_ms;
}

typedef struct {
    sy_gateway_t gw;
    const char *listen_override;
    int workers_override;
} serve_app_t;

static void apply_overrides(serve_app_t *app, sy_runtime_settings_t *s)
{
    if (app->listen_override) {
        sy_listen_addr_parse(app->listen_override, &s->listen[0]);
        s->nlisten = 1;
    }
    if (app->workers_override > 0)
        s->workers = app->workers_override;
}

static void *serve_worker_init(void *appv, int worker_id, sy_loop_t *loop)
{
    serve_app_t *app = appv;
    return sy_gateway_worker_init(&app->gw, worker_id, loop);
}

static void serve_worker_fini(void *appv, void *wctx)
{
    serve_app_t *app = appv;
    sy_gateway_worker_fini(&app->gw, wctx);
}

static int serve_reload(void *appv, sy_runtime_settings_t *out, char *err, size_t errsz)
{
    serve_app_t *app = appv;
    char *msg = NULL;
    if (sy_config_reload(&msg) != SY_OK) {
        snprintf(err, errsz, "%s", msg ? msg : "no configuration file to reload");
        free(msg);
        return SY_EINVAL;
    }
    sy_config_t *c = sy_config_acquire();
    sy_cli_settings_from_config(c, out);
    sy_cli_apply_log(c);
    sy_audit_reload(c);
    sy_config_unref(c);
    apply_overrides(app, out);
    return SY_OK;
}

int sy_cli_serve(int argc, char **argv)
{
    const char *path = NULL;
    serve_app_t app;
    memset(&app, 0, sizeof(app));
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (sy_cli_is_help(a)) {
            fputs(serve_usage, stdout);
            return 0;
        } else if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(a, "--listen") == 0 && i + 1 < argc) {
            app.listen_override = argv[++i];
            sy_listen_addr_t tmp;
            if (sy_listen_addr_parse(app.listen_override, &tmp) != SY_OK) {
                fprintf(stderr, "switchyard serve: --listen wants HOST:PORT, got \"%s\"\n",
                        app.listen_override);
                return 2;
            }
        } else if (strcmp(a, "--workers") == 0 && i + 1 < argc) {
            uint64_t n;
            if (sy_str_to_u64(sy_str_c(argv[++i]), SY_RUNTIME_MAX_WORKERS, &n) != SY_OK || !n) {
                fprintf(stderr, "switchyard serve: --workers wants 1..%d\n",
                        SY_RUNTIME_MAX_WORKERS);
                return 2;
            }
            app.workers_override = (int)n;
        } else {
            fprintf(stderr, "switchyard serve: unexpected argument \"%s\"\n\n%s", a, serve_usage);
            return 2;
        }
    }
    char *err = NULL;
    sy_config_t *c = path ? sy_config_load(path, &err) : sy_config_default();
    if (c == NULL) {
        fprintf(stderr, "%s\n", err ? err : "switchyard: cannot load configuration");
        free(err);
        return 1;
    }
    sy_config_publish(c);
    c = sy_config_acquire();
    sy_cli_apply_log(c);
    sy_runtime_settings_t s;
    memset(&s, 0, sizeof(s));
    sy_cli_settings_from_config(c, &s);
    char aerr[1024];
    if (sy_audit_start(c, aerr, sizeof(aerr)) != SY_OK) {
        fprintf(stderr, "switchyard serve: audit log: %s\n", aerr);
        sy_config_unref(c);
        sy_config_publish(NULL);
        return 1;
    }
    if (sy_gov_start(c, aerr, sizeof(aerr)) != SY_OK) {
        fprintf(stderr, "switchyard serve: governance: %s\n", aerr);
        sy_audit_stop();
        sy_config_unref(c);
        sy_config_publish(NULL);
        return 1;
    }
    sy_config_unref(c);
    apply_overrides(&app, &s);

    app.gw.version = SY_VERSION;
    app.gw.started_ms = sy_wall_ms();
    sy_runtime_app_t rapp = {
        .app = &app,
        .worker_init = serve_worker_init,
        .worker_fini = serve_worker_fini,
        .handler = sy_gateway_handle,
        .error_handler = sy_gateway_error,
        .reload = path ? serve_reload : NULL,
    };
    int rc = sy_runtime_run(&s, &rapp);
    sy_gov_stop();   /* the workers are gone: write the spend ledger's queue */
    sy_audit_stop(); /* and the audit log's */
    sy_config_publish(NULL);
    return rc;
}
