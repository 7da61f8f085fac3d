// SPDX-License-Identifier: GPL-2.0-or-later
// spec §2.6, the rows of the failure table for the slurmctld hooks that
// failures_test.ts does not cover, prep/script against prep/deno:
// a PrologSlurmctld killed by a signal without a timeout is no failure;
// a PrologSlurmctld timeout requeues the job ("failed due to timing out");
// an EpilogSlurmctld timeout is only logged.
import assert from "node:assert/strict";
import { join } from "node:path";
import { BASE, bashHook } from "./hooks.ts";
import { FORGED, forgingHook, REAL_CAUSE } from "../forged_output.ts";
import {
  atLeast,
  daemonLog,
  sbatch,
  show,
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

for (const plugin of PLUGINS) {
  test(`spec §2.6 ${plugin}: a PrologSlurmctld killed by a signal is no failure`, async () => {
    const hook = bashHook("ctld-self-kill", "kill -9 $$");
    await startCluster({ plugin, prologSlurmctld: hook, timeout: 30 });
    try {
      const id = await sbatch(["--wrap", "true"]);
      await waitJobState(id, ["COMPLETED"]);
      assert.equal((await show("job", id)).Restarts, "0");
      assert.match(
        daemonLog("slurmctld"),
        new RegExp(`prolog_slurmctld JobId=${id} prolog completed`),
      );
    } finally {
      await stopCluster();
    }
  });

  test(`spec §2.6 ${plugin}: a PrologSlurmctld timeout requeues the job`, async () => {
    const hook = bashHook("ctld-slow", "sleep 30");
    await startCluster({ plugin, prologSlurmctld: hook, timeout: 2 });
    try {
      const id = await sbatch(["--wrap", "true"]);
      const done = new RegExp(`error: prolog_slurmctld JobId=${id} failed due to timing out`);
      await waitFor(
        "the timeout",
        () => Promise.resolve(done.test(daemonLog("slurmctld")) || undefined),
        30,
      );
      const job = await waitFor("the requeue", async () => {
        const j = await show("job", id);
        return j.Restarts === "1" ? j : undefined;
      });
      assert.equal(job.JobState, "PENDING");
      // 22.05: SIGTERM is blocked in the hook (§2.5), the SIGKILL ends it;
      // 24.05.5+: the script launcher unblocks it, SIGTERM ends it.
      const killed = atLeast("24.05") ? "exit status 0:15" : "exit status 0:9";
      assert.match(daemonLog("slurmctld"), new RegExp(`JobId=${id} PrologSlurmctld ${killed}`));
    } finally {
      await stopCluster();
    }
  });

  test(`spec §2.6 ${plugin}: an EpilogSlurmctld timeout is only logged`, async () => {
    const hook = bashHook("ctld-slow-epilog", "sleep 30");
    await startCluster({ plugin, epilogSlurmctld: hook, timeout: 2 });
    try {
      const id = await sbatch(["--wrap", "true"]);
      await waitJobState(id, ["COMPLETED"], 30);
      const line = new RegExp(`epilog_slurmctld JobId=${id} timed out`);
      await waitFor(
        "the log line",
        () => Promise.resolve(line.test(daemonLog("slurmctld")) || undefined),
        30,
      );
    } finally {
      await stopCluster();
    }
  });
}

test("prep/deno: a failing EpilogSlurmctld module that forges its output: slurmctld logs the runner's line whole, the output escaped", async () => {
  const dir = join(BASE, "spec", "ctld-forger");
  Deno.mkdirSync(dir, { recursive: true });
  const hook = join(dir, "forger.ts");
  Deno.writeTextFileSync(hook, forgingHook("epilogSlurmctld"));
  await startCluster({ plugin: "prep/deno", epilogSlurmctld: hook, timeout: 30 });
  try {
    const id = await sbatch(["--wrap", "true"]);
    await waitJobState(id, ["COMPLETED"], 30);
    const mine = new RegExp(
      `^\\[[^\\]]+\\] error: prep-deno: epilogSlurmctld ${
        hook.replace(/[.\\/]/g, "\\$&")
      } job ${id}: threw Error: ${REAL_CAUSE} \\(at forger\\.ts:\\d+\\)$`,
      "m",
    );
    const log = await waitFor(
      "the runner's line",
      () => Promise.resolve(mine.test(daemonLog("slurmctld")) ? daemonLog("slurmctld") : undefined),
      30,
    );
    assert.ok(
      !["\u0000", "\u001b", "\r"].some((c) => log.includes(c)),
      "a raw NUL, ESC or CR from the hook in slurmctld's log",
    );
    for (const line of log.split("\n").filter((l) => l.includes(FORGED))) {
      assert.match(line, / output:/, line.slice(0, 300));
    }
  } finally {
    await stopCluster();
  }
});
