/* The fold, by example: tests/cases/projection/NAME.events.ndjson is applied
 * in order (seq = line number) and the snapshot must contain everything in
 * NAME.expected.json (objects: the listed keys; arrays: the same length, each
 * element matched the same way). A new case is a new pair of files. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/projection.h"

#define CASES "tests/cases/projection"

static const struct projection_options opts = {.idle_after_ms = 600000};

/* Whether actual has everything expected has; on a mismatch writes the path. */
static int subset(json_t *exp, json_t *act, char *path, size_t cap)
{
	if (json_is_object(exp)) {
		if (!json_is_object(act))
			return 0;
		const char *k;
		json_t *v;
		json_object_foreach(exp, k, v) {
			size_t n = strlen(path);
			snprintf(path + n, cap - n, ".%s", k);
			if (!subset(v, json_object_get(act, k), path, cap))
				return 0;
			path[n] = 0;
		}
		return 1;
	}
	if (json_is_array(exp)) {
		if (!json_is_array(act) || json_array_size(act) != json_array_size(exp))
			return 0;
		for (size_t i = 0; i < json_array_size(exp); i++) {
			size_t n = strlen(path);
			snprintf(path + n, cap - n, "[%zu]", i);
			if (!subset(json_array_get(exp, i), json_array_get(act, i), path, cap))
				return 0;
			path[n] = 0;
		}
		return 1;
	}
	return act && json_equal(exp, act);
}

/* Applies every line of `file` to p; returns the number applied. */
static int feed(struct projection *p, const char *file)
{
	FILE *f = fopen(file, "r");
	cr_assert(f, "cannot open %s", file);
	char line[8192];
	int n = 0;
	while (fgets(line, sizeof line, f)) {
		if (line[0] == '\n')
			continue;
		json_error_t jerr;
		json_t *obj = json_loads(line, 0, &jerr);
		cr_assert(obj, "%s:%d: %s", file, n + 1, jerr.text);
		struct event ev;
		struct perr err = {0};
		cr_assert_eq(event_from_json(obj, 0, "test", &ev, &err), 0, "%s:%d: %s: %s", file,
			     n + 1, err.field, err.msg);
		ev.seq = ++n;
		cr_assert_eq(projection_apply(p, &ev, &err), 0, "%s", err.msg);
		event_release(&ev);
		json_decref(obj);
	}
	fclose(f);
	return n;
}

static char *snapshot(const struct projection *p)
{
	struct buf b = BUF_INIT;
	projection_write(p, &b, NULL);
	return buf_detach(&b, NULL);
}

Test(projection, cases_match_their_expected_snapshots)
{
	DIR *d = opendir(CASES);
	cr_assert(d, "no %s (tests run from the repository root)", CASES);
	struct dirent *de;
	int ran = 0;
	while ((de = readdir(d))) {
		const char *suffix = strstr(de->d_name, ".events.ndjson");
		if (!suffix || suffix[14])
			continue;
		char events[512], expected[512];
		int stem = (int)(suffix - de->d_name);
		snprintf(events, sizeof events, CASES "/%s", de->d_name);
		snprintf(expected, sizeof expected, CASES "/%.*s.expected.json", stem, de->d_name);
		struct projection *p = projection_new(&opts);
		feed(p, events);
		char *bytes = snapshot(p);
		json_error_t jerr;
		json_t *act = json_loads(bytes, 0, &jerr);
		cr_assert(act, "%s: snapshot is not JSON: %s", events, jerr.text);
		json_t *exp = json_load_file(expected, 0, &jerr);
		cr_assert(exp, "%s: %s", expected, jerr.text);
		char path[512] = "";
		int ok = subset(exp, act, path, sizeof path);
		cr_expect(ok, "%.*s: snapshot differs at %s\nsnapshot: %s", stem, de->d_name, path,
			  bytes);
		json_decref(act);
		json_decref(exp);
		free(bytes);
		projection_free(p);
		ran++;
	}
	closedir(d);
	cr_assert_geq(ran, 7, "only %d cases found", ran);
}

