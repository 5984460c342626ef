/* prover: see prover.h. */
#include "proof/prover.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/proposal.h"
#include "util/clock.h"
#include "util/log.h"

#define PROVER_BATCH 64

void prover_artifact_id(const char *proposal, char *buf, size_t len)
{
	snprintf(buf, len, "%s:output", proposal);
}

static int plane_missing(struct perr *err, const char *plane)
{
	return perr_set(err, PERR_UNAVAILABLE, plane, "the %s plane is not configured", plane);
}

/* A plane's own error, its field naming the plane: the stall the pass
 * records says which plane the proposal waits on. */
static int plane_failed(struct perr *err, enum proof_plane plane)
{
	snprintf(err->field, sizeof err->field, "%s", proof_plane_name(plane));
	return err->code ? err->code : PERR_UNAVAILABLE;
}

/* --- recording */

struct lifecycle {
	long long at[3];
	char actor[3][80];
};

static int on_audit(void *arg, const struct store_audit *a)
{
	struct lifecycle *l = arg;
	static const char *const events[3] = {"submitted", "approved", "executed"};
	for (int i = 0; i < 3; i++)
		if (!strcmp(a->to, events[i]) && !l->at[i]) {
			l->at[i] = a->at;
			snprintf(l->actor[i], sizeof l->actor[i], "%s", a->actor);
		}
	return 0;
}

static void triple(struct proof_triple *t, const char *s, const char *p, const char *o)
{
	snprintf(t->subject, sizeof t->subject, "%s", s);
	snprintf(t->predicate, sizeof t->predicate, "%s", p);
	snprintf(t->object, sizeof t->object, "%s", o);
}

int prover_record(struct store *st, const struct prover_planes *pl, const struct store_proposal *p,
		  struct perr *err)
{
	if (!pl->graph.ops)
		return plane_missing(err, "graph");
	if (!pl->warehouse.ops)
		return plane_missing(err, "warehouse");
	if (!pl->evidence.ops)
		return plane_missing(err, "evidence");
	struct lifecycle life = {0};
	if (store_audit(st, p->id, on_audit, &life, err) < 0)
		return err->code;
	if (!life.at[2])
		return perr_set(err, PERR_CONFLICT, "state", "%s has not been executed", p->id);

	char artifact[PROOF_ID_MAX];
	prover_artifact_id(p->id, artifact, sizeof artifact);
	json_t *ev = p->evidence ? json_loads(p->evidence, 0, NULL) : NULL;
	const char *digest = json_string_value(json_object_get(ev, "digest"));
	struct proof_evidence rec = {0};
	snprintf(rec.id, sizeof rec.id, "%s", artifact);
	snprintf(rec.proposal, sizeof rec.proposal, "%s", p->id);
	snprintf(rec.digest, sizeof rec.digest, "%s", digest ? digest : "");
	rec.size = (long long)json_integer_value(json_object_get(ev, "size"));
	snprintf(rec.location, sizeof rec.location, "portal:/proposals/%s#evidence", p->id);
	snprintf(rec.producer, sizeof rec.producer, "portal-worker/%s",
		 json_string_value(json_object_get(ev, "executor"))
			 ? json_string_value(json_object_get(ev, "executor"))
			 : "unknown");
	json_decref(ev);
	if (!rec.digest[0])
		return perr_set(err, PERR_INVALID, "digest", /* the proposal's, not a plane's */
				"%s was executed without a digest of its output", p->id);

