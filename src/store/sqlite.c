/* sqlite: the SQLite backend of struct store — one main connection (WAL,
 * foreign keys, synchronous=FULL), migrations embedded in the binary, and a
 * readiness check that looks at the file afresh each time. Values only ever
 * reach SQL through bound parameters. It does not retry, log, or decide what
 * an error means to the user: it reports, the caller decides. */
#include "store/sqlite.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "core/audit.h"
#include "core/proposal.h"
#include "core/role.h"
#include "store/backend.h"
#include "store/planes.h"
#include "store/rules.h"
#include "util/clock.h"

#define FIELD "store.db"
#define DEFAULT_BUSY_TIMEOUT_MS 5000
/* Every SQLite file starts with these 16 bytes (the header string and NUL). */
static const char SQLITE_MAGIC[16] = "SQLite format 3";

struct sqlite_store {
	sqlite3 *db;          /* the main connection */
	pthread_mutex_t lock; /* one transaction at a time on db */
	char label[128];      /* the path as the user gave it, shortened: for messages */
	char open_path[1024]; /* what we hand to SQLite (see sqlite_store_open) */
	int busy_timeout_ms;
	/* Immutable after open, so check() may read them from any thread. */
	const struct embedded_file *migs[STORE_MIGRATIONS_MAX];
	int nmigs;
	/* Prepared once, used under lock. */
	sqlite3_stmt *st_insert, *st_seq, *st_scan;
	/* The failure of the change under way (proposals.c reports it at its
	 * end, after a ROLLBACK would have replaced the connection's words). */
	int tx_rc, tx_ext;
	char tx_msg[200];
};

/* --- migrations plan --------------------------------------------------- */

int sqlite_migrations_plan(const struct embedded_file *files, size_t n,
			   const struct embedded_file **out, int *count, struct perr *err)
{
	return store_migrations_plan(SQLITE_MIGRATIONS_PREFIX, files, n, out, count, err);
}

/* --- small helpers ----------------------------------------------------- */

/* A user-facing sentence for a SQLite failure on `path`. */
static void describe(char *out, size_t cap, const char *path, int rc, const char *msg)
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

static int fail(struct perr *err, int code, const char *path, sqlite3 *db, int rc)
{
	char why[256];
	if (db)
		rc = sqlite3_extended_errcode(db);
	describe(why, sizeof why, path, rc, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	return perr_set(err, code, FIELD, "%s", why);
}

/* Runs a single-row, single-integer query. Returns a SQLite code. */
static int query_int(sqlite3 *db, const char *sql, int *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int(st, 0);
			rc = SQLITE_OK;
		} else if (rc == SQLITE_DONE) {
			*out = 0;
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

static int table_exists(sqlite3 *db, const char *name, int *exists)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
		db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", -1,
		&st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*exists = sqlite3_column_int(st, 0) > 0;
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

static const char VERSION_SQL[] = "SELECT coalesce(max(version), 0) FROM schema_migrations";

/* --- open / close ------------------------------------------------------ */

int sqlite_store_open(const char *path, const struct store_options *opt, void **impl,
		      struct perr *err)
{
	*impl = NULL;
	if (!path || !*path)
		return perr_set(err, PERR_INVALID, FIELD, "store.db is empty: give a SQLite file path");
	struct sqlite_store *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	/* A relative path that starts with "file:" would be read as a URI by a
	 * SQLite built with URI filenames on; "./" keeps it a plain path. */
	int uri_like = strncmp(path, "file:", 5) == 0;
	size_t plen = strlen(path);
	if (plen > sizeof s->open_path - 3) {
		free(s);
		return perr_set(err, PERR_TOO_LARGE, FIELD, "store.db is longer than %zu bytes",
				sizeof s->open_path - 3);
	}
	snprintf(s->open_path, sizeof s->open_path, "%s%s", uri_like ? "./" : "", path);
	if (plen < sizeof s->label)
		memcpy(s->label, path, plen + 1);
	else /* keep the end: the file name is what tells paths apart */
		snprintf(s->label, sizeof s->label, "...%s", path + plen - (sizeof s->label - 4));
	s->busy_timeout_ms = opt && opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms
							      : DEFAULT_BUSY_TIMEOUT_MS;
	int rc = sqlite_migrations_plan(embedded_files, embedded_count, s->migs, &s->nmigs, err);
	if (rc < 0) {
		free(s);
		return rc;
	}

	rc = sqlite3_open_v2(s->open_path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = fail(err, PERR_IO, s->label, s->db, rc);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, s->busy_timeout_ms);

	sqlite3_stmt *st = NULL;
	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = fail(err, PERR_STORE, s->label, s->db, rc);
		sqlite3_finalize(st);
		goto fail;
	}
	const char *mode = (const char *)sqlite3_column_text(st, 0);
	if (!mode || strcasecmp(mode, "wal") != 0) {
		rc = perr_set(err, PERR_STORE, FIELD,
			      "database %s cannot use write-ahead logging (journal mode stays '%s')",
			      s->label, mode ? mode : "?");
		sqlite3_finalize(st);
		goto fail;
	}
	sqlite3_finalize(st);
	rc = sqlite3_exec(s->db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL", NULL, NULL,
			  NULL);
	if (rc != SQLITE_OK) {
		rc = fail(err, PERR_STORE, s->label, s->db, rc);
		goto fail;
	}
	pthread_mutex_init(&s->lock, NULL);
	*impl = s;
	return 0;
fail:
	sqlite3_close_v2(s->db);
	free(s);
	return rc;
}

static void sqlite_close(void *impl)
{
	struct sqlite_store *s = impl;
	if (!s)
		return;
	sqlite3_finalize(s->st_insert);
	sqlite3_finalize(s->st_seq);
	sqlite3_finalize(s->st_scan);
	/* The last connection to close checkpoints the WAL and removes it. */
	sqlite3_close_v2(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* --- migrate ----------------------------------------------------------- */

static void rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

/* Applies migration v (1-based) in its own transaction, with its
 * schema_migrations row. Re-reads the version under the write lock, so two
 * migrators racing on one file apply each migration once. */
static int apply_one(struct sqlite_store *s, int v, struct perr *err)
{
	const struct embedded_file *m = s->migs[v - 1];
	const char *base = m->name + strlen(SQLITE_MIGRATIONS_PREFIX);
	char why[256];
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		describe(why, sizeof why, s->label, rc, sqlite3_errmsg(s->db));
		return perr_set(err, PERR_STORE, FIELD, "cannot start migration %s: %s", m->name,
				why);
	}
	int current = 0;
	rc = query_int(s->db, VERSION_SQL, &current);
	if (rc == SQLITE_OK && current >= v) {
		/* Another migrator got here first; nothing was written. */
		if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			rollback(s->db);
		return 0;
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, (const char *)m->data, NULL, NULL, NULL);
	sqlite3_stmt *st = NULL;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db,
					"INSERT INTO schema_migrations (version, name, applied_at) "
					"VALUES (?1, ?2, ?3)",
					-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 1, v);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, base, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, clock_wall_ms());
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->db);
	sqlite3_finalize(st);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		/* Copy the message first: ROLLBACK replaces it. */
		snprintf(why, sizeof why, "%s", sqlite3_errmsg(s->db));
		rollback(s->db);
		return perr_set(err, PERR_STORE, FIELD, "migration %s failed on database %s: %s",
				m->name, s->label, why);
	}
	return 0;
}

