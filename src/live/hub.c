/* hub: see hub.h. One mutex guards the projection, the delta ring and the
 * kept snapshots (the newest, and those paging cursors point at);
 * subscriber lists belong to their loop thread and are only walked there.
 * Bytes go to clients by reference (evbuffer_add_reference), so a thousand
 * subscribers share one copy of each message. */
#include "live/hub.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "http/http.h"
#include "util/buf.h"
#include "util/clock.h"

#define MAX_LOOPS 64

struct msg { /* one SSE message: a delta covering (from, version] */
	atomic_int refs;
	long long from, version;
	char *data;
	size_t len;
};

struct sub {
	struct http_ctx *c;
	struct hub_loop *hl;
	long long last; /* the version the client has */
	long long slow_since_us;
	int gone;
	int cut; /* dropped for being slow: reset, waiting for its close */
	long long cut_at_us;
	struct sub *next;
};

struct hub_loop {
	struct hub *h;
	struct event_base *base;
	struct event *wake, *beat;
	struct event *retry; /* re-delivers soon while a subscriber is skipped */
	struct sub *subs; /* loop thread only */
};

struct hub {
	struct hub_options opt;
	pthread_mutex_t mu;
	struct projection *proj;
	long long published; /* version of the newest delta */
	struct msg **ring;   /* oldest at ring_head, ring_n entries */
	size_t ring_head, ring_n;
	struct snap *cur;    /* the newest version built */
	struct snap **pins;  /* versions a paging cursor points at, least recently used first */
	int npins, maxpins;
	struct hub_loop *loops[MAX_LOOPS];
	int nloops;
	atomic_int closing;
	atomic_long subscribers, dropped, resyncs, npublished;
};

static const char keepalive[] = ": keep-alive\n\n";

/* --- references */

static void msg_release(struct msg *m)
{
	if (m && atomic_fetch_sub(&m->refs, 1) == 1) {
		free(m->data);
		free(m);
	}
}

void snap_release(struct snap *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
		free(s->data);
		projection_index_free(&s->ix);
		free(s);
	}
}

static void msg_done(const void *data, size_t len, void *arg) { msg_release(arg); }
static void snap_done(const void *data, size_t len, void *arg) { snap_release(arg); }
static void free_done(const void *data, size_t len, void *arg) { free(arg); }

/* --- lifecycle */

struct hub *hub_new(const struct hub_options *opt)
{
	struct hub *h = calloc(1, sizeof *h);
	if (!h)
		abort();
	h->opt = *opt;
	if (h->opt.ring < 16)
		h->opt.ring = 16;
	if (h->opt.snapshots_kept < 2)
		h->opt.snapshots_kept = 2;
	/* The newest snapshot is one of those kept; the rest are for cursors. */
	h->maxpins = h->opt.snapshots_kept - 1;
	h->ring = calloc(h->opt.ring, sizeof *h->ring);
	h->pins = calloc((size_t)h->maxpins, sizeof *h->pins);
	if (!h->ring || !h->pins)
		abort();
	pthread_mutex_init(&h->mu, NULL);
	struct projection_options po = {.idle_after_ms = opt->idle_after_ms};
	h->proj = projection_new(&po);
	return h;
}

