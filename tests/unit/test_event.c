/* The producers' contract: what an event must look like, and what each
 * refusal says about which field. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/event.h"

static int parse(const char *text, struct event *ev, struct perr *err)
{
	json_t *obj = json_loads(text, 0, NULL);
	cr_assert(obj, "bad test JSON: %s", text);
	int rc = event_from_json(obj, 777, "token-a", ev, err);
	if (rc == 0)
		event_release(ev);
	json_decref(obj);
	return rc;
}

Test(event, a_minimal_event_gets_time_source_and_empty_data)
{
	json_t *obj = json_loads("{\"id\":\"e1\",\"type\":\"deploy.done\",\"project\":\"p\"}", 0, NULL);
	struct event ev;
	struct perr err = {0};
	cr_assert_eq(event_from_json(obj, 777, "token-a", &ev, &err), 0, "%s", err.msg);
	cr_assert_eq(ev.ts, 777);
	cr_assert_str_eq(ev.source, "token-a");
	cr_assert(json_is_object(ev.data) && json_object_size(ev.data) == 0);
	cr_assert_null(ev.session);
	event_release(&ev);
	json_decref(obj);
}

struct refusal {
	const char *json, *field, *msg;
	int code;
};

Test(event, bad_events_are_refused_naming_the_field)
{
	const struct refusal cases[] = {
		{"[]", "", "an event must be a JSON object", PERR_INVALID},
		{"{\"type\":\"a\",\"project\":\"p\"}", "id", "id is required", PERR_INVALID},
		{"{\"id\":\"1\",\"project\":\"p\"}", "type", "type is required", PERR_INVALID},
		{"{\"id\":\"1\",\"type\":\"a\"}", "project", "project is required", PERR_INVALID},
		{"{\"id\":7,\"type\":\"a\",\"project\":\"p\"}", "id", "id must be a string", PERR_INVALID},
		{"{\"id\":\"\",\"type\":\"a\",\"project\":\"p\"}", "id", "must not be empty", PERR_INVALID},
		{"{\"id\":\"1\",\"type\":\"Bad Type\",\"project\":\"p\"}", "type", "may contain only", PERR_INVALID},
		{"{\"id\":\"1\",\"type\":\"a\",\"project\":\"p\",\"extra\":1}", "extra", "unknown field", PERR_INVALID},
		{"{\"id\":\"1\",\"type\":\"a\",\"project\":\"p\",\"ts\":\"now\"}", "ts", "positive integer", PERR_INVALID},
		{"{\"id\":\"1\",\"type\":\"a\",\"project\":\"p\",\"data\":[1]}", "data", "must be an object", PERR_INVALID},
		{"{\"id\":\"1\",\"type\":\"session.tool\",\"project\":\"p\",\"data\":{\"tool\":\"x\"}}", "session", "session is required", PERR_INVALID},
		{"{\"id\":\"1\",\"type\":\"session.blocked\",\"project\":\"p\",\"session\":\"s\",\"data\":{\"reason\":\"r\",\"class\":\"weird\"}}", "data.class", "must be one of auth, contract, dependency, product", PERR_INVALID},
		{"{\"id\":\"1\",\"type\":\"health.changed\",\"project\":\"p\",\"data\":{\"component\":\"t\"}}", "data.state", "is required", PERR_INVALID},
		{"{\"id\":\"1\",\"type\":\"health.changed\",\"project\":\"p\",\"data\":{\"component\":\"t\",\"state\":\"up\",\"latency_ms\":-3}}", "data.latency_ms", "non-negative", PERR_INVALID},
		{"{\"id\":\"1\",\"type\":\"ouroboros.cycle.started\",\"project\":\"p\",\"data\":{}}", "data.cycle", "non-negative integer", PERR_INVALID},
		{"{\"id\":\"1\",\"type\":\"a\",\"project\":\"p\",\"data\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":1}}}}}}}}}}", "data", "nested deeper than 8", PERR_TOO_LARGE},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct event ev;
		struct perr err = {0};
		int rc = parse(cases[i].json, &ev, &err);
		cr_expect_eq(rc, cases[i].code, "case %zu (%s): rc %d", i, cases[i].json, rc);
		cr_expect_str_eq(err.field, cases[i].field, "case %zu: field", i);
		cr_expect(strstr(err.msg, cases[i].msg), "case %zu: message '%s' lacks '%s'", i,
			  err.msg, cases[i].msg);
	}
}

Test(event, limits_on_string_length_and_data_size_are_too_large)
{
	char big[20000], text[21000];
	memset(big, 'x', 129);
	big[129] = 0;
	snprintf(text, sizeof text, "{\"id\":\"%s\",\"type\":\"a\",\"project\":\"p\"}", big);
	struct event ev;
	struct perr err = {0};
	cr_assert_eq(parse(text, &ev, &err), PERR_TOO_LARGE);
	cr_assert_str_eq(err.field, "id");
	memset(big, 'x', 17000);
	big[17000] = 0;
	snprintf(text, sizeof text, "{\"id\":\"1\",\"type\":\"a\",\"project\":\"p\",\"data\":{\"s\":\"%s\"}}", big);
	cr_assert_eq(parse(text, &ev, &err), PERR_TOO_LARGE);
	cr_assert_str_eq(err.field, "data");
}

Test(event, known_types_are_recognised_and_others_are_not)
{
	cr_assert(event_type_known("session.started"));
	cr_assert(event_type_known("proposal.transitioned"));
	cr_assert_not(event_type_known("session.exploded"));
}

/* One event of each known type, with the data it needs: the vocabulary as a
 * producer writes it (DESIGN.md, "Event vocabulary"). */
