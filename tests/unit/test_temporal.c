/* Temporal executor: the start request as a pure function, checked against
 * the API's field names, and whole runs against a loopback server (evhttp on
 * its own thread, port 0) that plays Temporal's HTTP API: it checks each
 * request's method, path, headers and body, and answers from a script. No
 * error text may name the host, port, URL or credential. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../support/loopback_http.h"
#include "exec/temporal.h"
#include "util/clock.h"

#define BEARER "t0p-secret-api-key"
#define PROPOSAL_ID "p-00112233aabbccdd"
#define WORKFLOW_ID "portal-" PROPOSAL_ID
#define NAMESPACE "payments"
#define START_PATH "/api/v1/namespaces/" NAMESPACE "/workflows/" WORKFLOW_ID
#define RUN_ID "7124ede7-fef5-4e15-8411-baa23d6beefd"

/* --- the fake Temporal */

#define SCRIPT_MAX 8

static struct {
	/* what to answer */
	int start_status;                  /* 200 by default */
	const char *start_body;            /* NULL: {"runId": RUN_ID, "started": true} */
	int describe_status;               /* 200 by default */
	const char *statuses[SCRIPT_MAX];  /* one per Describe; the last repeats */
	int nstatuses;
	const char *continued_run;         /* the current run after CONTINUED_AS_NEW */
	int hang;                          /* never answer the start */

	/* what was asked */
	int starts, describes;
	char start_uri[512], describe_uri[SCRIPT_MAX][512];
	char start_body_seen[4096];
	char auth_start[128], auth_describe[128]; /* "" when absent */
	int auth_start_present, auth_describe_present;
	char content_type[128];
	char last_describe_body[2048];
	char problem[512]; /* the first thing the server did not expect */
} fake;

static struct loopback_http srv;

static void problem(const char *fmt, const char *arg)
{
	if (!fake.problem[0])
		snprintf(fake.problem, sizeof fake.problem, fmt, arg);
}

static void reply(struct evhttp_request *req, int code, const char *body)
{
	loopback_http_reply(req, code, "application/json", body);
}

static void header_copy(struct evhttp_request *req, const char *name, char *dst, size_t cap,
			int *present)
{
	int there = loopback_http_header(req, name, dst, cap);
	if (present)
		*present = there;
}

static void on_start(struct evhttp_request *req)
{
	fake.starts++;
	snprintf(fake.start_uri, sizeof fake.start_uri, "%s", evhttp_request_get_uri(req));
	header_copy(req, "Authorization", fake.auth_start, sizeof fake.auth_start,
		    &fake.auth_start_present);
	header_copy(req, "Content-Type", fake.content_type, sizeof fake.content_type, NULL);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	if (len >= sizeof fake.start_body_seen)
		len = sizeof fake.start_body_seen - 1;
	evbuffer_copyout(in, fake.start_body_seen, len);
	fake.start_body_seen[len] = '\0';
	if (fake.hang)
		return;
	if (fake.start_status && fake.start_status != 200) {
		reply(req, fake.start_status,
		      fake.start_body ? fake.start_body : "{\"code\":14,\"message\":\"unavailable\"}");
		return;
	}
	reply(req, 200, fake.start_body ? fake.start_body
				       : "{\"runId\":\"" RUN_ID "\",\"started\":true,"
					 "\"status\":\"WORKFLOW_EXECUTION_STATUS_RUNNING\"}");
}

