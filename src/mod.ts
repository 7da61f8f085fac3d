// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What hook authors import: the job context types (type-only, so a hook
 * needs nothing at run time) and the hostlist helper.
 *
 * @example
 * ```ts
 * import type { JobContext } from "/usr/local/lib/prep-deno/src/mod.ts";
 *
 * export function prolog(job: JobContext): number | void {
 *   if (job.hostnames.length > 64 && job.partition === "debug") return 1;
 * }
 * ```
 *
 * @module
 */

export type { Hook, HookModule, HookName, HookResult, JobContext, ScriptContext } from "./types.ts";
export { expandHostlist } from "./hostlist.ts";
export { buildJobContext } from "./context.ts";
export * from "./helpers/mod.ts";
