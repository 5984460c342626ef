/* Worker: the backoff and the outcome of an attempt as pure functions, then
 * the pool itself over a real SQLite store in a temporary directory, with a
 * stand-in executor where the test needs to steer the attempt (and the real
 * exec executor once, end to end): executed with evidence, retried after the
 * backoff, the dead letter, the drain on stop, leases kept alive, several
 * attempts at once, the secret handed over, and logs that carry neither the
 * secret nor the executor's URL. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "exec/worker.h"
#include "util/clock.h"
#include "util/log.h"

#define DB "./portal.db"
#define LOG "./worker.log"
#define SECRET "w0rker-s3cret-value"

/* --- pure: backoff and outcome */

Test(worker_pure, backoff_doubles_from_one_second_up_to_five_minutes)
{
	static const struct {
		int attempts;
		long long ms;
	} cases[] = {
		{1, 1000}, {2, 2000}, {3, 4000}, {4, 8000}, {9, 256000},
		{10, 300000}, {11, 300000}, {40, 300000}, {1000000, 300000},
		{0, 1000}, {-5, 1000},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		cr_assert_eq(worker_backoff_ms(cases[i].attempts, 0), cases[i].ms,
			     "attempts %d: %lld", cases[i].attempts,
			     worker_backoff_ms(cases[i].attempts, 0));
}

Test(worker_pure, jitter_adds_up_to_a_fifth_and_never_less_than_nothing)
{
	static const uint32_t rnds[] = {0, 1, 0x7fffffffu, 0x80000000u, 0xffffffffu};
	for (int a = 1; a <= 12; a++) {
		long long base = worker_backoff_ms(a, 0);
		for (size_t i = 0; i < sizeof rnds / sizeof rnds[0]; i++) {
			long long ms = worker_backoff_ms(a, rnds[i]);
			cr_assert_geq(ms, base);
			cr_assert_leq(ms, base + base / 5, "attempts %d rnd %u: %lld", a, rnds[i], ms);
		}
		/* The top of the range is reached, give or take a millisecond. */
		cr_assert_geq(worker_backoff_ms(a, 0xffffffffu), base + base / 5 - 1);
		for (int k = 0; k < 1000; k++) {
			long long ms = worker_backoff_ms(a, randombytes_random());
			cr_assert(ms >= base && ms <= base + base / 5);
		}
	}
}

Test(worker_pure, an_attempt_leads_to_executed_retry_or_the_dead_letter)
{
	static const struct {
		int ok, retryable, attempts, max;
		enum worker_outcome want;
	} cases[] = {
		{1, 0, 1, 3, WORKER_EXECUTED}, {1, 1, 3, 3, WORKER_EXECUTED},
		{0, 1, 1, 3, WORKER_RETRY},    {0, 1, 2, 3, WORKER_RETRY},
		{0, 1, 3, 3, WORKER_DEAD},     {0, 1, 4, 3, WORKER_DEAD},
		{0, 0, 1, 3, WORKER_DEAD},     {0, 1, 1, 1, WORKER_DEAD},
		{0, 1, 1, 0, WORKER_DEAD},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct exec_result r = {.ok = cases[i].ok, .retryable = cases[i].retryable};
		cr_assert_eq(worker_decide(&r, cases[i].attempts, cases[i].max), cases[i].want,
			     "case %zu", i);
	}
}

/* --- the pool over a real store */

static char dir[PATH_MAX];
static struct store *st;

static void enter_tmpdir(void)
{
	snprintf(dir, sizeof dir, "/tmp/portal-worker-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(chdir(dir), 0);
	int fd = open(LOG, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	log_set_fd(fd);
	struct perr err = {0};
	struct store_options opt = {.busy_timeout_ms = 5000};
	cr_assert_eq(store_open(DB, &opt, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(store_migrate(st, NULL, NULL, &err), 0, "%s", err.msg);
}

static void remove_tmpdir(void)
{
	store_close(st);
	st = NULL;
	if (chdir("/") != 0)
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char p[PATH_MAX + 300];
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

TestSuite(worker, .init = enter_tmpdir, .fini = remove_tmpdir, .timeout = 20);

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* A proposal of kind, submitted by alice, approved and queued by bob. */
static void queue(const char *kind, const char *input, char id[STORE_PROPOSAL_ID_MAX])
{
	struct store_proposal p;
	memset(&p, 0, sizeof p);
	snprintf(p.kind, sizeof p.kind, "%s", kind);
	snprintf(p.project, sizeof p.project, "demo");
	snprintf(p.proposer, sizeof p.proposer, "alice");
	p.input = strdup(input);
	int existed = 0;
	struct perr err = {0};
	long long now = clock_wall_ms();
	cr_assert_eq(store_proposal_submit(st, &p, now, &existed, &err), 0, "%s", err.msg);
	snprintf(id, STORE_PROPOSAL_ID_MAX, "%s", p.id);
	store_proposal_clear(&p);
	cr_assert_eq(store_proposal_transition(st, id, PROPOSAL_SUBMITTED, PROPOSAL_APPROVED, "bob",
					       NULL, now, &err), 0, "%s", err.msg);
	cr_assert_eq(store_proposal_transition(st, id, PROPOSAL_APPROVED, PROPOSAL_QUEUED, "bob",
					       NULL, now, &err), 0, "%s", err.msg);
}

/* Waits up to ms for id to reach state; returns it (clear it afterwards). */
static struct store_proposal wait_state(const char *id, int state, int ms)
{
	long long deadline = clock_mono_us() + (long long)ms * 1000;
	struct store_proposal p;
	for (;;) {
		memset(&p, 0, sizeof p);
		struct perr err = {0};
		cr_assert_eq(store_proposal_get(st, id, &p, &err), 0, "%s", err.msg);
		if (p.state == state || clock_mono_us() > deadline)
			break;
		store_proposal_clear(&p);
		sleep_ms(20);
	}
	cr_assert_eq(p.state, state, "%s is %s, not %s (last error: %s)", id,
		     proposal_state_name(p.state), proposal_state_name(state), p.last_error);
	return p;
}

static struct proposal_kind kinds[2];

static void kinds_init(int max_attempts)
{
	memset(kinds, 0, sizeof kinds);
	snprintf(kinds[0].name, sizeof kinds[0].name, "restart");
	kinds[0].executor = EXECUTOR_EXEC;
	snprintf(kinds[0].argv[0], sizeof kinds[0].argv[0], "/usr/bin/printf");
	snprintf(kinds[0].argv[1], sizeof kinds[0].argv[1], "restarted {service}");
	kinds[0].nargv = 2;
	snprintf(kinds[0].fields[0].name, sizeof kinds[0].fields[0].name, "service");
	kinds[0].fields[0].type = PFIELD_STRING;
	kinds[0].nfields = 1;
	kinds[0].timeout_ms = 5000;
	kinds[0].max_attempts = max_attempts;
	snprintf(kinds[0].secret, sizeof kinds[0].secret, "runner-token");
	kinds[1] = kinds[0];
	snprintf(kinds[1].name, sizeof kinds[1].name, "deploy");
	kinds[1].executor = EXECUTOR_HTTP;
	snprintf(kinds[1].component, sizeof kinds[1].component, "runner");
}

/* The stand-in executor: what it does is set per test. */
enum act { ACT_OK, ACT_RETRYABLE, ACT_FATAL, ACT_SLOW_OK, ACT_UNTIL_CANCEL, ACT_CHECK_LEASE };
static enum act act;
static atomic_int started, running, max_running;
static char seen_secret[128];
static long long lease_seen_ahead_ms = -1;

static int stand_in(const struct exec_job *job, struct exec_result *out)
{
	memset(out, 0, sizeof *out);
	atomic_fetch_add(&started, 1);
	int now_running = atomic_fetch_add(&running, 1) + 1;
	int m = atomic_load(&max_running);
	while (now_running > m && !atomic_compare_exchange_weak(&max_running, &m, now_running))
		;
	snprintf(seen_secret, sizeof seen_secret, "%s", job->secret_value ? job->secret_value : "");
	int rc = 0;
	switch (act) {
	case ACT_OK:
		out->ok = 1;
		out->evidence = json_pack("{s:s,s:s}", "executor", "stand-in", "digest",
					  "sha256:00ff");
		break;
	case ACT_RETRYABLE:
		rc = exec_fail(out, 1, "the stand-in failed, worth a retry");
		break;
	case ACT_FATAL:
		rc = exec_fail(out, 0, "the stand-in failed for good");
		break;
	case ACT_SLOW_OK:
		sleep_ms(400);
		out->ok = 1;
		break;
	case ACT_UNTIL_CANCEL:
		while (!atomic_load(job->cancel))
			sleep_ms(10);
		out->cancelled = 1;
		rc = exec_fail(out, 1, "stopped");
		break;
	case ACT_CHECK_LEASE: {
		sleep_ms(900);
		struct store_proposal p;
		memset(&p, 0, sizeof p);
		struct perr err = {0};
		if (store_proposal_get(st, job->proposal->id, &p, &err) == 0)
			lease_seen_ahead_ms = p.lease_until - clock_wall_ms();
		store_proposal_clear(&p);
		out->ok = 1;
		break;
	}
	}
	atomic_fetch_sub(&running, 1);
	return rc;
}

static struct worker *start(int concurrency, int lease_slack_ms, struct secret_values *sv,
			    int use_stand_in, const struct catalogue *cat)
{
	struct worker_options opt = {
		.id = "test-worker",
		.concurrency = concurrency,
		.poll_ms = 20,
		.lease_slack_ms = lease_slack_ms,
		.kinds = kinds,
		.nkinds = 2,
		.cat = cat,
		.run = use_stand_in ? stand_in : NULL,
		.kill_grace_ms = 200,
	};
	struct worker *w = NULL;
	struct perr err = {0};
	cr_assert_eq(worker_start(&w, st, &opt, sv, &err), 0, "%s", err.msg);
	return w;
}

static char *read_log(void)
{
	FILE *f = fopen(LOG, "r");
	cr_assert(f);
	static char text[1 << 20];
	size_t n = fread(text, 1, sizeof text - 1, f);
	text[n] = 0;
	fclose(f);
	return text;
}

Test(worker, a_successful_attempt_is_recorded_as_executed_with_its_evidence)
{
	kinds_init(3);
	act = ACT_OK;
	char id[STORE_PROPOSAL_ID_MAX];
	queue("restart", "{\"service\":\"api\"}", id);
	struct worker *w = start(1, 0, NULL, 1, NULL);
	struct store_proposal p = wait_state(id, PROPOSAL_EXECUTED, 3000);
	cr_assert_eq(worker_stop(w, 1000), 0);
	cr_assert_eq(p.attempts, 1);
	cr_assert(p.evidence && strstr(p.evidence, "\"digest\":\"sha256:00ff\""), "%s",
		  p.evidence ? p.evidence : "(none)");
	store_proposal_clear(&p);
	cr_assert(strstr(read_log(), "\"proposal executed\""));
}

Test(worker, a_retryable_failure_is_queued_again_after_the_backoff)
{
	kinds_init(3);
	act = ACT_RETRYABLE;
	char id[STORE_PROPOSAL_ID_MAX];
	queue("restart", "{\"service\":\"api\"}", id);
	long long t0 = clock_wall_ms();
	struct worker *w = start(1, 0, NULL, 1, NULL);
	while (atomic_load(&started) == 0)
		sleep_ms(5);
	struct store_proposal p = wait_state(id, PROPOSAL_QUEUED, 3000);
	long long t1 = clock_wall_ms();
	worker_stop(w, 1000);
	cr_assert_eq(p.attempts, 1);
	cr_assert_str_eq(p.last_error, "the stand-in failed, worth a retry");
	/* 1 s after the first failure, plus up to 20%. */
	cr_assert_geq(p.next_attempt_at, t0 + 1000, "due %lld ms after start",
		      p.next_attempt_at - t0);
	cr_assert_leq(p.next_attempt_at, t1 + 1200);
	store_proposal_clear(&p);
	cr_assert_eq(atomic_load(&started), 1, "retried before the backoff");
}

Test(worker, retries_run_until_the_last_attempt_then_the_dead_letter)
{
	kinds_init(2);
	act = ACT_RETRYABLE;
	char id[STORE_PROPOSAL_ID_MAX];
	queue("restart", "{\"service\":\"api\"}", id);
	struct worker *w = start(1, 0, NULL, 1, NULL);
	struct store_proposal p = wait_state(id, PROPOSAL_FAILED, 5000);
	worker_stop(w, 1000);
	cr_assert_eq(p.attempts, 2);
	cr_assert_eq(atomic_load(&started), 2);
	cr_assert_str_eq(p.last_error, "the stand-in failed, worth a retry");
	store_proposal_clear(&p);
	cr_assert(strstr(read_log(), "dead letter"));
}

Test(worker, a_failure_not_worth_retrying_goes_to_the_dead_letter_at_once)
{
	kinds_init(5);
	act = ACT_FATAL;
	char id[STORE_PROPOSAL_ID_MAX];
	queue("restart", "{\"service\":\"api\"}", id);
	struct worker *w = start(1, 0, NULL, 1, NULL);
	struct store_proposal p = wait_state(id, PROPOSAL_FAILED, 3000);
	worker_stop(w, 1000);
	cr_assert_eq(p.attempts, 1);
	cr_assert_str_eq(p.last_error, "the stand-in failed for good");
	store_proposal_clear(&p);
}

Test(worker, a_kind_this_worker_does_not_know_goes_to_the_dead_letter_saying_so)
{
	kinds_init(3);
	act = ACT_OK;
	char id[STORE_PROPOSAL_ID_MAX];
	queue("resize", "{}", id);
	struct worker *w = start(1, 0, NULL, 1, NULL);
	struct store_proposal p = wait_state(id, PROPOSAL_FAILED, 3000);
	worker_stop(w, 1000);
	cr_assert_str_eq(p.last_error, "this worker's configuration has no proposal kind resize");
	cr_assert_eq(atomic_load(&started), 0);
	store_proposal_clear(&p);
}

Test(worker, stopping_lets_a_running_attempt_finish_within_the_drain)
{
	kinds_init(3);
	act = ACT_SLOW_OK;
	char id[STORE_PROPOSAL_ID_MAX];
	queue("restart", "{\"service\":\"api\"}", id);
	struct worker *w = start(1, 0, NULL, 1, NULL);
	while (atomic_load(&started) == 0)
		sleep_ms(5);
	cr_assert_eq(worker_stop(w, 5000), 0);
	struct store_proposal p = wait_state(id, PROPOSAL_EXECUTED, 0);
	store_proposal_clear(&p);
}

Test(worker, stopping_gives_back_an_attempt_that_outlives_the_drain)
{
	kinds_init(3);
	act = ACT_UNTIL_CANCEL;
	char id[STORE_PROPOSAL_ID_MAX];
	queue("restart", "{\"service\":\"api\"}", id);
	struct worker *w = start(1, 0, NULL, 1, NULL);
	while (atomic_load(&started) == 0)
		sleep_ms(5);
	long long t0 = clock_mono_us();
	cr_assert_eq(worker_stop(w, 150), 1);
	long long ms = (clock_mono_us() - t0) / 1000;
	cr_assert_geq(ms, 140);
	cr_assert_lt(ms, 2000);
	struct store_proposal p = wait_state(id, PROPOSAL_QUEUED, 0);
	cr_assert_str_eq(p.lease_owner, "");
	store_proposal_clear(&p);
}

Test(worker, stopping_ends_a_real_program_and_gives_its_proposal_back)
{
	kinds_init(3);
	snprintf(kinds[0].argv[0], sizeof kinds[0].argv[0], "/bin/sleep");
	snprintf(kinds[0].argv[1], sizeof kinds[0].argv[1], "10");
	char id[STORE_PROPOSAL_ID_MAX];
	queue("restart", "{\"service\":\"api\"}", id);
	struct worker *w = start(1, 0, NULL, 0, NULL);
	struct store_proposal r0 = wait_state(id, PROPOSAL_RUNNING, 3000);
	store_proposal_clear(&r0);
	sleep_ms(100);
	long long t0 = clock_mono_us();
	cr_assert_eq(worker_stop(w, 100), 1);
	cr_assert_lt((clock_mono_us() - t0) / 1000, 3000);
	struct store_proposal p = wait_state(id, PROPOSAL_QUEUED, 0);
	store_proposal_clear(&p);
}

Test(worker, the_lease_is_kept_alive_while_the_attempt_runs)
{
	kinds_init(3);
	kinds[0].timeout_ms = 0;
	kinds[1].timeout_ms = 0;
	act = ACT_CHECK_LEASE;
	char id[STORE_PROPOSAL_ID_MAX];
	queue("restart", "{\"service\":\"api\"}", id);
	/* Leases of 300 ms, renewed every 100 ms; the attempt takes 900. */
	struct worker *w = start(1, 300, NULL, 1, NULL);
	struct store_proposal p = wait_state(id, PROPOSAL_EXECUTED, 5000);
	worker_stop(w, 1000);
	cr_assert_gt(lease_seen_ahead_ms, 0, "the lease had run out %lld ms before",
		     -lease_seen_ahead_ms);
	cr_assert_eq(p.attempts, 1);
	store_proposal_clear(&p);
}

Test(worker, several_threads_run_attempts_at_once)
{
	kinds_init(3);
	act = ACT_SLOW_OK;
	char ids[3][STORE_PROPOSAL_ID_MAX];
	for (int i = 0; i < 3; i++)
		queue("restart", "{\"service\":\"api\"}", ids[i]);
	long long t0 = clock_mono_us();
	struct worker *w = start(3, 0, NULL, 1, NULL);
	for (int i = 0; i < 3; i++) {
		struct store_proposal p = wait_state(ids[i], PROPOSAL_EXECUTED, 3000);
		store_proposal_clear(&p);
	}
	long long ms = (clock_mono_us() - t0) / 1000;
	worker_stop(w, 1000);
	cr_assert_eq(atomic_load(&max_running), 3);
	cr_assert_lt(ms, 1100, "three 400 ms attempts took %lld ms", ms);
}

static struct secret_values *resolve(const char *value)
{
	struct secret_contract sc;
	memset(&sc, 0, sizeof sc);
	snprintf(sc.name, sizeof sc.name, "runner-token");
	sc.source = SECRET_ENV;
	snprintf(sc.ref, sizeof sc.ref, "RUNNER_TOKEN");
	struct catalogue cat;
	memset(&cat, 0, sizeof cat);
	cat.secrets = &sc;
	cat.nsecrets = 1;
	char env[128];
	snprintf(env, sizeof env, "RUNNER_TOKEN=%s", value);
	char *envp[] = {env, NULL};
	struct secret_values *v = NULL;
	struct secret_status *sts = NULL;
	size_t n = 0;
	struct perr err = {0};
	cr_assert_eq(secrets_resolve(&cat, envp, &v, &sts, &n, &err), 0, "%s", err.msg);
	cr_assert_eq(sts[0].state, SECRET_PRESENT);
	free(sts);
	return v;
}

Test(worker, the_kind_secret_reaches_the_executor_and_a_reload_replaces_it)
{
	kinds_init(3);
	act = ACT_OK;
	char id[STORE_PROPOSAL_ID_MAX];
	queue("restart", "{\"service\":\"api\"}", id);
	struct worker *w = start(1, 0, resolve(SECRET), 1, NULL);
	struct store_proposal p = wait_state(id, PROPOSAL_EXECUTED, 3000);
	store_proposal_clear(&p);
	cr_assert_str_eq(seen_secret, SECRET);
	worker_set_secrets(w, resolve("rotated-value"));
	queue("restart", "{\"service\":\"api\"}", id);
	p = wait_state(id, PROPOSAL_EXECUTED, 3000);
	store_proposal_clear(&p);
	cr_assert_str_eq(seen_secret, "rotated-value");
	worker_stop(w, 1000);
	cr_assert_null(strstr(read_log(), SECRET), "the log carries the secret");
}

Test(worker, the_exec_executor_runs_end_to_end)
{
	kinds_init(3);
	char id[STORE_PROPOSAL_ID_MAX];
	queue("restart", "{\"service\":\"$(id)\"}", id);
	struct worker *w = start(1, 0, NULL, 0, NULL);
	struct store_proposal p = wait_state(id, PROPOSAL_EXECUTED, 5000);
	worker_stop(w, 1000);
	json_error_t jerr;
	json_t *ev = json_loads(p.evidence, 0, &jerr);
	cr_assert(ev, "evidence is not JSON: %s", p.evidence);
	cr_assert_str_eq(json_string_value(json_object_get(ev, "output")), "restarted $(id)");
	cr_assert_eq(json_integer_value(json_object_get(ev, "exit_status")), 0);
	unsigned char h[32];
	crypto_hash_sha256(h, (const unsigned char *)"restarted $(id)", 15);
	char want[72] = "sha256:";
	sodium_bin2hex(want + 7, 65, h, sizeof h);
	cr_assert_str_eq(json_string_value(json_object_get(ev, "digest")), want);
	json_decref(ev);
	store_proposal_clear(&p);
}

Test(worker, an_unreachable_http_executor_fails_without_its_url_in_the_error_or_the_log)
{
	kinds_init(1);
	struct component_contract comp;
	memset(&comp, 0, sizeof comp);
	snprintf(comp.name, sizeof comp.name, "runner");
	comp.ownership = OWNERSHIP_OWNED;
	/* Port 9 (discard) on loopback: nothing listens in a test box. */
	snprintf(comp.executor_url.s, sizeof comp.executor_url.s,
		 "http://127.0.0.1:9/internal/run");
	struct catalogue cat;
	memset(&cat, 0, sizeof cat);
	cat.components = &comp;
	cat.ncomponents = 1;
	char id[STORE_PROPOSAL_ID_MAX];
	queue("deploy", "{\"service\":\"api\"}", id);
	struct worker *w = start(1, 0, resolve(SECRET), 0, &cat);
	struct store_proposal p = wait_state(id, PROPOSAL_FAILED, 5000);
	worker_stop(w, 1000);
	cr_assert(strstr(p.last_error, "the executor of runner"), "%s", p.last_error);
	cr_assert_null(strstr(p.last_error, "127.0.0.1"));
	store_proposal_clear(&p);
	const char *log = read_log();
	cr_assert_null(strstr(log, "127.0.0.1"), "the log carries the executor's address");
	cr_assert_null(strstr(log, "/internal/run"));
	cr_assert_null(strstr(log, SECRET));
}

Test(worker, options_out_of_range_are_refused_by_name)
{
	struct worker_options opt = {.id = "w", .concurrency = 0};
	struct worker *w = NULL;
	struct perr err = {0};
	cr_assert_eq(worker_start(&w, st, &opt, NULL, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "concurrency");
	opt.concurrency = WORKER_MAX_CONCURRENCY + 1;
	cr_assert_eq(worker_start(&w, st, &opt, NULL, &err), PERR_INVALID);
	opt.concurrency = 1;
	opt.id = "";
	cr_assert_eq(worker_start(&w, st, &opt, NULL, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "id");
	cr_assert_null(w);
}