static void on_describe(struct evhttp_request *req)
{
	int i = fake.describes++;
	if (i < SCRIPT_MAX)
		snprintf(fake.describe_uri[i], sizeof fake.describe_uri[i], "%s",
			 evhttp_request_get_uri(req));
	header_copy(req, "Authorization", fake.auth_describe, sizeof fake.auth_describe,
		    &fake.auth_describe_present);
	if (fake.describe_status && fake.describe_status != 200) {
		reply(req, fake.describe_status, "{\"code\":13,\"message\":\"internal\"}");
		return;
	}
	const char *st = fake.nstatuses == 0 ? "RUNNING"
			 : fake.statuses[i < fake.nstatuses ? i : fake.nstatuses - 1];
	/* The run asked for; without one, the current run: the continued one. */
	const char *q = strstr(evhttp_request_get_uri(req), "?execution.runId=");
	const char *run = q ? q + strlen("?execution.runId=")
			  : fake.continued_run ? fake.continued_run : RUN_ID;
	snprintf(fake.last_describe_body, sizeof fake.last_describe_body,
		 "{\"executionConfig\":{\"taskQueue\":{\"name\":\"payouts\","
		 "\"kind\":\"TASK_QUEUE_KIND_NORMAL\"}},"
		 "\"workflowExecutionInfo\":{\"execution\":{\"workflowId\":\"" WORKFLOW_ID "\","
		 "\"runId\":\"%s\"},\"type\":{\"name\":\"PayoutWorkflow\"},"
		 "\"status\":\"WORKFLOW_EXECUTION_STATUS_%s\",\"historyLength\":\"5\"},"
		 "\"pendingActivities\":[]}",
		 run, st);
	reply(req, 200, fake.last_describe_body);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	const char *uri = evhttp_request_get_uri(req);
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	size_t plen = strlen(START_PATH);
	if (strncmp(uri, START_PATH, plen) != 0 || (uri[plen] && uri[plen] != '?')) {
		problem("unexpected path %s", uri);
		reply(req, 404, "{\"code\":5,\"message\":\"not found\"}");
	} else if (m == EVHTTP_REQ_POST && !uri[plen]) {
		on_start(req);
	} else if (m == EVHTTP_REQ_GET) {
		on_describe(req);
	} else {
		problem("unexpected method on %s", uri);
		reply(req, 405, "{}");
	}
}

static void server_start(void)
{
	loopback_http_open(&srv);
	evhttp_set_gencb(srv.http, on_request, NULL);
	loopback_http_run(&srv);
}

static void server_stop(void)
{
	loopback_http_close(&srv);
}

/* --- the call */

static struct proposal_kind kind;
static struct store_proposal proposal;
static char base_url[128];
static struct temporal_call call;

static void call_init(void)
{
	memset(&kind, 0, sizeof kind);
	snprintf(kind.name, sizeof kind.name, "payout");
	kind.executor = EXECUTOR_TEMPORAL;
	snprintf(kind.component, sizeof kind.component, "temporal-prod");
	snprintf(kind.temporal_namespace, sizeof kind.temporal_namespace, NAMESPACE);
	snprintf(kind.workflow_type, sizeof kind.workflow_type, "PayoutWorkflow");
	snprintf(kind.task_queue, sizeof kind.task_queue, "payouts");
	kind.timeout_ms = 5000;

	memset(&proposal, 0, sizeof proposal);
	snprintf(proposal.id, sizeof proposal.id, PROPOSAL_ID);
	snprintf(proposal.kind, sizeof proposal.kind, "payout");
	proposal.input = "{\"account\":\"acme\",\"amount\":42,\"dry_run\":false}";
	proposal.attempts = 1;

	snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d/", srv.port);
	call = (struct temporal_call){.kind = &kind, .proposal = &proposal, .base_url = base_url,
				      .bearer = BEARER, .timeout_ms = 3000, .poll_ms = 20};
	memset(&fake, 0, sizeof fake);
}

