/* events: POST /api/v1/events, how producers append to portal_live_events.
 * The handler only authenticates, parses and validates (on the loop thread,
 * no I/O); the writer thread makes the batch durable and the answer comes
 * back here afterwards, so a 2xx always means the events survive a crash.
 * A producer writes under its token's name, within its token's limits, and
 * never what only Portal writes (core/event.h); none of that is checked here
 * for Portal's own events, which reach the writer without this handler. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "api/api.h"
#include "app/app.h"
#include "auth/token.h"
#include "http/http.h"
#include "live/writer.h"
#include "util/buf.h"
#include "util/clock.h"

/* Answers on the loop thread once the writer is done with the job. */
static void events_done(struct write_job *j)
{
	struct http_ctx *c = j->arg;
	struct store_batch *b = &j->batch;
	if (b->rc < 0) {
		int status = b->rc == PERR_UNAVAILABLE ? 503 : 500;
		http_reply_error(c, status, perr_code_name(b->rc), b->err.field[0] ? b->err.field : NULL,
				 "nothing was stored: %s", b->err.msg);
		write_job_free(j);
		return;
	}
	json_t *list = json_array();
	int stored = 0;
	for (size_t i = 0; i < b->n; i++) {
		stored += b->fresh[i];
		json_array_append_new(list, json_pack("{s:s,s:I,s:b}", "id", b->evs[i].id, "seq",
						      (json_int_t)b->seqs[i], "duplicate",
						      !b->fresh[i]));
	}
	json_t *doc = json_pack("{s:i,s:i,s:o}", "stored", stored, "duplicates", (int)b->n - stored,
				"events", list);
	http_reply_json(c, stored ? 201 : 200, doc);
	write_job_free(j);
}

static int media_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);
	return ctype && strncasecmp(ctype, want, n) == 0 && (ctype[n] == 0 || ctype[n] == ';' ||
							      ctype[n] == ' ');
}

int api_events_post(struct http_ctx *c)
{
	char who[64], projects[STORE_TOKEN_LIMITS_MAX], types[STORE_TOKEN_LIMITS_MAX];
	enum auth_result ar = token_cache_check_limits(c->app->tokens,
						       http_request_header(c, "Authorization"),
						       "events:write", who, sizeof who, projects, types);
	if (ar == AUTH_MISSING || ar == AUTH_INVALID) {
		http_header(c, "WWW-Authenticate", "Bearer realm=\"portal\", scope=\"events:write\"");
		return http_reply_error(c, 401, "unauthenticated", "Authorization",
					ar == AUTH_MISSING
						? "send a bearer token with scope events:write (portal token create)"
						: "the bearer token is unknown or revoked");
	}
	if (ar == AUTH_FORBIDDEN)
		return http_reply_error(c, 403, "forbidden", "Authorization",
					"token '%s' lacks the scope events:write", who);

	const char *ctype = http_request_header(c, "Content-Type");
	int ndjson = media_is(ctype, "application/x-ndjson");
	if (!ndjson && !media_is(ctype, "application/json"))
		return http_reply_error(c, 415, "unsupported_media_type", "Content-Type",
					"send application/json (an event or an array of events) or "
					"application/x-ndjson (one event per line)");
	struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
	size_t len = evbuffer_get_length(in);
	const char *data = (const char *)evbuffer_pullup(in, -1);
	if (len == 0)
		return http_reply_error(c, 400, "invalid", "body", "the body is empty");

	struct perr err = {0};
	json_t *doc;
	if (ndjson) {
		doc = event_ndjson_load(data, len, &err);
	} else {
		json_error_t je;
		doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
		if (!doc)
			perr_set(&err, PERR_INVALID, "body", "invalid JSON at line %d, column %d: %s",
				 je.line, je.column, je.text);
	}
	if (!doc)
		return http_reply_error(c, 400, "invalid_json", err.field, "%s", err.msg);

	int single = json_is_object(doc);
	size_t n = single ? 1 : json_array_size(doc);
	if (!single && !json_is_array(doc)) {
		json_decref(doc);
		return http_reply_error(c, 400, "invalid", "body",
					"the body must be an event object or an array of events");
	}
	if (n == 0) {
		json_decref(doc);
		return http_reply_error(c, 400, "invalid", "body", "the batch holds no events");
	}
	if (n > API_EVENTS_BATCH_MAX) {
		json_decref(doc);
		return http_reply_error(c, 413, "too_large", "body",
					"the batch holds %zu events; the limit is %d per request", n,
					API_EVENTS_BATCH_MAX);
	}

	struct write_job *j = write_job_new(n);
	j->doc = doc;
	/* The events outlive this call (the writer stores them later), so
	 * their default source must not borrow `who` from this stack. */
	snprintf(j->source, sizeof j->source, "%s", who);
	long long now = clock_wall_ms();
	for (size_t i = 0; i < n; i++) {
		json_t *obj = single ? doc : json_array_get(doc, i);
		struct event *ev = &j->batch.evs[i];
		int rc = event_from_json(obj, now, j->source, ev, &err);
		if (rc == 0) {
			/* A producer's events carry its token's name as their
			 * source, whatever the body says, never what only
			 * Portal writes, and only what its token's limits let
			 * it write. */
			ev->source = j->source;
			if ((rc = event_producer_check(ev, &err)) == 0)
				rc = token_limits_allow(projects, types, ev->project, ev->type, &err);
		}
		if (rc < 0) {
			/* Nothing of the batch is kept. */
			int status = err.code == PERR_TOO_LARGE	  ? 413
				     : err.code == PERR_FORBIDDEN ? 403
								  : 400;
			char field[96];
			if (single)
				snprintf(field, sizeof field, "%s", err.field);
			else
				snprintf(field, sizeof field, "[%zu]%s%s", i, err.field[0] ? "." : "",
					 err.field);
			write_job_free(j);
			if (single)
				return http_reply_error(c, status, perr_code_name(err.code), field, "%s",
							err.msg);
			return http_reply_error(c, status, perr_code_name(err.code), field,
						"event %zu: %s; nothing in the batch was stored", i,
						err.msg);
		}
	}
	j->base = c->base;
	j->done = events_done;
	j->arg = http_defer(c);
	writer_submit(c->app->writer, j);
	return 0;
}
