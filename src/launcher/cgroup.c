/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One memory cgroup per hook, below the runner's own: it bounds the whole
 * hook (every process, off-heap memory, page cache it dirties) and lets the
 * runner kill every process of the hook at once. cgroup v2 (memory.max)
 * where the memory controller is there, else v1 (memory.limit_in_bytes).
 * The process limit (pids.max, --tasks-max) goes in the same cgroup on v2,
 * in one of the v1 pids hierarchy otherwise; without a pids controller the
 * hook has no process limit (documented in the README too).
 * Fallback when neither is writable (not root, read-only /sys, no memory
 * controller): no cgroup; the timeout still stops every process (killing
 * bwrap ends the hook's pid namespace) and the heap limit still holds, but
 * off-heap memory is bounded only by the machine. Documented in the README.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"

static int write_file(const char *dir, const char *name, const char *value)
{
	char path[4200];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ok = write(fd, value, strlen(value)) == (ssize_t)strlen(value);
	close(fd);
	return ok ? 0 : -1;
}

/* Our own cgroup's folder for v1 `controller` (v2 == 0) or the v2 tree (v2 == 1). */
static int own_cgroup(char *out, size_t size, int v2, const char *controller)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[4200];
	int found = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *ctrl = strchr(line, ':'), *path;

		if (!ctrl || !(path = strchr(ctrl + 1, ':')))
			continue;
		*path++ = '\0';
		ctrl++;
		path[strcspn(path, "\n")] = '\0';
		if (v2 && !strcmp(ctrl, "")) {
			const char *root = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ?
						   "/sys/fs/cgroup" :
						   "/sys/fs/cgroup/unified";
			snprintf(out, size, "%s%s", root, path);
			found = 0;
		} else if (!v2) {
			char *c = strtok(ctrl, ",");
			for (; c; c = strtok(NULL, ","))
				if (!strcmp(c, controller)) {
					snprintf(out, size, "/sys/fs/cgroup/%s%s", controller,
						 path);
					found = 0;
				}
		}
	}
	fclose(f);
	return found;
}

/*
 * Removes the cgroups of launchers that were killed before they could
 * (SIGKILL from the daemon's own deadline): empty by then, since their
 * hooks died with bwrap, but still folders.
 */
static void remove_stale(const char *parent)
{
	DIR *d = opendir(parent);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[4400];
		long pid;

		if (strncmp(e->d_name, "prep-deno-", 10) ||
		    sscanf(e->d_name + 10, "%ld-", &pid) != 1 || pid == (long)getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", parent, e->d_name) < (int)sizeof(path))
			rmdir(path);
	}
	closedir(d);
}

