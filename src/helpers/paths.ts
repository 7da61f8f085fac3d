// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The runner's own modules a hook may import at run time (the helpers and
 * the `mod.ts` face), so the sandbox can let them in without granting the
 * runner's whole source tree.
 *
 * @module
 */

import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const SRC = dirname(dirname(fileURLToPath(import.meta.url)));

/**
 * Files and folders under the runner's `src/` that `src/mod.ts` and
 * `src/helpers/mod.ts` load at run time.
 *
 * @example
 * ```ts
 * HELPER_MODULE_PATHS.some((p) => p.endsWith("/src/helpers")); // true
 * ```
 */
export const HELPER_MODULE_PATHS: readonly string[] = [
  "mod.ts",
  "helpers",
  "job",
  "contract.ts",
  "types.ts",
].map((p) => `${SRC}/${p}`);
