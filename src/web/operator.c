/* operator: the live operator view. Everything on it (the sessions table,
 * the minimap, the Ouroboros panel, the runtime-health strip) is rendered
 * from ONE snapshot of harness-projection, and each part carries the version
 * it shows (data-version). operator.js keeps the page live from the one
 * event stream with the same rules; without script the page is a correct,
 * static reading of one version. */
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>

#include "app/app.h"
#include "http/http.h"
#include "live/hub.h"
#include "web/html.h"
#include "web/web.h"

#define TABLE_ROWS 200  /* sessions listed; the rest are counted */
#define MAP_PER_PROJECT 120

/* The order people read sessions in (also operator.js): blocked first, then
 * running, idle, ended; within a status the most recent first; then by id. */
static int status_rank(enum session_status s)
{
	static const int rank[SESSION_STATUS_COUNT] = {[SESSION_BLOCKED] = 0,
						       [SESSION_RUNNING] = 1,
						       [SESSION_IDLE] = 2,
						       [SESSION_ENDED] = 3};
	return rank[s];
}

static const struct snap *sort_snap;

static int by_attention(const void *a, const void *b)
{
	const struct projection_index_entry *x = &sort_snap->ix.sessions[*(const size_t *)a];
	const struct projection_index_entry *y = &sort_snap->ix.sessions[*(const size_t *)b];
	int r = status_rank(x->status) - status_rank(y->status);
	if (r)
		return r;
	if (x->last_event_at != y->last_event_at)
		return x->last_event_at > y->last_event_at ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1; /* index order = id order */
}

static json_t *slice(const struct snap *s, size_t off, size_t len)
{
	return json_loadb(s->data + off, len, 0, NULL);
}

#define str web_str

/* ` name="<number>"`: numbers go through html_attr like everything else. */
static void attr_num(struct buf *b, const char *name, long long v)
{
	char t[24];
	snprintf(t, sizeof t, "%lld", v);
	html_attr(b, name, t);
}

static void version_attr(struct buf *b, long long v)
{
	attr_num(b, "data-version", v);
}

static void health_strip(struct buf *b, const struct snap *s)
{
	json_t *health = slice(s, s->ix.health_json.off, s->ix.health_json.len);
	html_lit(b, "<section class=\"panel\" aria-labelledby=\"health-h\">\n"
		    "<h2 id=\"health-h\">Runtime health</h2>\n<ul class=\"health\" id=\"health\"");
	version_attr(b, s->version);
	html_lit(b, ">\n");
	size_t i;
	json_t *c;
	json_array_foreach(health, i, c) {
		html_lit(b, "<li");
		html_attr(b, "data-state", str(c, "state"));
		html_lit(b, "><span class=\"name\">");
		html_text(b, str(c, "name"));
		html_lit(b, "</span> <span class=\"state\">");
		html_text(b, str(c, "state"));
		html_lit(b, "</span>");
		json_t *lat = json_object_get(c, "latency_ms");
		if (json_is_integer(lat)) {
			html_lit(b, " <span class=\"muted\">");
			html_textf(b, "%lld ms", (long long)json_integer_value(lat));
			html_lit(b, "</span>");
		}
		if (*str(c, "detail")) {
			html_lit(b, " <span class=\"detail\">");
			html_text(b, str(c, "detail"));
			html_lit(b, "</span>");
		}
		html_lit(b, "</li>\n");
	}
	if (json_array_size(health) == 0)
		html_lit(b, "<li class=\"empty\">No health reports yet: components appear when "
			    "their first health event arrives.</li>\n");
	html_lit(b, "</ul>\n</section>\n");
	json_decref(health);
}

