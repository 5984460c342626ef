/* check: `portal check` — builds the configuration exactly as `serve` and
 * `worker` would (file, PORTAL_* environment, every flag either takes) and
 * reports every problem at once. It binds no port and, without --audit,
 * opens no database: it judges the settings, not the host. With --audit it
 * verifies the proposal audit chain of an existing database instead,
 * changing nothing in it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/secrets.h"
#include "app/validation.h"
#include "cmd/cmd.h"
#include "store/store.h"

static const char *const check_switches[] = {"audit", NULL};

static const struct cmd_spec check_spec = {
	"check",
	"Validate the configuration (the file, PORTAL_* variables and the flags given here,\n"
	"combined as `portal serve` and `portal worker` would: every flag of either is taken)\n"
	"and exit: 0 and a one-line summary when valid, 1 and every error as\n"
	"file:line:column: key: message when not. A valid configuration's secrets are then\n"
	"resolved (env:, file:, vault:) and each one that is missing or unreadable is reported\n"
	"with the components that need it, never its value; exit 1 when one that something\n"
	"needs is missing or unreadable.\n"
	"With --audit, instead verify the proposal audit log of the database (--db): recompute\n"
	"every row's hash and its link to the row before; 0 and \"audit: N rows, chain intact\",\n"
	"or 1 naming the first broken row. The database is not changed or migrated.",
	CONFIG_CMD_CHECK,
	check_switches,
	NULL,
};

/* Resolves every secret contract and prints one line per secret that is not
 * present, with why and who needs it (never a value), as validation_judge
 * words them for the pages too. Returns 1 when a secret that something needs
 * (a component, the vault token, the store, a proposal kind, a proof plane
 * or DataHub) is missing or unreadable. */
static int check_secrets(const struct config *cfg, char **envp)
{
	const struct catalogue *cat = &cfg->catalogue;
	if (!cat->nsecrets)
		return 0;
	struct secret_values *values;
	struct secret_status *sts;
	size_t n;
	struct perr err;
	if (secrets_resolve(cat, envp, &values, &sts, &n, &err) < 0) {
		fprintf(stderr, "portal check: cannot resolve secrets: %s\n", err.msg);
		return 1;
	}
	secret_values_free(values); /* check judges presence; it keeps no value */
	struct validation v;
	validation_judge(cfg, sts, n, &v);
	free(sts);
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < v.nitems; i++) {
		validation_item_line(&v.items[i], &b);
		buf_putc(&b, '\n');
	}
	if (v.problems) {
		validation_summary_line(&v, &b);
		buf_putc(&b, '\n');
	}
	fputs(buf_cstr(&b), stderr);
	buf_free(&b);
	int rc = v.problems ? 1 : 0;
	validation_free(&v);
	return rc;
}

/* `check --audit`: the chain of an existing, current database. */
static int check_audit(const struct config *cfg)
{
	struct store *st = NULL;
	struct store_status status;
	struct store_audit_check res;
	struct perr err;
	perr_clear(&err);
	struct store_options sopt;
	struct secret_values *held = NULL;
	int rc = cmd_store_options(cfg, &sopt, &held, &err);
	if (rc == 0)
		rc = store_open_existing(cfg->db, &sopt, &st, &err);
	secret_values_free(held);
	if (rc == 0)
		rc = store_check(st, &status, &err);
	if (rc == 0)
		rc = store_audit_verify(st, &res, &err);
	store_close(st);
	if (rc < 0) {
		fprintf(stderr, "portal check: %s\n", err.msg);
		return 1;
	}
	if (res.bad_seq) {
		fprintf(stderr, "audit: row %lld (proposal %s) is broken: %s\n", res.bad_seq,
			res.bad_proposal, res.what);
		return 1;
	}
	printf("audit: %lld row%s, chain intact\n", res.rows, res.rows == 1 ? "" : "s");
	return 0;
}

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
	} else if (cmd_switch(&args, "audit")) {
		rc = check_audit(cfg);
		config_dispose(cfg);
	} else {
		const struct catalogue *cat = &cfg->catalogue;
		size_t owned = 0;
		for (size_t i = 0; i < cat->ncomponents; i++)
			owned += cat->components[i].ownership == OWNERSHIP_OWNED;
		size_t endpoints = cat->ncomponents - owned;
		char db[160];
		store_url_label(cfg->db, db, sizeof db);
		printf("%s: valid (%d settings; listen %s, db %s, environment %s, mode %s; "
		       "%zu component%s (%zu owned, %zu endpoint%s), %zu project%s, %zu proposal "
		       "kind%s, %zu secret contract%s)\n",
		       cfg->path[0] ? cfg->path : "defaults", config_setting_count(), cfg->listen,
		       db, cfg->environment, cat->dev_mode ? "dev" : "production",
		       cat->ncomponents, cat->ncomponents == 1 ? "" : "s", owned, endpoints,
		       endpoints == 1 ? "" : "s", cat->nprojects, cat->nprojects == 1 ? "" : "s",
		       cat->nkinds, cat->nkinds == 1 ? "" : "s", cat->nsecrets,
		       cat->nsecrets == 1 ? "" : "s");
		rc = check_secrets(cfg, args.src.envp);
		config_dispose(cfg);
	}
	free(errs);
	free(cfg);
	return rc;
}
