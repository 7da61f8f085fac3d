// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `deno task bench`: what one hook costs, measured directly (job latency in
 * Slurm is dominated by its scheduler). Every hook row runs through the
 * plugin's own C core, loaded with the FFI binding, so the numbers are the
 * plugin's: bash under Slurm's `run_command` (prep/script's real cost), bash
 * through prep/deno's core, a TypeScript hook through the spawn path (native
 * launcher, bubblewrap, one Deno process) and through the warm service in
 * both modes (a fresh isolate per job, or the module reused). Sequential and
 * 32-way; plus the floor (a bare `deno run --no-config` of an empty module),
 * the peak RSS of one hook's whole process tree and of the warm service with
 * four modules. Prints one table, writes docs/benchmarks.md and the plot
 * docs/benchmarks.svg.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type CoreConfig, PrepPlugin } from "../ffi/mod.ts";
import { fakeJobEnv } from "../src/job/slurm_vars.ts";
import {
  commandRun,
  concurrent,
  peakTreeRss,
  type Row,
  type RunOne,
  sequential,
  sideBySide,
  treeRssKb,
} from "./bench/measure.ts";
import { plotSvg } from "./bench/svg.ts";
import { bwrapCost, spawnParts } from "./bench/spawn_parts.ts";
import { observeCost } from "./bench/observe.ts";
import { typecheckCost } from "./bench/typecheck.ts";
import { startWarmService, treePssKb, warmNotes, warmTargets, workerCpuMs } from "./bench/warm.ts";

const TOP = join(dirname(fileURLToPath(import.meta.url)), "..");
const RUNNER = join(TOP, "build", "prep-deno");
const SEQUENTIAL = Number(Deno.env.get("BENCH_SEQUENTIAL") ?? 60);
const CONCURRENT_TOTAL = Number(Deno.env.get("BENCH_CONCURRENT") ?? 128);
const WIDTH = 32;
/** Runs of each layer in the spawn path's breakdown. */
const SPAWN_PARTS_RUNS = Number(Deno.env.get("BENCH_SPAWN_PARTS") ?? 30);
/** Say so in the report when the machine was shared during the run. */
const NOTE = Deno.env.get("BENCH_NOTE") ?? "";

/**
 * Warm service hooks (owned by the warm service's authors): the deno.json
 * that puts a module in reuse mode, and the one for fresh-isolate mode.
 */
export const WARM_FRESH_CONFIG: unknown = {};
export const WARM_REUSE_CONFIG: unknown = { warm: { mode: "reuse" } };

const loadavg = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
const loadAtStart = loadavg();
const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "prep-deno-bench-" });
const bash = join(dir, "hook.sh");
Deno.writeTextFileSync(bash, `#!/bin/bash\n[ -n "$SLURM_JOB_ID" ] || exit 1\n`, { mode: 0o755 });
Deno.chmodSync(bash, 0o755);
const HOOK = `export default (job) => { if (!job.id) return 1; };\n`;
const moduleIn = (sub: string, config?: unknown) => {
  Deno.mkdirSync(join(dir, sub));
  if (config !== undefined) {
    Deno.writeTextFileSync(join(dir, sub, "deno.json"), JSON.stringify(config));
  }
  Deno.writeTextFileSync(join(dir, sub, "hook.ts"), HOOK);
  return join(dir, sub, "hook.ts");
};
const ts = moduleIn("spawn");
const fresh = moduleIn("fresh", WARM_FRESH_CONFIG);
const reuse = moduleIn("reuse", WARM_REUSE_CONFIG);
const empty = join(dir, "empty.js");
Deno.writeTextFileSync(empty, "\n");
const env = fakeJobEnv("prolog_slurmd", { id: 1 });
const DENO = Deno.execPath();

await using plugin = PrepPlugin.open(join(TOP, "build", "prep_deno.so"));
const spawnCfg: CoreConfig = { runner: RUNNER, timeoutSeconds: 60 };
const socket = join(dir, "run", "serve.sock");
const warmCfg: CoreConfig = { ...spawnCfg, warmSocket: socket };

const throughCore = (hook: string, cfg: CoreConfig): RunOne => (e, id) =>
  id < 0 ? plugin.runHooks(cfg, [hook], e) : plugin.runHooksAsync(cfg, [hook], e, id);
