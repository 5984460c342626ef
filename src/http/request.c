/* request: reading what a request carries that is not its route: cookies,
 * form bodies and the client's address past trusted proxies. It does not
 * decide who the client is or what they may do; the site's admit hook does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>

#include "config/config.h"
#include "http/http.h"
#include "util/cidr.h"

int http_cookie(struct http_ctx *c, const char *name, char *out, size_t cap)
{
	const char *h = http_request_header(c, "Cookie");
	size_t nlen = strlen(name);
	for (const char *p = h; p && *p;) {
		while (*p == ' ' || *p == ';')
			p++;
		size_t len = strcspn(p, ";");
		if (len > nlen && p[nlen] == '=' && strncmp(p, name, nlen) == 0) {
			size_t vlen = len - nlen - 1;
			if (vlen >= cap)
				return -1;
			memcpy(out, p + nlen + 1, vlen);
			out[vlen] = 0;
			return 0;
		}
		p += len;
	}
	return -1;
}

int http_form(struct http_ctx *c, struct evkeyvalq *q)
{
	TAILQ_INIT(q);
	const char *ctype = http_request_header(c, "Content-Type");
	if (!ctype || strncasecmp(ctype, "application/x-www-form-urlencoded", 33) != 0)
		return -1;
	struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
	size_t len = evbuffer_get_length(in);
	char *body = malloc(len + 1);
	if (!body)
		return -1;
	evbuffer_copyout(in, body, len);
	body[len] = 0;
	int rc = strlen(body) == len ? evhttp_parse_query_str(body, q) : -1;
	free(body);
	return rc < 0 ? -1 : 0;
}

void http_client_address(struct http_ctx *c)
{
	char *addr = NULL;
	ev_uint16_t port = 0;
	struct evhttp_connection *conn = evhttp_request_get_connection(c->req);
	if (conn)
		evhttp_connection_get_peer(conn, &addr, &port);
	snprintf(c->peer, sizeof c->peer, "%s", addr ? addr : "");
	const char *proxies = c->cfg->trusted_proxies;
	if (!proxies[0] || !cidr_list_match(proxies, c->peer))
		return;
	const char *proto = http_request_header(c, "X-Forwarded-Proto");
	c->secure = proto && strcasecmp(proto, "https") == 0;
	const char *xff = http_request_header(c, "X-Forwarded-For");
	if (!xff)
		return;
	char list[512];
	snprintf(list, sizeof list, "%s", xff);
	for (;;) {
		char *comma = strrchr(list, ',');
		char *entry = comma ? comma + 1 : list;
		while (*entry == ' ')
			entry++;
		char *end = entry + strlen(entry);
		while (end > entry && end[-1] == ' ')
			*--end = 0;
		size_t elen = strlen(entry);
		if (!elen || elen >= sizeof c->peer) /* not an address */
			return;
		memcpy(c->peer, entry, elen + 1);
		if (!comma || !cidr_list_match(proxies, entry))
			return;
		*comma = 0;
	}
}
