// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Starts a planned launch through the native launcher (`prep-deno __exec`),
 * the one place that owns a hook's processes: its memory cgroup, its
 * timeout, the kill of every process of it, and the exit status with its
 * message. TypeScript never runs bwrap itself.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { encodePlan, type LaunchPlan } from "./plan.ts";

/** The native launcher scripts/build.ts makes. */
export const LAUNCHER_PATH = fileURLToPath(new URL("../../build/prep-deno", import.meta.url));

/**
 * How to run a plan.
 *
 * @example
 * ```ts
 * import { planHook } from "./plan.ts";
 * import { spawnPlan } from "./spawn.ts";
 * export async function runProlog(path: string, jobEnv: Record<string, string>): Promise<number> {
 *   const child = spawnPlan(planHook(path, "prolog"), {
 *     hook: "prolog",
 *     modulePath: path,
 *     env: jobEnv,
 *     timeoutSeconds: 30,
 *   });
 *   return (await child.status).code;
 * }
 * ```
 */
export interface SpawnOptions {
  /** For messages: the hook. */
  hook: string;
  /** For messages: the module. */
  modulePath: string;
  /** The job's environment (the process's own, bytes intact, when absent). */
  env?: Record<string, string>;
  /** Seconds before every process of the hook is killed (124); 0/absent: none. */
  timeoutSeconds?: number;
  /** The JavaScript heap limit in MiB. */
  heapMb?: number;
  /** The whole hook's memory limit in MiB (default: heap + 512). */
  memoryMb?: number;
  /** Most tasks (processes and threads) at once, `--tasks-max`. */
  tasksMax?: number;
  /** Only print the module's exports as JSON on stdout (for `check`). */
  listExports?: boolean;
  /**
   * The command is not build/entry.js (a warm host, say): no status file,
   * the exit code passed on as is (signals still named).
   */
  noStatus?: boolean;
  /**
   * The launcher's outcome record goes to this descriptor of it
   * (`--outcome-fd`; 1: its stdout, which the hook then never gets).
   */
  outcomeFd?: number;
  /** Where the hook's stdout goes (default: inherit). */
  stdout?: "inherit" | "piped" | "null";
  /** Where the hook's stderr and the runner's messages go (default: inherit). */
  stderr?: "inherit" | "piped" | "null";
}

/**
 * Starts the launch; the child's exit status is the hook's (see the README's
 * exit status table). `child.kill("SIGTERM")` kills every process of the
 * hook, then the launcher ends with 143. The plan's command must start
 * `[deno, "run", ...]`: the launcher puts the heap limit right after "run".
 */
export function spawnPlan(plan: LaunchPlan, opts: SpawnOptions): Deno.ChildProcess {
  const args = ["__exec", "--hook", opts.hook, "--module", opts.modulePath];
  if (opts.timeoutSeconds) args.push("--timeout", String(opts.timeoutSeconds));
  if (opts.heapMb) args.push("--heap-mb", String(opts.heapMb));
  if (opts.memoryMb) args.push("--memory-mb", String(opts.memoryMb));
  if (opts.tasksMax) args.push("--tasks-max", String(opts.tasksMax));
  if (opts.listExports) args.push("--list-exports");
  if (opts.noStatus) args.push("--no-status");
  if (opts.outcomeFd !== undefined) args.push("--outcome-fd", String(opts.outcomeFd));
  const child = new Deno.Command(LAUNCHER_PATH, {
    args,
    stdin: "piped",
    stdout: opts.stdout ?? "inherit",
    stderr: opts.stderr ?? "inherit",
    ...(opts.env ? { clearEnv: true, env: opts.env } : {}),
  }).spawn();
  const writer = child.stdin.getWriter();
  writer.write(encodePlan(plan)).then(() => writer.close()).catch(() => {});
  return child;
}
