/* temporal: the executor that runs a proposal as a Temporal workflow over the
 * frontend's HTTP API (grpc-gateway JSON, the /api/v1 path family, which
 * every server from 1.22 on serves). It starts the workflow, then describes
 * it until it is no longer running. It does not log, and never puts the
 * executor URL or the credential in an error: errors say "Temporal
 * (<component>)". It does not read results or history, and never cancels. */
#ifndef PORTAL_EXEC_TEMPORAL_H
#define PORTAL_EXEC_TEMPORAL_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>

#include "core/contract.h"
#include "core/proposal.h"
#include "store/store.h"

#define TEMPORAL_IDENTITY "portal-worker"
#define TEMPORAL_WORKFLOW_PREFIX "portal-"
#define TEMPORAL_DEFAULT_POLL_MS 1000
#define TEMPORAL_DEFAULT_TIMEOUT_MS 60000 /* when neither the call nor the kind sets one */
#define TEMPORAL_ANSWER_MAX (4 * 1024 * 1024) /* the server's own request limit */

struct temporal_call {
	const struct proposal_kind *kind;
	const struct store_proposal *proposal;
	const char *base_url;      /* the component's executor_url (internal) */
	const char *bearer;        /* credential or NULL */
	int timeout_ms;            /* the whole execution */
	int poll_ms;               /* between DescribeWorkflowExecution calls (default 1000) */
	/* Set (by a stopping worker): stop waiting between Describe calls and
	 * give the attempt back; the workflow runs on in Temporal, and starting
	 * the proposal again attaches to it (same requestId). NULL: never. */
	const atomic_int *cancel;
};

/* ok: the workflow completed. retryable: running the same proposal again may
 * succeed (unreachable, 5xx, 429, still running at the timeout). error: what
 * went wrong, for a person; "" when ok. evidence: a new object the caller
 * releases with json_decref, set whenever a final Describe answer was read
 * (completed or not), else NULL:
 *   {"executor":"temporal","workflow_id","run_id","status" (Temporal's enum
 *    name),"location":"temporal:<namespace>/<workflowId>/<runId>",
 *    "digest":"sha256:<hex of that Describe body>","size":<its bytes>} */
struct temporal_outcome {
	int ok;
	int retryable;
	int cancelled; /* stopped waiting because call->cancel was set */
	char error[256];
	json_t *evidence;
};

/* Pure: the StartWorkflowExecution request (path and body) for a proposal.
 * path gets "/api/v1/namespaces/{ns}/workflows/portal-<proposal id>", each
 * segment percent-encoded; *body a new object the caller releases:
 * namespace, workflowId, workflowType {name}, taskQueue {name}, input (the
 * payload shorthand: an array holding the proposal's input object),
 * requestId (the proposal id) and identity. No field newer than server 1.22
 * is sent (an older server rejects unknown fields with 400). Returns 0, or
 * PERR_INVALID (the kind lacks a namespace, workflow type or task queue; the
 * input is not a JSON object; no proposal id) or PERR_TOO_LARGE (path does
 * not fit pathcap); *body is NULL then. */
int temporal_start_request(const struct temporal_call *t, char *path, size_t pathcap, json_t **body);

/* Runs it: start with requestId = proposal id (a retry of the same proposal
 * is deduplicated by Temporal), workflowId = "portal-<proposal id>", then
 * Describe until the status is no longer RUNNING or the timeout passes.
 * A 409 WorkflowExecutionAlreadyStarted whose startRequestId is this
 * proposal's id counts as started (that run is described); for another
 * request it is a non-retryable error. CONTINUED_AS_NEW is followed to the
 * workflow's current run. Fills *out in every case; returns 0 when out->ok,
 * else a negative PERR_* (PERR_UNAVAILABLE when retryable). */
int temporal_run(const struct temporal_call *t, struct temporal_outcome *out);

#endif