static int sqlite_migrate(void *impl, int *from, int *to, struct perr *err)
{
	struct sqlite_store *s = impl;
	int current = 0, rc = 0;
	pthread_mutex_lock(&s->lock);
	int src = sqlite3_exec(s->db,
			       "CREATE TABLE IF NOT EXISTS schema_migrations ("
			       "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
			       "applied_at INTEGER NOT NULL)",
			       NULL, NULL, NULL);
	if (src == SQLITE_OK)
		src = query_int(s->db, VERSION_SQL, &current);
	if (src != SQLITE_OK) {
		rc = fail(err, PERR_STORE, s->label, s->db, src);
		goto out;
	}
	if (from)
		*from = current;
	if (current > s->nmigs) {
		char msg[256];
		store_newer_msg(msg, sizeof msg, s->label, current, s->nmigs);
		rc = perr_set(err, PERR_SCHEMA, FIELD, "%s", msg);
		goto out;
	}
	for (int v = current + 1; v <= s->nmigs && rc == 0; v++) {
		rc = apply_one(s, v, err);
		if (rc == 0)
			current = v;
	}
out:
	if (to)
		*to = current;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* --- check ------------------------------------------------------------- */

/* Whether the file still starts with the SQLite header. With WAL the main
 * connection (and a fresh one) could keep serving pages from the -wal file
 * after the database itself was overwritten, so look at the bytes. */
/* Whether the database file itself starts with SQLite's header. Read through
 * the connection's own file handle: opening and closing the file outside
 * SQLite would drop this process's POSIX locks on it, and another process
 * could then checkpoint and delete the WAL under the running server. */
static int header_ok(sqlite3 *db)
{
	sqlite3_file *f = NULL;
	char head[16];
	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK || !f ||
	    !f->pMethods)
		return 0;
	if (f->pMethods->xRead(f, head, sizeof head, 0) != SQLITE_OK)
		return 0;
	return memcmp(head, SQLITE_MAGIC, sizeof head) == 0;
}

/* Reads version and instance id through a fresh read-only connection. Fills
 * st->reason and returns a SQLite code on failure. */
static int look(const struct sqlite_store *s, struct store_status *st)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(s->open_path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX,
				 NULL);
	if (rc == SQLITE_OK) {
		sqlite3_extended_result_codes(db, 1);
		sqlite3_busy_timeout(db, s->busy_timeout_ms);
		if (!header_ok(db)) {
			sqlite3_close_v2(db);
			snprintf(st->reason, sizeof st->reason,
				 "database %s is unreadable: file is not a database", s->label);
			return SQLITE_NOTADB;
		}
	}
	int has_versions = 0, has_instance = 0;
	if (rc == SQLITE_OK)
		rc = table_exists(db, "schema_migrations", &has_versions);
	if (rc == SQLITE_OK && has_versions)
		rc = query_int(db, VERSION_SQL, &st->schema_version);
	if (rc == SQLITE_OK)
		rc = table_exists(db, "portal_instance", &has_instance);
	if (rc == SQLITE_OK && has_instance) {
		sqlite3_stmt *q = NULL;
		rc = sqlite3_prepare_v2(db, "SELECT id FROM portal_instance LIMIT 1", -1, &q, NULL);
		if (rc == SQLITE_OK) {
			rc = sqlite3_step(q);
			if (rc == SQLITE_ROW) {
				const unsigned char *id = sqlite3_column_text(q, 0);
				snprintf(st->instance_id, sizeof st->instance_id, "%s",
					 id ? (const char *)id : "");
			}
			if (rc == SQLITE_ROW || rc == SQLITE_DONE)
				rc = SQLITE_OK;
		}
		sqlite3_finalize(q);
	}
	if (rc != SQLITE_OK)
		describe(st->reason, sizeof st->reason, s->label,
			 db ? sqlite3_extended_errcode(db) : rc,
			 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_close_v2(db);
	return rc;
}

static int sqlite_check(void *impl, struct store_status *st, struct perr *err)
{
	const struct sqlite_store *s = impl;
	memset(st, 0, sizeof *st);
	st->schema_latest = s->nmigs;
	if (look(s, st) == SQLITE_OK)
		store_readiness_verdict(st, s->label, s->nmigs);
	if (st->ready)
		return 0;
	return perr_set(err, PERR_UNAVAILABLE, FIELD, "%s", st->reason);
}

/* --- portal_live_events -------------------------------------------------- */

static int prepare(struct sqlite_store *s, sqlite3_stmt **st, const char *sql)
{
	if (*st) {
		sqlite3_reset(*st);
		sqlite3_clear_bindings(*st);
		return SQLITE_OK;
	}
	return sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
}

static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* Stores one event, or finds the seq of its id. Returns a SQLite code. */
static int append_one(struct sqlite_store *s, const struct event *ev, long long now,
		      long long *seq, int *fresh)
{
	int rc = prepare(s, &s->st_insert,
			 "INSERT INTO portal_live_events "
			 "(id, ts, source, type, project, session, data, received_at) "
			 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO NOTHING");
	if (rc != SQLITE_OK)
		return rc;
	char *data = json_dumps(ev->data, JSON_COMPACT);
	if (!data)
		return SQLITE_NOMEM;
	sqlite3_stmt *st = s->st_insert;
	bind_text(st, 1, ev->id);
	sqlite3_bind_int64(st, 2, ev->ts);
	bind_text(st, 3, ev->source ? ev->source : "unknown");
	bind_text(st, 4, ev->type);
	bind_text(st, 5, ev->project);
	bind_text(st, 6, ev->session);
	sqlite3_bind_text(st, 7, data, -1, free);
	sqlite3_bind_int64(st, 8, now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return rc;
	if (sqlite3_changes(s->db) == 1) {
		*seq = sqlite3_last_insert_rowid(s->db);
		*fresh = 1;
		return SQLITE_OK;
	}
	rc = prepare(s, &s->st_seq, "SELECT seq FROM portal_live_events WHERE id = ?1");
	if (rc != SQLITE_OK)
		return rc;
	bind_text(s->st_seq, 1, ev->id);
	rc = sqlite3_step(s->st_seq);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(s->st_seq, 0);
		*fresh = 0;
		rc = SQLITE_OK;
	}
	sqlite3_reset(s->st_seq);
	return rc;
}

static int sqlite_append(void *impl, struct store_batch *const *batches, size_t n,
			 struct perr *err)
{
	struct sqlite_store *s = impl;
	long long now = clock_wall_ms();
	pthread_mutex_lock(&s->lock);
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = fail(err, (rc & 0xff) == SQLITE_BUSY ? PERR_UNAVAILABLE : PERR_STORE, s->label,
			  s->db, rc);
		pthread_mutex_unlock(&s->lock);
		return rc;
	}
	for (size_t b = 0; b < n; b++) {
		struct store_batch *bt = batches[b];
		bt->rc = 0;
		rc = sqlite3_exec(s->db, "SAVEPOINT batch", NULL, NULL, NULL);
		for (size_t i = 0; rc == SQLITE_OK && i < bt->n; i++)
			rc = append_one(s, &bt->evs[i], now, &bt->seqs[i], &bt->fresh[i]);
		if (rc != SQLITE_OK) {
			bt->rc = fail(&bt->err, PERR_STORE, s->label, s->db, rc);
			sqlite3_exec(s->db, "ROLLBACK TO batch", NULL, NULL, NULL);
		}
		sqlite3_exec(s->db, "RELEASE batch", NULL, NULL, NULL);
	}
	rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = fail(err, PERR_STORE, s->label, s->db, rc);
		rollback(s->db);
		pthread_mutex_unlock(&s->lock);
		return rc;
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static long long sqlite_scan(void *impl, long long after, long long limit, store_event_fn fn,
			     void *arg, struct perr *err)
{
	struct sqlite_store *s = impl;
	long long count = 0;
	pthread_mutex_lock(&s->lock);
	int rc = prepare(s, &s->st_scan,
			 "SELECT seq, id, ts, source, type, project, session, data "
			 "FROM portal_live_events WHERE seq > ?1 ORDER BY seq LIMIT ?2");
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s->st_scan, 1, after);
		sqlite3_bind_int64(s->st_scan, 2, limit > 0 ? limit : -1);
		while ((rc = sqlite3_step(s->st_scan)) == SQLITE_ROW) {
			sqlite3_stmt *st = s->st_scan;
			struct event ev;
			ev.seq = sqlite3_column_int64(st, 0);
			ev.id = (const char *)sqlite3_column_text(st, 1);
			ev.ts = sqlite3_column_int64(st, 2);
			ev.source = (const char *)sqlite3_column_text(st, 3);
			ev.type = (const char *)sqlite3_column_text(st, 4);
			ev.project = (const char *)sqlite3_column_text(st, 5);
			ev.session = (const char *)sqlite3_column_text(st, 6);
			ev.data = json_loadb((const char *)sqlite3_column_blob(st, 7),
					     (size_t)sqlite3_column_bytes(st, 7), 0, NULL);
			if (!json_is_object(ev.data)) { /* never written so; keep going honestly */
				json_decref(ev.data);
				ev.data = json_object();
			}
			int stop = fn(arg, &ev) < 0;
			json_decref(ev.data);
			count++;
			if (stop) {
				rc = SQLITE_DONE;
				break;
			}
		}
		sqlite3_reset(s->st_scan);
	}
	long long out = count;
	if (rc != SQLITE_DONE)
		out = fail(err, PERR_STORE, s->label, s->db, rc);
	pthread_mutex_unlock(&s->lock);
	return out;
}

