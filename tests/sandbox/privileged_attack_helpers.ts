// SPDX-License-Identifier: GPL-2.0-or-later
/** Shared by the attack tests on privileged commands: a real user of its own, her evil program. */

import assert from "node:assert/strict";
import { HELPERS, tryPolicy } from "./helpers.ts";
import { PREP_DENO, writeFiles } from "../helpers.ts";

/** A uid of its own: other tests end every process of nobody's. */
export const UID = String(62000 + Math.floor(Math.random() * 3000));

/** Runs `args` as that user (setpriv). */
export function asUser(args: string[]): Deno.CommandOutput {
  return new Deno.Command("/usr/bin/setpriv", {
    args: ["--reuid", UID, "--regid", UID, "--clear-groups", ...args],
  }).outputSync();
}

/** Whether `path` exists now. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** An evil program: prints its capabilities, as a stand-in for doing anything with them. */
export const EVIL = `#!/bin/bash\necho "evil ran: $(grep CapEff /proc/$$/status)"\n`;

/**
 * A hook that waits for `marks/swapped`, then asks for "tool"; the test
 * swaps the link in between, so the swap lands after every check the
 * runner made at start.
 */
export function waitingHook(marks: string): string {
  return `import { privileged } from ${JSON.stringify(HELPERS)};
export async function prolog() {
  Deno.writeTextFileSync(${JSON.stringify(`${marks}/ready`)}, "");
  while (true) {
    try { Deno.statSync(${JSON.stringify(`${marks}/swapped`)}); break; } catch { /* wait */ }
    await new Promise((r) => setTimeout(r, 20));
  }
  const r = await privileged("tool", [], { allowFailure: true });
  console.log("asked " + r.status + " " + (r.stdout + r.stderr).trim());
}`;
}

/** Runs `code` under `policy`; once it is ready, `swap()` runs, then the hook goes on. */
export async function raceSwap(
  code: string,
  policy: Record<string, unknown>,
  marks: string,
  swap: () => void,
) {
  const running = tryPolicy(code, policy);
  let done = false;
  running.finally(() => done = true);
  while (!done && !(await exists(`${marks}/ready`))) {
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!done) swap();
  Deno.writeTextFileSync(`${marks}/swapped`, "");
  return await running;
}

/**
 * `prep-deno try` of `code` under `policy` in a mount namespace of its own,
 * after the shell commands `setup` (exit 99: the set-up failed) change it
 * (cgroup mounts made read-only, a folder bound over /usr/local/sbin):
 * the host as the attack needs it, the real host left as it is.
 */
export async function tryInMountNs(setup: string, code: string, policy: unknown): Promise<string> {
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-view-" });
  try {
    const hook = writeFiles(dir, { "hook.ts": code, "deno.json": JSON.stringify(policy) });
    const out = await new Deno.Command("/usr/bin/unshare", {
      args: ["-m", "/bin/sh", "-c", `${setup}; exec "$0" try "$1"`, PREP_DENO, hook],
      stdin: "null",
    }).output();
    const d = new TextDecoder();
    assert.notEqual(out.code, 99, `cannot set the mount namespace up: ${setup}`);
    return d.decode(out.stdout) + d.decode(out.stderr);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}
