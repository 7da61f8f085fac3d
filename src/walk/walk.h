/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * build/prep-deno-walk: what the helpers (src/helpers/) do as root in
 * folders users can write, by descriptor. Deno has no openat(), so a name
 * it checks can be swapped for a link before it acts; this tool opens every
 * component from "/" with O_NOFOLLOW|O_DIRECTORY and acts only relative to
 * the descriptor of the folder it checked. It runs inside the hook's
 * sandbox with the hook's own uid, capabilities and view, and executes no
 * other program (docs/security.md, "Helpers in user-writable folders").
 *
 * The units:
 *   main.c  the command line: one subcommand per helper
 *   walk.c  a path spelled any way, walked to its last folder by descriptor
 *   tree.c  make a job folder, remove a tree, remove a user's files
 *   node.c  the node's processes, mount points, caches, a job's output
 */
#ifndef PREP_DENO_WALK_H
#define PREP_DENO_WALK_H

#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#define WALK_MAX_DEPTH 512
/* Folders a removal enters, nested (each holds two descriptors open). */
#define TREE_MAX_DEPTH 256

/* A path walked to the folder that holds its last component. */
struct walk {
	int fd;              /* that folder, open (O_DIRECTORY) */
	const char *last;    /* the last component; NULL for "/" */
	char path[4096];     /* the path as walked, for messages */
	char names[4096];    /* its names, each NUL-terminated */
	int guarded;         /* the walk is in a folder a user could write ... */
	dev_t dev;           /* ... on this filesystem, which it never leaves */
	int missing;         /* a folder on the way does not exist */
};

/* Prints "prep-deno-walk: PATH: message" and returns 1. */
int fail(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The mount a descriptor is on (statx's mount id); 0 if unknown. */
unsigned long long mount_of(int fd);

/* Whether a user other than root could write in (or own) a folder. */
int user_writable(const struct stat *st);

/*
 * Walks `path` (absolute; "//", ".", trailing "/" and ".." taken away with
 * the name before it, as path.resolve does, before anything is opened).
 * make_parents: missing folders are made root's (0755), only in root's.
 * Returns 0 (w->missing when a folder is absent), or 1 after fail().
 */
int walk_parent(const char *path, int make_parents, struct walk *w);
void walk_done(struct walk *w);

/* Opens the last component as a folder, never through a link; fail()s naming it. */
int open_last_dir(struct walk *w, const char *what, int *fd, struct stat *st);

int cmd_mkdir(const char *path, uid_t uid, gid_t gid, mode_t mode, int parents);
int cmd_rmtree(const char *path);
int cmd_rmuser(const char *path, uid_t uid);
int cmd_ps(void);
int cmd_mountpoint(const char *path);
int cmd_dropcaches(const char *level);
int cmd_append(uid_t uid, gid_t gid, const char *path);

#endif
