/* proposals: the pages of the only mutation gate. /proposals lists and
 * filters; /proposals/new?kind= is a form generated from the kind's
 * contract, checked on the server with a message per field; /proposals/<id>
 * is the transition timeline with its audit hashes, the execution status and
 * the decisions the reader may take. Every write here is a form that carries
 * the sign-in's CSRF token; nothing here executes a proposal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>
#include <sys/queue.h>

#include "app/app.h"
#include "app/lineage.h"
#include "app/proposing.h"
#include "core/closure.h"
#include "core/proposal.h"
#include "core/role.h"
#include "http/http.h"
#include "web/html.h"
#include "web/web.h"

#define str web_str

static void csrf_field(struct buf *b, struct http_ctx *c)
{
	html_lit(b, "<input type=\"hidden\" name=\"csrf\"");
	html_attr(b, "value", c->who.csrf);
	html_lit(b, ">");
}

static void when(struct buf *b, json_t *o, const char *k)
{
	html_time(b, (long long)json_integer_value(json_object_get(o, k)), "—");
}

/* --- /proposals */

static void kinds_offer(struct buf *b, struct http_ctx *c)
{
	const struct catalogue *cat = &c->cfg->catalogue;
	html_lit(b, "<section class=\"panel\" aria-labelledby=\"propose-h\">\n"
		    "<h2 id=\"propose-h\">Propose a change</h2>\n<ul class=\"actions\">\n");
	int any = 0;
	for (size_t i = 0; i < cat->nkinds; i++) {
		const struct proposal_kind *k = &cat->kinds[i];
		if (!role_allows((enum role)c->who.role, (enum role)k->propose_role))
			continue;
		any = 1;
		html_lit(b, "<li><a");
		web_href_segment(b, "/proposals/new?kind=", k->name);
		html_lit(b, ">");
		html_text(b, k->title[0] ? k->title : k->name);
		html_lit(b, "</a> — ");
		html_text(b, k->summary);
		html_lit(b, " <span class=\"muted\">(approved by ");
		html_text(b, role_name((enum role)k->approve_role));
		html_lit(b, ", executed by ");
		html_text(b, executor_kind_name(k->executor));
		html_lit(b, ")</span></li>\n");
	}
	if (!any)
		html_lit(b, "<li>No kind of proposal is open to your role. Kinds are declared under "
			    "<code>proposals:</code> in portal.yaml.</li>\n");
	html_lit(b, "</ul>\n</section>\n");
}

static void filter_form(struct buf *b, struct proposing_job *j)
{
	html_lit(b, "<form class=\"filters\" method=\"get\" action=\"/proposals\">\n"
		    "<label>Project <input name=\"project\" maxlength=\"63\"");
	html_attr(b, "value", j->f_project);
	html_lit(b, "></label>\n<label>Kind <input name=\"kind\" maxlength=\"63\"");
	html_attr(b, "value", j->f_kind);
	html_lit(b, "></label>\n<label>State <select name=\"state\"><option value=\"\">any</option>");
	for (int s = 0; s < PROPOSAL_STATE_COUNT; s++) {
		html_lit(b, "<option");
		html_attr(b, "value", proposal_state_name((enum proposal_state)s));
		if (j->f_state == s)
			html_lit(b, " selected");
		html_lit(b, ">");
		html_text(b, proposal_state_name((enum proposal_state)s));
		html_lit(b, "</option>");
	}
	html_lit(b, "</select></label>\n<button type=\"submit\">Filter</button>\n</form>\n");
}

/* A proposing job that failed, as a recovery view: its status names the
 * blocker class (blocker_class_of_status). */
static void job_recovery(struct http_ctx *c, const struct proposing_job *j, const char *title,
			 const struct http_action back[1])
{
	enum blocker_cause cause;
	enum blocker_class cls = blocker_class_of_status(j->status, &cause);
	web_reply_recovery(c, cls, cause, title, j->message, back, 1);
}

static void list_done(struct http_ctx *c, struct proposing_job *j)
{
	if (j->code) {
		static const struct http_action back[] = {{"/proposals", "Try again"}};
		job_recovery(c, j, "Proposals are unavailable", back);
		proposing_job_free(j);
		return;
	}
	struct buf b = BUF_INIT;
	web_layout_begin(&b, c, "Proposals");
	html_lit(&b, "<h1>Proposals</h1>\n<p class=\"lead\">The only way Portal changes anything: "
		     "a proposal is validated, recorded, approved by someone else, queued, executed "
		     "by a worker, then proven.</p>\n");
	kinds_offer(&b, c);
	filter_form(&b, j);
	html_lit(&b, "<table class=\"proposals\">\n<thead><tr><th scope=\"col\">Proposal</th>"
		     "<th scope=\"col\">Kind</th><th scope=\"col\">Project</th><th scope=\"col\">"
		     "State</th><th scope=\"col\">Proposed by</th><th scope=\"col\">Updated</th>"
		     "</tr></thead>\n<tbody>\n");
	size_t i;
	json_t *p;
	json_array_foreach(j->list, i, p) {
		html_lit(&b, "<tr");
		html_attr(&b, "data-proposal", str(p, "id"));
		html_attr(&b, "data-state", str(p, "state"));
		html_lit(&b, "><td><a");
		web_href_segment(&b, "/proposals/", str(p, "id"));
		html_lit(&b, ">");
		html_text(&b, str(p, "id"));
		html_lit(&b, "</a></td><td>");
		html_text(&b, str(p, "kind"));
		html_lit(&b, "</td><td>");
		html_text(&b, str(p, "project"));
		html_lit(&b, "</td><td><span class=\"state\">");
		html_text(&b, str(p, "state"));
		html_lit(&b, "</span></td><td>");
		html_text(&b, str(p, "proposer"));
		html_lit(&b, "</td><td>");
		when(&b, p, "updated_at");
		html_lit(&b, "</td></tr>\n");
	}
	if (!json_array_size(j->list))
		html_lit(&b, "<tr><td colspan=\"6\">No proposal matches.</td></tr>\n");
	html_lit(&b, "</tbody>\n</table>\n");
	web_layout_end(&b, c);
	web_reply_page(c, 200, &b);
	buf_free(&b);
	proposing_job_free(j);
}

