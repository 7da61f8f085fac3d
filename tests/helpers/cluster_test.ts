// SPDX-License-Identifier: GPL-2.0-or-later
// The issue-20 helpers on the real cluster: an Epilog that asks Slurm for
// the user's jobs on the node (squeue's own state filter) and appends the
// answer to the job's output file as the job user, as the ported
// "scratch with accounting" epilog does in bash with su and squeue.
import assert from "node:assert/strict";
import { join } from "node:path";
import { TOP } from "../helpers.ts";
import { HELPERS } from "../sandbox/helpers.ts";
import { slurm, startCluster, stopCluster, waitJobState } from "../slurm/cluster.ts";

const NOBODY = 65534;

Deno.test({
  name: "cluster: an Epilog appends userJobsOnNode's answer to the job's output, as the job user",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const out = `/var/tmp/prep-deno-walk-out-${crypto.randomUUID().slice(0, 8)}`;
    Deno.mkdirSync(out);
    Deno.chmodSync(out, 0o1777);
    const hooks = Deno.makeTempDirSync({ dir: join(TOP, "tests", "helpers"), prefix: ".cluster-" });
    Deno.chmodSync(hooks, 0o755);
    Deno.writeTextFileSync(
      join(hooks, "hook.ts"),
      `import { appendToJobOutput, userJobsOnNode } from ${JSON.stringify(HELPERS)};
export async function epilog(job) {
  const jobs = await userJobsOnNode(job.user, { job });
  await appendToJobOutput(job, "epilog: " + job.user + " has " + JSON.stringify(jobs) + " here\\n");
}`,
    );
    Deno.writeTextFileSync(
      join(hooks, "deno.json"),
      JSON.stringify({
        permissions: { epilog: { run: ["/usr/bin/squeue"], write: [out] } },
        sandbox: { epilog: { slurm: true, capabilities: ["CAP_SETUID", "CAP_SETGID"] } },
      }),
    );
    try {
      await startCluster({ plugin: "prep/deno", epilog: join(hooks, "hook.ts") });
      const r = await slurm("sbatch", [
        "--parsable",
        `--uid=${NOBODY}`,
        `--gid=${NOBODY}`,
        "--chdir=/tmp",
        "-o",
        `${out}/slurm-%j.out`,
        "--wrap",
        "echo job",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const id = Number(r.stdout.trim().split(";")[0]);
      await waitJobState(id, ["COMPLETED"], 60);
      const file = `${out}/slurm-${id}.out`;
      let text = "";
      for (let i = 0; i < 100 && !text.includes("epilog:"); i++) {
        await new Promise((res) => setTimeout(res, 200));
        text = Deno.readTextFileSync(file);
      }
      assert.equal(text, `job\nepilog: nobody has [${id}] here\n`);
      assert.equal(Deno.statSync(file).uid, NOBODY);
    } finally {
      await stopCluster();
      Deno.removeSync(hooks, { recursive: true });
      Deno.removeSync(out, { recursive: true });
    }
  },
});
