/* pg_proposals: the rows of proposals, their work queue and the
 * hash-chained audit log on PostgreSQL, under the rules of proposals.c
 * (which holds every decision; this file only reads and writes). Each change
 * locks what it reads: the proposal's row (FOR UPDATE; the queue takes the
 * next due one with SKIP LOCKED, so two workers never get the same
 * proposal), then the audit chain's tail row, then the event log's seq row —
 * always in that order, so two changes never wait on each other in a circle. */
#include "store/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/proposal.h"
#include "store/backend.h"

#define PROPOSAL_COLUMNS                                                                   \
	"id, kind, project, proposer, idempotency_key, input, state, attempts, created_at, " \
	"updated_at, next_attempt_at, lease_owner, lease_until, last_error, evidence, "      \
	"closure, closure_at"

/* Fills p from a row of PROPOSAL_COLUMNS (input, evidence and closure newly
 * allocated); -1 when its state is not one this binary knows. */
static int proposal_from_row(const PGresult *r, int i, struct store_proposal *p)
{
	memset(p, 0, sizeof *p);
	snprintf(p->id, sizeof p->id, "%s", pg_str(r, i, 0));
	snprintf(p->kind, sizeof p->kind, "%s", pg_str(r, i, 1));
	snprintf(p->project, sizeof p->project, "%s", pg_str(r, i, 2));
	snprintf(p->proposer, sizeof p->proposer, "%s", pg_str(r, i, 3));
	snprintf(p->idempotency_key, sizeof p->idempotency_key, "%s", pg_str(r, i, 4));
	p->input = pg_dup(r, i, 5);
	p->state = proposal_state_parse(pg_str(r, i, 6));
	p->attempts = (int)pg_ll(r, i, 7);
	p->created_at = pg_ll(r, i, 8);
	p->updated_at = pg_ll(r, i, 9);
	p->next_attempt_at = pg_ll(r, i, 10);
	snprintf(p->lease_owner, sizeof p->lease_owner, "%s", pg_str(r, i, 11));
	p->lease_until = pg_ll(r, i, 12);
	snprintf(p->last_error, sizeof p->last_error, "%s", pg_str(r, i, 13));
	p->evidence = pg_dup(r, i, 14);
	p->closure = pg_dup(r, i, 15);
	p->closure_at = pg_ll(r, i, 16);
	return p->state < 0 ? -1 : 0;
}

static int unknown_state(struct perr *err, const PGresult *r, int i)
{
	return perr_set(err, PERR_STORE, PG_FIELD, "proposal '%s' is in state '%s', which this portal "
			"does not know", pg_str(r, i, 0), pg_str(r, i, 6));
}

static int not_found(struct perr *err, const char *id)
{
	return perr_set(err, PERR_NOT_FOUND, "id", "no proposal has id '%s'", id ? id : "");
}

/* --- the audit chain --------------------------------------------------------- */

static const struct pg_query Q_AUDIT_LOCK = {
	"audit_lock", "SELECT last FROM portal_audit_tail FOR UPDATE"};
/* A statement after the lock: READ COMMITTED gives it a snapshot that holds
 * the last appender's committed row. */
static const struct pg_query Q_AUDIT_PREV = {
	"audit_prev", "SELECT (SELECT hash FROM portal_audit ORDER BY seq DESC LIMIT 1), "
		      "greatest($1::bigint, coalesce((SELECT max(seq) FROM portal_audit), 0)) + 1"};
static const struct pg_query Q_AUDIT_ADD = {
	"audit_add", "WITH t AS (UPDATE portal_audit_tail SET last = $1::bigint) "
		     "INSERT INTO portal_audit "
		     "(seq, proposal, from_state, to_state, actor, at, reason, prev, hash) "
		     "VALUES ($1::bigint, $2::text, $3::text, $4::text, $5::text, $6::bigint, "
		     "$7::text, $8::bytea, $9::bytea)"};

