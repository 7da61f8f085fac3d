// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Command-line parsing shared by the subcommands, on `node:util` parseArgs
 * (JSR's @std/cli is not reachable from the sites we build on).
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { EXIT, LAUNCHER, type NumberKey, numberProblem } from "../contract.ts";

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
    throw new UsageError(`${command}: ${(e as Error).message.split("\n")[0]}`);
  }
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
 * limitFlag("run", "tasks_max", "512"); // 512
 * limitFlag("run", "heap_mb", "-5"); // throws "run: --heap-mb=-5: not a whole number from 32 to 1048576 (PrEpParameters heap_mb)"
 * ```
 */
export function limitFlag(
  command: string,
  key: NumberKey,
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