const throughRunCommand = (hook: string): RunOne => async (e) => ({
  status: await plugin.runCommandAsPrepScript(hook, e, 60_000),
  output: "",
});

let service = await startWarmService(RUNNER, socket);

const rows: Row[] = [];
const missing: string[] = [];
const runs: [string, RunOne][] = [
  [
    "floor: bare `deno run --no-config` of an empty module",
    commandRun(DENO, [
      "run",
      "--no-config",
      empty,
    ]),
  ],
  ["bash, prep/script (Slurm's run_command)", throughRunCommand(bash)],
  ["bash, prep/deno core", throughCore(bash, spawnCfg)],
  ["TypeScript, spawn", throughCore(ts, spawnCfg)],
  ["TypeScript, warm fresh isolate", throughCore(fresh, warmCfg)],
  ["TypeScript, warm reuse", throughCore(reuse, warmCfg)],
];
// The spawn target is a ratio to the floor: their sequential runs alternate.
const FLOOR = runs[0][0];
const SPAWN = runs[3][0];
const ratioRows = new Map<string, Row>();
try {
  for (const r of await sideBySide([runs[0], runs[3]], env, SEQUENTIAL)) ratioRows.set(r.path, r);
} catch (e) {
  missing.push(`${FLOOR} beside ${SPAWN}: ${(e as Error).message.split("\n")[0]}`);
}
for (const [path, run] of runs) {
  try {
    // A warm path is measured warm: its pool's hosts started (a host's start is a
    // one-off, reported apart as the first job's cost).
    const warm = path.includes("warm");
    if (warm) await concurrent(path, run, env, WIDTH, WIDTH);
    rows.push(ratioRows.get(path) ?? await sequential(path, run, env, SEQUENTIAL, warm ? 10 : 1));
    rows.push(await concurrent(path, run, env, CONCURRENT_TOTAL, WIDTH));
  } catch (e) {
    missing.push(`${path}: not measured (${(e as Error).message.split("\n")[0]})`);
  }
}

// Peak RSS of one hook's whole tree, against a bare Deno doing the same wait.
const slow = moduleIn("rss");
Deno.writeTextFileSync(slow, `export default () => new Promise((r) => setTimeout(r, 300));\n`);
const slowEmpty = join(dir, "wait.js");
Deno.writeTextFileSync(slowEmpty, `await new Promise((r) => setTimeout(r, 300));\n`);
const median = async (f: () => Promise<number>) => {
  const xs: number[] = [];
  for (let i = 0; i < 5; i++) xs.push(await f());
  return xs.sort((a, b) => a - b)[2];
};
const rss = await median(() => peakTreeRss(RUNNER, ["run", slow], env));
const floorRss = await median(() => peakTreeRss(DENO, ["run", "--no-config", slowEmpty], env));

// A new service with four modules loaded (one per hook, as a site would have), in reuse mode:
// the one above still has the hosts its 32-way runs started.
service.kill("SIGTERM");
await service.status;
service = await startWarmService(RUNNER, socket);
const serviceAloneRss = treeRssKb(service.pid) / 1024;
for (const name of ["prolog", "epilog", "prologctld", "epilogctld"]) {
  await plugin.runHooks(warmCfg, [moduleIn(`four-${name}`, WARM_REUSE_CONFIG)], env);
}
await new Promise((r) => setTimeout(r, 500)); // let the hosts settle
const serviceRss = treeRssKb(service.pid) / 1024;
const servicePss = treePssKb(service.pid) / 1024;
const workerMs = await workerCpuMs(dir);
const withHelpers = moduleIn("helpers");
Deno.writeTextFileSync(
  withHelpers,
  `import * as helpers from "prep-deno";\nexport default (job) => { if (!job.id || !helpers) return 1; };\n`,
);
service.kill("SIGTERM");
await service.status;
const parts = await spawnParts(RUNNER, ts, empty, withHelpers, env, SPAWN_PARTS_RUNS);
const TYPECHECK_RUNS = Number(Deno.env.get("BENCH_TYPECHECK") ?? 7);
const typecheck = await typecheckCost(RUNNER, dir, env, TYPECHECK_RUNS);
const bwrap = await bwrapCost(ts, env, SPAWN_PARTS_RUNS * 2);
/** What the entry, bubblewrap and the launcher add to the floor together. */
const addedBySandbox = parts.slice(1, 4).reduce((sum, p) => sum + p.added, 0);
/** Bubblewrap's layer less what bwrap costs around a program that does nothing. */
const insideNamespaces = parts[2].added - (bwrap.plan - bwrap.bare);

