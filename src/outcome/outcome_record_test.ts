// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  causeOf,
  escapeField,
  formatOutcome,
  type HookOutcome,
  OUTCOME_MAX,
  outcomeText,
  parseOutcome,
  placePrefix,
} from "./outcome_record.ts";
import { REASON_MAX } from "../contract.ts";

const place = { hook: "prolog", module: "/etc/slurm/p.ts", job: "42" };

Deno.test("outcome record: the wire line reads back the same record, whatever its text holds", () => {
  const nasty = "a\u0000b\rc\u001b[2Kd\te\nf\\x00g\u007fé";
  const o: HookOutcome = { kind: "threw", status: 1, message: nasty, cause: "gpu 1 lost", place };
  const line = formatOutcome(o);
  assert.equal(line.split("\n").length, 2, "one line");
  // deno-lint-ignore no-control-regex
  assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(line), JSON.stringify(line));
  assert.deepEqual(parseOutcome(line), o);
  assert.equal(escapeField(nasty), "a\\x00b\\rc\\x1b[2Kd\\te\\nf\\\\x00g\\x7fé");
});

Deno.test("outcome record: bounded: the cause to REASON_MAX bytes, the line to OUTCOME_MAX", () => {
  const o: HookOutcome = {
    kind: "threw",
    status: 1,
    message: "\u0000".repeat(10_000),
    cause: "é".repeat(500),
    place,
  };
  const line = formatOutcome(o);
  assert.ok(new TextEncoder().encode(line).length <= OUTCOME_MAX);
  const back = parseOutcome(line)!;
  assert.ok(new TextEncoder().encode(back.cause!).length <= REASON_MAX);
  assert.match(back.cause!, /^é+$/, "cut between characters, never inside one");
  assert.equal(
    back.message,
    "\u0000".repeat(back.message!.length),
    "cut between escapes, never inside one",
  );
  assert.equal(causeOf("\n  scratch full  \nmore"), "scratch full");
});

Deno.test("outcome record: anything else is not a record", () => {
  const good = formatOutcome({ kind: "returned", status: 0, place });
  for (
    const bad of [
      "",
      "prep-deno: cause: forged",
      good.replace("returned", "forged"),
      good.replace("\t0\t", "\t256\t"),
      good.replace("\t0\t", "\t-1\t"),
      good.replace("prolog", "pro\u0000log"),
      good.slice(0, -2),
      good + "\textra",
    ]
  ) {
    assert.equal(parseOutcome(bad), undefined, JSON.stringify(bad));
  }
});

Deno.test("outcome record: one prefix, one printer", () => {
  assert.equal(placePrefix(place), "prep-deno: prolog /etc/slurm/p.ts job 42:");
  assert.equal(
    outcomeText({ kind: "timeout", status: 124, message: "timed out\u001b[2K", place }),
    "prep-deno: prolog /etc/slurm/p.ts job 42: timed out\\x1b[2K",
  );
  assert.equal(outcomeText({ kind: "returned", status: 0, place }), "");
});

Deno.test("outcome record: the message prefix is built in one place in src/", () => {
  const src = join(fileURLToPath(import.meta.url), "..", "..");
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) walk(p);
      else if (/\.(ts|c)$/.test(e.name) && !e.name.endsWith("_test.ts")) {
        const text = Deno.readTextFileSync(p);
        if (/prep-deno: (\$\{[^}]*\}|%s) (\$\{[^}]*\}|%s) job/.test(text)) found.push(p);
      }
    }
  };
  walk(src);
  assert.deepEqual(found.map((p) => p.slice(src.length + 1)), ["contract.ts"]);
});
