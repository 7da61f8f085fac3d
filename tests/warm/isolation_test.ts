// SPDX-License-Identifier: GPL-2.0-or-later
// What warm jobs cannot share or reach: state between fresh jobs, the warm
// host's connection, the service's environment; children and output bounded.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { opts, startService, text } from "./service.ts";

Deno.test({
  name: "warm fresh: no state crosses jobs (globals, Cache API, BroadcastChannel, /tmp files)",
  ...opts,
  async fn() {
    await using s = await startService();
    const path = s.hook(
      "fresh",
      `let n = 0;
      export default async () => {
        n++;
        const seen = [];
        if (typeof caches !== "undefined") {
          const c = await caches.open("x");
          if (await c.match("http://x/")) seen.push("cache");
          await c.put("http://x/", new Response("1"));
        }
        if (typeof BroadcastChannel !== "undefined") new BroadcastChannel("x").postMessage(1);
        // A child writes the sandbox's own /tmp (no Deno grant needed).
        const sh = await new Deno.Command("/bin/sh", { args: ["-c",
          "cat /tmp/mark 2>/dev/null; echo 1 > /tmp/mark"] }).output();
        if (new TextDecoder().decode(sh.stdout).includes("1")) seen.push("file");
        console.log("count", n, "seen", seen.join(",") || "nothing",
          typeof caches, typeof BroadcastChannel);
      };`,
      { permissions: { default: { run: ["/bin/sh"] } }, warm: { hosts: 1 } },
    );
    for (let i = 0; i < 3; i++) {
      const o = await s.run(path, i + 1);
      assert.equal(o.fallback, undefined);
      assert.equal(text(o), "count 1 seen nothing undefined undefined");
    }
  },
});

Deno.test({
  name: "warm: the hook gets the job's environment, its `run` children too, never the service's",
  ...opts,
  async fn() {
    await using s = await startService();
    const path = s.hook(
      "env",
      `export default async () => {
        const out = await new Deno.Command("/usr/bin/env").output();
        const child = new TextDecoder().decode(out.stdout);
        console.log(JSON.stringify({ job: Deno.env.get("SLURM_JOB_ID"),
          child: child.includes("SLURM_JOB_ID=42"),
          leak: /PREP_DENO_TEST_SECRET/.test(child) || Deno.env.has("PREP_DENO_TEST_SECRET") }));
      };`,
      { permissions: { default: { run: ["/usr/bin/env"], env: true } } },
    );
    // The service itself runs with a variable no hook may see.
    Deno.env.set("PREP_DENO_TEST_SECRET", "x");
    const o = await s.run(path, 42);
    assert.equal(o.exitCode, 0, o.output);
    assert.deepEqual(JSON.parse(text(o)), { job: "42", child: true, leak: false });
  },
});

Deno.test({
  name: "warm: every child of a job is gone when the job ends (both modes)",
  ...opts,
  async fn() {
    await using s = await startService();
    for (const mode of ["fresh", "reuse"]) {
      const marker = `leftover-${mode}-${crypto.randomUUID()}`;
      const path = s.hook(
        `child-${mode}`,
        `export default () => {
          new Deno.Command("/bin/sh", { args: ["-c", "exec -a ${marker} sleep 300 &"] }).spawn();
        };`,
        { permissions: { default: { run: ["/bin/sh"] } }, warm: { mode } },
      );
      const o = await s.run(path, 1);
      assert.equal(o.exitCode, 0, o.output);
      await new Promise((r) => setTimeout(r, 300));
      const ps = new TextDecoder().decode(
        (await new Deno.Command("ps", { args: ["-eo", "args"] }).output()).stdout,
      );
      assert.ok(!ps.includes(marker), `${mode}: the job's child outlived it`);
    }
  },
});

Deno.test({
  name: "warm: a hook with `run` cannot take over its host's connection and answer later jobs",
  ...opts,
  async fn() {
    await using s = await startService();
    // The attack, by a child process with every Deno permission: find the
    // warm host's socket from its command line, connect to it, then listen
    // there in its place, kill the host, and answer later jobs with a
    // forged status 0.
    const attacker = `
      let sock = "";
      for (const e of Deno.readDirSync("/proc")) {
        try {
          const cmd = Deno.readTextFileSync("/proc/" + e.name + "/cmdline").split("\\0");
          const i = cmd.indexOf("__warmhost");
          if (i >= 0 && !cmd[0].includes("bwrap")) {
            sock = JSON.parse(cmd[i + 1]).socketPath;
            globalThis.hostPid = Number(e.name);
          }
        } catch { /* not ours */ }
      }
      let connected = "no";
      try { (await Deno.connect({ transport: "unix", path: sock })).close(); connected = "yes"; } catch { /* gone */ }
      Deno.writeTextFileSync(REPORT, JSON.stringify({ found: sock !== "", connected }));
      try { Deno.removeSync(sock); } catch { /* gone */ }
      const l = Deno.listen({ transport: "unix", path: sock });
      Deno.kill(globalThis.hostPid, "SIGKILL");
      const reply = new TextEncoder().encode("0\\0forged\\n");
      for await (const c of l) {
        const head = new Uint8Array(4);
        new DataView(head.buffer).setUint32(0, reply.length, true);
        await c.write(new Uint8Array(4)); await c.write(head); await c.write(reply);
      }`;
    const marks = join(s.dir, "marks");
    Deno.mkdirSync(marks);
    const report = join(marks, "attack.json");
    const path = s.hook(
      "takeover",
      `export default async (job) => {
        if (job.id !== 1) { console.log("real", job.id); return 5; }
        new Deno.Command(Deno.execPath(), { args: ["eval", ${
        JSON.stringify(attacker.replace("REPORT", JSON.stringify(report)))
      }] }).spawn();
        await new Promise((r) => setTimeout(r, 20000));
      };`,
      { permissions: { default: { run: true, write: [marks] } }, warm: { hosts: 1 } },
    );
    // The job whose hook killed its host fails; it is not run again.
    const first = await s.run(path, 1);
    assert.equal(first.exitCode, 1, first.output);
    assert.match(first.log, /the warm host process ended during the hook/);
    assert.ok(existsSync(report), s.log());
    assert.deepEqual(JSON.parse(Deno.readTextFileSync(report)), { found: true, connected: "no" });
    for (const id of [2, 3]) {
      const o = await s.run(path, id);
      assert.equal(o.exitCode, 5, o.output);
      assert.equal(text(o), `real ${id}`);
    }
  },
});