const observe = observeCost(join(TOP, "build", "prep_deno.so"), 500);

const ms = (n: number) => n.toFixed(1);
const table = [
  "| hook | mode | p50 (ms) | p99 (ms) | hooks/s |",
  "| --- | --- | ---: | ---: | ---: |",
  ...rows.map((r) =>
    `| ${r.path} | ${r.mode} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.perSecond.toFixed(0)} |`
  ),
].join("\n");
const cpu = (Deno.readTextFileSync("/proc/cpuinfo").match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "?")
  .trim();
const row = (prefix: string, mode: string) =>
  rows.find((r) => r.path.startsWith(prefix) && r.mode.startsWith(mode));
const floor = row("floor", "seq");
const spawnSeq = row("TypeScript, spawn", "seq");
const verdict = (ok: boolean | undefined) => ok === undefined ? "n/a" : ok ? "met" : "missed";
const targets = [
  [
    "spawn p50 at most 1.5x the bare `deno run` floor",
    floor && spawnSeq
      ? `${ms(spawnSeq.p50)} ms vs a floor of ${ms(floor.p50)} ms: ${
        (spawnSeq.p50 / floor.p50).toFixed(2)
      }x (1.5x is ${ms(1.5 * floor.p50)} ms)`
      : "n/a",
    floor && spawnSeq ? spawnSeq.p50 <= 1.5 * floor.p50 : undefined,
  ],
  [
    "peak RSS of one spawned hook's whole process tree at most 60 MiB",
    `${rss.toFixed(0)} MiB (bare Deno: ${floorRss.toFixed(0)} MiB)`,
    rss <= 60,
  ],
  [
    "warm reuse p50 at or below bash through prep/deno's core",
    row("TypeScript, warm reuse", "seq") && row("bash, prep/deno", "seq")
      ? `${ms(row("TypeScript, warm reuse", "seq")!.p50)} vs ${
        ms(row("bash, prep/deno", "seq")!.p50)
      } ms`
      : "n/a",
    row("TypeScript, warm reuse", "seq") && row("bash, prep/deno", "seq")
      ? row("TypeScript, warm reuse", "seq")!.p50 <= row("bash, prep/deno", "seq")!.p50
      : undefined,
  ],
  [
    "warm reuse 32-way throughput at or above bash under run_command",
    row("TypeScript, warm reuse", "32") && row("bash, prep/script", "32")
      ? `${row("TypeScript, warm reuse", "32")!.perSecond.toFixed(0)} vs ${
        row("bash, prep/script", "32")!.perSecond.toFixed(0)
      }/s`
      : "n/a",
    row("TypeScript, warm reuse", "32") && row("bash, prep/script", "32")
      ? row("TypeScript, warm reuse", "32")!.perSecond >=
        row("bash, prep/script", "32")!.perSecond
      : undefined,
  ],
  ...warmTargets(row, serviceRss, servicePss),
  [
    "journal and metrics at most 2 ms per hook run",
    `${observe.meanMs.toFixed(3)} ms (journal record with 4 KiB of output: ${
      observe.journalMs.toFixed(3)
    } ms; metrics textfile rewritten: ${observe.metricsMs.toFixed(3)} ms; CPU time of both: ${
      observe.cpuMs.toFixed(3)
    } ms)`,
    observe.meanMs <= 2,
  ],
] as const;
const targetTable = [
  "| target | measured | |",
  "| --- | --- | --- |",
  ...targets.map(([what, measured, ok]) => `| ${what} | ${measured} | ${verdict(ok)} |`),
].join("\n");
const date = new Date().toISOString().slice(0, 10);
const loadAtEnd = loadavg();
// Only the start says whether other work was running: the bench's own 32-way
// rows load every CPU, so the end's 1-minute average is high on any machine.
const busy = Number(loadAtStart.split(" ")[0]) > navigator.hardwareConcurrency / 2;
const loadNote =
  `Load average (1, 5, 15 min) at the start: ${loadAtStart}; at the end: ${loadAtEnd}${
    busy
      ? ` on ${navigator.hardwareConcurrency} CPUs: other work was running on the machine when this run started, so every row is slower and noisier than on a quiet machine; compare rows with each other, not with another run`
      : ""
  }.`;
