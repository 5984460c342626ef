/* routes: the one table of every route Portal answers. */
#ifndef PORTAL_ROUTES_H
#define PORTAL_ROUTES_H

#include "http/router.h"

extern const struct route http_routes[];
extern const size_t http_nroutes;

#endif
