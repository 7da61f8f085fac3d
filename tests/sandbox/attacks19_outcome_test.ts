// SPDX-License-Identifier: GPL-2.0-or-later
// Issue 19, class 4, attacked by someone who did not write the record: a
// hook with the node's processes (`processes: "host"`) and every Deno
// permission walks /proc and tries to open, for writing, each descriptor of
// every other process of the node: its launcher's outcome descriptor, the
// plugin's or slurmd's pipes, other hooks'. It opens none; the same way
// opens its own descriptor (the attack works where the kernel allows it).
import assert from "node:assert/strict";
import { hookOutput, prepDeno, tryStatus, writeFiles } from "../helpers.ts";

const HOOK = `// @ts-nocheck
export default () => {
  const opened = [];
  let others = 0;
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\\d+$/.test(e.name) || e.name === String(Deno.pid)) continue;
    others++;
    let fds = [];
    try { fds = [...Deno.readDirSync("/proc/" + e.name + "/fd")].map((f) => f.name); } catch {}
    for (const fd of ["0", "1", "2", "3", "4", "5", "6", ...fds]) {
      try {
        Deno.openSync("/proc/" + e.name + "/fd/" + fd, { write: true }).close();
        opened.push(e.name + "/" + fd);
      } catch { /* refused */ }
    }
  }
  let own = false;
  try { Deno.openSync("/proc/" + Deno.pid + "/fd/1", { write: true }).close(); own = true; } catch {}
  console.log(JSON.stringify({ opened: [...new Set(opened)], others, own }));
};`;

Deno.test("attacks19 outcome: a hook with the node's processes opens no other process's descriptor", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-atk19-fd-" });
  try {
    Deno.chmodSync(dir, 0o755);
    const hook = writeFiles(dir, {
      "hook.ts": HOOK,
      "deno.json": JSON.stringify({
        permissions: { default: { all: true } },
        sandbox: { default: { processes: "host" } },
        typecheck: "warn",
      }),
    });
    const r = await prepDeno(["try", hook]);
    assert.equal(tryStatus(r), 0, r.stderr);
    const got = JSON.parse(hookOutput(r).trim().split("\n").at(-1)!);
    assert.ok(got.others > 10, JSON.stringify(got));
    assert.equal(got.own, true, JSON.stringify(got));
    assert.deepEqual(got.opened, [], JSON.stringify(got));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
