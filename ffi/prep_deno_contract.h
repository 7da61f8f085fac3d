// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * GENERATED from src/contract.ts by src/contract_c.ts: do not edit. Change
 * src/contract.ts, then `deno task build` writes this file again;
 * tests/ffi/structure_test.ts fails while it is stale.
 *
 * What the C plugin and the TypeScript runner must agree on. tests/ffi/contract_test.ts
 * also loads the built plugin and compares its values, through
 * prep_deno_contract_json(), with src/contract.ts.
 */
/*
 * No Slurm header: the core includes this too.
 *
 * THE TIMEOUT STORY (PrologEpilogTimeout, from 25.05 PrologTimeout and
 * EpilogTimeout; T seconds, "forever" when unset):
 *   1. The glue (prep_deno_conf.c) reads T once per call; each hook of a
 *      list gets the whole T, as prep/script gives each script.
 *   2. Shell hook: the core (prep_deno_run.c) arms T and reads the output
 *      pipe until EOF, not merely until the script exits. At T it kills
 *      the script's process group: SIGTERM, 10 ms, SIGKILL (run_command's
 *      order). After a normal EOF it also kills stragglers of the group.
 *   3. TypeScript hook, spawn path: the runner gets `--timeout T` and arms
 *      it itself (src/launcher/supervise.c): at T it SIGKILLs every
 *      process of the hook's cgroup and exits PD_EXIT_TIMEOUT (124) with a
 *      "timed out" line. The core arms T + PD_RUNNER_GRACE_S as a backstop
 *      and, past it, SIGTERMs the runner's group (the runner then kills its
 *      cgroup the same way and exits 128+15), and SIGKILLs the group only
 *      PD_RUNNER_STOP_GRACE_MS later. A 124 from the runner counts as
 *      timed out.
 *   4. TypeScript hook, warm path: the core sends T in the request; the
 *      service arms T when the request arrives (src/warm/serve.ts), kills
 *      the hook's warm host process at T and answers 124; the core waits
 *      T + PD_RUNNER_GRACE_S for the answer. No answer before the hook
 *      started: the spawn path runs it; after: it fails, never runs twice.
 *   5. SPANK job prolog/epilog (slurmstepd spank): the slurmd side arms T
 *      and kills its group with SIGKILL.
 *   6. slurmctld hooks: the same as 2-4, on a core thread; nothing else in
 *      slurmctld times them out. fini() (daemon shutdown) SIGKILLs every
 *      running group and waits for the threads, which still call back.
 */
#ifndef PREP_DENO_CONTRACT_H
#define PREP_DENO_CONTRACT_H

/* Exit statuses of the runner for its own failures (EXIT). */
#define PD_EXIT_FAILED 1 /* the hook threw or returned a bad value */
#define PD_EXIT_USAGE 2 /* bad command line */
#define PD_EXIT_TIMEOUT 124 /* ran past --timeout */
#define PD_EXIT_OUT_OF_MEMORY 125 /* hit --heap-mb, --memory-mb or --tasks-max */
#define PD_EXIT_SANDBOX 126 /* bad policy, no bwrap */
#define PD_EXIT_NOT_FOUND 127 /* no such module; prep/script's 127 */

/*
 * Where the runner is unless PrEpParameters=runner=... says otherwise: a
 * source install's place; a package defines its own at build time
 * (scripts/build-plugin.sh PREP_DENO_RUNNER=..., /usr/sbin/prep-deno).
 */
#ifndef PD_DEFAULT_RUNNER
#define PD_DEFAULT_RUNNER "/usr/local/sbin/prep-deno"
#endif
/* Where the warm service listens unless socket=... says otherwise. */
#define PD_DEFAULT_SOCKET "/run/prep-deno/serve.sock"

/*
 * The warm protocol (src/warm/protocol.ts): first field, largest frame. /2:
 * an empty frame before the reply says the hook started (from then on a
 * missing reply is a failure, never a second run through the spawn path).
 * /3: the reply carries the outcome record in a field of its own.
 */
#define PD_WARM_MAGIC "prep-deno-warm/4"
/*
 * The request's header fields, in order, each NUL-terminated, before the
 * job's environment (X(enum suffix, name); src/contract.ts WARM_FIELDS).
 */
#define PD_WARM_FIELDS(X) \
	X(MAGIC, "magic") \
	X(MODULE, "module") \
	X(CONTEXT, "context") \
	X(TIMEOUT, "timeout") \
	X(SLURM_CONF, "slurmConf")
#define PD_WARM_MAX_FRAME 16777216

