/* datahub: DataHub's GraphQL API over libcurl, one POST per call on a fresh
 * easy handle, so a handle shares nothing between threads but read-only
 * settings and the connection pool (which locks itself). It reads the
 * catalog only: no mutation, no retry, no cache, no log. The URL and the
 * token never reach an error: messages say "DataHub", and a GraphQL error
 * that quotes either is withheld. */
#include "adapters/datahub.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/embedded.h"
#include "util/httpc.h"

#ifndef PORTAL_VERSION
#define PORTAL_VERSION "dev"
#endif
#define USER_AGENT "portal/" PORTAL_VERSION
#define ENDPOINT "/api/graphql"
#define AUTH_PREFIX "Authorization: Bearer "
/* A GraphQL error's message is quoted up to this many bytes. */
#define QUOTE_MAX 160

/* The documents, by embedded name, and the operation each is sent as. The
 * fragment file is appended to both. */
#define DOC_FRAGMENTS "adapters/datahub/entity_fields.graphql"
#define DOC_LINEAGE "adapters/datahub/lineage.graphql"
#define DOC_ENTITY "adapters/datahub/entity.graphql"
#define OP_LINEAGE "portalLineage"
#define OP_ENTITY "portalEntity"

struct datahub {
	char endpoint[CONTRACT_URL_MAX + sizeof ENDPOINT];
	char host[CONTRACT_URL_MAX];  /* withheld when a GraphQL error quotes it */
	char *auth;                   /* AUTH_PREFIX + token, guarded memory; NULL: no token */
	size_t auth_size;
	int timeout_ms;
	char *lineage_doc;            /* lineage.graphql + entity_fields.graphql */
	char *entity_doc;             /* entity.graphql + entity_fields.graphql */
	struct httpc_pool *pool;      /* GMS's idle connections */
};

/* --- start-up */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc;

static void global_start(void)
{
	/* Never cleaned up: the process keeps using libcurl. */
	if (sodium_init() < 0 || httpc_global_init() < 0)
		global_rc = -1;
}

/* The operation document joined with the shared fragments, malloc'd; NULL
 * when either is missing from the build. */
static char *document(const char *name)
{
	const struct embedded_file *op = embedded_find(name);
	const struct embedded_file *frag = embedded_find(DOC_FRAGMENTS);
	if (!op || !frag)
		return NULL;
	struct buf b = BUF_INIT;
	buf_append(&b, op->data, op->len);
	buf_putc(&b, '\n');
	buf_append(&b, frag->data, frag->len);
	return buf_detach(&b, NULL);
}

