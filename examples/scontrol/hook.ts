// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Prolog: use Slurm's own commands from a hook. Here: note in the job's
 * comment which node ran its prolog and when (`scontrol update`), a pattern
 * sites use to leave a trail in `sacct`/`scontrol show job`.
 *
 * Privileges (deno.json): `run` of scontrol; the kernel view gets Slurm's
 * client set-up (`slurm: true`: slurm.conf's folder, munge's socket, the
 * network).
 *
 * @module
 */

import type { JobContext } from "prep-deno";
import { runCommand, SLURM_COMMANDS } from "prep-deno";

export async function prolog(job: JobContext): Promise<void> {
  const note = `prolog on ${job.nodeName ?? "?"} at ${new Date().toISOString()}`;
  await runCommand([SLURM_COMMANDS.scontrol, "update", `JobId=${job.id}`, `Comment=${note}`], {
    job,
    timeoutSeconds: 30,
  });
}
