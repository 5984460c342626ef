/* project: one project's page, and the project spine the other pages share.
 * A project is what the configuration declares, what the live events name,
 * or both; its stage comes from blocker_derive over its contracts (secret
 * states from the last resolution, health from the snapshot) and the
 * projection. Reads one snapshot per request; changes nothing. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "app/app.h"
#include "core/blocker.h"
#include "core/contract.h"
#include "core/event.h"
#include "http/http.h"
#include "live/hub.h"
#include "util/log.h"
#include "web/html.h"
#include "web/web.h"

#define SESSION_ROWS 100   /* sessions listed on a project page; the rest are counted */
#define BLOCKED_ACTIONS 3  /* blocked sessions offered as next actions */
#define CONTRACT_ACTIONS 3 /* unmet contracts offered as next actions */

/* --- helpers the pages share */

void web_href_segment(struct buf *b, const char *prefix, const char *name)
{
	struct buf href = BUF_INIT;
	char *enc = evhttp_encode_uri(name ? name : "");
	buf_printf(&href, "%s%s", prefix, enc ? enc : "");
	free(enc);
	html_href_local(b, buf_cstr(&href));
	buf_free(&href);
}

json_t *web_snap_json(const struct snap *s, size_t off, size_t len)
{
	json_t *j = json_loadb(s->data + off, len, 0, NULL);
	return j ? j : json_array();
}

const char *web_str(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

#define str web_str

json_t *web_snap_session(const struct snap *s, const char *id)
{
	/* The index lists sessions in id order: binary search. */
	size_t lo = 0, hi = s->ix.nsessions;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		json_t *row = json_loadb(s->data + s->ix.sessions[mid].off, s->ix.sessions[mid].len,
					 0, NULL);
		int cmp = strcmp(str(row, "id"), id);
		if (cmp == 0)
			return row;
		json_decref(row);
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static json_t *named(json_t *array, const char *name)
{
	size_t i;
	json_t *x;
	json_array_foreach(array, i, x)
		if (strcmp(str(x, "name"), name) == 0)
			return x;
	return NULL;
}

/* Fills in the state of each secret and the health of each component. */
static void observe(struct http_ctx *c, json_t *health, struct blocker_needs *nd)
{
	char detail[8];
	for (size_t i = 0; i < nd->nsecrets; i++)
		app_secret_status(c->app, nd->secrets[i].name, nd->secrets[i].state,
				  sizeof nd->secrets[i].state, detail, sizeof detail);
	for (size_t i = 0; i < nd->ncomponents; i++)
		snprintf(nd->components[i].health, sizeof nd->components[i].health, "%s",
			 str(named(health, nd->components[i].name), "state"));
}

/* The verdict for a project from its contract (may be NULL) and its entry
 * in the snapshot's projects (may be NULL: no events yet). */
static void derive(struct http_ctx *c, json_t *health, const struct project_contract *pc,
		   json_t *live, struct blocker_needs *nd, struct blocker_verdict *v)
{
	blocker_needs_of(&c->cfg->catalogue, pc, nd);
	observe(c, health, nd);
	struct blocker_live l = {str(live, "stage"), str(live, "needs"), {0}};
	const char *k;
	json_t *n;
	json_object_foreach(json_object_get(live, "blocked_by"), k, n) {
		int cls = blocker_class_parse(k);
		if (cls > 0)
			l.blocked[cls] = json_integer_value(n);
	}
	blocker_derive(live ? &l : NULL, pc ? nd : NULL, v);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct web_project *)a)->name, ((const struct web_project *)b)->name);
}

