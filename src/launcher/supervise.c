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
 * src/sandbox/sandbox.ts): neither end is a name a user can prepare.
 */
static int status_file(char *path, size_t size)
{
	char dir[4096];

	if (pd_run_dir("status", 0700, dir, sizeof(dir)) < 0 ||
	    snprintf(path, size, "%s/%d-XXXXXX", dir, (int)getpid()) >= (int)size)
		return -1;
	/* Named for this launcher: a killed one's file goes at the next start. */
	pd_sweep_dead(dir);
	return mkostemp(path, O_CLOEXEC);
}

/* Only the hook call's own kinds (PD_HOOK_KINDS); the runner's are this launcher's to say. */
static int hook_kind(const char *k)
{
#define PD_KIND_ROW(kind) kind,
	static const char *const kinds[] = { PD_HOOK_KINDS(PD_KIND_ROW) };
#undef PD_KIND_ROW

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(k, kinds[i]))
			return 1;
	return 0;
}

/* What the entry's status file says. */
enum pd_entry {
	ENTRY_UNKNOWN, /* not an entry.js launch: no status file */
	ENTRY_NONE,    /* the entry never started */
	ENTRY_STARTED, /* started, and wrote no (good) record */
	ENTRY_ENDED,   /* its record: the hook call ended by itself */
};

/*
 * The status file: "started\n", then the entry's outcome record line once
 * the hook ended by itself. The record is sent on (pd_end_escaped) after
 * every process of the hook is gone.
 */
static enum pd_entry recorded(int fd, int *code, struct pd_record *r)
{
	static char buf[PD_OUTCOME_MAX + 64];
	ssize_t n;

