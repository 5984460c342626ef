/* evidence_http: the evidence plane as the HTTP JSON service of
 * docs/proof-planes.md — PUT {base}/evidence/{id} stores a record once,
 * GET {base}/evidence?proposal= reads a proposal's records. Every call
 * blocks. It never replaces a record and never checks what a digest is of;
 * an answer that breaks the contract is refused whole, never truncated. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proof/http_json.h"
#include "proof/proof.h"

#define EVIDENCE_HTTP_WHAT "the evidence service"

/* The string members of a record, where they live and how long they may be. */
static const struct {
	const char *key;
	size_t off, cap;
	int required; /* not empty */
} members[] = {
	{"id", offsetof(struct proof_evidence, id), PROOF_ID_MAX, 1},
	{"proposal", offsetof(struct proof_evidence, proposal), PROOF_ID_MAX, 1},
	{"digest", offsetof(struct proof_evidence, digest), PROOF_DIGEST_MAX, 0},
	{"location", offsetof(struct proof_evidence, location), PROOF_TEXT_MAX, 0},
	{"producer", offsetof(struct proof_evidence, producer),
	 sizeof ((struct proof_evidence *)0)->producer, 0},
};
#define NMEMBERS (sizeof members / sizeof members[0])

/* The record as the JSON Portal sends, or PERR_INVALID naming the field. */
static int record_json(const struct proof_evidence *e, json_t **out, struct perr *err)
{
	if (e->size < 0)
		return perr_set(err, PERR_INVALID, "size", "the record's size is negative");
	json_t *o = json_object();
	if (!o)
		abort();
	for (size_t i = 0; i < NMEMBERS; i++) {
		const char *s = (const char *)e + members[i].off, *key = members[i].key;
		size_t len = strnlen(s, members[i].cap);
		json_t *v = NULL;
		int rc = 0;
		if (members[i].required && len == 0)
			rc = perr_set(err, PERR_INVALID, key, "the record's %s is empty", key);
		else if (len >= members[i].cap)
			rc = perr_set(err, PERR_INVALID, key,
				      "the record's %s is longer than %zu bytes", key,
				      members[i].cap - 1);
		else if (!(v = json_stringn(s, len)))
			rc = perr_set(err, PERR_INVALID, key, "the record's %s is not UTF-8", key);
		if (rc < 0) {
			json_decref(o);
			return rc;
		}
		json_object_set_new(o, key, v);
		if (strcmp(key, "digest") == 0) /* size after digest, as the contract lists */
			json_object_set_new(o, "size", json_integer(e->size));
	}
	*out = o;
	return 0;
}

static int evidence_http_put(void *impl, const struct proof_evidence *e, struct perr *err)
{
	const struct http_json *h = impl;
	if (!e)
		return perr_set(err, PERR_INVALID, NULL, "no evidence record to store");
	json_t *body = NULL;
	int rc = record_json(e, &body, err);
	if (rc < 0)
		return rc;
	struct buf path = BUF_INIT;
	buf_puts(&path, "/evidence/");
	http_json_escape(&path, e->id);
	long status;
	json_t *answer;
	rc = http_json_request(h, "PUT", buf_cstr(&path), body, &status, &answer, err);
	if (rc == 0 && status == 409)
		rc = perr_set(err, PERR_CONFLICT, "id",
			      "evidence record %s already exists with other content", e->id);
	else if (rc == 0 && (status < 200 || status > 299))
		rc = http_json_status_error(h, status, answer, err);
	json_decref(answer);
	json_decref(body);
	buf_free(&path);
	return rc;
}

/* Reads one record of an answer into out, refusing what the contract does
 * not allow: a member missing or of another type, one longer than Portal
 * keeps, an empty id, a negative size, or another proposal's record. */
