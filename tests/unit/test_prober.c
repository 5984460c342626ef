/* Prober: each state against a real HTTP server that the test starts on
 * loopback (an evhttp server on its own thread, port 0), reports only on
 * change, backoff while down, and details that never carry a host, a port or
 * a credential. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../support/loopback_http.h"
#include "adapters/prober.h"
#include "util/clock.h"

#define BEARER_TOKEN "s3cret-bearer-token"
#define BASIC_CRED "alice:hunter2"
#define BASIC_HEADER "Basic YWxpY2U6aHVudGVyMg==" /* base64 of BASIC_CRED */

/* --- the loopback server */

static struct loopback_http srv;
static atomic_int flip_status = 200;
static atomic_int hits_500;
static atomic_int hits_ok;

static void reply(struct evhttp_request *req, int code, const char *body)
{
	loopback_http_reply(req, code, body ? "application/json" : NULL, body);
}

static void on_ok(struct evhttp_request *req, void *arg)
{
	atomic_fetch_add(&hits_ok, 1);
	reply(req, 200, "{\"value\":{\"ready\":true,\"message\":\"ready\"}}");
}

static void on_notready(struct evhttp_request *req, void *arg)
{
	reply(req, 200, "{\"value\":{\"ready\":false}}");
}

static void on_text(struct evhttp_request *req, void *arg)
{
	reply(req, 200, "OK");
}

static void on_nocontent(struct evhttp_request *req, void *arg)
{
	reply(req, 204, NULL);
}

static void slow_done(evutil_socket_t fd, short what, void *arg)
{
	reply(arg, 200, "{\"value\":{\"ready\":true}}");
}

static void on_slow(struct evhttp_request *req, void *arg)
{
	struct timeval tv = {0, 300 * 1000};
	event_base_once(srv.base, -1, EV_TIMEOUT, slow_done, req, &tv);
}

static void on_hang(struct evhttp_request *req, void *arg)
{
	/* never answers */
}

static void on_500(struct evhttp_request *req, void *arg)
{
	atomic_fetch_add(&hits_500, 1);
	reply(req, 500, "{\"error\":\"boom\"}");
}

static void on_redirect(struct evhttp_request *req, void *arg)
{
	char loc[64];
	snprintf(loc, sizeof loc, "http://127.0.0.1:%d/ok", srv.port);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Location", loc);
	reply(req, 302, NULL);
}

static void on_basic(struct evhttp_request *req, void *arg)
{
	const char *a = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (a && strcmp(a, BASIC_HEADER) == 0)
		reply(req, 200, "{}");
	else
		reply(req, 401, NULL);
}

static void on_bearer(struct evhttp_request *req, void *arg)
{
	const char *a = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (!a)
		reply(req, 401, NULL);
	else if (strcmp(a, "Bearer " BEARER_TOKEN) == 0)
		reply(req, 200, "{}");
	else
		reply(req, 403, NULL);
}

static void on_flip(struct evhttp_request *req, void *arg)
{
	reply(req, atomic_load(&flip_status), "{}");
}

static void on_agent(struct evhttp_request *req, void *arg)
{
	const char *ua = evhttp_find_header(evhttp_request_get_input_headers(req), "User-Agent");
	reply(req, ua && strncmp(ua, "portal-prober/", 14) == 0 ? 200 : 400, "{}");
}

static void server_start(void)
{
	loopback_http_open(&srv);
	evhttp_set_cb(srv.http, "/ok", on_ok, NULL);
	evhttp_set_cb(srv.http, "/notready", on_notready, NULL);
	evhttp_set_cb(srv.http, "/text", on_text, NULL);
	evhttp_set_cb(srv.http, "/nocontent", on_nocontent, NULL);
	evhttp_set_cb(srv.http, "/slow", on_slow, NULL);
	evhttp_set_cb(srv.http, "/hang", on_hang, NULL);
	evhttp_set_cb(srv.http, "/500", on_500, NULL);
	evhttp_set_cb(srv.http, "/redirect", on_redirect, NULL);
	evhttp_set_cb(srv.http, "/basic", on_basic, NULL);
	evhttp_set_cb(srv.http, "/bearer", on_bearer, NULL);
	evhttp_set_cb(srv.http, "/flip", on_flip, NULL);
	evhttp_set_cb(srv.http, "/agent", on_agent, NULL);
	loopback_http_run(&srv);
}