const title = `prep/deno hook cost, ${date}, ${navigator.hardwareConcurrency} CPUs`;
Deno.mkdirSync(join(TOP, "docs"), { recursive: true });
Deno.writeTextFileSync(join(TOP, "docs", "benchmarks.svg"), plotSvg(rows, title));

const report = `# Hook benchmarks

Made by \`deno task bench\` (scripts/bench.ts) on ${date}, ${navigator.hardwareConcurrency} CPUs
(${cpu}), Deno ${Deno.version.deno}. Each hook runs through the plugin's C core
(\`build/prep_deno.so\` via the FFI binding), as slurmd and slurmctld run it: ${SEQUENTIAL}
sequential runs, and ${CONCURRENT_TOTAL} runs ${WIDTH} at a time the way the slurmctld side runs
them (one core thread each). The floor row is a bare \`deno run --no-config\` of an empty module,
started by the bench itself (the core runs hook files), in the same run; its sequential runs and the
spawn row's are taken in turn, one of each, so the ratio between them does not depend on when in
the run each was measured. ${loadNote}${NOTE ? `\n\n${NOTE}` : ""}

${table}
${missing.length ? `\n${missing.map((m) => `- ${m}`).join("\n")}\n` : ""}
Peak RSS, summed over the whole process tree, of one spawned TypeScript hook (launcher,
bubblewrap, the hook's one Deno process; the hook waits 300 ms so the peak is seen):
${rss.toFixed(0)} MiB; of a bare \`deno run\` doing the same wait: ${floorRss.toFixed(0)} MiB.
RSS of the warm service with four reuse modules loaded: ${serviceRss.toFixed(0)} MiB (PSS ${
  servicePss.toFixed(0)
} MiB).

![p50 and throughput per path and mode](benchmarks.svg)

| target | measured | |
| --- | --- | --- |
${targets.map(([what, measured, ok]) => `| ${what} | ${measured} | ${verdict(ok)} |`).join("\n")}

How the spawn path gets there: \`build/prep-deno\` is native (src/launcher/). For \`run\` it
looks up the hook's launch plan (bwrap arguments and the \`deno run\` line with the policy as
Deno's own permission flags) in a root-only cache keyed by the stat of every folder and
\`deno.json\` the policy lookup reads; only on a miss does Deno compute it. It then starts
bwrap -> deno with the prebuilt entry (\`build/entry.js\`, bundled at build time, so the runner's
code is never transpiled per hook) in a memory cgroup of its own, and waits.

The type check before a hook runs (scripts/bench/typecheck.ts: a typed hook changed
${typecheck.runs} times, each change followed by two \`prep-deno run\`s, taken in turn): the
first run after a change makes the launch plan and type-checks the module in its view, p50 ${
  ms(typecheck.first)
} ms; the run after it uses the cached plan, p50 ${ms(typecheck.later)} ms (the check adds ${
  ms(typecheck.first - typecheck.later)
} ms, once per change; later runs check nothing: the spawn row above, a cached plan too, has p50 ${
  ms(spawnSeq?.p50 ?? NaN)
} ms).

| run | p50 (ms) |
| --- | ---: |
| first run after a change (plan and type check) | ${ms(typecheck.first)} |
| later runs (cached plan, no check) | ${ms(typecheck.later)} |

Where a spawned hook's time goes, measured in this run (scripts/bench/spawn_parts.ts: the same
hook started with one more layer each time, ${SPAWN_PARTS_RUNS} runs of each taken in rotation, so
a machine whose speed drifts shifts every layer alike; started from the bench, not through the
plugin's core):

| layer | p50 (ms) | adds (ms) |
| --- | ---: | ---: |
${parts.map((p) => `| ${p.what} | ${ms(p.p50)} | ${ms(p.added)} |`).join("\n")}

So the spawn path's cost over the floor is fixed, whatever the floor (the last row is the whole
path again for a hook that imports every helper: it adds what that import costs): ${
  ms(parts[1].added)
} ms of Deno running the entry and importing the hook (its permission flags, the job read
from stdin, the hook's module graph and its transpile), ${
  ms(parts[2].added)
} ms of bubblewrap making the hook's namespaces (mount, pid, net, ipc, uts, cgroup) and its
read-only view, ${
  parts[3].added < 1 ? "no measurable time" : `${ms(parts[3].added)} ms`
} of the launcher (the memory cgroup: creating it, moving the sandbox into it, which cgroup
v1 makes wait for an RCU grace period and which the launcher overlaps with bubblewrap's set-up,
and removing it). Through the plugin's core (its fork, pipes and job environment) the path
costs ${ms(spawnSeq?.p50 ?? NaN)} ms against a floor of ${ms(floor?.p50 ?? NaN)} ms.

Bubblewrap's share splits as follows, measured around \`/usr/bin/true\` (${
  ms(bwrap.bare)
} ms alone here): bubblewrap with nothing but a mount namespace and /usr, the least any
bubblewrap sandbox costs, adds ${
  ms(bwrap.minimal - bwrap.bare)
} ms (one process more, a mount namespace made, pivoted into and torn down); the plan's other
namespaces and its ${bwrap.mounts} mounts add ${ms(bwrap.plan - bwrap.minimal)} ms more; the
rest of the layer, ${
  insideNamespaces < 1 ? "nothing measurable" : `${ms(insideNamespaces)} ms`
}, is Deno starting inside those namespaces rather than outside them (${SPAWN_PARTS_RUNS * 2}
runs each, in rotation). So 1.5x the floor is within reach only where one bare Deno start costs
at least twice what the layers add (${
  ms(2 * addedBySandbox)
} ms here), and it moves further away the
faster Deno starts: where a bare Deno start takes 20 ms (the issue's other machine), 1.5x of it
leaves 10 ms for all the layers, which add ${ms(addedBySandbox)} ms here. None of the layers
can be given up: the namespaces and the view are the kernel wall, the cgroup bounds the whole
hook's memory and kills all of it at the timeout.

Two costs these layers showed are gone: Deno parsed the bundled entry for its imports in every
hook's empty DENO_DIR (~6 ms a run; the build now makes that analysis once,
\`build/entry.analysis.db\`, and the launcher copies it in), and a hook importing
\`"prep-deno"\` transpiled the helpers' TypeScript and, through one \`node:fs\` import,
started Deno's Node compatibility layer (~75 ms a run; \`"prep-deno"\` is now the bundle
\`build/mod.js\`, which imports \`node:fs\` only where a helper uses it). The hook's own
transpile is not worth a cache: seeding each DENO_DIR with it changed nothing measurable.

${
  warmNotes(workerMs, (serviceRss - serviceAloneRss) / 4, navigator.hardwareConcurrency, SEQUENTIAL)
}
Notes. The bash rows are the plugin's core running a bash hook with prep/script's semantics
(fork, own process group, output pipe, stragglers killed); prep/script's own \`run_command()\`
additionally pauses 10 ms after every script. The 32-way rows are CPU-bound on 2 cores. The reuse
row's module sits next to the \`deno.json\` of \`WARM_REUSE_CONFIG\` in scripts/bench.ts
(\`"warm": { "mode": "reuse" }\`); the fresh row's has none (fresh is the default).
`;
console.log(table);
for (const m of missing) console.log(m);
console.log(
  `\npeak RSS of one spawned hook's tree: ${rss.toFixed(0)} MiB (bare deno: ${
    floorRss.toFixed(0)
  } MiB); warm service, 4 modules: ${serviceRss.toFixed(0)} MiB`,
);
console.log(`\n${targetTable}\n\n${loadNote}`);
// `deno task bench-cluster` owns its own section of the file: kept as it was.
const mdPath = join(TOP, "docs", "benchmarks.md");
const oldMd = Deno.readTextFileSync(mdPath);
const cluster = /<!-- bench-cluster:start[\s\S]*<!-- bench-cluster:end -->/.exec(oldMd)?.[0];
Deno.writeTextFileSync(mdPath, cluster ? `${report.trimEnd()}\n\n${cluster}\n` : report);
Deno.removeSync(dir, { recursive: true });
// The report and plot are committed: keep them as `deno fmt` wants them.
await new Deno.Command(Deno.execPath(), {
  args: [
    "fmt",
    "--quiet",
    join(TOP, "docs", "benchmarks.md"),
    join(TOP, "docs", "benchmarks.svg"),
  ],
}).output();
