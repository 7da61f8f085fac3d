// SPDX-License-Identifier: GPL-2.0-or-later
// mode=warm in the real cluster: the warm service stopped (a restart) while
// jobs run; every hook of every job completes exactly once, the running
// ones in the service, the later ones through the spawn path, with one log
// line. (A service killed outright: tests/warm/serve_test.ts.)
import assert from "node:assert/strict";
import { readRecords, recorders } from "./hooks.ts";
import {
  daemonLog,
  sbatch,
  servicePid,
  startCluster,
  stopCluster,
  waitFor,
  waitJobState,
} from "./cluster.ts";

const CONTEXTS = ["prolog_slurmctld", "prolog_slurmd", "epilog_slurmd", "epilog_slurmctld"];

Deno.test({
  name: "slurm warm: the service stopped mid-run, every hook of every job runs exactly once",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const rec = recorders("warm-kill");
    // The recorder, slowed down: jobs are in their hooks when the service dies.
    Deno.writeTextFileSync(
      rec.ts,
      Deno.readTextFileSync(rec.ts).replace(
        "export default async (job) => {",
        "export default async (job) => {\n  await new Promise((r) => setTimeout(r, 700));",
      ),
    );
    await startCluster({
      plugin: "prep/deno",
      prolog: rec.ts,
      epilog: rec.ts,
      prologSlurmctld: rec.ts,
      epilogSlurmctld: rec.ts,
      warm: true,
    });
    const jobs = [];
    for (let i = 0; i < 6; i++) jobs.push(await sbatch(["--wrap", "sleep 1"]));
    await waitFor(
      "a hook through the service",
      () => Promise.resolve(readRecords(rec.dir).length > 0 ? true : undefined),
    );
    Deno.kill(servicePid(), "SIGTERM");
    for (const id of jobs) await waitJobState(id, ["COMPLETED"], 120);
    const records = await waitFor("every hook of every job", () => {
      const r = readRecords(rec.dir);
      return Promise.resolve(r.length >= jobs.length * CONTEXTS.length ? r : undefined);
    }, 60);
    for (const id of jobs) {
      for (const context of CONTEXTS) {
        const n = records.filter((r) => r.jobId === id && r.context === context).length;
        assert.equal(n, 1, `job ${id}: ${context} ran ${n} times`);
      }
    }
    const logs = daemonLog("slurmd") + daemonLog("slurmctld");
    assert.match(
      logs,
      /prep\/deno: \[job \d+\] warm service at \S+ not answering \(.*\); the hook ran through the spawn path/,
    );
    await stopCluster();
  },
});
