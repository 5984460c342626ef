/* sqlite_conn: the SQLite backend's plumbing — how a failure reads,
 * transactions, statements and columns. No table is named here. */
#include "store/sqlite_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A user-facing sentence for a SQLite failure on `path`. */
void lite_describe(char *out, size_t cap, const char *path, int rc, const char *msg)
{
	const char *what;
	if (rc == SQLITE_IOERR_READ || rc == SQLITE_IOERR_SHORT_READ) {
		snprintf(out, cap, "database %s is unreadable: %s", path, msg);
		return;
	}
	switch (rc & 0xff) {
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		what = "cannot be opened";
		break;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		what = "is unreadable";
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		what = "is busy";
		break;
	case SQLITE_READONLY:
		what = "is read-only";
		break;
	default:
		what = "failed";
		break;
	}
	snprintf(out, cap, "database %s %s: %s", path, what, msg);
}

int lite_fail(struct perr *err, int code, const char *path, sqlite3 *db, int rc)
{
	char why[256];
	if (db)
		rc = sqlite3_extended_errcode(db);
	lite_describe(why, sizeof why, path, rc, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	return perr_set(err, code, LITE_FIELD, "%s", why);
}

/* What a failed statement means to the caller: busy is worth a retry later,
 * anything else is the store failing. Call before finalize or ROLLBACK, which
 * replace the connection's message. */
int lite_step_fail(struct sqlite_store *s, struct perr *err, int rc)
{
	return lite_fail(err, (rc & 0xff) == SQLITE_BUSY ? PERR_UNAVAILABLE : PERR_STORE, s->label,
			 s->db, rc);
}

const char *lite_str(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);
	return v ? (const char *)v : "";
}

/* A copy of a text column that the caller frees; NULL for SQL NULL. */
char *lite_dup(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	char *v = strdup(lite_str(st, i));
	if (!v)
		abort();
	return v;
}

void lite_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int lite_begin(struct sqlite_store *s)
{
	/* IMMEDIATE: the write lock is taken before anything is read, so what
	 * a change read cannot be changed by another writer before it commits. */
	return sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
}

int lite_stmt(struct sqlite_store *s, const struct lite_query *q, sqlite3_stmt **st)
{
	for (int i = 0; i < s->nprepared; i++)
		if (s->queries[i] == q) {
			*st = s->stmts[i];
			sqlite3_reset(*st);
			sqlite3_clear_bindings(*st);
			return SQLITE_OK;
		}
	*st = NULL;
	if (s->nprepared == LITE_PREPARED_MAX)
		abort(); /* more statements than the backend has: a bug */
	int rc = sqlite3_prepare_v3(s->db, q->sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
	if (rc == SQLITE_OK) {
		s->queries[s->nprepared] = q;
		s->stmts[s->nprepared++] = *st;
	}
	return rc;
}

void lite_stmts_free(struct sqlite_store *s)
{
	for (int i = 0; i < s->nprepared; i++)
		sqlite3_finalize(s->stmts[i]);
	s->nprepared = 0;
}

int lite_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* Runs one statement to completion with parameters bound in order, as
 * `types` says: 't' text (NULL binds NULL), 'i' long long. Returns a SQLite
 * code, SQLITE_OK once done. */
int lite_run(struct sqlite_store *s, const struct lite_query *q, const char *types, ...)
{
	sqlite3_stmt *st = NULL;
	int rc = lite_stmt(s, q, &st);
	va_list ap;
	va_start(ap, types);
	for (int i = 0; rc == SQLITE_OK && types[i]; i++)
		rc = types[i] == 't' ? lite_bind_text(st, i + 1, va_arg(ap, const char *))
				     : sqlite3_bind_int64(st, i + 1, va_arg(ap, long long));
	va_end(ap);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		rc = SQLITE_OK;
	sqlite3_reset(st);
	return rc;
}
