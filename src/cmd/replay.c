/* replay: `portal replay` — rebuilds harness-projection from the whole log
 * and prints its version and the SHA-256 of the exact bytes GET
 * /api/v1/projection serves at that version, so two replicas (or a replica
 * and a fresh replay) can be compared with one line. */
#include <stdio.h>

#include <sodium.h>

#include "cmd/cmd.h"
#include "core/projection.h"
#include "store/store.h"
#include "util/clock.h"

static const struct cmd_spec replay_spec = {
	.name = "replay",
	.summary = "Rebuild the projection from portal_live_events and print\n"
		   "  version=<n> sha256=<hex of the served snapshot bytes> events=<n> ms=<time>",
	.settings = CONFIG_CMD_REPLAY,
};

static int fold(void *arg, const struct event *ev)
{
	struct perr err = {0};
	return projection_apply(arg, ev, &err);
}

int cmd_replay(int argc, char **argv)
{
	struct cmd_args args;
	struct config cfg;
	int rc0 = cmd_begin(&replay_spec, argc, argv, &args, &cfg);
	if (rc0 >= 0)
		return rc0;
	if (sodium_init() < 0)
		return 1;
	struct store *st = NULL;
	if (cmd_open_store("replay", &cfg, &st) != 0)
		return 1;
	struct projection_options po = {.idle_after_ms = cfg.idle_after_ms};
	struct projection *p = projection_new(&po);
	struct perr err = {0};
	long long t0 = clock_mono_us();
	long long n = store_scan(st, 0, 0, fold, p, &err);
	store_close(st);
	if (n < 0) {
		fprintf(stderr, "portal replay: %s\n", err.msg);
		projection_free(p);
		return 1;
	}
	/* The same bytes the server serves: the snapshot and its newline. */
	struct buf b = BUF_INIT;
	projection_write(p, &b, NULL);
	buf_putc(&b, '\n');
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)b.data, b.len);
	char hex[crypto_hash_sha256_BYTES * 2 + 1];
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	printf("version=%lld sha256=%s events=%lld ms=%lld\n", projection_version(p), hex, n,
	       (clock_mono_us() - t0) / 1000);
	buf_free(&b);
	projection_free(p);
	return 0;
}
