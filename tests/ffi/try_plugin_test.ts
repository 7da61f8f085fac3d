// SPDX-License-Identifier: GPL-2.0-or-later
// `prep-deno try --plugin`: the hook through the real plugin code.
import assert from "node:assert/strict";
import { join } from "node:path";
import { prepDeno, TOP, writeFiles } from "../helpers.ts";

const SO = join(TOP, "build", "prep_deno.so");

async function withHook(code: string, fn: (path: string) => Promise<void>) {
  const dir = Deno.makeTempDirSync({ dir: "/var/tmp" });
  try {
    await fn(writeFiles(dir, { "hook.ts": code }));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("try --plugin: a failing Prolog goes through prep_p_prolog and logs as slurmd does", () =>
  withHook(
    `export const prolog = (job) => { console.log("saw", job.context, job.id, job.user, job.env.EXTRA); return 3; };`,
    async (hook) => {
      const r = await prepDeno([
        "try",
        hook,
        "--plugin",
        SO,
        "--job-id",
        "12",
        "--env",
        "EXTRA=x y",
      ]);
      assert.equal(r.code, 3);
      assert.match(r.stdout, /the daemon sees exit code 3/);
      // Slurm's own log line, from the plugin's code, with the hook's output.
      assert.match(r.stderr, /error: prolog failed: rc:3 output:saw prolog_slurmd 12 root x y/);
    },
  ));

Deno.test("try --plugin: an Epilog gets the job's exit status from the plugin's env builder", () =>
  withHook(
    `export const epilog = (job) => job.exitCode === 2 && job.env.SLURM_JOB_EXIT_CODE2 === "2:0" ? 0 : 1;`,
    async (hook) => {
      const r = await prepDeno([
        "try",
        hook,
        "--plugin",
        SO,
        "--context",
        "epilog_slurmd",
        "--env",
        "SLURM_JOB_EXIT_CODE=512",
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    },
  ));

Deno.test("try --plugin: slurmctld hooks go through the core, output and status come back", () =>
  withHook(
    `export const prologSlurmctld = (job) => { console.log("ctld", job.id, job.name); return 4; };`,
    async (hook) => {
      const r = await prepDeno([
        "try",
        hook,
        "--plugin",
        SO,
        "--context",
        "prolog_slurmctld",
        "--job-id",
        "9",
      ]);
      assert.equal(r.code, 4);
      assert.match(r.stdout, /^ctld 9 try$/m);
      assert.match(r.stdout, /the daemon sees exit code 4/);
    },
  ));