/* Fails the test when text names where Temporal lives or the credential. */
static void expect_clean(const char *text)
{
	char port[16], rport[16];
	snprintf(port, sizeof port, "%d", srv.port);
	snprintf(rport, sizeof rport, "%d", srv.refused_port);
	const char *bad[] = {"127.0.0.1", "localhost", "http:", "https:", "/api/v1", port, rport,
			     BEARER, "Bearer"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_null(strstr(text, bad[i]), "error \"%s\" names \"%s\"", text, bad[i]);
}

/* Runs the call; checks the return agrees with the outcome, the error is
 * clean and the server saw nothing unexpected. */
static struct temporal_outcome run(void)
{
	struct temporal_outcome out;
	int rc = temporal_run(&call, &out);
	cr_expect_eq(rc == 0, out.ok == 1, "rc %d but ok %d (%s)", rc, out.ok, out.error);
	if (out.retryable)
		cr_expect_eq(rc, PERR_UNAVAILABLE);
	expect_clean(out.error);
	if (!out.ok)
		cr_expect(strncmp(out.error, "Temporal (temporal-prod) ", 25) == 0,
			  "error \"%s\" does not name the component first", out.error);
	cr_expect_eq(fake.problem[0], '\0', "%s", fake.problem);
	return out;
}

static void setup(void)
{
	server_start();
	call_init();
}

static void teardown(void)
{
	server_stop();
}

TestSuite(temporal, .init = setup, .fini = teardown, .timeout = 10);

/* --- the start request (pure) */

/* Every key the start body may carry, with its JSON type, from
 * openapi/openapiv2.json of github.com/temporalio/api at commit f53963d4
 * (2026-07-23, after v1.63.3; a server serves its own version of it at
 * GET /api/v1/swagger.json):
 * definition "WorkflowServiceStartWorkflowExecutionBody" for the body fields,
 * and the path parameters "namespace" and "workflowId" of operation
 * "StartWorkflowExecution2" (POST /api/v1/namespaces/{namespace}/workflows/
 * {workflowId}), which are fields of the same request message (body "*";
 * the path wins). workflowType is "v1WorkflowType" {name: string}, taskQueue
 * "v1TaskQueue" {name: string, ...}; input is "v1Payloads", which the
 * server's payload shorthand also accepts as a plain JSON array. */
static const struct {
	const char *key;
	json_type type;
} spec_fields[] = {
	{"namespace", JSON_STRING},   /* path parameter */
	{"workflowId", JSON_STRING},  /* path parameter */
	{"workflowType", JSON_OBJECT},
	{"taskQueue", JSON_OBJECT},
	{"input", JSON_ARRAY},        /* shorthand for v1Payloads */
	{"identity", JSON_STRING},
	{"requestId", JSON_STRING},
};

/* Fields the spec holds that servers older than it may not know: sending
 * one gets a 400 there. A subset, as examples the test can name. */
static const char *const newer_fields[] = {
	"priority", "versioningOverride", "timeSkippingConfig", "onConflictOptions",
	"eagerWorkerDeploymentOptions", "userMetadata", "links", "completionCallbacks",
};

static json_t *start_body(char *path, size_t cap)
{
	json_t *body = NULL;
	cr_assert_eq(temporal_start_request(&call, path, cap, &body), 0);
	cr_assert(json_is_object(body));
	return body;
}

Test(temporal, start_request_posts_to_the_api_v1_path_of_workflow_portal_id)
{
	char path[256];
	json_t *body = start_body(path, sizeof path);
	cr_expect_str_eq(path, START_PATH);
	json_decref(body);
}

Test(temporal, start_request_sends_only_fields_the_spec_defines)
{
	char path[256];
	json_t *body = start_body(path, sizeof path);
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v) {
		size_t i = 0;
		while (i < sizeof spec_fields / sizeof spec_fields[0] &&
		       strcmp(spec_fields[i].key, key) != 0)
			i++;
		cr_expect_lt(i, sizeof spec_fields / sizeof spec_fields[0],
			     "body sends \"%s\", which the spec does not define", key);
		if (i < sizeof spec_fields / sizeof spec_fields[0])
			cr_expect_eq(json_typeof(v), spec_fields[i].type, "\"%s\" has the wrong type",
				     key);
	}
	for (size_t i = 0; i < sizeof newer_fields / sizeof newer_fields[0]; i++)
		cr_expect_null(json_object_get(body, newer_fields[i]),
			       "body sends \"%s\", unknown to older servers", newer_fields[i]);
	cr_expect_eq(json_object_size(json_object_get(body, "workflowType")), 1);
	cr_expect_eq(json_object_size(json_object_get(body, "taskQueue")), 1);
	json_decref(body);
}

Test(temporal, start_request_carries_the_kind_the_input_and_the_proposal_id)
{
	char path[256];
	json_t *body = start_body(path, sizeof path);
	json_t *want = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}, s:[{s:s, s:i, s:b}], s:s, s:s}",
				 "namespace", NAMESPACE, "workflowId", WORKFLOW_ID,
				 "workflowType", "name", "PayoutWorkflow",
				 "taskQueue", "name", "payouts",
				 "input", "account", "acme", "amount", 42, "dry_run", 0,
				 "requestId", PROPOSAL_ID, "identity", "portal-worker");
	char *got = json_dumps(body, JSON_SORT_KEYS | JSON_COMPACT);
	cr_expect(json_equal(body, want), "body %s", got);
	free(got);
	json_decref(want);
	json_decref(body);
}

