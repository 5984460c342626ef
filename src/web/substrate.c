/* substrate: what FractalOps owns and what it only integrates, and how to
 * launch each, browser-first. Health comes from the one projection (the
 * prober reports through health.changed events like any producer); secret
 * states from the last resolution. Only public URLs are ever written here,
 * through html_href_public; there is no lifecycle control of any kind. */
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "core/contract.h"
#include "http/http.h"
#include "live/hub.h"
#include "util/log.h"
#include "web/html.h"
#include "web/web.h"

/* The health array of the current snapshot (caller decrefs). */
static json_t *health_now(struct http_ctx *c, long long *version)
{
	struct snap *s = hub_snapshot(c->app->hub);
	json_t *h = json_loadb(s->data + s->ix.health_json.off, s->ix.health_json.len, 0, NULL);
	*version = s->version;
	snap_release(s);
	return h ? h : json_array();
}

static json_t *health_of(json_t *health, const char *name)
{
	size_t i;
	json_t *c;
	json_array_foreach(health, i, c) {
		const char *n = json_string_value(json_object_get(c, "name"));
		if (n && strcmp(n, name) == 0)
			return c;
	}
	return NULL;
}

static void health_cell(struct buf *b, json_t *h)
{
	const char *state = h ? json_string_value(json_object_get(h, "state")) : NULL;
	html_lit(b, "<td class=\"health\"");
	html_attr(b, "data-state", state ? state : "unknown");
	html_lit(b, "><span class=\"state\">");
	html_text(b, state ? state : "unknown");
	html_lit(b, "</span>");
	if (h) {
		char since[32];
		log_format_time(json_integer_value(json_object_get(h, "since")), since);
		html_lit(b, " <span class=\"muted\">since ");
		html_text(b, since);
		html_lit(b, "</span>");
		const char *detail = json_string_value(json_object_get(h, "detail"));
		if (detail) {
			html_lit(b, "<br><span class=\"detail\">");
			html_text(b, detail);
			html_lit(b, "</span>");
		}
	} else {
		html_lit(b, " <span class=\"muted\">not probed yet</span>");
	}
	html_lit(b, "</td><td>");
	json_t *lat = h ? json_object_get(h, "latency_ms") : NULL;
	if (json_is_integer(lat))
		html_textf(b, "%lld ms", (long long)json_integer_value(lat));
	else
		html_lit(b, "—");
	html_lit(b, "</td>");
}

static void auth_cell(struct buf *b, struct http_ctx *c, const struct component_contract *cc)
{
	html_lit(b, "<td>");
	html_text(b, contract_auth_name(cc->auth));
	if (cc->auth != CONTRACT_AUTH_NONE) {
		char state[16], detail[256];
		app_secret_status(c->app, cc->auth_secret, state, sizeof state, detail, sizeof detail);
		html_lit(b, " · secret <code>");
		html_text(b, cc->auth_secret);
		html_lit(b, "</code> <span class=\"secret\"");
		html_attr(b, "data-secret", state);
		html_lit(b, ">");
		html_text(b, state);
		html_lit(b, "</span>");
	}
	html_lit(b, "</td>");
}

static void launch_cell(struct buf *b, const struct component_contract *cc)
{
	struct buf href = BUF_INIT;
	buf_printf(&href, "/launch/%s", cc->name);
	html_lit(b, "<td>");
	if (cc->public_url.s[0]) {
		html_lit(b, "<a class=\"launch\"");
		html_href_public(b, &cc->public_url);
		html_lit(b, ">Open ");
		html_text(b, cc->title[0] ? cc->title : cc->name);
		html_lit(b, "</a> · ");
	}
	html_lit(b, "<a");
	html_href_local(b, buf_cstr(&href));
	html_lit(b, ">Launch guidance</a></td>");
	buf_free(&href);
}

static void section(struct buf *b, struct http_ctx *c, json_t *health, enum ownership own)
{
	const struct catalogue *cat = &c->cfg->catalogue;
	int owned = own == OWNERSHIP_OWNED;
	html_lit(b, "<section class=\"panel wide\"");
	html_attr(b, "id", owned ? "owned" : "endpoints");
	html_attr(b, "data-ownership", ownership_name(own));
	html_lit(b, ">\n<h2>");
	html_text(b, owned ? "Owned by FractalOps" : "Integrated endpoints");
	html_lit(b, "</h2>\n<p class=\"lead\">");
	if (owned)
		html_lit(b, "The execution substrate FractalOps runs and answers for. Changes to it "
			    "go through proposals like everything else.");
	else
		html_lit(b, "Systems FractalOps only integrates. Portal holds a URL, auth and health "
			    "contract and a launch link for each; their lifecycle is managed elsewhere, "
			    "by their own owners and tools.");
	html_lit(b, "</p>\n<table class=\"substrate\">\n<thead><tr><th scope=\"col\">Component</th>"
		    "<th scope=\"col\">Health</th><th scope=\"col\">Last probe</th>"
		    "<th scope=\"col\">Auth</th><th scope=\"col\">Launch</th></tr></thead>\n<tbody>\n");
	int n = 0;
	for (size_t i = 0; i < cat->ncomponents; i++) {
		const struct component_contract *cc = &cat->components[i];
		if (cc->ownership != own)
			continue;
		n++;
		html_lit(b, "<tr");
		html_attr(b, "data-component", cc->name);
		html_lit(b, "><th scope=\"row\">");
		html_text(b, cc->title[0] ? cc->title : cc->name);
		if (cc->role[0]) {
			html_lit(b, "<br><span class=\"muted\">");
			html_text(b, cc->role);
			html_lit(b, "</span>");
		}
		html_lit(b, "</th>");
		health_cell(b, health_of(health, cc->name));
		auth_cell(b, c, cc);
		launch_cell(b, cc);
		html_lit(b, "</tr>\n");
	}
	if (!n)
		html_lit(b, "<tr class=\"empty\"><td colspan=\"5\">None declared. Components come from "
			    "the <code>components:</code> section of portal.yaml "
			    "(see config/portal.example.yaml).</td></tr>\n");
	html_lit(b, "</tbody>\n</table>\n</section>\n");
}

