/* http_json: one blocking JSON request per call, for the remote graph and
 * evidence planes. See http_json.h. curl's error buffer names the host, so it
 * is never used; a service's own error message is shown only when it names
 * neither the host, a URL nor the token. */
#include "proof/http_json.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef PORTAL_VERSION
#define PORTAL_VERSION "dev"
#endif
#define HTTP_JSON_USER_AGENT "portal/" PORTAL_VERSION

static char *str_dup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		abort(); /* as buf does */
	return d;
}

/* 0 when part is absent from u. */
static int url_has(CURLU *u, CURLUPart part)
{
	char *v = NULL;
	CURLUcode rc = curl_url_get(u, part, &v, 0);
	int has = rc == CURLUE_OK && v && v[0];
	curl_free(v);
	return has;
}

int http_json_open(struct http_json *h, const char *what, const struct proof_remote *r,
		   struct perr *err)
{
	memset(h, 0, sizeof *h);
	h->what = what;
	if (!r || !r->url || !r->url[0])
		return perr_set(err, PERR_INVALID, "url", "%s has no URL", what);
	if (r->timeout_ms < 0)
		return perr_set(err, PERR_INVALID, "timeout_ms",
				"%s's timeout_ms must be 0 (the default, %d ms) or more", what,
				HTTP_JSON_DEFAULT_TIMEOUT_MS);
	if (httpc_global_init() < 0)
		return perr_set(err, PERR_INTERNAL, NULL, "libcurl could not start");

	/* Messages below never quote the URL: it is internal. */
	CURLU *u = curl_url();
	if (!u)
		abort();
	char *scheme = NULL, *host = NULL;
	int rc = 0;
	if (curl_url_set(u, CURLUPART_URL, r->url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0])
		rc = perr_set(err, PERR_INVALID, "url", "%s's URL is not a valid URL", what);
	else if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)
		rc = perr_set(err, PERR_INVALID, "url", "%s's URL must be http or https", what);
	else if (url_has(u, CURLUPART_USER) || url_has(u, CURLUPART_PASSWORD))
		rc = perr_set(err, PERR_INVALID, "url",
			      "%s's URL carries credentials: give them as the plane's secret",
			      what);
	else if (url_has(u, CURLUPART_QUERY) || url_has(u, CURLUPART_FRAGMENT))
		rc = perr_set(err, PERR_INVALID, "url",
			      "%s's URL must be a base without a query or fragment", what);
	if (rc == 0) {
		size_t len = strlen(r->url);
		while (len && r->url[len - 1] == '/')
			len--;
		h->base = strndup(r->url, len);
		if (!h->base)
			abort();
		h->host = str_dup(host);
		h->secret = r->secret && r->secret[0] ? str_dup(r->secret) : NULL;
		h->timeout_ms = r->timeout_ms ? r->timeout_ms : HTTP_JSON_DEFAULT_TIMEOUT_MS;
		h->pool = httpc_pool_new();
		if (!h->pool)
			abort(); /* libcurl started above: only memory can fail */
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

void http_json_close(struct http_json *h)
{
	if (h->secret)
		sodium_memzero(h->secret, strlen(h->secret));
	free(h->secret);
	free(h->base);
	free(h->host);
	httpc_pool_free(h->pool);
	memset(h, 0, sizeof *h);
}

void http_json_escape(struct buf *b, const char *s)
{
	/* curl_easy_escape keeps exactly RFC 3986's unreserved characters; it
	 * takes no handle since 7.82. */
	char *e = curl_easy_escape(NULL, s, (int)strlen(s));
	if (!e)
		abort();
	buf_puts(b, e);
	curl_free(e);
}

/* Why a request got no answer, in words that name no host, port or URL. */
static int transport_error(const struct http_json *h, CURLcode rc, struct perr *err)
{
	const char *why;
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return perr_set(err, PERR_UNAVAILABLE, NULL, "%s did not answer within %d ms",
				h->what, h->timeout_ms);
	case CURLE_COULDNT_CONNECT:
		why = "the connection was refused or the host could not be reached";
		break;
	case CURLE_COULDNT_RESOLVE_HOST: why = "its host name did not resolve"; break;
	case CURLE_GOT_NOTHING: why = "it closed the connection without an answer"; break;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR: why = "the connection failed"; break;
	case CURLE_SSL_CONNECT_ERROR: why = "the TLS handshake failed"; break;
	case CURLE_PEER_FAILED_VERIFICATION: why = "its TLS certificate is not trusted"; break;
	case CURLE_WEIRD_SERVER_REPLY: why = "it did not answer in HTTP"; break;
	default:
		/* curl's static messages name no host; its error buffer would. */
		why = curl_easy_strerror(rc);
		break;
	}
	return perr_set(err, PERR_UNAVAILABLE, NULL, "%s did not answer (%s)", h->what, why);
}

