/* router: pattern matching over the route table. Pure: no I/O, no allocation. */
#include "http/router.h"

#include <stdio.h>
#include <string.h>

static const char *const method_names[METHOD_COUNT] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "OTHER",
};

const char *http_method_name(enum http_method m)
{
	return (unsigned)m < METHOD_COUNT ? method_names[m] : "OTHER";
}

/* Splits "/a/b/c" into segments; returns the count, or -1 when the path is not
 * absolute, has an empty segment ("//", trailing "/") or too many segments.
 * "/" has zero segments. */
static int split(const char *path, const char *seg[], size_t len[])
{
	if (path[0] != '/')
		return -1;
	if (path[1] == '\0')
		return 0;
	int n = 0;
	const char *p = path + 1;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t l = slash ? (size_t)(slash - p) : strlen(p);
		if (l == 0 || n == ROUTER_MAX_SEGMENTS)
			return -1;
		seg[n] = p;
		len[n++] = l;
		if (!slash)
			return n;
		p = slash + 1;
	}
}

/* Whether pattern matches the split path; records params into m when it does. */
static int match_one(const char *pattern, int n, const char *seg[], const size_t len[],
		     struct route_match *m)
{
	const char *pseg[ROUTER_MAX_SEGMENTS];
	size_t plen[ROUTER_MAX_SEGMENTS];
	int pn = split(pattern, pseg, plen);
	if (pn != n)
		return 0;
	int npar = 0;
	for (int i = 0; i < n; i++) {
		if (pseg[i][0] == '{') {
			if (npar == ROUTER_MAX_PARAMS)
				return 0;
			m->params[npar].name = pseg[i] + 1;
			m->params[npar].name_len = plen[i] - 2;
			m->params[npar].value = seg[i];
			m->params[npar].value_len = len[i];
			npar++;
		} else if (plen[i] != len[i] || memcmp(pseg[i], seg[i], len[i]) != 0) {
			return 0;
		}
	}
	m->npar = npar;
	return 1;
}

void router_match(const struct route *routes, size_t n, enum http_method method,
		  const char *path, struct route_match *m)
{
	memset(m, 0, sizeof *m);
	m->status = 404;
	m->route_index = -1;
	m->path_kind = -1;
	const char *seg[ROUTER_MAX_SEGMENTS];
	size_t len[ROUTER_MAX_SEGMENTS];
	int ns = split(path, seg, len);
	if (ns < 0)
		return;
	int allowed[METHOD_COUNT] = {0};
	int path_known = 0;
	for (size_t i = 0; i < n; i++) {
		struct route_match tmp;
		memset(&tmp, 0, sizeof tmp);
		if (!match_one(routes[i].pattern, ns, seg, len, &tmp))
			continue;
		if (!path_known)
			m->path_kind = (int)routes[i].kind;
		path_known = 1;
		allowed[routes[i].method] = 1;
		if (routes[i].method == METHOD_GET)
			allowed[METHOD_HEAD] = 1;
		int hit = routes[i].method == method ||
			  (method == METHOD_HEAD && routes[i].method == METHOD_GET);
		if (hit && m->status != 200) {
			tmp.path_kind = m->path_kind;
			*m = tmp;
			m->status = 200;
			m->route = &routes[i];
			m->route_index = (int)i;
		}
	}
	if (!path_known)
		return;
	allowed[METHOD_OPTIONS] = 1;
	size_t off = 0;
	for (int k = 0; k < METHOD_COUNT; k++) {
		if (!allowed[k])
			continue;
		off += (size_t)snprintf(m->allow + off, sizeof m->allow - off, "%s%s",
					off ? ", " : "", method_names[k]);
		if (off >= sizeof m->allow)
			break;
	}
	if (m->status != 200)
		m->status = 405;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int router_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t k = 0; k < n; k++) {
		int c = (unsigned char)s[k];
		if (c == '%') {
			if (k + 2 >= n)
				return -1;
			int hi = hexval(s[k + 1]), lo = hexval(s[k + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			k += 2;
		}
		if (c == 0 || o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (int)o;
}

int router_param(const struct route_match *m, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	for (int i = 0; i < m->npar; i++) {
		if (m->params[i].name_len == nl && memcmp(m->params[i].name, name, nl) == 0)
			return router_decode(m->params[i].value, m->params[i].value_len, out, cap);
	}
	return -1;
}