/* --- reading ------------------------------------------------------------------ */


static const struct pg_query Q_HEAD = {
	"proposal_head", "SELECT state, kind, project, lease_owner, lease_until "
			 "FROM portal_proposals WHERE id = $1::text FOR UPDATE"};
static const struct pg_query Q_GET = {
	"proposal_get", "SELECT " PROPOSAL_COLUMNS " FROM portal_proposals WHERE id = $1::text"};

static int load_head(void *tx, const char *id, struct store_head *h)
{
	struct pg_conn *c = tx;
	memset(h, 0, sizeof *h);
	PGresult *r = pg_exec(c, &Q_HEAD, "t", id);
	if (!r)
		return -1;
	if (PQntuples(r) == 1) {
		h->found = 1;
		h->state = proposal_state_parse(pg_str(r, 0, 0));
		snprintf(h->kind, sizeof h->kind, "%s", pg_str(r, 0, 1));
		snprintf(h->project, sizeof h->project, "%s", pg_str(r, 0, 2));
		snprintf(h->lease_owner, sizeof h->lease_owner, "%s", pg_str(r, 0, 3));
		h->lease_until = pg_ll(r, 0, 4);
	}
	PQclear(r);
	return 0;
}

/* Reads the whole row of id into out. Returns -1 on a failure of the
 * database (c->state set), else 0 with *out_rc 0 or PERR_* (unknown state). */
static int read_proposal(void *tx, const char *id, struct store_proposal *out, int *found,
			 int *out_rc, struct perr *err)
{
	struct pg_conn *c = tx;
	*found = 0;
	*out_rc = 0;
	PGresult *r = pg_exec(c, &Q_GET, "t", id);
	if (!r)
		return -1;
	if (PQntuples(r) == 1) {
		*found = 1;
		if (proposal_from_row(r, 0, out) < 0) {
			*out_rc = unknown_state(err, r, 0);
			store_proposal_clear(out);
			*found = 0;
		}
	}
	PQclear(r);
	return 0;
}

/* --- get, list, closure ------------------------------------------------------ */

static int proposal_get(void *impl, const char *id, struct store_proposal *out_p,
			struct perr *err)
{
	struct pg_store *s = impl;
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	int found = 0, out = 0;
	int rc = read_proposal(c, id, out_p, &found, &out, err);
	if (rc < 0)
		out = pg_fail(s, c, err);
	pg_release(s, c);
	if (out == 0 && !found)
		out = not_found(err, id);
	return out;
}

static const struct pg_query Q_LIST = {
	"proposals", "SELECT " PROPOSAL_COLUMNS " FROM portal_proposals "
		     "WHERE ($1::text IS NULL OR project = $1::text) "
		     "AND ($2::text IS NULL OR kind = $2::text) "
		     "AND ($3::text IS NULL OR state = $3::text) "
		     "ORDER BY created_at DESC, id DESC LIMIT $4::bigint"};

static int proposal_list(void *impl, const struct store_proposal_filter *f,
			 store_proposal_fn fn, void *arg, struct perr *err)
{
	struct pg_store *s = impl;
	const char *state = f && f->state >= 0 ? proposal_state_name(f->state) : NULL;
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	PGresult *r = pg_exec(c, &Q_LIST, "tttl", f ? f->project : NULL, f ? f->kind : NULL, state,
			      (long long)(f && f->limit > 0 ? f->limit : 0));
	int out = r ? 0 : pg_fail(s, c, err);
	pg_release(s, c);
	for (int i = 0; r && i < PQntuples(r); i++) {
		struct store_proposal p;
		if (proposal_from_row(r, i, &p) < 0) {
			store_proposal_clear(&p);
			out = unknown_state(err, r, i);
			break;
		}
		int stop = fn(arg, &p) < 0;
		store_proposal_clear(&p);
		if (stop)
			break;
	}
	PQclear(r);
	return out;
}

