/* Proposal: the state machine (every legal and every illegal step), the
 * checks a submission's input passes against its kind, and the exec argv
 * template. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/proposal.h"

/* --- states */

Test(proposal, state_names_round_trip)
{
	static const char *const names[] = {"submitted", "approved", "queued",   "running",
					    "executed",  "proving",  "proven",   "rejected",
					    "cancelled", "failed"};
	cr_assert_eq(sizeof names / sizeof names[0], PROPOSAL_STATE_COUNT);
	for (int s = 0; s < PROPOSAL_STATE_COUNT; s++) {
		cr_expect_str_eq(proposal_state_name((enum proposal_state)s), names[s]);
		cr_expect_eq(proposal_state_parse(names[s]), s);
	}
}

Test(proposal, unknown_states_have_no_name_and_do_not_parse)
{
	cr_expect_null(proposal_state_name(PROPOSAL_STATE_COUNT));
	cr_expect_null(proposal_state_name((enum proposal_state)-1));
	cr_expect_eq(proposal_state_parse("Submitted"), -1);
	cr_expect_eq(proposal_state_parse(""), -1);
	cr_expect_eq(proposal_state_parse("done"), -1);
	cr_expect_eq(proposal_state_parse(NULL), -1);
}

Test(proposal, proven_rejected_cancelled_and_failed_are_final)
{
	for (int s = 0; s < PROPOSAL_STATE_COUNT; s++) {
		int final = s == PROPOSAL_PROVEN || s == PROPOSAL_REJECTED ||
			    s == PROPOSAL_CANCELLED || s == PROPOSAL_FAILED;
		cr_expect_eq(!!proposal_state_final((enum proposal_state)s), final, "%s",
			     proposal_state_name((enum proposal_state)s));
	}
}

/* The machine as the header states it, one row per from-state. */
static const struct {
	enum proposal_state from, to;
} legal[] = {
	{PROPOSAL_SUBMITTED, PROPOSAL_APPROVED}, {PROPOSAL_SUBMITTED, PROPOSAL_REJECTED},
	{PROPOSAL_SUBMITTED, PROPOSAL_CANCELLED}, {PROPOSAL_APPROVED, PROPOSAL_QUEUED},
	{PROPOSAL_APPROVED, PROPOSAL_CANCELLED},  {PROPOSAL_QUEUED, PROPOSAL_RUNNING},
	{PROPOSAL_QUEUED, PROPOSAL_CANCELLED},    {PROPOSAL_RUNNING, PROPOSAL_EXECUTED},
	{PROPOSAL_RUNNING, PROPOSAL_QUEUED},      {PROPOSAL_RUNNING, PROPOSAL_FAILED},
	{PROPOSAL_EXECUTED, PROPOSAL_PROVING},    {PROPOSAL_PROVING, PROPOSAL_PROVEN},
	{PROPOSAL_PROVING, PROPOSAL_FAILED},
};

static int is_legal(int from, int to)
{
	for (size_t i = 0; i < sizeof legal / sizeof legal[0]; i++)
		if ((int)legal[i].from == from && (int)legal[i].to == to)
			return 1;
	return 0;
}

Test(proposal, every_step_of_the_machine_is_allowed)
{
	for (size_t i = 0; i < sizeof legal / sizeof legal[0]; i++)
		cr_expect(proposal_transition_ok(legal[i].from, legal[i].to), "%s -> %s",
			  proposal_state_name(legal[i].from), proposal_state_name(legal[i].to));
}

Test(proposal, every_other_pair_of_states_is_refused)
{
	int refused = 0;
	for (int from = 0; from < PROPOSAL_STATE_COUNT; from++)
		for (int to = 0; to < PROPOSAL_STATE_COUNT; to++) {
			if (is_legal(from, to))
				continue;
			refused++;
			cr_expect_not(proposal_transition_ok((enum proposal_state)from,
							     (enum proposal_state)to),
				      "%s -> %s", proposal_state_name((enum proposal_state)from),
				      proposal_state_name((enum proposal_state)to));
		}
	cr_expect_eq(refused, PROPOSAL_STATE_COUNT * PROPOSAL_STATE_COUNT - 13);
}

