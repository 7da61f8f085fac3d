// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { callHook, HookExit, judgeLoad, judgeThrown } from "./hook_call.ts";
import { buildJobContext } from "../job/context.ts";
import { fakeJobEnv } from "../job/slurm_vars.ts";
import { checkedOutcome } from "../warm/report.ts";

const job = buildJobContext(fakeJobEnv("prolog_slurmd", { id: 5 }, {}));
const from = { hook: "prolog", configPath: "/etc/slurm/hooks/deno.json" };

Deno.test("hook_call: each way a hook ends is one outcome, in the runner's words", async () => {
  const cases: [Record<string, unknown>, string, number, string?][] = [
    [{ prolog: () => {} }, "returned", 0],
    [{ default: () => 7 }, "returned", 7],
    [{ prolog: () => 300 }, "bad-value", 1, "returned 300, which is not an exit status"],
    [{ prolog: () => Promise.reject(new Error("gpu 1 lost")) }, "threw", 1, "gpu 1 lost"],
    [{ prolog: () => Promise.reject(new HookExit(4)) }, "returned", 4],
    [{ prolog: () => Promise.reject(new HookExit(-1)) }, "bad-value", 1],
    [{ epilog: () => {} }, "no-export", 1, 'the module has no export "prolog"'],
  ];
  for (const [mod, kind, status, cause] of cases) {
    const o = await callHook(mod, "prolog", job, from);
    assert.equal(o.kind, kind, JSON.stringify(o));
    assert.equal(o.status, status, JSON.stringify(o));
    if (cause) assert.ok(o.cause?.startsWith(cause), o.cause);
  }
});

Deno.test("hook_call: a denial's cause is the policy fix; a load failure says so", () => {
  const denied = judgeThrown(
    Object.assign(
      new Error('Requires read access to "/scratch", run again with the --allow-read flag'),
      {
        name: "NotCapable",
      },
    ),
    from,
  );
  assert.match(denied.cause!, /add it to the "read" list .*deno\.json/);
  assert.equal(denied.message, denied.cause);
  assert.match(
    judgeLoad(new SyntaxError("Unexpected token"), from).message!,
    /^cannot load the module: /,
  );
});

Deno.test("hook_call: the warm host takes only the hook call's kinds from its Worker", () => {
  assert.deepEqual(checkedOutcome({ kind: "outcome", outcome: { kind: "returned", status: 3 } }), {
    kind: "returned",
    status: 3,
    message: undefined,
    cause: undefined,
  });
  for (
    const bad of [
      { kind: "timeout", status: 124 },
      { kind: "returned", status: 256 },
      { kind: "threw", status: 1, cause: 5 },
      undefined,
    ]
  ) {
    // deno-lint-ignore no-explicit-any
    const o = checkedOutcome({ kind: "outcome", outcome: bad as any });
    assert.equal(o.status, 1);
    assert.match(o.message!, /does not understand/);
  }
});
