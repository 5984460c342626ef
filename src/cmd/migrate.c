/* migrate: `portal migrate` — opens the store named by store.db (creating a
 * SQLite file if missing) and applies the migrations this binary carries.
 * Safe to run twice; refuses a database newer than the binary. It starts no
 * server and does not touch anything but the database. */
#include <stdio.h>

#include "adapters/secrets.h"
#include "cmd/cmd.h"
#include "store/store.h"

static const struct cmd_spec migrate_spec = {
	"migrate",
	"Create the database if it is missing and apply every pending schema migration,\n"
	"each in its own transaction. Running it again changes nothing. A database made\n"
	"by a newer portal is refused, untouched.",
	CONFIG_CMD_MIGRATE,
	NULL,
	NULL,
};

int cmd_migrate(int argc, char **argv)
{
	struct cmd_args args;
	struct config cfg;
	int rc0 = cmd_begin(&migrate_spec, argc, argv, &args, &cfg);
	if (rc0 >= 0)
		return rc0;
	log_set_level(cfg.log_level);

	struct perr err;
	perr_clear(&err);
	struct store *store = NULL;
	struct store_options sopt;
	struct secret_values *held = NULL;
	int rc = cmd_store_options(&cfg, &sopt, &held, &err);
	if (rc == 0)
		rc = store_open(cfg.db, &sopt, &store, &err);
	secret_values_free(held);
	if (rc < 0) {
		fprintf(stderr, "portal migrate: %s\n", err.msg);
		return 1;
	}
	int from = 0, to = 0;
	rc = store_migrate(store, &from, &to, &err);
	store_close(store);
	if (rc < 0) {
		fprintf(stderr, "portal migrate: %s\n", err.msg);
		return 1;
	}
	char label[160];
	store_url_label(cfg.db, label, sizeof label);
	if (from == to)
		printf("%s: schema up to date at version %d\n", label, to);
	else
		printf("%s: migrated from schema version %d to %d\n", label, from, to);
	return 0;
}
