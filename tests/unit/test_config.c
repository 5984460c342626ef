/* Config: defaults, the YAML file with located errors, the PORTAL_* environment,
 * flags, their precedence, and how errors and flag help are written. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/demo.h"
#include "config/config.h"
#include "config/settings.h"
#include "core/role.h"

static struct config cfg;
static struct config_errors errs;

/* Parses yaml (named portal.yaml) on top of the defaults. */
static int parse(const char *yaml)
{
	memset(&errs, 0, sizeof errs);
	config_dispose(&cfg); /* what the previous parse in this test left */
	config_defaults(&cfg);
	return config_parse(&cfg, "portal.yaml", yaml, strlen(yaml), &errs);
}

/* Asserts error i is at line:column, for key, with exactly msg. */
static void expect_error(int i, int line, int column, const char *key, const char *msg)
{
	cr_assert_lt(i, errs.n, "expected an error #%d, have %d", i, errs.n);
	const struct config_error *e = &errs.items[i];
	cr_expect_eq(e->line, line, "line: got %d, want %d (%s)", e->line, line, e->msg);
	cr_expect_eq(e->column, column, "column: got %d, want %d (%s)", e->column, column, e->msg);
	cr_expect_str_eq(e->key, key);
	if (msg)
		cr_expect_str_eq(e->msg, msg);
}

/* The only error is at line:column for key, with msg. */
static void expect_one_error(const char *yaml, int line, int column, const char *key,
			     const char *msg)
{
	cr_assert_eq(parse(yaml), -1, "expected '%s' to be refused", yaml);
	cr_assert_eq(errs.n, 1, "expected 1 error, got %d (first: %s)", errs.n, errs.items[0].msg);
	expect_error(0, line, column, key, msg);
	cr_expect_str_eq(errs.items[0].file, "portal.yaml");
}

/* Writes text to a fresh temporary file and returns its path (static). */
static const char *temp_file(const char *text)
{
	static char path[64];
	snprintf(path, sizeof path, "/tmp/portal-config-test.XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static int build(struct config_source *src)
{
	memset(&errs, 0, sizeof errs);
	config_dispose(&cfg);
	return config_build(&cfg, src, &errs);
}

static const char *formatted(const struct config_error *e)
{
	static char out[1024];
	struct buf b = BUF_INIT;
	config_error_format(e, &b);
	snprintf(out, sizeof out, "%s", buf_cstr(&b));
	buf_free(&b);
	return out;
}

/* --- defaults */

Test(config, defaults_are_the_documented_values)
{
	config_defaults(&cfg);
	cr_expect_str_eq(cfg.listen, "127.0.0.1:8080");
	cr_expect_eq(cfg.threads, 0);
	cr_expect_str_eq(cfg.environment, "local");
	cr_expect_eq(cfg.max_body_bytes, 1048576);
	cr_expect_eq(cfg.max_header_bytes, 16384);
	cr_expect_eq(cfg.drain_timeout_ms, 10000);
	cr_expect_eq(cfg.read_timeout_ms, 30000);
	cr_expect_str_eq(cfg.db, "./portal.db");
	cr_expect_eq(cfg.busy_timeout_ms, 5000);
	cr_expect_eq(cfg.ready_interval_ms, 1000);
	cr_expect_eq(cfg.idle_after_ms, 600000);
	cr_expect_eq(cfg.log_level, LOG_INFO);
	cr_expect_eq(cfg.session_idle_ms, 7200000);
	cr_expect_eq(cfg.session_max_ms, 43200000);
	cr_expect_eq(cfg.preview, 1);
	cr_expect_str_eq(cfg.trusted_proxies, "");
	cr_expect_str_eq(cfg.identity_header, "");
	cr_expect_eq(cfg.worker_concurrency, 4);
	cr_expect_str_eq(cfg.worker_id, "");
	cr_expect_eq(cfg.worker_lease_slack_ms, 30000);
	cr_expect_str_eq(cfg.path, "");
}

Test(config, the_table_declares_thirty_seven_settings)
{
	cr_expect_eq(config_setting_count(), 37);
}

Test(config, building_from_nothing_gives_the_defaults_and_no_path)
{
	struct config_source src = {0};
	cr_assert_eq(build(&src), 0);
	struct config d;
	config_defaults(&d);
	cr_expect_eq(memcmp(&d, &cfg, sizeof d), 0);
	cr_expect_str_eq(cfg.path, "");
}

/* --- valid files */

Test(config, an_empty_file_is_valid_and_keeps_the_defaults)
{
	cr_assert_eq(parse(""), 0);
	cr_expect_str_eq(cfg.listen, "127.0.0.1:8080");
	cr_expect_eq(errs.n, 0);
}

Test(config, a_file_of_only_comments_is_valid)
{
	cr_assert_eq(parse("# nothing set here\n\n   # still nothing\n"), 0);
	cr_expect_eq(errs.n, 0);
}

Test(config, a_section_with_every_setting_commented_out_is_valid)
{
	cr_assert_eq(parse("server:\n  # listen: 0.0.0.0:80\nstore:\nlog: ~\n"), 0);
	cr_expect_str_eq(cfg.listen, "127.0.0.1:8080");
}

Test(config, a_full_file_sets_every_setting)
{
	const char *yaml = "server:\n"
			   "  listen: \"[::1]:9090\"\n"
			   "  threads: 8\n"
			   "  environment: staging eu-1\n"
			   "  max_body_bytes: 2048\n"
			   "  max_header_bytes: 4096\n"
			   "  drain_timeout_ms: 0\n"
			   "store:\n"
			   "  db: /var/lib/portal/portal.db\n"
			   "  busy_timeout_ms: 250\n"
			   "  ready_interval_ms: 100\n"
			   "live:\n"
			   "  idle_after_ms: 30000\n"
			   "log:\n"
			   "  level: debug\n"
			   "auth:\n"
			   "  session_idle_ms: 600000\n"
			   "  session_max_ms: 86400000\n"
			   "  preview: false\n"
			   "  trusted_proxies: [10.0.0.0/8, \"::1\"]\n"
			   "  identity_header: X-Forwarded-User\n";
	cr_assert_eq(parse(yaml), 0, "%s", errs.items[0].msg);
	cr_expect_str_eq(cfg.listen, "[::1]:9090");
	cr_expect_eq(cfg.threads, 8);
	cr_expect_str_eq(cfg.environment, "staging eu-1");
	cr_expect_eq(cfg.max_body_bytes, 2048);
	cr_expect_eq(cfg.max_header_bytes, 4096);
	cr_expect_eq(cfg.drain_timeout_ms, 0);
	cr_expect_str_eq(cfg.db, "/var/lib/portal/portal.db");
	cr_expect_eq(cfg.busy_timeout_ms, 250);
	cr_expect_eq(cfg.ready_interval_ms, 100);
	cr_expect_eq(cfg.idle_after_ms, 30000);
	cr_expect_eq(cfg.log_level, LOG_DEBUG);
	cr_expect_eq(cfg.session_idle_ms, 600000);
	cr_expect_eq(cfg.session_max_ms, 86400000);
	cr_expect_eq(cfg.preview, 0);
	cr_expect_str_eq(cfg.trusted_proxies, "10.0.0.0/8, ::1");
	cr_expect_str_eq(cfg.identity_header, "X-Forwarded-User");
}

Test(config, a_flow_style_file_is_as_good_as_a_block_one)
{
	cr_assert_eq(parse("{server: {threads: 3}, log: {level: warn}}"), 0);
	cr_expect_eq(cfg.threads, 3);
	cr_expect_eq(cfg.log_level, LOG_WARN);
}

Test(config, the_shipped_example_is_valid_and_gives_the_defaults)
{
	struct config_source src = {.path = "config/portal.example.yaml"};
	cr_assert_eq(build(&src), 0, "%s", formatted(&errs.items[0]));
	cr_expect_eq(errs.n + errs.dropped, 0);
	cr_expect_str_eq(cfg.path, "config/portal.example.yaml");
	struct config d;
	config_defaults(&d);
	snprintf(d.path, sizeof d.path, "%s", cfg.path);
	/* The settings are the defaults; the catalogue is the example's own. */
	d.catalogue = cfg.catalogue;
	cr_expect_eq(memcmp(&d, &cfg, sizeof d), 0, "the example must hold the defaults");
	config_dispose(&cfg);
}

/* --- each kind of error, located */

Test(config, an_unknown_key_suggests_the_nearest_setting)
{
	expect_one_error("server:\n  listn: 127.0.0.1:1\n", 2, 3, "server.listn",
			 "unknown key; did you mean 'server.listen'?");
}

Test(config, a_key_in_the_wrong_section_suggests_where_it_belongs)
{
	expect_one_error("server:\n  db: x.db\n", 2, 3, "server.db",
			 "unknown key; did you mean 'store.db'?");
}

Test(config, an_unknown_key_with_nothing_close_lists_the_section_keys)
{
	expect_one_error("store:\n  colour: blue\n", 2, 3, "store.colour",
			 "unknown key; 'store' has db, password_secret, busy_timeout_ms, "
			 "ready_interval_ms");
}

Test(config, an_unknown_section_is_reported_at_its_name)
{
	expect_one_error("log:\n  level: info\nservre:\n  threads: 1\n", 3, 1, "servre",
			 "unknown section; did you mean 'server'?");
}

Test(config, a_setting_written_at_the_top_level_suggests_its_section)
{
	expect_one_error("listen: 127.0.0.1:1\n", 1, 1, "listen",
			 "unknown section; did you mean 'server.listen'?");
}

Test(config, a_word_where_an_integer_belongs_is_reported_at_the_value)
{
	expect_one_error("server:\n  threads: many\n", 2, 12, "server.threads",
			 "expected an integer, got 'many'");
}

Test(config, floats_and_trailing_junk_are_not_integers)
{
	expect_one_error("server:\n  max_body_bytes: 1.5\n", 2, 19, "server.max_body_bytes",
			 "expected an integer, got '1.5'");
	expect_one_error("server:\n  threads: 4x\n", 2, 12, "server.threads",
			 "expected an integer, got '4x'");
	expect_one_error("server:\n  threads: 0x10\n", 2, 12, "server.threads",
			 "expected an integer, got '0x10'");
}

Test(config, a_missing_value_is_reported)
{
	expect_one_error("server:\n  threads:\n", 2, 11, "server.threads",
			 "expected an integer, got nothing");
	expect_one_error("store:\n  db: ~\n", 2, 7, "store.db", "expected a string, got null");
}

Test(config, a_quoted_integer_is_refused)
{
	expect_one_error("server:\n  threads: \"8\"\n", 2, 12, "server.threads",
			 "expected an integer, got the quoted string '8' (write it without quotes)");
}

Test(config, an_out_of_range_value_names_the_bounds)
{
	expect_one_error("server:\n  threads: 100\n", 2, 12, "server.threads",
			 "must be between 0 and 64, got 100");
	expect_one_error("store:\n  busy_timeout_ms: -5\n", 2, 20, "store.busy_timeout_ms",
			 "must be between 0 and 600000, got -5");
}

Test(config, an_integer_too_large_for_the_machine_is_out_of_range)
{
	expect_one_error("server:\n  max_body_bytes: 99999999999999999999999\n", 2, 19,
			 "server.max_body_bytes",
			 "must be between 1024 and 67108864, got 99999999999999999999999");
}

Test(config, an_invalid_log_level_lists_the_levels)
{
	expect_one_error("log:\n  level: loud\n", 2, 10, "log.level",
			 "must be one of debug, info, warn, error, got 'loud'");
}

Test(config, a_mapping_where_a_value_belongs_is_a_type_error)
{
	expect_one_error("server:\n  threads:\n    a: 1\n", 3, 5, "server.threads",
			 "expected an integer, got a mapping");
}

Test(config, a_sequence_where_a_value_belongs_is_a_type_error)
{
	expect_one_error("store:\n  db: [a, b]\n", 2, 7, "store.db",
			 "expected a string, got a sequence");
}

Test(config, a_duplicate_key_names_the_line_it_was_first_set)
{
	expect_one_error("server:\n  threads: 1\n  listen: 127.0.0.1:1\n  threads: 2\n", 4, 3,
			 "server.threads", "duplicate key, first set at line 2");
}

Test(config, a_duplicate_section_names_the_line_it_was_first_set)
{
	expect_one_error("log:\n  level: info\nlog:\n  level: warn\n", 3, 1, "log",
			 "duplicate key, first set at line 1");
}

Test(config, a_syntax_error_uses_the_parser_position_and_the_nearest_key)
{
	cr_assert_eq(parse("server:\n  threads: 1\n bad: 2\n"), -1);
	cr_assert_eq(errs.n, 1);
	expect_error(0, 3, 2, "server.threads", NULL);
	cr_expect(strstr(errs.items[0].msg, "YAML syntax error: did not find expected key") != NULL,
		  "%s", errs.items[0].msg);
}

Test(config, a_top_level_that_is_not_a_mapping_is_refused)
{
	expect_one_error("- server\n- store\n", 1, 1, "",
			 "the file must be a mapping of sections "
			 "(server, store, live, log, auth, proof, lineage, worker, components, projects, "
			 "proposals, secrets, vault), "
			 "got a sequence");
	expect_one_error("just words\n", 1, 1, "",
			 "the file must be a mapping of sections "
			 "(server, store, live, log, auth, proof, lineage, worker, components, projects, "
			 "proposals, secrets, vault), "
			 "got 'just words'");
}

Test(config, a_section_that_is_not_a_mapping_is_refused)
{
	expect_one_error("server: fast\n", 1, 9, "server",
			 "expected a mapping of settings, got 'fast'");
}

Test(config, a_second_yaml_document_is_refused)
{
	expect_one_error("log: {level: info}\n---\nlog: {level: warn}\n", 2, 1, "",
			 "the file must hold one YAML document, found a second one");
}

Test(config, listen_accepts_ipv4_names_and_bracketed_ipv6)
{
	const char *ok[] = {"0.0.0.0:80", "localhost:0", "portal.internal:65535", "[::]:8080",
			    "[::ffff:127.0.0.1]:1"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char yaml[128];
		snprintf(yaml, sizeof yaml, "server:\n  listen: \"%s\"\n", ok[i]);
		cr_expect_eq(parse(yaml), 0, "%s: %s", ok[i], errs.items[0].msg);
		cr_expect_str_eq(cfg.listen, ok[i]);
	}
}

Test(config, listen_refuses_a_missing_port_a_bad_port_or_an_empty_host)
{
	const char *bad[] = {"127.0.0.1", "127.0.0.1:", ":8080", "127.0.0.1:65536",
			     "127.0.0.1:http", "::1:80", "[]:80", "[::1:80", "a b:80"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char yaml[128];
		snprintf(yaml, sizeof yaml, "server:\n  listen: \"%s\"\n", bad[i]);
		cr_expect_eq(parse(yaml), -1, "%s should be refused", bad[i]);
		cr_expect_str_eq(errs.items[0].key, "server.listen");
	}
}

Test(config, environment_label_is_bounded_in_length_and_characters)
{
	expect_one_error("server:\n  environment: prod/eu\n", 2, 16, "server.environment",
			 "must be 1 to 32 letters, digits, spaces, '.', '_' or '-', got 'prod/eu'");
	cr_expect_eq(parse("server:\n  environment: abcdefghijklmnopqrstuvwxyz012345\n"), 0);
	cr_expect_eq(parse("server:\n  environment: abcdefghijklmnopqrstuvwxyz0123456\n"), -1);
}

Test(config, a_nul_inside_a_value_is_refused)
{
	expect_one_error("store:\n  db: \"a\\0b\"\n", 2, 7, "store.db",
			 "must not contain a NUL character");
}

/* --- collecting */

Test(config, every_error_in_a_file_is_collected_in_order)
{
	const char *yaml = "server:\n"
			   "  listn: 127.0.0.1:1\n"
			   "  threads: many\n"
			   "store:\n"
			   "  busy_timeout_ms: -5\n"
			   "log:\n"
			   "  level: loud\n";
	cr_assert_eq(parse(yaml), -1);
	cr_assert_eq(errs.n, 4);
	expect_error(0, 2, 3, "server.listn", NULL);
	expect_error(1, 3, 12, "server.threads", NULL);
	expect_error(2, 5, 20, "store.busy_timeout_ms", NULL);
	expect_error(3, 7, 10, "log.level", NULL);
	cr_expect_eq(errs.dropped, 0);
}

Test(config, valid_settings_beside_invalid_ones_are_still_read)
{
	cr_assert_eq(parse("server:\n  threads: many\n  environment: ci\n"), -1);
	cr_expect_str_eq(cfg.environment, "ci");
}

Test(config, errors_beyond_the_limit_are_counted_not_stored)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "server:\n");
	for (int i = 0; i < CONFIG_MAX_ERRORS + 6; i++)
		buf_printf(&b, "  unknown_%d: 1\n", i);
	cr_assert_eq(parse(buf_cstr(&b)), -1);
	buf_free(&b);
	cr_expect_eq(errs.n, CONFIG_MAX_ERRORS);
	cr_expect_eq(errs.dropped, 6);
}

