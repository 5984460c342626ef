/* pg_accounts: bearer tokens, accounts and sign-in sessions on PostgreSQL,
 * with the semantics sqlite_accounts.c defines. The fields were checked by
 * the dispatchers (store.c) before they get here: this file only reads and
 * writes rows. */
#include "store/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/role.h"

/* --- portal_tokens ------------------------------------------------------- */

static const struct pg_query Q_TOKEN_ADD = {
	"token_add", "INSERT INTO portal_tokens (id, name, scopes, hash, created_at, projects, types) "
		     "VALUES ($1::text, $2::text, $3::text, $4::bytea, $5::bigint, $6::text, $7::text)"};
static const struct pg_query Q_TOKEN_REVOKE = {
	"token_revoke", "UPDATE portal_tokens SET revoked_at = $1::bigint "
			"WHERE name = $2::text AND revoked_at IS NULL"};
static const struct pg_query Q_TOKENS = {
	"tokens", "SELECT id, name, scopes, hash, created_at, revoked_at, projects, types "
		  "FROM portal_tokens ORDER BY created_at, name"};

int pg_token_add(void *impl, const struct store_token *t, struct perr *err)
{
	struct pg_store *s = impl;
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	int out = 0;
	if (pg_run(c, NULL, &Q_TOKEN_ADD, "ttthitt", t->id, t->name, t->scopes, t->hash,
		   t->created_at, t->projects, t->types) < 0)
		out = pg_unique_violation(c) ? perr_set(err, PERR_CONFLICT, "name",
							"a token named '%s' already exists",
							t->name)
					     : pg_fail(s, c, err);
	pg_release(s, c);
	return out;
}

int pg_token_revoke(void *impl, const char *name, long long at_ms, struct perr *err)
{
	struct pg_store *s = impl;
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	long long n = 0;
	int out = 0;
	if (pg_run(c, &n, &Q_TOKEN_REVOKE, "it", at_ms, name) < 0)
		out = pg_fail(s, c, err);
	else if (n == 0)
		out = perr_set(err, PERR_NOT_FOUND, "name", "no live token is named '%s'", name);
	pg_release(s, c);
	return out;
}

int pg_tokens(void *impl, store_token_fn fn, void *arg, struct perr *err)
{
	struct pg_store *s = impl;
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	PGresult *r = pg_exec(c, &Q_TOKENS, "");
	int out = r ? 0 : pg_fail(s, c, err);
	pg_release(s, c);
	for (int i = 0; r && i < PQntuples(r); i++) {
		struct store_token t;
		memset(&t, 0, sizeof t);
		snprintf(t.id, sizeof t.id, "%s", pg_str(r, i, 0));
		snprintf(t.name, sizeof t.name, "%s", pg_str(r, i, 1));
		snprintf(t.scopes, sizeof t.scopes, "%s", pg_str(r, i, 2));
		pg_hash(r, i, 3, t.hash);
		t.created_at = pg_ll(r, i, 4);
		t.revoked_at = pg_ll(r, i, 5);
		snprintf(t.projects, sizeof t.projects, "%s", pg_str(r, i, 6));
		snprintf(t.types, sizeof t.types, "%s", pg_str(r, i, 7));
		if (fn(arg, &t) < 0)
			break;
	}
	PQclear(r);
	return out;
}

/* --- portal_users and portal_logins -------------------------------------- */

#define USER_COLUMNS "id, name, role, pw_hash, disabled, created_at, updated_at"

/* Fills u from a row of USER_COLUMNS; -1 when its role is not one this
 * binary knows. */
static int user_from_row(const PGresult *r, int i, struct store_user *u)
{
	memset(u, 0, sizeof *u);
	u->id = pg_ll(r, i, 0);
	snprintf(u->name, sizeof u->name, "%s", pg_str(r, i, 1));
	u->role = role_parse(pg_str(r, i, 2));
	snprintf(u->pw_hash, sizeof u->pw_hash, "%s", pg_str(r, i, 3));
	u->disabled = pg_ll(r, i, 4) != 0;
	u->created_at = pg_ll(r, i, 5);
	u->updated_at = pg_ll(r, i, 6);
	return u->role < 0 ? -1 : 0;
}

static int unknown_role(struct perr *err, const PGresult *r, int i)
{
	return perr_set(err, PERR_STORE, PG_FIELD, "account '%s' has role '%s', which this portal "
			"does not know", pg_str(r, i, 1), pg_str(r, i, 2));
}

static const struct pg_query Q_USER_ADD = {
	"user_add", "INSERT INTO portal_users "
		    "(name, role, pw_hash, disabled, created_at, updated_at) "
		    "VALUES ($1::text, $2::text, $3::text, $4::smallint, $5::bigint, $6::bigint) "
		    "RETURNING id"};
