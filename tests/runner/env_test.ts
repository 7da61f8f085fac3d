// SPDX-License-Identifier: GPL-2.0-or-later
// The job environment reaches the hook unchanged, and run and try agree.
import assert from "node:assert/strict";
import { join } from "node:path";
import { fakeJobEnv } from "../../src/job/slurm_vars.ts";
import { PREP_DENO, prepDeno, writeFiles } from "../helpers.ts";

const PRINT_ENV =
  `export default (job) => { console.log(JSON.stringify({ context: job.context, id: job.id, comment: job.comment, name: job.name, env: job.env })); return job.id % 256; };`;

function withModule(fn: (path: string, dir: string) => Promise<void>) {
  return async () => {
    const dir = Deno.makeTempDirSync();
    try {
      await fn(writeFiles(dir, { "hook.ts": PRINT_ENV }), dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

const TRICKY = {
  SLURM_JOB_COMMENT: "line one\nline two",
  SLURM_JOB_NAME: `my job 'q' "dq" $(touch /tmp/pwned) \`id\` ; rm -rf /`,
  SPANK_X: "=starts with equals=",
  EMPTY: "",
};

Deno.test(
  "env: newlines, quotes and $(...) reach the hook verbatim through run",
  withModule(async (path) => {
    const env = fakeJobEnv("prolog_slurmctld", { id: 300 }, TRICKY);
    const r = await prepDeno(["run", path], env);
    assert.equal(r.code, 300 % 256, r.stderr);
    const got = JSON.parse(r.stdout);
    assert.equal(got.comment, TRICKY.SLURM_JOB_COMMENT);
    assert.equal(got.name, TRICKY.SLURM_JOB_NAME);
    for (const [k, v] of Object.entries(TRICKY)) assert.equal(got.env[k], v, k);
    // Nothing the runner adds for itself leaks into the hook's env.
    assert.deepEqual(Object.keys(got.env).sort(), Object.keys(env).sort());
  }),
);

Deno.test(
  "env: a value that is not UTF-8 arrives with U+FFFD, the rest intact",
  withModule(async (path) => {
    const env = fakeJobEnv("prolog_slurmd", { id: 5 });
    const exports = Object.entries(env).map(([k, v]) => `${k}='${v.replaceAll("'", `'\\''`)}'`)
      .join(" ");
    const out = await new Deno.Command("/bin/bash", {
      args: [
        "-c",
        `export ${exports}; export BAD="$(printf 'a\\xffb')"; exec "$0" run "$1"`,
        PREP_DENO,
        path,
      ],
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin" },
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 5, new TextDecoder().decode(out.stderr));
    assert.equal(JSON.parse(stdout).env.BAD, "a\uFFFDb");
  }),
);

Deno.test(
  "env: run outside a Slurm hook environment is a usage error pointing at try",
  withModule(async (path) => {
    const r = await prepDeno(["run", path], {});
    assert.equal(r.code, 2);
    assert.match(r.stderr, /SLURM_SCRIPT_CONTEXT is not set.*prep-deno try/);
  }),
);

for (const context of ["prolog_slurmd", "epilog_slurmctld"] as const) {
  Deno.test(
    `env: try and run give the same result for the same environment (${context})`,
    withModule(async (path, dir) => {
      const env = fakeJobEnv(context, { id: 42, node: Deno.hostname() }, TRICKY);
      const viaRun = await prepDeno(["run", path], env);
      // try gets the same variables from an env file; newlines cannot be in
      // one, so that variable goes by --env.
      const { SLURM_JOB_COMMENT, ...rest } = env;
      const file = join(dir, "job.env");
      Deno.writeTextFileSync(
        file,
        Object.entries(rest).map(([k, v]) => `${k}=${v}`).join("\n"),
      );
      const viaTry = await prepDeno([
        "try",
        path,
        "--context",
        context,
        "--job-id",
        "42",
        "--env-file",
        file,
        "--env",
        `SLURM_JOB_COMMENT=${SLURM_JOB_COMMENT}`,
      ], {});
      assert.equal(viaRun.code, 42);
      assert.match(viaTry.stdout, /^exit status: 42/m);
      const tryJson = viaTry.stdout.split("\n").find((l) => l.startsWith("{"));
      assert.deepEqual(JSON.parse(tryJson!), JSON.parse(viaRun.stdout));
    }),
  );
}