int web_page_proposals(struct http_ctx *c)
{
	struct evkeyvalq q;
	TAILQ_INIT(&q);
	if (c->query)
		evhttp_parse_query_str(c->query, &q);
	struct proposing_job *j = proposing_job_new(PROPOSING_LIST);
	const char *v;
	if ((v = evhttp_find_header(&q, "project")))
		snprintf(j->f_project, sizeof j->f_project, "%s", v);
	if ((v = evhttp_find_header(&q, "kind")))
		snprintf(j->f_kind, sizeof j->f_kind, "%s", v);
	if ((v = evhttp_find_header(&q, "state")) && *v)
		j->f_state = proposal_state_parse(v); /* unknown: -1, any */
	evhttp_clear_headers(&q);
	j->done = list_done;
	proposing_run(c, j);
	return 0;
}

/* --- /proposals/new */

/* The one Project control: a choice of the projects portal.yaml declares.
 * A kind's own field named `project` is this control (its help shows under
 * it), never a second box. A value refused as not declared stays chosen,
 * marked, so the refusal beside it shows what was sent; one that only came
 * in the link (?project=) is not offered. */
static void project_picker(struct buf *b, struct http_ctx *c, const struct proposal_kind *k,
			   struct evkeyvalq *values, const char *bad_field)
{
	const struct catalogue *cat = &c->cfg->catalogue;
	const struct proposal_field *own = NULL;
	for (size_t i = 0; i < k->nfields; i++)
		if (!strcmp(k->fields[i].name, "project"))
			own = &k->fields[i];
	const char *pv = values ? evhttp_find_header(values, "project") : NULL;
	int bad = bad_field && (!strcmp(bad_field, "project") || !strcmp(bad_field, "input.project"));
	html_lit(b, "<label for=\"f-project\">Project</label>\n<select id=\"f-project\" "
		    "name=\"project\" required");
	int help = own && own->help[0];
	if (bad || help)
		html_attr(b, "aria-describedby",
			  bad ? (help ? "form-error f-project-help" : "form-error") : "f-project-help");
	if (bad)
		html_lit(b, " aria-invalid=\"true\"");
	html_lit(b, ">");
	int known = 0;
	for (size_t i = 0; i < cat->nprojects; i++)
		if (pv && !strcmp(pv, cat->projects[i].name))
			known = 1;
	if (!known)
		html_lit(b, "<option value=\"\">Choose a project</option>");
	if (pv && *pv && !known && bad) {
		html_lit(b, "<option selected");
		html_attr(b, "value", pv);
		html_lit(b, ">");
		html_text(b, pv);
		html_lit(b, " (not declared)</option>");
	}
	for (size_t i = 0; i < cat->nprojects; i++) {
		const struct project_contract *pc = &cat->projects[i];
		html_lit(b, "<option");
		html_attr(b, "value", pc->name);
		if (pv && !strcmp(pv, pc->name))
			html_lit(b, " selected");
		html_lit(b, ">");
		html_text(b, pc->title[0] ? pc->title : pc->name);
		if (pc->title[0] && strcasecmp(pc->title, pc->name) != 0) {
			html_lit(b, " (");
			html_text(b, pc->name);
			html_lit(b, ")");
		}
		html_lit(b, "</option>");
	}
	html_lit(b, "</select>\n");
	if (own && own->help[0]) {
		html_lit(b, "<p class=\"help\" id=\"f-project-help\">");
		html_text(b, own->help);
		html_lit(b, "</p>\n");
	} else if (!cat->nprojects) {
		html_lit(b, "<p class=\"help\">No project is declared in portal.yaml (projects:): an "
			    "admin declares one before anything can be proposed.</p>\n");
	}
}

