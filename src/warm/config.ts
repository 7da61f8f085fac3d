// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * How the warm service runs the hooks of one policy: the top-level `"warm"`
 * object of the hook's deno.json (the file the permission policy came from).
 *
 * ```jsonc
 * {
 *   "permissions": { "default": { "read": ["/etc/slurm"] } },
 *   // "fresh" (default): a new isolate per job, nothing kept between jobs.
 *   // "reuse": the module is imported once per warm host and called per job.
 *   "warm": { "mode": "reuse", "hosts": 4 }
 * }
 * ```
 *
 * @module
 */

import { readPolicyFile } from "../sandbox/policy_file.ts";
import { DEFAULT_WARM, type WarmConfig } from "../sandbox/policy_keys.ts";

export { DEFAULT_WARM, parseWarm, type WarmConfig, type WarmMode } from "../sandbox/policy_keys.ts";

/**
 * The warm settings in the deno.json at `configPath` (none: the defaults).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { warmConfig } from "./config.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/deno.json`, '{ "warm": { "hosts": 2 } }');
 * assert.deepEqual(warmConfig(`${dir}/deno.json`), { mode: "fresh", hosts: 2 });
 * Deno.removeSync(dir, { recursive: true });
 * ```
 * @throws {PolicyError} naming the file and the key when `"warm"` is malformed.
 */
export function warmConfig(configPath: string | undefined): WarmConfig {
  return configPath ? { ...readPolicyFile(configPath).warm } : { ...DEFAULT_WARM };
}