Test(projection, same_events_in_same_order_give_identical_bytes)
{
	const char *file = CASES "/blockers_by_class.events.ndjson";
	struct projection *a = projection_new(&opts), *b = projection_new(&opts);
	feed(a, file);
	feed(b, file);
	/* Writing a delta (as the live stream does) must not change the snapshot. */
	struct buf d = BUF_INIT;
	projection_write_delta(a, &d);
	buf_free(&d);
	char *x = snapshot(a), *y = snapshot(b), *z = snapshot(a);
	cr_assert_str_eq(x, y);
	cr_assert_str_eq(x, z);
	free(x);
	free(y);
	free(z);
	projection_free(a);
	projection_free(b);
}

static void apply_json(struct projection *p, long long seq, const char *text)
{
	json_t *obj = json_loads(text, 0, NULL);
	cr_assert(obj, "bad test JSON: %s", text);
	struct event ev;
	struct perr err = {0};
	cr_assert_eq(event_from_json(obj, 0, "test", &ev, &err), 0, "%s: %s", err.field, err.msg);
	ev.seq = seq;
	cr_assert_eq(projection_apply(p, &ev, &err), 0, "%s", err.msg);
	event_release(&ev);
	json_decref(obj);
}

Test(projection, a_delta_carries_only_what_changed)
{
	struct projection *p = projection_new(&opts);
	apply_json(p, 1, "{\"id\":\"1\",\"type\":\"session.started\",\"project\":\"a\",\"session\":\"s1\",\"ts\":10}");
	apply_json(p, 2, "{\"id\":\"2\",\"type\":\"session.started\",\"project\":\"b\",\"session\":\"s2\",\"ts\":11}");
	struct buf d = BUF_INIT;
	projection_write_delta(p, &d);
	buf_reset(&d);
	apply_json(p, 3, "{\"id\":\"3\",\"type\":\"session.tool\",\"project\":\"b\",\"session\":\"s2\",\"ts\":12,\"data\":{\"tool\":\"x\"}}");
	projection_write_delta(p, &d);
	json_t *delta = json_loads(buf_cstr(&d), 0, NULL);
	cr_assert(delta, "delta is not JSON: %s", buf_cstr(&d));
	cr_assert_eq(json_integer_value(json_object_get(delta, "version")), 3);
	json_t *sessions = json_object_get(delta, "sessions");
	cr_assert_eq(json_array_size(sessions), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(sessions, 0), "id")), "s2");
	cr_assert_eq(json_array_size(json_object_get(delta, "projects")), 1);
	cr_assert_null(json_object_get(delta, "ouroboros"), "ouroboros did not change");
	json_decref(delta);
	buf_free(&d);
	projection_free(p);
}

Test(projection, an_event_at_or_below_the_version_is_refused)
{
	struct projection *p = projection_new(&opts);
	apply_json(p, 5, "{\"id\":\"1\",\"type\":\"x.y\",\"project\":\"a\",\"ts\":10}");
	struct event ev = {.seq = 5, .id = "2", .type = "x.y", .project = "a", .ts = 11};
	ev.data = json_object();
	struct perr err = {0};
	cr_assert_eq(projection_apply(p, &ev, &err), PERR_CONFLICT);
	cr_assert_eq(projection_version(p), 5);
	json_decref(ev.data);
	projection_free(p);
}

Test(projection, the_index_slices_each_session_out_of_the_snapshot)
{
	struct projection *p = projection_new(&opts);
	feed(p, CASES "/continuity_chain.events.ndjson");
	struct buf b = BUF_INIT;
	buf_puts(&b, "prefix");
	struct projection_index ix;
	projection_write(p, &b, &ix);
	cr_assert_eq(ix.nsessions, 3);
	cr_assert_eq(ix.nprojects, 1);
	const char *ids[] = {"s-1", "s-2", "s-3"};
	for (size_t i = 0; i < ix.nsessions; i++) {
		const struct projection_index_entry *e = &ix.sessions[i];
		json_t *s = json_loadb(b.data + 6 + e->off, e->len, 0, NULL);
		cr_assert(s, "entry %zu is not a JSON object", i);
		cr_assert_str_eq(json_string_value(json_object_get(s, "id")), ids[i]);
		cr_assert_str_eq(e->project, "atlas");
		cr_assert_str_eq(json_string_value(json_object_get(s, "status")),
				 session_status_name(e->status));
		json_decref(s);
	}
	projection_index_free(&ix);
	buf_free(&b);
	projection_free(p);
}

