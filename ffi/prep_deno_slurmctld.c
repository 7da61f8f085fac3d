// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prep/deno, slurmctld side: PrologSlurmctld and EpilogSlurmctld. Called
 * with the job write lock held, so it only copies what the hooks need (the
 * environment Slurm's job_common_env_vars() builds, as prep/script uses)
 * and hands it to a core thread; the completion callback comes from that
 * thread, exactly once per call, whatever happens to the hooks.
 *
 * Several entries (24.05+) run at once, as slurmscriptd runs them. Where
 * prep/script then calls back once per entry (spec §5.3: the first one to
 * end lets the job start, later ones re-run the "all done" branch), this
 * calls back once, when all have ended, with the first failure in
 * configured order: slurmctld counts one callback per async call.
 *
 * A cancelled job's running PrologSlurmctld: slurmctld tells slurmscriptd
 * to kill it (slurmscriptd_flush_job), which no plugin can hook. It calls
 * the epilog of the job next (deallocate_nodes), so that call SIGKILLs the
 * job's PrologSlurmctld first; its callback then carries a signal without
 * timed_out, which slurmctld counts as "prolog completed", as under
 * prep/script.
 */
#include "prep_deno_slurmctld.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "src/common/env.h"
#include "src/common/xmalloc.h"
#include "src/slurmctld/slurmctld.h"

static bool have_prolog_ctld;
static bool have_epilog_ctld;
static pd_ctld_cb_t prolog_cb;
static pd_ctld_cb_t epilog_cb;

void prep_deno_slurmctld_callbacks(pd_ctld_cb_t prolog, pd_ctld_cb_t epilog)
{
	prolog_cb = prolog;
	epilog_cb = epilog;
}

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
	return is_epilog ? (have_epilog_ctld && epilog_cb) :
			   (have_prolog_ctld && prolog_cb);
}

/* The kill tag of PrologSlurmctld lists (pdc_kill_tagged()). */
#define PROLOG_CTLD_TAG 1

typedef struct {
	bool is_epilog;
} ctld_call_t;

static const ctld_call_t prolog_call = { false };
static const ctld_call_t epilog_call = { true };

/* After each hook: slurmscriptd's words (its lines have no other prefix). */
static void each_hook(void *arg, uint32_t job_id, const char *path,
		      const pdc_outcome_t *one)
{
	const ctld_call_t *call = arg;
	const char *key = pd_hook_key(call->is_epilog ? PD_EPILOG_SLURMCTLD :
							PD_PROLOG_SLURMCTLD);
	pd_log_fallback(job_id, one);
	if (one->timed_out)
		error(PD_RUN_COMMAND_FN ": %s poll timeout @ %d msec", key,
		      pd_conf_timeout(call->is_epilog ? PD_EPILOG_SLURMCTLD :
							PD_PROLOG_SLURMCTLD) *
			      1000);
	if (PD_CTLD_SIGKILL_IS_KILLED && WIFSIGNALED(one->status) &&
	    WTERMSIG(one->status) == SIGKILL) {
		info("_run_script: JobId=%u %s killed by signal %u", job_id,
		     key, WTERMSIG(one->status));
	} else if (one->status) {
		error("_run_script: JobId=%u %s exit status %u:%u", job_id, key,
		      WEXITSTATUS(one->status), WTERMSIG(one->status));
		char *text = pd_output_for_log(one);

		verbose("prep/deno: JobId=%u %s %s output:%s", job_id, key,
			path, text);
		xfree(text);
		pd_log_record(one);
	} else {
		debug2("SCRIPT: _run_script JobId=%u %s completed", job_id, key);
	}
	pd_log_run(call->is_epilog ? "epilog_slurmctld" : "prolog_slurmctld",
		   job_id, path, one);
}

/* From the core's thread, exactly once per prep_deno_slurmctld() call. */
static void hook_done(void *arg, uint32_t job_id, const pdc_outcome_t *out)
{
	const ctld_call_t *call = arg;
	pd_ctld_cb_t cb = call->is_epilog ? epilog_cb : prolog_cb;

	if (cb)
		cb(out->status, job_id, out->timed_out);
}

/* Microseconds on the monotonic clock. */
static long usec_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

bool prep_deno_slurmctld(void *job, bool is_epilog)
{
	long began = usec_now();
	job_record_t *job_ptr = job;
	pd_hook_t hook = is_epilog ? PD_EPILOG_SLURMCTLD : PD_PROLOG_SLURMCTLD;
	pdc_config_t cfg = pd_core_config(hook);
	char *const *values;
	int n;
	char **env;

	/* A job ending while its PrologSlurmctld runs: kill that first. */
	if (is_epilog && have_prolog_ctld) {
		int killed = pdc_kill_tagged(job_ptr->job_id, PROLOG_CTLD_TAG);

		if (killed)
			info("prep/deno: JobId=%u ended: killed its running "
			     "PrologSlurmctld", job_ptr->job_id);
	}
	if (!prep_deno_slurmctld_have(is_epilog))
		return false;
	n = pd_conf_values(hook, &values);
	env = job_common_env_vars(job_ptr, is_epilog);
	setenvf(&env, PD_CONTEXT_VAR, "%s_slurmctld",
		is_epilog ? "epilog" : "prolog");
	cfg.each = each_hook;
	cfg.each_arg = (void *)(is_epilog ? &epilog_call : &prolog_call);
	cfg.concurrent = 1;
	cfg.kill_tag = is_epilog ? 0 : PROLOG_CTLD_TAG;
	/* The file slurmctld read (its -f, SLURM_CONF or the default). */
	cfg.slurm_conf = slurm_conf.slurm_conf;
	/* The core deep-copies everything before this returns. */
	pdc_run_hooks_async(&cfg, (const char *const *)values, (size_t)n, env,
			    job_ptr->job_id, hook_done, cfg.each_arg);
	for (int i = 0; env[i]; i++)
		xfree(env[i]);
	xfree(env);
	/* slurmctld holds the job write lock all this time: its cost to the
	 * controller (Slurm's own timer logs prep_g_* only past 1 s). */
	debug2("prep/deno: JobId=%u %s: usec=%ld in the plugin",
	       job_ptr->job_id, pd_hook_key(hook), usec_now() - began);
	return true;
}
