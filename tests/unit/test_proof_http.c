/* The remote graph and evidence planes against a real HTTP server the test
 * starts on loopback, which keeps the contract of docs/proof-planes.md in
 * memory: what round-trips (names that need percent-encoding included), what
 * is idempotent, what is a conflict, and how every way a service can fail
 * comes back — always PERR_UNAVAILABLE with a message that names the plane
 * and never the URL, the host, the port or the token. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../support/loopback_http.h"
#include "proof/proof.h"
#include "util/clock.h"

#define SECRET "s3cret-proof-token"
/* Needs every kind of percent-encoding: space, '/', '?', '&', '=', '#', '%',
 * '+', quotes, and characters outside ASCII. */
#define ODD_SUBJECT "urn:x:a b/c?d=e&f#g \"q\" 'é' ☃ 100% +plus"
#define ODD_GRAPH "proj/one two ü"

/* --- the loopback service
 *
 * The first path segment picks how it behaves: "svc" keeps the contract;
 * the others answer one way to everything (see serve). */

static struct loopback_http srv;
static json_t *graphs;  /* graph name -> array of triples */
static json_t *records; /* id -> record */
/* What the requests carried (written on the server thread before it answers). */
static char seen_auth[256], seen_type[64], seen_method[8];
static int nrequests, nposts;

static void reply(struct evhttp_request *req, int code, const char *body)
{
	loopback_http_reply(req, code, "application/json", body);
}

static void reply_json(struct evhttp_request *req, int code, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);
	reply(req, code, s);
	free(s);
	json_decref(v);
}

static json_t *body_of(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	char *s = malloc(n + 1);
	evbuffer_copyout(in, s, n);
	json_t *v = json_loadb(s, n, 0, NULL);
	free(s);
	return v;
}

/* The path's segments, each percent-decoded on its own (so an encoded '/'
 * stays inside its segment). Returns how many; the caller frees them. */
static int segments(const char *path, char *seg[], int max)
{
	int n = 0;
	const char *p = path;
	while (*p == '/' && n < max) {
		const char *end = strchr(p + 1, '/');
		size_t len = end ? (size_t)(end - p - 1) : strlen(p + 1);
		char *raw = strndup(p + 1, len);
		seg[n++] = evhttp_uridecode(raw, 0, NULL);
		free(raw);
		p = end ? end : p + 1 + len;
	}
	return n;
}

static char *query_value(struct evhttp_request *req, const char *key)
{
	const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq kv = {0}; /* an empty list; the parse starts it again */
	char *out = NULL;
	if (q && evhttp_parse_query_str(q, &kv) == 0) {
		const char *v = evhttp_find_header(&kv, key);
		out = v ? strdup(v) : NULL;
	}
	evhttp_clear_headers(&kv);
	return out;
}

/* POST /graphs/{g}/triples and GET /graphs/{g}/triples?subject= */
static void serve_graph(struct evhttp_request *req, enum evhttp_cmd_type cmd, const char *g)
{
	json_t *triples = json_object_get(graphs, g);
	if (cmd == EVHTTP_REQ_POST) {
		json_t *body = body_of(req);
		json_t *in = json_object_get(body, "triples");
		if (!json_is_array(in)) {
			json_decref(body);
			reply(req, 400, "{\"error\":\"no triples\"}");
			return;
		}
		int created = !triples;
		if (created) {
			triples = json_array();
			json_object_set_new(graphs, g, triples);
		}
		size_t i, j;
		json_t *t, *have;
		json_array_foreach(in, i, t) {
			int dup = 0;
			json_array_foreach(triples, j, have)
				dup |= json_equal(have, t);
			if (!dup)
				json_array_append(triples, t);
		}
		json_decref(body);
		reply(req, created ? 201 : 204, NULL);
		return;
	}
	if (!triples) {
		reply(req, 404, "{\"error\":{\"message\":\"no such graph\"}}");
		return;
	}
	char *subject = query_value(req, "subject");
	json_t *out = json_array();
	size_t i;
	json_t *t;
	json_array_foreach(triples, i, t) {
		const char *s = json_string_value(json_object_get(t, "subject"));
		if (subject && s && strcmp(s, subject) == 0)
			json_array_append(out, t);
	}
	free(subject);
	reply_json(req, 200, json_pack("{s:o}", "triples", out));
}

/* PUT /evidence/{id} and GET /evidence?proposal= */
static void serve_evidence(struct evhttp_request *req, enum evhttp_cmd_type cmd, const char *id)
{
	if (cmd == EVHTTP_REQ_PUT && id) {
		json_t *rec = body_of(req);
		const char *rid = json_string_value(json_object_get(rec, "id"));
		if (!rid || strcmp(rid, id) != 0) {
			json_decref(rec);
			reply(req, 400, "{\"error\":\"the id is not the path's\"}");
			return;
		}
		json_t *have = json_object_get(records, id);
		if (have) {
			int same = json_equal(have, rec);
			json_decref(rec);
			if (same)
				reply(req, 200, NULL);
			else
				reply(req, 409, "{\"error\":{\"message\":\"differs\"}}");
			return;
		}
		json_object_set_new(records, id, rec);
		reply(req, 201, NULL);
		return;
	}
	char *proposal = query_value(req, "proposal");
	json_t *out = json_array();
	const char *k;
	json_t *r;
	json_object_foreach(records, k, r) {
		const char *p = json_string_value(json_object_get(r, "proposal"));
		if (proposal && p && strcmp(p, proposal) == 0)
			json_array_append(out, r);
	}
	free(proposal);
	reply_json(req, 200, json_pack("{s:o}", "records", out));
}

