/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The plan cache's garbage: a plan is kept per module and hook (plan.c),
 * so without this the cache in PREP_DENO_RUN_DIR/plans (a tmpfs, memory)
 * only grows with every hook ever removed, until the node reboots.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plan_prune.h"
#include "rundir.h"

/*
 * Removes the plans no run can use again, and their locks: those of a
 * module that is gone (a test's hook, a hook an admin removed). The cache
 * is keyed by module and hook, so without this it only grows, in a tmpfs
 * in memory, until the node reboots. Another build's plans stay (two
 * builds may run side by side; there is one per module and build). A lock
 * someone holds is left alone.
 */
static void prune_plans(void)
{
	char dir_path[4200], head[8192];
	struct dirent *e;
	DIR *d;
	int dir;

	if (pd_run_dir("plans", 0700, dir_path, sizeof(dir_path)) < 0)
		return;
	dir = open(dir_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0 || !(d = fdopendir(dir))) {
		if (dir >= 0)
			close(dir);
		return;
	}
	while ((e = readdir(d))) {
		char lock_name[300], *nl;
		ssize_t n;
		int fd, gone;
		struct stat st;

		if (strlen(e->d_name) == 21 && !strcmp(e->d_name + 16, ".lock")) {
			/* A lock whose plan was never stored (its check failed), free. */
			snprintf(lock_name, sizeof(lock_name), "%.16s", e->d_name);
			if (fstatat(dir, lock_name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
				continue;
			fd = openat(dir, e->d_name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
				unlinkat(dir, e->d_name, 0);
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (strlen(e->d_name) != 16 || strchr(e->d_name, '.'))
			continue; /* a plan being written */
		fd = openat(dir, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, head, sizeof(head) - 1);
		close(fd);
		if (n <= 0)
			continue;
		head[n] = '\0';
		/* "module\nhook\n...": the module's path first. */
		if (!(nl = strchr(head, '\n')))
			continue;
		*nl = '\0';
		gone = stat(head, &st) < 0 && errno == ENOENT;
		if (!gone)
			continue;
		snprintf(lock_name, sizeof(lock_name), "%s.lock", e->d_name);
		fd = openat(dir, lock_name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
			close(fd); /* a run is making this plan right now */
			continue;
		}
		unlinkat(dir, e->d_name, 0);
		if (fd >= 0) {
			unlinkat(dir, lock_name, 0);
			close(fd);
		}
	}
	closedir(d);
}

/*
 * prune_plans() in a process of its own that nobody waits for: a module
 * path on a hung mount must not hold this hook, nor anyone waiting on a
 * plan's lock. Its descriptors are closed, so no reader of the hook's
 * output waits for it either.
 */
void pd_plan_prune_detached(void)
{
	pid_t child = fork();

	if (child == 0) {
		if (fork() == 0) {
			int null = open("/dev/null", O_RDWR | O_CLOEXEC);

			for (int fd = 0; fd < 3; fd++)
				if (null >= 0)
					dup2(null, fd);
#ifdef SYS_close_range
			syscall(SYS_close_range, 3, ~0U, 0);
#else
			for (int fd = 3; fd < 1024; fd++)
				close(fd);
#endif
			prune_plans();
			_exit(0);
		}
		_exit(0);
	}
	while (child > 0 && waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
}
