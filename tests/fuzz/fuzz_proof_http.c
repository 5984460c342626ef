/* fuzz_proof_http: what the HTTP proof planes answer, read by their clients.
 * The input is a script of answers (support/fake_http.h) served on loopback:
 * the first answers the graph service's triples query, the second the
 * evidence service's records query. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proof/proof.h"
#include "support/fake_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TOKEN "pl4ne-token"
#define PROPOSAL "p-0011223344556677"
#define SUBJECT "urn:portal:proposal:" PROPOSAL

static int each_triple(void *arg, const struct proof_triple *t)
{
	if (strcmp(t->subject, SUBJECT) != 0 || !t->predicate[0])
		abort(); /* a triple the plane promised to refuse */
	return 0;
}

static int each_record(void *arg, const struct proof_evidence *e)
{
	if (strcmp(e->proposal, PROPOSAL) != 0 || !e->id[0])
		abort(); /* a record the plane promised to refuse */
	return 0;
}

static void secret_kept(const struct perr *err)
{
	if (strstr(err->msg, TOKEN) || strstr(err->msg, "127.0.0.1"))
		abort(); /* an error names the token or the address */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fake_http_script(data, size, 404);
	struct proof_remote r = {.url = fake_http_url(), .secret = TOKEN, .timeout_ms = 5000};
	struct perr err = {0};
	struct graph g;
	if (graph_http_open(&r, &g, &err) < 0)
		abort();
	g.ops->about(g.impl, "atlas", SUBJECT, each_triple, NULL, &err);
	secret_kept(&err);
	graph_close(&g);

	struct evidence e;
	memset(&err, 0, sizeof err);
	if (evidence_http_open(&r, &e, &err) < 0)
		abort();
	e.ops->of(e.impl, PROPOSAL, each_record, NULL, &err);
	secret_kept(&err);
	evidence_close(&e);
	return 0;
}
