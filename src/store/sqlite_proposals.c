/* sqlite_proposals: the rows of proposals, their work queue and the
 * hash-chained audit log on SQLite, under the rules of proposals.c (which
 * holds every decision; this file only reads and writes). One connection
 * under one lock and BEGIN IMMEDIATE: what a change reads stays so until it
 * commits, so there is nothing to run again. */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/proposal.h"

#define PROPOSAL_COLUMNS                                                                   \
	"id, kind, project, proposer, idempotency_key, input, state, attempts, created_at, " \
	"updated_at, next_attempt_at, lease_owner, lease_until, last_error, evidence, "      \
	"closure, closure_at"

/* Fills p from a row of PROPOSAL_COLUMNS (input and evidence newly
 * allocated); -1 when its state is not one this binary knows. */
static int proposal_from_row(sqlite3_stmt *st, struct store_proposal *p)
{
	memset(p, 0, sizeof *p);
	snprintf(p->id, sizeof p->id, "%s", lite_str(st, 0));
	snprintf(p->kind, sizeof p->kind, "%s", lite_str(st, 1));
	snprintf(p->project, sizeof p->project, "%s", lite_str(st, 2));
	snprintf(p->proposer, sizeof p->proposer, "%s", lite_str(st, 3));
	snprintf(p->idempotency_key, sizeof p->idempotency_key, "%s", lite_str(st, 4));
	p->input = lite_dup(st, 5);
	p->state = proposal_state_parse(lite_str(st, 6));
	p->attempts = sqlite3_column_int(st, 7);
	p->created_at = sqlite3_column_int64(st, 8);
	p->updated_at = sqlite3_column_int64(st, 9);
	p->next_attempt_at = sqlite3_column_int64(st, 10);
	snprintf(p->lease_owner, sizeof p->lease_owner, "%s", lite_str(st, 11));
	p->lease_until = sqlite3_column_int64(st, 12);
	snprintf(p->last_error, sizeof p->last_error, "%s", lite_str(st, 13));
	p->evidence = lite_dup(st, 14);
	p->closure = lite_dup(st, 15);
	p->closure_at = sqlite3_column_int64(st, 16);
	return p->state < 0 ? -1 : 0;
}

