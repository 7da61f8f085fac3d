// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Command-line parsing shared by the subcommands, on `node:util` parseArgs
 * (JSR's @std/cli is not reachable from the sites we build on).
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { EXIT, type FlagNumberKey, LAUNCHER, numberProblem } from "../contract.ts";
import { closest } from "../sandbox/did_you_mean.ts";
import { isScriptContext, SCRIPT_CONTEXTS } from "../job/slurm_vars.ts";
import type { ScriptContext } from "../types.ts";

/** A bad command line: printed with a hint, exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Parses `args` for `command`; unknown flags and missing values are usage errors. */
export function parseCommand<T extends NonNullable<ParseArgsConfig["options"]>>(
  command: string,
  args: string[],
  options: T,
) {
  try {
    return parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    const message = (e as Error).message;
    const unknown = message.match(/^Unknown option '([^']*)'/);
    if (unknown) {
      const valid = [...Object.keys(options), "help"].map((o) => `--${o}`);
      const near = closest(unknown[1], valid);
      throw new UsageError(
        `${command}: unknown option ${unknown[1]}${near ? ` (did you mean ${near}?)` : ""}; ` +
          `the options are ${valid.join(", ")}`,
      );
    }
    throw new UsageError(`${command}: ${message.split("\n")[0]}`);
  }
}

/** Other names for the contexts: the hook names, slurm.conf's keys, any case. */
const CONTEXT_ALIASES: Readonly<Record<string, ScriptContext>> = {
  prolog: "prolog_slurmd",
  epilog: "epilog_slurmd",
  prologslurmctld: "prolog_slurmctld",
  epilogslurmctld: "epilog_slurmctld",
};

/**
 * The script context `value` names: a context itself, or an alias where
 * it is unambiguous (`prolog` and `Prolog` for `prolog_slurmd`,
 * `prologSlurmctld` and `PrologSlurmctld` for `prolog_slurmctld`, ...).
 *
 * @example
 * ```ts
 * contextArg("try", "prolog"); // "prolog_slurmd"
 * contextArg("try", "EpilogSlurmctld"); // "epilog_slurmctld"
 * ```
 */
export function contextArg(command: string, value: string): ScriptContext {
  if (isScriptContext(value)) return value;
  const lower = value.toLowerCase();
  if (isScriptContext(lower)) return lower;
  const alias = CONTEXT_ALIASES[lower.replaceAll("_", "").replaceAll("-", "")];
  if (alias) return alias;
  throw new UsageError(
    `${command}: --context must be one of ${SCRIPT_CONTEXTS.join(", ")} ` +
      `(or prolog, epilog, prologSlurmctld, epilogSlurmctld), not "${value}"`,
  );
}

/**
 * A non-negative decimal number flag (no exponent, no sign), at most `max`,
 * or undefined when absent.
 *
 * @example
 * ```ts
 * numberFlag("run", "timeout", "1.5", 2147483); // 1.5
 * ```
 */
export function numberFlag(
  command: string,
  name: string,
  value: string | undefined,
  max: number = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n) || n > max) {
    throw new UsageError(`${command}: --${name}=${value}: not a number from 0 to ${max}`);
  }
  return n;
}

/**
 * A flag of the numbers `PrEpParameters` takes too ({@linkcode NUMBERS} in
 * src/contract.ts: `--heap-mb`, `--memory-mb`, `--tasks-max`), within its
 * one set of bounds, or undefined when absent. The error names the flag,
 * the value, the range and the key, in the plugin's words.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { limitFlag } from "./args.ts";
 * assert.equal(limitFlag("run", "tasks_max", "512"), 512);
 * assert.throws(
 *   () => limitFlag("run", "heap_mb", "-5"),
 *   /run: --heap-mb=-5: not a whole number from 32 to 1048576 \(PrEpParameters heap_mb\)/,
 * );
 * ```
 */
export function limitFlag(
  command: string,
  key: FlagNumberKey,
  value: string | undefined,
): number | undefined {
  if (value === undefined) return undefined;
  const problem = numberProblem(key, value, "flag");
  if (problem) throw new UsageError(`${command}: ${problem} (PrEpParameters ${key})`);
  return Number(value);
}

/**
 * An integer flag within [min, max], or undefined when absent.
 *
 * @example
 * ```ts
 * integerFlag("try", "job-id", "42", 1, 4294967294); // 42
 * ```
 */
export function integerFlag(
  command: string,
  name: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new UsageError(
      `${command}: --${name} takes a whole number from ${min} to ${max}, not "${value}"`,
    );
  }
  return n;
}

/** Longest `--timeout`: past it a millisecond timer overflows (Deno's and the kernel's). */
/** Longest `--timeout` in seconds (the launcher's, {@linkcode LAUNCHER}). */
export const MAX_TIMEOUT_SECONDS: number = LAUNCHER.MAX_TIMEOUT_SECONDS;

/** Exactly one positional argument: the module. */
export function moduleArg(command: string, positionals: string[]): string {
  if (positionals.length !== 1) {
    throw new UsageError(`${command}: expected one MODULE, got ${positionals.length} arguments`);
  }
  return positionals[0];
}

/** Prints a usage error with a pointer to --help; returns the usage status. */
export function reportUsage(e: UsageError): number {
  console.error(`prep-deno ${e.message}\n(see prep-deno ${e.message.split(":")[0]} --help)`);
  return EXIT.USAGE;
}