/* --- building: file, environment, flags */

Test(config, a_missing_file_is_an_error_without_a_location)
{
	struct config_source src = {.path = "/nonexistent/portal.yaml"};
	cr_assert_eq(build(&src), -1);
	cr_assert_eq(errs.n, 1);
	cr_expect_str_eq(errs.items[0].file, "/nonexistent/portal.yaml");
	cr_expect_eq(errs.items[0].line, 0);
	cr_expect_str_eq(errs.items[0].msg, "cannot read: No such file or directory");
}

Test(config, errors_in_a_file_carry_its_path)
{
	const char *path = temp_file("log:\n  level: loud\n");
	struct config_source src = {.path = path};
	cr_assert_eq(build(&src), -1);
	unlink(path);
	expect_error(0, 2, 10, "log.level", NULL);
	cr_expect_str_eq(errs.items[0].file, path);
}

Test(config, the_environment_overrides_the_file)
{
	const char *path = temp_file("server:\n  environment: from-file\n  threads: 2\n");
	char *env[] = {"PORTAL_ENVIRONMENT=from-env", NULL};
	struct config_source src = {.path = path, .envp = env};
	cr_assert_eq(build(&src), 0, "%s", formatted(&errs.items[0]));
	unlink(path);
	cr_expect_str_eq(cfg.environment, "from-env");
	cr_expect_eq(cfg.threads, 2);
	cr_expect_str_eq(cfg.path, path);
}

Test(config, a_flag_overrides_the_environment)
{
	char *env[] = {"PORTAL_ENVIRONMENT=from-env", "PORTAL_THREADS=4", NULL};
	struct config_source src = {.envp = env,
				    .flags = {{"environment", "from-flag"}},
				    .nflags = 1};
	cr_assert_eq(build(&src), 0, "%s", formatted(&errs.items[0]));
	cr_expect_str_eq(cfg.environment, "from-flag");
	cr_expect_eq(cfg.threads, 4);
}

Test(config, the_last_of_two_equal_flags_wins)
{
	struct config_source src = {.flags = {{"threads", "2"}, {"threads", "6"}}, .nflags = 2};
	cr_assert_eq(build(&src), 0);
	cr_expect_eq(cfg.threads, 6);
}

Test(config, other_portal_variables_are_ignored)
{
	char *env[] = {"PORTAL_CONFIG=/elsewhere.yaml", "PORTAL_BIN=build/portal",
		       "PORTAL_LISTENX=bad", "HOME=/root", "PORTAL_LOG_LEVEL=warn", NULL};
	struct config_source src = {.envp = env};
	cr_assert_eq(build(&src), 0, "%s", formatted(&errs.items[0]));
	cr_expect_eq(cfg.log_level, LOG_WARN);
}

Test(config, a_bad_environment_value_names_the_variable)
{
	char *env[] = {"PORTAL_THREADS=lots", NULL};
	struct config_source src = {.envp = env};
	cr_assert_eq(build(&src), -1);
	cr_assert_eq(errs.n, 1);
	cr_expect_str_eq(errs.items[0].file, "environment");
	cr_expect_str_eq(errs.items[0].key, "PORTAL_THREADS");
	cr_expect_eq(errs.items[0].line, 0);
	cr_expect_str_eq(errs.items[0].msg, "expected an integer, got 'lots'");
}

Test(config, a_bad_flag_value_names_the_flag)
{
	struct config_source src = {.flags = {{"max-header-bytes", "10"}}, .nflags = 1};
	cr_assert_eq(build(&src), -1);
	cr_assert_eq(errs.n, 1);
	cr_expect_str_eq(errs.items[0].file, "command line");
	cr_expect_str_eq(errs.items[0].key, "--max-header-bytes");
	cr_expect_str_eq(errs.items[0].msg, "must be between 1024 and 1048576, got 10");
}

Test(config, an_unknown_flag_is_an_error)
{
	struct config_source src = {.flags = {{"thread", "2"}, {"colour", "blue"}}, .nflags = 2};
	cr_assert_eq(build(&src), -1);
	cr_assert_eq(errs.n, 2);
	cr_expect_str_eq(errs.items[0].key, "--thread");
	cr_expect_str_eq(errs.items[0].msg, "unknown flag; did you mean '--threads'?");
	cr_expect_str_eq(errs.items[1].key, "--colour");
	cr_expect_str_eq(errs.items[1].msg, "unknown flag");
}

Test(config, errors_from_the_file_the_environment_and_flags_are_all_reported)
{
	const char *path = temp_file("server:\n  threads: 99\n");
	char *env[] = {"PORTAL_DB=", NULL};
	struct config_source src = {.path = path, .envp = env,
				    .flags = {{"log-level", "loud"}}, .nflags = 1};
	cr_assert_eq(build(&src), -1);
	unlink(path);
	cr_assert_eq(errs.n, 3);
	cr_expect_str_eq(errs.items[0].key, "server.threads");
	cr_expect_str_eq(errs.items[1].key, "PORTAL_DB");
	cr_expect_str_eq(errs.items[2].key, "--log-level");
}

/* --- formatting and help */

Test(config, an_error_from_a_file_is_formatted_with_its_location)
{
	struct config_error e = {"portal.yaml", 3, 12, "server.threads",
				 "must be between 0 and 64, got 100"};
	cr_expect_str_eq(formatted(&e),
			 "portal.yaml:3:12: server.threads: must be between 0 and 64, got 100");
}

Test(config, an_error_without_a_line_is_formatted_without_a_location)
{
	struct config_error e = {"environment", 0, 0, "PORTAL_THREADS",
				 "expected an integer, got 'lots'"};
	cr_expect_str_eq(formatted(&e),
			 "environment: PORTAL_THREADS: expected an integer, got 'lots'");
}

Test(config, an_error_without_a_key_leaves_the_key_out)
{
	struct config_error e = {"/etc/portal.yaml", 0, 0, "", "cannot read: Permission denied"};
	cr_expect_str_eq(formatted(&e), "/etc/portal.yaml: cannot read: Permission denied");
}

Test(config, only_the_declared_flags_are_known)
{
	cr_expect(config_flag_known("listen"));
	cr_expect(config_flag_known("busy-timeout-ms"));
	cr_expect_not(config_flag_known("busy_timeout_ms"));
	cr_expect_not(config_flag_known("config"));
	cr_expect_not(config_flag_known(""));
}

Test(config, flag_help_names_the_variable_and_the_default)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	const char *const flags[] = {"listen", "threads", NULL};
	config_print_flags(out, flags);
	fclose(out);
	cr_expect_str_eq(text, "  --listen HOST:PORT     address to listen on "
			       "(env PORTAL_LISTEN, default 127.0.0.1:8080)\n"
			       "  --threads N            event-loop threads, 0 = one per core "
			       "(env PORTAL_THREADS, default 0)\n");
	free(text);
}

/* Reads a file of the repository (the tests run from its root) into b. */
static void read_repo_file(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s (run from the repository root)", path);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(b, chunk, n);
	fclose(f);
}

