// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Everything the TypeScript runner and C must agree on, written once, here.
 * The C side's headers are generated from it (src/contract_c.ts), committed,
 * and never edited by hand:
 *
 * - `ffi/prep_deno_contract.h`, what the plugin (`prep_deno.so`) shares;
 *   `tests/ffi/contract_test.ts` also loads the built plugin and checks
 *   every value against the library's own `prep_deno_contract_json()`.
 * - `src/launcher/contract.h`, what the runner's native launcher
 *   (`build/prep-deno`) shares ({@linkcode LAUNCHER} and the rest);
 *   `tests/runner/launcher_contract_test.ts` reads the values back from the
 *   built launcher (`prep-deno __contract`).
 *
 * `deno task build` writes both, `deno task build-plugin` refuses to build
 * from a stale one, and `tests/ffi/structure_test.ts` fails when a committed
 * header is not what this file generates.
 *
 * The timeout story (who arms what, who kills what) is written down once, in
 * the header comment of `ffi/prep_deno_contract.h`.
 *
 * @example
 * ```ts
 * import { causeLine, EXIT } from "./contract.ts";
 * export function timedOut(seconds: number): never {
 *   console.error(causeLine(`timed out after ${seconds} s`));
 *   Deno.exit(EXIT.TIMEOUT);
 * }
 * ```
 *
 * @module
 */

/**
 * Exit statuses the runner uses for its own failures (`PD_EXIT_*`). Besides
 * these: the hook's own status (0-255), and, as in the shell, 128 + N when
 * the hook's process was killed by signal N (not by the runner).
 */
export const EXIT = {
  /** The hook threw, returned a bad value, or could not be loaded. */
  FAILED: 1,
  /** Bad command line. */
  USAGE: 2,
  /** The hook ran past `--timeout`; the plugin counts it as timed out. */
  TIMEOUT: 124,
  /** The hook passed its heap limit, its whole-hook memory limit or its process limit. */
  OUT_OF_MEMORY: 125,
  /** The sandbox could not be set up (no bwrap, bad policy). */
  SANDBOX: 126,
  /** The module file does not exist, as prep/script's 127 for a missing script. */
  NOT_FOUND: 127,
} as const;

/** Where the plugin looks for the runner unless `PrEpParameters=runner=` says otherwise. */
export const DEFAULT_RUNNER = "/usr/local/sbin/prep-deno";

/** Where the warm service listens unless `PrEpParameters=socket=` says otherwise. */
export const DEFAULT_SOCKET = "/run/prep-deno/serve.sock";

/**
 * The first field of every warm request (`PD_WARM_MAGIC`). Version 2: the
 * service sends an empty frame once the hook started, before the reply.
 * Version 3: the reply carries the outcome record in a field of its own.
 * Version 4: the request carries the daemon's own slurm.conf.
 */
export const WARM_MAGIC = "prep-deno-warm/4";

/**
 * The warm request's header fields, in order, before the job's environment
 * (`PD_WARM_FIELDS`): `slurmConf` is the daemon's own slurm.conf (empty when
 * unknown), which the service plans the hook with as the spawn path's
 * `run --slurm-conf`.
 *
 * @example
 * ```ts
 * import { WARM_FIELDS } from "./contract.ts";
 * WARM_FIELDS.indexOf("slurmConf"); // 4
 * ```
 */
export const WARM_FIELDS = ["magic", "module", "context", "timeout", "slurmConf"] as const;

/** Largest warm frame either side accepts, in bytes (`PD_WARM_MAX_FRAME`). */
export const WARM_MAX_FRAME = 16 * 1024 * 1024;

/** Output kept per hook, spawn and warm alike, in bytes (`PD_MAX_OUTPUT`). */
export const MAX_OUTPUT = 1024 * 1024;

/**
 * The note that ends a capped output, whoever capped it (the plugin's core,
 * the runner, the warm service); `%zu` is the number of bytes dropped
 * (`PD_TRUNCATION_NOTE`, a printf format on the C side). Use
 * {@linkcode truncationNote}.
 */
export const TRUNCATION_NOTE =
  "\n[prep/deno: output truncated: %zu more bytes were read and dropped]\n";

/**
 * Seconds the plugin waits past a TypeScript hook's timeout before it kills
 * the runner itself, so the runner's own "timed out" message (and 124) wins.
 */
export const RUNNER_GRACE_SECONDS = 5;

