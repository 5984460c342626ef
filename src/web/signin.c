/* signin: the sign-in form, signing in and signing out. The way back (`next`)
 * survives every turn: a wrong password, a throttled attempt, a stale form
 * and an expired sign-in all render the form again with it. Passwords are
 * checked on the sign-in thread (auth/signin.h), never on a loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>

#include "app/app.h"
#include "core/nextpath.h"
#include "core/role.h"
#include "http/http.h"
#include "auth/signin.h"
#include "auth/throttle.h"
#include "util/clock.h"
#include "util/log.h"
#include "web/html.h"
#include "web/web.h"

/* What the form says above its fields. */
struct notice {
	const char *info;  /* e.g. "Your sign-in expired…" */
	const char *error; /* e.g. "The name or password is wrong." */
	const char *field; /* the field the error is about */
};

static void set_cookie(struct http_ctx *c, const char *name, const char *value, const char *path,
		       const char *same_site, long long max_age_s)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s=%s; Path=%s; HttpOnly; SameSite=%s; Max-Age=%lld%s", name, value, path,
		   same_site, max_age_s, c->secure ? "; Secure" : "");
	http_header(c, "Set-Cookie", b.data);
	buf_free(&b);
}

/* The sign-in form's own CSRF pair: a random value in a cookie scoped to
 * /login and the same value in the form. Reused while the cookie lives. */
static void form_token(struct http_ctx *c, char out[LOGIN_TEXT_MAX])
{
	unsigned char h[STORE_LOGIN_HASH_LEN];
	if (http_cookie(c, LOGIN_PRE_COOKIE, out, LOGIN_TEXT_MAX) == 0 && login_id_hash(out, h) == 0)
		return;
	login_id_new(out, h);
	set_cookie(c, LOGIN_PRE_COOKIE, out, "/login", "Strict", 3600);
}

static int form_page(struct http_ctx *c, int status, const char *next, const char *user,
		     const struct notice *n)
{
	/* Signed in already (to switch accounts): the login's own token. */
	char pre[LOGIN_TEXT_MAX];
	if (c->signed_in)
		snprintf(pre, sizeof pre, "%s", c->who.csrf);
	else
		form_token(c, pre);
	struct buf b = BUF_INIT;
	web_layout_begin(&b, c, "Sign in");
	html_lit(&b, "<section class=\"signin\" aria-labelledby=\"signin-title\">\n"
		     "<h1 id=\"signin-title\">Sign in</h1>\n");
	if (c->signed_in) {
		html_lit(&b, "<p class=\"notice\" role=\"status\">You are signed in as <strong>");
		html_text(&b, c->who.user);
		html_lit(&b, "</strong> (");
		html_text(&b, role_name((enum role)c->who.role));
		html_lit(&b, "). Signing in below replaces that sign-in; or <a");
		html_href_local(&b, next);
		html_lit(&b, ">continue as you are</a>.</p>\n");
	}
	if (n && n->info) {
		html_lit(&b, "<p class=\"notice\" role=\"status\">");
		html_text(&b, n->info);
		html_lit(&b, "</p>\n");
	}
	if (n && n->error) {
		html_lit(&b, "<p class=\"form-error\" role=\"alert\"");
		html_attr(&b, "data-field", n->field ? n->field : "");
		html_lit(&b, ">");
		html_text(&b, n->error);
		html_lit(&b, "</p>\n");
	}
	if (strcmp(next, "/") != 0) {
		html_lit(&b, "<p class=\"continuation\">After signing in you will continue to <code "
			     "data-next>");
		html_text(&b, next);
		html_lit(&b, "</code>.</p>\n");
	}
	html_lit(&b, "<form method=\"post\" action=\"/login\" class=\"signin-form\">\n"
		     "<input type=\"hidden\" name=\"csrf\"");
	html_attr(&b, "value", pre);
	html_lit(&b, ">\n<input type=\"hidden\" name=\"next\"");
	html_attr(&b, "value", next);
	html_lit(&b, ">\n<label for=\"user\">Account name</label>\n"
		     "<input id=\"user\" name=\"user\" autocomplete=\"username\" required "
		     "maxlength=\"63\" autocapitalize=\"none\" spellcheck=\"false\"");
	html_attr(&b, "value", user ? user : "");
	if (!user || !*user)
		html_lit(&b, " autofocus");
	html_lit(&b, ">\n<label for=\"password\">Password</label>\n"
		     "<input id=\"password\" name=\"password\" type=\"password\" "
		     "autocomplete=\"current-password\" required maxlength=\"256\"");
	if (user && *user)
		html_lit(&b, " autofocus");
	html_lit(&b, ">\n<button type=\"submit\">Sign in</button>\n</form>\n"
		     "<p class=\"muted\">No account yet? An admin creates one with <code>portal user "
		     "add</code>. Forgotten password: an admin resets it with <code>portal user "
		     "passwd</code>.</p>\n</section>\n");
	web_layout_end(&b, c);
	int rc = web_reply_page(c, status, &b);
	buf_free(&b);
	return rc;
}

