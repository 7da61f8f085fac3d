// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prep/deno core: spawn, time out, collect output, call back. Mirrors what
 * Slurm's run_command() does for prep/script (stdin /dev/null, stdout and
 * stderr on one pipe, own process group, SIGTERM then SIGKILL of the group
 * at the timeout, status 127 for a hook that cannot be executed) so shell
 * hooks behave the same under either plugin.
 */
#define _GNU_SOURCE
#include "prep_deno_core.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_TRACKED 8192
#define MAX_THREADS 4096

static pthread_mutex_t core_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t core_idle = PTHREAD_COND_INITIALIZER;
static int inflight;
/*
 * Hook threads are joined, not detached: a thread is still in this
 * library's code after its callback returns, so the library may only be
 * unloaded once pdc_shutdown() has joined them all.
 */
static struct {
	pthread_t tid;
	int used, done;
} threads[MAX_THREADS];
/* Process groups of running hooks, so fini can stop them. */
static pid_t running[MAX_TRACKED];

static void track(pid_t pg, int add)
{
	pthread_mutex_lock(&core_lock);
	for (int i = 0; i < MAX_TRACKED; i++) {
		if (add ? running[i] == 0 : running[i] == pg) {
			running[i] = add ? pg : 0;
			break;
		}
	}
	pthread_mutex_unlock(&core_lock);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *xstrdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int pdc_is_module(const char *path)
{
	const char *dot = strrchr(path, '.');
	const char *slash = strrchr(path, '/');

	if (!dot || (slash && dot < slash))
		return 0;
	return !strcmp(dot, ".ts") || !strcmp(dot, ".mts") ||
	       !strcmp(dot, ".js");
}

char **pdc_hook_argv(const pdc_config_t *cfg, const char *path)
{
	char **argv = calloc(8, sizeof(char *));
	char num[32];
	int n = 0;

	if (!argv)
		return NULL;
	if (!pdc_is_module(path)) {
		argv[n++] = strdup(path);
		return argv;
	}
	argv[n++] = strdup(cfg->runner ? cfg->runner : "");
	argv[n++] = strdup("run");
	argv[n++] = strdup(path);
	if (cfg->timeout_s >= 0) {
		snprintf(num, sizeof(num), "%d", cfg->timeout_s);
		argv[n++] = strdup("--timeout");
		argv[n++] = strdup(num);
	}
	if (cfg->heap_mb > 0) {
		snprintf(num, sizeof(num), "%d", cfg->heap_mb);
		argv[n++] = strdup("--heap-mb");
		argv[n++] = strdup(num);
	}
	return argv;
}

void pdc_free_argv(char **argv)
{
	if (!argv)
		return;
	for (int i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

static char **dup_strv(const char *const *v, size_t n)
{
	char **out = calloc(n + 1, sizeof(char *));

	for (size_t i = 0; out && i < n; i++)
		out[i] = strdup(v[i]);
	return out;
}

static size_t strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* Output of one hook, capped at PDC_MAX_OUTPUT. */
typedef struct {
	char *data;
	size_t len, cap;
	int truncated;
} outbuf_t;

static void out_append(outbuf_t *b, const char *p, size_t n)
{
	if (b->len + n > PDC_MAX_OUTPUT) {
		b->truncated = 1;
		n = PDC_MAX_OUTPUT - b->len;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *grown;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(grown = realloc(b->data, cap)))
			return;
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void close_from(int lowfd)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, lowfd, ~0U, 0) == 0)
		return;
#endif
	for (int fd = lowfd; fd < 65536; fd++)
		close(fd);
}

/* As run_command's _kill_pg: SIGTERM, a moment, then SIGKILL. */
static void kill_group(pid_t pg)
{
	killpg(pg, SIGTERM);
	usleep(10000);
	killpg(pg, SIGKILL);
}

/* A descriptor that polls readable when `pid` exits; -1 if unsupported. */
static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	return -1;
#endif
}

static char *fail_text(const char *exe, const char *why)
{
	char *text = NULL;

	if (asprintf(&text, "prep/deno: cannot execute %s: %s "
		     "(Run command failed - configuration error)\n",
		     exe, why) < 0)
		return NULL;
	return text;
}

