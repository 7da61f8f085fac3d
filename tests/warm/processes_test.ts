// SPDX-License-Identifier: GPL-2.0-or-later
// Every process a warm job started ends with the job, `processes: "host"`
// included: a process that daemonized (setsid, double fork: reparented out
// of the host's tree, into the node's own PID namespace) and changed its
// user (so the host itself could not signal it) is gone when the
// job's answer arrives, and the next job in the same host does not see it.
import assert from "node:assert/strict";
import { opts, startService, text } from "./service.ts";
import { hookOutput, prepDeno, tryStatus, writeFiles } from "../helpers.ts";

/** The pids of processes whose command line contains `marker`. */
async function pidsOf(marker: string): Promise<string[]> {
  const out = await new Deno.Command("pgrep", { args: ["-f", marker] }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean);
}

Deno.test({
  name: 'warm, processes: "host": a daemonized process ends with its job (both modes)',
  ...opts,
  async fn() {
    await using s = await startService();
    for (const mode of ["fresh", "reuse"]) {
      // A sleep no other process runs: its length is the marker.
      const marker = `sleep ${1000 + Math.floor(Math.random() * 8000)}.${Deno.pid}`;
      const path = s.hook(
        `daemon-${mode}`,
        `const ps = async () => new TextDecoder().decode((await new Deno.Command("/bin/sh",
          { args: ["-c", "for p in /proc/[0-9]*; do tr '\\\\0' ' ' < $p/cmdline; echo; done 2>/dev/null"] })
          .output()).stdout).split("\\n");
        export default async (job) => {
          // Who runs the marker, as this job sees the node's processes.
          const mark = ${JSON.stringify(marker)};
          const seen = (await ps()).filter((l) => l.startsWith(mark));
          let started = false;
          if (job.id === 1) {
            // setsid and a double fork: the sleep's parent is the node's init;
            // and it is user nobody's: the host itself could not kill it.
            await new Deno.Command("/bin/sh", { args: ["-c",
              "setsid /bin/sh -c '/usr/bin/setpriv --reuid=65534 " + mark +
              " </dev/null >/dev/null 2>&1 &' &"] }).output();
            for (let i = 0; i < 500 && !started; i++) {
              started = (await ps()).some((l) => l.startsWith(mark));
              if (!started) await new Promise((r) => setTimeout(r, 10));
            }
          }
          console.log(JSON.stringify({ job: job.id, seen, started }));
        };`,
        {
          permissions: { default: { run: ["/bin/sh"] } },
          sandbox: { default: { processes: "host", capabilities: ["CAP_SETUID"] } },
          warm: { mode, hosts: 1 },
        },
      );
      const first = await s.run(path, 1);
      assert.equal(first.exitCode, 0, first.output + s.log());
      assert.equal(first.fallback, undefined);
      assert.deepEqual(JSON.parse(text(first)), { job: 1, seen: [], started: true });
      // The daemon ran (the job waited for it) and is gone once the job answered.
      assert.deepEqual(await pidsOf(marker), [], `${mode}: the daemon outlived its job`);
      const second = await s.run(path, 2);
      assert.equal(second.exitCode, 0, second.output);
      assert.deepEqual(JSON.parse(text(second)), { job: 2, seen: [], started: false }, mode);
    }
  },
});

Deno.test('spawn, processes: "host": a daemonized process that changed its user ends with the hook', async () => {
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-daemon-" });
  const marker = `sleep ${1000 + Math.floor(Math.random() * 8000)}.${Deno.pid}1`;
  try {
    const hook = writeFiles(dir, {
      "hook.ts": `export default async () => {
        await new Deno.Command("/bin/sh", { args: ["-c",
          "setsid /bin/sh -c '/usr/bin/setpriv --reuid=65534 ${marker} </dev/null >/dev/null 2>&1 &' &"] }).output();
        for (let i = 0; i < 500; i++) {
          const ps = await new Deno.Command("/bin/sh", { args: ["-c", "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\\\0' ' '"] }).output();
          if (new TextDecoder().decode(ps.stdout).includes(${
        JSON.stringify(marker)
      })) return console.log("started");
          await new Promise((r) => setTimeout(r, 10));
        }
      };`,
      "deno.json": JSON.stringify({
        permissions: { default: { run: ["/bin/sh"] } },
        sandbox: { default: { processes: "host", capabilities: ["CAP_SETUID"] } },
      }),
    });
    const r = await prepDeno(["try", hook]);
    assert.equal(tryStatus(r), 0, r.stderr);
    assert.match(hookOutput(r), /^started$/m);
    assert.deepEqual(await pidsOf(marker), [], "the daemon outlived its hook");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name: "warm: serve --tasks-max bounds each warm host; a fork bomb fails its job naming the limit",
  ...opts,
  async fn() {
    await using s = await startService(["--tasks-max", "100"]);
    const marker = `bomb-${crypto.randomUUID()}`;
    const bomb = `${s.dir}/${marker}.sh`;
    Deno.writeTextFileSync(bomb, `#!/bin/sh\n"$0" & "$0" & wait\n`);
    Deno.chmodSync(bomb, 0o755);
    const path = s.hook(
      "bomb",
      `export default async () => {
        await new Deno.Command("/bin/sh", { args: [${JSON.stringify(bomb)}] }).output();
      };`,
      { permissions: { default: { run: ["/bin/sh"], read: [s.dir] } }, warm: { hosts: 1 } },
    );
    const o = await s.run(path, 1, 120);
    assert.equal(o.exitCode, 125, o.output.slice(-2000) + s.log());
    // The runner's line and the drain reason, apart from the hook's output.
    assert.match(o.log, /the hook reached its process limit of 100 tasks/);
    assert.equal(o.record?.kind, "tasks");
    assert.equal(o.record?.cause, "reached its process limit of 100 tasks");
    assert.deepEqual(await pidsOf(marker), []);
    // The next job gets a new host and runs.
    const fine = s.hook("fine", "export default () => { console.log('fine'); };");
    const next = await s.run(fine, 2);
    assert.equal(next.exitCode, 0, next.output);
  },
});