Test(temporal, start_request_is_the_same_for_every_attempt)
{
	char p1[256], p2[256];
	json_t *a = start_body(p1, sizeof p1);
	proposal.attempts = 3;
	json_t *b = start_body(p2, sizeof p2);
	cr_expect_str_eq(p1, p2);
	cr_expect(json_equal(a, b), "a retry must send the same requestId and body");
	json_decref(a);
	json_decref(b);
}

Test(temporal, start_request_without_input_sends_one_empty_object)
{
	proposal.input = NULL;
	char path[256];
	json_t *body = start_body(path, sizeof path);
	json_t *in = json_object_get(body, "input");
	cr_expect_eq(json_array_size(in), 1);
	cr_expect(json_is_object(json_array_get(in, 0)));
	cr_expect_eq(json_object_size(json_array_get(in, 0)), 0);
	json_decref(body);
}

Test(temporal, start_request_escapes_the_namespace_in_the_path)
{
	snprintf(kind.temporal_namespace, sizeof kind.temporal_namespace, "team a/b");
	char path[256];
	json_t *body = start_body(path, sizeof path);
	cr_expect_str_eq(path, "/api/v1/namespaces/team%20a%2Fb/workflows/" WORKFLOW_ID);
	cr_expect_str_eq(json_string_value(json_object_get(body, "namespace")), "team a/b");
	json_decref(body);
}

Test(temporal, start_request_refuses_a_kind_without_namespace_type_or_queue)
{
	char path[256];
	json_t *body = (json_t *)1;
	char *fields[] = {kind.temporal_namespace, kind.workflow_type, kind.task_queue};
	for (size_t i = 0; i < 3; i++) {
		call_init();
		fields[i][0] = '\0';
		cr_expect_eq(temporal_start_request(&call, path, sizeof path, &body), PERR_INVALID,
			     "field %zu", i);
		cr_expect_null(body);
	}
}

Test(temporal, start_request_refuses_input_that_is_not_an_object)
{
	const char *inputs[] = {"[1,2]", "42", "{not json", "\"text\""};
	char path[256];
	for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		json_t *body = (json_t *)1;
		proposal.input = (char *)inputs[i];
		cr_expect_eq(temporal_start_request(&call, path, sizeof path, &body), PERR_INVALID,
			     "input %s", inputs[i]);
		cr_expect_null(body);
	}
}

Test(temporal, start_request_says_when_the_path_does_not_fit)
{
	char path[16];
	json_t *body = (json_t *)1;
	cr_expect_eq(temporal_start_request(&call, path, sizeof path, &body), PERR_TOO_LARGE);
	cr_expect_null(body);
}

/* --- runs */

static void expect_start_was_well_formed(void)
{
	cr_expect_eq(fake.starts, 1);
	cr_expect_str_eq(fake.start_uri, START_PATH);
	cr_expect_str_eq(fake.content_type, "application/json");
	json_error_t jerr;
	json_t *seen = json_loads(fake.start_body_seen, 0, &jerr);
	cr_assert(seen, "start body is not JSON: %s", fake.start_body_seen);
	char path[256];
	json_t *want = start_body(path, sizeof path);
	cr_expect(json_equal(seen, want), "start body %s", fake.start_body_seen);
	json_decref(want);
	json_decref(seen);
}