static int unknown_state(struct perr *err, sqlite3_stmt *st)
{
	return perr_set(err, PERR_STORE, LITE_FIELD, "proposal '%s' is in state '%s', which this portal "
			"does not know", lite_str(st, 0), lite_str(st, 6));
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

static const struct lite_query Q_GET = {
	"proposal_get", "SELECT " PROPOSAL_COLUMNS " FROM portal_proposals WHERE id = ?1"};

/* Reads the whole row of id into out (inside a transaction or the lock). */
static int read_proposal(void *tx, const char *id, struct store_proposal *out, int *found,
			 int *out_rc, struct perr *err)
{
	struct sqlite_store *s = tx;
	sqlite3_stmt *st = NULL;
	*found = 0;
	*out_rc = 0;
	int rc = lite_stmt(s, &Q_GET, &st);
	if (rc == SQLITE_OK) {
		lite_bind_text(st, 1, id);
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
	sqlite3_reset(st);
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

static const struct lite_query Q_LIST = {
	"proposals", "SELECT " PROPOSAL_COLUMNS " FROM portal_proposals "
		     "WHERE (?1 IS NULL OR project = ?1) AND (?2 IS NULL OR kind = ?2) "
		     "AND (?3 IS NULL OR state = ?3) "
		     "ORDER BY created_at DESC, id DESC LIMIT ?4"};

static int sqlite_proposals(void *impl, const struct store_proposal_filter *f,
			    store_proposal_fn fn, void *arg, struct perr *err)
{
	struct sqlite_store *s = impl;
	const char *state = f && f->state >= 0 ? proposal_state_name(f->state) : NULL;
	sqlite3_stmt *st = NULL;
	int out = 0;
	pthread_mutex_lock(&s->lock);
	int rc = lite_stmt(s, &Q_LIST, &st);
	if (rc == SQLITE_OK) {
		lite_bind_text(st, 1, f ? f->project : NULL);
		lite_bind_text(st, 2, f ? f->kind : NULL);
		lite_bind_text(st, 3, state);
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
		out = lite_step_fail(s, err, rc);
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->lock);
	return out;
}

static const struct lite_query Q_CLOSURE = {
	"proposal_closure", "UPDATE portal_proposals SET closure = ?2, closure_at = ?3 WHERE id = ?1"};

/* Runs q (?1 id, ?2 text, ?3 at) on one proposal: PERR_NOT_FOUND when no
 * row is id. */
static int update_one(struct sqlite_store *s, const struct lite_query *q, const char *id,
		      const char *text, long long at, struct perr *err)
{
	pthread_mutex_lock(&s->lock);
	int rc = lite_run(s, q, "tti", id, text, at);
	int changed = rc == SQLITE_OK ? sqlite3_changes(s->db) : 0;
	int out = rc == SQLITE_OK ? 0 : lite_step_fail(s, err, rc);
	pthread_mutex_unlock(&s->lock);
	if (out == 0 && !changed)
		out = not_found(err, id);
	return out;
}

static int sqlite_proposal_set_closure(void *impl, const char *id, const char *closure,
				       long long at, struct perr *err)
{
	return update_one(impl, &Q_CLOSURE, id, closure, at, err);
}

static const struct lite_query Q_ERROR = {
	"proposal_error", "UPDATE portal_proposals SET last_error = ?2, updated_at = ?3 WHERE id = ?1"};

static int sqlite_proposal_set_error(void *impl, const char *id, const char *why, long long at,
				     struct perr *err)
{
	return update_one(impl, &Q_ERROR, id, why, at, err);
}

/* Two statements, not "?1 IS NULL OR proposal = ?1": the OR would keep
 * SQLite off the (proposal, seq) index and read the whole log for one
 * proposal's timeline. */
static const struct lite_query Q_AUDIT_ALL = {
	"audit_all", "SELECT seq, proposal, from_state, to_state, actor, at, reason, prev, hash "
		     "FROM portal_audit ORDER BY seq"};
static const struct lite_query Q_AUDIT_OF = {
	"audit_of", "SELECT seq, proposal, from_state, to_state, actor, at, reason, prev, hash "
		    "FROM portal_audit WHERE proposal = ?1 ORDER BY seq"};

static int sqlite_audit(void *impl, const char *id, store_audit_fn fn, void *arg,
			struct perr *err)
{
	struct sqlite_store *s = impl;
	sqlite3_stmt *st = NULL;
	int out = 0;
	pthread_mutex_lock(&s->lock);
	int rc = lite_stmt(s, id ? &Q_AUDIT_OF : &Q_AUDIT_ALL, &st);
	if (rc == SQLITE_OK && id)
		rc = lite_bind_text(st, 1, id);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_audit a;
		memset(&a, 0, sizeof a);
		a.seq = sqlite3_column_int64(st, 0);
		snprintf(a.proposal, sizeof a.proposal, "%s", lite_str(st, 1));
		snprintf(a.from, sizeof a.from, "%s", lite_str(st, 2));
		snprintf(a.to, sizeof a.to, "%s", lite_str(st, 3));
		snprintf(a.actor, sizeof a.actor, "%s", lite_str(st, 4));
		a.at = sqlite3_column_int64(st, 5);
		snprintf(a.reason, sizeof a.reason, "%s", lite_str(st, 6));
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
		out = lite_step_fail(s, err, rc);
	sqlite3_reset(st);
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
	return noted(tx, lite_begin(tx));
}

static int tx_commit(void *tx)
{
	struct sqlite_store *s = tx;
	return noted(s, sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL));
}

static void tx_rollback(void *tx)
{
	lite_rollback(((struct sqlite_store *)tx)->db);
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
	lite_describe(why, sizeof why, s->label, s->tx_ext, s->tx_msg);
	return perr_set(err, (s->tx_rc & 0xff) == SQLITE_BUSY ? PERR_UNAVAILABLE : PERR_STORE,
			LITE_FIELD, "%s", why);
}

static void tx_close(void *tx)
{
	struct sqlite_store *s = tx;
	lite_rollback(s->db); /* a no-op once COMMIT went through */
	pthread_mutex_unlock(&s->lock);
}

static const struct lite_query Q_FIND_KEY = {
	"proposal_find_key", "SELECT id FROM portal_proposals "
			     "WHERE proposer = ?1 AND idempotency_key = ?2"};

/* The end of a lookup of one proposal id: rc is what stepping st gave (or
 * preparing it, when that failed). A row fills id, none leaves it "". */
static int id_row(struct sqlite_store *s, sqlite3_stmt *st, int rc, char id[STORE_PROPOSAL_ID_MAX])
{
	if (rc == SQLITE_ROW) {
		snprintf(id, STORE_PROPOSAL_ID_MAX, "%s", lite_str(st, 0));
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	rc = noted(s, rc);
	sqlite3_reset(st);
	return rc;
}

static int find_key(void *tx, const char *proposer, const char *key,
		    char id[STORE_PROPOSAL_ID_MAX])
{
	struct sqlite_store *s = tx;
	sqlite3_stmt *st = NULL;
	id[0] = '\0';
	int rc = lite_stmt(s, &Q_FIND_KEY, &st);
	if (rc == SQLITE_OK) {
		lite_bind_text(st, 1, proposer);
		lite_bind_text(st, 2, key);
		rc = sqlite3_step(st);
	}
	return id_row(s, st, rc, id);
}

static const struct lite_query Q_INSERT = {
	"proposal_insert", "INSERT INTO portal_proposals (id, kind, project, proposer, "
			   "idempotency_key, input, state, attempts, created_at, updated_at) "
			   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?8)"};

static int insert(void *tx, const char *id, const struct store_proposal *p, const char *key,
		  long long at)
{
	return noted(tx, lite_run(tx, &Q_INSERT,
				  "ttttttti", id, p->kind, p->project, p->proposer, key, p->input,
				  proposal_state_name(PROPOSAL_SUBMITTED), at));
}

static const struct lite_query Q_HEAD = {
	"proposal_head", "SELECT state, kind, project, lease_owner, lease_until "
			 "FROM portal_proposals WHERE id = ?1"};

static int load_head(void *tx, const char *id, struct store_head *h)
{
	struct sqlite_store *s = tx;
	sqlite3_stmt *st = NULL;
	memset(h, 0, sizeof *h);
	int rc = lite_stmt(s, &Q_HEAD, &st);
	if (rc == SQLITE_OK) {
		lite_bind_text(st, 1, id);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW) {
		h->found = 1;
		h->state = proposal_state_parse(lite_str(st, 0));
		snprintf(h->kind, sizeof h->kind, "%s", lite_str(st, 1));
		snprintf(h->project, sizeof h->project, "%s", lite_str(st, 2));
		snprintf(h->lease_owner, sizeof h->lease_owner, "%s", lite_str(st, 3));
		h->lease_until = sqlite3_column_int64(st, 4);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	rc = noted(s, rc);
	sqlite3_reset(st);
	return rc;
}

static const struct lite_query Q_DUE = {
	"queue_due", "SELECT id FROM portal_proposals "
		     "WHERE (state = 'queued' AND next_attempt_at <= ?1) "
		     "OR (state = 'running' AND lease_until < ?1) "
		     "ORDER BY CASE state WHEN 'running' THEN lease_until ELSE next_attempt_at END, "
		     "created_at, id LIMIT 1"};

static int due(void *tx, long long now, char id[STORE_PROPOSAL_ID_MAX])
{
	struct sqlite_store *s = tx;
	sqlite3_stmt *st = NULL;
	id[0] = '\0';
	/* Due since: a queued one's next attempt, a running one's lease end. */
	int rc = lite_stmt(s, &Q_DUE, &st);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, now);
		rc = sqlite3_step(st);
	}
	return id_row(s, st, rc, id);
}

static const struct lite_query Q_MOVE = {
	"proposal_move", "UPDATE portal_proposals SET state = ?2, updated_at = ?3, "
			 "next_attempt_at = CASE WHEN ?2 = 'queued' THEN ?3 END WHERE id = ?1"};

static int move(void *tx, const char *id, int to, long long at)
{
	return noted(tx, lite_run(tx, &Q_MOVE, "tti", id, proposal_state_name(to), at));
}

static const struct lite_query Q_EXPIRE = {
	"queue_expire", "UPDATE portal_proposals SET state = 'queued', lease_owner = NULL, "
			"lease_until = NULL, next_attempt_at = ?2, updated_at = ?2 "
			"WHERE id = ?1"};

static int expire(void *tx, const char *id, long long now)
{
	return noted(tx, lite_run(tx, &Q_EXPIRE, "ti", id, now));
}

static const struct lite_query Q_TAKE = {
	"queue_take", "UPDATE portal_proposals SET state = 'running', lease_owner = ?2, "
		      "lease_until = ?3, attempts = attempts + 1, next_attempt_at = NULL, "
		      "updated_at = ?4 WHERE id = ?1"};

static int take(void *tx, const char *id, const char *worker, long long until, long long now)
{
	return noted(tx, lite_run(tx, &Q_TAKE, "ttii", id, worker, until, now));
}

static const struct lite_query Q_HEARTBEAT = {
	"queue_heartbeat", "UPDATE portal_proposals SET lease_until = ?2 WHERE id = ?1"};

static int extend(void *tx, const char *id, long long until)
{
	return noted(tx, lite_run(tx, &Q_HEARTBEAT, "ti", id, until));
}

static const struct lite_query Q_RELEASE = {
	"queue_release", "UPDATE portal_proposals SET state = 'queued', lease_owner = NULL, "
			 "lease_until = NULL, attempts = max(attempts - 1, 0), "
			 "next_attempt_at = ?2, updated_at = ?2 WHERE id = ?1"};

static int give_back(void *tx, const char *id, long long now)
{
	return noted(tx, lite_run(tx, &Q_RELEASE, "ti", id, now));
}

static const struct lite_query Q_FINISH = {
	"queue_finish", "UPDATE portal_proposals SET state = ?2, lease_owner = NULL, "
			"lease_until = NULL, updated_at = ?3, "
			"next_attempt_at = CASE WHEN ?2 = 'queued' THEN ?4 END, "
			"evidence = CASE WHEN ?2 = 'executed' THEN ?5 ELSE evidence END, "
			"last_error = CASE WHEN ?2 = 'executed' THEN last_error ELSE ?6 END "
			"WHERE id = ?1"};

static int finish(void *tx, const char *id, int to, long long now, long long retry_at,
		  const char *evidence, const char *why)
{
	return noted(tx, lite_run(tx, &Q_FINISH,
				  "ttiitt", id, proposal_state_name(to), now, retry_at, evidence, why));
}

static const struct lite_query Q_AUDIT_TAIL = {
	"audit_tail", "SELECT (SELECT hash FROM portal_audit ORDER BY seq DESC LIMIT 1), "
		      "max(coalesce((SELECT max(seq) FROM portal_audit), 0), "
		      "coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'portal_audit'), 0)) + 1"};

/* The hash of the last audit row overall (zeros when there is none) and the
 * seq the next row gets: past every seq ever used, even a deleted one. */
static int audit_tail(void *tx, unsigned char prev[AUDIT_HASH_LEN], long long *next)
{
	struct sqlite_store *s = tx;
	sqlite3_stmt *st = NULL;
	memset(prev, 0, AUDIT_HASH_LEN);
	int rc = lite_stmt(s, &Q_AUDIT_TAIL, &st);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) == AUDIT_HASH_LEN)
			memcpy(prev, sqlite3_column_blob(st, 0), AUDIT_HASH_LEN);
		*next = sqlite3_column_int64(st, 1);
		rc = SQLITE_OK;
	}
	rc = noted(s, rc);
	sqlite3_reset(st);
	return rc;
}

