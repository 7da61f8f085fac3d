/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The launcher's bottom unit: its one message format, and whole reads. */
#ifndef PREP_DENO_LAUNCHER_IO_H
#define PREP_DENO_LAUNCHER_IO_H

#include "launcher.h"

/* "prep-deno: HOOK MODULE job ID: TEXT" on stderr, the runner's own line. */
void pd_message(const struct pd_hook *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * The cause line, PD_CAUSE_MARKER then TEXT, on stderr: printed last, after
 * the hook's output, so the plugin's drain reason (it takes the last such
 * line) is the runner's, not one the hook printed.
 */
void pd_cause(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* All of fd up to EOF, malloc'd, *len bytes; NULL on error. */
char *pd_read_all(int fd, size_t *len);

#endif