static const struct pg_query Q_USER_GET = {
	"user_get", "SELECT " USER_COLUMNS " FROM portal_users WHERE name = $1::text"};
static const struct pg_query Q_USER_UPDATE = {
	"user_update", "UPDATE portal_users SET role = $1::text, pw_hash = $2::text, "
		       "disabled = $3::smallint, updated_at = $4::bigint WHERE name = $5::text"};
static const struct pg_query Q_USER_SIGN_OUT = {
	"user_sign_out", "DELETE FROM portal_logins WHERE user_id = "
			 "(SELECT id FROM portal_users WHERE name = $1::text)"};
static const struct pg_query Q_USERS = {
	"users", "SELECT " USER_COLUMNS " FROM portal_users ORDER BY name"};

int pg_user_add(void *impl, struct store_user *u, struct perr *err)
{
	struct pg_store *s = impl;
	int out = 0;
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	PGresult *r = pg_exec(c, &Q_USER_ADD, "tttiii", u->name, role_name(u->role), u->pw_hash,
			      (long long)(u->disabled ? 1 : 0), u->created_at, u->updated_at);
	if (r)
		u->id = pg_ll(r, 0, 0);
	else if (pg_unique_violation(c))
		out = perr_set(err, PERR_CONFLICT, "name", "an account named '%s' already exists",
			       u->name);
	else
		out = pg_fail(s, c, err);
	PQclear(r);
	pg_release(s, c);
	return out;
}

int pg_user_get(void *impl, const char *name, struct store_user *out_user, struct perr *err)
{
	struct pg_store *s = impl;
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	int out = 0;
	PGresult *r = pg_exec(c, &Q_USER_GET, "t", name);
	if (!r)
		out = pg_fail(s, c, err);
	else if (PQntuples(r) == 0)
		out = perr_set(err, PERR_NOT_FOUND, "name", "no account is named '%s'",
			       name ? name : "");
	else if (user_from_row(r, 0, out_user) < 0)
		out = unknown_role(err, r, 0);
	PQclear(r);
	pg_release(s, c);
	return out;
}

int pg_user_update(void *impl, const struct store_user *u, struct perr *err)
{
	struct pg_store *s = impl;
	int out = 0;
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	long long changed = 0;
	int rc = -1;
	for (int attempt = 0; attempt < PG_RETRIES; attempt++) {
		rc = pg_begin(c);
		if (rc == 0)
			rc = pg_run(c, &changed, &Q_USER_UPDATE, "ttiit", role_name(u->role),
				    u->pw_hash, (long long)(u->disabled ? 1 : 0), u->updated_at,
				    u->name);
		/* A disabled account is signed out in the same transaction: there
		 * is no moment when it is disabled and still has a way in. */
		if (rc == 0 && changed && u->disabled)
			rc = pg_run(c, NULL, &Q_USER_SIGN_OUT, "t", u->name);
		if (rc == 0)
			rc = pg_commit(c);
		if (rc == 0 || !pg_retryable(c))
			break;
		pg_rollback(c);
	}
	if (rc < 0)
		out = pg_fail(s, c, err);
	else if (!changed)
		out = perr_set(err, PERR_NOT_FOUND, "name", "no account is named '%s'", u->name);
	pg_release(s, c);
	return out;
}

int pg_users(void *impl, store_user_fn fn, void *arg, long long *count, struct perr *err)
{
	struct pg_store *s = impl;
	long long n = 0;
	if (count)
		*count = 0;
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	PGresult *r = pg_exec(c, &Q_USERS, "");
	int out = r ? 0 : pg_fail(s, c, err);
	pg_release(s, c);
	for (int i = 0; r && i < PQntuples(r); i++) {
		struct store_user u;
		if (user_from_row(r, i, &u) < 0) {
			out = unknown_role(err, r, i);
			break;
		}
		n++;
		if (fn(arg, &u) < 0)
			break;
	}
	PQclear(r);
	if (count)
		*count = n;
	return out;
}

/* Only for an enabled account, whose row it locks (FOR SHARE) so that a
 * `user disable` running at the same time either waits for this login and
 * deletes it, or has committed and leaves nothing to insert. */
static const struct pg_query Q_LOGIN_ADD = {
	"login_add", "INSERT INTO portal_logins "
		     "(hash, user_id, created_at, last_seen_at, expires_at) "
		     "SELECT $1::bytea, id, $3::bigint, $4::bigint, $5::bigint FROM portal_users "
		     "WHERE id = $2::bigint AND disabled = 0 FOR SHARE"};
