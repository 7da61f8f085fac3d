// SPDX-License-Identifier: GPL-2.0-or-later
// `check --slurm-conf`'s node side holds PrEpParameters' numbers to the one
// table of bounds the plugin checks at start (NUMBERS / PD_NUMBERS), the
// journal's included, in the plugin's words.
import assert from "node:assert/strict";
import { numberProblem, NUMBERS } from "../contract.ts";
import { lintNode, parsePrepParameters } from "./node.ts";

Deno.test("lint node: every PrEpParameters number is checked against NUMBERS, in the plugin's words", async () => {
  const params = parsePrepParameters(
    "heap_mb=16,tasks_max=512,Journal_Max_MB=0,journal_max_days=36501,journal_output_kb=1024,memory_mb=abc",
  );
  assert.deepEqual(params.unknown, []);
  assert.equal(params.memoryMb, "abc");
  const problems = (await lintNode(params, "/etc/slurm/slurm.conf"))
    .filter((p) => p.key === "PrEpParameters");
  assert.deepEqual(problems.map((p) => p.problem), [
    `${numberProblem("heap_mb", "16")}; the plugin refuses to start`,
    `${numberProblem("journal_max_mb", "0")}; the plugin refuses to start`,
    `${numberProblem("journal_max_days", "36501")}; the plugin refuses to start`,
    `${numberProblem("memory_mb", "abc")}; the plugin refuses to start`,
  ]);
  assert.equal(
    problems[1].problem,
    "journal_max_mb=0: not a whole number from 1 to 1048576; the plugin refuses to start",
  );
  assert.match(
    problems[2].fix,
    new RegExp(`from 1 to ${NUMBERS.journal_max_days.max} \\(default 30\\)`),
  );
});

Deno.test("lint node: every key of the numbers table is a known PrEpParameters key", () => {
  const tokens = Object.keys(NUMBERS).map((k) => `${k}=${NUMBERS[k as keyof typeof NUMBERS].max}`);
  assert.deepEqual(parsePrepParameters(tokens.join(",")).unknown, []);
  assert.deepEqual(parsePrepParameters("journal_max_mbs=3").unknown, ["journal_max_mbs=3"]);
});
