/* fuzz_temporal: what Temporal's HTTP API answers, read by the executor. The
 * input is a script of answers (support/fake_http.h) served on loopback to a
 * whole temporal_run: the first answers StartWorkflowExecution (200 with a
 * runId, or 409 naming the run already started), the rest the Describe
 * calls; past the script the server answers 404, which ends the run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec/temporal.h"
#include "support/fake_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct proposal_kind kind = {
	.name = "run-workflow",
	.executor = EXECUTOR_TEMPORAL,
	.component = "temporal",
	.temporal_namespace = "default",
	.workflow_type = "MaintenanceWorkflow",
	.task_queue = "ops",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fake_http_script(data, size, 404);
	char input[] = "{\"project\":\"atlas\"}";
	struct store_proposal p;
	memset(&p, 0, sizeof p);
	snprintf(p.id, sizeof p.id, "p-0011223344556677");
	snprintf(p.kind, sizeof p.kind, "run-workflow");
	p.input = input;
	struct temporal_call t = {.kind = &kind, .proposal = &p, .base_url = fake_http_url(),
				  .bearer = "t0p-secret", .timeout_ms = 20000, .poll_ms = 1};
	struct temporal_outcome out;
	temporal_run(&t, &out);
	if (strstr(out.error, "t0p-secret") || strstr(out.error, "127.0.0.1"))
		abort(); /* an error names the credential or the address */
	if (out.ok && out.error[0])
		abort();
	json_decref(out.evidence);
	return 0;
}
