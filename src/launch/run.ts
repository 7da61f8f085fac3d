// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Runs one hook from TypeScript (`try`, `check`, and `run` when the native
 * hot path hands the line over): plans its launch, then runs it through the
 * native launcher, which owns the hook's processes and its exit status.
 *
 * @module
 */

import { resolve } from "node:path";
import { writeAll } from "../bytes.ts";
import { causeLine } from "../contract.ts";
import type { HookName } from "../types.ts";
import { formatOutcome, type HookOutcome, outcomeText } from "../outcome/outcome_record.ts";
import { LaunchRefused, planHook } from "./plan.ts";
import { spawnPlan } from "./spawn.ts";
import { pipeCapped } from "./output.ts";

/** One hook to run. */
export interface HookRun {
  /** Path of the module. */
  modulePath: string;
  /** Which hook. */
  hook: HookName;
  /** Seconds before the hook is stopped; 0 or undefined: no limit. */
  timeoutSeconds?: number;
  /** Heap limit in MiB. */
  heapMb?: number;
  /** The whole hook's memory limit in MiB. */
  memoryMb?: number;
  /** Most tasks (processes and threads) at once, `--tasks-max`. */
  tasksMax?: number;
  /**
   * The hook's environment. Undefined: this process's own, passed on
   * untouched (bytes that are not UTF-8 included), as `run` does.
   */
  env?: Record<string, string>;
  /** The daemon's own slurm.conf (`run --slurm-conf`); `slurm: true` uses it. */
  slurmConf?: string;
  /** Only list the module's exports on stdout, as JSON (for `check`). */
  listExports?: boolean;
  /** Receives the hook's stdout instead of this process's stdout. */
  onStdout?: (chunk: Uint8Array) => void;
  /** Cap the hook's stdout as the log does (1 MiB, then a note). */
  capStdout?: boolean;
  /** The plugin's descriptor for the outcome record (`--outcome-fd`), passed on to the launcher. */
  outcomeFd?: number;
}

/** Runs one hook in the sandbox; resolves to its exit status. */
export async function runHook(run: HookRun): Promise<number> {
  const modulePath = resolve(run.modulePath);
  const jobId = run.env?.SLURM_JOB_ID ?? Deno.env.get("SLURM_JOB_ID") ?? "?";
  let plan;
  try {
    plan = planHook(modulePath, run.hook, undefined, run.env, run.slurmConf);
  } catch (e) {
    if (!(e instanceof LaunchRefused)) throw e;
    const record: HookOutcome = {
      kind: "refused",
      status: e.status,
      message: e.message,
      cause: e.shortCause,
      place: { hook: run.hook, module: modulePath, job: jobId },
    };
    if (run.outcomeFd !== undefined) {
      // The plugin's pipe, which this process got from the launcher.
      Deno.writeTextFileSync(`/proc/self/fd/${run.outcomeFd}`, formatOutcome(record));
    } else {
      console.error(outcomeText(record));
      console.error(causeLine(e.shortCause));
    }
    return e.status;
  }
  const piped = run.onStdout !== undefined || run.capStdout === true;
  const child = spawnPlan(plan, {
    hook: run.hook,
    modulePath,
    env: run.env,
    timeoutSeconds: run.timeoutSeconds,
    heapMb: run.heapMb,
    memoryMb: run.memoryMb,
    tasksMax: run.tasksMax,
    listExports: run.listExports,
    outcomeFd: run.outcomeFd,
    stdout: piped ? "piped" : "inherit",
  });
  if (piped) {
    const sink = run.onStdout;
    await (sink
      ? (async () => {
        for await (const c of child.stdout) sink(c);
      })()
      : pipeCapped(child.stdout, (c) => writeAll(Deno.stdout, c)));
  }
  return (await child.status).code;
}
