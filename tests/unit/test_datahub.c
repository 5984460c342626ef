/* DataHub GraphQL adapter: against a loopback HTTP server the test starts,
 * answering in DataHub's documented shapes (docs: the GraphQL API guide),
 * it checks what is sent (POST /api/graphql, JSON with query, operationName
 * and variables, the bearer token only when one is set, values only in
 * variables), how each answer is read, how each failure is classified, and
 * that no error text carries the URL or the token. Then the links to
 * DataHub's pages, which need no server. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../support/loopback_http.h"
#include "adapters/datahub.h"
#include "util/clock.h"

#define SECRET "dh-s3cret-personal-access-token"
#define ORDERS "urn:li:dataset:(urn:li:dataPlatform:clickhouse,analytics.orders,PROD)"

/* --- the loopback server: every path answers the canned reply */

static struct loopback_http srv;

/* What the next request gets. */
static struct {
	int status;       /* 0: never answer */
	const char *body; /* NULL: an empty body */
	size_t big;       /* >0: a body of this many bytes instead */
	int chunked;      /* send big without a Content-Length */
} canned;

/* What the last request carried. */
static atomic_int seen_count;
static char seen_method[8], seen_uri[256], seen_auth[256], seen_type[64], seen_accept[64];
static char seen_body[32768];
static int seen_has_auth;

static void on_any(struct evhttp_request *req, void *arg)
{
	seen_has_auth = evhttp_find_header(evhttp_request_get_input_headers(req),
					   "Authorization") != NULL;
	loopback_http_header(req, "Authorization", seen_auth, sizeof seen_auth);
	loopback_http_header(req, "Content-Type", seen_type, sizeof seen_type);
	loopback_http_header(req, "Accept", seen_accept, sizeof seen_accept);
	snprintf(seen_method, sizeof seen_method, "%s",
		 evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "other");
	snprintf(seen_uri, sizeof seen_uri, "%s", evhttp_request_get_uri(req));
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	if (n >= sizeof seen_body)
		n = sizeof seen_body - 1;
	evbuffer_copyout(in, seen_body, n);
	seen_body[n] = 0;
	atomic_fetch_add(&seen_count, 1);

	if (!canned.status)
		return; /* never answers */
	struct evbuffer *b = evbuffer_new();
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	if (canned.big) {
		char *fill = malloc(canned.big);
		cr_assert(fill);
		memset(fill, ' ', canned.big);
		fill[0] = '{';
		fill[canned.big - 1] = '}';
		evbuffer_add(b, fill, canned.big);
		free(fill);
	} else if (canned.body) {
		evbuffer_add(b, canned.body, strlen(canned.body));
	}
	if (canned.chunked) {
		evhttp_send_reply_start(req, canned.status, "OK");
		evhttp_send_reply_chunk(req, b);
		evhttp_send_reply_end(req);
	} else {
		evhttp_send_reply(req, canned.status, canned.status < 300 ? "OK" : "No", b);
	}
	evbuffer_free(b);
}

static void server_start(void)
{
	loopback_http_open(&srv);
	evhttp_set_gencb(srv.http, on_any, NULL);
	evhttp_set_max_body_size(srv.http, 1 << 20);
	loopback_http_run(&srv);
}

static void server_stop(void)
{
	loopback_http_close(&srv);
}

TestSuite(datahub, .init = server_start, .fini = server_stop, .timeout = 20);

/* --- helpers */

static void answer(int status, const char *body)
{
	memset(&canned, 0, sizeof canned);
	canned.status = status;
	canned.body = body;
}

/* A handle on the loopback server (port 0: the server's), with a base path
 * ("" or e.g. "/gms") and an optional token. */
static struct datahub *open_at(int port, const char *path, const char *token, int timeout_ms)
{
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port ? port : srv.port, path);
	struct datahub_conf c = {.url = url, .token = token, .timeout_ms = timeout_ms};
	struct datahub *d = NULL;
	struct perr err = {0};
	cr_assert_eq(datahub_open(&c, &d, &err), 0, "open: %s", err.msg);
	return d;
}

static struct datahub *open_default(const char *token)
{
	return open_at(0, "", token, 2000);
}

/* No error text may carry the URL, its host or port, the endpoint or the
 * token; and every error says it is about DataHub. */
