// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { prepDeno, writeFiles } from "./helpers.ts";

Deno.test("cli: --help for each command", async () => {
  for (const cmd of ["run", "try", "check"]) {
    const r = await prepDeno([cmd, "--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`^Usage: prep-deno ${cmd} MODULE`));
  }
  const top = await prepDeno(["--help"]);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /run MODULE.*\n.*try MODULE.*\n.*check MODULE/);
});

Deno.test("cli: bad flags and arguments are usage errors (status 2) with a hint", async () => {
  const cases: [string[], RegExp][] = [
    [["try", "x.ts", "--bogus"], /try: unknown option --bogus; the options are --context, /],
    [["try", "x.ts", "--timeout", "soon"], /--timeout=soon: not a number from 0 to 2147483/],
    [["try", "x.ts", "--context", "prologue"], /--context must be one of prolog_slurmctld/],
    [["try", "x.ts", "--env", "NOEQUALS"], /--env takes KEY=VALUE/],
    [["try"], /expected one MODULE, got 0/],
    [["try", "x.ts", "--job-id", "1e23"], /--job-id takes a whole number from 1 to 4294967294/],
    [["try", "x.ts", "--job-id", "99999999999999999999999"], /--job-id takes a whole number/],
    [["try", "x.ts", "--timeout", "2147484"], /--timeout=2147484: not a number from 0 to 2147483/],
    [["run", "x.ts", "--heap-mb", "0"], /--heap-mb=0: not a whole number from 32 to 1048576/],
    [["frobnicate"], /frobnicate: unknown command/],
  ];
  for (const [args, re] of cases) {
    const r = await prepDeno(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, re);
    assert.match(r.stderr, /see prep-deno \S+ --help/);
  }
});

Deno.test("cli: check type-checks, lists exports and each hook's permissions", async () => {
  const dir = Deno.makeTempDirSync();
  // A grant names a path of the node: check, like run, refuses a missing one.
  Deno.mkdirSync("/scratch", { recursive: true });
  try {
    const good = writeFiles(dir, {
      "good.ts":
        `import type { JobContext } from "${new URL("../src/mod.ts", import.meta.url).href}";\n` +
        `export function prolog(job: JobContext): number | void { if (job.id < 0) return 1; }\nexport default () => {};\n`,
      "bad.ts": `export function prolog(job: { id: string }) { return job.id; }\n`,
      "deno.json": JSON.stringify({
        permissions: { prolog: { read: ["/scratch"] }, default: { env: ["HOME"] } },
      }),
    });
    const ok = await prepDeno(["check", good]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /types: ok/);
    assert.match(ok.stdout, /exports: prolog, default|exports: default, prolog/);
    assert.match(
      ok.stdout,
      /prolog +export "prolog"; permissions: set "prolog" of \S+deno\.json: read=\/scratch/,
    );
    assert.match(ok.stdout, /epilog +default export; permissions: set "default" of \S+: env=HOME/);

    const bad = await prepDeno(["check", `${dir}/bad.ts`]);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /types: errors/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("cli: run refuses a context that is not one of Slurm's, inherited names included", async () => {
  for (const context of ["__proto__", "toString", "constructor", "prolog"]) {
    const r = await prepDeno(["run", "/nonexistent.ts"], { SLURM_SCRIPT_CONTEXT: context });
    assert.equal(r.code, 2, context);
    assert.match(r.stderr, new RegExp(`run: SLURM_SCRIPT_CONTEXT is "${context}"`));
  }
});

Deno.test("cli: a 200 KiB job environment reaches the hook whole", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const hook = writeFiles(dir, {
      "hook.ts":
        `export default (job) => { console.log(Object.keys(job.env).filter((k) => k.startsWith("BIG_")).length, job.env.BIG_199.length); };`,
    });
    const env: Record<string, string> = {
      SLURM_SCRIPT_CONTEXT: "prolog_slurmd",
      SLURM_JOB_ID: "9",
    };
    for (let i = 0; i < 200; i++) env[`BIG_${i}`] = "v".repeat(1024);
    const r = await prepDeno(["run", hook], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), "200 1024");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