Test(proposal, nothing_follows_a_final_state)
{
	for (int from = 0; from < PROPOSAL_STATE_COUNT; from++) {
		if (!proposal_state_final((enum proposal_state)from))
			continue;
		for (int to = 0; to < PROPOSAL_STATE_COUNT; to++)
			cr_expect_not(proposal_transition_ok((enum proposal_state)from,
							     (enum proposal_state)to));
	}
}

Test(proposal, no_state_steps_to_itself_or_back_to_submitted)
{
	for (int s = 0; s < PROPOSAL_STATE_COUNT; s++) {
		cr_expect_not(proposal_transition_ok((enum proposal_state)s,
						     (enum proposal_state)s));
		cr_expect_not(proposal_transition_ok((enum proposal_state)s, PROPOSAL_SUBMITTED));
	}
}

Test(proposal, out_of_range_states_never_step)
{
	cr_expect_not(proposal_transition_ok(PROPOSAL_STATE_COUNT, PROPOSAL_APPROVED));
	cr_expect_not(proposal_transition_ok(PROPOSAL_SUBMITTED, PROPOSAL_STATE_COUNT));
}

Test(proposal, executor_kinds_have_stable_names)
{
	cr_expect_str_eq(executor_kind_name(EXECUTOR_EXEC), "exec");
	cr_expect_str_eq(executor_kind_name(EXECUTOR_HTTP), "http");
	cr_expect_str_eq(executor_kind_name(EXECUTOR_TEMPORAL), "temporal");
}

/* --- validation */

static struct proposal_kind kind;

static struct proposal_field *add_field(const char *name, enum proposal_field_type type,
					int required)
{
	struct proposal_field *f = &kind.fields[kind.nfields++];
	memset(f, 0, sizeof *f);
	snprintf(f->name, sizeof f->name, "%s", name);
	f->type = type;
	f->required = required;
	return f;
}

/* rotate-deploy-key: project (string, required, 1..63), key_name (enum
 * deploy|ci, required), ttl_days (integer 1..90), dry_run (boolean). */
static void rotate_kind(void)
{
	memset(&kind, 0, sizeof kind);
	snprintf(kind.name, sizeof kind.name, "rotate-deploy-key");
	struct proposal_field *f = add_field("project", PFIELD_STRING, 1);
	f->min_len = 1;
	f->max_len = 63;
	f = add_field("key_name", PFIELD_ENUM, 1);
	snprintf(f->values[0], sizeof f->values[0], "deploy");
	snprintf(f->values[1], sizeof f->values[1], "ci");
	f->nvalues = 2;
	f = add_field("ttl_days", PFIELD_INTEGER, 0);
	f->min = 1;
	f->max = 90;
	add_field("dry_run", PFIELD_BOOLEAN, 0);
	kind.executor = EXECUTOR_EXEC;
	snprintf(kind.argv[0], PROPOSAL_ARG_MAX, "/bin/echo");
	snprintf(kind.argv[1], PROPOSAL_ARG_MAX, "rotating");
	snprintf(kind.argv[2], PROPOSAL_ARG_MAX, "{project}");
	snprintf(kind.argv[3], PROPOSAL_ARG_MAX, "{key_name}");
	kind.nargv = 4;
}

static struct perr err;

/* Validates JSON text against the rotate kind; returns the code, with the
 * result (or NULL) in *out. */
static int validate(const char *text, json_t **out)
{
	rotate_kind();
	memset(&err, 0, sizeof err);
	json_error_t je;
	json_t *in = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	cr_assert_not_null(in, "test input is not JSON: %s", je.text);
	int rc = proposal_validate(&kind, in, out, &err);
	json_decref(in);
	return rc;
}

static void expect_refused(const char *text, const char *field, const char *msg_part)
{
	json_t *out = (json_t *)1;
	cr_expect_eq(validate(text, &out), PERR_INVALID, "%s", text);
	cr_expect_null(out);
	cr_expect_str_eq(err.field, field, "%s", text);
	cr_expect_not_null(strstr(err.msg, msg_part), "'%s' lacks '%s'", err.msg, msg_part);
}

