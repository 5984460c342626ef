/* cmd: one file per subcommand (cmd_serve in serve.c, …), in the manner of
 * git's builtin/. Each returns the process exit status. Shared argument
 * handling lives in args.c so every command treats flags, the environment and
 * the config file the same way. */
#ifndef PORTAL_CMD_H
#define PORTAL_CMD_H

#include "config/config.h"

int cmd_serve(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_emit(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_worker(int argc, char **argv);

/* What a command accepts. settings: the CONFIG_CMD_* bits naming the rows of
 * the settings table it takes as --flag (the table says which commands take
 * each); "config" is always accepted. switches: boolean flags of its own
 * (NULL-terminated, may be NULL). */
struct cmd_spec {
	const char *name;
	const char *summary;
	unsigned settings;
	const char *const *switches;
	/* value options of the command itself, not settings (may be NULL) */
	const char *const *options;
};

#define CMD_MAX_OPTIONS 8

struct cmd_args {
	struct config_source src;
	char config_path[1024];
	int help;
	const char *switches_set[8]; /* switches given, NULL-terminated */
	char flag_names[CONFIG_MAX_FLAGS][64];
	const char *options[CMD_MAX_OPTIONS][2]; /* (name, value) given */
	char option_names[CMD_MAX_OPTIONS][32];
	int noptions;
	const char *positional[4]; /* words after the command, for sub-commands */
	int npositional;
};

/* Parses argv[1..] (argv[0] is the command name). Returns 0, or prints a clear
 * message naming the offending argument to stderr and returns 2. The config
 * path comes from --config, else PORTAL_CONFIG, else none. */
int cmd_parse(const struct cmd_spec *spec, int argc, char **argv, struct cmd_args *out);
/* The same, also accepting up to `positional` bare words (sub-commands and
 * their arguments, e.g. `token revoke NAME`). */
int cmd_parse_words(const struct cmd_spec *spec, int positional, int argc, char **argv,
		    struct cmd_args *out);
/* The value of the command option `name`, or NULL. */
const char *cmd_option(const struct cmd_args *a, const char *name);
/* Whether the switch `name` was given. */
int cmd_switch(const struct cmd_args *a, const char *name);
/* Prints `portal NAME --help` text. */
void cmd_help(const struct cmd_spec *spec, FILE *out);
/* The start every command shares: parse argv, answer --help, build the
 * config (printing its errors). Returns -1 to go on, or the exit status. */
int cmd_begin(const struct cmd_spec *spec, int argc, char **argv, struct cmd_args *args,
	      struct config *cfg);
/* Builds the config; on errors prints each as file:line:column: key: message
 * to stderr and returns 1. */
int cmd_config(const struct cmd_args *a, struct config *cfg);

struct store;
struct store_options;
struct secret_values;
/* The options to open cfg->db with: the busy timeout and, when
 * store.password_secret names a secret contract, the password resolved from
 * it (only that secret and the vault token it may need are read). The
 * password lives in *held (free with secret_values_free once the store is
 * open; NULL when there is none). Returns 0, or a PERR_* code with err
 * saying which secret is missing or unreadable and why, never a value. */
int cmd_store_options(const struct config *cfg, struct store_options *opt,
		      struct secret_values **held, struct perr *err);
/* Opens the store cfg->db names and brings its schema up to date, for
 * commands that read or write it; prints "portal NAME: why" and returns 1 on
 * failure. */
int cmd_open_store(const char *name, const struct config *cfg, struct store **out);

#endif