int web_page_login(struct http_ctx *c)
{
	struct evkeyvalq q;
	TAILQ_INIT(&q);
	if (c->query)
		evhttp_parse_query_str(c->query, &q);
	const char *next = next_path_or_root(evhttp_find_header(&q, "next"));
	struct notice n = {0};
	if (!c->signed_in && (evhttp_find_header(&q, "expired") || c->login_expired))
		n.info = "Your sign-in expired. Sign in again to continue where you were.";
	else if (!c->signed_in && evhttp_find_header(&q, "signed_out"))
		n.info = "You are signed out.";
	int rc = form_page(c, 200, next, NULL, &n);
	evhttp_clear_headers(&q);
	return rc;
}

/* What a sign-in job needs to finish its answer. */
struct pending {
	char next[NEXT_PATH_MAX];
	char user[STORE_NAME_MAX];
	char addr_key[80];
	char user_key[80];
};

static void on_opened(struct http_ctx *c, const struct signin_result *r, void *arg)
{
	struct pending *p = arg;
	struct app *a = c->app;
	if (r->store_failed) {
		log_emit(LOG_ERROR, "sign-in unavailable", json_pack("{s:s}", "reason", r->reason));
		struct buf href = BUF_INIT;
		char *enc = evhttp_uriencode(p->next, -1, 0);
		buf_printf(&href, "/login?next=%s", enc ? enc : "%2F");
		free(enc);
		const struct http_action act[] = {{href.data, "Try signing in again"},
						 {"/readyz", "Check the store's readiness"}};
		web_reply_recovery(c, BLOCKER_DEPENDENCY, BLOCKER_CAUSE_DEFAULT,
				   "Sign-in is unavailable",
				   "Portal cannot reach its store to check your account. Nothing is "
				   "lost; try again in a moment.",
				   act, 2);
		buf_free(&href);
	} else if (!r->ok) {
		long long now = clock_wall_ms();
		throttle_fail(a->throttle, p->addr_key, now);
		throttle_fail(a->throttle, p->user_key, now);
		/* A name that is no account may be a password typed in the wrong
		 * field: it is not logged. */
		log_emit(LOG_WARN, "sign-in refused",
			 json_pack("{s:s,s:o,s:s}", "request_id", c->request_id, "user",
				   r->known ? json_string(p->user) : json_null(), "reason",
				   r->reason));
		struct notice n = {NULL, "The account name or password is wrong.", "password"};
		form_page(c, 401, p->next, p->user, &n);
	} else {
		throttle_clear(a->throttle, p->addr_key);
		throttle_clear(a->throttle, p->user_key);
		log_emit(LOG_INFO, "signed in",
			 json_pack("{s:s,s:s}", "request_id", c->request_id, "user", p->user));
		set_cookie(c, LOGIN_COOKIE, r->cookie, "/", "Lax", c->cfg->session_max_ms / 1000);
		set_cookie(c, LOGIN_PRE_COOKIE, "", "/login", "Strict", 0);
		http_header(c, "Location", p->next);
		http_reply(c, 303, NULL, NULL, 0);
	}
	free(p);
}

