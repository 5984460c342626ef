/* Blocker: the recovery classes, their HTTP statuses, a project's needs from
 * its contract, and each rule of the stage derivation. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/blocker.h"

/* --- classes and statuses */

Test(blocker, class_names_are_stable_and_parse_back)
{
	const char *want[] = {"none", "auth", "contract", "dependency", "product"};
	for (int i = 0; i < BLOCKER_CLASS_COUNT; i++) {
		cr_expect_str_eq(blocker_class_name((enum blocker_class)i), want[i]);
		cr_expect_eq(blocker_class_parse(want[i]), i);
	}
	cr_expect_null(blocker_class_name(BLOCKER_CLASS_COUNT));
	cr_expect_eq(blocker_class_parse("Auth"), -1);
	cr_expect_eq(blocker_class_parse("failure"), -1);
	cr_expect_eq(blocker_class_parse(""), -1);
	cr_expect_eq(blocker_class_parse(NULL), -1);
}

Test(blocker, auth_is_401_signed_out_and_403_without_the_role)
{
	cr_expect_eq(blocker_http_status(BLOCKER_AUTH, BLOCKER_CAUSE_DEFAULT), 401);
	cr_expect_eq(blocker_http_status(BLOCKER_AUTH, BLOCKER_CAUSE_SIGNED_OUT), 401);
	cr_expect_eq(blocker_http_status(BLOCKER_AUTH, BLOCKER_CAUSE_FORBIDDEN), 403);
}

Test(blocker, contract_is_424_when_unmet_and_409_when_conflicting)
{
	cr_expect_eq(blocker_http_status(BLOCKER_CONTRACT, BLOCKER_CAUSE_DEFAULT), 424);
	cr_expect_eq(blocker_http_status(BLOCKER_CONTRACT, BLOCKER_CAUSE_UNMET), 424);
	cr_expect_eq(blocker_http_status(BLOCKER_CONTRACT, BLOCKER_CAUSE_CONFLICT), 409);
}

Test(blocker, dependency_is_503_product_500_and_a_foreign_cause_is_ignored)
{
	cr_expect_eq(blocker_http_status(BLOCKER_DEPENDENCY, BLOCKER_CAUSE_DEFAULT), 503);
	cr_expect_eq(blocker_http_status(BLOCKER_DEPENDENCY, BLOCKER_CAUSE_FORBIDDEN), 503);
	cr_expect_eq(blocker_http_status(BLOCKER_PRODUCT, BLOCKER_CAUSE_DEFAULT), 500);
	cr_expect_eq(blocker_http_status(BLOCKER_PRODUCT, BLOCKER_CAUSE_CONFLICT), 500);
	cr_expect_eq(blocker_http_status(BLOCKER_AUTH, BLOCKER_CAUSE_CONFLICT), 401);
	cr_expect_eq(blocker_http_status(BLOCKER_NONE, BLOCKER_CAUSE_DEFAULT), 200);
}

Test(blocker, product_is_404_405_or_400_when_the_request_names_nothing_or_cannot_be_read)
{
	cr_expect_eq(blocker_http_status(BLOCKER_PRODUCT, BLOCKER_CAUSE_NOT_FOUND), 404);
	cr_expect_eq(blocker_http_status(BLOCKER_PRODUCT, BLOCKER_CAUSE_NOT_ALLOWED), 405);
	cr_expect_eq(blocker_http_status(BLOCKER_PRODUCT, BLOCKER_CAUSE_INPUT), 400);
	cr_expect_eq(blocker_http_status(BLOCKER_DEPENDENCY, BLOCKER_CAUSE_NOT_FOUND), 503);
}

Test(blocker, a_status_gives_back_the_class_and_cause_that_make_it)
{
	static const int owned[] = {401, 403, 409, 424, 503, 404, 405, 500};
	for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) {
		enum blocker_cause cause;
		enum blocker_class c = blocker_class_of_status(owned[i], &cause);
		cr_expect_neq(c, BLOCKER_NONE, "status %d", owned[i]);
		cr_expect_eq(blocker_http_status(c, cause), owned[i]);
	}
	cr_expect_eq(blocker_class_of_status(401, NULL), BLOCKER_AUTH);
	cr_expect_eq(blocker_class_of_status(424, NULL), BLOCKER_CONTRACT);
	cr_expect_eq(blocker_class_of_status(503, NULL), BLOCKER_DEPENDENCY);
	cr_expect_eq(blocker_class_of_status(404, NULL), BLOCKER_PRODUCT);
}