	char node[PROOF_IRI_MAX], project[PROOF_TEXT_MAX], kind[PROOF_TEXT_MAX],
		person[PROOF_TEXT_MAX], produced[PROOF_TEXT_MAX];
	closure_node(p->id, node, sizeof node);
	closure_iri("project", p->project, project, sizeof project);
	closure_iri("kind", p->kind, kind, sizeof kind);
	closure_iri("person", p->proposer, person, sizeof person);
	closure_iri("evidence", artifact, produced, sizeof produced);
	struct proof_triple t[5];
	triple(&t[0], node, FO_RDF_TYPE, FO_PROPOSAL);
	triple(&t[1], node, FO_IN_PROJECT, project);
	triple(&t[2], node, FO_OF_KIND, kind);
	triple(&t[3], node, FO_PROPOSED_BY, person);
	triple(&t[4], node, FO_PRODUCED, produced);
	if (pl->graph.ops->put(pl->graph.impl, p->project, t, 5, err) < 0)
		return plane_failed(err, PLANE_GRAPH);

	/* Evidence before the fact that names it: a reader never finds a fact
	 * pointing at a record that is not there yet because of our order. */
	struct perr e2 = {0};
	if (pl->evidence.ops->put(pl->evidence.impl, &rec, &e2) < 0 && e2.code != PERR_CONFLICT) {
		*err = e2;
		return plane_failed(err, PLANE_EVIDENCE);
	}
	/* A conflicting record stays as it is: the closure will show both digests. */

	static const char *const events[3] = {"submitted", "approved", "executed"};
	for (int i = 0; i < 3; i++) {
		if (!life.at[i])
			continue;
		struct proof_fact f = {0};
		snprintf(f.proposal, sizeof f.proposal, "%s", p->id);
		snprintf(f.project, sizeof f.project, "%s", p->project);
		snprintf(f.kind, sizeof f.kind, "%s", p->kind);
		snprintf(f.event, sizeof f.event, "%s", events[i]);
		f.at = life.at[i];
		snprintf(f.actor, sizeof f.actor, "%s", life.actor[i]);
		if (i == 2) {
			snprintf(f.artifact, sizeof f.artifact, "%s", artifact);
			snprintf(f.digest, sizeof f.digest, "%s", rec.digest);
		}
		if (pl->warehouse.ops->record(pl->warehouse.impl, &f, err) < 0)
			return plane_failed(err, PLANE_WAREHOUSE);
	}
	return 0;
}

/* --- reading */

struct collect {
	void *items;
	size_t n, cap, size;
};

static int grow(struct collect *c, const void *item)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		if (cap > 4096)
			return -1; /* enough to decide; more is a runaway plane */
		void *m = realloc(c->items, cap * c->size);
		if (!m)
			abort();
		c->items = m;
		c->cap = cap;
	}
	memcpy((char *)c->items + c->n++ * c->size, item, c->size);
	return 0;
}

static int on_triple(void *arg, const struct proof_triple *t)
{
	return grow(arg, t);
}
static int on_fact(void *arg, const struct proof_fact *f)
{
	return grow(arg, f);
}
static int on_evidence(void *arg, const struct proof_evidence *e)
{
	return grow(arg, e);
}

void prover_read(const struct prover_planes *pl, const struct store_proposal *p,
		 const struct closure_rule *rule, struct closure *out, struct perr *unread)
{
	struct collect tr = {.size = sizeof(struct proof_triple)};
	struct collect fa = {.size = sizeof(struct proof_fact)};
	struct collect ev = {.size = sizeof(struct proof_evidence)};
	struct perr ge = {0}, we = {0}, ee = {0};
	char node[PROOF_IRI_MAX];
	closure_node(p->id, node, sizeof node);
	int g_ok = pl->graph.ops ? pl->graph.ops->about(pl->graph.impl, p->project, node,
							 on_triple, &tr, &ge) == 0
				 : plane_missing(&ge, "graph") == 0;
	int w_ok = pl->warehouse.ops ? pl->warehouse.ops->facts(pl->warehouse.impl, p->id,
								 on_fact, &fa, &we) == 0
				     : plane_missing(&we, "warehouse") == 0;
	int e_ok = pl->evidence.ops ? pl->evidence.ops->of(pl->evidence.impl, p->id, on_evidence,
							    &ev, &ee) == 0
				    : plane_missing(&ee, "evidence") == 0;
	struct closure_input in = {
		.proposal = p->id, .project = p->project, .kind = p->kind, .proposer = p->proposer,
		.graph_ok = g_ok, .warehouse_ok = w_ok, .evidence_ok = e_ok,
		.graph_error = ge.msg, .warehouse_error = we.msg, .evidence_error = ee.msg,
		.triples = tr.items, .ntriples = tr.n,
		.facts = fa.items, .nfacts = fa.n,
		.evidence = ev.items, .nevidence = ev.n,
	};
	closure_decide(rule, &in, out);
	if (unread) {
		memset(unread, 0, sizeof *unread);
		if (!g_ok) {
			*unread = ge;
			plane_failed(unread, PLANE_GRAPH);
		} else if (!w_ok) {
			*unread = we;
			plane_failed(unread, PLANE_WAREHOUSE);
		} else if (!e_ok) {
			*unread = ee;
			plane_failed(unread, PLANE_EVIDENCE);
		}
	}
	free(tr.items);
	free(fa.items);
	free(ev.items);
}

