/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The privileged-command broker (see broker.h and docs/security.md,
 * "Privileged commands").
 *
 * Request (the hook's privileged() in src/helpers/privileged.ts): the
 * command's name and its arguments, each NUL-terminated, then the write
 * side shut. Reply: "STATUS OUTLEN ERRLEN\n", then stdout and stderr.
 *
 * A request runs only if its name is one of the plan's commands and its
 * arguments match one of that command's patterns element by element (no
 * shell ever sees them). The command runs as root with exactly its named
 * capabilities (bounding set, permitted and effective; no inheritable or
 * ambient; no_new_privs), a clean environment, "/" as its folder and
 * /dev/null as stdin, in the host's view: the broker's own namespaces.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"
#include "rundir.h"
#include "broker_rules.h"
#include "reap.h"
#include "io.h"

#define MAX_REQUEST 65536
#define MAX_ARGS 256
#define KEEP_OUTPUT (1 << 20)

static const char *const cap_names[] = {
	"CAP_CHOWN",	      "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID",	      "CAP_KILL",	    "CAP_SETGID",	   "CAP_SETUID",
	"CAP_SETPCAP",	      "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",      "CAP_NET_RAW",	    "CAP_IPC_LOCK",	   "CAP_IPC_OWNER",
	"CAP_SYS_MODULE",     "CAP_SYS_RAWIO",	    "CAP_SYS_CHROOT",	   "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",      "CAP_SYS_ADMIN",	    "CAP_SYS_BOOT",	   "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",   "CAP_SYS_TIME",	    "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
	"CAP_LEASE",	      "CAP_AUDIT_WRITE",    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",   "CAP_MAC_ADMIN",	    "CAP_SYSLOG",	   "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",  "CAP_AUDIT_READ",	    "CAP_PERFMON",	   "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};
#define N_CAPS (int)(sizeof(cap_names) / sizeof(cap_names[0]))

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static void reply(int fd, int status, const char *out, size_t out_len, const char *err,
		  size_t err_len)
{
	char head[64];
	int n = snprintf(head, sizeof(head), "%d %zu %zu\n", status, out_len, err_len);

	if (write_all(fd, head, (size_t)n) == 0 && write_all(fd, out, out_len) == 0)
		write_all(fd, err, err_len);
}

/* Whether dir and every folder above it are root's and writable by nobody else. */
static int root_only(const char *dir)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), "%s", dir);
	for (;;) {
		char *slash;

		if (stat(p, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022))
			return 0;
		slash = strrchr(p, '/');
		if (!slash || slash == p)
			return stat("/", &st) == 0 && st.st_uid == 0 && !(st.st_mode & 022);
		*slash = '\0';
	}
}

/*
 * The command's PATH: the usual folders, but only those only root can
 * write (a /usr/local/sbin a group may write, as Debian's "staff" once
 * could, would let its members put a program where the command looks up
 * its helpers by name).
 */
static void safe_path(char *out, size_t size)
{
	static const char *const dirs[] = { "/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
					    "/usr/bin",	       "/sbin",		 "/bin" };
	size_t n = (size_t)snprintf(out, size, "PATH=");

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (root_only(dirs[i]) && n < size)
			n += (size_t)snprintf(out + n, size - n, "%s%s", n > 5 ? ":" : "", dirs[i]);
}

/* In the command's child: exactly the rule's capabilities, then exec. */
static void become(const struct pd_rule *r, char **args, size_t n, int out, int err)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	char *argv[MAX_ARGS + 2], path[256], *env[] = { path, NULL };
	int keep[64] = { 0 }, devnull = open("/dev/null", O_RDONLY);
	char caps[1024];

	safe_path(path, sizeof(path));
	snprintf(caps, sizeof(caps), "%s", r->caps);
	for (char *c = strtok(caps, ","); c; c = strtok(NULL, ","))
		for (int i = 0; i < N_CAPS; i++)
			if (!strcmp(c, cap_names[i]))
				keep[i] = 1;
	for (int i = 0; i < 64; i++) {
		if (keep[i]) {
			data[i / 32].permitted |= 1U << (i % 32);
			data[i / 32].effective |= 1U << (i % 32);
		} else if (prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL) {
			_exit(126);
		}
	}
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 ||
	    chdir("/") < 0 || prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 ||
	    syscall(SYS_capset, &hdr, data) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		dprintf(2, "prep-deno: privileged command \"%s\": cannot set it up: %s\n", r->name,
			strerror(errno));
		_exit(126);
	}
	/* Nothing of the launcher's reaches the command but its three streams. */
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
#endif
		for (int fd = 3; fd < 65536; fd++)
			close(fd);
	argv[0] = (char *)r->path;
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = args[i];
	argv[n + 1] = NULL;
	signal(SIGPIPE, SIG_DFL);
	execve(r->path, argv, env);
	dprintf(2, "prep-deno: privileged command \"%s\": cannot execute %s: %s\n", r->name,
		r->path, strerror(errno));
	_exit(126);
}

