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

#include "argv.h"
#include "broker.h"
#include "cgroup.h"
#include "io.h"
#include "rundir.h"
#include "supervise.h"

extern char **environ;

/* How often a hook with a process limit has it looked at: pids.events has no signal. */
#define TASKS_TICK_NS 50000000L

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

/*
 * A root-only file the entry writes "started" and "exit N" to, in root's
 * folders all the way down (rundir.c). bwrap binds it onto
 * PD_STATUS_PATH, in the view's private tmpfs (see bwrapArgs() in
 * src/sandbox.ts): neither end is a name a user can prepare.
 */
static int status_file(char *path, size_t size)
{
	char dir[4096];

	if (pd_run_dir("status", 0700, dir, sizeof(dir)) < 0 ||
	    snprintf(path, size, "%s/XXXXXX", dir) >= (int)size)
		return -1;
	return mkostemp(path, O_CLOEXEC);
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
		   const struct pd_record *r, int timed_out, int stopped_by, int tasks_hit, int oom,
		   int cg_error)
{
	char why[PD_REASON_MAX + 1];

	if (timed_out) {
		snprintf(why, sizeof(why), "timed out after %g s", h->timeout_s);
		return pd_end(h, "timeout", PD_EXIT_TIMEOUT, why,
			      "timed out after %g s; the hook was killed (every process of it)",
			      h->timeout_s);
	}
	if (tasks_hit) {
		snprintf(why, sizeof(why), "reached its process limit of %ld tasks", h->tasks_max);
		return pd_end(h, "tasks", PD_EXIT_OUT_OF_MEMORY, why,
			      "the hook reached its process limit of %ld tasks (processes and "
			      "threads); every process of it was killed (raise it with --tasks-max, "
			      "or PrEpParameters=tasks_max=N)",
			      h->tasks_max);
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
	/*
	 * The entry's record, with the status the runner saw; but a kill
	 * (128+N) after the cgroup's out-of-memory kill is the memory limit's,
	 * whatever record anything in the sandbox wrote before it.
	 */
	if (!strcmp(rec, "ended") && rc == code && !(oom && rc > 128))
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

static int run_hook(const struct pd_hook *h, const struct pd_broker *broker)
{
	char status_path[4200];
	int status_fd = h->no_status ? -1 : status_file(status_path, sizeof(status_path));
	int env_fd = env_memfd();
	struct pd_cgroup cg;
	sigset_t set, old;
	char **argv;
	int info[2] = { -1, -1 }, block[2] = { -1, -1 }, seed_fds[PD_MAX_SEEDS];
	int bind_fds[PD_MAX_FD_BINDS];
	const char *bad_bind = NULL;
	pid_t pid;
	int ws = 0, timed_out = 0, stopped_by = 0, tasks_hit = 0, oom, code = -1, rc, grouped;
	int cg_error = 0;
	const char *rec;
	static struct pd_record record;
	struct timespec deadline;

	/* A write to a bwrap that already failed must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	pd_cgroup_create(&cg, h->memory_mb, h->tasks_max);
	grouped = cg.path[0] || cg.pids[0];
	/* The broker's commands count against the hook's limits and end with it. */
	if (broker->pid > 0 && grouped)
		pd_cgroup_add(&cg, broker->pid);
	if (grouped && (pipe2(info, O_CLOEXEC) < 0 || pipe2(block, O_CLOEXEC) < 0)) {
		rc = errno;
		pd_cgroup_remove(&cg);
		return pd_end(h, "refused", PD_EXIT_SANDBOX, "cannot prepare the hook's launch",
			      "cannot prepare the hook's launch: %s", strerror(rc));
	}
	if (pd_open_fd_binds(h->plan, bind_fds, &bad_bind) < 0) {
		char why[PD_REASON_MAX + 1];

		snprintf(why, sizeof(why), "the grant %s was swapped or removed", bad_bind);
		pd_close_fds(bind_fds, PD_MAX_FD_BINDS);
		pd_cgroup_remove(&cg);
		return pd_end(h, "refused", PD_EXIT_SANDBOX, why,
			      "the grant %s is no longer a file or folder in its folder (a link, or "
			      "gone): refused, as its folder's owner could have swapped it",
			      bad_bind);
	}
	pd_open_seeds(h->plan, seed_fds);
	argv = pd_final_argv(h, status_fd >= 0 ? status_path : NULL, info[1], block[0], seed_fds,
			  broker->pid > 0 ? broker->sock : NULL, bind_fds);
	if (!argv || env_fd < 0) {
		rc = errno;
		pd_close_seeds(seed_fds);
		pd_close_fds(bind_fds, PD_MAX_FD_BINDS);
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
		pd_close_seeds(seed_fds);
		pd_close_fds(bind_fds, PD_MAX_FD_BINDS);
		pd_cgroup_remove(&cg);
		return pd_end(h, "refused", PD_EXIT_SANDBOX, "cannot start the hook: fork",
			      "cannot start the hook: fork: %s", strerror(rc));
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (grouped) {
			/* bwrap's ends, open across exec. */
			fcntl(info[1], F_SETFD, 0);
			fcntl(block[0], F_SETFD, 0);
		}
		for (size_t i = 0; i < PD_MAX_SEEDS; i++)
			if (seed_fds[i] >= 0)
				fcntl(seed_fds[i], F_SETFD, 0);
		for (size_t i = 0; i < PD_MAX_FD_BINDS; i++)
			if (bind_fds[i] >= 0)
				fcntl(bind_fds[i], F_SETFD, 0);
		dup2(env_fd, 0);
		execv(argv[0], argv);
		rc = errno;
		_exit(pd_end(h, "refused", PD_EXIT_SANDBOX, "cannot execute the sandbox",
			     "cannot execute %s: %s", argv[0], strerror(rc)));
	}
	if (grouped) {
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
	pd_close_seeds(seed_fds);
	pd_close_fds(bind_fds, PD_MAX_FD_BINDS);

	for (;;) {
		siginfo_t info;
		struct timespec now, left, tick = { 0, TASKS_TICK_NS };
		int sig, timed;

		if (pd_cgroup_tasks_hit(&cg)) {
			tasks_hit = 1;
			stop_hook(&cg, pid, &ws);
			break;
		}
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
		/* With a process limit, look at it every tick (nothing signals it). */
		timed = h->timeout_s > 0;
		if (cg.pids[0] && (!timed || left.tv_sec > 0 || left.tv_nsec > TASKS_TICK_NS))
			left = tick, timed = 1;
		sig = sigtimedwait(&set, &info, timed ? &left : NULL);
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
	/* A fork refused at the limit between two looks fails the hook too. */
	tasks_hit = tasks_hit || (!timed_out && !stopped_by && pd_cgroup_tasks_hit(&cg));
	pd_cgroup_remove(&cg); /* kills what the hook left running */
	sigprocmask(SIG_SETMASK, &old, NULL);
	free(argv);

	rec = status_fd >= 0 ? recorded(status_fd, &code, &record) : "unknown";
	if (status_fd >= 0) {
		close(status_fd);
		unlink(status_path);
	}
	rc = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	return outcome(h, rc, rec, code, &record, timed_out, stopped_by, tasks_hit, oom, cg_error);
}

int pd_supervise(const struct pd_hook *h)
{
	struct pd_broker broker;
	int rc;

	if (pd_broker_start(h->plan, &broker) < 0) {
		int e = errno;

		return pd_end(h, "refused", PD_EXIT_SANDBOX,
			      "cannot start the privileged-command broker",
			      "cannot start the privileged-command broker: %s", strerror(e));
	}
	rc = run_hook(h, &broker);
	pd_broker_stop(&broker);
	return rc;
}
