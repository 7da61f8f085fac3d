// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * GPU power limits and clocks for exclusive jobs, a port of NVIDIA
 * DeepOps' `50-exclusive-gpu` prolog and epilog (with its
 * `set_gpu_power_levels.sh` and `set_gpu_clocks.sh`):
 *
 * - prolog: each GPU's power limit to its maximum (`nvidia-smi -i N -pl W`)
 *   and its application clocks to the maximum (`nvidia-smi -i N -ac MEM,SM`);
 * - epilog: residual GPU processes (`nvidia-smi pmon`) are killed; if any
 *   is still there after 5 s, the node is drained ("Residual GPU processes
 *   found"); then power limits back to the default, application clocks
 *   reset (`-rac`), clock permissions reset (`-acp 0`), compute mode to
 *   default (`-c DEFAULT`).
 *
 * Only exclusive jobs (`SLURM_JOB_EXCLUSIVE` on Slurm 26.05+, else
 * `OverSubscribe=NO` in `scontrol show job`); others are left alone.
 *
 * Privileges (deno.json): NVIDIA's driver changes power and clocks only for
 * `CAP_SYS_ADMIN`, which a hook never holds. The settings are privileged
 * commands: the runner runs `/usr/bin/nvidia-smi` with that capability for
 * the hook, only with the argument lists the policy names. The queries run
 * in the sandbox (`run` of nvidia-smi, the GPUs as `devices`); the epilog
 * sees the node's processes and keeps `CAP_KILL` for kill(1) to end leftovers.
 *
 * @module
 */

import type { JobContext } from "prep-deno";
import { drainNode, privileged, runCommand } from "prep-deno";

/** nvidia-smi, as the policy names it. */
export const NVIDIA_SMI = "/usr/bin/nvidia-smi";

async function smi(job: JobContext, args: string[]): Promise<string[]> {
  const r = await runCommand([NVIDIA_SMI, ...args], { job, timeoutSeconds: 60 });
  return r.stdout.split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

/** Whether the job has the node to itself. */
async function exclusive(job: JobContext): Promise<boolean> {
  if (job.exclusive !== undefined) return job.exclusive !== "NO";
  const r = await runCommand(["/usr/bin/scontrol", "show", "job", String(job.id)], {
    job,
    allowFailure: true,
  });
  return /\bOverSubscribe=NO\b/.test(r.stdout);
}

/** Each GPU's `field` (power.max_limit, ...), indexed as nvidia-smi numbers them. */
function query(job: JobContext, field: string, gpu?: number): Promise<string[]> {
  const only = gpu === undefined ? [] : ["-i", String(gpu)];
  return smi(job, [...only, `--query-gpu=${field}`, "--format=csv,noheader,nounits"]);
}

/** Every GPU's power limit to `field` (DeepOps sets them in parallel). */
async function powerLimits(job: JobContext, field: string): Promise<void> {
  const limits = await query(job, field);
  await Promise.all(
    limits.map((w, i) => privileged("gpu-power", ["-i", String(i), "-pl", w])),
  );
}

export async function prolog(job: JobContext): Promise<void> {
  if (!await exclusive(job)) return;
  await powerLimits(job, "power.max_limit");
  const count = (await smi(job, ["-L"])).length;
  for (let i = 0; i < count; i++) {
    const [sm] = await query(job, "clocks.max.sm", i);
    const [mem] = await query(job, "clocks.max.mem", i);
    await privileged("gpu-clocks", ["-i", String(i), "-ac", `${mem},${sm}`]);
  }
}

/** PIDs of processes on the GPUs, from `nvidia-smi pmon -c 1`. */
async function gpuProcesses(job: JobContext): Promise<number[]> {
  return (await smi(job, ["pmon", "-c", "1"]))
    .filter((l) => !l.startsWith("#"))
    .map((l) => l.split(/\s+/)[1])
    .filter((pid) => /^\d+$/.test(pid))
    .map(Number);
}

export async function epilog(job: JobContext): Promise<void> {
  if (!await exclusive(job)) return;
  const residual = await gpuProcesses(job);
  if (residual.length > 0) {
    for (const pid of residual) {
      console.error(`Killing residual GPU process ${pid} ...`);
      // Deno.kill needs "run" of everything; kill(1) needs only its own grant.
      await runCommand(["/usr/bin/kill", "-9", String(pid)], { job, allowFailure: true });
    }
    await new Promise((r) => setTimeout(r, 5000));
    if ((await gpuProcesses(job)).length > 0) {
      console.error("Failed to kill residual GPU processes. Draining node ...");
      await drainNode(job, "Residual GPU processes found");
    }
  }
  await powerLimits(job, "power.default_limit");
  await privileged("gpu-clocks-reset", ["-rac"]);
  await privileged("gpu-clocks-reset", ["-acp", "0"]);
  await privileged("gpu-clocks-reset", ["-c", "DEFAULT"]);
}