static const struct pg_query Q_CLOSURE = {
	"proposal_closure", "UPDATE portal_proposals SET closure = $2::text, "
			    "closure_at = $3::bigint WHERE id = $1::text"};

static int proposal_set_closure(void *impl, const char *id, const char *closure,
				long long at, struct perr *err)
{
	struct pg_store *s = impl;
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	long long n = 0;
	int out = pg_run(c, &n, &Q_CLOSURE, "tti", id, closure, at) < 0 ? pg_fail(s, c, err) : 0;
	pg_release(s, c);
	if (out == 0 && n == 0)
		out = not_found(err, id);
	return out;
}

static const struct pg_query Q_ERROR = {
	"proposal_error", "UPDATE portal_proposals SET last_error = $2::text, "
			  "updated_at = $3::bigint WHERE id = $1::text"};

static int proposal_set_error(void *impl, const char *id, const char *why, long long at,
			      struct perr *err)
{
	struct pg_store *s = impl;
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	long long n = 0;
	int out = pg_run(c, &n, &Q_ERROR, "tti", id, why, at) < 0 ? pg_fail(s, c, err) : 0;
	pg_release(s, c);
	if (out == 0 && n == 0)
		out = not_found(err, id);
	return out;
}

/* --- reading the audit log ------------------------------------------------------------ */

static const struct pg_query Q_AUDIT_ALL = {
	"audit_all", "SELECT seq, proposal, from_state, to_state, actor, at, reason, prev, hash "
		     "FROM portal_audit WHERE seq > $1::bigint ORDER BY seq LIMIT $2::bigint"};
static const struct pg_query Q_AUDIT_OF = {
	"audit_of", "SELECT seq, proposal, from_state, to_state, actor, at, reason, prev, hash "
		    "FROM portal_audit WHERE proposal = $3::text AND seq > $1::bigint "
		    "ORDER BY seq LIMIT $2::bigint"};

/* Page by page: rows are appended under the tail's lock, so seq order is
 * commit order and `seq > last` misses none. */
static int audit_rows(void *impl, const char *id, store_audit_fn fn, void *arg, struct perr *err)
{
	struct pg_store *s = impl;
	long long after = 0;
	for (;;) {
		struct pg_conn *c = pg_acquire(s, err);
		if (!c)
			return PERR_UNAVAILABLE;
		PGresult *r = id ? pg_exec(c, &Q_AUDIT_OF, "iit", after, (long long)PG_PAGE, id)
				 : pg_exec(c, &Q_AUDIT_ALL, "ii", after, (long long)PG_PAGE);
		if (!r) {
			int out = pg_fail(s, c, err);
			pg_release(s, c);
			return out;
		}
		pg_release(s, c);
		int rows = PQntuples(r);
		for (int i = 0; i < rows; i++) {
			struct store_audit a;
			memset(&a, 0, sizeof a);
			a.seq = after = pg_ll(r, i, 0);
			snprintf(a.proposal, sizeof a.proposal, "%s", pg_str(r, i, 1));
			snprintf(a.from, sizeof a.from, "%s", pg_str(r, i, 2));
			snprintf(a.to, sizeof a.to, "%s", pg_str(r, i, 3));
			snprintf(a.actor, sizeof a.actor, "%s", pg_str(r, i, 4));
			a.at = pg_ll(r, i, 5);
			snprintf(a.reason, sizeof a.reason, "%s", pg_str(r, i, 6));
			/* A hash of the wrong size (only a hand edit) stays zeros and
			 * so fails verification, as it should. */
			pg_hash(r, i, 7, a.prev);
			pg_hash(r, i, 8, a.hash);
			if (fn(arg, &a) < 0) {
				PQclear(r);
				return 0;
			}
		}
		PQclear(r);
		if (rows < PG_PAGE)
			return 0;
	}
}

/* --- the statements of a change ---------------------------------------------- */

