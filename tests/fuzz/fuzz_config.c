/* fuzz_config: a portal.yaml, read by config_parse on top of the defaults,
 * then the catalogue rules that span entries (catalogue_check) and the error
 * lines a person sees (config_error_format). A config file is written by
 * people, often by hand, and may be anything. */
#include <stdint.h>
#include <string.h>

#include "config/config.h"
#include "core/contract.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c;
	static struct config_errors errs;
	config_defaults(&c);
	memset(&errs, 0, sizeof errs);
	int rc = config_parse(&c, "portal.yaml", (const char *)data, size, &errs);
	struct buf b = BUF_INIT;
	for (int i = 0; i < errs.n; i++) {
		config_error_format(&errs.items[i], &b);
		b.len = 0;
	}
	buf_free(&b);
	if (rc == 0) {
		struct contract_problem probs[16];
		catalogue_check(&c.catalogue, probs, sizeof probs / sizeof probs[0]);
		struct config copy;
		config_copy(&copy, &c);
		config_dispose(&copy);
	}
	config_dispose(&c);
	return 0;
}
