/* router: one table of routes (method, pattern, handler, kind) matched against
 * a request path. Patterns are literal segments and {param} segments, each
 * {param} matching exactly one non-empty segment. 404 and 405 are decided here,
 * once, for every route. The table also feeds the OpenAPI consistency test. */
#ifndef PORTAL_ROUTER_H
#define PORTAL_ROUTER_H

#include <stddef.h>

struct http_ctx;

enum route_kind {
	ROUTE_API,   /* JSON or text for machines; documented in docs/openapi.json */
	ROUTE_PAGE,  /* HTML for people */
	ROUTE_ASSET, /* static files compiled into the binary */
};

enum http_method {
	METHOD_GET,
	METHOD_HEAD,
	METHOD_POST,
	METHOD_PUT,
	METHOD_DELETE,
	METHOD_PATCH,
	METHOD_OPTIONS,
	METHOD_OTHER,
	METHOD_COUNT
};

struct route {
	enum http_method method; /* GET routes also answer HEAD */
	const char *pattern;     /* "/api/v1/projects/{id}" */
	int (*handler)(struct http_ctx *ctx);
	enum route_kind kind;
	const char *summary;     /* one line, for people and the OpenAPI test */
	int need;                /* the least role (enum role, core/role.h) that may use
				    the route, or ROUTE_PUBLIC; left out, it is 0: viewer,
				    so a new route is closed until it says otherwise */
};

#define ROUTE_PUBLIC (-1)

#define ROUTER_MAX_PARAMS 4
#define ROUTER_MAX_SEGMENTS 16

struct route_match {
	int status;              /* 200 (found), 404 or 405 */
	const struct route *route;
	int route_index;         /* index in the table, or -1 */
	int npar;
	struct {
		const char *name; size_t name_len;   /* from the pattern */
		const char *value; size_t value_len; /* raw (still percent-encoded) */
	} params[ROUTER_MAX_PARAMS];
	int path_kind;           /* kind of a route whose pattern fits the path
				    (enum route_kind), or -1 when none does */
	char allow[96];          /* for 405 and OPTIONS: "GET, HEAD" */
};

const char *http_method_name(enum http_method m);

/* Matches method + raw path (no query) against routes[0..n). Fills m; the
 * params point into path and the table, so they live as long as both. */
void router_match(const struct route *routes, size_t n, enum http_method method,
		  const char *path, struct route_match *m);

/* Percent-decodes s[0..n) into out (NUL-ended). Returns the length, or -1
 * on a bad %XX, a NUL byte, or a result longer than cap-1. */
int router_decode(const char *s, size_t n, char *out, size_t cap);

/* Copies the percent-decoded value of parameter `name` into out (NUL-ended).
 * Returns its length, or -1 when absent, malformed (bad %XX, NUL byte) or
 * longer than cap-1. */
int router_param(const struct route_match *m, const char *name, char *out, size_t cap);

#endif
