/* session: one session, compact by design. Exactly five blocks, read from
 * one snapshot of harness-projection: continuity, source lineage, launch
 * contract status, first tool family and the practical next step. No
 * tool-by-tool history: that is a debug surface, linked to aside. */
#include <string.h>

#include "app/app.h"
#include "core/blocker.h"
#include "core/contract.h"
#include "core/event.h"
#include "http/http.h"
#include "live/hub.h"
#include "util/log.h"
#include "web/html.h"
#include "web/web.h"

#define str web_str

static void dt(struct buf *b, const char *term)
{
	html_lit(b, "<dt>");
	html_text(b, term);
	html_lit(b, "</dt><dd>");
}

static void fact(struct buf *b, const char *term, const char *value)
{
	dt(b, term);
	html_text(b, value && *value ? value : "—");
	html_lit(b, "</dd>\n");
}

static void session_link(struct buf *b, const char *id)
{
	html_lit(b, "<a");
	web_href_segment(b, "/sessions/", id);
	html_lit(b, ">");
	html_text(b, id);
	html_lit(b, "</a>");
}

static void time_fact(struct buf *b, const char *term, json_t *ms)
{
	dt(b, term);
	html_time(b, json_is_integer(ms) ? json_integer_value(ms) : 0, "—");
	html_lit(b, "</dd>\n");
}

static void block_begin(struct buf *b, const char *id, const char *title)
{
	html_lit(b, "<section class=\"panel block\"");
	html_attr(b, "id", id);
	html_lit(b, ">\n<h2>");
	html_text(b, title);
	html_lit(b, "</h2>\n");
}

/* Where it came from and what came of it: the resume chain both ways. */
static void continuity(struct buf *b, json_t *s)
{
	json_t *cont = json_object_get(s, "continuity"), *chain = json_object_get(cont, "chain");
	json_t *blocked = json_object_get(s, "blocked");
	block_begin(b, "continuity", "Continuity");
	html_lit(b, "<dl class=\"facts\">\n");
	dt(b, "Status");
	html_lit(b, "<span class=\"status\"");
	html_attr(b, "data-status", str(s, "status"));
	html_lit(b, ">");
	html_text(b, str(s, "status"));
	html_lit(b, "</span>");
	if (json_is_object(blocked)) {
		int cls = blocker_class_parse(str(blocked, "class"));
		html_lit(b, " · <span class=\"class\"");
		html_attr(b, "data-blocker", str(blocked, "class"));
		html_lit(b, ">");
		html_text(b, str(blocked, "class"));
		html_text(b, cls == BLOCKER_AUTH ? " blocker (access, not a failure)" : " blocker");
		html_lit(b, "</span>");
	}
	if (*str(s, "outcome")) {
		html_lit(b, " · ");
		html_text(b, str(s, "outcome"));
	}
	html_lit(b, "</dd>\n");
	dt(b, "Resumed from");
	size_t i;
	json_t *x;
	json_array_foreach(chain, i, x) {
		session_link(b, json_string_value(x));
		html_lit(b, " → ");
	}
	if (json_array_size(chain))
		html_text(b, "this session");
	else
		html_lit(b, "nothing: the chain begins here");
	html_lit(b, "</dd>\n");
	dt(b, "Resumed by");
	if (*str(cont, "resumed_by"))
		session_link(b, str(cont, "resumed_by"));
	else
		html_lit(b, "—");
	html_lit(b, "</dd>\n");
	time_fact(b, "Started", json_object_get(s, "started_at"));
	time_fact(b, "Last event", json_object_get(s, "last_event_at"));
	if (json_is_integer(json_object_get(s, "ended_at")))
		time_fact(b, "Ended", json_object_get(s, "ended_at"));
	html_lit(b, "</dl>\n</section>\n");
}

static void lineage(struct buf *b, json_t *s)
{
	json_t *lin = json_object_get(s, "lineage");
	block_begin(b, "lineage", "Source lineage");
	html_lit(b, "<dl class=\"facts\">\n");
	fact(b, "Repository", str(lin, "repository"));
	fact(b, "Commit", str(lin, "commit"));
	fact(b, "Ticket", str(lin, "ticket"));
	dt(b, "Parent session");
	if (*str(lin, "parent_session"))
		session_link(b, str(lin, "parent_session"));
	else
		html_lit(b, "—");
	html_lit(b, "</dd>\n</dl>\n</section>\n");
}

