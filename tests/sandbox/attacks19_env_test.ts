// SPDX-License-Identifier: GPL-2.0-or-later
// Issue 19, class 8, attacked by someone who did not write the filter: a
// hook reaching for a command with a loader variable through APIs other
// than the ones the filter wraps: node:child_process as
// process.getBuiltinModule() gives it when the hook never imported it, a
// Worker (its own Deno.Command), node:worker_threads, and the runtime's
// internal ops (Deno[Deno.internal].core.ops). Each way must be refused or
// leave the variable unseen by the command; the run-granted command must
// still run with the job's own values.
import assert from "node:assert/strict";
import { hookOutput, prepDeno, tryStatus, writeFiles } from "../helpers.ts";
import { opts, startService, text } from "../warm/service.ts";

const HOOK = `import { Worker as NamedNodeWorker } from "node:worker_threads";
import { createRequire } from "node:module";
export default async () => {
  const out = {};
  const seen = (s) => String(s).includes("GCONV_PATH=/tmp/evil") ? "LEAK" : "unseen";
  const tryWay = async (name, f) => {
    try { out[name] = seen(await f()); } catch (e) { out[name] = "refused"; }
  };
  await tryWay("builtin", () => process.getBuiltinModule("node:child_process")
    .spawnSync("/usr/bin/env", [], { env: { GCONV_PATH: "/tmp/evil" } }).stdout);
  await tryWay("builtinExec", () => process.getBuiltinModule("child_process")
    .execFileSync("/usr/bin/env", [], { env: { GCONV_PATH: "/tmp/evil" } }));
  const code = 'const o = await new Deno.Command("/usr/bin/env", { env: { GCONV_PATH: "/tmp/evil" } }).output();' +
    'postMessage(new TextDecoder().decode(o.stdout));';
  await tryWay("worker", () => new Promise((ok, no) => {
    const w = new Worker("data:text/javascript," + encodeURIComponent(code), { type: "module" });
    w.onmessage = (e) => { w.terminate(); ok(e.data); };
    w.onerror = (e) => { e.preventDefault(); w.terminate(); no(new Error(e.message)); };
  }));
  const viaWorker = (make) => new Promise((ok, no) => {
    const w = make("data:text/javascript," + encodeURIComponent(code));
    w.onmessage = (e) => { w.terminate(); ok(e.data); };
    w.onerror = (e) => { e.preventDefault(); w.terminate(); no(new Error(e.message)); };
  });
  // Asking for run outright, and the class reached around the wrapper.
  await tryWay("workerAsksRun", () => viaWorker((u) =>
    new Worker(u, { type: "module", deno: { permissions: { run: true } } })));
  await tryWay("workerAround", () => viaWorker((u) => {
    const Around = new Worker("data:text/javascript,", { type: "module" }).constructor;
    return new Around(u, { type: "module", deno: { permissions: "inherit" } });
  }));
  // A Worker that runs no command still works (hooks use them for threads).
  out.workerWorks = await viaWorker((u) => new Worker("data:text/javascript,postMessage(6*7)", { type: "module" }));
  await tryWay("namedNodeWorker", () => new Promise((ok, no) => {
    const w = new NamedNodeWorker('require("node:worker_threads").parentPort.postMessage(String(require("node:child_process").spawnSync("/usr/bin/env", [], { env: { GCONV_PATH: "/tmp/evil" } }).stdout))', { eval: true });
    w.on("message", (m) => { w.terminate(); ok(m); });
    w.on("error", no);
  }));
  // Around the class's check: a subclass cut from its prototype, another
  // new.target, a forged stack format, then a stack limit pinned at 0.
  const nodeEval = 'require("node:worker_threads").parentPort.postMessage(String(require("node:child_process").spawnSync("/usr/bin/env", [], { env: { GCONV_PATH: "/tmp/evil" } }).stdout))';
  const nodeWay = (make) => new Promise((ok, no) => {
    const w = make();
    w.on("message", (m) => { w.terminate(); ok(m); });
    w.on("error", no);
  });
  await tryWay("nodeWorkerSubclass", () => nodeWay(() => {
    class Z extends NamedNodeWorker {}
    Object.setPrototypeOf(Z.prototype, Object.prototype);
    return new Z(nodeEval, { eval: true });
  }));
  await tryWay("nodeWorkerReflect", () => nodeWay(() =>
    Reflect.construct(NamedNodeWorker, [nodeEval, { eval: true }], function Other() {})));
  Error.prepareStackTrace = () => [];
  await tryWay("nodeWorkerForgedStack", () => nodeWay(() => new NamedNodeWorker(nodeEval, { eval: true })));
  Error.prepareStackTrace = undefined;
  try { Object.defineProperty(Error, "stackTraceLimit", { value: 0, writable: false }); } catch {}
  await tryWay("nodeWorkerPinnedStack", () => nodeWay(() => new NamedNodeWorker(nodeEval, { eval: true })));
  // A module imported late, naming the module statically.
  await tryWay("lateStaticImport", async () => (await import("data:text/javascript," +
    encodeURIComponent("import { spawnSync } from 'node:child_process'; export default spawnSync;")))
    .default("/usr/bin/env", [], { env: { GCONV_PATH: "/tmp/evil" } }).stdout);
  await tryWay("requireChildProcess", () => createRequire(import.meta.url)("child_process")
    .spawnSync("/usr/bin/env", [], { env: { GCONV_PATH: "/tmp/evil" } }).stdout);
  await tryWay("workerThreads", () => new Promise((ok, no) => {
    const { Worker: W } = process.getBuiltinModule("node:worker_threads");
    const w = new W('require("node:worker_threads").parentPort.postMessage(String(require("node:child_process").spawnSync("/usr/bin/env", [], { env: { GCONV_PATH: "/tmp/evil" } }).stdout))', { eval: true });
    w.on("message", (m) => { w.terminate(); ok(m); });
    w.on("error", no);
  }));
  await tryWay("internal", () => {
    const ops = Deno[Deno.internal]?.core?.ops;
    if (!ops?.op_spawn_child) throw new Error("no ops");
    return "ops reachable: GCONV_PATH=/tmp/evil";
  });
  // A getter that answers the job's own value to the check, then its own:
  // the job's environment has TMPDIR (slurmd's, here as try's --env).
  const twoFaced = () => {
    let reads = 0;
    return Object.defineProperty({}, "TMPDIR", {
      enumerable: true,
      get: () => reads++ === 0 ? Deno.env.get("TMPDIR") : "/tmp/evil",
    });
  };
  const seenTmp = (s) => String(s).includes("TMPDIR=/tmp/evil") ? "LEAK" : "unseen";
  try {
    out.getterCommand = seenTmp(new TextDecoder().decode((await new Deno.Command("/usr/bin/env", { env: twoFaced() }).output()).stdout));
  } catch { out.getterCommand = "refused"; }
  try {
    out.getterNode = seenTmp(process.getBuiltinModule("node:child_process").spawnSync("/usr/bin/env", [], { env: twoFaced() }).stdout);
  } catch { out.getterNode = "refused"; }
  // A name with "=" in it: the command's environment reads it as GCONV_PATH.
  const seenEq = (s) => String(s).includes("GCONV_PATH=/tmp/evil") ? "LEAK" : "unseen";
  try {
    out.eqName = seenEq(new TextDecoder().decode((await new Deno.Command("/usr/bin/env", { env: { "GCONV_PATH=/tmp/evil": "x" } }).output()).stdout));
  } catch { out.eqName = "refused"; }
  try {
    out.eqNameNode = seenEq(process.getBuiltinModule("node:child_process").spawnSync("/usr/bin/env", [], { env: { "GCONV_PATH=/tmp/evil": "x" } }).stdout);
  } catch { out.eqNameNode = "refused"; }
  // A documented limit, not a hole the check closes: a run-granted program
  // that runs another with variables from its arguments (here env itself).
  out.reexec = seenEq(new TextDecoder().decode((await new Deno.Command("/usr/bin/env", { args: ["GCONV_PATH=/tmp/evil", "/usr/bin/env"] }).output()).stdout));
  const plain = new TextDecoder().decode((await new Deno.Command("/usr/bin/env", { env: { SAFE: "1" } }).output()).stdout);
  out.plain = plain.includes("SAFE=1");
  console.log(JSON.stringify(out));
};`;

