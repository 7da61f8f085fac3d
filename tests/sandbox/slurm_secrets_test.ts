// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Class 3 of issue 19: what `slurm: true` shows of slurm.conf's folder is
 * decided by one rule (only what every user could read), whatever reaches
 * the folder: here the policy also grants `read` of it, and a hook with
 * `CAP_DAC_OVERRIDE` reads everything it can see there through a shell,
 * following every link. Runs go through the launcher's plan cache, as the
 * plugin's do.
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fakeJobEnv } from "../../src/job/slurm_vars.ts";
import { prepDeno } from "../helpers.ts";
import { grantDir } from "./helpers.ts";

const PLANS = "/run/prep-deno/plans";

function cachedPlan(modulePath: string): string | undefined {
  for (const e of Deno.readDirSync(PLANS)) {
    const text = new TextDecoder().decode(Deno.readFileSync(join(PLANS, e.name)));
    if (text.startsWith(`${modulePath}\n`)) return text;
  }
  return undefined;
}

function file(path: string, text: string, mode: number): void {
  Deno.writeTextFileSync(path, text);
  Deno.chmodSync(path, mode);
}

Deno.test(
  "attack: slurm: true with a read grant of slurm.conf's folder shows no private file, linked, in a subfolder or added after the plan was cached",
  {
    ignore: Deno.uid() !== 0,
  },
  async () => {
    const conf = grantDir("slurmconf");
    const outside = grantDir("slurmkeys");
    const hooks = grantDir("slurmhook");
    const secret = "k3y-" + crypto.randomUUID();
    try {
      file(`${conf}/slurm.conf`, "ClusterName=attack\n", 0o644);
      file(`${conf}/gres.conf`, "# gres\n", 0o644);
      file(`${conf}/slurm.key`, `${secret} 0600\n`, 0o600);
      file(`${conf}/acct.conf`, `${secret} 0640\n`, 0o640);
      Deno.mkdirSync(`${conf}/keys`, { mode: 0o755 });
      file(`${conf}/keys/rotated-2024`, `${secret} in a subfolder\n`, 0o600);
      file(`${conf}/keys/public.txt`, "public\n", 0o644);
      Deno.symlinkSync(`${conf}/keys/rotated-2024`, `${conf}/current`);
      Deno.mkdirSync(`${conf}/closed`, { mode: 0o700 });
      file(`${conf}/closed/readable`, `${secret} in a closed folder\n`, 0o644);
      file(`${outside}/jwt`, `${secret} linked from outside\n`, 0o600);
      Deno.symlinkSync(`${outside}/jwt`, `${conf}/jwt.conf`);
      // A linked folder every user may enter, with a private file in it.
      Deno.mkdirSync(`${outside}/shared`, { mode: 0o755 });
      file(`${outside}/shared/private`, `${secret} in a linked folder\n`, 0o600);
      Deno.symlinkSync(`${outside}/shared`, `${conf}/shared`);
      const hook = `${hooks}/hook.ts`;
      Deno.writeTextFileSync(
        hook,
        `export async function prolog() {
  const o = await new Deno.Command("/bin/sh", {
    args: ["-c", "grep -rRs . ${conf} ${outside}; cat ${conf}/current ${conf}/jwt.conf; true"],
  }).output();
  console.log(new TextDecoder().decode(o.stdout));
}`,
      );
      Deno.writeTextFileSync(
        `${hooks}/deno.json`,
        JSON.stringify({
          permissions: { prolog: { read: [conf, outside], run: ["/bin/sh"] } },
          sandbox: {
            prolog: { slurm: true, read: [conf, outside], capabilities: ["CAP_DAC_OVERRIDE"] },
          },
        }),
      );
      const env = { ...fakeJobEnv("prolog_slurmd", { id: 19 }), SLURM_CONF: `${conf}/slurm.conf` };
      const run = async () => {
        const r = await prepDeno(["run", hook], env);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /ClusterName=attack/);
        assert.match(r.stdout, /# gres/);
        assert.match(r.stdout, /keys\/public.txt:public/);
        assert.ok(!r.stdout.includes(secret), `a secret leaked:\n${r.stdout}`);
        return r;
      };
      await run();
      assert.ok(cachedPlan(hook), "the plan was cached");
      await run(); // from the cache
      // Added after the plan was cached: a key, a private file, a private subfolder's file.
      file(`${conf}/late.key`, `${secret} added later\n`, 0o644);
      file(`${conf}/late.conf`, `${secret} added later, private\n`, 0o600);
      file(`${conf}/keys/late`, `${secret} added later in a subfolder\n`, 0o600);
      // A link whose private target appears only later, outside the folder.
      Deno.symlinkSync(`${outside}/later`, `${conf}/later.conf`);
      await run();
      file(`${outside}/later`, `${secret} a link's target made later\n`, 0o600);
      await run();
      // A file that turns private later.
      file(`${conf}/gres.conf`, `${secret} made private\n`, 0o600);
      const r = await prepDeno(["run", hook], env);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!r.stdout.includes(secret), `a secret leaked:\n${r.stdout}`);
      // A read grant of the folder above slurm.conf's, and of the keys' folder.
      file(`${conf}/gres.conf`, "# gres\n", 0o644);
      Deno.writeTextFileSync(
        `${hooks}/deno.json`,
        JSON.stringify({
          permissions: { prolog: { read: [dirname(conf), outside], run: ["/bin/sh"] } },
          sandbox: {
            prolog: {
              slurm: true,
              read: [dirname(conf), outside],
              capabilities: ["CAP_DAC_OVERRIDE"],
            },
          },
        }),
      );
      await run();
      // The hook root is slurm.conf's folder itself (its policy there): its
      // own module and policy, root's only, still load; nothing else shows.
      file(`${conf}/gres.conf`, "# gres\n", 0o644);
      file(`${conf}/prolog.ts`, Deno.readTextFileSync(hook), 0o600);
      file(`${conf}/deno.json`, Deno.readTextFileSync(`${hooks}/deno.json`), 0o600);
      const own = await prepDeno(["run", `${conf}/prolog.ts`], env);
      assert.equal(own.code, 0, own.stderr);
      assert.match(own.stdout, /ClusterName=attack/);
      assert.ok(!own.stdout.includes(secret), `a secret leaked:\n${own.stdout}`);
    } finally {
      for (const d of [conf, outside, hooks]) Deno.removeSync(d, { recursive: true });
    }
  },
);
