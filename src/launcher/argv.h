/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The bwrap command line of one hook (argv.c): the plan's arguments, the
 * descriptors this launch opens for it, the files it binds in.
 */
#ifndef PREP_DENO_LAUNCHER_ARGV_H
#define PREP_DENO_LAUNCHER_ARGV_H

#include "launcher.h"

/* Opens the plan's seeds for bwrap's --file; -1 for one that is missing or not root's. */
void pd_open_seeds(const struct pd_plan *p, int *fds);
void pd_close_seeds(int *fds);

/* Opens the plan's descriptor binds without following a link; -1 with the path in *bad. */
int pd_open_fd_binds(const struct pd_plan *p, int *fds, const char **bad);
void pd_close_fds(int *fds, size_t n);

/* bwrap, its arguments, and the command: the argv to execute (free() it). */
char **pd_final_argv(const struct pd_hook *h, const char *status_path, int info_fd, int block_fd,
		     const int *seed_fds, const char *broker_sock, const int *bind_fds);

#endif
