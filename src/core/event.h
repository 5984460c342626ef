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

/* The event vocabulary, one row per type the projection understands:
 *   X(ID, name, needs_session, by_portal, check, fold)
 * needs_session: the event must name a session. by_portal: only Portal
 * itself writes the type (its prober, its proposal store); a producer that
 * sends it is refused (event_producer_check), so what Portal observed cannot
 * be contradicted by a token. check (core/event.c): the data fields the type
 * needs, or NULL for none. fold (core/projection.c): how the type changes the
 * projection. Each of the two files expands the columns it owns, so a type's
 * check and fold stay static where the data they work on is, and adding a
 * type is this one row and its two functions (the compiler names any that is
 * missing). Any other type is stored and counted as unrecognised. */
#define EVENT_TYPES(X)                                                                           \
	X(SESSION_STARTED, "session.started", 1, 0, check_session_started, fold_session_started)     \
	X(SESSION_TOOL, "session.tool", 1, 0, check_session_tool, fold_session_tool)                 \
	X(SESSION_BLOCKED, "session.blocked", 1, 0, check_session_blocked, fold_session_blocked)     \
	X(SESSION_UNBLOCKED, "session.unblocked", 1, 0, NULL, fold_session_unblocked)                \
	X(SESSION_RESUMED, "session.resumed", 1, 0, check_session_resumed, fold_session_resumed)     \
	X(SESSION_ENDED, "session.ended", 1, 0, check_session_ended, fold_session_ended)             \
	X(CYCLE_STARTED, "ouroboros.cycle.started", 0, 0, check_cycle_started, fold_cycle_started)   \
	X(CYCLE_COMPLETED, "ouroboros.cycle.completed", 0, 0, check_cycle_completed,                 \
	  fold_cycle_completed)                                                                      \
	X(CYCLE_FAILED, "ouroboros.cycle.failed", 0, 0, check_cycle_failed, fold_cycle_failed)       \
	X(HEALTH_CHANGED, "health.changed", 0, 1, check_health_changed, fold_health_changed)         \
	X(PROPOSAL_TRANSITIONED, "proposal.transitioned", 0, 1, check_proposal_transitioned,         \
	  fold_proposal_transitioned)

enum event_type_id {
#define EVENT_TYPE_ID(id, name, needs_session, by_portal, check, fold) EVENT_##id,
	EVENT_TYPES(EVENT_TYPE_ID)
#undef EVENT_TYPE_ID
	EVENT_TYPE_COUNT
};

/* One row of the vocabulary, as event_from_json uses it. */
struct event_type {
	enum event_type_id id; /* its index in event_types */
	const char *name;
	int needs_session;
	int by_portal; /* only Portal writes it: refused from producers */
	/* 0, or PERR_INVALID / PERR_TOO_LARGE naming the data field; NULL: none. */
	int (*check)(const struct event *ev, struct perr *err);
};

extern const struct event_type event_types[EVENT_TYPE_COUNT];

/* The row of `type`, or NULL when the projection does not understand it. */
const struct event_type *event_type_find(const char *type);

/* Whether the projection understands `type`. */
int event_type_known(const char *type);

/* The id namespace of Portal's own events, written once: the prober's
 * health.changed ids start "probe-" (live/probing.c), the proposal store's
 * proposal.transitioned ids "proposal:" (store/proposals.c). An id that
 * starts with one of them is Portal's; a producer that claimed it first
 * would have Portal's real event dropped as a duplicate. */
#define EVENT_ID_PROBE_PREFIX "probe-"
#define EVENT_ID_PROPOSAL_PREFIX "proposal:"

/* The names Portal writes as an event's source for its own events. A token
 * (whose name is its events' source) may not take one of them. */
#define EVENT_SOURCE_PORTAL "portal"
#define EVENT_SOURCE_PROBER "prober"

/* Whether `id` is in Portal's id namespace; `source` one of its names. */
int event_id_reserved(const char *id);
int event_source_reserved(const char *source);

/* What a producer (anything but Portal itself) may write: 0, or PERR_FORBIDDEN
 * with err->field "type" or "id" and a message naming the type or id, when
 * the event has a type only Portal writes or an id in Portal's namespace. */
int event_producer_check(const struct event *ev, struct perr *err);

#endif
