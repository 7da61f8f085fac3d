// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Values the launch plan, the in-sandbox entry and the native launcher
 * share. scripts/build.ts hands them to the C compiler as -D flags, so the
 * launcher cannot disagree.
 *
 * @module
 */

/**
 * Where, inside the view, the entry writes the status it ends with, so the
 * launcher can tell a hook that ended from one that was killed. The entry
 * opens it, then revokes its own write permission to it.
 */
export const STATUS_PATH = "/tmp/.prep-deno-status";

/**
 * The variables the Deno runtime needs in the view at start-up (cache,
 * colours); the entry takes them out again before the hook runs.
 */
export const SANDBOX_RUNTIME_ENV: Readonly<Record<string, string>> = {
  DENO_DIR: "/tmp/.deno",
  DENO_NO_UPDATE_CHECK: "1",
  NO_COLOR: "1",
};

/** First string of an encoded plan (bumped when the format changes). */
export const PLAN_MAGIC = "prep-deno-plan-1";

/** Default heap limit of a hook's JavaScript, in MiB (`--heap-mb`). */
export const DEFAULT_HEAP_MB = 512;

/**
 * The whole hook's memory limit (all its processes, off-heap memory
 * included), in MiB, when `--memory-mb` is not given: the heap limit plus
 * this much for Deno itself, buffers, WebAssembly and children.
 */
export const DEFAULT_MEMORY_HEADROOM_MB = 512;

/** Longest `--timeout` in seconds: past it a millisecond timer overflows. */
export const MAX_TIMEOUT_SECONDS = 2147483;

/**
 * The runner's root-only state: `plans/` (the plan cache) and `status/`
 * (each running hook's status file). Under /run: gone at boot, never stale
 * across upgrades.
 */
export const RUN_DIR = "/run/prep-deno";