size_t web_projects(struct http_ctx *c, const struct snap *s, struct web_project **out)
{
	const struct catalogue *cat = &c->cfg->catalogue;
	json_t *projects = web_snap_json(s, s->ix.projects_json.off, s->ix.projects_json.len);
	json_t *health = web_snap_json(s, s->ix.health_json.off, s->ix.health_json.len);
	struct web_project *ps = calloc(cat->nprojects + 1, sizeof *ps);
	struct blocker_needs *nd = malloc(sizeof *nd);
	if (!ps || !nd)
		abort();
	size_t n = 0;
	for (size_t i = 0; i < cat->nprojects; i++)
		ps[n++] = (struct web_project){cat->projects[i].name, NULL, &cat->projects[i], 0, {0}};
	for (size_t i = 0; i < n; i++) {
		struct web_project *p = &ps[i];
		json_t *live = named(projects, p->name);
		p->seen = live != NULL;
		p->title = p->contract && p->contract->title[0] ? p->contract->title : p->name;
		derive(c, health, p->contract, live, nd, &p->verdict);
	}
	qsort(ps, n, sizeof *ps, by_name);
	free(nd);
	json_decref(projects);
	json_decref(health);
	*out = ps;
	return n;
}

/* "Recovery", with the blocker class when there is one. */
static void stage_badge(struct buf *b, const struct blocker_verdict *v)
{
	const struct stage_info *si = stage_info(v->stage);
	html_lit(b, "<span class=\"stage\"");
	html_attr(b, "data-stage", si->slug);
	html_lit(b, ">");
	html_text(b, si->title);
	html_lit(b, "</span>");
	if (v->blocker != BLOCKER_NONE) {
		html_lit(b, " <span class=\"class\"");
		html_attr(b, "data-blocker", blocker_class_name(v->blocker));
		html_lit(b, ">");
		html_text(b, blocker_class_name(v->blocker));
		html_lit(b, " blocker</span>");
	}
}

void web_spine_list(struct buf *b, const struct web_project *ps, size_t n, int public_view)
{
	html_lit(b, "<ul class=\"spine\">\n");
	for (size_t i = 0; i < n; i++) {
		const struct web_project *p = &ps[i];
		html_lit(b, "<li");
		html_attr(b, "data-project", p->name);
		html_attr(b, "data-stage", stage_info(p->verdict.stage)->slug);
		html_lit(b, ">");
		if (public_view) {
			html_lit(b, "<span class=\"name\">");
			html_text(b, p->title);
			html_lit(b, "</span>");
		} else {
			html_lit(b, "<a class=\"name\"");
			web_href_segment(b, "/projects/", p->name);
			html_lit(b, ">");
			html_text(b, p->title);
			html_lit(b, "</a>");
		}
		html_lit(b, " ");
		stage_badge(b, &p->verdict);
		const char *line = public_view ? p->verdict.gist : p->verdict.why;
		if (line[0]) {
			html_lit(b, " <span class=\"why\">");
			html_text(b, line);
			html_lit(b, "</span>");
		}
		html_lit(b, "</li>\n");
	}
	if (!n)
		html_lit(b, "<li class=\"empty\">No projects yet. They come from the "
			    "<code>projects:</code> section of portal.yaml; a project only live "
			    "events name is listed under Validation.</li>\n");
	html_lit(b, "</ul>\n");
}

/* --- the project page */

static void when(struct buf *b, long long ms)
{
	html_time(b, ms, "—");
}

/* The workflow path with the derived stage marked. */
static void path_panel(struct buf *b, const struct blocker_verdict *v, long long version)
{
	char ver[24];
	snprintf(ver, sizeof ver, "%lld", version);
	html_lit(b, "<section class=\"panel wide\" id=\"stage\" aria-labelledby=\"stage-h\"");
	html_attr(b, "data-stage", stage_info(v->stage)->slug);
	html_attr(b, "data-blocker", blocker_class_name(v->blocker));
	html_attr(b, "data-version", ver);
	html_lit(b, ">\n<h2 id=\"stage-h\">Where it stands</h2>\n<ol class=\"steps\">\n");
	for (int s = 0; s < STAGE_COUNT; s++) {
		const struct stage_info *si = stage_info((enum stage)s);
		html_lit(b, "<li");
		html_attr(b, "data-stage", si->slug);
		if ((enum stage)s == v->stage)
			html_lit(b, " class=\"current\" aria-current=\"step\"");
		html_lit(b, ">");
		html_text(b, si->title);
		html_lit(b, "</li>\n");
	}
	html_lit(b, "</ol>\n<p class=\"why\">");
	stage_badge(b, v);
	html_lit(b, ": ");
	html_text(b, v->why[0] ? v->why : stage_info(v->stage)->purpose);
	html_lit(b, "</p>\n</section>\n");
}