int web_page_substrate(struct http_ctx *c)
{
	long long version;
	json_t *health = health_now(c, &version);
	struct buf b = BUF_INIT;
	web_layout_begin(&b, c, "Substrate");
	html_lit(&b, "<h1>Substrate</h1>\n<p class=\"lead\">What FractalOps owns, and what it only "
		     "integrates. Health is the projection's (");
	html_textf(&b, "v%lld", version);
	html_lit(&b, "), reported by Portal's prober through the live event log.</p>\n");
	section(&b, c, health, OWNERSHIP_OWNED);
	section(&b, c, health, OWNERSHIP_ENDPOINT);
	web_layout_end(&b, c);
	int rc = web_reply_page(c, 200, &b);
	buf_free(&b);
	json_decref(health);
	return rc;
}

static void guidance(struct buf *b, const char *title, const char *text, const char *fallback)
{
	html_lit(b, "<dt>");
	html_text(b, title);
	html_lit(b, "</dt><dd>");
	html_text(b, text && *text ? text : fallback);
	html_lit(b, "</dd>\n");
}

int web_page_launch(struct http_ctx *c)
{
	char name[CONTRACT_NAME_MAX];
	if (router_param(&c->match, "component", name, sizeof name) <= 0)
		return web_reply_unrouted(c);
	const struct component_contract *cc = catalogue_find(&c->cfg->catalogue, name);
	if (!cc) {
		static const struct http_action back[] = {
			{"/substrate", "See every declared component"}};
		return web_reply_recovery(c, BLOCKER_PRODUCT, BLOCKER_CAUSE_NOT_FOUND,
					  "No such component",
					  "No component of that name is declared in this Portal's "
					  "configuration.",
					  back, 1);
	}
	long long version;
	json_t *health = health_now(c, &version);
	json_t *h = health_of(health, cc->name);
	const char *state = h ? json_string_value(json_object_get(h, "state")) : "unknown";
	struct buf b = BUF_INIT;
	const char *title = cc->title[0] ? cc->title : cc->name;
	web_layout_begin(&b, c, title);
	html_lit(&b, "<p class=\"muted\"><a href=\"/substrate\">Substrate</a> · ");
	html_text(&b, cc->ownership == OWNERSHIP_OWNED ? "owned by FractalOps"
						       : "integrated endpoint: lifecycle managed elsewhere");
	html_lit(&b, "</p>\n<h1>Launch ");
	html_text(&b, title);
	html_lit(&b, "</h1>\n<p class=\"lead\">It opens in your browser; sign-in happens there, not in "
		     "Portal.</p>\n<section class=\"panel\" id=\"launch\"");
	html_attr(&b, "data-component", cc->name);
	html_attr(&b, "data-health", state ? state : "unknown");
	html_lit(&b, ">\n<dl class=\"facts\">\n");
	guidance(&b, "What will open", cc->launch.opens, "Its web interface, in a new tab.");
	guidance(&b, "Where you will sign in", cc->launch.sign_in,
		 "On its own sign-in page, with the account your team uses for it.");
	guidance(&b, "What you need first", cc->launch.needs,
		 "Access granted by its owners; ask them if the sign-in page refuses you.");
	guidance(&b, "When it fails", cc->launch.on_failure,
		 "Check its health here first; if it is up, the problem is access: ask its owners.");
	html_lit(&b, "<dt>Health now</dt><dd>");
	html_text(&b, state ? state : "unknown");
	const char *detail = h ? json_string_value(json_object_get(h, "detail")) : NULL;
	if (detail) {
		html_lit(&b, ": ");
		html_text(&b, detail);
	}
	if (state && strcmp(state, "auth") == 0)
		html_lit(&b, " (a credential problem, not an outage)");
	html_lit(&b, "</dd>\n</dl>\n");
	if (cc->public_url.s[0]) {
		html_lit(&b, "<p><a class=\"button launch\"");
		html_href_public(&b, &cc->public_url);
		html_lit(&b, ">Open ");
		html_text(&b, title);
		html_lit(&b, "</a></p>\n");
	} else {
		html_lit(&b, "<p class=\"blocker\" data-recovery-class=\"contract\">No public URL is "
			     "declared for this component, so there is nothing for a browser to open. "
			     "Its contract needs a <code>public_url</code>.</p>\n");
	}
	html_lit(&b, "</section>\n");
	web_layout_end(&b, c);
	/* Nothing to open is a contract gap, and the status says so. */
	int rc = web_reply_page(c, cc->public_url.s[0] ? 200 : 424, &b);
	buf_free(&b);
	json_decref(health);
	return rc;
}
