// SPDX-License-Identifier: GPL-2.0-or-later
// The core's asynchronous lists as the slurmctld side uses them: several
// PrologSlurmctld entries (24.05+) run at once, as slurmscriptd runs them,
// with exactly one completion carrying the first failure in configured
// order; and a job's running PrologSlurmctld stopped by its kill tag.
import assert from "node:assert/strict";
import { join } from "node:path";
import { PrepPlugin } from "../../ffi/mod.ts";
import { PREP_DENO, TOP } from "../helpers.ts";

const SO = join(TOP, "build", "prep_deno.so");

function scripts(bodies: Record<string, string>): { dir: string; paths: string[] } {
  const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "prep-deno-conc-" });
  const paths = Object.entries(bodies).map(([name, body]) => {
    const path = join(dir, name);
    Deno.writeTextFileSync(path, `#!/bin/bash\n${body}\n`, { mode: 0o755 });
    Deno.chmodSync(path, 0o755);
    return path;
  });
  return { dir, paths };
}

const env = { SLURM_SCRIPT_CONTEXT: "prolog_slurmctld", SLURM_JOB_ID: "7" };

Deno.test("core: concurrent entries run at once, one completion, first failure in order", async () => {
  await using plugin = PrepPlugin.open(SO);
  const { dir, paths } = scripts({
    a: "sleep 1; echo a; exit 0",
    b: "sleep 1; echo b; exit 3",
    c: "sleep 1; echo c; exit 4",
  });
  try {
    const t0 = performance.now();
    const out = await plugin.runHooksAsync(
      { runner: PREP_DENO, timeoutSeconds: 20, concurrent: true },
      paths,
      env,
      7,
    );
    const took = performance.now() - t0;
    assert.ok(took < 2500, `took ${took} ms: not concurrent`);
    assert.equal(out.exitCode, 3);
    assert.equal(out.failedPath, paths[1]);
    assert.equal(out.output.trim(), "b");
    assert.equal(plugin.duplicateCallbacks, 0);
    // The same list in order (slurmd's way) stops at b and takes 2 s.
    const t1 = performance.now();
    const seq = await plugin.runHooksAsync(
      { runner: PREP_DENO, timeoutSeconds: 20 },
      paths,
      env,
      7,
    );
    assert.ok(performance.now() - t1 >= 1900);
    assert.equal(seq.failedPath, paths[1]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("core: all concurrent entries succeeding complete with status 0", async () => {
  await using plugin = PrepPlugin.open(SO);
  const { dir, paths } = scripts({ a: "exit 0", b: "echo last; exit 0" });
  try {
    const out = await plugin.runHooksAsync(
      { runner: PREP_DENO, concurrent: true },
      paths,
      env,
      8,
    );
    assert.equal(out.status, 0);
    assert.equal(out.failedPath, undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("core: killTagged stops only that job's tagged list; the callback still comes", async () => {
  await using plugin = PrepPlugin.open(SO);
  const { dir, paths } = scripts({ slow: "exec sleep 30" });
  try {
    const mine = plugin.runHooksAsync({ runner: PREP_DENO, killTag: 1 }, paths, env, 41);
    const other = plugin.runHooksAsync({ runner: PREP_DENO, killTag: 1 }, paths, env, 42);
    let killed = 0;
    for (let i = 0; i < 100 && killed === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(plugin.killTagged(41, 2), 0, "another tag must not match");
      killed = plugin.killTagged(41, 1);
    }
    assert.equal(killed, 1);
    const out = await mine;
    assert.equal(out.signal, 9);
    assert.equal(out.timedOut, false);
    assert.equal(plugin.killTagged(42, 1), 1, "job 42's hook still ran");
    assert.equal((await other).signal, 9);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