static int sqlite_history(void *impl, int days,
			  int (*fn)(void *arg, const char *day, const char *type, long long n),
			  void *arg, struct perr *err)
{
	const struct sqlite_store *s = impl;
	/* A connection of its own, read-only: a long scan never holds up the
	 * writer. */
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(s->open_path, &db, SQLITE_OPEN_READONLY, NULL);
	sqlite3_stmt *st = NULL;
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, s->busy_timeout_ms);
		rc = sqlite3_prepare_v2(
			db,
			"SELECT strftime('%Y-%m-%d', ts / 1000, 'unixepoch') AS day, type, count(*) "
			"FROM portal_live_events "
			"WHERE ?1 <= 0 OR ts >= (SELECT max(ts) FROM portal_live_events) - ?1 * 86400000 "
			"GROUP BY day, type ORDER BY day DESC, type LIMIT 10000",
			-1, &st, NULL);
	}
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, days);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if (fn(arg, (const char *)sqlite3_column_text(st, 0),
			       (const char *)sqlite3_column_text(st, 1),
			       sqlite3_column_int64(st, 2)) < 0) {
				rc = SQLITE_DONE;
				break;
			}
	}
	int out = 0;
	if (rc != SQLITE_DONE)
		out = fail(err, PERR_STORE, s->label, db, rc);
	sqlite3_finalize(st);
	sqlite3_close_v2(db);
	return out;
}

/* --- portal_tokens ------------------------------------------------------- */

static int sqlite_token_add(void *impl, const struct store_token *t, struct perr *err)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->lock);
	int rc = sqlite3_prepare_v2(s->db,
				    "INSERT INTO portal_tokens (id, name, scopes, hash, created_at) "
				    "VALUES (?1, ?2, ?3, ?4, ?5)",
				    -1, &st, NULL);
	if (rc == SQLITE_OK) {
		bind_text(st, 1, t->id);
		bind_text(st, 2, t->name);
		bind_text(st, 3, t->scopes);
		sqlite3_bind_blob(st, 4, t->hash, STORE_TOKEN_HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, t->created_at);
		rc = sqlite3_step(st);
	}
	int out = 0;
	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY ||
	    (rc & 0xff) == SQLITE_CONSTRAINT)
		out = perr_set(err, PERR_CONFLICT, "name", "a token named '%s' already exists",
			       t->name);
	else if (rc != SQLITE_DONE)
		out = fail(err, PERR_STORE, s->label, s->db, rc);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return out;
}

static int sqlite_token_revoke(void *impl, const char *name, long long at_ms, struct perr *err)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->lock);
	int rc = sqlite3_prepare_v2(s->db,
				    "UPDATE portal_tokens SET revoked_at = ?1 "
				    "WHERE name = ?2 AND revoked_at IS NULL",
				    -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, at_ms);
		bind_text(st, 2, name);
		rc = sqlite3_step(st);
	}
	int out = 0;
	if (rc != SQLITE_DONE)
		out = fail(err, PERR_STORE, s->label, s->db, rc);
	else if (sqlite3_changes(s->db) == 0)
		out = perr_set(err, PERR_NOT_FOUND, "name", "no live token is named '%s'", name);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return out;
}

static int sqlite_tokens(void *impl, store_token_fn fn, void *arg, struct perr *err)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->lock);
	int rc = sqlite3_prepare_v2(s->db,
				    "SELECT id, name, scopes, hash, created_at, revoked_at "
				    "FROM portal_tokens ORDER BY created_at, name",
				    -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_token t;
		memset(&t, 0, sizeof t);
		snprintf(t.id, sizeof t.id, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(t.name, sizeof t.name, "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(t.scopes, sizeof t.scopes, "%s", (const char *)sqlite3_column_text(st, 2));
		if (sqlite3_column_bytes(st, 3) == STORE_TOKEN_HASH_LEN)
			memcpy(t.hash, sqlite3_column_blob(st, 3), STORE_TOKEN_HASH_LEN);
		t.created_at = sqlite3_column_int64(st, 4);
		t.revoked_at = sqlite3_column_int64(st, 5);
		if (fn(arg, &t) < 0) {
			rc = SQLITE_DONE;
			break;
		}
		rc = SQLITE_OK;
	}
	int out = 0;
	if (rc != SQLITE_DONE)
		out = fail(err, PERR_STORE, s->label, s->db, rc);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return out;
}

/* --- portal_users and portal_logins -------------------------------------- */

/* What a failed statement means to the caller: busy is worth a retry later,
 * anything else is the store failing. Call before finalize or ROLLBACK, which
 * replace the connection's message. */
static int step_fail(struct sqlite_store *s, struct perr *err, int rc)
{
	return fail(err, (rc & 0xff) == SQLITE_BUSY ? PERR_UNAVAILABLE : PERR_STORE, s->label,
		    s->db, rc);
}

static const char *column_str(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);
	return v ? (const char *)v : "";
}

#define USER_COLUMNS "id, name, role, pw_hash, disabled, created_at, updated_at"

/* Fills u from a row of USER_COLUMNS; -1 when its role is not one this
 * binary knows (only a hand edit past the schema's CHECK could do that). */
static int user_from_row(sqlite3_stmt *st, struct store_user *u)
{
	memset(u, 0, sizeof *u);
	u->id = sqlite3_column_int64(st, 0);
	snprintf(u->name, sizeof u->name, "%s", column_str(st, 1));
	u->role = role_parse(column_str(st, 2));
	snprintf(u->pw_hash, sizeof u->pw_hash, "%s", column_str(st, 3));
	u->disabled = sqlite3_column_int(st, 4) != 0;
	u->created_at = sqlite3_column_int64(st, 5);
	u->updated_at = sqlite3_column_int64(st, 6);
	return u->role < 0 ? -1 : 0;
}

static int unknown_role(struct perr *err, sqlite3_stmt *st)
{
	return perr_set(err, PERR_STORE, FIELD, "account '%s' has role '%s', which this portal "
			"does not know", column_str(st, 1), column_str(st, 2));
}

static int sqlite_user_add(void *impl, struct store_user *u, struct perr *err)
{
	struct sqlite_store *s = impl;
	int out = 0;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->lock);
	int rc = sqlite3_prepare_v2(s->db,
				    "INSERT INTO portal_users "
				    "(name, role, pw_hash, disabled, created_at, updated_at) "
				    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
				    -1, &st, NULL);
	if (rc == SQLITE_OK) {
		bind_text(st, 1, u->name);
		bind_text(st, 2, role_name(u->role));
		bind_text(st, 3, u->pw_hash);
		sqlite3_bind_int(st, 4, u->disabled ? 1 : 0);
		sqlite3_bind_int64(st, 5, u->created_at);
		sqlite3_bind_int64(st, 6, u->updated_at);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_DONE)
		u->id = sqlite3_last_insert_rowid(s->db);
	else if (rc == SQLITE_CONSTRAINT_UNIQUE)
		out = perr_set(err, PERR_CONFLICT, "name", "an account named '%s' already exists",
			       u->name);
	else
		out = step_fail(s, err, rc);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return out;
}

