// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prep/deno: the PrEp plugin ABI. Hooks ending in .ts, .mts or .js run
 * through the prep-deno runner; anything else runs as prep/script runs it.
 *
 * The plugin in one direction:
 *   prep_deno.c (this: the ABI glue) and prep_deno_ffi.c (the same from Deno)
 *     -> prep_deno_slurmd*.c, prep_deno_drain.c  (slurmd side)
 *        prep_deno_slurmctld.c                   (slurmctld side)
 *     -> prep_deno_conf.c  (PrEpParameters, slurm.conf, log lines)
 *     -> the core, no Slurm header: prep_deno_hooks.c, _run.c, _async.c,
 *        _env.c, _warm.c, _contract.c
 * Release differences: prep_deno_version.h only. C/TypeScript contract:
 * prep_deno_contract.h (with the timeout story).
 */
#include "prep_deno_conf_settings.h"
#include "prep_deno_slurmctld.h"
#include "prep_deno_slurmd.h"

#include <unistd.h>

#include "src/common/run_in_daemon.h"

#ifndef PREP_DENO_VERSION
#define PREP_DENO_VERSION "unknown" /* scripts/build-plugin.sh: VERSION */
#endif

const char plugin_name[] = "prep/deno: TypeScript and script PrEp plugin";
const char plugin_type[] = "prep/deno";
const uint32_t plugin_version = SLURM_VERSION_NUMBER;

/* prep/deno's own version (the VERSION file), for logs and the binding. */
const char *prep_deno_version(void)
{
	return PREP_DENO_VERSION;
}

extern int init(void)
{
	bool ctld = running_in_slurmctld();

	pd_conf_parse();
	info("prep/deno %s for Slurm %s", PREP_DENO_VERSION,
	     SLURM_VERSION_STRING);
	pd_settings_log(ctld);
	pd_conf_report(ctld ? PD_PROLOG_SLURMCTLD : PD_PROLOG);
	pd_conf_report(ctld ? PD_EPILOG_SLURMCTLD : PD_EPILOG);
	if (ctld)
		prep_deno_slurmctld_init();
	return SLURM_SUCCESS;
}

extern void fini(void)
{
	int left = pdc_shutdown(10000);

	if (left)
		error("prep/deno: %d slurmctld hook(s) still running at fini", left);
	if ((left = pd_drain_shutdown(5000)))
		error("prep/deno: %d drain request(s) still waiting for slurmctld "
		      "at fini", left);
	pd_settings_free();
	pd_conf_free();
}

extern void prep_p_register_callbacks(prep_callbacks_t *callbacks)
{
	/* Without a callback the hooks cannot run safely, as in prep/script. */
	prep_deno_slurmctld_callbacks(callbacks->prolog_slurmctld,
				      callbacks->epilog_slurmctld);
}

extern int prep_p_prolog(job_env_t *job_env, slurm_cred_t *cred)
{
	pd_settings_check_changed();
	return prep_deno_slurmd(job_env, cred, false);
}

extern int prep_p_epilog(job_env_t *job_env, slurm_cred_t *cred)
{
	pd_settings_check_changed();
	return prep_deno_slurmd(job_env, cred, true);
}

extern int prep_p_prolog_slurmctld(job_record_t *job_ptr, bool *async)
{
	pd_settings_check_changed();
	*async = prep_deno_slurmctld(job_ptr, false);
	return SLURM_SUCCESS;
}

extern int prep_p_epilog_slurmctld(job_record_t *job_ptr, bool *async)
{
	pd_settings_check_changed();
	*async = prep_deno_slurmctld(job_ptr, true);
	return SLURM_SUCCESS;
}

extern void prep_p_required(prep_call_type_t type, bool *required)
{
	*required = false;
	switch (type) {
	case PREP_PROLOG_SLURMCTLD:
		*required = running_in_slurmctld() &&
			    prep_deno_slurmctld_have(false);
		break;
	case PREP_EPILOG_SLURMCTLD:
		*required = running_in_slurmctld() &&
			    prep_deno_slurmctld_have(true);
		break;
	case PREP_PROLOG:
	case PREP_EPILOG:
		*required = running_in_slurmd();
		break;
	default:
		break;
	}
}
