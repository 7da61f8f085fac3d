// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prep/deno, slurmctld side: PrologSlurmctld and EpilogSlurmctld. Called
 * with the job write lock held, so it only copies what the hooks need (the
 * environment Slurm's job_common_env_vars() builds, as prep/script uses)
 * and hands it to a core thread; the completion callback comes from that
 * thread, exactly once, whatever happens to the hooks.
 */
#include "prep_deno.h"

#include <unistd.h>

#include "src/common/env.h"
#include "src/common/log.h"
#include "src/common/xmalloc.h"
#include "src/slurmctld/slurmctld.h"

static bool have_prolog_ctld;
static bool have_epilog_ctld;

/* As prep/script's init: a hook that cannot be used is an error and is not
 * run at all (it checks X_OK on scripts; modules need R_OK). */
static bool usable(pd_hook_t hook)
{
	char *const *values;
	int n = pd_conf_values(hook, &values);
	bool any = false;

	for (int i = 0; i < n; i++) {
		int mode = pdc_is_module(values[i]) ? R_OK : X_OK;

		if (access(values[i], mode) < 0)
			error("Invalid %s(`%s`): %m", pd_hook_key(hook),
			      values[i]);
		else
			any = true;
	}
	return any;
}

void prep_deno_slurmctld_init(void)
{
	have_prolog_ctld = usable(PD_PROLOG_SLURMCTLD);
	have_epilog_ctld = usable(PD_EPILOG_SLURMCTLD);
}

bool prep_deno_slurmctld_have(bool is_epilog)
{
	return is_epilog ? (have_epilog_ctld && prep_deno_epilog_slurmctld_cb) :
			   (have_prolog_ctld && prep_deno_prolog_slurmctld_cb);
}

typedef struct {
	bool is_epilog;
} ctld_call_t;

static const ctld_call_t prolog_call = { false };
static const ctld_call_t epilog_call = { true };

/* From the core's thread, exactly once per prep_deno_slurmctld() call. */
static void hook_done(void *arg, uint32_t job_id, const pdc_outcome_t *out)
{
	const ctld_call_t *call = arg;
	pd_hook_t hook = call->is_epilog ? PD_EPILOG_SLURMCTLD :
					   PD_PROLOG_SLURMCTLD;
	void (*cb)(int, uint32_t, bool) = call->is_epilog ?
		prep_deno_epilog_slurmctld_cb : prep_deno_prolog_slurmctld_cb;

	pd_log_fallback(job_id, out);
	if (out->status)
		error("prep/deno: JobId=%u %s %s exit status %u:%u%s output:%s",
		      job_id, pd_hook_key(hook),
		      out->failed_path ? out->failed_path : "",
		      WEXITSTATUS(out->status), WTERMSIG(out->status),
		      out->timed_out ? " (timed out)" : "", out->output);
	else
		debug2("prep/deno: JobId=%u %s completed", job_id,
		       pd_hook_key(hook));
	if (cb)
		cb(out->status, job_id, out->timed_out);
}

bool prep_deno_slurmctld(void *job, bool is_epilog)
{
	job_record_t *job_ptr = job;
	pd_hook_t hook = is_epilog ? PD_EPILOG_SLURMCTLD : PD_PROLOG_SLURMCTLD;
	pdc_config_t cfg = pd_core_config(hook);
	char *const *values;
	int n;
	char **env;

	if (!prep_deno_slurmctld_have(is_epilog))
		return false;
	n = pd_conf_values(hook, &values);
	env = job_common_env_vars(job_ptr, is_epilog);
	setenvf(&env, "SLURM_SCRIPT_CONTEXT", "%s_slurmctld",
		is_epilog ? "epilog" : "prolog");
	/* The core deep-copies everything before this returns. */
	pdc_run_hooks_async(&cfg, (const char *const *)values, (size_t)n, env,
			    job_ptr->job_id, hook_done,
			    (void *)(is_epilog ? &epilog_call : &prolog_call));
	for (int i = 0; env[i]; i++)
		xfree(env[i]);
	xfree(env);
	return true;
}
