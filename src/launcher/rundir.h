/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The runner's root-only state folder (rundir.c). */
#ifndef PREP_DENO_LAUNCHER_RUNDIR_H
#define PREP_DENO_LAUNCHER_RUNDIR_H

#include <stddef.h>
#include <sys/types.h>

/*
 * PREP_DENO_RUN_DIR/SUB as a path in out, made (with `mode`) if missing:
 * 0 only when every folder from / down to it is a real folder (no link),
 * owned by root or us, and writable by no one else; -1 otherwise.
 */
int pd_run_dir(const char *sub, mode_t mode, char *out, size_t size);

/*
 * Removes the entries of `dir` (a folder pd_run_dir just gave) named
 * "<pid>-..." whose process is gone (a launcher killed with SIGKILL never cleans up after
 * itself, and the run dir is a tmpfs in memory): files, and folders with
 * the files in them. Never follows a link; an entry of a live process, or
 * named otherwise, is left alone.
 */
void pd_sweep_dead(const char *dir);

#endif
