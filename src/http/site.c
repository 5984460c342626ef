/* site: how the transport reaches the site it serves (struct http_site) and
 * the plain JSON defaults for a site that leaves a hook out. Nothing here
 * renders a page or knows who anyone is. */
#include "http/http.h"

int http_refuse(struct http_ctx *c, const struct http_refusal *r)
{
	if (c->site && c->site->refuse)
		return c->site->refuse(c, r);
	return http_refuse_json(c, r);
}

int http_refuse_json(struct http_ctx *c, const struct http_refusal *r)
{
	return http_reply_error(c, blocker_http_status(r->cls, r->cause), r->code, r->field, "%s",
				r->message);
}

int http_admit_public(struct http_ctx *c)
{
	if (c->match.route->need == ROUTE_PUBLIC)
		return 0;
	http_reply_error(c, 401, "unauthenticated", NULL,
			 "%s needs a caller this server cannot identify", c->path);
	return 1;
}

int http_unrouted_json(struct http_ctx *c)
{
	if (c->match.status == 405)
		return http_reply_error(c, 405, "method_not_allowed", "method",
					"%s is not allowed on %s; allowed: %s",
					http_method_name(c->method), c->path, c->match.allow);
	return http_reply_error(c, 404, "not_found", "path", "no resource at %s", c->path);
}
