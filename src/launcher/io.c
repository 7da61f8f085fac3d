/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The launcher's bottom unit (io.h): used by every other, uses none. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"

void pd_escape(char *out, size_t max, const char *in)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		char esc[5];
		size_t k;

		if (*p == '\\')
			k = (size_t)snprintf(esc, sizeof(esc), "\\\\");
		else if (*p == '\t')
			k = (size_t)snprintf(esc, sizeof(esc), "\\t");
		else if (*p == '\n')
			k = (size_t)snprintf(esc, sizeof(esc), "\\n");
		else if (*p == '\r')
			k = (size_t)snprintf(esc, sizeof(esc), "\\r");
		else if (*p < 0x20 || *p == 0x7f)
			k = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", *p);
		else
			esc[0] = (char)*p, esc[1] = '\0', k = 1;
		if (n + k + 1 > max)
			break;
		memcpy(out + n, esc, k);
		n += k;
	}
	/* Never end inside a UTF-8 character: the reader takes whole ones. */
	while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
		n--;
	if (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0xc0)
		n--;
	out[n] = '\0';
}

/* Whether an escaped field is whole: no control byte, no tab. */
static int clean(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* Field `i` (0-based) of a tab-separated line into out; -1 if missing. */
static int field(const char *line, int i, char *out, size_t size)
{
	const char *p = line;
	size_t n;

	while (i-- > 0) {
		p = strchr(p, '\t');
		if (!p)
			return -1;
		p++;
	}
	n = strcspn(p, "\t\n");
	snprintf(out, size, "%.*s", (int)n, p);
	return 0;
}

int pd_parse_record(const char *line, struct pd_record *r, int *status)
{
	char st[8], magic[32], *end;
	long v;

	if (!strchr(line, '\n') || field(line, 0, magic, sizeof(magic)) ||
	    strcmp(magic, PD_OUTCOME_MAGIC) || field(line, 1, r->kind, sizeof(r->kind)) ||
	    field(line, 2, st, sizeof(st)) || field(line, 6, r->cause, sizeof(r->cause)) ||
	    field(line, 7, r->message, sizeof(r->message)))
		return -1;
	v = strtol(st, &end, 10);
	if (!st[0] || *end || v < 0 || v > 255)
		return -1;
	*status = (int)v;
	return 0;
}

int pd_end_escaped(const struct pd_hook *h, const char *kind, int status, const char *cause,
		   const char *message)
{
	char hook[65], module[1025], job[65];

	if (!clean(cause) || !clean(message))
		return pd_end(h, "lost", status, "the hook's outcome record was malformed",
			      "the hook's outcome record was malformed");
	pd_escape(hook, sizeof(hook), h->hook ? h->hook : "hook");
	pd_escape(module, sizeof(module), h->module ? h->module : "?");
	pd_escape(job, sizeof(job), h->job_id ? h->job_id : "?");
	if (h->outcome_fd >= 0) {
		dprintf(h->outcome_fd, "%s\t%s\t%d\t%s\t%s\t%s\t%.*s\t%.*s\n", PD_OUTCOME_MAGIC,
			kind, status, hook, module, job, PD_REASON_MAX, cause,
			(int)(PD_OUTCOME_MAX - 1400), message);
		return status;
	}
	if (message[0])
		dprintf(2, PD_MESSAGE_PREFIX " %s\n", hook, module, job, message);
	if (cause[0])
		dprintf(2, "%s%.*s\n", PD_CAUSE_MARKER, PD_REASON_MAX, cause);
	return status;
}

int pd_end(const struct pd_hook *h, const char *kind, int status, const char *cause,
	   const char *fmt, ...)
{
	char text[2048], message[PD_OUTCOME_MAX], why[PD_REASON_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	pd_escape(message, PD_OUTCOME_MAX - 1400, text);
	pd_escape(why, sizeof(why), cause);
	return pd_end_escaped(h, kind, status, why, message);
}

char *pd_read_all(int fd, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);

	while (buf) {
		ssize_t got;

		if (n == cap) {
			char *bigger = realloc(buf, cap *= 2);
			if (!bigger)
				break;
			buf = bigger;
		}
		got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		if (got == 0) {
			*len = n;
			return buf;
		}
		n += (size_t)got;
	}
	free(buf);
	return NULL;
}