/* The form of kind k; values and the error (one field) from a failed try. */
static int form_page(struct http_ctx *c, int status, const struct proposal_kind *k,
		     struct evkeyvalq *values, const char *bad_field, const char *message)
{
	struct buf b = BUF_INIT;
	web_layout_begin(&b, c, k->title[0] ? k->title : k->name);
	html_lit(&b, "<p class=\"muted\"><a href=\"/proposals\">Proposals</a></p>\n<h1>");
	html_text(&b, k->title[0] ? k->title : k->name);
	html_lit(&b, "</h1>\n<p class=\"lead\">");
	html_text(&b, k->summary);
	html_lit(&b, "</p>\n<p>Someone with the ");
	html_text(&b, role_name((enum role)k->approve_role));
	html_lit(&b, " role");
	if (!k->self_approval)
		html_lit(&b, ", other than you,");
	html_lit(&b, " approves it; then a worker runs it. Nothing happens when you submit but the "
		     "record.</p>\n");
	if (message) {
		html_lit(&b, "<p class=\"form-error\" id=\"form-error\" role=\"alert\"");
		html_attr(&b, "data-field", bad_field ? bad_field : "");
		html_lit(&b, ">");
		html_text(&b, message);
		html_lit(&b, "</p>\n");
	}
	html_lit(&b, "<form method=\"post\" action=\"/proposals\" class=\"proposal-form\">\n");
	csrf_field(&b, c);
	html_lit(&b, "<input type=\"hidden\" name=\"kind\"");
	html_attr(&b, "value", k->name);
	/* one key per rendered form: submitting it twice records it once */
	const char *key = values ? evhttp_find_header(values, "key") : NULL;
	char fresh[33];
	if (!key) {
		unsigned char r[16];
		randombytes_buf(r, sizeof r);
		sodium_bin2hex(fresh, sizeof fresh, r, sizeof r);
		key = fresh;
	}
	html_lit(&b, "><input type=\"hidden\" name=\"key\"");
	html_attr(&b, "value", key);
	html_lit(&b, ">\n");
	project_picker(&b, c, k, values, bad_field);
	for (size_t i = 0; i < k->nfields; i++) {
		const struct proposal_field *f = &k->fields[i];
		if (!strcmp(f->name, "project"))
			continue; /* the picker above is this field */
		char id[80], key_field[80];
		snprintf(id, sizeof id, "f-%s", f->name);
		snprintf(key_field, sizeof key_field, "input.%s", f->name);
		const char *v = values ? evhttp_find_header(values, f->name) : NULL;
		int bad = bad_field && !strcmp(bad_field, key_field);
		html_lit(&b, "<label");
		html_attr(&b, "for", id);
		html_lit(&b, ">");
		html_text(&b, f->label[0] ? f->label : f->name);
		if (!f->required)
			html_lit(&b, " <span class=\"muted\">(optional)</span>");
		html_lit(&b, "</label>\n");
		if (f->type == PFIELD_ENUM) {
			html_lit(&b, "<select");
			html_attr(&b, "id", id);
			html_attr(&b, "name", f->name);
			if (f->required)
				html_lit(&b, " required");
			if (bad)
				html_lit(&b, " aria-invalid=\"true\"");
			html_lit(&b, ">");
			if (!f->required)
				html_lit(&b, "<option value=\"\"></option>");
			for (size_t k2 = 0; k2 < f->nvalues; k2++) {
				html_lit(&b, "<option");
				html_attr(&b, "value", f->values[k2]);
				if (v && !strcmp(v, f->values[k2]))
					html_lit(&b, " selected");
				html_lit(&b, ">");
				html_text(&b, f->values[k2]);
				html_lit(&b, "</option>");
			}
			html_lit(&b, "</select>\n");
		} else if (f->type == PFIELD_BOOLEAN) {
			html_lit(&b, "<input type=\"checkbox\" value=\"true\"");
			html_attr(&b, "id", id);
			html_attr(&b, "name", f->name);
			if (v && !strcmp(v, "true"))
				html_lit(&b, " checked");
			html_lit(&b, ">\n");
		} else {
			html_lit(&b, "<input");
			html_attr(&b, "id", id);
			html_attr(&b, "name", f->name);
			char num[32];
			if (f->type == PFIELD_INTEGER) {
				html_lit(&b, " type=\"number\" step=\"1\"");
				snprintf(num, sizeof num, "%lld", f->min);
				html_attr(&b, "min", num);
				snprintf(num, sizeof num, "%lld", f->max);
				html_attr(&b, "max", num);
			} else if (f->max_len > 0) {
				snprintf(num, sizeof num, "%d", f->max_len);
				html_attr(&b, "maxlength", num);
			}
			if (f->required)
				html_lit(&b, " required");
			if (bad)
				html_lit(&b, " aria-invalid=\"true\"");
			html_attr(&b, "value", v ? v : "");
			html_lit(&b, ">\n");
		}
		if (f->help[0]) {
			html_lit(&b, "<p class=\"help\">");
			html_text(&b, f->help);
			html_lit(&b, "</p>\n");
		}
	}
	html_lit(&b, "<button type=\"submit\">Submit the proposal</button>\n</form>\n");
	web_layout_end(&b, c);
	int rc = web_reply_page(c, status, &b);
	buf_free(&b);
	return rc;
}

static int no_kind(struct http_ctx *c)
{
	static const struct http_action back[] = {{"/proposals", "Choose a kind of proposal"}};
	return web_reply_recovery(c, BLOCKER_PRODUCT, BLOCKER_CAUSE_NOT_FOUND,
				  "No such kind of proposal",
				  "No proposal kind of that name is declared in this Portal's "
				  "configuration.",
				  back, 1);
}

