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

/* Decimal strings for the job's numbers, alive as long as the env build. */
typedef struct {
	char job_id[16], uid[16], gid[16], het[16], exit_code[16],
		derived_ec[16], ntasks[16], nhosts[16], restart[16],
		core_count[16], start[24], end[24];
	char *user, *late_user, *cpus;
} job_strings_t;

static const char *or_null(const char *s)
{
	return s ? s : "(null)"; /* what prep/script's %s prints */
}

static void cred_fields(pdc_slurmd_job_t *j, job_strings_t *s,
			slurm_cred_t *cred)
{
	slurm_cred_arg_t *arg = slurm_cred_get_args(cred);

	j->cred[PDC_CRED_ACCOUNT] = arg->job_account;
	j->cred[PDC_CRED_COMMENT] = arg->job_comment;
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(24, 5, 0)
	if (arg->job_core_spec == NO_VAL16) {
		j->cred[PDC_CRED_CORE_SPEC_COUNT] = "0";
		j->cred[PDC_CRED_CORE_SPEC_TYPE] = "cores";
	} else {
		bool threads = arg->job_core_spec & CORE_SPEC_THREAD;

		snprintf(s->core_count, sizeof(s->core_count), "%u",
			 arg->job_core_spec & ~CORE_SPEC_THREAD);
		j->cred[PDC_CRED_CORE_SPEC_COUNT] = s->core_count;
		j->cred[PDC_CRED_CORE_SPEC_TYPE] = threads ? "threads" : "cores";
	}
	if (arg->job_end_time) {
		snprintf(s->end, sizeof(s->end), "%lu", (unsigned long)arg->job_end_time);
		j->cred[PDC_CRED_END_TIME] = s->end;
	}
	j->cred[PDC_CRED_EXTRA] = arg->job_extra;
	j->cred[PDC_CRED_LICENSES] = arg->job_licenses;
	j->cred[PDC_CRED_OVERSUBSCRIBE] =
		job_share_string(arg->job_oversubscribe);
	if (arg->job_start_time) {
		snprintf(s->start, sizeof(s->start), "%lu", (unsigned long)arg->job_start_time);
		j->cred[PDC_CRED_START_TIME] = s->start;
	}
	if (arg->id && arg->id->pw_name)
		s->late_user = xstrdup(arg->id->pw_name);
#endif
	j->cred[PDC_CRED_CONSTRAINTS] = arg->job_constraints;
	if (arg->cpu_array_count) {
		s->cpus = uint32_compressed_to_str(arg->cpu_array_count,
						   arg->cpu_array,
						   arg->cpu_array_reps);
		j->cred[PDC_CRED_CPUS_PER_NODE] = s->cpus;
	}
	if (arg->job_ntasks) {
		snprintf(s->ntasks, sizeof(s->ntasks), "%u", arg->job_ntasks);
		j->cred[PDC_CRED_NTASKS] = s->ntasks;
	}
	if (arg->job_nhosts) {
		snprintf(s->nhosts, sizeof(s->nhosts), "%u", arg->job_nhosts);
		j->cred[PDC_CRED_NUM_NODES] = s->nhosts;
	}
	j->cred[PDC_CRED_PARTITION] = arg->job_partition;
	j->cred[PDC_CRED_RESERVATION] = arg->job_reservation;
	if (arg->job_restart_cnt != INFINITE16) {
		snprintf(s->restart, sizeof(s->restart), "%u",
			 arg->job_restart_cnt);
		j->cred[PDC_CRED_RESTART_COUNT] = s->restart;
	}
	j->cred[PDC_CRED_STDERR] = arg->job_std_err;
	j->cred[PDC_CRED_STDIN] = arg->job_std_in;
	j->cred[PDC_CRED_STDOUT] = arg->job_std_out;
	/* The strings stay the credential's: the env is built before unlock. */
}

/* The environment prep/script gives Prolog/Epilog; env_array_free() it. */
static char **build_env(job_env_t *je, slurm_cred_t *cred, bool is_epilog)
{
	pdc_slurmd_job_t j = { 0 };
	job_strings_t s = { 0 };
	char **env, **core_env;

	/* SPANK variables only if they pass Slurm's own check. */
	if (!valid_spank_job_env(je->spank_job_env, je->spank_job_env_size,
				 je->uid)) {
		je->spank_job_env_size = 0;
		je->spank_job_env = NULL;
	}
	if (je->spank_job_env_size)
		j.spank_env = (const char *const *)je->spank_job_env;
	j.gres_env = (const char *const *)je->gres_job_env;
	j.node_name = or_null(conf->node_name);
	j.conf_file = or_null(conf->conffile);
	j.cluster_name = or_null(slurm_conf.cluster_name);
	snprintf(s.job_id, sizeof(s.job_id), "%u", PD_JOB_ID(je));
	snprintf(s.uid, sizeof(s.uid), "%u", je->uid);
	snprintf(s.gid, sizeof(s.gid), "%u", je->gid);
	j.job_id = s.job_id;
	j.uid = s.uid;
	j.gid = s.gid;
	j.work_dir = or_null(je->work_dir);
#if SLURM_VERSION_NUMBER < SLURM_VERSION_NUM(24, 5, 0)
	s.user = je->user_name ? xstrdup(je->user_name) : uid_to_string(je->uid);
	j.user_name = s.user;
#endif
	if (je->het_job_id && (je->het_job_id != NO_VAL)) {
		snprintf(s.het, sizeof(s.het), "%u", je->het_job_id);
		j.het_job_id = s.het;
	}
	j.node_aliases = je->node_aliases;
	j.node_list = je->node_list;
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(24, 5, 0)
	j.job_nodelist = je->node_list;
#endif
	j.partition = je->partition;
	j.context = is_epilog ? "epilog_slurmd" : "prolog_slurmd";
	if (is_epilog && (je->exit_code != INFINITE)) {
		snprintf(s.exit_code, sizeof(s.exit_code), "%u", je->exit_code);
		snprintf(s.derived_ec, sizeof(s.derived_ec), "%u", je->derived_ec);
		j.exit_code = s.exit_code;
		j.derived_ec = s.derived_ec;
	}
	if (cred)
		cred_fields(&j, &s, cred);
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(24, 5, 0)
	if (!s.late_user)
		s.late_user = uid_to_string(je->uid);
	j.late_user_name = s.late_user;
#endif
	core_env = pdc_slurmd_env(&j);
	if (cred)
		slurm_cred_unlock_args(cred);
	/* Slurm-allocated from here on: SPANK's clean-up xfree()s entries. */
	env = env_array_copy((const char **)core_env);
	pdc_free_argv(core_env);
	xfree(s.user);
	xfree(s.late_user);
	xfree(s.cpus);
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
