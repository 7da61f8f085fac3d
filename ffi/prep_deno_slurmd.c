// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prep/deno, slurmd side: Prolog and Epilog. Builds the environment from
 * the same job data and in the same order as prep/script's slurmd side for
 * the Slurm version in use, expands each configured value as a glob, runs
 * SPANK job prologs/epilogs first, then each hook in order.
 */
#include "prep_deno.h"

#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/common/env.h"
#include "src/common/log.h"
#include "src/common/uid.h"
#include "src/common/xmalloc.h"
#include "src/common/xstring.h"
#include "src/slurmd/slurmd/req.h"
#include "src/slurmd/slurmd/slurmd.h"

#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(23, 2, 0)
#include "src/common/spank.h"
#include "src/interfaces/cred.h"
#else
#include "src/common/plugstack.h"
#include "src/common/slurm_cred.h"
#endif

/* slurmd's own `conf` wins over this definition when loaded into slurmd;
 * outside slurmd (the FFI binding) it stays NULL. */
slurmd_conf_t *conf = NULL;

#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(25, 11, 0)
#define PD_JOB_ID(je) ((je)->step_id.job_id)
#else
#define PD_JOB_ID(je) ((je)->jobid)
#endif

static void set_cred_vars(char ***env, slurm_cred_t *cred, bool *user_set)
{
	slurm_cred_arg_t *arg = slurm_cred_get_args(cred);

	if (arg->job_account)
		setenvf(env, "SLURM_JOB_ACCOUNT", "%s", arg->job_account);
	if (arg->job_comment)
		setenvf(env, "SLURM_JOB_COMMENT", "%s", arg->job_comment);
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(24, 5, 0)
	if (arg->job_core_spec == NO_VAL16) {
		setenvf(env, "SLURM_JOB_CORE_SPEC_COUNT", "0");
		setenvf(env, "SLURM_JOB_CORE_SPEC_TYPE", "cores");
	} else if (arg->job_core_spec & CORE_SPEC_THREAD) {
		setenvf(env, "SLURM_JOB_CORE_SPEC_COUNT", "%u",
			arg->job_core_spec & (~CORE_SPEC_THREAD));
		setenvf(env, "SLURM_JOB_CORE_SPEC_TYPE", "threads");
	} else {
		setenvf(env, "SLURM_JOB_CORE_SPEC_COUNT", "%u",
			arg->job_core_spec);
		setenvf(env, "SLURM_JOB_CORE_SPEC_TYPE", "cores");
	}
#endif
	if (arg->job_constraints)
		setenvf(env, "SLURM_JOB_CONSTRAINTS", "%s",
			arg->job_constraints);
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(24, 5, 0)
	if (arg->job_end_time)
		setenvf(env, "SLURM_JOB_END_TIME", "%lu", arg->job_end_time);
	if (arg->job_extra)
		setenvf(env, "SLURM_JOB_EXTRA", "%s", arg->job_extra);
#endif
	if (arg->cpu_array_count) {
		char *tmp = uint32_compressed_to_str(arg->cpu_array_count,
						     arg->cpu_array,
						     arg->cpu_array_reps);
		setenvf(env, "SLURM_JOB_CPUS_PER_NODE", "%s", tmp);
		xfree(tmp);
	}
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(24, 5, 0)
	if (arg->job_licenses)
		setenvf(env, "SLURM_JOB_LICENSES", "%s", arg->job_licenses);
#endif
	if (arg->job_ntasks)
		setenvf(env, "SLURM_JOB_NTASKS", "%u", arg->job_ntasks);
	if (arg->job_nhosts)
		setenvf(env, "SLURM_JOB_NUM_NODES", "%u", arg->job_nhosts);
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(24, 5, 0)
	setenvf(env, "SLURM_JOB_OVERSUBSCRIBE", "%s",
		job_share_string(arg->job_oversubscribe));
#endif
	if (arg->job_partition)
		setenvf(env, "SLURM_JOB_PARTITION", "%s", arg->job_partition);
	if (arg->job_reservation)
		setenvf(env, "SLURM_JOB_RESERVATION", "%s",
			arg->job_reservation);
	if (arg->job_restart_cnt != INFINITE16)
		setenvf(env, "SLURM_JOB_RESTART_COUNT", "%u",
			arg->job_restart_cnt);
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(24, 5, 0)
	if (arg->job_start_time)
		setenvf(env, "SLURM_JOB_START_TIME", "%lu",
			arg->job_start_time);
#endif
	if (arg->job_std_err)
		setenvf(env, "SLURM_JOB_STDERR", "%s", arg->job_std_err);
	if (arg->job_std_in)
		setenvf(env, "SLURM_JOB_STDIN", "%s", arg->job_std_in);
	if (arg->job_std_out)
		setenvf(env, "SLURM_JOB_STDOUT", "%s", arg->job_std_out);
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(24, 5, 0)
	if (arg->id && arg->id->pw_name) {
		*user_set = true;
		setenvf(env, "SLURM_JOB_USER", "%s", arg->id->pw_name);
	}
#else
	(void)user_set;
#endif
	slurm_cred_unlock_args(cred);
}

