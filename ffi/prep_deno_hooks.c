// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prep/deno core: a hook list. Which hooks go through the runner, the argv
 * of each, and running a list in order up to its first failure, as
 * prep/script's list_for_each over its scripts.
 */
#define _GNU_SOURCE
#include "prep_deno_run.h"
#include "prep_deno_observe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

int pdc_is_module(const char *path)
{
	const char *dot = strrchr(path, '.');
	const char *slash = strrchr(path, '/');

	if (!dot || (slash && dot < slash))
		return 0;
	return !strcmp(dot, ".ts") || !strcmp(dot, ".mts") ||
	       !strcmp(dot, ".js");
}

char **pdc_hook_argv(const pdc_config_t *cfg, const char *path)
{
	/* runner, run, path, six flag pairs (outcome fd, timeout, heap, memory,
	 * tasks, slurm.conf), NULL: 16. */
	char **argv = calloc(16, sizeof(char *));
	char num[32];
	int n = 0;

	if (!argv)
		return NULL;
	if (!pdc_is_module(path)) {
		argv[n++] = strdup(path);
		return argv;
	}
	argv[n++] = strdup(cfg->runner ? cfg->runner : "");
	argv[n++] = strdup("run");
	argv[n++] = strdup(path);
	/* The outcome record's pipe (pdc_run_one), out of the hook's reach. */
	snprintf(num, sizeof(num), "%d", PD_OUTCOME_FD);
	argv[n++] = strdup("--outcome-fd");
	argv[n++] = strdup(num);
	if (cfg->timeout_s >= 0) {
		snprintf(num, sizeof(num), "%d", cfg->timeout_s);
		argv[n++] = strdup("--timeout");
		argv[n++] = strdup(num);
	}
	if (cfg->heap_mb > 0) {
		snprintf(num, sizeof(num), "%d", cfg->heap_mb);
		argv[n++] = strdup("--heap-mb");
		argv[n++] = strdup(num);
	}
	if (cfg->memory_mb > 0) {
		snprintf(num, sizeof(num), "%d", cfg->memory_mb);
		argv[n++] = strdup("--memory-mb");
		argv[n++] = strdup(num);
	}
	if (cfg->tasks_max > 0) {
		snprintf(num, sizeof(num), "%d", cfg->tasks_max);
		argv[n++] = strdup("--tasks-max");
		argv[n++] = strdup(num);
	}
	if (cfg->slurm_conf && cfg->slurm_conf[0] == '/') {
		argv[n++] = strdup("--slurm-conf");
		argv[n++] = strdup(cfg->slurm_conf);
	}
	return argv;
}

void pdc_free_argv(char **argv)
{
	if (!argv)
		return;
	for (int i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

char **pdc_dup_strv(const char *const *v, size_t n)
{
	char **out = calloc(n + 1, sizeof(char *));

	for (size_t i = 0; out && i < n; i++)
		out[i] = strdup(v[i]);
	return out;
}

size_t pdc_strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/*
 * How long the core waits for one hook (< 0: forever): T, and for a module
 * T + PD_RUNNER_GRACE_S, the runner's own timeout coming first (the timeout
 * story, prep_deno_contract.h).
 */
static int hook_timeout_ms(const pdc_config_t *cfg, int module)
{
	if (cfg->timeout_s < 0)
		return -1;
	return (cfg->timeout_s + (module ? PD_RUNNER_GRACE_S : 0)) * 1000;
}

/*
 * A module through the warm service, when mode=warm and no earlier hook of
 * the list fell back: 1 when the service answered (out filled), 0 when the
 * spawn path must run it (out->fallback may say why).
 */
static int run_warm(const pdc_config_t *cfg, const char *path, char *const *envp,
		    pdc_outcome_t *out)
{
	if (!cfg->warm_socket || out->fallback)
		return 0;
	if (pdc_warm_run(cfg->warm_socket, path, cfg->timeout_s, cfg->slurm_conf,
			 envp, &out->status, &out->output, &out->record,
			 &out->fallback))
		return 0;
	out->timed_out = 0;
	return 1;
}

/* One hook as a process: a shell script itself, a module through the runner. */
static void run_spawned(const pdc_config_t *cfg, const char *path, int module,
			char *const *envp, pdc_child_fn child, void *child_arg,
			pdc_outcome_t *out)
{
	char **argv = pdc_hook_argv(cfg, path);
	pdc_ran_t ran;

	if (!argv) {
		out->status = 127;
		return;
	}
	pdc_run_one(&(pdc_command_t){
			    .argv = argv,
			    .envp = envp,
			    .timeout_ms = hook_timeout_ms(cfg, module),
			    .stop_grace_ms = module ? PD_RUNNER_STOP_GRACE_MS : 10,
			    .child = child,
			    .child_arg = child_arg,
			    .tag = cfg->kill_tag ?
				    ((uint64_t)cfg->kill_tag << 32) | cfg->job_id : 0,
			    /* the runner: a clean start */
			    .signals = module ? PDC_SIGNALS_NONE : cfg->signals,
			    .record = module,
		    },
		    &ran);
	pdc_free_argv(argv);
	out->status = ran.status;
	out->timed_out = ran.timed_out;
	out->output = ran.output;
	out->record = ran.record;
}

static long long clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pdc_run_hooks(const pdc_config_t *cfg, const char *const *paths,
		  size_t n_paths, char *const *envp, pdc_child_fn child,
		  void *child_arg, pdc_outcome_t *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n_paths; i++) {
		int module = pdc_is_module(paths[i]);
		long long began = clock_ms(CLOCK_MONOTONIC);

		free(out->output);
		free(out->record);
		out->output = out->record = NULL;
		out->started_ms = clock_ms(CLOCK_REALTIME);
		out->mode = module ? PDC_MODE_SPAWN : PDC_MODE_SCRIPT;
		if (module && run_warm(cfg, paths[i], envp, out))
			out->mode = PDC_MODE_WARM;
		else
			run_spawned(cfg, paths[i], module, envp, child, child_arg, out);
		if (!out->output)
			out->output = strdup("");
		/* The runner's own timeout, spawned or warm. */
		if (module && WIFEXITED(out->status) &&
		    WEXITSTATUS(out->status) == PD_EXIT_TIMEOUT)
			out->timed_out = 1;
		out->duration_ms = (int)(clock_ms(CLOCK_MONOTONIC) - began);
		/* Before the caller's own logging: a record is written even
		 * if the daemon dies in what follows. */
		pdc_observe_hook(envp, paths[i], out);
		if (cfg->each)
			cfg->each(cfg->each_arg, cfg->job_id, paths[i], out);
		if (out->status) {
			out->failed_path = strdup(paths[i]);
			break;
		}
	}
	if (!out->output)
		out->output = strdup("");
	return out->status;
}

void pdc_outcome_free(pdc_outcome_t *out)
{
	free(out->output);
	free(out->failed_path);
	free(out->fallback);
	free(out->record);
	out->output = out->failed_path = out->fallback = out->record = NULL;
}

