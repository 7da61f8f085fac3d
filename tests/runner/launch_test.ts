// SPDX-License-Identifier: GPL-2.0-or-later
// The native launcher's plan cache: a policy change is seen on the next
// run, and a cached plan anyone else could have written is never used.
import assert from "node:assert/strict";
import { join } from "node:path";
import { fakeJobEnv } from "../../src/job/slurm_vars.ts";
import { prepDeno, writeFiles } from "../helpers.ts";

const PLANS = "/run/prep-deno/plans";

const READS =
  `export function prolog() { try { Deno.readTextFileSync("/etc/hostname"); console.log("read"); } catch (e) { console.log((e as Error).name); } }`;

function planFilesFor(modulePath: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(PLANS)) {
    const text = new TextDecoder().decode(Deno.readFileSync(join(PLANS, e.name)));
    if (text.startsWith(`${modulePath}\n`)) out.push(join(PLANS, e.name));
  }
  return out;
}

Deno.test("launch: a policy written, changed or removed between runs is what the next run gets", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const hook = writeFiles(dir, { "hook.ts": READS });
    const env = fakeJobEnv("prolog_slurmd", { id: 11 });
    const run = async () => (await prepDeno(["run", hook], env)).stdout.trim();
    assert.equal(await run(), "NotCapable");
    assert.equal(await run(), "NotCapable"); // from the cache
    Deno.writeTextFileSync(
      join(dir, "deno.json"),
      JSON.stringify({ permissions: { prolog: { read: ["/etc/hostname"] } } }),
    );
    assert.equal(await run(), "read");
    Deno.writeTextFileSync(
      join(dir, "deno.json"),
      JSON.stringify({ permissions: { prolog: { read: ["/etc/hosts"] } } }),
    );
    assert.equal(await run(), "NotCapable");
    Deno.removeSync(join(dir, "deno.json"));
    assert.equal(await run(), "NotCapable");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("launch: a cached plan writable by others, or replaced, is never used", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const hook = writeFiles(dir, { "hook.ts": READS });
    const env = fakeJobEnv("prolog_slurmd", { id: 12 });
    assert.equal((await prepDeno(["run", hook], env)).stdout.trim(), "NotCapable");
    const [plan] = planFilesFor(hook);
    assert.ok(plan, "the first run left no plan in the cache");
    // Grant everything in the cached plan, then make it group/other-writable.
    const text = new TextDecoder().decode(Deno.readFileSync(plan));
    Deno.writeFileSync(
      plan,
      new TextEncoder().encode(text.replace(/--allow-read=[^\0]*/, "--allow-read")),
    );
    Deno.chmodSync(plan, 0o666);
    assert.equal((await prepDeno(["run", hook], env)).stdout.trim(), "NotCapable");
    assert.equal(Deno.statSync(plan).mode! & 0o077, 0, "the refused plan was not replaced");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("launch: no grant lets a hook reach the runner's plans, status files or socket", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const hook = writeFiles(dir, {
      "hook.ts":
        `export function prolog() { const seen = [...Deno.readDirSync("/run/prep-deno")].map((e) => e.name).sort(); Deno.writeTextFileSync("/run/prep-deno/plans-planted", "x"); console.log(JSON.stringify(seen)); }`,
      "deno.json": JSON.stringify({ permissions: { prolog: { read: ["/run"], write: true } } }),
    });
    const r = await prepDeno(["run", hook], fakeJobEnv("prolog_slurmd", { id: 13 }));
    assert.equal(r.code, 0, r.stderr);
    // Only the view's own tmpfs: Deno's cache and this hook's status file.
    assert.equal(r.stdout.trim(), JSON.stringify(["deno", "hook-status"]));
    assert.throws(() => Deno.statSync("/run/prep-deno/plans-planted"), Deno.errors.NotFound);
    // A listed write grant above the runner's folder would be lost to the
    // entry's revoke of its status file: refused, saying so.
    Deno.writeTextFileSync(
      join(dir, "deno.json"),
      JSON.stringify({ permissions: { prolog: { read: ["/run"], write: ["/run"] } } }),
    );
    const refused = await prepDeno(["run", hook], fakeJobEnv("prolog_slurmd", { id: 13 }));
    assert.equal(refused.code, 126, refused.stderr);
    assert.match(refused.stderr, /"write" grant "\/run" covers \/run\/prep-deno/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("launch: a NUL byte in a policy path is refused with a message, not a crash", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const hook = writeFiles(dir, {
      "hook.ts": `export function prolog() {}`,
      "deno.json": JSON.stringify({ permissions: { prolog: { read: ["/tmp/a\u0000b"] } } }),
    });
    const r = await prepDeno(["run", hook], fakeJobEnv("prolog_slurmd", { id: 14 }));
    assert.equal(r.code, 126, r.stderr);
    assert.match(r.stderr, /hook\.ts job 14: .*NUL/);
    assert.doesNotMatch(r.stderr, /Uncaught|^\s+at /m);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("launch: what a hook prints never decides its status", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const hook = writeFiles(dir, {
      "hook.ts":
        `export function prolog() { console.error("bwrap: pretend"); console.error("JavaScript heap out of memory"); return 3; }`,
    });
    const r = await prepDeno(["run", hook], fakeJobEnv("prolog_slurmd", { id: 15 }));
    assert.equal(r.code, 3, r.stderr);
    assert.doesNotMatch(r.stderr, /prep-deno: /);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