Test(proposal, a_valid_input_comes_back_in_declaration_order)
{
	json_t *out = NULL;
	cr_assert_eq(validate("{\"dry_run\": false, \"ttl_days\": 30, \"key_name\": \"ci\","
			      " \"project\": \"atlas\"}",
			      &out),
		     0, "%s", err.msg);
	char *s = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
	cr_expect_str_eq(s, "{\"project\":\"atlas\",\"key_name\":\"ci\",\"ttl_days\":30,"
			    "\"dry_run\":false}");
	free(s);
	json_decref(out);
}

Test(proposal, optional_fields_may_be_left_out_or_null)
{
	json_t *out = NULL;
	cr_assert_eq(validate("{\"project\": \"atlas\", \"key_name\": \"deploy\", "
			      "\"ttl_days\": null}",
			      &out),
		     0, "%s", err.msg);
	cr_expect_eq(json_object_size(out), 2);
	cr_expect_null(json_object_get(out, "ttl_days"));
	json_decref(out);
}

Test(proposal, input_that_is_not_an_object_is_refused_as_input)
{
	expect_refused("[]", "input", "JSON object");
	expect_refused("\"atlas\"", "input", "JSON object");
	expect_refused("null", "input", "JSON object");
	expect_refused("42", "input", "JSON object");
}

Test(proposal, a_missing_required_field_is_named)
{
	expect_refused("{\"key_name\": \"ci\"}", "input.project", "required");
	cr_expect_str_eq(err.msg, "required");
	expect_refused("{\"project\": \"atlas\"}", "input.key_name", "required");
	expect_refused("{\"project\": null, \"key_name\": \"ci\"}", "input.project", "required");
}

Test(proposal, an_undeclared_field_is_named)
{
	expect_refused("{\"project\": \"atlas\", \"key_name\": \"ci\", \"force\": true}",
		       "input.force", "'force' is not a field of 'rotate-deploy-key'");
	/* named even when a required field is also missing */
	expect_refused("{\"projekt\": \"atlas\"}", "input.projekt", "not a field");
}

Test(proposal, a_string_field_takes_only_a_string)
{
	expect_refused("{\"project\": 7, \"key_name\": \"ci\"}", "input.project",
		       "must be a string");
	expect_refused("{\"project\": true, \"key_name\": \"ci\"}", "input.project",
		       "must be a string");
	expect_refused("{\"project\": [\"a\"], \"key_name\": \"ci\"}", "input.project",
		       "must be a string");
}

Test(proposal, a_string_is_bounded_in_length)
{
	char text[256], long_name[80];
	memset(long_name, 'a', 64);
	long_name[64] = '\0';
	snprintf(text, sizeof text, "{\"project\": \"%s\", \"key_name\": \"ci\"}", long_name);
	expect_refused(text, "input.project", "at most 63 bytes");
	long_name[63] = '\0';
	snprintf(text, sizeof text, "{\"project\": \"%s\", \"key_name\": \"ci\"}", long_name);
	json_t *out = NULL;
	cr_expect_eq(validate(text, &out), 0);
	json_decref(out);
	expect_refused("{\"project\": \"\", \"key_name\": \"ci\"}", "input.project",
		       "at least 1 bytes");
}

Test(proposal, a_string_with_control_characters_is_refused)
{
	expect_refused("{\"project\": \"atlas\\nrm\", \"key_name\": \"ci\"}", "input.project",
		       "control characters");
	expect_refused("{\"project\": \"a\\tb\", \"key_name\": \"ci\"}", "input.project",
		       "control characters");
	expect_refused("{\"project\": \"a\\u007fb\", \"key_name\": \"ci\"}", "input.project",
		       "control characters");
	expect_refused("{\"project\": \"a\\u0085b\", \"key_name\": \"ci\"}", "input.project",
		       "control characters");
	expect_refused("{\"project\": \"a\\u0000b\", \"key_name\": \"ci\"}", "input.project",
		       "NUL");
	/* other non-ASCII text is fine */
	json_t *out = NULL;
	cr_expect_eq(validate("{\"project\": \"caf\\u00e9 \\u00a0x\", \"key_name\": \"ci\"}",
			      &out),
		     0, "%s", err.msg);
	json_decref(out);
}