Test(projection, a_resume_cycle_does_not_loop_the_chain)
{
	struct projection *p = projection_new(&opts);
	apply_json(p, 1, "{\"id\":\"1\",\"type\":\"session.resumed\",\"project\":\"a\",\"session\":\"x\",\"ts\":1,\"data\":{\"from_session\":\"y\"}}");
	apply_json(p, 2, "{\"id\":\"2\",\"type\":\"session.resumed\",\"project\":\"a\",\"session\":\"y\",\"ts\":2,\"data\":{\"from_session\":\"x\"}}");
	char *s = snapshot(p);
	json_t *doc = json_loads(s, 0, NULL);
	json_t *y = json_array_get(json_object_get(doc, "sessions"), 1);
	json_t *chain = json_object_get(json_object_get(y, "continuity"), "chain");
	cr_assert_eq(json_array_size(chain), 1, "%s", s);
	cr_assert_str_eq(json_string_value(json_array_get(chain, 0)), "x");
	json_decref(doc);
	free(s);
	projection_free(p);
}

/* Every type of the vocabulary (EVENT_TYPES) is folded by at least one case
 * under tests/cases/projection, so no fold goes without a byte-level check. */
Test(projection, every_known_type_has_a_case)
{
	int seen[EVENT_TYPE_COUNT] = {0};
	DIR *d = opendir(CASES);
	cr_assert(d, "no %s (tests run from the repository root)", CASES);
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *suffix = strstr(de->d_name, ".events.ndjson");
		if (!suffix || suffix[14])
			continue;
		char file[512], line[8192];
		snprintf(file, sizeof file, CASES "/%s", de->d_name);
		FILE *f = fopen(file, "r");
		cr_assert(f, "cannot open %s", file);
		while (fgets(line, sizeof line, f)) {
			json_t *obj = json_loads(line, 0, NULL);
			const char *type = json_string_value(json_object_get(obj, "type"));
			const struct event_type *t = type ? event_type_find(type) : NULL;
			if (t)
				seen[t->id] = 1;
			json_decref(obj);
		}
		fclose(f);
	}
	closedir(d);
	for (size_t i = 0; i < EVENT_TYPE_COUNT; i++)
		cr_expect(seen[i], "no case under %s folds %s", CASES, event_types[i].name);
}

/* A type of the vocabulary whose event lacks what its fold needs (a session,
 * or the health or proposal fields) only counts, like an unknown type. */
Test(projection, a_known_type_without_what_its_fold_needs_only_counts)
{
	struct projection *p = projection_new(&opts);
	const struct event evs[] = {
		{.seq = 1, .id = "1", .type = "session.tool", .project = "a", .ts = 10},
		{.seq = 2, .id = "2", .type = "health.changed", .project = "a", .ts = 11},
		{.seq = 3, .id = "3", .type = "proposal.transitioned", .project = "a", .ts = 12},
	};
	for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++) {
		struct event ev = evs[i];
		struct perr err = {0};
		ev.data = json_object();
		cr_assert_eq(projection_apply(p, &ev, &err), 0, "%s", err.msg);
		json_decref(ev.data);
	}
	cr_expect_eq(projection_session_count(p), 0);
	char *bytes = snapshot(p);
	json_t *doc = json_loads(bytes, 0, NULL);
	json_t *u = json_object_get(doc, "unrecognised");
	cr_expect_eq(json_integer_value(json_object_get(u, "total")), 3, "%s", bytes);
	cr_expect_eq(json_array_size(json_object_get(doc, "health")), 0);
	json_decref(doc);
	free(bytes);
	projection_free(p);
}