static void launch(struct buf *b, struct http_ctx *c, json_t *s)
{
	json_t *la = json_object_get(s, "launch");
	const char *comp = str(la, "component"), *status = str(la, "status");
	block_begin(b, "launch", "Launch contract");
	html_lit(b, "<dl class=\"facts\">\n");
	dt(b, "Component");
	const struct component_contract *cc = *comp ? catalogue_find(&c->cfg->catalogue, comp) : NULL;
	if (cc) {
		html_lit(b, "<a");
		web_href_segment(b, "/launch/", comp);
		html_lit(b, ">");
		html_text(b, cc->title[0] ? cc->title : comp);
		html_lit(b, "</a> <span class=\"muted\">");
		html_text(b, cc->ownership == OWNERSHIP_OWNED ? "owned by FractalOps"
							     : "integrated endpoint");
		html_lit(b, "</span>");
	} else if (*comp) {
		html_text(b, comp);
		html_lit(b, " <span class=\"flag\">not declared in the configuration</span>");
	} else {
		html_lit(b, "— <span class=\"muted\">the session did not say where it launched</span>");
	}
	html_lit(b, "</dd>\n");
	dt(b, "Status");
	html_lit(b, "<span class=\"status\"");
	html_attr(b, "data-launch", *status ? status : "unknown");
	html_lit(b, ">");
	html_text(b, *status ? status : "not reported");
	html_lit(b, "</span></dd>\n</dl>\n</section>\n");
}

static void first_tool(struct buf *b, json_t *s)
{
	block_begin(b, "first-tool", "First tool family");
	html_lit(b, "<p class=\"big\">");
	if (*str(s, "first_tool_family"))
		html_text(b, str(s, "first_tool_family"));
	else
		html_lit(b, "none yet: no tool has run");
	html_lit(b, "</p>\n</section>\n");
}

static void next_step(struct buf *b, json_t *s)
{
	block_begin(b, "next-step", "Practical next step");
	html_lit(b, "<p>");
	html_text(b, str(s, "next_step"));
	html_lit(b, "</p>\n<p><a");
	web_href_segment(b, "/projects/", str(s, "project"));
	html_lit(b, ">Project ");
	html_text(b, str(s, "project"));
	html_lit(b, "</a>: where the project stands and what else it needs.</p>\n</section>\n");
}

int web_page_session(struct http_ctx *c)
{
	static const struct http_action back[] = {
		{"/operator", "Back to the operator view: every session, live"},
	};
	char id[EVENT_SESSION_MAX + 1];
	struct snap *s = hub_snapshot(c->app->hub);
	json_t *row = router_param(&c->match, "id", id, sizeof id) > 0 ? web_snap_session(s, id)
									 : NULL;
	if (!row) {
		snap_release(s);
		return web_reply_recovery(c, BLOCKER_PRODUCT, BLOCKER_CAUSE_NOT_FOUND,
					  "No such session",
					  "This session is not in the live projection. It appears with "
					  "its first event; check the id, or find it on the operator "
					  "view.",
					  back, 1);
	}
	char ver[24];
	snprintf(ver, sizeof ver, "%lld", s->version);
	struct buf b = BUF_INIT;
	web_layout_begin(&b, c, id);
	html_lit(&b, "<p class=\"muted\"><a href=\"/operator\">Operator</a> · session of <a");
	web_href_segment(&b, "/projects/", str(row, "project"));
	html_lit(&b, ">");
	html_text(&b, str(row, "project"));
	html_lit(&b, "</a> · snapshot <strong id=\"version\">v");
	html_text(&b, ver);
	html_lit(&b, "</strong></p>\n<h1>Session ");
	html_text(&b, id);
	html_lit(&b, "</h1>\n<div class=\"blocks\" id=\"session\"");
	html_attr(&b, "data-version", ver);
	html_attr(&b, "data-status", str(row, "status"));
	html_lit(&b, ">\n");
	continuity(&b, row);
	lineage(&b, row);
	launch(&b, c, row);
	first_tool(&b, row);
	next_step(&b, row);
	html_lit(&b, "</div>\n<aside class=\"muted aside\">Tool-by-tool history is not live truth: "
		     "it lives on the <a href=\"/debug/history\">debug surface</a>.</aside>\n");
	web_layout_end(&b, c);
	int rc = web_reply_page(c, 200, &b);
	buf_free(&b);
	json_decref(row);
	snap_release(s);
	return rc;
}
