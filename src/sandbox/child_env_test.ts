// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { checkChildEnv, isUnsafeChildVar, UNSAFE_CHILD_VARS, UnsafeChildEnv } from "./child_env.ts";

Deno.test("child env: glibc's unsafe list, every LD_/DYLD_/MALLOC_ name and bash functions are refused", () => {
  // glibc's sysdeps/generic/unsecvars.h, all of it.
  for (
    const name of [
      "GCONV_PATH",
      "GETCONF_DIR",
      "GLIBC_TUNABLES",
      "HOSTALIASES",
      "LD_AUDIT",
      "LD_DEBUG",
      "LD_DEBUG_OUTPUT",
      "LD_DYNAMIC_WEAK",
      "LD_HWCAP_MASK",
      "LD_LIBRARY_PATH",
      "LD_ORIGIN_PATH",
      "LD_PRELOAD",
      "LD_PROFILE",
      "LD_SHOW_AUXV",
      "LD_USE_LOAD_BIAS",
      "LOCALDOMAIN",
      "LOCPATH",
      "MALLOC_TRACE",
      "NIS_PATH",
      "NLSPATH",
      "RESOLV_HOST_CONF",
      "RES_OPTIONS",
      "TMPDIR",
      "TZDIR",
      "MALLOC_CHECK_",
      "BASH_FUNC_ls%%",
      "BASH_ENV",
      "ld_preload",
      " LD_PRELOAD",
    ]
  ) assert.ok(isUnsafeChildVar(name), name);
  for (const name of ["PATH", "HOME", "SLURM_JOB_ID", "LANG", "LC_ALL", "CUDA_VISIBLE_DEVICES"]) {
    assert.ok(!isUnsafeChildVar(name), name);
  }
  assert.ok(UNSAFE_CHILD_VARS.every(isUnsafeChildVar));
});

Deno.test("child env: a refused name passes only with the job's own value", () => {
  checkChildEnv({ PATH: "/bin", FOO: "1" }, {});
  checkChildEnv({ TMPDIR: "/tmp/job" }, { TMPDIR: "/tmp/job" });
  assert.throws(() => checkChildEnv({ TMPDIR: "/tmp/x" }, { TMPDIR: "/tmp/job" }), UnsafeChildEnv);
  assert.throws(
    () => checkChildEnv({ GCONV_PATH: "/tmp/x" }, {}),
    /a command a hook runs cannot be given GCONV_PATH/,
  );
});