static void error_must_be_clean(const struct perr *err)
{
	char port[16], rport[16];
	snprintf(port, sizeof port, "%d", srv.port);
	snprintf(rport, sizeof rport, "%d", srv.refused_port);
	const char *bad[] = {"127.0.0.1", "localhost", "http:", "https:", "/api/graphql",
			     port, rport, SECRET, "Bearer"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_null(strstr(err->msg, bad[i]), "error \"%s\" contains \"%s\"", err->msg,
			       bad[i]);
	cr_assert(strstr(err->msg, "DataHub"), "error \"%s\" does not name DataHub", err->msg);
}

/* The last request's body, parsed (the caller decrefs). */
static json_t *sent(void)
{
	json_error_t jerr;
	json_t *j = json_loads(seen_body, 0, &jerr);
	cr_assert(json_is_object(j), "the request body is not a JSON object: %s", seen_body);
	return j;
}

static const char *str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static const char LINEAGE_ANSWER[] =
	"{\"data\":{\"searchAcrossLineage\":{\"total\":3,\"isPartial\":false,\"searchResults\":["
	"{\"degree\":1,\"entity\":{\"urn\":\"urn:li:dataset:(urn:li:dataPlatform:clickhouse,"
	"analytics.orders_daily,PROD)\",\"type\":\"DATASET\",\"name\":\"analytics.orders_daily\","
	"\"properties\":{\"name\":\"orders_daily\"},\"platform\":{\"name\":\"clickhouse\"}}},"
	"{\"degree\":1,\"entity\":{\"urn\":\"urn:li:dataJob:(urn:li:dataFlow:(airflow,etl,prod),"
	"load_orders)\",\"type\":\"DATA_JOB\",\"properties\":{\"name\":\"load_orders\"},"
	"\"dataFlow\":{\"platform\":{\"name\":\"airflow\"}}}},"
	"{\"degree\":2,\"entity\":{\"urn\":\"urn:li:dashboard:(looker,sales)\",\"type\":"
	"\"DASHBOARD\",\"properties\":null,\"platform\":{\"name\":\"looker\"}}}"
	"]}}}";

static const char ENTITY_ANSWER[] =
	"{\"data\":{\"entityExists\":true,\"entity\":{\"urn\":\"" "urn:li:dataset:(urn:li:"
	"dataPlatform:clickhouse,analytics.orders,PROD)\",\"type\":\"DATASET\",\"name\":"
	"\"analytics.orders\",\"properties\":{\"name\":\"orders\"},\"platform\":{\"name\":"
	"\"clickhouse\"}}}}";

/* --- what is sent */

Test(datahub, lineage_posts_json_to_api_graphql_with_the_bearer_token)
{
	answer(200, LINEAGE_ANSWER);
	struct datahub *d = open_default(SECRET);
	struct datahub_lineage l;
	struct perr err;
	cr_assert_eq(datahub_lineage(d, ORDERS, DATAHUB_DOWNSTREAM, 50, &l, &err), 0, "%s",
		     err.msg);
	cr_assert_str_eq(seen_method, "POST");
	cr_assert_str_eq(seen_uri, "/api/graphql");
	cr_assert_str_eq(seen_type, "application/json");
	cr_assert_str_eq(seen_accept, "application/json");
	cr_assert_str_eq(seen_auth, "Bearer " SECRET);
	datahub_lineage_clear(&l);
	datahub_close(d);
}

Test(datahub, the_urn_direction_and_count_travel_as_variables_never_in_the_query)
{
	answer(200, LINEAGE_ANSWER);
	struct datahub *d = open_default(NULL);
	struct datahub_lineage l;
	struct perr err;
	cr_assert_eq(datahub_lineage(d, ORDERS, DATAHUB_DOWNSTREAM, 50, &l, &err), 0, "%s",
		     err.msg);
	json_t *body = sent();
	cr_assert_eq(json_object_size(body), 3, "body: %s", seen_body);
	cr_assert_str_eq(str(body, "operationName"), "portalLineage");
	const char *query = str(body, "query");
	cr_assert(query);
	cr_assert(strstr(query, "query portalLineage("), "%s", query);
	cr_assert(strstr(query, "searchAcrossLineage"), "%s", query);
	cr_assert(strstr(query, "fragment portalEntityFields on Entity"), "%s", query);
	cr_assert_null(strstr(query, "analytics.orders"), "the urn is in the query text");
	cr_assert_null(strstr(query, "DOWNSTREAM"), "the direction is in the query text");
	json_t *vars = json_object_get(body, "variables");
	cr_assert_str_eq(str(vars, "urn"), ORDERS);
	cr_assert_str_eq(str(vars, "direction"), "DOWNSTREAM");
	cr_assert_eq(json_integer_value(json_object_get(vars, "count")), 50);
	json_decref(body);
	datahub_lineage_clear(&l);
	datahub_close(d);
}

Test(datahub, upstream_is_sent_as_UPSTREAM)
{
	answer(200, LINEAGE_ANSWER);
	struct datahub *d = open_default(NULL);
	struct datahub_lineage l;
	struct perr err;
	cr_assert_eq(datahub_lineage(d, ORDERS, DATAHUB_UPSTREAM, 10, &l, &err), 0, "%s",
		     err.msg);
	json_t *body = sent();
	cr_assert_str_eq(str(json_object_get(body, "variables"), "direction"), "UPSTREAM");
	json_decref(body);
	datahub_lineage_clear(&l);
	datahub_close(d);
}

Test(datahub, lookups_on_one_handle_share_one_connection)
{
	answer(200, ENTITY_ANSWER);
	struct datahub *d = open_default(SECRET);
	struct datahub_entity e;
	struct perr err;
	for (int i = 0; i < 3; i++)
		cr_assert_eq(datahub_entity(d, ORDERS, &e, &err), 0, "%s", err.msg);
	cr_assert_eq(atomic_load(&seen_count), 3);
	cr_assert_eq(atomic_load(&srv.connections), 1);
	datahub_close(d);
}

Test(datahub, the_query_text_is_the_same_whatever_the_urn)
{
	answer(200, ENTITY_ANSWER);
	struct datahub *d = open_default(NULL);
	struct datahub_entity e;
	struct perr err;
	cr_assert_eq(datahub_entity(d, ORDERS, &e, &err), 0, "%s", err.msg);
	json_t *first = sent();
	cr_assert_eq(datahub_entity(d, "urn:li:dataset:(urn:li:dataPlatform:hive,\"x\"\n{}),PROD)",
				    &e, &err), 0, "%s", err.msg);
	json_t *second = sent();
	cr_assert_str_eq(str(first, "query"), str(second, "query"));
	cr_assert_str_eq(str(json_object_get(second, "variables"), "urn"),
			 "urn:li:dataset:(urn:li:dataPlatform:hive,\"x\"\n{}),PROD)");
	json_decref(first);
	json_decref(second);
	datahub_close(d);
}

Test(datahub, entity_sends_portalEntity_with_the_urn_as_its_only_variable)
{
	answer(200, ENTITY_ANSWER);
	struct datahub *d = open_default(SECRET);
	struct datahub_entity e;
	struct perr err;
	cr_assert_eq(datahub_entity(d, ORDERS, &e, &err), 0, "%s", err.msg);
	cr_assert_str_eq(seen_uri, "/api/graphql");
	json_t *body = sent();
	cr_assert_str_eq(str(body, "operationName"), "portalEntity");
	const char *query = str(body, "query");
	cr_assert(strstr(query, "query portalEntity("), "%s", query);
	cr_assert(strstr(query, "entityExists"), "%s", query);
	cr_assert_null(strstr(query, "analytics.orders"));
	json_t *vars = json_object_get(body, "variables");
	cr_assert_eq(json_object_size(vars), 1);
	cr_assert_str_eq(str(vars, "urn"), ORDERS);
	json_decref(body);
	datahub_close(d);
}

Test(datahub, no_token_sends_no_authorization_header)
{
	answer(200, ENTITY_ANSWER);
	struct datahub_entity e;
	struct perr err;
	struct datahub *d = open_default(NULL);
	cr_assert_eq(datahub_entity(d, ORDERS, &e, &err), 0, "%s", err.msg);
	cr_assert(!seen_has_auth, "Authorization: %s", seen_auth);
	datahub_close(d);
	d = open_default("");
	cr_assert_eq(datahub_entity(d, ORDERS, &e, &err), 0, "%s", err.msg);
	cr_assert(!seen_has_auth, "an empty token sent Authorization: %s", seen_auth);
	datahub_close(d);
}

Test(datahub, the_endpoint_follows_the_base_path_and_ignores_a_trailing_slash)
{
	answer(200, ENTITY_ANSWER);
	struct datahub_entity e;
	struct perr err;
	struct datahub *d = open_at(0, "/", NULL, 2000);
	cr_assert_eq(datahub_entity(d, ORDERS, &e, &err), 0, "%s", err.msg);
	cr_assert_str_eq(seen_uri, "/api/graphql");
	datahub_close(d);
	d = open_at(0, "/gms//", NULL, 2000);
	cr_assert_eq(datahub_entity(d, ORDERS, &e, &err), 0, "%s", err.msg);
	cr_assert_str_eq(seen_uri, "/gms/api/graphql");
	datahub_close(d);
}

/* --- how answers are read */

Test(datahub, a_lineage_answer_gives_the_total_and_each_result)
{
	answer(200, LINEAGE_ANSWER);
	struct datahub *d = open_default(SECRET);
	struct datahub_lineage l;
	struct perr err;
	cr_assert_eq(datahub_lineage(d, ORDERS, DATAHUB_DOWNSTREAM, 50, &l, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(l.total, 3);
	cr_assert_eq(l.partial, 0);
	cr_assert_eq(l.n, 3);
	const struct datahub_lineage_item *it = l.items;
	cr_assert_str_eq(it[0].entity.urn,
			 "urn:li:dataset:(urn:li:dataPlatform:clickhouse,analytics.orders_daily,PROD)");
	cr_assert_str_eq(it[0].entity.type, "DATASET");
	cr_assert_str_eq(it[0].entity.name, "orders_daily", "properties.name comes first");
	cr_assert_str_eq(it[0].entity.platform, "clickhouse");
	cr_assert_eq(it[0].degree, 1);
	cr_assert_str_eq(it[1].entity.type, "DATA_JOB");
	cr_assert_str_eq(it[1].entity.name, "load_orders");
	cr_assert_str_eq(it[1].entity.platform, "airflow", "a job's platform is its flow's");
	cr_assert_eq(it[1].degree, 1);
	cr_assert_str_eq(it[2].entity.urn, "urn:li:dashboard:(looker,sales)");
	cr_assert_str_eq(it[2].entity.name, "", "no properties: no name");
	cr_assert_str_eq(it[2].entity.platform, "looker");
	cr_assert_eq(it[2].degree, 2);
	datahub_lineage_clear(&l);
	cr_assert_null(l.items);
	cr_assert_eq(l.n, 0);
	datahub_close(d);
}

Test(datahub, the_total_counts_more_than_the_results_returned_and_partial_is_kept)
{
	answer(200, "{\"data\":{\"searchAcrossLineage\":{\"total\":250,\"isPartial\":true,"
		    "\"searchResults\":[{\"degree\":1,\"entity\":{\"urn\":\"urn:li:chart:(looker,a)\","
		    "\"type\":\"CHART\",\"properties\":{\"name\":\"A\"},\"platform\":{\"name\":"
		    "\"looker\"}}},{\"degree\":3,\"entity\":{\"urn\":\"urn:li:chart:(looker,b)\","
		    "\"type\":\"CHART\"}},{\"degree\":3,\"entity\":{\"urn\":\"urn:li:chart:(looker,c)\","
		    "\"type\":\"CHART\"}}]}}}");
	struct datahub *d = open_default(NULL);
	struct datahub_lineage l;
	struct perr err;
	cr_assert_eq(datahub_lineage(d, ORDERS, DATAHUB_UPSTREAM, 2, &l, &err), 0, "%s", err.msg);
	cr_assert_eq(l.total, 250);
	cr_assert_eq(l.partial, 1);
	cr_assert_eq(l.n, 2, "more results than asked for are not kept");
	cr_assert_str_eq(l.items[1].entity.urn, "urn:li:chart:(looker,b)");
	cr_assert_eq(l.items[1].degree, 3);
	datahub_lineage_clear(&l);
	datahub_close(d);
}

Test(datahub, no_lineage_is_an_empty_answer_not_an_error)
{
	answer(200, "{\"data\":{\"searchAcrossLineage\":{\"start\":0,\"count\":0,\"total\":0,"
		    "\"searchResults\":[]}}}");
	struct datahub *d = open_default(NULL);
	struct datahub_lineage l;
	struct perr err;
	cr_assert_eq(datahub_lineage(d, ORDERS, DATAHUB_UPSTREAM, 10, &l, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(l.total, 0);
	cr_assert_eq(l.n, 0);
	datahub_lineage_clear(&l);
	datahub_close(d);
}

Test(datahub, a_result_without_a_usable_urn_is_left_out)
{
	char big[DATAHUB_URN_MAX + 64];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	memcpy(big, "urn:li:dataset:", 15);
	char body[4096];
	snprintf(body, sizeof body,
		 "{\"data\":{\"searchAcrossLineage\":{\"total\":3,\"searchResults\":["
		 "{\"degree\":1,\"entity\":{\"type\":\"DATASET\"}},"
		 "{\"degree\":1,\"entity\":{\"urn\":\"%s\",\"type\":\"DATASET\"}},"
		 "{\"degree\":2,\"entity\":{\"urn\":\"urn:li:dataset:(urn:li:dataPlatform:s3,b,PROD)\","
		 "\"type\":\"DATASET\"}}]}}}", big);
	answer(200, body);
	struct datahub *d = open_default(NULL);
	struct datahub_lineage l;
	struct perr err;
	cr_assert_eq(datahub_lineage(d, ORDERS, DATAHUB_UPSTREAM, 10, &l, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(l.total, 3);
	cr_assert_eq(l.n, 1);
	cr_assert_str_eq(l.items[0].entity.urn, "urn:li:dataset:(urn:li:dataPlatform:s3,b,PROD)");
	datahub_lineage_clear(&l);
	datahub_close(d);
}

Test(datahub, an_entity_answer_gives_urn_type_name_and_platform)
{
	answer(200, ENTITY_ANSWER);
	struct datahub *d = open_default(SECRET);
	struct datahub_entity e;
	struct perr err;
	cr_assert_eq(datahub_entity(d, ORDERS, &e, &err), 0, "%s", err.msg);
	cr_assert_str_eq(e.urn, ORDERS);
	cr_assert_str_eq(e.type, "DATASET");
	cr_assert_str_eq(e.name, "orders");
	cr_assert_str_eq(e.platform, "clickhouse");
	datahub_close(d);
}

Test(datahub, a_column_is_named_by_its_field_path)
{
	answer(200, "{\"data\":{\"entityExists\":true,\"entity\":{\"urn\":\"urn:li:schemaField:("
		    ORDERS ",order_id)\",\"type\":\"SCHEMA_FIELD\",\"fieldPath\":\"order_id\"}}}");
	struct datahub *d = open_default(NULL);
	struct datahub_entity e;
	struct perr err;
	cr_assert_eq(datahub_entity(d, "urn:li:schemaField:(" ORDERS ",order_id)", &e, &err), 0,
		     "%s", err.msg);
	cr_assert_str_eq(e.type, "SCHEMA_FIELD");
	cr_assert_str_eq(e.name, "order_id");
	cr_assert_str_eq(e.platform, "");
	datahub_close(d);
}

Test(datahub, a_long_name_is_cut_on_a_character_boundary)
{
	/* 200 × "é" (2 bytes each) does not fit DATAHUB_NAME_MAX - 1 = 255 bytes. */
	char name[401], body[1024];
	for (int i = 0; i < 200; i++)
		memcpy(name + 2 * i, "\xc3\xa9", 2);
	name[400] = 0;
	snprintf(body, sizeof body, "{\"data\":{\"entityExists\":true,\"entity\":{\"urn\":\"%s\","
				    "\"type\":\"DATASET\",\"name\":\"%s\"}}}", "urn:li:dataset:x", name);
	answer(200, body);
	struct datahub *d = open_default(NULL);
	struct datahub_entity e;
	struct perr err;
	cr_assert_eq(datahub_entity(d, "urn:li:dataset:x", &e, &err), 0, "%s", err.msg);
	cr_assert_eq(strlen(e.name), 254);
	cr_assert_eq(memcmp(e.name, name, 254), 0);
	datahub_close(d);
}

Test(datahub, an_unknown_urn_is_not_found)
{
	static const char *answers[] = {
		"{\"data\":{\"entityExists\":false,\"entity\":null}}",
		/* DataHub may answer a stub for a urn it does not know. */
		"{\"data\":{\"entityExists\":false,\"entity\":{\"urn\":\"" ORDERS
		"\",\"type\":\"DATASET\"}}}",
		"{\"data\":{\"entity\":null}}",
	};
	struct datahub *d = open_default(SECRET);
	for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
		answer(200, answers[i]);
		struct datahub_entity e;
		struct perr err;
		cr_assert_eq(datahub_entity(d, ORDERS, &e, &err), PERR_NOT_FOUND, "%s", answers[i]);
		cr_assert_str_eq(err.field, "urn");
		cr_assert_str_eq(e.urn, "", "a stub leaked into out");
		error_must_be_clean(&err);
	}
	datahub_close(d);
}

/* --- failures */

Test(datahub, errors_in_a_200_fail_even_beside_partial_data)
{
	answer(200, "{\"errors\":[{\"message\":\"Failed to load platform\",\"locations\":[{\"line\":"
		    "3,\"column\":5}],\"path\":[\"searchAcrossLineage\",\"searchResults\",0,\"entity\","
		    "\"platform\"],\"extensions\":{\"code\":500,\"type\":\"SERVER_ERROR\","
		    "\"classification\":\"DataFetchingException\"}}],"
		    "\"data\":{\"searchAcrossLineage\":{\"total\":1,\"searchResults\":[{\"degree\":1,"
		    "\"entity\":{\"urn\":\"urn:li:dataset:a\",\"type\":\"DATASET\"}}]}}}");
	struct datahub *d = open_default(SECRET);
	struct datahub_lineage l;
	struct perr err;
	cr_assert_eq(datahub_lineage(d, ORDERS, DATAHUB_DOWNSTREAM, 10, &l, &err),
		     PERR_UNAVAILABLE);
	cr_assert_eq(err.code, PERR_UNAVAILABLE);
	cr_assert_str_eq(err.msg,
			 "DataHub answered an error: Failed to load platform (code 500 SERVER_ERROR)");
	cr_assert_str_eq(err.field, "");
	cr_assert_eq(l.n, 0);
	cr_assert_null(l.items);
	error_must_be_clean(&err);
	datahub_close(d);
}

Test(datahub, errors_in_a_200_without_data_fail_with_the_first_message)
{
	answer(200, "{\"errors\":[{\"message\":\"Validation error (FieldUndefined) : Field 'nope' "
		    "in type 'SearchAcrossLineageResults' is undefined\",\"locations\":[{\"line\":2,"
		    "\"column\":3}],\"extensions\":{\"classification\":\"ValidationError\"}},"
		    "{\"message\":\"second\"}]}");
	struct datahub *d = open_default(SECRET);
	struct datahub_lineage l;
	struct perr err;
	cr_assert_eq(datahub_lineage(d, ORDERS, DATAHUB_DOWNSTREAM, 10, &l, &err),
		     PERR_UNAVAILABLE);
	cr_assert(strstr(err.msg, "Field 'nope' in type"), "%s", err.msg);
	cr_assert(strstr(err.msg, "(ValidationError)"), "%s", err.msg);
	cr_assert_null(strstr(err.msg, "second"), "%s", err.msg);
	error_must_be_clean(&err);
	datahub_close(d);
}

Test(datahub, an_unauthorized_error_in_a_200_is_the_tokens_fault)
{
	answer(200, "{\"errors\":[{\"message\":\"Unauthorized to perform this action. Please "
		    "contact your DataHub administrator.\",\"path\":[\"entity\"],\"extensions\":"
		    "{\"code\":403,\"type\":\"UNAUTHORIZED\",\"classification\":"
		    "\"DataFetchingException\"}}],\"data\":{\"entityExists\":true,\"entity\":null}}");
	struct datahub *d = open_default(SECRET);
	struct datahub_entity e;
	struct perr err;
	cr_assert_eq(datahub_entity(d, ORDERS, &e, &err), PERR_UNAVAILABLE);
	cr_assert_str_eq(err.field, "token");
	cr_assert(strstr(err.msg, "Unauthorized to perform this action"), "%s", err.msg);
	cr_assert(strstr(err.msg, "(code 403 UNAUTHORIZED)"), "%s", err.msg);
	error_must_be_clean(&err);
	datahub_close(d);
}

Test(datahub, an_error_message_that_quotes_the_token_or_the_host_is_withheld)
{
	static const char *answers[] = {
		"{\"errors\":[{\"message\":\"bad token " SECRET "\"}]}",
		"{\"errors\":[{\"message\":\"cannot reach 127.0.0.1 from here\"}]}",
	};
	struct datahub *d = open_default(SECRET);
	for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
		answer(200, answers[i]);
		struct datahub_entity e;
		struct perr err;
		cr_assert_eq(datahub_entity(d, ORDERS, &e, &err), PERR_UNAVAILABLE);
		cr_assert(strstr(err.msg, "withheld"), "%s", err.msg);
		error_must_be_clean(&err);
	}
	datahub_close(d);
}

Test(datahub, an_error_code_or_type_that_quotes_the_token_or_the_host_is_withheld)
{
	/* Not only the message: the code and its label are quoted too. */
	static const char *answers[] = {
		"{\"errors\":[{\"message\":\"denied\",\"extensions\":{\"code\":\"" SECRET "\"}}]}",
		"{\"errors\":[{\"message\":\"denied\",\"extensions\":{\"code\":500,"
		"\"type\":\"at 127.0.0.1\"}}]}",
		"{\"errors\":[{\"extensions\":{\"classification\":\"" SECRET "\"}}]}",
	};
	struct datahub *d = open_default(SECRET);
	for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
		answer(200, answers[i]);
		struct datahub_entity e;
		struct perr err;
		cr_assert_eq(datahub_entity(d, ORDERS, &e, &err), PERR_UNAVAILABLE);
		cr_assert(strstr(err.msg, "withheld"), "%s", err.msg);
		/* a cut token is still the token's first bytes */
		cr_assert_null(strstr(err.msg, "dh-s3cret"), "%s", err.msg);
		error_must_be_clean(&err);
	}
	datahub_close(d);
}

Test(datahub, http_401_and_403_say_datahub_refused_the_token)
{
	static const int codes[] = {401, 403};
	struct datahub *d = open_default(SECRET);
	for (size_t i = 0; i < 2; i++) {
		answer(codes[i], "{\"message\":\"Unauthorized\"}");
		struct datahub_lineage l;
		struct perr err;
		cr_assert_eq(datahub_lineage(d, ORDERS, DATAHUB_DOWNSTREAM, 10, &l, &err),
			     PERR_UNAVAILABLE);
		cr_assert_str_eq(err.field, "token");
		char want[64];
		snprintf(want, sizeof want, "DataHub refused the token (HTTP %d)", codes[i]);
		cr_assert_str_eq(err.msg, want);
		error_must_be_clean(&err);
	}
	datahub_close(d);
}

Test(datahub, http_401_without_a_token_says_one_is_needed)
{
	answer(401, NULL);
	struct datahub *d = open_default(NULL);
	struct datahub_entity e;
	struct perr err;
	cr_assert_eq(datahub_entity(d, ORDERS, &e, &err), PERR_UNAVAILABLE);
	cr_assert_str_eq(err.field, "token");
	cr_assert(strstr(err.msg, "needs a token"), "%s", err.msg);
	error_must_be_clean(&err);
	datahub_close(d);
}

Test(datahub, other_statuses_are_unavailable_with_the_status)
{
	static const int codes[] = {500, 502, 503, 404, 400, 302};
	struct datahub *d = open_default(SECRET);
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		answer(codes[i], "{\"data\":null}");
		struct datahub_lineage l;
		struct perr err;
		cr_assert_eq(datahub_lineage(d, ORDERS, DATAHUB_DOWNSTREAM, 10, &l, &err),
			     PERR_UNAVAILABLE, "HTTP %d", codes[i]);
		char want[64];
		snprintf(want, sizeof want, "DataHub answered HTTP %d", codes[i]);
		cr_assert_str_eq(err.msg, want);
		cr_assert_str_eq(err.field, "");
		error_must_be_clean(&err);
	}
	datahub_close(d);
}

Test(datahub, an_answer_that_is_not_graphql_is_unavailable)
{
	static const char *answers[] = {
		"<html>gateway</html>",
		"[]",
		"{}",
		"{\"data\":null}",
		"{\"data\":{\"somethingElse\":{}}}",
		"{\"data\":{\"searchAcrossLineage\":{\"total\":1}}}",
	};
	struct datahub *d = open_default(SECRET);
	for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
		answer(200, answers[i]);
		struct datahub_lineage l;
		struct perr err;
		cr_assert_eq(datahub_lineage(d, ORDERS, DATAHUB_DOWNSTREAM, 10, &l, &err),
			     PERR_UNAVAILABLE, "%s", answers[i]);
		cr_assert_eq(l.n, 0);
		error_must_be_clean(&err);
	}
	datahub_close(d);
}

Test(datahub, an_answer_over_the_cap_is_refused_with_its_limit)
{
	struct datahub *d = open_default(SECRET);
	for (int chunked = 0; chunked <= 1; chunked++) {
		answer(200, NULL);
		canned.big = DATAHUB_BODY_MAX + 1;
		canned.chunked = chunked;
		struct datahub_lineage l;
		struct perr err;
		cr_assert_eq(datahub_lineage(d, ORDERS, DATAHUB_DOWNSTREAM, 10, &l, &err),
			     PERR_TOO_LARGE, "chunked %d: %s", chunked, err.msg);
		cr_assert(strstr(err.msg, "4 MiB"), "%s", err.msg);
		error_must_be_clean(&err);
	}
	datahub_close(d);
}

Test(datahub, an_answer_just_under_the_cap_is_read)
{
	answer(200, NULL);
	canned.big = DATAHUB_BODY_MAX; /* "{   …   }": JSON, but no data */
	struct datahub *d = open_default(NULL);
	struct datahub_entity e;
	struct perr err;
	cr_assert_eq(datahub_entity(d, ORDERS, &e, &err), PERR_UNAVAILABLE);
	cr_assert_str_eq(err.msg, "DataHub's answer has no data");
	datahub_close(d);
}

Test(datahub, a_server_that_never_answers_times_out)
{
	answer(0, NULL);
	struct datahub *d = open_at(0, "", SECRET, 300);
	struct datahub_entity e;
	struct perr err;
	long long t0 = clock_mono_us();
	cr_assert_eq(datahub_entity(d, ORDERS, &e, &err), PERR_UNAVAILABLE);
	cr_assert_lt((clock_mono_us() - t0) / 1000, 2000);
	cr_assert_str_eq(err.msg, "DataHub did not answer within 300 ms");
	error_must_be_clean(&err);
	datahub_close(d);
}

Test(datahub, a_refused_connection_says_datahub_did_not_answer)
{
	struct datahub *d = open_at(srv.refused_port, "", SECRET, 2000);
	struct datahub_lineage l;
	struct perr err;
	cr_assert_eq(datahub_lineage(d, ORDERS, DATAHUB_UPSTREAM, 10, &l, &err),
		     PERR_UNAVAILABLE);
	cr_assert(strncmp(err.msg, "DataHub did not answer", 22) == 0, "%s", err.msg);
	error_must_be_clean(&err);
	datahub_close(d);
}

/* --- arguments and settings */

Test(datahub, bad_arguments_fail_before_any_request)
{
	answer(200, LINEAGE_ANSWER);
	struct datahub *d = open_default(NULL);
	int before = atomic_load(&seen_count);
	struct datahub_lineage l;
	struct perr err;
	static const struct {
		const char *urn;
		int count;
		const char *field;
	} cases[] = {
		{"", 10, "urn"},
		{NULL, 10, "urn"},
		{"dataset:orders", 10, "urn"},
		{"urn:li:dataset:\xff\xfe", 10, "urn"},
		{ORDERS, 0, "count"},
		{ORDERS, -1, "count"},
		{ORDERS, DATAHUB_LINEAGE_MAX + 1, "count"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cr_assert_eq(datahub_lineage(d, cases[i].urn, DATAHUB_UPSTREAM, cases[i].count, &l,
					     &err), PERR_INVALID, "case %zu", i);
		cr_assert_str_eq(err.field, cases[i].field, "case %zu", i);
	}
	struct datahub_entity e;
	cr_assert_eq(datahub_entity(d, "", &e, &err), PERR_INVALID);
	char big[DATAHUB_URN_MAX + 1];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;
	memcpy(big, "urn:li:", 7);
	cr_assert_eq(datahub_entity(d, big, &e, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "urn");
	cr_assert_eq(atomic_load(&seen_count), before, "a request was sent");
	datahub_close(d);
}

Test(datahub, open_refuses_bad_settings_without_echoing_them)
{
	static const struct {
		const char *url, *token;
		int timeout_ms;
		const char *field;
	} cases[] = {
		{NULL, NULL, 0, "url"},
		{"", NULL, 0, "url"},
		{"ftp://127.0.0.1:21", NULL, 0, "url"},
		{"127.0.0.1:8080", NULL, 0, "url"},
		{"http://user:" SECRET "@127.0.0.1:8080", NULL, 0, "url"},
		{"http://127.0.0.1:8080/?x=1", NULL, 0, "url"},
		{"http://127.0.0.1:8080", SECRET "\r\nX-Evil: 1", 0, "token"},
		{"http://127.0.0.1:8080", NULL, -1, "timeout_ms"},
		{"http://127.0.0.1:8080", NULL, DATAHUB_TIMEOUT_MAX_MS + 1, "timeout_ms"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct datahub_conf c = {cases[i].url, cases[i].token, cases[i].timeout_ms};
		struct datahub *d = (struct datahub *)1;
		struct perr err;
		cr_assert_eq(datahub_open(&c, &d, &err), PERR_INVALID, "case %zu", i);
		cr_assert_null(d, "case %zu", i);
		cr_assert_str_eq(err.field, cases[i].field, "case %zu", i);
		cr_assert_null(strstr(err.msg, SECRET), "%s", err.msg);
		cr_assert_null(strstr(err.msg, "127.0.0.1"), "%s", err.msg);
	}
}

Test(datahub, close_of_null_is_a_no_op)
{
	datahub_close(NULL);
	struct datahub_lineage l = {0};
	datahub_lineage_clear(&l);
}

struct worker {
	struct datahub *d;
	int failures;
};

static void *lookups(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < 20; i++) {
		struct datahub_entity e;
		struct perr err;
		if (datahub_entity(w->d, ORDERS, &e, &err) < 0 || strcmp(e.name, "orders") != 0)
			w->failures++;
	}
	return NULL;
}

Test(datahub, one_handle_serves_several_threads_at_once)
{
	answer(200, ENTITY_ANSWER);
	struct datahub *d = open_default(SECRET);
	pthread_t t[4];
	struct worker w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){d, 0};
		cr_assert_eq(pthread_create(&t[i], NULL, lookups, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(w[i].failures, 0, "thread %d", i);
	}
	datahub_close(d);
}

/* --- links to DataHub's pages */

static struct public_url pub(const char *s)
{
	struct public_url u;
	snprintf(u.s, sizeof u.s, "%s", s);
	return u;
}

Test(datahub, a_dataset_links_to_its_page_with_the_urn_percent_encoded)
{
	struct public_url u = pub("https://datahub.example.com");
	char buf[512];
	cr_assert_eq(datahub_entity_link(&u, "DATASET", ORDERS, buf, sizeof buf), 0);
	cr_assert_str_eq(buf, "https://datahub.example.com/dataset/urn%3Ali%3Adataset%3A%28urn%3Ali"
			      "%3AdataPlatform%3Aclickhouse%2Canalytics.orders%2CPROD%29");
}

Test(datahub, each_type_gets_the_page_datahub_gives_it)
{
	static const struct {
		const char *type, *prefix;
	} cases[] = {
		{"DATA_JOB", "http://dh:9002/tasks/urn%3A"},
		{"DATA_FLOW", "http://dh:9002/pipelines/urn%3A"},
		{"CHART", "http://dh:9002/chart/urn%3A"},
		{"DASHBOARD", "http://dh:9002/dashboard/urn%3A"},
		{"CONTAINER", "http://dh:9002/container/urn%3A"},
		{"MLMODEL", "http://dh:9002/mlModels/urn%3A"},
		{"MLFEATURE_TABLE", "http://dh:9002/featureTables/urn%3A"},
		{"GLOSSARY_TERM", "http://dh:9002/glossaryTerm/urn%3A"},
	};
	struct public_url u = pub("http://dh:9002/");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char buf[256];
		cr_assert_eq(datahub_entity_link(&u, cases[i].type, "urn:li:x", buf, sizeof buf), 0);
		cr_assert(strncmp(buf, cases[i].prefix, strlen(cases[i].prefix)) == 0, "%s: %s",
			  cases[i].type, buf);
	}
}

Test(datahub, a_type_without_a_page_or_an_empty_url_gives_no_link)
{
	struct public_url u = pub("http://dh:9002"), none = pub("");
	char buf[256] = "stale";
	cr_assert_eq(datahub_entity_link(&u, "SCHEMA_FIELD", "urn:li:x", buf, sizeof buf),
		     PERR_INVALID);
	cr_assert_str_eq(buf, "");
	cr_assert_eq(datahub_entity_link(&u, NULL, "urn:li:x", buf, sizeof buf), PERR_INVALID);
	cr_assert_eq(datahub_entity_link(&none, "DATASET", "urn:li:x", buf, sizeof buf),
		     PERR_INVALID);
	cr_assert_eq(datahub_entity_link(&u, "DATASET", "", buf, sizeof buf), PERR_INVALID);
}

Test(datahub, a_buffer_too_small_gives_an_empty_string)
{
	struct public_url u = pub("http://dh:9002");
	char buf[32] = "stale";
	cr_assert_eq(datahub_entity_link(&u, "DATASET", ORDERS, buf, sizeof buf), PERR_TOO_LARGE);
	cr_assert_str_eq(buf, "");
}
