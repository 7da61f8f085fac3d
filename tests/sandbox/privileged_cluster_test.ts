// SPDX-License-Identifier: GPL-2.0-or-later
// The GPU recipes on the real cluster, beside fakes that refuse what the
// real driver and kernel refuse without the capability: an exclusive job's
// Prolog loads the modules, makes the device nodes and sets power limits
// and clocks (two hooks of one Prolog= glob, each with its own policy);
// its Epilog resets them; the job completes and the node stays up.
import assert from "node:assert/strict";
import { join } from "node:path";
import { grantDir } from "./helpers.ts";
import { calls, fakes, HOST_DRIVER, recipe } from "./fake_gpu.ts";
import {
  nodeState,
  slurm,
  startCluster,
  stopCluster,
  waitFor,
  waitJobState,
} from "../slurm/cluster.ts";

Deno.test({
  name:
    "recipes gpu-devices and gpu-settings on the cluster: the same calls as the originals, with the capabilities only through the policy; the exclusive job completes",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const fake = fakes();
    const driver = grantDir("driver");
    Deno.mkdirSync(join(driver, "gpus", "0000:01:00.0"), { recursive: true });
    Deno.mkdirSync(join(driver, "gpus", "0000:02:00.0"), { recursive: true });
    Deno.writeTextFileSync(
      join(driver, "devices"),
      `Character devices:\n${HOST_DRIVER.major} nvidia-uvm\n`,
    );
    // One Prolog= glob runs both hooks in order, each under its own policy.
    const hooks = grantDir("gpu-hooks");
    const devices = recipe("gpu-devices", fake, {
      "/proc/driver/nvidia/gpus": join(driver, "gpus"),
      '"/proc/devices"': JSON.stringify(join(driver, "devices")),
    });
    const policy = JSON.parse(Deno.readTextFileSync(join(devices, "deno.json")));
    policy.sandbox.prolog.read.push(driver);
    Deno.writeTextFileSync(join(devices, "deno.json"), JSON.stringify(policy));
    const settings = recipe("gpu-settings", fake);
    Deno.renameSync(devices, join(hooks, "a-devices"));
    Deno.renameSync(settings, join(hooks, "b-settings"));
    await startCluster({
      plugin: "prep/deno",
      prolog: join(hooks, "*", "hook.ts"),
      epilog: join(hooks, "b-settings", "hook.ts"),
    });
    try {
      const r = await slurm("sbatch", [
        "--parsable",
        "--exclusive",
        "-o",
        "/dev/null",
        "--chdir=/tmp",
        "--wrap",
        "true",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const id = Number(r.stdout.trim().split(";")[0]);
      const job = await waitJobState(id, ["COMPLETED", "FAILED", "NODE_FAIL"], 90);
      assert.equal(job.JobState, "COMPLETED", JSON.stringify(job));
      await waitFor(
        "the epilog's resets",
        () => Promise.resolve(calls(fake).includes("nvidia-smi -c DEFAULT") ? true : undefined),
      );
      // The glob's hooks in Slurm's order; each recipe's own calls in its order.
      const seen = calls(fake).filter((c) => !c.startsWith("nvidia-smi"));
      const smi = calls(fake).filter((c) => c.startsWith("nvidia-smi"));
      assert.deepEqual(seen, [
        "modprobe nvidia",
        "mknod -m 666 /dev/nvidia0 c 195 0",
        "mknod -m 666 /dev/nvidia1 c 195 1",
        "mknod -m 666 /dev/nvidiactl c 195 255",
        "modprobe nvidia-uvm",
        `mknod -m 666 /dev/nvidia-uvm c ${HOST_DRIVER.major} 0`,
        `mknod -m 666 /dev/nvidia-uvm-tools c ${HOST_DRIVER.major} 1`,
      ]);
      assert.deepEqual(smi.slice(0, 4).sort(), [
        "nvidia-smi -i 0 -ac 1215,1410",
        "nvidia-smi -i 0 -pl 300.00",
        "nvidia-smi -i 1 -ac 1215,1410",
        "nvidia-smi -i 1 -pl 300.00",
      ]);
      assert.deepEqual(smi.slice(4, 6).sort(), [
        "nvidia-smi -i 0 -pl 250.00",
        "nvidia-smi -i 1 -pl 250.00",
      ]);
      assert.deepEqual(smi.slice(6), [
        "nvidia-smi -rac",
        "nvidia-smi -acp 0",
        "nvidia-smi -c DEFAULT",
      ]);
      assert.doesNotMatch((await nodeState()).state, /DRAIN/);
    } finally {
      await stopCluster();
      for (const d of [fake, driver, hooks]) Deno.removeSync(d, { recursive: true });
    }
  },
});
