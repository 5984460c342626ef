/* soak_client: the load side of bench/soak.sh. On one event loop it holds
 * CLIENTS server-sent-event streams open on /api/v1/stream (reconnecting
 * with Last-Event-ID when one drops), posts NDJSON batches of events with
 * unique ids at a fixed rate, and reads the API and pages at a fixed rate,
 * for SECONDS. Session listings are walked to their end by cursor, two at
 * a time (the server keeps the versions of seven). Then it checks:
 *   - every request answered 2xx (a socket error, a timeout or any other
 *     status is a failure);
 *   - every stream saw message ids strictly rising (nothing twice, nothing
 *     out of order), and each delta accounted for exactly the events of its
 *     seq range: every event adds one to its project's "events", so the sum
 *     of the per-project increases in a delta covering (last, id] must be
 *     id - last. A lost event leaves it short, a repeated one long;
 *   - at the end every stream stands at the server's final version with the
 *     same per-project counts as the final snapshot, so every acknowledged
 *     event reached every stream.
 * The streams run on STREAM_THREADS loops of their own, so reading them does
 * not delay the requests' answers on the main loop.
 * Acknowledged events go to OUTDIR/acked.tsv (id, seq) for the log check.
 * Prints key=value figures; exits 1 when a check fails.
 * Usage: soak_client PORT TOKEN CLIENTS RATE BATCH READ_RATE SECONDS OUTDIR */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>

#include <jansson.h>

#define MAX_PROJECTS 64
#define INGEST_CONNS 8
#define READ_CONNS 16
#define SESSIONS 200    /* the soak's sessions, spread over PROJECTS projects */
#define PROJECTS 8
#define STREAM_THREADS 2
#define PAGERS 2        /* concurrent session listings, each walked to its end */

static int port, nclients, rate, batch, read_rate, seconds;
static const char *token;
static struct event_base *base;
static FILE *acked_out;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- project names: one table for all streams */

static char *proj_names[MAX_PROJECTS];
static int nproj;
static pthread_mutex_t proj_mu = PTHREAD_MUTEX_INITIALIZER;

static int proj_index(const char *name, size_t len)
{
	pthread_mutex_lock(&proj_mu);
	int i;
	for (i = 0; i < nproj; i++)
		if (strlen(proj_names[i]) == len && memcmp(proj_names[i], name, len) == 0)
			break;
	if (i == nproj) {
		if (nproj == MAX_PROJECTS) {
			fprintf(stderr, "soak: more than %d projects\n", MAX_PROJECTS);
			exit(2);
		}
		proj_names[nproj++] = strndup(name, len);
	}
	pthread_mutex_unlock(&proj_mu);
	return i;
}

/* Calls fn(index, events) for every project record of a snapshot or delta:
 * the records between "projects":[ and ],"sessions":[. Each begins with
 * {"name":" and holds its count as },"events":N (after the proposals
 * object; a session's "events" follows a string or null, never a brace).
 * Returns -1 when the message has no projects list. */
static int each_project(const char *data, size_t len, void (*fn)(int, long long, void *), void *arg)
{
	const char *end = data + len;
	const char *p = memmem(data, len, "\"projects\":[", 12);
	if (!p)
		return -1;
	const char *stop = memmem(p, (size_t)(end - p), "],\"sessions\":[", 14);
	if (!stop)
		return -1;
	for (;;) {
		const char *r = memmem(p, (size_t)(stop - p), "{\"name\":\"", 9);
		if (!r)
			break;
		r += 9;
		const char *q = memchr(r, '"', (size_t)(stop - r));
		if (!q)
			return -1;
		int i = proj_index(r, (size_t)(q - r));
		const char *e = memmem(q, (size_t)(stop - q), "},\"events\":", 11);
		if (!e)
			return -1;
		fn(i, strtoll(e + 11, NULL, 10), arg);
		p = e + 11;
	}
	return 0;
}

/* --- streams */

enum phase { HEAD_STATUS, HEAD_FIELDS, CHUNK_SIZE, CHUNK_DATA, CHUNK_END };

