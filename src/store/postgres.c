/* postgres: the PostgreSQL backend of struct store — opening the pool,
 * migrations under an advisory lock (so replicas starting together apply
 * each one once), the readiness check, and the ops table. The ops themselves
 * are in pg_log.c (events), pg_accounts.c (tokens, accounts, sign-ins),
 * pg_proposals.c (the rows under the proposal rules of proposals.c) and
 * pg_proof.c (the embedded proof planes); the plumbing in pg_conn.c. Like
 * sqlite.c it does not retry on its own beyond a deadlock, log, or decide
 * what an error means to the user. */
#include "store/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/clock.h"

#define DEFAULT_LOCK_TIMEOUT_MS 5000

void pg_url_label(const char *url, char *out, size_t cap)
{
	const char *sep = strstr(url, "://");
	if (!sep) {
		snprintf(out, cap, "(a PostgreSQL URL)");
		return;
	}
	const char *auth = sep + 3;
	size_t alen = strcspn(auth, "/?");
	const char *at = NULL;
	for (const char *p = auth; p < auth + alen; p++)
		if (*p == '@')
			at = p; /* the last one: a password may hold '@' */
	int ulen = 0;
	if (at)
		ulen = (int)strcspn(auth, ":@");
	const char *host = at ? at + 1 : auth;
	int hlen = (int)(auth + alen - host);
	const char *path = auth + alen;
	int plen = *path == '/' ? (int)strcspn(path, "?") : 0;
	snprintf(out, cap, "%.*s://%.*s%s%.*s%.*s", (int)(sep - url), url, ulen, auth,
		 ulen ? "@" : "", hlen, host, plen, path);
}

static void store_free(struct pg_store *s)
{
	if (!s)
		return;
	for (int i = 0; s->conns && i < s->nconns; i++)
		PQfinish(s->conns[i].conn);
	free(s->conns);
	free(s->idle);
	if (s->password) {
		sodium_memzero(s->password, strlen(s->password));
		free(s->password);
	}
	if (s->url) {
		sodium_memzero(s->url, strlen(s->url));
		free(s->url);
	}
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->returned);
	free(s);
}

int pg_store_open(const char *url, const struct store_options *opt, void **impl,
		  struct perr *err)
{
	*impl = NULL;
	if (!url || !*url)
		return perr_set(err, PERR_INVALID, PG_FIELD, "store.db is empty");
	struct pg_store *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->returned, NULL);
	s->url = strdup(url);
	if (opt && opt->password && *opt->password)
		s->password = strdup(opt->password);
	if (!s->url || (opt && opt->password && *opt->password && !s->password))
		abort();
	pg_url_label(url, s->label, sizeof s->label);
	s->lock_timeout_ms = opt && opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms
							     : DEFAULT_LOCK_TIMEOUT_MS;
	int pool = opt && opt->pool_size > 0 ? opt->pool_size : PG_POOL_DEFAULT;
	s->nconns = pool > PG_POOL_MAX ? PG_POOL_MAX : pool;
	s->conns = calloc((size_t)s->nconns, sizeof *s->conns);
	s->idle = calloc((size_t)s->nconns, sizeof *s->idle);
	if (!s->conns || !s->idle)
		abort();
	for (int i = 0; i < s->nconns; i++) {
		s->conns[i].store = s;
		s->idle[s->nidle++] = s->nconns - 1 - i;
	}
	int rc = store_migrations_plan(PG_MIGRATIONS_PREFIX, embedded_files, embedded_count,
				       s->migs, &s->nmigs, err);
	if (rc < 0) {
		store_free(s);
		return rc;
	}
	if (sodium_init() < 0) {
		store_free(s);
		return perr_set(err, PERR_INTERNAL, NULL, "libsodium failed to initialise");
	}
	/* One connection now: a wrong host, database or password shows at open. */
	struct pg_conn *c = pg_acquire(s, err);
	if (!c) {
		store_free(s);
		return PERR_UNAVAILABLE;
	}
	pg_release(s, c);
	*impl = s;
	return 0;
}