/* Output kept per hook, spawn and warm alike; the rest is dropped. */
#define PD_MAX_OUTPUT 1048576
/* The note that ends a capped output (printf: the bytes dropped, a size_t). */
#define PD_TRUNCATION_NOTE "\n[prep/deno: output truncated: %zu more bytes were read and dropped]\n"

/* Extra seconds the core gives a TypeScript hook past T (story, 3-4). */
#define PD_RUNNER_GRACE_S 5
/*
 * At its own deadline the core SIGTERMs a runner and SIGKILLs it only if
 * it has not exited this many ms later: the runner needs them to kill its
 * cgroup and remove it (story, 3). A shell hook gets run_command's 10 ms.
 * The plugin's alone: no TypeScript reads it.
 */
#define PD_RUNNER_STOP_GRACE_MS 2000

/*
 * The drain reason (PrEpParameters drain_reason=): "<prolog|epilog> <file>:
 * <cause>", at most PD_REASON_MAX bytes, the cause from the outcome record
 * below. The runner prints a line starting with this marker, then the
 * cause, only for a person at a terminal (`prep-deno try`, no record
 * descriptor); the plugin never reads it from the output.
 */
#define PD_CAUSE_MARKER "prep-deno: cause: "
#define PD_REASON_MAX 120

/*
 * The outcome record (src/outcome/outcome_record.ts): one line, these fields
 * tab-separated and escaped, magic kind status hook module job cause
 * message. The plugin hands the runner a pipe as descriptor PD_OUTCOME_FD
 * (`--outcome-fd 3`) and the runner writes the record there, never in the
 * hook's output; the warm service puts it in its reply's own field. The
 * drain reason of a module hook is the record's cause, nothing else.
 */
#define PD_OUTCOME_MAGIC "prep-deno-outcome/1"
/* The one prefix of the runner's messages: hook, module, job id. */
#define PD_MESSAGE_PREFIX "prep-deno: %s %s job %s:"
#define PD_OUTCOME_MAX 4096
#define PD_OUTCOME_FD 3

/* SLURM_SCRIPT_CONTEXT, and the variable that names it. */
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
 * Variables the slurmd side takes from the job's credential, in the order
 * prep/script sets them (X(enum suffix, name)). From the newest release
 * each exists in; the glue leaves the others unset on older releases.
 */
#define PD_CRED_VARS(X) \
	X(ACCOUNT, "SLURM_JOB_ACCOUNT") \
	X(COMMENT, "SLURM_JOB_COMMENT") \
	X(CORE_SPEC_COUNT, "SLURM_JOB_CORE_SPEC_COUNT") \
	X(CORE_SPEC_TYPE, "SLURM_JOB_CORE_SPEC_TYPE") \
	X(CONSTRAINTS, "SLURM_JOB_CONSTRAINTS") \
	X(END_TIME, "SLURM_JOB_END_TIME") \
	X(EXTRA, "SLURM_JOB_EXTRA") \
	X(CPUS_PER_NODE, "SLURM_JOB_CPUS_PER_NODE") \
	X(LICENSES, "SLURM_JOB_LICENSES") \
	X(NTASKS, "SLURM_JOB_NTASKS") \
	X(NUM_NODES, "SLURM_JOB_NUM_NODES") \
	X(OVERSUBSCRIBE, "SLURM_JOB_OVERSUBSCRIBE") \
	X(EXCLUSIVE, "SLURM_JOB_EXCLUSIVE") \
	X(PARTITION, "SLURM_JOB_PARTITION") \
	X(QOS, "SLURM_JOB_QOS") \
	X(RESERVATION, "SLURM_JOB_RESERVATION") \
	X(RESTART_COUNT, "SLURM_JOB_RESTART_COUNT") \
	X(SELINUX_CONTEXT, "SLURM_JOB_SELINUX_CONTEXT") \
	X(START_TIME, "SLURM_JOB_START_TIME") \
	X(STDERR, "SLURM_JOB_STDERR") \
	X(STDIN, "SLURM_JOB_STDIN") \
	X(STDOUT, "SLURM_JOB_STDOUT")

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

/*
 * One check for every number of that table: `value` as a whole decimal
 * number within [min, max] of `key`. 0 and *out; or -1 and, in `why`, the
 * error naming the key, the value and the range, in the words the runner
 * uses too (src/contract.ts numberProblem()): `heap_mb=-5: not a whole
 * number from 32 to 1048576`. An unknown key is -1 as well.
 */
extern int pdc_number_check(const char *key, const char *value, long long *out,
			    char *why, unsigned long why_len);

/* The contract above as one JSON object (static; do not free). */
extern const char *prep_deno_contract_json(void);

#endif
