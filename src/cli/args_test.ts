// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import {
  contextArg,
  integerFlag,
  limitFlag,
  MAX_TIMEOUT_SECONDS,
  numberFlag,
  parseCommand,
  UsageError,
} from "./args.ts";
import { NUMBERS } from "../contract.ts";

Deno.test("args: numbers are plain decimals, no exponent, no sign, within the maximum", () => {
  assert.equal(numberFlag("run", "timeout", "1.5"), 1.5);
  assert.equal(numberFlag("run", "timeout", undefined), undefined);
  for (const bad of ["1e3", "-1", "soon", "", "0x10", " 1"]) {
    assert.throws(() => numberFlag("run", "timeout", bad), UsageError, bad);
  }
  assert.equal(
    numberFlag("run", "timeout", String(MAX_TIMEOUT_SECONDS), MAX_TIMEOUT_SECONDS),
    MAX_TIMEOUT_SECONDS,
  );
  assert.throws(
    () => numberFlag("run", "timeout", "2147484", MAX_TIMEOUT_SECONDS),
    /--timeout=2147484: not a number from 0 to 2147483/,
  );
});

Deno.test("args: the limits take whole numbers within NUMBERS' bounds; the error names flag, value, range and key", () => {
  assert.equal(limitFlag("run", "tasks_max", "512"), 512);
  assert.equal(limitFlag("run", "heap_mb", undefined), undefined);
  for (
    const [key, n] of Object.entries(NUMBERS) as [
      keyof typeof NUMBERS,
      typeof NUMBERS[keyof typeof NUMBERS],
    ][]
  ) {
    assert.equal(limitFlag("run", key, String(n.min)), n.min);
    assert.equal(limitFlag("run", key, String(n.max)), n.max);
    const bad = [
      String(n.min - 1),
      String(n.max + 1),
      "-5",
      "1e3",
      "abc",
      "",
      " 64",
      "64 ",
      "6.5",
      "0x40",
      "99999999999999999999999",
      "18446744073709551680",
    ];
    for (const v of bad) {
      assert.throws(
        () => limitFlag("run", key, v),
        new RegExp(
          `^UsageError: run: ${n.flag}=${
            v.replace(/[.+]/g, "\\$&")
          }: not a whole number from ${n.min} to ${n.max} \\(PrEpParameters ${key}\\)$`,
        ),
        `${key} ${v}`,
      );
    }
  }
});

Deno.test("args: job ids are whole numbers in Slurm's range", () => {
  assert.equal(integerFlag("try", "job-id", "42", 1, 4294967294), 42);
  for (const bad of ["1e23", "0", "4294967295", "1.0", "99999999999999999999999"]) {
    assert.throws(() => integerFlag("try", "job-id", bad, 1, 4294967294), /whole number/, bad);
  }
});

Deno.test("args: unknown flags are usage errors naming the command", () => {
  assert.throws(
    () => parseCommand("try", ["--bogus"], {}),
    /^UsageError: try: unknown option --bogus; the options are --help$/,
  );
});

Deno.test("args: an unknown option is named, with the one meant and every valid one", () => {
  assert.throws(
    () =>
      parseCommand("try", ["--timout", "5"], {
        timeout: { type: "string" },
        context: { type: "string" },
      }),
    (e: Error) =>
      e instanceof UsageError &&
      e.message ===
        "try: unknown option --timout (did you mean --timeout?); the options are --timeout, --context, --help",
  );
  assert.throws(
    () => parseCommand("check", ["--zzz"], { json: { type: "boolean" } }),
    /^UsageError: check: unknown option --zzz; the options are --json, --help$/,
  );
});

Deno.test("args: --context takes the contexts and the unambiguous aliases", () => {
  const cases: [string, string][] = [
    ["prolog_slurmd", "prolog_slurmd"],
    ["prolog", "prolog_slurmd"],
    ["Epilog", "epilog_slurmd"],
    ["prolog_slurmctld", "prolog_slurmctld"],
    ["prologSlurmctld", "prolog_slurmctld"],
    ["EpilogSlurmctld", "epilog_slurmctld"],
    ["EPILOG_SLURMD", "epilog_slurmd"],
  ];
  for (const [given, context] of cases) assert.equal(contextArg("try", given), context, given);
  for (const bad of ["slurmd", "pro", "prologue", ""]) {
    assert.throws(() => contextArg("try", bad), /--context must be one of .* \(or prolog, epilog/);
  }
});
