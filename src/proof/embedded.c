/* embedded: the three proof planes as tables in Portal's own store, the
 * single-node default. Each plane operation is the store operation of the
 * same meaning (store.h, portal_graph_triples and its neighbours): this file
 * only adapts the shapes. It keeps nothing of its own, so closing a plane
 * does nothing: the store outlives it. */
#include "proof/proof.h"

#include "store/proof_store.h"

static int graph_put(void *impl, const char *graph, const struct proof_triple *t, size_t n,
		     struct perr *err)
{
	return store_graph_put(impl, graph, t, n, err);
}

static int graph_about(void *impl, const char *graph, const char *subject, proof_triple_fn fn,
		       void *arg, struct perr *err)
{
	return store_graph_about(impl, graph, subject, fn, arg, err);
}

static int warehouse_record(void *impl, const struct proof_fact *f, struct perr *err)
{
	return store_fact_record(impl, f, err);
}

static int warehouse_facts(void *impl, const char *proposal, proof_fact_fn fn, void *arg,
			   struct perr *err)
{
	return store_facts(impl, proposal, fn, arg, err);
}

static int evidence_put(void *impl, const struct proof_evidence *e, struct perr *err)
{
	return store_evidence_put(impl, e, err);
}

static int evidence_of(void *impl, const char *proposal, proof_evidence_fn fn, void *arg,
		       struct perr *err)
{
	return store_evidence_of(impl, proposal, fn, arg, err);
}

static void keep_store(void *impl)
{
	(void)impl;
}

static const struct graph_ops graph_embedded_ops = {
	.name = "embedded",
	.put = graph_put,
	.about = graph_about,
	.close = keep_store,
};

static const struct warehouse_ops warehouse_embedded_ops = {
	.name = "embedded",
	.record = warehouse_record,
	.facts = warehouse_facts,
	.close = keep_store,
};

static const struct evidence_ops evidence_embedded_ops = {
	.name = "embedded",
	.put = evidence_put,
	.of = evidence_of,
	.close = keep_store,
};

void graph_embedded(struct store *st, struct graph *out)
{
	out->ops = &graph_embedded_ops;
	out->impl = st;
}

void warehouse_embedded(struct store *st, struct warehouse *out)
{
	out->ops = &warehouse_embedded_ops;
	out->impl = st;
}

void evidence_embedded(struct store *st, struct evidence *out)
{
	out->ops = &evidence_embedded_ops;
	out->impl = st;
}
