/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The native front of the runner (build/prep-deno). The hot path, `run`
 * with a cached plan, starts exactly one Deno process: bwrap -> deno with
 * the policy's permission flags and the prebuilt entry. Everything else
 * (help, usage errors, try, check, serve, a plan cache miss) runs
 * src/main.ts on the pinned Deno.
 *
 * What it shares with the TypeScript runner is contract.h, generated from
 * src/contract.ts (see `prep-deno __contract`). The build's own values come
 * as -D from scripts/build.ts: PREP_DENO_DENO, PREP_DENO_MAIN,
 * PREP_DENO_RUN_FLAGS, PREP_DENO_BUILD_ID.
 *
 * The units, each with its own header, top to bottom (nothing calls up):
 *   main.c       the command line: the hot path, __exec, __contract
 *   supervise.h  runs one hook (cgroup, status file, timeout)
 *   plan.h       launch plans: decode, cache, ask Deno for one
 *   cgroup.h     one memory cgroup per hook
 *   argv.h       the bwrap command line of one hook
 *   broker.h     runs the policy's privileged commands for the hook
 *   io.h         messages and reading a descriptor whole
 *   launcher.h   (this file) the types they share
 */
#ifndef PREP_DENO_LAUNCHER_H
#define PREP_DENO_LAUNCHER_H

#include "contract.h"

#include <stddef.h>
#include <sys/types.h>

/* A NUL-separated list of strings, as the plan encodes them. */
struct pd_list {
	size_t n;
	char **items; /* n items, then NULL */
};

/* A decoded launch plan (src/launch/plan.ts encodePlan). */
struct pd_plan {
	struct pd_list deps;
	struct pd_list bwrap;	/* bwrap path, then its arguments */
	struct pd_list command; /* deno path, "run", flags, entry, entry args */
	struct pd_list seeds;	/* pairs: a file outside, its path in the sandbox */
	struct pd_list privileged; /* the broker's rules (broker.c), empty: no broker */
	struct pd_list fd_binds;   /* pairs: "rw"/"ro", a path bound by descriptor */
	char *bytes;		/* the encoded plan the lists point into */
	size_t len;
};

/* One hook to run: its plan and its limits. */
struct pd_hook {
	const struct pd_plan *plan;
	const char *hook;   /* for messages */
	const char *module; /* for messages */
	const char *job_id; /* for messages */
	double timeout_s;   /* 0: none */
	long heap_mb;
	long memory_mb;
	long tasks_max; /* the pids cgroup's pids.max */
	const char *slurm_conf; /* the daemon's slurm.conf (--slurm-conf), or NULL */
	int list_exports;
	int no_status; /* not an entry.js launch: no status file, exit code as is */
	/*
	 * --outcome-fd: where the outcome record goes (src/outcome/outcome_record.ts),
	 * a descriptor the plugin handed only to this process (close-on-exec
	 * from the start, so no hook process holds it); -1: none, the record's
	 * message and cause line go to stderr instead (try, a terminal).
	 */
	int outcome_fd;
};

#endif
