// SPDX-License-Identifier: GPL-2.0-or-later
// The environment tables per release (prep-script-spec.md §3, Appendix A),
// and their agreement with the contract the C plugin builds from.
import assert from "node:assert/strict";
import { CRED_VARS } from "../contract.ts";
import { compareRelease, fakeJobEnv, SLURM_VARS, varsFor } from "./slurm_vars.ts";

Deno.test("slurm_vars: every credential variable of the C plugin has a slurmd row", () => {
  const slurmd = new Set(SLURM_VARS.filter((v) => v.slurmd).map((v) => v.name));
  assert.deepEqual(CRED_VARS.filter((v) => !slurmd.has(v)), []);
});

Deno.test("slurm_vars: the version table, row by row", () => {
  const has = (ctx: Parameters<typeof varsFor>[0], rel: Parameters<typeof varsFor>[1], v: string) =>
    varsFor(ctx, rel).has(v);
  // 25.11: SLURM_JOB_SLUID and SLURM_JOB_SELINUX_CONTEXT on both sides.
  for (const v of ["SLURM_JOB_SLUID", "SLURM_JOB_SELINUX_CONTEXT"]) {
    assert.equal(has("prolog_slurmd", "24.11", v), false, v);
    assert.equal(has("prolog_slurmd", "25.11", v), true, v);
    assert.equal(has("epilog_slurmctld", "25.11", v), true, v);
  }
  // SLURM_JOB_QOS: slurmctld from 25.11, slurmd from 26.05.
  assert.equal(has("prolog_slurmctld", "25.11", "SLURM_JOB_QOS"), true);
  assert.equal(has("prolog_slurmd", "25.11", "SLURM_JOB_QOS"), false);
  assert.equal(has("prolog_slurmd", "26.05", "SLURM_JOB_QOS"), true);
  // SLURM_JOB_EXCLUSIVE: 26.05, always.
  assert.equal(varsFor("epilog_slurmd", "26.05").get("SLURM_JOB_EXCLUSIVE"), "always");
  assert.equal(has("epilog_slurmd", "25.11", "SLURM_JOB_EXCLUSIVE"), false);
  // 23.02: the credential's job details on the slurmd side.
  for (
    const v of [
      "SLURM_JOB_CORE_SPEC_COUNT",
      "SLURM_JOB_CORE_SPEC_TYPE",
      "SLURM_JOB_START_TIME",
      "SLURM_JOB_END_TIME",
      "SLURM_JOB_EXTRA",
      "SLURM_JOB_OVERSUBSCRIBE",
      "SLURM_JOB_LICENSES",
    ]
  ) {
    assert.equal(has("prolog_slurmd", "22.05", v), false, v);
    assert.equal(has("prolog_slurmd", "23.02", v), true, v);
  }
  // 23.02.6: SLURM_JOB_NODELIST on the slurmd side; ≤23.02: SLURM_NODE_ALIASES.
  assert.equal(has("prolog_slurmd", "23.02.5", "SLURM_JOB_NODELIST"), false);
  assert.equal(has("prolog_slurmd", "23.02.6", "SLURM_JOB_NODELIST"), true);
  assert.equal(has("prolog_slurmd", "23.02", "SLURM_NODE_ALIASES"), true);
  assert.equal(has("prolog_slurmd", "23.11", "SLURM_NODE_ALIASES"), false);
  // Never on the slurmd side (spec §3.1).
  for (const v of ["SLURM_JOB_NAME", "SLURM_JOB_GROUP", "SLURM_WCKEY", "SLURM_ARRAY_JOB_ID"]) {
    assert.equal(has("prolog_slurmd", "26.05", v), false, v);
  }
  // Never on the slurmctld side (spec §3.2).
  for (const v of ["SLURMD_NODENAME", "SLURM_CONF", "SLURM_UID", "SLURM_NODELIST"]) {
    assert.equal(has("prolog_slurmctld", "26.05", v), false, v);
  }
});

Deno.test("slurm_vars: 22.05 is the default; a release's fake env has its always-set rows", () => {
  assert.deepEqual(
    Object.keys(fakeJobEnv("prolog_slurmd")).sort(),
    Object.keys(fakeJobEnv("prolog_slurmd", {}, {}, "22.05")).sort(),
  );
  const env = fakeJobEnv("prolog_slurmd", {}, {}, "26.05");
  assert.equal(env.SLURM_JOB_EXCLUSIVE, "NO");
  assert.equal(env.SLURM_JOB_CORE_SPEC_TYPE, "cores");
  assert.ok(compareRelease("23.02.6", "23.02") > 0);
  assert.equal(compareRelease("25.11", "25.11.0"), 0);
});