static void health_state(struct buf *b, const char *state)
{
	html_lit(b, "<span class=\"state\"");
	html_attr(b, "data-state", state[0] ? state : "unknown");
	html_lit(b, ">");
	html_text(b, state[0] ? state : "not reported yet");
	html_lit(b, "</span>");
}

/* The components it launches on, with ownership, health and launch links. */
static void spine_panel(struct buf *b, struct http_ctx *c, const struct blocker_needs *nd,
			const struct project_contract *pc)
{
	html_lit(b, "<section class=\"panel wide\" id=\"components\" aria-labelledby=\"comp-h\">\n"
		    "<h2 id=\"comp-h\">Launches on</h2>\n");
	if (!nd->ncomponents) {
		html_lit(b, "<p class=\"muted\">");
		if (pc)
			html_lit(b, "Its contract names no components.");
		else
			html_lit(b, "Nothing declared: without a contract entry Portal cannot say "
				    "what this project launches on.");
		html_lit(b, " See <a href=\"/substrate\">the substrate</a> for every component.</p>\n"
			    "</section>\n");
		return;
	}
	html_lit(b, "<table class=\"substrate\">\n<thead><tr><th scope=\"col\">Component</th>"
		    "<th scope=\"col\">Ownership</th><th scope=\"col\">Health</th>"
		    "<th scope=\"col\">Launch</th></tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < nd->ncomponents; i++) {
		const struct blocker_component *bc = &nd->components[i];
		const struct component_contract *cc = catalogue_find(&c->cfg->catalogue, bc->name);
		html_lit(b, "<tr");
		html_attr(b, "data-component", bc->name);
		html_lit(b, "><th scope=\"row\">");
		html_text(b, cc && cc->title[0] ? cc->title : bc->name);
		html_lit(b, "</th><td>");
		if (!cc)
			html_lit(b, "<span class=\"flag\">not declared in the configuration</span>");
		else
			html_text(b, bc->owned ? "owned by FractalOps" : "integrated endpoint");
		html_lit(b, "</td><td class=\"health\">");
		health_state(b, bc->health);
		html_lit(b, "</td><td>");
		if (cc) {
			html_lit(b, "<a");
			web_href_segment(b, "/launch/", bc->name);
			html_lit(b, ">Launch guidance</a>");
		} else {
			html_lit(b, "—");
		}
		html_lit(b, "</td></tr>\n");
	}
	html_lit(b, "</tbody>\n</table>\n</section>\n");
}

/* Each required secret (name and state, never a value), each component's
 * health, and whether the project is declared at all. */