int web_page_proposal_new(struct http_ctx *c)
{
	struct evkeyvalq q;
	TAILQ_INIT(&q);
	if (c->query)
		evhttp_parse_query_str(c->query, &q);
	const char *name = evhttp_find_header(&q, "kind");
	const struct proposal_kind *k = name ? catalogue_kind(&c->cfg->catalogue, name) : NULL;
	int rc;
	if (!k) {
		rc = no_kind(c);
	} else if (!role_allows((enum role)c->who.role, (enum role)k->propose_role)) {
		char msg[160];
		snprintf(msg, sizeof msg, "Proposing this needs the %s role. Ask an admin to grant it.",
			 role_name((enum role)k->propose_role));
		static const struct http_action back[] = {{"/proposals", "Back to the proposals"}};
		rc = web_reply_recovery(c, BLOCKER_AUTH, BLOCKER_CAUSE_FORBIDDEN,
	"Request access", msg, back, 1);
	} else {
		const char *project = evhttp_find_header(&q, "project");
		struct evkeyvalq pre;
		TAILQ_INIT(&pre);
		if (project)
			evhttp_add_header(&pre, "project", project);
		rc = form_page(c, 200, k, project ? &pre : NULL, NULL, NULL);
		evhttp_clear_headers(&pre);
	}
	evhttp_clear_headers(&q);
	return rc;
}

static void submitted(struct http_ctx *c, struct proposing_job *j)
{
	if (j->code) {
		static const struct http_action back[] = {{"/proposals", "Back to the proposals"}};
		job_recovery(c, j, "The proposal was not recorded", back);
	} else {
		http_header(c, "Location", json_string_value(json_object_get(j->proposal, "url")));
		http_reply(c, 303, NULL, NULL, 0);
	}
	proposing_job_free(j);
}

/* The form's fields as the kind's JSON input: text as typed, integers and
 * booleans converted, so proposal_validate judges them like the API's. */
static json_t *form_input(const struct proposal_kind *k, struct evkeyvalq *f)
{
	json_t *in = json_object();
	for (size_t i = 0; i < k->nfields; i++) {
		const struct proposal_field *fd = &k->fields[i];
		const char *v = evhttp_find_header(f, fd->name);
		if (fd->type == PFIELD_BOOLEAN) {
			json_object_set_new(in, fd->name, json_boolean(v && !strcmp(v, "true")));
			continue;
		}
		if (!v || !*v)
			continue; /* absent: required fields are caught by validation */
		if (fd->type == PFIELD_INTEGER) {
			char *end;
			long long n = strtoll(v, &end, 10);
			json_object_set_new(in, fd->name, *end ? json_string(v) : json_integer(n));
		} else {
			json_object_set_new(in, fd->name, json_string(v));
		}
	}
	return in;
}

int web_proposal_submit(struct http_ctx *c)
{
	struct evkeyvalq f;
	if (http_form(c, &f) < 0) {
		static const struct http_action back[] = {{"/proposals", "Back to the proposals"}};
		return web_reply_recovery(c, BLOCKER_PRODUCT, BLOCKER_CAUSE_INPUT,
					  "Send the proposal form",
					  "The proposal arrives as a form from /proposals/new.", back, 1);
	}
	const char *kind = evhttp_find_header(&f, "kind");
	const struct proposal_kind *k = kind ? catalogue_kind(&c->cfg->catalogue, kind) : NULL;
	int rc = 0;
	if (!k) {
		rc = no_kind(c);
	} else {
		json_t *input = form_input(k, &f);
		int status;
		struct perr err = {0};
		struct proposing_job *j = proposing_check_submit(
			c, k->name, evhttp_find_header(&f, "project"), input,
			evhttp_find_header(&f, "key"), &status, &err);
		json_decref(input);
		if (!j) {
			rc = form_page(c, status, k, &f, err.field, err.msg);
		} else {
			j->done = submitted;
			proposing_run(c, j);
		}
	}
	evhttp_clear_headers(&f);
	return rc;
}

/* --- /proposals/<id> */

static void fact(struct buf *b, const char *term, const char *value)
{
	html_lit(b, "<dt>");
	html_text(b, term);
	html_lit(b, "</dt><dd>");
	html_text(b, value);
	html_lit(b, "</dd>\n");
}

static void decision_form(struct buf *b, struct http_ctx *c, const char *id, const char *action,
			  const char *label, int needs_reason)
{
	struct buf href = BUF_INIT;
	buf_printf(&href, "/proposals/%s/%s", id, action); /* ids are p-<hex> */
	html_lit(b, "<form method=\"post\" class=\"decision\"");
	html_attr(b, "action", href.data);
	html_attr(b, "data-action", action);
	html_lit(b, ">");
	csrf_field(b, c);
	html_lit(b, "<input name=\"reason\" maxlength=\"255\" placeholder=\"Reason\"");
	if (needs_reason)
		html_lit(b, " required");
	html_lit(b, "><button type=\"submit\">");
	html_text(b, label);
	html_lit(b, "</button></form>\n");
	buf_free(&href);
}

/* Which implementation of a plane the configuration (the same portal.yaml
 * the worker reads) puts behind it: "embedded" or the remote one's name,
 * and for a remote one its component's title. */