static const struct pg_query Q_FIND_KEY = {
	"proposal_find_key", "SELECT id FROM portal_proposals "
			     "WHERE proposer = $1::text AND idempotency_key = $2::text"};
static const struct pg_query Q_INSERT = {
	"proposal_insert",
	"INSERT INTO portal_proposals (id, kind, project, proposer, idempotency_key, input, "
	"state, attempts, created_at, updated_at) VALUES ($1::text, $2::text, $3::text, "
	"$4::text, $5::text, $6::text, $7::text, 0, $8::bigint, $8::bigint)"};

static const struct pg_query Q_MOVE = {
	"proposal_move", "UPDATE portal_proposals SET state = $2::text, updated_at = $3::bigint, "
			 "next_attempt_at = CASE WHEN $2::text = 'queued' THEN $3::bigint END "
			 "WHERE id = $1::text"};

/* Due since: a queued one's next attempt, a running one's lease end. SKIP
 * LOCKED: a proposal another worker is taking right now is not waited for,
 * and not taken twice. */
static const struct pg_query Q_DUE = {
	"queue_due",
	"SELECT id FROM portal_proposals "
	"WHERE (state = 'queued' AND next_attempt_at <= $1::bigint) "
	"OR (state = 'running' AND lease_until < $1::bigint) "
	"ORDER BY CASE state WHEN 'running' THEN lease_until ELSE next_attempt_at END, "
	"created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED"};
static const struct pg_query Q_EXPIRE = {
	"queue_expire", "UPDATE portal_proposals SET state = 'queued', lease_owner = NULL, "
			"lease_until = NULL, next_attempt_at = $2::bigint, updated_at = $2::bigint "
			"WHERE id = $1::text"};
static const struct pg_query Q_TAKE = {
	"queue_take", "UPDATE portal_proposals SET state = 'running', lease_owner = $2::text, "
		      "lease_until = $3::bigint, attempts = attempts + 1, next_attempt_at = NULL, "
		      "updated_at = $4::bigint WHERE id = $1::text"};
static const struct pg_query Q_HEARTBEAT = {
	"queue_heartbeat", "UPDATE portal_proposals SET lease_until = $2::bigint "
			   "WHERE id = $1::text"};
static const struct pg_query Q_RELEASE = {
	"queue_release", "UPDATE portal_proposals SET state = 'queued', lease_owner = NULL, "
			 "lease_until = NULL, attempts = greatest(attempts - 1, 0), "
			 "next_attempt_at = $2::bigint, updated_at = $2::bigint WHERE id = $1::text"};
static const struct pg_query Q_FINISH = {
	"queue_finish",
	"UPDATE portal_proposals SET state = $2::text, lease_owner = NULL, lease_until = NULL, "
	"updated_at = $3::bigint, "
	"next_attempt_at = CASE WHEN $2::text = 'queued' THEN $4::bigint END, "
	"evidence = CASE WHEN $2::text = 'executed' THEN $5::text ELSE evidence END, "
	"last_error = CASE WHEN $2::text = 'executed' THEN last_error ELSE $6::text END "
	"WHERE id = $1::text"};

/* --- a change's transaction and its rows (backend.h) ----------------------------- */

static void *tx_open(void *impl, struct perr *err)
{
	return pg_acquire(impl, err);
}

static int tx_begin(void *tx)
{
	return pg_begin(tx);
}

static int tx_commit(void *tx)
{
	return pg_commit(tx);
}

static void tx_rollback(void *tx)
{
	pg_rollback(tx);
}

static int tx_retry(const void *tx, int unique)
{
	return pg_retryable(tx) || (unique && pg_unique_violation(tx));
}

static int tx_fail(const void *tx, struct perr *err)
{
	const struct pg_conn *c = tx;
	return pg_fail(c->store, c, err);
}

static void tx_close(void *tx)
{
	struct pg_conn *c = tx;
	pg_release(c->store, c);
}