/* The environment prep/script gives Prolog/Epilog; env_array_free() it. */
static char **build_env(job_env_t *je, slurm_cred_t *cred, bool is_epilog)
{
	char **env = env_array_create();
	bool user_set = false;
	uint32_t job_id = PD_JOB_ID(je);

	/* SPANK variables first, and only if they pass Slurm's check. */
	if (!valid_spank_job_env(je->spank_job_env, je->spank_job_env_size,
				 je->uid)) {
		je->spank_job_env_size = 0;
		je->spank_job_env = NULL;
	}
	if (je->spank_job_env_size)
		env_array_merge(&env, (const char **)je->spank_job_env);
	if (je->gres_job_env)
		env_array_merge(&env, (const char **)je->gres_job_env);

	setenvf(&env, "SLURMD_NODENAME", "%s", conf->node_name);
	setenvf(&env, "SLURM_CONF", "%s", conf->conffile);
	setenvf(&env, "SLURM_CLUSTER_NAME", "%s", slurm_conf.cluster_name);
	setenvf(&env, "SLURM_JOB_ID", "%u", job_id);
	setenvf(&env, "SLURM_JOB_UID", "%u", je->uid);
	setenvf(&env, "SLURM_JOB_GID", "%u", je->gid);
	setenvf(&env, "SLURM_JOB_WORK_DIR", "%s", je->work_dir);
#if SLURM_VERSION_NUMBER < SLURM_VERSION_NUM(24, 5, 0)
	{
		char *name = je->user_name ? xstrdup(je->user_name) :
					     uid_to_string(je->uid);
		setenvf(&env, "SLURM_JOB_USER", "%s", name);
		xfree(name);
		user_set = true;
	}
#endif
	setenvf(&env, "SLURM_JOBID", "%u", job_id);
	if (je->het_job_id && (je->het_job_id != NO_VAL)) {
		setenvf(&env, "SLURM_PACK_JOB_ID", "%u", je->het_job_id);
		setenvf(&env, "SLURM_HET_JOB_ID", "%u", je->het_job_id);
	}
	setenvf(&env, "SLURM_UID", "%u", je->uid);
	if (je->node_aliases)
		setenvf(&env, "SLURM_NODE_ALIASES", "%s", je->node_aliases);
	if (je->node_list) {
		setenvf(&env, "SLURM_NODELIST", "%s", je->node_list);
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(24, 5, 0)
		setenvf(&env, "SLURM_JOB_NODELIST", "%s", je->node_list);
#endif
	}
	if (je->partition)
		setenvf(&env, "SLURM_JOB_PARTITION", "%s", je->partition);
	setenvf(&env, "SLURM_SCRIPT_CONTEXT", "%s_slurmd",
		is_epilog ? "epilog" : "prolog");
	if (is_epilog && (je->exit_code != INFINITE)) {
		int code = 0, sig = 0;

		if (WIFEXITED(je->exit_code))
			code = WEXITSTATUS(je->exit_code);
		if (WIFSIGNALED(je->exit_code))
			sig = WTERMSIG(je->exit_code);
		setenvf(&env, "SLURM_JOB_DERIVED_EC", "%u", je->derived_ec);
		setenvf(&env, "SLURM_JOB_EXIT_CODE", "%u", je->exit_code);
		setenvf(&env, "SLURM_JOB_EXIT_CODE2", "%d:%d", code, sig);
	}
	if (cred)
		set_cred_vars(&env, cred, &user_set);
	if (!user_set) {
		char *name = uid_to_string(je->uid);
		setenvf(&env, "SLURM_JOB_USER", "%s", name);
		xfree(name);
	}
	return env;
}

