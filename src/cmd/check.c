/* check: `portal check` — builds the configuration exactly as `serve` would
 * (file, PORTAL_* environment, flags) and reports every problem at once. It
 * opens no database and binds no port: it judges the settings, not the host. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"

static const char *const check_flags[] = {
	"listen", "db", "threads", "environment", "max-body-bytes", "max-header-bytes",
	"drain-timeout-ms", "busy-timeout-ms", "ready-interval-ms", "idle-after-ms", "log-level", NULL,
};

static const struct cmd_spec check_spec = {
	"check",
	"Validate the configuration (the file, PORTAL_* variables and the flags given here,\n"
	"combined as `portal serve` would) and exit: 0 and a one-line summary when valid,\n"
	"1 and every error as file:line:column: key: message when not.",
	check_flags,
	NULL,
	NULL,
};

int cmd_check(int argc, char **argv)
{
	struct cmd_args args;
	if (cmd_parse(&check_spec, argc, argv, &args) != 0)
		return 2;
	if (args.help) {
		cmd_help(&check_spec, stdout);
		return 0;
	}
	/* Not cmd_config(): the summary needs the number of errors. */
	struct config *cfg = malloc(sizeof *cfg);
	struct config_errors *errs = calloc(1, sizeof *errs);
	if (!cfg || !errs)
		abort();
	int rc = 0;
	if (config_build(cfg, &args.src, errs) < 0) {
		struct buf b = BUF_INIT;
		for (int i = 0; i < errs->n; i++) {
			config_error_format(&errs->items[i], &b);
			buf_putc(&b, '\n');
		}
		if (errs->dropped)
			buf_printf(&b, "(%d more errors not shown)\n", errs->dropped);
		int total = errs->n + errs->dropped;
		buf_printf(&b, "portal check: %d error%s\n", total, total == 1 ? "" : "s");
		fputs(buf_cstr(&b), stderr);
		buf_free(&b);
		rc = 1;
	} else {
		printf("%s: valid (%d settings; listen %s, db %s, environment %s)\n",
		       cfg->path[0] ? cfg->path : "defaults", config_setting_count(), cfg->listen,
		       cfg->db, cfg->environment);
	}
	free(errs);
	free(cfg);
	return rc;
}
