// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Shared between the prep/deno ABI glue (prep_deno.c), its slurmd side
 * (prep_deno_slurmd.c) and its slurmctld side (prep_deno_slurmctld.c);
 * also the one place that knows how Slurm versions differ.
 */
#ifndef PREP_DENO_H
#define PREP_DENO_H

#include "config.h"

#include <stdbool.h>
#include <stdint.h>

#include "slurm/slurm.h"
#include "slurm/slurm_errno.h"
#include "src/common/log.h"
#include "src/common/slurm_protocol_defs.h"

/*
 * Slurm's error() by its alias: loaded with RTLD_LOCAL (Deno.dlopen) a plain
 * `error` binds to glibc's error(3), which libc puts first in the global
 * scope. Slurm's other loggers are macros onto slurm_* names already.
 */
extern int slurm_error(const char *, ...) __attribute__((format(printf, 1, 2)));
#define error slurm_error

/* Headers that moved to src/interfaces/ in 23.02. */
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(23, 2, 0)
#include "src/interfaces/prep.h"
#else
#include "src/common/prep.h"
#endif

#include "prep_deno_core.h"

/* Where the runner is unless PrEpParameters=runner=... says otherwise. */
#define PREP_DENO_DEFAULT_RUNNER "/usr/local/sbin/prep-deno"
/* Where the warm service listens (mode=warm) unless socket=... says otherwise. */
#define PREP_DENO_DEFAULT_SOCKET "/run/prep-deno/serve.sock"

/* PrEpParameters, parsed once by init(). */
typedef struct {
	char *runner;
	int heap_mb;
	bool warm;
	char *socket;
} prep_deno_params_t;

extern prep_deno_params_t prep_deno_params;

/* The slurmctld callbacks Slurm registered; NULL until it does. */
extern void (*prep_deno_prolog_slurmctld_cb)(int rc, uint32_t job_id,
					     bool timed_out);
extern void (*prep_deno_epilog_slurmctld_cb)(int rc, uint32_t job_id,
					     bool timed_out);

/* Hook kinds, in slurm.conf terms. */
typedef enum {
	PD_PROLOG,
	PD_EPILOG,
	PD_PROLOG_SLURMCTLD,
	PD_EPILOG_SLURMCTLD,
} pd_hook_t;

/* "Prolog", "Epilog", "PrologSlurmctld", "EpilogSlurmctld". */
extern const char *pd_hook_key(pd_hook_t hook);

/*
 * The configured values for `hook`, as Slurm holds them: up to 23.11 one
 * string (for slurmd hooks a glob), from 24.05 an array. Returns the count;
 * *values points into slurm_conf.
 */
extern int pd_conf_values(pd_hook_t hook, char *const **values);

/* PrologEpilogTimeout (from 25.05: PrologTimeout/EpilogTimeout) in s, or -1. */
extern int pd_conf_timeout(pd_hook_t hook);

/* The core's configuration for `hook`. */
extern pdc_config_t pd_core_config(pd_hook_t hook);

/* One line when the warm service was passed over for the spawn path. */
extern void pd_log_fallback(uint32_t job_id, const pdc_outcome_t *out);

/* Logs the outcome of a hook list the way prep/script words it. */
extern void pd_log_outcome(const char *what, uint32_t job_id, int timeout_s,
			   const pdc_outcome_t *out);

/* slurmd side. */
extern int prep_deno_slurmd(void *job_env, void *cred, bool is_epilog);

/* slurmctld side; returns true when a hook runs (async). */
extern bool prep_deno_slurmctld(void *job_ptr, bool is_epilog);
extern bool prep_deno_slurmctld_have(bool is_epilog);
extern void prep_deno_slurmctld_init(void);

#endif
