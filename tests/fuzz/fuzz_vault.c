/* fuzz_vault: what a Vault-compatible KV v2 API answers, read by the secret
 * resolver. The input is a script of answers (support/fake_http.h) served on
 * loopback: the first answers GET /v1/kv/data/portal/temporal (two secrets
 * read keys of it), the second GET /v1/secret/data/datahub/api; past the
 * script the server answers 404. The token comes from the environment.
 *
 * Besides crashes: no status detail quotes the token, the vault's address or
 * a secret value (the seeds' values carry "s3cr3t" for that), a secret is
 * present exactly when it has a non-empty value, and a value holds no NUL. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/secrets.h"
#include "support/fake_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TOKEN "hvs.CAESIvault-t0ken"

static struct secret_contract secrets[] = {
	{.name = "vault-token", .source = SECRET_ENV, .ref = "VAULT_TOKEN"},
	{.name = "temporal-token", .source = SECRET_VAULT, .ref = "kv/portal/temporal#token"},
	{.name = "temporal-user", .source = SECRET_VAULT, .ref = "kv/portal/temporal#user"},
	{.name = "datahub-token", .source = SECRET_VAULT, .ref = "secret/datahub/api#token"},
};
static struct catalogue cat = {.secrets = secrets, .nsecrets = 4,
			       .vault = {.token_secret = "vault-token"}};
static char *envp[] = {"VAULT_TOKEN=" TOKEN, NULL};
static char port[16];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!cat.vault.addr.s[0]) {
		const char *u = fake_http_url();
		snprintf(cat.vault.addr.s, sizeof cat.vault.addr.s, "%s/", u);
		snprintf(port, sizeof port, ":%s", strrchr(u, ':') + 1);
	}
	fake_http_script(data, size, 404);
	struct secret_values *v;
	struct secret_status *st;
	size_t n;
	struct perr err = {0};
	if (secrets_resolve(&cat, envp, &v, &st, &n, &err) < 0 || n != cat.nsecrets)
		abort();
	if (fake_http_requests() > 2)
		abort(); /* each mount/path is fetched once */
	for (size_t i = 0; i < n; i++) {
		const char *d = st[i].detail;
		if (!memchr(d, '\0', sizeof st[i].detail))
			abort();
		if (strstr(d, "t0ken") || strstr(d, "127.0.0.1") || strstr(d, port) ||
		    strstr(d, "s3cr3t"))
			abort(); /* a detail quotes the token, the address or a value */
		const char *val = secret_value(v, secrets[i].name);
		if ((st[i].state == SECRET_PRESENT) != (val != NULL))
			abort(); /* present without a value, or a value not present */
		if (val && !val[0])
			abort();
	}
	free(st);
	secret_values_free(v);
	return 0;
}
