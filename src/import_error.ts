// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Deno's "not a dependency" load error, said for a hook: which name, where
 * to define it. (Deno's own hint, `deno add npm:NAME`, is no fix for a hook:
 * the policy's "imports" are.) No imports: the bundled in-sandbox entry
 * uses it.
 *
 * @module
 */

/**
 * The plain explanation of a load error that is an unknown bare name, else
 * undefined. `configPath` is the hook's policy, if it has one.
 *
 * @example
 * ```ts
 * explainUnknownImport('Import "lodash" not a dependency\n    at file:///h/a.ts:1:20', "/h/deno.json");
 * // 'the module imports "lodash", a name no import map defines (at file:///h/a.ts:1:20): add it to the "imports" of /h/deno.json, or import it by path'
 * ```
 */
export function explainUnknownImport(message: string, configPath?: string): string | undefined {
  const name = /Import "([^"]*)" not a dependency/.exec(message)?.[1] ??
    /Relative import path "([^"]*)" not prefixed/.exec(message)?.[1];
  if (name === undefined) return undefined;
  const at = /\bat (\S+:\d+:\d+)/.exec(message)?.[1];
  const where = configPath ?? "a deno.json beside the module (its policy)";
  return `the module imports "${name}", a name no import map defines${
    at ? ` (at ${at})` : ""
  }: add it to the "imports" of ${where}, or import it by path` +
    ` ("prep-deno" is always the runner's own module)`;
}