/*
 * Each configured value expanded as a glob, in order; xfree each. A value
 * that matches nothing fails the hook, as in prep/script (a missing Prolog
 * drains the node): *ok is set false.
 */
static char **expand_paths(pd_hook_t hook, size_t *n_out, bool *ok)
{
	char *const *values;
	int n = pd_conf_values(hook, &values);
	char **paths = NULL;
	size_t n_paths = 0;

	for (int i = 0; i < n; i++) {
		glob_t gl;
		int rc = glob(values[i], GLOB_ERR, NULL, &gl);

		if (rc == 0) {
			for (size_t j = 0; j < gl.gl_pathc; j++) {
				xrealloc(paths, (n_paths + 1) * sizeof(char *));
				paths[n_paths++] = xstrdup(gl.gl_pathv[j]);
			}
		} else {
			error("%s: Unable to create list of paths [%s]",
			      hook == PD_EPILOG ? "epilog" : "prolog",
			      values[i]);
			*ok = false;
		}
		globfree(&gl);
	}
	*n_out = n_paths;
	return paths;
}

#if SLURM_VERSION_NUMBER < SLURM_VERSION_NUM(24, 5, 0)
/* In the child, before exec: the job's container, as run_command did. */
static void join_container(void *arg)
{
	job_env_t *je = arg;

	if (je->container_join)
		(void)je->container_join(PD_JOB_ID(je), getuid());
}
#endif

/* `slurmstepd spank prolog|epilog`, fed the slurmd config on stdin. */
static int run_spank(const char *mode, char **env, uint32_t job_id,
		     int timeout_s)
{
	char *argv[] = { conf->stepd_loc, "spank", (char *)mode, NULL };
	int pfd[2], status = 0;
	pid_t pid;

	if (pipe(pfd) < 0)
		return error("prep/deno: spank %s: pipe: %m", mode);
	if ((pid = fork()) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return error("prep/deno: spank %s: fork: %m", mode);
	}
	if (pid == 0) {
		dup2(pfd[0], STDIN_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		setpgid(0, 0);
		execve(argv[0], argv, env);
		_exit(127);
	}
	close(pfd[0]);
	if (send_slurmd_conf_lite(pfd[1], conf) < 0)
		error("prep/deno: spank %s: cannot send the slurmd config", mode);
	close(pfd[1]);
	for (int waited = 0;; waited += 50) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (timeout_s >= 0 && waited >= timeout_s * 1000) {
			error("[job %u] spank/%s timed out: killing pgid %d",
			      job_id, mode, pid);
			killpg(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return SLURM_ERROR;
		}
		usleep(50000);
	}
	if (status)
		error("spank/%s returned status 0x%04x", mode, status);
	spank_clear_remote_options_env(env);
	return status;
}

int prep_deno_slurmd(void *job_env, void *cred, bool is_epilog)
{
	job_env_t *je = job_env;
	pd_hook_t hook = is_epilog ? PD_EPILOG : PD_PROLOG;
	const char *name = is_epilog ? "epilog" : "prolog";
	pdc_config_t cfg = pd_core_config(hook);
	char **env = NULL, **paths;
	size_t n_paths = 0;
	int rc = SLURM_SUCCESS;
	bool paths_ok = true;

	/* As prep/script: both SPANK and the hooks run, the hooks' status wins. */
	if (is_epilog ? spank_has_epilog() : spank_has_prolog()) {
		env = build_env(je, cred, is_epilog);
		rc = run_spank(name, env, PD_JOB_ID(je), cfg.timeout_s);
	}
	paths = expand_paths(hook, &n_paths, &paths_ok);
	if (!paths_ok) {
		rc = SLURM_ERROR;
	} else if (n_paths) {
		pdc_outcome_t out;

		if (!env)
			env = build_env(je, cred, is_epilog);
#if SLURM_VERSION_NUMBER < SLURM_VERSION_NUM(24, 5, 0)
		pdc_run_hooks(&cfg, (const char *const *)paths, n_paths, env,
			      join_container, je, &out);
#else
		pdc_run_hooks(&cfg, (const char *const *)paths, n_paths, env,
			      NULL, NULL, &out);
#endif
		pd_log_outcome(name, PD_JOB_ID(je), cfg.timeout_s, &out);
		if (out.status)
			rc = out.status;
		pdc_outcome_free(&out);
	}
	for (size_t i = 0; i < n_paths; i++)
		xfree(paths[i]);
	xfree(paths);
	env_array_free(env);
	return rc;
}
