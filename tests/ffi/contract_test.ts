// SPDX-License-Identifier: GPL-2.0-or-later
// One contract between C and TypeScript: src/contract.ts against the values
// the built plugin reports (ffi/prep_deno_contract.h), and the binding's
// layout check failing loudly on a library that disagrees.
import assert from "node:assert/strict";
import { join } from "node:path";
import * as contract from "../../src/contract.ts";
import { PrepPlugin } from "../../ffi/mod.ts";
import { TOP } from "../helpers.ts";

const SO = join(TOP, "build", "prep_deno.so");

Deno.test("contract: src/contract.ts says what the plugin's C header says", async () => {
  await using plugin = PrepPlugin.open(SO);
  const c = plugin.contract;
  assert.deepEqual(c.exit, { ...contract.EXIT });
  assert.equal(c.defaultRunner, contract.DEFAULT_RUNNER);
  assert.equal(c.defaultSocket, contract.DEFAULT_SOCKET);
  assert.equal(c.warmMagic, contract.WARM_MAGIC);
  assert.deepEqual(c.warmFields, [...contract.WARM_FIELDS]);
  assert.equal(c.warmMaxFrame, contract.WARM_MAX_FRAME);
  assert.equal(c.maxOutput, contract.MAX_OUTPUT);
  assert.equal(c.truncationNote, contract.TRUNCATION_NOTE);
  assert.equal(c.runnerGraceSeconds, contract.RUNNER_GRACE_SECONDS);
  assert.equal(c.causeMarker, contract.CAUSE_MARKER);
  assert.equal(c.reasonMax, contract.REASON_MAX);
  assert.equal(c.outcomeMagic, contract.OUTCOME_MAGIC);
  assert.equal(c.outcomeMax, contract.OUTCOME_MAX);
  assert.equal(c.outcomeFd, contract.OUTCOME_FD);
  assert.equal(c.messagePrefix, contract.MESSAGE_PREFIX);
  assert.equal(c.contextVar, contract.CONTEXT_VAR);
  assert.deepEqual(c.credVars, [...contract.CRED_VARS]);
  assert.deepEqual(c.numbers, contract.NUMBERS);
  // Every exported constant of src/contract.ts is one the library reports.
  const checked = new Set([
    "EXIT",
    "DEFAULT_RUNNER",
    "DEFAULT_SOCKET",
    "WARM_MAGIC",
    "WARM_FIELDS",
    "WARM_MAX_FRAME",
    "MAX_OUTPUT",
    "TRUNCATION_NOTE",
    "RUNNER_GRACE_SECONDS",
    "CAUSE_MARKER",
    "REASON_MAX",
    "OUTCOME_MAGIC",
    "OUTCOME_MAX",
    "OUTCOME_FD",
    "MESSAGE_PREFIX",
    "CONTEXT_VAR",
    "CRED_VARS",
    "NUMBERS",
    "LAUNCHER", // the launcher's, checked in tests/runner/launcher_contract_test.ts
    // Generated into the headers (tests/ffi/structure_test.ts checks they are current).
    "HOOK_CONTEXTS",
    "HOOK_KINDS",
    // TypeScript's alone (the warm host and the service), kept with the rest.
    "WARM_HOST_FRAMES",
  ]);
  const exported = Object.entries(contract).filter(([, v]) => typeof v !== "function");
  assert.deepEqual(exported.map(([k]) => k).filter((k) => !checked.has(k)), []);
});

Deno.test("contract: the plugin's version is the VERSION file's", async () => {
  await using plugin = PrepPlugin.open(SO);
  assert.equal(plugin.version, Deno.readTextFileSync(join(TOP, "VERSION")).trim());
});

Deno.test("contract: causeLine() gives one bounded line the plugin finds", () => {
  const line = contract.causeLine("\n gpu 1 lost \n  at check (site.ts:3)");
  assert.equal(line, `${contract.CAUSE_MARKER}gpu 1 lost`);
  const long = contract.causeLine("x".repeat(1000));
  assert.equal(long.length, contract.CAUSE_MARKER.length + contract.REASON_MAX);
  assert.equal(contract.causeLine(""), `${contract.CAUSE_MARKER}failed`);
});

Deno.test("contract: the binding checks the layouts at open() and names a mismatch", async () => {
  await using plugin = PrepPlugin.open(SO);
  const l = plugin.layouts;
  assert.equal(l.pdc_config_t.runner, 0);
  assert.ok(l.pdc_config_t.size >= 24);
  assert.equal(l.pdc_slurmd_job_t.credCount, contract.CRED_VARS.length);
  assert.ok(l.job_env_t.size > 0);
  // A library built from other sources: a plugin .so whose contract lies.
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-contract-" });
  try {
    const src = join(dir, "liar.c");
    Deno.writeTextFileSync(
      src,
      `const char *prep_deno_contract_json(void) { return "{\\"credVars\\":[],\\"layout\\":` +
        `{\\"pdc_config_t\\":{\\"runner\\":8},\\"pdc_outcome_t\\":{},\\"pdc_slurmd_job_t\\":{}}}"; }\n` +
        `const char *prep_deno_ffi_layout_json(void) { return "{}"; }\n`,
    );
    const out = await new Deno.Command("cc", {
      args: [
        "-shared",
        "-fPIC",
        "-Wl,--unresolved-symbols=ignore-all",
        src,
        "-o",
        `${dir}/liar.so`,
      ],
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.throws(
      () => PrepPlugin.open(`${dir}/liar.so`),
      /pdc_config_t\.runner is 8 in the library but 0 in ffi\/binding\.ts/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
