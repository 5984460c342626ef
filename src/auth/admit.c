/* admit: who is asking and whether they may. Runs on the loop thread before
 * every routed handler and reads only memory (the login and token caches),
 * never the store. It renders nothing: refusals go to the site's refuse hook. */
#include "auth/admit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>

#include "app/app.h"
#include "auth/login.h"
#include "auth/signin.h"
#include "auth/token.h"
#include "core/role.h"
#include "http/http.h"
#include "util/cidr.h"
#include "util/clock.h"

void admit_login_href(struct http_ctx *c, int expired, struct buf *out)
{
	struct buf here = BUF_INIT;
	buf_puts(&here, c->path);
	if (c->query) {
		buf_putc(&here, '?');
		buf_puts(&here, c->query);
	}
	char *enc = evhttp_uriencode(here.data, (ev_ssize_t)here.len, 0);
	buf_printf(out, "/login?next=%s%s", enc ? enc : "%2F", expired ? "&expired=1" : "");
	free(enc);
	buf_free(&here);
}

static void identify(struct http_ctx *c)
{
	const struct config *cfg = c->cfg;
	struct login_cache *lc = c->app->logins;
	if (!lc)
		return;
	/* A trusted proxy's word, when one is configured and it is the peer. */
	if (cfg->identity_header[0]) {
		char *addr = NULL;
		ev_uint16_t port = 0;
		struct evhttp_connection *conn = evhttp_request_get_connection(c->req);
		if (conn)
			evhttp_connection_get_peer(conn, &addr, &port);
		const char *name = http_request_header(c, cfg->identity_header);
		if (name && addr && cidr_list_match(cfg->trusted_proxies, addr) &&
		    login_cache_user(lc, name, &c->who)) {
			c->signed_in = 1;
			login_csrf(c->app->proxy_key, sizeof c->app->proxy_key, c->who.user,
				   c->who.csrf);
			return;
		}
	}
	char cookie[LOGIN_TEXT_MAX + 8];
	if (http_cookie(c, LOGIN_COOKIE, cookie, sizeof cookie) < 0)
		return;
	switch (login_cache_check(lc, cookie, clock_wall_ms(), cfg->session_idle_ms, &c->who)) {
	case LOGIN_OK:
		c->signed_in = 1;
		break;
	case LOGIN_EXPIRED: /* gone from memory; end it in the store too */
		c->login_expired = 1;
		if (c->app->signin)
			signin_forget(c->app->signin, c->who.hash);
		break;
	case LOGIN_NONE:
		break;
	}
}

static int unsafe_method(enum http_method m)
{
	return m == METHOD_POST || m == METHOD_PUT || m == METHOD_PATCH || m == METHOD_DELETE;
}

/* The CSRF token a state-changing request carries: the X-CSRF-Token header,
 * or the form's `csrf` field. */
static int csrf_ok(struct http_ctx *c)
{
	const char *h = http_request_header(c, "X-CSRF-Token");
	if (h)
		return login_token_equal(h, c->who.csrf);
	struct evkeyvalq q;
	if (http_form(c, &q) < 0)
		return 0;
	const char *f = evhttp_find_header(&q, "csrf");
	int ok = f && login_token_equal(f, c->who.csrf);
	evhttp_clear_headers(&q);
	return ok;
}

