// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prep/deno core: the client of the warm service (src/warm/). One hook is
 * one connection: a length-prefixed request of NUL-separated fields (the
 * header PD_WARM_FIELDS names, then KEY=VALUE...), an empty frame once the hook
 * started, then a length-prefixed reply (exit status, NUL, the outcome
 * record line, NUL, the hook's output: the record never inside it). No
 * reply before the hook started means "not answering", and the caller runs
 * the hook through the spawn path; no reply after it started fails the hook
 * (it may have run: it is never run twice).
 */
#define _GNU_SOURCE
#include "prep_deno_core.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* How long the service may take to accept and read a request. */
#define WARM_CONNECT_MS 1000

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *why_text(const char *fmt, const char *detail)
{
	char *s = NULL;

	if (asprintf(&s, fmt, detail) < 0)
		return NULL;
	return s;
}

/* Moves all of `len` bytes either way before `deadline`; 0 or -1. */
static int transfer(int fd, void *buf, size_t len, int64_t deadline,
		    int writing)
{
	char *p = buf;

	while (len) {
		struct pollfd pfd = { .fd = fd,
				      .events = writing ? POLLOUT : POLLIN };
		int64_t left = deadline < 0 ? 1000 : deadline - mono_ms();
		ssize_t n;

		if (left <= 0)
			return errno = ETIMEDOUT, -1;
		/* A signal to slurmd's thread (SIGUSR2, SIGHUP) only retries. */
		if (poll(&pfd, 1, left > 60000 ? 60000 : (int)left) <= 0)
			continue;
		n = writing ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
		if (n == 0)
			return errno = ECONNRESET, -1;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	/* Done: no errno left over from a retried poll speaks for it. */
	errno = 0;
	return 0;
}

static const char *context_of(char *const *envp)
{
	for (size_t i = 0; envp && envp[i]; i++)
		if (!strncmp(envp[i], PD_CONTEXT_VAR "=",
			     sizeof(PD_CONTEXT_VAR)))
			return envp[i] + sizeof(PD_CONTEXT_VAR);
	return "";
}

/* The hook a context runs, for the record's place ("?" if unknown). */
static const char *hook_of(const char *context)
{
#define PD_HOOK_ROW(context, hook) { context, hook },
	static const char *const map[][2] = { PD_HOOK_CONTEXTS(PD_HOOK_ROW) };
#undef PD_HOOK_ROW

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(context, map[i][0]))
			return map[i][1];
	return "?";
}

/* The value of `name` in envp, or "?". */
static const char *env_value(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; envp && envp[i]; i++)
		if (!strncmp(envp[i], name, n) && envp[i][n] == '=')
			return envp[i] + n + 1;
	return "?";
}

enum {
#define PD_WARM_FIELD_ENUM(suffix, name) WARM_##suffix,
	PD_WARM_FIELDS(PD_WARM_FIELD_ENUM)
#undef PD_WARM_FIELD_ENUM
	WARM_FIELD_N
};

static char *build_request(const char *path, const char *context,
			   int timeout_s, const char *slurm_conf,
			   char *const *envp, uint32_t *len)
{
	char timeout[16] = "";
	size_t total = 0, off = 4;
	const char *head[WARM_FIELD_N];
	char *req;

	if (timeout_s >= 0)
		snprintf(timeout, sizeof(timeout), "%d", timeout_s);
	head[WARM_MAGIC] = PD_WARM_MAGIC;
	head[WARM_MODULE] = path;
	head[WARM_CONTEXT] = context;
	head[WARM_TIMEOUT] = timeout;
	/* Only an absolute path, as the spawn path's --slurm-conf. */
	head[WARM_SLURM_CONF] = slurm_conf && slurm_conf[0] == '/' ? slurm_conf : "";
	for (int i = 0; i < WARM_FIELD_N; i++)
		total += strlen(head[i]) + 1;
	for (size_t i = 0; envp && envp[i]; i++)
		total += strlen(envp[i]) + 1;
	if (!(req = malloc(total + 4)))
		return NULL;
	for (int i = 0; i < WARM_FIELD_N; i++) {
		memcpy(req + off, head[i], strlen(head[i]) + 1);
		off += strlen(head[i]) + 1;
	}
	for (size_t i = 0; envp && envp[i]; i++) {
		memcpy(req + off, envp[i], strlen(envp[i]) + 1);
		off += strlen(envp[i]) + 1;
	}
	*len = (uint32_t)total;
	memcpy(req, len, 4); /* little-endian hosts, as the service */
	return req;
}

/*
 * Why the answer to a started hook never came, as the node's reason and the
 * journal say it: from how the read ended, never "exit status 1".
 */