Test(temporal, a_workflow_that_completes_is_ok_with_evidence_of_the_final_describe)
{
	fake.statuses[0] = "RUNNING";
	fake.statuses[1] = "RUNNING";
	fake.statuses[2] = "COMPLETED";
	fake.nstatuses = 3;
	struct temporal_outcome out = run();
	cr_assert_eq(out.ok, 1, "%s", out.error);
	cr_expect_eq(out.retryable, 0);
	cr_expect_str_eq(out.error, "");
	expect_start_was_well_formed();
	cr_expect_eq(fake.describes, 3);
	for (int i = 0; i < 3; i++)
		cr_expect_str_eq(fake.describe_uri[i], START_PATH "?execution.runId=" RUN_ID);

	json_t *ev = out.evidence;
	cr_assert(json_is_object(ev));
	cr_expect_str_eq(json_string_value(json_object_get(ev, "executor")), "temporal");
	cr_expect_str_eq(json_string_value(json_object_get(ev, "workflow_id")), WORKFLOW_ID);
	cr_expect_str_eq(json_string_value(json_object_get(ev, "run_id")), RUN_ID);
	cr_expect_str_eq(json_string_value(json_object_get(ev, "status")),
			 "WORKFLOW_EXECUTION_STATUS_COMPLETED");
	cr_expect_str_eq(json_string_value(json_object_get(ev, "location")),
			 "temporal:" NAMESPACE "/" WORKFLOW_ID "/" RUN_ID);
	cr_expect_eq(json_integer_value(json_object_get(ev, "size")),
		     (json_int_t)strlen(fake.last_describe_body));
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)fake.last_describe_body,
			   strlen(fake.last_describe_body));
	char hex[2 * sizeof h + 1], want[sizeof hex + 8];
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	snprintf(want, sizeof want, "sha256:%s", hex);
	cr_expect_str_eq(json_string_value(json_object_get(ev, "digest")), want);
	cr_expect_eq(json_object_size(ev), 7);
	json_decref(ev);
}

Test(temporal, the_bearer_credential_goes_with_every_request)
{
	fake.statuses[0] = "COMPLETED";
	fake.nstatuses = 1;
	struct temporal_outcome out = run();
	cr_expect_eq(out.ok, 1, "%s", out.error);
	cr_expect_str_eq(fake.auth_start, "Bearer " BEARER);
	cr_expect_str_eq(fake.auth_describe, "Bearer " BEARER);
	json_decref(out.evidence);
}

Test(temporal, without_a_credential_no_authorization_header_is_sent)
{
	call.bearer = NULL;
	fake.statuses[0] = "COMPLETED";
	fake.nstatuses = 1;
	struct temporal_outcome out = run();
	cr_expect_eq(out.ok, 1, "%s", out.error);
	cr_expect_eq(fake.auth_start_present, 0);
	cr_expect_eq(fake.auth_describe_present, 0);
	json_decref(out.evidence);
}

Test(temporal, a_workflow_that_ends_otherwise_is_final_and_names_its_status)
{
	const char *ends[] = {"FAILED", "TERMINATED", "CANCELED", "TIMED_OUT"};
	for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
		call_init();
		fake.statuses[0] = "RUNNING";
		fake.statuses[1] = ends[i];
		fake.nstatuses = 2;
		struct temporal_outcome out = run();
		cr_expect_eq(out.ok, 0, "%s", ends[i]);
		cr_expect_eq(out.retryable, 0, "%s", ends[i]);
		cr_expect(strstr(out.error, ends[i]) && strstr(out.error, WORKFLOW_ID),
			  "error \"%s\" should name %s and the workflow", out.error, ends[i]);
		/* what Temporal said is still kept */
		cr_expect_str_eq(json_string_value(json_object_get(out.evidence, "run_id")), RUN_ID);
		json_decref(out.evidence);
	}
}

Test(temporal, still_running_at_the_timeout_is_retryable)
{
	call.timeout_ms = 300;
	call.poll_ms = 40;
	long long t0 = clock_mono_us();
	struct temporal_outcome out = run();
	long long took_ms = (clock_mono_us() - t0) / 1000;
	cr_expect_eq(out.ok, 0);
	cr_expect_eq(out.retryable, 1);
	cr_expect(strstr(out.error, "still running after 300 ms"), "error \"%s\"", out.error);
	cr_expect_null(out.evidence);
	cr_expect_geq(took_ms, 290);
	cr_expect_lt(took_ms, 1500, "took %lld ms", took_ms);
	cr_expect_geq(fake.describes, 3, "polled %d times", fake.describes);
}

