/* Router: matching, parameters, and the central 404/405 decisions. */
#include <criterion/criterion.h>
#include <string.h>

#include "http/router.h"

static int h(struct http_ctx *c) { (void)c; return 0; }

static const struct route table[] = {
	{METHOD_GET, "/", h, ROUTE_PAGE, "home", 0},
	{METHOD_GET, "/projects/{id}", h, ROUTE_PAGE, "project", 0},
	{METHOD_POST, "/projects/{id}", h, ROUTE_API, "update", 0},
	{METHOD_GET, "/projects/{id}/sessions/{sid}", h, ROUTE_PAGE, "session", 0},
	{METHOD_GET, "/healthz", h, ROUTE_API, "health", 0},
};
#define N (sizeof table / sizeof table[0])

Test(router, root_path_matches_the_root_route)
{
	struct route_match m;
	router_match(table, N, METHOD_GET, "/", &m);
	cr_assert_eq(m.status, 200);
	cr_assert_eq(m.route_index, 0);
}

Test(router, parameters_are_captured_and_percent_decoded)
{
	struct route_match m;
	router_match(table, N, METHOD_GET, "/projects/alpha%20one/sessions/s-1", &m);
	cr_assert_eq(m.status, 200);
	cr_assert_eq(m.route_index, 3);
	char v[64];
	cr_assert_eq(router_param(&m, "id", v, sizeof v), 9);
	cr_assert_str_eq(v, "alpha one");
	cr_assert_eq(router_param(&m, "sid", v, sizeof v), 3);
	cr_assert_str_eq(v, "s-1");
	cr_assert_eq(router_param(&m, "missing", v, sizeof v), -1);
}

Test(router, malformed_or_nul_escapes_are_refused)
{
	struct route_match m;
	char v[64];
	router_match(table, N, METHOD_GET, "/projects/a%2", &m);
	cr_assert_eq(router_param(&m, "id", v, sizeof v), -1);
	router_match(table, N, METHOD_GET, "/projects/a%zz", &m);
	cr_assert_eq(router_param(&m, "id", v, sizeof v), -1);
	router_match(table, N, METHOD_GET, "/projects/a%00b", &m);
	cr_assert_eq(router_param(&m, "id", v, sizeof v), -1);
}

Test(router, a_parameter_longer_than_the_buffer_is_refused)
{
	struct route_match m;
	char v[4];
	router_match(table, N, METHOD_GET, "/projects/abcdef", &m);
	cr_assert_eq(router_param(&m, "id", v, sizeof v), -1);
}

Test(router, unknown_path_is_404)
{
	struct route_match m;
	router_match(table, N, METHOD_GET, "/nope", &m);
	cr_assert_eq(m.status, 404);
	cr_assert_null(m.route);
	cr_assert_eq(m.route_index, -1);
}

Test(router, known_path_with_wrong_method_is_405_with_allow)
{
	struct route_match m;
	router_match(table, N, METHOD_DELETE, "/projects/x", &m);
	cr_assert_eq(m.status, 405);
	cr_assert_str_eq(m.allow, "GET, HEAD, POST, OPTIONS");
}

Test(router, head_is_answered_by_get_routes)
{
	struct route_match m;
	router_match(table, N, METHOD_HEAD, "/healthz", &m);
	cr_assert_eq(m.status, 200);
	cr_assert_eq(m.route_index, 4);
}

Test(router, empty_segments_and_trailing_slashes_do_not_match)
{
	struct route_match m;
	router_match(table, N, METHOD_GET, "/healthz/", &m);
	cr_assert_eq(m.status, 404);
	router_match(table, N, METHOD_GET, "//healthz", &m);
	cr_assert_eq(m.status, 404);
	router_match(table, N, METHOD_GET, "/projects//sessions/x", &m);
	cr_assert_eq(m.status, 404);
}

Test(router, a_parameter_never_spans_two_segments)
{
	struct route_match m;
	router_match(table, N, METHOD_GET, "/projects/a/b", &m);
	cr_assert_eq(m.status, 404);
}

Test(router, relative_paths_are_refused)
{
	struct route_match m;
	router_match(table, N, METHOD_GET, "healthz", &m);
	cr_assert_eq(m.status, 404);
}

Test(router, a_405_still_tells_the_kind_of_the_path)
{
	struct route_match m;
	router_match(table, N, METHOD_POST, "/healthz", &m);
	cr_assert_eq(m.status, 405);
	cr_assert_eq(m.path_kind, ROUTE_API);
	router_match(table, N, METHOD_GET, "/nothing", &m);
	cr_assert_eq(m.path_kind, -1);
	router_match(table, N, METHOD_GET, "/projects/x", &m);
	cr_assert_eq(m.path_kind, ROUTE_PAGE);
}
