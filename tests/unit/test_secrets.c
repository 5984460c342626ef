/* Secrets: env:, file: and vault: sources resolve to present / missing /
 * unreadable with a reason that never holds a value, a token or the vault's
 * address; needed_by names who depends on each. vault: talks to a loopback
 * KV v2 server that this file starts on a free port. */
#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../support/loopback_http.h"
#include "adapters/secrets.h"

#define KV_TOKEN "hvs.root-token-xyz"
#define KV_VALUE "s3cret"

/* ---- a hand-built catalogue --------------------------------------------- */

static struct component_contract comps[8];
static struct secret_contract secs[16];
static struct catalogue cat;

static void cat_reset(void)
{
	memset(comps, 0, sizeof comps);
	memset(secs, 0, sizeof secs);
	memset(&cat, 0, sizeof cat);
	cat.components = comps;
	cat.secrets = secs;
}

static void add_secret(const char *name, enum secret_source source, const char *ref)
{
	struct secret_contract *s = &secs[cat.nsecrets++];
	snprintf(s->name, sizeof s->name, "%s", name);
	s->source = source;
	snprintf(s->ref, sizeof s->ref, "%s", ref);
}

static void add_component(const char *name, const char *secret)
{
	struct component_contract *c = &comps[cat.ncomponents++];
	snprintf(c->name, sizeof c->name, "%s", name);
	c->ownership = OWNERSHIP_ENDPOINT;
	c->auth = secret ? CONTRACT_AUTH_BEARER : CONTRACT_AUTH_NONE;
	snprintf(c->auth_secret, sizeof c->auth_secret, "%s", secret ? secret : "");
}

/* ---- resolving ---------------------------------------------------------- */

static struct secret_values *values;
static struct secret_status *sts;
static size_t nsts;
static char vault_addr[64];

/* Resolves cat against envp and checks what must hold for every answer:
 * one status per secret, none still unchecked, and no detail or needed_by
 * that holds a value, the vault token or the vault's address. */
static void resolve(char **envp)
{
	struct perr err = {0};
	cr_assert_eq(secrets_resolve(&cat, envp, &values, &sts, &nsts, &err), 0, "%s", err.msg);
	cr_assert_eq(nsts, cat.nsecrets);
	for (size_t i = 0; i < nsts; i++) {
		const struct secret_status *st = &sts[i];
		cr_expect_str_eq(st->name, secs[i].name);
		cr_expect_neq(st->state, SECRET_UNCHECKED, "%s left unchecked", st->name);
		cr_expect_neq(st->detail[0], '\0', "%s has no detail", st->name);
		const char *leaks[] = {KV_VALUE, KV_TOKEN, "127.0.0.1", "localhost", "file-value",
				       "env-value"};
		for (size_t k = 0; k < sizeof leaks / sizeof *leaks; k++) {
			cr_expect_null(strstr(st->detail, leaks[k]), "%s detail leaks '%s': %s",
				       st->name, leaks[k], st->detail);
			cr_expect_null(strstr(st->needed_by, leaks[k]));
		}
		if (vault_addr[0])
			cr_expect_null(strstr(st->detail, strrchr(vault_addr, ':')),
				       "%s detail names the vault port: %s", st->name, st->detail);
	}
}

