// SPDX-License-Identifier: GPL-2.0-or-later
// Issue 19, classes 5 and 7, attacked by someone who did not write the
// limits: a hook (root, no capability) whose view has the cgroup filesystem
// writable writes its own pid into the root cgroup of each hierarchy. Found:
// with `write: true` or a `write` grant of /sys/fs/cgroup it left its pids
// and memory cgroups (the process limit, the memory limit and the warm
// host's per-job cleanup all hang on them). Now a `write` grant of the
// cgroup filesystem, in it or above it, is refused naming it, and
// `write: true` gets it read-only: the move fails and the hook stays in its
// cgroups.
import assert from "node:assert/strict";
import { hookOutput, prepDeno, tryStatus, writeFiles } from "../helpers.ts";

// Only files the cgroup filesystem already has: a write never makes one.
const HOOK = `// @ts-nocheck
export default () => {
  const before = Deno.readTextFileSync("/proc/self/cgroup");
  const tried = {};
  for (const dir of ["/sys/fs/cgroup", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified"]) {
    const file = dir + "/cgroup.procs";
    try { Deno.statSync(file); } catch { continue; }
    try { Deno.writeTextFileSync(file, String(Deno.pid)); tried[dir] = "moved"; }
    catch (e) { tried[dir] = e.name; }
  }
  const after = Deno.readTextFileSync("/proc/self/cgroup");
  console.log(JSON.stringify({ tried, same: before === after, own: before.includes("prep-deno-") }));
};`;

function policy(write: true | string[]) {
  return JSON.stringify({
    permissions: { default: { all: true } },
    sandbox: { default: { write } },
    typecheck: "warn",
  });
}

Deno.test("attacks19 cgroups: a hook cannot write itself out of its process and memory cgroups", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-atk19-cg-" });
  try {
    Deno.chmodSync(dir, 0o755);
    // write: true: the cgroup filesystem is read-only in the view.
    const hook = writeFiles(dir, { "hook.ts": HOOK, "deno.json": policy(true) });
    const r = await prepDeno(["try", hook]);
    assert.equal(tryStatus(r), 0, r.stderr);
    const got = JSON.parse(hookOutput(r).trim().split("\n").at(-1)!);
    assert.ok(Object.keys(got.tried).length > 0, JSON.stringify(got));
    for (const [d, how] of Object.entries(got.tried)) assert.notEqual(how, "moved", d);
    assert.equal(got.same, true, JSON.stringify(got));
    assert.equal(got.own, true, JSON.stringify(got));
    // A write grant of it, in it or above it: refused, naming it.
    for (const grant of ["/sys/fs/cgroup", "/sys/fs/cgroup/pids", "/sys"]) {
      writeFiles(dir, { "deno.json": policy([grant]) });
      const g = await prepDeno(["try", hook]);
      assert.equal(tryStatus(g), 126, g.stderr);
      assert.match(g.stderr, new RegExp(`${grant} is refused under "write": /sys/fs/cgroup holds`));
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