Test(temporal, polling_waits_poll_ms_between_describes)
{
	call.timeout_ms = 450;
	call.poll_ms = 200;
	struct temporal_outcome out = run();
	cr_expect_eq(out.retryable, 1, "%s", out.error);
	/* at 0, 200, 400 and once more at the deadline */
	cr_expect_geq(fake.describes, 3);
	cr_expect_leq(fake.describes, 4);
}

Test(temporal, the_kinds_timeout_applies_when_the_call_sets_none)
{
	call.timeout_ms = 0;
	kind.timeout_ms = 200;
	struct temporal_outcome out = run();
	cr_expect_eq(out.retryable, 1);
	cr_expect(strstr(out.error, "still running after 200 ms"), "error \"%s\"", out.error);
}

Test(temporal, an_unavailable_server_is_retryable)
{
	const int codes[] = {503, 500, 429, 504};
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		call_init();
		fake.start_status = codes[i];
		struct temporal_outcome out = run();
		cr_expect_eq(out.ok, 0);
		cr_expect_eq(out.retryable, 1, "HTTP %d: %s", codes[i], out.error);
		char want[32];
		snprintf(want, sizeof want, "HTTP %d", codes[i]);
		cr_expect(strstr(out.error, want), "error \"%s\"", out.error);
		cr_expect_eq(fake.describes, 0);
	}
}

Test(temporal, a_describe_that_fails_on_the_server_is_retryable)
{
	fake.describe_status = 503;
	struct temporal_outcome out = run();
	cr_expect_eq(out.ok, 0);
	cr_expect_eq(out.retryable, 1, "%s", out.error);
	cr_expect_eq(fake.starts, 1);
}

Test(temporal, a_refused_connection_is_retryable)
{
	snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d", srv.refused_port);
	struct temporal_outcome out = run();
	cr_expect_eq(out.ok, 0);
	cr_expect_eq(out.retryable, 1);
	cr_expect(strstr(out.error, "unreachable"), "error \"%s\"", out.error);
}

Test(temporal, a_server_that_never_answers_is_retryable_after_the_timeout)
{
	fake.hang = 1;
	call.timeout_ms = 300;
	long long t0 = clock_mono_us();
	struct temporal_outcome out = run();
	long long took_ms = (clock_mono_us() - t0) / 1000;
	cr_expect_eq(out.ok, 0);
	cr_expect_eq(out.retryable, 1, "%s", out.error);
	cr_expect_lt(took_ms, 1500, "took %lld ms", took_ms);
}

Test(temporal, a_repeated_start_of_the_same_proposal_describes_the_existing_run)
{
	/* The same requestId again: a 409 whose details name this request. */
	fake.start_status = 409;
	fake.start_body =
		"{\"code\":6,\"message\":\"Workflow execution is already running. WorkflowId: "
		WORKFLOW_ID ", RunId: " RUN_ID ".\",\"details\":[{\"@type\":"
		"\"type.googleapis.com/temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure\","
		"\"startRequestId\":\"" PROPOSAL_ID "\",\"runId\":\"" RUN_ID "\"}]}";
	fake.statuses[0] = "COMPLETED";
	fake.nstatuses = 1;
	struct temporal_outcome out = run();
	cr_expect_eq(out.ok, 1, "%s", out.error);
	cr_expect_str_eq(fake.describe_uri[0], START_PATH "?execution.runId=" RUN_ID);
	json_decref(out.evidence);
}

Test(temporal, a_retried_start_answered_with_the_existing_run_is_that_run)
{
	/* Newer servers answer a retried requestId with 200 and the same run. */
	fake.start_body = "{\"runId\":\"" RUN_ID "\",\"started\":true}";
	fake.statuses[0] = "COMPLETED";
	fake.nstatuses = 1;
	proposal.attempts = 2;
	struct temporal_outcome out = run();
	cr_expect_eq(out.ok, 1, "%s", out.error);
	expect_start_was_well_formed();
	json_decref(out.evidence);
}

