/* routes: the table, and the site around it. A route appears here only when
 * its handler works; API routes must also be described in docs/openapi.json
 * (a test enforces it). */
#include "site/site.h"

#include "api/api.h"
#include "auth/admit.h"
#include "core/role.h"
#include "web/web.h"

const struct route site_routes[] = {
	{METHOD_GET, "/", web_page_home, ROUTE_PAGE, "The workflow path and the state of this Portal", ROUTE_PUBLIC},
	{METHOD_GET, "/assets/{name}", web_serve_asset, ROUTE_ASSET, "Static assets compiled into the binary", ROUTE_PUBLIC},
	{METHOD_GET, "/login", web_page_login, ROUTE_PAGE, "Sign in; lands on `next` afterwards", ROUTE_PUBLIC},
	{METHOD_POST, "/login", web_login_post, ROUTE_PAGE, "Check the account and open a sign-in", ROUTE_PUBLIC},
	{METHOD_POST, "/logout", web_logout_post, ROUTE_PAGE, "Sign out here, or everywhere (scope=everywhere)", ROLE_VIEWER},
	{METHOD_GET, "/admin/users", web_page_admin_users, ROUTE_PAGE, "Accounts: roles, states, live sign-ins", ROLE_ADMIN},
	{METHOD_POST, "/admin/users/{name}/signout", web_admin_signout, ROUTE_PAGE, "End every sign-in of one account", ROLE_ADMIN},
	{METHOD_GET, "/proposals", web_page_proposals, ROUTE_PAGE, "Proposals: filter by project, state, kind", ROLE_VIEWER},
	{METHOD_GET, "/proposals/new", web_page_proposal_new, ROUTE_PAGE, "A proposal form generated from its kind's contract", ROLE_VIEWER},
	{METHOD_POST, "/proposals", web_proposal_submit, ROUTE_PAGE, "Submit a proposal from the form", ROLE_VIEWER},
	{METHOD_GET, "/proposals/{id}", web_page_proposal, ROUTE_PAGE, "One proposal: timeline with audit hashes, decisions, execution", ROLE_VIEWER},
	{METHOD_POST, "/proposals/{id}/{action}", web_proposal_act, ROUTE_PAGE, "Approve, reject or cancel a proposal", ROLE_VIEWER},
	{METHOD_GET, "/proof", web_page_proof, ROUTE_PAGE, "Proposals in proof, with the joins their closure still lacks", ROLE_VIEWER},
	{METHOD_POST, "/api/v1/proposals", api_proposals_post, ROUTE_API, "Submit a proposal (202, queued for approval)", ROLE_VIEWER},
	{METHOD_GET, "/api/v1/proposals", api_proposals_list, ROUTE_API, "Proposals, filtered by project, state, kind", ROLE_VIEWER},
	{METHOD_GET, "/api/v1/proposals/{id}", api_proposal_get, ROUTE_API, "One proposal with its audit trail", ROLE_VIEWER},
	{METHOD_POST, "/api/v1/proposals/{id}/{action}", api_proposal_act, ROUTE_API, "Approve, reject or cancel a proposal", ROLE_VIEWER},
	{METHOD_GET, "/healthz", api_healthz, ROUTE_API, "Liveness: the process answers", ROUTE_PUBLIC},
	{METHOD_GET, "/readyz", api_readyz, ROUTE_API, "Readiness: store reachable and schema current", ROUTE_PUBLIC},
	{METHOD_GET, "/metrics", api_metrics, ROUTE_API, "Prometheus metrics", ROUTE_PUBLIC},
	{METHOD_GET, "/operator", web_page_operator, ROUTE_PAGE, "Live operator view: sessions, minimap, Ouroboros, runtime health", ROLE_VIEWER},
	{METHOD_GET, "/substrate", web_page_substrate, ROUTE_PAGE, "Owned substrate and integrated endpoints: health, auth, launch", ROLE_VIEWER},
	{METHOD_GET, "/launch/{component}", web_page_launch, ROUTE_PAGE, "Browser-first launch guidance for one component", ROLE_VIEWER},
	{METHOD_GET, "/projects/{id}", web_page_project, ROUTE_PAGE, "One project: its spine, derived stage and why, validation, next actions and sessions", ROLE_VIEWER},
	{METHOD_GET, "/sessions/{id}", web_page_session, ROUTE_PAGE, "One session, compact: continuity, lineage, launch contract, first tool family, next step", ROLE_VIEWER},
	{METHOD_GET, "/welcome", web_page_preview, ROUTE_PAGE, "The signed-out overview: project spine, session continuity, validation, next actions", ROUTE_PUBLIC},
	{METHOD_GET, "/debug/history", web_page_debug_history, ROUTE_PAGE, "Debug surface: events per day and type over the log", ROLE_OPERATOR},
	{METHOD_GET, "/api/v1/openapi.json", api_openapi, ROUTE_API, "This API's OpenAPI 3 document", ROUTE_PUBLIC},
	{METHOD_POST, "/api/v1/events", api_events_post, ROUTE_API, "Append events to portal_live_events", ROUTE_PUBLIC},
	{METHOD_GET, "/api/v1/projection", api_projection, ROUTE_API, "The harness-projection snapshot", ROLE_VIEWER},
	{METHOD_GET, "/api/v1/projection/sessions", api_projection_sessions, ROUTE_API, "Sessions of one pinned projection version, paged", ROLE_VIEWER},
	{METHOD_GET, "/api/v1/stream", api_stream, ROUTE_API, "Server-sent events: the projection, live", ROLE_VIEWER},
};

const size_t site_nroutes = sizeof site_routes / sizeof site_routes[0];

/* What to do next after an error status, in the error shape: the same model
 * the recovery views use (an unknown path is Portal's own gap, as on the 404
 * page). */
static json_t *error_next(int status)
{
	const char *href = NULL, *label = NULL;
	switch (status) {
	case 401: href = "/login"; label = "Sign in, or send a bearer token"; break;
	case 403: href = "/"; label = "Request access from an admin, naming the role"; break;
	case 409: case 424: href = "/substrate"; label = "Check the contract named in the message"; break;
	case 503: href = "/readyz"; label = "Retry once the dependency is back"; break;
	case 404: case 405: href = "/"; label = "Go to the workflow path"; break;
	case 500: href = "/"; label = "Report it, quoting the request id"; break;
	default: return json_array();
	}
	return json_pack("[{s:s,s:s}]", "href", href, "label", label);
}

const struct http_site site_portal = {
	.routes = site_routes,
	.nroutes = sizeof site_routes / sizeof site_routes[0],
	.admit = admit_request,
	.refuse = web_refuse,
	.unrouted = web_reply_unrouted,
	.error_next = error_next,
};