/* Runs one command; returns its wait status, or 127 if it cannot run. */
static int run_one(char *const *argv, char *const *envp, int timeout_ms,
		   pdc_child_fn child, void *child_arg, int *timed_out,
		   char **output)
{
	static char *const no_env[] = { NULL };
	const char *exe = argv[0];
	outbuf_t buf = { 0 };
	int pfd[2], pidfd, status = 0, eof = 0, exited = 0;
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	pid_t pid;

	*timed_out = 0;
	if (exe[0] != '/') {
		*output = fail_text(exe, "not a fully qualified path");
		return 127;
	}
	if (access(exe, R_OK | X_OK) < 0) {
		*output = fail_text(exe, strerror(errno));
		return 127;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		*output = fail_text(exe, strerror(errno));
		return 127;
	}
	if ((pid = fork()) == 0) {
		int devnull;

		if (child)
			child(child_arg);
		if ((devnull = open("/dev/null", O_RDWR)) < 0)
			_exit(127);
		dup2(devnull, STDIN_FILENO);
		dup2(pfd[1], STDOUT_FILENO);
		dup2(pfd[1], STDERR_FILENO);
		close_from(3);
		setpgid(0, 0);
		/* As run_command: real ids follow the effective ones. */
		if (setresgid(getegid(), getegid(), -1) ||
		    setresuid(geteuid(), geteuid(), -1))
			_exit(127);
		execve(exe, argv, envp ? envp : no_env);
		dprintf(STDERR_FILENO, "prep/deno: execve(%s): %s\n", exe,
			strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		*output = fail_text(exe, strerror(errno));
		return 127;
	}
	setpgid(pid, pid); /* also here: no window before the child does */
	track(pid, 1);
	pidfd = open_pidfd(pid);

	for (;;) {
		struct pollfd p[2] = { { .fd = pfd[0], .events = POLLIN },
				       { .fd = pidfd, .events = POLLIN } };
		int wait_ms = 100, r;

		if (!exited) {
			siginfo_t si = { 0 };

			/* WNOWAIT: the leader stays a zombie, so its pgid
			 * cannot be reused before we kill the group. */
			if (!waitid(P_PID, pid, &si,
				    WEXITED | WNOHANG | WNOWAIT) &&
			    si.si_pid == pid)
				exited = 1;
		}
		if (exited && eof)
			break;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0) {
				*timed_out = 1;
				break;
			}
			if (left < wait_ms)
				wait_ms = (int)left;
		}
		if (eof) {
			/* Output done; wait for the exit itself. */
			if (pidfd >= 0)
				poll(&p[1], 1, wait_ms);
			else
				poll(NULL, 0, wait_ms < 2 ? wait_ms : 2);
			continue;
		}
		r = poll(p, 1, exited ? 0 : wait_ms);
		if (r > 0) {
			char chunk[65536];
			ssize_t n = read(pfd[0], chunk, sizeof(chunk));

			if (n > 0)
				out_append(&buf, chunk, (size_t)n);
			else if (n == 0 || errno != EINTR)
				eof = 1;
		} else if (r == 0 && exited) {
			/* Leader gone, pipe quiet: a straggler holds it. */
			break;
		}
	}
	if (*timed_out)
		kill_group(pid);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* Stragglers too, as run_command does after waitpid; skip its 10 ms
	 * pause when the group is already empty. */
	if (!*timed_out && killpg(pid, 0) == 0)
		kill_group(pid);
	track(pid, 0);
	close(pfd[0]);
	if (pidfd >= 0)
		close(pidfd);
	if (buf.truncated)
		out_append(&buf, "\n[prep/deno: output truncated]\n", 31);
	*output = buf.data ? buf.data : strdup("");
	return status;
}

int pdc_run_hooks(const pdc_config_t *cfg, const char *const *paths,
		  size_t n_paths, char *const *envp, pdc_child_fn child,
		  void *child_arg, pdc_outcome_t *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n_paths; i++) {
		char **argv = pdc_hook_argv(cfg, paths[i]);
		int module = pdc_is_module(paths[i]);
		int timeout_ms = cfg->timeout_s < 0 ? -1 :
			(cfg->timeout_s + (module ? PDC_RUNNER_GRACE_S : 0)) *
			1000;

		free(out->output);
		out->output = NULL;
		if (module && cfg->warm_socket && !out->fallback &&
		    !pdc_warm_run(cfg->warm_socket, paths[i], cfg->timeout_s,
				  envp, &out->status, &out->output,
				  &out->fallback)) {
			out->timed_out = 0;
		} else if (!argv) {
			out->status = 127;
		} else {
			out->status = run_one(argv, envp, timeout_ms, child,
					      child_arg, &out->timed_out,
					      &out->output);
		}
		pdc_free_argv(argv);
		if (module && WIFEXITED(out->status) &&
		    WEXITSTATUS(out->status) == 124)
			out->timed_out = 1; /* the runner's own timeout */
		if (out->status) {
			out->failed_path = strdup(paths[i]);
			break;
		}
	}
	if (!out->output)
		out->output = strdup("");
	return out->status;
}