json_t *closure_to_json(const struct closure *c, long long checked_at)
{
	json_t *joins = json_array();
	for (size_t i = 0; i < c->njoins; i++) {
		const struct closure_join *j = &c->joins[i];
		json_t *o = json_pack("{s:s,s:s,s:s}", "plane", proof_plane_name(j->plane), "state",
				      join_state_name(j->state), "what", j->what);
		if (j->state == JOIN_CONTRADICTED) {
			json_object_set_new(o, "expected", json_string(j->expected));
			json_object_set_new(o, "found", json_string(j->found));
		}
		json_array_append_new(joins, o);
	}
	return json_pack("{s:s,s:o,s:b,s:I}", "state", closure_state_name(c->state), "joins",
			 joins, "truncated", c->truncated, "checked_at", (json_int_t)checked_at);
}

/* --- the pass */

struct pending {
	struct store_proposal *items;
	size_t n;
	long long recheck_before; /* proving: only those checked before this */
};

static int on_proposal(void *arg, const struct store_proposal *p)
{
	struct pending *pd = arg;
	if (p->state == PROPOSAL_PROVING && p->closure_at >= pd->recheck_before)
		return 0;
	if (pd->n == PROVER_BATCH)
		return -1;
	struct store_proposal *q = &pd->items[pd->n++];
	*q = *p;
	q->input = NULL;
	q->evidence = p->evidence ? strdup(p->evidence) : NULL;
	q->closure = NULL;
	return 0;
}

static void pending_clear(struct pending *pd)
{
	for (size_t i = 0; i < pd->n; i++)
		store_proposal_clear(&pd->items[i]);
	pd->n = 0;
}

/* Keeps in the store that p waits on the plane named by e->field (why:
 * e->msg), so serve can show it; says so in the log when the wait begins or
 * moves to another plane, never per pass. since stays while the plane does. */
static void stall(struct store *st, const struct store_proposal *p, const struct perr *e,
		  long long now, struct prover_stalls *seen)
{
	int plane = -1;
	for (int i = PLANE_GRAPH; i <= PLANE_EVIDENCE; i++)
		if (!strcmp(e->field, proof_plane_name((enum proof_plane)i)))
			plane = i;
	if (plane < 0) { /* not a plane's failure: the proposal's own, said each time */
		log_emit(LOG_WARN, "could not record the proof of a proposal; will try again",
			 json_pack("{s:s,s:s}", "proposal", p->id, "reason", e->msg));
		return;
	}
	if (seen) {
		seen->count[plane]++;
		snprintf(seen->reason[plane], sizeof seen->reason[plane], "%s", e->msg);
	}
	char text[sizeof p->last_error];
	closure_stall_format((enum proof_plane)plane, e->msg, text, sizeof text);
	if (!strcmp(text, p->last_error))
		return;
	int was = closure_stall_plane(p->last_error, NULL);
	long long since = was == plane && p->updated_at ? p->updated_at : now;
	struct perr se = {0};
	if (store_proposal_set_error(st, p->id, text, since, &se) < 0)
		log_emit(LOG_WARN, "could not keep that a proposal waits on a proof plane",
			 json_pack("{s:s,s:s}", "proposal", p->id, "reason", se.msg));
	if (was != plane && seen)
		seen->began++;
	if (was != plane)
		log_emit(LOG_WARN, "a proposal waits on a proof plane; the worker keeps trying",
			 json_pack("{s:s,s:s,s:s}", "proposal", p->id, "plane", e->field,
				   "reason", e->msg));
}