static int sqlite_user_get(void *impl, const char *name, struct store_user *out_user,
			   struct perr *err)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int out = 0;
	pthread_mutex_lock(&s->lock);
	int rc = sqlite3_prepare_v2(s->db,
				    "SELECT " USER_COLUMNS " FROM portal_users WHERE name = ?1", -1,
				    &st, NULL);
	if (rc == SQLITE_OK) {
		bind_text(st, 1, name);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW) {
		if (user_from_row(st, out_user) < 0)
			out = unknown_role(err, st);
	} else if (rc == SQLITE_DONE) {
		out = perr_set(err, PERR_NOT_FOUND, "name", "no account is named '%s'",
			       name ? name : "");
	} else {
		out = step_fail(s, err, rc);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return out;
}

static int sqlite_user_update(void *impl, const struct store_user *u, struct perr *err)
{
	struct sqlite_store *s = impl;
	int out = 0;
	sqlite3_stmt *up = NULL, *del = NULL;
	int changed = 0;
	pthread_mutex_lock(&s->lock);
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db,
					"UPDATE portal_users SET role = ?1, pw_hash = ?2, "
					"disabled = ?3, updated_at = ?4 WHERE name = ?5",
					-1, &up, NULL);
	if (rc == SQLITE_OK) {
		bind_text(up, 1, role_name(u->role));
		bind_text(up, 2, u->pw_hash);
		sqlite3_bind_int(up, 3, u->disabled ? 1 : 0);
		sqlite3_bind_int64(up, 4, u->updated_at);
		bind_text(up, 5, u->name);
		rc = sqlite3_step(up);
		if (rc == SQLITE_DONE) {
			changed = sqlite3_changes(s->db);
			rc = SQLITE_OK;
		}
	}
	/* A disabled account is signed out in the same transaction: there is
	 * no moment when it is disabled and still has a way in. */
	if (rc == SQLITE_OK && changed && u->disabled) {
		rc = sqlite3_prepare_v2(s->db,
					"DELETE FROM portal_logins WHERE user_id = "
					"(SELECT id FROM portal_users WHERE name = ?1)",
					-1, &del, NULL);
		if (rc == SQLITE_OK) {
			bind_text(del, 1, u->name);
			rc = sqlite3_step(del);
			if (rc == SQLITE_DONE)
				rc = SQLITE_OK;
		}
	}
	if (rc == SQLITE_OK && changed)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		out = step_fail(s, err, rc);
	else if (!changed)
		out = perr_set(err, PERR_NOT_FOUND, "name", "no account is named '%s'", u->name);
	sqlite3_finalize(up);
	sqlite3_finalize(del);
	rollback(s->db); /* a no-op once COMMIT went through */
	pthread_mutex_unlock(&s->lock);
	return out;
}

static int sqlite_users(void *impl, store_user_fn fn, void *arg, long long *count,
			struct perr *err)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	long long n = 0;
	int out = 0;
	pthread_mutex_lock(&s->lock);
	int rc = sqlite3_prepare_v2(s->db, "SELECT " USER_COLUMNS " FROM portal_users ORDER BY name",
				    -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_user u;
		if (user_from_row(st, &u) < 0) {
			out = unknown_role(err, st);
			break;
		}
		n++;
		if (fn(arg, &u) < 0) {
			rc = SQLITE_DONE;
			break;
		}
		rc = SQLITE_OK;
	}
	if (out == 0 && rc != SQLITE_DONE)
		out = step_fail(s, err, rc);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	if (count)
		*count = n;
	return out;
}

static int sqlite_login_add(void *impl, const struct store_login *l, struct perr *err)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int out = 0;
	pthread_mutex_lock(&s->lock);
	/* Only for an enabled account: a sign-in that raced with `user disable`
	 * must not leave a login that enabling the account would bring back. */
	int rc = sqlite3_prepare_v2(s->db,
				    "INSERT INTO portal_logins "
				    "(hash, user_id, created_at, last_seen_at, expires_at) "
				    "SELECT ?1, id, ?3, ?4, ?5 FROM portal_users "
				    "WHERE id = ?2 AND disabled = 0",
				    -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, l->hash, STORE_LOGIN_HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, l->user_id);
		sqlite3_bind_int64(st, 3, l->created_at);
		sqlite3_bind_int64(st, 4, l->last_seen_at);
		sqlite3_bind_int64(st, 5, l->expires_at);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_DONE && sqlite3_changes(s->db) == 0)
		out = perr_set(err, PERR_NOT_FOUND, "user_id", "no enabled account has id %lld",
			       l->user_id);
	else if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		out = perr_set(err, PERR_CONFLICT, "hash", "a login with this id already exists");
	else if (rc != SQLITE_DONE)
		out = step_fail(s, err, rc);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return out;
}

/* Runs one write on portal_logins. With hash, ?1 is the hash and ?2 (when
 * the statement has it) is v; without, ?1 is v. Returns 0 or a PERR_* code;
 * *changes gets the number of rows it changed. */
static int login_write(struct sqlite_store *s, const char *sql,
		       const unsigned char hash[STORE_LOGIN_HASH_LEN], long long v,
		       long long *changes, struct perr *err)
{
	sqlite3_stmt *st = NULL;
	int out = 0;
	pthread_mutex_lock(&s->lock);
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		if (hash)
			sqlite3_bind_blob(st, 1, hash, STORE_LOGIN_HASH_LEN, SQLITE_STATIC);
		if (!hash || sqlite3_bind_parameter_count(st) > 1)
			sqlite3_bind_int64(st, hash ? 2 : 1, v);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_DONE)
		*changes = sqlite3_changes(s->db);
	else
		out = step_fail(s, err, rc);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return out;
}

static int sqlite_login_touch(void *impl, const unsigned char hash[STORE_LOGIN_HASH_LEN],
			      long long last_seen_at, struct perr *err)
{
	long long n = 0;
	int rc = login_write(impl, "UPDATE portal_logins SET last_seen_at = ?2 WHERE hash = ?1",
			     hash, last_seen_at, &n, err);
	if (rc == 0 && n == 0)
		rc = perr_set(err, PERR_NOT_FOUND, "login", "the login has ended");
	return rc;
}

static int sqlite_login_delete(void *impl, const unsigned char hash[STORE_LOGIN_HASH_LEN],
			       struct perr *err)
{
	long long n = 0;
	return login_write(impl, "DELETE FROM portal_logins WHERE hash = ?1", hash, 0, &n, err);
}

static int sqlite_login_delete_user(void *impl, long long user_id, long long *deleted,
				    struct perr *err)
{
	long long n = 0;
	int rc = login_write(impl, "DELETE FROM portal_logins WHERE user_id = ?1", NULL, user_id,
			     &n, err);
	if (deleted)
		*deleted = rc == 0 ? n : 0;
	return rc;
}

static int sqlite_logins(void *impl, long long now_ms, store_login_fn fn, void *arg,
			 struct perr *err)
{
	struct sqlite_store *s = impl;
	long long pruned = 0;
	/* Its own statement, so the write lock is not held while fn runs. */
	int out = login_write(s, "DELETE FROM portal_logins WHERE expires_at <= ?1", NULL, now_ms,
			      &pruned, err);
	if (out < 0)
		return out;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->lock);
	int rc = sqlite3_prepare_v2(s->db,
				    "SELECT l.hash, l.user_id, u.name, u.role, l.created_at, "
				    "l.last_seen_at, l.expires_at "
				    "FROM portal_logins AS l JOIN portal_users AS u ON u.id = l.user_id "
				    "WHERE u.disabled = 0 AND l.expires_at > ?1 "
				    "ORDER BY l.created_at, l.hash",
				    -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, now_ms);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_login l;
		memset(&l, 0, sizeof l);
		rc = SQLITE_OK;
		if (sqlite3_column_bytes(st, 0) != STORE_LOGIN_HASH_LEN)
			continue; /* the schema's CHECK keeps these out; never match one */
		memcpy(l.hash, sqlite3_column_blob(st, 0), STORE_LOGIN_HASH_LEN);
		l.user_id = sqlite3_column_int64(st, 1);
		snprintf(l.user, sizeof l.user, "%s", column_str(st, 2));
		l.role = role_parse(column_str(st, 3));
		l.created_at = sqlite3_column_int64(st, 4);
		l.last_seen_at = sqlite3_column_int64(st, 5);
		l.expires_at = sqlite3_column_int64(st, 6);
		if (l.role < 0)
			continue; /* a role this binary does not know grants nothing */
		if (fn(arg, &l) < 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		out = step_fail(s, err, rc);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return out;
}