Test(proposal, a_bound_left_open_is_not_named)
{
	rotate_kind();
	kind.fields[2].min = LLONG_MIN;
	json_t *in = json_pack("{s:s, s:s, s:i}", "project", "a", "key_name", "ci", "ttl_days", 91);
	json_t *out = NULL;
	cr_expect_eq(proposal_validate(&kind, in, &out, &err), PERR_INVALID);
	cr_expect_str_eq(err.msg, "ttl_days must be at most 90");
	kind.fields[2].min = 1;
	kind.fields[2].max = LLONG_MAX;
	json_object_set_new(in, "ttl_days", json_integer(0));
	cr_expect_eq(proposal_validate(&kind, in, &out, &err), PERR_INVALID);
	cr_expect_str_eq(err.msg, "ttl_days must be at least 1");
	json_decref(in);
}

Test(proposal, a_field_message_uses_its_label_when_it_has_one)
{
	rotate_kind();
	snprintf(kind.fields[0].label, sizeof kind.fields[0].label, "Project");
	json_t *in = json_pack("{s:i, s:s}", "project", 1, "key_name", "ci");
	json_t *out = NULL;
	cr_expect_eq(proposal_validate(&kind, in, &out, &err), PERR_INVALID);
	cr_expect_str_eq(err.msg, "Project must be a string");
	json_decref(in);
}

Test(proposal, an_integer_field_takes_a_json_integer_within_bounds)
{
	json_t *out = NULL;
	cr_expect_eq(validate("{\"project\": \"a\", \"key_name\": \"ci\", \"ttl_days\": 1}", &out),
		     0);
	json_decref(out);
	cr_expect_eq(validate("{\"project\": \"a\", \"key_name\": \"ci\", \"ttl_days\": 90}", &out),
		     0);
	json_decref(out);
	expect_refused("{\"project\": \"a\", \"key_name\": \"ci\", \"ttl_days\": 0}",
		       "input.ttl_days", "between 1 and 90");
	expect_refused("{\"project\": \"a\", \"key_name\": \"ci\", \"ttl_days\": 91}",
		       "input.ttl_days", "between 1 and 90");
	expect_refused("{\"project\": \"a\", \"key_name\": \"ci\", \"ttl_days\": -5}",
		       "input.ttl_days", "between 1 and 90");
	expect_refused("{\"project\": \"a\", \"key_name\": \"ci\", \"ttl_days\": 7.5}",
		       "input.ttl_days", "must be an integer");
	expect_refused("{\"project\": \"a\", \"key_name\": \"ci\", \"ttl_days\": 7.0}",
		       "input.ttl_days", "must be an integer");
	expect_refused("{\"project\": \"a\", \"key_name\": \"ci\", \"ttl_days\": \"7\"}",
		       "input.ttl_days", "must be an integer");
	expect_refused("{\"project\": \"a\", \"key_name\": \"ci\", \"ttl_days\": true}",
		       "input.ttl_days", "must be an integer");
}

Test(proposal, a_boolean_field_takes_only_true_or_false)
{
	json_t *out = NULL;
	cr_expect_eq(validate("{\"project\": \"a\", \"key_name\": \"ci\", \"dry_run\": true}", &out),
		     0);
	json_decref(out);
	expect_refused("{\"project\": \"a\", \"key_name\": \"ci\", \"dry_run\": \"true\"}",
		       "input.dry_run", "true or false");
	expect_refused("{\"project\": \"a\", \"key_name\": \"ci\", \"dry_run\": 1}",
		       "input.dry_run", "true or false");
	expect_refused("{\"project\": \"a\", \"key_name\": \"ci\", \"dry_run\": 0}",
		       "input.dry_run", "true or false");
}

Test(proposal, an_enum_field_takes_one_of_its_values_and_lists_them)
{
	expect_refused("{\"project\": \"a\", \"key_name\": \"prod\"}", "input.key_name",
		       "must be one of deploy, ci");
	expect_refused("{\"project\": \"a\", \"key_name\": \"CI\"}", "input.key_name",
		       "must be one of deploy, ci");
	expect_refused("{\"project\": \"a\", \"key_name\": 1}", "input.key_name",
		       "must be one of deploy, ci");
	expect_refused("{\"project\": \"a\", \"key_name\": \"ci\\u0000x\"}", "input.key_name",
		       "must be one of");
}

