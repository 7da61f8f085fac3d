// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadPolicy, PolicyError, stripJsonc, workerPermissions } from "./policy.ts";
import { dirname } from "node:path";

/** Runs `fn` in a fresh root-owned folder holding `files` (name to text). */
export function withTree(files: Record<string, string>, fn: (dir: string) => void) {
  const dir = Deno.makeTempDirSync();
  try {
    for (const [name, text] of Object.entries(files)) {
      const path = join(dir, name);
      Deno.mkdirSync(name.endsWith("/") ? path : dirname(path), { recursive: true });
      if (name.endsWith("/")) continue;
      Deno.writeTextFileSync(join(dir, name), text);
    }
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
      `{ // site policy\n "permissions": { /* all hooks */ "default": { "read": ["./data", "/etc"], "write": false, "run": ["ls"], }, }, }`,
    "p.ts": "",
    "data/": "",
  }, (dir) => {
    const p = loadPolicy(join(dir, "p.ts"), "epilog");
    assert.deepEqual(p.permissions, { read: [join(dir, "data"), "/etc"], run: ["ls"] });
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
        e.message.includes(`"permissions.default.reed" is unknown; did you mean "read"?`) &&
        e.message.includes("read, write"),
    );
  });
  withTree({ "deno.json": `{"permissions": {"default": {"net": 3}}}`, "p.ts": "" }, (dir) => {
    assert.throws(
      () => loadPolicy(join(dir, "p.ts"), "prolog"),
      /"permissions\.default\.net" must be true, false or a list/,
    );
  });
  withTree({ "deno.json": `{ not json`, "p.ts": "" }, (dir) => {
    assert.throws(
      () => loadPolicy(join(dir, "p.ts"), "prolog"),
      /cannot read the policy: .*JSON/,
    );
  });
});

Deno.test("policy: worker permissions deny every kind not granted", () => {
  assert.equal(workerPermissions({ all: true }).ffi, true);
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

Deno.test("policy: a byte order mark is read past; a NUL in a path is refused by name", () => {
  withTree(
    { "deno.json": `\uFEFF{"permissions": {"default": {"env": ["X"]}}}`, "p.ts": "" },
    (dir) => {
      assert.deepEqual(loadPolicy(join(dir, "p.ts"), "prolog").permissions, { env: ["X"] });
    },
  );
  withTree(
    { "deno.json": `{"permissions": {"default": {"read": ["/etc\\u0000x"]}}}`, "p.ts": "" },
    (dir) => {
      assert.throws(
        () => loadPolicy(join(dir, "p.ts"), "prolog"),
        /"permissions\.default\.read" has an entry with a NUL byte/,
      );
    },
  );
});

Deno.test("policy: the lookup stops at a folder others can write; a policy there is never seen", () => {
  withTree(
    { "deno.json": `{"permissions": {"default": {"net": true}}}`, "open/p.ts": "" },
    (dir) => {
      Deno.chmodSync(join(dir, "open"), 0o777);
      const p = loadPolicy(join(dir, "open/p.ts"), "prolog");
      assert.equal(p.configPath, undefined);
      assert.deepEqual(p.permissions, {});
      assert.equal(p.hookRoot, join(dir, "open/p.ts"));
    },
  );
});

Deno.test("policy: a policy others could write, or owned by another user, is refused saying why", () => {
  withTree({ "deno.json": `{"permissions": {}}`, "p.ts": "" }, (dir) => {
    Deno.chmodSync(join(dir, "deno.json"), 0o666);
    assert.throws(
      () => loadPolicy(join(dir, "p.ts"), "prolog"),
      (e: Error) =>
        e instanceof PolicyError && e.message.includes("policy refused") &&
        e.message.includes("writable by group or others (mode 666)") &&
        e.message.includes("chmod go-w"),
    );
    Deno.chmodSync(join(dir, "deno.json"), 0o644);
    Deno.chownSync(join(dir, "deno.json"), 65534, 65534);
    assert.throws(() => loadPolicy(join(dir, "p.ts"), "prolog"), /owned by uid 65534, not root/);
  });
});

Deno.test("policy: a write grant covering the hook's own code or policy is refused", () => {
  withTree({ "deno.json": "", "hooks/p.ts": "" }, (dir) => {
    for (const grant of [dir, join(dir, "deno.json"), dirname(dir)]) {
      Deno.writeTextFileSync(
        join(dir, "deno.json"),
        JSON.stringify({ permissions: { default: { write: [grant] } } }),
      );
      assert.throws(
        () => loadPolicy(join(dir, "hooks/p.ts"), "prolog"),
        /write grant ".*" refused: it covers the hook's own code and policy/,
      );
    }
    Deno.writeTextFileSync(
      join(dir, "deno.json"),
      JSON.stringify({ sandbox: { default: { write: [dir] } } }),
    );
    assert.throws(
      () => loadPolicy(join(dir, "hooks/p.ts"), "prolog"),
      /covers the hook's own code/,
    );
  });
});

Deno.test('policy: "all" is Deno\'s own word; the view then comes from "sandbox" alone', () => {
  withTree({
    "deno.json": JSON.stringify({
      permissions: { default: { all: true } },
      sandbox: { default: { capabilities: ["CAP_KILL"], processes: "host" } },
    }),
    "p.ts": "",
  }, (dir) => {
    const p = loadPolicy(join(dir, "p.ts"), "epilog");
    assert.deepEqual(p.permissions, { all: true });
    assert.equal(p.view.setName, "default");
    assert.deepEqual(p.view.capabilities, ["CAP_KILL"]);
    assert.equal(p.view.hostProcesses, true);
    assert.equal(p.view.readAll, false);
    assert.deepEqual(p.view.read, []);
  });
});

Deno.test("policy: beside the module in a folder others can write, it is refused saying why", () => {
  withTree({ "open/deno.json": `{"permissions": {}}`, "open/p.ts": "" }, (dir) => {
    Deno.chmodSync(join(dir, "open"), 0o775);
    assert.throws(
      () => loadPolicy(join(dir, "open/p.ts"), "prolog"),
      /policy refused: the folder .*\/open is writable by group or others \(mode 775\)/,
    );
  });
});

Deno.test("policy: a policy that is a symlink is judged by its target too", () => {
  withTree({ "real/deno.json": `{"permissions": {}}`, "hooks/p.ts": "", "open/": "" }, (dir) => {
    Deno.chmodSync(join(dir, "open"), 0o777);
    Deno.writeTextFileSync(
      join(dir, "open/deno.json"),
      `{"permissions": {"default": {"read": true}}}`,
    );
    Deno.symlinkSync(join(dir, "open/deno.json"), join(dir, "hooks/deno.json"));
    assert.throws(() => loadPolicy(join(dir, "hooks/p.ts"), "prolog"), /policy refused/);
    Deno.removeSync(join(dir, "hooks/deno.json"));
    Deno.symlinkSync(join(dir, "real/deno.json"), join(dir, "hooks/deno.json"));
    assert.equal(
      loadPolicy(join(dir, "hooks/p.ts"), "prolog").configPath,
      join(dir, "hooks/deno.json"),
    );
  });
});
