// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What one batch of jobs did, read from slurmctld's log (SlurmctldDebug=debug2,
 * DebugFlags=Script, millisecond timestamps): when each job was allocated,
 * when its PrologSlurmctld completed (the job starts then), when it ended
 * and when its EpilogSlurmctld completed; and prep/deno's own timer of its
 * time in the plugin. prep/script's slurmscriptd and prep/deno write the
 * same "_run_script JobId=N <hook> completed" line.
 *
 * @module
 */

/** One batch, from the log. */
export interface BatchLog {
  /** Jobs allocated. */
  jobs: number;
  /** Seconds from the first allocation to the last job start. */
  spanSeconds: number;
  /** PrologSlurmctld latency per job (allocation to completion), ms. */
  prologMs: number[];
  /** EpilogSlurmctld latency per job (job done to completion), ms. */
  epilogMs: number[];
  /** prep/deno's time in the plugin per call (under the job write lock), µs. */
  pluginUsec: number[];
  /** Lines of Slurm's own timer ("large processing time from prep_g_..."), past 1 s. */
  slowPrepCalls: number;
  /** Scheduler passes that started jobs (distinct seconds of allocation lines). */
  passes: number;
}

function stamp(line: string): number | undefined {
  const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})\]/.exec(line);
  return m ? Date.parse(`${m[1]}Z`) : undefined;
}

/** The job's own id in `%pJ` text: "JobId=12" or, for an array task, "JobId=10_2(12)". */
function jobId(text: string): number | undefined {
  const m = /JobId=(?:\d+_\d+\((\d+)\)|(\d+))/.exec(text);
  return m ? Number(m[1] ?? m[2]) : undefined;
}

/**
 * Reads a batch from `log`; `withHooks`: the job starts when its
 * PrologSlurmctld completes, else when it is allocated.
 *
 * @example
 * ```ts
 * const b = readBatch(Deno.readTextFileSync("build/cluster/log/slurmctld.log"), true);
 * b.jobs / b.spanSeconds; // jobs started per second
 * ```
 */
export function readBatch(log: string, withHooks: boolean): BatchLog {
  const alloc = new Map<number, number>();
  const lastAlloc = new Map<number, number>();
  const prologMs: number[] = [];
  const started = new Map<number, number>();
  const done = new Map<number, number>();
  const epilogDone = new Map<number, number>();
  const pluginUsec: number[] = [];
  let slowPrepCalls = 0;
  for (const line of log.split("\n")) {
    const t = stamp(line);
    if (t === undefined) continue;
    if (line.includes("sched: Allocate JobId=") || line.includes("backfill: Started JobId=")) {
      const id = jobId(line);
      if (id === undefined) continue;
      if (!alloc.has(id)) alloc.set(id, t);
      lastAlloc.set(id, t);
    } else if (/_run_script:? JobId=\d+ PrologSlurmctld completed/.test(line)) {
      const id = jobId(line)!;
      started.set(id, t);
      // From this run's own allocation: a requeued job is allocated again.
      if (lastAlloc.has(id)) prologMs.push(t - lastAlloc.get(id)!);
    } else if (/_run_script:? JobId=\d+ EpilogSlurmctld completed/.test(line)) {
      epilogDone.set(jobId(line)!, t);
    } else if (/_job_complete: JobId=\S+ done/.test(line)) {
      const id = jobId(line);
      if (id !== undefined) done.set(id, t);
    } else if (/prep\/deno: JobId=\d+ \w+: usec=(\d+) in the plugin/.test(line)) {
      pluginUsec.push(Number(/usec=(\d+)/.exec(line)![1]));
    } else if (/large processing time from prep_g_/.test(line)) {
      slowPrepCalls++;
    }
  }
  const starts = withHooks ? started : alloc;
  const passes = new Set([...alloc.values()].map((t) => Math.floor(t / 1000))).size;
  const first = Math.min(...alloc.values());
  const last = Math.max(...starts.values());
  const epilogMs = [...epilogDone].flatMap(([id, t]) => done.has(id) ? [t - done.get(id)!] : []);
  return {
    jobs: starts.size,
    spanSeconds: (last - first) / 1000,
    prologMs,
    epilogMs,
    pluginUsec,
    slowPrepCalls,
    passes,
  };
}

/** The q-quantile (0..1) of `values`, nearest rank; NaN for none. */
export function quantile(values: readonly number[], q: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** sdiag's main scheduler "Mean cycle" in µs, or NaN when it does not say. */
export function meanCycleUsec(sdiag: string): number {
  const main = sdiag.split(/Backfilling stats/)[0];
  const m = /Mean cycle:\s+(\d+)/.exec(main);
  return m ? Number(m[1]) : NaN;
}
