/* proof_store: the dispatchers of the embedded proof planes (proof_store.h).
 * Every argument is checked here, once for every backend (store/rules.h),
 * before a backend's op sees it; the backends only read and write rows. */
#include "store/proof_store.h"

#include "store/rules.h"

#define P(st) ((st)->ops->proof)

int store_graph_put(struct store *st, const char *graph, const struct proof_triple *t,
		    size_t n, struct perr *err)
{
	int out = store_proof_text(graph, PROOF_IRI_MAX, 0, "graph", err);
	if (out == 0 && n > 0 && !t)
		out = perr_set(err, PERR_INVALID, "triples", "%zu triples announced, none given", n);
	for (size_t i = 0; out == 0 && i < n; i++)
		out = store_triple_ok(&t[i], i, err);
	if (out < 0 || n == 0)
		return out;
	return P(st)->graph_put(st->impl, graph, t, n, err);
}

int store_graph_about(struct store *st, const char *graph, const char *subject,
		      proof_triple_fn fn, void *arg, struct perr *err)
{
	int out = store_proof_text(graph, PROOF_IRI_MAX, 0, "graph", err);
	if (out == 0)
		out = store_proof_text(subject, PROOF_IRI_MAX, 0, "subject", err);
	if (out < 0)
		return out;
	return P(st)->graph_about(st->impl, graph, subject, fn, arg, err);
}

int store_fact_record(struct store *st, const struct proof_fact *f, struct perr *err)
{
	int out = store_fact_ok(f, err);
	if (out < 0)
		return out;
	return P(st)->fact_record(st->impl, f, err);
}

int store_facts(struct store *st, const char *proposal, proof_fact_fn fn, void *arg,
		struct perr *err)
{
	int out = store_proof_text(proposal, PROOF_ID_MAX, 0, "proposal", err);
	if (out < 0)
		return out;
	return P(st)->facts(st->impl, proposal, fn, arg, err);
}

int store_evidence_put(struct store *st, const struct proof_evidence *e, struct perr *err)
{
	int out = store_evidence_ok(e, err);
	if (out < 0)
		return out;
	return P(st)->evidence_put(st->impl, e, err);
}

int store_evidence_of(struct store *st, const char *proposal, proof_evidence_fn fn, void *arg,
		      struct perr *err)
{
	int out = store_proof_text(proposal, PROOF_ID_MAX, 0, "proposal", err);
	if (out < 0)
		return out;
	return P(st)->evidence_of(st->impl, proposal, fn, arg, err);
}
