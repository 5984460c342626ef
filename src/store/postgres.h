/* postgres: the PostgreSQL backend of struct store (libpq). store.c picks it
 * for a "postgres://" or "postgresql://" URL; nothing else should need this
 * header except its tests. */
#ifndef PORTAL_STORE_POSTGRES_H
#define PORTAL_STORE_POSTGRES_H

#include "store/store.h"

/* Where this backend's migrations live in the embedded table. */
#define PG_MIGRATIONS_PREFIX "store/migrations/postgres/"
/* Connections a store keeps when store_options.pool_size is 0. */
#define PG_POOL_DEFAULT 4
#define PG_POOL_MAX 64

extern const struct store_ops pg_store_ops;

/* Opens a pool of connections to the database `url` names (a libpq URI;
 * its query parameters go to libpq as they are) and connects the first one,
 * so a wrong host or password is reported here. opt->password, when set,
 * wins over one in the URL. Messages name the URL without its password or
 * query. On success sets *impl (freed by pg_store_ops.close) and returns 0. */
int pg_store_open(const char *url, const struct store_options *opt, void **impl,
		  struct perr *err);

/* Writes url as messages may show it into out: scheme, user, host, port and
 * database; never the password nor the query (which may hold one). */
void pg_url_label(const char *url, char *out, size_t cap);

#endif
