// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * GENERATED from src/contract.ts by src/contract_c.ts: do not edit. Change
 * src/contract.ts, then `deno task build` writes this file again;
 * tests/ffi/structure_test.ts fails while it is stale.
 *
 * What the native launcher (build/prep-deno) shares with the TypeScript
 * runner; `prep-deno __contract` says the values back
 * (tests/runner/launcher_contract_test.ts). The build's own values (the
 * Deno binary, src/main.ts, Deno's flags, the build id) come as -D from
 * scripts/build.ts.
 */
#ifndef PREP_DENO_LAUNCHER_CONTRACT_H
#define PREP_DENO_LAUNCHER_CONTRACT_H

/* Exit statuses of the runner for its own failures (EXIT). */
#define PD_EXIT_FAILED 1 /* the hook threw or returned a bad value */
#define PD_EXIT_USAGE 2 /* bad command line */
#define PD_EXIT_TIMEOUT 124 /* ran past --timeout */
#define PD_EXIT_OUT_OF_MEMORY 125 /* hit --heap-mb, --memory-mb or --tasks-max */
#define PD_EXIT_SANDBOX 126 /* bad policy, no bwrap */
#define PD_EXIT_NOT_FOUND 127 /* no such module; prep/script's 127 */

/* The runner's root-only state under /run (LAUNCHER.RUN_DIR). */
#define PREP_DENO_RUN_DIR "/run/prep-deno"
/* Where, inside the view, the entry writes the status it ends with. */
#define PD_STATUS_PATH "/run/prep-deno/hook-status"
/* First string of an encoded plan. */
#define PD_PLAN_MAGIC "prep-deno-plan-3"
/* --heap-mb when not given, in MiB. */
#define PD_DEFAULT_HEAP_MB 512
/* --memory-mb when not given: the heap limit plus this, in MiB. */
#define PD_DEFAULT_MEMORY_HEADROOM_MB 512
/* Longest --timeout, in seconds. */
#define PD_MAX_TIMEOUT_SECONDS 2147483
/* Most files a plan copies into the sandbox at start. */
#define PD_MAX_SEEDS 4
/* Most grants one plan binds by descriptor. */
#define PD_MAX_FD_BINDS 64
/* The broker's socket in the hook's view. */
#define PD_PRIVILEGED_SOCKET "/run/prep-deno/privileged.sock"
/*
 * Where V8's flags go: the heap limit's flag (printf: the MiB, a long) right
 * after the first PD_V8_FLAGS_AFTER of the plan's command.
 */
#define PD_V8_FLAGS_AFTER "run"
#define PD_HEAP_FLAG "--v8-flags=--max-old-space-size=%ld"

/*
 * Every number PrEpParameters takes: one table, X(enum suffix, key, flag,
 * min, max, default), whole numbers only (src/contract.ts NUMBERS). The
 * hook's limits are also runner flags (`run`, `try`, `serve`); the
 * journal's (flag "") are the plugin's alone. Default 0: the runner's
 * default is computed (memory_mb: the heap limit +
 * LAUNCHER.DEFAULT_MEMORY_HEADROOM_MB). tasks_max counts threads too (the
 * pids controller does): Deno alone holds a few per CPU. journal_output_kb
 * stops at PD_MAX_OUTPUT (1 MiB): no run has more output.
 */
#define PD_NUMBERS(X) \
	X(HEAP_MB, "heap_mb", "--heap-mb", 32, 1048576, 512) \
	X(MEMORY_MB, "memory_mb", "--memory-mb", 128, 16777216, 0) \
	X(TASKS_MAX, "tasks_max", "--tasks-max", 64, 4194304, 4096) \
	X(JOURNAL_MAX_MB, "journal_max_mb", "", 1, 1048576, 64) \
	X(JOURNAL_MAX_DAYS, "journal_max_days", "", 1, 36500, 30) \
	X(JOURNAL_OUTPUT_KB, "journal_output_kb", "", 0, 1024, 64)

/* Each number's default, PD_NUMBER_DEFAULT_<suffix>, from the table. */
enum {
#define PD_NUMBER_DEFAULT_ROW(suffix, key, flag, min, max, def) \
	PD_NUMBER_DEFAULT_##suffix = def,
	PD_NUMBERS(PD_NUMBER_DEFAULT_ROW)
#undef PD_NUMBER_DEFAULT_ROW
};

/* The cause line for a person at a terminal, and the cause's bound. */
#define PD_CAUSE_MARKER "prep-deno: cause: "
#define PD_REASON_MAX 120
/* The outcome record (src/outcome/outcome_record.ts) and the messages' one prefix. */
#define PD_OUTCOME_MAGIC "prep-deno-outcome/1"
#define PD_OUTCOME_MAX 4096
#define PD_MESSAGE_PREFIX "prep-deno: %s %s job %s:"

/* The variable that names the hook's context, and the hook of each. */
#define PD_CONTEXT_VAR "SLURM_SCRIPT_CONTEXT"
/*
 * The hook that serves each context (the value of PD_CONTEXT_VAR):
 * X(context, hook).
 */
#define PD_HOOK_CONTEXTS(X) \
	X("prolog_slurmd", "prolog") \
	X("epilog_slurmd", "epilog") \
	X("prolog_slurmctld", "prologSlurmctld") \
	X("epilog_slurmctld", "epilogSlurmctld")

/*
 * The outcome kinds only the hook call makes: a record from inside the
 * sandbox is taken with one of these alone (X(kind)).
 */
#define PD_HOOK_KINDS(X) \
	X("returned") \
	X("bad-value") \
	X("threw") \
	X("no-export") \
	X("load-failed") \
	X("stalled")

#endif
