/* ClickHouse: the string-literal quoting and the parsing of answers as pure
 * functions; the wire contract against a fake server on loopback; and the
 * warehouse plane against a real clickhouse-server (the Debian 18.16 package
 * in CI) that the suite starts once, with its own configuration, data and
 * port under a temporary directory, and stops after the last test.
 * Without clickhouse-server the server tests fail and say how to install it. */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../support/loopback_http.h"
#include "adapters/clickhouse.h"
#include "proof/proof.h"
#include "util/buf.h"
#include "util/clock.h"

#define ENV_URL "PORTAL_TEST_CLICKHOUSE_URL"
#define ENV_ERROR "PORTAL_TEST_CLICKHOUSE_ERROR"
#define ENV_SERVER "PORTAL_TEST_CLICKHOUSE_SERVER" /* the server binary, when not found */
#define TESTER_USER "tester"
#define TESTER_KEY "s3cret-t3ster"
#define READER_USER "reader"
#define READER_KEY "r3ader-key"
#define SERVER_START_MS 30000

/* ------------------------------------------------------------------ */
/* The real server: started by the runner before the suite's first test,
 * stopped after the last test of the run. Criterion's runner must never see
 * a child of its own exit while tests run (its child pump spins on it), so
 * the runner forks a keeper that owns the server, reaps it whenever it dies
 * and stops it when the runner closes the control pipe (or dies). */

static struct {
	pid_t keeper;
	int ctl;    /* write end: closing it stops the server */
	int status; /* read end: the server's wait status, if it exits early */
	char dir[256];
} srv = {-1, -1, -1, ""};

static int find_binary(const char *name, char *out, size_t cap)
{
	const char *path = getenv("PATH");
	char dirs[4096];
	snprintf(dirs, sizeof dirs, "%s:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin",
		 path ? path : "");
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, cap, "%s/%s", d, name);
		if (access(out, X_OK) == 0)
			return 0;
	}
	return -1;
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof sa;
	int port = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int write_text(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
		return -1;
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Only the HTTP port, on loopback; logs, data and temporary files in dir. */
static int write_config(const char *dir, int port)
{
	struct buf b = BUF_INIT;
	buf_printf(&b,
		   "<?xml version=\"1.0\"?>\n"
		   "<yandex>\n"
		   "  <logger>\n"
		   "    <level>warning</level>\n"
		   "    <log>%s/log/server.log</log>\n"
		   "    <errorlog>%s/log/error.log</errorlog>\n"
		   "    <console>0</console>\n"
		   "  </logger>\n"
		   "  <listen_host>127.0.0.1</listen_host>\n"
		   "  <http_port>%d</http_port>\n"
		   "  <path>%s/data/</path>\n"
		   "  <tmp_path>%s/tmp/</tmp_path>\n"
		   "  <user_files_path>%s/user_files/</user_files_path>\n"
		   "  <format_schema_path>%s/format_schemas/</format_schema_path>\n"
		   "  <users_config>%s/users.xml</users_config>\n"
		   "  <default_profile>default</default_profile>\n"
		   "  <default_database>default</default_database>\n"
		   "  <mark_cache_size>67108864</mark_cache_size>\n"
		   "</yandex>\n",
		   dir, dir, port, dir, dir, dir, dir, dir);
	int rc = write_text(dir, "config.xml", buf_cstr(&b));
	buf_free(&b);
	return rc;
}

/* default: no password; tester: a password; reader: a password, read only. */
static const char users_xml[] =
	"<?xml version=\"1.0\"?>\n"
	"<yandex>\n"
	"  <profiles>\n"
	"    <default></default>\n"
	"    <readonly><readonly>1</readonly></readonly>\n"
	"  </profiles>\n"
	"  <quotas><default></default></quotas>\n"
	"  <users>\n"
	"    <default>\n"
	"      <password></password>\n"
	"      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>\n"
	"      <profile>default</profile><quota>default</quota>\n"
	"    </default>\n"
	"    <" TESTER_USER ">\n"
	"      <password>" TESTER_KEY "</password>\n"
	"      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>\n"
	"      <profile>default</profile><quota>default</quota>\n"
	"    </" TESTER_USER ">\n"
	"    <" READER_USER ">\n"
	"      <password>" READER_KEY "</password>\n"
	"      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>\n"
	"      <profile>readonly</profile><quota>default</quota>\n"
	"    </" READER_USER ">\n"
	"  </users>\n"
	"</yandex>\n";

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The keeper: a fork of the (threaded) runner, so only async-signal-safe
 * calls until it exits. */
static void keeper_main(const char *bin, char *const argv[], const char *dir, int logfd, int ctl,
			int status)
{
	for (int fd = 3; fd < 4096; fd++)
		if (fd != logfd && fd != ctl && fd != status)
			close(fd);
	pid_t s = fork();
	if (s == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* the keeper gone: the server too */
		int nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0 ||
		    chdir(dir) < 0)
			_exit(126);
		execv(bin, argv);
		_exit(127);
	}
	int st = 127 << 8, reaped = s < 0;
	if (reaped && write(status, &st, sizeof st) < 0)
		_exit(1);
	for (;;) {
		struct pollfd p = {ctl, POLLIN, 0};
		if (poll(&p, 1, 50) > 0)
			break; /* EOF (or a byte): stop */
		if (!reaped && waitpid(s, &st, WNOHANG) == s) {
			reaped = 1;
			if (write(status, &st, sizeof st) < 0)
				break;
		}
	}
	if (!reaped) {
		kill(s, SIGTERM);
		for (int i = 0; i < 300 && !reaped; i++) {
			if (waitpid(s, &st, WNOHANG) == s)
				reaped = 1;
			else
				sleep_ms(50);
		}
		if (!reaped) {
			kill(s, SIGKILL);
			waitpid(s, &st, 0);
		}
	}
	_exit(0);
}

static void keeper_stop(void)
{
	if (srv.keeper <= 0)
		return;
	close(srv.ctl);
	while (waitpid(srv.keeper, NULL, 0) < 0 && errno == EINTR)
		;
	close(srv.status);
	srv.keeper = -1;
	srv.ctl = srv.status = -1;
}

static size_t discard(char *data, size_t size, size_t nmemb, void *arg)
{
	return size * nmemb;
}

/* 0 once GET /ping answers 200, -1 if the server exited (*st set), -2 when
 * it did not answer in SERVER_START_MS. */
static int wait_ready(const char *url, int *st)
{
	char ping[128];
	snprintf(ping, sizeof ping, "%s/ping", url);
	CURL *e = curl_easy_init();
	if (!e)
		return -2;
	curl_easy_setopt(e, CURLOPT_URL, ping);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 1000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	long long deadline = clock_mono_us() + SERVER_START_MS * 1000LL;
	int rc = -2;
	while (clock_mono_us() < deadline) {
		if (read(srv.status, st, sizeof *st) == (ssize_t)sizeof *st) {
			rc = -1;
			break;
		}
		long code = 0;
		if (curl_easy_perform(e) == CURLE_OK &&
		    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200) {
			rc = 0;
			break;
		}
		sleep_ms(20);
	}
	curl_easy_cleanup(e);
	return rc;
}

/* The last lines the server wrote, for a failure message. */
static void log_tail(char *out, size_t cap)
{
	static const char *const files[] = {"log/error.log", "server.out"};
	out[0] = '\0';
	for (size_t i = 0; i < sizeof files / sizeof files[0] && !out[0]; i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", srv.dir, files[i]);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		fseek(f, 0, SEEK_END);
		long size = ftell(f);
		long from = size > (long)cap - 1 ? size - (long)cap + 1 : 0;
		fseek(f, from, SEEK_SET);
		size_t n = fread(out, 1, cap - 1, f);
		out[n] = '\0';
		fclose(f);
	}
}

