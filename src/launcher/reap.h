/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The launcher, a subreaper while a broker runs (broker.c), ends the
 * processes orphaned to it: what privileged commands left running in a
 * session of their own, which no process group or (in the fallback) no
 * cgroup holds.
 */
#ifndef PREP_DENO_LAUNCHER_REAP_H
#define PREP_DENO_LAUNCHER_REAP_H

/* Kills and reaps every child of ours until none is left. */
void pd_end_orphans(void);

#endif
