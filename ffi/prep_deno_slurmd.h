// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prep/deno, slurmd side (Prolog, Epilog): called by the glue, calls the
 * shared config and the core only.
 */
#ifndef PREP_DENO_SLURMD_H
#define PREP_DENO_SLURMD_H

#include "prep_deno_conf.h"

/* Runs SPANK's job prolog/epilog and the configured hooks for `job_env`
 * (a job_env_t) and `cred` (a slurm_cred_t, or NULL); prep_p_prolog(). */
extern int prep_deno_slurmd(void *job_env, void *cred, bool is_epilog);

/* The environment prep/script gives Prolog/Epilog; env_array_free() it. */
extern char **pd_slurmd_build_env(void *job_env, void *cred, bool is_epilog);

/*
 * With PrEpParameters drain_reason (prep_deno_drain.c): drains this node
 * with "<prolog|epilog> <file>: <cause>" before slurmd reports the failure,
 * so Slurm keeps that reason instead of its own. Waits at most a few
 * seconds for the controller.
 */
extern void pd_drain_with_reason(const char *what, uint32_t job_id,
				 const pdc_outcome_t *out);

/* The same for a configured value that matched no file: "<what> <file>:
 * no such file" (modules; shell hooks with drain_reason=all). */
extern void pd_drain_missing(const char *what, uint32_t job_id,
			     const char *pattern);

/* Waits up to `wait_ms` for drain requests still in flight (fini). */
extern int pd_drain_shutdown(int wait_ms);

#endif
