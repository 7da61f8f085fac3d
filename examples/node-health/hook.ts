// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Prolog: a node health check. Each folder jobs need must exist and have
 * room; when one fails, the node is drained with the problem in the reason
 * and the prolog fails, so Slurm requeues the job elsewhere.
 *
 * Privileges (deno.json): `run` of df and scontrol; the kernel view reads
 * the checked folders and reaches the controller (`slurm: true`).
 *
 * @module
 */

import type { JobContext } from "prep-deno";
import { drainNode, runCommand } from "prep-deno";

/** What a healthy node has: folders and the free MiB each needs. */
export const NEEDS: Readonly<Record<string, number>> = { "/tmp": 100, "/var/tmp": 100 };

/** The problems of this node against `needs` (empty: healthy). */
export async function checkNode(needs: Readonly<Record<string, number>>, job?: JobContext) {
  const problems: string[] = [];
  for (const [path, minMib] of Object.entries(needs)) {
    const r = await runCommand(["/usr/bin/df", "-P", "-m", path], {
      job,
      allowFailure: true,
      timeoutSeconds: 20,
      env: { LC_ALL: "C" },
    });
    if (r.status !== 0) {
      problems.push(`${path} missing (${r.stderr.trim().split("\n")[0]})`);
      continue;
    }
    const free = Number(r.stdout.trim().split("\n")[1]?.split(/\s+/)[3]);
    if (!(free >= minMib)) problems.push(`${path} has ${free} MiB free, needs ${minMib}`);
  }
  return problems;
}

export async function prolog(job: JobContext): Promise<number | void> {
  const problems = await checkNode(NEEDS, job);
  if (problems.length === 0) return;
  await drainNode(job, `node-health: ${problems.join("; ")}`);
  console.error(`job ${job.id}: node unhealthy: ${problems.join("; ")}`);
  return 1;
}