Deno.test({
  name: "warm: output is capped at 1 MiB with a note; fake output messages are not heard",
  ...opts,
  async fn() {
    await using s = await startService();
    const path = s.hook(
      "loud",
      // Not a type test: it posts messages only the runner's own code may.
      `// @ts-nocheck
export default () => {
        const line = "x".repeat(1023) + "\\n";
        for (let i = 0; i < 8 * 1024; i++) Deno.stdout.writeSync(new TextEncoder().encode(line));
        for (let i = 0; i < 1000; i++) self.postMessage({ kind: "output", data: new Uint8Array(1 << 20) });
        self.postMessage({ kind: "returned", status: 0 });
        return 9;
      };`,
    );
    const o = await s.run(path, 1, 20);
    assert.equal(o.exitCode, 9, o.output.slice(-300));
    const tail = o.output.slice(-300);
    assert.ok(o.output.length <= 1024 * 1024, `${o.output.length} bytes`);
    assert.match(tail, /output truncated: \d+ more bytes were read and dropped/);
    // What was dropped and what was kept add up to what the hook wrote.
    const dropped = Number(/truncated: (\d+) more/.exec(tail)![1]);
    assert.equal(o.output.indexOf("\n[prep/deno") + dropped, 8 * 1024 * 1024);
  },
});

Deno.test({
  name: "warm reuse: the module is imported once per host and keeps its state; fresh does not",
  ...opts,
  async fn() {
    await using s = await startService();
    const code = `let n = 0;\nexport default () => { n++; console.log("count", n); };`;
    const reuse = s.hook("reuse", code, { warm: { mode: "reuse", hosts: 1 } });
    const fresh = s.hook("fresh", code, { warm: { mode: "fresh", hosts: 1 } });
    for (let i = 1; i <= 3; i++) {
      assert.equal(text(await s.run(reuse, i)), `count ${i}`);
      assert.equal(text(await s.run(fresh, i)), "count 1");
    }
  },
});

Deno.test({
  name: 'warm: a bad "warm" object is refused with 126 naming the file and the key',
  ...opts,
  async fn() {
    await using s = await startService();
    for (
      const [warm, pattern] of [
        [{ mode: "shared" }, /"warm\.mode" must be "fresh" .* or "reuse"/],
        [{ hosts: 0 }, /"warm\.hosts" must be an integer from 1 to 64, not 0/],
        [{ pool: 2 }, /"warm\.pool" is unknown; use mode, hosts/],
        ["reuse", /"warm" must be an object/],
      ] as const
    ) {
      const path = s.hook(`bad-${JSON.stringify(warm).length}`, `export default () => {};`, {
        warm,
      });
      const o = await s.run(path, 1);
      assert.equal(o.exitCode, 126, o.output);
      assert.match(
        o.log,
        new RegExp(`${join(path, "..", "deno.json")}: `.replace(/[.\\/]/g, "\\$&")),
      );
      assert.match(o.log, pattern);
    }
  },
});

Deno.test({
  name:
    "warm: a hook that closes its worker or calls Deno.exit gets a status, and its host is replaced",
  ...opts,
  async fn() {
    await using s = await startService();
    for (const mode of ["fresh", "reuse"]) {
      const closes = s.hook(`close-${mode}`, `export default () => { self.close(); };`, {
        warm: { mode, hosts: 1 },
      });
      const o = await s.run(closes, 1, 10);
      assert.equal(o.exitCode, 1, o.output);
      assert.match(o.log, /closed its worker/);
      const exits = s.hook(`exit-${mode}`, `export default () => { Deno.exit(7); };`, {
        warm: { mode, hosts: 1 },
      });
      assert.equal((await s.run(exits, 2, 10)).exitCode, 7);
      assert.equal((await s.run(exits, 3, 10)).exitCode, 7);
    }
  },
});