static const char *plane_impl(const struct config *cfg, enum proof_plane plane,
			      const char **title)
{
	const char *impl = plane == PLANE_GRAPH	      ? cfg->proof_graph
			   : plane == PLANE_WAREHOUSE ? cfg->proof_warehouse
						      : cfg->proof_evidence;
	const char *comp = plane == PLANE_GRAPH	      ? cfg->proof_graph_component
			   : plane == PLANE_WAREHOUSE ? cfg->proof_warehouse_component
						      : cfg->proof_evidence_component;
	if (!impl[0] || !strcmp(impl, "embedded"))
		return "embedded";
	const struct component_contract *cc = catalogue_find(&cfg->catalogue, comp);
	*title = cc && cc->title[0] ? cc->title : comp;
	return impl;
}

/* "warehouse — embedded (Portal's own store)", "warehouse — ClickHouse
 * (<title>)", "evidence — http (<title>)": the plane and what answers it,
 * never a product's name for Portal's own tables. */
static void plane_label(struct buf *b, const struct config *cfg, enum proof_plane plane)
{
	const char *title = "";
	const char *impl = plane_impl(cfg, plane, &title);
	html_text(b, proof_plane_name(plane));
	html_lit(b, " — ");
	if (!strcmp(impl, "embedded")) {
		html_lit(b, "embedded (Portal's own store)");
		return;
	}
	html_text(b, !strcmp(impl, "clickhouse") ? "ClickHouse" : impl);
	html_lit(b, " (");
	html_text(b, title);
	html_lit(b, ")");
}

static int planes_all_embedded(const struct config *cfg)
{
	const char *title = "";
	for (int i = PLANE_GRAPH; i <= PLANE_EVIDENCE; i++)
		if (strcmp(plane_impl(cfg, (enum proof_plane)i, &title), "embedded"))
			return 0;
	return 1;
}

/* A proposal waiting on a plane it cannot write or read (the prover keeps
 * it as last_error, since updated_at): the plane, why, since when. */
static int stall_note(struct buf *b, json_t *p, int in_table)
{
	const char *state = str(p, "state"), *why = NULL;
	if (strcmp(state, "executed") && strcmp(state, "proving"))
		return 0;
	int plane = closure_stall_plane(str(p, "last_error"), &why);
	if (plane < 0)
		return 0;
	if (in_table)
		html_lit(b, "<div class=\"stall\"");
	else
		html_lit(b, "<p class=\"stall\"");
	html_attr(b, "data-plane", proof_plane_name((enum proof_plane)plane));
	html_lit(b, ">Waiting on the ");
	html_text(b, proof_plane_name((enum proof_plane)plane));
	html_lit(b, " plane since ");
	when(b, p, "updated_at");
	html_lit(b, ": ");
	html_text(b, why);
	if (in_table)
		html_lit(b, "</div>");
	else
		html_lit(b, "</p>");
	return 1;
}

/* The proof closure along graph → warehouse → evidence, each join with its
 * state; contradicted joins show both values. */
static void closure_panel(struct buf *b, const struct config *cfg, json_t *p)
{
	static const char *const planes[] = {"graph", "warehouse", "evidence"};
	json_t *cl = json_object_get(p, "closure");
	html_lit(b, "<section class=\"panel\" id=\"closure\" aria-labelledby=\"closure-h\"");
	html_attr(b, "data-closure", json_is_object(cl) ? str(cl, "state") : "none");
	html_lit(b, ">\n<h2 id=\"closure-h\">Proof closure</h2>\n");
	if (stall_note(b, p, 0))
		html_lit(b, "\n");
	if (!json_is_object(cl)) {
		const char *state = str(p, "state");
		if (closure_stall_plane(str(p, "last_error"), NULL) >= 0) {
			html_lit(b, "</section>\n");
			return;
		}
		html_lit(b, "<p class=\"muted\">");
		html_text(b, !strcmp(state, "executed") || !strcmp(state, "proving")
				     ? "The worker is recording this proposal in the proof planes; "
				       "the closure follows."
				     : "Proof begins once the proposal is executed: the worker records "
				       "it in the graph, the warehouse and the evidence, then checks "
				       "that they agree.");
		html_lit(b, "</p>\n</section>\n");
		return;
	}
	html_lit(b, "<p><strong class=\"closure-state\">");
	html_text(b, str(cl, "state"));
	html_lit(b, "</strong> · checked ");
	when(b, cl, "checked_at");
	html_lit(b, " · decided only by the three planes below; DataHub lineage is not proof.</p>\n"
		    "<ol class=\"chain\">\n");
	for (int i = 0; i < 3; i++) {
		html_lit(b, "<li");
		html_attr(b, "data-plane", planes[i]);
		html_lit(b, "><h3>");
		plane_label(b, cfg, (enum proof_plane)i);
		html_lit(b, "</h3>\n<ul>\n");
		size_t k;
		json_t *jn;
		json_array_foreach(json_object_get(cl, "joins"), k, jn) {
			if (strcmp(str(jn, "plane"), planes[i]))
				continue;
			html_lit(b, "<li class=\"join\"");
			html_attr(b, "data-state", str(jn, "state"));
			html_lit(b, "><span class=\"state\">");
			html_text(b, str(jn, "state"));
			html_lit(b, "</span> ");
			html_text(b, str(jn, "what"));
			if (!strcmp(str(jn, "state"), "contradicted")) {
				html_lit(b, ": expected <code>");
				html_text(b, str(jn, "expected"));
				html_lit(b, "</code>, found <code>");
				html_text(b, str(jn, "found"));
				html_lit(b, "</code>");
			}
			html_lit(b, "</li>\n");
		}
		html_lit(b, "</ul></li>\n");
	}
	html_lit(b, "</ol>\n</section>\n");
}

