/* admin: the accounts page. Lists every account with its role, state and
 * live sign-ins, and ends an account's sign-ins everywhere. Creating
 * accounts and setting passwords stay on the command line (`portal user`),
 * where a password never crosses a browser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "core/role.h"
#include "http/http.h"
#include "auth/signin.h"
#include "util/log.h"
#include "web/html.h"
#include "web/web.h"

struct rows {
	struct buf *b;
	const char *csrf;
	int n;
};

static void row(void *arg, const struct login_account *a)
{
	struct rows *r = arg;
	struct buf *b = r->b;
	r->n++;
	html_lit(b, "<tr");
	html_attr(b, "data-account", a->name);
	html_lit(b, "><td>");
	html_text(b, a->name);
	html_lit(b, "</td><td>");
	html_text(b, role_name((enum role)a->role));
	html_lit(b, "</td><td>");
	html_text(b, a->disabled ? "disabled" : "enabled");
	html_lit(b, "</td><td data-logins>");
	html_textf(b, "%d", a->logins);
	html_lit(b, "</td><td><form method=\"post\"");
	struct buf action = BUF_INIT;
	buf_printf(&action, "/admin/users/%s/signout", a->name); /* names are [a-z0-9._-] */
	html_attr(b, "action", action.data);
	buf_free(&action);
	html_lit(b, "><input type=\"hidden\" name=\"csrf\"");
	html_attr(b, "value", r->csrf);
	html_lit(b, "><button type=\"submit\">Sign out everywhere</button></form></td></tr>\n");
}

int web_page_admin_users(struct http_ctx *c)
{
	struct buf b = BUF_INIT;
	web_layout_begin(&b, c, "Accounts");
	html_lit(&b, "<h1>Accounts</h1>\n<p class=\"lead\">Who may sign in, with which role. Roles "
		     "are ordered: viewer reads; operator also reaches the debug surfaces; approver "
		     "also decides proposals; admin also manages accounts. Add accounts and reset "
		     "passwords with <code>portal user</code> on the server.</p>\n"
		     "<table class=\"accounts\">\n<thead><tr><th>Account</th><th>Role</th>"
		     "<th>State</th><th>Live sign-ins</th><th></th></tr></thead>\n<tbody>\n");
	struct rows r = {&b, c->who.csrf, 0};
	login_cache_accounts_each(c->app->logins, row, &r);
	html_lit(&b, "</tbody>\n</table>\n");
	web_layout_end(&b, c);
	int rc = web_reply_page(c, 200, &b);
	buf_free(&b);
	return rc;
}

static void on_signed_out(struct http_ctx *c, const struct signin_result *r, void *arg)
{
	(void)arg;
	if (!r->ok) {
		static const struct http_action back[] = {{"/admin/users", "Back to the accounts"}};
		web_reply_recovery(c, BLOCKER_DEPENDENCY, BLOCKER_CAUSE_DEFAULT,
				   "Sign-out not recorded",
				   "Portal could not reach its store to end those sign-ins. Nothing "
				   "changed; try again in a moment.",
				   back, 1);
		return;
	}
	http_header(c, "Location", "/admin/users");
	http_reply(c, 303, NULL, NULL, 0);
}

static void find_id(void *arg, const struct login_account *a)
{
	struct { const char *name; long long id; } *f = arg;
	if (!strcmp(a->name, f->name))
		f->id = a->id;
}

int web_admin_signout(struct http_ctx *c)
{
	char name[STORE_NAME_MAX];
	if (router_param(&c->match, "name", name, sizeof name) <= 0)
		return web_reply_unrouted(c);
	struct { const char *name; long long id; } f = {name, 0};
	login_cache_accounts_each(c->app->logins, find_id, &f);
	if (!f.id) {
		static const struct http_action back[] = {{"/admin/users", "Back to the accounts"}};
		return web_reply_recovery(c, BLOCKER_PRODUCT, BLOCKER_CAUSE_NOT_FOUND,
					  "No such account",
					  "No account of that name exists.", back, 1);
	}
	struct signin_job job = {.kind = SIGNIN_CLOSE_ALL, .user_id = f.id};
	log_emit(LOG_INFO, "account signed out everywhere",
		 json_pack("{s:s,s:s,s:s}", "request_id", c->request_id, "by", c->who.user, "user",
			   name));
	signin_submit(c->app->signin, http_defer(c), &job, on_signed_out, NULL);
	return 0;
}