void hub_free(struct hub *h)
{
	if (!h)
		return;
	for (int i = 0; i < h->nloops; i++) {
		struct hub_loop *hl = h->loops[i];
		event_free(hl->wake);
		event_free(hl->beat);
		event_free(hl->retry);
		for (struct sub *s = hl->subs, *n; s; s = n) {
			n = s->next;
			free(s);
		}
		free(hl);
	}
	for (size_t i = 0; i < h->ring_n; i++)
		msg_release(h->ring[(h->ring_head + i) % h->opt.ring]);
	snap_release(h->cur);
	for (int i = 0; i < h->npins; i++)
		snap_release(h->pins[i]);
	free(h->ring);
	free(h->pins);
	projection_free(h->proj);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

/* --- the writer's side */

int hub_apply(struct hub *h, const struct event *ev, struct perr *err)
{
	pthread_mutex_lock(&h->mu);
	int rc = projection_apply(h->proj, ev, err);
	pthread_mutex_unlock(&h->mu);
	return rc;
}

void hub_publish(struct hub *h)
{
	struct hub_loop *wake[MAX_LOOPS];
	int n;
	pthread_mutex_lock(&h->mu);
	long long v = projection_version(h->proj);
	if (v == h->published) {
		pthread_mutex_unlock(&h->mu);
		return;
	}
	struct buf b = BUF_INIT;
	buf_printf(&b, "id: %lld\nevent: delta\ndata: ", v);
	projection_write_delta(h->proj, &b);
	buf_puts(&b, "\n\n");
	struct msg *m = calloc(1, sizeof *m);
	if (!m)
		abort();
	atomic_init(&m->refs, 1);
	m->from = h->published;
	m->version = v;
	m->data = buf_detach(&b, &m->len);
	if (h->ring_n == h->opt.ring) {
		msg_release(h->ring[h->ring_head]);
		h->ring_head = (h->ring_head + 1) % h->opt.ring;
		h->ring_n--;
	}
	h->ring[(h->ring_head + h->ring_n++) % h->opt.ring] = m;
	h->published = v;
	n = h->nloops;
	memcpy(wake, h->loops, (size_t)n * sizeof *wake);
	pthread_mutex_unlock(&h->mu);
	atomic_fetch_add(&h->npublished, 1);
	for (int i = 0; i < n; i++)
		event_active(wake[i]->wake, EV_READ, 0);
}

void hub_settle(struct hub *h)
{
	pthread_mutex_lock(&h->mu);
	projection_forget_changes(h->proj);
	h->published = projection_version(h->proj);
	pthread_mutex_unlock(&h->mu);
}

/* --- snapshots */

long long hub_version(struct hub *h)
{
	pthread_mutex_lock(&h->mu);
	long long v = projection_version(h->proj);
	pthread_mutex_unlock(&h->mu);
	return v;
}

static struct snap *snapshot_locked(struct hub *h)
{
	long long v = projection_version(h->proj);
	if (h->cur && h->cur->version == v) {
		atomic_fetch_add(&h->cur->refs, 1);
		return h->cur;
	}
	struct snap *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	struct buf b = BUF_INIT;
	projection_write(h->proj, &b, &s->ix);
	buf_putc(&b, '\n');
	s->data = buf_detach(&b, &s->len);
	s->version = v;
	snprintf(s->etag, sizeof s->etag, "\"v%lld\"", v);
	atomic_init(&s->refs, 2); /* the cache's and the caller's */
	/* A superseded version stays only if a cursor points at it (pinned). */
	snap_release(h->cur);
	h->cur = s;
	return s;
}

struct snap *hub_snapshot(struct hub *h)
{
	pthread_mutex_lock(&h->mu);
	struct snap *s = snapshot_locked(h);
	pthread_mutex_unlock(&h->mu);
	return s;
}

/* Makes pins[i] the most recently used pin. Hub locked. */
static void pin_touch(struct hub *h, int i)
{
	struct snap *s = h->pins[i];
	memmove(h->pins + i, h->pins + i + 1, (size_t)(h->npins - i - 1) * sizeof *h->pins);
	h->pins[h->npins - 1] = s;
}

void hub_snapshot_pin(struct hub *h, struct snap *s)
{
	pthread_mutex_lock(&h->mu);
	for (int i = 0; i < h->npins; i++)
		if (h->pins[i] == s) {
			pin_touch(h, i);
			pthread_mutex_unlock(&h->mu);
			return;
		}
	if (h->npins == h->maxpins) {
		snap_release(h->pins[0]);
		memmove(h->pins, h->pins + 1, (size_t)(h->npins - 1) * sizeof *h->pins);
		h->npins--;
	}
	atomic_fetch_add(&s->refs, 1);
	h->pins[h->npins++] = s;
	pthread_mutex_unlock(&h->mu);
}

struct snap *hub_snapshot_at(struct hub *h, long long version)
{
	struct snap *found = NULL;
	pthread_mutex_lock(&h->mu);
	for (int i = 0; i < h->npins && !found; i++)
		if (h->pins[i]->version == version) {
			found = h->pins[i];
			pin_touch(h, i);
		}
	if (!found && h->cur && h->cur->version == version)
		found = h->cur;
	if (found)
		atomic_fetch_add(&found->refs, 1);
	pthread_mutex_unlock(&h->mu);
	return found;
}

/* --- streams (loop threads) */

/* Sends the current snapshot to s as one "snapshot" message. Hub locked. */
static void send_snapshot(struct hub *h, struct sub *s)
{
	struct snap *sn = snapshot_locked(h);
	struct buf head = BUF_INIT;
	buf_printf(&head, "id: %lld\nevent: snapshot\ndata: ", sn->version);
	size_t hl;
	char *hd = buf_detach(&head, &hl);
	http_stream_write(s->c, hd, hl, free_done, hd);
	/* The snapshot ends in '\n'; one more ends the message. */
	http_stream_write(s->c, sn->data, sn->len, snap_done, sn);
	http_stream_write(s->c, "\n", 1, NULL, NULL);
	s->last = sn->version;
}

/* Whether the kept deltas continue from `last` without a gap. Hub locked. */
static int ring_covers(const struct hub *h, long long last)
{
	if (last == h->published)
		return 1;
	if (h->ring_n == 0 || last > h->published)
		return 0;
	return last >= h->ring[h->ring_head]->from;
}

/* Brings s up to date, or notes that it is too slow. Hub locked. Returns -1
 * when s must be dropped, 1 when it was skipped for now. */
static int deliver(struct hub *h, struct sub *s, long long now_us)
{
	if (s->cut || (s->last >= h->published && s->last <= projection_version(h->proj)))
		return 0;
	if (http_stream_pending(s->c) > h->opt.max_pending_bytes) {
		if (!s->slow_since_us)
			s->slow_since_us = now_us;
		else if (now_us - s->slow_since_us > (long long)h->opt.slow_drop_ms * 1000)
			return -1;
		return 1;
	}
	s->slow_since_us = 0;
	if (!ring_covers(h, s->last)) {
		send_snapshot(h, s);
		atomic_fetch_add(&h->resyncs, 1);
	}
	for (size_t i = 0; i < h->ring_n; i++) {
		struct msg *m = h->ring[(h->ring_head + i) % h->opt.ring];
		if (m->version <= s->last)
			continue;
		atomic_fetch_add(&m->refs, 1);
		http_stream_write(s->c, m->data, m->len, msg_done, m);
		s->last = m->version;
	}
	return 0;
}

/* Takes out every subscriber that is gone, dropped or closing, and ends their
 * streams once the hub is unlocked. */
static void sweep(struct hub_loop *hl, int deliver_too)
{
	struct hub *h = hl->h;
	struct sub *ended = NULL;
	long long now = clock_mono_us();
	int closing = atomic_load(&h->closing);
	int skipped = 0;
	pthread_mutex_lock(&h->mu);
	for (struct sub **pp = &hl->subs; *pp;) {
		struct sub *s = *pp;
		int drop = closing || s->gone || !http_stream_open(s->c);
		if (!drop && s->cut && now - s->cut_at_us > 1000000)
			drop = 1; /* the reset went unnoticed: end it the usual way */
		int r = !drop && deliver_too ? deliver(h, s, now) : 0;
		skipped |= r > 0;
		if (r < 0) {
			/* Cut off rather than ended: an end would wait for the
			 * client to read what is queued. Its close hook then
			 * takes it out like a client that left. */
			s->cut = 1;
			s->cut_at_us = now;
			http_stream_abort(s->c);
			atomic_fetch_add(&h->dropped, 1);
		}
		if (drop) {
			*pp = s->next;
			s->next = ended;
			ended = s;
		} else {
			pp = &s->next;
		}
	}
	pthread_mutex_unlock(&h->mu);
	/* A skipped subscriber gets what it missed once it has read enough,
	 * or is dropped on time, without waiting for the next event. */
	if (skipped && !closing && !event_pending(hl->retry, EV_TIMEOUT, NULL)) {
		struct timeval tv = {0, 100000};
		event_add(hl->retry, &tv);
	}
	for (struct sub *s = ended, *n; s; s = n) {
		n = s->next;
		http_stream_end(s->c);
		atomic_fetch_sub(&h->subscribers, 1);
		free(s);
	}
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	sweep(arg, 1);
}

static void on_beat(evutil_socket_t fd, short what, void *arg)
{
	struct hub_loop *hl = arg;
	for (struct sub *s = hl->subs; s; s = s->next)
		if (http_stream_open(s->c) && http_stream_pending(s->c) < sizeof keepalive * 4)
			http_stream_write(s->c, keepalive, sizeof keepalive - 1, NULL, NULL);
	sweep(hl, 1);
}

static void on_gone(struct http_ctx *c, void *arg)
{
	struct sub *s = arg;
	s->gone = 1;
	event_active(s->hl->wake, EV_READ, 0);
}

/* The hub's presence on the loop that runs `base`. Hub locked. */
static struct hub_loop *loop_for(struct hub *h, struct event_base *base)
{
	for (int i = 0; i < h->nloops; i++)
		if (h->loops[i]->base == base)
			return h->loops[i];
	if (h->nloops == MAX_LOOPS)
		return NULL;
	struct hub_loop *hl = calloc(1, sizeof *hl);
	if (!hl)
		abort();
	hl->h = h;
	hl->base = base;
	hl->wake = event_new(base, -1, EV_READ, on_wake, hl);
	hl->beat = event_new(base, -1, EV_PERSIST, on_beat, hl);
	hl->retry = event_new(base, -1, 0, on_wake, hl);
	struct timeval tv = {h->opt.heartbeat_ms / 1000, (h->opt.heartbeat_ms % 1000) * 1000};
	event_add(hl->beat, &tv);
	h->loops[h->nloops++] = hl;
	return hl;
}

void hub_subscribe(struct hub *h, struct http_ctx *c, int has_last, long long last_id)
{
	pthread_mutex_lock(&h->mu);
	struct hub_loop *hl = atomic_load(&h->closing) ? NULL : loop_for(h, c->base);
	if (!hl) {
		pthread_mutex_unlock(&h->mu);
		http_reply_error(c, 503, "unavailable", NULL,
				 "the server is shutting down; reconnect to another instance");
		return;
	}
	struct sub *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	s->c = c;
	s->hl = hl;
	http_header(c, "Content-Type", "text/event-stream");
	http_stream_start(c, NULL);
	http_stream_on_close(c, on_gone, s);
	static const char hello[] = "retry: 2000\n\n";
	http_stream_write(c, hello, sizeof hello - 1, NULL, NULL);
	if (has_last && last_id >= 0 && ring_covers(h, last_id) &&
	    last_id <= projection_version(h->proj)) {
		s->last = last_id;
		deliver(h, s, clock_mono_us());
	} else {
		if (has_last) /* asked to resume from a position no longer covered */
			atomic_fetch_add(&h->resyncs, 1);
		send_snapshot(h, s);
	}
	s->next = hl->subs;
	hl->subs = s;
	atomic_fetch_add(&h->subscribers, 1);
	pthread_mutex_unlock(&h->mu);
}

void hub_close_streams(struct hub *h)
{
	atomic_store(&h->closing, 1);
	pthread_mutex_lock(&h->mu);
	for (int i = 0; i < h->nloops; i++)
		event_active(h->loops[i]->wake, EV_READ, 0);
	pthread_mutex_unlock(&h->mu);
}

void hub_stats(struct hub *h, struct hub_stats *out)
{
	out->subscribers = (size_t)atomic_load(&h->subscribers);
	out->dropped = atomic_load(&h->dropped);
	out->resyncs = atomic_load(&h->resyncs);
	out->published = atomic_load(&h->npublished);
	out->version = hub_version(h);
}
