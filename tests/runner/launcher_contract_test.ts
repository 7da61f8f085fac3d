// SPDX-License-Identifier: GPL-2.0-or-later
// The native launcher (build/prep-deno) against src/contract.ts: the values
// it was compiled with, read back from the binary, and its units drawn from
// their own #includes (main on top, io at the bottom, nothing calling up).
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CAUSE_MARKER,
  EXIT,
  HOOK_CONTEXTS,
  LAUNCHER,
  MESSAGE_PREFIX,
  NUMBERS,
  OUTCOME_MAGIC,
  OUTCOME_MAX,
  REASON_MAX,
} from "../../src/contract.ts";
import { PREP_DENO, TOP } from "../helpers.ts";

Deno.test("launcher contract: build/prep-deno was built with src/contract.ts's values", async () => {
  const out = await new Deno.Command(PREP_DENO, { args: ["__contract"] }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const built = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.deepEqual(built, {
    EXIT: { ...EXIT },
    LAUNCHER: { ...LAUNCHER },
    CAUSE_MARKER,
    REASON_MAX,
    OUTCOME_MAGIC,
    OUTCOME_MAX,
    MESSAGE_PREFIX,
    NUMBERS,
    HOOK_CONTEXTS: { ...HOOK_CONTEXTS },
  });
});

/** Rank of each unit of src/launcher: a file may include only lower ranks and its own header. */
const RANK: Record<string, number> = {
  "contract": -1, // generated from src/contract.ts
  "launcher.h": 0,
  "io": 1,
  "reap": 1,
  "broker_rules": 1,
  "cgroup": 1,
  "broker": 2,
  "argv": 2,
  "rundir": 1,
  "plan_prune": 2,
  "plan": 3,
  "supervise": 3,
  "main": 4,
};

Deno.test("launcher structure: every #include of src/launcher points down", () => {
  const dir = join(TOP, "src", "launcher");
  const unit = (f: string) => f === "launcher.h" ? f : f.replace(/\.[ch]$/, "");
  const bad: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    if (!/\.[ch]$/.test(e.name)) continue;
    const me = unit(e.name);
    assert.ok(me in RANK, `src/launcher/${e.name}: a unit this test does not place`);
    const text = Deno.readTextFileSync(join(dir, e.name));
    for (const m of text.matchAll(/#include "([^"]+)"/g)) {
      const it = unit(m[1]);
      if (!(it in RANK)) bad.push(`${e.name} includes ${m[1]}, outside src/launcher`);
      else if (it !== me && RANK[it] >= RANK[me]) {
        bad.push(`${e.name} includes ${m[1]}, not below it`);
      }
    }
    // What a .c file defines for others is declared in its own header, so a
    // call can only go to a unit it includes: down.
    if (!e.name.endsWith(".c")) continue;
    for (const m of text.matchAll(/^(?!static)[a-z][a-z ]*\**(pd_[a-z_]+)\(/gm)) {
      let own = "";
      try {
        own = Deno.readTextFileSync(join(dir, `${me}.h`));
      } catch { /* main.c: no header, so nothing of it is callable */ }
      if (!own.includes(`${m[1]}(`)) bad.push(`${e.name} defines ${m[1]} outside ${me}.h`);
    }
  }
  assert.deepEqual(bad, []);
});