/* A triple or record whose text member is 512 bytes: one more than Portal keeps. */
static void serve_long(struct evhttp_request *req, const char *what)
{
	char big[PROOF_TEXT_MAX + 1];
	memset(big, 'x', PROOF_TEXT_MAX);
	big[PROOF_TEXT_MAX] = 0;
	if (strcmp(what, "graphs") == 0) {
		char *subject = query_value(req, "subject");
		reply_json(req, 200, json_pack("{s:[{s:s,s:s,s:s}]}", "triples", "subject",
					       subject ? subject : "", "predicate", "urn:p",
					       "object", big));
		free(subject);
	} else {
		char *p = query_value(req, "proposal");
		reply_json(req, 200, json_pack("{s:[{s:s,s:s,s:s,s:i,s:s,s:s}]}", "records", "id",
					       "ev-1", "proposal", p ? p : "", "digest", "sha256:0",
					       "size", 1, "location", big, "producer", "exec"));
		free(p);
	}
}

static void serve(struct evhttp_request *req, void *arg)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	nrequests++;
	if (cmd == EVHTTP_REQ_POST)
		nposts++;
	loopback_http_header(req, "Authorization", seen_auth, sizeof seen_auth);
	loopback_http_header(req, "Content-Type", seen_type, sizeof seen_type);
	snprintf(seen_method, sizeof seen_method, "%s",
		 cmd == EVHTTP_REQ_GET ? "GET" : cmd == EVHTTP_REQ_POST ? "POST"
					       : cmd == EVHTTP_REQ_PUT	? "PUT"
									: "other");
	char *seg[8] = {0};
	int n = segments(evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req)), seg, 8);
	const char *mode = n > 0 ? seg[0] : "";
	const char *plane = n > 1 ? seg[1] : "";
	if (strcmp(mode, "svc") == 0) {
		if (strcmp(plane, "graphs") == 0 && n == 4 && strcmp(seg[3], "triples") == 0)
			serve_graph(req, cmd, seg[2]);
		else if (strcmp(plane, "evidence") == 0 && (n == 2 || n == 3))
			serve_evidence(req, cmd, n == 3 ? seg[2] : NULL);
		else
			reply(req, 400, "{\"error\":\"not in the contract\"}");
	} else if (strcmp(mode, "fail500") == 0) {
		reply(req, 500, "{\"error\":{\"code\":\"internal\",\"message\":\"disk full\"}}");
	} else if (strcmp(mode, "fail503") == 0) {
		reply(req, 503, "{\"error\":\"maintenance window\"}");
	} else if (strcmp(mode, "failhtml") == 0) {
		reply(req, 502, "<html><body>Bad Gateway at 127.0.0.1</body></html>");
	} else if (strcmp(mode, "leakurl") == 0) {
		char msg[256];
		snprintf(msg, sizeof msg,
			 "{\"error\":{\"message\":\"upstream http://10.1.2.3:9/x failed\"}}");
		reply(req, 500, msg);
	} else if (strcmp(mode, "leakhost") == 0) {
		reply(req, 500, "{\"error\":{\"message\":\"cannot bind 127.0.0.1\"}}");
	} else if (strcmp(mode, "leaktoken") == 0) {
		reply(req, 401, "{\"error\":\"token " SECRET " is not known\"}");
	} else if (strcmp(mode, "longmsg") == 0) {
		/* "start\nx" then two-byte characters, so the cap falls inside one */
		char m[2048];
		size_t k = (size_t)snprintf(m, sizeof m, "{\"error\":\"start\\nx");
		while (k < 1500)
			k += (size_t)snprintf(m + k, sizeof m - k, "é");
		snprintf(m + k, sizeof m - k, "\"}");
		reply(req, 500, m);
	} else if (strcmp(mode, "long") == 0) {
		serve_long(req, plane);
	} else if (strcmp(mode, "big") == 0) {
		size_t len = 5 * 1024 * 1024;
		char *s = malloc(len + 1);
		memset(s, ' ', len);
		memcpy(s, "{\"triples\":[", 12);
		memcpy(s + len - 2, "]}", 2);
		s[len] = 0;
		reply(req, 200, s);
		free(s);
	} else if (strcmp(mode, "notjson") == 0) {
		reply(req, 200, "<html>hello</html>");
	} else if (strcmp(mode, "other") == 0) {
		if (strcmp(plane, "graphs") == 0)
			reply(req, 200, "{\"triples\":[{\"subject\":\"urn:someone-else\","
					"\"predicate\":\"urn:p\",\"object\":\"o\"}]}");
		else
			reply(req, 200, "{\"records\":[{\"id\":\"ev-9\",\"proposal\":\"p-other\","
					"\"digest\":\"\",\"size\":0,\"location\":\"\","
					"\"producer\":\"\"}]}");
	} else if (strcmp(mode, "badsize") == 0) {
		reply(req, 200, "{\"records\":[{\"id\":\"ev-9\",\"proposal\":\"p-1\","
				"\"digest\":\"\",\"size\":-4,\"location\":\"\",\"producer\":\"\"}]}");
	} else if (strcmp(mode, "redirect") == 0) {
		char loc[128];
		snprintf(loc, sizeof loc, "http://127.0.0.1:%d/svc/evidence", srv.port);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Location", loc);
		reply(req, 302, NULL);
	} else if (strcmp(mode, "nothing") == 0) {
		reply(req, 404, NULL);
	} else if (strcmp(mode, "hang") == 0) {
		/* never answers */
	} else {
		reply(req, 404, NULL);
	}
	for (int i = 0; i < n; i++)
		free(seg[i]);
}

