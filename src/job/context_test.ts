// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { buildJobContext, homeOf, JobEnvError } from "./context.ts";
import { fakeJobEnv, SCRIPT_CONTEXTS, varsFor } from "./slurm_vars.ts";
import type { JobContext, ScriptContext } from "../types.ts";

/** Parses a prep/script capture (`env | sort` after a header) into a record. */
function capture(name: string): Record<string, string> {
  const text = Deno.readTextFileSync(
    new URL(`../../tests/fixtures/prep-script-22.05.8/${name}.txt`, import.meta.url),
  );
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m && !["PWD", "SHLVL", "_"].includes(m[1])) env[m[1]] = m[2];
  }
  return env;
}

const CAPTURES: Record<ScriptContext, string> = {
  prolog_slurmd: "prolog",
  epilog_slurmd: "epilog",
  prolog_slurmctld: "prologctld",
  epilog_slurmctld: "epilogctld",
};

for (const context of SCRIPT_CONTEXTS) {
  Deno.test(`context ${context}: every variable prep/script 22.05.8 passed is in the table`, () => {
    const env = capture(CAPTURES[context]);
    const known = varsFor(context);
    for (const name of Object.keys(env)) {
      assert.ok(known.has(name), `${name} not in table for ${context}`);
    }
    for (const [name, presence] of known) {
      if (presence === "always") {
        assert.ok(name in env, `${name} is "always" but prep/script did not pass it`);
      }
    }
  });

  Deno.test(`context ${context}: the fake env of try has exactly the always-set variables`, () => {
    const fake = fakeJobEnv(context);
    const always = [...varsFor(context)].filter(([, p]) => p === "always").map(([n]) => n).sort();
    assert.deepEqual(Object.keys(fake).sort(), always);
    assert.equal(fake.SLURM_SCRIPT_CONTEXT, context);
  });
}

Deno.test("buildJobContext maps every field of a prolog_slurmd capture", () => {
  const job = buildJobContext(capture("prolog"));
  const expected: Partial<JobContext> = {
    context: "prolog_slurmd",
    hook: "prolog",
    id: 2,
    user: "root",
    uid: 0,
    gid: 0,
    partition: "debug",
    comment: "a comment",
    nodeName: "vm",
    nodes: "vm",
    numNodes: 1,
    cpusPerNode: "1",
    clusterName: "ceo",
    workDir: "/tmp",
    stdin: "/dev/null",
    stdout: "$CLUSTER_DIR/job-%j.out",
    restartCount: 0,
    account: undefined,
    exitCode: undefined,
    name: undefined,
  };
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(job[k as keyof JobContext], v, k);
  assert.deepEqual(job.hostnames, ["vm"]);
});

Deno.test("buildJobContext: epilog_slurmctld fields, (null) account is undefined", () => {
  const job = buildJobContext(capture("epilogctld"));
  assert.equal(job.hook, "epilogSlurmctld");
  assert.equal(job.account, undefined);
  assert.equal(job.env.SLURM_JOB_ACCOUNT, "(null)");
  assert.equal(job.name, "my job 'q'");
  assert.equal(job.group, "root");
  assert.equal(job.nodes, "vm");
  assert.equal(job.exitCode, 0);
  assert.equal(job.signal, 0);
  assert.equal(job.waitStatus, 0);
  assert.equal(job.derivedExitCode, 0);
});

Deno.test("buildJobContext: exit code, signal, arrays, het jobs, hostlists", () => {
  const job = buildJobContext({
    SLURM_SCRIPT_CONTEXT: "epilog_slurmctld",
    SLURM_JOB_ID: "17",
    SLURM_JOB_EXIT_CODE2: "0:9",
    SLURM_JOB_EXIT_CODE: "9",
    SLURM_JOB_DERIVED_EC: "256",
    SLURM_ARRAY_JOB_ID: "15",
    SLURM_ARRAY_TASK_ID: "2",
    SLURM_PACK_JOB_ID: "30",
    SLURM_HET_JOB_OFFSET: "1",
    SLURM_JOB_NODELIST: "n[1-2,5]",
    SLURM_JOB_ACCOUNT: "physics",
    SLURM_JOB_CONSTRAINTS: "a100&ib",
  });
  assert.equal(job.exitCode, 0);
  assert.equal(job.signal, 9);
  assert.equal(job.waitStatus, 9);
  assert.equal(job.derivedExitCode, 256);
  assert.equal(job.arrayJobId, 15);
  assert.equal(job.arrayTaskId, 2);
  assert.equal(job.hetJobId, 30);
  assert.equal(job.hetJobOffset, 1);
  assert.deepEqual(job.hostnames, ["n1", "n2", "n5"]);
  assert.equal(job.account, "physics");
  assert.equal(job.constraints, "a100&ib");
  assert.ok(Object.isFrozen(job));
});

Deno.test("buildJobContext: not a hook environment is a clear error", () => {
  assert.throws(() => buildJobContext({}), JobEnvError);
  assert.throws(
    () => buildJobContext({ SLURM_SCRIPT_CONTEXT: "bogus", SLURM_JOB_ID: "1" }),
    /not one of/,
  );
  assert.throws(() => buildJobContext({ SLURM_SCRIPT_CONTEXT: "prolog_slurmd" }), /not a job id/);
});

Deno.test("buildJobContext: SLURM_JOB_GPUS as a list; the home folder from passwd", () => {
  const job = buildJobContext({
    SLURM_SCRIPT_CONTEXT: "prolog_slurmd",
    SLURM_JOB_ID: "5",
    SLURM_JOB_GPUS: "0,2",
    SLURM_JOB_USER: "root",
  });
  assert.deepEqual(job.gpus, ["0", "2"]);
  assert.equal(job.home, "/root");
  assert.deepEqual(
    buildJobContext({ SLURM_SCRIPT_CONTEXT: "prolog_slurmd", SLURM_JOB_ID: "5" }).gpus,
    [],
  );
  const passwd = "alice:x:1000:1000::/home/alice:/bin/bash\nbob:x:1001:1001::/h/bob:/bin/sh\n";
  assert.equal(homeOf("bob", undefined, passwd), "/h/bob");
  assert.equal(homeOf(undefined, 1000, passwd), "/home/alice");
  assert.equal(homeOf("carol", 7, passwd), undefined);
});
