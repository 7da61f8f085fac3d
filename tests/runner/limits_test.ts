// SPDX-License-Identifier: GPL-2.0-or-later
// Runaway hooks: time, memory and output.
import assert from "node:assert/strict";
import { tryHook, tryStatus } from "../helpers.ts";

Deno.test("limits: a busy loop is stopped at --timeout with a clear message", async () => {
  const t0 = performance.now();
  const r = await tryHook(`export function prolog() { for (;;) {} }`, { args: ["--timeout", "1"] });
  assert.equal(tryStatus(r), 124);
  assert.match(r.stderr, /hook\.ts job 1: timed out after 1 s/);
  assert.ok(performance.now() - t0 < 10_000, "the kill took far longer than the timeout");
});

Deno.test("limits: a never-settling promise is stopped at --timeout", async () => {
  const r = await tryHook(
    `export async function prolog() { await new Promise(() => setInterval(() => {}, 1000)); }`,
    {
      args: ["--timeout", "1"],
    },
  );
  assert.equal(tryStatus(r), 124);
  assert.match(r.stderr, /timed out after 1 s/);
});

Deno.test("limits: unbounded allocation fails with 'out of memory' at the heap limit", async () => {
  const r = await tryHook(
    `export function prolog() { const keep = []; for (;;) keep.push(new Array(1e6).fill(Math.random())); }`,
    { args: ["--heap-mb", "64", "--timeout", "60"] },
  );
  assert.equal(tryStatus(r), 125);
  assert.match(r.stderr, /out of memory: the hook passed its heap limit of 64 MiB/);
});

Deno.test("limits: 10 MB of output arrives whole", async () => {
  const r = await tryHook(
    `export function prolog() { const line = "x".repeat(1023); for (let i = 0; i < 10240; i++) console.log(line); console.error("done"); }`,
  );
  assert.equal(tryStatus(r), 0);
  const lines = r.stdout.split("\n").filter((l) => l.length === 1023);
  assert.equal(lines.length, 10240);
  assert.match(r.stderr, /^done$/m);
});
