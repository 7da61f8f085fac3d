// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { errorPlace } from "./error_place.ts";

Deno.test("errorPlace: the first frame inside the hook's root, relative, with its line", () => {
  const stack = [
    "Error: gpu 1 lost",
    "    at Object.assert (file:///usr/lib/prep-deno/entry.js:10:5)",
    "    at check (file:///etc/slurm/hooks/lib/gpu.ts:12:9)",
    "    at default (file:///etc/slurm/hooks/site.ts:4:3)",
  ].join("\n");
  assert.equal(errorPlace(stack, "/etc/slurm/hooks"), "lib/gpu.ts:12");
});

Deno.test("errorPlace: a sibling folder sharing the root's prefix is outside it", () => {
  const stack =
    "Error: x\n    at f (file:///etc/slurm/hooks2/a.ts:1:1)\n    at g (/etc/slurm/hooks/b.ts:7:2)";
  assert.equal(errorPlace(stack, "/etc/slurm/hooks"), "b.ts:7");
});

Deno.test("errorPlace: encoded paths are decoded; no frame inside: undefined", () => {
  assert.equal(errorPlace("E\n    at file:///h/my%20hooks/p.ts:3:1", "/h/my hooks"), "p.ts:3");
  assert.equal(errorPlace("E\n    at ext:core/01_core.js:1:1", "/h"), undefined);
  assert.equal(errorPlace(undefined, "/h"), undefined);
});