int datahub_open(const struct datahub_conf *c, struct datahub **out, struct perr *err)
{
	*out = NULL;
	char host[CONTRACT_URL_MAX];
	if (!c->url || !contract_url_valid(c->url, host, sizeof host) || strpbrk(c->url, "?#"))
		return perr_set(err, PERR_INVALID, "url",
				"the DataHub URL is not an http(s) URL of GMS without a query");
	const char *token = c->token ? c->token : "";
	for (const char *p = token; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return perr_set(err, PERR_INVALID, "token",
					"the DataHub token holds a control character");
	if (c->timeout_ms < 0 || c->timeout_ms > DATAHUB_TIMEOUT_MAX_MS)
		return perr_set(err, PERR_INVALID, "timeout_ms",
				"the DataHub timeout must be 0 (the default, %d ms) to %d ms",
				DATAHUB_DEFAULT_TIMEOUT_MS, DATAHUB_TIMEOUT_MAX_MS);
	pthread_once(&global_once, global_start);
	if (global_rc < 0)
		return perr_set(err, PERR_INTERNAL, NULL, "libsodium or libcurl could not start");

	struct datahub *d = calloc(1, sizeof *d);
	if (!d)
		abort(); /* as buf does */
	size_t ulen = strlen(c->url);
	while (ulen && c->url[ulen - 1] == '/')
		ulen--;
	snprintf(d->endpoint, sizeof d->endpoint, "%.*s%s", (int)ulen, c->url, ENDPOINT);
	snprintf(d->host, sizeof d->host, "%s", host);
	d->timeout_ms = c->timeout_ms ? c->timeout_ms : DATAHUB_DEFAULT_TIMEOUT_MS;
	d->lineage_doc = document(DOC_LINEAGE);
	d->entity_doc = document(DOC_ENTITY);
	d->pool = httpc_pool_new();
	if (!d->pool) {
		datahub_close(d);
		return perr_set(err, PERR_INTERNAL, NULL, "the DataHub client could not start");
	}
	if (!d->lineage_doc || !d->entity_doc) {
		datahub_close(d);
		return perr_set(err, PERR_INTERNAL, NULL,
				"the DataHub GraphQL documents are missing from this build");
	}
	if (*token) {
		d->auth_size = sizeof AUTH_PREFIX + strlen(token);
		d->auth = sodium_malloc(d->auth_size);
		if (!d->auth) {
			datahub_close(d);
			return perr_set(err, PERR_INTERNAL, NULL,
					"no guarded memory for the DataHub token");
		}
		snprintf(d->auth, d->auth_size, "%s%s", AUTH_PREFIX, token);
	}
	*out = d;
	return 0;
}

void datahub_close(struct datahub *d)
{
	if (!d)
		return;
	sodium_free(d->auth); /* wipes; NULL is fine */
	httpc_pool_free(d->pool);
	free(d->lineage_doc);
	free(d->entity_doc);
	free(d);
}

/* --- one request */

/* curl's failure in words that name no host, port or URL. */
static const char *transport_failure(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT: return "the connection was refused or the host is unreachable";
	case CURLE_COULDNT_RESOLVE_HOST: return "its host name did not resolve";
	case CURLE_COULDNT_RESOLVE_PROXY: return "the proxy's host name did not resolve";
	case CURLE_GOT_NOTHING: return "it closed the connection without an answer";
	case CURLE_SEND_ERROR: return "the request failed while it was sent";
	case CURLE_RECV_ERROR: return "the answer failed while it was read";
	case CURLE_SSL_CONNECT_ERROR: return "the TLS handshake failed";
	case CURLE_PEER_FAILED_VERIFICATION: return "its TLS certificate is not trusted";
	case CURLE_WEIRD_SERVER_REPLY: return "it did not answer in HTTP";
	default:
		/* curl's static messages name no host; its error buffer would. */
		return curl_easy_strerror(rc);
	}
}

/* Copies at most cap - 1 bytes of s into dst, cut back to a UTF-8 character
 * boundary, with control characters turned into spaces. */
