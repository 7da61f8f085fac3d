// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What hook authors import as `"prep-deno"`: the job context types
 * (type-only, so a hook needs nothing at run time) and the hostlist helper.
 * The import map of `prep-deno init`'s deno.json points `"prep-deno"` here
 * (`/usr/lib/prep-deno/src/mod.ts` when installed) and `"prep-deno/testing"`
 * at `testing.ts`, the fake jobs for unit tests.
 *
 * @example
 * ```ts
 * import type { JobContext } from "prep-deno";
 *
 * export function prolog(job: JobContext): number | void {
 *   if (job.hostnames.length > 64 && job.partition === "debug") return 1;
 * }
 * ```
 *
 * @module
 */

export type { Hook, HookModule, HookName, HookResult, JobContext, ScriptContext } from "./types.ts";
export { expandHostlist } from "./job/hostlist.ts";
export { buildJobContext } from "./job/context.ts";
export * from "./helpers/mod.ts";
