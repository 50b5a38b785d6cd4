/*
 * main.c - `switchyard`: dispatch to a subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: switchyard <command> [options]\n"
    "\n"
    "Switchyard is an AI gateway: applications speak the OpenAI or Anthropic API\n"
    "to it, and it routes, governs and accounts every call.\n"
    "\n"
    "commands:\n"
    "  serve          run the gateway (switchyard serve -c switchyard.yaml)\n"
    "  sim            run the provider simulator (switchyard sim --listen 127.0.0.1:4010)\n"
    "  config check   validate a configuration file\n"
    "  route explain  show how a request would be routed, calling no one\n"
    "  audit          verify the audit log, prove a record, sum its costs\n"
    "  keys           create, list, update, rotate and revoke virtual keys\n"
    "  teams, orgs    manage teams and organisations (budgets, limits, residency)\n"
    "  spend          spend by key, team, organisation, model or provider\n"
    "  version        print the version\n"
    "\n"
    "Run `switchyard <command> --help` for a command's options.\n";

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
} command_t;

static const command_t commands[] = {
    {"serve", sy_cli_serve},
    {"sim", sy_cli_sim},
    {"config", sy_cli_config},
    {"route", sy_cli_route},
    {"audit", sy_cli_audit},
    {"keys", sy_cli_keys},
    {"teams", sy_cli_teams},
    {"orgs", sy_cli_orgs},
    {"spend", sy_cli_spend},
    {"version", sy_cli_version},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    if (sy_cli_is_help(argv[1])) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return sy_cli_version(0, NULL);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 2, argv + 2);
    fprintf(stderr, "switchyard: unknown command \"%s\"\n\n%s", argv[1], usage);
    return 2;
}
