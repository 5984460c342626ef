/* prover: carries executed proposals through proof, inside `portal worker`.
 * For an executed proposal it records what happened in the planes — the
 * proposal's node and relations in its project's named graph, the submitted,
 * approved and executed facts (times and actors from the audit log) in the
 * warehouse, and its output's evidence record — and moves it to proving.
 * For a proving proposal it reads the three planes, decides the closure
 * (core/closure.h), keeps the result with the proposal, and moves it to
 * proven when the closure is closed. Open and contradicted closures are
 * checked again later; nothing but the planes decides. A plane that cannot
 * be written or read stalls the proposal visibly (its last_error, see
 * prover_pass) rather than only in the log. */
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

/* Reads the planes about p and decides its closure under rule. unread
 * (may be NULL) gets the first plane that could not be read: field names
 * the plane, msg says why (code 0: every plane answered). */
void prover_read(const struct prover_planes *pl, const struct store_proposal *p,
		 const struct closure_rule *rule, struct closure *out, struct perr *unread);

/* The closure as the API and the pages show it. */
json_t *closure_to_json(const struct closure *c, long long checked_at);

/* The proposals a pass found waiting on each plane (enum proof_plane). */
struct prover_stalls {
	size_t count[3];
	char reason[3][256]; /* the last plane error seen, as the plane words it */
	size_t began;        /* of which this pass found newly waiting (and said so) */
};

/* One pass over the store: every executed proposal is recorded and moved to
 * proving; every proving one last checked before now - recheck_ms is
 * checked, and moved to proven when closed. actor names the worker in the
 * audit log. A proposal that waits on a plane that cannot be written or read
 * keeps "<plane> plane: <why>" as its last_error, since when as its
 * updated_at (store_proposal_set_error), until the plane answers; seen (may
 * be NULL) counts them. Returns how many proposals it looked at, or a
 * negative PERR. */
int prover_pass(struct store *st, const struct prover_planes *pl, const char *actor,
		long long now, long long recheck_ms, struct prover_stalls *seen, struct perr *err);

/* A thread running prover_pass every poll_ms until prover_stop. */
struct prover;
int prover_start(struct prover **out, struct store *st, const struct prover_planes *pl,
		 const char *actor, int poll_ms, int recheck_ms, struct perr *err);
void prover_stop(struct prover *p);

#endif
