// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Find and signal a user's processes on this node, optionally sparing those
 * of the user's other jobs. Deno 2.9 serves /proc and `Deno.kill` only to a
 * hook with `"all": true`, so the list comes from /proc through the runner's
 * walk tool (`walk_tool.ts`), whole or not at all (a list that would pass
 * its bound, or a /proc that hides processes, is an error), and signals go
 * through `kill`, which the policy grants under `run`; the sandbox set needs
 * `processes: "host"` (to see the node's processes) and `CAP_KILL` (to
 * signal another user's).
 *
 * @module
 */

import { runCommand } from "./command.ts";
import { runWalkTool } from "./walk_tool.ts";

/**
 * Largest process list taken (the tool caps each command line at 4 KiB, so
 * this holds over 16000 processes); a longer one fails, never shortens.
 *
 * @example
 * ```ts
 * PROCESS_LIST_MAX_BYTES; // 67108864
 * ```
 */
export const PROCESS_LIST_MAX_BYTES = 64 << 20;

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

/** The kill command the helpers run (grant it under `run`); `ps` is no longer needed. */
export const PROCESS_COMMANDS = { ps: "/usr/bin/ps", kill: "/usr/bin/kill" } as const;

/**
 * Every process of the node owned by `uid` (the job's `job.uid`), by real
 * uid; the whole list or an error saying why it is not whole.
 *
 * @example
 * ```ts
 * import { userProcesses } from "./processes.ts";
 * const mine = await userProcesses(0);
 * mine.some((p) => p.pid === Deno.pid); // true
 * ```
 * @throws {Error} when /proc cannot be read whole (hidepid, a list past its bound).
 */
export async function userProcesses(uid: number): Promise<ProcessInfo[]> {
  const out = await runWalkTool(["ps"], { maxOutputBytes: PROCESS_LIST_MAX_BYTES });
  return parseProcessList(out).filter((p) => p.uid === uid);
}

/** Parses the walk tool's `ps` lines: `PID UID JOB|- ARGS`. */
function parseProcessList(text: string): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+) (\d+) (\d+|-) ?(.*)$/.exec(line);
    if (!m) continue;
    out.push({
      pid: Number(m[1]),
      uid: Number(m[2]),
      ...(m[3] === "-" ? {} : { jobId: Number(m[3]) }),
      args: m[4],
    });
  }
  return out;
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
 * import { signalUserProcesses } from "./processes.ts";
 * const sleeper = new Deno.Command("/usr/bin/setpriv", {
 *   args: ["--reuid=61234", "--regid=61234", "--clear-groups", "/usr/bin/sleep", "60"],
 * }).spawn();
 * await new Promise((r) => setTimeout(r, 200));
 * const pids = await signalUserProcesses(61234);
 * pids.includes(sleeper.pid); // true
 * (await sleeper.status).signal; // "SIGKILL"
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
