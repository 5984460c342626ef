/* validation: what `portal check` reports about a valid configuration's
 * secrets, computed once for the command and for the pages that show it.
 * It judges statuses already resolved (secrets_resolve does the I/O, on the
 * check command's thread or serve's main thread), so it never blocks and
 * never sees a value. Configuration errors are not here: a configuration
 * with any is refused by serve, and check prints config_build's list. */
#ifndef PORTAL_VALIDATION_H
#define PORTAL_VALIDATION_H

#include <stddef.h>

#include "util/buf.h"

struct app;
struct config;
struct project_contract;
struct secret_status;

/* One secret check reports: declared, not present. */
struct validation_item {
	char secret[64];     /* the contract's name, never its value */
	char state[16];      /* "missing", "unreadable", "unchecked" */
	char detail[256];    /* why, from secrets_resolve; never a value or the vault's address */
	char needed_by[512]; /* components, "vault", settings keys, proposal kinds; "" = nobody */
};

struct validation {
	struct validation_item *items; /* every secret not present, in catalogue order */
	size_t nitems;
	size_t problems; /* the items something needs: what check counts and exits 1 on */
	int unresolved;  /* serve has not resolved the secrets yet: nothing is known */
};

/* Judges cfg's secrets by their statuses sts[0..n) (from secrets_resolve
 * over cfg's catalogue). out is filled; free with validation_free. */
void validation_judge(const struct config *cfg, const struct secret_status *sts, size_t n,
		      struct validation *out);

/* The same over the statuses serve resolved last (app_set_secrets), for
 * the configuration in force cfg. Takes a->lock briefly; any thread. */
void validation_of_app(struct app *a, const struct config *cfg, struct validation *out);

void validation_free(struct validation *v);

/* check's line for one item, without the newline:
 * "secret NAME: STATE (DETAIL); needed by WHO" or "...; not needed by anything". */
void validation_item_line(const struct validation_item *it, struct buf *b);
/* check's closing line when problems > 0:
 * "portal check: N needed secret(s) missing or unreadable". */
void validation_summary_line(const struct validation *v, struct buf *b);

/* Whether item it concerns project pc: the project lists the secret, or one
 * of its components authenticates with it. */
int validation_concerns(const struct config *cfg, const struct validation_item *it,
			const struct project_contract *pc);

#endif