/* --- portal_proposals and portal_audit: the rows under proposals.c ------- */

#define PROPOSAL_COLUMNS                                                                   \
	"id, kind, project, proposer, idempotency_key, input, state, attempts, created_at, " \
	"updated_at, next_attempt_at, lease_owner, lease_until, last_error, evidence, "      \
	"closure, closure_at"

/* A copy of a text column that the caller frees; NULL for SQL NULL. */
static char *column_dup(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	char *v = strdup(column_str(st, i));
	if (!v)
		abort();
	return v;
}

/* Fills p from a row of PROPOSAL_COLUMNS (input and evidence newly
 * allocated); -1 when its state is not one this binary knows. */
static int proposal_from_row(sqlite3_stmt *st, struct store_proposal *p)
{
	memset(p, 0, sizeof *p);
	snprintf(p->id, sizeof p->id, "%s", column_str(st, 0));
	snprintf(p->kind, sizeof p->kind, "%s", column_str(st, 1));
	snprintf(p->project, sizeof p->project, "%s", column_str(st, 2));
	snprintf(p->proposer, sizeof p->proposer, "%s", column_str(st, 3));
	snprintf(p->idempotency_key, sizeof p->idempotency_key, "%s", column_str(st, 4));
	p->input = column_dup(st, 5);
	p->state = proposal_state_parse(column_str(st, 6));
	p->attempts = sqlite3_column_int(st, 7);
	p->created_at = sqlite3_column_int64(st, 8);
	p->updated_at = sqlite3_column_int64(st, 9);
	p->next_attempt_at = sqlite3_column_int64(st, 10);
	snprintf(p->lease_owner, sizeof p->lease_owner, "%s", column_str(st, 11));
	p->lease_until = sqlite3_column_int64(st, 12);
	snprintf(p->last_error, sizeof p->last_error, "%s", column_str(st, 13));
	p->evidence = column_dup(st, 14);
	p->closure = column_dup(st, 15);
	p->closure_at = sqlite3_column_int64(st, 16);
	return p->state < 0 ? -1 : 0;
}

static int unknown_state(struct perr *err, sqlite3_stmt *st)
{
	return perr_set(err, PERR_STORE, FIELD, "proposal '%s' is in state '%s', which this portal "
			"does not know", column_str(st, 0), column_str(st, 6));
}

/* Runs one statement to completion with parameters bound in order, as
 * `types` says: 't' text (NULL binds NULL), 'i' long long. Returns a SQLite
 * code, SQLITE_OK once done. */
static int run(struct sqlite_store *s, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	va_list ap;
	va_start(ap, types);
	for (int i = 0; rc == SQLITE_OK && types[i]; i++)
		rc = types[i] == 't' ? bind_text(st, i + 1, va_arg(ap, const char *))
				     : sqlite3_bind_int64(st, i + 1, va_arg(ap, long long));
	va_end(ap);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		rc = SQLITE_OK;
	sqlite3_finalize(st);
	return rc;
}

static int begin(struct sqlite_store *s)
{
	/* IMMEDIATE: the write lock is taken before anything is read, so what
	 * a change read cannot be changed by another writer before it commits. */
	return sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
}

static int not_found(struct perr *err, const char *id)
{
	return perr_set(err, PERR_NOT_FOUND, "id", "no proposal has id '%s'", id ? id : "");
}

/* Keeps the failure rc of a change (the connection's words for it too,
 * before a ROLLBACK replaces them) for tx_fail. Returns -1. */
static int note(struct sqlite_store *s, int rc)
{
	s->tx_rc = rc;
	s->tx_ext = sqlite3_extended_errcode(s->db);
	snprintf(s->tx_msg, sizeof s->tx_msg, "%s", sqlite3_errmsg(s->db));
	return -1;
}

/* 0 for SQLITE_OK, else the failure noted and -1. */
static int noted(struct sqlite_store *s, int rc)
{
	return rc == SQLITE_OK ? 0 : note(s, rc);
}

/* Reads the whole row of id into out (inside a transaction or the lock). */
static int read_proposal(void *tx, const char *id, struct store_proposal *out, int *found,
			 int *out_rc, struct perr *err)
{
	struct sqlite_store *s = tx;
	sqlite3_stmt *st = NULL;
	*found = 0;
	*out_rc = 0;
	int rc = sqlite3_prepare_v2(s->db,
				    "SELECT " PROPOSAL_COLUMNS " FROM portal_proposals WHERE id = ?1",
				    -1, &st, NULL);
	if (rc == SQLITE_OK) {
		bind_text(st, 1, id);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW) {
		*found = 1;
		if (proposal_from_row(st, out) < 0) {
			*out_rc = unknown_state(err, st);
			store_proposal_clear(out);
			*found = 0;
		}
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	rc = noted(s, rc);
	sqlite3_finalize(st);
	return rc;
}

static int tx_fail(const void *tx, struct perr *err);

static int sqlite_proposal_get(void *impl, const char *id, struct store_proposal *out_p,
			       struct perr *err)
{
	struct sqlite_store *s = impl;
	int found = 0, out = 0;
	pthread_mutex_lock(&s->lock);
	if (read_proposal(s, id, out_p, &found, &out, err) < 0)
		out = tx_fail(s, err);
	pthread_mutex_unlock(&s->lock);
	if (out == 0 && !found)
		out = not_found(err, id);
	return out;
}

static int sqlite_proposals(void *impl, const struct store_proposal_filter *f,
			    store_proposal_fn fn, void *arg, struct perr *err)
{
	struct sqlite_store *s = impl;
	const char *state = f && f->state >= 0 ? proposal_state_name(f->state) : NULL;
	sqlite3_stmt *st = NULL;
	int out = 0;
	pthread_mutex_lock(&s->lock);
	int rc = sqlite3_prepare_v2(s->db,
				    "SELECT " PROPOSAL_COLUMNS " FROM portal_proposals "
				    "WHERE (?1 IS NULL OR project = ?1) AND (?2 IS NULL OR kind = ?2) "
				    "AND (?3 IS NULL OR state = ?3) "
				    "ORDER BY created_at DESC, id DESC LIMIT ?4",
				    -1, &st, NULL);
	if (rc == SQLITE_OK) {
		bind_text(st, 1, f ? f->project : NULL);
		bind_text(st, 2, f ? f->kind : NULL);
		bind_text(st, 3, state);
		sqlite3_bind_int64(st, 4, f && f->limit > 0 ? f->limit : -1);
	}
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_proposal p;
		if (proposal_from_row(st, &p) < 0) {
			store_proposal_clear(&p);
			out = unknown_state(err, st);
			break;
		}
		int stop = fn(arg, &p) < 0;
		store_proposal_clear(&p);
		if (stop) {
			rc = SQLITE_DONE;
			break;
		}
		rc = SQLITE_OK;
	}
	if (out == 0 && rc != SQLITE_DONE)
		out = step_fail(s, err, rc);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return out;
}

static int sqlite_proposal_set_closure(void *impl, const char *id, const char *closure,
				       long long at, struct perr *err)
{
	struct sqlite_store *s = impl;
	pthread_mutex_lock(&s->lock);
	int rc = run(s, "UPDATE portal_proposals SET closure = ?2, closure_at = ?3 WHERE id = ?1",
		     "tti", id, closure, at);
	int changed = rc == SQLITE_OK ? sqlite3_changes(s->db) : 0;
	int out = rc == SQLITE_OK ? 0 : step_fail(s, err, rc);
	pthread_mutex_unlock(&s->lock);
	if (out == 0 && !changed)
		out = not_found(err, id);
	return out;
}

