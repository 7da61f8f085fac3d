// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Values the launch plan and the in-sandbox entry share and C does not
 * need. What the native launcher must also know is in src/contract.ts
 * (`LAUNCHER`).
 *
 * @module
 */

import { LAUNCHER } from "../contract.ts";

/**
 * Where the Deno runtime inside the sandbox keeps its cache: in the view's
 * private tmpfs at `LAUNCHER.RUN_DIR`, mounted after every grant, so no
 * grant (the host's /tmp, the whole host) brings it onto a name a local
 * user could prepare, and nothing on the host can plant code into it.
 */
export const RUNTIME_DIR = `${LAUNCHER.RUN_DIR}/deno`;

/**
 * The variables the Deno runtime needs in the view at start-up (cache,
 * colours); the entry takes them out again before the hook runs. DENO_DIR
 * is {@linkcode RUNTIME_DIR}, whatever the hook's grants.
 */
export const SANDBOX_RUNTIME_ENV: Readonly<Record<string, string>> = {
  DENO_DIR: RUNTIME_DIR,
  DENO_NO_UPDATE_CHECK: "1",
  NO_COLOR: "1",
};

/**
 * Deno 2.x's dependency-analysis cache in a DENO_DIR. Deno parses every
 * module it loads to find its imports and keeps the result here: for the
 * bundled entry that is ~6 ms of every spawned hook, whose DENO_DIR starts
 * empty. scripts/build.ts makes this file for build/entry.js and build/mod.js
 * (`"prep-deno"`) once (`ENTRY_ANALYSIS_FILE`, next to them) and the launcher copies it into each
 * hook's private DENO_DIR (a plan seed): Deno still checks each entry
 * against the module's source hash, so a stale copy only costs the parse.
 */
export const DENO_ANALYSIS_CACHE = "dep_analysis_cache_v2";

/** The build's analysis of build/entry.js, next to it (see {@linkcode DENO_ANALYSIS_CACHE}). */
export const ENTRY_ANALYSIS_FILE = "entry.analysis.db";
