/* projection: harness-projection, the one live truth. A pure, deterministic
 * fold of portal_live_events: the same events in the same order give
 * byte-identical snapshots. No clock, no I/O: the projection's notion of
 * "now" is the latest event time it has applied, so idleness is also a
 * function of the log alone.
 *
 * Not thread-safe: one owner applies events and writes snapshots; readers get
 * the serialised bytes (see live/hub.h). */
#ifndef PORTAL_PROJECTION_H
#define PORTAL_PROJECTION_H

#include <stddef.h>

#include "core/event.h"
#include "core/stage.h"
#include "util/buf.h"

enum session_status {
	SESSION_RUNNING,
	SESSION_BLOCKED,
	SESSION_IDLE,
	SESSION_ENDED,
	SESSION_STATUS_COUNT
};

struct projection_options {
	long long idle_after_ms; /* a running session with no event for this long is idle */
};

struct projection;

struct projection *projection_new(const struct projection_options *opt);
void projection_free(struct projection *p);

/* Folds one event in. ev->seq must be greater than the current version (the
 * log is applied in order; an out-of-order seq is PERR_CONFLICT and changes
 * nothing). Unknown types only count. */
int projection_apply(struct projection *p, const struct event *ev, struct perr *err);

long long projection_version(const struct projection *p);
size_t projection_session_count(const struct projection *p);

/* Where each session sits in a written snapshot, for paging a pinned version
 * without parsing it: sessions in id order. */
struct projection_index_entry {
	size_t off, len;        /* the session object's bytes */
	enum session_status status;
	long long last_event_at;
	const char *project;    /* points into projects[] of the same index */
};
struct projection_index {
	struct projection_index_entry *sessions;
	size_t nsessions;
	char **projects;        /* project names, sorted, owned */
	size_t nprojects;
	/* The other parts of the snapshot, for pages that render a few rows
	 * without parsing everything. */
	struct { size_t off, len; } projects_json, ouroboros_json, health_json, unrecognised_json;
};
void projection_index_free(struct projection_index *ix);

/* Appends the whole snapshot as JSON to out. When ix is not NULL it is filled
 * with the position of every session (offsets relative to out's length at
 * the call). */
void projection_write(const struct projection *p, struct buf *out, struct projection_index *ix);

/* Appends, as JSON, what changed since the last call (or since creation):
 * every touched session, project and component in full, and ouroboros and
 * the unrecognised counts when they changed. Clears the change set. */
void projection_write_delta(struct projection *p, struct buf *out);

/* Drops the change set without writing it (after a replay). */
void projection_forget_changes(struct projection *p);

/* Parses a status name ("running", …); -1 when unknown. */
int session_status_parse(const char *s);
const char *session_status_name(enum session_status s);

#endif