static const struct {
	const char *type, *json;
	int empty_ok; /* every data field is optional */
} samples[] = {
	{"session.started", "{\"harness\":\"claude-code\",\"inputs\":{\"repository\":\"r\"},\"launch\":{\"status\":\"ok\"}}", 1},
	{"session.tool", "{\"tool\":\"git\",\"family\":\"shell\"}", 0},
	{"session.blocked", "{\"reason\":\"SSO expired\",\"class\":\"auth\"}", 0},
	{"session.unblocked", "{}", 1},
	{"session.resumed", "{\"from_session\":\"s0\"}", 0},
	{"session.ended", "{\"outcome\":\"success\"}", 0},
	{"ouroboros.cycle.started", "{\"cycle\":1}", 0},
	{"ouroboros.cycle.completed", "{\"cycle\":1,\"outcome\":\"success\",\"summary\":\"ok\"}", 0},
	{"ouroboros.cycle.failed", "{\"cycle\":2,\"reason\":\"timeout\"}", 0},
	{"health.changed", "{\"component\":\"temporal\",\"state\":\"up\",\"latency_ms\":12}", 0},
	{"proposal.transitioned", "{\"proposal\":\"P-1\",\"from\":\"submitted\",\"to\":\"approved\"}", 0},
};

static const char *sample_of(const char *type, int *empty_ok)
{
	for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++)
		if (strcmp(samples[i].type, type) == 0) {
			if (empty_ok)
				*empty_ok = samples[i].empty_ok;
			return samples[i].json;
		}
	return NULL;
}

Test(event, the_vocabulary_table_and_the_producers_contract_name_the_same_types)
{
	for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++)
		cr_expect(event_type_known(samples[i].type), "%s is not in EVENT_TYPES",
			  samples[i].type);
	for (size_t i = 0; i < EVENT_TYPE_COUNT; i++) {
		const struct event_type *t = &event_types[i];
		cr_expect_eq(t->id, (enum event_type_id)i, "%s is not at its index", t->name);
		cr_expect_eq(event_type_find(t->name), t);
		cr_expect(sample_of(t->name, NULL), "%s has no sample of the producers' contract", t->name);
		for (size_t j = 0; j < i; j++)
			cr_expect_str_neq(event_types[j].name, t->name);
	}
}