struct sse {
	int idx;
	struct event_base *base; /* its thread's loop */
	struct bufferevent *bev;
	enum phase phase;
	size_t chunk_left;
	struct evbuffer *text; /* decoded stream bytes not yet split into lines */
	/* the message being read */
	long long msg_id;
	int msg_has_id, msg_kind; /* 1 snapshot, 2 delta, 0 other */
	char *msg_data;
	size_t msg_len;
	/* what the stream has shown so far (last is read by the main thread) */
	long long last;
	int have_state;
	long long counts[MAX_PROJECTS];
	long long first_version;
	/* findings */
	long long deltas, delivered, order_errors, account_errors, snapshots;
	int reconnects, resyncs, bad_status, connected;
};

static struct sse *clients;
static int nsnapshotted; /* streams that have their first snapshot */
static long long total_reconnects;

static void sse_connect(struct sse *s);

static void set_count(int i, long long v, void *arg)
{
	struct sse *s = arg;
	s->counts[i] = v;
}

struct acc {
	struct sse *s;
	long long sum;
	int bad;
};

static void add_delta(int i, long long v, void *arg)
{
	struct acc *a = arg;
	if (v < a->s->counts[i])
		a->bad = 1;
	a->sum += v - a->s->counts[i];
	a->s->counts[i] = v;
}

static void dispatch(struct sse *s)
{
	if (!s->msg_kind || !s->msg_has_id || !s->msg_data)
		return;
	long long id = s->msg_id;
	if (s->msg_kind == 1) {
		memset(s->counts, 0, sizeof s->counts);
		if (each_project(s->msg_data, s->msg_len, set_count, s) < 0)
			s->account_errors++;
		if (s->have_state) {
			s->resyncs++;
			if (id < s->last)
				s->order_errors++;
		} else {
			s->first_version = id;
			__atomic_add_fetch(&nsnapshotted, 1, __ATOMIC_SEQ_CST);
		}
		s->have_state = 1;
		__atomic_store_n(&s->last, id, __ATOMIC_SEQ_CST);
		s->snapshots++;
		return;
	}
	if (!s->have_state || id <= s->last) {
		if (s->order_errors++ < 3)
			fprintf(stderr, "soak: stream %d: delta %lld after %lld\n", s->idx, id, s->last);
		return;
	}
	struct acc a = {s, 0, 0};
	if (each_project(s->msg_data, s->msg_len, add_delta, &a) < 0 || a.bad ||
	    a.sum != id - s->last) {
		if (s->account_errors++ < 3)
			fprintf(stderr, "soak: stream %d: delta (%lld, %lld] carries %lld events\n",
				s->idx, s->last, id, a.sum);
	}
	s->delivered += id - s->last;
	__atomic_store_n(&s->last, id, __ATOMIC_SEQ_CST);
	s->deltas++;
}

/* Splits decoded text into SSE lines; a blank line ends a message. */
static void sse_lines(struct sse *s)
{
	size_t n;
	char *line;
	while ((line = evbuffer_readln(s->text, &n, EVBUFFER_EOL_LF))) {
		if (n == 0) {
			dispatch(s);
			free(s->msg_data);
			s->msg_data = NULL;
			s->msg_len = 0;
			s->msg_kind = s->msg_has_id = 0;
		} else if (strncmp(line, "id: ", 4) == 0) {
			s->msg_id = strtoll(line + 4, NULL, 10);
			s->msg_has_id = 1;
		} else if (strncmp(line, "event: ", 7) == 0) {
			s->msg_kind = strcmp(line + 7, "snapshot") == 0 ? 1 : strcmp(line + 7, "delta") == 0 ? 2 : 0;
		} else if (strncmp(line, "data: ", 6) == 0) {
			free(s->msg_data);
			s->msg_len = n - 6;
			s->msg_data = malloc(s->msg_len + 1);
			memcpy(s->msg_data, line + 6, s->msg_len + 1);
		}
		free(line);
	}
}

static void sse_drop(struct sse *s, const char *why);