static int refuse_unsigned(struct http_ctx *c)
{
	int html = http_wants_html(c);
	struct buf href = BUF_INIT;
	admit_login_href(c, c->login_expired, &href);
	int rc;
	if (html && (c->method == METHOD_GET || c->method == METHOD_HEAD)) {
		/* The continuation: sign in, then land exactly here. */
		http_header(c, "Location", href.data);
		rc = http_reply(c, 303, NULL, NULL, 0);
	} else {
		if (!html)
			http_header(c, "WWW-Authenticate",
				    "Bearer realm=\"portal\", scope=\"read\"");
		const struct http_action act[] = {{href.data, "Sign in to continue"}};
		const struct http_refusal r = {
			.cls = BLOCKER_AUTH,
			.cause = BLOCKER_CAUSE_SIGNED_OUT,
			.code = "unauthenticated",
			.message = c->login_expired
				? "your sign-in expired; sign in again at /login"
				: "sign in at /login, or send a bearer token with scope read",
			.title = "Sign in to continue",
			.advice = c->login_expired
				? "Your sign-in expired while you were away. Sign in again; "
				  "nothing you had already saved is lost."
				: "This needs you to be signed in.",
			.actions = act,
			.nactions = 1,
		};
		rc = http_refuse(c, &r);
	}
	buf_free(&href);
	return rc;
}

static int refuse_role(struct http_ctx *c, int need)
{
	const char *want = role_name((enum role)need), *have = role_name((enum role)c->who.role);
	struct buf msg = BUF_INIT, advice = BUF_INIT, href = BUF_INIT;
	buf_printf(&msg, "this needs the %s role; %s is signed in as %s: request access "
			 "from an admin",
		   want, c->who.user, have);
	buf_printf(&advice, "This page needs the %s role. You are signed in as %s, with the %s "
			    "role. Ask an admin to grant you %s, then come back to this link.",
		   want, c->who.user, have, want);
	admit_login_href(c, 0, &href);
	const struct http_action act[] = {
		{"/", "Go to the workflow path"},
		{href.data, "Sign in as someone else"},
	};
	const struct http_refusal r = {
		.cls = BLOCKER_AUTH,
		.cause = BLOCKER_CAUSE_FORBIDDEN,
		.code = "forbidden",
		.message = msg.data,
		.title = "Request access",
		.advice = advice.data,
		.actions = act,
		.nactions = 2,
	};
	int rc = http_refuse(c, &r);
	buf_free(&msg);
	buf_free(&advice);
	buf_free(&href);
	return rc;
}

int admit_request(struct http_ctx *c)
{
	identify(c);
	int need = c->match.route->need;
	if (need == ROUTE_PUBLIC) {
		/* A public form posted with a login still needs its token. */
		if (c->signed_in && unsafe_method(c->method) &&
		    !http_request_header(c, "Authorization") && !csrf_ok(c))
			goto csrf;
		return 0;
	}
	if (!c->signed_in) {
		const char *authz = http_request_header(c, "Authorization");
		if (authz && (c->method == METHOD_GET || c->method == METHOD_HEAD) &&
		    need == ROLE_VIEWER) {
			char name[64];
			enum auth_result ar = token_cache_check(c->app->tokens, authz, "read", name,
								sizeof name);
			if (ar == AUTH_OK) {
				c->bearer = 1;
				return 0;
			}
			if (ar == AUTH_FORBIDDEN) {
				http_reply_error(c, 403, "forbidden", "Authorization",
						 "token '%s' lacks the scope read", name);
				return 1;
			}
		}
		refuse_unsigned(c);
		return 1;
	}
	if (!role_allows((enum role)c->who.role, (enum role)need)) {
		refuse_role(c, need);
		return 1;
	}
	if (unsafe_method(c->method) && !csrf_ok(c))
		goto csrf;
	return 0;
csrf: {
	static const struct http_action act[] = {{"/", "Go to the workflow path"}};
	static const struct http_refusal r = {
		.cls = BLOCKER_AUTH,
		.cause = BLOCKER_CAUSE_FORBIDDEN,
		.code = "csrf",
		.field = "csrf",
		.message = "a state-changing request made with a sign-in needs its CSRF token "
			   "(X-CSRF-Token header or csrf form field)",
		.title = "This form has expired",
		.advice = "The form's security token is missing or stale, so nothing was changed. "
			  "Go back, reload the page and submit it again.",
		.actions = act,
		.nactions = 1,
	};
	http_refuse(c, &r);
	return 1;
}
}
