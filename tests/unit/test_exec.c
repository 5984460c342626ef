/* Executors: the exec backend runs real programs (never through a shell, in a
 * clean environment, stopped at its timeout, output capped and digested);
 * the http backend talks to a real HTTP server the test starts on loopback
 * (headers, body, how each answer is classified, and errors that never carry
 * the executor's URL or the credential); the dispatcher refuses what this
 * configuration does not let it run. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../support/loopback_http.h"
#include "exec/executor.h"
#include "util/clock.h"

#define SECRET "s3cret-executor-token"

/* --- helpers */

static const char *output_of(const struct exec_result *r)
{
	cr_assert(r->evidence, "no evidence");
	const char *s = json_string_value(json_object_get(r->evidence, "output"));
	cr_assert(s, "evidence without output");
	return s;
}

static long long int_of(const struct exec_result *r, const char *key)
{
	json_t *v = json_object_get(r->evidence, key);
	cr_assert(json_is_integer(v), "evidence without integer %s", key);
	return json_integer_value(v);
}

static void sha256_text(const void *data, size_t len, char out[7 + 64 + 1])
{
	unsigned char h[32];
	crypto_hash_sha256(h, data, len);
	memcpy(out, "sha256:", 7);
	sodium_bin2hex(out + 7, 65, h, sizeof h);
}

static int run(char *const argv[], int timeout_ms, struct exec_result *r)
{
	return exec_argv(argv, "p-00000000000000ab", timeout_ms, 300, NULL, r);
}

/* --- exec */

Test(exec, an_argument_that_looks_like_shell_arrives_literally)
{
	char mark[64], arg[256];
	snprintf(mark, sizeof mark, "/tmp/portal-exec-test-%d", (int)getpid());
	unlink(mark);
	snprintf(arg, sizeof arg, "$(touch %s); `touch %s` | x > y", mark, mark);
	char *argv[] = {"/usr/bin/printf", "%s", arg, NULL};
	struct exec_result r;
	cr_assert_eq(run(argv, 5000, &r), 0, "%s", r.error);
	cr_assert(r.ok);
	cr_assert_str_eq(output_of(&r), arg);
	cr_assert_neq(access(mark, F_OK), 0, "a shell ran the argument");
	exec_result_clear(&r);
}

Test(exec, the_program_sees_a_clean_environment)
{
	setenv("PORTAL_TEST_LEAK", "should-not-pass", 1);
	char *argv[] = {"/usr/bin/env", NULL};
	struct exec_result r;
	cr_assert_eq(run(argv, 5000, &r), 0, "%s", r.error);
	cr_assert_str_eq(output_of(&r), "PATH=/usr/bin:/bin\nLANG=C.UTF-8\n"
					"PORTAL_PROPOSAL_ID=p-00000000000000ab\n");
	exec_result_clear(&r);
}

Test(exec, stdin_is_empty)
{
	char *argv[] = {"/bin/cat", NULL};
	struct exec_result r;
	cr_assert_eq(run(argv, 2000, &r), 0, "%s", r.error);
	cr_assert_str_eq(output_of(&r), "");
	cr_assert_eq(int_of(&r, "size"), 0);
	exec_result_clear(&r);
}

Test(exec, stdout_and_stderr_are_captured_together)
{
	char *argv[] = {"/bin/sh", "-c", "echo out; echo err >&2", NULL};
	struct exec_result r;
	cr_assert_eq(run(argv, 5000, &r), 0, "%s", r.error);
	cr_assert_str_eq(output_of(&r), "out\nerr\n");
	exec_result_clear(&r);
}

Test(exec, the_digest_is_the_sha256_of_the_output)
{
	char *argv[] = {"/usr/bin/printf", "hello, evidence", NULL};
	struct exec_result r;
	cr_assert_eq(run(argv, 5000, &r), 0, "%s", r.error);
	char want[72];
	sha256_text("hello, evidence", 15, want);
	cr_assert_str_eq(json_string_value(json_object_get(r.evidence, "digest")), want);
	cr_assert_eq(int_of(&r, "size"), 15);
	cr_assert_eq(int_of(&r, "exit_status"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(r.evidence, "location")), "inline");
	cr_assert_str_eq(json_string_value(json_object_get(r.evidence, "executor")), "exec");
	cr_assert(json_is_false(json_object_get(r.evidence, "truncated")));
	exec_result_clear(&r);
}