static void copy_text(char *dst, size_t cap, const char *s, size_t len)
{
	if (len >= cap) {
		len = cap - 1;
		while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
	}
	for (size_t i = 0; i < len; i++)
		dst[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
	dst[len] = '\0';
}

/* Whether s, text from DataHub's answer, quotes the token or DataHub's address. */
static int names_secret(const struct datahub *d, const char *s)
{
	const char *tok = d->auth ? d->auth + sizeof AUTH_PREFIX - 1 : NULL;
	return s && ((tok && strstr(s, tok)) || strstr(s, d->host));
}

/* The first GraphQL error as an error: its message and extensions.code with
 * .type (or .classification, which is all a validation error has), each
 * withheld when it quotes the token or the host. Code 401/403 is the token's
 * fault. */
static int graphql_error(const struct datahub *d, json_t *first, struct perr *err)
{
	const char *msg = json_string_value(json_object_get(first, "message"));
	json_t *ext = json_object_get(first, "extensions");
	json_t *code = json_object_get(ext, "code");
	const char *label = json_string_value(json_object_get(ext, "type"));
	if (!label)
		label = json_string_value(json_object_get(ext, "classification"));
	if (names_secret(d, label))
		label = "withheld";
	char quote[QUOTE_MAX + 1] = "no message";
	if (msg && *msg) {
		if (names_secret(d, msg))
			snprintf(quote, sizeof quote, "a message withheld: it names DataHub's "
						      "address or the token");
		else
			copy_text(quote, sizeof quote, msg, strlen(msg));
	}
	char num[24] = "";
	const char *code_text = json_string_value(code);
	if (json_is_integer(code))
		snprintf(num, sizeof num, "%lld", json_integer_value(code));
	else if (names_secret(d, code_text))
		snprintf(num, sizeof num, "withheld");
	else if (code_text)
		copy_text(num, sizeof num, code_text, strlen(code_text));
	char codes[80] = "";
	if (*num || label)
		snprintf(codes, sizeof codes, " (%s%s%s%.32s)", *num ? "code " : "", num,
			 *num && label ? " " : "", label ? label : "");
	long long c = json_integer_value(code); /* 0 when not an integer */
	int auth = c == 401 || c == 403 || (label && strcmp(label, "UNAUTHORIZED") == 0);
	return perr_set(err, PERR_UNAVAILABLE, auth ? "token" : NULL,
			"DataHub answered an error: %s%s", quote, codes);
}

/* POSTs {query, operationName, variables} (vars is stolen) and hands back
 * the parsed answer in *root (the caller decrefs) and its `data` object in
 * *data (borrowed from *root). */
static int post(struct datahub *d, const char *doc, const char *op, json_t *vars, json_t **root,
		json_t **data, struct perr *err)
{
	*root = NULL;
	*data = NULL;
	json_t *req = json_pack("{s:s,s:s,s:o}", "query", doc, "operationName", op, "variables",
				vars);
	char *payload = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	CURL *e = httpc_easy_new(USER_AGENT, d->timeout_ms, d->pool);
	struct curl_slist *headers = NULL;
	struct httpc_body bd = {BUF_INIT, DATAHUB_BODY_MAX, 1, 0};
	int rc;
	if (!payload || !e) {
		rc = perr_set(err, PERR_INTERNAL, NULL, "could not build the request to DataHub");
		goto done;
	}
	httpc_header_add(&headers, "Content-Type: application/json");
	httpc_header_add(&headers, "Accept: application/json");
	httpc_header_add(&headers, "Expect:"); /* no 100-continue round trip */
	if (d->auth)
		httpc_header_add(&headers, d->auth);

	int bad = 0;
	bad |= curl_easy_setopt(e, CURLOPT_URL, d->endpoint) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, payload) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(payload)) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers) != CURLE_OK;
	/* An announced size over the cap fails before any byte is read. */
	bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)DATAHUB_BODY_MAX) != CURLE_OK;
	bad |= httpc_body_set(e, &bd) < 0;
	if (bad) {
		rc = perr_set(err, PERR_INTERNAL, NULL, "could not prepare the request to DataHub");
		goto done;
	}

	CURLcode cc = curl_easy_perform(e);
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (bd.over || cc == CURLE_FILESIZE_EXCEEDED) {
		rc = perr_set(err, PERR_TOO_LARGE, NULL,
			      "DataHub's answer is larger than the %d MiB limit (DATAHUB_BODY_MAX)",
			      DATAHUB_BODY_MAX / (1024 * 1024));
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		rc = perr_set(err, PERR_UNAVAILABLE, NULL, "DataHub did not answer within %d ms",
			      d->timeout_ms);
	} else if (cc != CURLE_OK) {
		rc = perr_set(err, PERR_UNAVAILABLE, NULL, "DataHub did not answer: %s",
			      transport_failure(cc));
	} else if (status == 401 || status == 403) {
		rc = perr_set(err, PERR_UNAVAILABLE, "token",
			      d->auth ? "DataHub refused the token (HTTP %ld)"
				      : "DataHub refused the request: it needs a token (HTTP %ld)",
			      status);
	} else if (status < 200 || status > 299) {
		rc = perr_set(err, PERR_UNAVAILABLE, NULL, "DataHub answered HTTP %ld", status);
	} else {
		json_error_t jerr; /* its text may quote the answer: not used */
		*root = json_loadb(buf_cstr(&bd.b), bd.b.len, 0, &jerr);
		json_t *errors = json_object_get(*root, "errors");
		if (!json_is_object(*root))
			rc = perr_set(err, PERR_UNAVAILABLE, NULL,
				      "DataHub's answer is not a JSON object");
		else if (json_is_array(errors) && json_array_size(errors) > 0)
			rc = graphql_error(d, json_array_get(errors, 0), err);
		else if (!json_is_object(json_object_get(*root, "data")))
			rc = perr_set(err, PERR_UNAVAILABLE, NULL, "DataHub's answer has no data");
		else
			rc = 0;
		if (rc == 0) {
			*data = json_object_get(*root, "data");
		} else {
			json_decref(*root);
			*root = NULL;
		}
	}