Test(blocker, input_errors_and_successes_have_no_class)
{
	static const int none[] = {200, 202, 303, 400, 413, 415, 431, 502};
	for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
		cr_expect_eq(blocker_class_of_status(none[i], NULL), BLOCKER_NONE, "status %d",
			     none[i]);
}

/* --- fixtures: a small catalogue and a project on it */

static struct component_contract comps[3];
static struct catalogue cat;
static struct project_contract atlas;

static void setup(void)
{
	memset(comps, 0, sizeof comps);
	snprintf(comps[0].name, sizeof comps[0].name, "daytona");
	comps[0].ownership = OWNERSHIP_OWNED;
	comps[0].auth = CONTRACT_AUTH_BEARER;
	snprintf(comps[0].auth_secret, sizeof comps[0].auth_secret, "daytona_api_key");
	snprintf(comps[1].name, sizeof comps[1].name, "nexus");
	comps[1].ownership = OWNERSHIP_ENDPOINT;
	snprintf(comps[2].name, sizeof comps[2].name, "temporal");
	comps[2].ownership = OWNERSHIP_OWNED;
	comps[2].auth = CONTRACT_AUTH_BEARER;
	snprintf(comps[2].auth_secret, sizeof comps[2].auth_secret, "temporal_token");
	memset(&cat, 0, sizeof cat);
	cat.components = comps;
	cat.ncomponents = 3;

	memset(&atlas, 0, sizeof atlas);
	snprintf(atlas.name, sizeof atlas.name, "atlas");
	const char *cs[] = {"daytona", "nexus", "temporal"};
	for (size_t i = 0; i < 3; i++)
		snprintf(atlas.components[i], sizeof atlas.components[i], "%s", cs[i]);
	atlas.ncomponents = 3;
	snprintf(atlas.secrets[0], sizeof atlas.secrets[0], "atlas-deploy-key");
	snprintf(atlas.secrets[1], sizeof atlas.secrets[1], "temporal_token");
	atlas.nsecrets = 2;
}

/* Needs with every secret present and every component up. */
static void healthy(struct blocker_needs *nd)
{
	blocker_needs_of(&cat, &atlas, nd);
	for (size_t i = 0; i < nd->nsecrets; i++)
		snprintf(nd->secrets[i].state, sizeof nd->secrets[i].state, "present");
	for (size_t i = 0; i < nd->ncomponents; i++)
		snprintf(nd->components[i].health, sizeof nd->components[i].health, "up");
}

static struct blocker_secret *secret(struct blocker_needs *nd, const char *name)
{
	for (size_t i = 0; i < nd->nsecrets; i++)
		if (strcmp(nd->secrets[i].name, name) == 0)
			return &nd->secrets[i];
	cr_assert_fail("no secret %s in the needs", name);
	return NULL;
}

static struct blocker_component *component(struct blocker_needs *nd, const char *name)
{
	for (size_t i = 0; i < nd->ncomponents; i++)
		if (strcmp(nd->components[i].name, name) == 0)
			return &nd->components[i];
	cr_assert_fail("no component %s in the needs", name);
	return NULL;
}

static const struct blocker_live at_work = {"work", "3 sessions at work", {0}};

/* --- needs */

Test(blocker, needs_are_the_projects_secrets_then_each_components_auth_secret_once,
     .init = setup)
{
	struct blocker_needs nd;
	blocker_needs_of(&cat, &atlas, &nd);
	cr_assert_eq(nd.ncomponents, 3);
	cr_expect_str_eq(nd.components[0].name, "daytona");
	cr_expect(nd.components[0].declared);
	cr_expect(nd.components[0].owned);
	cr_expect_not(nd.components[1].owned, "nexus is an endpoint");
	cr_assert_eq(nd.nsecrets, 3, "temporal_token is needed twice but listed once");
	cr_expect_str_eq(nd.secrets[0].name, "atlas-deploy-key");
	cr_expect_str_eq(nd.secrets[0].component, "");
	cr_expect_str_eq(nd.secrets[1].name, "temporal_token");
	cr_expect_str_eq(nd.secrets[1].component, "", "declared by the project first");
	cr_expect_str_eq(nd.secrets[2].name, "daytona_api_key");
	cr_expect_str_eq(nd.secrets[2].component, "daytona");
	for (size_t i = 0; i < nd.nsecrets; i++)
		cr_expect_str_eq(nd.secrets[i].state, "", "states are the caller's to fill");
}

