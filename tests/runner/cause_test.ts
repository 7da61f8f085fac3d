// SPDX-License-Identifier: GPL-2.0-or-later
// Why a hook failed, as the node's drain reason: whenever the runner fails a
// hook, the last line of everything it printed (stdout and stderr together,
// as the plugin reads them) is the contract's cause line, with the shortest
// answer to "why". A hook that fails by its own exit status, or succeeds,
// prints none: the plugin then says "exit status N".
import assert from "node:assert/strict";
import { CAUSE_MARKER, causeLine, EXIT } from "../../src/contract.ts";
import { fakeJobEnv } from "../../src/slurm_vars.ts";
import { PREP_DENO, writeFiles } from "../helpers.ts";

/** `prep-deno run` of `files` (the first is the hook), its two streams as one, in order. */
async function runMerged(
  files: Record<string, string>,
  args: string[] = [],
): Promise<{ code: number; output: string; last: string; causes: string[] }> {
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-cause-" });
  try {
    const path = writeFiles(dir, files);
    const env = { ...fakeJobEnv("prolog_slurmd", { id: 41 }), PATH: "/usr/bin:/bin" };
    const out = await new Deno.Command("/bin/sh", {
      args: ["-c", 'exec "$0" run "$@" 2>&1', PREP_DENO, path, ...args],
      clearEnv: true,
      env,
      stdin: "null",
    }).output();
    const output = new TextDecoder().decode(out.stdout);
    const lines = output.split("\n").filter((l) => l !== "");
    return {
      code: out.code,
      output,
      last: lines.at(-1) ?? "",
      causes: lines.filter((l) => l.startsWith(CAUSE_MARKER)),
    };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("cause: causeLine keeps the first non-empty line, bounded", () => {
  assert.equal(causeLine("gpu 1 lost\n    at prolog (site.ts:3)"), `${CAUSE_MARKER}gpu 1 lost`);
  assert.equal(causeLine("\n  scratch full  \nmore"), `${CAUSE_MARKER}scratch full`);
  assert.equal(causeLine(""), `${CAUSE_MARKER}failed`);
  assert.ok(causeLine("x".repeat(1000)).length < 200);
});

const CASES: [string, string, string[], number, string | RegExp][] = [
  [
    "a thrown Error: its message alone",
    `export function prolog() { console.log("checking"); throw new Error("gpu 1 lost\\nsecond line"); }`,
    [],
    EXIT.FAILED,
    "gpu 1 lost",
  ],
  [
    "a thrown TypeError: its message, not its name",
    `export async function prolog() { throw new TypeError("no scratch space"); }`,
    [],
    EXIT.FAILED,
    "no scratch space",
  ],
  [
    "an error thrown later from a timer",
    `export function prolog() { setTimeout(() => { throw new Error("late failure"); }, 5); return new Promise<void>(() => {}); }`,
    [],
    EXIT.FAILED,
    "late failure",
  ],
  [
    "a rejection nothing handled",
    `export function prolog() { Promise.reject(new Error("lost the lease")); }`,
    [],
    EXIT.FAILED,
    "lost the lease",
  ],
  [
    "a bad Deno.exit: the runner's sentence",
    `export function prolog() { Deno.exit(300); }`,
    [],
    EXIT.FAILED,
    "called Deno.exit(300), which is not an exit status",
  ],
  [
    "a bad Deno.exitCode",
    `export function prolog() { Deno.exitCode = -2; }`,
    [],
    EXIT.FAILED,
    "set Deno.exitCode to -2, which is not an exit status",
  ],
  [
    "a bad return value",
    `export function prolog() { return "ok"; }`,
    [],
    EXIT.FAILED,
    /^returned "ok", which is not an exit status/,
  ],
  [
    "a missing export",
    `export function epilog() {}`,
    [],
    EXIT.FAILED,
    /^the module has no export "prolog"/,
  ],
  [
    "a denied permission: the denial",
    `export function prolog() { Deno.readTextFileSync("/etc/hostname"); }`,
    [],
    EXIT.FAILED,
    /read/,
  ],
  [
    "a timeout: the limit",
    `export function prolog() { console.log("spinning"); for (;;) {} }`,
    ["--timeout", "1"],
    EXIT.TIMEOUT,
    "timed out after 1 s",
  ],
  [
    "the heap limit: the memory message naming it",
    `export function prolog() { const a = []; for (;;) a.push(new Array(1e5).fill(1)); }`,
    ["--heap-mb", "64", "--timeout", "60"],
    EXIT.OUT_OF_MEMORY,
    "out of memory: passed its heap limit of 64 MiB",
  ],
  [
    "a kill by a signal from inside: the signal",
    `export function prolog() { Deno.kill(Deno.pid, "SIGKILL"); }`,
    [],
    128 + 9,
    /^killed by signal 9 \(Killed\)$/,
  ],
  [
    "a policy the runner refuses (126): the message's first line",
    `export function prolog() {}`,
    [],
    EXIT.SANDBOX,
    /deno\.json/,
  ],
];

for (const [what, code, args, status, cause] of CASES) {
  Deno.test(`cause: ${what}`, async () => {
    const files: Record<string, string> = { "hook.ts": code };
    if (what.includes("(126)")) files["deno.json"] = `{"permissions": {"prolog": {"bogus": 1}}}`;
    // Not a type test: what the run says when such a module runs anyway.
    if (what === "a bad return value") files["deno.json"] = `{"typecheck": "warn"}`;
    if (what.includes("signal")) {
      files["deno.json"] = JSON.stringify({ permissions: { prolog: { all: true } } });
    }
    const r = await runMerged(files, args);
    assert.equal(r.code, status, r.output);
    assert.ok(r.last.startsWith(CAUSE_MARKER), `the last line is not the cause:\n${r.output}`);
    const got = r.last.slice(CAUSE_MARKER.length);
    if (typeof cause === "string") assert.equal(got, cause, r.output);
    else assert.match(got, cause, r.output);
    assert.equal(r.causes.length, 1, r.output);
  });
}

Deno.test("cause: a missing module (127) says so in the cause", async () => {
  const env = { ...fakeJobEnv("prolog_slurmd", { id: 41 }), PATH: "/usr/bin:/bin" };
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", 'exec "$0" run /nonexistent/site.ts 2>&1', PREP_DENO],
    clearEnv: true,
    env,
    stdin: "null",
  }).output();
  const lines = new TextDecoder().decode(out.stdout).trimEnd().split("\n");
  assert.equal(out.code, EXIT.NOT_FOUND, lines.join("\n"));
  assert.ok(lines.at(-1)!.startsWith(CAUSE_MARKER), lines.join("\n"));
  assert.match(lines.at(-1)!, /site\.ts|not exist|not found/i);
});