Test(exec, output_past_the_cap_is_read_and_dropped)
{
	char *argv[] = {"/usr/bin/head", "-c", "3000000", "/dev/zero", NULL};
	struct exec_result r;
	cr_assert_eq(run(argv, 10000, &r), 0, "%s", r.error);
	cr_assert(json_is_true(json_object_get(r.evidence, "truncated")));
	cr_assert_eq(int_of(&r, "size"), EXEC_OUTPUT_MAX);
	cr_assert_eq(int_of(&r, "output_bytes"), 3000000);
	cr_assert_eq(strlen(output_of(&r)), 0, "NUL bytes end the text early");
	/* The digest covers the kept bytes. */
	unsigned char *zeros = calloc(1, EXEC_OUTPUT_MAX);
	char want[72];
	sha256_text(zeros, EXEC_OUTPUT_MAX, want);
	free(zeros);
	cr_assert_str_eq(json_string_value(json_object_get(r.evidence, "digest")), want);
	exec_result_clear(&r);
}

Test(exec, the_output_text_is_the_first_4_kib)
{
	char *argv[] = {"/bin/sh", "-c", "yes abc | head -c 10000", NULL};
	struct exec_result r;
	cr_assert_eq(run(argv, 5000, &r), 0, "%s", r.error);
	cr_assert_eq(strlen(output_of(&r)), EXEC_EVIDENCE_TEXT_MAX);
	cr_assert_eq(int_of(&r, "size"), 10000);
	exec_result_clear(&r);
}