static int sqlite_audit(void *impl, const char *id, store_audit_fn fn, void *arg,
			struct perr *err)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int out = 0;
	pthread_mutex_lock(&s->lock);
	/* Two statements, not "?1 IS NULL OR proposal = ?1": the OR would keep
	 * SQLite off the (proposal, seq) index and read the whole log for one
	 * proposal's timeline. */
	int rc = sqlite3_prepare_v2(s->db,
				    id ? "SELECT seq, proposal, from_state, to_state, actor, at, "
					 "reason, prev, hash FROM portal_audit "
					 "WHERE proposal = ?1 ORDER BY seq"
				       : "SELECT seq, proposal, from_state, to_state, actor, at, "
					 "reason, prev, hash FROM portal_audit ORDER BY seq",
				    -1, &st, NULL);
	if (rc == SQLITE_OK && id)
		rc = bind_text(st, 1, id);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_audit a;
		memset(&a, 0, sizeof a);
		a.seq = sqlite3_column_int64(st, 0);
		snprintf(a.proposal, sizeof a.proposal, "%s", column_str(st, 1));
		snprintf(a.from, sizeof a.from, "%s", column_str(st, 2));
		snprintf(a.to, sizeof a.to, "%s", column_str(st, 3));
		snprintf(a.actor, sizeof a.actor, "%s", column_str(st, 4));
		a.at = sqlite3_column_int64(st, 5);
		snprintf(a.reason, sizeof a.reason, "%s", column_str(st, 6));
		/* A hash of the wrong size (only a hand edit) stays zeros and so
		 * fails verification, as it should. */
		if (sqlite3_column_bytes(st, 7) == AUDIT_HASH_LEN)
			memcpy(a.prev, sqlite3_column_blob(st, 7), AUDIT_HASH_LEN);
		if (sqlite3_column_bytes(st, 8) == AUDIT_HASH_LEN)
			memcpy(a.hash, sqlite3_column_blob(st, 8), AUDIT_HASH_LEN);
		if (fn(arg, &a) < 0) {
			rc = SQLITE_DONE;
			break;
		}
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		out = step_fail(s, err, rc);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return out;
}

/* A change's transaction: the connection's lock, held from open to close. */

static void *tx_open(void *impl, struct perr *err)
{
	(void)err;
	struct sqlite_store *s = impl;
	pthread_mutex_lock(&s->lock);
	s->tx_rc = SQLITE_OK;
	return s;
}

static int tx_begin(void *tx)
{
	return noted(tx, begin(tx));
}

static int tx_commit(void *tx)
{
	struct sqlite_store *s = tx;
	return noted(s, sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL));
}

static void tx_rollback(void *tx)
{
	rollback(((struct sqlite_store *)tx)->db);
}

/* One connection, and the write lock taken first: nothing to run again for. */
static int tx_retry(const void *tx, int unique)
{
	(void)tx;
	(void)unique;
	return 0;
}

static int tx_fail(const void *tx, struct perr *err)
{
	const struct sqlite_store *s = tx;
	char why[256];
	describe(why, sizeof why, s->label, s->tx_ext, s->tx_msg);
	return perr_set(err, (s->tx_rc & 0xff) == SQLITE_BUSY ? PERR_UNAVAILABLE : PERR_STORE,
			FIELD, "%s", why);
}

static void tx_close(void *tx)
{
	struct sqlite_store *s = tx;
	rollback(s->db); /* a no-op once COMMIT went through */
	pthread_mutex_unlock(&s->lock);
}

static int find_key(void *tx, const char *proposer, const char *key,
		    char id[STORE_PROPOSAL_ID_MAX])
{
	struct sqlite_store *s = tx;
	sqlite3_stmt *st = NULL;
	id[0] = '\0';
	int rc = sqlite3_prepare_v2(s->db,
				    "SELECT id FROM portal_proposals "
				    "WHERE proposer = ?1 AND idempotency_key = ?2",
				    -1, &st, NULL);
	if (rc == SQLITE_OK) {
		bind_text(st, 1, proposer);
		bind_text(st, 2, key);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW) {
		snprintf(id, STORE_PROPOSAL_ID_MAX, "%s", column_str(st, 0));
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	rc = noted(s, rc);
	sqlite3_finalize(st);
	return rc;
}

static int insert(void *tx, const char *id, const struct store_proposal *p, const char *key,
		  long long at)
{
	return noted(tx, run(tx,
			     "INSERT INTO portal_proposals (id, kind, project, proposer, "
			     "idempotency_key, input, state, attempts, created_at, updated_at) "
			     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?8)",
			     "ttttttti", id, p->kind, p->project, p->proposer, key, p->input,
			     proposal_state_name(PROPOSAL_SUBMITTED), at));
}

static int load_head(void *tx, const char *id, struct store_head *h)
{
	struct sqlite_store *s = tx;
	sqlite3_stmt *st = NULL;
	memset(h, 0, sizeof *h);
	int rc = sqlite3_prepare_v2(s->db,
				    "SELECT state, kind, project, lease_owner, lease_until "
				    "FROM portal_proposals WHERE id = ?1",
				    -1, &st, NULL);
	if (rc == SQLITE_OK) {
		bind_text(st, 1, id);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW) {
		h->found = 1;
		h->state = proposal_state_parse(column_str(st, 0));
		snprintf(h->kind, sizeof h->kind, "%s", column_str(st, 1));
		snprintf(h->project, sizeof h->project, "%s", column_str(st, 2));
		snprintf(h->lease_owner, sizeof h->lease_owner, "%s", column_str(st, 3));
		h->lease_until = sqlite3_column_int64(st, 4);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	rc = noted(s, rc);
	sqlite3_finalize(st);
	return rc;
}

static int due(void *tx, long long now, char id[STORE_PROPOSAL_ID_MAX])
{
	struct sqlite_store *s = tx;
	sqlite3_stmt *st = NULL;
	id[0] = '\0';
	/* Due since: a queued one's next attempt, a running one's lease end. */
	int rc = sqlite3_prepare_v2(
		s->db,
		"SELECT id FROM portal_proposals "
		"WHERE (state = 'queued' AND next_attempt_at <= ?1) "
		"OR (state = 'running' AND lease_until < ?1) "
		"ORDER BY CASE state WHEN 'running' THEN lease_until ELSE next_attempt_at END, "
		"created_at, id LIMIT 1",
		-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, now);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW) {
		snprintf(id, STORE_PROPOSAL_ID_MAX, "%s", column_str(st, 0));
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	rc = noted(s, rc);
	sqlite3_finalize(st);
	return rc;
}

static int move(void *tx, const char *id, int to, long long at)
{
	return noted(tx, run(tx,
			     "UPDATE portal_proposals SET state = ?2, updated_at = ?3, "
			     "next_attempt_at = CASE WHEN ?2 = 'queued' THEN ?3 END WHERE id = ?1",
			     "tti", id, proposal_state_name(to), at));
}

static int expire(void *tx, const char *id, long long now)
{
	return noted(tx, run(tx,
			     "UPDATE portal_proposals SET state = 'queued', lease_owner = NULL, "
			     "lease_until = NULL, next_attempt_at = ?2, updated_at = ?2 "
			     "WHERE id = ?1",
			     "ti", id, now));
}

static int take(void *tx, const char *id, const char *worker, long long until, long long now)
{
	return noted(tx, run(tx,
			     "UPDATE portal_proposals SET state = 'running', lease_owner = ?2, "
			     "lease_until = ?3, attempts = attempts + 1, next_attempt_at = NULL, "
			     "updated_at = ?4 WHERE id = ?1",
			     "ttii", id, worker, until, now));
}

static int extend(void *tx, const char *id, long long until)
{
	return noted(tx, run(tx, "UPDATE portal_proposals SET lease_until = ?2 WHERE id = ?1",
			     "ti", id, until));
}

static int give_back(void *tx, const char *id, long long now)
{
	return noted(tx, run(tx,
			     "UPDATE portal_proposals SET state = 'queued', lease_owner = NULL, "
			     "lease_until = NULL, attempts = max(attempts - 1, 0), "
			     "next_attempt_at = ?2, updated_at = ?2 WHERE id = ?1",
			     "ti", id, now));
}

static int finish(void *tx, const char *id, int to, long long now, long long retry_at,
		  const char *evidence, const char *why)
{
	return noted(tx, run(tx,
			     "UPDATE portal_proposals SET state = ?2, lease_owner = NULL, "
			     "lease_until = NULL, updated_at = ?3, "
			     "next_attempt_at = CASE WHEN ?2 = 'queued' THEN ?4 END, "
			     "evidence = CASE WHEN ?2 = 'executed' THEN ?5 ELSE evidence END, "
			     "last_error = CASE WHEN ?2 = 'executed' THEN last_error ELSE ?6 END "
			     "WHERE id = ?1",
			     "ttiitt", id, proposal_state_name(to), now, retry_at, evidence, why));
}

/* The hash of the last audit row overall (zeros when there is none) and the
 * seq the next row gets: past every seq ever used, even a deleted one. */
static int audit_tail(void *tx, unsigned char prev[AUDIT_HASH_LEN], long long *next)
{
	struct sqlite_store *s = tx;
	sqlite3_stmt *st = NULL;
	memset(prev, 0, AUDIT_HASH_LEN);
	int rc = sqlite3_prepare_v2(
		s->db,
		"SELECT (SELECT hash FROM portal_audit ORDER BY seq DESC LIMIT 1), "
		"max(coalesce((SELECT max(seq) FROM portal_audit), 0), "
		"coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'portal_audit'), 0)) + 1",
		-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) == AUDIT_HASH_LEN)
			memcpy(prev, sqlite3_column_blob(st, 0), AUDIT_HASH_LEN);
		*next = sqlite3_column_int64(st, 1);
		rc = SQLITE_OK;
	}
	rc = noted(s, rc);
	sqlite3_finalize(st);
	return rc;
}

