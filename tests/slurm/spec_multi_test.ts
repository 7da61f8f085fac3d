// SPDX-License-Identifier: GPL-2.0-or-later
// Several PrologSlurmctld lines (Slurm 24.05+, spec §2.5 and §5.3): they run
// at once, as slurmscriptd runs them, and the job starts once all are done
// (prep/deno calls back once; prep/script once per line). Needs daemons of
// 24.05 or later (the "slurmver" clusters); skipped on 22.05, which reads
// one PrologSlurmctld only.
import assert from "node:assert/strict";
import { join } from "node:path";
import { BASE } from "./hooks.ts";
import {
  atLeast,
  daemonLog,
  RELEASE,
  sbatch,
  show,
  startCluster,
  stopCluster,
  waitFor,
  waitJobState,
} from "./cluster.ts";

// The release under test (cluster.ts): a newer sinfo needs a slurm.conf even for --version.
const ignore = !atLeast("24.05") || RELEASE.missing !== undefined;

function hook(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  Deno.writeTextFileSync(path, `#!/bin/bash\n${body}\n`);
  Deno.chmodSync(path, 0o755);
  return path;
}

for (const plugin of ["prep/script", "prep/deno"] as const) {
  Deno.test({
    name: `spec §2.5 ${plugin}: several PrologSlurmctld lines run at once, the job once`,
    ignore,
    async fn() {
      const dir = join(BASE, "spec", `multi-${plugin.replace("/", "-")}`);
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* first run */ }
      Deno.mkdirSync(dir, { recursive: true });
      const log = join(dir, "times.txt");
      const body = (n: string) =>
        `echo "start ${n} $(date +%s%N)" >> ${log}; sleep 2; echo "end ${n} $(date +%s%N)" >> ${log}`;
      const a = hook(dir, "a.sh", body("a"));
      const b = hook(dir, "b.sh", body("b"));
      // slurm-cluster.sh writes the value after "PrologSlurmctld=": a second line rides along.
      await startCluster({ plugin, prologSlurmctld: `${a}\nPrologSlurmctld=${b}`, timeout: 30 });
      try {
        const id = await sbatch(["--wrap", "true"]);
        await waitJobState(id, ["COMPLETED"], 60);
        const t: Record<string, number> = {};
        for (const line of Deno.readTextFileSync(log).trim().split("\n")) {
          const [what, n, ns] = line.split(" ");
          t[`${what} ${n}`] = Number(BigInt(ns) / 1_000_000n);
        }
        assert.ok(
          t["start a"] < t["end b"] && t["start b"] < t["end a"],
          "ran one after the other",
        );
        assert.equal((await show("job", id)).Restarts, "0");
        assert.match(
          daemonLog("slurmctld"),
          new RegExp(`prolog_slurmctld JobId=${id} prolog completed`),
        );
      } finally {
        await stopCluster();
      }
    },
  });
}

Deno.test({
  name: "spec §5.3 prep/deno: one failing PrologSlurmctld line requeues the job once",
  ignore,
  async fn() {
    const dir = join(BASE, "spec", "multi-fail");
    Deno.mkdirSync(dir, { recursive: true });
    const ok = hook(dir, "ok.sh", "sleep 1");
    const bad = hook(dir, "bad.sh", "exit 3");
    await startCluster({
      plugin: "prep/deno",
      prologSlurmctld: `${ok}\nPrologSlurmctld=${bad}`,
      timeout: 30,
    });
    try {
      const id = await sbatch(["--wrap", "true"]);
      const job = await waitFor("the requeue", async () => {
        const j = await show("job", id);
        return j.Restarts !== "0" && j.JobState === "PENDING" ? j : undefined;
      });
      assert.equal(job.Restarts, "1");
      assert.match(
        daemonLog("slurmctld"),
        new RegExp(`_run_script: JobId=${id} PrologSlurmctld exit status 3:0`),
      );
    } finally {
      await stopCluster();
    }
  },
});