Test(temporal, a_workflow_started_by_another_request_is_not_retried)
{
	fake.start_status = 409;
	fake.start_body =
		"{\"code\":6,\"message\":\"Workflow execution is already running.\",\"details\":"
		"[{\"@type\":\"type.googleapis.com/temporal.api.errordetails.v1."
		"WorkflowExecutionAlreadyStartedFailure\",\"startRequestId\":\"someone-else\","
		"\"runId\":\"other-run\"}]}";
	struct temporal_outcome out = run();
	cr_expect_eq(out.ok, 0);
	cr_expect_eq(out.retryable, 0);
	cr_expect(strstr(out.error, "another request"), "error \"%s\"", out.error);
	cr_expect_eq(fake.describes, 0);
}

Test(temporal, a_conflict_without_details_is_not_retried)
{
	fake.start_status = 409;
	fake.start_body = "{\"code\":6,\"message\":\"already\"}";
	struct temporal_outcome out = run();
	cr_expect_eq(out.ok, 0);
	cr_expect_eq(out.retryable, 0);
}

Test(temporal, a_refused_request_or_credential_is_not_retried)
{
	const int codes[] = {400, 401, 403, 404};
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		call_init();
		fake.start_status = codes[i];
		fake.start_body = "{\"code\":3,\"message\":\"no\"}";
		struct temporal_outcome out = run();
		cr_expect_eq(out.ok, 0);
		cr_expect_eq(out.retryable, 0, "HTTP %d: %s", codes[i], out.error);
	}
}

Test(temporal, a_continued_workflow_is_followed_to_its_current_run)
{
	fake.statuses[0] = "CONTINUED_AS_NEW";
	fake.statuses[1] = "RUNNING";
	fake.statuses[2] = "COMPLETED";
	fake.nstatuses = 3;
	fake.continued_run = "run-2";
	struct temporal_outcome out = run();
	cr_expect_eq(out.ok, 1, "%s", out.error);
	cr_expect_str_eq(fake.describe_uri[1], START_PATH);
	cr_expect_str_eq(fake.describe_uri[2], START_PATH "?execution.runId=run-2");
	cr_expect_str_eq(json_string_value(json_object_get(out.evidence, "run_id")), "run-2");
	json_decref(out.evidence);
}

Test(temporal, a_start_answer_without_a_run_id_is_retryable)
{
	fake.start_body = "<html>gateway</html>";
	struct temporal_outcome out = run();
	cr_expect_eq(out.ok, 0);
	cr_expect_eq(out.retryable, 1, "%s", out.error);
}

Test(temporal, a_call_without_an_executor_url_is_refused_without_a_request)
{
	call.base_url = "";
	struct temporal_outcome out = run();
	cr_expect_eq(out.ok, 0);
	cr_expect_eq(out.retryable, 0);
	cr_expect_eq(fake.starts, 0);
}

Test(temporal, no_error_names_the_url_or_the_credential)
{
	/* Every failure above goes through run(), which checks this; here the
	 * URL also carries a path, a user and the credential-like text. */
	snprintf(base_url, sizeof base_url, "http://user:" BEARER "@127.0.0.1:%d/temporal",
		 srv.refused_port);
	struct temporal_outcome out = run();
	cr_expect_eq(out.retryable, 1);
	cr_expect_null(strstr(out.error, "user"), "error \"%s\"", out.error);
	cr_expect_null(strstr(out.error, "/temporal"), "error \"%s\"", out.error);
}

Test(temporal, a_paused_workflow_is_waited_for_like_a_running_one)
{
	fake.statuses[0] = "PAUSED";
	fake.statuses[1] = "COMPLETED";
	fake.nstatuses = 2;
	struct temporal_outcome out = run();
	cr_expect_eq(out.ok, 1, "%s", out.error);
	cr_expect_eq(fake.describes, 2);
	json_decref(out.evidence);
}

Test(temporal, an_unknown_status_is_retryable_not_a_failure)
{
	fake.statuses[0] = "UNSPECIFIED";
	fake.nstatuses = 1;
	struct temporal_outcome out = run();
	cr_expect_eq(out.ok, 0);
	cr_expect_eq(out.retryable, 1, "%s", out.error);
	cr_expect_null(out.evidence);
}

Test(temporal, a_workflow_that_describe_cannot_find_is_not_retried)
{
	fake.describe_status = 404;
	struct temporal_outcome out = run();
	cr_expect_eq(out.ok, 0);
	cr_expect_eq(out.retryable, 0, "%s", out.error);
}

