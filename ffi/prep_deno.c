// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prep/deno: the PrEp plugin ABI. Hooks ending in .ts, .mts or .js run
 * through the prep-deno runner; anything else runs as prep/script runs it.
 * The slurmd side is prep_deno_slurmd.c, the slurmctld side
 * prep_deno_slurmctld.c, the process work prep_deno_core.c.
 */
#include "prep_deno.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/common/log.h"
#include "src/common/run_in_daemon.h"
#include "src/common/xmalloc.h"
#include "src/common/xstring.h"

const char plugin_name[] = "prep/deno: TypeScript and script PrEp plugin";
const char plugin_type[] = "prep/deno";
const uint32_t plugin_version = SLURM_VERSION_NUMBER;

prep_deno_params_t prep_deno_params;
void (*prep_deno_prolog_slurmctld_cb)(int rc, uint32_t job_id,
				      bool timed_out) = NULL;
void (*prep_deno_epilog_slurmctld_cb)(int rc, uint32_t job_id,
				      bool timed_out) = NULL;

const char *pd_hook_key(pd_hook_t hook)
{
	static const char *const keys[] = { "Prolog", "Epilog",
					    "PrologSlurmctld",
					    "EpilogSlurmctld" };
	return keys[hook];
}

int pd_conf_values(pd_hook_t hook, char *const **values)
{
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(24, 5, 0)
	switch (hook) {
	case PD_PROLOG:
		*values = slurm_conf.prolog;
		return slurm_conf.prolog_cnt;
	case PD_EPILOG:
		*values = slurm_conf.epilog;
		return slurm_conf.epilog_cnt;
	case PD_PROLOG_SLURMCTLD:
		*values = slurm_conf.prolog_slurmctld;
		return slurm_conf.prolog_slurmctld_cnt;
	default:
		*values = slurm_conf.epilog_slurmctld;
		return slurm_conf.epilog_slurmctld_cnt;
	}
#else
	char *const *one;

	switch (hook) {
	case PD_PROLOG:
		one = &slurm_conf.prolog;
		break;
	case PD_EPILOG:
		one = &slurm_conf.epilog;
		break;
	case PD_PROLOG_SLURMCTLD:
		one = &slurm_conf.prolog_slurmctld;
		break;
	default:
		one = &slurm_conf.epilog_slurmctld;
		break;
	}
	*values = one;
	return *one ? 1 : 0;
#endif
}

int pd_conf_timeout(pd_hook_t hook)
{
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(25, 5, 0)
	uint16_t t = (hook == PD_PROLOG || hook == PD_PROLOG_SLURMCTLD) ?
		slurm_conf.prolog_timeout : slurm_conf.epilog_timeout;
#else
	uint16_t t = slurm_conf.prolog_epilog_timeout;

	(void)hook;
#endif
	return (t == NO_VAL16 || t == 0) ? -1 : (int)t;
}

pdc_config_t pd_core_config(pd_hook_t hook)
{
	pdc_config_t cfg = {
		.runner = prep_deno_params.runner,
		.timeout_s = pd_conf_timeout(hook),
		.heap_mb = prep_deno_params.heap_mb,
		.warm_socket = prep_deno_params.warm ? prep_deno_params.socket :
						       NULL,
	};
	return cfg;
}

void pd_log_fallback(uint32_t job_id, const pdc_outcome_t *out)
{
	if (out->fallback)
		error("prep/deno: [job %u] warm service at %s not answering (%s); "
		      "the hook ran through the spawn path",
		      job_id, prep_deno_params.socket, out->fallback);
}

void pd_log_outcome(const char *what, uint32_t job_id, int timeout_s,
		    const pdc_outcome_t *out)
{
	pd_log_fallback(job_id, out);
	if (!out->status) {
		debug2("%s success rc:0 output:%s", what, out->output);
		return;
	}
	/* A timeout line first, then the status line, as run_command does. */
	if (out->timed_out)
		error("[job %u] %s %s: timeout after %d s", job_id, what,
		      out->failed_path ? out->failed_path : "", timeout_s);
	if (WIFEXITED(out->status))
		error("%s failed: rc:%u output:%s", what,
		      WEXITSTATUS(out->status), out->output);
	else if (WIFSIGNALED(out->status))
		error("%s killed by signal %u output:%s", what,
		      WTERMSIG(out->status), out->output);
	else
		error("%s didn't run: status:%d reason:%s", what, out->status,
		      out->output);
}

