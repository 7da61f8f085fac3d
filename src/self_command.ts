// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * How the runner starts itself again inside the sandbox: the compiled
 * binary runs itself; under `deno run` it runs the same entry point with the
 * same Deno. Either way the sandbox needs exactly these files.
 *
 * @module
 */

import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

/** Flags the host half needs under `deno run` (the compiled binary has them baked in). */
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
 * Whether this process is a `deno compile`d binary: its modules live in the
 * binary's virtual `deno-compile-<name>` root instead of on disk.
 */
export function isCompiled(): boolean {
  return Deno.mainModule.includes("/deno-compile-");
}

/** The command that runs this very runner again. */
export function selfCommand(): SelfCommand {
  const exe = Deno.execPath();
  if (isCompiled()) return { argv: [exe], runtimePaths: [exe] };
  const main = fileURLToPath(new URL("./main.ts", import.meta.url));
  return {
    argv: [exe, "run", ...DENO_RUN_FLAGS, main],
    runtimePaths: [exe, dirname(main)],
  };
}
