/* home: the workflow path at a glance, and the state of this Portal itself.
 * Every line is read from something real: the project spine (contracts and
 * the live projection), validation as `portal check` reports it, the stage
 * definitions, the readiness monitor, the configuration in force. */
#include <stdio.h>
#include <stdlib.h>

#include "app/app.h"
#include "core/stage.h"
#include "http/http.h"
#include "live/hub.h"
#include "util/log.h"
#include "web/html.h"
#include "web/web.h"

static void stages(struct buf *b)
{
	html_lit(b, "<ol class=\"stages\">\n");
	for (int s = 0; s < STAGE_COUNT; s++) {
		const struct stage_info *si = stage_info((enum stage)s);
		html_lit(b, "<li class=\"stage\"");
		html_attr(b, "id", si->slug);
		html_lit(b, ">\n<h2>");
		html_text(b, si->title);
		html_lit(b, "</h2>\n<p>");
		html_text(b, si->purpose);
		html_lit(b, "</p>\n<p class=\"truth\">");
		html_text(b, si->truth);
		html_lit(b, "</p>\n</li>\n");
	}
	html_lit(b, "</ol>\n");
}

/* Each project, linked, with its derived stage and why. */
static void spine(struct buf *b, struct http_ctx *c)
{
	struct snap *s = hub_snapshot(c->app->hub);
	struct web_project *ps;
	size_t n = web_projects(c, s, &ps);
	html_lit(b, "<section class=\"panel wide\" id=\"spine\" aria-labelledby=\"spine-h\">\n"
		    "<h2 id=\"spine-h\">Projects</h2>\n");
	web_spine_list(b, ps, n, 0);
	html_lit(b, "<p class=\"muted\">Snapshot ");
	html_textf(b, "v%lld", s->version);
	html_lit(b, " of the live projection, weighed against each project's contracts.</p>\n"
		    "</section>\n");
	free(ps);
	snap_release(s);
}

/* What `portal check` reports for the configuration in force, and the
 * projects events name that it does not declare. */
static void validation(struct buf *b, struct http_ctx *c)
{
	struct snap *s = hub_snapshot(c->app->hub);
	html_lit(b, "<section class=\"panel wide\" id=\"validation\" aria-labelledby=\"val-h\">\n"
		    "<h2 id=\"val-h\">Validation</h2>\n");
	web_validation_list(b, c, s, NULL, 0);
	html_lit(b, "</section>\n");
	snap_release(s);
}

static void row(struct buf *b, const char *key, const char *value)
{
	html_lit(b, "<dt>");
	html_text(b, key);
	html_lit(b, "</dt><dd>");
	html_text(b, value);
	html_lit(b, "</dd>\n");
}

static void status(struct buf *b, struct http_ctx *c)
{
	struct readiness r;
	app_readiness(c->app, &r);
	char when[32] = "never", schema[64];
	if (r.checked_at_ms)
		log_format_time(r.checked_at_ms, when);
	snprintf(schema, sizeof schema, "version %d of %d", r.store.schema_version,
		 r.store.schema_latest);
	html_lit(b, "<section class=\"panel\" aria-labelledby=\"this-portal\">\n"
		    "<h2 id=\"this-portal\">This Portal</h2>\n<dl class=\"facts\">\n");
	row(b, "Store", r.store.ready ? "ready" : r.store.reason);
	row(b, "Schema", schema);
	row(b, "Database instance", r.store.instance_id[0] ? r.store.instance_id : "unknown");
	row(b, "Last checked", when);
	row(b, "Environment", c->cfg->environment);
	row(b, "Version", PORTAL_VERSION " (" PORTAL_COMMIT ")");
	html_lit(b, "</dl>\n</section>\n");
}

int web_page_home(struct http_ctx *c)
{
	/* Signed out, / is the pre-auth preview (or the way to sign in). */
	if (!c->signed_in && !c->bearer)
		return web_page_preview(c);
	struct buf b = BUF_INIT;
	web_layout_begin(&b, c, "Workflow path");
	html_lit(&b, "<h1>Workflow path</h1>\n");
	spine(&b, c);
	validation(&b, c);
	html_lit(&b, "<p class=\"lead\">Every project walks onboarding → work → proposal → "
		     "proof → recovery. Portal derives where a project stands from canonical truth; it "
		     "never stores a stage as a flag someone sets, and it changes nothing except "
		     "through a proposal.</p>\n");
	stages(&b);
	status(&b, c);
	html_lit(&b, "<section class=\"panel\" aria-labelledby=\"next\">\n"
		     "<h2 id=\"next\">Next actions</h2>\n<ul class=\"actions\">\n"
		     "<li><a href=\"/readyz\">Check readiness</a>: the store and its schema, as a "
		     "load balancer sees them.</li>\n"
		     "<li><a href=\"/api/v1/openapi.json\">Read the API description</a> "
		     "(OpenAPI 3).</li>\n"
		     "<li><a href=\"/metrics\">Scrape metrics</a> (Prometheus text format).</li>\n"
		     "</ul>\n</section>\n");
	web_layout_end(&b, c);
	int rc = web_reply_page(c, 200, &b);
	buf_free(&b);
	return rc;
}
