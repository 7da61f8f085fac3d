// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prep/deno core: the Prolog/Epilog environment. Same variables, values and
 * order as prep/script's slurmd side builds with Slurm's env_array calls: a
 * set replaces a variable where it stands or appends it; SPANK and GRES
 * lists go in first, so Slurm's own values win.
 */
#define _GNU_SOURCE
#include "prep_deno_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define PDC_CRED_NAME(suffix, name) [PDC_CRED_##suffix] = name,
static const char *const cred_names[PDC_CRED_N] = {
	PD_CRED_VARS(PDC_CRED_NAME)
};
#undef PDC_CRED_NAME

typedef struct {
	char **v;
	size_t n;
} env_t;

/* Replaces NAME where it stands, or appends it. */
static void env_set(env_t *e, const char *name, const char *value)
{
	size_t len = strlen(name);
	char *entry;

	if (!value || asprintf(&entry, "%s=%s", name, value) < 0)
		return;
	for (size_t i = 0; i < e->n; i++) {
		if (!strncmp(e->v[i], name, len) && e->v[i][len] == '=') {
			free(e->v[i]);
			e->v[i] = entry;
			return;
		}
	}
	char **grown = realloc(e->v, (e->n + 2) * sizeof(char *));
	if (!grown) {
		free(entry);
		return;
	}
	e->v = grown;
	e->v[e->n++] = entry;
	e->v[e->n] = NULL;
}

static void env_merge(env_t *e, const char *const *list)
{
	for (size_t i = 0; list && list[i]; i++) {
		const char *eq = strchr(list[i], '=');
		char *name;

		if (!eq || !(name = strndup(list[i], (size_t)(eq - list[i]))))
			continue;
		env_set(e, name, eq + 1);
		free(name);
	}
}

char **pdc_slurmd_env(const pdc_slurmd_job_t *j)
{
	env_t e = { .v = calloc(1, sizeof(char *)), .n = 0 };

	if (!e.v)
		return NULL;
	env_merge(&e, j->spank_env);
	env_merge(&e, j->gres_env);
	env_set(&e, "SLURMD_NODENAME", j->node_name);
	env_set(&e, "SLURM_CONF", j->conf_file);
	env_set(&e, "SLURM_CLUSTER_NAME", j->cluster_name);
	env_set(&e, "SLURM_JOB_ID", j->job_id);
	env_set(&e, "SLURM_JOB_UID", j->uid);
	env_set(&e, "SLURM_JOB_GID", j->gid);
	env_set(&e, "SLURM_JOB_WORK_DIR", j->work_dir);
	env_set(&e, "SLURM_JOB_USER", j->user_name);
	env_set(&e, "SLURM_JOBID", j->job_id);
	env_set(&e, "SLURM_JOB_SLUID", j->sluid);
	/* Old hetjob terminology too, as Slurm still sets it. */
	env_set(&e, "SLURM_PACK_JOB_ID", j->het_job_id);
	env_set(&e, "SLURM_HET_JOB_ID", j->het_job_id);
	env_set(&e, "SLURM_UID", j->uid);
	env_set(&e, "SLURM_NODE_ALIASES", j->node_aliases);
	env_set(&e, "SLURM_NODELIST", j->node_list);
	if (j->job_nodelist)
		env_set(&e, "SLURM_JOB_NODELIST", j->node_list);
	env_set(&e, "SLURM_JOB_PARTITION", j->partition);
	env_set(&e, PD_CONTEXT_VAR, j->context);
	if (j->exit_code) {
		int status = (int)strtol(j->exit_code, NULL, 10);
		char pair[32];

		snprintf(pair, sizeof(pair), "%d:%d",
			 WIFEXITED(status) ? WEXITSTATUS(status) : 0,
			 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		env_set(&e, "SLURM_JOB_DERIVED_EC", j->derived_ec);
		env_set(&e, "SLURM_JOB_EXIT_CODE", j->exit_code);
		env_set(&e, "SLURM_JOB_EXIT_CODE2", pair);
	}
	for (int i = 0; i < PDC_CRED_N; i++)
		env_set(&e, cred_names[i], j->cred[i]);
	env_set(&e, "SLURM_JOB_USER", j->late_user_name);
	return e.v;
}
