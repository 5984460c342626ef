/* sqlite_accounts: portal_tokens, portal_users and portal_logins on SQLite.
 * The fields were checked by the dispatchers (store.c) before they get here:
 * this file only reads and writes rows. */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <string.h>

#include "core/role.h"

/* --- portal_tokens ------------------------------------------------------- */

static const struct lite_query Q_TOKEN_ADD = {
	"token_add", "INSERT INTO portal_tokens (id, name, scopes, hash, created_at, projects, types) "
		     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"};

int sqlite_token_add(void *impl, const struct store_token *t, struct perr *err)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->lock);
	int rc = lite_stmt(s, &Q_TOKEN_ADD, &st);
	if (rc == SQLITE_OK) {
		lite_bind_text(st, 1, t->id);
		lite_bind_text(st, 2, t->name);
		lite_bind_text(st, 3, t->scopes);
		sqlite3_bind_blob(st, 4, t->hash, STORE_TOKEN_HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, t->created_at);
		lite_bind_text(st, 6, t->projects);
		lite_bind_text(st, 7, t->types);
		rc = sqlite3_step(st);
	}
	int out = 0;
	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY ||
	    (rc & 0xff) == SQLITE_CONSTRAINT)
		out = perr_set(err, PERR_CONFLICT, "name", "a token named '%s' already exists",
			       t->name);
	else if (rc != SQLITE_DONE)
		out = lite_fail(err, PERR_STORE, s->label, s->db, rc);
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->lock);
	return out;
}

static const struct lite_query Q_TOKEN_REVOKE = {
	"token_revoke", "UPDATE portal_tokens SET revoked_at = ?1 "
			"WHERE name = ?2 AND revoked_at IS NULL"};

int sqlite_token_revoke(void *impl, const char *name, long long at_ms, struct perr *err)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->lock);
	int rc = lite_stmt(s, &Q_TOKEN_REVOKE, &st);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, at_ms);
		lite_bind_text(st, 2, name);
		rc = sqlite3_step(st);
	}
	int out = 0;
	if (rc != SQLITE_DONE)
		out = lite_fail(err, PERR_STORE, s->label, s->db, rc);
	else if (sqlite3_changes(s->db) == 0)
		out = perr_set(err, PERR_NOT_FOUND, "name", "no live token is named '%s'", name);
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->lock);
	return out;
}

static const struct lite_query Q_TOKENS = {
	"tokens", "SELECT id, name, scopes, hash, created_at, revoked_at, projects, types "
		  "FROM portal_tokens ORDER BY created_at, name"};

int sqlite_tokens(void *impl, store_token_fn fn, void *arg, struct perr *err)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->lock);
	int rc = lite_stmt(s, &Q_TOKENS, &st);
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
		snprintf(t.projects, sizeof t.projects, "%s", (const char *)sqlite3_column_text(st, 6));
		snprintf(t.types, sizeof t.types, "%s", (const char *)sqlite3_column_text(st, 7));
		if (fn(arg, &t) < 0) {
			rc = SQLITE_DONE;
			break;
		}
		rc = SQLITE_OK;
	}
	int out = 0;
	if (rc != SQLITE_DONE)
		out = lite_fail(err, PERR_STORE, s->label, s->db, rc);
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->lock);
	return out;
}

/* --- portal_users and portal_logins -------------------------------------- */

#define USER_COLUMNS "id, name, role, pw_hash, disabled, created_at, updated_at"

/* Fills u from a row of USER_COLUMNS; -1 when its role is not one this
 * binary knows (only a hand edit past the schema's CHECK could do that). */
static int user_from_row(sqlite3_stmt *st, struct store_user *u)
{
	memset(u, 0, sizeof *u);
	u->id = sqlite3_column_int64(st, 0);
	snprintf(u->name, sizeof u->name, "%s", lite_str(st, 1));
	u->role = role_parse(lite_str(st, 2));
	snprintf(u->pw_hash, sizeof u->pw_hash, "%s", lite_str(st, 3));
	u->disabled = sqlite3_column_int(st, 4) != 0;
	u->created_at = sqlite3_column_int64(st, 5);
	u->updated_at = sqlite3_column_int64(st, 6);
	return u->role < 0 ? -1 : 0;
}

