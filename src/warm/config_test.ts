// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_WARM, parseWarm, warmConfig } from "./config.ts";

const CTX = { file: "/x/deno.json", dir: "/x" };

Deno.test("warm config: absent means fresh, 4 hosts; both modes parse", () => {
  assert.deepEqual(parseWarm(undefined, CTX), DEFAULT_WARM);
  assert.deepEqual(parseWarm({ mode: "reuse" }, CTX), { mode: "reuse", hosts: 4 });
  assert.deepEqual(parseWarm({ mode: "fresh", hosts: 2 }, CTX), {
    mode: "fresh",
    hosts: 2,
  });
});

Deno.test("warm config: every malformed value names the file and the key", () => {
  const bad: [unknown, RegExp][] = [
    [[], /\/x\/deno\.json: "warm" must be an object/],
    [{ mode: 1 }, /"warm\.mode" must be "fresh" .* not 1/],
    [{ hosts: 1.5 }, /"warm\.hosts" must be an integer from 1 to 64, not 1\.5/],
    [{ hosts: 65 }, /not 65/],
    [{ Mode: "reuse" }, /"warm\.Mode" is unknown; did you mean "mode"\?/],
  ];
  for (const [value, message] of bad) {
    assert.throws(() => parseWarm(value, CTX), message);
  }
});

Deno.test("warm config: read from a deno.json with comments", () => {
  const dir = Deno.makeTempDirSync();
  const path = join(dir, "deno.json");
  Deno.writeTextFileSync(path, `{ // hooks\n "warm": { "mode": "reuse", /* one */ "hosts": 1, } }`);
  assert.deepEqual(warmConfig(path), { mode: "reuse", hosts: 1 });
  assert.deepEqual(warmConfig(undefined), DEFAULT_WARM);
  Deno.removeSync(dir, { recursive: true });
});
