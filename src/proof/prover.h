/* prover: carries executed proposals through proof, inside `portal worker`.
 * For an executed proposal it records what happened in the planes — the
 * proposal's node and relations in its project's named graph, the submitted,
 * approved and executed facts (times and actors from the audit log) in the
 * warehouse, and its output's evidence record — and moves it to proving.
 * For a proving proposal it reads the three planes, decides the closure
 * (core/closure.h), keeps the result with the proposal, and moves it to
 * proven when the closure is closed. Open and contradicted closures are
 * checked again later; nothing but the planes decides. */
#ifndef PORTAL_PROVER_H
#define PORTAL_PROVER_H

#include <jansson.h>

#include "core/closure.h"
#include "proof/proof.h"
#include "store/store.h"

struct prover_planes {
	struct graph graph;
	struct warehouse warehouse;
	struct evidence evidence;
};

/* The evidence id of a proposal's execution output. */
void prover_artifact_id(const char *proposal, char *buf, size_t len);

/* Records p (executed) in the planes. Recording again adds nothing to the
 * graph or the evidence and at most a duplicate fact, which the closure
 * tolerates. Returns 0, or the first plane's error. */
int prover_record(struct store *st, const struct prover_planes *pl, const struct store_proposal *p,
		  struct perr *err);

/* Reads the planes about p and decides its closure under rule. */
void prover_read(const struct prover_planes *pl, const struct store_proposal *p,
		 const struct closure_rule *rule, struct closure *out);

/* The closure as the API and the pages show it. */
json_t *closure_to_json(const struct closure *c, long long checked_at);

/* One pass over the store: every executed proposal is recorded and moved to
 * proving; every proving one last checked before now - recheck_ms is
 * checked, and moved to proven when closed. actor names the worker in the
 * audit log. Returns how many proposals it looked at, or a negative PERR. */
int prover_pass(struct store *st, const struct prover_planes *pl, const char *actor,
		long long now, long long recheck_ms, struct perr *err);

/* A thread running prover_pass every poll_ms until prover_stop. */
struct prover;
int prover_start(struct prover **out, struct store *st, const struct prover_planes *pl,
		 const char *actor, int poll_ms, int recheck_ms, struct perr *err);
void prover_stop(struct prover *p);

#endif