/* The lineage panel: DataHub's upstream and downstream of each dataset the
 * proposal names, as catalog navigation; never part of the closure. */
static void lineage_panel(struct buf *b, json_t *panel)
{
	html_lit(b, "<section class=\"panel\" id=\"lineage\" aria-labelledby=\"lineage-h\"");
	html_attr(b, "data-lineage", str(panel, "state"));
	html_lit(b, ">\n<h2 id=\"lineage-h\">Lineage <span class=\"muted\">(catalog navigation "
		    "from DataHub, not proof)</span></h2>\n");
	if (strcmp(str(panel, "state"), "ok")) {
		html_lit(b, "<p class=\"recovery\" data-class=\"dependency\">DataHub could not be "
			    "asked: ");
		html_text(b, str(panel, "message"));
		html_lit(b, ". The proof closure above does not depend on it.</p>\n</section>\n");
		return;
	}
	static const char *const dirs[] = {"upstream", "downstream"};
	size_t i;
	json_t *ds;
	json_array_foreach(json_object_get(panel, "datasets"), i, ds) {
		html_lit(b, "<div class=\"dataset\"");
		html_attr(b, "data-urn", str(ds, "urn"));
		html_lit(b, "><h3>");
		const char *link = json_string_value(json_object_get(ds, "link"));
		if (link) {
			html_lit(b, "<a");
			html_attr(b, "href", link);
			html_lit(b, ">");
		}
		html_text(b, str(ds, "name"));
		if (link)
			html_lit(b, "</a>");
		html_lit(b, "</h3>\n");
		for (int d = 0; d < 2; d++) {
			json_t *dir = json_object_get(ds, dirs[d]);
			char count[64];
			snprintf(count, sizeof count, "%lld%s",
				 (long long)json_integer_value(json_object_get(dir, "total")),
				 json_is_true(json_object_get(dir, "partial")) ? "+" : "");
			html_lit(b, "<p");
			html_attr(b, "data-direction", dirs[d]);
			html_lit(b, "><strong>");
			html_text(b, d ? "Downstream (impact)" : "Upstream");
			html_lit(b, ": <span class=\"count\">");
			html_text(b, count);
			html_lit(b, "</span></strong></p>\n<ul>");
			size_t k;
			json_t *e;
			json_array_foreach(json_object_get(dir, "entities"), k, e) {
				const char *el = json_string_value(json_object_get(e, "link"));
				html_lit(b, "<li>");
				if (el) {
					html_lit(b, "<a");
					html_attr(b, "href", el);
					html_lit(b, ">");
				}
				html_text(b, str(e, "name"));
				if (el)
					html_lit(b, "</a>");
				html_lit(b, " <span class=\"muted\">");
				html_text(b, str(e, "type"));
				html_lit(b, "</span></li>");
			}
			html_lit(b, "</ul>\n");
		}
		html_lit(b, "</div>\n");
	}
	html_lit(b, "</section>\n");
}

static void render_detail(struct http_ctx *c, struct proposing_job *j, json_t *lineage);

static void lineage_done(struct http_ctx *c, json_t *panel, void *arg)
{
	struct proposing_job *j = arg;
	json_decref((json_t *)j->arg); /* the datasets asked about */
	j->arg = NULL;
	render_detail(c, j, panel);
	json_decref(panel);
}

static void detail_done(struct http_ctx *c, struct proposing_job *j)
{
	if (!j->code && j->op != PROPOSING_ACT && lineage_configured(c->cfg)) {
		json_t *sets = lineage_datasets(c->cfg, str(j->proposal, "kind"),
						json_object_get(j->proposal, "input"));
		if (json_array_size(sets)) {
			j->arg = sets;
			lineage_fetch(c->app->lineage, c, c->cfg, sets, lineage_done, j);
			return;
		}
		json_decref(sets);
	}
	render_detail(c, j, NULL);
}

