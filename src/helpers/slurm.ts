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
 * import { drainNode } from "./slurm.ts";
 * import { fakeJob } from "../testing.ts";
 * // No cluster here: an empty slurm.conf makes scontrol fail at once.
 * const job = fakeJob("prolog", { node: "n1", env: { SLURM_CONF: "/dev/null" } });
 * await drainNode(job, "gpu 1 lost").catch((e) => e.message.includes("scontrol")); // true off a cluster
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
 * import { otherJobsOnNode } from "./slurm.ts";
 * import { fakeJob } from "../testing.ts";
 * const job = fakeJob("epilog", {
 *   user: "alice",
 *   node: "n1",
 *   env: { SLURM_CONF: "/dev/null" }, // no cluster here: squeue fails at once
 * });
 * await otherJobsOnNode(job).catch((e) => e.message.includes("squeue")); // true off a cluster
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

/**
 * Job states in which a job holds its nodes: what {@linkcode userJobsOnNode} asks for.
 *
 * @example
 * ```ts
 * ACTIVE_JOB_STATES.join(","); // "CONFIGURING,RUNNING,COMPLETING,SUSPENDED"
 * ```
 */
export const ACTIVE_JOB_STATES = [
  "CONFIGURING",
  "RUNNING",
  "COMPLETING",
  "SUSPENDED",
] as const;

/** Options of {@linkcode userJobsOnNode}. */
export interface UserJobsOptions {
  /** The node (default: the job's node, `job.nodeName`). */
  readonly node?: string;
  /** The job whose variables squeue gets (SLURM_CONF) and whose node is the default. */
  readonly job?: JobContext;
  /** States asked for with squeue's own `--states` (default {@linkcode ACTIVE_JOB_STATES}). */
  readonly states?: readonly string[];
}

/**
 * Ids of `user`'s jobs on a node, as `squeue -h -w NODE -u USER -t STATES
 * -o %A` lists them: Slurm itself filters by state (no parsing of state
 * names here), for epilogs that clean up only when the user has no other
 * job on the node. squeue's failure is an error, never "no jobs".
 *
 * Needs: `"slurm": true` in the sandbox set and `run` of `/usr/bin/squeue`.
 *
 * @example
 * ```ts
 * import { userJobsOnNode } from "./slurm.ts";
 * import { fakeJob } from "../testing.ts";
 * const job = fakeJob("epilog", {
 *   id: 7,
 *   user: "alice",
 *   node: "n1",
 *   env: { SLURM_CONF: "/dev/null" }, // no cluster here: squeue fails at once
 * });
 * try {
 *   const others = (await userJobsOnNode("alice", { job })).filter((id) => id !== job.id);
 *   if (others.length === 0) console.log("last job of alice here: clean up");
 * } catch (e) {
 *   (e as Error).message.includes("squeue"); // true where no cluster answers
 * }
 * ```
 * @throws {Error} naming squeue and its message when it fails.
 */
export async function userJobsOnNode(user: string, opts: UserJobsOptions = {}): Promise<number[]> {
  const node = opts.node ?? opts.job?.nodeName;
  if (!node) throw new Error("userJobsOnNode: needs the node (opts.node or opts.job)");
  if (!/^[^\s,]+$/.test(user)) throw new Error(`userJobsOnNode: "${user}" is not a user name`);
  const states = opts.states ?? ACTIVE_JOB_STATES;
  const r = await runCommand(
    [
      SLURM_COMMANDS.squeue,
      "--noheader",
      "--nodelist",
      node,
      "--user",
      user,
      "--states",
      states.join(","),
      "--format",
      "%A",
    ],
    { job: opts.job, timeoutSeconds: 30 },
  );
  return r.stdout.split("\n").map((l) => l.trim()).filter((l) => /^\d+$/.test(l)).map(Number);
}
