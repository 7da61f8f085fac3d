// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { expandHostlist } from "./hostlist.ts";

Deno.test("expandHostlist: ranges, lists and single names", () => {
  assert.deepEqual(expandHostlist("node[1-3,7]"), ["node1", "node2", "node3", "node7"]);
  assert.deepEqual(expandHostlist("vm"), ["vm"]);
  assert.deepEqual(expandHostlist("a,b[2-3],c"), ["a", "b2", "b3", "c"]);
  assert.deepEqual(expandHostlist(""), []);
});

Deno.test("expandHostlist: keeps zero padding", () => {
  assert.deepEqual(expandHostlist("gpu[08-10]"), ["gpu08", "gpu09", "gpu10"]);
  assert.deepEqual(expandHostlist("n[001-002]"), ["n001", "n002"]);
});

Deno.test("expandHostlist: several bracket groups, first one slowest", () => {
  assert.deepEqual(expandHostlist("r[1-2]-n[1-2]"), ["r1-n1", "r1-n2", "r2-n1", "r2-n2"]);
});

Deno.test("expandHostlist: malformed lists throw a message naming the list", () => {
  assert.throws(() => expandHostlist("node[1-3"), /invalid hostlist "node\[1-3": unbalanced/);
  assert.throws(() => expandHostlist("node[3-1]"), /runs backwards/);
  assert.throws(() => expandHostlist("node[a-b]"), /bad range/);
  assert.throws(() => expandHostlist("n[1-99999999]"), RangeError);
});