static char *lost_cause(int err, uint32_t reply_len, int timeout_s)
{
	char *cause = NULL;
	int n;

	if (err == ECONNRESET || err == EPIPE)
		n = asprintf(&cause, "warm service stopped mid-hook");
	else if (err == ETIMEDOUT)
		n = asprintf(&cause, "warm service gave no answer in %d s",
			     timeout_s + PD_RUNNER_GRACE_S);
	else if (!err && reply_len > PD_WARM_MAX_FRAME)
		n = asprintf(&cause, "warm service answer too large (%u bytes)",
			     (unsigned)reply_len);
	else if (err)
		n = asprintf(&cause, "warm service answer unreadable: %s",
			     strerror(err));
	else
		n = asprintf(&cause, "warm service answer malformed");
	return n < 0 ? NULL : cause;
}

int pdc_warm_run(const char *socket_path, const char *path, int timeout_s,
		 const char *slurm_conf, char *const *envp, int *status, char **output, char **record,
		 char **why)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int64_t start = mono_ms();
	/* The hook's own time, the runner's grace, and the service's share. */
	int64_t deadline = timeout_s < 0 ? -1 :
		start + (int64_t)(timeout_s + PD_RUNNER_GRACE_S) * 1000;
	uint32_t len = 0, reply_len = 0;
	char *req = NULL, *reply = NULL, *nul, *rec_end;
	int fd = -1, rc = -1, started = 0, err = 0;

	*why = NULL;
	if (strlen(socket_path) >= sizeof(addr.sun_path)) {
		*why = why_text("socket path too long: %s", socket_path);
		return -1;
	}
	strcpy(addr.sun_path, socket_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		*why = why_text("cannot connect: %s", strerror(errno));
		goto out;
	}
	if (!(req = build_request(path, context_of(envp), timeout_s,
				  slurm_conf, envp, &len))) {
		*why = why_text("%s", "out of memory");
		goto out;
	}
	if (transfer(fd, req, len + 4, start + WARM_CONNECT_MS, 1) < 0) {
		*why = why_text("cannot send the request: %s", strerror(errno));
		goto out;
	}
	/* An empty frame: the hook started; the reply follows. */
	do {
		if ((err = transfer(fd, &reply_len, 4, deadline, 0) < 0 ? errno : 0))
			break;
		started |= reply_len == 0;
	} while (reply_len == 0);
	if (!err && reply_len <= PD_WARM_MAX_FRAME && !(reply = malloc(reply_len + 1)))
		err = ENOMEM;
	if (!err && reply && transfer(fd, reply, reply_len, deadline, 0) < 0)
		err = errno;
	if (err || reply_len > PD_WARM_MAX_FRAME) {
		if (started) {
			/*
			 * It may have run in part or whole: fail it with the
			 * real cause, never run it a second time.
			 */
			char *cause = lost_cause(err, reply_len, timeout_s);

			*status = PD_EXIT_FAILED << 8;
			if (!cause ||
			    asprintf(record, PD_OUTCOME_MAGIC "\tlost\t%d\t%s\t%s\t%s\t"
				     "%s\t"
				     "the warm service gave no result after the hook "
				     "started: %s; the hook failed and was not run again",
				     PD_EXIT_FAILED, hook_of(context_of(envp)), path,
				     env_value(envp, "SLURM_JOB_ID"), cause, cause) < 0)
				*record = NULL;
			free(cause);
			*output = strdup("");
			rc = *output ? 0 : -1;
			goto out;
		}
		*why = why_text("no answer: %s", err ? strerror(err) :
				"malformed reply");
		goto out;
	}
	reply[reply_len] = '\0';
	if (!(nul = memchr(reply, '\0', reply_len)) ||
	    !(rec_end = memchr(nul + 1, '\0', reply_len - (size_t)(nul + 1 - reply)))) {
		*why = why_text("%s", "malformed reply");
		goto out;
	}
	*status = (atoi(reply) & 0xff) << 8; /* an exit status, as wait(2) */
	/* The record: the service's own field, one printable line. */
	*record = NULL;
	if (!strncmp(nul + 1, PD_OUTCOME_MAGIC "\t", strlen(PD_OUTCOME_MAGIC) + 1) &&
	    rec_end - nul - 1 < PD_OUTCOME_MAX) {
		int clean = 1;

		for (const char *c = nul + 1; c < rec_end; c++)
			if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
				clean = 0;
		if (clean)
			*record = strdup(nul + 1);
	}
	/* The same cap as the spawn path's (PD_MAX_OUTPUT), escaped as there. */
	{
		size_t n = reply_len - (size_t)(rec_end + 1 - reply);

		*output = pdc_escape_output(rec_end + 1, n < PD_MAX_OUTPUT ? n : PD_MAX_OUTPUT);
	}
	rc = 0;
out:
	free(req);
	free(reply);
	if (fd >= 0)
		close(fd);
	return rc;
}
