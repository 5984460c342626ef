/* The OpenAPI document and the route table describe the same API. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "site/site.h"
#include "util/embedded.h"

static json_t *load_doc(void)
{
	const struct embedded_file *f = embedded_find("docs/openapi.json");
	cr_assert_not_null(f, "docs/openapi.json is not compiled in");
	json_error_t e;
	json_t *doc = json_loadb((const char *)f->data, f->len, 0, &e);
	cr_assert_not_null(doc, "docs/openapi.json:%d:%d: %s", e.line, e.column, e.text);
	return doc;
}

static void lower(const char *in, char *out)
{
	for (; *in; in++)
		*out++ = (char)(*in >= 'A' && *in <= 'Z' ? *in + 32 : *in);
	*out = 0;
}

Test(openapi, every_api_route_is_documented)
{
	json_t *doc = load_doc();
	json_t *paths = json_object_get(doc, "paths");
	for (size_t i = 0; i < site_nroutes; i++) {
		if (site_routes[i].kind != ROUTE_API)
			continue;
		char m[16];
		lower(http_method_name(site_routes[i].method), m);
		json_t *op = json_object_get(json_object_get(paths, site_routes[i].pattern), m);
		cr_expect_not_null(op, "%s %s is routed but not in docs/openapi.json",
				   http_method_name(site_routes[i].method), site_routes[i].pattern);
	}
	json_decref(doc);
}

Test(openapi, every_documented_operation_is_routed)
{
	json_t *doc = load_doc();
	const char *path;
	json_t *item;
	json_object_foreach(json_object_get(doc, "paths"), path, item) {
		const char *method;
		json_t *op;
		json_object_foreach(item, method, op) {
			int found = 0;
			for (size_t i = 0; i < site_nroutes; i++) {
				char m[16];
				lower(http_method_name(site_routes[i].method), m);
				if (site_routes[i].kind == ROUTE_API && !strcmp(m, method) &&
				    !strcmp(site_routes[i].pattern, path))
					found = 1;
			}
			cr_expect(found, "%s %s is documented but not routed", method, path);
		}
	}
	json_decref(doc);
}
