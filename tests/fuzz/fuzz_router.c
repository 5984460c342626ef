/* fuzz_router: a request target ("/path?query") as the server takes it
 * apart: the URI split the way libevent does for a request line, the path
 * matched against the real route table (router_match), every parameter
 * decoded (router_param), the query parsed (evhttp_parse_query_str) and the
 * values handlers read from it checked by the project's own parsers: counts
 * (limit), session and proposal states, and the sign-in page's next= path.
 * The first byte picks the method. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>

#include "api/api.h"
#include "core/nextpath.h"
#include "core/projection.h"
#include "core/proposal.h"
#include "site/site.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void params(const struct route_match *m)
{
	char name[64], out[512];
	for (int i = 0; i < m->npar; i++) {
		if (m->params[i].name_len >= sizeof name)
			abort(); /* a route table pattern this test does not expect */
		memcpy(name, m->params[i].name, m->params[i].name_len);
		name[m->params[i].name_len] = 0;
		int n = router_param(m, name, out, sizeof out);
		if (n >= 0 && (strlen(out) != (size_t)n || (size_t)n >= sizeof out))
			abort(); /* the decoded value holds a NUL or overran */
	}
}

static void query(const char *q)
{
	struct evkeyvalq kv;
	TAILQ_INIT(&kv);
	if (evhttp_parse_query_str(q, &kv) == 0) {
		api_count_parse(evhttp_find_header(&kv, "limit"));
		const char *v;
		if ((v = evhttp_find_header(&kv, "status")))
			session_status_parse(v);
		if ((v = evhttp_find_header(&kv, "state")))
			proposal_state_parse(v);
		v = evhttp_find_header(&kv, "next");
		const char *next = next_path_or_root(v);
		if (next[0] != '/' || next[1] == '/' || next[1] == '\\')
			abort(); /* sign-in would send a person to another origin */
	}
	evhttp_clear_headers(&kv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 8192)
		return 0;
	enum http_method method = (enum http_method)(data[0] % METHOD_COUNT);
	char *target = malloc(size);
	memcpy(target, data + 1, size - 1);
	target[size - 1] = 0;

	/* libevent parses a request line's target with this flag. */
	struct evhttp_uri *uri = evhttp_uri_parse_with_flags(target, EVHTTP_URI_NONCONFORMANT);
	if (uri) {
		const char *path = evhttp_uri_get_path(uri);
		if (!path || !*path)
			path = "/";
		struct route_match m;
		router_match(site_routes, site_nroutes, method, path, &m);
		if (m.status == 200)
			params(&m);
		const char *q = evhttp_uri_get_query(uri);
		if (q)
			query(q);
		evhttp_uri_free(uri);
	}
	/* The parsers again on the raw bytes, past what a URI lets through. */
	struct route_match m;
	router_match(site_routes, site_nroutes, method, target, &m);
	if (m.status == 200)
		params(&m);
	query(target);
	next_path_safe(target);
	api_count_parse(target);
	free(target);
	return 0;
}