/**
 * Start of the line the runner prints with the cause of a failure (the
 * first line of the error) for a person at a terminal (`prep-deno try`, a
 * `run` without `--outcome-fd`). The plugin never reads it: the node's
 * reason, `<prolog|epilog> <file>: <cause>` with
 * `PrEpParameters=drain_reason=yes` (the default), comes from the outcome
 * record's cause ({@linkcode OUTCOME_MAGIC}).
 */
export const CAUSE_MARKER = "prep-deno: cause: ";

/** Longest node reason the plugin sets, in bytes (`PD_REASON_MAX`). */
export const REASON_MAX = 120;

/**
 * First field of the outcome record's wire line (src/outcome/outcome_record.ts),
 * which the launcher hands the plugin on its `--outcome-fd`
 * (`PD_OUTCOME_MAGIC`).
 */
export const OUTCOME_MAGIC = "prep-deno-outcome/1";

/** Longest outcome record line, newline included, in bytes (`PD_OUTCOME_MAX`). */
export const OUTCOME_MAX = 4096;

/**
 * The one prefix of the runner's messages, `prep-deno: <hook> <file> job
 * <id>:`, a printf format of three strings (`PD_MESSAGE_PREFIX`): the
 * launcher, the plugin's log line and src/outcome/outcome_record.ts `placePrefix`
 * all build it from this.
 */
export const MESSAGE_PREFIX = "prep-deno: %s %s job %s:";

/**
 * The descriptor the plugin hands the runner for the outcome record
 * (`--outcome-fd`, `PD_OUTCOME_FD`): the write end of a pipe only the
 * plugin reads.
 */
export const OUTCOME_FD = 3;

/** The variable that names the hook's context (`prolog_slurmd`, ...). */
export const CONTEXT_VAR = "SLURM_SCRIPT_CONTEXT";

/**
 * The hook (the module's export, the permission set) that serves each
 * context ({@linkcode CONTEXT_VAR}'s values), prep/script's four
 * (`PD_HOOK_CONTEXTS(X)`, X(context, hook), in the plugin's and the
 * launcher's headers).
 *
 * @example
 * ```ts
 * import { HOOK_CONTEXTS } from "./contract.ts";
 * HOOK_CONTEXTS.prolog_slurmctld; // "prologSlurmctld"
 * ```
 */
export const HOOK_CONTEXTS = {
  prolog_slurmd: "prolog",
  epilog_slurmd: "epilog",
  prolog_slurmctld: "prologSlurmctld",
  epilog_slurmctld: "epilogSlurmctld",
} as const;

/**
 * The outcome kinds only the hook call makes (src/outcome/hook_call.ts): how the
 * hook itself ended. The launcher and the warm service take a record from
 * inside the sandbox only with one of these (`PD_HOOK_KINDS(X)` in the
 * launcher's header); the runner's own kinds are theirs to say.
 *
 * @example
 * ```ts
 * import { HOOK_KINDS } from "./contract.ts";
 * HOOK_KINDS.includes("threw"); // true
 * ```
 */
export const HOOK_KINDS = [
  "returned",
  "bad-value",
  "threw",
  "no-export",
  "load-failed",
  "stalled",
] as const;

/**
 * The one-byte frames of a warm host (src/warm/host.ts) to the service
 * (src/warm/host_process.ts) around each job: `ACK` when it read the job (from
 * then on the hook may have started), `OUTPUT` first in a frame of the hook's
 * output as it comes (so a job killed at its timeout keeps what it printed),
 * `DROPPED` first in a frame of the count of output bytes dropped past the
 * cap so far, in decimal (the latest counts: the kept output's truncation
 * note), `KEEP` or `RETIRE` first in the answer (the host takes another job, or ends
 * after this one), `READY` once it can take the next.
 *
 * @example
 * ```ts
 * import { WARM_HOST_FRAMES } from "./contract.ts";
 * const answer = new Uint8Array([WARM_HOST_FRAMES.RETIRE.charCodeAt(0)]);
 * ```
 */
export const WARM_HOST_FRAMES = {
  ACK: "A",
  OUTPUT: "O",
  DROPPED: "D",
  KEEP: "K",
  RETIRE: "R",
  READY: "r",
} as const;

/**
 * Variables the slurmd side takes from the job's credential, in the order
 * prep/script sets them (on each release only those it has).
 */
