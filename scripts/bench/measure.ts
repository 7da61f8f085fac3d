// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Timing and memory measurements for the benchmark.
 *
 * @module
 */

/** One row of the table. */
export interface Row {
  path: string;
  mode: string;
  p50: number;
  p99: number;
  perSecond: number;
}

/** One hook run; resolves to its wait status. */
export type RunOne = (
  env: Record<string, string>,
  id: number,
) => Promise<{ status: number; fallback?: string; output: string }>;

/** The `p` quantile of ascending `sorted` times. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/**
 * Runs each of `timed` `n` times in rotation (one of each in turn, after
 * `warmUp` rounds that do not count), so that things compared with each
 * other see the machine alike even when its speed drifts during the bench.
 * Each call times itself (and may prepare before its clock starts); returns
 * each one's times in ascending order.
 */
export async function inRotation(
  timed: (() => Promise<number>)[],
  n: number,
  warmUp = 1,
): Promise<number[][]> {
  for (let i = 0; i < warmUp; i++) for (const t of timed) await t();
  const times = timed.map(() => [] as number[]);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < timed.length; t++) times[t].push(await timed[t]());
  }
  return times.map((ts) => ts.sort((a, b) => a - b));
}

/** `n` runs one after the other (after `warmUp` to warm caches). */
export async function sequential(
  path: string,
  run: RunOne,
  env: Record<string, string>,
  n: number,
  warmUp = 1,
): Promise<Row> {
  return (await sideBySide([[path, run]], env, n, warmUp))[0];
}

/**
 * `n` sequential runs of each path, taken in rotation (see `inRotation`).
 * Throughput counts each path's own time.
 */
export async function sideBySide(
  paths: [string, RunOne][],
  env: Record<string, string>,
  n: number,
  warmUp = 1,
): Promise<Row[]> {
  const times = await inRotation(
    paths.map(([path, run]) => async () => {
      const t = performance.now();
      const o = await run(env, -1);
      if (o.status !== 0 || o.fallback) throw new Error(`${path}: ${o.fallback ?? o.output}`);
      return performance.now() - t;
    }),
    n,
    warmUp,
  );
  return paths.map(([path], p) => ({
    path,
    mode: "sequential",
    p50: percentile(times[p], 0.5),
    p99: percentile(times[p], 0.99),
    perSecond: n / (times[p].reduce((sum, t) => sum + t, 0) / 1000),
  }));
}

/** `total` runs, `width` in flight at a time, as the slurmctld side runs them. */
export async function concurrent(
  path: string,
  run: RunOne,
  env: Record<string, string>,
  total: number,
  width: number,
): Promise<Row> {
  const times: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (next < total) {
      const id = next++;
      const t = performance.now();
      const o = await run({ ...env, SLURM_JOB_ID: String(id + 1) }, id + 1);
      if (o.status !== 0 || o.fallback) throw new Error(`${path}: ${o.fallback ?? o.output}`);
      times.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
  const elapsed = performance.now() - t0;
  times.sort((a, b) => a - b);
  return {
    path,
    mode: `${width}-way`,
    p50: percentile(times, 0.5),
    p99: percentile(times, 0.99),
    perSecond: total / (elapsed / 1000),
  };
}

/** A plain command as a run (the bare `deno run` floor). */
export const commandRun = (cmd: string, args: string[]): RunOne => async (env) => {
  const out = await new Deno.Command(cmd, {
    args,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  return { status: out.code, output: new TextDecoder().decode(out.stderr) };
};

/** Peak summed RSS (MiB) of a command's whole process tree, sampled every 2 ms. */
export async function peakTreeRss(
  cmd: string,
  args: string[],
  envVars: Record<string, string>,
): Promise<number> {
  const child = new Deno.Command(cmd, {
    args,
    env: envVars,
    clearEnv: true,
    stdout: "null",
    stderr: "null",
  }).spawn();
  let peak = 0;
  let done = false;
  const status = child.status.then((s) => (done = true, s));
  while (!done) {
    peak = Math.max(peak, treeRssKb(child.pid));
    await new Promise((r) => setTimeout(r, 2));
  }
  await status;
  return peak / 1024;
}

/** Summed VmRSS (KiB) of `root` and every process below it. */
export function treeRssKb(root: number): number {
  const parent = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const status = Deno.readTextFileSync(`/proc/${e.name}/status`);
      parent.set(Number(e.name), Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]));
      rss.set(Number(e.name), Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0));
    } catch { /* gone */ }
  }
  const inTree = (pid: number): boolean => {
    for (let p = pid, i = 0; p > 1 && i < 64; p = parent.get(p) ?? 0, i++) {
      if (p === root) return true;
    }
    return false;
  };
  let sum = 0;
  for (const [pid, kb] of rss) if (inTree(pid)) sum += kb;
  return sum;
}