Test(config, every_flag_is_documented_in_the_reference_and_the_example)
{
	struct buf docs = BUF_INIT, example = BUF_INIT;
	read_repo_file("docs/configuration.md", &docs);
	read_repo_file("config/portal.example.yaml", &example);
	for (int i = 0; i < config_setting_count(); i++) {
		const struct config_setting *s = config_setting_at(i);
		char want[128];
		cr_expect(config_flag_known(s->flag), "--%s", s->flag);
		snprintf(want, sizeof want, "| `%s` | `--%s` | `%s` |", s->key, s->flag, s->env);
		cr_expect(strstr(buf_cstr(&docs), want) != NULL, "docs lack the row for %s", want);
		snprintf(want, sizeof want, "# flag --%s, env %s", s->flag, s->env);
		cr_expect(strstr(buf_cstr(&example), want) != NULL, "example lacks '%s'", want);
	}
	cr_expect_null(config_setting_at(config_setting_count()));
	buf_free(&docs);
	buf_free(&example);
}

/* --- which commands take each flag, and what a reload applies */

/* Each command with its CONFIG_CMD_* bits, as its spec in src/cmd/ names them. */
static const struct {
	const char *name;
	unsigned bits;
} commands[] = {
	{"serve", CONFIG_CMD_SERVE}, {"worker", CONFIG_CMD_WORKER},
	{"migrate", CONFIG_CMD_MIGRATE}, {"emit", CONFIG_CMD_EMIT},
	{"token", CONFIG_CMD_TOKEN}, {"user", CONFIG_CMD_USER},
	{"demo", CONFIG_CMD_DEMO}, {"replay", CONFIG_CMD_REPLAY},
	{"check", CONFIG_CMD_CHECK},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

Test(config, every_setting_is_taken_by_some_command)
{
	for (int i = 0; i < config_setting_count(); i++) {
		const struct config_setting *s = config_setting_at(i);
		cr_expect_neq(s->commands, 0u, "no command takes --%s", s->flag);
		cr_expect_eq(s->commands & ~(unsigned)CONFIG_CMD_STORE, 0u,
			     "--%s names an unknown command", s->flag);
	}
}

Test(config, check_takes_every_flag_that_serve_or_worker_takes)
{
	for (int i = 0; i < config_setting_count(); i++) {
		const struct config_setting *s = config_setting_at(i);
		int served = (s->commands & (CONFIG_CMD_SERVE | CONFIG_CMD_WORKER)) != 0;
		cr_expect_eq(config_flag_taken(s->flag, CONFIG_CMD_CHECK), served, "--%s", s->flag);
	}
	cr_expect(config_flag_taken("proof-graph", CONFIG_CMD_CHECK));
	cr_expect(config_flag_taken("datahub-component", CONFIG_CMD_CHECK));
}

Test(config, each_command_accepts_exactly_the_flags_its_rows_name)
{
	for (size_t c = 0; c < NCOMMANDS; c++) {
		struct cmd_spec spec = {.name = commands[c].name, .summary = "",
					.settings = commands[c].bits};
		for (int i = 0; i < config_setting_count(); i++) {
			const struct config_setting *s = config_setting_at(i);
			char flag[80];
			snprintf(flag, sizeof flag, "--%s", s->flag);
			char *argv[] = {(char *)commands[c].name, flag, "value", NULL};
			struct cmd_args args;
			FILE *quiet = freopen("/dev/null", "w", stderr);
			int rc = cmd_parse(&spec, 3, argv, &args);
			cr_assert_not_null(quiet);
			int taken = (s->commands & commands[c].bits) != 0;
			cr_expect_eq(rc, taken ? 0 : 2, "portal %s %s", commands[c].name, flag);
			if (taken) {
				cr_expect_eq(args.src.nflags, 1);
				cr_expect_str_eq(args.src.flags[0][0], s->flag);
			}
		}
	}
}

Test(config, each_commands_help_lists_exactly_its_settings)
{
	for (size_t c = 0; c < NCOMMANDS; c++) {
		char *text = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&text, &len);
		config_print_command_flags(out, commands[c].bits);
		fclose(out);
		for (int i = 0; i < config_setting_count(); i++) {
			const struct config_setting *s = config_setting_at(i);
			char want[128];
			snprintf(want, sizeof want, "  --%s %s", s->flag, s->metavar);
			int taken = (s->commands & commands[c].bits) != 0;
			cr_expect_eq(strstr(text, want) != NULL, taken, "portal %s --help and --%s",
				     commands[c].name, s->flag);
		}
		free(text);
	}
}

Test(config, a_reload_applies_every_reloadable_setting_and_keeps_the_rest)
{
	struct config old, fresh;
	config_defaults(&old);
	config_defaults(&fresh);
	/* every setting's field differs between the running and the new config */
	for (int i = 0; i < config_setting_count(); i++)
		((unsigned char *)&fresh)[config_setting_at(i)->offset] ^= 1;
	const char *keys[64];
	int n = config_keep_restart_only(&old, &fresh, CONFIG_CMD_SERVE, keys, 64);
	int kept = 0;
	for (int i = 0; i < config_setting_count(); i++) {
		const struct config_setting *s = config_setting_at(i);
		int same = memcmp((char *)&old + s->offset, (char *)&fresh + s->offset, s->size) == 0;
		if (s->reload == SETTING_RELOADS) {
			cr_expect_not(same, "a reload should apply %s", s->key);
			continue;
		}
		cr_expect(same, "a reload should keep the running %s", s->key);
		if (!(s->commands & CONFIG_CMD_SERVE))
			continue; /* kept, but not serve's to name */
		cr_assert_lt(kept, n);
		cr_expect_str_eq(keys[kept], s->key);
		kept++;
	}
	cr_expect_eq(n, kept);
	cr_expect_gt(kept, 0);
	/* nothing changed: nothing to keep */
	cr_expect_eq(config_keep_restart_only(&old, &old, CONFIG_CMD_SERVE, keys, 64), 0);
}

Test(config, every_setting_read_at_start_says_restart_in_the_reference)
{
	struct buf docs = BUF_INIT;
	read_repo_file("docs/configuration.md", &docs);
	for (int i = 0; i < config_setting_count(); i++) {
		const struct config_setting *s = config_setting_at(i);
		char head[128];
		snprintf(head, sizeof head, "| `%s` | `--%s` |", s->key, s->flag);
		const char *row = strstr(buf_cstr(&docs), head);
		cr_assert_not_null(row, "docs lack the row for %s", s->key);
		size_t len = strcspn(row, "\n");
		int restart = len > 11 && strncmp(row + len - 11, "| restart |", 11) == 0;
		if (s->reload == SETTING_AT_START)
			cr_expect(restart, "docs should say %s needs a restart", s->key);
	}
	buf_free(&docs);
}

Test(config, flag_help_says_none_for_an_empty_default)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	const char *const flags[] = {"identity-header", "preview", NULL};
	config_print_flags(out, flags);
	fclose(out);
	cr_expect_str_eq(text, "  --identity-header NAME header in which a trusted proxy names the "
			       "signed-in account; empty = off (env PORTAL_IDENTITY_HEADER, "
			       "default none)\n"
			       "  --preview true|false   signed-out visitors of / see the pre-auth "
			       "preview, not the sign-in page (env PORTAL_PREVIEW, default true)\n");
	free(text);
}

/* Builds yaml from a temporary file, with extra flags; the file is removed. */
static int build_yaml(const char *yaml, const char *mode)
{
	const char *path = temp_file(yaml);
	static char kept[64];
	snprintf(kept, sizeof kept, "%s", path);
	struct config_source src = {.path = kept};
	if (mode) {
		src.flags[0][0] = "mode";
		src.flags[0][1] = mode;
		src.nflags = 1;
	}
	int rc = build(&src);
	unlink(kept);
	return rc;
}

/* After build_yaml: the only error is at line:column for key, containing want. */
static void expect_only(int line, int column, const char *key, const char *want)
{
	cr_assert_eq(errs.n, 1, "expected 1 error, got %d (first: %s)", errs.n,
		     errs.n ? formatted(&errs.items[0]) : "");
	expect_error(0, line, column, key, NULL);
	cr_expect(strstr(errs.items[0].msg, want) != NULL, "'%s' lacks '%s'", errs.items[0].msg,
		  want);
}

/* --- auth: sign-in sessions, preview, proxies and the identity header */

Test(config, session_lifetimes_are_bounded)
{
	expect_one_error("auth:\n  session_idle_ms: 999\n", 2, 20, "auth.session_idle_ms",
			 "must be between 1000 and 604800000, got 999");
	expect_one_error("auth:\n  session_max_ms: 2147483648\n", 2, 19, "auth.session_max_ms",
			 "must be between 1000 and 2147483647, got 2147483648");
	cr_expect_eq(parse("auth:\n  session_max_ms: 2147483647\n"), 0);
	cr_expect_eq(cfg.session_max_ms, 2147483647);
}

Test(config, preview_takes_true_or_false_and_nothing_else)
{
	cr_assert_eq(parse("auth:\n  preview: false\n"), 0);
	cr_expect_eq(cfg.preview, 0);
	cr_assert_eq(parse("auth: {preview: true}\n"), 0);
	cr_expect_eq(cfg.preview, 1);
	expect_one_error("auth:\n  preview: yes\n", 2, 12, "auth.preview",
			 "must be true or false, got 'yes'");
	expect_one_error("auth:\n  preview: True\n", 2, 12, "auth.preview",
			 "must be true or false, got 'True'");
	expect_one_error("auth:\n  preview: \"false\"\n", 2, 12, "auth.preview",
			 "expected true or false, got the quoted string 'false' "
			 "(write it without quotes)");
	expect_one_error("auth:\n  preview:\n", 2, 11, "auth.preview",
			 "expected true or false, got nothing");
}

Test(config, preview_comes_from_the_environment_and_flags_too)
{
	char *env[] = {"PORTAL_PREVIEW=false", NULL};
	struct config_source src = {.envp = env};
	cr_assert_eq(build(&src), 0, "%s", formatted(&errs.items[0]));
	cr_expect_eq(cfg.preview, 0);
	struct config_source fl = {.envp = env, .flags = {{"preview", "true"}}, .nflags = 1};
	cr_assert_eq(build(&fl), 0, "%s", formatted(&errs.items[0]));
	cr_expect_eq(cfg.preview, 1);
	char *bad[] = {"PORTAL_PREVIEW=1", NULL};
	struct config_source b = {.envp = bad};
	cr_assert_eq(build(&b), -1);
	cr_expect_str_eq(formatted(&errs.items[0]),
			 "environment: PORTAL_PREVIEW: must be true or false, got '1'");
}

Test(config, trusted_proxies_take_a_flow_or_block_sequence_or_one_string)
{
	cr_assert_eq(parse("auth:\n  trusted_proxies: [127.0.0.1, 10.0.0.0/8, \"::1\", "
			   "\"fd00::/8\"]\n"),
		     0, "%s", errs.items[0].msg);
	cr_expect_str_eq(cfg.trusted_proxies, "127.0.0.1, 10.0.0.0/8, ::1, fd00::/8");
	cr_assert_eq(parse("auth:\n  trusted_proxies:\n    - 127.0.0.1\n    - ::1\n"
			   "    - fd00::/8\n"),
		     0, "%s", errs.items[0].msg);
	cr_expect_str_eq(cfg.trusted_proxies, "127.0.0.1, ::1, fd00::/8");
	cr_assert_eq(parse("auth:\n  trusted_proxies: \" 127.0.0.1 ,10.0.0.0/8,  ::1\"\n"), 0,
		     "%s", errs.items[0].msg);
	cr_expect_str_eq(cfg.trusted_proxies, "127.0.0.1, 10.0.0.0/8, ::1");
	cr_assert_eq(parse("auth:\n  trusted_proxies: 192.168.0.0/16\n"), 0);
	cr_expect_str_eq(cfg.trusted_proxies, "192.168.0.0/16");
}

Test(config, an_empty_list_or_string_trusts_no_proxy)
{
	cr_assert_eq(parse("auth:\n  trusted_proxies: [10.0.0.0/8]\n"), 0);
	cr_assert_eq(parse("auth:\n  trusted_proxies: []\n"), 0, "%s", errs.items[0].msg);
	cr_expect_str_eq(cfg.trusted_proxies, "");
	cr_assert_eq(parse("auth:\n  trusted_proxies: \"\"\n"), 0, "%s", errs.items[0].msg);
	cr_expect_str_eq(cfg.trusted_proxies, "");
}

