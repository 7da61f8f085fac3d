// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno history`: the hook runs of this node's journal, newest last.
 * Thin: the reading and filtering are src/journal/.
 *
 * @module
 */

import { parseCommand, UsageError } from "./args.ts";
import { DEFAULT_JOURNAL, readJournal } from "../journal/read.ts";
import { historyLine, parseSince, type RunFilter, selectRuns } from "../journal/query.ts";
import { NUMBERS } from "../contract.ts";

/**
 * What the journal keeps, with each PrEpParameters key's range and default
 * from the one table the plugin checks at start ({@linkcode NUMBERS}).
 *
 * @example
 * ```ts
 * journalLimits()[0]; // "  journal_max_days=N   runs older than this many days go (1 to 36500, default 30)"
 * ```
 */
export function journalLimits(): string[] {
  const line = (key: keyof typeof NUMBERS, what: string) =>
    `  ${`${key}=N`.padEnd(20)} ${what} (${NUMBERS[key].min} to ${NUMBERS[key].max}, default ${
      NUMBERS[key].default
    })`;
  return [
    line("journal_max_days", "runs older than this many days go"),
    line("journal_max_mb", "MiB of the journal and its older half together"),
    line("journal_output_kb", "KiB of each run's output kept"),
  ];
}

const HELP = `Usage: prep-deno history [options]

The hook runs this node's prep/deno recorded (spawn, warm and shell), oldest first.
  --job N          one job's runs
  --hook NAME      a hook (prolog, epilog, prolog_slurmctld, epilog_slurmctld) or a file name
  --failed         failed runs only
  --since WHEN     an ISO date or an age (90s, 30m, 2h, 7d)
  --output         each run's full output after its line
  --json           one JSON object per line (every field, output included)
  --journal PATH   the journal (default ${DEFAULT_JOURNAL}; PrEpParameters journal=)

What the plugin keeps there (PrEpParameters; a value out of range stops it at start):
${journalLimits().join("\n")}
`;

/** Parses the flags `history` and `stats` share into a filter. */
export function runFilter(command: string, values: Record<string, unknown>): RunFilter {
  const filter: RunFilter = {};
  if (typeof values.job === "string") {
    if (!/^\d+$/.test(values.job)) throw new UsageError(`${command}: --job takes a job id`);
    filter.job = Number(values.job);
  }
  if (typeof values.hook === "string") filter.hook = values.hook;
  if (values.failed) filter.failed = true;
  if (typeof values.since === "string") {
    filter.since = parseSince(values.since);
    if (filter.since === undefined) {
      throw new UsageError(
        `${command}: --since takes a date or an age like 2h, not "${values.since}"`,
      );
    }
  }
  return filter;
}

/** The options `history` and `stats` share: the run filter, --json and --journal. */
export const RUN_FILTER_OPTIONS = {
  job: { type: "string" },
  hook: { type: "string" },
  failed: { type: "boolean" },
  since: { type: "string" },
  json: { type: "boolean" },
  journal: { type: "string" },
} as const;

/** `prep-deno history ARGS`; resolves to the exit status. */
export async function historyCommand(args: string[]): Promise<number> {
  const { values } = parseCommand("history", args, {
    ...RUN_FILTER_OPTIONS,
    output: { type: "boolean" },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const journal = await readJournal(values.journal ?? DEFAULT_JOURNAL);
  for (const r of selectRuns(journal.runs, runFilter("history", values))) {
    if (values.json) {
      console.log(JSON.stringify(r));
      continue;
    }
    console.log(historyLine(r));
    if (values.output) console.log(r.output.replace(/^/gm, "    "));
  }
  if (journal.torn) console.error(`prep-deno history: ${journal.torn} torn record(s) skipped`);
  return 0;
}