Test(blocker, a_project_without_a_contract_entry_has_no_needs, .init = setup)
{
	struct blocker_needs nd;
	memset(&nd, 0xff, sizeof nd);
	blocker_needs_of(&cat, NULL, &nd);
	cr_expect_eq(nd.ncomponents, 0);
	cr_expect_eq(nd.nsecrets, 0);
}

Test(blocker, a_component_missing_from_the_catalogue_is_kept_as_undeclared, .init = setup)
{
	snprintf(atlas.components[3], sizeof atlas.components[3], "ghost");
	atlas.ncomponents = 4;
	struct blocker_needs nd;
	blocker_needs_of(&cat, &atlas, &nd);
	cr_assert_eq(nd.ncomponents, 4);
	cr_expect_str_eq(nd.components[3].name, "ghost");
	cr_expect_not(nd.components[3].declared);
	cr_expect_not(nd.components[3].owned);
}

/* --- rule 1: contracts */

Test(blocker, a_missing_project_secret_puts_it_in_recovery_with_a_contract_blocker,
     .init = setup)
{
	struct blocker_needs nd;
	healthy(&nd);
	snprintf(secret(&nd, "atlas-deploy-key")->state, BLOCKER_STATE_MAX, "missing");
	struct blocker_verdict v;
	blocker_derive(&at_work, &nd, &v);
	cr_expect_eq(v.stage, STAGE_RECOVERY);
	cr_expect_eq(v.blocker, BLOCKER_CONTRACT);
	cr_expect_str_eq(v.why, "secret atlas-deploy-key is missing");
	cr_expect_str_eq(v.gist, "a required secret is not present");
}

Test(blocker, a_components_own_probe_credential_does_not_block_the_project, .init = setup)
{
	struct blocker_needs nd;
	healthy(&nd);
	snprintf(secret(&nd, "daytona_api_key")->state, BLOCKER_STATE_MAX, "unreadable");
	cr_expect_str_eq(secret(&nd, "daytona_api_key")->component, "daytona",
			 "still listed, for validation");
	struct blocker_verdict v;
	blocker_derive(&at_work, &nd, &v);
	cr_expect_eq(v.stage, STAGE_WORK);
	cr_expect_eq(v.blocker, BLOCKER_NONE);
}

Test(blocker, unchecked_and_undeclared_secrets_are_not_present_either, .init = setup)
{
	struct blocker_needs nd;
	struct blocker_verdict v;
	healthy(&nd);
	snprintf(secret(&nd, "atlas-deploy-key")->state, BLOCKER_STATE_MAX, "undeclared");
	blocker_derive(&at_work, &nd, &v);
	cr_expect_eq(v.blocker, BLOCKER_CONTRACT);
	cr_expect_str_eq(v.why, "secret atlas-deploy-key is not declared in the configuration");
	healthy(&nd);
	snprintf(secret(&nd, "atlas-deploy-key")->state, BLOCKER_STATE_MAX, "unchecked");
	blocker_derive(&at_work, &nd, &v);
	cr_expect_eq(v.blocker, BLOCKER_CONTRACT);
	cr_expect_str_eq(v.why, "secret atlas-deploy-key has not been checked yet");
	healthy(&nd);
	secret(&nd, "atlas-deploy-key")->state[0] = '\0';
	blocker_derive(&at_work, &nd, &v);
	cr_expect_eq(v.blocker, BLOCKER_CONTRACT);
}

Test(blocker, several_unmet_contracts_name_the_first_and_count_the_rest, .init = setup)
{
	struct blocker_needs nd;
	blocker_needs_of(&cat, &atlas, &nd); /* every state "": none present */
	struct blocker_verdict v;
	blocker_derive(&at_work, &nd, &v);
	cr_expect_eq(v.blocker, BLOCKER_CONTRACT);
	cr_expect_str_eq(v.why, "secret atlas-deploy-key has not been checked yet "
				"(and 1 more unmet contract)");
}

