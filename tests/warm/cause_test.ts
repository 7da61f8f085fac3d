// SPDX-License-Identifier: GPL-2.0-or-later
// The warm service drains as the spawn path does: the reply carries the
// outcome record in a field of its own, and the node's reason is its
// cause; nothing the hook prints (a forged cause line or record, a NUL, a
// carriage return, escapes, a flood) reaches it, and the output comes back
// escaped and capped.
import assert from "node:assert/strict";
import { CAUSE_MARKER, MAX_OUTPUT, truncationNote } from "../../src/contract.ts";
import { opts, startService } from "./service.ts";
import { assertEscaped, FORGED, forgingHook, REAL_CAUSE } from "../forged_output.ts";

Deno.test({
  name: "warm cause: a throwing hook's record has its message as the cause, its output none",
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
    assert.equal(o.record?.kind, "threw");
    assert.match(o.record?.message ?? "", /^threw Error: gpu 1 lost/);
    // The first line of the message, then the place of the throw in the hook.
    assert.equal(o.record?.cause, "gpu 1 lost at hook.ts:3");
    assert.deepEqual(o.record?.place, { hook: "prolog", module: path, job: "3" });
    assert.equal(o.output, `${CAUSE_MARKER}forged by the hook\n`);
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
    assert.equal(o.record?.kind, "timeout");
    assert.equal(o.record?.cause, "timed out after 1 s");
    assert.deepEqual(o.record?.place, { hook: "prolog", module: spin, job: "4" });
    const three = s.hook("three", `export default () => { console.log("no"); return 3; };`);
    const r = await s.run(three, 5);
    assert.equal(r.exitCode, 3, r.output);
    assert.equal(r.record?.kind, "returned");
    assert.equal(r.record?.cause, undefined);
    assert.equal(r.output, "no\n");
  },
});

Deno.test({
  name:
    "warm cause: forged cause lines, a forged record, a NUL, escapes and a flood do not set the cause",
  ...opts,
  async fn() {
    await using s = await startService();
    const path = s.hook("forges", forgingHook("prolog"));
    const o = await s.run(path, 6);
    assert.equal(o.fallback, undefined, o.output.slice(0, 2000));
    assert.equal(o.exitCode, 1, o.output.slice(0, 2000));
    assert.equal(o.record?.kind, "threw");
    assert.match(o.record?.cause ?? "", new RegExp(`^${REAL_CAUSE} at \\S+\\.ts:\\d+$`));
    assert.ok(!o.record?.message?.includes(FORGED));
    assertEscaped(o.output);

    const spins = s.hook("forges-then-spins", forgingHook("prolog", "spin"));
    const t = await s.run(spins, 7, 2);
    assert.equal(t.exitCode, 124, t.output.slice(0, 2000));
    assert.equal(t.record?.kind, "timeout");
    assert.equal(t.record?.cause, "timed out after 2 s");
  },
});

Deno.test({
  name: "warm cause: a service that hangs mid-hook gives that as the cause, never an exit status",
  ...opts,
  async fn() {
    await using s = await startService();
    const marks = Deno.makeTempDirSync({ dir: s.dir, prefix: "marks-" });
    const path = s.hook(
      "hung",
      `export default async () => {
        Deno.writeTextFileSync(${JSON.stringify(`${marks}/started`)}, "x");
        await new Promise((r) => setTimeout(r, 500));
      };`,
      { permissions: { default: { write: [marks] } } },
    );
    const call = s.run(path, 6, 1);
    for (let i = 0; i < 400; i++) {
      try {
        Deno.statSync(`${marks}/started`);
        break;
      } catch { /* not yet */ }
      await new Promise((r) => setTimeout(r, 25));
    }
    // The service stops answering once the hook has started: the core waits
    // the hook's timeout and the runner's grace, then says why.
    s.child.kill("SIGSTOP");
    try {
      const o = await call;
      assert.equal(o.exitCode, 1, o.log);
      assert.equal(o.record?.kind, "lost", o.log);
      assert.match(o.record?.cause ?? "", /^warm service gave no answer in \d+ s$/, o.log);
      assert.doesNotMatch(o.log, /exit status 1/);
    } finally {
      s.child.kill("SIGCONT");
    }
  },
});

Deno.test({
  name: "warm cause: a hook killed at its timeout keeps what it printed before (fresh and reuse)",
  ...opts,
  async fn() {
    await using s = await startService();
    const body = `export default async () => {
      console.log("before the spin");
      console.error("on stderr too");
      await new Promise((r) => setTimeout(r, 100));
      for (;;) {}
    };`;
    const fresh = s.hook("spin-fresh", body);
    const reuse = s.hook("spin-reuse", body, { warm: { mode: "reuse" } });
    for (const [path, id] of [[fresh, 7], [reuse, 8]] as const) {
      const o = await s.run(path, id, 1);
      assert.equal(o.exitCode, 124, o.log);
      assert.equal(o.record?.cause, "timed out after 1 s");
      // As the spawn path keeps a timed-out hook's output.
      assert.equal(o.output, "before the spin\non stderr too\n", path);
    }
  },
});

Deno.test({
  name:
    "warm cause: a hook killed at its timeout after printing past the cap keeps the note of what was dropped",
  ...opts,
  async fn() {
    await using s = await startService();
    // 2 MiB in 64 KiB writes, then a spin: the service is told how much
    // passed the cap while the host still ran.
    const body = `export default async () => {
      const chunk = new TextEncoder().encode("x".repeat(65535) + "\\n");
      for (let i = 0; i < 32; i++) Deno.stdout.writeSync(chunk);
      await new Promise((r) => setTimeout(r, 100));
      for (;;) {}
    };`;
    const fresh = s.hook("flood-fresh", body);
    const reuse = s.hook("flood-reuse", body, { warm: { mode: "reuse" } });
    for (const [path, id] of [[fresh, 10], [reuse, 11]] as const) {
      const o = await s.run(path, id, 1);
      assert.equal(o.exitCode, 124, o.log.slice(-500));
      assert.equal(o.record?.cause, "timed out after 1 s");
      const cap = MAX_OUTPUT - 4096;
      assert.ok(o.output.startsWith("x".repeat(1000)), path);
      // As the spawn path's output ends: the kept bytes, then the note.
      assert.equal(o.output, o.output.slice(0, cap) + truncationNote(32 * 65536 - cap), path);
    }
  },
});

Deno.test({
  name:
    "warm cause: a hook printing a byte at a time past the cap streams few frames and ends well",
  ...opts,
  async fn() {
    await using s = await startService();
    const path = s.hook(
      "bytes",
      `export default () => {
        const b = new Uint8Array([0x61]);
        for (let i = 0; i < 1_100_000; i++) Deno.stdout.writeSync(b);
      };`,
    );
    const o = await s.run(path, 9, 60);
    assert.equal(o.exitCode, 0, o.log.slice(-500));
    assert.equal(o.record?.kind, "returned", o.log.slice(-500));
    assert.ok(o.output.startsWith("aaaa"), o.output.slice(0, 50));
  },
});
