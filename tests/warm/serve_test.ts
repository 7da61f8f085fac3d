// SPDX-License-Identifier: GPL-2.0-or-later
// The warm path: the plugin's C client (through the binding) against a real
// `prep-deno serve`, whose warm hosts run in the spawn path's sandbox. Each
// test has a service of its own.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Outcome } from "../../ffi/mod.ts";
import { env, opts, startService, text } from "./service.ts";

// What the issue asks of both warm modes: a module or policy change taken up,
// no head-of-line blocking, the spawn path when no service answers.
const MODES = ["fresh", "reuse"] as const;

/** `config` with the warm mode set (fresh is also the default without one). */
function inMode(mode: string, config: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...config, warm: { ...(config.warm as object | undefined), mode } };
}

/** The hook's output, once it is known to have run warm (not in the spawn path). */
function warmText(o: Outcome): string {
  assert.equal(o.fallback, undefined, o.output);
  return text(o);
}

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

for (const mode of MODES) {
  Deno.test({
    name: `warm ${mode}: a module changed on disk is picked up for the next job`,
    ...opts,
    async fn() {
      await using s = await startService();
      const path = s.hook("change", `export default () => console.log("v1");`, inMode(mode));
      assert.equal(warmText(await s.run(path, 1)), "v1");
      await new Promise((r) => setTimeout(r, 20));
      Deno.writeTextFileSync(path, `export default () => console.log("v2, longer");`);
      assert.equal(warmText(await s.run(path, 2)), "v2, longer");
    },
  });

  Deno.test({
    name: `warm ${mode}: many hooks at once, a slow one blocks no other`,
    ...opts,
    async fn() {
      await using s = await startService();
      const slow = s.hook(
        "slow",
        `export default async () => { await new Promise((r) => setTimeout(r, 4000)); console.log("slow"); };`,
        inMode(mode, { warm: { hosts: 8 } }),
      );
      const fast = s.hook(
        "fast",
        `export default (job) => console.log("fast", job.id);`,
        inMode(mode),
      );
      let slowDone = 0;
      const slowRuns = Array.from(
        { length: 4 },
        (_, i) => s.run(slow, i + 1).then((o) => (slowDone++, o)),
      );
      const fastRuns = await Promise.all(
        Array.from({ length: 16 }, (_, i) => s.run(fast, 100 + i)),
      );
      // Every fast hook is back while the slow ones, started first, still run.
      assert.equal(slowDone, 0);
      fastRuns.forEach((o, i) => assert.equal(warmText(o), `fast ${100 + i}`));
      for (const o of await Promise.all(slowRuns)) assert.equal(warmText(o), "slow");
    },
  });
}

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
    // Not a type test: the routes are checked by what the kernel lets through.
    const code = `// @ts-nocheck\nexport default async () => { const got = {};\n` +
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

for (const mode of MODES) {
  Deno.test({
    name: `warm ${mode}: a denied permission names the set; a policy change takes effect`,
    ...opts,
    async fn() {
      await using s = await startService();
      const data = join(s.dir, "data.txt");
      Deno.writeTextFileSync(data, "ok");
      const path = s.hook(
        "policy",
        `export default () => console.log(Deno.readTextFileSync("${data}"));`,
        inMode(mode, { permissions: { default: {} } }),
      );
      const denied = await s.run(path, 1);
      assert.equal(denied.fallback, undefined, denied.output);
      assert.equal(denied.exitCode, 1);
      assert.match(
        denied.log,
        /permission denied: read access to .*data\.txt.*permission set "default"/,
      );
      await new Promise((r) => setTimeout(r, 20));
      Deno.writeTextFileSync(
        join(s.dir, "policy", "deno.json"),
        JSON.stringify(inMode(mode, { permissions: { default: { read: [data] } } })),
      );
      const allowed = await s.run(path, 2);
      assert.equal(allowed.exitCode, 0, allowed.output);
      assert.equal(warmText(allowed), "ok");
    },
  });

  Deno.test({
    name: `warm ${mode}: no service answering means the spawn path, with the reason`,
    ...opts,
    async fn() {
      await using s = await startService();
      const path = s.hook(
        "fallback",
        `export default (job) => { console.log("ran", job.id); return 6; };`,
        inMode(mode),
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
}

Deno.test({
  name:
    "warm: the service killed mid-run: started hooks fail precisely, the rest fall back, none runs twice",
  ...opts,
  async fn() {
    await using s = await startService();
    const marks = join(s.dir, "marks");
    Deno.mkdirSync(marks);
    const path = s.hook(
      "midrun",
      `export default async (job) => {
        Deno.writeTextFileSync("${marks}/" + job.id, "x", { append: true });
        await new Promise((r) => setTimeout(r, 1500));
        return job.id % 5;
      };`,
      { permissions: { default: { write: [marks] } }, warm: { hosts: 4 } },
    );
    const calls = Array.from({ length: 8 }, (_, i) => s.run(path, i + 1));
    // Four hooks start in the four hosts; four wait for one.
    for (let i = 0; i < 200 && [...Deno.readDirSync(marks)].length < 4; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    s.child.kill("SIGKILL");
    const outcomes = await Promise.all(calls);
    let started = 0;
    outcomes.forEach((o, i) => {
      if (o.fallback) {
        assert.equal(o.exitCode, (i + 1) % 5, `call ${i}: ${o.output}`);
      } else {
        started++;
        assert.equal(o.exitCode, 1, o.output);
        assert.match(o.log, /gave no result after the hook started: .*not run again/);
        // The real cause, as the node's reason gives it: the service went away.
        assert.equal(o.record?.kind, "lost", o.log);
        assert.equal(o.record?.cause, "warm service stopped mid-hook", o.log);
      }
    });
    assert.equal(started, 4);
    await new Promise((r) => setTimeout(r, 2000)); // the orphaned hosts end their hooks
    for (let id = 1; id <= 8; id++) {
      assert.equal(Deno.readTextFileSync(join(marks, String(id))), "x", `job ${id} ran twice`);
    }
  },
});

Deno.test({
  name:
    "warm: a stopped service (SIGTERM) lets running hooks finish; new ones go to the spawn path",
  ...opts,
  async fn() {
    await using s = await startService();
    const path = s.hook(
      "stop",
      `export default async (job) => { await new Promise((r) => setTimeout(r, 1500)); return job.id; };`,
    );
    const calls = [1, 2, 3].map((id) => s.run(path, id));
    await new Promise((r) => setTimeout(r, 800));
    s.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 200));
    const late = await s.run(path, 9);
    assert.match(late.fallback!, /cannot connect/);
    assert.equal(late.exitCode, 9);
    for (const [i, o] of (await Promise.all(calls)).entries()) {
      assert.equal(o.fallback, undefined, o.output);
      assert.equal(o.exitCode, i + 1, o.output);
    }
    assert.equal((await s.child.status).code, 0);
  },
});
