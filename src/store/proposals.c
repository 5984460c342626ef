/* proposals: the proposal rules, written once for every backend — submit
 * (with its idempotency key), a path of approve/reject/cancel steps, the
 * queue's lease, heartbeat, release and finish, the hash-chained audit row
 * and the live event every change writes, and who still holds a lease. It
 * runs them over a backend's transaction-level interface (backend.h) and
 * holds no SQL: the backend only reads and writes its rows. */
#include "store/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "core/proposal.h"
#include "store/rules.h"

#define Q(st) ((st)->ops->queue)

static int not_found(struct perr *err, const char *id)
{
	return perr_set(err, PERR_NOT_FOUND, "id", "no proposal has id '%s'", id ? id : "");
}

static const char *state_or_q(int state)
{
	return proposal_state_name(state) ? proposal_state_name(state) : "?";
}

/* --- a change's transaction ------------------------------------------------ */

/* Ends one attempt at a change: commits when rc and out both say so, else
 * rolls back. Returns 1 when the attempt should run again. */
static int attempt_end(const struct store_queue_ops *q, void *tx, int *rc, int out, int attempt,
		       int unique)
{
	if (*rc == 0 && out == 0)
		*rc = q->commit(tx);
	if (*rc == 0 && out == 0)
		return 0;
	q->rollback(tx);
	return *rc < 0 && q->retry(tx, unique) && attempt + 1 < STORE_TX_RETRIES;
}

/* Reports rc (the database's failure) over out, and gives tx back. */
static int change_end(const struct store_queue_ops *q, void *tx, int rc, int out,
		      struct perr *err)
{
	if (rc < 0)
		out = q->fail(tx, err);
	q->close(tx);
	return out;
}

/* --- the audit row and the live event --------------------------------------- */

/* One change of a proposal's state, as the audit log and the live log keep
 * it. from is -1 for a proposal's first row. */
struct change {
	const char *id, *kind, *project;
	int from, to;
	const char *actor, *reason;
	long long at;
};

/* Appends c's audit row, chained to the last one, and its live event, inside
 * the change's transaction: the running server (every replica) folds the
 * event in when it next polls. 0 or -1 (the failure kept on tx). */
static int record(const struct store_queue_ops *q, void *tx, const struct change *c)
{
	struct audit_row r = {
		.proposal = c->id,
		.from = c->from < 0 ? "" : proposal_state_name(c->from),
		.to = proposal_state_name(c->to),
		.actor = c->actor,
		.at = c->at,
		.reason = c->reason ? c->reason : "",
	};
	if (q->audit_tail(tx, r.prev, &r.seq) < 0)
		return -1;
	audit_hash(&r, r.hash);
	if (q->audit_add(tx, &r) < 0)
		return -1;

	char evid[EVENT_ID_MAX];
	snprintf(evid, sizeof evid, EVENT_ID_PROPOSAL_PREFIX "%s:%lld", c->id, r.seq);
	/* A first row has no from: null, since the event vocabulary (core/event.c)
	 * allows a from that is absent or null but not an empty string. */
	json_t *data = json_pack("{s:s, s:s, s:o, s:s, s:s}", "proposal", c->id, "kind", c->kind,
				 "from", r.from[0] ? json_string(r.from) : json_null(), "to",
				 r.to, "actor", c->actor);
	if (!data)
		abort();
	struct event ev = {
		.id = evid, .type = "proposal.transitioned", .project = c->project,
		.session = NULL, .source = "portal", .ts = c->at, .data = data,
	};
	int rc = q->event_add(tx, &ev, c->at);
	json_decref(data);
	return rc;
}

/* Whether worker still holds id's lease (PERR_CONFLICT when not). A lease
 * that ran out but that nobody took over is still held: taking it over
 * changes lease_owner in the same transaction that would conflict here. */
static int held(const struct store_head *h, const char *id, const char *worker,
		struct perr *err)
{
	if (!h->found)
		return not_found(err, id);
	if (h->state != PROPOSAL_RUNNING || strcmp(h->lease_owner, worker) != 0)
		return perr_set(err, PERR_CONFLICT, "worker",
				"worker %s no longer holds proposal %s (it is %s%s%s)", worker, id,
				state_or_q(h->state), h->lease_owner[0] ? ", held by " : "",
				h->lease_owner);
	return 0;
}

/* --- submit, and the reads -------------------------------------------------- */

