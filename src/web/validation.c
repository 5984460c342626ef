/* validation (pages): the Validation list the preview, the home page and a
 * project page share, from the same judgement `portal check` prints
 * (app/validation.c), plus the projects live events name that portal.yaml
 * does not declare, which check cannot know and which are listed apart and
 * never counted as check's. It writes no secret value and no URL; signed
 * out, no secret or component name either. */
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "app/validation.h"
#include "core/contract.h"
#include "http/http.h"
#include "live/hub.h"
#include "web/html.h"
#include "web/web.h"

static void problem(struct buf *b, const struct validation_item *it, int public_view)
{
	int needed = it->needed_by[0] != 0;
	html_lit(b, "<li data-check-item");
	if (!public_view)
		html_attr(b, "data-secret", it->secret);
	html_attr(b, "data-state", it->state);
	html_attr(b, "data-needed", needed ? "yes" : "no");
	html_lit(b, ">");
	if (public_view) {
		html_text(b, needed ? "A secret Portal needs is "
				    : "A declared secret check lists without counting is ");
		html_text(b, it->state);
		html_lit(b, ". <span class=\"fix\">Provide it at its source, then reload Portal; "
			    "sign in to see which.</span>");
	} else {
		html_lit(b, "Secret <code>");
		html_text(b, it->secret);
		html_lit(b, "</code> is <span class=\"secret\"");
		html_attr(b, "data-secret", it->state);
		html_lit(b, ">");
		html_text(b, it->state);
		html_lit(b, "</span> <span class=\"detail\">(");
		html_text(b, it->detail);
		html_lit(b, ")</span>; ");
		if (needed) {
			html_text(b, "needed by ");
			html_text(b, it->needed_by);
		} else {
			html_text(b, "check lists it without counting it: no component, setting or "
				     "proposal kind needs it");
		}
		html_lit(b, ". <span class=\"fix\">Provide it at the source its contract names, "
			    "then reload Portal (SIGHUP) and confirm with <code>portal check</code>."
			    "</span>");
	}
	html_lit(b, "</li>\n");
}

void web_validation_list(struct buf *b, struct http_ctx *c, const struct snap *s,
			 const struct project_contract *pc, int public_view)
{
	const struct config *cfg = c->cfg;
	struct validation v;
	validation_of_app(c->app, cfg, &v);
	size_t mine = 0, shown = 0;
	for (size_t i = 0; i < v.nitems; i++)
		if (!pc || validation_concerns(cfg, &v.items[i], pc)) {
			shown++;
			mine += v.items[i].needed_by[0] != 0;
		}
	html_lit(b, "<div class=\"check\" id=\"check\"");
	char n[24];
	snprintf(n, sizeof n, "%zu", v.problems);
	html_attr(b, "data-problems", n);
	html_lit(b, ">\n<p>");
	if (v.unresolved) {
		html_lit(b, "<span data-count=\"problems\" data-unchecked>Secrets not checked yet"
			    "</span>: Portal resolves them at start and on reload.");
	} else {
		html_lit(b, "<span data-count=\"problems\"><strong>");
		html_textf(b, "%zu", v.problems);
		html_lit(b, "</strong> ");
		html_text(b, v.problems == 1 ? "configuration problem" : "configuration problems");
		html_lit(b, "</span> as <code>portal check</code> reports them");
		if (v.nitems > v.problems)
			html_textf(b, " (it also lists %zu secret%s it does not count)",
				   v.nitems - v.problems, v.nitems - v.problems == 1 ? "" : "s");
		if (pc) {
			html_lit(b, "; <span data-count=\"project-problems\"><strong>");
			html_textf(b, "%zu", mine);
			html_lit(b, "</strong> ");
			html_text(b, mine == 1 ? "concerns this project" : "concern this project");
			html_lit(b, "</span>");
		}
		html_lit(b, ".");
	}
	html_lit(b, "</p>\n");
	if (shown) {
		html_lit(b, "<ul class=\"checks\" id=\"check-list\">\n");
		for (size_t i = 0; i < v.nitems; i++)
			if (!pc || validation_concerns(cfg, &v.items[i], pc))
				problem(b, &v.items[i], public_view);
		html_lit(b, "</ul>\n");
	}
	html_lit(b, "</div>\n");
	validation_free(&v);
	if (pc || !s)
		return;
	size_t undeclared = 0;
	for (size_t i = 0; i < s->ix.nprojects; i++)
		undeclared += catalogue_project(&cfg->catalogue, s->ix.projects[i]) == NULL;
	if (!undeclared)
		return;
	html_lit(b, "<p>Beside what <code>portal check</code> can know: <span "
		    "data-count=\"undeclared\"><strong>");
	html_textf(b, "%zu", undeclared);
	html_lit(b, "</strong> ");
	html_text(b, undeclared == 1 ? "project" : "projects");
	html_lit(b, " named by live events but not declared in portal.yaml</span>.</p>\n"
		    "<ul class=\"checks\" id=\"undeclared\">\n");
	for (size_t i = 0; i < s->ix.nprojects; i++) {
		const char *name = s->ix.projects[i];
		if (catalogue_project(&cfg->catalogue, name))
			continue;
		html_lit(b, "<li");
		html_attr(b, "data-undeclared", name);
		html_lit(b, ">");
		if (public_view) {
			html_lit(b, "<span class=\"name\">");
			html_text(b, name);
			html_lit(b, "</span>");
		} else {
			html_lit(b, "<a class=\"name\"");
			web_href_segment(b, "/projects/", name);
			html_lit(b, ">");
			html_text(b, name);
			html_lit(b, "</a>");
		}
		html_lit(b, ": <span class=\"flag\">not declared in portal.yaml</span>. <span "
			    "class=\"fix\">Declare it under <code>projects:</code>, or correct the "
			    "<code>project</code> its producer sends.</span></li>\n");
	}
	html_lit(b, "</ul>\n");
}