static const struct pg_query Q_LOGIN_TOUCH = {
	"login_touch", "UPDATE portal_logins SET last_seen_at = $2::bigint WHERE hash = $1::bytea"};
static const struct pg_query Q_LOGIN_DELETE = {
	"login_delete", "DELETE FROM portal_logins WHERE hash = $1::bytea"};
static const struct pg_query Q_LOGIN_DELETE_USER = {
	"login_delete_user", "DELETE FROM portal_logins WHERE user_id = $1::bigint"};
static const struct pg_query Q_LOGIN_PRUNE = {
	"login_prune", "DELETE FROM portal_logins WHERE expires_at <= $1::bigint"};
static const struct pg_query Q_LOGINS = {
	"logins", "SELECT l.hash, l.user_id, u.name, u.role, l.created_at, l.last_seen_at, "
		  "l.expires_at FROM portal_logins AS l JOIN portal_users AS u ON u.id = l.user_id "
		  "WHERE u.disabled = 0 AND l.expires_at > $1::bigint "
		  "ORDER BY l.created_at, l.hash"};

int pg_login_add(void *impl, const struct store_login *l, struct perr *err)
{
	struct pg_store *s = impl;
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	long long n = 0;
	int out = 0;
	if (pg_run(c, &n, &Q_LOGIN_ADD, "hiiii", l->hash, l->user_id, l->created_at,
		   l->last_seen_at, l->expires_at) < 0)
		out = pg_unique_violation(c)
			      ? perr_set(err, PERR_CONFLICT, "hash",
					 "a login with this id already exists")
			      : pg_fail(s, c, err);
	else if (n == 0)
		out = perr_set(err, PERR_NOT_FOUND, "user_id", "no enabled account has id %lld",
			       l->user_id);
	pg_release(s, c);
	return out;
}

/* Runs one write on portal_logins; *changes gets the rows it changed. */
static int login_write(struct pg_store *s, const struct pg_query *q,
		       const unsigned char *hash, long long v, long long *changes,
		       struct perr *err)
{
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	int rc = q == &Q_LOGIN_TOUCH ? pg_run(c, changes, q, "hi", hash, v)
	       : hash		     ? pg_run(c, changes, q, "h", hash)
				     : pg_run(c, changes, q, "i", v);
	int out = rc < 0 ? pg_fail(s, c, err) : 0;
	pg_release(s, c);
	return out;
}

int pg_login_touch(void *impl, const unsigned char hash[STORE_LOGIN_HASH_LEN],
		   long long last_seen_at, struct perr *err)
{
	long long n = 0;
	int rc = login_write(impl, &Q_LOGIN_TOUCH, hash, last_seen_at, &n, err);
	if (rc == 0 && n == 0)
		rc = perr_set(err, PERR_NOT_FOUND, "login", "the login has ended");
	return rc;
}

int pg_login_delete(void *impl, const unsigned char hash[STORE_LOGIN_HASH_LEN],
		    struct perr *err)
{
	long long n = 0;
	return login_write(impl, &Q_LOGIN_DELETE, hash, 0, &n, err);
}

int pg_login_delete_user(void *impl, long long user_id, long long *deleted, struct perr *err)
{
	long long n = 0;
	int rc = login_write(impl, &Q_LOGIN_DELETE_USER, NULL, user_id, &n, err);
	if (deleted)
		*deleted = rc == 0 ? n : 0;
	return rc;
}

int pg_logins(void *impl, long long now_ms, store_login_fn fn, void *arg, struct perr *err)
{
	struct pg_store *s = impl;
	long long pruned = 0;
	int out = login_write(s, &Q_LOGIN_PRUNE, NULL, now_ms, &pruned, err);
	if (out < 0)
		return out;
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	PGresult *r = pg_exec(c, &Q_LOGINS, "i", now_ms);
	out = r ? 0 : pg_fail(s, c, err);
	pg_release(s, c);
	for (int i = 0; r && i < PQntuples(r); i++) {
		struct store_login l;
		memset(&l, 0, sizeof l);
		if (pg_hash(r, i, 0, l.hash) < 0)
			continue; /* the schema's CHECK keeps these out; never match one */
		l.user_id = pg_ll(r, i, 1);
		snprintf(l.user, sizeof l.user, "%s", pg_str(r, i, 2));
		l.role = role_parse(pg_str(r, i, 3));
		l.created_at = pg_ll(r, i, 4);
		l.last_seen_at = pg_ll(r, i, 5);
		l.expires_at = pg_ll(r, i, 6);
		if (l.role < 0)
			continue; /* a role this binary does not know grants nothing */
		if (fn(arg, &l) < 0)
			break;
	}
	PQclear(r);
	return out;
}