/* Makes every server test fail with this message. */
static void server_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void server_fail(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	setenv(ENV_ERROR, msg, 1);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void server_start(void)
{
	char bin[PATH_MAX];
	int subcommand = 0;
	const char *given = getenv(ENV_SERVER);
	if (given && given[0]) {
		snprintf(bin, sizeof bin, "%s", given);
		if (access(bin, X_OK) != 0) {
			server_fail("%s=%s is not an executable: %s", ENV_SERVER, bin, strerror(errno));
			return;
		}
	} else if (find_binary("clickhouse-server", bin, sizeof bin) < 0) {
		if (find_binary("clickhouse", bin, sizeof bin) < 0) {
			server_fail("clickhouse-server is not installed (looked in PATH, /usr/sbin, "
				    "/usr/bin): install it with `apt-get install clickhouse-server` "
				    "(`make test` and .ci/run do, through scripts/deps.sh test)");
			return;
		}
		subcommand = 1; /* the single binary of newer releases: `clickhouse server` */
	}
	const char *tmp = getenv("TMPDIR");
	size_t n = (size_t)snprintf(srv.dir, sizeof srv.dir, "%s/portal-clickhouse-XXXXXX",
				    tmp && tmp[0] ? tmp : "/tmp");
	if (n >= sizeof srv.dir || !mkdtemp(srv.dir)) {
		srv.dir[0] = '\0';
		server_fail("could not make a temporary directory for ClickHouse: %s", strerror(errno));
		return;
	}
	static const char *const subdirs[] = {"log", "data", "tmp", "user_files", "format_schemas"};
	for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", srv.dir, subdirs[i]);
		mkdir(path, 0700);
	}
	if (write_text(srv.dir, "users.xml", users_xml) < 0) {
		server_fail("could not write the ClickHouse users file: %s", strerror(errno));
		return;
	}
	char cfg_arg[PATH_MAX + 32];
	snprintf(cfg_arg, sizeof cfg_arg, "--config-file=%s/config.xml", srv.dir);
	char *argv[4] = {bin, NULL, NULL, NULL};
	argv[subcommand ? 2 : 1] = cfg_arg;
	if (subcommand)
		argv[1] = "server";

	/* A port taken between free_port() and the server's bind is retried. */
	for (int attempt = 0; attempt < 3; attempt++) {
		int port = free_port();
		char out[PATH_MAX];
		snprintf(out, sizeof out, "%s/server.out", srv.dir);
		int ctl[2], status[2];
		int logfd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (port < 0 || write_config(srv.dir, port) < 0 || logfd < 0 ||
		    pipe2(ctl, O_CLOEXEC) < 0 || pipe2(status, O_CLOEXEC | O_NONBLOCK) < 0) {
			server_fail("could not prepare the ClickHouse server: %s", strerror(errno));
			return;
		}
		fflush(NULL);
		pid_t k = fork();
		if (k == 0)
			keeper_main(bin, argv, srv.dir, logfd, ctl[0], status[1]);
		close(logfd);
		close(ctl[0]);
		close(status[1]);
		if (k < 0) {
			close(ctl[1]);
			close(status[0]);
			server_fail("could not start the ClickHouse server: %s", strerror(errno));
			return;
		}
		srv.keeper = k;
		srv.ctl = ctl[1];
		srv.status = status[0];

		char url[64];
		snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
		int st = 0;
		int rc = wait_ready(url, &st);
		if (rc == 0) {
			setenv(ENV_URL, url, 1);
			return;
		}
		keeper_stop();
		char tail[1200];
		log_tail(tail, sizeof tail);
		if (rc == -2) {
			server_fail("clickhouse-server did not answer /ping within 30 s; it wrote: %s",
				    tail);
			return;
		}
		if (attempt == 2 || !strstr(tail, "in use"))
			server_fail("clickhouse-server exited at start (%s %d); it wrote: %s",
				    WIFSIGNALED(st) ? "signal" : "exit code",
				    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), tail);
		if (!strstr(tail, "in use"))
			return;
	}
}

