// SPDX-License-Identifier: GPL-2.0-or-later
// Issue 23 on real daemons, one cluster start: slurmctld started with -f
// alone on a non-default path, SlurmctldParameters=enable_configless, two
// slurmd started with --conf-server (no slurm.conf of their own).
// - A bundle named relatively (Prolog=prolog.ts) reaches each slurmd's
//   configless cache and runs there with exactly its embedded policy.
// - A new bundle sent by `scontrol reconfigure` runs from the next job on.
// - An unbundled module with a local import fails saying to bundle it.
// - A bundle a non-root user placed elsewhere is refused, with the reason.
// - A `slurm: true` PrologSlurmctld runs `scontrol show job` for its job.
import assert from "node:assert/strict";
import { join } from "node:path";
import { PREP_DENO } from "../helpers.ts";
import { BASE } from "./hooks.ts";
import {
  CLUSTER_DIR,
  daemonLog,
  nodeState,
  RELEASE,
  resumeNode,
  sbatch,
  slurm,
  startCluster,
  stopCluster,
  waitFor,
  waitJobState,
} from "./cluster.ts";

const NOBODY = 65534;
const DIR = join(BASE, "configless");
const SRC = join(DIR, "src");
const OUT = join(DIR, "out");
const CTLD = join(DIR, "ctld");
const SLURM_CONF = join(CLUSTER_DIR, "slurm.conf");

function write(path: string, text: string, mode = 0o644): void {
  Deno.writeTextFileSync(path, text, { mode });
  Deno.chmodSync(path, mode);
}

/** The hook folder: a Prolog importing ./lib.ts, a policy granting one write path. */
function hookFolder(version: string): void {
  write(join(SRC, "lib.ts"), `export const version = ${JSON.stringify(version)};\n`);
  write(
    join(SRC, "prolog.ts"),
    `import type { JobContext } from "prep-deno";
import { version } from "./lib.ts";
async function tryTo(f: () => Promise<unknown>): Promise<string> {
  try { await f(); return "ok"; } catch (e) { return (e as Error).name; }
}
export async function prolog(job: JobContext) {
  const otherWrite = await tryTo(() => Deno.writeTextFile(${
      JSON.stringify(join(DIR, "other"))
    }, "x"));
  const otherRead = await tryTo(() => Deno.readTextFile("/etc/hostname"));
  await Deno.writeTextFile(\`${OUT}/\${job.id}.\${job.env.SLURMD_NODENAME}\`,
    JSON.stringify({ version, module: import.meta.url, otherWrite, otherRead }));
}
`,
  );
  write(join(SRC, "deno.json"), JSON.stringify({ permissions: { prolog: { write: [OUT] } } }));
}

