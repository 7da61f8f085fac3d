// SPDX-License-Identifier: GPL-2.0-or-later
// Bad and planted policies, children's environment, remote code, and the
// helpers importable with no grant, through the real sandbox.
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFiles } from "../helpers.ts";
import { grantDir, HELPERS, runHook, tryPolicy, tryRun } from "./helpers.ts";

Deno.test("bad sandbox sets are a 126 naming the file and the key", async () => {
  const cases: [unknown, RegExp][] = [
    [{ prolog: { bogus: 1 } }, /"sandbox" set "prolog": unknown key "bogus"/],
    [
      { prolog: { capabilities: ["CAP_SYS_ADMIN"] } },
      /key "capabilities": unknown or refused capability "CAP_SYS_ADMIN"/,
    ],
    [
      { default: { processes: "node" } },
      /"sandbox" set "default", key "processes": must be "host" or "private"/,
    ],
  ];
  for (const [sandbox, message] of cases) {
    const r = await tryPolicy(`export function prolog() {}`, { sandbox });
    assert.equal(r.status, 126, r.stderr);
    assert.match(r.stderr, /deno\.json: /);
    assert.match(r.stderr, message);
  }
});

Deno.test("a byte order mark in deno.json is fine; a NUL in a path is a 126 naming it", async () => {
  const bom = await tryPolicy(
    `export function prolog() { Deno.env.get("SLURM_JOB_ID"); }`,
    undefined,
    {
      raw: `\uFEFF{"permissions": {"prolog": {"env": ["SLURM_JOB_ID"]}}}`,
    },
  );
  assert.equal(bom.status, 0, bom.stderr);
  const nul = await tryPolicy(`export function prolog() {}`, {
    permissions: { prolog: { read: ["/etc\u0000/x"] } },
  });
  assert.equal(nul.status, 126);
  assert.match(nul.stderr, /"permissions\.prolog\.read" has an entry with a NUL byte/);
  assert.doesNotMatch(nul.stderr, /at .*\.ts:\d+/);
});

Deno.test("a policy dropped in a folder others can write is never used", async () => {
  const top = grantDir("planted");
  try {
    // top (root, 755) / open (777) / hooks (root, 755) / hook.ts: a policy in
    // open/ or above would widen the hook's permissions.
    writeFiles(top, {
      "deno.json": JSON.stringify({ permissions: { default: { read: true } } }),
      "open/deno.json": JSON.stringify({ permissions: { default: { read: true } } }),
      "open/hooks/hook.ts": `export function prolog() { Deno.readTextFileSync("/etc/hostname"); }`,
    });
    Deno.chmodSync(join(top, "open"), 0o777);
    const r = await tryRun([join(top, "open/hooks/hook.ts")]);
    assert.match(r.stdout, /exit status: 1/, r.stdout + r.stderr);
    assert.match(r.stderr, /permission denied: read access to "?\/etc\/hostname/);
  } finally {
    Deno.removeSync(top, { recursive: true });
  }
});

Deno.test("a policy others could write is refused with the reason", async () => {
  const dir = grantDir("groupw");
  try {
    writeFiles(dir, {
      "deno.json": JSON.stringify({ permissions: { default: {} } }),
      "hook.ts": `export function prolog() {}`,
    });
    Deno.chmodSync(join(dir, "deno.json"), 0o664);
    const r = await tryRun([join(dir, "hook.ts")]);
    assert.match(r.stdout, /exit status: 126/);
    assert.match(
      r.stderr,
      /policy refused: .*deno\.json is writable by group or others \(mode 664\)/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a write grant covering the hook's folder is refused (the hook could raise its own permissions)", async () => {
  const r = await tryPolicy(`export function prolog() {}`, {
    permissions: { prolog: { write: ["."] } },
  });
  assert.equal(r.status, 126);
  assert.match(r.stderr, /write grant ".*" refused: it covers the hook's own code and policy/);
});

Deno.test("children start like a shell prolog's: standard PATH, the job's variables, no runtime variables", async () => {
  const r = await tryPolicy(
    `export async function prolog() {
      const out = await new Deno.Command("/usr/bin/env").output();
      console.log(new TextDecoder().decode(out.stdout));
    }`,
    { permissions: { prolog: { run: ["/usr/bin/env"] } } },
    { args: ["--job-id", "31"] },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /^PATH=\/usr\/local\/sbin:\/usr\/local\/bin:\/usr\/sbin:\/usr\/bin:\/sbin:\/bin$/m,
  );
  assert.match(r.stdout, /^SLURM_JOB_ID=31$/m);
  assert.doesNotMatch(r.stdout, /^DENO_|node_compat|^NO_COLOR=/m);
  // The helper gives the same environment, and the job's PATH wins when it has one.
  const h = await tryPolicy(runHook(["/usr/bin/env"]), {
    permissions: { prolog: { run: ["/usr/bin/env"] } },
  }, {
    args: ["--env", "PATH=/opt/site/bin:/usr/bin"],
  });
  assert.equal(h.status, 0, h.stderr);
  assert.match(h.stdout, /^PATH=\/opt\/site\/bin:\/usr\/bin$/m);
  assert.doesNotMatch(h.stdout, /^DENO_/m);
});

Deno.test("Debian alternatives and the loader's config are in the view (awk runs)", async () => {
  const r = await tryPolicy(runHook(["/usr/bin/awk", "BEGIN { print 6*7 }"]), {
    permissions: { prolog: { run: ["/usr/bin/awk"] } },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^42$/m);
});

Deno.test("npm: imports are refused unless import grants the registry, even with net", async () => {
  const r = await tryPolicy(
    `import pad from "npm:left-pad@1.3.0"; export function prolog() { pad("x", 2); }`,
    {
      permissions: { prolog: { net: true } },
    },
  );
  assert.equal(r.status, 1);
  assert.match(r.stderr, /npm specifiers were requested; but --no-npm is specified/);
});

Deno.test("the helpers import at run time with no grant at all", async () => {
  const r = await tryPolicy(
    `import { expandJobPath } from ${JSON.stringify(HELPERS)};
     export function prolog(job) { console.log(expandJobPath("out-%j-%u.txt", job)); }`,
    undefined,
    { args: ["--job-id", "9"] },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^out-9-root\.txt$/m);
});

Deno.test("a denial with no resource says what Deno said, not an empty list name", async () => {
  const r = await tryPolicy(
    `export function prolog() { Deno.statSync("/dev/shm"); }`,
    { permissions: { prolog: { read: ["/dev/shm"] } } },
  );
  assert.equal(r.status, 1);
  assert.doesNotMatch(r.stderr, /a access to ;|the "a" list/);
  assert.match(
    r.stderr,
    /permission denied: Deno 2.9 serves "\/dev\/shm" .*only with "all": true; do that work through a command/,
  );
});

Deno.test("denial text: a Deno message with no resource is quoted, never 'a access to ;'", async () => {
  const { denial } = await import("../../src/outcome/outcome.ts");
  const spec = { hook: "prolog", configPath: "/etc/slurm/deno.json", setName: "prolog" };
  const text = denial("Requires --allow-all to spawn a subprocess with LD_PRELOAD", spec);
  assert.doesNotMatch(text, /a access to ;|the "a" list/);
  assert.match(
    text,
    /permission denied: Requires --allow-all to spawn a subprocess with LD_PRELOAD; .*\/etc\/slurm\/deno\.json/,
  );
  assert.match(
    denial('Requires read access to "/x", run again with the --allow-read flag', spec),
    /read access to "\/x"; to allow it, add it to the "read" list of permission set "prolog"/,
  );
});
