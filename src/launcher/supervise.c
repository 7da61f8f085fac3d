/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Runs one hook: its own memory cgroup, the job's environment on stdin (a
 * memfd the entry reads), a status file the entry writes, bwrap -> deno,
 * then the timeout.
 *
 * THE RUNNER'S TIMEOUT STORY (the plugin's half is in ffi/, see README
 * "Timeouts"): the plugin passes `--timeout` (PrologEpilogTimeout, or the
 * slurmctld hooks' own); this process is the one that arms it, when it
 * starts the hook. At the deadline it SIGKILLs every process in the hook's
 * cgroup (without a cgroup: bwrap, whose death ends the hook's pid
 * namespace), waits for bwrap, removes the cgroup and ends with 124 and one
 * message. A SIGTERM/SIGINT/SIGHUP to this process (the plugin's own,
 * later, deadline) does the same at once and ends with 128+signal. Nothing
 * inside the sandbox arms a timer: import-time hangs are covered the same
 * way as hooks that never return. When the hook ends by itself, whatever it
 * left running (background children) is killed too before the status is
 * returned.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "io.h"
#include "supervise.h"

extern char **environ;

/* The job's environment, NUL-separated, in a sealed-off memfd at offset 0. */
static int env_memfd(void)
{
	int fd = memfd_create("prep-deno-job", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	for (char **e = environ; *e; e++) {
		size_t n = strlen(*e) + 1;

		if (write(fd, *e, n) != (ssize_t)n) {
			close(fd);
			return -1;
		}
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* A root-only file the entry writes "started" and "exit N" to. */
static int status_file(char *path, size_t size)
{
	char dir[4096];
	struct stat st;
	int fd;

	snprintf(dir, sizeof(dir), "%s", PREP_DENO_RUN_DIR);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/status", PREP_DENO_RUN_DIR);
	mkdir(dir, 0700);
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077))
		return -1;
	snprintf(path, size, "%s/XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	return fd;
}

/* Only the hook call's own kinds; the runner's are this launcher's to say. */
static int hook_kind(const char *k)
{
	static const char *const kinds[] = { "returned",  "bad-value", "threw",
					     "no-export", "load-failed", "stalled" };

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(k, kinds[i]))
			return 1;
	return 0;
}

/*
 * The status file: "started\n", then the entry's outcome record line once
 * the hook ended by itself. The record is sent on (pd_end_escaped) after
 * every process of the hook is gone.
 */
static const char *recorded(int fd, int *code, struct pd_record *r)
{
	static char buf[PD_OUTCOME_MAX + 64];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	if (n <= 0 || strncmp(buf, "started\n", 8))
		return "none";
	if (pd_parse_record(buf + 8, r, code) < 0 || !hook_kind(r->kind))
		return "started";
	return "ended";
}

/*
 * The plan's seeds (src/launch/plan.ts), opened for bwrap's --file: -1 for
 * one that is missing or that anyone but root or us could have written (a
 * seed is only a head start for Deno's cache; the hook runs without it).
 */
static void open_seeds(const struct pd_plan *p, int *fds)
{
	for (size_t i = 0; i < PD_MAX_SEEDS; i++) {
		struct stat st;

		fds[i] = -1;
		if (i >= p->seeds.n / 2)
			continue;
		fds[i] = open(p->seeds.items[2 * i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fds[i] >= 0 && (fstat(fds[i], &st) < 0 || !S_ISREG(st.st_mode) ||
				    (st.st_uid != geteuid() && st.st_uid != 0) || (st.st_mode & 022))) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
}

static void close_seeds(int *fds)
{
	for (size_t i = 0; i < PD_MAX_SEEDS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/*
 * info_fd/block_fd >= 0: bwrap reports the sandbox's first pid on info_fd
 * and waits on block_fd before it starts the hook, so the move of that pid
 * into the cgroup (slow on cgroup v1: an RCU grace period) runs while bwrap
 * builds the view, instead of before it.
 */
static char **final_argv(const struct pd_hook *h, const char *status_path, int info_fd,
			 int block_fd, const int *seed_fds)
{
	const struct pd_plan *p = h->plan;
	size_t n = 0;
	char **argv = calloc(p->bwrap.n + p->command.n + 3 * PD_MAX_SEEDS + 12, sizeof(char *));
	static char v8[64], info[16], block[16], fds[PD_MAX_SEEDS][16];

	if (!argv || p->command.n < 2)
		return NULL;
	for (size_t i = 0; i < p->bwrap.n; i++)
		argv[n++] = p->bwrap.items[i];
	if (info_fd >= 0 && block_fd >= 0) {
		snprintf(info, sizeof(info), "%d", info_fd);
		snprintf(block, sizeof(block), "%d", block_fd);
		argv[n++] = "--info-fd";
		argv[n++] = info;
		argv[n++] = "--block-fd";
		argv[n++] = block;
	}
	for (size_t i = 0; i < PD_MAX_SEEDS; i++) {
		if (seed_fds[i] < 0)
			continue;
		snprintf(fds[i], sizeof(fds[i]), "%d", seed_fds[i]);
		argv[n++] = "--file";
		argv[n++] = fds[i];
		argv[n++] = p->seeds.items[2 * i + 1];
	}
	if (status_path) {
		argv[n++] = "--bind";
		argv[n++] = (char *)status_path;
		argv[n++] = PD_STATUS_PATH;
	}
	argv[n++] = "--";
	/*
	 * The command is `deno run ...`, possibly behind a wrapper (setpriv,
	 * see sandboxedCommand() in src/sandbox.ts): the heap flag goes right
	 * after the first "run".
	 */
	size_t i = 0, run = 1;
	while (run < p->command.n && strcmp(p->command.items[run], "run"))
		run++;
	if (run == p->command.n)
		run = 1;
	while (i <= run)
		argv[n++] = p->command.items[i++];
	snprintf(v8, sizeof(v8), "--v8-flags=--max-old-space-size=%ld", h->heap_mb);
	argv[n++] = v8;
	while (i < p->command.n)
		argv[n++] = p->command.items[i++];
	if (h->list_exports)
		argv[n++] = "--list-exports";
	argv[n] = NULL;
	return argv;
}

/* The sandbox's first pid from bwrap's --info-fd JSON; -1 if bwrap ended first. */
static pid_t sandbox_pid(int fd)
{
	char buf[1024];
	size_t n = 0;

	while (n < sizeof(buf) - 1) {
		ssize_t got = read(fd, buf + n, sizeof(buf) - 1 - n);
		char *key, *end;
		long pid;

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		n += (size_t)got;
		buf[n] = '\0';
		key = strstr(buf, "\"child-pid\":");
		if (!key)
			continue;
		pid = strtol(key + strlen("\"child-pid\":"), &end, 10);
		if (*end && pid > 0)
			return (pid_t)pid;
	}
	return -1;
}

/* Kills the whole hook and reaps bwrap. */
static void stop_hook(struct pd_cgroup *cg, pid_t pid, int *ws)
{
	kill(pid, SIGKILL);
	pd_cgroup_kill_all(cg);
	while (waitpid(pid, ws, 0) < 0 && errno == EINTR)
		;
}

/*
 * The one outcome of the hook, from what this launcher saw (deadline,
 * signal, cgroup's out-of-memory count, wait status) and what the entry
 * recorded; the launcher's own kinds come first, so no record the hook's
 * process wrote can hide them.
 */
static int outcome(const struct pd_hook *h, int rc, const char *rec, int code,
		   const struct pd_record *r, int timed_out, int stopped_by, int oom,
		   int cg_error)
{
	char why[PD_REASON_MAX + 1];

	if (timed_out) {
		snprintf(why, sizeof(why), "timed out after %g s", h->timeout_s);
		return pd_end(h, "timeout", PD_EXIT_TIMEOUT, why,
			      "timed out after %g s; the hook was killed (every process of it)",
			      h->timeout_s);
	}
	if (stopped_by) {
		snprintf(why, sizeof(why), "stopped: the runner got signal %d (%s)", stopped_by,
			 strsignal(stopped_by));
		return pd_end(h, "signal", 128 + stopped_by, why,
			      "the runner got %s; the hook was killed (every process of it)",
			      strsignal(stopped_by));
	}
	if (cg_error)
		return pd_end(h, "refused", PD_EXIT_SANDBOX, "cannot put the hook in its cgroup",
			      "cannot put the hook in its cgroup: %s", strerror(cg_error));
	if (!strcmp(rec, "ended") && rc == code)
		return pd_end_escaped(h, r->kind, rc, r->cause, r->message);
	if (oom) {
		snprintf(why, sizeof(why), "out of memory: passed its memory limit of %ld MiB",
			 h->memory_mb);
		return pd_end(h, "memory", PD_EXIT_OUT_OF_MEMORY, why,
			      "out of memory: the hook passed its memory limit of %ld MiB (all "
			      "its processes, off-heap memory included); raise it with "
			      "--memory-mb, or PrEpParameters=memory_mb=N",
			      h->memory_mb);
	}
	if (rc == 128 + SIGTRAP && strcmp(rec, "ended")) {
		/* V8 ends a process past its heap limit with a breakpoint trap. */
		snprintf(why, sizeof(why), "out of memory: passed its heap limit of %ld MiB",
			 h->heap_mb);
		return pd_end(h, "memory", PD_EXIT_OUT_OF_MEMORY, why,
			      "out of memory: the hook passed its heap limit of %ld MiB (raise "
			      "it with --heap-mb, or PrEpParameters=heap_mb=N)",
			      h->heap_mb);
	}
	if (!strcmp(rec, "none") && rc == PD_EXIT_SANDBOX)
		return rc; /* the launcher's child said why */
	if (!strcmp(rec, "none")) {
		snprintf(why, sizeof(why),
			 "the kernel sandbox (bwrap) or Deno could not start the hook (status %d)",
			 rc);
		return pd_end(h, "refused", PD_EXIT_SANDBOX, why,
			      "the kernel sandbox (bwrap) or Deno could not start the hook "
			      "(status %d); see the message above",
			      rc);
	}
	if (rc > 128) {
		snprintf(why, sizeof(why), "killed by signal %d (%s)", rc - 128,
			 strsignal(rc - 128));
		return pd_end(h, "signal", rc, why,
			      "the hook's process was killed by signal %d (%s), not by the runner",
			      rc - 128, strsignal(rc - 128));
	}
	if (!strcmp(rec, "unknown"))
		return rc; /* not an entry.js launch: its exit code as it is */
	if (rc == 0)
		return pd_end(h, "lost", 1, "the hook's process ended without a result",
			      "the hook's process ended without a result (window.close(), or an "
			      "exit past the runner); a hook that does not finish fails");
	snprintf(why, sizeof(why), "Deno ended with status %d before the hook finished", rc);
	return pd_end(h, "lost", rc, why,
		      "the hook's Deno process ended with status %d before the hook finished; "
		      "see Deno's message above",
		      rc);
}

int pd_supervise(const struct pd_hook *h)
{
	char status_path[4200];
	int status_fd = h->no_status ? -1 : status_file(status_path, sizeof(status_path));
	int env_fd = env_memfd();
	struct pd_cgroup cg;
	sigset_t set, old;
	char **argv;
	int info[2] = { -1, -1 }, block[2] = { -1, -1 }, seed_fds[PD_MAX_SEEDS];
	pid_t pid;
	int ws = 0, timed_out = 0, stopped_by = 0, oom, code = -1, rc, cg_error = 0;
	const char *rec;
	static struct pd_record record;
	struct timespec deadline;

	/* A write to a bwrap that already failed must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	pd_cgroup_create(&cg, h->memory_mb);
	if (cg.path[0] && (pipe2(info, O_CLOEXEC) < 0 || pipe2(block, O_CLOEXEC) < 0)) {
		rc = errno;
		pd_cgroup_remove(&cg);
		return pd_end(h, "refused", PD_EXIT_SANDBOX, "cannot prepare the hook's launch",
			      "cannot prepare the hook's launch: %s", strerror(rc));
	}
	open_seeds(h->plan, seed_fds);
	argv = final_argv(h, status_fd >= 0 ? status_path : NULL, info[1], block[0], seed_fds);
	if (!argv || env_fd < 0) {
		rc = errno;
		close_seeds(seed_fds);
		pd_cgroup_remove(&cg);
		return pd_end(h, "refused", PD_EXIT_SANDBOX, "cannot prepare the hook's launch",
			      "cannot prepare the hook's launch: %s", strerror(rc));
	}

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &old);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)h->timeout_s;
	deadline.tv_nsec += (long)((h->timeout_s - (double)(time_t)h->timeout_s) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	pid = fork();
	if (pid < 0) {
		rc = errno;
		close_seeds(seed_fds);
		pd_cgroup_remove(&cg);
		return pd_end(h, "refused", PD_EXIT_SANDBOX, "cannot start the hook: fork",
			      "cannot start the hook: fork: %s", strerror(rc));
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (cg.path[0]) {
			/* bwrap's ends, open across exec. */
			fcntl(info[1], F_SETFD, 0);
			fcntl(block[0], F_SETFD, 0);
		}
		for (size_t i = 0; i < PD_MAX_SEEDS; i++)
			if (seed_fds[i] >= 0)
				fcntl(seed_fds[i], F_SETFD, 0);
		dup2(env_fd, 0);
		execv(argv[0], argv);
		rc = errno;
		_exit(pd_end(h, "refused", PD_EXIT_SANDBOX, "cannot execute the sandbox",
			     "cannot execute %s: %s", argv[0], strerror(rc)));
	}
	if (cg.path[0]) {
		pid_t first;

		close(info[1]);
		close(block[0]);
		/* Kept open to the end: bwrap may write more to it. */
		first = sandbox_pid(info[0]);
		if (first > 0 && pd_cgroup_add(&cg, first) < 0) {
			cg_error = errno;
			kill(pid, SIGKILL);
		}
		/* Go (or, if bwrap already failed, nothing is listening). */
		if (write(block[1], "g", 1) < 0 && errno != EPIPE)
			kill(pid, SIGKILL);
		close(block[1]);
	}
	close(env_fd);
	close_seeds(seed_fds);

	for (;;) {
		siginfo_t info;
		struct timespec now, left;
		int sig;

		if (h->timeout_s > 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			left.tv_sec = deadline.tv_sec - now.tv_sec;
			left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
			if (left.tv_nsec < 0) {
				left.tv_sec--;
				left.tv_nsec += 1000000000L;
			}
			if (left.tv_sec < 0) {
				timed_out = 1;
				stop_hook(&cg, pid, &ws);
				break;
			}
		}
		sig = sigtimedwait(&set, &info, h->timeout_s > 0 ? &left : NULL);
		if (sig == SIGCHLD) {
			if (waitpid(pid, &ws, WNOHANG) == pid)
				break;
		} else if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
			stopped_by = sig;
			stop_hook(&cg, pid, &ws);
			break;
		}
		/* EAGAIN: the deadline; EINTR: look again. */
	}
	if (info[0] >= 0)
		close(info[0]);
	oom = pd_cgroup_oom_killed(&cg);
	pd_cgroup_remove(&cg); /* kills what the hook left running */
	sigprocmask(SIG_SETMASK, &old, NULL);
	free(argv);

	rec = status_fd >= 0 ? recorded(status_fd, &code, &record) : "unknown";
	if (status_fd >= 0) {
		close(status_fd);
		unlink(status_path);
	}
	rc = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	return outcome(h, rc, rec, code, &record, timed_out, stopped_by, oom, cg_error);
}
