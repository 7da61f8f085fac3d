// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { truncationNote } from "../contract.ts";
import { CappedOutput, pipeCapped } from "./output.ts";

Deno.test("output: kept up to the cap, the rest counted and noted", () => {
  const out = new CappedOutput(10);
  out.push(new TextEncoder().encode("12345678"));
  out.push(new TextEncoder().encode("abcdef"));
  assert.equal(out.dropped, 4);
  assert.equal(new TextDecoder().decode(out.bytes()), "12345678ab" + truncationNote(4));
});

Deno.test("output: under the cap nothing is added", () => {
  const out = new CappedOutput(10);
  out.push(new TextEncoder().encode("hi"));
  assert.equal(new TextDecoder().decode(out.bytes()), "hi");
});

Deno.test("output: a stream is read to its end, written up to the cap, then noted", async () => {
  const chunks = Array.from({ length: 5 }, () => new Uint8Array(4).fill(65));
  const stream = ReadableStream.from(chunks);
  let written = "";
  const dropped = await pipeCapped(stream, (c) => {
    written += new TextDecoder().decode(c);
    return Promise.resolve();
  }, 6);
  assert.equal(dropped, 14);
  assert.equal(written, "AAAAAA" + truncationNote(14));
});
