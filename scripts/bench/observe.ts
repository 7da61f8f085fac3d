// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The bench's row for what the plugin does after every hook run: one
 * journal record (4 KiB of output) appended and the metrics textfile
 * rewritten and renamed, through the plugin's own code
 * (`prep_deno_ffi_observe_cost`), into a temporary folder.
 *
 * @example
 * ```ts
 * import { observeCost } from "./observe.ts";
 * const { meanMs } = observeCost("build/prep_deno.so", 500);
 * ```
 *
 * @module
 */

import { join } from "node:path";

/**
 * The mean cost in ms per hook run of the journal and the metrics, each
 * alone and together (wall time), and together in CPU time (the thread's,
 * kernel included: what a loaded machine cannot inflate).
 */
export function observeCost(
  so: string,
  runs: number,
): { meanMs: number; journalMs: number; metricsMs: number; cpuMs: number } {
  const lib = Deno.dlopen(so, {
    prep_deno_ffi_observe_cost: {
      parameters: ["buffer", "buffer", "i32", "i32", "i32"],
      result: "i64",
    },
  });
  const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "prep-deno-observe-" });
  const c = (s: string | null) => s === null ? null : new TextEncoder().encode(s + "\0");
  const cost = (journal: string | null, metrics: string | null, cpu = 0) =>
    Number(lib.symbols.prep_deno_ffi_observe_cost(c(journal), c(metrics), runs, 4096, cpu)) / 1e6;
  try {
    const journalMs = cost(join(dir, "j1"), null);
    const metricsMs = cost(null, join(dir, "m.prom"));
    const meanMs = cost(join(dir, "j2"), join(dir, "m2.prom"));
    const cpuMs = cost(join(dir, "j3"), join(dir, "m3.prom"), 1);
    return { meanMs, journalMs, metricsMs, cpuMs };
  } finally {
    lib.close();
    Deno.removeSync(dir, { recursive: true });
  }
}