static void server_stop(void)
{
	keeper_stop();
	if (srv.dir[0])
		nftw(srv.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	srv.dir[0] = '\0';
}

ReportHook(PRE_SUITE)(struct criterion_suite_set *set)
{
	if (strcmp(set->suite.name, "clickhouse") != 0 || srv.dir[0])
		return;
	int wanted = 0;
	FOREACH_SET(struct criterion_test *t, set->tests) {
		wanted |= !t->data->disabled;
	}
	if (wanted)
		server_start();
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	server_stop();
}

/* The server's URL, or the test fails saying why there is none. */
static const char *server_url(void)
{
	const char *why = getenv(ENV_ERROR);
	if (why)
		cr_assert_fail("%s", why);
	const char *url = getenv(ENV_URL);
	cr_assert(url, "no ClickHouse server: run the suite through Criterion's runner");
	return url;
}

static void admin_sql(const char *sql)
{
	struct clickhouse_config c = {.url = server_url()};
	struct clickhouse *ch;
	struct perr err = {0};
	cr_assert_eq(clickhouse_new(&c, &ch, &err), 0, "%s", err.msg);
	int rc = clickhouse_exec(ch, sql, NULL, 0, NULL, &err);
	clickhouse_free(ch);
	cr_assert_eq(rc, 0, "%s: %s", sql, err.msg);
}

/* Each test process works in a database of its own. */
static char test_db[32];

static const char *fresh_db(void)
{
	snprintf(test_db, sizeof test_db, "t_%d", (int)getpid());
	char sql[96];
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", test_db);
	admin_sql(sql);
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", test_db);
	admin_sql(sql);
	return test_db;
}

static struct warehouse plane_on(const char *url, const char *user, const char *secret,
				 const char *db, int timeout_ms)
{
	struct proof_remote r = {url, user, secret, db, timeout_ms};
	struct warehouse w = {0};
	struct perr err = {0};
	cr_assert_eq(warehouse_clickhouse_open(&r, &w, &err), 0, "%s", err.msg);
	cr_assert_str_eq(w.ops->name, "clickhouse");
	return w;
}

static struct proof_fact fact(const char *proposal, const char *event, long long at)
{
	struct proof_fact f;
	memset(&f, 0, sizeof f);
	snprintf(f.proposal, sizeof f.proposal, "%s", proposal);
	snprintf(f.project, sizeof f.project, "atlas");
	snprintf(f.kind, sizeof f.kind, "rotate-deploy-key");
	snprintf(f.event, sizeof f.event, "%s", event);
	f.at = at;
	snprintf(f.actor, sizeof f.actor, "ada");
	return f;
}

struct got {
	struct proof_fact f[64];
	int n;
	int stop_after; /* 0: never */
};

static int collect(void *arg, const struct proof_fact *f)
{
	struct got *g = arg;
	if (g->n < 64)
		g->f[g->n++] = *f;
	return g->stop_after && g->n >= g->stop_after ? -1 : 0;
}

static void record_ok(struct warehouse *w, const struct proof_fact *f)
{
	struct perr err = {0};
	cr_assert_eq(w->ops->record(w->impl, f, &err), 0, "record: %s", err.msg);
}

static struct got facts_ok(struct warehouse *w, const char *proposal)
{
	struct got g = {.n = 0};
	struct perr err = {0};
	cr_assert_eq(w->ops->facts(w->impl, proposal, collect, &g, &err), 0, "facts: %s", err.msg);
	return g;
}

static void assert_same_fact(const struct proof_fact *a, const struct proof_fact *b)
{
	cr_assert_str_eq(a->proposal, b->proposal);
	cr_assert_str_eq(a->project, b->project);
	cr_assert_str_eq(a->kind, b->kind);
	cr_assert_str_eq(a->event, b->event);
	cr_assert_eq(a->at, b->at, "at %lld, want %lld", a->at, b->at);
	cr_assert_str_eq(a->actor, b->actor);
	cr_assert_str_eq(a->artifact, b->artifact);
	cr_assert_str_eq(a->digest, b->digest);
}

/* A message must name no address, port, user or key. */
static void assert_clean(const char *msg, const char *port)
{
	const char *bad[] = {"127.0.0.1", "localhost", "http:", "https:", port,
			     TESTER_USER, TESTER_KEY, READER_USER, READER_KEY, "wrong-key",
			     "nobody-here", "hunter2", "alice"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert(!bad[i] || !strstr(msg, bad[i]), "message \"%s\" names \"%s\"", msg,
			  bad[i]);
}

static const char *port_of_url(const char *url)
{
	const char *colon = strrchr(url, ':');
	return colon ? colon + 1 : NULL;
}

/* ------------------------------------------------------------------ */
/* Quoting (pure) */

static const char *quoted(const char *s, size_t len)
{
	static char out[4096];
	struct buf b = BUF_INIT;
	struct perr err = {0};
	cr_assert_eq(clickhouse_quote(&b, s, len, "value", &err), 0, "%s", err.msg);
	snprintf(out, sizeof out, "%s", buf_cstr(&b));
	buf_free(&b);
	return out;
}

Test(clickhouse, plain_text_is_wrapped_in_single_quotes)
{
	cr_assert_str_eq(quoted("p-1", 3), "'p-1'");
	cr_assert_str_eq(quoted("", 0), "''");
	cr_assert_str_eq(quoted("a \"b\" {x:String} ?", 18), "'a \"b\" {x:String} ?'");
}

Test(clickhouse, quote_and_backslash_are_escaped_with_a_backslash)
{
	cr_assert_str_eq(quoted("it's", 4), "'it\\'s'");
	cr_assert_str_eq(quoted("a\\b", 3), "'a\\\\b'");
	cr_assert_str_eq(quoted("\\'", 2), "'\\\\\\''");
	cr_assert_str_eq(quoted("''", 2), "'\\'\\''");
}

Test(clickhouse, control_bytes_are_escaped_and_utf8_passes_through)
{
	cr_assert_str_eq(quoted("\n\t\r\b\f", 5), "'\\n\\t\\r\\b\\f'");
	cr_assert_str_eq(quoted("\x01\x1f\x7f", 3), "'\\x01\\x1F\\x7F'");
	cr_assert_str_eq(quoted("é€😀日本", strlen("é€😀日本")), "'é€😀日本'");
}

Test(clickhouse, a_nul_byte_is_refused_and_the_buffer_is_left_as_it_was)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "SELECT ");
	struct perr err = {0};
	cr_assert_eq(clickhouse_quote(&b, "a\0b", 3, "proposal", &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "proposal");
	cr_assert(strstr(err.msg, "NUL") && strstr(err.msg, "byte 1"), "%s", err.msg);
	cr_assert_str_eq(buf_cstr(&b), "SELECT ");
	cr_assert_eq(b.len, 7);
	buf_free(&b);
}

Test(clickhouse, invalid_utf8_is_refused_with_its_offset)
{
	static const struct {
		const char *s;
		size_t at;
	} bad[] = {
		{"\x80", 0},                 /* a lone continuation byte */
		{"ok\xC3", 2},               /* cut at the end */
		{"\xC3(", 0},                /* a lead byte without its continuation */
		{"\xC0\xAF", 0},             /* overlong '/' */
		{"\xC1\xBF", 0},             /* overlong */
		{"\xE0\x80\xAF", 0},         /* overlong, three bytes */
		{"\xF0\x80\x80\xAF", 0},     /* overlong, four bytes */
		{"\xED\xA0\x80", 0},         /* a surrogate, U+D800 */
		{"\xED\xBF\xBF", 0},         /* a surrogate, U+DFFF */
		{"\xF4\x90\x80\x80", 0},     /* U+110000 */
		{"\xF5\x80\x80\x80", 0},     /* beyond Unicode */
		{"abc\xFF", 3},
		{"\xE2\x82", 0},             /* € cut short */
		{"x\xE2\x28\xA1", 1},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct buf b = BUF_INIT;
		struct perr err = {0};
		cr_assert_eq(clickhouse_quote(&b, bad[i].s, strlen(bad[i].s), "actor", &err),
			     PERR_INVALID, "case %zu was accepted", i);
		char want[32];
		snprintf(want, sizeof want, "byte %zu", bad[i].at);
		cr_assert(strstr(err.msg, "UTF-8") && strstr(err.msg, want), "case %zu: %s", i,
			  err.msg);
		cr_assert_str_eq(err.field, "actor");
		cr_assert_eq(b.len, 0);
		buf_free(&b);
	}
}

Test(clickhouse, the_edges_of_utf8_are_accepted)
{
	static const char *const good[] = {
		"\xC2\x80",         /* U+0080 */
		"\xDF\xBF",         /* U+07FF */
		"\xE0\xA0\x80",     /* U+0800 */
		"\xED\x9F\xBF",     /* U+D7FF */
		"\xEE\x80\x80",     /* U+E000 */
		"\xEF\xBF\xBF",     /* U+FFFF */
		"\xF0\x90\x80\x80", /* U+10000 */
		"\xF4\x8F\xBF\xBF", /* U+10FFFF */
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		char want[16];
		snprintf(want, sizeof want, "'%s'", good[i]);
		cr_assert_str_eq(quoted(good[i], strlen(good[i])), want, "case %zu", i);
	}
}

/* Reads a literal the way ClickHouse's lexer does. Returns the bytes it
 * stands for and where it ended; -1 if it is not one literal. */
static int unquote(const char *q, size_t qlen, char *out, size_t *olen, size_t *end)
{
	if (qlen < 2 || q[0] != '\'')
		return -1;
	size_t o = 0;
	for (size_t i = 1; i < qlen; i++) {
		char c = q[i];
		if (c == '\'') {
			*olen = o;
			*end = i;
			return 0;
		}
		if (c != '\\') {
			out[o++] = c;
			continue;
		}
		if (++i >= qlen)
			return -1;
		switch (q[i]) {
		case 'n': out[o++] = '\n'; break;
		case 't': out[o++] = '\t'; break;
		case 'r': out[o++] = '\r'; break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case '0': out[o++] = '\0'; break;
		case 'x': {
			if (i + 2 >= qlen)
				return -1;
			char hex[3] = {q[i + 1], q[i + 2], 0};
			out[o++] = (char)strtol(hex, NULL, 16);
			i += 2;
			break;
		}
		default: out[o++] = q[i]; break; /* \\ \' and any other: the byte itself */
		}
	}
	return -1;
}

Test(clickhouse, no_value_can_end_the_literal_early)
{
	static const char *const attempts[] = {
		"x' OR '1'='1", "x'; DROP TABLE portal_lifecycle_facts; --", "\\' OR 1 --",
		"\\\\'", "'", "\\", "x\\", "') UNION ALL SELECT 1 --", "\n' OR 1\n--",
	};
	char buf_in[256], buf_out[256];
	uint64_t rng = 42;
	for (int round = 0; round < 2000 + (int)(sizeof attempts / sizeof attempts[0]); round++) {
		const char *s;
		size_t len;
		if (round < (int)(sizeof attempts / sizeof attempts[0])) {
			s = attempts[round];
			len = strlen(s);
		} else {
			/* random text, heavy on the characters that matter */
			static const char *const parts[] = {"'", "\\", "a", "\n", "\x01", "\x7f",
							    "é", "😀", "\\'", "''", " ", "x"};
			len = 0;
			int n = (int)((rng = rng * 6364136223846793005ULL + 1) >> 60);
			for (int k = 0; k < n; k++) {
				rng = rng * 6364136223846793005ULL + 1;
				const char *p = parts[(rng >> 33) % (sizeof parts / sizeof parts[0])];
				memcpy(buf_in + len, p, strlen(p));
				len += strlen(p);
			}
			s = buf_in;
		}
		struct buf b = BUF_INIT;
		struct perr err = {0};
		cr_assert_eq(clickhouse_quote(&b, s, len, "v", &err), 0, "%s", err.msg);
		size_t olen = 0, end = 0;
		cr_assert_eq(unquote(b.data, b.len, buf_out, &olen, &end), 0, "not a literal: %s",
			     b.data);
		cr_assert_eq(end, b.len - 1, "the literal %s ends at %zu of %zu", b.data, end, b.len);
		cr_assert_eq(olen, len);
		cr_assert(memcmp(buf_out, s, len) == 0, "round trip of %s", b.data);
		buf_free(&b);
	}
}

/* ------------------------------------------------------------------ */
/* Answers (pure) */

Test(clickhouse, an_18_16_exception_gives_its_code_and_message)
{
	const char *body = "Code: 60, e.displayText() = DB::Exception: Table default.x doesn't "
			   "exist., e.what() = DB::Exception\n";
	char text[128];
	cr_assert_eq(clickhouse_exception(body, strlen(body), text, sizeof text), 60);
	cr_assert_str_eq(text, "Table default.x doesn't exist.");

	const char *multi = "Code: 27, e.displayText() = DB::Exception: Cannot parse input: "
			    "expected \" before: x\"}: (at row 1)\n, e.what() = DB::Exception\n";
	cr_assert_eq(clickhouse_exception(multi, strlen(multi), text, sizeof text), 27);
	cr_assert_str_eq(text, "Cannot parse input: expected \" before: x\"}: (at row 1)");
}

Test(clickhouse, a_newer_exception_gives_its_code_and_message)
{
	const char *body = "Code: 60. DB::Exception: Table default.x does not exist. "
			   "(UNKNOWN_TABLE) (version 24.3.1.2672 (official build))\n";
	char text[128];
	cr_assert_eq(clickhouse_exception(body, strlen(body), text, sizeof text), 60);
	cr_assert_str_eq(text, "Table default.x does not exist. (UNKNOWN_TABLE)");
}

Test(clickhouse, an_exception_after_rows_is_found_and_rows_alone_are_not_one)
{
	const char *tail = "{\"n\":\"1\"}\n{\"n\":\"2\"}\nCode: 395, e.displayText() = "
			   "DB::Exception: Value passed to 'throwIf' function is non zero, "
			   "e.what() = DB::Exception\n";
	char text[128];
	cr_assert_eq(clickhouse_exception(tail, strlen(tail), text, sizeof text), 395);
	cr_assert_str_eq(text, "Value passed to 'throwIf' function is non zero");

	const char *rows = "{\"s\":\"Code: 5, not an error\"}\n{\"s\":\"x\"}\n";
	cr_assert_eq(clickhouse_exception(rows, strlen(rows), text, sizeof text), 0);
	cr_assert_str_eq(text, "");
	cr_assert_eq(clickhouse_exception("Codex: 1,", 9, NULL, 0), 0);
	cr_assert_eq(clickhouse_exception("Code: x,", 8, NULL, 0), 0);
	cr_assert_eq(clickhouse_exception("Code: 60", 8, NULL, 0), 0);
	cr_assert_eq(clickhouse_exception("", 0, NULL, 0), 0);
}

Test(clickhouse, a_long_exception_is_cut_on_a_character_boundary)
{
	const char *body = "Code: 1. DB::Exception: ééééééééé\x01\xff tail";
	char text[12];
	cr_assert_eq(clickhouse_exception(body, strlen(body), text, sizeof text), 1);
	cr_assert_str_eq(text, "ééééé"); /* 10 bytes: a sixth é does not fit */
	char all[64];
	clickhouse_exception(body, strlen(body), all, sizeof all);
	cr_assert_str_eq(all, "ééééééééé ? tail");
}

Test(clickhouse, integers_are_read_bare_or_quoted_within_64_bits)
{
	static const struct {
		const char *json;
		int ok;
		long long want;
	} cases[] = {
		{"1700000000000", 1, 1700000000000LL},
		{"\"1700000000000\"", 1, 1700000000000LL},
		{"\"9223372036854775807\"", 1, INT64_MAX},
		{"\"-9223372036854775808\"", 1, INT64_MIN},
		{"-9223372036854775808", 1, INT64_MIN},
		{"\"9007199254740993\"", 1, 9007199254740993LL},
		{"\"9223372036854775808\"", 0, 0},
		{"\"12a\"", 0, 0},
		{"\"\"", 0, 0},
		{"\" 1\"", 0, 0},
		{"\"+1\"", 0, 0},
		{"\"-\"", 0, 0},
		{"1.5", 0, 0},
		{"null", 0, 0},
		{"true", 0, 0},
		{"[1]", 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
		cr_assert(v, "case %zu does not parse", i);
		long long got = 0;
		int rc = clickhouse_json_int64(v, &got);
		json_decref(v);
		cr_assert_eq(rc == 0, cases[i].ok, "case %s", cases[i].json);
		if (cases[i].ok)
			cr_assert_eq(got, cases[i].want, "case %s: %lld", cases[i].json, got);
	}
}

/* ------------------------------------------------------------------ */
/* Opening and arguments (no I/O) */

static struct perr open_fails(const struct proof_remote *r)
{
	struct warehouse w = {0};
	struct perr err = {0};
	cr_assert_eq(warehouse_clickhouse_open(r, &w, &err), PERR_INVALID, "opened %s",
		     r->url ? r->url : "(null)");
	cr_assert_null(w.ops);
	return err;
}

Test(clickhouse, open_names_the_url_when_it_is_empty_or_not_http)
{
	const char *bad[] = {NULL, "", "ftp://ch:8123", "127.0.0.1:8123", "file:///etc/passwd",
			     "http://", "http://:8123", "http://ch 1:8123", "http://ch:8123/\n"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct proof_remote r = {.url = bad[i]};
		struct perr err = open_fails(&r);
		cr_assert_str_eq(err.field, "url", "case %zu: %s", i, err.msg);
		cr_assert(err.msg[0]);
	}
	struct warehouse w = {0};
	cr_assert_eq(warehouse_clickhouse_open(NULL, &w, NULL), PERR_INVALID);
}

Test(clickhouse, open_refuses_credentials_a_query_or_a_fragment_in_the_url)
{
	const char *bad[] = {"http://alice:hunter2@ch:8123", "http://alice@ch:8123",
			     "http://ch:8123/?user=alice&password=hunter2", "http://ch:8123/#x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct proof_remote r = {.url = bad[i]};
		struct perr err = open_fails(&r);
		cr_assert_str_eq(err.field, "url");
		assert_clean(err.msg, NULL);
	}
}

Test(clickhouse, open_refuses_control_characters_in_the_credentials)
{
	struct proof_remote r = {.url = "http://ch:8123", .user = "a\r\nX-Evil: 1"};
	cr_assert_str_eq(open_fails(&r).field, "user");
	r = (struct proof_remote){.url = "http://ch:8123", .user = "a", .secret = "k\nX-Evil: 1"};
	cr_assert_str_eq(open_fails(&r).field, "secret");
	r = (struct proof_remote){.url = "http://ch:8123", .database = "db\r\n"};
	cr_assert_str_eq(open_fails(&r).field, "database");
}

Test(clickhouse, open_refuses_a_negative_timeout_and_does_no_io)
{
	struct proof_remote r = {.url = "http://127.0.0.1:1", .timeout_ms = -1};
	cr_assert_str_eq(open_fails(&r).field, "timeout_ms");
	/* nothing listens on port 1: opening still succeeds, as it does no I/O */
	struct warehouse w = plane_on("HTTPS://127.0.0.1:1/prefix/", "u", "k", "db", 0);
	warehouse_close(&w);
	cr_assert_null(w.ops);
	warehouse_close(&w); /* a zeroed plane closes too */
}

Test(clickhouse, record_and_facts_refuse_bad_arguments_before_any_request)
{
	/* port 1 refuses: an argument error must come before any request */
	struct warehouse w = plane_on("http://127.0.0.1:1", NULL, NULL, NULL, 0);
	struct perr err = {0};
	struct proof_fact f = fact("p-1", "submitted", 1);
	snprintf(f.actor, sizeof f.actor, "bad \xC3(");
	cr_assert_eq(w.ops->record(w.impl, &f, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "actor");
	f = fact("p-1", "submitted", 1);
	memset(f.digest, 'a', sizeof f.digest); /* not terminated */
	cr_assert_eq(w.ops->record(w.impl, &f, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "digest");
	f = fact("", "submitted", 1);
	cr_assert_eq(w.ops->record(w.impl, &f, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "proposal");
	f = fact("p-1", "", 1);
	cr_assert_eq(w.ops->record(w.impl, &f, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "event");
	cr_assert_eq(w.ops->record(w.impl, NULL, &err), PERR_INVALID);

	cr_assert_eq(w.ops->facts(w.impl, "", collect, NULL, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "proposal");
	cr_assert_eq(w.ops->facts(w.impl, NULL, collect, NULL, &err), PERR_INVALID);
	cr_assert_eq(w.ops->facts(w.impl, "p-\xff", collect, NULL, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "proposal");
	char longid[PROOF_ID_MAX + 1];
	memset(longid, 'p', PROOF_ID_MAX);
	longid[PROOF_ID_MAX] = '\0';
	cr_assert_eq(w.ops->facts(w.impl, longid, collect, NULL, &err), PERR_INVALID);
	cr_assert_str_eq(err.field, "proposal");
	warehouse_close(&w);
}

/* ------------------------------------------------------------------ */
/* The wire, against a fake server: it answers EXISTS with "the table
 * exists" and every other statement with fake.status and fake.answer. */

#define FAKE_REQS 8

struct fake_req {
	char uri[512], user[64], key[64], ctype[64];
	int post, has_auth;
	struct buf body;
};

static struct {
	struct loopback_http srv;
	char url[64];
	pthread_mutex_t mu;
	int n;
	struct fake_req req[FAKE_REQS];
	int status;
	char *answer;
	size_t answer_len;
} fake = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void copy_header(char *dst, size_t cap, struct evkeyvalq *h, const char *name)
{
	const char *v = evhttp_find_header(h, name);
	snprintf(dst, cap, "%s", v ? v : "");
}

static void fake_on_request(struct evhttp_request *req, void *arg)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	size_t n = evbuffer_get_length(in);
	char *body = malloc(n + 1);
	evbuffer_copyout(in, body, n);
	body[n] = '\0';
	pthread_mutex_lock(&fake.mu);
	if (fake.n < FAKE_REQS) {
		struct fake_req *r = &fake.req[fake.n++];
		snprintf(r->uri, sizeof r->uri, "%s", evhttp_request_get_uri(req));
		copy_header(r->user, sizeof r->user, h, "X-ClickHouse-User");
		copy_header(r->key, sizeof r->key, h, "X-ClickHouse-Key");
		copy_header(r->ctype, sizeof r->ctype, h, "Content-Type");
		r->has_auth = evhttp_find_header(h, "Authorization") != NULL;
		r->post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;
		buf_append(&r->body, body, n);
	}
	int exists = strncmp(body, "EXISTS", 6) == 0;
	int status = fake.status;
	pthread_mutex_unlock(&fake.mu);
	free(body);

	struct evbuffer *out = evbuffer_new();
	if (exists) {
		evbuffer_add_printf(out, "{\"result\":1}\n");
		status = 200;
	} else if (fake.answer) {
		evbuffer_add(out, fake.answer, fake.answer_len);
	}
	evhttp_send_reply(req, status, status < 300 ? "OK" : "No", out);
	evbuffer_free(out);
}

static void fake_answer(int status, const char *answer)
{
	fake.status = status;
	free(fake.answer);
	fake.answer = strdup(answer);
	fake.answer_len = strlen(answer);
}

static void fake_start(void)
{
	loopback_http_open(&fake.srv);
	evhttp_set_gencb(fake.srv.http, fake_on_request, NULL);
	snprintf(fake.url, sizeof fake.url, "http://127.0.0.1:%d", fake.srv.port);
	fake_answer(200, "");
	loopback_http_run(&fake.srv);
}

static void fake_stop(void)
{
	loopback_http_close(&fake.srv);
	for (int i = 0; i < FAKE_REQS; i++)
		buf_free(&fake.req[i].body);
	free(fake.answer);
	fake.answer = NULL;
}

Test(clickhouse, credentials_travel_only_in_headers_and_the_database_in_the_url,
     .init = fake_start, .fini = fake_stop)
{
	struct warehouse w = plane_on(fake.url, "alice", "hunter2", "wh db", 0);
	fake_answer(200, "");
	struct got g = facts_ok(&w, "p-1");
	cr_assert_eq(g.n, 0);
	warehouse_close(&w);

	cr_assert_eq(fake.n, 2, "EXISTS, then the SELECT");
	for (int i = 0; i < fake.n; i++) {
		cr_assert(fake.req[i].post, "request %d is not a POST", i);
		cr_assert_str_eq(fake.req[i].uri, "/?database=wh%20db&wait_end_of_query=1");
		cr_assert_str_eq(fake.req[i].user, "alice");
		cr_assert_str_eq(fake.req[i].key, "hunter2");
		cr_assert(!fake.req[i].has_auth, "no Basic auth beside the headers");
		cr_assert(strstr(fake.req[i].ctype, "text/plain"), "%s", fake.req[i].ctype);
	}
	cr_assert_str_eq(buf_cstr(&fake.req[0].body),
			 "EXISTS TABLE portal_lifecycle_facts FORMAT JSONEachRow");
	cr_assert_str_eq(buf_cstr(&fake.req[1].body),
			 "SELECT proposal, project, kind, event, at, actor, artifact, digest FROM "
			 "portal_lifecycle_facts WHERE proposal = 'p-1' ORDER BY at, recorded "
			 "FORMAT JSONEachRow");
}

Test(clickhouse, consecutive_statements_share_one_connection, .init = fake_start,
     .fini = fake_stop)
{
	struct warehouse w = plane_on(fake.url, "", NULL, NULL, 0);
	facts_ok(&w, "p-1");
	facts_ok(&w, "p-2");
	warehouse_close(&w);
	cr_assert_geq(fake.n, 3, "%d statements", fake.n);
	cr_assert_eq(atomic_load(&fake.srv.connections), 1, "%d connections for %d statements",
		     atomic_load(&fake.srv.connections), fake.n);
}

Test(clickhouse, without_credentials_no_credential_header_is_sent, .init = fake_start,
     .fini = fake_stop)
{
	struct warehouse w = plane_on(fake.url, "", NULL, NULL, 0);
	facts_ok(&w, "p-1");
	warehouse_close(&w);
	cr_assert_eq(fake.n, 2);
	cr_assert_str_eq(fake.req[1].uri, "/?database=default&wait_end_of_query=1");
	cr_assert_str_eq(fake.req[1].user, "");
	cr_assert_str_eq(fake.req[1].key, "");
}

Test(clickhouse, a_fact_is_inserted_as_one_json_line, .init = fake_start, .fini = fake_stop)
{
	struct warehouse w = plane_on(fake.url, NULL, NULL, NULL, 0);
	struct proof_fact f = fact("p-'1", "executed", 1700000000123LL);
	snprintf(f.artifact, sizeof f.artifact, "ev-1");
	snprintf(f.digest, sizeof f.digest, "sha256:%064d", 0);
	snprintf(f.actor, sizeof f.actor, "O'Brien \"x\" \\ é\n");
	record_ok(&w, &f);
	record_ok(&w, &f);
	warehouse_close(&w);

	cr_assert_eq(fake.n, 3, "EXISTS once, then two INSERTs");
	long long prev = 0;
	for (int i = 1; i < 3; i++) {
		const char *body = buf_cstr(&fake.req[i].body);
		static const char head[] = "INSERT INTO portal_lifecycle_facts FORMAT JSONEachRow\n";
		cr_assert(strncmp(body, head, strlen(head)) == 0, "%s", body);
		const char *line = body + strlen(head);
		cr_assert_null(strchr(line, '\n'), "one line: %s", line);
		json_t *row = json_loads(line, 0, NULL);
		cr_assert(json_is_object(row), "%s", line);
		cr_assert_str_eq(json_string_value(json_object_get(row, "proposal")), "p-'1");
		cr_assert_str_eq(json_string_value(json_object_get(row, "actor")), f.actor);
		cr_assert_str_eq(json_string_value(json_object_get(row, "digest")), f.digest);
		cr_assert_eq(json_integer_value(json_object_get(row, "at")), 1700000000123LL);
		long long rec = json_integer_value(json_object_get(row, "recorded"));
		cr_assert_gt(rec, prev, "recorded increases: %lld after %lld", rec, prev);
		prev = rec;
		cr_assert_eq(json_object_size(row), 9);
		json_decref(row);
	}
}

Test(clickhouse, integers_arrive_quoted_or_bare_and_both_are_read, .init = fake_start,
     .fini = fake_stop)
{
	struct warehouse w = plane_on(fake.url, NULL, NULL, NULL, 0);
	fake_answer(200,
		    "{\"proposal\":\"p-1\",\"project\":\"atlas\",\"kind\":\"k\",\"event\":\"submitted\","
		    "\"at\":\"9223372036854775807\",\"actor\":\"ada\",\"artifact\":\"\",\"digest\":\"\"}\n"
		    "{\"proposal\":\"p-1\",\"project\":\"atlas\",\"kind\":\"k\",\"event\":\"approved\","
		    "\"at\":1700000000000,\"actor\":\"bo\",\"artifact\":\"\",\"digest\":\"\"}\n");
	struct got g = facts_ok(&w, "p-1");
	cr_assert_eq(g.n, 2);
	cr_assert_eq(g.f[0].at, INT64_MAX);
	cr_assert_str_eq(g.f[0].event, "submitted");
	cr_assert_eq(g.f[1].at, 1700000000000LL);
	cr_assert_str_eq(g.f[1].actor, "bo");

	/* a callback that stops the walk is not an error */
	struct got one = {.stop_after = 1};
	struct perr err = {0};
	cr_assert_eq(w.ops->facts(w.impl, "p-1", collect, &one, &err), 0);
	cr_assert_eq(one.n, 1);
	warehouse_close(&w);
}

Test(clickhouse, an_error_after_a_200_is_an_error_and_no_fact_is_reported, .init = fake_start,
     .fini = fake_stop)
{
	struct warehouse w = plane_on(fake.url, NULL, NULL, NULL, 0);
	fake_answer(200,
		    "{\"proposal\":\"p-1\",\"project\":\"a\",\"kind\":\"k\",\"event\":\"submitted\","
		    "\"at\":\"1\",\"actor\":\"ada\",\"artifact\":\"\",\"digest\":\"\"}\n"
		    "Code: 395, e.displayText() = DB::Exception: Value passed to 'throwIf' "
		    "function is non zero, e.what() = DB::Exception\n");
	struct got g = {0};
	struct perr err = {0};
	cr_assert_eq(w.ops->facts(w.impl, "p-1", collect, &g, &err), PERR_UNAVAILABLE);
	cr_assert_eq(g.n, 0);
	cr_assert(strstr(err.msg, "Code: 395") && strstr(err.msg, "throwIf"), "%s", err.msg);
	warehouse_close(&w);
}

Test(clickhouse, a_status_without_a_clickhouse_error_names_only_the_status, .init = fake_start,
     .fini = fake_stop)
{
	struct warehouse w = plane_on(fake.url, NULL, NULL, NULL, 0);
	fake_answer(502, "<html>upstream 10.0.0.5:8123 unreachable</html>");
	struct perr err = {0};
	cr_assert_eq(w.ops->facts(w.impl, "p-1", collect, NULL, &err), PERR_UNAVAILABLE);
	cr_assert_str_eq(err.msg, "the warehouse answered HTTP 502");

	fake_answer(403, "");
	cr_assert_eq(w.ops->facts(w.impl, "p-1", collect, NULL, &err), PERR_UNAVAILABLE);
	cr_assert_str_eq(err.msg, "the warehouse refused the credentials (HTTP 403)");
	warehouse_close(&w);
}

Test(clickhouse, a_quoted_exception_is_cleared_of_the_url_and_credentials, .init = fake_start,
     .fini = fake_stop)
{
	struct warehouse w = plane_on(fake.url, "alice", "hunter2-key", NULL, 0);
	char body[512];
	snprintf(body, sizeof body,
		 "Code: 201, e.displayText() = DB::Exception: Quota for user alice (key "
		 "hunter2-key) at %s/ has been exceeded; table alice.t and alicex stay, "
		 "e.what() = DB::Exception\n",
		 fake.url);
	fake_answer(500, body);
	struct perr err = {0};
	cr_assert_eq(w.ops->facts(w.impl, "p-1", collect, NULL, &err), PERR_UNAVAILABLE);
	cr_assert(strstr(err.msg, "ClickHouse refused the query: Code: 201: Quota for user <user>"),
		  "%s", err.msg);
	cr_assert(strstr(err.msg, "<secret>") && strstr(err.msg, "<url>"), "%s", err.msg);
	cr_assert(strstr(err.msg, "alice.t and alicex"), "names that only contain it stay: %s",
		  err.msg);
	cr_assert_null(strstr(err.msg, "hunter2"), "%s", err.msg);
	cr_assert_null(strstr(err.msg, "127.0.0.1"), "%s", err.msg);

	fake_answer(401, "Code: 193, e.displayText() = DB::Exception: Wrong password for user "
			 "alice, e.what() = DB::Exception\n");
	cr_assert_eq(w.ops->facts(w.impl, "p-1", collect, NULL, &err), PERR_UNAVAILABLE);
	cr_assert_str_eq(err.msg, "ClickHouse refused the credentials (Code: 193)");
	warehouse_close(&w);
}

Test(clickhouse, a_row_that_does_not_fit_or_does_not_parse_is_an_error, .init = fake_start,
     .fini = fake_stop)
{
	struct warehouse w = plane_on(fake.url, NULL, NULL, NULL, 0);
	struct perr err = {0};
	char row[512];
	char actor[100];
	memset(actor, 'a', sizeof actor - 1);
	actor[sizeof actor - 1] = '\0';
	snprintf(row, sizeof row,
		 "{\"proposal\":\"p-1\",\"project\":\"a\",\"kind\":\"k\",\"event\":\"submitted\","
		 "\"at\":\"1\",\"actor\":\"%s\",\"artifact\":\"\",\"digest\":\"\"}\n",
		 actor);
	fake_answer(200, row);
	cr_assert_eq(w.ops->facts(w.impl, "p-1", collect, NULL, &err), PERR_TOO_LARGE);
	cr_assert_str_eq(err.field, "actor");

	fake_answer(200, "not json\n");
	cr_assert_eq(w.ops->facts(w.impl, "p-1", collect, NULL, &err), PERR_UNAVAILABLE);

	fake_answer(200, "{\"proposal\":\"p-1\",\"at\":\"1\"}\n");
	cr_assert_eq(w.ops->facts(w.impl, "p-1", collect, NULL, &err), PERR_UNAVAILABLE);
	cr_assert_str_eq(err.field, "project");

	fake_answer(200, "{\"proposal\":\"p-1\",\"project\":\"a\",\"kind\":\"k\",\"event\":\"e\","
			 "\"at\":\"soon\",\"actor\":\"\",\"artifact\":\"\",\"digest\":\"\"}\n");
	cr_assert_eq(w.ops->facts(w.impl, "p-1", collect, NULL, &err), PERR_UNAVAILABLE);
	cr_assert_str_eq(err.field, "at");
	warehouse_close(&w);
}

Test(clickhouse, an_answer_over_the_limit_is_refused, .init = fake_start, .fini = fake_stop)
{
	struct warehouse w = plane_on(fake.url, NULL, NULL, NULL, 0);
	size_t n = CLICKHOUSE_ANSWER_MAX + 1;
	char *big = malloc(n + 1);
	memset(big, ' ', n);
	big[n] = '\0';
	fake_answer(200, big);
	free(big);
	struct perr err = {0};
	cr_assert_eq(w.ops->facts(w.impl, "p-1", collect, NULL, &err), PERR_TOO_LARGE);
	cr_assert(strstr(err.msg, "8 MiB"), "%s", err.msg);
	warehouse_close(&w);
}

Test(clickhouse, a_refused_connection_is_unavailable_and_names_no_address)
{
	int port = free_port();
	char url[64], ports[16];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	snprintf(ports, sizeof ports, "%d", port);
	struct warehouse w = plane_on(url, TESTER_USER, TESTER_KEY, NULL, 0);
	struct perr err = {0};
	struct proof_fact f = fact("p-1", "submitted", 1);
	cr_assert_eq(w.ops->record(w.impl, &f, &err), PERR_UNAVAILABLE);
	cr_assert(strncmp(err.msg, "the warehouse did not answer", 28) == 0, "%s", err.msg);
	assert_clean(err.msg, ports);
	cr_assert_eq(w.ops->facts(w.impl, "p-1", collect, NULL, &err), PERR_UNAVAILABLE);
	cr_assert(strncmp(err.msg, "the warehouse did not answer", 28) == 0, "%s", err.msg);
	warehouse_close(&w);
}

Test(clickhouse, a_server_that_does_not_answer_in_time_is_unavailable)
{
	/* a socket that listens but never accepts: connected, never answered */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof sa;
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	cr_assert_eq(listen(fd, 4), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(sa.sin_port));
	struct warehouse w = plane_on(url, NULL, NULL, NULL, 300);
	struct perr err = {0};
	long long t0 = clock_mono_us();
	cr_assert_eq(w.ops->facts(w.impl, "p-1", collect, NULL, &err), PERR_UNAVAILABLE);
	long long took_ms = (clock_mono_us() - t0) / 1000;
	cr_assert_str_eq(err.msg, "the warehouse did not answer within 300 ms");
	cr_assert(took_ms >= 250 && took_ms < 3000, "took %lld ms", took_ms);
	warehouse_close(&w);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* The plane against the real server */

Test(clickhouse, facts_come_back_ordered_by_at_then_by_recording)
{
	struct warehouse w = plane_on(server_url(), NULL, NULL, fresh_db(), 0);
	struct proof_fact in[] = {
		fact("p-1", "executed", 300), fact("p-1", "submitted", 100),
		fact("p-1", "approved", 200), fact("p-1", "approved-again", 200),
		fact("p-2", "submitted", 150),
	};
	snprintf(in[0].artifact, sizeof in[0].artifact, "ev-7");
	snprintf(in[0].digest, sizeof in[0].digest, "sha256:%064x", 7);
	for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
		record_ok(&w, &in[i]);
	struct got g = facts_ok(&w, "p-1");
	cr_assert_eq(g.n, 4);
	assert_same_fact(&g.f[0], &in[1]);
	assert_same_fact(&g.f[1], &in[2]);
	assert_same_fact(&g.f[2], &in[3]); /* the same at: in the order recorded */
	assert_same_fact(&g.f[3], &in[0]);
	g = facts_ok(&w, "p-2");
	cr_assert_eq(g.n, 1);
	assert_same_fact(&g.f[0], &in[4]);
	cr_assert_eq(facts_ok(&w, "p-3").n, 0);
	warehouse_close(&w);
}

Test(clickhouse, quotes_backslashes_unicode_and_control_bytes_survive)
{
	struct warehouse w = plane_on(server_url(), NULL, NULL, fresh_db(), 0);
	struct proof_fact f = fact("p-'q\\uote\"", "executed", 1);
	snprintf(f.project, sizeof f.project, "it's \"atlas\" \\ %s", "日本");
	snprintf(f.kind, sizeof f.kind, "{x:String} ?");
	snprintf(f.actor, sizeof f.actor, "Ünïcødé ✓ 😀 tab\there\nnl \x01\x1f\x7f end");
	snprintf(f.artifact, sizeof f.artifact, "\\x41 \\' \\\\ ''");
	snprintf(f.digest, sizeof f.digest, "sha256:%064d", 42);
	record_ok(&w, &f);
	struct got g = facts_ok(&w, f.proposal);
	cr_assert_eq(g.n, 1);
	assert_same_fact(&g.f[0], &f);
	warehouse_close(&w);
}

Test(clickhouse, a_proposal_id_that_tries_to_end_the_literal_matches_nothing)
{
	struct warehouse w = plane_on(server_url(), NULL, NULL, fresh_db(), 0);
	struct proof_fact f = fact("p-1", "submitted", 1);
	record_ok(&w, &f);
	const char *attempts[] = {
		"p-1' OR '1'='1",
		"p-1' OR 1 --",
		"p-1\\' OR 1 --",
		"x' UNION ALL SELECT proposal, project, kind, event, at, actor, artifact, digest "
		"FROM portal_lifecycle_facts --",
		"p-1'; DROP TABLE portal_lifecycle_facts; --",
		"p-1\n' OR 1\n--",
	};
	for (size_t i = 0; i < sizeof attempts / sizeof attempts[0]; i++) {
		struct got g = facts_ok(&w, attempts[i]);
		cr_assert_eq(g.n, 0, "%s matched %d facts", attempts[i], g.n);
	}
	struct got g = facts_ok(&w, "p-1");
	cr_assert_eq(g.n, 1, "the table is intact");
	warehouse_close(&w);
}

Test(clickhouse, the_full_int64_range_survives)
{
	struct warehouse w = plane_on(server_url(), NULL, NULL, fresh_db(), 0);
	struct proof_fact in[] = {
		fact("p-1", "max", INT64_MAX),
		fact("p-1", "past-double", 9007199254740993LL), /* 2^53 + 1 */
		fact("p-1", "min", INT64_MIN),
		fact("p-1", "zero", 0),
	};
	for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
		record_ok(&w, &in[i]);
	struct got g = facts_ok(&w, "p-1");
	cr_assert_eq(g.n, 4);
	assert_same_fact(&g.f[0], &in[2]);
	assert_same_fact(&g.f[1], &in[3]);
	assert_same_fact(&g.f[2], &in[1]);
	assert_same_fact(&g.f[3], &in[0]);
	warehouse_close(&w);
}

Test(clickhouse, every_byte_the_quoting_lets_through_reaches_the_server_unchanged)
{
	char value[256];
	size_t n = 0;
	for (int c = 1; c < 0x80; c++)
		value[n++] = (char)c;
	const char *utf8 = "é€😀\xF4\x8F\xBF\xBF";
	memcpy(value + n, utf8, strlen(utf8));
	n += strlen(utf8);

	struct buf sql = BUF_INIT;
	struct perr err = {0};
	buf_puts(&sql, "SELECT hex(");
	cr_assert_eq(clickhouse_quote(&sql, value, n, "value", &err), 0);
	buf_puts(&sql, ") AS h, length(");
	cr_assert_eq(clickhouse_quote(&sql, value, n, "value", &err), 0);
	buf_puts(&sql, ") AS n FORMAT JSONEachRow");

	struct clickhouse_config c = {.url = server_url()};
	struct clickhouse *ch;
	cr_assert_eq(clickhouse_new(&c, &ch, &err), 0, "%s", err.msg);
	struct buf out = BUF_INIT;
	cr_assert_eq(clickhouse_exec(ch, buf_cstr(&sql), NULL, 0, &out, &err), 0, "%s", err.msg);
	clickhouse_free(ch);

	char want[2 * sizeof value + 1];
	for (size_t i = 0; i < n; i++)
		snprintf(want + 2 * i, 3, "%02X", (unsigned char)value[i]);
	json_t *row = json_loads(buf_cstr(&out), JSON_DISABLE_EOF_CHECK, NULL);
	cr_assert(row, "%s", buf_cstr(&out));
	cr_assert_str_eq(json_string_value(json_object_get(row, "h")), want);
	long long len = 0;
	cr_assert_eq(clickhouse_json_int64(json_object_get(row, "n"), &len), 0);
	cr_assert_eq(len, (long long)n);
	json_decref(row);
	buf_free(&out);
	buf_free(&sql);
}

Test(clickhouse, a_wrong_key_or_unknown_user_is_unavailable_and_names_no_credential)
{
	const char *url = server_url();
	const char *db = fresh_db();
	struct {
		const char *user, *key;
	} who[] = {{TESTER_USER, "wrong-key-4f2a"}, {"nobody-here", "wrong-key-77"}};
	for (size_t i = 0; i < sizeof who / sizeof who[0]; i++) {
		struct warehouse w = plane_on(url, who[i].user, who[i].key, db, 0);
		struct perr err = {0};
		struct proof_fact f = fact("p-1", "submitted", 1);
		cr_assert_eq(w.ops->record(w.impl, &f, &err), PERR_UNAVAILABLE);
		cr_assert(strstr(err.msg, "refused the credentials"), "%s", err.msg);
		assert_clean(err.msg, port_of_url(url));
		cr_assert_eq(w.ops->facts(w.impl, "p-1", collect, NULL, &err), PERR_UNAVAILABLE);
		assert_clean(err.msg, port_of_url(url));
		warehouse_close(&w);
	}
}

Test(clickhouse, the_right_key_for_another_user_works)
{
	struct warehouse w = plane_on(server_url(), TESTER_USER, TESTER_KEY, fresh_db(), 0);
	struct proof_fact f = fact("p-1", "submitted", 5);
	record_ok(&w, &f);
	struct got g = facts_ok(&w, "p-1");
	cr_assert_eq(g.n, 1);
	assert_same_fact(&g.f[0], &f);
	warehouse_close(&w);
}

Test(clickhouse, a_dropped_table_is_an_error_not_an_empty_answer)
{
	const char *db = fresh_db();
	struct warehouse w = plane_on(server_url(), NULL, NULL, db, 0);
	struct proof_fact f = fact("p-1", "submitted", 1);
	record_ok(&w, &f);
	char sql[96];
	snprintf(sql, sizeof sql, "DROP TABLE %s.portal_lifecycle_facts", db);
	admin_sql(sql);
	struct perr err = {0};
	struct got g = {0};
	cr_assert_eq(w.ops->facts(w.impl, "p-1", collect, &g, &err), PERR_UNAVAILABLE);
	cr_assert_eq(g.n, 0);
	cr_assert(strstr(err.msg, "ClickHouse refused the query: Code: 60") &&
			  strstr(err.msg, "portal_lifecycle_facts"),
		  "%s", err.msg);
	assert_clean(err.msg, port_of_url(server_url()));
	cr_assert_eq(w.ops->record(w.impl, &f, &err), PERR_UNAVAILABLE);
	cr_assert(strstr(err.msg, "Code: 60"), "%s", err.msg);
	warehouse_close(&w);
}

Test(clickhouse, a_missing_database_is_an_error)
{
	struct warehouse w = plane_on(server_url(), NULL, NULL, "no_such_database", 0);
	struct perr err = {0};
	cr_assert_eq(w.ops->facts(w.impl, "p-1", collect, NULL, &err), PERR_UNAVAILABLE);
	cr_assert(strstr(err.msg, "Code: 81"), "%s", err.msg);
	warehouse_close(&w);
}

Test(clickhouse, a_new_warehouse_answers_no_facts_and_gets_its_table)
{
	const char *db = fresh_db();
	struct warehouse w = plane_on(server_url(), NULL, NULL, db, 0);
	cr_assert_eq(facts_ok(&w, "p-1").n, 0);
	warehouse_close(&w);
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT count() FROM %s.portal_lifecycle_facts", db);
	admin_sql(sql);
}

Test(clickhouse, an_account_that_may_only_read_reads_an_existing_table)
{
	const char *db = fresh_db();
	struct warehouse reader = plane_on(server_url(), READER_USER, READER_KEY, db, 0);
	struct perr err = {0};
	cr_assert_eq(reader.ops->facts(reader.impl, "p-1", collect, NULL, &err), PERR_UNAVAILABLE,
		     "a reader cannot create the table");
	cr_assert(strstr(err.msg, "Code: 164"), "%s", err.msg);
	assert_clean(err.msg, port_of_url(server_url()));

	struct warehouse writer = plane_on(server_url(), NULL, NULL, db, 0);
	struct proof_fact f = fact("p-1", "submitted", 1);
	record_ok(&writer, &f);
	warehouse_close(&writer);

	struct got g = facts_ok(&reader, "p-1");
	cr_assert_eq(g.n, 1);
	assert_same_fact(&g.f[0], &f);
	cr_assert_eq(reader.ops->record(reader.impl, &f, &err), PERR_UNAVAILABLE);
	cr_assert(strstr(err.msg, "Code: 164"), "%s", err.msg);
	warehouse_close(&reader);
}