/* PrEpParameters=runner=/path,heap_mb=N,mode=spawn|warm,socket=/path */
static void parse_params(void)
{
	char *copy, *tok, *save = NULL;

	xfree(prep_deno_params.runner);
	xfree(prep_deno_params.socket);
	prep_deno_params.runner = xstrdup(PREP_DENO_DEFAULT_RUNNER);
	prep_deno_params.socket = xstrdup(PREP_DENO_DEFAULT_SOCKET);
	prep_deno_params.heap_mb = 0;
	prep_deno_params.warm = false;
	if (!slurm_conf.prep_params)
		return;
	copy = xstrdup(slurm_conf.prep_params);
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!xstrncasecmp(tok, "runner=", 7)) {
			xfree(prep_deno_params.runner);
			prep_deno_params.runner = xstrdup(tok + 7);
		} else if (!xstrncasecmp(tok, "heap_mb=", 8)) {
			prep_deno_params.heap_mb = atoi(tok + 8);
		} else if (!xstrcasecmp(tok, "mode=warm")) {
			prep_deno_params.warm = true;
		} else if (!xstrcasecmp(tok, "mode=spawn")) {
			prep_deno_params.warm = false;
		} else if (!xstrncasecmp(tok, "socket=", 7)) {
			xfree(prep_deno_params.socket);
			prep_deno_params.socket = xstrdup(tok + 7);
		} else {
			error("prep/deno: PrEpParameters: unknown \"%s\" (known: "
			      "runner=PATH, heap_mb=MIB, mode=spawn|warm, "
			      "socket=PATH)", tok);
		}
	}
	xfree(copy);
}

/* Logs what init() found for one hook kind; errors name the path. */
static void report_hooks(pd_hook_t hook)
{
	char *const *values;
	int n = pd_conf_values(hook, &values);

	for (int i = 0; i < n; i++) {
		const char *v = values[i];

		if (!v)
			continue;
		if (!pdc_is_module(v)) {
			verbose("prep/deno: %s=%s runs as a script", pd_hook_key(hook), v);
			continue;
		}
		if (access(v, R_OK) < 0)
			error("prep/deno: %s=%s: cannot read the module: %m; "
			      "the hook will fail until it exists",
			      pd_hook_key(hook), v);
		else
			info("prep/deno: %s=%s runs through %s", pd_hook_key(hook),
			     v, prep_deno_params.runner);
	}
}

extern int init(void)
{
	bool ctld = running_in_slurmctld();

	parse_params();
	if (access(prep_deno_params.runner, X_OK) < 0)
		error("prep/deno: runner %s is not executable: %m; TypeScript "
		      "hooks will fail (set PrEpParameters=runner=PATH)",
		      prep_deno_params.runner);
	else
		info("prep/deno: runner %s", prep_deno_params.runner);
	if (prep_deno_params.warm)
		info("prep/deno: mode=warm: TypeScript hooks go to the service at "
		     "%s, or through the spawn path when it does not answer",
		     prep_deno_params.socket);
	report_hooks(ctld ? PD_PROLOG_SLURMCTLD : PD_PROLOG);
	report_hooks(ctld ? PD_EPILOG_SLURMCTLD : PD_EPILOG);
	if (ctld)
		prep_deno_slurmctld_init();
	return SLURM_SUCCESS;
}

extern void fini(void)
{
	int left = pdc_shutdown(10000);

	if (left)
		error("prep/deno: %d slurmctld hook(s) still running at fini", left);
	xfree(prep_deno_params.runner);
	xfree(prep_deno_params.socket);
}

extern void prep_p_register_callbacks(prep_callbacks_t *callbacks)
{
	/* Without a callback the hooks cannot run safely, as in prep/script. */
	prep_deno_prolog_slurmctld_cb = callbacks->prolog_slurmctld;
	prep_deno_epilog_slurmctld_cb = callbacks->epilog_slurmctld;
}

extern int prep_p_prolog(job_env_t *job_env, slurm_cred_t *cred)
{
	return prep_deno_slurmd(job_env, cred, false);
}

extern int prep_p_epilog(job_env_t *job_env, slurm_cred_t *cred)
{
	return prep_deno_slurmd(job_env, cred, true);
}

extern int prep_p_prolog_slurmctld(job_record_t *job_ptr, bool *async)
{
	*async = prep_deno_slurmctld(job_ptr, false);
	return SLURM_SUCCESS;
}

extern int prep_p_epilog_slurmctld(job_record_t *job_ptr, bool *async)
{
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
