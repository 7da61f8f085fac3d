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

import { PolicyError, stripJsonc } from "../policy.ts";

/** `fresh`: one isolate per job; `reuse`: one isolate per warm host, called per job. */
export type WarmMode = "fresh" | "reuse";

/** The warm settings of one policy. */
export interface WarmConfig {
  /** How jobs share isolates. */
  mode: WarmMode;
  /** Most warm host processes of one (module, hook); each runs one job at a time. */
  hosts: number;
}

/** What a policy without a `"warm"` object gets. */
export const DEFAULT_WARM: Readonly<WarmConfig> = { mode: "fresh", hosts: 4 };
/** The most warm hosts one (module, hook) may have. */
const MAX_HOSTS = 64;

const KEYS = ["mode", "hosts"];

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
  if (!configPath) return { ...DEFAULT_WARM };
  let config: unknown;
  try {
    config = JSON.parse(stripJsonc(Deno.readTextFileSync(configPath)));
  } catch (e) {
    throw new PolicyError(`${configPath}: cannot read the warm settings: ${(e as Error).message}`);
  }
  return parseWarm((config as Record<string, unknown> | null)?.warm, configPath);
}

/** Validates the value of `"warm"` from `configPath`. */
export function parseWarm(warm: unknown, configPath: string): WarmConfig {
  if (warm === undefined) return { ...DEFAULT_WARM };
  const where = `${configPath}: "warm"`;
  if (typeof warm !== "object" || warm === null || Array.isArray(warm)) {
    throw new PolicyError(`${where} must be an object, e.g. { "mode": "reuse" }`);
  }
  const w = warm as Record<string, unknown>;
  for (const key of Object.keys(w)) {
    if (!KEYS.includes(key)) {
      throw new PolicyError(`${where}: unknown key "${key}" (use ${KEYS.join(", ")})`);
    }
  }
  const out = { ...DEFAULT_WARM };
  if (w.mode !== undefined) {
    if (w.mode !== "fresh" && w.mode !== "reuse") {
      throw new PolicyError(
        `${where}.mode must be "fresh" (a new isolate per job) or "reuse" (the module imported once per warm host), not ${
          JSON.stringify(w.mode)
        }`,
      );
    }
    out.mode = w.mode;
  }
  if (w.hosts !== undefined) {
    if (!Number.isInteger(w.hosts) || (w.hosts as number) < 1 || (w.hosts as number) > MAX_HOSTS) {
      throw new PolicyError(
        `${where}.hosts must be an integer from 1 to ${MAX_HOSTS}, not ${JSON.stringify(w.hosts)}`,
      );
    }
    out.hosts = w.hosts as number;
  }
  return out;
}
