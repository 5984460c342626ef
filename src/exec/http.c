/* http: the executor that POSTs a proposal to an owned component's executor
 * URL, {"proposal":id,"kind":…,"input":{…}}, with the proposal id as
 * X-Request-Id and Idempotency-Key so a retry never runs the side effect
 * twice. The URL is internal: it is never logged and never put in an error;
 * errors say "the executor of <component>". It does not retry. */
#include "exec/executor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/httpc.h"

#ifndef PORTAL_VERSION
#define PORTAL_VERSION "dev"
#endif
#define HTTP_USER_AGENT "portal-worker/" PORTAL_VERSION
#define HTTP_DEFAULT_TIMEOUT_MS 30000

static int on_progress(void *arg, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
	const atomic_int *cancel = arg;
	return cancel && atomic_load(cancel) ? 1 : 0;
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
	int timeout_ms = job->timeout_ms > 0 ? job->timeout_ms
			 : k->timeout_ms > 0  ? k->timeout_ms
					      : HTTP_DEFAULT_TIMEOUT_MS;
	struct httpc_body b = {BUF_INIT, EXEC_OUTPUT_MAX, 0, 0};
	CURL *e = httpc_easy_new(HTTP_USER_AGENT, timeout_ms, NULL);
	struct curl_slist *headers = NULL;
	int rc = -1;
	if (!payload || !e) {
		rc = exec_fail(out, 1, "out of memory for the request to the executor of %s",
			       k->component);
		goto done;
	}

	char line[64 + STORE_PROPOSAL_ID_MAX];
	httpc_header_add(&headers, "Content-Type: application/json");
	httpc_header_add(&headers, "Accept: application/json");
	httpc_header_add(&headers, "Expect:"); /* no 100-continue round trip */
	snprintf(line, sizeof line, "X-Request-Id: %s", id);
	httpc_header_add(&headers, line);
	snprintf(line, sizeof line, "Idempotency-Key: %s", id);
	httpc_header_add(&headers, line);
	if (job->secret_value && job->secret_value[0])
		httpc_header_bearer(&headers, job->secret_value);

	int bad = 0;
	bad |= curl_easy_setopt(e, CURLOPT_URL, c->executor_url.s) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, payload) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(payload)) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers) != CURLE_OK;
	bad |= httpc_body_set(e, &b) < 0;
	if (job->cancel) {
		bad |= curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_XFERINFODATA, (void *)job->cancel) != CURLE_OK;
	}
	if (bad) {
		rc = exec_fail(out, 0, "could not prepare the request to the executor of %s",
			       k->component);
		goto done;
	}

	CURLcode cc = curl_easy_perform(e);
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (cc == CURLE_OK || cc == CURLE_ABORTED_BY_CALLBACK || status > 0) {
		out->evidence = exec_evidence("http", (const unsigned char *)buf_cstr(&b.b),
					      b.b.len, b.over);
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
	httpc_headers_free(headers);
	if (e)
		curl_easy_cleanup(e);
	httpc_body_free(&b);
	free(payload);
	return rc;
}

const struct executor_ops executor_http = {"http", http_run};
