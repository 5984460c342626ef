/* exec: the local-program executor. The kind's argv template, filled from the
 * proposal's input, is run with fork + execve — never through a shell, so an
 * argument is one argument whatever it contains — in a clean environment
 * (PATH, LANG and PORTAL_PROPOSAL_ID only), stdin on /dev/null, stdout and
 * stderr captured together (EXEC_OUTPUT_MAX kept), in its own process group
 * so a timeout stops everything it started, and dying with the worker. It
 * does not retry. */
#include "exec/executor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* A kind without a timeout still ends. */
#define EXEC_DEFAULT_TIMEOUT_MS 60000
/* How often the wait loop looks at the clock, the cancel flag and the child. */
#define EXEC_TICK_MS 50

/* The child, between fork and execve: only async-signal-safe calls. Reports
 * an execve failure as its errno on status_fd. It dies with the worker
 * (parent): a worker killed with -9 cannot stop it at its timeout any more,
 * and the attempt that takes over the lease would otherwise run beside it. */
static void child(char *const argv[], char *const envp[], int devnull, int out_fd,
		  int status_fd, pid_t parent)
{
	setpgid(0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(127); /* the worker is already gone */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &dfl, NULL); /* SIGKILL, SIGSTOP and RT ones may refuse */
	if (dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		goto fail;
	/* Whatever another thread opened without O_CLOEXEC stays out of the
	 * child (kernels before 5.11 lack the flag: mark them one by one). */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
		for (int fd = 3; fd < 4096; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(argv[0], argv, envp);
fail:;
	int e = errno;
	ssize_t w = write(status_fd, &e, sizeof e);
	(void)w;
	_exit(127);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int exec_argv(char *const argv[], const char *proposal_id, int timeout_ms, int kill_grace_ms,
	      const atomic_int *cancel, struct exec_result *out)
{
	memset(out, 0, sizeof *out);
	if (!argv || !argv[0] || argv[0][0] != '/')
		return exec_fail(out, 0, "the command is not an absolute path");
	if (timeout_ms <= 0)
		timeout_ms = EXEC_DEFAULT_TIMEOUT_MS;
	if (kill_grace_ms <= 0)
		kill_grace_ms = EXEC_KILL_GRACE_MS;

	static char env_path[] = "PATH=/usr/bin:/bin";
	static char env_lang[] = "LANG=C.UTF-8";
	char env_id[32 + STORE_PROPOSAL_ID_MAX];
	snprintf(env_id, sizeof env_id, "PORTAL_PROPOSAL_ID=%s", proposal_id ? proposal_id : "");
	char *envp[] = {env_path, env_lang, env_id, NULL};

	unsigned char *buf = malloc(EXEC_OUTPUT_MAX);
	if (!buf)
		return exec_fail(out, 1, "out of memory for the command's output");
	int pout[2] = {-1, -1}, pstatus[2] = {-1, -1};
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(pstatus, O_CLOEXEC) < 0) {
		int e = errno;
		if (devnull >= 0)
			close(devnull);
		for (int i = 0; i < 2; i++) {
			if (pout[i] >= 0)
				close(pout[i]);
			if (pstatus[i] >= 0)
				close(pstatus[i]);
		}
		free(buf);
		char why[128];
		return exec_fail(out, 1, "cannot prepare the command: %s",
				 strerror_r(e, why, sizeof why));
	}

	/* No signal handler of this process may run in the child. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0)
		child(argv, envp, devnull, pout[1], pstatus[1], parent);
	int fork_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(devnull);
	close(pout[1]);
	close(pstatus[1]);
	if (pid < 0) {
		close(pout[0]);
		close(pstatus[0]);
		free(buf);
		char why[128];
		return exec_fail(out, 1, "cannot start the command: %s",
				 strerror_r(fork_errno, why, sizeof why));
	}
	setpgid(pid, pid); /* also here, so a kill right away reaches the group */

	/* EOF: execve succeeded (the pipe closed on exec); an int: it failed. */
	int exec_errno = 0;
	ssize_t r;
	do
		r = read(pstatus[0], &exec_errno, sizeof exec_errno);
	while (r < 0 && errno == EINTR);
	close(pstatus[0]);
	if (r == (ssize_t)sizeof exec_errno) {
		close(pout[0]);
		free(buf);
		int st;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		char why[128];
		return exec_fail(out, 0, "cannot run the command: %s",
				 strerror_r(exec_errno, why, sizeof why));
	}

	long long t0 = clock_mono_us(), deadline = t0 + (long long)timeout_ms * 1000;
	long long term_at = 0;
	size_t kept = 0;
	long long total = 0;
	int truncated = 0, pipe_open = 1, exited = 0, status = 0;
	int stopping = 0; /* 1: SIGTERM sent, 2: SIGKILL sent */
	int timed_out = 0, cancelled = 0;
	unsigned char chunk[65536];
	/* A program that exits but leaves a child holding the output open is
	 * waited for up to the timeout, then its whole group is stopped. */
	for (;;) {
		long long now = clock_mono_us();
		if (!stopping && (now >= deadline || (cancel && atomic_load(cancel)))) {
			if (now >= deadline)
				timed_out = 1;
			else
				cancelled = 1;
			kill(-pid, SIGTERM);
			stopping = 1;
			term_at = now;
		}
		if (stopping == 1 && now >= term_at + (long long)kill_grace_ms * 1000) {
			kill(-pid, SIGKILL);
			stopping = 2;
		}
		if (!exited) {
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w == pid)
				exited = 1;
		}
		/* Done when the program has exited and its output is all read; after
		 * SIGKILL, whatever still holds the pipe is not waited for. */
		if (exited && (!pipe_open || stopping == 2))
			break;
		if (!pipe_open) {
			sleep_ms(EXEC_TICK_MS / 5);
			continue;
		}
		struct pollfd pfd = {pout[0], POLLIN, 0};
		int pr = poll(&pfd, 1, EXEC_TICK_MS);
		if (pr <= 0)
			continue;
		r = read(pout[0], chunk, sizeof chunk);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			pipe_open = 0;
			continue;
		}
		total += r;
		size_t room = EXEC_OUTPUT_MAX - kept;
		size_t take = (size_t)r < room ? (size_t)r : room;
		memcpy(buf + kept, chunk, take);
		kept += take;
		if (take < (size_t)r)
			truncated = 1;
	}
	close(pout[0]);

	int exit_status = -1, sig = 0;
	if (WIFEXITED(status))
		exit_status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		sig = WTERMSIG(status), exit_status = 128 + sig;
	out->evidence = exec_evidence("exec", buf, kept, truncated);
	free(buf);
	if (out->evidence) {
		json_object_set_new(out->evidence, "exit_status", json_integer(exit_status));
		json_object_set_new(out->evidence, "output_bytes", json_integer(total));
		json_object_set_new(out->evidence, "duration_ms",
				    json_integer((clock_mono_us() - t0) / 1000));
		if (sig)
			json_object_set_new(out->evidence, "signal", json_integer(sig));
	}
	if (cancelled) {
		out->cancelled = 1;
		return exec_fail(out, 1, "stopped before it finished: the worker is shutting down");
	}
	if (timed_out)
		return exec_fail(out, 1, "the command did not finish within %d ms and was stopped",
				 timeout_ms);
	if (sig)
		return exec_fail(out, 1, "the command was ended by signal %d", sig);
	if (exit_status != 0)
		return exec_fail(out, 1, "the command exited with status %d", exit_status);
	out->ok = 1;
	return 0;
}

