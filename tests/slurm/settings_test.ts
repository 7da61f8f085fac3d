// SPDX-License-Identifier: GPL-2.0-or-later
// Start-up and reconfigure honesty on the real daemons: slurmd logs the
// plugin's effective settings in one line at start, with what it checked;
// a PrEpParameters change that `scontrol reconfigure` does not hand to the
// plugin (Slurm up to 23.02 re-initializes PrEp plugins only when
// PrEpPlugins changes) is logged at the next hook, naming the fix.
import assert from "node:assert/strict";
import { join } from "node:path";
import { PREP_DENO } from "../helpers.ts";
import { recorders } from "./hooks.ts";
import {
  atLeast,
  CLUSTER_DIR,
  daemonLog,
  RELEASE,
  sbatch,
  slurm,
  startCluster,
  stopCluster,
  waitFor,
  waitJobState,
} from "./cluster.ts";

Deno.test({
  name: "slurm settings: start-up logs the settings line; a reconfigured PrEpParameters is named",
  ignore: RELEASE.missing !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const rec = recorders("settings");
    await startCluster({ plugin: "prep/deno", prolog: rec.ts, prepParams: `runner=${PREP_DENO}` });
    try {
      const start = daemonLog("slurmd");
      assert.match(
        start,
        new RegExp(
          `prep/deno: settings: runner=${PREP_DENO} mode=spawn heap_mb=0 memory_mb=0 drain_reason=yes; ` +
            `checks: runner ok, bubblewrap /usr(/local)?/bin/bwrap, modules: 1 readable`,
        ),
      );
      assert.doesNotMatch(start, /NOT EXPORTING/, "its default export serves the Prolog");
      const confPath = join(CLUSTER_DIR, "slurm.conf");
      const conf = Deno.readTextFileSync(confPath);
      const changed = `runner=${PREP_DENO},heap_mb=512`;
      Deno.writeTextFileSync(
        confPath,
        conf.replace(/^PrEpParameters=.*$/m, `PrEpParameters=${changed}`),
      );
      const r = await slurm("scontrol", ["reconfigure"]);
      assert.equal(r.code, 0, r.stderr);
      const id = await sbatch(["--wrap", "true"]);
      await waitJobState(id, ["COMPLETED"]);
      if (atLeast("23.11")) {
        // These releases restart the daemon on reconfigure: the new values apply.
        await waitFor(
          "the new settings line",
          () =>
            Promise.resolve(daemonLog("slurmd").includes("heap_mb=512 memory_mb=0") || undefined),
          30,
        );
      } else {
        const line = await waitFor(
          "the PrEpParameters change line",
          () =>
            Promise.resolve(
              daemonLog("slurmd").split("\n").find((l) =>
                l.includes(`prep/deno: PrEpParameters changed to "${changed}"`)
              ),
            ),
          30,
        );
        assert.match(
          line,
          /keeps the plugin's settings from "runner=[^"]+" \(Slurm re-initializes PrEp plugins on reconfigure only when PrEpPlugins changes\): restart slurmd to apply$/,
        );
      }
    } finally {
      await stopCluster();
    }
  },
});

Deno.test({
  name: "slurm settings: start-up names a module that does not export what its line needs",
  ignore: RELEASE.missing !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // Prolog= names a module that serves only the Epilog (no prolog, no default).
    const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "prep-deno-settings-" });
    Deno.chmodSync(dir, 0o755);
    const module = join(dir, "epilog_only.ts");
    Deno.writeTextFileSync(module, "export function epilog(): void {}\n");
    await startCluster({ plugin: "prep/deno", prolog: module, prepParams: `runner=${PREP_DENO}` });
    try {
      const line = daemonLog("slurmd").split("\n").find((l) => l.includes("prep/deno: settings:"));
      assert.ok(line, daemonLog("slurmd"));
      assert.match(line, /error: /, "logged as an error");
      assert.ok(
        line.includes(
          `modules: 1 readable, 1 NOT EXPORTING what its line needs (Prolog=${module} exports no prolog and no default)`,
        ),
        line,
      );
    } finally {
      await stopCluster();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
