/* event: one entry of portal_live_events, the append-only log every live view
 * is folded from, and the producers' contract (DESIGN.md, "Event
 * vocabulary"). Parsing here is pure: the receive time comes in as an
 * argument, and nothing is stored. */
#ifndef PORTAL_EVENT_H
#define PORTAL_EVENT_H

#include <jansson.h>

#include "util/perr.h"

#define EVENT_ID_MAX 128
#define EVENT_TYPE_MAX 64
#define EVENT_PROJECT_MAX 64
#define EVENT_SESSION_MAX 128
#define EVENT_SOURCE_MAX 64
#define EVENT_DATA_MAX 16384 /* bytes of data, as compact JSON */
#define EVENT_DATA_DEPTH 8   /* nesting levels inside data */

struct event {
	long long seq;       /* assigned by the store, strictly increasing; 0 before */
	const char *id;      /* producer's idempotency key */
	const char *type;    /* e.g. "session.started" */
	const char *project;
	const char *session; /* NULL when the event is not about one session */
	const char *source;  /* who produced it */
	long long ts;        /* milliseconds since the epoch */
	json_t *data;        /* an object; borrowed from whoever owns the event */
};

/* Reads and validates one event object. Strings in ev borrow from obj. ts
 * defaults to now_ms and source to default_source when absent; data to {}
 * (a new object the caller releases with json_decref(ev->data) — see
 * event_release). Known types are checked for the data fields they need.
 * On error err->field names the field ("data.state") and err->msg says what
 * is wrong; returns PERR_INVALID or PERR_TOO_LARGE. */
int event_from_json(json_t *obj, long long now_ms, const char *default_source,
		    struct event *ev, struct perr *err);
/* Drops the reference event_from_json took on ev->data. */
void event_release(struct event *ev);

/* Splits an NDJSON body (one JSON value per line; blank lines and spaces,
 * tabs and CRs around a line are ignored) into a new array the caller
 * releases. A line that is not JSON, or repeats a key, is PERR_INVALID with
 * field "body" and a message naming its line and column; NULL then. */
json_t *event_ndjson_load(const char *data, size_t len, struct perr *err);

/* Whether the projection understands `type`. */
int event_type_known(const char *type);

#endif