static int exec_run(const struct exec_job *job, struct exec_result *out)
{
	memset(out, 0, sizeof *out);
	const struct proposal_kind *k = job->kind;
	json_error_t jerr;
	const char *text = job->proposal->input;
	json_t *input = text && *text ? json_loads(text, 0, &jerr) : json_object();
	if (!input || !json_is_object(input)) {
		json_decref(input);
		return exec_fail(out, 0, "the proposal's input is not a JSON object");
	}
	char(*filled)[PROPOSAL_ARG_MAX * 2] = calloc(PROPOSAL_MAX_ARGV, sizeof *filled);
	if (!filled) {
		json_decref(input);
		return exec_fail(out, 1, "out of memory for the command's arguments");
	}
	struct perr err = {0};
	int n = proposal_argv(k, input, filled, PROPOSAL_MAX_ARGV, &err);
	json_decref(input);
	if (n <= 0) {
		free(filled);
		return exec_fail(out, 0, "the command of kind %s cannot be built: %s", k->name,
				 n < 0 ? err.msg : "its argv is empty");
	}
	char *argv[PROPOSAL_MAX_ARGV + 1];
	for (int i = 0; i < n; i++)
		argv[i] = filled[i];
	argv[n] = NULL;
	int timeout_ms = job->timeout_ms > 0 ? job->timeout_ms : k->timeout_ms;
	int rc = exec_argv(argv, job->proposal->id, timeout_ms, job->kill_grace_ms, job->cancel,
			   out);
	free(filled);
	return rc;
}

const struct executor_ops executor_exec = {"exec", exec_run};
