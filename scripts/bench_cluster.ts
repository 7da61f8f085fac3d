// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `deno task bench-cluster`: what PrologSlurmctld/EpilogSlurmctld hooks cost
 * a busy controller, on a real cluster (source-built Slurm, several slurmd on
 * this machine): batches of short jobs (one job array each), with no hooks,
 * with bash under prep/script, and with a TypeScript hook through prep/deno's
 * spawn path and its warm service (a fresh isolate per job, and the module
 * reused). The set-ups take turns, round after round, in one run. Per set-up:
 * jobs started per second, the hooks' latency p50/p99 as slurmctld's log
 * times them (allocation to PrologSlurmctld done; job done to
 * EpilogSlurmctld done), prep/deno's own time in the plugin under the job
 * write lock, and sdiag's mean scheduler cycle. Writes its section of
 * docs/benchmarks.md.
 *
 * Environment: BENCH_CLUSTER_JOBS (jobs per batch, default 500),
 * BENCH_CLUSTER_ROUNDS (default 2), BENCH_CLUSTER_NODES (default 4),
 * BENCH_CLUSTER_SLURM (default 25.11.7), BENCH_NOTE (said with the numbers),
 * CLUSTER_PORT (the cluster's ports, as scripts/slurm-cluster.sh).
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { meanCycleUsec, quantile, readBatch } from "./bench/cluster_log.ts";

const TOP = join(dirname(fileURLToPath(import.meta.url)), "..");
const RUNNER = join(TOP, "build", "prep-deno");
const CLUSTER = join(TOP, "scripts", "slurm-cluster.sh");
const CLUSTER_DIR = join(TOP, "build", "cluster");
const JOBS = Number(Deno.env.get("BENCH_CLUSTER_JOBS") ?? 500);
const ROUNDS = Number(Deno.env.get("BENCH_CLUSTER_ROUNDS") ?? 2);
const NODES = Number(Deno.env.get("BENCH_CLUSTER_NODES") ?? 4);
const SLURM = Deno.env.get("BENCH_CLUSTER_SLURM") ?? "25.11.7";
const NOTE = Deno.env.get("BENCH_NOTE") ?? "";
const dec = new TextDecoder();

async function sh(cmd: string, args: string[], env: Record<string, string> = {}) {
  const o = await new Deno.Command(cmd, { args, env, stdin: "null" }).output();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

const prefixRun = await sh(join(TOP, "scripts", "slurm-build.sh"), ["--prefix", SLURM]);
if (prefixRun.code !== 0) {
  console.error(`bench-cluster: Slurm ${SLURM} is not built here: ${prefixRun.err.trim()}`);
  Deno.exit(1);
}
const PREFIX = prefixRun.out.trim();
const build = await sh(join(TOP, "scripts", "build-plugin.sh"), [SLURM]);
if (build.code !== 0) throw new Error(`build-plugin.sh ${SLURM}: ${build.err}`);
const slurmEnv = {
  SLURM_CONF: join(CLUSTER_DIR, "slurm.conf"),
  PATH: `${PREFIX}/bin:${PREFIX}/sbin:${Deno.env.get("PATH")}`,
};

// The hooks: the same check in bash and in TypeScript, as `deno task bench`'s.
const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "prep-deno-bench-cluster-" });
Deno.chmodSync(dir, 0o755);
const bash = join(dir, "hook.sh");
Deno.writeTextFileSync(bash, `#!/bin/bash\n[ -n "$SLURM_JOB_ID" ] || exit 1\n`, { mode: 0o755 });
const moduleIn = (sub: string, config?: unknown) => {
  Deno.mkdirSync(join(dir, sub), { mode: 0o755 });
  if (config !== undefined) {
    Deno.writeTextFileSync(join(dir, sub, "deno.json"), JSON.stringify(config));
  }
  Deno.writeTextFileSync(
    join(dir, sub, "hook.ts"),
    `export default (job) => { if (!job.id) return 1; };\n`,
  );
  return join(dir, sub, "hook.ts");
};