Test(config, a_bad_proxy_entry_is_named_where_it_is_written)
{
	expect_one_error("auth:\n  trusted_proxies: [127.0.0.1, 10.0.0.300]\n", 2, 32,
			 "auth.trusted_proxies",
			 "'10.0.0.300' is not an IPv4 or IPv6 address (names are not resolved; "
			 "give an address or a CIDR such as 10.0.0.0/8)");
	expect_one_error("auth:\n  trusted_proxies:\n    - 10.0.0.0/8\n    - 10.0.0.1/8\n", 4, 7,
			 "auth.trusted_proxies",
			 "'10.0.0.1/8' has bits set past its prefix; did you mean 10.0.0.0/8?");
	expect_one_error("auth:\n  trusted_proxies: \"10.0.0.0/8, proxy.internal\"\n", 2, 20,
			 "auth.trusted_proxies",
			 "'proxy.internal' is not an IPv4 or IPv6 address (names are not "
			 "resolved; give an address or a CIDR such as 10.0.0.0/8)");
	expect_one_error("auth:\n  trusted_proxies: [10.0.0.0/8, \"\"]\n", 2, 33,
			 "auth.trusted_proxies", "an empty entry");
	expect_one_error("auth:\n  trusted_proxies: [10.0.0.0/8, [a]]\n", 2, 33,
			 "auth.trusted_proxies", "expected an address or CIDR, got a sequence");
	expect_one_error("auth:\n  trusted_proxies: {a: 1}\n", 2, 20, "auth.trusted_proxies",
			 "expected a list of addresses or CIDRs, got a mapping");
}

Test(config, a_refused_proxy_list_leaves_the_value_unchanged)
{
	cr_assert_eq(parse("auth:\n  trusted_proxies: [10.0.0.0/8, nope]\n"), -1);
	cr_expect_str_eq(cfg.trusted_proxies, "");
}

Test(config, trusted_proxies_come_from_the_environment_and_flags_as_text)
{
	char *env[] = {"PORTAL_TRUSTED_PROXIES=10.0.0.0/8,::1", NULL};
	struct config_source src = {.envp = env};
	cr_assert_eq(build(&src), 0, "%s", formatted(&errs.items[0]));
	cr_expect_str_eq(cfg.trusted_proxies, "10.0.0.0/8, ::1");
	struct config_source fl = {.flags = {{"trusted-proxies", "fd00::/8,"}}, .nflags = 1};
	cr_assert_eq(build(&fl), -1);
	cr_expect_str_eq(formatted(&errs.items[0]),
			 "command line: --trusted-proxies: an empty entry (two commas in a row, "
			 "or one at an end)");
}

Test(config, a_proxy_list_longer_than_the_field_is_refused)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "auth:\n  trusted_proxies:\n");
	for (int i = 0; i < 40; i++)
		buf_printf(&b, "    - 10.0.%d.0/24\n", i);
	cr_assert_eq(parse(buf_cstr(&b)), -1);
	buf_free(&b);
	cr_assert_eq(errs.n, 1);
	expect_error(0, 3, 5, "auth.trusted_proxies",
		     "must be shorter than 512 characters (written as \"a, b, c\")");
}

Test(config, the_identity_header_is_a_header_name_or_empty)
{
	cr_assert_eq(parse("auth:\n  identity_header: X-Forwarded-User\n"), 0);
	cr_expect_str_eq(cfg.identity_header, "X-Forwarded-User");
	cr_assert_eq(parse("auth:\n  identity_header: \"\"\n"), 0, "%s", errs.items[0].msg);
	cr_expect_str_eq(cfg.identity_header, "");
	expect_one_error("auth:\n  identity_header: X-Forwarded User\n", 2, 20,
			 "auth.identity_header",
			 "must be an HTTP header name of 1 to 63 letters, digits or '-' (e.g. "
			 "X-Forwarded-User), or empty for none, got 'X-Forwarded User'");
	expect_one_error("auth:\n  identity_header: X_User\n", 2, 20, "auth.identity_header",
			 NULL);
	char yaml[160];
	snprintf(yaml, sizeof yaml, "auth:\n  identity_header: X-%062d\n", 0);
	expect_one_error(yaml, 2, 20, "auth.identity_header", NULL);
	snprintf(yaml, sizeof yaml, "auth:\n  identity_header: X-%061d\n", 0);
	cr_expect_eq(parse(yaml), 0);
}

/* --- worker: */

Test(config, the_worker_settings_are_read_from_the_file)
{
	cr_assert_eq(parse("worker:\n  concurrency: 2\n  id: host-a:17\n"
			   "  lease_slack_ms: 500\n"), 0, "%s", errs.items[0].msg);
	cr_expect_eq(cfg.worker_concurrency, 2);
	cr_expect_str_eq(cfg.worker_id, "host-a:17");
	cr_expect_eq(cfg.worker_lease_slack_ms, 500);
	expect_one_error("worker:\n  concurrency: 0\n", 2, 16, "worker.concurrency",
			 "must be between 1 and 64, got 0");
	expect_one_error("worker:\n  concurrency: 65\n", 2, 16, "worker.concurrency", NULL);
	expect_one_error("worker:\n  lease_slack_ms: 99\n", 2, 19, "worker.lease_slack_ms",
			 "must be between 100 and 3600000, got 99");
	expect_one_error("worker:\n  lease_slack_ms: 3600001\n", 2, 19, "worker.lease_slack_ms",
			 NULL);
}

Test(config, a_worker_id_is_printable_without_spaces_or_empty_for_host_and_pid)
{
	cr_assert_eq(parse("worker:\n  id: \"\"\n"), 0, "%s", errs.items[0].msg);
	cr_expect_str_eq(cfg.worker_id, "");
	cr_assert_eq(parse("worker:\n  id: w/1@eu~x\n"), 0, "%s", errs.items[0].msg);
	cr_expect_str_eq(cfg.worker_id, "w/1@eu~x");
	expect_one_error("worker:\n  id: worker a\n", 2, 7, "worker.id",
			 "must be empty or 1 to 63 printable characters without spaces, "
			 "got 'worker a'");
	expect_one_error("worker:\n  id: \"a\\tb\"\n", 2, 7, "worker.id", NULL);
	char yaml[160];
	snprintf(yaml, sizeof yaml, "worker:\n  id: w%063d\n", 0);
	expect_one_error(yaml, 2, 7, "worker.id", NULL);
	snprintf(yaml, sizeof yaml, "worker:\n  id: w%062d\n", 0);
	cr_expect_eq(parse(yaml), 0);
}

Test(config, the_worker_settings_come_from_the_environment_and_flags)
{
	char *env[] = {"PORTAL_WORKER_CONCURRENCY=8", "PORTAL_WORKER_ID=from-env",
		       "PORTAL_WORKER_LEASE_SLACK_MS=1000", NULL};
	struct config_source src = {.envp = env,
				    .flags = {{"id", "from-flag"}, {"lease-slack-ms", "300"}},
				    .nflags = 2};
	cr_assert_eq(build(&src), 0, "%s", formatted(&errs.items[0]));
	cr_expect_eq(cfg.worker_concurrency, 8);
	cr_expect_str_eq(cfg.worker_id, "from-flag");
	cr_expect_eq(cfg.worker_lease_slack_ms, 300);
	struct config_source bad = {.flags = {{"concurrency", "0"}}, .nflags = 1};
	cr_assert_eq(build(&bad), -1);
	cr_assert_eq(errs.n, 1);
	cr_expect_str_eq(errs.items[0].key, "--concurrency");
	cr_expect_str_eq(errs.items[0].msg, "must be between 1 and 64, got 0");
	cr_expect(config_flag_taken("concurrency", CONFIG_CMD_WORKER));
	cr_expect(config_flag_taken("id", CONFIG_CMD_CHECK));
	cr_expect_not(config_flag_taken("lease-slack-ms", CONFIG_CMD_SERVE));
}

Test(config, an_identity_header_without_trusted_proxies_is_refused_at_the_header)
{
	cr_assert_eq(build_yaml("auth:\n  identity_header: X-Forwarded-User\n", NULL), -1);
	expect_only(2, 20, "auth.identity_header",
		    "needs auth.trusted_proxies: the header is believed only from a trusted "
		    "proxy, and none is listed");
	cr_assert_eq(build_yaml("auth:\n  identity_header: X-Forwarded-User\n"
				"  trusted_proxies: [127.0.0.1]\n",
				NULL),
		     0, "%s", formatted(&errs.items[0]));
	char *env[] = {"PORTAL_IDENTITY_HEADER=X-Auth-Request-User", NULL};
	struct config_source src = {.envp = env};
	cr_assert_eq(build(&src), -1);
	cr_assert_eq(errs.n, 1);
	cr_expect_str_eq(formatted(&errs.items[0]),
			 "environment: PORTAL_IDENTITY_HEADER: needs auth.trusted_proxies: the "
			 "header is believed only from a trusted proxy, and none is listed");
	struct config_source fl = {.flags = {{"identity-header", "X-User"}}, .nflags = 1};
	cr_assert_eq(build(&fl), -1);
	cr_expect_str_eq(errs.items[0].key, "--identity-header");
}

Test(config, a_proxy_list_set_later_satisfies_the_header_from_the_file)
{
	cr_assert_eq(build_yaml("auth:\n  identity_header: X-Forwarded-User\n", NULL), -1);
	const char *path = temp_file("auth:\n  identity_header: X-Forwarded-User\n");
	char *env[] = {"PORTAL_TRUSTED_PROXIES=10.0.0.0/8", NULL};
	struct config_source src = {.path = path, .envp = env};
	cr_assert_eq(build(&src), 0, "%s", formatted(&errs.items[0]));
	unlink(path);
	cr_expect_str_eq(cfg.identity_header, "X-Forwarded-User");
}

Test(config, idle_longer_than_the_session_may_last_is_refused_where_it_was_set)
{
	cr_assert_eq(build_yaml("auth:\n  session_idle_ms: 90000000\n", NULL), -1);
	expect_only(2, 20, "auth.session_idle_ms",
		    "auth.session_idle_ms (90000000) must not exceed auth.session_max_ms "
		    "(43200000): a sign-in cannot stay unused for longer than it may last");
	/* Only the maximum was lowered: the default idle is in the way, say so there. */
	cr_assert_eq(build_yaml("auth:\n  session_max_ms: 3600000\n", NULL), -1);
	expect_only(2, 19, "auth.session_max_ms", "auth.session_idle_ms (7200000) must not exceed");
	struct config_source fl = {.flags = {{"session-max-ms", "3600000"},
					     {"session-idle-ms", "3600001"}},
				   .nflags = 2};
	cr_assert_eq(build(&fl), -1);
	cr_assert_eq(errs.n, 1);
	cr_expect_str_eq(errs.items[0].key, "--session-idle-ms");
	struct config_source eq = {.flags = {{"session-max-ms", "3600000"},
					     {"session-idle-ms", "3600000"}},
				   .nflags = 2};
	cr_expect_eq(build(&eq), 0, "equal is allowed");
}

Test(config, a_refused_value_is_not_also_judged_against_the_others)
{
	char *env[] = {"PORTAL_SESSION_MAX_MS=10", "PORTAL_TRUSTED_PROXIES=nope", NULL};
	struct config_source src = {.envp = env, .flags = {{"identity-header", "X-User"}},
				    .nflags = 1};
	cr_assert_eq(build(&src), -1);
	cr_assert_eq(errs.n, 2, "%s", formatted(&errs.items[errs.n - 1]));
	cr_expect_str_eq(errs.items[0].key, "PORTAL_SESSION_MAX_MS");
	cr_expect_str_eq(errs.items[1].key, "PORTAL_TRUSTED_PROXIES");
}

Test(config, auth_typos_get_suggestions)
{
	expect_one_error("auth:\n  idle: 1\n", 2, 3, "auth.idle",
			 "unknown key; 'auth' has session_idle_ms, session_max_ms, preview, "
			 "trusted_proxies, identity_header");
	expect_one_error("auth:\n  trusted_proxys: []\n", 2, 3, "auth.trusted_proxys",
			 "unknown key; did you mean 'auth.trusted_proxies'?");
	expect_one_error("auht:\n  preview: true\n", 1, 1, "auht",
			 "unknown section; did you mean 'auth'?");
	expect_one_error("preview: false\n", 1, 1, "preview",
			 "unknown section; did you mean 'auth.preview'?");
	expect_one_error("server:\n  identity_header: X-User\n", 2, 3, "server.identity_header",
			 "unknown key; did you mean 'auth.identity_header'?");
}

