// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon's own slurm.conf (pdc_config_t.slurm_conf: slurmctld's -f,
// slurmd's configless cache) reaches a `slurm: true` hook the same way in
// the spawn path (`run --slurm-conf`) and the warm path (the request's
// slurmConf field): the hook's Slurm commands read that file, at a path
// that is not the default, and a hook whose policy does not ask for Slurm
// never sees it.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { CoreConfig, Outcome } from "../../ffi/mod.ts";
import { fakeJobEnv } from "../../src/job/slurm_vars.ts";
import { opts, startService, text } from "./service.ts";

/** A PrologSlurmctld that shows what a Slurm command it runs would read. */
const HOOK = `export async function prologSlurmctld(job) {
  const r = await new Deno.Command("/bin/sh", {
    args: ["-c", 'printf "%s\\\\n" "\${SLURM_CONF-unset}"; cat "\${SLURM_CONF:-/dev/null}"'],
  }).output();
  console.log(new TextDecoder().decode(r.stdout).trim());
  console.log("job.env:", job.env.SLURM_CONF ?? "none");
  // What the helpers hand Slurm's commands (src/helpers/command.ts).
  let own = "unset";
  try {
    own = Deno.env.get("SLURM_CONF") ?? "unset";
  } catch (e) {
    own = (e as Error).name;
  }
  console.log("Deno.env:", own);
}
`;

for (const mode of ["fresh", "reuse"] as const) {
  Deno.test({
    name: `warm ${mode}: a slurm: true hook uses the daemon's slurm.conf, spawn and warm alike`,
    ...opts,
    async fn() {
      await using s = await startService();
      // Not /etc/slurm: a controller started with -f on a file of its own.
      const etc = join(s.dir, "ctld-etc");
      Deno.mkdirSync(etc, { mode: 0o755 });
      const conf = join(etc, "slurm.conf");
      Deno.writeTextFileSync(conf, `ClusterName=fleet2-${mode}\n`);
      const warm = { mode };
      const granted = s.hook("granted", HOOK, {
        permissions: { prologSlurmctld: { run: ["/bin/sh"] } },
        sandbox: { prologSlurmctld: { slurm: true } },
        warm,
      });
      const plain = s.hook("plain", HOOK, {
        permissions: { prologSlurmctld: { run: ["/bin/sh"] } },
        warm,
      });
      // slurmctld gives its hooks no SLURM_CONF of their own.
      const jobEnv = (id: number) => fakeJobEnv("prolog_slurmctld", { id });
      const run = (cfg: CoreConfig, path: string, id: number): Promise<Outcome> =>
        s.plugin.runHooksAsync({ ...cfg, slurmConf: conf }, [path], jobEnv(id), id);
      const spawnCfg = { ...s.cfg(), warmSocket: undefined };

      const expected = `${conf}\nClusterName=fleet2-${mode}\njob.env: none\nDeno.env: ${conf}`;
      const spawned = await run(spawnCfg, granted, 11);
      assert.equal(spawned.exitCode, 0, spawned.log);
      assert.equal(text(spawned), expected);
      const warmed = await run(s.cfg(), granted, 12);
      assert.equal(warmed.fallback, undefined, warmed.log); // ran warm, no spawn fallback
      assert.equal(warmed.exitCode, 0, warmed.log);
      assert.equal(text(warmed), expected);

      // No `slurm: true`: the path stays out of the hook's environment.
      for (const [cfg, id] of [[spawnCfg, 13], [s.cfg(), 14]] as const) {
        const o = await run(cfg, plain, id);
        assert.equal(o.fallback, undefined, o.log); // the warm one ran warm
        assert.equal(text(o), "unset\njob.env: none\nDeno.env: NotCapable", `job ${id}`);
      }
    },
  });
}
