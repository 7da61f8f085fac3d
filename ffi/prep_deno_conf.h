// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What the slurmd and slurmctld sides share: Slurm's headers (by release),
 * PrEpParameters, the hook lists and timeouts of slurm.conf, and the log
 * lines. Below the two sides, above the Slurm-free core; it calls neither
 * side nor the glue.
 */
#ifndef PREP_DENO_CONF_H
#define PREP_DENO_CONF_H

#include "prep_deno_version.h"

#include <stdbool.h>
#include <stdint.h>

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

#if PD_HAVE_INTERFACES_DIR
#include "src/interfaces/prep.h"
#else
#include "src/common/prep.h"
#endif

#include "prep_deno_core.h"

/* PrEpParameters, parsed once by pd_conf_parse(). */
typedef struct {
	char *runner;      /* runner=PATH */
	int heap_mb;       /* heap_mb=MIB */
	int memory_mb;     /* memory_mb=MIB */
	int tasks_max;     /* tasks_max=N */
	bool warm;         /* mode=warm */
	char *socket;      /* socket=PATH */
	int drain_reason;  /* drain_reason=yes|no|all: PD_DRAIN_* */
} prep_deno_params_t;

enum {
	PD_DRAIN_NO,      /* Slurm's own "Prolog error" / "Epilog error" */
	PD_DRAIN_MODULES, /* yes (default): TypeScript hooks name their cause */
	PD_DRAIN_ALL,     /* all: shell hooks too (last line of their output) */
};

extern prep_deno_params_t prep_deno_params;

/*
 * Parses slurm_conf.prep_params into prep_deno_params; logs unknown keys.
 * -1 when a number is bad (each logged, naming the key, the value and the
 * range: pdc_number_check); the plugin then refuses to start.
 */
extern int pd_conf_parse(void);
extern void pd_conf_free(void);

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

/* Logs what init() found for `hook`: each value, module or script. */
extern void pd_conf_report(pd_hook_t hook);

/* One line when the warm service stops answering (once per outage), one
 * when it answers again (with how many hooks took the spawn path). */
extern void pd_log_fallback(uint32_t job_id, const pdc_outcome_t *out);

/* The info line of every hook run: hook, file, job, how it ended, how
 * long it took, how it ran (script, spawn, warm). */
extern void pd_log_run(const char *hook, uint32_t job_id, const char *path,
		       const pdc_outcome_t *out);

/*
 * Logs the outcome of a slurmd hook list in prep/script's words:
 * `what` is "prolog" or "epilog".
 */
/*
 * A hook's output as the log gets it (xfree it): a TypeScript hook's (one
 * with an outcome record) on one line, its newlines as \n; a shell hook's
 * as it is. Both are escaped already (pdc_escape_output).
 */
extern char *pd_output_for_log(const pdc_outcome_t *out);

/* The runner's own line, from a failed TypeScript hook's outcome record. */
extern void pd_log_record(const pdc_outcome_t *out);

extern void pd_log_outcome(const char *what, uint32_t job_id, int timeout_s,
			   const pdc_outcome_t *out);

#endif
