// SPDX-License-Identifier: GPL-2.0-or-later
// Why was my node drained (issue 8, item 5) and a cancelled job's running
// PrologSlurmctld (spec §2.5), on the real cluster.
import assert from "node:assert/strict";
import { join } from "node:path";
import { FORGED, forgingHook, REAL_CAUSE } from "../forged_output.ts";
import { BASE, bashHook } from "./hooks.ts";
import {
  alive,
  daemonLog,
  nodeState,
  resumeNode,
  sbatch,
  slurm,
  startCluster,
  stopCluster,
  waitFor,
  waitJobState,
} from "./cluster.ts";
import { RELEASE } from "./cluster.ts";
import { PREP_DENO } from "../helpers.ts";

/** A test of the release under test; ignored when that release is not built here. */
function test(name: string, fn: () => Promise<void> | void): void {
  Deno.test({ name, ignore: !!RELEASE.missing, fn });
}

function module(name: string, body: string): string {
  const dir = join(BASE, "spec", "drain");
  Deno.mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  Deno.writeTextFileSync(path, `export default async (job) => {\n${body}\n};\n`);
  return path;
}

async function drained(): Promise<{ state: string; reason: string }> {
  return await waitFor(
    "the drain",
    async () => (await nodeState()).state.includes("DRAIN") ? await nodeState() : undefined,
  );
}

test("drain reason: a TypeScript Prolog that throws drains with its message in sinfo -R", async () => {
  // The hook prints no cause line: the runner's, from the thrown error, is the reason.
  const hook = module(
    "site.ts",
    `console.log("checking gpus");\nthrow new Error("gpu 1 lost");`,
  );
  await startCluster({ plugin: "prep/deno", prolog: hook, timeout: 30 });
  try {
    const id = await sbatch(["--wrap", "true"]);
    await waitJobState(id, ["PENDING"]);
    assert.equal((await drained()).reason, "gpu 1 lost at site.ts:3 (prolog site.ts)");
    const r = await slurm("sinfo", ["-R", "-h", "-o", "%E"]);
    assert.match(r.stdout, /^gpu 1 lost at site\.ts:3 \(prolog site\.ts\)$/m);
    assert.match(
      daemonLog("slurmd"),
      /prep\/deno: \[job \d+\] node \S+ drained: gpu 1 lost at site\.ts:3 \(prolog site\.ts\)/,
    );
  } finally {
    await resumeNode();
    await stopCluster();
  }
});

test("drain reason: a timed-out TypeScript Prolog drains with the limit", async () => {
  const hook = module("slow.ts", `for (;;) {}`);
  await startCluster({ plugin: "prep/deno", prolog: hook, timeout: 3 });
  try {
    await sbatch(["--wrap", "true"]);
    assert.equal((await drained()).reason, "timed out after 3 s (prolog slow.ts)");
  } finally {
    await resumeNode();
    await stopCluster();
  }
});

for (const warm of [false, true]) {
  test(`drain reason (${warm ? "warm" : "spawn"}): forged cause lines, a NUL, escapes and a flood neither set the reason nor hide the runner's line`, async () => {
    // The hook prints a forged cause line, record and runner line, a NUL, a
    // carriage return, ANSI escapes and more than the log keeps, then throws.
    const name = `forger-${warm ? "warm" : "spawn"}.ts`;
    const dir = join(BASE, "spec", "drain");
    Deno.mkdirSync(dir, { recursive: true });
    const hook = join(dir, name);
    Deno.writeTextFileSync(hook, forgingHook("prolog"));
    await startCluster({ plugin: "prep/deno", prolog: hook, timeout: 30, warm });
    try {
      const id = await sbatch(["--wrap", "true"]);
      // With the place of the throw in the hook (file:line).
      assert.match(
        (await drained()).reason,
        new RegExp(
          `^${REAL_CAUSE}( at ${name.replace(".", "\\.")}:\\d+)? \\(prolog ${
            name.replace(".", "\\.")
          }\\)$`,
        ),
      );
      const log = await waitFor("the runner's line", () => {
        const l = daemonLog("slurmd");
        return Promise.resolve(l.includes(`job ${id}: threw Error`) ? l : undefined);
      });
      // The runner's line, whole, in a log line of its own.
      const mine = new RegExp(
        `^\\[[^\\]]+\\] error: prep-deno: prolog ${
          hook.replace(/[.\\/]/g, "\\$&")
        } job ${id}: threw Error: ${REAL_CAUSE}( \\(at ${name.replace(".", "\\.")}:\\d+\\))?$`,
        "m",
      );
      assert.match(log, mine);
      // The hook's output: escaped, in the one "output:" line, never a line of its own.
      assert.ok(
        !["\u0000", "\u001b", "\r"].some((c) => log.includes(c)),
        "a raw NUL, ESC or CR from the hook in slurmd's log",
      );
      assert.ok(log.includes("\\x00after the NUL\\x0d\\x1b[2Khidden by escapes"));
      for (const line of log.split("\n").filter((l) => l.includes(FORGED))) {
        assert.match(line, /^\[[^\]]+\] error: prolog failed: rc:1 output:/, line.slice(0, 300));
      }
      assert.match(log, /output truncated: \d+ more bytes were read and dropped/);
    } finally {
      await resumeNode();
      await stopCluster();
    }
  });
}

