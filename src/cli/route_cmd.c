/*
 * route_cmd.c - `switchyard route explain`: the router's plan for a request,
 * without calling anyone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/frontdoors.h"
#include "api/proxy.h"
#include "cli/cli.h"
#include "core/arena.h"
#include "core/buf.h"

static const char route_usage[] =
    "usage: switchyard route explain -c FILE [--model NAME] [--request FILE.json]\n"
    "                                [--format openai|anthropic] [-H 'NAME: VALUE']... [--json]\n"
    "\n"
    "Show how the gateway would route a request: the model's deployments, why each\n"
    "is kept or dropped (capabilities, context window, max output, constraints,\n"
    "circuit, limits) and the order they would be tried in. Nothing is sent to any\n"
    "provider. Health figures start fresh in this process: circuits closed, no\n"
    "latency figures (GET /admin/routes/explain on a running gateway shows its own).\n"
    "\n"
    "  -c, --config FILE     the gateway's configuration\n"
    "  --model NAME          the model name clients ask for (default: the request's)\n"
    "  --request FILE.json   a chat request body (OpenAI chat completions by default)\n"
    "  --format FORMAT       the request's format: openai or anthropic\n"
    "  -H 'NAME: VALUE'      a request header, such as x-switchyard-regions: eu\n"
    "  --json                print JSON (as GET /admin/routes/explain)\n"
    "  -h, --help            this help\n";

#define MAX_HEADERS 32

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    sy_buf_t b;
    sy_buf_init(&b, 256u << 20);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (sy_buf_append(&b, chunk, n) != SY_OK) {
            fclose(f);
            sy_buf_free(&b);
            return NULL;
        }
    fclose(f);
    *len = b.len;
    char *s = sy_malloc(b.len + 1);
    if (b.len)
        memcpy(s, sy_buf_ptr(&b), b.len);
    s[b.len] = '\0';
    sy_buf_free(&b);
    return s;
}

static int explain(int argc, char **argv)
{
    const char *cfg_path = NULL, *model = NULL, *request = NULL, *format = "openai";
    bool json = false;
    sy_http_header_t headers[MAX_HEADERS];
    size_t nh = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;
        if (sy_cli_is_help(a)) {
            fputs(route_usage, stdout);
            return 0;
        } else if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && more) {
            cfg_path = argv[++i];
        } else if (strcmp(a, "--model") == 0 && more) {
            model = argv[++i];
        } else if (strcmp(a, "--request") == 0 && more) {
            request = argv[++i];
        } else if (strcmp(a, "--format") == 0 && more) {
            format = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if ((strcmp(a, "-H") == 0 || strcmp(a, "--header") == 0) && more) {
            const char *h = argv[++i];
            const char *colon = strchr(h, ':');
            if (colon == NULL || colon == h || nh == MAX_HEADERS) {
                fprintf(stderr, "switchyard route explain: -H wants 'NAME: VALUE', got \"%s\"\n", h);
                return 2;
            }
            headers[nh].name = sy_str_trim(sy_str(h, (size_t)(colon - h)));
            headers[nh].value = sy_str_trim(sy_str_c(colon + 1));
            nh++;
        } else {
            fprintf(stderr, "switchyard route explain: unexpected argument \"%s\"\n\n%s", a,
                    route_usage);
            return 2;
        }
    }
    if (cfg_path == NULL || (model == NULL && request == NULL)) {
        fputs(route_usage, stderr);
        return 2;
    }
    const sy_frontdoor_vt_t *fd = strcmp(format, "openai") == 0      ? &sy_frontdoor_openai
                                  : strcmp(format, "anthropic") == 0 ? &sy_frontdoor_anthropic
                                                                     : NULL;
    if (fd == NULL) {
        fprintf(stderr, "switchyard route explain: --format wants openai or anthropic\n");
        return 2;
    }
    char *err = NULL;
    sy_config_t *c = sy_config_load(cfg_path, &err);
    if (c == NULL) {
        fprintf(stderr, "%s\n", err ? err : "invalid configuration");
        free(err);
        return 1;
    }
    int rc = 1;
    sy_arena_t *a = sy_arena_new(65536);
    char *body = NULL;
    sy_ir_request_t ir;
    const sy_ir_request_t *irp = NULL;
    sy_str_t name = model ? sy_str_c(model) : SY_STR("");
    if (request) {
        size_t len = 0;
        body = slurp(request, &len);
        if (body == NULL) {
            fprintf(stderr, "switchyard route explain: cannot read %s\n", request);
            goto out;
        }
        int status = 400;
        const char *message = NULL;
        if (fd->parse(a, sy_str(body, len), &ir, &status, &message) != SY_OK) {
            fprintf(stderr, "%s: not a valid %s request: %s\n", request, fd->name,
                    message ? message : "invalid");
            goto out;
        }
        irp = &ir;
        if (name.len == 0)
            name = ir.model;
    }
    sy_buf_t out;
    sy_buf_init(&out, 0);
    char msg[300];
    if (sy_proxy_explain(a, c, name, irp, headers, nh, NULL, json, &out, msg, sizeof(msg)) != SY_OK) {
        fprintf(stderr, "switchyard route explain: %s\n", msg);
        sy_buf_free(&out);
        goto out;
    }
    fwrite(sy_buf_ptr(&out), 1, out.len, stdout);
    if (json)
        fputc('\n', stdout);
    sy_buf_free(&out);
    rc = 0;
out:
    free(body);
    sy_arena_free(a);
    sy_config_unref(c);
    return rc;
}

int sy_cli_route(int argc, char **argv)
{
    if (argc < 1 || sy_cli_is_help(argv[0])) {
        fputs(route_usage, argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    if (strcmp(argv[0], "explain") != 0) {
        fprintf(stderr, "switchyard route: unknown subcommand \"%s\"\n\n%s", argv[0], route_usage);
        return 2;
    }
    return explain(argc - 1, argv + 1);
}
