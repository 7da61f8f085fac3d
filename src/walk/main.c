/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * build/prep-deno-walk COMMAND ARGS (see walk.h); what src/helpers/ run:
 *   mkdir PATH UID GID MODE [parents]   a job folder, owned and moded
 *   rmtree PATH                         PATH and all under it, one filesystem
 *   rmuser PATH UID                     UID's entries under PATH
 *   ps                                  the node's processes, whole
 *   mountpoint PATH                     "yes" when a filesystem's top is there
 *   dropcaches 1|2|3                    sync, then /proc/sys/vm/drop_caches
 *   append UID GID PATH                 stdin appended to PATH as UID:GID
 * Exit 0: done; 1: refused or failed, one line on stderr naming the path;
 * 2: usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walk.h"

/* A decimal id or mode; -1 if it is not one. */
static long number(const char *s, int base, long max)
{
	char *end;
	long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtol(s, &end, base);
	return errno || *end || v > max ? -1 : v;
}

static int usage(void)
{
	fputs("usage: prep-deno-walk mkdir PATH UID GID MODE [parents] | rmtree PATH | "
	      "rmuser PATH UID | ps | mountpoint PATH | dropcaches 1|2|3 | append UID GID PATH\n",
	      stderr);
	return 2;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	long a, b, c;

	if (!strcmp(cmd, "mkdir") && (argc == 6 || (argc == 7 && !strcmp(argv[6], "parents"))) &&
	    (a = number(argv[3], 10, 0x7fffffffL)) >= 0 &&
	    (b = number(argv[4], 10, 0x7fffffffL)) >= 0 && (c = number(argv[5], 8, 07777)) >= 0)
		return cmd_mkdir(argv[2], (uid_t)a, (gid_t)b, (mode_t)c, argc == 7);
	if (!strcmp(cmd, "rmtree") && argc == 3)
		return cmd_rmtree(argv[2]);
	if (!strcmp(cmd, "rmuser") && argc == 4 && (a = number(argv[3], 10, 0x7fffffffL)) >= 0)
		return cmd_rmuser(argv[2], (uid_t)a);
	if (!strcmp(cmd, "ps") && argc == 2)
		return cmd_ps();
	if (!strcmp(cmd, "mountpoint") && argc == 3)
		return cmd_mountpoint(argv[2]);
	if (!strcmp(cmd, "dropcaches") && argc == 3)
		return cmd_dropcaches(argv[2]);
	if (!strcmp(cmd, "append") && argc == 5 && (a = number(argv[2], 10, 0x7fffffffL)) >= 0 &&
	    (b = number(argv[3], 10, 0x7fffffffL)) >= 0)
		return cmd_append((uid_t)a, (gid_t)b, argv[4]);
	return usage();
}
