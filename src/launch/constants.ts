// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Values the launch plan and the in-sandbox entry share and C does not
 * need. What the native launcher must also know is in src/contract.ts
 * (`LAUNCHER`).
 *
 * @module
 */

/**
 * The variables the Deno runtime needs in the view at start-up (cache,
 * colours); the entry takes them out again before the hook runs.
 */
export const SANDBOX_RUNTIME_ENV: Readonly<Record<string, string>> = {
  DENO_DIR: "/tmp/.deno",
  DENO_NO_UPDATE_CHECK: "1",
  NO_COLOR: "1",
};
