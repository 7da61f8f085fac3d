// SPDX-License-Identifier: GPL-2.0-or-later
// prep-script-spec.md §2.3-§2.6 on the real cluster, prep/script against
// prep/deno: reverse glob order, stop at the first failure, a pattern that
// matches nothing, completion at EOF of the output pipe (a background child
// keeps an Epilog running until the timeout kills its group), and the
// slurmd log lines in prep/script's words.
import assert from "node:assert/strict";
import { join } from "node:path";
import { BASE } from "./hooks.ts";
import {
  alive,
  atLeast,
  CLUSTER_DIR,
  daemonLog,
  nodeState,
  resumeNode,
  sbatch,
  startCluster,
  stopCluster,
  waitFor,
  waitJobState,
} from "./cluster.ts";
import { RELEASE } from "./cluster.ts";

/** A test of the release under test; ignored when that release is not built here. */
function test(name: string, fn: () => Promise<void> | void): void {
  Deno.test({ name, ignore: !!RELEASE.missing, fn });
}

const PLUGINS = ["prep/script", "prep/deno"] as const;
const FILES = ["10-a", "20-b", "9x", "Zed", "alpha"];

/** prolog.d/ with the five files of the spec; `failing` exits 3. */
function prologDir(name: string, failing?: string): { dir: string; order: string } {
  const dir = join(BASE, "spec", name);
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch { /* first run */ }
  Deno.mkdirSync(join(dir, "prolog.d"), { recursive: true });
  const order = join(dir, "order.txt");
  for (const f of FILES) {
    const path = join(dir, "prolog.d", f);
    Deno.writeTextFileSync(
      path,
      `#!/bin/bash\necho ${f} >> ${order}\necho "stdout line from ${f}"\n` +
        (f === failing ? "exit 3\n" : ""),
    );
    Deno.chmodSync(path, 0o755);
  }
  return { dir, order };
}

