/* proof: the three planes a proposal's closure joins, each behind one small
 * interface with an embedded implementation (tables in the store: the
 * single-node default, written by the worker) and a remote one:
 *   graph      the Semantics / FractalOps graph: triples, one named graph per
 *              project (remote: an HTTP JSON service, docs/proof-planes.md)
 *   warehouse  lifecycle facts of proposals (remote: ClickHouse over HTTP)
 *   evidence   Chronicle evidence records of artifacts (remote: HTTP JSON)
 * Portal reads these planes to decide closure (core/closure.h); it never
 * treats anything else (DataHub included) as a proof source.
 *
 * Every call blocks (it may do network I/O): call it from the worker or an
 * offload thread, never from an event loop. Errors fill err: PERR_INVALID for
 * a bad argument, PERR_UNAVAILABLE when the plane could not be reached or
 * answered with an error (its message never names the URL or a credential). */
#ifndef PORTAL_PROOF_H
#define PORTAL_PROOF_H

#include <stddef.h>

#include "core/proof_record.h"
#include "util/perr.h"

struct graph_ops {
	const char *name; /* "embedded", "http" */
	/* Adds n triples to the named graph; a triple already there stays once. */
	int (*put)(void *impl, const char *graph, const struct proof_triple *t, size_t n,
		   struct perr *err);
	/* Calls fn for every triple of graph whose subject is subject. */
	int (*about)(void *impl, const char *graph, const char *subject, proof_triple_fn fn,
		     void *arg, struct perr *err);
	void (*close)(void *impl);
};

struct warehouse_ops {
	const char *name; /* "embedded", "clickhouse" */
	/* Appends one fact. Recording the same (proposal, event, at) again may
	 * keep a duplicate: readers (the closure) tolerate duplicates. */
	int (*record)(void *impl, const struct proof_fact *f, struct perr *err);
	/* Calls fn for every fact of proposal, ordered by at (then by the order
	 * they were recorded). */
	int (*facts)(void *impl, const char *proposal, proof_fact_fn fn, void *arg,
		     struct perr *err);
	void (*close)(void *impl);
};

struct evidence_ops {
	const char *name; /* "embedded", "http" */
	/* Stores one record; the same id again replaces nothing and is not an
	 * error when it is equal, PERR_CONFLICT when it differs. */
	int (*put)(void *impl, const struct proof_evidence *e, struct perr *err);
	/* Calls fn for every record of proposal. */
	int (*of)(void *impl, const char *proposal, proof_evidence_fn fn, void *arg,
		  struct perr *err);
	void (*close)(void *impl);
};

/* A plane: its operations and their state. A zeroed plane is "not set". */
struct graph {
	const struct graph_ops *ops;
	void *impl;
};
struct warehouse {
	const struct warehouse_ops *ops;
	void *impl;
};
struct evidence {
	const struct evidence_ops *ops;
	void *impl;
};

/* Where a remote plane answers and how to sign in to it. Strings are
 * borrowed for the call that opens the plane only; the plane keeps copies. */
struct proof_remote {
	const char *url;      /* the component's internal URL (base, no trailing path) */
	const char *user;     /* ClickHouse: X-ClickHouse-User ("" or NULL: none) */
	const char *secret;   /* ClickHouse: X-ClickHouse-Key; HTTP planes: bearer token;
			       * NULL or "": none */
	const char *database; /* ClickHouse: the database ("" or NULL: "default") */
	int timeout_ms;       /* per request; 0: 5000 */
};

/* Remote implementations (each in its own file under src/proof/). Each
 * returns 0, or PERR_INVALID with err naming the bad setting. Opening
 * does no I/O. */
int warehouse_clickhouse_open(const struct proof_remote *r, struct warehouse *out,
			      struct perr *err);
int graph_http_open(const struct proof_remote *r, struct graph *out, struct perr *err);
int evidence_http_open(const struct proof_remote *r, struct evidence *out, struct perr *err);

/* The embedded implementations, over the store (st outlives the plane). */
struct store;
void graph_embedded(struct store *st, struct graph *out);
void warehouse_embedded(struct store *st, struct warehouse *out);
void evidence_embedded(struct store *st, struct evidence *out);

/* Close a plane (a zeroed one too) and zero it. */
static inline void graph_close(struct graph *g)
{
	if (g->ops && g->ops->close)
		g->ops->close(g->impl);
	g->ops = NULL;
	g->impl = NULL;
}
static inline void warehouse_close(struct warehouse *w)
{
	if (w->ops && w->ops->close)
		w->ops->close(w->impl);
	w->ops = NULL;
	w->impl = NULL;
}
static inline void evidence_close(struct evidence *e)
{
	if (e->ops && e->ops->close)
		e->ops->close(e->impl);
	e->ops = NULL;
	e->impl = NULL;
}

#endif