/* p's planes answered: a stall it had is over. */
static void unstall(struct store *st, const struct store_proposal *p, long long now)
{
	int was = closure_stall_plane(p->last_error, NULL);
	if (was < 0)
		return;
	struct perr se = {0};
	if (store_proposal_set_error(st, p->id, "", now, &se) < 0)
		log_emit(LOG_WARN, "could not clear a proposal's proof stall",
			 json_pack("{s:s,s:s}", "proposal", p->id, "reason", se.msg));
	log_emit(LOG_INFO, "a proof plane answers again; the proposal proceeds",
		 json_pack("{s:s,s:s}", "proposal", p->id, "plane",
			   proof_plane_name((enum proof_plane)was)));
}

int prover_pass(struct store *st, const struct prover_planes *pl, const char *actor,
		long long now, long long recheck_ms, struct prover_stalls *seen, struct perr *err)
{
	struct store_proposal items[PROVER_BATCH];
	struct pending pd = {.items = items, .recheck_before = now - recheck_ms};
	int looked = 0;
	if (seen)
		memset(seen, 0, sizeof *seen);

	/* executed → recorded → proving */
	struct store_proposal_filter f = {.state = PROPOSAL_EXECUTED, .limit = PROVER_BATCH};
	if (store_proposals(st, &f, on_proposal, &pd, err) < 0)
		return err->code;
	for (size_t i = 0; i < pd.n; i++) {
		struct store_proposal *p = &pd.items[i];
		struct perr e = {0};
		looked++;
		if (prover_record(st, pl, p, &e) < 0) {
			stall(st, p, &e, now, seen);
			continue;
		}
		unstall(st, p, now);
		/* Another worker may have moved it first: that is not an error. */
		if (store_proposal_transition(st, p->id, PROPOSAL_EXECUTED, PROPOSAL_PROVING, actor,
					      "recorded in the proof planes", now, &e) < 0 &&
		    e.code != PERR_CONFLICT)
			log_emit(LOG_WARN, "could not move a proposal to proving",
				 json_pack("{s:s,s:s}", "proposal", p->id, "reason", e.msg));
	}
	pending_clear(&pd);

	/* proving → closure → proven */
	f.state = PROPOSAL_PROVING;
	if (store_proposals(st, &f, on_proposal, &pd, err) < 0)
		return err->code;
	struct closure_rule rule;
	closure_rule_default(&rule);
	for (size_t i = 0; i < pd.n; i++) {
		struct store_proposal *p = &pd.items[i];
		struct closure *c = malloc(sizeof *c);
		if (!c)
			abort();
		looked++;
		struct perr e = {0};
		prover_read(pl, p, &rule, c, &e);
		if (e.code)
			stall(st, p, &e, now, seen);
		else
			unstall(st, p, now);
		memset(&e, 0, sizeof e);
		json_t *j = closure_to_json(c, now);
		char *text = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		if (!text || store_proposal_set_closure(st, p->id, text, now, &e) < 0)
			log_emit(LOG_WARN, "could not keep a proposal's closure",
				 json_pack("{s:s,s:s}", "proposal", p->id, "reason", e.msg));
		free(text);
		if (c->state == CLOSURE_CLOSED &&
		    store_proposal_transition(st, p->id, PROPOSAL_PROVING, PROPOSAL_PROVEN, actor,
					      "closure closed: graph, warehouse and evidence agree",
					      now, &e) < 0 &&
		    e.code != PERR_CONFLICT)
			log_emit(LOG_WARN, "could not move a proposal to proven",
				 json_pack("{s:s,s:s}", "proposal", p->id, "reason", e.msg));
		free(c);
	}
	pending_clear(&pd);
	return looked;
}