static void server_start(void)
{
	loopback_http_open(&srv);
	graphs = json_object();
	records = json_object();
	evhttp_set_gencb(srv.http, serve, NULL);
	loopback_http_run(&srv);
}

static void server_stop(void)
{
	loopback_http_close(&srv);
	json_decref(graphs);
	json_decref(records);
}

TestSuite(proof_http, .init = server_start, .fini = server_stop, .timeout = 20);

/* --- helpers */

static char url_buf[256];

/* The loopback service in mode (or the refused port when port is -1). */
static struct proof_remote remote(const char *mode, const char *secret, int port)
{
	snprintf(url_buf, sizeof url_buf, "http://127.0.0.1:%d/%s",
		 port < 0 ? srv.refused_port : srv.port, mode);
	return (struct proof_remote){.url = url_buf, .secret = secret, .timeout_ms = 3000};
}

static struct graph graph_on(const char *mode, const char *secret)
{
	struct proof_remote r = remote(mode, secret, 0);
	struct graph g = {0};
	struct perr err = {0};
	cr_assert_eq(graph_http_open(&r, &g, &err), 0, "%s", err.msg);
	cr_assert_str_eq(g.ops->name, "http");
	return g;
}

static struct evidence evidence_on(const char *mode, const char *secret)
{
	struct proof_remote r = remote(mode, secret, 0);
	struct evidence ev = {0};
	struct perr err = {0};
	cr_assert_eq(evidence_http_open(&r, &ev, &err), 0, "%s", err.msg);
	cr_assert_str_eq(ev.ops->name, "http");
	return ev;
}

static struct proof_triple triple(const char *s, const char *p, const char *o)
{
	struct proof_triple t;
	memset(&t, 0, sizeof t);
	snprintf(t.subject, sizeof t.subject, "%s", s);
	snprintf(t.predicate, sizeof t.predicate, "%s", p);
	snprintf(t.object, sizeof t.object, "%s", o);
	return t;
}

static struct proof_evidence record(const char *id, const char *proposal, long long size)
{
	struct proof_evidence e;
	memset(&e, 0, sizeof e);
	snprintf(e.id, sizeof e.id, "%s", id);
	snprintf(e.proposal, sizeof e.proposal, "%s", proposal);
	snprintf(e.digest, sizeof e.digest,
		 "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
	e.size = size;
	snprintf(e.location, sizeof e.location, "inline");
	snprintf(e.producer, sizeof e.producer, "exec");
	return e;
}

/* What a walk saw. */
struct seen {
	struct proof_triple t[16];
	struct proof_evidence e[16];
	int n, stop_after;
};

static int keep_triple(void *arg, const struct proof_triple *t)
{
	struct seen *s = arg;
	cr_assert_lt(s->n, 16);
	s->t[s->n++] = *t;
	return s->stop_after && s->n >= s->stop_after ? -1 : 0;
}

static int keep_record(void *arg, const struct proof_evidence *e)
{
	struct seen *s = arg;
	cr_assert_lt(s->n, 16);
	s->e[s->n++] = *e;
	return 0;
}

static int has_triple(const struct seen *s, const char *p, const char *o)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->t[i].predicate, p) == 0 && strcmp(s->t[i].object, o) == 0)
			return 1;
	return 0;
}