static int find_key(void *tx, const char *proposer, const char *key,
		    char id[STORE_PROPOSAL_ID_MAX])
{
	id[0] = '\0';
	PGresult *r = pg_exec(tx, &Q_FIND_KEY, "tt", proposer, key);
	if (!r)
		return -1;
	if (PQntuples(r) == 1)
		snprintf(id, STORE_PROPOSAL_ID_MAX, "%s", pg_str(r, 0, 0));
	PQclear(r);
	return 0;
}

static int insert(void *tx, const char *id, const struct store_proposal *p, const char *key,
		  long long at)
{
	return pg_run(tx, NULL, &Q_INSERT, "ttttttti", id, p->kind, p->project, p->proposer, key,
		      p->input, proposal_state_name(PROPOSAL_SUBMITTED), at);
}

static int due(void *tx, long long now, char id[STORE_PROPOSAL_ID_MAX])
{
	id[0] = '\0';
	PGresult *r = pg_exec(tx, &Q_DUE, "i", now);
	if (!r)
		return -1;
	if (PQntuples(r) == 1)
		snprintf(id, STORE_PROPOSAL_ID_MAX, "%s", pg_str(r, 0, 0));
	PQclear(r);
	return 0;
}

static int move(void *tx, const char *id, int to, long long at)
{
	return pg_run(tx, NULL, &Q_MOVE, "tti", id, proposal_state_name(to), at);
}

static int expire(void *tx, const char *id, long long now)
{
	return pg_run(tx, NULL, &Q_EXPIRE, "ti", id, now);
}

static int take(void *tx, const char *id, const char *worker, long long until, long long now)
{
	return pg_run(tx, NULL, &Q_TAKE, "ttii", id, worker, until, now);
}

static int extend(void *tx, const char *id, long long until)
{
	return pg_run(tx, NULL, &Q_HEARTBEAT, "ti", id, until);
}

static int give_back(void *tx, const char *id, long long now)
{
	return pg_run(tx, NULL, &Q_RELEASE, "ti", id, now);
}

static int finish(void *tx, const char *id, int to, long long now, long long retry_at,
		  const char *evidence, const char *why)
{
	return pg_run(tx, NULL, &Q_FINISH, "ttiitt", id, proposal_state_name(to), now, retry_at,
		      evidence, why);
}

static int audit_tail(void *tx, unsigned char prev[AUDIT_HASH_LEN], long long *next)
{
	struct pg_conn *c = tx;
	PGresult *res = pg_exec(c, &Q_AUDIT_LOCK, "");
	if (!res)
		return -1;
	long long last = PQntuples(res) == 1 ? pg_ll(res, 0, 0) : -1;
	PQclear(res);
	if (last < 0) {
		snprintf(c->state, sizeof c->state, "XX000");
		snprintf(c->msg, sizeof c->msg, "portal_audit_tail does not have its one row");
		return -1;
	}
	res = pg_exec(c, &Q_AUDIT_PREV, "i", last);
	if (!res)
		return -1;
	pg_hash(res, 0, 0, prev); /* zeros for the first row */
	*next = pg_ll(res, 0, 1);
	PQclear(res);
	return 0;
}

static int audit_add(void *tx, const struct audit_row *r)
{
	return pg_run(tx, NULL, &Q_AUDIT_ADD, "ittttithh", r->seq, r->proposal, r->from, r->to,
		      r->actor, r->at, r->reason, r->prev, r->hash);
}

static int event_add(void *tx, const struct event *ev, long long now)
{
	long long seq = 0;
	int fresh = 0;
	return pg_append_events(tx, ev, 1, now, &seq, &fresh);
}

const struct store_queue_ops pg_queue_ops = {
	.get = proposal_get,
	.list = proposal_list,
	.set_closure = proposal_set_closure,
	.set_error = proposal_set_error,
	.audit = audit_rows,
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
