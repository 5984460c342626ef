/* fuzz_events: a POST /api/v1/events body, read the way the handler reads it
 * (api/events.c): once as one JSON document (an event or an array of them)
 * and once as NDJSON. Each event is validated (event_from_json) and every
 * valid one is folded into a projection, whose snapshot and delta must then
 * be JSON that parses back: producers' text must never break the document
 * the pages and the stream are built from. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "api/api.h"
#include "core/event.h"
#include "core/projection.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must_parse(const struct buf *b)
{
	json_error_t je;
	json_t *back = json_loadb(b->data ? b->data : "", b->len, 0, &je);
	if (!back) /* the projection wrote something that is not JSON */
		abort();
	json_decref(back);
}

static void fold(json_t *doc)
{
	if (!doc)
		return;
	size_t n = json_is_object(doc) ? 1 : json_array_size(doc);
	if (n > API_EVENTS_BATCH_MAX) /* the handler refuses the batch (413) */
		return;
	struct projection_options opt = {.idle_after_ms = 60000};
	struct projection *p = projection_new(&opt);
	long long seq = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *obj = json_is_object(doc) ? doc : json_array_get(doc, i);
		struct event ev = {0};
		struct perr err = {0};
		if (event_from_json(obj, 1700000000000LL, "fuzz", &ev, &err) < 0)
			continue;
		ev.seq = ++seq;
		projection_apply(p, &ev, &err);
		event_release(&ev);
	}
	struct buf b = BUF_INIT;
	struct projection_index ix = {0};
	projection_write(p, &b, &ix);
	must_parse(&b);
	for (size_t i = 0; i < ix.nsessions; i++) {
		json_t *s = json_loadb(b.data + ix.sessions[i].off, ix.sessions[i].len, 0, NULL);
		if (!json_is_object(s)) /* the index points outside a session */
			abort();
		json_decref(s);
	}
	projection_index_free(&ix);
	buf_free(&b);
	projection_write_delta(p, &b);
	must_parse(&b);
	buf_free(&b);
	projection_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	fold(doc);
	json_decref(doc);

	struct perr err = {0};
	doc = event_ndjson_load((const char *)data, size, &err);
	fold(doc);
	json_decref(doc);
	return 0;
}
