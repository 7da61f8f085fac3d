// SPDX-License-Identifier: GPL-2.0-or-later
// mode=warm in the real cluster: the warm service stopped (a restart) while
// jobs run; every hook of every job completes exactly once, the running
// ones in the service, the later ones through the spawn path, with one log
// line. (A service killed outright: tests/warm/serve_test.ts.)
// The same cluster (slurmctld started with -f on its own slurm.conf, not
// /etc/slurm's; the service started without SLURM_CONF, as its unit is): a
// `slurm: true` PrologSlurmctld runs `scontrol show job` for its job with
// the daemon's slurm.conf, through the service and through the spawn path.
import assert from "node:assert/strict";
import { join } from "node:path";
import { readRecords, recorders } from "./hooks.ts";
import {
  CLUSTER_DIR,
  daemonLog,
  RELEASE,
  sbatch,
  servicePid,
  startCluster,
  stopCluster,
  waitFor,
  waitJobState,
} from "./cluster.ts";

const CONTEXTS = ["prolog_slurmctld", "prolog_slurmd", "epilog_slurmd", "epilog_slurmctld"];

/**
 * A `slurm: true` PrologSlurmctld writing what `scontrol show job` said into
 * `out`, and recording its run in `rec` as the recorder does (22.05 takes
 * one PrologSlurmctld line only).
 */
function ctldHook(dir: string, out: string, rec: string): string {
  const scontrol = join(RELEASE.prefix ?? "/usr", "bin", "scontrol");
  Deno.mkdirSync(dir, { recursive: true, mode: 0o755 });
  Deno.mkdirSync(out, { recursive: true, mode: 0o755 });
  const hook = join(dir, "ctld.ts");
  Deno.writeTextFileSync(
    hook,
    `export async function prologSlurmctld(job) {
  await new Promise((r) => setTimeout(r, 700));
  const text = Object.entries(job.env).map(([k, v]) => k + "=" + v + "\\0").join("");
  await Deno.writeTextFile(\`${rec}/\${job.context}.\${job.id}.\${crypto.randomUUID()}.env\`, text);
  const r = await new Deno.Command(${
      JSON.stringify(scontrol)
    }, { args: ["show", "job", String(job.id)] }).output();
  const d = new TextDecoder();
  await Deno.writeTextFile(\`${out}/\${job.id}\`, JSON.stringify({
    code: r.code, stdout: d.decode(r.stdout), stderr: d.decode(r.stderr),
    conf: Deno.env.get("SLURM_CONF") }));
}
`,
  );
  Deno.writeTextFileSync(
    join(dir, "deno.json"),
    JSON.stringify({
      permissions: { prologSlurmctld: { run: [scontrol], write: [out, rec] } },
      sandbox: {
        prologSlurmctld: { slurm: true, read: RELEASE.prefix ? [RELEASE.prefix] : [] },
      },
    }),
  );
  return hook;
}

function ctldRecord(
  out: string,
  id: number,
): { code: number; stdout: string; stderr: string; conf: string } {
  return JSON.parse(Deno.readTextFileSync(join(out, String(id))));
}

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
    const ctldOut = join(rec.dir, "..", "ctld-out");
    const ctld = ctldHook(join(rec.dir, "..", "ctld"), ctldOut, rec.dir);
    await startCluster({
      plugin: "prep/deno",
      prolog: rec.ts,
      epilog: rec.ts,
      prologSlurmctld: ctld,
      epilogSlurmctld: rec.ts,
      warm: true,
    });
    const slurmConf = join(CLUSTER_DIR, "slurm.conf");
    // The slurm: true PrologSlurmctld through the service: the daemon's slurm.conf.
    const first = await sbatch(["--wrap", "true"]);
    await waitJobState(first, ["COMPLETED"], 120);
    const warmRun = ctldRecord(ctldOut, first);
    assert.equal(warmRun.code, 0, warmRun.stderr);
    assert.match(warmRun.stdout, new RegExp(`JobId=${first} `));
    assert.equal(warmRun.conf, slurmConf);
    assert.match(
      Deno.readTextFileSync(join(CLUSTER_DIR, "log", "serve.log")),
      new RegExp(`prolog_slurmctld ${ctld} job ${first}: exit status 0`),
      "it ran in the warm service",
    );
    const jobs: number[] = [];
    for (let i = 0; i < 6; i++) jobs.push(await sbatch(["--wrap", "sleep 1"]));
    await waitFor(
      "a hook through the service",
      () =>
        Promise.resolve(
          readRecords(rec.dir).some((r) => jobs.includes(r.jobId)) ? true : undefined,
        ),
    );
    Deno.kill(servicePid(), "SIGTERM");
    for (const id of jobs) await waitJobState(id, ["COMPLETED"], 120);
    const records = await waitFor("every hook of every job", () => {
      const r = readRecords(rec.dir).filter((r) => jobs.includes(r.jobId));
      return Promise.resolve(r.length >= jobs.length * CONTEXTS.length ? r : undefined);
    }, 60);
    for (const id of jobs) {
      for (const context of CONTEXTS) {
        const n = records.filter((r) => r.jobId === id && r.context === context).length;
        assert.equal(n, 1, `job ${id}: ${context} ran ${n} times`);
      }
      // Warm or, once the service stopped, spawned: the same slurm.conf.
      const r = ctldRecord(ctldOut, id);
      assert.equal(r.code, 0, `job ${id}: ${r.stderr}`);
      assert.equal(r.conf, slurmConf, `job ${id}`);
    }
    const logs = daemonLog("slurmd") + daemonLog("slurmctld");
    assert.match(
      logs,
      /prep\/deno: \[job \d+\] warm service at \S+ not answering \(.*\); the hook ran through the spawn path/,
    );
    await stopCluster();
  },
});
