/*
 * cli.h - the `switchyard` subcommands. Each takes argv after its own name
 * and returns the process exit status (0 ok, 1 failure, 2 usage error).
 */
#ifndef SY_CLI_CLI_H
#define SY_CLI_CLI_H

#include "config/config.h"
#include "http/runtime.h"

#ifndef SY_VERSION
#define SY_VERSION "dev"
#endif

int sy_cli_serve(int argc, char **argv);
int sy_cli_config(int argc, char **argv);
int sy_cli_sim(int argc, char **argv);
int sy_cli_version(int argc, char **argv);
int sy_cli_route(int argc, char **argv);
int sy_cli_audit(int argc, char **argv);
/* The admin API from the command line (keys_cmd.c). */
int sy_cli_keys(int argc, char **argv);
int sy_cli_teams(int argc, char **argv);
int sy_cli_orgs(int argc, char **argv);
int sy_cli_spend(int argc, char **argv);

/* Fill runtime settings from a configuration snapshot. */
void sy_cli_settings_from_config(const sy_config_t *c, sy_runtime_settings_t *s);
/* Apply the `log` section to the process logger. */
void sy_cli_apply_log(const sy_config_t *c);
/* True when argv[i] asks for help. */
bool sy_cli_is_help(const char *arg);

#endif
