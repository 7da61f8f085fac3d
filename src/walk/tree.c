/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Make a job folder, remove a tree, remove a user's files: every change is
 * made relative to the descriptor of a folder already checked (fchmod,
 * fchown, unlinkat), never by name from "/", so a link swapped in after a
 * check is never followed; trees are never left for another filesystem.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "walk.h"

int cmd_mkdir(const char *path, uid_t uid, gid_t gid, mode_t mode, int parents)
{
	struct walk w;
	struct stat st;
	int fd, rc = 1;

	if (walk_parent(path, parents, &w))
		goto out;
	if (w.missing) {
		rc = fail(w.path, "a folder above it does not exist (make it first, or ask for "
			  "parents)");
		goto out;
	}
	if (!w.last) {
		rc = fail(w.path, "refusing to make \"/\"");
		goto out;
	}
	/* Made in a folder a user controls, it could be renamed away under us. */
	if (parents && (fstat(w.fd, &st) || st.st_uid != 0)) {
		rc = fail(w.path, "the folder above it is owned by uid %u; refusing to make job "
			  "folders in what a user controls (make it root's, e.g. with tmpfiles.d, "
			  "or remove it)", (unsigned)st.st_uid);
		goto out;
	}
	if (mkdirat(w.fd, w.last, mode & 0777) && errno != EEXIST) {
		rc = fail(w.path, "cannot make it: %s", strerror(errno));
		goto out;
	}
	fd = -1;
	switch (open_last_dir(&w, "exists and", &fd, &st)) {
	case 0:
		break;
	case -1:
		rc = fail(w.path, "was removed while being made; refusing");
		goto out;
	default:
		goto out;
	}
	if (st.st_uid == uid && st.st_gid == gid && (st.st_mode & 07777) == mode) {
		rc = 0;
	} else if (st.st_uid != 0) {
		rc = fail(w.path, "exists, owned by uid %u with mode %o; refusing to change a "
			  "folder a user controls (remove it first)", (unsigned)st.st_uid,
			  (unsigned)(st.st_mode & 07777));
	} else if (fchmod(fd, mode) || fchown(fd, uid, gid)) {
		/* chmod while root still owns it: no CAP_FOWNER needed. */
		rc = fail(w.path, "cannot give it to %u:%u mode %o: %s", (unsigned)uid,
			  (unsigned)gid, (unsigned)mode, strerror(errno));
	} else {
		rc = 0;
	}
	close(fd);
out:
	walk_done(&w);
	return rc;
}

/* What a tree walk met that it could not do; the first one is reported. */
struct tree {
	const char *top;
	dev_t dev;
	unsigned long long mnt; /* and its mount: a bind of the same filesystem is not entered either */
	int uid;          /* remove only this user's entries; -1: everything */
	char why[512];
	int kept;         /* entries left behind */
};

static void note(struct tree *t, const char *name, const char *what, int err)
{
	t->kept++;
	if (!t->why[0])
		snprintf(t->why, sizeof(t->why), "%s %s%s%s", name, what, err ? ": " : "",
			 err ? strerror(err) : "");
}

/*
 * Empties the folder open as `fd` (depth counts the levels): entries on
 * another filesystem are left; with t->uid >= 0 only that user's entries
 * are removed, and her folders only once empty.
 */
static void clear(struct tree *t, int fd, int depth)
{
	DIR *d;
	struct dirent *e;
	int dup_fd = dup(fd);

	if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
		if (dup_fd >= 0)
			close(dup_fd);
		note(t, "a folder", "cannot be read", errno);
		return;
	}
	while ((e = readdir(d))) {
		const char *name = e->d_name;
		struct stat st;
		int cfd, mine;

		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW))
			continue; /* gone meanwhile */
		mine = t->uid < 0 || st.st_uid == (uid_t)t->uid;
		if (!S_ISDIR(st.st_mode)) {
			if (mine && unlinkat(fd, name, 0) && errno != ENOENT)
				note(t, name, "cannot be removed", errno);
			continue;
		}
		cfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0) {
			/* Swapped for a link or a file since: that is what is removed. */
			if ((errno == ELOOP || errno == ENOTDIR) && mine &&
			    unlinkat(fd, name, 0) && errno != ENOENT)
				note(t, name, "cannot be removed", errno);
			else if (errno != ELOOP && errno != ENOTDIR && errno != ENOENT)
				note(t, name, "cannot be opened", errno);
			continue;
		}
		if (fstat(cfd, &st) || st.st_dev != t->dev || mount_of(cfd) != t->mnt) {
			note(t, name, "is another filesystem mounted inside; not entered", 0);
		} else if (depth >= TREE_MAX_DEPTH) {
			note(t, name, "is nested too deep", 0);
		} else {
			clear(t, cfd, depth + 1);
			mine = t->uid < 0 || st.st_uid == (uid_t)t->uid;
			if (mine && unlinkat(fd, name, AT_REMOVEDIR) && errno != ENOENT &&
			    (t->uid < 0 || errno != ENOTEMPTY))
				note(t, name, "cannot be removed", errno);
		}
		close(cfd);
	}
	closedir(d);
}