/* A new cgroup of ours under `parent`, its path in `out` (size 4096); -1 if none. */
static int make_child(const char *parent, char *out)
{
	static unsigned counter;

	remove_stale(parent);
	if (snprintf(out, 4096, "%s/prep-deno-%ld-%u-%ld", parent, (long)getpid(), counter++,
		     (long)time(NULL)) >= 4096 ||
	    mkdir(out, 0700) < 0) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

static int try_create(struct pd_cgroup *cg, int v2, long memory_mb)
{
	char parent[4096], limit[32], probe[4200];

	if (own_cgroup(parent, sizeof(parent), v2, "memory") < 0 || make_child(parent, cg->path) < 0)
		return -1;
	snprintf(limit, sizeof(limit), "%lld", (long long)memory_mb * 1024 * 1024);
	if (snprintf(probe, sizeof(probe), "%s/%s", cg->path,
		     v2 ? "memory.max" : "memory.limit_in_bytes") >= (int)sizeof(probe) ||
	    access(probe, F_OK) < 0 ||
	    write_file(cg->path, v2 ? "memory.max" : "memory.limit_in_bytes", limit) < 0) {
		rmdir(cg->path);
		cg->path[0] = '\0';
		return -1;
	}
	if (v2)
		write_file(cg->path, "memory.swap.max", "0");
	else
		/* Not swap either, where swap accounting is on. */
		write_file(cg->path, "memory.memsw.limit_in_bytes", limit);
	cg->v2 = v2;
	return 0;
}

/* The process limit: in the v2 cgroup itself, else a v1 pids cgroup of its own. */
static void create_pids(struct pd_cgroup *cg, long tasks_max)
{
	char parent[4096], limit[32];

	snprintf(limit, sizeof(limit), "%ld", tasks_max);
	cg->pids[0] = '\0';
	if (cg->path[0] && cg->v2) {
		if (write_file(cg->path, "pids.max", limit) == 0)
			snprintf(cg->pids, sizeof(cg->pids), "%s", cg->path);
		return;
	}
	if (own_cgroup(parent, sizeof(parent), 0, "pids") < 0 || make_child(parent, cg->pids) < 0)
		return;
	if (write_file(cg->pids, "pids.max", limit) < 0) {
		rmdir(cg->pids);
		cg->pids[0] = '\0';
	}
}

int pd_cgroup_create(struct pd_cgroup *cg, long memory_mb, long tasks_max)
{
	int rc = -1;

	cg->path[0] = '\0';
	if (try_create(cg, 1, memory_mb) == 0 || try_create(cg, 0, memory_mb) == 0)
		rc = 0;
	create_pids(cg, tasks_max);
	return cg->pids[0] ? 0 : rc;
}

/* Whether the pids cgroup is a folder of its own (v1), not the memory cgroup. */
static int own_pids(const struct pd_cgroup *cg)
{
	return cg->pids[0] && strcmp(cg->pids, cg->path);
}

/* Moves `pid` into the cgroup: everything it starts from then on is in it. */
int pd_cgroup_add(const struct pd_cgroup *cg, pid_t pid)
{
	char text[32];

	snprintf(text, sizeof(text), "%ld", (long)pid);
	if (own_pids(cg) && write_file(cg->pids, "cgroup.procs", text) < 0)
		return -1;
	if (!cg->path[0])
		return 0;
	return write_file(cg->path, "cgroup.procs", text);
}

/* Whether a fork or clone of the hook was refused at its process limit. */
int pd_cgroup_tasks_hit(const struct pd_cgroup *cg)
{
	char path[4200], key[64];
	long long value;
	FILE *f;
	int hit = 0;

	if (!cg->pids[0])
		return 0;
	snprintf(path, sizeof(path), "%s/pids.events", cg->pids);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fscanf(f, "%63s %lld", key, &value) == 2)
		if (!strcmp(key, "max") && value > 0)
			hit = 1;
	fclose(f);
	return hit;
}

/* SIGKILLs every process in the cgroup folder `dir` until it is empty (forks included). */
static void kill_all_in(const char *dir)
{
	char path[4200];

	if (!dir[0])
		return;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	for (int round = 0; round < 1000; round++) {
		FILE *f = fopen(path, "re");
		long pid;
		int any = 0;

		if (!f)
			return;
		while (fscanf(f, "%ld", &pid) == 1) {
			kill((pid_t)pid, SIGKILL);
			any = 1;
		}
		fclose(f);
		if (!any)
			return;
		usleep(1000);
	}
}

void pd_cgroup_kill_all(const struct pd_cgroup *cg)
{
	kill_all_in(cg->path);
	if (own_pids(cg))
		kill_all_in(cg->pids);
}

/* Whether the kernel's OOM killer killed a process of the cgroup. */
int pd_cgroup_oom_killed(const struct pd_cgroup *cg)
{
	char path[4200], key[64];
	long long value;
	FILE *f;
	int killed = 0;

	if (!cg->path[0])
		return 0;
	snprintf(path, sizeof(path), "%s/%s", cg->path,
		 cg->v2 ? "memory.events" : "memory.oom_control");
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fscanf(f, "%63s %lld", key, &value) == 2)
		if (!strcmp(key, "oom_kill") && value > 0)
			killed = 1;
	fclose(f);
	return killed;
}

/* Removes the folder `dir`, once the processes just killed have left it. */
static void remove_dir(char *dir)
{
	if (!dir[0])
		return;
	for (int i = 0; i < 200 && rmdir(dir) < 0 && errno == EBUSY; i++)
		usleep(1000);
	dir[0] = '\0';
}

void pd_cgroup_remove(struct pd_cgroup *cg)
{
	pd_cgroup_kill_all(cg);
	if (own_pids(cg))
		remove_dir(cg->pids);
	cg->pids[0] = '\0';
	remove_dir(cg->path);
}