static void sse_read(struct bufferevent *bev, void *arg)
{
	struct sse *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	for (;;) {
		size_t n;
		char *line;
		switch (s->phase) {
		case HEAD_STATUS:
			if (!(line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)))
				goto lines;
			if (strncmp(line, "HTTP/1.1 200 ", 13) != 0) {
				fprintf(stderr, "soak: stream %d answered: %s\n", s->idx, line);
				s->bad_status++;
				free(line);
				sse_drop(s, NULL);
				return;
			}
			free(line);
			s->phase = HEAD_FIELDS;
			break;
		case HEAD_FIELDS:
			if (!(line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)))
				goto lines;
			if (n == 0)
				s->phase = CHUNK_SIZE;
			free(line);
			break;
		case CHUNK_SIZE:
			if (!(line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)))
				goto lines;
			s->chunk_left = strtoul(line, NULL, 16);
			free(line);
			if (s->chunk_left == 0) {
				sse_drop(s, "the server ended the stream");
				return;
			}
			s->phase = CHUNK_DATA;
			break;
		case CHUNK_DATA: {
			size_t have = evbuffer_get_length(in);
			if (!have)
				goto lines;
			size_t take = have < s->chunk_left ? have : s->chunk_left;
			evbuffer_remove_buffer(in, s->text, take);
			s->chunk_left -= take;
			if (!s->chunk_left)
				s->phase = CHUNK_END;
			break;
		}
		case CHUNK_END:
			if (evbuffer_get_length(in) < 2)
				goto lines;
			evbuffer_drain(in, 2);
			s->phase = CHUNK_SIZE;
			break;
		}
	}
lines:
	sse_lines(s);
}