static int audit_add(void *tx, const struct audit_row *r)
{
	struct sqlite_store *s = tx;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
				    "INSERT INTO portal_audit "
				    "(seq, proposal, from_state, to_state, actor, at, reason, prev, hash) "
				    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
				    -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, r->seq);
		bind_text(st, 2, r->proposal);
		bind_text(st, 3, r->from);
		bind_text(st, 4, r->to);
		bind_text(st, 5, r->actor);
		sqlite3_bind_int64(st, 6, r->at);
		bind_text(st, 7, r->reason);
		sqlite3_bind_blob(st, 8, r->prev, AUDIT_HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_blob(st, 9, r->hash, AUDIT_HASH_LEN, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	rc = noted(s, rc);
	sqlite3_finalize(st);
	return rc;
}

static int event_add(void *tx, const struct event *ev, long long now)
{
	long long seq = 0;
	int fresh = 0;
	return noted(tx, append_one(tx, ev, now, &seq, &fresh));
}

static const struct store_queue_ops sqlite_queue_ops = {
	.get = sqlite_proposal_get,
	.list = sqlite_proposals,
	.set_closure = sqlite_proposal_set_closure,
	.audit = sqlite_audit,
	.open = tx_open,
	.begin = tx_begin,
	.commit = tx_commit,
	.rollback = tx_rollback,
	.retry = tx_retry,
	.fail = tx_fail,
	.close = tx_close,
	.find_key = find_key,
	.insert = insert,
	.head = load_head,
	.read = read_proposal,
	.due = due,
	.move = move,
	.expire = expire,
	.take = take,
	.extend = extend,
	.give_back = give_back,
	.finish = finish,
	.audit_tail = audit_tail,
	.audit_add = audit_add,
	.event_add = event_add,
};

/* --- the embedded proof planes ------------------------------------------ */

/* How many rows a walk reads under the lock before it lets go and calls fn. */
#define PROOF_PAGE 64

/* A failure of the proof tables. Unlike the other ops, the words name no
 * file: a plane's errors may reach a client (proof/proof.h). Busy is worth a
 * retry later. Call before finalize or ROLLBACK, which replace the
 * connection's message. */
static int proof_fail(struct sqlite_store *s, struct perr *err, int rc, const char *what)
{
	return perr_set(err, (rc & 0xff) == SQLITE_BUSY ? PERR_UNAVAILABLE : PERR_STORE, FIELD,
			"cannot %s: %s", what, sqlite3_errmsg(s->db));
}

/* Ends a write begun with begin(): commits when both rc and out say so, else
 * rolls back; a failure not reported yet (out still 0) is reported as what
 * failed. Unlocks. Returns out, or the store's failure. */
static int proof_end(struct sqlite_store *s, int rc, int out, const char *what,
		     struct perr *err)
{
	if (rc == SQLITE_OK && out == 0)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK && out == 0)
		out = proof_fail(s, err, rc, what);
	rollback(s->db); /* a no-op once COMMIT went through */
	pthread_mutex_unlock(&s->lock);
	return out;
}

static int sqlite_graph_put(void *impl, const char *graph, const struct proof_triple *t,
			    size_t n, struct perr *err)
{
	struct sqlite_store *s = impl;
	int out = 0;
	long long now = clock_wall_ms();
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->lock);
	int rc = begin(s);
	/* Not INSERT OR IGNORE: that would also skip, silently, a row a CHECK
	 * refuses. */
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db,
					"INSERT INTO portal_graph_triples "
					"(graph, subject, predicate, object, added_at) "
					"VALUES (?1, ?2, ?3, ?4, ?5) "
					"ON CONFLICT (graph, subject, predicate, object) DO NOTHING",
					-1, &st, NULL);
	for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
		sqlite3_reset(st);
		bind_text(st, 1, graph);
		bind_text(st, 2, t[i].subject);
		bind_text(st, 3, t[i].predicate);
		bind_text(st, 4, t[i].object);
		sqlite3_bind_int64(st, 5, now);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		out = proof_fail(s, err, rc, "write the graph");
	sqlite3_finalize(st);
	return proof_end(s, rc, out, "write the graph", err);
}

static int sqlite_graph_about(void *impl, const char *graph, const char *subject,
			      proof_triple_fn fn, void *arg, struct perr *err)
{
	struct sqlite_store *s = impl;
	int out = 0;
	struct proof_triple *page = calloc(PROOF_PAGE, sizeof *page);
	if (!page)
		abort();
	/* Where the next page starts: the last row's own (predicate, object) as
	 * stored, not the copies in page, which a longer value would not fit.
	 * Predicates are never empty, so ("", "") comes before every row. */
	char *after_p = NULL, *after_o = NULL;
	int more = 1;
	while (more && out == 0) {
		size_t n = 0;
		sqlite3_stmt *st = NULL;
		pthread_mutex_lock(&s->lock);
		int rc = sqlite3_prepare_v2(s->db,
					    "SELECT predicate, object FROM portal_graph_triples "
					    "WHERE graph = ?1 AND subject = ?2 "
					    "AND (predicate, object) > (?3, ?4) "
					    "ORDER BY predicate, object LIMIT ?5",
					    -1, &st, NULL);
		if (rc == SQLITE_OK) {
			bind_text(st, 1, graph);
			bind_text(st, 2, subject);
			bind_text(st, 3, after_p ? after_p : "");
			bind_text(st, 4, after_o ? after_o : "");
			sqlite3_bind_int(st, 5, PROOF_PAGE);
		}
		while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct proof_triple *t = &page[n++];
			snprintf(t->subject, sizeof t->subject, "%s", subject);
			snprintf(t->predicate, sizeof t->predicate, "%s", column_str(st, 0));
			snprintf(t->object, sizeof t->object, "%s", column_str(st, 1));
			if (n == PROOF_PAGE) {
				free(after_p);
				free(after_o);
				after_p = column_dup(st, 0);
				after_o = column_dup(st, 1);
			}
			rc = SQLITE_OK;
		}
		if (rc != SQLITE_DONE)
			out = proof_fail(s, err, rc, "read the graph");
		sqlite3_finalize(st);
		pthread_mutex_unlock(&s->lock);
		more = out == 0 && n == PROOF_PAGE;
		for (size_t i = 0; out == 0 && i < n; i++)
			if (fn(arg, &page[i]) < 0) {
				more = 0;
				break;
			}
	}
	free(after_p);
	free(after_o);
	free(page);
	return out;
}