Test(exec, bytes_that_are_not_utf8_become_replacement_characters)
{
	char *argv[] = {"/usr/bin/printf", "a\\377b\\303", NULL};
	struct exec_result r;
	cr_assert_eq(run(argv, 5000, &r), 0, "%s", r.error);
	cr_assert_str_eq(output_of(&r), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
	cr_assert_eq(int_of(&r, "size"), 4);
	exec_result_clear(&r);
}

Test(exec, a_timeout_stops_the_program_and_is_worth_a_retry)
{
	char *argv[] = {"/bin/sleep", "10", NULL};
	struct exec_result r;
	long long t0 = clock_mono_us();
	cr_assert_eq(run(argv, 200, &r), -1);
	long long ms = (clock_mono_us() - t0) / 1000;
	cr_assert(!r.ok && r.retryable);
	cr_assert(strstr(r.error, "did not finish within 200 ms"), "%s", r.error);
	cr_assert_lt(ms, 2000, "took %lld ms", ms);
	cr_assert_eq(int_of(&r, "signal"), 15);
	exec_result_clear(&r);
}

Test(exec, a_program_that_ignores_sigterm_is_killed_after_the_grace)
{
	char *argv[] = {"/bin/sh", "-c", "trap '' TERM; echo ready; sleep 10 & wait", NULL};
	struct exec_result r;
	long long t0 = clock_mono_us();
	cr_assert_eq(exec_argv(argv, "p-1", 200, 300, NULL, &r), -1);
	long long ms = (clock_mono_us() - t0) / 1000;
	cr_assert(!r.ok && r.retryable);
	cr_assert_eq(int_of(&r, "signal"), 9);
	cr_assert_geq(ms, 450, "SIGKILL came before the grace: %lld ms", ms);
	cr_assert_lt(ms, 3000, "took %lld ms", ms);
	cr_assert_str_eq(output_of(&r), "ready\n");
	exec_result_clear(&r);
}

Test(exec, a_background_child_holding_the_output_does_not_outlive_the_timeout)
{
	char *argv[] = {"/bin/sh", "-c", "sleep 10 & echo started", NULL};
	struct exec_result r;
	long long t0 = clock_mono_us();
	cr_assert_eq(run(argv, 300, &r), -1);
	cr_assert_lt((clock_mono_us() - t0) / 1000, 2000);
	cr_assert(r.retryable);
	cr_assert_str_eq(output_of(&r), "started\n");
	exec_result_clear(&r);
}

Test(exec, a_non_zero_exit_is_a_retryable_failure_with_its_status)
{
	char *argv[] = {"/bin/sh", "-c", "echo nope; exit 3", NULL};
	struct exec_result r;
	cr_assert_eq(run(argv, 5000, &r), -1);
	cr_assert(!r.ok && r.retryable);
	cr_assert_str_eq(r.error, "the command exited with status 3");
	cr_assert_eq(int_of(&r, "exit_status"), 3);
	cr_assert_str_eq(output_of(&r), "nope\n");
	exec_result_clear(&r);
}

Test(exec, a_missing_program_is_not_retried)
{
	char *argv[] = {"/nonexistent/portal-tool", NULL};
	struct exec_result r;
	cr_assert_eq(run(argv, 5000, &r), -1);
	cr_assert(!r.ok && !r.retryable);
	cr_assert(strstr(r.error, "cannot run the command: No such file"), "%s", r.error);
	exec_result_clear(&r);
}

Test(exec, a_relative_program_is_refused)
{
	char *argv[] = {"printf", "x", NULL};
	struct exec_result r;
	cr_assert_eq(run(argv, 5000, &r), -1);
	cr_assert(!r.retryable);
	cr_assert_null(r.evidence);
	exec_result_clear(&r);
}

Test(exec, cancelling_stops_the_program_and_says_so)
{
	atomic_int cancel = 0;
	char *argv[] = {"/bin/sleep", "10", NULL};
	struct exec_result r;
	atomic_store(&cancel, 1);
	long long t0 = clock_mono_us();
	cr_assert_eq(exec_argv(argv, "p-1", 5000, 300, &cancel, &r), -1);
	cr_assert_lt((clock_mono_us() - t0) / 1000, 1500);
	cr_assert(r.cancelled && r.retryable);
	exec_result_clear(&r);
}

/* --- the exec kind through the dispatcher */

static struct proposal_kind exec_kind(const char *a0, const char *a1)
{
	struct proposal_kind k;
	memset(&k, 0, sizeof k);
	snprintf(k.name, sizeof k.name, "echo-it");
	k.executor = EXECUTOR_EXEC;
	snprintf(k.argv[0], sizeof k.argv[0], "%s", a0);
	snprintf(k.argv[1], sizeof k.argv[1], "%s", a1);
	k.nargv = 2;
	snprintf(k.fields[0].name, sizeof k.fields[0].name, "message");
	k.fields[0].type = PFIELD_STRING;
	k.nfields = 1;
	k.timeout_ms = 5000;
	k.max_attempts = 3;
	return k;
}

Test(exec, a_kind_fills_its_argv_from_the_input)
{
	struct proposal_kind k = exec_kind("/usr/bin/printf", "[{message}]");
	struct store_proposal p = {.id = "p-0000000000000001", .input = "{\"message\":\"$(id) ok\"}"};
	struct exec_job job = {.kind = &k, .proposal = &p};
	struct exec_result r;
	cr_assert_eq(executor_run(&job, &r), 0, "%s", r.error);
	cr_assert_str_eq(output_of(&r), "[$(id) ok]");
	exec_result_clear(&r);
}

Test(exec, input_that_is_not_json_is_not_retried)
{
	struct proposal_kind k = exec_kind("/usr/bin/printf", "{message}");
	struct store_proposal p = {.id = "p-0000000000000001", .input = "{not json"};
	struct exec_job job = {.kind = &k, .proposal = &p};
	struct exec_result r;
	cr_assert_eq(executor_run(&job, &r), -1);
	cr_assert(!r.retryable);
	exec_result_clear(&r);
}

Test(exec, a_temporal_kind_without_its_component_is_refused_without_naming_a_url)
{
	struct proposal_kind k = exec_kind("/bin/true", "");
	k.executor = EXECUTOR_TEMPORAL;
	snprintf(k.component, sizeof k.component, "temporal");
	struct store_proposal p = {.id = "p-0000000000000001", .input = "{}"};
	struct exec_job job = {.kind = &k, .proposal = &p};
	struct exec_result r;
	cr_assert_eq(executor_run(&job, &r), -1);
	cr_assert(!r.retryable);
	cr_assert(strstr(r.error, "Temporal (temporal) is not configured"), "%s", r.error);
	exec_result_clear(&r);
}

/* --- the executor table: every row of executor_defs (core) has a backend
 * here under the same enum, of the same name */

Test(exec, every_executor_has_a_backend_of_the_same_name)
{
	for (int e = 0; e < EXECUTOR_KIND_COUNT; e++) {
		const struct executor_ops *ops = executor_backend((enum executor_kind)e);
		const char *name = executor_defs[e].name;
		cr_assert(ops, "the executor %s has no backend in exec/executor.c", name);
		cr_expect_str_eq(ops->name, name);
		cr_expect(ops->run, "the backend of %s cannot run", name);
		for (int o = 0; o < e; o++)
			cr_expect_neq(executor_backend((enum executor_kind)o), ops,
				      "%s and %s share a backend", executor_defs[o].name, name);
	}
	cr_expect_null(executor_backend(EXECUTOR_KIND_COUNT));
}

Test(exec, an_executor_this_build_does_not_have_is_refused_and_not_retried)
{
	struct proposal_kind k = exec_kind("/bin/true", "");
	k.executor = EXECUTOR_KIND_COUNT;
	struct store_proposal p = {.id = "p-0000000000000001", .input = "{}"};
	struct exec_job job = {.kind = &k, .proposal = &p};
	struct exec_result r;
	cr_assert_eq(executor_run(&job, &r), -1);
	cr_assert(!r.retryable);
	cr_assert(strstr(r.error, "not available in this build"), "%s", r.error);
	exec_result_clear(&r);
}

/* --- http: the loopback server */

static struct loopback_http srv;
/* What the last request to /record carried. */
static char seen_auth[256], seen_request_id[64], seen_idem[64], seen_type[64], seen_body[1024];
static char seen_method[8];

static void reply(struct evhttp_request *req, int code, const char *body)
{
	loopback_http_reply(req, code, NULL, body);
}

static void on_record(struct evhttp_request *req, void *arg)
{
	loopback_http_header(req, "Authorization", seen_auth, sizeof seen_auth);
	loopback_http_header(req, "X-Request-Id", seen_request_id, sizeof seen_request_id);
	loopback_http_header(req, "Idempotency-Key", seen_idem, sizeof seen_idem);
	loopback_http_header(req, "Content-Type", seen_type, sizeof seen_type);
	snprintf(seen_method, sizeof seen_method, "%s",
		 evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "other");
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	if (n >= sizeof seen_body)
		n = sizeof seen_body - 1;
	evbuffer_copyout(in, seen_body, n);
	seen_body[n] = 0;
	reply(req, 202, "{\"accepted\":true}");
}

static void on_status(struct evhttp_request *req, void *arg)
{
	reply(req, (int)(intptr_t)arg, "{\"error\":\"no\"}");
}

static void on_hang(struct evhttp_request *req, void *arg)
{
	/* never answers */
}

static void server_start(void)
{
	loopback_http_open(&srv);
	evhttp_set_cb(srv.http, "/record", on_record, NULL);
	evhttp_set_cb(srv.http, "/hang", on_hang, NULL);
	static const int codes[] = {200, 204, 301, 400, 401, 404, 408, 409, 429, 500, 502, 503};
	static char paths[sizeof codes / sizeof codes[0]][16];
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		snprintf(paths[i], sizeof paths[i], "/%d", codes[i]);
		evhttp_set_cb(srv.http, paths[i], on_status, (void *)(intptr_t)codes[i]);
	}
	loopback_http_run(&srv);
}