export const CRED_VARS = [
  "SLURM_JOB_ACCOUNT",
  "SLURM_JOB_COMMENT",
  "SLURM_JOB_CORE_SPEC_COUNT",
  "SLURM_JOB_CORE_SPEC_TYPE",
  "SLURM_JOB_CONSTRAINTS",
  "SLURM_JOB_END_TIME",
  "SLURM_JOB_EXTRA",
  "SLURM_JOB_CPUS_PER_NODE",
  "SLURM_JOB_LICENSES",
  "SLURM_JOB_NTASKS",
  "SLURM_JOB_NUM_NODES",
  "SLURM_JOB_OVERSUBSCRIBE",
  "SLURM_JOB_EXCLUSIVE",
  "SLURM_JOB_PARTITION",
  "SLURM_JOB_QOS",
  "SLURM_JOB_RESERVATION",
  "SLURM_JOB_RESTART_COUNT",
  "SLURM_JOB_SELINUX_CONTEXT",
  "SLURM_JOB_START_TIME",
  "SLURM_JOB_STDERR",
  "SLURM_JOB_STDIN",
  "SLURM_JOB_STDOUT",
] as const;

/**
 * Every number `PrEpParameters` takes, with its one set of bounds: whole
 * numbers from `min` to `max` (`PD_NUMBERS` in `ffi/prep_deno_contract.h`,
 * which this mirrors; the launcher is built from this). The hook's limits
 * are also runner flags (`run`, `try`, `serve`); the journal's (`flag` "")
 * are the plugin's alone. `default` 0: computed by the runner
 * (`memory_mb`: the heap limit + {@linkcode LAUNCHER}`.DEFAULT_MEMORY_HEADROOM_MB`).
 * `tasks_max` counts threads too, as the kernel's pids controller does.
 *
 * @example
 * ```ts
 * import { NUMBERS } from "./contract.ts";
 * NUMBERS.tasks_max.default; // 4096
 * ```
 */
export const NUMBERS = {
  /** The hook's JavaScript heap limit in MiB (V8's `--max-old-space-size`). */
  heap_mb: { flag: "--heap-mb", min: 32, max: 1048576, default: 512 },
  /** The whole hook's memory limit in MiB (its memory cgroup). */
  memory_mb: { flag: "--memory-mb", min: 128, max: 16777216, default: 0 },
  /** Most tasks (processes and threads) the hook may hold at once (its pids cgroup). */
  tasks_max: { flag: "--tasks-max", min: 64, max: 4194304, default: 4096 },
  /** The journal and its older half together, in MiB. */
  journal_max_mb: { flag: "", min: 1, max: 1048576, default: 64 },
  /** Days after which a journal record goes (the file turns at half this age). */
  journal_max_days: { flag: "", min: 1, max: 36500, default: 30 },
  /** Output kept per run in the journal, in KiB (a run has at most 1 MiB, {@linkcode MAX_OUTPUT}). */
  journal_output_kb: { flag: "", min: 0, max: 1024, default: 64 },
} as const;

/** A key of {@linkcode NUMBERS} that is also a runner flag (`--heap-mb`, ...). */
export type FlagNumberKey = "heap_mb" | "memory_mb" | "tasks_max";

/** A key of {@linkcode NUMBERS}. */
export type NumberKey = keyof typeof NUMBERS;

/**
 * Why `value` is not a good `key`, in the words the plugin uses too
 * (`pdc_number_check`): the key (or, `as: "flag"`, the runner's flag), the
 * value and the range; undefined when it is good.
 *
 * @example
 * ```ts
 * numberProblem("heap_mb", "-5"); // "heap_mb=-5: not a whole number from 32 to 1048576"
 * numberProblem("heap_mb", "-5", "flag"); // "--heap-mb=-5: not a whole number from 32 to 1048576"
 * numberProblem("heap_mb", "64"); // undefined
 * ```
 */
export function numberProblem(
  key: NumberKey,
  value: string,
  as: "key" | "flag" = "key",
): string | undefined {
  const n = NUMBERS[key];
  if (/^\d+$/.test(value) && Number(value) >= n.min && Number(value) <= n.max) return undefined;
  const shown = value.length > 64 ? `${value.slice(0, 64)}...` : value;
  return `${
    as === "key" || !n.flag ? key : n.flag
  }=${shown}: not a whole number from ${n.min} to ${n.max}`;
}

/**
 * What the runner's native launcher is built with (`-D PD_*` from
 * `scripts/build.ts`; the plugin does not need them).
 *
 * @example
 * ```ts
 * import { LAUNCHER } from "./contract.ts";
 * const heapMb = LAUNCHER.DEFAULT_HEAP_MB; // --heap-mb when not given
 * ```
 */
