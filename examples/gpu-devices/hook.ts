// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Loads the NVIDIA kernel modules and makes the GPUs' device nodes on a
 * node that boots without them (cloud images), a port of the start-up
 * script of NVIDIA's CUDA installation guide that cloud samples run as a
 * prolog:
 *
 * - `modprobe nvidia`, then `mknod -m 666 /dev/nvidiaN c 195 N` for each
 *   GPU the driver found and `mknod -m 666 /dev/nvidiactl c 195 255`;
 * - `modprobe nvidia-uvm`, then `mknod -m 666 /dev/nvidia-uvm c MAJOR 0`
 *   (and `nvidia-uvm-tools`, minor 1) with the major number the kernel gave
 *   it (`/proc/devices`).
 *
 * A node that exists already is left as it is (the original's mknod fails
 * and it goes on).
 *
 * Privileges (deno.json): loading a module needs `CAP_SYS_MODULE` and making
 * a device node `CAP_MKNOD`, which a hook never holds, and the nodes belong
 * in the host's `/dev`, not the sandbox's. Both are privileged commands:
 * the runner runs `/usr/sbin/modprobe` (only `nvidia` and `nvidia-uvm`) and
 * `/usr/bin/mknod` (only the NVIDIA nodes, by name and number: the
 * `nvidia-uvm` major as `{major:nvidia-uvm}`, the one the kernel gave it,
 * never a number the hook picks, which could make that mode-666 node any
 * device) in the host's view. The hook itself runs `ls` and `cat` to read what the driver
 * found.
 *
 * @module
 */

import type { JobContext } from "prep-deno";
import { CommandError, privileged, runCommand } from "prep-deno";

/** One entry per GPU once the driver is loaded. */
export const GPU_LIST = "/proc/driver/nvidia/gpus";
/** The kernel's character device majors (`nvidia-uvm` gets one at load). */
export const DEVICES = "/proc/devices";

/** Makes a node in the host's /dev; one already there is left as it is. */
async function node(path: string, major: string, minor: string): Promise<void> {
  const r = await privileged("make-nodes", ["-m", "666", path, "c", major, minor], {
    allowFailure: true,
  });
  if (r.status !== 0 && !/File exists/.test(r.stderr)) throw new CommandError(r);
}

export async function prolog(job: JobContext): Promise<void> {
  await privileged("load-modules", ["nvidia"]);
  const gpus = await runCommand(["/usr/bin/ls", GPU_LIST], { job, allowFailure: true });
  const count = gpus.stdout.split("\n").filter((l) => l.trim() !== "").length;
  for (let i = 0; i < count; i++) await node(`/dev/nvidia${i}`, "195", String(i));
  await node("/dev/nvidiactl", "195", "255");
  await privileged("load-modules", ["nvidia-uvm"]);
  const devices = (await runCommand(["/usr/bin/cat", DEVICES], { job })).stdout;
  const major = /^\s*(\d+)\s+nvidia-uvm$/m.exec(devices)?.[1];
  if (!major) throw new Error(`nvidia-uvm has no device major in ${DEVICES} after modprobe`);
  await node("/dev/nvidia-uvm", major, "0");
  await node("/dev/nvidia-uvm-tools", major, "1");
}
