// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Find and signal a user's processes on this node, optionally sparing those
 * of the user's other jobs. Deno 2.9 serves /proc and `Deno.kill` only to a
 * hook with `"all": true`, so this goes through `ps` and `kill`, which the
 * policy grants under `run`; the sandbox set needs `processes: "host"` (to
 * see the node's processes) and `CAP_KILL` (to signal another user's).
 *
 * @module
 */

import { runCommand } from "./command.ts";

/** One process of the node. */
export interface ProcessInfo {
  /** Process id (in the node's PID namespace). */
  readonly pid: number;
  /** Real user id. */
  readonly uid: number;
  /** The Slurm job whose cgroup holds it (proctrack/cgroup), if any. */
  readonly jobId?: number;
  /** Its command line. */
  readonly args: string;
}

/** The ps and kill commands the helpers run (grant them under `run`). */
export const PROCESS_COMMANDS = { ps: "/usr/bin/ps", kill: "/usr/bin/kill" } as const;

/**
 * Every process of the node owned by `uid` (the job's `job.uid`).
 *
 * @example
 * ```ts
 * import { userProcesses } from "./processes.ts";
 * const left = await userProcesses(1000);
 * left.map((p) => p.pid);
 * ```
 */
export async function userProcesses(uid: number): Promise<ProcessInfo[]> {
  const r = await runCommand([PROCESS_COMMANDS.ps, "-e", "-o", "pid=,uid=,cgroup:512=,args="], {
    env: { LC_ALL: "C" },
  });
  return parsePs(r.stdout).filter((p) => p.uid === uid);
}

/**
 * Parses `ps -o pid=,uid=,cgroup=,args=` output.
 *
 * @example
 * ```ts
 * parsePs("  42  1000 0::/system.slice/slurmstepd.scope/job_7/step_0 sleep 60\n");
 * // [{ pid: 42, uid: 1000, jobId: 7, args: "sleep 60" }]
 * ```
 */
export function parsePs(text: string): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const line of text.split("\n")) {
    // ps pads the cgroup column to its width: the command follows any run of spaces.
    const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const job = /job_(\d+)/.exec(m[3]);
    out.push({
      pid: Number(m[1]),
      uid: Number(m[2]),
      ...(job ? { jobId: Number(job[1]) } : {}),
      args: m[4].trimEnd(),
    });
  }
  return out;
}

/** Options of {@linkcode signalUserProcesses}. */
export interface SignalOptions {
  /** Default `SIGKILL`. */
  readonly signal?: Deno.Signal;
  /**
   * This job's id: processes in the cgroup of another job of the same user
   * are spared (needs proctrack/cgroup; without job cgroups none is spared).
   */
  readonly spareOtherJobsThan?: number;
}

/**
 * Signals every process of `uid` on this node; resolves to the pids
 * signalled. Refuses uid 0: a hook never kills root's processes wholesale.
 *
 * @example
 * ```ts
 * import type { JobContext } from "../types.ts";
 * import { signalUserProcesses } from "./processes.ts";
 * export async function epilog(job: JobContext) {
 *   await signalUserProcesses(job.uid!, { spareOtherJobsThan: job.id });
 * }
 * ```
 * @throws {Error} for uid 0, or when `ps`/`kill` fail.
 */
export async function signalUserProcesses(
  uid: number,
  opts: SignalOptions = {},
): Promise<number[]> {
  if (!Number.isInteger(uid) || uid <= 0) {
    throw new Error(`signalUserProcesses: refusing uid ${uid} (root or not a uid)`);
  }
  const spare = opts.spareOtherJobsThan;
  const pids = (await userProcesses(uid))
    .filter((p) => spare === undefined || p.jobId === undefined || p.jobId === spare)
    .map((p) => p.pid);
  if (pids.length === 0) return [];
  // kill exits 1 when a process ended meanwhile: that is not a failure.
  const r = await runCommand(
    [
      PROCESS_COMMANDS.kill,
      "-s",
      (opts.signal ?? "SIGKILL").replace(/^SIG/, ""),
      "--",
      ...pids.map(String),
    ],
    { allowFailure: true, env: { LC_ALL: "C" } },
  );
  if (r.status !== 0 && !/No such process/.test(r.stderr)) {
    throw new Error(`${PROCESS_COMMANDS.kill} failed (status ${r.status}): ${r.stderr.trim()}`);
  }
  return pids;
}