static void ouroboros_panel(struct buf *b, const struct snap *s)
{
	json_t *o = slice(s, s->ix.ouroboros_json.off, s->ix.ouroboros_json.len);
	json_t *cur = json_object_get(o, "current"), *last = json_object_get(o, "last");
	json_t *rate = json_object_get(o, "recent_success_permille");
	html_lit(b, "<section class=\"panel\" aria-labelledby=\"ouro-h\">\n"
		    "<h2 id=\"ouro-h\">Ouroboros</h2>\n<dl class=\"facts\" id=\"ouroboros\"");
	version_attr(b, s->version);
	html_lit(b, ">\n<dt>Current cycle</dt><dd data-field=\"current\">");
	if (json_is_object(cur))
		html_textf(b, "#%lld running", (long long)json_integer_value(json_object_get(cur, "cycle")));
	else
		html_lit(b, "none running");
	html_lit(b, "</dd>\n<dt>Last outcome</dt><dd data-field=\"last\">");
	if (json_is_object(last)) {
		html_textf(b, "#%lld %s", (long long)json_integer_value(json_object_get(last, "cycle")),
			   str(last, "outcome"));
		if (*str(last, "note")) {
			html_lit(b, ": ");
			html_text(b, str(last, "note"));
		}
	} else {
		html_lit(b, "no cycle finished yet");
	}
	html_lit(b, "</dd>\n<dt>Recent success</dt><dd data-field=\"rate\">");
	if (json_is_integer(rate))
		html_textf(b, "%lld%% of the last %lld", (long long)json_integer_value(rate) / 10,
			   (long long)json_integer_value(json_object_get(o, "recent")));
	else
		html_lit(b, "no data");
	html_lit(b, "</dd>\n</dl>\n</section>\n");
	json_decref(o);
}

/* The minimap: one column per project, one square per session, coloured by
 * status. Plain SVG: readable without script, redrawn by it. */
static void minimap(struct buf *b, const struct snap *s)
{
	size_t np = s->ix.nprojects;
	int width = (int)(np ? np : 1) * 132, rows = 1;
	size_t *count = calloc(np + 1, sizeof *count);
	for (size_t i = 0; i < s->ix.nsessions; i++)
		for (size_t p = 0; p < np; p++)
			if (s->ix.sessions[i].project == s->ix.projects[p])
				count[p]++;
	for (size_t p = 0; p < np; p++) {
		size_t shown = count[p] > MAP_PER_PROJECT ? MAP_PER_PROJECT : count[p];
		int r = (int)((shown + 9) / 10);
		if (r > rows)
			rows = r;
	}
	int height = 28 + rows * 12 + 8;
	html_lit(b, "<section class=\"panel\" aria-labelledby=\"map-h\">\n"
		    "<h2 id=\"map-h\">Minimap</h2>\n<svg id=\"minimap\" class=\"minimap\" role=\"img\" "
		    "xmlns=\"http://www.w3.org/2000/svg\"");
	version_attr(b, s->version);
	char box[64];
	snprintf(box, sizeof box, "0 0 %d %d", width, height);
	html_attr(b, "viewBox", box);
	attr_num(b, "width", width);
	attr_num(b, "height", height);
	html_lit(b, " aria-label=\"Sessions by project and status\">\n");
	size_t *drawn = calloc(np + 1, sizeof *drawn);
	for (size_t p = 0; p < np; p++) {
		char tr[48];
		snprintf(tr, sizeof tr, "translate(%zu 0)", p * 132);
		html_lit(b, "<g");
		html_attr(b, "transform", tr);
		html_attr(b, "data-project", s->ix.projects[p]);
		html_lit(b, "><text x=\"0\" y=\"14\" class=\"label\">");
		html_text(b, s->ix.projects[p]);
		html_lit(b, "</text>");
		for (size_t i = 0; i < s->ix.nsessions; i++) {
			const struct projection_index_entry *e = &s->ix.sessions[i];
			if (e->project != s->ix.projects[p] || drawn[p] >= MAP_PER_PROJECT)
				continue;
			size_t k = drawn[p]++;
			html_lit(b, "<rect");
			attr_num(b, "x", (long long)(k % 10) * 12);
			attr_num(b, "y", 24 + (long long)(k / 10) * 12);
			html_lit(b, " width=\"10\" height=\"10\"");
			html_attr(b, "class", session_status_name(e->status));
			html_lit(b, "/>");
		}
		if (count[p] > MAP_PER_PROJECT) {
			html_lit(b, "<text x=\"0\" class=\"more\"");
			attr_num(b, "y", height - 2);
			html_lit(b, ">");
			html_textf(b, "+%zu", count[p] - MAP_PER_PROJECT);
			html_lit(b, "</text>");
		}
		html_lit(b, "</g>\n");
	}
	html_lit(b, "</svg>\n<p class=\"legend\"><span class=\"key running\">running</span> "
		    "<span class=\"key blocked\">blocked</span> <span class=\"key idle\">idle</span> "
		    "<span class=\"key ended\">ended</span></p>\n</section>\n");
	free(count);
	free(drawn);
}

