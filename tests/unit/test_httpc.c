/* httpc: the hardening every outbound handle gets (http and https only, no
 * redirect, the user agent, the time limit), the capped body in both modes,
 * and the pool: two requests through one pool to the same loopback server
 * use one TCP connection, two without it use two. */
#include <criterion/criterion.h>
#include <event2/http.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../support/loopback_http.h"
#include "util/httpc.h"

static struct loopback_http srv;
static atomic_int hits_target;

static void on_ok(struct evhttp_request *req, void *arg)
{
	loopback_http_reply(req, 200, "application/json", "{\"ok\":true}");
}

static void on_agent(struct evhttp_request *req, void *arg)
{
	char ua[128];
	loopback_http_header(req, "User-Agent", ua, sizeof ua);
	loopback_http_reply(req, 200, "text/plain", ua);
}

static void on_redirect(struct evhttp_request *req, void *arg)
{
	char loc[64];
	snprintf(loc, sizeof loc, "http://127.0.0.1:%d/target", srv.port);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Location", loc);
	loopback_http_reply(req, 302, NULL, NULL);
}

static void on_target(struct evhttp_request *req, void *arg)
{
	atomic_fetch_add(&hits_target, 1);
	loopback_http_reply(req, 200, NULL, "followed");
}

static void on_big(struct evhttp_request *req, void *arg)
{
	static char big[64 * 1024];
	memset(big, 'x', sizeof big);
	loopback_http_reply_n(req, 200, "text/plain", big, sizeof big);
}

static void on_hang(struct evhttp_request *req, void *arg)
{
	/* never answers */
}

static void server_start(void)
{
	loopback_http_open(&srv);
	evhttp_set_cb(srv.http, "/ok", on_ok, NULL);
	evhttp_set_cb(srv.http, "/agent", on_agent, NULL);
	evhttp_set_cb(srv.http, "/redirect", on_redirect, NULL);
	evhttp_set_cb(srv.http, "/target", on_target, NULL);
	evhttp_set_cb(srv.http, "/big", on_big, NULL);
	evhttp_set_cb(srv.http, "/hang", on_hang, NULL);
	loopback_http_run(&srv);
}

static void server_stop(void)
{
	loopback_http_close(&srv);
}

TestSuite(httpc, .init = server_start, .fini = server_stop, .timeout = 10);

/* GETs path on the loopback server with e; returns curl's code, *status the
 * HTTP status. */
static CURLcode get(CURL *e, const char *path, struct httpc_body *body, long *status)
{
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", srv.port, path);
	cr_assert_eq(curl_easy_setopt(e, CURLOPT_URL, url), CURLE_OK);
	cr_assert_eq(httpc_body_set(e, body), 0);
	CURLcode rc = curl_easy_perform(e);
	*status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	httpc_body_unset(e);
	return rc;
}

Test(httpc, two_requests_through_one_pool_share_one_connection)
{
	struct httpc_pool *pool = httpc_pool_new();
	cr_assert_not_null(pool);
	for (int i = 0; i < 2; i++) {
		/* a fresh handle each time, as the clients make one per call */
		CURL *e = httpc_easy_new("portal-test", 2000, pool);
		cr_assert_not_null(e);
		struct httpc_body b = {BUF_INIT, 1024, 1, 0};
		long status;
		cr_assert_eq(get(e, "/ok", &b, &status), CURLE_OK);
		cr_assert_eq(status, 200);
		curl_easy_cleanup(e);
		httpc_body_free(&b);
	}
	cr_assert_eq(atomic_load(&srv.connections), 1, "%d connections for two requests",
		     atomic_load(&srv.connections));
	httpc_pool_free(pool);
}

Test(httpc, handles_without_a_pool_open_a_connection_each)
{
	for (int i = 0; i < 2; i++) {
		CURL *e = httpc_easy_new("portal-test", 2000, NULL);
		struct httpc_body b = {BUF_INIT, 1024, 1, 0};
		long status;
		cr_assert_eq(get(e, "/ok", &b, &status), CURLE_OK);
		curl_easy_cleanup(e);
		httpc_body_free(&b);
	}
	cr_assert_eq(atomic_load(&srv.connections), 2);
}

struct worker {
	struct httpc_pool *pool;
	int failures;
};

static void *requests(void *arg)
{
	struct worker *w = arg;
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/ok", srv.port);
	for (int i = 0; i < 10; i++) {
		CURL *e = httpc_easy_new("portal-test", 2000, w->pool);
		struct httpc_body b = {BUF_INIT, 1024, 1, 0};
		curl_easy_setopt(e, CURLOPT_URL, url);
		httpc_body_set(e, &b);
		long status = 0;
		if (curl_easy_perform(e) != CURLE_OK ||
		    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
		    status != 200)
			w->failures++;
		curl_easy_cleanup(e);
		httpc_body_free(&b);
	}
	return NULL;
}