int http_json_request(const struct http_json *h, const char *method, const char *path,
		      const json_t *body, long *status, json_t **answer, struct perr *err)
{
	*status = 0;
	*answer = NULL;
	char *text = NULL;
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text)
			abort(); /* a value Portal built: only memory can fail */
	}
	CURL *e = httpc_easy_new(HTTP_JSON_USER_AGENT, h->timeout_ms, h->pool);
	if (!e) {
		free(text);
		return perr_set(err, PERR_INTERNAL, NULL, "could not start a request to %s",
				h->what);
	}
	struct curl_slist *headers = NULL;
	httpc_header_add(&headers, "Accept: application/json");
	httpc_header_add(&headers, "Expect:"); /* no 100-continue round trip */
	if (text)
		httpc_header_add(&headers, "Content-Type: application/json");
	if (h->secret)
		httpc_header_bearer(&headers, h->secret);
	struct buf url = BUF_INIT;
	buf_puts(&url, h->base);
	buf_puts(&url, path);
	struct httpc_body a = {BUF_INIT, HTTP_JSON_ANSWER_MAX, 1, 0};

	int bad = 0;
	bad |= curl_easy_setopt(e, CURLOPT_URL, buf_cstr(&url)) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers) != CURLE_OK;
	bad |= httpc_body_set(e, &a) < 0;
	if (text) {
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, text) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(text)) != CURLE_OK;
		if (strcmp(method, "POST") != 0)
			bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK;
	} else if (strcmp(method, "GET") != 0) {
		bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK;
	}

	int rc;
	if (bad) {
		rc = perr_set(err, PERR_INTERNAL, NULL, "could not prepare a request to %s",
			      h->what);
	} else {
		CURLcode cc = curl_easy_perform(e);
		if (a.over) {
			rc = perr_set(err, PERR_UNAVAILABLE, NULL, "%s answered more than %d MiB",
				      h->what, HTTP_JSON_ANSWER_MAX / (1024 * 1024));
		} else if (cc != CURLE_OK) {
			rc = transport_error(h, cc, err);
		} else {
			rc = 0;
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
			if (a.b.len)
				*answer = json_loadb(a.b.data, a.b.len,
						     JSON_REJECT_DUPLICATES, NULL);
		}
	}
	httpc_headers_free(headers);
	curl_easy_cleanup(e);
	buf_free(&url);
	httpc_body_free(&a);
	free(text);
	return rc;
}

/* Copies a service's message into out for a person: at most
 * HTTP_JSON_MESSAGE_MAX bytes, cut on a character boundary, control
 * characters as spaces. "" when it would repeat the host, a URL or the
 * token. */
static void message_clean(const struct http_json *h, const char *msg, char *out, size_t cap)
{
	out[0] = 0;
	if (strstr(msg, "://") || (h->host && strcasestr(msg, h->host)) ||
	    (h->secret && strstr(msg, h->secret)))
		return;
	size_t len = strlen(msg), keep = len;
	if (keep > HTTP_JSON_MESSAGE_MAX)
		keep = HTTP_JSON_MESSAGE_MAX;
	while (keep < len && keep > 0 && ((unsigned char)msg[keep] & 0xC0) == 0x80)
		keep--; /* msg[keep] continues a character: cut before it starts */
	if (keep + 4 > cap)
		return;
	size_t n = 0;
	for (size_t i = 0; i < keep; i++) {
		unsigned char c = (unsigned char)msg[i];
		out[n++] = c < 0x20 || c == 0x7F ? ' ' : (char)c;
	}
	if (keep < len) {
		memcpy(out + n, "\xE2\x80\xA6", 3); /* … */
		n += 3;
	}
	out[n] = 0;
}

int http_json_status_error(const struct http_json *h, long status, const json_t *answer,
			   struct perr *err)
{
	json_t *e = json_object_get(answer, "error");
	const char *msg = json_is_string(e) ? json_string_value(e)
			  : json_string_value(json_object_get(e, "message"));
	char clean[HTTP_JSON_MESSAGE_MAX + 4] = "";
	if (msg)
		message_clean(h, msg, clean, sizeof clean);
	if (clean[0])
		return perr_set(err, PERR_UNAVAILABLE, NULL, "%s answered HTTP %ld: %s", h->what,
				status, clean);
	return perr_set(err, PERR_UNAVAILABLE, NULL, "%s answered HTTP %ld", h->what, status);
}

int http_json_copy(char *dst, size_t cap, const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v))
		return -1;
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (strlen(s) != len) /* a NUL inside: jansson refuses it, but be sure */
		return -1;
	if (len >= cap)
		return -2;
	memcpy(dst, s, len + 1);
	return 0;
}