static void validation_panel(struct buf *b, struct http_ctx *c, const struct blocker_needs *nd,
			     const struct project_contract *pc)
{
	html_lit(b, "<section class=\"panel\" id=\"validation\" aria-labelledby=\"val-h\">\n"
		    "<h2 id=\"val-h\">Validation</h2>\n<ul class=\"checks\">\n");
	if (!pc)
		html_lit(b, "<li data-check=\"declared\" data-ok=\"no\"><span class=\"flag\">not "
			    "declared in the configuration</span>: live events name this project, "
			    "but portal.yaml has no <code>projects:</code> entry for it, so its "
			    "secrets and components cannot be checked.</li>\n");
	for (size_t i = 0; i < nd->nsecrets; i++) {
		const struct blocker_secret *s = &nd->secrets[i];
		char state[BLOCKER_STATE_MAX], detail[256];
		app_secret_status(c->app, s->name, state, sizeof state, detail, sizeof detail);
		int ok = strcmp(state, "present") == 0;
		html_lit(b, "<li data-check=\"secret\"");
		html_attr(b, "data-secret", s->name);
		html_attr(b, "data-ok", ok ? "yes" : "no");
		html_lit(b, ">Secret <code>");
		html_text(b, s->name);
		html_lit(b, "</code>");
		if (s->component[0]) {
			html_lit(b, " (credential of ");
			html_text(b, s->component);
			html_lit(b, ")");
		}
		html_lit(b, ": <span class=\"secret\"");
		html_attr(b, "data-secret", state);
		html_lit(b, ">");
		html_text(b, state);
		html_lit(b, "</span>");
		if (!ok && detail[0]) {
			html_lit(b, " <span class=\"detail\">");
			html_text(b, detail);
			html_lit(b, "</span>");
		}
		html_lit(b, "</li>\n");
	}
	for (size_t i = 0; i < nd->ncomponents; i++) {
		const struct blocker_component *bc = &nd->components[i];
		int blocks = !bc->declared || (bc->owned && strcmp(bc->health, "down") == 0);
		int up = strcmp(bc->health, "up") == 0;
		html_lit(b, "<li data-check=\"component\"");
		html_attr(b, "data-component", bc->name);
		html_attr(b, "data-ok", blocks ? "no" : up ? "yes" : "warn");
		html_lit(b, ">Component ");
		html_text(b, bc->name);
		html_lit(b, ": ");
		if (bc->declared)
			health_state(b, bc->health);
		else
			html_lit(b, "<span class=\"flag\">not declared in the configuration</span>");
		if (bc->declared && !bc->owned && !up)
			html_lit(b, " <span class=\"detail\">an integrated endpoint: it does not "
				    "block the project</span>");
		html_lit(b, "</li>\n");
	}
	if (pc && !nd->nsecrets && !nd->ncomponents)
		html_lit(b, "<li data-check=\"none\">Its contract declares no secrets and no "
			    "components: nothing to check.</li>\n");
	html_lit(b, "</ul>\n");
	static const struct project_contract none; /* concerned by nothing: the total alone */
	web_validation_list(b, c, NULL, pc ? pc : &none, 0);
	html_lit(b, "</section>\n");
}

/* A project's session in the order people read them: blocked first, then
 * running, idle, ended; the most recent first within each. */
struct row_key {
	int rank;
	long long last;
	size_t ix;
};

static int by_attention(const void *a, const void *b)
{
	const struct row_key *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	if (x->last != y->last)
		return x->last > y->last ? -1 : 1;
	return x->ix < y->ix ? -1 : 1;
}

static size_t project_sessions(const struct snap *s, const char *name, struct row_key **out)
{
	static const int rank[SESSION_STATUS_COUNT] = {[SESSION_BLOCKED] = 0, [SESSION_RUNNING] = 1,
						       [SESSION_IDLE] = 2, [SESSION_ENDED] = 3};
	struct row_key *k = malloc((s->ix.nsessions + 1) * sizeof *k);
	if (!k)
		abort();
	size_t n = 0;
	for (size_t i = 0; i < s->ix.nsessions; i++) {
		const struct projection_index_entry *e = &s->ix.sessions[i];
		if (e->project && strcmp(e->project, name) == 0)
			k[n++] = (struct row_key){rank[e->status], e->last_event_at, i};
	}
	qsort(k, n, sizeof *k, by_attention);
	*out = k;
	return n;
}

static json_t *session_at(const struct snap *s, size_t i)
{
	return web_snap_json(s, s->ix.sessions[i].off, s->ix.sessions[i].len);
}

/* One next action: a same-origin link to prefix + segment (encoded) +
 * suffix (a fragment, or ""). */