Test(httpc, threads_may_share_a_pool)
{
	struct httpc_pool *pool = httpc_pool_new();
	pthread_t t[4];
	struct worker w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){pool, 0};
		cr_assert_eq(pthread_create(&t[i], NULL, requests, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(w[i].failures, 0);
	}
	/* at most one connection per thread in use at once */
	cr_expect_leq(atomic_load(&srv.connections), 4, "%d connections for 40 requests",
		      atomic_load(&srv.connections));
	httpc_pool_free(pool);
}

Test(httpc, sends_the_user_agent_it_was_given)
{
	CURL *e = httpc_easy_new("portal-test/1.2", 2000, NULL);
	struct httpc_body b = {BUF_INIT, 1024, 1, 0};
	long status;
	cr_assert_eq(get(e, "/agent", &b, &status), CURLE_OK);
	cr_assert_str_eq(buf_cstr(&b.b), "portal-test/1.2");
	curl_easy_cleanup(e);
	httpc_body_free(&b);
}

Test(httpc, never_follows_a_redirect)
{
	CURL *e = httpc_easy_new("portal-test", 2000, NULL);
	struct httpc_body b = {BUF_INIT, 1024, 1, 0};
	long status;
	cr_assert_eq(get(e, "/redirect", &b, &status), CURLE_OK);
	cr_assert_eq(status, 302);
	cr_assert_eq(atomic_load(&hits_target), 0);
	curl_easy_cleanup(e);
	httpc_body_free(&b);
}

Test(httpc, refuses_every_protocol_but_http_and_https)
{
	CURL *e = httpc_easy_new("portal-test", 2000, NULL);
	struct httpc_body b = {BUF_INIT, 1024, 1, 0};
	const char *urls[] = {"file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/"};
	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		curl_easy_setopt(e, CURLOPT_URL, urls[i]);
		httpc_body_set(e, &b);
		cr_expect_eq(curl_easy_perform(e), CURLE_UNSUPPORTED_PROTOCOL, "%s", urls[i]);
		cr_expect_eq(b.b.len, 0);
	}
	curl_easy_cleanup(e);
	httpc_body_free(&b);
}

Test(httpc, stops_at_its_time_limit)
{
	CURL *e = httpc_easy_new("portal-test", 200, NULL);
	struct httpc_body b = {BUF_INIT, 1024, 1, 0};
	long status;
	cr_assert_eq(get(e, "/hang", &b, &status), CURLE_OPERATION_TIMEDOUT);
	curl_easy_cleanup(e);
	httpc_body_free(&b);
}

Test(httpc, a_stopping_body_ends_the_transfer_past_its_cap)
{
	CURL *e = httpc_easy_new("portal-test", 2000, NULL);
	struct httpc_body b = {BUF_INIT, 1000, 1, 0};
	long status;
	cr_assert_eq(get(e, "/big", &b, &status), CURLE_WRITE_ERROR);
	cr_assert(b.over);
	cr_assert_leq(b.b.len, 1000);
	curl_easy_cleanup(e);
	httpc_body_free(&b);
}

Test(httpc, a_truncating_body_keeps_its_cap_and_reads_on)
{
	struct httpc_pool *pool = httpc_pool_new();
	CURL *e = httpc_easy_new("portal-test", 2000, pool);
	struct httpc_body b = {BUF_INIT, 1000, 0, 0};
	long status;
	cr_assert_eq(get(e, "/big", &b, &status), CURLE_OK);
	cr_assert_eq(status, 200);
	cr_assert(b.over);
	cr_assert_eq(b.b.len, 1000);
	cr_assert_eq(b.b.data[999], 'x');
	/* read to the end, so the connection serves the next request */
	httpc_body_reset(&b);
	cr_assert_eq(get(e, "/ok", &b, &status), CURLE_OK);
	cr_assert_not(b.over);
	cr_assert_str_eq(buf_cstr(&b.b), "{\"ok\":true}");
	cr_assert_eq(atomic_load(&srv.connections), 1);
	curl_easy_cleanup(e);
	httpc_body_free(&b);
	httpc_pool_free(pool);
}

Test(httpc, an_answer_that_fits_is_kept_whole)
{
	CURL *e = httpc_easy_new(NULL, 0, NULL);
	struct httpc_body b = {BUF_INIT, 11, 1, 0};
	long status;
	cr_assert_eq(get(e, "/ok", &b, &status), CURLE_OK);
	cr_assert_not(b.over);
	cr_assert_str_eq(buf_cstr(&b.b), "{\"ok\":true}");
	curl_easy_cleanup(e);
	httpc_body_free(&b);
}

Test(httpc, a_bearer_token_becomes_one_authorization_line)
{
	struct curl_slist *h = NULL;
	httpc_header_add(&h, "Accept: application/json");
	httpc_header_bearer(&h, "tok-123");
	cr_assert_str_eq(h->data, "Accept: application/json");
	cr_assert_str_eq(h->next->data, "Authorization: Bearer tok-123");
	cr_assert_null(h->next->next);
	httpc_headers_free(h);
}
