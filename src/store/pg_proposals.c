/* pg_proposals: proposals, their work queue and the hash-chained audit log
 * on PostgreSQL, with the semantics sqlite.c defines. Each change locks what
 * it reads: the proposal's row (FOR UPDATE; the queue takes the next due one
 * with SKIP LOCKED, so two workers never get the same proposal), then the
 * audit chain's tail row, then the event log's seq row — always in that
 * order, so two changes never wait on each other in a circle. */
#include "store/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "core/audit.h"
#include "core/proposal.h"

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

/* One change of a proposal's state, as the audit log and the live log keep
 * it. from is -1 for a proposal's first row. */
struct change {
	const char *id, *kind, *project;
	int from, to;
	const char *actor, *reason;
	long long at;
};

/* Appends c's audit row, chained to the last one, and its live event, inside
 * the caller's transaction. 0 or -1 (conn->state set). */
static int record(struct pg_conn *conn, const struct change *c)
{
	struct audit_row r = {
		.proposal = c->id,
		.from = c->from < 0 ? "" : proposal_state_name(c->from),
		.to = proposal_state_name(c->to),
		.actor = c->actor,
		.at = c->at,
		.reason = c->reason ? c->reason : "",
	};
	PGresult *res = pg_exec(conn, &Q_AUDIT_LOCK, "");
	if (!res)
		return -1;
	long long last = PQntuples(res) == 1 ? pg_ll(res, 0, 0) : -1;
	PQclear(res);
	if (last < 0) {
		snprintf(conn->state, sizeof conn->state, "XX000");
		snprintf(conn->msg, sizeof conn->msg, "portal_audit_tail does not have its one row");
		return -1;
	}
	res = pg_exec(conn, &Q_AUDIT_PREV, "i", last);
	if (!res)
		return -1;
	pg_hash(res, 0, 0, r.prev); /* zeros for the first row */
	r.seq = pg_ll(res, 0, 1);
	PQclear(res);
	audit_hash(&r, r.hash);
	if (pg_run(conn, NULL, &Q_AUDIT_ADD, "ittttithh", r.seq, r.proposal, r.from, r.to, r.actor,
		   r.at, r.reason, r.prev, r.hash) < 0)
		return -1;

	/* The live event: every replica folds it in when it next polls. */
	char evid[EVENT_ID_MAX];
	snprintf(evid, sizeof evid, "proposal:%s:%lld", c->id, r.seq);
	json_t *data = json_pack("{s:s, s:s, s:o, s:s, s:s}", "proposal", c->id, "kind", c->kind,
				 "from", r.from[0] ? json_string(r.from) : json_null(), "to",
				 r.to, "actor", c->actor);
	if (!data)
		abort();
	struct event ev = {
		.id = evid, .type = "proposal.transitioned", .project = c->project,
		.session = NULL, .source = "portal", .ts = c->at, .data = data,
	};
	long long seq = 0;
	int fresh = 0;
	int rc = pg_append_events(conn, &ev, 1, c->at, &seq, &fresh);
	json_decref(data);
	return rc;
}

/* --- reading ------------------------------------------------------------------ */

/* What a change needs to know about a proposal, read with its row locked. */
struct head {
	int found;
	int state;
	char kind[64], project[64], lease_owner[64];
	long long lease_until;
};

static const struct pg_query Q_HEAD = {
	"proposal_head", "SELECT state, kind, project, lease_owner, lease_until "
			 "FROM portal_proposals WHERE id = $1::text FOR UPDATE"};
static const struct pg_query Q_GET = {
	"proposal_get", "SELECT " PROPOSAL_COLUMNS " FROM portal_proposals WHERE id = $1::text"};

