// SPDX-License-Identifier: GPL-2.0-or-later
/** Test helpers for the kernel view: hooks with a full deno.json (permissions and sandbox). */

import { join } from "node:path";
import { hookOutput, prepDenoRaw, type Ran, TOP, writeFiles } from "../helpers.ts";

export { TOP };

/** The helpers' face, as a hook imports it. */
export const HELPERS = join(TOP, "src", "helpers", "mod.ts");

/** A deno.json: Deno's permission sets and the sandbox sets. */
export interface PolicyFile {
  permissions?: unknown;
  sandbox?: unknown;
}

/** Runs `try` on `code` with `policy` written beside it; `extra` files go into the same folder. */
export async function tryPolicy(
  code: string,
  policy?: PolicyFile,
  opts: { args?: string[]; extra?: Record<string, string>; raw?: string } = {},
): Promise<Ran & { status: number }> {
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-view-" });
  const files: Record<string, string> = { "hook.ts": code, ...opts.extra };
  if (opts.raw !== undefined) files["deno.json"] = opts.raw;
  else if (policy !== undefined) files["deno.json"] = JSON.stringify(policy);
  const path = writeFiles(dir, files);
  try {
    return await tryRun([path, ...(opts.args ?? [])]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** A prolog that runs `argv` through the helper and prints its stdout. */
export function runHook(argv: string[]): string {
  return `import { runCommand } from ${JSON.stringify(HELPERS)};
export async function prolog(job) {
  const r = await runCommand(${JSON.stringify(argv)}, { job });
  console.log(r.stdout);
}`;
}

/** A fresh folder only root can write, outside /tmp, for grants. */
export function grantDir(name: string): string {
  const dir = `/var/tmp/prep-deno-view-${name}-${crypto.randomUUID().slice(0, 8)}`;
  Deno.mkdirSync(dir, { mode: 0o755 });
  return dir;
}

/**
 * A copy of the recipe `examples/<name>` in a fresh root-owned folder under
 * /var/tmp, which no recipe grants: a recipe that grants `/tmp` write
 * refuses to run from a checkout under `/tmp` (the grant would cover its
 * own code), so tests run recipes from here, wherever the tree is cloned.
 * `modify` may change the copy's policy. Remove the folder when done.
 */
export function recipeCopy(
  name: string,
  modify?: (policy: { sandbox: Record<string, Record<string, unknown>> }) => void,
): string {
  const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: `prep-deno-recipe-${name}-` });
  Deno.chmodSync(dir, 0o755);
  const from = join(TOP, "examples", name);
  for (const e of Deno.readDirSync(from)) {
    if (e.isFile) Deno.copyFileSync(join(from, e.name), join(dir, e.name));
  }
  if (modify) {
    const policy = JSON.parse(Deno.readTextFileSync(join(dir, "deno.json")));
    modify(policy);
    Deno.writeTextFileSync(join(dir, "deno.json"), JSON.stringify(policy));
  }
  return dir;
}

/**
 * Runs `prep-deno try ARGS`; `status` is the hook's exit status from the
 * report, and `stderr` holds the hook's output (try reports it on stdout,
 * in order, as the daemon logs it) followed by try's own stderr.
 */
export async function tryRun(args: string[]): Promise<Ran & { status: number }> {
  const r = await prepDenoRaw(["try", ...args]);
  const m = /^exit status: (\d+)/m.exec(r.stdout);
  return { ...r, stderr: hookOutput(r) + r.stderr, status: m ? Number(m[1]) : -1 };
}
