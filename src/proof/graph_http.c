/* graph_http: the graph plane as the HTTP JSON service of docs/proof-planes.md
 * — POST {base}/graphs/{graph}/triples adds, GET …/triples?subject= reads.
 * Every call blocks. It keeps no cache and does not read meaning into objects;
 * an answer that breaks the contract is refused whole, never truncated. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proof/http_json.h"
#include "proof/proof.h"

#define GRAPH_HTTP_WHAT "the graph service"
#define GRAPH_HTTP_BATCH 500 /* triples per POST (docs/proof-planes.md) */

/* A name Portal sends: not empty, and shorter than cap with its NUL. */
static int check_name(const char *s, size_t cap, const char *field, struct perr *err)
{
	if (!s || !s[0])
		return perr_set(err, PERR_INVALID, field, "%s is empty", field);
	if (strnlen(s, cap) >= cap)
		return perr_set(err, PERR_INVALID, field, "%s is longer than %zu bytes", field,
				cap - 1);
	return 0;
}

/* Adds s as member key of o; PERR_INVALID naming field when it does not end
 * within cap or is not UTF-8 (jansson refuses it). */
static int put_str(json_t *o, const char *key, const char *s, size_t cap, const char *field,
		   struct perr *err)
{
	size_t len = strnlen(s, cap);
	if (len >= cap)
		return perr_set(err, PERR_INVALID, field, "%s is longer than %zu bytes", field,
				cap - 1);
	json_t *v = json_stringn(s, len);
	if (!v)
		return perr_set(err, PERR_INVALID, field, "%s is not UTF-8", field);
	json_object_set_new(o, key, v);
	return 0;
}

static int triple_json(const struct proof_triple *t, size_t i, json_t **out, struct perr *err)
{
	char field[64];
	json_t *o = json_object();
	if (!o)
		abort();
	int rc = 0;
	snprintf(field, sizeof field, "triples[%zu].subject", i);
	if (!t->subject[0])
		rc = perr_set(err, PERR_INVALID, field, "%s is empty", field);
	if (!rc)
		rc = put_str(o, "subject", t->subject, sizeof t->subject, field, err);
	snprintf(field, sizeof field, "triples[%zu].predicate", i);
	if (!rc && !t->predicate[0])
		rc = perr_set(err, PERR_INVALID, field, "%s is empty", field);
	if (!rc)
		rc = put_str(o, "predicate", t->predicate, sizeof t->predicate, field, err);
	snprintf(field, sizeof field, "triples[%zu].object", i);
	if (!rc)
		rc = put_str(o, "object", t->object, sizeof t->object, field, err);
	if (rc) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return 0;
}

static void path_of(struct buf *b, const char *graph)
{
	buf_puts(b, "/graphs/");
	http_json_escape(b, graph);
	buf_puts(b, "/triples");
}

static int graph_http_put(void *impl, const char *graph, const struct proof_triple *t, size_t n,
			  struct perr *err)
{
	const struct http_json *h = impl;
	int rc = check_name(graph, PROOF_ID_MAX, "graph", err);
	if (rc < 0)
		return rc;
	if (n == 0)
		return 0;
	if (!t)
		return perr_set(err, PERR_INVALID, "triples", "no triples to add");
	/* Every triple is checked before the first request, so a bad one sends
	 * nothing. */
	json_t *all = json_array();
	if (!all)
		abort();
	for (size_t i = 0; i < n; i++) {
		json_t *o = NULL;
		if ((rc = triple_json(&t[i], i, &o, err)) < 0) {
			json_decref(all);
			return rc;
		}
		json_array_append_new(all, o);
	}
	struct buf path = BUF_INIT;
	path_of(&path, graph);
	for (size_t from = 0; from < n && rc == 0; from += GRAPH_HTTP_BATCH) {
		size_t to = n - from > GRAPH_HTTP_BATCH ? from + GRAPH_HTTP_BATCH : n;
		json_t *batch = json_array();
		if (!batch)
			abort();
		for (size_t i = from; i < to; i++)
			json_array_append(batch, json_array_get(all, i));
		json_t *body = json_pack("{s:o}", "triples", batch);
		if (!body)
			abort();
		long status;
		json_t *answer;
		rc = http_json_request(h, "POST", buf_cstr(&path), body, &status, &answer, err);
		if (rc == 0 && (status < 200 || status > 299))
			rc = http_json_status_error(h, status, answer, err);
		json_decref(answer);
		json_decref(body);
	}
	buf_free(&path);
	json_decref(all);
	return rc;
}