const POLICY = {
  permissions: { default: { run: ["/usr/bin/env"], env: true } },
  typecheck: "warn",
};
const WAYS = [
  "builtin",
  "builtinExec",
  "worker",
  "workerAsksRun",
  "workerAround",
  "namedNodeWorker",
  "nodeWorkerSubclass",
  "nodeWorkerReflect",
  "nodeWorkerForgedStack",
  "nodeWorkerPinnedStack",
  "requireChildProcess",
  "lateStaticImport",
  "workerThreads",
  "internal",
];

function check(report: string): void {
  const got = JSON.parse(report.trim().split("\n").at(-1)!);
  for (const way of ["getterCommand", "getterNode", "eqName", "eqNameNode"]) {
    assert.notEqual(got[way], "LEAK", `${way}: ${JSON.stringify(got)}`);
  }
  for (const way of WAYS) assert.equal(got[way], "refused", `${way}: ${JSON.stringify(got)}`);
  assert.equal(got.workerWorks, 42);
  // docs/sandbox.md says so: `run` of such a program passes the check.
  assert.equal(got.reexec, "LEAK");
  assert.equal(got.plain, true);
}

Deno.test("attacks19 child env: no other API gives a command a loader variable", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-atk19-env-" });
  try {
    const hook = writeFiles(dir, {
      "hook.ts": "// @ts-nocheck: JavaScript, its types are not what this attack is about\n" + HOOK,
      "deno.json": JSON.stringify(POLICY),
    });
    const r = await prepDeno(["try", hook, "--env", "TMPDIR=/tmp/job-7"]);
    assert.equal(tryStatus(r), 0, r.stderr);
    check(hookOutput(r));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name: "attacks19 child env: nor in a warm host (both modes)",
  ...opts,
  async fn() {
    await using s = await startService();
    for (const mode of ["fresh", "reuse"]) {
      const path = s.hook(`atk19-env-${mode}`, "// @ts-nocheck\n" + HOOK, {
        ...POLICY,
        warm: { mode, hosts: 1 },
      });
      const o = await s.run(path, 1);
      assert.equal(o.exitCode, 0, o.output);
      check(text(o));
    }
  },
});