/* Reads what fds[0..2) give, up to KEEP_OUTPUT each, the rest dropped (counted in cut). */
static void collect(int fds[2], char *bufs[2], size_t lens[2], size_t cut[2])
{
	struct pollfd p[2] = { { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 } };
	int open_n = 2;
	char chunk[8192];

	while (open_n > 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t got;

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			got = read(p[i].fd, chunk, sizeof(chunk));
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
				open_n--;
				continue;
			}
			{
				size_t take = (size_t)got;

				if (take > KEEP_OUTPUT - lens[i])
					take = KEEP_OUTPUT - lens[i];
				memcpy(bufs[i] + lens[i], chunk, take);
				lens[i] += take;
				cut[i] += (size_t)got - take;
			}
		}
	}
}

/*
 * Appends at most max bytes of s to msg[m..size), each byte that is not
 * printable ASCII as \xNN: an argument with a newline cannot start a line
 * of the broker's own message. Returns the new length.
 */
static int put_escaped(char *msg, size_t size, int m, const char *s, size_t max)
{
	for (size_t i = 0; s[i] && i < max && (size_t)m + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		m += snprintf(msg + m, size - (size_t)m, c >= 0x20 && c < 0x7f && c != '\\' ? "%c" : "\\x%02x", c);
	}
	return m;
}

