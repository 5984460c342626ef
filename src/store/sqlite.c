/* sqlite: the SQLite backend of struct store — one main connection (WAL,
 * foreign keys, synchronous=FULL), migrations embedded in the binary, a
 * readiness check that looks at the file afresh each time, and the ops
 * table. The ops themselves are in sqlite_log.c (events), sqlite_accounts.c
 * (tokens, accounts, sign-ins), sqlite_proposals.c (the rows under the
 * proposal rules) and sqlite_proof.c (the embedded proof planes); the
 * plumbing in sqlite_conn.c. It does not retry, log, or decide what an error
 * means to the user: it reports, the caller decides. */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/clock.h"

#define DEFAULT_BUSY_TIMEOUT_MS 5000
/* Every SQLite file starts with these 16 bytes (the header string and NUL). */
static const char SQLITE_MAGIC[16] = "SQLite format 3";

/* --- migrations plan --------------------------------------------------- */

int sqlite_migrations_plan(const struct embedded_file *files, size_t n,
			   const struct embedded_file **out, int *count, struct perr *err)
{
	return store_migrations_plan(SQLITE_MIGRATIONS_PREFIX, files, n, out, count, err);
}

/* --- small helpers ----------------------------------------------------- */

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
		return perr_set(err, PERR_INVALID, LITE_FIELD, "store.db is empty: give a SQLite file path");
	struct sqlite_store *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	/* A relative path that starts with "file:" would be read as a URI by a
	 * SQLite built with URI filenames on; "./" keeps it a plain path. */
	int uri_like = strncmp(path, "file:", 5) == 0;
	size_t plen = strlen(path);
	if (plen > sizeof s->open_path - 3) {
		free(s);
		return perr_set(err, PERR_TOO_LARGE, LITE_FIELD, "store.db is longer than %zu bytes",
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
		rc = lite_fail(err, PERR_IO, s->label, s->db, rc);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, s->busy_timeout_ms);

	sqlite3_stmt *st = NULL;
	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = lite_fail(err, PERR_STORE, s->label, s->db, rc);
		sqlite3_finalize(st);
		goto fail;
	}
	const char *mode = (const char *)sqlite3_column_text(st, 0);
	if (!mode || strcasecmp(mode, "wal") != 0) {
		rc = perr_set(err, PERR_STORE, LITE_FIELD,
			      "database %s cannot use write-ahead logging (journal mode stays '%s')",
			      s->label, mode ? mode : "?");
		sqlite3_finalize(st);
		goto fail;
	}
	sqlite3_finalize(st);
	rc = sqlite3_exec(s->db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL", NULL, NULL,
			  NULL);
	if (rc != SQLITE_OK) {
		rc = lite_fail(err, PERR_STORE, s->label, s->db, rc);
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
	lite_stmts_free(s);
	/* The last connection to close checkpoints the WAL and removes it. */
	sqlite3_close_v2(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* --- migrate ----------------------------------------------------------- */

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
		lite_describe(why, sizeof why, s->label, rc, sqlite3_errmsg(s->db));
		return perr_set(err, PERR_STORE, LITE_FIELD, "cannot start migration %s: %s", m->name,
				why);
	}
	int current = 0;
	rc = query_int(s->db, VERSION_SQL, &current);
	if (rc == SQLITE_OK && current >= v) {
		/* Another migrator got here first; nothing was written. */
		if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			lite_rollback(s->db);
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
		lite_rollback(s->db);
		return perr_set(err, PERR_STORE, LITE_FIELD, "migration %s failed on database %s: %s",
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
		rc = lite_fail(err, PERR_STORE, s->label, s->db, src);
		goto out;
	}
	if (from)
		*from = current;
	if (current > s->nmigs) {
		char msg[256];
		store_newer_msg(msg, sizeof msg, s->label, current, s->nmigs);
		rc = perr_set(err, PERR_SCHEMA, LITE_FIELD, "%s", msg);
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
		lite_describe(st->reason, sizeof st->reason, s->label,
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
	return perr_set(err, PERR_UNAVAILABLE, LITE_FIELD, "%s", st->reason);
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