Test(blocker, a_component_the_catalogue_does_not_declare_is_a_contract_blocker,
     .init = setup)
{
	snprintf(atlas.components[3], sizeof atlas.components[3], "ghost");
	atlas.ncomponents = 4;
	struct blocker_needs nd;
	healthy(&nd);
	struct blocker_verdict v;
	blocker_derive(&at_work, &nd, &v);
	cr_expect_eq(v.stage, STAGE_RECOVERY);
	cr_expect_eq(v.blocker, BLOCKER_CONTRACT);
	cr_expect_str_eq(v.why, "component ghost is not declared in the configuration");
	cr_expect_str_eq(v.gist, "a component it launches on is not declared");
}

Test(blocker, a_contract_blocker_comes_before_a_dependency_and_before_onboarding,
     .init = setup)
{
	struct blocker_needs nd;
	healthy(&nd);
	snprintf(secret(&nd, "temporal_token")->state, BLOCKER_STATE_MAX, "missing");
	snprintf(component(&nd, "temporal")->health, BLOCKER_STATE_MAX, "down");
	struct blocker_verdict v;
	blocker_derive(&at_work, &nd, &v);
	cr_expect_eq(v.blocker, BLOCKER_CONTRACT);
	blocker_derive(NULL, &nd, &v);
	cr_expect_eq(v.stage, STAGE_RECOVERY, "a project with no events can still be blocked");
	cr_expect_eq(v.blocker, BLOCKER_CONTRACT);
}

/* --- rule 2: dependencies */

Test(blocker, an_owned_component_that_is_down_is_a_dependency_blocker, .init = setup)
{
	struct blocker_needs nd;
	healthy(&nd);
	snprintf(component(&nd, "temporal")->health, BLOCKER_STATE_MAX, "down");
	struct blocker_verdict v;
	blocker_derive(&at_work, &nd, &v);
	cr_expect_eq(v.stage, STAGE_RECOVERY);
	cr_expect_eq(v.blocker, BLOCKER_DEPENDENCY);
	cr_expect_str_eq(v.why, "owned component temporal is down");
	cr_expect_str_eq(v.gist, "an owned component it runs on is down");
	snprintf(component(&nd, "daytona")->health, BLOCKER_STATE_MAX, "down");
	blocker_derive(&at_work, &nd, &v);
	cr_expect_str_eq(v.why, "owned component daytona is down (and 1 more owned component down)");
}

Test(blocker, an_endpoint_that_is_down_does_not_block_the_project, .init = setup)
{
	struct blocker_needs nd;
	healthy(&nd);
	snprintf(component(&nd, "nexus")->health, BLOCKER_STATE_MAX, "down");
	struct blocker_verdict v;
	blocker_derive(&at_work, &nd, &v);
	cr_expect_eq(v.stage, STAGE_WORK);
	cr_expect_eq(v.blocker, BLOCKER_NONE);
}

Test(blocker, degraded_auth_or_unreported_owned_components_do_not_block, .init = setup)
{
	const char *states[] = {"degraded", "auth", "unknown", ""};
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
		struct blocker_needs nd;
		healthy(&nd);
		snprintf(component(&nd, "temporal")->health, BLOCKER_STATE_MAX, "%s", states[i]);
		struct blocker_verdict v;
		blocker_derive(&at_work, &nd, &v);
		cr_expect_eq(v.stage, STAGE_WORK, "temporal %s", states[i]);
		cr_expect_eq(v.blocker, BLOCKER_NONE, "temporal %s", states[i]);
	}
}

/* --- rule 3: no events yet */

Test(blocker, a_declared_project_with_no_events_is_onboarding_and_says_where_to_launch,
     .init = setup)
{
	struct blocker_needs nd;
	healthy(&nd);
	struct blocker_verdict v;
	blocker_derive(NULL, &nd, &v);
	cr_expect_eq(v.stage, STAGE_ONBOARDING);
	cr_expect_eq(v.blocker, BLOCKER_NONE);
	cr_expect_str_eq(v.why, "no events yet: launch the first session on daytona");
	cr_expect_str_eq(v.gist, "no events yet: launch the first session");
}

Test(blocker, no_events_and_no_contract_is_onboarding_too)
{
	struct blocker_verdict v;
	blocker_derive(NULL, NULL, &v);
	cr_expect_eq(v.stage, STAGE_ONBOARDING);
	cr_expect_str_eq(v.why, "no events yet: launch the first session");
}

/* --- rule 4: the projection */

