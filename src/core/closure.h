/* closure: whether a proposal's proof is closed, from what the three proof
 * planes said about it. Pure: the caller reads the planes (proof/proof.h)
 * and hands their answers here; the same answers always give the same
 * closure.
 *
 * The joins a kind requires (struct closure_rule) are checked plane by
 * plane along the proof path graph → warehouse → evidence:
 *   graph      the proposal's node and its relations in the project's named
 *              graph (each required predicate present; type, project, kind
 *              and proposer equal to the proposal's own);
 *   warehouse  the required lifecycle facts (submitted, approved, executed
 *              by default), each present, in that order in time, all naming
 *              the proposal's project and kind;
 *   evidence   for each artifact an executed fact names, a record with that
 *              id whose digest equals the digest the fact records.
 * The result is closed (every join met), open (each missing join named with
 * its plane, a plane that could not be read counting as missing) or
 * contradicted (planes disagree: both values kept). Contradicted wins over
 * open: a disagreement needs a person whatever else is missing. */
#ifndef PORTAL_CLOSURE_H
#define PORTAL_CLOSURE_H

#include <stddef.h>

#include "core/proof_record.h"

/* The vocabulary of the proposal node. */
#define FO_NS "urn:fractalops:ns:"
#define FO_RDF_TYPE "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
#define FO_PROPOSAL FO_NS "Proposal"
#define FO_IN_PROJECT FO_NS "inProject"
#define FO_OF_KIND FO_NS "ofKind"
#define FO_PROPOSED_BY FO_NS "proposedBy"
#define FO_PRODUCED FO_NS "produced"

enum closure_state { CLOSURE_CLOSED, CLOSURE_OPEN, CLOSURE_CONTRADICTED };
enum proof_plane { PLANE_GRAPH, PLANE_WAREHOUSE, PLANE_EVIDENCE };
enum join_state { JOIN_MET, JOIN_MISSING, JOIN_CONTRADICTED, JOIN_UNREACHABLE };

#define CLOSURE_EVENTS_MAX 8
#define CLOSURE_JOINS_MAX 48

/* What a kind requires. The default (closure_rule_default) asks for the
 * proposal node with type, project, kind and proposer; the facts
 * submitted, approved, executed; and evidence for every artifact. */
struct closure_rule {
	int graph;                                   /* the node and its relations */
	size_t nevents;
	char events[CLOSURE_EVENTS_MAX][16];         /* facts, in their order in time */
	int evidence;                                /* evidence for executed artifacts */
};

/* One plane's answer: ok = 0 means it could not be read (why: in error). */
struct closure_input {
	const char *proposal, *project, *kind, *proposer;
	int graph_ok, warehouse_ok, evidence_ok;
	const char *graph_error, *warehouse_error, *evidence_error;
	const struct proof_triple *triples;          /* about the proposal's node */
	size_t ntriples;
	const struct proof_fact *facts;              /* the proposal's, in the plane's order */
	size_t nfacts;
	const struct proof_evidence *evidence;       /* the proposal's */
	size_t nevidence;
};

struct closure_join {
	enum proof_plane plane;
	enum join_state state;
	char what[160];      /* the join, in words: "executed fact", "evidence of ev-…" */
	char expected[200];  /* contradicted: what the other side (or the proposal) says */
	char found[200];     /* contradicted: what this plane says */
};

struct closure {
	enum closure_state state;
	size_t njoins;
	int truncated;       /* more joins than CLOSURE_JOINS_MAX: the rest not listed */
	struct closure_join joins[CLOSURE_JOINS_MAX];
};

void closure_rule_default(struct closure_rule *r);
void closure_decide(const struct closure_rule *rule, const struct closure_input *in,
		    struct closure *out);

/* The proposal's node in the graph: "urn:fractalops:proposal:<id>". */
void closure_node(const char *proposal, char *buf, size_t len);
/* "urn:fractalops:<what>:<name>" for project, kind, person, evidence. */
void closure_iri(const char *what, const char *name, char *buf, size_t len);

const char *closure_state_name(enum closure_state s); /* closed, open, contradicted */
const char *proof_plane_name(enum proof_plane p);     /* graph, warehouse, evidence */
const char *join_state_name(enum join_state s);       /* met, missing, contradicted, unreachable */

/* A proof stall, as the prover keeps it in a proposal's last_error while the
 * proposal waits on a plane it cannot write or read: "<plane> plane: <why>".
 * closure_stall_format writes it; closure_stall_plane returns the plane of
 * such a text (and points *why at its reason), or -1 for any other text. */
void closure_stall_format(enum proof_plane p, const char *why, char *buf, size_t len);
int closure_stall_plane(const char *last_error, const char **why);

#endif
