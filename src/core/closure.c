/* closure: see closure.h. */
#include "core/closure.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void closure_rule_default(struct closure_rule *r)
{
	static const char *const events[] = {"submitted", "approved", "executed"};
	memset(r, 0, sizeof *r);
	r->graph = 1;
	r->evidence = 1;
	r->nevents = sizeof events / sizeof events[0];
	for (size_t i = 0; i < r->nevents; i++)
		snprintf(r->events[i], sizeof r->events[i], "%s", events[i]);
}

void closure_node(const char *proposal, char *buf, size_t len)
{
	closure_iri("proposal", proposal, buf, len);
}

void closure_iri(const char *what, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "urn:fractalops:%s:%s", what, name ? name : "");
}

const char *closure_state_name(enum closure_state s)
{
	switch (s) {
	case CLOSURE_CLOSED:
		return "closed";
	case CLOSURE_OPEN:
		return "open";
	case CLOSURE_CONTRADICTED:
		return "contradicted";
	}
	return "unknown";
}

const char *proof_plane_name(enum proof_plane p)
{
	switch (p) {
	case PLANE_GRAPH:
		return "graph";
	case PLANE_WAREHOUSE:
		return "warehouse";
	case PLANE_EVIDENCE:
		return "evidence";
	}
	return "unknown";
}

const char *join_state_name(enum join_state s)
{
	switch (s) {
	case JOIN_MET:
		return "met";
	case JOIN_MISSING:
		return "missing";
	case JOIN_CONTRADICTED:
		return "contradicted";
	case JOIN_UNREACHABLE:
		return "unreachable";
	}
	return "unknown";
}

