// SPDX-License-Identifier: GPL-2.0-or-later
// Issue 19, class 9, attacked by someone who did not write the bounds: the
// spellings a parser may take differently (leading zeros read as octal,
// trailing or leading white space, a newline, digit separators, other
// scripts' digits, Infinity/NaN, a decimal point) get the same answer from
// the plugin's C check and src/contract.ts: leading zeros are decimal
// (never octal), anything but decimal digits is refused.
import assert from "node:assert/strict";
import { join } from "node:path";
import { PrepPlugin } from "../../ffi/mod.ts";
import { type NumberKey, numberProblem, NUMBERS } from "../../src/contract.ts";
import { TOP } from "../helpers.ts";

const SO = join(TOP, "build", "prep_deno.so");
const DECIMAL = ["0100", "00100"];
const ODD = [
  "100 ",
  "\t100",
  "100\n",
  "\n100",
  "1_00",
  "１００",
  "٣٢",
  "0b1100100",
  "0o144",
  "Infinity",
  "NaN",
  "100.0",
  "100.",
  "1e2",
];

Deno.test("attacks19 numbers: odd spellings get one answer in C and TypeScript, none taken", async () => {
  await using plugin = PrepPlugin.open(SO);
  for (const key of Object.keys(NUMBERS) as NumberKey[]) {
    for (const v of [...DECIMAL, ...ODD]) {
      const c = plugin.checkNumber(key, v);
      if (DECIMAL.includes(v)) {
        const inRange = 100 >= NUMBERS[key].min && 100 <= NUMBERS[key].max;
        if (inRange) assert.deepEqual(c, { value: 100 }, `${key}=${v} is decimal`);
        assert.deepEqual(c, inRange ? { value: 100 } : { error: numberProblem(key, v) });
        continue;
      }
      const problem = numberProblem(key, v);
      assert.notEqual(problem, undefined, `${key}=${JSON.stringify(v)} taken by TypeScript`);
      assert.deepEqual(c, { error: problem }, `${key}=${JSON.stringify(v)}`);
    }
  }
});