test("drain reason: a failing Epilog module names it; the reason is one bounded line", async () => {
  const hook = module("epi.ts", `throw new Error("x".repeat(400) + "\\nsecond line");`);
  await startCluster({ plugin: "prep/deno", epilog: hook, timeout: 30 });
  try {
    const id = await sbatch(["--wrap", "true"]);
    await waitJobState(id, ["COMPLETED"]);
    const { reason } = await drained();
    assert.match(reason, /^x+ \(epilog epi\.ts\)$/);
    assert.ok(reason.length <= 120, `reason of ${reason.length} bytes`);
  } finally {
    await resumeNode();
    await stopCluster();
  }
});

test("drain reason: a hook that returns a status has no cause: how it ended", async () => {
  const hook = module("quiet.ts", `console.log("not ready");\nreturn 5;`);
  await startCluster({ plugin: "prep/deno", prolog: hook, timeout: 30 });
  try {
    await sbatch(["--wrap", "true"]);
    assert.equal((await drained()).reason, "exit status 5 (prolog quiet.ts)");
  } finally {
    await resumeNode();
    await stopCluster();
  }
});

test("drain reason: shell hooks keep Slurm's reason unless drain_reason=all", async () => {
  const hook = bashHook("drain-all", `echo "first"; echo "disk /scratch full"; exit 1`);
  await startCluster({
    plugin: "prep/deno",
    prolog: hook,
    timeout: 30,
    prepParams: `runner=${PREP_DENO},drain_reason=all`,
  });
  try {
    await sbatch(["--wrap", "true"]);
    assert.equal((await drained()).reason, "disk /scratch full (prolog drain-all.sh)");
  } finally {
    await resumeNode();
    await stopCluster();
  }
});

test("drain reason: drain_reason=no keeps Slurm's own reason for modules too", async () => {
  const hook = module("off.ts", `throw new Error("ignored");`);
  await startCluster({
    plugin: "prep/deno",
    prolog: hook,
    timeout: 30,
    prepParams: `runner=${PREP_DENO},drain_reason=no`,
  });
  try {
    await sbatch(["--wrap", "true"]);
    assert.equal((await drained()).reason, "Prolog error");
  } finally {
    await resumeNode();
    await stopCluster();
  }
});

for (const plugin of ["prep/script", "prep/deno"] as const) {
  test(`spec §2.5 ${plugin}: scancel kills a running PrologSlurmctld`, async () => {
    const dir = join(BASE, "spec", `cancel-${plugin.replace("/", "-")}`);
    Deno.mkdirSync(dir, { recursive: true });
    const pidFile = join(dir, "hook.pid");
    try {
      Deno.removeSync(pidFile);
    } catch { /* first run */ }
    const hook = join(dir, "prologctld.sh");
    Deno.writeTextFileSync(hook, `#!/bin/bash\necho $$ > ${pidFile}\nexec sleep 60\n`);
    Deno.chmodSync(hook, 0o755);
    const epilog = join(dir, "epilogctld.sh");
    Deno.writeTextFileSync(epilog, `#!/bin/bash\nexit 0\n`);
    Deno.chmodSync(epilog, 0o755);
    // With and without an EpilogSlurmctld: the kill must not depend on one.
    await startCluster({ plugin, prologSlurmctld: hook, timeout: 30 });
    try {
      const id = await sbatch(["--wrap", "true"]);
      await waitJobState(id, ["CONFIGURING"], 30);
      const pid = Number(
        await waitFor("the hook's pid", () => {
          try {
            return Promise.resolve(Deno.readTextFileSync(pidFile).trim() || undefined);
          } catch {
            return Promise.resolve(undefined);
          }
        }),
      );
      await slurm("scancel", [String(id)]);
      await waitJobState(id, ["CANCELLED"], 30);
      await waitFor(
        "the PrologSlurmctld killed",
        () => Promise.resolve(alive(pid) ? undefined : true),
        10,
      );
      // slurmctld counts the kill as "prolog completed", not a failure.
      const done = new RegExp(`prolog_slurmctld JobId=${id} prolog completed`);
      await waitFor(
        "prolog completed",
        () => Promise.resolve(done.test(daemonLog("slurmctld")) || undefined),
      );
    } finally {
      await stopCluster();
    }
  });
}
