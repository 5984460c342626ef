/* executor: the dispatch from a kind's executor to its backend, and the
 * evidence every backend builds the same way (a SHA-256 digest of the kept
 * output, its size, and its start as text). The backends are exec.c,
 * http.c and temporal_run.c (on temporal.c).
 *
 * The executor table has two halves under one enum. core/executor_kind.c
 * holds what a configuration may say (each executor's name and the
 * execute: keys it takes), because the config loader and the catalogue
 * check are pure and may not see this directory; backends[] below holds
 * what runs. A core row without a backend here fails its unit test
 * (exec/every_executor_has_a_backend_of_the_same_name), not a proposal. */
#include "exec/executor.h"
#include "util/httpc.h"
#include "util/utf8.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc;

static void global_start(void)
{
	if (sodium_init() < 0 || httpc_global_init() < 0)
		global_rc = -1;
}

int executor_global_init(struct perr *err)
{
	pthread_once(&global_once, global_start);
	if (global_rc < 0)
		return perr_set(err, PERR_INTERNAL, NULL, "libsodium or libcurl could not start");
	return 0;
}

int exec_fail(struct exec_result *out, int retryable, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->error, sizeof out->error, fmt, ap);
	va_end(ap);
	out->ok = 0;
	out->retryable = retryable;
	return -1;
}

void exec_result_clear(struct exec_result *out)
{
	json_decref(out->evidence);
	memset(out, 0, sizeof *out);
}

/* The backend of each row of executor_defs (core/executor_kind.c). */
static const struct executor_ops *const backends[EXECUTOR_KIND_COUNT] = {
	[EXECUTOR_EXEC] = &executor_exec,
	[EXECUTOR_HTTP] = &executor_http,
	[EXECUTOR_TEMPORAL] = &executor_temporal,
};

const struct executor_ops *executor_backend(enum executor_kind e)
{
	return (unsigned)e < EXECUTOR_KIND_COUNT ? backends[e] : NULL;
}

int executor_run(const struct exec_job *job, struct exec_result *out)
{
	memset(out, 0, sizeof *out);
	if (!job->kind || !job->proposal)
		return exec_fail(out, 0, "nothing to run: no kind or no proposal");
	struct perr err = {0};
	if (executor_global_init(&err) < 0)
		return exec_fail(out, 1, "%s", err.msg);
	const struct executor_ops *ops = executor_backend(job->kind->executor);
	if (!ops)
		return exec_fail(out, 0, "the requested executor is not available in this build");
	return ops->run(job, out);
}

/* data as a JSON string; bytes that are not UTF-8 become U+FFFD. */
static json_t *text_of(const unsigned char *data, size_t len)
{
	static const char repl[] = "\xEF\xBF\xBD";
	char *t = malloc(len * 3 + 1);
	if (!t)
		return json_string("");
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		size_t k = utf8_seq(data + i, len - i);
		if (k == 0) {
			memcpy(t + o, repl, 3);
			o += 3;
			i++;
		} else {
			memcpy(t + o, data + i, k);
			o += k;
			i += k;
		}
	}
	json_t *s = json_stringn(t, o);
	free(t);
	return s ? s : json_string("");
}

json_t *exec_evidence(const char *executor, const unsigned char *data, size_t len,
		      int truncated)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, data, len);
	char digest[7 + crypto_hash_sha256_BYTES * 2 + 1] = "sha256:";
	sodium_bin2hex(digest + 7, sizeof digest - 7, h, sizeof h);
	size_t shown = len < EXEC_EVIDENCE_TEXT_MAX ? len : EXEC_EVIDENCE_TEXT_MAX;
	return json_pack("{s:s,s:s,s:I,s:s,s:b,s:o}", "executor", executor, "digest", digest,
			 "size", (json_int_t)len, "location", "inline", "truncated", truncated,
			 "output", text_of(data, shown));
}
