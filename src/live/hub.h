/* hub: where the one live truth is kept and fanned out. It owns the
 * projection (applied by the writer thread after each commit), serialises it
 * at most once per version into an immutable snapshot that every reader
 * shares, and streams per-commit deltas to server-sent-event subscribers on
 * their own loop threads. An idle subscriber costs a list entry and no
 * thread; a slow one is skipped, resynchronised or dropped without holding
 * up the rest. */
#ifndef PORTAL_HUB_H
#define PORTAL_HUB_H

#include <stdatomic.h>
#include <stddef.h>

#include "core/projection.h"

struct http_ctx;

struct hub_options {
	long long idle_after_ms;  /* passed to the projection */
	size_t ring;              /* deltas kept for Last-Event-ID resumption */
	size_t max_pending_bytes; /* a subscriber above this is skipped … */
	int slow_drop_ms;         /* … and dropped after this long */
	int heartbeat_ms;         /* comment lines that keep proxies open */
	int snapshots_kept;       /* the newest snapshot plus versions kept for paging cursors */
};

/* An immutable serialised projection, shared by reference. */
struct snap {
	atomic_int refs;
	long long version;
	char *data;
	size_t len;
	struct projection_index ix;
	char etag[32]; /* "v<version>" with the quotes */
};

struct hub;

struct hub *hub_new(const struct hub_options *opt);
/* Frees the hub; its streams must be closed and the loops stopped first. */
void hub_free(struct hub *h);

/* Writer thread: folds one committed event in (in seq order). */
int hub_apply(struct hub *h, const struct event *ev, struct perr *err);
/* Writer thread: after a commit's events are applied, publishes one delta
 * covering them and wakes every loop with subscribers. */
void hub_publish(struct hub *h);

/* After a replay at start-up: what was folded so far is the baseline, not a
 * change to stream. */
void hub_settle(struct hub *h);

long long hub_version(struct hub *h);
/* The snapshot of the current version (built now if nobody asked for this
 * version yet). Release it with snap_release. */
struct snap *hub_snapshot(struct hub *h);
/* Keeps s for paging cursors that point at its version: a version stays
 * kept however many newer ones are read, until snapshots_kept - 1 other
 * pinned versions were used more recently. */
void hub_snapshot_pin(struct hub *h, struct snap *s);
/* A snapshot of exactly `version` (pinned or the newest; using a pin keeps it
 * longer), or NULL when it is no longer kept. */
struct snap *hub_snapshot_at(struct hub *h, long long version);
void snap_release(struct snap *s);

/* Loop thread: turns the deferred request c into an event stream. When
 * has_last is set and last_id is still covered by the kept deltas, only
 * what came after it is sent; otherwise a full snapshot comes first. */
void hub_subscribe(struct hub *h, struct http_ctx *c, int has_last, long long last_id);
/* Ends every stream (for a graceful drain) and refuses new ones. */
void hub_close_streams(struct hub *h);

struct hub_stats {
	size_t subscribers;
	long long version;
	long long dropped, resyncs, published;
};
void hub_stats(struct hub *h, struct hub_stats *out);

#endif
