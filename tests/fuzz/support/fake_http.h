/* fake_http: a loopback HTTP/1.1 server on its own thread, for the fuzz
 * targets of the clients that parse a remote service's answers (ClickHouse,
 * Temporal, DataHub, the HTTP proof planes). The fuzz input is the script of
 * answers; the client under test is the project's own, unchanged, so what is
 * fuzzed is exactly what reads a hostile or broken server.
 *
 * Script format (also how the seed corpora are written): answers separated
 * by a line "---"; each answer is "<status> <body>" when it starts with three
 * digits and a space or newline, else status 200 and the whole part as body.
 *   200 {"runId":"r1"}
 *   ---
 *   500 Code: 60. DB::Exception: Table x doesn't exist.
 * Requests past the script get the fallback answer. Each connection is closed
 * after its answer. It is served by tests/support/loopback_http. */
#ifndef PORTAL_FUZZ_FAKE_HTTP_H
#define PORTAL_FUZZ_FAKE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define FAKE_HTTP_MAX_ANSWERS 8

/* Starts the server the first time; returns its base URL, "http://127.0.0.1:PORT". */
const char *fake_http_url(void);

/* Replaces the script; requests beyond it get fallback_status and an empty
 * body. Resets the request count. */
void fake_http_script(const uint8_t *data, size_t size, int fallback_status);

/* How many requests were answered since the script was set. */
int fake_http_requests(void);

/* The status and body the i-th request gets under the current script (the
 * fallback past its end); body points into the script, valid until the next
 * fake_http_script. Lets a target compare what the client kept with what
 * was sent. */
int fake_http_answer(int i, const char **body, size_t *len);

#endif