/* A formatted expectation (vsnprintf: paths may be long, truncation is fine). */
static const char *want(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *want(const char *fmt, ...)
{
	static char out[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, sizeof out, fmt, ap);
	va_end(ap);
	return out;
}

static const struct secret_status *status_of(const char *name)
{
	for (size_t i = 0; i < nsts; i++)
		if (strcmp(sts[i].name, name) == 0)
			return &sts[i];
	cr_assert_fail("no status for %s", name);
	return NULL;
}

static void expect_state(const char *name, enum secret_state state, const char *detail)
{
	const struct secret_status *st = status_of(name);
	cr_expect_eq(st->state, state, "%s: got %s (%s), want %s", name,
		     secret_state_name(st->state), st->detail, secret_state_name(state));
	if (detail)
		cr_expect_str_eq(st->detail, detail);
	if (state != SECRET_PRESENT)
		cr_expect_null(secret_value(values, name), "%s has a value though %s", name,
			       secret_state_name(state));
}

static void cleanup(void)
{
	secret_values_free(values);
	free(sts);
	values = NULL;
	sts = NULL;
	nsts = 0;
}

static void setup(void)
{
	cat_reset();
	vault_addr[0] = '\0';
}

/* ---- files -------------------------------------------------------------- */

static char dir[64];

static const char *path_in_dir(const char *name)
{
	static char p[8][128];
	static int next;
	char *out = p[next++ % 8];
	snprintf(out, sizeof p[0], "%s/%s", dir, name);
	return out;
}

static const char *write_file(const char *name, const void *data, size_t len)
{
	const char *p = path_in_dir(name);
	FILE *f = fopen(p, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
	return p;
}

static void file_setup(void)
{
	setup();
	snprintf(dir, sizeof dir, "/tmp/portal-secrets-test.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void file_teardown(void)
{
	cleanup();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

/* ---- a loopback KV v2 server -------------------------------------------- */

static struct loopback_http kv;
static atomic_int kv_requests;

static void kv_reply(struct evhttp_request *req, int code, const char *body)
{
	loopback_http_reply(req, code, "application/json", body);
}

/* Like Vault: a bad token is 403 on any path; an unknown path is 404. */
static void kv_handle(struct evhttp_request *req, void *arg)
{
	atomic_fetch_add(&kv_requests, 1);
	const char *uri = evhttp_request_get_uri(req);
	const char *tok =
		evhttp_find_header(evhttp_request_get_input_headers(req), "X-Vault-Token");
	if (!tok || strcmp(tok, KV_TOKEN) != 0)
		kv_reply(req, 403, "{\"errors\":[\"permission denied\"]}");
	else if (strcmp(uri, "/v1/secret/data/portal/datahub") == 0)
		kv_reply(req, 200,
			 "{\"data\":{\"data\":{\"token\":\"" KV_VALUE "\",\"user\":\"portal\"},"
			 "\"metadata\":{\"version\":1}}}");
	else if (strcmp(uri, "/v1/secret/data/portal/odd") == 0)
		kv_reply(req, 200, "{\"data\":{\"data\":{\"port\":5432},\"metadata\":{\"version\":3}}}");
	else if (strcmp(uri, "/v1/secret/data/portal/deleted") == 0)
		kv_reply(req, 404, "{\"data\":{\"data\":null,\"metadata\":{\"version\":2}}}");
	else if (strcmp(uri, "/v1/secret/data/portal/gone") == 0)
		kv_reply(req, 200, "{\"data\":{\"data\":null,\"metadata\":{\"version\":2}}}");
	else
		kv_reply(req, 404, "{\"errors\":[]}");
}

static void kv_setup(void)
{
	setup();
	loopback_http_open(&kv);
	evhttp_set_gencb(kv.http, kv_handle, NULL);
	snprintf(vault_addr, sizeof vault_addr, "http://127.0.0.1:%d/", kv.port);
	loopback_http_run(&kv);
	snprintf(cat.vault.addr.s, sizeof cat.vault.addr.s, "%s", vault_addr);
	snprintf(cat.vault.token_secret, sizeof cat.vault.token_secret, "vault_token");
}

static void kv_teardown(void)
{
	cleanup();
	loopback_http_close(&kv);
}

/* A vault-backed catalogue: the token from env, datahub's token from vault. */
static void kv_catalogue(void)
{
	add_secret("vault_token", SECRET_ENV, "VAULT_TOKEN");
	add_secret("datahub_token", SECRET_VAULT, "secret/portal/datahub#token");
	add_component("datahub", "datahub_token");
}

static char *kv_env[] = {"VAULT_TOKEN=" KV_TOKEN, NULL};

/* ---- env: --------------------------------------------------------------- */

TestSuite(secrets_env, .init = setup, .fini = cleanup);

Test(secrets_env, a_set_variable_is_present_with_its_value)
{
	add_secret("temporal_token", SECRET_ENV, "TEMPORAL_TOKEN");
	char *env[] = {"TEMPORAL_TOKEN_OLD=nope", "TEMPORAL_TOKEN=env-value", NULL};
	resolve(env);
	expect_state("temporal_token", SECRET_PRESENT, "from env TEMPORAL_TOKEN");
	cr_expect_str_eq(secret_value(values, "temporal_token"), "env-value");
}

Test(secrets_env, an_unset_variable_is_missing_even_when_a_longer_name_is_set)
{
	add_secret("temporal_token", SECRET_ENV, "TEMPORAL_TOKEN");
	char *env[] = {"TEMPORAL_TOKEN_OLD=env-value", "TEMPORAL=env-value", NULL};
	resolve(env);
	expect_state("temporal_token", SECRET_MISSING, "env TEMPORAL_TOKEN is not set");
}

Test(secrets_env, an_empty_variable_is_missing)
{
	add_secret("temporal_token", SECRET_ENV, "TEMPORAL_TOKEN");
	char *env[] = {"TEMPORAL_TOKEN=", NULL};
	resolve(env);
	expect_state("temporal_token", SECRET_MISSING, "env TEMPORAL_TOKEN is empty");
}

Test(secrets_env, no_environment_at_all_is_missing)
{
	add_secret("temporal_token", SECRET_ENV, "TEMPORAL_TOKEN");
	resolve(NULL);
	expect_state("temporal_token", SECRET_MISSING, "env TEMPORAL_TOKEN is not set");
}

Test(secrets_env, an_empty_catalogue_resolves_to_nothing)
{
	resolve(NULL);
	cr_expect_eq(nsts, 0);
	cr_expect_null(secret_value(values, "anything"));
}

/* ---- file: -------------------------------------------------------------- */

TestSuite(secrets_file, .init = file_setup, .fini = file_teardown);

Test(secrets_file, a_file_is_present_without_one_trailing_newline)
{
	add_secret("one", SECRET_FILE, write_file("one", "file-value\n", 11));
	add_secret("two", SECRET_FILE, write_file("two", "file-value\n\n", 12));
	add_secret("bare", SECRET_FILE, write_file("bare", "file-value", 10));
	resolve(NULL);
	expect_state("one", SECRET_PRESENT, NULL);
	cr_expect_str_eq(secret_value(values, "one"), "file-value");
	cr_expect_str_eq(secret_value(values, "two"), "file-value\n");
	cr_expect_str_eq(secret_value(values, "bare"), "file-value");
	cr_expect_str_eq(status_of("one")->detail, want("from file %s", secs[0].ref));
}

Test(secrets_file, an_absent_file_is_missing)
{
	add_secret("gone", SECRET_FILE, path_in_dir("gone"));
	resolve(NULL);
	expect_state("gone", SECRET_MISSING, want("file %s does not exist", secs[0].ref));
}

Test(secrets_file, an_empty_file_is_missing)
{
	add_secret("empty", SECRET_FILE, write_file("empty", "\n", 1));
	resolve(NULL);
	expect_state("empty", SECRET_MISSING, NULL);
	cr_expect_not_null(strstr(status_of("empty")->detail, "is empty"));
}

Test(secrets_file, a_directory_is_unreadable)
{
	const char *p = path_in_dir("sub");
	cr_assert_eq(mkdir(p, 0700), 0);
	add_secret("sub", SECRET_FILE, p);
	resolve(NULL);
	expect_state("sub", SECRET_UNREADABLE, want("file %s: Is a directory", p));
}

Test(secrets_file, a_file_without_read_permission_is_unreadable)
{
	if (geteuid() == 0)
		cr_skip_test("root reads any file, whatever its mode");
	const char *p = write_file("locked", "file-value", 10);
	cr_assert_eq(chmod(p, 0), 0);
	add_secret("locked", SECRET_FILE, p);
	resolve(NULL);
	expect_state("locked", SECRET_UNREADABLE, want("file %s: Permission denied", p));
}

Test(secrets_file, a_file_over_64_KiB_is_unreadable_and_64_KiB_is_fine)
{
	size_t max = SECRETS_FILE_MAX;
	char *big = malloc(max + 1);
	cr_assert_not_null(big);
	memset(big, 'x', max + 1);
	add_secret("big", SECRET_FILE, write_file("big", big, max + 1));
	add_secret("limit", SECRET_FILE, write_file("limit", big, max));
	free(big);
	resolve(NULL);
	expect_state("big", SECRET_UNREADABLE, want("file %s is larger than 64 KiB", secs[0].ref));
	expect_state("limit", SECRET_PRESENT, NULL);
	cr_expect_eq(strlen(secret_value(values, "limit")), max);
}

Test(secrets_file, a_file_with_a_nul_byte_is_unreadable)
{
	add_secret("nul", SECRET_FILE, write_file("nul", "ab\0cd", 5));
	resolve(NULL);
	expect_state("nul", SECRET_UNREADABLE, NULL);
	cr_expect_not_null(strstr(status_of("nul")->detail, "NUL byte"));
}

Test(secrets_file, a_character_device_is_unreadable)
{
	add_secret("null", SECRET_FILE, "/dev/null");
	resolve(NULL);
	expect_state("null", SECRET_UNREADABLE, "file /dev/null is not a regular file");
}

/* ---- vault: ------------------------------------------------------------- */

TestSuite(secrets_vault, .init = kv_setup, .fini = kv_teardown, .timeout = 20);

Test(secrets_vault, a_key_of_a_kv_v2_secret_is_present_with_its_value)
{
	kv_catalogue();
	resolve(kv_env);
	expect_state("datahub_token", SECRET_PRESENT, "from vault secret/portal/datahub#token");
	cr_expect_str_eq(secret_value(values, "datahub_token"), KV_VALUE);
	expect_state("vault_token", SECRET_PRESENT, "from env VAULT_TOKEN");
}

Test(secrets_vault, the_token_may_come_from_a_file)
{
	char d[] = "/tmp/portal-secrets-test.XXXXXX";
	cr_assert_not_null(mkdtemp(d));
	char p[64];
	snprintf(p, sizeof p, "%s/token", d);
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(KV_TOKEN "\n", f);
	fclose(f);
	add_secret("vault_token", SECRET_FILE, p);
	add_secret("datahub_token", SECRET_VAULT, "secret/portal/datahub#token");
	resolve(NULL);
	unlink(p);
	rmdir(d);
	expect_state("datahub_token", SECRET_PRESENT, NULL);
	cr_expect_str_eq(secret_value(values, "datahub_token"), KV_VALUE);
}

Test(secrets_vault, a_wrong_token_is_unreadable)
{
	kv_catalogue();
	char *env[] = {"VAULT_TOKEN=hvs.wrong", NULL};
	resolve(env);
	expect_state("datahub_token", SECRET_UNREADABLE, "vault refused the token");
}

Test(secrets_vault, a_key_the_secret_lacks_is_missing)
{
	kv_catalogue();
	add_secret("datahub_other", SECRET_VAULT, "secret/portal/datahub#password");
	resolve(kv_env);
	expect_state("datahub_other", SECRET_MISSING, "key 'password' not in secret/portal/datahub");
}

Test(secrets_vault, a_path_vault_does_not_have_is_missing)
{
	kv_catalogue();
	add_secret("nexus_token", SECRET_VAULT, "secret/portal/nexus#token");
	resolve(kv_env);
	expect_state("nexus_token", SECRET_MISSING, "secret/portal/nexus not found in vault");
}

Test(secrets_vault, a_secret_whose_latest_version_is_deleted_is_missing)
{
	add_secret("vault_token", SECRET_ENV, "VAULT_TOKEN");
	add_secret("deleted", SECRET_VAULT, "secret/portal/deleted#token");
	add_secret("gone", SECRET_VAULT, "secret/portal/gone#token");
	resolve(kv_env);
	expect_state("deleted", SECRET_MISSING, "secret/portal/deleted not found in vault");
	expect_state("gone", SECRET_MISSING, "secret/portal/gone has no current version in vault");
}

Test(secrets_vault, a_value_that_is_not_a_string_is_unreadable)
{
	add_secret("vault_token", SECRET_ENV, "VAULT_TOKEN");
	add_secret("db_port", SECRET_VAULT, "secret/portal/odd#port");
	resolve(kv_env);
	expect_state("db_port", SECRET_UNREADABLE, "key 'port' in secret/portal/odd is not a string");
}

Test(secrets_vault, keys_of_one_path_are_fetched_once)
{
	kv_catalogue();
	add_secret("datahub_user", SECRET_VAULT, "secret/portal/datahub#user");
	resolve(kv_env);
	cr_expect_str_eq(secret_value(values, "datahub_token"), KV_VALUE);
	cr_expect_str_eq(secret_value(values, "datahub_user"), "portal");
	cr_expect_eq(atomic_load(&kv_requests), 1);
}

Test(secrets_vault, documents_of_one_resolve_share_one_connection)
{
	kv_catalogue();
	add_secret("db_port", SECRET_VAULT, "secret/portal/odd#port");
	resolve(kv_env);
	cr_expect_str_eq(secret_value(values, "datahub_token"), KV_VALUE);
	cr_expect_eq(atomic_load(&kv_requests), 2);
	cr_expect_eq(atomic_load(&kv.connections), 1);
}

Test(secrets_vault, a_missing_token_leaves_vault_secrets_unreadable_without_asking)
{
	kv_catalogue();
	resolve(NULL);
	expect_state("vault_token", SECRET_MISSING, "env VAULT_TOKEN is not set");
	expect_state("datahub_token", SECRET_UNREADABLE, "vault token secret 'vault_token' is missing");
	cr_expect_eq(atomic_load(&kv_requests), 0);
}

Test(secrets_vault, a_token_that_is_not_declared_or_is_itself_in_vault_is_refused)
{
	add_secret("datahub_token", SECRET_VAULT, "secret/portal/datahub#token");
	resolve(kv_env);
	expect_state("datahub_token", SECRET_UNREADABLE,
		     "vault token secret 'vault_token' is not declared");
	cleanup();
	cat_reset();
	snprintf(cat.vault.addr.s, sizeof cat.vault.addr.s, "%s", vault_addr);
	snprintf(cat.vault.token_secret, sizeof cat.vault.token_secret, "vault_token");
	add_secret("vault_token", SECRET_VAULT, "secret/portal/datahub#token");
	resolve(kv_env);
	expect_state("vault_token", SECRET_UNREADABLE,
		     "vault token secret 'vault_token' must be env: or file:, not vault:");
}

Test(secrets_vault, no_vault_address_is_unreadable)
{
	kv_catalogue();
	cat.vault.addr.s[0] = '\0';
	resolve(kv_env);
	expect_state("datahub_token", SECRET_UNREADABLE,
		     "no vault is configured (vault.addr is empty)");
}

Test(secrets_vault, a_vault_that_is_down_is_unreadable_and_asked_once)
{
	/* A port that was free a moment ago: nothing listens there. */
	snprintf(vault_addr, sizeof vault_addr, "http://127.0.0.1:%d", kv.refused_port);
	snprintf(cat.vault.addr.s, sizeof cat.vault.addr.s, "%s", vault_addr);
	kv_catalogue();
	add_secret("nexus_token", SECRET_VAULT, "secret/portal/nexus#token");
	resolve(kv_env);
	for (int i = 1; i <= 2; i++) {
		cr_expect_eq(sts[i].state, SECRET_UNREADABLE);
		cr_expect_eq(strncmp(sts[i].detail, "vault unreachable", 17), 0, "%s", sts[i].detail);
	}
}

/* ---- who needs what ----------------------------------------------------- */

TestSuite(secrets_needs, .init = setup, .fini = cleanup);

Test(secrets_needs, needed_by_lists_the_components_and_vault_that_use_a_secret)
{
	add_secret("shared", SECRET_ENV, "SHARED");
	add_secret("temporal_token", SECRET_ENV, "TEMPORAL_TOKEN");
	add_secret("vault_token", SECRET_ENV, "VAULT_TOKEN");
	add_secret("spare", SECRET_ENV, "SPARE");
	add_component("nexus", "shared");
	add_component("temporal", "temporal_token");
	add_component("penpot", NULL);
	add_component("dokploy", "shared");
	snprintf(cat.vault.token_secret, sizeof cat.vault.token_secret, "vault_token");
	resolve(NULL);
	cr_expect_str_eq(status_of("shared")->needed_by, "nexus, dokploy");
	cr_expect_str_eq(status_of("temporal_token")->needed_by, "temporal");
	cr_expect_str_eq(status_of("vault_token")->needed_by, "vault");
	cr_expect_str_eq(status_of("spare")->needed_by, "");
}

Test(secrets_needs, state_names_are_stable)
{
	cr_expect_str_eq(secret_state_name(SECRET_PRESENT), "present");
	cr_expect_str_eq(secret_state_name(SECRET_MISSING), "missing");
	cr_expect_str_eq(secret_state_name(SECRET_UNREADABLE), "unreadable");
	cr_expect_str_eq(secret_state_name(SECRET_UNCHECKED), "unchecked");
	secret_values_free(NULL);
	cr_expect_null(secret_value(NULL, "x"));
}

/* ---- one secret ------------------------------------------------------------ */

TestSuite(secrets_one, .init = setup, .fini = cleanup);

Test(secrets_one, only_the_named_secret_is_read)
{
	add_secret("db_password", SECRET_ENV, "DB_PASSWORD");
	add_secret("other", SECRET_ENV, "OTHER");
	char *env[] = {"DB_PASSWORD=pw-1", "OTHER=o-1", NULL};
	struct secret_status st;
	struct perr err;
	cr_assert_eq(secrets_resolve_one(&cat, env, "db_password", &values, &st, &err), 0);
	cr_expect_eq(st.state, SECRET_PRESENT);
	cr_expect_str_eq(secret_value(values, "db_password"), "pw-1");
	cr_expect_null(secret_value(values, "other"), "another secret is not read");
}

Test(secrets_one, a_missing_or_undeclared_secret_says_so)
{
	add_secret("db_password", SECRET_ENV, "DB_PASSWORD");
	char *env[] = {NULL};
	struct secret_status st;
	struct perr err;
	cr_assert_eq(secrets_resolve_one(&cat, env, "db_password", &values, &st, &err), 0);
	cr_expect_eq(st.state, SECRET_MISSING);
	cr_expect_str_eq(st.detail, "env DB_PASSWORD is not set");
	cr_expect_null(secret_value(values, "db_password"));
	secret_values_free(values);
	values = NULL;
	cr_assert_eq(secrets_resolve_one(&cat, env, "nope", &values, &st, &err), 0);
	cr_expect_eq(st.state, SECRET_MISSING);
	cr_expect_str_eq(st.detail, "not declared under secrets");
	cr_expect_str_eq(st.name, "nope");
}
