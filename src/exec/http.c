/* http: the executor that POSTs a proposal to an owned component's executor
 * URL, {"proposal":id,"kind":…,"input":{…}}, with the proposal id as
 * X-Request-Id and Idempotency-Key so a retry never runs the side effect
 * twice. The URL is internal: it is never logged and never put in an error;
 * errors say "the executor of <component>". It does not retry. */
#include "exec/executor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#ifndef PORTAL_VERSION
#define PORTAL_VERSION "dev"
#endif
#define HTTP_USER_AGENT "portal-worker/" PORTAL_VERSION
#define HTTP_DEFAULT_TIMEOUT_MS 30000

struct body {
	unsigned char *data; /* EXEC_OUTPUT_MAX bytes */
	size_t kept;
	int truncated;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n, room = EXEC_OUTPUT_MAX - b->kept;
	size_t take = len < room ? len : room;
	memcpy(b->data + b->kept, p, take);
	b->kept += take;
	if (take < len)
		b->truncated = 1;
	return len; /* read on past the cap, keep nothing of it */
}

static int on_progress(void *arg, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
	const atomic_int *cancel = arg;
	return cancel && atomic_load(cancel) ? 1 : 0;
}

/* Out of memory aborts, as buf does. */
static void header_add(struct curl_slist **h, const char *line)
{
	struct curl_slist *n = curl_slist_append(*h, line);
	if (!n)
		abort();
	*h = n;
}

/* A proposal id goes into headers: it must be a plain token. */
static int id_plain(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

/* curl's failure in words that name no host, port or URL, and whether
 * another attempt may go better. */
static const char *transport_failure(CURLcode rc, int *retryable)
{
	*retryable = 1;
	switch (rc) {
	case CURLE_COULDNT_CONNECT: return "refused the connection or could not be reached";
	case CURLE_COULDNT_RESOLVE_HOST: return "has a host name that did not resolve";
	case CURLE_COULDNT_RESOLVE_PROXY: return "is behind a proxy whose name did not resolve";
	case CURLE_GOT_NOTHING: return "closed the connection without an answer";
	case CURLE_SEND_ERROR: return "failed while the request was sent";
	case CURLE_RECV_ERROR: return "failed while the answer was read";
	case CURLE_SSL_CONNECT_ERROR: return "failed the TLS handshake";
	case CURLE_WEIRD_SERVER_REPLY: return "did not answer in HTTP";
	case CURLE_PEER_FAILED_VERIFICATION:
		*retryable = 0;
		return "has a TLS certificate that is not trusted";
	case CURLE_SSL_CACERT_BADFILE:
		*retryable = 0;
		return "cannot be checked: the TLS trust store is unreadable";
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		*retryable = 0;
		return "has a URL that is not a valid http(s) URL";
	default:
		/* curl's static messages name no host; its error buffer would. */
		return curl_easy_strerror(rc);
	}
}

static int http_run(const struct exec_job *job, struct exec_result *out)
{
	memset(out, 0, sizeof *out);
	const struct proposal_kind *k = job->kind;
	const char *id = job->proposal->id;
	const struct component_contract *c =
		job->cat ? catalogue_find(job->cat, k->component) : NULL;
	if (!c || c->ownership != OWNERSHIP_OWNED || !c->executor_url.s[0])
		return exec_fail(out, 0,
				 "the executor of %s is not configured: kind %s needs an owned "
				 "component with an executor_url", k->component, k->name);
	if (!id_plain(id))
		return exec_fail(out, 0, "the proposal id is not a plain token");

	json_error_t jerr;
	const char *text = job->proposal->input;
	json_t *input = text && *text ? json_loads(text, 0, &jerr) : json_object();
	if (!input || !json_is_object(input)) {
		json_decref(input);
		return exec_fail(out, 0, "the proposal's input is not a JSON object");
	}
	json_t *req = json_pack("{s:s,s:s,s:o}", "proposal", id, "kind", k->name, "input", input);
	char *payload = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	struct body b = {malloc(EXEC_OUTPUT_MAX), 0, 0};
	CURL *e = curl_easy_init();
	struct curl_slist *headers = NULL;
	int rc = -1;
	if (!payload || !b.data || !e) {
		rc = exec_fail(out, 1, "out of memory for the request to the executor of %s",
			       k->component);
		goto done;
	}

	char line[64 + STORE_PROPOSAL_ID_MAX];
	header_add(&headers, "Content-Type: application/json");
	header_add(&headers, "Accept: application/json");
	header_add(&headers, "Expect:"); /* no 100-continue round trip */
	snprintf(line, sizeof line, "X-Request-Id: %s", id);
	header_add(&headers, line);
	snprintf(line, sizeof line, "Idempotency-Key: %s", id);
	header_add(&headers, line);
	if (job->secret_value && job->secret_value[0]) {
		static const char prefix[] = "Authorization: Bearer ";
		size_t len = sizeof prefix + strlen(job->secret_value);
		char *hdr = malloc(len);
		if (!hdr)
			abort();
		snprintf(hdr, len, "%s%s", prefix, job->secret_value);
		header_add(&headers, hdr);
		sodium_memzero(hdr, len);
		free(hdr);
	}

	int timeout_ms = job->timeout_ms > 0 ? job->timeout_ms
			 : k->timeout_ms > 0  ? k->timeout_ms
					      : HTTP_DEFAULT_TIMEOUT_MS;
	int bad = 0;
	bad |= curl_easy_setopt(e, CURLOPT_URL, c->executor_url.s) != CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
#else
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK;
#endif
	bad |= curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, payload) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(payload)) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, HTTP_USER_AGENT) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, &b) != CURLE_OK;
	if (job->cancel) {
		bad |= curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_XFERINFODATA, (void *)job->cancel) != CURLE_OK;
	}
	/* TLS verification stays at curl's default (on); it is never turned off. */
	if (bad) {
		rc = exec_fail(out, 0, "could not prepare the request to the executor of %s",
			       k->component);
		goto done;
	}

	CURLcode cc = curl_easy_perform(e);
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (cc == CURLE_OK || cc == CURLE_ABORTED_BY_CALLBACK || status > 0) {
		out->evidence = exec_evidence("http", b.data, b.kept, b.truncated);
		if (out->evidence && status > 0)
			json_object_set_new(out->evidence, "status", json_integer(status));
	}
	if (cc == CURLE_ABORTED_BY_CALLBACK && job->cancel && atomic_load(job->cancel)) {
		out->cancelled = 1;
		rc = exec_fail(out, 1, "stopped before the executor of %s answered: the worker is "
				       "shutting down", k->component);
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		rc = exec_fail(out, 1, "the executor of %s did not answer within %d ms",
			       k->component, timeout_ms);
	} else if (cc != CURLE_OK) {
		int retry;
		const char *why = transport_failure(cc, &retry);
		rc = exec_fail(out, retry, "the executor of %s %s", k->component, why);
	} else if (status >= 200 && status < 300) {
		out->ok = 1;
		rc = 0;
	} else {
		int retry = status == 408 || status == 429 || status >= 500;
		rc = exec_fail(out, retry, "the executor of %s answered HTTP %ld", k->component,
			       status);
	}

done:
	for (struct curl_slist *s = headers; s; s = s->next)
		sodium_memzero(s->data, strlen(s->data));
	curl_slist_free_all(headers);
	if (e)
		curl_easy_cleanup(e);
	free(b.data);
	free(payload);
	return rc;
}

const struct executor_ops executor_http = {"http", http_run};
