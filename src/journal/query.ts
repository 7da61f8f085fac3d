// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What `prep-deno history` and `prep-deno stats` compute from the journal:
 * filters, a time given as a date or an age, and per-hook figures.
 *
 * @example
 * ```ts
 * import { percentile } from "./query.ts";
 * percentile([1, 2, 3, 4], 50); // 2
 * ```
 *
 * @module
 */

import type { RunRecord } from "./read.ts";

/** Which runs to show. */
export interface RunFilter {
  job?: number;
  /** A hook (prolog, epilog_slurmctld, ...) or a module's file name. */
  hook?: string;
  failed?: boolean;
  /** Only runs that started at or after this time (ms since the epoch). */
  since?: number;
}

/**
 * A `--since` value: an ISO date or time, or an age such as `90s`, `30m`,
 * `2h`, `7d`. Returns ms since the epoch, or undefined if it is neither.
 *
 * @example
 * ```ts
 * import { parseSince } from "./query.ts";
 * parseSince("2h", 7_200_000); // 0
 * ```
 */
export function parseSince(value: string, now: number = Date.now()): number | undefined {
  const age = /^(\d+)([smhd])$/.exec(value);
  if (age) {
    const unit = { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[age[2] as "s" | "m" | "h" | "d"];
    return now - Number(age[1]) * unit;
  }
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

/** The file name of a module path. */
function fileOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * The runs `filter` selects, in journal order.
 *
 * @example
 * ```ts
 * import { selectRuns } from "./query.ts";
 * selectRuns([], { failed: true }); // []
 * ```
 */
export function selectRuns(runs: RunRecord[], filter: RunFilter): RunRecord[] {
  return runs.filter((r) =>
    (filter.job === undefined || r.job === filter.job) &&
    (filter.hook === undefined || r.hook === filter.hook || fileOf(r.module) === filter.hook ||
      r.module === filter.hook) &&
    (!filter.failed || r.kind !== "ok") &&
    (filter.since === undefined || r.t >= filter.since)
  );
}

/**
 * The nearest-rank percentile `p` (0-100) of `values`; 0 when empty.
 *
 * @example
 * ```ts
 * import { percentile } from "./query.ts";
 * percentile([10, 20, 30], 99); // 30
 * ```
 */
export function percentile(values: number[], p: number): number {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** The figures of one hook and module. */
export interface HookStats {
  hook: string;
  module: string;
  runs: number;
  failures: number;
  /** failures / runs, 0..1. */
  failureRate: number;
  /** Runs by how they ended (ok, failed, timeout, ...). */
  kinds: Record<string, number>;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

/**
 * Counts, failure rate and duration percentiles per hook and module.
 *
 * @example
 * ```ts
 * import { hookStats } from "./query.ts";
 * hookStats([]); // []
 * ```
 */
export function hookStats(runs: RunRecord[]): HookStats[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const key = `${r.hook}\0${r.module}`;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  return [...groups.values()].map((g) => {
    const durations = g.map((r) => r.duration_ms);
    const failures = g.filter((r) => r.kind !== "ok").length;
    const kinds: Record<string, number> = {};
    for (const r of g) kinds[r.kind] = (kinds[r.kind] ?? 0) + 1;
    return {
      hook: g[0].hook,
      module: g[0].module,
      runs: g.length,
      failures,
      failureRate: failures / g.length,
      kinds,
      p50Ms: percentile(durations, 50),
      p95Ms: percentile(durations, 95),
      p99Ms: percentile(durations, 99),
    };
  }).sort((a, b) => a.hook.localeCompare(b.hook) || a.module.localeCompare(b.module));
}

/**
 * One line of `history`: time, job, user, hook, file, mode, how it ended,
 * duration, cause, and the node reason it set.
 *
 * @example
 * ```ts
 * import { historyLine } from "./query.ts";
 * import type { RunRecord } from "./read.ts";
 * historyLine({ t: 0, job: 1, hook: "prolog", module: "/h/site.ts", mode: "spawn", kind: "ok",
 *   duration_ms: 90, cause: null, user: "ann" } as RunRecord);
 * ```
 */
export function historyLine(r: RunRecord): string {
  const when = new Date(r.t).toISOString().replace("T", " ").slice(0, 23);
  const cause = r.cause ? `  ${r.cause}` : "";
  const reason = r.reason ? `  [node reason: ${r.reason}]` : "";
  const dropped = r.output_dropped ? `  (${r.output_dropped} output bytes dropped)` : "";
  return `${when}  job ${r.job}  ${r.user ?? "-"}  ${r.hook} ${fileOf(r.module)}  ${r.mode}  ` +
    `${r.kind}  ${r.duration_ms} ms${cause}${reason}${dropped}`;
}
