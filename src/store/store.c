/* store: picks the backend a store.db value names and hands back a struct
 * store. It knows URL schemes and nothing about SQL; messages name a URL's
 * scheme only, never the rest (which may hold a password). */
#include "store/store.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/sqlite.h"

#define FIELD "store.db"

/* The length of url's "scheme" when it starts "scheme://", else 0. */
static size_t url_scheme_len(const char *url)
{
	size_t n = 0;
	if (!isalpha((unsigned char)url[0]))
		return 0;
	while (isalnum((unsigned char)url[n]) || url[n] == '+' || url[n] == '-' || url[n] == '.')
		n++;
	return strncmp(url + n, "://", 3) == 0 ? n : 0;
}

int store_open(const char *url, const struct store_options *opt, struct store **out,
	       struct perr *err)
{
	*out = NULL;
	if (!url || !*url)
		return perr_set(err, PERR_INVALID, FIELD, "store.db is empty: give a SQLite file path");
	const char *path = url;
	size_t scheme = url_scheme_len(url);
	if (scheme) {
		if ((scheme == 8 && strncasecmp(url, "postgres", 8) == 0) ||
		    (scheme == 10 && strncasecmp(url, "postgresql", 10) == 0))
			return perr_set(err, PERR_UNAVAILABLE, FIELD,
					"PostgreSQL is not built into this portal yet; use a SQLite path");
		return perr_set(err, PERR_INVALID, FIELD,
				"store.db: unsupported scheme '%.*s'; use a SQLite file path",
				scheme > 32 ? 32 : (int)scheme, url);
	}
	if (strncmp(url, "sqlite:", 7) == 0) {
		path = url + 7;
		if (!*path)
			return perr_set(err, PERR_INVALID, FIELD,
					"store.db is 'sqlite:' with no path: give sqlite:PATH");
	}
	void *impl = NULL;
	int rc = sqlite_store_open(path, opt, &impl, err);
	if (rc < 0)
		return rc;
	struct store *st = malloc(sizeof *st);
	if (!st)
		abort();
	st->ops = &sqlite_store_ops;
	st->impl = impl;
	*out = st;
	return 0;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	st->ops->close(st->impl);
	free(st);
}
