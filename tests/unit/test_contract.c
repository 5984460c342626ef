/* Contract: component, project and secret contracts — names, secret
 * references, URL shape, private-host detection and every rule
 * catalogue_check enforces. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/contract.h"
#include "core/role.h"

/* --- names */

Test(contract, names_of_the_enums_are_stable)
{
	cr_expect_str_eq(ownership_name(OWNERSHIP_OWNED), "owned");
	cr_expect_str_eq(ownership_name(OWNERSHIP_ENDPOINT), "endpoint");
	cr_expect_str_eq(contract_auth_name(CONTRACT_AUTH_NONE), "none");
	cr_expect_str_eq(contract_auth_name(CONTRACT_AUTH_BEARER), "bearer");
	cr_expect_str_eq(contract_auth_name(CONTRACT_AUTH_BASIC), "basic");
	cr_expect_str_eq(secret_source_name(SECRET_ENV), "env");
	cr_expect_str_eq(secret_source_name(SECRET_FILE), "file");
	cr_expect_str_eq(secret_source_name(SECRET_VAULT), "vault");
}

Test(contract, component_names_are_lower_case_digits_and_dashes)
{
	cr_expect(contract_name_valid("temporal"));
	cr_expect(contract_name_valid("supabase-realtime"));
	cr_expect(contract_name_valid("a"));
	cr_expect_not(contract_name_valid(""));
	cr_expect_not(contract_name_valid("Temporal"));
	cr_expect_not(contract_name_valid("temporal_ui"));
	cr_expect_not(contract_name_valid("a b"));
	char long_name[70];
	memset(long_name, 'a', 64);
	long_name[64] = '\0';
	cr_expect_not(contract_name_valid(long_name));
	long_name[63] = '\0';
	cr_expect(contract_name_valid(long_name));
	cr_expect(secret_name_valid("temporal_token"));
	cr_expect_not(secret_name_valid("Token"));
}

/* --- secret references */

Test(contract, secret_references_of_each_source_parse)
{
	struct secret_contract s = {.name = "x"};
	struct perr e = {0};
	cr_assert_eq(secret_ref_parse("env:TEMPORAL_TOKEN", &s, &e), 0, "%s", e.msg);
	cr_expect_eq(s.source, SECRET_ENV);
	cr_expect_str_eq(s.ref, "TEMPORAL_TOKEN");
	cr_assert_eq(secret_ref_parse("file:/run/secrets/vault-token", &s, &e), 0, "%s", e.msg);
	cr_expect_eq(s.source, SECRET_FILE);
	cr_expect_str_eq(s.ref, "/run/secrets/vault-token");
	cr_assert_eq(secret_ref_parse("vault:secret/portal/datahub#token", &s, &e), 0, "%s", e.msg);
	cr_expect_eq(s.source, SECRET_VAULT);
	cr_expect_str_eq(s.ref, "secret/portal/datahub#token");
	cr_expect_str_eq(s.name, "x");
}

Test(contract, an_inline_value_is_refused_without_being_echoed)
{
	struct secret_contract s = {0};
	struct perr e = {0};
	cr_assert_eq(secret_ref_parse("hunter2-s3cr3t", &s, &e), PERR_INVALID);
	cr_expect_str_eq(e.msg, "looks like an inline secret value; give env:VAR, file:/path or "
				"vault:mount/path#key");
	cr_expect_null(strstr(e.msg, "hunter2"));
}

Test(contract, malformed_references_say_which_form_is_expected)
{
	const char *bad[] = {"env:", "env:1VAR", "env:A-B", "file:relative/path", "file:",
			     "vault:secret#key", "vault:secret/portal", "vault:secret/portal#",
			     "vault:/secret/x#k", "vault:secret//x#k", "vault:secret/../x#k",
			     "ENV:X", "", "Bearer abc"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct secret_contract s = {0};
		struct perr e = {0};
		cr_expect_lt(secret_ref_parse(bad[i], &s, &e), 0, "'%s' should be refused", bad[i]);
		cr_expect(e.msg[0], "'%s' gave no message", bad[i]);
	}
}

/* --- URLs and hosts */