static void pg_close(void *impl)
{
	pg_listen_close(impl);
	store_free(impl);
}

/* --- migrate ----------------------------------------------------------- */

/* Taken by every migrating transaction, per schema: replicas that start
 * together take turns, and two portals in two schemas of one database do
 * not wait on each other. */
static const char MIGRATE_LOCK_SQL[] =
	"SELECT pg_advisory_xact_lock(hashtext('portal.migrate'), "
	"hashtext(coalesce(current_schema(), '')))";
static const char VERSION_SQL[] = "SELECT coalesce(max(version), 0) FROM schema_migrations";

static int query_int(struct pg_conn *c, const char *sql, int *out)
{
	PGresult *r = PQexec(c->conn, sql);
	int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : -1;
	if (rc < 0) {
		pg_note(c, r);
		PQclear(r);
		return -1;
	}
	*out = PQntuples(r) > 0 ? (int)pg_ll(r, 0, 0) : 0;
	PQclear(r);
	return 0;
}

static const struct pg_query Q_MIGRATED = {
	"migrated", "INSERT INTO schema_migrations (version, name, applied_at) "
		    "VALUES ($1::integer, $2::text, $3::bigint)"};

/* Applies migration v (1-based) in its own transaction, with its
 * schema_migrations row, re-reading the version under the lock. */
static int apply_one(struct pg_store *s, struct pg_conn *c, int v, struct perr *err)
{
	const struct embedded_file *m = s->migs[v - 1];
	const char *base = m->name + strlen(PG_MIGRATIONS_PREFIX);
	int current = 0;
	int rc = pg_begin(c);
	if (rc == 0)
		rc = pg_simple(c, MIGRATE_LOCK_SQL);
	if (rc == 0)
		rc = query_int(c, VERSION_SQL, &current);
	if (rc == 0 && current >= v) /* another migrator got here first */
		return pg_commit(c) == 0 ? 0 : pg_fail(s, c, err);
	if (rc == 0)
		rc = pg_simple(c, (const char *)m->data);
	if (rc == 0)
		rc = pg_run(c, NULL, &Q_MIGRATED, "iti", (long long)v, base, clock_wall_ms());
	if (rc == 0)
		rc = pg_commit(c);
	if (rc < 0) {
		pg_rollback(c);
		return perr_set(err, PERR_STORE, PG_FIELD, "migration %s failed on database %s: %s",
				m->name, s->label, c->msg);
	}
	return 0;
}

static int pg_migrate(void *impl, int *from, int *to, struct perr *err)
{
	struct pg_store *s = impl;
	int current = 0, rc = 0;
	if (from)
		*from = 0;
	if (to)
		*to = 0;
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	int src = pg_begin(c);
	if (src == 0)
		src = pg_simple(c, MIGRATE_LOCK_SQL);
	if (src == 0)
		src = pg_simple(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
				   "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
				   "applied_at BIGINT NOT NULL)");
	if (src == 0)
		src = query_int(c, VERSION_SQL, &current);
	if (src == 0)
		src = pg_commit(c);
	if (src < 0) {
		rc = pg_fail(s, c, err);
		pg_rollback(c);
		goto out;
	}
	if (from)
		*from = current;
	if (current > s->nmigs) {
		char msg[256];
		store_newer_msg(msg, sizeof msg, s->label, current, s->nmigs);
		rc = perr_set(err, PERR_SCHEMA, PG_FIELD, "%s", msg);
		goto out;
	}
	for (int v = current + 1; v <= s->nmigs && rc == 0; v++) {
		rc = apply_one(s, c, v, err);
		if (rc == 0)
			current = v;
	}
out:
	if (to)
		*to = current;
	pg_release(s, c);
	return rc;
}

/* --- check ------------------------------------------------------------- */

/* Whether r failed because its table or schema is not there (any more). */
static int gone(const PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	return state && (!strcmp(state, "42P01") || !strcmp(state, "3F000"));
}

