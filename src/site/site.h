/* site: Portal as the HTTP server serves it. The one table of every route
 * Portal answers (pages, API, assets) and the hooks that decide what the
 * transport cannot: who may (auth/), and how a refusal or an unknown path
 * looks to people (web/). Composed here, so http/ knows none of them. */
#ifndef PORTAL_SITE_H
#define PORTAL_SITE_H

#include "http/http.h"
#include "http/router.h"

extern const struct route site_routes[];
extern const size_t site_nroutes;

/* site_routes with Portal's admit, refuse and unrouted hooks: what
 * `portal serve` hands server_start. */
extern const struct http_site site_portal;

#endif