static void action(struct buf *b, const char *prefix, const char *segment, const char *suffix,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void action(struct buf *b, const char *prefix, const char *segment, const char *suffix,
		   const char *fmt, ...)
{
	struct buf label = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&label, fmt, ap);
	va_end(ap);
	struct buf href = BUF_INIT;
	char *enc = segment ? evhttp_encode_uri(segment) : NULL;
	buf_printf(&href, "%s%s%s", prefix, enc ? enc : "", suffix);
	free(enc);
	html_lit(b, "<li><a");
	html_href_local(b, buf_cstr(&href));
	buf_free(&href);
	html_lit(b, ">");
	html_text(b, buf_cstr(&label));
	html_lit(b, "</a></li>\n");
	buf_free(&label);
}

/* What to do next, from the verdict: same-origin links only. */
static void next_panel(struct buf *b, const struct snap *s, const char *name,
		       const struct blocker_verdict *v, const struct blocker_needs *nd,
		       const struct row_key *rows, size_t nrows)
{
	html_lit(b, "<section class=\"panel\" id=\"next\" aria-labelledby=\"next-h\">\n"
		    "<h2 id=\"next-h\">Next actions</h2>\n<ul class=\"actions\">\n");
	/* Contract gaps first, each where it is fixed: a component's credential
	 * beside its launch contract, the project's own secrets here. */
	size_t shown = 0;
	for (size_t i = 0; i < nd->ncomponents && shown < CONTRACT_ACTIONS; i++)
		if (!nd->components[i].declared) {
			action(b, "/substrate", NULL, "", "Declare component %s in portal.yaml, or take "
			       "it off the project: see what is declared", nd->components[i].name);
			shown++;
		}
	for (size_t i = 0; i < nd->nsecrets && shown < CONTRACT_ACTIONS; i++) {
		const struct blocker_secret *sc = &nd->secrets[i];
		if (strcmp(sc->state, "present") == 0)
			continue;
		if (sc->component[0])
			action(b, "/launch/", sc->component, "", "Provide secret %s (%s) for %s, then "
			       "reload Portal: see its launch contract", sc->name, sc->state,
			       sc->component);
		else
			action(b, "/projects/", name, "#validation",
			       "Provide secret %s (%s), then reload Portal: its source is under "
			       "Validation", sc->name, sc->state);
		shown++;
	}
	for (size_t i = 0; v->blocker == BLOCKER_DEPENDENCY && i < nd->ncomponents; i++)
		if (nd->components[i].owned && strcmp(nd->components[i].health, "down") == 0)
			action(b, "/launch/", nd->components[i].name, "",
			       "Check %s: its health and launch guidance", nd->components[i].name);
	for (size_t i = 0; i < nrows && i < BLOCKED_ACTIONS; i++) {
		if (s->ix.sessions[rows[i].ix].status != SESSION_BLOCKED)
			break;
		json_t *row = session_at(s, rows[i].ix);
		action(b, "/sessions/", str(row, "id"), "", "Clear blocked session %s: %s",
		       str(row, "id"), str(row, "next_step"));
		json_decref(row);
	}
	if (v->stage == STAGE_ONBOARDING && nd->ncomponents)
		action(b, "/launch/", nd->components[0].name, "", "Launch the first session on %s",
		       nd->components[0].name);
	if (nrows)
		action(b, "/operator", NULL, "", "Follow its sessions live on the operator view");
	action(b, "/substrate", NULL, "",
	       "See every component: what FractalOps owns and what it integrates");
	html_lit(b, "</ul>\n</section>\n");
}