static void server_stop(void)
{
	loopback_http_close(&srv);
}

TestSuite(http, .init = server_start, .fini = server_stop, .timeout = 10);

/* A catalogue with one owned component "runner" whose executor_url is path
 * on the loopback server (or on the refused port). */
static struct component_contract comp;
static struct catalogue cat;
static struct proposal_kind kind;
static struct store_proposal prop;

static void setup_http(const char *path, int port)
{
	memset(&comp, 0, sizeof comp);
	snprintf(comp.name, sizeof comp.name, "runner");
	comp.ownership = OWNERSHIP_OWNED;
	snprintf(comp.executor_url.s, sizeof comp.executor_url.s, "http://127.0.0.1:%d%s",
		 port ? port : srv.port, path);
	memset(&cat, 0, sizeof cat);
	cat.components = &comp;
	cat.ncomponents = 1;
	memset(&kind, 0, sizeof kind);
	snprintf(kind.name, sizeof kind.name, "deploy");
	kind.executor = EXECUTOR_HTTP;
	snprintf(kind.component, sizeof kind.component, "runner");
	kind.timeout_ms = 2000;
	memset(&prop, 0, sizeof prop);
	snprintf(prop.id, sizeof prop.id, "p-00000000000000c1");
	prop.input = "{\"service\":\"api\",\"replicas\":3}";
}

