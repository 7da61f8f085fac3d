// SPDX-License-Identifier: GPL-2.0-or-later
// tasks_max on real daemons: it reaches a TypeScript Prolog's runner as
// --tasks-max, and its process limit holds there, naming itself in slurmd's
// log. (A bad number stopping init() is tests/ffi/numbers_test.ts: the
// cluster script waits minutes for daemons that never come up.)
import assert from "node:assert/strict";
import { join } from "node:path";
import { PREP_DENO } from "../helpers.ts";
import {
  daemonLog,
  RELEASE,
  resumeNode,
  sbatch,
  startCluster,
  stopCluster,
  waitFor,
} from "./cluster.ts";

Deno.test({
  name: "slurm numbers: PrEpParameters=tasks_max bounds each TypeScript hook under slurmd",
  ignore: !!RELEASE.missing,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "prep-deno-slurm-numbers-" });
    Deno.chmodSync(dir, 0o755);
    try {
      const prolog = join(dir, "prolog.ts");
      // Threads count: a Worker needs a few; 64 tasks leave it no room to
      // start many, so the hook reaches the limit from its own code.
      Deno.writeTextFileSync(
        prolog,
        `export default async () => {
          const workers = [];
          for (let i = 0; i < 200; i++) {
            workers.push(new Worker("data:text/javascript,setInterval(() => {}, 1000)", { type: "module" }));
            await new Promise((r) => setTimeout(r, 5));
          }
        };`,
      );
      await startCluster({
        plugin: "prep/deno",
        prepParams: `runner=${PREP_DENO},tasks_max=64`,
        prolog,
      });
      const id = await sbatch(["--wrap", "true"]);
      void id;
      await waitFor(
        "the Prolog's end in slurmd's log",
        () =>
          Promise.resolve(/prolog failed|error: .*prolog/.test(daemonLog("slurmd")) || undefined),
        120,
      );
      assert.match(daemonLog("slurmd"), /reached its process limit of 64 tasks/);
      assert.match(daemonLog("slurmd"), /prolog failed: rc:125/);
    } finally {
      await resumeNode().catch(() => {});
      await stopCluster();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
