// SPDX-License-Identifier: GPL-2.0-or-later
// `prep-deno bundle`, and what run/try/check make of a bundle: its local
// imports inlined, its policy honoured where root put it and refused where a
// user did; and slurm.conf found as Slurm finds it (SLURM_CONF, then the
// build's default) so that a `slurm: true` hook needs no extra flags.
import assert from "node:assert/strict";
import { join } from "node:path";
import { prepDeno, tryStatus, writeFiles } from "../helpers.ts";
import { BUNDLE_MARKER } from "../../src/sandbox/bundle.ts";
import { slurmBuildDefault } from "../../src/sandbox/view_slurm.ts";

const NOBODY = 65534;

/** A root-owned folder (0755) in /var/tmp: where a policy is trusted. */
async function inRootDir(fn: (dir: string) => Promise<void>) {
  const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "prep-deno-bundle-" });
  Deno.chmodSync(dir, 0o755);
  try {
    await fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** A hook folder: prolog.ts importing ./lib.ts, a policy granting write of `out`. */
function hookFolder(dir: string, out: string, grant: string = out): string {
  Deno.mkdirSync(out, { recursive: true, mode: 0o755 });
  writeFiles(join(dir, "src"), {
    "prolog.ts": `import { where } from "./lib.ts";\n` +
      `export async function prolog(job: { id: number }) {\n` +
      `  await Deno.writeTextFile(where(job.id), "ran");\n` +
      `  let other = "written";\n` +
      `  try { await Deno.writeTextFile(${JSON.stringify(join(dir, "other"))}, "x"); }\n` +
      `  catch (e) { other = (e as Error).name; }\n` +
      `  console.log("other:", other);\n}\n`,
    "lib.ts": `export const where = (id: number): string => \`${out}/\${id}\`;\n`,
    "deno.json": JSON.stringify({ permissions: { prolog: { write: [grant] } } }),
  });
  return join(dir, "src");
}

Deno.test("bundle: one file, imports inlined, policy first; it runs with exactly that policy", async () => {
  await inRootDir(async (dir) => {
    const out = join(dir, "out");
    const src = hookFolder(dir, out);
    const b = join(dir, "prolog.ts");
    const made = await prepDeno(["bundle", src, "-o", b]);
    assert.equal(made.code, 0, made.stderr);
    const text = Deno.readTextFileSync(b);
    assert.equal(
      text.split("\n")[0],
      `${BUNDLE_MARKER}{"permissions":{"prolog":{"write":["${out}"]}}}`,
    );
    assert.doesNotMatch(text, /from "\.\/lib\.ts"/);
    // Alone in a folder of its own, no deno.json beside it: the embedded policy.
    const r = await prepDeno(["try", b]);
    assert.equal(tryStatus(r), 0, r.stdout + r.stderr);
    assert.equal(Deno.readTextFileSync(join(out, "1")), "ran");
    assert.match(r.stdout, /other: NotCapable/);
    const c = await prepDeno(["check", b]);
    assert.equal(c.code, 0, c.stdout + c.stderr);
    assert.match(
      c.stdout,
      new RegExp(
        `prolog +export "prolog"; permissions: set "prolog" of the bundle's embedded policy \\(honoured: ${dir}, which only root can change\\): write=${out}`,
      ),
    );
  });
});

Deno.test("bundle: a folder's NAME.ts, else its site.ts (init's)", async () => {
  await inRootDir(async (dir) => {
    writeFiles(join(dir, "h"), {
      "site.ts": `export function prolog() { console.log("site"); }\n`,
    });
    const r = await prepDeno(["bundle", join(dir, "h"), "-o", join(dir, "prolog.ts")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`${dir}/prolog.ts: ${dir}/h/site.ts`));
  });
});

Deno.test("bundle: a relative path grant is refused (it would name another folder on the node)", async () => {
  await inRootDir(async (dir) => {
    const src = hookFolder(dir, join(dir, "out"), "./out");
    const r = await prepDeno(["bundle", src, "-o", join(dir, "prolog.ts")]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /"write" entry "\.\/out" of set "prolog" in "permissions" is a relative path/,
    );
  });
});

Deno.test("bundle: placed by a non-root user, its policy is refused and nothing runs", async () => {
  await inRootDir(async (dir) => {
    const out = join(dir, "out");
    const src = hookFolder(dir, out);
    const theirs = join(dir, "theirs");
    Deno.mkdirSync(theirs, { mode: 0o755 });
    const b = join(theirs, "prolog.ts");
    assert.equal((await prepDeno(["bundle", src, "-o", b])).code, 0);
    Deno.chownSync(b, NOBODY, NOBODY);
    const r = await prepDeno(["try", b]);
    assert.equal(tryStatus(r), 126);
    assert.match(r.stderr, new RegExp(`embedded policy refused: ${b} is owned by uid ${NOBODY}`));
    assert.deepEqual([...Deno.readDirSync(out)], []);
  });
});

Deno.test("bundle: a module with a local import, alone, fails saying to bundle it", async () => {
  await inRootDir(async (dir) => {
    const src = hookFolder(dir, join(dir, "out"));
    const alone = join(dir, "alone");
    Deno.mkdirSync(alone, { mode: 0o755 });
    Deno.copyFileSync(join(src, "prolog.ts"), join(alone, "prolog.ts"));
    const r = await prepDeno(["try", join(alone, "prolog.ts")]);
    assert.equal(tryStatus(r), 1);
    assert.match(r.stderr, /imports .*\/alone\/lib\.ts, but it runs alone/);
    assert.match(r.stderr, /prep-deno bundle DIR -o prolog\.ts/);
  });
});

Deno.test("slurm.conf: try and check find it as Slurm does, with no flag", async () => {
  await inRootDir(async (dir) => {
    const etc = join(dir, "etc");
    Deno.mkdirSync(etc, { mode: 0o755 });
    Deno.writeTextFileSync(join(etc, "slurm.conf"), "ClusterName=x\n");
    writeFiles(join(dir, "hooks"), {
      "hook.ts": `export function prolog() {\n` +
        `  const conf = Deno.env.get("SLURM_CONF");\n` +
        `  console.log("conf:", conf, Deno.readTextFileSync(conf!).trim());\n}\n`,
      "deno.json": JSON.stringify({
        permissions: { prolog: { read: [etc] } },
        sandbox: { prolog: { slurm: true } },
      }),
    });
    const env = { PATH: "/usr/bin:/bin", SLURM_CONF: join(etc, "slurm.conf") };
    const run = (cmd: string) =>
      new Deno.Command(join(import.meta.dirname!, "../../build/prep-deno"), {
        args: [cmd, join(dir, "hooks", "hook.ts")],
        clearEnv: true,
        env,
      }).output();
    const t = await run("try");
    const d = new TextDecoder();
    assert.equal(t.code, 0, d.decode(t.stdout) + d.decode(t.stderr));
    assert.match(d.decode(t.stdout), new RegExp(`conf: ${etc}/slurm.conf ClusterName=x`));
    const c = await run("check");
    assert.equal(c.code, 0, d.decode(c.stdout) + d.decode(c.stderr));
    assert.match(d.decode(c.stdout), new RegExp(`slurm=${etc}`));
  });
  // Without SLURM_CONF: the default compiled into the Slurm on PATH.
  assert.equal(slurmBuildDefault("/usr/bin"), "/etc/slurm/slurm.conf");
  const p = await new Deno.Command(join(import.meta.dirname!, "../../scripts/slurm-build.sh"), {
    args: ["--prefix", "25.11.7"],
    stderr: "null",
  }).output();
  const prefix = new TextDecoder().decode(p.stdout).trim();
  if (p.success) assert.equal(slurmBuildDefault(`${prefix}/bin`), `${prefix}/etc/slurm.conf`);
});

Deno.test("check --slurm-conf: on a configless controller, a module that would arrive without its imports says to bundle it", async () => {
  await inRootDir(async (dir) => {
    const src = hookFolder(dir, join(dir, "out"));
    Deno.copyFileSync(join(src, "prolog.ts"), join(dir, "lone.ts"));
    Deno.writeTextFileSync(join(dir, "lib.ts"), Deno.readTextFileSync(join(src, "lib.ts")));
    const made = await prepDeno(["bundle", join(src, "prolog.ts"), "-o", join(dir, "bundled.ts")]);
    assert.equal(made.code, 0, made.stderr);
    const conf = join(dir, "slurm.conf");
    Deno.writeTextFileSync(
      conf,
      "SlurmctldParameters=enable_configless\nPrEpPlugins=prep/deno\n" +
        "Prolog=lone.ts\nEpilog=bundled.ts\n",
    );
    const r = await prepDeno(["check", "--slurm-conf", conf]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `${dir}/lone\\.ts: Prolog: imports files beside it, but Slurm ships each slurmd this one file alone; fix: make it one file with \`prep-deno bundle DIR -o ${dir}/lone\\.ts\``,
      ),
    );
    assert.doesNotMatch(r.stdout, /bundled\.ts: Epilog: (imports|its policy)/);
  });
});