export const LAUNCHER = {
  /**
   * Where, inside the view, the entry writes the status it ends with, so the
   * launcher can tell a hook that ended from one that was killed. The entry
   * opens it, then revokes its own write permission to it (`PD_STATUS_PATH`).
   * Under `RUN_DIR`, which every view masks with a tmpfs of its own after
   * every grant: never at a name in a folder a hook may be granted (the
   * host's /tmp), where a local user could prepare it and swap it.
   */
  STATUS_PATH: "/run/prep-deno/hook-status",
  /** First string of an encoded plan, bumped when the format changes (`PD_PLAN_MAGIC`). */
  PLAN_MAGIC: "prep-deno-plan-3",
  /** Default heap limit of a hook's JavaScript, in MiB (`--heap-mb`, `PD_DEFAULT_HEAP_MB`). */
  DEFAULT_HEAP_MB: NUMBERS.heap_mb.default,
  /**
   * The whole hook's memory limit (all its processes, off-heap memory
   * included), in MiB, when `--memory-mb` is not given: the heap limit plus
   * this much for Deno itself, buffers, WebAssembly and children
   * (`PD_DEFAULT_MEMORY_HEADROOM_MB`).
   */
  DEFAULT_MEMORY_HEADROOM_MB: 512,
  /** Longest `--timeout` in seconds: past it a millisecond timer overflows (`PD_MAX_TIMEOUT_SECONDS`). */
  MAX_TIMEOUT_SECONDS: 2147483,
  /**
   * The runner's root-only state: `plans/` (the plan cache) and `status/`
   * (each running hook's status file). Under /run: gone at boot, never stale
   * across upgrades (`PREP_DENO_RUN_DIR`). The launcher uses it only when
   * it and every folder above it are root's and writable by no one else.
   * Inside every view the same path is a fresh tmpfs mounted after every
   * grant, holding the runner's in-sandbox files (`STATUS_PATH`, Deno's
   * cache): its host counterpart is root's in root's /run, so no grant
   * brings a name there that a user could prepare.
   */
  RUN_DIR: "/run/prep-deno",
  /** Most files a plan copies into the sandbox at start (its seeds; `PD_MAX_SEEDS`). */
  MAX_SEEDS: 4,
  /**
   * Most grants one plan binds through a descriptor the launcher opens
   * (`PD_MAX_FD_BINDS`); a policy with more is refused when it is planned.
   */
  MAX_FD_BINDS: 64,
  /**
   * Where the hook's view holds the broker's socket when the policy names
   * privileged commands (`PD_PRIVILEGED_SOCKET`; see src/sandbox/privileged.ts).
   */
  PRIVILEGED_SOCKET: "/run/prep-deno/privileged.sock",
  /**
   * Where V8's flags go: the launcher puts its heap limit,
   * `--v8-flags=--max-old-space-size=N` (`PD_HEAP_FLAG`, a printf format of
   * a long), right after the first `run` of a plan's command
   * (`PD_V8_FLAGS_AFTER`), which may sit behind a wrapper (setpriv); a plan
   * carries no V8 flags of its own.
   */
  V8_FLAGS_AFTER: "run",
  /** The heap limit's flag, a printf format of the MiB (`PD_HEAP_FLAG`). */
  HEAP_FLAG: "--v8-flags=--max-old-space-size=%ld",
} as const;

/** One credential variable. */
export type CredVar = typeof CRED_VARS[number];

/**
 * The note that ends an output of which `dropped` bytes were read and
 * dropped ({@linkcode TRUNCATION_NOTE}).
 *
 * @example
 * ```ts
 * truncationNote(5); // "\n[prep/deno: output truncated: 5 more bytes were read and dropped]\n"
 * ```
 */
export function truncationNote(dropped: number): string {
  return TRUNCATION_NOTE.replace("%zu", String(dropped));
}

/**
 * The cause line for a failure: one line, the first line of `message`,
 * bounded so the node's reason stays readable.
 *
 * @example
 * ```ts
 * causeLine("gpu 1 lost\n  at check (site.ts:3)"); // "prep-deno: cause: gpu 1 lost"
 * ```
 */
export function causeLine(message: string): string {
  const first = message.split("\n").find((l) => l.trim() !== "")?.trim() ?? "failed";
  return CAUSE_MARKER + first.slice(0, REASON_MAX);
}
