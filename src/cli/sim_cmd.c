/*
 * sim_cmd.c - `switchyard sim`: run the provider simulator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/log.h"
#include "sim/sim.h"

#define SIM_DEFAULT_LISTEN "127.0.0.1:4010"

static const char sim_usage[] =
    "usage: switchyard sim [--listen HOST:PORT] [-c FILE] [--workers N] [--log-level LEVEL]\n"
    "\n"
    "Run the provider simulator: OpenAI (and Azure OpenAI), Anthropic, Gemini and\n"
    "Bedrock APIs on one port, with deterministic output, pacing and fault\n"
    "injection controlled per model (config) and per request (x-sim-* headers).\n"
    "See docs/sim.md. Without -c the built-in models are served.\n"
    "\n"
    "  --listen HOST:PORT   listen here (default: the file's `listen`, else " SIM_DEFAULT_LISTEN ")\n"
    "  -c, --config FILE    simulator configuration (YAML): models, keys, behaviour\n"
    "  --workers N          worker threads (default: the file's `workers`, else 1)\n"
    "  --log-level LEVEL    debug, info, warn or error (default warn)\n"
    "  -h, --help           this help\n"
    "\n"
    "Endpoints besides the providers': GET /health, GET /_sim/requests,\n"
    "POST /_sim/reset. SIGTERM or SIGINT drains and exits 0.\n";

int sy_cli_sim(int argc, char **argv)
{
    const char *path = NULL, *listen = NULL, *level = "warn";
    int workers = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (sy_cli_is_help(a)) {
            fputs(sim_usage, stdout);
            return 0;
        } else if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(a, "--listen") == 0 && i + 1 < argc) {
            listen = argv[++i];
        } else if (strcmp(a, "--log-level") == 0 && i + 1 < argc) {
            level = argv[++i];
            if (sy_log_level_parse(level) < 0) {
                fprintf(stderr, "switchyard sim: unknown log level \"%s\"\n", level);
                return 2;
            }
        } else if (strcmp(a, "--workers") == 0 && i + 1 < argc) {
            uint64_t n;
            if (sy_str_to_u64(sy_str_c(argv[++i]), SY_RUNTIME_MAX_WORKERS, &n) != SY_OK || !n) {
                fprintf(stderr, "switchyard sim: --workers wants 1..%d\n", SY_RUNTIME_MAX_WORKERS);
                return 2;
            }
            workers = (int)n;
        } else {
            fprintf(stderr, "switchyard sim: unexpected argument \"%s\"\n\n%s", a, sim_usage);
            return 2;
        }
    }
    sy_log_setup((sy_log_level_t)sy_log_level_parse(level), SY_LOG_JSON, 2);
    char *err = NULL;
    sy_sim_config_t *cfg = path ? sy_sim_config_load(path, &err) : sy_sim_config_default();
    if (cfg == NULL) {
        fprintf(stderr, "%s\n", err ? err : "switchyard sim: cannot load the configuration");
        free(err);
        return 1;
    }
    sy_runtime_settings_t s;
    memset(&s, 0, sizeof(s));
    const char *addr = listen ? listen : cfg->listen[0] ? cfg->listen : SIM_DEFAULT_LISTEN;
    if (sy_listen_addr_parse(addr, &s.listen[0]) != SY_OK) {
        fprintf(stderr, "switchyard sim: --listen wants HOST:PORT, got \"%s\"\n", addr);
        sy_sim_config_free(cfg);
        return 2;
    }
    s.nlisten = 1;
    s.workers = workers ? workers : cfg->workers ? cfg->workers : 1;
    sy_http_server_limits_default(&s.limits);
    s.drain_ms = 2000;

    sy_sim_t *sim = sy_sim_new(cfg, SY_VERSION);
    sy_runtime_app_t app = {
        .app = sim,
        .worker_init = sy_sim_worker_init,
        .worker_fini = sy_sim_worker_fini,
        .handler = sy_sim_handle,
        .reload = NULL,
    };
    sy_info("sim listening", "\"addr\":\"%s\",\"workers\":%d,\"models\":%zu", addr, s.workers,
            cfg->nmodels);
    int rc = sy_runtime_run(&s, &app);
    sy_sim_free(sim);
    return rc;
}
