// SPDX-License-Identifier: GPL-2.0-or-later
// Commands a hook runs get no loader or search-path variable from the hook
// (glibc's unsafe list and the like, src/sandbox/child_env.ts), in spawn and warm
// mode: not through Deno.Command's env, not through Deno.env.set, not through
// the original Deno.Command reached from the wrapper. A variable the job's own
// environment has (what a shell prolog gets) still reaches them unchanged.
import assert from "node:assert/strict";
import { join } from "node:path";
import { hookOutput, prepDeno, tryStatus, writeFiles } from "../helpers.ts";
import { opts, startService, text } from "../warm/service.ts";

const NAMES = [
  "GCONV_PATH",
  "LD_PRELOAD",
  "LD_LIBRARY_PATH",
  "LOCPATH",
  "NLSPATH",
  "HOSTALIASES",
  "LOCALDOMAIN",
  "RES_OPTIONS",
  "RESOLV_HOST_CONF",
  "MALLOC_CHECK_",
  "TMPDIR",
  "TZDIR",
  "GLIBC_TUNABLES",
  "BASH_ENV",
  "BASH_FUNC_ls%%",
];

const HOOK = `import { execFileSync, spawnSync } from "node:child_process";
import cp from "node:child_process";
export default async () => {
  const names = ${JSON.stringify(NAMES)};
  const viaCommand = [], viaSet = [], viaNode = [];
  // node:child_process, named and default imports, and as require() gives it.
  const builtin = process.getBuiltinModule("node:child_process");
  const nodeWays = [
    (env) => spawnSync("/usr/bin/env", [], { env }),
    (env) => execFileSync("/usr/bin/env", { env }),
    (env) => cp.spawnSync("/usr/bin/env", { env }),
    (env) => builtin.execFileSync("/usr/bin/env", [], { env }),
  ];
  for (const way of nodeWays) {
    try {
      way({ GCONV_PATH: "/tmp/evil" });
    } catch (e) { if (/cannot be given/.test(e.message)) viaNode.push(true); }
  }
  const nodeOut = String(spawnSync("/usr/bin/env", [], { env: { SAFE: "1" } }).stdout);
  for (const n of names) {
    try {
      await new Deno.Command("/usr/bin/env", { env: { [n]: "/tmp/evil" } }).output();
    } catch (e) { if (/cannot be given/.test(e.message)) viaCommand.push(n); }
    try {
      Deno.env.set(n, "/tmp/evil");
    } catch (e) { if (/cannot be given/.test(e.message)) viaSet.push(n); }
  }
  // Around the wrapper: the class an instance names as its constructor.
  const Ctor = new Deno.Command("/usr/bin/env").constructor;
  let around = "refused";
  try {
    await new Ctor("/usr/bin/env", { env: { GCONV_PATH: "/tmp/evil" } }).output();
    around = "ran";
  } catch { /* refused */ }
  const env = async (extra) => new TextDecoder().decode(
    (await new Deno.Command("/usr/bin/env", { env: extra }).output()).stdout);
  const out = await env({ SAFE: "1" });
  const job = Deno.env.get("JOB_TMPDIR");
  const jobs = job ? await env({ TMPDIR: job }).catch((e) => e.message) : "TMPDIR=none in the job";
  console.log(JSON.stringify({
    viaCommand, viaSet, around, viaNode: viaNode.length, nodeSafe: nodeOut.includes("SAFE=1"),
    seen: names.filter((n) => out.includes(n + "=/tmp/evil")),
    safe: out.includes("SAFE=1"),
    jobTmpdir: /^TMPDIR=(.*)$/m.exec(jobs)?.[1] ?? jobs,
  }));
};`;
// The hook is JavaScript in a .ts file: its types are not what this test is about.
const POLICY = {
  permissions: { default: { run: ["/usr/bin/env"], env: true } },
  typecheck: "warn",
};

function check(report: string, jobTmpdir: string): void {
  const r = JSON.parse(report.trim().split("\n").at(-1)!);
  assert.deepEqual(r.viaCommand, NAMES);
  assert.deepEqual(r.viaSet, NAMES);
  assert.equal(r.around, "refused");
  assert.equal(r.viaNode, 4);
  assert.equal(r.nodeSafe, true);
  assert.deepEqual(r.seen, []);
  assert.equal(r.safe, true);
  assert.equal(r.jobTmpdir, jobTmpdir);
}

Deno.test("child env: a spawned hook cannot give its commands loader or search-path variables", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-childenv-" });
  try {
    const hook = writeFiles(dir, { "hook.ts": HOOK, "deno.json": JSON.stringify(POLICY) });
    // The job's own TMPDIR (as slurmd would pass it) reaches commands as it came.
    const r = await prepDeno([
      "try",
      hook,
      "--env",
      "TMPDIR=/tmp/job-7",
      "--env",
      "JOB_TMPDIR=/tmp/job-7",
    ]);
    assert.equal(tryStatus(r), 0, r.stderr);
    check(hookOutput(r), "/tmp/job-7");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

// A hook that reaches nothing of Node never starts Node's layer (~20-35 ms
// of a spawned hook): the check goes on Node's modules when the hook first
// reads the global process (a control, below), imports a shimmed module, or
// may load npm packages.
const NO_NODE_HOOK = `export default () => {
  const guarded = () => globalThis[Symbol.for("prep-deno.nodeGuarded")];
  const before = guarded();
  const pid = process.pid;
  console.log(JSON.stringify({ before, after: guarded(), pid: pid === Deno.pid }));
};`;

Deno.test("child env: a hook of no Node leaves Node unloaded; its first process read guards it", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-childenv-" });
  try {
    const hook = writeFiles(dir, { "hook.ts": NO_NODE_HOOK, "deno.json": JSON.stringify(POLICY) });
    const r = await prepDeno(["try", hook]);
    assert.equal(tryStatus(r), 0, r.stderr);
    const got = JSON.parse(hookOutput(r).trim().split("\n").at(-1)!);
    assert.deepEqual(got, { before: false, after: true, pid: true });
    // With npm packages allowed (their require() reaches Node with neither),
    // the check is on before the hook runs.
    const npm = writeFiles(join(dir, "npm"), {
      "hook.ts": NO_NODE_HOOK,
      "deno.json": JSON.stringify({
        ...POLICY,
        permissions: { default: { ...POLICY.permissions.default, import: ["registry.npmjs.org"] } },
      }),
    });
    const n = await prepDeno(["try", npm]);
    assert.equal(tryStatus(n), 0, n.stderr);
    const early = JSON.parse(hookOutput(n).trim().split("\n").at(-1)!);
    assert.deepEqual(early, { before: true, after: true, pid: true });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "child env: a warm hook cannot give its commands loader or search-path variables (both modes)",
  ...opts,
  async fn() {
    await using s = await startService();
    for (const mode of ["fresh", "reuse"]) {
      const path = s.hook(`childenv-${mode}`, HOOK, { ...POLICY, warm: { mode, hosts: 1 } });
      for (const id of [1, 2]) {
        const o = await s.run(path, id);
        assert.equal(o.exitCode, 0, o.output);
        assert.equal(o.fallback, undefined);
        // The fixture's job has no TMPDIR: the hook's is refused, none reaches.
        check(text(o), "none in the job");
      }
    }
  },
});