Test(proposal, a_long_enum_list_is_cut_short_in_the_message)
{
	rotate_kind();
	struct proposal_field *f = &kind.fields[1];
	f->nvalues = PROPOSAL_MAX_VALUES;
	for (size_t i = 0; i < f->nvalues; i++) {
		memset(f->values[i], 'v', PROPOSAL_NAME_MAX - 1);
		f->values[i][PROPOSAL_NAME_MAX - 1] = '\0';
	}
	json_t *in = json_pack("{s:s, s:s}", "project", "a", "key_name", "x");
	json_t *out = NULL;
	cr_expect_eq(proposal_validate(&kind, in, &out, &err), PERR_INVALID);
	cr_expect_not_null(strstr(err.msg, ", ..."), "%s", err.msg);
	json_decref(in);
}

Test(proposal, a_kind_without_fields_takes_only_an_empty_object)
{
	memset(&kind, 0, sizeof kind);
	snprintf(kind.name, sizeof kind.name, "ping");
	json_t *in = json_object(), *out = NULL;
	cr_expect_eq(proposal_validate(&kind, in, &out, &err), 0);
	cr_expect_eq(json_object_size(out), 0);
	json_decref(out);
	json_object_set_new(in, "x", json_true());
	cr_expect_eq(proposal_validate(&kind, in, &out, &err), PERR_INVALID);
	cr_expect_str_eq(err.field, "input.x");
	json_decref(in);
}

/* --- argv */

static char args[PROPOSAL_MAX_ARGV][PROPOSAL_ARG_MAX * 2];

static int fill(const char *text)
{
	json_t *in = json_loads(text, 0, NULL);
	cr_assert_not_null(in);
	memset(&err, 0, sizeof err);
	int n = proposal_argv(&kind, in, args, PROPOSAL_MAX_ARGV, &err);
	json_decref(in);
	return n;
}

Test(proposal, placeholders_are_filled_each_argument_stays_one)
{
	rotate_kind();
	cr_assert_eq(fill("{\"project\": \"atlas; rm -rf /\", \"key_name\": \"ci\"}"), 4);
	cr_expect_str_eq(args[0], "/bin/echo");
	cr_expect_str_eq(args[1], "rotating");
	cr_expect_str_eq(args[2], "atlas; rm -rf /");
	cr_expect_str_eq(args[3], "ci");
}

Test(proposal, placeholders_may_sit_anywhere_inside_an_element)
{
	rotate_kind();
	snprintf(kind.argv[1], PROPOSAL_ARG_MAX, "--target={project}/{key_name}.key");
	snprintf(kind.argv[2], PROPOSAL_ARG_MAX, "--ttl={ttl_days}");
	snprintf(kind.argv[3], PROPOSAL_ARG_MAX, "--dry-run={dry_run}");
	cr_assert_eq(fill("{\"project\": \"atlas\", \"key_name\": \"deploy\", \"ttl_days\": 30,"
			  " \"dry_run\": true}"),
		     4);
	cr_expect_str_eq(args[1], "--target=atlas/deploy.key");
	cr_expect_str_eq(args[2], "--ttl=30");
	cr_expect_str_eq(args[3], "--dry-run=true");
	cr_assert_eq(fill("{\"project\": \"a\", \"key_name\": \"ci\", \"ttl_days\": -3,"
			  " \"dry_run\": false}"),
		     4);
	cr_expect_str_eq(args[2], "--ttl=-3");
	cr_expect_str_eq(args[3], "--dry-run=false");
}

Test(proposal, an_optional_field_left_out_fills_in_as_empty)
{
	rotate_kind();
	snprintf(kind.argv[3], PROPOSAL_ARG_MAX, "--ttl={ttl_days}");
	cr_assert_eq(fill("{\"project\": \"a\", \"key_name\": \"ci\"}"), 4);
	cr_expect_str_eq(args[3], "--ttl=");
}

Test(proposal, double_braces_are_a_literal_brace)
{
	rotate_kind();
	snprintf(kind.argv[1], PROPOSAL_ARG_MAX, "{{\"p\": \"{project}\"}");
	cr_assert_eq(fill("{\"project\": \"atlas\", \"key_name\": \"ci\"}"), 4);
	cr_expect_str_eq(args[1], "{\"p\": \"atlas\"}");
	snprintf(kind.argv[1], PROPOSAL_ARG_MAX, "{{project}");
	cr_assert_eq(fill("{\"project\": \"atlas\", \"key_name\": \"ci\"}"), 4);
	cr_expect_str_eq(args[1], "{project}");
}