/* --- the catalogue: components, secrets, vault */

static const char *const temporal_yaml = "components:\n"
					 "  - name: temporal\n"
					 "    ownership: owned\n"
					 "    public_url: http://127.0.0.1:8233\n"
					 "    internal_url: http://127.0.0.1:7243\n";

Test(config, the_example_declares_the_whole_catalogue)
{
	struct config_source src = {.path = "config/portal.example.yaml"};
	cr_assert_eq(build(&src), 0, "%s", formatted(&errs.items[0]));
	const struct catalogue *cat = &cfg.catalogue;
	cr_expect_geq(cat->ncomponents, 14);
	size_t owned = 0;
	for (size_t i = 0; i < cat->ncomponents; i++) {
		const struct component_contract *c = &cat->components[i];
		owned += c->ownership == OWNERSHIP_OWNED;
		cr_expect(c->launch.opens[0] && c->launch.sign_in[0] && c->launch.needs[0] &&
				  c->launch.on_failure[0],
			  "%s lacks launch guidance", c->name);
		cr_expect(c->internal_url.s[0], "%s lacks an internal URL", c->name);
	}
	cr_expect_geq(owned, 1);
	cr_expect_lt(owned, cat->ncomponents, "the example needs endpoints too");
	cr_expect(cat->dev_mode);
	const struct component_contract *grid = catalogue_find(cat, "playwright-grid");
	cr_assert_not_null(grid);
	cr_expect_str_eq(grid->health.path, "/status");
	cr_expect_str_eq(grid->health.body_path, "value.ready");
	cr_expect_str_eq(grid->health.body_equals, "true");
	const struct component_contract *t = catalogue_find(cat, "temporal");
	cr_assert_not_null(t);
	cr_expect_str_eq(t->health.path, "/api/v1/system-info");
	cr_expect_eq(t->auth, CONTRACT_AUTH_BEARER);
	cr_expect_geq(cat->nsecrets, 1);
	cr_expect_str_eq(cat->vault.token_secret, "vault_token");
	config_dispose(&cfg);
}

Test(config, a_component_is_read_with_health_defaults)
{
	cr_assert_eq(build_yaml(temporal_yaml, NULL), 0, "%s", formatted(&errs.items[0]));
	cr_assert_eq(cfg.catalogue.ncomponents, 1);
	const struct component_contract *c = &cfg.catalogue.components[0];
	cr_expect_str_eq(c->name, "temporal");
	cr_expect_str_eq(c->title, "temporal");
	cr_expect_eq(c->ownership, OWNERSHIP_OWNED);
	cr_expect_str_eq(c->public_url.s, "http://127.0.0.1:8233");
	cr_expect_str_eq(c->health.path, "/");
	cr_expect_eq(c->health.expect_status, 200);
	cr_expect_eq(c->health.interval_ms, 15000);
	cr_expect_eq(c->health.timeout_ms, 2000);
	cr_expect_eq(c->health.slow_ms, 1000);
	cr_expect_eq(c->auth, CONTRACT_AUTH_NONE);
	config_dispose(&cfg);
}

Test(config, mode_defaults_to_dev_and_takes_production_from_flag_or_environment)
{
	config_defaults(&cfg);
	cr_expect_eq(cfg.catalogue.dev_mode, 1);
	char *env[] = {"PORTAL_MODE=production", NULL};
	struct config_source src = {.envp = env};
	cr_assert_eq(build(&src), 0);
	cr_expect_eq(cfg.catalogue.dev_mode, 0);
	expect_one_error("server:\n  mode: staging\n", 2, 9, "server.mode",
			 "must be one of dev, production, got 'staging'");
}

Test(config, production_mode_refuses_a_loopback_public_url_that_dev_allows)
{
	cr_assert_eq(build_yaml(temporal_yaml, "dev"), 0, "%s", formatted(&errs.items[0]));
	cr_assert_eq(build_yaml(temporal_yaml, "production"), -1);
	expect_only(4, 17, "components[0].public_url", "'127.0.0.1' is loopback or private");
	cr_expect_eq(cfg.catalogue.ncomponents, 0, "a failed build leaves no catalogue");
	cr_expect_null(cfg.catalogue.components);
}

Test(config, an_owned_component_without_an_internal_url_is_located_at_its_entry)
{
	cr_assert_eq(build_yaml("components:\n  - name: api\n    ownership: owned\n", NULL), -1);
	expect_only(2, 5, "components[0].internal_url", "api is owned, so it needs an internal_url");
}

Test(config, an_endpoint_with_an_executor_url_is_refused)
{
	cr_assert_eq(build_yaml("components:\n"
				"  - name: nexus\n"
				"    ownership: endpoint\n"
				"    internal_url: http://127.0.0.1:8081\n"
				"    executor_url: http://nexus:8081\n",
				NULL),
		     -1);
	expect_only(5, 19, "components[0].executor_url", "nexus is an endpoint");
}

Test(config, conflated_urls_name_the_component_and_both_fields)
{
	cr_assert_eq(build_yaml("components:\n"
				"  - name: hasura\n"
				"    ownership: owned\n"
				"    public_url: http://127.0.0.1:8080/\n"
				"    internal_url: http://127.0.0.1:8080\n",
				NULL),
		     -1);
	expect_only(4, 17, "components[0].public_url",
		    "hasura's public_url and internal_url are the same URL (conflated)");
}

Test(config, a_public_url_equal_to_another_components_internal_url_is_conflated)
{
	cr_assert_eq(build_yaml("components:\n"
				"  - {name: a, ownership: owned, internal_url: http://127.0.0.1:1}\n"
				"  - {name: b, ownership: endpoint, public_url: http://127.0.0.1:1/,"
				" internal_url: http://127.0.0.1:2}\n",
				NULL),
		     -1);
	expect_only(3, 48, "components[1].public_url", "b's public_url is a's internal_url");
}

Test(config, duplicate_component_names_are_refused)
{
	cr_assert_eq(build_yaml("components:\n"
				"  - {name: a, ownership: owned, internal_url: http://127.0.0.1:1}\n"
				"  - {name: a, ownership: owned, internal_url: http://127.0.0.1:2}\n",
				NULL),
		     -1);
	expect_only(3, 12, "components[1].name", "'a' is declared twice (first as components[0])");
}

Test(config, a_component_needs_a_valid_name_and_ownership)
{
	cr_assert_eq(build_yaml("components:\n  - title: Nameless\n", NULL), -1);
	cr_assert_eq(errs.n, 2, "%s", formatted(&errs.items[0]));
	expect_error(0, 2, 5, "components[0].name", "every component needs a name");
	expect_error(1, 2, 5, "components[0].ownership",
		     "every component needs an ownership: owned or endpoint");
	cr_assert_eq(build_yaml("components:\n  - {name: Temporal_UI, ownership: both}\n", NULL),
		     -1);
	cr_assert_eq(errs.n, 2, "%s", formatted(&errs.items[0]));
	expect_error(0, 2, 12, "components[0].name",
		     "must be 1 to 63 lower-case letters, digits or '-', got 'Temporal_UI'");
	expect_error(1, 2, 36, "components[0].ownership",
		     "must be one of owned, endpoint, got 'both'");
}

Test(config, an_unknown_component_key_suggests_the_right_one)
{
	expect_one_error("components:\n  - name: a\n    ownership: owned\n    public_ur: x\n", 4, 5,
			 "components[0].public_ur", "unknown key; did you mean 'public_url'?");
	expect_one_error("components:\n  - {name: a, ownership: owned, health: {pth: /x}}\n", 2, 42,
			 "components[0].health.pth", "unknown key; did you mean 'path'?");
	expect_one_error("components:\n  - {name: a, ownership: owned, colour: red}\n", 2, 33,
			 "components[0].colour",
			 "unknown key; a component has name, title, role, ownership, public_url, "
			 "internal_url, executor_url, auth, health, launch");
}

Test(config, a_malformed_url_is_reported_at_its_value)
{
	cr_assert_eq(build_yaml("components:\n"
				"  - name: a\n"
				"    ownership: owned\n"
				"    internal_url: 127.0.0.1:7243\n",
				NULL),
		     -1);
	expect_only(4, 19, "components[0].internal_url", "must be http(s)://host[:port][/path]");
}

/* A component "a" whose health mapping is `health` (written on line 4). */
static void expect_health_error(const char *health, int column, const char *key,
				const char *msg)
{
	char yaml[256];
	snprintf(yaml, sizeof yaml, "components:\n  - name: a\n    ownership: owned\n"
				    "    health: %s\n", health);
	expect_one_error(yaml, 4, column, key, msg);
}

Test(config, health_values_are_bounded)
{
	expect_health_error("{interval_ms: 50}", 27, "components[0].health.interval_ms",
			    "must be between 100 and 3600000, got 50");
	expect_health_error("{timeout_ms: 70000}", 26, "components[0].health.timeout_ms",
			    "must be between 50 and 60000, got 70000");
	expect_health_error("{path: healthz}", 20, "components[0].health.path",
			    "must be a path starting with '/', got 'healthz'");
	expect_health_error("{body_equals: ok}", 27, "components[0].health.body_equals",
			    "must be JSON text, e.g. true, 200 or '\"UP\"', got 'ok'");
	expect_health_error("{expect_status: \"200\"}", 29, "components[0].health.expect_status",
			    "expected an integer, got the quoted string '200' "
			    "(write it without quotes)");
}

Test(config, a_health_body_check_reads_like_selenium_grid)
{
	cr_assert_eq(build_yaml("components:\n"
				"  - name: playwright-grid\n"
				"    ownership: owned\n"
				"    internal_url: http://127.0.0.1:4444\n"
				"    health: {path: /status, body_path: value.ready, body_equals: true}\n",
				NULL),
		     0, "%s", formatted(&errs.items[0]));
	cr_expect_str_eq(cfg.catalogue.components[0].health.body_path, "value.ready");
	cr_expect_str_eq(cfg.catalogue.components[0].health.body_equals, "true");
	cr_assert_eq(build_yaml("components:\n"
				"  - name: g\n"
				"    ownership: owned\n"
				"    internal_url: http://127.0.0.1:4444\n"
				"    health: {body_path: value.ready}\n",
				NULL),
		     -1);
	expect_only(5, 5, "components[0].health.body_equals", "both body_path and body_equals");
}

Test(config, auth_must_name_a_declared_secret)
{
	cr_assert_eq(build_yaml("components:\n"
				"  - name: a\n"
				"    ownership: owned\n"
				"    internal_url: http://127.0.0.1:1\n"
				"    auth: {kind: bearer, secret: a_token}\n",
				NULL),
		     -1);
	expect_only(5, 34, "components[0].auth.secret",
		    "names the secret 'a_token', which is not declared under secrets");
	cr_assert_eq(build_yaml("components:\n"
				"  - name: a\n"
				"    ownership: owned\n"
				"    internal_url: http://127.0.0.1:1\n"
				"    auth: {kind: bearer, secret: a_token}\n"
				"secrets:\n"
				"  a_token: env:A_TOKEN\n",
				NULL),
		     0, "%s", formatted(&errs.items[0]));
	expect_one_error("components:\n  - name: a\n    ownership: owned\n    auth: {kind: oauth}\n",
			 4, 18,
			 "components[0].auth.kind", "must be one of none, bearer, basic, got 'oauth'");
}

Test(config, secrets_of_each_source_are_read)
{
	cr_assert_eq(parse("secrets:\n"
			   "  temporal_token: env:TEMPORAL_TOKEN\n"
			   "  vault_token: file:/run/secrets/vault-token\n"
			   "  datahub_token: vault:secret/portal/datahub#token\n"
			   "vault: {addr: http://127.0.0.1:8200, token: vault_token}\n"),
		     0, "%s", errs.items[0].msg);
	cr_assert_eq(cfg.catalogue.nsecrets, 3);
	cr_expect_str_eq(cfg.catalogue.secrets[0].name, "temporal_token");
	cr_expect_eq(cfg.catalogue.secrets[0].source, SECRET_ENV);
	cr_expect_eq(cfg.catalogue.secrets[1].source, SECRET_FILE);
	cr_expect_eq(cfg.catalogue.secrets[2].source, SECRET_VAULT);
	cr_expect_str_eq(cfg.catalogue.secrets[2].ref, "secret/portal/datahub#token");
	cr_expect_str_eq(cfg.catalogue.vault.addr.s, "http://127.0.0.1:8200");
	cr_expect_str_eq(cfg.catalogue.vault.token_secret, "vault_token");
}

