/* pg_proof: the embedded proof planes (graph triples, warehouse facts,
 * evidence records) on PostgreSQL, with proof/proof.h's contracts and the
 * semantics sqlite_proof.c defines. The arguments were checked by the
 * dispatchers (proof_store.c). Errors name no database: a plane's errors may
 * reach a client. Walks read a page, give the connection back, then call fn. */
#include "store/pg.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"

#define PROOF_PAGE 64

static const struct pg_query Q_TRIPLE_ADD = {
	"triple_add", "INSERT INTO portal_graph_triples "
		      "(graph, subject, predicate, object, added_at) "
		      "VALUES ($1::text, $2::text, $3::text, $4::text, $5::bigint) "
		      "ON CONFLICT (graph, subject, predicate, object) DO NOTHING"};

int pg_graph_put(void *impl, const char *graph, const struct proof_triple *t, size_t n,
		 struct perr *err)
{
	struct pg_store *s = impl;
	int out = 0;
	long long now = clock_wall_ms();
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	int rc = -1;
	for (int attempt = 0; attempt < PG_RETRIES; attempt++) {
		rc = pg_begin(c);
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = pg_run(c, NULL, &Q_TRIPLE_ADD, "tttti", graph, t[i].subject,
				    t[i].predicate, t[i].object, now);
		if (rc == 0)
			rc = pg_commit(c);
		if (rc == 0 || !pg_retryable(c))
			break;
		pg_rollback(c);
	}
	if (rc < 0) {
		out = pg_proof_fail(c, err, "write the graph");
		pg_rollback(c);
	}
	pg_release(s, c);
	return out;
}

static const struct pg_query Q_ABOUT = {
	"triples_about", "SELECT predicate, object FROM portal_graph_triples "
			 "WHERE graph = $1::text AND subject = $2::text "
			 "AND (predicate, object) > ($3::text, $4::text) "
			 "ORDER BY predicate, object LIMIT $5::bigint"};

int pg_graph_about(void *impl, const char *graph, const char *subject, proof_triple_fn fn,
		   void *arg, struct perr *err)
{
	struct pg_store *s = impl;
	int out = 0;
	/* Where the next page starts: the last row's own (predicate, object) as
	 * stored. Predicates are never empty, so ("", "") comes before every row. */
	char *after_p = NULL, *after_o = NULL;
	struct proof_triple *tr = calloc(1, sizeof *tr);
	if (!tr)
		abort();
	int more = 1;
	while (more && out == 0) {
		struct pg_conn *c = pg_acquire(s, err);
		if (!c) {
			out = PERR_UNAVAILABLE;
			break;
		}
		PGresult *r = pg_exec(c, &Q_ABOUT, "tttti", graph, subject, after_p ? after_p : "",
				      after_o ? after_o : "", (long long)PROOF_PAGE);
		if (!r)
			out = pg_proof_fail(c, err, "read the graph");
		pg_release(s, c);
		int rows = r ? PQntuples(r) : 0;
		more = out == 0 && rows == PROOF_PAGE;
		if (more) {
			free(after_p);
			free(after_o);
			after_p = pg_dup(r, rows - 1, 0);
			after_o = pg_dup(r, rows - 1, 1);
		}
		for (int i = 0; out == 0 && i < rows; i++) {
			snprintf(tr->subject, sizeof tr->subject, "%s", subject);
			snprintf(tr->predicate, sizeof tr->predicate, "%s", pg_str(r, i, 0));
			snprintf(tr->object, sizeof tr->object, "%s", pg_str(r, i, 1));
			if (fn(arg, tr) < 0) {
				more = 0;
				break;
			}
		}
		PQclear(r);
	}
	free(tr);
	free(after_p);
	free(after_o);
	return out;
}

static const struct pg_query Q_FACT_ADD = {
	"fact_add", "INSERT INTO portal_warehouse_facts "
		    "(proposal, project, kind, event, at, actor, artifact, digest) "
		    "VALUES ($1::text, $2::text, $3::text, $4::text, $5::bigint, $6::text, "
		    "$7::text, $8::text)"};

int pg_fact_record(void *impl, const struct proof_fact *f, struct perr *err)
{
	struct pg_store *s = impl;
	int out = 0;
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	if (pg_run(c, NULL, &Q_FACT_ADD, "ttttittt", f->proposal, f->project, f->kind, f->event,
		   f->at, f->actor, f->artifact, f->digest) < 0)
		out = pg_proof_fail(c, err, "record the fact");
	pg_release(s, c);
	return out;
}

static const struct pg_query Q_FACTS = {
	"facts", "SELECT seq, project, kind, event, at, actor, artifact, digest "
		 "FROM portal_warehouse_facts WHERE proposal = $1::text "
		 "AND (at, seq) > ($2::bigint, $3::bigint) ORDER BY at, seq LIMIT $4::bigint"};

