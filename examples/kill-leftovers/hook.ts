// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Epilog: when the job user's last job on this node ends, stop whatever
 * they left running (processes of logins outside Slurm, daemons started by
 * the job): SIGTERM, a grace period, then SIGKILL (a port of CarmeTeam
 * Carme's carme-slurm-clean.sh). System users (uid below 1000) and users
 * with another job here are left alone.
 *
 * Privileges (deno.json): `run` of squeue and kill; the kernel view
 * shares the node's processes (`processes: "host"`), keeps CAP_KILL (signal
 * another user's processes) and reaches the controller (`slurm: true`).
 *
 * @module
 */

import type { JobContext } from "prep-deno";
import { otherJobsOnNode, signalUserProcesses, userProcesses } from "prep-deno";

/** Users below this uid are system accounts: never touched. */
export const FIRST_USER_UID = 1000;
/** Seconds between SIGTERM and SIGKILL. */
export const GRACE_SECONDS = 5;

export async function epilog(job: JobContext): Promise<void> {
  const uid = job.uid;
  if (uid === undefined || !job.user || uid < FIRST_USER_UID) return;
  const others = await otherJobsOnNode(job);
  if (others.length > 0) {
    console.log(
      `job ${job.id}: ${job.user} still has job(s) ${others.join(",")} here; nothing killed`,
    );
    return;
  }
  const termed = await signalUserProcesses(uid, { signal: "SIGTERM", spareOtherJobsThan: job.id });
  if (termed.length === 0) return;
  console.log(`job ${job.id}: sent SIGTERM to ${termed.length} process(es) of ${job.user}`);
  for (let waited = 0; waited < GRACE_SECONDS * 10; waited++) {
    if ((await userProcesses(uid)).length === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  const killed = await signalUserProcesses(uid, { signal: "SIGKILL", spareOtherJobsThan: job.id });
  console.log(`job ${job.id}: ${job.user} had to be killed with SIGKILL: pids ${killed.join(" ")}`);
}
