/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the helpers ask of the node through /proc and /proc/sys (which Deno
 * serves only to a hook with "all"): its processes, whole or not at all;
 * whether a path is a filesystem's top on the node; dropping caches;
 * appending to a job's output with the job user's own rights.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "walk.h"

/* Longest command line printed per process: the list stays whole, a line is capped. */
#define ARGS_MAX 4096

/* Reads a small /proc file whole; its length, or -1. */
static ssize_t slurp(int dirfd, const char *name, char *buf, size_t size)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t r;

	if (fd < 0)
		return -1;
	while (len < size - 1 && (r = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)r;
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

/* hidepid= on this /proc hides other users' processes: a list would not be whole. */
static const char *hidden_pids(void)
{
	static char line[8192];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	const char *why = NULL;

	if (!f)
		return NULL;
	while (!why && fgets(line, sizeof(line), f)) {
		static char mp[4096];
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 || strcmp(mp, "/proc"))
			continue;
		if (strstr(sep, "hidepid=") && !strstr(sep, "hidepid=0") &&
		    !strstr(sep, "hidepid=off"))
			why = "/proc is mounted with hidepid: other users' processes are hidden";
	}
	fclose(f);
	return why;
}

/* One line per process: "PID UID JOB ARGS" (JOB "-" when in no job's cgroup). */
int cmd_ps(void)
{
	static char buf[ARGS_MAX + 1], cg[8192];
	const char *hidden = hidden_pids();
	DIR *d;
	struct dirent *e;

	if (hidden)
		return fail("/proc", "%s; the list would not be whole", hidden);
	d = opendir("/proc");
	if (!d)
		return fail("/proc", "cannot list: %s", strerror(errno));
	errno = 0;
	while ((e = readdir(d))) {
		char *end, *job, *uid;
		long pid = strtol(e->d_name, &end, 10);
		ssize_t n;
		int fd;

		if (*end || pid <= 0)
			continue;
		fd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue; /* ended meanwhile */
		if (slurp(fd, "status", cg, sizeof(cg)) < 0 || !(uid = strstr(cg, "\nUid:"))) {
			close(fd);
			continue;
		}
		printf("%ld %lu ", pid, strtoul(uid + 5, NULL, 10));
		job = slurp(fd, "cgroup", cg, sizeof(cg)) > 0 ? strstr(cg, "/job_") : NULL;
		if (job && isdigit((unsigned char)job[5]))
			printf("%lu ", strtoul(job + 5, NULL, 10));
		else
			fputs("- ", stdout);
		n = slurp(fd, "cmdline", buf, sizeof(buf));
		close(fd);
		/* NULs between arguments read as spaces; no byte can start a new line. */
		for (ssize_t i = 0; i < n; i++)
			buf[i] = buf[i] == '\0' ? ' ' : (unsigned char)buf[i] < 0x20 ||
					 buf[i] == 0x7f ? '?' : buf[i];
		while (n > 0 && buf[n - 1] == ' ')
			n--;
		fwrite(buf, 1, n > 0 ? (size_t)n : 0, stdout);
		putchar('\n');
		errno = 0;
	}
	if (errno)
		return closedir(d), fail("/proc", "cannot list: %s", strerror(errno));
	closedir(d);
	if (fflush(stdout) || ferror(stdout))
		return fail("/proc", "cannot write the list: %s", strerror(errno));
	return 0;
}

/* mountinfo's octal escapes (\040 for a space) undone in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/*
 * Prints "yes" when the path is the top folder of a filesystem mounted
 * there, else "no". The sandbox binds each granted host path at its own
 * name, and a bind keeps its source's place in its filesystem (mountinfo's
 * root field): "/" only where the node mounted that filesystem's top. The
 * mount is the one the walked descriptor is on (its mount id), not a name.
 */
int cmd_mountpoint(const char *path)
{
	static char line[8192];
	struct walk w;
	struct statx sx;
	int fd = -1, rc = 1, found = 0;
	FILE *f = NULL;

	if (walk_parent(path, 0, &w))
		goto out;
	if (w.missing) {
		rc = fail(w.path, "does not exist in the hook's view (grant it under read or write)");
		goto out;
	}
	fd = w.last ? openat(w.fd, w.last, O_PATH | O_NOFOLLOW | O_CLOEXEC) : dup(w.fd);
	if (fd < 0) {
		rc = fail(w.path, errno == ENOENT ? "does not exist in the hook's view (grant it "
			  "under read or write)" : "cannot open: %s", strerror(errno));
		goto out;
	}
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) || !(sx.stx_mask & STATX_MNT_ID)) {
		rc = fail(w.path, "cannot tell its mount (statx): %s", strerror(errno));
		goto out;
	}
	if (S_ISLNK(sx.stx_mode)) {
		rc = fail(w.path, "is a symlink; refusing to follow it");
		goto out;
	}
	f = fopen("/proc/self/mountinfo", "re");
	if (!f) {
		rc = fail("/proc/self/mountinfo", "cannot read: %s", strerror(errno));
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		char *id = strtok(line, " "), *root, *mp;

		strtok(NULL, " ");
		strtok(NULL, " ");
		root = strtok(NULL, " ");
		mp = strtok(NULL, " ");
		if (!id || !mp || strtoull(id, NULL, 10) != sx.stx_mnt_id)
			continue;
		unescape(root);
		unescape(mp);
		found = 1;
		puts(!strcmp(mp, w.path) && !strcmp(root, "/") ? "yes" : "no");
		break;
	}
	rc = found ? 0 : fail(w.path, "its mount (id %llu) is not in /proc/self/mountinfo",
			      (unsigned long long)sx.stx_mnt_id);
out:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	walk_done(&w);
	return rc;
}

int cmd_dropcaches(const char *level)
{
	const char *path = "/proc/sys/vm/drop_caches";
	char text[4];
	int fd;

	if (strcmp(level, "1") && strcmp(level, "2") && strcmp(level, "3"))
		return fail(path, "the level must be 1, 2 or 3, not \"%s\"", level);
	/* Dirty pages are not dropped: write them out first, as `sync; echo 3 >` does. */
	sync();
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(path, "cannot open for writing: %s (grant it under write)",
			    strerror(errno));
	snprintf(text, sizeof(text), "%s\n", level);
	if (write(fd, text, strlen(text)) < 0) {
		int err = errno;

		close(fd);
		return fail(path, "cannot write: %s", strerror(err));
	}
	close(fd);
	return 0;
}

/* Whether "/" is a tmpfs of the sandbox's own (not the node's root bound in). */
static int root_is_sandbox_tmpfs(unsigned long long *root_mnt)
{
	static char line[8192];
	struct statx sx;
	FILE *f;
	int own = 0;

	if (statx(AT_FDCWD, "/", 0, STATX_MNT_ID, &sx) || !(sx.stx_mask & STATX_MNT_ID))
		return 0;
	*root_mnt = sx.stx_mnt_id;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char type[64];
		const char *sep = strstr(line, " - ");

		if (strtoull(line, NULL, 10) != sx.stx_mnt_id || !sep)
			continue;
		own = sscanf(sep, " - %63s", type) == 1 && !strcmp(type, "tmpfs");
		break;
	}
	fclose(f);
	return own;
}

/*
 * The folder to open `path` from as the user, and what is left of it: the
 * view's own folders (root's, 0700, made by bubblewrap above each granted
 * path on the sandbox's tmpfs root) are walked as root, since the user could
 * walk the node's own, and so is the top of the granted host folder below
 * them (a mount point: nobody can swap it), which she must be allowed to
 * search herself (checked by the kernel once she is herself); a link, or a
 * folder a user could write, ends the walk.
 */
static int view_prefix(const char *path, const char **rest, int *host_top)
{
	unsigned long long root_mnt;
	int fd;

	*rest = path;
	*host_top = 0;
	if (path[0] != '/' || !root_is_sandbox_tmpfs(&root_mnt))
		return AT_FDCWD;
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*rest = path + 1;
	for (;;) {
		char name[256];
		const char *slash = strchr(*rest, '/');
		size_t len = slash ? (size_t)(slash - *rest) : 0;
		struct statx sx;
		int next, host;

		if (fd < 0 || !slash || len == 0 || len >= sizeof(name))
			break;
		memcpy(name, *rest, len);
		name[len] = '\0';
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			break;
		next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			break;
		if (statx(next, "", AT_EMPTY_PATH, STATX_MNT_ID | STATX_MODE | STATX_UID, &sx)) {
			close(next);
			break;
		}
		/* The top of a granted host folder: taken, her right to search it checked later. */
		host = sx.stx_mnt_id != root_mnt;
		if (!host && (sx.stx_uid != 0 || (sx.stx_mode & 022))) {
			close(next);
			break;
		}
		close(fd);
		fd = next;
		*rest = slash + 1;
		while (**rest == '/')
			(*rest)++;
		if (host) {
			*host_top = 1;
			break;
		}
	}
	return fd;
}

/*
 * Appends stdin to `path` as uid:gid (no supplementary groups): the job user
 * chose the path (links, "..", any folder), so only her own rights may open
 * it (past the view's own folders, see view_prefix). Never creates it, never
 * as root; this process cannot become root again.
 */
int cmd_append(uid_t uid, gid_t gid, const char *path)
{
	static char buf[65536];
	const char *rest;
	ssize_t n;
	int fd, dir, host_top;

	if (uid == 0 || gid == 0)
		return fail(path, "refusing to write as root (uid %u, gid %u)", (unsigned)uid,
			    (unsigned)gid);
	dir = view_prefix(path, &rest, &host_top);
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid))
		return fail(path, "cannot become uid %u gid %u: %s (the hook needs CAP_SETUID and "
			    "CAP_SETGID)", (unsigned)uid, (unsigned)gid, strerror(errno));
	if (setresuid(0, 0, 0) == 0)
		return fail(path, "could become root again; refusing");
	/* The granted folder root opened for her: only if she may search it herself. */
	if (host_top && syscall(SYS_faccessat2, dir, "", X_OK, AT_EMPTY_PATH | AT_EACCESS))
		return fail(path, "cannot open as uid %u: %s", (unsigned)uid, strerror(errno));
	fd = openat(dir, rest, O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return fail(path, "cannot open as uid %u: %s", (unsigned)uid, strerror(errno));
	if (dir >= 0)
		close(dir);
	while ((n = read(0, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));

			if (w < 0) {
				int err = errno;

				close(fd);
				return fail(path, "cannot write: %s", strerror(err));
			}
			off += w;
		}
	}
	if (n < 0 || close(fd))
		return fail(path, "cannot append: %s", strerror(errno));
	return 0;
}
