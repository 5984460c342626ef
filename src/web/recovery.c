/* recovery: the page a blocked route downshifts to. It names the blocker
 * class, keeps the status honest and always offers a way on; it never shows
 * anything internal (no stack, no path on disk, no internal URL). */
#include "http/http.h"
#include "web/html.h"
#include "web/web.h"

static const char *class_title(enum blocker_class cls)
{
	switch (cls) {
	case BLOCKER_AUTH: return "Sign-in or access needed";
	case BLOCKER_CONTRACT: return "A contract is not satisfied";
	case BLOCKER_DEPENDENCY: return "A dependency is unavailable";
	default: return "Portal could not serve this";
	}
}

int web_reply_recovery(struct http_ctx *c, enum blocker_class cls, enum blocker_cause cause,
		       const char *title, const char *message,
		       const struct http_action *actions, int nactions)
{
	if (cls <= BLOCKER_NONE || cls >= BLOCKER_CLASS_COUNT) {
		cls = BLOCKER_PRODUCT; /* nothing named the blocker: Portal's own gap */
		cause = BLOCKER_CAUSE_DEFAULT;
	}
	int status = blocker_http_status(cls, cause);
	const char *blocker_class = blocker_class_name(cls);
	struct buf b = BUF_INIT;
	web_layout_begin(&b, c, title);
	html_lit(&b, "<section class=\"recovery\" role=\"alert\"");
	html_attr(&b, "data-recovery-class", blocker_class);
	html_lit(&b, ">\n<p class=\"blocker\">");
	html_text(&b, class_title(cls));
	html_lit(&b, " · <span class=\"class\">");
	html_text(&b, blocker_class);
	html_lit(&b, "</span> · HTTP ");
	html_textf(&b, "%d", status);
	html_lit(&b, "</p>\n<h1>");
	html_text(&b, title);
	html_lit(&b, "</h1>\n<p>");
	html_text(&b, message);
	html_lit(&b, "</p>\n<h2>Next</h2>\n<ul class=\"actions\">\n");
	for (int i = 0; i < nactions; i++) {
		html_lit(&b, "<li><a");
		html_href_local(&b, actions[i].href);
		html_lit(&b, ">");
		html_text(&b, actions[i].label);
		html_lit(&b, "</a></li>\n");
	}
	html_lit(&b, "</ul>\n<p class=\"muted\">Quote request id <code>");
	html_text(&b, c->request_id);
	html_lit(&b, "</code> when you report this.</p>\n</section>\n");
	web_layout_end(&b, c);
	int rc = web_reply_page(c, status, &b);
	buf_free(&b);
	return rc;
}

static const struct http_action home[] = {
	{"/", "Go to the workflow path"},
};

int web_refuse(struct http_ctx *c, const struct http_refusal *r)
{
	if (!http_wants_html(c))
		return http_refuse_json(c, r);
	return web_reply_recovery(c, r->cls, r->cause, r->title,
				  r->advice ? r->advice : r->message,
				  r->nactions ? r->actions : home, r->nactions ? r->nactions : 1);
}

int web_reply_unrouted(struct http_ctx *c)
{
	int status = c->match.status == 405 ? 405 : 404;
	const char *m = http_method_name(c->method);
	if (!http_wants_html(c))
		return http_unrouted_json(c);
	struct buf msg = BUF_INIT;
	if (status == 405)
		buf_printf(&msg, "%s is not allowed on %s. Allowed: %s.", m, c->path, c->match.allow);
	else
		buf_printf(&msg, "There is no page at %s. It may have moved, or the link was mistyped.",
			   c->path);
	enum blocker_cause cause = status == 405 ? BLOCKER_CAUSE_NOT_ALLOWED
						 : BLOCKER_CAUSE_NOT_FOUND;
	int rc = web_reply_recovery(c, BLOCKER_PRODUCT, cause,
				    status == 405 ? "Method not allowed" : "Page not found",
				    msg.data, home, 1);
	buf_free(&msg);
	return rc;
}
