// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prep/deno core: a hook list. Which hooks go through the runner, the argv
 * of each, and running a list in order up to its first failure, as
 * prep/script's list_for_each over its scripts.
 */
#define _GNU_SOURCE
#include "prep_deno_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

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
	char **argv = calloc(12, sizeof(char *));
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

		free(out->output);
		free(out->record);
		out->output = out->record = NULL;
		if (module && cfg->warm_socket && !out->fallback &&
		    !pdc_warm_run(cfg->warm_socket, paths[i], cfg->timeout_s,
				  envp, &out->status, &out->output,
				  &out->record, &out->fallback)) {
			out->timed_out = 0;
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

