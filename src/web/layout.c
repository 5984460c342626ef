/* layout: the shell every page shares: head, header with the environment
 * label, the workflow-path navigation, and the footer. */
#include <string.h>

#include "app/app.h"
#include "auth/admit.h"
#include "core/role.h"
#include "core/stage.h"
#include "http/http.h"
#include "web/html.h"
#include "web/web.h"

/* Who is signed in, and the way out; or the way in, back to this page. */
static void identity(struct buf *b, struct http_ctx *c)
{
	if (!c->signed_in) {
		struct buf href = BUF_INIT;
		if (!strcmp(c->path, "/login"))
			buf_puts(&href, "/login");
		else
			admit_login_href(c, 0, &href);
		html_lit(b, "<a class=\"signin-link\"");
		html_href_local(b, href.data);
		html_lit(b, ">Sign in</a>\n");
		buf_free(&href);
		return;
	}
	html_lit(b, "<form class=\"identity\" method=\"post\" action=\"/logout\">"
		    "<span data-user");
	html_attr(b, "data-role", role_name((enum role)c->who.role));
	html_lit(b, ">");
	html_text(b, c->who.user);
	html_lit(b, " · ");
	html_text(b, role_name((enum role)c->who.role));
	html_lit(b, "</span><input type=\"hidden\" name=\"csrf\"");
	html_attr(b, "value", c->who.csrf);
	html_lit(b, "><button type=\"submit\">Sign out</button>"
		    "<button type=\"submit\" name=\"scope\" value=\"everywhere\" "
		    "class=\"quiet\">Sign out everywhere</button></form>\n");
}

void web_layout_begin(struct buf *b, struct http_ctx *c, const char *title)
{
	web_layout_begin_script(b, c, title, NULL);
}

void web_layout_begin_script(struct buf *b, struct http_ctx *c, const char *title,
			     const char *script)
{
	html_lit(b, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	html_text(b, title);
	html_lit(b, " · Portal</title>\n<link rel=\"stylesheet\"");
	html_attr(b, "href", web_asset_url("portal.css"));
	html_lit(b, ">\n<link rel=\"icon\" type=\"image/svg+xml\"");
	html_attr(b, "href", web_asset_url("favicon.svg"));
	html_lit(b, ">\n");
	if (c->signed_in) { /* for scripts that post: the X-CSRF-Token value */
		html_lit(b, "<meta name=\"csrf-token\"");
		html_attr(b, "content", c->who.csrf);
		html_lit(b, ">\n");
	}
	html_lit(b, "<script defer");
	html_attr(b, "src", web_asset_url("portal.js"));
	html_lit(b, "></script>\n");
	if (script) {
		html_lit(b, "<script defer");
		html_attr(b, "src", web_asset_url(script));
		html_lit(b, "></script>\n");
	}
	html_lit(b, "</head>\n<body>\n"
		    "<a class=\"skip\" href=\"#main\">Skip to content</a>\n"
		    "<header class=\"top\">\n<a class=\"brand\" href=\"/\">Portal</a>\n"
		    "<span class=\"env\" title=\"Environment\" data-environment>");
	html_text(b, c->cfg->environment);
	html_lit(b, "</span>\n<nav aria-label=\"Workflow path\">\n<ol class=\"path\">\n");
	for (int s = 0; s < STAGE_COUNT; s++) {
		const struct stage_info *si = stage_info((enum stage)s);
		struct buf href = BUF_INIT;
		buf_printf(&href, "/#%s", si->slug);
		html_lit(b, "<li><a");
		html_href_local(b, href.data);
		html_attr(b, "data-stage", si->slug);
		html_lit(b, ">");
		html_text(b, si->title);
		html_lit(b, "</a></li>\n");
		buf_free(&href);
	}
	struct readiness r;
	app_readiness(c->app, &r);
	html_lit(b, "</ol>\n</nav>\n<nav aria-label=\"Views\" class=\"views\">\n"
		    "<a href=\"/operator\">Operator</a>\n<a href=\"/substrate\">Substrate</a>\n"
		    "<a href=\"/proposals\">Proposals</a>\n<a href=\"/proof\">Proof</a>\n");
	if (c->signed_in && role_allows((enum role)c->who.role, ROLE_ADMIN))
		html_lit(b, "<a href=\"/admin/users\">Accounts</a>\n");
	html_lit(b, "</nav>\n<a class=\"ready\" href=\"/readyz\" data-ready");
	html_attr(b, "data-state", r.store.ready ? "ready" : "not-ready");
	html_lit(b, ">");
	html_text(b, r.store.ready ? "Store ready" : "Store not ready");
	html_lit(b, "</a>\n");
	identity(b, c);
	html_lit(b, "</header>\n<main id=\"main\">\n");
}

void web_layout_end(struct buf *b, struct http_ctx *c)
{
	html_lit(b, "</main>\n<footer>\n<span>Portal ");
	html_text(b, PORTAL_VERSION);
	html_lit(b, "</span> · <span>FractalOps control plane</span> · <span>request ");
	html_text(b, c->request_id);
	html_lit(b, "</span>\n</footer>\n</body>\n</html>\n");
}

int web_reply_page(struct http_ctx *c, int status, struct buf *b)
{
	http_header(c, "Cache-Control", "no-cache");
	return http_reply(c, status, "text/html; charset=utf-8", b->data, b->len);
}
