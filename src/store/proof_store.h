/* proof_store: the embedded proof planes kept in the store —
 * portal_graph_triples, portal_warehouse_facts and portal_evidence — for
 * proof/embedded.c, with proof/proof.h's contracts. Kept out of store.h so that what only needs the
 * store does not need the proof vocabulary. */
#ifndef PORTAL_STORE_PROOF_STORE_H
#define PORTAL_STORE_PROOF_STORE_H

#include <stddef.h>

#include "core/proof_record.h"
#include "store/store.h"

/* What a backend fills for the planes. Every argument is checked by the
 * dispatchers below before an op sees it. */
struct store_proof_ops {
	int (*graph_put)(void *impl, const char *graph, const struct proof_triple *t, size_t n,
			 struct perr *err);
	int (*graph_about)(void *impl, const char *graph, const char *subject, proof_triple_fn fn,
			   void *arg, struct perr *err);
	int (*fact_record)(void *impl, const struct proof_fact *f, struct perr *err);
	int (*facts)(void *impl, const char *proposal, proof_fact_fn fn, void *arg,
		     struct perr *err);
	int (*evidence_put)(void *impl, const struct proof_evidence *e, struct perr *err);
	int (*evidence_of)(void *impl, const char *proposal, proof_evidence_fn fn, void *arg,
			   struct perr *err);
};

/* Every text argument and field is checked before anything is written: a
 * missing or empty one (where it is required) or one not ended within its
 * array is PERR_INVALID naming it ("graph", "triples[2].subject", "event",
 * "id"...). A store failure is PERR_STORE (PERR_UNAVAILABLE when the
 * database is busy), in words that name no file: a plane's errors may reach
 * a client.
 * graph_put: all n triples in one transaction; one already there stays once
 * (n 0 stores nothing). graph_about: the triples of graph whose subject is
 * subject, by predicate then object. fact_record: appends one fact (event
 * one of submitted, approved, executed; at >= 0). facts: a proposal's facts
 * by at, then in the order they were recorded. evidence_put: the same id
 * again is fine when every field is equal (nothing is written),
 * PERR_CONFLICT naming "id" when one differs (size >= 0). evidence_of: a
 * proposal's records in the order they were stored.
 * The walks read a page of rows, let go of the store, then call fn for each:
 * fn may call the store (another plane, say), and a row stored during a walk
 * may or may not be seen, but none is seen twice. A negative return from fn
 * ends the walk, and is not an error. */
int store_graph_put(struct store *st, const char *graph, const struct proof_triple *t,
		    size_t n, struct perr *err);
int store_graph_about(struct store *st, const char *graph, const char *subject,
		      proof_triple_fn fn, void *arg, struct perr *err);
int store_fact_record(struct store *st, const struct proof_fact *f, struct perr *err);
int store_facts(struct store *st, const char *proposal, proof_fact_fn fn, void *arg,
		struct perr *err);
int store_evidence_put(struct store *st, const struct proof_evidence *e, struct perr *err);
int store_evidence_of(struct store *st, const char *proposal, proof_evidence_fn fn, void *arg,
		      struct perr *err);

#endif