Test(config, an_inline_secret_is_refused_and_never_echoed)
{
	expect_one_error("secrets:\n  db_password: hunter2-very-secret\n", 2, 16,
			 "secrets.db_password",
			 "looks like an inline secret value; give env:VAR, file:/path or "
			 "vault:mount/path#key");
	struct buf b = BUF_INIT;
	config_error_format(&errs.items[0], &b);
	cr_expect_null(strstr(buf_cstr(&b), "hunter2"));
	buf_free(&b);
	expect_one_error("secrets:\n  db_password: {value: hunter2}\n", 2, 16,
			 "secrets.db_password",
			 "expected env:VAR, file:/path or vault:mount/path#key, got a mapping");
}

Test(config, secret_names_are_unique_and_well_formed)
{
	expect_one_error("secrets:\n  a: env:A\n  a: env:B\n", 3, 3, "secrets.a",
			 "duplicate key, first set at line 2");
	expect_one_error("secrets:\n  A-Token: env:A\n", 2, 3, "secrets.A-Token",
			 "a secret name is 1 to 63 lower-case letters, digits, '_' or '-'");
}

Test(config, a_vault_secret_without_a_vault_is_refused)
{
	cr_assert_eq(build_yaml("secrets:\n  d: vault:secret/portal/d#token\n", NULL), -1);
	expect_only(2, 3, "secrets.d", "needs vault.addr and vault.token");
	cr_assert_eq(build_yaml("secrets:\n  v: vault:secret/portal/v#token\n"
				"vault: {addr: http://127.0.0.1:8200, token: v}\n",
				NULL),
		     -1);
	expect_only(3, 45, "vault.token", "cannot itself come from vault");
	expect_one_error("vault: {adr: http://x}\n", 1, 9, "vault.adr",
			 "unknown key; did you mean 'addr'?");
}

Test(config, the_catalogue_sections_must_have_the_right_shape)
{
	expect_one_error("components:\n  name: a\n", 2, 3, "components",
			 "expected a sequence of components (- name: …), got a mapping");
	expect_one_error("components:\n  - temporal\n", 2, 5, "components[0]",
			 "expected a component (a mapping with name, ownership, …), got 'temporal'");
	expect_one_error("secrets: [a]\n", 1, 10, "secrets",
			 "expected a mapping of secret names to env:VAR, file:/path or "
			 "vault:mount/path#key, got a sequence");
	expect_one_error("componets: []\n", 1, 1, "componets",
			 "unknown section; did you mean 'components'?");
}

Test(config, at_most_1024_components)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "components:\n");
	for (int i = 0; i < CONFIG_MAX_COMPONENTS + 2; i++)
		buf_printf(&b, "  - {name: c%d, ownership: owned}\n", i);
	cr_assert_eq(parse(buf_cstr(&b)), -1);
	buf_free(&b);
	expect_error(0, CONFIG_MAX_COMPONENTS + 2, 5, "components[1024]",
		     "too many components: at most 1024");
	cr_expect_eq(errs.n, 1);
	cr_expect_eq(cfg.catalogue.ncomponents, CONFIG_MAX_COMPONENTS);
}

Test(config, copy_is_deep_and_dispose_leaves_it_empty)
{
	struct config_source src = {.path = "config/portal.example.yaml"};
	cr_assert_eq(build(&src), 0, "%s", formatted(&errs.items[0]));
	struct config *copy = malloc(sizeof *copy);
	config_copy(copy, &cfg);
	cr_assert_eq(copy->catalogue.ncomponents, cfg.catalogue.ncomponents);
	cr_assert_eq(copy->catalogue.nprojects, cfg.catalogue.nprojects);
	cr_assert_geq(cfg.catalogue.nprojects, 1);
	cr_expect_neq(copy->catalogue.components, cfg.catalogue.components);
	cr_expect_neq(copy->catalogue.projects, cfg.catalogue.projects);
	cr_expect_neq(copy->catalogue.secrets, cfg.catalogue.secrets);
	cr_expect_eq(memcmp(copy->catalogue.components, cfg.catalogue.components,
			    cfg.catalogue.ncomponents * sizeof *cfg.catalogue.components),
		     0);
	cr_expect_eq(memcmp(copy->catalogue.projects, cfg.catalogue.projects,
			    cfg.catalogue.nprojects * sizeof *cfg.catalogue.projects),
		     0);
	config_dispose(&cfg);
	cr_expect_null(cfg.catalogue.components);
	cr_expect_null(cfg.catalogue.projects);
	cr_expect_eq(cfg.catalogue.ncomponents, 0);
	cr_expect_eq(cfg.catalogue.nprojects, 0);
	cr_expect_eq(cfg.catalogue.nsecrets, 0);
	config_dispose(&cfg); /* twice is harmless */
	cr_expect_str_eq(copy->catalogue.components[0].name, "portal");
	cr_expect_str_eq(copy->catalogue.projects[0].name, "atlas");
	config_dispose(copy);
	free(copy);
	/* An empty catalogue copies to an empty one. */
	struct config a, c;
	config_defaults(&a);
	config_copy(&c, &a);
	cr_expect_null(c.catalogue.components);
	cr_expect_null(c.catalogue.projects);
	config_dispose(&c);
}

/* --- projects */

Test(config, every_project_of_the_demo_is_declared_in_the_example)
{
	struct config_source src = {.path = "config/portal.example.yaml"};
	cr_assert_eq(build(&src), 0, "%s", formatted(&errs.items[0]));
	json_t **evs;
	size_t n = demo_events(1700000000000LL, &evs);
	cr_assert_gt(n, 0);
	for (size_t i = 0; i < n; i++) {
		const char *name = json_string_value(json_object_get(evs[i], "project"));
		cr_expect(name && catalogue_project(&cfg.catalogue, name),
			  "the demo's project '%s' is not declared", name ? name : "(none)");
		json_decref(evs[i]);
	}
	free(evs);
	/* nexus-sync needs a secret no component needs, read from a variable that
	 * a fresh machine lacks: the demo shows it in recovery on a contract. */
	const struct project_contract *ns = catalogue_project(&cfg.catalogue, "nexus-sync");
	cr_assert_not_null(ns);
	cr_assert_eq(ns->nsecrets, 1);
	const struct secret_contract *sec = NULL;
	for (size_t i = 0; i < cfg.catalogue.nsecrets; i++)
		if (strcmp(cfg.catalogue.secrets[i].name, ns->secrets[0]) == 0)
			sec = &cfg.catalogue.secrets[i];
	cr_assert_not_null(sec);
	cr_expect_eq(sec->source, SECRET_ENV);
	for (size_t i = 0; i < cfg.catalogue.ncomponents; i++)
		cr_expect_str_neq(cfg.catalogue.components[i].auth_secret, sec->name,
				  "%s also needs it, so `portal check` would count it",
				  cfg.catalogue.components[i].name);
	config_dispose(&cfg);
}

/* Two components and a secret for projects to stand on, then `projects`. */
static int build_projects(const char *projects)
{
	char yaml[2048];
	snprintf(yaml, sizeof yaml,
		 "components:\n"
		 "  - {name: daytona, ownership: owned, internal_url: \"http://127.0.0.1:3000\"}\n"
		 "  - {name: temporal, ownership: owned, internal_url: \"http://127.0.0.1:7243\"}\n"
		 "secrets:\n"
		 "  atlas_deploy_key: env:ATLAS_DEPLOY_KEY\n"
		 "projects:\n%s",
		 projects);
	return build_yaml(yaml, NULL);
}

Test(config, a_project_is_read_with_its_components_and_secrets)
{
	cr_assert_eq(build_projects("  - name: atlas\n"
				    "    title: Atlas\n"
				    "    summary: The customer-facing workflow app.\n"
				    "    components: [daytona, temporal]\n"
				    "    secrets:\n"
				    "      - atlas_deploy_key\n"
				    "  - name: chronicle\n"),
		     0, "%s", formatted(&errs.items[0]));
	const struct catalogue *cat = &cfg.catalogue;
	cr_assert_eq(cat->nprojects, 2);
	const struct project_contract *a = catalogue_project(cat, "atlas");
	cr_assert_not_null(a);
	cr_expect_str_eq(a->title, "Atlas");
	cr_expect_str_eq(a->summary, "The customer-facing workflow app.");
	cr_assert_eq(a->ncomponents, 2);
	cr_expect_str_eq(a->components[0], "daytona");
	cr_expect_str_eq(a->components[1], "temporal");
	cr_assert_eq(a->nsecrets, 1);
	cr_expect_str_eq(a->secrets[0], "atlas_deploy_key");
	const struct project_contract *c = catalogue_project(cat, "chronicle");
	cr_assert_not_null(c);
	cr_expect_str_eq(c->title, "chronicle", "the title defaults to the name");
	cr_expect_str_eq(c->summary, "");
	cr_expect_eq(c->ncomponents + c->nsecrets, 0);
	config_dispose(&cfg);
}

Test(config, a_listed_component_that_is_not_declared_is_refused_at_the_item)
{
	cr_assert_eq(build_projects("  - name: atlas\n"
				    "    components: [daytona, daytonna]\n"),
		     -1);
	expect_only(8, 27, "projects[0].components[1]",
		    "atlas needs the component 'daytonna', which is not declared under components");
	cr_assert_eq(build_projects("  - name: atlas\n"
				    "    components:\n"
				    "      - temporal\n"
				    "      - playwright-grid\n"),
		     -1);
	expect_only(10, 9, "projects[0].components[1]", "'playwright-grid', which is not declared");
}

Test(config, a_listed_secret_that_is_not_declared_is_refused_at_the_item)
{
	cr_assert_eq(build_projects("  - name: nexus-sync\n"
				    "    secrets: [nexus_webhook_secret]\n"),
		     -1);
	expect_only(8, 15, "projects[0].secrets[0]",
		    "nexus-sync needs the secret 'nexus_webhook_secret', which is not declared "
		    "under secrets");
}

Test(config, a_name_listed_twice_is_refused_at_the_second)
{
	cr_assert_eq(build_projects("  - name: atlas\n"
				    "    components: [daytona, temporal, daytona]\n"),
		     -1);
	expect_only(8, 37, "projects[0].components[2]",
		    "atlas lists the component 'daytona' twice (first as components[0])");
	cr_assert_eq(build_projects("  - name: atlas\n"
				    "    secrets: [atlas_deploy_key, atlas_deploy_key]\n"),
		     -1);
	expect_only(8, 33, "projects[0].secrets[1]",
		    "atlas lists the secret 'atlas_deploy_key' twice (first as secrets[0])");
}

Test(config, project_names_are_required_valid_and_unique)
{
	cr_assert_eq(build_projects("  - name: atlas\n  - name: chronicle\n  - name: atlas\n"), -1);
	expect_only(9, 11, "projects[2].name", "'atlas' is declared twice (first as projects[0])");
	cr_assert_eq(build_projects("  - title: Nameless\n    components: [nothing]\n"), -1);
	expect_only(7, 5, "projects[0].name",
		    "every project needs a name (as events name it in `project`)");
	cr_assert_eq(build_projects("  - {name: Atlas, components: [nothing]}\n"), -1);
	expect_only(7, 12, "projects[0].name",
		    "must be 1 to 63 lower-case letters, digits or '-', got 'Atlas'");
}

Test(config, list_items_are_checked_where_they_are_written)
{
	cr_assert_eq(build_projects("  - name: atlas\n"
				    "    components: [daytona, Temporal]\n"
				    "    secrets: [\"atlas deploy key\"]\n"),
		     -1);
	cr_assert_eq(errs.n, 2, "%s", formatted(&errs.items[errs.n - 1]));
	expect_error(0, 8, 27, "projects[0].components[1]",
		     "must be 1 to 63 lower-case letters, digits or '-', got 'Temporal'");
	expect_error(1, 9, 15, "projects[0].secrets[0]",
		     "must name a secrets: entry (1 to 63 lower-case letters, digits, '_' or '-'), "
		     "got 'atlas deploy key'");
	cr_assert_eq(build_projects("  - name: atlas\n    components: [daytona, {a: 1}, ~]\n"), -1);
	cr_assert_eq(errs.n, 2, "%s", formatted(&errs.items[errs.n - 1]));
	expect_error(0, 8, 27, "projects[0].components[1]",
		     "expected a component name, got a mapping");
	expect_error(1, 8, 35, "projects[0].components[2]", "expected a component name, got null");
}