int store_proposal_submit(struct store *st, struct store_proposal *p, long long at, int *existed,
			  struct perr *err)
{
	const struct store_queue_ops *q = Q(st);
	*existed = 0;
	if (!p->kind[0] || !p->project[0] || !p->proposer[0])
		return perr_set(err, PERR_INVALID, !p->kind[0] ? "kind" : !p->project[0] ? "project"
											 : "proposer",
				"a proposal needs a kind, a project and a proposer");
	if (!p->input)
		return perr_set(err, PERR_INVALID, "input", "a proposal needs its input (JSON)");
	if (sodium_init() < 0)
		return perr_set(err, PERR_INTERNAL, NULL, "the random number generator failed");
	const char *key = p->idempotency_key[0] ? p->idempotency_key : NULL;
	void *tx = q->open(st->impl, err);
	if (!tx)
		return PERR_UNAVAILABLE;
	int rc = 0, out = 0;
	char id[STORE_PROPOSAL_ID_MAX];
	for (int attempt = 0;; attempt++) {
		out = 0;
		rc = q->begin(tx);
		char old_id[STORE_PROPOSAL_ID_MAX] = "";
		if (rc == 0 && key)
			rc = q->find_key(tx, p->proposer, key, old_id);
		if (rc == 0 && old_id[0]) {
			struct store_proposal old;
			int found = 0;
			rc = q->read(tx, old_id, &old, &found, &out, err);
			if (rc == 0 && out == 0 && found) {
				store_proposal_clear(p);
				*p = old;
				*existed = 1;
			}
			if (attempt_end(q, tx, &rc, out, attempt, 0))
				continue;
			return change_end(q, tx, rc, out, err);
		}
		unsigned char rnd[8];
		randombytes_buf(rnd, sizeof rnd);
		snprintf(id, sizeof id, "p-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
			 rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
		if (rc == 0)
			rc = q->insert(tx, id, p, key, at);
		if (rc == 0) {
			struct change ch = {id, p->kind, p->project, -1, PROPOSAL_SUBMITTED,
					    p->proposer, "", at};
			rc = record(q, tx, &ch);
		}
		/* A unique violation: the same key submitted at the same moment
		 * elsewhere (the next attempt finds it), or an id drawn twice. */
		if (!attempt_end(q, tx, &rc, out, attempt, 1))
			break;
	}
	out = change_end(q, tx, rc, out, err);
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

int store_proposal_get(struct store *st, const char *id, struct store_proposal *out,
		       struct perr *err)
{
	return Q(st)->get(st->impl, id, out, err);
}

int store_proposals(struct store *st, const struct store_proposal_filter *f,
		    store_proposal_fn fn, void *arg, struct perr *err)
{
	if (f && f->state >= 0 && !proposal_state_name(f->state))
		return perr_set(err, PERR_INVALID, "state", "state %d is not a proposal state",
				f->state);
	return Q(st)->list(st->impl, f, fn, arg, err);
}

int store_proposal_set_closure(struct store *st, const char *id, const char *closure,
			       long long at, struct perr *err)
{
	return Q(st)->set_closure(st->impl, id, closure, at, err);
}

int store_proposal_set_error(struct store *st, const char *id, const char *why, long long at,
			     struct perr *err)
{
	return Q(st)->set_error(st->impl, id, why ? why : "", at, err);
}

int store_audit(struct store *st, const char *id, store_audit_fn fn, void *arg,
		struct perr *err)
{
	return Q(st)->audit(st->impl, id, fn, arg, err);
}

/* --- changes of state --------------------------------------------------------- */

int store_proposal_path(struct store *st, const char *id, const struct store_step *steps,
			size_t n, long long at, struct perr *err)
{
	const struct store_queue_ops *q = Q(st);
	int out = store_path_ok(steps, n, err);
	if (out < 0)
		return out;
	void *tx = q->open(st->impl, err);
	if (!tx)
		return PERR_UNAVAILABLE;
	int rc;
	for (int attempt = 0;; attempt++) {
		struct store_head h;
		out = 0;
		rc = q->begin(tx);
		if (rc == 0)
			rc = q->head(tx, id, &h);
		if (rc == 0 && !h.found)
			out = not_found(err, id);
		else if (rc == 0 && h.state != steps[0].from)
			out = perr_set(err, PERR_CONFLICT, "state", "proposal %s is %s now, not %s",
				       id, state_or_q(h.state), proposal_state_name(steps[0].from));
		for (size_t i = 0; i < n && rc == 0 && out == 0; i++) {
			const struct store_step *s = &steps[i];
			rc = q->move(tx, id, s->to, at);
			if (rc == 0) {
				struct change ch = {id, h.kind, h.project, s->from, s->to,
						    s->actor, s->reason, at};
				rc = record(q, tx, &ch);
			}
		}
		if (!attempt_end(q, tx, &rc, out, attempt, 0))
			break;
	}
	return change_end(q, tx, rc, out, err);
}

static int visibility_ok(long long visibility_ms, struct perr *err)
{
	if (visibility_ms <= 0)
		return perr_set(err, PERR_INVALID, "visibility_ms",
				"a lease lasts a positive number of milliseconds");
	return 0;
}

int store_proposal_lease(struct store *st, const char *worker, long long now,
			 long long visibility_ms, struct store_proposal *out_p, struct perr *err)
{
	const struct store_queue_ops *q = Q(st);
	char actor[STORE_AUDIT_ACTOR_MAX];
	int out = store_worker_actor(worker, actor, err);
	if (out == 0)
		out = visibility_ok(visibility_ms, err);
	if (out < 0)
		return out;
	void *tx = q->open(st->impl, err);
	if (!tx)
		return PERR_UNAVAILABLE;
	int rc, found = 0;
	char id[STORE_PROPOSAL_ID_MAX];
	for (int attempt = 0;; attempt++) {
		struct store_head h;
		out = 0;
		found = 0;
		id[0] = '\0';
		rc = q->begin(tx);
		if (rc == 0)
			rc = q->due(tx, now, id);
		if (rc == 0 && !id[0]) {
			if (attempt_end(q, tx, &rc, 0, attempt, 0))
				continue;
			return change_end(q, tx, rc, 0, err);
		}
		if (rc == 0)
			rc = q->head(tx, id, &h);
		/* Taking over a lease that ran out: its worker died. */
		if (rc == 0 && h.state == PROPOSAL_RUNNING) {
			char reason[STORE_AUDIT_REASON_MAX];
			snprintf(reason, sizeof reason, "the lease of worker:%s ran out at %lld",
				 h.lease_owner, h.lease_until);
			rc = q->expire(tx, id, now);
			if (rc == 0) {
				struct change ch = {id, h.kind, h.project, PROPOSAL_RUNNING,
						    PROPOSAL_QUEUED, STORE_LEASE_EXPIRED_ACTOR,
						    reason, now};
				rc = record(q, tx, &ch);
			}
		}
		if (rc == 0)
			rc = q->take(tx, id, worker, now + visibility_ms, now);
		if (rc == 0) {
			struct change ch = {id, h.kind, h.project, PROPOSAL_QUEUED, PROPOSAL_RUNNING,
					    actor, "", now};
			rc = record(q, tx, &ch);
		}
		if (rc == 0)
			rc = q->read(tx, id, out_p, &found, &out, err);
		int again = attempt_end(q, tx, &rc, out, attempt, 0);
		if ((again || rc < 0 || out < 0) && found) {
			store_proposal_clear(out_p);
			found = 0;
		}
		if (!again)
			break;
	}
	out = change_end(q, tx, rc, out, err);
	return out < 0 ? out : 1;
}

/* The shape of heartbeat, release and finish: read the row, check the lease
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

static int leased_change(struct store *st, const struct leased *l, struct perr *err)
{
	const struct store_queue_ops *q = Q(st);
	void *tx = q->open(st->impl, err);
	if (!tx)
		return PERR_UNAVAILABLE;
	int rc, out;
	for (int attempt = 0;; attempt++) {
		struct store_head h;
		out = 0;
		rc = q->begin(tx);
		if (rc == 0)
			rc = q->head(tx, l->id, &h);
		if (rc == 0)
			out = held(&h, l->id, l->worker, err);
		if (rc == 0 && out == 0) {
			if (l->op == LEASED_HEARTBEAT)
				rc = q->extend(tx, l->id, l->until);
			else if (l->op == LEASED_RELEASE)
				rc = q->give_back(tx, l->id, l->now);
			else
				rc = q->finish(tx, l->id, l->to, l->now, l->retry_at, l->evidence,
					       l->reason);
		}
		if (rc == 0 && out == 0 && l->op != LEASED_HEARTBEAT) {
			struct change ch = {l->id, h.kind, h.project, PROPOSAL_RUNNING, l->to,
					    l->actor, l->reason, l->now};
			rc = record(q, tx, &ch);
		}
		if (!attempt_end(q, tx, &rc, out, attempt, 0))
			break;
	}
	return change_end(q, tx, rc, out, err);
}

int store_proposal_heartbeat(struct store *st, const char *id, const char *worker,
			     long long now, long long visibility_ms, struct perr *err)
{
	char actor[STORE_AUDIT_ACTOR_MAX];
	int out = store_worker_actor(worker, actor, err);
	if (out == 0)
		out = visibility_ok(visibility_ms, err);
	if (out < 0)
		return out;
	struct leased l = {.op = LEASED_HEARTBEAT, .id = id, .worker = worker, .actor = actor,
			   .to = PROPOSAL_RUNNING, .now = now, .until = now + visibility_ms};
	return leased_change(st, &l, err);
}

int store_proposal_release(struct store *st, const char *id, const char *worker, long long now,
			   struct perr *err)
{
	char actor[STORE_AUDIT_ACTOR_MAX];
	int out = store_worker_actor(worker, actor, err);
	if (out < 0)
		return out;
	struct leased l = {.op = LEASED_RELEASE, .id = id, .worker = worker, .actor = actor,
			   .reason = "released by its worker", .to = PROPOSAL_QUEUED, .now = now};
	return leased_change(st, &l, err);
}

int store_proposal_finish(struct store *st, const char *id, const char *worker, int ok,
			  const char *evidence, const char *error, long long now,
			  long long retry_at, struct perr *err)
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
	return leased_change(st, &l, err);
}