static void sse_event(struct bufferevent *bev, short what, void *arg)
{
	struct sse *s = arg;
	if (what & BEV_EVENT_CONNECTED) {
		s->connected = 1;
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		sse_drop(s, what & BEV_EVENT_EOF ? "end of stream" : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void sse_retry(evutil_socket_t fd, short w, void *arg)
{
	sse_connect(arg);
}

static int stopping;

/* A stream went away: note it, and come back with Last-Event-ID. */
static void sse_drop(struct sse *s, const char *why)
{
	int stop = __atomic_load_n(&stopping, __ATOMIC_SEQ_CST);
	if (why && !stop && s->reconnects < 3)
		fprintf(stderr, "soak: stream %d dropped (%s) at version %lld\n", s->idx, why, s->last);
	bufferevent_free(s->bev);
	s->bev = NULL;
	if (stop)
		return;
	s->reconnects++;
	__atomic_add_fetch(&total_reconnects, 1, __ATOMIC_SEQ_CST);
	event_base_once(s->base, -1, EV_TIMEOUT, sse_retry, s, &(struct timeval){0, 200000});
}

static void sse_connect(struct sse *s)
{
	s->phase = HEAD_STATUS;
	s->msg_kind = s->msg_has_id = 0;
	free(s->msg_data);
	s->msg_data = NULL;
	if (!s->text)
		s->text = evbuffer_new();
	evbuffer_drain(s->text, evbuffer_get_length(s->text));
	s->bev = bufferevent_socket_new(s->base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(s->bev, sse_read, NULL, sse_event, s);
	bufferevent_enable(s->bev, EV_READ);
	struct evbuffer *out = bufferevent_get_output(s->bev);
	evbuffer_add_printf(out,
			    "GET /api/v1/stream HTTP/1.1\r\nHost: soak\r\nAccept: text/event-stream\r\n"
			    "Authorization: Bearer %s\r\n",
			    token);
	if (s->have_state)
		evbuffer_add_printf(out, "Last-Event-ID: %lld\r\n", s->last);
	evbuffer_add(out, "\r\n", 2);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (bufferevent_socket_connect(s->bev, (struct sockaddr *)&a, sizeof a) < 0) {
		sse_drop(s, "connect failed");
		return;
	}
	int one = 1;
	setsockopt(bufferevent_getfd(s->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void keep_alive_cb(evutil_socket_t fd, short w, void *arg)
{
}

struct stream_thread {
	pthread_t t;
	struct event_base *base;
	int from, to; /* its streams: clients[from, to) */
};

/* Opens its streams a hundred at a time, then serves them until told to stop. */
static void *stream_thread_run(void *arg)
{
	struct stream_thread *st = arg;
	struct event *idle = event_new(st->base, -1, EV_PERSIST, keep_alive_cb, NULL);
	event_add(idle, &(struct timeval){1, 0});
	for (int i = st->from; i < st->to; i++) {
		clients[i].idx = i;
		clients[i].base = st->base;
		sse_connect(&clients[i]);
		if ((i - st->from) % 100 == 99) {
			event_base_loopexit(st->base, &(struct timeval){0, 50000});
			event_base_dispatch(st->base);
		}
	}
	event_base_dispatch(st->base);
	event_free(idle);
	return NULL;
}

/* --- requests: ingest and reads on keep-alive connections */

struct conn {
	struct evhttp_connection *c;
	int busy;
	struct pager *pager;
	double sent_at;
	char what[160];
	long long first; /* ingest: the batch's number */
};

static struct conn ingest[INGEST_CONNS], readers[READ_CONNS];
static long long ingest_sent, ingest_ok, ingest_failed, events_acked, max_seq, min_seq = -1;
static long long reads_sent, reads_ok, reads_failed, reads_bytes;
static double *lat_ingest, *lat_read;
static size_t nlat_ingest, nlat_read, cap_lat_ingest, cap_lat_read;
static double t_start;
static int load_on;
struct pager {
	int busy;
	const char *list; /* the listing being walked */
	char cursor[64];  /* its next_cursor, followed on the pager's next read */
};
static struct pager pagers[PAGERS];
static long long listings;

static void lat_push(double **v, size_t *n, size_t *cap, double x)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 4096;
		*v = realloc(*v, *cap * sizeof **v);
	}
	(*v)[(*n)++] = x;
}

static int failure_notes;

static int answered(struct evhttp_request *req, struct conn *k, const char *kind)
{
	int code = req ? evhttp_request_get_response_code(req) : 0;
	if (code >= 200 && code < 300)
		return 1;
	if (failure_notes++ < 10) {
		char body[200] = "";
		if (req) {
			struct evbuffer *b = evhttp_request_get_input_buffer(req);
			size_t n = evbuffer_get_length(b);
			if (n > sizeof body - 1)
				n = sizeof body - 1;
			evbuffer_copyout(b, body, n);
			body[n] = 0;
		}
		fprintf(stderr, "soak: %s %s failed after %.0f ms: %s %s\n", kind, k->what,
			(now_s() - k->sent_at) * 1e3, code ? "status" : "socket error or timeout", body);
	}
	return 0;
}

static void ingest_done(struct evhttp_request *req, void *arg)
{
	struct conn *k = arg;
	k->busy = 0;
	if (!answered(req, k, "POST")) {
		ingest_failed++;
		return;
	}
	lat_push(&lat_ingest, &nlat_ingest, &cap_lat_ingest, (now_s() - k->sent_at) * 1e3);
	struct evbuffer *b = evhttp_request_get_input_buffer(req);
	json_error_t je;
	json_t *doc = json_loadb((const char *)evbuffer_pullup(b, -1), evbuffer_get_length(b), 0, &je);
	json_t *evs = doc ? json_object_get(doc, "events") : NULL;
	if (!json_is_array(evs) || json_array_size(evs) != (size_t)batch) {
		fprintf(stderr, "soak: batch %lld: unexpected answer\n", k->first);
		ingest_failed++;
		json_decref(doc);
		return;
	}
	for (size_t i = 0; i < json_array_size(evs); i++) {
		json_t *e = json_array_get(evs, i);
		char want[64];
		snprintf(want, sizeof want, "soak-%d-%lld-%zu", getpid(), k->first, i);
		const char *id = json_string_value(json_object_get(e, "id"));
		long long seq = json_integer_value(json_object_get(e, "seq"));
		if (!id || strcmp(id, want) != 0 || json_is_true(json_object_get(e, "duplicate")) || seq <= 0) {
			fprintf(stderr, "soak: batch %lld: event %zu acknowledged wrongly\n", k->first, i);
			ingest_failed++;
			json_decref(doc);
			return;
		}
		fprintf(acked_out, "%s\t%lld\n", id, seq);
		if (seq > max_seq)
			max_seq = seq;
		if (min_seq < 0 || seq < min_seq)
			min_seq = seq;
	}
	events_acked += batch;
	ingest_ok++;
	json_decref(doc);
}

static struct evhttp_request *request_new(void (*cb)(struct evhttp_request *, void *), struct conn *k)
{
	struct evhttp_request *req = evhttp_request_new(cb, k);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char auth[256];
	snprintf(auth, sizeof auth, "Bearer %s", token);
	evhttp_add_header(h, "Host", "soak");
	evhttp_add_header(h, "Authorization", auth);
	return req;
}

static void ingest_send(struct conn *k, long long n)
{
	struct evhttp_request *req = request_new(ingest_done, k);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/x-ndjson");
	struct evbuffer *body = evhttp_request_get_output_buffer(req);
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	long long ms = (long long)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
	/* One session per batch, so a delta stays small whatever the rate. */
	int session = (int)(n % SESSIONS);
	for (int i = 0; i < batch; i++)
		evbuffer_add_printf(body,
				    "{\"id\":\"soak-%d-%lld-%d\",\"type\":\"session.tool\",\"project\":\"soak-%d\","
				    "\"session\":\"soak-s%d\",\"ts\":%lld,\"data\":{\"tool\":\"bash\",\"family\":\"shell\"}}\n",
				    getpid(), n, i, session % PROJECTS, session, ms);
	k->busy = 1;
	k->first = n;
	k->sent_at = now_s();
	snprintf(k->what, sizeof k->what, "/api/v1/events (batch %lld)", n);
	ingest_sent++;
	if (evhttp_make_request(k->c, req, EVHTTP_REQ_POST, "/api/v1/events") < 0) {
		k->busy = 0;
		ingest_failed++;
	}
}

static const char *const read_paths[] = {
	"/api/v1/projection",
	"/api/v1/projection/sessions?limit=50",
	"/api/v1/proposals",
	"/operator",
	"/api/v1/projection/sessions?project=soak-3&limit=10",
	"/proposals",
	"/api/v1/proposals?state=submitted",
	"/projects/soak-1",
	"/sessions/soak-s7",
	"/projects/atlas",
};
#define NPATHS (sizeof read_paths / sizeof read_paths[0])
static long long read_failed_by_path[NPATHS + 1];

static void read_done(struct evhttp_request *req, void *arg)
{
	struct conn *k = arg;
	k->busy = 0;
	if (k->pager)
		k->pager->busy = 0;
	int slot = (int)k->first;
	if (!answered(req, k, "GET")) {
		reads_failed++;
		read_failed_by_path[slot]++;
		if (k->pager)
			k->pager->cursor[0] = 0;
		return;
	}
	lat_push(&lat_read, &nlat_read, &cap_lat_read, (now_s() - k->sent_at) * 1e3);
	reads_ok++;
	struct evbuffer *b = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(b);
	reads_bytes += (long long)len;
	if (k->pager) { /* a sessions page: its next_cursor is the listing's next page */
		struct pager *pg = k->pager;
		const char *body = (const char *)evbuffer_pullup(b, -1);
		const char *c = memmem(body, len, "\"next_cursor\":\"", 15);
		pg->cursor[0] = 0;
		if (c) {
			c += 15;
			const char *q = memchr(c, '"', len - (size_t)(c - body));
			if (q && q - c < (long)sizeof pg->cursor) {
				memcpy(pg->cursor, c, (size_t)(q - c));
				pg->cursor[q - c] = 0;
			}
		}
	}
}

static void read_send(struct conn *k, long long n)
{
	char path[160];
	int slot = (int)(n % NPATHS);
	k->pager = NULL;
	if (slot == 1 || slot == 4) { /* a free pager: its listing's next page, or a new listing */
		static int turn; /* in turn, so no listing waits behind the others */
		for (int i = 0; i < PAGERS && !k->pager; i++)
			if (!pagers[(turn + i) % PAGERS].busy) {
				k->pager = &pagers[(turn + i) % PAGERS];
				turn = (turn + i + 1) % PAGERS;
			}
		if (!k->pager)
			slot = 0; /* every listing has a page in flight: read the snapshot */
	}
	if (k->pager && k->pager->cursor[0]) {
		snprintf(path, sizeof path, "%s&cursor=%s", k->pager->list, k->pager->cursor);
		slot = NPATHS; /* a page after the first */
	} else if (k->pager) {
		slot = listings++ % 2 ? 4 : 1;
		k->pager->list = read_paths[slot];
		snprintf(path, sizeof path, "%s", read_paths[slot]);
	} else {
		snprintf(path, sizeof path, "%s", read_paths[slot]);
	}
	if (k->pager)
		k->pager->busy = 1;
	struct evhttp_request *req = request_new(read_done, k);
	k->busy = 1;
	k->first = slot;
	k->sent_at = now_s();
	snprintf(k->what, sizeof k->what, "%s", path);
	reads_sent++;
	if (evhttp_make_request(k->c, req, EVHTTP_REQ_GET, path) < 0) {
		k->busy = 0;
		reads_failed++;
	}
}

static struct conn *idle_conn(struct conn *v, int n)
{
	for (int i = 0; i < n; i++)
		if (!v[i].busy)
			return &v[i];
	return NULL;
}

static int busy_conns(void)
{
	int n = 0;
	for (int i = 0; i < INGEST_CONNS; i++)
		n += ingest[i].busy;
	for (int i = 0; i < READ_CONNS; i++)
		n += readers[i].busy;
	return n;
}

static long long ingest_due_max, reads_lag_max;

/* Sends what the schedule says is due; a request waits for a free
 * connection, so a slow server shows as a lag behind the schedule. */
static void pace(evutil_socket_t fd, short w, void *arg)
{
	if (!load_on)
		return;
	double t = now_s() - t_start;
	if (t >= seconds) {
		load_on = 0;
		return;
	}
	long long ingest_due = (long long)(t * rate / batch) + 1;
	struct conn *k;
	while (ingest_sent < ingest_due && (k = idle_conn(ingest, INGEST_CONNS)))
		ingest_send(k, ingest_sent);
	if (ingest_due - ingest_sent > ingest_due_max)
		ingest_due_max = ingest_due - ingest_sent;
	long long reads_due = (long long)(t * read_rate) + 1;
	while (reads_sent < reads_due && (k = idle_conn(readers, READ_CONNS)))
		read_send(k, reads_sent);
	if (reads_due - reads_sent > reads_lag_max)
		reads_lag_max = reads_due - reads_sent;
}

/* --- the end: the server's final truth */

static long long final_version = -1;
static long long final_counts[MAX_PROJECTS];
static int final_ok;

static void set_final(int i, long long v, void *arg)
{
	final_counts[i] = v;
}

static void final_done(struct evhttp_request *req, void *arg)
{
	struct conn *k = arg;
	k->busy = 0;
	if (!answered(req, k, "GET")) {
		reads_failed++;
		return;
	}
	struct evbuffer *b = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(b);
	const char *body = (const char *)evbuffer_pullup(b, -1);
	if (strncmp(body, "{\"version\":", 11) == 0 && each_project(body, len, set_final, NULL) == 0) {
		final_version = strtoll(body + 11, NULL, 10);
		final_ok = 1;
	}
}

/* Tells the script's memory sampler where the load begins and ends. */
static void mark(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (f)
		fclose(f);
}

static void run_for(double secs)
{
	event_base_loopexit(base, &(struct timeval){(long)secs, (long)((secs - (long)secs) * 1e6)});
	event_base_dispatch(base);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void pct(const char *name, double *v, size_t n)
{
	if (!n) {
		printf("%s_p50_ms=- %s_p99_ms=- %s_max_ms=-\n", name, name, name);
		return;
	}
	qsort(v, n, sizeof *v, cmp_d);
	printf("%s_p50_ms=%.2f %s_p99_ms=%.2f %s_max_ms=%.2f\n", name, v[n / 2], name,
	       v[(size_t)(n * 0.99)], name, v[n - 1]);
}

int main(int argc, char **argv)
{
	if (argc != 9) {
		fprintf(stderr, "usage: %s PORT TOKEN CLIENTS RATE BATCH READ_RATE SECONDS OUTDIR\n", argv[0]);
		return 2;
	}
	port = atoi(argv[1]);
	token = argv[2];
	nclients = atoi(argv[3]);
	rate = atoi(argv[4]);
	batch = atoi(argv[5]);
	read_rate = atoi(argv[6]);
	seconds = atoi(argv[7]);
	char path[4096];
	snprintf(path, sizeof path, "%s/acked.tsv", argv[8]);
	if (!(acked_out = fopen(path, "w"))) {
		perror(path);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	base = event_base_new();
	clients = calloc((size_t)nclients, sizeof *clients);

	/* 1. the streams, each until its snapshot */
	double t0 = now_s();
	struct stream_thread st[STREAM_THREADS];
	for (int i = 0; i < STREAM_THREADS; i++) {
		st[i].base = event_base_new();
		st[i].from = nclients * i / STREAM_THREADS;
		st[i].to = nclients * (i + 1) / STREAM_THREADS;
		pthread_create(&st[i].t, NULL, stream_thread_run, &st[i]);
	}
	while (__atomic_load_n(&nsnapshotted, __ATOMIC_SEQ_CST) < nclients && now_s() - t0 < 60)
		usleep(100000);
	printf("streams_open=%d of %d in %.1f s\n", nsnapshotted, nclients, now_s() - t0);
	if (nsnapshotted < nclients)
		return 1;
	long long start_reconnects = __atomic_load_n(&total_reconnects, __ATOMIC_SEQ_CST);

	/* 2. the load */
	for (int i = 0; i < INGEST_CONNS; i++) {
		ingest[i].c = evhttp_connection_base_new(base, NULL, "127.0.0.1", (unsigned short)port);
		evhttp_connection_set_timeout(ingest[i].c, 30);
	}
	for (int i = 0; i < READ_CONNS; i++) {
		readers[i].c = evhttp_connection_base_new(base, NULL, "127.0.0.1", (unsigned short)port);
		evhttp_connection_set_timeout(readers[i].c, 30);
	}
	struct event *tick = event_new(base, -1, EV_PERSIST, pace, NULL);
	event_add(tick, &(struct timeval){0, 2000});
	t_start = now_s();
	load_on = 1;
	mark(argv[8], "load_started");
	double next_note = 60;
	while (load_on) {
		run_for(0.25);
		double t = now_s() - t_start;
		if (t >= next_note) {
			fprintf(stderr, "soak: %.0f s: %lld events acknowledged, %lld reads, %lld failed, %lld reconnects\n",
				t, events_acked, reads_ok, ingest_failed + reads_failed, total_reconnects);
			next_note += 60;
		}
	}
	double load_secs = now_s() - t_start;
	event_del(tick);
	mark(argv[8], "load_ended");
	/* what is in flight finishes */
	double t1 = now_s();
	while (busy_conns() && now_s() - t1 < 60)
		run_for(0.05);
	fflush(acked_out);

	/* 3. the final truth, and every stream brought to it */
	struct conn *k = &readers[0];
	struct evhttp_request *req = request_new(final_done, k);
	k->busy = 1;
	k->sent_at = now_s();
	snprintf(k->what, sizeof k->what, "/api/v1/projection (final)");
	evhttp_make_request(k->c, req, EVHTTP_REQ_GET, "/api/v1/projection");
	while (k->busy)
		run_for(0.05);
	if (!final_ok) {
		fprintf(stderr, "soak: no final snapshot\n");
		return 1;
	}
	double t2 = now_s();
	int caught_up;
	do {
		run_for(0.1);
		caught_up = 0;
		for (int i = 0; i < nclients; i++)
			caught_up += __atomic_load_n(&clients[i].last, __ATOMIC_SEQ_CST) >= final_version;
	} while (caught_up < nclients && now_s() - t2 < 30);
	__atomic_store_n(&stopping, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < STREAM_THREADS; i++) {
		event_base_loopexit(st[i].base, NULL);
		pthread_join(st[i].t, NULL);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;

	long long delivered = 0, deltas = 0, order_errors = 0, account_errors = 0, resyncs = 0,
		  bad_status = 0, count_mismatch = 0, behind = 0, missing = 0;
	for (int i = 0; i < nclients; i++) {
		struct sse *s = &clients[i];
		delivered += s->delivered;
		deltas += s->deltas;
		order_errors += s->order_errors;
		account_errors += s->account_errors;
		resyncs += s->resyncs;
		bad_status += s->bad_status;
		if (s->last != final_version)
			behind++;
		for (int p = 0; p < nproj; p++)
			if (s->counts[p] != final_counts[p]) {
				count_mismatch++;
				break;
			}
		/* every acknowledged seq lies in (first_version, last], covered by deltas */
		if (min_seq >= 0 && (min_seq <= s->first_version || max_seq > s->last))
			missing++;
	}
	long long expected = 0;
	for (int i = 0; i < nclients; i++)
		expected += final_version - clients[i].first_version;

	printf("seconds=%.1f driver_cpu_pct=%.0f\n", load_secs, 100 * cpu / (now_s() - t0));
	printf("requests_sent=%lld requests_failed=%lld\n", ingest_sent + reads_sent,
	       ingest_failed + reads_failed);
	printf("ingest_requests=%lld ingest_failed=%lld events_acked=%lld events_per_s=%.0f schedule_lag_max=%lld\n",
	       ingest_sent, ingest_failed, events_acked, events_acked / load_secs, ingest_due_max);
	printf("acked_seq_min=%lld acked_seq_max=%lld final_version=%lld\n", min_seq, max_seq, final_version);
	printf("reads=%lld reads_failed=%lld reads_per_s=%.0f read_mb=%.0f schedule_lag_max=%lld\n",
	       reads_sent, reads_failed, reads_sent / load_secs, reads_bytes / 1e6, reads_lag_max);
	if (reads_failed) {
		printf("reads_failed_by_path:");
		for (size_t i = 0; i <= NPATHS; i++)
			if (read_failed_by_path[i])
				printf(" %s=%lld", i < NPATHS ? read_paths[i] : "sessions-cursor", read_failed_by_path[i]);
		printf("\n");
	}
	pct("ingest", lat_ingest, nlat_ingest);
	pct("read", lat_read, nlat_read);
	printf("streams=%d deltas=%lld deliveries=%lld expected_deliveries=%lld\n", nclients, deltas,
	       delivered, expected);
	printf("stream_drops=%lld stream_drops_during_load=%lld stream_bad_status=%lld resyncs=%lld\n",
	       total_reconnects, total_reconnects - start_reconnects, bad_status, resyncs);
	printf("order_errors=%lld account_errors=%lld streams_behind=%lld streams_count_mismatch=%lld streams_missing_acked=%lld\n",
	       order_errors, account_errors, behind, count_mismatch, missing);
	fclose(acked_out);
	int ok = ingest_failed + reads_failed == 0 && total_reconnects == 0 && resyncs == 0 &&
		 order_errors == 0 && account_errors == 0 && behind == 0 && count_mismatch == 0 &&
		 missing == 0 && delivered == expected && max_seq <= final_version && events_acked > 0;
	printf("client_checks=%s\n", ok ? "pass" : "FAIL");
	return ok ? 0 : 1;
}
