// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prep/deno, slurmd side: the environment of Prolog and Epilog. The same
 * job data, read the way prep/script's slurmd side reads it on the release
 * in use, handed to the core's pdc_slurmd_env() for the variables' order.
 */
#include "prep_deno_slurmd.h"

#include <stdio.h>

#include "src/common/env.h"
#include "src/common/uid.h"
#include "src/common/xmalloc.h"
#include "src/common/xstring.h"
#include "src/slurmd/slurmd/slurmd.h"

#if PD_HAVE_INTERFACES_DIR
#include "src/common/spank.h"
#include "src/interfaces/cred.h"
#else
#include "src/common/plugstack.h"
#include "src/common/slurm_cred.h"
#endif
#if PD_HAVE_SLUID
#include "src/common/sluid.h"
#endif

extern slurmd_conf_t *conf;

/* Decimal strings for the job's numbers, alive as long as the env build. */
typedef struct {
	char job_id[16], uid[16], gid[16], het[16], exit_code[16],
		derived_ec[16], ntasks[16], nhosts[16], restart[16],
		core_count[16], start[24], end[24], sluid[32];
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
#if PD_HAVE_CRED_JOB_DETAILS
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
		PD_OVERSUBSCRIBE_STRING(arg->job_oversubscribe);
	if (arg->job_start_time) {
		snprintf(s->start, sizeof(s->start), "%lu", (unsigned long)arg->job_start_time);
		j->cred[PDC_CRED_START_TIME] = s->start;
	}
#endif
#if !PD_HAVE_JOB_ENV_USER_NAME
	if (arg->id && arg->id->pw_name)
		s->late_user = xstrdup(arg->id->pw_name);
#endif
#if PD_HAVE_CRED_QOS_EXCLUSIVE
	j->cred[PDC_CRED_EXCLUSIVE] =
		job_exclusive_display_string(arg->job_exclusive);
	j->cred[PDC_CRED_QOS] = arg->job_qos;
#endif
#if PD_HAVE_CRED_SELINUX
	j->cred[PDC_CRED_SELINUX_CONTEXT] = arg->job_selinux_context;
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

char **pd_slurmd_build_env(void *job_env, void *cred_arg, bool is_epilog)
{
	job_env_t *je = job_env;
	slurm_cred_t *cred = cred_arg;
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
	snprintf(s.job_id, sizeof(s.job_id), "%u", PD_JOB_ENV_JOB_ID(je));
	snprintf(s.uid, sizeof(s.uid), "%u", je->uid);
	snprintf(s.gid, sizeof(s.gid), "%u", je->gid);
	j.job_id = s.job_id;
	j.uid = s.uid;
	j.gid = s.gid;
	j.work_dir = or_null(je->work_dir);
#if PD_HAVE_SLUID
	if (je->step_id.sluid) {
		print_sluid(je->step_id.sluid, s.sluid, sizeof(s.sluid));
		j.sluid = s.sluid;
	}
#endif
#if PD_HAVE_JOB_ENV_USER_NAME
	s.user = je->user_name ? xstrdup(je->user_name) : uid_to_string(je->uid);
	j.user_name = s.user;
#endif
	if (je->het_job_id && (je->het_job_id != NO_VAL)) {
		snprintf(s.het, sizeof(s.het), "%u", je->het_job_id);
		j.het_job_id = s.het;
	}
#if PD_HAVE_NODE_ALIASES
	j.node_aliases = je->node_aliases;
#endif
	j.node_list = je->node_list;
#if PD_HAVE_SLURMD_JOB_NODELIST
	j.job_nodelist = je->node_list;
#endif
#if PD_HAVE_JOB_ENV_PARTITION
	j.partition = je->partition;
#endif
	j.context = is_epilog ? "epilog_slurmd" : "prolog_slurmd";
	if (is_epilog && (je->exit_code != INFINITE)) {
		snprintf(s.exit_code, sizeof(s.exit_code), "%u", je->exit_code);
		snprintf(s.derived_ec, sizeof(s.derived_ec), "%u", je->derived_ec);
		j.exit_code = s.exit_code;
		j.derived_ec = s.derived_ec;
	}
	if (cred)
		cred_fields(&j, &s, cred);
#if !PD_HAVE_JOB_ENV_USER_NAME
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