static void session_row(struct buf *b, json_t *s)
{
	html_lit(b, "<tr");
	html_attr(b, "data-status", str(s, "status"));
	html_lit(b, "><td><a");
	struct buf href = BUF_INIT;
	char *enc = evhttp_encode_uri(str(s, "id"));
	buf_printf(&href, "/operator?session=%s#detail", enc ? enc : "");
	free(enc);
	html_href_local(b, buf_cstr(&href));
	buf_free(&href);
	html_lit(b, ">");
	html_text(b, str(s, "id"));
	html_lit(b, "</a></td><td>");
	html_text(b, str(s, "project"));
	html_lit(b, "</td><td><span class=\"status\">");
	html_text(b, str(s, "status"));
	html_lit(b, "</span></td><td>");
	html_text(b, str(s, "harness"));
	html_lit(b, "</td><td>");
	html_text(b, str(s, "first_tool_family"));
	html_lit(b, "</td><td>");
	html_text(b, str(s, "next_step"));
	html_lit(b, "</td></tr>\n");
}

static void sessions_table(struct buf *b, const struct snap *s, json_t **selected,
			   const char *want)
{
	size_t n = s->ix.nsessions, shown = n < TABLE_ROWS ? n : TABLE_ROWS;
	size_t *order = malloc((n + 1) * sizeof *order);
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	sort_snap = s; /* qsort has no context argument; pages render on one thread at a time per loop */
	qsort(order, n, sizeof *order, by_attention);
	html_lit(b, "<section class=\"panel wide\" aria-labelledby=\"sessions-h\">\n"
		    "<h2 id=\"sessions-h\">Sessions</h2>\n<table id=\"sessions\" class=\"sessions\"");
	version_attr(b, s->version);
	html_lit(b, ">\n<thead><tr><th scope=\"col\">Session</th><th scope=\"col\">Project</th>"
		    "<th scope=\"col\">Status</th><th scope=\"col\">Harness</th>"
		    "<th scope=\"col\">First tool family</th><th scope=\"col\">Next step</th></tr>"
		    "</thead>\n<tbody>\n");
	for (size_t k = 0; k < shown; k++) {
		const struct projection_index_entry *e = &s->ix.sessions[order[k]];
		json_t *row = slice(s, e->off, e->len);
		session_row(b, row);
		json_decref(row);
	}
	if (n == 0)
		html_lit(b, "<tr class=\"empty\"><td colspan=\"6\">No sessions yet. Producers post "
			    "to /api/v1/events; <code>portal emit</code> appends from a shell.</td></tr>\n");
	html_lit(b, "</tbody>\n</table>\n<p class=\"muted\" id=\"sessions-count\">");
	html_textf(b, "Showing %zu of %zu sessions, those needing attention first.", shown, n);
	html_lit(b, "</p>\n</section>\n");
	free(order);
	if (want) {
		/* Sessions are in id order in the index: binary search. */
		size_t lo = 0, hi = n;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			json_t *row = slice(s, s->ix.sessions[mid].off, s->ix.sessions[mid].len);
			int cmp = strcmp(str(row, "id"), want);
			if (cmp == 0) {
				*selected = row;
				return;
			}
			json_decref(row);
			if (cmp < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
}

static void fact(struct buf *b, const char *k, const char *v)
{
	html_lit(b, "<dt>");
	html_text(b, k);
	html_lit(b, "</dt><dd>");
	html_text(b, v && *v ? v : "—");
	html_lit(b, "</dd>\n");
}

/* The compact detail of one session: continuity, lineage, launch contract,
 * first tool family and the practical next step. */
static void session_detail(struct buf *b, json_t *s, const char *want, long long version)
{
	html_lit(b, "<section class=\"panel wide\" id=\"detail\" aria-labelledby=\"detail-h\"");
	version_attr(b, version);
	html_lit(b, ">\n<h2 id=\"detail-h\">Session ");
	html_text(b, want);
	html_lit(b, "</h2>\n");
	if (!s) {
		html_lit(b, "<p>This session is not in the projection (yet). It appears with its "
			    "first event.</p>\n</section>\n");
		return;
	}
	json_t *cont = json_object_get(s, "continuity"), *lin = json_object_get(s, "lineage");
	json_t *launch = json_object_get(s, "launch"), *chain = json_object_get(cont, "chain");
	struct buf t = BUF_INIT;
	size_t i;
	json_t *x;
	json_array_foreach(chain, i, x) {
		buf_puts(&t, json_string_value(x));
		buf_puts(&t, " → ");
	}
	if (json_array_size(chain))
		buf_puts(&t, str(s, "id"));
	else
		buf_puts(&t, "fresh start");
	if (*str(cont, "resumed_by")) {
		buf_puts(&t, " (resumed by ");
		buf_puts(&t, str(cont, "resumed_by"));
		buf_puts(&t, ")");
	}
	html_lit(b, "<dl class=\"facts\">\n");
	fact(b, "Status", str(s, "status"));
	fact(b, "Continuity", buf_cstr(&t));
	buf_reset(&t);
	buf_printf(&t, "%s%s%s%s%s", str(lin, "repository"), *str(lin, "commit") ? " @ " : "",
		   str(lin, "commit"), *str(lin, "ticket") ? " · ticket " : "", str(lin, "ticket"));
	if (*str(lin, "parent_session"))
		buf_printf(&t, " · parent %s", str(lin, "parent_session"));
	fact(b, "Source lineage", buf_cstr(&t));
	buf_reset(&t);
	if (*str(launch, "component"))
		buf_printf(&t, "%s: %s", str(launch, "component"), str(launch, "status"));
	fact(b, "Launch contract", buf_cstr(&t));
	fact(b, "First tool family", str(s, "first_tool_family"));
	fact(b, "Next step", str(s, "next_step"));
	html_lit(b, "</dl>\n</section>\n");
	buf_free(&t);
}

static void projects_table(struct buf *b, const struct snap *s)
{
	json_t *projects = slice(s, s->ix.projects_json.off, s->ix.projects_json.len);
	html_lit(b, "<section class=\"panel wide\" aria-labelledby=\"projects-h\">\n"
		    "<h2 id=\"projects-h\">Projects</h2>\n<table id=\"projects\"");
	version_attr(b, s->version);
	html_lit(b, ">\n<thead><tr><th scope=\"col\">Project</th><th scope=\"col\">Stage</th>"
		    "<th scope=\"col\">Needs</th><th scope=\"col\">Sessions</th></tr></thead>\n<tbody>\n");
	size_t i;
	json_t *p;
	json_array_foreach(projects, i, p) {
		html_lit(b, "<tr><td>");
		html_text(b, str(p, "name"));
		html_lit(b, "</td><td><span class=\"stage\"");
		html_attr(b, "data-stage", str(p, "stage"));
		html_lit(b, ">");
		html_text(b, str(p, "stage"));
		html_lit(b, "</span></td><td>");
		html_text(b, str(p, "needs"));
		html_lit(b, "</td><td>");
		html_textf(b, "%lld", (long long)json_integer_value(json_object_get(p, "sessions")));
		html_lit(b, "</td></tr>\n");
	}
	html_lit(b, "</tbody>\n</table>\n</section>\n");
	json_decref(projects);
}

int web_page_operator(struct http_ctx *c)
{
	struct evkeyvalq q;
	TAILQ_INIT(&q);
	if (c->query)
		evhttp_parse_query_str(c->query, &q);
	const char *want = evhttp_find_header(&q, "session");
	struct snap *s = hub_snapshot(c->app->hub);
	struct buf b = BUF_INIT;
	json_t *selected = NULL;
	web_layout_begin_script(&b, c, "Operator", "operator.js");
	html_lit(&b, "<h1>Operator</h1>\n<p class=\"lead\">Live truth: <code>portal_live_events</code> "
		     "folded by harness-projection. The table, the minimap, Ouroboros and runtime "
		     "health all render the same snapshot.</p>\n<p class=\"freshness\" id=\"freshness\" "
		     "data-freshness=\"static\" aria-live=\"polite\">Snapshot <strong id=\"version\">v");
	html_textf(&b, "%lld", s->version);
	html_lit(&b, "</strong> · <span id=\"freshness-text\">as rendered by the server</span></p>\n");
	health_strip(&b, s);
	sessions_table(&b, s, &selected, want);
	if (want)
		session_detail(&b, selected, want, s->version);
	minimap(&b, s);
	ouroboros_panel(&b, s);
	projects_table(&b, s);
	html_lit(&b, "<p class=\"muted\">History over the whole log is a debug surface: "
		     "<a href=\"/debug/history\">/debug/history</a>. No live view reads it.</p>\n");
	web_layout_end(&b, c);
	http_header(c, "ETag", s->etag);
	int rc = web_reply_page(c, 200, &b);
	buf_free(&b);
	json_decref(selected);
	snap_release(s);
	evhttp_clear_headers(&q);
	return rc;
}
