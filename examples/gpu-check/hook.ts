// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Prolog: check each GPU of the job with nvidia-smi; when one fails, drain
 * the node with the GPU and nvidia-smi's message in the reason, then record
 * which job holds each GPU for the metrics exporter (a port of nebius
 * soperator's prolog.sh). Like the original, the job itself goes on: the
 * drain keeps new jobs off the node.
 *
 * Privileges (deno.json): `run` of nvidia-smi and scontrol, `write` of the
 * metrics folder; the kernel view binds the GPU device nodes usable
 * (`devices`), the metrics folder, and Slurm's client set-up (`slurm: true`).
 *
 * @module
 */

import type { JobContext } from "prep-deno";
import { CommandError, drainNode, runCommand } from "prep-deno";

/** Where nvidia-smi may be installed, first found wins. */
export const NVIDIA_SMI = ["/usr/bin/nvidia-smi", "/usr/local/bin/nvidia-smi"];
/** One file per GPU holding the id of the job using it. */
export const METRICS_DIR = "/run/prep-deno-gpu-jobs";

async function smi(args: string[], job: JobContext) {
  for (const path of NVIDIA_SMI) {
    try {
      return await runCommand([path, ...args], { job, timeoutSeconds: 60 });
    } catch (e) {
      if (e instanceof CommandError && e.result.status === 127) continue;
      throw e;
    }
  }
  throw new Error(`nvidia-smi not found (looked at ${NVIDIA_SMI.join(", ")})`);
}

export async function prolog(job: JobContext): Promise<void> {
  if (job.gpus.length === 0) return;
  for (const gpu of job.gpus) {
    try {
      await smi(["-i", gpu, "--query-gpu=name,pci.bus_id", "--format=csv,noheader"], job);
    } catch (e) {
      const why = e instanceof CommandError
        ? (e.result.stderr.trim() || e.result.stdout.trim()).split("\n")[0]
        : (e as Error).message;
      await drainNode(job, `gpu-check: GPU ${gpu} failed nvidia-smi: ${why}`);
      console.error(`job ${job.id}: GPU ${gpu} failed; node drained`);
      return;
    }
  }
  for (const gpu of job.gpus) {
    await Deno.writeTextFile(`${METRICS_DIR}/${gpu}`, String(job.id));
  }
}
