/* web: pages for people. Server-rendered HTML that reads fully without
 * JavaScript; the script only enhances. Every page shares one layout with the
 * workflow-path navigation. */
#ifndef PORTAL_WEB_H
#define PORTAL_WEB_H

#include "util/buf.h"

struct http_ctx;

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

/* A next action on a recovery view: a same-origin link and its words. */
struct web_action {
	const char *href;
	const char *label;
};

/* The recovery view: names the blocker class (auth, contract, dependency,
 * product), keeps the HTTP status honest and always offers a next action. */
int web_reply_recovery(struct http_ctx *c, int status, const char *blocker_class,
		       const char *title, const char *message,
		       const struct web_action *actions, int nactions);

/* 404 and 405 for any path: the recovery page for people, the JSON error
 * shape for machines. */
int web_reply_unrouted(struct http_ctx *c);

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
int web_admin_signout(struct http_ctx *c);

#endif