int pg_facts(void *impl, const char *proposal, proof_fact_fn fn, void *arg, struct perr *err)
{
	struct pg_store *s = impl;
	int out = 0;
	struct proof_fact *f = calloc(1, sizeof *f);
	if (!f)
		abort();
	long long after_at = LLONG_MIN, after_seq = LLONG_MIN;
	int more = 1;
	while (more && out == 0) {
		struct pg_conn *c = pg_acquire(s, err);
		if (!c) {
			out = PERR_UNAVAILABLE;
			break;
		}
		PGresult *r = pg_exec(c, &Q_FACTS, "tiii", proposal, after_at, after_seq,
				      (long long)PROOF_PAGE);
		if (!r)
			out = pg_proof_fail(c, err, "read the facts");
		pg_release(s, c);
		int rows = r ? PQntuples(r) : 0;
		more = out == 0 && rows == PROOF_PAGE;
		for (int i = 0; out == 0 && i < rows; i++) {
			after_seq = pg_ll(r, i, 0);
			snprintf(f->proposal, sizeof f->proposal, "%s", proposal);
			snprintf(f->project, sizeof f->project, "%s", pg_str(r, i, 1));
			snprintf(f->kind, sizeof f->kind, "%s", pg_str(r, i, 2));
			snprintf(f->event, sizeof f->event, "%s", pg_str(r, i, 3));
			f->at = after_at = pg_ll(r, i, 4);
			snprintf(f->actor, sizeof f->actor, "%s", pg_str(r, i, 5));
			snprintf(f->artifact, sizeof f->artifact, "%s", pg_str(r, i, 6));
			snprintf(f->digest, sizeof f->digest, "%s", pg_str(r, i, 7));
			if (fn(arg, f) < 0) {
				more = 0;
				break;
			}
		}
		PQclear(r);
	}
	free(f);
	return out;
}

static const struct pg_query Q_EVIDENCE_GET = {
	"evidence_get", "SELECT proposal, digest, size, location, producer "
			"FROM portal_evidence WHERE id = $1::text"};
static const struct pg_query Q_EVIDENCE_ADD = {
	"evidence_add", "INSERT INTO portal_evidence "
			"(id, proposal, digest, size, location, producer, added_at) "
			"VALUES ($1::text, $2::text, $3::text, $4::bigint, $5::text, $6::text, "
			"$7::bigint)"};

int pg_evidence_put(void *impl, const struct proof_evidence *e, struct perr *err)
{
	struct pg_store *s = impl;
	int out = 0;
	struct pg_conn *c = pg_acquire(s, err);
	if (!c)
		return PERR_UNAVAILABLE;
	/* Look, then insert; when the same id was stored in between, the insert
	 * is a unique violation and the next attempt compares with it. */
	int rc = -1;
	for (int attempt = 0; attempt < PG_RETRIES; attempt++) {
		PGresult *r = pg_exec(c, &Q_EVIDENCE_GET, "t", e->id);
		rc = r ? 0 : -1;
		if (r && PQntuples(r) == 1) {
			/* Stored already: equal is the same record told twice. */
			const char *differs = strcmp(pg_str(r, 0, 0), e->proposal) != 0 ? "proposal"
					    : strcmp(pg_str(r, 0, 1), e->digest) != 0   ? "digest"
					    : pg_ll(r, 0, 2) != e->size		       ? "size"
					    : strcmp(pg_str(r, 0, 3), e->location) != 0 ? "location"
					    : strcmp(pg_str(r, 0, 4), e->producer) != 0 ? "producer"
											 : NULL;
			if (differs)
				out = perr_set(err, PERR_CONFLICT, "id",
					       "evidence '%s' is already stored with another %s",
					       e->id, differs);
			PQclear(r);
			break;
		}
		PQclear(r);
		if (rc == 0)
			rc = pg_run(c, NULL, &Q_EVIDENCE_ADD, "tttitti", e->id, e->proposal,
				    e->digest, e->size, e->location, e->producer, clock_wall_ms());
		if (rc == 0 || !pg_unique_violation(c))
			break;
	}
	if (rc < 0)
		out = pg_proof_fail(c, err, "store the evidence");
	pg_release(s, c);
	return out;
}

static const struct pg_query Q_EVIDENCE_OF = {
	"evidence_of", "SELECT seq, id, digest, size, location, producer FROM portal_evidence "
		       "WHERE proposal = $1::text AND seq > $2::bigint ORDER BY seq "
		       "LIMIT $3::bigint"};

int pg_evidence_of(void *impl, const char *proposal, proof_evidence_fn fn, void *arg,
		   struct perr *err)
{
	struct pg_store *s = impl;
	int out = 0;
	struct proof_evidence *e = calloc(1, sizeof *e);
	if (!e)
		abort();
	long long after = LLONG_MIN;
	int more = 1;
	while (more && out == 0) {
		struct pg_conn *c = pg_acquire(s, err);
		if (!c) {
			out = PERR_UNAVAILABLE;
			break;
		}
		PGresult *r = pg_exec(c, &Q_EVIDENCE_OF, "tii", proposal, after,
				      (long long)PROOF_PAGE);
		if (!r)
			out = pg_proof_fail(c, err, "read the evidence");
		pg_release(s, c);
		int rows = r ? PQntuples(r) : 0;
		more = out == 0 && rows == PROOF_PAGE;
		for (int i = 0; out == 0 && i < rows; i++) {
			after = pg_ll(r, i, 0);
			snprintf(e->id, sizeof e->id, "%s", pg_str(r, i, 1));
			snprintf(e->proposal, sizeof e->proposal, "%s", proposal);
			snprintf(e->digest, sizeof e->digest, "%s", pg_str(r, i, 2));
			e->size = pg_ll(r, i, 3);
			snprintf(e->location, sizeof e->location, "%s", pg_str(r, i, 4));
			snprintf(e->producer, sizeof e->producer, "%s", pg_str(r, i, 5));
			if (fn(arg, e) < 0) {
				more = 0;
				break;
			}
		}
		PQclear(r);
	}
	free(e);
	return out;
}
