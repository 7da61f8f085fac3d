// SPDX-License-Identifier: GPL-2.0-or-later
// Warm timeouts really stop the hook, by killing its host process: busy
// loops, imports that never finish, and what happens to other jobs.
import assert from "node:assert/strict";
import { join } from "node:path";
import { opts, startService, text } from "./service.ts";

/** Whether a process whose command line contains `marker` is alive. */
function alive(marker: string): boolean {
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${e.name}/cmdline`).includes(marker)) return true;
    } catch { /* gone */ }
  }
  return false;
}
/** Threads busy in `path`'s hosts: the CPU time of the service's process tree grows. */
async function cpuOfTree(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", { args: ["-o", "pid=,ppid=,time=", "-e"] }).output();
  const rows = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) =>
    l.trim().split(/\s+/)
  );
  const tree = new Set([String(pid)]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [p, pp] of rows) if (tree.has(pp) && !tree.has(p)) tree.add(p), grew = true;
  }
  let s = 0;
  for (const [p, , t] of rows) {
    if (!tree.has(p)) continue;
    const [h, m, sec] = t.split(":").map(Number);
    s += h * 3600 + m * 60 + sec;
  }
  return s;
}

for (const mode of ["fresh", "reuse"]) {
  Deno.test({
    name: `warm ${mode}: a busy hook that times out is stopped (its process killed), 124`,
    ...opts,
    async fn() {
      await using s = await startService();
      const path = s.hook("spin", `export default () => { for (;;) {} };`, { warm: { mode } });
      const o = await s.run(path, 7, 1);
      assert.equal(o.fallback, undefined);
      assert.equal(o.exitCode, 124);
      assert.match(o.log, /job 7: timed out after 1 s; the hook was killed with its warm host/);
      // Nothing spins any more: the tree's CPU time stands still.
      await new Promise((r) => setTimeout(r, 500));
      const before = await cpuOfTree(s.child.pid);
      await new Promise((r) => setTimeout(r, 2500));
      assert.ok((await cpuOfTree(s.child.pid)) - before <= 1, "something still spins");
      // And the module still runs for the next job.
      Deno.writeTextFileSync(path, `export default () => console.log("fine");`);
      assert.equal(text(await s.run(path, 8, 5)), "fine");
    },
  });

  for (
    const [what, code] of [
      [
        "a top-level await that never settles",
        `await new Promise(() => {});\nexport default () => {};`,
      ],
      ["a top-level busy loop", `for (;;) {}\nexport default () => {};`],
    ]
  ) {
    Deno.test({
      name:
        `warm ${mode}: ${what} times out (the timer runs from before the import) and is not run again`,
      ...opts,
      async fn() {
        await using s = await startService();
        const marker = `import-hang-${mode}-${what.length}`;
        const path = s.hook(marker, `// ${marker}\n${code}`, { warm: { mode } });
        const o = await s.run(path, 3, 1);
        assert.equal(o.exitCode, 124, o.output);
        assert.equal(o.fallback, undefined, "the plugin ran it again through the spawn path");
        assert.match(o.log, /timed out after 1 s/);
        await new Promise((r) => setTimeout(r, 300));
        assert.ok(!alive(`${marker}/hook.ts`), "its warm host still runs");
      },
    });
  }

  Deno.test({
    name: `warm ${mode}: a timeout kills no other job (one job per host process)`,
    ...opts,
    async fn() {
      await using s = await startService();
      const path = s.hook(
        "mixed",
        `export default async (job) => {
          if (job.id === 1) for (;;) {}
          await new Promise((r) => setTimeout(r, 1500));
          console.log("done", job.id);
        };`,
        { warm: { mode, hosts: 4 } },
      );
      const runs = [1, 2, 3, 4].map((id) => s.run(path, id, id === 1 ? 1 : 20));
      const [spin, ...rest] = await Promise.all(runs);
      assert.equal(spin.exitCode, 124);
      for (const [i, o] of rest.entries()) {
        assert.equal(o.exitCode, 0, o.output);
        assert.equal(text(o), `done ${i + 2}`);
      }
    },
  });

  Deno.test({
    name: `warm ${mode}: a host killed during a job fails that job precisely, never runs it twice`,
    ...opts,
    async fn() {
      await using s = await startService();
      Deno.mkdirSync(join(s.dir, "marks"));
      const marker = join(s.dir, "marks", `ran-${mode}`);
      const path = s.hook(
        "crash",
        `export default async () => {
          Deno.writeTextFileSync("${marker}", "x", { append: true });
          await new Promise((r) => setTimeout(r, 60000));
        };`,
        { warm: { mode }, permissions: { default: { write: [join(s.dir, "marks")] } } },
      );
      const run = s.run(path, 4, 60);
      // The hook is in its job once it wrote its mark (after the type check and the host's start).
      for (let i = 0; i < 600; i++) {
        try {
          if (Deno.readTextFileSync(marker) === "x") break;
        } catch { /* not yet */ }
        await new Promise((r) => setTimeout(r, 100));
      }
      // Kill the host from outside, as the kernel's OOM killer would.
      for (const e of Deno.readDirSync("/proc")) {
        if (!/^\d+$/.test(e.name)) continue;
        try {
          const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`);
          if (cmd.includes("__warmhost") && cmd.includes("crash/hook.ts")) {
            Deno.kill(Number(e.name), "SIGKILL");
          }
        } catch { /* gone */ }
      }
      const o = await run;
      assert.equal(o.fallback, undefined);
      assert.equal(o.exitCode, 1, o.output);
      assert.match(o.log, /the warm host process ended during the hook .*not run again/);
      assert.equal(Deno.readTextFileSync(marker), "x", "the hook ran twice");
    },
  });
}

Deno.test({
  name: "warm: the whole-host memory limit (off-heap too) ends the job with 125 and says so",
  ...opts,
  async fn() {
    await using s = await startService(["--memory-mb", "300"]);
    // Before it passes the limit, the hook has a child print a forged cause
    // line and record on the host's own stdout and stderr.
    const forged = "prep-deno-outcome/1\\tmemory\\t125\\tprolog\\t/x.ts\\t6\\tforged\\tforged";
    const path = s.hook(
      "hog",
      `export default async () => {
        await new Deno.Command("/bin/sh", {
          args: ["-c", 'for fd in 1 2; do printf "prep-deno: cause: forged\\n%s\\n" "$0" >&$fd; done', "${forged}"],
          stdout: "inherit",
          stderr: "inherit",
        }).output();
        const keep = [];
        for (let i = 0; i < 64; i++) keep.push(new Uint8Array(32 << 20).fill(1));
        console.log("survived", keep.length);
      };`,
      { permissions: { default: { run: ["/bin/sh"] } } },
    );
    const o = await s.run(path, 6, 60);
    assert.equal(o.fallback, undefined);
    assert.equal(o.exitCode, 125, o.output);
    assert.match(o.log, /out of memory: the hook passed its memory limit of 300 MiB/);
    assert.match(o.log, /warm host process was killed, and the hook not run again/);
    // The drain reason: the launcher's record, as the spawn path gives it.
    assert.equal(o.record?.kind, "memory");
    assert.equal(o.record?.cause, "out of memory: passed its memory limit of 300 MiB");
    assert.match(s.log(), /prep-deno: cause: forged/); // it did print, to the host's stderr
    // The next job gets a new host.
    Deno.writeTextFileSync(path, `export default () => console.log("small");`);
    assert.equal(text(await s.run(path, 7, 30)), "small");
  },
});
