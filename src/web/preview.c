/* preview: what a signed-out visitor may see. The project spine with each
 * project's derived stage, session continuity, validation (the problems
 * `portal check` reports, each with what to do, and the projects events
 * name that portal.yaml does not declare), and the next actions. Deliberately nothing more: no
 * session id, lineage or tool, no component URL, no secret name or value,
 * no health detail (a prober's detail could name a host). */
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "core/blocker.h"
#include "core/contract.h"
#include "http/http.h"
#include "live/hub.h"
#include "util/log.h"
#include "web/html.h"
#include "web/web.h"

/* `<span data-count=key><strong>n</strong> label</span>`, sep before it. */
static void count(struct buf *b, const char *sep, const char *key, long long n, const char *label)
{
	html_text(b, sep);
	html_lit(b, "<span");
	html_attr(b, "data-count", key);
	html_lit(b, "><strong>");
	html_textf(b, "%lld", n);
	html_lit(b, "</strong> ");
	html_text(b, label);
	html_lit(b, "</span>");
}

/* Whether session entry e ends a resume chain: it resumed another session
 * and nobody resumed it. Read from the bytes, not parsed, so the count costs
 * no allocation however many sessions there are: projection_write writes
 * these keys, and a string value can never be followed by ':' (nor carry an
 * unescaped quote), so only the real keys match. */
static int ends_chain(const struct snap *s, const struct projection_index_entry *e)
{
	static const char fresh[] = "\"resumed_from\":null", open[] = "\"resumed_by\":null";
	const char *p = s->data + e->off;
	return !memmem(p, e->len, fresh, sizeof fresh - 1) && memmem(p, e->len, open, sizeof open - 1);
}

static void spine(struct buf *b, struct http_ctx *c, const struct snap *s)
{
	struct web_project *ps;
	size_t n = web_projects(c, s, &ps);
	html_lit(b, "<section class=\"panel wide\" id=\"spine\" aria-labelledby=\"spine-h\">\n"
		    "<h2 id=\"spine-h\">Project spine</h2>\n<p class=\"muted\">Each project and where "
		    "it stands on the workflow path, derived from its contracts and the live "
		    "projection.</p>\n");
	web_spine_list(b, ps, n, 1);
	html_lit(b, "</section>\n");
	free(ps);
}

static void continuity(struct buf *b, const struct snap *s)
{
	long long by[SESSION_STATUS_COUNT] = {0}, chains = 0, last = 0;
	for (size_t i = 0; i < s->ix.nsessions; i++) {
		const struct projection_index_entry *e = &s->ix.sessions[i];
		by[e->status]++;
		if (e->last_event_at > last)
			last = e->last_event_at;
		chains += ends_chain(s, e);
	}
	html_lit(b, "<section class=\"panel\" id=\"continuity\" aria-labelledby=\"cont-h\">\n"
		    "<h2 id=\"cont-h\">Session continuity</h2>\n<ul class=\"groups\">\n<li>");
	count(b, "", "sessions", (long long)s->ix.nsessions, "sessions in the live projection");
	for (int st = 0; st < SESSION_STATUS_COUNT; st++)
		count(b, st ? ", " : ": ", session_status_name((enum session_status)st), by[st],
		      session_status_name((enum session_status)st));
	html_lit(b, "</li>\n<li>");
	count(b, "", "chains", chains, chains == 1 ? "resumed chain: work carried across sessions"
						   : "resumed chains: work carried across sessions");
	html_lit(b, "</li>\n<li>Last activity: ");
	html_time(b, last, "none yet");
	html_lit(b, " · snapshot <strong id=\"version\">v");
	html_textf(b, "%lld", s->version);
	html_lit(b, "</strong></li>\n</ul>\n</section>\n");
}

