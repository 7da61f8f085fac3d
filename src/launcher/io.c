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

void pd_message(const struct pd_hook *h, const char *fmt, ...)
{
	char text[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	dprintf(2, "prep-deno: %s %s job %s: %s\n", h->hook ? h->hook : "hook",
		h->module ? h->module : "?", h->job_id ? h->job_id : "?", text);
}

void pd_cause(const char *fmt, ...)
{
	char text[PD_REASON_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	text[strcspn(text, "\n")] = '\0';
	dprintf(2, "%s%s\n", PD_CAUSE_MARKER, text);
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
