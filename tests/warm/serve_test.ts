// SPDX-License-Identifier: GPL-2.0-or-later
// The warm path: the plugin's C client (through the binding) against a real
// `prep-deno serve`, whose warm hosts run in the spawn path's sandbox. Each
// test has a service of its own.
import assert from "node:assert/strict";
import { join } from "node:path";
import { env, opts, startService, text } from "./service.ts";

Deno.test({
  name: "warm: the service runs a hook, and nothing fell back",
  ...opts,
  async fn() {
    await using s = await startService();
    const path = s.hook(
      "hello",
      `export const prolog = (job) => { console.log("warm", job.id, job.context); return 3; };`,
    );
    const o = await s.plugin.runHooks(s.cfg(), [path], env(5));
    assert.equal(o.fallback, undefined);
    assert.equal(o.exitCode, 3);
    assert.equal(text(o), "warm 5 prolog_slurmd");
    // The socket is root's alone, in a folder the service made root-only.
    assert.equal(Deno.statSync(s.socket).mode! & 0o777, 0o600);
    assert.equal(Deno.statSync(join(s.dir, "run")).mode! & 0o777, 0o700);
  },
});

Deno.test({
  name: "warm: a module changed on disk is picked up for the next job",
  ...opts,
  async fn() {
    await using s = await startService();
    const path = s.hook("change", `export default () => console.log("v1");`);
    assert.equal(text(await s.run(path, 1)), "v1");
    await new Promise((r) => setTimeout(r, 20));
    Deno.writeTextFileSync(path, `export default () => console.log("v2, longer");`);
    assert.equal(text(await s.run(path, 2)), "v2, longer");
  },
});

Deno.test({
  name: "warm: many hooks at once, a slow one blocks no other",
  ...opts,
  async fn() {
    await using s = await startService();
    const slow = s.hook(
      "slow",
      `export default async () => { await new Promise((r) => setTimeout(r, 4000)); console.log("slow"); };`,
      { warm: { hosts: 8 } },
    );
    const fast = s.hook("fast", `export default (job) => console.log("fast", job.id);`);
    let slowDone = 0;
    const slowRuns = Array.from(
      { length: 4 },
      (_, i) => s.run(slow, i + 1).then((o) => (slowDone++, o)),
    );
    const fastRuns = await Promise.all(Array.from({ length: 16 }, (_, i) => s.run(fast, 100 + i)));
    // Every fast hook is back while the slow ones, started first, still run.
    assert.equal(slowDone, 0);
    fastRuns.forEach((o, i) => assert.equal(text(o), `fast ${100 + i}`));
    for (const o of await Promise.all(slowRuns)) assert.equal(text(o), "slow");
  },
});

Deno.test({
  name: "warm: concurrent first hooks of a module, while its warm hosts start, all run warm",
  ...opts,
  async fn() {
    await using s = await startService();
    for (let round = 0; round < 2; round++) {
      const path = s.hook(`cold-${round}`, `export default (job) => console.log("cold", job.id);`);
      const outs = await Promise.all(Array.from({ length: 12 }, (_, i) => s.run(path, i + 1)));
      outs.forEach((o, i) => {
        assert.equal(o.fallback, undefined, `round ${round} call ${i}: ${o.output}`);
        assert.equal(text(o), `cold ${i + 1}`, `round ${round} call ${i}`);
      });
    }
  },
});

Deno.test({
  name: "warm: the import attack and every read route stay blocked",
  ...opts,
  async fn() {
    await using s = await startService();
    const secretDir = join(s.dir, "secret");
    Deno.mkdirSync(secretDir);
    Deno.writeTextFileSync(join(secretDir, "s.txt"), "TOPSECRET");
    const routes = {
      "munge.key":
        `(await import("file:///etc/munge/munge.key", { with: { type: "bytes" } })).default.length`,
      "shadow": `(await import("file:///etc/shadow", { with: { type: "text" } })).default`,
      "secret import":
        `(await import("file://${secretDir}/s.txt", { with: { type: "text" } })).default`,
      "secret read": `Deno.readTextFileSync("${secretDir}/s.txt")`,
      "socket dir": `JSON.stringify([...Deno.readDirSync("${join(s.dir, "run")}")])`,
    };
    const code = `export default async () => { const got = {};\n` +
      Object.entries(routes).map(([k, e]) =>
        `try { got[${JSON.stringify(k)}] = "LEAKED " + String(${e}); } catch (e) { got[${
          JSON.stringify(k)
        }] = "blocked " + e.name; }`
      ).join("\n") + `\nconsole.log(JSON.stringify(got)); };`;
    const o = await s.run(
      s.hook("attack", code, { permissions: { default: { read: ["/usr/share"] } } }),
      9,
    );
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
    await using s = await startService();
    const data = join(s.dir, "data.txt");
    Deno.writeTextFileSync(data, "ok");
    const path = s.hook(
      "policy",
      `export default () => console.log(Deno.readTextFileSync("${data}"));`,
      { permissions: { default: {} } },
    );
    const denied = await s.run(path, 1);
    assert.equal(denied.exitCode, 1);
    assert.match(
      denied.output,
      /permission denied: read access to .*data\.txt.*permission set "default"/,
    );
    await new Promise((r) => setTimeout(r, 20));
    Deno.writeTextFileSync(
      join(s.dir, "policy", "deno.json"),
      JSON.stringify({ permissions: { default: { read: [data] } } }),
    );
    const allowed = await s.run(path, 2);
    assert.equal(allowed.exitCode, 0, allowed.output);
    assert.equal(text(allowed), "ok");
  },
});

Deno.test({
  name: "warm: no service answering means the spawn path, with the reason",
  ...opts,
  async fn() {
    await using s = await startService();
    const path = s.hook(
      "fallback",
      `export default (job) => { console.log("ran", job.id); return 6; };`,
    );
    const o = await s.plugin.runHooks(
      { ...s.cfg(), warmSocket: join(s.dir, "nobody.sock") },
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
    await using s = await startService();
    const path = s.hook(
      "midrun",
      `export default async (job) => { await new Promise((r) => setTimeout(r, 1500)); return job.id % 5; };`,
    );
    const calls = Array.from({ length: 8 }, (_, i) => s.run(path, i + 1));
    await new Promise((r) => setTimeout(r, 500));
    s.child.kill("SIGKILL");
    const outcomes = await Promise.all(calls);
    outcomes.forEach((o, i) => {
      assert.equal(o.exitCode, (i + 1) % 5, `call ${i}: ${o.output}`);
      assert.ok(o.fallback, `call ${i} did not fall back`);
    });
  },
});
