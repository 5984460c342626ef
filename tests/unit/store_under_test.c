/* The store under test: see store_under_test.h. */
#include "store_under_test.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "store/postgres.h"
#include "store/sqlite.h"

#define DB "./portal.db"

static char dir[PATH_MAX];
static char base[1024];    /* PORTAL_TEST_STORE */
static char schema[64];
static char url[1400];
static char label[160];
static char error[512];

int tstore_is_pg(void)
{
	const char *v = getenv("PORTAL_TEST_STORE");
	return v && (strncmp(v, "postgres://", 11) == 0 || strncmp(v, "postgresql://", 13) == 0);
}

const char *tstore_url(void)
{
	return tstore_is_pg() ? url : DB;
}

const char *tstore_label(void)
{
	return tstore_is_pg() ? label : DB;
}

const char *tstore_dir(void)
{
	return dir;
}

const char *tstore_migrations_prefix(void)
{
	return tstore_is_pg() ? PG_MIGRATIONS_PREFIX : SQLITE_MIGRATIONS_PREFIX;
}

const char *tstore_error(void)
{
	return error;
}

static PGconn *pg_open(const char *u)
{
	PGconn *c = PQconnectdb(u);
	cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	return c;
}

static int pg_do(const char *u, const char *sql)
{
	PGconn *c = pg_open(u);
	PGresult *r = PQexec(c, sql);
	int st = PQresultStatus(r);
	int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
	if (rc < 0)
		snprintf(error, sizeof error, "%s", PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
	return rc;
}

void tstore_setup(const char *prefix)
{
	snprintf(dir, sizeof dir, "/tmp/%s-XXXXXX", prefix);
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(chdir(dir), 0);
	if (!tstore_is_pg())
		return;
	snprintf(base, sizeof base, "%s", getenv("PORTAL_TEST_STORE"));
	/* Unique across the processes Criterion runs at once and across runs. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(schema, sizeof schema, "t_%d_%ld_%ld", (int)getpid(), (long)ts.tv_sec,
		 ts.tv_nsec / 1000);
	char sql[128];
	snprintf(sql, sizeof sql, "CREATE SCHEMA %s", schema);
	cr_assert_eq(pg_do(base, sql), 0, "%s", error);
	snprintf(url, sizeof url, "%s%soptions=-csearch_path%%3D%s", base,
		 strchr(base, '?') ? "&" : "?", schema);
	pg_url_label(url, label, sizeof label);
}

void tstore_teardown(void)
{
	if (tstore_is_pg() && schema[0]) {
		char sql[128];
		snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", schema);
		pg_do(base, sql);
		schema[0] = '\0';
	}
	if (!dir[0] || chdir("/") != 0)
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char p[PATH_MAX + 300];
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (unlink(p) != 0)
			rmdir(p);
	}
	closedir(d);
	rmdir(dir);
	dir[0] = '\0';
}

static sqlite3 *lite(void)
{
	sqlite3 *db = NULL;
	cr_assert_eq(sqlite3_open_v2(DB, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
		     SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

int tstore_exec(const char *sql)
{
	error[0] = '\0';
	if (tstore_is_pg())
		return pg_do(url, sql);
	sqlite3 *db = lite();
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		snprintf(error, sizeof error, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

int tstore_exec_blob(const char *sql, const unsigned char blob[32])
{
	error[0] = '\0';
	if (tstore_is_pg()) {
		PGconn *c = pg_open(url);
		const char *vals[] = {(const char *)blob};
		int lens[] = {32}, fmts[] = {1};
		PGresult *r = PQexecParams(c, sql, 1, NULL, vals, lens, fmts, 0);
		int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
		if (rc < 0)
			snprintf(error, sizeof error, "%s", PQresultErrorMessage(r));
		PQclear(r);
		PQfinish(c);
		return rc;
	}
	sqlite3 *db = lite();
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(s, 1, blob, 32, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	if (rc != SQLITE_OK)
		snprintf(error, sizeof error, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

long long tstore_int(const char *sql)
{
	if (tstore_is_pg()) {
		PGconn *c = pg_open(url);
		PGresult *r = PQexec(c, sql);
		cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql,
			     PQresultErrorMessage(r));
		cr_assert_geq(PQntuples(r), 1, "%s", sql);
		long long v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
		PQfinish(c);
		return v;
	}
	sqlite3 *db = lite();
	sqlite3_stmt *s = NULL;
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK, "%s: %s", sql,
		     sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(s), SQLITE_ROW, "%s", sql);
	long long v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}