Test(event, every_known_type_is_accepted_with_its_data_and_refused_without_it)
{
	for (size_t i = 0; i < EVENT_TYPE_COUNT; i++) {
		const struct event_type *t = &event_types[i];
		int empty_ok = 0;
		const char *data = sample_of(t->name, &empty_ok);
		cr_assert(data, "%s has no sample", t->name);
		char text[1024];
		struct event ev;
		struct perr err = {0};
		snprintf(text, sizeof text,
			 "{\"id\":\"1\",\"type\":\"%s\",\"project\":\"p\",\"session\":\"s\",\"data\":%s}",
			 t->name, data);
		cr_expect_eq(parse(text, &ev, &err), 0, "%s: %s: %s", t->name, err.field, err.msg);

		/* Without a session: refused exactly when the row needs one. */
		memset(&err, 0, sizeof err);
		snprintf(text, sizeof text, "{\"id\":\"1\",\"type\":\"%s\",\"project\":\"p\",\"data\":%s}",
			 t->name, data);
		int rc = parse(text, &ev, &err);
		if (t->needs_session) {
			cr_expect_eq(rc, PERR_INVALID, "%s passed without a session", t->name);
			cr_expect_str_eq(err.field, "session");
		} else {
			cr_expect_eq(rc, 0, "%s: %s: %s", t->name, err.field, err.msg);
		}

		/* With no data: refused, naming a data field, unless every field of
		 * the type is optional. */
		memset(&err, 0, sizeof err);
		snprintf(text, sizeof text,
			 "{\"id\":\"1\",\"type\":\"%s\",\"project\":\"p\",\"session\":\"s\"}", t->name);
		rc = parse(text, &ev, &err);
		if (!empty_ok) {
			cr_expect_eq(rc, PERR_INVALID, "%s passed without data", t->name);
			cr_expect_eq(strncmp(err.field, "data.", 5), 0, "%s: field %s", t->name, err.field);
		} else {
			cr_expect_eq(rc, 0, "%s: %s: %s", t->name, err.field, err.msg);
		}
	}
}

/* Parses text as a producer's event and applies the producers' rule. */
static int producer_check(const char *text, struct perr *err)
{
	json_t *obj = json_loads(text, 0, NULL);
	cr_assert(obj, "bad test JSON: %s", text);
	struct event ev;
	int rc = event_from_json(obj, 777, "token-a", &ev, err);
	cr_assert_eq(rc, 0, "%s: %s", text, err->msg);
	rc = event_producer_check(&ev, err);
	event_release(&ev);
	json_decref(obj);
	return rc;
}

Test(event, only_portal_writes_health_and_proposal_transitions)
{
	for (size_t i = 0; i < EVENT_TYPE_COUNT; i++) {
		const struct event_type *t = &event_types[i];
		const char *sample = sample_of(t->name, NULL);
		cr_assert(sample);
		char text[512];
		snprintf(text, sizeof text,
			 "{\"id\":\"e1\",\"type\":\"%s\",\"project\":\"p\",\"session\":\"s\",\"data\":%s}",
			 t->name, sample);
		struct perr err = {0};
		int rc = producer_check(text, &err);
		int portal_only = strcmp(t->name, "health.changed") == 0 ||
				  strcmp(t->name, "proposal.transitioned") == 0;
		cr_expect_eq(t->by_portal, portal_only, "%s", t->name);
		if (!t->by_portal) {
			cr_expect_eq(rc, 0, "%s: %s", t->name, err.msg);
			continue;
		}
		cr_expect_eq(rc, PERR_FORBIDDEN, "%s", t->name);
		cr_expect_str_eq(err.field, "type");
		cr_expect(strstr(err.msg, t->name), "the refusal names %s: %s", t->name, err.msg);
	}
}

Test(event, portal_s_id_namespace_is_refused_to_producers)
{
	const char *ids[] = {"probe-temporal-1700000000000-1", "proposal:p-0011223344556677:3"};
	for (size_t i = 0; i < 2; i++) {
		char text[256];
		snprintf(text, sizeof text,
			 "{\"id\":\"%s\",\"type\":\"deploy.done\",\"project\":\"p\"}", ids[i]);
		struct perr err = {0};
		cr_expect_eq(producer_check(text, &err), PERR_FORBIDDEN, "%s", ids[i]);
		cr_expect_str_eq(err.field, "id");
		cr_expect(strstr(err.msg, ids[i]), "the refusal names the id: %s", err.msg);
	}
	/* Only the prefixes are Portal's: an id that merely mentions them is not. */
	struct perr err = {0};
	cr_expect_eq(producer_check("{\"id\":\"my-probe-1\",\"type\":\"deploy.done\",\"project\":\"p\"}",
				    &err), 0, "%s", err.msg);
	cr_expect_eq(producer_check("{\"id\":\"proposal-1\",\"type\":\"deploy.done\",\"project\":\"p\"}",
				    &err), 0, "%s", err.msg);
	cr_expect(event_source_reserved("portal"));
	cr_expect(event_source_reserved("prober"));
	cr_expect(!event_source_reserved("ci"));
}
