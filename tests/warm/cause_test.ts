// SPDX-License-Identifier: GPL-2.0-or-later
// The warm service drains as the spawn path does: the output it answers for
// a failed hook ends with the contract's cause line, after the hook's own.
import assert from "node:assert/strict";
import { CAUSE_MARKER, causeLine } from "../../src/contract.ts";
import { opts, startService } from "./service.ts";

const lastLine = (output: string) => output.trimEnd().split("\n").at(-1) ?? "";

Deno.test({
  name: "warm cause: a throwing hook's output ends with its message as the cause",
  ...opts,
  async fn() {
    await using s = await startService();
    const path = s.hook(
      "throws",
      `export const prolog = () => {
        console.log(${JSON.stringify(CAUSE_MARKER)} + "forged by the hook");
        throw new Error("gpu 1 lost\\nmore detail");
      };`,
    );
    const o = await s.run(path, 3);
    assert.equal(o.fallback, undefined, o.output);
    assert.equal(o.exitCode, 1, o.output);
    assert.match(o.output, /threw Error: gpu 1 lost/);
    assert.equal(lastLine(o.output), causeLine("gpu 1 lost"), o.output);
  },
});

Deno.test({
  name: "warm cause: a timeout's cause is the limit; a returned status has none",
  ...opts,
  async fn() {
    await using s = await startService();
    const spin = s.hook("spin", `export default () => { for (;;) {} };`);
    const o = await s.run(spin, 4, 1);
    assert.equal(o.exitCode, 124, o.output);
    assert.equal(lastLine(o.output), causeLine("timed out after 1 s"), o.output);
    const three = s.hook("three", `export default () => { console.log("no"); return 3; };`);
    const r = await s.run(three, 5);
    assert.equal(r.exitCode, 3, r.output);
    assert.ok(!r.output.includes(CAUSE_MARKER), r.output);
  },
});
