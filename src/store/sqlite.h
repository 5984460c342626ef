/* sqlite: the embedded SQLite backend of struct store. store.c picks it for a
 * plain path or "sqlite:PATH"; nothing else should need this header except
 * its tests. */
#ifndef PORTAL_STORE_SQLITE_H
#define PORTAL_STORE_SQLITE_H

#include <stddef.h>

#include "store/rules.h"
#include "store/store.h"
#include "util/embedded.h"

/* Where this backend's migrations live in the embedded table. */
#define SQLITE_MIGRATIONS_PREFIX "store/migrations/sqlite/"
/* The most migrations one binary may carry (a named limit, not a guess). */
#define SQLITE_MIGRATIONS_MAX STORE_MIGRATIONS_MAX

extern const struct store_ops sqlite_store_ops;

/* Opens (creating if missing) the database file at `path` in WAL mode with
 * foreign keys on and synchronous=FULL. opt may be NULL (defaults). On success
 * sets *impl (freed by sqlite_store_ops.close) and returns 0; otherwise
 * returns a PERR_* code with err filled (field "store.db"). `path` is copied. */
int sqlite_store_open(const char *path, const struct store_options *opt, void **impl,
		      struct perr *err);

/* Picks this backend's migrations out of files[0..n): those named
 * SQLITE_MIGRATIONS_PREFIX "NNNN_name.sql". Fills out[i] with migration i+1
 * (borrowed pointers into files) and *count with how many there are. A name
 * that does not parse, a duplicate number, or a gap in 1..N is PERR_INTERNAL:
 * the binary was built wrong. Exposed for tests. */
int sqlite_migrations_plan(const struct embedded_file *files, size_t n,
			   const struct embedded_file **out, int *count, struct perr *err);

#endif
