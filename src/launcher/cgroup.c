/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One memory cgroup per hook, below the runner's own: it bounds the whole
 * hook (every process, off-heap memory, page cache it dirties) and lets the
 * runner kill every process of the hook at once. cgroup v2 (memory.max)
 * where the memory controller is there, else v1 (memory.limit_in_bytes).
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

#include "launcher.h"

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

/* Our own cgroup's folder for v1 memory (v2 == 0) or the v2 tree (v2 == 1). */
static int own_cgroup(char *out, size_t size, int v2)
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
				if (!strcmp(c, "memory")) {
					snprintf(out, size, "/sys/fs/cgroup/memory%s", path);
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

static int try_create(struct pd_cgroup *cg, int v2, long memory_mb)
{
	static unsigned counter;
	char parent[4096], limit[32], probe[4200];

	if (own_cgroup(parent, sizeof(parent), v2) < 0)
		return -1;
	remove_stale(parent);
	if (snprintf(cg->path, sizeof(cg->path), "%s/prep-deno-%ld-%u-%ld", parent,
		     (long)getpid(), counter++, (long)time(NULL)) >= (int)sizeof(cg->path) ||
	    mkdir(cg->path, 0700) < 0) {
		cg->path[0] = '\0';
		return -1;
	}
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

int pd_cgroup_create(struct pd_cgroup *cg, long memory_mb)
{
	cg->path[0] = '\0';
	if (try_create(cg, 1, memory_mb) == 0 || try_create(cg, 0, memory_mb) == 0)
		return 0;
	return -1;
}

/* Moves `pid` into the cgroup: everything it starts from then on is in it. */
int pd_cgroup_add(const struct pd_cgroup *cg, pid_t pid)
{
	char text[32];

	if (!cg->path[0])
		return 0;
	snprintf(text, sizeof(text), "%ld", (long)pid);
	return write_file(cg->path, "cgroup.procs", text);
}

/* SIGKILLs every process in the cgroup until it is empty (forks included). */
void pd_cgroup_kill_all(const struct pd_cgroup *cg)
{
	char path[4200];

	if (!cg->path[0])
		return;
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg->path);
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

void pd_cgroup_remove(struct pd_cgroup *cg)
{
	if (!cg->path[0])
		return;
	pd_cgroup_kill_all(cg);
	/* A process just killed may still be leaving the cgroup: retry. */
	for (int i = 0; i < 200 && rmdir(cg->path) < 0 && errno == EBUSY; i++)
		usleep(1000);
	cg->path[0] = '\0';
}
