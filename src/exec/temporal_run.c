/* temporal_run: the Temporal backend behind the executor table. It finds the
 * kind's owned component (its executor_url is where Temporal's HTTP API
 * answers) and hands one attempt to temporal.c, whose requestId is the
 * proposal id: a retried attempt starts nothing twice. */
#include <string.h>

#include "exec/executor.h"
#include "exec/temporal.h"

static int temporal_exec(const struct exec_job *job, struct exec_result *out)
{
	memset(out, 0, sizeof *out);
	const struct proposal_kind *k = job->kind;
	const struct component_contract *c =
		job->cat ? catalogue_find(job->cat, k->component) : NULL;
	if (!c || c->ownership != OWNERSHIP_OWNED || !c->executor_url.s[0])
		return exec_fail(out, 0,
				 "Temporal (%s) is not configured: kind %s needs an owned component "
				 "with an executor_url",
				 k->component, k->name);
	struct temporal_call t = {
		.kind = k,
		.proposal = job->proposal,
		.base_url = c->executor_url.s,
		.bearer = job->secret_value && job->secret_value[0] ? job->secret_value : NULL,
		.timeout_ms = job->timeout_ms > 0 ? job->timeout_ms : k->timeout_ms,
		.poll_ms = 0,
		.cancel = job->cancel,
	};
	struct temporal_outcome o = {0};
	temporal_run(&t, &o);
	out->ok = o.ok;
	out->retryable = o.retryable;
	out->cancelled = o.cancelled;
	memcpy(out->error, o.error, sizeof out->error < sizeof o.error ? sizeof out->error
									 : sizeof o.error);
	out->error[sizeof out->error - 1] = 0;
	out->evidence = o.evidence;
	return o.ok ? 0 : -1;
}

const struct executor_ops executor_temporal = {"temporal", temporal_exec};
