/* fuzz_http_executor: what an http executor target answers to the POST of a
 * proposal. The input is a script (support/fake_http.h) whose first answer
 * is served on loopback to one executor_run; one input in eight (by its
 * length) is served a second time with its body repeated to within a few
 * bytes of the 1 MiB output cap, on either side of it.
 *
 * Besides crashes: the error never quotes the bearer credential or the
 * executor's host:port; the attempt is ok exactly on a 2xx; a failed answer
 * is retryable exactly on 408, 429 and 5xx; the evidence's digest and size
 * are those of the body sent, cut at the cap, and "truncated" says whether
 * it was cut. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "exec/executor.h"
#include "support/fake_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BEARER "exec-bearer-s3cr3t"

static struct component_contract runner = {
	.name = "runner",
	.ownership = OWNERSHIP_OWNED,
	.auth = CONTRACT_AUTH_BEARER,
	.auth_secret = "runner-token",
};
static struct proposal_kind kind = {
	.name = "restart-service",
	.executor = EXECUTOR_HTTP,
	.component = "runner",
	.secret = "runner-token",
	.timeout_ms = 15000,
};
static struct catalogue cat = {.components = &runner, .ncomponents = 1, .kinds = &kind,
			       .nkinds = 1};
static char hostport[32];

static void evidence_check(const json_t *ev, int status, const char *body, size_t len)
{
	size_t kept = len < EXEC_OUTPUT_MAX ? len : EXEC_OUTPUT_MAX;
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)body, kept);
	char digest[7 + crypto_hash_sha256_BYTES * 2 + 1] = "sha256:";
	sodium_bin2hex(digest + 7, sizeof digest - 7, h, sizeof h);
	const char *d = json_string_value(json_object_get(ev, "digest"));
	const char *out = json_string_value(json_object_get(ev, "output"));
	if (!d || strcmp(d, digest) != 0)
		abort(); /* the digest is not that of the body sent */
	if (json_integer_value(json_object_get(ev, "size")) != (json_int_t)kept)
		abort();
	if (json_is_true(json_object_get(ev, "truncated")) != (len > EXEC_OUTPUT_MAX))
		abort();
	if (json_integer_value(json_object_get(ev, "status")) != status)
		abort();
	/* each kept byte shows as itself or as U+FFFD (3 bytes) */
	if (!out || json_string_length(json_object_get(ev, "output")) >
			    3 * (kept < EXEC_EVIDENCE_TEXT_MAX ? kept : EXEC_EVIDENCE_TEXT_MAX))
		abort();
	if (strcmp(json_string_value(json_object_get(ev, "executor")), "http") != 0)
		abort();
}

static void run_once(void)
{
	char input[] = "{\"project\":\"atlas\",\"service\":\"ingest\"}";
	struct store_proposal p;
	memset(&p, 0, sizeof p);
	snprintf(p.id, sizeof p.id, "p-0011223344556677");
	snprintf(p.kind, sizeof p.kind, "restart-service");
	p.input = input;
	struct exec_job job = {.kind = &kind, .proposal = &p, .cat = &cat,
			       .secret_value = BEARER};
	struct exec_result out;
	int rc = executor_run(&job, &out);

	const char *body;
	size_t len;
	int status = fake_http_answer(0, &body, &len);
	if (status == 204 || status == 304)
		len = 0; /* an answer that has no body by definition: curl reads none */
	if (strstr(out.error, "s3cr3t") || strstr(out.error, hostport) ||
	    strstr(out.error, "127.0.0.1"))
		abort(); /* an error names the credential or the address */
	if (!memchr(out.error, '\0', sizeof out.error))
		abort();
	if ((rc == 0) != (out.ok == 1) || (out.ok && out.error[0]))
		abort();
	if (fake_http_requests() == 1) {
		/* the answer arrived whole: judge it */
		if (out.ok != (status >= 200 && status < 300))
			abort();
		if (!out.ok && out.retryable != (status == 408 || status == 429 || status >= 500))
			abort();
		if (!out.evidence)
			abort();
		evidence_check(out.evidence, status, body, len);
	}
	exec_result_clear(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!runner.executor_url.s[0]) {
		const char *u = fake_http_url();
		snprintf(runner.executor_url.s, sizeof runner.executor_url.s, "%s/v1/proposals", u);
		snprintf(hostport, sizeof hostport, "%s", u + strlen("http://"));
	}
	fake_http_script(data, size, 404);
	run_once();
	if (size % 8 != 0)
		return 0;

	/* The same answer, its body repeated up to the cap - 2 .. cap + 1. */
	const char *body;
	size_t len;
	int status = fake_http_answer(0, &body, &len);
	size_t want = EXEC_OUTPUT_MAX - 2 + size / 8 % 4;
	char *big = malloc(4 + want);
	if (!big)
		abort();
	int head = snprintf(big, 5, "%03d ", status);
	for (size_t i = 0; i < want; i++)
		big[head + i] = len ? body[i % len] : 'x';
	/* no separator may appear in the repeated body, or it would split */
	char *sep;
	while ((sep = memmem(big, (size_t)head + want, "\n---\n", 5)))
		sep[1] = '=';
	fake_http_script((const uint8_t *)big, (size_t)head + want, 404);
	free(big);
	run_once();
	return 0;
}
