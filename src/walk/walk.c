/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A path walked by descriptor from "/": see walk.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "walk.h"

int fail(const char *path, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "prep-deno-walk: %s: ", path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

unsigned long long mount_of(int fd)
{
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) || !(sx.stx_mask & STATX_MNT_ID))
		return 0;
	return sx.stx_mnt_id;
}

int user_writable(const struct stat *st)
{
	return st->st_uid != 0 || (st->st_mode & 022);
}

/* Splits `in` into w->names (and w->path, for messages); the count of names, or -1. */
static int normalise(const char *in, struct walk *w, const char **comps, int max)
{
	size_t ends[WALK_MAX_DEPTH];
	int n = 0;
	size_t len = 0;

	if (in[0] != '/')
		return -1;
	for (const char *p = in; *p;) {
		const char *s;
		size_t l;

		while (*p == '/')
			p++;
		s = p;
		while (*p && *p != '/')
			p++;
		l = (size_t)(p - s);
		if (l == 0 || (l == 1 && s[0] == '.'))
			continue;
		if (l == 2 && s[0] == '.' && s[1] == '.') {
			if (n > 0)
				len = --n ? ends[n - 1] : 0;
			continue;
		}
		if (n == max || len + l + 2 > sizeof(w->path))
			return -1;
		memcpy(w->names + len + 1, s, l);
		w->names[len + 1 + l] = '\0';
		comps[n] = w->names + len + 1;
		len += l + 1;
		ends[n++] = len;
	}
	for (int i = 0; i < n; i++) {
		size_t at = (size_t)(comps[i] - w->names) - 1;

		w->path[at] = '/';
		memcpy(w->path + at + 1, comps[i], strlen(comps[i]));
	}
	w->path[len] = '\0';
	if (len == 0)
		strcpy(w->path, "/");
	return n;
}

/* After a walk entered `st`: once in a folder a user could write, never another filesystem. */
static int guard(struct walk *w, const struct stat *st, const char *name)
{
	if (w->guarded && st->st_dev != w->dev)
		return fail(w->path, "%s is on another filesystem than the folder above it, "
			    "which a user can write; refusing to cross into it", name);
	if (!w->guarded && user_writable(st)) {
		w->guarded = 1;
		w->dev = st->st_dev;
	}
	return 0;
}

static int refuse_open(struct walk *w, int dirfd, const char *name, int err)
{
	struct stat st;

	if (err == ELOOP || (err == ENOTDIR && !fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) &&
			     S_ISLNK(st.st_mode)))
		return fail(w->path, "%s is a symlink; refusing to follow it", name);
	if (err == ENOTDIR)
		return fail(w->path, "%s is not a folder", name);
	return fail(w->path, "cannot open %s: %s", name, strerror(err));
}

int walk_parent(const char *path, int make_parents, struct walk *w)
{
	const char *comps[WALK_MAX_DEPTH];
	struct stat st;
	uid_t owner;
	int n;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	n = normalise(path, w, comps, WALK_MAX_DEPTH);
	if (n < 0)
		return fail(path, "not an absolute path of at most %d names", WALK_MAX_DEPTH);
	w->fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->fd < 0 || fstat(w->fd, &st))
		return fail("/", "cannot open: %s", strerror(errno));
	if (guard(w, &st, "/"))
		return 1;
	owner = st.st_uid;
	for (int i = 0; i < n - 1; i++) {
		/* Cut the path at this name for messages that name the folder. */
		int made = 0, fd;

		fd = openat(w->fd, comps[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && make_parents) {
			if (fstat(w->fd, &st) || st.st_uid != 0)
				return fail(w->path, "the folder holding %s is owned by uid %u; refusing "
					    "to make folders in what a user controls", comps[i],
					    (unsigned)st.st_uid);
			if (mkdirat(w->fd, comps[i], 0755) && errno != EEXIST)
				return fail(w->path, "cannot make %s: %s", comps[i], strerror(errno));
			made = 1;
			fd = openat(w->fd, comps[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0 && errno == ENOENT) {
			w->missing = 1;
			return 0;
		}
		if (fd < 0)
			return refuse_open(w, w->fd, comps[i], errno);
		close(w->fd);
		w->fd = fd;
		if (fstat(fd, &st))
			return fail(w->path, "cannot inspect %s: %s", comps[i], strerror(errno));
		if (made && (st.st_uid != 0 || fchmod(fd, 0755)))
			return fail(w->path, "%s was replaced while being made; refusing", comps[i]);
		if (guard(w, &st, comps[i]))
			return 1;
		/*
		 * As systemd's chase() with CHASE_SAFE: from a user's folder, only
		 * into her own (she may rename what else sits in hers).
		 */
		if (owner != 0 && st.st_uid != owner)
			return fail(w->path, "%s is owned by uid %u inside a folder of uid %u; refusing "
				    "to walk from a user's folder into another's", comps[i],
				    (unsigned)st.st_uid, (unsigned)owner);
		owner = st.st_uid;
	}
	w->last = n ? comps[n - 1] : NULL;
	return 0;
}

int open_last_dir(struct walk *w, const char *what, int *fd, struct stat *st)
{
	*fd = openat(w->fd, w->last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR) {
			struct stat l;
			int link = errno == ELOOP ||
				   (!fstatat(w->fd, w->last, &l, AT_SYMLINK_NOFOLLOW) && S_ISLNK(l.st_mode));

			return fail(w->path, "%s is %s; refusing to follow it", what,
				    link ? "a symlink" : "not a folder");
		}
		if (errno == ENOENT)
			return -1;
		return fail(w->path, "cannot open %s: %s", what, strerror(errno));
	}
	if (fstat(*fd, st))
		return fail(w->path, "cannot inspect: %s", strerror(errno));
	if (w->guarded && st->st_dev != w->dev) {
		close(*fd);
		*fd = -1;
		return fail(w->path, "is on another filesystem than the folder above it, which a "
			    "user can write; refusing to cross into it");
	}
	return 0;
}

void walk_done(struct walk *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}
