/* projection: the live truth for machines and for the pages' script.
 * GET /api/v1/projection serves the shared snapshot bytes of the current
 * version (ETag "v<version>"); /projection/sessions pages one pinned version;
 * /stream is the server-sent-event feed of the same truth. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>

#include "api/api.h"
#include "app/app.h"
#include "http/http.h"
#include "live/hub.h"
#include "util/buf.h"

#define SESSIONS_LIMIT_DEFAULT 50
#define SESSIONS_LIMIT_MAX 500

static void snap_done(const void *data, size_t len, void *arg)
{
	snap_release(arg);
}

/* Whether an If-None-Match header names etag (or is "*"). */
static int etag_matches(const char *inm, const char *etag)
{
	if (!inm)
		return 0;
	size_t n = strlen(etag);
	for (const char *p = inm; *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, n) == 0 && (p[n] == 0 || p[n] == ',' || p[n] == ' '))
			return 1;
		while (*p && *p != ',')
			p++;
	}
	return 0;
}

int api_projection(struct http_ctx *c)
{
	struct snap *s = hub_snapshot(c->app->hub);
	http_header(c, "ETag", s->etag);
	http_header(c, "Cache-Control", "no-cache");
	if (etag_matches(http_request_header(c, "If-None-Match"), s->etag)) {
		snap_release(s);
		return http_reply(c, 304, NULL, NULL, 0);
	}
	return http_reply_ref(c, 200, "application/json", s->data, s->len, snap_done, s);
}

long long api_count_parse(const char *v)
{
	if (!v || !*v)
		return -1;
	char *end;
	long long n = strtoll(v, &end, 10);
	return *end || n < 0 ? -1 : n;
}

int api_projection_sessions(struct http_ctx *c)
{
	struct evkeyvalq q;
	memset(&q, 0, sizeof q);
	TAILQ_INIT(&q);
	if (c->query && evhttp_parse_query_str(c->query, &q) < 0)
		return http_reply_error(c, 400, "invalid", "query", "the query string is malformed");
	const char *project = evhttp_find_header(&q, "project");
	const char *status = evhttp_find_header(&q, "status");
	const char *limit_s = evhttp_find_header(&q, "limit");
	const char *cursor = evhttp_find_header(&q, "cursor");
	int rc = 0;
	long long limit = SESSIONS_LIMIT_DEFAULT, version = -1, start = 0;
	int want_status = -1;
	struct snap *s = NULL;

	if (limit_s && ((limit = api_count_parse(limit_s)) < 1 || limit > SESSIONS_LIMIT_MAX)) {
		rc = http_reply_error(c, 400, "invalid", "limit", "limit must be an integer from 1 to %d",
				      SESSIONS_LIMIT_MAX);
		goto out;
	}
	if (status && (want_status = session_status_parse(status)) < 0) {
		rc = http_reply_error(c, 400, "invalid", "status",
				      "status must be one of running, blocked, idle, ended");
		goto out;
	}
	if (cursor) {
		/* "<version>.<position>": the version pins the snapshot. */
		char extra;
		if (sscanf(cursor, "%lld.%lld%c", &version, &start, &extra) != 2 || version < 0 ||
		    start < 0) {
			rc = http_reply_error(c, 400, "invalid", "cursor",
					      "cursor is malformed: pass back next_cursor unchanged");
			goto out;
		}
		if (!(s = hub_snapshot_at(c->app->hub, version))) {
			rc = http_reply_error(c, 410, "cursor_expired", "cursor",
					      "version %lld is no longer kept; list again without a cursor",
					      version);
			goto out;
		}
	} else {
		s = hub_snapshot(c->app->hub);
	}

	struct buf b = BUF_INIT;
	buf_printf(&b, "{\"version\":%lld,\"sessions\":[", s->version);
	size_t i = (size_t)start, n = 0;
	for (; i < s->ix.nsessions && n < (size_t)limit; i++) {
		const struct projection_index_entry *e = &s->ix.sessions[i];
		if (want_status >= 0 && (int)e->status != want_status)
			continue;
		if (project && (!e->project || strcmp(e->project, project) != 0))
			continue;
		if (n++)
			buf_putc(&b, ',');
		buf_append(&b, s->data + e->off, e->len);
	}
	/* Is there anything further that matches? Then hand out a cursor. */
	size_t more = i;
	for (; more < s->ix.nsessions; more++) {
		const struct projection_index_entry *e = &s->ix.sessions[more];
		if ((want_status < 0 || (int)e->status == want_status) &&
		    (!project || (e->project && strcmp(e->project, project) == 0)))
			break;
	}
	if (more < s->ix.nsessions) {
		/* The cursor pins this version, so newer ones do not expire it. */
		hub_snapshot_pin(c->app->hub, s);
		buf_printf(&b, "],\"next_cursor\":\"%lld.%zu\"}\n", s->version, more);
	} else {
		buf_puts(&b, "],\"next_cursor\":null}\n");
	}
	char etag[48];
	snprintf(etag, sizeof etag, "%s", s->etag);
	http_header(c, "ETag", etag);
	rc = http_reply(c, 200, "application/json", b.data, b.len);
	buf_free(&b);
out:
	snap_release(s);
	evhttp_clear_headers(&q);
	return rc;
}

int api_stream(struct http_ctx *c)
{
	if (c->closing)
		return http_reply_error(c, 503, "unavailable", NULL,
					"the server is shutting down; reconnect shortly");
	const char *last = http_request_header(c, "Last-Event-ID");
	long long id = last ? api_count_parse(last) : -1;
	hub_subscribe(c->app->hub, http_defer(c), id >= 0, id);
	return 0;
}