static int unknown_role(struct perr *err, sqlite3_stmt *st)
{
	return perr_set(err, PERR_STORE, LITE_FIELD, "account '%s' has role '%s', which this portal "
			"does not know", lite_str(st, 1), lite_str(st, 2));
}

static const struct lite_query Q_USER_ADD = {
	"user_add", "INSERT INTO portal_users "
		    "(name, role, pw_hash, disabled, created_at, updated_at) "
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"};

int sqlite_user_add(void *impl, struct store_user *u, struct perr *err)
{
	struct sqlite_store *s = impl;
	int out = 0;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->lock);
	int rc = lite_stmt(s, &Q_USER_ADD, &st);
	if (rc == SQLITE_OK) {
		lite_bind_text(st, 1, u->name);
		lite_bind_text(st, 2, role_name(u->role));
		lite_bind_text(st, 3, u->pw_hash);
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
		out = lite_step_fail(s, err, rc);
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->lock);
	return out;
}

static const struct lite_query Q_USER_GET = {
	"user_get", "SELECT " USER_COLUMNS " FROM portal_users WHERE name = ?1"};

int sqlite_user_get(void *impl, const char *name, struct store_user *out_user,
		    struct perr *err)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int out = 0;
	pthread_mutex_lock(&s->lock);
	int rc = lite_stmt(s, &Q_USER_GET, &st);
	if (rc == SQLITE_OK) {
		lite_bind_text(st, 1, name);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW) {
		if (user_from_row(st, out_user) < 0)
			out = unknown_role(err, st);
	} else if (rc == SQLITE_DONE) {
		out = perr_set(err, PERR_NOT_FOUND, "name", "no account is named '%s'",
			       name ? name : "");
	} else {
		out = lite_step_fail(s, err, rc);
	}
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->lock);
	return out;
}

static const struct lite_query Q_USER_UPDATE = {
	"user_update", "UPDATE portal_users SET role = ?1, pw_hash = ?2, "
		       "disabled = ?3, updated_at = ?4 WHERE name = ?5"};
static const struct lite_query Q_USER_SIGN_OUT = {
	"user_sign_out", "DELETE FROM portal_logins WHERE user_id = "
			 "(SELECT id FROM portal_users WHERE name = ?1)"};

int sqlite_user_update(void *impl, const struct store_user *u, struct perr *err)
{
	struct sqlite_store *s = impl;
	int out = 0;
	sqlite3_stmt *up = NULL, *del = NULL;
	int changed = 0;
	pthread_mutex_lock(&s->lock);
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = lite_stmt(s, &Q_USER_UPDATE, &up);
	if (rc == SQLITE_OK) {
		lite_bind_text(up, 1, role_name(u->role));
		lite_bind_text(up, 2, u->pw_hash);
		sqlite3_bind_int(up, 3, u->disabled ? 1 : 0);
		sqlite3_bind_int64(up, 4, u->updated_at);
		lite_bind_text(up, 5, u->name);
		rc = sqlite3_step(up);
		if (rc == SQLITE_DONE) {
			changed = sqlite3_changes(s->db);
			rc = SQLITE_OK;
		}
	}
	/* A disabled account is signed out in the same transaction: there is
	 * no moment when it is disabled and still has a way in. */
	if (rc == SQLITE_OK && changed && u->disabled) {
		rc = lite_stmt(s, &Q_USER_SIGN_OUT, &del);
		if (rc == SQLITE_OK) {
			lite_bind_text(del, 1, u->name);
			rc = sqlite3_step(del);
			if (rc == SQLITE_DONE)
				rc = SQLITE_OK;
		}
	}
	if (rc == SQLITE_OK && changed)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		out = lite_step_fail(s, err, rc);
	else if (!changed)
		out = perr_set(err, PERR_NOT_FOUND, "name", "no account is named '%s'", u->name);
	sqlite3_reset(up);
	sqlite3_reset(del);
	lite_rollback(s->db); /* a no-op once COMMIT went through */
	pthread_mutex_unlock(&s->lock);
	return out;
}

static const struct lite_query Q_USERS = {
	"users", "SELECT " USER_COLUMNS " FROM portal_users ORDER BY name"};

int sqlite_users(void *impl, store_user_fn fn, void *arg, long long *count,
		 struct perr *err)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	long long n = 0;
	int out = 0;
	pthread_mutex_lock(&s->lock);
	int rc = lite_stmt(s, &Q_USERS, &st);
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
		out = lite_step_fail(s, err, rc);
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->lock);
	if (count)
		*count = n;
	return out;
}