Test(config, a_list_must_be_a_sequence)
{
	cr_assert_eq(build_projects("  - name: atlas\n    components: daytona\n"), -1);
	expect_only(8, 17, "projects[0].components",
		    "expected a sequence of component names (e.g. [daytona, temporal]), got "
		    "'daytona'");
	cr_assert_eq(build_projects("  - name: atlas\n    secrets:\n"), -1);
	expect_only(8, 13, "projects[0].secrets",
		    "expected a sequence of secret names (e.g. [atlas_deploy_key]), got nothing");
}

Test(config, a_project_lists_at_most_sixteen_of_each)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "  - name: atlas\n    components:\n");
	for (int i = 0; i < PROJECT_MAX_NEEDS + 2; i++)
		buf_puts(&b, "      - daytona\n");
	cr_assert_eq(build_projects(buf_cstr(&b)), -1);
	buf_free(&b);
	/* The 17th item (line 25) is refused, once for all that follow; the
	 * repeats among the first 16 are duplicates. */
	expect_error(0, 25, 9, "projects[0].components[16]",
		     "too many components: a project lists at most 16");
	cr_expect_eq(errs.n, 1 + PROJECT_MAX_NEEDS - 1);
	for (int i = 1; i < errs.n; i++)
		cr_expect(strstr(errs.items[i].msg, "twice") != NULL, "%s", errs.items[i].msg);
}

Test(config, an_unknown_project_key_suggests_the_right_one)
{
	expect_one_error("projects:\n  - name: atlas\n    summery: One line.\n", 3, 5,
			 "projects[0].summery", "unknown key; did you mean 'summary'?");
	expect_one_error("projects:\n  - {name: atlas, owner: maria}\n", 2, 19,
			 "projects[0].owner",
			 "unknown key; a project has name, title, summary, components, secrets");
	expect_one_error("projects:\n  - name: atlas\n    components: []\n    components: []\n",
			 4, 5, "projects[0].components", "duplicate key, first set at line 3");
	expect_one_error("projcts: []\n", 1, 1, "projcts",
			 "unknown section; did you mean 'projects'?");
}

Test(config, the_projects_section_must_have_the_right_shape)
{
	expect_one_error("projects:\n  name: atlas\n", 2, 3, "projects",
			 "expected a sequence of projects (- name: …), got a mapping");
	expect_one_error("projects:\n  - atlas\n", 2, 5, "projects[0]",
			 "expected a project (a mapping with name, components, …), got 'atlas'");
	expect_one_error("projects:\n  - name: atlas\n    summary: [a]\n", 3, 14,
			 "projects[0].summary", "expected a string, got a sequence");
	cr_expect_eq(parse("projects:\n"), 0, "an empty section is valid");
	cr_expect_eq(parse("projects: []\n"), 0);
}

Test(config, a_problem_with_a_refused_item_is_not_reported_twice)
{
	/* 'Daytona' is refused as a name; it is not then also "not declared". */
	cr_assert_eq(build_projects("  - name: atlas\n    components: [Daytona]\n"), -1);
	cr_expect_eq(errs.n, 1, "%s", formatted(&errs.items[errs.n - 1]));
	/* A project without a valid name gets no cross-entry errors yet. */
	cr_assert_eq(build_projects("  - name: Atlas\n    components: [nothing]\n"), -1);
	cr_expect_eq(errs.n, 1, "%s", formatted(&errs.items[errs.n - 1]));
}


/* --- proposals */

Test(config, the_example_declares_an_exec_and_a_temporal_kind)
{
	struct config_source src = {.path = "config/portal.example.yaml"};
	cr_assert_eq(build(&src), 0, "%s", formatted(&errs.items[0]));
	const struct catalogue *cat = &cfg.catalogue;
	const struct proposal_kind *k = catalogue_kind(cat, "rotate-deploy-key");
	cr_assert_not_null(k);
	cr_expect_str_eq(k->title, "Rotate a deploy key");
	cr_expect_eq(k->propose_role, ROLE_OPERATOR);
	cr_expect_eq(k->approve_role, ROLE_APPROVER);
	cr_expect_eq(k->self_approval, 0);
	cr_assert_eq(k->nfields, 4);
	cr_expect_str_eq(k->fields[0].name, "project");
	cr_expect_eq(k->fields[0].type, PFIELD_STRING);
	cr_expect_eq(k->fields[0].required, 1);
	cr_expect_eq(k->fields[0].max_len, 63);
	cr_expect_str_eq(k->fields[0].label, "Project");
	cr_expect_eq(k->fields[1].type, PFIELD_ENUM);
	cr_assert_eq(k->fields[1].nvalues, 2);
	cr_expect_str_eq(k->fields[1].values[1], "ci");
	cr_expect_eq(k->fields[2].type, PFIELD_INTEGER);
	cr_expect_eq(k->fields[2].min, 1);
	cr_expect_eq(k->fields[2].max, 90);
	cr_expect_eq(k->fields[3].type, PFIELD_BOOLEAN);
	cr_expect_eq(k->fields[3].required, 0);
	cr_expect_eq(k->executor, EXECUTOR_EXEC);
	cr_assert_eq(k->nargv, 4);
	cr_expect_str_eq(k->argv[0], "/bin/echo");
	cr_expect_str_eq(k->argv[2], "{project}");
	cr_expect_eq(k->timeout_ms, 60000);
	cr_expect_eq(k->max_attempts, 3);
	k = catalogue_kind(cat, "run-workflow");
	cr_assert_not_null(k);
	cr_expect_eq(k->executor, EXECUTOR_TEMPORAL);
	cr_expect_str_eq(k->component, "temporal");
	cr_expect_str_eq(k->temporal_namespace, "default");
	cr_expect_str_eq(k->workflow_type, "MaintenanceWorkflow");
	cr_expect_str_eq(k->task_queue, "ops");
	cr_expect_str_eq(k->secret, "temporal_token");
	cr_expect_eq(k->timeout_ms, 300000, "the default");
	cr_expect_eq(k->fields[1].min_len, 10);
	config_dispose(&cfg);
}

/* An owned component with an executor URL, an endpoint and a secret, then
 * `proposals`. */
static int build_kinds(const char *proposals)
{
	char yaml[4096];
	snprintf(yaml, sizeof yaml,
		 "components:\n"
		 "  - {name: temporal, ownership: owned, internal_url: \"http://127.0.0.1:7243\",\n"
		 "     executor_url: \"http://temporal:7243\"}\n"
		 "  - {name: nexus, ownership: endpoint, internal_url: \"http://127.0.0.1:8081\"}\n"
		 "secrets:\n"
		 "  temporal_token: env:TEMPORAL_TOKEN\n"
		 "proposals:\n%s",
		 proposals);
	return build_yaml(yaml, NULL);
}

Test(config, a_minimal_kind_takes_the_documented_defaults)
{
	cr_assert_eq(build_kinds("  - name: ping\n"
				 "    fields:\n"
				 "      - {name: note, type: string}\n"
				 "    execute: {executor: exec, argv: [/bin/true, \"{note}\"]}\n"),
		     0, "%s", formatted(&errs.items[0]));
	const struct proposal_kind *k = catalogue_kind(&cfg.catalogue, "ping");
	cr_assert_not_null(k);
	cr_expect_str_eq(k->title, "ping");
	cr_expect_eq(k->propose_role, ROLE_OPERATOR);
	cr_expect_eq(k->approve_role, ROLE_APPROVER);
	cr_expect_eq(k->self_approval, 0);
	cr_expect_eq(k->timeout_ms, 300000);
	cr_expect_eq(k->max_attempts, 3);
	cr_expect_str_eq(k->fields[0].label, "note");
	cr_expect_eq(k->fields[0].required, 0);
	cr_expect_eq(k->fields[0].max_len, PROPOSAL_ARG_MAX - 1);
	config_dispose(&cfg);
}

Test(config, roles_and_self_approval_are_read)
{
	cr_assert_eq(build_kinds("  - name: ping\n"
				 "    propose: viewer\n"
				 "    approve: admin\n"
				 "    self_approval: true\n"
				 "    execute: {executor: http, component: temporal, "
				 "secret: temporal_token}\n"),
		     0, "%s", formatted(&errs.items[0]));
	const struct proposal_kind *k = catalogue_kind(&cfg.catalogue, "ping");
	cr_expect_eq(k->propose_role, ROLE_VIEWER);
	cr_expect_eq(k->approve_role, ROLE_ADMIN);
	cr_expect_eq(k->self_approval, 1);
	cr_expect_eq(k->executor, EXECUTOR_HTTP);
	config_dispose(&cfg);
}

Test(config, a_bad_role_or_boolean_is_refused_at_the_value)
{
	cr_assert_eq(build_kinds("  - name: ping\n"
				 "    approve: boss\n"
				 "    execute: {executor: exec, argv: [/bin/true]}\n"),
		     -1);
	expect_only(9, 14, "proposals[0].approve", "viewer, operator, approver, admin");
	cr_assert_eq(build_kinds("  - name: ping\n"
				 "    self_approval: \"true\"\n"
				 "    execute: {executor: exec, argv: [/bin/true]}\n"),
		     -1);
	expect_only(9, 20, "proposals[0].self_approval", "true or false (unquoted)");
}

Test(config, a_kind_needs_a_name_and_an_executor)
{
	cr_assert_eq(build_kinds("  - title: Ping\n"
				 "    execute: {executor: exec, argv: [/bin/true]}\n"),
		     -1);
	expect_only(8, 5, "proposals[0].name", "needs a name");
	cr_assert_eq(build_kinds("  - name: ping\n"), -1);
	expect_only(8, 5, "proposals[0].execute", "needs execute");
	cr_assert_eq(build_kinds("  - name: ping\n"
				 "    execute:\n"
				 "      argv: [/bin/true]\n"),
		     -1);
	expect_only(10, 7, "proposals[0].execute.executor", "exec, http or temporal");
	cr_assert_eq(build_kinds("  - name: ping\n"
				 "    execute: {executor: shell}\n"),
		     -1);
	expect_only(9, 25, "proposals[0].execute.executor", "exec, http, temporal");
}

Test(config, an_unknown_kind_key_suggests_the_right_one)
{
	cr_assert_eq(build_kinds("  - name: ping\n"
				 "    aprove: admin\n"
				 "    execute: {executor: exec, argv: [/bin/true], timout_ms: 5}\n"),
		     -1);
	cr_assert_eq(errs.n, 2, "%s", formatted(&errs.items[0]));
	expect_error(0, 9, 5, "proposals[0].aprove", "unknown key; did you mean 'approve'?");
	expect_error(1, 10, 50, "proposals[0].execute.timout_ms",
		     "unknown key; did you mean 'timeout_ms'?");
}

Test(config, a_placeholder_naming_no_field_is_located_at_its_argument)
{
	cr_assert_eq(build_kinds("  - name: ping\n"
				 "    fields: [{name: note, type: string}]\n"
				 "    execute:\n"
				 "      executor: exec\n"
				 "      argv:\n"
				 "        - /bin/echo\n"
				 "        - \"--note={notes}\"\n"),
		     -1);
	expect_only(14, 11, "proposals[0].execute.argv[1]",
		    "the placeholder {notes} names no field of 'ping'");
	cr_assert_eq(build_kinds("  - name: ping\n"
				 "    execute: {executor: exec, argv: [echo, hi]}\n"),
		     -1);
	expect_only(9, 38, "proposals[0].execute.argv[0]", "absolute path");
	cr_assert_eq(build_kinds("  - name: ping\n"
				 "    fields: [{name: note, type: string}]\n"
				 "    execute: {executor: exec, argv: [/bin/echo, {note}]}\n"),
		     -1);
	expect_only(10, 49, "proposals[0].execute.argv[1]", "quote an element");
}