static int load_head(struct pg_conn *c, const char *id, struct head *h)
{
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
static int read_proposal(struct pg_conn *c, const char *id, struct store_proposal *out,
			 int *found, int *out_rc, struct perr *err)
{
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

/* --- transactions --------------------------------------------------------------- */

/* Ends one attempt at a change: commits when rc and out both say so, else
 * rolls back. Returns 1 when the attempt should run again (a deadlock or a
 * serialization failure; with `unique`, a unique violation too). */
static int attempt_end(struct pg_conn *c, int *rc, int out, int attempt, int unique)
{
	if (*rc == 0 && out == 0)
		*rc = pg_commit(c);
	if (*rc == 0 && out == 0)
		return 0;
	pg_rollback(c);
	return *rc < 0 && (pg_retryable(c) || (unique && pg_unique_violation(c))) &&
	       attempt + 1 < PG_RETRIES;
}

/* Reports rc (the database's failure) over out, and gives c back. */
static int change_end(struct pg_store *s, struct pg_conn *c, int rc, int out, struct perr *err)
{
	if (rc < 0)
		out = pg_fail(s, c, err);
	pg_release(s, c);
	return out;
}

/* --- submit, get, list -------------------------------------------------------------- */

static const struct pg_query Q_FIND_KEY = {
	"proposal_find_key", "SELECT id FROM portal_proposals "
			     "WHERE proposer = $1::text AND idempotency_key = $2::text"};
static const struct pg_query Q_INSERT = {
	"proposal_insert",
	"INSERT INTO portal_proposals (id, kind, project, proposer, idempotency_key, input, "
	"state, attempts, created_at, updated_at) VALUES ($1::text, $2::text, $3::text, "
	"$4::text, $5::text, $6::text, $7::text, 0, $8::bigint, $8::bigint)"};

int pg_proposal_submit(void *impl, struct store_proposal *p, long long at, int *existed,
		       struct perr *err)
{
	struct pg_store *s = impl;
	*existed = 0;
	if (!p->kind[0] || !p->project[0] || !p->proposer[0])
		return perr_set(err, PERR_INVALID, !p->kind[0] ? "kind" : !p->project[0] ? "project"
											 : "proposer",
				"a proposal needs a kind, a project and a proposer");
	if (!p->input)
		return perr_set(err, PERR_INVALID, "input", "a proposal needs its input (JSON)");
	const char *key = p->idempotency_key[0] ? p->idempotency_key : NULL;
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	int rc = 0, out = 0;
	char id[STORE_PROPOSAL_ID_MAX];
	for (int attempt = 0;; attempt++) {
		out = 0;
		rc = pg_begin(c);
		char old_id[STORE_PROPOSAL_ID_MAX] = "";
		if (rc == 0 && key) {
			PGresult *r = pg_exec(c, &Q_FIND_KEY, "tt", p->proposer, key);
			if (!r)
				rc = -1;
			else if (PQntuples(r) == 1)
				snprintf(old_id, sizeof old_id, "%s", pg_str(r, 0, 0));
			PQclear(r);
		}
		if (rc == 0 && old_id[0]) {
			struct store_proposal old;
			int found = 0;
			rc = read_proposal(c, old_id, &old, &found, &out, err);
			if (rc == 0 && out == 0 && found) {
				store_proposal_clear(p);
				*p = old;
				*existed = 1;
			}
			if (attempt_end(c, &rc, out, attempt, 0))
				continue;
			return change_end(s, c, rc, out, err);
		}
		unsigned char rnd[8];
		randombytes_buf(rnd, sizeof rnd);
		snprintf(id, sizeof id, "p-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
			 rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
		if (rc == 0)
			rc = pg_run(c, NULL, &Q_INSERT, "ttttttti", id, p->kind, p->project,
				    p->proposer, key, p->input,
				    proposal_state_name(PROPOSAL_SUBMITTED), at);
		if (rc == 0) {
			struct change ch = {id, p->kind, p->project, -1, PROPOSAL_SUBMITTED,
					    p->proposer, "", at};
			rc = record(c, &ch);
		}
		/* A unique violation: the same key submitted at the same moment
		 * elsewhere (the next attempt finds it), or an id drawn twice. */
		if (!attempt_end(c, &rc, out, attempt, 1))
			break;
	}
	out = change_end(s, c, rc, out, err);
	if (out == 0) {
		snprintf(p->id, sizeof p->id, "%s", id);
		p->state = PROPOSAL_SUBMITTED;
		p->attempts = 0;
		p->created_at = p->updated_at = at;
		p->next_attempt_at = p->lease_until = 0;
		p->lease_owner[0] = p->last_error[0] = '\0';
	}
	return out;
}

int pg_proposal_get(void *impl, const char *id, struct store_proposal *out_p, struct perr *err)
{
	struct pg_store *s = impl;
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	int found = 0, out = 0;
	int rc = read_proposal(c, id, out_p, &found, &out, err);
	out = change_end(s, c, rc, out, err);
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

int pg_proposals(void *impl, const struct store_proposal_filter *f, store_proposal_fn fn,
		 void *arg, struct perr *err)
{
	struct pg_store *s = impl;
	const char *state = f && f->state >= 0 ? proposal_state_name(f->state) : NULL;
	if (f && f->state >= 0 && !state)
		return perr_set(err, PERR_INVALID, "state", "state %d is not a proposal state",
				f->state);
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

/* --- changes of state ---------------------------------------------------------------- */

static const struct pg_query Q_MOVE = {
	"proposal_move", "UPDATE portal_proposals SET state = $2::text, updated_at = $3::bigint, "
			 "next_attempt_at = CASE WHEN $2::text = 'queued' THEN $3::bigint END "
			 "WHERE id = $1::text"};

int pg_proposal_path(void *impl, const char *id, const struct store_step *steps, size_t n,
		     long long at, struct perr *err)
{
	struct pg_store *s = impl;
	int out = store_path_ok(steps, n, err);
	if (out < 0)
		return out;
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	int rc;
	for (int attempt = 0;; attempt++) {
		struct head h;
		out = 0;
		rc = pg_begin(c);
		if (rc == 0)
			rc = load_head(c, id, &h);
		if (rc == 0 && !h.found)
			out = not_found(err, id);
		else if (rc == 0 && h.state != steps[0].from)
			out = perr_set(err, PERR_CONFLICT, "state", "proposal %s is %s now, not %s",
				       id,
				       proposal_state_name(h.state) ? proposal_state_name(h.state)
								    : "?",
				       proposal_state_name(steps[0].from));
		for (size_t i = 0; i < n && rc == 0 && out == 0; i++) {
			const struct store_step *st = &steps[i];
			rc = pg_run(c, NULL, &Q_MOVE, "tti", id, proposal_state_name(st->to), at);
			if (rc == 0) {
				struct change ch = {id, h.kind, h.project, st->from, st->to,
						    st->actor, st->reason, at};
				rc = record(c, &ch);
			}
		}
		if (!attempt_end(c, &rc, out, attempt, 0))
			break;
	}
	return change_end(s, c, rc, out, err);
}

/* Whether worker still holds id's lease (PERR_CONFLICT when not). A lease
 * that ran out but that nobody took over is still held. */
static int held(const struct head *h, const char *id, const char *worker, struct perr *err)
{
	if (!h->found)
		return not_found(err, id);
	if (h->state != PROPOSAL_RUNNING || strcmp(h->lease_owner, worker) != 0)
		return perr_set(err, PERR_CONFLICT, "worker",
				"worker %s no longer holds proposal %s (it is %s%s%s)", worker, id,
				proposal_state_name(h->state) ? proposal_state_name(h->state) : "?",
				h->lease_owner[0] ? ", held by " : "", h->lease_owner);
	return 0;
}

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

int pg_proposal_lease(void *impl, const char *worker, long long now, long long visibility_ms,
		      struct store_proposal *out_p, struct perr *err)
{
	struct pg_store *s = impl;
	char actor[STORE_AUDIT_ACTOR_MAX];
	int out = store_worker_actor(worker, actor, err);
	if (out < 0)
		return out;
	if (visibility_ms <= 0)
		return perr_set(err, PERR_INVALID, "visibility_ms",
				"a lease lasts a positive number of milliseconds");
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	int rc, found = 0;
	char id[STORE_PROPOSAL_ID_MAX];
	for (int attempt = 0;; attempt++) {
		struct head h;
		out = 0;
		found = 0;
		id[0] = '\0';
		rc = pg_begin(c);
		if (rc == 0) {
			PGresult *r = pg_exec(c, &Q_DUE, "i", now);
			if (!r)
				rc = -1;
			else if (PQntuples(r) == 1)
				snprintf(id, sizeof id, "%s", pg_str(r, 0, 0));
			PQclear(r);
		}
		if (rc == 0 && !id[0]) {
			if (attempt_end(c, &rc, 0, attempt, 0))
				continue;
			return change_end(s, c, rc, 0, err);
		}
		if (rc == 0)
			rc = load_head(c, id, &h);
		if (rc == 0 && h.state == PROPOSAL_RUNNING) {
			char reason[STORE_AUDIT_REASON_MAX];
			snprintf(reason, sizeof reason, "the lease of worker:%s ran out at %lld",
				 h.lease_owner, h.lease_until);
			rc = pg_run(c, NULL, &Q_EXPIRE, "ti", id, now);
			if (rc == 0) {
				struct change ch = {id, h.kind, h.project, PROPOSAL_RUNNING,
						    PROPOSAL_QUEUED, STORE_LEASE_EXPIRED_ACTOR,
						    reason, now};
				rc = record(c, &ch);
			}
		}
		if (rc == 0)
			rc = pg_run(c, NULL, &Q_TAKE, "ttii", id, worker, now + visibility_ms, now);
		if (rc == 0) {
			struct change ch = {id, h.kind, h.project, PROPOSAL_QUEUED, PROPOSAL_RUNNING,
					    actor, "", now};
			rc = record(c, &ch);
		}
		if (rc == 0)
			rc = read_proposal(c, id, out_p, &found, &out, err);
		int again = attempt_end(c, &rc, out, attempt, 0);
		if ((again || rc < 0 || out < 0) && found) {
			store_proposal_clear(out_p);
			found = 0;
		}
		if (!again)
			break;
	}
	out = change_end(s, c, rc, out, err);
	return out < 0 ? out : 1;
}

/* The shape of heartbeat, release and finish: lock the row, check the lease
 * is still worker's, change it, and (but for a heartbeat) audit the step to
 * `to`. */
enum leased_op { LEASED_HEARTBEAT, LEASED_RELEASE, LEASED_FINISH };

struct leased {
	enum leased_op op;
	const char *id, *worker, *actor, *reason;
	int to;
	long long now, until, retry_at;
	const char *evidence;
};

static int leased_change(struct pg_store *s, const struct leased *l, struct perr *err)
{
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	int rc, out;
	for (int attempt = 0;; attempt++) {
		struct head h;
		out = 0;
		rc = pg_begin(c);
		if (rc == 0)
			rc = load_head(c, l->id, &h);
		if (rc == 0)
			out = held(&h, l->id, l->worker, err);
		if (rc == 0 && out == 0) {
			if (l->op == LEASED_HEARTBEAT)
				rc = pg_run(c, NULL, &Q_HEARTBEAT, "ti", l->id, l->until);
			else if (l->op == LEASED_RELEASE)
				rc = pg_run(c, NULL, &Q_RELEASE, "ti", l->id, l->now);
			else
				rc = pg_run(c, NULL, &Q_FINISH, "ttiitt", l->id,
					    proposal_state_name(l->to), l->now, l->retry_at,
					    l->evidence, l->reason);
		}
		if (rc == 0 && out == 0 && l->op != LEASED_HEARTBEAT) {
			struct change ch = {l->id, h.kind, h.project, PROPOSAL_RUNNING, l->to,
					    l->actor, l->reason, l->now};
			rc = record(c, &ch);
		}
		if (!attempt_end(c, &rc, out, attempt, 0))
			break;
	}
	return change_end(s, c, rc, out, err);
}

int pg_proposal_heartbeat(void *impl, const char *id, const char *worker, long long now,
			  long long visibility_ms, struct perr *err)
{
	char actor[STORE_AUDIT_ACTOR_MAX];
	int out = store_worker_actor(worker, actor, err);
	if (out < 0)
		return out;
	if (visibility_ms <= 0)
		return perr_set(err, PERR_INVALID, "visibility_ms",
				"a lease lasts a positive number of milliseconds");
	struct leased l = {.op = LEASED_HEARTBEAT, .id = id, .worker = worker, .actor = actor,
			   .to = PROPOSAL_RUNNING,
			   .now = now, .until = now + visibility_ms};
	return leased_change(impl, &l, err);
}

int pg_proposal_release(void *impl, const char *id, const char *worker, long long now,
			struct perr *err)
{
	char actor[STORE_AUDIT_ACTOR_MAX];
	int out = store_worker_actor(worker, actor, err);
	if (out < 0)
		return out;
	struct leased l = {.op = LEASED_RELEASE, .id = id, .worker = worker, .actor = actor,
			   .reason = "released by its worker", .to = PROPOSAL_QUEUED, .now = now};
	return leased_change(impl, &l, err);
}

int pg_proposal_finish(void *impl, const char *id, const char *worker, int ok,
		       const char *evidence, const char *error, long long now, long long retry_at,
		       struct perr *err)
{
	char actor[STORE_AUDIT_ACTOR_MAX];
	int out = store_worker_actor(worker, actor, err);
	if (out < 0)
		return out;
	/* The same text is the proposal's last_error and its audit reason. */
	char why[STORE_AUDIT_REASON_MAX];
	store_cut_utf8(why, sizeof why, ok ? "" : error);
	if (!ok && !why[0])
		snprintf(why, sizeof why, "the attempt failed");
	int to = ok ? PROPOSAL_EXECUTED : retry_at > 0 ? PROPOSAL_QUEUED : PROPOSAL_FAILED;
	struct leased l = {.op = LEASED_FINISH, .id = id, .worker = worker, .actor = actor,
			   .reason = why, .to = to, .now = now, .retry_at = retry_at,
			   .evidence = evidence};
	return leased_change(impl, &l, err);
}

static const struct pg_query Q_CLOSURE = {
	"proposal_closure", "UPDATE portal_proposals SET closure = $2::text, "
			    "closure_at = $3::bigint WHERE id = $1::text"};

int pg_proposal_set_closure(void *impl, const char *id, const char *closure, long long at,
			    struct perr *err)
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
int pg_audit(void *impl, const char *id, store_audit_fn fn, void *arg, struct perr *err)
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
