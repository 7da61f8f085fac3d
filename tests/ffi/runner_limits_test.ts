// SPDX-License-Identifier: GPL-2.0-or-later
// What the plugin hands the runner and how it stops it, through the binding:
// PrEpParameters=memory_mb= reaching `--memory-mb`, the plugin's own deadline
// leaving the runner time to kill its cgroup, and the output cap's note (one
// text, src/contract.ts's, whoever capped).
import assert from "node:assert/strict";
import { join } from "node:path";
import { PrepPlugin } from "../../ffi/mod.ts";
import { MAX_OUTPUT, RUNNER_GRACE_SECONDS, truncationNote } from "../../src/contract.ts";
import { TOP } from "../helpers.ts";

const SO = join(TOP, "build", "prep_deno.so");
const opts = { sanitizeOps: false, sanitizeResources: false };

function tempDir(): string {
  return Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "prep-deno-limits-" });
}
function script(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  Deno.writeTextFileSync(path, `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  Deno.chmodSync(path, 0o755);
  return path;
}

Deno.test({
  name: "limits: PrEpParameters=memory_mb=N reaches the runner as --memory-mb N",
  ...opts,
  async fn() {
    const dir = tempDir();
    await using plugin = PrepPlugin.open(SO);
    try {
      assert.deepEqual(
        plugin.hookArgv({ runner: "/r", heapMb: 64, memoryMb: 300 }, "/h/p.ts"),
        ["/r", "run", "/h/p.ts", "--outcome-fd", "3", "--heap-mb", "64", "--memory-mb", "300"],
      );
      const args = join(dir, "args");
      const runner = script(dir, "runner.sh", `printf '%s\\n' "$@" > ${args}`);
      const hook = join(dir, "prolog.ts");
      Deno.writeTextFileSync(hook, "export default () => 0;\n");
      const conf = join(dir, "slurm.conf");
      Deno.writeTextFileSync(
        conf,
        [
          "ClusterName=ffi",
          "SlurmctldHost=localhost",
          `Prolog=${hook}`,
          `PrEpParameters=runner=${runner},heap_mb=64,memory_mb=300`,
          "PrologEpilogTimeout=10",
          "NodeName=vm CPUs=1",
          "PartitionName=debug Nodes=vm",
        ].join("\n") + "\n",
      );
      plugin.loadConf(conf);
      plugin.slurmdConf("vm", conf);
      assert.equal(plugin.init(), 0); // reads PrEpParameters
      using jobEnv = plugin.jobEnv({
        jobId: 78,
        uid: 0,
        gid: 0,
        userName: "root",
        workDir: "/tmp",
        nodeList: "vm",
        partition: "debug",
      });
      assert.equal(await plugin.prolog(jobEnv.pointer), 0);
      assert.deepEqual(Deno.readTextFileSync(args).trim().split("\n"), [
        "run",
        hook,
        "--outcome-fd",
        "3",
        "--timeout",
        "10",
        "--heap-mb",
        "64",
        "--memory-mb",
        "300",
        // The daemon's own slurm.conf, as the plugin passes it (fleetH's --slurm-conf).
        "--slurm-conf",
        conf,
      ]);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "limits: past its own deadline the plugin SIGTERMs the runner and waits before SIGKILL",
  ...opts,
  async fn() {
    const dir = tempDir();
    await using plugin = PrepPlugin.open(SO);
    try {
      // A runner that never answers its --timeout and needs a moment to
      // clean up on SIGTERM, as the launcher does (kill and remove its cgroup).
      const cleaned = join(dir, "cleaned");
      const runner = script(
        dir,
        "slow-runner.sh",
        `trap 'sleep 0.3; echo yes > ${cleaned}; exit 143' TERM\nsleep 60 & wait`,
      );
      const hook = join(dir, "hook.ts");
      Deno.writeTextFileSync(hook, "export default () => 0;\n");
      const start = Date.now();
      const o = await plugin.runHooks({ runner, timeoutSeconds: 0 }, [hook], {
        SLURM_SCRIPT_CONTEXT: "prolog_slurmd",
      });
      const took = (Date.now() - start) / 1000;
      assert.equal(o.timedOut, true);
      // The runner's own --timeout comes first; the plugin's after the grace.
      assert.ok(took >= RUNNER_GRACE_SECONDS, `the plugin stopped the runner after ${took} s`);
      assert.equal(
        Deno.readTextFileSync(cleaned).trim(),
        "yes",
        "the runner got no time to clean up",
      );
      assert.equal(o.exitCode, 143);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "limits: the plugin's core caps output with the runner's note and the count dropped",
  ...opts,
  async fn() {
    const dir = tempDir();
    await using plugin = PrepPlugin.open(SO);
    try {
      const extra = 1234;
      const loud = script(dir, "loud.sh", `head -c ${MAX_OUTPUT + extra} /dev/zero | tr '\\0' x`);
      const o = await plugin.runHooks({ runner: "/nonexistent" }, [loud], {});
      assert.equal(o.status, 0);
      assert.equal(o.output.length, MAX_OUTPUT + truncationNote(extra).length);
      assert.ok(o.output.endsWith(truncationNote(extra)), o.output.slice(-120));
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
