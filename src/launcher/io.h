/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The launcher's bottom unit: the outcome record it ends with, and whole reads. */
#ifndef PREP_DENO_LAUNCHER_IO_H
#define PREP_DENO_LAUNCHER_IO_H

#include "launcher.h"

/*
 * Ends the hook with one outcome record (src/outcome/outcome_record.ts): kind,
 * status, the cause (one line, the drain reason) and the message (fmt).
 * With h->outcome_fd the record goes there, out of the hook's reach and
 * never through its output; without, the message line and a cause line
 * (PD_CAUSE_MARKER) go to stderr for the person at the terminal. Returns
 * status.
 */
int pd_end(const struct pd_hook *h, const char *kind, int status, const char *cause,
	   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Sends a record the entry wrote (its escaped cause and message) the same
 * way, under this launcher's own place (hook, module, job).
 */
int pd_end_escaped(const struct pd_hook *h, const char *kind, int status, const char *cause,
		   const char *message);

/* An outcome record line (src/outcome/outcome_record.ts), its text fields still escaped. */
struct pd_record {
	char kind[16];
	char cause[PD_REASON_MAX + 1];
	char message[PD_OUTCOME_MAX];
};

/* Reads one whole record line (LF-ended) into r and *status; 0, or -1. */
int pd_parse_record(const char *line, struct pd_record *r, int *status);

/* Escapes text as src/outcome/outcome_record.ts escapeField, at most `max` bytes out. */
void pd_escape(char *out, size_t max, const char *in);

/* All of fd up to EOF, malloc'd, *len bytes; NULL on error. */
char *pd_read_all(int fd, size_t *len);

#endif