/* --- the thread */

struct prover {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping;
	struct store *st;
	struct prover_planes planes;
	char actor[80];
	int poll_ms, recheck_ms;
	long long reminded_at; /* the last "still waiting" line */
};

#define PROVER_REMIND_MS 60000

/* While proposals wait on a plane, one line a minute says how many; the
 * line for each wait beginning came from the pass itself. */
static void remind(struct prover *pv, const struct prover_stalls *s, long long now)
{
	size_t total = 0;
	for (int i = 0; i < 3; i++)
		total += s->count[i];
	if (s->began) { /* the pass just said it */
		pv->reminded_at = now;
		return;
	}
	if (!total || now - pv->reminded_at < PROVER_REMIND_MS)
		return;
	pv->reminded_at = now;
	for (int i = 0; i < 3; i++)
		if (s->count[i])
			log_emit(LOG_WARN, "proposals still wait on a proof plane",
				 json_pack("{s:s,s:I,s:s}", "plane",
					   proof_plane_name((enum proof_plane)i), "proposals",
					   (json_int_t)s->count[i], "reason", s->reason[i]));
}

static void *prover_main(void *arg)
{
	struct prover *pv = arg;
	pthread_mutex_lock(&pv->lock);
	while (!pv->stopping) {
		pthread_mutex_unlock(&pv->lock);
		struct perr err = {0};
		struct prover_stalls seen;
		long long now = clock_wall_ms();
		if (prover_pass(pv->st, &pv->planes, pv->actor, now, pv->recheck_ms, &seen, &err) < 0)
			log_emit(LOG_WARN, "proof pass failed; trying again",
				 json_pack("{s:s}", "reason", err.msg));
		else
			remind(pv, &seen, now);
		pthread_mutex_lock(&pv->lock);
		if (pv->stopping)
			break;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += pv->poll_ms / 1000;
		until.tv_nsec += (long)(pv->poll_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&pv->wake, &pv->lock, &until);
	}
	pthread_mutex_unlock(&pv->lock);
	return NULL;
}

int prover_start(struct prover **out, struct store *st, const struct prover_planes *pl,
		 const char *actor, int poll_ms, int recheck_ms, struct perr *err)
{
	struct prover *pv = calloc(1, sizeof *pv);
	if (!pv)
		abort();
	pv->st = st;
	pv->planes = *pl;
	snprintf(pv->actor, sizeof pv->actor, "%s", actor);
	pv->poll_ms = poll_ms > 0 ? poll_ms : 500;
	pv->recheck_ms = recheck_ms > 0 ? recheck_ms : 2000;
	pthread_mutex_init(&pv->lock, NULL);
	pthread_cond_init(&pv->wake, NULL);
	if (pthread_create(&pv->thread, NULL, prover_main, pv) != 0) {
		pthread_mutex_destroy(&pv->lock);
		pthread_cond_destroy(&pv->wake);
		free(pv);
		return perr_set(err, PERR_INTERNAL, NULL, "cannot start the proof thread");
	}
	*out = pv;
	return 0;
}

void prover_stop(struct prover *pv)
{
	if (!pv)
		return;
	pthread_mutex_lock(&pv->lock);
	pv->stopping = 1;
	pthread_cond_signal(&pv->wake);
	pthread_mutex_unlock(&pv->lock);
	pthread_join(pv->thread, NULL);
	pthread_mutex_destroy(&pv->lock);
	pthread_cond_destroy(&pv->wake);
	free(pv);
}
