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

#include "prep_deno_observe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/common/run_in_daemon.h"
#include "src/common/xstring.h"

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

/*
 * The journal: on by default in the daemons only (the FFI binding and its
 * tests write one only when told); journal=no turns it off. The metrics
 * file of slurmctld is PATH with "_slurmctld" before its ".prom", so a
 * controller that is also a compute node keeps two files, one per daemon.
 */
static void observe_init(bool ctld)
{
	pdc_observe.daemon = ctld ? "slurmctld" : "slurmd";
	if (!pdc_observe.journal && running_in_daemon()) {
		if (mkdir("/var/lib/prep-deno", 0755) < 0 && errno != EEXIST)
			error("prep/deno: cannot create /var/lib/prep-deno: %m");
		pdc_observe.journal = strdup(PD_JOURNAL_PATH);
	}
	if (pdc_observe.journal && (!xstrcasecmp(pdc_observe.journal, "no") ||
				    !*pdc_observe.journal)) {
		free(pdc_observe.journal);
		pdc_observe.journal = NULL;
	}
	if (ctld && pdc_observe.metrics) {
		char *m = pdc_observe.metrics, *dot = strrchr(m, '.');
		char *s = NULL;

		if (dot && !strcmp(dot, ".prom"))
			xstrfmtcat(s, "%.*s_slurmctld.prom", (int)(dot - m), m);
		else
			xstrfmtcat(s, "%s_slurmctld", m);
		free(m);
		pdc_observe.metrics = strdup(s);
		xfree(s);
	}
	info("prep/deno: journal %s, metrics %s",
	     pdc_observe.journal ? pdc_observe.journal : "off",
	     pdc_observe.metrics ? pdc_observe.metrics : "off");
}

extern int init(void)
{
	bool ctld = running_in_slurmctld();

	int bad = pd_conf_parse();

	info("prep/deno %s for Slurm %s", PREP_DENO_VERSION,
	     SLURM_VERSION_STRING);
	if (bad) {
		/* A limit quietly dropped or wrapped is worse than no daemon. */
		error("prep/deno: PrEpParameters has a bad number (above); not starting");
		return SLURM_ERROR;
	}
	observe_init(ctld);
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
