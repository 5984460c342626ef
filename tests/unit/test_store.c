/* Store: opening, migrating and checking the store under test — the SQLite
 * backend on real files in a temporary directory (paths read "./portal.db" as
 * a user would type them), or PostgreSQL when PORTAL_TEST_STORE names one —
 * then accounts and sign-ins. Each test runs in its own process (Criterion).
 * Tests that look at the SQLite file itself say so and are skipped on
 * PostgreSQL. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "core/role.h"
#include "store/sqlite.h"
#include "store/store.h"
#include "store_under_test.h"

#define DB "./portal.db"

static void enter(void)
{
	tstore_setup("portal-store");
}

static void remove_tmpdir(void)
{
	tstore_teardown();
}

TestSuite(store, .init = enter, .fini = remove_tmpdir);

static struct store *open_ok(const char *url)
{
	struct store *st = NULL;
	struct perr err;
	perr_clear(&err);
	struct store_options opt = {.busy_timeout_ms = 2000};
	int rc = store_open(url, &opt, &st, &err);
	cr_assert_eq(rc, 0, "store_open(%s): %s", url, err.msg);
	cr_assert_not_null(st);
	return st;
}

static struct store *open_migrated(void)
{
	struct store *st = open_ok(tstore_url());
	struct perr err;
	int from = -1, to = -1;
	cr_assert_eq(store_migrate(st, &from, &to, &err), 0, "%s", err.msg);
	return st;
}

/* A plain connection, to look at or tamper with the SQLite file behind the
 * store. */
