/* fuzz_clickhouse: what ClickHouse answers, read by the project's client.
 * The input is a script of answers (support/fake_http.h) served on loopback
 * to the warehouse proof plane: the first answers its EXISTS TABLE
 * ({"result":1}; with 0 the next answers the CREATE TABLE), the next the
 * facts query (JSONEachRow rows, each parsed into a fact, or an exception
 * text with an error status). The same bytes also go straight to
 * clickhouse_exception (the error text a person may see) and through
 * clickhouse_quote, whose literal must never end early. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/clickhouse.h"
#include "proof/proof.h"
#include "support/fake_http.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_fact(void *arg, const struct proof_fact *f)
{
	(void)f;
	++*(int *)arg;
	return 0;
}

static void exception_text(const char *body, size_t len)
{
	static const size_t caps[] = {1, 8, 64, 256};
	char text[256];
	clickhouse_exception(body, len, NULL, 0);
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		memset(text, 'x', sizeof text);
		if (clickhouse_exception(body, len, text, caps[i]) == 0 && text[0])
			abort(); /* no exception, yet some text */
		if (!memchr(text, 0, caps[i]))
			abort(); /* the text overran its buffer */
		for (const char *p = text; *p; p++)
			if (*p == '\n' || *p == '\r')
				abort(); /* promised on one line */
	}
}

/* The literal: a quote, then escaped bytes, then the closing quote. */
static void quote(const char *s, size_t len)
{
	struct buf b = BUF_INIT;
	struct perr err = {0};
	if (clickhouse_quote(&b, s, len, "value", &err) == 0) {
		if (b.len < 2 || b.data[0] != '\'' || b.data[b.len - 1] != '\'')
			abort();
		for (size_t i = 1; i < b.len - 1; i++) {
			unsigned char c = (unsigned char)b.data[i];
			if (c == '\\')
				i++;
			else if (c == '\'' || c < 0x20 || c == 0x7f)
				abort(); /* the value could end the literal or hide in it */
		}
	} else if (b.len) {
		abort(); /* a refused value leaves the buffer as it was */
	}
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	exception_text((const char *)data, size);
	quote((const char *)data, size);

	fake_http_script(data, size, 404);
	struct proof_remote r = {.url = fake_http_url(), .user = "portal", .secret = "s3cret",
				 .database = "portal", .timeout_ms = 5000};
	struct warehouse w;
	struct perr err = {0};
	if (warehouse_clickhouse_open(&r, &w, &err) < 0)
		abort();
	int n = 0;
	w.ops->facts(w.impl, "p-0011223344556677", count_fact, &n, &err);
	if (strstr(err.msg, "s3cret"))
		abort(); /* an error quotes the credential */
	warehouse_close(&w);
	return 0;
}
