/* Specification of the judgement `portal check` prints and the pages show:
 * which secrets it lists, which it counts, the words of its lines, and which
 * problems concern a project. */
#include <criterion/criterion.h>
#include <string.h>

#include "adapters/secrets.h"
#include "app/validation.h"
#include "config/config.h"

static struct config cfg;
static struct component_contract comps[2];
static struct project_contract projects[2];

static void setup(void)
{
	config_defaults(&cfg);
	memset(comps, 0, sizeof comps);
	memset(projects, 0, sizeof projects);
	snprintf(comps[0].name, sizeof comps[0].name, "temporal");
	comps[0].auth = CONTRACT_AUTH_BEARER;
	snprintf(comps[0].auth_secret, sizeof comps[0].auth_secret, "temporal_token");
	snprintf(comps[1].name, sizeof comps[1].name, "daytona");
	snprintf(projects[0].name, sizeof projects[0].name, "chronicle");
	snprintf(projects[0].components[0], sizeof projects[0].components[0], "temporal");
	projects[0].ncomponents = 1;
	snprintf(projects[1].name, sizeof projects[1].name, "atlas");
	snprintf(projects[1].secrets[0], sizeof projects[1].secrets[0], "deploy_key");
	projects[1].nsecrets = 1;
	cfg.catalogue.components = comps;
	cfg.catalogue.ncomponents = 2;
	cfg.catalogue.projects = projects;
	cfg.catalogue.nprojects = 2;
	snprintf(cfg.datahub_secret, sizeof cfg.datahub_secret, "dh_token");
}

static struct secret_status status(const char *name, enum secret_state st, const char *needed_by)
{
	struct secret_status s;
	memset(&s, 0, sizeof s);
	snprintf(s.name, sizeof s.name, "%s", name);
	s.state = st;
	snprintf(s.detail, sizeof s.detail, "env %s is not set", name);
	snprintf(s.needed_by, sizeof s.needed_by, "%s", needed_by);
	return s;
}

TestSuite(validation, .init = setup);

Test(validation, lists_every_secret_not_present_and_counts_those_something_needs)
{
	struct secret_status sts[] = {
		status("temporal_token", SECRET_MISSING, "temporal"),
		status("present_one", SECRET_PRESENT, "daytona"),
		status("deploy_key", SECRET_MISSING, ""),
		status("dh_token", SECRET_UNREADABLE, ""),
	};
	struct validation v;
	validation_judge(&cfg, sts, 4, &v);
	cr_assert_eq(v.nitems, 3);
	cr_expect_eq(v.problems, 2, "temporal_token (a component) and dh_token (a setting)");
	cr_expect_str_eq(v.items[0].secret, "temporal_token");
	cr_expect_str_eq(v.items[1].needed_by, "");
	cr_expect_str_eq(v.items[2].needed_by, "lineage.datahub_secret");
	cr_expect_str_eq(v.items[2].state, "unreadable");
	validation_free(&v);
}

Test(validation, words_each_line_as_check_prints_it)
{
	struct secret_status sts[] = {
		status("temporal_token", SECRET_MISSING, "temporal"),
		status("deploy_key", SECRET_MISSING, ""),
	};
	struct validation v;
	validation_judge(&cfg, sts, 2, &v);
	struct buf b = BUF_INIT;
	validation_item_line(&v.items[0], &b);
	buf_putc(&b, '\n');
	validation_item_line(&v.items[1], &b);
	buf_putc(&b, '\n');
	validation_summary_line(&v, &b);
	cr_expect_str_eq(buf_cstr(&b),
			 "secret temporal_token: missing (env temporal_token is not set); needed by "
			 "temporal\n"
			 "secret deploy_key: missing (env deploy_key is not set); not needed by anything\n"
			 "portal check: 1 needed secret missing or unreadable");
	buf_free(&b);
	validation_free(&v);
}

Test(validation, a_problem_concerns_the_project_that_lists_the_secret_or_authenticates_with_it)
{
	struct secret_status sts[] = {
		status("temporal_token", SECRET_MISSING, "temporal"),
		status("deploy_key", SECRET_MISSING, ""),
	};
	struct validation v;
	validation_judge(&cfg, sts, 2, &v);
	cr_expect(validation_concerns(&cfg, &v.items[0], &projects[0]));
	cr_expect_not(validation_concerns(&cfg, &v.items[0], &projects[1]));
	cr_expect(validation_concerns(&cfg, &v.items[1], &projects[1]));
	cr_expect_not(validation_concerns(&cfg, &v.items[1], &projects[0]));
	validation_free(&v);
}

Test(validation, nothing_resolved_is_nothing_listed)
{
	struct validation v;
	validation_judge(&cfg, NULL, 0, &v);
	cr_expect_eq(v.nitems, 0);
	cr_expect_eq(v.problems, 0);
	validation_free(&v);
}