Test(contract, urls_need_http_or_https_and_a_host)
{
	char host[128];
	cr_expect(contract_url_valid("http://127.0.0.1:8233", host, sizeof host));
	cr_expect_str_eq(host, "127.0.0.1");
	cr_expect(contract_url_valid("https://Temporal.Example.org/ui/", host, sizeof host));
	cr_expect_str_eq(host, "temporal.example.org");
	cr_expect(contract_url_valid("http://[::1]:8080/x?y=1", host, sizeof host));
	cr_expect_str_eq(host, "::1");
	const char *bad[] = {"", "ftp://x", "http://", "http://:80", "http://a b",
			     "http://user:pw@host/", "http://host:0", "http://host:65536",
			     "http://host:x", "http://[::1", "http://[zz]:80", "localhost:8080",
			     "http://host/#frag"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_not(contract_url_valid(bad[i], host, sizeof host), "'%s'", bad[i]);
}

Test(contract, private_hosts_are_told_from_public_ones)
{
	static const struct {
		const char *host;
		int private_;
	} cases[] = {
		{"127.0.0.1", 1},   {"::1", 1},           {"[::1]", 1},       {"10.1.2.3", 1},
		{"172.20.0.1", 1},  {"172.16.0.1", 1},    {"172.31.255.255", 1},
		{"172.32.0.1", 0},  {"172.15.0.1", 0},    {"192.168.1.1", 1}, {"169.254.1.1", 1},
		{"0.0.0.0", 1},     {"fd00::1", 1},       {"fc00::1", 1},     {"fe80::1", 1},
		{"::ffff:10.0.0.1", 1},                   {"::ffff:8.8.8.8", 0},
		{"2001:4860:4860::8888", 0},              {"localhost", 1},   {"LOCALHOST", 1},
		{"localhost.", 1},  {"app.localhost", 1}, {"temporal", 1},    {"a.internal", 1},
		{"printer.local", 1},                     {"api.default.svc", 1},
		{"api.default.svc.cluster.local", 1},     {"example.org", 0},
		{"8.8.8.8", 0},     {"portal.fractalops.io", 0},              {"internal.example.org", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		cr_expect_eq(contract_host_private(cases[i].host), cases[i].private_,
			     "%s: want %s", cases[i].host, cases[i].private_ ? "private" : "public");
}

/* --- catalogue_check */

static struct component_contract comps[4];
static struct project_contract projs[3];
static struct secret_contract secs[3];
static struct catalogue cat;
static struct contract_problem probs[16];

static void owned(int i, const char *name, const char *pub, const char *in, const char *ex)
{
	struct component_contract *c = &comps[i];
	memset(c, 0, sizeof *c);
	snprintf(c->name, sizeof c->name, "%s", name);
	c->ownership = OWNERSHIP_OWNED;
	snprintf(c->public_url.s, sizeof c->public_url.s, "%s", pub);
	snprintf(c->internal_url.s, sizeof c->internal_url.s, "%s", in);
	snprintf(c->executor_url.s, sizeof c->executor_url.s, "%s", ex);
	snprintf(c->health.path, sizeof c->health.path, "/");
	c->health.expect_status = 200;
	c->health.interval_ms = 15000;
	c->health.timeout_ms = 2000;
	c->health.slow_ms = 1000;
}

static void setup(void)
{
	memset(&cat, 0, sizeof cat);
	memset(probs, 0, sizeof probs);
	owned(0, "temporal", "https://temporal.example.org", "http://10.0.0.5:7243",
	      "http://temporal-frontend:7243");
	owned(1, "nexus", "https://nexus.example.org", "http://10.0.0.6:8081", "");
	comps[1].ownership = OWNERSHIP_ENDPOINT;
	cat.components = comps;
	cat.ncomponents = 2;
	memset(secs, 0, sizeof secs);
	cat.secrets = secs;
	cat.nsecrets = 0;
	memset(projs, 0, sizeof projs);
	cat.projects = projs;
	cat.nprojects = 0;
}

/* The only problem is on subject.field, and its message contains each of want. */
static void expect_one(const char *subject, const char *field, const char *want1,
		       const char *want2)
{
	size_t n = catalogue_check(&cat, probs, 16);
	cr_assert_eq(n, 1, "expected 1 problem, got %zu (first: %s)", n, probs[0].msg);
	cr_expect_str_eq(probs[0].subject, subject);
	cr_expect_str_eq(probs[0].field, field);
	if (want1)
		cr_expect(strstr(probs[0].msg, want1) != NULL, "'%s' lacks '%s'", probs[0].msg, want1);
	if (want2)
		cr_expect(strstr(probs[0].msg, want2) != NULL, "'%s' lacks '%s'", probs[0].msg, want2);
}

Test(contract, a_sound_catalogue_has_no_problems, .init = setup)
{
	cr_expect_eq(catalogue_check(&cat, probs, 16), 0, "%s", probs[0].msg);
	cr_expect_eq(catalogue_check(&cat, NULL, 0), 0);
}

Test(contract, an_owned_component_needs_an_internal_url, .init = setup)
{
	comps[0].internal_url.s[0] = '\0';
	expect_one("temporal", "internal_url", "temporal is owned", "internal_url");
	cr_expect_eq(probs[0].component, 0);
	cr_expect_eq(probs[0].secret, -1);
}

Test(contract, an_endpoint_has_no_executor_url, .init = setup)
{
	snprintf(comps[1].executor_url.s, CONTRACT_URL_MAX, "http://nexus:8081");
	expect_one("nexus", "executor_url", "nexus is an endpoint", "executor_url");
	cr_expect_eq(probs[0].component, 1);
}

Test(contract, a_private_public_url_is_refused_outside_dev_mode, .init = setup)
{
	snprintf(comps[0].public_url.s, CONTRACT_URL_MAX, "http://127.0.0.1:8233");
	expect_one("temporal", "public_url", "'127.0.0.1' is loopback or private", "dev");
	cat.dev_mode = 1;
	cr_expect_eq(catalogue_check(&cat, probs, 16), 0, "%s", probs[0].msg);
}

Test(contract, a_single_label_public_host_is_private, .init = setup)
{
	snprintf(comps[1].public_url.s, CONTRACT_URL_MAX, "http://nexus:8081");
	expect_one("nexus", "public_url", "'nexus' is loopback or private", NULL);
}

Test(contract, a_malformed_url_is_named, .init = setup)
{
	snprintf(comps[0].executor_url.s, CONTRACT_URL_MAX, "temporal-frontend:7243");
	expect_one("temporal", "executor_url", "temporal's executor_url must be http(s)://", NULL);
}

Test(contract, the_same_url_twice_in_a_component_is_conflated, .init = setup)
{
	cat.dev_mode = 1;
	snprintf(comps[0].public_url.s, CONTRACT_URL_MAX, "http://10.0.0.5:7243/");
	expect_one("temporal", "public_url", "public_url and internal_url", "conflated");
	owned(0, "temporal", "https://temporal.example.org", "http://10.0.0.5:7243",
	      "http://10.0.0.5:7243");
	expect_one("temporal", "executor_url", "internal_url and executor_url", "conflated");
}

Test(contract, a_public_url_that_is_another_components_internal_url_is_conflated,
     .init = setup)
{
	cat.dev_mode = 1;
	snprintf(comps[1].public_url.s, CONTRACT_URL_MAX, "http://10.0.0.5:7243");
	expect_one("nexus", "public_url", "nexus's public_url is temporal's internal_url",
		   "conflated");
	snprintf(comps[1].public_url.s, CONTRACT_URL_MAX, "http://temporal-frontend:7243/");
	expect_one("nexus", "public_url", "nexus's public_url is temporal's executor_url", NULL);
}

Test(contract, component_names_are_unique_and_well_formed, .init = setup)
{
	owned(2, "temporal", "", "http://10.0.0.7:1", "");
	cat.ncomponents = 3;
	expect_one("temporal", "name", "declared twice", "components[0]");
	cr_expect_eq(probs[0].component, 2);
	snprintf(comps[2].name, CONTRACT_NAME_MAX, "Bad_Name");
	expect_one("Bad_Name", "name", "lower-case", NULL);
}

Test(contract, auth_names_a_declared_secret, .init = setup)
{
	comps[0].auth = CONTRACT_AUTH_BEARER;
	expect_one("temporal", "auth.secret", "auth bearer needs a secret", NULL);
	snprintf(comps[0].auth_secret, CONTRACT_NAME_MAX, "temporal_token");
	expect_one("temporal", "auth.secret", "'temporal_token', which is not declared", NULL);
	secs[0] = (struct secret_contract){"temporal_token", SECRET_ENV, "TEMPORAL_TOKEN"};
	cat.nsecrets = 1;
	cr_expect_eq(catalogue_check(&cat, probs, 16), 0, "%s", probs[0].msg);
	comps[0].auth = CONTRACT_AUTH_NONE;
	expect_one("temporal", "auth.secret", "auth none, so it takes no secret", NULL);
}

Test(contract, a_vault_secret_needs_a_vault_address_and_token, .init = setup)
{
	secs[0] = (struct secret_contract){"datahub_token", SECRET_VAULT, "secret/p/datahub#token"};
	cat.nsecrets = 1;
	expect_one("datahub_token", "source", "vault.addr and vault.token", NULL);
	cr_expect_eq(probs[0].secret, 0);
	cr_expect_eq(probs[0].component, -1);
	snprintf(cat.vault.addr.s, CONTRACT_URL_MAX, "http://127.0.0.1:8200");
	snprintf(cat.vault.token_secret, CONTRACT_NAME_MAX, "vault_token");
	expect_one("vault", "token", "'vault_token', which is not declared", NULL);
	cr_expect_eq(probs[0].secret, -1);
	secs[1] = (struct secret_contract){"vault_token", SECRET_FILE, "/run/secrets/vault-token"};
	cat.nsecrets = 2;
	cr_expect_eq(catalogue_check(&cat, probs, 16), 0, "%s", probs[0].msg);
	secs[1].source = SECRET_VAULT;
	expect_one("vault", "token", "cannot itself come from vault", NULL);
}

Test(contract, a_vault_address_alone_needs_a_token_and_must_be_a_url, .init = setup)
{
	snprintf(cat.vault.addr.s, CONTRACT_URL_MAX, "http://127.0.0.1:8200");
	expect_one("vault", "token", "vault.token must name the secret", NULL);
	snprintf(cat.vault.addr.s, CONTRACT_URL_MAX, "vault:8200");
	cr_expect_eq(catalogue_check(&cat, probs, 16), 2);
	cr_expect_str_eq(probs[0].field, "addr");
}

Test(contract, health_timing_and_body_check_must_fit_together, .init = setup)
{
	comps[0].health.timeout_ms = 20000;
	expect_one("temporal", "health.timeout_ms", "less than interval_ms", NULL);
	comps[0].health.timeout_ms = 500;
	expect_one("temporal", "health.slow_ms", "must not exceed timeout_ms", NULL);
	comps[0].health.timeout_ms = 2000;
	snprintf(comps[0].health.body_path, sizeof comps[0].health.body_path, "value.ready");
	expect_one("temporal", "health.body_equals", "both body_path and body_equals", NULL);
	comps[0].health.body_path[0] = '\0';
	comps[0].health.expect_status = 42;
	expect_one("temporal", "health.expect_status", "0 (any 2xx) or 100..599", NULL);
	comps[0].health.expect_status = 0;
	comps[0].health.path[0] = '\0';
	expect_one("temporal", "health.path", "must start with '/'", NULL);
}

Test(contract, problems_beyond_cap_are_counted, .init = setup)
{
	comps[0].internal_url.s[0] = '\0';
	snprintf(comps[1].executor_url.s, CONTRACT_URL_MAX, "http://nexus:8081");
	cr_expect_eq(catalogue_check(&cat, probs, 1), 2);
	cr_expect_str_eq(probs[1].msg, "");
	cr_expect_eq(catalogue_check(&cat, NULL, 0), 2);
}

Test(contract, catalogue_find_finds_by_name, .init = setup)
{
	cr_expect_eq(catalogue_find(&cat, "nexus"), &comps[1]);
	cr_expect_null(catalogue_find(&cat, "penpot"));
	cr_expect_null(catalogue_find(&cat, NULL));
}

/* --- projects */

/* Project i, named name, standing on the components and secrets in the
 * NULL-terminated lists. */
static void project(int i, const char *name, const char *const *components,
		    const char *const *secrets)
{
	struct project_contract *p = &projs[i];
	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "%s", name);
	snprintf(p->title, sizeof p->title, "%s", name);
	for (; components && *components; components++)
		snprintf(p->components[p->ncomponents++], CONTRACT_NAME_MAX, "%s", *components);
	for (; secrets && *secrets; secrets++)
		snprintf(p->secrets[p->nsecrets++], CONTRACT_NAME_MAX, "%s", *secrets);
	if ((size_t)i >= cat.nprojects)
		cat.nprojects = (size_t)i + 1;
}

static const char *const both[] = {"temporal", "nexus", NULL};
static const char *const token[] = {"atlas_token", NULL};

/* setup(), with the secret atlas_token declared. */
static void setup_projects(void)
{
	setup();
	secs[0] = (struct secret_contract){"atlas_token", SECRET_ENV, "ATLAS_TOKEN"};
	cat.nsecrets = 1;
}

Test(contract, a_project_on_declared_components_and_secrets_has_no_problems,
     .init = setup_projects)
{
	project(0, "atlas", both, token);
	project(1, "chronicle", NULL, NULL);
	cr_expect_eq(catalogue_check(&cat, probs, 16), 0, "%s", probs[0].msg);
}

Test(contract, a_project_problem_is_located_by_its_path_not_an_index, .init = setup_projects)
{
	project(0, "atlas", both, token);
	project(1, "nexus-sync", both, NULL);
	snprintf(projs[1].components[1], CONTRACT_NAME_MAX, "nexsus");
	expect_one("nexus-sync", "projects[1].components[1]", "nexus-sync needs the component "
		   "'nexsus', which is not declared under components", NULL);
	cr_expect_eq(probs[0].component, -1);
	cr_expect_eq(probs[0].secret, -1);
}

Test(contract, every_component_a_project_lists_is_declared, .init = setup_projects)
{
	static const char *const listed[] = {"temporal", "daytona", NULL};
	project(0, "atlas", listed, NULL);
	expect_one("atlas", "projects[0].components[1]",
		   "atlas needs the component 'daytona', which is not declared under components",
		   NULL);
}

Test(contract, every_secret_a_project_lists_is_declared, .init = setup_projects)
{
	static const char *const listed[] = {"atlas_token", "atlas_deploy_key", NULL};
	project(0, "atlas", NULL, listed);
	expect_one("atlas", "projects[0].secrets[1]",
		   "atlas needs the secret 'atlas_deploy_key', which is not declared under secrets",
		   NULL);
}

Test(contract, a_component_or_secret_listed_twice_is_refused, .init = setup_projects)
{
	static const char *const twice[] = {"temporal", "nexus", "temporal", NULL};
	project(0, "atlas", twice, NULL);
	expect_one("atlas", "projects[0].components[2]",
		   "atlas lists the component 'temporal' twice (first as components[0])", NULL);
	static const char *const tokens[] = {"atlas_token", "atlas_token", NULL};
	project(0, "atlas", NULL, tokens);
	expect_one("atlas", "projects[0].secrets[1]",
		   "atlas lists the secret 'atlas_token' twice (first as secrets[0])", NULL);
}

Test(contract, project_names_are_unique_and_well_formed, .init = setup_projects)
{
	project(0, "atlas", NULL, NULL);
	project(1, "chronicle", NULL, NULL);
	project(2, "atlas", NULL, NULL);
	expect_one("atlas", "projects[2].name", "'atlas' is declared twice (first as projects[0])",
		   NULL);
	project(2, "Atlas_2", NULL, NULL);
	expect_one("Atlas_2", "projects[2].name",
		   "a project name is 1 to 63 lower-case letters, digits or '-'", NULL);
	project(2, "", NULL, NULL);
	expect_one("", "projects[2].name", "a project name is", NULL);
}

Test(contract, a_project_may_share_a_name_with_a_component, .init = setup_projects)
{
	/* Different namespaces: events name projects, health names components. */
	project(0, "nexus", both, NULL);
	cr_expect_eq(catalogue_check(&cat, probs, 16), 0, "%s", probs[0].msg);
}

Test(contract, more_needs_than_a_project_holds_are_refused, .init = setup_projects)
{
	project(0, "atlas", NULL, NULL);
	projs[0].ncomponents = PROJECT_MAX_NEEDS + 1;
	for (size_t k = 0; k < PROJECT_MAX_NEEDS; k++)
		snprintf(projs[0].components[k], CONTRACT_NAME_MAX, "%s",
			 k % 2 ? "nexus" : "temporal");
	size_t n = catalogue_check(&cat, probs, 16);
	cr_assert_geq(n, 1);
	cr_expect_str_eq(probs[0].field, "projects[0].components");
	cr_expect_str_eq(probs[0].msg, "atlas lists 17 components; at most 16");
}

Test(contract, catalogue_project_finds_by_name, .init = setup_projects)
{
	project(0, "atlas", both, token);
	project(1, "chronicle", NULL, NULL);
	cr_expect_eq(catalogue_project(&cat, "chronicle"), &projs[1]);
	cr_expect_eq(catalogue_project(&cat, "atlas")->nsecrets, 1);
	cr_expect_null(catalogue_project(&cat, "temporal"));
	cr_expect_null(catalogue_project(&cat, NULL));
	cr_expect_null(catalogue_project(NULL, "atlas"));
}

/* --- proposal kinds */

static struct proposal_kind kinds[3];

/* kinds[0]: rotate-deploy-key, exec; kinds[1]: run-workflow, temporal on
 * the owned temporal component with a declared secret. */
static void setup_kinds(void)
{
	setup();
	snprintf(secs[0].name, sizeof secs[0].name, "temporal_token");
	secs[0].source = SECRET_ENV;
	snprintf(secs[0].ref, sizeof secs[0].ref, "TEMPORAL_TOKEN");
	cat.nsecrets = 1;
	memset(kinds, 0, sizeof kinds);
	struct proposal_kind *k = &kinds[0];
	snprintf(k->name, sizeof k->name, "rotate-deploy-key");
	k->propose_role = ROLE_OPERATOR;
	k->approve_role = ROLE_APPROVER;
	struct proposal_field *f = &k->fields[k->nfields++];
	snprintf(f->name, sizeof f->name, "project");
	f->type = PFIELD_STRING;
	f->max_len = 63;
	f = &k->fields[k->nfields++];
	snprintf(f->name, sizeof f->name, "key_name");
	f->type = PFIELD_ENUM;
	snprintf(f->values[0], sizeof f->values[0], "deploy");
	snprintf(f->values[1], sizeof f->values[1], "ci");
	f->nvalues = 2;
	f = &k->fields[k->nfields++];
	snprintf(f->name, sizeof f->name, "ttl_days");
	f->type = PFIELD_INTEGER;
	f->min = 1;
	f->max = 90;
	k->executor = EXECUTOR_EXEC;
	snprintf(k->argv[0], PROPOSAL_ARG_MAX, "/bin/echo");
	snprintf(k->argv[1], PROPOSAL_ARG_MAX, "rotating");
	snprintf(k->argv[2], PROPOSAL_ARG_MAX, "{project}");
	snprintf(k->argv[3], PROPOSAL_ARG_MAX, "--key={key_name}");
	k->nargv = 4;
	k->timeout_ms = 60000;
	k->max_attempts = 3;
	k = &kinds[1];
	snprintf(k->name, sizeof k->name, "run-workflow");
	k->propose_role = ROLE_OPERATOR;
	k->approve_role = ROLE_APPROVER;
	k->executor = EXECUTOR_TEMPORAL;
	snprintf(k->component, sizeof k->component, "temporal");
	snprintf(k->secret, sizeof k->secret, "temporal_token");
	snprintf(k->temporal_namespace, sizeof k->temporal_namespace, "default");
	snprintf(k->workflow_type, sizeof k->workflow_type, "RunWorkflow");
	snprintf(k->task_queue, sizeof k->task_queue, "ops");
	k->timeout_ms = 300000;
	k->max_attempts = 3;
	cat.kinds = kinds;
	cat.nkinds = 2;
}

Test(contract, sound_exec_and_temporal_kinds_have_no_problems, .init = setup_kinds)
{
	cr_expect_eq(catalogue_check(&cat, probs, 16), 0, "%s: %s", probs[0].field, probs[0].msg);
}

Test(contract, a_kind_problem_is_located_by_its_path, .init = setup_kinds)
{
	kinds[1].max_attempts = 0;
	expect_one("run-workflow", "proposals[1].execute.max_attempts", "between 1 and 20", NULL);
	cr_expect_eq(probs[0].component, -1);
	cr_expect_eq(probs[0].secret, -1);
}

Test(contract, kind_names_are_unique_and_well_formed, .init = setup_kinds)
{
	snprintf(kinds[1].name, sizeof kinds[1].name, "Rotate");
	expect_one("Rotate", "proposals[1].name", "lower-case", NULL);
	snprintf(kinds[1].name, sizeof kinds[1].name, "rotate-deploy-key");
	expect_one("rotate-deploy-key", "proposals[1].name", "declared twice",
		   "first as proposals[0]");
}

Test(contract, kind_roles_must_be_roles, .init = setup_kinds)
{
	kinds[0].propose_role = ROLE_COUNT;
	expect_one("rotate-deploy-key", "proposals[0].propose", "viewer, operator", NULL);
	kinds[0].propose_role = ROLE_OPERATOR;
	kinds[0].approve_role = -1;
	expect_one("rotate-deploy-key", "proposals[0].approve", "viewer, operator", NULL);
}

Test(contract, field_names_are_unique_and_well_formed, .init = setup_kinds)
{
	snprintf(kinds[0].fields[2].name, PROPOSAL_NAME_MAX, "TTL");
	expect_one("rotate-deploy-key", "proposals[0].fields[2].name", "lower-case letter", NULL);
	snprintf(kinds[0].fields[2].name, PROPOSAL_NAME_MAX, "9lives");
	expect_one("rotate-deploy-key", "proposals[0].fields[2].name", "lower-case letter", NULL);
	snprintf(kinds[0].fields[2].name, PROPOSAL_NAME_MAX, "ttl-days");
	expect_one("rotate-deploy-key", "proposals[0].fields[2].name", "lower-case letter", NULL);
	snprintf(kinds[0].fields[2].name, PROPOSAL_NAME_MAX, "project");
	expect_one("rotate-deploy-key", "proposals[0].fields[2].name", "'project' twice",
		   "fields[0]");
}

Test(contract, an_enum_needs_distinct_values, .init = setup_kinds)
{
	kinds[0].fields[1].nvalues = 0;
	expect_one("rotate-deploy-key", "proposals[0].fields[1].values", "needs values", NULL);
	kinds[0].fields[1].nvalues = 2;
	snprintf(kinds[0].fields[1].values[1], PROPOSAL_NAME_MAX, "deploy");
	expect_one("rotate-deploy-key", "proposals[0].fields[1].values", "'deploy' twice", NULL);
}

Test(contract, integer_bounds_and_string_lengths_must_be_in_order, .init = setup_kinds)
{
	kinds[0].fields[2].min = 91;
	expect_one("rotate-deploy-key", "proposals[0].fields[2].min", "min (91)", "max (90)");
	kinds[0].fields[2].min = 1;
	kinds[0].fields[0].min_len = 64;
	expect_one("rotate-deploy-key", "proposals[0].fields[0].min_len", "min_len (64)",
		   "max_len (63)");
	kinds[0].fields[0].max_len = 0; /* unbounded: any min_len goes */
	cr_expect_eq(catalogue_check(&cat, probs, 16), 0);
}

Test(contract, exec_needs_an_absolute_program, .init = setup_kinds)
{
	snprintf(kinds[0].argv[0], PROPOSAL_ARG_MAX, "echo");
	expect_one("rotate-deploy-key", "proposals[0].execute.argv[0]", "absolute path", NULL);
	snprintf(kinds[0].argv[0], PROPOSAL_ARG_MAX, "/opt/{project}/bin");
	expect_one("rotate-deploy-key", "proposals[0].execute.argv[0]", "no placeholder", NULL);
	kinds[0].nargv = 0;
	expect_one("rotate-deploy-key", "proposals[0].execute.argv", "needs argv", NULL);
}

Test(contract, every_placeholder_names_a_declared_field, .init = setup_kinds)
{
	snprintf(kinds[0].argv[3], PROPOSAL_ARG_MAX, "--key={key}");
	expect_one("rotate-deploy-key", "proposals[0].execute.argv[3]", "{key} names no field",
		   NULL);
	snprintf(kinds[0].argv[3], PROPOSAL_ARG_MAX, "--key={key_name");
	expect_one("rotate-deploy-key", "proposals[0].execute.argv[3]", "closing", NULL);
	snprintf(kinds[0].argv[3], PROPOSAL_ARG_MAX, "{{literal}");
	cr_expect_eq(catalogue_check(&cat, probs, 16), 0, "%s", probs[0].msg);
}

Test(contract, exec_takes_no_component_and_no_secret, .init = setup_kinds)
{
	snprintf(kinds[0].component, PROPOSAL_NAME_MAX, "temporal");
	expect_one("rotate-deploy-key", "proposals[0].execute.component", "calls no component",
		   NULL);
	kinds[0].component[0] = '\0';
	snprintf(kinds[0].secret, PROPOSAL_NAME_MAX, "temporal_token");
	expect_one("rotate-deploy-key", "proposals[0].execute.secret", "sends no credential",
		   NULL);
}

Test(contract, http_and_temporal_need_an_owned_component_with_an_executor_url,
     .init = setup_kinds)
{
	kinds[1].component[0] = '\0';
	expect_one("run-workflow", "proposals[1].execute.component", "needs component", NULL);
	snprintf(kinds[1].component, PROPOSAL_NAME_MAX, "datahub");
	expect_one("run-workflow", "proposals[1].execute.component", "'datahub'",
		   "not declared");
	snprintf(kinds[1].component, PROPOSAL_NAME_MAX, "nexus");
	expect_one("run-workflow", "proposals[1].execute.component", "an endpoint", NULL);
	snprintf(kinds[1].component, PROPOSAL_NAME_MAX, "temporal");
	comps[0].executor_url.s[0] = '\0';
	expect_one("run-workflow", "proposals[1].execute.component", "no executor_url", NULL);
	comps[0].executor_url.s[0] = 'h';
	snprintf(comps[0].executor_url.s, CONTRACT_URL_MAX, "http://temporal-frontend:7243");
	kinds[1].executor = EXECUTOR_HTTP;
	kinds[1].temporal_namespace[0] = kinds[1].workflow_type[0] = kinds[1].task_queue[0] = 0;
	cr_expect_eq(catalogue_check(&cat, probs, 16), 0, "%s", probs[0].msg);
	kinds[1].nargv = 1;
	snprintf(kinds[1].argv[0], PROPOSAL_ARG_MAX, "/bin/true");
	expect_one("run-workflow", "proposals[1].execute.argv", "takes no argv", NULL);
}

Test(contract, temporal_needs_namespace_workflow_type_and_task_queue, .init = setup_kinds)
{
	kinds[1].temporal_namespace[0] = '\0';
	expect_one("run-workflow", "proposals[1].execute.namespace", "needs namespace", NULL);
	snprintf(kinds[1].temporal_namespace, PROPOSAL_NAME_MAX, "default");
	kinds[1].workflow_type[0] = '\0';
	expect_one("run-workflow", "proposals[1].execute.workflow_type", "needs workflow_type",
		   NULL);
	snprintf(kinds[1].workflow_type, 128, "RunWorkflow");
	kinds[1].task_queue[0] = '\0';
	expect_one("run-workflow", "proposals[1].execute.task_queue", "needs task_queue", NULL);
	/* and only temporal takes them */
	snprintf(kinds[0].task_queue, 128, "ops");
	kinds[1].task_queue[0] = 'o';
	expect_one("rotate-deploy-key", "proposals[0].execute.task_queue", "are for temporal",
		   NULL);
}

Test(contract, a_named_secret_must_be_declared, .init = setup_kinds)
{
	snprintf(kinds[1].secret, PROPOSAL_NAME_MAX, "nope");
	expect_one("run-workflow", "proposals[1].execute.secret", "'nope'", "not declared");
}

Test(contract, attempts_and_timeout_are_bounded, .init = setup_kinds)
{
	kinds[0].max_attempts = 21;
	expect_one("rotate-deploy-key", "proposals[0].execute.max_attempts", "got 21", NULL);
	kinds[0].max_attempts = 20;
	kinds[0].timeout_ms = 99;
	expect_one("rotate-deploy-key", "proposals[0].execute.timeout_ms", "100 and 86400000",
		   NULL);
	kinds[0].timeout_ms = 86400001;
	expect_one("rotate-deploy-key", "proposals[0].execute.timeout_ms", "got 86400001", NULL);
	kinds[0].timeout_ms = 86400000;
	cr_expect_eq(catalogue_check(&cat, probs, 16), 0);
}

Test(contract, catalogue_kind_finds_by_name, .init = setup_kinds)
{
	cr_expect_eq(catalogue_kind(&cat, "run-workflow"), &kinds[1]);
	cr_expect_eq(catalogue_kind(&cat, "rotate-deploy-key"), &kinds[0]);
	cr_expect_null(catalogue_kind(&cat, "restart"));
	cr_expect_null(catalogue_kind(&cat, NULL));
	cr_expect_null(catalogue_kind(NULL, "run-workflow"));
}

/* Fills (or, with on = 0, clears) the execute: key `key` of k so that it
 * passes its rule: argv a program, component the owned temporal, workflow
 * all three names, secret the declared temporal_token. */
static void execute_key_set(struct proposal_kind *k, unsigned key, int on)
{
	switch (key) {
	case EXECUTE_ARGV:
		snprintf(k->argv[0], PROPOSAL_ARG_MAX, "%s", on ? "/bin/true" : "");
		k->nargv = on ? 1 : 0;
		break;
	case EXECUTE_COMPONENT:
		snprintf(k->component, sizeof k->component, "%s", on ? "temporal" : "");
		break;
	case EXECUTE_WORKFLOW:
		snprintf(k->temporal_namespace, sizeof k->temporal_namespace, "%s", on ? "default" : "");
		snprintf(k->workflow_type, sizeof k->workflow_type, "%s", on ? "RunWorkflow" : "");
		snprintf(k->task_queue, sizeof k->task_queue, "%s", on ? "ops" : "");
		break;
	case EXECUTE_SECRET:
		snprintf(k->secret, sizeof k->secret, "%s", on ? "temporal_token" : "");
		break;
	}
}

/* Every row of the executor table, against every execute: key: the keys it
 * takes pass their rule, and each key it does not take is refused at that
 * key's path, naming the executor and the ones that do take it. */
Test(contract, every_executor_takes_its_keys_and_refuses_the_others, .init = setup_kinds)
{
	static const struct {
		unsigned key;
		const char *field; /* the path a refusal names */
	} keys[] = {
		{EXECUTE_ARGV, "argv"},
		{EXECUTE_COMPONENT, "component"},
		{EXECUTE_WORKFLOW, "namespace"},
		{EXECUTE_SECRET, "secret"},
	};
	cat.nkinds = 1;
	for (int e = 0; e < EXECUTOR_KIND_COUNT; e++) {
		const struct executor_def *d = &executor_defs[e];
		cr_assert(d->name && contract_name_valid(d->name), "executor %d has no valid name", e);
		cr_expect_eq(executor_kind_parse(d->name), e, "%s does not parse back", d->name);
		cr_expect_str_eq(executor_kind_name((enum executor_kind)e), d->name);
		struct proposal_kind *k = &kinds[0];
		memset(k, 0, sizeof *k);
		snprintf(k->name, sizeof k->name, "kind-%s", d->name);
		k->propose_role = ROLE_OPERATOR;
		k->approve_role = ROLE_APPROVER;
		k->executor = (enum executor_kind)e;
		k->timeout_ms = 60000;
		k->max_attempts = 3;
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
			execute_key_set(k, keys[i].key, (d->keys & keys[i].key) != 0);
		size_t n = catalogue_check(&cat, probs, 16);
		cr_expect_eq(n, 0, "%s with its own keys: %s: %s", d->name, probs[0].field,
			     probs[0].msg);

		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
			if (d->keys & keys[i].key)
				continue;
			execute_key_set(k, keys[i].key, 1);
			char field[64], runs[64], takers[64];
			snprintf(field, sizeof field, "proposals[0].execute.%s", keys[i].field);
			snprintf(runs, sizeof runs, "runs with %s", d->name);
			expect_one(k->name, field, runs,
				   keys[i].key == EXECUTE_SECRET
					   ? NULL
					   : executor_kind_list(keys[i].key, " or ", takers, sizeof takers));
			execute_key_set(k, keys[i].key, 0);
		}
	}
	char all[64];
	cr_expect_str_eq(executor_kind_list(0, ", ", all, sizeof all), "exec, http, temporal");
	cr_expect_str_eq(executor_kind_list(0, " or ", all, sizeof all), "exec, http or temporal");
	cr_expect_str_eq(executor_kind_list(EXECUTE_COMPONENT, " or ", all, sizeof all),
			 "http or temporal");
	cr_expect_eq(executor_kind_parse("ssh"), -1);
}