Test(proposal, a_placeholder_naming_no_field_is_refused)
{
	rotate_kind();
	snprintf(kind.argv[2], PROPOSAL_ARG_MAX, "{projekt}");
	cr_expect_eq(fill("{\"project\": \"a\", \"key_name\": \"ci\"}"), PERR_INVALID);
	cr_expect_str_eq(err.field, "argv[2]");
	cr_expect_not_null(strstr(err.msg, "{projekt}"));
	snprintf(kind.argv[2], PROPOSAL_ARG_MAX, "x{}");
	cr_expect_eq(fill("{\"project\": \"a\", \"key_name\": \"ci\"}"), PERR_INVALID);
	snprintf(kind.argv[2], PROPOSAL_ARG_MAX, "{project");
	cr_expect_eq(fill("{\"project\": \"a\", \"key_name\": \"ci\"}"), PERR_INVALID);
	cr_expect_not_null(strstr(err.msg, "closing"));
}

Test(proposal, an_argument_too_long_once_filled_is_refused)
{
	rotate_kind();
	kind.fields[0].max_len = 0; /* unbounded here: the argv limit must hold */
	snprintf(kind.argv[2], PROPOSAL_ARG_MAX, "{project}{project}{project}");
	char v[200], text[400];
	memset(v, 'a', 199);
	v[199] = '\0';
	snprintf(text, sizeof text, "{\"project\": \"%s\", \"key_name\": \"ci\"}", v);
	cr_expect_eq(fill(text), PERR_INVALID);
	cr_expect_str_eq(err.field, "argv[2]");
	cr_expect_not_null(strstr(err.msg, "longer than 511 bytes"), "%s", err.msg);
	/* exactly at the limit fits */
	snprintf(kind.argv[2], PROPOSAL_ARG_MAX, "{project}{project}{project}");
	memset(v, 'a', 170);
	v[170] = '\0'; /* 510 bytes */
	snprintf(text, sizeof text, "{\"project\": \"%s\", \"key_name\": \"ci\"}", v);
	cr_expect_eq(fill(text), 4);
	cr_expect_eq(strlen(args[2]), 510);
}

Test(proposal, more_arguments_than_room_is_refused)
{
	rotate_kind();
	json_t *in = json_pack("{s:s, s:s}", "project", "a", "key_name", "ci");
	cr_expect_lt(proposal_argv(&kind, in, args, 3, &err), 0);
	cr_expect_eq(proposal_argv(&kind, in, args, 4, &err), 4);
	json_decref(in);
}

Test(proposal, a_dataset_field_takes_a_datahub_dataset_urn)
{
	memset(&kind, 0, sizeof kind);
	snprintf(kind.name, sizeof kind.name, "backfill");
	add_field("table", PFIELD_DATASET, 1);
	const char *good = "{\"table\": \"urn:li:dataset:(urn:li:dataPlatform:clickhouse,"
			   "fractalops.facts,PROD)\"}";
	json_t *in = json_loads(good, 0, NULL), *out = NULL;
	memset(&err, 0, sizeof err);
	cr_expect_eq(proposal_validate(&kind, in, &out, &err), 0, "%s", err.msg);
	json_decref(in);
	json_decref(out);
	const char *bad[] = {
		"{\"table\": \"fractalops.facts\"}",
		"{\"table\": \"urn:li:dataset:(urn:li:dataPlatform:clickhouse)\"}",
		"{\"table\": \"urn:li:dataJob:(urn:li:dataFlow:(airflow,x,PROD),y)\"}",
		"{\"table\": \"urn:li:dataset:(urn:li:dataPlatform:clickhouse,a,PROD\"}",
		"{\"table\": \"urn:li:dataset:(urn:li:dataPlatform:x,a\\nb,PROD)\"}",
		"{\"table\": 7}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		in = json_loads(bad[i], 0, NULL);
		out = (json_t *)1;
		memset(&err, 0, sizeof err);
		cr_expect_eq(proposal_validate(&kind, in, &out, &err), PERR_INVALID, "%s", bad[i]);
		cr_expect_str_eq(err.field, "input.table", "%s", bad[i]);
		cr_expect_null(out);
		json_decref(in);
	}
}
