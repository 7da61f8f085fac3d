// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Inside the core: running one command (prep_deno_run.c), used by the hook
 * lists (prep_deno_hooks.c) and the threads (prep_deno_async.c).
 */
#ifndef PREP_DENO_RUN_H
#define PREP_DENO_RUN_H

#include "prep_deno_core.h"

/* What to run, and how (pdc_run_one). */
typedef struct {
	char *const *argv;   /* argv[0]: an absolute path */
	char *const *envp;   /* NULL: an empty environment */
	int timeout_ms;      /* < 0: never */
	int stop_grace_ms;   /* at the timeout: SIGTERM, this, SIGKILL */
	pdc_child_fn child;  /* called in the child before exec; may be NULL */
	void *child_arg;
	uint64_t tag;        /* pdc_kill_tagged's (kill tag << 32 | job id); 0: none */
	int signals;         /* PDC_SIGNALS_*: the mask the command starts with */
	int record;          /* hand it the outcome record's pipe as PD_OUTCOME_FD */
} pdc_command_t;

/* How it ended. */
typedef struct {
	int status;    /* wait status; 127: it could not run */
	int timed_out; /* the timeout killed its group */
	char *output;  /* malloc'd, capped, escaped */
	char *record;  /* malloc'd, or NULL (no record, or none asked for) */
} pdc_ran_t;

/*
 * Runs c->argv[0] with c->envp until its output reaches EOF and it exited,
 * or kills its group at c->timeout_ms (SIGTERM, then SIGKILL once the
 * command has exited or c->stop_grace_ms passed). ran->output is capped at
 * PD_MAX_OUTPUT and then PD_TRUNCATION_NOTE, escaped (pdc_escape_output).
 * With c->record, the command gets a pipe's write end as descriptor 3
 * (PD_OUTCOME_FD, the runner's --outcome-fd) and ran->record is the last
 * whole line it wrote there.
 */
extern void pdc_run_one(const pdc_command_t *c, pdc_ran_t *ran);

/* A NULL-terminated deep copy of v[0..n); free with pdc_free_argv. */
extern char **pdc_dup_strv(const char *const *v, size_t n);
extern size_t pdc_strv_len(char *const *v);

/* SIGKILLs the process group of every command running now. */
extern void pdc_kill_all(void);

#endif
