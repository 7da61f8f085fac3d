// SPDX-License-Identifier: GPL-2.0-or-later
// `history --help` gives the journal's PrEpParameters with the plugin's own
// bounds (NUMBERS / PD_NUMBERS): one set of bounds, the journal's included.
import assert from "node:assert/strict";
import { NUMBERS } from "../contract.ts";
import { historyCommand, journalLimits } from "./history.ts";

Deno.test("history: --help gives each journal key's range and default from NUMBERS", async () => {
  const lines = journalLimits();
  for (const key of ["journal_max_days", "journal_max_mb", "journal_output_kb"] as const) {
    const n = NUMBERS[key];
    assert.ok(
      lines.some((l) =>
        l.includes(`${key}=N`) && l.includes(`(${n.min} to ${n.max}, default ${n.default})`)
      ),
      `${key}: ${lines.join("\n")}`,
    );
  }
  const printed: string[] = [];
  const log = console.log;
  console.log = (s: string) => printed.push(s);
  try {
    assert.equal(await historyCommand(["--help"]), 0);
  } finally {
    console.log = log;
  }
  for (const l of lines) assert.ok(printed.join("\n").includes(l), l);
});
