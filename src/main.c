/* portal: command dispatch only. Each command lives in src/cmd/<name>.c;
 * a command is listed here only once it works. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{"serve", cmd_serve, "run the HTTP server (pages, API, metrics)"},
	{"migrate", cmd_migrate, "apply pending database migrations and exit"},
	{"check", cmd_check, "validate the configuration and exit (1 when invalid)"},
	{"emit", cmd_emit, "append one event to the live event log"},
	{"token", cmd_token, "create, list and revoke bearer tokens for producers"},
	{"user", cmd_user, "add, disable, enable and list accounts; reset passwords"},
	{"replay", cmd_replay, "rebuild the projection from the log; print version and hash"},
	{"demo", cmd_demo, "load a realistic demo data set into the store"},
	{"worker", cmd_worker, "run approved proposals from the queue on their executors"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: portal <command> [options]\n\n"
		     "Portal is the human workflow surface of the FractalOps control plane.\n\n"
		     "commands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'portal <command> --help' describes a command's options.\n"
		     "'portal --version' prints the version.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("portal %s (%s)\n", PORTAL_VERSION, PORTAL_COMMIT);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "portal: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
