/* temporal: one proposal, one workflow. A blocking call on the worker's
 * thread with one curl easy handle, so the start and every Describe reuse one
 * connection. It does not log; errors name the component, never the URL
 * (curl's error buffer, which names the host, is deliberately not used), and
 * never quote an answer's body, which a proxy in front may have filled with
 * its own addresses. */
#include "exec/temporal.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"
#include "util/clock.h"
#include "util/httpc.h"
#include "util/perr.h"

#ifndef PORTAL_VERSION
#define PORTAL_VERSION "dev"
#endif

#define TEMPORAL_USER_AGENT "portal-worker/" PORTAL_VERSION
/* A request never gets less than this, so the Describe made at the deadline
 * still has time to be answered. */
#define TEMPORAL_REQUEST_MIN_MS 250
#define STATUS_PREFIX "WORKFLOW_EXECUTION_STATUS_"
#define ALREADY_STARTED_TYPE \
	"type.googleapis.com/temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure"

/* --- the pure part */

static const char *component_of(const struct temporal_call *t)
{
	return t && t->kind && t->kind->component[0] ? t->kind->component : "temporal";
}

/* The workflow's path: /api/v1/namespaces/{ns}/workflows/{workflowId}. */
static void put_workflow_path(struct buf *b, const char *ns, const char *wid)
{
	buf_puts(b, "/api/v1/namespaces/");
	buf_put_escaped(b, ns);
	buf_puts(b, "/workflows/");
	buf_put_escaped(b, wid);
}

static int workflow_id(const struct store_proposal *p, char *out, size_t cap)
{
	int n = snprintf(out, cap, TEMPORAL_WORKFLOW_PREFIX "%s", p->id);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Checks what the request needs; errors name the kind's field. */
static int call_check(const struct temporal_call *t, struct perr *err)
{
	if (!t || !t->kind || !t->proposal)
		return perr_set(err, PERR_INVALID, NULL, "no proposal to run");
	const struct proposal_kind *k = t->kind;
	if (!t->proposal->id[0])
		return perr_set(err, PERR_INVALID, "id", "the proposal has no id");
	if (!k->temporal_namespace[0])
		return perr_set(err, PERR_INVALID, "temporal_namespace",
				"kind %s names no Temporal namespace", k->name);
	if (!k->workflow_type[0])
		return perr_set(err, PERR_INVALID, "workflow_type",
				"kind %s names no workflow type", k->name);
	if (!k->task_queue[0])
		return perr_set(err, PERR_INVALID, "task_queue", "kind %s names no task queue",
				k->name);
	return 0;
}

int temporal_start_request(const struct temporal_call *t, char *path, size_t pathcap, json_t **body)
{
	struct perr err;
	*body = NULL;
	if (call_check(t, &err) < 0)
		return err.code;
	const struct proposal_kind *k = t->kind;
	char wid[STORE_PROPOSAL_ID_MAX + sizeof TEMPORAL_WORKFLOW_PREFIX];
	if (workflow_id(t->proposal, wid, sizeof wid) < 0)
		return PERR_INVALID;

	json_t *input;
	if (!t->proposal->input || !t->proposal->input[0]) {
		input = json_object();
	} else {
		input = json_loads(t->proposal->input, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(input)) {
			json_decref(input);
			return PERR_INVALID;
		}
	}

	struct buf b = BUF_INIT;
	put_workflow_path(&b, k->temporal_namespace, wid);
	if (b.len >= pathcap) {
		buf_free(&b);
		json_decref(input);
		return PERR_TOO_LARGE;
	}
	memcpy(path, buf_cstr(&b), b.len + 1);
	buf_free(&b);

	/* Only fields every server since 1.22 knows: unknown ones are a 400.
	 * namespace and workflowId are also in the path, which wins. */
	*body = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}, s:[o], s:s, s:s}",
			  "namespace", k->temporal_namespace,
			  "workflowId", wid,
			  "workflowType", "name", k->workflow_type,
			  "taskQueue", "name", k->task_queue,
			  "input", input,
			  "requestId", t->proposal->id,
			  "identity", TEMPORAL_IDENTITY);
	return *body ? 0 : PERR_INTERNAL;
}

/* --- the HTTP part */