/* One look at both tables. Returns 1 when a table was there at the first
 * look and gone at the read (the schema is being dropped): the caller looks
 * again, so the verdict comes from one state, not half of each. */
static int look_once(PGconn *conn, struct store_status *st, PGresult **out)
{
	PGresult *r = PQexec(conn, "SELECT to_regclass('schema_migrations') IS NOT NULL, "
				   "to_regclass('portal_instance') IS NOT NULL");
	*out = r;
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		return -1;
	int has_versions = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	int has_instance = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
	PQclear(r);
	*out = NULL;
	st->schema_version = 0;
	st->instance_id[0] = '\0';
	if (has_versions) {
		r = *out = PQexec(conn, VERSION_SQL);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
			st->schema_version = (int)pg_ll(r, 0, 0);
		else
			return gone(r) ? 1 : -1;
		PQclear(r);
		*out = NULL;
	}
	if (has_instance) {
		r = *out = PQexec(conn, "SELECT id FROM portal_instance LIMIT 1");
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			return gone(r) ? 1 : -1;
		if (PQntuples(r) == 1)
			snprintf(st->instance_id, sizeof st->instance_id, "%s", pg_str(r, 0, 0));
	}
	return 0;
}

/* Reads version and instance id over a connection of its own, made now: a
 * pooled one could look healthy while new ones fail. Fills st->reason and
 * returns -1 on failure. */
static int look(const struct pg_store *s, struct store_status *st)
{
	char why[224];
	PGconn *conn = pg_connect(s, why, sizeof why);
	if (!conn) {
		snprintf(st->reason, sizeof st->reason, "database %s cannot be opened: %.96s",
			 s->label, why);
		return -1;
	}
	PGresult *r = NULL;
	int rc = 1;
	for (int tries = 0; rc == 1 && tries < 3; tries++) {
		PQclear(r);
		rc = look_once(conn, st, &r);
	}
	if (rc != 0) {
		const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
		snprintf(st->reason, sizeof st->reason, "database %s failed: %s", s->label,
			 msg ? msg : "the schema could not be read");
		rc = -1;
	}
	PQclear(r);
	PQfinish(conn);
	return rc;
}

static int pg_check(void *impl, struct store_status *st, struct perr *err)
{
	const struct pg_store *s = impl;
	memset(st, 0, sizeof *st);
	st->schema_latest = s->nmigs;
	if (look(s, st) == 0)
		store_readiness_verdict(st, s->label, s->nmigs);
	if (st->ready)
		return 0;
	return perr_set(err, PERR_UNAVAILABLE, PG_FIELD, "%s", st->reason);
}

static const struct store_log_ops pg_log_ops = {
	.append = pg_append,
	.scan = pg_scan,
	.events_listen = pg_events_listen,
	.history = pg_history,
};

static const struct store_account_ops pg_account_ops = {
	.token_add = pg_token_add,
	.token_revoke = pg_token_revoke,
	.tokens = pg_tokens,
	.user_add = pg_user_add,
	.user_get = pg_user_get,
	.user_update = pg_user_update,
	.users = pg_users,
	.login_add = pg_login_add,
	.login_touch = pg_login_touch,
	.login_delete = pg_login_delete,
	.login_delete_user = pg_login_delete_user,
	.logins = pg_logins,
};

static const struct store_proof_ops pg_proof_ops = {
	.graph_put = pg_graph_put,
	.graph_about = pg_graph_about,
	.fact_record = pg_fact_record,
	.facts = pg_facts,
	.evidence_put = pg_evidence_put,
	.evidence_of = pg_evidence_of,
};

const struct store_ops pg_store_ops = {
	.name = "postgres",
	.close = pg_close,
	.migrate = pg_migrate,
	.check = pg_check,
	.log = &pg_log_ops,
	.accounts = &pg_account_ops,
	.queue = &pg_queue_ops,
	.proof = &pg_proof_ops,
};
