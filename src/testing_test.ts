// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { callHook, fakeJob, fakeJobEnv } from "./testing.ts";
import { fakeJobEnv as slurmFakeEnv, varsFor } from "./job/slurm_vars.ts";

Deno.test("testing: a hook name or its context gives the same fake job", () => {
  assert.deepEqual(fakeJobEnv("epilog"), fakeJobEnv("epilog_slurmd"));
  assert.equal(fakeJob("prologSlurmctld").context, "prolog_slurmctld");
  assert.throws(() => fakeJobEnv("Prolog" as "prolog"), /"Prolog" is not a hook/);
});

Deno.test("testing: the default job is root's job 1, with every always-set variable", () => {
  for (const hook of ["prolog", "epilog", "prologSlurmctld", "epilogSlurmctld"] as const) {
    const env = fakeJobEnv(hook);
    const job = fakeJob(hook);
    assert.equal(job.id, 1);
    assert.equal(job.user, "root");
    assert.equal(job.uid, 0);
    assert.equal(job.gid, 0);
    const always = [...varsFor(job.context)].filter(([, p]) => p === "always").map(([n]) => n);
    assert.deepEqual(Object.keys(env).sort(), always.sort());
    assert.deepEqual(env, slurmFakeEnv(job.context), "the one builder try uses too");
  }
});

Deno.test("testing: a user's ids and group are consistent; overrides win", () => {
  const job = fakeJob("prologSlurmctld", { user: "alice", env: { SLURM_JOB_PARTITION: "gpu" } });
  assert.deepEqual([job.user, job.uid, job.gid, job.group], ["alice", 1000, 1000, "alice"]);
  assert.equal(job.partition, "gpu");
  const ids = fakeJob("prologSlurmctld", { user: "bob", uid: 1234, gid: 100, group: "users" });
  assert.deepEqual([ids.uid, ids.gid, ids.group], [1234, 100, "users"]);
  assert.equal(fakeJob("epilog", { id: 99, node: "n7" }).hostnames[0], "n7");
  for (const id of [0.5, -1, NaN, 2 ** 33]) {
    assert.throws(() => fakeJobEnv("prolog", { id }), /id must be an integer/);
  }
});

Deno.test("testing: callHook gives the runner's status for each way a hook ends", async () => {
  const cases: [Record<string, unknown>, number, RegExp?][] = [
    [{ prolog: () => {} }, 0],
    [{ prolog: () => Promise.resolve(7) }, 7],
    [{ default: () => 3 }, 3],
    [{ prolog: () => 2, default: () => 9 }, 2],
    [{ prolog: () => 256 }, 1, /returned 256, which is not an exit status/],
    [{ prolog: () => "0" }, 1, /returned "0"/],
    [
      {
        prolog: () => {
          throw new Error("no scratch");
        },
      },
      1,
      /^threw Error: no scratch$/,
    ],
    [{ prolog: () => Deno.exit(5) }, 5],
    [{ prolog: () => Deno.exit(300) }, 1, /Deno\.exit\(300\)/],
  ];
  for (const [mod, status, reason] of cases) {
    const r = await callHook(mod, "prolog");
    assert.equal(r.status, status, String(mod.prolog ?? mod.default));
    if (reason) assert.match(r.reason ?? "", reason);
  }
  assert.equal(typeof Deno.exit, "function");
  await assert.rejects(callHook({ epilog: () => {} }, "prolog"), /no export "prolog"/);
  const thrown = await callHook(
    { prolog: () => Promise.reject(new Error("gpu 1 lost\nat x")) },
    "prolog",
  );
  assert.deepEqual([thrown.kind, thrown.cause], ["threw", "gpu 1 lost"]);
});

Deno.test("testing: callHook passes the fake job, or the one given", async () => {
  let seen: unknown;
  const r = await callHook({ epilog: (j: unknown) => void (seen = j) }, "epilog", {
    env: { SLURM_JOB_EXIT_CODE2: "1:9" },
  });
  assert.equal(r.status, 0);
  assert.equal((seen as { exitCode: number }).exitCode, 1);
  assert.equal((seen as { signal: number }).signal, 9);
  const job = fakeJob("epilog", { id: 4 });
  await callHook({ epilog: (j: unknown) => void (seen = j) }, "epilog", { job });
  assert.equal(seen, job);
});

Deno.test("testing: Deno.env answers from the job's environment during the call, as in the runner", async () => {
  let seen: unknown;
  const before = Deno.env.get("SLURM_JOB_ID");
  const r = await callHook(
    {
      prolog: () => {
        seen = [
          Deno.env.get("SLURM_JOB_ID"),
          Deno.env.get("CUDA_VISIBLE_DEVICES"),
          Deno.env.get("HOME"),
        ];
      },
    },
    "prolog",
    { id: 12, env: { CUDA_VISIBLE_DEVICES: "0" } },
  );
  assert.equal(r.status, 0, r.reason);
  assert.deepEqual(seen, ["12", "0", undefined]);
  assert.equal(Deno.env.get("SLURM_JOB_ID"), before, "restored after the call");
  assert.ok(Deno.env.get("PATH"));
});
