// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The warm service's Prometheus textfile (`prep-deno serve --metrics PATH`):
 * how many warm hosts each (hook, module) has, how many are running a job,
 * and their memory (resident set of each host's whole process tree, read
 * from /proc). Written beside PATH and renamed over it, so node_exporter's
 * textfile collector never reads half a file.
 *
 * @example
 * ```ts
 * import { warmMetricsText } from "./metrics.ts";
 * warmMetricsText([{ hook: "prolog", module: "/h/site.ts", mode: "reuse", hosts: 2, busy: 1, rssBytes: 80e6 }]);
 * ```
 *
 * @module
 */

/** One pool's figures. */
export interface PoolFigures {
  hook: string;
  module: string;
  mode: string;
  hosts: number;
  busy: number;
  rssBytes: number;
}

const label = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/**
 * The exposition text of `pools`.
 *
 * @example
 * ```ts
 * import { warmMetricsText } from "./metrics.ts";
 * warmMetricsText([]).includes("# TYPE prep_deno_warm_hosts gauge"); // true
 * ```
 */
export function warmMetricsText(pools: PoolFigures[]): string {
  const series = (name: string, help: string, value: (p: PoolFigures) => number) =>
    `# HELP ${name} ${help}\n# TYPE ${name} gauge\n` +
    pools.map((p) =>
      `${name}{hook="${label(p.hook)}",module="${label(p.module)}",mode="${label(p.mode)}"} ${
        value(p)
      }\n`
    ).join("");
  return series("prep_deno_warm_hosts", "Warm host processes alive.", (p) => p.hosts) +
    series("prep_deno_warm_hosts_busy", "Warm hosts running a job now.", (p) => p.busy) +
    series(
      "prep_deno_warm_host_memory_bytes",
      "Resident memory of the warm hosts, every process of each host's tree.",
      (p) => p.rssBytes,
    );
}

/**
 * The resident bytes of each tree rooted at `pids` (the process and all
 * its descendants), from /proc; a pid that is gone counts 0.
 *
 * @example
 * ```ts
 * import { treeRss } from "./metrics.ts";
 * treeRss([Deno.pid]).get(Deno.pid)! > 0; // true
 * ```
 */
export function treeRss(pids: number[]): Map<number, number> {
  const parent = new Map<number, number>();
  const rss = new Map<number, number>();
  const page = 4096;
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parent.set(Number(e.name), Number(f[1]));
      rss.set(Number(e.name), Number(f[21]) * page);
    } catch { /* gone */ }
  }
  const out = new Map<number, number>();
  for (const root of pids) {
    let sum = 0;
    for (const [pid, bytes] of rss) {
      for (let p: number | undefined = pid; p && p > 1; p = parent.get(p)) {
        if (p === root) {
          sum += bytes;
          break;
        }
      }
    }
    out.set(root, sum);
  }
  return out;
}

/**
 * Writes `text` to `path` atomically (a temporary file beside it, renamed).
 *
 * @example
 * ```ts
 * import { writeAtomically } from "./metrics.ts";
 * const dir = Deno.makeTempDirSync();
 * writeAtomically(`${dir}/warm.prom`, "");
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp.${Deno.pid}`;
  Deno.writeTextFileSync(tmp, text, { mode: 0o644 });
  Deno.renameSync(tmp, path);
}