static void server_stop(void)
{
	loopback_http_close(&srv);
}

/* --- reports */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct probe_result reports[256];
static int nreports;
static char leak[512]; /* the first detail that named a host, port or credential */

static void detail_must_be_clean(const struct probe_result *r)
{
	char port[16], rport[16];
	snprintf(port, sizeof port, "%d", srv.port);
	snprintf(rport, sizeof rport, "%d", srv.refused_port);
	const char *bad[] = {"127.0.0.1", "localhost", "http:", "https:", port, rport,
			     BEARER_TOKEN, BASIC_CRED, "hunter2", "alice", "YWxpY2U"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (strstr(r->detail, bad[i]) && !leak[0])
			snprintf(leak, sizeof leak, "%s: detail \"%s\" contains \"%s\"", r->component,
				 r->detail, bad[i]);
}

static void on_report(void *arg, const struct probe_result *r)
{
	pthread_mutex_lock(&mu);
	detail_must_be_clean(r);
	if (nreports < (int)(sizeof reports / sizeof reports[0]))
		reports[nreports++] = *r;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static int count_for(const char *name)
{
	int k = 0;
	for (int i = 0; i < nreports; i++)
		if (strcmp(reports[i].component, name) == 0)
			k++;
	return k;
}

/* Waits up to ms for the nth (1-based) report of name; returns a copy. */
static struct probe_result wait_report(const char *name, int nth, int ms)
{
	long long deadline = clock_mono_us() + (long long)ms * 1000;
	struct probe_result out = {0};
	pthread_mutex_lock(&mu);
	for (;;) {
		int k = 0;
		for (int i = 0; i < nreports; i++)
			if (strcmp(reports[i].component, name) == 0 && ++k == nth) {
				out = reports[i];
				pthread_mutex_unlock(&mu);
				return out;
			}
		long long now = clock_mono_us();
		if (now >= deadline)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		long long left = deadline - now;
		ts.tv_sec += left / 1000000;
		ts.tv_nsec += (left % 1000000) * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&cv, &mu, &ts);
	}
	pthread_mutex_unlock(&mu);
	cr_assert_fail("no report #%d for %s within %d ms", nth, name, ms);
	return out;
}

static int reports_of(const char *name)
{
	pthread_mutex_lock(&mu);
	int k = count_for(name);
	pthread_mutex_unlock(&mu);
	return k;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* --- targets */

static struct component_contract comps[24];
static struct prober_target targets[24];
static size_t ntargets;
static struct prober *prober;

/* Adds a component probing path on the test server (or the refused port),
 * 100 ms interval, 1 s timeout, 1 s slow threshold unless changed after. */
static struct component_contract *add(const char *name, const char *path, int port)
{
	cr_assert_lt(ntargets, sizeof comps / sizeof comps[0]);
	struct component_contract *c = &comps[ntargets];
	memset(c, 0, sizeof *c);
	snprintf(c->name, sizeof c->name, "%s", name);
	snprintf(c->internal_url.s, sizeof c->internal_url.s, "http://127.0.0.1:%d",
		 port ? port : srv.port);
	snprintf(c->health.path, sizeof c->health.path, "%s", path);
	c->health.interval_ms = 100;
	c->health.timeout_ms = 1000;
	c->health.slow_ms = 1000;
	targets[ntargets].c = c;
	targets[ntargets].credential = NULL;
	ntargets++;
	return c;
}

static void body_check(struct component_contract *c, const char *path, const char *equals)
{
	snprintf(c->health.body_path, sizeof c->health.body_path, "%s", path);
	snprintf(c->health.body_equals, sizeof c->health.body_equals, "%s", equals);
}

static void start(void)
{
	struct perr err = {0};
	cr_assert_eq(prober_start(&prober, targets, ntargets, on_report, NULL, &err), 0, "%s",
		     err.msg);
}

/* The one report expected for name: its state and the start of its detail. */
static struct probe_result expect_state(const char *name, const char *state, const char *detail)
{
	struct probe_result r = wait_report(name, 1, 2000);
	cr_expect_str_eq(r.state, state, "%s: state %s (%s), want %s", name, r.state, r.detail,
			 state);
	if (detail)
		cr_expect(strncmp(r.detail, detail, strlen(detail)) == 0,
			  "%s: detail \"%s\", want it to start with \"%s\"", name, r.detail, detail);
	return r;
}

static void setup(void)
{
	server_start();
}

static void teardown(void)
{
	prober_stop(prober);
	prober = NULL;
	server_stop();
	cr_expect_eq(leak[0], '\0', "%s", leak);
}

TestSuite(prober, .init = setup, .fini = teardown, .timeout = 5);

/* --- states */

Test(prober, healthy_endpoint_with_a_matching_body_is_up)
{
	body_check(add("grid", "/ok", 0), "value.ready", "true");
	start();
	struct probe_result r = expect_state("grid", "up", "HTTP 200");
	cr_expect_eq(r.http_status, 200);
	cr_expect_geq(r.latency_ms, 0);
	cr_expect_gt(r.at_ms, 0);
}

Test(prober, slow_success_is_degraded_with_the_time_taken)
{
	add("slow", "/slow", 0)->health.slow_ms = 100;
	start();
	struct probe_result r = expect_state("slow", "degraded", "slow: ");
	cr_expect_geq(r.latency_ms, 250);
	cr_expect(strstr(r.detail, " ms > 100 ms") != NULL, "%s", r.detail);
}

Test(prober, endpoint_that_never_answers_is_down_after_its_timeout)
{
	add("hang", "/hang", 0)->health.timeout_ms = 200;
	start();
	struct probe_result r = expect_state("hang", "down", "timed out after 200 ms");
	cr_expect_geq(r.latency_ms, 190);
	cr_expect_eq(r.http_status, 0);
}

Test(prober, refused_connection_is_down)
{
	add("gone", "/ok", srv.refused_port);
	start();
	struct probe_result r = expect_state("gone", "down", "connection refused");
	cr_expect_eq(r.http_status, 0);
}

Test(prober, server_error_is_down)
{
	add("broken", "/500", 0);
	start();
	struct probe_result r = expect_state("broken", "down", "HTTP 500");
	cr_expect_eq(r.http_status, 500);
}

Test(prober, unexpected_status_is_down)
{
	add("missing", "/no-such-path", 0)->health.expect_status = 200;
	start();
	expect_state("missing", "down", "HTTP 404");
}

Test(prober, a_2xx_other_than_the_expected_status_is_down)
{
	add("nocontent", "/nocontent", 0)->health.expect_status = 200;
	start();
	expect_state("nocontent", "down", "HTTP 204, expected 200");
}

Test(prober, expect_status_zero_accepts_any_2xx)
{
	add("nocontent", "/nocontent", 0);
	start();
	expect_state("nocontent", "up", "HTTP 204");
}

Test(prober, redirect_is_down_and_not_followed)
{
	add("moved", "/redirect", 0);
	start();
	expect_state("moved", "down", "redirected (HTTP 302)");
	sleep_ms(150);
	cr_expect_eq(atomic_load(&hits_ok), 0, "the redirect was followed");
}

Test(prober, body_check_that_fails_is_degraded_with_the_value_found)
{
	body_check(add("grid", "/notready", 0), "value.ready", "true");
	start();
	expect_state("grid", "degraded", "body value.ready is false, expected true");
}

Test(prober, body_check_on_a_missing_path_is_degraded)
{
	body_check(add("grid", "/ok", 0), "value.nodes", "[]");
	start();
	expect_state("grid", "degraded", "body has no value.nodes, expected []");
}

Test(prober, body_check_on_a_body_that_is_not_json_is_degraded)
{
	body_check(add("text", "/text", 0), "status", "\"ok\"");
	start();
	expect_state("text", "degraded", "body is not JSON");
}

Test(prober, body_check_compares_strings_as_json)
{
	body_check(add("grid", "/ok", 0), "value.message", "\"ready\"");
	body_check(add("other", "/ok", 0), "value.message", "\"busy\"");
	start();
	expect_state("grid", "up", NULL);
	expect_state("other", "degraded", "body value.message is a different string, expected \"busy\"");
}

Test(prober, probes_identify_themselves_with_a_user_agent)
{
	add("agent", "/agent", 0);
	start();
	expect_state("agent", "up", NULL);
}

/* --- credentials */

Test(prober, rejected_basic_credentials_are_auth_not_an_outage)
{
	struct component_contract *c = add("wrong", "/basic", 0);
	c->auth = CONTRACT_AUTH_BASIC;
	targets[ntargets - 1].credential = "alice:not-hunter2";
	start();
	struct probe_result r = expect_state("wrong", "auth", "HTTP 401: credentials rejected");
	cr_expect_eq(r.http_status, 401);
}

Test(prober, accepted_basic_credentials_are_up)
{
	struct component_contract *c = add("right", "/basic", 0);
	c->auth = CONTRACT_AUTH_BASIC;
	targets[ntargets - 1].credential = BASIC_CRED;
	start();
	expect_state("right", "up", "HTTP 200");
}

Test(prober, missing_credential_is_auth_and_says_so)
{
	add("none", "/basic", 0)->auth = CONTRACT_AUTH_BASIC;
	start();
	expect_state("none", "auth", "HTTP 401: credentials required");
}

Test(prober, bearer_token_is_sent_and_only_the_right_one_passes)
{
	struct component_contract *c = add("right", "/bearer", 0);
	c->auth = CONTRACT_AUTH_BEARER;
	targets[ntargets - 1].credential = BEARER_TOKEN;
	c = add("wrong", "/bearer", 0);
	c->auth = CONTRACT_AUTH_BEARER;
	targets[ntargets - 1].credential = "not-the-token";
	start();
	expect_state("right", "up", NULL);
	expect_state("wrong", "auth", "HTTP 403: credentials rejected");
}

Test(prober, the_credential_is_copied_at_start)
{
	char cred[64];
	snprintf(cred, sizeof cred, "%s", BEARER_TOKEN);
	struct component_contract *c = add("right", "/bearer", 0);
	c->auth = CONTRACT_AUTH_BEARER;
	targets[ntargets - 1].credential = cred;
	start();
	memset(cred, 'x', sizeof cred - 1);
	memset(c, 0, sizeof *c);
	expect_state("right", "up", NULL);
}

Test(prober, tls_failure_is_down_without_naming_the_host)
{
	struct component_contract *c = add("tls", "/ok", 0);
	snprintf(c->internal_url.s, sizeof c->internal_url.s, "https://127.0.0.1:%d", srv.port);
	start();
	expect_state("tls", "down", "TLS");
}

/* --- reporting and scheduling */

Test(prober, every_component_is_probed_concurrently)
{
	add("hang", "/hang", 0)->health.timeout_ms = 1500;
	add("slow", "/slow", 0);
	add("ok", "/ok", 0);
	add("gone", "/ok", srv.refused_port);
	add("broken", "/500", 0);
	add("auth", "/basic", 0);
	start();
	long long t0 = clock_mono_us();
	expect_state("ok", "up", NULL);
	expect_state("gone", "down", "connection refused");
	expect_state("broken", "down", "HTTP 500");
	expect_state("auth", "auth", NULL);
	expect_state("slow", "up", NULL);
	/* none of these waited for the hanging probe */
	cr_expect_lt(clock_mono_us() - t0, 1000 * 1000);
	cr_expect_eq(reports_of("hang"), 0);
}

Test(prober, unchanged_state_is_not_reported_again)
{
	add("ok", "/ok", 0)->health.interval_ms = 50;
	start();
	expect_state("ok", "up", NULL);
	sleep_ms(600);
	struct prober_stats st;
	prober_stats(prober, &st);
	cr_expect_geq(st.probes, 6, "only %llu probes in 600 ms at 50 ms", st.probes);
	cr_expect_geq(atomic_load(&hits_ok), 6);
	cr_expect_eq(reports_of("ok"), 1);
	cr_expect_eq(st.reports, 1);
}

Test(prober, a_change_of_state_is_reported_exactly_once)
{
	add("flip", "/flip", 0)->health.interval_ms = 50;
	start();
	expect_state("flip", "up", NULL);
	atomic_store(&flip_status, 503);
	struct probe_result r = wait_report("flip", 2, 1000);
	cr_expect_str_eq(r.state, "down");
	cr_expect_str_eq(r.detail, "HTTP 503");
	cr_expect_eq(r.http_status, 503);
	atomic_store(&flip_status, 500); /* still down: a new detail is no change */
	sleep_ms(500);
	cr_expect_eq(reports_of("flip"), 2);
	atomic_store(&flip_status, 200);
	r = wait_report("flip", 3, 2000); /* backoff: up to 8 intervals */
	cr_expect_str_eq(r.state, "up");
	sleep_ms(200);
	cr_expect_eq(reports_of("flip"), 3);
}

Test(prober, a_down_component_is_probed_less_often)
{
	add("broken", "/500", 0)->health.interval_ms = 50;
	start();
	expect_state("broken", "down", NULL);
	int before = atomic_load(&hits_500);
	sleep_ms(1500);
	int after = atomic_load(&hits_500);
	/* 30 probes without backoff; with it 50, 100, 200, 400, 400, 400 ms … */
	cr_expect_leq(after - before, 9, "%d probes in 1.5 s while down", after - before);
	cr_expect_geq(after - before, 2, "%d probes in 1.5 s while down", after - before);
}

Test(prober, stop_returns_promptly_with_a_probe_in_flight)
{
	add("hang", "/hang", 0)->health.timeout_ms = 4000;
	start();
	sleep_ms(200); /* first probe is under way */
	struct prober_stats st;
	prober_stats(prober, &st);
	cr_expect_eq(st.in_flight, 1);
	cr_expect_gt(st.cpu_us, 0);
	long long t0 = clock_mono_us();
	prober_stop(prober);
	prober = NULL;
	cr_expect_lt(clock_mono_us() - t0, 300 * 1000);
	cr_expect_eq(reports_of("hang"), 0);
}

Test(prober, no_components_starts_and_stops)
{
	start();
	sleep_ms(50);
}

Test(prober, component_without_internal_url_is_refused_without_a_url)
{
	struct component_contract *c = add("nowhere", "/ok", 0);
	c->internal_url.s[0] = '\0';
	add("ok", "/ok", 0);
	struct perr err = {0};
	cr_expect_eq(prober_start(&prober, targets, ntargets, on_report, NULL, &err), PERR_INVALID);
	cr_expect_null(prober);
	cr_expect_str_eq(err.field, "internal_url");
	cr_expect(strstr(err.msg, "nowhere") != NULL, "%s", err.msg);
}

Test(prober, health_path_must_start_with_a_slash)
{
	struct component_contract *c = add("bad", "health", 0);
	struct perr err = {0};
	cr_expect_eq(prober_start(&prober, targets, ntargets, on_report, NULL, &err), PERR_INVALID);
	cr_expect_str_eq(err.field, "health.path");
	cr_expect(strstr(err.msg, "127.0.0.1") == NULL, "%s", err.msg);
	(void)c;
}

Test(prober, first_probes_are_spread_over_the_first_interval)
{
	char name[16];
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof name, "c%d", i);
		add(name, "/ok", 0)->health.interval_ms = 1000;
	}
	start();
	sleep_ms(150);
	pthread_mutex_lock(&mu);
	int early = nreports;
	pthread_mutex_unlock(&mu);
	cr_expect_lt(early, 20, "all 20 first probes fired in the first 150 ms of a 1 s interval");
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof name, "c%d", i);
		wait_report(name, 1, 1500);
	}
}
