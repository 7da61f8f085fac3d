// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadPolicy, PolicyError, stripJsonc, workerPermissions } from "../src/policy.ts";
import { writeFiles } from "./helpers.ts";

function withTree(files: Record<string, string>, fn: (dir: string) => void) {
  const dir = Deno.makeTempDirSync();
  try {
    writeFiles(dir, files);
    fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("policy: the set named after the hook wins over default", () => {
  withTree({
    "deno.json": JSON.stringify({
      permissions: { prolog: { env: ["X"] }, default: { net: true } },
    }),
    "hooks/p.ts": "",
  }, (dir) => {
    const p = loadPolicy(join(dir, "hooks/p.ts"), "prolog");
    assert.equal(p.setName, "prolog");
    assert.equal(p.configPath, join(dir, "deno.json"));
    assert.deepEqual(p.permissions, { env: ["X"] });
    assert.equal(loadPolicy(join(dir, "hooks/p.ts"), "epilog").setName, "default");
  });
});

Deno.test("policy: no set applies, or no config at all, means no permissions", () => {
  withTree(
    { "deno.json": JSON.stringify({ permissions: { epilog: { net: true } } }), "p.ts": "" },
    (dir) => {
      const p = loadPolicy(join(dir, "p.ts"), "prolog");
      assert.equal(p.setName, undefined);
      assert.deepEqual(p.permissions, {});
    },
  );
  withTree({ "p.ts": "" }, (dir) => {
    // Walks up to / and finds nothing (tests run from /tmp).
    assert.deepEqual(loadPolicy(join(dir, "p.ts"), "prolog").permissions, {});
  });
});

Deno.test("policy: deno.jsonc with comments, relative paths resolved against the config", () => {
  withTree({
    "deno.jsonc":
      `{ // site policy\n "permissions": { /* all hooks */ "default": { "read": ["./data", "/abs"], "write": false, "run": ["ls"], }, }, }`,
    "p.ts": "",
  }, (dir) => {
    const p = loadPolicy(join(dir, "p.ts"), "epilog");
    assert.deepEqual(p.permissions, { read: [join(dir, "data"), "/abs"], run: ["ls"] });
  });
  assert.equal(
    stripJsonc(`{"a": "// not a comment", /* c */ "b": 1,}`),
    `{"a": "// not a comment",  "b": 1}`,
  );
  assert.equal(stripJsonc(`{"a": "x,}", "b": [1,],}`), `{"a": "x,}", "b": [1]}`);
});

Deno.test("policy: malformed sets name the file, the set and the fix", () => {
  withTree({ "deno.json": `{"permissions": {"default": {"reed": true}}}`, "p.ts": "" }, (dir) => {
    assert.throws(
      () => loadPolicy(join(dir, "p.ts"), "prolog"),
      (e: Error) =>
        e instanceof PolicyError && e.message.includes(join(dir, "deno.json")) &&
        e.message.includes(`unknown key "reed"`) && e.message.includes("read, write"),
    );
  });
  withTree({ "deno.json": `{"permissions": {"default": {"net": 3}}}`, "p.ts": "" }, (dir) => {
    assert.throws(
      () => loadPolicy(join(dir, "p.ts"), "prolog"),
      /"net" must be true, false or a list/,
    );
  });
  withTree({ "deno.json": `{ not json`, "p.ts": "" }, (dir) => {
    assert.throws(
      () => loadPolicy(join(dir, "p.ts"), "prolog"),
      /cannot read the permission policy/,
    );
  });
});

Deno.test("policy: worker permissions deny every kind not granted", () => {
  assert.deepEqual(workerPermissions({ net: ["a:1"] }), {
    read: false,
    write: false,
    net: ["a:1"],
    env: false,
    run: false,
    ffi: false,
    sys: false,
    import: false,
  });
});