	if (fd < 0)
		return ENTRY_UNKNOWN;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	if (n <= 0 || strncmp(buf, "started\n", 8))
		return ENTRY_NONE;
	if (pd_parse_record(buf + 8, r, code) < 0 || !hook_kind(r->kind))
		return ENTRY_STARTED;
	return ENTRY_ENDED;
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

/* Why the launcher stopped the hook itself, if it did. */
enum pd_stop {
	STOP_NONE,    /* the hook ended by itself */
	STOP_TIMEOUT, /* --timeout passed */
	STOP_TASKS,   /* the hook reached its process limit (--tasks-max) */
	STOP_SIGNAL,  /* the runner got SIGTERM, SIGINT or SIGHUP */
};

/* What the launcher saw of one hook, and what the entry recorded. */
struct pd_seen {
	int rc;              /* the exit status, 128+N for a signal */
	enum pd_stop stop;
	int signal;          /* STOP_SIGNAL: which */
	int oom;             /* the cgroup counted an out-of-memory kill */
	int cg_error;        /* errno of putting the hook in its cgroup; 0: none */
	enum pd_entry entry;
	int code;            /* ENTRY_ENDED: the record's status */
	struct pd_record record;
};

/* The launcher's own endings: they come first, so no record can hide them. */
static int stopped(const struct pd_hook *h, const struct pd_seen *s)
{
	char why[PD_REASON_MAX + 1];

	if (s->stop == STOP_TIMEOUT) {
		snprintf(why, sizeof(why), "timed out after %g s", h->timeout_s);
		return pd_end(h, "timeout", PD_EXIT_TIMEOUT, why,
			      "timed out after %g s; the hook was killed (every process of it)",
			      h->timeout_s);
	}
	if (s->stop == STOP_TASKS) {
		snprintf(why, sizeof(why), "reached its process limit of %ld tasks", h->tasks_max);
		return pd_end(h, "tasks", PD_EXIT_OUT_OF_MEMORY, why,
			      "the hook reached its process limit of %ld tasks (processes and "
			      "threads); every process of it was killed (raise it with --tasks-max, "
			      "or PrEpParameters=tasks_max=N)",
			      h->tasks_max);
	}
	snprintf(why, sizeof(why), "stopped: the runner got signal %d (%s)", s->signal,
		 strsignal(s->signal));
	return pd_end(h, "signal", 128 + s->signal, why,
		      "the runner got %s; the hook was killed (every process of it)",
		      strsignal(s->signal));
}

/* A memory limit: the cgroup's (oom), else V8's heap limit. */
static int out_of_memory(const struct pd_hook *h, int oom)
{
	char why[PD_REASON_MAX + 1];

	if (oom) {
		snprintf(why, sizeof(why), "out of memory: passed its memory limit of %ld MiB",
			 h->memory_mb);
		return pd_end(h, "memory", PD_EXIT_OUT_OF_MEMORY, why,
			      "out of memory: the hook passed its memory limit of %ld MiB (all "
			      "its processes, off-heap memory included); raise it with "
			      "--memory-mb, or PrEpParameters=memory_mb=N",
			      h->memory_mb);
	}
	snprintf(why, sizeof(why), "out of memory: passed its heap limit of %ld MiB", h->heap_mb);
	return pd_end(h, "memory", PD_EXIT_OUT_OF_MEMORY, why,
		      "out of memory: the hook passed its heap limit of %ld MiB (raise "
		      "it with --heap-mb, or PrEpParameters=heap_mb=N)",
		      h->heap_mb);
}

/* An end the entry did not record: why the hook's process ended without a result. */
static int unrecorded(const struct pd_hook *h, const struct pd_seen *s)
{
	char why[PD_REASON_MAX + 1];
	int rc = s->rc;

	if (s->entry == ENTRY_NONE && rc == PD_EXIT_SANDBOX)
		return rc; /* the launcher's child said why */
	if (s->entry == ENTRY_NONE) {
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
	if (s->entry == ENTRY_UNKNOWN)
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

/*
 * The one outcome of the hook, from what this launcher saw (deadline,
 * signal, cgroup's out-of-memory count, wait status) and what the entry
 * recorded; the launcher's own kinds come first, so no record the hook's
 * process wrote can hide them.
 */
static int outcome(const struct pd_hook *h, const struct pd_seen *s)
{
	if (s->stop != STOP_NONE)
		return stopped(h, s);
	if (s->cg_error)
		return pd_end(h, "refused", PD_EXIT_SANDBOX, "cannot put the hook in its cgroup",
			      "cannot put the hook in its cgroup: %s", strerror(s->cg_error));
	/*
	 * The entry's record, with the status the runner saw; but a kill
	 * (128+N) after the cgroup's out-of-memory kill is the memory limit's,
	 * whatever record anything in the sandbox wrote before it.
	 */
	if (s->entry == ENTRY_ENDED && s->rc == s->code && !(s->oom && s->rc > 128))
		return pd_end_escaped(h, s->record.kind, s->rc, s->record.cause, s->record.message);
	/* V8 ends a process past its heap limit with a breakpoint trap. */
	if (s->oom || (s->rc == 128 + SIGTRAP && s->entry != ENTRY_ENDED))
		return out_of_memory(h, s->oom);
	return unrecorded(h, s);
}

/* One launch's resources, from prepare() to release(). */
struct pd_launch {
	char status_path[4200];
	int status_fd; /* -1: no status file (h->no_status, or none could be made) */
	int env_fd;
	struct pd_cgroup cg;
	int grouped;           /* a memory or pids cgroup to put the sandbox in */
	int info[2], block[2]; /* bwrap's --info-fd and --block-fd, with a cgroup */
	int seed_fds[PD_MAX_SEEDS];
	int bind_fds[PD_MAX_FD_BINDS];
	char **argv;
};

/* Closes the open descriptors of fds[0..n), each then -1. */
static void close_all(int *fds, size_t n)
{
	pd_close_fds(fds, n);
	for (size_t i = 0; i < n; i++)
		fds[i] = -1;
}

/* Closes what the launch still holds open and removes its cgroup. */
static void release(struct pd_launch *l)
{
	close_all(l->seed_fds, PD_MAX_SEEDS);
	close_all(l->bind_fds, PD_MAX_FD_BINDS);
	for (int i = 0; i < 2; i++) {
		if (l->info[i] >= 0)
			close(l->info[i]);
		if (l->block[i] >= 0)
			close(l->block[i]);
		l->info[i] = l->block[i] = -1;
	}
	if (l->env_fd >= 0)
		close(l->env_fd);
	l->env_fd = -1;
	pd_cgroup_remove(&l->cg); /* kills what the hook left running */
	free(l->argv);
	l->argv = NULL;
}

/* Removes the status file (after recorded() read it, or on a refusal). */
static void drop_status(struct pd_launch *l)
{
	if (l->status_fd < 0)
		return;
	close(l->status_fd);
	unlink(l->status_path);
	l->status_fd = -1;
}

/*
 * Everything the hook's launch needs before the fork: the status file, the
 * job's environment, the cgroup (the broker in it), bwrap's pipes, the
 * grants bound by descriptor, the seeds, the command line. 0, or the exit
 * status of a refusal (already said; nothing left open).
 */
static int prepare(const struct pd_hook *h, const struct pd_broker *broker, struct pd_launch *l)
{
	const char *bad_bind = NULL;
	int e;

	memset(l, 0, sizeof(*l));
	l->info[0] = l->info[1] = l->block[0] = l->block[1] = -1;
	for (size_t i = 0; i < PD_MAX_SEEDS; i++)
		l->seed_fds[i] = -1;
	for (size_t i = 0; i < PD_MAX_FD_BINDS; i++)
		l->bind_fds[i] = -1;
	l->status_fd = h->no_status ? -1 : status_file(l->status_path, sizeof(l->status_path));
	l->env_fd = env_memfd();
	pd_cgroup_create(&l->cg, h->memory_mb, h->tasks_max);
	l->grouped = l->cg.path[0] || l->cg.pids[0];
	/* The broker's commands count against the hook's limits and end with it. */
	if (broker->pid > 0 && l->grouped)
		pd_cgroup_add(&l->cg, broker->pid);
	if (l->grouped && (pipe2(l->info, O_CLOEXEC) < 0 || pipe2(l->block, O_CLOEXEC) < 0))
		goto cannot;
	if (pd_open_fd_binds(h->plan, l->bind_fds, &bad_bind) < 0) {
		char why[PD_REASON_MAX + 1];

		snprintf(why, sizeof(why), "the grant %s was swapped or removed", bad_bind);
		release(l);
		drop_status(l);
		return pd_end(h, "refused", PD_EXIT_SANDBOX, why,
			      "the grant %s is no longer a file or folder in its folder (a link, or "
			      "gone): refused, as its folder's owner could have swapped it",
			      bad_bind);
	}
	pd_open_seeds(h->plan, l->seed_fds);
	l->argv = pd_final_argv(h, l->status_fd >= 0 ? l->status_path : NULL, l->info[1],
				l->block[0], l->seed_fds, broker->pid > 0 ? broker->sock : NULL,
				l->bind_fds);
	if (l->argv && l->env_fd >= 0)
		return 0;
cannot:
	e = errno;
	release(l);
	drop_status(l);
	return pd_end(h, "refused", PD_EXIT_SANDBOX, "cannot prepare the hook's launch",
		      "cannot prepare the hook's launch: %s", strerror(e));
}

/* In the child: bwrap, with its descriptors open across exec and the job's environment on stdin. */
__attribute__((noreturn)) static void exec_sandbox(const struct pd_hook *h, struct pd_launch *l,
						    const sigset_t *old)
{
	int e;

	sigprocmask(SIG_SETMASK, old, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (l->grouped) {
		/* bwrap's ends, open across exec. */
		fcntl(l->info[1], F_SETFD, 0);
		fcntl(l->block[0], F_SETFD, 0);
	}
	for (size_t i = 0; i < PD_MAX_SEEDS; i++)
		if (l->seed_fds[i] >= 0)
			fcntl(l->seed_fds[i], F_SETFD, 0);
	for (size_t i = 0; i < PD_MAX_FD_BINDS; i++)
		if (l->bind_fds[i] >= 0)
			fcntl(l->bind_fds[i], F_SETFD, 0);
	dup2(l->env_fd, 0);
	execv(l->argv[0], l->argv);
	e = errno;
	_exit(pd_end(h, "refused", PD_EXIT_SANDBOX, "cannot execute the sandbox",
		     "cannot execute %s: %s", l->argv[0], strerror(e)));
}

/*
 * With a cgroup: bwrap waits on its block pipe until the sandbox's first
 * process is in the hook's cgroup. 0, or the errno of putting it there
 * (bwrap then killed).
 */
static int join_cgroup(struct pd_launch *l, pid_t pid)
{
	pid_t first;
	int cg_error = 0;

	if (!l->grouped)
		return 0;
	close(l->info[1]);
	close(l->block[0]);
	l->info[1] = l->block[0] = -1;
	/* info[0] kept open to the end: bwrap may write more to it. */
	first = sandbox_pid(l->info[0]);
	if (first > 0 && pd_cgroup_add(&l->cg, first) < 0) {
		cg_error = errno;
		kill(pid, SIGKILL);
	}
	/* Go (or, if bwrap already failed, nothing is listening). */
	if (write(l->block[1], "g", 1) < 0 && errno != EPIPE)
		kill(pid, SIGKILL);
	close(l->block[1]);
	l->block[1] = -1;
	return cg_error;
}

/* The monotonic time `seconds` from now. */
static struct timespec deadline_in(double seconds)
{
	struct timespec d;

	clock_gettime(CLOCK_MONOTONIC, &d);
	d.tv_sec += (time_t)seconds;
	d.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (d.tv_nsec >= 1000000000L) {
		d.tv_sec++;
		d.tv_nsec -= 1000000000L;
	}
	return d;
}

/*
 * Waits for bwrap (`set` blocked: SIGCHLD and the stop signals) until it
 * ends, the deadline passes, the process limit is reached or a stop signal
 * comes; the hook is killed whole in the last three. *ws is bwrap's wait
 * status.
 */
static enum pd_stop watch(const struct pd_hook *h, struct timespec deadline,
			  struct pd_cgroup *cg, pid_t pid, const sigset_t *set, int *ws,
			  int *signal_out)
{
	for (;;) {
		siginfo_t info;
		struct timespec now, left, tick = { 0, TASKS_TICK_NS };
		int sig, timed;

		if (pd_cgroup_tasks_hit(cg)) {
			stop_hook(cg, pid, ws);
			return STOP_TASKS;
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
				stop_hook(cg, pid, ws);
				return STOP_TIMEOUT;
			}
		}
		/* With a process limit, look at it every tick (nothing signals it). */
		timed = h->timeout_s > 0;
		if (cg->pids[0] && (!timed || left.tv_sec > 0 || left.tv_nsec > TASKS_TICK_NS))
			left = tick, timed = 1;
		sig = sigtimedwait(set, &info, timed ? &left : NULL);
		if (sig == SIGCHLD) {
			if (waitpid(pid, ws, WNOHANG) == pid)
				return STOP_NONE;
		} else if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
			*signal_out = sig;
			stop_hook(cg, pid, ws);
			return STOP_SIGNAL;
		}
		/* EAGAIN: the deadline; EINTR: look again. */
	}
}

static int run_hook(const struct pd_hook *h, const struct pd_broker *broker)
{
	struct pd_launch l;
	static struct pd_seen seen;
	struct timespec deadline;
	sigset_t set, old;
	int ws = 0, rc;
	pid_t pid;

	/* A write to a bwrap that already failed must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if ((rc = prepare(h, broker, &l)))
		return rc;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &old);
	/* The timeout runs from here: the fork, bwrap and Deno count. */
	deadline = deadline_in(h->timeout_s);
	pid = fork();
	if (pid < 0) {
		rc = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		release(&l);
		drop_status(&l);
		return pd_end(h, "refused", PD_EXIT_SANDBOX, "cannot start the hook: fork",
			      "cannot start the hook: fork: %s", strerror(rc));
	}
	if (pid == 0)
		exec_sandbox(h, &l, &old);
	memset(&seen, 0, sizeof(seen));
	seen.cg_error = join_cgroup(&l, pid);
	/* The hook's own descriptors are the sandbox's now. */
	close(l.env_fd);
	l.env_fd = -1;
	close_all(l.seed_fds, PD_MAX_SEEDS);
	close_all(l.bind_fds, PD_MAX_FD_BINDS);
	seen.stop = watch(h, deadline, &l.cg, pid, &set, &ws, &seen.signal);
	seen.oom = pd_cgroup_oom_killed(&l.cg);
	/* A fork refused at the limit between two looks fails the hook too. */
	if (seen.stop == STOP_NONE && pd_cgroup_tasks_hit(&l.cg))
		seen.stop = STOP_TASKS;
	release(&l);
	sigprocmask(SIG_SETMASK, &old, NULL);
	seen.entry = recorded(l.status_fd, &seen.code, &seen.record);
	drop_status(&l);
	seen.rc = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	return outcome(h, &seen);
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