static void serve(int conn, const struct pd_list *rules)
{
	char *req = malloc(MAX_REQUEST + 1), *args[MAX_ARGS], msg[4096];
	/* stderr has room for the note of what was cut. */
	char *bufs[2] = { malloc(KEEP_OUTPUT), malloc(KEEP_OUTPUT + 512) };
	size_t cut[2] = { 0, 0 };
	size_t len = 0, n = 0, lens[2] = { 0, 0 };
	struct pd_rule r;
	int out[2], err[2], ws, fds[2], status;
	pid_t pid;

	if (!req || !bufs[0] || !bufs[1])
		goto done;
	for (;;) {
		ssize_t got = read(conn, req + len, MAX_REQUEST - len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
		if (len == MAX_REQUEST) {
			snprintf(msg, sizeof(msg), "prep-deno: privileged request too long\n");
			reply(conn, 126, "", 0, msg, strlen(msg));
			goto done;
		}
	}
	if (len == 0 || req[len - 1] != '\0') {
		snprintf(msg, sizeof(msg), "prep-deno: malformed privileged request\n");
		reply(conn, 126, "", 0, msg, strlen(msg));
		goto done;
	}
	for (size_t off = 0; off < len; off += strlen(req + off) + 1) {
		if (n == MAX_ARGS) {
			snprintf(msg, sizeof(msg), "prep-deno: privileged request with too many arguments\n");
			reply(conn, 126, "", 0, msg, strlen(msg));
			goto done;
		}
		args[n++] = req + off;
	}
	if (pd_rule_find(rules, args[0], &r) < 0) {
		int m = snprintf(msg, sizeof(msg), "prep-deno: no privileged command \"");

		m = put_escaped(msg, sizeof(msg) - 200, m, args[0], 200);
		snprintf(msg + m, sizeof(msg) - (size_t)m,
			 "\" in the hook's policy; name it under \"privileged\" in its \"sandbox\" set\n");
		reply(conn, 126, "", 0, msg, strlen(msg));
		goto done;
	}
	if (!pd_rule_allows(&r, args + 1, n - 1)) {
		int m = snprintf(msg, sizeof(msg),
				 "prep-deno: privileged command \"%s\": the arguments", r.name);
		for (size_t i = 1; i < n && m < (int)sizeof(msg) - 800; i++) {
			msg[m++] = ' ';
			m = put_escaped(msg, sizeof(msg) - 300, m, args[i], 100);
		}
		snprintf(msg + m, sizeof(msg) - (size_t)m,
			 " match none of its \"args\" patterns in the policy; add one that allows "
			 "them\n");
		reply(conn, 126, "", 0, msg, strlen(msg));
		goto done;
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		snprintf(msg, sizeof(msg), "prep-deno: cannot start a privileged command: %s\n",
			 strerror(errno));
		reply(conn, 126, "", 0, msg, strlen(msg));
		goto done;
	}
	if (pid == 0)
		become(&r, args + 1, n - 1, out[1], err[1]);
	close(out[1]);
	close(err[1]);
	fds[0] = out[0];
	fds[1] = err[0];
	collect(fds, bufs, lens, cut);
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	/* A list the hook reads never stops short as a success, nor without a word. */
	if (cut[0] || cut[1]) {
		lens[1] += (size_t)snprintf(bufs[1] + lens[1], 512,
					    "prep-deno: privileged command \"%s\": its output past 1 MiB "
					    "was cut (%zu bytes of stdout, %zu of stderr)\n",
					    r.name, cut[0], cut[1]);
		if (status == 0)
			status = 126;
	}
	reply(conn, status, bufs[0], lens[0], bufs[1], lens[1]);
done:
	free(req);
	free(bufs[0]);
	free(bufs[1]);
}

int pd_broker_start(const struct pd_plan *plan, struct pd_broker *b)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	memset(b, 0, sizeof(*b));
	if (plan->privileged.n == 0)
		return 0;
	/*
	 * Root-only: nothing but this launcher and the bind into the view reach
	 * it. The folder is walked from / by descriptor (rundir.c): where any
	 * folder on the way is not root's alone, there is no broker, and the
	 * privileged commands are refused, never served through a user's link.
	 */
	if (pd_run_dir("broker", 0700, b->dir, sizeof(b->dir)) < 0) {
		errno = EPERM;
		return -1;
	}
	/* Named for this launcher: a killed one's folder goes at the next start. */
	pd_sweep_dead(b->dir);
	snprintf(b->dir, sizeof(b->dir), "%s/broker/%d-XXXXXX", PREP_DENO_RUN_DIR, (int)getpid());
	if (!mkdtemp(b->dir))
		return -1;
	snprintf(b->sock, sizeof(b->sock), "%s/sock", b->dir);
	if (strlen(b->sock) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(addr.sun_path, b->sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    chmod(b->sock, 0600) < 0 || listen(fd, SOMAXCONN) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		pd_broker_stop(b);
		errno = e;
		return -1;
	}
	/*
	 * What a command leaves running in a session of its own (a daemon) is
	 * orphaned to us, not to init, so the stop can end it even where no
	 * cgroup holds the hook (see pd_end_orphans in reap.c).
	 */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	b->pid = fork();
	if (b->pid < 0) {
		int e = errno;

		close(fd);
		pd_broker_stop(b);
		errno = e;
		return -1;
	}
	if (b->pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		signal(SIGCHLD, SIG_DFL);
		/* Its own process group: the stop ends what it runs too. */
		setpgid(0, 0);
		/* Gone with the launcher, whatever ends it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		for (;;) {
			int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

			if (conn < 0 && errno == EINTR)
				continue;
			if (conn < 0)
				_exit(0);
			serve(conn, &plan->privileged);
			close(conn);
		}
	}
	close(fd);
	return 0;
}

void pd_broker_stop(struct pd_broker *b)
{
	if (b->pid > 0) {
		kill(-b->pid, SIGKILL);
		kill(b->pid, SIGKILL);
		while (waitpid(b->pid, NULL, 0) < 0 && errno == EINTR)
			;
		b->pid = 0;
		pd_end_orphans();
	}
	if (b->sock[0])
		unlink(b->sock);
	if (b->dir[0])
		rmdir(b->dir);
	b->sock[0] = b->dir[0] = '\0';
}
