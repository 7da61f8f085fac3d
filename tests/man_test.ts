// SPDX-License-Identifier: GPL-2.0-or-later
// The man pages cover everything there is: every command and option of the
// CLI (as its own --help lists them) in prep-deno(8), every PrEpParameters
// key the plugin parses in prep_deno(8), every key of a policy file in
// prep-deno-policy(5), and every option of `serve` in prep-deno-serve(8).
import assert from "node:assert/strict";
import { join } from "node:path";
import { prepDeno, TOP } from "./helpers.ts";
import { POLICY_KEYS } from "../src/sandbox/policy_file.ts";
import { WARM_KEYS } from "../src/sandbox/policy_keys.ts";
import { PERMISSION_KINDS } from "../src/sandbox/permissions.ts";
import { VIEW_KEYS } from "../src/sandbox/view.ts";
import { CREATE_KEYS } from "../src/sandbox/view_create.ts";
import { PRIVILEGED_KEYS } from "../src/sandbox/privileged.ts";
import { NUMBERS } from "../src/contract.ts";

/** A man page's text with roff's escapes of `-` and quotes undone. */
function page(name: string): string {
  return Deno.readTextFileSync(join(TOP, "docs", "man", name)).replaceAll("\\-", "-")
    .replaceAll("\\(dq", '"');
}

/** The commands `prep-deno --help` lists, and the options each one's --help lists. */
async function cli(): Promise<Map<string, string[]>> {
  const top = await prepDeno(["--help"]);
  const commands = [...top.stdout.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]);
  assert.ok(commands.length >= 5, top.stdout);
  const all = new Map<string, string[]>();
  for (const c of commands) {
    const help = (await prepDeno([c, "--help"])).stdout;
    // Options are named on the usage line and at the start of their own lines.
    const named = help.split("\n").filter((l) => /^(Usage:|\s+-)/.test(l)).join("\n");
    all.set(c, [...new Set([...named.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]))]);
  }
  return all;
}

Deno.test("man: prep-deno(8) names every command and every option of each", async () => {
  const text = page("prep-deno.8");
  const missing: string[] = [];
  for (const [command, options] of await cli()) {
    if (!new RegExp(`\\b${command}\\b`).test(text)) missing.push(command);
    for (const o of options) {
      if (o !== "--help" && !text.includes(o)) missing.push(`${command} ${o}`);
    }
  }
  assert.deepEqual(missing, []);
  for (const section of ["EXIT STATUS", "DIAGNOSTICS", "FILES"]) {
    assert.match(text, new RegExp(`^\\.SH ${section}$`, "m"));
  }
  assert.match(text, /128 ?\+ ?N/, "the exit statuses of a signal");
});

Deno.test("man: prep-deno-serve(8) names every option of serve", async () => {
  const text = page("prep-deno-serve.8");
  const missing = ((await cli()).get("serve") ?? []).filter((o) =>
    o !== "--help" && !text.includes(o)
  );
  assert.deepEqual(missing, []);
});

Deno.test("man: prep_deno(8) names every PrEpParameters key the plugin parses", () => {
  const text = page("prep_deno.8");
  const keys = new Set<string>();
  for (const e of Deno.readDirSync(join(TOP, "ffi"))) {
    if (!e.name.startsWith("prep_deno_conf") || !e.name.endsWith(".c")) continue;
    const c = Deno.readTextFileSync(join(TOP, "ffi", e.name));
    for (const [, key] of c.matchAll(/"([a-z][a-z_]*)="/g)) keys.add(key);
  }
  assert.ok(keys.size >= 5, `keys found: ${[...keys]}`);
  // The numbers: parsed from the one table (PD_NUMBERS, mirrored by NUMBERS).
  for (const key of Object.keys(NUMBERS)) keys.add(key);
  // Every numeric key with its range, from the one table of bounds: in its
  // own entry (up to the next .TP), as "MIN to MAX".
  for (const [key, n] of Object.entries(NUMBERS)) {
    const at = text.indexOf(`.BI ${key}= N`);
    assert.ok(at >= 0, `prep_deno(8) has an entry for ${key}=`);
    const entry = text.slice(at, text.indexOf(".TP", at));
    assert.ok(
      entry.includes(`${n.min} to ${n.max}`),
      `prep_deno(8) gives ${key}'s range ${n.min} to ${n.max}: ${entry}`,
    );
  }
  assert.deepEqual([...keys].filter((k) => !text.includes(`${k}=`)), []);
});

Deno.test("man: prep-deno-policy(5) names every key of a policy file, at every level", () => {
  const text = page("prep-deno-policy.5");
  const levels: Record<string, readonly string[]> = {
    "": Object.keys(POLICY_KEYS),
    permissions: PERMISSION_KINDS,
    sandbox: VIEW_KEYS,
    warm: WARM_KEYS,
    "sandbox.create": CREATE_KEYS,
    "sandbox.privileged": PRIVILEGED_KEYS,
  };
  const missing: string[] = [];
  for (const [level, keys] of Object.entries(levels)) {
    for (const key of keys) {
      // Named in a roff font request or as a quoted JSON key.
      const named = new RegExp(`^\\.(B|BR|BI|IR|TP)\\b.*\\b${key}\\b|"${key}"`, "m");
      if (!named.test(text)) missing.push(level ? `${level}.${key}` : key);
    }
  }
  assert.deepEqual(missing, []);
});
