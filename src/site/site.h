/* site: Portal as the HTTP server serves it. The one table of every route
 * Portal answers (pages, API, assets), composed from api/ and web/ here, so
 * the transport (http/) knows none of them. */
#ifndef PORTAL_SITE_H
#define PORTAL_SITE_H

#include "http/router.h"

extern const struct route site_routes[];
extern const size_t site_nroutes;

#endif
