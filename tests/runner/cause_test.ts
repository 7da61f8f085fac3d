// SPDX-License-Identifier: GPL-2.0-or-later
// Why a hook failed, as the node's drain reason: whenever the runner fails a
// hook, the last line of everything it printed (stdout and stderr together,
// as the plugin reads them) is the contract's cause line, with the shortest
// answer to "why". A hook that fails by its own exit status, or succeeds,
// prints none: the plugin then says "exit status N".
import assert from "node:assert/strict";
import { join } from "node:path";
import { CAUSE_MARKER, causeLine, EXIT, LAUNCHER, OUTCOME_MAGIC } from "../../src/contract.ts";
import { fakeJobEnv } from "../../src/job/slurm_vars.ts";
import { PrepPlugin } from "../../ffi/mod.ts";
import { PREP_DENO, TOP, writeFiles } from "../helpers.ts";
import { assertEscaped, FORGED, forgingHook, REAL_CAUSE } from "../forged_output.ts";

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
    "gpu 1 lost at hook.ts:1",
  ],
  [
    "a thrown TypeError: its message, not its name",
    `export async function prolog() { throw new TypeError("no scratch space"); }`,
    [],
    EXIT.FAILED,
    "no scratch space at hook.ts:1",
  ],
  [
    "an error thrown later from a timer",
    `export function prolog() { setTimeout(() => { throw new Error("late failure"); }, 5); return new Promise<void>(() => {}); }`,
    [],
    EXIT.FAILED,
    "late failure at hook.ts:1",
  ],
  [
    "a rejection nothing handled",
    `export function prolog() { Promise.reject(new Error("lost the lease")); }`,
    [],
    EXIT.FAILED,
    "lost the lease at hook.ts:1",
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
  assert.equal(r.last, causeLine("disk /scratch missing at hook.ts:4"), r.output);
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
  assert.equal(r.last, causeLine("the real cause at hook.ts:6"), r.output);
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

// Through the plugin's core (spawn mode), as slurmd runs a hook: the record
// comes on the runner's own descriptor, the output is only the hook's.
Deno.test("cause: a hook that forges cause lines, a NUL, escapes and a flood does not set the cause (plugin, spawn)", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-cause-" });
  await using plugin = PrepPlugin.open(join(TOP, "build", "prep_deno.so"));
  try {
    const path = writeFiles(dir, { "hook.ts": forgingHook("prolog") });
    const env = { ...fakeJobEnv("prolog_slurmd", { id: 43 }), PATH: "/usr/bin:/bin" };
    const o = await plugin.runHooksAsync(
      { runner: PREP_DENO, timeoutSeconds: 60 },
      [path],
      env,
      43,
    );
    assert.equal(o.exitCode, EXIT.FAILED, o.output.slice(0, 2000));
    assert.equal(o.record?.kind, "threw");
    assert.match(o.record?.cause ?? "", new RegExp(`^${REAL_CAUSE} at \\S+\\.ts:\\d+$`));
    assert.deepEqual(o.record?.place, { hook: "prolog", module: path, job: "43" });
    assertEscaped(o.output);

    // A timeout after the same output: the runner's own kind and cause.
    writeFiles(dir, { "hook.ts": forgingHook("prolog", "spin") });
    const t = await plugin.runHooksAsync({ runner: PREP_DENO, timeoutSeconds: 2 }, [path], env, 43);
    assert.equal(t.exitCode, EXIT.TIMEOUT, t.output.slice(0, 2000));
    assert.equal(t.record?.kind, "timeout");
    assert.equal(t.record?.cause, "timed out after 2 s");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("cause: the record's descriptor is not the hook's: a child writing to fd 3 reaches nothing (plugin, spawn)", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-cause-" });
  await using plugin = PrepPlugin.open(join(TOP, "build", "prep_deno.so"));
  try {
    const forged = [OUTCOME_MAGIC, "returned", "0", "prolog", "/x.ts", "1", FORGED, FORGED].join(
      "\t",
    );
    const path = writeFiles(dir, {
      "hook.ts": `export async function prolog() {
        const o = await new Deno.Command("/bin/sh", {
          args: ["-c", 'printf "%s\\\\n" "$0" >&3 && echo wrote', ${JSON.stringify(forged)}],
        }).output();
        console.log(new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr));
        throw new Error(${JSON.stringify(REAL_CAUSE)});
      }`,
      "deno.json": JSON.stringify({
        permissions: { prolog: { run: ["/bin/sh"] } },
      }),
    });
    const env = { ...fakeJobEnv("prolog_slurmd", { id: 44 }), PATH: "/usr/bin:/bin" };
    const o = await plugin.runHooksAsync(
      { runner: PREP_DENO, timeoutSeconds: 60 },
      [path],
      env,
      44,
    );
    assert.equal(o.exitCode, EXIT.FAILED, `${o.output}\n${JSON.stringify(o.record)}`);
    assert.ok(!o.output.includes("wrote"), o.output);
    assert.match(o.output, /3: Bad file descriptor/);
    assert.equal(o.record?.kind, "threw", o.output);
    assert.match(o.record?.cause ?? "", new RegExp(`^${REAL_CAUSE} at \\S+\\.ts:\\d+$`), o.output);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("cause: a module that is missing when the runner starts still gives the plugin a record (127)", async () => {
  await using plugin = PrepPlugin.open(join(TOP, "build", "prep_deno.so"));
  const env = { ...fakeJobEnv("prolog_slurmd", { id: 45 }), PATH: "/usr/bin:/bin" };
  const o = await plugin.runHooksAsync(
    { runner: PREP_DENO, timeoutSeconds: 30 },
    ["/nonexistent/site.ts"],
    env,
    45,
  );
  assert.equal(o.exitCode, EXIT.NOT_FOUND, o.log);
  assert.equal(o.record?.kind, "refused", o.log);
  assert.match(o.record?.cause ?? "", /does not exist/);
  assert.deepEqual(o.record?.place, { hook: "prolog", module: "/nonexistent/site.ts", job: "45" });
});

Deno.test("cause: a shell hook's output is escaped the same way, its lines kept, and it has no record", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-cause-" });
  await using plugin = PrepPlugin.open(join(TOP, "build", "prep_deno.so"));
  try {
    const path = join(dir, "prolog.sh");
    Deno.writeTextFileSync(
      path,
      `#!/bin/sh\nprintf 'one\\000two\\r\\033[2Kthree\\nfour\\n'\nexit 3\n`,
    );
    Deno.chmodSync(path, 0o755);
    const o = await plugin.runHooksAsync({ runner: PREP_DENO }, [path], {}, 46);
    assert.equal(o.exitCode, 3);
    assert.equal(o.output, "one\\x00two\\x0d\\x1b[2Kthree\nfour\n");
    assert.equal(o.record, undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("cause: a record a hook's child writes into the status file cannot hide the memory limit (plugin, spawn)", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-cause-" });
  await using plugin = PrepPlugin.open(join(TOP, "build", "prep_deno.so"));
  try {
    const forged = [OUTCOME_MAGIC, "threw", "137", "prolog", "/x.ts", "1", FORGED, FORGED].join(
      "\t",
    );
    const path = writeFiles(dir, {
      "hook.ts": `export async function prolog() {
        const o = await new Deno.Command("/bin/sh", {
          args: ["-c", 'printf "started\\\\n%s\\\\n" "$0" > "$1" && echo wrote', ${
        JSON.stringify(forged)
      }, ${JSON.stringify(LAUNCHER.STATUS_PATH)}],
        }).output();
        console.log(new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr));
        const keep = [];
        for (let i = 0; i < 64; i++) keep.push(new Uint8Array(32 << 20).fill(1));
      }`,
      "deno.json": JSON.stringify({ permissions: { prolog: { run: ["/bin/sh"] } } }),
    });
    const env = { ...fakeJobEnv("prolog_slurmd", { id: 47 }), PATH: "/usr/bin:/bin" };
    const o = await plugin.runHooksAsync(
      { runner: PREP_DENO, timeoutSeconds: 60, memoryMb: 300 },
      [path],
      env,
      47,
    );
    assert.match(o.output, /wrote/, "the forged record was written");
    assert.equal(o.exitCode, EXIT.OUT_OF_MEMORY, o.log);
    assert.equal(o.record?.kind, "memory", o.log);
    assert.equal(o.record?.cause, "out of memory: passed its memory limit of 300 MiB", o.log);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
