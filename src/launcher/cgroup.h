/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One memory cgroup per hook, with its process limit (cgroup.c); all
 * return -1 when unavailable.
 */
#ifndef PREP_DENO_LAUNCHER_CGROUP_H
#define PREP_DENO_LAUNCHER_CGROUP_H

#include <sys/types.h>

struct pd_cgroup {
	char path[4096]; /* empty: no cgroup (the documented fallback) */
	int v2;
	char pids[4096]; /* where pids.max is: path (v2), a v1 pids cgroup, or empty */
};

int pd_cgroup_create(struct pd_cgroup *cg, long memory_mb, long tasks_max);
int pd_cgroup_add(const struct pd_cgroup *cg, pid_t pid);
void pd_cgroup_kill_all(const struct pd_cgroup *cg);
int pd_cgroup_oom_killed(const struct pd_cgroup *cg);
int pd_cgroup_tasks_hit(const struct pd_cgroup *cg);
void pd_cgroup_remove(struct pd_cgroup *cg);

#endif