static const struct lite_query Q_LOGIN_ADD = {
	"login_add", "INSERT INTO portal_logins "
		     "(hash, user_id, created_at, last_seen_at, expires_at) "
		     "SELECT ?1, id, ?3, ?4, ?5 FROM portal_users "
		     "WHERE id = ?2 AND disabled = 0"};

int sqlite_login_add(void *impl, const struct store_login *l, struct perr *err)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int out = 0;
	pthread_mutex_lock(&s->lock);
	/* Only for an enabled account: a sign-in that raced with `user disable`
	 * must not leave a login that enabling the account would bring back. */
	int rc = lite_stmt(s, &Q_LOGIN_ADD, &st);
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
		out = lite_step_fail(s, err, rc);
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->lock);
	return out;
}

static const struct lite_query Q_LOGIN_TOUCH = {
	"login_touch", "UPDATE portal_logins SET last_seen_at = ?2 WHERE hash = ?1"};
static const struct lite_query Q_LOGIN_DELETE = {
	"login_delete", "DELETE FROM portal_logins WHERE hash = ?1"};
static const struct lite_query Q_LOGIN_DELETE_USER = {
	"login_delete_user", "DELETE FROM portal_logins WHERE user_id = ?1"};
static const struct lite_query Q_LOGINS_PRUNE = {
	"logins_prune", "DELETE FROM portal_logins WHERE expires_at <= ?1"};

/* Runs one write on portal_logins. With hash, ?1 is the hash and ?2 (when
 * the statement has it) is v; without, ?1 is v. Returns 0 or a PERR_* code;
 * *changes gets the number of rows it changed. */
static int login_write(struct sqlite_store *s, const struct lite_query *q,
		       const unsigned char hash[STORE_LOGIN_HASH_LEN], long long v,
		       long long *changes, struct perr *err)
{
	sqlite3_stmt *st = NULL;
	int out = 0;
	pthread_mutex_lock(&s->lock);
	int rc = lite_stmt(s, q, &st);
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
		out = lite_step_fail(s, err, rc);
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->lock);
	return out;
}

int sqlite_login_touch(void *impl, const unsigned char hash[STORE_LOGIN_HASH_LEN],
		       long long last_seen_at, struct perr *err)
{
	long long n = 0;
	int rc = login_write(impl, &Q_LOGIN_TOUCH, hash, last_seen_at, &n, err);
	if (rc == 0 && n == 0)
		rc = perr_set(err, PERR_NOT_FOUND, "login", "the login has ended");
	return rc;
}

int sqlite_login_delete(void *impl, const unsigned char hash[STORE_LOGIN_HASH_LEN],
			struct perr *err)
{
	long long n = 0;
	return login_write(impl, &Q_LOGIN_DELETE, hash, 0, &n, err);
}

int sqlite_login_delete_user(void *impl, long long user_id, long long *deleted,
			     struct perr *err)
{
	long long n = 0;
	int rc = login_write(impl, &Q_LOGIN_DELETE_USER, NULL, user_id, &n, err);
	if (deleted)
		*deleted = rc == 0 ? n : 0;
	return rc;
}

static const struct lite_query Q_LOGINS = {
	"logins", "SELECT l.hash, l.user_id, u.name, u.role, l.created_at, "
		  "l.last_seen_at, l.expires_at "
		  "FROM portal_logins AS l JOIN portal_users AS u ON u.id = l.user_id "
		  "WHERE u.disabled = 0 AND l.expires_at > ?1 "
		  "ORDER BY l.created_at, l.hash"};

int sqlite_logins(void *impl, long long now_ms, store_login_fn fn, void *arg,
		  struct perr *err)
{
	struct sqlite_store *s = impl;
	long long pruned = 0;
	/* Its own statement, so the write lock is not held while fn runs. */
	int out = login_write(s, &Q_LOGINS_PRUNE, NULL, now_ms, &pruned, err);
	if (out < 0)
		return out;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->lock);
	int rc = lite_stmt(s, &Q_LOGINS, &st);
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
		snprintf(l.user, sizeof l.user, "%s", lite_str(st, 2));
		l.role = role_parse(lite_str(st, 3));
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
		out = lite_step_fail(s, err, rc);
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->lock);
	return out;
}
