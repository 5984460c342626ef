/* The store under test, for the store suites: PORTAL_TEST_STORE unset means
 * a SQLite file ./portal.db in a temporary directory of the test's own (as
 * before); a postgres:// URL means a fresh schema of that database for each
 * test, reached through the same URL with its search_path set. Each test
 * runs in its own process (Criterion), in its temporary directory either way.
 * The raw helpers talk to the same database behind the store's back, as a
 * person with a SQL shell would. */
#ifndef PORTAL_TEST_STORE_UNDER_TEST_H
#define PORTAL_TEST_STORE_UNDER_TEST_H

#include <criterion/criterion.h>

/* For a suite's .init: makes and enters the temporary directory (named
 * /tmp/<prefix>-XXXXXX) and, on PostgreSQL, creates the test's schema. */
void tstore_setup(const char *prefix);
/* For a suite's .fini: drops the schema and removes the directory. */
void tstore_teardown(void);

/* 1 when the store under test is PostgreSQL. */
int tstore_is_pg(void);
/* What to give store_open: "./portal.db", or the schema's postgres:// URL. */
const char *tstore_url(void);
/* How the store's messages name the database: "./portal.db", or the URL
 * without password or query. */
const char *tstore_label(void);
/* The temporary directory (messages must not name it). */
const char *tstore_dir(void);
/* Where this backend's migrations are embedded ("store/migrations/sqlite/"). */
const char *tstore_migrations_prefix(void);

/* Runs sql (several statements allowed) outside the store: 0, or -1 with
 * tstore_error() saying why. */
int tstore_exec(const char *sql);
/* Runs one statement whose single parameter ($1) is a 32-byte blob. */
int tstore_exec_blob(const char *sql, const unsigned char blob[32]);
/* The first column of the first row of sql, as an integer; asserts a row. */
long long tstore_int(const char *sql);
const char *tstore_error(void);

/* The SQL that suits the backend under test. */
#define TSTORE_SQL(sqlite_sql, pg_sql) (tstore_is_pg() ? (pg_sql) : (sqlite_sql))

/* Skips a test that looks at the SQLite file itself (its bytes, its mode,
 * its WAL) when the store under test is PostgreSQL. */
#define TSTORE_SQLITE_ONLY()                                                          \
	do {                                                                          \
		if (tstore_is_pg()) {                                                 \
			tstore_teardown(); /* a skipped test runs no .fini */         \
			cr_skip_test("looks at the SQLite file itself");              \
		}                                                                     \
	} while (0)

#endif
