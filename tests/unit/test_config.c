/* Config: defaults, the YAML file with located errors, the PORTAL_* environment,
 * flags, their precedence, and how errors and flag help are written. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

static struct config cfg;
static struct config_errors errs;

/* Parses yaml (named portal.yaml) on top of the defaults. */
static int parse(const char *yaml)
{
	memset(&errs, 0, sizeof errs);
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
	cr_expect_str_eq(cfg.db, "./portal.db");
	cr_expect_eq(cfg.busy_timeout_ms, 5000);
	cr_expect_eq(cfg.ready_interval_ms, 1000);
	cr_expect_eq(cfg.idle_after_ms, 600000);
	cr_expect_eq(cfg.log_level, LOG_INFO);
	cr_expect_str_eq(cfg.path, "");
}

Test(config, the_table_declares_eleven_settings)
{
	cr_expect_eq(config_setting_count(), 11);
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
			   "  level: debug\n";
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
	cr_expect_str_eq(cfg.path, "config/portal.example.yaml");
	struct config d;
	config_defaults(&d);
	snprintf(d.path, sizeof d.path, "%s", cfg.path);
	cr_expect_eq(memcmp(&d, &cfg, sizeof d), 0, "the example must hold the defaults");
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
			 "unknown key; 'store' has db, busy_timeout_ms, ready_interval_ms");
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
			 "the file must be a mapping of sections (server, store, live, log), "
			 "got a sequence");
	expect_one_error("just words\n", 1, 1, "",
			 "the file must be a mapping of sections (server, store, live, log), "
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

Test(config, every_flag_is_documented_in_the_reference_and_the_example)
{
	static const char *const all[] = {
		"listen", "threads", "environment", "max-body-bytes", "max-header-bytes",
		"drain-timeout-ms", "db", "busy-timeout-ms", "ready-interval-ms", "idle-after-ms",
		"log-level", NULL,
	};
	cr_assert_eq((int)(sizeof all / sizeof all[0]) - 1, config_setting_count());
	struct buf docs = BUF_INIT, example = BUF_INIT;
	const char *files[] = {"docs/configuration.md", "config/portal.example.yaml"};
	struct buf *into[] = {&docs, &example};
	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(files[i], "r");
		cr_assert_not_null(f, "cannot open %s (run from the repository root)", files[i]);
		char chunk[4096];
		size_t n;
		while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
			buf_append(into[i], chunk, n);
		fclose(f);
	}
	for (const char *const *fl = all; *fl; fl++) {
		cr_expect(config_flag_known(*fl), "--%s", *fl);
		char *help = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&help, &len);
		const char *const one[] = {*fl, NULL};
		config_print_flags(out, one);
		fclose(out);
		char var[64] = "", want[80];
		const char *env = strstr(help, "(env ");
		cr_assert_not_null(env, "%s", help);
		sscanf(env + 5, "%63[A-Z_]", var);
		snprintf(want, sizeof want, "| `--%s` | `%s` |", *fl, var);
		cr_expect(strstr(buf_cstr(&docs), want) != NULL, "docs lack the row for %s", want);
		snprintf(want, sizeof want, "# flag --%s, env %s", *fl, var);
		cr_expect(strstr(buf_cstr(&example), want) != NULL, "example lacks '%s'", want);
		free(help);
	}
	buf_free(&docs);
	buf_free(&example);
}