struct session {
	const struct temporal_call *t;
	struct temporal_outcome *out;
	CURL *easy;
	struct curl_slist *get_headers, *post_headers; /* may hold the credential: wiped */
	long long deadline_us;
	int timeout_ms;
	char wid[STORE_PROPOSAL_ID_MAX + sizeof TEMPORAL_WORKFLOW_PREFIX];
	char run_id[128];
	const char *comp;
};

/* Sets out's error (prefixed "Temporal (<component>) ") and class, returns
 * the code for temporal_run. */
static int fail(struct session *s, int retryable, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct session *s, int retryable, int code, const char *fmt, ...)
{
	struct temporal_outcome *o = s->out;
	o->ok = 0;
	o->retryable = retryable;
	int n = snprintf(o->error, sizeof o->error, "Temporal (%s) ", s->comp);
	if (n < 0 || (size_t)n >= sizeof o->error)
		n = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->error + n, sizeof o->error - (size_t)n, fmt, ap);
	va_end(ap);
	return retryable ? PERR_UNAVAILABLE : code;
}

static struct curl_slist *headers_new(const char *bearer, int with_body)
{
	struct curl_slist *h = NULL;
	httpc_header_add(&h, "Accept: application/json");
	if (with_body)
		httpc_header_add(&h, "Content-Type: application/json");
	if (bearer && bearer[0])
		httpc_header_bearer(&h, bearer);
	return h;
}

static int session_open(struct session *s)
{
	if (sodium_init() < 0)
		return fail(s, 1, PERR_INTERNAL, "client failed to start");
	/* The time limit is set per request, from what is left of the deadline. */
	s->easy = httpc_easy_new(TEMPORAL_USER_AGENT, 0, NULL);
	if (!s->easy)
		return fail(s, 1, PERR_INTERNAL, "client failed to start");
	s->get_headers = headers_new(s->t->bearer, 0);
	s->post_headers = headers_new(s->t->bearer, 1);
	return 0;
}

static void session_close(struct session *s)
{
	if (s->easy)
		curl_easy_cleanup(s->easy);
	httpc_headers_free(s->get_headers);
	httpc_headers_free(s->post_headers);
}

static long long left_ms(const struct session *s)
{
	return (s->deadline_us - clock_mono_us()) / 1000;
}

/* One request: POST when body is set, else GET. Fills *status and a; a
 * transport failure (refused, reset, timed out, answer too large) is
 * returned as a negative code with out filled. */
static int request(struct session *s, const char *path_and_query, const char *body,
		   long *status, struct httpc_body *a)
{
	struct buf url = BUF_INIT;
	const char *base = s->t->base_url;
	size_t blen = strlen(base);
	while (blen && base[blen - 1] == '/')
		blen--;
	buf_append(&url, base, blen);
	buf_puts(&url, path_and_query);

	long long left = left_ms(s);
	if (left < TEMPORAL_REQUEST_MIN_MS)
		left = TEMPORAL_REQUEST_MIN_MS;
	CURL *e = s->easy;
	int bad = 0;
	bad |= curl_easy_setopt(e, CURLOPT_URL, buf_cstr(&url)) != CURLE_OK;
	bad |= httpc_set_timeout(e, (long)left) < 0;
	bad |= httpc_body_set(e, a) < 0;
	if (body) {
		bad |= curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, body) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body)) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->post_headers) != CURLE_OK;
	} else {
		bad |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->get_headers) != CURLE_OK;
	}
	buf_free(&url);
	if (bad)
		return fail(s, 1, PERR_INTERNAL, "client could not be set up");

	CURLcode rc = curl_easy_perform(e);
	*status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	httpc_body_unset(e);
	if (a->over)
		return fail(s, 0, PERR_TOO_LARGE, "answered more than %d MiB",
			    TEMPORAL_ANSWER_MAX / (1024 * 1024));
	if (rc != CURLE_OK) /* curl_easy_strerror names the failure, not the host */
		return fail(s, 1, PERR_UNAVAILABLE, "unreachable (%s)", curl_easy_strerror(rc));
	return 0;
}

