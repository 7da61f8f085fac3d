// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What the type check before a hook runs costs: the first run after a
 * change of the module (a new launch plan, so a new check), against the
 * runs after it (the cached plan: no check). Measured through `prep-deno
 * run`, in rotation: edit, first run, later run, so a machine whose speed
 * drifts shifts both alike.
 *
 * @module
 */

import { join } from "node:path";

/** The first run after a change and the runs after it, p50 in ms. */
export interface TypecheckCost {
  /** p50 of the first run after each change (plan and type check made). */
  readonly first: number;
  /** p50 of the next run (cached plan). */
  readonly later: number;
  /** Changes measured. */
  readonly runs: number;
}

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One `prep-deno run` of `hook`, in ms; throws when it fails. */
async function runOnce(runner: string, hook: string, env: Record<string, string>): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(runner, {
    args: ["run", hook],
    clearEnv: true,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr).trim());
  return ms;
}

/**
 * Measures `runs` changes of a typed hook in `dir`.
 *
 * @example
 * ```ts
 * const cost = await typecheckCost("build/prep-deno", "/var/tmp/bench", env, 5);
 * console.log(cost.first - cost.later); // ms the check adds, once per change
 * ```
 */
export async function typecheckCost(
  runner: string,
  dir: string,
  env: Record<string, string>,
  runs: number,
): Promise<TypecheckCost> {
  const folder = join(dir, "typecheck");
  Deno.mkdirSync(folder, { recursive: true });
  Deno.writeTextFileSync(join(folder, "deno.json"), JSON.stringify({ permissions: {} }));
  const hook = join(folder, "hook.ts");
  const first: number[] = [];
  const later: number[] = [];
  for (let i = 0; i < runs; i++) {
    // A real change (new content, new mtime): a new plan and a new check.
    Deno.writeTextFileSync(
      hook,
      `import type { JobContext } from "prep-deno";\n` +
        `export function prolog(job: JobContext): number | void {\n` +
        `  if (job.partition === "change-${i}") return 1;\n}\n`,
    );
    first.push(await runOnce(runner, hook, env));
    later.push(await runOnce(runner, hook, env));
  }
  return { first: p50(first), later: p50(later), runs };
}