static const struct lite_query Q_AUDIT_ADD = {
	"audit_add", "INSERT INTO portal_audit "
		     "(seq, proposal, from_state, to_state, actor, at, reason, prev, hash) "
		     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"};

static int audit_add(void *tx, const struct audit_row *r)
{
	struct sqlite_store *s = tx;
	sqlite3_stmt *st = NULL;
	int rc = lite_stmt(s, &Q_AUDIT_ADD, &st);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, r->seq);
		lite_bind_text(st, 2, r->proposal);
		lite_bind_text(st, 3, r->from);
		lite_bind_text(st, 4, r->to);
		lite_bind_text(st, 5, r->actor);
		sqlite3_bind_int64(st, 6, r->at);
		lite_bind_text(st, 7, r->reason);
		sqlite3_bind_blob(st, 8, r->prev, AUDIT_HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_blob(st, 9, r->hash, AUDIT_HASH_LEN, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	rc = noted(s, rc);
	sqlite3_reset(st);
	return rc;
}

static int event_add(void *tx, const struct event *ev, long long now)
{
	long long seq = 0;
	int fresh = 0;
	return noted(tx, lite_append_one(tx, ev, now, &seq, &fresh));
}

const struct store_queue_ops sqlite_queue_ops = {
	.get = sqlite_proposal_get,
	.list = sqlite_proposals,
	.set_closure = sqlite_proposal_set_closure,
	.set_error = sqlite_proposal_set_error,
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