/* Classifies a non-200 answer other than the start's 409. */
static int http_failure(struct session *s, const char *what, long status)
{
	if (status == 401 || status == 403)
		return fail(s, 0, PERR_IO, "refused the credential (HTTP %ld) on %s", status, what);
	if (status == 404)
		return fail(s, 0, PERR_NOT_FOUND, "found no %s (HTTP 404)",
			    strcmp(what, "start") == 0 ? "such namespace" : "such workflow");
	if (status >= 500 || status == 429 || status == 408)
		return fail(s, 1, PERR_UNAVAILABLE, "answered HTTP %ld on %s", status, what);
	return fail(s, 0, PERR_IO, "answered HTTP %ld on %s", status, what);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

/* A 409 on start: started already by this proposal (0, run_id set) or by
 * someone else (an error). */
static int already_started(struct session *s, const struct httpc_body *a)
{
	json_t *root = json_loadb(buf_cstr(&a->b), a->b.len, 0, NULL);
	json_t *details = json_object_get(root, "details");
	size_t i;
	json_t *d;
	int rc = 1;
	json_array_foreach(details, i, d) {
		const char *type = json_string_value(json_object_get(d, "@type"));
		if (!type || strcmp(type, ALREADY_STARTED_TYPE) != 0)
			continue;
		const char *req = json_string_value(json_object_get(d, "startRequestId"));
		const char *run = json_string_value(json_object_get(d, "runId"));
		if (req && strcmp(req, s->t->proposal->id) == 0 && run && run[0] &&
		    strlen(run) < sizeof s->run_id) {
			copy_str(s->run_id, sizeof s->run_id, run);
			rc = 0;
		}
		break;
	}
	json_decref(root);
	if (rc == 0)
		return 0;
	return fail(s, 0, PERR_CONFLICT, "already runs workflow %s for another request", s->wid);
}

static int start(struct session *s)
{
	char path[1024];
	json_t *body;
	if (temporal_start_request(s->t, path, sizeof path, &body) < 0)
		return fail(s, 0, PERR_INVALID, "cannot start kind %s: its namespace, workflow or input is invalid",
			    s->t->kind->name);
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (!text)
		return fail(s, 1, PERR_INTERNAL, "request could not be written");

	long status;
	struct httpc_body a = {BUF_INIT, TEMPORAL_ANSWER_MAX, 1, 0};
	int rc = request(s, path, text, &status, &a);
	free(text);
	if (rc < 0)
		goto done;
	if (status == 409) {
		rc = already_started(s, &a);
		goto done;
	}
	if (status != 200) {
		rc = http_failure(s, "start", status);
		goto done;
	}
	json_t *root = json_loadb(buf_cstr(&a.b), a.b.len, 0, NULL);
	const char *run = json_string_value(json_object_get(root, "runId"));
	if (!run || !run[0] || strlen(run) >= sizeof s->run_id) {
		rc = fail(s, 1, PERR_IO, "answered the start without a run id");
	} else {
		copy_str(s->run_id, sizeof s->run_id, run);
		rc = 0;
	}
	json_decref(root);
done:
	httpc_body_free(&a);
	return rc;
}

static void evidence_set(struct session *s, const char *status, const struct httpc_body *a)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)buf_cstr(&a->b), a->b.len);
	char hex[2 * sizeof h + 1];
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	char digest[sizeof hex + 8];
	snprintf(digest, sizeof digest, "sha256:%s", hex);
	struct buf loc = BUF_INIT;
	buf_printf(&loc, "temporal:%s/%s/%s", s->t->kind->temporal_namespace, s->wid, s->run_id);
	json_decref(s->out->evidence);
	s->out->evidence = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
				     "executor", "temporal",
				     "workflow_id", s->wid,
				     "run_id", s->run_id,
				     "status", status,
				     "location", buf_cstr(&loc),
				     "digest", digest,
				     "size", (json_int_t)a->b.len);
	buf_free(&loc);
}

enum describe_result { DESCRIBE_DONE, DESCRIBE_RUNNING, DESCRIBE_FOLLOW };

/* One Describe of run_id (of the workflow's current run when run_id is "").
 * Returns a describe_result, or a negative code with out filled. */
