// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * How the runner's TypeScript starts itself again (the warm service's
 * hosts, the native launcher's fallback to src/main.ts): the same entry
 * point with the same Deno, and the files a sandbox must bind for that.
 *
 * @module
 */

import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

/** Flags src/main.ts runs with (the native launcher is built with the same list). */
export const DENO_RUN_FLAGS = [
  "--no-config",
  "--no-lock",
  "--no-prompt",
  "--unstable-worker-options",
  "--allow-all",
];

/** A command that re-enters `src/main.ts`, and the files it executes from. */
export interface SelfCommand {
  /** argv prefix; append the subcommand and its arguments. */
  readonly argv: readonly string[];
  /** Paths the sandbox must bind read-only for `argv` to run. */
  readonly runtimePaths: readonly string[];
}

/**
 * Whether this process is a `deno compile`d binary (its modules live in the
 * binary's virtual `deno-compile-<name>` root). The build no longer makes
 * one; kept for a site that compiles the runner itself.
 */
export function isCompiled(): boolean {
  return Deno.mainModule.includes("/deno-compile-");
}

/**
 * The command that runs this very runner again; `importMap` is a value for
 * Deno's `--import-map` (a hook's imports, for the modules it loads);
 * `program` a bundled script (absolute path) to run instead of
 * `src/main.ts`, with the same Deno and flags.
 */
export function selfCommand(importMap?: string, program?: string): SelfCommand {
  const exe = Deno.execPath();
  if (isCompiled()) return { argv: [exe], runtimePaths: [exe] };
  const main = fileURLToPath(new URL("./main.ts", import.meta.url));
  const map = importMap === undefined ? [] : ["--import-map", importMap];
  return {
    argv: [exe, "run", ...DENO_RUN_FLAGS, ...map, program ?? main],
    // src/ stays in view either way: hooks import "prep-deno" from it.
    runtimePaths: [exe, dirname(main), ...(program ? [program] : [])],
  };
}
