// SPDX-License-Identifier: GPL-2.0-or-later
// Types checked before a hook runs: a module (or one of its local imports)
// that does not type-check does not run, on the spawn path (run), under
// try and in the warm service alike: status 126, the error's file:line and
// message in the log and the cause. "typecheck": "warn" runs it and logs
// the errors. The check is redone when an imported file changes.
import assert from "node:assert/strict";
import { join } from "node:path";
import { fakeJobEnv } from "../../src/job/slurm_vars.ts";
import { LAUNCHER } from "../../src/contract.ts";
import { hookOutput, PREP_DENO, prepDeno, tryStatus, writeFiles } from "../helpers.ts";
import { opts as warmOpts, startService } from "../warm/service.ts";

const env = fakeJobEnv("prolog_slurmd", { id: 31 });

/** The admin's typo of the issue: `job.partitoin` for `job.partition`. */
const TYPO = `import type { JobContext } from "prep-deno";
export function prolog(job: JobContext) {
  if (job.partitoin === "no-such-partition") return 1;
  console.log("ran", job.id);
}
`;

function tempDir(): string {
  return Deno.makeTempDirSync({ prefix: "prep-deno-typecheck-" });
}

const LINE =
  /hook\.ts:3:11: Property 'partitoin' does not exist on type 'JobContext'\. Did you mean 'partition'\? \(TS2551\)/;
const CAUSE = /^prep-deno: cause: type error: \S+hook\.ts:3: Property 'partitoin' does not exist/m;

