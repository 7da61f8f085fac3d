// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Inside the core: running one command (prep_deno_run.c), used by the hook
 * lists (prep_deno_hooks.c) and the threads (prep_deno_async.c).
 */
#ifndef PREP_DENO_RUN_H
#define PREP_DENO_RUN_H

#include "prep_deno_core.h"

/*
 * Runs argv[0] with `envp` until its output reaches EOF, or kills its group
 * at `timeout_ms` (< 0: never: SIGTERM, then SIGKILL once the command has
 * exited or `stop_grace_ms` passed) and sets *timed_out. Returns its wait
 * status, or 127 if it cannot run; *output is malloc'd, capped at
 * PD_MAX_OUTPUT and then PD_TRUNCATION_NOTE, escaped (pdc_escape_output).
 * With `record`, the command gets a pipe's write end as descriptor 3
 * (PD_OUTCOME_FD, the runner's --outcome-fd) and *record is the last whole
 * line it wrote there (malloc'd), or NULL.
 */
extern int pdc_run_one(char *const *argv, char *const *envp, int timeout_ms,
		       int stop_grace_ms,
		       pdc_child_fn child, void *child_arg, uint64_t tag,
		       int signals, int *timed_out, char **output,
		       char **record);

/* A NULL-terminated deep copy of v[0..n); free with pdc_free_argv. */
extern char **pdc_dup_strv(const char *const *v, size_t n);
extern size_t pdc_strv_len(char *const *v);

/* SIGKILLs the process group of every command running now. */
extern void pdc_kill_all(void);

#endif
