// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Inputs for running the plugin outside a daemon, through the Deno binding
 * (ffi/binding.ts): a loaded slurm.conf, slurmd's `conf`, and a job_env_t,
 * each built here because their layout is the Slurm version's this file is
 * compiled against. Inside slurmd or slurmctld they refuse to do anything.
 */
#include "prep_deno_conf.h"
#include "prep_deno_observe.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "src/common/env.h"
#include "src/common/read_config.h"
#include "src/common/run_command.h"
#include "src/common/run_in_daemon.h"
#include "src/common/xmalloc.h"
#include "src/common/xstring.h"
#include "src/slurmd/slurmd/slurmd.h"

extern slurmd_conf_t *conf;

/* Loads `path` as slurm.conf; returns SLURM_SUCCESS or an error. */
extern int prep_deno_ffi_load_conf(const char *path)
{
	if (running_in_daemon())
		return SLURM_ERROR;
	return slurm_conf_init(path);
}

/* Gives the slurmd side the node name and config path it logs and passes. */
extern int prep_deno_ffi_slurmd_conf(const char *node_name,
				     const char *conffile)
{
	static slurmd_conf_t fake;

	if (running_in_daemon() || (conf && conf != &fake))
		return SLURM_ERROR;
	xfree(fake.node_name);
	xfree(fake.conffile);
	fake.node_name = xstrdup(node_name);
	fake.conffile = xstrdup(conffile);
	conf = &fake;
	return SLURM_SUCCESS;
}

/* A job_env_t for this Slurm version; free with prep_deno_ffi_job_env_free. */
extern job_env_t *prep_deno_ffi_job_env(uint32_t job_id, uint32_t uid,
					uint32_t gid, const char *user_name,
					const char *work_dir,
					const char *node_list,
					const char *partition,
					uint32_t exit_code, uint32_t derived_ec,
					char **gres_env)
{
	job_env_t *je = xmalloc(sizeof(*je));

	/* Extra variables ride in the GRES list: merged first, as Slurm does. */
	if (gres_env)
		je->gres_job_env = env_array_copy((const char **)gres_env);

	PD_JOB_ENV_JOB_ID(je) = job_id;
#if PD_HAVE_JOB_ENV_USER_NAME
	je->user_name = xstrdup(user_name);
#else
	(void)user_name;
#endif
	je->uid = uid;
	je->gid = gid;
	je->work_dir = xstrdup(work_dir);
	je->node_list = xstrdup(node_list);
	je->partition = xstrdup(partition);
	je->exit_code = exit_code;
	je->derived_ec = derived_ec;
	return je;
}

extern void prep_deno_ffi_job_env_free(job_env_t *je)
{
	if (!je)
		return;
#if PD_HAVE_JOB_ENV_USER_NAME
	xfree(je->user_name);
#endif
	env_array_free(je->gres_job_env);
	xfree(je->work_dir);
	xfree(je->node_list);
	xfree(je->partition);
	xfree(je);
}

/*
 * Runs `path` through Slurm's own run_command(), exactly as prep/script's
 * slurmd side runs a Prolog, for comparing against it (deno task bench).
 * Returns the wait status.
 */
extern int prep_deno_ffi_run_command(const char *path, char **env,
				     int timeout_ms)
{
	char *argv[2] = { (char *)path, NULL };
	int status = 0;
	run_command_args_t args = {
		.env = env,
		.max_wait = timeout_ms,
		.script_argv = argv,
		.script_path = path,
		.script_type = "prolog",
		.status = &status,
	};
	char *resp = run_command(&args);

	xfree(resp);
	return status;
}

/*
 * The layouts the binding relies on, from this build: the core's structs,
 * prep_callbacks_t and prep_call_type_t, and job_env_t (made here, opaque
 * to the binding, reported for its size check). JSON; static.
 */
extern const char *prep_deno_ffi_layout_json(void)
{
	static char json[1024];

	if (!json[0])
		snprintf(json, sizeof(json),
			 "{\"slurm\":\"%s\",\"prep_callbacks_t\":{\"size\":%zu,"
			 "\"prolog_slurmctld\":%zu,\"epilog_slurmctld\":%zu},"
			 "\"prep_call_type_t\":{\"PREP_PROLOG\":%d,"
			 "\"PREP_EPILOG\":%d,\"PREP_PROLOG_SLURMCTLD\":%d,"
			 "\"PREP_EPILOG_SLURMCTLD\":%d},"
			 "\"job_env_t\":{\"size\":%zu}}",
			 SLURM_VERSION_STRING, sizeof(prep_callbacks_t),
			 offsetof(prep_callbacks_t, prolog_slurmctld),
			 offsetof(prep_callbacks_t, epilog_slurmctld),
			 PREP_PROLOG, PREP_EPILOG, PREP_PROLOG_SLURMCTLD,
			 PREP_EPILOG_SLURMCTLD, sizeof(job_env_t));
	return json;
}

/*
 * For the bench: the cost of what the plugin does after each hook run (a
 * journal record with `output_bytes` of output, the metrics textfile
 * rewritten), `n` times into `journal` and `metrics`. Returns the mean in
 * ns per run (with `cpu`, of this thread's CPU time, kernel time included:
 * what it costs whatever else the machine runs), or -1.
 */
extern long long prep_deno_ffi_observe_cost(const char *journal,
					    const char *metrics, int n,
					    int output_bytes, int cpu)
{
	char *env[] = { "SLURM_SCRIPT_CONTEXT=prolog_slurmd",
			"SLURM_JOB_ID=42", "SLURM_JOB_USER=ann", NULL };
	pdc_outcome_t out = { 0 };
	struct timespec a, b;
	char *saved_j = pdc_observe.journal, *saved_m = pdc_observe.metrics;

	if (running_in_daemon() || n <= 0 || output_bytes < 0)
		return -1;
	out.output = xmalloc((size_t)output_bytes + 1);
	memset(out.output, 'x', (size_t)output_bytes);
	out.duration_ms = 87;
	out.mode = PDC_MODE_SPAWN;
	pdc_observe.journal = (char *)journal;
	pdc_observe.metrics = (char *)metrics;
	clock_gettime(cpu ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++)
		pdc_observe_hook(env, "/etc/slurm/hooks/site.ts", &out);
	clock_gettime(cpu ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &b);
	pdc_observe.journal = saved_j;
	pdc_observe.metrics = saved_m;
	xfree(out.output);
	return ((long long)(b.tv_sec - a.tv_sec) * 1000000000LL +
		(b.tv_nsec - a.tv_nsec)) / n;
}