function ran(order: string): string[] {
  try {
    return Deno.readTextFileSync(order).trim().split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/** The slurmd log written after `from` (a length of the log). */
function slurmdLogSince(from: number): string {
  return daemonLog("slurmd").slice(from);
}

/** How slurmd names a job in its failure line: `[job N]`, from 25.11 `JobId=N SLUID=...`. */
function jobTag(id: number): string {
  return `(\\[job ${id}\\]|JobId=${id}( SLUID=\\S+)?)`;
}

/** The function run_command's timeout line starts with (24.05+: run_command_poll_child). */
const RUN_COMMAND = atLeast("24.05") ? "run_command_poll_child" : "run_command";

for (const plugin of PLUGINS) {
  test(`spec §2.3 ${plugin}: Prolog=dir/* runs in reverse glob order, each logged`, async () => {
    const { dir, order } = prologDir(`order-${plugin.replace("/", "-")}`);
    await startCluster({ plugin, prolog: `${dir}/prolog.d/*`, timeout: 30 });
    try {
      const from = daemonLog("slurmd").length;
      const id = await sbatch(["--wrap", "true"]);
      await waitJobState(id, ["COMPLETED"]);
      assert.deepEqual(ran(order), ["alpha", "Zed", "9x", "20-b", "10-a"]);
      const log = slurmdLogSince(from);
      // One debug2 line per script, in run order, with its output.
      const lines = [...log.matchAll(/prolog success rc:0 output:stdout line from (\S+)/g)]
        .map((m) => m[1]);
      assert.deepEqual(lines, ["alpha", "Zed", "9x", "20-b", "10-a"]);
    } finally {
      await stopCluster();
    }
  });

  test(`spec §2.3 ${plugin}: the first failure in that order stops the list`, async () => {
    const { dir, order } = prologDir(`stop-${plugin.replace("/", "-")}`, "20-b");
    await startCluster({ plugin, prolog: `${dir}/prolog.d/*`, timeout: 30 });
    try {
      const from = daemonLog("slurmd").length;
      const id = await sbatch(["--wrap", "true"]);
      const job = await waitJobState(id, ["PENDING"]);
      await waitFor(
        "the drain",
        async () => (await nodeState()).state.includes("DRAIN") || undefined,
      );
      assert.deepEqual(ran(order), ["alpha", "Zed", "9x", "20-b"]);
      assert.match(job.Reason, /launch_failed_requeued_held|BeginTime|None/);
      const log = slurmdLogSince(from);
      assert.match(log, /error: prolog failed: rc:3 output:stdout line from 20-b/);
      assert.match(log, new RegExp(`error: ${jobTag(id)} prolog failed status=3:0`));
      // A shell hook keeps prep/script's reason (drain_reason=yes is for modules).
      assert.equal((await nodeState()).reason, "Prolog error");
      assert.doesNotMatch(log, /10-a/);
    } finally {
      await resumeNode();
      await stopCluster();
    }
  });

  test(`spec §2.3 ${plugin}: a pattern matching nothing fails the Prolog`, async () => {
    const missing = join(BASE, "spec", "nomatch.d");
    await startCluster({ plugin, prolog: `${missing}/*`, timeout: 30 });
    try {
      const from = daemonLog("slurmd").length;
      const id = await sbatch(["--wrap", "true"]);
      await waitJobState(id, ["PENDING"]);
      const node = await waitFor(
        "the drain",
        async () => (await nodeState()).state.includes("DRAIN") ? await nodeState() : undefined,
      );
      assert.equal(node.reason, "Prolog error");
      const log = slurmdLogSince(from);
      assert.match(log, /glob: .*nomatch\.d: No such file or directory/);
      assert.match(
        log,
        new RegExp(`error: prolog: Unable to create list of paths \\[${missing}/\\*\\]`),
      );
      assert.match(log, new RegExp(`error: ${jobTag(id)} prolog failed status=0:0`));
    } finally {
      await resumeNode();
      await stopCluster();
    }
  });

  test(
    `spec §2.4 ${plugin}: an Epilog is done at EOF of its output, not at its exit`,
    async () => {
      const dir = join(BASE, "spec", `eof-${plugin.replace("/", "-")}`);
      Deno.mkdirSync(dir, { recursive: true });
      const pidFile = join(dir, "child.pid");
      try {
        Deno.removeSync(pidFile);
      } catch { /* first run */ }
      const epilog = join(dir, "epilog.sh");
      // The script exits 0 at once; its background child keeps stdout.
      Deno.writeTextFileSync(epilog, `#!/bin/bash\nsleep 60 &\necho $! > ${pidFile}\nexit 0\n`);
      Deno.chmodSync(epilog, 0o755);
      await startCluster({ plugin, epilog, timeout: 4 });
      try {
        const from = daemonLog("slurmd").length;
        const id = await sbatch(["--wrap", "true"]);
        await waitJobState(id, ["COMPLETING"], 30);
        const child = Number(
          await waitFor("the child's pid", () => {
            try {
              return Promise.resolve(Deno.readTextFileSync(pidFile).trim() || undefined);
            } catch {
              return Promise.resolve(undefined);
            }
          }),
        );
        const started = Date.now();
        // Still COMPLETING while the child holds the pipe.
        await new Promise((r) => setTimeout(r, 2000));
        assert.equal((await waitJobState(id, ["COMPLETING"], 1)).JobState, "COMPLETING");
        assert.ok(alive(child), "the background child is still there");
        await waitJobState(id, ["COMPLETED"], 30);
        assert.ok(Date.now() - started >= 1000, "completed only after the timeout");
        await waitFor(
          "the child killed",
          () => Promise.resolve(alive(child) ? undefined : true),
          10,
        );
        const log = slurmdLogSince(from);
        assert.match(log, new RegExp(`error: ${RUN_COMMAND}: epilog poll timeout @ 4000 msec`));
        assert.match(log, /epilog success rc:0 output:/);
        assert.equal((await nodeState()).state.includes("DRAIN"), false);
      } finally {
        await stopCluster();
      }
    },
  );
}

/** The release under test as [major, minor, micro]. */
function release(): number[] {
  return RELEASE.version.split(".").map(Number);
}

for (const plugin of PLUGINS) {
  test(`spec §2.1 ${plugin}: a relative Prolog is slurm.conf's folder's from 23.02.5`, async () => {
    const { order } = prologDir(`relative-${plugin.replace("/", "-")}`);
    const confDir = CLUSTER_DIR;
    // A copy of the five scripts under slurm.conf's folder, named relatively.
    const rel = `spec-relative-${plugin.replace("/", "-")}.d`;
    try {
      Deno.removeSync(join(confDir, rel), { recursive: true });
    } catch { /* first run */ }
    Deno.mkdirSync(join(confDir, rel), { recursive: true });
    for (const f of ["9x", "alpha"]) {
      const path = join(confDir, rel, f);
      Deno.writeTextFileSync(path, `#!/bin/bash\necho ${f} >> ${order}\n`);
      Deno.chmodSync(path, 0o755);
    }
    await startCluster({ plugin, prolog: `${rel}/*`, timeout: 30 });
    try {
      const [major, minor, micro] = release();
      const resolves = major * 10000 + minor * 100 + micro >= 230205;
      const from = daemonLog("slurmd").length;
      const id = await sbatch(["--wrap", "true"]);
      if (resolves) {
        await waitJobState(id, ["COMPLETED"]);
        assert.deepEqual(ran(order), ["alpha", "9x"]);
      } else {
        // 22.05: globbed as given, from slurmd's working folder: no match.
        await waitJobState(id, ["PENDING"]);
        await waitFor(
          "the drain",
          async () => (await nodeState()).state.includes("DRAIN") || undefined,
        );
        assert.deepEqual(ran(order), []);
        assert.match(
          slurmdLogSince(from),
          new RegExp(`error: prolog: Unable to create list of paths \\[${rel}/\\*\\]`),
        );
      }
    } finally {
      await resumeNode();
      await stopCluster();
    }
  });
}