void pdc_outcome_free(pdc_outcome_t *out)
{
	free(out->output);
	free(out->failed_path);
	free(out->fallback);
	out->output = out->failed_path = out->fallback = NULL;
}

typedef struct {
	int slot;
	pdc_config_t cfg;
	char **paths;
	size_t n_paths;
	char **envp;
	uint32_t job_id;
	pdc_done_fn done;
	void *done_arg;
} async_job_t;

static void async_job_free(async_job_t *job)
{
	free((char *)job->cfg.runner);
	free((char *)job->cfg.warm_socket);
	pdc_free_argv(job->paths);
	pdc_free_argv(job->envp);
	free(job);
}

static void finish_one(int slot)
{
	pthread_mutex_lock(&core_lock);
	if (slot >= 0)
		threads[slot].done = 1;
	if (--inflight == 0)
		pthread_cond_broadcast(&core_idle);
	pthread_mutex_unlock(&core_lock);
}

/* Joins finished threads; core_lock held. They take the lock no more. */
static void reap_threads(void)
{
	for (int i = 0; i < MAX_THREADS; i++) {
		if (threads[i].used && threads[i].done) {
			pthread_join(threads[i].tid, NULL);
			threads[i].used = threads[i].done = 0;
		}
	}
}

static int claim_slot(void)
{
	for (int i = 0; i < MAX_THREADS; i++) {
		if (!threads[i].used) {
			threads[i].used = 1;
			threads[i].done = 0;
			return i;
		}
	}
	return -1;
}

static void *async_main(void *arg)
{
	async_job_t *job = arg;
	pdc_outcome_t out;

	/* Named, so a daemon's thread list (and the tests) can tell them. */
	pthread_setname_np(pthread_self(), "prep-deno-hook");
	pdc_run_hooks(&job->cfg, (const char *const *)job->paths,
		      job->n_paths, job->envp, NULL, NULL, &out);
	int slot = job->slot;

	job->done(job->done_arg, job->job_id, &out);
	pdc_outcome_free(&out);
	async_job_free(job);
	finish_one(slot);
	return NULL;
}

int pdc_run_hooks_async(const pdc_config_t *cfg, const char *const *paths,
			size_t n_paths, char *const *envp, uint32_t job_id,
			pdc_done_fn done, void *done_arg)
{
	async_job_t *job = calloc(1, sizeof(*job));
	pthread_attr_t attr;
	pthread_t tid;
	int rc = -1;

	int slot;

	pthread_mutex_lock(&core_lock);
	inflight++;
	reap_threads();
	slot = claim_slot();
	pthread_mutex_unlock(&core_lock);
	if (job && slot >= 0) {
		job->slot = slot;
		job->cfg = *cfg;
		job->cfg.runner = xstrdup_or_null(cfg->runner);
		job->cfg.warm_socket = xstrdup_or_null(cfg->warm_socket);
		job->paths = dup_strv(paths, n_paths);
		job->n_paths = n_paths;
		job->envp = dup_strv((const char *const *)envp,
				     strv_len(envp));
		job->job_id = job_id;
		job->done = done;
		job->done_arg = done_arg;
		if (job->paths && job->envp && !pthread_attr_init(&attr)) {
			/* Under the lock: the thread cannot be marked done (and
			 * reaped) before its id is recorded. */
			pthread_mutex_lock(&core_lock);
			rc = pthread_create(&tid, &attr, async_main, job);
			if (!rc)
				threads[slot].tid = tid;
			pthread_mutex_unlock(&core_lock);
			pthread_attr_destroy(&attr);
		}
	}
	if (rc) {
		/* Could not start: still answer, exactly once. */
		pdc_outcome_t out = {
			.status = 127,
			.output = strdup("prep/deno: cannot start a thread "
					 "for the hook\n"),
		};

		done(done_arg, job_id, &out);
		pdc_outcome_free(&out);
		if (job)
			async_job_free(job);
		pthread_mutex_lock(&core_lock);
		if (slot >= 0)
			threads[slot].used = 0;
		pthread_mutex_unlock(&core_lock);
		finish_one(-1);
		return -1;
	}
	return 0;
}

int pdc_inflight(void)
{
	int n;

	pthread_mutex_lock(&core_lock);
	n = inflight;
	pthread_mutex_unlock(&core_lock);
	return n;
}

int pdc_shutdown(int wait_ms)
{
	struct timespec until;
	int left;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&core_lock);
	for (int i = 0; i < MAX_TRACKED; i++)
		if (running[i])
			killpg(running[i], SIGKILL);
	while (inflight > 0 &&
	       pthread_cond_timedwait(&core_idle, &core_lock, &until) == 0)
		;
	reap_threads();
	left = inflight;
	pthread_mutex_unlock(&core_lock);
	return left;
}