done:
	httpc_headers_free(headers);
	if (e)
		curl_easy_cleanup(e);
	httpc_body_free(&bd);
	free(payload);
	return rc;
}

/* --- answers */

static int urn_check(const char *urn, struct perr *err)
{
	if (!urn || !*urn)
		return perr_set(err, PERR_INVALID, "urn", "a DataHub urn is required");
	if (strlen(urn) >= DATAHUB_URN_MAX)
		return perr_set(err, PERR_INVALID, "urn", "the urn is longer than %d bytes",
				DATAHUB_URN_MAX - 1);
	if (strncmp(urn, "urn:li:", 7) != 0)
		return perr_set(err, PERR_INVALID, "urn", "a DataHub urn starts with urn:li:");
	return 0;
}

static const char *str_at(json_t *obj, const char *k1, const char *k2)
{
	json_t *v = json_object_get(obj, k1);
	if (k2)
		v = json_object_get(v, k2);
	const char *s = json_string_value(v);
	return s && *s ? s : NULL;
}

/* Fills out from one Entity of portalEntityFields; -1 when it has no urn or
 * its urn does not fit (a cut urn would name another entity). */
static int entity_from_json(json_t *e, struct datahub_entity *out)
{
	memset(out, 0, sizeof *out);
	const char *urn = str_at(e, "urn", NULL);
	if (!urn || strlen(urn) >= sizeof out->urn)
		return -1;
	memcpy(out->urn, urn, strlen(urn) + 1);
	const char *type = str_at(e, "type", NULL);
	if (type)
		copy_text(out->type, sizeof out->type, type, strlen(type));
	const char *name = str_at(e, "properties", "name");
	if (!name)
		name = str_at(e, "name", NULL);
	if (!name)
		name = str_at(e, "fieldPath", NULL);
	if (name)
		copy_text(out->name, sizeof out->name, name, strlen(name));
	const char *platform = str_at(e, "platform", "name");
	if (!platform)
		platform = str_at(json_object_get(e, "dataFlow"), "platform", "name");
	if (platform)
		copy_text(out->platform, sizeof out->platform, platform, strlen(platform));
	return 0;
}

int datahub_lineage(struct datahub *d, const char *urn, enum datahub_direction dir, int count,
		    struct datahub_lineage *out, struct perr *err)
{
	memset(out, 0, sizeof *out);
	int rc = urn_check(urn, err);
	if (rc < 0)
		return rc;
	if (count < 1 || count > DATAHUB_LINEAGE_MAX)
		return perr_set(err, PERR_INVALID, "count", "count must be 1 to %d",
				DATAHUB_LINEAGE_MAX);
	if (dir != DATAHUB_UPSTREAM && dir != DATAHUB_DOWNSTREAM)
		return perr_set(err, PERR_INVALID, "direction",
				"the direction is neither upstream nor downstream");
	json_t *vars = json_pack("{s:s,s:s,s:i}", "urn", urn, "direction",
				 dir == DATAHUB_UPSTREAM ? "UPSTREAM" : "DOWNSTREAM", "count", count);
	if (!vars)
		return perr_set(err, PERR_INVALID, "urn", "the urn is not valid UTF-8");
	json_t *root, *data;
	rc = post(d, d->lineage_doc, OP_LINEAGE, vars, &root, &data, err);
	if (rc < 0)
		return rc;
	json_t *res = json_object_get(data, "searchAcrossLineage");
	json_t *list = json_object_get(res, "searchResults");
	if (!json_is_object(res) || !json_is_array(list)) {
		json_decref(root);
		return perr_set(err, PERR_UNAVAILABLE, NULL,
				"DataHub's answer has no searchAcrossLineage results");
	}
	size_t cap = json_array_size(list);
	if (cap > (size_t)count)
		cap = (size_t)count;
	out->total = json_integer_value(json_object_get(res, "total"));
	out->partial = json_is_true(json_object_get(res, "isPartial"));
	if (cap) {
		out->items = calloc(cap, sizeof *out->items);
		if (!out->items)
			abort();
	}
	for (size_t i = 0; i < json_array_size(list) && out->n < cap; i++) {
		json_t *r = json_array_get(list, i);
		struct datahub_lineage_item *it = &out->items[out->n];
		if (entity_from_json(json_object_get(r, "entity"), &it->entity) < 0)
			continue;
		it->degree = (int)json_integer_value(json_object_get(r, "degree"));
		out->n++;
	}
	json_decref(root);
	return 0;
}

