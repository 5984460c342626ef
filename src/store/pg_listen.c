/* pg_listen: the LISTEN side of event fan-out across replicas. Every commit
 * that stores events notifies PG_NOTIFY_CHANNEL with "<schema>:<last seq>"
 * (pg_commit); a replica's listener thread holds one extra connection that
 * LISTENs there and, for each notification of its own schema, calls the
 * wake function its writer gave, which then scans the log from its
 * version. A lost connection is made again with a growing pause, and wake
 * is called once after each reconnect, since notifications sent while it
 * was gone are not replayed. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/pg.h"
#include "util/log.h"

struct pg_listener {
	pthread_t tid;
	struct pg_store *s;
	void (*wake)(void *arg);
	void *arg;
	int stop[2]; /* a pipe: a byte on it ends the thread */
};

static int stopping(struct pg_listener *l, int ms)
{
	struct pollfd p = {.fd = l->stop[0], .events = POLLIN};
	return poll(&p, 1, ms) > 0;
}

/* One connection's life: LISTEN, then wake on each notification of our
 * schema until the connection breaks (0) or a stop is asked (1). */
static int listen_on(struct pg_listener *l, PGconn *conn)
{
	PGresult *r = PQexec(conn, "SELECT coalesce(current_schema(), '')");
	char prefix[160] = "";
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		snprintf(prefix, sizeof prefix, "%s:", PQgetvalue(r, 0, 0));
	PQclear(r);
	r = PQexec(conn, "LISTEN " PG_NOTIFY_CHANNEL);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok || !prefix[0])
		return 0;
	l->wake(l->arg); /* whatever was committed before LISTEN took effect */
	size_t plen = strlen(prefix);
	for (;;) {
		struct pollfd p[2] = {{.fd = PQsocket(conn), .events = POLLIN},
				      {.fd = l->stop[0], .events = POLLIN}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if (p[1].revents)
			return 1;
		if (!PQconsumeInput(conn))
			return 0;
		int ours = 0;
		PGnotify *n;
		while ((n = PQnotifies(conn))) {
			ours |= strncmp(n->extra, prefix, plen) == 0;
			PQfreemem(n);
		}
		if (ours)
			l->wake(l->arg);
	}
}

static void *listener_main(void *arg)
{
	struct pg_listener *l = arg;
	int pause_ms = 100;
	for (;;) {
		char why[224];
		PGconn *conn = pg_connect(l->s, why, sizeof why);
		int stop = 0;
		if (conn) {
			pause_ms = 100;
			stop = listen_on(l, conn);
			PQfinish(conn);
			if (!stop)
				log_emit(LOG_WARN, "lost the event notifications; connecting again",
					 NULL);
		} else {
			log_emit(LOG_WARN, "cannot listen for events from other replicas",
				 json_pack("{s:s}", "reason", why));
		}
		if (stop || stopping(l, pause_ms))
			break;
		pause_ms = pause_ms < 5000 ? pause_ms * 2 : 5000;
	}
	return NULL;
}

static void listener_stop(struct pg_store *s)
{
	struct pg_listener *l = s->listener;
	if (!l)
		return;
	s->listener = NULL;
	ssize_t w = write(l->stop[1], "x", 1);
	(void)w;
	pthread_join(l->tid, NULL);
	close(l->stop[0]);
	close(l->stop[1]);
	free(l);
}

int pg_events_listen(void *impl, void (*wake)(void *arg), void *arg, struct perr *err)
{
	struct pg_store *s = impl;
	listener_stop(s);
	if (!wake)
		return 0;
	struct pg_listener *l = calloc(1, sizeof *l);
	if (!l)
		abort();
	l->s = s;
	l->wake = wake;
	l->arg = arg;
	if (pipe(l->stop) < 0) {
		free(l);
		return perr_set(err, PERR_INTERNAL, NULL, "cannot make the listener's pipe");
	}
	if (pthread_create(&l->tid, NULL, listener_main, l) != 0) {
		close(l->stop[0]);
		close(l->stop[1]);
		free(l);
		return perr_set(err, PERR_INTERNAL, NULL, "cannot start the listener thread");
	}
	s->listener = l;
	return 0;
}

void pg_listen_close(struct pg_store *s)
{
	listener_stop(s);
}