static int sqlite_fact_record(void *impl, const struct proof_fact *f, struct perr *err)
{
	struct sqlite_store *s = impl;
	int out = 0;
	pthread_mutex_lock(&s->lock);
	int rc = run(s,
		     "INSERT INTO portal_warehouse_facts "
		     "(proposal, project, kind, event, at, actor, artifact, digest) "
		     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		     "ttttittt", f->proposal, f->project, f->kind, f->event, f->at, f->actor,
		     f->artifact, f->digest);
	if (rc != SQLITE_OK)
		out = proof_fail(s, err, rc, "record the fact");
	pthread_mutex_unlock(&s->lock);
	return out;
}

static int sqlite_facts(void *impl, const char *proposal, proof_fact_fn fn, void *arg,
			struct perr *err)
{
	struct sqlite_store *s = impl;
	int out = 0;
	struct proof_fact *page = calloc(PROOF_PAGE, sizeof *page);
	if (!page)
		abort();
	long long after_at = LLONG_MIN, after_seq = LLONG_MIN;
	int more = 1;
	while (more && out == 0) {
		size_t n = 0;
		sqlite3_stmt *st = NULL;
		pthread_mutex_lock(&s->lock);
		int rc = sqlite3_prepare_v2(s->db,
					    "SELECT seq, project, kind, event, at, actor, artifact, "
					    "digest FROM portal_warehouse_facts "
					    "WHERE proposal = ?1 AND (at, seq) > (?2, ?3) "
					    "ORDER BY at, seq LIMIT ?4",
					    -1, &st, NULL);
		if (rc == SQLITE_OK) {
			bind_text(st, 1, proposal);
			sqlite3_bind_int64(st, 2, after_at);
			sqlite3_bind_int64(st, 3, after_seq);
			sqlite3_bind_int(st, 4, PROOF_PAGE);
		}
		while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct proof_fact *f = &page[n++];
			after_seq = sqlite3_column_int64(st, 0);
			snprintf(f->proposal, sizeof f->proposal, "%s", proposal);
			snprintf(f->project, sizeof f->project, "%s", column_str(st, 1));
			snprintf(f->kind, sizeof f->kind, "%s", column_str(st, 2));
			snprintf(f->event, sizeof f->event, "%s", column_str(st, 3));
			f->at = after_at = sqlite3_column_int64(st, 4);
			snprintf(f->actor, sizeof f->actor, "%s", column_str(st, 5));
			snprintf(f->artifact, sizeof f->artifact, "%s", column_str(st, 6));
			snprintf(f->digest, sizeof f->digest, "%s", column_str(st, 7));
			rc = SQLITE_OK;
		}
		if (rc != SQLITE_DONE)
			out = proof_fail(s, err, rc, "read the facts");
		sqlite3_finalize(st);
		pthread_mutex_unlock(&s->lock);
		more = out == 0 && n == PROOF_PAGE;
		for (size_t i = 0; out == 0 && i < n; i++)
			if (fn(arg, &page[i]) < 0) {
				more = 0;
				break;
			}
	}
	free(page);
	return out;
}

static int sqlite_evidence_put(void *impl, const struct proof_evidence *e, struct perr *err)
{
	struct sqlite_store *s = impl;
	int out = 0;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->lock);
	int rc = begin(s);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db,
					"SELECT proposal, digest, size, location, producer "
					"FROM portal_evidence WHERE id = ?1",
					-1, &st, NULL);
	if (rc == SQLITE_OK) {
		bind_text(st, 1, e->id);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW) {
		/* Stored already: equal is the same record told twice. */
		const char *differs = strcmp(column_str(st, 0), e->proposal) != 0 ? "proposal"
				    : strcmp(column_str(st, 1), e->digest) != 0   ? "digest"
				    : sqlite3_column_int64(st, 2) != e->size      ? "size"
				    : strcmp(column_str(st, 3), e->location) != 0 ? "location"
				    : strcmp(column_str(st, 4), e->producer) != 0 ? "producer"
										  : NULL;
		if (differs)
			out = perr_set(err, PERR_CONFLICT, "id",
				       "evidence '%s' is already stored with another %s", e->id,
				       differs);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = run(s,
			 "INSERT INTO portal_evidence "
			 "(id, proposal, digest, size, location, producer, added_at) "
			 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			 "tttitti", e->id, e->proposal, e->digest, e->size, e->location,
			 e->producer, clock_wall_ms());
	}
	if (rc != SQLITE_OK)
		out = proof_fail(s, err, rc, "store the evidence");
	sqlite3_finalize(st);
	return proof_end(s, rc, out, "store the evidence", err);
}

static int sqlite_evidence_of(void *impl, const char *proposal, proof_evidence_fn fn,
			      void *arg, struct perr *err)
{
	struct sqlite_store *s = impl;
	int out = 0;
	struct proof_evidence *page = calloc(PROOF_PAGE, sizeof *page);
	if (!page)
		abort();
	long long after = LLONG_MIN;
	int more = 1;
	while (more && out == 0) {
		size_t n = 0;
		sqlite3_stmt *st = NULL;
		pthread_mutex_lock(&s->lock);
		/* rowid: the order they were stored (the table is never deleted
		 * from, so no rowid is used twice). */
		int rc = sqlite3_prepare_v2(s->db,
					    "SELECT rowid, id, digest, size, location, producer "
					    "FROM portal_evidence WHERE proposal = ?1 AND rowid > ?2 "
					    "ORDER BY rowid LIMIT ?3",
					    -1, &st, NULL);
		if (rc == SQLITE_OK) {
			bind_text(st, 1, proposal);
			sqlite3_bind_int64(st, 2, after);
			sqlite3_bind_int(st, 3, PROOF_PAGE);
		}
		while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct proof_evidence *e = &page[n++];
			after = sqlite3_column_int64(st, 0);
			snprintf(e->id, sizeof e->id, "%s", column_str(st, 1));
			snprintf(e->proposal, sizeof e->proposal, "%s", proposal);
			snprintf(e->digest, sizeof e->digest, "%s", column_str(st, 2));
			e->size = sqlite3_column_int64(st, 3);
			snprintf(e->location, sizeof e->location, "%s", column_str(st, 4));
			snprintf(e->producer, sizeof e->producer, "%s", column_str(st, 5));
			rc = SQLITE_OK;
		}
		if (rc != SQLITE_DONE)
			out = proof_fail(s, err, rc, "read the evidence");
		sqlite3_finalize(st);
		pthread_mutex_unlock(&s->lock);
		more = out == 0 && n == PROOF_PAGE;
		for (size_t i = 0; out == 0 && i < n; i++)
			if (fn(arg, &page[i]) < 0) {
				more = 0;
				break;
			}
	}
	free(page);
	return out;
}

static const struct store_log_ops sqlite_log_ops = {
	.append = sqlite_append,
	.scan = sqlite_scan,
	.history = sqlite_history,
};

static const struct store_account_ops sqlite_account_ops = {
	.token_add = sqlite_token_add,
	.token_revoke = sqlite_token_revoke,
	.tokens = sqlite_tokens,
	.user_add = sqlite_user_add,
	.user_get = sqlite_user_get,
	.user_update = sqlite_user_update,
	.users = sqlite_users,
	.login_add = sqlite_login_add,
	.login_touch = sqlite_login_touch,
	.login_delete = sqlite_login_delete,
	.login_delete_user = sqlite_login_delete_user,
	.logins = sqlite_logins,
};

static const struct store_proof_ops sqlite_proof_ops = {
	.graph_put = sqlite_graph_put,
	.graph_about = sqlite_graph_about,
	.fact_record = sqlite_fact_record,
	.facts = sqlite_facts,
	.evidence_put = sqlite_evidence_put,
	.evidence_of = sqlite_evidence_of,
};

const struct store_ops sqlite_store_ops = {
	.name = "sqlite",
	.close = sqlite_close,
	.migrate = sqlite_migrate,
	.check = sqlite_check,
	.log = &sqlite_log_ops,
	.accounts = &sqlite_account_ops,
	.queue = &sqlite_queue_ops,
	.proof = &sqlite_proof_ops,
};