Deno.test("cause: the hook's own cause line printed before the failure does not win", async () => {
  const r = await runMerged({
    "hook.ts": `export function prolog() {
      console.log(${JSON.stringify(CAUSE_MARKER)} + "all fine, nothing to see");
      console.error(${JSON.stringify(CAUSE_MARKER)} + "forged");
      throw new Error("disk /scratch missing");
    }`,
  });
  assert.equal(r.code, EXIT.FAILED, r.output);
  assert.equal(r.last, causeLine("disk /scratch missing"), r.output);
});

Deno.test("cause: a process the failing hook left behind cannot print a cause after the runner's", async () => {
  const r = await runMerged({
    "hook.ts": `export function prolog() {
      new Deno.Command("/bin/sh", {
        args: ["-c", "sleep 0.5; echo '${CAUSE_MARKER}forged by a child'"],
        stdout: "inherit",
      }).spawn();
      throw new Error("the real cause");
    }`,
    "deno.json": JSON.stringify({ permissions: { prolog: { run: ["/bin/sh"] } } }),
  });
  assert.equal(r.code, EXIT.FAILED, r.output);
  assert.equal(r.last, causeLine("the real cause"), r.output);
});

for (
  const [what, code] of [
    ["a non-zero status the hook returns", `export function prolog() { return 3; }`],
    ["Deno.exit(n) in the hook", `export function prolog() { Deno.exit(4); }`],
    ["success", `export function prolog() { console.log("ok"); }`],
  ]
) {
  Deno.test(`cause: ${what} prints no cause line`, async () => {
    const r = await runMerged({ "hook.ts": code });
    assert.deepEqual(r.causes, [], r.output);
  });
}
