// SPDX-License-Identifier: GPL-2.0-or-later
// The warm path: the plugin's C client (through the binding) against a real
// `prep-deno serve`, whose warm hosts run in the spawn path's sandbox.
import assert from "node:assert/strict";
import { join } from "node:path";
import { type CoreConfig, PrepPlugin } from "../../ffi/mod.ts";
import { fakeJobEnv } from "../../src/slurm_vars.ts";
import { PREP_DENO, TOP } from "../helpers.ts";

const DIR = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "prep-deno-warm-" });
const SOCKET = join(DIR, "run", "serve.sock");
const plugin = PrepPlugin.open(join(TOP, "build", "prep_deno.so"));
const opts = { sanitizeOps: false, sanitizeResources: false };

let service: Deno.ChildProcess | undefined;
async function startService(): Promise<void> {
  service = new Deno.Command(PREP_DENO, {
    args: ["serve", "--socket", SOCKET],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  for (let i = 0; i < 500; i++) {
    try {
      if (Deno.statSync(SOCKET).isSocket) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("prep-deno serve did not start");
}
async function stopService(): Promise<void> {
  if (!service) return;
  try {
    service.kill("SIGKILL");
  } catch { /* gone */ }
  await service.status;
  service = undefined;
}

function hook(name: string, code: string, policy?: unknown): string {
  const dir = join(DIR, name);
  Deno.mkdirSync(dir, { recursive: true });
  if (policy !== undefined) {
    Deno.writeTextFileSync(join(dir, "deno.json"), JSON.stringify({ permissions: policy }));
  }
  const path = join(dir, "hook.ts");
  Deno.writeTextFileSync(path, code);
  return path;
}

const warm: CoreConfig = { runner: PREP_DENO, timeoutSeconds: 30, warmSocket: SOCKET };
const env = (id: number) => fakeJobEnv("prolog_slurmd", { id });
const text = (o: { output: string }) => o.output.trim();

Deno.test({
  name: "warm: the service runs a hook, and nothing fell back",
  ...opts,
  async fn() {
    await startService();
    const path = hook(
      "hello",
      `export const prolog = (job) => { console.log("warm", job.id, job.context); return 3; };`,
    );
    const o = await plugin.runHooks(warm, [path], env(5));
    assert.equal(o.fallback, undefined);
    assert.equal(o.exitCode, 3);
    assert.equal(text(o), "warm 5 prolog_slurmd");
    // The socket is root's alone.
    assert.equal(Deno.statSync(SOCKET).mode! & 0o777, 0o600);
    assert.equal(Deno.statSync(join(DIR, "run")).mode! & 0o777, 0o700);
  },
});

Deno.test({
  name: "warm: every job gets a fresh Worker, no state crosses jobs",
  ...opts,
  async fn() {
    const path = hook(
      "fresh",
      `let n = 0;\nexport default () => { n++; console.log("count", n); };`,
    );
    for (let i = 0; i < 4; i++) {
      const o = await plugin.runHooks(warm, [path], env(i + 1));
      assert.equal(o.fallback, undefined);
      assert.equal(text(o), "count 1");
    }
  },
});

Deno.test({
  name: "warm: a module changed on disk is picked up for the next job",
  ...opts,
  async fn() {
    const path = hook("change", `export default () => console.log("v1");`);
    assert.equal(text(await plugin.runHooks(warm, [path], env(1))), "v1");
    await new Promise((r) => setTimeout(r, 20));
    Deno.writeTextFileSync(path, `export default () => console.log("v2, longer");`);
    assert.equal(text(await plugin.runHooks(warm, [path], env(2))), "v2, longer");
  },
});

Deno.test({
  name: "warm: many hooks at once, a slow one blocks no other",
  ...opts,
  async fn() {
    const slow = hook(
      "slow",
      `export default async () => { await new Promise((r) => setTimeout(r, 3000)); console.log("slow"); };`,
    );
    const fast = hook("fast", `export default (job) => console.log("fast", job.id);`);
    let slowDone = 0;
    const slowRuns = Array.from(
      { length: 4 },
      (_, i) => plugin.runHooksAsync(warm, [slow], env(i + 1), i + 1).then((o) => (slowDone++, o)),
    );
    const fastRuns = await Promise.all(
      Array.from(
        { length: 16 },
        (_, i) => plugin.runHooksAsync(warm, [fast], env(100 + i), 100 + i),
      ),
    );
    // Every fast hook is back while the slow ones, started first, still run.
    assert.equal(slowDone, 0);
    fastRuns.forEach((o, i) => assert.equal(text(o), `fast ${100 + i}`));
    for (const o of await Promise.all(slowRuns)) assert.equal(text(o), "slow");
  },
});

Deno.test({
  name: "warm: concurrent first hooks of a module, while its warm host starts, all run warm",
  ...opts,
  async fn() {
    for (let round = 0; round < 3; round++) {
      const path = hook(`cold-${round}`, `export default (job) => console.log("cold", job.id);`);
      const outs = await Promise.all(
        Array.from({ length: 12 }, (_, i) => plugin.runHooksAsync(warm, [path], env(i + 1), i + 1)),
      );
      outs.forEach((o, i) => {
        assert.equal(o.fallback, undefined, `round ${round} call ${i}: ${o.output}`);
        assert.equal(text(o), `cold ${i + 1}`, `round ${round} call ${i}`);
      });
    }
  },
});

Deno.test({
  name: "warm: the timeout stops a runaway hook with the runner's message",
  ...opts,
  async fn() {
    const path = hook("runaway", `export default () => { for (;;) {} };`);
    const o = await plugin.runHooks({ ...warm, timeoutSeconds: 1 }, [path], env(7));
    assert.equal(o.fallback, undefined);
    assert.equal(o.exitCode, 124);
    assert.equal(o.timedOut, true);
    assert.match(o.output, /job 7: timed out after 1 s/);
  },
});

Deno.test({
  name: "warm: the import attack and every read route stay blocked",
  ...opts,
  async fn() {
    const secretDir = join(DIR, "secret");
    Deno.mkdirSync(secretDir);
    Deno.writeTextFileSync(join(secretDir, "s.txt"), "TOPSECRET");
    const routes = {
      "munge.key":
        `(await import("file:///etc/munge/munge.key", { with: { type: "bytes" } })).default.length`,
      "shadow": `(await import("file:///etc/shadow", { with: { type: "text" } })).default`,
      "secret import":
        `(await import("file://${secretDir}/s.txt", { with: { type: "text" } })).default`,
      "secret read": `Deno.readTextFileSync("${secretDir}/s.txt")`,
      "socket dir": `JSON.stringify([...Deno.readDirSync("${join(DIR, "run")}")])`,
    };
    const code = `export default async () => { const got = {};\n` +
      Object.entries(routes).map(([k, e]) =>
        `try { got[${JSON.stringify(k)}] = "LEAKED " + String(${e}); } catch (e) { got[${
          JSON.stringify(k)
        }] = "blocked " + e.name; }`
      ).join("\n") + `\nconsole.log(JSON.stringify(got)); };`;
    const o = await plugin.runHooks(warm, [
      hook("attack", code, { default: { read: ["/usr/share"] } }),
    ], env(9));
    assert.equal(o.fallback, undefined);
    assert.equal(o.exitCode, 0, o.output);
    assert.ok(!o.output.includes("TOPSECRET"));
    const got = JSON.parse(o.output.trim());
    for (const k of Object.keys(routes)) assert.match(got[k], /^blocked /, k);
  },
});

Deno.test({
  name: "warm: a denied permission names the set; a policy change takes effect",
  ...opts,
  async fn() {
    const data = join(DIR, "data.txt");
    Deno.writeTextFileSync(data, "ok");
    const path = hook(
      "policy",
      `export default () => console.log(Deno.readTextFileSync("${data}"));`,
      { default: {} },
    );
    const denied = await plugin.runHooks(warm, [path], env(1));
    assert.equal(denied.exitCode, 1);
    assert.match(
      denied.output,
      /permission denied: read access to .*data\.txt.*permission set "default"/,
    );
    await new Promise((r) => setTimeout(r, 20));
    Deno.writeTextFileSync(
      join(DIR, "policy", "deno.json"),
      JSON.stringify({ permissions: { default: { read: [data] } } }),
    );
    const allowed = await plugin.runHooks(warm, [path], env(2));
    assert.equal(allowed.exitCode, 0, allowed.output);
    assert.equal(text(allowed), "ok");
  },
});

Deno.test({
  name: "warm: no service answering means the spawn path, with the reason",
  ...opts,
  async fn() {
    const path = hook(
      "fallback",
      `export default (job) => { console.log("ran", job.id); return 6; };`,
    );
    const o = await plugin.runHooks(
      { ...warm, warmSocket: join(DIR, "nobody.sock") },
      [path],
      env(3),
    );
    assert.match(o.fallback!, /cannot connect/);
    assert.equal(o.exitCode, 6);
    assert.equal(text(o), "ran 3");
  },
});

Deno.test({
  name: "warm: the service killed mid-run, every hook still completes through the fallback",
  ...opts,
  async fn() {
    const path = hook(
      "midrun",
      `export default async (job) => { await new Promise((r) => setTimeout(r, 1500)); return job.id % 5; };`,
    );
    const calls = Array.from(
      { length: 8 },
      (_, i) => plugin.runHooksAsync(warm, [path], env(i + 1), i + 1),
    );
    await new Promise((r) => setTimeout(r, 500));
    await stopService();
    const outcomes = await Promise.all(calls);
    outcomes.forEach((o, i) => {
      assert.equal(o.exitCode, (i + 1) % 5, `call ${i}: ${o.output}`);
      assert.ok(o.fallback, `call ${i} did not fall back`);
    });
    await plugin.close();
    Deno.removeSync(DIR, { recursive: true });
  },
});