Test(blocker, with_contracts_met_the_projections_stage_and_needs_stand, .init = setup)
{
	static const struct {
		const char *slug;
		enum stage want;
	} cases[] = {
		{"onboarding", STAGE_ONBOARDING}, {"work", STAGE_WORK},
		{"proposal", STAGE_PROPOSAL},     {"proof", STAGE_PROOF},
	};
	struct blocker_needs nd;
	healthy(&nd);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct blocker_live live = {cases[i].slug, "what it needs", {0}};
		struct blocker_verdict v;
		blocker_derive(&live, &nd, &v);
		cr_expect_eq(v.stage, cases[i].want, "%s", cases[i].slug);
		cr_expect_eq(v.blocker, BLOCKER_NONE, "%s", cases[i].slug);
		cr_expect_str_eq(v.why, "what it needs");
		cr_expect_str_eq(v.gist, "what it needs");
	}
}

Test(blocker, a_project_without_a_contract_follows_the_projection)
{
	struct blocker_live live = {"proof", "1 proposal awaiting proof from the canonical sources",
				    {0}};
	struct blocker_verdict v;
	blocker_derive(&live, NULL, &v);
	cr_expect_eq(v.stage, STAGE_PROOF);
	cr_expect_str_eq(v.why, "1 proposal awaiting proof from the canonical sources");
}

Test(blocker, projection_recovery_takes_the_class_of_its_blocked_sessions)
{
	struct blocker_live live = {"recovery", "2 blocked sessions to clear (1 auth, 1 dependency)",
				    {0}};
	live.blocked[BLOCKER_AUTH] = 1;
	live.blocked[BLOCKER_DEPENDENCY] = 1;
	struct blocker_verdict v;
	blocker_derive(&live, NULL, &v);
	cr_expect_eq(v.stage, STAGE_RECOVERY);
	cr_expect_eq(v.blocker, BLOCKER_DEPENDENCY);
	cr_expect_str_eq(v.why, "2 blocked sessions to clear (1 auth, 1 dependency)");
	live.blocked[BLOCKER_CONTRACT] = 1;
	blocker_derive(&live, NULL, &v);
	cr_expect_eq(v.blocker, BLOCKER_CONTRACT);
}

Test(blocker, sessions_blocked_on_sign_in_only_are_an_auth_blocker_not_a_failure)
{
	struct blocker_live live = {"recovery", "1 blocked session to clear (1 auth)", {0}};
	live.blocked[BLOCKER_AUTH] = 1;
	struct blocker_verdict v;
	blocker_derive(&live, NULL, &v);
	cr_expect_eq(v.blocker, BLOCKER_AUTH);
}

Test(blocker, projection_recovery_with_nothing_blocked_is_a_product_failure)
{
	struct blocker_live live = {"recovery",
				    "the last session failed: resume it or propose a recovery", {0}};
	struct blocker_verdict v;
	blocker_derive(&live, NULL, &v);
	cr_expect_eq(v.stage, STAGE_RECOVERY);
	cr_expect_eq(v.blocker, BLOCKER_PRODUCT);
}

Test(blocker, a_stage_this_binary_does_not_know_is_a_product_fault)
{
	struct blocker_live live = {"limbo", "", {0}};
	struct blocker_verdict v;
	blocker_derive(&live, NULL, &v);
	cr_expect_eq(v.stage, STAGE_RECOVERY);
	cr_expect_eq(v.blocker, BLOCKER_PRODUCT);
	cr_expect_str_eq(v.why, "the projection reports an unknown stage 'limbo'");
	cr_expect_null(strstr(v.gist, "limbo"));
}

Test(blocker, the_gist_never_names_a_secret_or_a_component, .init = setup)
{
	struct blocker_needs nd;
	struct blocker_verdict v;
	blocker_needs_of(&cat, &atlas, &nd);
	blocker_derive(&at_work, &nd, &v);
	healthy(&nd);
	snprintf(component(&nd, "daytona")->health, BLOCKER_STATE_MAX, "down");
	struct blocker_verdict d;
	blocker_derive(&at_work, &nd, &d);
	struct blocker_verdict o;
	healthy(&nd);
	blocker_derive(NULL, &nd, &o);
	const char *names[] = {"atlas-deploy-key", "temporal", "daytona", "nexus"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		cr_expect_null(strstr(v.gist, names[i]), "contract gist: %s", v.gist);
		cr_expect_null(strstr(d.gist, names[i]), "dependency gist: %s", d.gist);
		cr_expect_null(strstr(o.gist, names[i]), "onboarding gist: %s", o.gist);
	}
}