int cmd_rmtree(const char *path)
{
	struct walk w;
	struct tree t = { .uid = -1 };
	int rc = 1;

	if (walk_parent(path, 0, &w))
		goto out;
	if (w.missing) {
		rc = 0;
		goto out;
	}
	if (!w.last) {
		rc = fail(w.path, "refusing to remove \"/\"");
		goto out;
	}
	/* A user who can write inside may refill it: a few rounds, then a loud no. */
	for (int round = 0; round < 64; round++) {
		struct stat st;
		int fd = -1;

		if (fstatat(w.fd, w.last, &st, AT_SYMLINK_NOFOLLOW)) {
			rc = errno == ENOENT ? 0 : fail(w.path, "cannot inspect: %s", strerror(errno));
			goto out;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (!unlinkat(w.fd, w.last, 0) || errno == ENOENT) {
				rc = 0;
				goto out;
			}
			if (errno == EISDIR)
				continue;
			rc = fail(w.path, "cannot remove: %s", strerror(errno));
			goto out;
		}
		fd = openat(w.fd, w.last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			/* A link or file swapped in: removed as such next round. */
			if (errno == ELOOP || errno == ENOTDIR || errno == ENOENT)
				continue;
			rc = fail(w.path, "cannot open: %s", strerror(errno));
			goto out;
		}
		if (fstat(fd, &st) || (w.guarded && st.st_dev != w.dev)) {
			close(fd);
			rc = fail(w.path, "is on another filesystem than the folder above it, which "
				  "a user can write; refusing to cross into it");
			goto out;
		}
		t.dev = st.st_dev;
		t.mnt = mount_of(fd);
		t.top = w.path;
		clear(&t, fd, 0);
		close(fd);
		if (t.why[0]) {
			rc = fail(w.path, "%d entries left: %s", t.kept, t.why);
			goto out;
		}
		if (!unlinkat(w.fd, w.last, AT_REMOVEDIR) || errno == ENOENT) {
			rc = 0;
			goto out;
		}
		if (errno != ENOTEMPTY && errno != EEXIST) {
			rc = fail(w.path, "cannot remove: %s", strerror(errno));
			goto out;
		}
	}
	rc = fail(w.path, "was refilled while being removed, 64 times; giving up");
out:
	walk_done(&w);
	return rc;
}

int cmd_rmuser(const char *path, uid_t uid)
{
	struct walk w;
	struct tree t = { .uid = (int)uid };
	struct stat st;
	int fd = -1, rc = 1;

	w.fd = -1;
	if (uid == 0) {
		rc = fail(path, "refusing to remove root's files");
		goto out;
	}
	if (walk_parent(path, 0, &w))
		goto out;
	if (w.missing) {
		rc = 0;
		goto out;
	}
	if (!w.last) {
		fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st)) {
			rc = fail("/", "cannot open: %s", strerror(errno));
			goto out;
		}
	} else {
		switch (open_last_dir(&w, "it", &fd, &st)) {
		case 0:
			break;
		case -1:
			rc = 0;
			goto out;
		default:
			goto out;
		}
	}
	t.dev = st.st_dev;
	t.mnt = mount_of(fd);
	t.top = w.path;
	clear(&t, fd, 0);
	rc = t.why[0] ? fail(w.path, "%d entries left: %s", t.kept, t.why) : 0;
out:
	if (fd >= 0)
		close(fd);
	walk_done(&w);
	return rc;
}