static void render_detail(struct http_ctx *c, struct proposing_job *j, json_t *lineage)
{
	if (j->code) {
		static const struct http_action back[] = {{"/proposals", "Back to the proposals"}};
		job_recovery(c, j, j->status == 404 ? "No such proposal" : "That did not happen",
			     back);
		proposing_job_free(j);
		return;
	}
	if (j->op == PROPOSING_ACT) { /* a decision from a form: back to the page */
		http_header(c, "Location", json_string_value(json_object_get(j->proposal, "url")));
		http_reply(c, 303, NULL, NULL, 0);
		proposing_job_free(j);
		return;
	}
	json_t *p = j->proposal;
	const char *id = str(p, "id"), *state = str(p, "state");
	const struct proposal_kind *k = catalogue_kind(&c->cfg->catalogue, str(p, "kind"));
	struct buf b = BUF_INIT;
	web_layout_begin(&b, c, id);
	html_lit(&b, "<p class=\"muted\"><a href=\"/proposals\">Proposals</a></p>\n<h1>");
	html_text(&b, k && k->title[0] ? k->title : str(p, "kind"));
	html_lit(&b, " <code>");
	html_text(&b, id);
	html_lit(&b, "</code></h1>\n<section class=\"panel\" id=\"proposal\"");
	html_attr(&b, "data-state", state);
	html_lit(&b, ">\n<dl class=\"facts\">\n");
	fact(&b, "State", state);
	fact(&b, "Project", str(p, "project"));
	fact(&b, "Proposed by", str(p, "proposer"));
	char n[32];
	snprintf(n, sizeof n, "%lld", (long long)json_integer_value(json_object_get(p, "attempts")));
	fact(&b, "Execution attempts", n);
	if (*str(p, "last_error"))
		fact(&b, "Last error", str(p, "last_error"));
	json_t *ev = json_object_get(p, "evidence");
	if (json_is_object(ev)) {
		fact(&b, "Evidence digest", str(ev, "digest"));
		fact(&b, "Evidence location", str(ev, "location"));
	}
	html_lit(&b, "</dl>\n<h2>Input</h2>\n<dl class=\"facts\" id=\"input\">\n");
	const char *key;
	json_t *v;
	json_object_foreach(json_object_get(p, "input"), key, v) {
		char *text = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY);
		fact(&b, key, text ? text : json_string_value(v));
		free(text);
	}
	html_lit(&b, "</dl>\n</section>\n");
	/* what this reader may decide now */
	int submitted_state = !strcmp(state, "submitted");
	int mine = !strcmp(str(p, "proposer"), c->who.user);
	if (k && submitted_state && role_allows((enum role)c->who.role, (enum role)k->approve_role)) {
		html_lit(&b, "<section class=\"panel\" id=\"decide\"><h2>Decide</h2>\n");
		if (mine && !k->self_approval)
			html_lit(&b, "<p>You proposed this: someone else approves it.</p>\n");
		else
			decision_form(&b, c, id, "approve", "Approve", 0);
		decision_form(&b, c, id, "reject", "Reject", 1);
		html_lit(&b, "</section>\n");
	}
	int cancellable = submitted_state || !strcmp(state, "approved") || !strcmp(state, "queued");
	if (cancellable && (mine || role_allows((enum role)c->who.role, ROLE_ADMIN)))
		decision_form(&b, c, id, "cancel", "Cancel the proposal", 0);
	closure_panel(&b, c->cfg, p);
	if (lineage)
		lineage_panel(&b, lineage);
	html_lit(&b, "<section class=\"panel\" id=\"timeline\" aria-labelledby=\"timeline-h\">\n"
		     "<h2 id=\"timeline-h\">Timeline</h2>\n<p class=\"muted\">Each row is an audit "
		     "record; its hash covers the previous row's, so the chain shows any change "
		     "(<code>portal check --audit</code>).</p>\n<ol class=\"timeline\">\n");
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(p, "audit"), i, a) {
		html_lit(&b, "<li");
		html_attr(&b, "data-to", str(a, "to"));
		html_lit(&b, "><strong>");
		html_text(&b, *str(a, "from") ? str(a, "from") : "—");
		html_lit(&b, " → ");
		html_text(&b, str(a, "to"));
		html_lit(&b, "</strong> by ");
		html_text(&b, str(a, "actor"));
		html_lit(&b, " · ");
		when(&b, a, "at");
		if (*str(a, "reason")) {
			html_lit(&b, " · ");
			html_text(&b, str(a, "reason"));
		}
		html_lit(&b, " <code class=\"hash\"");
		html_attr(&b, "title", str(a, "hash"));
		html_lit(&b, ">");
		char shorth[17];
		snprintf(shorth, sizeof shorth, "%s", str(a, "hash"));
		html_text(&b, shorth);
		html_lit(&b, "</code></li>\n");
	}
	html_lit(&b, "</ol>\n</section>\n");
	web_layout_end(&b, c);
	web_reply_page(c, 200, &b);
	buf_free(&b);
	proposing_job_free(j);
}

int web_page_proposal(struct http_ctx *c)
{
	struct proposing_job *j = proposing_job_new(PROPOSING_GET);
	if (router_param(&c->match, "id", j->id, sizeof j->id) <= 0) {
		proposing_job_free(j);
		return web_reply_unrouted(c);
	}
	j->done = detail_done;
	proposing_run(c, j);
	return 0;
}

