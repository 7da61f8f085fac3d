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
		char **argv = pdc_hook_argv(cfg, paths[i]);
		int module = pdc_is_module(paths[i]);
		int timeout_ms = cfg->timeout_s < 0 ? -1 :
			(cfg->timeout_s + (module ? PD_RUNNER_GRACE_S : 0)) *
			1000;

		long long began = clock_ms(CLOCK_MONOTONIC);

		free(out->output);
		free(out->record);
		out->output = out->record = NULL;
		out->started_ms = clock_ms(CLOCK_REALTIME);
		out->mode = module ? PDC_MODE_SPAWN : PDC_MODE_SCRIPT;
		if (module && cfg->warm_socket && !out->fallback &&
		    !pdc_warm_run(cfg->warm_socket, paths[i], cfg->timeout_s,
				  cfg->slurm_conf, envp, &out->status, &out->output,
				  &out->record, &out->fallback)) {
			out->timed_out = 0;
			out->mode = PDC_MODE_WARM;
		} else if (!argv) {
			out->status = 127;
		} else {
			uint64_t tag = cfg->kill_tag ?
				((uint64_t)cfg->kill_tag << 32) | cfg->job_id : 0;

			out->status = pdc_run_one(argv, envp, timeout_ms,
						  module ? PD_RUNNER_STOP_GRACE_MS : 10,
						  child, child_arg, tag,
						  /* the runner: a clean start */
						  module ? PDC_SIGNALS_NONE :
							   cfg->signals,
						  &out->timed_out, &out->output,
						  module ? &out->record : NULL);
		}
		pdc_free_argv(argv);
		if (!out->output)
			out->output = strdup("");
		if (module && WIFEXITED(out->status) &&
		    WEXITSTATUS(out->status) == PD_EXIT_TIMEOUT)
			out->timed_out = 1; /* the runner's own timeout */
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

