// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The one sandboxed launch of a hook, for the spawn path (`run`, `try`,
 * `check`) and the warm service alike.
 *
 * - {@linkcode planHook}(modulePath, hook): the policy turned into a bwrap
 *   view and one `deno run` command line with Deno's permission flags and
 *   the prebuilt entry (throws {@linkcode LaunchRefused} with the status and
 *   the message when the hook cannot be launched). For a different program
 *   in the same view (a warm host) pass an {@linkcode OtherEntry}: its files,
 *   its own writable folders, and its command from the policy's permission
 *   flags; spawn it with `noStatus`.
 * - {@linkcode spawnPlan}(plan, options): runs it through the native
 *   launcher, which owns the hook's processes: memory cgroup, timeout,
 *   killing every process, exit status and message. Kill the returned child
 *   with SIGTERM to stop the whole hook.
 * - {@linkcode CappedOutput}: the 1 MiB output cap both modes apply.
 * - {@linkcode runHook}(run): plan and spawn in one, the hook's stdout
 *   passed on or captured (`try`, `check`, `run` from TypeScript).
 *
 * @example
 * ```ts
 * import { planHook, spawnPlan } from "./mod.ts";
 * export async function prolog(path = "/etc/slurm/prolog.ts"): Promise<number> {
 *   const child = spawnPlan(planHook(path, "prolog"), {
 *     hook: "prolog",
 *     modulePath: path,
 *     timeoutSeconds: 30,
 *   });
 *   return (await child.status).code; // the hook's exit status
 * }
 * ```
 *
 * @module
 */

export * from "./constants.ts";
export * from "./output.ts";
export * from "./plan.ts";
export * from "./run.ts";
export * from "./spawn.ts";
