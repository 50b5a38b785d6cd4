/*
 * config_cmd.c - `switchyard config check FILE` and `switchyard version`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"

static const char config_usage[] =
    "usage: switchyard config check FILE [--print]\n"
    "\n"
    "Validate a configuration file without starting anything. Errors are printed\n"
    "as FILE:LINE:COLUMN: key: message, one per line; the exit status is 1 if any.\n"
    "\n"
    "  --print      also print the effective configuration (defaults filled in,\n"
    "               secrets redacted)\n"
    "  -h, --help   this help\n";

int sy_cli_config(int argc, char **argv)
{
    if (argc < 1 || sy_cli_is_help(argv[0])) {
        fputs(config_usage, argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    if (strcmp(argv[0], "check") != 0) {
        fprintf(stderr, "switchyard config: unknown subcommand \"%s\"\n\n%s", argv[0],
                config_usage);
        return 2;
    }
    const char *path = NULL;
    bool print = false;
    for (int i = 1; i < argc; i++) {
        if (sy_cli_is_help(argv[i])) {
            fputs(config_usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--print") == 0) {
            print = true;
        } else if (path == NULL) {
            path = argv[i];
        } else {
            fprintf(stderr, "switchyard config check: unexpected argument \"%s\"\n", argv[i]);
            return 2;
        }
    }
    if (path == NULL) {
        fputs(config_usage, stderr);
        return 2;
    }
    char *err = NULL;
    sy_config_t *c = sy_config_load(path, &err);
    if (c == NULL) {
        fprintf(stderr, "%s\n", err ? err : "invalid configuration");
        free(err);
        return 1;
    }
    if (print) {
        sy_buf_t b;
        sy_buf_init(&b, 0);
        sy_config_format(c, &b, true);
        fwrite(sy_buf_ptr(&b), 1, b.len, stdout);
        sy_buf_free(&b);
    } else {
        printf("%s: ok\n", path);
    }
    sy_config_unref(c);
    return 0;
}

int sy_cli_version(int argc, char **argv)
{
    if (argc > 0 && sy_cli_is_help(argv[0])) {
        puts("usage: switchyard version\n\nPrint the version and exit.");
        return 0;
    }
    printf("switchyard %s\n", SY_VERSION);
    return 0;
}