static int describe(struct session *s)
{
	struct buf path = BUF_INIT;
	put_workflow_path(&path, s->t->kind->temporal_namespace, s->wid);
	if (s->run_id[0]) {
		buf_puts(&path, "?execution.runId=");
		buf_put_escaped(&path, s->run_id);
	}
	long status;
	struct httpc_body a = {BUF_INIT, TEMPORAL_ANSWER_MAX, 1, 0};
	int rc = request(s, buf_cstr(&path), NULL, &status, &a);
	buf_free(&path);
	if (rc < 0)
		goto done;
	if (status != 200) {
		rc = http_failure(s, "describe", status);
		goto done;
	}
	json_t *root = json_loadb(buf_cstr(&a.b), a.b.len, 0, NULL);
	json_t *info = json_object_get(root, "workflowExecutionInfo");
	const char *st = json_string_value(json_object_get(info, "status"));
	const char *run = json_string_value(
		json_object_get(json_object_get(info, "execution"), "runId"));
	if (!st) {
		rc = fail(s, 1, PERR_IO, "answered a describe without a status");
		json_decref(root);
		goto done;
	}
	if (!s->run_id[0] && run && run[0] && strlen(run) < sizeof s->run_id)
		copy_str(s->run_id, sizeof s->run_id, run);
	const char *name = strncmp(st, STATUS_PREFIX, strlen(STATUS_PREFIX)) == 0
				   ? st + strlen(STATUS_PREFIX) : st;
	if (strcmp(name, "RUNNING") == 0 || strcmp(name, "PAUSED") == 0) {
		rc = DESCRIBE_RUNNING;
	} else if (strcmp(name, "CONTINUED_AS_NEW") == 0) {
		s->run_id[0] = '\0'; /* the chain goes on in the workflow's current run */
		rc = DESCRIBE_FOLLOW;
	} else if (strcmp(name, "COMPLETED") == 0) {
		evidence_set(s, st, &a);
		s->out->ok = 1;
		s->out->retryable = 0;
		s->out->error[0] = '\0';
		rc = DESCRIBE_DONE;
	} else if (strcmp(name, "FAILED") == 0 || strcmp(name, "TERMINATED") == 0 ||
		   strcmp(name, "CANCELED") == 0 || strcmp(name, "TIMED_OUT") == 0) {
		evidence_set(s, st, &a);
		char shown[32];
		copy_str(shown, sizeof shown, name);
		rc = fail(s, 0, PERR_IO, "workflow %s ended %s", s->wid, shown);
	} else {
		/* UNSPECIFIED, or a status newer than this code: try again later
		 * rather than call it a failure. */
		rc = fail(s, 1, PERR_IO, "workflow %s has an unknown status", s->wid);
	}
	json_decref(root);
done:
	httpc_body_free(&a);
	return rc;
}

static void sleep_ms(long long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int temporal_run(const struct temporal_call *t, struct temporal_outcome *out)
{
	memset(out, 0, sizeof *out);
	struct session s = {.t = t, .out = out, .comp = component_of(t)};
	struct perr err;
	if (call_check(t, &err) < 0)
		return fail(&s, 0, PERR_INVALID, "cannot run this proposal: %s", err.msg);
	if (!t->base_url || !t->base_url[0])
		return fail(&s, 0, PERR_INVALID, "has no executor URL");
	if (workflow_id(t->proposal, s.wid, sizeof s.wid) < 0)
		return fail(&s, 0, PERR_INVALID, "cannot run a proposal with this id");
	s.timeout_ms = t->timeout_ms > 0 ? t->timeout_ms
		     : t->kind->timeout_ms > 0 ? t->kind->timeout_ms : TEMPORAL_DEFAULT_TIMEOUT_MS;
	int poll_ms = t->poll_ms > 0 ? t->poll_ms : TEMPORAL_DEFAULT_POLL_MS;
	s.deadline_us = clock_mono_us() + (long long)s.timeout_ms * 1000;

	int rc = session_open(&s);
	if (rc == 0)
		rc = start(&s);
	while (rc == 0) {
		int d = describe(&s);
		if (d < 0) {
			rc = d;
			break;
		}
		if (d == DESCRIBE_DONE)
			break;
		long long left = left_ms(&s);
		if (left <= 0) {
			rc = fail(&s, 1, PERR_UNAVAILABLE, "workflow %s still running after %d ms",
				  s.wid, s.timeout_ms);
			break;
		}
		if (d == DESCRIBE_RUNNING) {
			/* in slices, so a stopping worker is not kept waiting a poll */
			long long wait = left < poll_ms ? left : poll_ms;
			while (wait > 0 && !(t->cancel && atomic_load(t->cancel))) {
				sleep_ms(wait < 100 ? wait : 100);
				wait -= 100;
			}
		}
		if (t->cancel && atomic_load(t->cancel)) {
			out->cancelled = 1;
			rc = fail(&s, 1, PERR_UNAVAILABLE,
				  "stopped waiting for workflow %s: the worker is shutting down", s.wid);
			break;
		}
	}
	session_close(&s);
	return rc;
}