async function bundle(to: string): Promise<void> {
  const r = await new Deno.Command(PREP_DENO, { args: ["bundle", SRC, "-o", to] }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
}

/** The PrologSlurmctld: `scontrol show job` for its own job, through `slurm: true`. */
function ctldHook(): string {
  const scontrol = join(RELEASE.prefix ?? "/usr", "bin", "scontrol");
  Deno.mkdirSync(CTLD, { recursive: true, mode: 0o755 });
  write(
    join(CTLD, "ctld.ts"),
    `export async function prologSlurmctld(job) {
  const r = await new Deno.Command(${
      JSON.stringify(scontrol)
    }, { args: ["show", "job", String(job.id)] }).output();
  const d = new TextDecoder();
  await Deno.writeTextFile(\`${OUT}/ctld.\${job.id}\`, JSON.stringify({
    code: r.code, stdout: d.decode(r.stdout), stderr: d.decode(r.stderr),
    conf: Deno.env.get("SLURM_CONF"), jobConf: job.env.SLURM_CONF ?? null }));
}
`,
  );
  write(
    join(CTLD, "deno.json"),
    JSON.stringify({
      permissions: { prologSlurmctld: { run: [scontrol], write: [OUT] } },
      // The release's own commands live under its prefix.
      sandbox: { prologSlurmctld: { slurm: true, read: RELEASE.prefix ? [RELEASE.prefix] : [] } },
    }),
  );
  return join(CTLD, "ctld.ts");
}

/** Sends the controller's files to every slurmd and waits until both caches hold `probe`. */
async function reconfigure(probe: (cache: string) => boolean): Promise<void> {
  const r = await slurm("scontrol", ["reconfigure"]);
  assert.equal(r.code, 0, r.stderr);
  await waitFor("the configless caches to update", () => {
    const ok = ["n1", "n2"].every((n) => {
      try {
        return probe(
          Deno.readTextFileSync(join(CLUSTER_DIR, "spool", n, "conf-cache", "prolog.ts")),
        );
      } catch {
        return false;
      }
    });
    return Promise.resolve(ok || undefined);
  });
}

function record(id: number, node: string): Record<string, string> {
  return JSON.parse(Deno.readTextFileSync(join(OUT, `${id}.${node}`)));
}

Deno.test({
  name: "configless: bundles ride slurmd's cache with their own policy; -f: slurm: true works",
  // Configless slurmd on one machine: several slurmd, a source-built release.
  ignore: !!RELEASE.missing || !RELEASE.multiNode,
  async fn() {
    try {
      Deno.removeSync(DIR, { recursive: true });
    } catch { /* first run */ }
    for (const d of [DIR, SRC, OUT]) Deno.mkdirSync(d, { recursive: true, mode: 0o755 });
    hookFolder("v1");
    Deno.mkdirSync(CLUSTER_DIR, { recursive: true });
    const placed = join(CLUSTER_DIR, "prolog.ts");
    await bundle(placed);
    const ctld = ctldHook();
    await startCluster({
      plugin: "prep/deno",
      nodes: 2,
      configless: true,
      prolog: "prolog.ts",
      prologSlurmctld: ctld,
    });
    try {
      // 1. The bundle runs from n1's configless cache with exactly its policy.
      const a = await sbatch(["-w", "n1", "--wrap", "true"]);
      await waitJobState(a, ["COMPLETED"]);
      const ra = record(a, "n1");
      assert.equal(ra.version, "v1");
      assert.equal(
        ra.module,
        `file://${join(CLUSTER_DIR, "spool", "n1", "conf-cache", "prolog.ts")}`,
      );
      assert.equal(ra.otherWrite, "NotCapable");
      assert.equal(ra.otherRead, "NotCapable");

      // 2. -f on a non-default path: the slurm: true PrologSlurmctld reached the controller.
      const ctl = JSON.parse(Deno.readTextFileSync(join(OUT, `ctld.${a}`)));
      assert.equal(ctl.code, 0, ctl.stderr);
      assert.match(ctl.stdout, new RegExp(`JobId=${a} `));
      assert.equal(ctl.conf, SLURM_CONF);
      assert.equal(ctl.jobConf, null, "slurmctld gives its hooks no SLURM_CONF of its own");

      // 3. A new bundle sent by reconfigure runs from the next job on.
      hookFolder("v2");
      await bundle(placed);
      await reconfigure((t) => t.includes('"v2"'));
      const b = await sbatch(["-w", "n2", "--wrap", "true"]);
      await waitJobState(b, ["COMPLETED"]);
      assert.equal(record(b, "n2").version, "v2");

      // 4. The module itself, unbundled: it arrives without ./lib.ts.
      write(placed, Deno.readTextFileSync(join(SRC, "prolog.ts")));
      write(join(CLUSTER_DIR, "lib.ts"), Deno.readTextFileSync(join(SRC, "lib.ts")));
      await reconfigure((t) => t.startsWith("import type"));
      const c = await sbatch(["-w", "n1", "--wrap", "true"]);
      const drained = await waitFor("n1 drained by the lone module", async () => {
        const s = await nodeState("n1");
        return /DRAIN/.test(s.state) ? s : undefined;
      });
      assert.match(drained.reason, /bundle/);
      assert.match(daemonLog("slurmd", "n1"), /prep-deno bundle DIR -o prolog\.ts/);
      await slurm("scancel", [String(c)]);
      await resumeNode("n1");

      // 5. A bundle a non-root user placed elsewhere: refused, with the reason.
      const theirs = join(DIR, "nobody");
      Deno.mkdirSync(theirs, { mode: 0o755 });
      Deno.chownSync(theirs, NOBODY, NOBODY);
      const planted = join(theirs, "prolog.ts");
      await bundle(planted);
      Deno.chownSync(planted, NOBODY, NOBODY);
      const conf = Deno.readTextFileSync(SLURM_CONF).replace(/^Prolog=.*$/m, `Prolog=${planted}`);
      Deno.writeTextFileSync(SLURM_CONF, conf);
      const r = await slurm("scontrol", ["reconfigure"]);
      assert.equal(r.code, 0, r.stderr);
      await waitFor("n2's cache to name the planted bundle", () => {
        const t = Deno.readTextFileSync(
          join(CLUSTER_DIR, "spool", "n2", "conf-cache", "slurm.conf"),
        );
        return Promise.resolve(t.includes(`Prolog=${planted}`) || undefined);
      });
      const d = await sbatch(["-w", "n2", "--wrap", "true"]);
      await waitFor("n2 drained by the refused bundle", async () => {
        const s = await nodeState("n2");
        return /DRAIN/.test(s.state) ? s : undefined;
      });
      assert.match(
        daemonLog("slurmd", "n2"),
        new RegExp(`${planted}: embedded policy refused: ${planted} is owned by uid ${NOBODY}`),
      );
      await assertNoRecord(d);
      await slurm("scancel", [String(d)]);
    } finally {
      await stopCluster();
      for (const f of [placed, join(CLUSTER_DIR, "lib.ts")]) {
        try {
          Deno.removeSync(f);
        } catch { /* not made */ }
      }
      Deno.removeSync(DIR, { recursive: true });
    }
  },
});

/** The refused bundle never ran: it wrote nothing. */
function assertNoRecord(id: number): Promise<void> {
  assert.ok(![...Deno.readDirSync(OUT)].some((e) => e.name.startsWith(`${id}.`)));
  return Promise.resolve();
}
