// SPDX-License-Identifier: GPL-2.0-or-later
// What a hook may import at run time: "prep-deno" (the runner's own
// helpers, the only copy its sandbox lets in) and the bare names of its
// policy's "imports", under run, try and the warm service alike; an unknown
// name is said plainly. And what it may not load: a module that is a link
// leading out of its folder is refused, its target never read or quoted.
import assert from "node:assert/strict";
import { join } from "node:path";
import { fakeJobEnv } from "../../src/job/slurm_vars.ts";
import { hookOutput, prepDeno, TOP, tryStatus, writeFiles } from "../helpers.ts";
import { env as warmEnv, opts as warmOpts, startService, text } from "../warm/service.ts";

const env = fakeJobEnv("prolog_slurmd", { id: 21 });

/** A hook using helpers from "prep-deno" at run time, and a name of its policy. */
const USES_HELPERS = `import { expandHostlist, expandJobPath, type JobContext } from "prep-deno";
import { site } from "site-util";
export function prolog(job: JobContext) {
  console.log(site, expandHostlist("n[1-3]").join(","), expandJobPath("/o/%j.out", job));
}
`;

function tempDir(): string {
  return Deno.makeTempDirSync({ prefix: "prep-deno-imports-" });
}

Deno.test('imports: "prep-deno" and the policy\'s own names work under run and try', async () => {
  const dir = tempDir();
  try {
    const hook = writeFiles(dir, {
      "hook.ts": USES_HELPERS,
      "lib/util.ts": `export const site = "util";\n`,
      // The runner's copy wins over another "prep-deno" (not in the view).
      // A URL-like key would remap the runner's own modules: refused
      // (src/sandbox/policy_file_test.ts).
      "deno.json": JSON.stringify({
        permissions: { default: {} },
        imports: {
          "site-util": "./lib/util.ts",
          "prep-deno": "file:///nonexistent/mod.ts",
        },
      }),
    });
    const run = await prepDeno(["run", hook], env);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "util n1,n2,n3 /o/21.out\n");
    const tried = await prepDeno(["try", hook, "--job-id", "8"]);
    assert.equal(tryStatus(tried), 0, tried.stdout + tried.stderr);
    assert.equal(hookOutput(tried), "util n1,n2,n3 /o/8.out\n");
    // check type-checks with the same names.
    const check = await prepDeno(["check", hook]);
    assert.match(check.stdout, /^types: ok$/m, check.stdout + check.stderr);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test('imports: "prep-deno" works with no policy at all', async () => {
  const dir = tempDir();
  try {
    const hook = writeFiles(dir, {
      "hook.ts": `import { expandHostlist } from "prep-deno";
export const prolog = () => console.log(expandHostlist("a[1-2]").length);`,
    });
    const run = await prepDeno(["run", hook], env);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "2\n");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test('imports: at run time "prep-deno" is the bundle, the same helpers as the source', async () => {
  // Out of /tmp: one hook here writes the host's /tmp.
  const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "prep-deno-imports-" });
  try {
    // Where the name resolves at run time (build/mod.js: no transpile, no
    // static node: import, ~75 ms less per run than src/mod.ts).
    const code = `import * as helpers from "prep-deno";
export const prolog = () => console.log(import.meta.resolve("prep-deno"), Object.keys(helpers).sort().join(","));`;
    const hook = writeFiles(join(dir, "plain"), { "hook.ts": code });
    // The launcher copies Deno's analysis of the bundle into the hook's own
    // DENO_DIR: also where the whole root or the host's /tmp is in view.
    const readsAll = writeFiles(join(dir, "reads-all"), {
      "hook.ts": code,
      "deno.json": JSON.stringify({ permissions: { default: { read: true } } }),
    });
    const writesTmp = writeFiles(join(dir, "writes-tmp"), {
      "hook.ts": code,
      "deno.json": JSON.stringify({ permissions: { default: { write: ["/tmp"] } } }),
    });
    const source = Object.keys(await import("../../src/mod.ts")).sort().join(",");
    for (const path of [hook, readsAll, writesTmp]) {
      const run = await prepDeno(["run", path], env);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, `file://${TOP}/build/mod.js ${source}\n`);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name: 'imports: in the warm service too, "prep-deno" is the bundle, in both modes',
  ...warmOpts,
  async fn() {
    await using s = await startService();
    const source = Object.keys(await import("../../src/mod.ts")).sort().join(",");
    for (const mode of ["fresh", "reuse"]) {
      const hook = s.hook(
        mode,
        `import * as helpers from "prep-deno";
export const prolog = () => console.log(import.meta.resolve("prep-deno"), Object.keys(helpers).sort().join(","));`,
        { permissions: {}, warm: { mode } },
      );
      const o = await s.plugin.runHooks(s.cfg(), [hook], warmEnv(6));
      assert.equal(o.fallback, undefined);
      assert.equal(o.exitCode, 0, text(o));
      assert.equal(text(o), `file://${TOP}/build/mod.js ${source}`);
    }
  },
});

Deno.test("imports: an unknown name fails the hook, naming it and where to define it", async () => {
  const dir = tempDir();
  try {
    const code = `import { x } from "no-such-name";\nexport const prolog = () => console.log(x);\n`;
    const bare = writeFiles(join(dir, "bare"), { "hook.ts": code });
    const withPolicy = writeFiles(join(dir, "policy"), {
      "hook.ts": code,
      "deno.json": JSON.stringify({ permissions: {}, imports: { other: "./x.ts" } }),
    });
    const noPolicy = await prepDeno(["run", bare], env);
    assert.equal(noPolicy.code, 1);
    assert.match(
      noPolicy.stderr,
      /imports "no-such-name", a name no import map defines \(at file:\/\/\S+hook\.ts:1:\d+\): add it to the "imports" of a deno\.json beside the module/,
    );
    // Not Deno's hint, which is no fix for a hook.
    assert.doesNotMatch(noPolicy.stderr, /deno add/);
    const tried = await prepDeno(["try", withPolicy]);
    assert.equal(tryStatus(tried), 1);
    assert.match(
      tried.stderr,
      new RegExp(`imports "no-such-name", .* add it to the "imports" of ${dir}/policy/deno\\.json`),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name: 'imports: "prep-deno" and the policy\'s names work in the warm service',
  ...warmOpts,
  async fn() {
    await using s = await startService();
    const hook = s.hook("helpers", USES_HELPERS, {
      permissions: {},
      imports: { "site-util": "./util.ts" },
    });
    Deno.writeTextFileSync(join(s.dir, "helpers", "util.ts"), `export const site = "warm";\n`);
    const o = await s.plugin.runHooks(s.cfg(), [hook], warmEnv(4));
    assert.equal(o.fallback, undefined);
    assert.equal(o.exitCode, 0, text(o));
    assert.equal(text(o), "warm n1,n2,n3 /o/4.out");
    const unknown = s.hook("unknown", `import "no-such-name";\nexport default () => {};\n`);
    const u = await s.plugin.runHooks(s.cfg(), [unknown], warmEnv(5));
    assert.equal(u.exitCode, 1);
    assert.match(text(u), /imports "no-such-name", a name no import map defines/);
  },
});

/** A root-only secret, and a hooks folder beside it. */
function secretAndFolder(): { dir: string; secret: string; line: string } {
  const dir = tempDir();
  const line = `SECRET-${crypto.randomUUID()}`;
  Deno.mkdirSync(join(dir, "private"), { mode: 0o700 });
  const secret = join(dir, "private", "key");
  // A first line that is a syntax error, as a real key file would be.
  Deno.writeTextFileSync(secret, `${line} = @@@ not code\n`, { mode: 0o600 });
  return { dir, secret, line };
}

Deno.test("imports: a module that is a link out of its folder is refused by run, try and check, never read", async () => {
  const { dir, secret, line } = secretAndFolder();
  try {
    for (const policy of [false, true]) {
      const hooks = join(dir, policy ? "with-policy" : "no-policy");
      Deno.mkdirSync(hooks);
      if (policy) {
        Deno.writeTextFileSync(join(hooks, "deno.json"), JSON.stringify({ permissions: {} }));
      }
      const link = join(hooks, "prolog.ts");
      Deno.symlinkSync(secret, link);
      const why = new RegExp(
        `${link} is a symbolic link to ${secret}, outside (its own folder|the folder of its policy ${hooks}/deno\\.json) \\(${hooks}\\)`,
      );
      const run = await prepDeno(["run", link], env);
      assert.equal(run.code, 126, run.stderr);
      assert.match(run.stderr, why);
      const tried = await prepDeno(["try", link]);
      assert.equal(tryStatus(tried), 126);
      assert.match(tried.stderr, why);
      const check = await prepDeno(["check", link]);
      assert.notEqual(check.code, 0);
      assert.match(check.stderr, why);
      for (const r of [run, tried, check]) {
        assert.ok(!(r.stdout + r.stderr).includes(line), r.stdout + r.stderr);
      }
    }
    // A link inside its own folder is the module it names.
    const inside = join(dir, "inside");
    writeFiles(inside, { "v2.ts": `export const prolog = () => console.log("v2");\n` });
    Deno.symlinkSync("v2.ts", join(inside, "prolog.ts"));
    const ok = await prepDeno(["run", join(inside, "prolog.ts")], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "v2\n");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("imports: a module replaced by a link out of its folder after a run is refused on the next", async () => {
  const { dir, secret, line } = secretAndFolder();
  try {
    const hook = writeFiles(join(dir, "hooks"), {
      "prolog.ts": `export const prolog = () => console.log("mine");\n`,
    });
    assert.equal((await prepDeno(["run", hook], env)).stdout, "mine\n"); // plan cached
    Deno.removeSync(hook);
    Deno.symlinkSync(secret, hook);
    const r = await prepDeno(["run", hook], env);
    assert.equal(r.code, 126, r.stderr);
    assert.ok(!(r.stdout + r.stderr).includes(line), r.stderr);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name: "imports: the warm service refuses a module that is a link out of its folder",
  ...warmOpts,
  async fn() {
    await using s = await startService();
    const { dir, secret, line } = secretAndFolder();
    try {
      Deno.mkdirSync(join(s.dir, "linked"));
      const link = join(s.dir, "linked", "hook.ts");
      Deno.symlinkSync(secret, link);
      const o = await s.plugin.runHooks(s.cfg(), [link], warmEnv(6));
      assert.equal(o.exitCode, 126);
      assert.match(text(o) + s.log(), new RegExp(`${link} is a symbolic link to ${secret}`));
      assert.ok(!(text(o) + s.log()).includes(line));
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

// The runner's source beyond its helpers stays out of a hook's reach.
Deno.test('imports: "prep-deno" grants nothing of the runner but its helper modules', async () => {
  const dir = tempDir();
  try {
    const hook = writeFiles(dir, {
      "hook.ts": `export const prolog = async () => {
  try { await import(${JSON.stringify(`file://${TOP}/src/cli/init.ts`)}); console.log("loaded"); }
  catch (e) { console.log((e as Error).name); }
};`,
    });
    const r = await prepDeno(["run", hook], env);
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual(r.stdout, "loaded\n");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test('imports: the run-time "prep-deno" loads no node: module until a helper needs one', () => {
  // Deno's Node compatibility layer starts on the first node: import (~40 ms
  // of every run here): the helpers import none statically (the walk tool
  // does what node:fs's descriptors did).
  const bundle = Deno.readTextFileSync(join(TOP, "build", "mod.js"));
  assert.doesNotMatch(bundle, /^\s*(import|export)\b[^;]*\bfrom\s*["']node:/m);
});
