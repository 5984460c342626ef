/* fuzz_proposal_input: a POST /api/v1/proposals body ({kind, project, input}
 * and nothing else trusted), checked the way the handler checks it
 * (proposing_check_submit: kind, project, role, proposal_validate against
 * the kind's fields), against kinds declared in YAML like an operator would.
 * A valid input is then turned into what an executor sends: the exec argv
 * (proposal_argv) and Temporal's start request (temporal_start_request). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/proposing.h"
#include "config/config.h"
#include "core/role.h"
#include "exec/temporal.h"
#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char kinds_yaml[] =
	"projects:\n"
	"  - name: atlas\n"
	"proposals:\n"
	"  - name: rotate-deploy-key\n"
	"    title: Rotate a deploy key\n"
	"    fields:\n"
	"      - {name: project, type: string, required: true, max_len: 63}\n"
	"      - {name: key_name, type: enum, values: [deploy, ci], required: true}\n"
	"      - {name: ttl_days, type: integer, min: 1, max: 90}\n"
	"      - {name: dry_run, type: boolean}\n"
	"    execute:\n"
	"      executor: exec\n"
	"      argv: [\"/bin/echo\", \"rotating\", \"{project}\", \"{key_name}\", "
	"\"--ttl={ttl_days}\", \"{dry_run}\"]\n"
	"  - name: run-workflow\n"
	"    title: Run a maintenance workflow\n"
	"    fields:\n"
	"      - {name: project, type: string, required: true, max_len: 63}\n"
	"      - {name: reason, type: string, required: true, min_len: 10, max_len: 200}\n"
	"      - {name: table, type: dataset}\n"
	"      - {name: window, type: integer, min: -9223372036854775808, "
	"max: 9223372036854775807}\n"
	"    execute:\n"
	"      executor: temporal\n"
	"      component: temporal\n"
	"      namespace: default\n"
	"      workflow_type: MaintenanceWorkflow\n"
	"      task_queue: ops\n";

static struct config cfg;

static void start(void)
{
	struct config_errors errs = {0};
	config_defaults(&cfg);
	if (config_parse(&cfg, "kinds.yaml", kinds_yaml, sizeof kinds_yaml - 1, &errs) < 0 ||
	    cfg.catalogue.nkinds != 2)
		abort();
}

static void execute(const struct proposal_kind *k, const json_t *input)
{
	if (k->executor == EXECUTOR_EXEC) {
		static char argv[PROPOSAL_MAX_ARGV][PROPOSAL_ARG_MAX * 2];
		struct perr err = {0};
		proposal_argv(k, input, argv, PROPOSAL_MAX_ARGV, &err);
		return;
	}
	struct store_proposal p;
	memset(&p, 0, sizeof p);
	snprintf(p.id, sizeof p.id, "p-0011223344556677");
	p.input = json_dumps(input, JSON_COMPACT);
	struct temporal_call t = {.kind = k, .proposal = &p, .base_url = "http://temporal:7243"};
	char path[1024];
	json_t *body = NULL;
	if (temporal_start_request(&t, path, sizeof path, &body) == 0) {
		char *text = json_dumps(body, JSON_COMPACT);
		if (!text) /* a start request that cannot be sent */
			abort();
		free(text);
	}
	json_decref(body);
	free(p.input);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!cfg.catalogue.nkinds)
		start();
	json_error_t je;
	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return 0;
	}
	struct http_ctx c;
	memset(&c, 0, sizeof c);
	c.cfg = &cfg;
	c.who.role = ROLE_ADMIN;
	snprintf(c.who.user, sizeof c.who.user, "ada");
	json_t *input = json_object_get(doc, "input");
	int status;
	struct perr err = {0};
	struct proposing_job *j = proposing_check_submit(
		&c, json_string_value(json_object_get(doc, "kind")),
		json_string_value(json_object_get(doc, "project")), input ? input : json_null(),
		json_string_value(json_object_get(doc, "idempotency_key")), &status, &err);
	if (j) {
		execute(catalogue_kind(&cfg.catalogue, j->kind), j->input);
		proposing_job_free(j);
	}
	json_decref(doc);
	return 0;
}