static void validation(struct buf *b, struct http_ctx *c, const struct snap *s)
{
	const struct catalogue *cat = &c->cfg->catalogue;
	json_t *health = web_snap_json(s, s->ix.health_json.off, s->ix.health_json.len);
	long long owned = 0, up = 0, down = 0, unwell = 0, unreported = 0;
	for (size_t i = 0; i < cat->ncomponents; i++) {
		const struct component_contract *cc = &cat->components[i];
		owned += cc->ownership == OWNERSHIP_OWNED;
		const char *state = NULL;
		size_t k;
		json_t *h;
		json_array_foreach(health, k, h) {
			const char *name = json_string_value(json_object_get(h, "name"));
			if (name && strcmp(name, cc->name) == 0)
				state = json_string_value(json_object_get(h, "state"));
		}
		if (!state || strcmp(state, "unknown") == 0)
			unreported++;
		else if (strcmp(state, "up") == 0)
			up++;
		else if (strcmp(state, "down") == 0)
			down++;
		else
			unwell++; /* degraded, auth */
	}
	long long present = 0, missing = 0, unreadable = 0, unchecked = 0;
	for (size_t i = 0; i < cat->nsecrets; i++) {
		char state[BLOCKER_STATE_MAX], detail[8];
		app_secret_status(c->app, cat->secrets[i].name, state, sizeof state, detail,
				  sizeof detail);
		if (strcmp(state, "present") == 0)
			present++;
		else if (strcmp(state, "missing") == 0)
			missing++;
		else if (strcmp(state, "unreadable") == 0)
			unreadable++;
		else
			unchecked++;
	}
	html_lit(b, "<section class=\"panel\" id=\"validation\" aria-labelledby=\"val-h\">\n"
		    "<h2 id=\"val-h\">Validation</h2>\n<ul class=\"groups\">\n<li>");
	count(b, "", "components", (long long)cat->ncomponents, "components declared");
	count(b, ": ", "owned", owned, "owned by FractalOps");
	count(b, ", ", "endpoints", (long long)cat->ncomponents - owned,
	      "integrated endpoints (URL, auth and health contracts only)");
	html_lit(b, "</li>\n<li>Health: ");
	count(b, "", "up", up, "up");
	count(b, ", ", "unwell", unwell, "degraded or refusing Portal's credential");
	count(b, ", ", "down", down, "down");
	count(b, ", ", "unreported", unreported, "not reported yet");
	html_lit(b, "</li>\n<li>");
	count(b, "", "secrets", (long long)cat->nsecrets, "secret contracts declared");
	count(b, ": ", "present", present, "present");
	count(b, ", ", "missing", missing, "missing");
	count(b, ", ", "unreadable", unreadable, "unreadable");
	if (unchecked)
		count(b, ", ", "unchecked", unchecked, "not checked yet");
	html_lit(b, "</li>\n<li>");
	count(b, "", "projects", (long long)cat->nprojects, "projects declared");
	html_lit(b, "</li>\n</ul>\n");
	web_validation_list(b, c, s, NULL, 1);
	html_lit(b, "<p class=\"muted\">Names, states and launch links are "
		    "shown after sign-in. Secret values are never shown anywhere.</p>\n</section>\n");
	json_decref(health);
}

void web_preview_body(struct buf *b, struct http_ctx *c)
{
	struct snap *s = hub_snapshot(c->app->hub);
	html_lit(b, "<h1>FractalOps Portal</h1>\n<p class=\"lead\">The workflow path of every "
		    "project, from onboarding through work, proposal and proof, with recovery "
		    "when something blocks. You are signed out: this overview shows where things "
		    "stand, in counts.</p>\n");
	spine(b, c, s);
	continuity(b, s);
	validation(b, c, s);
	html_lit(b, "<section class=\"panel\" id=\"next\" aria-labelledby=\"next-h\">\n"
		    "<h2 id=\"next-h\">Next actions</h2>\n<ul class=\"actions\">\n"
		    "<li><a href=\"/login?next=/\">Sign in</a> to see projects, sessions and their "
		    "next steps; you come back here afterwards.</li>\n"
		    "<li><a href=\"/substrate\">Launch guidance</a>: what FractalOps owns and what "
		    "it integrates, and how each opens in your browser, where you sign in to it "
		    "and what you need first.</li>\n</ul>\n</section>\n");
	snap_release(s);
}

int web_page_preview(struct http_ctx *c)
{
	if (!c->cfg->preview) { /* turned off: signing in is the only way in */
		http_header(c, "Location", "/login?next=%2F");
		return http_reply(c, 303, NULL, NULL, 0);
	}
	struct buf b = BUF_INIT;
	web_layout_begin(&b, c, "Overview");
	web_preview_body(&b, c);
	web_layout_end(&b, c);
	int rc = web_reply_page(c, 200, &b);
	buf_free(&b);
	return rc;
}