/* Reads one triple of an answer into out, refusing what the contract does
 * not allow: a member missing or not a string, one longer than Portal keeps,
 * an empty predicate, or a subject other than the one asked for. */
static int triple_read(const json_t *o, const char *subject, struct proof_triple *out,
		       struct perr *err)
{
	static const struct {
		const char *key;
		size_t off, cap;
	} members[] = {
		{"subject", offsetof(struct proof_triple, subject), PROOF_IRI_MAX},
		{"predicate", offsetof(struct proof_triple, predicate), PROOF_IRI_MAX},
		{"object", offsetof(struct proof_triple, object), PROOF_TEXT_MAX},
	};
	if (!json_is_object(o))
		return perr_set(err, PERR_UNAVAILABLE, NULL,
				GRAPH_HTTP_WHAT " answered a triple that is not an object");
	for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
		int rc = http_json_copy((char *)out + members[i].off, members[i].cap, o,
					members[i].key);
		if (rc == -1)
			return perr_set(err, PERR_UNAVAILABLE, NULL,
					GRAPH_HTTP_WHAT " answered a triple without %s as a string",
					members[i].key);
		if (rc == -2)
			return perr_set(err, PERR_UNAVAILABLE, NULL,
					GRAPH_HTTP_WHAT " answered a triple longer than Portal "
					"keeps (%s over %zu bytes)", members[i].key,
					members[i].cap - 1);
	}
	if (strcmp(out->subject, subject) != 0)
		return perr_set(err, PERR_UNAVAILABLE, NULL,
				GRAPH_HTTP_WHAT " answered a triple about another subject than "
				"the one asked for");
	if (!out->predicate[0])
		return perr_set(err, PERR_UNAVAILABLE, NULL,
				GRAPH_HTTP_WHAT " answered a triple with an empty predicate");
	return 0;
}

static int graph_http_about(void *impl, const char *graph, const char *subject,
			    proof_triple_fn fn, void *arg, struct perr *err)
{
	const struct http_json *h = impl;
	int rc = check_name(graph, PROOF_ID_MAX, "graph", err);
	if (rc == 0)
		rc = check_name(subject, PROOF_IRI_MAX, "subject", err);
	if (rc < 0)
		return rc;
	if (!fn)
		return perr_set(err, PERR_INVALID, NULL, "no function to call for each triple");
	struct buf path = BUF_INIT;
	path_of(&path, graph);
	buf_puts(&path, "?subject=");
	http_json_escape(&path, subject);
	long status;
	json_t *answer;
	rc = http_json_request(h, "GET", buf_cstr(&path), NULL, &status, &answer, err);
	buf_free(&path);
	if (rc < 0)
		return rc;
	if (status == 404) { /* no such graph: no triples */
		json_decref(answer);
		return 0;
	}
	if (status < 200 || status > 299) {
		rc = http_json_status_error(h, status, answer, err);
		json_decref(answer);
		return rc;
	}
	json_t *list = json_object_get(answer, "triples");
	if (!json_is_array(list)) {
		json_decref(answer);
		return perr_set(err, PERR_UNAVAILABLE, NULL,
				GRAPH_HTTP_WHAT " answered something that is not {\"triples\":[…]}");
	}
	/* The whole answer is checked before fn sees any of it. */
	struct proof_triple t;
	size_t i;
	json_t *o;
	json_array_foreach(list, i, o) {
		if ((rc = triple_read(o, subject, &t, err)) < 0)
			break;
	}
	if (rc == 0) {
		json_array_foreach(list, i, o) {
			triple_read(o, subject, &t, NULL);
			if (fn(arg, &t) < 0)
				break;
		}
	}
	json_decref(answer);
	return rc;
}

static void graph_http_close(void *impl)
{
	struct http_json *h = impl;
	if (!h)
		return;
	http_json_close(h);
	free(h);
}

static const struct graph_ops graph_http_ops = {
	.name = "http",
	.put = graph_http_put,
	.about = graph_http_about,
	.close = graph_http_close,
};

int graph_http_open(const struct proof_remote *r, struct graph *out, struct perr *err)
{
	out->ops = NULL;
	out->impl = NULL;
	struct http_json *h = calloc(1, sizeof *h);
	if (!h)
		abort();
	int rc = http_json_open(h, GRAPH_HTTP_WHAT, r, err);
	if (rc < 0) {
		http_json_close(h);
		free(h);
		return rc;
	}
	out->ops = &graph_http_ops;
	out->impl = h;
	return 0;
}
