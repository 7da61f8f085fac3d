// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prep/deno core: one command, the way Slurm's run_command() runs a script
 * for prep/script (stdin /dev/null, stdout and stderr on one pipe, own
 * process group, real ids following the effective ones, 127 for a command
 * that cannot be executed). It is done when the output pipe reaches EOF,
 * not when the command exits: a background child that keeps stdout keeps
 * the hook running, until it ends or the timeout kills the group (SIGTERM,
 * 10 ms, SIGKILL). See the timeout story in prep_deno_contract.h.
 */
#define _GNU_SOURCE
#include "prep_deno_run.h"

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

static pthread_mutex_t track_lock = PTHREAD_MUTEX_INITIALIZER;
/* Process groups of running hooks, so shutdown (all) and a job's end
 * (by tag: job id and kind) can stop them. */
static struct {
	pid_t pg;
	uint64_t tag;
} running[MAX_TRACKED];

static void track(pid_t pg, uint64_t tag, int add)
{
	pthread_mutex_lock(&track_lock);
	for (int i = 0; i < MAX_TRACKED; i++) {
		if (add ? running[i].pg == 0 : running[i].pg == pg) {
			running[i].pg = add ? pg : 0;
			running[i].tag = tag;
			break;
		}
	}
	pthread_mutex_unlock(&track_lock);
}

void pdc_kill_all(void)
{
	pthread_mutex_lock(&track_lock);
	for (int i = 0; i < MAX_TRACKED; i++)
		if (running[i].pg)
			killpg(running[i].pg, SIGKILL);
	pthread_mutex_unlock(&track_lock);
}

