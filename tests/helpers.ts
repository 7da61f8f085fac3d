// SPDX-License-Identifier: GPL-2.0-or-later
/** Test helpers: run the real `build/prep-deno`, write hook modules. */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository top. */
export const TOP = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The runner every test executes: what `deno task build` made. */
export const PREP_DENO = join(TOP, "build", "prep-deno");

/** What a finished command gave. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `build/prep-deno` with `args`; `env` replaces the environment entirely.
 * For `try`, whose report carries the hook's stdout and stderr together (as
 * the daemon's log does), `stderr` is that output followed by try's own
 * stderr, so a test looks for the runner's messages in one place whichever
 * command it ran; {@linkcode prepDenoRaw} gives the streams as they were.
 */
export async function prepDeno(
  args: string[],
  env?: Record<string, string>,
): Promise<Ran> {
  const r = await prepDenoRaw(args, env);
  return args[0] === "try" ? { ...r, stderr: hookOutput(r) + r.stderr } : r;
}

/** Runs `build/prep-deno` with `args`: its stdout and stderr exactly as written. */
export async function prepDenoRaw(
  args: string[],
  env?: Record<string, string>,
): Promise<Ran> {
  const out = await new Deno.Command(PREP_DENO, {
    args,
    stdin: "null",
    ...(env ? { clearEnv: true, env } : {}),
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** Writes `files` (name to text) into `dir`; returns the path of the first. */
export function writeFiles(dir: string, files: Record<string, string>): string {
  let first = "";
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name);
    Deno.mkdirSync(dirname(path), { recursive: true });
    Deno.writeTextFileSync(path, text);
    first ||= path;
  }
  return first;
}

/**
 * Runs `try` on a module written from `code`, with an optional policy;
 * `typecheck: "warn"` for a module that does not type-check on purpose (a
 * test of what happens at run time).
 */
export async function tryHook(
  code: string,
  opts: { policy?: unknown; args?: string[]; name?: string; typecheck?: "warn" } = {},
): Promise<Ran> {
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-test-" });
  const files: Record<string, string> = { [opts.name ?? "hook.ts"]: code };
  if (opts.policy !== undefined || opts.typecheck) {
    files["deno.json"] = JSON.stringify({
      permissions: opts.policy ?? {},
      ...(opts.typecheck ? { typecheck: opts.typecheck } : {}),
    });
  }
  const path = writeFiles(dir, files);
  try {
    return await prepDeno(["try", path, ...(opts.args ?? [])]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** The hook's output (stdout and stderr, in order) from a `try` report. */
export function hookOutput(r: Ran): string {
  const m = /^--- hook output[^\n]*\n([\s\S]*?)^--- end of hook output ---$/m.exec(r.stdout);
  return m ? m[1] : "";
}

/** The hook's exit status from a `try` report. */
export function tryStatus(r: Ran): number {
  const m = /^exit status: (\d+)/m.exec(r.stdout);
  if (!m) throw new Error(`no exit status in:\n${r.stdout}\n${r.stderr}`);
  return Number(m[1]);
}
