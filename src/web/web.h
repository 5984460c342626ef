/* web: pages for people. Server-rendered HTML that reads fully without
 * JavaScript; the script only enhances. Every page shares one layout with the
 * workflow-path navigation. */
#ifndef PORTAL_WEB_H
#define PORTAL_WEB_H

#include <jansson.h>

#include "core/blocker.h"
#include "util/buf.h"

struct http_ctx;
struct http_refusal;
struct snap;

/* Computes the strong ETags of the embedded assets. Call once at start-up,
 * before serving. */
void web_assets_init(void);
/* "/assets/portal.css?v=<etag>" for an embedded asset, or NULL. */
const char *web_asset_url(const char *name);

/* Layout: opens the document up to <main>; closes it after the content. */
void web_layout_begin(struct buf *b, struct http_ctx *c, const char *title);
/* The same, also loading the embedded script `script` (e.g. "operator.js"). */
void web_layout_begin_script(struct buf *b, struct http_ctx *c, const char *title,
			     const char *script);
void web_layout_end(struct buf *b, struct http_ctx *c);
/* Sends a finished page. */
int web_reply_page(struct http_ctx *c, int status, struct buf *b);

/* The recovery view: names the blocker class (auth, contract, dependency,
 * product), answers with its status (blocker_http_status(cls, cause)) and
 * always offers a next action (struct http_action: a same-origin link and
 * its words). BLOCKER_NONE is shown as product: a view that cannot name its
 * blocker is Portal's own gap. */
int web_reply_recovery(struct http_ctx *c, enum blocker_class cls, enum blocker_cause cause,
		       const char *title, const char *message,
		       const struct http_action *actions, int nactions);

/* The site's refuse hook (struct http_site): the recovery view for people,
 * with a way back to the workflow path when the refusal offers none; the
 * JSON error shape for machines. */
int web_refuse(struct http_ctx *c, const struct http_refusal *r);

/* The site's unrouted hook: 404 and 405 for any path, the recovery page for
 * people, the JSON error shape for machines. */
int web_reply_unrouted(struct http_ctx *c);

/* The string member k of object o, or "" (never NULL). */
const char *web_str(json_t *o, const char *k);

/* ` href="<prefix><name>"` with name percent-encoded as one path segment,
 * e.g. ("/sessions/", id). */
void web_href_segment(struct buf *b, const char *prefix, const char *name);

/* A part of snapshot s parsed on its own (off/len from s->ix); the caller
 * decrefs. An empty array when it does not parse. */
json_t *web_snap_json(const struct snap *s, size_t off, size_t len);
/* The session `id` of snapshot s, parsed (the caller decrefs), or NULL. */
json_t *web_snap_session(const struct snap *s, const char *id);

/* One project as the pages show it: declared in the configuration, seen in
 * the live events, or both, and where it stands on the workflow path. */
struct web_project {
	const char *name;  /* borrowed from the configuration or the snapshot */
	const char *title; /* the contract's title, else the name */
	const struct project_contract *contract; /* NULL: not declared */
	int seen;          /* the snapshot has events for it */
	struct blocker_verdict verdict;
};

/* Every project the configuration in force declares, sorted by name, each
 * with its derived stage from snapshot s. A project only events name is not
 * one: web_validation_list lists it as not declared. Returns how many; *out is malloc'd
 * (free() it) and borrows from c->cfg and s, which must outlive it. */
size_t web_projects(struct http_ctx *c, const struct snap *s, struct web_project **out);
/* The spine: each project and its stage, as a list. For a signed-out
 * visitor (`public_view`) without links and with the verdict's gist; else
 * linking /projects/<name> and giving the why. */
void web_spine_list(struct buf *b, const struct web_project *ps, size_t n, int public_view);

/* The Validation list: the problems `portal check` reports for the
 * configuration in force and the secrets serve resolved last (counted as
 * check counts them), each with what to do; for project pc (or NULL: all)
 * those that concern it, with the total. Without pc and with snapshot s, the
 * projects its events name that portal.yaml does not declare, listed apart.
 * public_view: no secret or component name, no links. */
struct project_contract;
void web_validation_list(struct buf *b, struct http_ctx *c, const struct snap *s,
			 const struct project_contract *pc, int public_view);

/* The signed-out overview's content: project spine, session continuity and
 * validation as counts, next actions. Writes nothing a signed-out visitor
 * may not see: no secret value, no internal or executor URL, no session
 * content beyond counts. */
void web_preview_body(struct buf *b, struct http_ctx *c);

/* Route handlers. */
int web_page_home(struct http_ctx *c);
int web_serve_asset(struct http_ctx *c);
int web_page_operator(struct http_ctx *c);
int web_page_debug_history(struct http_ctx *c);
int web_page_substrate(struct http_ctx *c);
int web_page_launch(struct http_ctx *c);
int web_page_login(struct http_ctx *c);
int web_login_post(struct http_ctx *c);
int web_logout_post(struct http_ctx *c);
int web_page_admin_users(struct http_ctx *c);
int web_page_proposals(struct http_ctx *c);
int web_page_proof(struct http_ctx *c);
int web_page_proposal_new(struct http_ctx *c);
int web_proposal_submit(struct http_ctx *c);
int web_page_proposal(struct http_ctx *c);
int web_proposal_act(struct http_ctx *c);
int web_admin_signout(struct http_ctx *c);
/* One project: spine, stage and why, validation, next actions, sessions. */
int web_page_project(struct http_ctx *c);
/* One session, compact: continuity, lineage, launch contract, first tool
 * family, next step. */
int web_page_session(struct http_ctx *c);
/* The pre-auth preview: the whole page around web_preview_body. Served at
 * /welcome, and at / to signed-out visitors. */
int web_page_preview(struct http_ctx *c);

#endif