int web_proposal_act(struct http_ctx *c)
{
	struct proposing_job *j = proposing_job_new(PROPOSING_ACT);
	char action[16];
	struct evkeyvalq f;
	TAILQ_INIT(&f);
	if (router_param(&c->match, "id", j->id, sizeof j->id) <= 0 ||
	    router_param(&c->match, "action", action, sizeof action) <= 0 ||
	    (strcmp(action, "approve") && strcmp(action, "reject") && strcmp(action, "cancel"))) {
		proposing_job_free(j);
		return web_reply_unrouted(c);
	}
	http_form(c, &f);
	const char *reason = evhttp_find_header(&f, "reason");
	snprintf(j->reason, sizeof j->reason, "%s", reason ? reason : "");
	evhttp_clear_headers(&f);
	if (!strcmp(action, "reject") && !j->reason[0]) {
		proposing_job_free(j);
		static const struct http_action back[] = {{"/proposals", "Back to the proposals"}};
		return web_reply_recovery(c, BLOCKER_PRODUCT, BLOCKER_CAUSE_INPUT, "Say why",
					  "A rejection needs a reason, for the proposer and the audit "
					  "log. Go back and give one.",
					  back, 1);
	}
	snprintf(j->action, sizeof j->action, "%s", action);
	snprintf(j->actor, sizeof j->actor, "%s", c->who.user);
	j->role = c->who.role;
	j->done = detail_done;
	proposing_run(c, j);
	return 0;
}

/* --- /proof: proposals in proof, with what their closure still lacks and
 * the plane any of them waits on */

static void proof_done(struct http_ctx *c, struct proposing_job *j)
{
	if (j->code) {
		static const struct http_action back[] = {{"/proof", "Try again"}};
		job_recovery(c, j, "Proof is unavailable", back);
		proposing_job_free(j);
		return;
	}
	struct buf b = BUF_INIT;
	web_layout_begin(&b, c, "Proof");
	html_lit(&b, "<h1>Proof</h1>\n<p class=\"lead\">Executed proposals wait here until the "
		     "graph, the warehouse and the evidence agree about them. Nothing else proves a "
		     "proposal.</p>\n<ul class=\"planes\">\n");
	for (int i = PLANE_GRAPH; i <= PLANE_EVIDENCE; i++) {
		html_lit(&b, "<li");
		html_attr(&b, "data-plane", proof_plane_name((enum proof_plane)i));
		html_lit(&b, ">");
		plane_label(&b, c->cfg, (enum proof_plane)i);
		html_lit(&b, "</li>\n");
	}
	html_lit(&b, "</ul>\n");
	if (planes_all_embedded(c->cfg))
		html_lit(&b, "<p class=\"notice\" id=\"embedded-only\">Every plane is embedded: "
			     "Portal's own tables, written by its own worker. Here a proof attests "
			     "only that Portal recorded its own execution, not that another system "
			     "agrees.</p>\n");
	html_lit(&b, "<table class=\"proof\">\n<thead><tr><th scope=\"col\">Proposal</th>"
		     "<th scope=\"col\">Project</th><th scope=\"col\">Closure</th>"
		     "<th scope=\"col\">Open joins</th><th scope=\"col\">Checked</th></tr></thead>"
		     "\n<tbody>\n");
	size_t i, shown = 0;
	json_t *p;
	json_array_foreach(j->list, i, p) {
		const char *state = str(p, "state");
		if (strcmp(state, "executed") && strcmp(state, "proving"))
			continue;
		shown++;
		json_t *cl = json_object_get(p, "closure");
		html_lit(&b, "<tr");
		html_attr(&b, "data-proposal", str(p, "id"));
		html_lit(&b, "><td><a");
		web_href_segment(&b, "/proposals/", str(p, "id"));
		html_lit(&b, ">");
		html_text(&b, str(p, "id"));
		html_lit(&b, "</a> ");
		html_text(&b, str(p, "kind"));
		html_lit(&b, "</td><td>");
		html_text(&b, str(p, "project"));
		html_lit(&b, "</td><td><span class=\"state\">");
		html_text(&b, json_is_object(cl)	      ? str(cl, "state")
			      : !strcmp(state, "executed") ? "not recorded yet"
							   : "not checked yet");
		html_lit(&b, "</span></td><td>");
		stall_note(&b, p, 1);
		html_lit(&b, "<ul class=\"open-joins\">");
		size_t k;
		json_t *jn;
		json_array_foreach(json_object_get(cl, "joins"), k, jn) {
			if (!strcmp(str(jn, "state"), "met"))
				continue;
			html_lit(&b, "<li");
			html_attr(&b, "data-plane", str(jn, "plane"));
			html_lit(&b, ">");
			html_text(&b, str(jn, "plane"));
			html_lit(&b, ": ");
			html_text(&b, str(jn, "what"));
			html_lit(&b, " (");
			html_text(&b, str(jn, "state"));
			html_lit(&b, ")</li>");
		}
		html_lit(&b, "</ul></td><td>");
		if (json_is_object(cl))
			when(&b, cl, "checked_at");
		else
			html_lit(&b, "—");
		html_lit(&b, "</td></tr>\n");
	}
	if (!shown)
		html_lit(&b, "<tr><td colspan=\"5\">No proposal is waiting for proof.</td></tr>\n");
	html_lit(&b, "</tbody>\n</table>\n");
	web_layout_end(&b, c);
	web_reply_page(c, 200, &b);
	buf_free(&b);
	proposing_job_free(j);
}

/* Every state, filtered above: executed ones (not yet recorded, perhaps
 * waiting on a plane) belong here as much as proving ones. The newest 500. */
int web_page_proof(struct http_ctx *c)
{
	struct proposing_job *j = proposing_job_new(PROPOSING_LIST);
	j->f_state = -1;
	j->done = proof_done;
	proposing_run(c, j);
	return 0;
}
