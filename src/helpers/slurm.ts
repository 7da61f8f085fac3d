// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Slurm's client commands from a hook: drain this node with a reason, ask
 * about other jobs. The sandbox set needs `slurm: true` (slurm.conf, munge,
 * the network) and the permission set `run` of the command.
 *
 * @module
 */

import type { JobContext } from "../types.ts";
import { runCommand } from "./command.ts";

/** Where the helpers find Slurm's commands (grant them under `run`). */
export const SLURM_COMMANDS = {
  scontrol: "/usr/bin/scontrol",
  squeue: "/usr/bin/squeue",
} as const;

/** Slurm keeps a node's reason short in `sinfo -R`; longer ones are cut here, not by Slurm. */
export const REASON_MAX = 200;

/**
 * Drains `node` (default: the node running the hook) with `reason`, as
 * `scontrol update NodeName=... State=DRAIN Reason=...`.
 *
 * @example
 * ```ts
 * import type { JobContext } from "../types.ts";
 * import { drainNode } from "./slurm.ts";
 * export async function prolog(job: JobContext) {
 *   await drainNode(job, "gpu 1 lost");
 *   return 1;
 * }
 * ```
 * @throws {Error} naming scontrol and its message when it fails.
 */
export async function drainNode(job: JobContext, reason: string, node?: string): Promise<void> {
  const name = node ?? job.nodeName;
  if (!name) throw new Error("drainNode: no node name (SLURMD_NODENAME is unset; pass the node)");
  const text = reason.replace(/[\r\n]+/g, " ").trim().slice(0, REASON_MAX) || "drained by a hook";
  await runCommand(
    [SLURM_COMMANDS.scontrol, "update", `NodeName=${name}`, "State=DRAIN", `Reason=${text}`],
    { job, timeoutSeconds: 30 },
  );
}

/**
 * Ids of the job user's other jobs on this node (`squeue -w NODE -u USER`),
 * for epilogs that clean up only when the user has no other job here.
 *
 * @example
 * ```ts
 * import type { JobContext } from "../types.ts";
 * import { otherJobsOnNode } from "./slurm.ts";
 * export async function epilog(job: JobContext) {
 *   if ((await otherJobsOnNode(job)).length === 0) {
 *     // the user's last job here: clean up their /dev/shm files
 *   }
 * }
 * ```
 */
export async function otherJobsOnNode(job: JobContext): Promise<number[]> {
  if (!job.nodeName || !job.user) {
    throw new Error("otherJobsOnNode: needs the node and the job user");
  }
  const r = await runCommand(
    [
      SLURM_COMMANDS.squeue,
      "-h",
      "-w",
      job.nodeName,
      "-u",
      job.user,
      "-t",
      "RUNNING,COMPLETING,CONFIGURING",
      "-o",
      "%A",
    ],
    { job, timeoutSeconds: 30 },
  );
  return r.stdout.split("\n").map((l) => l.trim()).filter((l) => /^\d+$/.test(l)).map(Number)
    .filter((id) => id !== job.id);
}