Deno.test("typecheck: a type error refuses the run (spawn path and try) with file:line, 126", async () => {
  const dir = tempDir();
  try {
    const hook = writeFiles(dir, {
      "hook.ts": TYPO,
      "deno.json": JSON.stringify({ permissions: {} }),
    });
    const run = await prepDeno(["run", hook], env);
    assert.equal(run.code, 126, run.stderr);
    assert.equal(run.stdout, "", "the hook never ran");
    assert.match(run.stderr, LINE);
    assert.match(run.stderr, /does not type-check, so it does not run as prolog/);
    assert.match(run.stderr, CAUSE);
    const tried = await prepDeno(["try", hook, "--job-id", "8"]);
    assert.equal(tryStatus(tried), 126, tried.stdout);
    assert.match(hookOutput(tried), LINE);
    assert.doesNotMatch(hookOutput(tried), /^ran /m);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test('typecheck: "warn" runs the hook and logs the errors', async () => {
  const dir = tempDir();
  try {
    const hook = writeFiles(dir, {
      "hook.ts": TYPO,
      "deno.json": JSON.stringify({ permissions: {}, typecheck: "warn" }),
    });
    const run = await prepDeno(["run", hook], env);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "ran 31\n");
    assert.match(
      run.stderr,
      /does not type-check; run anyway \("typecheck": "warn" in \S+deno\.json\)/,
    );
    assert.match(run.stderr, LINE);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("typecheck: a local import is checked too, again when it changes", async () => {
  const dir = tempDir();
  try {
    const hook = writeFiles(dir, {
      "hook.ts": `import { limit } from "./lib/limit.ts";
export function prolog() { console.log("limit", limit); }
`,
      "lib/limit.ts": `export const limit: number = 4;\n`,
      "deno.json": JSON.stringify({ permissions: {} }),
    });
    const first = await prepDeno(["run", hook], env);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, "limit 4\n");
    // The plan is cached now; an edit of the imported file makes a new check.
    Deno.writeTextFileSync(join(dir, "lib/limit.ts"), `export const limit: number = "four";\n`);
    const broken = await prepDeno(["run", hook], env);
    assert.equal(broken.code, 126, broken.stderr);
    assert.match(
      broken.stderr,
      /lib\/limit\.ts:1:14: Type 'string' is not assignable to type 'number'\. \(TS2322\)/,
    );
    Deno.writeTextFileSync(join(dir, "lib/limit.ts"), `export const limit: number = 5;\n`);
    const fixed = await prepDeno(["run", hook], env);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.equal(fixed.stdout, "limit 5\n");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("typecheck: exports that do not fit the hooks' type refuse the run", async () => {
  const dir = tempDir();
  try {
    const hook = writeFiles(dir, { "hook.ts": `export const prolog = () => "0";\n` });
    const run = await prepDeno(["run", hook], env);
    assert.equal(run.code, 126, run.stderr);
    assert.match(
      run.stderr,
      /hook\.ts: its exports do not fit the hooks' type \(HookModule\): The types returned by 'prolog\(\.\.\.\)' are incompatible/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name:
    'typecheck: the warm service refuses a module that does not type-check, with file:line; "warn" runs it and logs once',
  ...warmOpts,
  async fn() {
    await using s = await startService();
    const bad = s.hook("typo", TYPO, { permissions: {} });
    const o = await s.run(bad, 41);
    assert.equal(o.fallback, undefined, o.output);
    assert.equal(o.exitCode, 126, o.output);
    // The runner's line in the daemon's log, and the record's cause (the drain reason).
    assert.match(o.log, LINE);
    assert.match(
      o.record?.cause ?? "",
      /^type error: \S+hook\.ts:3: Property 'partitoin' does not exist/,
    );
    assert.doesNotMatch(o.output, /^ran /m);
    // Fixed on disk: the next job runs warm.
    Deno.writeTextFileSync(bad, TYPO.replace("partitoin", "partition"));
    const ok = await s.run(bad, 42);
    assert.equal(ok.fallback, undefined, ok.output);
    assert.equal(ok.exitCode, 0, ok.output);
    assert.match(ok.output, /^ran 42$/m);
    // "warn": it runs warm, and the service logs the errors once per change.
    const warned = s.hook("warn", TYPO, { permissions: {}, typecheck: "warn" });
    for (const id of [43, 44]) {
      const w = await s.run(warned, id);
      assert.equal(w.fallback, undefined, w.output);
      assert.equal(w.exitCode, 0, w.log);
      assert.match(w.output, new RegExp(`^ran ${id}$`, "m"));
    }
    const logged = s.log().split("\n").filter((l) => /does not type-check; run anyway/.test(l));
    assert.equal(logged.length, 1, s.log());
    assert.match(s.log(), LINE);
  },
});

Deno.test("typecheck: a run killed mid-check leaves no check folder behind once another check runs", async () => {
  const runDir = LAUNCHER.RUN_DIR;
  const mine = () =>
    [...Deno.readDirSync(runDir)].map((e) => e.name).filter((n) => /^check-\d+-/.test(n));
  const dir = tempDir();
  try {
    const hook = writeFiles(dir, {
      "hook.ts": `export function prolog() {}\n`,
      "deno.json": JSON.stringify({ permissions: {} }),
    });
    const before = new Set(mine());
    // A first run of a new hook checks its types; kill it (as a hook's
    // timeout does) while its check folder exists.
    const child = new Deno.Command(PREP_DENO, {
      args: ["run", hook],
      env,
      stdout: "null",
      stderr: "null",
    }).spawn();
    let left: string[] = [];
    for (let i = 0; i < 400 && !left.length; i++) {
      await new Promise((r) => setTimeout(r, 10));
      left = mine().filter((n) => !before.has(n));
    }
    assert.ok(left.length, "the first run made a check folder");
    // The process that made the folder (its pid is in the name), killed
    // as a timeout kills it: its own cleanup never runs.
    for (const name of left) Deno.kill(Number(name.split("-")[1]), "SIGKILL");
    await child.status;
    assert.ok(left.every((n) => Deno.statSync(join(runDir, n)).isDirectory), "left behind");
    // Whatever the kill left, the next check (another hook) sweeps it.
    const other = writeFiles(join(dir, "other"), {
      "hook.ts": `export function prolog() {}\n`,
      "deno.json": JSON.stringify({ permissions: {} }),
    });
    const run = await prepDeno(["run", other], env);
    assert.equal(run.code, 0, run.stderr);
    for (const name of left) {
      assert.throws(() => Deno.statSync(join(runDir, name)), `${name} is still there`);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
