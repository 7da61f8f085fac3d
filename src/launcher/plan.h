/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Launch plans (plan.c): decode, look up in the cache, ask Deno for one. */
#ifndef PREP_DENO_LAUNCHER_PLAN_H
#define PREP_DENO_LAUNCHER_PLAN_H

#include "launcher.h"

int pd_plan_decode(char *bytes, size_t len, struct pd_plan *plan);
void pd_plan_free(struct pd_plan *plan);
/* conf: the daemon's slurm.conf (run --slurm-conf) or NULL; part of the cache key. */
int pd_plan_lookup(const char *module, const char *hook, const char *conf, struct pd_plan *plan);
/* The plan from the cache, else made by one process at a time per module and hook. */
int pd_plan_get(const char *module, const char *hook, const char *conf, struct pd_plan *plan,
		int *status, char **refusal);
int pd_plan_make(const char *module, const char *hook, const char *conf, struct pd_plan *plan,
		 int *status, char **refusal);

#endif