int pdc_kill_tagged(uint32_t job_id, uint32_t kill_tag)
{
	uint64_t tag = ((uint64_t)kill_tag << 32) | job_id;
	int n = 0;

	if (!kill_tag)
		return 0;
	pthread_mutex_lock(&track_lock);
	for (int i = 0; i < MAX_TRACKED; i++)
		if (running[i].pg && running[i].tag == tag &&
		    !killpg(running[i].pg, SIGKILL))
			n++;
	pthread_mutex_unlock(&track_lock);
	return n;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Output of one hook, capped at PD_MAX_OUTPUT; the rest is counted. */
typedef struct {
	char *data;
	size_t len, cap;
	size_t dropped;
} outbuf_t;

static void out_add(outbuf_t *b, const char *p, size_t n)
{
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

static void out_append(outbuf_t *b, const char *p, size_t n)
{
	if (b->len + n > PD_MAX_OUTPUT) {
		b->dropped += b->len + n - PD_MAX_OUTPUT;
		n = PD_MAX_OUTPUT - b->len;
	}
	out_add(b, p, n);
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

/*
 * As run_command's _kill_pg: SIGTERM, a moment, then SIGKILL. The moment is
 * `grace_ms`, cut short once the leader (kept a zombie by WNOWAIT) exited.
 */
static void kill_group(pid_t pg, int grace_ms)
{
	int64_t until = now_ms() + grace_ms;

	killpg(pg, SIGTERM);
	while (grace_ms > 10 && now_ms() < until) {
		siginfo_t si = { 0 };

		if (!waitid(P_PID, pg, &si, WEXITED | WNOHANG | WNOWAIT) &&
		    si.si_pid == pg)
			break;
		usleep(5000);
	}
	if (grace_ms <= 10)
		usleep((useconds_t)grace_ms * 1000);
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

/* In the child: the mask the hook starts with (PDC_SIGNALS_*). */
static void set_child_signals(int signals)
{
	static const int scriptd[] = { SIGHUP,	SIGINT,	 SIGQUIT, SIGABRT,
				       SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM,
				       SIGTERM, SIGTSTP, SIGXCPU };
	sigset_t set;

	if (signals == PDC_SIGNALS_INHERIT)
		return;
	sigemptyset(&set);
	if (signals == PDC_SIGNALS_SCRIPTD) {
		for (size_t i = 0; i < sizeof(scriptd) / sizeof(scriptd[0]); i++)
			sigaddset(&set, scriptd[i]);
		/* slurmctld ignores SIGPIPE at times, slurmscriptd never. */
		signal(SIGPIPE, SIG_DFL);
	}
	sigprocmask(SIG_SETMASK, &set, NULL);
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

char *pdc_escape_output(const char *p, size_t n)
{
	char *out = malloc(n * 4 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			o += sprintf(o, "\\x%02x", c);
		else
			*o++ = (char)c;
	}
	*o = '\0';
	return out;
}

/*
 * The last whole line in the record pipe, read once the command is gone
 * (its write end closed with it): the launcher writes one record line.
 */
static char *read_record(int fd)
{
	char buf[PD_OUTCOME_MAX + 1], *end, *start;
	size_t len = 0;
	ssize_t n;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (len < sizeof(buf) - 1 &&
	       ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0 ||
		(n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	buf[len] = '\0';
	if (memchr(buf, '\0', len) || !(end = strrchr(buf, '\n')))
		return NULL;
	*end = '\0';
	start = strrchr(buf, '\n');
	start = start ? start + 1 : buf;
	for (const char *c = start; *c; c++)
		if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
			return NULL;
	return strncmp(start, PD_OUTCOME_MAGIC "\t", strlen(PD_OUTCOME_MAGIC) + 1) ?
		NULL : strdup(start);
}

/* In the child: its streams, descriptors, group, mask and ids, then exec. */
__attribute__((noreturn)) static void exec_child(const pdc_command_t *c, int out_w, int rec_w)
{
	static char *const no_env[] = { NULL };
	int devnull;

	if (c->child)
		c->child(c->child_arg);
	if ((devnull = open("/dev/null", O_RDWR)) < 0)
		_exit(127);
	dup2(devnull, STDIN_FILENO);
	dup2(out_w, STDOUT_FILENO);
	dup2(out_w, STDERR_FILENO);
	if (rec_w >= 0) {
		/* Only the runner's: it sets close-on-exec on it at once. */
		if (rec_w != PD_OUTCOME_FD)
			dup2(rec_w, PD_OUTCOME_FD);
		fcntl(PD_OUTCOME_FD, F_SETFD, 0);
		close_from(PD_OUTCOME_FD + 1);
	} else {
		close_from(3);
	}
	setpgid(0, 0);
	set_child_signals(c->signals);
	/* As run_command: real ids follow the effective ones. */
	if (setresgid(getegid(), getegid(), -1) ||
	    setresuid(geteuid(), geteuid(), -1))
		_exit(127);
	execve(c->argv[0], c->argv, c->envp ? c->envp : no_env);
	dprintf(STDERR_FILENO, "prep/deno: execve(%s): %s\n", c->argv[0],
		strerror(errno));
	_exit(127);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * Starts the command in a group of its own, its output on out[0] and, with
 * c->record, the record pipe's read end in rec[0]; the pid, or -1 with
 * ran->status 127 and ran->output saying why.
 */
static pid_t start(const pdc_command_t *c, int out[2], int rec[2], pdc_ran_t *ran)
{
	const char *exe = c->argv[0], *why = NULL;
	pid_t pid = -1;

	out[0] = out[1] = rec[0] = rec[1] = -1;
	if (exe[0] != '/')
		why = "not a fully qualified path";
	else if (access(exe, R_OK | X_OK) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
		 (c->record && pipe2(rec, O_CLOEXEC) < 0) || (pid = fork()) < 0)
		why = strerror(errno);
	else if (pid == 0)
		exec_child(c, out[1], rec[1]);
	close_fd(&out[1]);
	close_fd(&rec[1]);
	if (why) {
		close_fd(&out[0]);
		close_fd(&rec[0]);
		ran->output = fail_text(exe, why);
		ran->status = 127;
		return -1;
	}
	setpgid(pid, pid); /* also here: no window before the child does */
	return pid;
}

/* How reading a command's output ended. */
typedef enum {
	DRAINED,   /* EOF and the command exited */
	TIMED_OUT, /* the deadline came first */
} drain_end_t;

/*
 * Reads the output into buf until EOF and the command's exit, as
 * run_command (a child holding the pipe keeps the hook running even after
 * the script itself exited), or until `deadline` (< 0: none).
 */
static drain_end_t drain(pid_t pid, int out_r, int pidfd, int64_t deadline, outbuf_t *buf)
{
	int eof = 0, exited = 0;

	for (;;) {
		struct pollfd p[2] = { { .fd = out_r, .events = POLLIN },
				       { .fd = pidfd, .events = POLLIN } };
		int wait_ms = 100;

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
			return DRAINED;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return TIMED_OUT;
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
		if (poll(p, 1, wait_ms) > 0) {
			char chunk[65536];
			ssize_t n = read(out_r, chunk, sizeof(chunk));

			if (n > 0)
				out_append(buf, chunk, (size_t)n);
			else if (n == 0 || errno != EINTR)
				eof = 1;
		}
	}
}

/* The output as the caller gets it: the truncation note, then escaped. */
static char *finish_output(outbuf_t *buf)
{
	char *text;

	if (buf->dropped) {
		char note[sizeof(PD_TRUNCATION_NOTE) + 24];
		int n = snprintf(note, sizeof(note), PD_TRUNCATION_NOTE, buf->dropped);

		out_add(buf, note, n > 0 ? (size_t)n : 0);
	}
	text = pdc_escape_output(buf->data ? buf->data : "", buf->len);
	free(buf->data);
	return text;
}

void pdc_run_one(const pdc_command_t *c, pdc_ran_t *ran)
{
	int out[2], rec[2], pidfd;
	outbuf_t buf = { 0 };
	int64_t deadline = c->timeout_ms < 0 ? -1 : now_ms() + c->timeout_ms;
	pid_t pid;

	memset(ran, 0, sizeof(*ran));
	if ((pid = start(c, out, rec, ran)) < 0)
		return;
	track(pid, c->tag, 1);
	pidfd = open_pidfd(pid);
	ran->timed_out = drain(pid, out[0], pidfd, deadline, &buf) == TIMED_OUT;
	if (ran->timed_out)
		kill_group(pid, c->stop_grace_ms);
	while (waitpid(pid, &ran->status, 0) < 0 && errno == EINTR)
		;
	/* Stragglers too, as run_command does after waitpid; skip its 10 ms
	 * pause when the group is already empty. */
	if (!ran->timed_out && killpg(pid, 0) == 0)
		kill_group(pid, 10);
	track(pid, 0, 0);
	close(out[0]);
	if (pidfd >= 0)
		close(pidfd);
	if (rec[0] >= 0) {
		ran->record = read_record(rec[0]);
		close(rec[0]);
	}
	ran->output = finish_output(&buf);
}
