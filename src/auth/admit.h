/* admit: Portal's admit hook (struct http_site): who is asking, from a login
 * cookie, a trusted proxy's header or a bearer token, and whether they may
 * use the route they asked for. Reads only memory (the login and token
 * caches), never the store. */
#ifndef PORTAL_ADMIT_H
#define PORTAL_ADMIT_H

#include "util/buf.h"

struct http_ctx;

/* Identifies who is asking, then holds the route to its `need`: a person not
 * signed in is sent to sign in with the way back kept (pages) or answered
 * 401 (API); a role too low gets 403 naming the role; a state-changing
 * request made with a login needs its CSRF token. Refusals go through the
 * site's refuse hook. Returns 1 when it answered, 0 to go on. */
int admit_request(struct http_ctx *c);

/* The percent-encoded "/login?next=<path and query of this request>"
 * (plus "&expired=1" when asked) into out. */
void admit_login_href(struct http_ctx *c, int expired, struct buf *out);

#endif
