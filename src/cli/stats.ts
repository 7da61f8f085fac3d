// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno stats`: per hook and module, the runs, failures, failure rate
 * and p50/p95/p99 duration of this node's journal. Thin: the figures are
 * src/journal/query.ts.
 *
 * @module
 */

import { parseCommand } from "./args.ts";
import { RUN_FILTER_OPTIONS, runFilter } from "./history.ts";
import { DEFAULT_JOURNAL, readJournal } from "../journal/read.ts";
import { hookStats, selectRuns } from "../journal/query.ts";

const HELP = `Usage: prep-deno stats [options]

Per hook and module: runs, failures, failure rate, p50/p95/p99 duration (ms).
  --job N, --hook NAME, --failed, --since WHEN   as for history
  --json           one JSON object per hook and module
  --journal PATH   the journal (default ${DEFAULT_JOURNAL})
`;

/** `prep-deno stats ARGS`; resolves to the exit status. */
export async function statsCommand(args: string[]): Promise<number> {
  const { values } = parseCommand("stats", args, RUN_FILTER_OPTIONS);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const journal = await readJournal(values.journal ?? DEFAULT_JOURNAL);
  const stats = hookStats(selectRuns(journal.runs, runFilter("stats", values)));
  if (values.json) {
    for (const s of stats) console.log(JSON.stringify(s));
    return 0;
  }
  console.log(
    "hook              module                          runs  failed   rate    p50    p95    p99",
  );
  for (const s of stats) {
    const file = s.module.slice(s.module.lastIndexOf("/") + 1);
    console.log(
      `${s.hook.padEnd(17)} ${file.padEnd(30)} ${String(s.runs).padStart(5)} ${
        String(s.failures).padStart(7)
      } ${(s.failureRate * 100).toFixed(1).padStart(5)}% ${String(s.p50Ms).padStart(6)} ${
        String(s.p95Ms).padStart(6)
      } ${String(s.p99Ms).padStart(6)}`,
    );
  }
  return 0;
}