int web_login_post(struct http_ctx *c)
{
	struct evkeyvalq f;
	if (http_form(c, &f) < 0) {
		struct notice n = {NULL, "Send the sign-in form (application/x-www-form-urlencoded).",
				   NULL};
		return form_page(c, 400, "/", NULL, &n);
	}
	const char *next = next_path_or_root(evhttp_find_header(&f, "next"));
	const char *user = evhttp_find_header(&f, "user");
	const char *pw = evhttp_find_header(&f, "password");
	const char *tok = evhttp_find_header(&f, "csrf");
	char pre[LOGIN_TEXT_MAX];
	int rc;
	int fresh = tok && ((c->signed_in && login_token_equal(tok, c->who.csrf)) ||
			    (http_cookie(c, LOGIN_PRE_COOKIE, pre, sizeof pre) == 0 &&
			     login_token_equal(tok, pre)));
	if (!fresh) {
		struct notice n = {NULL, "This sign-in form had expired, so nothing was sent. "
					 "It is fresh now: sign in again.", "csrf"};
		rc = form_page(c, 403, next, user, &n);
		goto out;
	}
	if (!user || !*user || strlen(user) >= STORE_NAME_MAX) {
		struct notice n = {NULL, "Enter your account name (up to 63 characters).", "user"};
		rc = form_page(c, 400, next, NULL, &n);
		goto out;
	}
	if (!pw || !*pw || strlen(pw) >= sizeof ((struct signin_job *)0)->password) {
		struct notice n = {NULL, "Enter your password.", "password"};
		rc = form_page(c, 400, next, user, &n);
		goto out;
	}
	struct pending *p = calloc(1, sizeof *p);
	if (!p)
		abort();
	snprintf(p->next, sizeof p->next, "%s", next);
	snprintf(p->user, sizeof p->user, "%s", user);
	snprintf(p->addr_key, sizeof p->addr_key, "addr:%s", c->peer);
	snprintf(p->user_key, sizeof p->user_key, "user:%s", user);
	long long now = clock_wall_ms();
	long long wa = throttle_wait_ms(c->app->throttle, p->addr_key, now);
	long long wu = throttle_wait_ms(c->app->throttle, p->user_key, now);
	long long wait = wa > wu ? wa : wu;
	if (wait > 0) {
		char secs[32], msg[160];
		snprintf(secs, sizeof secs, "%lld", (wait + 999) / 1000);
		snprintf(msg, sizeof msg, "Too many failed attempts. Wait %s seconds, then sign in again.",
			 secs);
		http_header(c, "Retry-After", secs);
		struct notice n = {NULL, msg, "user"};
		rc = form_page(c, 429, next, user, &n);
		free(p);
		goto out;
	}
	struct signin_job job = {.kind = SIGNIN_OPEN, .max_ms = c->cfg->session_max_ms};
	snprintf(job.user, sizeof job.user, "%s", user);
	snprintf(job.password, sizeof job.password, "%s", pw);
	char old[LOGIN_TEXT_MAX + 8];
	if (http_cookie(c, LOGIN_COOKIE, old, sizeof old) == 0 && login_id_hash(old, job.old) == 0)
		job.has_old = 1;
	signin_submit(c->app->signin, http_defer(c), &job, on_opened, p);
	sodium_memzero(job.password, sizeof job.password);
	rc = 0;
out:
	/* the form held the password: wipe the parsed copy */
	for (struct evkeyval *kv = f.tqh_first; kv; kv = kv->next.tqe_next)
		if (kv->value && !strcmp(kv->key, "password"))
			sodium_memzero(kv->value, strlen(kv->value));
	evhttp_clear_headers(&f);
	return rc;
}

static void on_closed(struct http_ctx *c, const struct signin_result *r, void *arg)
{
	(void)arg;
	if (!r->ok && r->store_failed)
		log_emit(LOG_ERROR, "sign-out not recorded", json_pack("{s:s}", "reason", r->reason));
	set_cookie(c, LOGIN_COOKIE, "", "/", "Lax", 0);
	http_header(c, "Location", "/login?signed_out=1");
	http_reply(c, 303, NULL, NULL, 0);
}

int web_logout_post(struct http_ctx *c)
{
	struct evkeyvalq f;
	int everywhere = 0;
	if (http_form(c, &f) == 0) {
		const char *scope = evhttp_find_header(&f, "scope");
		everywhere = scope && !strcmp(scope, "everywhere");
		evhttp_clear_headers(&f);
	}
	if (c->who.via_proxy && !everywhere) { /* the proxy owns that sign-in */
		http_header(c, "Location", "/");
		return http_reply(c, 303, NULL, NULL, 0);
	}
	struct signin_job job = {.kind = everywhere ? SIGNIN_CLOSE_ALL : SIGNIN_CLOSE};
	memcpy(job.old, c->who.hash, sizeof job.old);
	job.user_id = c->who.user_id;
	log_emit(LOG_INFO, everywhere ? "signed out everywhere" : "signed out",
		 json_pack("{s:s,s:s}", "request_id", c->request_id, "user", c->who.user));
	signin_submit(c->app->signin, http_defer(c), &job, on_closed, NULL);
	return 0;
}
