/* secrets: resolves the catalogue's secret contracts (env:VAR, file:/path,
 * vault:mount/path#key over a Vault-compatible KV v2 HTTP API) into values
 * held in locked, wiped-on-free memory, and a status per secret that says
 * present / missing / unreadable and why — never the value, a token or the
 * vault's address. It blocks (file reads, one HTTP GET per vault path), so it
 * runs on the monitor thread and in `portal check`, never on a loop thread.
 * It keeps no state between calls: SIGHUP re-reads by calling it again. */
#ifndef PORTAL_SECRETS_H
#define PORTAL_SECRETS_H

#include <stddef.h>

#include "core/contract.h"
#include "util/perr.h"

/* A file secret larger than this is refused (unreadable). */
#define SECRETS_FILE_MAX (64 * 1024)
/* A vault answer larger than this is refused (unreadable). */
#define SECRETS_VAULT_BODY_MAX (1024 * 1024)
/* How long one vault request may take, connection included. */
#define SECRETS_VAULT_TIMEOUT_MS 3000

enum secret_state {
	SECRET_PRESENT,    /* resolved to a non-empty value */
	SECRET_MISSING,    /* the source has no value: unset, no file, no key */
	SECRET_UNREADABLE, /* the source exists or may exist but could not be read */
	SECRET_UNCHECKED,  /* not resolved (only before secrets_resolve fills it) */
};

/* "present", "missing", "unreadable", "unchecked". */
const char *secret_state_name(enum secret_state s);

struct secret_status {
	char name[64];          /* the secret contract's name */
	enum secret_state state;
	char detail[256];       /* why, e.g. "env TEMPORAL_TOKEN is not set"; never the value */
	/* Who needs it, ", "-separated: the components whose auth_secret is this
	 * secret, and "vault" when it is vault.token_secret. Empty = nobody. */
	char needed_by[256];
};

/* The resolved values, opaque. Each value lives in sodium_malloc'd memory
 * (guard pages, mlock'd and excluded from core dumps when the system allows;
 * plain malloc + sodium_mlock as a fallback) and is wiped when freed.
 * Best effort only past that: libcurl's request buffers and jansson's parse
 * buffers that held a token or vault answer are freed without a wipe. */
struct secret_values;

/* Resolves every secret in cat->secrets, in order. envp is an environ-style
 * array ("NAME=value", NULL-terminated; NULL = empty environment) read for
 * env: sources and nothing else. vault: secrets are read with the token that
 * vault.token_secret names (itself an env: or file: secret); each distinct
 * mount/path is fetched once per call, and after one connection failure the
 * remaining vault secrets are reported unreachable without retrying.
 *
 * On 0, *values (free with secret_values_free) holds every present secret and
 * *statuses (free with free()) holds *n == cat->nsecrets entries in catalogue
 * order; a missing or unreadable secret is a status, not an error (a vault
 * client that fails to start makes the vault: secrets unreadable). Returns a
 * negative PERR_* only when libsodium cannot start; then *values and
 * *statuses are NULL and *n is 0. Out of memory aborts, as buf does. */
int secrets_resolve(const struct catalogue *cat, char **envp, struct secret_values **values,
		    struct secret_status **statuses, size_t *n, struct perr *err);

/* Resolves the one secret `name` (and the vault token, when `name` comes
 * from the vault), for a command or request that needs only it: no other
 * source is read. On 0, *values holds it when present and *status says how
 * it stands; a name no contract declares is SECRET_MISSING with detail "not
 * declared under secrets". Errors as secrets_resolve. */
int secrets_resolve_one(const struct catalogue *cat, char **envp, const char *name,
			struct secret_values **values, struct secret_status *status,
			struct perr *err);

/* The value of the present secret `name`, or NULL. Borrowed from v: valid
 * until secret_values_free(v); do not copy it into unlocked memory longer
 * than a request needs. v may be NULL. */
const char *secret_value(const struct secret_values *v, const char *name);

/* Wipes and frees every value. NULL is fine. */
void secret_values_free(struct secret_values *v);

#endif