static struct closure_join *add(struct closure *c, enum proof_plane plane, enum join_state state,
				const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static struct closure_join *add(struct closure *c, enum proof_plane plane, enum join_state state,
				const char *fmt, ...)
{
	if (state == JOIN_CONTRADICTED)
		c->state = CLOSURE_CONTRADICTED;
	else if (state != JOIN_MET && c->state == CLOSURE_CLOSED)
		c->state = CLOSURE_OPEN;
	if (c->njoins == CLOSURE_JOINS_MAX) {
		c->truncated = 1; /* the state still counts it */
		return NULL;
	}
	struct closure_join *j = &c->joins[c->njoins++];
	memset(j, 0, sizeof *j);
	j->plane = plane;
	j->state = state;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(j->what, sizeof j->what, fmt, ap);
	va_end(ap);
	return j;
}

static void both(struct closure_join *j, const char *expected, const char *found)
{
	if (!j)
		return;
	snprintf(j->expected, sizeof j->expected, "%s", expected);
	snprintf(j->found, sizeof j->found, "%s", found);
}

/* --- graph: the node and its relations */

static void graph_relation(struct closure *c, const struct closure_input *in,
			   const char *predicate, const char *label, const char *want)
{
	char node[PROOF_IRI_MAX];
	closure_node(in->proposal, node, sizeof node);
	const char *other = NULL;
	for (size_t i = 0; i < in->ntriples; i++) {
		const struct proof_triple *t = &in->triples[i];
		if (strcmp(t->subject, node) || strcmp(t->predicate, predicate))
			continue;
		if (!strcmp(t->object, want)) {
			add(c, PLANE_GRAPH, JOIN_MET, "%s", label);
			return;
		}
		other = t->object;
	}
	if (other)
		both(add(c, PLANE_GRAPH, JOIN_CONTRADICTED, "%s", label), want, other);
	else
		add(c, PLANE_GRAPH, JOIN_MISSING, "%s", label);
}

static void graph_joins(struct closure *c, const struct closure_input *in)
{
	if (!in->graph_ok) {
		add(c, PLANE_GRAPH, JOIN_UNREACHABLE, "the proposal node: %s",
		    in->graph_error ? in->graph_error : "the graph could not be read");
		return;
	}
	char iri[PROOF_TEXT_MAX];
	graph_relation(c, in, FO_RDF_TYPE, "the proposal node (type Proposal)", FO_PROPOSAL);
	closure_iri("project", in->project, iri, sizeof iri);
	graph_relation(c, in, FO_IN_PROJECT, "its project (inProject)", iri);
	closure_iri("kind", in->kind, iri, sizeof iri);
	graph_relation(c, in, FO_OF_KIND, "its kind (ofKind)", iri);
	closure_iri("person", in->proposer, iri, sizeof iri);
	graph_relation(c, in, FO_PROPOSED_BY, "its proposer (proposedBy)", iri);
}

/* --- warehouse: the lifecycle facts, in order */

static void fmt_at(long long at, char *buf, size_t len)
{
	snprintf(buf, len, "at %lld", at);
}

static void warehouse_joins(struct closure *c, const struct closure_rule *r,
			    const struct closure_input *in)
{
	if (!in->warehouse_ok) {
		add(c, PLANE_WAREHOUSE, JOIN_UNREACHABLE, "the lifecycle facts: %s",
		    in->warehouse_error ? in->warehouse_error : "the warehouse could not be read");
		return;
	}
	const struct proof_fact *prev = NULL; /* the last required fact found */
	for (size_t e = 0; e < r->nevents; e++) {
		const char *ev = r->events[e];
		const struct proof_fact *first = NULL;
		for (size_t i = 0; i < in->nfacts; i++)
			if (!strcmp(in->facts[i].event, ev) &&
			    !strcmp(in->facts[i].proposal, in->proposal) &&
			    (!first || in->facts[i].at < first->at))
				first = &in->facts[i];
		if (!first) {
			add(c, PLANE_WAREHOUSE, JOIN_MISSING, "%s fact", ev);
			continue;
		}
		if (strcmp(first->project, in->project)) {
			both(add(c, PLANE_WAREHOUSE, JOIN_CONTRADICTED, "%s fact: project", ev),
			     in->project, first->project);
			continue;
		}
		if (strcmp(first->kind, in->kind)) {
			both(add(c, PLANE_WAREHOUSE, JOIN_CONTRADICTED, "%s fact: kind", ev),
			     in->kind, first->kind);
			continue;
		}
		if (prev && first->at < prev->at) {
			char a[64], b[64], want[200];
			fmt_at(prev->at, a, sizeof a);
			fmt_at(first->at, b, sizeof b);
			snprintf(want, sizeof want, "after %s (%s)", prev->event, a);
			both(add(c, PLANE_WAREHOUSE, JOIN_CONTRADICTED, "%s fact: order", ev), want,
			     b);
			continue;
		}
		add(c, PLANE_WAREHOUSE, JOIN_MET, "%s fact", ev);
		prev = first;
	}
	/* Two executed facts naming one artifact with different digests: the
	 * warehouse disagrees with itself. */
	for (size_t i = 0; i < in->nfacts; i++)
		for (size_t k = i + 1; k < in->nfacts; k++) {
			const struct proof_fact *a = &in->facts[i], *b = &in->facts[k];
			if (!a->artifact[0] || strcmp(a->artifact, b->artifact) ||
			    !strcmp(a->digest, b->digest))
				continue;
			both(add(c, PLANE_WAREHOUSE, JOIN_CONTRADICTED, "digest of %s", a->artifact),
			     a->digest, b->digest);
		}
}

/* --- evidence: each artifact's record, with the digest the warehouse has */

static int seen_artifact(const struct closure_input *in, size_t upto, const char *artifact)
{
	for (size_t i = 0; i < upto; i++)
		if (!strcmp(in->facts[i].artifact, artifact))
			return 1;
	return 0;
}

static void evidence_joins(struct closure *c, const struct closure_input *in)
{
	size_t artifacts = 0;
	for (size_t i = 0; i < in->nfacts; i++)
		if (!strcmp(in->facts[i].event, "executed") && in->facts[i].artifact[0])
			artifacts++;
	if (!in->evidence_ok) {
		add(c, PLANE_EVIDENCE, JOIN_UNREACHABLE, "the evidence records: %s",
		    in->evidence_error ? in->evidence_error : "the evidence could not be read");
		return;
	}
	if (!in->warehouse_ok)
		return; /* which artifacts to look for is the warehouse's to say */
	if (artifacts == 0) {
		add(c, PLANE_EVIDENCE, JOIN_MISSING,
		    "an artifact: no executed fact names one, so there is no evidence to join");
		return;
	}
	for (size_t i = 0; i < in->nfacts; i++) {
		const struct proof_fact *f = &in->facts[i];
		if (strcmp(f->event, "executed") || !f->artifact[0] ||
		    seen_artifact(in, i, f->artifact))
			continue;
		const struct proof_evidence *e = NULL;
		for (size_t k = 0; k < in->nevidence && !e; k++)
			if (!strcmp(in->evidence[k].id, f->artifact))
				e = &in->evidence[k];
		if (!e)
			add(c, PLANE_EVIDENCE, JOIN_MISSING, "evidence of %s", f->artifact);
		else if (strcmp(e->digest, f->digest))
			both(add(c, PLANE_EVIDENCE, JOIN_CONTRADICTED, "evidence of %s: digest",
				 f->artifact),
			     f->digest, e->digest);
		else
			add(c, PLANE_EVIDENCE, JOIN_MET, "evidence of %s", f->artifact);
	}
}

void closure_decide(const struct closure_rule *rule, const struct closure_input *in,
		    struct closure *out)
{
	memset(out, 0, sizeof *out);
	out->state = CLOSURE_CLOSED;
	if (rule->graph)
		graph_joins(out, in);
	if (rule->nevents)
		warehouse_joins(out, rule, in);
	if (rule->evidence)
		evidence_joins(out, in);
}

void closure_stall_format(enum proof_plane p, const char *why, char *buf, size_t len)
{
	snprintf(buf, len, "%s plane: %s", proof_plane_name(p), why && why[0] ? why : "unavailable");
}

int closure_stall_plane(const char *last_error, const char **why)
{
	static const enum proof_plane planes[] = {PLANE_GRAPH, PLANE_WAREHOUSE, PLANE_EVIDENCE};
	for (size_t i = 0; last_error && i < sizeof planes / sizeof planes[0]; i++) {
		const char *name = proof_plane_name(planes[i]);
		size_t n = strlen(name);
		if (!strncmp(last_error, name, n) && !strncmp(last_error + n, " plane: ", 8)) {
			if (why)
				*why = last_error + n + 8;
			return (int)planes[i];
		}
	}
	return -1;
}
