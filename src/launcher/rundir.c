/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The runner's state (plan cache, status files) lives under
 * PREP_DENO_RUN_DIR, and is used there by path. That is safe only if no
 * one but root can rename, replace or write any folder on the way: so the
 * whole path is walked from / by descriptor, one component at a time,
 * never through a link, each folder checked before the next is opened. A
 * folder on the way that anyone else owns or may write makes the state
 * unusable, never used: the plan cache is skipped (each run asks Deno for
 * its plan) and a hook runs without a status file (its exit code alone
 * tells how it ended).
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
#include <unistd.h>

#include "launcher.h"
#include "rundir.h"

static int trusted(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) &&
	       (st.st_uid == 0 || st.st_uid == geteuid()) && !(st.st_mode & 022);
}

/* The folder `name` in `dir`, made with `mode` if missing; -1 if untrusted. */
static int step(int dir, const char *name, mode_t mode)
{
	int fd;

	if (dir < 0)
		return -1;
	fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		mkdirat(dir, name, mode);
		fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd >= 0 && !trusted(fd)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Walks the folders of `path` below `dir` (closed), making missing ones; the last one's fd or -1. */
static int walk(int dir, const char *path, mode_t mode)
{
	char copy[4096], *save = NULL;

	if (dir < 0)
		return -1;
	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy)) {
		close(dir);
		return -1;
	}
	for (char *name = strtok_r(copy, "/", &save); name && dir >= 0;
	     name = strtok_r(NULL, "/", &save)) {
		int next = step(dir, name, mode);

		close(dir);
		dir = next;
	}
	return dir;
}

int pd_run_dir(const char *sub, mode_t mode, char *out, size_t size)
{
	int dir;

	if (PREP_DENO_RUN_DIR[0] != '/' ||
	    snprintf(out, size, "%s/%s", PREP_DENO_RUN_DIR, sub) >= (int)size)
		return -1;
	dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -1;
	if (!trusted(dir)) {
		close(dir);
		return -1;
	}
	dir = walk(walk(dir, PREP_DENO_RUN_DIR, 0755), sub, mode);
	if (dir < 0)
		return -1;
	close(dir);
	return 0;
}

/* The pid a "<pid>-..." name carries; 0 for any other name. */
static pid_t owner_of(const char *name)
{
	char *end;
	long pid = strtol(name, &end, 10);

	return end != name && *end == '-' && pid > 0 ? (pid_t)pid : 0;
}

void pd_sweep_dead(const char *dir)
{
	struct dirent *e;
	DIR *d;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || !trusted(fd) || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d))) {
		pid_t pid = owner_of(e->d_name);
		int inner;

		if (!pid || pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		if (unlinkat(fd, e->d_name, 0) == 0 || errno != EISDIR)
			continue;
		/* A folder of its own files (a broker's socket): those first. */
		inner = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (inner >= 0) {
			DIR *id = fdopendir(inner);
			struct dirent *f;

			if (id) {
				while ((f = readdir(id)))
					if (strcmp(f->d_name, ".") && strcmp(f->d_name, ".."))
						unlinkat(inner, f->d_name, 0);
				closedir(id);
			} else {
				close(inner);
			}
		}
		unlinkat(fd, e->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}
