// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { join } from "node:path";
import { parsePolicyText, PolicyError, readPolicyFile } from "./policy_file.ts";
import { hookImports } from "./import_map.ts";
import { warmConfig } from "../warm/config.ts";

const FILE = "/etc/slurm/hooks/deno.json";

/** The PolicyError `text` makes: its file, key and fix. */
function refusal(text: string): PolicyError {
  try {
    parsePolicyText(text, FILE);
  } catch (e) {
    if (e instanceof PolicyError) return e;
    throw e;
  }
  throw new Error(`accepted: ${text}`);
}

Deno.test("policy file: an unknown key at every level is refused with the key meant", () => {
  const cases: [string, string, RegExp][] = [
    [`{"permisions": {"default": {"read": true}}}`, "permisions", /did you mean "permissions"\?/],
    [`{"permissions": {"prologue": {}}}`, "permissions.prologue", /did you mean "prolog"\?/],
    [
      `{"permissions": {"default": {"reed": true}}}`,
      "permissions.default.reed",
      /did you mean "read"\?/,
    ],
    [
      `{"sandbox": {"default": {"proceses": "host"}}}`,
      "sandbox.default",
      /unknown key "proceses": did you mean "processes"\?/,
    ],
    [
      `{"sandbox": {"epilogue": {}}}`,
      "sandbox",
      /set "epilogue" is not a hook: did you mean "epilog"\?/,
    ],
    [`{"warm": {"mod": "reuse"}}`, "warm.mod", /did you mean "mode"\?/],
    [`{"wram": {}}`, "wram", /did you mean "warm"\?/],
    [`{"typecheck": "off"}`, "typecheck", /must be "error" .* or "warn"/],
    [`{"imports": {"./x.ts": "./y.ts"}}`, "imports../x.ts", /not a bare name/],
    [`{"imports": {"u": 3}}`, "imports.u", /must be a module URL or path/],
    [`{"compilerOptions": {}}`, "compilerOptions", /not applied to hooks/],
  ];
  for (const [text, key, message] of cases) {
    const e = refusal(text);
    assert.equal(e.file, FILE, text);
    assert.equal(e.key, key, text);
    assert.match(e.message, message, text);
    assert.ok(e.message.startsWith(`${FILE}: `), e.message);
  }
  // An unknown name nothing resembles still lists the valid ones.
  assert.match(
    refusal(`{"zzzzzzzz": 1}`).message,
    /; use permissions, sandbox, warm, imports, typecheck/,
  );
});

Deno.test("policy file: Deno's tooling keys pass; every field has its default", () => {
  const p = parsePolicyText(`{ "tasks": {"t": "x"}, "fmt": {}, // c\n }`, FILE);
  assert.deepEqual(
    { ...p },
    {
      path: FILE,
      permissions: {},
      sandbox: {},
      warm: { mode: "fresh", hosts: 4 },
      imports: {},
      typecheck: "error",
    },
  );
});

Deno.test("policy file: a byte order mark is read past by every reader, imports included", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = join(dir, "deno.json");
    Deno.writeTextFileSync(
      path,
      `\uFEFF{ "imports": { "util": "./util.ts" }, "warm": { "mode": "reuse" }, "typecheck": "warn" }`,
    );
    const p = readPolicyFile(path);
    assert.equal(p.imports.util, `file://${dir}/util.ts`);
    assert.equal(p.typecheck, "warn");
    assert.equal(warmConfig(path).mode, "reuse");
    assert.equal(hookImports(path).util, `file://${dir}/util.ts`);
    // Not UTF-8: refused by name, not read as something else.
    Deno.writeFileSync(path, new Uint8Array([0x7b, 0xff, 0x7d]));
    assert.throws(() => readPolicyFile(path), /not UTF-8/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