void datahub_lineage_clear(struct datahub_lineage *l)
{
	free(l->items);
	memset(l, 0, sizeof *l);
}

int datahub_entity(struct datahub *d, const char *urn, struct datahub_entity *out,
		   struct perr *err)
{
	memset(out, 0, sizeof *out);
	int rc = urn_check(urn, err);
	if (rc < 0)
		return rc;
	json_t *vars = json_pack("{s:s}", "urn", urn);
	if (!vars)
		return perr_set(err, PERR_INVALID, "urn", "the urn is not valid UTF-8");
	json_t *root, *data;
	rc = post(d, d->entity_doc, OP_ENTITY, vars, &root, &data, err);
	if (rc < 0)
		return rc;
	json_t *e = json_object_get(data, "entity");
	if (json_is_false(json_object_get(data, "entityExists")) || !json_is_object(e))
		rc = perr_set(err, PERR_NOT_FOUND, "urn", "DataHub knows no entity with this urn");
	else if (entity_from_json(e, out) < 0)
		rc = perr_set(err, PERR_UNAVAILABLE, NULL,
			      "DataHub's answer has an entity without a usable urn");
	json_decref(root);
	if (rc < 0)
		memset(out, 0, sizeof *out);
	return rc;
}

/* --- links */

/* The path DataHub's web app gives each entity type (its entity registry's
 * getPathName). A type not here has no page Portal links to. */
static const struct {
	const char *type, *page;
} pages[] = {
	{"DATASET", "dataset"},
	{"DATA_JOB", "tasks"},
	{"DATA_FLOW", "pipelines"},
	{"CHART", "chart"},
	{"DASHBOARD", "dashboard"},
	{"CONTAINER", "container"},
	{"MLMODEL", "mlModels"},
	{"MLFEATURE_TABLE", "featureTables"},
	{"GLOSSARY_TERM", "glossaryTerm"},
};

int datahub_entity_link(const struct public_url *pub, const char *type, const char *urn,
			char *buf, size_t cap)
{
	if (cap)
		buf[0] = '\0';
	const char *page = NULL;
	for (size_t i = 0; type && i < sizeof pages / sizeof pages[0]; i++)
		if (strcmp(pages[i].type, type) == 0)
			page = pages[i].page;
	if (!pub || !pub->s[0])
		return PERR_INVALID;
	if (!page || !urn || !*urn || strlen(urn) >= DATAHUB_URN_MAX)
		return PERR_INVALID;
	/* Since curl 7.82 the handle is not used: NULL needs none. */
	char *enc = curl_easy_escape(NULL, urn, (int)strlen(urn));
	if (!enc)
		abort(); /* out of memory, as buf does */
	size_t plen = strnlen(pub->s, sizeof pub->s);
	while (plen && pub->s[plen - 1] == '/')
		plen--;
	int n = snprintf(buf, cap, "%.*s/%s/%s", (int)plen, pub->s, page, enc);
	curl_free(enc);
	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			buf[0] = '\0';
		return PERR_TOO_LARGE;
	}
	return 0;
}
