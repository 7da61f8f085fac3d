// SPDX-License-Identifier: GPL-2.0-or-later
// Each way a hook can end, through the real runner and sandbox.
import assert from "node:assert/strict";
import { tryHook, tryStatus } from "../helpers.ts";

Deno.test("outcome: returning nothing is success", async () => {
  const r = await tryHook(`export function prolog() { console.log("ran"); }`);
  assert.equal(tryStatus(r), 0);
  assert.match(r.stdout, /^ran$/m);
  assert.equal(r.code, 0);
});

Deno.test("outcome: an async hook returning an integer sets the exit status", async () => {
  const r = await tryHook(
    `export async function prolog() { await new Promise((r) => setTimeout(r, 10)); return 7; }`,
  );
  assert.equal(tryStatus(r), 7);
  assert.equal(r.code, 7);
});

Deno.test("outcome: the default export serves a hook without a named export", async () => {
  const r = await tryHook(`export default (job) => job.context === "epilog_slurmd" ? 3 : 9;`, {
    args: ["--context", "epilog_slurmd"],
  });
  assert.equal(tryStatus(r), 3);
});

Deno.test("outcome: a named export wins over the default", async () => {
  const r = await tryHook(`export default () => 9; export const epilogSlurmctld = () => 4;`, {
    args: ["--context", "epilog_slurmctld"],
  });
  assert.equal(tryStatus(r), 4);
});

for (
  const [value, shown] of [["256", "256"], ["-1", "-1"], ["1.5", "1.5"], ['"0"', '"0"'], [
    "NaN",
    "NaN",
  ], ["{}", "a value of type object"]]
) {
  Deno.test(`outcome: returning ${value} fails with status 1 and says why`, async () => {
    // Not a type test: what the run says when such a module runs anyway.
    const r = await tryHook(`export function prolog() { return ${value}; }`, { typecheck: "warn" });
    assert.equal(tryStatus(r), 1);
    assert.ok(r.stderr.includes(`returned ${shown}, which is not an exit status`), r.stderr);
  });
}

Deno.test("outcome: throwing an Error fails with 1 and the message on stderr", async () => {
  const r = await tryHook(`export function prolog() { throw new TypeError("no scratch space"); }`);
  assert.equal(tryStatus(r), 1);
  assert.match(r.stderr, /prep-deno: prolog \S+hook\.ts job 1: threw TypeError: no scratch space/);
});

Deno.test("outcome: throwing a non-Error value fails with 1 and shows the value", async () => {
  const r = await tryHook(`export async function prolog() { throw { code: 42 }; }`);
  assert.equal(tryStatus(r), 1);
  assert.match(r.stderr, /threw non-Error value: \{"code":42\}/);
});

Deno.test("outcome: a missing export names the file, the export wanted and what it has", async () => {
  const r = await tryHook(`export function epilog() {}\nexport const x = 1;`);
  assert.equal(tryStatus(r), 1);
  assert.match(
    r.stderr,
    /hook\.ts job 1: the module has no export "prolog" and no default export \(it exports: epilog, x\)/,
  );
});

Deno.test("outcome: a syntax error names the file and the line", async () => {
  const r = await tryHook(`export function prolog() {\n  return ((;\n}`);
  assert.equal(tryStatus(r), 1);
  assert.match(r.stderr, /cannot load the module: .*hook\.ts:2/s);
});

Deno.test("outcome: a failed import names the missing file", async () => {
  const r = await tryHook(
    `import { x } from "./missing.ts";\nexport function prolog() { return x; }`,
    {
      policy: {},
    },
  );
  assert.equal(tryStatus(r), 1);
  assert.match(r.stderr, /cannot load the module: .*missing\.ts/);
});

Deno.test("outcome: Deno.exit(n) inside the hook is exit status n", async () => {
  const r = await tryHook(`export function prolog() { Deno.exit(5); }`);
  assert.equal(tryStatus(r), 5);
  const zero = await tryHook(`export function prolog() { console.log("bye"); Deno.exit(0); }`);
  assert.equal(tryStatus(zero), 0);
});

Deno.test("outcome: a hook whose promise can never settle fails, never succeeds", async () => {
  for (
    const body of [
      "return new Promise<void>(() => {});",
      "self.close(); return new Promise<void>(() => {});",
    ]
  ) {
    const r = await tryHook(`export function prolog() { ${body} }`);
    assert.equal(tryStatus(r), 1, body);
    assert.match(r.stderr, /hook\.ts job 1: the hook's promise never settled and nothing was left/);
  }
});

Deno.test("outcome: a rejection the hook left floating fails it with 1 and names the error", async () => {
  const r = await tryHook(`export function prolog() { Promise.reject(new Error("lost")); }`);
  assert.equal(tryStatus(r), 1);
  assert.match(
    r.stderr,
    /hook\.ts job 1: a promise was rejected and nothing handled it: Error: lost/,
  );
  assert.doesNotMatch(r.stderr, /Uncaught/);
});

Deno.test("outcome: Deno.exitCode set by a hook that returns nothing is its status", async () => {
  const r = await tryHook(`export function prolog() { Deno.exitCode = 6; }`);
  assert.equal(tryStatus(r), 6);
  const bad = await tryHook(`export function prolog() { Deno.exitCode = 300; }`);
  assert.equal(tryStatus(bad), 1);
  assert.match(bad.stderr, /set Deno\.exitCode to 300, which is not an exit status/);
});

Deno.test("outcome: an error thrown later from a timer fails the hook with its message", async () => {
  const r = await tryHook(
    `export function prolog() { setTimeout(() => { throw new RangeError("later"); }, 1); return new Promise<void>((r) => setTimeout(r, 200)); }`,
  );
  assert.equal(tryStatus(r), 1);
  assert.match(r.stderr, /hook\.ts job 1: uncaught error: RangeError: later/);
});

Deno.test("outcome: a hook killed by a signal says so, with 128 + the signal", async () => {
  const r = await tryHook(`export function prolog() { Deno.kill(Deno.pid, "SIGKILL"); }`, {
    policy: { prolog: { run: true } },
  });
  assert.equal(tryStatus(r), 137);
  assert.match(
    r.stderr,
    /hook\.ts job 1: the hook's process was killed by signal 9 \(Killed\), not by the runner/,
  );
  const term = await tryHook(
    `export function prolog() { Deno.kill(Deno.pid, "SIGTERM"); return new Promise<void>(() => setInterval(() => {}, 1000)); }`,
    {
      policy: { prolog: { run: true } },
    },
  );
  assert.equal(tryStatus(term), 143);
  assert.match(term.stderr, /killed by signal 15 \(Terminated\), not by the runner/);
});

Deno.test("outcome: an import denial names the policy fix, not Deno's --allow flag", async () => {
  const r = await tryHook(`import "file:///etc/shadow";\nexport function prolog() {}`);
  assert.equal(tryStatus(r), 1);
  assert.match(
    r.stderr,
    /cannot load the module: permission denied: read access to "\/etc\/shadow"; to allow it, add it to the "read" list of permission set "prolog"/,
  );
  assert.doesNotMatch(r.stderr, /run again with/);
});

Deno.test("outcome: a missing module is 127, as prep/script's missing script", async () => {
  const { prepDeno } = await import("../helpers.ts");
  const r = await prepDeno(["try", "/nonexistent/prolog.ts"]);
  assert.equal(r.code, 127);
  assert.match(r.stderr, /\/nonexistent\/prolog\.ts job 1: the module does not exist/);
});