static int record_read(const json_t *o, const char *proposal, struct proof_evidence *out,
		       struct perr *err)
{
	if (!json_is_object(o))
		return perr_set(err, PERR_UNAVAILABLE, NULL,
				EVIDENCE_HTTP_WHAT " answered a record that is not an object");
	for (size_t i = 0; i < NMEMBERS; i++) {
		int rc = http_json_copy((char *)out + members[i].off, members[i].cap, o,
					members[i].key);
		if (rc == -1)
			return perr_set(err, PERR_UNAVAILABLE, NULL,
					EVIDENCE_HTTP_WHAT " answered a record without %s as a "
					"string", members[i].key);
		if (rc == -2)
			return perr_set(err, PERR_UNAVAILABLE, NULL,
					EVIDENCE_HTTP_WHAT " answered a record longer than Portal "
					"keeps (%s over %zu bytes)", members[i].key,
					members[i].cap - 1);
	}
	json_t *size = json_object_get(o, "size");
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return perr_set(err, PERR_UNAVAILABLE, NULL,
				EVIDENCE_HTTP_WHAT " answered a record without size as an "
				"integer of 0 or more");
	out->size = json_integer_value(size);
	if (!out->id[0])
		return perr_set(err, PERR_UNAVAILABLE, NULL,
				EVIDENCE_HTTP_WHAT " answered a record with an empty id");
	if (strcmp(out->proposal, proposal) != 0)
		return perr_set(err, PERR_UNAVAILABLE, NULL,
				EVIDENCE_HTTP_WHAT " answered a record of another proposal than "
				"the one asked for");
	return 0;
}

static int evidence_http_of(void *impl, const char *proposal, proof_evidence_fn fn, void *arg,
			    struct perr *err)
{
	const struct http_json *h = impl;
	if (!proposal || !proposal[0])
		return perr_set(err, PERR_INVALID, "proposal", "proposal is empty");
	if (strnlen(proposal, PROOF_ID_MAX) >= PROOF_ID_MAX)
		return perr_set(err, PERR_INVALID, "proposal", "proposal is longer than %d bytes",
				PROOF_ID_MAX - 1);
	if (!fn)
		return perr_set(err, PERR_INVALID, NULL, "no function to call for each record");
	struct buf path = BUF_INIT;
	buf_puts(&path, "/evidence?proposal=");
	http_json_escape(&path, proposal);
	long status;
	json_t *answer;
	int rc = http_json_request(h, "GET", buf_cstr(&path), NULL, &status, &answer, err);
	buf_free(&path);
	if (rc < 0)
		return rc;
	if (status < 200 || status > 299) {
		rc = http_json_status_error(h, status, answer, err);
		json_decref(answer);
		return rc;
	}
	json_t *list = json_object_get(answer, "records");
	if (!json_is_array(list)) {
		json_decref(answer);
		return perr_set(err, PERR_UNAVAILABLE, NULL,
				EVIDENCE_HTTP_WHAT " answered something that is not "
				"{\"records\":[…]}");
	}
	/* The whole answer is checked before fn sees any of it. */
	struct proof_evidence e;
	size_t i;
	json_t *o;
	json_array_foreach(list, i, o) {
		if ((rc = record_read(o, proposal, &e, err)) < 0)
			break;
	}
	if (rc == 0) {
		json_array_foreach(list, i, o) {
			record_read(o, proposal, &e, NULL);
			if (fn(arg, &e) < 0)
				break;
		}
	}
	json_decref(answer);
	return rc;
}

static void evidence_http_close(void *impl)
{
	struct http_json *h = impl;
	if (!h)
		return;
	http_json_close(h);
	free(h);
}

static const struct evidence_ops evidence_http_ops = {
	.name = "http",
	.put = evidence_http_put,
	.of = evidence_http_of,
	.close = evidence_http_close,
};

int evidence_http_open(const struct proof_remote *r, struct evidence *out, struct perr *err)
{
	out->ops = NULL;
	out->impl = NULL;
	struct http_json *h = calloc(1, sizeof *h);
	if (!h)
		abort();
	int rc = http_json_open(h, EVIDENCE_HTTP_WHAT, r, err);
	if (rc < 0) {
		http_json_close(h);
		free(h);
		return rc;
	}
	out->ops = &evidence_http_ops;
	out->impl = h;
	return 0;
}