static sqlite3 *raw(void)
{
	sqlite3 *db = NULL;
	cr_assert_eq(sqlite3_open_v2(DB, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	return db;
}

/* An integer from the database under test, read behind the store's back. */
static long long rows(const char *sql)
{
	return tstore_int(sql);
}

static int is_hex32(const char *s)
{
	if (strlen(s) != 32)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

/* The highest migration this binary carries: tests must not hard-code it,
 * since every new migration raises it. */
static int latest(void)
{
	int n = 0;
	for (size_t i = 0; i < embedded_count; i++)
		if (strncmp(embedded_files[i].name, tstore_migrations_prefix(),
			    strlen(tstore_migrations_prefix())) == 0)
			n++;
	return n;
}

static int exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

Test(store, a_fresh_database_migrates_from_0_to_the_latest_and_is_ready)
{
	struct store *st = open_ok(tstore_url());
	struct perr err;
	int from = -1, to = -1;
	cr_assert_eq(store_migrate(st, &from, &to, &err), 0, "%s", err.msg);
	cr_assert_eq(from, 0);
	cr_assert_geq(latest(), 1);
	cr_assert_eq(to, latest());

	struct store_status s;
	cr_assert_eq(store_check(st, &s, &err), 0, "%s", s.reason);
	cr_assert_eq(s.ready, 1);
	cr_assert_eq(s.schema_version, latest());
	cr_assert_eq(s.schema_latest, latest());
	cr_assert(is_hex32(s.instance_id), "instance id '%s'", s.instance_id);
	cr_assert_str_eq(s.reason, "");
	store_close(st);
}

Test(store, migrations_are_recorded_with_name_and_time)
{
	store_close(open_migrated());
	/* applied_at in ms, not s */
	cr_assert_eq(rows("SELECT count(*) FROM schema_migrations WHERE version = 1 "
			  "AND name = '0001_init.sql' AND applied_at > 1700000000000"),
		     1);
	cr_assert_eq(rows("SELECT count(*) FROM schema_migrations"), latest());
	cr_assert_eq(rows("SELECT max(version) FROM schema_migrations"), latest());
	long long created = rows("SELECT created_at / 1000 FROM portal_instance");
	cr_assert_gt(created, 1700000000LL);
}

Test(store, a_second_migrate_changes_nothing)
{
	struct store *st = open_migrated();
	struct perr err;
	int from = -1, to = -1;
	cr_assert_eq(store_migrate(st, &from, &to, &err), 0, "%s", err.msg);
	cr_assert_eq(from, latest());
	cr_assert_eq(to, latest());
	store_close(st);
	cr_assert_eq(rows("SELECT count(*) FROM schema_migrations"), latest());
	cr_assert_eq(rows("SELECT count(*) FROM portal_instance"), 1);
}

Test(store, the_instance_id_survives_reopening)
{
	struct store *st = open_migrated();
	struct store_status a, b;
	struct perr err;
	cr_assert_eq(store_check(st, &a, &err), 0);
	store_close(st);
	st = open_migrated();
	cr_assert_eq(store_check(st, &b, &err), 0);
	store_close(st);
	cr_assert_str_eq(a.instance_id, b.instance_id);
}

Test(store, a_database_from_a_newer_portal_is_refused_and_left_untouched)
{
	store_close(open_migrated());
	int future = latest() + 1;
	char sql[128];
	snprintf(sql, sizeof sql, "INSERT INTO schema_migrations VALUES (%d, 'future.sql', 1)", future);
	cr_assert_eq(tstore_exec(sql), 0, "%s", tstore_error());

	struct store *st = open_ok(tstore_url());
	struct perr err;
	perr_clear(&err);
	int from = -1, to = -1;
	cr_assert_eq(store_migrate(st, &from, &to, &err), PERR_SCHEMA);
	cr_assert_eq(err.code, PERR_SCHEMA);
	cr_assert_str_eq(err.field, "store.db");
	char want[256];
	snprintf(want, sizeof want,
		 "database %s is at schema version %d, newer than this portal (knows up to "
		 "%d); use a newer portal binary", tstore_label(), future, latest());
	cr_assert_str_eq(err.msg, want);
	cr_assert_eq(from, future);
	cr_assert_eq(to, future);

	struct store_status s;
	cr_assert_eq(store_check(st, &s, &err), PERR_UNAVAILABLE);
	cr_assert_eq(s.ready, 0);
	cr_assert_eq(s.schema_version, future);
	cr_assert_str_eq(s.reason, err.msg);
	cr_assert(strstr(s.reason, "newer than this portal"));
	store_close(st);

	cr_assert_eq(rows("SELECT count(*) FROM schema_migrations"), latest() + 1);
	cr_assert_eq(rows("SELECT count(*) FROM portal_instance"), 1);
}

Test(store, a_failing_migration_is_rolled_back_and_named)
{
	/* A table in the way makes 0001_init.sql fail half-way. */
	cr_assert_eq(tstore_exec("CREATE TABLE portal_instance (x INTEGER)"), 0, "%s",
		     tstore_error());

	struct store *st = open_ok(tstore_url());
	struct perr err;
	int from = -1, to = -1;
	cr_assert_eq(store_migrate(st, &from, &to, &err), PERR_STORE);
	cr_assert_str_eq(err.field, "store.db");
	char name[128];
	snprintf(name, sizeof name, "%s0001_init.sql", tstore_migrations_prefix());
	cr_assert(strstr(err.msg, name), "%s", err.msg);
	cr_assert(strstr(err.msg, TSTORE_SQL("table portal_instance already exists",
					     "relation \"portal_instance\" already exists")),
		  "%s", err.msg);
	cr_assert_eq(from, 0);
	cr_assert_eq(to, 0);
	store_close(st);

	cr_assert_eq(rows("SELECT count(*) FROM schema_migrations"), 0);
	cr_assert_eq(rows(TSTORE_SQL("SELECT count(*) FROM pragma_table_info('portal_instance')",
				     "SELECT count(*) FROM information_schema.columns "
				     "WHERE table_name = 'portal_instance' "
				     "AND table_schema = current_schema()")),
		     1);
}

Test(store, check_reports_a_deleted_file_and_does_not_recreate_it)
{
	TSTORE_SQLITE_ONLY();
	struct store *st = open_migrated();
	cr_assert_eq(unlink(DB), 0);
	struct store_status s;
	struct perr err;
	perr_clear(&err);
	cr_assert_eq(store_check(st, &s, &err), PERR_UNAVAILABLE);
	cr_assert_eq(s.ready, 0);
	cr_assert_str_eq(s.reason, "database ./portal.db cannot be opened: unable to open database file");
	cr_assert_str_eq(err.msg, s.reason);
	cr_assert_str_eq(err.field, "store.db");
	cr_assert_not(exists(DB));
	store_close(st);
}

Test(store, check_reports_a_file_overwritten_with_garbage)
{
	TSTORE_SQLITE_ONLY();
	struct store *st = open_migrated();
	write_file(DB, "this is not a database");
	struct store_status s;
	struct perr err;
	cr_assert_eq(store_check(st, &s, &err), PERR_UNAVAILABLE);
	cr_assert_eq(s.ready, 0);
	cr_assert_str_eq(s.reason, "database ./portal.db is unreadable: file is not a database");
	store_close(st);
}

Test(store, check_reports_a_file_replaced_by_another)
{
	TSTORE_SQLITE_ONLY();
	struct store *st = open_migrated();
	write_file("other", "this is not a database either, but it is long enough");
	cr_assert_eq(rename("other", DB), 0);
	struct store_status s;
	struct perr err;
	cr_assert_eq(store_check(st, &s, &err), PERR_UNAVAILABLE);
	cr_assert(strstr(s.reason, "is unreadable"), "%s", s.reason);
	store_close(st);
}

Test(store, check_is_ready_again_once_the_file_is_restored)
{
	TSTORE_SQLITE_ONLY();
	struct store *st = open_migrated();
	struct store_status before, s;
	struct perr err;
	cr_assert_eq(store_check(st, &before, &err), 0);
	cr_assert_eq(rename(DB, "saved"), 0);
	write_file(DB, "this is not a database, just bytes");
	cr_assert_eq(store_check(st, &s, &err), PERR_UNAVAILABLE);
	cr_assert_eq(rename("saved", DB), 0);
	cr_assert_eq(store_check(st, &s, &err), 0, "%s", s.reason);
	cr_assert_str_eq(s.instance_id, before.instance_id);
	store_close(st);
}

Test(store, check_reports_a_file_made_unreadable)
{
	TSTORE_SQLITE_ONLY();
	if (geteuid() == 0) {
		remove_tmpdir(); /* a skipped test runs no .fini */
		cr_skip_test("root reads any file");
	}
	struct store *st = open_migrated();
	cr_assert_eq(chmod(DB, 0), 0);
	struct store_status s;
	struct perr err;
	cr_assert_eq(store_check(st, &s, &err), PERR_UNAVAILABLE);
	cr_assert(strstr(s.reason, "database ./portal.db cannot be opened"), "%s", s.reason);
	chmod(DB, 0600);
	store_close(st);
}

Test(store, check_reports_a_directory_in_place_of_the_file)
{
	TSTORE_SQLITE_ONLY();
	struct store *st = open_migrated();
	cr_assert_eq(unlink(DB), 0);
	cr_assert_eq(mkdir(DB, 0700), 0);
	struct store_status s;
	struct perr err;
	cr_assert_eq(store_check(st, &s, &err), PERR_UNAVAILABLE);
	cr_assert_eq(s.ready, 0);
	cr_assert(strstr(s.reason, "database ./portal.db is unreadable: "), "%s", s.reason);
	cr_assert_eq(rmdir(DB), 0);
	store_close(st);
}

Test(store, check_on_an_unmigrated_database_says_run_portal_migrate)
{
	struct store *st = open_ok(tstore_url());
	struct store_status s;
	struct perr err;
	cr_assert_eq(store_check(st, &s, &err), PERR_UNAVAILABLE);
	cr_assert_eq(s.ready, 0);
	cr_assert_eq(s.schema_version, 0);
	cr_assert_eq(s.schema_latest, latest());
	cr_assert_str_eq(s.instance_id, "");
	char want[256];
	snprintf(want, sizeof want,
		 "database %s is at schema version 0, this portal needs %d: run `portal migrate`",
		 tstore_label(), latest());
	cr_assert_str_eq(s.reason, want);
	store_close(st);
}

static void *check_in_thread(void *arg)
{
	struct perr err;
	static struct store_status s;
	int rc = store_check(arg, &s, &err);
	return rc == 0 && s.ready ? &s : NULL;
}

Test(store, check_from_another_thread_is_ready_while_a_writer_holds_the_lock)
{
	TSTORE_SQLITE_ONLY();
	struct store *st = open_migrated();
	sqlite3 *w = raw();
	cr_assert_eq(sqlite3_exec(w,
				  "BEGIN IMMEDIATE; INSERT INTO portal_instance VALUES ('x', 0)",
				  NULL, NULL, NULL),
		     SQLITE_OK);
	pthread_t t;
	void *ok = NULL;
	cr_assert_eq(pthread_create(&t, NULL, check_in_thread, st), 0);
	cr_assert_eq(pthread_join(t, &ok), 0);
	cr_assert_not_null(ok);
	sqlite3_exec(w, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(w);
	store_close(st);
}

Test(store, the_database_is_in_wal_mode)
{
	TSTORE_SQLITE_ONLY();
	struct store *st = open_ok(DB);
	sqlite3 *db = raw();
	sqlite3_stmt *q = NULL;
	cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
	cr_assert_str_eq((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	sqlite3_close(db);
	store_close(st);
}

Test(store, closing_leaves_no_wal_file)
{
	TSTORE_SQLITE_ONLY();
	struct store *st = open_migrated();
	struct store_status s;
	struct perr err;
	cr_assert_eq(store_check(st, &s, &err), 0);
	cr_assert(exists(DB "-wal"));
	store_close(st);
	cr_assert_not(exists(DB "-wal"));
	cr_assert_not(exists(DB "-shm"));
	cr_assert(exists(DB));
}

Test(store, a_sqlite_prefix_names_a_path)
{
	TSTORE_SQLITE_ONLY();
	struct store *st = open_ok("sqlite:./other.db");
	cr_assert_str_eq(st->ops->name, "sqlite");
	cr_assert(exists("other.db"));
	cr_assert_not(exists(DB));
	store_close(st);
}

Test(store, an_unreachable_postgres_url_is_unavailable_without_echoing_the_password)
{
	/* Port 1 on loopback refuses at once; the password is in the URL and in
	 * its query, and neither may reach a message. */
	const char *urls[] = {"postgres://portal:s3cret@127.0.0.1:1/portal",
			      "postgresql://portal@127.0.0.1:1/portal?password=s3cret"};
	for (size_t i = 0; i < 2; i++) {
		struct store *st = (struct store *)1;
		struct perr err;
		perr_clear(&err);
		cr_assert_eq(store_open(urls[i], NULL, &st, &err), PERR_UNAVAILABLE);
		cr_assert_null(st);
		cr_assert_str_eq(err.field, "store.db");
		cr_assert(strstr(err.msg, "portal@127.0.0.1:1/portal cannot be opened: "), "%s",
			  err.msg);
		cr_assert_null(strstr(err.msg, "s3cret"), "%s", err.msg);
	}
	cr_assert_not(exists("postgres:"));
}

Test(store, a_password_given_apart_wins_and_is_never_shown)
{
	struct store *st = NULL;
	struct perr err;
	struct store_options opt = {.busy_timeout_ms = 500, .password = "t0psecret"};
	cr_assert_eq(store_open("postgres://portal:other@127.0.0.1:1/portal", &opt, &st, &err),
		     PERR_UNAVAILABLE);
	cr_assert_null(strstr(err.msg, "t0psecret"), "%s", err.msg);
	cr_assert_null(strstr(err.msg, "other"), "%s", err.msg);
}

Test(store, an_unknown_scheme_is_invalid_and_named_by_scheme_only)
{
	struct store *st = NULL;
	struct perr err;
	cr_assert_eq(store_open("mysql://root:hunter2@h/db", NULL, &st, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "store.db");
	cr_assert(strstr(err.msg, "'mysql'"), "%s", err.msg);
	cr_assert_null(strstr(err.msg, "hunter2"));
}

Test(store, an_empty_url_is_invalid)
{
	struct store *st = NULL;
	struct perr err;
	cr_assert_eq(store_open("", NULL, &st, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "store.db");
	cr_assert_eq(store_open("sqlite:", NULL, &st, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "store.db");
}

Test(store, a_directory_that_does_not_exist_cannot_be_opened)
{
	struct store *st = NULL;
	struct perr err;
	cr_assert_lt(store_open("./missing/portal.db", NULL, &st, &err), 0);
	cr_assert_str_eq(err.field, "store.db");
	cr_assert_str_eq(err.msg, "database ./missing/portal.db cannot be opened: unable to open "
				  "database file");
}

Test(store, a_garbage_file_is_refused_at_open)
{
	write_file(DB, "this is not a database");
	struct store *st = NULL;
	struct perr err;
	cr_assert_eq(store_open(DB, NULL, &st, &err), PERR_STORE);
	cr_assert_str_eq(err.msg, "database ./portal.db is unreadable: file is not a database");
}

/* --- the migration plan, on made-up embedded tables --- */

#define F(n) {n, (const unsigned char *)"", 0}

Test(store, migrations_are_ordered_by_number_and_other_backends_ignored)
{
	const struct embedded_file files[] = {
		F("store/migrations/sqlite/0002_b.sql"), F("web/assets/x.css"),
		F("store/migrations/postgres/0001_a.sql"), F("store/migrations/sqlite/0001_a.sql"),
	};
	const struct embedded_file *out[SQLITE_MIGRATIONS_MAX];
	int n = -1;
	struct perr err;
	cr_assert_eq(sqlite_migrations_plan(files, 4, out, &n, &err), 0, "%s", err.msg);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(out[0]->name, "store/migrations/sqlite/0001_a.sql");
	cr_assert_str_eq(out[1]->name, "store/migrations/sqlite/0002_b.sql");
}

Test(store, a_gap_in_migration_numbers_is_an_internal_error)
{
	const struct embedded_file files[] = {
		F("store/migrations/sqlite/0001_a.sql"), F("store/migrations/sqlite/0003_c.sql"),
	};
	const struct embedded_file *out[SQLITE_MIGRATIONS_MAX];
	int n = -1;
	struct perr err;
	cr_assert_eq(sqlite_migrations_plan(files, 2, out, &n, &err), PERR_INTERNAL);
	cr_assert(strstr(err.msg, "skip version 2"), "%s", err.msg);
}

Test(store, a_misnamed_or_duplicate_migration_is_an_internal_error)
{
	const struct embedded_file bad[] = {F("store/migrations/sqlite/init.sql")};
	const struct embedded_file dup[] = {
		F("store/migrations/sqlite/0001_a.sql"), F("store/migrations/sqlite/1_b.sql"),
	};
	const struct embedded_file *out[SQLITE_MIGRATIONS_MAX];
	int n;
	struct perr err;
	cr_assert_eq(sqlite_migrations_plan(bad, 1, out, &n, &err), PERR_INTERNAL);
	cr_assert(strstr(err.msg, "init.sql"), "%s", err.msg);
	cr_assert_eq(sqlite_migrations_plan(dup, 2, out, &n, &err), PERR_INTERNAL);
	cr_assert(strstr(err.msg, "share version 1"), "%s", err.msg);
}

/* --- accounts (portal_users) and sign-in sessions (portal_logins) --- */

static struct store_user user_of(const char *name, int role)
{
	struct store_user u;
	memset(&u, 0, sizeof u);
	snprintf(u.name, sizeof u.name, "%s", name);
	u.role = role;
	snprintf(u.pw_hash, sizeof u.pw_hash, "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA");
	u.created_at = u.updated_at = 1700000000000LL;
	return u;
}

static long long add_user(struct store *st, const char *name, int role)
{
	struct store_user u = user_of(name, role);
	struct perr err;
	cr_assert_eq(store_user_add(st, &u, &err), 0, "%s", err.msg);
	cr_assert_gt(u.id, 0);
	return u.id;
}

static struct store_login login_of(unsigned char tag, long long user_id, long long expires_at)
{
	struct store_login l;
	memset(&l, 0, sizeof l);
	memset(l.hash, tag, sizeof l.hash);
	l.user_id = user_id;
	l.created_at = l.last_seen_at = 1000;
	l.expires_at = expires_at;
	return l;
}

static void add_login(struct store *st, unsigned char tag, long long user_id, long long expires_at)
{
	struct store_login l = login_of(tag, user_id, expires_at);
	struct perr err;
	cr_assert_eq(store_login_add(st, &l, &err), 0, "%s", err.msg);
}

/* What store_logins reported, in order. */
struct seen {
	int n;
	struct store_login items[8];
};

static int collect_login(void *arg, const struct store_login *l)
{
	struct seen *s = arg;
	cr_assert_lt(s->n, 8);
	s->items[s->n++] = *l;
	return 0;
}

static struct seen live_logins(struct store *st, long long now_ms)
{
	struct seen s = {0};
	struct perr err;
	cr_assert_eq(store_logins(st, now_ms, collect_login, &s, &err), 0, "%s", err.msg);
	return s;
}

Test(store, every_role_round_trips_by_name)
{
	struct store *st = open_migrated();
	const char *names[] = {"vera", "otto", "anna", "adam"};
	for (int r = ROLE_VIEWER; r < ROLE_COUNT; r++)
		add_user(st, names[r], r);
	for (int r = ROLE_VIEWER; r < ROLE_COUNT; r++) {
		struct store_user u;
		struct perr err;
		cr_assert_eq(store_user_get(st, names[r], &u, &err), 0, "%s", err.msg);
		cr_assert_eq(u.role, r);
		cr_assert_str_eq(u.name, names[r]);
		cr_assert_eq(u.disabled, 0);
		cr_assert_eq(u.created_at, 1700000000000LL);
		cr_assert_str_eq(u.pw_hash, "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA");
	}
	store_close(st);
	cr_assert_eq(rows("SELECT count(*) FROM portal_users WHERE name = 'anna' AND role = 'approver'"),
		     1);
}

Test(store, a_duplicate_account_name_is_a_conflict_naming_the_field)
{
	struct store *st = open_migrated();
	add_user(st, "alice", ROLE_VIEWER);
	struct store_user u = user_of("alice", ROLE_ADMIN);
	struct perr err;
	perr_clear(&err);
	cr_assert_eq(store_user_add(st, &u, &err), PERR_CONFLICT);
	cr_assert_str_eq(err.field, "name");
	cr_assert_str_eq(err.msg, "an account named 'alice' already exists");
	store_close(st);
	cr_assert_eq(rows("SELECT count(*) FROM portal_users"), 1);
	cr_assert_eq(rows("SELECT count(*) FROM portal_users WHERE role = 'viewer'"), 1);
}

Test(store, an_unknown_account_is_not_found_by_get_and_update)
{
	struct store *st = open_migrated();
	struct store_user u = user_of("ghost", ROLE_VIEWER);
	struct perr err;
	perr_clear(&err);
	cr_assert_eq(store_user_get(st, "ghost", &u, &err), PERR_NOT_FOUND);
	cr_assert_str_eq(err.field, "name");
	cr_assert_str_eq(err.msg, "no account is named 'ghost'");
	perr_clear(&err);
	u = user_of("ghost", ROLE_VIEWER);
	cr_assert_eq(store_user_update(st, &u, &err), PERR_NOT_FOUND);
	cr_assert_str_eq(err.msg, "no account is named 'ghost'");
	store_close(st);
	cr_assert_eq(rows("SELECT count(*) FROM portal_users"), 0);
}

Test(store, a_bad_account_name_or_role_is_invalid_and_names_the_field)
{
	struct store *st = open_migrated();
	const char *bad[] = {"", "Alice", "a b", "al/ice", "ünï", "tab\there"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct store_user u = user_of(bad[i], ROLE_VIEWER);
		struct perr err;
		perr_clear(&err);
		cr_assert_eq(store_user_add(st, &u, &err), PERR_INVALID, "'%s'", bad[i]);
		cr_assert_str_eq(err.field, "name");
	}
	struct store_user u = user_of("ok.name_1-2", ROLE_COUNT);
	struct perr err;
	cr_assert_eq(store_user_add(st, &u, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "role");
	u.role = -1;
	cr_assert_eq(store_user_add(st, &u, &err), PERR_INVALID);
	u.role = ROLE_VIEWER;
	cr_assert_eq(store_user_add(st, &u, &err), 0, "%s", err.msg);
	/* The longest name a struct store_user holds is the longest allowed. */
	u = user_of("a23456789012345678901234567890123456789012345678901234567890123", ROLE_VIEWER);
	cr_assert_eq(strlen(u.name), 63);
	cr_assert_eq(store_user_add(st, &u, &err), 0, "%s", err.msg);
	store_close(st);
	cr_assert_eq(rows("SELECT count(*) FROM portal_users"), 2);
}

Test(store, the_schema_itself_refuses_a_bad_name_role_or_login_hash)
{
	store_close(open_migrated());
	const char *sql[] = {
		"INSERT INTO portal_users (name, role, pw_hash, created_at, updated_at) "
		"VALUES ('Alice', 'viewer', '', 0, 0)",
		"INSERT INTO portal_users (name, role, pw_hash, created_at, updated_at) "
		"VALUES ('alice', 'root', '', 0, 0)",
		"INSERT INTO portal_users (name, role, pw_hash, created_at, updated_at) "
		"VALUES ('', 'viewer', '', 0, 0)",
		TSTORE_SQL("INSERT INTO portal_users (name, role, pw_hash, created_at, updated_at) "
			   "VALUES (printf('%.64c', 'a'), 'viewer', '', 0, 0)",
			   "INSERT INTO portal_users (name, role, pw_hash, created_at, updated_at) "
			   "VALUES (repeat('a', 64), 'viewer', '', 0, 0)"),
		TSTORE_SQL("INSERT INTO portal_logins (hash, user_id, created_at, last_seen_at, "
			   "expires_at) VALUES (x'0102', 1, 0, 0, 0)",
			   "INSERT INTO portal_logins (hash, user_id, created_at, last_seen_at, "
			   "expires_at) VALUES ('\\x0102', 1, 0, 0, 0)"),
	};
	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
		cr_assert_neq(tstore_exec(sql[i]), 0, "%s", sql[i]);
		cr_assert(strstr(tstore_error(), TSTORE_SQL("CHECK constraint failed",
							    "violates check constraint")),
			  "%s", tstore_error());
	}
	cr_assert_eq(tstore_exec("INSERT INTO portal_users (name, role, pw_hash, created_at, "
				 "updated_at) VALUES ('a.b_c-9', 'admin', '', 0, 0)"),
		     0, "%s", tstore_error());
}

struct names {
	int n;
	char items[8][STORE_NAME_MAX];
	int stop_after;
};

static int collect_name(void *arg, const struct store_user *u)
{
	struct names *s = arg;
	cr_assert_lt(s->n, 8);
	snprintf(s->items[s->n++], STORE_NAME_MAX, "%s", u->name);
	return s->stop_after && s->n == s->stop_after ? -1 : 0;
}

Test(store, users_are_listed_in_name_order_and_counted)
{
	struct store *st = open_migrated();
	add_user(st, "carol", ROLE_ADMIN);
	add_user(st, "alice", ROLE_VIEWER);
	add_user(st, "bob", ROLE_OPERATOR);
	struct names got = {0};
	long long count = -1;
	struct perr err;
	cr_assert_eq(store_users(st, collect_name, &got, &count, &err), 0, "%s", err.msg);
	cr_assert_eq(count, 3);
	cr_assert_eq(got.n, 3);
	cr_assert_str_eq(got.items[0], "alice");
	cr_assert_str_eq(got.items[1], "bob");
	cr_assert_str_eq(got.items[2], "carol");

	struct names first = {.stop_after = 1};
	cr_assert_eq(store_users(st, collect_name, &first, &count, &err), 0, "%s", err.msg);
	cr_assert_eq(first.n, 1);
	cr_assert_eq(count, 1);
	store_close(st);
}

Test(store, no_users_is_an_empty_list)
{
	struct store *st = open_migrated();
	struct names got = {0};
	long long count = -1;
	struct perr err;
	cr_assert_eq(store_users(st, collect_name, &got, &count, &err), 0, "%s", err.msg);
	cr_assert_eq(count, 0);
	cr_assert_eq(got.n, 0);
	store_close(st);
}

Test(store, update_writes_role_password_state_and_time_but_not_the_name_or_creation)
{
	struct store *st = open_migrated();
	long long id = add_user(st, "alice", ROLE_VIEWER);
	struct store_user u;
	struct perr err;
	cr_assert_eq(store_user_get(st, "alice", &u, &err), 0);
	u.role = ROLE_APPROVER;
	snprintf(u.pw_hash, sizeof u.pw_hash, "%s", "$argon2id$new");
	u.updated_at = 1800000000000LL;
	u.created_at = 5; /* not written */
	cr_assert_eq(store_user_update(st, &u, &err), 0, "%s", err.msg);
	struct store_user back;
	cr_assert_eq(store_user_get(st, "alice", &back, &err), 0);
	cr_assert_eq(back.id, id);
	cr_assert_eq(back.role, ROLE_APPROVER);
	cr_assert_str_eq(back.pw_hash, "$argon2id$new");
	cr_assert_eq(back.updated_at, 1800000000000LL);
	cr_assert_eq(back.created_at, 1700000000000LL);
	cr_assert_eq(back.disabled, 0);
	store_close(st);
}

Test(store, disabling_an_account_deletes_its_logins_and_no_one_elses)
{
	struct store *st = open_migrated();
	long long alice = add_user(st, "alice", ROLE_OPERATOR);
	long long bob = add_user(st, "bob", ROLE_VIEWER);
	add_login(st, 1, alice, 10000);
	add_login(st, 2, alice, 10000);
	add_login(st, 3, bob, 10000);
	struct store_user u;
	struct perr err;
	cr_assert_eq(store_user_get(st, "alice", &u, &err), 0);
	u.disabled = 1;
	cr_assert_eq(store_user_update(st, &u, &err), 0, "%s", err.msg);
	cr_assert_eq(rows("SELECT count(*) FROM portal_logins"), 1);
	struct seen s = live_logins(st, 2000);
	cr_assert_eq(s.n, 1);
	cr_assert_str_eq(s.items[0].user, "bob");

	/* Enabling again brings none of them back. */
	u.disabled = 0;
	cr_assert_eq(store_user_update(st, &u, &err), 0, "%s", err.msg);
	cr_assert_eq(store_user_get(st, "alice", &u, &err), 0);
	cr_assert_eq(u.disabled, 0);
	cr_assert_eq(live_logins(st, 2000).n, 1);
	store_close(st);
}

Test(store, an_update_that_leaves_the_account_enabled_keeps_its_logins)
{
	struct store *st = open_migrated();
	long long alice = add_user(st, "alice", ROLE_OPERATOR);
	add_login(st, 1, alice, 10000);
	struct store_user u;
	struct perr err;
	cr_assert_eq(store_user_get(st, "alice", &u, &err), 0);
	u.role = ROLE_ADMIN;
	cr_assert_eq(store_user_update(st, &u, &err), 0, "%s", err.msg);
	struct seen s = live_logins(st, 2000);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.items[0].role, ROLE_ADMIN);
	store_close(st);
}

Test(store, logins_report_live_ones_with_user_and_role_filled)
{
	struct store *st = open_migrated();
	long long alice = add_user(st, "alice", ROLE_APPROVER);
	struct store_login l = login_of(7, alice, 90000);
	l.created_at = 100;
	l.last_seen_at = 200;
	struct perr err;
	cr_assert_eq(store_login_add(st, &l, &err), 0, "%s", err.msg);
	struct seen s = live_logins(st, 1000);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(memcmp(s.items[0].hash, l.hash, STORE_LOGIN_HASH_LEN), 0);
	cr_assert_eq(s.items[0].user_id, alice);
	cr_assert_str_eq(s.items[0].user, "alice");
	cr_assert_eq(s.items[0].role, ROLE_APPROVER);
	cr_assert_eq(s.items[0].created_at, 100);
	cr_assert_eq(s.items[0].last_seen_at, 200);
	cr_assert_eq(s.items[0].expires_at, 90000);
	store_close(st);
}

Test(store, expired_logins_are_hidden_and_pruned)
{
	struct store *st = open_migrated();
	long long alice = add_user(st, "alice", ROLE_VIEWER);
	add_login(st, 1, alice, 5000);  /* expires exactly now: gone */
	add_login(st, 2, alice, 4999);  /* expired */
	add_login(st, 3, alice, 5001);  /* live */
	struct seen s = live_logins(st, 5000);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.items[0].hash[0], 3);
	cr_assert_eq(rows("SELECT count(*) FROM portal_logins"), 1);
	cr_assert_eq(live_logins(st, 6000).n, 0);
	cr_assert_eq(rows("SELECT count(*) FROM portal_logins"), 0);
	store_close(st);
}

Test(store, a_disabled_accounts_logins_are_hidden)
{
	struct store *st = open_migrated();
	long long alice = add_user(st, "alice", ROLE_ADMIN);
	long long bob = add_user(st, "bob", ROLE_VIEWER);
	add_login(st, 1, alice, 10000);
	add_login(st, 2, bob, 10000);
	/* Disabled behind the store's back, so the login row is still there. */
	cr_assert_eq(tstore_exec("UPDATE portal_users SET disabled = 1 WHERE name = 'alice'"), 0,
		     "%s", tstore_error());
	struct seen s = live_logins(st, 2000);
	cr_assert_eq(s.n, 1);
	cr_assert_str_eq(s.items[0].user, "bob");
	cr_assert_eq(rows("SELECT count(*) FROM portal_logins"), 2);
	store_close(st);
}

Test(store, a_login_needs_an_enabled_account)
{
	struct store *st = open_migrated();
	long long alice = add_user(st, "alice", ROLE_VIEWER);
	struct store_user u;
	struct perr err;
	cr_assert_eq(store_user_get(st, "alice", &u, &err), 0);
	u.disabled = 1;
	cr_assert_eq(store_user_update(st, &u, &err), 0);
	struct store_login l = login_of(1, alice, 10000);
	perr_clear(&err);
	cr_assert_eq(store_login_add(st, &l, &err), PERR_NOT_FOUND);
	cr_assert_str_eq(err.field, "user_id");
	l.user_id = alice + 100;
	cr_assert_eq(store_login_add(st, &l, &err), PERR_NOT_FOUND);
	store_close(st);
	cr_assert_eq(rows("SELECT count(*) FROM portal_logins"), 0);
}

Test(store, a_duplicate_login_is_a_conflict)
{
	struct store *st = open_migrated();
	long long alice = add_user(st, "alice", ROLE_VIEWER);
	add_login(st, 1, alice, 10000);
	struct store_login l = login_of(1, alice, 20000);
	struct perr err;
	cr_assert_eq(store_login_add(st, &l, &err), PERR_CONFLICT);
	store_close(st);
	cr_assert_eq(rows("SELECT expires_at FROM portal_logins"), 10000);
}

Test(store, touch_sets_last_seen_and_says_when_the_login_is_gone)
{
	struct store *st = open_migrated();
	long long alice = add_user(st, "alice", ROLE_VIEWER);
	add_login(st, 1, alice, 10000);
	unsigned char h[STORE_LOGIN_HASH_LEN];
	memset(h, 1, sizeof h);
	struct perr err;
	cr_assert_eq(store_login_touch(st, h, 4242, &err), 0, "%s", err.msg);
	cr_assert_eq(live_logins(st, 2000).items[0].last_seen_at, 4242);
	memset(h, 9, sizeof h);
	cr_assert_eq(store_login_touch(st, h, 4343, &err), PERR_NOT_FOUND);
	store_close(st);
}

Test(store, login_delete_removes_one_and_an_absent_one_is_fine)
{
	struct store *st = open_migrated();
	long long alice = add_user(st, "alice", ROLE_VIEWER);
	add_login(st, 1, alice, 10000);
	add_login(st, 2, alice, 10000);
	unsigned char h[STORE_LOGIN_HASH_LEN];
	memset(h, 1, sizeof h);
	struct perr err;
	cr_assert_eq(store_login_delete(st, h, &err), 0, "%s", err.msg);
	cr_assert_eq(store_login_delete(st, h, &err), 0, "%s", err.msg);
	struct seen s = live_logins(st, 2000);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.items[0].hash[0], 2);
	store_close(st);
}

Test(store, login_delete_user_ends_every_login_of_one_account_and_counts_them)
{
	struct store *st = open_migrated();
	long long alice = add_user(st, "alice", ROLE_VIEWER);
	long long bob = add_user(st, "bob", ROLE_VIEWER);
	add_login(st, 1, alice, 10000);
	add_login(st, 2, alice, 10000);
	add_login(st, 3, bob, 10000);
	long long n = -1;
	struct perr err;
	cr_assert_eq(store_login_delete_user(st, alice, &n, &err), 0, "%s", err.msg);
	cr_assert_eq(n, 2);
	cr_assert_eq(store_login_delete_user(st, alice, &n, &err), 0, "%s", err.msg);
	cr_assert_eq(n, 0);
	struct seen s = live_logins(st, 2000);
	cr_assert_eq(s.n, 1);
	cr_assert_str_eq(s.items[0].user, "bob");
	store_close(st);
}

static int stop_at_first(void *arg, const struct store_login *l)
{
	(*(int *)arg)++;
	return -1;
}

Test(store, the_logins_walk_stops_when_asked)
{
	struct store *st = open_migrated();
	long long alice = add_user(st, "alice", ROLE_VIEWER);
	add_login(st, 1, alice, 10000);
	add_login(st, 2, alice, 10000);
	int calls = 0;
	struct perr err;
	cr_assert_eq(store_logins(st, 2000, stop_at_first, &calls, &err), 0, "%s", err.msg);
	cr_assert_eq(calls, 1);
	store_close(st);
}

/* --- the event log (portal_live_events) --- */

#define EV(i, p) {.id = (i), .type = "session.tool", .project = (p), .source = "test", \
		  .ts = 1700000000000LL, .data = NULL}

/* Room for one batch's answers. */
struct answer {
	long long seqs[8];
	int fresh[8];
	struct store_batch batch;
};

static struct store_batch *batch_of(struct answer *a, struct event *evs, size_t n,
				    json_t *data)
{
	cr_assert_leq(n, 8);
	for (size_t i = 0; i < n; i++)
		evs[i].data = data;
	memset(a, 0, sizeof *a);
	for (size_t i = 0; i < n; i++)
		a->seqs[i] = a->fresh[i] = -1;
	a->batch = (struct store_batch){.evs = evs, .n = n, .seqs = a->seqs, .fresh = a->fresh};
	return &a->batch;
}

static void append_ok(struct store *st, struct store_batch **b, size_t n)
{
	struct perr err;
	perr_clear(&err);
	cr_assert_eq(store_append(st, b, n, &err), 0, "%s", err.msg);
}

/* Each event's seq and fresh flag, exactly: seqs are gap-free on both
 * backends, so a known id never uses one up. */
static void seqs_are(const struct answer *a, const long long *seqs, const int *fresh)
{
	for (size_t i = 0; i < a->batch.n; i++) {
		cr_assert_eq(a->fresh[i], fresh[i], "event %zu: fresh %d, not %d", i,
			     a->fresh[i], fresh[i]);
		cr_assert_eq(a->seqs[i], seqs[i], "event %zu: seq %lld, not %lld", i, a->seqs[i],
			     seqs[i]);
	}
}

Test(store, known_ids_report_their_original_seq_and_are_not_stored_again)
{
	struct store *st = open_migrated();
	json_t *data = json_object();
	struct event first[2] = {EV("a", "atlas"), EV("b", "atlas")};
	struct event second[2] = {EV("c", "atlas"), EV("a", "other")};
	struct answer x, y;
	struct store_batch *b = batch_of(&x, first, 2, data);
	append_ok(st, &b, 1);
	seqs_are(&x, (long long[]){1, 2}, (int[]){1, 1});
	b = batch_of(&y, second, 2, data);
	append_ok(st, &b, 1);
	seqs_are(&y, (long long[]){3, 1}, (int[]){1, 0});
	cr_assert_eq(y.seqs[1], x.seqs[0]);
	cr_assert_gt(y.seqs[0], x.seqs[1]);
	json_decref(data);
	store_close(st);
	cr_assert_eq(rows("SELECT count(*) FROM portal_live_events"), 3);
	cr_assert_eq(rows("SELECT count(*) FROM portal_live_events WHERE project = 'other'"), 0);
}

Test(store, an_id_repeated_within_one_batch_gets_the_first_ones_seq_and_is_not_fresh)
{
	struct store *st = open_migrated();
	json_t *data = json_object();
	struct event evs[5] = {EV("a", "atlas"), EV("b", "atlas"), EV("a", "other"),
			       EV("c", "atlas"), EV("b", "other")};
	struct answer x;
	struct store_batch *b = batch_of(&x, evs, 5, data);
	append_ok(st, &b, 1);
	cr_assert_eq(x.batch.rc, 0, "%s", x.batch.err.msg);
	seqs_are(&x, (long long[]){1, 2, 1, 3, 2}, (int[]){1, 1, 0, 1, 0});
	json_decref(data);
	store_close(st);
	cr_assert_eq(rows("SELECT count(*) FROM portal_live_events"), 3);
	cr_assert_eq(rows("SELECT count(*) FROM portal_live_events WHERE project = 'other'"), 0);
}

Test(store, an_id_in_two_batches_of_one_call_is_stored_by_the_first)
{
	struct store *st = open_migrated();
	json_t *data = json_object();
	struct event one[1] = {EV("a", "atlas")};
	struct event two[2] = {EV("b", "atlas"), EV("a", "other")};
	struct answer x, y;
	struct store_batch *b[2] = {batch_of(&x, one, 1, data), batch_of(&y, two, 2, data)};
	append_ok(st, b, 2);
	seqs_are(&x, (long long[]){1}, (int[]){1});
	seqs_are(&y, (long long[]){2, 1}, (int[]){1, 0});
	cr_assert_eq(y.seqs[1], x.seqs[0]);
	cr_assert_gt(y.seqs[0], x.seqs[0]);
	json_decref(data);
	store_close(st);
	cr_assert_eq(rows("SELECT count(*) FROM portal_live_events"), 2);
}

Test(store, a_bad_batch_among_good_ones_stores_nothing_and_the_others_commit)
{
	struct store *st = open_migrated();
	json_t *data = json_object();
	struct event good1[2] = {EV("g1", "atlas"), EV("g2", "atlas")};
	struct event bad[2] = {EV("bad1", "atlas"), EV("bad2", NULL)}; /* project is required */
	struct event good2[2] = {EV("g3", "atlas"), EV("g1", "atlas")};
	struct answer x, y, z;
	struct store_batch *b[3] = {batch_of(&x, good1, 2, data), batch_of(&y, bad, 2, data),
				    batch_of(&z, good2, 2, data)};
	append_ok(st, b, 3);
	cr_assert_eq(x.batch.rc, 0, "%s", x.batch.err.msg);
	cr_assert_eq(y.batch.rc, PERR_STORE);
	cr_assert_str_eq(y.batch.err.field, "store.db");
	cr_assert_eq(z.batch.rc, 0, "%s", z.batch.err.msg);
	seqs_are(&x, (long long[]){1, 2}, (int[]){1, 1});
	seqs_are(&z, (long long[]){3, 1}, (int[]){1, 0});
	cr_assert_eq(z.seqs[1], x.seqs[0]);
	cr_assert_gt(z.seqs[0], x.seqs[1]);

	/* Nothing of it was kept: its first event is new the next time. */
	struct event again[1] = {EV("bad1", "atlas")};
	struct answer w;
	struct store_batch *one = batch_of(&w, again, 1, data);
	append_ok(st, &one, 1);
	seqs_are(&w, (long long[]){4}, (int[]){1});
	cr_assert_gt(w.seqs[0], z.seqs[0]);
	json_decref(data);
	store_close(st);
	cr_assert_eq(rows("SELECT count(*) FROM portal_live_events"), 4);
}

Test(store, bad_batches_first_and_last_leave_the_good_one_between_them)
{
	struct store *st = open_migrated();
	json_t *data = json_object();
	struct event bad1[1] = {EV("bad1", NULL)};
	struct event good[2] = {EV("g1", "atlas"), EV("g2", "atlas")};
	struct event bad2[2] = {EV("bad2", "atlas"), EV("bad3", NULL)};
	struct answer x, y, z;
	struct store_batch *b[3] = {batch_of(&x, bad1, 1, data), batch_of(&y, good, 2, data),
				    batch_of(&z, bad2, 2, data)};
	append_ok(st, b, 3);
	cr_assert_eq(x.batch.rc, PERR_STORE);
	cr_assert_eq(y.batch.rc, 0, "%s", y.batch.err.msg);
	cr_assert_eq(z.batch.rc, PERR_STORE);
	seqs_are(&y, (long long[]){1, 2}, (int[]){1, 1});
	json_decref(data);
	store_close(st);
	cr_assert_eq(rows("SELECT count(*) FROM portal_live_events"), 2);
}

Test(store, a_lone_bad_batch_stores_nothing_and_the_call_itself_succeeds)
{
	struct store *st = open_migrated();
	json_t *data = json_object();
	struct event bad[2] = {EV("bad1", "atlas"), EV("bad2", NULL)};
	struct answer x;
	struct store_batch *b = batch_of(&x, bad, 2, data);
	append_ok(st, &b, 1);
	cr_assert_eq(x.batch.rc, PERR_STORE);
	cr_assert_str_eq(x.batch.err.field, "store.db");

	struct event good[1] = {EV("g1", "atlas")};
	b = batch_of(&x, good, 1, data);
	append_ok(st, &b, 1);
	seqs_are(&x, (long long[]){1}, (int[]){1});
	json_decref(data);
	store_close(st);
	cr_assert_eq(rows("SELECT count(*) FROM portal_live_events"), 1);
}

/* `n` events with ids `prefix`0.. `prefix`n-1, appended as one batch; their
 * seqs and fresh flags land in `seqs` and `fresh`. */
static void append_many(struct store *st, const char *prefix, size_t from, size_t n,
			long long *seqs, int *fresh)
{
	struct event *evs = calloc(n, sizeof *evs);
	char (*ids)[32] = calloc(n, sizeof *ids);
	cr_assert(evs && ids);
	json_t *data = json_object();
	for (size_t i = 0; i < n; i++) {
		snprintf(ids[i], sizeof ids[i], "%s%zu", prefix, from + i);
		evs[i] = (struct event)EV(ids[i], "atlas");
		evs[i].data = data;
	}
	struct store_batch batch = {.evs = evs, .n = n, .seqs = seqs, .fresh = fresh};
	struct store_batch *b = &batch;
	append_ok(st, &b, 1);
	cr_assert_eq(batch.rc, 0, "%s", batch.err.msg);
	json_decref(data);
	free(ids);
	free(evs);
}

Test(store, re_sent_events_use_up_no_seq_so_the_next_new_one_follows_the_last_stored)
{
	struct store *st = open_migrated();
	long long seqs[500], again[500], one[1];
	int fresh[500], fresh_again[500], fresh_one[1];
	append_many(st, "e", 0, 500, seqs, fresh);
	append_many(st, "e", 0, 500, again, fresh_again);
	for (int i = 0; i < 500; i++) {
		cr_assert_eq(seqs[i], i + 1, "event %d: seq %lld", i, seqs[i]);
		cr_assert_eq(fresh[i], 1);
		cr_assert_eq(again[i], seqs[i], "re-sent event %d: seq %lld, not %lld", i, again[i],
			     seqs[i]);
		cr_assert_eq(fresh_again[i], 0, "re-sent event %d reported as new", i);
	}
	append_many(st, "new", 0, 1, one, fresh_one);
	cr_assert_eq(fresh_one[0], 1);
	cr_assert_eq(one[0], 501, "the new event took seq %lld, not 501", one[0]);
	store_close(st);
	cr_assert_eq(rows("SELECT count(*) FROM portal_live_events"), 501);
	cr_assert_eq(rows("SELECT max(seq) FROM portal_live_events"), 501);
}

Test(store, a_batch_mixing_known_and_new_ids_numbers_only_the_new_ones_in_a_row)
{
	struct store *st = open_migrated();
	json_t *data = json_object();
	struct event first[3] = {EV("a", "atlas"), EV("b", "atlas"), EV("c", "atlas")};
	struct event mixed[6] = {EV("b", "atlas"), EV("d", "atlas"), EV("a", "atlas"),
				 EV("e", "atlas"), EV("d", "atlas"), EV("c", "atlas")};
	struct event last[2] = {EV("e", "atlas"), EV("f", "atlas")};
	struct answer x, y, z;
	struct store_batch *b = batch_of(&x, first, 3, data);
	append_ok(st, &b, 1);
	seqs_are(&x, (long long[]){1, 2, 3}, (int[]){1, 1, 1});
	b = batch_of(&y, mixed, 6, data);
	append_ok(st, &b, 1);
	seqs_are(&y, (long long[]){2, 4, 1, 5, 4, 3}, (int[]){0, 1, 0, 1, 0, 0});
	b = batch_of(&z, last, 2, data);
	append_ok(st, &b, 1);
	seqs_are(&z, (long long[]){5, 6}, (int[]){0, 1});
	json_decref(data);
	store_close(st);
	cr_assert_eq(rows("SELECT count(*) FROM portal_live_events"), 6);
	cr_assert_eq(rows("SELECT max(seq) FROM portal_live_events"), 6);
}

Test(store, a_failed_batch_after_known_ids_leaves_no_gap_either)
{
	struct store *st = open_migrated();
	json_t *data = json_object();
	struct event first[2] = {EV("a", "atlas"), EV("b", "atlas")};
	struct event bad[3] = {EV("a", "atlas"), EV("c", "atlas"), EV("d", NULL)};
	struct event good[2] = {EV("b", "atlas"), EV("c", "atlas")};
	struct answer x, y, z;
	struct store_batch *b = batch_of(&x, first, 2, data);
	append_ok(st, &b, 1);
	struct store_batch *two[2] = {batch_of(&y, bad, 3, data), batch_of(&z, good, 2, data)};
	append_ok(st, two, 2);
	cr_assert_eq(y.batch.rc, PERR_STORE);
	seqs_are(&z, (long long[]){2, 3}, (int[]){0, 1});
	json_decref(data);
	store_close(st);
	cr_assert_eq(rows("SELECT max(seq) FROM portal_live_events"), 3);
}

struct scanned {
	int n;
	char id[64], project[64], session[64], data[256];
	int session_null;
};

static int scan_one(void *arg, const struct event *ev)
{
	struct scanned *s = arg;
	s->n++;
	snprintf(s->id, sizeof s->id, "%s", ev->id);
	snprintf(s->project, sizeof s->project, "%s", ev->project);
	s->session_null = ev->session == NULL;
	snprintf(s->session, sizeof s->session, "%s", ev->session ? ev->session : "");
	char *d = json_dumps(ev->data, JSON_COMPACT);
	snprintf(s->data, sizeof s->data, "%s", d);
	free(d);
	return 0;
}

Test(store, quotes_backslashes_braces_and_the_word_null_are_stored_as_given)
{
	struct store *st = open_migrated();
	json_t *data = json_pack("{s:s,s:s}", "say", "\"hi\" \\ {a,b}", "z", "NULL");
	const char *id = "id \"with\" \\quotes\\, {braces} and ,commas,";
	struct event evs[2] = {EV(id, "NULL"), EV("plain", "{}")};
	evs[0].session = "";
	struct answer x;
	struct store_batch *b = batch_of(&x, evs, 2, data);
	append_ok(st, &b, 1);
	seqs_are(&x, (long long[]){1, 2}, (int[]){1, 1});

	struct scanned s = {0};
	struct perr err;
	cr_assert_eq(store_scan(st, 0, 1, scan_one, &s, &err), 1, "%s", err.msg);
	cr_assert_str_eq(s.id, id);
	cr_assert_str_eq(s.project, "NULL");
	cr_assert_eq(s.session_null, 0);
	cr_assert_str_eq(s.session, "");
	cr_assert_str_eq(s.data, "{\"say\":\"\\\"hi\\\" \\\\ {a,b}\",\"z\":\"NULL\"}");
	memset(&s, 0, sizeof s);
	cr_assert_eq(store_scan(st, 1, 0, scan_one, &s, &err), 1, "%s", err.msg);
	cr_assert_str_eq(s.project, "{}");
	cr_assert_eq(s.session_null, 1);
	json_decref(data);
	store_close(st);
}

/* --- tokens ---------------------------------------------------------------- */

struct tokens_seen {
	struct store_token t[4];
	int n;
};

static int see_token(void *arg, const struct store_token *t)
{
	struct tokens_seen *seen = arg;
	cr_assert_lt(seen->n, 4);
	seen->t[seen->n++] = *t;
	return 0;
}

Test(store, a_token_keeps_its_project_and_type_limits)
{
	struct store *st = open_migrated();
	struct perr err;
	struct store_token a, b;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	snprintf(a.id, sizeof a.id, "0123456789ab");
	snprintf(a.name, sizeof a.name, "ci");
	snprintf(a.scopes, sizeof a.scopes, "events:write");
	snprintf(a.projects, sizeof a.projects, "atlas-* beta");
	snprintf(a.types, sizeof a.types, "deploy.[ab]* session.*");
	memset(a.hash, 0xab, sizeof a.hash);
	a.created_at = 1000;
	snprintf(b.id, sizeof b.id, "ba9876543210");
	snprintf(b.name, sizeof b.name, "free");
	snprintf(b.scopes, sizeof b.scopes, "events:write");
	b.created_at = 2000;
	cr_assert_eq(store_token_add(st, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(store_token_add(st, &b, &err), 0, "%s", err.msg);
	store_close(st);

	st = open_migrated();
	struct tokens_seen seen = {.n = 0};
	cr_assert_eq(store_tokens(st, see_token, &seen, &err), 0, "%s", err.msg);
	cr_assert_eq(seen.n, 2);
	cr_expect_str_eq(seen.t[0].name, "ci");
	cr_expect_str_eq(seen.t[0].projects, "atlas-* beta");
	cr_expect_str_eq(seen.t[0].types, "deploy.[ab]* session.*");
	cr_expect_eq(memcmp(seen.t[0].hash, a.hash, sizeof a.hash), 0);
	cr_expect_str_eq(seen.t[1].name, "free");
	cr_expect_str_eq(seen.t[1].projects, "", "no limit reads back as none");
	cr_expect_str_eq(seen.t[1].types, "");
	store_close(st);
}