static void sessions_panel(struct buf *b, const struct snap *s, const struct row_key *rows,
			   size_t n)
{
	size_t shown = n < SESSION_ROWS ? n : SESSION_ROWS;
	html_lit(b, "<section class=\"panel wide\" aria-labelledby=\"sessions-h\">\n"
		    "<h2 id=\"sessions-h\">Sessions</h2>\n");
	if (!n) {
		html_lit(b, "<p class=\"empty\" id=\"sessions\">No sessions yet: they appear with "
			    "their first event.</p>\n</section>\n");
		return;
	}
	html_lit(b, "<table id=\"sessions\" class=\"sessions\">\n<thead><tr>"
		    "<th scope=\"col\">Session</th><th scope=\"col\">Status</th>"
		    "<th scope=\"col\">Harness</th><th scope=\"col\">Last event</th>"
		    "<th scope=\"col\">Next step</th></tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < shown; i++) {
		json_t *row = session_at(s, rows[i].ix);
		html_lit(b, "<tr");
		html_attr(b, "data-status", str(row, "status"));
		html_lit(b, "><td><a");
		web_href_segment(b, "/sessions/", str(row, "id"));
		html_lit(b, ">");
		html_text(b, str(row, "id"));
		html_lit(b, "</a></td><td><span class=\"status\">");
		html_text(b, str(row, "status"));
		html_lit(b, "</span></td><td>");
		html_text(b, str(row, "harness"));
		html_lit(b, "</td><td>");
		when(b, json_integer_value(json_object_get(row, "last_event_at")));
		html_lit(b, "</td><td>");
		html_text(b, str(row, "next_step"));
		html_lit(b, "</td></tr>\n");
		json_decref(row);
	}
	html_lit(b, "</tbody>\n</table>\n<p class=\"muted\">");
	html_textf(b, "Showing %zu of %zu sessions, those needing attention first.", shown, n);
	html_lit(b, "</p>\n</section>\n");
}

static int not_found(struct http_ctx *c)
{
	static const struct http_action ways[] = {
		{"/", "See every project on the workflow path"},
		{"/operator", "Open the operator view"},
	};
	return web_reply_recovery(c, BLOCKER_PRODUCT, BLOCKER_CAUSE_NOT_FOUND, "No such project",
				  "No project of that name is declared in this Portal's "
				  "configuration or named by any live event.",
				  ways, 2);
}

int web_page_project(struct http_ctx *c)
{
	char name[EVENT_PROJECT_MAX + 1];
	if (router_param(&c->match, "id", name, sizeof name) <= 0)
		return not_found(c);
	const struct project_contract *pc = catalogue_project(&c->cfg->catalogue, name);
	struct snap *s = hub_snapshot(c->app->hub);
	json_t *projects = web_snap_json(s, s->ix.projects_json.off, s->ix.projects_json.len);
	json_t *live = named(projects, name);
	if (!live && !pc) {
		json_decref(projects);
		snap_release(s);
		return not_found(c);
	}
	json_t *health = web_snap_json(s, s->ix.health_json.off, s->ix.health_json.len);
	struct blocker_needs *nd = malloc(sizeof *nd);
	if (!nd)
		abort();
	struct blocker_verdict v;
	derive(c, health, pc, live, nd, &v);
	struct row_key *rows;
	size_t nrows = project_sessions(s, name, &rows);

	const char *title = pc && pc->title[0] ? pc->title : name;
	struct buf b = BUF_INIT;
	web_layout_begin(&b, c, title);
	html_lit(&b, "<p class=\"muted\"><a href=\"/\">Workflow path</a> · project · snapshot "
		     "<strong id=\"version\">v");
	html_textf(&b, "%lld", s->version);
	html_lit(&b, "</strong></p>\n<h1>");
	html_text(&b, title);
	html_lit(&b, "</h1>\n");
	if (pc && pc->summary[0]) {
		html_lit(&b, "<p class=\"lead\">");
		html_text(&b, pc->summary);
		html_lit(&b, "</p>\n");
	}
	path_panel(&b, &v, s->version);
	spine_panel(&b, c, nd, pc);
	validation_panel(&b, c, nd, pc);
	next_panel(&b, s, name, &v, nd, rows, nrows);
	sessions_panel(&b, s, rows, nrows);
	web_layout_end(&b, c);
	/* No ETag: the page weighs secret states and the configuration too, so
	 * the snapshot version alone does not name it. */
	int rc = web_reply_page(c, 200, &b);
	buf_free(&b);
	free(rows);
	free(nd);
	json_decref(health);
	json_decref(projects);
	snap_release(s);
	return rc;
}
