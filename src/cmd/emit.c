/* emit: `portal emit` — appends one event to portal_live_events from a shell,
 * through the same validation as POST /api/v1/events, and under the same
 * rule: it never writes a type, id or source that only Portal writes. A
 * running server picks it up from the log within its poll interval. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cmd/cmd.h"
#include "core/event.h"
#include "store/store.h"
#include "util/clock.h"

static const char *const emit_options[] = {"type", "project", "session", "data", "id",
					   "source", "ts", NULL};

static const struct cmd_spec emit_spec = {
	.name = "emit",
	.summary = "Append one event to portal_live_events, validated like POST /api/v1/events.\n"
		   "  --type T --project P [--session S] [--data JSON] [--id ID] [--source S] [--ts MS]\n"
		   "The id defaults to a random one; source to \"cli\"; ts to now. Prints the seq.",
	.settings = CONFIG_CMD_EMIT,
	.options = emit_options,
};

int cmd_emit(int argc, char **argv)
{
	struct cmd_args args;
	struct config cfg;
	int rc0 = cmd_begin(&emit_spec, argc, argv, &args, &cfg);
	if (rc0 >= 0)
		return rc0;
	if (sodium_init() < 0)
		return 1;

	/* Build the event as the API would receive it, so the same checks apply. */
	json_t *obj = json_object();
	char idbuf[40];
	const char *id = cmd_option(&args, "id");
	if (!id) {
		unsigned char raw[12];
		randombytes_buf(raw, sizeof raw);
		memcpy(idbuf, "cli-", 4);
		sodium_bin2hex(idbuf + 4, sizeof idbuf - 4, raw, sizeof raw);
		id = idbuf;
	}
	const char *keys[] = {"type", "project", "session", "source"};
	json_object_set_new(obj, "id", json_string(id));
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const char *v = cmd_option(&args, keys[i]);
		if (v)
			json_object_set_new(obj, keys[i], json_string(v));
	}
	const char *ts = cmd_option(&args, "ts");
	if (ts) {
		char *end;
		long long t = strtoll(ts, &end, 10);
		json_object_set_new(obj, "ts", *end ? json_string(ts) : json_integer(t));
	}
	const char *data = cmd_option(&args, "data");
	if (data) {
		json_error_t je;
		json_t *d = json_loads(data, 0, &je);
		if (!d) {
			fprintf(stderr, "portal emit: --data is not JSON (column %d): %s\n", je.column,
				je.text);
			json_decref(obj);
			return 1;
		}
		json_object_set_new(obj, "data", d);
	}
	struct event ev;
	struct perr err = {0};
	if (event_from_json(obj, clock_wall_ms(), "cli", &ev, &err) < 0) {
		fprintf(stderr, "portal emit: --%s: %s\n", err.field[0] ? err.field : "data", err.msg);
		json_decref(obj);
		return 1;
	}
	/* The shell is a producer like any other: what only Portal writes
	 * (its types, its ids, its names as a source) stays Portal's. */
	if (event_producer_check(&ev, &err) == 0 && event_source_reserved(ev.source))
		perr_set(&err, PERR_FORBIDDEN, "source", "source '%s' is Portal's own name",
			 ev.source);
	if (err.code == PERR_FORBIDDEN) {
		fprintf(stderr, "portal emit: --%s: %s\n", err.field, err.msg);
		event_release(&ev);
		json_decref(obj);
		return 1;
	}
	struct store *st = NULL;
	if (cmd_open_store("emit", &cfg, &st) != 0) {
		event_release(&ev);
		json_decref(obj);
		return 1;
	}
	long long seq = 0;
	int fresh = 0;
	struct store_batch b = {.evs = &ev, .n = 1, .seqs = &seq, .fresh = &fresh};
	struct store_batch *bp = &b;
	int rc = store_append(st, &bp, 1, &err);
	if (rc == 0 && b.rc < 0) {
		rc = b.rc;
		err = b.err;
	}
	store_close(st);
	if (rc < 0)
		fprintf(stderr, "portal emit: %s\n", err.msg);
	else
		printf("%s seq=%lld%s\n", ev.id, seq, fresh ? "" : " (already logged)");
	event_release(&ev);
	json_decref(obj);
	return rc < 0 ? 1 : 0;
}