/* No error text may carry the executor URL, its host or port, or the secret. */
static void error_must_be_clean(const struct exec_result *r)
{
	char port[16], rport[16];
	snprintf(port, sizeof port, "%d", srv.port);
	snprintf(rport, sizeof rport, "%d", srv.refused_port);
	const char *bad[] = {"127.0.0.1", "localhost", "http:", "https:", port, rport, SECRET,
			     "/record", "/hang"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_null(strstr(r->error, bad[i]), "error \"%s\" contains \"%s\"", r->error,
			       bad[i]);
	cr_assert(strstr(r->error, "the executor of runner"), "error \"%s\" names no component",
		  r->error);
}

static int run_http(const char *secret, struct exec_result *r)
{
	struct exec_job job = {.kind = &kind, .proposal = &prop, .cat = &cat,
			       .secret_value = secret};
	return executor_run(&job, r);
}

Test(http, posts_the_proposal_with_its_id_as_request_id_and_idempotency_key)
{
	setup_http("/record", 0);
	struct exec_result r;
	cr_assert_eq(run_http(SECRET, &r), 0, "%s", r.error);
	cr_assert(r.ok);
	cr_assert_str_eq(seen_method, "POST");
	cr_assert_str_eq(seen_auth, "Bearer " SECRET);
	cr_assert_str_eq(seen_request_id, "p-00000000000000c1");
	cr_assert_str_eq(seen_idem, "p-00000000000000c1");
	cr_assert_str_eq(seen_type, "application/json");
	json_error_t jerr;
	json_t *body = json_loads(seen_body, 0, &jerr);
	cr_assert(body, "body is not JSON: %s", seen_body);
	cr_assert_str_eq(json_string_value(json_object_get(body, "proposal")), "p-00000000000000c1");
	cr_assert_str_eq(json_string_value(json_object_get(body, "kind")), "deploy");
	json_t *input = json_object_get(body, "input");
	cr_assert_str_eq(json_string_value(json_object_get(input, "service")), "api");
	cr_assert_eq(json_integer_value(json_object_get(input, "replicas")), 3);
	json_decref(body);
	exec_result_clear(&r);
}

Test(http, a_2xx_is_done_with_the_digest_of_the_answer)
{
	setup_http("/record", 0);
	struct exec_result r;
	cr_assert_eq(run_http(NULL, &r), 0, "%s", r.error);
	const char *answer = "{\"accepted\":true}";
	char want[72];
	sha256_text(answer, strlen(answer), want);
	cr_assert_str_eq(json_string_value(json_object_get(r.evidence, "digest")), want);
	cr_assert_eq(int_of(&r, "status"), 202);
	cr_assert_eq(int_of(&r, "size"), (long long)strlen(answer));
	cr_assert_str_eq(output_of(&r), answer);
	cr_assert_str_eq(json_string_value(json_object_get(r.evidence, "executor")), "http");
	exec_result_clear(&r);
}

Test(http, no_secret_sends_no_authorization)
{
	setup_http("/record", 0);
	struct exec_result r;
	cr_assert_eq(run_http(NULL, &r), 0, "%s", r.error);
	cr_assert_str_eq(seen_auth, "");
	exec_result_clear(&r);
}

Test(http, each_status_is_classified)
{
	static const struct {
		const char *path;
		int ok, retryable;
	} cases[] = {
		{"/200", 1, 0}, {"/204", 1, 0}, {"/301", 0, 0}, {"/400", 0, 0},
		{"/401", 0, 0}, {"/404", 0, 0}, {"/409", 0, 0}, {"/408", 0, 1},
		{"/429", 0, 1}, {"/500", 0, 1}, {"/502", 0, 1}, {"/503", 0, 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		setup_http(cases[i].path, 0);
		struct exec_result r;
		int rc = run_http(SECRET, &r);
		cr_assert_eq(r.ok, cases[i].ok, "%s: ok %d", cases[i].path, r.ok);
		cr_assert_eq(rc, cases[i].ok ? 0 : -1, "%s", cases[i].path);
		if (!r.ok) {
			cr_assert_eq(r.retryable, cases[i].retryable, "%s: retryable %d",
				     cases[i].path, r.retryable);
			error_must_be_clean(&r);
			char code[8];
			snprintf(code, sizeof code, "%s", cases[i].path + 1);
			cr_assert(strstr(r.error, code), "%s: %s", cases[i].path, r.error);
		}
		cr_assert_eq(int_of(&r, "status"), atoi(cases[i].path + 1));
		exec_result_clear(&r);
	}
}

Test(http, a_refused_connection_is_retryable_and_names_no_address)
{
	setup_http("/record", srv.refused_port);
	struct exec_result r;
	cr_assert_eq(run_http(SECRET, &r), -1);
	cr_assert(r.retryable);
	error_must_be_clean(&r);
	exec_result_clear(&r);
}

Test(http, no_answer_within_the_timeout_is_retryable)
{
	setup_http("/hang", 0);
	kind.timeout_ms = 300;
	struct exec_result r;
	long long t0 = clock_mono_us();
	cr_assert_eq(run_http(SECRET, &r), -1);
	cr_assert_lt((clock_mono_us() - t0) / 1000, 2000);
	cr_assert(r.retryable);
	cr_assert(strstr(r.error, "did not answer within 300 ms"), "%s", r.error);
	error_must_be_clean(&r);
	exec_result_clear(&r);
}

Test(http, cancelling_ends_the_request)
{
	setup_http("/hang", 0);
	kind.timeout_ms = 5000;
	atomic_int cancel = 1;
	struct exec_job job = {.kind = &kind, .proposal = &prop, .cat = &cat, .cancel = &cancel};
	struct exec_result r;
	long long t0 = clock_mono_us();
	cr_assert_eq(executor_run(&job, &r), -1);
	cr_assert_lt((clock_mono_us() - t0) / 1000, 2000);
	cr_assert(r.cancelled && r.retryable);
	error_must_be_clean(&r);
	exec_result_clear(&r);
}

Test(http, a_component_without_an_executor_url_is_not_retried)
{
	setup_http("/record", 0);
	comp.executor_url.s[0] = 0;
	struct exec_result r;
	cr_assert_eq(run_http(SECRET, &r), -1);
	cr_assert(!r.retryable);
	error_must_be_clean(&r);
	exec_result_clear(&r);
}

Test(http, an_endpoint_component_is_not_an_executor)
{
	setup_http("/record", 0);
	comp.ownership = OWNERSHIP_ENDPOINT;
	struct exec_result r;
	cr_assert_eq(run_http(SECRET, &r), -1);
	cr_assert(!r.retryable);
	cr_assert_str_eq(seen_request_id, "", "the endpoint was called");
	exec_result_clear(&r);
}
