/* openapi: GET /api/v1/openapi.json serves docs/openapi.json, compiled in.
 * The document is written by hand as the contract; a unit test keeps it in
 * step with the route table. */
#include "api/api.h"
#include "http/http.h"
#include "util/embedded.h"

int api_openapi(struct http_ctx *c)
{
	const struct embedded_file *f = embedded_find("docs/openapi.json");
	if (!f)
		return http_reply_error(c, 500, "internal", NULL, "the API document is missing");
	http_header(c, "Cache-Control", "no-cache");
	return http_reply(c, 200, "application/json", f->data, f->len);
}