/* The start body against Temporal's own OpenAPI document, when it is at
 * hand (env PORTAL_TEMPORAL_SPEC, or ../shared/specs/temporal/openapiv2.json
 * from the repository root): every key is a property of
 * WorkflowServiceStartWorkflowExecutionBody or a path parameter of the
 * start route, with the type the spec gives; nested objects likewise. */
static json_t *spec_definition(json_t *spec, json_t *prop)
{
	const char *ref = json_string_value(json_object_get(prop, "$ref"));
	if (!ref || strncmp(ref, "#/definitions/", 14) != 0)
		return NULL;
	return json_object_get(json_object_get(spec, "definitions"), ref + 14);
}

static void check_against(json_t *spec, json_t *def, json_t *value, const char *where)
{
	json_t *props = json_object_get(def, "properties");
	const char *key;
	json_t *v;
	json_object_foreach(value, key, v) {
		json_t *prop = json_object_get(props, key);
		cr_expect_not_null(prop, "%s.%s is not in Temporal's spec", where, key);
		if (!prop)
			continue;
		json_t *sub = spec_definition(spec, prop);
		const char *type = json_string_value(json_object_get(prop, "type"));
		if (sub && json_is_object(v)) {
			char deeper[128];
			snprintf(deeper, sizeof deeper, "%s.%s", where, key);
			check_against(spec, sub, v, deeper);
		} else if (sub) {
			/* v1Payloads written as its JSON shorthand, an array of values */
			cr_expect(json_is_array(v) && !strcmp(key, "input"), "%s.%s should be an object",
				  where, key);
		} else if (type && !strcmp(type, "string")) {
			cr_expect(json_is_string(v), "%s.%s should be a string", where, key);
		}
	}
}

Test(temporal, start_request_matches_temporals_openapi_document)
{
	const char *path = getenv("PORTAL_TEMPORAL_SPEC");
	if (!path)
		path = "../shared/specs/temporal/openapiv2.json";
	json_t *spec = json_load_file(path, 0, NULL);
	if (!spec)
		cr_skip_test("Temporal's OpenAPI document is not at %s", path);
	json_t *paths = json_object_get(spec, "paths");
	json_t *route = json_object_get(paths, "/api/v1/namespaces/{namespace}/workflows/{workflowId}");
	cr_assert_not_null(json_object_get(route, "post"), "the start route is in the spec");
	json_t *def = json_object_get(json_object_get(spec, "definitions"),
				      "WorkflowServiceStartWorkflowExecutionBody");
	cr_assert_not_null(def);
	char p[256];
	json_t *body = start_body(p, sizeof p);
	/* the path parameters travel in the path, and the body may repeat them */
	json_t *rest = json_deep_copy(body);
	json_object_del(rest, "namespace");
	json_object_del(rest, "workflowId");
	check_against(spec, def, rest, "body");
	json_decref(rest);
	json_decref(body);
	json_decref(spec);
}

static atomic_int stop_flag;

static void *raise_stop(void *arg)
{
	(void)arg;
	struct timespec ts = {0, 200 * 1000000L};
	nanosleep(&ts, NULL);
	atomic_store(&stop_flag, 1);
	return NULL;
}

Test(temporal, a_stopping_worker_stops_waiting_and_gives_the_attempt_back)
{
	call.timeout_ms = 30000; /* the workflow would be waited for this long */
	call.poll_ms = 5000;
	atomic_store(&stop_flag, 0);
	call.cancel = &stop_flag;
	pthread_t th;
	pthread_create(&th, NULL, raise_stop, NULL);
	long long t0 = clock_mono_us();
	struct temporal_outcome out = run();
	long long took_ms = (clock_mono_us() - t0) / 1000;
	pthread_join(th, NULL);
	cr_expect_eq(out.ok, 0);
	cr_expect_eq(out.cancelled, 1);
	cr_expect_eq(out.retryable, 1);
	cr_expect(strstr(out.error, "shutting down"), "error \"%s\"", out.error);
	cr_expect_lt(took_ms, 2000, "stopped after %lld ms, not at the timeout", took_ms);
	json_decref(out.evidence);
}
