// SPDX-License-Identifier: GPL-2.0-or-later
// The process limit (--tasks-max, PrEpParameters=tasks_max): a fork bomb in a
// hook is bounded by the hook's pids cgroup, the hook fails with a cause that
// names the limit, every process of it is gone, and the node still forks.
import assert from "node:assert/strict";
import { join } from "node:path";
import { NUMBERS } from "../../src/contract.ts";
import { prepDeno, tryStatus, writeFiles } from "../helpers.ts";

/** Whether a pids cgroup can be made below ours, as the launcher does (v2 or v1). */
function pidsCgroupWritable(): boolean {
  const candidates: string[] = [];
  for (const line of Deno.readTextFileSync("/proc/self/cgroup").split("\n")) {
    const [, ctrl, path] = line.split(":");
    if (ctrl?.split(",").includes("pids")) candidates.push(`/sys/fs/cgroup/pids${path}`);
    if (ctrl === "") candidates.push(`/sys/fs/cgroup${path}`);
  }
  for (const base of candidates) {
    const probe = `${base}/prep-deno-test-probe-${Deno.pid}`;
    try {
      Deno.mkdirSync(probe);
    } catch {
      continue;
    }
    try {
      if ([...Deno.readDirSync(probe)].some((e) => e.name === "pids.max")) return true;
    } finally {
      Deno.removeSync(probe);
    }
  }
  return false;
}

/** The pids of processes whose command line contains `marker`. */
async function pidsOf(marker: string): Promise<string[]> {
  const out = await new Deno.Command("pgrep", { args: ["-f", marker] }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean);
}

/** cgroups the launcher made that are still there. */
function leftCgroups(): string[] {
  const left: string[] = [];
  for (const root of ["/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory", "/sys/fs/cgroup"]) {
    try {
      for (const e of Deno.readDirSync(root)) {
        if (e.name.startsWith(`prep-deno-`)) left.push(join(root, e.name));
      }
    } catch { /* no such hierarchy */ }
  }
  return left;
}

Deno.test({
  name: "tasks: a fork bomb is bounded by --tasks-max, fails naming the limit, and leaves nothing",
  ignore: !pidsCgroupWritable(),
}, async () => {
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-tasks-" });
  const marker = `bomb-${crypto.randomUUID()}`;
  try {
    // Each copy starts two more, for ever: only the limit stops it.
    const bomb = writeFiles(dir, { [`${marker}.sh`]: `#!/bin/sh\n"$0" & "$0" & wait\n` });
    Deno.chmodSync(bomb, 0o755);
    const hook = writeFiles(dir, {
      "hook.ts": `export default async () => {
        await new Deno.Command("/bin/sh", { args: [${JSON.stringify(bomb)}] }).output();
      };`,
      "deno.json": JSON.stringify({ permissions: { default: { run: ["/bin/sh"] } } }),
    });
    const before = leftCgroups().length;
    const r = await prepDeno(["try", hook, "--tasks-max", "100", "--timeout", "120"]);
    assert.equal(tryStatus(r), 125, r.stderr.slice(-2000));
    assert.match(
      r.stderr,
      /the hook reached its process limit of 100 tasks \(processes and threads\); every process of it was killed \(raise it with --tasks-max, or PrEpParameters=tasks_max=N\)/,
    );
    assert.match(r.stderr, /prep-deno: cause: reached its process limit of 100 tasks\n/);
    // Every copy is gone and the launcher's cgroups with them.
    assert.deepEqual(await pidsOf(marker), []);
    assert.equal(leftCgroups().length, before);
    // The node still starts processes, and a hook under the default limit runs.
    writeFiles(dir, { "ok.ts": "export default () => {};" });
    const fine = await prepDeno(["try", join(dir, "ok.ts")]);
    assert.equal(tryStatus(fine), 0, fine.stderr);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("tasks: --tasks-max takes NUMBERS' bounds and names flag, value, range and key", async () => {
  const n = NUMBERS.tasks_max;
  for (const v of [String(n.min - 1), "-1", "lots", "99999999999999999999"]) {
    // `=`: parseArgs reads a lone "-1" as a flag.
    const r = await prepDeno(["try", "/nonexistent.ts", `--tasks-max=${v}`]);
    assert.equal(r.code, 2, v);
    assert.match(
      r.stderr,
      new RegExp(
        `--tasks-max=${v}: not a whole number from ${n.min} to ${n.max} \\(PrEpParameters tasks_max\\)`,
      ),
    );
  }
});