/* No error may carry the URL, the host, the ports, the path or the token. */
static void must_be_clean(const struct perr *err)
{
	char port[16], rport[16];
	snprintf(port, sizeof port, "%d", srv.port);
	snprintf(rport, sizeof rport, "%d", srv.refused_port);
	const char *bad[] = {"127.0.0.1", "10.1.2.3", "localhost", "http:", "://", port, rport,
			     SECRET, "/svc", "/hang"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_null(strstr(err->msg, bad[i]), "error \"%s\" contains \"%s\"", err->msg,
			       bad[i]);
	cr_assert_null(strstr(err->field, SECRET));
}

/* --- graph */

Test(proof_http, triples_put_then_read_back_about_their_subject)
{
	struct graph g = graph_on("svc", NULL);
	struct proof_triple t[] = {
		triple("urn:portal:proposal:p-1", "urn:portal:executedBy", "urn:portal:worker:w-1"),
		triple("urn:portal:proposal:p-1", "urn:portal:state", "\"executed\""),
		triple("urn:portal:proposal:p-2", "urn:portal:state", "\"queued\""),
	};
	struct perr err = {0};
	cr_assert_eq(g.ops->put(g.impl, "atlas", t, 3, &err), 0, "%s", err.msg);
	cr_assert_str_eq(seen_method, "POST");
	cr_assert_str_eq(seen_type, "application/json");
	struct seen s = {0};
	cr_assert_eq(g.ops->about(g.impl, "atlas", "urn:portal:proposal:p-1", keep_triple, &s,
				  &err), 0, "%s", err.msg);
	cr_assert_str_eq(seen_method, "GET");
	cr_assert_eq(s.n, 2);
	cr_assert(has_triple(&s, "urn:portal:executedBy", "urn:portal:worker:w-1"));
	cr_assert(has_triple(&s, "urn:portal:state", "\"executed\""));
	for (int i = 0; i < s.n; i++)
		cr_assert_str_eq(s.t[i].subject, "urn:portal:proposal:p-1");
	graph_close(&g);
	cr_assert_null(g.ops);
}

Test(proof_http, requests_to_one_service_share_one_connection)
{
	struct graph g = graph_on("svc", SECRET);
	struct proof_triple t[] = {
		triple("urn:portal:proposal:p-1", "urn:portal:state", "\"executed\""),
	};
	struct perr err = {0};
	cr_assert_eq(g.ops->put(g.impl, "atlas", t, 1, &err), 0, "%s", err.msg);
	struct seen s = {0};
	cr_assert_eq(g.ops->about(g.impl, "atlas", "urn:portal:proposal:p-1", keep_triple, &s,
				  &err), 0, "%s", err.msg);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(atomic_load(&srv.connections), 1);
	graph_close(&g);
}

Test(proof_http, a_subject_and_graph_that_need_encoding_round_trip)
{
	struct graph g = graph_on("svc", NULL);
	struct proof_triple t[] = {
		triple(ODD_SUBJECT, "urn:p/with space", "literal \"quoted\" ☃\n"),
		triple("urn:x:a b", "urn:p", "not the odd one"), /* a prefix of ODD_SUBJECT */
	};
	struct perr err = {0};
	cr_assert_eq(g.ops->put(g.impl, ODD_GRAPH, t, 2, &err), 0, "%s", err.msg);
	cr_assert(json_object_get(graphs, ODD_GRAPH), "the graph's name did not arrive whole");
	struct seen s = {0};
	cr_assert_eq(g.ops->about(g.impl, ODD_GRAPH, ODD_SUBJECT, keep_triple, &s, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(s.n, 1);
	cr_assert_str_eq(s.t[0].subject, ODD_SUBJECT);
	cr_assert_str_eq(s.t[0].predicate, "urn:p/with space");
	cr_assert_str_eq(s.t[0].object, "literal \"quoted\" ☃\n");
	graph_close(&g);
}

Test(proof_http, a_triple_put_twice_is_kept_once)
{
	struct graph g = graph_on("svc", NULL);
	struct proof_triple t = triple("urn:s", "urn:p", "urn:o");
	struct perr err = {0};
	cr_assert_eq(g.ops->put(g.impl, "atlas", &t, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(g.ops->put(g.impl, "atlas", &t, 1, &err), 0, "%s", err.msg);
	struct seen s = {0};
	cr_assert_eq(g.ops->about(g.impl, "atlas", "urn:s", keep_triple, &s, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(s.n, 1);
	graph_close(&g);
}

Test(proof_http, about_an_unknown_graph_is_empty_not_an_error)
{
	struct graph g = graph_on("svc", NULL);
	struct seen s = {0};
	struct perr err = {0};
	cr_assert_eq(g.ops->about(g.impl, "never-written", "urn:s", keep_triple, &s, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(s.n, 0);
	cr_assert_eq(nrequests, 1, "the service was not asked");
	graph_close(&g);
}

Test(proof_http, about_a_subject_without_triples_is_empty)
{
	struct graph g = graph_on("svc", NULL);
	struct proof_triple t = triple("urn:s", "urn:p", "urn:o");
	struct perr err = {0};
	cr_assert_eq(g.ops->put(g.impl, "atlas", &t, 1, &err), 0, "%s", err.msg);
	struct seen s = {0};
	cr_assert_eq(g.ops->about(g.impl, "atlas", "urn:other", keep_triple, &s, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(s.n, 0);
	graph_close(&g);
}

Test(proof_http, a_callback_that_returns_negative_ends_the_walk_without_error)
{
	struct graph g = graph_on("svc", NULL);
	struct proof_triple t[] = {triple("urn:s", "urn:p", "1"), triple("urn:s", "urn:p", "2"),
				   triple("urn:s", "urn:p", "3")};
	struct perr err = {0};
	cr_assert_eq(g.ops->put(g.impl, "atlas", t, 3, &err), 0, "%s", err.msg);
	struct seen s = {.stop_after = 1};
	cr_assert_eq(g.ops->about(g.impl, "atlas", "urn:s", keep_triple, &s, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(s.n, 1);
	graph_close(&g);
}

Test(proof_http, many_triples_go_in_requests_of_at_most_500)
{
	struct graph g = graph_on("svc", NULL);
	size_t n = 1201;
	struct proof_triple *t = calloc(n, sizeof *t);
	for (size_t i = 0; i < n; i++) {
		char o[32];
		snprintf(o, sizeof o, "%zu", i);
		t[i] = triple(i % 2 ? "urn:odd" : "urn:even", "urn:n", o);
	}
	struct perr err = {0};
	cr_assert_eq(g.ops->put(g.impl, "atlas", t, n, &err), 0, "%s", err.msg);
	free(t);
	cr_assert_eq(nposts, 3);
	cr_assert_eq(json_array_size(json_object_get(graphs, "atlas")), n);
	graph_close(&g);
}

Test(proof_http, putting_no_triples_sends_nothing)
{
	struct graph g = graph_on("svc", NULL);
	struct perr err = {0};
	cr_assert_eq(g.ops->put(g.impl, "atlas", NULL, 0, &err), 0, "%s", err.msg);
	cr_assert_eq(nrequests, 0);
	graph_close(&g);
}

Test(proof_http, bad_arguments_are_invalid_and_send_nothing)
{
	struct graph g = graph_on("svc", NULL);
	struct perr err = {0};
	struct proof_triple t[] = {triple("urn:s", "urn:p", "o"), triple("urn:s", "urn:p", "o")};
	cr_assert_eq(g.ops->put(g.impl, "", t, 1, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "graph");
	t[1].predicate[0] = 0;
	cr_assert_eq(g.ops->put(g.impl, "atlas", t, 2, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "triples[1].predicate");
	t[1] = triple("urn:s", "urn:p", "o");
	memset(t[1].object, 'x', sizeof t[1].object); /* no NUL: longer than Portal keeps */
	cr_assert_eq(g.ops->put(g.impl, "atlas", t, 2, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "triples[1].object");
	t[1] = triple("urn:s", "urn:p", "\xff\xfe not UTF-8");
	cr_assert_eq(g.ops->put(g.impl, "atlas", t, 2, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "triples[1].object");
	cr_assert_eq(g.ops->about(g.impl, "atlas", "", keep_triple, NULL, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "subject");
	cr_assert_eq(nrequests, 0, "a bad triple was sent (or the ones before it)");
	graph_close(&g);
}

/* --- the bearer token */

Test(proof_http, the_bearer_token_is_sent_only_when_a_secret_is_set)
{
	struct perr err = {0};
	struct seen s = {0};
	struct graph g = graph_on("svc", SECRET);
	cr_assert_eq(g.ops->about(g.impl, "atlas", "urn:s", keep_triple, &s, &err), 0, "%s",
		     err.msg);
	cr_assert_str_eq(seen_auth, "Bearer " SECRET);
	graph_close(&g);

	g = graph_on("svc", "");
	cr_assert_eq(g.ops->about(g.impl, "atlas", "urn:s", keep_triple, &s, &err), 0, "%s",
		     err.msg);
	cr_assert_str_eq(seen_auth, "");
	graph_close(&g);

	struct evidence ev = evidence_on("svc", SECRET);
	struct proof_evidence e = record("ev-1", "p-1", 3);
	cr_assert_eq(ev.ops->put(ev.impl, &e, &err), 0, "%s", err.msg);
	cr_assert_str_eq(seen_auth, "Bearer " SECRET);
	evidence_close(&ev);

	ev = evidence_on("svc", NULL);
	cr_assert_eq(ev.ops->of(ev.impl, "p-1", keep_record, &s, &err), 0, "%s", err.msg);
	cr_assert_str_eq(seen_auth, "");
	evidence_close(&ev);
}

/* --- evidence */

Test(proof_http, evidence_put_then_read_back_by_proposal)
{
	struct evidence ev = evidence_on("svc", NULL);
	struct proof_evidence a = record("ev-1", "p-1", 1234), b = record("ev-2", "p-1", 0),
			      c = record("ev-3", "p-2", 7);
	snprintf(b.location, sizeof b.location, "s3://bucket/key with space");
	snprintf(b.producer, sizeof b.producer, "temporal");
	struct perr err = {0};
	cr_assert_eq(ev.ops->put(ev.impl, &a, &err), 0, "%s", err.msg);
	cr_assert_str_eq(seen_method, "PUT");
	cr_assert_str_eq(seen_type, "application/json");
	cr_assert_eq(ev.ops->put(ev.impl, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(ev.ops->put(ev.impl, &c, &err), 0, "%s", err.msg);
	struct seen s = {0};
	cr_assert_eq(ev.ops->of(ev.impl, "p-1", keep_record, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(s.n, 2);
	for (int i = 0; i < s.n; i++) {
		const struct proof_evidence *want = strcmp(s.e[i].id, "ev-1") == 0 ? &a : &b;
		cr_assert_str_eq(s.e[i].id, want->id);
		cr_assert_str_eq(s.e[i].proposal, "p-1");
		cr_assert_str_eq(s.e[i].digest, want->digest);
		cr_assert_eq(s.e[i].size, want->size);
		cr_assert_str_eq(s.e[i].location, want->location);
		cr_assert_str_eq(s.e[i].producer, want->producer);
	}
	evidence_close(&ev);
}

Test(proof_http, ids_and_proposals_that_need_encoding_round_trip)
{
	struct evidence ev = evidence_on("svc", NULL);
	struct proof_evidence e = record("ev/1 ?&=#% é", "p 1/+é", 5);
	struct perr err = {0};
	cr_assert_eq(ev.ops->put(ev.impl, &e, &err), 0, "%s", err.msg);
	cr_assert(json_object_get(records, "ev/1 ?&=#% é"), "the id did not arrive whole");
	struct seen s = {0};
	cr_assert_eq(ev.ops->of(ev.impl, "p 1/+é", keep_record, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(s.n, 1);
	cr_assert_str_eq(s.e[0].id, "ev/1 ?&=#% é");
	evidence_close(&ev);
}

Test(proof_http, the_same_record_twice_is_not_an_error)
{
	struct evidence ev = evidence_on("svc", NULL);
	struct proof_evidence e = record("ev-1", "p-1", 3);
	struct perr err = {0};
	cr_assert_eq(ev.ops->put(ev.impl, &e, &err), 0, "%s", err.msg);
	cr_assert_eq(ev.ops->put(ev.impl, &e, &err), 0, "%s", err.msg);
	struct seen s = {0};
	cr_assert_eq(ev.ops->of(ev.impl, "p-1", keep_record, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(s.n, 1);
	evidence_close(&ev);
}

Test(proof_http, a_differing_record_with_the_same_id_is_a_conflict)
{
	struct evidence ev = evidence_on("svc", NULL);
	struct proof_evidence e = record("ev-1", "p-1", 3), other = record("ev-1", "p-1", 4);
	struct perr err = {0};
	cr_assert_eq(ev.ops->put(ev.impl, &e, &err), 0, "%s", err.msg);
	cr_assert_eq(ev.ops->put(ev.impl, &other, &err), PERR_CONFLICT);
	cr_assert_eq(err.code, PERR_CONFLICT);
	cr_assert(strstr(err.msg, "ev-1"), "%s", err.msg);
	must_be_clean(&err);
	struct seen s = {0};
	cr_assert_eq(ev.ops->of(ev.impl, "p-1", keep_record, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.e[0].size, 3, "the first record was replaced");
	evidence_close(&ev);
}

Test(proof_http, a_proposal_without_records_has_none)
{
	struct evidence ev = evidence_on("svc", NULL);
	struct seen s = {0};
	struct perr err = {0};
	cr_assert_eq(ev.ops->of(ev.impl, "p-none", keep_record, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(s.n, 0);
	evidence_close(&ev);
}

Test(proof_http, a_bad_record_is_invalid_and_sends_nothing)
{
	struct evidence ev = evidence_on("svc", NULL);
	struct perr err = {0};
	struct proof_evidence e = record("", "p-1", 3);
	cr_assert_eq(ev.ops->put(ev.impl, &e, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "id");
	e = record("ev-1", "", 3);
	cr_assert_eq(ev.ops->put(ev.impl, &e, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "proposal");
	e = record("ev-1", "p-1", -1);
	cr_assert_eq(ev.ops->put(ev.impl, &e, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "size");
	e = record("ev-1", "p-1", 1);
	memset(e.producer, 'x', sizeof e.producer);
	cr_assert_eq(ev.ops->put(ev.impl, &e, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "producer");
	cr_assert_eq(ev.ops->of(ev.impl, "", keep_record, NULL, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "proposal");
	cr_assert_eq(nrequests, 0);
	evidence_close(&ev);
}

/* --- how failures come back */

Test(proof_http, a_500_with_a_json_error_message_is_unavailable_with_that_message)
{
	struct graph g = graph_on("fail500", SECRET);
	struct proof_triple t = triple("urn:s", "urn:p", "o");
	struct perr err = {0};
	cr_assert_eq(g.ops->put(g.impl, "atlas", &t, 1, &err), PERR_UNAVAILABLE);
	cr_assert_str_eq(err.msg, "the graph service answered HTTP 500: disk full");
	must_be_clean(&err);
	struct seen s = {0};
	cr_assert_eq(g.ops->about(g.impl, "atlas", "urn:s", keep_triple, &s, &err),
		     PERR_UNAVAILABLE);
	cr_assert_str_eq(err.msg, "the graph service answered HTTP 500: disk full");
	graph_close(&g);

	struct evidence ev = evidence_on("fail503", SECRET);
	struct proof_evidence e = record("ev-1", "p-1", 3);
	cr_assert_eq(ev.ops->put(ev.impl, &e, &err), PERR_UNAVAILABLE);
	cr_assert_str_eq(err.msg, "the evidence service answered HTTP 503: maintenance window");
	cr_assert_eq(ev.ops->of(ev.impl, "p-1", keep_record, &s, &err), PERR_UNAVAILABLE);
	cr_assert_str_eq(err.msg, "the evidence service answered HTTP 503: maintenance window");
	must_be_clean(&err);
	evidence_close(&ev);
}

Test(proof_http, a_failure_without_a_json_message_gives_the_status_alone)
{
	struct graph g = graph_on("failhtml", SECRET);
	struct seen s = {0};
	struct perr err = {0};
	cr_assert_eq(g.ops->about(g.impl, "atlas", "urn:s", keep_triple, &s, &err),
		     PERR_UNAVAILABLE);
	cr_assert_str_eq(err.msg, "the graph service answered HTTP 502");
	graph_close(&g);
}

Test(proof_http, a_message_naming_an_address_or_the_token_is_not_repeated)
{
	static const char *modes[] = {"leakurl", "leakhost", "leaktoken"};
	static const char *want[] = {"the graph service answered HTTP 500",
				     "the graph service answered HTTP 500",
				     "the graph service answered HTTP 401"};
	for (size_t i = 0; i < 3; i++) {
		struct graph g = graph_on(modes[i], SECRET);
		struct seen s = {0};
		struct perr err = {0};
		cr_assert_eq(g.ops->about(g.impl, "atlas", "urn:s", keep_triple, &s, &err),
			     PERR_UNAVAILABLE, "%s", modes[i]);
		cr_assert_str_eq(err.msg, want[i], "%s", modes[i]);
		must_be_clean(&err);
		graph_close(&g);
	}
}

Test(proof_http, a_long_message_is_capped_on_a_character_boundary)
{
	struct evidence ev = evidence_on("longmsg", NULL);
	struct seen s = {0};
	struct perr err = {0};
	cr_assert_eq(ev.ops->of(ev.impl, "p-1", keep_record, &s, &err), PERR_UNAVAILABLE);
	const char *prefix = "the evidence service answered HTTP 500: start xé";
	cr_assert_eq(strncmp(err.msg, prefix, strlen(prefix)), 0, "%s", err.msg);
	cr_assert_null(strchr(err.msg, '\n'), "a control character came through");
	size_t len = strlen(err.msg);
	cr_assert_lt(len, sizeof err.msg - 1, "the message filled perr to the brim");
	cr_assert_str_eq(err.msg + len - 5, "é…", "%s", err.msg);
	json_t *v = json_string(err.msg);
	cr_assert(v, "the cut left broken UTF-8");
	json_decref(v);
	evidence_close(&ev);
}

Test(proof_http, a_triple_longer_than_portal_keeps_is_an_error)
{
	struct graph g = graph_on("long", NULL);
	struct seen s = {0};
	struct perr err = {0};
	cr_assert_eq(g.ops->about(g.impl, "atlas", "urn:s", keep_triple, &s, &err),
		     PERR_UNAVAILABLE);
	cr_assert_str_eq(err.msg, "the graph service answered a triple longer than Portal keeps "
				  "(object over 511 bytes)");
	cr_assert_eq(s.n, 0);
	graph_close(&g);
}

Test(proof_http, an_evidence_field_longer_than_portal_keeps_is_an_error)
{
	struct evidence ev = evidence_on("long", NULL);
	struct seen s = {0};
	struct perr err = {0};
	cr_assert_eq(ev.ops->of(ev.impl, "p-1", keep_record, &s, &err), PERR_UNAVAILABLE);
	cr_assert_str_eq(err.msg, "the evidence service answered a record longer than Portal "
				  "keeps (location over 511 bytes)");
	cr_assert_eq(s.n, 0);
	evidence_close(&ev);
}

Test(proof_http, an_answer_about_another_subject_or_proposal_is_refused)
{
	struct graph g = graph_on("other", NULL);
	struct seen s = {0};
	struct perr err = {0};
	cr_assert_eq(g.ops->about(g.impl, "atlas", "urn:s", keep_triple, &s, &err),
		     PERR_UNAVAILABLE);
	cr_assert(strstr(err.msg, "another subject"), "%s", err.msg);
	graph_close(&g);
	struct evidence ev = evidence_on("other", NULL);
	cr_assert_eq(ev.ops->of(ev.impl, "p-1", keep_record, &s, &err), PERR_UNAVAILABLE);
	cr_assert(strstr(err.msg, "another proposal"), "%s", err.msg);
	cr_assert_eq(s.n, 0);
	evidence_close(&ev);
}

Test(proof_http, a_record_with_a_negative_size_is_refused)
{
	struct evidence ev = evidence_on("badsize", NULL);
	struct seen s = {0};
	struct perr err = {0};
	cr_assert_eq(ev.ops->of(ev.impl, "p-1", keep_record, &s, &err), PERR_UNAVAILABLE);
	cr_assert(strstr(err.msg, "size"), "%s", err.msg);
	evidence_close(&ev);
}

Test(proof_http, an_answer_over_4_mib_is_an_error)
{
	struct graph g = graph_on("big", NULL);
	struct seen s = {0};
	struct perr err = {0};
	cr_assert_eq(g.ops->about(g.impl, "atlas", "urn:s", keep_triple, &s, &err),
		     PERR_UNAVAILABLE);
	cr_assert_str_eq(err.msg, "the graph service answered more than 4 MiB");
	graph_close(&g);
}

Test(proof_http, an_answer_that_is_not_json_is_an_error)
{
	struct graph g = graph_on("notjson", NULL);
	struct seen s = {0};
	struct perr err = {0};
	cr_assert_eq(g.ops->about(g.impl, "atlas", "urn:s", keep_triple, &s, &err),
		     PERR_UNAVAILABLE);
	cr_assert_str_eq(err.msg, "the graph service answered something that is not "
				  "{\"triples\":[…]}");
	graph_close(&g);
	struct evidence ev = evidence_on("notjson", NULL);
	cr_assert_eq(ev.ops->of(ev.impl, "p-1", keep_record, &s, &err), PERR_UNAVAILABLE);
	cr_assert(strstr(err.msg, "{\"records\":[…]}"), "%s", err.msg);
	evidence_close(&ev);
}

Test(proof_http, a_404_is_no_triples_for_the_graph_but_a_failure_for_evidence)
{
	struct graph g = graph_on("nothing", NULL);
	struct seen s = {0};
	struct perr err = {0};
	cr_assert_eq(g.ops->about(g.impl, "atlas", "urn:s", keep_triple, &s, &err), 0, "%s",
		     err.msg);
	struct proof_triple t = triple("urn:s", "urn:p", "o");
	cr_assert_eq(g.ops->put(g.impl, "atlas", &t, 1, &err), PERR_UNAVAILABLE);
	cr_assert_str_eq(err.msg, "the graph service answered HTTP 404");
	graph_close(&g);
	struct evidence ev = evidence_on("nothing", NULL);
	cr_assert_eq(ev.ops->of(ev.impl, "p-1", keep_record, &s, &err), PERR_UNAVAILABLE);
	cr_assert_str_eq(err.msg, "the evidence service answered HTTP 404");
	evidence_close(&ev);
}

Test(proof_http, a_redirect_is_not_followed)
{
	struct evidence ev = evidence_on("redirect", SECRET);
	struct seen s = {0};
	struct perr err = {0};
	cr_assert_eq(ev.ops->of(ev.impl, "p-1", keep_record, &s, &err), PERR_UNAVAILABLE);
	cr_assert_str_eq(err.msg, "the evidence service answered HTTP 302");
	cr_assert_eq(nrequests, 1, "the redirect was followed");
	must_be_clean(&err);
	evidence_close(&ev);
}

Test(proof_http, a_service_that_never_answers_times_out_within_the_timeout)
{
	struct proof_remote r = remote("hang", SECRET, 0);
	r.timeout_ms = 300;
	struct graph g = {0};
	struct perr err = {0};
	cr_assert_eq(graph_http_open(&r, &g, &err), 0, "%s", err.msg);
	struct seen s = {0};
	long long t0 = clock_mono_us();
	cr_assert_eq(g.ops->about(g.impl, "atlas", "urn:s", keep_triple, &s, &err),
		     PERR_UNAVAILABLE);
	long long ms = (clock_mono_us() - t0) / 1000;
	cr_assert_geq(ms, 250, "gave up after %lld ms", ms);
	cr_assert_lt(ms, 1500, "took %lld ms", ms);
	cr_assert_str_eq(err.msg, "the graph service did not answer within 300 ms");
	must_be_clean(&err);
	graph_close(&g);

	struct evidence ev = {0};
	cr_assert_eq(evidence_http_open(&r, &ev, &err), 0, "%s", err.msg);
	struct proof_evidence e = record("ev-1", "p-1", 3);
	t0 = clock_mono_us();
	cr_assert_eq(ev.ops->put(ev.impl, &e, &err), PERR_UNAVAILABLE);
	cr_assert_lt((clock_mono_us() - t0) / 1000, 1500);
	cr_assert_str_eq(err.msg, "the evidence service did not answer within 300 ms");
	evidence_close(&ev);
}

Test(proof_http, a_refused_port_is_unavailable_and_names_no_address)
{
	struct proof_remote r = remote("svc", SECRET, -1);
	struct graph g = {0};
	struct evidence ev = {0};
	struct perr err = {0};
	cr_assert_eq(graph_http_open(&r, &g, &err), 0, "%s", err.msg);
	cr_assert_eq(evidence_http_open(&r, &ev, &err), 0, "%s", err.msg);
	struct proof_triple t = triple("urn:s", "urn:p", "o");
	cr_assert_eq(g.ops->put(g.impl, "atlas", &t, 1, &err), PERR_UNAVAILABLE);
	cr_assert(strstr(err.msg, "the graph service did not answer"), "%s", err.msg);
	must_be_clean(&err);
	struct seen s = {0};
	cr_assert_eq(ev.ops->of(ev.impl, "p-1", keep_record, &s, &err), PERR_UNAVAILABLE);
	cr_assert(strstr(err.msg, "the evidence service did not answer"), "%s", err.msg);
	must_be_clean(&err);
	graph_close(&g);
	evidence_close(&ev);
}

/* --- opening */

Test(proof_http, a_trailing_slash_on_the_url_is_ignored)
{
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/svc//", srv.port);
	struct proof_remote r = {.url = url};
	struct graph g = {0};
	struct perr err = {0};
	cr_assert_eq(graph_http_open(&r, &g, &err), 0, "%s", err.msg);
	struct proof_triple t = triple("urn:s", "urn:p", "o");
	cr_assert_eq(g.ops->put(g.impl, "atlas", &t, 1, &err), 0, "%s", err.msg);
	graph_close(&g);
}

Test(proof_http, bad_settings_are_refused_at_open_naming_the_field)
{
	static const struct {
		const char *url;
		int timeout_ms;
		const char *field;
	} cases[] = {
		{NULL, 0, "url"},
		{"", 0, "url"},
		{"ftp://files.internal.example/graph", 0, "url"},
		{"file:///etc/passwd", 0, "url"},
		{"graph.internal.example:8080", 0, "url"},
		{"not a url at all", 0, "url"},
		{"http://user:" SECRET "@graph.internal.example", 0, "url"},
		{"http://graph.internal.example/api?x=1", 0, "url"},
		{"http://graph.internal.example/api#frag", 0, "url"},
		{"http://graph.internal.example", -1, "timeout_ms"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct proof_remote r = {.url = cases[i].url, .secret = SECRET,
					 .timeout_ms = cases[i].timeout_ms};
		struct graph g = {0};
		struct evidence ev = {0};
		struct perr err = {0};
		cr_assert_eq(graph_http_open(&r, &g, &err), PERR_INVALID, "case %zu", i);
		cr_assert_str_eq(err.field, cases[i].field, "case %zu: %s", i, err.msg);
		cr_assert_null(strstr(err.msg, "internal.example"), "%s", err.msg);
		cr_assert_null(strstr(err.msg, SECRET), "%s", err.msg);
		cr_assert(strstr(err.msg, "the graph service"), "%s", err.msg);
		cr_assert_null(g.ops);
		cr_assert_eq(evidence_http_open(&r, &ev, &err), PERR_INVALID, "case %zu", i);
		cr_assert_str_eq(err.field, cases[i].field, "case %zu", i);
		cr_assert_null(ev.ops);
	}
}

Test(proof_http, https_urls_open_without_io)
{
	struct proof_remote r = {.url = "https://graph.internal.example:8443/api"};
	struct graph g = {0};
	struct perr err = {0};
	cr_assert_eq(graph_http_open(&r, &g, &err), 0, "%s", err.msg);
	graph_close(&g);
	graph_close(&g); /* a zeroed plane closes too */
	cr_assert_eq(nrequests, 0);
}