Test(config, a_temporal_kind_needs_an_owned_component_and_its_workflow)
{
	cr_assert_eq(build_kinds("  - name: sync\n"
				 "    execute:\n"
				 "      executor: temporal\n"
				 "      component: nexus\n"
				 "      namespace: default\n"
				 "      workflow_type: Sync\n"
				 "      task_queue: ops\n"),
		     -1);
	expect_only(11, 18, "proposals[0].execute.component", "nexus', an endpoint");
	cr_assert_eq(build_kinds("  - name: sync\n"
				 "    execute:\n"
				 "      executor: temporal\n"
				 "      component: temporal\n"
				 "      workflow_type: Sync\n"
				 "      task_queue: ops\n"),
		     -1);
	expect_only(10, 7, "proposals[0].execute.namespace", "needs namespace");
	cr_assert_eq(build_kinds("  - name: sync\n"
				 "    execute: {executor: http, component: temporal, secret: nope}\n"),
		     -1);
	expect_only(9, 60, "proposals[0].execute.secret", "'nope', which is not declared");
}

Test(config, field_problems_are_located_at_the_field)
{
	cr_assert_eq(build_kinds("  - name: ping\n"
				 "    fields:\n"
				 "      - {name: env, type: enum}\n"
				 "    execute: {executor: exec, argv: [/bin/true]}\n"),
		     -1);
	expect_only(10, 9, "proposals[0].fields[0].values", "needs values");
	cr_assert_eq(build_kinds("  - name: ping\n"
				 "    fields:\n"
				 "      - {name: n, type: integer, min: 5, max: 1}\n"
				 "    execute: {executor: exec, argv: [/bin/true]}\n"),
		     -1);
	expect_only(10, 39, "proposals[0].fields[0].min", "min (5) greater than max (1)");
	cr_assert_eq(build_kinds("  - name: ping\n"
				 "    fields:\n"
				 "      - {name: a, type: boolean}\n"
				 "      - {name: a, type: string}\n"
				 "    execute: {executor: exec, argv: [/bin/true]}\n"),
		     -1);
	expect_only(11, 16, "proposals[0].fields[1].name", "'a' twice");
	cr_assert_eq(build_kinds("  - name: ping\n"
				 "    fields:\n"
				 "      - {name: Env, type: string}\n"
				 "    execute: {executor: exec, argv: [/bin/true]}\n"),
		     -1);
	expect_only(10, 16, "proposals[0].fields[0].name", "lower-case letter");
}

Test(config, a_field_needs_a_name_and_a_type_and_only_its_types_keys)
{
	cr_assert_eq(build_kinds("  - name: ping\n"
				 "    fields:\n"
				 "      - {name: note}\n"
				 "    execute: {executor: exec, argv: [/bin/true]}\n"),
		     -1);
	expect_only(10, 9, "proposals[0].fields[0].type", "needs a name and a type");
	cr_assert_eq(build_kinds("  - name: ping\n"
				 "    fields:\n"
				 "      - {name: note, type: text}\n"
				 "    execute: {executor: exec, argv: [/bin/true]}\n"),
		     -1);
	expect_only(10, 28, "proposals[0].fields[0].type", "string, integer, boolean, enum");
	cr_assert_eq(build_kinds("  - name: ping\n"
				 "    fields:\n"
				 "      - {name: note, type: string, values: [a, b]}\n"
				 "    execute: {executor: exec, argv: [/bin/true]}\n"),
		     -1);
	expect_only(10, 36, "proposals[0].fields[0].values", "for enum fields");
	cr_assert_eq(build_kinds("  - name: ping\n"
				 "    fields:\n"
				 "      - {name: n, type: integer, max_len: 4}\n"
				 "    execute: {executor: exec, argv: [/bin/true]}\n"),
		     -1);
	expect_only(10, 34, "proposals[0].fields[0].max_len", "for string fields");
}

Test(config, a_value_refused_where_written_is_not_reported_again)
{
	cr_assert_eq(build_kinds("  - name: ping\n"
				 "    execute: {executor: exec, argv: [/bin/true], max_attempts: 0}\n"),
		     -1);
	expect_only(9, 64, "proposals[0].execute.max_attempts", "between 1 and 20, got 0");
	cr_assert_eq(build_kinds("  - name: Ping\n"
				 "    execute: {executor: exec}\n"),
		     -1);
	expect_only(8, 11, "proposals[0].name", "lower-case letters");
}

Test(config, kinds_are_bounded_in_fields_and_arguments)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "  - name: ping\n    fields:\n");
	for (int i = 0; i < PROPOSAL_MAX_FIELDS + 1; i++)
		buf_printf(&b, "      - {name: f%d, type: boolean}\n", i);
	buf_puts(&b, "    execute: {executor: exec, argv: [/bin/true]}\n");
	cr_assert_eq(build_kinds(buf_cstr(&b)), -1);
	buf_free(&b);
	expect_only(8 + 2 + PROPOSAL_MAX_FIELDS, 9, "fields[16]", "too many fields: at most 16");
	cr_assert_eq(build_kinds("  - name: ping\n"
				 "    execute: {executor: exec, argv: [/a, b, c, d, e, f, g, h, i, "
				 "j, k, l, m, n, o, p, q]}\n"),
		     -1);
	expect_only(9, 87, "proposals[0].execute.argv[16]", "too many items: at most 16");
}

Test(config, kinds_are_copied_deeply_and_disposed)
{
	struct config_source src = {.path = "config/portal.example.yaml"};
	cr_assert_eq(build(&src), 0, "%s", formatted(&errs.items[0]));
	cr_assert_geq(cfg.catalogue.nkinds, 2);
	struct config *copy = malloc(sizeof *copy);
	config_copy(copy, &cfg);
	cr_assert_eq(copy->catalogue.nkinds, cfg.catalogue.nkinds);
	cr_expect_neq(copy->catalogue.kinds, cfg.catalogue.kinds);
	cr_expect_eq(memcmp(copy->catalogue.kinds, cfg.catalogue.kinds,
			    cfg.catalogue.nkinds * sizeof *cfg.catalogue.kinds),
		     0);
	config_dispose(&cfg);
	cr_expect_null(cfg.catalogue.kinds);
	cr_expect_eq(cfg.catalogue.nkinds, 0);
	cr_expect_str_eq(copy->catalogue.kinds[0].name, "rotate-deploy-key");
	config_dispose(copy);
	free(copy);
}

/* --- proof: and lineage: */

static const char planes_catalogue[] =
	"components:\n"
	"  - {name: clickhouse, ownership: endpoint, internal_url: http://127.0.0.1:8123,\n"
	"     health: {path: /ping}}\n"
	"  - {name: chronicle, ownership: owned, internal_url: http://127.0.0.1:9100,\n"
	"     health: {path: /healthz}}\n"
	"secrets:\n"
	"  ch_key: env:CH_KEY\n";

static int build_planes(const char *proof)
{
	char yaml[2048];
	snprintf(yaml, sizeof yaml, "%s%s", planes_catalogue, proof);
	return build_yaml(yaml, NULL);
}

Test(config, every_proof_plane_is_embedded_by_default)
{
	cr_assert_eq(build_yaml("", NULL), 0);
	cr_expect_str_eq(cfg.proof_graph, "embedded");
	cr_expect_str_eq(cfg.proof_warehouse, "embedded");
	cr_expect_str_eq(cfg.proof_evidence, "embedded");
	cr_expect_str_eq(cfg.proof_warehouse_database, "default");
	cr_expect_str_eq(cfg.datahub_component, "");
}

Test(config, a_remote_plane_names_a_declared_component_and_secret)
{
	cr_assert_eq(build_planes("proof:\n"
				  "  warehouse: clickhouse\n"
				  "  warehouse_component: clickhouse\n"
				  "  warehouse_user: portal\n"
				  "  warehouse_secret: ch_key\n"
				  "  evidence: http\n"
				  "  evidence_component: chronicle\n"),
		     0, "%s", formatted(&errs.items[0]));
	cr_expect_str_eq(cfg.proof_warehouse, "clickhouse");
	cr_expect_str_eq(cfg.proof_warehouse_secret, "ch_key");
	cr_expect_str_eq(cfg.proof_evidence_component, "chronicle");
}

Test(config, a_plane_is_one_of_its_implementations)
{
	cr_assert_eq(build_planes("proof:\n  warehouse: postgres\n"), -1);
	expect_only(9, 14, "proof.warehouse",
		    "must be one of embedded|clickhouse, got 'postgres'");
	cr_assert_eq(build_planes("proof:\n  graph: clickhouse\n"), -1);
	expect_only(9, 10, "proof.graph", "must be one of embedded|http, got 'clickhouse'");
}

Test(config, a_remote_plane_without_its_component_is_refused)
{
	cr_assert_eq(build_planes("proof:\n  evidence: http\n"), -1);
	expect_only(9, 13, "proof.evidence",
		    "proof.evidence needs proof.evidence_component: the component it calls");
}

Test(config, a_plane_naming_an_undeclared_component_or_secret_is_refused)
{
	cr_assert_eq(build_planes("proof:\n  graph: http\n  graph_component: semantics\n"), -1);
	expect_only(10, 20, "proof.graph_component",
		    "names no declared component: 'semantics' is not under components");
	cr_assert_eq(build_planes("lineage:\n  datahub_component: clickhouse\n"
				  "  datahub_secret: datahub_token\n"),
		     -1);
	expect_only(10, 19, "lineage.datahub_secret",
		    "names no declared secret contract: 'datahub_token' is not under secrets");
}

Test(config, the_planes_can_be_chosen_from_the_environment)
{
	char *env[] = {"PORTAL_PROOF_EVIDENCE=http", "PORTAL_PROOF_EVIDENCE_COMPONENT=chronicle",
		       NULL};
	const char *path = temp_file(planes_catalogue);
	struct config_source src = {.path = path, .envp = env};
	cr_assert_eq(build(&src), 0, "%s", formatted(&errs.items[0]));
	unlink(path);
	cr_expect_str_eq(cfg.proof_evidence, "http");
}

/* --- store: a PostgreSQL password comes from a secret contract */

Test(config, a_database_password_in_the_url_is_refused_in_production_only)
{
	char *prod[] = {"PORTAL_MODE=production",
			"PORTAL_DB=postgres://portal:s3cret@db.internal:5432/portal", NULL};
	struct config_source src = {.envp = prod};
	cr_assert_eq(build(&src), -1);
	cr_assert_eq(errs.n, 1, "expected 1 error, got %d", errs.n);
	cr_expect_str_eq(errs.items[0].key, "PORTAL_DB");
	cr_expect(strstr(errs.items[0].msg, "store.password_secret"), "%s", errs.items[0].msg);
	cr_expect_null(strstr(formatted(&errs.items[0]), "s3cret"), "%s",
		       formatted(&errs.items[0]));
	char *query[] = {"PORTAL_MODE=production",
			 "PORTAL_DB=postgresql://portal@db/portal?sslmode=require&password=s3cret",
			 NULL};
	src.envp = query;
	cr_assert_eq(build(&src), -1);
	char *dev[] = {"PORTAL_DB=postgres://portal:s3cret@127.0.0.1:5432/portal", NULL};
	src.envp = dev;
	cr_assert_eq(build(&src), 0, "%s", errs.n ? formatted(&errs.items[0]) : "");
	char *clean[] = {"PORTAL_MODE=production", "PORTAL_DB=postgres://portal@db:5432/portal",
			 NULL};
	src.envp = clean;
	cr_assert_eq(build(&src), 0, "%s", errs.n ? formatted(&errs.items[0]) : "");
	cr_expect_str_eq(cfg.db, "postgres://portal@db:5432/portal");
}

Test(config, the_database_password_secret_must_be_a_declared_contract)
{
	char *env[] = {"PORTAL_DB_PASSWORD_SECRET=db_password", NULL};
	struct config_source src = {.envp = env};
	cr_assert_eq(build(&src), -1);
	cr_assert_eq(errs.n, 1, "expected 1 error, got %d", errs.n);
	cr_expect_str_eq(errs.items[0].key, "PORTAL_DB_PASSWORD_SECRET");
	cr_expect(strstr(errs.items[0].msg, "names no declared secret contract: 'db_password'"),
		  "%s", errs.items[0].msg);
}