/** One cluster set-up. */
interface SetUp {
  name: string;
  plugin: string;
  hook?: string;
  warm?: boolean;
}
const SETUPS: SetUp[] = [
  { name: "no hooks", plugin: "prep/deno" },
  { name: "bash, prep/script", plugin: "prep/script", hook: bash },
  { name: "TypeScript, spawn", plugin: "prep/deno", hook: moduleIn("spawn") },
  { name: "TypeScript, warm fresh", plugin: "prep/deno", hook: moduleIn("fresh", {}), warm: true },
  {
    name: "TypeScript, warm reuse",
    plugin: "prep/deno",
    hook: moduleIn("reuse", { warm: { mode: "reuse" } }),
    warm: true,
  },
];

interface Totals {
  jobs: number;
  seconds: number;
  prolog: number[];
  epilog: number[];
  plugin: number[];
  cycles: number[];
  slow: number;
  passes: number;
}
const totals = new Map<string, Totals>(SETUPS.map((s) => [s.name, {
  jobs: 0,
  seconds: 0,
  prolog: [],
  epilog: [],
  plugin: [],
  cycles: [],
  slow: 0,
  passes: 0,
}]));

const loadavg = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
const loadAtStart = loadavg();
const began = Date.now();

async function batch(s: SetUp): Promise<void> {
  const start = await sh(CLUSTER, ["start"], {
    ...slurmEnv,
    SLURM_VERSION: SLURM,
    NODES: String(NODES),
    PREP_PLUGINS: s.plugin,
    PREP_PARAMS: `runner=${RUNNER}`,
    PROLOG_SLURMCTLD: s.hook ?? "",
    EPILOG_SLURMCTLD: s.hook ?? "",
    WARM: s.warm ? "1" : "0",
    // Script: slurmscriptd's "completed" lines; MaxArraySize: one array per batch.
    EXTRA_CONF: `DebugFlags=Script\nMaxArraySize=${JOBS + 1}`,
  });
  if (start.code !== 0) throw new Error(`cluster did not start: ${start.err}`);
  try {
    const sub = await sh("sbatch", [
      "--parsable",
      "-o",
      "/dev/null",
      `--array=0-${JOBS - 1}`,
      "--wrap",
      "true",
    ], slurmEnv);
    if (sub.code !== 0) throw new Error(`sbatch: ${sub.err}`);
    for (const until = Date.now() + 3600_000; Date.now() < until;) {
      const q = await sh("squeue", ["-h", "-r", "-o", "%i"], slurmEnv);
      if (q.code === 0 && q.out.trim() === "") break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const sdiag = await sh("sdiag", [], slurmEnv);
    const b = readBatch(
      Deno.readTextFileSync(join(CLUSTER_DIR, "log", "slurmctld.log")),
      s.hook !== undefined,
    );
    const t = totals.get(s.name)!;
    t.jobs += b.jobs;
    t.seconds += b.spanSeconds;
    t.prolog.push(...b.prologMs);
    t.epilog.push(...b.epilogMs);
    t.plugin.push(...b.pluginUsec);
    t.cycles.push(meanCycleUsec(sdiag.out));
    t.slow += b.slowPrepCalls;
    t.passes += b.passes;
    console.log(
      `${s.name}: ${b.jobs} jobs in ${b.spanSeconds.toFixed(1)} s (${
        (b.jobs / b.spanSeconds).toFixed(1)
      } jobs/s)`,
    );
  } finally {
    await sh(CLUSTER, ["stop"], { ...slurmEnv, SLURM_VERSION: SLURM, NODES: String(NODES) });
  }
}

for (let r = 0; r < ROUNDS; r++) {
  // Take turns, so that the machine's other load falls on every set-up alike.
  const order = r % 2 ? [...SETUPS].reverse() : SETUPS;
  for (const s of order) await batch(s);
}
Deno.removeSync(dir, { recursive: true });

const fmt = (v: number, digits = 0) => Number.isFinite(v) ? v.toFixed(digits) : "–";
const bashRate = (() => {
  const t = totals.get("bash, prep/script")!;
  return t.jobs / t.seconds;
})();
const rows = SETUPS.map((s) => {
  const t = totals.get(s.name)!;
  const rate = t.jobs / t.seconds;
  const cycle = t.cycles.reduce((a, b) => a + b, 0) / t.cycles.length;
  return `| ${s.name} | ${t.jobs} | ${fmt(rate, 1)} | ${
    s.hook ? `${fmt((rate / bashRate - 1) * 100, 0)}%` : "–"
  } | ${fmt(quantile(t.prolog, 0.5))} / ${fmt(quantile(t.prolog, 0.99))} | ${
    fmt(quantile(t.epilog, 0.5))
  } / ${fmt(quantile(t.epilog, 0.99))} | ${
    t.plugin.length ? `${fmt(quantile(t.plugin, 0.5))} / ${fmt(quantile(t.plugin, 0.99))}` : "–"
  } | ${fmt(cycle)} | ${t.passes} | ${t.slow} |`;
});
const cpu = /model name\s*:\s*(.*)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? "?";
const mem = Number(/MemTotal:\s+(\d+)/.exec(Deno.readTextFileSync("/proc/meminfo"))?.[1] ?? 0);
const kernel = Deno.readTextFileSync("/proc/sys/kernel/osrelease").trim();
const minutes = ((Date.now() - began) / 60000).toFixed(0);
const section = `<!-- bench-cluster:start (scripts/bench_cluster.ts writes this section) -->
## Job throughput on a real cluster (\`deno task bench-cluster\`)

Slurm ${SLURM} built from source, one slurmctld and ${NODES} slurmd on this machine, PrologSlurmctld
and EpilogSlurmctld set to the same hook (the bash check, or the TypeScript module of the rows
above), ${ROUNDS} rounds of one ${JOBS}-task job array per set-up (\`sbatch --array --wrap true\`),
the set-ups taking turns; ${SETUPS.length * ROUNDS * JOBS} jobs in ${minutes} min. Machine:
${navigator.hardwareConcurrency} CPUs (${cpu}), ${(mem / 1048576).toFixed(1)} GiB, Linux ${kernel};
load average ${loadAtStart} at the start, ${loadavg()} at the end.${NOTE ? ` ${NOTE}` : ""}

| set-up | jobs | jobs started/s | vs bash | PrologSlurmctld ms p50 / p99 | EpilogSlurmctld ms p50 / p99 | prep/deno in the plugin µs p50 / p99 | sdiag mean cycle µs | passes that started jobs | Slurm's prep timer lines |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.join("\n")}

Jobs started per second: jobs over the time from the first allocation to the last job start (the
PrologSlurmctld's completion, or the allocation without hooks), summed over the rounds. The hook
latencies are slurmctld's log lines (millisecond stamps, SlurmctldDebug=debug2, DebugFlags=Script):
allocation to "_run_script JobId=N PrologSlurmctld completed", and "_job_complete: JobId=N done" to
the EpilogSlurmctld's. "In the plugin" is prep/deno's own debug2 timer around its slurmctld call
(the time slurmctld holds the job write lock for it). Slurm's own timer around prep_g_prolog_slurmctld
and prep_g_epilog_slurmctld logs only calls past 1 s: the last column counts those lines.

Where the time goes. A job's resources are free for the next job only once its EpilogSlurmctld has
completed, and nothing in slurmctld starts a scheduling pass then (src/slurmctld/prep_slurmctld.c
calls no scheduler): the next pass is the one the next event triggers, or the periodic one
(sched_interval, 60 s). An EpilogSlurmctld that ends before the pass its job's completion triggers
lets the freed slots be used at once; one that ends later leaves them idle until a later pass. The
"passes that started jobs" column counts the distinct seconds of "sched: Allocate" lines: few passes
for many jobs mean jobs waited for the periodic pass. So jobs/s with hooks follows the hooks'
latency (their CPU cost on this machine's 2 CPUs, shared with the jobs themselves and slurmctld),
not the plugin's own time, which stays under a millisecond at p50 (it only copies the job's
environment and hands it to a thread).
<!-- bench-cluster:end -->`;
console.log(`\n${section}`);

const md = join(TOP, "docs", "benchmarks.md");
const old = Deno.readTextFileSync(md);
const at = old.indexOf("<!-- bench-cluster:start");
const end = old.indexOf("<!-- bench-cluster:end -->");
Deno.writeTextFileSync(
  md,
  at >= 0 && end > at
    ? old.slice(0, at) + section + old.slice(end + "<!-- bench-cluster:end -->".length)
    : `${old.trimEnd()}\n\n${section}\n`,
);
await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", md] }).output();
