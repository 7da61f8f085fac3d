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

/* One rule of the plan's privileged list (encodePrivileged in src/sandbox/privileged.ts). */
struct rule {
	const char *name, *path, *caps;
	char **patterns; /* each: a count, then its elements */
	size_t n_patterns;
};

/* Whether s[0..len) is in a placeholder's class. */
static int in_class(const char *cls, const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	if (!strcmp(cls, "{int}")) {
		for (i = 0; i < len; i++)
			if (s[i] < '0' || s[i] > '9')
				return 0;
		return 1;
	}
	if (!strcmp(cls, "{ints}") || !strcmp(cls, "{num}")) {
		char sep = cls[1] == 'i' ? ',' : '.';
		int seps = 0;

		for (i = 0; i < len; i++) {
			if (s[i] == sep) {
				if (i == 0 || i + 1 == len || s[i - 1] == sep)
					return 0;
				seps++;
			} else if (s[i] < '0' || s[i] > '9') {
				return 0;
			}
		}
		return sep == ',' || seps <= 1;
	}
	if (!strcmp(cls, "{word}")) {
		if (s[0] == '-' || (len == 1 && s[0] == '.') || (len == 2 && !strncmp(s, "..", 2)))
			return 0;
		for (i = 0; i < len; i++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-",
				    s[i]))
				return 0;
		return 1;
	}
	return 0;
}

/* Whether the whole of s matches pattern p (literals and placeholders). */
static int match(const char *p, const char *s)
{
	static const char *const classes[] = { "{ints}", "{int}", "{num}", "{word}" };

	if (!*p)
		return !*s;
	for (size_t c = 0; c < 4; c++) {
		size_t cl = strlen(classes[c]);

		if (strncmp(p, classes[c], cl))
			continue;
		for (size_t len = strlen(s); len > 0; len--)
			if (in_class(classes[c], s, len) && match(p + cl, s + len))
				return 1;
		return 0;
	}
	return *p == *s && match(p + 1, s + 1);
}

/* The rule named `name`, parsed from the plan's list; -1 if none. */
static int find_rule(const struct pd_list *l, const char *name, struct rule *r)
{
	size_t i = 0;

	while (i + 4 <= l->n) {
		size_t n = strtoul(l->items[i + 3], NULL, 10), j = i + 4;

		r->name = l->items[i];
		r->path = l->items[i + 1];
		r->caps = l->items[i + 2];
		r->patterns = l->items + j;
		r->n_patterns = n;
		for (size_t k = 0; k < n && j < l->n; k++)
			j += 1 + strtoul(l->items[j], NULL, 10);
		if (j > l->n)
			return -1;
		if (!strcmp(r->name, name))
			return 0;
		i = j;
	}
	return -1;
}

/* Whether args[0..n) matches one of the rule's patterns. */
static int allowed(const struct rule *r, char **args, size_t n)
{
	char **p = r->patterns;

	for (size_t k = 0; k < r->n_patterns; k++) {
		size_t len = strtoul(*p, NULL, 10), i;

		for (i = 0; i < len && i < n && match(p[1 + i], args[i]); i++)
			;
		if (i == len && len == n)
			return 1;
		p += 1 + len;
	}
	return 0;
}

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

/* In the command's child: exactly the rule's capabilities, then exec. */
static void become(const struct rule *r, char **args, size_t n, int out, int err)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	char *argv[MAX_ARGS + 2], *env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
					     NULL };
	int keep[64] = { 0 }, devnull = open("/dev/null", O_RDONLY);
	char caps[1024];

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

/* Reads what fds[0..2) give, up to KEEP_OUTPUT each, the rest dropped. */
static void collect(int fds[2], char *bufs[2], size_t lens[2])
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
			if (lens[i] < KEEP_OUTPUT) {
				size_t take = (size_t)got;

				if (take > KEEP_OUTPUT - lens[i])
					take = KEEP_OUTPUT - lens[i];
				memcpy(bufs[i] + lens[i], chunk, take);
				lens[i] += take;
			}
		}
	}
}

static void serve(int conn, const struct pd_list *rules)
{
	char *req = malloc(MAX_REQUEST + 1), *args[MAX_ARGS], msg[4096];
	char *bufs[2] = { malloc(KEEP_OUTPUT), malloc(KEEP_OUTPUT) };
	size_t len = 0, n = 0, lens[2] = { 0, 0 };
	struct rule r;
	int out[2], err[2], ws, fds[2];
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
	if (find_rule(rules, args[0], &r) < 0) {
		snprintf(msg, sizeof(msg),
			 "prep-deno: no privileged command \"%.200s\" in the hook's policy; name it "
			 "under \"privileged\" in its \"sandbox\" set\n",
			 args[0]);
		reply(conn, 126, "", 0, msg, strlen(msg));
		goto done;
	}
	if (!allowed(&r, args + 1, n - 1)) {
		int m = snprintf(msg, sizeof(msg),
				 "prep-deno: privileged command \"%s\": the arguments", r.name);
		for (size_t i = 1; i < n && m < (int)sizeof(msg) - 300; i++)
			m += snprintf(msg + m, sizeof(msg) - (size_t)m, " %.100s", args[i]);
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
	collect(fds, bufs, lens);
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	reply(conn, WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws), bufs[0], lens[0],
	      bufs[1], lens[1]);
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
	/* Root-only: nothing but this launcher and the bind into the view reach it. */
	mkdir(PREP_DENO_RUN_DIR, 0755);
	snprintf(b->dir, sizeof(b->dir), "%s/broker", PREP_DENO_RUN_DIR);
	mkdir(b->dir, 0700);
	snprintf(b->dir, sizeof(b->dir), "%s/broker/XXXXXX", PREP_DENO_RUN_DIR);
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
	    chmod(b->sock, 0600) < 0 || listen(fd, 16) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		pd_broker_stop(b);
		errno = e;
		return -1;
	}
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
	}
	if (b->sock[0])
		unlink(b->sock);
	if (b->dir[0])
		rmdir(b->dir);
	b->sock[0] = b->dir[0] = '\0';
}
